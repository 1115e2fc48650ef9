//! [`Job`]: one delivery given to a handler for one attempt, with the application's state.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use meetingbaas_webhooks::event::{EventData, EventTime, links_expire_at_ms};
use meetingbaas_webhooks::{Event, EventKind, ParseError};

use crate::record::now_ms;

/// One delivery given to a handler for one attempt: what it is (id, key, kind, bot, attempt),
/// its data, and the worker's application state.
///
/// `S` is the state given to [`WorkerBuilder::state`](crate::WorkerBuilder::state) (`()` without
/// one), reached with [`state`](Self::state) like axum's `State`. `D` is what the handler was
/// registered for: the whole [`Event`] for [`on`](crate::WorkerBuilder::on) and
/// [`fallback`](crate::WorkerBuilder::fallback), or one payload type (such as
/// [`BotCompleted`](meetingbaas_webhooks::event::BotCompleted)) for
/// [`handle`](crate::WorkerBuilder::handle), reached with [`data`](Self::data).
///
/// A handler owns its job, so that its future can be `'static`: borrow from it inside an
/// `async move` block.
///
/// In a test, build one from a body and call the handler directly:
///
/// ```
/// use meetingbaas_webhooks_inbox::event::BotCompleted;
/// use meetingbaas_webhooks_inbox::{HandlerError, Job};
///
/// struct App { crm: &'static str }
///
/// async fn recording_ready(job: Job<App, BotCompleted>) -> Result<(), HandlerError> {
///     let bot = job.data().bot_id.as_deref().ok_or(HandlerError::permanent("no bot id"))?;
///     println!("tell {} that {bot}'s recording is ready", job.state().crm);
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let job = Job::from_body(r#"{"event":"bot.completed","data":{"bot_id":"b-1"}}"#)
///     .expect("an envelope")
///     .with_state(App { crm: "https://crm.example" })
///     .typed::<BotCompleted>()
///     .expect("a bot.completed");
/// assert_eq!(recording_ready(job).await, Ok(()));
/// # }
/// ```
pub struct Job<S = (), D = Event> {
    meta: Arc<Meta>,
    state: Arc<S>,
    data: Box<D>,
}

/// What a job is, whatever its data: shared by the typed and untyped views of it.
#[derive(Clone, Debug)]
struct Meta {
    id: String,
    key: String,
    attempt: u32,
    received_ms: i64,
    body: Bytes,
    kind: EventKind,
    name: String,
    bot_id: Option<String>,
    time: EventTime,
    /// The attempt's transaction, with a store that has them.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    scope: Option<crate::store::AttemptScope>,
}

impl<S, D: Clone> Clone for Job<S, D> {
    fn clone(&self) -> Self {
        Job {
            meta: Arc::clone(&self.meta),
            state: Arc::clone(&self.state),
            data: self.data.clone(),
        }
    }
}

/// The job's identity only: the data can be megabytes, and the state is the application's.
impl<S, D> fmt::Debug for Job<S, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("id", &self.meta.id)
            .field("key", &self.meta.key)
            .field("kind", &self.meta.kind)
            .field("bot_id", &self.meta.bot_id)
            .field("attempt", &self.meta.attempt)
            .finish_non_exhaustive()
    }
}

impl<S, D> Job<S, D> {
    /// The inbox's id of the delivery.
    pub fn id(&self) -> &str {
        &self.meta.id
    }

    /// The delivery's idempotency key: use it to make the handler's side effects idempotent
    /// (the worker runs a delivery at least once; after a crash it may run it again).
    pub fn key(&self) -> &str {
        &self.meta.key
    }

    /// The attempt number since the delivery was stored or last redriven, 1 for the first.
    pub fn attempt(&self) -> u32 {
        self.meta.attempt
    }

    /// When the delivery was stored, Unix milliseconds.
    pub fn received_ms(&self) -> i64 {
        self.meta.received_ms
    }

    /// The verified body, byte for byte.
    pub fn body(&self) -> &Bytes {
        &self.meta.body
    }

    /// What the event means (several kinds can share a payload type).
    pub fn kind(&self) -> EventKind {
        self.meta.kind
    }

