//! [`Setup`]: a whole receiver from the environment, in one call, for a program that shows only
//! its framework.
//!
//! | variable | what it sets |
//! |---|---|
//! | `MEETINGBAAS_SVIX_SECRET`, `MEETINGBAAS_WEBHOOK_SECRET`, `MEETINGBAAS_CALLBACK_SECRET`, `MEETINGBAAS_API_KEY`, `MEETINGBAAS_ALERT_SECRET` | the schemes enabled (at least one) |
//! | `MEETINGBAAS_CONFIG` | the endpoint JSON (route, events, secret, enabled); the variables above override it |
//! | `MEETINGBAAS_MAX_BODY_BYTES` | the body limit (default 8 MiB) |
//! | `MEETINGBAAS_DEDUPE` | `memory` or `redis://HOST:PORT`: deduplication |
//! | `MEETINGBAAS_INBOX` | `sqlite://PATH`, `redis://HOST:PORT` or `postgres://USER:PASS@HOST:PORT/DB`: the durable inbox, and its worker in this process |
//! | `MEETINGBAAS_METRICS` | `HOST:PORT`: Prometheus metrics on a listener of their own |
//! | `MEETINGBAAS_TLS_CERT`, `MEETINGBAAS_TLS_KEY` | PEM files: HTTPS |
//! | `MEETINGBAAS_FAILURE_LIMIT` | `N/s`, `N/min` or `N/h`: the per-client limit of deliveries failing verification |
//! | `MEETINGBAAS_DRAIN_SECONDS` | the drain period of a stop (default 5) |
//! | `MEETINGBAAS_INBOX_RETENTION_HOURS` | how long the inbox keeps completed deliveries (default 168: 7 days; 0: deleted once completed, at the worker's next pass) |
//! | `MEETINGBAAS_ADMIN_TOKEN` | with an inbox: its admin page and JSON API ([`Webhooks::admin`], crate `meetingbaas-webhooks-admin`), behind this token (`Authorization: Bearer TOKEN`, or the page's sign-in form); at least 16 characters |
//! | `MEETINGBAAS_INBOX_CONCURRENCY` | how many deliveries the inbox's worker runs at once (1 to 1024, default 4) ([`WorkerBuilder::concurrency`](meetingbaas_webhooks_inbox::WorkerBuilder::concurrency)) |
//! | `MEETINGBAAS_INBOX_KEEP_BODIES_HOURS` | how long the inbox keeps the body of a completed delivery (personal data), less than its retention (default: as long as the delivery; 0: dropped within seconds of completion) ([`WorkerBuilder::keep_bodies`](meetingbaas_webhooks_inbox::WorkerBuilder::keep_bodies)) |
//! | `MEETINGBAAS_TRUSTED_PROXIES` | comma-separated IP addresses of the load balancers in front, whose `X-Forwarded-For` names the client (for the client's share of the memory budget, [`Pipeline::trusted_proxies`](meetingbaas_webhooks_receiver::Pipeline::trusted_proxies)) |
//! | `PORT` | the port (default 3000; 0 for any) |
//! | `HOST` | the address to listen on (default `127.0.0.1`: loopback only; `0.0.0.0` in a container) |
//! | `RUST_LOG`, `RUST_LOG_FORMAT=json` | the log filter (default `info`) and JSON lines |
//!
//! Every value is checked at start: a bad one stops the program with one line naming it.
//!
//! **Secrets rotate without a restart**: on `SIGHUP` the endpoint JSON (`MEETINGBAAS_CONFIG`) is
//! read again and the pipeline's key ring is replaced
//! ([`Pipeline::rotate`](meetingbaas_webhooks_receiver::Pipeline::rotate)); deliveries being
//! read keep the ring they started with. A reload that fails (a bad file) is an error line and
//! the ring in force stays. The ring is the secrets and the body limit; the route, the kinds and
//! the other settings are read at start only. A process's environment cannot change while it
//! runs, so a secret given as an environment variable (which overrides the file) is rotated by a
//! restart; keep secrets to rotate in the file (each field takes `["new", "old"]`). See
//! [`meetingbaas_webhooks_receiver::secrets`] for how to rotate a secret without losing a
//! delivery.
//!
//! ```no_run
//! use axum::{Router, routing::{get, on}};
//! use meetingbaas_webhooks_server::Setup;
//! use meetingbaas_webhooks_tower::{VerifyWebhookLayer, delivery_methods};
//!
//! # #[tokio::main]
//! # async fn main() {
//! let webhooks = Setup::new().from_env().await.unwrap_or_else(|err| err.exit());
//! let ready = webhooks.readiness();
//! let app = Router::new()
//!     .route(webhooks.route(), on(delivery_methods(), || async { "handled" }))
//!     .route_layer(VerifyWebhookLayer::new(webhooks.pipeline()))
//!     .route("/ready", get(move || async move { ready.answer().await }));
//! webhooks.serve(app).await;
//! # }
//! ```

