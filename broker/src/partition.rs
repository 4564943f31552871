//! A partition replica: its log plus the replication-facing offsets.
//!
//! Log end offset, high watermark, log start offset and leader epoch are kept
//! apart even with one replica, so replication (followers, ISR) and
//! transactions (last stable offset) slot in without reshaping this type.
//! With a single replica the ISR is just this broker and the high watermark
//! follows the log end offset on every append.

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

    /// Advances the high watermark to the minimum log end offset of the ISR
    /// (only this broker for now).
    fn maybe_advance_high_watermark(&mut self) {
        self.high_watermark = self.high_watermark.max(self.log.log_end_offset());
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
        Ok(Arc::new(Partition {
            topic: topic.to_string(),
            index,
            state: Mutex::new(PartitionState { log, high_watermark: hw, leader_epoch }),
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
        let epoch = st.leader_epoch;
        let off = st.log.append_marker(producer_id, producer_epoch, commit, epoch, now_ms)?;
        st.maybe_advance_high_watermark();
        drop(st);
        self.wake();
        Ok(off)
    }

    /// Appends a produced record set as leader.
    pub fn append(&self, records: &Bytes, now_ms: i64) -> Result<(AppendInfo, i64), AppendError> {
        let mut st = self.state.lock();
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
