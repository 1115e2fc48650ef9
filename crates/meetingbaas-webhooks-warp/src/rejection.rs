//! [`WebhookRejection`] and [`recover`]: refusals and the answers they turn into.

use meetingbaas_webhooks::{ParseError, VerifyError};
use meetingbaas_webhooks_receiver::Answer;
use meetingbaas_webhooks_receiver::{Error, IdempotencyError};
use warp::Rejection;
use warp::http::StatusCode;
use warp::reply::Response;

/// Why a filter of this crate refused a request: a [`warp::reject::Reject`] wrapping the core
/// [`Error`].
///
/// [`recover`] turns it into the contract's answer; [`WebhookRejection::to_response`] does the
/// same for your own recovery function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRejection {
    error: Error,
}

impl WebhookRejection {
    /// The core error.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// Takes the core error.
    pub fn into_error(self) -> Error {
        self.error
    }

    /// The HTTP status of the answer, as chosen by the core.
    pub fn status(&self) -> StatusCode {
        // Every status the core chooses is a valid one; 500 only guards the conversion.
        StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The contract's answer: [`status`](Self::status), `content-type: application/json`,
    /// `Retry-After` on a 503, the core's body `{"error": "<code>", "message": "<one
    /// sentence>"}`, and in the extensions the
    /// [`Outcome`](meetingbaas_webhooks_receiver::Outcome) and the [`Error`].
    pub fn to_response(&self) -> Response {
        reply(Answer::rejected(self.error.clone()))
    }
}

/// `answer` as a warp response (see [`Answer::into_response`]).
pub(crate) fn reply(answer: Answer) -> Response {
    answer.into_response().map(Into::into)
}

/// The pipeline's answer as the filter's result: a refusal is a [`WebhookRejection`] (answered
/// by [`recover`]), anything else (duplicate, ignored) a reply.
pub(crate) fn answered(answer: Answer) -> Result<Response, Rejection> {
    match answer.error() {
        Some(error) => Err(warp::reject::custom(WebhookRejection::from(error.clone()))),
        None => Ok(reply(answer)),
    }
}

/// The pipeline's refusal as a rejection, for filters that never get anything else.
pub(crate) fn rejected(answer: Answer) -> Rejection {
    match answered(answer) {
        Err(rejection) => rejection,
        Ok(_) => warp::reject::not_found(),
    }
}

impl warp::reject::Reject for WebhookRejection {}

impl From<Error> for WebhookRejection {
    fn from(error: Error) -> Self {
        WebhookRejection { error }
    }
}

impl From<VerifyError> for WebhookRejection {
    fn from(error: VerifyError) -> Self {
        WebhookRejection {
            error: error.into(),
        }
    }
}

impl From<ParseError> for WebhookRejection {
    fn from(error: ParseError) -> Self {
        WebhookRejection {
            error: error.into(),
        }
    }
}

impl From<IdempotencyError> for WebhookRejection {
    fn from(error: IdempotencyError) -> Self {
        WebhookRejection {
            error: error.into(),
        }
    }
}

impl std::fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for WebhookRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Answers a [`WebhookRejection`] with the contract's status and JSON body, and passes every
/// other rejection on, unchanged, to warp (or to your next `recover`).
///
/// Put it at the end of the route that holds this crate's filters: without it, warp answers a
/// custom rejection with `500 Internal Server Error`.
///
/// ```
/// use meetingbaas_webhooks_warp::{Event, Verifier, VerifiedDelivery};
/// use warp::Filter;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::builder().api_key("k").build()?;
/// let route = meetingbaas_webhooks_warp::event(verifier)
///     .map(|_: VerifiedDelivery, event: Event| event.name().to_owned())
///     .recover(meetingbaas_webhooks_warp::recover);
///
/// let response = warp::test::request().method("POST").body("{}").reply(&route).await;
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// # Ok(())
/// # }
/// ```
pub async fn recover(rejection: Rejection) -> Result<Response, Rejection> {
    match rejection.find::<WebhookRejection>() {
        Some(ours) => Ok(ours.to_response()),
        None => Err(rejection),
    }
}
