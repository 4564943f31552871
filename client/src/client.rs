//! [`Client`]: bootstrap, a metadata cache, one pooled connection per broker,
//! and the data-plane and admin calls (Metadata, CreateTopics, Produce, Fetch,
//! ListOffsets, FindCoordinator, OffsetCommit/OffsetFetch). Group membership
//! lives in [`crate::group`].
//!
//! Every call retries retriable failures (a lost connection, a leader that
//! moved, a coordinator still loading) up to `retries` times with linear
//! backoff, refreshing metadata when the error says the cached locations are
//! stale.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreateTopicsRequest, FetchRequest, FindCoordinatorRequest, GroupId,
    ListOffsetsRequest, MetadataRequest, OffsetCommitRequest, OffsetFetchRequest, ProduceRequest,
    TopicName,
};
use kafka_protocol::protocol::{Request, StrBytes};
use kafka_protocol::ResponseError;

use crate::connection::{Connection, ConnectionConfig};
use crate::error::{Error, Result};
use crate::records::{
    decode_fetched, encode_batch, next_offset_after, ConsumedRecord, ProduceRecord,
};
use crate::versions::ApiVersionMap;

/// How a [`Client`] finds and talks to the cluster.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `host:port` entries; `PLAINTEXT://` prefixes are accepted and stripped.
    pub bootstrap: Vec<String>,
    pub connection: ConnectionConfig,
    /// Extra attempts after a retriable failure.
    pub retries: u32,
    /// Wait before retry n is n × this (capped at 2 s).
    pub retry_backoff: Duration,
}

impl ClientConfig {
    /// Parses a Kafka-style `bootstrap.servers` value: comma-separated,
    /// optional `PLAINTEXT://` (or any `scheme://`) prefix per entry.
    pub fn new(bootstrap_servers: &str) -> ClientConfig {
        let bootstrap = bootstrap_servers
            .split(',')
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.split_once("://")
                    .map_or(s, |(_, rest)| rest)
                    .trim_end_matches('/')
                    .to_string()
            })
            .collect();
        ClientConfig {
            bootstrap,
            connection: ConnectionConfig::default(),
            retries: 10,
            retry_backoff: Duration::from_millis(100),
        }
    }

    pub fn client_id(mut self, id: impl Into<String>) -> ClientConfig {
        self.connection.client_id = id.into();
        self
    }
}

/// Where a partition lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMetadata {
    pub partition: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub error: Option<ResponseError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    pub name: String,
    pub error: Option<ResponseError>,
    pub is_internal: bool,
    pub partitions: BTreeMap<i32, PartitionMetadata>,
}

/// The cluster as the last Metadata response described it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterMetadata {
    pub cluster_id: Option<String>,
    pub controller: Option<i32>,
    pub brokers: BTreeMap<i32, String>,
    pub topics: BTreeMap<String, TopicMetadata>,
}

/// A topic to create.
#[derive(Debug, Clone)]
pub struct NewTopic {
    pub name: String,
    pub partitions: i32,
    /// -1 lets the broker use its default.
    pub replication_factor: i16,
    pub configs: Vec<(String, String)>,
}

impl NewTopic {
    pub fn new(name: impl Into<String>, partitions: i32) -> NewTopic {
        NewTopic {
            name: name.into(),
            partitions,
            replication_factor: -1,
            configs: Vec::new(),
        }
    }

    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> NewTopic {
        self.configs.push((key.into(), value.into()));
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicCreation {
    Created,
    /// TOPIC_ALREADY_EXISTS: someone else (or an earlier run) made it.
    AlreadyExisted,
}

/// Which end of a partition ListOffsets should report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    Earliest,
    Latest,
}

#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// How long the broker may wait for `min_bytes` to accumulate.
    pub max_wait: Duration,
    pub min_bytes: i32,
    pub max_bytes: i32,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            max_wait: Duration::from_millis(500),
            min_bytes: 1,
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

/// The result of one Fetch of one partition.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub records: Vec<ConsumedRecord>,
    pub high_watermark: i64,
    pub log_start_offset: i64,
    /// Where the next fetch should start: past every complete batch seen,
    /// including batches that held only control records.
    pub next_offset: i64,
}

