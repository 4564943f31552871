//! Multi-node harness: N real `tributary-broker` processes started as one
//! KRaft-style cluster (every node `process.roles=broker,controller`), each
//! with its own data directory and log file, on loopback ports chosen before
//! any node starts (every node needs the full `controller.quorum.voters`).
//!
//! Nodes are named by their `node.id`, 1..=N. Besides starting and stopping
//! nodes (`kill9`, `stop`, `start_again`, `pause`/`resume` with
//! SIGSTOP/SIGCONT), the harness asks each node for Metadata, FindCoordinator
//! and the like over raw sockets with short timeouts, so a dead or paused node
//! shows up as an error instead of a hang, and reads partition segment files
//! as raw record batches to compare replicas byte for byte.
//!
//! Safety nets, because a multi-node test can stall in ways a single broker
//! cannot: every wait has a deadline and reports the last state it saw; a
//! watchdog thread kills the nodes and exits the test process if the whole
//! test overruns its deadline; on a panic every node's log is printed and the
//! cluster directory is kept for inspection.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use bytes::{Buf, Bytes};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, FetchRequest, FindCoordinatorRequest, MetadataRequest, ProduceRequest, RequestKind, ResponseHeader,
    ResponseKind, TopicName,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};

use crate::{broker_bin, RawClient};

/// `broker.session.timeout.ms` every node gets: how long a silent broker
/// stays registered before the controller moves its leaderships.
pub const SESSION_TIMEOUT: Duration = Duration::from_millis(3000);
/// `broker.heartbeat.interval.ms`.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(500);
/// `replica.lag.time.max.ms`.
pub const REPLICA_LAG_TIME_MAX: Duration = Duration::from_millis(5000);

/// Kafka error codes the cluster tests look for.
pub mod errors {
    pub const NONE: i16 = 0;
    pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
    pub const REQUEST_TIMED_OUT: i16 = 7;
    pub const NOT_ENOUGH_REPLICAS: i16 = 19;
    pub const NOT_ENOUGH_REPLICAS_AFTER_APPEND: i16 = 20;
}

/// How long a node may take from spawn to accepting connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a node may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of each node's log a panic prints (the whole file stays on disk).
const LOG_DUMP_BYTES: usize = 256 * 1024;
/// Socket timeouts of the harness's own requests: a paused node must not hang it.
const RPC_TIMEOUT: Duration = Duration::from_secs(5);

/// How a cluster is started; `Cluster::builder(n)` ... `.start()`.
pub struct ClusterBuilder {
    nodes: usize,
    extra: Vec<String>,
    deadline: Duration,
    name: String,
}

impl ClusterBuilder {
    /// Extra `key=value` overrides for every node, after the standard ones
    /// (so they win where they name the same key).
    pub fn overrides(mut self, extra: &[&str]) -> Self {
        self.extra.extend(extra.iter().map(|s| s.to_string()));
        self
    }

    /// The most the whole test may take: past it the watchdog prints every
    /// node's log, kills the nodes and exits the test process with failure.
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = d;
        self
    }

    /// A label for log lines and the watchdog message (the test's name).
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    pub fn start(self) -> Cluster {
        assert!(self.nodes >= 1, "a cluster needs at least one node");
        let tmp = tempfile::Builder::new().prefix("tributary-cluster-").tempdir().expect("tempdir");
        let root = tmp.path().to_path_buf();
        // Bind every port before releasing any, so the 2N ports are distinct.
        let held: Vec<TcpListener> =
            (0..2 * self.nodes).map(|_| TcpListener::bind("127.0.0.1:0").expect("bind :0")).collect();
        let ports: Vec<u16> = held.iter().map(|l| l.local_addr().expect("addr").port()).collect();
        drop(held);
        let mut nodes = Vec::with_capacity(self.nodes);
        for i in 0..self.nodes {
            let id = i as i32 + 1;
            let dir = root.join(format!("node-{id}"));
            std::fs::create_dir_all(&dir).expect("node dir");
            nodes.push(Node {
                id,
                port: ports[2 * i],
                controller_port: ports[2 * i + 1],
                data_dir: dir.join("data"),
                log_path: dir.join("broker.log"),
                child: None,
                paused: false,
                starts: 0,
            });
        }
        let voters =
            nodes.iter().map(|n| format!("{}@127.0.0.1:{}", n.id, n.controller_port)).collect::<Vec<_>>().join(",");
        let pids = Arc::new(Mutex::new(BTreeMap::new()));
        let watchdog = spawn_watchdog(
            self.name.clone(),
            self.deadline,
            pids.clone(),
            nodes.iter().map(|n| (n.id, n.log_path.clone())).collect(),
            root.clone(),
        );
        let mut cluster = Cluster {
            nodes,
            voters,
            extra: self.extra,
            name: self.name,
            root,
            tmp: Some(tmp),
            pids,
            _watchdog: watchdog,
        };
        eprintln!("[cluster {}] {} nodes in {}", cluster.name, cluster.nodes.len(), cluster.root.display());
        for id in cluster.node_ids() {
            cluster.spawn(id);
        }
        cluster
    }
}

