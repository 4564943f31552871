//! The broker's shared state: configuration, cluster identity, the local
//! replicas of the topics the cluster image assigns here, and producer ids.
//!
//! Topics, partition assignments, leaders, ISRs and configs live in the
//! replicated metadata log (`controller/`); this file turns each new image
//! into local replicas with roles (`apply_image`). Admin calls propose
//! commands to the active controller and return once the change is applied
//! here. Durable here: `meta.properties` (cluster.id, node.id, as Kafka
//! writes it) and each partition's `partition.metadata` (its topic id).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::BrokerConfig;
use crate::controller::{image, Agent, ClusterImage, Command, Controller, PartitionInfo, ProposeError, QuorumConfig, Reply};
use crate::partition::{FollowerState, Partition};
use crate::topic_config::LogConfig;

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// A topic: immutable once built; changes (partitions, configs) replace it.
#[derive(Debug)]
pub struct Topic {
    pub name: String,
    pub id: Uuid,
    pub partitions: Vec<Arc<Partition>>,
    pub configs: BTreeMap<String, String>,
}

impl Topic {
    pub fn is_internal(&self) -> bool {
        self.name.starts_with("__")
    }
}

/// `topics.json` of a pre-quorum single-node data directory, imported once.
#[derive(Debug, Serialize, Deserialize)]
struct LegacyTopic {
    id: Uuid,
    partitions: i32,
    #[serde(default)]
    configs: BTreeMap<String, String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct LegacyMetadata {
    topics: BTreeMap<String, LegacyTopic>,
    producer_id_block_end: i64,
}

const PRODUCER_ID_BLOCK: i64 = 1000;

/// Errors of topic administration, each a Kafka error code.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("Topic '{0}' already exists.")]
    TopicExists(String),
    #[error("{0}")]
    InvalidTopic(String),
    #[error("{0}")]
    InvalidPartitions(String),
    #[error("{0}")]
    InvalidReplicationFactor(String),
    #[error("{0}")]
    InvalidConfig(String),
    #[error("This server does not host this topic-partition.")]
    UnknownTopic,
    #[error("The controller is not available: {0}")]
    NotController(String),
    #[error("{1}")]
    Code(i16, String),
    #[error("storage error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<ProposeError> for AdminError {
    fn from(e: ProposeError) -> Self {
        AdminError::NotController(e.to_string())
    }
}

/// Turns a refused command into the matching admin error.
fn reply_to_result(reply: Reply) -> Result<Reply, AdminError> {
    match reply {
        Reply::Error { code, message } => Err(match code {
            image::codes::TOPIC_ALREADY_EXISTS => AdminError::TopicExists(message),
            image::codes::UNKNOWN_TOPIC_OR_PARTITION => AdminError::UnknownTopic,
            _ => AdminError::Code(code, message),
        }),
        r => Ok(r),
    }
}

/// The fetcher copying from one leader broker, and what it copies.
struct Fetcher {
    task: tokio::task::JoinHandle<()>,
    partitions: Arc<Vec<Arc<Partition>>>,
}

pub struct Broker {
    pub config: BrokerConfig,
    pub node_id: i32,
    pub cluster_id: String,
    log_dir: PathBuf,
    /// Host and port clients are told to use (set once the listener is bound).
    advertised: RwLock<(String, u16)>,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    topic_ids: RwLock<HashMap<Uuid, String>>,
    /// Serializes applying cluster images to the local replicas.
    reconcile_lock: Mutex<u64>,
    producer_ids: Mutex<(i64, i64)>,
    /// Registration, heartbeats and proposals to the controller quorum.
    pub agent: Arc<Agent>,
    /// Replica fetchers, one per leader broker this broker follows.
    fetchers: Mutex<HashMap<i32, Fetcher>>,
    /// High watermarks read from `replication-offset-checkpoint` at start,
    /// and the last ones written there.
    hw_checkpoint: Mutex<HwCheckpoint>,
    /// Consumer groups and committed offsets (state in `__consumer_offsets`).
    pub groups: crate::group::Coordinator,
    /// Transactions (state in `__transaction_state`).
    pub txns: crate::txn::TxnCoordinator,
}

