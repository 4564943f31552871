//! The group coordinator: classic groups (any protocol type: "consumer",
//! "connect", "sr", ...), KIP-848 consumer groups, and committed offsets.
//!
//! The protocol logic lives in pure state machines (`classic`, `consumer`)
//! that take the clock as an argument. This module holds them behind one lock,
//! writes what must be durable to `__consumer_offsets` (Kafka's record formats,
//! see `records`) before answering, and replays that topic on startup.

pub mod assignor;
pub mod classic;
pub mod consumer;
pub mod records;

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use kafka_protocol::ResponseError;
use parking_lot::Mutex;

use crate::broker::{now_ms, Broker};
use classic::{ClassicGroup, GroupConfig, GroupState, JoinRequest, JoinResult, Reply, SyncResult};
use consumer::{ConsumerGroup, Heartbeat, HeartbeatReply, Topics};
use records::{GroupValue, OffsetValue, RecordKey};

pub const OFFSETS_TOPIC: &str = "__consumer_offsets";
const MAX_METADATA_BYTES: usize = 4096;

#[derive(Default)]
struct State {
    classic: HashMap<String, ClassicGroup>,
    consumer: HashMap<String, ConsumerGroup>,
    offsets: HashMap<String, BTreeMap<(String, i32), OffsetValue>>,
    /// Offsets committed inside open transactions: producer id -> group -> offsets.
    /// They become visible when the transaction commits (TxnOffsetCommit).
    pending_txn: HashMap<i64, HashMap<String, BTreeMap<(String, i32), OffsetValue>>>,
    last_offset_expiry: i64,
}

/// Which producer a record belongs to, for transactional offset commits.
#[derive(Debug, Clone, Copy)]
struct TxnTag {
    producer_id: i64,
    producer_epoch: i16,
}

/// One group as ListGroups / DescribeGroups see it.
#[derive(Debug, Clone)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    pub state: String,
    pub group_type: &'static str,
}

pub struct Coordinator {
    state: Mutex<State>,
    /// `__consumer_offsets` partitions this broker leads and has loaded:
    /// it coordinates exactly the groups that hash to them.
    loaded: Mutex<std::collections::BTreeSet<i32>>,
    cfg: GroupConfig,
    offsets_partitions: i32,
    retention_ms: i64,
    consumer_session_timeout_ms: i64,
    pub consumer_heartbeat_interval_ms: i32,
    commit_timeout_ms: u64,
}

