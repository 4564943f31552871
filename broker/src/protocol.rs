//! Request/response framing over the kafka-protocol crate. No I/O here: pure
//! functions from frame bytes to decoded requests and from responses to bytes.
//!
//! Decoding never trusts the input: the header is checked by hand before the
//! crate sees it, and the crate's decoders run under `catch_unwind` so a bug
//! there closes one connection instead of the broker.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

/// Why a frame could not be turned into a request. All of these close the
/// connection, as Apache Kafka does for requests it cannot parse.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {0} bytes is too short for a request header")]
    TooShort(usize),
    #[error("unknown API key {0}")]
    UnknownApiKey(i16),
    #[error("{api:?} v{version} is not supported")]
    UnsupportedVersion { api: ApiKey, version: i16 },
    #[error("cannot decode {api:?} v{version}: {reason}")]
    Decode { api: ApiKey, version: i16, reason: String },
    #[error("cannot encode response: {0}")]
    Encode(String),
}

/// The fixed start of every request header, read without the crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderPrefix {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
}

pub fn peek_header(frame: &[u8]) -> Result<HeaderPrefix, FrameError> {
    if frame.len() < 8 {
        return Err(FrameError::TooShort(frame.len()));
    }
    let mut b = frame;
    Ok(HeaderPrefix { api_key: b.get_i16(), api_version: b.get_i16(), correlation_id: b.get_i32() })
}

/// A decoded request.
#[derive(Debug)]
pub struct Request {
    pub api_key: ApiKey,
    pub version: i16,
    pub header: RequestHeader,
    pub body: RequestKind,
}

fn guarded<T>(f: impl FnOnce() -> anyhow::Result<T>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(_) => Err("decoder panicked".to_string()),
    }
}

/// Decodes header and body of a frame whose version was already checked
/// against the supported range.
pub fn decode_request(api_key: ApiKey, version: i16, frame: Bytes) -> Result<Request, FrameError> {
    let mut buf = frame;
    let header_version = api_key.request_header_version(version);
    let err = |reason: String| FrameError::Decode { api: api_key, version, reason };
    let header = guarded(|| RequestHeader::decode(&mut buf, header_version)).map_err(err)?;
    let body = guarded(|| RequestKind::decode(api_key, &mut buf, version)).map_err(err)?;
    Ok(Request { api_key, version, header, body })
}

/// Encodes a response with its header into a size-prefixed frame.
pub fn encode_response(api_key: ApiKey, version: i16, correlation_id: i32, body: &ResponseKind) -> Result<Bytes, FrameError> {
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i32(0);
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    let hv = api_key.response_header_version(version);
    header.encode(&mut buf, hv).map_err(|e| FrameError::Encode(e.to_string()))?;
    body.encode(&mut buf, version).map_err(|e| FrameError::Encode(format!("{api_key:?} v{version}: {e:#}")))?;
    let len = (buf.len() - 4) as i32;
    buf[0..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf.freeze())
}

pub fn str_bytes(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// Hand-encoded UNSUPPORTED_VERSION answer to Produce v0-2. These versions are
/// advertised (librdkafka needs Produce v0 listed, KAFKA-18659) but, as in
/// Apache Kafka 4, not accepted; the crate cannot decode them, so the body is
/// walked here: acks, timeout, [topic, [partition, records]].
pub fn produce_v0_2_unsupported(version: i16, correlation_id: i32, body: &[u8]) -> Option<Bytes> {
    fn read_str(b: &mut &[u8]) -> Option<Vec<u8>> {
        if b.len() < 2 {
            return None;
        }
        let n = b.get_i16();
        if n < 0 || b.len() < n as usize {
            return None;
        }
        let s = b[..n as usize].to_vec();
        b.advance(n as usize);
        Some(s)
    }
    let mut b = body;
    if b.len() < 6 {
        return None;
    }
    let acks = b.get_i16();
    let _timeout = b.get_i32();
    if acks == 0 {
        return None;
    }
    let mut out = BytesMut::new();
    out.put_i32(0);
    out.put_i32(correlation_id);
    if b.len() < 4 {
        return None;
    }
    let topics = b.get_i32().max(0) as usize;
    let mut encoded_topics = BytesMut::new();
    let mut count = 0i32;
    for _ in 0..topics {
        let Some(name) = read_str(&mut b) else { break };
        if b.len() < 4 {
            break;
        }
        let parts = b.get_i32().max(0) as usize;
        let mut ps = Vec::new();
        for _ in 0..parts {
            if b.len() < 8 {
                break;
            }
            let p = b.get_i32();
            let len = b.get_i32();
            if len > 0 {
                if b.len() < len as usize {
                    break;
                }
                b.advance(len as usize);
            }
            ps.push(p);
        }
        encoded_topics.put_i16(name.len() as i16);
        encoded_topics.put_slice(&name);
        encoded_topics.put_i32(ps.len() as i32);
        for p in ps {
            encoded_topics.put_i32(p);
            encoded_topics.put_i16(35); // UNSUPPORTED_VERSION
            encoded_topics.put_i64(-1);
            if version >= 2 {
                encoded_topics.put_i64(-1);
            }
        }
        count += 1;
    }
    out.put_i32(count);
    out.put_slice(&encoded_topics);
    if version >= 1 {
        out.put_i32(0);
    }
    let len = (out.len() - 4) as i32;
    out[0..4].copy_from_slice(&len.to_be_bytes());
    Some(out.freeze())
}
