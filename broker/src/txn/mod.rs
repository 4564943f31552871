//! The transaction coordinator: transactional ids, producer epochs and
//! fencing, the partitions (and consumer-offsets partitions) in each open
//! transaction, and the commit/abort markers that end it.
//!
//! Every state change is written to `__transaction_state` (Apache Kafka's
//! TransactionLogKey/Value v0 format) before it is answered. On startup the
//! topic is replayed: transactions caught in PrepareCommit/PrepareAbort are
//! completed, open ones are aborted once `transaction.timeout.ms` passes.
//! Transactions V1 (explicit AddPartitionsToTxn) is what we advertise; the Java
//! 4.x client negotiates it because we finalize no `transaction.version` feature.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use kafka_protocol::ResponseError;
use parking_lot::Mutex;

use tributary_client::connection::Connection;

use crate::broker::{now_ms, Broker};
use crate::group::records::partition_for;
use crate::group::OFFSETS_TOPIC;

pub const TXN_TOPIC: &str = "__transaction_state";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    Dead,
    PrepareEpochFence,
}

impl TxnState {
    fn id(self) -> i8 {
        self as i8
    }
    fn from_id(id: i8) -> TxnState {
        match id {
            0 => TxnState::Empty,
            1 => TxnState::Ongoing,
            2 => TxnState::PrepareCommit,
            3 => TxnState::PrepareAbort,
            4 => TxnState::CompleteCommit,
            5 => TxnState::CompleteAbort,
            7 => TxnState::PrepareEpochFence,
            _ => TxnState::Dead,
        }
    }
    /// The names DescribeTransactions/ListTransactions use.
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMeta {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    /// (topic, partition), including `__consumer_offsets` partitions added by AddOffsetsToTxn.
    pub partitions: BTreeSet<(String, i32)>,
    pub last_update_ms: i64,
    pub start_ms: i64,
}

fn put_str(b: &mut BytesMut, s: &str) {
    b.put_i16(s.len() as i16);
    b.put_slice(s.as_bytes());
}

fn get_str(b: &mut Bytes) -> Option<String> {
    if b.remaining() < 2 {
        return None;
    }
    let n = b.get_i16();
    if n < 0 || b.remaining() < n as usize {
        return None;
    }
    String::from_utf8(b.split_to(n as usize).to_vec()).ok()
}

impl TxnMeta {
    fn key(id: &str) -> Bytes {
        let mut b = BytesMut::new();
        b.put_i16(0);
        put_str(&mut b, id);
        b.freeze()
    }

    fn value(&self) -> Bytes {
        let mut b = BytesMut::new();
        b.put_i16(0);
        b.put_i64(self.producer_id);
        b.put_i16(self.producer_epoch);
        b.put_i32(self.timeout_ms);
        b.put_i8(self.state.id());
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (t, p) in &self.partitions {
            by_topic.entry(t).or_default().push(*p);
        }
        b.put_i32(by_topic.len() as i32);
        for (t, ps) in by_topic {
            put_str(&mut b, t);
            b.put_i32(ps.len() as i32);
            for p in ps {
                b.put_i32(p);
            }
        }
        b.put_i64(self.last_update_ms);
        b.put_i64(self.start_ms);
        b.freeze()
    }

    fn decode(id: String, mut v: Bytes) -> Option<TxnMeta> {
        if v.remaining() < 2 + 8 + 2 + 4 + 1 + 4 {
            return None;
        }
        let _version = v.get_i16();
        let producer_id = v.get_i64();
        let producer_epoch = v.get_i16();
        let timeout_ms = v.get_i32();
        let state = TxnState::from_id(v.get_i8());
        let n = v.get_i32();
        let mut partitions = BTreeSet::new();
        for _ in 0..n.max(0) {
            let t = get_str(&mut v)?;
            if v.remaining() < 4 {
                return None;
            }
            let m = v.get_i32();
            for _ in 0..m.max(0) {
                if v.remaining() < 4 {
                    return None;
                }
                partitions.insert((t.clone(), v.get_i32()));
            }
        }
        if v.remaining() < 16 {
            return None;
        }
        let last_update_ms = v.get_i64();
        let start_ms = v.get_i64();
        Some(TxnMeta { transactional_id: id, producer_id, producer_epoch, timeout_ms, state, partitions, last_update_ms, start_ms })
    }
}

pub struct TxnCoordinator {
    txns: Mutex<BTreeMap<String, TxnMeta>>,
    /// `__transaction_state` partitions this broker leads and has loaded.
    loaded: Mutex<std::collections::BTreeSet<i32>>,
    /// Connections to other brokers for WriteTxnMarkers, by address.
    marker_conns: Mutex<BTreeMap<String, Connection>>,
    partitions: i32,
    max_timeout_ms: i32,
}

type TxnResult<T> = Result<T, ResponseError>;

impl TxnCoordinator {
    pub fn new(config: &crate::config::BrokerConfig) -> TxnCoordinator {
        let int = |k: &str, d: i64| config.get(k).and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(d);
        TxnCoordinator {
            txns: Mutex::new(BTreeMap::new()),
            loaded: Mutex::new(Default::default()),
            marker_conns: Mutex::new(BTreeMap::new()),
            partitions: int("transaction.state.log.num.partitions", 50).max(1) as i32,
            max_timeout_ms: int("transaction.max.timeout.ms", 900_000) as i32,
        }
    }

