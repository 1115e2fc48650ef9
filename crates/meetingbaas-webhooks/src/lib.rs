//! Verify and parse [Meeting BaaS](https://meetingbaas.com) webhook deliveries.
//!
//! This is the framework-free core of the `meetingbaas-webhooks` crate family. It knows the wire
//! protocol (five authentication schemes and every event name across API generations) and nothing of
//! HTTP frameworks: give it the raw body and a way to look up headers ([`HeaderLookup`]) and it
//! answers with a [`VerifiedDelivery`] or a [`VerifyError`]. It is `no_std` + `alloc`, with no
//! runtime: the receiving pipeline (body reading under limits and budgets, deduplication, the
//! inbox hand-off, logs and metrics) is the `meetingbaas-webhooks-receiver` crate, and the
//! adapters (`meetingbaas-webhooks-tower`, `-actix`, `-warp`) read the body, call that pipeline
//! and map its answers to responses.
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
//! - `ring`: compute HMAC-SHA256 with `ring` (about 1.85x faster than the default RustCrypto on
//!   CPUs without SHA extensions; same bytes).
//! - `tracing`: a debug-level `tracing` event for every rejection (never above debug, so that a
//!   flood of forged requests cannot flood an error log), and a warn-level one for a verified
//!   delivery whose fields did not all fit their types.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod clock;
mod delivery;
mod error;
pub mod event;
mod headers;
mod idempotency_key;
mod log;
mod mac;
mod scheme;
mod secret;
mod sign;
#[cfg(feature = "std")]
mod unique;
mod verifier;

#[cfg(feature = "std")]
pub use clock::SystemClock;
pub use clock::{Clock, FixedClock};
pub use delivery::{DELIVERY_METHODS, VerifiedDelivery, is_delivery_method};
pub use error::{ConfigError, MAX_MESSAGE_BYTES, ParseError, VerifyError, excerpt};
pub use event::{Event, EventKind, EventName, Generation};
pub use headers::{HeaderLookup, header_names};
pub use idempotency_key::IdempotencyKey;
pub use scheme::Scheme;
pub use secret::SecretDigest;
pub use sign::{SignedHeaders, Signer};
#[cfg(feature = "std")]
pub use unique::unique_id;
pub use verifier::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_TOLERANCE, Precheck, Verifier, VerifierBuilder,
};

/// Re-exported so that users can build bodies without naming `bytes` themselves.
pub use bytes::Bytes;
/// Re-exported: the type of `extra` and of unknown events' data.
pub use serde_json::Value;

/// The README's examples, compiled as doc tests.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
