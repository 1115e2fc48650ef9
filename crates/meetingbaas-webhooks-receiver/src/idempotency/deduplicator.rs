//! The deduplication rule every adapter applies in front of the handler.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::time::Duration;
use std::boxed::Box;
use std::string::String;
use std::sync::Arc;

use super::store::{Claim, IdempotencyStore, StoreError};
use crate::error::IdempotencyError;
use meetingbaas_webhooks::VerifiedDelivery;

/// How long a claim holds off duplicates while the handler runs, by default: 60 seconds (twice
/// the 30 s the sender waits for an answer). A claim whose process died frees itself after it.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// How long a completed delivery is remembered, by default: 24 hours, longer than the sender's
/// retry window (about 3 hours for v2 webhooks).
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The environment variable that turns deduplication on in the examples: `memory`, or a
/// `redis://` URL.
pub const DEDUPE_ENV_VAR: &str = "MEETINGBAAS_DEDUPE";

/// Why deduplication could not be set up from its setting ([`Deduplicator::from_setting`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DedupeSettingError {
    /// The setting is not one this build understands.
    #[error("{DEDUPE_ENV_VAR} is {0}")]
    Invalid(&'static str),
    /// The store could not be reached.
    #[error("{DEDUPE_ENV_VAR}: {0}")]
    Store(StoreError),
}

/// Applies the deduplication rule with a store, a lease and a time to live. Cheap to clone.
#[derive(Clone)]
pub struct Deduplicator {
    store: Arc<dyn IdempotencyStore>,
    lease: Duration,
    ttl: Duration,
}

/// What [`Deduplicator::begin`] decided.
#[derive(Debug)]
#[must_use = "a claim must be completed or released"]
pub enum Begin {
    /// First delivery: run the handler, then [`ClaimGuard::finish`] with its outcome.
    Proceed(ClaimGuard),
    /// Already handled successfully: answer 200 [`DUPLICATE_ANSWER`](super::DUPLICATE_ANSWER)
    /// without running the handler.
    Duplicate,
}

impl Deduplicator {
    /// Deduplicates with `store`, [`DEFAULT_LEASE`] and [`DEFAULT_TTL`].
    pub fn new(store: impl IdempotencyStore) -> Self {
        Deduplicator::from_arc(Arc::new(store))
    }

    /// Deduplicates with a shared store.
    pub fn from_arc(store: Arc<dyn IdempotencyStore>) -> Self {
        Deduplicator {
            store,
            lease: DEFAULT_LEASE,
            ttl: DEFAULT_TTL,
        }
    }

    /// How long a claim holds off duplicates while the handler runs.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long a completed delivery is remembered.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Deduplication as configured by `MEETINGBAAS_DEDUPE` (see [`Deduplicator::from_setting`]).
    pub async fn from_env() -> Result<Option<Deduplicator>, DedupeSettingError> {
        Deduplicator::from_setting(std::env::var(DEDUPE_ENV_VAR).ok().as_deref()).await
    }

    /// Deduplication from a setting: absent or empty, none; `memory`, a [`MemoryStore`]; a
    /// `redis://` URL, a `RedisStore` connected now (feature `redis`); `rediss://` (TLS) is
    /// refused with a message saying how to reach a TLS-only server.
    ///
    /// [`MemoryStore`]: super::MemoryStore
    pub async fn from_setting(
        setting: Option<&str>,
    ) -> Result<Option<Deduplicator>, DedupeSettingError> {
        let setting = setting.map(str::trim).unwrap_or_default();
        if setting.is_empty() {
            return Ok(None);
        }
        if setting == "memory" {
            return Ok(Some(Deduplicator::new(super::MemoryStore::default())));
        }
        if setting.starts_with("redis://") || setting.starts_with("rediss://") {
            #[cfg(feature = "redis")]
            {
                let store = super::RedisStore::connect(setting)
                    .await
                    .map_err(DedupeSettingError::Store)?;
                return Ok(Some(Deduplicator::new(store)));
            }
            #[cfg(not(feature = "redis"))]
            return Err(DedupeSettingError::Invalid(
                "a Redis URL, but this build has no `redis` feature",
            ));
        }
        Err(DedupeSettingError::Invalid(
            "neither `memory` nor a `redis://` URL",
        ))
    }

