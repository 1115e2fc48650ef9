//! Running the user's handler on stored deliveries: concurrency, timeouts, leases, retries,
//! dead letters, graceful shutdown.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use meetingbaas_webhooks::{Event, EventKind};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

use crate::Inbox;
use crate::record::{Attempt, Claimed, State, Verdict, kind_from_name, millis, now_ms};
use crate::store::Store;

/// How long completed deliveries are kept by default: 7 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The most completed deliveries one retention pass deletes in one write.
const PRUNE_BATCH: usize = 500;

/// Why a handler did not succeed, and what to do about it.
///
/// Any error type converts into a retryable one with `?`; say [`permanent`](Self::permanent) to
/// dead-letter at once (a delivery that can never succeed), or
/// [`retry_after`](Self::retry_after) to choose the next attempt's time (a rate-limited API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerError {
    message: String,
    action: Action,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Retry,
    RetryAfter(Duration),
    Permanent,
}

impl HandlerError {
    /// A failure worth retrying, per the worker's [`RetryPolicy`].
    pub fn retry(message: impl fmt::Display) -> Self {
        HandlerError {
            message: message.to_string(),
            action: Action::Retry,
        }
    }

    /// A failure to retry no sooner than `delay` from now (still within the maximum attempts).
    pub fn retry_after(message: impl fmt::Display, delay: Duration) -> Self {
        HandlerError {
            message: message.to_string(),
            action: Action::RetryAfter(delay),
        }
    }

    /// A failure that no retry can fix: the delivery becomes a dead letter now.
    pub fn permanent(message: impl fmt::Display) -> Self {
        HandlerError {
            message: message.to_string(),
            action: Action::Permanent,
        }
    }

    /// The message recorded with the attempt.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the delivery is dead-lettered at once.
    pub fn is_permanent(&self) -> bool {
        self.action == Action::Permanent
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error> From<E> for HandlerError {
    fn from(err: E) -> Self {
        HandlerError::retry(err)
    }
}

/// When to try again: exponential backoff with jitter, up to a maximum number of attempts.
///
/// The delay before attempt `n + 1` is `initial * 2^(n-1)`, capped at `max_delay`, then scaled by
/// a random factor in `1 ± jitter`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial: Duration,
    max_delay: Duration,
    jitter: f64,
}

impl Default for RetryPolicy {
    /// 8 attempts, 5 s first delay, at most 1 h between attempts, ±20 % jitter (like the
    /// sender's own schedule: the last attempt comes about 10 minutes after the first).
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            initial: Duration::from_secs(5),
            max_delay: Duration::from_secs(60 * 60),
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// The default policy.
    pub fn new() -> Self {
        RetryPolicy::default()
    }

    /// At most `attempts` attempts (at least 1) before a delivery becomes a dead letter.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The delay after the first failure.
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial = delay;
        self
    }

    /// The longest delay between two attempts.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The jitter, a fraction between 0 and 1.
    pub fn jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter.clamp(0.0, 1.0);
        self
    }

    /// The most attempts.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The delay after failed attempt number `attempt` (1 for the first).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let base = self
            .initial
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let factor = 1.0 + self.jitter * (2.0 * random_unit() - 1.0);
        base.mul_f64(factor.max(0.0))
    }
}

/// A number in `[0, 1)`, from the standard library's randomly keyed hasher (each
/// `RandomState` has keys of its own, so hashing the same input gives a new number each time).
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// One delivery given to a handler for one attempt.
#[derive(Clone, Debug)]
pub struct Job {
    id: String,
    key: String,
    attempt: u32,
    received_ms: i64,
    body: Bytes,
    event: Event,
}

impl Job {
    /// The inbox's id of the delivery.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The delivery's idempotency key: use it to make the handler's side effects idempotent
    /// (the worker runs a delivery at least once; after a crash it may run it again).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The attempt number, 1 for the first.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// When the delivery was stored, Unix milliseconds.
    pub fn received_ms(&self) -> i64 {
        self.received_ms
    }

