//! The broker's shared state: configuration, cluster identity, the topic
//! registry (names, ids, partition logs, topic configs) and producer ids.
//!
//! Durable state here: `meta.properties` (cluster.id, node.id, as Kafka writes
//! it) and `topics.json` (every topic's id, partition count and config
//! overrides, plus the producer-id block), both replaced atomically with fsync
//! (write temp file, fsync, rename, fsync dir) whenever they change.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::BrokerConfig;
use crate::partition::Partition;
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

#[derive(Debug, Serialize, Deserialize)]
struct TopicRecord {
    id: Uuid,
    partitions: i32,
    #[serde(default)]
    configs: BTreeMap<String, String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct MetadataFile {
    topics: BTreeMap<String, TopicRecord>,
    /// Producer ids below this may have been handed out; the next block starts here.
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
    #[error("storage error: {0}")]
    Io(#[from] std::io::Error),
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
    /// Serializes topic-registry changes and their persistence.
    admin_lock: Mutex<()>,
    producer_ids: Mutex<(i64, i64)>,
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
    /// Opens the data directory: reads or creates meta.properties, loads every
    /// topic and recovers each partition's log.
    pub fn open(config: BrokerConfig) -> anyhow::Result<Arc<Broker>> {
        let log_dir = config.log_dir();
        std::fs::create_dir_all(&log_dir)?;
        let node_id = config.node_id();
        let meta_path = log_dir.join("meta.properties");
        let cluster_id = match std::fs::read_to_string(&meta_path) {
            Ok(text) => crate::config::parse_properties(&text)
                .get("cluster.id")
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("{} has no cluster.id", meta_path.display()))?,
            Err(_) => {
                let id = kafka_uuid_string(Uuid::new_v4());
                let text = format!("#Written by tributary-broker\nversion=1\ncluster.id={id}\nnode.id={node_id}\n");
                write_atomic(&meta_path, text.as_bytes())?;
                id
            }
        };
        let md: MetadataFile = match std::fs::read(log_dir.join("topics.json")) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| anyhow::anyhow!("{} is corrupt: {e}", log_dir.join("topics.json").display()))?,
            Err(_) => MetadataFile::default(),
        };
        let now = now_ms();
        let mut topics = BTreeMap::new();
        let mut ids = HashMap::new();
        for (name, rec) in &md.topics {
            let lc = LogConfig::resolve(&rec.configs, &config);
            let mut parts = Vec::new();
            for p in 0..rec.partitions {
                parts.push(Partition::open(name, p, &partition_dir(&log_dir, name, p), lc.clone(), now)?);
            }
            ids.insert(rec.id, name.clone());
            topics.insert(
                name.clone(),
                Arc::new(Topic { name: name.clone(), id: rec.id, partitions: parts, configs: rec.configs.clone() }),
            );
        }
        tracing::info!(log_dir = %log_dir.display(), topics = topics.len(), cluster_id, "log directory loaded");
        let block_end = md.producer_id_block_end;
        let advertised = config.advertised(None);
        let broker = Arc::new(Broker {
            node_id,
            cluster_id,
            log_dir,
            advertised: RwLock::new(advertised),
            topics: RwLock::new(topics),
            topic_ids: RwLock::new(ids),
            admin_lock: Mutex::new(()),
            // Start at the persisted block end: ids from a previous run are never reused.
            producer_ids: Mutex::new((block_end, block_end)),
            groups: crate::group::Coordinator::new(&config),
            txns: crate::txn::TxnCoordinator::new(&config),
            config,
        });
        broker.groups.start(&broker)?;
        broker.txns.start(&broker)?;
        Ok(broker)
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

    fn persist(&self) -> std::io::Result<()> {
        let topics = self.topics.read();
        let md = MetadataFile {
            topics: topics
                .values()
                .map(|t| {
                    (t.name.clone(), TopicRecord { id: t.id, partitions: t.partitions.len() as i32, configs: t.configs.clone() })
                })
                .collect(),
            producer_id_block_end: self.producer_ids.lock().1,
        };
        drop(topics);
        let json = serde_json::to_vec_pretty(&md).map_err(std::io::Error::other)?;
        write_atomic(&self.log_dir.join("topics.json"), &json)
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
        if self.topics.read().contains_key(name) {
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
        if rf > 1 {
            return Err(AdminError::InvalidReplicationFactor(format!(
                "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only 1 broker(s) are registered."
            )));
        }
        for (k, v) in configs {
            crate::topic_config::validate(k, v).map_err(AdminError::InvalidConfig)?;
        }
        Ok((partitions, rf))
    }

    /// Creates a topic (partitions and configs already validated).
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: BTreeMap<String, String>,
    ) -> Result<Arc<Topic>, AdminError> {
        let _g = self.admin_lock.lock();
        let (partitions, _) = self.validate_new_topic(name, partitions, replication_factor, &configs)?;
        let lc = LogConfig::resolve(&configs, &self.config);
        let now = now_ms();
        let mut parts = Vec::new();
        for p in 0..partitions {
            let dir = partition_dir(&self.log_dir, name, p);
            // A leftover directory from a deleted topic of the same name is not ours.
            let _ = std::fs::remove_dir_all(&dir);
            parts.push(Partition::open(name, p, &dir, lc.clone(), now)?);
        }
        let topic = Arc::new(Topic { name: name.to_string(), id: Uuid::new_v4(), partitions: parts, configs });
        self.topics.write().insert(name.to_string(), topic.clone());
        self.topic_ids.write().insert(topic.id, name.to_string());
        self.persist()?;
        tracing::info!(topic = name, partitions, "created topic");
        Ok(topic)
    }