    /// Claims `delivery`. `Err(InProgress)` (409) while another claim runs, `Err(StoreUnavailable)`
    /// (503) when the store cannot answer.
    ///
    /// The future owns what it needs (no borrow of `self` or `delivery`), so adapters can keep it
    /// in their own futures.
    pub fn begin(&self, delivery: &VerifiedDelivery) -> BeginFuture {
        let store = Arc::clone(&self.store);
        let (lease, ttl) = (self.lease, self.ttl);
        let key = String::from(delivery.idempotency_key().as_str());
        let token = meetingbaas_webhooks::unique_id("claim_", key.as_bytes());
        Box::pin(async move {
            // Until the store answers, the claim may still land (a frozen store applies it
            // late; a dropped request never hears back): released by its token unless the
            // answer says otherwise, so that no orphaned claim holds off the sender's retries.
            let mut pending = ClaimGuard {
                store: Arc::clone(&store),
                key,
                token,
                ttl,
                finished: false,
            };
            let claimed = store.claim(&pending.key, &pending.token, lease).await;
            match claimed {
                Ok(Claim::Acquired) => Ok(Begin::Proceed(pending)),
                Ok(Claim::Completed) => {
                    pending.finished = true;
                    Ok(Begin::Duplicate)
                }
                Ok(Claim::InProgress) => {
                    pending.finished = true;
                    Err(IdempotencyError::InProgress)
                }
                // `pending` drops unfinished: a late claim is released by its token.
                Err(err) => Err(unavailable(&err)),
            }
        })
    }
}

/// The future of [`Deduplicator::begin`].
pub type BeginFuture =
    Pin<Box<dyn Future<Output = Result<Begin, IdempotencyError>> + Send + 'static>>;

/// The future of [`ClaimGuard::finish`].
pub type FinishFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

fn unavailable(err: &StoreError) -> IdempotencyError {
    tracing::warn!(target: "meetingbaas_webhooks", error = %err, "idempotency store unavailable; answering 503 so the sender retries");
    let _ = err;
    IdempotencyError::StoreUnavailable
}

impl fmt::Debug for Deduplicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deduplicator")
            .field("lease", &self.lease)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// A claim on one delivery. Complete it after a 2xx answer, release it otherwise; dropping it
/// unfinished (a panic, a dropped request) releases it in the background.
pub struct ClaimGuard {
    store: Arc<dyn IdempotencyStore>,
    key: String,
    token: String,
    ttl: Duration,
    finished: bool,
}

impl ClaimGuard {
    /// The handler succeeded: remember the delivery as completed.
    pub async fn complete(mut self) -> Result<(), IdempotencyError> {
        self.finished = true;
        match self.store.complete(&self.key, &self.token, self.ttl).await {
            Ok(true) => Ok(()),
            Ok(false) => {
                tracing::warn!(target: "meetingbaas_webhooks", key = %self.key, "the handler outlived its claim's lease; a duplicate may have run");
                Ok(())
            }
            Err(err) => Err(unavailable(&err)),
        }
    }

    /// The handler failed: drop the claim so that the sender's retry is processed.
    pub async fn release(mut self) -> Result<(), IdempotencyError> {
        self.finished = true;
        self.store
            .release(&self.key, &self.token)
            .await
            .map_err(|err| unavailable(&err))
    }

