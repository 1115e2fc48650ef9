//! A durable inbox for Meeting BaaS webhooks: every verified delivery is stored before it is
//! answered, and a worker runs your handler on it afterwards, with retries, dead letters and
//! redrive.
//!
//! Meeting BaaS waits 30 s for an answer (v1: 10 s) and then counts the delivery as failed.
//! Without an inbox your handler runs inside the request: a slow handler is **cancelled** when
//! the sender gives up, and a failing one has only the sender's retries. With an inbox:
//!
//! 1. intake (any adapter, one builder call: `.inbox(inbox.intake())`) verifies the delivery,
//!    stores it durably and answers `202 {"status":"queued","id":...}` at once; a copy of a
//!    stored delivery (same idempotency key) is answered `200 {"status":"duplicate"}`; a store
//!    that cannot be written is answered 503, so the sender retries;
//! 2. a [`Worker`] in the same process (or another) runs your handler per event kind, never
//!    cancelled by the sender: concurrency N, a timeout per attempt, a lease renewed while it
//!    runs (a crashed worker's deliveries are taken up again), exponential backoff with jitter,
//!    a maximum number of attempts, then a dead letter kept with every attempt;
//! 3. the admin API ([`Inbox::stats`], [`list`](Inbox::list), [`show`](Inbox::show),
//!    [`redrive`](Inbox::redrive), [`forget`](Inbox::forget), [`purge`](Inbox::purge)) and the
//!    CLI's `meetingbaas-webhooks inbox` look into it and reprocess.
//!
//! Stores, one feature each so that a service links only the driver it uses: [`Inbox::sqlite`]
//! (feature `sqlite`, default: one file, for a service on one machine), [`Inbox::redis`]
//! (feature `redis`: Redis Streams, replicas behind a load balancer), [`Inbox::memory`] (tests
//! only: not durable). A store implements three small traits, by role ([`IntakeStore`],
//! [`WorkStore`], [`AdminStore`]: together a [`Store`]), and passes the store suite
//! (`testing::store_suite!`, feature `testing`). Each keeps a schema version and the oldest
//! code that can use it (SQLite: `PRAGMA application_id` and `user_version`; Redis: a
//! `schema` key), migrated forward at start.
//! [`Inbox::open`] takes a URL: `sqlite://inbox.db` (relative to the working directory),
//! `sqlite:///var/lib/app/inbox.db` (absolute), `redis://HOST:PORT`,
//! `postgres://USER:PASS@HOST:PORT/DB` (`?schema=NAME`, `?listen=false`), `memory`
//! (`rediss://` is refused at start: this build has no TLS for Redis).
//!
//! ```
//! use std::time::Duration;
//! use meetingbaas_webhooks_receiver::Pipeline;
//! use meetingbaas_webhooks::{Bytes, Event, EventKind, Signer, Verifier};
//! use meetingbaas_webhooks_inbox::{HandlerError, Inbox, Job};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let inbox = Inbox::memory();
//! // Any adapter takes this pipeline: tower `Intake` or `VerifyWebhookLayer`, actix `intake` or
//! // `VerifyWebhook`, warp `intake` or `WebhookConfig`.
//! let pipeline = Pipeline::new(Verifier::builder().signature_secret("s3cret").build()?)
//!     .inbox(inbox.intake());
//!
//! // A delivery arrives: stored, answered 202 at once.
//! let body = r#"{"event":"bot.completed","data":{"bot_id":"b-1"}}"#;
//! let headers = Signer::signature("s3cret")?.sign(body.as_bytes(), "", 0);
//! let stream = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(Bytes::from(body))]);
//! let received = pipeline.read(&headers, stream).await.expect("a body under the limit");
//! let answer = pipeline.admit::<Event, _>(&headers, received).await.into_result().unwrap_err();
//! assert_eq!(answer.status(), 202);
//!
//! // The worker handles it later, per kind.
//! let worker = inbox
//!     .worker()
//!     .on(EventKind::BotCompleted, |job: Job| async move {
//!         println!("bot {:?} completed", job.event().bot_id());
//!         Ok::<(), HandlerError>(())
//!     })
//!     .fallback(|_job: Job| async { Ok(()) })
//!     .build()
//!     .spawn();
//! while inbox.stats().await?.completed < 1 {
//!     tokio::time::sleep(Duration::from_millis(10)).await;
//! }
//! worker.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Guarantees
//!
//! - A delivery is answered 2xx only once it is durable: the SQLite commit's log is on disk
//!   (`fdatasync` of the WAL, after the commit, before the answer); Redis has acknowledged the write (durable across a Redis restart only
//!   with `appendonly yes`; `appendfsync always` for every write, `everysec` loses at most about
//!   a second on a power cut).
//! - The handler runs at least once per stored delivery; make its side effects idempotent with
//!   [`Job::key`]. Each delivery's completion is recorded exactly once: an attempt whose lease
//!   was lost cannot record its outcome over the worker that took the delivery over.
//! - Completed deliveries are kept for the worker's [retention](WorkerBuilder::retention)
//!   (default 7 days), then deleted in the background in small batches; dead letters are kept
//!   until [purged](Inbox::purge).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "postgres")]
mod postgres;
mod record;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod wakeup;
mod worker;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use meetingbaas_webhooks::VerifiedDelivery;
use meetingbaas_webhooks_receiver::{EnqueueFuture, EventLabel};

