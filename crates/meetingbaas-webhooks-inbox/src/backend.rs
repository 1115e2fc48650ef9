//! The contract every store implements (SQLite, Redis Streams, memory).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use meetingbaas_webhooks::VerifiedDelivery;
use meetingbaas_webhooks_receiver::{Enqueued, EventLabel};

use crate::error::Error;
use crate::record::{Attempt, Claimed, ListQuery, State, Stats, StoredDelivery, Summary, Verdict};

/// A boxed future of a [`Backend`] operation (boxed so that a store can be chosen at run time).
pub type BackendFuture<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send>>;

/// A delivery to store: what the pipeline verified, and what it read of its event.
#[derive(Clone, Debug)]
pub struct NewDelivery {
    /// The idempotency key: a second delivery with it is not stored.
    pub key: String,
    /// The event kind name, when the body is an event.
    pub kind: Option<String>,
    /// The event's wire name, when the body is an event.
    pub event: Option<String>,
    /// The scheme that verified it.
    pub scheme: String,
    /// The Svix message id.
    pub message_id: Option<String>,
    /// The verified body.
    pub body: bytes::Bytes,
}

impl NewDelivery {
    /// What to store for `delivery` labelled `label`.
    pub fn new(delivery: &VerifiedDelivery, label: EventLabel) -> Self {
        NewDelivery {
            key: delivery.idempotency_key().as_str().to_string(),
            kind: label.kind.map(|kind| kind.as_str().to_string()),
            event: label.name,
            scheme: delivery.scheme().as_str().to_string(),
            message_id: delivery.message_id().map(str::to_string),
            body: delivery.body().clone(),
        }
    }
}

/// Where deliveries live. Every operation is atomic; a delivery is [`Enqueued::Stored`] only
/// once durable. The worker and the admin API ([`Inbox`](crate::Inbox)) only call these.
pub trait Backend: Send + Sync + fmt::Debug + 'static {
    /// Stores `delivery` unless its key is stored already.
    fn enqueue(&self, delivery: NewDelivery) -> BackendFuture<Enqueued>;

    /// Takes up to `max` deliveries that are due (queued, retrying past their time, or running
    /// under an expired lease: their worker died) under a lease of `lease`, waiting up to `wait`
    /// for one to become due.
    fn claim(&self, max: usize, lease: Duration, wait: Duration) -> BackendFuture<Vec<Claimed>>;

    /// Extends the leases of deliveries still being handled by their holders.
    fn extend(&self, claims: Vec<(String, String)>, lease: Duration) -> BackendFuture<()>;

    /// Records how an attempt ended, if `claimed.token` still holds the lease; returns whether it
    /// did (`false`: the lease was lost and another worker took the delivery over).
    fn finish(&self, claimed: Claimed, attempt: Attempt, verdict: Verdict) -> BackendFuture<bool>;

    /// Counts per state.
    fn stats(&self) -> BackendFuture<Stats>;

    /// Deliveries matching `query`, newest first.
    fn list(&self, query: ListQuery) -> BackendFuture<Vec<Summary>>;

    /// One delivery with its body and attempts.
    fn show(&self, id: String) -> BackendFuture<Option<StoredDelivery>>;

    /// Queues a delivery that is not running again, with a fresh attempt budget.
    fn redrive(&self, id: String) -> BackendFuture<()>;

    /// Queues every dead letter (of `kind`, when given) again; returns how many.
    fn redrive_dead(&self, kind: Option<String>) -> BackendFuture<u64>;

    /// Forgets an idempotency key, so that a delivery with it is stored again (a deliberate
    /// resend); the stored delivery stays. Returns whether the key was known.
    fn forget(&self, key: String) -> BackendFuture<bool>;

    /// Deletes deliveries in `state` (completed or dead) finished longer than `older_than` ago;
    /// returns how many.
    fn purge(&self, state: State, older_than: Duration) -> BackendFuture<u64>;

    /// Deletes at most about `limit` deliveries in `state` (completed or dead) finished longer
    /// than `older_than` ago, oldest first, in one short write; returns how many. The worker's
    /// retention calls it again while it returns `limit`. The default deletes them all at once
    /// ([`purge`](Self::purge)).
    fn prune(&self, state: State, older_than: Duration, limit: usize) -> BackendFuture<u64> {
        let _ = limit;
        self.purge(state, older_than)
    }
}
