//! Verify and parse [Meeting BaaS](https://meetingbaas.com) webhook deliveries.
//!
//! This is the framework-free core of the `meetingbaas-webhooks` crate family. It knows the wire
//! protocol (five authentication schemes and every event name across API generations) and nothing of
//! HTTP frameworks: give it the raw body and a way to look up headers ([`HeaderLookup`]) and it
//! answers with a [`VerifiedDelivery`] or a [`VerifyError`]. The adapter crates
//! (`meetingbaas-webhooks-tower`, `-actix`, `-warp`) only buffer the body, call this crate and
//! turn its errors into responses.
//!
//! # Example
//!
//! ```
//! use meetingbaas_webhooks::{Event, FixedClock, Signer, Verifier};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
//! let verifier = Verifier::builder()
//!     .svix_secret(secret)
//!     .clock(FixedClock::new(1_700_000_000))
//!     .build()?;
//!
//! // What Meeting BaaS (through Svix) sends: a body and three headers.
//! let body = br#"{"event":"bot.failed","data":{"bot_id":"b-1","error_code":"BOT_NOT_ACCEPTED"}}"#;
//! let headers = Signer::svix(secret)?.sign(body, "msg_1", 1_700_000_000);
//!
//! // Verify first (headers are looked up by name, case-insensitively)...
//! let delivery = verifier.verify(&headers.to_pairs(), body.to_vec().into())?;
//! assert_eq!(delivery.message_id(), Some("msg_1"));
//!
//! // ...then parse, as a separate and explicit step.
//! let event = delivery.parse_event()?;
//! assert_eq!(event.bot_id(), Some("b-1"));
//! assert!(matches!(event, Event::BotFailed { .. }));
//! # Ok(())
//! # }
//! ```
//!
//! # Security
//!
//! - Only the schemes you enable are accepted: a valid `X-MeetingBaas-Signature` is refused by a
//!   verifier that only has a Svix secret (no downgrade).
//! - MACs and tokens are compared in constant time ([`subtle`]); tokens are compared as SHA-256
//!   digests so that their length does not leak either.
//! - Timestamps are parsed and compared with checked arithmetic; any header value, of any length,
//!   is a plain rejection at worst, never a panic.
//! - Neither `Debug`, `Display` nor any error value contains a secret or an expected MAC.
//! - Secrets are validated when the [`Verifier`] is built, never at request time.
//!
//! # Features
//!
//! - `std` (default): the system clock and `std::error::Error`. Without it the crate is `no_std` +
//!   `alloc` and a [`Clock`] must be supplied when the Svix scheme is enabled.
//! - `http`: [`HeaderLookup`] for `http::HeaderMap` and [`SignedHeaders::to_header_map`].
//! - `redis`: [`idempotency::RedisStore`], deduplication shared by replicas through Redis
//!   (tokio).
//! - `ring`: compute HMAC-SHA256 with `ring` (about 1.85x faster than the default RustCrypto on
//!   CPUs without SHA extensions; same bytes).
//! - `testing`: the `testing` module, signed deliveries of any scheme and sample events with a chosen bot
//!   id, for your own tests (the adapters turn them into their framework's test requests).
//! - `tracing`: a debug-level `tracing` event for every rejection (never above debug, so that a
//!   flood of forged requests cannot flood an error log), and a warn-level one for a verified
//!   delivery whose fields did not all fit their types.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod body;
mod clock;
#[cfg(feature = "std")]
pub mod config;
mod delivery;
#[cfg(feature = "std")]
mod env;
mod error;
pub mod event;
mod headers;
#[cfg(feature = "std")]
pub mod idempotency;
#[cfg(not(feature = "std"))]
#[path = "idempotency/key.rs"]
mod idempotency_key;
#[cfg(feature = "rate-limit")]
pub mod limit;
mod log;
mod mac;
#[cfg(feature = "pipeline")]
pub mod pipeline;
#[cfg(feature = "redis")]
pub mod redis_connection;
mod scheme;
mod secret;
mod sign;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "std")]
mod unique;
mod verifier;

pub use body::{BodyCollector, DEFAULT_MAX_BODY_BYTES, SEGMENT_BYTES, content_length};
#[cfg(feature = "std")]
pub use clock::SystemClock;
pub use clock::{Clock, FixedClock};
#[cfg(feature = "std")]
pub use config::{CONFIG_ENV_VAR, EndpointConfig, EndpointConfigError};
pub use delivery::{DELIVERY_METHODS, VerifiedDelivery, is_delivery_method};
#[cfg(feature = "std")]
pub use env::{MAX_BODY_ENV_VAR, SECRET_ENV_VARS};
pub use error::{
    ConfigError, Error, IdempotencyError, MAX_MESSAGE_BYTES, ParseError, RETRY_AFTER_SECS,
    Unavailable, VerifyError,
};
pub use event::{Event, EventKind, EventName, Generation};
pub use headers::{HeaderLookup, header_names};
#[cfg(feature = "std")]
pub use idempotency::IdempotencyKey;
#[cfg(not(feature = "std"))]
pub use idempotency_key::IdempotencyKey;
pub use scheme::Scheme;
pub use sign::{SignedHeaders, Signer};
pub use verifier::{DEFAULT_TOLERANCE, Verifier, VerifierBuilder};

/// Re-exported so that users can build bodies without naming `bytes` themselves.
pub use bytes::Bytes;
/// Re-exported: the type of `extra` and of unknown events' data.
pub use serde_json::Value;

/// The README's examples, compiled as doc tests.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
