//! [`WorkerBuilder`]: the worker's settings, its handlers and its application state.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use meetingbaas_webhooks::event::EventData;
use meetingbaas_webhooks::{Event, EventKind};

use super::handler::{self, Handler};
use super::{DEFAULT_RETENTION, HandlerError, Job, RetryPolicy, Worker};
use crate::Inbox;
use crate::store::Store;

/// Configures a [`Worker`]: from [`Inbox::worker`].
///
/// Handlers come in three forms, each returning `Result<(), HandlerError>`:
///
/// - [`handle`](Self::handle): one payload type, given typed (`Job<S, BotCompleted>`), for every
///   kind that carries it;
/// - [`on`](Self::on): one kind, given the whole [`Event`];
/// - [`fallback`](Self::fallback): every kind without a handler of its own.
///
/// A later registration for a kind replaces an earlier one. Application state is given once,
/// with [`state`](Self::state), and reaches every handler as [`Job::state`].
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use meetingbaas_webhooks_inbox::event::{BotCompleted, BotFailed};
/// use meetingbaas_webhooks_inbox::{EventKind, HandlerError, Inbox, Job};
///
/// #[derive(Default)]
/// struct App {
///     recordings: AtomicUsize,
/// }
///
/// # fn main() {
/// let inbox = Inbox::memory();
/// let worker = inbox
///     .worker()
///     .state(App::default())
///     .handle(|job: Job<App, BotCompleted>| async move {
///         println!("{:?} has a recording: {:?}", job.bot_id(), job.data().video_url());
///         job.state().recordings.fetch_add(1, Ordering::Relaxed);
///         Ok(())
///     })
///     .handle(|job: Job<App, BotFailed>| async move {
///         Err(HandlerError::permanent(format!("bot failed: {:?}", job.data().error_code)))
///     })
///     .on(EventKind::BotStatusChange, |job: Job<App>| async move {
///         println!("{}", job.event().name());
///         Ok(())
///     })
///     .fallback(|_job: Job<App>| async { Ok(()) })
///     .build();
/// # drop(worker);
/// # }
/// ```
#[must_use = "a worker builder does nothing until `build` and `run`"]
pub struct WorkerBuilder<S = ()> {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) concurrency: usize,
    pub(crate) timeout: Duration,
    pub(crate) lease: Duration,
    pub(crate) poll: Duration,
    pub(crate) grace: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) retention: Option<Duration>,
    pub(crate) keep_bodies: Option<Duration>,
    pub(crate) handlers: HashMap<EventKind, Handler<S>>,
    pub(crate) fallback: Option<Handler<S>>,
    pub(crate) order_by_bot: Option<Duration>,
    pub(crate) on_stale: Option<Handler<S>>,
    pub(crate) state: Arc<S>,
}

impl<S> fmt::Debug for WorkerBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kinds: Vec<_> = self.handlers.keys().map(|kind| kind.as_str()).collect();
        kinds.sort_unstable();
        f.debug_struct("WorkerBuilder")
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .field("lease", &self.lease)
            .field("retry", &self.retry)
            .field("retention", &self.retention)
            .field("keep_bodies", &self.keep_bodies)
            .field("kinds", &kinds)
            .field("fallback", &self.fallback.is_some())
            .field("order_by_bot", &self.order_by_bot)
            .field("on_stale", &self.on_stale.is_some())
            .field("state", &std::any::type_name::<S>())
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
            keep_bodies: None,
            handlers: HashMap::new(),
            fallback: None,
            order_by_bot: None,
            on_stale: None,
            state: Arc::new(()),
        }
    }

    /// Gives every handler `state` (a database pool, an HTTP client, your application's
    /// struct), by reference through [`Job::state`]: given once here, never cloned into each
    /// closure. Handlers registered before this call keep `()` as their state.
    pub fn state<T: Send + Sync + 'static>(self, state: T) -> WorkerBuilder<T> {
        let WorkerBuilder {
            store,
            concurrency,
            timeout,
            lease,
            poll,
            grace,
            retry,
            retention,
            keep_bodies,
            handlers,
            fallback,
            order_by_bot,
            on_stale,
            state: _,
        } = self;
        WorkerBuilder {
            store,
            concurrency,
            timeout,
            lease,
            poll,
            grace,
            retry,
            retention,
            keep_bodies,
            handlers: handlers
                .into_iter()
                .map(|(kind, handler)| (kind, handler::stateless(handler)))
                .collect(),
            fallback: fallback.map(handler::stateless),
            order_by_bot,
            on_stale: on_stale.map(handler::stateless),
            state: Arc::new(state),
        }
    }
}

