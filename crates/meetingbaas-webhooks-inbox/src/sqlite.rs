//! The embedded store: one SQLite file (WAL), every write on one thread, concurrent writes
//! committed together (group commit); the log synced on a thread of its own before any commit
//! is answered ([`sync`]), so that the writer does not wait for the disk; idempotency keys found
//! through an index of their 64-bit digests ([`keys`]); reads for the admin API on a connection of their
//! own, so that they do not delay intake; checkpoints on another ([`checkpoint`]), so that they
//! do not either. Claims in bot order run on the one writer too, so they cannot race
//! ([`order`]).

mod backup;
mod bodies;
mod checkpoint;
#[cfg(feature = "testing")]
pub(crate) mod fill;
mod health;
mod keys;
mod order;
mod read_only;
mod schema;
mod sync;

pub use self::backup::BackupReport;
pub use self::read_only::SqliteReader;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use meetingbaas_webhooks_receiver::Enqueued;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::oneshot;

use self::checkpoint::Checkpointer;
use self::health::Health;
use self::sync::Syncer;
use crate::error::Error;
use crate::record::{
    Attempt, Claimed, ListQuery, State, Stats, StoredDelivery, Summary, Verdict, millis, now_ms,
};
use crate::store::{AdminStore, IntakeStore, NewDelivery, StoreFuture, WorkStore};
use crate::wakeup::Wakeup;

/// The most operations committed together in one transaction.
const MAX_BATCH: usize = 512;

/// The most deliveries one claim takes.
const MAX_CLAIM: usize = 1024;

/// The most deliveries one retention or purge transaction deletes.
const PRUNE_BATCH: usize = 500;

/// An operation run on the writer thread inside the batch's transaction.
trait Op: Send {
    /// Runs; returns whether it succeeded (a failed one is rolled back alone).
    fn run(&mut self, connection: &Connection) -> bool;
    /// Answers the caller once the batch is committed (or failed to).
    fn reply(self: Box<Self>, committed: Result<(), Error>);
    /// Whether the answer waits until the commit is on disk (`sqlite/sync.rs`).
    fn waits_for_sync(&self) -> bool;
}

struct Call<T, F> {
    op: Option<F>,
    result: Option<Result<T, Error>>,
    reply: oneshot::Sender<Result<T, Error>>,
    /// See [`Op::waits_for_sync`].
    synced: bool,
}

impl<T, F> Op for Call<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, Error> + Send,
{
    fn run(&mut self, connection: &Connection) -> bool {
        let result = match self.op.take() {
            Some(op) => op(connection),
            None => Err(Error::store("operation run twice")),
        };
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn reply(self: Box<Self>, committed: Result<(), Error>) {
        let result = match committed {
            Ok(()) => self
                .result
                .unwrap_or_else(|| Err(Error::store("operation not run"))),
            Err(err) => Err(err),
        };
        let _ = self.reply.send(result);
    }

    fn waits_for_sync(&self) -> bool {
        self.synced
    }
}

/// Deliveries in one SQLite file: durable (WAL; a commit is on disk, `fdatasync`ed, before it
/// is answered), for a service on one machine.
///
/// Every write goes to one writer thread, which commits whatever has queued up meanwhile in
/// one transaction: under concurrent intake, one fsync covers many deliveries, and the worker's
/// claims and recorded attempts share those commits. The admin API's reads (`stats`, `list`,
/// `show`) run on a second connection (WAL readers do not wait for the writer). Opening checks
/// that the file can be written (a read-only file, a missing directory, a corrupt database are
/// errors at start, not at the first delivery). Its memory does not grow with what it keeps:
/// idempotency keys are found through an index in the file (`sqlite/keys.rs`).
///
/// One service process per file: a second one writing the same file stays correct (its rows are
/// read in at each transaction) but is not what this is built for. The CLI (`stats`, `list`,
/// `redrive`, `forget`, `purge`) can run beside the service.
#[derive(Clone, Debug)]
pub struct SqliteBackend {
    sender: mpsc::Sender<Box<dyn Op>>,
    reader: Option<mpsc::Sender<Box<dyn Op>>>,
    wakeup: Arc<Wakeup>,
    path: Arc<PathBuf>,
    /// The background integrity check and the last claim (`sqlite/health.rs`); none in memory.
    health: Option<Arc<Health>>,
}

impl SqliteBackend {
    /// Opens (creating if needed) the inbox database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let connection = open_connection(&path)?;
        if connection
            .is_readonly(rusqlite::MAIN_DB)
            .map_err(|err| open_error(&path, &err))?
        {
            return Err(Error::Store(format!("{} is not writable", path.display())));
        }
        prepare(&connection, true).map_err(|err| opened_error(&path, err))?;
        let reader = open_connection(&path)?;
        reader
            .busy_timeout(Duration::from_secs(5))
            .map_err(|err| open_error(&path, &err))?;
        // Checkpoints run on a thread of their own, never inside the writer's commits.
        connection
            .execute_batch("PRAGMA wal_autocheckpoint=0")
            .map_err(|err| open_error(&path, &err))?;
        // Nothing is copied from the log into the file before the file's integrity check has
        // passed (`sqlite/health.rs`): a log that does not belong is never folded in.
        let health = Health::new();
        let checkpointer = Checkpointer::start(&path, Arc::clone(&health))?;
        // Commits are made durable by the sync thread, not inside COMMIT (`sqlite/sync.rs`):
        // the writer runs the next batch while the disk syncs the last one.
        connection
            .execute_batch("PRAGMA synchronous=NORMAL")
            .map_err(|err| open_error(&path, &err))?;
        let durability = Durability {
            checkpointer: Some(checkpointer),
            syncer: Some(Syncer::start(&path)?),
        };
        let mut backend = SqliteBackend::start(connection, Some(reader), durability, path)?;
        health.spawn_check(&backend.path);
        backend.health = Some(health);
        Ok(backend)
    }

    /// An in-memory database: **not durable** (gone with the process), for tests.
    pub fn memory() -> Self {
        let connection =
            Connection::open_in_memory().expect("SQLite can open an in-memory database");
        prepare(&connection, false).expect("the schema applies to an empty in-memory database");
        let durability = Durability {
            checkpointer: None,
            syncer: None,
        };
        SqliteBackend::start(connection, None, durability, PathBuf::from(":memory:"))
            .expect("spawning the SQLite writer thread")
    }

