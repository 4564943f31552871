//! Record batch (magic v2) headers: parse, validate and patch in place.
//!
//! The broker never re-encodes records. On produce it checks each batch's
//! framing and CRC32C, then patches the base offset and leader epoch (fields
//! outside the CRC) and, for LogAppendTime topics, the timestamp (recomputing
//! the CRC). Compressed batches stay compressed byte for byte.

use bytes::{Bytes, BytesMut};

/// Size of the fixed v2 batch header; records start right after it.
pub const HEADER_LEN: usize = 61;
/// Bytes before `batchLength` counts: baseOffset (8) + batchLength (4).
pub const LOG_OVERHEAD: usize = 12;

const PARTITION_LEADER_EPOCH: usize = 12;
const MAGIC: usize = 16;
const CRC: usize = 17;
const ATTRIBUTES: usize = 21;
const LAST_OFFSET_DELTA: usize = 23;
const BASE_TIMESTAMP: usize = 27;
const MAX_TIMESTAMP: usize = 35;
const PRODUCER_ID: usize = 43;
const PRODUCER_EPOCH: usize = 51;
const BASE_SEQUENCE: usize = 53;
const RECORDS_COUNT: usize = 57;

const TIMESTAMP_TYPE_BIT: i16 = 0x08;
const TRANSACTIONAL_BIT: i16 = 0x10;
const CONTROL_BIT: i16 = 0x20;

/// Why a batch was rejected; maps to CORRUPT_MESSAGE or UNSUPPORTED_FOR_MESSAGE_FORMAT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("record set is truncated")]
    Truncated,
    #[error("batch length {0} is invalid")]
    BadLength(i32),
    #[error("unsupported record batch magic {0}")]
    BadMagic(i8),
    #[error("CRC32C mismatch: header says {stored:#010x}, computed {computed:#010x}")]
    BadCrc { stored: u32, computed: u32 },
    #[error("record count {count} does not match last offset delta {delta}")]
    BadCount { count: i32, delta: i32 },
}

/// The decoded fixed header of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    /// Total bytes of the batch, header included.
    pub size: usize,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl BatchHeader {
    /// Reads the batch length prefix: returns the total size of the batch that
    /// starts at `b[0]`, or an error if the prefix is short or nonsensical.
    pub fn peek_size(b: &[u8]) -> Result<usize, BatchError> {
        if b.len() < LOG_OVERHEAD {
            return Err(BatchError::Truncated);
        }
        let len = i32_at(b, 8);
        if len < (HEADER_LEN - LOG_OVERHEAD) as i32 {
            return Err(BatchError::BadLength(len));
        }
        Ok(LOG_OVERHEAD + len as usize)
    }

    /// Parses the fixed header at the start of `b` (which must hold at least the header).
    pub fn parse(b: &[u8]) -> Result<BatchHeader, BatchError> {
        let size = Self::peek_size(b)?;
        if b.len() < HEADER_LEN {
            return Err(BatchError::Truncated);
        }
        let magic = b[MAGIC] as i8;
        if magic != 2 {
            return Err(BatchError::BadMagic(magic));
        }
        Ok(BatchHeader {
            base_offset: i64_at(b, 0),
            size,
            partition_leader_epoch: i32_at(b, PARTITION_LEADER_EPOCH),
            magic,
            crc: u32::from_be_bytes([b[CRC], b[CRC + 1], b[CRC + 2], b[CRC + 3]]),
            attributes: i16_at(b, ATTRIBUTES),
            last_offset_delta: i32_at(b, LAST_OFFSET_DELTA),
            base_timestamp: i64_at(b, BASE_TIMESTAMP),
            max_timestamp: i64_at(b, MAX_TIMESTAMP),
            producer_id: i64_at(b, PRODUCER_ID),
            producer_epoch: i16_at(b, PRODUCER_EPOCH),
            base_sequence: i32_at(b, BASE_SEQUENCE),
            records_count: i32_at(b, RECORDS_COUNT),
        })
    }

    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }
    pub fn has_producer_id(&self) -> bool {
        self.producer_id >= 0
    }
    /// The last sequence number in the batch, wrapping at i32::MAX as Kafka does.
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence < 0 {
            return -1;
        }
        let last = self.base_sequence as i64 + self.last_offset_delta as i64;
        if last > i32::MAX as i64 {
            (last - i32::MAX as i64 - 1) as i32
        } else {
            last as i32
        }
    }
}

/// Computes the CRC32C a v2 batch should carry (attributes to end).
pub fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(&batch[ATTRIBUTES..])
}

