//! Compatibility-matrix runner for the `rdkafka` crate (librdkafka bundled).
//!
//! `compat-rdkafka BOOTSTRAP TOPIC_PREFIX` runs the scenario list of
//! compat-matrix/README.md against the broker and prints one
//! `MATRIX {json}` line per scenario. Each scenario runs on its own thread
//! with a deadline, so a stuck client fails its cell, not the whole run.

use std::collections::{BTreeSet, HashMap};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, NewPartitions, NewTopic, ResourceSpecifier,
    TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::util::get_rdkafka_version;
use rdkafka::{Offset, TopicPartitionList};

type Res = Result<(), String>;

const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);
const T: Duration = Duration::from_secs(10);

#[derive(Clone)]
struct Ctx {
    bootstrap: String,
    prefix: String,
}

impl Ctx {
    fn topic(&self, s: &str) -> String {
        format!("{}-{s}", self.prefix)
    }
    fn group(&self, s: &str) -> String {
        format!("{}-{s}-g", self.prefix)
    }
    fn config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap);
        c
    }
    fn admin(&self) -> Result<AdminClient<DefaultClientContext>, String> {
        self.config().create().map_err(e)
    }
    fn consumer(
        &self,
        group: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Result<BaseConsumer, String> {
        let mut c = self.config();
        c.set(
            "group.id",
            group
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}-unused", self.prefix)),
        )
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest");
        for (k, v) in extra {
            c.set(*k, *v);
        }
        c.create().map_err(e)
    }
}

fn e<E: std::fmt::Display>(err: E) -> String {
    err.to_string()
}

fn check(cond: bool, what: impl Into<String>) -> Res {
    if cond {
        Ok(())
    } else {
        Err(what.into())
    }
}

fn produce_value(i: usize, codec: &str) -> Vec<u8> {
    let mut v = format!("v{i}-{codec}-").into_bytes();
    v.extend(std::iter::repeat_n(b'x', 200));
    v
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn wait_until(
    timeout: Duration,
    what: &str,
    mut pred: impl FnMut() -> Result<bool, String>,
) -> Res {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if pred()? {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "timed out after {}s waiting for {what}",
        timeout.as_secs()
    ))
}

fn create(ctx: &Ctx, topic: &str, partitions: i32, config: &[(&str, &str)]) -> Res {
    let admin = ctx.admin()?;
    let mut nt = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    for (k, v) in config {
        nt = nt.set(k, v);
    }
    let res = rt()
        .block_on(admin.create_topics([&nt], &AdminOptions::new()))
        .map_err(e)?;
    for r in res {
        r.map_err(|(t, err)| format!("create {t}: {err}"))?;
    }
    wait_until(T, "topic in metadata", || {
        let md = admin.inner().fetch_metadata(Some(topic), T).map_err(e)?;
        Ok(md
            .topics()
            .first()
            .is_some_and(|t| t.error().is_none() && t.partitions().len() == partitions as usize))
    })
}

struct Rec {
    partition: Option<i32>,
    key: Option<Vec<u8>>,
    value: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
    timestamp: Option<i64>,
}

fn rec(value: impl Into<Vec<u8>>) -> Rec {
    Rec {
        partition: None,
        key: None,
        value: value.into(),
        headers: vec![],
        timestamp: None,
    }
}