/// A generation a committing member belongs to; `None` commits as a simple
/// (memberless) group, as Kafka allows for generation -1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupGeneration {
    pub generation_id: i32,
    pub member_id: String,
}

/// One committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub topic: String,
    pub partition: i32,
    /// -1 when the group has no offset for this partition.
    pub offset: i64,
    pub metadata: Option<String>,
}

type Slot = Arc<tokio::sync::Mutex<Option<Connection>>>;

struct Shared {
    config: ClientConfig,
    metadata: Mutex<ClusterMetadata>,
}

/// A cheap-to-clone handle; clones share connections and metadata.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    pool: Arc<Mutex<HashMap<String, Slot>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("bootstrap", &self.shared.config.bootstrap)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks leaves plain data behind; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client> {
        if config.bootstrap.is_empty() {
            return Err(Error::InvalidArgument("no bootstrap servers".into()));
        }
        Ok(Client {
            shared: Arc::new(Shared {
                config,
                metadata: Mutex::new(ClusterMetadata::default()),
            }),
            pool: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// A handle sharing metadata but with connections of its own, for a task
    /// whose long polls must not delay everyone else's requests.
    pub fn fork(&self) -> Client {
        Client {
            shared: self.shared.clone(),
            pool: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.shared.config
    }

    /// The last metadata seen (may be empty before the first call).
    pub fn cached_metadata(&self) -> ClusterMetadata {
        lock(&self.shared.metadata).clone()
    }

    // --- connections ---------------------------------------------------------

    fn slot(&self, addr: &str) -> Slot {
        lock(&self.pool)
            .entry(addr.to_string())
            .or_default()
            .clone()
    }

    /// Sends `req` at `version` on the pooled connection to `addr`,
    /// connecting first if needed and dropping the connection if it broke.
    pub(crate) async fn send_to<R: Request>(
        &self,
        addr: &str,
        req: &R,
        version: i16,
        long_poll: Duration,
    ) -> Result<R::Response> {
        let slot = self.slot(addr);
        let mut guard = slot.lock().await;
        // The connection is taken out of its slot for the round trip and only
        // put back once the response was read: if this future is dropped
        // mid-request (a `select!`, a timeout), the connection goes with it
        // instead of leaving an unread response in front of the next caller.
        let mut conn = match guard.take() {
            Some(c) => c,
            None => Connection::connect(addr, &self.shared.config.connection).await?,
        };
        let result = conn.send(req, version, long_poll).await;
        match &result {
            Err(e) if e.breaks_connection() => {
                tracing::debug!(addr, error = %e, "dropping connection");
            }
            _ => *guard = Some(conn),
        }
        result
    }

    /// The API versions negotiated with `addr` (connecting if needed).
    pub async fn versions_at(&self, addr: &str) -> Result<ApiVersionMap> {
        let slot = self.slot(addr);
        let mut guard = slot.lock().await;
        let conn = match guard.as_mut() {
            Some(c) => c,
            None => guard.insert(Connection::connect(addr, &self.shared.config.connection).await?),
        };
        Ok(conn.versions().clone())
    }

    pub(crate) async fn version_at(&self, addr: &str, api: ApiKey) -> Result<i16> {
        let versions = self.versions_at(addr).await?;
        versions.get(api).ok_or_else(|| {
            let (min, max) = crate::versions::our_range(api).unwrap_or((0, 0));
            Error::UnsupportedApi {
                addr: addr.to_string(),
                api,
                min,
                max,
            }
        })
    }

    /// Known brokers first, then the bootstrap list, without duplicates.
    fn candidate_addrs(&self) -> Vec<String> {
        let mut addrs: Vec<String> = lock(&self.shared.metadata)
            .brokers
            .values()
            .cloned()
            .collect();
        for b in &self.shared.config.bootstrap {
            if !addrs.contains(b) {
                addrs.push(b.clone());
            }
        }
        addrs
    }

    /// Runs `op` against the first broker that answers.
    async fn on_any_broker<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T>
    where
        F: FnMut(String) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut last = None;
        for addr in self.candidate_addrs() {
            match op(addr.clone()).await {
                Ok(v) => return Ok(v),
                Err(e) if matches!(e, Error::Io { .. } | Error::Timeout { .. }) => {
                    tracing::debug!(addr, error = %e, what, "broker unreachable, trying the next");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::NoBroker(what.to_string())))
    }

    /// Retries `op` while it fails with a retriable error.
    pub(crate) async fn retrying<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 0u32;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retriable() && attempt < self.shared.config.retries => {
                    attempt += 1;
                    if e.invalidates_metadata() {
                        self.invalidate_metadata();
                    }
                    let wait =
                        (self.shared.config.retry_backoff * attempt).min(Duration::from_secs(2));
                    tracing::debug!(what, attempt, error = %e, wait_ms = wait.as_millis() as u64, "retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn invalidate_metadata(&self) {
        lock(&self.shared.metadata).topics.clear();
    }

    // --- metadata ----------------------------------------------------------

    /// Fetches metadata for `topics` (all topics for `None`) and caches it.
    pub async fn metadata(&self, topics: Option<&[&str]>) -> Result<ClusterMetadata> {
        self.retrying("metadata", || self.metadata_once(topics))
            .await
    }

    async fn metadata_once(&self, topics: Option<&[&str]>) -> Result<ClusterMetadata> {
        let resp = self
            .on_any_broker("metadata", |addr| async move {
                let version = self.version_at(&addr, ApiKey::Metadata).await?;
                let mut req = MetadataRequest::default();
                req.topics = topics.map(|ts| {
                    ts.iter()
                        .map(|t| {
                            let mut rt = MetadataRequestTopic::default();
                            rt.name = Some(topic_name(t));
                            rt
                        })
                        .collect()
                });
                if version >= 4 {
                    // Looking a topic up must not create it.
                    req.allow_auto_topic_creation = false;
                }
                self.send_to(&addr, &req, version, Duration::ZERO).await
            })
            .await?;
        let mut md = ClusterMetadata {
            cluster_id: resp.cluster_id.map(|s| s.to_string()),
            controller: (resp.controller_id.0 >= 0).then_some(resp.controller_id.0),
            brokers: resp
                .brokers
                .iter()
                .map(|b| (b.node_id.0, format!("{}:{}", b.host, b.port)))
                .collect(),
            topics: BTreeMap::new(),
        };
        for t in resp.topics {
            let Some(name) = t.name.map(|n| n.0.to_string()) else {
                continue;
            };
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    (
                        p.partition_index,
                        PartitionMetadata {
                            partition: p.partition_index,
                            leader: p.leader_id.0,
                            leader_epoch: p.leader_epoch,
                            error: ResponseError::try_from_code(p.error_code),
                        },
                    )
                })
                .collect();
            md.topics.insert(
                name.clone(),
                TopicMetadata {
                    name,
                    error: ResponseError::try_from_code(t.error_code),
                    is_internal: t.is_internal,
                    partitions,
                },
            );
        }
        let mut cached = lock(&self.shared.metadata);
        cached.cluster_id = md.cluster_id.clone();
        cached.controller = md.controller;
        if !md.brokers.is_empty() {
            cached.brokers = md.brokers.clone();
        }
        for (k, v) in &md.topics {
            cached.topics.insert(k.clone(), v.clone());
        }
        Ok(md)
    }

    /// The address of the leader of `topic`/`partition`, from the cache or a
    /// fresh Metadata call.
    pub async fn leader_for(&self, topic: &str, partition: i32) -> Result<String> {
        if let Some(addr) = self.cached_leader(topic, partition) {
            return Ok(addr);
        }
        let md = self.metadata_once(Some(&[topic])).await?;
        let t = md.topics.get(topic).ok_or_else(|| Error::Kafka {
            code: ResponseError::UnknownTopicOrPartition,
            context: format!("metadata for {topic}"),
            message: None,
        })?;
        if let Some(code) = t.error {
            return Err(Error::Kafka {
                code,
                context: format!("metadata for {topic}"),
                message: None,
            });
        }
        let p = t.partitions.get(&partition).ok_or_else(|| Error::Kafka {
            code: ResponseError::UnknownTopicOrPartition,
            context: format!("metadata for {topic}-{partition}"),
            message: None,
        })?;
        md.brokers
            .get(&p.leader)
            .cloned()
            .ok_or_else(|| Error::Kafka {
                code: ResponseError::LeaderNotAvailable,
                context: format!("leader of {topic}-{partition}"),
                message: None,
            })
    }

    fn cached_leader(&self, topic: &str, partition: i32) -> Option<String> {
        let md = lock(&self.shared.metadata);
        let p = md.topics.get(topic)?.partitions.get(&partition)?;
        if p.error.is_some() {
            return None;
        }
        md.brokers.get(&p.leader).cloned()
    }

    // --- admin -------------------------------------------------------------

    /// Creates a topic; an existing topic is not an error.
    pub async fn create_topic(&self, topic: &NewTopic) -> Result<TopicCreation> {
        self.retrying("create topic", || self.create_topic_once(topic))
            .await
    }

    async fn create_topic_once(&self, topic: &NewTopic) -> Result<TopicCreation> {
        // CreateTopics goes to the controller when we know it.
        if lock(&self.shared.metadata).controller.is_none() {
            self.metadata_once(Some(&[])).await?;
        }
        let controller = {
            let md = lock(&self.shared.metadata);
            md.controller.and_then(|id| md.brokers.get(&id).cloned())
        };
        let send = |addr: String| async move {
            let version = self.version_at(&addr, ApiKey::CreateTopics).await?;
            let mut t = CreatableTopic::default();
            t.name = topic_name(&topic.name);
            t.num_partitions = topic.partitions;
            t.replication_factor = topic.replication_factor;
            t.configs = topic
                .configs
                .iter()
                .map(|(k, v)| {
                    let mut c = CreatableTopicConfig::default();
                    c.name = StrBytes::from_string(k.clone());
                    c.value = Some(StrBytes::from_string(v.clone()));
                    c
                })
                .collect();
            let mut req = CreateTopicsRequest::default();
            req.topics = vec![t];
            req.timeout_ms = self
                .shared
                .config
                .connection
                .request_timeout
                .as_millis()
                .min(i32::MAX as u128) as i32;
            self.send_to(&addr, &req, version, Duration::ZERO).await
        };
        let resp = match controller {
            Some(addr) => send(addr).await?,
            None => self.on_any_broker("create topics", send).await?,
        };
        let r = resp
            .topics
            .iter()
            .find(|r| r.name.0.as_str() == topic.name)
            .ok_or_else(|| {
                Error::UnexpectedResponse(format!("CreateTopics response without {}", topic.name))
            })?;
        match ResponseError::try_from_code(r.error_code) {
            None => Ok(TopicCreation::Created),
            Some(ResponseError::TopicAlreadyExists) => Ok(TopicCreation::AlreadyExisted),
            Some(code) => {
                if code == ResponseError::NotController {
                    lock(&self.shared.metadata).controller = None;
                }
                Err(Error::Kafka {
                    code,
                    context: format!("create topic {}", topic.name),
                    message: r.error_message.as_ref().map(|m| m.to_string()),
                })
            }
        }
    }

    // --- produce -----------------------------------------------------------

    /// Appends `records` as one batch with acks=all; returns the base offset.
    /// Retries may duplicate a batch whose ack was lost (no idempotent
    /// producer id): callers write state where a repeat is harmless.
    pub async fn produce(
        &self,
        topic: &str,
        partition: i32,
        records: &[ProduceRecord],
    ) -> Result<i64> {
        let batch =
            encode_batch(records, now_ms()).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        self.retrying("produce", || {
            self.produce_once(topic, partition, batch.clone())
        })
        .await
    }

    async fn produce_once(&self, topic: &str, partition: i32, batch: Bytes) -> Result<i64> {
        let addr = self.leader_for(topic, partition).await?;
        let version = self.version_at(&addr, ApiKey::Produce).await?;
        let mut pd = PartitionProduceData::default();
        pd.index = partition;
        pd.records = Some(batch);
        let mut td = TopicProduceData::default();
        td.name = topic_name(topic);
        td.partition_data = vec![pd];
        let mut req = ProduceRequest::default();
        req.acks = -1;
        req.timeout_ms = self
            .shared
            .config
            .connection
            .request_timeout
            .as_millis()
            .min(i32::MAX as u128) as i32;
        req.topic_data = vec![td];
        let resp = self.send_to(&addr, &req, version, Duration::ZERO).await?;
        let p = resp
            .responses
            .iter()
            .filter(|t| t.name.0.as_str() == topic)
            .flat_map(|t| t.partition_responses.iter())
            .find(|p| p.index == partition)
            .ok_or_else(|| {
                Error::UnexpectedResponse(format!("Produce response without {topic}-{partition}"))
            })?;
        if let Some(e) = Error::from_code(
            p.error_code,
            format!("produce to {topic}-{partition}"),
            p.error_message.as_ref().map(|m| m.to_string()),
        ) {
            return Err(e);
        }
        Ok(p.base_offset)
    }

    // --- fetch -------------------------------------------------------------

    /// Reads from `offset`, waiting up to `opts.max_wait` for data.
    pub async fn fetch(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        opts: &FetchOptions,
    ) -> Result<Fetched> {
        self.retrying("fetch", || self.fetch_once(topic, partition, offset, opts))
            .await
    }

    async fn fetch_once(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        opts: &FetchOptions,
    ) -> Result<Fetched> {
        let addr = self.leader_for(topic, partition).await?;
        let version = self.version_at(&addr, ApiKey::Fetch).await?;
        let mut fp = FetchPartition::default();
        fp.partition = partition;
        fp.fetch_offset = offset;
        fp.partition_max_bytes = opts.max_bytes;
        let mut ft = FetchTopic::default();
        ft.topic = topic_name(topic);
        ft.partitions = vec![fp];
        let mut req = FetchRequest::default();
        req.max_wait_ms = opts.max_wait.as_millis().min(i32::MAX as u128) as i32;
        req.min_bytes = opts.min_bytes;
        req.max_bytes = opts.max_bytes;
        req.topics = vec![ft];
        let resp = self.send_to(&addr, &req, version, opts.max_wait).await?;
        if let Some(e) =
            Error::from_code(resp.error_code, format!("fetch {topic}-{partition}"), None)
        {
            return Err(e);
        }
        let p = resp
            .responses
            .into_iter()
            .filter(|t| t.topic.0.as_str() == topic)
            .flat_map(|t| t.partitions.into_iter())
            .find(|p| p.partition_index == partition)
            .ok_or_else(|| {
                Error::UnexpectedResponse(format!("Fetch response without {topic}-{partition}"))
            })?;
        if let Some(e) = Error::from_code(
            p.error_code,
            format!("fetch {topic}-{partition} at {offset}"),
            None,
        ) {
            return Err(e);
        }
        let raw = p.records.unwrap_or_default();
        let next_batch = next_offset_after(&raw);
        let records = decode_fetched(raw, offset).map_err(|e| Error::Protocol {
            addr,
            message: format!("records of {topic}-{partition}: {e}"),
        })?;
        let next_offset = records
            .last()
            .map_or(offset, |r| r.offset + 1)
            .max(next_batch.unwrap_or(offset))
            .max(offset);
        Ok(Fetched {
            records,
            high_watermark: p.high_watermark,
            log_start_offset: p.log_start_offset,
            next_offset,
        })
    }

    /// The earliest or latest (next to be written) offset of a partition.
    pub async fn list_offset(&self, topic: &str, partition: i32, spec: OffsetSpec) -> Result<i64> {
        self.retrying("list offsets", || {
            self.list_offset_once(topic, partition, spec)
        })
        .await
    }

    async fn list_offset_once(&self, topic: &str, partition: i32, spec: OffsetSpec) -> Result<i64> {
        let addr = self.leader_for(topic, partition).await?;
        let version = self.version_at(&addr, ApiKey::ListOffsets).await?;
        let mut lp = ListOffsetsPartition::default();
        lp.partition_index = partition;
        lp.timestamp = match spec {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
        };
        let mut lt = ListOffsetsTopic::default();
        lt.name = topic_name(topic);
        lt.partitions = vec![lp];
        let mut req = ListOffsetsRequest::default();
        req.replica_id = BrokerId(-1);
        req.topics = vec![lt];
        let resp = self.send_to(&addr, &req, version, Duration::ZERO).await?;
        let p = resp
            .topics
            .iter()
            .filter(|t| t.name.0.as_str() == topic)
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.partition_index == partition)
            .ok_or_else(|| {
                Error::UnexpectedResponse(format!(
                    "ListOffsets response without {topic}-{partition}"
                ))
            })?;
        if let Some(e) = Error::from_code(
            p.error_code,
            format!("list offsets of {topic}-{partition}"),
            None,
        ) {
            return Err(e);
        }
        Ok(p.offset)
    }

    // --- groups --------------------------------------------------------------

    /// The address of `group_id`'s coordinator.
    pub async fn find_coordinator(&self, group_id: &str) -> Result<String> {
        self.retrying("find coordinator", || self.find_coordinator_once(group_id))
            .await
    }

    async fn find_coordinator_once(&self, group_id: &str) -> Result<String> {
        self.on_any_broker("find coordinator", |addr| async move {
            let version = self.version_at(&addr, ApiKey::FindCoordinator).await?;
            let mut req = FindCoordinatorRequest::default();
            if version >= 4 {
                req.coordinator_keys = vec![StrBytes::from_string(group_id.to_string())];
            } else {
                req.key = StrBytes::from_string(group_id.to_string());
            }
            let resp = self.send_to(&addr, &req, version, Duration::ZERO).await?;
            let context = format!("find coordinator for group {group_id}");
            if version >= 4 {
                let c = resp
                    .coordinators
                    .iter()
                    .find(|c| c.key.as_str() == group_id)
                    .ok_or_else(|| {
                        Error::UnexpectedResponse(format!("FindCoordinator without {group_id}"))
                    })?;
                if let Some(e) = Error::from_code(
                    c.error_code,
                    context,
                    c.error_message.as_ref().map(|m| m.to_string()),
                ) {
                    return Err(e);
                }
                Ok(format!("{}:{}", c.host, c.port))
            } else {
                if let Some(e) = Error::from_code(
                    resp.error_code,
                    context,
                    resp.error_message.as_ref().map(|m| m.to_string()),
                ) {
                    return Err(e);
                }
                Ok(format!("{}:{}", resp.host, resp.port))
            }
        })
        .await
    }

    /// Commits offsets for `group_id`, as `generation`'s member or (for
    /// `None`) as a simple group.
    pub async fn commit_offsets(
        &self,
        group_id: &str,
        generation: Option<&GroupGeneration>,
        offsets: &[CommittedOffset],
    ) -> Result<()> {
        self.retrying("commit offsets", || async {
            let addr = self.find_coordinator_once(group_id).await?;
            self.commit_offsets_at(&addr, group_id, generation, offsets)
                .await
        })
        .await
    }

    pub(crate) async fn commit_offsets_at(
        &self,
        addr: &str,
        group_id: &str,
        generation: Option<&GroupGeneration>,
        offsets: &[CommittedOffset],
    ) -> Result<()> {
        let version = self.version_at(addr, ApiKey::OffsetCommit).await?;
        let mut by_topic: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
        for o in offsets {
            let mut p = OffsetCommitRequestPartition::default();
            p.partition_index = o.partition;
            p.committed_offset = o.offset;
            p.committed_metadata = Some(StrBytes::from_string(
                o.metadata.clone().unwrap_or_default(),
            ));
            by_topic.entry(o.topic.as_str()).or_default().push(p);
        }
        let mut req = OffsetCommitRequest::default();
        req.group_id = GroupId(StrBytes::from_string(group_id.to_string()));
        if let Some(g) = generation {
            req.generation_id_or_member_epoch = g.generation_id;
            req.member_id = StrBytes::from_string(g.member_id.clone());
        }
        req.topics = by_topic
            .into_iter()
            .map(|(t, ps)| {
                let mut rt = OffsetCommitRequestTopic::default();
                rt.name = topic_name(t);
                rt.partitions = ps;
                rt
            })
            .collect();
        let resp = self.send_to(addr, &req, version, Duration::ZERO).await?;
        for t in &resp.topics {
            for p in &t.partitions {
                if let Some(e) = Error::from_code(
                    p.error_code,
                    format!("commit offset of {}-{}", t.name.0, p.partition_index),
                    None,
                ) {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// The committed offsets of `group_id` for the given partitions.
    pub async fn fetch_offsets(
        &self,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> Result<Vec<CommittedOffset>> {
        self.retrying("fetch offsets", || async {
            let addr = self.find_coordinator_once(group_id).await?;
            self.fetch_offsets_at(&addr, group_id, partitions).await
        })
        .await
    }

    pub(crate) async fn fetch_offsets_at(
        &self,
        addr: &str,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> Result<Vec<CommittedOffset>> {
        let version = self.version_at(addr, ApiKey::OffsetFetch).await?;
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (t, p) in partitions {
            by_topic.entry(t.as_str()).or_default().push(*p);
        }
        let mut req = OffsetFetchRequest::default();
        let gid = GroupId(StrBytes::from_string(group_id.to_string()));
        if version >= 8 {
            let mut g = OffsetFetchRequestGroup::default();
            g.group_id = gid;
            g.topics = Some(
                by_topic
                    .into_iter()
                    .map(|(t, ps)| {
                        let mut rt = OffsetFetchRequestTopics::default();
                        rt.name = topic_name(t);
                        rt.partition_indexes = ps;
                        rt
                    })
                    .collect(),
            );
            req.groups = vec![g];
        } else {
            req.group_id = gid;
            req.topics = Some(
                by_topic
                    .into_iter()
                    .map(|(t, ps)| {
                        let mut rt = OffsetFetchRequestTopic::default();
                        rt.name = topic_name(t);
                        rt.partition_indexes = ps;
                        rt
                    })
                    .collect(),
            );
        }
        let resp = self.send_to(addr, &req, version, Duration::ZERO).await?;
        let context = format!("fetch offsets of group {group_id}");
        // v8+ nests topics under groups; earlier versions answer for one group.
        // Both shapes flatten to (topic, partition, error, offset, metadata).
        let rows: Vec<(String, i32, i16, i64, Option<String>)> = if version >= 8 {
            let g = resp
                .groups
                .into_iter()
                .find(|g| g.group_id.0.as_str() == group_id)
                .ok_or_else(|| {
                    Error::UnexpectedResponse(format!("OffsetFetch without group {group_id}"))
                })?;
            if let Some(e) = Error::from_code(g.error_code, context.clone(), None) {
                return Err(e);
            }
            g.topics
                .into_iter()
                .flat_map(|t| {
                    let name = t.name.0.to_string();
                    t.partitions.into_iter().map(move |p| {
                        (
                            name.clone(),
                            p.partition_index,
                            p.error_code,
                            p.committed_offset,
                            p.metadata.map(|m| m.to_string()),
                        )
                    })
                })
                .collect()
        } else {
            if let Some(e) = Error::from_code(resp.error_code, context.clone(), None) {
                return Err(e);
            }
            resp.topics
                .into_iter()
                .flat_map(|t| {
                    let name = t.name.0.to_string();
                    t.partitions.into_iter().map(move |p| {
                        (
                            name.clone(),
                            p.partition_index,
                            p.error_code,
                            p.committed_offset,
                            p.metadata.map(|m| m.to_string()),
                        )
                    })
                })
                .collect()
        };
        let mut out = Vec::with_capacity(rows.len());
        for (topic, partition, code, offset, metadata) in rows {
            if let Some(e) = Error::from_code(code, context.clone(), None) {
                return Err(e);
            }
            out.push(CommittedOffset {
                topic,
                partition,
                offset,
                metadata,
            });
        }
        Ok(out)
    }

    /// Whether the brokers speak the classic group protocol (JoinGroup and
    /// friends) in versions we support. Asked of any reachable broker.
    pub async fn supports_groups(&self) -> Result<bool> {
        self.on_any_broker("api versions", |addr| async move {
            let v = self.versions_at(&addr).await?;
            Ok([
                ApiKey::FindCoordinator,
                ApiKey::JoinGroup,
                ApiKey::SyncGroup,
                ApiKey::Heartbeat,
                ApiKey::LeaveGroup,
            ]
            .iter()
            .all(|a| v.supports(*a)))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_parsing_strips_schemes_and_blanks() {
        let c = ClientConfig::new(" PLAINTEXT://a:9092, b:9093,,http://c:1/ ");
        assert_eq!(c.bootstrap, vec!["a:9092", "b:9093", "c:1"]);
        assert!(Client::new(ClientConfig::new(" , ")).is_err());
    }

    #[tokio::test]
    async fn unreachable_bootstrap_is_a_retriable_error() {
        // Port 1 on loopback: connection refused at once.
        let mut cfg = ClientConfig::new("127.0.0.1:1");
        cfg.retries = 1;
        cfg.retry_backoff = Duration::from_millis(1);
        let client = Client::new(cfg).expect("client");
        let err = client.metadata(None).await.expect_err("no broker");
        assert!(err.is_retriable(), "{err}");
    }
}
