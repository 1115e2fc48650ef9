//! [`serve`]: a hyper 1 server for any tower service, with the deadlines and limits a server
//! reachable from the internet needs.
//!
//! - a header deadline ([`Limits::header_timeout`]), also for idle keep-alive connections, and a
//!   TLS handshake deadline;
//! - a connection cap ([`Limits::max_connections`]): past it a connection is answered 503 with
//!   `Retry-After` and closed at once, without reading its request;
//! - a read buffer cap per connection ([`Limits::read_buffer_bytes`]; hyper's default grows to
//!   about 400 KiB, outside the receiving pipeline's memory budget);
//! - a lingering close after the last answer, so that a client still sending a body the server
//!   stopped reading (413 mid-body) reads its answer instead of a reset;
//! - an `accept` loop that backs off when the process is out of file descriptors instead of
//!   spinning;
//! - graceful stop with [`Shutdown`]: once drained, no new connection is accepted, each open one
//!   is closed after the request it is answering, and `serve` returns when all are done or the
//!   grace period has passed.
//!
//! The body deadline and the in-flight memory budget are the receiving pipeline's.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use meetingbaas_webhooks_server::{Limits, Shutdown, serve};
//!
//! # #[tokio::main]
//! # async fn main() -> std::io::Result<()> {
//! let app: Router = Router::new().route("/health", get(|| async { "ok" }));
//! let shutdown = Shutdown::on_signals(meetingbaas_webhooks_server::DEFAULT_DRAIN)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! serve(listener, app, &Limits::default(), None, &shutdown).await;
//! # Ok(())
//! # }
//! ```

use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use meetingbaas_webhooks_receiver::ClientAddr;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::shutdown::Shutdown;

/// The limits of [`serve`]. The defaults are what the examples ship with.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Limits {
    /// Time a client has to send its request head, and to start the next request on a
    /// keep-alive connection (default 10 s).
    pub header_timeout: Duration,
    /// Time a client has to complete the TLS handshake (default 10 s).
    pub tls_handshake_timeout: Duration,
    /// Connections served at once; more are answered 503 and closed (default 1 024).
    pub max_connections: usize,
    /// The most a connection's read buffer grows to (default 64 KiB). It also bounds a request
    /// head. Not smaller: with 16 KiB, 200 KiB bodies arrived as a dozen buffers freed on
    /// another thread, and glibc's arenas fell into a contended mode for the rest of the
    /// process's life (BENCHMARKS.md).
    pub read_buffer_bytes: usize,
    /// How long a connection is still read (and what arrives discarded) after its last answer
    /// (default 2 s).
    pub linger_timeout: Duration,
    /// How many bytes a lingering connection discards at most (default 1 MiB).
    pub linger_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
            max_connections: 1024,
            read_buffer_bytes: 64 * 1024,
            linger_timeout: Duration::from_secs(2),
            linger_bytes: 1024 * 1024,
        }
    }
}

/// Serves `app` on `listener` (over TLS with `tls`) within `limits` until `shutdown` is drained,
/// then closes each connection after the request it is answering and returns once every
/// connection is done or the grace period has passed. See the [module docs](self).
pub async fn serve<S, B>(
    listener: TcpListener,
    app: S,
    limits: &Limits,
    tls: Option<TlsAcceptor>,
    shutdown: &Shutdown,
) where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let app = Arc::new(app);
    let drained = shutdown.drained();
    tokio::pin!(drained);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut drained => break,
            accepted = accept(&listener) => accepted,
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            // A TLS client could not read a plain-text answer: it is only closed.
            if tls.is_none() {
                tokio::spawn(shed(stream));
            }
            continue;
        };
        let service = Hyper {
            app: Arc::clone(&app),
            peer: ClientAddr(peer),
        };
        let (tls, limits, shutdown) = (tls.clone(), limits.clone(), shutdown.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let Some(io) = handshake(stream, tls, limits.tls_handshake_timeout).await else {
                return;
            };
            serve_connection(io, service, &limits, &shutdown).await;
        });
    }
    drop(listener);
    // Every connection holds a permit until it is done.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let finished = tokio::time::timeout(shutdown.grace(), connections.acquire_many(all)).await;
    if finished.is_err() {
        tracing::warn!(
            target: "meetingbaas_webhooks",
            "connections still open after the grace period; stopping anyway"
        );
    }
}

