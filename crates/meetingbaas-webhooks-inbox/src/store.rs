//! The contract every store implements, split by role, the way a queue's producer and consumer
//! are kept apart: [`IntakeStore`] (storing a delivery once), [`WorkStore`] (the worker's
//! claims, leases and outcomes) and [`AdminStore`] (looking into it and reprocessing). A
//! [`Store`] is all three; [`Inbox`](crate::Inbox) holds one.
//!
//! Every operation is atomic. A store's own tests are the crate's store suite
//! ([`testing::store_suite!`](crate::store_suite), feature `testing`): SQLite, Redis and memory
//! run it, and so must any new store.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use meetingbaas_webhooks::VerifiedDelivery;
use meetingbaas_webhooks::event::EventTime;
use meetingbaas_webhooks_receiver::{Enqueued, EventLabel};

use crate::error::Error;
use crate::record::{Attempt, Claimed, ListQuery, State, Stats, StoredDelivery, Summary, Verdict};

/// A boxed future of a store operation (boxed so that a store can be chosen at run time).
pub type StoreFuture<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send>>;

/// A delivery to store: what the pipeline verified, and what it read of its envelope.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NewDelivery {
    /// The idempotency key: a second delivery with it is not stored.
    pub key: String,
    /// The event kind name, when the body is an event.
    pub kind: Option<String>,
    /// The event's wire name, when the body is an event.
    pub event: Option<String>,
    /// The bot concerned, when the event names one.
    pub bot_id: Option<String>,
    /// The scheme that verified it.
    pub scheme: String,
    /// The Svix message id.
    pub message_id: Option<String>,
    /// The verified body.
    pub body: bytes::Bytes,
    /// When the event happened by its payload: what orders a bot's deliveries.
    pub time: EventTime,
}

impl NewDelivery {
    /// The time to order it by among its bot's deliveries and the event time a stale check may
    /// use, given when it was received ([`EventTime::order_ms`], [`EventTime::trusted_ms`]);
    /// logs a warn when the payload's time is unreadable or in the future (receipt order then).
    pub fn order_times(&self, received_ms: i64) -> (i64, Option<i64>) {
        let (order_ms, fallback) = self.time.order_ms(received_ms);
        if let Some(fallback) = fallback {
            tracing::warn!(target: "meetingbaas_webhooks_inbox", key = ?self.key, bot_id = ?self.bot_id, "ordered by its receipt, not by the payload's event time: {} (`MAX_FUTURE_SKEW_MS`)", fallback.as_str());
        }
        (order_ms, self.time.trusted_ms(received_ms))
    }

    /// What to store for `delivery` labelled `label`.
    pub fn new(delivery: &VerifiedDelivery, label: EventLabel) -> Self {
        NewDelivery {
            key: delivery.idempotency_key().as_str().to_string(),
            kind: label.kind.map(|kind| kind.as_str().to_string()),
            event: label.name,
            bot_id: label.bot_id,
            scheme: delivery.scheme().as_str().to_string(),
            message_id: delivery.message_id().map(str::to_string),
            body: delivery.body().clone(),
            time: label.time,
        }
    }
}

/// Intake: storing a verified delivery, once.
pub trait IntakeStore: Send + Sync + fmt::Debug + 'static {
    /// Stores `delivery` unless its key is stored already. Resolves to
    /// [`Enqueued::Stored`] only once the delivery is durable: the sender is answered 2xx on it.
    fn enqueue(&self, delivery: NewDelivery) -> StoreFuture<Enqueued>;
}

