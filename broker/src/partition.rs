//! A partition replica: its log plus the replication-facing state.
//!
//! The role (leader or follower), ISR and leader epoch come from the cluster
//! image (`Broker::apply_image`). As leader, the replica tracks each
//! follower's log end offset from its fetches and advances the high
//! watermark to the minimum over the ISR; as follower it takes the leader's
//! batches unchanged and the leader's high watermark (capped at its own log
//! end). With a single replica the ISR is just this broker and the high
//! watermark follows the log end offset on every append.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::storage::log::{AppendError, AppendInfo, Log};
use crate::topic_config::LogConfig;

#[derive(Debug)]
pub struct PartitionState {
    pub log: Log,
    pub high_watermark: i64,
    pub leader_epoch: i32,
    pub replica: ReplicaState,
}

/// What the leader knows of one follower, from its fetches.
#[derive(Debug, Clone, Copy)]
pub struct FollowerState {
    /// The follower's log end offset (its last fetch offset); -1 unknown.
    pub leo: i64,
    pub last_caught_up_ms: i64,
    pub last_fetch_ms: i64,
    pub last_fetch_leader_leo: i64,
}

/// This replica's place in the partition, as the cluster image says.
#[derive(Debug, Clone, Default)]
pub struct ReplicaState {
    pub node_id: i32,
    /// -1 when there is no leader (or this broker has not learned it yet).
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub partition_epoch: i32,
    pub followers: HashMap<i32, FollowerState>,
    /// Log end offset when this replica became leader.
    pub epoch_start_offset: i64,
    /// An AlterPartition is on its way to the controller.
    pub isr_change_pending: bool,
}

impl ReplicaState {
    pub fn is_leader(&self) -> bool {
        self.leader >= 0 && self.leader == self.node_id
    }
}

impl PartitionState {
    /// Last stable offset: the high watermark, held back by the first offset
    /// of any still-open transaction.
    pub fn last_stable_offset(&self) -> i64 {
        match self.log.first_unstable_offset() {
            Some(first) => first.min(self.high_watermark),
            None => self.high_watermark,
        }
    }

    /// Advances the high watermark to the minimum log end offset over the
    /// ISR. A follower whose position is not known yet holds it back.
    /// Returns whether it moved.
    pub fn maybe_advance_high_watermark(&mut self) -> bool {
        if !self.replica.is_leader() {
            return false;
        }
        let mut hw = self.log.log_end_offset();
        for r in &self.replica.isr {
            if *r == self.replica.node_id {
                continue;
            }
            match self.replica.followers.get(r) {
                Some(f) if f.leo >= 0 => hw = hw.min(f.leo),
                _ => hw = hw.min(self.high_watermark),
            }
        }
        if hw > self.high_watermark {
            self.high_watermark = hw;
            true
        } else {
            false
        }
    }

    /// A follower fetched from `fetch_offset`: record its position and
    /// whether it is caught up (Kafka's rule: it reached the leader's log
    /// end as of now, or as of its previous fetch).
    pub fn record_follower_fetch(&mut self, replica: i32, fetch_offset: i64, now_ms: i64) -> bool {
        let leo = self.log.log_end_offset();
        let f = self.replica.followers.entry(replica).or_insert(FollowerState { leo: -1, last_caught_up_ms: 0, last_fetch_ms: 0, last_fetch_leader_leo: -1 });
        if fetch_offset >= leo {
            f.last_caught_up_ms = now_ms;
        } else if f.last_fetch_leader_leo >= 0 && fetch_offset >= f.last_fetch_leader_leo {
            f.last_caught_up_ms = f.last_caught_up_ms.max(f.last_fetch_ms);
        }
        f.last_fetch_leader_leo = leo;
        f.last_fetch_ms = now_ms;
        f.leo = fetch_offset.min(leo);
        self.maybe_advance_high_watermark()
    }

    /// The ISR this leader wants: laggards out, caught-up live followers in.
    pub fn desired_isr(&self, now_ms: i64, lag_max_ms: i64, alive: &dyn Fn(i32) -> bool) -> Vec<i32> {
        let r = &self.replica;
        let mut isr: Vec<i32> = r
            .isr
            .iter()
            .copied()
            .filter(|id| *id == r.node_id || r.followers.get(id).is_some_and(|f| now_ms - f.last_caught_up_ms <= lag_max_ms))
            .collect();
        for id in &r.replicas {
            if isr.contains(id) || !alive(*id) {
                continue;
            }
            if let Some(f) = r.followers.get(id) {
                if f.leo >= self.high_watermark && f.leo >= r.epoch_start_offset && now_ms - f.last_caught_up_ms <= lag_max_ms {
                    isr.push(*id);
                }
            }
        }
        r.replicas.iter().copied().filter(|id| isr.contains(id)).collect()
    }
}