    /// The wire name the event arrived under (`bot.completed`, `complete`, `alert`...).
    pub fn name(&self) -> &str {
        &self.meta.name
    }

    /// The bot the event is about, when it names one.
    pub fn bot_id(&self) -> Option<&str> {
        self.meta.bot_id.as_deref()
    }

    /// When the event happened by its payload (`status.created_at`, else `sent_at`), never
    /// by the local clock ([`EventTime`]).
    pub fn event_time(&self) -> EventTime {
        self.meta.time
    }

    /// When the payload's presigned links (video, audio, transcription, diarization, chat
    /// messages) expire: 4 hours after its `sent_at`, or after receipt where it has none.
    /// A delivery handled from a backlog or redriven later holds dead links: ask Meeting BaaS
    /// for a fresh delivery (`meetingbaas-webhooks inbox redeliver`).
    pub fn links_expire_at(&self) -> SystemTime {
        let ms = links_expire_at_ms(self.meta.time.sent_at, self.meta.received_ms);
        UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    /// Whether the payload's presigned links have expired by now ([`links_expire_at`]).
    ///
    /// [`links_expire_at`]: Self::links_expire_at
    pub fn links_expired(&self) -> bool {
        links_expire_at_ms(self.meta.time.sent_at, self.meta.received_ms) <= now_ms()
    }

    /// The database transaction in which this delivery's completion will be recorded (the
    /// Postgres store), begun on the first call: write your own rows in it and return `Ok`, and
    /// your writes and the completion commit together, or not at all.
    ///
    /// - A handler that returns an error, panics or times out has its writes rolled back with
    ///   the attempt; the next attempt starts a new transaction.
    /// - An attempt whose lease was lost (it ran past its lease and another worker took the
    ///   delivery over) is rolled back: the other worker's attempt is the one that counts.
    /// - So **effects written through this transaction happen once**. Other side effects (an
    ///   HTTP call, a message) are still at least once: make them idempotent with
    ///   [`key`](Self::key).
    ///
    /// The transaction holds one connection of the store's pool until the attempt is
    /// recorded: keep the pool larger than the worker's concurrency. Drop the returned guard
    /// before awaiting anything long that does not use it. A statement that fails inside it
    /// aborts the transaction: return the error (the attempt is retried) rather than `Ok`.
    ///
    /// ```no_run
    /// use meetingbaas_webhooks_inbox::{HandlerError, Job};
    ///
    /// async fn record(job: Job) -> Result<(), HandlerError> {
    ///     let mut tx = job.transaction().await?;
    ///     sqlx::query("INSERT INTO meetings (bot_id) VALUES ($1)")
    ///         .bind(job.bot_id())
    ///         .execute(&mut *tx)
    ///         .await?;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// Fails with a store that has no transactions (SQLite, Redis, a job built for a test),
    /// and once the attempt is over. Feature `postgres`.
    #[cfg(feature = "postgres")]
    pub async fn transaction(&self) -> Result<crate::JobTransaction<'_>, crate::Error> {
        match self
            .meta
            .scope
            .as_ref()
            .and_then(|scope| scope.postgres_cell())
        {
            Some(cell) => cell.get().await,
            None => Err(crate::Error::Store(
                "this job has no transaction: only the Postgres store gives one".into(),
            )),
        }
    }

    /// The worker's application state ([`WorkerBuilder::state`](crate::WorkerBuilder::state)).
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The state, shared: to move it into a task of its own.
    pub fn shared_state(&self) -> Arc<S> {
        Arc::clone(&self.state)
    }

    /// The data the handler was registered for.
    pub fn data(&self) -> &D {
        &self.data
    }

    /// Takes the data.
    pub fn into_data(self) -> D {
        *self.data
    }

    /// The same job with `state` as its application state (for a test).
    pub fn with_state<T>(self, state: T) -> Job<T, D> {
        Job {
            meta: self.meta,
            state: Arc::new(state),
            data: self.data,
        }
    }

    /// The same job as attempt number `attempt` (for a test).
    pub fn with_attempt(mut self, attempt: u32) -> Self {
        Arc::make_mut(&mut self.meta).attempt = attempt;
        self
    }

