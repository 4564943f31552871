// Consumer groups with the Java client (kafka-clients 4.3) against the broker
// (issue 3, acceptance 2 and 5).
//
// Usage: java -cp <classpath> GroupScenarios MODE BOOTSTRAP TOPIC GROUP
//   cooperative        classic protocol, CooperativeStickyAssignor: two consumers
//                      on a 6-partition topic, then a third joins; the partitions
//                      the first two keep are never revoked (incremental rebalance)
//   consumer-protocol  the same with group.protocol=consumer (KIP-848, server-side
//                      assignor): survivors keep their unaffected partitions
//   admin              AdminClient views of a group with a static member: describe,
//                      list, offsets and lag, alter/delete offsets, remove members
// Prints each step; exits 0 and prints "OK" when every step passed, 1 otherwise.

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListConsumerGroupsOptions;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.MemberToRemove;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupSubscribedToTopicException;
import org.apache.kafka.common.errors.UnknownMemberIdException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class GroupScenarios {
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

    /** Runs steps in order, stopping at the first that fails (later ones depend on it). */
    static boolean steps(Object... nameBodyPairs) {
        for (int i = 0; i < nameBodyPairs.length; i += 2) {
            if (!step((String) nameBodyPairs[i], (Step) nameBodyPairs[i + 1])) {
                return false;
            }
        }
        return true;
    }

    static void check(boolean cond, String fmt, Object... args) {
        if (!cond) {
            throw new AssertionError(String.format(fmt, args));
        }
    }

    static void waitFor(String what, long timeoutMs, BooleanSupplier cond, Supplier<String> state) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < deadline) {
            if (cond.getAsBoolean()) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("timed out after " + timeoutMs + " ms waiting for " + what + "; " + state.get());
    }

    static Set<Integer> parts(Collection<TopicPartition> tps) {
        return tps.stream().map(TopicPartition::partition).collect(Collectors.toCollection(TreeSet::new));
    }

    static Set<Integer> minus(Set<Integer> a, Set<Integer> b) {
        Set<Integer> out = new TreeSet<>(a);
        out.removeAll(b);
        return out;
    }

    static Set<Integer> range(int n) {
        Set<Integer> out = new TreeSet<>();
        for (int i = 0; i < n; i++) {
            out.add(i);
        }
        return out;
    }

    static Properties adminProps(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "20000");
        return p;
    }

    /** Produces `perPartition[p]` records to each partition p; values "tag-p-i". */
    static void produce(String bootstrap, String topic, String tag, int[] perPartition) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            List<java.util.concurrent.Future<?>> futures = new ArrayList<>();
            for (int part = 0; part < perPartition.length; part++) {
                for (int i = 0; i < perPartition[part]; i++) {
                    futures.add(producer.send(new ProducerRecord<>(topic, part, null, tag + "-" + part + "-" + i)));
                }
            }
            producer.flush();
            for (var f : futures) {
                f.get(TIMEOUT_S, TimeUnit.SECONDS);
            }
        }
    }

    static void createTopic(Admin admin, String topic, int partitions) throws Exception {
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(TIMEOUT_S, TimeUnit.SECONDS);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: GroupScenarios cooperative|consumer-protocol|admin BOOTSTRAP TOPIC GROUP");
            System.exit(2);
        }
        String mode = args[0];
        switch (mode) {
            case "cooperative" -> incremental(false, args[1], args[2], args[3]);
            case "consumer-protocol" -> incremental(true, args[1], args[2], args[3]);
            case "admin" -> admin(args[1], args[2], args[3]);
            default -> {
                System.err.println("unknown mode " + mode);
                System.exit(2);
            }
        }
        finish();
    }

    static void finish() {
        if (failures.isEmpty()) {
            System.out.println("OK");
            System.exit(0);
        }
        System.out.println("FAILED: " + failures.size() + " step(s)");
        failures.forEach(f -> System.out.println("  " + f));
        System.exit(1);
    }

    // --- incremental rebalancing ------------------------------------------------

    /**
     * One group member on its own thread: polls in a loop, records what it
     * consumed and every rebalance callback. `owned` mirrors what the
     * listener was told.
     */
    static final class Member implements Runnable, ConsumerRebalanceListener {
        final String name;
        final Properties props;
        final String topic;
        final Set<Integer> owned = ConcurrentHashMap.newKeySet();
        final List<String> events = Collections.synchronizedList(new ArrayList<>());
        final Set<Integer> revokedSinceMark = ConcurrentHashMap.newKeySet();
        final Set<Integer> assignedSinceMark = ConcurrentHashMap.newKeySet();
        final Set<Integer> lostSinceMark = ConcurrentHashMap.newKeySet();
        /** "partition/offset" of every record consumed, with how often. */
        final Map<String, Integer> consumed = new ConcurrentHashMap<>();
        volatile boolean stop;
        volatile Throwable error;
        final Thread thread;

        Member(String name, Properties props, String topic) {
            this.name = name;
            this.props = props;
            this.topic = topic;
            this.thread = new Thread(this, name);
        }

        void start() {
            thread.start();
        }

        void mark() {
            revokedSinceMark.clear();
            assignedSinceMark.clear();
            lostSinceMark.clear();
            events.add("---- mark ----");
        }

        @Override
        public void run() {
            try (KafkaConsumer<String, String> c = new KafkaConsumer<>(props)) {
                c.subscribe(List.of(topic), this);
                while (!stop) {
                    ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(100));
                    for (ConsumerRecord<String, String> r : recs) {
                        consumed.merge(r.partition() + "/" + r.offset(), 1, Integer::sum);
                    }
                }
            } catch (Throwable e) {
                error = e;
                e.printStackTrace(System.out);
            }
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            Set<Integer> ps = parts(partitions);
            events.add("revoked " + ps);
            owned.removeAll(ps);
            revokedSinceMark.addAll(ps);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            Set<Integer> ps = parts(partitions);
            events.add("assigned " + ps);
            owned.addAll(ps);
            assignedSinceMark.addAll(ps);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            Set<Integer> ps = parts(partitions);
            events.add("lost " + ps);
            owned.removeAll(ps);
            lostSinceMark.addAll(ps);
        }

        Set<Integer> ownedNow() {
            return new TreeSet<>(owned);
        }

        void stopAndJoin() throws InterruptedException {
            stop = true;
            thread.join(60_000);
        }

        @Override
        public String toString() {
            synchronized (events) {
                return name + " owns " + ownedNow() + " events " + events;
            }
        }
    }

    static String describeMembers(List<Member> members) {
        return members.stream().map(Member::toString).collect(Collectors.joining("; "));
    }

    /** Every member owns `perMember` partitions, and together they own all of them, each once. */
    static boolean balanced(List<Member> members, int partitions, int perMember) {
        Set<Integer> all = new TreeSet<>();
        int total = 0;
        for (Member m : members) {
            Set<Integer> o = m.ownedNow();
            if (o.size() != perMember) {
                return false;
            }
            all.addAll(o);
            total += o.size();
        }
        return total == partitions && all.equals(range(partitions));
    }

    static void incremental(boolean kip848, String bootstrap, String topic, String group) throws Exception {
        final int partitions = 6;
        final int[] batch = {50, 50, 50, 50, 50, 50};
        Properties base = new Properties();
        base.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        base.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        base.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        base.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        base.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        if (kip848) {
            base.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
        } else {
            base.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
            base.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
            base.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
            base.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
        }
        List<Member> members = new ArrayList<>();
        for (String name : List.of("c1", "c2", "c3")) {
            Properties p = (Properties) base.clone();
            p.put(ConsumerConfig.CLIENT_ID_CONFIG, "groups-" + name);
            members.add(new Member(name, p, topic));
        }
        Member c1 = members.get(0), c2 = members.get(1), c3 = members.get(2);
        Map<String, Set<Integer>> before = new HashMap<>();

        try (Admin admin = Admin.create(adminProps(bootstrap))) {
            steps(
                "create topic (6 partitions) and produce 300 records", (Step) () -> {
                    createTopic(admin, topic, partitions);
                    produce(bootstrap, topic, "first", batch);
                },
                "c1 and c2 join: 3 partitions each, disjoint, all 6 covered", (Step) () -> {
                    c1.start();
                    c2.start();
                    waitFor("c1 and c2 to own 3 partitions each", 60_000,
                            () -> balanced(List.of(c1, c2), partitions, 3), () -> describeMembers(members));
                },
                "c1 and c2 consume all 300 records", (Step) () -> {
                    waitFor("300 records consumed", 60_000,
                            () -> c1.consumed.size() + c2.consumed.size() >= 300, () -> describeMembers(members));
                },
                "c3 joins: 2 partitions each, disjoint, all 6 covered", (Step) () -> {
                    before.put("c1", c1.ownedNow());
                    before.put("c2", c2.ownedNow());
                    c1.mark();
                    c2.mark();
                    c3.start();
                    waitFor("c1, c2, c3 to own 2 partitions each", 60_000,
                            () -> balanced(members, partitions, 2), () -> describeMembers(members));
                    // And it stays that way (no further rebalance under way).
                    Thread.sleep(kip848 ? 3000 : 2000);
                    check(balanced(members, partitions, 2), "assignment changed again: %s", describeMembers(members));
                },
                "incremental: c1 and c2 keep the rest of their partitions, only the moved ones are revoked", (Step) () -> {
                    for (Member m : List.of(c1, c2)) {
                        Set<Integer> was = before.get(m.name);
                        Set<Integer> now = m.ownedNow();
                        check(was.containsAll(now), "%s now owns %s, not a subset of what it had (%s): %s", m.name, now, was, m);
                        Set<Integer> kept = now;
                        Set<Integer> revokedKept = new TreeSet<>(m.revokedSinceMark);
                        revokedKept.retainAll(kept);
                        check(revokedKept.isEmpty(), "%s had kept partitions %s revoked (eager, not incremental): %s",
                                m.name, revokedKept, m);
                        check(m.revokedSinceMark.equals(minus(was, now)), "%s revoked %s, expected exactly the moved %s: %s",
                                m.name, new TreeSet<>(m.revokedSinceMark), minus(was, now), m);
                        check(m.lostSinceMark.isEmpty(), "%s lost partitions %s: %s", m.name, m.lostSinceMark, m);
                        check(m.assignedSinceMark.isEmpty(), "%s was newly assigned %s while only giving partitions up: %s",
                                m.name, new TreeSet<>(m.assignedSinceMark), m);
                    }
                    Set<Integer> moved = new TreeSet<>(minus(before.get("c1"), c1.ownedNow()));
                    moved.addAll(minus(before.get("c2"), c2.ownedNow()));
                    check(c3.ownedNow().equals(moved), "c3 owns %s, expected the partitions moved away from c1 and c2 %s",
                            c3.ownedNow(), moved);
                },
                "produce 300 more: every record consumed, none twice", (Step) () -> {
                    produce(bootstrap, topic, "second", batch);
                    waitFor("600 records consumed", 60_000,
                            () -> members.stream().mapToInt(m -> m.consumed.size()).sum() >= 600,
                            () -> describeMembers(members));
                    Map<String, Integer> all = new TreeMap<>();
                    for (Member m : members) {
                        m.consumed.forEach((k, v) -> all.merge(k, v, Integer::sum));
                    }
                    check(all.size() == 600, "distinct records consumed: %d, want 600", all.size());
                    List<String> twice = all.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
                    check(twice.isEmpty(), "%d records consumed more than once (offsets not committed on revocation?): %s",
                            twice.size(), twice.subList(0, Math.min(20, twice.size())));
                    for (Member m : members) {
                        check(m.error == null, "%s failed: %s", m.name, m.error);
                    }
                },
                "admin.describeConsumerGroups matches what the consumers own", (Step) () -> {
                    waitFor("the group description to match the consumers", 30_000, () -> {
                        try {
                            ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all()
                                    .get(TIMEOUT_S, TimeUnit.SECONDS).get(group);
                            return d.groupState() == GroupState.STABLE && d.members().size() == 3;
                        } catch (Exception e) {
                            return false;
                        }
                    }, () -> describeMembers(members));
                    ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all()
                            .get(TIMEOUT_S, TimeUnit.SECONDS).get(group);
                    System.out.println("     " + d);
                    check(d.type() == (kip848 ? GroupType.CONSUMER : GroupType.CLASSIC), "group type %s", d.type());
                    check(d.partitionAssignor().equals(kip848 ? "uniform" : "cooperative-sticky"),
                            "partition assignor %s", d.partitionAssignor());
                    Map<String, Set<Integer>> byClient = new TreeMap<>();
                    for (MemberDescription md : d.members()) {
                        byClient.put(md.clientId(), parts(md.assignment().topicPartitions()));
                        if (kip848) {
                            check(md.targetAssignment().isPresent()
                                    && parts(md.targetAssignment().get().topicPartitions()).equals(parts(md.assignment().topicPartitions())),
                                    "member %s: target %s differs from assignment in a stable group", md.clientId(), md.targetAssignment());
                        }
                    }
                    Map<String, Set<Integer>> want = new TreeMap<>();
                    for (Member m : members) {
                        want.put("groups-" + m.name, m.ownedNow());
                    }
                    check(byClient.equals(want), "described assignments %s, consumers own %s", byClient, want);
                }
            );
        } finally {
            for (Member m : members) {
                m.stopAndJoin();
            }
        }
    }

    // --- admin ------------------------------------------------------------------

    static Map<Integer, OffsetAndMetadata> groupOffsets(Admin admin, String group, String topic) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> m = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                .get(TIMEOUT_S, TimeUnit.SECONDS);
        Map<Integer, OffsetAndMetadata> out = new TreeMap<>();
        m.forEach((tp, om) -> {
            if (tp.topic().equals(topic) && om != null) {
                out.put(tp.partition(), om);
            }
        });
        return out;
    }

    static Map<Integer, Long> committedOffsets(Admin admin, String group, String topic) throws Exception {
        Map<Integer, Long> out = new TreeMap<>();
        groupOffsets(admin, group, topic).forEach((p, om) -> out.put(p, om.offset()));
        return out;
    }

    static Map<Integer, Long> latestOffsets(Admin admin, String topic, int partitions) throws Exception {
        Map<TopicPartition, OffsetSpec> req = new HashMap<>();
        for (int p = 0; p < partitions; p++) {
            req.put(new TopicPartition(topic, p), OffsetSpec.latest());
        }
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> res = admin.listOffsets(req).all()
                .get(TIMEOUT_S, TimeUnit.SECONDS);
        Map<Integer, Long> out = new TreeMap<>();
        res.forEach((tp, info) -> out.put(tp.partition(), info.offset()));
        return out;
    }

    /** Per-partition lag the way kafka-consumer-groups.sh computes it: latest offset minus committed. */
    static Map<Integer, Long> lag(Admin admin, String group, String topic, int partitions) throws Exception {
        Map<Integer, Long> latest = latestOffsets(admin, topic, partitions);
        Map<Integer, Long> committed = committedOffsets(admin, group, topic);
        Map<Integer, Long> out = new TreeMap<>();
        for (int p = 0; p < partitions; p++) {
            Long c = committed.get(p);
            out.put(p, c == null ? null : latest.get(p) - c);
        }
        return out;
    }

    static ConsumerGroupDescription describe(Admin admin, String group) throws Exception {
        return admin.describeConsumerGroups(List.of(group)).all().get(TIMEOUT_S, TimeUnit.SECONDS).get(group);
    }

    static Throwable failureOf(org.apache.kafka.common.KafkaFuture<?> f) throws Exception {
        try {
            f.get(TIMEOUT_S, TimeUnit.SECONDS);
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        }
    }

    static Map<Integer, Long> longs(long... vs) {
        Map<Integer, Long> out = new TreeMap<>();
        for (int i = 0; i < vs.length; i++) {
            out.put(i, vs[i]);
        }
        return out;
    }

    @SuppressWarnings("deprecation")
    static void admin(String bootstrap, String topic, String group) throws Exception {
        final int partitions = 3;
        final int[] produced = {10, 20, 30};
        // What the static member commits after consuming everything: a prefix of each partition.
        final long[] committed = {4, 20, 7};
        final String instance = "static-member-1";
        final String clientId = "groups-admin-static";
        final Set<TopicPartition> all = new HashSet<>();
        for (int p = 0; p < partitions; p++) {
            all.add(new TopicPartition(topic, p));
        }

        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        cp.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        cp.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instance);
        cp.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        // Long enough that the closed static member is still in the group when removed.
        cp.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "60000");

        try (Admin admin = Admin.create(adminProps(bootstrap))) {
            KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp);
            boolean closed = false;
            try {
                boolean ready = steps(
                    "create topic (3 partitions), produce 10/20/30 records", (Step) () -> {
                        createTopic(admin, topic, partitions);
                        produce(bootstrap, topic, "a", produced);
                    },
                    "static member consumes everything, commits 4/20/7 with metadata", (Step) () -> {
                        consumer.subscribe(List.of(topic));
                        int n = 0;
                        long deadline = System.currentTimeMillis() + 60_000;
                        while (n < 60 && System.currentTimeMillis() < deadline) {
                            n += consumer.poll(Duration.ofMillis(200)).count();
                        }
                        check(n == 60, "consumed %d of 60", n);
                        check(parts(consumer.assignment()).equals(range(partitions)), "assignment %s", consumer.assignment());
                        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                        for (int p = 0; p < partitions; p++) {
                            offsets.put(new TopicPartition(topic, p), new OffsetAndMetadata(committed[p], "meta-" + p));
                        }
                        consumer.commitSync(offsets, Duration.ofSeconds(TIMEOUT_S));
                    }
                );
                if (!ready) {
                    return;
                }

                step("describeConsumerGroups: Stable, the static member and its assignment", () -> {
                    ConsumerGroupDescription d = describe(admin, group);
                    System.out.println("     " + d);
                    check(d.groupState() == GroupState.STABLE, "state %s", d.groupState());
                    check(d.type() == GroupType.CLASSIC, "type %s", d.type());
                    check(!d.isSimpleConsumerGroup(), "a subscribing group is not a simple consumer group");
                    check("range".equals(d.partitionAssignor()), "assignor %s (the client's first default is range)", d.partitionAssignor());
                    check(d.coordinator() != null && (d.coordinator().host() + ":" + d.coordinator().port()).equals(bootstrap),
                            "coordinator %s", d.coordinator());
                    check(d.members().size() == 1, "members %s", d.members());
                    MemberDescription m = d.members().iterator().next();
                    check(m.groupInstanceId().equals(Optional.of(instance)), "group instance id %s", m.groupInstanceId());
                    check(clientId.equals(m.clientId()), "client id %s", m.clientId());
                    check(m.host() != null && !m.host().isEmpty(), "host %s", m.host());
                    check(m.consumerId() != null && !m.consumerId().isEmpty(), "member id %s", m.consumerId());
                    check(m.assignment().topicPartitions().equals(all), "assignment %s", m.assignment());
                });

                step("listConsumerGroups / listGroups show the group as Stable", () -> {
                    Collection<ConsumerGroupListing> listed = admin.listConsumerGroups().all().get(TIMEOUT_S, TimeUnit.SECONDS);
                    ConsumerGroupListing l = listed.stream().filter(g -> g.groupId().equals(group)).findFirst()
                            .orElseThrow(() -> new AssertionError(group + " not in listConsumerGroups: " + listed));
                    check(l.groupState().equals(Optional.of(GroupState.STABLE)), "listed state %s", l.groupState());
                    check(!l.isSimpleConsumerGroup(), "listed as a simple consumer group: %s", l);
                    Collection<ConsumerGroupListing> empty = admin.listConsumerGroups(
                            new ListConsumerGroupsOptions().inGroupStates(Set.of(GroupState.EMPTY))).all().get(TIMEOUT_S, TimeUnit.SECONDS);
                    check(empty.stream().noneMatch(g -> g.groupId().equals(group)), "a Stable group listed under state EMPTY: %s", empty);
                    Collection<GroupListing> groups = admin.listGroups(ListGroupsOptions.forConsumerGroups()).all()
                            .get(TIMEOUT_S, TimeUnit.SECONDS);
                    GroupListing gl = groups.stream().filter(g -> g.groupId().equals(group)).findFirst()
                            .orElseThrow(() -> new AssertionError(group + " not in listGroups: " + groups));
                    check(gl.type().equals(Optional.of(GroupType.CLASSIC)), "listGroups type %s", gl.type());
                    check("consumer".equals(gl.protocol()), "listGroups protocol type %s", gl.protocol());
                });

                step("listConsumerGroupOffsets: 4/20/7 with their metadata", () -> {
                    Map<Integer, OffsetAndMetadata> got = groupOffsets(admin, group, topic);
                    check(got.size() == partitions, "offsets %s", got);
                    for (int p = 0; p < partitions; p++) {
                        OffsetAndMetadata om = got.get(p);
                        check(om.offset() == committed[p] && ("meta-" + p).equals(om.metadata()),
                                "partition %d: %s, want %d/meta-%d", p, om, committed[p], p);
                    }
                });

                step("lag = listOffsets(latest) - committed = produced - consumed-and-committed", () -> {
                    Map<Integer, Long> lag = lag(admin, group, topic, partitions);
                    check(lag.equals(longs(10 - 4, 20 - 20, 30 - 7)), "lag %s, want {0=6, 1=0, 2=23}", lag);
                    produce(bootstrap, topic, "b", new int[] {5, 5, 5});
                    lag = lag(admin, group, topic, partitions);
                    check(lag.equals(longs(15 - 4, 25 - 20, 35 - 7)), "lag after 5 more each %s, want {0=11, 1=5, 2=28}", lag);
                });

                step("alterConsumerGroupOffsets is refused while the group has a member", () -> {
                    Throwable e = failureOf(admin.alterConsumerGroupOffsets(group,
                            Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(1))).all());
                    check(e instanceof UnknownMemberIdException, "want UnknownMemberIdException, got %s", e);
                    check(committedOffsets(admin, group, topic).equals(longs(committed)), "offsets changed: %s",
                            committedOffsets(admin, group, topic));
                });

                step("deleteConsumerGroupOffsets is refused for a topic the group consumes", () -> {
                    Throwable e = failureOf(admin.deleteConsumerGroupOffsets(group, Set.of(new TopicPartition(topic, 2))).all());
                    check(e instanceof GroupSubscribedToTopicException, "want GroupSubscribedToTopicException, got %s", e);
                    check(committedOffsets(admin, group, topic).equals(longs(committed)), "offsets changed: %s",
                            committedOffsets(admin, group, topic));
                });

                step("a closed static member stays in the group (no LeaveGroup)", () -> {
                    consumer.close(Duration.ofSeconds(TIMEOUT_S));
                    ConsumerGroupDescription d = describe(admin, group);
                    check(d.members().size() == 1, "members after close: %s", d.members());
                    check(d.members().iterator().next().groupInstanceId().equals(Optional.of(instance)), "member %s", d.members());
                });
                closed = true;

                boolean removed = step("removeMembersFromConsumerGroup(static member) empties the group", () -> {
                    var res = admin.removeMembersFromConsumerGroup(group,
                            new RemoveMembersFromConsumerGroupOptions(List.of(new MemberToRemove(instance))));
                    res.all().get(TIMEOUT_S, TimeUnit.SECONDS);
                    res.memberResult(new MemberToRemove(instance)).get(TIMEOUT_S, TimeUnit.SECONDS);
                    ConsumerGroupDescription d = describe(admin, group);
                    check(d.members().isEmpty(), "members after removal: %s", d.members());
                    check(d.groupState() == GroupState.EMPTY, "state after removal %s", d.groupState());
                    // Removing it again: it is no longer known.
                    Throwable e = failureOf(admin.removeMembersFromConsumerGroup(group,
                            new RemoveMembersFromConsumerGroupOptions(List.of(new MemberToRemove(instance)))).all());
                    check(e != null, "removing an unknown static member succeeded");
                    check(committedOffsets(admin, group, topic).equals(longs(committed)), "offsets changed: %s",
                            committedOffsets(admin, group, topic));
                });
                if (!removed) {
                    return;
                }

                step("alterConsumerGroupOffsets on the empty group", () -> {
                    admin.alterConsumerGroupOffsets(group, Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(8, "altered")))
                            .all().get(TIMEOUT_S, TimeUnit.SECONDS);
                    Map<Integer, OffsetAndMetadata> got = groupOffsets(admin, group, topic);
                    check(got.get(0).offset() == 8 && "altered".equals(got.get(0).metadata()), "partition 0: %s", got.get(0));
                    check(got.get(1).offset() == 20 && got.get(2).offset() == 7, "other partitions changed: %s", got);
                    Map<Integer, Long> lag = lag(admin, group, topic, partitions);
                    check(lag.equals(longs(15 - 8, 25 - 20, 35 - 7)), "lag %s", lag);
                });

                step("deleteConsumerGroupOffsets on the empty group", () -> {
                    var res = admin.deleteConsumerGroupOffsets(group, Set.of(new TopicPartition(topic, 1)));
                    res.all().get(TIMEOUT_S, TimeUnit.SECONDS);
                    res.partitionResult(new TopicPartition(topic, 1)).get(TIMEOUT_S, TimeUnit.SECONDS);
                    Map<Integer, Long> got = committedOffsets(admin, group, topic);
                    check(got.equals(Map.of(0, 8L, 2, 7L)), "offsets after deleting partition 1: %s", got);
                });

                step("a new member resumes at the altered offsets (partition 1 from earliest)", () -> {
                    Properties dp = (Properties) cp.clone();
                    dp.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
                    dp.put(ConsumerConfig.CLIENT_ID_CONFIG, "groups-admin-dynamic");
                    Map<Integer, Long> first = new TreeMap<>();
                    int n = 0;
                    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(dp)) {
                        c.subscribe(List.of(topic));
                        long deadline = System.currentTimeMillis() + 60_000;
                        // 15-8 + 25-0 + 35-7 records remain from those offsets.
                        while (n < 7 + 25 + 28 && System.currentTimeMillis() < deadline) {
                            for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                                first.putIfAbsent(r.partition(), r.offset());
                                n++;
                            }
                        }
                        c.commitSync();
                    }
                    check(first.equals(longs(8, 0, 7)), "first offsets consumed per partition %s, want {0=8, 1=0, 2=7}", first);
                    check(n == 60, "consumed %d records, want 60", n);
                    ConsumerGroupDescription d = describe(admin, group);
                    check(d.members().isEmpty() && d.groupState() == GroupState.EMPTY,
                            "a closed dynamic member leaves: %s", d);
                    check(lag(admin, group, topic, partitions).equals(longs(0, 0, 0)), "lag after consuming everything %s",
                            lag(admin, group, topic, partitions));
                });

                step("deleteConsumerGroups removes the group and its offsets", () -> {
                    admin.deleteConsumerGroups(List.of(group)).all().get(TIMEOUT_S, TimeUnit.SECONDS);
                    Collection<ConsumerGroupListing> listed = admin.listConsumerGroups().all().get(TIMEOUT_S, TimeUnit.SECONDS);
                    check(listed.stream().noneMatch(g -> g.groupId().equals(group)), "still listed: %s", listed);
                    check(committedOffsets(admin, group, topic).isEmpty(), "offsets left: %s", committedOffsets(admin, group, topic));
                });
            } finally {
                if (!closed) {
                    consumer.close(Duration.ofSeconds(5));
                }
            }
        }
    }
}
