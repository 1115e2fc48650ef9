//! The axum extractors: [`Webhook<T>`] behind the layer, [`StandaloneWebhook<T>`] on its own.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;
use meetingbaas_webhooks::{Event, ParseError, VerifiedDelivery, VerifyError};
use meetingbaas_webhooks_receiver::{Answer, Error, Misconfigured, Pipeline, parse_into};
use serde::de::DeserializeOwned;

use crate::answer::response;

/// [`Webhook`] on a route without the layer (answered 500, logged once).
const LAYER_MISSING: Misconfigured = Misconfigured::new(
    "webhook_layer_missing",
    "the Webhook extractor runs behind VerifyWebhookLayer, which this route does not have: add \
     `.route_layer(VerifyWebhookLayer::new(pipeline))` to the webhook router, or take \
     `StandaloneWebhook` with a Pipeline in the router state",
);
static LAYER_MISSING_LOGGED: AtomicBool = AtomicBool::new(false);

/// [`StandaloneWebhook`] with a deduplicating pipeline (answered 500, logged once).
const STANDALONE_DEDUPE: Misconfigured = Misconfigured::new(
    "webhook_layer_missing",
    "StandaloneWebhook cannot deduplicate: nobody sees the handler's answer to complete the \
     claim. Put the deduplicating pipeline in VerifyWebhookLayer on the route and take Webhook",
);
static STANDALONE_LOGGED: AtomicBool = AtomicBool::new(false);

/// Extracts what [`VerifyWebhookLayer`](crate::VerifyWebhookLayer) verified: the
/// [`VerifiedDelivery`] and its body read as `T` ([`Event`] by default).
///
/// It needs nothing from the router state: put the layer on the webhook route with
/// `route_layer` and take `Webhook` in the handler, in any argument position (it does not
/// consume the body). `T` is read by the pipeline's one rule
/// ([`parse_into`]):
///
/// - [`Event`] (the default): the event the layer parsed with
///   [`parse_events(true)`](crate::Pipeline::parse_events) or
///   [`only`](crate::Pipeline::only) (taken out of the extensions, not cloned), or
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
        Webhook::from_layer(parts).unwrap_or_else(|| {
            Err(WebhookRejection::misconfigured(
                &LAYER_MISSING,
                &LAYER_MISSING_LOGGED,
            ))
        })
    }
}

/// Verifies the request itself with the [`Pipeline`] from the router state, for a handler
/// protected without [`VerifyWebhookLayer`](crate::VerifyWebhookLayer); behind the layer it
/// takes what the layer verified, exactly as [`Webhook`] does.
///
/// The body is read as the layer reads it (413 on a `Content-Length` over the limit before
/// reading anything, or the moment a chunked body passes it; 408 past the body deadline; 503
/// past the pipeline's memory budget, which every request of the router shares), then verified
/// (401), filtered by kind (200 `ignored`) and read as `T` by the same rule as [`Webhook`] (400,
/// 422). It consumes the body, so it must be the handler's last argument. Without the layer
/// nobody sees the handler's answer: a pipeline with deduplication or an inbox needs the layer.
///
/// The router state must give a [`Pipeline`]: either the pipeline itself
/// (`.with_state(pipeline)`), or an app state of yours with `impl FromRef<AppState> for
/// Pipeline` (axum's `#[derive(FromRef)]` with its `macros` feature writes it). The pipeline is
/// built once and shared, so its memory budget bounds every request. Without it the handler
/// does not compile, with axum's opaque "the trait bound `fn(..) {handler}: Handler<_, _>` is
/// not satisfied" error: that is the missing `FromRef`.
///
/// ```
/// use axum::extract::{FromRef, State};
/// use axum::{Router, routing::on};
/// use meetingbaas_webhooks_tower::{Pipeline, StandaloneWebhook, Verifier, delivery_methods};
///
/// #[derive(Clone)]
/// struct AppState {
///     webhooks: Pipeline,
///     greeting: &'static str,
/// }
///
/// // What `StandaloneWebhook` needs from your state.
/// impl FromRef<AppState> for Pipeline {
///     fn from_ref(state: &AppState) -> Pipeline {
///         state.webhooks.clone()
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
/// let webhooks = Pipeline::new(Verifier::builder().signature_secret("s3cret").build()?);
/// let app: Router = Router::new()
///     .route("/webhooks/meetingbaas", on(delivery_methods(), receive))
///     .with_state(AppState { webhooks, greeting: "got" });
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
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
    Pipeline: FromRef<S>,
    T: DeserializeOwned + Send + 'static,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        if let Some(admitted) = Webhook::from_layer(&mut parts) {
            // Admitted by the layer already: not verified again.
            return admitted.map(StandaloneWebhook);
        }
        let pipeline = Pipeline::from_ref(state);
        if pipeline.deduplicator().is_some() {
            // Nobody would finish its claims: every retry would be held off as in progress.
            return Err(WebhookRejection::misconfigured(
                &STANDALONE_DEDUPE,
                &STANDALONE_LOGGED,
            ));
        }
        let received = crate::collect::read(&pipeline, &parts, body).await?;
        let ticket = pipeline
            .admit::<T, _>(&parts.headers, received)
            .await
            .into_result()?;
        let (delivery, _, event, completion) = ticket.into_parts();
        // Without the layer nobody sees the handler's answer.
        completion.detach();
        Ok(StandaloneWebhook(Webhook { delivery, event }))
    }
}

