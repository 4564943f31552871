//! The workloads, driven by librdkafka (the rdkafka crate) in this process,
//! which is separate from the broker's.
//!
//! Client settings follow the OpenMessaging Benchmark's Kafka driver where it
//! has one: `linger.ms=1`, `batch.size=1048576`, no compression, 1 KiB values
//! of random bytes, the Java client's murmur2 partitioner for keyed records.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Barrier, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use rand::RngCore;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

pub const VALUE_BYTES: usize = 1024;
pub const PARTITIONS: i32 = 6;

/// Live counters, read by the progress line while a run goes on.
#[derive(Default)]
pub struct Live {
    pub msgs: AtomicU64,
    pub bytes: AtomicU64,
    pub errors: AtomicU64,
}

impl Live {
    pub fn reset(&self) {
        self.msgs.store(0, Relaxed);
        self.bytes.store(0, Relaxed);
        self.errors.store(0, Relaxed);
    }
}

/// What one run of one workload measured on the client side.
#[derive(Debug, Default, Clone)]
pub struct RunOut {
    pub msgs: u64,
    pub bytes: u64,
    pub secs: f64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// End-to-end latencies in nanoseconds (latency workload only), sorted.
    pub latencies_ns: Vec<u64>,
    /// Rate the producer achieved in the measured window (latency workload).
    pub sent_rate: f64,
}

fn base_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("client.id", "tributary-bench")
        .set("socket.nagle.disable", "true")
        .set("log_level", "3");
    c
}

fn random_value() -> Vec<u8> {
    let mut v = vec![0u8; VALUE_BYTES];
    rand::rng().fill_bytes(&mut v);
    v
}

/// Topic creation, metadata waits and deletion.
pub struct Admin {
    rt: tokio::runtime::Runtime,
    admin: AdminClient<DefaultClientContext>,
    replication: i32,
}

impl Admin {
    /// Topics are created with `replication` replicas (1 on a single broker).
    pub fn new(bootstrap: &str, replication: i32) -> anyhow::Result<Admin> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let admin: AdminClient<DefaultClientContext> =
            base_config(bootstrap).create().context("admin client")?;
        Ok(Admin { rt, admin, replication })
    }

    pub fn create_topic(&self, name: &str, partitions: i32) -> anyhow::Result<()> {
        let t = NewTopic::new(name, partitions, TopicReplication::Fixed(self.replication));
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let res = self
            .rt
            .block_on(self.admin.create_topics([&t], &opts))
            .context("CreateTopics")?;
        for r in res {
            if let Err((topic, code)) = r {
                if code != RDKafkaErrorCode::TopicAlreadyExists {
                    bail!("creating {topic}: {code}");
                }
            }
        }
        // Until every partition has a leader in metadata, produces would wait on it.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = self
                .admin
                .inner()
                .fetch_metadata(Some(name), Duration::from_secs(5))
                .ok()
                .and_then(|m| {
                    m.topics().iter().find(|t| t.name() == name).map(|t| {
                        t.error().is_none()
                            && t.partitions().len() == partitions as usize
                            && t.partitions()
                                .iter()
                                .all(|p| p.leader() >= 0 && p.error().is_none())
                    })
                })
                .unwrap_or(false);
            if ok {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("topic {name} has no leaders after 30 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Best effort: a broker that cannot delete topics keeps them (the names are unique).
    pub fn delete_topic(&self, name: &str) {
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let _ = self.rt.block_on(self.admin.delete_topics(&[name], &opts));
    }
}

/// Counts deliveries for a throughput producer.
struct Counting {
    live: Arc<Live>,
    delivered: AtomicU64,
    delivered_bytes: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = ();
    fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
        match r {
            Ok(m) => {
                let n = m.payload_len() as u64;
                self.delivered.fetch_add(1, Relaxed);
                self.delivered_bytes.fetch_add(n, Relaxed);
                self.live.msgs.fetch_add(1, Relaxed);
                self.live.bytes.fetch_add(n, Relaxed);
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Relaxed);
                self.live.errors.fetch_add(1, Relaxed);
                let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
                first.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

fn producer_config(bootstrap: &str, acks: &str, linger_ms: u32) -> ClientConfig {
    let mut c = base_config(bootstrap);
    c.set("acks", acks)
        .set("linger.ms", linger_ms.to_string())
        .set("batch.size", "1048576")
        .set("compression.type", "none")
        .set("partitioner", "murmur2_random")
        .set("queue.buffering.max.kbytes", "262144")
        .set("message.timeout.ms", "60000");
    c
}

/// Sends one record, serving delivery reports while librdkafka's queue is full.
fn send_blocking<C: ProducerContext<DeliveryOpaque = ()>>(
    p: &BaseProducer<C>,
    topic: &str,
    key: Option<&[u8]>,
    value: &[u8],
) -> anyhow::Result<()> {
    loop {
        let mut rec: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).payload(value);
        if let Some(k) = key {
            rec = rec.key(k);
        }
        match p.send(rec) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                p.poll(Duration::from_millis(1))
            }
            Err((e, _)) => return Err(anyhow!("produce: {e}")),
        }
    }
}

/// (a) Produce as fast as the client and broker allow for `dur` (or until
/// `max_bytes` in total), with `producers` independent producer instances.
#[allow(clippy::too_many_arguments)] // one flat call site per workload reads best
pub fn produce(
    bootstrap: &str,
    topic: &str,
    acks: &str,
    keys: bool,
    producers: usize,
    dur: Duration,
    max_bytes: u64,
    live: &Arc<Live>,
) -> anyhow::Result<RunOut> {
    let mut ctxs = Vec::new();
    let mut handles = Vec::new();
    let barrier = Arc::new(Barrier::new(producers + 1));
    let per_producer_msgs = (max_bytes / VALUE_BYTES as u64 / producers as u64).max(1);
    for id in 0..producers {
        let ctx = Arc::new(Counting {
            live: live.clone(),
            delivered: AtomicU64::new(0),
            delivered_bytes: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            first_error: Mutex::new(None),
        });
        ctxs.push(ctx.clone());
        let producer: BaseProducer<ArcCtx> = producer_config(bootstrap, acks, 1)
            .create_with_context(ArcCtx(ctx))
            .context("producer")?;
        // Connect and learn the topic's leaders before the clock starts.
        producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .context("producer metadata")?;
        let topic = topic.to_string();
        let barrier = barrier.clone();
        handles.push(std::thread::spawn(move || -> anyhow::Result<()> {
            let value = random_value();
            let mut key_seed = (id as u64) << 48;
            barrier.wait();
            let deadline = Instant::now() + dur;
            let mut n = 0u64;
            while n < per_producer_msgs {
                if n & 255 == 0 {
                    producer.poll(Duration::ZERO);
                    if Instant::now() >= deadline {
                        break;
                    }
                }
                key_seed += 1;
                let key = key_seed.to_be_bytes();
                send_blocking(&producer, &topic, keys.then_some(&key[..]), &value)?;
                n += 1;
            }
            producer
                .flush(Duration::from_secs(120))
                .map_err(|e| anyhow!("flush: {e}"))?;
            Ok(())
        }));
    }
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join()
            .map_err(|_| anyhow!("producer thread panicked"))??;
    }
    let secs = start.elapsed().as_secs_f64();
    let mut out = RunOut {
        secs,
        ..Default::default()
    };
    for c in ctxs {
        out.msgs += c.delivered.load(Relaxed);
        out.bytes += c.delivered_bytes.load(Relaxed);
        out.errors += c.failed.load(Relaxed);
        if out.first_error.is_none() {
            out.first_error = c
                .first_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
        }
    }
    Ok(out)
}

