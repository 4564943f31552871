//! A partition replica: its log plus the replication-facing offsets.
//!
//! Log end offset, high watermark, log start offset and leader epoch are kept
//! apart even with one replica, so replication (followers, ISR) and
//! transactions (last stable offset) slot in without reshaping this type.
//! With a single replica the ISR is just this broker and the high watermark
//! follows the log end offset on every append.

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

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
        }))
    }

    /// Writes a commit or abort marker for a producer's transaction.
    pub fn write_marker(&self, producer_id: i64, producer_epoch: i16, commit: bool, now_ms: i64) -> std::io::Result<i64> {
        let mut st = self.state.lock();
        let epoch = st.leader_epoch;
        let off = st.log.append_marker(producer_id, producer_epoch, commit, epoch, now_ms)?;
        st.maybe_advance_high_watermark();
        Ok(off)
    }

    /// Appends a produced record set as leader.
    pub fn append(&self, records: &Bytes, now_ms: i64) -> Result<(AppendInfo, i64), AppendError> {
        let mut st = self.state.lock();
        let epoch = st.leader_epoch;
        let info = st.log.append(records, epoch, now_ms)?;
        st.maybe_advance_high_watermark();
        Ok((info, st.log.log_start_offset()))
    }
}