    fn start(
        connection: Connection,
        reader: Option<Connection>,
        durability: Durability,
        path: PathBuf,
    ) -> Result<Self, Error> {
        let reader = match reader {
            Some(reader) => {
                let (sender, receiver) = mpsc::channel::<Box<dyn Op>>();
                spawn("inbox-sqlite-reader", move || read_loop(&reader, &receiver))?;
                Some(sender)
            }
            None => None,
        };
        // The writer's statements (enqueue, claim, finish, savepoints...) stay prepared.
        connection.set_prepared_statement_cache_capacity(64);
        let (sender, receiver) = mpsc::channel::<Box<dyn Op>>();
        spawn("inbox-sqlite-writer", move || {
            let mut durability = durability;
            write_loop(&connection, &receiver, &durability);
            // Closed: the log folded into the file (no connection does it on close), once the
            // file has passed its integrity check.
            if let Some(checkpointer) = durability.checkpointer.take() {
                checkpointer.close(&connection);
            }
        })?;
        Ok(SqliteBackend {
            sender,
            reader,
            wakeup: Arc::default(),
            path: Arc::new(path),
            health: None,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the background integrity check of the file (`PRAGMA quick_check`, started by
    /// [`open`](Self::open)) has run and passed: until then nothing in the log is copied into
    /// the file. Always `true` for an in-memory database.
    pub fn integrity_checked(&self) -> bool {
        self.health.as_ref().is_none_or(|health| health.passed())
    }

    /// Runs `op` on the writer thread, in the next batch's transaction; answers once that
    /// commit is on disk.
    fn call<T, F>(&self, op: F) -> impl Future<Output = Result<T, Error>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        send(&self.sender, op, true)
    }

    /// Runs `op` like [`call`](Self::call), but answers as soon as its transaction has
    /// committed, before the disk has the commit: for the worker's claims, lease renewals and
    /// attempt records, whose loss in a crash only runs a delivery once more (its lease runs
    /// out and it is claimed again), never loses one. Their answers wait for no `fdatasync`,
    /// which bounded the worker to a few claims and records per sync (BENCHMARKS.md, "The
    /// inbox at ten million deliveries").
    fn call_unsynced<T, F>(&self, op: F) -> impl Future<Output = Result<T, Error>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        send(&self.sender, op, false)
    }

    /// Runs `op`, which only reads, on the reader connection (the writer's for memory).
    fn read<T, F>(&self, op: F) -> impl Future<Output = Result<T, Error>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        send(self.reader.as_ref().unwrap_or(&self.sender), op, false)
    }
}

fn send<T, F>(
    sender: &mpsc::Sender<Box<dyn Op>>,
    op: F,
    synced: bool,
) -> impl Future<Output = Result<T, Error>> + Send + 'static
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
{
    let (reply, answer) = oneshot::channel();
    let sent = sender
        .send(Box::new(Call {
            op: Some(op),
            result: None,
            reply,
            synced,
        }))
        .map_err(|_| Error::store("the SQLite writer thread has stopped"));
    async move {
        sent?;
        answer
            .await
            .map_err(|_| Error::store("the SQLite writer thread has stopped"))?
    }
}

/// Starts one of the store's threads (writer, reader, sync, checkpoint).
fn spawn(name: &str, run: impl FnOnce() + Send + 'static) -> Result<(), Error> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(run)
        .map(drop)
        .map_err(|err| Error::Store(format!("cannot start a thread: {err}")))
}

fn open_connection(path: &Path) -> Result<Connection, Error> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|err| open_error(path, &err))?;
    // No checkpoint when the last connection closes: the writer folds the log in itself, and
    // only into a file that has passed its integrity check.
    connection
        .set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .map_err(|err| open_error(path, &err))?;
    Ok(connection)
}

fn open_error(path: &Path, err: &rusqlite::Error) -> Error {
    Error::Store(format!("cannot open {}: {err}", path.display()))
}

/// `err` from preparing the file at `path`, naming the file.
fn opened_error(path: &Path, err: Error) -> Error {
    match err {
        Error::Store(message) => Error::Store(format!("cannot open {}: {message}", path.display())),
        other => other,
    }
}

fn prepare(connection: &Connection, durable: bool) -> Result<(), Error> {
    connection.busy_timeout(Duration::from_secs(5))?;
    // Read before anything is written (even the switch to WAL): another application's file, or
    // one a newer release made unusable, is refused untouched.
    let found = schema::inspect(connection)?;
    if durable {
        // WAL with synchronous=FULL while the schema and the first write are committed: the log
        // file is created then, and SQLite syncs it and its directory entry. The writer then
        // switches to NORMAL and syncs the log itself (`sqlite/sync.rs`).
        let mode: String = connection.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Store(format!("journal_mode is {mode}, not wal")));
        }
        connection.execute_batch("PRAGMA synchronous=FULL")?;
        // 4 MiB of page cache (writes go to the ends of the tables and indexes, so a small
        // cache holds the pages they touch). Not more: SQLite walks
        // the whole cache's hash table at the end of every transaction (pcache1Truncate), which
        // with 32 MiB took 10% of the writer thread's time; intake went from ~16.4k to ~20k
        // deliveries/s at 1 KiB with 4 MiB (BENCHMARKS.md, "Inbox").
        connection.execute_batch("PRAGMA cache_size=-4096")?;
    }
    schema::migrate(connection, &found)?;
    // Rows stored before schema 4, or since by older code, get their key digest.
    keys::hash_missing_at_open(connection)?;
    // A real write, so that a file that cannot be written fails now rather than at intake.
    connection.execute(
        "INSERT OR REPLACE INTO meta (name, value) VALUES ('opened_ms', ?1)",
        params![now_ms().to_string()],
    )?;
    Ok(())
}

/// The writer's helpers for a file (none for an in-memory database).
struct Durability {
    /// Copies the log into the database file, off the writer thread.
    checkpointer: Option<Checkpointer>,
    /// Answers committed batches once the log is on disk.
    syncer: Option<Syncer>,
}

fn write_loop(
    connection: &Connection,
    receiver: &mpsc::Receiver<Box<dyn Op>>,
    durability: &Durability,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = receiver.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let committed = match &durability.syncer {
            Some(syncer) if syncer.failed() => Err(sync::refused()),
            _ => run_batch(connection, &mut batch),
        };
        if let (Ok(()), Some(checkpointer)) = (&committed, &durability.checkpointer) {
            checkpointer.committed(connection);
        }
        match (committed, &durability.syncer) {
            (Ok(()), Some(syncer)) => {
                let (synced, unsynced): (Vec<_>, Vec<_>) =
                    batch.drain(..).partition(|op| op.waits_for_sync());
                for op in unsynced {
                    op.reply(Ok(()));
                }
                if !synced.is_empty() {
                    syncer.answer_when_synced(synced);
                }
            }
            (committed, _) => {
                for op in batch.drain(..) {
                    op.reply(committed.clone());
                }
            }
        }
    }
}

/// Runs read-only operations, each in a read transaction of its own (a consistent snapshot).
fn read_loop(connection: &Connection, receiver: &mpsc::Receiver<Box<dyn Op>>) {
    while let Ok(mut op) = receiver.recv() {
        let begun = connection.execute_batch("BEGIN DEFERRED");
        if let Err(err) = begun {
            op.reply(Err(err.into()));
            continue;
        }
        op.run(connection);
        let _ = connection.execute_batch("COMMIT");
        op.reply(Ok(()));
    }
}

