//! The axum extractors: [`Webhook<T>`] behind the layer, [`StandaloneWebhook<T>`] on its own.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use meetingbaas_webhooks::{Event, ParseError, VerifiedDelivery, Verifier, VerifyError};
use meetingbaas_webhooks_receiver::Error;
use serde::de::DeserializeOwned;

use meetingbaas_webhooks_receiver::{Answer, Pipeline, parse_into};

use crate::answer::response;

/// The `error` code answered when [`Webhook`] finds no delivery left by the layer.
const LAYER_MISSING_CODE: &str = "webhook_layer_missing";

/// The message answered (and logged once) when [`Webhook`] finds no delivery left by the layer.
const LAYER_MISSING_MESSAGE: &str = "the Webhook extractor runs behind VerifyWebhookLayer, \
     which this route does not have: add `.route_layer(VerifyWebhookLayer::new(verifier))` to \
     the webhook router, or take `StandaloneWebhook` with a Verifier in the router state";

/// Extracts what [`VerifyWebhookLayer`](crate::VerifyWebhookLayer) verified: the
/// [`VerifiedDelivery`] and its body read as `T` ([`Event`] by default).
///
/// It needs nothing from the router state: put the layer on the webhook route with
/// `route_layer` and take `Webhook` in the handler, in any argument position (it does not
/// consume the body). `T` is read by the pipeline's one rule
/// ([`parse_into`]):
///
/// - [`Event`] (the default): the event the layer parsed with
///   [`parse_events(true)`](crate::VerifyWebhookLayer::parse_events) or
///   [`only`](crate::VerifyWebhookLayer::only) (taken out of the extensions, not cloned), or
///   parsed here when the layer only verified. Never refused for the shape of its data; 400 for
///   a body that is not a webhook envelope;
/// - [`serde::de::IgnoredAny`]: verify only, nothing parsed (the body need not be JSON); the raw
///   bytes are in [`delivery`](Self::delivery);
/// - your own `serde` type or [`Value`](meetingbaas_webhooks::Value): 400 for a body that is not
///   JSON or not an envelope, 422 for an envelope that does not fit it.
///
/// On a route without the layer it answers `500` with the code `webhook_layer_missing` and a
/// message saying what to add (logged once at error level): a deployment bug, never a
/// delivery's fault. To verify in the extractor itself, without a layer, take
/// [`StandaloneWebhook`].
///
/// ```
/// use axum::{Router, routing::{get, on}};
/// use meetingbaas_webhooks_tower::{Verifier, VerifyWebhookLayer, Webhook};
///
/// async fn receive(Webhook { event, delivery }: Webhook) -> String {
///     format!("{} verified by {}", event.name(), delivery.scheme())
/// }
///
/// # fn main() -> Result<(), meetingbaas_webhooks_tower::ConfigError> {
/// let verifier = Verifier::builder().signature_secret("s3cret").build()?;
/// // The webhook route in a router of its own, so that the layer protects it alone...
/// let webhooks = Router::new()
///     .route("/webhooks/meetingbaas", on(meetingbaas_webhooks_tower::delivery_methods(), receive))
///     .route_layer(VerifyWebhookLayer::new(verifier));
/// // ...merged into the app beside routes that are not verified.
/// let app: Router = Router::new()
///     .route("/health", get(|| async { "ok" }))
///     .merge(webhooks);
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
///
/// axum's own `Extension<VerifiedDelivery>` works behind the layer too, and `Extension<Event>`
/// only with `parse_events(true)` (or `only`): without it there is no `Event` in the
/// extensions and axum answers `500 Missing request extension`. `Webhook` parses when the layer
/// did not, so it has no such case.
#[derive(Clone, Debug)]
pub struct Webhook<T = Event> {
    /// The verified delivery: raw body, scheme, message id, idempotency key.
    pub delivery: VerifiedDelivery,
    /// The body read as `T`.
    pub event: T,
}

impl<T> Webhook<T> {
    /// The verified delivery and the parsed body.
    pub fn into_parts(self) -> (VerifiedDelivery, T) {
        (self.delivery, self.event)
    }

