//! [`WebhookRejection`]: why an extractor did not hand a delivery to the handler, as an
//! actix-web response.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use meetingbaas_webhooks_receiver::{Answer, Error, Misconfigured, Outcome};

/// Why a [`Webhook`](crate::Webhook) extraction did not reach the handler: the pipeline's
/// [`Answer`].
///
/// Most are refusals (401, 413, 408, 400, 422, 409, 503), but not all: a delivery stored in the
/// inbox (202 `queued`), a copy of a handled one (200 `duplicate`) and a kind the route does not
/// take (200 `ignored`) are answered by the pipeline too, without the handler. As a
/// [`ResponseError`] it sends exactly the pipeline's status, headers and JSON body, with the
/// [`Outcome`] in the response extensions, as every adapter of the crate family does.
///
/// A deployment mistake (no [`WebhookConfig`](crate::WebhookConfig) for the route,
/// deduplication without the [`Idempotency`](crate::Idempotency) middleware) is a 500 answer
/// ([`Error::Misconfigured`]) saying what to add, logged once at error level.
#[derive(Clone, Debug)]
pub struct WebhookRejection {
    answer: Answer,
}

/// No [`WebhookConfig`](crate::WebhookConfig) for the route.
const NOT_CONFIGURED: Misconfigured = Misconfigured::new(
    "webhook_not_configured",
    "no WebhookConfig is registered for this route: add one with \
     `App::app_data(WebhookConfig::new(pipeline))`",
);

/// Deduplication without the middleware that finishes the claims.
const MIDDLEWARE_MISSING: Misconfigured = Misconfigured::new(
    "idempotency_middleware_missing",
    "deduplication is on but the Idempotency middleware is missing: add \
     `.wrap(meetingbaas_webhooks_actix::Idempotency)` to the App, scope or resource",
);

impl WebhookRejection {
    /// The HTTP status of the answer, as the pipeline decided.
    pub fn status(&self) -> u16 {
        self.answer.status()
    }

    /// What became of the request.
    pub fn outcome(&self) -> &Outcome {
        self.answer.outcome()
    }

    /// The error, for a refusal (a deployment mistake is [`Error::Misconfigured`]).
    pub fn error(&self) -> Option<&Error> {
        self.answer.error()
    }

    /// The pipeline's answer.
    pub fn answer(&self) -> &Answer {
        &self.answer
    }

    /// Takes the pipeline's answer.
    pub fn into_answer(self) -> Answer {
        self.answer
    }

    /// The rejection for a route without configuration; logged at error level the first time.
    pub(crate) fn not_configured() -> Self {
        static LOGGED: AtomicBool = AtomicBool::new(false);
        misconfigured(&NOT_CONFIGURED, &LOGGED)
    }

    /// The rejection for a deduplicating route without the middleware; logged at error level
    /// the first time.
    pub(crate) fn middleware_missing() -> Self {
        static LOGGED: AtomicBool = AtomicBool::new(false);
        misconfigured(&MIDDLEWARE_MISSING, &LOGGED)
    }
}

/// A deployment mistake: logged at error level once per process (every request hits it).
fn misconfigured(mistake: &Misconfigured, logged: &AtomicBool) -> WebhookRejection {
    if !logged.swap(true, Ordering::Relaxed) {
        tracing::error!(
            "meetingbaas-webhooks-actix: {}; every webhook request is answered 500 until this \
             is fixed",
            mistake.message()
        );
    }
    Answer::rejected(Error::from(mistake.clone())).into()
}

impl From<Answer> for WebhookRejection {
    fn from(answer: Answer) -> Self {
        WebhookRejection { answer }
    }
}

impl fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.answer.error() {
            Some(error) => fmt::Display::fmt(error, f),
            None => f.write_str(self.answer.outcome().label()),
        }
    }
}

impl std::error::Error for WebhookRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error()
            .map(|error| error as &(dyn std::error::Error + 'static))
    }
}

impl ResponseError for WebhookRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        for (name, value) in self.answer.headers() {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.insert_header((HeaderName::from_static(name), value));
            }
        }
        let mut response = response.body(self.answer.body().clone());
        response.extensions_mut().insert(self.outcome().clone());
        response
    }
}

#[cfg(test)]
mod tests {
    use meetingbaas_webhooks::VerifyError;
    use meetingbaas_webhooks_receiver::IdempotencyError;

    use super::*;

    fn rejection(error: impl Into<Error>) -> WebhookRejection {
        Answer::rejected(error.into()).into()
    }

    #[test]
    fn statuses_and_bodies_are_the_pipelines() {
        let too_large = rejection(VerifyError::PayloadTooLarge { limit: 1 });
        assert_eq!(too_large.status_code(), StatusCode::PAYLOAD_TOO_LARGE);
        let missing = rejection(VerifyError::MissingCredentials);
        assert_eq!(missing.status_code(), StatusCode::UNAUTHORIZED);
        let in_progress = rejection(IdempotencyError::InProgress);
        assert_eq!(in_progress.status_code(), StatusCode::CONFLICT);
        let unavailable = rejection(IdempotencyError::StoreUnavailable);
        let response = unavailable.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
    }

    #[test]
    fn a_duplicate_is_a_json_200() {
        let duplicate = WebhookRejection::from(Answer::duplicate());
        assert_eq!(duplicate.status_code(), StatusCode::OK);
        assert_eq!(duplicate.answer().body(), r#"{"status":"duplicate"}"#);
        assert_eq!(duplicate.error(), None);
    }

    #[test]
    fn deployment_mistakes_are_json_500s() {
        for (rejection, code) in [
            (WebhookRejection::not_configured(), "webhook_not_configured"),
            (
                WebhookRejection::middleware_missing(),
                "idempotency_middleware_missing",
            ),
        ] {
            assert_eq!(rejection.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
            let body: serde_json::Value =
                serde_json::from_slice(rejection.answer().body()).unwrap();
            assert_eq!(body["error"], code);
            assert_eq!(body["message"], rejection.to_string());
        }
    }
}