    /// The same job with the state shared with other jobs.
    pub(crate) fn with_shared_state<T>(self, state: Arc<T>) -> Job<T, D> {
        Job {
            meta: self.meta,
            state,
            data: self.data,
        }
    }
}

impl<S> Job<S, Event> {
    /// The event.
    pub fn event(&self) -> &Event {
        &self.data
    }

    /// Takes the event.
    pub fn into_event(self) -> Event {
        *self.data
    }

    /// The same job with its payload typed as `D`, or the job back when its event carries
    /// another type.
    pub fn typed<D: EventData>(self) -> Result<Job<S, D>, Self> {
        let Job { meta, state, data } = self;
        match D::from_event(*data) {
            Ok(data) => Ok(Job { meta, state, data }),
            Err(event) => Err(Job {
                meta,
                state,
                data: Box::new(event),
            }),
        }
    }
}

impl Job {
    /// A job for a test: `body` parsed as the worker parses it, as if stored now, attempt 1,
    /// with no state. Fails as [`Event::from_slice`] does (a body that is not an envelope would
    /// be a dead letter).
    pub fn from_body(body: impl Into<Bytes>) -> Result<Job, ParseError> {
        let body = body.into();
        let event = Event::from_bytes(&body)?;
        let key = format!("test:{:016x}", fnv1a(&body));
        Ok(Job::new(JobParts {
            id: format!("job-{:016x}", fnv1a(key.as_bytes())),
            key,
            attempt: 1,
            received_ms: now_ms(),
            body,
            kind: None,
            event,
            scope: None,
        }))
    }

    /// The job the worker gives a handler.
    pub(crate) fn new(parts: JobParts) -> Job {
        let JobParts {
            id,
            key,
            attempt,
            received_ms,
            body,
            kind,
            event,
            scope,
        } = parts;
        let meta = Meta {
            id,
            key,
            attempt,
            received_ms,
            body,
            kind: kind.unwrap_or_else(|| event.kind()),
            name: event.name().to_owned(),
            bot_id: event.bot_id().map(str::to_owned),
            time: event.time(),
            scope,
        };
        Job {
            meta: Arc::new(meta),
            state: Arc::new(()),
            data: Box::new(event),
        }
    }
}

/// What the worker knows of a claimed delivery once its body is parsed.
pub(crate) struct JobParts {
    pub(crate) id: String,
    pub(crate) key: String,
    pub(crate) attempt: u32,
    pub(crate) received_ms: i64,
    pub(crate) body: Bytes,
    /// The kind recorded at intake, when there is one.
    pub(crate) kind: Option<EventKind>,
    pub(crate) event: Event,
    /// The attempt's transaction, with a store that has them.
    pub(crate) scope: Option<crate::store::AttemptScope>,
}

/// A stable, non-cryptographic digest for test ids and keys.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod link_tests {
    use super::*;

    #[test]
    fn links_expire_four_hours_after_sent_at_or_receipt() {
        let old = Job::from_body(
            r#"{"event":"bot.completed","data":{"bot_id":"b","sent_at":"2025-01-15T11:05:00Z"}}"#,
        )
        .unwrap();
        let sent = Duration::from_millis(1_736_939_100_000);
        assert_eq!(
            old.links_expire_at(),
            UNIX_EPOCH + sent + Duration::from_secs(4 * 3600)
        );
        assert!(old.links_expired());
        assert_eq!(old.event_time().event_ms(), Some(1_736_939_100_000));

        let fresh = Job::from_body(r#"{"event":"bot.completed","data":{"bot_id":"b"}}"#).unwrap();
        assert!(!fresh.links_expired(), "counted from receipt: now");
        let expires = fresh.links_expire_at().duration_since(UNIX_EPOCH).unwrap();
        let received = Duration::from_millis(u64::try_from(fresh.received_ms()).unwrap());
        assert_eq!(expires - received, Duration::from_secs(4 * 3600));

        let status = Job::from_body(
            r#"{"event":"bot.status_change","data":{"bot_id":"b","status":{"code":"joining_call","created_at":"2025-01-15T10:30:00Z"}}}"#,
        )
        .unwrap();
        assert_eq!(status.event_time().event_ms(), Some(1_736_937_000_000));
    }
}
