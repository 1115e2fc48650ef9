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
//! `MEETINGBAAS_INBOX` (`sqlite://inbox.db` or `redis://HOST:PORT`) stores deliveries and runs
//! the handlers in a worker.
//!
//! `MEETINGBAAS_CONFIG=endpoint.json` reads the endpoint JSON of the product description
//! (`webhook_url`'s path is the route, `events` the events handled, `secret`, `enabled`); the
//! variables above override it. `MEETINGBAAS_TLS_CERT=cert.pem MEETINGBAAS_TLS_KEY=key.pem`
//! serves HTTPS instead of HTTP, with the same deadlines and limits.

use std::convert::Infallible;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::CONTENT_TYPE;
use hyper::server::conn::http1;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use meetingbaas_webhooks_inbox::{HandlerError, Inbox, Job, WorkerBuilder};
use meetingbaas_webhooks_tower::core::EndpointConfig;
use meetingbaas_webhooks_tower::{Deduplicator, Event, EventKind};
use meetingbaas_webhooks_tower::{VerifiedBody, VerifyWebhookLayer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
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
/// Time a client has to complete the TLS handshake: a connection that stalls in it is closed.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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

    // The secrets, the body limit, the events handled, the route and whether the endpoint is
    // enabled: from the file named by MEETINGBAAS_CONFIG, if any, and the MEETINGBAAS_* variables.
    let config = EndpointConfig::from_env().unwrap_or_else(|err| fail(err));
    // HTTPS when MEETINGBAAS_TLS_CERT and MEETINGBAAS_TLS_KEY are set.
    let tls = tls_from_env();

    // The webhook route: the layer reads the body under the limit and the deadline, verifies it
    // and parses the event; `receive` only ever sees verified deliveries (of the configured
    // events: others are answered `{"status":"ignored"}`).
    let mut pipeline = config
        .pipeline()
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
        // The layer stores and answers 202; `receive` then never runs.
        pipeline = pipeline.inbox(inbox.intake());
    }
    let webhooks = ServiceBuilder::new()
        .layer(VerifyWebhookLayer::from_pipeline(pipeline))
        .service_fn(receive);

    // The whole server: one route, 404 for anything else (nothing is read or verified then).
    let route: Arc<str> = config.route().into();
    let app = tower::service_fn(move |req: Request<Incoming>| {
        let webhooks = webhooks.clone();
        let route = Arc::clone(&route);
        async move {
            if req.method() == Method::POST && req.uri().path() == &*route {
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
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("listening on {scheme}://{addr}");
    let _ = std::io::stdout().flush();

    let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = accept(&listener).await;
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            // A TLS client could not read a plain-text answer: it is only closed.
            if tls.is_none() {
                tokio::spawn(shed(stream));
            }
            continue;
        };
        // One task per connection; hyper-util adapts the tower service to hyper.
        let service = TowerToHyperService::new(app.clone());
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let Some(io) = handshake(stream, tls).await else {
                return;
            };
            let served = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(io), service)
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

/// A connection as HTTP reads it: plain TCP, or a TLS session over it.
trait Connection: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Connection for T {}

/// The TCP stream itself, or with TLS its session once the handshake completed within
/// [`TLS_HANDSHAKE_TIMEOUT`]; `None` (the connection is closed) when the handshake failed (a
/// plain-HTTP client, a bad client hello) or stalled.
async fn handshake(stream: TcpStream, tls: Option<TlsAcceptor>) -> Option<Box<dyn Connection>> {
    let Some(tls) = tls else {
        return Some(Box::new(stream));
    };
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
        Ok(Ok(session)) => Some(Box::new(session)),
        Ok(Err(err)) => {
            tracing::debug!(%err, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            None
        }
    }
}

/// HTTPS when `MEETINGBAAS_TLS_CERT` (the certificate chain, PEM) and `MEETINGBAAS_TLS_KEY` (its
/// private key, PEM) are set: rustls with the `ring` provider, TLS 1.2 and 1.3, HTTP/1.1. Any
/// problem (one variable without the other, a file missing or without PEM items, a key that does
/// not match the certificate) stops the server here with one line.
fn tls_from_env() -> Option<TlsAcceptor> {
    let (cert, key) = match (
        std::env::var_os("MEETINGBAAS_TLS_CERT"),
        std::env::var_os("MEETINGBAAS_TLS_KEY"),
    ) {
        (None, None) => return None,
        (Some(cert), Some(key)) => (PathBuf::from(cert), PathBuf::from(key)),
        _ => fail("MEETINGBAAS_TLS_CERT and MEETINGBAAS_TLS_KEY go together: set both, or neither"),
    };
    let chain = CertificateDer::pem_file_iter(&cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .unwrap_or_else(|err| fail(format!("MEETINGBAAS_TLS_CERT {}: {err}", cert.display())));
    if chain.is_empty() {
        fail(format!(
            "MEETINGBAAS_TLS_CERT {}: no certificate in the file",
            cert.display()
        ));
    }
    let key_der = PrivateKeyDer::from_pem_file(&key)
        .unwrap_or_else(|err| fail(format!("MEETINGBAAS_TLS_KEY {}: {err}", key.display())));
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|err| fail(err))
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .unwrap_or_else(|err| {
            fail(format!(
                "MEETINGBAAS_TLS_KEY {} cannot be used with MEETINGBAAS_TLS_CERT {}: {err}",
                key.display(),
                cert.display()
            ))
        });
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Some(TlsAcceptor::from(Arc::new(config)))
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
