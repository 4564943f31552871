// Compatibility-matrix runner for the Java client (kafka-clients 4.3).
//
// Usage: java -cp <classes>:<jars> CompatRunner BOOTSTRAP TOPIC_PREFIX
// Prints one `MATRIX {json}` line per scenario (see compat-matrix/README.md).
// Each scenario runs on its own thread with a deadline, so a stuck client
// fails its cell and the runner goes on with the next one.

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.AppInfoParser;

public class CompatRunner {
    static final long SCENARIO_TIMEOUT_S = 60;
    static String bootstrap;
    static String prefix;

    interface Scenario {
        void run() throws Exception;
    }

    static class CheckFailed extends Exception {
        CheckFailed(String m) {
            super(m);
        }
    }

    static void check(boolean cond, String what) throws CheckFailed {
        if (!cond) throw new CheckFailed(what);
    }

    static String topic(String s) {
        return prefix + "-" + s;
    }

    static String group(String s) {
        return prefix + "-" + s + "-g";
    }

    static String produceValue(int i, String codec) {
        return "v" + i + "-" + codec + "-" + "x".repeat(200);
    }

    static Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return Admin.create(p);
    }

    static void create(String t, int partitions, Map<String, String> config) throws Exception {
        try (Admin a = admin()) {
            a.createTopics(List.of(new NewTopic(t, partitions, (short) 1).configs(config))).all().get(30, TimeUnit.SECONDS);
            waitUntil(20, "topic described", () -> partitionsOf(a, t) == partitions);
        }
    }

    static int partitionsOf(Admin a, String t) {
        try {
            return a.describeTopics(List.of(t)).allTopicNames().get(10, TimeUnit.SECONDS).get(t).partitions().size();
        } catch (Exception e) {
            return -1;
        }
    }

    interface Cond {
        boolean ok() throws Exception;
    }

    static void waitUntil(int seconds, String what, Cond c) throws Exception {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (c.ok()) return;
            Thread.sleep(100);
        }
        throw new CheckFailed("timed out after " + seconds + "s waiting for " + what);
    }

    static KafkaProducer<String, String> producer(Map<String, Object> extra) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.putAll(extra);
        return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    }

    static List<RecordMetadata> produce(String t, List<ProducerRecord<String, String>> recs, Map<String, Object> extra) throws Exception {
        List<RecordMetadata> out = new ArrayList<>();
        try (KafkaProducer<String, String> p = producer(extra)) {
            List<Future<RecordMetadata>> fs = new ArrayList<>();
            for (ProducerRecord<String, String> r : recs) fs.add(p.send(r));
            p.flush();
            for (Future<RecordMetadata> f : fs) out.add(f.get(30, TimeUnit.SECONDS));
        }
        return out;
    }

    static KafkaConsumer<String, String> consumer(String group, Map<String, Object> extra) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        if (group != null) p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.putAll(extra);
        return new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
    }

    static List<ConsumerRecord<String, String>> read(KafkaConsumer<String, String> c, int n, int seconds) throws Exception {
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (out.size() < n && System.nanoTime() < deadline) {
            for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(300))) out.add(r);
        }
        check(out.size() == n, "read " + out.size() + " of " + n + " records");
        return out;
    }

    static List<ConsumerRecord<String, String>> readAssigned(String t, Map<Integer, Long> starts, int n) throws Exception {
        try (KafkaConsumer<String, String> c = consumer(null, Map.of())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p : starts.keySet()) tps.add(new TopicPartition(t, p));
            c.assign(tps);
            for (TopicPartition tp : tps) {
                Long o = starts.get(tp.partition());
                if (o == null) c.seekToBeginning(List.of(tp));
                else c.seek(tp, o);
            }
            return read(c, n, 20);
        }
    }

    // --- scenarios -----------------------------------------------------------

    static void metadata() throws Exception {
        String t = topic("metadata");
        create(t, 3, Map.of());
        try (Admin a = admin()) {
            Collection<Node> nodes = a.describeCluster().nodes().get(10, TimeUnit.SECONDS);
            int port = Integer.parseInt(bootstrap.substring(bootstrap.lastIndexOf(':') + 1));
            check(nodes.stream().anyMatch(n -> n.port() == port), "bootstrap port not among nodes " + nodes);
        }
        try (KafkaConsumer<String, String> c = consumer(null, Map.of())) {
            var parts = c.partitionsFor(t, Duration.ofSeconds(10));
            check(parts.size() == 3, "partitionsFor " + parts);
            check(parts.stream().allMatch(p -> p.leader() != null && p.leader().id() >= 0), "partition without a leader");
        }
    }

    static void produceCodec(String codec) throws Exception {
        String t = topic("produce-" + codec);
        create(t, 1, Map.of());
        List<ProducerRecord<String, String>> recs = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            ProducerRecord<String, String> r = new ProducerRecord<>(t, "k" + i, produceValue(i, codec));
            r.headers().add("idx", Integer.toString(i).getBytes());
            recs.add(r);
        }
        List<RecordMetadata> md = produce(t, recs, Map.of(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec));
        for (int i = 0; i < 50; i++) check(md.get(i).offset() == i, "acked offset " + md.get(i).offset() + " for record " + i);
        List<ConsumerRecord<String, String>> got = readAssigned(t, Map.of(0, 0L), 50);
        for (int i = 0; i < 50; i++) {
            ConsumerRecord<String, String> r = got.get(i);
            check(r.offset() == i && r.key().equals("k" + i) && r.value().equals(produceValue(i, codec)), "record " + i + " read back as " + r);
            Header[] hs = r.headers().toArray();
            check(hs.length == 1 && hs[0].key().equals("idx") && new String(hs[0].value()).equals(Integer.toString(i)), "record " + i + " headers");
        }
    }

    static void fetch() throws Exception {
        String t = topic("fetch");
        create(t, 3, Map.of());
        List<ProducerRecord<String, String>> recs = new ArrayList<>();
        for (int i = 0; i < 30; i++) recs.add(new ProducerRecord<>(t, i % 3, "k" + i, "v" + i));
        produce(t, recs, Map.of());
        List<ConsumerRecord<String, String>> all = readAssigned(t, Map.of(0, 0L, 1, 0L, 2, 0L), 30);
        for (int p = 0; p < 3; p++) {
            List<String> vals = new ArrayList<>(), want = new ArrayList<>();
            for (ConsumerRecord<String, String> r : all) if (r.partition() == p) vals.add(r.value());
            for (int i = p; i < 30; i += 3) want.add("v" + i);
            check(vals.equals(want), "partition " + p + ": " + vals);
        }
        List<ConsumerRecord<String, String>> mid = readAssigned(t, Map.of(1, 5L), 5);
        for (int i = 0; i < 5; i++) check(mid.get(i).offset() == 5 + i, "offsets from 5: " + mid.get(i).offset());
        check(mid.get(0).value().equals("v16"), "offset 5 of partition 1 is " + mid.get(0).value());
    }

    static void group() throws Exception {
        String t = topic("group"), g = group("group");
        create(t, 2, Map.of());
        List<ProducerRecord<String, String>> recs = new ArrayList<>();
        for (int i = 0; i < 10; i++) recs.add(new ProducerRecord<>(t, i % 2, null, "a" + i));
        produce(t, recs, Map.of());
        try (KafkaConsumer<String, String> c1 = consumer(g, Map.of())) {
            c1.subscribe(List.of(t));
            List<ConsumerRecord<String, String>> got = read(c1, 10, 30);
            Set<String> vals = new TreeSet<>();
            for (ConsumerRecord<String, String> r : got) vals.add(r.value());
            check(vals.size() == 10, "first consumer's records " + vals);
            c1.commitSync();
            Map<TopicPartition, OffsetAndMetadata> committed =
                    c1.committed(Set.of(new TopicPartition(t, 0), new TopicPartition(t, 1)), Duration.ofSeconds(10));
            check(committed.get(new TopicPartition(t, 0)).offset() == 5 && committed.get(new TopicPartition(t, 1)).offset() == 5,
                    "committed " + committed);
        }
        recs.clear();
        for (int i = 0; i < 4; i++) recs.add(new ProducerRecord<>(t, i % 2, null, "b" + i));
        produce(t, recs, Map.of());
        try (KafkaConsumer<String, String> c2 = consumer(g, Map.of())) {
            c2.subscribe(List.of(t));
            List<ConsumerRecord<String, String>> got = read(c2, 4, 30);
            Set<String> vals = new TreeSet<>();
            for (ConsumerRecord<String, String> r : got) vals.add(r.value());
            check(vals.equals(new TreeSet<>(List.of("b0", "b1", "b2", "b3"))), "second consumer resumed with " + vals);
            check(c2.poll(Duration.ofSeconds(1)).isEmpty(), "more records after the committed ones");
        }
    }

    static Set<Integer> parts(KafkaConsumer<String, String> c) {
        c.poll(Duration.ofMillis(100));
        Set<Integer> out = new TreeSet<>();
        for (TopicPartition tp : c.assignment()) out.add(tp.partition());
        return out;
    }

    static void rebalance() throws Exception {
        String t = topic("rebalance"), g = group("rebalance");
        create(t, 4, Map.of());
        Map<String, Object> conf = Map.of(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500, ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 6000);
        try (KafkaConsumer<String, String> c1 = consumer(g, conf)) {
            c1.subscribe(List.of(t));
            waitUntil(20, "c1 assigned 4 partitions", () -> parts(c1).size() == 4);
            try (KafkaConsumer<String, String> c2 = consumer(g, conf)) {
                c2.subscribe(List.of(t));
                waitUntil(40, "2 partitions each", () -> {
                    Set<Integer> a1 = parts(c1), a2 = parts(c2);
                    Set<Integer> u = new HashSet<>(a1);
                    u.addAll(a2);
                    return a1.size() == 2 && a2.size() == 2 && u.size() == 4;
                });
            } // close(): LeaveGroup
            waitUntil(40, "c1 back to 4 partitions", () -> parts(c1).size() == 4);
        }
    }

    static void idempotent() throws Exception {
        String t = topic("idempotent");
        create(t, 1, Map.of());
        List<ProducerRecord<String, String>> recs = new ArrayList<>();
        for (int i = 0; i < 20; i++) recs.add(new ProducerRecord<>(t, null, "i" + i));
        List<RecordMetadata> md = produce(t, recs, Map.of(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.ACKS_CONFIG, "all"));
        for (int i = 0; i < 20; i++) check(md.get(i).offset() == i, "acked offset " + md.get(i).offset());
        List<ConsumerRecord<String, String>> got = readAssigned(t, Map.of(0, 0L), 20);
        for (int i = 0; i < 20; i++) check(got.get(i).value().equals("i" + i), "read back " + got.get(i).value());
    }

    static void transactions() throws Exception {
        String t = topic("transactions");
        create(t, 1, Map.of());
        try (KafkaProducer<String, String> p = producer(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, prefix + "-txn",
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 20000))) {
            p.initTransactions();
            p.beginTransaction();
            for (int i = 0; i < 5; i++) p.send(new ProducerRecord<>(t, "c" + i));
            p.commitTransaction();
            p.beginTransaction();
            for (int i = 0; i < 5; i++) p.send(new ProducerRecord<>(t, "a" + i));
            p.abortTransaction();
        }
        try (KafkaConsumer<String, String> c = consumer(null, Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
            TopicPartition tp = new TopicPartition(t, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            List<String> got = new ArrayList<>();
            long end = c.endOffsets(List.of(tp)).get(tp);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (System.nanoTime() < deadline && c.position(tp) < end) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(300))) got.add(r.value());
            }
            check(got.equals(List.of("c0", "c1", "c2", "c3", "c4")), "read_committed saw " + got);
        }
    }

    static void adminTopics() throws Exception {
        String t = topic("admin-topics");
        create(t, 2, Map.of("retention.ms", "3600000"));
        try (Admin a = admin()) {
            check(a.listTopics().names().get(10, TimeUnit.SECONDS).contains(t), "created topic not listed");
            TopicDescription d = a.describeTopics(List.of(t)).allTopicNames().get(10, TimeUnit.SECONDS).get(t);
            check(d.partitions().size() == 2, "described " + d);
            a.deleteTopics(List.of(t)).all().get(30, TimeUnit.SECONDS);
            waitUntil(20, "topic gone", () -> !a.listTopics().names().get(10, TimeUnit.SECONDS).contains(t));
        }
    }

    static void adminPartitions() throws Exception {
        String t = topic("admin-partitions");
        create(t, 1, Map.of());
        try (Admin a = admin()) {
            a.createPartitions(Map.of(t, NewPartitions.increaseTo(3))).all().get(30, TimeUnit.SECONDS);
            waitUntil(20, "3 partitions", () -> partitionsOf(a, t) == 3);
        }
    }

    static void adminConfigs() throws Exception {
        String t = topic("admin-configs");
        create(t, 1, Map.of());
        try (Admin a = admin()) {
            ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, t);
            Config cfg = a.describeConfigs(List.of(r)).all().get(10, TimeUnit.SECONDS).get(r);
            check(cfg.get("retention.ms") != null, "retention.ms missing");
            a.incrementalAlterConfigs(Map.of(r, List.of(new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET))))
                    .all().get(10, TimeUnit.SECONDS);
            cfg = a.describeConfigs(List.of(r)).all().get(10, TimeUnit.SECONDS).get(r);
            check("7200000".equals(cfg.get("retention.ms").value()), "retention.ms is " + cfg.get("retention.ms"));
            Node n = a.describeCluster().nodes().get(10, TimeUnit.SECONDS).iterator().next();
            ConfigResource br = new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(n.id()));
            Config bcfg = a.describeConfigs(List.of(br)).all().get(10, TimeUnit.SECONDS).get(br);
            check(bcfg.get("num.partitions") != null, "broker config lacks num.partitions (" + bcfg.entries().size() + " entries)");
        }
    }

    static void adminGroups() throws Exception {
        String t = topic("admin-groups"), g = group("admin-groups");
        create(t, 1, Map.of());
        List<ProducerRecord<String, String>> recs = new ArrayList<>();
        for (int i = 0; i < 3; i++) recs.add(new ProducerRecord<>(t, "g" + i));
        produce(t, recs, Map.of());
        try (KafkaConsumer<String, String> c = consumer(g, Map.of())) {
            c.subscribe(List.of(t));
            read(c, 3, 30);
            c.commitSync();
        }
        try (Admin a = admin()) {
            Collection<GroupListing> groups = a.listGroups(ListGroupsOptions.forConsumerGroups()).all().get(10, TimeUnit.SECONDS);
            check(groups.stream().anyMatch(x -> x.groupId().equals(g)), g + " not in listed groups " + groups);
            ConsumerGroupDescription d = a.describeConsumerGroups(List.of(g)).all().get(10, TimeUnit.SECONDS).get(g);
            check(d.groupState() == GroupState.EMPTY || d.groupState() == GroupState.STABLE, "group state " + d.groupState());
            // Kafka keeps an Empty group's protocol type, so it is not a "simple" (protocol-less) group.
            check(!d.isSimpleConsumerGroup(), "group " + d.groupState() + " described as a simple consumer group (empty protocol type)");
            Map<TopicPartition, OffsetAndMetadata> offs = a.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
            OffsetAndMetadata o = offs.get(new TopicPartition(t, 0));
            check(o != null && o.offset() == 3, "committed offsets " + offs);
        }
    }

    static void offsets() throws Exception {
        String t = topic("offsets");
        create(t, 1, Map.of());
        long base = (System.currentTimeMillis() / 1000 - 600) * 1000;
        List<ProducerRecord<String, String>> recs = new ArrayList<>();
        for (int i = 0; i < 10; i++) recs.add(new ProducerRecord<>(t, 0, base + i * 1000L, null, "o" + i));
        produce(t, recs, Map.of());
        TopicPartition tp = new TopicPartition(t, 0);
        try (Admin a = admin()) {
            long e = a.listOffsets(Map.of(tp, OffsetSpec.earliest())).partitionResult(tp).get(10, TimeUnit.SECONDS).offset();
            long l = a.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp).get(10, TimeUnit.SECONDS).offset();
            long ts = a.listOffsets(Map.of(tp, OffsetSpec.forTimestamp(base + 5000))).partitionResult(tp).get(10, TimeUnit.SECONDS).offset();
            ListOffsetsResult.ListOffsetsResultInfo mx = a.listOffsets(Map.of(tp, OffsetSpec.maxTimestamp())).partitionResult(tp).get(10, TimeUnit.SECONDS);
            check(e == 0 && l == 10 && ts == 5, "earliest " + e + " latest " + l + " for timestamp " + ts);
            check(mx.offset() == 9 && mx.timestamp() == base + 9000, "max timestamp at " + mx.offset() + " ts " + mx.timestamp());
        }
        try (KafkaConsumer<String, String> c = consumer(null, Map.of())) {
            OffsetAndTimestamp ot = c.offsetsForTimes(Map.of(tp, base + 7000)).get(tp);
            check(ot != null && ot.offset() == 7, "consumer offsetsForTimes " + ot);
        }
    }

    static void deleteRecords() throws Exception {
        String t = topic("delete-records");
        create(t, 1, Map.of());
        List<ProducerRecord<String, String>> recs = new ArrayList<>();
        for (int i = 0; i < 10; i++) recs.add(new ProducerRecord<>(t, "d" + i));
        produce(t, recs, Map.of());
        TopicPartition tp = new TopicPartition(t, 0);
        try (Admin a = admin()) {
            long low = a.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(tp).get(10, TimeUnit.SECONDS).lowWatermark();
            check(low == 4, "low watermark " + low);
        }
        Map<Integer, Long> starts = new HashMap<>();
        starts.put(0, null);
        List<ConsumerRecord<String, String>> got = readAssigned(t, starts, 6);
        check(got.get(0).offset() == 4 && got.get(0).value().equals("d4"), "first record after delete at " + got.get(0).offset());
    }

    static void avroRegistry() throws Exception {
        String url = System.getenv("MATRIX_SCHEMA_REGISTRY_URL");
        if (url == null) {
            String why = System.getenv("MATRIX_SCHEMA_REGISTRY_ERROR");
            throw new CheckFailed("schema registry not available: " + (why == null ? "the driver started none" : why));
        }
        String t = topic("avro-registry");
        create(t, 1, Map.of());
        org.apache.avro.Schema schema = new org.apache.avro.Schema.Parser().parse(
                "{\"type\": \"record\", \"name\": \"LogLine\", \"namespace\": \"matrix\", \"fields\": ["
                + "{\"name\": \"ip\", \"type\": \"string\"}, {\"name\": \"n\", \"type\": \"long\"}]}");
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, "io.confluent.kafka.serializers.KafkaAvroSerializer");
        pp.put("schema.registry.url", url);
        try (KafkaProducer<String, Object> p = new KafkaProducer<>(pp)) {
            for (int i = 0; i < 3; i++) {
                org.apache.avro.generic.GenericRecord r = new org.apache.avro.generic.GenericData.Record(schema);
                r.put("ip", "10.0.0." + i);
                r.put("n", (long) i);
                p.send(new ProducerRecord<>(t, "k" + i, r)).get(30, TimeUnit.SECONDS);
            }
        }
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        cp.put(ConsumerConfig.GROUP_ID_CONFIG, prefix + "-avro-unused");
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, "io.confluent.kafka.serializers.KafkaAvroDeserializer");
        cp.put("schema.registry.url", url);
        List<String> got = new ArrayList<>();
        try (KafkaConsumer<String, Object> c = new KafkaConsumer<>(cp)) {
            TopicPartition tp = new TopicPartition(t, 0);
            c.assign(List.of(tp));
            c.seek(tp, 0);
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (got.size() < 3 && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, Object> r : c.poll(Duration.ofMillis(300))) {
                    org.apache.avro.generic.GenericRecord v = (org.apache.avro.generic.GenericRecord) r.value();
                    got.add(v.get("ip") + "/" + v.get("n"));
                }
            }
        }
        check(got.equals(List.of("10.0.0.0/0", "10.0.0.1/1", "10.0.0.2/2")), "read back " + got);
    }

    // --- runner --------------------------------------------------------------

    static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    public static void main(String[] args) throws Exception {
        bootstrap = args[0];
        prefix = args[1];
        String version = AppInfoParser.getVersion();
        Map<String, Scenario> list = new LinkedHashMap<>();
        list.put("metadata", CompatRunner::metadata);
        for (String codec : List.of("none", "gzip", "snappy", "lz4", "zstd")) list.put("produce-" + codec, () -> produceCodec(codec));
        list.put("fetch", CompatRunner::fetch);
        list.put("group", CompatRunner::group);
        list.put("rebalance", CompatRunner::rebalance);
        list.put("idempotent", CompatRunner::idempotent);
        list.put("transactions", CompatRunner::transactions);
        list.put("admin-topics", CompatRunner::adminTopics);
        list.put("admin-partitions", CompatRunner::adminPartitions);
        list.put("admin-configs", CompatRunner::adminConfigs);
        list.put("admin-groups", CompatRunner::adminGroups);
        list.put("offsets", CompatRunner::offsets);
        list.put("delete-records", CompatRunner::deleteRecords);
        list.put("avro-registry", CompatRunner::avroRegistry);
        for (Map.Entry<String, Scenario> e : list.entrySet()) {
            System.out.println("\n=== java: " + e.getKey() + " ===");
            long t0 = System.nanoTime();
            ExecutorService ex = Executors.newSingleThreadExecutor(r -> {
                Thread th = new Thread(r);
                th.setDaemon(true);
                return th;
            });
            String status = "pass", reason = "";
            Future<?> f = ex.submit(() -> {
                e.getValue().run();
                return null;
            });
            try {
                f.get(SCENARIO_TIMEOUT_S, TimeUnit.SECONDS);
            } catch (TimeoutException te) {
                f.cancel(true);
                status = "fail";
                reason = "scenario took longer than " + SCENARIO_TIMEOUT_S + "s";
            } catch (java.util.concurrent.ExecutionException ee) {
                Throwable c = ee.getCause();
                while (c instanceof java.util.concurrent.ExecutionException && c.getCause() != null) c = c.getCause();
                status = "fail";
                reason = (c instanceof CheckFailed) ? c.getMessage() : c.getClass().getSimpleName() + ": " + c.getMessage();
                c.printStackTrace(System.out);
            }
            ex.shutdownNow();
            double secs = Math.round((System.nanoTime() - t0) / 1e7) / 100.0;
            System.out.println("MATRIX {\"client\": \"java\", \"version\": " + json("kafka-clients " + version) + ", \"scenario\": " + json(e.getKey())
                    + ", \"status\": " + json(status) + ", \"reason\": " + json(reason == null ? "" : reason) + ", \"seconds\": " + secs + "}");
            System.out.flush();
        }
        System.exit(0);
    }
}