/// An `Arc` around a context, so the caller keeps the counters after the
/// producer moves into its thread.
struct ArcCtx(Arc<Counting>);
impl ClientContext for ArcCtx {}
impl ProducerContext for ArcCtx {
    type DeliveryOpaque = ();
    fn delivery(&self, r: &DeliveryResult<'_>, o: ()) {
        self.0.delivery(r, o)
    }
}

/// Fills `topic` with `bytes` of 1 KiB records (acks=1, no keys) for the consume workload.
pub fn fill(bootstrap: &str, topic: &str, bytes: u64, live: &Arc<Live>) -> anyhow::Result<RunOut> {
    let out = produce(
        bootstrap,
        topic,
        "1",
        false,
        1,
        Duration::from_secs(3600),
        bytes,
        live,
    )?;
    if out.errors > 0 {
        bail!(
            "filling {topic}: {} records failed: {}",
            out.errors,
            out.first_error.unwrap_or_default()
        );
    }
    Ok(out)
}

fn consumer(bootstrap: &str, topic: &str, partitions: i32) -> anyhow::Result<BaseConsumer> {
    let mut c = base_config(bootstrap);
    c.set(
        "group.id",
        format!("tributary-bench-{}", rand::random::<u32>()),
    )
    .set("enable.auto.commit", "false")
    .set("enable.auto.offset.store", "false")
    .set("enable.partition.eof", "false")
    .set("auto.offset.reset", "earliest");
    let consumer: BaseConsumer = c.create().context("consumer")?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    Ok(consumer)
}

/// (b) Reads `expect` records from the start of a full topic, as fast as possible.
pub fn consume(
    bootstrap: &str,
    topic: &str,
    expect: u64,
    live: &Arc<Live>,
) -> anyhow::Result<RunOut> {
    let c = consumer(bootstrap, topic, PARTITIONS)?;
    let mut out = RunOut::default();
    let mut last_progress = Instant::now();
    // The clock starts at the first record: connecting and the first metadata
    // round trips are not throughput (they matter only for small topics).
    let mut start = None;
    let mut end = Instant::now();
    while out.msgs < expect {
        match c.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let n = m.payload_len() as u64;
                start.get_or_insert_with(Instant::now);
                out.msgs += 1;
                out.bytes += n;
                if out.msgs % 64 == 0 {
                    live.msgs.store(out.msgs, Relaxed);
                    live.bytes.store(out.bytes, Relaxed);
                }
                last_progress = Instant::now();
                end = last_progress;
            }
            Some(Err(e)) => {
                out.errors += 1;
                live.errors.fetch_add(1, Relaxed);
                out.first_error.get_or_insert_with(|| e.to_string());
            }
            None => {}
        }
        if last_progress.elapsed() > Duration::from_secs(20) {
            bail!(
                "consume stalled at {} of {expect} records ({})",
                out.msgs,
                out.first_error.unwrap_or_default()
            );
        }
    }
    out.secs = start.map_or(0.0, |s| (end - s).as_secs_f64());
    Ok(out)
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

