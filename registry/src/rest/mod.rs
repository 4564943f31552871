//! The HTTP API: Confluent Schema Registry's resources (one file each), its
//! content types, and three layers around them:
//!
//! - content negotiation: requests must carry one of Confluent's media
//!   types (or none); responses get the type the `Accept` header prefers,
//!   `application/vnd.schemaregistry.v1+json` by default;
//! - forwarding: on a follower, writes go to the leader over HTTP and the
//!   leader's answer is returned as is;
//! - error shape: anything that fails before a handler (unknown path, wrong
//!   method, unreadable path parameter) still answers Confluent's
//!   `{"error_code", "message"}` JSON.

mod compatibility;
mod config;
mod contexts;
mod forward;
mod mode;
mod schemas;
mod subjects;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::Value;

use crate::error::{RegistryError, RegistryResult};
use crate::registry::{Registry, SchemaRequest};
use crate::types::SchemaReference;

pub type AppState = Arc<Registry>;

pub const V1_JSON: &str = "application/vnd.schemaregistry.v1+json";
pub const SR_JSON: &str = "application/vnd.schemaregistry+json";
pub const JSON: &str = "application/json";
/// Request body types Confluent's resources consume.
const CONSUMES: &[&str] = &[V1_JSON, SR_JSON, JSON, "application/octet-stream"];

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/", get(root).post(root))
        .route("/subjects", get(subjects::list))
        .route(
            "/subjects/{subject}",
            axum::routing::post(subjects::lookup).delete(subjects::delete_subject),
        )
        .route(
            "/subjects/{subject}/versions",
            get(subjects::list_versions).post(subjects::register),
        )
        .route(
            "/subjects/{subject}/versions/{version}",
            get(subjects::get_version).delete(subjects::delete_version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(subjects::get_version_schema),
        )
        .route(
            "/subjects/{subject}/versions/{version}/referencedby",
            get(subjects::referenced_by),
        )
        .route("/schemas", get(schemas::list))
        .route("/schemas/types", get(schemas::types))
        .route("/schemas/ids/{id}", get(schemas::by_id))
        .route("/schemas/ids/{id}/schema", get(schemas::raw_by_id))
        .route("/schemas/ids/{id}/subjects", get(schemas::subjects))
        .route("/schemas/ids/{id}/versions", get(schemas::versions))
        .route(
            "/compatibility/subjects/{subject}/versions",
            axum::routing::post(compatibility::against_all),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            axum::routing::post(compatibility::against_version),
        )
        .route(
            "/config",
            get(config::get_global)
                .put(config::put_global)
                .delete(config::delete_global),
        )
        .route(
            "/config/{subject}",
            get(config::get_subject)
                .put(config::put_subject)
                .delete(config::delete_subject),
        )
        .route(
            "/mode",
            get(mode::get_global)
                .put(mode::put_global)
                .delete(mode::delete_global),
        )
        .route(
            "/mode/{subject}",
            get(mode::get_subject)
                .put(mode::put_subject)
                .delete(mode::delete_subject),
        )
        .route("/contexts", get(contexts::list))
        .fallback(|| async { RegistryError::NotFound })
        .method_not_allowed_fallback(|| async { RegistryError::MethodNotAllowed });
    api.layer(middleware::from_fn_with_state(
        state.clone(),
        forward::forward_writes,
    ))
    .layer(middleware::from_fn(negotiate))
    .with_state(state)
}

async fn root() -> Json<Value> {
    Json(serde_json::json!({}))
}

/// The response media type for an `Accept` header, Jersey-style: the first
/// of our types the header admits, in our order of preference.
pub fn choose_response_type(accept: Option<&str>) -> Option<&'static str> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Some(V1_JSON);
    };
    let ranges: Vec<String> = accept
        .split(',')
        .filter_map(|r| {
            let mut parts = r.split(';');
            let media = parts.next()?.trim().to_ascii_lowercase();
            // q=0 means "not acceptable".
            let refused = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (!refused).then_some(media)
        })
        .collect();
    for ours in [V1_JSON, SR_JSON, JSON] {
        let (ty, _) = ours.split_once('/').unwrap_or((ours, ""));
        if ranges
            .iter()
            .any(|r| r == ours || r == "*/*" || *r == format!("{ty}/*"))
        {
            return Some(ours);
        }
    }
    None
}

