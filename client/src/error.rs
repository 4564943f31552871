//! The client's one error type. Kafka error codes from responses become
//! [`Error::Kafka`] here and nowhere else, so callers match on
//! `kafka_protocol::ResponseError` variants instead of raw numbers.

use kafka_protocol::messages::ApiKey;
use kafka_protocol::ResponseError;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket failed or closed; the connection is dropped and the next
    /// call reconnects.
    #[error("i/o error talking to {addr}: {source}")]
    Io {
        addr: String,
        #[source]
        source: std::io::Error,
    },

    /// A request could not be encoded or a response could not be decoded. The
    /// connection is dropped because its framing can no longer be trusted.
    #[error("protocol error with {addr}: {message}")]
    Protocol { addr: String, message: String },

    /// The broker answered with a Kafka error code.
    #[error("{context}: {code}{}", .message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Kafka {
        code: ResponseError,
        context: String,
        message: Option<String>,
    },

    /// Neither side can speak a version of this API the other understands.
    #[error("the broker at {addr} does not support {api:?} in versions {min}..={max}")]
    UnsupportedApi {
        addr: String,
        api: ApiKey,
        min: i16,
        max: i16,
    },

    /// No response within the request timeout.
    #[error("timed out after {millis} ms: {what}")]
    Timeout { what: String, millis: u128 },

    /// No broker could be reached, or a lookup found nothing to talk to.
    #[error("no broker available: {0}")]
    NoBroker(String),

    /// The response was well-formed but not what the request asked for
    /// (a missing topic or partition, a wrong correlation id).
    #[error("unexpected response: {0}")]
    UnexpectedResponse(String),

    /// A caller-side mistake that retrying cannot fix.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// Builds a [`Error::Kafka`] from a response's error code; `None` for 0.
    pub fn from_code(
        code: i16,
        context: impl Into<String>,
        message: Option<String>,
    ) -> Option<Error> {
        ResponseError::try_from_code(code).map(|code| Error::Kafka {
            code,
            context: context.into(),
            message,
        })
    }

    /// The Kafka error code, when the broker sent one.
    pub fn kafka_code(&self) -> Option<ResponseError> {
        match self {
            Error::Kafka { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether the same call may succeed if tried again after a short wait:
    /// transport failures and timeouts (after a reconnect), and Kafka codes the
    /// protocol marks retriable (NOT_LEADER_OR_FOLLOWER, COORDINATOR_LOAD_IN_PROGRESS ...).
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Io { .. } | Error::Timeout { .. } | Error::NoBroker(_) => true,
            Error::Kafka { code, .. } => {
                code.is_retriable() || matches!(code, ResponseError::NotCoordinator)
            }
            Error::Protocol { .. }
            | Error::UnsupportedApi { .. }
            | Error::UnexpectedResponse(_) => false,
            Error::InvalidArgument(_) => false,
        }
    }

    /// Whether cached leader/coordinator locations are stale after this error.
    pub fn invalidates_metadata(&self) -> bool {
        match self {
            Error::Io { .. } | Error::Timeout { .. } => true,
            Error::Kafka { code, .. } => matches!(
                code,
                ResponseError::NotLeaderOrFollower
                    | ResponseError::LeaderNotAvailable
                    | ResponseError::UnknownTopicOrPartition
                    | ResponseError::FencedLeaderEpoch
                    | ResponseError::UnknownLeaderEpoch
                    | ResponseError::NotCoordinator
                    | ResponseError::CoordinatorNotAvailable
            ),
            _ => false,
        }
    }

    /// Whether the connection that produced this error must be discarded.
    pub(crate) fn breaks_connection(&self) -> bool {
        matches!(
            self,
            Error::Io { .. } | Error::Protocol { .. } | Error::Timeout { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_not_an_error() {
        assert!(Error::from_code(0, "x", None).is_none());
    }

    #[test]
    fn retriable_codes_follow_the_protocol() {
        let e = Error::from_code(ResponseError::NotLeaderOrFollower.code(), "produce", None)
            .expect("error");
        assert!(e.is_retriable());
        assert!(e.invalidates_metadata());
        let e = Error::from_code(ResponseError::TopicAlreadyExists.code(), "create", None)
            .expect("error");
        assert!(!e.is_retriable());
        assert_eq!(e.kafka_code(), Some(ResponseError::TopicAlreadyExists));
        // NOT_COORDINATOR is not retriable in the protocol table, but a new
        // FindCoordinator fixes it, so the client treats it as retriable.
        let e =
            Error::from_code(ResponseError::NotCoordinator.code(), "join", None).expect("error");
        assert!(e.is_retriable());
    }

    #[test]
    fn display_names_the_code_and_message() {
        let e = Error::from_code(
            ResponseError::InvalidConfig.code(),
            "create topic _schemas",
            Some("bad".into()),
        )
        .expect("error");
        let s = e.to_string();
        assert!(s.contains("create topic _schemas"), "{s}");
        assert!(s.contains("(bad)"), "{s}");
    }
}