struct Node {
    id: i32,
    port: u16,
    controller_port: u16,
    data_dir: PathBuf,
    log_path: PathBuf,
    child: Option<Child>,
    paused: bool,
    starts: u32,
}

/// A running cluster owned by a test; every node is killed on drop.
pub struct Cluster {
    nodes: Vec<Node>,
    voters: String,
    extra: Vec<String>,
    name: String,
    root: PathBuf,
    tmp: Option<tempfile::TempDir>,
    /// node id -> pid of the running process, for the watchdog.
    pids: Arc<Mutex<BTreeMap<i32, u32>>>,
    /// Dropping the sender disarms the watchdog.
    _watchdog: mpsc::Sender<()>,
}

impl Cluster {
    pub fn builder(nodes: usize) -> ClusterBuilder {
        ClusterBuilder { nodes, extra: Vec::new(), deadline: Duration::from_secs(600), name: "cluster".into() }
    }

    /// N nodes with the standard overrides and a 10-minute deadline.
    pub fn start(nodes: usize) -> Cluster {
        Self::builder(nodes).start()
    }

    /// The overrides node `id` is started with: the contract of the
    /// replication feature, in Kafka's KRaft property names.
    pub fn node_overrides(&self, id: i32) -> Vec<String> {
        let n = self.node(id);
        let rf = self.nodes.len().min(3);
        let min_isr = rf.min(2);
        let mut o = vec![
            "process.roles=broker,controller".to_string(),
            format!("node.id={id}"),
            format!("controller.quorum.voters={}", self.voters),
            format!("listeners=PLAINTEXT://127.0.0.1:{},CONTROLLER://127.0.0.1:{}", n.port, n.controller_port),
            "controller.listener.names=CONTROLLER".to_string(),
            "inter.broker.listener.name=PLAINTEXT".to_string(),
            format!("log.dirs={}", n.data_dir.display()),
            format!("default.replication.factor={rf}"),
            format!("min.insync.replicas={min_isr}"),
            format!("offsets.topic.replication.factor={rf}"),
            format!("transaction.state.log.replication.factor={rf}"),
            format!("broker.session.timeout.ms={}", SESSION_TIMEOUT.as_millis()),
            format!("broker.heartbeat.interval.ms={}", HEARTBEAT_INTERVAL.as_millis()),
            format!("replica.lag.time.max.ms={}", REPLICA_LAG_TIME_MAX.as_millis()),
        ];
        o.extend(self.extra.iter().cloned());
        o
    }

    fn node(&self, id: i32) -> &Node {
        self.nodes.iter().find(|n| n.id == id).unwrap_or_else(|| panic!("no node {id} in this cluster"))
    }

    fn node_mut(&mut self, id: i32) -> &mut Node {
        self.nodes.iter_mut().find(|n| n.id == id).unwrap_or_else(|| panic!("no node {id} in this cluster"))
    }