fn media_type(v: &HeaderValue) -> String {
    v.to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Checks the request's content type, picks the response's, and makes every
/// error a Confluent error body.
async fn negotiate(req: Request, next: Next) -> Response {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(chosen) = choose_response_type(accept.as_deref()) else {
        return with_type(RegistryError::NotAcceptable.into_response(), V1_JSON);
    };
    if matches!(*req.method(), Method::POST | Method::PUT) {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = media_type(ct);
            if !ct.is_empty() && !CONSUMES.contains(&ct.as_str()) {
                return with_type(RegistryError::UnsupportedMediaType.into_response(), chosen);
            }
        }
    }
    let mut resp = next.run(req).await;
    let status = resp.status();
    if (status.is_client_error() || status.is_server_error())
        && resp
            .extensions()
            .get::<crate::error::ConfluentBody>()
            .is_none()
    {
        // An extractor or the router answered on its own (plain text):
        // restate it as Confluent would.
        let message = format!(
            "HTTP {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        );
        let body =
            serde_json::json!({"error_code": status.as_u16(), "message": message.trim_end()});
        resp = (status, Json(body)).into_response();
    }
    with_type(resp, chosen)
}

fn with_type(mut resp: Response, media: &'static str) -> Response {
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    resp
}

/// Handler results: JSON on success, Confluent's error body otherwise.
pub(crate) struct ApiResult(pub RegistryResult<Response>);

impl IntoResponse for ApiResult {
    fn into_response(self) -> Response {
        match self.0 {
            Ok(r) => r,
            Err(e) => e.into_response(),
        }
    }
}

pub(crate) fn ok_json(v: impl serde::Serialize) -> RegistryResult<Response> {
    Ok(Json(v).into_response())
}

pub(crate) fn ok_text(s: String) -> RegistryResult<Response> {
    Ok(Response::new(Body::from(s)))
}

/// Query parameters, decoded leniently: Confluent's (Jersey's) booleans are
/// case-insensitive "true", anything else false; bad integers fall back to
/// the default.
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Params {
        let mut out = Vec::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            out.push((percent_decode(k), percent_decode(v)));
        }
        Params(out)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub fn int(&self, key: &str, default: i64) -> i64 {
        self.get(key)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    }

    /// Applies `offset` and `limit` (negative: no limit).
    pub fn page<T>(&self, items: Vec<T>) -> Vec<T> {
        let offset = self.int("offset", 0).max(0) as usize;
        let limit = self.int("limit", -1);
        let it = items.into_iter().skip(offset);
        if limit >= 0 {
            it.take(limit as usize).collect()
        } else {
            it.collect()
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The JSON object of a request body, or Confluent's errors for a missing
/// (422) or unparseable (400) one.
pub(crate) fn body_object(body: &Bytes) -> RegistryResult<serde_json::Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(RegistryError::Unprocessable(
            "Request body is missing or empty".into(),
        ));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| RegistryError::BadRequest(format!("Unexpected JSON: {e}")))?;
    match v {
        Value::Object(m) => Ok(m),
        other => Err(RegistryError::BadRequest(format!(
            "Cannot deserialize request from a JSON {}",
            json_kind(&other)
        ))),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A string field; Jackson coerces numbers and booleans to strings.
pub(crate) fn opt_string(
    m: &serde_json::Map<String, Value>,
    key: &str,
) -> RegistryResult<Option<String>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => Err(RegistryError::BadRequest(format!(
            "Cannot deserialize value of type `String` from {} value (field \"{key}\")",
            json_kind(other)
        ))),
    }
}

/// An integer field; Jackson accepts numeric strings.
pub(crate) fn opt_int(
    m: &serde_json::Map<String, Value>,
    key: &str,
) -> RegistryResult<Option<i32>> {
    let bad = |what: &str| {
        RegistryError::BadRequest(format!(
            "Cannot deserialize value of type `int` from {what} (field \"{key}\")"
        ))
    };
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|i| i32::try_from(i).ok())
            .map(Some)
            .ok_or_else(|| bad("a number out of range")),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| bad("a non-numeric string")),
        Some(other) => Err(bad(json_kind(other))),
    }
}