/// The worker's side: claims under a lease, renewals, outcomes, retention.
pub trait WorkStore: Send + Sync + fmt::Debug + 'static {
    /// Takes up to `max` deliveries that are due now (queued, retrying past their time, or
    /// running under an expired lease: their worker died) under a lease of `lease`. Never waits
    /// for one: see [`wait`](Self::wait).
    fn claim(&self, max: usize, lease: Duration) -> StoreFuture<Vec<Claimed>>;

    /// Takes up to `max` due deliveries as [`claim`](Self::claim) does, keeping each bot's
    /// deliveries in order ([`WorkerBuilder::order_by_bot`](crate::WorkerBuilder::order_by_bot)):
    /// none whose bot has a delivery running (until its lease runs out: then that one is due
    /// again, and normally first of its bot), none with an earlier queued or retrying delivery
    /// of its bot by `(order time, id)` unless it became pending more than `max_wait` ago (of
    /// those, the first in event order), at most one per bot. Each comes with [`Claimed::ordered`] set and its bot's
    /// [`bot_handled_ms`](Claimed::bot_handled_ms). A completion recorded for it raises its bot's
    /// handled time to its event time; a [`Verdict::Stale`] does not.
    ///
    /// The default answers an error: a store that cannot order says so at each claim.
    fn claim_in_bot_order(
        &self,
        max: usize,
        lease: Duration,
        max_wait: Duration,
    ) -> StoreFuture<Vec<Claimed>> {
        let _ = (max, lease, max_wait);
        Box::pin(std::future::ready(Err(Error::Store(
            "this store cannot order deliveries by bot (`WorkerBuilder::order_by_bot`)".to_string(),
        ))))
    }

    /// Resolves when a delivery may have become due (one was stored, a retry's time came), or
    /// after `timeout`. Claims nothing, so it may be dropped at any point: the worker drops it
    /// to stop at once when idle.
    fn wait(&self, timeout: Duration) -> StoreFuture<()>;

    /// Extends the leases of deliveries still being handled by their holders.
    fn extend(&self, claims: Vec<(String, String)>, lease: Duration) -> StoreFuture<()>;

    /// Records how an attempt ended, if `claimed.token` still holds the lease; returns whether
    /// it did (`false`: the lease was lost and another worker took the delivery over).
    fn finish(&self, claimed: Claimed, attempt: Attempt, verdict: Verdict) -> StoreFuture<bool>;

    /// Deletes at most about `limit` deliveries in `state` (completed or dead) finished longer
    /// than `older_than` ago, oldest first, in one short write; returns how many. The worker's
    /// retention calls it again while it returns `limit`.
    fn prune(&self, state: State, older_than: Duration, limit: usize) -> StoreFuture<u64>;

    /// Drops the bodies of at most about `limit` deliveries that completed longer than
    /// `older_than` ago, oldest first, in one short write; returns how many. Everything else
    /// about them stays (summary, attempts, idempotency key) until [`prune`](Self::prune)
    /// deletes them; [`AdminStore::show`] then says `body_dropped`, and
    /// [`AdminStore::redrive`] refuses them ([`Error::BodyDropped`]). Each call goes on from
    /// where the last one stopped (no rescan of bodies already dropped), so a delivery that
    /// completes later with an earlier time is passed over: the worker's
    /// [`keep_bodies`](crate::WorkerBuilder::keep_bodies) calls it with `older_than` of five
    /// seconds at least, and again while it returns `limit`.
    ///
    /// The default answers an error: a store that cannot drop bodies says so (the worker logs
    /// it once and keeps the bodies).
    fn drop_bodies(&self, older_than: Duration, limit: usize) -> StoreFuture<u64> {
        let _ = (older_than, limit);
        Box::pin(std::future::ready(Err(Error::Store(
            "this store cannot drop the bodies of completed deliveries".to_string(),
        ))))
    }

    /// What one attempt's handler may write through so that its writes commit with the
    /// attempt's record ([`Job::transaction`](crate::Job::transaction)); `None` (the default)
    /// for a store without transactions. The worker calls it before each attempt, and records
    /// the attempt with [`finish_in`](Self::finish_in).
    fn begin_attempt(&self) -> Option<AttemptScope> {
        None
    }

    /// Records how an attempt ended, as [`finish`](Self::finish) does, in `scope`: with the
    /// Postgres store, a completion is recorded in the handler's transaction (when it began
    /// one) and committed with its writes, and any other outcome rolls them back. The default
    /// ignores `scope`.
    fn finish_in(
        &self,
        scope: AttemptScope,
        claimed: Claimed,
        attempt: Attempt,
        verdict: Verdict,
    ) -> StoreFuture<bool> {
        drop(scope);
        self.finish(claimed, attempt, verdict)
    }
}

