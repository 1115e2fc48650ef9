//! Receive verified Meeting BaaS webhooks with warp.
//!
//! ```text
//! MEETINGBAAS_SVIX_SECRET=whsec_... cargo run -p meetingbaas-example-warp
//! ```
//!
//! Set the secret of each scheme you use: `MEETINGBAAS_SVIX_SECRET` (v2 webhooks),
//! `MEETINGBAAS_WEBHOOK_SECRET` (`X-MeetingBaas-Signature`), `MEETINGBAAS_CALLBACK_SECRET`
//! (v2 bot callbacks), `MEETINGBAAS_API_KEY` (v1), `MEETINGBAAS_ALERT_SECRET` (alert callbacks). `MEETINGBAAS_MAX_BODY_BYTES` changes the
//! body limit, `PORT` the port (default 3000), `RUST_LOG` the log level.
//! `MEETINGBAAS_DEDUPE=memory` (one process) or `MEETINGBAAS_DEDUPE=redis://HOST:PORT` (replicas
//! sharing one Redis) runs the handler once per delivery, however often it is retried.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use meetingbaas_webhooks_warp::{
    Deduplicator, Event, Pipeline, VerifiedDelivery, Verifier, WebhookConfig,
};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tracing_subscriber::EnvFilter;
use warp::Filter;

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
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // warp logs every malformed request at error level: silence it, so that anyone on the
    // network cannot flood the error log.
    if let Ok(quiet) = "warp::server=off".parse() {
        filter = filter.add_directive(quiet);
    }
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

    // The webhook endpoint, built around the handler below.
    let mut pipeline = Pipeline::new(verifier).max_in_flight(MAX_IN_FLIGHT);

    // Deduplication, from MEETINGBAAS_DEDUPE (unset: none). A Redis URL is connected now, so an
    // unreachable Redis stops the server here rather than at the first delivery.
    if let Some(dedupe) = Deduplicator::from_env()
        .await
        .unwrap_or_else(|err| fail(err))
    {
        pipeline = pipeline.dedupe(dedupe);
    }
    let webhooks = WebhookConfig::from_pipeline(pipeline);

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
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|err| fail(err));
    let addr = listener.local_addr().unwrap_or_else(|err| fail(err));
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();

    // Served through hyper-util (like the hyper example) for the header deadline and the
    // connection limit.
    let app = warp::service(route);
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

/// Only verified, parsed deliveries get here; with deduplication, once per delivery.
async fn receive(_delivery: VerifiedDelivery, event: Event) -> impl warp::Reply {
    // Handle the event here (`match event { Event::BotCompleted { data, .. } => ..., }`),
    // or queue it and answer at once: the sender waits at most 30 seconds.
    warp::reply::json(&json!({
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
