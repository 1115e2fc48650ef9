//! The embedded store: one SQLite file (WAL), every write on one thread, concurrent writes
//! committed together (group commit).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use meetingbaas_webhooks::pipeline::Enqueued;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::{Notify, oneshot};

use crate::backend::{Backend, BackendFuture, NewDelivery};
use crate::error::Error;
use crate::record::{
    Attempt, Claimed, ListQuery, State, Stats, StoredDelivery, Summary, Verdict, millis, now_ms,
};

/// The most operations committed together in one transaction.
const MAX_BATCH: usize = 512;

const SCHEMA: &str = r"
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT UNIQUE,
    forgotten_key TEXT,
    kind TEXT,
    event TEXT,
    scheme TEXT NOT NULL,
    message_id TEXT,
    body BLOB NOT NULL,
    received_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    attempt_base INTEGER NOT NULL DEFAULT 0,
    next_ms INTEGER,
    lease_token TEXT,
    lease_started_ms INTEGER,
    lease_until_ms INTEGER,
    finished_ms INTEGER,
    dead_reason TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_ms);
CREATE TABLE IF NOT EXISTS attempts (
    delivery_id INTEGER NOT NULL,
    number INTEGER NOT NULL,
    started_ms INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    error TEXT,
    PRIMARY KEY (delivery_id, number)
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);
";

/// An operation run on the writer thread inside the batch's transaction.
trait Op: Send {
    /// Runs; returns whether it succeeded (a failed one is rolled back alone).
    fn run(&mut self, connection: &Connection) -> bool;
    /// Answers the caller once the batch is committed (or failed to).
    fn reply(self: Box<Self>, committed: Result<(), Error>);
}

struct Call<T, F> {
    op: Option<F>,
    result: Option<Result<T, Error>>,
    reply: oneshot::Sender<Result<T, Error>>,
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
}

/// Deliveries in one SQLite file: durable (WAL, `synchronous=FULL`: a commit is on disk before
/// it is answered), for a service on one machine.
///
/// Every operation goes to one writer thread, which commits whatever has queued up meanwhile in
/// one transaction: under concurrent intake, one fsync covers many deliveries. Opening checks
/// that the file can be written (a read-only file, a missing directory, a corrupt database are
/// errors at start, not at the first delivery).
#[derive(Clone, Debug)]
pub struct SqliteBackend {
    sender: mpsc::Sender<Box<dyn Op>>,
    stored: Arc<Notify>,
    path: Arc<PathBuf>,
}

impl SqliteBackend {
    /// Opens (creating if needed) the inbox database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let connection = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|err| open_error(&path, &err))?;
        if connection
            .is_readonly(rusqlite::MAIN_DB)
            .map_err(|err| open_error(&path, &err))?
        {
            return Err(Error::Store(format!("{} is not writable", path.display())));
        }
        prepare(&connection, true).map_err(|err| open_error(&path, &err))?;
        Ok(SqliteBackend::start(connection, path))
    }

    /// An in-memory database: **not durable** (gone with the process), for tests.
    pub fn memory() -> Self {
        let connection =
            Connection::open_in_memory().expect("SQLite can open an in-memory database");
        prepare(&connection, false).expect("the schema applies to an empty in-memory database");
        SqliteBackend::start(connection, PathBuf::from(":memory:"))
    }

    fn start(connection: Connection, path: PathBuf) -> Self {
        let (sender, receiver) = mpsc::channel::<Box<dyn Op>>();
        std::thread::Builder::new()
            .name("inbox-sqlite-writer".into())
            .spawn(move || write_loop(&connection, &receiver))
            .expect("spawning the SQLite writer thread");
        SqliteBackend {
            sender,
            stored: Arc::new(Notify::new()),
            path: Arc::new(path),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `op` on the writer thread, in the next batch's transaction.
    fn call<T, F>(&self, op: F) -> impl Future<Output = Result<T, Error>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let sent = self
            .sender
            .send(Box::new(Call {
                op: Some(op),
                result: None,
                reply,
            }))
            .map_err(|_| Error::store("the SQLite writer thread has stopped"));
        async move {
            sent?;
            answer
                .await
                .map_err(|_| Error::store("the SQLite writer thread has stopped"))?
        }
    }
}

fn open_error(path: &Path, err: &rusqlite::Error) -> Error {
    Error::Store(format!("cannot open {}: {err}", path.display()))
}

