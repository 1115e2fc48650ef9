//! Every way a delivery can be refused or deferred, with the HTTP answer each one maps to.
//!
//! Adapters do not choose statuses: they call [`Error::status`] and send [`Error::to_json`] as
//! the body (through [`Answer`](crate::Answer)), so every framework answers alike. The
//! protocol's own refusals ([`VerifyError`], [`ParseError`]) come from the core.

use meetingbaas_webhooks::{ParseError, VerifyError, excerpt};

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
    /// The bots' callback secrets could not be looked up
    /// ([`CallbackSecrets`](crate::CallbackSecrets) failed).
    #[error("the callback secret could not be checked right now; retry later")]
    SecretLookup,
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
            Unavailable::SecretLookup => "secret_lookup_unavailable",
        }
    }
}

/// A deployment mistake found while receiving: a route whose extractor has no layer, middleware
/// or configuration to take its delivery from. Answered 500 (the sender retries, nothing
/// authentic is accepted unverified) with a message saying what to add; adapters log it once at
/// error level.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Misconfigured {
    code: &'static str,
    message: &'static str,
}

impl Misconfigured {
    /// A mistake with its snake_case `code` and a one-sentence `message` saying how to fix it
    /// (fixed text: never a value from the request).
    pub const fn new(code: &'static str, message: &'static str) -> Self {
        Misconfigured { code, message }
    }

    /// The snake_case code, the `error` field of the JSON answer.
    pub const fn code(&self) -> &'static str {
        self.code
    }

    /// What to fix.
    pub const fn message(&self) -> &'static str {
        self.message
    }
}

/// Seconds a 503 answer asks the sender to wait before retrying (`Retry-After`).
pub const RETRY_AFTER_SECS: u32 = 5;

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
    /// A deployment mistake an adapter found (an extractor on a route without its layer or its
    /// configuration): 500, logged once at error level by the adapter; never the delivery's
    /// fault, and never answered 2xx.
    #[error(transparent)]
    Misconfigured(#[from] Misconfigured),
    /// A method Meeting BaaS does not deliver with (it sends `POST`, and `PUT` for a bot's
    /// callback configured with it): 405 with `Allow: POST, PUT`.
    #[error("webhook deliveries come with POST or PUT")]
    MethodNotAllowed,
}

impl Error {
    /// The HTTP status of the answer.
    pub const fn status(&self) -> u16 {
        match self {
            Error::Verify(err) => err.status(),
            Error::Parse(err) => err.status(),
            Error::Idempotency(err) => err.status(),
            Error::Unavailable(err) => err.status(),
            Error::Misconfigured(_) => 500,
            Error::MethodNotAllowed => 405,
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
            Error::Misconfigured(err) => err.code(),
            Error::MethodNotAllowed => "method_not_allowed",
        }
    }

    /// The answer's body: `{"error": "<code>", "message": "<one sentence>"}`.
    ///
    /// ```
    /// use meetingbaas_webhooks_receiver::Error;
    /// use meetingbaas_webhooks_receiver::core::VerifyError;
    ///
    /// let body = Error::from(VerifyError::MissingCredentials).to_json();
    /// assert_eq!(body, r#"{"error":"missing_credentials","message":"no credentials for any enabled scheme"}"#);
    /// ```
    pub fn to_json(&self) -> String {
        json_error_body(self.code(), &excerpt(format!("{self}")))
    }
}

/// `{"error": code, "message": message}` with proper escaping.
pub(crate) fn json_error_body(code: &str, message: &str) -> String {
    let body = serde_json::json!({ "error": code, "message": message });
    body.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use meetingbaas_webhooks::MAX_MESSAGE_BYTES;

    #[test]
    fn parse_errors_keep_their_code() {
        let data = ParseError::InvalidData {
            event: "bot.failed".into(),
            message: "x".into(),
        };
        assert_eq!(Error::from(data).code(), "invalid_event_data");
    }

    #[test]
    fn messages_are_cut_to_an_excerpt() {
        let long = format!("invalid type: string \"{}\"", "é".repeat(10_000));
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