/// One connection: HTTP/1.1 with the deadlines; closed after its request once drained; then
/// the lingering close.
async fn serve_connection<S, B>(
    io: Box<dyn Connection>,
    service: Hyper<S>,
    limits: &Limits,
    shutdown: &Shutdown,
) where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let mut connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.read_buffer_bytes)
        .serve_connection(TokioIo::new(io), service);
    let drained = shutdown.drained();
    tokio::pin!(drained);
    let mut closing = false;
    let served = std::future::poll_fn(|cx| {
        if !closing && drained.as_mut().poll(cx).is_ready() {
            // No keep-alive any more: an idle connection closes now, a busy one after its answer.
            Pin::new(&mut connection).graceful_shutdown();
            closing = true;
        }
        connection.poll_without_shutdown(cx)
    })
    .await;
    match served {
        Ok(()) => linger(connection.into_parts().io.into_inner(), limits).await,
        Err(err) => {
            tracing::debug!(target: "meetingbaas_webhooks", %err, "connection ended with an error")
        }
    }
}

/// A tower service as hyper calls it: cloned per request (a service driven to readiness is the
/// one called), its future boxed so that the connection can be polled without pinning. Each
/// request carries the connection's address as a [`ClientAddr`] extension (the adapters give
/// it to the pipeline, for the client's share of the memory budget).
struct Hyper<S> {
    app: Arc<S>,
    peer: ClientAddr,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B> hyper::service::Service<Request<Incoming>> for Hyper<S>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = BoxFuture<Response<B>, S::Error>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(self.peer);
        let mut service = S::clone(&self.app);
        Box::pin(async move {
            std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
            service.call(request).await
        })
    }
}

/// Closes a served connection so that a client still sending can read its answer: the write
/// side is shut, then what the client still sends is read and thrown away, at most
/// [`Limits::linger_bytes`] for [`Limits::linger_timeout`].
///
/// A socket closed with unread bytes in its receive buffer is reset by the kernel instead of
/// ended: a sender still writing a body that was not read (413 as a chunked body passes the
/// limit) would see its write fail ("broken pipe") and never read the 413.
async fn linger(mut io: Box<dyn Connection>, limits: &Limits) {
    if io.shutdown().await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(limits.linger_timeout, async {
        let mut sink = [0u8; 8 * 1024];
        let mut discarded = 0usize;
        while discarded < limits.linger_bytes {
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
async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    let mut last_warning: Option<tokio::time::Instant> = None;
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(err) => {
                if last_warning.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
                    tracing::warn!(target: "meetingbaas_webhooks", %err, "accept failed; backing off");
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
/// `timeout`; `None` (the connection is closed) when the handshake failed (a plain-HTTP client,
/// a bad client hello) or stalled.
async fn handshake(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    timeout: Duration,
) -> Option<Box<dyn Connection>> {
    let Some(tls) = tls else {
        return Some(Box::new(stream));
    };
    match tokio::time::timeout(timeout, tls.accept(stream)).await {
        Ok(Ok(session)) => Some(Box::new(session)),
        Ok(Err(err)) => {
            tracing::debug!(target: "meetingbaas_webhooks", %err, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(target: "meetingbaas_webhooks", "TLS handshake timed out");
            None
        }
    }
}

/// Answers a connection over the cap with 503 and closes it, without reading its request.
async fn shed(mut stream: TcpStream) {
    let answer = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 5\r\ncontent-type: application/json\r\ncontent-length: 24\r\nconnection: close\r\n\r\n{\"error\":\"overloaded\"}\r\n";
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(answer)).await;
}
