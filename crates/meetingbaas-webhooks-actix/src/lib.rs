//! [actix-web](https://actix.rs) extractors for verified, typed
//! [Meeting BaaS](https://meetingbaas.com) webhook deliveries.
//!
//! Register a [`WebhookConfig`] (holding a [`Pipeline`], every receiving option set on it) with
//! `app_data`, and take a [`Webhook`] in the handler: it only runs for a delivery that was
//! verified and parsed into an [`Event`]. To run it once per
//! delivery, however often the sender retries, add [`Pipeline::dedupe`] and the
//! [`Idempotency`] middleware (see [Deduplication](#deduplication)).
//!
//! # Example
//!
//! ```
//! use actix_web::{App, HttpResponse, test, web};
//! use meetingbaas_webhooks_actix::{Signer, Verifier};
//! use meetingbaas_webhooks_actix::{Webhook, WebhookConfig};
//!
//! async fn receive(webhook: Webhook) -> HttpResponse {
//!     HttpResponse::Ok().body(format!("{} for {:?}", webhook.name(), webhook.bot_id()))
//! }
//!
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder().signature_secret("s3cret").build()?;
//! let app = test::init_service(
//!     App::new()
//!         .app_data(WebhookConfig::new(verifier))
//!         .service(web::resource("/webhooks/meetingbaas").route(meetingbaas_webhooks_actix::delivery_route().to(receive))),
//! )
//! .await;
//!
//! // A delivery signed as Meeting BaaS signs it: the handler runs.
//! let body = r#"{"event":"meeting.completed","data":{"bot_id":"b-1"}}"#;
//! let mut request = test::TestRequest::post().uri("/webhooks/meetingbaas");
//! for header in Signer::signature("s3cret")?.sign(body.as_bytes(), "", 0) {
//!     request = request.insert_header(header);
//! }
//! let response = test::call_service(&app, request.set_payload(body).to_request()).await;
//! assert_eq!(response.status(), 200);
//! assert_eq!(test::read_body(response).await, "meeting.completed for Some(\"b-1\")");
//!
//! // Anything else is refused with the contract's status and JSON body.
//! let request = test::TestRequest::post().uri("/webhooks/meetingbaas").set_payload(body);
//! let response = test::call_service(&app, request.to_request()).await;
//! assert_eq!(response.status(), 401);
//! # Ok(())
//! # }
//! ```
//!
//! # Extractors
//!
//! - [`Webhook`] (`Webhook<Event>`): verified, then parsed into an
//!   [`Event`].
//! - `Webhook<T>`: verified, then parsed into any `serde` type `T` (your own, or a
//!   `serde_json::Value`) with
//!   [`VerifiedDelivery::parse`](meetingbaas_webhooks::VerifiedDelivery::parse).
//! - `Webhook<serde::de::IgnoredAny>`: verified only (nothing is parsed; the body need not even
//!   be JSON); the raw body in [`Webhook::delivery`] is yours to store, forward or
//!   parse later.
//!
//! It consumes the request body, so a handler takes at most one, as its last body-reading
//! argument.
//!
//! # Deduplication
//!
//! Meeting BaaS delivers at least once and retries any non-2xx answer for hours, on any replica.
//! Give the pipeline a [`Deduplicator`] ([`Pipeline::dedupe`]; a `MemoryStore` for one process,
//! a `RedisStore` shared by replicas) and wrap the routes with the [`Idempotency`] middleware,
//! and each delivery's handler runs once:
//!
//! - the extractor, after verifying and parsing, claims the delivery; the handler runs;
//! - the middleware completes the claim when the handler answers 2xx, and releases it for any
//!   other answer, so that the sender's retry is processed; a panic or a dropped request drops
//!   the claim, which releases it too;
//! - a copy of a handled delivery is answered `200 {"status":"duplicate"}` without running the
//!   handler: the extractor fails with a [`WebhookRejection`] whose response is that 200;
//! - a copy arriving while the first still runs is answered `409`, and an unreachable store
//!   `503` (logged at warn): the sender retries later.
//!
//! A deduplicating configuration without the middleware is refused with `500` (logged once at
//! error level) rather than leave every claim unfinished. The
//! [`Idempotency`] docs have a runnable example.
//!
//! # Answers
//!
//! Refusals are [`WebhookRejection`]s, answered with the status the pipeline chose and its JSON body
//! `{"error": "<code>", "message": "<one sentence>"}` (`content-type: application/json`), the
//! same as every other adapter of the `meetingbaas-webhooks` family:
//!
//! | request | status |
//! |---|---|
//! | no credentials for any enabled scheme, or wrong, malformed or stale ones | 401 |
//! | body over the limit, declared by `Content-Length` or found while streaming | 413 |
//! | verified, but not JSON, or JSON that does not fit the type and is no webhook envelope (an object with a string `event`) | 400 |
//! | verified envelope that does not fit your own type `T` (an [`Event`] never refuses an envelope for its data: what did not fit is on `Event::issues`) | 422 |
//! | with deduplication: a copy of a delivery handled successfully | 200 `{"status":"duplicate"}` |
//! | with deduplication: a copy of a delivery still being handled | 409 |
//! | with deduplication: the idempotency store unreachable | 503 |
//! | no [`WebhookConfig`] registered for the route (a deployment bug, logged once at error level) | 500 |
//! | deduplication without the [`Idempotency`] middleware (a deployment bug, logged once at error level) | 500 |
//!
//! # Body limit
//!
//! The limit is the verifier's ([`Verifier::max_body_bytes`](meetingbaas_webhooks::Verifier::max_body_bytes),
//! 8 MiB by default), or lower with [`Pipeline::limit`]. A declared `Content-Length` over it
//! is refused before anything is read; a chunked body is read frame by frame and refused the
//! moment it passes the limit, so memory per request stays bounded. The body is kept exactly as
//! received (no decompression): signatures are over those bytes.
//!
//! # Logging
//!
//! Rejections are logged by the pipeline at debug level only, so that forged requests cannot flood an
//! error log. The error-level events are the deployment bugs (a missing configuration, a missing
//! middleware), each emitted once per process; an unreachable idempotency store is logged at warn
//! level by the core.
//! actix-http itself logs every malformed HTTP request at error level (target
//! `actix_http::h1::dispatcher`): filter that target out if the error log must not be floodable
//! (the `meetingbaas-example-actix` example shows how).
//!
//! # Features
//!
//! - `testing`: the `testing` module, signed test requests and sample events for your own
//!   tests.
//! - `redis`: re-exports the core's `RedisStore`, deduplication shared by replicas.
//! - `metrics`: the pipeline's metrics through the `metrics` facade.
//! - `rate-limit`: the [`FailureLimit`] middleware, a per-client limit on deliveries that fail
//!   verification (401, 408, 413) that never throttles verified ones: Meeting BaaS sends from a
//!   few addresses, and each 429 costs it an attempt (see the [`limit`] module).
//!
//! Everything a handler needs from the core is re-exported here (`Verifier`, `Event`,
//! `EventKind`, `Signer`, `VerifiedDelivery`, the error types, `Deduplicator`...), and the core
//! itself as [`core`]: this crate is the only dependency to add.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod extract;
mod headers;
mod idempotency;
mod intake;
#[cfg(feature = "rate-limit")]
pub mod limit;
mod method;
mod middleware;
mod rejection;

#[cfg(feature = "testing")]
pub mod testing;
pub use config::WebhookConfig;
pub use extract::Webhook;
pub use idempotency::{Idempotency, IdempotencyMiddleware};
pub use intake::intake;
#[cfg(feature = "rate-limit")]
pub use limit::{FailureLimit, FailureLimitMiddleware, Quota};
pub use meetingbaas_webhooks_receiver::{EndpointConfig, MemoryBudget, Outcome, Pipeline};
pub use method::delivery_route;
pub use middleware::{VerifyWebhook, VerifyWebhookMiddleware};
pub use rejection::WebhookRejection;

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

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
