//! Durability off the writer thread: commits are answered only once the WAL is on disk, but
//! the writer does not wait for the disk itself.
//!
//! With `synchronous=FULL`, SQLite fsyncs the WAL inside every `COMMIT`, on the committing
//! thread: the writer could not start the next batch until the disk had answered, so the commit
//! cycle was the writer's CPU *plus* the fsync. Here the writer's connection runs with
//! `synchronous=NORMAL` (a commit writes its WAL frames and returns; SQLite still syncs around
//! checkpoints) and hands the batch's answers to this thread, which calls `fdatasync` on the WAL
//! file and only then answers them. Meanwhile the writer runs the next batch: the cycle is the
//! larger of the two, and one `fdatasync` covers every commit written before it began, however
//! many batches that is.
//!
//! The guarantee is unchanged: no delivery is answered as stored, and no change an operator
//! asked for (redrive, forget, purge) is answered, before its commit is on disk. A duplicate of
//! a delivery committed but not yet synced is committed later, so its answer waits for a sync
//! that covers the original too. The worker's claims, lease renewals and attempt records are
//! answered at commit, without waiting here (`SqliteBackend::call_unsynced`): losing one in a
//! crash runs a delivery once more, as any crash of a worker may, and loses nothing. A handler
//! may so start on a delivery whose own commit is not yet on disk; should that sync fail, the
//! sender is answered 503 and sends it again, and the handler runs again (at least once).
//!
//! If `fdatasync` fails, the kernel may already have dropped the pages it could not write (and
//! reports the error once): nothing committed since the last good sync can be trusted to be on
//! disk. The operations waiting are answered with the error, and the store refuses every later
//! write until the process restarts and SQLite recovers from what is on disk (what PostgreSQL
//! does since 2018 for the same reason).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use super::Op;
use crate::error::Error;

/// The writer's side: hands committed batches over to be answered once synced.
#[derive(Debug)]
pub(super) struct Syncer {
    groups: mpsc::Sender<Vec<Box<dyn Op>>>,
    failed: Arc<AtomicBool>,
}

impl Syncer {
    /// Starts the thread that syncs the WAL of the database at `database`.
    pub(super) fn start(database: &Path) -> Result<Self, Error> {
        // Absolute (as SQLite makes it): a later change of the working directory cannot move it.
        let database = std::fs::canonicalize(database)
            .map_err(|err| Error::Store(format!("cannot open {}: {err}", database.display())))?;
        let mut wal = database.into_os_string();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        let (groups, receiver) = mpsc::channel();
        let failed = Arc::new(AtomicBool::new(false));
        let theirs = Arc::clone(&failed);
        super::spawn("inbox-sqlite-sync", move || run(&wal, &receiver, &theirs))?;
        Ok(Syncer { groups, failed })
    }

    /// Whether a sync has failed: the writer must then refuse every operation.
    pub(super) fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Answers `ops`, whose transaction has committed, once the WAL is on disk.
    pub(super) fn answer_when_synced(&self, ops: Vec<Box<dyn Op>>) {
        if let Err(mpsc::SendError(ops)) = self.groups.send(ops) {
            // The thread is gone (it never exits while this side lives): do not answer 2xx.
            for op in ops {
                op.reply(Err(Error::store("the SQLite sync thread has stopped")));
            }
        }
    }
}

/// The error every operation gets once a sync has failed.
pub(super) fn refused() -> Error {
    Error::store(
        "an earlier fsync of the SQLite log failed; the inbox refuses writes until the process restarts",
    )
}

fn run(wal: &Path, groups: &mpsc::Receiver<Vec<Box<dyn Op>>>, failed: &AtomicBool) {
    let mut waiting: Vec<Box<dyn Op>> = Vec::new();
    while let Ok(group) = groups.recv() {
        waiting.extend(group);
        // Every batch committed before this sync begins is covered by it.
        while let Ok(more) = groups.try_recv() {
            waiting.extend(more);
        }
        let synced = if failed.load(Ordering::Acquire) {
            Err(refused())
        } else {
            sync(wal).map_err(|err| {
                failed.store(true, Ordering::Release);
                tracing::error!(target: "meetingbaas_webhooks_inbox", error = %err, "fsync of the SQLite log failed; refusing writes until restart");
                err
            })
        };
        for op in waiting.drain(..) {
            op.reply(synced.clone());
        }
    }
}

/// `fdatasync` of the WAL file. It is opened each time (a few microseconds per group, against
/// the sync's hundreds): the path stays right whatever SQLite does with the file.
fn sync(wal: &Path) -> Result<(), Error> {
    File::open(wal)
        .and_then(|file| file.sync_data())
        .map_err(|err| Error::Store(format!("cannot sync {}: {err}", wal.display())))
}
