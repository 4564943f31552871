//! `/compatibility`: would this schema be accepted under the subject's level?

use axum::extract::{Path, RawQuery, State};
use bytes::Bytes;

use super::{ok_json, schema_request, ApiResult, Params, St};
use crate::registry::VersionId;
use crate::subject;

/// `POST /compatibility/subjects/{subject}/versions?verbose=`: against every
/// live version the level looks at.
pub async fn against_all(
    State(r): St,
    Path(s): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let s = subject::normalize(&s);
    ApiResult(
        schema_request(&body)
            .and_then(|req| r.test_compatibility(&s, None, &req, p.flag("verbose")))
            .and_then(ok_json),
    )
}

/// `POST /compatibility/subjects/{subject}/versions/{version}?verbose=`
pub async fn against_version(
    State(r): St,
    Path((s, v)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let s = subject::normalize(&s);
    ApiResult(
        VersionId::parse(&v)
            .and_then(|version| {
                let req = schema_request(&body)?;
                r.test_compatibility(&s, Some(version), &req, p.flag("verbose"))
            })
            .and_then(ok_json),
    )
}
