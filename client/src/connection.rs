//! One TCP connection to one broker: size-prefixed frames, correlation ids,
//! and the API versions negotiated when it was opened.
//!
//! Requests on a connection are strictly one at a time (`&mut self`): Kafka
//! brokers answer a connection's requests in order anyway, and callers that
//! must not wait behind a long poll (a heartbeat behind a Fetch) use a
//! connection of their own.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use kafka_protocol::ResponseError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{Error, Result};
use crate::versions::{our_range, ApiVersionMap, OURS};

/// Settings shared by every connection a client opens.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    pub client_id: String,
    pub connect_timeout: Duration,
    /// Added to any long-poll time a request carries (Fetch max wait,
    /// JoinGroup rebalance timeout) to get its deadline.
    pub request_timeout: Duration,
    /// Responses claiming to be larger are refused before allocating.
    pub max_response_bytes: usize,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            client_id: "tributary-client".into(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_response_bytes: 64 * 1024 * 1024,
        }
    }
}

pub struct Connection {
    addr: String,
    stream: TcpStream,
    next_correlation: i32,
    versions: ApiVersionMap,
    config: ConnectionConfig,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Connection {
    /// Connects and negotiates versions with ApiVersions.
    pub async fn connect(addr: &str, config: &ConnectionConfig) -> Result<Connection> {
        let stream = tokio::time::timeout(config.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| Error::Timeout {
                what: format!("connect to {addr}"),
                millis: config.connect_timeout.as_millis(),
            })?
            .map_err(|source| Error::Io {
                addr: addr.to_string(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        let mut conn = Connection {
            addr: addr.to_string(),
            stream,
            next_correlation: 1,
            versions: ApiVersionMap::default(),
            config: config.clone(),
        };
        conn.negotiate().await?;
        Ok(conn)
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub fn versions(&self) -> &ApiVersionMap {
        &self.versions
    }

    /// ApiVersions at our highest version; a broker that does not know it
    /// answers UNSUPPORTED_VERSION in the v0 layout with its own range, and we
    /// ask again at the highest version both know (KIP-511).
    async fn negotiate(&mut self) -> Result<()> {
        let (_, our_max) = our_range(ApiKey::ApiVersions).unwrap_or((0, 3));
        let mut version = our_max;
        for _ in 0..2 {
            let mut req = ApiVersionsRequest::default();
            if version >= 3 {
                req.client_software_name = StrBytes::from_static_str("tributary-client");
                req.client_software_version = StrBytes::from_static_str(env!("CARGO_PKG_VERSION"));
            }
            let resp: ApiVersionsResponse = self.send(&req, version, Duration::ZERO).await?;
            if resp.error_code == ResponseError::UnsupportedVersion.code() {
                let theirs = resp
                    .api_keys
                    .iter()
                    .find(|k| k.api_key == ApiKey::ApiVersions as i16);
                match theirs {
                    Some(k) if k.max_version < version && k.max_version >= 0 => {
                        version = k.max_version;
                        continue;
                    }
                    _ => {
                        return Err(Error::UnsupportedApi {
                            addr: self.addr.clone(),
                            api: ApiKey::ApiVersions,
                            min: 0,
                            max: our_max,
                        })
                    }
                }
            }
            if let Some(e) = Error::from_code(
                resp.error_code,
                format!("ApiVersions to {}", self.addr),
                None,
            ) {
                return Err(e);
            }
            let theirs: Vec<(i16, i16, i16)> = resp
                .api_keys
                .iter()
                .map(|k| (k.api_key, k.min_version, k.max_version))
                .collect();
            self.versions = ApiVersionMap::negotiate(OURS, &theirs);
            tracing::debug!(addr = %self.addr, apis = theirs.len(), "negotiated api versions");
            return Ok(());
        }
        Err(Error::UnsupportedApi {
            addr: self.addr.clone(),
            api: ApiKey::ApiVersions,
            min: 0,
            max: our_max,
        })
    }

    /// The negotiated version for `api`, or [`Error::UnsupportedApi`].
    pub fn version_for(&self, api: ApiKey) -> Result<i16> {
        self.versions.get(api).ok_or_else(|| {
            let (min, max) = our_range(api).unwrap_or((0, 0));
            Error::UnsupportedApi {
                addr: self.addr.clone(),
                api,
                min,
                max,
            }
        })
    }

    /// Sends `req` at the negotiated version. `long_poll` is how long the
    /// broker may legitimately hold the request (added to the timeout).
    pub async fn call<R: Request>(
        &mut self,
        req: &R,
        long_poll: Duration,
    ) -> Result<(i16, R::Response)> {
        let api = api_key::<R>()?;
        let version = self.version_for(api)?;
        let resp = self.send(req, version, long_poll).await?;
        Ok((version, resp))
    }

    /// Sends `req` at `version` and waits for its response.
    pub async fn send<R: Request>(
        &mut self,
        req: &R,
        version: i16,
        long_poll: Duration,
    ) -> Result<R::Response> {
        let api = api_key::<R>()?;
        let correlation_id = self.next_correlation;
        self.next_correlation = self.next_correlation.wrapping_add(1);
        let frame = encode_request(req, api, version, correlation_id, &self.config.client_id)
            .map_err(|e| Error::Protocol {
                addr: self.addr.clone(),
                message: format!("encode {api:?} v{version}: {e}"),
            })?;
        let deadline = self.config.request_timeout + long_poll;
        let body = tokio::time::timeout(deadline, self.round_trip(&frame))
            .await
            .map_err(|_| Error::Timeout {
                what: format!("{api:?} to {}", self.addr),
                millis: deadline.as_millis(),
            })??;
        decode_response::<R>(body, api, version, correlation_id).map_err(|message| {
            Error::Protocol {
                addr: self.addr.clone(),
                message,
            }
        })
    }

    async fn round_trip(&mut self, frame: &[u8]) -> Result<Bytes> {
        let io = |source| Error::Io {
            addr: self.addr.clone(),
            source,
        };
        self.stream.write_all(frame).await.map_err(io)?;
        let mut len = [0u8; 4];
        self.stream
            .read_exact(&mut len)
            .await
            .map_err(|source| Error::Io {
                addr: self.addr.clone(),
                source,
            })?;
        let len = i32::from_be_bytes(len);
        if len < 0 || len as usize > self.config.max_response_bytes {
            return Err(Error::Protocol {
                addr: self.addr.clone(),
                message: format!(
                    "response frame of {len} bytes (limit {})",
                    self.config.max_response_bytes
                ),
            });
        }
        let mut buf = vec![0u8; len as usize];
        self.stream
            .read_exact(&mut buf)
            .await
            .map_err(|source| Error::Io {
                addr: self.addr.clone(),
                source,
            })?;
        Ok(Bytes::from(buf))
    }
}

fn api_key<R: Request>() -> Result<ApiKey> {
    ApiKey::try_from(R::KEY)
        .map_err(|_| Error::InvalidArgument(format!("unknown api key {}", R::KEY)))
}

/// A size-prefixed request frame. Pure, for tests.
pub fn encode_request<R: Encodable>(
    req: &R,
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    client_id: &str,
) -> anyhow::Result<Bytes> {
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    let mut header = RequestHeader::default();
    header.request_api_key = api as i16;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = Some(StrBytes::from_string(client_id.to_string()));
    header.encode(&mut buf, api.request_header_version(version))?;
    req.encode(&mut buf, version)?;
    let len = i32::try_from(buf.len() - 4)?;
    buf[0..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf.freeze())
}

/// Decodes a response body (without the size prefix). Pure, for tests.
pub fn decode_response<R: Request>(
    mut body: Bytes,
    api: ApiKey,
    version: i16,
    correlation_id: i32,
) -> std::result::Result<R::Response, String> {
    let header = ResponseHeader::decode(&mut body, api.response_header_version(version))
        .map_err(|e| format!("{api:?} v{version} response header: {e}"))?;
    if header.correlation_id != correlation_id {
        return Err(format!(
            "correlation id {} where {correlation_id} was expected",
            header.correlation_id
        ));
    }
    R::Response::decode(&mut body, version).map_err(|e| format!("{api:?} v{version} response: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::{MetadataRequest, MetadataResponse};

    #[test]
    fn frame_has_size_prefix_and_header() {
        let f = encode_request(&MetadataRequest::default(), ApiKey::Metadata, 12, 7, "me")
            .expect("encode");
        let len = i32::from_be_bytes([f[0], f[1], f[2], f[3]]) as usize;
        assert_eq!(len, f.len() - 4);
        assert_eq!(i16::from_be_bytes([f[4], f[5]]), ApiKey::Metadata as i16);
        assert_eq!(i16::from_be_bytes([f[6], f[7]]), 12);
        assert_eq!(i32::from_be_bytes([f[8], f[9], f[10], f[11]]), 7);
    }

    #[test]
    fn response_with_wrong_correlation_is_refused() {
        let mut body = BytesMut::new();
        let mut h = ResponseHeader::default();
        h.correlation_id = 5;
        h.encode(&mut body, ApiKey::Metadata.response_header_version(12))
            .expect("h");
        MetadataResponse::default()
            .encode(&mut body, 12)
            .expect("b");
        let body = body.freeze();
        assert!(decode_response::<MetadataRequest>(body.clone(), ApiKey::Metadata, 12, 5).is_ok());
        let err = decode_response::<MetadataRequest>(body, ApiKey::Metadata, 12, 6)
            .expect_err("mismatch");
        assert!(err.contains("correlation"), "{err}");
    }

    #[test]
    fn truncated_response_is_an_error_not_a_panic() {
        let err = decode_response::<MetadataRequest>(
            Bytes::from_static(&[0, 0]),
            ApiKey::Metadata,
            12,
            1,
        );
        assert!(err.is_err());
    }
}