    /// What the layer left in `parts`, read as `T`; `None` without the layer.
    fn from_layer(parts: &mut Parts) -> Option<Result<Self, WebhookRejection>>
    where
        T: DeserializeOwned + 'static,
    {
        let delivery = parts.extensions.get::<VerifiedDelivery>()?.clone();
        let mut event = parts.extensions.remove::<Event>();
        Some(match parse_into::<T>(&delivery, &mut event) {
            Ok(event) => Ok(Webhook { delivery, event }),
            Err(error) => Err(error.into()),
        })
    }
}

impl<S, T> FromRequestParts<S> for Webhook<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send + 'static,
{
    type Rejection = WebhookRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Webhook::from_layer(parts).unwrap_or_else(|| Err(WebhookRejection::layer_missing()))
    }
}

/// Verifies the request itself with the [`Verifier`] from the router state, for a handler
/// protected without [`VerifyWebhookLayer`](crate::VerifyWebhookLayer); behind the layer it
/// takes what the layer verified, exactly as [`Webhook`] does.
///
/// The body is read under the verifier's limit exactly as the layer reads it (413 on a
/// `Content-Length` over it before reading anything, or the moment a chunked body passes it),
/// then verified (401) and read as `T` by the same rule as [`Webhook`] (400, 422). It consumes
/// the body, so it must be the handler's last argument. Without the layer nobody sees the
/// handler's answer: deduplication ([`VerifyWebhookLayer::dedupe`]) needs the layer.
///
/// The router state must give a [`Verifier`]: either the verifier itself
/// (`.with_state(verifier)`), or an app state of yours with `impl FromRef<AppState> for
/// Verifier` (axum's `#[derive(FromRef)]` with its `macros` feature writes it). Without it the
/// handler does not compile, with axum's opaque "the trait bound `fn(..) {handler}: Handler<_,
/// _>` is not satisfied" error: that is the missing `FromRef`.
///
/// ```
/// use axum::extract::{FromRef, State};
/// use axum::{Router, routing::on};
/// use meetingbaas_webhooks_tower::{StandaloneWebhook, Verifier};
///
/// #[derive(Clone)]
/// struct AppState {
///     verifier: Verifier,
///     greeting: &'static str,
/// }
///
/// // What `StandaloneWebhook` needs from your state.
/// impl FromRef<AppState> for Verifier {
///     fn from_ref(state: &AppState) -> Verifier {
///         state.verifier.clone()
///     }
/// }
///
/// async fn receive(
///     State(state): State<AppState>,
///     StandaloneWebhook(webhook): StandaloneWebhook,
/// ) -> String {
///     format!("{} {}", state.greeting, webhook.event.name())
/// }
///
/// # fn main() -> Result<(), meetingbaas_webhooks_tower::ConfigError> {
/// let verifier = Verifier::builder().signature_secret("s3cret").build()?;
/// let app: Router = Router::new()
///     .route("/webhooks/meetingbaas", on(meetingbaas_webhooks_tower::delivery_methods(), receive))
///     .with_state(AppState { verifier, greeting: "got" });
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
///
/// [`VerifyWebhookLayer::dedupe`]: crate::VerifyWebhookLayer::dedupe
#[derive(Clone, Debug)]
pub struct StandaloneWebhook<T = Event>(pub Webhook<T>);

impl<T> StandaloneWebhook<T> {
    /// The [`Webhook`] inside.
    pub fn into_inner(self) -> Webhook<T> {
        self.0
    }
}

impl<T> std::ops::Deref for StandaloneWebhook<T> {
    type Target = Webhook<T>;

    fn deref(&self) -> &Webhook<T> {
        &self.0
    }
}

impl<S, T> FromRequest<S> for StandaloneWebhook<T>
where
    S: Send + Sync,
    Verifier: FromRef<S>,
    T: DeserializeOwned + Send + 'static,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        if let Some(admitted) = Webhook::from_layer(&mut parts) {
            // Admitted by the layer already: not verified again.
            return admitted.map(StandaloneWebhook);
        }
        let pipeline = Pipeline::new(Verifier::from_ref(state));
        let received = crate::collect::read(&pipeline, &parts.headers, body).await?;
        let ticket = pipeline.admit::<T, _>(&parts.headers, received).await?;
        let (delivery, _, event, completion) = ticket.into_parts();
        // Without the layer nobody sees the handler's answer.
        completion.detach();
        Ok(StandaloneWebhook(Webhook { delivery, event }))
    }
}

