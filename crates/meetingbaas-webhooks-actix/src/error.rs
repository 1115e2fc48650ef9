//! [`WebhookError`]: why an extractor refused a request, as an actix-web response.

use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use meetingbaas_webhooks::{Error, ParseError, VerifyError};

/// The `error` code answered when no [`WebhookConfig`](crate::WebhookConfig) is registered.
const NOT_CONFIGURED_CODE: &str = "webhook_not_configured";

/// Why a [`Webhook`](crate::Webhook) extraction failed.
///
/// As a [`ResponseError`] it answers the status the core chose ([`Error::status`]: 401, 413, 400
/// or 422) with the core's JSON body ([`Error::to_json`]) and `content-type: application/json`,
/// exactly as every other adapter of this crate family does.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The delivery was refused: not verified, too large, or (where the extractor parses) not
    /// readable as the requested type.
    #[error(transparent)]
    Rejected(#[from] Error),
    /// No [`WebhookConfig`](crate::WebhookConfig) is registered for the route: a deployment
    /// bug. Answers `500 Internal Server Error`.
    #[error(
        "no WebhookConfig is registered for this route: add one with \
         `App::app_data(WebhookConfig::new(verifier))`"
    )]
    NotConfigured,
}

impl WebhookError {
    /// The HTTP status of the answer: the core's for a rejection, 500 when not configured.
    pub fn status(&self) -> u16 {
        match self {
            WebhookError::Rejected(err) => err.status(),
            WebhookError::NotConfigured => 500,
        }
    }

    /// The snake_case code of the answer (the `error` field of its body).
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::Rejected(err) => err.code(),
            WebhookError::NotConfigured => NOT_CONFIGURED_CODE,
        }
    }

    /// The answer's body: `{"error": "<code>", "message": "<one sentence>"}`.
    pub fn to_json(&self) -> String {
        match self {
            WebhookError::Rejected(err) => err.to_json(),
            WebhookError::NotConfigured => format!(
                r#"{{"error":"{NOT_CONFIGURED_CODE}","message":"{}"}}"#,
                // The message is a fixed ASCII sentence with no `"` or `\`: no escaping needed.
                self
            ),
        }
    }

    /// The core error, when the delivery itself was refused.
    pub fn rejection(&self) -> Option<&Error> {
        match self {
            WebhookError::Rejected(err) => Some(err),
            WebhookError::NotConfigured => None,
        }
    }

    /// The error for a route without configuration; logs it at error level the first time.
    pub(crate) fn not_configured() -> Self {
        static LOGGED: AtomicBool = AtomicBool::new(false);
        if !LOGGED.swap(true, Ordering::Relaxed) {
            tracing::error!(
                "meetingbaas-webhooks-actix: no WebhookConfig in app_data; every webhook \
                 request is answered 500 until one is registered \
                 (App::app_data(WebhookConfig::new(verifier)))"
            );
        }
        WebhookError::NotConfigured
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

impl ResponseError for WebhookError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .insert_header((
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ))
            .body(self.to_json())
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
    }

    #[test]
    fn not_configured_is_a_json_500() {
        let err = WebhookError::NotConfigured;
        assert_eq!(err.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: serde_json::Value = serde_json::from_str(&err.to_json()).unwrap();
        assert_eq!(body["error"], "webhook_not_configured");
        assert_eq!(body["message"], err.to_string());
    }
}
