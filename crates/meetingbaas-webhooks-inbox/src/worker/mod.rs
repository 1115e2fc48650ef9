//! Running the user's handlers on stored deliveries: typed handlers with application state,
//! concurrency, timeouts, leases, retries, dead letters, graceful shutdown, and a run until idle
//! for tests.

mod builder;
mod handler;
mod job;
mod retry;
mod run;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use meetingbaas_webhooks::EventKind;
use tokio::sync::watch;

pub use builder::WorkerBuilder;
pub use job::Job;
pub use retry::{HandlerError, RetryPolicy};

use crate::record::Verdict;
use run::Until;

/// How long completed deliveries are kept by default: 7 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The most completed deliveries one retention pass deletes in one write.
const PRUNE_BATCH: usize = 500;

/// Runs handlers on stored deliveries: at least once each, completion recorded exactly once.
///
/// An attempt ends in one of: success (completed), a [`HandlerError`], a panic, or the timeout;
/// every failure is recorded (error, start, duration) and retried per the [`RetryPolicy`] until
/// the maximum, then kept as a dead letter. A body that is not an event is a dead letter at once
/// (`unreadable`). Each attempt is logged (target `meetingbaas_webhooks_inbox`) with the
/// delivery's id, kind, bot and attempt number: info when handled, warn with the error when it
/// will be retried, error for a dead letter.
pub struct Worker<S = ()> {
    inner: Arc<WorkerBuilder<S>>,
}

impl<S> Clone for Worker<S> {
    fn clone(&self) -> Self {
        Worker {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S> fmt::Debug for Worker<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Worker").field(&self.inner).finish()
    }
}

/// A worker running in the background: from [`Worker::spawn`].
#[derive(Debug)]
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Stops claiming, lets running attempts finish within the grace period, and returns once the
    /// worker has stopped (at once when nothing runs).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// One attempt, as [`Worker::run_until_idle`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempted {
    /// The inbox's id of the delivery.
    pub id: String,
    /// Its idempotency key.
    pub key: String,
    /// Its kind (`None` for a body that is not an event and was not labelled at intake).
    pub kind: Option<EventKind>,
    /// The bot it is about, when its body was read and names one.
    pub bot_id: Option<String>,
    /// The attempt number since it was stored or last redriven, 1 for the first.
    pub attempt: u32,
    /// The handler's error, for a failed attempt.
    pub error: Option<String>,
    /// What became of the delivery: completed, retried at a time, or a dead letter.
    pub verdict: Verdict,
}

impl<S> Worker<S> {
    /// The application state its handlers get ([`WorkerBuilder::state`]).
    pub fn state(&self) -> &S {
        &self.inner.state
    }
}

impl<S: Send + Sync + 'static> Worker<S> {
    /// Runs the worker on the current tokio runtime until [`WorkerHandle::shutdown`].
    pub fn spawn(self) -> WorkerHandle {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let stopped = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            self.run_loop(stopped, Until::Shutdown).await;
        });
        WorkerHandle { stop, task }
    }

    /// Runs until `shutdown` resolves (e.g. [`shutdown_signal`](crate::shutdown_signal)), then
    /// stops claiming, waits for running attempts within the grace period, stops the rest (they
    /// are retried at the next start) and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        self.run_loop(shutdown, Until::Shutdown).await;
    }

    /// Runs until nothing is due and nothing runs, then returns every attempt made, in the order
    /// they ended: for tests, instead of a loop polling [`Inbox::stats`](crate::Inbox::stats).
    ///
    /// A failed attempt's retry is run too when it is due at once; one scheduled later is left
    /// pending (in a test, give the worker `RetryPolicy::new().initial_delay(Duration::ZERO)`
    /// to run every attempt up to the dead letter). A store that cannot be claimed from ten
    /// times in a row (about ten seconds) ends it with an error line, so that a test fails on
    /// its assertions instead of hanging.
    ///
    /// ```
    /// use std::time::Duration;
    /// use meetingbaas_webhooks_inbox::event::BotCompleted;
    /// use meetingbaas_webhooks_inbox::{HandlerError, Inbox, Job, RetryPolicy, Verdict};
    /// use meetingbaas_webhooks_inbox::testing::stored; // feature `testing`
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let inbox = Inbox::memory();
    /// stored(&inbox, r#"{"event":"bot.completed","data":{"bot_id":"b-1"}}"#).await;
    /// let attempts = inbox
    ///     .worker()
    ///     .retry(RetryPolicy::new().max_attempts(2).initial_delay(Duration::ZERO))
    ///     .handle(|job: Job<(), BotCompleted>| async move {
    ///         Err(HandlerError::retry(format!("CRM down for {:?}", job.bot_id())))
    ///     })
    ///     .build()
    ///     .run_until_idle()
    ///     .await;
    /// assert_eq!(attempts.len(), 2);
    /// assert!(matches!(attempts[1].verdict, Verdict::Dead { .. }));
    /// # }
    /// ```
    pub async fn run_until_idle(self) -> Vec<Attempted> {
        self.run_loop(std::future::pending(), Until::Idle).await
    }
}
