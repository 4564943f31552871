//! `/mode`: READWRITE, READONLY, READONLY_OVERRIDE or IMPORT at global,
//! context and subject level.

use axum::extract::{Path, RawQuery, State};
use bytes::Bytes;

use super::{body_object, ok_json, opt_string, ApiResult, Params, St};
use crate::error::{RegistryError, RegistryResult};
use crate::subject;
use crate::types::Mode;

fn target(s: &str) -> Option<String> {
    (!subject::is_default_context_target(s)).then(|| subject::normalize(s))
}

fn parse_mode(body: &Bytes) -> RegistryResult<Mode> {
    let m = body_object(body)?;
    let mode = opt_string(&m, "mode")?.ok_or(RegistryError::InvalidMode(None))?;
    mode.parse::<Mode>()
        .map_err(|_| RegistryError::InvalidMode(None))
}

pub async fn get_global(State(r): St, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    ApiResult(
        r.get_mode(None, p.flag("defaultToGlobal"))
            .and_then(ok_json),
    )
}

pub async fn get_subject(State(r): St, Path(s): Path<String>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    ApiResult(
        r.get_mode(target(&s).as_deref(), p.flag("defaultToGlobal"))
            .and_then(ok_json),
    )
}

pub async fn put_global(State(r): St, RawQuery(q): RawQuery, body: Bytes) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let mode = match parse_mode(&body) {
        Ok(m) => m,
        Err(e) => return ApiResult(Err(e)),
    };
    ApiResult(
        r.put_mode(None, mode, p.flag("force"))
            .await
            .and_then(ok_json),
    )
}

pub async fn put_subject(
    State(r): St,
    Path(s): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let mode = match parse_mode(&body) {
        Ok(m) => m,
        Err(e) => return ApiResult(Err(e)),
    };
    ApiResult(
        r.put_mode(target(&s).as_deref(), mode, p.flag("force"))
            .await
            .and_then(ok_json),
    )
}

pub async fn delete_global(State(r): St) -> ApiResult {
    ApiResult(r.delete_mode(None).await.and_then(ok_json))
}

pub async fn delete_subject(State(r): St, Path(s): Path<String>) -> ApiResult {
    ApiResult(r.delete_mode(target(&s).as_deref()).await.and_then(ok_json))
}
