//! Receive verified Meeting BaaS webhooks with axum.
//!
//! ```text
//! MEETINGBAAS_SVIX_SECRET=whsec_... cargo run -p meetingbaas-example-axum
//! ```
//!
//! Set the secret of each scheme you use: `MEETINGBAAS_SVIX_SECRET` (v2 webhooks),
//! `MEETINGBAAS_WEBHOOK_SECRET` (`X-MeetingBaas-Signature`), `MEETINGBAAS_CALLBACK_SECRET`
//! (v2 bot callbacks), `MEETINGBAAS_API_KEY` (v1), `MEETINGBAAS_ALERT_SECRET` (alert callbacks). `MEETINGBAAS_MAX_BODY_BYTES` changes the
//! body limit, `MEETINGBAAS_DEDUPE` (`memory` or `redis://HOST:PORT`) turns on deduplication of
//! retried deliveries, `MEETINGBAAS_METRICS=HOST:PORT` serves Prometheus metrics there, `PORT`
//! sets the port (default 3000), `RUST_LOG` the log level and `RUST_LOG_FORMAT=json` JSON logs.
//! `MEETINGBAAS_INBOX` (`sqlite://inbox.db` or `redis://HOST:PORT`) stores deliveries and runs
//! the handlers in a worker.
//!
//! `MEETINGBAAS_CONFIG=endpoint.json` reads the endpoint JSON of the product description
//! (`webhook_url`'s path is the route, `events` the events handled, `secret`, `enabled`); the
//! variables above override it. `MEETINGBAAS_TLS_CERT=cert.pem MEETINGBAAS_TLS_KEY=key.pem`
//! serves HTTPS instead of HTTP, with the same deadlines and limits.

use axum::response::{IntoResponse, Response};
use axum::routing::{get, on};
use axum::{Json, Router};
use meetingbaas_example_server as server;
use meetingbaas_webhooks_inbox::Inbox;
use meetingbaas_webhooks_tower::Deduplicator;
use meetingbaas_webhooks_tower::EndpointConfig;
use meetingbaas_webhooks_tower::{VerifyWebhookLayer, Webhook, delivery_methods};

#[tokio::main]
async fn main() {
    // Logs to stderr (RUST_LOG, RUST_LOG_FORMAT=json); Prometheus metrics on a listener of
    // their own when MEETINGBAAS_METRICS=HOST:PORT. Rejections are logged at debug level.
    server::init(&[]);

    // The secrets, the body limit, the events handled, the route and whether the endpoint is
    // enabled: from the file named by MEETINGBAAS_CONFIG, if any, and the MEETINGBAAS_* variables.
    let config = EndpointConfig::from_env().unwrap_or_else(|err| server::fail(err));

    // The layer reads the body under the limit and the deadline, verifies it, parses the event
    // and records the outcome; `Webhook` then takes what the layer verified. Retried deliveries
    // handled once: MEETINGBAAS_DEDUPE=memory, or redis://HOST:PORT when several replicas run
    // behind a load balancer.
    // Events not configured are answered `{"status":"ignored"}`.
    let mut pipeline = config
        .pipeline()
        .parse_events(true)
        .max_in_flight(server::MAX_IN_FLIGHT)
        .record_metrics(server::metrics_enabled());
    if let Some(dedupe) = Deduplicator::from_env()
        .await
        .unwrap_or_else(|err| server::fail(err))
    {
        pipeline = pipeline.dedupe(dedupe);
    }

    // MEETINGBAAS_INBOX=sqlite://inbox.db or redis://HOST:PORT: each verified delivery is
    // stored and answered 202 at once; a worker in this process runs the handlers below.
    let inbox = Inbox::from_env()
        .await
        .unwrap_or_else(|err| server::fail(err));
    if let Some(inbox) = &inbox {
        let worker = server::inbox_handlers(inbox.worker()).build();
        tokio::spawn(async move {
            // SIGTERM / Ctrl-C: stop claiming, let running handlers finish, then exit.
            worker
                .run(meetingbaas_webhooks_inbox::shutdown_signal())
                .await;
            std::process::exit(0);
        });
    }
    if let Some(inbox) = &inbox {
        // The layer stores and answers 202; `receive` then never runs.
        pipeline = pipeline.inbox(inbox.intake());
    }
    // POST and PUT (a bot's callback may be sent with either; others are answered 405).
    // The webhook route in a router of its own, so that the layer protects it alone, merged
    // into the app beside its other routes (`GET /health` is not verified). `Webhook` needs
    // nothing from the router state behind the layer.
    let webhooks = Router::new()
        .route(config.route(), on(delivery_methods(), receive))
        .route_layer(VerifyWebhookLayer::new(pipeline));
    let app = Router::new().route("/health", get(health)).merge(webhooks);

    // 127.0.0.1:PORT with the deadlines and the connection cap; HTTPS when
    // MEETINGBAAS_TLS_CERT and MEETINGBAAS_TLS_KEY are set.
    server::serve(app).await
}

/// Only verified, parsed deliveries get here: the layer answers everything else itself
/// (401 bad credentials, 413 too large, 408 too slow, 400 not a webhook, 503 overloaded).
async fn receive(Webhook { event, .. }: Webhook) -> Response {
    // Handle the event here (`match event { Event::BotCompleted { data, .. } => ..., }`),
    // or queue it and answer at once: the sender waits at most 30 seconds.
    Json(server::Handled::new(&event)).into_response()
}

/// The app's other routes are not webhooks: the layer is not in front of them.
async fn health() -> &'static str {
    "ok"
}
