//! Receive verified Meeting BaaS webhooks with axum.
//!
//! ```text
//! MEETINGBAAS_SVIX_SECRET=whsec_... cargo run -p meetingbaas-example-axum
//! ```
//!
//! Set the secret of each scheme you use: `MEETINGBAAS_SVIX_SECRET` (v2 webhooks),
//! `MEETINGBAAS_WEBHOOK_SECRET` (`X-MeetingBaas-Signature`), `MEETINGBAAS_CALLBACK_SECRET`
//! (v2 bot callbacks), `MEETINGBAAS_API_KEY` (v1). `MEETINGBAAS_MAX_BODY_BYTES` changes the
//! body limit, `MEETINGBAAS_DEDUPE` (`memory` or `redis://HOST:PORT`) turns on deduplication of
//! retried deliveries, `MEETINGBAAS_INBOX` (`sqlite://inbox.db` or `redis://HOST:PORT`) stores
//! deliveries and runs the handlers in a worker, `PORT` sets the port (default 3000), `RUST_LOG`
//! the log level.

use std::io::{IsTerminal, Write};

use axum::routing::post;
use axum::{Json, Router};
use meetingbaas_webhooks::EventKind;
use meetingbaas_webhooks::Verifier;
use meetingbaas_webhooks::idempotency::Deduplicator;
use meetingbaas_webhooks_inbox::{HandlerError, Inbox, Job, WorkerBuilder};
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

    // MEETINGBAAS_INBOX=sqlite://inbox.db or redis://HOST:PORT: each verified delivery is
    // stored and answered 202 at once; a worker in this process runs the handlers below.
    let inbox = Inbox::from_env().await.unwrap_or_else(|err| fail(err));
    if let Some(inbox) = &inbox {
        let worker = inbox_handlers(inbox.worker()).build();
        tokio::spawn(async move {
            // SIGTERM / Ctrl-C: stop claiming, let running handlers finish, then exit.
            worker
                .run(meetingbaas_webhooks_inbox::shutdown_signal())
                .await;
            std::process::exit(0);
        });
    }

    // The verifier is the router state: the `Webhook` extractor takes it from there and
    // verifies by itself. (Without deduplication the layer is optional.)
    let mut app = Router::new().route("/webhooks/meetingbaas", post(receive));
    if let Some(inbox) = &inbox {
        // The layer stores and answers; `receive` then never runs.
        app = app.route_layer(VerifyWebhookLayer::new(verifier.clone()).inbox(inbox.intake()));
    } else if let Some(dedupe) = dedupe {
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
        "bot_id": event.bot_id(),
    }))
}

// --- inbox (MEETINGBAAS_INBOX): the worker's handlers, one per kind, a fallback for the rest ---

/// The handlers the inbox's worker runs on stored deliveries, after the sender was answered:
/// they may take their time (30 s per attempt by default), an `Err` is retried with backoff and
/// then kept as a dead letter (`meetingbaas-webhooks inbox --store ... list --dead`).
fn inbox_handlers(worker: WorkerBuilder) -> WorkerBuilder {
    worker
        .on(EventKind::BotCompleted, bot_completed)
        .on(EventKind::BotFailed, bot_failed)
        .fallback(any_other_event)
}

async fn bot_completed(job: Job) -> Result<(), HandlerError> {
    // Stands in for slow work (fetching the recording, calling a CRM): nobody is waiting.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    tracing::info!(
        id = job.id(),
        bot_id = job.event().bot_id(),
        "bot completed"
    );
    Ok(())
}

async fn bot_failed(job: Job) -> Result<(), HandlerError> {
    tracing::info!(id = job.id(), bot_id = job.event().bot_id(), "bot failed");
    Ok(())
}

async fn any_other_event(job: Job) -> Result<(), HandlerError> {
    tracing::info!(
        id = job.id(),
        event = job.event().name(),
        "delivery handled"
    );
    Ok(())
}

/// Prints one `error: ...` line and exits with status 2.
fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}