/// Produces and waits for every ack; returns (partition, offset) per record.
fn produce(
    ctx: &Ctx,
    topic: &str,
    recs: &[Rec],
    extra: &[(&str, &str)],
) -> Result<Vec<(i32, i64)>, String> {
    use std::sync::{Arc, Mutex};
    type Acks = Arc<Mutex<HashMap<usize, Result<(i32, i64), String>>>>;
    struct Ctxt(Acks);
    impl rdkafka::ClientContext for Ctxt {}
    impl rdkafka::producer::ProducerContext for Ctxt {
        type DeliveryOpaque = Box<usize>;
        fn delivery(&self, r: &rdkafka::message::DeliveryResult<'_>, i: Box<usize>) {
            let v = match r {
                Ok(m) => Ok((m.partition(), m.offset())),
                Err((err, _)) => Err(err.to_string()),
            };
            self.0.lock().expect("lock").insert(*i, v);
        }
    }
    let acks = Arc::new(Mutex::new(HashMap::new()));
    let mut c = ctx.config();
    c.set("linger.ms", "5");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    let p: ThreadedProducer<Ctxt> = c.create_with_context(Ctxt(acks.clone())).map_err(e)?;
    for (i, r) in recs.iter().enumerate() {
        let mut br = BaseRecord::with_opaque_to(topic, Box::new(i)).payload(&r.value);
        if let Some(k) = &r.key {
            br = br.key(k);
        }
        if let Some(p) = r.partition {
            br = br.partition(p);
        }
        if let Some(ts) = r.timestamp {
            br = br.timestamp(ts);
        }
        if !r.headers.is_empty() {
            let mut h = OwnedHeaders::new();
            for (k, v) in &r.headers {
                h = h.insert(Header {
                    key: k,
                    value: Some(v),
                });
            }
            br = br.headers(h);
        }
        p.send(br).map_err(|(err, _)| e(err))?;
    }
    p.flush(Duration::from_secs(30)).map_err(e)?;
    let acks = acks.lock().expect("lock");
    (0..recs.len())
        .map(|i| {
            acks.get(&i)
                .cloned()
                .unwrap_or_else(|| Err(format!("record {i} not acknowledged")))
        })
        .collect()
}

#[derive(Debug)]
struct Got {
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    value: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
}

fn got(m: &BorrowedMessage<'_>) -> Got {
    let headers = m
        .headers()
        .map(|h| {
            h.iter()
                .map(|x| (x.key.to_string(), x.value.unwrap_or_default().to_vec()))
                .collect()
        })
        .unwrap_or_default();
    Got {
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().unwrap_or_default().to_vec(),
        headers,
    }
}

fn read(c: &BaseConsumer, n: usize, timeout: Duration) -> Result<Vec<Got>, String> {
    let mut out = vec![];
    let deadline = Instant::now() + timeout;
    while out.len() < n && Instant::now() < deadline {
        match c.poll(Duration::from_millis(300)) {
            None => {}
            Some(Ok(m)) => out.push(got(&m)),
            Some(Err(KafkaError::PartitionEOF(_))) => {}
            Some(Err(err)) => return Err(format!("consume error: {err}")),
        }
    }
    check(out.len() == n, format!("read {} of {n} records", out.len()))?;
    Ok(out)
}

fn read_assigned(
    ctx: &Ctx,
    topic: &str,
    starts: &[(i32, Offset)],
    n: usize,
    extra: &[(&str, &str)],
) -> Result<Vec<Got>, String> {
    let c = ctx.consumer(None, extra)?;
    let mut tpl = TopicPartitionList::new();
    for (p, o) in starts {
        tpl.add_partition_offset(topic, *p, *o).map_err(e)?;
    }
    c.assign(&tpl).map_err(e)?;
    read(&c, n, Duration::from_secs(20))
}

fn values(v: &[Got]) -> Vec<String> {
    v.iter()
        .map(|g| String::from_utf8_lossy(&g.value).into_owned())
        .collect()
}

// --- scenarios ----------------------------------------------------------------

