//! The Postgres store: for services whose data is in Postgres already, in containers with no
//! persistent local disk, and for replicas sharing one inbox.
//!
//! - **Tables** in a schema of the inbox's own (`meetingbaas_inbox` by default,
//!   [`PostgresOptions::schema`] or `?schema=NAME` in the URL), created and migrated at start
//!   under an advisory lock, versioned in its own `schema_versions` table (`schema.rs`).
//! - **Intake** by group commit: deliveries arriving together are written by one multi-row
//!   insert, one commit (`intake.rs`), on connections of intake's own, so that handlers holding
//!   the worker's connections in long transactions cannot starve intake. A delivery is answered
//!   2xx only once that commit has returned (`synchronous_commit` as the server has it: keep it
//!   `on`); a database that cannot be reached, or no place in the writers' queue within 5 s,
//!   is an error (intake answers 503, the sender retries).
//! - **Claims** with `FOR UPDATE SKIP LOCKED` (workers of every replica take distinct
//!   deliveries without waiting on each other), under a lease with a deadline: a crashed
//!   worker's deliveries are taken again when it runs out.
//! - **Waking**: intake sends `NOTIFY <schema>_ready` when deliveries were stored (at most
//!   every 2 ms, in a transaction of its own: a `NOTIFY` in the insert's transaction would
//!   serialize the writers' commits on Postgres's notify lock), and an idle worker `LISTEN`s on
//!   it, so it wakes at once without polling fast. Behind a
//!   pooler that does not carry `LISTEN` (PgBouncer in transaction mode, RDS Proxy), turn it off
//!   ([`PostgresOptions::listen`] or `?listen=false`): workers then poll every
//!   [`poll_interval`](crate::WorkerBuilder::poll_interval) (and still wake at once for
//!   deliveries stored by their own process).
//! - **Transactional completion**: a handler can write its own rows in the transaction that
//!   records its delivery's completion ([`Job::transaction`](crate::Job::transaction)).
//! - **Per-bot order** ([`WorkerBuilder::order_by_bot`](crate::WorkerBuilder::order_by_bot)):
//!   claims in bot order take turns under a transaction-level advisory lock, so that two
//!   replicas never start two deliveries of one bot (`order.rs`).

mod intake;
mod order;
mod records;
pub(crate) mod schema;
mod sql;
pub(crate) mod transaction;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use meetingbaas_webhooks_receiver::Enqueued;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgPool};
use tokio::sync::{mpsc, oneshot};

use crate::error::Error;
use crate::record::{
    Attempt, Claimed, ListQuery, State, Stats, StoredDelivery, Summary, Verdict, millis, now_ms,
};
use crate::store::{AdminStore, AttemptScope, IntakeStore, NewDelivery, StoreFuture, WorkStore};
use crate::wakeup::Wakeup;
use sql::Sql;
pub use transaction::JobTransaction;

/// The schema the inbox's tables are created in unless told otherwise.
pub const DEFAULT_SCHEMA: &str = "meetingbaas_inbox";

/// How the Postgres store is set up. `PostgresOptions::default()` is what
/// [`Inbox::postgres`](crate::Inbox::postgres) uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresOptions {
    schema: String,
    listen: bool,
    intake_connections: u32,
    worker_connections: u32,
    max_connections: u32,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            schema: DEFAULT_SCHEMA.to_string(),
            listen: true,
            intake_connections: 2,
            worker_connections: 4,
            max_connections: 16,
        }
    }
}

impl PostgresOptions {
    /// The default options: schema `meetingbaas_inbox`, `LISTEN` on, 2 intake connections, 4
    /// for the worker's bookkeeping, a pool of 16 for handlers' transactions and the admin API.
    pub fn new() -> Self {
        PostgresOptions::default()
    }

    /// The schema the inbox's tables live in (created if missing): lowercase ASCII letters,
    /// digits and `_`, at most 48 bytes. Two inboxes in one database need two schemas.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// Whether idle workers `LISTEN` for new deliveries (default on). Turn it off behind a
    /// pooler that does not carry `LISTEN` (PgBouncer in transaction mode, RDS Proxy): workers
    /// then poll every `poll_interval`.
    pub fn listen(mut self, listen: bool) -> Self {
        self.listen = listen;
        self
    }

