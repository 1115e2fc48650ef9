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

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::{Json, Router};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use meetingbaas_webhooks_tower::{Deduplicator, Pipeline, Verifier, VerifyWebhookLayer, Webhook};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tracing_subscriber::EnvFilter;

/// Time a client has to send its request headers, and to start the next request on a
/// keep-alive connection: a connection that stalls is closed.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more are answered 503 and closed at once.
const MAX_CONNECTIONS: usize = 1024;
/// Deliveries processed at once; more are answered 503 with `Retry-After` before their body is
/// read. (The body deadline and the memory budget are the pipeline's defaults: 10 s, 256 MiB.)
const MAX_IN_FLIGHT: usize = 256;

#[tokio::main]
async fn main() {
    // Logs go to stderr. Rejected deliveries are logged at debug level (RUST_LOG=debug).
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    if std::env::var("RUST_LOG_FORMAT").is_ok_and(|format| format == "json") {
        logs.json().init();
    } else {
        logs.with_ansi(std::io::stderr().is_terminal()).init();
    }

    // Prometheus metrics on a listener of their own, never on the webhook port.
    if let Ok(addr) = std::env::var("MEETINGBAAS_METRICS") {
        let addr: std::net::SocketAddr = addr
            .parse()
            .unwrap_or_else(|_| fail("MEETINGBAAS_METRICS is not HOST:PORT"));
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
            .unwrap_or_else(|err| fail(err));
    }

    // The secrets and the body limit, from the MEETINGBAAS_* environment variables.
    let verifier = Verifier::from_env().unwrap_or_else(|err| fail(err));

    // The layer reads the body under the limit and the deadline, verifies it, parses the event
    // and records the outcome; `Webhook` then takes what the layer verified. Retried deliveries
    // handled once: MEETINGBAAS_DEDUPE=memory, or redis://HOST:PORT when several replicas run
    // behind a load balancer.
    let mut pipeline = Pipeline::new(verifier)
        .parse_events(true)
        .max_in_flight(MAX_IN_FLIGHT);
    if let Some(dedupe) = Deduplicator::from_env()
        .await
        .unwrap_or_else(|err| fail(err))
    {
        pipeline = pipeline.dedupe(dedupe);
    }
    // The webhook route in a router of its own, so that the layer protects it alone, merged
    // into the app beside its other routes (`GET /health` is not verified). `Webhook` needs
    // nothing from the router state behind the layer.
    let webhooks = Router::new()
        .route("/webhooks/meetingbaas", post(receive))
        .route_layer(VerifyWebhookLayer::from_pipeline(pipeline));
    let app = Router::new().route("/health", get(health)).merge(webhooks);

    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .unwrap_or_else(|_| fail("PORT is not a port number")),
        Err(_) => 3000,
    };
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|err| fail(err));
    let addr = listener.local_addr().unwrap_or_else(|err| fail(err));
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();

    let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = accept(&listener).await;
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            tokio::spawn(shed(stream));
            continue;
        };
        // One task per connection; hyper-util adapts the tower service to hyper.
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let served = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(err) = served {
                tracing::debug!(%err, "connection ended with an error");
            }
        });
    }
}

/// The next connection. Accepting fails when the process is out of file descriptors (EMFILE):
/// then wait, and warn at most once a minute, instead of spinning on the error.
async fn accept(listener: &TcpListener) -> TcpStream {
    let mut last_warning: Option<tokio::time::Instant> = None;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => return stream,
            Err(err) => {
                if last_warning.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
                    tracing::warn!(%err, "accept failed; backing off");
                    last_warning = Some(tokio::time::Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Answers a connection over the limit with 503 and closes it, without reading its request.
async fn shed(mut stream: TcpStream) {
    let answer = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 5\r\ncontent-type: application/json\r\ncontent-length: 24\r\nconnection: close\r\n\r\n{\"error\":\"overloaded\"}\r\n";
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(answer)).await;
}

/// Only verified, parsed deliveries get here: the layer answers everything else itself
/// (401 bad credentials, 413 too large, 408 too slow, 400 not a webhook, 503 overloaded).
async fn receive(Webhook { event, .. }: Webhook) -> Json<Value> {
    // Handle the event here (`match event { Event::BotCompleted { data, .. } => ..., }`),
    // or queue it and answer at once: the sender waits at most 30 seconds.
    Json(json!({
        "status": "success",
        "event": event.name(),
        "kind": event.kind(),
        "bot_id": event.bot_id(),
    }))
}

/// The app's other routes are not webhooks: the layer is not in front of them.
async fn health() -> &'static str {
    "ok"
}

/// Prints one `error: ...` line and exits with status 2.
fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}
