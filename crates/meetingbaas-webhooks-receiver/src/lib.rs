//! The receiving pipeline: every step between "bytes arrived" and "answer sent", in one order,
//! for every adapter.
//!
//! An adapter does three things, and nothing else:
//!
//! 1. [`Pipeline::read`] the body (a stream of chunks) under the limit, the body deadline and
//!    the in-flight memory budget;
//! 2. [`Pipeline::admit`] it with the request headers: verify, parse as asked, filter by kind,
//!    claim (deduplication), in that order;
//! 3. map the [`Admission`]: [`Answered`](Admission::Answered) with the [`Answer`] the pipeline
//!    gives itself (queued, duplicate, ignored, refused), or [`Handle`](Admission::Handle) with
//!    a [`Ticket`] for the handler, whose [`Completion`] is finished with the handler's status.
//!
//! | step | answer when it refuses |
//! |---|---|
//! | endpoint disabled ([`Pipeline::enabled`]) | 503 + `Retry-After`, nothing read |
//! | declared `Content-Length` over the limit | 413, nothing read |
//! | declared length or received bytes over the memory budget | 503 + `Retry-After` |
//! | body over the limit while streaming | 413, the rest never read |
//! | body not complete within the deadline | 408 |
//! | broken stream | 400 |
//! | verification | 401 |
//! | parse (`Event`: only a non-envelope; your own `T`: also 422) | 400 / 422 |
//! | kind not wanted ([`Pipeline::only`]) | 200 `{"status":"ignored"}` |
//! | deduplication | 200 `{"status":"duplicate"}`, 409 running, 503 store down |
//! | inbox ([`Pipeline::inbox`], instead of the handler) | 202 `{"status":"queued"}`, 200 duplicate, 503 inbox down |
//!
//! ```
//! use meetingbaas_webhooks_receiver::{Admission, Answer, Pipeline};
//! use meetingbaas_webhooks_receiver::core::{Bytes, Event, Signer, Verifier};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pipeline = Pipeline::new(Verifier::builder().signature_secret("s3cret").build()?);
//!
//! let body = r#"{"event":"bot.failed","data":{"bot_id":"b-1"}}"#;
//! let headers = Signer::signature("s3cret")?.sign(body.as_bytes(), "", 0);
//! // An adapter's body stream; here one chunk.
//! let chunks = [Ok::<_, std::convert::Infallible>(Bytes::from(body))];
//! let stream = futures_util::stream::iter(chunks);
//!
//! let refused = |answer: Answer| format!("refused with {}", answer.status());
//! let received = pipeline.read(&headers, stream).await.map_err(refused)?;
//! let Admission::Handle(ticket) = pipeline.admit::<Event, _>(&headers, received).await else {
//!     panic!("a verified delivery of a wanted kind goes to the handler");
//! };
//! let (_delivery, _, event, completion) = ticket.into_parts();
//! assert_eq!(event.bot_id(), Some("b-1"));
//! // ...the handler runs, then:
//! let outcome = completion.finish(200).await;
//! assert_eq!(outcome.status(), 200);
//! # Ok(())
//! # }
//! ```
//!
//! # The crates around it
//!
//! The protocol (schemes, verifier, event model, signing) is the `no_std` core,
//! [`meetingbaas_webhooks`], re-exported here as [`core`]. The adapters
//! (`meetingbaas-webhooks-tower`, `-actix`, `-warp`) read the body and map this crate's
//! [`Answer`] to their framework's response; the durable inbox (`meetingbaas-webhooks-inbox`)
//! implements [`Inbox`].
//!
//! # Features
//!
//! - `redis`: [`idempotency::RedisStore`], deduplication shared by replicas, and
//!   [`redis_connection`], the Redis connection handling the inbox shares.
//! - `metrics`: the pipeline's metrics through the `metrics` facade (names below).
//! - `testing`: the [`testing`] module, signed deliveries of any scheme and sample events with a
//!   chosen bot id, for your own tests.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
pub mod client;
mod config;
pub mod env;
mod error;
pub mod idempotency;
pub mod limit;
mod pipeline;
#[cfg(feature = "redis")]
pub mod redis_connection;
pub mod secrets;
#[cfg(feature = "testing")]
pub mod testing;

pub use body::{BodyCollector, SEGMENT_BYTES, content_length};
pub use client::ClientAddr;
pub use config::{CONFIG_ENV_VAR, DEFAULT_ROUTE, EndpointConfig, EndpointConfigError};
pub use env::{MAX_BODY_ENV_VAR, SECRET_ENV_VARS};
pub use error::{Error, IdempotencyError, Misconfigured, RETRY_AFTER_SECS, Unavailable};
pub use pipeline::{
    Admission, Admit, Answer, BODY_BYTES, Completion, DEFAULT_BODY_DEADLINE, DEFAULT_MEMORY_BUDGET,
    DELIVERIES_TOTAL, DUPLICATES_TOTAL, EnqueueFuture, Enqueued, EventLabel, Finish,
    HANDLER_DURATION_SECONDS, IGNORED_ANSWER, Inbox, InboxError, METRIC_PREFIX, MemoryBudget,
    Outcome, Pipeline, Read, Received, Ticket, VERIFY_DURATION_SECONDS, parse_into, queued_body,
};
pub use secrets::{CallbackSecretCache, CallbackSecrets, LookupError, LookupFuture};

/// The protocol core, `meetingbaas-webhooks`: schemes, verifier, event model, signing.
pub use meetingbaas_webhooks as core;

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