    /// The connections intake writes with, its own (default 2, at least 1): each writes one
    /// batch of deliveries at a time.
    pub fn intake_connections(mut self, connections: u32) -> Self {
        self.intake_connections = connections.max(1);
        self
    }

    /// The connections the worker's bookkeeping uses, its own (default 4, at least 1): claims,
    /// lease renewals, attempt records (with `synchronous_commit` off: none waits for the log's
    /// flush; one lost in a crash of the server runs a delivery once more), retention.
    pub fn worker_connections(mut self, connections: u32) -> Self {
        self.worker_connections = connections.max(1);
        self
    }

    /// The size of the pool the admin API and handlers' transactions use when the
    /// store connects by URL (default 16; with [`PostgresBackend::with_pool`], your pool's own
    /// size holds). Each handler holding [`Job::transaction`](crate::Job::transaction) holds one
    /// of them until it returns: keep it above the worker's concurrency.
    pub fn max_connections(mut self, connections: u32) -> Self {
        self.max_connections = connections.max(2);
        self
    }

    /// Reads `schema=NAME` and `listen=false` from the URL's query into these options, and
    /// returns the URL without them (sqlx ignores, with a warning, parameters it does not know).
    fn read_url(mut self, url: &str) -> Result<(Self, String), Error> {
        let Some((base, query)) = url.split_once('?') else {
            return Ok((self, url.to_string()));
        };
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            match pair.split_once('=') {
                Some(("schema", schema)) => self.schema = schema.to_string(),
                Some(("listen", listen)) => {
                    self.listen = match listen {
                        "true" | "on" | "1" => true,
                        "false" | "off" | "0" => false,
                        _ => {
                            return Err(Error::InvalidUrl(
                                "postgres:// takes listen=true or listen=false".into(),
                            ));
                        }
                    }
                }
                _ => kept.push(pair),
            }
        }
        let url = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok((self, url))
    }
}

/// The Postgres store ([`Inbox::postgres`](crate::Inbox::postgres)). Cheap to clone.
#[derive(Clone)]
pub struct PostgresBackend {
    shared: Arc<Shared>,
}

/// What every clone shares.
pub(crate) struct Shared {
    /// The admin API's and handlers' transactions' connections (the application's pool with
    /// [`PostgresBackend::with_pool`]).
    pool: PgPool,
    /// The worker's bookkeeping (claims, leases, attempt records, retention), on connections of
    /// the inbox's own with `synchronous_commit` off: such a write lost in a crash of the server
    /// runs a delivery once more (as any crash may), and none waits for the log's flush.
    work: PgPool,
    /// Intake's queue to its writers.
    intake: mpsc::Sender<intake::Pending>,
    /// The worker's attempt records' queue to their writers.
    records: mpsc::Sender<records::Pending>,
    /// Deliveries were stored: the announcer tells the other replicas.
    announce: tokio::sync::Notify,
    sql: Sql,
    wakeup: Arc<Wakeup>,
    schema: String,
    listen: bool,
    /// Where the server is, for `Debug` (never the password).
    server: String,
}

impl fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresBackend")
            .field("server", &self.shared.server)
            .field("schema", &self.shared.schema)
            .field("listen", &self.shared.listen)
            .finish_non_exhaustive()
    }
}