fn encode_records(entries: &[(Bytes, Option<Bytes>)], now: i64, txn: Option<TxnTag>) -> Bytes {
    let records: Vec<Record> = entries
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Record {
            transactional: txn.is_some(),
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: txn.map_or(-1, |t| t.producer_id),
            producer_epoch: txn.map_or(-1, |t| t.producer_epoch),
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32 - 1,
            timestamp: now,
            key: Some(k.clone()),
            value: v.clone(),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    // Encoding records we built ourselves cannot fail; an empty set encodes nothing.
    let _ = RecordBatchEncoder::encode(&mut buf, &records, &RecordEncodeOptions { version: 2, compression: Compression::None });
    buf.freeze()
}

impl Coordinator {
    pub fn new(config: &crate::config::BrokerConfig) -> Coordinator {
        let int = |k: &str, d: i64| config.get(k).and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(d);
        Coordinator {
            state: Mutex::new(State::default()),
            loaded: Mutex::new(Default::default()),
            cfg: GroupConfig {
                min_session_timeout_ms: int("group.min.session.timeout.ms", 6000) as i32,
                max_session_timeout_ms: int("group.max.session.timeout.ms", 1_800_000) as i32,
                initial_rebalance_delay_ms: int("group.initial.rebalance.delay.ms", 3000) as i32,
            },
            offsets_partitions: int("offsets.topic.num.partitions", 50).max(1) as i32,
            retention_ms: int("offsets.retention.minutes", 10080) * 60_000,
            consumer_session_timeout_ms: int("group.consumer.session.timeout.ms", 45_000),
            consumer_heartbeat_interval_ms: int("group.consumer.heartbeat.interval.ms", 5000) as i32,
            commit_timeout_ms: int("offsets.commit.timeout.ms", 5000).max(1) as u64,
        }
    }

    pub fn partitions(&self) -> i32 {
        self.offsets_partitions
    }

    /// Waits until everything written so far to `group`'s partition is on
    /// every in-sync replica (`offsets.commit.timeout.ms`, 5 s by default).
    pub async fn replicated(&self, broker: &Broker, group: &str) -> Result<(), ResponseError> {
        let p = records::partition_for(group, self.offsets_partitions);
        let Some(part) = broker.partition(OFFSETS_TOPIC, p) else { return Ok(()) };
        let end = part.state.lock().log.log_end_offset();
        if end == 0 {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(self.commit_timeout_ms);
        part.wait_replicated(end - 1, deadline).await.map_err(|e| match e {
            crate::storage::log::AppendError::NotLeader => ResponseError::NotCoordinator,
            crate::storage::log::AppendError::Timeout => ResponseError::RequestTimedOut,
            _ => ResponseError::CoordinatorNotAvailable,
        })
    }

    /// Whether this broker coordinates `group` (it leads its partition).
    pub fn owns(&self, group: &str) -> bool {
        self.loaded.lock().contains(&records::partition_for(group, self.offsets_partitions))
    }

    /// Follows leadership of `__consumer_offsets`: loads the groups of each
    /// partition this broker starts leading, drops those of partitions it
    /// stopped leading (another broker coordinates them now).
    pub fn on_leadership(&self, broker: &Broker) {
        let Some(topic) = broker.topic(OFFSETS_TOPIC) else { return };
        for p in &topic.partitions {
            let leader = p.state.lock().replica.is_leader();
            let was = self.loaded.lock().contains(&p.index);
            if leader && !was {
                if let Err(e) = self.load_partition(p) {
                    tracing::error!(partition = p.index, error = %e, "cannot load {OFFSETS_TOPIC}");
                    continue;
                }
                self.loaded.lock().insert(p.index);
            } else if !leader && was {
                self.loaded.lock().remove(&p.index);
                self.unload_partition(p.index);
            }
        }
    }

    fn unload_partition(&self, index: i32) {
        let n = self.offsets_partitions;
        let mine = |g: &str| records::partition_for(g, n) == index;
        let mut st = self.state.lock();
        st.classic.retain(|g, _| !mine(g));
        st.consumer.retain(|g, _| !mine(g));
        st.offsets.retain(|g, _| !mine(g));
        for groups in st.pending_txn.values_mut() {
            groups.retain(|g, _| !mine(g));
        }
        st.pending_txn.retain(|_, m| !m.is_empty());
        tracing::info!(partition = index, "group coordinator unloaded {OFFSETS_TOPIC} partition");
    }

    /// Replays one `__consumer_offsets` partition into memory.
    fn load_partition(&self, p: &crate::partition::Partition) -> std::io::Result<()> {
        let now = now_ms();
        let mut st = self.state.lock();
        let mut loaded = 0usize;
        {
            let pst = p.state.lock();
            let end = pst.log.log_end_offset();
            let mut offset = pst.log.log_start_offset();
            while offset < end {
                let chunk = pst.log.read(offset, 1 << 20, end, true)?;
                if chunk.is_empty() {
                    break;
                }
                let mut buf = chunk.clone();
                let mut next = offset;
                while !buf.is_empty() {
                    let Ok(set) = RecordBatchDecoder::decode(&mut buf) else { break };
                    for r in set.records {
                        next = next.max(r.offset + 1);
                        if r.control {
                            // A transaction marker: commit or drop what that producer staged here.
                            let commit = r.key.as_ref().is_some_and(|k| k.len() >= 4 && k[3] == 1);
                            Self::finish_pending(&mut st, r.producer_id, commit, |g| records::partition_for(g, self.offsets_partitions) == p.index);
                        } else if let Some(k) = r.key {
                            if r.transactional {
                                Self::stage(&mut st, r.producer_id, k, r.value);
                            } else {
                                Self::apply(&mut st, k, r.value, now);
                            }
                            loaded += 1;
                        }
                    }
                }
                if next <= offset {
                    break;
                }
                offset = next;
            }
        }
        tracing::info!(partition = p.index, records = loaded, groups = st.classic.len(), "group coordinator loaded {OFFSETS_TOPIC} partition");
        Ok(())
    }

    fn apply(st: &mut State, key: Bytes, value: Option<Bytes>, now: i64) {
        match RecordKey::decode(key) {
            Ok(Some(RecordKey::Offset { group, topic, partition })) => match value.map(OffsetValue::decode) {
                Some(Ok(v)) => {
                    st.offsets.entry(group).or_default().insert((topic, partition), v);
                }
                None => {
                    if let Some(g) = st.offsets.get_mut(&group) {
                        g.remove(&(topic, partition));
                    }
                }
                Some(Err(e)) => tracing::warn!(error = %e, "skipping offset record"),
            },
            Ok(Some(RecordKey::Group { group })) => match value.map(GroupValue::decode) {
                Some(Ok(v)) => {
                    st.classic.insert(group.clone(), ClassicGroup::from_value(&group, v, now));
                }
                None => {
                    st.classic.remove(&group);
                }
                Some(Err(e)) => tracing::warn!(error = %e, "skipping group record"),
            },
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "skipping record"),
        }
    }

    /// A transactional offset record read back from the log: staged under its producer.
    fn stage(st: &mut State, producer_id: i64, key: Bytes, value: Option<Bytes>) {
        if let (Ok(Some(RecordKey::Offset { group, topic, partition })), Some(Ok(v))) = (RecordKey::decode(key), value.map(OffsetValue::decode)) {
            st.pending_txn.entry(producer_id).or_default().entry(group).or_default().insert((topic, partition), v);
        }
    }

    /// Applies (commit) or drops (abort) a producer's staged offsets for the groups `which` selects.
    fn finish_pending(st: &mut State, producer_id: i64, commit: bool, which: impl Fn(&str) -> bool) {
        let Some(groups) = st.pending_txn.get_mut(&producer_id) else { return };
        let done: Vec<String> = groups.keys().filter(|g| which(g)).cloned().collect();
        for g in done {
            if let Some(offsets) = groups.remove(&g) {
                if commit {
                    st.offsets.entry(g).or_default().extend(offsets);
                }
            }
        }
        if st.pending_txn.get(&producer_id).is_some_and(|m| m.is_empty()) {
            st.pending_txn.remove(&producer_id);
        }
    }

    /// Appends records for `group` to its `__consumer_offsets` partition.
    fn persist(&self, broker: &Broker, group: &str, entries: Vec<(Bytes, Option<Bytes>)>) -> Result<(), ResponseError> {
        self.persist_as(broker, group, entries, None)
    }

    fn persist_as(&self, broker: &Broker, group: &str, entries: Vec<(Bytes, Option<Bytes>)>, txn: Option<TxnTag>) -> Result<(), ResponseError> {
        if entries.is_empty() {
            return Ok(());
        }
        let p = records::partition_for(group, self.offsets_partitions);
        let part = broker.partition(OFFSETS_TOPIC, p).ok_or(ResponseError::CoordinatorNotAvailable)?;
        let now = now_ms();
        part.append(&encode_records(&entries, now, txn), now).map(|_| ()).map_err(|e| {
            tracing::error!(group, error = %e, "cannot write to {OFFSETS_TOPIC}");
            ResponseError::CoordinatorNotAvailable
        })
    }

    fn group_record(g: &ClassicGroup) -> (Bytes, Option<Bytes>) {
        (RecordKey::Group { group: g.id.clone() }.encode(), Some(g.to_value().encode()))
    }

    /// JoinGroup: the answer, possibly after the rebalance completes.
    pub async fn join(&self, broker: &Broker, group_id: &str, req: JoinRequest) -> JoinResult {
        let member_id = req.member_id.clone();
        if !self.owns(group_id) {
            return JoinResult::error(ResponseError::NotCoordinator, &member_id);
        }
        let reply = {
            let mut st = self.state.lock();
            if st.consumer.contains_key(group_id) {
                return JoinResult::error(ResponseError::InconsistentGroupProtocol, &member_id);
            }
            let now = now_ms();
            let g = st.classic.entry(group_id.to_string()).or_insert_with(|| ClassicGroup::new(group_id, now));
            let before = g.state;
            let r = g.join(req, now, &self.cfg);
            if (before != GroupState::Empty && g.state == GroupState::Empty) || std::mem::take(&mut g.dirty) {
                let rec = Self::group_record(g);
                drop(st);
                if let Err(e) = self.persist(broker, group_id, vec![rec]) {
                    return JoinResult::error(e, &member_id);
                }
            }
            r
        };
        match reply {
            Reply::Now(r) => r,
            Reply::Later(rx) => rx.await.unwrap_or_else(|_| JoinResult::error(ResponseError::RebalanceInProgress, &member_id)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn sync(
        &self,
        broker: &Broker,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        assignments: Vec<(String, Bytes)>,
    ) -> SyncResult {
        if !self.owns(group_id) {
            return SyncResult::error(ResponseError::NotCoordinator);
        }
        let reply = {
            let mut st = self.state.lock();
            let Some(g) = st.classic.get_mut(group_id) else {
                return SyncResult::error(ResponseError::UnknownMemberId);
            };
            let (reply, persist) = g.sync(member_id, instance_id, generation, protocol_type, protocol_name, assignments, now_ms());
            if persist {
                let rec = Self::group_record(g);
                drop(st);
                if let Err(e) = self.persist(broker, group_id, vec![rec]) {
                    return SyncResult::error(e);
                }
            }
            reply
        };
        match reply {
            Reply::Now(r) => r,
            Reply::Later(rx) => rx.await.unwrap_or_else(|_| SyncResult::error(ResponseError::RebalanceInProgress)),
        }
    }

    pub fn heartbeat(&self, group_id: &str, member_id: &str, instance_id: Option<&str>, generation: i32) -> Option<ResponseError> {
        if !self.owns(group_id) {
            return Some(ResponseError::NotCoordinator);
        }
        let mut st = self.state.lock();
        match st.classic.get_mut(group_id) {
            None => Some(ResponseError::UnknownMemberId),
            Some(g) => g.heartbeat(member_id, instance_id, generation, now_ms()),
        }
    }

    /// LeaveGroup for a batch of (member id, instance id).
    pub fn leave(&self, broker: &Broker, group_id: &str, members: &[(String, Option<String>)]) -> Vec<Option<ResponseError>> {
        if !self.owns(group_id) {
            return members.iter().map(|_| Some(ResponseError::NotCoordinator)).collect();
        }
        let mut st = self.state.lock();
        let Some(g) = st.classic.get_mut(group_id) else {
            return members.iter().map(|_| Some(ResponseError::UnknownMemberId)).collect();
        };
        let now = now_ms();
        let before = g.state;
        let out: Vec<Option<ResponseError>> = members.iter().map(|(m, i)| g.leave(m, i.as_deref(), now, &self.cfg)).collect();
        if before != GroupState::Empty && g.state == GroupState::Empty {
            let rec = Self::group_record(g);
            drop(st);
            let _ = self.persist(broker, group_id, vec![rec]);
        }
        out
    }

    fn topics_catalogue(broker: &Broker) -> Topics {
        broker.topics().iter().map(|t| (t.name.clone(), (t.id, t.partitions.len() as i32))).collect()
    }

    /// ConsumerGroupHeartbeat (KIP-848).
    pub fn consumer_heartbeat(&self, broker: &Broker, group_id: &str, hb: Heartbeat) -> HeartbeatReply {
        if !self.owns(group_id) {
            return HeartbeatReply { error: Some(ResponseError::NotCoordinator), message: None, member_id: hb.member_id, member_epoch: -1, assignment: None };
        }
        let topics = Self::topics_catalogue(broker);
        let mut st = self.state.lock();
        if st.classic.get(group_id).is_some_and(|g| !g.members.is_empty()) {
            return HeartbeatReply {
                error: Some(ResponseError::GroupIdNotFound),
                message: Some(format!("Group {group_id} is not a consumer group")),
                member_id: hb.member_id,
                member_epoch: -1,
                assignment: None,
            };
        }
        let now = now_ms();
        let g = st.consumer.entry(group_id.to_string()).or_insert_with(|| ConsumerGroup::new(group_id, now));
        g.heartbeat(hb, &topics, now)
    }

    /// Drives time: completes rebalances, expires sessions and old offsets.
    pub fn tick(&self, broker: &Broker) {
        let now = now_ms();
        let topics = Self::topics_catalogue(broker);
        let mut writes: Vec<(String, Vec<(Bytes, Option<Bytes>)>)> = Vec::new();
        {
            let mut st = self.state.lock();
            for g in st.classic.values_mut() {
                if g.tick(now, &self.cfg) {
                    writes.push((g.id.clone(), vec![Self::group_record(g)]));
                }
            }
            for g in st.consumer.values_mut() {
                g.tick(now, self.consumer_session_timeout_ms, &topics);
            }
            if now - st.last_offset_expiry >= 60_000 {
                st.last_offset_expiry = now;
                writes.extend(self.expire_offsets(&mut st, now));
            }
        }
        for (group, recs) in writes {
            let _ = self.persist(broker, &group, recs);
        }
    }

    /// offsets.retention.minutes: offsets of groups with no active members
    /// expire that long after their commit.
    fn expire_offsets(&self, st: &mut State, now: i64) -> Vec<(String, Vec<(Bytes, Option<Bytes>)>)> {
        let mut out = Vec::new();
        let active: HashSet<String> = st
            .classic
            .values()
            .filter(|g| !g.members.is_empty())
            .map(|g| g.id.clone())
            .chain(st.consumer.values().filter(|g| !g.members.is_empty()).map(|g| g.id.clone()))
            .collect();
        for (group, offsets) in st.offsets.iter_mut() {
            if active.contains(group) {
                continue;
            }
            let expired: Vec<(String, i32)> =
                offsets.iter().filter(|(_, v)| v.commit_timestamp + self.retention_ms < now).map(|(k, _)| k.clone()).collect();
            if expired.is_empty() {
                continue;
            }
            let mut recs = Vec::new();
            for (topic, partition) in expired {
                offsets.remove(&(topic.clone(), partition));
                recs.push((RecordKey::Offset { group: group.clone(), topic, partition }.encode(), None));
            }
            tracing::info!(group, expired = recs.len(), "expired committed offsets");
            out.push((group.clone(), recs));
        }
        out
    }

    /// Decides whether an OffsetCommit may proceed (Kafka's rules for classic,
    /// consumer, and member-less "simple" commits).
    fn validate_commit(&self, st: &State, group_id: &str, generation: i32, member_id: &str, instance_id: Option<&str>) -> Option<ResponseError> {
        if let Some(g) = st.consumer.get(group_id) {
            if generation < 0 && member_id.is_empty() {
                return if g.members.is_empty() { None } else { Some(ResponseError::UnknownMemberId) };
            }
            return g.validate_commit(member_id, generation);
        }
        match st.classic.get(group_id) {
            None => {
                if generation < 0 {
                    None
                } else {
                    Some(ResponseError::IllegalGeneration)
                }
            }
            Some(g) => {
                if generation < 0 && g.state == GroupState::Empty {
                    return None;
                }
                if g.state == GroupState::CompletingRebalance {
                    return Some(ResponseError::RebalanceInProgress);
                }
                if !g.is_member(member_id) {
                    return Some(ResponseError::UnknownMemberId);
                }
                if let Some(i) = instance_id {
                    if g.members.get(member_id).and_then(|m| m.instance_id.as_deref()) != Some(i) {
                        return Some(ResponseError::FencedInstanceId);
                    }
                }
                if generation != g.generation {
                    return Some(ResponseError::IllegalGeneration);
                }
                None
            }
        }
    }

    /// OffsetCommit: (topic, [(partition, offset, leader epoch, metadata)]) -> per-partition errors.
    #[allow(clippy::type_complexity)]
    pub fn commit(
        &self,
        broker: &Broker,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance_id: Option<&str>,
        topics: Vec<(String, Vec<(i32, i64, i32, Option<String>)>)>,
    ) -> Vec<(String, Vec<(i32, Option<ResponseError>)>)> {
        self.commit_offsets(broker, group_id, generation, member_id, instance_id, topics, None)
    }

    /// TxnOffsetCommit: validates like OffsetCommit (membership is checked
    /// when the client sends its generation), then writes the offsets as part
    /// of the producer's transaction; they become visible on commit.
    #[allow(clippy::type_complexity, clippy::too_many_arguments)]
    pub fn txn_commit(
        &self,
        broker: &Broker,
        group_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        generation: i32,
        member_id: &str,
        instance_id: Option<&str>,
        topics: Vec<(String, Vec<(i32, i64, i32, Option<String>)>)>,
    ) -> Vec<(String, Vec<(i32, Option<ResponseError>)>)> {
        let txn = TxnTag { producer_id, producer_epoch };
        self.commit_offsets(broker, group_id, generation, member_id, instance_id, topics, Some(txn))
    }

    /// The common path of both commits: validate, write the records (as part
    /// of `txn` if given), then apply them, or stage them until the
    /// transaction's commit marker.
    #[allow(clippy::type_complexity, clippy::too_many_arguments)]
    fn commit_offsets(
        &self,
        broker: &Broker,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance_id: Option<&str>,
        topics: Vec<(String, Vec<(i32, i64, i32, Option<String>)>)>,
        txn: Option<TxnTag>,
    ) -> Vec<(String, Vec<(i32, Option<ResponseError>)>)> {
        if !self.owns(group_id) {
            return topics.into_iter().map(|(t, ps)| (t, ps.into_iter().map(|p| (p.0, Some(ResponseError::NotCoordinator))).collect())).collect();
        }
        let now = now_ms();
        let mut st = self.state.lock();
        // A transactional commit without a generation (pre-KIP-447 clients) is not fenced by membership.
        let verdict = if txn.is_some() && generation < 0 && member_id.is_empty() {
            None
        } else {
            self.validate_commit(&st, group_id, generation, member_id, instance_id)
        };
        let mut results = Vec::new();
        let mut recs = Vec::new();
        let mut accepted = Vec::new();
        for (topic, parts) in topics {
            let known = broker.topic(&topic);
            let mut tr = Vec::new();
            for (p, offset, epoch, metadata) in parts {
                let err = if verdict.is_some() {
                    verdict
                } else if metadata.as_ref().is_some_and(|m| m.len() > MAX_METADATA_BYTES) {
                    Some(ResponseError::OffsetMetadataTooLarge)
                } else if !known.as_ref().is_some_and(|t| p >= 0 && (p as usize) < t.partitions.len()) {
                    Some(ResponseError::UnknownTopicOrPartition)
                } else {
                    let v = OffsetValue { offset, leader_epoch: epoch, metadata: metadata.unwrap_or_default(), commit_timestamp: now };
                    recs.push((RecordKey::Offset { group: group_id.to_string(), topic: topic.clone(), partition: p }.encode(), Some(v.encode())));
                    accepted.push(((topic.clone(), p), v));
                    None
                };
                tr.push((p, err));
            }
            results.push((topic, tr));
        }
        if recs.is_empty() {
            return results;
        }
        if let Err(e) = self.persist_as(broker, group_id, recs, txn) {
            for (_, parts) in results.iter_mut() {
                for (_, err) in parts.iter_mut() {
                    if err.is_none() {
                        *err = Some(e);
                    }
                }
            }
            return results;
        }
        let target = match txn {
            None => st.offsets.entry(group_id.to_string()).or_default(),
            Some(t) => st.pending_txn.entry(t.producer_id).or_default().entry(group_id.to_string()).or_default(),
        };
        target.extend(accepted);
        results
    }

    /// Ends a producer's transaction on the offsets side: writes the marker to
    /// each involved `__consumer_offsets` partition (as AddOffsetsToTxn added
    /// them), then applies or drops the offsets staged there.
    pub fn complete_txn(&self, broker: &Broker, producer_id: i64, producer_epoch: i16, commit: bool, partitions: &std::collections::BTreeSet<i32>) -> std::io::Result<()> {
        let now = now_ms();
        for p in partitions {
            if let Some(part) = broker.partition(OFFSETS_TOPIC, *p) {
                part.write_marker(producer_id, producer_epoch, commit, now)?;
            }
        }
        let mut st = self.state.lock();
        Self::finish_pending(&mut st, producer_id, commit, |g| partitions.contains(&records::partition_for(g, self.offsets_partitions)));
        Ok(())
    }

    /// The `__consumer_offsets` partition coordinating `group`.
    pub fn partition_for(&self, group: &str) -> i32 {
        records::partition_for(group, self.offsets_partitions)
    }

    /// OffsetFetch: `None` topics means every committed offset of the group.
    pub fn fetch_offsets(&self, group_id: &str, topics: Option<Vec<(String, Vec<i32>)>>) -> Vec<(String, Vec<(i32, Option<OffsetValue>)>)> {
        let st = self.state.lock();
        let committed = st.offsets.get(group_id);
        match topics {
            Some(ts) => ts
                .into_iter()
                .map(|(t, ps)| {
                    let parts = ps.into_iter().map(|p| (p, committed.and_then(|c| c.get(&(t.clone(), p)).cloned()))).collect();
                    (t, parts)
                })
                .collect(),
            None => {
                let mut by_topic: BTreeMap<String, Vec<(i32, Option<OffsetValue>)>> = BTreeMap::new();
                if let Some(c) = committed {
                    for ((t, p), v) in c {
                        by_topic.entry(t.clone()).or_default().push((*p, Some(v.clone())));
                    }
                }
                by_topic.into_iter().collect()
            }
        }
    }

    pub fn list(&self) -> Vec<GroupListing> {
        let st = self.state.lock();
        let mut out: BTreeMap<String, GroupListing> = BTreeMap::new();
        for g in st.offsets.keys() {
            out.insert(g.clone(), GroupListing { group_id: g.clone(), protocol_type: String::new(), state: "Empty".into(), group_type: "classic" });
        }
        for g in st.classic.values() {
            out.insert(
                g.id.clone(),
                GroupListing {
                    group_id: g.id.clone(),
                    protocol_type: g.protocol_type.clone().unwrap_or_default(),
                    state: g.state.name().to_string(),
                    group_type: "classic",
                },
            );
        }
        for g in st.consumer.values() {
            out.insert(
                g.id.clone(),
                GroupListing { group_id: g.id.clone(), protocol_type: "consumer".into(), state: g.state_name().to_string(), group_type: "consumer" },
            );
        }
        out.into_values().collect()
    }

    /// Runs `f` on a classic group if it exists.
    pub fn with_classic<R>(&self, group_id: &str, f: impl FnOnce(&ClassicGroup) -> R) -> Option<R> {
        self.state.lock().classic.get(group_id).map(f)
    }

    pub fn with_consumer<R>(&self, group_id: &str, f: impl FnOnce(&ConsumerGroup) -> R) -> Option<R> {
        self.state.lock().consumer.get(group_id).map(f)
    }

    pub fn has_offsets(&self, group_id: &str) -> bool {
        self.state.lock().offsets.get(group_id).is_some_and(|o| !o.is_empty())
    }

    /// DeleteGroups: only groups without members.
    pub fn delete_group(&self, broker: &Broker, group_id: &str) -> Option<ResponseError> {
        let mut st = self.state.lock();
        let classic_members = st.classic.get(group_id).map(|g| g.members.len());
        let consumer_members = st.consumer.get(group_id).map(|g| g.members.len());
        if classic_members.is_none() && consumer_members.is_none() && !st.offsets.contains_key(group_id) {
            return Some(ResponseError::GroupIdNotFound);
        }
        if classic_members.unwrap_or(0) > 0 || consumer_members.unwrap_or(0) > 0 {
            return Some(ResponseError::NonEmptyGroup);
        }
        let mut recs: Vec<(Bytes, Option<Bytes>)> = Vec::new();
        if let Some(offsets) = st.offsets.remove(group_id) {
            for (topic, partition) in offsets.into_keys() {
                recs.push((RecordKey::Offset { group: group_id.to_string(), topic, partition }.encode(), None));
            }
        }
        if st.classic.remove(group_id).is_some() {
            recs.push((RecordKey::Group { group: group_id.to_string() }.encode(), None));
        }
        st.consumer.remove(group_id);
        drop(st);
        self.persist(broker, group_id, recs).err()
    }

    /// OffsetDelete: refuses partitions of topics the group is subscribed to.
    pub fn delete_offsets(&self, broker: &Broker, group_id: &str, topics: Vec<(String, Vec<i32>)>) -> Result<Vec<(String, Vec<(i32, Option<ResponseError>)>)>, ResponseError> {
        let mut st = self.state.lock();
        let subscribed: HashSet<String> = match (st.classic.get(group_id), st.consumer.get(group_id)) {
            (None, None) if !st.offsets.contains_key(group_id) => return Err(ResponseError::GroupIdNotFound),
            (Some(g), _) if !g.members.is_empty() => match g.subscribed_topics() {
                Some(s) => s,
                None => return Err(ResponseError::NonEmptyGroup),
            },
            (_, Some(g)) => g.subscribed_topics(),
            _ => HashSet::new(),
        };
        let mut recs = Vec::new();
        let mut out = Vec::new();
        for (t, ps) in topics {
            let mut tr = Vec::new();
            for p in ps {
                if subscribed.contains(&t) {
                    tr.push((p, Some(ResponseError::GroupSubscribedToTopic)));
                    continue;
                }
                if let Some(o) = st.offsets.get_mut(group_id) {
                    if o.remove(&(t.clone(), p)).is_some() {
                        recs.push((RecordKey::Offset { group: group_id.to_string(), topic: t.clone(), partition: p }.encode(), None));
                    }
                }
                tr.push((p, None));
            }
            out.push((t, tr));
        }
        drop(st);
        self.persist(broker, group_id, recs)?;
        Ok(out)
    }
}