    /// The verified body, byte for byte.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The event.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// Takes the event.
    pub fn into_event(self) -> Event {
        self.event
    }
}

type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send>>;
type Handler = Arc<dyn Fn(Job) -> HandlerFuture + Send + Sync>;

fn boxed<F, Fut>(handler: F) -> Handler
where
    F: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    Arc::new(move |job| Box::pin(handler(job)))
}

/// Configures a [`Worker`]: from [`Inbox::worker`].
#[must_use = "a worker builder does nothing until `build` and `run`"]
pub struct WorkerBuilder {
    store: Arc<dyn Store>,
    concurrency: usize,
    timeout: Duration,
    lease: Duration,
    poll: Duration,
    grace: Duration,
    retry: RetryPolicy,
    retention: Option<Duration>,
    handlers: HashMap<EventKind, Handler>,
    fallback: Option<Handler>,
}

impl fmt::Debug for WorkerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerBuilder")
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .field("lease", &self.lease)
            .field("retry", &self.retry)
            .field("retention", &self.retention)
            .field("kinds", &self.handlers.keys().collect::<Vec<_>>())
            .field("fallback", &self.fallback.is_some())
            .finish_non_exhaustive()
    }
}

impl WorkerBuilder {
    pub(crate) fn new(inbox: &Inbox) -> Self {
        WorkerBuilder {
            store: inbox.store(),
            concurrency: 4,
            timeout: Duration::from_secs(30),
            lease: Duration::from_secs(15),
            poll: Duration::from_secs(1),
            grace: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            retention: Some(DEFAULT_RETENTION),
            handlers: HashMap::new(),
            fallback: None,
        }
    }

    /// How many deliveries run at once (default 4).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How long one attempt may run before it is abandoned and retried (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The lease (default 15 s): a running delivery's lease is renewed every third of it; when a
    /// worker dies, its deliveries are taken up again once their lease runs out.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(300));
        self
    }

    /// The longest wait between two looks for due deliveries when nothing wakes the worker
    /// (default 1 s; stores in this process wake it at once).
    pub fn poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll.max(Duration::from_millis(10));
        self
    }

    /// How long a shutdown waits for running attempts to end (default 10 s); those still running
    /// then are stopped and retried at the next start.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How long completed deliveries are kept (default [`DEFAULT_RETENTION`], 7 days); `None`
    /// keeps them until [`Inbox::purge`](crate::Inbox::purge).
    ///
    /// While the worker runs, completed deliveries older than this (by the time they completed)
    /// are deleted in the background, a few hundred per write so that intake is not held up:
    /// at start, then every quarter of the retention (at least every minute, at most every
    /// 100 ms). Dead letters are never deleted by retention. A deleted delivery's idempotency
    /// key goes with it: a copy sent after that is stored again, so keep it well beyond the
    /// sender's retries (about 3 hours).
    pub fn retention(mut self, retention: Option<Duration>) -> Self {
        self.retention = retention;
        self
    }

    /// Runs `handler` on deliveries of `kind`.
    pub fn on<F, Fut>(mut self, kind: EventKind, handler: F) -> Self
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        self.handlers.insert(kind, boxed(handler));
        self
    }

    /// Runs `handler` on deliveries of every kind without a handler of its own. Without one,
    /// such deliveries become dead letters (redrive them once a handler exists).
    pub fn fallback<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        self.fallback = Some(boxed(handler));
        self
    }

    /// The worker.
    pub fn build(self) -> Worker {
        Worker {
            inner: Arc::new(self),
        }
    }
}

/// Runs handlers on stored deliveries: at least once each, completion recorded exactly once.
///
/// An attempt ends in one of: success (completed), a [`HandlerError`], a panic, or the timeout;
/// every failure is recorded (error, start, duration) and retried per the [`RetryPolicy`] until
/// the maximum, then kept as a dead letter. A body that is not an event is a dead letter at once
/// (`unreadable`).
#[derive(Clone, Debug)]
pub struct Worker {
    inner: Arc<WorkerBuilder>,
}

