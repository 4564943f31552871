//! Followers forward writes to the leader (Confluent's `*OrForward`
//! methods): the request is replayed against the leader's URL and its
//! response returned unchanged. A forwarded request carries a header so
//! that two instances disagreeing about who leads cannot bounce it back
//! and forth.

use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error::{ConfluentBody, RegistryError};

const FORWARDED: &str = "x-tributary-forwarded";
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Whether `method path` changes state (and so must run on the leader).
/// Lookups and compatibility checks are POSTs but read-only.
pub fn is_write(method: &Method, path: &str) -> bool {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    matches!(
        (method, segs.as_slice()),
        (&Method::POST, ["subjects", _, "versions"])
            | (&Method::DELETE, ["subjects", ..])
            | (
                &Method::PUT | &Method::DELETE,
                ["config", ..] | ["mode", ..]
            )
    )
}

fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_default()
    })
}

pub async fn forward_writes(State(r): State<AppState>, req: Request, next: Next) -> Response {
    if !is_write(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let leadership = r.leader.get();
    if leadership.is_leader {
        return next.run(req).await;
    }
    if req.headers().contains_key(FORWARDED) {
        return RegistryError::UnknownLeader(
            "Leader not known: this instance is not the leader either".into(),
        )
        .into_response();
    }
    let Some(leader) = leadership.leader_url else {
        return RegistryError::UnknownLeader("Leader not known.".into()).into_response();
    };
    let what = format!("{} {}", req.method(), req.uri().path());
    match forward(&leader, req).await {
        Ok(resp) => {
            if resp.status().is_success() {
                // Read our own write: wait until our reader has it too.
                let _ = r.store.wait_caught_up(r.store.write_timeout()).await;
            }
            resp
        }
        Err(e) => {
            tracing::warn!(leader, request = %what, error = %e, "forwarding to the leader failed");
            RegistryError::Forwarding(format!(
                "Error while forwarding the request to the leader: {e}"
            ))
            .into_response()
        }
    }
}

async fn forward(leader: &str, req: Request) -> Result<Response, String> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|e| e.to_string())?;
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let url = format!("{}{}", leader.trim_end_matches('/'), path_and_query);
    let method =
        reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).map_err(|e| e.to_string())?;
    let mut out = http()
        .request(method, &url)
        .header(FORWARDED, "1")
        .body(body.to_vec());
    for name in [header::CONTENT_TYPE, header::ACCEPT] {
        if let Some(v) = parts.headers.get(&name).and_then(|v| v.to_str().ok()) {
            out = out.header(name.as_str(), v);
        }
    }
    let resp = out.send().await.map_err(|e| e.to_string())?;
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = status;
    // The leader already shaped the body; keep it.
    r.extensions_mut().insert(ConfluentBody);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_recognized() {
        assert!(is_write(&Method::POST, "/subjects/a/versions"));
        assert!(!is_write(&Method::POST, "/subjects/a"), "lookup is a read");
        assert!(!is_write(
            &Method::POST,
            "/compatibility/subjects/a/versions"
        ));
        assert!(is_write(&Method::DELETE, "/subjects/a/versions/1"));
        assert!(is_write(&Method::PUT, "/config"));
        assert!(is_write(&Method::DELETE, "/mode/a"));
        assert!(!is_write(&Method::GET, "/config"));
    }
}
