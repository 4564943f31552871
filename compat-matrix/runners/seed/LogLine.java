// The Avro record the snippet's Producer<String, LogLine> sends: what
// avro-tools would generate for the clickstream LogLine schema of the talks,
// written out by hand (no code generator here).

import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecordBase;

public class LogLine extends SpecificRecordBase {
    public static final Schema SCHEMA$ = new Schema.Parser().parse(
            "{\"type\":\"record\",\"name\":\"LogLine\",\"fields\":["
            + "{\"name\":\"ip\",\"type\":\"string\"},"
            + "{\"name\":\"timestamp\",\"type\":\"long\"},"
            + "{\"name\":\"url\",\"type\":\"string\"},"
            + "{\"name\":\"referrer\",\"type\":\"string\"},"
            + "{\"name\":\"useragent\",\"type\":\"string\"},"
            + "{\"name\":\"sessionid\",\"type\":[\"null\",\"int\"],\"default\":null}]}");

    private CharSequence ip;
    private long timestamp;
    private CharSequence url;
    private CharSequence referrer;
    private CharSequence useragent;
    private Integer sessionid;

    public LogLine() {
    }

    public LogLine(String ip, long timestamp, String url, String referrer, String useragent, Integer sessionid) {
        this.ip = ip;
        this.timestamp = timestamp;
        this.url = url;
        this.referrer = referrer;
        this.useragent = useragent;
        this.sessionid = sessionid;
    }

    @Override
    public Schema getSchema() {
        return SCHEMA$;
    }

    @Override
    public Object get(int field) {
        switch (field) {
            case 0: return ip;
            case 1: return timestamp;
            case 2: return url;
            case 3: return referrer;
            case 4: return useragent;
            case 5: return sessionid;
            default: throw new IndexOutOfBoundsException("field " + field);
        }
    }

    @Override
    public void put(int field, Object value) {
        switch (field) {
            case 0: ip = (CharSequence) value; break;
            case 1: timestamp = (Long) value; break;
            case 2: url = (CharSequence) value; break;
            case 3: referrer = (CharSequence) value; break;
            case 4: useragent = (CharSequence) value; break;
            case 5: sessionid = (Integer) value; break;
            default: throw new IndexOutOfBoundsException("field " + field);
        }
    }
}