/// Kafka's legal topic names: 1-249 chars of [a-zA-Z0-9._-], not "." or "..".
pub fn validate_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Topic name is illegal, it can't be empty".into());
    }
    if name == "." || name == ".." {
        return Err("Topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > 249 {
        return Err(format!("Topic name is illegal, it can't be longer than 249 characters, topic name: {name}"));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-') {
        return Err(format!("Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"));
    }
    Ok(())
}

const HW_CHECKPOINT: &str = "replication-offset-checkpoint";

/// (high watermarks read at start, high watermarks last written).
type HwCheckpoint = (HashMap<(String, i32), i64>, BTreeMap<(String, i32), i64>);

/// Reads Kafka's checkpoint format: version, count, then `topic partition offset` lines.
fn read_hw_checkpoint(path: &Path) -> HashMap<(String, i32), i64> {
    let Ok(text) = std::fs::read_to_string(path) else { return HashMap::new() };
    text.lines()
        .skip(2)
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (t, p, o) = (it.next()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?);
            Some(((t.to_string(), p), o))
        })
        .collect()
}

/// The cluster id recorded in this node's `meta.properties`, if any.
pub fn local_cluster_id(config: &BrokerConfig) -> anyhow::Result<Option<String>> {
    read_cluster_id(&config.log_dir().join("meta.properties"))
}

fn read_cluster_id(meta_path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(meta_path) {
        Ok(text) => Ok(Some(
            crate::config::parse_properties(&text)
                .get("cluster.id")
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("{} has no cluster.id", meta_path.display()))?,
        )),
        Err(_) => Ok(None),
    }
}

fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn partition_dir(log_dir: &Path, topic: &str, p: i32) -> PathBuf {
    log_dir.join(format!("{topic}-{p}"))
}

impl Broker {
    /// Starts this node's broker: joins (or, when it is a voter, runs) the
    /// controller quorum, registers, waits until the quorum unfences it, and
    /// opens the replicas the cluster image assigns to it.
    pub async fn start(config: BrokerConfig, controller: Option<Arc<Controller>>, advertised: (String, u16)) -> anyhow::Result<Arc<Broker>> {
        let log_dir = config.log_dir();
        std::fs::create_dir_all(&log_dir)?;
        let node_id = config.node_id();
        let q = QuorumConfig::from_config(&config)?;
        let meta_path = log_dir.join("meta.properties");
        let local_cluster_id = read_cluster_id(&meta_path)?;
        let controller = match controller {
            Some(c) => Some(c),
            None if q.is_controller => Some(Controller::start(&q, local_cluster_id.clone().unwrap_or_else(|| kafka_uuid_string(Uuid::new_v4()))).await?),
            None => None,
        };
        let standalone = q.voters.len() == 1 && q.voters.values().all(|a| a.is_empty());
        let agent = Agent::new(q.clone(), controller);
        let (host, port) = advertised.clone();
        let rack = config.broker_rack();
        agent.register(host.clone(), port, rack.clone()).await?;
        tokio::spawn(agent.clone().heartbeat_loop(host, port, rack));
        let mut rx = agent.watch();
        let wait = rx.wait_for(|img| !img.cluster_id.is_empty());
        let cluster_id = match tokio::time::timeout(std::time::Duration::from_secs(60), wait).await {
            Ok(Ok(img)) => img.cluster_id.clone(),
            _ => anyhow::bail!("the controller quorum did not agree on a cluster id within 60s"),
        };
        match &local_cluster_id {
            Some(id) if *id != cluster_id => anyhow::bail!(
                "INCONSISTENT_CLUSTER_ID: {} holds cluster.id {id} but the quorum's cluster id is {cluster_id}",
                meta_path.display()
            ),
            Some(_) => {}
            None => {
                let text = format!("#Written by tributary-broker\nversion=1\ncluster.id={cluster_id}\nnode.id={node_id}\n");
                write_atomic(&meta_path, text.as_bytes())?;
            }
        }
        let broker = Arc::new(Broker {
            node_id,
            cluster_id: cluster_id.clone(),
            log_dir: log_dir.clone(),
            advertised: RwLock::new(advertised),
            topics: RwLock::new(BTreeMap::new()),
            topic_ids: RwLock::new(HashMap::new()),
            reconcile_lock: Mutex::new(0),
            hw_checkpoint: Mutex::new((read_hw_checkpoint(&log_dir.join(HW_CHECKPOINT)), BTreeMap::new())),
            producer_ids: Mutex::new((0, 0)),
            agent: agent.clone(),
            fetchers: Mutex::new(HashMap::new()),
            groups: crate::group::Coordinator::new(&config),
            txns: crate::txn::TxnCoordinator::new(&config),
            config,
        });
        // Follow the image: every change is applied to the local replicas.
        {
            let broker = Arc::downgrade(&broker);
            let mut rx = agent.watch();
            tokio::spawn(async move {
                loop {
                    let img = rx.borrow_and_update().clone();
                    match broker.upgrade() {
                        Some(b) => tokio::task::block_in_place(|| b.apply_image(&img)),
                        None => return,
                    }
                    if rx.changed().await.is_err() {
                        return;
                    }
                }
            });
        }
        let mut rx = agent.watch();
        let me = node_id;
        let inc = agent.incarnation;
        let wait = rx.wait_for(|img| img.brokers.get(&me).is_some_and(|b| b.incarnation == inc && !b.fenced));
        if tokio::time::timeout(std::time::Duration::from_secs(60), wait).await.is_err() {
            tracing::warn!("not unfenced by the controller within 60s; serving anyway (partitions stay leaderless)");
        }
        tokio::task::block_in_place(|| broker.apply_image(&agent.image()));
        if standalone {
            broker.import_legacy_topics().await?;
        }
        tracing::info!(log_dir = %log_dir.display(), topics = broker.topics.read().len(), cluster_id, node_id, "broker started");
        Ok(broker)
    }