    /// Auto-creation on Metadata/Produce when `auto.create.topics.enable`.
    pub fn auto_create(&self, name: &str) -> Result<Arc<Topic>, AdminError> {
        if let Some(t) = self.topic(name) {
            return Ok(t);
        }
        match self.create_topic(name, -1, -1, BTreeMap::new()) {
            Err(AdminError::TopicExists(_)) => self.topic(name).ok_or(AdminError::UnknownTopic),
            r => r,
        }
    }

    pub fn delete_topic(&self, name: &str) -> Result<Uuid, AdminError> {
        let _g = self.admin_lock.lock();
        let topic = self.topics.write().remove(name).ok_or(AdminError::UnknownTopic)?;
        self.topic_ids.write().remove(&topic.id);
        self.persist()?;
        for p in &topic.partitions {
            let dir = p.state.lock().log.dir().to_path_buf();
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "could not remove partition directory");
            }
        }
        tracing::info!(topic = name, "deleted topic");
        Ok(topic.id)
    }

    pub fn create_partitions(&self, name: &str, count: i32, validate_only: bool) -> Result<(), AdminError> {
        let _g = self.admin_lock.lock();
        let topic = self.topic(name).ok_or(AdminError::UnknownTopic)?;
        let current = topic.partitions.len() as i32;
        if count <= current {
            return Err(AdminError::InvalidPartitions(if count == current {
                format!("Topic already has {current} partitions.")
            } else {
                format!("Topic currently has {current} partitions, which is higher than the requested {count}.")
            }));
        }
        if validate_only {
            return Ok(());
        }
        let lc = LogConfig::resolve(&topic.configs, &self.config);
        let mut parts = topic.partitions.clone();
        for p in current..count {
            let dir = partition_dir(&self.log_dir, name, p);
            let _ = std::fs::remove_dir_all(&dir);
            parts.push(Partition::open(name, p, &dir, lc.clone(), now_ms())?);
        }
        let new = Arc::new(Topic { name: topic.name.clone(), id: topic.id, partitions: parts, configs: topic.configs.clone() });
        self.topics.write().insert(name.to_string(), new);
        self.persist()?;
        Ok(())
    }

    /// Replaces a topic's config overrides (validated) and applies them to its logs.
    pub fn set_topic_configs(&self, name: &str, configs: BTreeMap<String, String>, validate_only: bool) -> Result<(), AdminError> {
        let _g = self.admin_lock.lock();
        let topic = self.topic(name).ok_or(AdminError::UnknownTopic)?;
        for (k, v) in &configs {
            crate::topic_config::validate(k, v).map_err(AdminError::InvalidConfig)?;
        }
        if validate_only {
            return Ok(());
        }
        let lc = LogConfig::resolve(&configs, &self.config);
        for p in &topic.partitions {
            p.state.lock().log.set_config(lc.clone());
        }
        let new = Arc::new(Topic { name: topic.name.clone(), id: topic.id, partitions: topic.partitions.clone(), configs });
        self.topics.write().insert(name.to_string(), new);
        self.persist()?;
        Ok(())
    }

    /// Hands out a new producer id; blocks of ids are reserved durably so an id
    /// is never reused after a restart.
    pub fn next_producer_id(&self) -> std::io::Result<i64> {
        let mut ids = self.producer_ids.lock();
        if ids.0 >= ids.1 {
            ids.1 = ids.0 + PRODUCER_ID_BLOCK;
            drop(ids);
            self.persist()?;
            ids = self.producer_ids.lock();
        }
        let id = ids.0;
        ids.0 += 1;
        Ok(id)
    }

    /// Periodic housekeeping: retention, and time-based flush.
    pub fn housekeeping(&self, retention: bool) {
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

    #[test]
    fn topics_and_producer_ids_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = BrokerConfig::from_props([("log.dirs".to_string(), dir.path().display().to_string())].into_iter().collect()).unwrap();
        let b = Broker::open(cfg.clone()).unwrap();
        let configs: BTreeMap<_, _> = [("retention.ms".to_string(), "1000".to_string())].into_iter().collect();
        let t = b.create_topic("t1", 3, -1, configs).unwrap();
        assert!(matches!(b.create_topic("t1", 1, -1, BTreeMap::new()), Err(AdminError::TopicExists(_))));
        let pid = b.next_producer_id().unwrap();
        let cluster = b.cluster_id.clone();
        drop(b);
        let b = Broker::open(cfg).unwrap();
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
