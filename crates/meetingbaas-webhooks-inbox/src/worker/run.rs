//! The worker's loop: claims for free slots, one task per attempt, the attempt's record, and
//! the background chores (lease renewal, retention).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use meetingbaas_webhooks::event::is_stale;
use meetingbaas_webhooks::{Event, EventKind};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

use super::job::JobParts;
use super::retry::Action;
use super::{Attempted, HandlerError, Job, PRUNE_BATCH, Worker};
use crate::record::{Attempt, Claimed, State, Verdict, kind_from_name, millis, now_ms};
use crate::store::Store;

/// Until when the loop runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Until {
    /// The shutdown future resolves.
    Shutdown,
    /// Nothing is due and nothing runs (or the shutdown future resolves).
    Idle,
}

/// Claims failing in a row that end [`Worker::run_until_idle`].
const IDLE_CLAIM_FAILURES: u32 = 10;

/// How long the next claim waits after an attempt's outcome could not be recorded.
const UNRECORDED_PAUSE: Duration = Duration::from_secs(1);

/// The most attempt records waiting to be written at once.
const MAX_RECORDS: usize = 256;

/// How many deliveries the worker claims ahead of its free slots: from `concurrency`, doubled
/// while slots sit idle waiting for a claim (a fast handler), halved down to none when a
/// delivery waited more than [`PREFETCH_WAIT`] in the buffer (a slow one), never past
/// [`MAX_PREFETCH`]. So the buffer holds a fraction of a second of work, whatever the
/// handler's speed, and a slow handler's deliveries are not held by one worker while another
/// could run them.
#[derive(Debug)]
struct Prefetch {
    target: usize,
    concurrency: usize,
}

/// The most deliveries claimed ahead of free slots.
const MAX_PREFETCH: usize = 512;

/// A delivery that waited longer than this in the buffer halves the prefetch.
const PREFETCH_WAIT: Duration = Duration::from_millis(100);

impl Prefetch {
    fn new(concurrency: usize) -> Self {
        let concurrency = concurrency.clamp(1, MAX_PREFETCH);
        Prefetch {
            target: concurrency,
            concurrency,
        }
    }

    fn target(&self) -> usize {
        self.target
    }

    fn grow(&mut self) {
        self.target = (self.target * 2).max(self.concurrency).min(MAX_PREFETCH);
    }

    /// A buffered delivery starts, after `waited` in the buffer.
    fn started(&mut self, waited: Duration) {
        if waited > PREFETCH_WAIT {
            self.target /= 2;
        }
    }
}