#[derive(Debug)]
pub struct Partition {
    pub topic: String,
    pub index: i32,
    pub state: Mutex<PartitionState>,
    /// Long-polling fetches waiting on this partition; woken when its high
    /// watermark or last stable offset moves. Only the fetches that asked for
    /// this partition wake, not every fetch on the broker.
    waiters: Mutex<Vec<Weak<Notify>>>,
}

impl Partition {
    pub fn open(topic: &str, index: i32, dir: &std::path::Path, config: LogConfig, now_ms: i64) -> std::io::Result<Arc<Partition>> {
        let (log, recovery) = Log::open(dir, config, now_ms)?;
        tracing::debug!(topic, partition = index, segments = recovery.segments, leo = log.log_end_offset(), "partition loaded");
        let leader_epoch = log.latest_epoch().unwrap_or(0).max(0);
        let hw = log.log_end_offset();
        let replica = ReplicaState { leader: -1, ..Default::default() };
        Ok(Arc::new(Partition {
            topic: topic.to_string(),
            index,
            state: Mutex::new(PartitionState { log, high_watermark: hw, leader_epoch, replica }),
            waiters: Mutex::new(Vec::new()),
        }))
    }

    /// Registers a fetch to be woken by the next change here.
    pub fn watch(&self, waiter: &Arc<Notify>) {
        let mut w = self.waiters.lock();
        if w.len() >= 64 {
            w.retain(|x| x.strong_count() > 0);
        }
        w.push(Arc::downgrade(waiter));
    }

    /// Wakes every fetch registered since the last wake.
    pub fn wake(&self) {
        let waiters = std::mem::take(&mut *self.waiters.lock());
        for w in waiters {
            if let Some(n) = w.upgrade() {
                n.notify_waiters();
            }
        }
    }

    /// Writes a commit or abort marker for a producer's transaction.
    pub fn write_marker(&self, producer_id: i64, producer_epoch: i16, commit: bool, now_ms: i64) -> std::io::Result<i64> {
        let mut st = self.state.lock();
        if !st.replica.is_leader() {
            return Err(std::io::Error::other("not the leader of this partition"));
        }
        let epoch = st.leader_epoch;
        let off = st.log.append_marker(producer_id, producer_epoch, commit, epoch, now_ms)?;
        st.maybe_advance_high_watermark();
        drop(st);
        self.wake();
        Ok(off)
    }

    /// Appends a produced record set as leader. With `acks_all`, refuses
    /// when the ISR is smaller than `min.insync.replicas`.
    pub fn append(&self, records: &Bytes, now_ms: i64) -> Result<(AppendInfo, i64), AppendError> {
        self.append_checked(records, now_ms, false)
    }

    pub fn append_checked(&self, records: &Bytes, now_ms: i64, acks_all: bool) -> Result<(AppendInfo, i64), AppendError> {
        let mut st = self.state.lock();
        if !st.replica.is_leader() {
            return Err(AppendError::NotLeader);
        }
        if acks_all && st.replica.isr.len() < st.log.config().min_insync_replicas {
            return Err(AppendError::NotEnoughReplicas);
        }
        let epoch = st.leader_epoch;
        let info = st.log.append(records, epoch, now_ms)?;
        st.maybe_advance_high_watermark();
        let log_start = st.log.log_start_offset();
        drop(st);
        if !info.duplicate {
            self.wake();
        }
        Ok((info, log_start))
    }
}

impl Partition {
    /// Appends batches fetched from the leader and takes its high watermark
    /// (never beyond our own log end).
    pub fn append_replicated(&self, records: &Bytes, leader_hw: i64, leader_log_start: i64, now_ms: i64) -> Result<usize, AppendError> {
        let mut st = self.state.lock();
        let n = if records.is_empty() { 0 } else { st.log.append_replicated(records, now_ms)? };
        let hw = leader_hw.min(st.log.log_end_offset());
        if hw >= 0 {
            st.high_watermark = hw;
        }
        if leader_log_start > st.log.log_start_offset() && leader_log_start <= st.log.log_end_offset() {
            st.log.advance_log_start(leader_log_start)?;
        }
        drop(st);
        self.wake();
        Ok(n)
    }

    /// Waits until the high watermark passes `offset` (acks=all), the
    /// replica stops leading, or the ISR falls below `min.insync.replicas`.
    pub async fn wait_replicated(&self, offset: i64, deadline: tokio::time::Instant) -> Result<(), AppendError> {
        // A single replica (or fast followers) is done before any waiting is set up.
        if self.state.lock().high_watermark > offset {
            return Ok(());
        }
        let waiter = Arc::new(Notify::new());
        loop {
            let notified = waiter.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            self.watch(&waiter);
            {
                let st = self.state.lock();
                if st.high_watermark > offset {
                    return Ok(());
                }
                if !st.replica.is_leader() {
                    return Err(AppendError::NotLeader);
                }
                if st.replica.isr.len() < st.log.config().min_insync_replicas {
                    return Err(AppendError::NotEnoughReplicasAfterAppend);
                }
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(deadline) => return Err(AppendError::Timeout),
            }
        }
    }
}
