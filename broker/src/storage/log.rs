//! A partition's log: sealed segments plus one active segment, the log start
//! offset, the idempotent-producer state and the leader-epoch cache.
//!
//! What is on disk: segment files (`.log`, and `.index`/`.timeindex` once
//! sealed) and `log-start-offset` (written with fsync when DeleteRecords moves
//! it). Producer state and the leader-epoch cache are derived: `open` rebuilds
//! them from batch headers, so they can never disagree with the data.

use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};

use super::batch::{self, BatchError, BatchHeader};
use super::producer_state::{ProducerStateManager, SeqCheck};
use super::segment::{ActiveSegment, SealedSegment, Segment};
use crate::topic_config::LogConfig;

const LOG_START_FILE: &str = "log-start-offset";

/// Why an append was refused; each maps to one Kafka error code.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("corrupt record batch: {0}")]
    Corrupt(#[from] BatchError),
    #[error("produce requests v3+ must carry exactly one record batch per partition")]
    NotOneBatch,
    #[error("batch of {size} bytes exceeds max.message.bytes {max}")]
    TooLarge { size: usize, max: usize },
    #[error("timestamp {0} is out of the allowed range")]
    InvalidTimestamp(i64),
    #[error("producer epoch is stale (fenced)")]
    FencedEpoch,
    #[error("out of order sequence number: expected {expected}, got {got}")]
    OutOfOrder { expected: i32, got: i32 },
    #[error("duplicate sequence number")]
    DuplicateSequence,
    #[error("This server is not the leader for that topic-partition.")]
    NotLeader,
    #[error("Messages are rejected since there are fewer in-sync replicas than required.")]
    NotEnoughReplicas,
    #[error("Messages are written to the log, but to fewer in-sync replicas than required.")]
    NotEnoughReplicasAfterAppend,
    #[error("The request timed out waiting for the in-sync replicas.")]
    Timeout,
    #[error("storage error: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    /// The broker time stamped into the batch for LogAppendTime topics, else -1.
    pub log_append_time: i64,
    /// True when this was a retry of a batch already in the log.
    pub duplicate: bool,
}

/// What `open` found and repaired.
#[derive(Debug, Default, Clone, Copy)]
pub struct Recovery {
    pub segments: usize,
    pub truncated_bytes: u64,
}

#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    config: LogConfig,
    sealed: Vec<SealedSegment>,
    active: ActiveSegment,
    log_start_offset: i64,
    derived: Derived,
    last_flush_ms: i64,
}

/// An aborted transaction's range in this partition, for read_committed fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
}

/// State derived from batch headers: rebuilt on open, updated on append.
#[derive(Debug, Default)]
struct Derived {
    producers: ProducerStateManager,
    /// (leader epoch, first offset written in that epoch), ascending.
    epochs: Vec<(i32, i64)>,
    /// Open transactions: producer id -> first offset of its transaction here.
    ongoing: std::collections::BTreeMap<i64, i64>,
    /// Aborted transactions, in marker order.
    aborted: Vec<AbortedTxn>,
}

impl Derived {
    fn apply(&mut self, h: &BatchHeader, control: Option<batch::ControlType>) {
        self.producers.record(h);
        if self.epochs.last().is_none_or(|(e, _)| h.partition_leader_epoch > *e) {
            self.epochs.push((h.partition_leader_epoch, h.base_offset));
        }
        if !h.is_transactional() || !h.has_producer_id() {
            return;
        }
        if h.is_control() {
            let first = self.ongoing.remove(&h.producer_id);
            if control == Some(batch::ControlType::Abort) {
                if let Some(first_offset) = first {
                    self.aborted.push(AbortedTxn { producer_id: h.producer_id, first_offset, last_offset: h.base_offset });
                }
            }
        } else {
            self.ongoing.entry(h.producer_id).or_insert(h.base_offset);
        }
    }
}

fn segment_bases(dir: &Path) -> std::io::Result<Vec<i64>> {
    let mut bases: Vec<i64> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.strip_suffix(".log").and_then(|b| b.parse::<i64>().ok())
        })
        .collect();
    bases.sort_unstable();
    Ok(bases)
}

