//! Exactly-once handling of at-least-once deliveries.
//!
//! Meeting BaaS retries any non-2xx answer for hours, and Svix delivers at least once, so the
//! same delivery can arrive several times, on several replicas. A [`Deduplicator`] sits in front
//! of the handler (every adapter wires it the same way):
//!
//! | situation | answer |
//! |---|---|
//! | first delivery | claimed, the handler runs; a 2xx answer completes the claim, anything else (another status, an error, a panic, a dropped request) releases it so the sender's retry is processed |
//! | duplicate of a completed delivery | 200 `{"status":"duplicate"}`, handler not called |
//! | duplicate while the first is still running | 409 (the sender retries later) |
//! | store unreachable | 503 (the sender retries), logged at warn; never a silent pass or drop |
//!
//! Deliveries are recognised by their [`IdempotencyKey`]. Stores implement
//! [`IdempotencyStore`]: [`MemoryStore`] for one process, `RedisStore` (feature `redis`) for
//! replicas sharing one Redis.
//!
//! ```
//! use meetingbaas_webhooks_receiver::idempotency::{Begin, Deduplicator, MemoryStore};
//! use meetingbaas_webhooks::{Bytes, Verifier};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder().callback_secret("s3cret").build()?;
//! let dedupe = Deduplicator::new(MemoryStore::default());
//! let delivery = verifier.verify(&[("x-mb-secret", "s3cret")], Bytes::from_static(br#"{"event":"complete"}"#))?;
//!
//! let Begin::Proceed(claim) = dedupe.begin(&delivery).await? else { unreachable!() };
//! // ... the handler runs and succeeds ...
//! claim.complete().await?;
//!
//! // The same delivery again is recognised.
//! assert!(matches!(dedupe.begin(&delivery).await?, Begin::Duplicate));
//! # Ok(())
//! # }
//! ```

mod deduplicator;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod store;
mod unavailable;

pub use deduplicator::{
    Begin, BeginFuture, ClaimGuard, DEDUPE_ENV_VAR, DEFAULT_LEASE, DEFAULT_TTL, DedupeSettingError,
    Deduplicator, FinishFuture,
};
pub use meetingbaas_webhooks::IdempotencyKey;
pub use memory::{DEFAULT_CAPACITY, MemoryStore};
#[cfg(feature = "redis")]
pub use redis::RedisStore;
pub use store::{Claim, IdempotencyStore, StoreError, StoreFuture};
pub use unavailable::UnavailableStore;

/// The body of the 200 answer to a duplicate of a completed delivery.
pub const DUPLICATE_ANSWER: &str = r#"{"status":"duplicate"}"#;
