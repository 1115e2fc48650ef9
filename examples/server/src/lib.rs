//! What the four example servers share, written once: copy this file with the example you start
//! from.
//!
//! - [`init`]: logs to stderr (`RUST_LOG`, `RUST_LOG_FORMAT=json`) and Prometheus metrics on a
//!   listener of their own (`MEETINGBAAS_METRICS=HOST:PORT`);
//! - [`tls_config_from_env`] / [`tls_from_env`]: HTTPS from `MEETINGBAAS_TLS_CERT` and
//!   `MEETINGBAAS_TLS_KEY` (rustls with `ring`);
//! - [`serve`]: a hyper 1 server for any tower service, with the deadlines and limits a server
//!   reachable from the internet needs (header and keep-alive deadline, TLS handshake deadline,
//!   a connection cap that answers 503, an `accept` loop that backs off instead of spinning, a
//!   64 KiB read buffer per connection);
//! - [`failure_limit_from_env`]: the per-client limit on deliveries failing verification, from
//!   `MEETINGBAAS_FAILURE_LIMIT=N/min` (wired in the actix example);
//! - [`inbox_handlers`]: the inbox worker's handlers, one per kind and a fallback;
//! - [`fail`]: one `error: ...` line and exit status 2.

#![forbid(unsafe_code)]

use std::error::Error as StdError;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use meetingbaas_webhooks_inbox::{Event, HandlerError, Job, WorkerBuilder};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tracing_subscriber::EnvFilter;

/// Time a client has to send its request headers, and to start the next request on a
/// keep-alive connection: a connection that stalls is closed.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more are answered 503 and closed at once.
pub const MAX_CONNECTIONS: usize = 1024;
/// Deliveries processed at once; more are answered 503 with `Retry-After` before their body is
/// read. (The body deadline and the memory budget are the pipeline's defaults: 10 s, 128 MiB.)
pub const MAX_IN_FLIGHT: usize = 256;
/// The most a connection's read buffer grows to (hyper's default is about 400 KiB). Every
/// connection streaming a body fills it, and that memory is outside the pipeline's budget: 200
/// connections streaming chunked uploads held about 50 MiB more with the default. It also bounds
/// a request head.
///
/// Not smaller: with 16 KiB, a 200 KiB body arrived as ~13 buffers allocated on one thread and
/// freed on another, and most server processes soon fell into a mode where glibc's arena locks
/// were contended on every request (futex wake-ups 10 % of the samples, system time 4-8x, about
/// half the requests per second at 200 KiB, for the rest of the process's life). With 64 KiB no
/// process started (4 starts x 3 runs) fell into it at 200 KiB (BENCHMARKS.md, "The large-body
/// gap was the 16 KiB read buffer").
pub const READ_BUFFER_BYTES: usize = 64 * 1024;
/// Time a client has to complete the TLS handshake: a connection that stalls in it is closed.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection is still read (and what arrives discarded) after its last answer, for a
/// client still sending a body that was not read (a 413 mid-body); see `linger`.
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(2);

/// How many bytes a lingering connection discards at most before it is closed.
pub const LINGER_BYTES: usize = 1024 * 1024;

/// Logs to stderr (`RUST_LOG`, default `info`; `RUST_LOG_FORMAT=json` for JSON lines), with the
/// `quiet` targets turned off (a framework that logs every malformed request at error level:
/// anyone on the network could flood the log), and Prometheus metrics at
/// `MEETINGBAAS_METRICS=HOST:PORT`, never on the webhook port.
pub fn init(quiet: &[&str]) {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    for target in quiet {
        if let Ok(directive) = format!("{target}=off").parse() {
            filter = filter.add_directive(directive);
        }
    }
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    if std::env::var("RUST_LOG_FORMAT").is_ok_and(|format| format == "json") {
        logs.json().init();
    } else {
        logs.with_ansi(std::io::stderr().is_terminal()).init();
    }
    if let Ok(addr) = std::env::var("MEETINGBAAS_METRICS") {
        let addr: std::net::SocketAddr = addr
            .parse()
            .unwrap_or_else(|_| fail("MEETINGBAAS_METRICS is not HOST:PORT"));
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
            .unwrap_or_else(|err| fail(err));
    }
}

/// Whether metrics are collected (`MEETINGBAAS_METRICS` is set, so [`init`] installed the
/// Prometheus recorder): pass it to `Pipeline::record_metrics`, so that without a recorder no
/// delivery builds metric keys that nothing would collect.
pub fn metrics_enabled() -> bool {
    std::env::var_os("MEETINGBAAS_METRICS").is_some()
}

/// The port to listen on: `PORT`, default 3000.
pub fn port() -> u16 {
    match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .unwrap_or_else(|_| fail("PORT is not a port number")),
        Err(_) => 3000,
    }
}