/// (c) End-to-end latency at a fixed rate: each value carries the time it was
/// handed to the producer; a consumer in this process subtracts it from the
/// time it receives the record. Records sent during `warmup` are not counted.
pub fn latency(
    bootstrap: &str,
    topic: &str,
    rate: u64,
    warmup: Duration,
    dur: Duration,
    live: &Arc<Live>,
) -> anyhow::Result<RunOut> {
    let _ = epoch();
    let c = consumer(bootstrap, topic, PARTITIONS)?;
    // One empty poll so the consumer has connected and started fetching.
    let _ = c.poll(Duration::from_millis(200));
    let ctx = Arc::new(Counting {
        live: Arc::new(Live::default()),
        delivered: AtomicU64::new(0),
        delivered_bytes: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        first_error: Mutex::new(None),
    });
    let producer: BaseProducer<ArcCtx> = producer_config(bootstrap, "all", 1)
        .create_with_context(ArcCtx(ctx.clone()))
        .context("producer")?;
    producer
        .client()
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .context("producer metadata")?;
    let done = Arc::new(AtomicBool::new(false));
    let start_ns = now_ns();
    let measure_from = start_ns + warmup.as_nanos() as u64;
    let total = warmup + dur;
    let sent_measured = Arc::new(AtomicU64::new(0));
    let prod = {
        let topic = topic.to_string();
        let done = done.clone();
        let sent_measured = sent_measured.clone();
        std::thread::spawn(move || -> anyhow::Result<u64> {
            let mut value = random_value();
            let start = Instant::now();
            let mut sent = 0u64;
            loop {
                let elapsed = start.elapsed();
                if elapsed >= total {
                    break;
                }
                let due = (elapsed.as_secs_f64() * rate as f64) as u64 + 1;
                while sent < due {
                    let t = now_ns();
                    value[..8].copy_from_slice(&t.to_be_bytes());
                    send_blocking(&producer, &topic, None, &value)?;
                    if t >= measure_from {
                        sent_measured.fetch_add(1, Relaxed);
                    }
                    sent += 1;
                }
                producer.poll(Duration::ZERO);
                // Sleep until the next record is due (at most 1 ms, to keep serving reports).
                let next = Duration::from_secs_f64(sent as f64 / rate as f64);
                let wait = next
                    .saturating_sub(start.elapsed())
                    .min(Duration::from_millis(1));
                if !wait.is_zero() {
                    std::thread::sleep(wait);
                }
            }
            producer
                .flush(Duration::from_secs(60))
                .map_err(|e| anyhow!("flush: {e}"))?;
            done.store(true, Relaxed);
            Ok(sent)
        })
    };
    let mut out = RunOut::default();
    let mut received = 0u64;
    let mut lat = Vec::with_capacity((rate as f64 * dur.as_secs_f64() * 1.1) as usize);
    let mut drain_deadline: Option<Instant> = None;
    loop {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(50)) {
            let now = now_ns();
            if let Some(v) = m.payload().filter(|v| v.len() >= 8) {
                let mut b = [0u8; 8];
                b.copy_from_slice(&v[..8]);
                let sent = u64::from_be_bytes(b);
                received += 1;
                live.msgs.store(received, Relaxed);
                live.bytes.fetch_add(v.len() as u64, Relaxed);
                if sent >= measure_from {
                    lat.push(now.saturating_sub(sent));
                }
            }
        }
        if done.load(Relaxed) {
            let d = *drain_deadline.get_or_insert_with(|| Instant::now() + Duration::from_secs(10));
            if lat.len() as u64 >= sent_measured.load(Relaxed) || Instant::now() > d {
                break;
            }
        }
    }
    let sent = prod
        .join()
        .map_err(|_| anyhow!("producer thread panicked"))??;
    lat.sort_unstable();
    out.msgs = lat.len() as u64;
    out.bytes = out.msgs * VALUE_BYTES as u64;
    out.secs = dur.as_secs_f64();
    out.sent_rate = sent_measured.load(Relaxed) as f64 / dur.as_secs_f64();
    out.errors = ctx.failed.load(Relaxed) + sent_measured.load(Relaxed).saturating_sub(out.msgs);
    out.first_error = ctx
        .first_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let _ = sent;
    out.latencies_ns = lat;
    Ok(out)
}
