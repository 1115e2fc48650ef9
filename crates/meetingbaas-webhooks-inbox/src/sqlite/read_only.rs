//! The inbox file opened read-only (`mode=ro`): what the CLI's `stats`, `list` and `show` use,
//! so that they work on a full disk and a read-only mount and never write to a file a service is
//! using (not even its schema, not even the switch to WAL).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use meetingbaas_webhooks_receiver::Enqueued;
use rusqlite::{Connection, OpenFlags};

use super::schema::{Found, SCHEMA_VERSION, inspect};
use super::{list, open_error, show, stats};
use crate::error::Error;
use crate::record::{Attempt, Claimed, ListQuery, State, Stats, StoredDelivery, Summary, Verdict};
use crate::store::{AdminStore, IntakeStore, NewDelivery, StoreFuture, WorkStore};

/// An inbox file for reading only: stats, list, show. Every write is refused with
/// [`Error::ReadOnly`].
#[derive(Clone)]
pub struct SqliteReader {
    connection: Arc<Mutex<Connection>>,
    path: Arc<PathBuf>,
}

impl fmt::Debug for SqliteReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteReader")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteReader {
    /// Opens the inbox file at `path` read-only. Fails when it does not exist, is not an inbox,
    /// or has a schema this code cannot read (an older one: a service of this release migrates
    /// it at its start).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let (connection, found) = match open_and_inspect(&path, false) {
            Ok(opened) => opened,
            // A file in WAL mode needs its `-shm` beside it, which a read-only mount cannot
            // create. When nothing can be in a log (none beside the file), nothing can change the
            // file either: it is read as immutable, without locks or shared memory.
            Err(err) if !has_log(&path) => match open_and_inspect(&path, true) {
                Ok(opened) => opened,
                Err(_) => return Err(err),
            },
            Err(err) => return Err(err),
        };
        match found {
            Found::Inbox { version, .. } if version >= SCHEMA_VERSION => {}
            Found::Inbox { version, .. } => {
                return Err(Error::Store(format!(
                    "{} has schema {version}, older than this release's {SCHEMA_VERSION}: \
                     start the service (or any command that writes) once to migrate it, then read",
                    path.display()
                )));
            }
            Found::Empty => {
                return Err(Error::Store(format!(
                    "{} holds no inbox yet",
                    path.display()
                )));
            }
        }
        Ok(SqliteReader {
            connection: Arc::new(Mutex::new(connection)),
            path: Arc::new(path),
        })
    }

    /// Runs `use_it` on the connection, on this thread.
    pub(super) fn with_connection<T>(
        &self,
        use_it: impl FnOnce(&Connection) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        use_it(&connection)
    }

    /// Runs `read` on the connection, on a blocking thread.
    fn read<T, F>(&self, read: F) -> StoreFuture<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let connection = connection.lock().unwrap_or_else(PoisonError::into_inner);
                read(&connection)
            })
            .await
            .map_err(Error::store)?
        })
    }
}

/// Opens `path` read-only (as immutable: no locks, no shared memory, for a file nothing can
/// write) and reads what it holds.
fn open_and_inspect(path: &Path, immutable: bool) -> Result<(Connection, Found), Error> {
    let connection = if immutable {
        Connection::open_with_flags(
            format!("file:{}?immutable=1", uri_path(path)),
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
    } else {
        Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    }
    .map_err(|err| open_error(path, &err))?;
    connection
        .busy_timeout(Duration::from_secs(5))
        .map_err(|err| open_error(path, &err))?;
    let found = inspect(&connection).map_err(|err| match err {
        Error::Store(message) => Error::Store(format!("cannot read {}: {message}", path.display())),
        other => other,
    })?;
    Ok((connection, found))
}

/// Whether a write-ahead log with something in it lies beside the file.
fn has_log(path: &Path) -> bool {
    let mut log = path.as_os_str().to_owned();
    log.push("-wal");
    std::fs::metadata(log).is_ok_and(|meta| meta.len() > 0)
}

/// `path` for a `file:` URI: `%`, `?` and `#` escaped.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// A write asked of a read-only store.
fn refused<T: Send + 'static>() -> StoreFuture<T> {
    Box::pin(async { Err(Error::ReadOnly) })
}

impl IntakeStore for SqliteReader {
    fn enqueue(&self, _delivery: NewDelivery) -> StoreFuture<Enqueued> {
        refused()
    }
}

impl WorkStore for SqliteReader {
    fn claim(&self, _max: usize, _lease: Duration) -> StoreFuture<Vec<Claimed>> {
        refused()
    }

    fn wait(&self, timeout: Duration) -> StoreFuture<()> {
        Box::pin(async move {
            tokio::time::sleep(timeout).await;
            Ok(())
        })
    }

    fn extend(&self, _claims: Vec<(String, String)>, _lease: Duration) -> StoreFuture<()> {
        refused()
    }

    fn finish(&self, _claimed: Claimed, _attempt: Attempt, _verdict: Verdict) -> StoreFuture<bool> {
        refused()
    }

    fn prune(&self, _state: State, _older_than: Duration, _limit: usize) -> StoreFuture<u64> {
        refused()
    }
}

impl AdminStore for SqliteReader {
    fn stats(&self) -> StoreFuture<Stats> {
        self.read(stats)
    }

    fn list(&self, query: ListQuery) -> StoreFuture<Vec<Summary>> {
        self.read(move |connection| list(connection, &query))
    }

    fn show(&self, id: String) -> StoreFuture<Option<StoredDelivery>> {
        self.read(move |connection| show(connection, &id))
    }

    fn redrive(&self, _id: String) -> StoreFuture<()> {
        refused()
    }

    fn redrive_dead(&self, _kind: Option<String>) -> StoreFuture<u64> {
        refused()
    }

    fn forget(&self, _key: String) -> StoreFuture<bool> {
        refused()
    }

    fn purge(&self, _state: State, _older_than: Duration) -> StoreFuture<u64> {
        refused()
    }
}
