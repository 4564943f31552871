//! Transactions with rdkafka (librdkafka 2.12) against the real binary.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use protocol_tests::{read_payloads, BrokerProcess};
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer, DefaultProducerContext};

fn txn_producer(bootstrap: &str, id: &str) -> ThreadedProducer<DefaultProducerContext> {
    let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("transactional.id", id)
        .set("transaction.timeout.ms", "10000")
        .create()
        .expect("producer");
    p.init_transactions(Duration::from_secs(30)).expect("init_transactions");
    p
}

fn read_all(bootstrap: &str, topic: &str, isolation: &str, expect_at_least: usize) -> Vec<String> {
    read_payloads(bootstrap, topic, 2, isolation, expect_at_least, Duration::from_secs(20))
}

/// Acceptance (issue 4, 2 and 3): commit and abort interleaved; read_committed
/// sees only committed records, read_uncommitted sees both, neither sees
/// control records; a second producer with the same transactional.id fences
/// the first.
#[test]
fn commit_abort_interleaved_and_fencing() {
    let broker = BrokerProcess::start_with(&["num.partitions=2"]);
    let bs = broker.bootstrap();
    let p = txn_producer(&bs, "tx-a");
    let mut committed = HashSet::new();
    let mut aborted = HashSet::new();
    for round in 0..6 {
        p.begin_transaction().expect("begin");
        for i in 0..50 {
            let v = format!("r{round}-m{i}");
            let key = format!("{i}");
            p.send(BaseRecord::to("txn-out").key(&key).payload(&v)).expect("send");
            if round % 2 == 0 { committed.insert(v) } else { aborted.insert(v) };
        }
        if round % 2 == 0 {
            p.commit_transaction(Duration::from_secs(30)).expect("commit");
        } else {
            // Flush first: librdkafka purges unsent messages on abort, and we want them in the log.
            p.flush(Duration::from_secs(30)).expect("flush");
            p.abort_transaction(Duration::from_secs(30)).expect("abort");
        }
    }
    let rc: HashSet<String> = read_all(&bs, "txn-out", "read_committed", committed.len()).into_iter().collect();
    assert_eq!(rc, committed, "read_committed sees exactly the committed records");
    let ru: HashSet<String> = read_all(&bs, "txn-out", "read_uncommitted", committed.len() + aborted.len()).into_iter().collect();
    let all: HashSet<String> = committed.union(&aborted).cloned().collect();
    assert_eq!(ru, all, "read_uncommitted sees committed and aborted records, and no control records");

    // Fencing: a new instance with the same transactional.id.
    p.begin_transaction().expect("begin");
    p.send(BaseRecord::to("txn-out").key("z").payload("zombie-1")).expect("send");
    let p2 = txn_producer(&bs, "tx-a");
    p2.begin_transaction().expect("begin p2");
    p2.send(BaseRecord::to("txn-out").key("z").payload("new-1")).expect("send p2");
    p2.commit_transaction(Duration::from_secs(30)).expect("p2 commits");
    let err = p.commit_transaction(Duration::from_secs(10)).expect_err("zombie must be fenced");
    let fenced = match &err {
        KafkaError::Transaction(e) => e.is_fatal() || matches!(e.code(), RDKafkaErrorCode::ProducerFenced | RDKafkaErrorCode::InvalidProducerEpoch),
        _ => false,
    };
    assert!(fenced, "expected a fencing error, got {err:?}");
    let rc: Vec<String> = read_all(&bs, "txn-out", "read_committed", committed.len() + 1);
    assert!(rc.contains(&"new-1".to_string()));
    assert!(!rc.contains(&"zombie-1".to_string()), "the fenced producer's record is never committed");
}

/// Acceptance (issue 4, 4): the broker restarts with a transaction open; the
/// transaction is aborted after transaction.timeout.ms, so read_committed
/// consumers get past it.
#[test]
fn restart_with_open_transaction_times_out() {
    let mut broker = BrokerProcess::start_with(&["num.partitions=2"]);
    let bs = broker.bootstrap();
    {
        let plain: ThreadedProducer<DefaultProducerContext> =
            ClientConfig::new().set("bootstrap.servers", &bs).create().expect("plain producer");
        plain.send(BaseRecord::to("txn-restart").key("a").payload("before")).expect("send");
        plain.flush(Duration::from_secs(10)).expect("flush");
    }
    let p = txn_producer(&bs, "tx-restart");
    p.begin_transaction().expect("begin");
    p.send(BaseRecord::to("txn-restart").key("a").payload("in-flight")).expect("send");
    p.flush(Duration::from_secs(10)).expect("flush");
    std::mem::forget(p); // never commits: the client process "dies" with the transaction open
    broker.kill9();
    broker.start_again();
    {
        let plain: ThreadedProducer<DefaultProducerContext> =
            ClientConfig::new().set("bootstrap.servers", &bs).create().expect("plain producer");
        plain.send(BaseRecord::to("txn-restart").key("a").payload("after")).expect("send");
        plain.flush(Duration::from_secs(10)).expect("flush");
    }
    // transaction.timeout.ms is 10 s; read_committed must see "after" within that (plus slack).
    let start = Instant::now();
    let got = read_all(&bs, "txn-restart", "read_committed", 2);
    assert!(got.contains(&"before".to_string()) && got.contains(&"after".to_string()), "got {got:?}");
    assert!(!got.contains(&"in-flight".to_string()), "the open transaction was aborted, not committed");
    assert!(start.elapsed() < Duration::from_secs(20));
}