    pub fn partitions(&self) -> i32 {
        self.partitions
    }

    /// Whether this broker coordinates `txn_id` (it leads its partition).
    pub fn owns(&self, txn_id: &str) -> bool {
        self.loaded.lock().contains(&partition_for(txn_id, self.partitions))
    }

    /// Follows leadership of `__transaction_state`, as the group coordinator
    /// does: a partition this broker starts leading is replayed and any
    /// transaction caught between prepare and complete is finished.
    pub fn on_leadership(&self, broker: &Broker) {
        let Some(topic) = broker.topic(TXN_TOPIC) else { return };
        for p in &topic.partitions {
            let leader = p.state.lock().replica.is_leader();
            let was = self.loaded.lock().contains(&p.index);
            if leader && !was {
                if let Err(e) = self.load_partition(broker, p) {
                    tracing::error!(partition = p.index, error = %e, "cannot load {TXN_TOPIC}");
                    continue;
                }
                self.loaded.lock().insert(p.index);
            } else if !leader && was {
                self.loaded.lock().remove(&p.index);
                let n = self.partitions;
                self.txns.lock().retain(|id, _| partition_for(id, n) != p.index);
            }
        }
    }

    fn load_partition(&self, broker: &Broker, p: &crate::partition::Partition) -> anyhow::Result<()> {
        let mut txns = self.txns.lock();
        {
            let st = p.state.lock();
            let end = st.log.log_end_offset();
            let mut offset = st.log.log_start_offset();
            while offset < end {
                let chunk = st.log.read(offset, 1 << 20, end, true)?;
                if chunk.is_empty() {
                    break;
                }
                let mut buf = chunk;
                let mut next = offset;
                while !buf.is_empty() {
                    let Ok(set) = RecordBatchDecoder::decode(&mut buf) else { break };
                    for r in set.records {
                        next = next.max(r.offset + 1);
                        let Some(mut k) = r.key else { continue };
                        if k.remaining() < 2 || k.get_i16() != 0 {
                            continue;
                        }
                        let Some(id) = get_str(&mut k) else { continue };
                        match r.value {
                            None => {
                                txns.remove(&id);
                            }
                            Some(v) => {
                                if let Some(m) = TxnMeta::decode(id.clone(), v) {
                                    txns.insert(id, m);
                                }
                            }
                        }
                    }
                }
                if next <= offset {
                    break;
                }
                offset = next;
            }
        }
        let n = self.partitions;
        let unfinished: Vec<String> = txns
            .values()
            .filter(|m| partition_for(&m.transactional_id, n) == p.index)
            .filter(|m| matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort))
            .map(|m| m.transactional_id.clone())
            .collect();
        tracing::info!(partition = p.index, transactions = txns.len(), unfinished = unfinished.len(), "transaction coordinator loaded {TXN_TOPIC} partition");
        // Markers go out after this broker serves the partition; complete() writes them.
        self.loaded.lock().insert(p.index);
        for id in unfinished {
            if let Some(m) = txns.get_mut(&id) {
                let commit = m.state == TxnState::PrepareCommit;
                if let Err(e) = self.complete(broker, m, commit) {
                    tracing::warn!(transactional_id = %id, error = ?e, "cannot complete transaction yet");
                }
            }
        }
        Ok(())
    }