impl<S: Send + Sync + 'static> WorkerBuilder<S> {
    /// How many deliveries run at once (default 4). The worker also claims some ahead of its
    /// free slots (a fraction of a second of work: none for a slow handler, up to 512 for an
    /// instant one), so that a fast handler does not wait for the store between deliveries;
    /// those not started when it stops are handed back at once.
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

    /// How long the body of a completed delivery is kept (default `None`: as long as the
    /// delivery itself, see [`retention`](Self::retention)). Bodies carry personal data
    /// (names, emails, transcripts): with `Some(window)` they are dropped once the delivery
    /// completed longer than `window` ago (at the earliest five seconds after: `Duration::ZERO`
    /// drops them within seconds of completion; deliveries finishing at the same moment on
    /// other workers must all be recorded before the pass goes by), while
    /// its summary, attempts and idempotency key stay until retention deletes it, so duplicate
    /// detection and the admin views keep working. [`Inbox::show`](crate::Inbox::show) then
    /// says `body_dropped`, and a redrive of it is refused ([`Error::BodyDropped`](crate::Error::BodyDropped)).
    /// Dead letters keep their bodies (they are there to be redriven).
    ///
    /// Done in the background like retention, a few hundred per write: at start, then every
    /// quarter of the window (at least every minute, at most every 100 ms); each pass goes on
    /// from where the last one stopped. On Redis this is what takes bodies out of RAM.
    pub fn keep_bodies(mut self, window: Option<Duration>) -> Self {
        self.keep_bodies = window;
        self
    }

    /// Runs `handler` on the events carrying the payload `D`, given typed as
    /// [`Job::data`]: `D` is one of the payload types of
    /// [`meetingbaas_webhooks::event`] ([`BotCompleted`](meetingbaas_webhooks::event::BotCompleted),
    /// [`Transcription`](meetingbaas_webhooks::event::Transcription) for both transcription
    /// kinds, ...), chosen by the closure's argument type, `Job<S, D>`. See [`EventData`].
    pub fn handle<D, F, Fut>(mut self, handler: F) -> Self
    where
        D: EventData,
        F: Fn(Job<S, D>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        let handler = handler::typed(handler);
        for kind in D::KINDS {
            self.handlers.insert(*kind, Arc::clone(&handler));
        }
        self
    }

    /// Runs `handler` on deliveries of `kind`, given the whole [`Event`].
    pub fn on<F, Fut>(mut self, kind: EventKind, handler: F) -> Self
    where
        F: Fn(Job<S, Event>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        self.handlers.insert(kind, handler::untyped(handler));
        self
    }

    /// Runs `handler` on deliveries of every kind without a handler of its own. Without one,
    /// such deliveries become dead letters (redrive them once a handler exists).
    pub fn fallback<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Job<S, Event>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        self.fallback = Some(handler::untyped(handler));
        self
    }

    /// Runs each bot's deliveries one at a time and in the order of their event time (default:
    /// off, any order). With it:
    ///
    /// - at most one delivery of a bot runs at a time, across every worker and replica sharing
    ///   the store: a claim never takes a delivery whose bot has one running (a running one
    ///   whose worker died holds its bot until its lease runs out, then runs again: first on
    ///   Redis; on SQLite and Postgres in its place in event order, which is normally first);
    /// - a bot's deliveries start in the order of their event time (`status.created_at`, else
    ///   `sent_at`, else the receipt time where the payload has none, or a time that is
    ///   unreadable or more than five minutes ahead of receipt: see
    ///   [`EventTime::order_ms`](meetingbaas_webhooks::event::EventTime::order_ms)), ties by
    ///   receipt;
    /// - a delivery waits behind an earlier one of its bot that is queued or retrying for at
    ///   most `max_wait` (from when it was stored or redriven), then goes on with a warn line
    ///   (of several that waited that long, the first in event order): a failing delivery
    ///   blocks its bot for that long at most. A dead letter blocks nothing;
    /// - a `bot.status_change` older by event time than a delivery of its bot already handled
    ///   is **stale**: recorded completed with the outcome `stale` (counted in
    ///   [`Stats::stale`](crate::Stats::stale), shown in listings and metrics), and given to
    ///   [`on_stale`](Self::on_stale) instead of its usual handler. The rule is the core's
    ///   [`is_stale`](meetingbaas_webhooks::event::is_stale); the store keeps the newest handled
    ///   event time per bot, for as long as retention keeps completed deliveries and at least
    ///   [`BOT_TIME_KEPT`](crate::BOT_TIME_KEPT) (a day).
    ///
    /// Deliveries that name no bot are not ordered. Every store of this crate supports it
    /// ([`WorkStore::claim_in_bot_order`](crate::WorkStore::claim_in_bot_order)); how each
    /// does is in its module docs.
    ///
    /// ```
    /// use std::time::Duration;
    /// use meetingbaas_webhooks_inbox::{EventKind, Inbox, Job};
    ///
    /// # fn main() {
    /// let worker = Inbox::memory()
    ///     .worker()
    ///     .order_by_bot(Duration::from_secs(60))
    ///     .on(EventKind::BotStatusChange, |job: Job| async move {
    ///         println!("newest status so far: {}", job.event().name());
    ///         Ok(())
    ///     })
    ///     .on_stale(|job: Job| async move {
    ///         println!("{} arrived after a newer one of its bot", job.id());
    ///         Ok(())
    ///     })
    ///     .build();
    /// # drop(worker);
    /// # }
    /// ```
    pub fn order_by_bot(mut self, max_wait: Duration) -> Self {
        self.order_by_bot = Some(max_wait);
        self
    }

    /// Runs `handler` on stale statuses (see [`order_by_bot`](Self::order_by_bot)) instead of
    /// recording them without a handler: an error from it is retried like any other, and its
    /// success records the delivery as completed `stale`. Without [`order_by_bot`](Self::order_by_bot)
    /// nothing is stale and it is never called.
    pub fn on_stale<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Job<S, Event>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        self.on_stale = Some(handler::untyped(handler));
        self
    }

    /// The worker.
    pub fn build(self) -> Worker<S> {
        Worker {
            inner: Arc::new(self),
        }
    }
}