    /// A data directory from before the metadata quorum kept its topics in
    /// `topics.json`; a single node imports them once, keeping their ids.
    async fn import_legacy_topics(&self) -> anyhow::Result<()> {
        let path = self.log_dir.join("topics.json");
        let Ok(bytes) = std::fs::read(&path) else { return Ok(()) };
        let md: LegacyMetadata = serde_json::from_slice(&bytes).map_err(|e| anyhow::anyhow!("{} is corrupt: {e}", path.display()))?;
        for (name, t) in md.topics {
            if self.agent.image().topics.contains_key(&name) {
                continue;
            }
            let assignments = vec![vec![self.node_id]; t.partitions.max(1) as usize];
            let cmd = Command::CreateTopic { name: name.clone(), id: t.id, configs: t.configs, assignments };
            reply_to_result(self.agent.propose(cmd).await?).map_err(|e| anyhow::anyhow!("importing topic {name}: {e}"))?;
        }
        if md.producer_id_block_end > self.agent.image().next_producer_id {
            let count = md.producer_id_block_end - self.agent.image().next_producer_id;
            self.agent.propose(Command::AllocateProducerIds { count }).await?;
        }
        std::fs::rename(&path, self.log_dir.join("topics.json.imported"))?;
        tracing::info!("imported topics.json into the cluster metadata log");
        Ok(())
    }

