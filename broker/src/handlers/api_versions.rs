//! ApiVersions (KIP-511): our version list, built from `SUPPORTED`.

use bytes::Bytes;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, ResponseKind};
use kafka_protocol::ResponseError;

use super::{Ctx, SUPPORTED};
use crate::protocol::{encode_response, FrameError};

fn version_list() -> Vec<ApiVersion> {
    SUPPORTED
        .iter()
        .map(|(k, lo, hi)| {
            let mut v = ApiVersion::default();
            v.api_key = *k as i16;
            v.min_version = *lo;
            v.max_version = *hi;
            v
        })
        .collect()
}

pub fn handle(_ctx: &Ctx, _req: ApiVersionsRequest) -> ApiVersionsResponse {
    let mut r = ApiVersionsResponse::default();
    r.api_keys = version_list();
    // Features stay empty: the crate then leaves the tagged fields out, which
    // old librdkafka (kcat 2.0.2) needs to parse the response.
    r
}

/// KIP-511: a client asking with a version we don't serve still gets our list,
/// encoded as v0 with UNSUPPORTED_VERSION, so it can retry with one we do.
pub fn api_versions_fallback(correlation_id: i32) -> Result<Bytes, FrameError> {
    let mut r = ApiVersionsResponse::default();
    r.error_code = ResponseError::UnsupportedVersion.code();
    r.api_keys = version_list();
    encode_response(ApiKey::ApiVersions, 0, correlation_id, &ResponseKind::ApiVersions(r))
}