pub use error::Error;
pub use meetingbaas_webhooks::event::{self, EventData};
pub use meetingbaas_webhooks::{Event, EventKind};
pub use meetingbaas_webhooks_receiver::Enqueued;
#[cfg(feature = "postgres")]
pub use postgres::{DEFAULT_SCHEMA, JobTransaction, PostgresBackend, PostgresOptions};
pub use record::{
    Attempt, BOT_TIME_KEPT, Claimed, ListQuery, State, Stats, StoredDelivery, Summary, Verdict,
    kind_from_name, now_ms,
};
#[cfg(feature = "redis")]
pub use redis::RedisBackend;
#[cfg(feature = "sqlite")]
pub use sqlite::{BackupReport, SqliteBackend, SqliteReader};
pub use store::{
    AdminStore, AttemptScope, IntakeStore, NewDelivery, Store, StoreFuture, WorkStore,
};
pub use worker::{
    Attempted, DEFAULT_RETENTION, HandlerError, Job, RetryPolicy, Worker, WorkerBuilder,
    WorkerHandle,
};

/// The environment variable the examples read: `sqlite://PATH`, `redis://HOST:PORT`,
/// `postgres://USER:PASS@HOST:PORT/DB`, or `memory` (`rediss://` is refused: this build has no TLS for Redis).
pub const INBOX_ENV_VAR: &str = "MEETINGBAAS_INBOX";

/// An inbox: one store, shared by intake, workers and the admin API. Cheap to clone.
#[derive(Clone)]
pub struct Inbox {
    store: Arc<dyn Store>,
}

impl fmt::Debug for Inbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Inbox").field(&self.store).finish()
    }
}

impl Inbox {
    /// An inbox on any [`Store`].
    pub fn with_store(store: impl Store) -> Self {
        Inbox {
            store: Arc::new(store),
        }
    }

    /// An inbox in the SQLite file at `path` (created if needed). Fails now when the file cannot
    /// be written, is not a database, or its directory does not exist. Feature `sqlite`
    /// (default).
    #[cfg(feature = "sqlite")]
    pub fn sqlite(path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        Ok(Inbox::with_store(SqliteBackend::open(path)?))
    }

    /// An inbox in Redis Streams at `url`, shared by every replica. Fails now when Redis cannot
    /// be reached. Feature `redis`.
    #[cfg(feature = "redis")]
    pub async fn redis(url: &str) -> Result<Self, Error> {
        Ok(Inbox::with_store(RedisBackend::connect(url).await?))
    }

