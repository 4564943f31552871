//! One client connection: size-prefixed frames in, responses out, in order.
//!
//! Requests on a connection are handled one at a time, as Apache Kafka does
//! (it mutes a channel while a request is in flight), which keeps responses in
//! request order for pipelining clients. A frame over `socket.request.max.bytes`
//! is refused before anything is allocated for it; a frame that cannot be
//! decoded closes this connection only.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tracing::Instrument;

use crate::broker::Broker;
use crate::handlers::{self, api_versions_fallback, dispatch};
use crate::protocol::{self, FrameError};

#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("frame size {0} is outside 0..={1} (socket.request.max.bytes)")]
    FrameSize(i32, usize),
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("handler failed: {0}")]
    Handler(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads one frame; `Ok(None)` on a clean close between frames.
async fn read_frame(stream: &mut (impl AsyncReadExt + Unpin), max: usize) -> Result<Option<Bytes>, ConnError> {
    let mut len = [0u8; 4];
    match stream.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let size = i32::from_be_bytes(len);
    if size < 0 || size as usize > max {
        return Err(ConnError::FrameSize(size, max));
    }
    // read_buf fills spare capacity without zeroing it first (a memset of
    // every produced byte otherwise); `take` keeps it from reading past the frame.
    let size = size as usize;
    let mut buf = BytesMut::with_capacity(size);
    let mut frame = (&mut *stream).take(size as u64);
    while buf.len() < size {
        if frame.read_buf(&mut buf).await? == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
    }
    Ok(Some(buf.freeze()))
}

/// Turns one frame into the bytes to send back (`None`: send nothing).
pub async fn process_frame(broker: &Arc<Broker>, frame: Bytes) -> Result<Option<Bytes>, ConnError> {
    process_frame_from(broker, frame, None).await
}

/// As `process_frame`, knowing the peer address (reported as the client host).
pub async fn process_frame_from(broker: &Arc<Broker>, frame: Bytes, peer: Option<std::net::IpAddr>) -> Result<Option<Bytes>, ConnError> {
    let prefix = protocol::peek_header(&frame)?;
    let api = ApiKey::try_from(prefix.api_key).map_err(|_| FrameError::UnknownApiKey(prefix.api_key))?;
    let version = prefix.api_version;
    let Some((lo, hi)) = handlers::supported_range(api) else {
        return Err(FrameError::UnsupportedVersion { api, version }.into());
    };
    if version < lo || version > hi {
        if api == ApiKey::ApiVersions {
            return Ok(Some(api_versions_fallback(prefix.correlation_id)?));
        }
        return Err(FrameError::UnsupportedVersion { api, version }.into());
    }
    if version < handlers::decodable_min(api) {
        // Produce v0-2: header v1 is api key, version, correlation id, client id.
        let mut rest = frame.slice(8..);
        let id_len = if rest.len() >= 2 { i16::from_be_bytes([rest[0], rest[1]]) } else { -1 };
        let skip = 2 + id_len.max(0) as usize;
        if rest.len() < skip {
            return Err(FrameError::TooShort(frame.len()).into());
        }
        rest = rest.slice(skip..);
        return Ok(protocol::produce_v0_2_unsupported(version, prefix.correlation_id, &rest));
    }
    let req = protocol::decode_request(api, version, frame)?;
    let span = tracing::debug_span!(
        "request",
        api = ?api,
        version,
        correlation_id = prefix.correlation_id,
        client_id = req.header.client_id.as_ref().map(|s| s.as_str()).unwrap_or(""),
    );
    let resp = dispatch(broker, req, peer).instrument(span).await.map_err(|e| ConnError::Handler(format!("{e:#}")))?;
    match resp {
        None => Ok(None),
        Some(body) => Ok(Some(protocol::encode_response(api, version, prefix.correlation_id, &body)?)),
    }
}

/// Serves a connection until the client closes it, it breaks, or shutdown.
pub async fn serve(
    broker: Arc<Broker>,
    stream: TcpStream,
    peer: SocketAddr,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let max = broker.config.socket_request_max_bytes();
    let (mut rd, wr) = stream.into_split();
    let mut wr = BufWriter::with_capacity(64 * 1024, wr);
    loop {
        let frame = tokio::select! {
            f = read_frame(&mut rd, max) => f,
            _ = shutdown.changed() => break,
        };
        let result = match frame {
            Ok(None) => break,
            Ok(Some(frame)) => process_frame_from(&broker, frame, Some(peer.ip())).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(Some(bytes)) => {
                if let Err(e) = wr.write_all(&bytes).await {
                    tracing::debug!(%peer, error = %e, "write failed");
                    break;
                }
                if let Err(e) = wr.flush().await {
                    tracing::debug!(%peer, error = %e, "flush failed");
                    break;
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(%peer, error = %e, "closing connection");
                break;
            }
        }
    }
    let _ = wr.shutdown().await;
}