fn exec(connection: &Connection, sql: &str) -> rusqlite::Result<()> {
    connection.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn run_batch(connection: &Connection, batch: &mut [Box<dyn Op>]) -> Result<(), Error> {
    exec(connection, "BEGIN IMMEDIATE")?;
    // Holding the write lock: rows older code committed get their key digest before any
    // lookup.
    let run = keys::hash_missing(connection)
        .map_err(Error::from)
        .and_then(|_| run_ops(connection, batch))
        .and_then(|()| exec(connection, "COMMIT").map_err(Error::from));
    if run.is_err() && !connection.is_autocommit() {
        let _ = connection.execute_batch("ROLLBACK");
    }
    run
}

/// Runs each operation of a batch in a savepoint of its own: a failed one is undone alone.
fn run_ops(connection: &Connection, batch: &mut [Box<dyn Op>]) -> Result<(), Error> {
    for op in batch.iter_mut() {
        exec(connection, "SAVEPOINT op")?;
        if op.run(connection) {
            exec(connection, "RELEASE op")?;
        } else {
            exec(connection, "ROLLBACK TO op")?;
            exec(connection, "RELEASE op")?;
        }
        if connection.is_autocommit() {
            // Some errors (a full disk, an I/O error) roll the whole transaction back: nothing
            // of this batch is stored, so no operation in it may be answered as stored.
            return Err(Error::store(
                "the transaction was rolled back (disk full or I/O error)",
            ));
        }
    }
    Ok(())
}

const SUMMARY_COLUMNS: &str = "id, key, forgotten_key, kind, event, scheme, message_id, \
    received_ms, state, attempts, next_ms, finished_ms, dead_reason, bot_id, runs, outcome";

fn summary(row: &rusqlite::Row<'_>) -> rusqlite::Result<Summary> {
    let key: Option<String> = row.get(1)?;
    let forgotten_key: Option<String> = row.get(2)?;
    let state: String = row.get(8)?;
    Ok(Summary {
        id: row.get::<_, i64>(0)?.to_string(),
        forgotten: key.is_none(),
        key: key.or(forgotten_key).unwrap_or_default(),
        kind: row.get(3)?,
        event: row.get(4)?,
        scheme: row.get(5)?,
        message_id: row.get(6)?,
        received_ms: row.get(7)?,
        state: State::from_name(&state).unwrap_or(State::Dead),
        attempts: row.get(9)?,
        next_ms: row.get(10)?,
        finished_ms: row.get(11)?,
        dead_reason: row.get(12)?,
        bot_id: row.get(13)?,
        runs: row.get(14)?,
        stale: row.get::<_, Option<String>>(15)?.as_deref() == Some("stale"),
    })
}

fn parse_id(id: &str) -> Result<i64, Error> {
    id.parse().map_err(|_| Error::NotFound(id.to_string()))
}

fn enqueue(connection: &Connection, delivery: &NewDelivery) -> Result<Enqueued, Error> {
    let hash = keys::digest(&delivery.key);
    if keys::find(connection, &delivery.key, hash)?.is_some() {
        return Ok(Enqueued::Duplicate);
    }
    let now = now_ms();
    let (order_ms, event_ms) = delivery.order_times(now);
    connection
        .prepare_cached(
            "INSERT INTO deliveries (key, key_hash, kind, event, bot_id, scheme, message_id, \
             received_ms, state, next_ms, order_ms, event_ms) \
             VALUES (?1, ?8, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', ?7, ?9, ?10)",
        )?
        .execute(params![
            delivery.key,
            delivery.kind,
            delivery.event,
            delivery.bot_id,
            delivery.scheme,
            delivery.message_id,
            now,
            hash,
            order_ms,
            event_ms
        ])?;
    let id = connection.last_insert_rowid();
    connection
        .prepare_cached("INSERT INTO bodies (id, body) VALUES (?1, ?2)")?
        .execute(params![id, &delivery.body[..]])?;
    Ok(Enqueued::Stored { id: id.to_string() })
}

/// Lets the deliveries whose lease ran out be taken again (their worker died or hung): records
/// that attempt, and makes them due now.
fn expire_leases(connection: &Connection, now: i64) -> Result<(), Error> {
    connection
        .prepare_cached(
            "INSERT OR IGNORE INTO attempts \
             (delivery_id, number, started_ms, duration_ms, error, run) \
             SELECT id, attempts, lease_started_ms, ?1 - lease_started_ms, \
             'lease expired: the worker stopped or hung', runs FROM deliveries \
             WHERE state = 'running' AND lease_until_ms <= ?1",
        )?
        .execute(params![now])?;
    connection
        .prepare_cached(
            "UPDATE deliveries SET state = 'retrying', next_ms = ?1, lease_token = NULL \
             WHERE state = 'running' AND lease_until_ms <= ?1",
        )?
        .execute(params![now])?;
    Ok(())
}

/// Claims due deliveries; also returns when the next one falls due.
fn claim(
    connection: &Connection,
    max: usize,
    lease: Duration,
    token: &str,
) -> Result<(Vec<Claimed>, Option<i64>), Error> {
    let now = now_ms();
    expire_leases(connection, now)?;
    // The limit is written into the SQL, not bound: SQLite's planner reads a bound LIMIT, so a
    // statement with `LIMIT ?` was parsed and planned again at every claim (5% of the writer
    // thread under intake). `max` is claimed in powers of two (5 = 4 + 1), so that at most 11
    // statements are cached and a claim still takes every due delivery up to `max`.
    let mut claimed = Vec::new();
    for limit in claim_limits(max) {
        let mut statement = connection.prepare_cached(&claim_sql(limit))?;
        let before = claimed.len();
        let rows = statement.query_map(params![now, token, now + millis(lease)], |row| {
            let attempts: u32 = row.get(4)?;
            let base: u32 = row.get(5)?;
            let id: i64 = row.get(0)?;
            let delivery = Claimed {
                id: id.to_string(),
                key: row.get::<_, Option<String>>(1)?.unwrap_or_default(),
                kind: row.get(2)?,
                body: bytes::Bytes::new(),
                attempt: attempts.saturating_sub(base),
                attempt_total: attempts,
                run: row.get(6)?,
                received_ms: row.get(3)?,
                token: token.to_string(),
                bot_id: row.get(7)?,
                event_ms: row.get(8)?,
                ordered: false,
                bot_handled_ms: None,
            };
            Ok((id, delivery))
        })?;
        for row in rows {
            let (_, delivery) = row?;
            claimed.push(delivery);
        }
        // The bodies are read afterwards, outside this write transaction (`read_bodies`): a
        // damaged page read here would doom the whole batch, intake's deliveries included.
        let taken = claimed.len() - before;
        if taken < limit {
            // Fewer were due than asked for: a further claim would find none.
            break;
        }
    }
    // Both from an index (`deliveries_ready`, `deliveries_leased`): no scan of the queue.
    let next_ready: Option<i64> = connection
        .prepare_cached(
            "SELECT MIN(next_ms) FROM deliveries WHERE state IN ('queued', 'retrying')",
        )?
        .query_row([], |row| row.get(0))?;
    let next_expiry: Option<i64> = connection
        .prepare_cached("SELECT MIN(lease_until_ms) FROM deliveries WHERE state = 'running'")?
        .query_row([], |row| row.get(0))?;
    let next_due = match (next_ready, next_expiry) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok((claimed, next_due))
}

/// The bodies of `claimed`, read on their own (on the reader connection): each one that
/// cannot be read (a damaged page of the file) is taken out of `claimed` and returned with why.
fn read_bodies(
    connection: &Connection,
    claimed: &mut Vec<Claimed>,
) -> Result<Vec<(i64, String)>, Error> {
    let mut body = connection.prepare_cached("SELECT body FROM bodies WHERE id = ?1")?;
    let mut unreadable = Vec::new();
    claimed.retain_mut(|delivery| {
        let Ok(id) = delivery.id.parse::<i64>() else {
            return true;
        };
        match body.query_row(params![id], |row| row.get(0)).optional() {
            Ok(stored) => {
                let stored: Option<Vec<u8>> = stored;
                delivery.body = bytes::Bytes::from(stored.unwrap_or_default());
                true
            }
            Err(err) => {
                unreadable.push((id, err.to_string()));
                false
            }
        }
    });
    Ok(unreadable)
}

/// Dead-letters the claimed deliveries whose stored row cannot be read (a damaged page of the
/// file), each with its attempt and the reason `unreadable_row`, so that the rest of the queue
/// keeps moving; logged at error level (the file needs looking at).
fn dead_letter_unreadable(
    connection: &Connection,
    unreadable: &[(i64, String)],
    now: i64,
) -> Result<(), Error> {
    for (id, err) in unreadable {
        let reason = format!("unreadable_row: {err}");
        tracing::error!(target: "meetingbaas_webhooks_inbox", id, error = %err, "a stored delivery cannot be read (the inbox file is damaged): dead-lettered as unreadable_row; the queue goes on");
        connection
            .prepare_cached(
                "INSERT OR IGNORE INTO attempts \
                 (delivery_id, number, started_ms, duration_ms, error, run) \
                 SELECT id, attempts, ?2, 0, ?3, runs FROM deliveries WHERE id = ?1",
            )?
            .execute(params![id, now, reason])?;
        connection
            .prepare_cached(
                "UPDATE deliveries SET state = 'dead', finished_ms = ?2, dead_reason = ?3, \
                 lease_token = NULL, lease_until_ms = NULL WHERE id = ?1",
            )?
            .execute(params![id, now, reason])?;
    }
    Ok(())
}

/// The limits one claim of `max` deliveries runs its statement with: the powers of two that sum
/// to `max` (at least one, at most [`MAX_CLAIM`]), largest first.
fn claim_limits(max: usize) -> impl Iterator<Item = usize> {
    let max = max.clamp(1, MAX_CLAIM);
    (0..usize::BITS)
        .rev()
        .map(|bit| 1usize << bit)
        .filter(move |part| max & part != 0)
}

/// The claim of at most `limit` due deliveries (`?1` now, `?2` the lease token, `?3` the lease's
/// end).
fn claim_sql(limit: usize) -> String {
    format!(
        "UPDATE deliveries SET state = 'running', attempts = attempts + 1, lease_token = ?2, \
         lease_started_ms = ?1, lease_until_ms = ?3 \
         WHERE id IN (SELECT id FROM deliveries WHERE state IN ('queued', 'retrying') \
         AND next_ms <= ?1 ORDER BY next_ms, id LIMIT {limit}) \
         RETURNING id, COALESCE(key, forgotten_key), kind, received_ms, attempts, attempt_base, \
         runs, bot_id, event_ms"
    )
}

fn finish(
    connection: &Connection,
    claimed: &Claimed,
    attempt: &Attempt,
    verdict: &Verdict,
) -> Result<bool, Error> {
    let id = parse_id(&claimed.id)?;
    let now = now_ms();
    let (state, next_ms, finished_ms, reason) = match verdict {
        Verdict::Complete | Verdict::Stale => (State::Completed, None, Some(now), None),
        Verdict::Retry { at_ms } => (State::Retrying, Some(*at_ms), None, None),
        Verdict::Dead { reason } => (State::Dead, None, Some(now), Some(reason.as_str())),
    };
    let outcome = matches!(verdict, Verdict::Stale).then_some("stale");
    let changed = connection
        .prepare_cached(
            "UPDATE deliveries SET state = ?1, next_ms = ?2, finished_ms = ?3, dead_reason = ?4, \
             lease_token = NULL, lease_until_ms = NULL, outcome = ?7 \
             WHERE id = ?5 AND state = 'running' AND lease_token = ?6",
        )?
        .execute(params![
            state.as_str(),
            next_ms,
            finished_ms,
            reason,
            id,
            claimed.token,
            outcome
        ])?;
    if changed == 0 {
        return Ok(false);
    }
    if claimed.ordered && *verdict == Verdict::Complete {
        order::handled(connection, claimed, now)?;
    }
    connection
        .prepare_cached(
            "INSERT OR REPLACE INTO attempts \
             (delivery_id, number, started_ms, duration_ms, error, run) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            id,
            attempt.number,
            attempt.started_ms,
            i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX),
            attempt.error,
            attempt.run
        ])?;
    Ok(true)
}

