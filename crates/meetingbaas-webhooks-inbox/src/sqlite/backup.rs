//! A copy of a live inbox file through SQLite's online backup API: what
//! `meetingbaas-webhooks inbox backup` runs beside a running service.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::read_only::SqliteReader;
use crate::error::Error;

/// What a backup copied.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackupReport {
    /// Where the copy is.
    pub path: PathBuf,
    /// Its size in pages.
    pub pages: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

/// How many times a busy source is waited for (100 ms apart) before the backup gives up.
const BUSY_TRIES: u32 = 100;

impl SqliteReader {
    /// Copies the inbox to a new file at `to`, consistently, while a service keeps writing it
    /// (SQLite's online backup API in one step: one read transaction, which in WAL mode holds
    /// nobody up). The copy is written beside `to` under a temporary name, checked with
    /// `PRAGMA quick_check`, synced, and only then renamed to `to`: a failed backup leaves no
    /// half file under that name. `to` must not exist yet.
    ///
    /// To restore: stop the service, replace its file with the copy, and remove the `-wal` and
    /// `-shm` files beside it (a log left there belongs to the file replaced, not to the copy).
    pub fn backup_to(&self, to: impl AsRef<Path>) -> Result<BackupReport, Error> {
        let to = to.as_ref();
        if to.exists() {
            return Err(Error::Store(format!(
                "{} exists already: give the backup a new name",
                to.display()
            )));
        }
        let mut temporary = to.as_os_str().to_owned();
        temporary.push(format!(".partial-{}", std::process::id()));
        let temporary = PathBuf::from(temporary);
        let result = self.copy_to(&temporary);
        match result {
            Ok(pages) => {
                std::fs::rename(&temporary, to).map_err(|err| {
                    let _ = std::fs::remove_file(&temporary);
                    Error::Store(format!("cannot name the backup {}: {err}", to.display()))
                })?;
                sync_parent(to);
                let bytes = std::fs::metadata(to).map(|meta| meta.len()).unwrap_or(0);
                Ok(BackupReport {
                    path: to.to_path_buf(),
                    pages,
                    bytes,
                })
            }
            Err(err) => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut path = temporary.as_os_str().to_owned();
                    path.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(path));
                }
                Err(err)
            }
        }
    }

    /// The backup itself, into `temporary`; returns the pages copied.
    fn copy_to(&self, temporary: &Path) -> Result<u64, Error> {
        let failed = |what: &str, err: rusqlite::Error| {
            Error::Store(format!("backup to {}: {what}: {err}", temporary.display()))
        };
        let mut copy = Connection::open_with_flags(
            temporary,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|err| failed("cannot create the copy", err))?;
        let pages = self.with_connection(|source| {
            let backup =
                Backup::new(source, &mut copy).map_err(|err| failed("cannot start", err))?;
            let mut busy = 0;
            loop {
                match backup.step(-1).map_err(|err| failed("cannot copy", err))? {
                    StepResult::Done => break,
                    StepResult::More => {}
                    StepResult::Busy | StepResult::Locked if busy < BUSY_TRIES => {
                        busy += 1;
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    _ => {
                        return Err(Error::Store(format!(
                            "backup to {}: the inbox stayed locked for {} s",
                            temporary.display(),
                            BUSY_TRIES / 10
                        )));
                    }
                }
            }
            Ok(u64::try_from(backup.progress().pagecount).unwrap_or(0))
        })?;
        // The copy is one self-contained file: its log folded in, then checked.
        copy.pragma_update(None, "journal_mode", "DELETE")
            .map_err(|err| failed("cannot fold the log in", err))?;
        let check: String = copy
            .query_row("PRAGMA quick_check", [], |row| row.get(0))
            .map_err(|err| failed("cannot check the copy", err))?;
        if check != "ok" {
            return Err(Error::Store(format!(
                "backup to {}: the copy fails its check ({}): the inbox itself may be damaged; \
                 run `PRAGMA integrity_check` on it",
                temporary.display(),
                check.escape_debug()
            )));
        }
        drop(copy);
        std::fs::File::open(temporary)
            .and_then(|file| file.sync_all())
            .map_err(|err| Error::Store(format!("cannot sync {}: {err}", temporary.display())))?;
        Ok(pages)
    }
}

/// Syncs the directory holding `path`, so that the rename survives a crash (best effort).
fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent() {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(dir) = std::fs::File::open(parent) {
            let _ = dir.sync_all();
        }
    }
}