/// A worker running in the background: from [`Worker::spawn`].
#[derive(Debug)]
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Stops claiming, lets running attempts finish within the grace period, and returns once the
    /// worker has stopped.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl Worker {
    /// Runs the worker on the current tokio runtime until [`WorkerHandle::shutdown`].
    pub fn spawn(self) -> WorkerHandle {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(self.run(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }));
        WorkerHandle { stop, task }
    }

    /// Runs until `shutdown` resolves (e.g. [`shutdown_signal`](crate::shutdown_signal)), then
    /// stops claiming, waits for running attempts within the grace period, stops the rest (they
    /// are retried at the next start) and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let config = &self.inner;
        let slots = Arc::new(Semaphore::new(config.concurrency));
        let running: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let (cancel, cancelled) = watch::channel(false);
        let mut tasks = JoinSet::new();
        // Aborted when `run` ends or is dropped: a dropped worker stops renewing its leases.
        let _heartbeat = AbortOnDrop(tokio::spawn(renew_leases(
            Arc::clone(&config.store),
            Arc::clone(&running),
            config.lease,
        )));
        // Completed deliveries past the retention, deleted in bounded batches.
        let _retention = config.retention.map(|keep| {
            AbortOnDrop(tokio::spawn(prune_completed(
                Arc::clone(&config.store),
                keep,
            )))
        });
        // The queue's gauges (feature `metrics`), refreshed while the worker runs.
        #[cfg(feature = "metrics")]
        let _gauges = AbortOnDrop(tokio::spawn(crate::metrics::publish_stats(Arc::clone(
            &config.store,
        ))));
        // A handler slot is freed as soon as its handler returns; the attempt's record is then
        // written under a permit of its own (at most `concurrency` records pending), so that the
        // next claim and the records of the attempts that just ended share one write.
        let records = Arc::new(Semaphore::new(config.concurrency));
        tokio::pin!(shutdown);
        loop {
            while tasks.try_join_next().is_some() {}
            let first = tokio::select! {
                () = &mut shutdown => break,
                permit = Arc::clone(&slots).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let mut permits = vec![first];
            while let Ok(permit) = Arc::clone(&slots).try_acquire_owned() {
                permits.push(permit);
            }
            // One claim for every free slot. Not raced with `shutdown`: a claim never waits, and
            // is never abandoned halfway.
            let claimed = config.store.claim(permits.len(), config.lease).await;
            let claimed = match claimed {
                Ok(claimed) if claimed.is_empty() => {
                    // Idle: wait for work, or stop at once (the wait claims nothing).
                    drop(permits);
                    tokio::select! {
                        () = &mut shutdown => break,
                        waited = config.store.wait(config.poll) => {
                            if let Err(err) = waited {
                                tracing::warn!(target: "meetingbaas_webhooks_inbox", error = %err, "cannot wait for deliveries; retrying in a second");
                                tokio::select! {
                                    () = &mut shutdown => break,
                                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                                }
                            }
                            continue;
                        }
                    }
                }
                Ok(claimed) => claimed,
                Err(err) => {
                    drop(permits);
                    tracing::warn!(target: "meetingbaas_webhooks_inbox", error = %err, "cannot claim deliveries; retrying in a second");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            for claimed in claimed {
                let Some(permit) = permits.pop() else {
                    // More than asked for (a store should not): left to its lease, then taken
                    // up again.
                    break;
                };
                lock(&running).insert(claimed.id.clone(), claimed.token.clone());
                let worker = self.clone();
                let running = Arc::clone(&running);
                let cancelled = cancelled.clone();
                let records = Arc::clone(&records);
                tasks.spawn(async move {
                    let id = claimed.id.clone();
                    worker.attempt(claimed, cancelled, permit, records).await;
                    lock(&running).remove(&id);
                });
            }
            drop(permits);
            if futures_ready(&mut shutdown) {
                break;
            }
        }
        // Graceful: no more claims; running attempts get the grace period.
        let drained = tokio::time::timeout(config.grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            let _ = cancel.send(true);
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                while tasks.join_next().await.is_some() {}
            })
            .await;
            tasks.abort_all();
        }
    }

    /// One attempt on `claimed`, recorded. `slot` is released once the handler has returned,
    /// after a `records` permit is taken for the record.
    async fn attempt(
        &self,
        claimed: Claimed,
        mut cancelled: watch::Receiver<bool>,
        slot: OwnedSemaphorePermit,
        records: Arc<Semaphore>,
    ) {
        let config = &self.inner;
        let started_ms = now_ms();
        let started = Instant::now();
        let outcome: Result<(), HandlerError> = 'run: {
            if claimed.attempt > config.retry.attempts() {
                break 'run Err(HandlerError::permanent(format!(
                    "not run: the maximum of {} attempts was reached",
                    config.retry.attempts()
                )));
            }
            let event = match Event::from_slice(&claimed.body) {
                Ok(event) => event,
                Err(err) => {
                    break 'run Err(HandlerError::permanent(format!("unreadable: {err}")));
                }
            };
            let kind = claimed
                .kind
                .as_deref()
                .and_then(kind_from_name)
                .unwrap_or_else(|| event.kind());
            let Some(handler) = config.handlers.get(&kind).or(config.fallback.as_ref()) else {
                break 'run Err(HandlerError::permanent(format!(
                    "no handler for events of kind {}",
                    kind.as_str()
                )));
            };
            let job = Job {
                id: claimed.id.clone(),
                key: claimed.key.clone(),
                attempt: claimed.attempt,
                received_ms: claimed.received_ms,
                body: claimed.body.clone(),
                event,
            };
            // Its own task: a panic is caught there, and a timeout can stop it.
            let mut task = AbortOnDrop(tokio::spawn(handler(job)));
            tokio::select! {
                joined = tokio::time::timeout(config.timeout, &mut task.0) => match joined {
                    Ok(Ok(result)) => result,
                    Ok(Err(err)) if err.is_panic() => Err(HandlerError::retry(format!(
                        "the handler panicked: {}",
                        panic_message(err.into_panic())
                    ))),
                    Ok(Err(_)) => Err(HandlerError::retry("the handler was cancelled")),
                    Err(_) => {
                        task.0.abort();
                        Err(HandlerError::retry(format!(
                            "timed out after {:?}",
                            config.timeout
                        )))
                    }
                },
                _ = cancelled.wait_for(|stop| *stop) => {
                    task.0.abort();
                    Err(HandlerError::retry_after(
                        "stopped by shutdown before it finished",
                        Duration::ZERO,
                    ))
                }
            }
        };
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (verdict, error) = match outcome {
            Ok(()) => (Verdict::Complete, None),
            Err(err) => {
                let verdict = match err.action {
                    Action::Permanent => Verdict::Dead {
                        reason: err.message.clone(),
                    },
                    _ if claimed.attempt >= config.retry.attempts() => Verdict::Dead {
                        reason: format!(
                            "gave up after {} attempts; last: {}",
                            claimed.attempt, err.message
                        ),
                    },
                    Action::RetryAfter(delay) => Verdict::Retry {
                        at_ms: now_ms() + millis(delay),
                    },
                    Action::Retry => Verdict::Retry {
                        at_ms: now_ms() + millis(config.retry.delay(claimed.attempt)),
                    },
                };
                (verdict, Some(err.message))
            }
        };
        #[cfg(feature = "metrics")]
        crate::metrics::attempt(&verdict, started.elapsed());
        match &verdict {
            Verdict::Complete => {
                tracing::info!(target: "meetingbaas_webhooks_inbox", id = %claimed.id, attempt = claimed.attempt, duration_ms, "delivery handled");
            }
            Verdict::Retry { .. } => {
                tracing::warn!(target: "meetingbaas_webhooks_inbox", id = %claimed.id, attempt = claimed.attempt, error = error.as_deref(), "attempt failed; will retry");
            }
            Verdict::Dead { reason } => {
                tracing::warn!(target: "meetingbaas_webhooks_inbox", id = %claimed.id, attempt = claimed.attempt, reason = %reason, "delivery dead-lettered");
            }
        }
        let attempt = Attempt {
            number: claimed.attempt_total,
            started_ms,
            duration_ms,
            error,
        };
        // The handler is done: its slot goes to the next claim once this record may be written.
        let _record = records.acquire_owned().await;
        drop(slot);
        // The record must land: retry the store a few times. If it never does, the lease runs out
        // and the delivery is run again (at least once).
        for wait in [0, 100, 500, 2_000] {
            tokio::time::sleep(Duration::from_millis(wait)).await;
            match config
                .store
                .finish(claimed.clone(), attempt.clone(), verdict.clone())
                .await
            {
                Ok(true) => return,
                Ok(false) => {
                    tracing::warn!(target: "meetingbaas_webhooks_inbox", id = %claimed.id, "the attempt outlived its lease; another worker took the delivery over, so this outcome is not recorded");
                    return;
                }
                Err(err) => {
                    tracing::warn!(target: "meetingbaas_webhooks_inbox", id = %claimed.id, error = %err, "cannot record the attempt; retrying");
                }
            }
        }
    }
}

