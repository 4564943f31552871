//! Replication acceptance tests: 3-node clusters of the real binary
//! (`protocol_tests::cluster`), driven by rdkafka (librdkafka 2.12) and raw
//! requests, through `kill -9`, SIGSTOP/SIGCONT and restarts.
//!
//! The tests take turns (`serial()`): each runs three brokers with 3-second
//! session timeouts, and on a 2-core machine two clusters at once would turn
//! elections into a matter of scheduling luck. Every wait has a deadline and
//! each cluster has a watchdog, so a test that stops making progress fails
//! within minutes and prints every node's log.
//!
//! Run one with its output: `cargo build -p tributary-broker && cargo test -p
//! protocol-tests --test cluster_replication acceptance_1 -- --nocapture`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kafka_protocol::messages::ApiKey;
use protocol_tests::cluster::{
    errors, produce_request, produce_result, read_replica_log, Cluster, Conn, PartitionView, PRODUCE_VERSION,
    SESSION_TIMEOUT,
};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

// --- producing with delivery reports --------------------------------------------

/// What the broker said about each message, keyed by the number in its key.
#[derive(Default)]
struct Deliveries {
    acked: Mutex<HashMap<u64, (i32, i64)>>,
    failed: Mutex<BTreeMap<u64, (Option<RDKafkaErrorCode>, String)>>,
    n_acked: AtomicUsize,
    n_failed: AtomicUsize,
}

impl Deliveries {
    fn acked(&self) -> usize {
        self.n_acked.load(Ordering::SeqCst)
    }
    fn failed(&self) -> usize {
        self.n_failed.load(Ordering::SeqCst)
    }
    fn done(&self) -> usize {
        self.acked() + self.failed()
    }
    fn acked_map(&self) -> HashMap<u64, (i32, i64)> {
        self.acked.lock().expect("lock").clone()
    }
    /// Failures grouped by error, for messages.
    fn failure_summary(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for (code, text) in self.failed.lock().expect("lock").values() {
            *out.entry(format!("{code:?}: {text}")).or_default() += 1;
        }
        out
    }
}

struct Tracking(Arc<Deliveries>);

impl ClientContext for Tracking {}

impl ProducerContext for Tracking {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let number =
            |key: Option<&[u8]>| key.and_then(|k| std::str::from_utf8(k).ok()).and_then(|k| k.parse::<u64>().ok());
        match result {
            Ok(m) => {
                if let Some(n) = number(m.key()) {
                    self.0.acked.lock().expect("lock").insert(n, (m.partition(), m.offset()));
                }
                self.0.n_acked.fetch_add(1, Ordering::SeqCst);
            }
            Err((e, m)) => {
                if let Some(n) = number(m.key()) {
                    self.0.failed.lock().expect("lock").insert(n, (e.rdkafka_error_code(), e.to_string()));
                }
                self.0.n_failed.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

fn tracking_producer(bootstrap: &str, settings: &[(&str, &str)]) -> (ThreadedProducer<Tracking>, Arc<Deliveries>) {
    let d = Arc::new(Deliveries::default());
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", bootstrap)
        // A frozen or dead broker must be given up on in seconds, not the default minute.
        .set("socket.timeout.ms", "10000")
        .set("queue.buffering.max.messages", "200000");
    for (k, v) in settings {
        cfg.set(*k, *v);
    }
    let p = cfg.create_with_context(Tracking(d.clone())).expect("producer");
    (p, d)
}

/// Enqueues one message, waiting while librdkafka's queue is full.
fn enqueue(p: &ThreadedProducer<Tracking>, topic: &str, partition: i32, n: u64, value: &[u8]) {
    let key = n.to_string();
    let mut rec = BaseRecord::to(topic).partition(partition).key(&key).payload(value);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        match p.send(rec) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                assert!(Instant::now() < deadline, "librdkafka's queue stayed full for 5 minutes");
                rec = r;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err((e, _)) => panic!("enqueue message {n}: {e}"),
        }
    }
}

/// Produces `numbers` to one partition, flushes, and returns what happened to them.
fn produce_numbers(
    bootstrap: &str,
    topic: &str,
    partition: i32,
    numbers: std::ops::Range<u64>,
    settings: &[(&str, &str)],
    flush_timeout: Duration,
) -> Arc<Deliveries> {
    let (p, d) = tracking_producer(bootstrap, settings);
    for n in numbers {
        enqueue(&p, topic, partition, n, value_for(n).as_bytes());
    }
    let _ = p.flush(flush_timeout);
    d
}

fn value_for(n: u64) -> String {
    format!("value-{n:010}-{}", "v".repeat(40))
}

fn assert_no_fatal_error(p: &ThreadedProducer<Tracking>) {
    if let Some((code, reason)) = p.client().fatal_error() {
        panic!("the idempotent producer hit a fatal error ({code:?}): {reason}");
    }
}

// --- reading back -------------------------------------------------------------

#[derive(Debug, Clone)]
struct Rec {
    offset: i64,
    key: Vec<u8>,
    value: Vec<u8>,
}

impl Rec {
    fn number(&self) -> Option<u64> {
        std::str::from_utf8(&self.key).ok()?.parse().ok()
    }
}

fn reader(bootstrap: &str) -> BaseConsumer {
    // Partitions are assigned explicitly and nothing is committed; librdkafka
    // still wants a group id for assign().
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "cluster-tests-reader")
        .set("enable.auto.commit", "false")
        .set("socket.timeout.ms", "10000")
        .set("fetch.max.bytes", "8388608")
        .create()
        .expect("consumer")
}

