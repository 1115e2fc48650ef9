//! The axum pitfalls a newcomer meets, each pinned by a test: an app with its own state and
//! other routes, the extractor behind the layer without a verifier in the state, the layer that
//! only verifies, and a route that forgot the layer. Everything comes from this one crate.
#![cfg(feature = "axum")]

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, State};
use axum::response::Response;
use axum::routing::{get, post};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use meetingbaas_webhooks_tower::Pipeline;
use meetingbaas_webhooks_tower::testing::{TestDelivery, signed_post};
use meetingbaas_webhooks_tower::{
    Event, Signer, StandaloneWebhook, Verifier, VerifyWebhookLayer, Webhook,
};
use serde::de::IgnoredAny;
use tower::ServiceExt;

const SECRET: &str = "s3cret";
const FAILED: &str = r#"{"event":"bot.failed","data":{"bot_id":"b-1"}}"#;

fn verifier() -> Verifier {
    Verifier::builder()
        .signature_secret(SECRET)
        .build()
        .unwrap()
}

fn signed(uri: &str, body: &'static str) -> Request<Body> {
    signed_post(
        uri,
        &TestDelivery::signed(&Signer::signature(SECRET).unwrap(), body),
    )
}

fn forged(uri: &str, body: &'static str) -> Request<Body> {
    Request::post(uri)
        .header("x-meetingbaas-signature", "00".repeat(32))
        .body(Body::from(body))
        .unwrap()
}

async fn text(response: Response) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// An application's own state: a database pool, a client... (here a greeting).
#[derive(Clone)]
struct AppState {
    greeting: &'static str,
}

async fn health(State(state): State<AppState>) -> &'static str {
    state.greeting
}

async fn receive(State(state): State<AppState>, Webhook { event, .. }: Webhook) -> String {
    format!(
        "{} {} {}",
        state.greeting,
        event.name(),
        event.bot_id().unwrap_or("-")
    )
}

/// The layout the README shows: the webhook route in a router of its own with the layer as a
/// `route_layer`, merged into an app that has other routes and a state without a verifier.
fn app() -> Router {
    let webhooks = Router::new()
        .route("/webhooks/meetingbaas", post(receive))
        .route_layer(VerifyWebhookLayer::new(verifier()));
    Router::new()
        .route("/health", get(health))
        .merge(webhooks)
        .with_state(AppState { greeting: "hello" })
}

#[tokio::test]
async fn other_routes_of_the_app_are_not_verified() {
    let health = Request::get("/health").body(Body::empty()).unwrap();

    let response = app().oneshot(health).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(response).await, "hello");
}

#[tokio::test]
async fn the_webhook_route_of_the_app_verifies() {
    let response = app()
        .oneshot(forged("/webhooks/meetingbaas", FAILED))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let response = app()
        .oneshot(signed("/webhooks/meetingbaas", FAILED))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(response).await, "hello bot.failed b-1");
}

#[tokio::test]
async fn a_nested_webhook_router_keeps_the_rest_of_the_app_open() {
    let webhooks = Router::new()
        .route("/meetingbaas", post(receive))
        .route_layer(VerifyWebhookLayer::new(verifier()));
    let app = Router::new()
        .route("/health", get(health))
        .nest("/webhooks", webhooks)
        .with_state(AppState { greeting: "hello" });

    let health = Request::get("/health").body(Body::empty()).unwrap();
    assert_eq!(app.clone().oneshot(health).await.unwrap().status(), 200);
    let forged = forged("/webhooks/meetingbaas", FAILED);
    assert_eq!(app.clone().oneshot(forged).await.unwrap().status(), 401);
    let signed = signed("/webhooks/meetingbaas", FAILED);
    assert_eq!(app.oneshot(signed).await.unwrap().status(), 200);
}

#[tokio::test]
async fn route_layer_after_other_routes_protects_them_too() {
    // The pitfall the layout above avoids: `route_layer` applies to every route added before it.
    let app: Router = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/webhooks/meetingbaas", post(|| async { "ok" }))
        .route_layer(VerifyWebhookLayer::new(verifier()));

    let health = Request::get("/health").body(Body::empty()).unwrap();

    assert_eq!(app.oneshot(health).await.unwrap().status(), 401);
}

