//! Record batches, pure: building the bytes of a produce request and reading
//! the bytes of a fetch response. No I/O here.
//!
//! A fetch response may end with a partial batch (the broker cuts at
//! `max_bytes`), may start with a batch whose first offsets precede the one
//! we asked for (batches are returned whole), and may contain control batches
//! (transaction markers); [`decode_fetched`] handles all three.

use bytes::{Buf, Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE,
};

/// A record to produce. Header keys are strings, as in Kafka's record format.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProduceRecord {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    /// Creation time in ms since the epoch; `None` means "now".
    pub timestamp: Option<i64>,
}

impl ProduceRecord {
    pub fn new(key: Option<impl Into<Bytes>>, value: Option<impl Into<Bytes>>) -> ProduceRecord {
        ProduceRecord {
            key: key.map(Into::into),
            value: value.map(Into::into),
            ..Default::default()
        }
    }

    pub fn with_header(
        mut self,
        key: impl Into<String>,
        value: Option<impl Into<Bytes>>,
    ) -> ProduceRecord {
        self.headers.push((key.into(), value.map(Into::into)));
        self
    }
}

/// A record read back from a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// Encodes `records` as one uncompressed v2 batch (offsets relative from 0;
/// the broker assigns the real ones). No producer id: the registry and the
/// Connect worker write idempotent state (same key, same value), so a retried
/// duplicate is harmless and we avoid InitProducerId bookkeeping.
pub fn encode_batch(records: &[ProduceRecord], now_ms: i64) -> anyhow::Result<Bytes> {
    if records.is_empty() {
        anyhow::bail!("a batch needs at least one record");
    }
    let recs: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut headers = IndexMap::new();
            for (k, v) in &r.headers {
                headers.insert(StrBytes::from_string(k.clone()), v.clone());
            }
            Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: NO_PRODUCER_ID,
                producer_epoch: NO_PRODUCER_EPOCH,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                // The encoder starts a new batch whenever offset - sequence
                // changes; i - 1 keeps it constant and makes the batch's base
                // sequence NO_SEQUENCE (-1), as a non-idempotent producer sends.
                sequence: NO_SEQUENCE + i as i32,
                timestamp: r.timestamp.unwrap_or(now_ms),
                key: r.key.clone(),
                value: r.value.clone(),
                headers,
            }
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &recs,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )?;
    Ok(buf.freeze())
}

/// Offset of the batch-length field and the size of the fixed part before the
/// batch body (base offset i64 + batch length i32).
const LOG_OVERHEAD: usize = 12;
const MAGIC_OFFSET: usize = 16;

/// Decodes the record batches of one fetched partition, returning the
/// non-control records at or after `from_offset`, in offset order. A trailing
/// partial batch is ignored (it is fetched again next time).
pub fn decode_fetched(mut data: Bytes, from_offset: i64) -> anyhow::Result<Vec<ConsumedRecord>> {
    let mut out = Vec::new();
    while data.len() >= LOG_OVERHEAD {
        let batch_len = i32::from_be_bytes([data[8], data[9], data[10], data[11]]);
        if batch_len < 0 {
            anyhow::bail!("negative batch length {batch_len}");
        }
        let total = LOG_OVERHEAD + batch_len as usize;
        if data.len() < total {
            break; // partial batch at the end of the response
        }
        let mut batch = data.split_to(total);
        if batch.len() <= MAGIC_OFFSET || batch[MAGIC_OFFSET] != 2 {
            // Message sets v0/v1 predate headers; our broker never writes them.
            anyhow::bail!(
                "unsupported record batch magic {}",
                batch.get(MAGIC_OFFSET).copied().unwrap_or(0)
            );
        }
        let set = RecordBatchDecoder::decode(&mut batch)?;
        for r in set.records {
            if r.control || r.offset < from_offset {
                continue;
            }
            out.push(ConsumedRecord {
                offset: r.offset,
                timestamp: r.timestamp,
                key: r.key,
                value: r.value,
                headers: r
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            });
        }
        debug_assert!(!batch.has_remaining() || batch.remaining() < total);
    }
    Ok(out)
}