impl<S: Send + Sync + 'static> Worker<S> {
    /// The loop behind [`Worker::run`] and [`Worker::run_until_idle`]; the attempts' outcomes
    /// are collected for `Until::Idle` only.
    pub(super) async fn run_loop(
        self,
        shutdown: impl Future<Output = ()>,
        until: Until,
    ) -> Vec<Attempted> {
        let config = &self.inner;
        let slots = Arc::new(Semaphore::new(config.concurrency));
        let running: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let (cancel, cancelled) = watch::channel(false);
        let mut tasks: JoinSet<Attempted> = JoinSet::new();
        let mut outcomes = Vec::new();
        let mut keep = |joined: Result<Attempted, tokio::task::JoinError>| {
            if let (Until::Idle, Ok(attempted)) = (until, joined) {
                outcomes.push(attempted);
            }
        };
        // Aborted when `run` ends or is dropped: a dropped worker stops renewing its leases.
        let _heartbeat = AbortOnDrop(tokio::spawn(renew_leases(
            Arc::clone(&config.store),
            Arc::clone(&running),
            config.lease,
        )));
        // Completed deliveries past the retention, deleted in bounded batches.
        let _retention = config.retention.map(|keep| {
            AbortOnDrop(tokio::spawn(in_batches(
                Arc::clone(&config.store),
                Chore::Retention,
                keep,
            )))
        });
        // Bodies of completed deliveries past `keep_bodies`, dropped in bounded batches.
        let _bodies = config.keep_bodies.map(|keep| {
            AbortOnDrop(tokio::spawn(in_batches(
                Arc::clone(&config.store),
                Chore::DropBodies,
                keep,
            )))
        });
        // The queue's gauges (feature `metrics`), refreshed while the worker runs.
        #[cfg(feature = "metrics")]
        let _gauges = AbortOnDrop(tokio::spawn(crate::metrics::publish_stats(Arc::clone(
            &config.store,
        ))));
        // A handler slot is freed as soon as its handler returns; the attempt's record is then
        // written under a permit of its own (at most `MAX_RECORDS` records pending: a record
        // waits for the store's next commit, and a fast worker must not wait for it to start
        // the next attempt), so that the next claim and the records of the attempts that just
        // ended share one write.
        let records = Arc::new(Semaphore::new(config.concurrency.max(MAX_RECORDS)));
        tokio::pin!(shutdown);
        let mut claim_failures = 0u32;
        // Set when an attempt's outcome could not be recorded: the next claim waits a second,
        // so that a store that hands the same delivery back at once (a damaged file whose rows
        // and indexes disagree) cannot spin the worker and flood the log.
        let unrecorded = Arc::new(AtomicBool::new(false));
        // Deliveries claimed ahead of a free slot (`Prefetch`), started as slots free up: a
        // claim's round trip waits behind intake's writes, so claiming only for free slots
        // bounded a fast worker to a few deliveries per round trip.
        let mut buffer: VecDeque<(Claimed, Instant)> = VecDeque::new();
        let mut prefetch = Prefetch::new(config.concurrency);
        let spawn = |tasks: &mut JoinSet<Attempted>, claimed: Claimed, permit| {
            #[cfg(feature = "metrics")]
            crate::metrics::picked_up(&claimed);
            let worker = self.clone();
            let running = Arc::clone(&running);
            let cancelled = cancelled.clone();
            let records = Arc::clone(&records);
            let unrecorded = Arc::clone(&unrecorded);
            tasks.spawn(async move {
                let id = claimed.id.clone();
                let attempted = worker
                    .attempt(claimed, cancelled, permit, records, &unrecorded)
                    .await;
                lock(&running).remove(&id);
                attempted
            });
        };
        loop {
            while let Some(joined) = tasks.try_join_next() {
                keep(joined);
            }
            // What is claimed already goes to the free slots first.
            while !buffer.is_empty() {
                let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                    break;
                };
                if let Some((claimed, since)) = buffer.pop_front() {
                    prefetch.started(since.elapsed());
                    spawn(&mut tasks, claimed, permit);
                }
            }
            if futures_ready(&mut shutdown) {
                break;
            }
            let free = slots.available_permits();
            if free > 0 && !buffer.is_empty() {
                // A slot freed meanwhile: what is claimed already goes first.
                continue;
            }
            // From here the buffer is empty, or every slot is busy.
            let wanted = (free + prefetch.target()).saturating_sub(buffer.len());
            if free == 0 && (wanted == 0 || !buffer.is_empty()) {
                // Every slot busy and enough claimed ahead: wait for a slot.
                let permit = tokio::select! {
                    () = &mut shutdown => break,
                    permit = Arc::clone(&slots).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                };
                drop(permit);
                continue;
            }
            // Not raced with `shutdown`: a claim never waits, and is never abandoned halfway.
            if unrecorded.swap(false, Ordering::AcqRel) {
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(UNRECORDED_PAUSE) => {}
                }
            }
            // Claiming with an empty buffer: any free slot waits for this claim.
            let starved = free > 0;
            let claimed = match config.order_by_bot {
                Some(max_wait) => {
                    config
                        .store
                        .claim_in_bot_order(wanted, config.lease, max_wait)
                        .await
                }
                None => config.store.claim(wanted, config.lease).await,
            };
            if claimed.is_ok() {
                claim_failures = 0;
            }
            let claimed = match claimed {
                Ok(claimed) if claimed.is_empty() => {
                    if until == Until::Idle {
                        // Nothing due: idle once the running attempts are recorded (a retry
                        // due at once is then claimed).
                        match tasks.join_next().await {
                            Some(joined) => {
                                keep(joined);
                                continue;
                            }
                            None => break,
                        }
                    }
                    // Idle: wait for work, or stop at once (the wait claims nothing).
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
                    claim_failures += 1;
                    if until == Until::Idle && claim_failures >= IDLE_CLAIM_FAILURES {
                        // A test fails on its assertions instead of hanging.
                        tracing::error!(target: "meetingbaas_webhooks_inbox", error = %err, "run_until_idle stops: the store could not be claimed from {IDLE_CLAIM_FAILURES} times in a row");
                        while let Some(joined) = tasks.join_next().await {
                            keep(joined);
                        }
                        break;
                    }
                    tracing::warn!(target: "meetingbaas_webhooks_inbox", error = %err, "cannot claim deliveries; retrying in a second");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            if starved && claimed.len() >= wanted {
                // Slots sat idle waiting for this claim, and there may be more: claim further
                // ahead next time.
                prefetch.grow();
            }
            let now = Instant::now();
            for claimed in claimed {
                match lock(&running).entry(claimed.id.clone()) {
                    Entry::Occupied(_) => {
                        // A store handing out a delivery this worker holds (a damaged file
                        // whose rows and indexes disagree): not run twice; the next claim waits.
                        tracing::warn!(target: "meetingbaas_webhooks_inbox", id = %claimed.id, "the store handed out a delivery this worker already holds; claiming again in a second");
                        unrecorded.store(true, Ordering::Release);
                        continue;
                    }
                    Entry::Vacant(entry) => entry.insert(claimed.token.clone()),
                };
                buffer.push_back((claimed, now));
            }
        }
        // Claimed ahead but never started: handed back at once (recorded as an attempt that did
        // not run, due again now), rather than left to wait for their leases to run out.
        release(config.store.as_ref(), buffer, &running).await;
        // Graceful: no more claims; running attempts get the grace period.
        let drained = tokio::time::timeout(config.grace, async {
            while let Some(joined) = tasks.join_next().await {
                keep(joined);
            }
        })
        .await;
        if drained.is_err() {
            let _ = cancel.send(true);
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                while let Some(joined) = tasks.join_next().await {
                    keep(joined);
                }
            })
            .await;
            tasks.abort_all();
        }
        outcomes
    }

    /// One attempt on `claimed`, recorded. `slot` is released once the handler has returned,
    /// after a `records` permit is taken for the record.
    async fn attempt(
        &self,
        claimed: Claimed,
        mut cancelled: watch::Receiver<bool>,
        slot: OwnedSemaphorePermit,
        records: Arc<Semaphore>,
        unrecorded: &AtomicBool,
    ) -> Attempted {
        let config = &self.inner;
        let started_ms = now_ms();
        let started = Instant::now();
        let recorded_kind = claimed.kind.as_deref().and_then(kind_from_name);
        let mut kind = recorded_kind;
        let mut bot_id = None;
        let scope = config.store.begin_attempt();
        let mut stale = false;
        let outcome: Result<(), HandlerError> = 'run: {
            if claimed.attempt > config.retry.attempts() {
                break 'run Err(HandlerError::permanent(format!(
                    "not run: the maximum of {} attempts was reached",
                    config.retry.attempts()
                )));
            }
            let event = match Event::from_bytes(&claimed.body) {
                Ok(event) => event,
                Err(err) => {
                    break 'run Err(HandlerError::permanent(format!("unreadable: {err}")));
                }
            };
            let job = Job::new(JobParts {
                id: claimed.id.clone(),
                key: claimed.key.clone(),
                attempt: claimed.attempt,
                received_ms: claimed.received_ms,
                body: claimed.body.clone(),
                kind: recorded_kind,
                event,
                scope: scope.clone(),
            });
            kind = Some(job.kind());
            bot_id = job.bot_id().map(str::to_owned);
            if job.kind() == EventKind::BotCompleted && job.links_expired() {
                tracing::warn!(target: "meetingbaas_webhooks_inbox", id = %claimed.id, bot_id = ?job.bot_id(), "the recording, audio and transcript links of this bot.completed expired (4 hours after it was sent): ask Meeting BaaS for a fresh delivery (`meetingbaas-webhooks inbox redeliver`)");
            }
            stale =
                claimed.ordered && is_stale(job.kind(), claimed.event_ms, claimed.bot_handled_ms);
            let handler = if stale {
                config.on_stale.as_ref()
            } else {
                config
                    .handlers
                    .get(&job.kind())
                    .or(config.fallback.as_ref())
            };
            let Some(handler) = handler else {
                if stale {
                    // Recorded as stale without a handler: nothing asked to see it.
                    break 'run Ok(());
                }
                break 'run Err(HandlerError::permanent(format!(
                    "no handler for events of kind {}",
                    job.kind().as_str()
                )));
            };
            let job = job.with_shared_state(Arc::clone(&config.state));
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
            Ok(()) if stale => (Verdict::Stale, None),
            Ok(()) => (Verdict::Complete, None),
            Err(err) => (self.verdict(&claimed, &err), Some(err.message)),
        };
        #[cfg(feature = "metrics")]
        crate::metrics::attempt(&verdict, started.elapsed());
        log(
            &claimed,
            kind,
            bot_id.as_deref(),
            &verdict,
            error.as_deref(),
            duration_ms,
        );
        let attempt = Attempt {
            number: claimed.attempt_total,
            run: claimed.run,
            started_ms,
            duration_ms,
            error: error.clone(),
        };
        let attempted = Attempted {
            id: claimed.id.clone(),
            key: claimed.key.clone(),
            kind,
            bot_id,
            attempt: claimed.attempt,
            error,
            verdict: verdict.clone(),
        };
        // The handler is done: its slot goes to the next claim once this record may be written.
        let _record = records.acquire_owned().await;
        drop(slot);
        // With the handler's transaction, the record is written in it, once: recorded any other
        // way it would drop the handler's writes. If that fails, the lease runs out and the
        // delivery is run again (its writes were rolled back).
        if let Some(scope) = scope.filter(|scope| scope.used()) {
            match config
                .store
                .finish_in(scope, claimed.clone(), attempt, verdict)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    unrecorded.store(true, Ordering::Release);
                    tracing::warn!(target: "meetingbaas_webhooks_inbox", id = %claimed.id, "the attempt's outcome is not recorded and its transaction was rolled back: it ran longer than its lease and another worker took the delivery over (raise the lease or the handler's speed), or the store no longer holds the delivery");
                }
                Err(err) => {
                    tracing::warn!(target: "meetingbaas_webhooks_inbox", id = %claimed.id, error = %err, "cannot record the attempt in its transaction (rolled back); the delivery runs again when its lease runs out");
                }
            }
            return attempted;
        }
        // The record must land: retry the store a few times. If it never does, the lease runs out
        // and the delivery is run again (at least once).
        for wait in [0, 100, 500, 2_000] {
            tokio::time::sleep(Duration::from_millis(wait)).await;
            match config
                .store
                .finish(claimed.clone(), attempt.clone(), verdict.clone())
                .await
            {
                Ok(true) => break,
                Ok(false) => {
                    unrecorded.store(true, Ordering::Release);
                    tracing::warn!(target: "meetingbaas_webhooks_inbox", id = %claimed.id, "the attempt's outcome is not recorded: it ran longer than its lease and another worker took the delivery over (raise the lease or the handler's speed), or the store no longer holds the delivery");
                    break;
                }
                Err(err) => {
                    tracing::warn!(target: "meetingbaas_webhooks_inbox", id = %claimed.id, error = %err, "cannot record the attempt; retrying");
                }
            }
        }
        attempted
    }

    /// What becomes of a delivery whose attempt failed with `err`.
    fn verdict(&self, claimed: &Claimed, err: &HandlerError) -> Verdict {
        let retry = &self.inner.retry;
        match err.action {
            Action::Permanent => Verdict::Dead {
                reason: err.message.clone(),
            },
            _ if claimed.attempt >= retry.attempts() => Verdict::Dead {
                reason: format!(
                    "gave up after {} attempts; last: {}",
                    claimed.attempt, err.message
                ),
            },
            Action::RetryAfter(delay) => Verdict::Retry {
                at_ms: now_ms() + millis(delay),
            },
            Action::Retry => Verdict::Retry {
                at_ms: now_ms() + millis(retry.delay(claimed.attempt)),
            },
        }
    }
}

