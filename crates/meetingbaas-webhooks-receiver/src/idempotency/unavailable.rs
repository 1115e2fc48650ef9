//! A store that is never reachable, for testing what a service answers when its store is down.

use core::time::Duration;
use std::boxed::Box;

use super::store::{Claim, IdempotencyStore, StoreError, StoreFuture};

/// A store whose every operation fails, as an unreachable Redis does.
///
/// For tests of your own service: with it, every verified delivery must be answered 503 (so
/// that the sender retries) and the handler must not run.
///
/// ```
/// use meetingbaas_webhooks_receiver::idempotency::{Deduplicator, UnavailableStore};
/// use meetingbaas_webhooks::{Bytes, Verifier};
/// use meetingbaas_webhooks_receiver::{IdempotencyError};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::builder().callback_secret("s3cret").build()?;
/// let delivery = verifier.verify(&[("x-mb-secret", "s3cret")], Bytes::from_static(b"{}"))?;
/// let dedupe = Deduplicator::new(UnavailableStore);
/// assert_eq!(dedupe.begin(&delivery).await.unwrap_err(), IdempotencyError::StoreUnavailable);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct UnavailableStore;

fn refused<'a, T: 'a>() -> StoreFuture<'a, T> {
    Box::pin(async { Err(StoreError::new("connection refused (UnavailableStore)")) })
}

impl IdempotencyStore for UnavailableStore {
    fn claim<'a>(&'a self, _: &'a str, _: &'a str, _: Duration) -> StoreFuture<'a, Claim> {
        refused()
    }

    fn complete<'a>(&'a self, _: &'a str, _: &'a str, _: Duration) -> StoreFuture<'a, bool> {
        refused()
    }

    fn release<'a>(&'a self, _: &'a str, _: &'a str) -> StoreFuture<'a, ()> {
        refused()
    }
}
