// Long-running Java clients (kafka-clients 4.3) for the cluster failover test
// (tests/test_cluster_clients.py): they keep going through a leader change
// without being restarted, and report everything on stdout for the test to check.
//
// Usage:
//   java -cp <classpath> ClusterClient produce BOOTSTRAP TOPIC
//   java -cp <classpath> ClusterClient consume BOOTSTRAP TOPIC
//
// Both run until stdin is closed or reads "stop", then shut down and exit 0.
// One line per event, flushed at once:
//   producer (acks=all, idempotent; key n, value "java-<n>", one every ~5 ms):
//     ACK <n> <partition> <offset>       the broker acknowledged message n
//     ERR <n> <exception>                message n failed for good
//     PROGRESS sent=.. acked=.. failed=..  every 2 s
//     DONE sent=.. acked=.. failed=..    after flush and close
//   consumer (every partition assigned from the beginning, no group):
//     REC <n> <partition> <offset>       for values "java-<n>" (others are skipped:
//                                        the topic is shared with kcat)
//     PROGRESS records=..                every 2 s
//     DONE records=..

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class ClusterClient {
    static final String PREFIX = "java-";
    static final AtomicBoolean stop = new AtomicBoolean(false);

    static synchronized void out(String line) {
        System.out.println(line);
        System.out.flush();
    }

    /** Sets `stop` when stdin reaches EOF or a line says "stop". */
    static void watchStdin() {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.trim().equals("stop")) {
                        break;
                    }
                }
            } catch (Exception e) {
                // EOF or a broken pipe: either way, stop.
            }
            stop.set(true);
        }, "stdin-watcher");
        t.setDaemon(true);
        t.start();
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3 || !(args[0].equals("produce") || args[0].equals("consume"))) {
            System.err.println("usage: ClusterClient produce|consume BOOTSTRAP TOPIC");
            System.exit(2);
        }
        watchStdin();
        if (args[0].equals("produce")) {
            produce(args[1], args[2]);
        } else {
            consume(args[1], args[2]);
        }
        System.exit(0);
    }

    static void produce(String bootstrap, String topic) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        // Ride out an election (session timeout 3 s) with room to spare; a
        // record that still fails is reported as ERR, not acknowledged.
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "120000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "60000");
        AtomicLong acked = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        long sent = 0;
        long lastProgress = System.nanoTime();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            while (!stop.get()) {
                final long n = sent;
                try {
                    producer.send(new ProducerRecord<>(topic, Long.toString(n), PREFIX + n), (md, e) -> {
                        if (e == null) {
                            acked.incrementAndGet();
                            out("ACK " + n + " " + md.partition() + " " + md.offset());
                        } else {
                            failed.incrementAndGet();
                            out("ERR " + n + " " + e.toString().replace('\n', ' '));
                        }
                    });
                } catch (Exception e) {
                    failed.incrementAndGet();
                    out("ERR " + n + " " + e.toString().replace('\n', ' '));
                }
                sent++;
                if (System.nanoTime() - lastProgress > 2_000_000_000L) {
                    out("PROGRESS sent=" + sent + " acked=" + acked.get() + " failed=" + failed.get());
                    lastProgress = System.nanoTime();
                }
                Thread.sleep(5);
            }
            producer.flush();
            producer.close(Duration.ofSeconds(60));
        }
        out("DONE sent=" + sent + " acked=" + acked.get() + " failed=" + failed.get());
    }

    static void consume(String bootstrap, String topic) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        long records = 0;
        long lastProgress = System.nanoTime();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            List<TopicPartition> parts = new ArrayList<>();
            for (PartitionInfo info : consumer.partitionsFor(topic, Duration.ofSeconds(60))) {
                parts.add(new TopicPartition(topic, info.partition()));
            }
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            out("ASSIGNED " + parts);
            while (!stop.get()) {
                ConsumerRecords<String, String> batch = consumer.poll(Duration.ofMillis(200));
                for (ConsumerRecord<String, String> r : batch) {
                    String v = r.value();
                    if (v != null && v.startsWith(PREFIX)) {
                        records++;
                        out("REC " + v.substring(PREFIX.length()) + " " + r.partition() + " " + r.offset());
                    }
                }
                if (System.nanoTime() - lastProgress > 2_000_000_000L) {
                    out("PROGRESS records=" + records);
                    lastProgress = System.nanoTime();
                }
            }
        }
        out("DONE records=" + records);
    }
}
