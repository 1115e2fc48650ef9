//! [`WebhookError`]: why an extractor did not hand a delivery to the handler, as an actix-web
//! response.

use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use meetingbaas_webhooks::{ParseError, VerifyError};
use meetingbaas_webhooks_receiver::idempotency::DUPLICATE_ANSWER;
use meetingbaas_webhooks_receiver::{Answer, IGNORED_ANSWER, Outcome};
use meetingbaas_webhooks_receiver::{Error, IdempotencyError};

/// Why a [`Webhook`](crate::Webhook) extraction did not reach the handler.
///
/// As a [`ResponseError`] it answers the status the core chose ([`Error::status`]: 401, 413, 400,
/// 422, 409 or 503) with the core's JSON body ([`Error::to_json`]) and
/// `content-type: application/json`, exactly as every other adapter of this crate family does.
///
/// One variant is not a failure: [`WebhookError::Duplicate`] answers `200 OK` with
/// `{"status":"duplicate"}`. It is an error only in that it stops the handler from running.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The delivery was refused: not verified, too large, not readable as the requested type, a
    /// duplicate still being handled (409) or the idempotency store unreachable (503).
    #[error(transparent)]
    Rejected(#[from] Error),
    /// The delivery was handled successfully before (deduplication is on): answers
    /// `200 OK` with [`DUPLICATE_ANSWER`], `{"status":"duplicate"}`, and the handler does not
    /// run. (A handler taking `Result<Webhook, WebhookError>` does run, and should answer this
    /// error's response as it is.)
    #[error("this delivery was already handled")]
    Duplicate,
    /// The delivery is of a kind the route does not take ([`WebhookConfig::only`]): answers
    /// `200 OK` with `{"status":"ignored"}` (so that the sender does not retry it), and the
    /// handler does not run.
    ///
    /// [`WebhookConfig::only`]: crate::WebhookConfig::only
    #[error("this delivery is of a kind the route does not take")]
    Ignored,
    /// No [`WebhookConfig`](crate::WebhookConfig) is registered for the route: a deployment
    /// bug. Answers `500 Internal Server Error`.
    #[error(
        "no WebhookConfig is registered for this route: add one with \
         `App::app_data(WebhookConfig::new(verifier))`"
    )]
    NotConfigured,
    /// The [`WebhookConfig`](crate::WebhookConfig) deduplicates, but the route is not wrapped
    /// with the [`Idempotency`](crate::Idempotency) middleware, so claims would never be
    /// completed: a deployment bug. Answers `500 Internal Server Error`.
    #[error(
        "deduplication is on but the Idempotency middleware is missing: add \
         `.wrap(meetingbaas_webhooks_actix::Idempotency)` to the App, scope or resource"
    )]
    IdempotencyMiddlewareMissing,
    /// The delivery was stored in the inbox ([`WebhookConfig::inbox`]): answers
    /// `202 Accepted` with `{"status":"queued","id":...}`; a worker runs the handler later.
    ///
    /// [`WebhookConfig::inbox`]: crate::WebhookConfig::inbox
    #[error("this delivery was stored in the inbox")]
    Queued {
        /// The answer's body.
        body: String,
    },
}

impl WebhookError {
    /// The HTTP status of the answer: the core's for a rejection, 200 for a duplicate, 500 for a
    /// deployment bug.
    pub fn status(&self) -> u16 {
        match self {
            WebhookError::Rejected(err) => err.status(),
            WebhookError::Duplicate | WebhookError::Ignored => 200,
            WebhookError::Queued { .. } => 202,
            WebhookError::NotConfigured | WebhookError::IdempotencyMiddlewareMissing => 500,
        }
    }

