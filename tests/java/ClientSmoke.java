// The Java client (kafka-clients 4.3) against the broker: admin, a producer
// with default settings (idempotent, acks=all) and a consumer that assigns
// partitions explicitly (consumer groups are not implemented yet).
//
// Usage: java -cp <classpath> ClientSmoke BOOTSTRAP TOPIC
// Prints each step; exits 0 and prints "OK" when every step passed, 1 otherwise.
// Steps after a failed one still run where they can, so one run reports every
// problem it can see.

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DeletedRecords;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class ClientSmoke {
    static final int PARTITIONS = 3;
    static final int RECORDS = 1000;
    static final long TIMEOUT_S = 30;

    interface Step {
        void run() throws Exception;
    }

    static final List<String> failures = new ArrayList<>();

    /** Runs one step; returns whether it passed. */
    static boolean step(String name, Step body) {
        long t0 = System.nanoTime();
        try {
            body.run();
            System.out.printf("ok   %s (%d ms)%n", name, (System.nanoTime() - t0) / 1_000_000);
            return true;
        } catch (Throwable e) {
            System.out.printf("FAIL %s: %s%n", name, e);
            e.printStackTrace(System.out);
            failures.add(name + ": " + e);
            return false;
        }
    }

    static void check(boolean cond, String fmt, Object... args) {
        if (!cond) {
            throw new AssertionError(String.format(fmt, args));
        }
    }

    static ConfigEntry configEntry(Admin admin, String topic, String name) throws Exception {
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Config config = admin.describeConfigs(List.of(res)).all().get(TIMEOUT_S, TimeUnit.SECONDS).get(res);
        check(config != null, "no config returned for %s", res);
        ConfigEntry e = config.get(name);
        check(e != null, "describeConfigs has no %s for topic %s (entries: %s)", name, topic, config.entries());
        return e;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: ClientSmoke BOOTSTRAP TOPIC");
            System.exit(2);
        }
        String bootstrap = args[0];
        String topic = args[1];

        Properties adminProps = new Properties();
        adminProps.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        adminProps.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        adminProps.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "20000");

        Map<String, RecordMetadata> produced = new HashMap<>();

        try (Admin admin = Admin.create(adminProps)) {
            boolean created = step("admin.createTopics(3 partitions, retention.ms=3600000)", () -> {
                NewTopic nt = new NewTopic(topic, PARTITIONS, (short) 1).configs(Map.of("retention.ms", "3600000"));
                admin.createTopics(List.of(nt)).all().get(TIMEOUT_S, TimeUnit.SECONDS);
            });
            if (!created) {
                finish();
            }

            step("admin.listTopics", () -> {
                Set<String> names = admin.listTopics().names().get(TIMEOUT_S, TimeUnit.SECONDS);
                check(names.contains(topic), "listTopics does not contain %s: %s", topic, names);
            });

            step("admin.describeTopics", () -> {
                TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames()
                        .get(TIMEOUT_S, TimeUnit.SECONDS).get(topic);
                check(d != null, "no description for %s", topic);
                check(d.partitions().size() == PARTITIONS, "expected %d partitions, got %s", PARTITIONS, d.partitions());
                d.partitions().forEach(p -> check(p.leader() != null && !p.leader().isEmpty(),
                        "partition %d has no leader: %s", p.partition(), p));
            });

            step("admin.describeCluster", () -> {
                DescribeClusterResult r = admin.describeCluster();
                Collection<Node> nodes = r.nodes().get(TIMEOUT_S, TimeUnit.SECONDS);
                check(nodes.size() == 1, "expected one node, got %s", nodes);
                Node n = nodes.iterator().next();
                check((n.host() + ":" + n.port()).equals(bootstrap), "node %s is not at %s", n, bootstrap);
                String clusterId = r.clusterId().get(TIMEOUT_S, TimeUnit.SECONDS);
                check(clusterId != null && !clusterId.isEmpty(), "no cluster id: %s", clusterId);
                Node controller = r.controller().get(TIMEOUT_S, TimeUnit.SECONDS);
                check(controller != null && !controller.isEmpty(), "no controller: %s", controller);
                System.out.printf("     cluster id %s, node %s%n", clusterId, n);
            });

            step("admin.describeConfigs", () -> {
                ConfigEntry retention = configEntry(admin, topic, "retention.ms");
                check("3600000".equals(retention.value()), "retention.ms = %s", retention);
                check(retention.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
                        "retention.ms source is %s, want DYNAMIC_TOPIC_CONFIG", retention.source());
                ConfigEntry cleanup = configEntry(admin, topic, "cleanup.policy");
                check("delete".equals(cleanup.value()), "cleanup.policy = %s", cleanup);
                check(cleanup.source() != ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
                        "cleanup.policy was never set on the topic but has source %s", cleanup.source());
            });

            step("admin.incrementalAlterConfigs(retention.ms=7200000)", () -> {
                ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
                AlterConfigOp op = new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET);
                admin.incrementalAlterConfigs(Map.of(res, List.of(op))).all().get(TIMEOUT_S, TimeUnit.SECONDS);
                ConfigEntry retention = configEntry(admin, topic, "retention.ms");
                check("7200000".equals(retention.value()), "after alter, retention.ms = %s", retention);
                check(retention.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
                        "after alter, retention.ms source is %s", retention.source());
            });

            boolean producedAll = step("producer (default settings: idempotent, acks=all) sends " + RECORDS, () -> {
                Properties p = new Properties();
                p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
                p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
                p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
                try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
                    Map<String, Future<RecordMetadata>> futures = new HashMap<>();
                    for (int i = 0; i < RECORDS; i++) {
                        futures.put("key-" + i, producer.send(new ProducerRecord<>(topic, "key-" + i, "value-" + i)));
                    }
                    producer.flush();
                    for (Map.Entry<String, Future<RecordMetadata>> e : futures.entrySet()) {
                        RecordMetadata md = e.getValue().get(TIMEOUT_S, TimeUnit.SECONDS);
                        check(md.hasOffset() && md.offset() >= 0, "no offset for %s: %s", e.getKey(), md);
                        produced.put(e.getKey(), md);
                    }
                }
                Map<Integer, List<Long>> offsets = new HashMap<>();
                produced.values().forEach(md -> offsets.computeIfAbsent(md.partition(), k -> new ArrayList<>()).add(md.offset()));
                check(offsets.size() == PARTITIONS, "records landed in partitions %s only", offsets.keySet());
                offsets.forEach((part, offs) -> {
                    offs.sort(null);
                    for (int i = 0; i < offs.size(); i++) {
                        check(offs.get(i) == i, "partition %d offsets are not 0..%d: %s", part, offs.size() - 1, offs);
                    }
                });
            });

            step("consumer (assign + seekToBeginning) reads all " + RECORDS, () -> {
                check(producedAll, "nothing to read: the producer step failed");
                List<TopicPartition> tps = new ArrayList<>();
                for (int i = 0; i < PARTITIONS; i++) {
                    tps.add(new TopicPartition(topic, i));
                }
                Map<String, ConsumerRecord<String, String>> got = new HashMap<>();
                try (KafkaConsumer<String, String> c = consumer(bootstrap)) {
                    c.assign(tps);
                    c.seekToBeginning(tps);
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
                    while (got.size() < RECORDS && System.nanoTime() < deadline) {
                        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                            check(got.put(r.key(), r) == null, "key %s read twice", r.key());
                        }
                    }
                }
                check(got.size() == RECORDS, "read %d of %d records", got.size(), RECORDS);
                for (int i = 0; i < RECORDS; i++) {
                    String key = "key-" + i;
                    ConsumerRecord<String, String> r = got.get(key);
                    check(r != null, "record %s not read", key);
                    check(("value-" + i).equals(r.value()), "%s has value %s", key, r.value());
                    RecordMetadata md = produced.get(key);
                    check(r.partition() == md.partition() && r.offset() == md.offset(),
                            "%s read at %d@%d but was acknowledged at %d@%d",
                            key, r.partition(), r.offset(), md.partition(), md.offset());
                }
            });

            step("admin.deleteRecords on partition 0, then earliest offset moves", () -> {
                check(producedAll, "nothing to delete: the producer step failed");
                TopicPartition tp0 = new TopicPartition(topic, 0);
                long inP0 = produced.values().stream().filter(md -> md.partition() == 0).count();
                check(inP0 >= 2, "partition 0 has only %d records", inP0);
                long cut = inP0 / 2;
                DeletedRecords dr = admin.deleteRecords(Map.of(tp0, RecordsToDelete.beforeOffset(cut)))
                        .lowWatermarks().get(tp0).get(TIMEOUT_S, TimeUnit.SECONDS);
                check(dr.lowWatermark() == cut, "deleteRecords low watermark %d, want %d", dr.lowWatermark(), cut);

                ListOffsetsResult.ListOffsetsResultInfo earliest = admin.listOffsets(Map.of(tp0, OffsetSpec.earliest()))
                        .partitionResult(tp0).get(TIMEOUT_S, TimeUnit.SECONDS);
                check(earliest.offset() == cut, "ListOffsets earliest = %d, want %d", earliest.offset(), cut);
                ListOffsetsResult.ListOffsetsResultInfo latest = admin.listOffsets(Map.of(tp0, OffsetSpec.latest()))
                        .partitionResult(tp0).get(TIMEOUT_S, TimeUnit.SECONDS);
                check(latest.offset() == inP0, "ListOffsets latest = %d, want %d", latest.offset(), inP0);

                try (KafkaConsumer<String, String> c = consumer(bootstrap)) {
                    c.assign(List.of(tp0));
                    c.seekToBeginning(List.of(tp0));
                    long pos = c.position(tp0, Duration.ofSeconds(TIMEOUT_S));
                    check(pos == cut, "consumer position after seekToBeginning = %d, want %d", pos, cut);
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
                    List<ConsumerRecord<String, String>> recs = new ArrayList<>();
                    while (recs.size() < inP0 - cut && System.nanoTime() < deadline) {
                        c.poll(Duration.ofMillis(500)).forEach(recs::add);
                    }
                    check(recs.size() == inP0 - cut, "read %d records after the cut, want %d", recs.size(), inP0 - cut);
                    check(recs.get(0).offset() == cut, "first record after deleteRecords at %d, want %d", recs.get(0).offset(), cut);
                }
            });
        }
        finish();
    }

    static KafkaConsumer<String, String> consumer(String bootstrap) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        // No group.id: assign() mode needs no coordinator, and nothing is committed.
        return new KafkaConsumer<>(p);
    }

    static void finish() {
        if (failures.isEmpty()) {
            System.out.println("OK");
            System.exit(0);
        }
        System.out.println("FAILED steps:");
        failures.forEach(f -> System.out.println("  " + f));
        System.exit(1);
    }
}