/// Why [`Webhook`] or [`StandaloneWebhook`] refused a request: answers with the contract's
/// status and JSON body (`{"error": ..., "message": ...}`), the core [`Error`] in the response
/// extensions; or, for [`Webhook`] on a route without the layer, `500`
/// `webhook_layer_missing`.
#[derive(Clone, Debug)]
pub struct WebhookRejection {
    answer: Option<Answer>,
}

impl WebhookRejection {
    /// The rejection of a route without the layer; logs it at error level the first time.
    fn layer_missing() -> Self {
        static LOGGED: AtomicBool = AtomicBool::new(false);
        if !LOGGED.swap(true, Ordering::Relaxed) {
            tracing::error!("meetingbaas-webhooks-tower: {LAYER_MISSING_MESSAGE}");
        }
        WebhookRejection { answer: None }
    }

    /// The status of the answer: 401, 413, 400 or 422, as the core decides; 500 when the
    /// layer is missing.
    pub fn status(&self) -> StatusCode {
        match &self.answer {
            Some(answer) => {
                StatusCode::from_u16(answer.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            None => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body of the answer: `{"error": "<code>", "message": "<one sentence>"}`.
    pub fn body_text(&self) -> String {
        match &self.answer {
            Some(answer) => String::from_utf8_lossy(answer.body()).into_owned(),
            // A fixed ASCII sentence with no `"` or `\`: no escaping needed.
            None => {
                format!(r#"{{"error":"{LAYER_MISSING_CODE}","message":"{LAYER_MISSING_MESSAGE}"}}"#)
            }
        }
    }

    /// The underlying error: every refusal of a delivery has one; `None` when the layer is
    /// missing (a deployment bug, not the delivery's fault).
    pub fn error(&self) -> Option<&Error> {
        self.answer.as_ref().and_then(Answer::error)
    }

    /// Whether this is [`Webhook`] on a route without [`VerifyWebhookLayer`](crate::VerifyWebhookLayer).
    pub fn is_layer_missing(&self) -> bool {
        self.answer.is_none()
    }

    /// The pipeline's answer; `None` when the layer is missing.
    pub fn into_answer(self) -> Option<Answer> {
        self.answer
    }
}

impl From<Answer> for WebhookRejection {
    fn from(answer: Answer) -> Self {
        WebhookRejection {
            answer: Some(answer),
        }
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
        match self.answer {
            Some(answer) => response(answer).map(Body::new),
            None => {
                let body = WebhookRejection { answer: None }.body_text();
                let mut response = Response::new(Body::from(body));
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                response
            }
        }
    }
}

impl fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.answer {
            Some(answer) => match answer.error() {
                Some(error) => fmt::Display::fmt(error, f),
                None => f.write_str(answer.outcome().label()),
            },
            None => f.write_str(LAYER_MISSING_MESSAGE),
        }
    }
}

impl std::error::Error for WebhookRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error()
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
        let signer = Signer::signature(SECRET).unwrap();
        crate::testing::signed_post(
            "/hook",
            &crate::testing::TestDelivery::signed(&signer, body),
        )
    }

    /// Answers "<wire name> <bot id>".
    async fn event_handler(Webhook { event, .. }: Webhook) -> String {
        format!("{} {}", event.name(), event.bot_id().unwrap_or("-"))
    }

    async fn text(response: axum::response::Response) -> String {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// Answers "<wire name> <bot id>", verifying with the state's verifier.
    async fn standalone_handler(StandaloneWebhook(webhook): StandaloneWebhook) -> String {
        event_handler(webhook).await
    }

    fn standalone() -> Router {
        Router::new()
            .route("/hook", post(standalone_handler))
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
        async fn handler(StandaloneWebhook(webhook): StandaloneWebhook<Value>) -> String {
            webhook.event["data"]["bot_id"]
                .as_str()
                .unwrap_or("-")
                .to_owned()
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
        async fn handler(StandaloneWebhook(webhook): StandaloneWebhook<Mine>) -> String {
            webhook.event.data.bot_id
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
    async fn standalone_behind_the_layer_uses_its_delivery_without_verifying_again() {
        // The state's verifier has another secret: verifying again would answer 401.
        let app = Router::new()
            .route("/hook", post(standalone_handler))
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
            .route_layer(VerifyWebhookLayer::new(verifier(SECRET)).only([EventKind::BotCompleted]));

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