    /// Cluster images, applied in order: opens, updates and removes local
    /// replicas and sets each one's role. Idempotent; older images are skipped.
    pub fn apply_image(self: &Arc<Self>, img: &ClusterImage) {
        // Until this run's registration is in the image, the image is a replay
        // of the past: acting on it could make us a stale leader.
        if img.brokers.get(&self.node_id).is_none_or(|b| b.incarnation != self.agent.incarnation) {
            return;
        }
        let mut applied = self.reconcile_lock.lock();
        if img.applied_index <= *applied {
            return;
        }
        *applied = img.applied_index;
        let now = now_ms();
        let mut follow: HashMap<i32, Vec<Arc<Partition>>> = HashMap::new();
        for (name, ti) in &img.topics {
            let local = self.topic(name);
            let topic = match local {
                Some(t) if t.id == ti.id && t.partitions.len() >= ti.partitions.len() && t.configs == ti.configs => t,
                other => {
                    // Same topic with new partitions or configs: keep its
                    // replicas. A new topic, or one recreated under this
                    // name: drop what was here and open all of them.
                    let mut parts = match other {
                        Some(t) if t.id == ti.id => t.partitions.clone(),
                        Some(old) => {
                            self.remove_local_topic(&old);
                            Vec::new()
                        }
                        None => Vec::new(),
                    };
                    let new_topic = parts.is_empty();
                    let lc = LogConfig::resolve(&ti.configs, &self.config);
                    for p in &parts {
                        p.state.lock().log.set_config(lc.clone());
                    }
                    for i in parts.len()..ti.partitions.len() {
                        match self.open_partition(name, ti.id, i as i32, lc.clone(), now) {
                            Ok(p) => parts.push(p),
                            Err(e) => {
                                tracing::error!(topic = %name, partition = i, error = %e, "cannot open partition");
                                break;
                            }
                        }
                    }
                    let new = Arc::new(Topic { name: name.clone(), id: ti.id, partitions: parts, configs: ti.configs.clone() });
                    self.topics.write().insert(name.clone(), new.clone());
                    if new_topic {
                        self.topic_ids.write().insert(ti.id, name.clone());
                        tracing::info!(topic = %name, partitions = ti.partitions.len(), "topic opened");
                    }
                    new
                }
            };
            for (part, info) in topic.partitions.iter().zip(&ti.partitions) {
                if let Some(leader) = self.update_role(part, info, now) {
                    follow.entry(leader).or_default().push(part.clone());
                }
            }
        }
        let gone: Vec<Arc<Topic>> = self.topics.read().values().filter(|t| !img.topics.contains_key(&t.name)).cloned().collect();
        for t in gone {
            self.remove_local_topic(&t);
            tracing::info!(topic = %t.name, "deleted topic");
        }
        self.set_fetchers(follow);
        drop(applied);
        self.groups.on_leadership(self);
        self.txns.on_leadership(self);
    }

    fn open_partition(&self, topic: &str, id: Uuid, p: i32, lc: LogConfig, now: i64) -> std::io::Result<Arc<Partition>> {
        let dir = partition_dir(&self.log_dir, topic, p);
        let marker = dir.join("partition.metadata");
        let want = format!("version: 0\ntopic_id: {}\n", kafka_uuid_string(id));
        match std::fs::read_to_string(&marker) {
            Ok(have) if have != want => {
                // A leftover of a deleted topic with the same name is not ours.
                let _ = std::fs::remove_dir_all(&dir);
            }
            Err(_) if dir.exists() && !self.log_dir.join("topics.json").exists() => {
                let _ = std::fs::remove_dir_all(&dir);
            }
            _ => {}
        }
        let part = Partition::open(topic, p, &dir, lc, now)?;
        // A replica starts from its last checkpointed high watermark, not its
        // log end: a leader must not expose what the ISR may not have.
        if let Some(hw) = self.hw_checkpoint.lock().0.get(&(topic.to_string(), p)) {
            let mut st = part.state.lock();
            st.high_watermark = (*hw).min(st.log.log_end_offset()).max(st.log.log_start_offset());
        }
        if std::fs::read_to_string(&marker).ok().as_deref() != Some(want.as_str()) {
            write_atomic(&marker, want.as_bytes())?;
        }
        Ok(part)
    }