/// Why [`Webhook`] or [`StandaloneWebhook`] did not hand a delivery to the handler: the
/// pipeline's [`Answer`] (a refusal, or a delivery answered without the handler: queued,
/// duplicate, ignored), answered with its status, headers and JSON body, the [`Outcome`] (and
/// the [`Error`] of a refusal) in the response extensions.
///
/// A deployment mistake ([`Webhook`] on a route without the layer) is a 500 answer with the
/// code `webhook_layer_missing` and a message saying what to add, logged once at error level.
///
/// [`Outcome`]: meetingbaas_webhooks_receiver::Outcome
#[derive(Clone, Debug)]
pub struct WebhookRejection {
    answer: Answer,
}

impl WebhookRejection {
    /// A deployment mistake: 500 with `mistake`'s code and message, logged at error level the
    /// first time (`logged` remembers it).
    fn misconfigured(mistake: &Misconfigured, logged: &AtomicBool) -> Self {
        if !logged.swap(true, Ordering::Relaxed) {
            tracing::error!("meetingbaas-webhooks-tower: {}", mistake.message());
        }
        Answer::rejected(Error::from(mistake.clone())).into()
    }

    /// The status of the answer, as the pipeline decided.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.answer.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The body of the answer: `{"error": "<code>", "message": "<one sentence>"}` for a
    /// refusal, the pipeline's own for the others.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(self.answer.body()).into_owned()
    }

    /// The error, for a refusal (a deployment mistake is [`Error::Misconfigured`]).
    pub fn error(&self) -> Option<&Error> {
        self.answer.error()
    }

    /// Whether this is [`Webhook`] on a route without [`VerifyWebhookLayer`](crate::VerifyWebhookLayer).
    pub fn is_layer_missing(&self) -> bool {
        matches!(self.error(), Some(Error::Misconfigured(m)) if m.code() == LAYER_MISSING.code())
    }

    /// The pipeline's answer.
    pub fn answer(&self) -> &Answer {
        &self.answer
    }

    /// Takes the pipeline's answer.
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
            .with_state(Pipeline::new(verifier(SECRET)))
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
        // A signature only the body can refute: the body is read (headers without credentials
        // would be refused 401 before it).
        let request = Request::post("/hook")
            .header("x-meetingbaas-signature", "00".repeat(32))
            .body(Body::new(body))
            .unwrap();

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
            .with_state(Pipeline::new(verifier(SECRET)));

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
                .with_state(Pipeline::new(verifier(SECRET)))
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
            .route_layer(VerifyWebhookLayer::new(
                Pipeline::new(verifier(SECRET)).parse_events(true),
            ))
            .with_state(Pipeline::new(verifier("another secret")));

        let response = app.oneshot(signed(FAILED)).await.unwrap();

        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(text(response).await, "bot.failed b-1");
    }

    #[tokio::test]
    async fn route_layer_answers_before_the_handler() {
        let app = Router::new()
            .route("/hook", post(event_handler))
            .route_layer(VerifyWebhookLayer::new(
                Pipeline::new(verifier(SECRET)).only([EventKind::BotCompleted]),
            ));

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
