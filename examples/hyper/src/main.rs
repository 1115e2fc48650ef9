//! Receive verified Meeting BaaS webhooks with plain hyper 1 and the tower layer.
//!
//! ```text
//! MEETINGBAAS_SVIX_SECRET=whsec_... cargo run -p meetingbaas-example-hyper
//! ```
//!
//! Set the secret of each scheme you use: `MEETINGBAAS_SVIX_SECRET` (v2 webhooks),
//! `MEETINGBAAS_WEBHOOK_SECRET` (`X-MeetingBaas-Signature`), `MEETINGBAAS_CALLBACK_SECRET`
//! (v2 bot callbacks), `MEETINGBAAS_API_KEY` (v1). `MEETINGBAAS_MAX_BODY_BYTES` changes the
//! body limit, `MEETINGBAAS_DEDUPE` (`memory` or `redis://HOST:PORT`) turns on deduplication of
//! retried deliveries, `MEETINGBAAS_INBOX` (`sqlite://inbox.db` or
//! `redis://HOST:PORT`) stores deliveries and runs the handlers in a worker, `PORT` sets the port (default 3000), `RUST_LOG` the log level.

use std::convert::Infallible;
use std::io::{IsTerminal, Write};

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::CONTENT_TYPE;
use hyper::server::conn::http1;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use meetingbaas_webhooks::EventKind;
use meetingbaas_webhooks::idempotency::Deduplicator;
use meetingbaas_webhooks::{Event, Verifier};
use meetingbaas_webhooks_inbox::{HandlerError, Inbox, Job, WorkerBuilder};
use meetingbaas_webhooks_tower::{VerifiedBody, VerifyWebhookLayer};
use tower::{ServiceBuilder, ServiceExt};
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

    // The webhook route: the layer reads the body under the limit, verifies it and parses the
    // event; `receive` only ever sees verified deliveries.
    let mut layer = VerifyWebhookLayer::new(verifier).parse_events(true);
    // Retried deliveries handled once: MEETINGBAAS_DEDUPE=memory, or redis://HOST:PORT when
    // several replicas run behind a load balancer.
    if let Some(dedupe) = Deduplicator::from_env()
        .await
        .unwrap_or_else(|err| fail(err))
    {
        layer = layer.dedupe(dedupe);
    }
    if let Some(inbox) = &inbox {
        // The layer stores and answers 202; `receive` then never runs.
        layer = layer.inbox(inbox.intake());
    }
    let webhooks = ServiceBuilder::new().layer(layer).service_fn(receive);

    // The whole server: one route, 404 for anything else (nothing is read or verified then).
    let app = tower::service_fn(move |req: Request<Incoming>| {
        let webhooks = webhooks.clone();
        async move {
            if req.method() == Method::POST && req.uri().path() == "/webhooks/meetingbaas" {
                Ok::<_, Infallible>(webhooks.oneshot(req).await?.map(Either::Left))
            } else {
                Ok(
                    json(StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#.into())
                        .map(Either::Right),
                )
            }
        }
    });

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

    // One task per connection; hyper-util adapts the tower service to hyper.
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                tracing::warn!(%err, "accept failed");
                continue;
            }
        };
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            if let Err(err) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%err, "connection ended with an error");
            }
        });
    }
}

/// Only verified, parsed deliveries get here: the layer answers everything else itself
/// (401 bad credentials, 413 too large, 400 not a webhook, 422 bad event data).
async fn receive(req: Request<VerifiedBody>) -> Result<Response<Full<Bytes>>, Infallible> {
    // With `parse_events(true)` the layer puts the `Event` in the request extensions (and the
    // `VerifiedDelivery`, with the raw body and the scheme, beside it).
    let Some(event) = req.extensions().get::<Event>() else {
        return Ok(json(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":"no_event"}"#.into(),
        ));
    };
    tracing::info!(event = event.name(), "delivery received");
    // Handle the event here, or queue it and answer at once: the sender waits at most 30 s.
    let body = serde_json::json!({
        "status": "success",
        "event": event.name(),
        "bot_id": event.bot_id(),
    });
    Ok(json(StatusCode::OK, body.to_string()))
}

/// A JSON response.
fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
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