    fn remove_local_topic(&self, t: &Topic) {
        self.topics.write().remove(&t.name);
        self.topic_ids.write().remove(&t.id);
        for p in &t.partitions {
            let dir = {
                let mut st = p.state.lock();
                st.replica.leader = -1;
                st.log.dir().to_path_buf()
            };
            p.wake();
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "could not remove partition directory");
            }
        }
    }

    /// Sets a replica's role from the image. Returns the leader to follow
    /// when this broker is a follower.
    fn update_role(&self, part: &Arc<Partition>, info: &PartitionInfo, now: i64) -> Option<i32> {
        let me = self.node_id;
        let hosted = info.replicas.contains(&me);
        let mut st = part.state.lock();
        let was_leader = st.replica.is_leader();
        let old_epoch = st.leader_epoch;
        let old_partition_epoch = st.replica.partition_epoch;
        st.replica.node_id = me;
        st.replica.replicas = info.replicas.clone();
        st.replica.isr = info.isr.clone();
        st.replica.partition_epoch = info.partition_epoch;
        if info.partition_epoch != old_partition_epoch {
            st.replica.isr_change_pending = false;
        }
        st.replica.leader = if hosted { info.leader } else { -1 };
        if hosted {
            st.leader_epoch = info.leader_epoch;
        }
        let mut follow = None;
        if st.replica.is_leader() {
            if !was_leader || old_epoch != info.leader_epoch {
                let leo = st.log.log_end_offset();
                st.replica.epoch_start_offset = leo;
                st.replica.followers = info
                    .replicas
                    .iter()
                    .filter(|r| **r != me)
                    .map(|r| (*r, FollowerState { leo: -1, last_caught_up_ms: now, last_fetch_ms: 0, last_fetch_leader_leo: -1 }))
                    .collect();
                tracing::info!(topic = %part.topic, partition = part.index, leader_epoch = info.leader_epoch, isr = ?info.isr, leo, "became leader");
            }
            st.maybe_advance_high_watermark();
        } else {
            st.replica.followers.clear();
            if hosted && info.leader >= 0 {
                follow = Some(info.leader);
                if was_leader || old_epoch != info.leader_epoch {
                    tracing::info!(topic = %part.topic, partition = part.index, leader = info.leader, leader_epoch = info.leader_epoch, "became follower");
                }
            }
        }
        drop(st);
        part.wake();
        follow
    }

    /// Hands each leader's fetcher the partitions it now follows there,
    /// starting fetchers for new leaders; a fetcher whose list became empty
    /// stops at its next round.
    fn set_fetchers(self: &Arc<Self>, mut follow: HashMap<i32, Vec<Arc<Partition>>>) {
        let mut f = self.fetchers.lock();
        f.retain(|_, x| !x.task.is_finished());
        for (leader, fetcher) in f.iter_mut() {
            fetcher.partitions = Arc::new(follow.remove(leader).unwrap_or_default());
        }
        for (leader, partitions) in follow {
            let task = tokio::spawn(crate::replica::run_fetcher(Arc::downgrade(self), leader));
            f.insert(leader, Fetcher { task, partitions: Arc::new(partitions) });
        }
    }

    /// Partitions this broker follows from `leader`. With none left the
    /// fetcher is unregistered (under the lock `set_fetchers` takes) and stops.
    pub fn following(&self, leader: i32) -> Arc<Vec<Arc<Partition>>> {
        let mut f = self.fetchers.lock();
        let parts = f.get(&leader).map(|x| x.partitions.clone()).unwrap_or_default();
        if parts.is_empty() {
            f.remove(&leader);
        }
        parts
    }

    pub fn set_advertised(&self, host: String, port: u16) {
        *self.advertised.write() = (host, port);
    }
    pub fn advertised(&self) -> (String, u16) {
        self.advertised.read().clone()
    }
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.read().get(name).cloned()
    }
    pub fn topic_by_id(&self, id: &Uuid) -> Option<Arc<Topic>> {
        let name = self.topic_ids.read().get(id).cloned()?;
        self.topic(&name)
    }
    pub fn topics(&self) -> Vec<Arc<Topic>> {
        self.topics.read().values().cloned().collect()
    }
    pub fn partition(&self, topic: &str, p: i32) -> Option<Arc<Partition>> {
        let t = self.topic(topic)?;
        usize::try_from(p).ok().and_then(|i| t.partitions.get(i).cloned())
    }

    /// Checks a CreateTopics request without changing anything.
    pub fn validate_new_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &BTreeMap<String, String>,
    ) -> Result<(i32, i16), AdminError> {
        validate_topic_name(name).map_err(AdminError::InvalidTopic)?;
        if self.agent.image().topics.contains_key(name) {
            return Err(AdminError::TopicExists(name.to_string()));
        }
        let partitions = if partitions == -1 { self.config.num_partitions() } else { partitions };
        if partitions < 1 {
            return Err(AdminError::InvalidPartitions("Number of partitions must be larger than 0.".into()));
        }
        let rf = if replication_factor == -1 { self.config.default_replication_factor() } else { replication_factor };
        if rf < 1 {
            return Err(AdminError::InvalidReplicationFactor("Replication factor must be larger than 0.".into()));
        }
        let alive = self.agent.image().alive_brokers().len();
        if rf as usize > alive {
            return Err(AdminError::InvalidReplicationFactor(format!(
                "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only {alive} broker(s) are registered."
            )));
        }
        for (k, v) in configs {
            crate::topic_config::validate(k, v).map_err(AdminError::InvalidConfig)?;
        }
        Ok((partitions, rf))
    }

    /// Creates a topic through the controller; returns once this broker has
    /// opened its replicas.
    pub fn create_topic(
        self: &Arc<Self>,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: BTreeMap<String, String>,
    ) -> Result<Arc<Topic>, AdminError> {
        self.create_topic_assigned(name, partitions, replication_factor, configs, None)
    }

    /// As `create_topic`, with an explicit replica assignment if given.
    pub fn create_topic_assigned(
        self: &Arc<Self>,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: BTreeMap<String, String>,
        manual: Option<Vec<Vec<i32>>>,
    ) -> Result<Arc<Topic>, AdminError> {
        let (partitions, rf) = self.validate_new_topic(name, partitions, replication_factor, &configs)?;
        let start = rand::random::<u32>() as usize;
        let assignments = match manual {
            Some(a) => a,
            None => self.agent.image().assign(partitions, rf as usize, 0, start).map_err(AdminError::InvalidReplicationFactor)?,
        };
        let cmd = Command::CreateTopic { name: name.to_string(), id: Uuid::new_v4(), configs, assignments };
        reply_to_result(self.agent.propose_blocking(cmd)?)?;
        self.apply_image(&self.agent.image());
        tracing::info!(topic = name, partitions, replication_factor = rf, "created topic");
        self.topic(name).ok_or(AdminError::UnknownTopic)
    }

    /// Auto-creation on Metadata when `auto.create.topics.enable`.
    pub fn auto_create(self: &Arc<Self>, name: &str) -> Result<Arc<Topic>, AdminError> {
        if let Some(t) = self.topic(name) {
            return Ok(t);
        }
        match self.create_topic(name, -1, -1, BTreeMap::new()) {
            Err(AdminError::TopicExists(_)) => {
                self.apply_image(&self.agent.image());
                self.topic(name).ok_or(AdminError::UnknownTopic)
            }
            r => r,
        }
    }

    /// Internal topics (`__consumer_offsets`, `__transaction_state`) are
    /// created on first use with the configured replication factor, capped
    /// at the number of live brokers so a single node works out of the box.
    pub fn ensure_internal_topic(self: &Arc<Self>, name: &str, partitions: i32, rf_key: &str) -> Result<Arc<Topic>, AdminError> {
        if let Some(t) = self.topic(name) {
            return Ok(t);
        }
        let want = self.config.get(rf_key).and_then(|v| v.trim().parse::<i16>().ok()).unwrap_or(3).max(1);
        let alive = self.agent.image().alive_brokers().len().max(1) as i16;
        let configs = [("cleanup.policy".to_string(), "compact".to_string()), ("segment.bytes".to_string(), "104857600".to_string())]
            .into_iter()
            .collect();
        match self.create_topic(name, partitions, want.min(alive), configs) {
            Err(AdminError::TopicExists(_)) => {
                self.apply_image(&self.agent.image());
                self.topic(name).ok_or(AdminError::UnknownTopic)
            }
            r => r,
        }
    }

    pub fn delete_topic(self: &Arc<Self>, name: &str) -> Result<Uuid, AdminError> {
        let id = self.agent.image().topics.get(name).map(|t| t.id).ok_or(AdminError::UnknownTopic)?;
        reply_to_result(self.agent.propose_blocking(Command::DeleteTopic { name: name.to_string() })?)?;
        self.apply_image(&self.agent.image());
        Ok(id)
    }

    pub fn create_partitions(self: &Arc<Self>, name: &str, count: i32, validate_only: bool) -> Result<(), AdminError> {
        let image = self.agent.image();
        let t = image.topics.get(name).ok_or(AdminError::UnknownTopic)?;
        let current = t.partitions.len() as i32;
        if count <= current {
            return Err(AdminError::InvalidPartitions(if count == current {
                format!("Topic already has {current} partitions.")
            } else {
                format!("Topic currently has {current} partitions, which is higher than the requested {count}.")
            }));
        }
        let rf = t.partitions.first().map_or(1, |p| p.replicas.len());
        let start = rand::random::<u32>() as usize;
        let assignments = image.assign(count - current, rf, current, start).map_err(AdminError::InvalidReplicationFactor)?;
        if validate_only {
            return Ok(());
        }
        reply_to_result(self.agent.propose_blocking(Command::CreatePartitions { name: name.to_string(), assignments })?)?;
        self.apply_image(&self.agent.image());
        Ok(())
    }

    /// Replaces a topic's config overrides (validated) through the controller.
    pub fn set_topic_configs(self: &Arc<Self>, name: &str, configs: BTreeMap<String, String>, validate_only: bool) -> Result<(), AdminError> {
        if !self.agent.image().topics.contains_key(name) {
            return Err(AdminError::UnknownTopic);
        }
        for (k, v) in &configs {
            crate::topic_config::validate(k, v).map_err(AdminError::InvalidConfig)?;
        }
        if validate_only {
            return Ok(());
        }
        reply_to_result(self.agent.propose_blocking(Command::SetTopicConfigs { name: name.to_string(), configs })?)?;
        self.apply_image(&self.agent.image());
        Ok(())
    }

    /// Hands out a new producer id from a block the controller reserved for
    /// this broker, so an id is never handed out twice in the cluster.
    pub fn next_producer_id(&self) -> std::io::Result<i64> {
        let mut ids = self.producer_ids.lock();
        if ids.0 >= ids.1 {
            drop(ids);
            let start = match self.agent.propose_blocking(Command::AllocateProducerIds { count: PRODUCER_ID_BLOCK }) {
                Ok(Reply::ProducerIds { start }) => start,
                Ok(other) => return Err(std::io::Error::other(format!("unexpected reply {other:?}"))),
                Err(e) => return Err(std::io::Error::other(e.to_string())),
            };
            ids = self.producer_ids.lock();
            *ids = (start, start + PRODUCER_ID_BLOCK);
        }
        let id = ids.0;
        ids.0 += 1;
        Ok(id)
    }

    /// The coordinator for a group (`key_type` 0) or transactional id (1):
    /// the leader of the key's partition of the internal topic, created on
    /// first use.
    pub fn coordinator_for(self: &Arc<Self>, key_type: i8, key: &str) -> Result<(i32, String, u16), kafka_protocol::ResponseError> {
        use kafka_protocol::ResponseError;
        let (topic, n, rf_key) = if key_type == 0 {
            (crate::group::OFFSETS_TOPIC, self.groups.partitions(), "offsets.topic.replication.factor")
        } else {
            (crate::txn::TXN_TOPIC, self.txns.partitions(), "transaction.state.log.replication.factor")
        };
        if let Err(e) = self.ensure_internal_topic(topic, n, rf_key) {
            tracing::warn!(topic, error = %e, "cannot create internal topic");
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        let p = crate::group::records::partition_for(key, n);
        let img = self.agent.image();
        let info = img.partition(topic, p).ok_or(ResponseError::CoordinatorNotAvailable)?;
        let b = img.brokers.get(&info.leader).filter(|b| !b.fenced).ok_or(ResponseError::CoordinatorNotAvailable)?;
        Ok((b.id, b.host.clone(), b.port))
    }

    /// A single node on its own quorum, advertising localhost (tests).
    pub async fn start_standalone(config: BrokerConfig) -> anyhow::Result<Arc<Broker>> {
        Broker::start(config, None, ("localhost".to_string(), 0)).await
    }

    /// Stops replication and the local controller (after `flush_all`).
    pub async fn shutdown(&self) {
        self.agent.controlled_shutdown().await;
        for (_, fetcher) in self.fetchers.lock().drain() {
            fetcher.task.abort();
        }
        self.flush_all();
        self.checkpoint_high_watermarks();
        if let Some(c) = self.agent.controller() {
            let _ = c.raft.shutdown().await;
        }
    }

    /// Writes every replica's high watermark to `replication-offset-checkpoint`
    /// (Kafka's format) when any changed.
    fn checkpoint_high_watermarks(&self) {
        let mut hws = BTreeMap::new();
        for t in self.topics() {
            for p in &t.partitions {
                let st = p.state.lock();
                if st.replica.replicas.contains(&self.node_id) {
                    hws.insert((t.name.clone(), p.index), st.high_watermark);
                }
            }
        }
        let mut cp = self.hw_checkpoint.lock();
        if cp.1 == hws {
            return;
        }
        let mut text = format!("0\n{}\n", hws.len());
        for ((t, p), hw) in &hws {
            text.push_str(&format!("{t} {p} {hw}\n"));
        }
        match write_atomic(&self.log_dir.join(HW_CHECKPOINT), text.as_bytes()) {
            Ok(()) => cp.1 = hws,
            Err(e) => tracing::warn!(error = %e, "cannot write {HW_CHECKPOINT}"),
        }
    }

    /// Periodic housekeeping: retention, time-based flush, the high-watermark checkpoint.
    pub fn housekeeping(&self, retention: bool) {
        self.checkpoint_high_watermarks();
        let now = now_ms();
        let flush_ms = self.config.flush_interval_ms();
        for t in self.topics() {
            for p in &t.partitions {
                let mut st = p.state.lock();
                if retention {
                    match st.log.compact(now) {
                        Ok(n) if n > 0 => tracing::info!(topic = %t.name, partition = p.index, segments = n, "compacted segments"),
                        Ok(_) => {}
                        Err(e) => tracing::error!(topic = %t.name, partition = p.index, error = %e, "compaction failed"),
                    }
                    match st.log.enforce_retention(now) {
                        Ok(n) if n > 0 => tracing::info!(topic = %t.name, partition = p.index, segments = n, "deleted segments by retention"),
                        Ok(_) => {}
                        Err(e) => tracing::error!(topic = %t.name, partition = p.index, error = %e, "retention failed"),
                    }
                }
                if let Err(e) = st.log.flush_if_due(now, flush_ms) {
                    tracing::error!(topic = %t.name, partition = p.index, error = %e, "flush failed");
                }
            }
        }
    }

    /// Flushes every log (clean shutdown).
    pub fn flush_all(&self) {
        for t in self.topics() {
            for p in &t.partitions {
                if let Err(e) = p.state.lock().log.flush() {
                    tracing::error!(topic = %t.name, partition = p.index, error = %e, "flush on shutdown failed");
                }
            }
        }
    }
}