fn metadata(ctx: &Ctx) -> Res {
    let t = ctx.topic("metadata");
    create(ctx, &t, 3, &[])?;
    let admin = ctx.admin()?;
    let md = admin.inner().fetch_metadata(None, T).map_err(e)?;
    let port: i32 = ctx
        .bootstrap
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    check(
        md.brokers().iter().any(|b| b.port() == port),
        "bootstrap port not among the brokers",
    )?;
    let tm = md
        .topics()
        .iter()
        .find(|x| x.name() == t)
        .ok_or("topic not in metadata")?;
    let ids: BTreeSet<i32> = tm.partitions().iter().map(|p| p.id()).collect();
    check(
        ids == BTreeSet::from([0, 1, 2]),
        format!("partitions {ids:?}"),
    )?;
    check(
        tm.partitions()
            .iter()
            .all(|p| md.brokers().iter().any(|b| b.id() == p.leader())),
        "leader not a known broker",
    )
}

fn produce_codec(ctx: &Ctx, codec: &str) -> Res {
    let t = ctx.topic(&format!("produce-{codec}"));
    create(ctx, &t, 1, &[])?;
    let recs: Vec<Rec> = (0..50)
        .map(|i| Rec {
            key: Some(format!("k{i}").into_bytes()),
            headers: vec![("idx".into(), i.to_string().into_bytes())],
            ..rec(produce_value(i, codec))
        })
        .collect();
    let acked = produce(ctx, &t, &recs, &[("compression.type", codec)])?;
    check(
        acked.iter().map(|a| a.1).eq(0..50),
        format!("acked offsets {:?}", &acked[..5]),
    )?;
    let back = read_assigned(ctx, &t, &[(0, Offset::Offset(0))], 50, &[])?;
    for (i, g) in back.iter().enumerate() {
        check(
            g.offset == i as i64
                && g.key.as_deref() == Some(format!("k{i}").as_bytes())
                && g.value == produce_value(i, codec),
            format!("record {i} read back as {g:?}"),
        )?;
        check(
            g.headers == vec![("idx".to_string(), i.to_string().into_bytes())],
            format!("record {i} headers {:?}", g.headers),
        )?;
    }
    Ok(())
}

fn fetch(ctx: &Ctx) -> Res {
    let t = ctx.topic("fetch");
    create(ctx, &t, 3, &[])?;
    let recs: Vec<Rec> = (0..30)
        .map(|i| Rec {
            partition: Some(i % 3),
            key: Some(format!("k{i}").into_bytes()),
            headers: vec![("idx".into(), i.to_string().into_bytes())],
            ..rec(format!("v{i}"))
        })
        .collect();
    produce(ctx, &t, &recs, &[])?;
    let all = read_assigned(
        ctx,
        &t,
        &[
            (0, Offset::Offset(0)),
            (1, Offset::Offset(0)),
            (2, Offset::Offset(0)),
        ],
        30,
        &[],
    )?;
    for p in 0..3 {
        let vals: Vec<String> = all
            .iter()
            .filter(|g| g.partition == p)
            .map(|g| String::from_utf8_lossy(&g.value).into_owned())
            .collect();
        let want: Vec<String> = (p as usize..30)
            .step_by(3)
            .map(|i| format!("v{i}"))
            .collect();
        check(vals == want, format!("partition {p}: {vals:?}"))?;
    }
    let mid = read_assigned(ctx, &t, &[(1, Offset::Offset(5))], 5, &[])?;
    check(
        mid.iter().map(|g| g.offset).eq(5..10),
        format!("offsets from 5: {mid:?}"),
    )?;
    check(mid[0].value == b"v16", "offset 5 of partition 1 is not v16")
}

fn committed(c: &BaseConsumer, topic: &str, parts: &[i32]) -> Result<Vec<i64>, String> {
    let mut tpl = TopicPartitionList::new();
    for p in parts {
        tpl.add_partition(topic, *p);
    }
    let res = c.committed_offsets(tpl, T).map_err(e)?;
    Ok(res
        .elements()
        .iter()
        .map(|x| x.offset().to_raw().unwrap_or(-1))
        .collect())
}

