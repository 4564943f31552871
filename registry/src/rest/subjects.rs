//! `/subjects`: listing, lookup, registration, versions and deletes.

use axum::extract::{Path, RawQuery, State};
use bytes::Bytes;
use serde_json::json;

use super::{ok_json, ok_text, schema_request, ApiResult, Params, St};
use crate::error::RegistryError;
use crate::registry::VersionId;
use crate::store::index::Deleted;
use crate::subject;

fn deleted_filter(p: &Params) -> Deleted {
    Deleted::from_flags(p.flag("deleted"), p.flag("deletedOnly"))
}

fn format_param(p: &Params) -> Option<String> {
    p.get("format")
        .map(str::to_string)
        .filter(|f| !f.trim().is_empty())
}

/// `GET /subjects?subjectPrefix=&deleted=&deletedOnly=&offset=&limit=`
pub async fn list(State(r): St, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let prefix = p
        .get("subjectPrefix")
        .unwrap_or(subject::WILDCARD_PREFIX)
        .to_string();
    ApiResult(ok_json(p.page(r.subjects(&prefix, deleted_filter(&p)))))
}

/// `POST /subjects/{subject}?normalize=&deleted=&format=`: is this schema registered here?
pub async fn lookup(
    State(r): St,
    Path(s): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let s = subject::normalize(&s);
    ApiResult((|| {
        let req = schema_request(&body)?;
        let v = r.lookup(&s, &req, p.flag("deleted"), format_param(&p).as_deref())?;
        ok_json(v)
    })())
}

/// `DELETE /subjects/{subject}?permanent=`
pub async fn delete_subject(
    State(r): St,
    Path(s): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let s = subject::normalize(&s);
    ApiResult(
        r.delete_subject(&s, p.flag("permanent"))
            .await
            .and_then(ok_json),
    )
}

/// `GET /subjects/{subject}/versions?deleted=&deletedOnly=`
pub async fn list_versions(
    State(r): St,
    Path(s): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let s = subject::normalize(&s);
    ApiResult(
        r.versions(&s, deleted_filter(&p))
            .map(|v| p.page(v))
            .and_then(ok_json),
    )
}

/// `POST /subjects/{subject}/versions?normalize=`: register, answering `{"id": N}`.
pub async fn register(State(r): St, Path(s): Path<String>, body: Bytes) -> ApiResult {
    if !subject::is_valid(&s) {
        return ApiResult(Err(RegistryError::InvalidSubject(s)));
    }
    let s = subject::normalize(&s);
    let req = match schema_request(&body) {
        Ok(req) => req,
        Err(e) => return ApiResult(Err(e)),
    };
    ApiResult(
        r.register(&s, req)
            .await
            .and_then(|id| ok_json(json!({ "id": id }))),
    )
}

/// `GET /subjects/{subject}/versions/{version}?deleted=&format=`
pub async fn get_version(
    State(r): St,
    Path((s, v)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let s = subject::normalize(&s);
    ApiResult((|| {
        let version = VersionId::parse(&v)?;
        let found = r.get_version(&s, version, p.flag("deleted"))?;
        ok_json(r.version_json(&found, format_param(&p).as_deref())?)
    })())
}

/// `GET /subjects/{subject}/versions/{version}/schema`: the schema text alone.
pub async fn get_version_schema(
    State(r): St,
    Path((s, v)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let s = subject::normalize(&s);
    ApiResult((|| {
        let version = VersionId::parse(&v)?;
        let found = r.get_version(&s, version, p.flag("deleted"))?;
        let ix = r.store.index();
        ok_text(r.format_schema(&ix, &found, format_param(&p).as_deref())?)
    })())
}

/// `GET /subjects/{subject}/versions/{version}/referencedby`: ids of schemas referencing it.
pub async fn referenced_by(
    State(r): St,
    Path((s, v)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let s = subject::normalize(&s);
    ApiResult(
        VersionId::parse(&v)
            .and_then(|version| r.referenced_by(&s, version))
            .map(|ids| p.page(ids))
            .and_then(ok_json),
    )
}

/// `DELETE /subjects/{subject}/versions/{version}?permanent=`
pub async fn delete_version(
    State(r): St,
    Path((s, v)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let s = subject::normalize(&s);
    let version = match VersionId::parse(&v) {
        Ok(v) => v,
        Err(e) => return ApiResult(Err(e)),
    };
    ApiResult(
        r.delete_version(&s, version, p.flag("permanent"))
            .await
            .and_then(ok_json),
    )
}