use std::error::Error as StdError;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use meetingbaas_webhooks_inbox::{Inbox, WorkerBuilder, WorkerHandle};
use meetingbaas_webhooks_receiver::idempotency::Deduplicator;
use meetingbaas_webhooks_receiver::{EndpointConfig, Pipeline};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tracing_subscriber::EnvFilter;

use crate::serve::{Limits, serve};
use crate::shutdown::{DEFAULT_DRAIN, Shutdown};

/// On each `SIGHUP`, the secrets read again from the environment (and the endpoint JSON) replace
/// the pipeline's key ring. (No-op off Unix.)
fn reload_secrets_on_hangup(pipeline: &Pipeline) -> Result<(), SetupError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = signal(SignalKind::hangup())
            .map_err(|err| SetupError::new(format!("cannot install the SIGHUP handler: {err}")))?;
        let pipeline = pipeline.clone();
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                match EndpointConfig::from_env() {
                    Ok(endpoint) => {
                        let verifier = endpoint.verifier().clone();
                        let schemes: Vec<_> = verifier.schemes().map(|s| s.as_str()).collect();
                        pipeline.rotate(verifier);
                        tracing::info!(schemes = ?schemes, "SIGHUP: secrets reloaded");
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "SIGHUP: secrets not reloaded; the ones in force stay");
                    }
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = pipeline;
    Ok(())
}

/// Deliveries processed at once; more are answered 503 with `Retry-After` before their body is
/// read.
pub const MAX_IN_FLIGHT: usize = 256;

/// Why a receiver could not be set up: one line naming the variable or file at fault.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(String);

impl SetupError {
    fn new(message: impl std::fmt::Display) -> Self {
        SetupError(message.to_string())
    }

    /// Prints `error: <the line>` to stderr and exits with status 2: what a program does when
    /// it cannot start.
    pub fn exit(self) -> ! {
        eprintln!("error: {}", self.0);
        std::process::exit(2)
    }
}

/// The worker's handlers applied to a builder, then built and started.
type Handlers = Box<dyn FnOnce(WorkerBuilder) -> WorkerHandle>;

/// How to set a receiver up: what the environment does not say. See the [module docs](self).
pub struct Setup {
    quiet: Vec<String>,
    handlers: Option<Handlers>,
    logs: bool,
    inbox_required: bool,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setup")
            .field("quiet", &self.quiet)
            .field("handlers", &self.handlers.is_some())
            .field("logs", &self.logs)
            .field("inbox_required", &self.inbox_required)
            .finish()
    }
}

impl Default for Setup {
    fn default() -> Self {
        Setup::new()
    }
}

impl Setup {
    /// Logs to stderr, no worker handlers but a fallback that logs each delivery.
    pub fn new() -> Self {
        Setup {
            quiet: Vec::new(),
            handlers: None,
            logs: true,
            inbox_required: false,
        }
    }

    /// Log targets turned off: a framework's own error log of every malformed request
    /// (`actix_http::h1::dispatcher`, `warp::server`), which anyone on the network could flood.
    pub fn quiet<I, T>(mut self, targets: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.quiet.extend(targets.into_iter().map(Into::into));
        self
    }