impl PostgresBackend {
    /// Connects to `url` (`postgres://USER:PASS@HOST:PORT/DB`, with `?schema=NAME` and
    /// `?listen=false` read as [`PostgresOptions`], and sqlx's own parameters such as
    /// `sslmode`), creates or migrates the inbox's tables, and starts intake's writers and the
    /// listener. Fails now when the server cannot be reached or refuses the login.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        PostgresBackend::connect_with(url, PostgresOptions::default()).await
    }

    /// [`connect`](Self::connect) with `options` (the URL's parameters override them).
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, Error> {
        let (options, url) = options.read_url(url)?;
        let connect: PgConnectOptions = url
            .parse()
            .map_err(|err| Error::InvalidUrl(format!("postgres:// URL: {}", redact(&err))))?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(connect)
            .await
            .map_err(|err| connect_error(&err))?;
        PostgresBackend::with_pool(pool, options).await
    }

    /// The inbox on your application's own pool: the worker, the admin API and handlers'
    /// transactions use it (so [`Job::transaction`](crate::Job::transaction) is a
    /// `sqlx::Transaction` on your connections); intake opens
    /// [`intake_connections`](PostgresOptions::intake_connections) of its own with the same
    /// connect options, so that slow handlers cannot starve it.
    pub async fn with_pool(pool: PgPool, options: PostgresOptions) -> Result<Self, Error> {
        if !schema::valid_schema(&options.schema) {
            return Err(Error::InvalidUrl(format!(
                "schema {:?}: use lowercase ASCII letters, digits and `_` (at most 48 bytes, not \
                 starting with a digit or pg_)",
                options.schema
            )));
        }
        let connect = pool.connect_options();
        let server = format!(
            "{}:{}/{}",
            connect.get_host(),
            connect.get_port(),
            connect.get_database().unwrap_or("")
        );
        schema::migrate(&pool, &options.schema)
            .await
            .map_err(|err| match err {
                Error::Store(message) => Error::Store(format!("{server}: {message}")),
                other => other,
            })?;
        let intake_pool = PgPoolOptions::new()
            .max_connections(options.intake_connections)
            .acquire_timeout(intake::QUEUE_DEADLINE)
            .connect_with((*connect).clone())
            .await
            .map_err(|err| connect_error(&err))?;
        let work = PgPoolOptions::new()
            .max_connections(options.worker_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with((*connect).clone().options([("synchronous_commit", "off")]))
            .await
            .map_err(|err| connect_error(&err))?;
        let quoted = schema::quote(&options.schema);
        let channel = schema::channel(&options.schema);
        let (sender, receiver) = mpsc::channel(intake::MAX_BATCH * 4);
        let (records, records_receiver) = mpsc::channel(records::MAX_BATCH * 4);
        let shared = Arc::new(Shared {
            pool,
            work,
            intake: sender,
            records,
            announce: tokio::sync::Notify::new(),
            sql: Sql::new(&quoted, &channel),
            wakeup: Arc::new(Wakeup::default()),
            schema: options.schema.clone(),
            listen: options.listen,
            server,
        });
        records::spawn_writers(records_receiver, Arc::downgrade(&shared));
        intake::spawn_announcer(intake_pool.clone(), Arc::downgrade(&shared));
        intake::spawn_writers(
            usize::try_from(options.intake_connections).unwrap_or(1),
            receiver,
            intake_pool,
            Arc::clone(&shared),
        );
        if options.listen {
            listen(&shared, (*connect).clone(), channel).await?;
        }
        Ok(PostgresBackend { shared })
    }

    /// The pool the worker, the admin API and handlers' transactions use.
    pub fn pool(&self) -> &PgPool {
        &self.shared.pool
    }

    /// The schema the inbox's tables live in.
    pub fn schema(&self) -> &str {
        &self.shared.schema
    }

    fn sql(&self, statement: &Arc<str>) -> AssertSqlSafe<Arc<str>> {
        AssertSqlSafe(Arc::clone(statement))
    }
}

/// Starts the task that `LISTEN`s for stored deliveries and wakes this process's idle workers
/// (on a connection of its own, reconnected when lost). Fails when the first `LISTEN` does.
async fn listen(
    shared: &Arc<Shared>,
    connect: PgConnectOptions,
    channel: String,
) -> Result<(), Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy_with(connect);
    let mut listener = PgListener::connect_with(&pool).await.map_err(|err| {
        Error::Store(format!(
            "cannot LISTEN for new deliveries ({}); behind a pooler that does not carry LISTEN, \
             open the inbox with ?listen=false",
            redact(&err)
        ))
    })?;
    listener.listen(&channel).await.map_err(|err| {
        Error::Store(format!(
            "cannot LISTEN for new deliveries ({}); behind a pooler that does not carry LISTEN, \
             open the inbox with ?listen=false",
            redact(&err)
        ))
    })?;
    let wakeup = Arc::downgrade(&shared.wakeup);
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            let received = listener.try_recv().await;
            let Some(wakeup) = wakeup.upgrade() else {
                return;
            };
            match received {
                Ok(Some(_)) => {
                    failing = false;
                    wakeup.stored();
                }
                // The connection was lost and is opened again at the next call: whatever was
                // announced meanwhile is found by a claim now.
                Ok(None) => wakeup.stored(),
                Err(err) => {
                    if !failing {
                        tracing::warn!(target: "meetingbaas_webhooks_inbox", error = %redact(&err), "the inbox's LISTEN connection failed; retrying (workers poll meanwhile)");
                    }
                    failing = true;
                    wakeup.stored();
                    drop(wakeup);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(())
}

/// An error of sqlx without anything it may quote of the URL.
fn redact(err: &dyn fmt::Display) -> String {
    let text = err.to_string();
    // sqlx does not print URLs in its errors; if one ever does, its password goes.
    match (text.find("://"), text.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &text[..scheme], &text[at..])
        }
        _ => text,
    }
}

