//! `/admin/loggers` (KIP-495): read and change log levels at runtime. The
//! root logger and Rust module paths (`tributary_connect::runtime`, ...)
//! change the live tracing filter; other names (Java logger names) are
//! recorded and reported back, as there is nothing behind them here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Router;
use parking_lot::Mutex;
use serde_json::{json, Value as Json};

use super::{ok, parse_body, RestError, RestResult, Shared};

type Reloader = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// Logger levels, with the hook that applies them to the tracing filter.
pub struct LogControl {
    levels: Mutex<BTreeMap<String, (String, Option<i64>)>>,
    reload: Option<Reloader>,
}

const LEVELS: [&str; 7] = ["OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"];

impl LogControl {
    pub fn new(root_level: &str, reload: Option<Reloader>) -> Self {
        let mut levels = BTreeMap::new();
        levels.insert("root".to_string(), (root_level.to_uppercase(), None));
        LogControl {
            levels: Mutex::new(levels),
            reload,
        }
    }

    fn directives(levels: &BTreeMap<String, (String, Option<i64>)>) -> String {
        let to_rust = |l: &str| match l {
            "OFF" => "off",
            "FATAL" | "ERROR" => "error",
            "WARN" => "warn",
            "INFO" => "info",
            "DEBUG" => "debug",
            _ => "trace",
        };
        let mut parts = vec![to_rust(
            &levels
                .get("root")
                .map(|l| l.0.clone())
                .unwrap_or_else(|| "INFO".into()),
        )
        .to_string()];
        for (name, (level, _)) in levels {
            if name != "root" && (name.contains("::") || name.starts_with("tributary")) {
                parts.push(format!("{name}={}", to_rust(level)));
            }
        }
        parts.join(",")
    }

    fn set(&self, name: &str, level: &str) -> Result<Vec<String>, String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let mut levels = self.levels.lock();
        let mut affected = vec![name.to_string()];
        if name == "root" {
            // Setting the root level resets every other logger, as in Log4j.
            affected.extend(levels.keys().filter(|k| *k != "root").cloned());
            levels.retain(|k, _| k == "root");
        } else {
            let prefix = format!("{name}.");
            let children: Vec<String> = levels
                .keys()
                .filter(|k| k.starts_with(&prefix))
                .cloned()
                .collect();
            for c in children {
                levels.insert(c.clone(), (level.to_string(), Some(now)));
                affected.push(c);
            }
        }
        levels.insert(name.to_string(), (level.to_string(), Some(now)));
        if let Some(r) = &self.reload {
            r(&Self::directives(&levels))?;
        }
        affected.sort();
        Ok(affected)
    }
}

pub fn routes() -> Router<Arc<super::AppState>> {
    Router::new()
        .route("/admin/loggers", get(list))
        .route("/admin/loggers/{name}", get(get_one).put(put_one))
}

async fn list(State(s): Shared) -> RestResult {
    let levels = s.logs.levels.lock();
    let mut m = serde_json::Map::new();
    for (name, (level, modified)) in levels.iter() {
        m.insert(
            name.clone(),
            json!({ "level": level, "last_modified": modified }),
        );
    }
    ok(Json::Object(m))
}

async fn get_one(State(s): Shared, Path(name): Path<String>) -> RestResult {
    let levels = s.logs.levels.lock();
    // A logger without its own level inherits from its closest ancestor.
    let mut n = name.as_str();
    loop {
        if let Some((level, modified)) = levels.get(n) {
            return ok(json!({ "level": level, "last_modified": modified }));
        }
        match n.rsplit_once('.') {
            Some((parent, _)) => n = parent,
            None => break,
        }
    }
    match levels.get("root") {
        Some((level, _)) => ok(json!({ "level": level, "last_modified": Json::Null })),
        None => Err(RestError::new(404, format!("Logger {name} not found."))),
    }
}

async fn put_one(
    State(s): Shared,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> RestResult {
    let v = parse_body(&body)?;
    let Some(level) = v.get("level").and_then(|l| l.as_str()) else {
        return Err(RestError::new(
            400,
            "Desired 'level' parameter was not specified in request.",
        ));
    };
    let level = level.to_uppercase();
    if !LEVELS.contains(&level.as_str()) {
        return Err(RestError::new(404, format!("invalid log level '{level}'.")));
    }
    let cluster = match q.get("scope") {
        None => false,
        Some(scope) if scope.eq_ignore_ascii_case("worker") => false,
        Some(scope) if scope.eq_ignore_ascii_case("cluster") => true,
        Some(scope) => {
            return Err(RestError::new(
                400,
                format!("Invalid scope '{scope}'; must be 'worker' or 'cluster'"),
            ))
        }
    };
    let affected = s
        .logs
        .set(&name, &level)
        .map_err(|e| RestError::new(500, e))?;
    if cluster {
        // Kafka answers a cluster-scoped change with 204; here it applies to this worker.
        return super::no_content();
    }
    ok(json!(affected))
}
