//! `/connectors`: list (with `expand=status|info`), create, read, config
//! (GET/PUT/PATCH), delete, status, tasks, restart (KIP-745), pause, resume,
//! stop and offsets (KIP-875), active topics (KIP-558).

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Value as Json};

use crate::runtime::worker::TargetState;
use crate::runtime::worker_config::json_to_props;

use super::{no_content, ok, parse_body, with_status, RestError, RestResult, Shared};

pub fn routes() -> Router<std::sync::Arc<super::AppState>> {
    Router::new()
        .route("/connectors", get(list).post(create))
        .route("/connectors/{c}", get(info).delete(destroy))
        .route(
            "/connectors/{c}/config",
            get(config).put(put_config).patch(patch_config),
        )
        .route("/connectors/{c}/status", get(status))
        .route("/connectors/{c}/tasks", get(tasks))
        .route("/connectors/{c}/tasks-config", get(tasks_config))
        .route("/connectors/{c}/tasks/{t}/status", get(task_status))
        .route("/connectors/{c}/tasks/{t}/restart", post(restart_task))
        .route("/connectors/{c}/restart", post(restart))
        .route("/connectors/{c}/pause", put(pause))
        .route("/connectors/{c}/resume", put(resume))
        .route("/connectors/{c}/stop", put(stop))
        .route(
            "/connectors/{c}/offsets",
            get(offsets).patch(alter_offsets).delete(reset_offsets),
        )
        .route("/connectors/{c}/topics", get(topics))
        .route("/connectors/{c}/topics/reset", put(reset_topics))
}

/// Repeated `expand=` parameters (`?expand=status&expand=info`).
fn expands(raw: &Option<String>) -> Vec<String> {
    raw.as_deref()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == "expand")
        .map(|(_, v)| v.to_string())
        .collect()
}

async fn list(State(s): Shared, RawQuery(q): RawQuery) -> RestResult {
    let names = s.herder.connectors().await;
    let ex = expands(&q);
    if ex.is_empty() {
        return ok(json!(names));
    }
    let mut out = serde_json::Map::new();
    for n in names {
        let mut entry = serde_json::Map::new();
        if ex.iter().any(|e| e == "status") {
            if let Ok(st) = s.herder.connector_status(&n).await {
                entry.insert("status".into(), st);
            }
        }
        if ex.iter().any(|e| e == "info") {
            if let Ok(i) = s.herder.connector_info(&n).await {
                entry.insert("info".into(), i);
            }
        }
        out.insert(n, Json::Object(entry));
    }
    ok(Json::Object(out))
}

fn name_matches(name: &str, config: &mut crate::config::Props) -> Result<(), RestError> {
    match config.get("name") {
        Some(included) if included != name => Err(RestError::new(
            400,
            format!("Connector name configuration ({included}) doesn't match connector name in the URL ({name})"),
        )),
        _ => {
            config.insert("name".into(), name.to_string());
            Ok(())
        }
    }
}

async fn create(State(s): Shared, body: Bytes) -> RestResult {
    let v = parse_body(&body)?;
    let name = v
        .get("name")
        .and_then(|n| n.as_str())
        .map(|n| n.trim().to_string())
        .unwrap_or_default();
    let cfg = v
        .get("config")
        .ok_or_else(|| RestError::new(400, "Connector config is required (\"config\")"))?;
    let mut config = json_to_props(cfg).map_err(|e| RestError::new(400, e))?;
    if name.is_empty() {
        return Err(RestError::new(400, "Connector name is required (\"name\")"));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(RestError::new(
            400,
            "Connector name may not contain control characters",
        ));
    }
    name_matches(&name, &mut config)?;
    let initial = match v.get("initial_state").and_then(|i| i.as_str()) {
        None => None,
        Some("RUNNING") | Some("running") => Some(TargetState::Started),
        Some(other) => Some(TargetState::parse(other).ok_or_else(|| {
            RestError::new(
                400,
                format!("Invalid initial state {other}; must be one of RUNNING, PAUSED, STOPPED"),
            )
        })?),
    };
    let (_, info) = s
        .herder
        .put_connector_config(&name, config, false, initial)
        .await?;
    with_status(StatusCode::CREATED, info)
}

async fn info(State(s): Shared, Path(c): Path<String>) -> RestResult {
    ok(s.herder.connector_info(&c).await?)
}

async fn destroy(State(s): Shared, Path(c): Path<String>) -> RestResult {
    s.herder.delete_connector(&c).await?;
    no_content()
}

async fn config(State(s): Shared, Path(c): Path<String>) -> RestResult {
    ok(json!(s.herder.connector_config(&c).await?))
}