impl Log {
    /// Opens (or creates) the log in `dir`, recovering the active segment.
    pub fn open(dir: &Path, config: LogConfig, now_ms: i64) -> std::io::Result<(Log, Recovery)> {
        std::fs::create_dir_all(dir)?;
        let bases = segment_bases(dir)?;
        let mut sealed = Vec::new();
        let mut derived = Derived::default();
        let mut recovery = Recovery { segments: bases.len(), truncated_bytes: 0 };
        let active = match bases.split_last() {
            None => ActiveSegment::create(dir, 0, config.index_interval_bytes, now_ms)?,
            Some((last, rest)) => {
                for base in rest {
                    let (seg, headers) = SealedSegment::open(dir, *base, config.index_interval_bytes)?;
                    for (pos, h) in &headers {
                        let ctl = if h.is_control() { seg.0.control_type_at(*pos)? } else { None };
                        derived.apply(h, ctl);
                    }
                    sealed.push(seg);
                }
                let (active, headers, truncated) =
                    ActiveSegment::recover(dir, *last, config.index_interval_bytes, now_ms)?;
                if truncated > 0 {
                    tracing::warn!(dir = %dir.display(), truncated_bytes = truncated, "truncated torn or corrupt log tail");
                }
                recovery.truncated_bytes = truncated;
                for (pos, h) in &headers {
                    let ctl = if h.is_control() { active.seg.control_type_at(*pos)? } else { None };
                    derived.apply(h, ctl);
                }
                active
            }
        };
        let first_base = sealed.first().map_or(active.seg.base_offset, |s| s.0.base_offset);
        let stored_start = std::fs::read_to_string(dir.join(LOG_START_FILE))
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0);
        let mut log = Log {
            dir: dir.to_path_buf(),
            config,
            sealed,
            active,
            log_start_offset: first_base.max(stored_start),
            derived,
            last_flush_ms: now_ms,
        };
        log.log_start_offset = log.log_start_offset.min(log.log_end_offset());
        log.derived.producers.truncate_head(log.log_start_offset);
        Ok((log, recovery))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn config(&self) -> &LogConfig {
        &self.config
    }
    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }
    pub fn log_end_offset(&self) -> i64 {
        self.active.seg.next_offset()
    }
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }
    pub fn producers(&self) -> &ProducerStateManager {
        &self.derived.producers
    }
    /// First offset of the oldest open transaction (the LSO bound), if any.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.derived.ongoing.values().min().copied()
    }
    /// Open transactions: producer id -> first offset.
    pub fn ongoing_transactions(&self) -> &std::collections::BTreeMap<i64, i64> {
        &self.derived.ongoing
    }
    /// Aborted transactions overlapping `[from, to)`, for read_committed fetches.
    pub fn aborted_between(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        self.derived.aborted.iter().filter(|a| a.last_offset >= from && a.first_offset < to).copied().collect()
    }
    pub fn size_bytes(&self) -> u64 {
        self.sealed.iter().map(|s| s.0.size()).sum::<u64>() + self.active.seg.size()
    }
    pub fn segment_count(&self) -> usize {
        self.sealed.len() + 1
    }
    pub fn latest_epoch(&self) -> Option<i32> {
        self.derived.epochs.last().map(|(e, _)| *e)
    }

    /// Validates and appends one produced record set (exactly one batch, as
    /// produce v3+ requires). Offsets and the leader epoch are stamped into the
    /// batch header; the records are stored as received.
    pub fn append(&mut self, records: &Bytes, leader_epoch: i32, now_ms: i64) -> Result<AppendInfo, AppendError> {
        let batches = batch::split_and_validate(records)?;
        if batches.len() != 1 {
            return Err(AppendError::NotOneBatch);
        }
        let (h, bytes) = &batches[0];
        if h.size > self.config.max_message_bytes {
            return Err(AppendError::TooLarge { size: h.size, max: self.config.max_message_bytes });
        }
        if !self.config.log_append_time && !h.is_control() {
            // KIP-937: CreateTime must lie within [now - before.max, now + after.max].
            let too_old = h.base_timestamp >= 0 && now_ms.saturating_sub(h.base_timestamp) > self.config.timestamp_before_max_ms;
            let too_new = h.max_timestamp.saturating_sub(now_ms) > self.config.timestamp_after_max_ms;
            if too_old || too_new {
                return Err(AppendError::InvalidTimestamp(if too_new { h.max_timestamp } else { h.base_timestamp }));
            }
        }
        match self.derived.producers.check(h) {
            SeqCheck::Append => {}
            SeqCheck::Duplicate(m) => {
                return Ok(AppendInfo {
                    base_offset: m.first_offset(),
                    last_offset: m.last_offset,
                    log_append_time: -1,
                    duplicate: true,
                })
            }
            SeqCheck::OldDuplicate => return Err(AppendError::DuplicateSequence),
            SeqCheck::FencedEpoch => return Err(AppendError::FencedEpoch),
            SeqCheck::OutOfOrder { expected, got } => return Err(AppendError::OutOfOrder { expected, got }),
        }
        let mut buf = BytesMut::from(&bytes[..]);
        let base_offset = self.log_end_offset();
        batch::patch_offset_and_epoch(&mut buf, base_offset, leader_epoch);
        let log_append_time = if self.config.log_append_time {
            batch::patch_log_append_time(&mut buf, now_ms);
            now_ms
        } else {
            // Some producers (sarama 1.x) leave MaxTimestamp unset; ListOffsets
            // by time, retention and the time index need it, so compute it from
            // the records. Only such batches are decoded.
            if h.max_timestamp < h.base_timestamp && !h.is_control() {
                if let Some(max) = batch::records_max_timestamp(&buf) {
                    batch::patch_max_timestamp(&mut buf, max);
                }
            }
            -1
        };
        let h = BatchHeader::parse(&buf)?;
        self.append_patched(&h, &buf, now_ms)?;
        Ok(AppendInfo { base_offset, last_offset: h.last_offset(), log_append_time, duplicate: false })
    }

    /// Appends a batch whose offsets are already final (the produce path above,
    /// and later replication and control markers).
    pub fn append_patched(&mut self, h: &BatchHeader, bytes: &[u8], now_ms: i64) -> std::io::Result<()> {
        self.maybe_roll(h.size as u64, now_ms)?;
        self.active.append(h, bytes)?;
        let ctl = if h.is_control() { bytes.get(batch::HEADER_LEN..).and_then(batch::control_type) } else { None };
        self.derived.apply(h, ctl);
        if self.active.unflushed_messages() >= self.config.flush_messages {
            self.active.flush()?;
            self.last_flush_ms = now_ms;
        }
        Ok(())
    }

    fn maybe_roll(&mut self, incoming: u64, now_ms: i64) -> std::io::Result<()> {
        let seg = &self.active.seg;
        if seg.is_empty() {
            return Ok(());
        }
        let full = seg.size() + incoming > self.config.segment_bytes;
        let old = now_ms - seg.created_ms >= self.config.segment_ms;
        if full || old {
            self.roll(now_ms)?;
        }
        Ok(())
    }

    /// Appends batches copied from the partition leader: offsets and leader
    /// epochs are already final and the bytes are stored unchanged, so every
    /// replica holds identical batches. Producer state and the epoch cache
    /// follow from the headers, as on the leader.
    pub fn append_replicated(&mut self, records: &Bytes, now_ms: i64) -> Result<usize, AppendError> {
        let batches = batch::split_and_validate(records)?;
        let mut n = 0;
        for (h, bytes) in &batches {
            let leo = self.log_end_offset();
            if h.last_offset() < leo {
                continue;
            }
            if h.base_offset != leo {
                return Err(AppendError::Io(std::io::Error::other(format!(
                    "replicated batch at offset {} does not follow the log end offset {leo}",
                    h.base_offset
                ))));
            }
            self.append_patched(h, bytes, now_ms)?;
            n += 1;
        }
        Ok(n)
    }

    /// Removes every batch from the one containing `offset` on (a follower
    /// dropping a tail the leader does not have). Segment files above are
    /// deleted, the containing one cut, and the log reopened so producer
    /// state, epochs and transaction indexes are rebuilt from what remains.
    pub fn truncate_to(&mut self, offset: i64, now_ms: i64) -> std::io::Result<()> {
        if offset >= self.log_end_offset() {
            return Ok(());
        }
        self.active.flush()?;
        let offset = offset.max(0);
        let mut cut: Option<(PathBuf, u64)> = None;
        let mut remaining = 0usize;
        let segs: Vec<&Segment> = self.sealed.iter().map(|s| &s.0).chain(std::iter::once(&self.active.seg)).collect();
        for seg in &segs {
            if seg.base_offset >= offset {
                seg.delete_files();
                continue;
            }
            remaining += 1;
            if seg.next_offset() > offset {
                let pos = seg
                    .headers()?
                    .into_iter()
                    .find(|(_, h)| h.last_offset() >= offset)
                    .map(|(pos, _)| pos)
                    .unwrap_or_else(|| seg.size());
                cut = Some((seg.log_path(), pos));
                for ext in ["index", "timeindex"] {
                    let _ = std::fs::remove_file(super::segment::file_name(&self.dir, seg.base_offset, ext));
                }
            }
        }
        if let Some((path, pos)) = cut {
            let f = std::fs::OpenOptions::new().write(true).open(&path)?;
            f.set_len(pos)?;
            f.sync_all()?;
        }
        if remaining == 0 {
            // Nothing below `offset` is left: start an empty segment there.
            std::fs::File::create(super::segment::file_name(&self.dir, offset, "log"))?;
        }
        let log_start = self.log_start_offset;
        let (mut log, _) = Log::open(&self.dir, self.config.clone(), now_ms)?;
        log.log_start_offset = log_start.min(log.log_end_offset()).max(log.log_start_offset);
        *self = log;
        Ok(())
    }

    /// Empties the log and restarts it at `offset` (a follower that fell
    /// behind the leader's log start offset).
    pub fn reset_to(&mut self, offset: i64, now_ms: i64) -> std::io::Result<()> {
        for seg in self.sealed.iter().map(|s| &s.0).chain(std::iter::once(&self.active.seg)) {
            seg.delete_files();
        }
        std::fs::File::create(super::segment::file_name(&self.dir, offset, "log"))?;
        let (log, _) = Log::open(&self.dir, self.config.clone(), now_ms)?;
        *self = log;
        self.advance_log_start(offset)?;
        Ok(())
    }

    /// Writes a transaction marker for `producer_id` (commit or abort) and
    /// returns its offset. The producer's epoch in the marker fences older ones.
    pub fn append_marker(&mut self, producer_id: i64, producer_epoch: i16, commit: bool, leader_epoch: i32, now_ms: i64) -> std::io::Result<i64> {
        let b = batch::control_batch(producer_id, producer_epoch, commit, 0, now_ms);
        let mut buf = BytesMut::from(&b[..]);
        let offset = self.log_end_offset();
        batch::patch_offset_and_epoch(&mut buf, offset, leader_epoch);
        let h = BatchHeader::parse(&buf).map_err(std::io::Error::other)?;
        self.append_patched(&h, &buf, now_ms)?;
        Ok(offset)
    }

    /// Seals the active segment and starts a new one at the log end offset.
    pub fn roll(&mut self, now_ms: i64) -> std::io::Result<()> {
        let next = ActiveSegment::create(&self.dir, self.log_end_offset(), self.config.index_interval_bytes, now_ms)?;
        let old = std::mem::replace(&mut self.active, next);
        self.sealed.push(old.seal()?);
        Ok(())
    }

    /// fsyncs the active segment if `flush.ms` has passed (called periodically).
    pub fn flush_if_due(&mut self, now_ms: i64, flush_ms: Option<i64>) -> std::io::Result<()> {
        if let Some(ms) = flush_ms {
            if now_ms - self.last_flush_ms >= ms {
                self.active.flush()?;
                self.last_flush_ms = now_ms;
            }
        }
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.active.flush()
    }

    fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.sealed.iter().map(|s| &s.0).chain(std::iter::once(&self.active.seg))
    }

    /// Reads whole batches from `offset` up to `max_bytes` (at least one batch
    /// when `min_one`), never returning a batch at or past `limit_offset`.
    pub fn read(&self, offset: i64, max_bytes: usize, limit_offset: i64, min_one: bool) -> std::io::Result<Bytes> {
        let start = self.sealed.partition_point(|s| s.0.base_offset <= offset);
        let segs: Vec<&Segment> = self.segments().collect();
        for seg in &segs[start.saturating_sub(1)..] {
            if seg.next_offset() <= offset {
                continue;
            }
            // A compacted segment may hold nothing at or after `offset`: move on.
            let data = seg.read(offset, max_bytes, limit_offset, min_one)?;
            if !data.is_empty() || seg.base_offset >= limit_offset {
                return Ok(data);
            }
        }
        Ok(Bytes::new())
    }

    /// ListOffsets by timestamp: the first offset whose timestamp is >= `ts`.
    pub fn offset_for_timestamp(&self, ts: i64) -> std::io::Result<Option<(i64, i64)>> {
        for seg in self.segments() {
            if let Some((off, t)) = seg.find_by_timestamp(ts)? {
                return Ok(Some((off.max(self.log_start_offset), t)));
            }
        }
        Ok(None)
    }

    /// ListOffsets MAX_TIMESTAMP: offset and timestamp of the newest-stamped batch.
    pub fn max_timestamp_offset(&self) -> std::io::Result<Option<(i64, i64)>> {
        let mut best: Option<(i64, i64)> = None;
        for seg in self.segments() {
            if best.is_some_and(|(_, ts)| seg.max_timestamp() <= ts) {
                continue;
            }
            if let Some((off, ts)) = seg.max_timestamp_offset()? {
                if best.is_none_or(|(_, b)| ts > b) {
                    best = Some((off, ts));
                }
            }
        }
        Ok(best)
    }

    /// The OffsetForLeaderEpoch answer: (epoch, end offset) as Kafka's
    /// LeaderEpochFileCache computes it; (-1, -1) when unknown.
    pub fn end_offset_for_epoch(&self, requested: i32) -> (i32, i64) {
        if requested < 0 {
            return (-1, -1);
        }
        let epochs = &self.derived.epochs;
        match epochs.last() {
            None => return (-1, -1),
            Some((e, _)) if *e == requested => return (requested, self.log_end_offset()),
            _ => {}
        }
        let higher = epochs.iter().find(|(e, _)| *e > requested);
        let floor = epochs.iter().rev().find(|(e, _)| *e <= requested);
        match (floor, higher) {
            (_, None) => (-1, -1),
            (None, Some((_, start))) => (requested, *start),
            (Some((fe, _)), Some((_, start))) => (*fe, *start),
        }
    }

    /// DeleteRecords: moves the log start offset forward (never past the end)
    /// and deletes segments that fall entirely below it. Durable on return.
    pub fn advance_log_start(&mut self, offset: i64) -> std::io::Result<i64> {
        let new_start = offset.min(self.log_end_offset());
        if new_start <= self.log_start_offset {
            return Ok(self.log_start_offset);
        }
        self.log_start_offset = new_start;
        let tmp = self.dir.join(format!("{LOG_START_FILE}.tmp"));
        std::fs::write(&tmp, new_start.to_string())?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, self.dir.join(LOG_START_FILE))?;
        self.delete_segments_below_start();
        self.derived.producers.truncate_head(new_start);
        Ok(new_start)
    }

    fn delete_segments_below_start(&mut self) {
        while let Some(first) = self.sealed.first() {
            if first.0.next_offset() <= self.log_start_offset {
                let seg = self.sealed.remove(0);
                seg.0.delete_files();
            } else {
                break;
            }
        }
    }

    /// Applies `retention.ms` and `retention.bytes` to sealed segments (the
    /// active segment is never deleted). Returns how many segments went.
    pub fn enforce_retention(&mut self, now_ms: i64) -> std::io::Result<usize> {
        let mut deleted = 0;
        let mut total = self.size_bytes() as i64;
        while let Some(first) = self.sealed.first() {
            let seg = &first.0;
            let expired = self.config.retention_ms >= 0 && seg.max_timestamp() >= 0 && now_ms - seg.max_timestamp() > self.config.retention_ms;
            let over = self.config.retention_bytes >= 0 && total - seg.size() as i64 >= self.config.retention_bytes;
            if !(expired || over) || self.config.compact {
                break;
            }
            total -= seg.size() as i64;
            let next_start = seg.next_offset();
            let seg = self.sealed.remove(0);
            seg.0.delete_files();
            deleted += 1;
            if next_start > self.log_start_offset {
                self.log_start_offset = next_start;
            }
        }
        if deleted > 0 {
            self.derived.producers.truncate_head(self.log_start_offset);
            let start = self.log_start_offset;
            self.derived.aborted.retain(|a| a.last_offset >= start);
        }
        Ok(deleted)
    }

    /// Compacts sealed segments of a `cleanup.policy=compact` log (see
    /// `cleaner`). Each cleaned segment is written beside the original,
    /// fsynced and renamed over it, so a crash leaves the old or the new file.
    /// Returns how many segments changed.
    pub fn compact(&mut self, now_ms: i64) -> std::io::Result<usize> {
        if !self.config.compact || self.sealed.is_empty() {
            return Ok(0);
        }
        let latest = super::cleaner::build_offset_map(self.segments())?;
        let mut cleaned = 0;
        for i in 0..self.sealed.len() {
            let seg = &self.sealed[i].0;
            let old_enough = seg.max_timestamp() >= 0 && now_ms - seg.max_timestamp() > self.config.delete_retention_ms;
            let Some(bytes) = super::cleaner::clean_segment(seg, &latest, old_enough)? else { continue };
            let base = seg.base_offset;
            let tmp = super::segment::file_name(&self.dir, base, "log.cleaned");
            {
                use std::io::Write;
                let mut f = std::fs::File::create(&tmp)?;
                f.write_all(&bytes)?;
                f.sync_all()?;
            }
            for ext in ["index", "timeindex"] {
                let _ = std::fs::remove_file(super::segment::file_name(&self.dir, base, ext));
            }
            std::fs::rename(&tmp, super::segment::file_name(&self.dir, base, "log"))?;
            let (reopened, _) = SealedSegment::open(&self.dir, base, self.config.index_interval_bytes)?;
            self.sealed[i] = reopened;
            cleaned += 1;
        }
        Ok(cleaned)
    }

    /// Deletes every file of this log (DeleteTopics).
    pub fn delete(self) -> std::io::Result<()> {
        let dir = self.dir.clone();
        drop(self);
        std::fs::remove_dir_all(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::batch::tests::make_batch;

    fn cfg(segment_bytes: u64) -> LogConfig {
        LogConfig {
            segment_bytes,
            segment_ms: i64::MAX,
            retention_ms: -1,
            retention_bytes: -1,
            max_message_bytes: 1 << 20,
            index_interval_bytes: 100,
            log_append_time: false,
            flush_messages: i64::MAX,
            compact: false,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: i64::MAX,
            delete_retention_ms: i64::MAX,
            min_insync_replicas: 1,
        }
    }

    #[test]
    fn append_read_roll_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = Log::open(dir.path(), cfg(1000), 0).unwrap();
        let mut expected = Vec::new();
        for i in 0..50 {
            let info = log.append(&make_batch(3, None, 1000 + i), 0, 0).unwrap();
            assert_eq!(info.base_offset, i * 3);
            expected.push(info);
        }
        assert!(log.segment_count() > 3, "rolled by size");
        assert_eq!(log.log_end_offset(), 150);
        // read from the middle of a batch returns that whole batch
        let data = log.read(31, 1 << 20, 150, true).unwrap();
        let first = BatchHeader::parse(&data).unwrap();
        assert_eq!(first.base_offset, 30);
        // read everything across segments
        let mut off = 0;
        let mut count = 0;
        while off < 150 {
            let d = log.read(off, 300, 150, true).unwrap();
            for (_, h) in batch::BatchIter::new(&d, true) {
                assert_eq!(h.base_offset, off);
                off = h.next_offset();
                count += 1;
            }
        }
        assert_eq!(count, 50);
        // batch 8 holds offsets 24..=26 stamped 1008..=1010: the record, not the batch, is the answer
        assert_eq!(log.offset_for_timestamp(1010).unwrap().unwrap(), (26, 1010));
        drop(log);
        let (log, rec) = Log::open(dir.path(), cfg(1000), 0).unwrap();
        assert_eq!(rec.truncated_bytes, 0);
        assert_eq!(log.log_end_offset(), 150);
        assert_eq!(log.read(0, 1 << 20, 150, true).unwrap().len() > 0, true);
    }

    #[test]
    fn create_time_outside_the_allowed_window_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = cfg(1 << 20);
        c.timestamp_after_max_ms = 1000;
        c.timestamp_before_max_ms = 5000;
        let (mut log, _) = Log::open(dir.path(), c, 0).unwrap();
        let now = 1_000_000;
        assert!(log.append(&make_batch(1, None, now + 500), 0, now).is_ok());
        assert!(matches!(log.append(&make_batch(1, None, now + 5000), 0, now), Err(AppendError::InvalidTimestamp(_))));
        assert!(matches!(log.append(&make_batch(1, None, now - 10_000), 0, now), Err(AppendError::InvalidTimestamp(_))));
        assert_eq!(log.log_end_offset(), 1);
    }

    #[test]
    fn unset_max_timestamp_is_computed_from_records() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = Log::open(dir.path(), cfg(1 << 20), 0).unwrap();
        let mut b = BytesMut::from(&make_batch(3, None, 5000)[..]);
        batch::patch_max_timestamp(&mut b, -1);
        log.append(&b.freeze(), 0, 0).unwrap();
        let stored = log.read(0, 1 << 20, 3, true).unwrap();
        assert_eq!(BatchHeader::parse(&stored).unwrap().max_timestamp, 5002);
        assert!(batch::split_and_validate(&stored).is_ok(), "CRC still valid");
        assert_eq!(log.offset_for_timestamp(5001).unwrap().map(|x| x.0), Some(1));
    }

    #[test]
    fn torn_tail_is_truncated_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = Log::open(dir.path(), cfg(1 << 20), 0).unwrap();
        for i in 0..10 {
            log.append(&make_batch(2, None, i), 0, 0).unwrap();
        }
        let path = dir.path().join(format!("{:020}.log", 0));
        drop(log);
        let mut data = std::fs::read(&path).unwrap();
        let full = data.len();
        data.truncate(full - 7);
        data.extend_from_slice(&[1, 2, 3]);
        std::fs::write(&path, &data).unwrap();
        let (log, rec) = Log::open(dir.path(), cfg(1 << 20), 0).unwrap();
        assert_eq!(log.log_end_offset(), 18, "last batch dropped");
        assert!(rec.truncated_bytes > 0);
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, full - make_batch(2, None, 9).len());
    }

    #[test]
    fn idempotent_retry_returns_original_offset_after_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = Log::open(dir.path(), cfg(1 << 20), 0).unwrap();
        let b = make_batch(4, Some((11, 0, 0)), 0);
        assert_eq!(log.append(&b, 0, 0).unwrap().base_offset, 0);
        log.append(&make_batch(1, None, 0), 0, 0).unwrap();
        drop(log);
        let (mut log, _) = Log::open(dir.path(), cfg(1 << 20), 0).unwrap();
        let again = log.append(&b, 0, 0).unwrap();
        assert!(again.duplicate);
        assert_eq!((again.base_offset, again.last_offset), (0, 3));
        assert!(matches!(log.append(&make_batch(1, Some((11, 0, 9)), 0), 0, 0), Err(AppendError::OutOfOrder { .. })));
        assert_eq!(log.log_end_offset(), 5);
    }

    #[test]
    fn delete_records_and_retention_move_log_start() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = Log::open(dir.path(), cfg(500), 0).unwrap();
        for i in 0..40 {
            log.append(&make_batch(2, None, i), 0, 0).unwrap();
        }
        assert_eq!(log.advance_log_start(21).unwrap(), 21);
        drop(log);
        let (mut log, _) = Log::open(dir.path(), cfg(500), 0).unwrap();
        assert_eq!(log.log_start_offset(), 21);
        let mut c = cfg(500);
        c.retention_bytes = 600;
        log.set_config(c);
        let before = log.segment_count();
        assert!(log.enforce_retention(0).unwrap() > 0);
        assert!(log.segment_count() < before);
        assert!(log.log_start_offset() > 21);
        assert!(log.size_bytes() >= 600 - 500);
    }

    fn txn_batch(pid: i64, epoch: i16, seq: i32, n: usize) -> Bytes {
        use kafka_protocol::records::*;
        let recs: Vec<Record> = (0..n)
            .map(|i| Record {
                transactional: true,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: pid,
                producer_epoch: epoch,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: seq + i as i32,
                timestamp: 1,
                key: None,
                value: Some(Bytes::from_static(b"v")),
                headers: Default::default(),
            })
            .collect();
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(&mut buf, &recs, &RecordEncodeOptions { version: 2, compression: Compression::None }).unwrap();
        buf.freeze()
    }

    #[test]
    fn transactions_bound_the_lso_and_aborts_are_indexed_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = Log::open(dir.path(), cfg(1 << 20), 0).unwrap();
        log.append(&make_batch(2, None, 0), 0, 0).unwrap(); // 0..=1 plain
        log.append(&txn_batch(7, 0, 0, 3), 0, 0).unwrap(); // 2..=4 txn A (pid 7)
        log.append(&txn_batch(8, 0, 0, 2), 0, 0).unwrap(); // 5..=6 txn B (pid 8)
        assert_eq!(log.first_unstable_offset(), Some(2));
        assert_eq!(log.append_marker(7, 0, false, 0, 0).unwrap(), 7); // abort A
        assert_eq!(log.first_unstable_offset(), Some(5));
        log.append_marker(8, 0, true, 0, 0).unwrap(); // commit B at 8
        assert_eq!(log.first_unstable_offset(), None);
        let aborted = log.aborted_between(0, 100);
        assert_eq!(aborted, vec![AbortedTxn { producer_id: 7, first_offset: 2, last_offset: 7 }]);
        assert!(log.aborted_between(8, 100).is_empty());
        // An old epoch is fenced once a marker carried a newer one.
        log.append_marker(7, 3, false, 0, 0).unwrap();
        assert!(matches!(log.append(&txn_batch(7, 2, 3, 1), 0, 0), Err(AppendError::FencedEpoch)));
        drop(log);
        let (log, _) = Log::open(dir.path(), cfg(1 << 20), 0).unwrap();
        assert_eq!(log.aborted_between(0, 100).len(), 1, "abort index rebuilt from the log");
        assert_eq!(log.first_unstable_offset(), None);
    }

    #[test]
    fn epoch_cache_answers_like_kafka() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = Log::open(dir.path(), cfg(1 << 20), 0).unwrap();
        log.append(&make_batch(2, None, 0), 0, 0).unwrap();
        log.append(&make_batch(2, None, 0), 2, 0).unwrap();
        assert_eq!(log.end_offset_for_epoch(2), (2, 4));
        assert_eq!(log.end_offset_for_epoch(1), (0, 2));
        assert_eq!(log.end_offset_for_epoch(5), (-1, -1));
    }
}