/// The high watermark of a partition as its leader reports it (retried while
/// leadership moves), or `None` after `timeout`.
fn high_watermark(bootstrap: &str, topic: &str, partition: i32, timeout: Duration) -> Option<i64> {
    let c = reader(bootstrap);
    let deadline = Instant::now() + timeout;
    loop {
        match c.fetch_watermarks(topic, partition, Duration::from_secs(10)) {
            Ok((_, hi)) => return Some(hi),
            Err(e) => {
                if Instant::now() > deadline {
                    eprintln!("watermarks of {topic}-{partition}: {e}");
                    return None;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

/// Reads one partition from the beginning up to its high watermark (asked
/// for first); returns the records and that high watermark.
fn read_partition(bootstrap: &str, topic: &str, partition: i32, timeout: Duration) -> (Vec<Rec>, i64) {
    let hw = high_watermark(bootstrap, topic, partition, Duration::from_secs(60))
        .unwrap_or_else(|| panic!("no high watermark for {topic}-{partition} within 60 s"));
    (read_range(bootstrap, topic, partition, hw, timeout), hw)
}

/// Reads offsets [0, end) of one partition.
fn read_range(bootstrap: &str, topic: &str, partition: i32, end: i64, timeout: Duration) -> Vec<Rec> {
    let mut out = Vec::new();
    if end <= 0 {
        return out;
    }
    let c = reader(bootstrap);
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Beginning).expect("tpl");
    c.assign(&tpl).expect("assign");
    let t0 = Instant::now();
    let mut last_print = t0;
    let mut errors = Vec::new();
    while out.last().is_none_or(|r: &Rec| r.offset < end - 1) {
        assert!(
            t0.elapsed() < timeout,
            "{topic}-{partition}: read {} records (last offset {:?}) of [0, {end}) in {timeout:?}; errors: {errors:?}",
            out.len(),
            out.last().map(|r| r.offset)
        );
        match c.poll(Duration::from_millis(500)) {
            None => {}
            Some(Err(e)) if errors.len() < 20 => errors.push(e.to_string()),
            Some(Err(_)) => {}
            Some(Ok(m)) => out.push(Rec {
                offset: m.offset(),
                key: m.key().unwrap_or_default().to_vec(),
                value: m.payload().unwrap_or_default().to_vec(),
            }),
        }
        if last_print.elapsed() > Duration::from_secs(10) {
            eprintln!("  reading {topic}-{partition}: {} of {end} records", out.len());
            last_print = Instant::now();
        }
    }
    out
}

// --- cluster helpers -------------------------------------------------------------

/// The node leading the most partitions of `topic` (lowest id on ties).
fn busiest_leader(c: &mut Cluster, topic: &str, partitions: i32) -> (i32, BTreeMap<i32, usize>) {
    let mut count: BTreeMap<i32, usize> = BTreeMap::new();
    for p in 0..partitions {
        if let Some(l) = c.leader_of(topic, p) {
            *count.entry(l).or_default() += 1;
        }
    }
    let best = count.iter().max_by_key(|(id, n)| (**n, -**id)).map(|(id, _)| *id).expect("some partition has a leader");
    (best, count)
}

/// Java's `String.hashCode` (UTF-16 code units), as Kafka uses to place a group.
fn java_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(u as i32))
}

// --- acceptance 1 -----------------------------------------------------------------

/// 200,000 numbered messages from an idempotent acks=all producer into 6
/// RF-3 partitions while the broker leading most of them is killed (after
/// about a third) and started again (after about two thirds): every
/// acknowledged message is read back exactly once, at the offset it was
/// acknowledged with, in order; no message appears twice; and once all
/// replicas are back in sync the three copies of each partition hold
/// byte-identical batches up to the high watermark.
#[test]
fn acceptance_1_leader_killed_and_restarted_under_idempotent_load() {
    let _serial = serial();
    const N: u64 = 200_000;
    const PARTITIONS: i32 = 6;
    // Bounded in flight, so the kill and the restart land mid-stream.
    const MAX_OUTSTANDING: u64 = 20_000;
    // No delivery report at all for this long = no progress = fail.
    const STALL: Duration = Duration::from_secs(150);
    let topic = "replicated";
    let mut c = Cluster::builder(3).name("acceptance-1").deadline(Duration::from_secs(30 * 60)).start();
    c.wait_ready(3);
    c.create_topic(topic, PARTITIONS, 3, &[]);
    let bootstrap = c.bootstrap();

    let (producer, d) = tracking_producer(
        &bootstrap,
        &[
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("linger.ms", "5"),
            // Long enough to ride out an election; a message that still
            // fails is recorded as not acknowledged.
            ("message.timeout.ms", "180000"),
        ],
    );
    let t0 = Instant::now();
    let mut victim: Option<i32> = None;
    let mut restarted = false;
    let mut last_done = (0usize, Instant::now());
    let mut last_print = Instant::now();
    let progress = |d: &Deliveries, n: u64, note: &str| {
        eprintln!(
            "[acceptance-1] {:>6.1}s enqueued {n:>6} acked {:>6} failed {:>4} {note}",
            t0.elapsed().as_secs_f64(),
            d.acked(),
            d.failed()
        );
    };
    for n in 0..N {
        while n - d.done() as u64 >= MAX_OUTSTANDING {
            let done = d.done();
            if done != last_done.0 {
                last_done = (done, Instant::now());
            }
            assert!(
                last_done.1.elapsed() < STALL,
                "no delivery report for {STALL:?} (enqueued {n}, acked {}, failed {}); partitions: {:?}",
                d.acked(),
                d.failed(),
                (0..PARTITIONS).map(|p| c.partition_view(topic, p)).collect::<Vec<_>>()
            );
            if last_print.elapsed() > Duration::from_secs(5) {
                progress(&d, n, "(waiting for acknowledgements)");
                last_print = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        enqueue(&producer, topic, (n % PARTITIONS as u64) as i32, n, value_for(n).as_bytes());
        if last_print.elapsed() > Duration::from_secs(5) {
            progress(&d, n, "");
            last_print = Instant::now();
        }
        if victim.is_none() && d.acked() as u64 >= N / 3 {
            let (v, leaders) = busiest_leader(&mut c, topic, PARTITIONS);
            progress(&d, n, &format!("-> kill -9 node {v} (leaders per node: {leaders:?})"));
            c.kill9(v);
            victim = Some(v);
        }
        if let (Some(v), false) = (victim, restarted) {
            if d.acked() as u64 >= 2 * N / 3 {
                // Restart only after the controller has moved every
                // leadership away from it, so the failover really happened.
                c.wait_until(&format!("no partition led by the killed node {v}"), Duration::from_secs(90), |c| {
                    let views: Vec<Option<PartitionView>> =
                        (0..PARTITIONS).map(|p| c.partition_view(topic, p)).collect();
                    let live = c.live_nodes();
                    if views.iter().all(|v| v.as_ref().is_some_and(|v| live.contains(&v.leader))) {
                        Ok(())
                    } else {
                        Err(format!("{views:?}"))
                    }
                });
                progress(&d, n, &format!("-> start node {v} again"));
                c.start_again(v);
                restarted = true;
            }
        }
    }
    let victim = victim.expect("the kill happened while producing");
    if !restarted {
        // Too many failures to reach two thirds acknowledged; restart anyway
        // so the replica comparison below has all three copies.
        progress(&d, N, &format!("-> start node {victim} again (late)"));
        c.start_again(victim);
    }
    progress(&d, N, "all enqueued; flushing");
    let flushed = producer.flush(Duration::from_secs(300));
    progress(&d, N, "flushed");
    assert!(flushed.is_ok(), "flush: {flushed:?}: {} messages never got a delivery report", N as usize - d.done());
    assert_no_fatal_error(&producer);
    drop(producer);
    let failures = d.failure_summary();
    if !failures.is_empty() {
        eprintln!("[acceptance-1] {} messages NOT acknowledged: {failures:?}", d.failed());
    }
    assert!(d.acked() as u64 >= N / 2, "only {} of {N} messages acknowledged; failures: {failures:?}", d.acked());
    let acked = d.acked_map();

    // Read every partition to its end.
    let mut hws = BTreeMap::new();
    let mut problems: Vec<String> = Vec::new();
    let mut seen: HashMap<u64, (i32, i64)> = HashMap::new();
    for p in 0..PARTITIONS {
        let (recs, hw) = read_partition(&bootstrap, topic, p, Duration::from_secs(300));
        eprintln!("[acceptance-1] {topic}-{p}: {} records, high watermark {hw}", recs.len());
        hws.insert(p, hw);
        let mut prev: Option<u64> = None;
        for r in &recs {
            let Some(n) = r.number() else {
                problems.push(format!("{topic}-{p}@{}: key {:?} is not a message number", r.offset, r.key));
                continue;
            };
            if r.value != value_for(n).as_bytes() {
                problems.push(format!("{topic}-{p}@{}: message {n} has the wrong value", r.offset));
            }
            if n % PARTITIONS as u64 != p as u64 {
                problems.push(format!("{topic}-{p}@{}: message {n} belongs to partition {}", r.offset, n % 6));
            }
            if let Some(prev) = prev {
                if n <= prev {
                    problems.push(format!("{topic}-{p}@{}: message {n} after message {prev} (out of order)", r.offset));
                }
            }
            prev = Some(n);
            if let Some(first) = seen.insert(n, (p, r.offset)) {
                problems.push(format!("message {n} twice: at {first:?} and at ({p}, {})", r.offset));
            }
        }
    }
    let mut lost = 0usize;
    for (n, at) in &acked {
        match seen.get(n) {
            None => {
                lost += 1;
                if lost <= 20 {
                    problems.push(format!("acknowledged message {n} at {at:?} is missing"));
                }
            }
            Some(got) if got != at => problems.push(format!("message {n} acknowledged at {at:?} but found at {got:?}")),
            Some(_) => {}
        }
    }
    if lost > 20 {
        problems.push(format!("... {lost} acknowledged messages missing in all"));
    }
    let unacked_present = seen.keys().filter(|n| !acked.contains_key(n)).count();
    eprintln!(
        "[acceptance-1] read {} messages: {} acknowledged, {unacked_present} present without an acknowledgement",
        seen.len(),
        acked.len()
    );
    assert!(problems.is_empty(), "{} problems reading back:\n{}", problems.len(), problems.join("\n"));

    // All three replicas in sync again, then compare their files.
    c.wait_isr(topic, PARTITIONS, 3, Duration::from_secs(180));
    let statuses = c.stop_all();
    for (id, st) in &statuses {
        if !st.is_some_and(|s| s.success()) {
            eprintln!("[acceptance-1] WARNING: node {id} did not exit cleanly on SIGTERM: {st:?}");
        }
    }
    let mut mismatches: Vec<String> = Vec::new();
    for (&p, &hw) in &hws {
        let mut copies = Vec::new();
        for id in c.node_ids() {
            let dir = c.partition_dir(id, topic, p);
            let log = read_replica_log(&dir).unwrap_or_else(|e| panic!("node {id}: {e:#}"));
            if !log.problems.is_empty() {
                eprintln!("[acceptance-1] node {id} {topic}-{p}: {:?}", log.problems);
            }
            let below: Vec<_> = log.batches.into_iter().filter(|b| b.last_offset < hw).collect();
            copies.push((id, below));
        }
        // The reference copy covers [0, hw) without gaps.
        let (ref_id, reference) = &copies[0];
        let mut next = 0i64;
        for b in reference {
            if b.base_offset != next {
                mismatches.push(format!(
                    "{topic}-{p} on node {ref_id}: batch at {} where {next} was expected",
                    b.base_offset
                ));
                break;
            }
            next = b.last_offset + 1;
        }
        if next != hw {
            mismatches.push(format!("{topic}-{p} on node {ref_id}: batches end at {next}, high watermark {hw}"));
        }
        for (id, batches) in &copies[1..] {
            if batches.len() != reference.len() {
                mismatches.push(format!(
                    "{topic}-{p}: node {ref_id} has {} batches below {hw}, node {id} has {}",
                    reference.len(),
                    batches.len()
                ));
            }
            if let Some((a, b)) = reference.iter().zip(batches.iter()).find(|(a, b)| a.bytes != b.bytes) {
                mismatches.push(format!(
                    "{topic}-{p}: first differing batch: node {ref_id} base {} epoch {} len {} ({}@{}) vs node {id} base {} epoch {} len {} ({}@{})",
                    a.base_offset,
                    a.partition_leader_epoch,
                    a.bytes.len(),
                    a.file.display(),
                    a.position,
                    b.base_offset,
                    b.partition_leader_epoch,
                    b.bytes.len(),
                    b.file.display(),
                    b.position
                ));
            }
        }
        eprintln!(
            "[acceptance-1] {topic}-{p}: {} batches below high watermark {hw} compared on nodes {:?}",
            reference.len(),
            c.node_ids()
        );
    }
    assert!(mismatches.is_empty(), "replicas differ:\n{}", mismatches.join("\n"));
    eprintln!("[acceptance-1] done in {:.0?}", t0.elapsed());
}

// --- acceptance 3 -----------------------------------------------------------------

/// min.insync.replicas=2 with RF 3: with two of the partition's brokers
/// dead, acks=all writes to it are refused with NOT_ENOUGH_REPLICAS, none is
/// acknowledged and none becomes readable; once one broker is back, acks=all
/// writes succeed again within a minute.
///
/// The cluster has five nodes, each broker and controller, and the topic's
/// three replicas live on three of them. Killing the partition's two
/// followers leaves three of five controllers, so the quorum keeps working:
/// it fences the dead brokers and the leader's ISR shrinks to itself, which
/// is what makes the leader refuse (with a 3-node combined cluster the second
/// kill would also cost the controller quorum, and the ISR could not shrink).
#[test]
fn acceptance_3_min_insync_replicas_refuses_acks_all_with_two_brokers_down() {
    let _serial = serial();
    let topic = "min-isr";
    let mut c = Cluster::builder(5).name("acceptance-3").deadline(Duration::from_secs(15 * 60)).start();
    c.wait_ready(5);
    c.create_topic(topic, 1, 3, &[("min.insync.replicas", "2")]);
    let bootstrap = c.bootstrap();
    let acks_all: &[(&str, &str)] = &[("acks", "all"), ("message.timeout.ms", "30000")];

    let mut committed: BTreeMap<u64, i64> = BTreeMap::new();
    let d = produce_numbers(&bootstrap, topic, 0, 0..20, acks_all, Duration::from_secs(60));
    assert_eq!(d.acked(), 20, "all replicas up: acks=all writes succeed; failures {:?}", d.failure_summary());
    committed.extend(d.acked_map().into_iter().map(|(n, (_, o))| (n, o)));

    let v = c.partition_view(topic, 0).expect("partition view");
    let leader = v.leader;
    let followers: Vec<i32> = v.replicas.iter().copied().filter(|r| *r != leader).collect();
    assert_eq!(followers.len(), 2, "RF 3: {v:?}");
    let (l1, f) = (followers[0], followers[1]);

    // First one follower: the ISR shrinks to two, still min.insync.replicas.
    c.kill9(l1);
    let v = c.wait_until(&format!("node {l1} out of the ISR of {topic}-0"), Duration::from_secs(60), |c| {
        match c.partition_view(topic, 0) {
            Some(v) if v.leader == leader && !v.isr.contains(&l1) => Ok(v),
            other => Err(format!("{other:?}")),
        }
    });
    eprintln!("[acceptance-3] node {l1} killed; {topic}-0 led by {leader}, ISR {:?}", v.isr);
    let d = produce_numbers(&bootstrap, topic, 0, 100..105, acks_all, Duration::from_secs(60));
    assert_eq!(d.acked(), 5, "one replica down, ISR {:?}: acks=all writes succeed; failures {:?}", v.isr, d.failure_summary());
    committed.extend(d.acked_map().into_iter().map(|(n, (_, o))| (n, o)));

    // Then the other: the leader is alone in the ISR.
    c.kill9(f);
    let v = c.wait_until(&format!("{topic}-0 ISR down to its leader {leader}"), Duration::from_secs(60), |c| {
        match c.partition_view(topic, 0) {
            Some(v) if v.leader == leader && v.isr == vec![leader] => Ok(v),
            other => Err(format!("{other:?}")),
        }
    });
    eprintln!("[acceptance-3] node {f} killed; ISR {:?}", v.isr);
    let l2 = leader;

    // The broker's own answer to acks=-1, over a raw connection.
    let mut conn = Conn::connect(&c.addr(l2), Duration::from_secs(5)).expect("connect to the surviving leader");
    conn.send(ApiKey::Produce, PRODUCE_VERSION, &produce_request(topic, 0, -1, 5000, b"raw", b"raw-acks-all-alone"))
        .expect("send produce");
    let resp = conn.recv(Duration::from_secs(60)).expect("an answer to Produce(acks=-1) within 60 s");
    let (code, offset) = produce_result(&resp).expect("produce result");
    eprintln!("[acceptance-3] raw Produce(acks=-1) to node {l2}: error {code}, base offset {offset}");
    assert_eq!(code, errors::NOT_ENOUGH_REPLICAS, "Produce(acks=-1) with the ISR at 1 of min.insync.replicas 2");

    // rdkafka: nothing acknowledged. NOT_ENOUGH_REPLICAS is retriable, so a
    // producer that may retry reports it once message.timeout.ms runs out.
    let d = produce_numbers(
        &bootstrap,
        topic,
        0,
        200..205,
        &[("acks", "all"), ("message.timeout.ms", "10000"), ("request.timeout.ms", "5000")],
        Duration::from_secs(60),
    );
    let failures = d.failed.lock().expect("lock").clone();
    eprintln!("[acceptance-3] acks=all with one replica: {} acked, failures {:?}", d.acked(), d.failure_summary());
    assert_eq!(
        d.acked(),
        0,
        "acks=all was acknowledged with 1 of 3 replicas and min.insync.replicas=2: {:?}",
        d.acked_map()
    );
    assert_eq!(failures.len(), 5, "every message gets a failed delivery report");
    for (n, (code, text)) in &failures {
        assert!(
            matches!(code, Some(RDKafkaErrorCode::NotEnoughReplicas) | Some(RDKafkaErrorCode::MessageTimedOut)),
            "message {n}: want NotEnoughReplicas or MessageTimedOut, got {code:?} ({text})"
        );
    }

    // Nothing beyond what was committed is readable.
    let end = committed.len() as i64;
    let f2 = c.fetch_at(l2, topic, 0, end).expect("the lone leader answers Fetch");
    eprintln!("[acceptance-3] Fetch at {end} from node {l2}: {f2:?}");
    assert_eq!(f2.error_code, errors::NONE, "{f2:?}");
    assert_eq!(f2.high_watermark, end, "high watermark moved with only one replica in sync");
    assert_eq!(f2.record_bytes, 0, "records readable beyond the committed end {end}");
    assert_eq!(high_watermark(&bootstrap, topic, 0, Duration::from_secs(30)), Some(end), "ListOffsets high watermark");

    // One broker back: acks=all works again within a minute.
    c.start_again(l1);
    let back = Instant::now();
    let mut n = 300u64;
    let recovered_at = loop {
        let d = produce_numbers(
            &bootstrap,
            topic,
            0,
            n..n + 1,
            &[("acks", "all"), ("message.timeout.ms", "10000")],
            Duration::from_secs(20),
        );
        if d.acked() == 1 {
            committed.extend(d.acked_map().into_iter().map(|(n, (_, o))| (n, o)));
            break back.elapsed();
        }
        assert!(
            back.elapsed() < Duration::from_secs(60),
            "acks=all still failing {:.0?} after node {l1} came back: {:?}; partition {:?}",
            back.elapsed(),
            d.failure_summary(),
            c.partition_view(topic, 0)
        );
        n += 1;
    };
    eprintln!("[acceptance-3] node {l1} back: acks=all acknowledged after {recovered_at:.1?}");
    let d = produce_numbers(&bootstrap, topic, 0, 1000..1010, acks_all, Duration::from_secs(60));
    assert_eq!(d.acked(), 10, "writes keep succeeding: {:?}", d.failure_summary());
    committed.extend(d.acked_map().into_iter().map(|(n, (_, o))| (n, o)));

    // Every acknowledged record is there, at its offset.
    let (recs, hw) = read_partition(&bootstrap, topic, 0, Duration::from_secs(120));
    let by_number: HashMap<u64, i64> = recs.iter().filter_map(|r| Some((r.number()?, r.offset))).collect();
    for (n, off) in &committed {
        assert_eq!(by_number.get(n), Some(off), "acknowledged message {n} at offset {off} (high watermark {hw})");
    }
}

// --- acceptance 4 -----------------------------------------------------------------

/// A leader frozen with SIGSTOP is replaced after the session timeout while
/// an acks=all producer keeps going; after SIGCONT there is exactly one
/// leader (every node's Metadata agrees, and only it serves fetches), every
/// acknowledged message is in the log, and a Produce(acks=-1) sent to the
/// frozen leader comes back successful only if its record is in that log.
#[test]
fn acceptance_4_paused_leader_is_replaced_and_cannot_acknowledge_what_it_lost() {
    let _serial = serial();
    let topic = "paused";
    let mut c = Cluster::builder(3).name("acceptance-4").deadline(Duration::from_secs(15 * 60)).start();
    c.wait_ready(3);
    c.create_topic(topic, 1, 3, &[("min.insync.replicas", "2")]);
    let bootstrap = c.bootstrap();

    let (producer, d) = tracking_producer(
        &bootstrap,
        &[("enable.idempotence", "true"), ("acks", "all"), ("linger.ms", "5"), ("message.timeout.ms", "180000")],
    );
    let producer = Arc::new(producer);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (producer, stop) = (producer.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                enqueue(&producer, "paused", 0, n, value_for(n).as_bytes());
                n += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            n
        })
    };
    let wait_acks = |what: &str, target: usize, timeout: Duration| {
        let t0 = Instant::now();
        while d.acked() < target {
            assert!(
                t0.elapsed() < timeout,
                "{what}: {} acknowledged of the {target} wanted after {timeout:?}; failures {:?}",
                d.acked(),
                d.failure_summary()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("[acceptance-4] {what}: {} acknowledged ({:.1?})", d.acked(), t0.elapsed());
    };
    wait_acks("before the pause", 500, Duration::from_secs(60));

    let before = c.partition_view(topic, 0).expect("partition view");
    let old = before.leader;
    let mut conn = Conn::connect(&c.addr(old), Duration::from_secs(5)).expect("connect to the leader");
    c.pause(old);
    let raw_value = format!("raw-to-paused-leader-{}", uuid::Uuid::new_v4());
    conn.send(ApiKey::Produce, PRODUCE_VERSION, &produce_request(topic, 0, -1, 30_000, b"raw", raw_value.as_bytes()))
        .expect("send Produce to the paused leader");
    eprintln!("[acceptance-4] node {old} (leader, epoch {}) paused; Produce(acks=-1) sent to it", before.leader_epoch);

    std::thread::sleep(2 * SESSION_TIMEOUT);
    let new = c.wait_new_leader(topic, 0, &[old], Duration::from_secs(60));
    assert!(
        new.leader_epoch > before.leader_epoch,
        "new leader {} has epoch {}, not above the old {}",
        new.leader,
        new.leader_epoch,
        before.leader_epoch
    );
    wait_acks("with the old leader still paused", d.acked() + 200, Duration::from_secs(90));

    c.resume(old);
    let raw = conn.recv(Duration::from_secs(90));
    let raw_outcome = match &raw {
        Ok(r) => Some(produce_result(r).expect("produce result")),
        Err(e) => {
            eprintln!("[acceptance-4] the resumed old leader did not answer the raw Produce: {e:#}");
            None
        }
    };
    eprintln!("[acceptance-4] raw Produce to the paused leader: (error, base offset) = {raw_outcome:?}");
    wait_acks("after the resume", d.acked() + 200, Duration::from_secs(60));

    stop.store(true, Ordering::SeqCst);
    let sent = writer.join().expect("writer thread");
    let flushed = producer.flush(Duration::from_secs(240));
    assert!(flushed.is_ok(), "flush: {flushed:?}: {} of {sent} without a delivery report", sent as usize - d.done());
    assert_no_fatal_error(&producer);
    eprintln!("[acceptance-4] {sent} sent, {} acknowledged, failures {:?}", d.acked(), d.failure_summary());

    // Exactly one leader: every node's Metadata agrees, and only it serves fetches.
    let leader =
        c.wait_until("one leader agreed by all nodes and alone in serving fetches", Duration::from_secs(90), |c| {
            let all = c.metadata_all(Some(&[topic]));
            if all.len() != 3 {
                return Err(format!("only {} live nodes", all.len()));
            }
            let mut views = BTreeMap::new();
            for (id, m) in &all {
                match m.as_ref().map(|m| m.partition(topic, 0).cloned()) {
                    Ok(Some(v)) => {
                        views.insert(*id, (v.leader, v.leader_epoch));
                    }
                    other => return Err(format!("node {id}: {other:?}")),
                }
            }
            let distinct: HashSet<(i32, i32)> = views.values().copied().collect();
            if distinct.len() != 1 {
                return Err(format!("nodes disagree: {views:?}"));
            }
            let (leader, epoch) = *distinct.iter().next().expect("one view");
            if leader < 0 {
                return Err(format!("no leader: {views:?}"));
            }
            let mut probes = BTreeMap::new();
            for id in c.node_ids() {
                probes.insert(id, c.fetch_probe(id, topic, 0).map(|(code, _)| code).map_err(|e| format!("{e:#}")));
            }
            let serving: Vec<i32> = probes.iter().filter(|(_, r)| matches!(r, Ok(0))).map(|(id, _)| *id).collect();
            let refusing_right = probes
                .iter()
                .filter(|(id, _)| **id != leader)
                .all(|(_, r)| matches!(r, Ok(code) if *code == errors::NOT_LEADER_OR_FOLLOWER));
            if serving == [leader] && refusing_right {
                Ok((leader, epoch))
            } else {
                Err(format!("metadata says leader {leader} epoch {epoch}; Fetch error codes per node {probes:?}"))
            }
        });
    eprintln!("[acceptance-4] converged: leader {} epoch {} (old leader {old})", leader.0, leader.1);

    // Nothing acknowledged is lost; nothing is there twice.
    let (recs, hw) = read_partition(&bootstrap, topic, 0, Duration::from_secs(180));
    let mut at: HashMap<u64, i64> = HashMap::new();
    let mut dups = Vec::new();
    for r in &recs {
        if let Some(n) = r.number() {
            if let Some(first) = at.insert(n, r.offset) {
                dups.push((n, first, r.offset));
            }
        }
    }
    let acked = d.acked_map();
    let mut lost: Vec<(u64, i64)> =
        acked.iter().filter(|(n, (_, off))| at.get(n) != Some(off)).map(|(n, (_, off))| (*n, *off)).collect();
    lost.sort_unstable();
    assert!(
        lost.is_empty(),
        "{} acknowledged messages not at their offsets (high watermark {hw}), e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(20)]
    );
    assert!(
        dups.is_empty(),
        "{} messages twice (idempotent producer), e.g. {:?}",
        dups.len(),
        &dups[..dups.len().min(20)]
    );

    let raw_in_log = recs.iter().find(|r| r.value == raw_value.as_bytes()).map(|r| r.offset);
    eprintln!("[acceptance-4] raw record in the final log at {raw_in_log:?}");
    if let Some((code, offset)) = raw_outcome {
        if code == errors::NONE {
            assert_eq!(
                raw_in_log,
                Some(offset),
                "the old leader acknowledged Produce(acks=-1) sent while it was paused at offset {offset}, \
                 but the final log does not have that record there"
            );
        }
    }
}

// --- acceptance 5 -----------------------------------------------------------------

/// Committed offsets survive the death of the group coordinator: a group
/// commits known offsets, its coordinator is killed with `kill -9`, a new
/// consumer in the group starts exactly at the committed offsets, and
/// listing/describing groups works against the remaining brokers.
#[test]
fn acceptance_5_group_coordinator_fails_over_with_committed_offsets() {
    let _serial = serial();
    let topic = "grouped";
    const PARTITIONS: i32 = 3;
    let mut c = Cluster::builder(3)
        .name("acceptance-5")
        .deadline(Duration::from_secs(15 * 60))
        .overrides(&["group.initial.rebalance.delay.ms=0"])
        .start();
    c.wait_ready(3);
    c.create_topic(topic, PARTITIONS, 3, &[]);
    let bootstrap = c.bootstrap();
    for p in 0..PARTITIONS {
        let base = 1000 * p as u64;
        let d = produce_numbers(&bootstrap, topic, p, base..base + 100, &[("acks", "all")], Duration::from_secs(60));
        assert_eq!(d.acked(), 100, "{topic}-{p}: {:?}", d.failure_summary());
    }
    let group = format!("cluster-group-{}", uuid::Uuid::new_v4());
    let committed: BTreeMap<i32, i64> = (0..PARTITIONS).map(|p| (p, 30 + 10 * p as i64)).collect();
    let group_consumer = || -> BaseConsumer {
        ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000")
            .set("socket.timeout.ms", "10000")
            .create()
            .expect("group consumer")
    };

    // Consumer A reads past the offsets it will commit, then commits them synchronously.
    {
        let a = group_consumer();
        a.subscribe(&[topic]).expect("subscribe");
        let mut highest: BTreeMap<i32, i64> = BTreeMap::new();
        let t0 = Instant::now();
        while !committed.iter().all(|(p, off)| highest.get(p).is_some_and(|h| h >= off)) {
            assert!(t0.elapsed() < Duration::from_secs(120), "consumer A read only {highest:?} in 120 s");
            match a.poll(Duration::from_millis(500)) {
                Some(Ok(m)) => {
                    let h = highest.entry(m.partition()).or_insert(-1);
                    *h = (*h).max(m.offset());
                }
                Some(Err(e)) => eprintln!("[acceptance-5] consumer A: {e}"),
                None => {}
            }
        }
        let mut tpl = TopicPartitionList::new();
        for (p, off) in &committed {
            tpl.add_partition_offset(topic, *p, Offset::Offset(*off)).expect("tpl");
        }
        a.commit(&tpl, CommitMode::Sync).expect("synchronous commit");
        let back = a.committed_offsets(tpl.clone(), Duration::from_secs(30)).expect("committed offsets");
        for (p, off) in &committed {
            let got = back.find_partition(topic, *p).map(|e| e.offset());
            assert_eq!(got, Some(Offset::Offset(*off)), "OffsetFetch right after the commit, partition {p}");
        }
        a.unsubscribe();
        eprintln!("[acceptance-5] group {group} committed {committed:?}");
    }

    let coordinator = c.find_coordinator(&group).expect("FindCoordinator");
    let offsets_partition = java_hash(&group).checked_abs().unwrap_or(0) % 50;
    let offsets_view = c.wait_until("__consumer_offsets replicated 3 ways", Duration::from_secs(60), |c| {
        match c.partition_view("__consumer_offsets", offsets_partition) {
            Some(v) if v.replicas.len() == 3 => Ok(v),
            other => Err(format!("{other:?}")),
        }
    });
    eprintln!(
        "[acceptance-5] coordinator node {coordinator}; __consumer_offsets-{offsets_partition}: {offsets_view:?}"
    );
    c.kill9(coordinator);
    let new_coordinator = c.wait_until("a new coordinator for the group", Duration::from_secs(90), |c| {
        match c.find_coordinator(&group) {
            Ok(id) if id != coordinator => Ok(id),
            Ok(id) => Err(format!("still node {id}")),
            Err(e) => Err(format!("{e:#}")),
        }
    });
    eprintln!("[acceptance-5] node {coordinator} killed; new coordinator node {new_coordinator}");

    // Consumer B resumes exactly at the committed offsets.
    let b = group_consumer();
    b.subscribe(&[topic]).expect("subscribe");
    let mut first: BTreeMap<i32, i64> = BTreeMap::new();
    let t0 = Instant::now();
    while first.len() < PARTITIONS as usize {
        assert!(t0.elapsed() < Duration::from_secs(120), "consumer B got first messages only for {first:?} in 120 s");
        match b.poll(Duration::from_millis(500)) {
            Some(Ok(m)) => {
                first.entry(m.partition()).or_insert(m.offset());
            }
            Some(Err(e)) => eprintln!("[acceptance-5] consumer B: {e}"),
            None => {}
        }
    }
    assert_eq!(first, committed, "the first offset consumer B sees per partition = the committed offset");

    // Listing and describing groups still works (librdkafka: ListGroups on
    // every broker it knows, DescribeGroups on the coordinator). A fresh
    // client each time, so its broker list comes from the live nodes.
    let described = c.wait_until("the group listed and described", Duration::from_secs(60), |_| {
        let admin = reader(&bootstrap);
        let all = admin.fetch_group_list(None, Duration::from_secs(15)).map_err(|e| format!("list all: {e}"))?;
        if !all.groups().iter().any(|g| g.name() == group) {
            return Err(format!(
                "not listed: {:?}",
                all.groups().iter().map(|g| g.name().to_string()).collect::<Vec<_>>()
            ));
        }
        let one =
            admin.fetch_group_list(Some(&group), Duration::from_secs(15)).map_err(|e| format!("describe: {e}"))?;
        let g = one.groups().iter().find(|g| g.name() == group).ok_or("described list lacks the group")?;
        if g.state() == "Stable" && g.members().len() == 1 && g.protocol_type() == "consumer" {
            Ok(format!("{} {} {} members", g.state(), g.protocol_type(), g.members().len()))
        } else {
            Err(format!("state {} protocol type {} members {}", g.state(), g.protocol_type(), g.members().len()))
        }
    });
    eprintln!("[acceptance-5] group {group}: {described}");
    drop(b);
}

// --- the harness itself ------------------------------------------------------------

/// The harness on a one-node cluster (a single KRaft voter is a valid
/// cluster): readiness, topic creation, raw requests with timeouts against a
/// paused node, kill -9 and restart, and segment parsing that agrees with
/// what a consumer reads. Quick, and the first thing to look at if the
/// three-node tests fail in the harness rather than in the broker.
#[test]
fn cluster_harness_on_a_single_node() {
    let _serial = serial();
    let topic = "harness";
    let mut c = Cluster::builder(1).name("harness").deadline(Duration::from_secs(5 * 60)).start();
    c.wait_ready(1);
    c.create_topic(topic, 2, 1, &[]);
    assert_eq!(c.leader_of(topic, 0), Some(1));
    let bootstrap = c.bootstrap();
    let d =
        produce_numbers(&bootstrap, topic, 0, 0..500, &[("acks", "all"), ("linger.ms", "5")], Duration::from_secs(60));
    assert_eq!(d.acked(), 500, "{:?}", d.failure_summary());

    // A paused node fails requests within the harness's timeouts instead of hanging.
    c.pause(1);
    let t0 = Instant::now();
    assert!(c.metadata_from(1, None).is_err(), "a paused node cannot answer");
    assert!(t0.elapsed() < Duration::from_secs(15), "timed out in {:?}", t0.elapsed());
    assert!(c.live_nodes().is_empty());
    c.resume(1);
    assert_eq!(c.live_nodes(), vec![1]);

    // kill -9 and start again: same ports, same data.
    c.kill9(1);
    c.start_again(1);
    c.wait_ready(1);
    let (recs, hw) = read_partition(&bootstrap, topic, 0, Duration::from_secs(60));
    assert_eq!((recs.len(), hw), (500, 500));
    let (code, _) = c.fetch_probe(1, topic, 0).expect("fetch");
    assert_eq!(code, errors::NONE);
    let mut conn = Conn::connect(&c.addr(1), Duration::from_secs(5)).expect("connect");
    conn.send(ApiKey::Produce, PRODUCE_VERSION, &produce_request(topic, 0, -1, 5000, b"k", b"raw")).expect("send");
    let (code, offset) = produce_result(&conn.recv(Duration::from_secs(10)).expect("answer")).expect("result");
    assert_eq!((code, offset), (errors::NONE, 500));
    assert_eq!(c.find_coordinator("harness-group").expect("coordinator"), 1);

    // Segment files, parsed as batches, cover exactly what was written.
    assert!(c.stop(1).is_some_and(|s| s.success()), "clean exit on SIGTERM");
    let log = read_replica_log(&c.partition_dir(1, topic, 0)).expect("read segments");
    assert!(log.problems.is_empty(), "{:?}", log.problems);
    assert_eq!(log.batches.first().map(|b| b.base_offset), Some(0));
    assert_eq!(log.batches.last().map(|b| b.last_offset), Some(500));
    assert!(log.batches.windows(2).all(|w| w[1].base_offset == w[0].last_offset + 1), "batches are contiguous");
}
