//! `/contexts`: the default context `.` and every context a subject uses.

use axum::extract::{RawQuery, State};

use super::{ok_json, ApiResult, Params, St};

/// `GET /contexts?contextPrefix=&offset=&limit=`
pub async fn list(State(r): St, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let prefix = p.get("contextPrefix").unwrap_or("").to_string();
    let contexts: Vec<String> = r
        .contexts()
        .into_iter()
        .filter(|c| c.starts_with(&prefix))
        .collect();
    ApiResult(ok_json(p.page(contexts)))
}
