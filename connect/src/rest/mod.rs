//! The Kafka Connect REST API (4.x shapes and status codes) over axum, one
//! file per resource. Every error is `{"error_code": <status>, "message": ..}`,
//! including unknown paths, wrong methods and unparseable bodies.

mod connectors;
mod loggers;
mod plugins;
mod root;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value as Json};

use crate::runtime::distributed::FORWARDED;
use crate::runtime::herder::{Herder, HerderError};

pub use loggers::LogControl;

pub struct AppState {
    pub herder: Arc<Herder>,
    pub logs: LogControl,
    pub ready: AtomicBool,
    pub cluster_id: parking_lot::Mutex<Option<String>>,
}

pub type Shared = State<Arc<AppState>>;

/// An error response in Kafka Connect's shape.
pub struct RestError(pub HerderError);

impl From<HerderError> for RestError {
    fn from(e: HerderError) -> Self {
        RestError(e)
    }
}

impl RestError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        RestError(HerderError {
            status,
            message: message.into(),
        })
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            axum::Json(json!({ "error_code": self.0.status, "message": self.0.message })),
        )
            .into_response()
    }
}

pub type RestResult = Result<Response, RestError>;

pub fn ok(v: Json) -> RestResult {
    Ok((StatusCode::OK, axum::Json(v)).into_response())
}

pub fn with_status(status: StatusCode, v: Json) -> RestResult {
    Ok((status, axum::Json(v)).into_response())
}

pub fn no_content() -> RestResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Parses a JSON body; a malformed one is a 400 in Connect's error shape.
pub fn parse_body(body: &Bytes) -> Result<Json, RestError> {
    if body.is_empty() {
        return Err(RestError::new(
            400,
            "Request body is empty; a JSON body is required",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| RestError::new(400, format!("Cannot deserialize the request body: {e}")))
}

async fn not_found() -> RestError {
    RestError::new(404, "HTTP 404 Not Found")
}

/// Wrong-method and other framework rejections get Connect's error JSON too.
async fn error_shape(req: Request, next: Next) -> Response {
    let forwarded = req.headers().get("X-Tributary-Forwarded").is_some();
    // Spawned so that a client hanging up does not cancel the handler halfway
    // through a Kafka request (a dropped request desyncs the pooled connection).
    let resp = match tokio::spawn(FORWARDED.scope(forwarded, next.run(req))).await {
        Ok(r) => r,
        Err(e) => {
            return RestError::new(500, format!("request handler failed: {e}")).into_response()
        }
    };
    let status = resp.status();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        return RestError::new(405, "HTTP 405 Method Not Allowed").into_response();
    }
    if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return RestError::new(415, "HTTP 415 Unsupported Media Type").into_response();
    }
    resp
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .merge(root::routes())
        .merge(connectors::routes())
        .merge(plugins::routes())
        .merge(loggers::routes())
        .fallback(not_found)
        .layer(middleware::from_fn(error_shape))
        .with_state(state)
}

pub fn mark_ready(state: &AppState) {
    state.ready.store(true, Ordering::Relaxed);
}