/// One line per attempt: info when handled, warn when it will be retried, error for a dead
/// letter; each with the delivery's id, kind, bot and attempt, so that a failure is seen
/// without looking into the inbox.
fn log(
    claimed: &Claimed,
    kind: Option<EventKind>,
    bot_id: Option<&str>,
    verdict: &Verdict,
    error: Option<&str>,
    duration_ms: u64,
) {
    let kind = kind.map_or("unknown", EventKind::as_str);
    let (id, attempt) = (claimed.id.as_str(), claimed.attempt);
    match verdict {
        Verdict::Complete => {
            tracing::info!(target: "meetingbaas_webhooks_inbox", id, kind, bot_id, attempt, duration_ms, "delivery handled");
        }
        Verdict::Stale => {
            tracing::info!(target: "meetingbaas_webhooks_inbox", id, kind, bot_id, attempt, duration_ms, "stale status: older than one of its bot already handled; recorded as stale, not given to its handler");
        }
        Verdict::Retry { at_ms } => {
            let retry_in_ms = at_ms.saturating_sub(now_ms()).max(0);
            tracing::warn!(target: "meetingbaas_webhooks_inbox", id, kind, bot_id, attempt, error, retry_in_ms, "handler failed; will retry");
        }
        Verdict::Dead { reason } => {
            tracing::error!(target: "meetingbaas_webhooks_inbox", id, kind, bot_id, attempt, reason = %reason, "delivery dead-lettered");
        }
    }
}