fn group(ctx: &Ctx) -> Res {
    let (t, g) = (ctx.topic("group"), ctx.group("group"));
    create(ctx, &t, 2, &[])?;
    let recs: Vec<Rec> = (0..10)
        .map(|i| Rec {
            partition: Some(i % 2),
            ..rec(format!("a{i}"))
        })
        .collect();
    produce(ctx, &t, &recs, &[])?;
    {
        let c1 = ctx.consumer(Some(&g), &[])?;
        c1.subscribe(&[&t]).map_err(e)?;
        let mut got = values(&read(&c1, 10, Duration::from_secs(30))?);
        got.sort();
        let mut want: Vec<String> = (0..10).map(|i| format!("a{i}")).collect();
        want.sort();
        check(got == want, format!("first consumer read {got:?}"))?;
        c1.commit_consumer_state(CommitMode::Sync).map_err(e)?;
        let offs = committed(&c1, &t, &[0, 1])?;
        check(offs == vec![5, 5], format!("committed {offs:?}"))?;
    }
    let recs: Vec<Rec> = (0..4)
        .map(|i| Rec {
            partition: Some(i % 2),
            ..rec(format!("b{i}"))
        })
        .collect();
    produce(ctx, &t, &recs, &[])?;
    let c2 = ctx.consumer(Some(&g), &[])?;
    c2.subscribe(&[&t]).map_err(e)?;
    let mut got = values(&read(&c2, 4, Duration::from_secs(30))?);
    got.sort();
    check(
        got == vec!["b0", "b1", "b2", "b3"],
        format!("second consumer resumed with {got:?}"),
    )?;
    let extra = read(&c2, 1, Duration::from_secs(1));
    check(extra.is_err(), "more records after the committed ones")
}

fn assigned(c: &BaseConsumer) -> Result<BTreeSet<i32>, String> {
    let _ = c.poll(Duration::from_millis(100));
    Ok(c.assignment()
        .map_err(e)?
        .elements()
        .iter()
        .map(|x| x.partition())
        .collect())
}

fn rebalance(ctx: &Ctx) -> Res {
    let (t, g) = (ctx.topic("rebalance"), ctx.group("rebalance"));
    create(ctx, &t, 4, &[])?;
    let conf = [
        ("heartbeat.interval.ms", "500"),
        ("session.timeout.ms", "6000"),
    ];
    let c1 = ctx.consumer(Some(&g), &conf)?;
    c1.subscribe(&[&t]).map_err(e)?;
    wait_until(Duration::from_secs(20), "c1 assigned 4 partitions", || {
        Ok(assigned(&c1)?.len() == 4)
    })?;
    {
        let c2 = ctx.consumer(Some(&g), &conf)?;
        c2.subscribe(&[&t]).map_err(e)?;
        wait_until(Duration::from_secs(40), "2 partitions each", || {
            let (a1, a2) = (assigned(&c1)?, assigned(&c2)?);
            Ok(a1.len() == 2 && a2.len() == 2 && a1.union(&a2).count() == 4)
        })?;
        // Dropping c2 closes it: LeaveGroup.
    }
    wait_until(Duration::from_secs(40), "c1 back to 4 partitions", || {
        Ok(assigned(&c1)?.len() == 4)
    })
}

fn idempotent(ctx: &Ctx) -> Res {
    let t = ctx.topic("idempotent");
    create(ctx, &t, 1, &[])?;
    let recs: Vec<Rec> = (0..20).map(|i| rec(format!("i{i}"))).collect();
    let acked = produce(
        ctx,
        &t,
        &recs,
        &[("enable.idempotence", "true"), ("acks", "all")],
    )?;
    check(
        acked.iter().map(|a| a.1).eq(0..20),
        format!("acked {acked:?}"),
    )?;
    let back = read_assigned(ctx, &t, &[(0, Offset::Offset(0))], 20, &[])?;
    check(
        values(&back) == (0..20).map(|i| format!("i{i}")).collect::<Vec<_>>(),
        "read back",
    )
}