fn stats(connection: &Connection) -> Result<Stats, Error> {
    // Each count from a partial index: the table itself (the bodies) is not scanned. (No partial
    // index is `WHERE x IS NOT NULL`: SQLite would then re-prepare every statement comparing a
    // column with a parameter at each execution, the claim among them.)
    let mut stats = Stats::default();
    let mut oldest: Option<i64> = None;
    let mut pending = connection.prepare_cached(
        "SELECT state, COUNT(*), MIN(COALESCE(pending_since_ms, received_ms)) FROM deliveries \
         WHERE state IN ('queued', 'retrying') GROUP BY state \
         UNION ALL SELECT 'running', COUNT(*), MIN(COALESCE(pending_since_ms, received_ms)) \
         FROM deliveries WHERE state = 'running'",
    )?;
    let rows = pending.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, Option<i64>>(2)?,
        ))
    })?;
    for row in rows {
        let (state, count, first) = row?;
        if let Some(state) = State::from_name(&state) {
            stats.add(state, u64::try_from(count).unwrap_or(0));
        }
        if let Some(first) = first {
            oldest = Some(oldest.map_or(first, |o| o.min(first)));
        }
    }
    // Kept by triggers (schema 4): counting ten million completed deliveries took a second.
    let mut finished = connection.prepare_cached("SELECT state, n FROM finished_counts")?;
    let rows = finished.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (state, count) = row?;
        if let Some(state @ (State::Completed | State::Dead)) = State::from_name(&state) {
            stats.add(state, u64::try_from(count).unwrap_or(0));
        }
    }
    stats.stale = connection
        .prepare_cached("SELECT COUNT(*) FROM deliveries WHERE outcome = 'stale'")?
        .query_row([], |row| row.get::<_, i64>(0))
        .map(|n| u64::try_from(n).unwrap_or(0))?;
    stats.oldest_pending_age_secs =
        oldest.map(|received| u64::try_from((now_ms() - received).max(0) / 1000).unwrap_or(0));
    Ok(stats)
}