/// The error of a first connection, said plainly.
fn connect_error(err: &sqlx::Error) -> Error {
    Error::Store(format!("cannot connect to Postgres: {}", redact(err)))
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Store(format!("Postgres: {}", redact(&err)))
    }
}

fn parse_id(id: &str) -> Result<i64, Error> {
    id.parse().map_err(|_| Error::NotFound(id.to_string()))
}

type SummaryRow = (
    i64,
    String,
    bool,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    i64,
    String,
    i32,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    i32,
    Option<String>,
);

fn summary(row: SummaryRow) -> Summary {
    let (
        id,
        key,
        forgotten,
        kind,
        event,
        scheme,
        message_id,
        received_ms,
        state,
        attempts,
        next_ms,
        finished_ms,
        dead_reason,
        bot_id,
        runs,
        outcome,
    ) = row;
    Summary {
        id: id.to_string(),
        key,
        forgotten,
        kind,
        event,
        bot_id,
        scheme,
        message_id,
        received_ms,
        state: State::from_name(&state).unwrap_or(State::Dead),
        attempts: u32::try_from(attempts).unwrap_or(0),
        runs: u32::try_from(runs).unwrap_or(1),
        next_ms,
        finished_ms,
        dead_reason,
        stale: outcome.as_deref() == Some("stale"),
    }
}

fn summary_row(row: &sqlx::postgres::PgRow) -> Result<SummaryRow, sqlx::Error> {
    use sqlx::Row as _;
    Ok((
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
        row.try_get(4)?,
        row.try_get(5)?,
        row.try_get(6)?,
        row.try_get(7)?,
        row.try_get(8)?,
        row.try_get(9)?,
        row.try_get(10)?,
        row.try_get(11)?,
        row.try_get(12)?,
        row.try_get(13)?,
        row.try_get(14)?,
        row.try_get(15)?,
    ))
}

/// The columns of a verdict: state, next time, finished time, reason.
fn verdict_columns(verdict: &Verdict) -> (State, Option<i64>, Option<i64>, Option<String>) {
    let now = now_ms();
    match verdict {
        Verdict::Complete | Verdict::Stale => (State::Completed, None, Some(now), None),
        Verdict::Retry { at_ms } => (State::Retrying, Some(*at_ms), None, None),
        Verdict::Dead { reason } => (State::Dead, None, Some(now), Some(reason.clone())),
    }
}

impl PostgresBackend {
    /// Records `attempt` and `verdict` on `executor` (the pool, or a handler's transaction);
    /// whether the token still held the lease.
    pub(crate) async fn record<'e, E>(
        &self,
        executor: E,
        claimed: &Claimed,
        attempt: &Attempt,
        verdict: &Verdict,
    ) -> Result<bool, Error>
    where
        E: sqlx::PgExecutor<'e>,
    {
        let id = parse_id(&claimed.id)?;
        let (state, next_ms, finished_ms, reason) = verdict_columns(verdict);
        let recorded: Option<(i64,)> = sqlx::query_as(self.sql(&self.shared.sql.finish))
            .bind(state.as_str())
            .bind(next_ms)
            .bind(finished_ms)
            .bind(reason)
            .bind(id)
            .bind(&claimed.token)
            .bind(i32::try_from(attempt.number).unwrap_or(i32::MAX))
            .bind(i32::try_from(attempt.run).unwrap_or(i32::MAX))
            .bind(attempt.started_ms)
            .bind(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX))
            .bind(&attempt.error)
            .bind(order::outcome(verdict))
            .bind(order::raises(claimed, verdict))
            .fetch_optional(executor)
            .await?;
        if let Verdict::Retry { at_ms } = verdict {
            self.shared.wakeup.due_at(*at_ms);
        }
        Ok(recorded.is_some())
    }

    /// After `claimed`'s record landed: when it was claimed in bot order, the next delivery
    /// of its bot may go now, here and on every replica.
    pub(crate) fn recorded(&self, claimed: &Claimed) {
        if claimed.ordered && claimed.bot_id.is_some() {
            self.shared.wakeup.stored();
            self.shared.announce.notify_one();
        }
    }

    async fn notify(&self) -> Result<(), Error> {
        sqlx::query(self.sql(&self.shared.sql.notify))
            .execute(&self.shared.pool)
            .await?;
        self.shared.wakeup.stored();
        Ok(())
    }
}