    /// An inbox in Postgres at `url` (`postgres://USER:PASS@HOST:PORT/DB`, `?schema=NAME` for
    /// another schema than `meetingbaas_inbox`, `?listen=false` behind a pooler without
    /// `LISTEN`), shared by every replica; its tables are created or migrated now. Fails now
    /// when Postgres cannot be reached. Feature `postgres`.
    #[cfg(feature = "postgres")]
    pub async fn postgres(url: &str) -> Result<Self, Error> {
        Ok(Inbox::with_store(PostgresBackend::connect(url).await?))
    }

    /// An inbox in Postgres on your application's pool, so that a handler's
    /// [`Job::transaction`] is a transaction on your connections (intake keeps a few
    /// connections of its own: [`PostgresOptions::intake_connections`]). Feature `postgres`.
    #[cfg(feature = "postgres")]
    pub async fn postgres_with_pool(
        pool: sqlx::PgPool,
        options: PostgresOptions,
    ) -> Result<Self, Error> {
        Ok(Inbox::with_store(
            PostgresBackend::with_pool(pool, options).await?,
        ))
    }

    /// An inbox in memory. **Not durable**: everything is lost with the process. For tests.
    /// Feature `sqlite` (it is SQLite's in-memory database).
    #[cfg(feature = "sqlite")]
    pub fn memory() -> Self {
        Inbox::with_store(SqliteBackend::memory())
    }

