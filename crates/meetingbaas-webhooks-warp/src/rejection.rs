//! [`WebhookRejection`] and [`recover`]: what the pipeline answered without the handler, and
//! the responses it turns into.

use meetingbaas_webhooks_receiver::{Answer, Error, Outcome};
use warp::Rejection;
use warp::http::StatusCode;
use warp::reply::Response;

/// Why a filter of this crate did not extract a delivery for the handler: a
/// [`warp::reject::Reject`] wrapping the pipeline's [`Answer`].
///
/// Most are refusals (401, 413, 408, 400, 422, 409, 503); the others are deliveries the
/// pipeline answered itself (202 `queued` into the inbox, 200 `duplicate`, 200 `ignored`).
/// [`recover`] sends the answer as it is; [`WebhookRejection::to_response`] does the same for
/// your own recovery function.
#[derive(Clone, Debug)]
pub struct WebhookRejection {
    answer: Answer,
}

impl WebhookRejection {
    /// The error, for a refusal.
    pub fn error(&self) -> Option<&Error> {
        self.answer.error()
    }

    /// What became of the request.
    pub fn outcome(&self) -> &Outcome {
        self.answer.outcome()
    }

    /// The pipeline's answer.
    pub fn answer(&self) -> &Answer {
        &self.answer
    }

    /// Takes the pipeline's answer.
    pub fn into_answer(self) -> Answer {
        self.answer
    }

    /// The HTTP status of the answer, as the pipeline decided.
    pub fn status(&self) -> StatusCode {
        // Every status the pipeline chooses is a valid one; 500 only guards the conversion.
        StatusCode::from_u16(self.answer.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The answer as a response: its status, headers (`content-type: application/json`,
    /// `Retry-After` on a 503), body, and in the extensions the [`Outcome`] (and the [`Error`]
    /// of a refusal).
    pub fn to_response(&self) -> Response {
        reply(self.answer.clone())
    }
}

/// `answer` as a warp response (see [`Answer::into_response`]).
pub(crate) fn reply(answer: Answer) -> Response {
    answer.into_response().map(Into::into)
}

/// The pipeline's answer as the result of a filter ending in a reply: a refusal is a
/// [`WebhookRejection`] (answered by [`recover`]), anything else (queued, duplicate, ignored) a
/// reply.
pub(crate) fn answered(answer: Answer) -> Result<Response, Rejection> {
    match answer.error() {
        Some(_) => Err(rejected(answer)),
        None => Ok(reply(answer)),
    }
}

/// The pipeline's answer as a rejection, for filters that extract a delivery.
pub(crate) fn rejected(answer: Answer) -> Rejection {
    warp::reject::custom(WebhookRejection { answer })
}

impl warp::reject::Reject for WebhookRejection {}

impl From<Answer> for WebhookRejection {
    fn from(answer: Answer) -> Self {
        WebhookRejection { answer }
    }
}

impl std::fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.answer.error() {
            Some(error) => std::fmt::Display::fmt(error, f),
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
