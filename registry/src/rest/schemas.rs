//! `/schemas`: schemas by global id, and the list of supported types.

use axum::extract::{Path, RawQuery, State};

use super::{ok_json, ok_text, ApiResult, Params, St};
use crate::error::RegistryError;
use crate::types::SchemaType;

/// Ids are Jersey `Integer` path parameters: anything else is a 404.
fn parse_id(s: &str) -> Result<i32, RegistryError> {
    s.trim().parse::<i32>().map_err(|_| RegistryError::NotFound)
}

/// `GET /schemas?subjectPrefix=&deleted=&latestOnly=&offset=&limit=`
pub async fn list(State(r): St, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let prefix = p.get("subjectPrefix").unwrap_or("").to_string();
    ApiResult(ok_json(p.page(r.list_schemas(
        &prefix,
        p.flag("deleted"),
        p.flag("latestOnly"),
    ))))
}

/// `GET /schemas/types`
pub async fn types() -> ApiResult {
    ApiResult(ok_json(
        SchemaType::ALL
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>(),
    ))
}

/// `GET /schemas/ids/{id}?format=&fetchMaxId=`
pub async fn by_id(State(r): St, Path(id): Path<String>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    ApiResult(
        parse_id(&id)
            .and_then(|id| r.schema_by_id(id, p.get("format"), p.flag("fetchMaxId")))
            .and_then(ok_json),
    )
}

/// `GET /schemas/ids/{id}/schema?format=`: the schema text alone.
pub async fn raw_by_id(State(r): St, Path(id): Path<String>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    ApiResult(
        parse_id(&id)
            .and_then(|id| r.raw_schema_by_id(id, p.get("format")))
            .and_then(ok_text),
    )
}

/// `GET /schemas/ids/{id}/subjects?deleted=`
pub async fn subjects(State(r): St, Path(id): Path<String>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    ApiResult(
        parse_id(&id)
            .and_then(|id| r.subjects_for_id(id, p.flag("deleted")))
            .map(|s| p.page(s))
            .and_then(ok_json),
    )
}

/// `GET /schemas/ids/{id}/versions?deleted=`: `[{"subject", "version"}]`.
pub async fn versions(State(r): St, Path(id): Path<String>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    ApiResult(
        parse_id(&id)
            .and_then(|id| r.versions_for_id(id, p.flag("deleted")))
            .map(|s| p.page(s))
            .and_then(ok_json),
    )
}