    /// Opens the store named by `url`: `sqlite://PATH` (`sqlite://inbox.db` relative to the
    /// working directory, `sqlite:///var/lib/app/inbox.db` absolute), `redis://HOST:PORT`,
    /// `postgres://USER:PASS@HOST:PORT/DB` (also `postgresql://`), or `memory`. A store whose feature this build lacks is a clear error, and so is `rediss://`
    /// (this build has no TLS for Redis: reach it on a private network or through a tunnel).
    pub async fn open(url: &str) -> Result<Self, Error> {
        let url = url.trim();
        let missing = |feature: &str| {
            Error::InvalidUrl(format!(
                "this build of meetingbaas-webhooks-inbox has no `{feature}` feature"
            ))
        };
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(Error::InvalidUrl("sqlite:// needs a file path".into()));
            }
            #[cfg(feature = "sqlite")]
            return Inbox::sqlite(path);
            #[cfg(not(feature = "sqlite"))]
            return Err(missing("sqlite"));
        }
        if url.starts_with("redis://") || url.starts_with("rediss://") {
            #[cfg(feature = "redis")]
            return Inbox::redis(url).await;
            #[cfg(not(feature = "redis"))]
            return Err(missing("redis"));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            return Inbox::postgres(url).await;
            #[cfg(not(feature = "postgres"))]
            return Err(missing("postgres"));
        }
        if url == "memory" {
            #[cfg(feature = "sqlite")]
            return Ok(Inbox::memory());
            #[cfg(not(feature = "sqlite"))]
            return Err(missing("sqlite"));
        }
        let _ = missing;
        Err(Error::InvalidUrl(
            "expected sqlite://PATH, redis://HOST:PORT, postgres://USER:PASS@HOST:PORT/DB or memory"
                .into(),
        ))
    }

    /// Opens the store named by `url` for reading only (`stats`, `list`, `show`; every write is
    /// [`Error::ReadOnly`]): a SQLite file is opened with `mode=ro`, so nothing is written to
    /// it (not even a migration), which works on a full disk and a read-only mount. Other stores
    /// open as [`open`](Self::open) does.
    pub async fn open_read_only(url: &str) -> Result<Self, Error> {
        #[cfg(feature = "sqlite")]
        if let Some(path) = url.trim().strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(Error::InvalidUrl("sqlite:// needs a file path".into()));
            }
            return Ok(Inbox::with_store(SqliteReader::open(path)?));
        }
        Inbox::open(url).await
    }

    /// The inbox named by `MEETINGBAAS_INBOX`, or `None` when it is unset or empty.
    pub async fn from_env() -> Result<Option<Self>, Error> {
        match std::env::var(INBOX_ENV_VAR) {
            Ok(url) if !url.trim().is_empty() => Inbox::open(&url).await.map(Some),
            _ => Ok(None),
        }
    }

    /// The intake side, for `Pipeline::inbox` and the adapters' `inbox` builder methods.
    pub fn intake(&self) -> Arc<dyn meetingbaas_webhooks_receiver::Inbox> {
        Arc::new(self.clone())
    }

    /// A worker on this inbox, to configure (handlers per kind, concurrency, timeouts).
    pub fn worker(&self) -> WorkerBuilder {
        WorkerBuilder::new(self)
    }

    /// The store, for the worker.
    pub(crate) fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// `Ok` when the store can take deliveries and be worked from now: what a readiness probe
    /// (`GET /ready`) asks. With SQLite, never after the background integrity check of the
    /// file (or any operation) found damage, and not while claims fail ([`AdminStore::ready`]);
    /// the check itself does not hold readiness back (it takes minutes on a large file).
    pub async fn ready(&self) -> Result<(), Error> {
        self.store.ready().await
    }

    /// Counts per state and the age of the oldest delivery not yet handled.
    pub async fn stats(&self) -> Result<Stats, Error> {
        self.store.stats().await
    }

    /// Deliveries matching `query`, newest first.
    pub async fn list(&self, query: ListQuery) -> Result<Vec<Summary>, Error> {
        self.store.list(query).await
    }

    /// One delivery with its body and every attempt.
    pub async fn show(&self, id: &str) -> Result<StoredDelivery, Error> {
        self.store
            .show(id.to_string())
            .await?
            .ok_or_else(|| Error::NotFound(id.to_string()))
    }

    /// Runs a delivery again (a dead letter, or a completed one), with a fresh attempt budget.
    pub async fn redrive(&self, id: &str) -> Result<(), Error> {
        self.store.redrive(id.to_string()).await
    }

    /// Runs every dead letter (of `kind`, an [`EventKind::as_str`] name, when given) again;
    /// returns how many.
    ///
    /// [`EventKind::as_str`]: meetingbaas_webhooks::EventKind::as_str
    pub async fn redrive_dead(&self, kind: Option<&str>) -> Result<u64, Error> {
        self.store.redrive_dead(kind.map(str::to_string)).await
    }

    /// Forgets an idempotency key, so that a delivery sent again with it (a deliberate resend,
    /// which keeps the Svix message id) is stored and handled again. The stored delivery stays.
    /// Returns whether the key was known.
    pub async fn forget(&self, key: &str) -> Result<bool, Error> {
        self.store.forget(key.to_string()).await
    }

    /// Deletes dead letters (or completed deliveries) finished more than `older_than` ago;
    /// returns how many.
    pub async fn purge(&self, state: State, older_than: Duration) -> Result<u64, Error> {
        self.store.purge(state, older_than).await
    }
}

impl meetingbaas_webhooks_receiver::Inbox for Inbox {
    fn enqueue(&self, delivery: &VerifiedDelivery, label: EventLabel) -> EnqueueFuture {
        let future = self.store.enqueue(NewDelivery::new(delivery, label));
        Box::pin(async move { future.await.map_err(Into::into) })
    }
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT): give it to [`Worker::run`] for a worker running on
/// its own. A worker beside intake in one process must not take the signal alone (intake would
/// answer 202 with no worker left): stop both with `meetingbaas_webhooks_server::Shutdown`, and
/// [`WorkerHandle::shutdown`] once the server has drained.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
/// A lease token: unique per process and call.
pub(crate) fn token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        now_ms(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
