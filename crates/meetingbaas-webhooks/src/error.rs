//! Every way a delivery can be refused, with the HTTP answer each one maps to.
//!
//! Adapters do not choose statuses: they call [`VerifyError::status`], [`ParseError::status`] or
//! [`Error::status`] and send [`Error::to_json`] as the body, so every framework answers alike.

use alloc::string::String;

use crate::scheme::Scheme;

/// Why a [`Verifier`](crate::Verifier) or [`Signer`](crate::Signer) could not be built.
///
/// Raised at construction, never at request time. No variant holds the secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A secret was empty.
    #[error("the {scheme} secret is empty")]
    EmptySecret {
        /// The scheme it was given for.
        scheme: Scheme,
    },
    /// A Svix secret was not `whsec_` followed by standard base64.
    #[error("the svix secret is not `whsec_` followed by standard base64")]
    InvalidSvixSecret,
    /// No scheme was enabled: the verifier would refuse everything.
    #[error(
        "no scheme is enabled: give at least one secret (environment: MEETINGBAAS_WEBHOOK_SECRET, \
         MEETINGBAAS_SVIX_SECRET, MEETINGBAAS_CALLBACK_SECRET, MEETINGBAAS_API_KEY or \
         MEETINGBAAS_ALERT_SECRET)"
    )]
    NoSchemeEnabled,
    /// An environment variable could not be read.
    #[error("{name} is {reason}")]
    InvalidEnvVar {
        /// The variable.
        name: &'static str,
        /// What is wrong with its value.
        reason: &'static str,
    },
    /// The Svix scheme needs a clock, and without the `std` feature there is no default one.
    #[error("the svix scheme needs a clock: call `VerifierBuilder::clock`")]
    MissingClock,
    /// The idempotency store could not be reached when it was set up.
    #[cfg(feature = "std")]
    #[error(transparent)]
    Store(crate::idempotency::StoreError),
    /// The body limit was zero.
    #[error("the body limit must be at least one byte")]
    ZeroBodyLimit,
}

/// Why a delivery was not verified. Every credential problem answers 401; a body over the limit
/// answers 413.
///
/// No variant holds a secret or an expected MAC.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No credential header of any enabled scheme was present.
    #[error("no credentials for any enabled scheme")]
    MissingCredentials,
    /// Some headers of a scheme were present, but not this one.
    #[error("the {header} header is missing")]
    MissingHeader {
        /// The scheme being checked.
        scheme: Scheme,
        /// The missing header's name.
        header: &'static str,
    },
    /// A credential header was sent more than once where one value is expected.
    #[error("the {header} header was sent more than once")]
    RepeatedHeader {
        /// The scheme being checked.
        scheme: Scheme,
        /// The repeated header's name.
        header: &'static str,
    },
    /// A credential header could not be read.
    #[error("the {header} header is malformed: {reason}")]
    MalformedHeader {
        /// The scheme being checked.
        scheme: Scheme,
        /// The header's name.
        header: &'static str,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// The Svix timestamp is further from now than the tolerance allows.
    #[error("the timestamp {timestamp} is outside the tolerance around now ({now})")]
    TimestampOutOfTolerance {
        /// The timestamp the delivery carried (Unix seconds).
        timestamp: i64,
        /// The verifier's clock when it checked (Unix seconds).
        now: i64,
    },
    /// No presented signature matches the body under any configured key.
    #[error("the signature does not match the body ({scheme} scheme)")]
    SignatureMismatch {
        /// The scheme being checked.
        scheme: Scheme,
    },
    /// The presented token is not a configured one.
    #[error("the token is not a configured one ({scheme} scheme)")]
    TokenMismatch {
        /// The scheme being checked.
        scheme: Scheme,
    },
    /// The body is larger than the configured limit.
    #[error("the body is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read to its end (the client went away, or the stream failed).
    #[error("the body could not be read to its end")]
    BodyUnreadable,
    /// The body did not arrive completely within the body deadline (408): a sender trickling
    /// bytes must not hold a connection and a buffer for ever.
    #[error("the body did not arrive within the deadline of {seconds} s")]
    BodyTimeout {
        /// The deadline, in whole seconds (rounded up).
        seconds: u64,
    },
}

impl VerifyError {
    /// The HTTP status every adapter answers with.
    pub const fn status(&self) -> u16 {
        match self {
            VerifyError::PayloadTooLarge { .. } => 413,
            VerifyError::BodyUnreadable => 400,
            VerifyError::BodyTimeout { .. } => 408,
            _ => 401,
        }
    }

