//! The store suite (feature `testing`): the same scenarios against every store, so that a store
//! is checked by one suite, not by copies of it. SQLite, Redis and memory run it in this crate's
//! `tests/stores.rs`; a new store runs it with one line:
//!
//! ```ignore
//! async fn my_store() -> TestStore {
//!     TestStore::new(MyStore::connect("...").await.unwrap(), ())
//! }
//! meetingbaas_webhooks_inbox::store_suite!(my_store, my_store());
//! ```
//!
//! That expands into a module `my_store` with one `#[tokio::test]` per scenario. The scenarios
//! cover each role of the [`Store`] contract: [`intake`] (stored once, copies refused,
//! unreadable bodies kept), [`work`] (batched claims under leases, waits, records accepted only
//! from the lease's holder, retention in bounded batches) and [`admin`] (listing, redrive,
//! forget, purge), the [`worker`] on top of them (retries, dead letters, panics, timeouts,
//! crashed workers, bursts, shutdown), and per-bot [`order`] (one at a time in event-time
//! order, `max_wait`, expired leases, stale statuses). No timing is asserted: waits are bounded only so that a
//! broken store fails instead of hanging.

pub mod admin;
pub mod faults;
pub mod intake;
pub mod order;
pub mod work;
pub mod worker;

#[cfg(feature = "sqlite")]
pub use crate::sqlite::fill::Fill;

/// Waits (up to 20 s) until the SQLite inbox at `path` has folded its log into the file (the
/// `-wal` beside it gone or empty), as its store does on close: before a test changes the file
/// itself, so that a newer copy of a page in the log cannot undo the change.
pub async fn log_folded(path: &std::path::Path) {
    let mut log = path.as_os_str().to_owned();
    log.push("-wal");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::fs::metadata(&log).is_ok_and(|log| log.len() > 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "the log was never folded in"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The store's other threads close their connections.
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Appends `plan.deliveries` deliveries to the SQLite inbox file at `path` (created if needed),
/// in the store's own format and fast (unsynced, indexes rebuilt once): a store of ten million
/// for a benchmark in minutes. Returns how many were written. Never on a file a service uses.
#[cfg(feature = "sqlite")]
pub fn fill_sqlite(path: impl AsRef<std::path::Path>, plan: &Fill) -> Result<u64, crate::Error> {
    crate::sqlite::fill::fill(path.as_ref(), plan)
}

use std::any::Any;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use meetingbaas_webhooks::{Bytes, VerifiedDelivery, Verifier};
use meetingbaas_webhooks_receiver::EventLabel;

use crate::{Enqueued, Inbox, RetryPolicy, Stats, Store, WorkerBuilder};

/// The callback secret every test delivery is verified with.
pub const SECRET: &str = "s3cret";

/// A store under test, and whatever must live as long as it (a temporary directory, a
/// `redis-server` process).
pub struct TestStore {
    store: Arc<dyn Store>,
    inbox: Inbox,
    _keep: Box<dyn Any + Send>,
}

impl std::fmt::Debug for TestStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TestStore").field(&self.store).finish()
    }
}

impl TestStore {
    /// `store` under test; `keep` lives as long as it.
    pub fn new(store: impl Store + Clone, keep: impl Any + Send) -> Self {
        TestStore {
            store: Arc::new(store.clone()),
            inbox: Inbox::with_store(store),
            _keep: Box::new(keep),
        }
    }

    /// The store, through its traits.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// An inbox on the same store.
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }
}

