//! A [tower](https://docs.rs/tower) layer that verifies [Meeting BaaS](https://meetingbaas.com) webhook deliveries
//! before your service sees them, for hyper, axum, tonic or any other tower stack, and (with
//! the `axum` feature) an axum extractor for the typed event.
//!
//! Verification, parsing, statuses and error bodies all come from the
//! [`meetingbaas_webhooks`] core crate; this crate reads the body under the limit and turns the
//! outcome into responses.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use meetingbaas_webhooks_tower::{Signer, VerifiedDelivery, Verifier};
//! use meetingbaas_webhooks_tower::{VerifiedBody, VerifyWebhookLayer};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! // Only verified deliveries reach the handler, with the delivery in the extensions.
//! async fn handle(req: Request<VerifiedBody>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     let delivery = req.extensions().get::<VerifiedDelivery>().expect("set by the layer");
//!     let answer = match delivery.parse_event() {
//!         Ok(event) => format!("received {}", event.name()),
//!         Err(err) => format!("verified, but not an event: {err}"),
//!     };
//!     Ok(Response::new(Full::new(Bytes::from(answer))))
//! }
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder().signature_secret("s3cret").build()?;
//! let service = ServiceBuilder::new()
//!     .layer(VerifyWebhookLayer::new(verifier))
//!     .service_fn(handle);
//!
//! // A delivery signed the way Meeting BaaS signs it is let through...
//! let body = r#"{"event":"bot.failed","data":{"bot_id":"b-1"}}"#;
//! let mut request = Request::post("/webhooks/meetingbaas").body(Full::new(Bytes::from(body)))?;
//! let headers = Signer::signature("s3cret")?.sign_now(body.as_bytes());
//! request.headers_mut().extend(headers.to_header_map());
//! let response = service.clone().oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! // ...a forged one is answered 401 by the layer, without calling the handler.
//! let forged = Request::post("/webhooks/meetingbaas")
//!     .header("x-meetingbaas-signature", "00".repeat(32))
//!     .body(Full::new(Bytes::from(body)))?;
//! let response = service.oneshot(forged).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(response.headers()["content-type"], "application/json");
//! # Ok(())
//! # }
//! ```
//!
//! # What the layer answers
//!
//! | request | answer |
//! |---|---|
//! | verified | the inner service's response |
//! | no credentials for any enabled scheme, or wrong, malformed or stale ones | 401 |
//! | `Content-Length` over [`Verifier::max_body_bytes`](meetingbaas_webhooks::Verifier::max_body_bytes) | 413, before reading anything |
//! | a chunked body that passes the limit | 413, as soon as it does: nothing more is read |
//! | a body stream that fails (the client went away) | 400 `body_unreadable` |
//! | with [`Pipeline::parse_events`]: not a webhook envelope | 400 |
//! | with [`Pipeline::only`]: a verified event of another kind | 200 `{"status":"ignored"}` |
//! | with [`Pipeline::dedupe`]: a copy of a delivery already answered 2xx | 200 `{"status":"duplicate"}` |
//! | with `dedupe`: a copy arriving while the first is still being handled | 409 |
//! | with `dedupe`: the idempotency store cannot be reached | 503 (logged at warn) |
//! | with [`Pipeline::inbox`]: a verified delivery, stored | 202 `{"status":"queued","id":...}` |
//!
//! Every option is the pipeline's: the layer takes it whole and forwards nothing, so an option
//! added to the pipeline reaches the layer with no change. Every rejection has
//! `content-type: application/json`, the body
//! `{"error": "<snake_case code>", "message": "<one sentence>"}` ([`Error::to_json`]) and the
//! [`Error`] itself in the response extensions; the inner service is not called.
//!
//! [`Error`]: meetingbaas_webhooks_receiver::Error
//! [`Error::to_json`]: meetingbaas_webhooks_receiver::Error::to_json
//!
//! # What the inner service receives
//!
//! A `Request<`[`VerifiedBody`]`>` (an [`http_body_util::Full<Bytes>`]): the body exactly as
//! received and verified, the same buffer, not a copy. Its extensions hold the
//! [`VerifiedDelivery`] (scheme, message id,
//! idempotency key, raw body) and, when the layer parsed it, the
//! [`Event`].
//!
//! The layer is verify-only by default: the handler parses (into `Event`, or into its own type
//! with [`VerifiedDelivery::parse`](meetingbaas_webhooks::VerifiedDelivery::parse)). To parse in
//! the layer, or to let only some kinds through:
//!
//! ```
//! use meetingbaas_webhooks_tower::{EventKind, Pipeline, Verifier};
//! use meetingbaas_webhooks_tower::VerifyWebhookLayer;
//!
//! # fn main() -> Result<(), meetingbaas_webhooks_tower::ConfigError> {
//! let verifier = Verifier::builder().svix_secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").build()?;
//! let pipeline = Pipeline::new(verifier)
//!     .parse_events(true) // `Event` in the extensions; a non-envelope answered 400 by the layer
//!     .only([EventKind::BotCompleted, EventKind::BotFailed]); // others: 200 "ignored"
//! let layer = VerifyWebhookLayer::new(pipeline);
//! # let _ = layer;
//! # Ok(())
//! # }
//! ```
//!
//! # axum
//!
//! Put the webhook route in a router of its own with the layer as a
//! [`Router::route_layer`](https://docs.rs/axum/0.8/axum/struct.Router.html#method.route_layer)
//! (which protects every route added before it), merge it into the app, and take what the
//! layer left with the `Webhook` extractor (feature `axum`; it needs nothing from the router
//! state and parses when the layer only verified), or with axum's `Extension` (`Extension<Event>`
//! only with [`parse_events(true)`](Pipeline::parse_events)). Without a layer,
//! `StandaloneWebhook` verifies with the `Pipeline` from the router state.
//!
//! ```
//! use axum::{Extension, Router, routing::{get, on}};
//! use meetingbaas_webhooks_tower::{Event, Pipeline, Verifier, VerifyWebhookLayer};
//!
//! async fn handle(Extension(event): Extension<Event>) -> String {
//!     format!("received {}", event.name())
//! }
//!
//! # fn main() -> Result<(), meetingbaas_webhooks_tower::ConfigError> {
//! let verifier = Verifier::builder().signature_secret("s3cret").build()?;
//! let webhooks = Router::new()
//!     .route("/webhooks/meetingbaas", on(meetingbaas_webhooks_tower::delivery_methods(), handle))
//!     .route_layer(VerifyWebhookLayer::new(Pipeline::new(verifier).parse_events(true)));
//! let app: Router = Router::new()
//!     .route("/health", get(|| async { "ok" }))
//!     .merge(webhooks);
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! # hyper
//!
//! With hyper 1, serve the layered service through `hyper_util::service::TowerToHyperService`:
//!
//! ```no_run
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::Full;
//! use hyper_util::rt::TokioIo;
//! use hyper_util::service::TowerToHyperService;
//! use meetingbaas_webhooks_tower::Verifier;
//! use meetingbaas_webhooks_tower::{VerifiedBody, VerifyWebhookLayer};
//! use tower::ServiceBuilder;
//!
//! async fn handle(_req: Request<VerifiedBody>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from("ok"))))
//! }
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = ServiceBuilder::new()
//!     .layer(VerifyWebhookLayer::new(meetingbaas_webhooks_tower::receiver::env::verifier()?))
//!     .service_fn(handle);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! loop {
//!     let (stream, _) = listener.accept().await?;
//!     let service = TowerToHyperService::new(service.clone());
//!     tokio::spawn(async move {
//!         let io = TokioIo::new(stream);
//!         let _ = hyper::server::conn::http1::Builder::new()
//!             .serve_connection(io, service)
//!             .await;
//!     });
//! }
//! # }
//! ```
//!
//! # Security
//!
//! - The body is read under the verifier's limit: a `Content-Length` over it is refused before
//!   any byte is read, and a chunked body is dropped at the first frame that passes it, so a
//!   body never occupies more memory than the limit while it arrives (a chunked body past
//!   256 KiB is joined into one buffer once complete: twice its size for a moment, charged to
//!   the memory budget first). When a body is left unread, hyper closes
//!   the connection after answering rather than reading the rest.
//! - Only verified bytes reach the inner service, and they are the bytes that were verified.
//! - Rejections are logged by the core at debug level only (feature `tracing`); this crate adds
//!   no log of its own, so forged requests cannot flood an error log.
//! - The layer only verifies: deliveries are at-least-once, so deduplicate with
//!   [`VerifiedDelivery::idempotency_key`](meetingbaas_webhooks::VerifiedDelivery::idempotency_key)
//!   where handling twice matters.
//!
//! # Features
//!
//! - `axum`: `Webhook<T>` (behind the layer) and `StandaloneWebhook<T>` (verifying with the
//!   router state's `Pipeline`), axum 0.8 extractors for the verified delivery and its typed
//!   event, with `WebhookRejection`.
//! - `testing`: the `testing` module, signed test requests and sample events for your own
//!   tests.
//! - `redis`: re-exports the core's `RedisStore`, deduplication shared by replicas.
//! - `metrics`: the pipeline's metrics through the `metrics` facade.
//!
//! Everything a handler needs from the core is re-exported here (`Verifier`, `Event`,
//! `EventKind`, `Signer`, `VerifiedDelivery`, the error types, `Deduplicator`...), and the core
//! itself as [`core`]: this crate is the only dependency to add.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod answer;
#[cfg(feature = "axum")]
mod axum;
mod body;
mod collect;
mod future;
mod intake;
mod layer;
#[cfg(feature = "rate-limit")]
pub mod limit;
#[cfg(feature = "axum")]
mod method;
mod service;

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "axum")]
pub use crate::axum::{StandaloneWebhook, Webhook, WebhookRejection};
pub use crate::body::{ResponseBody, VerifiedBody};
pub use crate::future::ResponseFuture;
pub use crate::intake::Intake;
pub use crate::layer::VerifyWebhookLayer;
#[cfg(feature = "rate-limit")]
pub use crate::limit::FailureLimitLayer;
#[cfg(feature = "axum")]
pub use crate::method::delivery_methods;
pub use crate::service::VerifyWebhook;
pub use meetingbaas_webhooks_receiver::{EndpointConfig, MemoryBudget, Outcome, Pipeline};

// What a handler needs from the core, so that this crate is the only dependency to add.
/// The core crate, `meetingbaas-webhooks`, for everything not re-exported at this crate's root
/// (the event payload types in `core::event`...).
pub use meetingbaas_webhooks as core;
pub use meetingbaas_webhooks::{
    Bytes, ConfigError, Event, EventKind, EventName, FixedClock, IdempotencyKey, ParseError,
    Scheme, SignedHeaders, Signer, Value, VerifiedDelivery, Verifier, VerifierBuilder, VerifyError,
};
/// The receiving crate, `meetingbaas-webhooks-receiver`, for everything of the pipeline not
/// re-exported at this crate's root (`receiver::idempotency`, `receiver::limit`, `Answer`...).
pub use meetingbaas_webhooks_receiver as receiver;
#[cfg(feature = "redis")]
pub use meetingbaas_webhooks_receiver::idempotency::RedisStore;
pub use meetingbaas_webhooks_receiver::idempotency::{Deduplicator, MemoryStore};
pub use meetingbaas_webhooks_receiver::{Error, IdempotencyError};

#[cfg(test)]
mod tests;

/// The README's examples, compiled as doc tests.
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