fn transactions(ctx: &Ctx) -> Res {
    let t = ctx.topic("transactions");
    create(ctx, &t, 1, &[])?;
    let p: ThreadedProducer<DefaultProducerContext> = ctx
        .config()
        .set("transactional.id", format!("{}-txn", ctx.prefix))
        .create()
        .map_err(e)?;
    p.init_transactions(Duration::from_secs(20)).map_err(e)?;
    p.begin_transaction().map_err(e)?;
    for i in 0..5 {
        p.send(BaseRecord::<(), _>::to(&t).payload(&format!("c{i}")))
            .map_err(|(err, _)| e(err))?;
    }
    p.commit_transaction(Duration::from_secs(20)).map_err(e)?;
    p.begin_transaction().map_err(e)?;
    for i in 0..5 {
        p.send(BaseRecord::<(), _>::to(&t).payload(&format!("a{i}")))
            .map_err(|(err, _)| e(err))?;
    }
    p.abort_transaction(Duration::from_secs(20)).map_err(e)?;
    let c = ctx.consumer(
        None,
        &[
            ("isolation.level", "read_committed"),
            ("enable.partition.eof", "true"),
        ],
    )?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&t, 0, Offset::Offset(0))
        .map_err(e)?;
    c.assign(&tpl).map_err(e)?;
    let mut got = vec![];
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match c.poll(Duration::from_millis(300)) {
            None => {}
            Some(Ok(m)) => {
                got.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned())
            }
            Some(Err(KafkaError::PartitionEOF(_))) => break,
            Some(Err(err)) => return Err(format!("consume error {err}")),
        }
    }
    check(
        got == (0..5).map(|i| format!("c{i}")).collect::<Vec<_>>(),
        format!("read_committed saw {got:?}"),
    )
}

fn topic_names(ctx: &Ctx) -> Result<Vec<String>, String> {
    let md = ctx.admin()?.inner().fetch_metadata(None, T).map_err(e)?;
    Ok(md.topics().iter().map(|t| t.name().to_string()).collect())
}

fn partitions_of(ctx: &Ctx, t: &str) -> Result<usize, String> {
    let md = ctx.admin()?.inner().fetch_metadata(Some(t), T).map_err(e)?;
    Ok(md.topics().first().map_or(0, |x| x.partitions().len()))
}

fn admin_topics(ctx: &Ctx) -> Res {
    let t = ctx.topic("admin-topics");
    create(ctx, &t, 2, &[("retention.ms", "3600000")])?;
    check(topic_names(ctx)?.contains(&t), "created topic not listed")?;
    check(partitions_of(ctx, &t)? == 2, "described partitions")?;
    let admin = ctx.admin()?;
    for r in rt()
        .block_on(admin.delete_topics(&[&t], &AdminOptions::new()))
        .map_err(e)?
    {
        r.map_err(|(t, err)| format!("delete {t}: {err}"))?;
    }
    wait_until(Duration::from_secs(20), "topic gone", || {
        Ok(!topic_names(ctx)?.contains(&t))
    })
}

fn admin_partitions(ctx: &Ctx) -> Res {
    let t = ctx.topic("admin-partitions");
    create(ctx, &t, 1, &[])?;
    let admin = ctx.admin()?;
    for r in rt()
        .block_on(admin.create_partitions([&NewPartitions::new(&t, 3)], &AdminOptions::new()))
        .map_err(e)?
    {
        r.map_err(|(t, err)| format!("create partitions {t}: {err}"))?;
    }
    wait_until(Duration::from_secs(20), "3 partitions", || {
        Ok(partitions_of(ctx, &t)? == 3)
    })
}

fn describe(
    ctx: &Ctx,
    spec: ResourceSpecifier<'_>,
) -> Result<HashMap<String, Option<String>>, String> {
    let admin = ctx.admin()?;
    let res = rt()
        .block_on(admin.describe_configs([&spec], &AdminOptions::new()))
        .map_err(e)?;
    let r = res.into_iter().next().ok_or("no result")?.map_err(e)?;
    Ok(r.entries.into_iter().map(|c| (c.name, c.value)).collect())
}