    /// The inbox worker's handlers, and its state if it has one (used when
    /// `MEETINGBAAS_INBOX` is set): `handlers` gets the builder with the shutdown's grace
    /// period set and returns it with its handlers (and [`WorkerBuilder::state`]).
    pub fn worker<S: Send + Sync + 'static>(
        mut self,
        handlers: impl FnOnce(WorkerBuilder) -> WorkerBuilder<S> + 'static,
    ) -> Self {
        self.handlers = Some(Box::new(move |builder| handlers(builder).build().spawn()));
        self
    }

    /// For a program that only stores deliveries (an intake route: `Intake`, `intake`): without
    /// `MEETINGBAAS_INBOX`, [`from_env`](Self::from_env) fails with one line saying so, rather
    /// than serve a route that answers every delivery 500.
    pub fn require_inbox(mut self) -> Self {
        self.inbox_required = true;
        self
    }

    /// Whether to install the `tracing` subscriber (default `true`; `false` when the program
    /// installs its own).
    pub fn logs(mut self, install: bool) -> Self {
        self.logs = install;
        self
    }

    /// Reads the environment and sets everything up: logs, metrics, the pipeline (secrets,
    /// endpoint JSON, body limit, dedupe, inbox), the worker (started now), TLS, the port, and
    /// the signal handlers of the stop (installed now, before anything is served).
    pub async fn from_env(self) -> Result<Webhooks, SetupError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if self.logs {
            init_logs(&self.quiet);
        }
        let metrics = match var("MEETINGBAAS_METRICS") {
            Some(addr) => {
                let addr: SocketAddr = addr
                    .trim()
                    .parse()
                    .map_err(|_| SetupError::new("MEETINGBAAS_METRICS is not HOST:PORT"))?;
                metrics_exporter_prometheus::PrometheusBuilder::new()
                    .with_http_listener(addr)
                    .install()
                    .map_err(|err| SetupError::new(format!("MEETINGBAAS_METRICS: {err}")))?;
                true
            }
            None => false,
        };
        let drain = match var("MEETINGBAAS_DRAIN_SECONDS") {
            Some(seconds) => Duration::from_secs_f64(
                seconds
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && (0.0..=300.0).contains(s))
                    .ok_or_else(|| {
                        SetupError::new(
                            "MEETINGBAAS_DRAIN_SECONDS is not a number of seconds (0 to 300)",
                        )
                    })?,
            ),
            None => DEFAULT_DRAIN,
        };
        let retention = hours(&var, "MEETINGBAAS_INBOX_RETENTION_HOURS")?
            .unwrap_or(meetingbaas_webhooks_inbox::DEFAULT_RETENTION);
        let keep_bodies = hours(&var, "MEETINGBAAS_INBOX_KEEP_BODIES_HOURS")?;
        let admin_token = match var("MEETINGBAAS_ADMIN_TOKEN") {
            Some(token) if token.trim().chars().count() < 16 => {
                return Err(SetupError::new(
                    "MEETINGBAAS_ADMIN_TOKEN is shorter than 16 characters: give a long random token",
                ));
            }
            token => token.map(|token| token.trim().to_string()),
        };
        let concurrency = match var("MEETINGBAAS_INBOX_CONCURRENCY") {
            Some(n) => n
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1024).contains(n))
                .ok_or_else(|| {
                    SetupError::new("MEETINGBAAS_INBOX_CONCURRENCY is not a number from 1 to 1024")
                })?,
            None => 4,
        };
        let shutdown = Shutdown::on_signals(drain)
            .map_err(|err| SetupError::new(format!("cannot install the signal handlers: {err}")))?;
        let port = match var("PORT") {
            Some(port) => port
                .trim()
                .parse()
                .map_err(|_| SetupError::new("PORT is not a port number"))?,
            None => 3000,
        };
        let host = match var("HOST") {
            Some(host) => host.trim().parse().map_err(|_| {
                SetupError::new("HOST is not an IP address (127.0.0.1, 0.0.0.0, ::)")
            })?,
            None => std::net::IpAddr::from([127, 0, 0, 1]),
        };
        let tls = tls_from_env()?;
        let failure_limit = failure_limit_from_env()?;
        let proxies = match var("MEETINGBAAS_TRUSTED_PROXIES") {
            Some(list) => list
                .split(',')
                .map(|entry| entry.trim().parse::<std::net::IpAddr>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    SetupError::new(
                        "MEETINGBAAS_TRUSTED_PROXIES is not a comma-separated list of IP addresses",
                    )
                })?,
            None => Vec::new(),
        };

        let endpoint = EndpointConfig::from_env().map_err(SetupError::new)?;
        let mut pipeline = endpoint
            .pipeline()
            .max_in_flight(MAX_IN_FLIGHT)
            .trusted_proxies(proxies)
            .record_metrics(metrics);
        // A Redis URL is connected now, so an unreachable Redis stops the program here rather
        // than at the first delivery.
        if let Some(dedupe) = Deduplicator::from_env().await.map_err(SetupError::new)? {
            pipeline = pipeline.dedupe(dedupe);
        }
        let inbox = Inbox::from_env().await.map_err(SetupError::new)?;
        if inbox.is_none() && self.inbox_required {
            return Err(SetupError::new(
                "MEETINGBAAS_INBOX is not set: this program stores every delivery in an inbox \
                 (sqlite://PATH, redis://HOST:PORT, postgres://USER:PASS@HOST:PORT/DB)",
            ));
        }
        let worker = inbox.as_ref().map(|inbox| {
            let builder = inbox
                .worker()
                .shutdown_grace(shutdown.grace())
                .concurrency(concurrency)
                .retention(Some(retention))
                .keep_bodies(keep_bodies);
            match self.handlers {
                Some(handlers) => handlers(builder),
                // The worker logs each delivery it handles (info) with its id, kind and bot.
                None => builder
                    .fallback(|_job: meetingbaas_webhooks_inbox::Job| async { Ok(()) })
                    .build()
                    .spawn(),
            }
        });
        if let Some(inbox) = &inbox {
            pipeline = pipeline.inbox(inbox.intake());
        }
        let admin = match (&inbox, admin_token) {
            (Some(inbox), Some(token)) => Some(
                meetingbaas_webhooks_admin::Admin::new(
                    inbox.clone(),
                    meetingbaas_webhooks_admin::Guard::token(token),
                )
                .mounted_at(ADMIN_PATH),
            ),
            (None, Some(_)) => {
                return Err(SetupError::new(
                    "MEETINGBAAS_ADMIN_TOKEN is set but MEETINGBAAS_INBOX is not: the admin page shows an inbox",
                ));
            }
            (_, None) => None,
        };
        reload_secrets_on_hangup(&pipeline)?;
        Ok(Webhooks {
            pipeline,
            route: endpoint.route().to_owned(),
            inbox,
            admin,
            worker,
            shutdown,
            limits: Limits::default(),
            tls,
            port,
            host,
            failure_limit,
        })
    }
}