fn list(connection: &Connection, query: &ListQuery) -> Result<Vec<Summary>, Error> {
    // A key is found through its digest's index; a bot by reading back from the newest.
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM deliveries WHERE (?1 IS NULL OR state = ?1) \
         AND (?2 IS NULL OR kind = ?2) AND (?4 IS NULL OR bot_id = ?4) \
         AND (?5 IS NULL OR (key_hash = ?6 AND key = ?5)) AND (?7 IS NULL OR id < ?7) \
         ORDER BY id DESC LIMIT ?3"
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(
        params![
            query.state.map(State::as_str),
            query.kind,
            i64::try_from(query.limit).unwrap_or(i64::MAX),
            query.bot_id,
            query.key,
            query.key.as_deref().map(keys::digest),
            query.before_id()
        ],
        summary,
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn show(connection: &Connection, id: &str) -> Result<Option<StoredDelivery>, Error> {
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, (SELECT body FROM bodies WHERE bodies.id = deliveries.id) \
         FROM deliveries WHERE id = ?1"
    );
    let found = connection
        .query_row(&sql, params![id], |row| {
            Ok((summary(row)?, row.get::<_, Option<Vec<u8>>>(16)?))
        })
        .optional()?;
    let Some((summary, body)) = found else {
        return Ok(None);
    };
    // Every delivery is stored with its body: none means it was dropped (`bodies::drop`).
    let body_dropped = body.is_none();
    let mut statement = connection.prepare_cached(
        "SELECT number, started_ms, duration_ms, error, COALESCE(run, 1) FROM attempts \
         WHERE delivery_id = ?1 ORDER BY number",
    )?;
    let attempts = statement
        .query_map(params![id], |row| {
            Ok(Attempt {
                number: row.get(0)?,
                started_ms: row.get(1)?,
                duration_ms: u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
                error: row.get(3)?,
                run: row.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(StoredDelivery {
        summary,
        body: bytes::Bytes::from(body.unwrap_or_default()),
        body_dropped,
        attempts,
    }))
}

fn redrive(connection: &Connection, id: &str) -> Result<(), Error> {
    let number = parse_id(id)?;
    let found: Option<(String, bool)> = connection
        .query_row(
            "SELECT state, EXISTS (SELECT 1 FROM bodies WHERE bodies.id = deliveries.id) \
             FROM deliveries WHERE id = ?1",
            params![number],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    match found {
        None => return Err(Error::NotFound(id.to_string())),
        Some((state, _)) if state == "running" => return Err(Error::Running(id.to_string())),
        Some((_, false)) => return Err(Error::BodyDropped(id.to_string())),
        Some(_) => {}
    }
    connection.execute(
        "UPDATE deliveries SET state = 'queued', next_ms = ?2, attempt_base = attempts, \
         finished_ms = NULL, dead_reason = NULL, runs = runs + 1, pending_since_ms = ?2, \
         outcome = NULL \
         WHERE id = ?1",
        params![number, now_ms()],
    )?;
    Ok(())
}

fn redrive_dead(connection: &Connection, kind: Option<&str>) -> Result<u64, Error> {
    let changed = connection.execute(
        "UPDATE deliveries SET state = 'queued', next_ms = ?2, attempt_base = attempts, \
         finished_ms = NULL, dead_reason = NULL, runs = runs + 1, pending_since_ms = ?2, \
         outcome = NULL \
         WHERE state = 'dead' AND (?1 IS NULL OR kind = ?1) \
         AND EXISTS (SELECT 1 FROM bodies WHERE bodies.id = deliveries.id)",
        params![kind, now_ms()],
    )?;
    Ok(changed as u64)
}

fn forget(connection: &Connection, key: &str) -> Result<bool, Error> {
    let Some(id) = keys::find(connection, key, keys::digest(key))? else {
        return Ok(false);
    };
    let changed = connection.execute(
        "UPDATE deliveries SET forgotten_key = key, key = NULL, key_hash = NULL \
         WHERE id = ?1 AND key = ?2",
        params![id, key],
    )?;
    Ok(changed > 0)
}

/// Deletes at most `limit` deliveries in `state` (completed or dead) finished at or before
/// `cutoff` (Unix milliseconds), oldest first, with their attempts; returns how many.
fn prune(connection: &Connection, state: State, cutoff: i64, limit: usize) -> Result<u64, Error> {
    if !matches!(state, State::Completed | State::Dead) {
        return Ok(0);
    }
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // The same rows three times (same transaction, same order), from `deliveries_done` (the literal
    // `IN` lets SQLite use that partial index).
    connection
        .prepare_cached(
            "DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries \
             WHERE state IN ('completed', 'dead') AND state = ?1 AND finished_ms <= ?2 \
             ORDER BY finished_ms, id LIMIT ?3)",
        )?
        .execute(params![state.as_str(), cutoff, limit])?;
    connection
        .prepare_cached(
            "DELETE FROM bodies WHERE id IN (SELECT id FROM deliveries \
             WHERE state IN ('completed', 'dead') AND state = ?1 AND finished_ms <= ?2 \
             ORDER BY finished_ms, id LIMIT ?3)",
        )?
        .execute(params![state.as_str(), cutoff, limit])?;
    let deleted = connection
        .prepare_cached(
            "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries \
             WHERE state IN ('completed', 'dead') AND state = ?1 AND finished_ms <= ?2 \
             ORDER BY finished_ms, id LIMIT ?3)",
        )?
        .execute(params![state.as_str(), cutoff, limit])?;
    if state == State::Completed {
        order::prune(connection, crate::record::bots_cutoff(cutoff), limit)?;
    }
    Ok(deleted as u64)
}

fn extend(
    connection: &Connection,
    claims: &[(String, String)],
    lease: Duration,
) -> Result<(), Error> {
    let until = now_ms() + millis(lease);
    let mut statement = connection.prepare_cached(
        "UPDATE deliveries SET lease_until_ms = ?1 WHERE id = ?2 AND state = 'running' \
         AND lease_token = ?3",
    )?;
    for (id, token) in claims {
        if let Ok(id) = id.parse::<i64>() {
            statement.execute(params![until, id, token])?;
        }
    }
    Ok(())
}

impl IntakeStore for SqliteBackend {
    fn enqueue(&self, delivery: NewDelivery) -> StoreFuture<Enqueued> {
        // Never a 2xx into a queue that cannot move: the sender is answered 503 and retries.
        if let Some(health) = &self.health
            && let Err(err) = health.accepting(&self.path)
        {
            return Box::pin(async move { Err(err) });
        }
        let wakeup = Arc::clone(&self.wakeup);
        let call = self.call(move |connection| enqueue(connection, &delivery));
        let (health, path) = (self.health.clone(), Arc::clone(&self.path));
        Box::pin(async move {
            let enqueued = call.await;
            if let Some(health) = &health {
                health.observe(&path, &enqueued);
            }
            let enqueued = enqueued?;
            if matches!(enqueued, Enqueued::Stored { .. }) {
                wakeup.stored();
            }
            Ok(enqueued)
        })
    }
}

impl SqliteBackend {
    /// A claim's end, in bot order or not: health, the next wakeup, the bodies (read on their
    /// own, so that a damaged one dead-letters only its delivery).
    async fn claimed(
        self,
        call: impl Future<Output = Result<(Vec<Claimed>, Option<i64>), Error>>,
    ) -> Result<Vec<Claimed>, Error> {
        let (this, wakeup) = (&self, Arc::clone(&self.wakeup));
        let claim = call.await;
        if let Some(health) = &this.health {
            health.claimed(claim.is_ok());
            health.observe(&this.path, &claim);
        }
        let (mut claimed, next_due) = claim?;
        wakeup.claimed(next_due);
        if claimed.is_empty() {
            return Ok(claimed);
        }
        // One damaged page must not stop the queue: a delivery whose body cannot be read is
        // dead-lettered on its own (`unreadable_row`) and the others go on.
        let (claimed, unreadable) = this
            .read(move |connection| {
                let unreadable = read_bodies(connection, &mut claimed)?;
                Ok((claimed, unreadable))
            })
            .await?;
        if !unreadable.is_empty() {
            let now = now_ms();
            this.call_unsynced(move |connection| {
                dead_letter_unreadable(connection, &unreadable, now)
            })
            .await?;
        }
        Ok(claimed)
    }
}

impl WorkStore for SqliteBackend {
    fn claim(&self, max: usize, lease: Duration) -> StoreFuture<Vec<Claimed>> {
        self.wakeup.claiming();
        let token = crate::token();
        let call = self.call_unsynced(move |connection| claim(connection, max, lease, &token));
        Box::pin(self.clone().claimed(call))
    }

    fn claim_in_bot_order(
        &self,
        max: usize,
        lease: Duration,
        max_wait: Duration,
    ) -> StoreFuture<Vec<Claimed>> {
        self.wakeup.claiming();
        let token = crate::token();
        let call = self.call_unsynced(move |connection| {
            order::claim(connection, max, lease, max_wait, &token)
        });
        Box::pin(self.clone().claimed(call))
    }

    fn wait(&self, timeout: Duration) -> StoreFuture<()> {
        let wakeup = Arc::clone(&self.wakeup);
        Box::pin(async move {
            wakeup.wait(timeout).await;
            Ok(())
        })
    }

    fn extend(&self, claims: Vec<(String, String)>, lease: Duration) -> StoreFuture<()> {
        Box::pin(self.call_unsynced(move |connection| extend(connection, &claims, lease)))
    }

    fn finish(&self, claimed: Claimed, attempt: Attempt, verdict: Verdict) -> StoreFuture<bool> {
        // A delivery claimed in bot order that ends may let the next one of its bot go.
        let ordered = claimed.ordered && claimed.bot_id.is_some();
        let call =
            self.call_unsynced(move |connection| finish(connection, &claimed, &attempt, &verdict));
        let (health, path) = (self.health.clone(), Arc::clone(&self.path));
        let wakeup = Arc::clone(&self.wakeup);
        Box::pin(async move {
            let finished = call.await;
            if let Some(health) = &health {
                health.observe(&path, &finished);
            }
            if ordered && matches!(finished, Ok(true)) {
                wakeup.stored();
            }
            finished
        })
    }

    fn prune(&self, state: State, older_than: Duration, limit: usize) -> StoreFuture<u64> {
        let cutoff = now_ms() - millis(older_than);
        Box::pin(self.call(move |connection| prune(connection, state, cutoff, limit)))
    }

    fn drop_bodies(&self, older_than: Duration, limit: usize) -> StoreFuture<u64> {
        let cutoff = now_ms() - millis(older_than);
        Box::pin(self.call(move |connection| bodies::drop(connection, cutoff, limit)))
    }
}

impl AdminStore for SqliteBackend {
    fn stats(&self) -> StoreFuture<Stats> {
        Box::pin(self.read(stats))
    }

    fn ready(&self) -> StoreFuture<()> {
        if let Some(health) = &self.health
            && let Err(err) = health.ready(&self.path)
        {
            return Box::pin(async move { Err(err) });
        }
        // The store answers: one read (stats would count the pending deliveries).
        Box::pin(self.read(|connection| {
            connection.query_row("SELECT COUNT(*) FROM meta", [], |_| Ok(()))?;
            Ok(())
        }))
    }

    fn list(&self, query: ListQuery) -> StoreFuture<Vec<Summary>> {
        Box::pin(self.read(move |connection| list(connection, &query)))
    }

    fn show(&self, id: String) -> StoreFuture<Option<StoredDelivery>> {
        Box::pin(self.read(move |connection| show(connection, &id)))
    }

    fn redrive(&self, id: String) -> StoreFuture<()> {
        let wakeup = Arc::clone(&self.wakeup);
        let call = self.call(move |connection| redrive(connection, &id));
        Box::pin(async move {
            call.await?;
            wakeup.stored();
            Ok(())
        })
    }

    fn redrive_dead(&self, kind: Option<String>) -> StoreFuture<u64> {
        let wakeup = Arc::clone(&self.wakeup);
        let call = self.call(move |connection| redrive_dead(connection, kind.as_deref()));
        Box::pin(async move {
            let count = call.await?;
            wakeup.stored();
            Ok(count)
        })
    }

    fn forget(&self, key: String) -> StoreFuture<bool> {
        Box::pin(self.call(move |connection| forget(connection, &key)))
    }

    fn purge(&self, state: State, older_than: Duration) -> StoreFuture<u64> {
        // In bounded transactions, so that a large purge does not hold up intake.
        let this = self.clone();
        let cutoff = now_ms() - millis(older_than);
        Box::pin(async move {
            let mut total = 0;
            loop {
                let deleted = this
                    .call(move |connection| prune(connection, state, cutoff, PRUNE_BATCH))
                    .await?;
                total += deleted;
                if deleted < PRUNE_BATCH as u64 {
                    return Ok(total);
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_delivery(n: usize) -> NewDelivery {
        NewDelivery {
            key: format!("key-{n}"),
            kind: Some("bot.status_change".into()),
            event: Some("bot.status_change".into()),
            bot_id: None,
            time: Default::default(),
            scheme: "callback".into(),
            message_id: None,
            body: bytes::Bytes::from(vec![b' '; 1024]),
        }
    }

    /// A file known damaged whose claims fail refuses new deliveries (the queue cannot
    /// move); damaged with claims succeeding, or claims failing on a healthy file, it takes them.
    #[tokio::test]
    async fn a_damaged_file_whose_queue_cannot_move_refuses_deliveries() {
        let dir = tempfile::tempdir().unwrap();
        let backend = SqliteBackend::open(dir.path().join("inbox.db")).unwrap();
        let health = backend.health.clone().unwrap();
        health.claimed(false);
        assert!(
            backend.enqueue(new_delivery(1)).await.is_ok(),
            "claims failing, not damaged"
        );
        health.observe::<()>(
            &backend.path,
            &Err(Error::Damaged("database disk image is malformed".into())),
        );
        let refused = backend.enqueue(new_delivery(2)).await.unwrap_err();
        assert!(refused.to_string().contains("cannot move"), "{refused}");
        assert!(backend.ready().await.is_err());
        health.claimed(true);
        assert!(
            backend.enqueue(new_delivery(3)).await.is_ok(),
            "damaged, claims succeed"
        );
    }

    #[test]
    fn a_claim_runs_in_powers_of_two() {
        let limits: Vec<Vec<usize>> = [0, 1, 2, 3, 5, 8, 100, 5000]
            .into_iter()
            .map(|max| claim_limits(max).collect())
            .collect();
        assert_eq!(
            limits,
            [
                vec![1],
                vec![1],
                vec![2],
                vec![2, 1],
                vec![4, 1],
                vec![8],
                vec![64, 32, 4],
                vec![1024]
            ]
        );
    }

    #[test]
    fn the_claim_is_planned_once() {
        // A bound LIMIT made SQLite parse and plan the claim again at every execution.
        let connection = Connection::open_in_memory().unwrap();
        prepare(&connection, false).unwrap();
        for n in 0..20 {
            enqueue(&connection, &new_delivery(n)).unwrap();
        }
        for _ in 0..5 {
            let (claimed, _) = claim(&connection, 3, Duration::from_secs(10), "token").unwrap();
            assert_eq!(claimed.len(), 3, "3 = 2 + 1, both due");
        }
        // The statement cache hands back the statements `claim` ran five times each.
        for limit in [2, 1] {
            let statement = connection.prepare_cached(&claim_sql(limit)).unwrap();
            assert_eq!(
                statement.get_status(rusqlite::StatementStatus::RePrepare),
                0,
                "the claim statement was prepared again"
            );
            // Each of the five runs, plus the trigger programs (`finished_counts`) it ran.
            assert!(statement.get_status(rusqlite::StatementStatus::Run) >= 5);
        }
    }

    #[test]
    fn checkpoints_copy_the_log_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inbox.db");
        let backend = SqliteBackend::open(&path).unwrap();
        let runtime = current_thread();
        let before = std::fs::metadata(&path).unwrap().len();
        runtime.block_on(async {
            for n in 0..500 {
                backend.enqueue(new_delivery(n)).await.unwrap();
            }
        });
        // The writer never checkpoints (wal_autocheckpoint=0): only the checkpoint thread can
        // have copied those pages into the file.
        let mut after = before;
        for _ in 0..100 {
            after = std::fs::metadata(&path).unwrap().len();
            if after >= before + 500 * 1024 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            after >= before + 500 * 1024,
            "the database file did not grow: {before} -> {after} bytes"
        );
    }

    fn current_thread() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_key_stored_by_another_connection_is_a_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inbox.db");
        let backend = SqliteBackend::open(&path).unwrap();
        // Another process writing the same file (a second service, by mistake): its row is read
        // in by the writer's next transaction, before the enqueue runs.
        let other = Connection::open(&path).unwrap();
        other
            .execute(
                "INSERT INTO deliveries (key, scheme, received_ms, state, next_ms) \
                 VALUES ('key-7', 'callback', 0, 'queued', 0)",
                [],
            )
            .unwrap();
        current_thread().block_on(async {
            let enqueued = backend.enqueue(new_delivery(7)).await.unwrap();
            assert_eq!(enqueued, Enqueued::Duplicate);
            let enqueued = backend.enqueue(new_delivery(8)).await.unwrap();
            assert!(matches!(enqueued, Enqueued::Stored { .. }), "{enqueued:?}");
        });
    }

    #[test]
    fn a_key_forgotten_or_pruned_elsewhere_is_let_through() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inbox.db");
        let backend = SqliteBackend::open(&path).unwrap();
        let runtime = current_thread();
        runtime.block_on(async {
            for n in 0..2 {
                backend.enqueue(new_delivery(n)).await.unwrap();
            }
        });
        // The CLI's `forget` and `purge` run in a process of their own: the service's map still
        // holds both keys, and each hit is checked against the row.
        let other = Connection::open(&path).unwrap();
        other
            .execute(
                "UPDATE deliveries SET forgotten_key = key, key = NULL WHERE key = 'key-0'",
                [],
            )
            .unwrap();
        other
            .execute("DELETE FROM deliveries WHERE key = 'key-1'", [])
            .unwrap();
        runtime.block_on(async {
            for n in 0..2 {
                let enqueued = backend.enqueue(new_delivery(n)).await.unwrap();
                assert!(
                    matches!(enqueued, Enqueued::Stored { .. }),
                    "{n}: {enqueued:?}"
                );
                let again = backend.enqueue(new_delivery(n)).await.unwrap();
                assert_eq!(again, Enqueued::Duplicate, "{n}");
            }
        });
    }

    #[test]
    fn keys_are_read_back_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inbox.db");
        let runtime = current_thread();
        let backend = SqliteBackend::open(&path).unwrap();
        runtime.block_on(async { backend.enqueue(new_delivery(3)).await.unwrap() });
        drop(backend);
        let backend = SqliteBackend::open(&path).unwrap();
        let again = runtime.block_on(async { backend.enqueue(new_delivery(3)).await.unwrap() });
        assert_eq!(again, Enqueued::Duplicate);
    }

    fn indexed_keys(connection: &Connection) -> i64 {
        connection
            .query_row(
                "SELECT COUNT(*) FROM deliveries INDEXED BY deliveries_key_hash \
                 WHERE key_hash IS NOT NULL",
                [],
                |row| row.get(0),
            )
            .unwrap()
    }

    #[test]
    fn forgotten_and_pruned_keys_leave_the_index() {
        let connection = Connection::open_in_memory().unwrap();
        prepare(&connection, false).unwrap();
        for n in 0..5 {
            enqueue(&connection, &new_delivery(n)).unwrap();
        }
        assert_eq!(indexed_keys(&connection), 5);
        assert!(forget(&connection, "key-0").unwrap());
        assert!(!forget(&connection, "key-0").unwrap());
        assert_eq!(indexed_keys(&connection), 4);
        connection
            .execute(
                "UPDATE deliveries SET state = 'completed', finished_ms = 0 WHERE key IN ('key-1', 'key-2')",
                [],
            )
            .unwrap();
        assert_eq!(prune(&connection, State::Completed, 1, 10).unwrap(), 2);
        assert_eq!(indexed_keys(&connection), 2);
        let bodies: i64 = connection
            .query_row("SELECT COUNT(*) FROM bodies", [], |row| row.get(0))
            .unwrap();
        assert_eq!(
            bodies, 3,
            "the pruned deliveries' bodies are deleted with them"
        );
    }

    #[test]
    fn finished_counts_follow_every_change() {
        let connection = Connection::open_in_memory().unwrap();
        prepare(&connection, false).unwrap();
        for n in 0..6 {
            enqueue(&connection, &new_delivery(n)).unwrap();
        }
        let counted = |connection: &Connection| {
            let stats = stats(connection).unwrap();
            let counted: (i64, i64) = connection
                .query_row(
                    "SELECT COUNT(*) FILTER (WHERE state = 'completed'), \
                     COUNT(*) FILTER (WHERE state = 'dead') FROM deliveries",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .unwrap();
            assert_eq!(
                (stats.completed, stats.dead),
                (counted.0 as u64, counted.1 as u64)
            );
            (stats.completed, stats.dead)
        };
        assert_eq!(counted(&connection), (0, 0));
        connection
            .execute_batch(
                "UPDATE deliveries SET state = 'completed', finished_ms = 0 WHERE id <= 3; \
                 UPDATE deliveries SET state = 'dead', finished_ms = 0 WHERE id = 4;",
            )
            .unwrap();
        assert_eq!(counted(&connection), (3, 1));
        // Redriven, dead again, pruned, a state written twice: each counted once.
        redrive(&connection, "1").unwrap();
        connection
            .execute_batch(
                "UPDATE deliveries SET state = 'completed' WHERE id = 2; \
                 UPDATE deliveries SET state = 'dead' WHERE id = 5;",
            )
            .unwrap();
        assert_eq!(counted(&connection), (2, 2));
        assert_eq!(prune(&connection, State::Completed, 1, 10).unwrap(), 2);
        assert_eq!(counted(&connection), (0, 2));
    }

    #[test]
    fn a_forget_rolled_back_keeps_its_key() {
        let connection = Connection::open_in_memory().unwrap();
        prepare(&connection, false).unwrap();
        enqueue(&connection, &new_delivery(0)).unwrap();
        connection.execute_batch("BEGIN IMMEDIATE").unwrap();
        assert!(forget(&connection, "key-0").unwrap());
        connection.execute_batch("ROLLBACK").unwrap();
        assert_eq!(
            enqueue(&connection, &new_delivery(0)).unwrap(),
            Enqueued::Duplicate
        );
    }

    #[test]
    fn a_key_lookup_is_one_probe_of_the_digest_index() {
        let connection = Connection::open_in_memory().unwrap();
        prepare(&connection, false).unwrap();
        let plan = |sql: &str| -> String {
            let mut statement = connection
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            let rows: Vec<String> = statement
                .query_map(["1", "k"], |row| row.get::<_, String>(3))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            rows.join("; ")
        };
        let lookup = plan("SELECT id FROM deliveries WHERE key_hash = ?1 AND key = ?2");
        assert!(lookup.contains("deliveries_key_hash"), "{lookup}");
        let missing = connection
            .prepare(
                "EXPLAIN QUERY PLAN SELECT id, key FROM deliveries \
                 WHERE key IS NOT NULL AND key_hash IS NULL",
            )
            .unwrap()
            .query_row([], |row| row.get::<_, String>(3))
            .unwrap();
        assert!(missing.contains("deliveries_unhashed"), "{missing}");
    }

    #[test]
    fn a_schema_3_file_keeps_its_keys() {
        // A file as code of schema 3 left it: its keys have no digest until it is opened.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inbox.db");
        let backend = SqliteBackend::open(&path).unwrap();
        let runtime = current_thread();
        runtime.block_on(async {
            for n in 0..3 {
                backend.enqueue(new_delivery(n)).await.unwrap();
            }
        });
        drop(backend);
        let other = Connection::open(&path).unwrap();
        other
            .execute_batch(
                "DROP INDEX deliveries_key_hash; DROP INDEX deliveries_unhashed; \
                 ALTER TABLE deliveries DROP COLUMN key_hash; \
                 DROP INDEX deliveries_bot_pending; DROP INDEX deliveries_bot_running; \
                 DROP INDEX deliveries_stale; DROP TABLE bots; \
                 ALTER TABLE deliveries DROP COLUMN order_ms; \
                 ALTER TABLE deliveries DROP COLUMN event_ms; \
                 ALTER TABLE deliveries DROP COLUMN outcome; PRAGMA user_version = 3;",
            )
            .unwrap();
        drop(other);
        let backend = SqliteBackend::open(&path).unwrap();
        runtime.block_on(async {
            for n in 0..3 {
                let again = backend.enqueue(new_delivery(n)).await.unwrap();
                assert_eq!(again, Enqueued::Duplicate, "{n}");
            }
        });
        let other = Connection::open(&path).unwrap();
        assert_eq!(indexed_keys(&other), 3);
    }

    #[test]
    fn a_file_with_bodies_inside_deliveries_is_refused_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inbox.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE deliveries (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
            .unwrap();
        let err = SqliteBackend::open(&path).unwrap_err();
        assert!(err.to_string().contains("development build"), "{err}");
    }

    #[test]
    fn a_commit_that_cannot_be_synced_is_not_answered_as_stored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inbox.db");
        let backend = SqliteBackend::open(&path).unwrap();
        let runtime = current_thread();
        runtime.block_on(async {
            backend.enqueue(new_delivery(0)).await.unwrap();
            // SQLite keeps writing to the unlinked file; the sync of the path fails.
            std::fs::remove_file(dir.path().join("inbox.db-wal")).unwrap();
            let err = backend.enqueue(new_delivery(1)).await.unwrap_err();
            assert!(err.to_string().contains("cannot sync"), "{err}");
            // Nothing committed after a failed sync is trusted to be on disk: every later write
            // is refused (intake answers 503, the sender retries after the restart).
            let err = backend.enqueue(new_delivery(2)).await.unwrap_err();
            assert!(err.to_string().contains("refuses writes"), "{err}");
        });
    }

    #[test]
    fn the_log_starts_over_under_sustained_intake() {
        // A passive checkpoint never catches up with a writer that keeps committing; without the
        // writer's restart, these ~25 000 pages would all stay in the WAL file (~100 MiB).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inbox.db");
        let backend = SqliteBackend::open(&path).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for lane in 0..32 {
                let backend = backend.clone();
                tasks.spawn(async move {
                    for n in 0..250 {
                        let mut delivery = new_delivery(lane * 1000 + n);
                        delivery.body = bytes::Bytes::from(vec![b' '; 8 * 1024]);
                        backend.enqueue(delivery).await.unwrap();
                    }
                });
            }
            while let Some(done) = tasks.join_next().await {
                done.unwrap();
            }
        });
        let wal = std::fs::metadata(dir.path().join("inbox.db-wal"))
            .unwrap()
            .len();
        assert!(wal < 48 << 20, "the WAL grew to {} MiB", wal >> 20);
    }
}