fn prepare(connection: &Connection, durable: bool) -> rusqlite::Result<()> {
    connection.busy_timeout(Duration::from_secs(5))?;
    if durable {
        // WAL with synchronous=FULL: each commit is fsynced before it returns.
        let mode: String = connection.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "journal_mode is {mode}, not wal"
            )));
        }
        connection.execute_batch("PRAGMA synchronous=FULL")?;
    }
    connection.execute_batch(SCHEMA)?;
    // A real write, so that a file that cannot be written fails now rather than at intake.
    connection.execute(
        "INSERT OR REPLACE INTO meta (name, value) VALUES ('opened_ms', ?1)",
        params![now_ms().to_string()],
    )?;
    Ok(())
}

fn write_loop(connection: &Connection, receiver: &mpsc::Receiver<Box<dyn Op>>) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let committed = run_batch(connection, &mut batch);
        for op in batch {
            op.reply(committed.clone());
        }
    }
}

fn run_batch(connection: &Connection, batch: &mut [Box<dyn Op>]) -> Result<(), Error> {
    connection.execute_batch("BEGIN IMMEDIATE")?;
    for op in batch.iter_mut() {
        let begun = connection.execute_batch("SAVEPOINT op");
        if let Err(err) = begun {
            let _ = connection.execute_batch("ROLLBACK");
            return Err(err.into());
        }
        let ok = op.run(connection);
        let ended = if ok {
            connection.execute_batch("RELEASE op")
        } else {
            connection.execute_batch("ROLLBACK TO op; RELEASE op")
        };
        if let Err(err) = ended {
            let _ = connection.execute_batch("ROLLBACK");
            return Err(err.into());
        }
    }
    if let Err(err) = connection.execute_batch("COMMIT") {
        let _ = connection.execute_batch("ROLLBACK");
        return Err(err.into());
    }
    Ok(())
}

const SUMMARY_COLUMNS: &str = "id, key, forgotten_key, kind, event, scheme, message_id, \
    received_ms, state, attempts, next_ms, finished_ms, dead_reason";

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
    })
}

fn parse_id(id: &str) -> Result<i64, Error> {
    id.parse().map_err(|_| Error::NotFound(id.to_string()))
}

fn enqueue(connection: &Connection, delivery: &NewDelivery) -> Result<Enqueued, Error> {
    let now = now_ms();
    let inserted = connection
        .prepare_cached(
            "INSERT INTO deliveries (key, kind, event, scheme, message_id, body, received_ms, \
             state, next_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', ?7) \
             ON CONFLICT (key) DO NOTHING",
        )?
        .execute(params![
            delivery.key,
            delivery.kind,
            delivery.event,
            delivery.scheme,
            delivery.message_id,
            &delivery.body[..],
            now
        ])?;
    if inserted == 0 {
        return Ok(Enqueued::Duplicate);
    }
    Ok(Enqueued::Stored {
        id: connection.last_insert_rowid().to_string(),
    })
}