/// Splits a produced record set into its batches, verifying framing, magic,
/// record count and CRC of each. Returns the batches as separate buffers.
pub fn split_and_validate(records: &Bytes) -> Result<Vec<(BatchHeader, Bytes)>, BatchError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < records.len() {
        let rest = &records[pos..];
        let size = BatchHeader::peek_size(rest)?;
        if rest.len() < size {
            return Err(BatchError::Truncated);
        }
        let h = BatchHeader::parse(&rest[..size])?;
        let computed = compute_crc(&rest[..size]);
        if computed != h.crc {
            return Err(BatchError::BadCrc { stored: h.crc, computed });
        }
        if h.records_count < 1 || h.last_offset_delta < 0 || h.records_count - 1 > h.last_offset_delta {
            return Err(BatchError::BadCount { count: h.records_count, delta: h.last_offset_delta });
        }
        out.push((h, records.slice(pos..pos + size)));
        pos += size;
    }
    if out.is_empty() {
        return Err(BatchError::Truncated);
    }
    Ok(out)
}

/// Sets base offset and partition leader epoch (both outside the CRC).
pub fn patch_offset_and_epoch(batch: &mut BytesMut, base_offset: i64, leader_epoch: i32) {
    batch[0..8].copy_from_slice(&base_offset.to_be_bytes());
    batch[PARTITION_LEADER_EPOCH..PARTITION_LEADER_EPOCH + 4].copy_from_slice(&leader_epoch.to_be_bytes());
}

/// Marks the batch LogAppendTime with `now` as max timestamp and fixes the CRC.
pub fn patch_log_append_time(batch: &mut BytesMut, now_ms: i64) {
    let attrs = i16_at(batch, ATTRIBUTES) | TIMESTAMP_TYPE_BIT;
    batch[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attrs.to_be_bytes());
    batch[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&now_ms.to_be_bytes());
    let crc = compute_crc(batch);
    batch[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
}

/// What a control batch marks (the first record's key: version, type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlType {
    Abort,
    Commit,
    /// Another control record type (e.g. KRaft's); not a transaction marker.
    Other,
}

fn read_varint(b: &[u8], pos: &mut usize) -> Option<i64> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        value |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            // zig-zag decode
            return Some(((value >> 1) as i64) ^ -((value & 1) as i64));
        }
    }
    None
}

/// Reads the marker type from a control batch's records (the bytes after
/// the 61-byte header). Control batches are never compressed.
pub fn control_type(records: &[u8]) -> Option<ControlType> {
    let mut pos = 0;
    let _len = read_varint(records, &mut pos)?;
    pos += 1; // attributes
    let _ts = read_varint(records, &mut pos)?;
    let _off = read_varint(records, &mut pos)?;
    let key_len = read_varint(records, &mut pos)?;
    if key_len < 4 {
        return Some(ControlType::Other);
    }
    let key = records.get(pos..pos + 4)?;
    Some(match i16::from_be_bytes([key[2], key[3]]) {
        0 => ControlType::Abort,
        1 => ControlType::Commit,
        _ => ControlType::Other,
    })
}

/// Encodes a transaction marker (end transaction) control batch, offsets unassigned.
pub fn control_batch(producer_id: i64, producer_epoch: i16, commit: bool, coordinator_epoch: i32, now_ms: i64) -> Bytes {
    use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
    let mut key = BytesMut::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&(commit as i16).to_be_bytes());
    let mut value = BytesMut::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&coordinator_epoch.to_be_bytes());
    let rec = Record {
        transactional: true,
        control: true,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id,
        producer_epoch,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: now_ms,
        key: Some(key.freeze()),
        value: Some(value.freeze()),
        headers: Default::default(),
    };
    let mut buf = BytesMut::new();
    // Encoding a record we built cannot fail.
    let _ = RecordBatchEncoder::encode(&mut buf, [&rec], &RecordEncodeOptions { version: 2, compression: Compression::None });
    buf.freeze()
}

/// Rewrites the batch's MaxTimestamp and fixes the CRC (for producers that
/// leave it unset, as Kafka's LogValidator recomputes it from the records).
pub fn patch_max_timestamp(batch: &mut BytesMut, max_ts: i64) {
    batch[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&max_ts.to_be_bytes());
    let crc = compute_crc(batch);
    batch[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
}

/// The largest record timestamp in a batch, decoding (and decompressing) it.
pub fn records_max_timestamp(batch: &[u8]) -> Option<i64> {
    let mut b = Bytes::copy_from_slice(batch);
    let set = kafka_protocol::records::RecordBatchDecoder::decode(&mut b).ok()?;
    set.records.iter().map(|r| r.timestamp).max()
}

/// Walks whole batches in `buf`, stopping at the first incomplete or invalid one.
/// Used by recovery and by fetch to trim reads to batch boundaries.
pub struct BatchIter<'a> {
    buf: &'a [u8],
    pos: usize,
    verify_crc: bool,
    /// Set when iteration stopped on bad data rather than a clean end.
    pub error: Option<BatchError>,
}

