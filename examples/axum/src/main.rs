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
//! retried deliveries, `PORT` sets the port (default 3000), `RUST_LOG` the log level.

use std::io::{IsTerminal, Write};

use axum::routing::post;
use axum::{Json, Router};
use meetingbaas_webhooks::Verifier;
use meetingbaas_webhooks::idempotency::Deduplicator;
use meetingbaas_webhooks_tower::{VerifyWebhookLayer, Webhook};
use serde_json::{Value, json};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    // Logs go to stderr. Rejected deliveries are logged at debug level (RUST_LOG=debug).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();

    // The secrets and the body limit, from the MEETINGBAAS_* environment variables.
    let verifier = Verifier::from_env().unwrap_or_else(|err| fail(err));

    // Retried deliveries handled once: MEETINGBAAS_DEDUPE=memory, or redis://HOST:PORT when
    // several replicas run behind a load balancer. Deduplication needs to see the handler's
    // answer, so it lives in the layer; `Webhook` then takes what the layer verified.
    let dedupe = Deduplicator::from_env()
        .await
        .unwrap_or_else(|err| fail(err));

    // The verifier is the router state: the `Webhook` extractor takes it from there and
    // verifies by itself. (Without deduplication the layer is optional.)
    let mut app = Router::new().route("/webhooks/meetingbaas", post(receive));
    if let Some(dedupe) = dedupe {
        app = app.route_layer(VerifyWebhookLayer::new(verifier.clone()).dedupe(dedupe));
    }
    let app = app.with_state(verifier);

    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .unwrap_or_else(|_| fail("PORT is not a port number")),
        Err(_) => 3000,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|err| fail(err));
    let addr = listener.local_addr().unwrap_or_else(|err| fail(err));
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();

    if let Err(err) = axum::serve(listener, app).await {
        fail(err);
    }
}

/// Only verified, parsed deliveries get here: `Webhook` answers everything else itself
/// (401 bad credentials, 413 too large, 400 not a webhook, 422 bad event data).
async fn receive(Webhook { event, delivery }: Webhook) -> Json<Value> {
    tracing::info!(event = event.name(), scheme = %delivery.scheme(), "delivery received");
    // Handle the event here (`match event { Event::BotCompleted { data, .. } => ..., }`),
    // or queue it and answer at once: the sender waits at most 30 seconds.
    Json(json!({
        "status": "success",
        "event": event.name(),
        "kind": event.kind(),
        "bot_id": event.bot_id(),
    }))
}

/// Prints one `error: ...` line and exits with status 2.
fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}