/// The body of register, lookup and compatibility requests.
pub(crate) fn schema_request(body: &Bytes) -> RegistryResult<SchemaRequest> {
    let m = body_object(body)?;
    let mut references = Vec::new();
    match m.get("references") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                let Value::Object(r) = item else {
                    return Err(RegistryError::BadRequest(
                        "Cannot deserialize value of type `SchemaReference` (field \"references\")"
                            .into(),
                    ));
                };
                let name = opt_string(r, "name")?.unwrap_or_default();
                let subject = opt_string(r, "subject")?.unwrap_or_default();
                let version = opt_int(r, "version")?.unwrap_or(-1);
                if name.is_empty() || subject.is_empty() {
                    return Err(RegistryError::InvalidSchema(
                        "Invalid schema: a reference needs a name and a subject".into(),
                    ));
                }
                references.push(SchemaReference {
                    name,
                    subject,
                    version,
                });
            }
        }
        Some(other) => {
            return Err(RegistryError::BadRequest(format!(
                "Cannot deserialize value of type `ArrayList` from {} value (field \"references\")",
                json_kind(other)
            )))
        }
    }
    Ok(SchemaRequest {
        schema: opt_string(&m, "schema")?,
        schema_type: opt_string(&m, "schemaType")?,
        references,
        version: opt_int(&m, "version")?,
        id: opt_int(&m, "id")?,
        metadata: m.get("metadata").filter(|v| !v.is_null()).cloned(),
        rule_set: m.get("ruleSet").filter(|v| !v.is_null()).cloned(),
    })
}

/// Axum state extractor alias for handlers.
pub(crate) type St = State<AppState>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        assert_eq!(choose_response_type(None), Some(V1_JSON));
        assert_eq!(choose_response_type(Some("*/*")), Some(V1_JSON));
        assert_eq!(choose_response_type(Some("application/json")), Some(JSON));
        assert_eq!(
            choose_response_type(Some(
                "application/vnd.schemaregistry+json, application/json;q=0.9"
            )),
            Some(SR_JSON)
        );
        assert_eq!(choose_response_type(Some("text/html")), None);
        assert_eq!(choose_response_type(Some("application/*")), Some(V1_JSON));
        assert_eq!(choose_response_type(Some("application/json;q=0")), None);
    }

    #[test]
    fn params_decode() {
        let p = Params::parse(Some(
            "deleted=True&subjectPrefix=%3A.ctx%3A&limit=x&offset=1",
        ));
        assert!(p.flag("deleted"));
        assert_eq!(p.get("subjectPrefix"), Some(":.ctx:"));
        assert_eq!(p.int("limit", -1), -1);
        assert_eq!(p.page(vec![1, 2, 3]), vec![2, 3]);
        assert_eq!(Params::parse(Some("a=%zz&b=%4")).get("a"), Some("%zz"));
    }

    #[test]
    fn request_bodies() {
        let r = schema_request(&Bytes::from(
            r#"{"schema":"\"int\"","references":[{"name":"a","subject":"b","version":1}]}"#,
        ))
        .expect("ok");
        assert_eq!(r.references.len(), 1);
        assert_eq!(
            schema_request(&Bytes::from("")).expect_err("empty").codes(),
            (422, 422)
        );
        assert_eq!(
            schema_request(&Bytes::from("{")).expect_err("bad").codes(),
            (400, 400)
        );
        assert_eq!(
            schema_request(&Bytes::from("[1]"))
                .expect_err("array")
                .codes(),
            (400, 400)
        );
        assert_eq!(
            schema_request(&Bytes::from(r#"{"schema":{"a":1}}"#))
                .expect_err("object")
                .codes(),
            (400, 400)
        );
        assert_eq!(
            schema_request(&Bytes::from(r#"{"schema":"x","version":"v"}"#))
                .expect_err("v")
                .codes(),
            (400, 400)
        );
        assert_eq!(
            schema_request(&Bytes::from(
                r#"{"schema":"x","references":[{"name":"a"}]}"#
            ))
            .expect_err("ref")
            .codes(),
            (422, 42201)
        );
    }
}
