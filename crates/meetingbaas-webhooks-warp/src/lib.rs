//! [warp](https://docs.rs/warp) filters for verified, typed
//! [Meeting BaaS](https://meetingbaas.com) webhook deliveries.
//!
//! Add [`event`] to a route and the handler only runs for a delivery that was verified and
//! parsed into an [`Event`]; end the route with
//! `.recover(`[`recover`]`)` so that refusals are answered as the contract says. To run the
//! handler once per delivery, however often the sender retries, give it to [`WebhookConfig`] (see
//! [Deduplication](#deduplication)).
//!
//! # Example
//!
//! ```
//! use meetingbaas_webhooks_warp::{Event, Signer, Verifier, VerifiedDelivery};
//! use warp::Filter;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder().signature_secret("s3cret").build()?;
//! let route = meetingbaas_webhooks_warp::delivery_method()
//!     .and(warp::path!("webhooks" / "meetingbaas"))
//!     .and(meetingbaas_webhooks_warp::event(verifier))
//!     .map(|_delivery: VerifiedDelivery, event: Event| {
//!         format!("{} for {:?}", event.name(), event.bot_id())
//!     })
//!     .recover(meetingbaas_webhooks_warp::recover);
//!
//! // A delivery signed as Meeting BaaS signs it: the handler runs.
//! let body = r#"{"event":"meeting.completed","data":{"bot_id":"b-1"}}"#;
//! let mut request = warp::test::request().method("POST").path("/webhooks/meetingbaas");
//! for (name, value) in Signer::signature("s3cret")?.sign(body.as_bytes(), "", 0) {
//!     request = request.header(name, value);
//! }
//! let response = request.body(body).reply(&route).await;
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.body(), "meeting.completed for Some(\"b-1\")");
//!
//! // Anything else is refused with the contract's status and JSON body.
//! let response = warp::test::request()
//!     .method("POST")
//!     .path("/webhooks/meetingbaas")
//!     .body(body)
//!     .reply(&route)
//!     .await;
//! assert_eq!(response.status(), 401);
//! assert_eq!(response.headers()["content-type"], "application/json");
//! # Ok(())
//! # }
//! ```
//!
//! # Filters
//!
//! - [`verified`]: extracts the [`VerifiedDelivery`]
//!   (raw body, scheme, message id); does not parse.
//! - [`event`]: extracts the delivery and its [`Event`] (the same
//!   as `json::<Event>`).
//! - [`json`]: extracts the delivery and the body parsed into any `serde` type.
//! - [`WebhookConfig::handle`]: the whole endpoint around your handler, deduplicated with
//!   [`Pipeline::dedupe`]; extracts the handler's reply.
//!
//! Each reads the request body, so a route holds at most one of them and no other body filter.
//! They do not match a method or a path: combine them with `warp::post()` and `warp::path!`.
//!
//! # Deduplication
//!
//! Meeting BaaS delivers at least once and retries any non-2xx answer for hours, on any replica.
//! A filter cannot see the reply built after it, so deduplication takes the handler:
//! `WebhookConfig::new(Pipeline::new(verifier).dedupe(deduplicator)).handle(handler)` verifies and parses, claims
//! the delivery with the [`Deduplicator`] (a
//! `MemoryStore` for one process, a `RedisStore` shared by replicas), runs the handler, and
//! completes the claim when its reply is 2xx or releases it otherwise (a panic or a dropped
//! request releases it too). A copy of a handled delivery is answered
//! `200 {"status":"duplicate"}` without running the handler, a copy of one still running `409`,
//! and an unreachable store `503`. The [`WebhookConfig`] docs have a runnable example.
//!
//! # Answers
//!
//! Refusals are [`WebhookRejection`]s, which [`recover`] answers with the status the core chose
//! and its JSON body `{"error": "<code>", "message": "<one sentence>"}`
//! (`content-type: application/json`), the same as every other adapter of the
//! `meetingbaas-webhooks` family:
//!
//! | request | status |
//! |---|---|
//! | no credentials for any enabled scheme, or wrong, malformed or stale ones | 401 |
//! | body over the limit, declared by `Content-Length` or found while streaming | 413 |
//! | verified, but not JSON, or JSON that does not fit the type and is no webhook envelope (an object with a string `event`) | 400 |
//! | verified envelope that does not fit your own type `T` (the [`event`] filter never refuses an envelope for its data) | 422 |
//! | [`Pipeline::dedupe`]: a copy of a delivery handled successfully | 200 `{"status":"duplicate"}` (a reply, not a rejection) |
//! | [`Pipeline::dedupe`]: a copy of a delivery still being handled | 409 |
//! | [`Pipeline::dedupe`]: the idempotency store unreachable (logged at warn by the core) | 503 |
//!
//! Without `.recover(recover)` warp answers these rejections with `500`. Other rejections
//! (a wrong method or path) are passed on untouched.
//!
//! # Body limit
//!
//! The limit is the verifier's ([`Verifier::max_body_bytes`](meetingbaas_webhooks::Verifier::max_body_bytes),
//! 8 MiB by default). warp's own `body::content_length_limit` refuses chunked bodies (`411`) and
//! `body::bytes` has no limit, so these filters read the body themselves: a declared
//! `Content-Length` over the limit is refused before anything is read, and a chunked body is read
//! frame by frame and refused the moment it passes the limit, so memory per request stays
//! bounded.
//!
//! # Logging
//!
//! Rejections are logged by the core at debug level only, so that forged requests cannot flood an
//! error log. warp itself logs every connection that sends malformed HTTP at error level (target
//! `warp::server`): filter that target out if the error log must not be floodable (the
//! `meetingbaas-example-warp` example shows how).
//!
//! # Features
//!
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

mod filters;
mod intake;
mod method;
mod rejection;
mod webhooks;

#[cfg(feature = "testing")]
pub mod testing;
pub use filters::{event, json, verified};
pub use intake::intake;
pub use meetingbaas_webhooks_receiver::{EndpointConfig, MemoryBudget, Outcome, Pipeline};
pub use method::delivery_method;

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
pub use rejection::{WebhookRejection, recover};
pub use webhooks::WebhookConfig;
#[allow(deprecated)]
pub use webhooks::Webhooks;

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
