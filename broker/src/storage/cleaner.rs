//! Log compaction for `cleanup.policy=compact` topics (`__consumer_offsets`,
//! `__transaction_state`, `_schemas`, Connect's internal topics, users' own).
//!
//! Sealed segments are rewritten keeping, for each key, only the record with
//! the highest offset in the whole log; tombstones (null values) are dropped
//! once their segment is older than `delete.retention.ms`. Offsets, timestamps,
//! headers, producer ids, sequences and the codec are preserved: surviving
//! records are re-encoded into batches with their original offsets. Batches of
//! transactions and control markers are kept whole (their removal would need
//! the transaction's outcome and is left to a later version). The active
//! segment is never cleaned, as in Kafka.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions};

use super::batch::{BatchHeader, BatchIter};
use super::segment::Segment;

/// Latest offset per key over a set of segments (the "offset map").
pub fn build_offset_map<'a>(segments: impl Iterator<Item = &'a Segment>) -> std::io::Result<HashMap<Bytes, i64>> {
    let mut map = HashMap::new();
    for seg in segments {
        let data = seg.read_at(0, seg.size() as usize)?;
        for (pos, h) in BatchIter::new(&data, false) {
            if h.is_control() {
                continue;
            }
            let mut b = data.slice(pos..pos + h.size);
            let Ok(set) = RecordBatchDecoder::decode(&mut b) else { continue };
            for r in set.records {
                if let Some(k) = r.key {
                    map.insert(k, r.offset);
                }
            }
        }
    }
    Ok(map)
}

/// The cleaned contents of one segment, or `None` if nothing would change.
pub fn clean_segment(seg: &Segment, latest: &HashMap<Bytes, i64>, drop_tombstones: bool) -> std::io::Result<Option<Bytes>> {
    let data = seg.read_at(0, seg.size() as usize)?;
    let mut out = BytesMut::with_capacity(data.len());
    let mut changed = false;
    for (pos, h) in BatchIter::new(&data, false) {
        let raw = data.slice(pos..pos + h.size);
        if h.is_control() || h.is_transactional() {
            out.extend_from_slice(&raw);
            continue;
        }
        let mut b = raw.clone();
        let Ok(set) = RecordBatchDecoder::decode(&mut b) else {
            out.extend_from_slice(&raw);
            continue;
        };
        let total = set.records.len();
        let keep: Vec<Record> = set
            .records
            .into_iter()
            .filter(|r| match &r.key {
                // Null keys can't be compacted; Kafka refuses them on compacted topics.
                None => true,
                Some(k) => latest.get(k) == Some(&r.offset) && !(drop_tombstones && r.value.is_none()),
            })
            .collect();
        if keep.len() == total {
            out.extend_from_slice(&raw);
            continue;
        }
        changed = true;
        if keep.is_empty() {
            continue;
        }
        encode_kept(&mut out, &keep, &h, set.compression)?;
    }
    Ok(changed.then(|| out.freeze()))
}

/// Re-encodes surviving records with their original offsets. Records whose
/// offsets are no longer contiguous go into one batch each way the encoder
/// allows (it splits when offset and sequence deltas diverge).
fn encode_kept(out: &mut BytesMut, keep: &[Record], h: &BatchHeader, compression: Compression) -> std::io::Result<()> {
    // The encoder keeps offset - sequence constant within a batch: give every
    // record a sequence that satisfies that (non-idempotent batches have -1 base).
    let recs: Vec<Record> = keep
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.partition_leader_epoch = h.partition_leader_epoch;
            if h.base_sequence < 0 {
                r.sequence = (r.offset - keep[0].offset) as i32 - 1;
            }
            r
        })
        .collect();
    RecordBatchEncoder::encode(out, &recs, &RecordEncodeOptions { version: 2, compression })
        .map_err(|e| std::io::Error::other(format!("re-encoding a compacted batch: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::log::Log;
    use crate::topic_config::LogConfig;
    use kafka_protocol::records::TimestampType;

    fn keyed(key: &str, value: Option<&str>) -> Bytes {
        let r = Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: 0,
            sequence: -1,
            timestamp: 1,
            key: Some(Bytes::copy_from_slice(key.as_bytes())),
            value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
            headers: Default::default(),
        };
        let mut b = BytesMut::new();
        RecordBatchEncoder::encode(&mut b, [&r], &RecordEncodeOptions { version: 2, compression: Compression::None }).unwrap();
        b.freeze()
    }

    fn cfg() -> LogConfig {
        LogConfig {
            segment_bytes: 300,
            segment_ms: i64::MAX,
            retention_ms: -1,
            retention_bytes: -1,
            max_message_bytes: 1 << 20,
            index_interval_bytes: 100,
            log_append_time: false,
            flush_messages: i64::MAX,
            compact: true,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: i64::MAX,
            delete_retention_ms: i64::MAX,
            min_insync_replicas: 1,
        }
    }

    #[test]
    fn compaction_keeps_latest_per_key_with_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = Log::open(dir.path(), cfg(), 0).unwrap();
        for round in 0..5 {
            for k in ["a", "b", "c"] {
                log.append(&keyed(k, Some(&format!("{k}{round}"))), 0, 0).unwrap();
            }
        }
        log.append(&keyed("b", None), 0, 0).unwrap(); // tombstone for b at offset 15
        log.append(&keyed("d", Some("d0")), 0, 0).unwrap();
        let before = log.size_bytes();
        let cleaned = log.compact(0).unwrap();
        assert!(cleaned > 0);
        assert!(log.size_bytes() < before);
        let mut seen = Vec::new();
        let mut off = 0;
        while off < log.log_end_offset() {
            let d = log.read(off, 1 << 20, log.log_end_offset(), true).unwrap();
            if d.is_empty() {
                break;
            }
            let mut b = d.clone();
            while !b.is_empty() {
                let set = RecordBatchDecoder::decode(&mut b).unwrap();
                for r in set.records {
                    off = r.offset + 1;
                    seen.push((r.offset, String::from_utf8_lossy(&r.key.unwrap()).to_string()));
                }
            }
        }
        let keys: Vec<&str> = seen.iter().map(|(_, k)| k.as_str()).collect();
        assert_eq!(keys.iter().filter(|k| **k == "a").count(), 1, "one a left: {seen:?}");
        assert!(seen.contains(&(12, "a".to_string())), "latest a keeps its offset: {seen:?}");
        assert_eq!(log.log_end_offset(), 17, "log end offset unchanged");
        // The log reopens cleanly after compaction.
        drop(log);
        let (log, rec) = Log::open(dir.path(), cfg(), 0).unwrap();
        assert_eq!(rec.truncated_bytes, 0);
        assert_eq!(log.log_end_offset(), 17);
    }
}