fn admin_configs(ctx: &Ctx) -> Res {
    let t = ctx.topic("admin-configs");
    create(ctx, &t, 1, &[])?;
    let cfg = describe(ctx, ResourceSpecifier::Topic(&t))?;
    check(cfg.contains_key("retention.ms"), "retention.ms missing")?;
    let admin = ctx.admin()?;
    // rdkafka's alter_configs is the (non-incremental) AlterConfigs API.
    let alter = AlterConfig::new(ResourceSpecifier::Topic(&t)).set("retention.ms", "7200000");
    for r in rt()
        .block_on(admin.alter_configs([&alter], &AdminOptions::new()))
        .map_err(e)?
    {
        r.map_err(|(spec, err)| format!("alter {spec:?}: {err}"))?;
    }
    let cfg = describe(ctx, ResourceSpecifier::Topic(&t))?;
    check(
        cfg.get("retention.ms") == Some(&Some("7200000".into())),
        format!("retention.ms is {:?}", cfg.get("retention.ms")),
    )?;
    let md = admin.inner().fetch_metadata(None, T).map_err(e)?;
    let id = md.brokers().first().ok_or("no broker")?.id();
    let bcfg = describe(ctx, ResourceSpecifier::Broker(id))?;
    check(
        bcfg.contains_key("num.partitions"),
        format!(
            "broker config lacks num.partitions ({} entries)",
            bcfg.len()
        ),
    )
}

fn admin_groups(ctx: &Ctx) -> Res {
    let (t, g) = (ctx.topic("admin-groups"), ctx.group("admin-groups"));
    create(ctx, &t, 1, &[])?;
    produce(
        ctx,
        &t,
        &(0..3).map(|i| rec(format!("g{i}"))).collect::<Vec<_>>(),
        &[],
    )?;
    {
        let c = ctx.consumer(Some(&g), &[])?;
        c.subscribe(&[&t]).map_err(e)?;
        read(&c, 3, Duration::from_secs(30))?;
        c.commit_consumer_state(CommitMode::Sync).map_err(e)?;
    }
    let probe = ctx.consumer(Some(&g), &[])?;
    let all = probe.fetch_group_list(None, T).map_err(e)?;
    let names: Vec<&str> = all.groups().iter().map(|x| x.name()).collect();
    check(
        names.contains(&g.as_str()),
        format!("{g} not in listed groups {names:?}"),
    )?;
    let one = probe.fetch_group_list(Some(&g), T).map_err(e)?;
    let desc = one.groups().first().ok_or("group not described")?;
    check(
        matches!(desc.state(), "Empty" | "Stable"),
        format!("group state {}", desc.state()),
    )?;
    // Kafka keeps the protocol type of a group whose members left (state Empty).
    check(
        desc.protocol_type() == "consumer",
        format!(
            "group {} described with protocol type {:?}, not \"consumer\"",
            desc.state(),
            desc.protocol_type()
        ),
    )?;
    let offs = committed(&probe, &t, &[0])?;
    check(offs == vec![3], format!("committed offsets {offs:?}"))
}

fn offsets(ctx: &Ctx) -> Res {
    let t = ctx.topic("offsets");
    create(ctx, &t, 1, &[])?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(e)?
        .as_secs() as i64;
    let base = (now - 600) * 1000;
    let recs: Vec<Rec> = (0..10)
        .map(|i| Rec {
            timestamp: Some(base + i * 1000),
            ..rec(format!("o{i}"))
        })
        .collect();
    produce(ctx, &t, &recs, &[])?;
    let c = ctx.consumer(None, &[])?;
    let (lo, hi) = c.fetch_watermarks(&t, 0, T).map_err(e)?;
    check((lo, hi) == (0, 10), format!("watermarks {lo} {hi}"))?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&t, 0, Offset::Offset(base + 5000))
        .map_err(e)?;
    let res = c.offsets_for_times(tpl, T).map_err(e)?;
    let o = res.elements().first().map(|x| x.offset());
    check(
        o == Some(Offset::Offset(5)),
        format!("offset for timestamp base+5s: {o:?}"),
    )
}

