//! What the pipeline answers itself, and the outcome of every delivery.

use std::borrow::Cow;

use bytes::Bytes;
use meetingbaas_webhooks::DELIVERY_METHODS;

use crate::error::Error;
use crate::idempotency::DUPLICATE_ANSWER;

/// The body of the answer to a verified delivery of a kind the endpoint does not take.
pub const IGNORED_ANSWER: &str = r#"{"status":"ignored"}"#;

/// What became of one request: the marker every adapter hands to the user's code (tower in the
/// response extensions, actix in the response extensions, warp in the reply's extensions), so
/// that counting outcomes never means reading answer bodies.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Verified and given to the handler, which answered `status`.
    Handled {
        /// The handler's HTTP status.
        status: u16,
    },
    /// Verified and stored durably in the inbox; a worker handles it later.
    Queued,
    /// A copy of a delivery already handled: answered 200 `{"status":"duplicate"}`.
    Duplicate,
    /// Verified, but of a kind the endpoint does not take: answered 200 `{"status":"ignored"}`.
    Ignored,
    /// Refused (or deferred: 409, 503) with the core's error.
    Rejected(Error),
}

impl Outcome {
    /// A short lowercase label: `handled`, `queued`, `duplicate`, `ignored` or `rejected` (the
    /// `outcome` label of the metrics).
    pub const fn label(&self) -> &'static str {
        match self {
            Outcome::Handled { .. } => "handled",
            Outcome::Queued => "queued",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
            Outcome::Rejected(_) => "rejected",
        }
    }

    /// The HTTP status answered.
    pub const fn status(&self) -> u16 {
        match self {
            Outcome::Handled { status } => *status,
            Outcome::Queued => 202,
            Outcome::Duplicate | Outcome::Ignored => 200,
            Outcome::Rejected(err) => err.status(),
        }
    }

    /// The error, when the delivery was refused.
    pub const fn error(&self) -> Option<&Error> {
        match self {
            Outcome::Rejected(err) => Some(err),
            _ => None,
        }
    }
}

/// An answer the pipeline gives without running the handler: a status, a short JSON body
/// (`application/json`), a `Retry-After` for 503, and the [`Outcome`] to attach to the response.
///
/// Adapters only copy these into their framework's response type.
#[derive(Clone, Debug)]
pub struct Answer {
    body: Bytes,
    outcome: Outcome,
}

impl Answer {
    /// The content type of every answer body.
    pub const CONTENT_TYPE: &'static str = "application/json";

    /// The contract's answer to `error`: its status and `{"error","message"}` body.
    pub fn rejected(error: Error) -> Self {
        Answer {
            body: Bytes::from(error.to_json()),
            outcome: Outcome::Rejected(error),
        }
    }

    /// 200 `{"status":"duplicate"}`.
    pub fn duplicate() -> Self {
        Answer {
            body: Bytes::from_static(DUPLICATE_ANSWER.as_bytes()),
            outcome: Outcome::Duplicate,
        }
    }

    /// 200 `{"status":"ignored"}`.
    pub fn ignored() -> Self {
        Answer {
            body: Bytes::from_static(IGNORED_ANSWER.as_bytes()),
            outcome: Outcome::Ignored,
        }
    }

    /// 202 with `body` (the inbox's `{"status":"queued",...}`).
    pub fn queued(body: Bytes) -> Self {
        Answer {
            body,
            outcome: Outcome::Queued,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.outcome.status()
    }

    /// The answer's headers, lowercase names with their values: `content-type:
    /// application/json`, `retry-after` on every 503, and `allow: POST, PUT` on a 405. The one
    /// place they are decided: every adapter copies exactly these into its framework's response.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, Cow<'static, str>)> + use<> {
        let retry_after = self
            .retry_after()
            .map(|seconds| ("retry-after", Cow::Owned(seconds.to_string())));
        let allow = matches!(self.error(), Some(Error::MethodNotAllowed))
            .then(|| ("allow", Cow::Owned(DELIVERY_METHODS.join(", "))));
        std::iter::once(("content-type", Cow::Borrowed(Answer::CONTENT_TYPE)))
            .chain(retry_after)
            .chain(allow)
    }

    /// The JSON body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Seconds for the `Retry-After` header, set on every 503.
    pub fn retry_after(&self) -> Option<u32> {
        self.outcome.error().and_then(Error::retry_after)
    }

    /// What became of the request.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// The error, for a refusal.
    pub fn error(&self) -> Option<&Error> {
        self.outcome.error()
    }

    /// The body and the outcome.
    pub fn into_parts(self) -> (Bytes, Outcome) {
        (self.body, self.outcome)
    }
}

impl From<Error> for Answer {
    fn from(error: Error) -> Self {
        Answer::rejected(error)
    }
}

impl Answer {
    /// The answer as an `http` 1 response: its status, `content-type: application/json`,
    /// `Retry-After` on a 503, and in the extensions its [`Outcome`] (and the
    /// [`Error`](crate::Error) of a refusal). Map the body into your framework's body type.
    pub fn into_response(self) -> http::Response<Bytes> {
        use http::{HeaderName, HeaderValue, StatusCode};

        // Every status the core chooses is a valid one; the fallback only guards a bug there.
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers: Vec<_> = self.headers().collect();
        let mut response = http::Response::new(self.body);
        *response.status_mut() = status;
        for (name, value) in headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(name), value);
            }
        }
        if let Some(error) = self.outcome.error() {
            response.extensions_mut().insert(error.clone());
        }
        response.extensions_mut().insert(self.outcome);
        response
    }
}
