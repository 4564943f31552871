// Transactional producer fencing and the transaction admin APIs with the Java
// client (kafka-clients 4.3).
//
// Three KafkaProducer instances share one transactional.id, one after another:
//   A: initTransactions, begins, sends "a-1" to partition 0.
//      AdminClient listTransactions/describeTransactions show the id Ongoing
//      with A's producer id and partition 0; describeProducers on partition 0
//      shows that producer with an open transaction starting at "a-1".
//   B: initTransactions with the same id. Same producer id, higher epoch, the
//      transaction no longer Ongoing. A's next send (to partition 1, not yet in
//      its transaction) and commitTransaction fail with ProducerFencedException.
//      B sends "b-1" and commits (CompleteCommit); then B begins again and
//      sends "b-2" to partition 0.
//   C: initTransactions. B's next send to partition 0 (already in its
//      transaction) and commitTransaction fail: ProducerFencedException, or
//      (KIP-588: a produce with the old epoch is rejected with
//      INVALID_PRODUCER_EPOCH) InvalidProducerEpochException and then
//      ProducerFencedException from abortTransaction. C sends "c-1" and commits.
//   A read_committed consumer sees exactly b-1 and c-1; read_uncommitted also
//   sees the aborted a-1 and b-2; describeProducers shows no open transaction.
//
// Usage: java -cp <classpath> TxnFencing BOOTSTRAP TOPIC TXN_ID
// Prints each step; exits 0 and prints "OK" when every step passed, 1 otherwise.

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListTransactionsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class TxnFencing {
    static final long TIMEOUT_S = 30;
    static final int TXN_TIMEOUT_MS = 20000;

    interface Step {
        void run() throws Exception;
    }

    static final List<String> failures = new ArrayList<>();

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

    static String bootstrap;
    static String topic;
    static String txnId;
    static TopicPartition p0;
    static TopicPartition p1;

    static KafkaProducer<String, String> producer() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, String.valueOf(TXN_TIMEOUT_MS));
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "20000");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        return new KafkaProducer<>(p);
    }

    static RecordMetadata sendSync(KafkaProducer<String, String> p, TopicPartition tp, String value) throws Exception {
        return p.send(new ProducerRecord<>(tp.topic(), tp.partition(), value, value)).get(TIMEOUT_S, TimeUnit.SECONDS);
    }

    static TransactionDescription describe(Admin admin) throws Exception {
        return admin.describeTransactions(List.of(txnId)).description(txnId).get(TIMEOUT_S, TimeUnit.SECONDS);
    }

    static TransactionListing listed(Admin admin, ListTransactionsOptions opts) throws Exception {
        Collection<TransactionListing> all = admin.listTransactions(opts).all().get(TIMEOUT_S, TimeUnit.SECONDS);
        for (TransactionListing l : all) {
            if (l.transactionalId().equals(txnId)) {
                return l;
            }
        }
        return null;
    }

    static boolean causedBy(Throwable e, Class<? extends Throwable> cls) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (cls.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    /** The failure of a send's future, or null if it succeeded. */
    static Throwable sendFailure(Future<RecordMetadata> f) throws Exception {
        try {
            f.get(TIMEOUT_S, TimeUnit.SECONDS);
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        }
    }

    static List<String> readAll(String isolation) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        List<String> out = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            List<TopicPartition> tps = List.of(p0, p1);
            c.assign(tps);
            c.seekToBeginning(tps);
            // endOffsets: the last stable offset for read_committed, the high watermark otherwise.
            Map<TopicPartition, Long> ends = c.endOffsets(tps, Duration.ofSeconds(TIMEOUT_S));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
            while (System.nanoTime() < deadline) {
                boolean done = true;
                for (TopicPartition tp : tps) {
                    done &= c.position(tp) >= ends.get(tp);
                }
                if (done) {
                    break;
                }
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    out.add(r.value());
                }
            }
            for (TopicPartition tp : tps) {
                check(c.position(tp) >= ends.get(tp), "%s consumer stuck at %d on %s, end offset %d",
                        isolation, c.position(tp), tp, ends.get(tp));
            }
        }
        return out;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: TxnFencing BOOTSTRAP TOPIC TXN_ID");
            System.exit(2);
        }
        bootstrap = args[0];
        topic = args[1];
        txnId = args[2];
        p0 = new TopicPartition(topic, 0);
        p1 = new TopicPartition(topic, 1);

        Properties adminProps = new Properties();
        adminProps.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        adminProps.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        adminProps.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "20000");

        try (Admin admin = Admin.create(adminProps)) {
            if (!step("admin.createTopics(2 partitions)", () ->
                    admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get(TIMEOUT_S, TimeUnit.SECONDS))) {
                finish();
            }
            Node node = admin.describeCluster().nodes().get(TIMEOUT_S, TimeUnit.SECONDS).iterator().next();

            KafkaProducer<String, String> a = producer();
            long[] pidEpoch = new long[2];
            long[] a1Offset = {-1};
            boolean aOpen = step("A: initTransactions, beginTransaction, send a-1 to partition 0", () -> {
                a.initTransactions();
                a.beginTransaction();
                a1Offset[0] = sendSync(a, p0, "a-1").offset();
            });
            if (!aOpen) {
                finish();
            }

            step("admin.describeTransactions while A's transaction is open: Ongoing, A's producer, partition 0", () -> {
                TransactionDescription d = describe(admin);
                System.out.println("     " + d);
                check(d.state() == TransactionState.ONGOING, "state %s, want ONGOING", d.state());
                check(d.producerId() >= 0, "producer id %d", d.producerId());
                check(d.producerEpoch() >= 0, "producer epoch %d", d.producerEpoch());
                check(d.coordinatorId() == node.id(), "coordinator %d, the only broker is %d", d.coordinatorId(), node.id());
                check(d.transactionTimeoutMs() == TXN_TIMEOUT_MS, "transaction timeout %d, the producer asked for %d",
                        d.transactionTimeoutMs(), TXN_TIMEOUT_MS);
                check(d.transactionStartTimeMs().isPresent()
                        && Math.abs(d.transactionStartTimeMs().getAsLong() - System.currentTimeMillis()) < 60_000,
                        "transaction start time %s is not about now", d.transactionStartTimeMs());
                check(d.topicPartitions().equals(Set.of(p0)), "partitions %s, want [%s]", d.topicPartitions(), p0);
                pidEpoch[0] = d.producerId();
                pidEpoch[1] = d.producerEpoch();
            });

            step("admin.listTransactions shows the id Ongoing with the same producer id (unfiltered, by state, by producer id)", () -> {
                TransactionListing l = listed(admin, new ListTransactionsOptions());
                System.out.println("     " + l);
                check(l != null, "listTransactions does not list %s", txnId);
                check(l.state() == TransactionState.ONGOING, "listed state %s, want ONGOING", l.state());
                check(l.producerId() == pidEpoch[0], "listed producer id %d, describeTransactions says %d", l.producerId(), pidEpoch[0]);
                TransactionListing byState = listed(admin, new ListTransactionsOptions().filterStates(List.of(TransactionState.ONGOING)));
                check(byState != null, "listTransactions(filterStates=ONGOING) does not list %s", txnId);
                TransactionListing otherState = listed(admin, new ListTransactionsOptions().filterStates(List.of(TransactionState.COMPLETE_COMMIT)));
                check(otherState == null, "listTransactions(filterStates=COMPLETE_COMMIT) lists the open transaction: %s", otherState);
                TransactionListing byPid = listed(admin, new ListTransactionsOptions().filterProducerIds(List.of(pidEpoch[0])));
                check(byPid != null, "listTransactions(filterProducerIds=%d) does not list %s", pidEpoch[0], txnId);
            });

            step("admin.describeProducers on partition 0 shows A with an open transaction starting at a-1", () -> {
                List<ProducerState> ps = admin.describeProducers(List.of(p0)).partitionResult(p0)
                        .get(TIMEOUT_S, TimeUnit.SECONDS).activeProducers();
                System.out.println("     " + ps);
                ProducerState mine = ps.stream().filter(s -> s.producerId() == pidEpoch[0]).findFirst().orElse(null);
                check(mine != null, "producer %d not among the active producers %s", pidEpoch[0], ps);
                check(mine.producerEpoch() == pidEpoch[1], "epoch %d, want %d", mine.producerEpoch(), pidEpoch[1]);
                check(mine.currentTransactionStartOffset().isPresent()
                        && mine.currentTransactionStartOffset().getAsLong() == a1Offset[0],
                        "current transaction start offset %s, want %d (a-1)", mine.currentTransactionStartOffset(), a1Offset[0]);
            });

            KafkaProducer<String, String> b = producer();
            long[] epochB = {-1};
            step("B (same transactional.id): initTransactions bumps the epoch, same producer id, A's transaction ended", () -> {
                b.initTransactions();
                TransactionDescription d = describe(admin);
                System.out.println("     " + d);
                check(d.producerId() == pidEpoch[0], "producer id %d, A had %d", d.producerId(), pidEpoch[0]);
                check(d.producerEpoch() > pidEpoch[1], "epoch %d is not above A's %d", d.producerEpoch(), pidEpoch[1]);
                check(d.state() == TransactionState.EMPTY || d.state() == TransactionState.COMPLETE_ABORT,
                        "state %s after the new instance's initTransactions, want EMPTY or COMPLETE_ABORT", d.state());
                check(d.topicPartitions().isEmpty(), "partitions still in the transaction: %s", d.topicPartitions());
                epochB[0] = d.producerEpoch();
            });

            step("A (fenced): next send to partition 1 and commitTransaction fail with ProducerFencedException", () -> {
                Future<RecordMetadata> f;
                try {
                    f = a.send(new ProducerRecord<>(topic, 1, "a-2", "a-2"));
                } catch (ProducerFencedException e) {
                    System.out.println("     send threw " + e);
                    return;
                }
                Throwable commitErr = null;
                try {
                    a.commitTransaction();
                } catch (Exception e) {
                    commitErr = e;
                }
                Throwable sendErr = sendFailure(f);
                System.out.println("     send: " + sendErr + "; commitTransaction: " + commitErr);
                check(commitErr != null, "commitTransaction of the fenced instance succeeded (send: %s)", sendErr);
                check(commitErr instanceof ProducerFencedException,
                        "commitTransaction threw %s, want ProducerFencedException", commitErr);
                check(sendErr != null, "the fenced instance's send succeeded");
                check(causedBy(sendErr, ProducerFencedException.class),
                        "the fenced send failed with %s, want ProducerFencedException", sendErr);
            });
            a.close(Duration.ofSeconds(5));

            step("B: send b-1, commitTransaction; describeTransactions shows CompleteCommit", () -> {
                b.beginTransaction();
                sendSync(b, p0, "b-1");
                b.commitTransaction();
                TransactionDescription d = describe(admin);
                System.out.println("     " + d);
                check(d.state() == TransactionState.COMPLETE_COMMIT, "state %s, want COMPLETE_COMMIT", d.state());
                check(d.producerId() == pidEpoch[0] && d.producerEpoch() == epochB[0],
                        "producer %d epoch %d, want %d epoch %d", d.producerId(), d.producerEpoch(), pidEpoch[0], epochB[0]);
                TransactionListing l = listed(admin, new ListTransactionsOptions().filterStates(List.of(TransactionState.COMPLETE_COMMIT)));
                check(l != null && l.producerId() == pidEpoch[0], "listTransactions(filterStates=COMPLETE_COMMIT): %s", l);
            });

            boolean bOpen = step("B: begin, send b-2 to partition 0", () -> {
                b.beginTransaction();
                sendSync(b, p0, "b-2");
            });

            KafkaProducer<String, String> c = producer();
            step("C (same transactional.id): initTransactions bumps the epoch again", () -> {
                c.initTransactions();
                TransactionDescription d = describe(admin);
                System.out.println("     " + d);
                check(d.producerId() == pidEpoch[0] && d.producerEpoch() > epochB[0],
                        "producer %d epoch %d, want %d with epoch above %d", d.producerId(), d.producerEpoch(), pidEpoch[0], epochB[0]);
            });

            step("B (fenced): next send to partition 0 (already in its transaction) and commit fail; ProducerFencedException at the latest on abort", () -> {
                check(bOpen, "B's transaction was not open");
                Future<RecordMetadata> f;
                Throwable sendErr;
                Throwable commitErr = null;
                try {
                    f = b.send(new ProducerRecord<>(topic, 0, "b-3", "b-3"));
                    try {
                        b.commitTransaction();
                    } catch (Exception e) {
                        commitErr = e;
                    }
                    sendErr = sendFailure(f);
                } catch (ProducerFencedException e) {
                    sendErr = e;
                    commitErr = e;
                }
                System.out.println("     send: " + sendErr + "; commitTransaction: " + commitErr);
                check(commitErr != null, "commitTransaction of the fenced instance succeeded (send: %s)", sendErr);
                check(sendErr != null, "the fenced instance's send succeeded");
                if (commitErr instanceof ProducerFencedException) {
                    return;
                }
                // KIP-588: the stale-epoch produce is INVALID_PRODUCER_EPOCH, an
                // abortable error; the abort then meets the coordinator's fence.
                check(commitErr instanceof InvalidProducerEpochException,
                        "commitTransaction threw %s, want ProducerFencedException or InvalidProducerEpochException", commitErr);
                Throwable abortErr = null;
                try {
                    b.abortTransaction();
                } catch (Exception e) {
                    abortErr = e;
                }
                System.out.println("     abortTransaction: " + abortErr);
                check(abortErr instanceof ProducerFencedException,
                        "abortTransaction after the stale-epoch error threw %s, want ProducerFencedException", abortErr);
            });
            b.close(Duration.ofSeconds(5));

            step("C: send c-1 to partition 1, commitTransaction", () -> {
                c.beginTransaction();
                sendSync(c, p1, "c-1");
                c.commitTransaction();
            });
            c.close(Duration.ofSeconds(10));

            step("read_committed consumer sees exactly b-1 and c-1", () -> {
                List<String> got = readAll("read_committed");
                System.out.println("     " + got);
                check(new HashSet<>(got).equals(Set.of("b-1", "c-1")) && got.size() == 2,
                        "read_committed read %s, want [b-1, c-1]", got);
            });

            step("read_uncommitted consumer also sees the aborted a-1 and b-2, and no fenced send", () -> {
                List<String> got = readAll("read_uncommitted");
                System.out.println("     " + got);
                check(new HashSet<>(got).equals(Set.of("a-1", "b-1", "b-2", "c-1")) && got.size() == 4,
                        "read_uncommitted read %s, want a-1, b-1, b-2, c-1 once each", got);
            });

            step("describeTransactions/describeProducers: CompleteCommit, no open transaction on either partition", () -> {
                TransactionDescription d = describe(admin);
                System.out.println("     " + d);
                check(d.state() == TransactionState.COMPLETE_COMMIT, "state %s, want COMPLETE_COMMIT", d.state());
                for (TopicPartition tp : List.of(p0, p1)) {
                    List<ProducerState> ps = admin.describeProducers(List.of(tp)).partitionResult(tp)
                            .get(TIMEOUT_S, TimeUnit.SECONDS).activeProducers();
                    System.out.println("     " + tp + ": " + ps);
                    for (ProducerState s : ps) {
                        check(s.currentTransactionStartOffset().isEmpty(),
                                "%s still has an open transaction: %s", tp, s);
                    }
                }
            });

            step("describeTransactions of an unknown transactional id fails", () -> {
                try {
                    TransactionDescription d = admin.describeTransactions(List.of(txnId + "-unknown"))
                            .description(txnId + "-unknown").get(TIMEOUT_S, TimeUnit.SECONDS);
                    throw new AssertionError("described an id nobody used: " + d);
                } catch (ExecutionException e) {
                    System.out.println("     " + e.getCause());
                    check(e.getCause() instanceof org.apache.kafka.common.errors.TransactionalIdNotFoundException,
                            "got %s, want TransactionalIdNotFoundException", e.getCause());
                }
            });
        }
        finish();
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