impl IntakeStore for PostgresBackend {
    fn enqueue(&self, delivery: NewDelivery) -> StoreFuture<Enqueued> {
        let sender = self.shared.intake.clone();
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            let pending = intake::Pending { delivery, reply };
            match tokio::time::timeout(intake::QUEUE_DEADLINE, sender.send(pending)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(Error::Store("the inbox's intake has stopped".into())),
                Err(_) => {
                    return Err(Error::Store(
                        "Postgres is too slow: no place in intake's queue within 5 s".into(),
                    ));
                }
            }
            answer
                .await
                .map_err(|_| Error::Store("the inbox's intake has stopped".into()))?
        })
    }
}

impl WorkStore for PostgresBackend {
    fn claim(&self, max: usize, lease: Duration) -> StoreFuture<Vec<Claimed>> {
        let this = self.clone();
        this.shared.wakeup.claiming();
        Box::pin(async move {
            let shared = &this.shared;
            let now = now_ms();
            sqlx::query(this.sql(&shared.sql.expire))
                .bind(now)
                .execute(&shared.work)
                .await?;
            let token = crate::token();
            let max = max.max(1);
            let rows: Vec<ClaimRow> = sqlx::query_as(this.sql(&shared.sql.claim))
                .bind(now)
                .bind(i64::try_from(max).unwrap_or(i64::MAX))
                .bind(&token)
                .bind(now.saturating_add(millis(lease)))
                .fetch_all(&shared.work)
                .await?;
            if rows.len() < max {
                let next_due: (Option<i64>,) = sqlx::query_as(this.sql(&shared.sql.next_due))
                    .fetch_one(&shared.work)
                    .await?;
                shared.wakeup.claimed(next_due.0);
            } else {
                shared.wakeup.claimed(Some(now));
            }
            Ok(rows
                .into_iter()
                .map(|row| claimed(row, &token, false))
                .collect())
        })
    }

    fn claim_in_bot_order(
        &self,
        max: usize,
        lease: Duration,
        max_wait: Duration,
    ) -> StoreFuture<Vec<Claimed>> {
        let this = self.clone();
        this.shared.wakeup.claiming();
        Box::pin(async move { order::claim(&this, max, lease, max_wait).await })
    }

    fn wait(&self, timeout: Duration) -> StoreFuture<()> {
        let wakeup = Arc::clone(&self.shared.wakeup);
        Box::pin(async move {
            wakeup.wait(timeout).await;
            Ok(())
        })
    }

    fn extend(&self, claims: Vec<(String, String)>, lease: Duration) -> StoreFuture<()> {
        let this = self.clone();
        Box::pin(async move {
            let (ids, tokens): (Vec<i64>, Vec<String>) = claims
                .into_iter()
                .filter_map(|(id, token)| Some((id.parse::<i64>().ok()?, token)))
                .unzip();
            if ids.is_empty() {
                return Ok(());
            }
            sqlx::query(this.sql(&this.shared.sql.extend))
                .bind(now_ms().saturating_add(millis(lease)))
                .bind(ids)
                .bind(tokens)
                .execute(&this.shared.work)
                .await?;
            Ok(())
        })
    }

