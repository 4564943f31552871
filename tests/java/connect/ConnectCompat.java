// Runs Apache Kafka's own Connect classes (connect-transforms, connect-json,
// connect-api 4.3) over the shared case table tests/connect/compat-cases.json
// and prints one JSON result per case. tributary-connect-compat prints the
// same shape from our implementation; tests/test_connect_compat.py compares
// the two. Usage: java ConnectCompat <cases.json>
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.connect.connector.ConnectRecord;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.header.ConnectHeaders;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.storage.Converter;
import org.apache.kafka.connect.storage.HeaderConverter;
import org.apache.kafka.connect.storage.SimpleHeaderConverter;
import org.apache.kafka.connect.transforms.Transformation;
import org.apache.kafka.connect.transforms.predicates.Predicate;

public class ConnectCompat {
    static final ObjectMapper MAPPER = new ObjectMapper();
    static final String TRANSFORMS = "org.apache.kafka.connect.transforms.";
    static final String PREDICATES = "org.apache.kafka.connect.transforms.predicates.";

    // The envelope codec used to read inputs and print outputs on both sides.
    static JsonConverter envelope(boolean isKey) {
        JsonConverter c = new JsonConverter();
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("schemas.enable", "true");
        c.configure(cfg, isKey);
        return c;
    }

    static final JsonConverter KEY_ENV = envelope(true);
    static final JsonConverter VALUE_ENV = envelope(false);
    static final SimpleHeaderConverter SIMPLE = new SimpleHeaderConverter();

    static SchemaAndValue decode(JsonConverter conv, JsonNode env) throws Exception {
        if (env == null || env.isNull()) return SchemaAndValue.NULL;
        return conv.toConnectData("t", MAPPER.writeValueAsBytes(env));
    }

    static String encode(JsonConverter conv, org.apache.kafka.connect.data.Schema schema, Object value) {
        byte[] b = conv.fromConnectData("t", schema, value);
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    static Map<String, String> stringMap(JsonNode obj, String... skip) {
        Map<String, String> m = new HashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = obj.fields();
        outer:
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            for (String s : skip) if (s.equals(e.getKey())) continue outer;
            m.put(e.getKey(), e.getValue().isTextual() ? e.getValue().textValue() : e.getValue().toString());
        }
        return m;
    }

