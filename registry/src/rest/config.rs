//! `/config`: compatibility level (and `normalize`) at global, context
//! (`:.ctx:`) and subject level.

use axum::extract::{Path, RawQuery, State};
use bytes::Bytes;
use serde_json::Value;

use super::{body_object, ok_json, opt_string, ApiResult, Params, St};
use crate::error::{RegistryError, RegistryResult};
use crate::subject;
use crate::types::CompatibilityLevel;

/// `None` when the path names the default context itself (= global).
fn target(s: &str) -> Option<String> {
    (!subject::is_default_context_target(s)).then(|| subject::normalize(s))
}

fn parse_update(body: &Bytes) -> RegistryResult<(Option<CompatibilityLevel>, Option<bool>)> {
    let m = body_object(body)?;
    let level = match opt_string(&m, "compatibility")?.or(opt_string(&m, "compatibilityLevel")?) {
        None => None,
        Some(l) => Some(
            l.parse::<CompatibilityLevel>()
                .map_err(|_| RegistryError::InvalidCompatibility)?,
        ),
    };
    let normalize = match m.get("normalize") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            return Err(RegistryError::BadRequest(
                "Cannot deserialize value of type `Boolean` (field \"normalize\")".into(),
            ))
        }
    };
    Ok((level, normalize))
}

pub async fn get_global(State(r): St, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    ApiResult(
        r.get_config(None, p.flag("defaultToGlobal"))
            .and_then(ok_json),
    )
}

pub async fn get_subject(State(r): St, Path(s): Path<String>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    ApiResult(
        r.get_config(target(&s).as_deref(), p.flag("defaultToGlobal"))
            .and_then(ok_json),
    )
}

pub async fn put_global(State(r): St, body: Bytes) -> ApiResult {
    let (level, normalize) = match parse_update(&body) {
        Ok(u) => u,
        Err(e) => return ApiResult(Err(e)),
    };
    ApiResult(r.put_config(None, level, normalize).await.and_then(ok_json))
}

pub async fn put_subject(State(r): St, Path(s): Path<String>, body: Bytes) -> ApiResult {
    let (level, normalize) = match parse_update(&body) {
        Ok(u) => u,
        Err(e) => return ApiResult(Err(e)),
    };
    ApiResult(
        r.put_config(target(&s).as_deref(), level, normalize)
            .await
            .and_then(ok_json),
    )
}

pub async fn delete_global(State(r): St) -> ApiResult {
    ApiResult(r.delete_config(None).await.and_then(ok_json))
}

pub async fn delete_subject(State(r): St, Path(s): Path<String>) -> ApiResult {
    ApiResult(
        r.delete_config(target(&s).as_deref())
            .await
            .and_then(ok_json),
    )
}