async fn put_config(State(s): Shared, Path(c): Path<String>, body: Bytes) -> RestResult {
    let v = parse_body(&body)?;
    let mut config = json_to_props(&v).map_err(|e| RestError::new(400, e))?;
    name_matches(&c, &mut config)?;
    let (created, info) = s
        .herder
        .put_connector_config(&c, config, true, None)
        .await?;
    with_status(
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        info,
    )
}

async fn patch_config(State(s): Shared, Path(c): Path<String>, body: Bytes) -> RestResult {
    let v = parse_body(&body)?;
    let Json::Object(m) = v else {
        return Err(RestError::new(
            400,
            "The config patch must be a JSON object",
        ));
    };
    let mut patch = BTreeMap::new();
    for (k, v) in m {
        let val = match v {
            Json::Null => None,
            Json::String(s) => Some(s),
            Json::Number(n) => Some(n.to_string()),
            Json::Bool(b) => Some(b.to_string()),
            other => {
                return Err(RestError::new(
                    400,
                    format!("config value for '{k}' must be a string, not {other}"),
                ))
            }
        };
        patch.insert(k, val);
    }
    ok(s.herder.patch_connector_config(&c, patch).await?)
}

async fn status(State(s): Shared, Path(c): Path<String>) -> RestResult {
    ok(s.herder.connector_status(&c).await?)
}

async fn tasks(State(s): Shared, Path(c): Path<String>) -> RestResult {
    ok(s.herder.task_configs(&c).await?)
}

async fn tasks_config(State(s): Shared, Path(c): Path<String>) -> RestResult {
    ok(s.herder.tasks_config_map(&c).await?)
}

fn task_id(t: &str) -> Result<usize, RestError> {
    t.parse()
        .map_err(|_| RestError::new(404, "HTTP 404 Not Found"))
}

async fn task_status(State(s): Shared, Path((c, t)): Path<(String, String)>) -> RestResult {
    ok(s.herder.task_status(&c, task_id(&t)?).await?)
}

async fn restart_task(State(s): Shared, Path((c, t)): Path<(String, String)>) -> RestResult {
    s.herder.restart_task(&c, task_id(&t)?).await?;
    no_content()
}

fn flag(q: &HashMap<String, String>, k: &str) -> Result<bool, RestError> {
    match q.get(k).map(|v| v.as_str()) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(RestError::new(
            400,
            format!("Invalid value for query parameter {k}: {v}"),
        )),
    }
}

async fn restart(
    State(s): Shared,
    Path(c): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> RestResult {
    let include_tasks = flag(&q, "includeTasks")?;
    let only_failed = flag(&q, "onlyFailed")?;
    if !include_tasks && !only_failed {
        s.herder.restart_connector(&c).await?;
        return no_content();
    }
    let state = s.herder.restart(&c, include_tasks, only_failed).await?;
    with_status(StatusCode::ACCEPTED, state)
}

async fn pause(State(s): Shared, Path(c): Path<String>) -> RestResult {
    s.herder.set_target(&c, TargetState::Paused).await?;
    Ok(StatusCode::ACCEPTED.into_response_plain())
}

async fn resume(State(s): Shared, Path(c): Path<String>) -> RestResult {
    s.herder.set_target(&c, TargetState::Started).await?;
    Ok(StatusCode::ACCEPTED.into_response_plain())
}

async fn stop(State(s): Shared, Path(c): Path<String>) -> RestResult {
    s.herder.set_target(&c, TargetState::Stopped).await?;
    no_content()
}

async fn offsets(State(s): Shared, Path(c): Path<String>) -> RestResult {
    ok(s.herder.offsets(&c).await?)
}

async fn alter_offsets(State(s): Shared, Path(c): Path<String>, body: Bytes) -> RestResult {
    let v = parse_body(&body)?;
    let msg = s.herder.alter_offsets(&c, &v).await?;
    ok(json!({ "message": msg }))
}

async fn reset_offsets(State(s): Shared, Path(c): Path<String>) -> RestResult {
    let msg = s.herder.reset_offsets(&c).await?;
    ok(json!({ "message": msg }))
}

async fn topics(State(s): Shared, Path(c): Path<String>) -> RestResult {
    ok(s.herder.active_topics(&c).await?)
}

async fn reset_topics(State(s): Shared, Path(c): Path<String>) -> RestResult {
    s.herder.reset_active_topics(&c).await?;
    Ok(StatusCode::ACCEPTED.into_response_plain())
}

trait Plain {
    fn into_response_plain(self) -> axum::response::Response;
}

impl Plain for StatusCode {
    fn into_response_plain(self) -> axum::response::Response {
        axum::response::IntoResponse::into_response(self)
    }
}