impl<'a> BatchIter<'a> {
    pub fn new(buf: &'a [u8], verify_crc: bool) -> Self {
        BatchIter { buf, pos: 0, verify_crc, error: None }
    }
    /// Byte position just after the last batch returned.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl Iterator for BatchIter<'_> {
    type Item = (usize, BatchHeader);
    fn next(&mut self) -> Option<(usize, BatchHeader)> {
        let rest = &self.buf[self.pos..];
        if rest.is_empty() {
            return None;
        }
        let size = match BatchHeader::peek_size(rest) {
            Ok(s) => s,
            Err(e) => {
                self.error = Some(e);
                return None;
            }
        };
        if rest.len() < size {
            self.error = Some(BatchError::Truncated);
            return None;
        }
        let h = match BatchHeader::parse(&rest[..size]) {
            Ok(h) => h,
            Err(e) => {
                self.error = Some(e);
                return None;
            }
        };
        if self.verify_crc {
            let computed = compute_crc(&rest[..size]);
            if computed != h.crc {
                self.error = Some(BatchError::BadCrc { stored: h.crc, computed });
                return None;
            }
        }
        let at = self.pos;
        self.pos += size;
        Some((at, h))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };

    /// Encodes `n` simple records into one v2 batch (test helper, also used by storage tests).
    pub fn make_batch(n: usize, producer: Option<(i64, i16, i32)>, ts: i64) -> Bytes {
        let (pid, epoch, seq) = producer.unwrap_or((-1, -1, -1));
        let records: Vec<Record> = (0..n)
            .map(|i| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: pid,
                producer_epoch: epoch,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                // offset - sequence must be constant within a batch (the encoder splits otherwise).
                sequence: if seq < 0 { i as i32 - 1 } else { seq + i as i32 },
                timestamp: ts + i as i64,
                key: Some(Bytes::from(format!("k{i}"))),
                value: Some(Bytes::from(format!("value-{i}"))),
                headers: Default::default(),
            })
            .collect();
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(&mut buf, &records, &RecordEncodeOptions { version: 2, compression: Compression::None })
            .expect("encode");
        buf.freeze()
    }

    #[test]
    fn parse_and_validate_encoded_batch() {
        let b = make_batch(3, Some((7, 1, 10)), 1000);
        let batches = split_and_validate(&b).unwrap();
        assert_eq!(batches.len(), 1);
        let h = batches[0].0;
        assert_eq!(h.records_count, 3);
        assert_eq!(h.last_offset_delta, 2);
        assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence, h.last_sequence()), (7, 1, 10, 12));
        assert_eq!(h.size, b.len());
    }

    #[test]
    fn crc_mismatch_is_detected_and_patching_keeps_crc_valid() {
        let b = make_batch(2, None, 5);
        let mut m = BytesMut::from(&b[..]);
        let last = m.len() - 1;
        m[last] ^= 0xff;
        assert!(matches!(split_and_validate(&m.clone().freeze()), Err(BatchError::BadCrc { .. })));
        let mut m = BytesMut::from(&b[..]);
        patch_offset_and_epoch(&mut m, 42, 3);
        patch_log_append_time(&mut m, 99);
        let v = split_and_validate(&m.freeze()).unwrap();
        assert_eq!((v[0].0.base_offset, v[0].0.partition_leader_epoch, v[0].0.max_timestamp), (42, 3, 99));
    }

    #[test]
    fn truncated_and_garbage_input_is_an_error_not_a_panic() {
        let b = make_batch(2, None, 5);
        for cut in 0..b.len() {
            assert!(split_and_validate(&b.slice(..cut)).is_err());
        }
        assert!(split_and_validate(&Bytes::from_static(&[0xff; 80])).is_err());
    }

    #[test]
    fn control_batches_round_trip_their_type() {
        for (commit, want) in [(true, ControlType::Commit), (false, ControlType::Abort)] {
            let b = control_batch(5, 2, commit, 0, 100);
            let v = split_and_validate(&b).unwrap();
            let h = v[0].0;
            assert!(h.is_control() && h.is_transactional());
            assert_eq!((h.producer_id, h.producer_epoch), (5, 2));
            assert_eq!(control_type(&b[HEADER_LEN..]), Some(want));
        }
    }

    #[test]
    fn sequence_wraps_at_int_max() {
        let mut h = BatchHeader::parse(&make_batch(3, Some((1, 0, 0)), 0)).unwrap();
        h.base_sequence = i32::MAX - 1;
        assert_eq!(h.last_sequence(), 0);
    }
}
