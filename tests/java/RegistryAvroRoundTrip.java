// The Java producer configuration from the talks' slide
// (../shared/seed-examples/clients/JavaAvroProducerSnippet.java) against our
// broker and schema registry: KafkaProducer<String, GenericRecord> with
// Confluent's KafkaAvroSerializer 7.0 registering the schema, then a consumer
// with KafkaAvroDeserializer reading it back. The slide's key serializer
// package (org.apache.kafka.serializers) does not exist; the real class is
// org.apache.kafka.common.serialization.StringSerializer.
//
// A second schema version (a new field with a default) is registered by the
// serializer too, and the consumer reads records of both versions.
//
// Usage: java -cp <classpath> RegistryAvroRoundTrip BOOTSTRAP REGISTRY_URL TOPIC
// Prints each step and "OK" last when everything matched; exits 1 otherwise.

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import io.confluent.kafka.schemaregistry.client.CachedSchemaRegistryClient;
import io.confluent.kafka.schemaregistry.client.SchemaMetadata;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

public class RegistryAvroRoundTrip {
    static final String V1 = "{\"type\":\"record\",\"name\":\"LogLine\",\"namespace\":\"tributary.test\",\"fields\":["
            + "{\"name\":\"ip\",\"type\":\"string\"},"
            + "{\"name\":\"timestamp\",\"type\":\"long\"},"
            + "{\"name\":\"url\",\"type\":\"string\"},"
            + "{\"name\":\"referrer\",\"type\":[\"null\",\"string\"],\"default\":null}]}";
    static final String V2 = V1.replace("]}", ",{\"name\":\"useragent\",\"type\":\"string\",\"default\":\"unknown\"}]}");

    static void check(boolean ok, String what) {
        System.out.println((ok ? "ok   " : "FAIL ") + what);
        if (!ok) {
            System.exit(1);
        }
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String registry = args[1];
        String topic = args[2];
        Schema v1 = new Schema.Parser().parse(V1);
        Schema v2 = new Schema.Parser().parse(V2);

        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
        props.put("value.serializer", "io.confluent.kafka.serializers.KafkaAvroSerializer");
        props.put("schema.registry.url", registry);

        List<GenericRecord> sent = new ArrayList<>();
        try (Producer<String, GenericRecord> producer = new KafkaProducer<>(props)) {
            for (int i = 0; i < 6; i++) {
                Schema s = i < 3 ? v1 : v2;
                GenericRecord r = new GenericData.Record(s);
                r.put("ip", "10.0.0." + i);
                r.put("timestamp", 1_700_000_000_000L + i);
                r.put("url", "/page/" + i);
                r.put("referrer", i % 2 == 0 ? null : "/from/" + i);
                if (i >= 3) {
                    r.put("useragent", "agent-" + i);
                }
                producer.send(new ProducerRecord<>(topic, "ip-" + i, r)).get();
                sent.add(r);
            }
        }
        check(true, "produced 6 LogLine records (3 with v1, 3 with v2)");

        CachedSchemaRegistryClient client = new CachedSchemaRegistryClient(registry, 10);
        SchemaMetadata latest = client.getLatestSchemaMetadata(topic + "-value");
        check(latest.getVersion() == 2, "the serializer registered two versions, latest is " + latest.getVersion());
        check(new Schema.Parser().parse(latest.getSchema()).equals(v2), "latest registered schema is v2");
        check(client.getAllVersions(topic + "-value").size() == 2, "subject lists versions [1, 2]");

        Properties c = new Properties();
        c.put("bootstrap.servers", bootstrap);
        c.put("group.id", "registry-java-" + topic);
        c.put("enable.auto.commit", "false");
        c.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
        c.put("value.deserializer", "io.confluent.kafka.serializers.KafkaAvroDeserializer");
        c.put("schema.registry.url", registry);
        List<ConsumerRecord<String, GenericRecord>> got = new ArrayList<>();
        try (KafkaConsumer<String, GenericRecord> consumer = new KafkaConsumer<>(c)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long deadline = System.currentTimeMillis() + 60_000;
            while (got.size() < 6 && System.currentTimeMillis() < deadline) {
                consumer.poll(Duration.ofMillis(500)).forEach(got::add);
            }
        }
        check(got.size() == 6, "consumed " + got.size() + " records");
        for (int i = 0; i < 6; i++) {
            GenericRecord want = sent.get(i);
            GenericRecord have = got.get(i).value();
            check(("ip-" + i).equals(got.get(i).key()), "key " + i);
            // Each record comes back with its writer's schema and every field.
            check(have.getSchema().equals(want.getSchema()), "record " + i + " has its writer schema");
            check(have.toString().equals(want.toString()), "record " + i + " = " + have);
        }
        System.out.println("OK");
    }
}