/// The offset just after the last complete batch in `data` (its base offset
/// plus last-offset delta plus one), even if every record in it was a control
/// record or compacted away. Lets a reader advance past batches that yield
/// no records.
pub fn next_offset_after(data: &Bytes) -> Option<i64> {
    let mut pos = 0usize;
    let mut next = None;
    while data.len() >= pos + LOG_OVERHEAD + 11 {
        let base = i64::from_be_bytes(data[pos..pos + 8].try_into().ok()?);
        let batch_len = i32::from_be_bytes(data[pos + 8..pos + 12].try_into().ok()?);
        if batch_len < 0 {
            return next;
        }
        let total = LOG_OVERHEAD + batch_len as usize;
        if data.len() < pos + total {
            break;
        }
        // v2 layout after the length: leader epoch i32, magic i8, crc i32,
        // attributes i16, last offset delta i32.
        let delta_at = pos + LOG_OVERHEAD + 4 + 1 + 4 + 2;
        let delta = i32::from_be_bytes(data[delta_at..delta_at + 4].try_into().ok()?);
        next = Some(base + delta as i64 + 1);
        pos += total;
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<ProduceRecord> {
        vec![
            ProduceRecord::new(Some("k1"), Some("v1")).with_header("h", Some("x")),
            ProduceRecord::new(None::<Bytes>, Some("v2")),
            ProduceRecord::new(Some("k3"), None::<Bytes>),
        ]
    }

    /// Rewrites the base offset of an encoded batch, as the broker does.
    fn at_offset(mut b: BytesMut, base: i64) -> Bytes {
        b[0..8].copy_from_slice(&base.to_be_bytes());
        b.freeze()
    }

    #[test]
    fn round_trip_keys_values_headers() {
        let bytes = encode_batch(&sample(), 1_000).expect("encode");
        // Producer id -1 and base sequence -1: a plain, non-idempotent batch.
        assert_eq!(
            i64::from_be_bytes(bytes[43..51].try_into().expect("pid")),
            -1
        );
        assert_eq!(
            i32::from_be_bytes(bytes[53..57].try_into().expect("seq")),
            -1
        );
        let recs = decode_fetched(bytes, 0).expect("decode");
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(recs[0].value.as_deref(), Some(&b"v1"[..]));
        assert_eq!(
            recs[0].headers,
            vec![("h".to_string(), Some(Bytes::from_static(b"x")))]
        );
        assert_eq!(recs[1].key, None);
        assert_eq!(recs[2].value, None, "a tombstone keeps its null value");
        assert_eq!(
            recs.iter().map(|r| r.offset).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert!(recs.iter().all(|r| r.timestamp == 1_000));
    }

    #[test]
    fn skips_records_before_the_requested_offset_and_partial_tail() {
        assert_eq!(
            next_offset_after(&encode_batch(&sample(), 1).expect("one")),
            Some(3),
            "one batch for all"
        );
        let a = at_offset(
            BytesMut::from(&encode_batch(&sample(), 1).expect("a")[..]),
            10,
        );
        let b = at_offset(
            BytesMut::from(&encode_batch(&sample(), 1).expect("b")[..]),
            13,
        );
        let mut all = BytesMut::new();
        all.extend_from_slice(&a);
        all.extend_from_slice(&b);
        all.extend_from_slice(&b[..b.len() / 2]); // cut-off third batch
        let all = all.freeze();
        let recs = decode_fetched(all.clone(), 11).expect("decode");
        assert_eq!(
            recs.iter().map(|r| r.offset).collect::<Vec<_>>(),
            vec![11, 12, 13, 14, 15]
        );
        assert_eq!(next_offset_after(&all), Some(16));
    }

    #[test]
    fn empty_and_garbage_inputs_do_not_panic() {
        assert!(decode_fetched(Bytes::new(), 0).expect("empty").is_empty());
        assert_eq!(next_offset_after(&Bytes::new()), None);
        let mut junk = vec![0u8; 64];
        junk[11] = 40; // claims 40 bytes, magic 0
        assert!(decode_fetched(Bytes::from(junk), 0).is_err());
        let mut neg = vec![0u8; 64];
        neg[8] = 0xff;
        assert!(decode_fetched(Bytes::from(neg), 0).is_err());
        assert!(encode_batch(&[], 0).is_err());
    }
}
