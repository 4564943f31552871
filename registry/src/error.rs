//! Every failure a request can meet, mapped once to Confluent's HTTP status,
//! `error_code` and message text (Confluent 7.x, the line the 7.0 serializers
//! talk to: an incompatible schema is 409 with error_code 409).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(String),
    #[error("Version {0} not found.")]
    VersionNotFound(i32),
    #[error("{}", match .0 { Some(id) => format!("Schema {id} not found"), None => "Schema not found".into() })]
    SchemaNotFound(Option<i32>),
    #[error("Subject '{0}' was soft deleted.Set permanent=true to delete permanently")]
    SubjectSoftDeleted(String),
    #[error("Subject '{0}' was not deleted first before being permanently deleted")]
    SubjectNotSoftDeleted(String),
    #[error("Subject '{0}' Version {1} was soft deleted.Set permanent=true to delete permanently")]
    VersionSoftDeleted(String, i32),
    #[error("Subject '{0}' Version {1} was not deleted first before being permanently deleted")]
    VersionNotSoftDeleted(String, i32),
    #[error("Subject '{0}' does not have subject-level compatibility configured")]
    SubjectCompatibilityNotConfigured(String),
    #[error("Subject '{0}' does not have subject-level mode configured")]
    SubjectModeNotConfigured(String),

    /// The reason list as Confluent formats it, after its fixed prefix.
    #[error("Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: {details}")]
    Incompatible { subject: String, details: String },

    #[error("{0}")]
    InvalidSchema(String),
    #[error("The specified version '{0}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"")]
    InvalidVersion(String),
    #[error("Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")]
    InvalidCompatibility,
    #[error("{}", .0.clone().unwrap_or_else(|| "Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE, and IMPORT.".into()))]
    InvalidMode(Option<String>),
    #[error("{0}")]
    OperationNotPermitted(String),
    #[error("One or more references exist to the schema {0}.")]
    ReferenceExists(String),
    #[error("{0}")]
    IdDoesNotMatch(String),
    #[error("The specified subject '{0}' is not a valid.")]
    InvalidSubject(String),

    /// Unparseable or mistyped JSON body (Jackson's exceptions in Confluent).
    #[error("{0}")]
    BadRequest(String),
    /// A required body was missing (a constraint violation in Confluent).
    #[error("{0}")]
    Unprocessable(String),
    #[error("HTTP 404 Not Found")]
    NotFound,
    #[error("HTTP 405 Method Not Allowed")]
    MethodNotAllowed,
    #[error("HTTP 415 Unsupported Media Type")]
    UnsupportedMediaType,
    #[error("HTTP 406 Not Acceptable")]
    NotAcceptable,

    #[error("{0}")]
    Store(String),
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Forwarding(String),
    #[error("{0}")]
    UnknownLeader(String),
    #[error("{0}")]
    Internal(String),
}

impl RegistryError {
    /// (HTTP status, Confluent `error_code`).
    pub fn codes(&self) -> (u16, u32) {
        use RegistryError::*;
        match self {
            SubjectNotFound(_) => (404, 40401),
            VersionNotFound(_) => (404, 40402),
            SchemaNotFound(_) => (404, 40403),
            SubjectSoftDeleted(_) => (404, 40404),
            SubjectNotSoftDeleted(_) => (404, 40405),
            VersionSoftDeleted(..) => (404, 40406),
            VersionNotSoftDeleted(..) => (404, 40407),
            SubjectCompatibilityNotConfigured(_) => (404, 40408),
            SubjectModeNotConfigured(_) => (404, 40409),
            Incompatible { .. } => (409, 409),
            InvalidSchema(_) => (422, 42201),
            InvalidVersion(_) => (422, 42202),
            InvalidCompatibility => (422, 42203),
            InvalidMode(_) => (422, 42204),
            OperationNotPermitted(_) => (422, 42205),
            ReferenceExists(_) => (422, 42206),
            IdDoesNotMatch(_) => (422, 42207),
            InvalidSubject(_) => (422, 42208),
            BadRequest(_) => (400, 400),
            Unprocessable(_) => (422, 422),
            NotFound => (404, 404),
            MethodNotAllowed => (405, 405),
            UnsupportedMediaType => (415, 415),
            NotAcceptable => (406, 406),
            Store(_) => (500, 50001),
            Timeout(_) => (500, 50002),
            Forwarding(_) => (500, 50003),
            UnknownLeader(_) => (500, 50004),
            Internal(_) => (500, 500),
        }
    }

    /// The body Confluent sends: `{"error_code": N, "message": "..."}`.
    pub fn body(&self) -> serde_json::Value {
        json!({ "error_code": self.codes().1, "message": self.to_string() })
    }
}

/// Marks a response whose body is already Confluent's error JSON, so the
/// REST layer's catch-all does not rewrite it.
#[derive(Debug, Clone, Copy)]
pub struct ConfluentBody;

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.codes().0).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::warn!(error = %self, "request failed");
        }
        let mut resp = (status, axum::Json(self.body())).into_response();
        resp.extensions_mut().insert(ConfluentBody);
        resp
    }
}

pub type RegistryResult<T> = Result<T, RegistryError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages_match_confluent() {
        let e = RegistryError::SubjectNotFound("s".into());
        assert_eq!(e.codes(), (404, 40401));
        assert_eq!(e.body()["message"], "Subject 's' not found.");
        assert_eq!(
            RegistryError::SchemaNotFound(Some(7)).to_string(),
            "Schema 7 not found"
        );
        assert_eq!(
            RegistryError::SchemaNotFound(None).to_string(),
            "Schema not found"
        );
        let e = RegistryError::Incompatible {
            subject: "t-value".into(),
            details: "[x]".into(),
        };
        assert_eq!(e.codes(), (409, 409));
        assert!(e
            .to_string()
            .starts_with("Schema being registered is incompatible with an earlier schema"));
        assert_eq!(
            RegistryError::InvalidVersion("0".into()).codes(),
            (422, 42202)
        );
        assert!(RegistryError::InvalidVersion("abc".into())
            .to_string()
            .contains("'abc'"));
        assert_eq!(
            RegistryError::UnknownLeader("x".into()).codes(),
            (500, 50004)
        );
    }
}
