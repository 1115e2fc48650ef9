//! Receive verified Meeting BaaS webhooks with plain hyper 1 and the tower layer.
//!
//! ```text
//! MEETINGBAAS_SVIX_SECRET=whsec_... cargo run -p meetingbaas-example-hyper
//! ```
//!
//! Set the secret of each scheme you use: `MEETINGBAAS_SVIX_SECRET` (v2 webhooks),
//! `MEETINGBAAS_WEBHOOK_SECRET` (`X-MeetingBaas-Signature`), `MEETINGBAAS_CALLBACK_SECRET`
//! (v2 bot callbacks), `MEETINGBAAS_API_KEY` (v1), `MEETINGBAAS_ALERT_SECRET` (alert callbacks). `MEETINGBAAS_MAX_BODY_BYTES` changes the
//! body limit, `MEETINGBAAS_DEDUPE` (`memory` or `redis://HOST:PORT`) turns on deduplication of
//! retried deliveries, `MEETINGBAAS_METRICS=HOST:PORT` serves Prometheus metrics there, `PORT`
//! sets the port (default 3000), `RUST_LOG` the log level and `RUST_LOG_FORMAT=json` JSON logs.

use std::convert::Infallible;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::CONTENT_TYPE;
use hyper::server::conn::http1;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use meetingbaas_webhooks_tower::{
    Deduplicator, Event, Pipeline, VerifiedBody, Verifier, VerifyWebhookLayer,
};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::{ServiceBuilder, ServiceExt};
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

    // The webhook route: the layer reads the body under the limit and the deadline, verifies it
    // and parses the event; `receive` only ever sees verified deliveries.
    let mut pipeline = Pipeline::new(verifier)
        .parse_events(true)
        .max_in_flight(MAX_IN_FLIGHT);
    // Retried deliveries handled once: MEETINGBAAS_DEDUPE=memory, or redis://HOST:PORT when
    // several replicas run behind a load balancer.
    if let Some(dedupe) = Deduplicator::from_env()
        .await
        .unwrap_or_else(|err| fail(err))
    {
        pipeline = pipeline.dedupe(dedupe);
    }
    let webhooks = ServiceBuilder::new()
        .layer(VerifyWebhookLayer::from_pipeline(pipeline))
        .service_fn(receive);

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
async fn receive(req: Request<VerifiedBody>) -> Result<Response<Full<Bytes>>, Infallible> {
    // With `parse_events(true)` the layer puts the `Event` in the request extensions (and the
    // `VerifiedDelivery`, with the raw body and the scheme, beside it).
    let Some(event) = req.extensions().get::<Event>() else {
        return Ok(json(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":"no_event"}"#.into(),
        ));
    };
    // Handle the event here, or queue it and answer at once: the sender waits at most 30 s.
    let body = serde_json::json!({
        "status": "success",
        "event": event.name(),
        "kind": event.kind(),
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

/// Prints one `error: ...` line and exits with status 2.
fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}