    /// Completes when `success` (a 2xx answer), releases otherwise. A store error here is
    /// logged; the handler's own answer stands (a lost completion only means a later duplicate
    /// runs the handler again; a lost release expires with the lease).
    pub fn finish(self, success: bool) -> FinishFuture {
        Box::pin(async move {
            let _ = if success {
                self.complete().await
            } else {
                self.release().await
            };
        })
    }

    /// The key claimed.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.store.release_detached(
                core::mem::take(&mut self.key),
                core::mem::take(&mut self.token),
            );
        }
    }
}

impl fmt::Debug for ClaimGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimGuard")
            .field("key", &self.key)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idempotency::MemoryStore;
    use meetingbaas_webhooks::{Bytes, Verifier};

    fn delivery(body: &'static [u8]) -> VerifiedDelivery {
        let verifier = Verifier::builder().callback_secret("s").build().unwrap();
        verifier
            .verify(&[("x-mb-secret", "s")], Bytes::from_static(body))
            .unwrap()
    }

    fn block_on<F: core::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn completed_deliveries_are_duplicates_and_running_ones_conflict() {
        block_on(async {
            let dedupe = Deduplicator::new(MemoryStore::default());
            let first = delivery(b"one");
            let Begin::Proceed(claim) = dedupe.begin(&first).await.unwrap() else {
                panic!()
            };
            assert_eq!(
                dedupe.begin(&first).await.unwrap_err(),
                IdempotencyError::InProgress
            );
            claim.complete().await.unwrap();
            assert!(matches!(
                dedupe.begin(&first).await.unwrap(),
                Begin::Duplicate
            ));
            assert!(matches!(
                dedupe.begin(&delivery(b"two")).await.unwrap(),
                Begin::Proceed(_)
            ));
        });
    }

    #[test]
    fn released_and_dropped_claims_let_the_retry_through() {
        block_on(async {
            let dedupe = Deduplicator::new(MemoryStore::default());
            let d = delivery(b"retry");
            let Begin::Proceed(claim) = dedupe.begin(&d).await.unwrap() else {
                panic!()
            };
            claim.release().await.unwrap();
            let Begin::Proceed(claim) = dedupe.begin(&d).await.unwrap() else {
                panic!()
            };
            drop(claim);
            assert!(matches!(dedupe.begin(&d).await.unwrap(), Begin::Proceed(_)));
        });
    }

    #[test]
    fn a_claim_taken_but_never_used_is_released() {
        block_on(async {
            let dedupe = Deduplicator::new(MemoryStore::default());
            let d = delivery(b"dropped");
            // Polled once (the memory store claims at once), then dropped before its answer is
            // taken: the claim must not be left behind.
            let mut begin = dedupe.begin(&d);
            let waker = core::task::Waker::noop();
            let polled = begin
                .as_mut()
                .poll(&mut core::task::Context::from_waker(waker));
            drop(polled);
            drop(begin);
            tokio::task::yield_now().await;
            assert!(matches!(dedupe.begin(&d).await.unwrap(), Begin::Proceed(_)));
        });
    }

    #[cfg(feature = "redis")]
    #[test]
    fn rediss_is_refused_at_start_with_a_clear_message() {
        block_on(async {
            let err = Deduplicator::from_setting(Some("rediss://:secret@cache.example:6380"))
                .await
                .unwrap_err();
            let err = format!("{err}");
            assert!(err.contains("rediss://") && err.contains("TLS"), "{err}");
            assert!(!err.contains("secret"), "{err}");
        });
    }

    #[test]
    fn an_expired_lease_lets_the_retry_through() {
        block_on(async {
            let dedupe = Deduplicator::new(MemoryStore::default()).lease(Duration::from_millis(1));
            let d = delivery(b"slow");
            let Begin::Proceed(_claim) = dedupe.begin(&d).await.unwrap() else {
                panic!()
            };
            std::thread::sleep(std::time::Duration::from_millis(5));
            assert!(matches!(dedupe.begin(&d).await.unwrap(), Begin::Proceed(_)));
        });
    }
}
