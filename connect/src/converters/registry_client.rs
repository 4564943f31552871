//! A minimal Confluent schema-registry client for the registry-backed
//! converters: register a schema under a subject (or look it up), fetch a
//! schema by id; results are cached. Converters are synchronous, so each
//! uncached call runs on a short-lived thread with its own runtime instead
//! of blocking the worker's executor threads.

use std::collections::HashMap;

use parking_lot::Mutex;
use serde_json::{json, Value as Json};

use crate::data::DataError;

pub struct RegistryClient {
    base: String,
    by_schema: Mutex<HashMap<(String, String), i32>>,
    by_id: Mutex<HashMap<i32, String>>,
}

/// A registry error: the HTTP status (0 when the registry was unreachable)
/// and Confluent's `error_code` and message.
#[derive(Clone, Debug)]
pub struct RegistryError {
    pub status: u16,
    pub error_code: i64,
    pub message: String,
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub(crate) fn unreachable(message: String) -> RegistryError {
    RegistryError { status: 0, error_code: 0, message }
}

/// Runs one registry call to completion on a short-lived thread with its own
/// runtime (converters are synchronous and must not block the worker's executor).
pub(crate) fn run<T: Send + 'static>(
    f: impl std::future::Future<Output = Result<T, RegistryError>> + Send + 'static,
) -> Result<T, RegistryError> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| unreachable(e.to_string()))?;
        rt.block_on(f)
    })
    .join()
    .map_err(|_| unreachable("schema registry call panicked".into()))?
}

/// One REST call with Confluent's content types; a 4xx/5xx becomes a `RegistryError`.
pub(crate) async fn call(method: reqwest::Method, url: String, body: Option<Json>) -> Result<Json, RegistryError> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| unreachable(e.to_string()))?;
    let mut req = client.request(method, &url).header(
        "Accept",
        "application/vnd.schemaregistry.v1+json, application/json",
    );
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/vnd.schemaregistry.v1+json")
            .body(b.to_string());
    }
    let resp = req
        .send()
        .await
        .map_err(|e| unreachable(format!("schema registry {url}: {e}")))?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| unreachable(e.to_string()))?;
    let v: Json = serde_json::from_str(&text).unwrap_or(Json::String(text.clone()));
    if status >= 400 {
        return Err(RegistryError {
            status,
            error_code: v.get("error_code").and_then(|c| c.as_i64()).unwrap_or(0),
            message: format!(
                "schema registry returned {status}: {}",
                v.get("message").and_then(|m| m.as_str()).unwrap_or(&text)
            ),
        });
    }
    Ok(v)
}

/// Percent-encodes a subject for a URL path.
pub(crate) fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl RegistryClient {
    pub fn new(url: &str) -> RegistryClient {
        let base = url
            .split(',')
            .next()
            .unwrap_or(url)
            .trim()
            .trim_end_matches('/')
            .to_string();
        RegistryClient {
            base,
            by_schema: Mutex::new(HashMap::new()),
            by_id: Mutex::new(HashMap::new()),
        }
    }

    /// Registers (or, without auto-registration, looks up) a schema; returns its id.
    pub fn id_for(
        &self,
        subject: &str,
        schema: &str,
        schema_type: &str,
        auto_register: bool,
    ) -> Result<i32, DataError> {
        let key = (subject.to_string(), schema.to_string());
        if let Some(id) = self.by_schema.lock().get(&key) {
            return Ok(*id);
        }
        let mut body = json!({ "schema": schema });
        if schema_type != "AVRO" {
            body["schemaType"] = json!(schema_type);
        }
        let url = if auto_register {
            format!("{}/subjects/{}/versions", self.base, enc(subject))
        } else {
            format!("{}/subjects/{}", self.base, enc(subject))
        };
        let v = run(call(reqwest::Method::POST, url, Some(body)))
            .map_err(|e| DataError::new(format!("Failed to access Avro data from topic: {e}")))?;
        let id =
            v.get("id").and_then(|i| i.as_i64()).ok_or_else(|| {
                DataError::new(format!("schema registry answered without an id: {v}"))
            })? as i32;
        self.by_schema.lock().insert(key, id);
        self.by_id.lock().insert(id, schema.to_string());
        Ok(id)
    }

    /// The latest schema registered under a subject (`use.latest.version`).
    pub fn latest(&self, subject: &str) -> Result<(i32, String), DataError> {
        let v = run(call(
            reqwest::Method::GET,
            format!("{}/subjects/{}/versions/latest", self.base, enc(subject)),
            None,
        ))
        .map_err(|e| DataError::new(e.message))?;
        let id = v.get("id").and_then(|i| i.as_i64()).unwrap_or(-1) as i32;
        let schema = v
            .get("schema")
            .and_then(|s| s.as_str())
            .unwrap_or_default()
            .to_string();
        self.by_id.lock().insert(id, schema.clone());
        Ok((id, schema))
    }

    pub fn schema_by_id(&self, id: i32) -> Result<String, DataError> {
        if let Some(s) = self.by_id.lock().get(&id) {
            return Ok(s.clone());
        }
        let v = run(call(
            reqwest::Method::GET,
            format!("{}/schemas/ids/{id}", self.base),
            None,
        ))
        .map_err(|e| DataError::new(format!("Failed to retrieve schema with id {id}: {e}")))?;
        let s = v
            .get("schema")
            .and_then(|s| s.as_str())
            .ok_or_else(|| DataError::new(format!("no schema with id {id}")))?
            .to_string();
        self.by_id.lock().insert(id, s.clone());
        Ok(s)
    }
}

/// The subject for a record per `key.subject.name.strategy` / `value.subject.name.strategy`.
pub fn subject_name(
    strategy: &str,
    topic: &str,
    is_key: bool,
    record_name: Option<&str>,
) -> Result<String, DataError> {
    let short = strategy.rsplit('.').next().unwrap_or(strategy);
    let suffix = if is_key { "key" } else { "value" };
    match short {
        "TopicNameStrategy" | "" => Ok(format!("{topic}-{suffix}")),
        "RecordNameStrategy" => record_name
            .map(str::to_string)
            .ok_or_else(|| DataError::new("RecordNameStrategy needs a named record schema")),
        "TopicRecordNameStrategy" => record_name
            .map(|r| format!("{topic}-{r}"))
            .ok_or_else(|| DataError::new("TopicRecordNameStrategy needs a named record schema")),
        other => Err(DataError::new(format!(
            "Unknown subject name strategy {other}"
        ))),
    }
}