/// Hands deliveries claimed but never started back to the store: each due again now, with an
/// attempt recorded as not run (as when a lease runs out, but at once).
async fn release(
    store: &dyn Store,
    buffer: VecDeque<(Claimed, Instant)>,
    running: &Mutex<HashMap<String, String>>,
) {
    for (claimed, _) in buffer {
        lock(running).remove(&claimed.id);
        let attempt = Attempt {
            number: claimed.attempt_total,
            run: claimed.run,
            started_ms: now_ms(),
            duration_ms: 0,
            error: Some("not started: the worker stopped first".into()),
        };
        let verdict = Verdict::Retry { at_ms: now_ms() };
        if let Err(err) = store.finish(claimed.clone(), attempt, verdict).await {
            tracing::warn!(target: "meetingbaas_webhooks_inbox", id = %claimed.id, error = %err, "cannot hand back a delivery claimed but not started; it is taken up again when its lease runs out");
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

/// How long after completion a body is dropped at the earliest (`keep_bodies(Some(ZERO))`).
const SETTLE: Duration = Duration::from_secs(5);

/// What a background pass over completed deliveries does.
#[derive(Clone, Copy)]
enum Chore {
    /// Deletes them ([`retention`](crate::WorkerBuilder::retention)).
    Retention,
    /// Drops their bodies ([`keep_bodies`](crate::WorkerBuilder::keep_bodies)).
    DropBodies,
}

impl Chore {
    fn run(self, store: &dyn Store, keep: Duration) -> crate::store::StoreFuture<u64> {
        match self {
            Chore::Retention => store.prune(State::Completed, keep, PRUNE_BATCH),
            // Never closer to now than `SETTLE`: the stores walk from a mark, and a delivery
            // finishing at the same time on another worker (or replica, by its own clock)
            // would otherwise land behind it and keep its body until retention.
            Chore::DropBodies => store.drop_bodies(keep.max(SETTLE), PRUNE_BATCH),
        }
    }

    fn failed(self) -> &'static str {
        match self {
            Chore::Retention => "cannot delete completed deliveries past their retention",
            Chore::DropBodies => "cannot drop the bodies of completed deliveries past keep_bodies",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Chore::Retention => "completed deliveries past their retention deleted",
            Chore::DropBodies => "bodies of completed deliveries past keep_bodies dropped",
        }
    }
}

/// Runs `chore` on the deliveries completed longer than `keep` ago, in batches of
/// [`PRUNE_BATCH`], now and then every quarter of `keep` (between 100 ms and a minute).
async fn in_batches(store: Arc<dyn Store>, chore: Chore, keep: Duration) {
    let every = (keep / 4).clamp(Duration::from_millis(100), Duration::from_secs(60));
    let mut warned = false;
    loop {
        let mut total = 0;
        loop {
            match chore.run(&*store, keep).await {
                Ok(done) => {
                    warned = false;
                    total += done;
                    if done < PRUNE_BATCH as u64 {
                        break;
                    }
                    // More to do: a pause between batches lets intake's writes in first.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                // Once per run of failures, not every pass (100 ms apart at the shortest).
                Err(err) if warned => {
                    tracing::debug!(target: "meetingbaas_webhooks_inbox", error = %err, "{}; still failing", chore.failed());
                    break;
                }
                Err(err) => {
                    tracing::warn!(target: "meetingbaas_webhooks_inbox", error = %err, "{}; trying again later", chore.failed());
                    warned = true;
                    break;
                }
            }
        }
        if total > 0 {
            tracing::debug!(target: "meetingbaas_webhooks_inbox", count = total, "{}", chore.done());
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
    fn the_prefetch_follows_the_handlers_speed() {
        let mut prefetch = Prefetch::new(4);
        assert_eq!(prefetch.target(), 4);
        for _ in 0..20 {
            prefetch.grow();
        }
        assert_eq!(prefetch.target(), MAX_PREFETCH, "bounded");
        prefetch.started(Duration::from_millis(5));
        assert_eq!(
            prefetch.target(),
            MAX_PREFETCH,
            "a short wait changes nothing"
        );
        for _ in 0..20 {
            prefetch.started(Duration::from_secs(1));
        }
        assert_eq!(
            prefetch.target(),
            0,
            "a slow handler claims only for free slots"
        );
        prefetch.grow();
        assert_eq!(prefetch.target(), 4, "and grows again from `concurrency`");
    }
}