/// The failure limit of `MEETINGBAAS_FAILURE_LIMIT=N/UNIT` (`N/s`, `N/min` or `N/h`; a bare
/// `N` is per minute): each client may fail verification `N` times at once, then once more every
/// `UNIT / N`. `(N, UNIT / N)`; `None` when unset (no limit). Refused at start when malformed.
pub fn failure_limit_from_env() -> Option<(std::num::NonZeroU32, Duration)> {
    let value = std::env::var("MEETINGBAAS_FAILURE_LIMIT").ok()?;
    let (count, unit) = value.split_once('/').unwrap_or((value.as_str(), "min"));
    let period = match unit.trim() {
        "s" => Duration::from_secs(1),
        "min" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        _ => fail("MEETINGBAAS_FAILURE_LIMIT is not N/s, N/min or N/h"),
    };
    let count: std::num::NonZeroU32 = count
        .trim()
        .parse()
        .unwrap_or_else(|_| fail("MEETINGBAAS_FAILURE_LIMIT is not N/s, N/min or N/h (N > 0)"));
    let interval = period / count.get();
    if interval.is_zero() {
        fail("MEETINGBAAS_FAILURE_LIMIT is too large");
    }
    Some((count, interval))
}

/// Prints `listening on http(s)://ADDR` (the line the conformance suite waits for).
pub fn announce(addr: std::net::SocketAddr, tls: bool) {
    let scheme = if tls { "https" } else { "http" };
    println!("listening on {scheme}://{addr}");
    let _ = std::io::stdout().flush();
}

/// Serves `app` on `127.0.0.1:PORT` (HTTPS when [`tls_from_env`] says so) until the process
/// ends: one task per connection, [`HEADER_TIMEOUT`], [`TLS_HANDSHAKE_TIMEOUT`] and
/// [`MAX_CONNECTIONS`].
pub async fn serve<S, B>(app: S) -> !
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let tls = tls_from_env();
    let listener = TcpListener::bind(("127.0.0.1", port()))
        .await
        .unwrap_or_else(|err| fail(err));
    announce(
        listener.local_addr().unwrap_or_else(|err| fail(err)),
        tls.is_some(),
    );
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
                .max_buf_size(READ_BUFFER_BYTES)
                .serve_connection(TokioIo::new(io), service)
                .without_shutdown()
                .await;
            match served {
                Ok(parts) => linger(parts.io.into_inner()).await,
                Err(err) => tracing::debug!(%err, "connection ended with an error"),
            }
        });
    }
}

/// Closes a served connection so that a client still sending can read its answer: the write
/// side is shut, then what the client still sends is read and thrown away, at most
/// [`LINGER_BYTES`] for [`LINGER_TIMEOUT`].
///
/// A socket closed with unread bytes in its receive buffer is reset by the kernel instead of
/// ended. A sender still writing a body the layer stopped reading (413 as a chunked body passes
/// the limit) would then see its write fail ("broken pipe", "connection reset") and never read
/// the 413.
async fn linger(mut io: Box<dyn Connection>) {
    if io.shutdown().await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(LINGER_TIMEOUT, async {
        let mut sink = [0u8; 8 * 1024];
        let mut discarded = 0usize;
        while discarded < LINGER_BYTES {
            match io.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(read) => discarded = discarded.saturating_add(read),
            }
        }
    })
    .await;
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

/// [`tls_config_from_env`] as a tokio-rustls acceptor.
pub fn tls_from_env() -> Option<TlsAcceptor> {
    tls_config_from_env().map(|config| TlsAcceptor::from(Arc::new(config)))
}

/// HTTPS when `MEETINGBAAS_TLS_CERT` (the certificate chain, PEM) and `MEETINGBAAS_TLS_KEY` (its
/// private key, PEM) are set: rustls with the `ring` provider, TLS 1.2 and 1.3, HTTP/1.1. Any
/// problem (one variable without the other, a file missing or without PEM items, a key that does
/// not match the certificate) stops the server here with one line.
pub fn tls_config_from_env() -> Option<ServerConfig> {
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
    Some(config)
}

/// Answers a connection over the limit with 503 and closes it, without reading its request.
async fn shed(mut stream: TcpStream) {
    let answer = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 5\r\ncontent-type: application/json\r\ncontent-length: 24\r\nconnection: close\r\n\r\n{\"error\":\"overloaded\"}\r\n";
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(answer)).await;
}

/// The handlers the inbox's worker runs on stored deliveries (`MEETINGBAAS_INBOX`), after the
/// sender was answered, one per kind and a fallback: they may take their time (30 s per attempt
/// by default), an `Err` is retried with backoff and then kept as a dead letter
/// (`meetingbaas-webhooks inbox --store ... list --dead`).
pub fn inbox_handlers(worker: WorkerBuilder) -> WorkerBuilder {
    use meetingbaas_webhooks_inbox::EventKind;
    worker
        .on(EventKind::BotCompleted, bot_completed)
        .on(EventKind::BotFailed, bot_failed)
        .fallback(any_other_event)
}

async fn bot_completed(job: Job) -> Result<(), HandlerError> {
    // Stands in for slow work (fetching the recording, calling a CRM): nobody is waiting.
    tokio::time::sleep(Duration::from_millis(200)).await;
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
pub fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

/// The answer every example gives to a delivery it handled in the request:
/// `{"status":"success","event":...,"kind":...,"bot_id":...}`. A typed struct is written straight
/// to JSON; a `json!` value would build (and then free) a map and its strings on every delivery.
#[derive(Debug, Serialize)]
pub struct Handled<'a> {
    status: &'static str,
    event: &'a str,
    kind: &'static str,
    bot_id: Option<&'a str>,
}

impl<'a> Handled<'a> {
    /// The answer for `event`.
    pub fn new(event: &'a Event) -> Self {
        Handled {
            status: "success",
            event: event.name(),
            kind: event.kind().as_str(),
            bot_id: event.bot_id(),
        }
    }
}
