//! Confluent's Protobuf framing: magic byte 0, the schema id as a 4-byte
//! big-endian int, the message-index path (which message of the schema file
//! the payload is) as zig-zag varints — a count then the indexes, with the
//! common path `[0]` written as a single `0` — then the protobuf message.
//! Pure functions over bytes; the message itself is encoded by prost-reflect.

use crate::data::DataError;

pub const MAGIC: u8 = 0;

/// A decoded frame: the payload borrows the input.
#[derive(Debug, PartialEq)]
pub struct Frame<'a> {
    pub schema_id: i32,
    pub indexes: Vec<i32>,
    pub payload: &'a [u8],
}

/// Kafka's `ByteUtils.writeVarint`: a zig-zag encoded 32-bit int.
fn put_varint(out: &mut Vec<u8>, v: i32) {
    let mut z = ((v << 1) ^ (v >> 31)) as u32;
    while z & !0x7f != 0 {
        out.push(((z & 0x7f) | 0x80) as u8);
        z >>= 7;
    }
    out.push(z as u8);
}

fn get_varint(b: &[u8], pos: &mut usize) -> Result<i32, DataError> {
    let mut z: u32 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *b
            .get(*pos)
            .ok_or_else(|| DataError::new("Protobuf frame is truncated"))?;
        *pos += 1;
        z |= ((byte & 0x7f) as u32) << shift;
        if byte & 0x80 == 0 {
            return Ok(((z >> 1) as i32) ^ -((z & 1) as i32));
        }
    }
    Err(DataError::new("invalid varint in Protobuf message indexes"))
}

/// The header before the message bytes: magic, id, message indexes.
pub fn header(schema_id: i32, indexes: &[i32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 + indexes.len());
    out.push(MAGIC);
    out.extend_from_slice(&schema_id.to_be_bytes());
    if indexes == [0] {
        // MessageIndexes.toByteArray's shortcut for the first message.
        put_varint(&mut out, 0);
    } else {
        put_varint(&mut out, indexes.len() as i32);
        for i in indexes {
            put_varint(&mut out, *i);
        }
    }
    out
}

/// Splits a framed record into schema id, message indexes and payload.
pub fn decode(b: &[u8]) -> Result<Frame<'_>, DataError> {
    if b.len() < 5 || b[0] != MAGIC {
        return Err(DataError::new("Unknown magic byte!"));
    }
    let schema_id = i32::from_be_bytes([b[1], b[2], b[3], b[4]]);
    let mut pos = 5;
    let count = get_varint(b, &mut pos)?;
    let indexes = if count == 0 {
        vec![0]
    } else {
        // Every index takes at least one byte: bound the count by what is
        // left before allocating anything from it.
        if count < 0 || count as usize > b.len() - pos {
            return Err(DataError::new(format!(
                "invalid Protobuf message index count {count}"
            )));
        }
        let mut v = Vec::with_capacity(count as usize);
        for _ in 0..count {
            v.push(get_varint(b, &mut pos)?);
        }
        v
    };
    Ok(Frame {
        schema_id,
        indexes,
        payload: &b[pos..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_headers() {
        // The first message of schema 1: magic, id, a single 0.
        assert_eq!(header(1, &[0]), vec![0, 0, 0, 0, 1, 0]);
        // Schema 258, message path [1, 0]: count 2 → 4, then 1 → 2 and 0 → 0.
        assert_eq!(header(258, &[1, 0]), vec![0, 0, 0, 1, 2, 4, 2, 0]);
        // A root wrapper message (StringValue is the 8th message): [7] → 2, 14.
        assert_eq!(header(7, &[7]), vec![0, 0, 0, 0, 7, 2, 14]);
        // Indexes past 63 take two varint bytes (zig-zag 128 → 0x80 0x01).
        assert_eq!(header(1, &[64])[5..], [2, 0x80, 0x01]);
    }

    #[test]
    fn decode_round_trips_and_rejects_bad_frames() {
        for indexes in [vec![0], vec![3], vec![1, 0, 2], vec![64, 100_000]] {
            let mut bytes = header(42, &indexes);
            bytes.extend_from_slice(&[8, 1]);
            let f = decode(&bytes).unwrap();
            assert_eq!(f.schema_id, 42);
            assert_eq!(f.indexes, indexes);
            assert_eq!(f.payload, &[8, 1]);
        }
        assert!(decode(&[1, 0, 0, 0, 1, 0]).is_err(), "magic byte");
        assert!(decode(&[0, 0, 0, 1]).is_err(), "short");
        assert!(decode(&[0, 0, 0, 0, 1]).is_err(), "no indexes");
        // A count far beyond the bytes left is refused before allocating.
        assert!(decode(&[0, 0, 0, 0, 1, 0xfe, 0xff, 0xff, 0xff, 0x07]).is_err());
        assert!(decode(&[0, 0, 0, 0, 1, 3]).is_err(), "negative count");
        assert!(decode(&[0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).is_err());
    }
}
