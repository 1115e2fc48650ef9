//! The axum extractor: `Webhook<T>`, behind the layer or on its own.

use std::fmt;

use axum::body::Body;
use axum::extract::{FromRef, FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use meetingbaas_webhooks::{Error, Event, ParseError, VerifiedDelivery, Verifier, VerifyError};
use serde::de::DeserializeOwned;

use meetingbaas_webhooks::pipeline::{Answer, Pipeline, parse_into};

use crate::answer::response;

/// Extracts a verified delivery and its body parsed into `T` ([`Event`] by default, or any
/// `serde::de::DeserializeOwned` type of yours).
///
/// Parse failures answer as the contract says whatever `T` is: 400 for a body that is not JSON
/// or not an envelope (an object with a string `event`), 422 for an envelope that does not fit
/// `T` (see [`VerifiedDelivery::parse`]).
///
/// - Behind [`VerifyWebhookLayer`](crate::VerifyWebhookLayer) it takes the
///   [`VerifiedDelivery`] the layer left in the request extensions (and the layer's `Event`,
///   when the layer parsed one) and does not verify again.
/// - On its own it verifies the request itself with the [`Verifier`] from the router state
///   (`Verifier: FromRef<S>`), reading the body under the verifier's limit exactly as the layer
///   does. One handler can be protected this way without a layer.
///
/// It consumes the body, so it must be the handler's last argument. Rejections are
/// [`WebhookRejection`]s: the contract's status and JSON body (401, 413, 400, 422).
///
/// ```
/// use axum::{Router, routing::post};
/// use meetingbaas_webhooks::Verifier;
/// use meetingbaas_webhooks_tower::Webhook;
///
/// async fn handle(Webhook { event, .. }: Webhook) -> String {
///     format!("got {}", event.name())
/// }
///
/// # fn main() -> Result<(), meetingbaas_webhooks::ConfigError> {
/// let verifier = Verifier::builder().signature_secret("s3cret").build()?;
/// let app: Router = Router::new()
///     .route("/webhooks/meetingbaas", post(handle))
///     .with_state(verifier);
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
///
/// Behind the layer on a router without a `Verifier` in its state, take what the layer left
/// with axum's own `Extension<VerifiedDelivery>` (and `Extension<Event>` with
/// [`parse_events`](crate::VerifyWebhookLayer::parse_events)) instead.
#[derive(Clone, Debug)]
pub struct Webhook<T = Event> {
    /// The verified delivery: raw body, scheme, message id, idempotency key.
    pub delivery: VerifiedDelivery,
    /// The body parsed into `T`.
    pub event: T,
}

impl<T> Webhook<T> {
    /// The verified delivery and the parsed body.
    pub fn into_parts(self) -> (VerifiedDelivery, T) {
        (self.delivery, self.event)
    }
}

impl<S, T> FromRequest<S> for Webhook<T>
where
    S: Send + Sync,
    Verifier: FromRef<S>,
    T: DeserializeOwned + Send + 'static,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        if let Some(delivery) = parts.extensions.remove::<VerifiedDelivery>() {
            // Admitted by the layer already: only read it as `T`, by the pipeline's rule.
            let mut event = parts.extensions.remove::<Event>();
            let event = parse_into::<T>(&delivery, &mut event)?;
            return Ok(Webhook { delivery, event });
        }
        let pipeline = Pipeline::new(Verifier::from_ref(state));
        let received = crate::collect::read(&pipeline, &parts.headers, body).await?;
        let ticket = pipeline.admit::<T, _>(&parts.headers, received).await?;
        let (delivery, _, event, completion) = ticket.into_parts();
        // Without the layer nobody sees the handler's answer.
        completion.detach();
        Ok(Webhook { delivery, event })
    }
}

/// Why [`Webhook`] refused a request: answers with the contract's status and JSON body
/// (`{"error": ..., "message": ...}`), the core [`Error`] in the response extensions.
#[derive(Clone, Debug)]
pub struct WebhookRejection {
    answer: Answer,
}

impl WebhookRejection {
    /// The status of the answer (401, 413, 400 or 422, as the core decides).
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.answer.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The body of the answer: `{"error": "<code>", "message": "<one sentence>"}`.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(self.answer.body()).into_owned()
    }

    /// The underlying error (every rejection of the extractor has one).
    pub fn error(&self) -> Option<&Error> {
        self.answer.error()
    }

    /// The pipeline's answer.
    pub fn into_answer(self) -> Answer {
        self.answer
    }
}

impl From<Answer> for WebhookRejection {
    fn from(answer: Answer) -> Self {
        WebhookRejection { answer }
    }
}

impl From<Error> for WebhookRejection {
    fn from(error: Error) -> Self {
        Answer::rejected(error).into()
    }
}

impl From<VerifyError> for WebhookRejection {
    fn from(error: VerifyError) -> Self {
        Error::from(error).into()
    }
}