/// Where the examples mount the admin page ([`Webhooks::admin`]).
pub const ADMIN_PATH: &str = "/admin";

/// A receiver set up from the environment ([`Setup::from_env`]): its pipeline for the adapter,
/// its route, its readiness, and how it is served and stopped.
pub struct Webhooks {
    pipeline: Pipeline,
    route: String,
    inbox: Option<Inbox>,
    admin: Option<meetingbaas_webhooks_admin::Admin>,
    worker: Option<WorkerHandle>,
    shutdown: Shutdown,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    port: u16,
    host: std::net::IpAddr,
    failure_limit: Option<(NonZeroU32, Duration)>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("route", &self.route)
            .field("inbox", &self.inbox.is_some())
            .field("tls", &self.tls.is_some())
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Webhooks {
    /// The pipeline to give the adapter (every option already set).
    pub fn pipeline(&self) -> Pipeline {
        self.pipeline.clone()
    }

    /// The inbox of `MEETINGBAAS_INBOX`, when it is set (its worker is already running).
    pub fn inbox(&self) -> Option<&Inbox> {
        self.inbox.as_ref()
    }

    /// The inbox's admin page when `MEETINGBAAS_ADMIN_TOKEN` is set (with an inbox): a tower
    /// service to mount at [`ADMIN_PATH`] (axum: `nest_service(ADMIN_PATH, admin)`).
    pub fn admin(&self) -> Option<meetingbaas_webhooks_admin::Admin> {
        self.admin.clone()
    }

    /// The route to serve: `webhook_url`'s path in the endpoint JSON, or
    /// `/webhooks/meetingbaas`.
    pub fn route(&self) -> &str {
        &self.route
    }

    /// The stop: for a server of a framework's own ([`Shutdown::drained`]).
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// The readiness check, for `GET /ready`.
    pub fn readiness(&self) -> Readiness {
        Readiness {
            shutdown: self.shutdown.clone(),
            inbox: self.inbox.clone(),
        }
    }

    /// The port (`PORT`, default 3000).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address to listen on (`HOST`, default `127.0.0.1`).
    pub fn host(&self) -> std::net::IpAddr {
        self.host
    }

    /// The limits of [`serve`](Self::serve) (for a framework's own server: its header deadline,
    /// connection cap and TLS handshake deadline).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The TLS configuration when `MEETINGBAAS_TLS_CERT` and `MEETINGBAAS_TLS_KEY` are set (for a
    /// framework's own server: actix-web's `bind_rustls_0_23`).
    pub fn tls_config(&self) -> Option<ServerConfig> {
        self.tls
            .as_ref()
            .map(|acceptor| ServerConfig::clone(acceptor.config()))
    }

    /// `MEETINGBAAS_FAILURE_LIMIT=N/UNIT`: each client may fail verification `N` times at once,
    /// then once more every `UNIT / N`; `(N, UNIT / N)`, `None` when unset.
    pub fn failure_limit(&self) -> Option<(NonZeroU32, Duration)> {
        self.failure_limit
    }

    /// Binds `HOST:PORT` with a queue of [`LISTEN_BACKLOG`] connections not yet accepted,
    /// and prints `listening on http(s)://ADDR` (the line tests and tools wait for).
    pub async fn bind(&self) -> Result<TcpListener, SetupError> {
        let listener = listen(SocketAddr::from((self.host, self.port))).map_err(|err| {
            SetupError::new(format!("cannot listen on port {}: {err}", self.port))
        })?;
        let addr = listener.local_addr().map_err(SetupError::new)?;
        announce(addr, self.tls.is_some());
        Ok(listener)
    }

    /// Serves `app` on `HOST:PORT` with [`serve()`](crate::serve()) (HTTPS when configured),
    /// until a stop is drained; then stops the worker and returns: the program exits 0. A port
    /// that cannot be bound exits with status 2.
    pub async fn serve<S, B>(self, app: S)
    where
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
        let listener = self.bind().await.unwrap_or_else(|err| err.exit());
        serve(
            listener,
            app,
            &self.limits,
            self.tls.clone(),
            &self.shutdown,
        )
        .await;
        self.stop().await;
    }

