//! Receive verified Meeting BaaS webhooks with warp.
//!
//! ```text
//! MEETINGBAAS_SVIX_SECRET=whsec_... cargo run -p meetingbaas-example-warp
//! ```
//!
//! Set the secret of each scheme you use: `MEETINGBAAS_SVIX_SECRET` (v2 webhooks),
//! `MEETINGBAAS_WEBHOOK_SECRET` (`X-MeetingBaas-Signature`), `MEETINGBAAS_CALLBACK_SECRET`
//! (v2 bot callbacks), `MEETINGBAAS_API_KEY` (v1). `MEETINGBAAS_MAX_BODY_BYTES` changes the
//! body limit, `PORT` the port (default 3000), `RUST_LOG` the log level.
//! `MEETINGBAAS_INBOX=sqlite://inbox.db` (or `redis://HOST:PORT`) stores each delivery and
//! answers at once; a worker in the process runs the handlers.
//! `MEETINGBAAS_DEDUPE=memory` (one process) or `MEETINGBAAS_DEDUPE=redis://HOST:PORT` (replicas
//! sharing one Redis) runs the handler once per delivery, however often it is retried.

use std::io::Write;

use meetingbaas_webhooks::EventKind;
use meetingbaas_webhooks::idempotency::Deduplicator;
use meetingbaas_webhooks::{Event, VerifiedDelivery, Verifier};
use meetingbaas_webhooks_inbox::{HandlerError, Inbox, Job, WorkerBuilder};
use meetingbaas_webhooks_warp::Webhooks;
use serde_json::json;
use tracing_subscriber::EnvFilter;
use warp::Filter;

#[tokio::main]
async fn main() {
    // Logs go to stderr. Rejected deliveries are logged at debug level (RUST_LOG=debug).
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // warp logs every malformed request at error level: silence it, so that anyone on the
    // network cannot flood the error log.
    if let Ok(quiet) = "warp::server=off".parse() {
        filter = filter.add_directive(quiet);
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .init();

    // The secrets and the body limit, from the MEETINGBAAS_* environment variables.
    let verifier = Verifier::from_env().unwrap_or_else(|err| fail(err));

    // The webhook endpoint, built around the handler below.
    let mut webhooks = Webhooks::new(verifier);

    // Deduplication, from MEETINGBAAS_DEDUPE (unset: none). A Redis URL is connected now, so an
    // unreachable Redis stops the server here rather than at the first delivery.
    if let Some(dedupe) = Deduplicator::from_env()
        .await
        .unwrap_or_else(|err| fail(err))
    {
        webhooks = webhooks.dedupe(dedupe);
    }

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
    if let Some(inbox) = &inbox {
        // Stored and answered 202 by the filter; `receive` then never runs.
        webhooks = webhooks.inbox(inbox.intake());
    }

    // `handle` reads the body under the limit, verifies and parses it, (with deduplication)
    // claims it, runs `receive` and finishes the claim with its answer. `recover` answers the
    // rejections (401, 413, 400, 422, 409, 503) and leaves the others (404, 405) to warp.
    let route = warp::post()
        .and(warp::path!("webhooks" / "meetingbaas"))
        .and(webhooks.handle(receive))
        .recover(meetingbaas_webhooks_warp::recover);

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

    warp::serve(route).incoming(listener).run().await;
}

/// Only verified, parsed deliveries get here; with deduplication, once per delivery.
async fn receive(delivery: VerifiedDelivery, event: Event) -> impl warp::Reply {
    tracing::info!(event = event.name(), scheme = %delivery.scheme(), "delivery received");
    // Handle the event here (`match event { Event::BotCompleted { data, .. } => ..., }`),
    // or queue it and answer at once: the sender waits at most 30 seconds.
    warp::reply::json(&json!({
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