    /// A stable snake_case code, the `error` field of the JSON answer.
    pub const fn code(&self) -> &'static str {
        match self {
            VerifyError::MissingCredentials => "missing_credentials",
            VerifyError::MissingHeader { .. } => "missing_header",
            VerifyError::RepeatedHeader { .. } => "repeated_header",
            VerifyError::MalformedHeader { .. } => "malformed_header",
            VerifyError::TimestampOutOfTolerance { .. } => "timestamp_out_of_tolerance",
            VerifyError::SignatureMismatch { .. } => "invalid_signature",
            VerifyError::TokenMismatch { .. } => "invalid_token",
            VerifyError::PayloadTooLarge { .. } => "payload_too_large",
            VerifyError::BodyUnreadable => "body_unreadable",
            VerifyError::BodyTimeout { .. } => "body_timeout",
        }
    }

    /// The scheme whose check failed, where one did.
    pub const fn scheme(&self) -> Option<Scheme> {
        match self {
            VerifyError::MissingHeader { scheme, .. }
            | VerifyError::RepeatedHeader { scheme, .. }
            | VerifyError::MalformedHeader { scheme, .. }
            | VerifyError::SignatureMismatch { scheme }
            | VerifyError::TokenMismatch { scheme } => Some(*scheme),
            VerifyError::TimestampOutOfTolerance { .. } => Some(Scheme::Svix),
            _ => None,
        }
    }
}

/// Why a verified body could not be read as an event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The body is not JSON (400).
    #[error("the body is not valid JSON: {message}")]
    InvalidJson {
        /// The JSON parser's description, with line and column.
        message: String,
    },
    /// The body is JSON, but not an object with a string `event` (400).
    #[error("the body is not a webhook envelope: {message}")]
    InvalidEnvelope {
        /// What was wrong.
        message: String,
    },
    /// The event is known, but its `data` does not fit its type (422).
    #[error("the data of `{event}` does not fit its type: {message}")]
    InvalidData {
        /// The wire name of the event.
        event: String,
        /// The JSON parser's description, with line and column.
        message: String,
    },
}

impl ParseError {
    /// The HTTP status every adapter answers with: 400, or 422 for [`ParseError::InvalidData`].
    pub const fn status(&self) -> u16 {
        match self {
            ParseError::InvalidData { .. } => 422,
            _ => 400,
        }
    }

    /// A stable snake_case code, the `error` field of the JSON answer.
    pub const fn code(&self) -> &'static str {
        match self {
            ParseError::InvalidJson { .. } => "invalid_json",
            ParseError::InvalidEnvelope { .. } => "invalid_envelope",
            ParseError::InvalidData { .. } => "invalid_event_data",
        }
    }
}

/// A delivery that was verified but cannot be handled now: the sender should retry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdempotencyError {
    /// The same delivery is being handled right now (409).
    #[error("this delivery is already being handled; retry later")]
    InProgress,
    /// The idempotency store cannot be reached (503). Details are logged at warn level.
    #[error("the idempotency store is unavailable; retry later")]
    StoreUnavailable,
}

impl IdempotencyError {
    /// The HTTP status every adapter answers with: 409 or 503.
    pub const fn status(&self) -> u16 {
        match self {
            IdempotencyError::InProgress => 409,
            IdempotencyError::StoreUnavailable => 503,
        }
    }

    /// A stable snake_case code, the `error` field of the JSON answer.
    pub const fn code(&self) -> &'static str {
        match self {
            IdempotencyError::InProgress => "delivery_in_progress",
            IdempotencyError::StoreUnavailable => "store_unavailable",
        }
    }
}

/// A delivery that cannot be taken now for a reason on the receiver's side (503 with
/// `Retry-After`): the sender keeps it and retries, so nothing authentic is lost.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unavailable {
    /// The bodies being received together would pass the in-flight memory budget.
    #[error("the receiver is at its in-flight memory budget; retry later")]
    MemoryBudget,
    /// The inbox cannot store the delivery durably right now. Details are logged at warn level.
    #[error("the inbox cannot store the delivery right now; retry later")]
    Inbox,
    /// The receiver is shedding load.
    #[error("the receiver is overloaded; retry later")]
    Overloaded,
    /// The endpoint is switched off (`enabled: false`): every delivery is refused before its
    /// body is read, and the sender keeps it for later.
    #[error("this endpoint is disabled; retry later")]
    Disabled,
}

impl Unavailable {
    /// The HTTP status every adapter answers with: 503.
    pub const fn status(&self) -> u16 {
        503
    }

    /// A stable snake_case code, the `error` field of the JSON answer.
    pub const fn code(&self) -> &'static str {
        match self {
            Unavailable::MemoryBudget => "memory_budget_exceeded",
            Unavailable::Inbox => "inbox_unavailable",
            Unavailable::Overloaded => "overloaded",
            Unavailable::Disabled => "endpoint_disabled",
        }
    }
}

/// Seconds a 503 answer asks the sender to wait before retrying (`Retry-After`).
pub const RETRY_AFTER_SECS: u32 = 5;