/// Claims due deliveries; also returns when the next one falls due.
fn claim(
    connection: &Connection,
    max: usize,
    lease: Duration,
    token: &str,
) -> Result<(Vec<Claimed>, Option<i64>), Error> {
    let now = now_ms();
    // A lease that ran out: its worker died or hung. Record that attempt, then let it be taken.
    connection
        .prepare_cached(
            "INSERT OR IGNORE INTO attempts (delivery_id, number, started_ms, duration_ms, error) \
             SELECT id, attempts, lease_started_ms, ?1 - lease_started_ms, \
             'lease expired: the worker stopped or hung' FROM deliveries \
             WHERE state = 'running' AND lease_until_ms <= ?1",
        )?
        .execute(params![now])?;
    connection
        .prepare_cached(
            "UPDATE deliveries SET state = 'retrying', next_ms = ?1, lease_token = NULL \
             WHERE state = 'running' AND lease_until_ms <= ?1",
        )?
        .execute(params![now])?;
    let limit = i64::try_from(max).unwrap_or(i64::MAX);
    let mut statement = connection.prepare_cached(
        "UPDATE deliveries SET state = 'running', attempts = attempts + 1, lease_token = ?2, \
         lease_started_ms = ?1, lease_until_ms = ?3 \
         WHERE id IN (SELECT id FROM deliveries WHERE state IN ('queued', 'retrying') \
         AND next_ms <= ?1 ORDER BY next_ms, id LIMIT ?4) \
         RETURNING id, COALESCE(key, forgotten_key), kind, body, attempts, attempt_base, received_ms",
    )?;
    let claimed = statement
        .query_map(params![now, token, now + millis(lease), limit], |row| {
            let attempts: u32 = row.get(4)?;
            let base: u32 = row.get(5)?;
            Ok(Claimed {
                id: row.get::<_, i64>(0)?.to_string(),
                key: row.get::<_, Option<String>>(1)?.unwrap_or_default(),
                kind: row.get(2)?,
                body: bytes::Bytes::from(row.get::<_, Vec<u8>>(3)?),
                attempt: attempts.saturating_sub(base),
                attempt_total: attempts,
                received_ms: row.get(6)?,
                token: token.to_string(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let next_due: Option<i64> = connection
        .prepare_cached(
            "SELECT MIN(due) FROM (SELECT MIN(next_ms) AS due FROM deliveries \
             WHERE state IN ('queued', 'retrying') UNION ALL SELECT MIN(lease_until_ms) \
             FROM deliveries WHERE state = 'running')",
        )?
        .query_row([], |row| row.get(0))?;
    Ok((claimed, next_due))
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
        Verdict::Complete => (State::Completed, None, Some(now), None),
        Verdict::Retry { at_ms } => (State::Retrying, Some(*at_ms), None, None),
        Verdict::Dead { reason } => (State::Dead, None, Some(now), Some(reason.as_str())),
    };
    let changed = connection
        .prepare_cached(
            "UPDATE deliveries SET state = ?1, next_ms = ?2, finished_ms = ?3, dead_reason = ?4, \
             lease_token = NULL, lease_until_ms = NULL \
             WHERE id = ?5 AND state = 'running' AND lease_token = ?6",
        )?
        .execute(params![
            state.as_str(),
            next_ms,
            finished_ms,
            reason,
            id,
            claimed.token
        ])?;
    if changed == 0 {
        return Ok(false);
    }
    connection
        .prepare_cached(
            "INSERT OR REPLACE INTO attempts (delivery_id, number, started_ms, duration_ms, error) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            id,
            attempt.number,
            attempt.started_ms,
            i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX),
            attempt.error
        ])?;
    Ok(true)
}

fn stats(connection: &Connection) -> Result<Stats, Error> {
    let mut stats = Stats::default();
    let mut statement =
        connection.prepare_cached("SELECT state, COUNT(*) FROM deliveries GROUP BY state")?;
    let rows = statement.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (state, count) = row?;
        if let Some(state) = State::from_name(&state) {
            stats.add(state, u64::try_from(count).unwrap_or(0));
        }
    }
    let oldest: Option<i64> = connection.query_row(
        "SELECT MIN(received_ms) FROM deliveries WHERE state IN ('queued', 'running', 'retrying')",
        [],
        |row| row.get(0),
    )?;
    stats.oldest_pending_age_secs =
        oldest.map(|received| u64::try_from((now_ms() - received).max(0) / 1000).unwrap_or(0));
    Ok(stats)
}

fn list(connection: &Connection, query: &ListQuery) -> Result<Vec<Summary>, Error> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM deliveries WHERE (?1 IS NULL OR state = ?1) \
         AND (?2 IS NULL OR kind = ?2) ORDER BY id DESC LIMIT ?3"
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(
        params![
            query.state.map(State::as_str),
            query.kind,
            i64::try_from(query.limit).unwrap_or(i64::MAX)
        ],
        summary,
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn show(connection: &Connection, id: &str) -> Result<Option<StoredDelivery>, Error> {
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    let sql = format!("SELECT {SUMMARY_COLUMNS}, body FROM deliveries WHERE id = ?1");
    let found = connection
        .query_row(&sql, params![id], |row| {
            Ok((summary(row)?, row.get::<_, Vec<u8>>(13)?))
        })
        .optional()?;
    let Some((summary, body)) = found else {
        return Ok(None);
    };
    let mut statement = connection.prepare_cached(
        "SELECT number, started_ms, duration_ms, error FROM attempts WHERE delivery_id = ?1 \
         ORDER BY number",
    )?;
    let attempts = statement
        .query_map(params![id], |row| {
            Ok(Attempt {
                number: row.get(0)?,
                started_ms: row.get(1)?,
                duration_ms: u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
                error: row.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(StoredDelivery {
        summary,
        body: bytes::Bytes::from(body),
        attempts,
    }))
}

fn redrive(connection: &Connection, id: &str) -> Result<(), Error> {
    let number = parse_id(id)?;
    let state: Option<String> = connection
        .query_row(
            "SELECT state FROM deliveries WHERE id = ?1",
            params![number],
            |row| row.get(0),
        )
        .optional()?;
    match state.as_deref() {
        None => return Err(Error::NotFound(id.to_string())),
        Some("running") => return Err(Error::Running(id.to_string())),
        Some(_) => {}
    }
    connection.execute(
        "UPDATE deliveries SET state = 'queued', next_ms = ?2, attempt_base = attempts, \
         finished_ms = NULL, dead_reason = NULL WHERE id = ?1",
        params![number, now_ms()],
    )?;
    Ok(())
}

fn redrive_dead(connection: &Connection, kind: Option<&str>) -> Result<u64, Error> {
    let changed = connection.execute(
        "UPDATE deliveries SET state = 'queued', next_ms = ?2, attempt_base = attempts, \
         finished_ms = NULL, dead_reason = NULL WHERE state = 'dead' AND (?1 IS NULL OR kind = ?1)",
        params![kind, now_ms()],
    )?;
    Ok(changed as u64)
}

fn forget(connection: &Connection, key: &str) -> Result<bool, Error> {
    let changed = connection.execute(
        "UPDATE deliveries SET forgotten_key = key, key = NULL WHERE key = ?1",
        params![key],
    )?;
    Ok(changed > 0)
}

fn purge(connection: &Connection, state: State, older_than: Duration) -> Result<u64, Error> {
    if !matches!(state, State::Completed | State::Dead) {
        return Ok(0);
    }
    let cutoff = now_ms() - millis(older_than);
    connection.execute(
        "DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries \
         WHERE state = ?1 AND finished_ms <= ?2)",
        params![state.as_str(), cutoff],
    )?;
    let deleted = connection.execute(
        "DELETE FROM deliveries WHERE state = ?1 AND finished_ms <= ?2",
        params![state.as_str(), cutoff],
    )?;
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

impl Backend for SqliteBackend {
    fn enqueue(&self, delivery: NewDelivery) -> BackendFuture<Enqueued> {
        let stored = Arc::clone(&self.stored);
        let call = self.call(move |connection| enqueue(connection, &delivery));
        Box::pin(async move {
            let enqueued = call.await?;
            if matches!(enqueued, Enqueued::Stored { .. }) {
                stored.notify_waiters();
            }
            Ok(enqueued)
        })
    }

    fn claim(&self, max: usize, lease: Duration, wait: Duration) -> BackendFuture<Vec<Claimed>> {
        let this = self.clone();
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                // Listening before looking, so that a delivery stored meanwhile wakes us.
                let stored = Arc::clone(&this.stored);
                let notified = stored.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let token = crate::token();
                let (claimed, next_due) = this
                    .call(move |connection| claim(connection, max, lease, &token))
                    .await?;
                let now = tokio::time::Instant::now();
                if !claimed.is_empty() || now >= deadline {
                    return Ok(claimed);
                }
                let mut until = deadline;
                if let Some(due) = next_due {
                    let in_ms = u64::try_from((due - now_ms()).max(0)).unwrap_or(0);
                    until = until.min(now + Duration::from_millis(in_ms));
                }
                tokio::select! {
                    () = notified => {}
                    () = tokio::time::sleep_until(until) => {}
                }
            }
        })
    }

    fn extend(&self, claims: Vec<(String, String)>, lease: Duration) -> BackendFuture<()> {
        Box::pin(self.call(move |connection| extend(connection, &claims, lease)))
    }

    fn finish(&self, claimed: Claimed, attempt: Attempt, verdict: Verdict) -> BackendFuture<bool> {
        Box::pin(self.call(move |connection| finish(connection, &claimed, &attempt, &verdict)))
    }

    fn stats(&self) -> BackendFuture<Stats> {
        Box::pin(self.call(stats))
    }

    fn list(&self, query: ListQuery) -> BackendFuture<Vec<Summary>> {
        Box::pin(self.call(move |connection| list(connection, &query)))
    }

    fn show(&self, id: String) -> BackendFuture<Option<StoredDelivery>> {
        Box::pin(self.call(move |connection| show(connection, &id)))
    }

    fn redrive(&self, id: String) -> BackendFuture<()> {
        let stored = Arc::clone(&self.stored);
        let call = self.call(move |connection| redrive(connection, &id));
        Box::pin(async move {
            call.await?;
            stored.notify_waiters();
            Ok(())
        })
    }

    fn redrive_dead(&self, kind: Option<String>) -> BackendFuture<u64> {
        let stored = Arc::clone(&self.stored);
        let call = self.call(move |connection| redrive_dead(connection, kind.as_deref()));
        Box::pin(async move {
            let count = call.await?;
            stored.notify_waiters();
            Ok(count)
        })
    }

    fn forget(&self, key: String) -> BackendFuture<bool> {
        Box::pin(self.call(move |connection| forget(connection, &key)))
    }

    fn purge(&self, state: State, older_than: Duration) -> BackendFuture<u64> {
        Box::pin(self.call(move |connection| purge(connection, state, older_than)))
    }
}