    fn finish(&self, claimed: Claimed, attempt: Attempt, verdict: Verdict) -> StoreFuture<bool> {
        let this = self.clone();
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            let ordered = claimed.ordered.then(|| claimed.clone());
            this.shared
                .records
                .send(records::Pending {
                    claimed,
                    attempt,
                    verdict,
                    reply,
                })
                .await
                .map_err(|_| Error::Store("the inbox's record writers have stopped".into()))?;
            let recorded = answer
                .await
                .map_err(|_| Error::Store("the inbox's record writers have stopped".into()))??;
            if let (true, Some(claimed)) = (recorded, ordered) {
                this.recorded(&claimed);
            }
            Ok(recorded)
        })
    }

    fn prune(&self, state: State, older_than: Duration, limit: usize) -> StoreFuture<u64> {
        let this = self.clone();
        let cutoff = now_ms().saturating_sub(millis(older_than));
        Box::pin(async move {
            if !matches!(state, State::Completed | State::Dead) {
                return Ok(0);
            }
            let deleted = sqlx::query(this.sql(&this.shared.sql.prune))
                .bind(state.as_str())
                .bind(cutoff)
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .execute(&this.shared.work)
                .await?;
            if state == State::Completed {
                sqlx::query(this.sql(&this.shared.sql.prune_bots))
                    .bind(crate::record::bots_cutoff(cutoff))
                    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                    .execute(&this.shared.work)
                    .await?;
            }
            Ok(deleted.rows_affected())
        })
    }

    fn drop_bodies(&self, older_than: Duration, limit: usize) -> StoreFuture<u64> {
        let this = self.clone();
        let cutoff = now_ms().saturating_sub(millis(older_than));
        Box::pin(async move {
            let dropped = sqlx::query(this.sql(&this.shared.sql.drop_bodies))
                .bind(cutoff)
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .execute(&this.shared.work)
                .await?;
            Ok(dropped.rows_affected())
        })
    }

    fn begin_attempt(&self) -> Option<AttemptScope> {
        Some(AttemptScope::postgres(transaction::Cell::new(self.clone())))
    }

    fn finish_in(
        &self,
        scope: AttemptScope,
        claimed: Claimed,
        attempt: Attempt,
        verdict: Verdict,
    ) -> StoreFuture<bool> {
        match scope.into_postgres() {
            Some(cell) => Box::pin(async move { cell.finish(claimed, attempt, verdict).await }),
            None => self.finish(claimed, attempt, verdict),
        }
    }
}

