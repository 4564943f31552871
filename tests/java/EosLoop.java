// A consume-transform-produce loop with exactly-once semantics (kafka-clients
// 4.3), the way Kafka's own documentation writes it: a read_committed
// consumer in a group with auto-commit off, a transactional producer, and for
// each poll one transaction holding the transformed records and the
// consumer's offsets (sendOffsetsToTransaction with consumer.groupMetadata()).
//
// Usage: java -cp <classpath> EosLoop BOOTSTRAP IN_TOPIC OUT_TOPIC GROUP TXN_ID RUN SLEEP_MS
//
// tests/test_java_transactions.py starts it, kills it with SIGKILL at random
// points and starts it again, ten times, then lets it finish. It prints:
//   INIT <producerId-independent marker>   after initTransactions
//   COMMITTED <n> <total>                 after each committed transaction
//   DONE <total>                          when its position is at the end of every input partition
// and exits 0 after DONE; any client exception is printed and exits 1.
//
// Input values are "in-<id>"; the output record for one has the same key and
// the value "out-<id>|run<RUN>", so the test can count each input id in the
// output. SLEEP_MS is "work" between the sends and the commit: a window in
// which a kill leaves the transaction open, with records already in the log.

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class EosLoop {
    public static void main(String[] args) throws Exception {
        if (args.length != 7) {
            System.err.println("usage: EosLoop BOOTSTRAP IN_TOPIC OUT_TOPIC GROUP TXN_ID RUN SLEEP_MS");
            System.exit(2);
        }
        String bootstrap = args[0];
        String in = args[1];
        String out = args[2];
        String group = args[3];
        String txnId = args[4];
        String run = args[5];
        long sleepMs = Long.parseLong(args[6]);

        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        pp.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
        pp.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "10000");
        pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
        pp.put(ProducerConfig.LINGER_MS_CONFIG, "1");
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());

        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        cp.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        // Static membership: the restarted instance takes the killed one's
        // place at once instead of waiting for its session to expire.
        cp.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "eos-loop-instance");
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cp.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "25");
        cp.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "30000");
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());

        long total = 0;
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp);
             KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
            // First fence any earlier instance (and abort its open transaction),
            // then read the committed offsets.
            producer.initTransactions();
            System.out.println("INIT " + txnId);
            System.out.flush();

            List<PartitionInfo> parts = consumer.partitionsFor(in, Duration.ofSeconds(30));
            Set<TopicPartition> all = new HashSet<>();
            for (PartitionInfo p : parts) {
                all.add(new TopicPartition(in, p.partition()));
            }
            consumer.subscribe(List.of(in));

            while (true) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
                if (records.isEmpty()) {
                    if (atEnd(consumer, all)) {
                        break;
                    }
                    continue;
                }
                producer.beginTransaction();
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                for (ConsumerRecord<String, String> r : records) {
                    String v = r.value();
                    if (v == null || !v.startsWith("in-")) {
                        throw new IllegalStateException("unexpected input record " + r);
                    }
                    producer.send(new ProducerRecord<>(out, r.key(), "out-" + v.substring(3) + "|run" + run));
                    offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                }
                if (sleepMs > 0) {
                    producer.flush();
                    Thread.sleep(sleepMs);
                }
                producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
                producer.commitTransaction();
                total += records.count();
                System.out.println("COMMITTED " + records.count() + " " + total);
                System.out.flush();
            }
        } catch (Exception e) {
            System.out.println("ERROR " + e);
            e.printStackTrace(System.out);
            System.out.flush();
            System.exit(1);
        }
        System.out.println("DONE " + total);
        System.out.flush();
        System.exit(0);
    }

    /** Whether the consumer owns every input partition and stands at its end (the LSO, read_committed). */
    static boolean atEnd(KafkaConsumer<String, String> consumer, Set<TopicPartition> all) {
        Set<TopicPartition> assigned = consumer.assignment();
        if (!assigned.equals(all)) {
            return false;
        }
        Map<TopicPartition, Long> ends = consumer.endOffsets(all, Duration.ofSeconds(30));
        for (TopicPartition tp : all) {
            if (consumer.position(tp, Duration.ofSeconds(30)) < ends.get(tp)) {
                return false;
            }
        }
        return true;
    }
}