    static String className(String name, String pkg) {
        return name.contains(".") ? name : pkg + name;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static ObjectNode runTransform(JsonNode c) throws Exception {
        ObjectNode out = MAPPER.createObjectNode();
        List<Object[]> stages = new ArrayList<>();
        try {
            for (JsonNode t : c.get("transforms")) {
                Transformation tr = (Transformation) Class.forName(className(t.get("type").textValue(), TRANSFORMS))
                        .getDeclaredConstructor().newInstance();
                tr.configure(stringMap(t, "type", "predicate", "negate"));
                Predicate p = null;
                if (t.has("predicate")) {
                    JsonNode pc = t.get("predicate");
                    p = (Predicate) Class.forName(className(pc.get("type").textValue(), PREDICATES))
                            .getDeclaredConstructor().newInstance();
                    p.configure(stringMap(pc, "type"));
                }
                boolean negate = t.has("negate") && t.get("negate").asText().equals("true");
                stages.add(new Object[]{tr, p, negate});
            }
        } catch (Throwable e) {
            out.put("error", true);
            out.put("stage", "config");
            out.put("message", String.valueOf(e));
            return out;
        }
        JsonNode r = c.get("record");
        try {
            SchemaAndValue key = decode(KEY_ENV, r.get("key"));
            SchemaAndValue value = decode(VALUE_ENV, r.get("value"));
            ConnectHeaders headers = new ConnectHeaders();
            if (r.has("headers")) {
                for (JsonNode h : r.get("headers")) {
                    SchemaAndValue hv = decode(VALUE_ENV, h.get("value"));
                    headers.add(h.get("key").textValue(), hv);
                }
            }
            String topic = r.get("topic").textValue();
            Integer partition = r.has("partition") && !r.get("partition").isNull() ? r.get("partition").intValue() : null;
            Long ts = r.has("timestamp") && !r.get("timestamp").isNull() ? r.get("timestamp").longValue() : null;
            ConnectRecord rec;
            if (r.has("offset")) {
                rec = new SinkRecord(topic, partition == null ? 0 : partition, key.schema(), key.value(), value.schema(), value.value(),
                        r.get("offset").longValue(), ts, TimestampType.CREATE_TIME, headers);
            } else {
                rec = new SourceRecord(null, null, topic, partition, key.schema(), key.value(), value.schema(), value.value(), ts, headers);
            }
            for (Object[] st : stages) {
                Transformation tr = (Transformation) st[0];
                Predicate p = (Predicate) st[1];
                boolean negate = (Boolean) st[2];
                if (p == null || negate ^ p.test(rec)) {
                    rec = tr.apply(rec);
                    if (rec == null) break;
                }
            }
            out.put("error", false);
            if (rec == null) {
                out.put("dropped", true);
                return out;
            }
            out.put("dropped", false);
            out.put("topic", rec.topic());
            if (rec.kafkaPartition() == null) out.putNull("partition"); else out.put("partition", rec.kafkaPartition());
            if (rec.timestamp() == null) out.putNull("timestamp"); else out.put("timestamp", rec.timestamp());
            out.put("key", encode(KEY_ENV, rec.keySchema(), rec.key()));
            out.put("value", encode(VALUE_ENV, rec.valueSchema(), rec.value()));
            ArrayNode hs = out.putArray("headers");
            for (Header h : (Iterable<Header>) rec.headers()) {
                ObjectNode ho = hs.addObject();
                ho.put("key", h.key());
                ho.put("json", encode(VALUE_ENV, h.schema(), h.value()));
                byte[] simple = SIMPLE.fromConnectHeader(topic, h.key(), h.schema(), h.value());
                ho.put("simple", simple == null ? null : new String(simple, StandardCharsets.UTF_8));
            }
        } catch (Throwable e) {
            out.removeAll();
            out.put("error", true);
            out.put("stage", "apply");
            out.put("message", String.valueOf(e));
        }
        return out;
    }

    static ObjectNode runConverter(JsonNode c) throws Exception {
        ObjectNode out = MAPPER.createObjectNode();
        String cls = c.get("converter").textValue();
        boolean isKey = c.has("is_key") && c.get("is_key").asBoolean();
        Map<String, String> cfg = c.has("config") ? stringMap(c.get("config")) : new HashMap<>();
        Object conv;
        try {
            conv = Class.forName(cls).getDeclaredConstructor().newInstance();
            if (conv instanceof Converter) ((Converter) conv).configure(cfg, isKey);
            else ((HeaderConverter) conv).configure(cfg);
        } catch (Throwable e) {
            out.put("error", true);
            out.put("stage", "config");
            out.put("message", String.valueOf(e));
            return out;
        }
        try {
            String dir = c.get("direction").textValue();
            if (dir.equals("from_connect")) {
                SchemaAndValue in = decode(VALUE_ENV, c.get("input"));
                byte[] b = conv instanceof Converter
                        ? ((Converter) conv).fromConnectData("t", in.schema(), in.value())
                        : ((HeaderConverter) conv).fromConnectHeader("t", "h", in.schema(), in.value());
                out.put("error", false);
                if (b == null) out.putNull("bytes"); else out.put("bytes", Base64.getEncoder().encodeToString(b));
            } else {
                byte[] in = c.has("input_base64") ? Base64.getDecoder().decode(c.get("input_base64").textValue())
                        : c.get("input_text").isNull() ? null : c.get("input_text").textValue().getBytes(StandardCharsets.UTF_8);
                SchemaAndValue sv = conv instanceof Converter
                        ? ((Converter) conv).toConnectData("t", in)
                        : ((HeaderConverter) conv).toConnectHeader("t", "h", in);
                out.put("error", false);
                out.put("connect", encode(VALUE_ENV, sv.schema(), sv.value()));
                if (c.has("round_trip") && conv instanceof Converter) {
                    byte[] b = ((Converter) conv).fromConnectData("t", sv.schema(), sv.value());
                    if (b == null) out.putNull("bytes"); else out.put("bytes", Base64.getEncoder().encodeToString(b));
                }
            }
        } catch (Throwable e) {
            out.removeAll();
            out.put("error", true);
            out.put("stage", "apply");
            out.put("message", String.valueOf(e));
        }
        return out;
    }

    public static void main(String[] args) throws Exception {
        JsonNode cases = MAPPER.readTree(new File(args[0]));
        ArrayNode results = MAPPER.createArrayNode();
        for (JsonNode c : cases) {
            ObjectNode res = c.get("kind").textValue().equals("converter") ? runConverter(c) : runTransform(c);
            res.put("name", c.get("name").textValue());
            results.add(res);
        }
        System.out.println(MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(results));
    }
}