async fn renew_leases(
    store: Arc<dyn Store>,
    running: Arc<Mutex<HashMap<String, String>>>,
    lease: Duration,
) {
    let mut tick = tokio::time::interval(lease / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let claims: Vec<(String, String)> = lock(&running)
            .iter()
            .map(|(id, token)| (id.clone(), token.clone()))
            .collect();
        if claims.is_empty() {
            continue;
        }
        if let Err(err) = store.extend(claims, lease).await {
            tracing::warn!(target: "meetingbaas_webhooks_inbox", error = %err, "cannot renew leases");
        }
    }
}

/// Deletes completed deliveries older than `keep`, in batches of [`PRUNE_BATCH`], now and then
/// every quarter of `keep` (between 100 ms and a minute).
async fn prune_completed(store: Arc<dyn Store>, keep: Duration) {
    let every = (keep / 4).clamp(Duration::from_millis(100), Duration::from_secs(60));
    loop {
        let mut total = 0;
        loop {
            match store.prune(State::Completed, keep, PRUNE_BATCH).await {
                Ok(deleted) => {
                    total += deleted;
                    if deleted < PRUNE_BATCH as u64 {
                        break;
                    }
                    // More to delete: a pause between batches lets intake's writes in first.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(err) => {
                    tracing::warn!(target: "meetingbaas_webhooks_inbox", error = %err, "cannot delete completed deliveries past their retention; trying again later");
                    break;
                }
            }
        }
        if total > 0 {
            tracing::debug!(target: "meetingbaas_webhooks_inbox", deleted = total, "completed deliveries past their retention deleted");
        }
        tokio::time::sleep(every).await;
    }
}