    fn persist(&self, broker: &Broker, m: &TxnMeta) -> TxnResult<()> {
        let p = partition_for(&m.transactional_id, self.partitions);
        let part = broker.partition(TXN_TOPIC, p).ok_or(ResponseError::CoordinatorNotAvailable)?;
        let now = now_ms();
        let rec = Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: 0,
            sequence: -1,
            timestamp: now,
            key: Some(TxnMeta::key(&m.transactional_id)),
            value: Some(m.value()),
            headers: Default::default(),
        };
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(&mut buf, [&rec], &RecordEncodeOptions { version: 2, compression: Compression::None })
            .map_err(|_| ResponseError::UnknownServerError)?;
        part.append(&buf.freeze(), now).map(|_| ()).map_err(|e| {
            tracing::error!(error = %e, "cannot write {TXN_TOPIC}");
            ResponseError::CoordinatorNotAvailable
        })
    }

    /// Writes the markers for a transaction, applies its offsets, and marks it
    /// complete. Called with PrepareX already persisted (or from recovery).
    fn complete(&self, broker: &Broker, m: &mut TxnMeta, commit: bool) -> std::io::Result<()> {
        let now = now_ms();
        let mut offsets_partitions = BTreeSet::new();
        // Partitions led elsewhere get their markers through WriteTxnMarkers.
        let mut remote: BTreeMap<i32, Vec<(String, i32)>> = BTreeMap::new();
        let image = broker.agent.image();
        for (topic, p) in &m.partitions {
            let leader = image.partition(topic, *p).map_or(-1, |i| i.leader);
            if leader >= 0 && leader != broker.node_id {
                remote.entry(leader).or_default().push((topic.clone(), *p));
                continue;
            }
            if topic == OFFSETS_TOPIC {
                offsets_partitions.insert(*p);
                continue;
            }
            if let Some(part) = broker.partition(topic, *p) {
                part.write_marker(m.producer_id, m.producer_epoch, commit, now)?;
            }
        }
        for (leader, parts) in remote {
            send_markers(broker, &self.marker_conns, leader, m.producer_id, m.producer_epoch, commit, &parts)?;
        }
        broker.groups.complete_txn(broker, m.producer_id, m.producer_epoch, commit, &offsets_partitions)?;
        m.state = if commit { TxnState::CompleteCommit } else { TxnState::CompleteAbort };
        m.partitions.clear();
        m.last_update_ms = now;
        let _ = self.persist(broker, m);
        Ok(())
    }

    fn check_producer(m: &TxnMeta, producer_id: i64, epoch: i16) -> TxnResult<()> {
        if m.producer_id != producer_id {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        if epoch < m.producer_epoch {
            return Err(ResponseError::ProducerFenced);
        }
        if epoch > m.producer_epoch {
            return Err(ResponseError::InvalidProducerEpoch);
        }
        if matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort) {
            return Err(ResponseError::ConcurrentTransactions);
        }
        Ok(())
    }

    /// InitProducerId with a transactional id: a new producer id, or the same
    /// id with a bumped epoch, which fences older instances. An open
    /// transaction of the previous instance is aborted first.
    pub fn init_producer_id(&self, broker: &Broker, txn_id: &str, timeout_ms: i32, req_pid: i64, req_epoch: i16) -> TxnResult<(i64, i16)> {
        if !self.owns(txn_id) {
            return Err(ResponseError::NotCoordinator);
        }
        if timeout_ms <= 0 || timeout_ms > self.max_timeout_ms {
            return Err(ResponseError::InvalidTransactionTimeout);
        }
        let now = now_ms();
        let mut txns = self.txns.lock();
        let Some(m) = txns.get_mut(txn_id) else {
            let pid = broker.next_producer_id().map_err(|_| ResponseError::CoordinatorNotAvailable)?;
            let m = TxnMeta {
                transactional_id: txn_id.to_string(),
                producer_id: pid,
                producer_epoch: 0,
                timeout_ms,
                state: TxnState::Empty,
                partitions: BTreeSet::new(),
                last_update_ms: now,
                start_ms: -1,
            };
            self.persist(broker, &m)?;
            txns.insert(txn_id.to_string(), m);
            return Ok((pid, 0));
        };
        // KIP-360: a producer retrying with its own id/epoch may bump; anyone else is fenced.
        if req_pid >= 0 && (req_pid != m.producer_id || req_epoch != m.producer_epoch) {
            return Err(ResponseError::ProducerFenced);
        }
        match m.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                let commit = m.state == TxnState::PrepareCommit;
                self.complete(broker, m, commit).map_err(|_| ResponseError::CoordinatorNotAvailable)?;
            }
            TxnState::Ongoing => {
                // Fence the old instance first, then abort its transaction with the new epoch.
                m.producer_epoch += 1;
                m.state = TxnState::PrepareAbort;
                self.persist(broker, m)?;
                self.complete(broker, m, false).map_err(|_| ResponseError::CoordinatorNotAvailable)?;
            }
            _ => {}
        }
        if m.producer_epoch >= i16::MAX - 1 {
            m.producer_id = broker.next_producer_id().map_err(|_| ResponseError::CoordinatorNotAvailable)?;
            m.producer_epoch = 0;
        } else {
            m.producer_epoch += 1;
        }
        m.timeout_ms = timeout_ms;
        m.state = TxnState::Empty;
        m.partitions.clear();
        m.last_update_ms = now;
        m.start_ms = -1;
        self.persist(broker, m)?;
        Ok((m.producer_id, m.producer_epoch))
    }

    /// AddPartitionsToTxn; returns an error per partition. `verify_only`
    /// (the broker-side v4+ form) only checks membership.
    pub fn add_partitions(
        &self,
        broker: &Broker,
        txn_id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
        verify_only: bool,
    ) -> Vec<((String, i32), Option<ResponseError>)> {
        let all = |e: ResponseError| partitions.iter().map(|p| (p.clone(), Some(e))).collect();
        if !self.owns(txn_id) {
            return all(ResponseError::NotCoordinator);
        }
        let mut txns = self.txns.lock();
        let Some(m) = txns.get_mut(txn_id) else { return all(ResponseError::InvalidProducerIdMapping) };
        if let Err(e) = Self::check_producer(m, producer_id, epoch) {
            return all(e);
        }
        if verify_only {
            return partitions
                .iter()
                .map(|p| (p.clone(), (!m.partitions.contains(p)).then_some(ResponseError::TransactionAbortable)))
                .collect();
        }
        let unknown: Vec<&(String, i32)> =
            partitions.iter().filter(|(t, p)| broker.partition(t, *p).is_none()).collect();
        if !unknown.is_empty() {
            return partitions
                .iter()
                .map(|p| {
                    let e = if unknown.contains(&p) { ResponseError::UnknownTopicOrPartition } else { ResponseError::OperationNotAttempted };
                    (p.clone(), Some(e))
                })
                .collect();
        }
        let now = now_ms();
        let mut next = m.clone();
        next.partitions.extend(partitions.iter().cloned());
        if next.state != TxnState::Ongoing {
            next.state = TxnState::Ongoing;
            next.start_ms = now;
        }
        next.last_update_ms = now;
        if let Err(e) = self.persist(broker, &next) {
            return all(e);
        }
        *m = next;
        partitions.iter().map(|p| (p.clone(), None)).collect()
    }

    /// AddOffsetsToTxn: the group's `__consumer_offsets` partition joins the transaction.
    pub fn add_offsets(&self, broker: &Broker, txn_id: &str, producer_id: i64, epoch: i16, group: &str) -> TxnResult<()> {
        if !self.owns(txn_id) {
            return Err(ResponseError::NotCoordinator);
        }
        let p = broker.groups.partition_for(group);
        let res = self.add_partitions(broker, txn_id, producer_id, epoch, &[(OFFSETS_TOPIC.to_string(), p)], false);
        match res.into_iter().next().and_then(|(_, e)| e) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Checks that a TxnOffsetCommit comes from the current producer of an
    /// open transaction that includes the group.
    pub fn check_offset_commit(&self, broker: &Broker, txn_id: &str, producer_id: i64, epoch: i16, group: &str) -> TxnResult<()> {
        let txns = self.txns.lock();
        let m = txns.get(txn_id).ok_or(ResponseError::InvalidProducerIdMapping)?;
        Self::check_producer(m, producer_id, epoch)?;
        let p = broker.groups.partition_for(group);
        if m.state != TxnState::Ongoing || !m.partitions.contains(&(OFFSETS_TOPIC.to_string(), p)) {
            return Err(ResponseError::InvalidTxnState);
        }
        Ok(())
    }

    /// EndTxn: commit or abort. Retries of a completed end are answered OK.
    pub fn end_txn(&self, broker: &Broker, txn_id: &str, producer_id: i64, epoch: i16, commit: bool) -> TxnResult<()> {
        if !self.owns(txn_id) {
            return Err(ResponseError::NotCoordinator);
        }
        let mut txns = self.txns.lock();
        let m = txns.get_mut(txn_id).ok_or(ResponseError::InvalidProducerIdMapping)?;
        Self::check_producer(m, producer_id, epoch)?;
        match (m.state, commit) {
            (TxnState::Ongoing, _) => {
                m.state = if commit { TxnState::PrepareCommit } else { TxnState::PrepareAbort };
                m.last_update_ms = now_ms();
                self.persist(broker, m)?;
                self.complete(broker, m, commit).map_err(|e| {
                    tracing::error!(error = %e, "writing transaction markers failed");
                    ResponseError::CoordinatorNotAvailable
                })
            }
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => Ok(()),
            _ => Err(ResponseError::InvalidTxnState),
        }
    }

    /// Aborts transactions open longer than their timeout, fencing the
    /// producer, and retries completing ones whose markers did not all land.
    pub fn tick(&self, broker: &Broker) {
        let now = now_ms();
        let mut txns = self.txns.lock();
        for m in txns.values_mut() {
            if matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort) && now - m.last_update_ms > 1000 {
                let commit = m.state == TxnState::PrepareCommit;
                m.last_update_ms = now;
                if let Err(e) = self.complete(broker, m, commit) {
                    tracing::warn!(transactional_id = %m.transactional_id, error = %e, "completing transaction failed; will retry");
                }
                continue;
            }
            if m.state == TxnState::Ongoing && m.start_ms >= 0 && now - m.start_ms > m.timeout_ms as i64 {
                tracing::info!(transactional_id = %m.transactional_id, "aborting transaction past transaction.timeout.ms");
                m.producer_epoch = m.producer_epoch.saturating_add(1);
                m.state = TxnState::PrepareAbort;
                if self.persist(broker, m).is_ok() {
                    if let Err(e) = self.complete(broker, m, false) {
                        tracing::error!(error = %e, "timed-out abort failed");
                    }
                }
            }
        }
    }

    pub fn describe(&self, txn_id: &str) -> Option<TxnMeta> {
        self.txns.lock().get(txn_id).cloned()
    }

    pub fn list(&self) -> Vec<TxnMeta> {
        self.txns.lock().values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_log_value_round_trips() {
        let m = TxnMeta {
            transactional_id: "t".into(),
            producer_id: 9,
            producer_epoch: 3,
            timeout_ms: 60000,
            state: TxnState::Ongoing,
            partitions: [("a".to_string(), 0), ("a".to_string(), 2), ("b".to_string(), 1)].into_iter().collect(),
            last_update_ms: 5,
            start_ms: 4,
        };
        assert_eq!(TxnMeta::decode("t".into(), m.value()), Some(m));
        assert_eq!(TxnMeta::decode("t".into(), Bytes::from_static(&[0, 0, 1])), None);
    }

    async fn broker() -> (std::sync::Arc<Broker>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::config::BrokerConfig::from_props(
            [("log.dirs".to_string(), dir.path().display().to_string()), ("offsets.topic.num.partitions".into(), "3".into()), ("transaction.state.log.num.partitions".into(), "3".into())]
                .into_iter()
                .collect(),
        )
        .unwrap();
        (Broker::start_standalone(cfg).await.unwrap(), dir)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fencing_commit_abort_and_recovery() {
        let (b, dir) = broker().await;
        b.coordinator_for(1, "tx").unwrap();
        b.create_topic("out", 2, 1, Default::default()).unwrap();
        let (pid, e0) = b.txns.init_producer_id(&b, "tx", 60000, -1, -1).unwrap();
        let parts = vec![("out".to_string(), 0), ("out".to_string(), 1)];
        assert!(b.txns.add_partitions(&b, "tx", pid, e0, &parts, false).iter().all(|(_, e)| e.is_none()));
        b.txns.end_txn(&b, "tx", pid, e0, true).unwrap();
        assert_eq!(b.txns.describe("tx").unwrap().state, TxnState::CompleteCommit);
        // Retrying the same end is fine; ending again the other way is not.
        assert!(b.txns.end_txn(&b, "tx", pid, e0, true).is_ok());
        assert_eq!(b.txns.end_txn(&b, "tx", pid, e0, false), Err(ResponseError::InvalidTxnState));
        // Markers landed in both partitions.
        for p in 0..2 {
            assert_eq!(b.partition("out", p).unwrap().state.lock().log.log_end_offset(), 1);
        }
        // A second instance fences the first.
        b.txns.add_partitions(&b, "tx", pid, e0, &parts[..1], false);
        let (pid2, e1) = b.txns.init_producer_id(&b, "tx", 60000, -1, -1).unwrap();
        assert_eq!(pid2, pid);
        assert!(e1 > e0);
        let fenced = b.txns.add_partitions(&b, "tx", pid, e0, &parts, false);
        assert_eq!(fenced[0].1, Some(ResponseError::ProducerFenced));
        // The open transaction of the fenced instance was aborted with a marker.
        assert_eq!(b.partition("out", 0).unwrap().state.lock().log.log_end_offset(), 2);
        b.shutdown().await;
        drop(b);
        let cfg = crate::config::BrokerConfig::from_props(
            [("log.dirs".to_string(), dir.path().display().to_string()), ("offsets.topic.num.partitions".into(), "3".into()), ("transaction.state.log.num.partitions".into(), "3".into())]
                .into_iter()
                .collect(),
        )
        .unwrap();
        let b = Broker::start_standalone(cfg).await.unwrap();
        let m = b.txns.describe("tx").unwrap();
        assert_eq!((m.producer_id, m.producer_epoch, m.state), (pid, e1, TxnState::Empty));
    }
}

/// Sends commit/abort markers to the leader of `parts` (WriteTxnMarkers v1)
/// and waits for its answer; any partition error fails the whole call so
/// the transaction stays in its prepare state and is retried.
fn send_markers(
    broker: &Broker,
    pool: &Mutex<BTreeMap<String, Connection>>,
    leader: i32, producer_id: i64, producer_epoch: i16, commit: bool, parts: &[(String, i32)]) -> std::io::Result<()> {
    use kafka_protocol::messages::write_txn_markers_request::{WritableTxnMarker, WritableTxnMarkerTopic};
    use kafka_protocol::messages::{ProducerId, TopicName, WriteTxnMarkersRequest};
    let image = broker.agent.image();
    let info = image.brokers.get(&leader).filter(|b| !b.fenced).ok_or_else(|| std::io::Error::other(format!("partition leader {leader} is not available")))?;
    let addr = format!("{}:{}", info.host, info.port);
    let mut marker = WritableTxnMarker::default();
    marker.producer_id = ProducerId(producer_id);
    marker.producer_epoch = producer_epoch;
    marker.transaction_result = commit;
    marker.coordinator_epoch = 0;
    for (topic, p) in parts {
        match marker.topics.iter_mut().find(|t| t.name.0.as_str() == topic) {
            Some(t) => t.partition_indexes.push(*p),
            None => {
                let mut t = WritableTxnMarkerTopic::default();
                t.name = TopicName(kafka_protocol::protocol::StrBytes::from_string(topic.clone()));
                t.partition_indexes.push(*p);
                marker.topics.push(t);
            }
        }
    }
    let mut req = WriteTxnMarkersRequest::default();
    req.markers.push(marker);
    let cfg = tributary_client::connection::ConnectionConfig {
        client_id: format!("broker-{}-txn-markers", broker.node_id),
        request_timeout: std::time::Duration::from_secs(10),
        ..Default::default()
    };
    // Reuse the connection to that broker; one that fails is dropped, and
    // the coordinator's retry connects afresh.
    let pooled = pool.lock().remove(&addr);
    let (conn, resp) = tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async {
            let mut conn = match pooled {
                Some(c) => c,
                None => Connection::connect(&addr, &cfg).await?,
            };
            let resp = conn.send(&req, 1, std::time::Duration::ZERO).await?;
            Ok::<_, tributary_client::Error>((conn, resp))
        })
    })
    .map_err(|e| std::io::Error::other(format!("WriteTxnMarkers to broker {leader}: {e}")))?;
    pool.lock().insert(addr, conn);
    for m in resp.markers {
        for t in m.topics {
            for p in t.partitions {
                if p.error_code != 0 {
                    return Err(std::io::Error::other(format!(
                        "WriteTxnMarkers to broker {leader}: {}-{} failed with error {}",
                        t.name.0, p.partition_index, p.error_code
                    )));
                }
            }
        }
    }
    Ok(())
}