#[tokio::test]
async fn webhook_parses_when_the_layer_only_verified() {
    // No `parse_events(true)`: no `Event` in the extensions, and `Webhook` parses it itself.
    let response = app()
        .oneshot(signed("/webhooks/meetingbaas", FAILED))
        .await
        .unwrap();

    assert_eq!(text(response).await, "hello bot.failed b-1");
}

#[tokio::test]
async fn webhook_takes_the_event_the_layer_parsed() {
    async fn handler(Webhook { event, .. }: Webhook) -> String {
        event.name().to_owned()
    }
    let app: Router =
        Router::new()
            .route("/hook", post(handler))
            .route_layer(VerifyWebhookLayer::new(
                Pipeline::new(verifier()).parse_events(true),
            ));

    let response = app.oneshot(signed("/hook", FAILED)).await.unwrap();

    assert_eq!(text(response).await, "bot.failed");
}

#[tokio::test]
async fn ignored_any_is_the_verify_only_form() {
    async fn handler(webhook: Webhook<IgnoredAny>) -> String {
        format!("{} bytes", webhook.delivery.body().len())
    }
    let app: Router = Router::new()
        .route("/hook", post(handler))
        .route_layer(VerifyWebhookLayer::new(verifier()));

    // Verified, not even JSON: accepted, nothing parsed.
    let response = app.oneshot(signed("/hook", "not json")).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(response).await, "8 bytes");
}

#[tokio::test]
async fn webhook_without_the_layer_is_a_clearly_worded_500() {
    async fn handler(Webhook { event, .. }: Webhook) -> String {
        event.name().to_owned()
    }
    let app: Router = Router::new().route("/hook", post(handler));

    let response = app.oneshot(signed("/hook", FAILED)).await.unwrap();

    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = text(response).await;
    assert!(
        body.starts_with(r#"{"error":"webhook_layer_missing""#),
        "{body}"
    );
    assert!(
        body.contains("route_layer(VerifyWebhookLayer::new(pipeline))"),
        "{body}"
    );
}

#[tokio::test]
async fn extension_event_needs_parse_events() {
    // Documented: axum's `Extension<Event>` finds nothing when the layer only verifies.
    async fn handler(axum::Extension(event): axum::Extension<Event>) -> String {
        event.name().to_owned()
    }
    let only_verifies: Router = Router::new()
        .route("/hook", post(handler))
        .route_layer(VerifyWebhookLayer::new(verifier()));
    let parses: Router =
        Router::new()
            .route("/hook", post(handler))
            .route_layer(VerifyWebhookLayer::new(
                Pipeline::new(verifier()).parse_events(true),
            ));

    let response = only_verifies
        .oneshot(signed("/hook", FAILED))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let response = parses.oneshot(signed("/hook", FAILED)).await.unwrap();
    assert_eq!(text(response).await, "bot.failed");
}

/// An app state that gives `StandaloneWebhook` its pipeline.
#[derive(Clone)]
struct VerifyingState {
    webhooks: Pipeline,
    greeting: &'static str,
}

impl FromRef<VerifyingState> for Pipeline {
    fn from_ref(state: &VerifyingState) -> Pipeline {
        state.webhooks.clone()
    }
}

#[tokio::test]
async fn standalone_webhook_verifies_with_the_pipeline_of_an_app_state() {
    async fn handler(
        State(state): State<VerifyingState>,
        StandaloneWebhook(webhook): StandaloneWebhook,
    ) -> String {
        format!("{} {}", state.greeting, webhook.event.name())
    }
    let app = Router::new()
        .route("/hook", post(handler))
        .route("/health", get(|| async { "ok" }))
        .with_state(VerifyingState {
            webhooks: Pipeline::new(verifier()),
            greeting: "hi",
        });

    let response = app.clone().oneshot(signed("/hook", FAILED)).await.unwrap();
    assert_eq!(text(response).await, "hi bot.failed");
    let response = app.clone().oneshot(forged("/hook", FAILED)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let health = Request::get("/health").body(Body::empty()).unwrap();
    assert_eq!(app.oneshot(health).await.unwrap().status(), StatusCode::OK);
}
