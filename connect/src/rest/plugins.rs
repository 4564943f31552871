//! `/connector-plugins`: the built-in connectors (and, with
//! `connectorsOnly=false`, transforms, predicates and converters), their
//! config definitions, and config validation.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::routing::{get, put};
use axum::Router;
use serde_json::{json, Value as Json};

use crate::config::{ConfigDef, Default as Dflt};
use crate::connectors;
use crate::converters;
use crate::runtime::connector_config;
use crate::runtime::worker_config::json_to_props;
use crate::transforms;

use super::{ok, parse_body, RestError, RestResult, Shared};

pub fn routes() -> Router<std::sync::Arc<super::AppState>> {
    Router::new()
        .route("/connector-plugins", get(list))
        .route("/connector-plugins/{plugin}/config", get(config))
        .route("/connector-plugins/{plugin}/config/validate", put(validate))
}

async fn list(Query(q): Query<HashMap<String, String>>) -> RestResult {
    let only = q
        .get("connectorsOnly")
        .map(|v| v != "false")
        .unwrap_or(true);
    let mut out: Vec<Json> = connectors::plugins()
        .iter()
        .map(|p| json!({ "class": p.class(), "type": p.kind().as_str(), "version": p.version() }))
        .collect();
    if !only {
        for t in transforms::TRANSFORM_NAMES {
            out.push(json!({ "class": transforms::transform_class(t), "type": "transformation", "version": crate::KAFKA_VERSION }));
        }
        for p in transforms::PREDICATE_NAMES {
            out.push(json!({ "class": transforms::predicate_class(p), "type": "predicate", "version": crate::KAFKA_VERSION }));
        }
        for c in converters::CONVERTER_CLASSES {
            out.push(json!({ "class": c, "type": "converter", "version": crate::KAFKA_VERSION }));
        }
        for c in converters::HEADER_CONVERTER_CLASSES {
            out.push(
                json!({ "class": c, "type": "header_converter", "version": crate::KAFKA_VERSION }),
            );
        }
    }
    ok(Json::Array(out))
}

fn key_infos(def: &ConfigDef) -> Json {
    Json::Array(
        def.keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let default = match &k.default {
                    Dflt::Required => Json::Null,
                    Dflt::Value(v) => v.display().map(Json::String).unwrap_or(Json::Null),
                };
                json!({
                    "name": k.name,
                    "type": k.ty.java_name(),
                    "required": matches!(k.default, Dflt::Required),
                    "default_value": default,
                    "importance": k.importance.java_name(),
                    "documentation": k.doc,
                    "group": k.group,
                    "width": "NONE",
                    "display_name": k.display_name,
                    "dependents": [],
                    "order": i as i64 + 1,
                })
            })
            .collect(),
    )
}

async fn config(Path(plugin): Path<String>) -> RestResult {
    if let Some(p) = connectors::find(&plugin) {
        return ok(key_infos(&p.config_def()));
    }
    if let Some(def) = transforms::transform_config_def(&plugin) {
        return ok(key_infos(&def));
    }
    if let Some(def) = transforms::predicate_config_def(&plugin) {
        return ok(key_infos(&def));
    }
    let short = plugin.rsplit('.').next().unwrap_or(&plugin);
    let def = match short {
        "JsonConverter" => Some(converters::json::JsonConverterConfig::config_def()),
        "StringConverter" => Some(converters::string::StringConverterConfig::config_def()),
        _ if converters::is_known(&plugin)
            || converters::HEADER_CONVERTER_CLASSES.contains(&plugin.as_str()) =>
        {
            Some(ConfigDef::new())
        }
        _ => None,
    };
    match def {
        Some(d) => ok(key_infos(&d)),
        None => Err(RestError::new(404, format!("Unknown plugin {plugin}."))),
    }
}

async fn validate(State(_s): Shared, Path(plugin): Path<String>, body: Bytes) -> RestResult {
    let v = parse_body(&body)?;
    let mut props = json_to_props(&v).map_err(|e| RestError::new(400, e))?;
    let Some(p) = connectors::find(&plugin) else {
        return Err(RestError::new(404, format!("Unknown plugin {plugin}.")));
    };
    match props.get("connector.class") {
        Some(included) => {
            if connectors::find(included).map(|i| i.class()) != Some(p.class()) {
                return Err(RestError::new(
                    400,
                    format!(
                        "Included connector type {included} does not match request type {plugin}"
                    ),
                ));
            }
        }
        None => {
            props.insert("connector.class".into(), plugin.clone());
        }
    }
    let (infos, _) = connector_config::validate_with(&*p, &props);
    ok(infos)
}