    /// The snake_case code of the answer: the `error` field of its body (for
    /// [`Duplicate`](WebhookError::Duplicate), `duplicate`, its `status` field).
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::Rejected(err) => err.code(),
            WebhookError::Duplicate => "duplicate",
            WebhookError::Ignored => "ignored",
            WebhookError::Queued { .. } => "queued",
            WebhookError::NotConfigured => "webhook_not_configured",
            WebhookError::IdempotencyMiddlewareMissing => "idempotency_middleware_missing",
        }
    }

    /// The answer's body: `{"error": "<code>", "message": "<one sentence>"}`, or
    /// `{"status":"duplicate"}` for a duplicate.
    pub fn to_json(&self) -> String {
        match self {
            WebhookError::Rejected(err) => err.to_json(),
            WebhookError::Duplicate => DUPLICATE_ANSWER.to_owned(),
            WebhookError::Ignored => IGNORED_ANSWER.to_owned(),
            WebhookError::Queued { body } => body.clone(),
            // The messages are fixed ASCII sentences with no `"` or `\`: no escaping needed.
            WebhookError::NotConfigured | WebhookError::IdempotencyMiddlewareMissing => {
                format!(r#"{{"error":"{}","message":"{self}"}}"#, self.code())
            }
        }
    }

    /// What became of the request, as every adapter reports it (`None` for a deployment bug).
    pub fn outcome(&self) -> Option<Outcome> {
        match self {
            WebhookError::Rejected(err) => Some(Outcome::Rejected(err.clone())),
            WebhookError::Duplicate => Some(Outcome::Duplicate),
            WebhookError::Ignored => Some(Outcome::Ignored),
            WebhookError::Queued { .. } => Some(Outcome::Queued),
            WebhookError::NotConfigured | WebhookError::IdempotencyMiddlewareMissing => None,
        }
    }

    /// The core error, when the delivery itself was refused.
    pub fn rejection(&self) -> Option<&Error> {
        match self {
            WebhookError::Rejected(err) => Some(err),
            _ => None,
        }
    }

    /// The error for a route without configuration; logs it at error level the first time.
    pub(crate) fn not_configured() -> Self {
        static LOGGED: AtomicBool = AtomicBool::new(false);
        log_once(&LOGGED, WebhookError::NotConfigured)
    }

    /// The error for a deduplicating route without the middleware; logs it at error level the
    /// first time.
    pub(crate) fn middleware_missing() -> Self {
        static LOGGED: AtomicBool = AtomicBool::new(false);
        log_once(&LOGGED, WebhookError::IdempotencyMiddlewareMissing)
    }
}

/// A deployment bug: logged at error level once per process (every request hits it).
fn log_once(logged: &AtomicBool, err: WebhookError) -> WebhookError {
    if !logged.swap(true, Ordering::Relaxed) {
        tracing::error!(
            "meetingbaas-webhooks-actix: {err}; every webhook request is answered 500 until \
             this is fixed"
        );
    }
    err
}

impl From<Answer> for WebhookError {
    fn from(answer: Answer) -> Self {
        let (body, outcome) = answer.into_parts();
        match outcome {
            Outcome::Rejected(err) => WebhookError::Rejected(err),
            Outcome::Duplicate => WebhookError::Duplicate,
            Outcome::Queued => WebhookError::Queued {
                body: String::from_utf8_lossy(&body).into_owned(),
            },
            // The pipeline never hands a handled outcome back as an answer: read as "not for
            // this handler".
            _ => WebhookError::Ignored,
        }
    }
}

impl From<VerifyError> for WebhookError {
    fn from(err: VerifyError) -> Self {
        WebhookError::Rejected(err.into())
    }
}

impl From<ParseError> for WebhookError {
    fn from(err: ParseError) -> Self {
        WebhookError::Rejected(err.into())
    }
}

impl From<IdempotencyError> for WebhookError {
    fn from(err: IdempotencyError) -> Self {
        WebhookError::Rejected(err.into())
    }
}

impl ResponseError for WebhookError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(Answer::CONTENT_TYPE),
        ));
        if let Some(seconds) = self.rejection().and_then(Error::retry_after) {
            response.insert_header((header::RETRY_AFTER, seconds));
        }
        let mut response = response.body(self.to_json());
        if let Some(outcome) = self.outcome() {
            response.extensions_mut().insert(outcome);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_come_from_the_core() {
        let too_large = WebhookError::from(VerifyError::PayloadTooLarge { limit: 1 });
        assert_eq!(too_large.status_code(), StatusCode::PAYLOAD_TOO_LARGE);
        let missing = WebhookError::from(VerifyError::MissingCredentials);
        assert_eq!(missing.status_code(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            missing.to_json(),
            Error::from(VerifyError::MissingCredentials).to_json()
        );
        let in_progress = WebhookError::from(IdempotencyError::InProgress);
        assert_eq!(in_progress.status_code(), StatusCode::CONFLICT);
        assert_eq!(
            in_progress.to_json(),
            Error::from(IdempotencyError::InProgress).to_json()
        );
        let unavailable = WebhookError::from(IdempotencyError::StoreUnavailable);
        assert_eq!(unavailable.status_code(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn a_duplicate_is_a_json_200() {
        let err = WebhookError::Duplicate;
        assert_eq!(err.status_code(), StatusCode::OK);
        assert_eq!(err.to_json(), r#"{"status":"duplicate"}"#);
        assert_eq!(err.rejection(), None);
    }

    #[test]
    fn deployment_bugs_are_json_500s() {
        for (err, code) in [
            (WebhookError::NotConfigured, "webhook_not_configured"),
            (
                WebhookError::IdempotencyMiddlewareMissing,
                "idempotency_middleware_missing",
            ),
        ] {
            assert_eq!(err.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
            let body: serde_json::Value = serde_json::from_str(&err.to_json()).unwrap();
            assert_eq!(body["error"], code);
            assert_eq!(body["message"], err.to_string());
        }
    }
}