/// The longest `message` an error answer or log line carries, in bytes: a message quoting the
/// input (a JSON parser's "invalid type: string ...") never echoes more than an excerpt.
pub const MAX_MESSAGE_BYTES: usize = 200;

/// Any rejection: what an adapter turns into a response.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The delivery was not verified.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The verified body could not be parsed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The delivery is a duplicate still running, or the idempotency store is down.
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    /// The receiver cannot take the delivery now (memory budget, inbox, overload, disabled):
    /// 503.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

impl Error {
    /// The HTTP status of the answer.
    pub const fn status(&self) -> u16 {
        match self {
            Error::Verify(err) => err.status(),
            Error::Parse(err) => err.status(),
            Error::Idempotency(err) => err.status(),
            Error::Unavailable(err) => err.status(),
        }
    }

    /// The `Retry-After` of the answer, in seconds: set on every 503, so that the sender (and
    /// any proxy) waits before retrying.
    pub const fn retry_after(&self) -> Option<u32> {
        if self.status() == 503 {
            Some(RETRY_AFTER_SECS)
        } else {
            None
        }
    }

    /// The snake_case code of the answer.
    pub const fn code(&self) -> &'static str {
        match self {
            Error::Verify(err) => err.code(),
            Error::Parse(err) => err.code(),
            Error::Idempotency(err) => err.code(),
            Error::Unavailable(err) => err.code(),
        }
    }

    /// The answer's body: `{"error": "<code>", "message": "<one sentence>"}`.
    ///
    /// ```
    /// use meetingbaas_webhooks::{Error, VerifyError};
    ///
    /// let body = Error::from(VerifyError::MissingCredentials).to_json();
    /// assert_eq!(body, r#"{"error":"missing_credentials","message":"no credentials for any enabled scheme"}"#);
    /// ```
    pub fn to_json(&self) -> String {
        json_error_body(self.code(), &excerpt(alloc::format!("{self}")))
    }
}

/// `message`, cut to at most [`MAX_MESSAGE_BYTES`] on a character boundary (with `...` when
/// cut).
pub(crate) fn excerpt(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES - 3;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str("...");
    }
    message
}

/// `{"error": code, "message": message}` with proper escaping.
pub(crate) fn json_error_body(code: &str, message: &str) -> String {
    let body = serde_json::json!({ "error": code, "message": message });
    alloc::string::ToString::to_string(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_errors_answer_401_and_size_413() {
        assert_eq!(VerifyError::MissingCredentials.status(), 401);
        assert_eq!(
            VerifyError::SignatureMismatch {
                scheme: Scheme::Svix
            }
            .status(),
            401
        );
        assert_eq!(
            VerifyError::TimestampOutOfTolerance {
                timestamp: 0,
                now: 999
            }
            .status(),
            401
        );
        assert_eq!(VerifyError::PayloadTooLarge { limit: 1 }.status(), 413);
    }

    #[test]
    fn parse_errors_answer_400_or_422() {
        let json = ParseError::InvalidJson {
            message: "x".into(),
        };
        let data = ParseError::InvalidData {
            event: "bot.failed".into(),
            message: "x".into(),
        };
        assert_eq!(json.status(), 400);
        assert_eq!(data.status(), 422);
        assert_eq!(Error::from(data).code(), "invalid_event_data");
    }

    #[test]
    fn messages_are_cut_to_an_excerpt() {
        let long = alloc::format!("invalid type: string \"{}\"", "é".repeat(10_000));
        let err = Error::from(ParseError::InvalidData {
            event: "bot.failed".into(),
            message: long,
        });
        let value: serde_json::Value = serde_json::from_str(&err.to_json()).unwrap();
        let message = value["message"].as_str().unwrap();
        assert!(message.len() <= MAX_MESSAGE_BYTES, "{}", message.len());
        assert!(message.ends_with("..."));
    }

    #[test]
    fn unavailable_answers_503_with_retry_after() {
        let err = Error::from(Unavailable::MemoryBudget);
        assert_eq!(
            (err.status(), err.retry_after()),
            (503, Some(RETRY_AFTER_SECS))
        );
        let store = Error::from(IdempotencyError::StoreUnavailable);
        assert_eq!(store.retry_after(), Some(RETRY_AFTER_SECS));
        assert_eq!(
            Error::from(VerifyError::BodyTimeout { seconds: 10 }).status(),
            408
        );
        assert_eq!(
            Error::from(VerifyError::MissingCredentials).retry_after(),
            None
        );
    }

    #[test]
    fn json_body_escapes_the_message() {
        let err = Error::from(ParseError::InvalidJson {
            message: "a \"quoted\" thing".into(),
        });
        let value: serde_json::Value = serde_json::from_str(&err.to_json()).unwrap();
        assert_eq!(value["error"], "invalid_json");
        assert!(value["message"].as_str().unwrap().contains("\"quoted\""));
    }
}