impl From<ParseError> for WebhookRejection {
    fn from(error: ParseError) -> Self {
        Error::from(error).into()
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        response(self.answer).map(Body::new)
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
        self.answer
            .error()
            .map(|error| error as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use axum::Router;
    use axum::body::Body;
    use axum::routing::post;
    use bytes::Bytes;
    use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
    use http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use http_body_util::channel::Channel;
    use meetingbaas_webhooks::{EventKind, Signer, Value, Verifier};
    use tower::ServiceExt;

    use super::*;
    use crate::VerifyWebhookLayer;

    const SECRET: &str = "It's a Secret to Everybody";
    const LIMIT: usize = 64;
    const FAILED: &str = r#"{"event":"bot.failed","data":{"bot_id":"b-1"}}"#;

    fn verifier(secret: &str) -> Verifier {
        Verifier::builder()
            .signature_secret(secret)
            .max_body_bytes(LIMIT)
            .build()
            .unwrap()
    }

    fn signed(body: &'static str) -> Request<Body> {
        let mut request = Request::post("/hook").body(Body::from(body)).unwrap();
        let headers = Signer::signature(SECRET).unwrap().sign_now(body.as_bytes());
        request.headers_mut().extend(headers.to_header_map());
        request
    }

    /// Answers "<wire name> <bot id>".
    async fn event_handler(Webhook { event, .. }: Webhook) -> String {
        format!("{} {}", event.name(), event.bot_id().unwrap_or("-"))
    }

    async fn text(response: axum::response::Response) -> String {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn standalone() -> Router {
        Router::new()
            .route("/hook", post(event_handler))
            .with_state(verifier(SECRET))
    }

    #[tokio::test]
    async fn standalone_verifies_with_the_state_verifier() {
        let response = standalone().oneshot(signed(FAILED)).await.unwrap();

        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(text(response).await, "bot.failed b-1");
    }

    #[tokio::test]
    async fn standalone_answers_forged_deliveries_401_json() {
        let request = Request::post("/hook")
            .header("x-meetingbaas-signature", "00".repeat(32))
            .body(Body::from(FAILED))
            .unwrap();

        let response = standalone().oneshot(request).await.unwrap();

        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            response.extensions().get::<Error>().unwrap().code(),
            "invalid_signature"
        );
        assert!(
            text(response)
                .await
                .starts_with(r#"{"error":"invalid_signature""#)
        );
    }

    #[tokio::test]
    async fn standalone_content_length_over_limit_413() {
        let mut request = signed(FAILED);
        request
            .headers_mut()
            .insert(CONTENT_LENGTH, (LIMIT + 1).into());

        let response = standalone().oneshot(request).await.unwrap();

        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn standalone_chunked_body_over_limit_413() {
        let (mut sender, body) = Channel::<Bytes, Infallible>::new(8);
        for _ in 0..5 {
            sender.send_data(Bytes::from(vec![b' '; 16])).await.unwrap();
        }
        let request = Request::post("/hook").body(Body::new(body)).unwrap();

        let response = standalone().oneshot(request).await.unwrap();

        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn standalone_answers_invalid_json_400() {
        let response = standalone().oneshot(signed("{nope")).await.unwrap();

        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn standalone_accepts_bad_event_data() {
        // Never refused for its shape: the event arrives with what did not fit in its issues.
        let body = r#"{"event":"bot.failed","data":{"bot_id":42}}"#;

        let response = standalone().oneshot(signed(body)).await.unwrap();

        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn parses_into_another_type() {
        async fn handler(Webhook { event, .. }: Webhook<Value>) -> String {
            event["data"]["bot_id"].as_str().unwrap_or("-").to_owned()
        }
        let app = Router::new()
            .route("/hook", post(handler))
            .with_state(verifier(SECRET));

        let response = app.oneshot(signed(FAILED)).await.unwrap();

        assert_eq!(text(response).await, "b-1");
    }

    #[tokio::test]
    async fn parses_into_a_user_struct_with_contract_statuses() {
        #[derive(serde::Deserialize)]
        struct Mine {
            data: MineData,
        }
        #[derive(serde::Deserialize)]
        struct MineData {
            bot_id: String,
        }
        async fn handler(Webhook { event, .. }: Webhook<Mine>) -> String {
            event.data.bot_id
        }
        let app = || {
            Router::new()
                .route("/hook", post(handler))
                .with_state(verifier(SECRET))
        };

        let response = app().oneshot(signed(FAILED)).await.unwrap();
        assert_eq!(text(response).await, "b-1");

        let no_bot = app()
            .oneshot(signed(r#"{"event":"bot.failed","data":{}}"#))
            .await
            .unwrap();
        assert_eq!(no_bot.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let not_envelope = app().oneshot(signed(r#"[1,2]"#)).await.unwrap();
        assert_eq!(not_envelope.status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn behind_the_layer_uses_its_delivery_without_verifying_again() {
        // The state's verifier has another secret: verifying again would answer 401.
        let app = Router::new()
            .route("/hook", post(event_handler))
            .route_layer(VerifyWebhookLayer::new(verifier(SECRET)).parse_events(true))
            .with_state(verifier("another secret"));

        let response = app.oneshot(signed(FAILED)).await.unwrap();

        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(text(response).await, "bot.failed b-1");
    }

    #[tokio::test]
    async fn route_layer_answers_before_the_handler() {
        let app = Router::new()
            .route("/hook", post(event_handler))
            .route_layer(VerifyWebhookLayer::new(verifier(SECRET)).only([EventKind::BotCompleted]))
            .with_state(verifier(SECRET));

        let forged = Request::post("/hook").body(Body::from(FAILED)).unwrap();
        let response = app.clone().oneshot(forged).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

        let response = app.oneshot(signed(FAILED)).await.unwrap();
        assert_eq!(text(response).await, r#"{"status":"ignored"}"#);
    }

    #[test]
    fn rejection_carries_the_contract_status_and_body() {
        let rejection = WebhookRejection::from(VerifyError::PayloadTooLarge { limit: 8 });

        assert_eq!(rejection.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let error = rejection.error().unwrap();
        assert_eq!(rejection.body_text(), error.to_json());
        assert_eq!(rejection.to_string(), error.to_string());
        let response = rejection.into_response();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    }
}