/// Expands into a module `$name` with one `#[tokio::test]` per scenario of the suite, each on a
/// fresh store from `$make` (an expression of type `impl Future<Output = TestStore>`, evaluated
/// inside the module: write `super::my_store()`... or a path).
#[macro_export]
macro_rules! store_suite {
    ($name:ident, $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::store_suite!(@cases $make;
                intake::a_delivery_is_stored_once_and_a_copy_is_a_duplicate,
                intake::intake_through_the_pipeline_answers_queued_then_duplicate,
                intake::a_body_that_is_not_an_event_is_stored_and_dead_lettered_as_unreadable,
                intake::concurrent_deliveries_each_complete_once,
                work::a_batched_claim_takes_each_delivery_once_while_its_lease_holds,
                work::with_batched_records_each_completion_is_recorded_once,
                work::a_wait_ends_when_a_delivery_is_stored_and_claims_nothing,
                work::retention_deletes_completed_deliveries_in_bounded_batches,
                work::dropping_bodies_keeps_the_rest_of_completed_deliveries,
                admin::forgetting_a_key_lets_a_resend_through_and_purge_removes_dead_letters,
                admin::a_permanent_error_dead_letters_at_once_and_redrive_all_requeues,
                admin::a_redrive_starts_a_new_run_and_pending_age_counts_from_it,
                admin::a_listing_filters_by_bot_and_key_and_pages_back,
                worker::a_handler_failing_twice_then_succeeding_completes_with_three_attempts,
                worker::an_always_failing_handler_dead_letters_then_redrive_runs_it_again,
                worker::a_panicking_or_hanging_handler_is_retried,
                worker::a_crashed_workers_delivery_is_taken_up_after_its_lease,
                worker::a_worker_handles_a_burst_each_once,
                worker::a_workers_retention_deletes_completed_deliveries_but_keeps_dead_letters,
                worker::a_workers_keep_bodies_drops_completed_bodies_only,
                worker::an_idle_workers_shutdown_returns_at_once,
                worker::run_until_idle_returns_every_attempt_and_leaves_later_retries,
                order::claims_in_bot_order_take_one_per_bot_in_event_time_order,
                order::a_retrying_delivery_holds_its_bot_for_max_wait_and_a_dead_letter_for_nothing,
                order::an_expired_lease_holds_its_bot_then_runs_first,
                order::a_status_older_than_one_handled_is_stale,
                order::a_stale_status_without_a_handler_is_recorded_and_a_redrive_rechecks_it,
            );
        }
    };
    (@cases $make:expr; $($group:ident :: $case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::testing::$group::$case($make.await).await;
            }
        )*
    };
}

/// `body` verified under the callback scheme.
pub fn delivery(body: impl Into<Bytes>) -> VerifiedDelivery {
    Verifier::builder()
        .callback_secret(SECRET)
        .build()
        .expect("a callback secret")
        .verify(&[("x-mb-secret", SECRET)], body.into())
        .expect("signed with the secret")
}

/// A minimal `bot.completed` body for `bot`.
pub fn event(bot: &str) -> String {
    format!(r#"{{"event":"bot.completed","data":{{"bot_id":"{bot}"}}}}"#)
}

/// Stores `body` through the intake, labelled by its envelope as the pipeline does.
pub async fn enqueue(inbox: &Inbox, body: impl Into<Bytes>) -> Enqueued {
    let delivery = delivery(body);
    let label = delivery
        .envelope()
        .map(EventLabel::from)
        .unwrap_or_default();
    inbox
        .intake()
        .enqueue(&delivery, label)
        .await
        .expect("the store takes a delivery")
}

/// Stores `body`; its id.
pub async fn stored(inbox: &Inbox, body: impl Into<Bytes>) -> String {
    match enqueue(inbox, body).await {
        Enqueued::Stored { id } => id,
        Enqueued::Duplicate => panic!("not stored: a duplicate"),
    }
}

/// Stores `count` distinct deliveries at once (so that they share commits); their ids.
pub async fn stored_many(inbox: &Inbox, tag: &str, count: usize) -> BTreeSet<String> {
    let mut sends = tokio::task::JoinSet::new();
    for n in 0..count {
        let inbox = inbox.clone();
        let body = event(&format!("{tag}-{n}"));
        sends.spawn(async move { stored(&inbox, body).await });
    }
    let mut ids = BTreeSet::new();
    while let Some(id) = sends.join_next().await {
        assert!(ids.insert(id.expect("a send")), "an id given twice");
    }
    ids
}

/// Polls the stats until `done` (at most 20 s, so that a broken store fails instead of
/// hanging).
pub async fn wait_for(inbox: &Inbox, what: &str, done: impl Fn(&Stats) -> bool) -> Stats {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let stats = inbox.stats().await.expect("stats");
        if done(&stats) {
            return stats;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A worker that polls often, with short leases and a quick retry policy (3 attempts).
pub fn fast(inbox: &Inbox) -> WorkerBuilder {
    inbox
        .worker()
        .poll_interval(Duration::from_millis(20))
        .lease(Duration::from_millis(900))
        .retry(
            RetryPolicy::new()
                .max_attempts(3)
                .initial_delay(Duration::from_millis(20))
                .max_delay(Duration::from_millis(100)),
        )
}
