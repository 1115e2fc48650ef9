//! Receive verified Meeting BaaS webhooks with axum.
//!
//! ```text
//! MEETINGBAAS_SVIX_SECRET=whsec_... cargo run -p meetingbaas-example-axum
//! ```
//!
//! Everything but the framework is one call, `Setup::from_env` (crate
//! `meetingbaas-webhooks-server`): the secrets of each scheme (`MEETINGBAAS_SVIX_SECRET`,
//! `MEETINGBAAS_WEBHOOK_SECRET`, `MEETINGBAAS_CALLBACK_SECRET`, `MEETINGBAAS_API_KEY`,
//! `MEETINGBAAS_ALERT_SECRET`), the endpoint JSON (`MEETINGBAAS_CONFIG`), the body limit,
//! deduplication (`MEETINGBAAS_DEDUPE`), the durable inbox and its worker (`MEETINGBAAS_INBOX`),
//! the inbox's admin page under `/admin` (`MEETINGBAAS_ADMIN_TOKEN`), metrics (`MEETINGBAAS_METRICS`), HTTPS (`MEETINGBAAS_TLS_CERT`, `MEETINGBAAS_TLS_KEY`), the
//! port (`PORT`), logs (`RUST_LOG`), and the stop: on SIGTERM or Ctrl-C `/ready` fails at once,
//! deliveries are still answered for the drain period (`MEETINGBAAS_DRAIN_SECONDS`, default 5),
//! then requests in flight and running handlers finish and the process exits 0.

use axum::Router;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, on};
use meetingbaas_example_handlers::{Handled, worker};
use meetingbaas_webhooks_server::{ADMIN_PATH, Setup};
use meetingbaas_webhooks_tower::{VerifyWebhookLayer, Webhook, delivery_methods};

#[tokio::main]
async fn main() {
    let webhooks = Setup::new()
        .worker(worker)
        .from_env()
        .await
        .unwrap_or_else(|err| err.exit());
    let ready = webhooks.readiness();
    // The webhook route in a router of its own, so that the layer protects it alone; POST and
    // PUT (a bot's callback may come with either; other methods are answered 405). The layer
    // reads, verifies and (with an inbox) stores; `receive` gets only verified deliveries.
    let webhooks_router = Router::new()
        .route(webhooks.route(), on(delivery_methods(), receive))
        .route_layer(VerifyWebhookLayer::new(webhooks.pipeline()));
    let mut app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(move || async move { ready.answer().await }))
        .merge(webhooks_router);
    // MEETINGBAAS_ADMIN_TOKEN (with an inbox): the inbox's admin page, behind that token.
    if let Some(admin) = webhooks.admin() {
        app = app.nest_service(ADMIN_PATH, admin);
    }
    webhooks.serve(app).await;
}

/// Only verified, parsed deliveries get here: the layer answers everything else itself
/// (401 bad credentials, 413 too large, 408 too slow, 400 not a webhook, 503 overloaded).
async fn receive(Webhook { event, .. }: Webhook) -> Response {
    // Handle the event here (`match event { Event::BotCompleted { data, .. } => ..., }`),
    // or set MEETINGBAAS_INBOX and let the worker's handlers run it: the sender waits 30 s.
    Json(Handled::new(&event)).into_response()
}