/// A task aborted when this is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether `future` is ready now (polled once with a no-op waker).
fn futures_ready<F: Future<Output = ()>>(future: &mut Pin<&mut F>) -> bool {
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    future.as_mut().poll(&mut context).is_ready()
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    match panic.downcast::<String>() {
        Ok(message) => *message,
        Err(panic) => panic
            .downcast_ref::<&str>()
            .map_or_else(|| "no message".to_string(), |s| (*s).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_up_to_the_cap_and_spread_by_the_jitter() {
        let policy = RetryPolicy::new()
            .initial_delay(Duration::from_secs(1))
            .max_delay(Duration::from_secs(5))
            .jitter(0.0);
        let waits: Vec<_> = (1..=5).map(|attempt| policy.delay(attempt)).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5].map(Duration::from_secs));

        let spread = policy.jitter(0.2);
        let waits: Vec<_> = (0..200).map(|_| spread.delay(2)).collect();
        let range = Duration::from_millis(1600)..=Duration::from_millis(2400);
        assert!(waits.iter().all(|wait| range.contains(wait)), "{waits:?}");
        // Spread out, not one value: some on each side of the middle.
        let below = waits
            .iter()
            .filter(|wait| **wait < Duration::from_secs(2))
            .count();
        assert!(
            below > 0 && below < waits.len(),
            "{below} of {} below",
            waits.len()
        );
    }
}
