//! Serve [Meeting BaaS](https://meetingbaas.com) webhooks from a Rust service: the hardened
//! serving loop, graceful shutdown with a drain period and a readiness check, HTTPS from PEM
//! files, and one setup of a whole receiver from the environment.
//!
//! - [`serve()`]: a hyper 1 server for any tower service (axum, hyper, warp's `warp::service`),
//!   with header and TLS-handshake deadlines, a connection cap, a capped read buffer, a lingering
//!   close and an `accept` loop that backs off: what a server reachable from the internet needs,
//!   in one call instead of a copied example.
//! - [`Shutdown`]: SIGTERM and Ctrl-C handled from the start; readiness fails at once, intake
//!   keeps answering for the drain period, then the listener closes, requests in flight are
//!   answered and running handlers finish within a grace period. Usable from axum's
//!   `with_graceful_shutdown`, actix-web and warp too.
//! - [`Setup`] (feature `setup`, default): the pipeline, the inbox and its worker, metrics, logs,
//!   TLS and the port from the `MEETINGBAAS_*` variables, so that a program's `main` shows only
//!   its framework:
//!
//! ```no_run
//! use axum::{Router, routing::{get, on}};
//! use meetingbaas_webhooks_server::Setup;
//! use meetingbaas_webhooks_tower::{VerifyWebhookLayer, Webhook, delivery_methods};
//!
//! async fn receive(Webhook { event, .. }: Webhook) -> String {
//!     format!("{} for bot {:?}", event.name(), event.bot_id())
//! }
//!
//! #[tokio::main]
//! async fn main() {
//!     let webhooks = Setup::new().from_env().await.unwrap_or_else(|err| err.exit());
//!     let ready = webhooks.readiness();
//!     let app = Router::new()
//!         .route(webhooks.route(), on(delivery_methods(), receive))
//!         .route_layer(VerifyWebhookLayer::new(webhooks.pipeline()))
//!         .route("/health", get(|| async { "ok" }))
//!         .route("/ready", get(move || async move { ready.answer().await }));
//!     webhooks.serve(app).await; // until SIGTERM, drained and stopped
//! }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod serve;
#[cfg(feature = "setup")]
pub mod setup;
pub mod shutdown;
pub mod tls;

pub use serve::{Limits, serve};
#[cfg(feature = "setup")]
pub use setup::{ADMIN_PATH, MAX_IN_FLIGHT, Readiness, Setup, SetupError, Webhooks, announce};
pub use shutdown::{DEFAULT_DRAIN, DEFAULT_GRACE, Shutdown};
pub use tls::{TlsError, TlsFile};

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