fn delete_records(ctx: &Ctx) -> Res {
    let t = ctx.topic("delete-records");
    create(ctx, &t, 1, &[])?;
    produce(
        ctx,
        &t,
        &(0..10).map(|i| rec(format!("d{i}"))).collect::<Vec<_>>(),
        &[],
    )?;
    let admin = ctx.admin()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&t, 0, Offset::Offset(4))
        .map_err(e)?;
    let res = rt()
        .block_on(admin.delete_records(&tpl, &AdminOptions::new()))
        .map_err(e)?;
    let el = res.elements();
    let first = el.first().ok_or("no result")?;
    first.error().map_err(e)?;
    check(
        first.offset() == Offset::Offset(4),
        format!("low watermark {:?}", first.offset()),
    )?;
    let back = read_assigned(ctx, &t, &[(0, Offset::Beginning)], 6, &[])?;
    check(
        back[0].offset == 4 && back[0].value == b"d4",
        format!("first record after delete: {:?}", back[0]),
    )
}

// --- runner -----------------------------------------------------------------

fn emit(version: &str, scenario: &str, status: &str, reason: &str, secs: f64) {
    let line = serde_json::json!({
        "client": "rdkafka", "version": version, "scenario": scenario,
        "status": status, "reason": reason, "seconds": (secs * 100.0).round() / 100.0,
    });
    println!("MATRIX {line}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: compat-rdkafka BOOTSTRAP TOPIC_PREFIX");
        std::process::exit(2);
    }
    let ctx = Ctx {
        bootstrap: args[1].clone(),
        prefix: args[2].clone(),
    };
    let version = format!("0.39 (librdkafka {})", get_rdkafka_version().1);
    type Scenario = (String, Box<dyn Fn(&Ctx) -> Res + Send>);
    let mut list: Vec<Scenario> = vec![("metadata".into(), Box::new(metadata))];
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        list.push((
            format!("produce-{codec}"),
            Box::new(move |c: &Ctx| produce_codec(c, codec)),
        ));
    }
    list.push(("fetch".into(), Box::new(fetch)));
    list.push(("group".into(), Box::new(group)));
    list.push(("rebalance".into(), Box::new(rebalance)));
    list.push(("idempotent".into(), Box::new(idempotent)));
    list.push(("transactions".into(), Box::new(transactions)));
    list.push(("admin-topics".into(), Box::new(admin_topics)));
    list.push(("admin-partitions".into(), Box::new(admin_partitions)));
    list.push(("admin-configs".into(), Box::new(admin_configs)));
    list.push(("admin-groups".into(), Box::new(admin_groups)));
    list.push(("offsets".into(), Box::new(offsets)));
    list.push(("delete-records".into(), Box::new(delete_records)));
    for (name, f) in list {
        println!("\n=== rdkafka: {name} ===");
        let t0 = Instant::now();
        let (tx, rx) = mpsc::channel();
        let c = ctx.clone();
        std::thread::spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&c)))
                .unwrap_or_else(|_| Err("panicked".to_string()));
            let _ = tx.send(r);
        });
        let (status, reason) = match rx.recv_timeout(SCENARIO_TIMEOUT) {
            Ok(Ok(())) => ("pass", String::new()),
            Ok(Err(r)) => ("fail", r),
            Err(_) => (
                "fail",
                format!("scenario took longer than {}s", SCENARIO_TIMEOUT.as_secs()),
            ),
        };
        if status == "fail" {
            println!("{name}: {reason}");
        }
        emit(&version, &name, status, &reason, t0.elapsed().as_secs_f64());
    }
}
