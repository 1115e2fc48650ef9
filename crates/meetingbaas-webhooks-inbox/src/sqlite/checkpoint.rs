//! Checkpoints of the WAL off the writer thread: the writer, which every intake waits for,
//! copies almost no pages into the database file itself.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses 1 000 WAL pages, on the
//! committing connection: with one writer thread, a batch of deliveries now and then waited for
//! a thousand pages to be copied and the database file to be fsynced. Here the writer only
//! signals its commits; a thread of its own gathers them for a moment, then copies what it can
//! without blocking anyone (`PASSIVE`).
//!
//! A passive checkpoint never catches up with a writer that keeps committing, and the log only
//! starts over once everything in it has been copied: under sustained intake it would grow
//! without end. So when a passive checkpoint finds more than [`RESTART_FRAMES`] in the log, it
//! asks the writer to finish the job between two batches (`RESTART`, on the writer's own
//! connection: it then copies only what was committed since that passive checkpoint began, and
//! the next commit starts the log over). The two never run a checkpoint at the same time (a
//! mutex, rather than SQLite's busy handler, which sleeps up to 100 ms between tries).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use rusqlite::Connection;

use super::health::Health;
use crate::error::Error;

/// WAL frames (pages) past which the writer is asked to restart the log: 16 MiB with 4 KiB pages.
const RESTART_FRAMES: i64 = 4096;

/// How long commits are gathered before a checkpoint copies them.
const GATHER: Duration = Duration::from_millis(50);

/// The writer's side: tells the checkpoint thread that something was committed, and restarts
/// the log when asked. Dropping it stops the thread.
#[derive(Debug)]
pub(super) struct Checkpointer {
    kick: mpsc::SyncSender<()>,
    shared: Arc<Shared>,
    /// Nothing is copied into the file before its integrity check has passed.
    health: Arc<Health>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Held while a checkpoint runs, on either connection.
    running: Mutex<()>,
    /// Set by the checkpoint thread when the log is long enough to restart.
    restart: AtomicBool,
}

impl Checkpointer {
    /// Opens a connection of its own to `path` and starts the thread.
    pub(super) fn start(path: &Path, health: Arc<Health>) -> Result<Self, Error> {
        let connection = super::open_connection(path)?;
        connection
            .busy_timeout(Duration::from_secs(5))
            .map_err(|err| super::open_error(path, &err))?;
        let (kick, kicks) = mpsc::sync_channel(1);
        let shared = Arc::new(Shared::default());
        let theirs = Arc::clone(&shared);
        let checked = Arc::clone(&health);
        super::spawn("inbox-sqlite-checkpoint", move || {
            run(&connection, &kicks, &theirs, &checked);
        })?;
        Ok(Checkpointer {
            kick,
            shared,
            health,
        })
    }

    /// Called by the writer after each commit, on its connection: signals the checkpoint thread
    /// (never blocks), and restarts the log if that thread asked for it.
    pub(super) fn committed(&self, writer: &Connection) {
        let _ = self.kick.try_send(());
        if self.health.passed() && self.shared.restart.swap(false, Ordering::AcqRel) {
            let _running = lock(&self.shared.running);
            if let Err(err) = checkpoint(writer, "RESTART") {
                warn(&err);
            }
        }
    }

    /// At close, on the writer's connection: stops the checkpoint thread, then folds the whole
    /// log into the file and empties it (`TRUNCATE`), if the file's check has passed. Tried
    /// again for up to a second while another connection holds the log (the checkpoint thread
    /// finishing its last copy, or a read): a log left behind is read at the next open, so
    /// nothing is lost when it still cannot.
    pub(super) fn close(self, writer: &Connection) {
        let Checkpointer {
            kick,
            shared,
            health,
        } = self;
        // The thread stops after the checkpoint it may be running.
        drop(kick);
        if !health.passed() {
            return;
        }
        let _running = lock(&shared.running);
        for _ in 0..CLOSE_TRIES {
            let busy = writer.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                row.get::<_, i64>(0)
            });
            match busy {
                Ok(0) => return,
                Ok(_) => std::thread::sleep(Duration::from_millis(20)),
                Err(err) => return warn(&err),
            }
        }
    }
}

/// How many times the checkpoint at close is tried (20 ms apart).
const CLOSE_TRIES: usize = 50;

fn run(connection: &Connection, kicks: &mpsc::Receiver<()>, shared: &Shared, health: &Health) {
    while kicks.recv().is_ok() {
        std::thread::sleep(GATHER);
        // Commits signalled meanwhile are covered by this checkpoint.
        while kicks.try_recv().is_ok() {}
        if !health.passed() {
            // Kept in the log until the file is known whole (the next commit after that
            // checkpoints it all).
            continue;
        }
        let log = {
            let _running = lock(&shared.running);
            checkpoint(connection, "PASSIVE")
        };
        match log {
            Ok(frames) if frames > RESTART_FRAMES => shared.restart.store(true, Ordering::Release),
            Ok(_) => {}
            Err(err) => warn(&err),
        }
    }
}

fn lock(mutex: &Mutex<()>) -> std::sync::MutexGuard<'_, ()> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn warn(err: &rusqlite::Error) {
    // The WAL keeps every commit: nothing is lost, the log only grows until a later checkpoint
    // succeeds (after a full disk, for instance).
    tracing::warn!(target: "meetingbaas_webhooks_inbox", error = %err, "SQLite checkpoint failed; will retry after the next commit");
}

/// Runs `PRAGMA wal_checkpoint(MODE)`; returns the frames in the log.
fn checkpoint(connection: &Connection, mode: &str) -> rusqlite::Result<i64> {
    connection.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        row.get::<_, i64>(1)
    })
}
