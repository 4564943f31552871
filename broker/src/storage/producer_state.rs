//! Idempotent-producer state per partition: for each producer id, its epoch
//! and the last five batches' sequence ranges and offsets, as Kafka keeps them.
//!
//! Pure logic: `check` decides what an incoming batch is (new, duplicate, or an
//! error) without touching the log; `record` updates the state after append.
//! The state is rebuilt on startup by replaying batch headers (see `Log::open`).

use std::collections::{HashMap, VecDeque};

use super::batch::BatchHeader;

/// How many recent batches per producer are kept for duplicate detection.
pub const RETAINED_BATCHES: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMeta {
    pub first_seq: i32,
    pub last_seq: i32,
    pub last_offset: i64,
    pub offset_delta: i32,
    pub timestamp: i64,
}

impl BatchMeta {
    pub fn first_offset(&self) -> i64 {
        self.last_offset - self.offset_delta as i64
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerEntry {
    pub epoch: i16,
    pub batches: VecDeque<BatchMeta>,
    pub last_timestamp: i64,
    /// First offset of an open transaction, if any (used by the transactions issue).
    pub current_txn_first_offset: Option<i64>,
}

impl ProducerEntry {
    fn last_seq(&self) -> Option<i32> {
        self.batches.back().map(|b| b.last_seq)
    }
}

/// What to do with an incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqCheck {
    /// Append it.
    Append,
    /// An exact retry of a batch already in the log: answer with its offsets.
    Duplicate(BatchMeta),
    /// Older than anything retained but already covered: DUPLICATE_SEQUENCE_NUMBER.
    OldDuplicate,
    /// INVALID_PRODUCER_EPOCH: the producer was fenced by a newer epoch.
    FencedEpoch,
    /// OUT_OF_ORDER_SEQUENCE_NUMBER.
    OutOfOrder { expected: i32, got: i32 },
}

fn next_seq(seq: i32) -> i32 {
    if seq == i32::MAX {
        0
    } else {
        seq + 1
    }
}

#[derive(Debug, Clone, Default)]
pub struct ProducerStateManager {
    producers: HashMap<i64, ProducerEntry>,
}

impl ProducerStateManager {
    pub fn get(&self, pid: i64) -> Option<&ProducerEntry> {
        self.producers.get(&pid)
    }

    pub fn len(&self) -> usize {
        self.producers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    pub fn entries(&self) -> impl Iterator<Item = (&i64, &ProducerEntry)> {
        self.producers.iter()
    }

    /// Classifies a batch from an idempotent producer, following Kafka's
    /// ProducerStateManager: duplicates of the retained batches are answered
    /// with their original offsets; a lower epoch is fenced; a new epoch must
    /// start at sequence 0; otherwise sequences must be contiguous. A producer
    /// with no state (new, or its data was deleted) may start anywhere.
    pub fn check(&self, h: &BatchHeader) -> SeqCheck {
        if !h.has_producer_id() || h.base_sequence < 0 {
            return SeqCheck::Append;
        }
        let Some(entry) = self.producers.get(&h.producer_id) else {
            return SeqCheck::Append;
        };
        if h.producer_epoch < entry.epoch {
            return SeqCheck::FencedEpoch;
        }
        if h.producer_epoch > entry.epoch {
            return if h.base_sequence == 0 {
                SeqCheck::Append
            } else {
                SeqCheck::OutOfOrder { expected: 0, got: h.base_sequence }
            };
        }
        let last_seq = h.last_sequence();
        if let Some(b) = entry.batches.iter().find(|b| b.first_seq == h.base_sequence && b.last_seq == last_seq) {
            return SeqCheck::Duplicate(*b);
        }
        match entry.last_seq() {
            None => SeqCheck::Append,
            Some(last) if h.base_sequence == next_seq(last) => SeqCheck::Append,
            Some(last) => {
                let oldest = entry.batches.front().map_or(0, |b| b.first_seq);
                if h.base_sequence < oldest && last_seq <= last && last >= oldest {
                    SeqCheck::OldDuplicate
                } else {
                    SeqCheck::OutOfOrder { expected: next_seq(last), got: h.base_sequence }
                }
            }
        }
    }

    /// Records an appended batch (also used when replaying the log on startup).
    pub fn record(&mut self, h: &BatchHeader) {
        if !h.has_producer_id() {
            return;
        }
        let entry = self.producers.entry(h.producer_id).or_default();
        if h.producer_epoch != entry.epoch {
            entry.batches.clear();
            entry.epoch = h.producer_epoch;
        }
        entry.last_timestamp = h.max_timestamp;
        if h.base_sequence >= 0 && !h.is_control() {
            entry.batches.push_back(BatchMeta {
                first_seq: h.base_sequence,
                last_seq: h.last_sequence(),
                last_offset: h.last_offset(),
                offset_delta: h.last_offset_delta,
                timestamp: h.max_timestamp,
            });
            while entry.batches.len() > RETAINED_BATCHES {
                entry.batches.pop_front();
            }
        }
    }

    /// Forgets producers whose every retained batch lies below `log_start`
    /// (after DeleteRecords or retention), as Kafka does.
    pub fn truncate_head(&mut self, log_start: i64) {
        self.producers.retain(|_, e| e.batches.back().is_none_or(|b| b.last_offset >= log_start));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(pid: i64, epoch: i16, seq: i32, n: i32, base_offset: i64) -> BatchHeader {
        BatchHeader {
            base_offset,
            size: 100,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: n - 1,
            base_timestamp: 0,
            max_timestamp: 0,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            records_count: n,
        }
    }

    #[test]
    fn in_order_duplicate_and_gap() {
        let mut s = ProducerStateManager::default();
        let b0 = hdr(1, 0, 0, 5, 0);
        assert_eq!(s.check(&b0), SeqCheck::Append);
        s.record(&b0);
        // exact retry
        assert!(matches!(s.check(&hdr(1, 0, 0, 5, 99)), SeqCheck::Duplicate(m) if m.last_offset == 4));
        // next in order
        assert_eq!(s.check(&hdr(1, 0, 5, 1, 5)), SeqCheck::Append);
        // gap
        assert_eq!(s.check(&hdr(1, 0, 7, 1, 5)), SeqCheck::OutOfOrder { expected: 5, got: 7 });
    }

    #[test]
    fn epochs_fence_and_reset() {
        let mut s = ProducerStateManager::default();
        s.record(&hdr(1, 2, 0, 1, 0));
        assert_eq!(s.check(&hdr(1, 1, 1, 1, 1)), SeqCheck::FencedEpoch);
        assert_eq!(s.check(&hdr(1, 3, 4, 1, 1)), SeqCheck::OutOfOrder { expected: 0, got: 4 });
        assert_eq!(s.check(&hdr(1, 3, 0, 1, 1)), SeqCheck::Append);
    }

    #[test]
    fn only_five_batches_are_retained_and_older_retries_are_old_duplicates() {
        let mut s = ProducerStateManager::default();
        for i in 0..7 {
            s.record(&hdr(1, 0, i, 1, i as i64));
        }
        assert_eq!(s.get(1).unwrap().batches.len(), RETAINED_BATCHES);
        assert!(matches!(s.check(&hdr(1, 0, 6, 1, 0)), SeqCheck::Duplicate(_)));
        assert_eq!(s.check(&hdr(1, 0, 0, 1, 0)), SeqCheck::OldDuplicate);
    }

    #[test]
    fn unknown_producer_may_start_anywhere() {
        let s = ProducerStateManager::default();
        assert_eq!(s.check(&hdr(9, 0, 42, 1, 0)), SeqCheck::Append);
    }
}
