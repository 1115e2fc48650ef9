//! The storage contract behind deduplication.

use core::future::Future;
use core::pin::Pin;
use core::time::Duration;
use std::boxed::Box;
use std::string::String;

/// What a claim found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Nobody had the key: it is now claimed by the caller's token, for the lease.
    Acquired,
    /// A delivery with this key was already handled successfully.
    Completed,
    /// Another claim on the key is still running (its lease has not expired).
    InProgress,
}

/// The store could not be reached or answered unexpectedly. Its message names no credentials.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the idempotency store is unavailable: {message}")]
pub struct StoreError {
    message: String,
}

impl StoreError {
    /// An error with a description (never put a URL with credentials in it).
    pub fn new(message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
        }
    }

    /// The description.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A boxed future returned by [`IdempotencyStore`] methods (boxed so that stores can be chosen
/// at run time, as `Arc<dyn IdempotencyStore>`).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Where claims live: one process ([`MemoryStore`](super::MemoryStore)) or shared by replicas
/// (`RedisStore`).
///
/// Each operation must be atomic with respect to the others on the same key. `token` identifies
/// the claim's owner: only the owner may complete or release it.
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Claims `key` for `token` for `lease`, unless it is claimed or completed already.
    fn claim<'a>(&'a self, key: &'a str, token: &'a str, lease: Duration)
    -> StoreFuture<'a, Claim>;

    /// Marks `key` completed (kept for `ttl`), if `token` still owns the claim. Returns whether
    /// it did (`false`: the lease had expired and the claim was lost).
    fn complete<'a>(&'a self, key: &'a str, token: &'a str, ttl: Duration)
    -> StoreFuture<'a, bool>;

    /// Drops the claim on `key`, if `token` still owns it, so that a retry is processed.
    fn release<'a>(&'a self, key: &'a str, token: &'a str) -> StoreFuture<'a, ()>;

    /// Releases without being awaited: called when a claim is dropped unfinished (a panic in the
    /// handler, a dropped request). The default does nothing and lets the lease expire; stores
    /// should release at once where they can.
    fn release_detached(&self, key: String, token: String) {
        let _ = (key, token);
    }
}