    fn spawn(&mut self, id: i32) {
        let args = self.node_overrides(id);
        let name = self.name.clone();
        let pids = self.pids.clone();
        let node = self.node_mut(id);
        assert!(node.child.is_none(), "node {id} is already running");
        std::fs::create_dir_all(&node.data_dir).expect("data dir");
        let mut log = std::fs::OpenOptions::new().create(true).append(true).open(&node.log_path).expect("log file");
        node.starts += 1;
        let _ = writeln!(
            log,
            "===== [harness] start #{} of node {id}: --override {}",
            node.starts,
            args.join(" --override ")
        );
        let mut cmd = Command::new(broker_bin());
        for a in &args {
            cmd.arg("--override").arg(a);
        }
        let child = cmd
            .env("TRIBUTARY_LOG", std::env::var("TRIBUTARY_LOG").unwrap_or_else(|_| "info".into()))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("clone log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn tributary-broker");
        pids.lock().unwrap_or_else(|e| e.into_inner()).insert(id, child.id());
        node.child = Some(child);
        node.paused = false;
        let port = node.port;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_millis(500)).is_ok()
            {
                break;
            }
            let exited = self.node_mut(id).child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.node_mut(id).child = None;
                panic!("[cluster {name}] node {id} exited with {status} before listening:\n{}", self.log(id));
            }
            assert!(
                Instant::now() < deadline,
                "[cluster {name}] node {id} not listening on {port} after {START_TIMEOUT:?}:\n{}",
                self.log(id)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "[cluster {name}] node {id} listening on 127.0.0.1:{port} (controller 127.0.0.1:{})",
            self.node(id).controller_port
        );
    }

    // --- addresses and files ------------------------------------------------

    pub fn node_ids(&self) -> Vec<i32> {
        self.nodes.iter().map(|n| n.id).collect()
    }

    /// Every node's PLAINTEXT address, comma-separated (dead ones included:
    /// clients skip what does not answer).
    pub fn bootstrap(&self) -> String {
        self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect::<Vec<_>>().join(",")
    }

    /// Node `id`'s PLAINTEXT address.
    pub fn addr(&self, id: i32) -> String {
        format!("127.0.0.1:{}", self.node(id).port)
    }

    pub fn controller_addr(&self, id: i32) -> String {
        format!("127.0.0.1:{}", self.node(id).controller_port)
    }

    /// Node `id`'s `log.dirs`.
    pub fn node_data_dir(&self, id: i32) -> PathBuf {
        self.node(id).data_dir.clone()
    }

    /// `<log.dirs>/<topic>-<partition>` of node `id`.
    pub fn partition_dir(&self, id: i32, topic: &str, partition: i32) -> PathBuf {
        self.node_data_dir(id).join(format!("{topic}-{partition}"))
    }

    pub fn log_path(&self, id: i32) -> PathBuf {
        self.node(id).log_path.clone()
    }

    pub fn log(&self, id: i32) -> String {
        std::fs::read_to_string(&self.node(id).log_path).unwrap_or_default()
    }

    // --- process control ------------------------------------------------------

    /// Running (possibly paused).
    pub fn is_running(&mut self, id: i32) -> bool {
        self.node_mut(id).child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    pub fn is_paused(&self, id: i32) -> bool {
        self.node(id).paused
    }

    /// Nodes that are running and not paused: the ones that can answer.
    pub fn live_nodes(&mut self) -> Vec<i32> {
        let ids = self.node_ids();
        ids.into_iter().filter(|&id| self.is_running(id) && !self.is_paused(id)).collect()
    }

    /// `kill -9`: no flush, no goodbye to the controller.
    pub fn kill9(&mut self, id: i32) {
        let name = self.name.clone();
        let pids = self.pids.clone();
        let node = self.node_mut(id);
        if let Some(mut c) = node.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            eprintln!("[cluster {name}] node {id} killed (SIGKILL)");
        }
        node.paused = false;
        pids.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
        self.note(id, "killed with SIGKILL");
    }

    /// SIGTERM (resuming a paused node first) and wait for it to exit; killed
    /// after 30 s. Returns the exit status, `None` if it was not running or
    /// had to be killed.
    pub fn stop(&mut self, id: i32) -> Option<ExitStatus> {
        if self.node(id).paused {
            self.resume(id);
        }
        let name = self.name.clone();
        let pids = self.pids.clone();
        let node = self.node_mut(id);
        let mut c = node.child.take()?;
        let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        let status = loop {
            if let Ok(Some(status)) = c.try_wait() {
                break Some(status);
            }
            if Instant::now() > deadline {
                eprintln!("[cluster {name}] node {id} still running {STOP_TIMEOUT:?} after SIGTERM; killing it");
                let _ = c.kill();
                let _ = c.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        pids.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
        eprintln!("[cluster {name}] node {id} stopped: {status:?}");
        self.note(id, &format!("stopped with SIGTERM: {status:?}"));
        status
    }

    /// Stops every running node (SIGTERM), returning each one's exit status.
    pub fn stop_all(&mut self) -> BTreeMap<i32, Option<ExitStatus>> {
        let ids = self.node_ids();
        let mut out = BTreeMap::new();
        for id in ids {
            if self.node(id).child.is_some() {
                out.insert(id, self.stop(id));
            }
        }
        out
    }

    /// Starts node `id` again (after `kill9` or `stop`) on the same ports and data.
    pub fn start_again(&mut self, id: i32) {
        assert!(self.node(id).child.is_none(), "node {id} is still running");
        self.spawn(id);
    }

    /// SIGSTOP: the process freezes with its sockets open (a GC pause, a hung VM).
    pub fn pause(&mut self, id: i32) {
        let pid = self.node(id).child.as_ref().unwrap_or_else(|| panic!("node {id} is not running")).id();
        signal(pid, "-STOP");
        self.node_mut(id).paused = true;
        eprintln!("[cluster {}] node {id} paused (SIGSTOP)", self.name);
        self.note(id, "paused with SIGSTOP");
    }

    /// SIGCONT after `pause`.
    pub fn resume(&mut self, id: i32) {
        let pid = self.node(id).child.as_ref().unwrap_or_else(|| panic!("node {id} is not running")).id();
        signal(pid, "-CONT");
        self.node_mut(id).paused = false;
        eprintln!("[cluster {}] node {id} resumed (SIGCONT)", self.name);
        self.note(id, "resumed with SIGCONT");
    }

    /// A line in node `id`'s log file, so the log shows what the test did when.
    fn note(&self, id: i32, what: &str) {
        if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(&self.node(id).log_path) {
            let _ = writeln!(f, "===== [harness] node {id} {what}");
        }
    }

    // --- asking the nodes -----------------------------------------------------

    /// One request to node `id` over a fresh connection with short timeouts.
    pub fn call(&self, id: i32, api: ApiKey, version: i16, body: RequestKind) -> anyhow::Result<ResponseKind> {
        let mut c = Conn::connect(&self.addr(id), RPC_TIMEOUT)?;
        c.send(api, version, &body)?;
        c.recv(RPC_TIMEOUT)
    }

    /// Metadata as node `id` sees it: all topics, or the named ones.
    pub fn metadata_from(&self, id: i32, topics: Option<&[&str]>) -> anyhow::Result<MetadataView> {
        let mut req = MetadataRequest::default();
        req.topics = topics.map(|ts| {
            ts.iter()
                .map(|t| {
                    let mut mt = kafka_protocol::messages::metadata_request::MetadataRequestTopic::default();
                    mt.name = Some(topic_name(t));
                    mt
                })
                .collect()
        });
        req.allow_auto_topic_creation = false;
        let resp = self.call(id, ApiKey::Metadata, 12, RequestKind::Metadata(req))?;
        let ResponseKind::Metadata(m) = resp else { bail!("node {id}: not a Metadata response") };
        let mut brokers: Vec<i32> = m.brokers.iter().map(|b| b.node_id.0).collect();
        brokers.sort_unstable();
        let mut view =
            MetadataView { from_node: id, brokers, controller_id: m.controller_id.0, topics: BTreeMap::new() };
        for t in m.topics {
            let Some(name) = t.name else { continue };
            let mut partitions: Vec<PartitionView> = t
                .partitions
                .iter()
                .map(|p| PartitionView {
                    partition: p.partition_index,
                    error_code: p.error_code,
                    leader: p.leader_id.0,
                    leader_epoch: p.leader_epoch,
                    replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                    isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            view.topics.insert(name.0.to_string(), TopicView { error_code: t.error_code, partitions });
        }
        Ok(view)
    }

    /// Metadata from every live node (errors included, per node).
    pub fn metadata_all(&mut self, topics: Option<&[&str]>) -> BTreeMap<i32, anyhow::Result<MetadataView>> {
        self.live_nodes().into_iter().map(|id| (id, self.metadata_from(id, topics))).collect()
    }

    /// The freshest view of a partition among the live nodes' answers: the
    /// one with the highest leader epoch (a node that missed an election
    /// reports an older epoch).
    pub fn partition_view(&mut self, topic: &str, partition: i32) -> Option<PartitionView> {
        self.metadata_all(Some(&[topic]))
            .into_values()
            .filter_map(Result::ok)
            .filter_map(|m| m.partition(topic, partition).cloned())
            .filter(|p| p.error_code == errors::NONE || p.leader >= 0)
            .max_by_key(|p| p.leader_epoch)
    }

    /// The partition's leader in the freshest view, if it has one.
    pub fn leader_of(&mut self, topic: &str, partition: i32) -> Option<i32> {
        self.partition_view(topic, partition).map(|p| p.leader).filter(|&l| l >= 0)
    }

    /// Waits until every live node answers Metadata listing exactly
    /// `n_brokers` brokers (90 s).
    pub fn wait_ready(&mut self, n_brokers: usize) {
        self.wait_ready_within(n_brokers, Duration::from_secs(90));
    }

    pub fn wait_ready_within(&mut self, n_brokers: usize, timeout: Duration) {
        let t0 = Instant::now();
        let what = format!("every live node to list {n_brokers} brokers");
        self.wait_until(&what, timeout, |c| {
            let all = c.metadata_all(Some(&[]));
            if all.is_empty() {
                return Err("no live node".into());
            }
            let ok = all.values().all(|m| m.as_ref().is_ok_and(|m| m.brokers.len() == n_brokers));
            if ok {
                Ok(())
            } else {
                Err(describe_brokers(&all))
            }
        });
        eprintln!("[cluster {}] ready: {n_brokers} brokers after {:.1?}", self.name, t0.elapsed());
    }

    /// Polls `f` every 200 ms until it returns `Ok`, printing the state it
    /// reports every 10 s; panics with the last state after `timeout`.
    pub fn wait_until<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&mut Cluster) -> Result<T, String>,
    ) -> T {
        let t0 = Instant::now();
        let mut last_print = t0;
        loop {
            match f(self) {
                Ok(v) => return v,
                Err(state) => {
                    assert!(
                        t0.elapsed() < timeout,
                        "[cluster {}] timed out after {timeout:?} waiting for {what}; last state:\n{state}",
                        self.name
                    );
                    if last_print.elapsed() >= Duration::from_secs(10) {
                        eprintln!("[cluster {}] still waiting ({:.0?}) for {what}: {state}", self.name, t0.elapsed());
                        last_print = Instant::now();
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until every partition of `topic` has a live leader and exactly
    /// `isr_size` in-sync replicas in the freshest view; returns the views.
    pub fn wait_isr(&mut self, topic: &str, partitions: i32, isr_size: usize, timeout: Duration) -> Vec<PartitionView> {
        let what = format!("{topic}: {partitions} partitions with a leader and {isr_size} in-sync replicas");
        let views = self.wait_until(&what, timeout, |c| {
            let live = c.live_nodes();
            let mut out = Vec::new();
            let mut bad = Vec::new();
            for p in 0..partitions {
                match c.partition_view(topic, p) {
                    Some(v) if live.contains(&v.leader) && v.isr.len() == isr_size => out.push(v),
                    Some(v) => bad.push(format!("{v:?}")),
                    None => bad.push(format!("{topic}-{p}: not in any live node's metadata")),
                }
            }
            if bad.is_empty() {
                Ok(out)
            } else {
                Err(format!("live nodes {live:?}; {}", bad.join("; ")))
            }
        });
        eprintln!("[cluster {}] {what}: ok", self.name);
        views
    }

    /// Waits until the live nodes report a leader for the partition that is
    /// live and not in `not`; returns that view.
    pub fn wait_new_leader(&mut self, topic: &str, partition: i32, not: &[i32], timeout: Duration) -> PartitionView {
        let what = format!("{topic}-{partition}: a live leader other than {not:?}");
        let t0 = Instant::now();
        let v = self.wait_until(&what, timeout, |c| {
            let live = c.live_nodes();
            match c.partition_view(topic, partition) {
                Some(v) if live.contains(&v.leader) && !not.contains(&v.leader) => Ok(v),
                other => Err(format!("live nodes {live:?}; freshest view {other:?}")),
            }
        });
        eprintln!(
            "[cluster {}] {topic}-{partition}: leader {} epoch {} after {:.1?}",
            self.name,
            v.leader,
            v.leader_epoch,
            t0.elapsed()
        );
        v
    }

    /// Creates a topic through the cluster with rdkafka's AdminClient and
    /// waits until every partition has a leader and `rf` in-sync replicas.
    pub fn create_topic(&mut self, topic: &str, partitions: i32, rf: i32, configs: &[(&str, &str)]) {
        use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
        use rdkafka::client::DefaultClientContext;
        use rdkafka::config::ClientConfig;
        let admin: AdminClient<DefaultClientContext> =
            ClientConfig::new().set("bootstrap.servers", self.bootstrap()).create().expect("admin client");
        let mut nt = NewTopic::new(topic, partitions, TopicReplication::Fixed(rf));
        for (k, v) in configs {
            nt = nt.set(k, v);
        }
        let opts = AdminOptions::new()
            .operation_timeout(Some(Duration::from_secs(30)))
            .request_timeout(Some(Duration::from_secs(30)));
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let res = rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(60), admin.create_topics(&[nt], &opts)).await })
            .unwrap_or_else(|_| panic!("CreateTopics {topic}: no answer in 60 s"))
            .unwrap_or_else(|e| panic!("CreateTopics {topic}: {e}"));
        for r in res {
            if let Err((t, e)) = r {
                panic!("CreateTopics {t}: {e}");
            }
        }
        self.wait_isr(topic, partitions, rf as usize, Duration::from_secs(60));
    }

    /// The group coordinator for `group` (FindCoordinator v3, key type 0) as
    /// the first live node that answers without error reports it.
    pub fn find_coordinator(&mut self, group: &str) -> anyhow::Result<i32> {
        let mut errs = Vec::new();
        for id in self.live_nodes() {
            let mut req = FindCoordinatorRequest::default();
            req.key = StrBytes::from_string(group.to_string());
            req.key_type = 0;
            match self.call(id, ApiKey::FindCoordinator, 3, RequestKind::FindCoordinator(req)) {
                Ok(ResponseKind::FindCoordinator(r)) if r.error_code == errors::NONE => return Ok(r.node_id.0),
                Ok(ResponseKind::FindCoordinator(r)) => errs.push(format!("node {id}: error {}", r.error_code)),
                Ok(_) => errs.push(format!("node {id}: wrong response kind")),
                Err(e) => errs.push(format!("node {id}: {e:#}")),
            }
        }
        Err(anyhow!("no coordinator for {group}: {}", errs.join("; ")))
    }

    /// Fetch (v12, as a consumer: replica id -1, no leader epoch) of one
    /// partition from node `id`: the partition's error code and high watermark.
    pub fn fetch_probe(&self, id: i32, topic: &str, partition: i32) -> anyhow::Result<(i16, i64)> {
        self.fetch_at(id, topic, partition, 0).map(|f| (f.error_code, f.high_watermark))
    }

    /// Fetch (v12, as a consumer, no wait) of one partition from node `id`
    /// at `offset`, asking for up to 1 MiB.
    pub fn fetch_at(&self, id: i32, topic: &str, partition: i32, offset: i64) -> anyhow::Result<FetchProbe> {
        let mut f = FetchRequest::default();
        f.max_wait_ms = 0;
        f.min_bytes = 0;
        f.max_bytes = 1 << 20;
        let mut ft = FetchTopic::default();
        ft.topic = topic_name(topic);
        let mut fp = FetchPartition::default();
        fp.partition = partition;
        fp.fetch_offset = offset;
        fp.partition_max_bytes = 1 << 20;
        ft.partitions = vec![fp];
        f.topics = vec![ft];
        let ResponseKind::Fetch(r) = self.call(id, ApiKey::Fetch, 12, RequestKind::Fetch(f))? else {
            bail!("node {id}: not a Fetch response")
        };
        let p =
            r.responses.iter().flat_map(|t| t.partitions.iter()).find(|p| p.partition_index == partition).ok_or_else(
                || anyhow!("node {id}: partition {partition} missing from the Fetch response (error {})", r.error_code),
            )?;
        Ok(FetchProbe {
            error_code: p.error_code,
            high_watermark: p.high_watermark,
            record_bytes: p.records.as_ref().map_or(0, |b| b.len()),
        })
    }

    /// Prints every node's log (the last 256 KiB of each) to stderr.
    pub fn dump_logs(&self) {
        for n in &self.nodes {
            dump_log(n.id, &n.log_path);
        }
    }

    /// Keeps the cluster directory (data and logs) after the test.
    pub fn keep_dir(&mut self) -> PathBuf {
        if let Some(t) = self.tmp.take() {
            let _ = t.keep();
        }
        self.root.clone()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let panicking = std::thread::panicking();
        if panicking {
            eprintln!("[cluster {}] test failed; node logs follow", self.name);
            self.dump_logs();
        }
        for n in &mut self.nodes {
            if let Some(mut c) = n.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        if panicking {
            let dir = self.keep_dir();
            eprintln!("[cluster {}] kept data and full logs in {}", self.name, dir.display());
        }
    }
}

fn signal(pid: u32, sig: &str) {
    let st = Command::new("kill").arg(sig).arg(pid.to_string()).status().expect("run kill");
    assert!(st.success(), "kill {sig} {pid} failed: {st}");
}

fn dump_log(id: i32, path: &Path) {
    let text = std::fs::read(path).unwrap_or_default();
    let start = text.len().saturating_sub(LOG_DUMP_BYTES);
    let skipped = if start > 0 { format!(" (last {LOG_DUMP_BYTES} bytes of {})", text.len()) } else { String::new() };
    eprintln!("---- node {id} log: {}{skipped} ----\n{}", path.display(), String::from_utf8_lossy(&text[start..]));
}

/// Past `deadline`, print every node's log, SIGKILL every node still running
/// and exit the test process: a stuck test fails instead of hanging CI, and
/// leaves no broker behind. Dropping the returned sender disarms it.
fn spawn_watchdog(
    name: String,
    deadline: Duration,
    pids: Arc<Mutex<BTreeMap<i32, u32>>>,
    logs: Vec<(i32, PathBuf)>,
    root: PathBuf,
) -> mpsc::Sender<()> {
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(deadline) {
            eprintln!("[cluster {name}] WATCHDOG: the test did not finish within {deadline:?}; node logs follow");
            for (id, path) in &logs {
                dump_log(*id, path);
            }
            for pid in pids.lock().unwrap_or_else(|e| e.into_inner()).values() {
                let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
            }
            eprintln!("[cluster {name}] WATCHDOG: nodes killed; data and logs left in {}", root.display());
            std::process::exit(101);
        }
    });
    tx
}

fn describe_brokers(all: &BTreeMap<i32, anyhow::Result<MetadataView>>) -> String {
    all.iter()
        .map(|(id, m)| match m {
            Ok(m) => format!("node {id} lists brokers {:?} (controller {})", m.brokers, m.controller_id),
            Err(e) => format!("node {id}: {e:#}"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn topic_name(t: &str) -> TopicName {
    TopicName(StrBytes::from_string(t.to_string()))
}

/// What one Fetch of one partition returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchProbe {
    pub error_code: i16,
    pub high_watermark: i64,
    /// Bytes of record batches in the answer (0: nothing to read there).
    pub record_bytes: usize,
}

// --- metadata views -----------------------------------------------------------

/// One node's answer to Metadata.
#[derive(Debug, Clone)]
pub struct MetadataView {
    pub from_node: i32,
    /// Broker ids listed, sorted.
    pub brokers: Vec<i32>,
    pub controller_id: i32,
    pub topics: BTreeMap<String, TopicView>,
}

#[derive(Debug, Clone)]
pub struct TopicView {
    pub error_code: i16,
    pub partitions: Vec<PartitionView>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionView {
    pub partition: i32,
    pub error_code: i16,
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

impl MetadataView {
    pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionView> {
        self.topics.get(topic)?.partitions.iter().find(|p| p.partition == partition)
    }
}

// --- raw connections ----------------------------------------------------------

/// A raw connection that can send a request now and read its answer later
/// (e.g. send to a paused node, read after it is resumed). Never panics on
/// I/O: a dead or silent peer is an `Err`.
pub struct Conn {
    stream: TcpStream,
    next_correlation: i32,
    pending: Vec<(i32, ApiKey, i16)>,
}

impl Conn {
    pub fn connect(addr: &str, timeout: Duration) -> anyhow::Result<Conn> {
        let sa: SocketAddr = addr.parse().with_context(|| format!("address {addr}"))?;
        let stream = TcpStream::connect_timeout(&sa, timeout).with_context(|| format!("connect {addr}"))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, next_correlation: 1, pending: Vec::new() })
    }

    /// Writes one request; its answer is read by a later `recv`.
    pub fn send(&mut self, api: ApiKey, version: i16, body: &RequestKind) -> anyhow::Result<i32> {
        let cid = self.next_correlation;
        self.next_correlation += 1;
        self.stream.write_all(&RawClient::frame(api, version, cid, body)).context("send request")?;
        self.pending.push((cid, api, version));
        Ok(cid)
    }

    /// Reads the answer to the oldest request not yet answered, waiting at
    /// most `timeout`.
    pub fn recv(&mut self, timeout: Duration) -> anyhow::Result<ResponseKind> {
        if self.pending.is_empty() {
            bail!("no request in flight");
        }
        let (cid, api, version) = self.pending.remove(0);
        self.stream.set_read_timeout(Some(timeout))?;
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).context("read response size (connection closed or timed out)")?;
        let len = i32::from_be_bytes(len);
        if !(0..=(256 << 20)).contains(&len) {
            bail!("response size {len}");
        }
        let mut buf = vec![0u8; len as usize];
        self.stream.read_exact(&mut buf).context("read response body")?;
        let mut frame = Bytes::from(buf);
        let header = ResponseHeader::decode(&mut frame, api.response_header_version(version))
            .map_err(|e| anyhow!("response header: {e}"))?;
        if header.correlation_id != cid {
            bail!("correlation id {} for request {cid}", header.correlation_id);
        }
        let resp =
            ResponseKind::decode(api, &mut frame, version).map_err(|e| anyhow!("{api:?} v{version} response: {e}"))?;
        if frame.remaining() != 0 {
            bail!("{} bytes left after the {api:?} response", frame.remaining());
        }
        Ok(resp)
    }
}

/// A Produce v9 request of one record (no producer id: not idempotent).
pub fn produce_request(
    topic: &str,
    partition: i32,
    acks: i16,
    timeout_ms: i32,
    key: &[u8],
    value: &[u8],
) -> RequestKind {
    let rec = Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
        key: Some(Bytes::copy_from_slice(key)),
        value: Some(Bytes::copy_from_slice(value)),
        headers: Default::default(),
    };
    let mut buf = bytes::BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, [&rec], &RecordEncodeOptions { version: 2, compression: Compression::None })
        .expect("encode batch");
    let mut pd = PartitionProduceData::default();
    pd.index = partition;
    pd.records = Some(buf.freeze());
    let mut td = TopicProduceData::default();
    td.name = topic_name(topic);
    td.partition_data = vec![pd];
    let mut p = ProduceRequest::default();
    p.acks = acks;
    p.timeout_ms = timeout_ms;
    p.topic_data = vec![td];
    RequestKind::Produce(p)
}

/// The version `produce_request` is meant to be sent with.
pub const PRODUCE_VERSION: i16 = 9;

/// (error code, base offset) of the single partition in a Produce response.
pub fn produce_result(resp: &ResponseKind) -> anyhow::Result<(i16, i64)> {
    let ResponseKind::Produce(r) = resp else { bail!("not a Produce response") };
    let p = r
        .responses
        .iter()
        .flat_map(|t| t.partition_responses.iter())
        .next()
        .ok_or_else(|| anyhow!("no partition in the Produce response"))?;
    Ok((p.error_code, p.base_offset))
}

// --- segment files ------------------------------------------------------------

/// One record batch as stored in a segment file, header fields decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBatch {
    pub base_offset: i64,
    pub last_offset: i64,
    pub partition_leader_epoch: i32,
    pub file: PathBuf,
    pub position: u64,
    /// The whole batch, from baseOffset to its last byte.
    pub bytes: Vec<u8>,
}

/// The batches of one replica, and what looked wrong while reading them.
#[derive(Debug, Default)]
pub struct ReplicaLog {
    pub batches: Vec<RawBatch>,
    pub problems: Vec<String>,
}

/// v2 batch header: baseOffset i64, batchLength i32, partitionLeaderEpoch
/// i32, magic i8, crc u32, attributes i16, lastOffsetDelta i32, ... 61 bytes.
const BATCH_HEADER_LEN: usize = 61;
const LOG_OVERHEAD: usize = 12;

/// Reads every `<20-digit base offset>.log` segment of a partition directory
/// in base-offset order and splits it into batches. A torn tail, a wrong
/// magic or offsets going backwards end the file and are noted in `problems`.
pub fn read_replica_log(partition_dir: &Path) -> anyhow::Result<ReplicaLog> {
    let mut segments: Vec<(i64, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(partition_dir).with_context(|| format!("read {}", partition_dir.display()))? {
        let path = e?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if let Some(stem) = name.strip_suffix(".log") {
            if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
                segments.push((stem.parse()?, path));
            }
        }
    }
    segments.sort();
    let mut out = ReplicaLog::default();
    for (seg_base, path) in segments {
        let data = std::fs::read(&path).with_context(|| format!("read {}", path.display()))?;
        let mut pos = 0usize;
        while pos < data.len() {
            let rest = &data[pos..];
            if rest.len() < LOG_OVERHEAD {
                out.problems.push(format!("{}: {} stray bytes at {pos}", path.display(), rest.len()));
                break;
            }
            let base = i64::from_be_bytes(rest[0..8].try_into().expect("8 bytes"));
            let len = i32::from_be_bytes(rest[8..12].try_into().expect("4 bytes"));
            let total = LOG_OVERHEAD as i64 + len as i64;
            if (len as usize) < BATCH_HEADER_LEN - LOG_OVERHEAD || total as usize > rest.len() {
                out.problems.push(format!(
                    "{}: torn or zeroed batch at position {pos} (batchLength {len}, {} bytes left)",
                    path.display(),
                    rest.len()
                ));
                break;
            }
            let b = &rest[..total as usize];
            let epoch = i32::from_be_bytes(b[12..16].try_into().expect("4 bytes"));
            let magic = b[16] as i8;
            let delta = i32::from_be_bytes(b[23..27].try_into().expect("4 bytes"));
            if magic != 2 {
                out.problems.push(format!("{}: magic {magic} at position {pos}", path.display()));
                break;
            }
            if base < seg_base {
                out.problems
                    .push(format!("{}: batch base offset {base} below the segment's base {seg_base}", path.display()));
            }
            if let Some(prev) = out.batches.last() {
                if base <= prev.last_offset {
                    out.problems.push(format!(
                        "{}: batch at {base} does not follow the previous batch ending at {}",
                        path.display(),
                        prev.last_offset
                    ));
                }
            }
            out.batches.push(RawBatch {
                base_offset: base,
                last_offset: base + delta as i64,
                partition_leader_epoch: epoch,
                file: path.clone(),
                position: pos as u64,
                bytes: b.to_vec(),
            });
            pos += total as usize;
        }
    }
    Ok(out)
}
