//! Transactions in a 3-broker cluster: the transaction coordinator writes
//! commit/abort markers into partitions other brokers lead (WriteTxnMarkers),
//! and a read_committed consumer sees exactly the committed records.

use std::collections::BTreeSet;
use std::time::Duration;

use protocol_tests::cluster::Cluster;
use protocol_tests::read_payloads;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

const TOPIC: &str = "txn-spread";
const PARTITIONS: i32 = 3;

fn read_all(bootstrap: &str, isolation: &str, expect: usize) -> Vec<String> {
    read_payloads(bootstrap, TOPIC, PARTITIONS, isolation, expect, Duration::from_secs(60))
}

#[test]
fn markers_reach_partitions_led_by_other_brokers() {
    let mut cluster = Cluster::builder(3).name("txn-spread").start();
    cluster.wait_ready(3);
    // Replication factor 1: each partition lives on (and is led by) one broker,
    // so at most one of them is on the transaction coordinator.
    // min.insync.replicas=1: the cluster default of 2 cannot be met with one replica.
    cluster.create_topic(TOPIC, PARTITIONS, 1, &[("min.insync.replicas", "1")]);
    let leaders: BTreeSet<i32> = (0..PARTITIONS).filter_map(|p| cluster.leader_of(TOPIC, p)).collect();
    assert_eq!(leaders.len(), 3, "partitions spread over the three brokers");
    let bs = cluster.bootstrap();
    let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &bs)
        .set("transactional.id", "spread-1")
        .set("transaction.timeout.ms", "20000")
        .create()
        .expect("producer");
    p.init_transactions(Duration::from_secs(60)).expect("init_transactions");
    let mut committed = BTreeSet::new();
    for round in 0..4 {
        p.begin_transaction().expect("begin");
        for i in 0..30 {
            let v = format!("r{round}-m{i}");
            p.send(BaseRecord::<(), _>::to(TOPIC).partition(i % PARTITIONS).payload(&v)).expect("send");
            if round % 2 == 0 {
                committed.insert(v);
            }
        }
        if round % 2 == 0 {
            p.commit_transaction(Duration::from_secs(60)).expect("commit");
        } else {
            p.flush(Duration::from_secs(60)).expect("flush");
            p.abort_transaction(Duration::from_secs(60)).expect("abort");
        }
    }
    let seen: Vec<String> = read_all(&bs, "read_committed", committed.len());
    let seen_set: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), seen_set.len(), "no duplicates under read_committed");
    assert_eq!(seen_set, committed, "read_committed sees exactly the committed records");
    let all = read_all(&bs, "read_uncommitted", 120);
    assert_eq!(all.len(), 120, "read_uncommitted sees committed and aborted data records, no markers");
    // Every partition ends with a marker after its last data batch: the log
    // end is past the 40 data records each holds (4 rounds x 10).
    for part in 0..PARTITIONS {
        let leader = cluster.leader_of(TOPIC, part).expect("leader");
        let probe = cluster.fetch_probe(leader, TOPIC, part).expect("probe");
        assert!(probe.1 >= 44, "partition {part}: high watermark {} includes 4 markers", probe.1);
    }
}