    /// Once the server has stopped: stops the worker (no more claims; running handlers finish
    /// within the grace period) and returns. For a framework's own server, after it returned.
    pub async fn stop(self) {
        if let Some(worker) = self.worker {
            worker.shutdown().await;
        }
        tracing::info!(target: "meetingbaas_webhooks", "stopped");
    }
}

/// How many connections the kernel queues before they are accepted (capped by the system's
/// `net.core.somaxconn`). `TcpListener::bind` asks for 128: a sender opening a few hundred
/// connections at once overflowed it, and some of them were reset.
pub const LISTEN_BACKLOG: u32 = 1024;

/// A listener on `addr` (`SO_REUSEADDR`, as `TcpListener::bind` sets it) with
/// [`LISTEN_BACKLOG`].
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Whether the receiver should get traffic: not stopping, and its inbox (if any) ready
/// ([`Inbox::ready`]: it answers, its worker can claim, and no damage was found in a SQLite
/// file).
/// For `GET /ready` (load balancers, Kubernetes' readiness probe); `/health` stays liveness.
#[derive(Clone, Debug)]
pub struct Readiness {
    shutdown: Shutdown,
    inbox: Option<Inbox>,
}

impl Readiness {
    /// Checks now.
    pub async fn check(&self) -> bool {
        if !self.shutdown.is_ready() {
            return false;
        }
        match &self.inbox {
            Some(inbox) => inbox.ready().await.is_ok(),
            None => true,
        }
    }

    /// The answer of `GET /ready`: `(200, "ready")` or `(503, "not ready")`, for any
    /// framework's `(StatusCode, body)` response.
    pub async fn answer(&self) -> (http::StatusCode, &'static str) {
        if self.check().await {
            (http::StatusCode::OK, "ready")
        } else {
            (http::StatusCode::SERVICE_UNAVAILABLE, "not ready")
        }
    }
}