/// Kafka prints cluster ids as URL-safe base64 of the 16 UUID bytes, unpadded.
pub fn kafka_uuid_string(id: Uuid) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = id.as_bytes();
    let mut out = String::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in bytes {
        acc = (acc << 8) | *b as u32;
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(ALPHABET[((acc >> bits) & 63) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (6 - bits)) & 63) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(validate_topic_name("orders.v1_x-y").is_ok());
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name("..").is_err());
        assert!(validate_topic_name("a b").is_err());
        assert!(validate_topic_name(&"x".repeat(250)).is_err());
    }

    #[test]
    fn cluster_id_is_22_chars_of_url_safe_base64() {
        let s = kafka_uuid_string(Uuid::new_v4());
        assert_eq!(s.len(), 22);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn topics_and_producer_ids_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = BrokerConfig::from_props([("log.dirs".to_string(), dir.path().display().to_string())].into_iter().collect()).unwrap();
        let b = Broker::start_standalone(cfg.clone()).await.unwrap();
        let configs: BTreeMap<_, _> = [("retention.ms".to_string(), "1000".to_string())].into_iter().collect();
        let t = b.create_topic("t1", 3, -1, configs).unwrap();
        assert!(matches!(b.create_topic("t1", 1, -1, BTreeMap::new()), Err(AdminError::TopicExists(_))));
        let pid = b.next_producer_id().unwrap();
        let cluster = b.cluster_id.clone();
        b.shutdown().await;
        drop(b);
        let b = Broker::start_standalone(cfg).await.unwrap();
        assert_eq!(b.cluster_id, cluster);
        let t2 = b.topic("t1").unwrap();
        assert_eq!((t2.id, t2.partitions.len()), (t.id, 3));
        assert_eq!(t2.configs.get("retention.ms").map(String::as_str), Some("1000"));
        assert!(b.next_producer_id().unwrap() > pid);
        b.delete_topic("t1").unwrap();
        assert!(b.topic("t1").is_none());
        assert!(!dir.path().join("t1-0").exists());
    }
}