/// One attempt's scope for a store with transactions ([`WorkStore::begin_attempt`]): the
/// Postgres store's transaction, begun when the handler asks for it. Made only by this crate's
/// stores.
#[derive(Clone, Debug)]
pub struct AttemptScope {
    inner: ScopeInner,
}

#[derive(Clone, Debug)]
enum ScopeInner {
    #[cfg(feature = "postgres")]
    Postgres(std::sync::Arc<crate::postgres::transaction::Cell>),
    /// Keeps the type inhabited-or-not the same way whatever the features.
    #[allow(dead_code)]
    None,
}

impl AttemptScope {
    #[cfg(feature = "postgres")]
    pub(crate) fn postgres(cell: crate::postgres::transaction::Cell) -> Self {
        AttemptScope {
            inner: ScopeInner::Postgres(std::sync::Arc::new(cell)),
        }
    }

    #[cfg(feature = "postgres")]
    pub(crate) fn into_postgres(
        self,
    ) -> Option<std::sync::Arc<crate::postgres::transaction::Cell>> {
        match self.inner {
            ScopeInner::Postgres(cell) => Some(cell),
            ScopeInner::None => None,
        }
    }

    #[cfg(feature = "postgres")]
    pub(crate) fn postgres_cell(&self) -> Option<&crate::postgres::transaction::Cell> {
        match &self.inner {
            ScopeInner::Postgres(cell) => Some(cell),
            ScopeInner::None => None,
        }
    }

    /// Whether the handler began a transaction in it: its record must then go through
    /// [`WorkStore::finish_in`] only (recording it elsewhere would drop the handler's writes).
    pub(crate) fn used(&self) -> bool {
        match &self.inner {
            #[cfg(feature = "postgres")]
            ScopeInner::Postgres(cell) => cell.used(),
            ScopeInner::None => false,
        }
    }
}

/// Administration: looking into the store and reprocessing (the admin API, the CLI).
pub trait AdminStore: Send + Sync + fmt::Debug + 'static {
    /// Counts per state.
    fn stats(&self) -> StoreFuture<Stats>;

    /// Deliveries matching `query`, newest first.
    fn list(&self, query: ListQuery) -> StoreFuture<Vec<Summary>>;

    /// One delivery with its body and attempts.
    fn show(&self, id: String) -> StoreFuture<Option<StoredDelivery>>;

    /// Queues a delivery that is not running again, with a fresh attempt budget.
    fn redrive(&self, id: String) -> StoreFuture<()>;

    /// Queues every dead letter (of `kind`, when given) again; returns how many.
    fn redrive_dead(&self, kind: Option<String>) -> StoreFuture<u64>;

    /// Forgets an idempotency key, so that a delivery with it is stored again (a deliberate
    /// resend); the stored delivery stays. Returns whether the key was known.
    fn forget(&self, key: String) -> StoreFuture<bool>;

    /// Deletes deliveries in `state` (completed or dead) finished longer than `older_than` ago;
    /// returns how many.
    fn purge(&self, state: State, older_than: Duration) -> StoreFuture<u64>;

    /// Whether the store can take deliveries and be worked from now (for a readiness probe).
    /// By default: whether [`stats`](Self::stats) answers. The SQLite store also fails it until
    /// its background integrity check has passed, for good when the check found damage, and
    /// while claims fail.
    fn ready(&self) -> StoreFuture<()> {
        let stats = self.stats();
        Box::pin(async move { stats.await.map(drop) })
    }
}

/// A whole store: intake, work and administration. Implemented for every type that has the
/// three roles.
pub trait Store: IntakeStore + WorkStore + AdminStore {}

impl<T: IntakeStore + WorkStore + AdminStore> Store for T {}