/// A claimed row: id, key, kind, received, attempts, attempt base, runs, body, bot, event
/// time, the bot's handled time.
type ClaimRow = (
    i64,
    String,
    Option<String>,
    i64,
    i32,
    i32,
    i32,
    Option<Vec<u8>>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

/// What a claimed row hands the worker.
fn claimed(row: ClaimRow, token: &str, ordered: bool) -> Claimed {
    let (id, key, kind, received_ms, attempts, base, runs, body, bot_id, event_ms, handled) = row;
    let attempts = u32::try_from(attempts).unwrap_or(0);
    Claimed {
        id: id.to_string(),
        key,
        kind,
        body: bytes::Bytes::from(body.unwrap_or_default()),
        attempt: attempts.saturating_sub(u32::try_from(base).unwrap_or(0)),
        attempt_total: attempts,
        run: u32::try_from(runs).unwrap_or(1),
        received_ms,
        token: token.to_string(),
        bot_id,
        event_ms,
        ordered,
        bot_handled_ms: handled,
    }
}

impl AdminStore for PostgresBackend {
    fn stats(&self) -> StoreFuture<Stats> {
        let this = self.clone();
        Box::pin(async move {
            let shared = &this.shared;
            let mut stats = Stats::default();
            let pending: Vec<(String, i64, Option<i64>)> =
                sqlx::query_as(this.sql(&shared.sql.pending))
                    .fetch_all(&shared.pool)
                    .await?;
            let mut oldest: Option<i64> = None;
            for (state, count, first) in pending {
                let count = u64::try_from(count).unwrap_or(0);
                match State::from_name(&state) {
                    Some(State::Queued) => stats.queued += count,
                    Some(State::Retrying) => stats.retrying += count,
                    Some(State::Running) => stats.running += count,
                    _ => {}
                }
                if let Some(first) = first {
                    oldest = Some(oldest.map_or(first, |o| o.min(first)));
                }
            }
            let (completed, dead, stale): (i64, i64, i64) =
                sqlx::query_as(this.sql(&shared.sql.finished))
                    .fetch_one(&shared.pool)
                    .await?;
            stats.completed = u64::try_from(completed).unwrap_or(0);
            stats.dead = u64::try_from(dead).unwrap_or(0);
            stats.stale = u64::try_from(stale).unwrap_or(0);
            stats.oldest_pending_age_secs =
                oldest.map(|since| u64::try_from((now_ms() - since).max(0) / 1000).unwrap_or(0));
            Ok(stats)
        })
    }

    fn ready(&self) -> StoreFuture<()> {
        let pool = self.shared.pool.clone();
        Box::pin(async move {
            sqlx::query("SELECT 1").execute(&pool).await?;
            Ok(())
        })
    }

    fn list(&self, query: ListQuery) -> StoreFuture<Vec<Summary>> {
        let this = self.clone();
        Box::pin(async move {
            let before = query.before_id();
            let rows = sqlx::query(this.sql(&this.shared.sql.list))
                .bind(query.state.map(State::as_str))
                .bind(query.kind)
                .bind(i64::try_from(query.limit).unwrap_or(i64::MAX))
                .bind(query.bot_id)
                .bind(query.key)
                .bind(before)
                .fetch_all(&this.shared.pool)
                .await?;
            rows.iter()
                .map(|row| Ok(summary(summary_row(row)?)))
                .collect()
        })
    }

    fn show(&self, id: String) -> StoreFuture<Option<StoredDelivery>> {
        let this = self.clone();
        Box::pin(async move {
            use sqlx::Row as _;
            let Ok(id) = id.parse::<i64>() else {
                return Ok(None);
            };
            let shared = &this.shared;
            let Some(row) = sqlx::query(this.sql(&shared.sql.show))
                .bind(id)
                .fetch_optional(&shared.pool)
                .await?
            else {
                return Ok(None);
            };
            let body: Option<Vec<u8>> = row.try_get(16)?;
            let summary = summary(summary_row(&row)?);
            let attempts: Vec<(i32, i32, i64, i64, Option<String>)> =
                sqlx::query_as(this.sql(&shared.sql.attempts))
                    .bind(id)
                    .fetch_all(&shared.pool)
                    .await?;
            Ok(Some(StoredDelivery {
                summary,
                body_dropped: body.is_none(),
                body: bytes::Bytes::from(body.unwrap_or_default()),
                attempts: attempts
                    .into_iter()
                    .map(|(number, run, started_ms, duration_ms, error)| Attempt {
                        number: u32::try_from(number).unwrap_or(0),
                        run: u32::try_from(run).unwrap_or(1),
                        started_ms,
                        duration_ms: u64::try_from(duration_ms).unwrap_or(0),
                        error,
                    })
                    .collect(),
            }))
        })
    }

    fn redrive(&self, id: String) -> StoreFuture<()> {
        let this = self.clone();
        Box::pin(async move {
            let number = parse_id(&id)?;
            let shared = &this.shared;
            let mut tx = shared.pool.begin().await?;
            let found: Option<(String, bool)> = sqlx::query_as(this.sql(&shared.sql.redrive_check))
                .bind(number)
                .fetch_optional(&mut *tx)
                .await?;
            match found {
                None => return Err(Error::NotFound(id)),
                Some((state, _)) if state == "running" => return Err(Error::Running(id)),
                Some((_, false)) => return Err(Error::BodyDropped(id)),
                Some(_) => {}
            }
            sqlx::query(this.sql(&shared.sql.redrive))
                .bind(number)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            sqlx::query(this.sql(&shared.sql.notify))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            shared.wakeup.stored();
            Ok(())
        })
    }

    fn redrive_dead(&self, kind: Option<String>) -> StoreFuture<u64> {
        let this = self.clone();
        Box::pin(async move {
            let changed = sqlx::query(this.sql(&this.shared.sql.redrive_dead))
                .bind(kind)
                .bind(now_ms())
                .execute(&this.shared.pool)
                .await?
                .rows_affected();
            if changed > 0 {
                this.notify().await?;
            }
            Ok(changed)
        })
    }

    fn forget(&self, key: String) -> StoreFuture<bool> {
        let this = self.clone();
        Box::pin(async move {
            let changed = sqlx::query(this.sql(&this.shared.sql.forget))
                .bind(key)
                .execute(&this.shared.pool)
                .await?
                .rows_affected();
            Ok(changed > 0)
        })
    }

    fn purge(&self, state: State, older_than: Duration) -> StoreFuture<u64> {
        // In bounded statements, so that a large purge does not hold locks for long.
        let this = self.clone();
        Box::pin(async move {
            let mut total = 0;
            loop {
                let deleted = this.prune(state, older_than, PURGE_BATCH).await?;
                total += deleted;
                if deleted < PURGE_BATCH as u64 {
                    return Ok(total);
                }
            }
        })
    }
}

/// Deliveries deleted per statement by a purge.
const PURGE_BATCH: usize = 1_000;