/// Prints `listening on http(s)://ADDR`.
pub fn announce(addr: SocketAddr, tls: bool) {
    let scheme = if tls { "https" } else { "http" };
    println!("listening on {scheme}://{addr}");
    let _ = std::io::stdout().flush();
}

/// Logs to stderr (`RUST_LOG`, default `info`; `RUST_LOG_FORMAT=json` for JSON lines), with
/// `quiet` targets off. Does nothing when a subscriber is installed already.
fn init_logs(quiet: &[String]) {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    for target in quiet {
        if let Ok(directive) = format!("{target}=off").parse() {
            filter = filter.add_directive(directive);
        }
    }
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    let _ = if std::env::var("RUST_LOG_FORMAT").is_ok_and(|format| format == "json") {
        logs.json().try_init()
    } else {
        logs.with_ansi(std::io::stderr().is_terminal()).try_init()
    };
}

/// HTTPS when `MEETINGBAAS_TLS_CERT` and `MEETINGBAAS_TLS_KEY` are set; both or neither.
fn tls_from_env() -> Result<Option<TlsAcceptor>, SetupError> {
    match (
        std::env::var_os("MEETINGBAAS_TLS_CERT"),
        std::env::var_os("MEETINGBAAS_TLS_KEY"),
    ) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => crate::tls::acceptor(&PathBuf::from(cert), &PathBuf::from(key))
            .map(Some)
            .map_err(|err| {
                SetupError::new(err.describe("MEETINGBAAS_TLS_CERT", "MEETINGBAAS_TLS_KEY"))
            }),
        _ => Err(SetupError::new(
            "MEETINGBAAS_TLS_CERT and MEETINGBAAS_TLS_KEY go together: set both, or neither",
        )),
    }
}

/// `MEETINGBAAS_FAILURE_LIMIT=N/UNIT` (`N/s`, `N/min` or `N/h`; a bare `N` is per minute).
fn failure_limit_from_env() -> Result<Option<(NonZeroU32, Duration)>, SetupError> {
    let Ok(value) = std::env::var("MEETINGBAAS_FAILURE_LIMIT") else {
        return Ok(None);
    };
    let bad = || SetupError::new("MEETINGBAAS_FAILURE_LIMIT is not N/s, N/min or N/h (N > 0)");
    let (count, unit) = value.split_once('/').unwrap_or((value.as_str(), "min"));
    let period = match unit.trim() {
        "s" => Duration::from_secs(1),
        "min" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        _ => return Err(bad()),
    };
    let count: NonZeroU32 = count.trim().parse().map_err(|_| bad())?;
    let interval = period / count.get();
    if interval.is_zero() {
        return Err(SetupError::new("MEETINGBAAS_FAILURE_LIMIT is too large"));
    }
    Ok(Some((count, interval)))
}

/// The whole number of hours (0 to ten years) in the variable `name`, if it is set.
fn hours(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<Duration>, SetupError> {
    let Some(value) = var(name) else {
        return Ok(None);
    };
    let hours = value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|hours| *hours <= 24 * 365 * 10)
        .ok_or_else(|| SetupError::new(format!("{name} is not a number of hours (0 to 87600)")))?;
    Ok(Some(Duration::from_secs(hours * 3600)))
}

#[cfg(test)]
mod hours_tests {
    use super::*;

    fn read(value: &str) -> Result<Option<Duration>, String> {
        let value = value.to_string();
        hours(&move |_: &str| Some(value.clone()), "MEETINGBAAS_X_HOURS").map_err(|e| e.to_string())
    }

    #[test]
    fn hours_are_whole_and_bounded_and_the_error_names_the_variable() {
        assert_eq!(read("0"), Ok(Some(Duration::ZERO)));
        assert_eq!(read(" 72 "), Ok(Some(Duration::from_secs(72 * 3600))));
        assert_eq!(read("87600"), Ok(Some(Duration::from_secs(87_600 * 3600))));
        for bad in ["87601", "-1", "1.5", "1h", "18446744073709551615"] {
            let err = read(bad).unwrap_err();
            assert!(
                err.contains("MEETINGBAAS_X_HOURS") && !err.contains(bad),
                "{bad}: {err}"
            );
        }
        assert_eq!(
            hours(&|_: &str| None, "MEETINGBAAS_X_HOURS").map_err(|e| e.to_string()),
            Ok(None)
        );
    }
}
