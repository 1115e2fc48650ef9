//! Whether the inbox file can be trusted and worked from: a full integrity check
//! (`PRAGMA quick_check`) run in the background after start, so that start stays fast on a
//! large file, and whether the last claim failed. [`AdminStore::ready`](crate::AdminStore::ready)
//! fails for good once the check (or any operation) found damage, and while claims fail; not
//! while the check runs (minutes on a file of ten million deliveries, which would keep a
//! restarted service out of rotation all that time: intake and the worker use the file
//! meanwhile in any case).

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, OpenFlags};

use crate::error::Error;

/// The most lines of a failed check kept (and logged).
const MAX_FINDINGS: usize = 5;

/// The state of one inbox file.
pub(super) struct Health {
    integrity: Mutex<Integrity>,
    claims_failing: AtomicBool,
}

enum Integrity {
    Checking,
    Passed,
    Damaged(String),
}

impl fmt::Debug for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let integrity = match &*self
            .integrity
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
        {
            Integrity::Checking => "checking",
            Integrity::Passed => "passed",
            Integrity::Damaged(_) => "damaged",
        };
        f.debug_struct("Health")
            .field("integrity", &integrity)
            .field(
                "claims_failing",
                &self.claims_failing.load(Ordering::Relaxed),
            )
            .finish()
    }
}

impl Health {
    /// A file not checked yet.
    pub(super) fn new() -> Arc<Health> {
        Arc::new(Health {
            integrity: Mutex::new(Integrity::Checking),
            claims_failing: AtomicBool::new(false),
        })
    }

    /// Starts the integrity check of `path` on a thread of its own (a read-only connection:
    /// in WAL mode it holds no writer up).
    pub(super) fn spawn_check(self: &Arc<Self>, path: &Path) {
        let checked = Arc::clone(self);
        let path = path.to_path_buf();
        let spawned = std::thread::Builder::new()
            .name("inbox-sqlite-check".into())
            .spawn(move || checked.check(&path));
        if let Err(err) = spawned {
            self.set(Integrity::Damaged(format!(
                "cannot start the integrity check: {err}"
            )));
        }
    }

    /// Whether the check has passed: only then is the log copied into the file.
    pub(super) fn passed(&self) -> bool {
        matches!(
            *self
                .integrity
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            Integrity::Passed
        )
    }

    fn check(&self, path: &Path) {
        let started = std::time::Instant::now();
        let outcome = match quick_check(path) {
            // A page so damaged that the check itself stops is a finding, not a failure to run.
            Err(err) if err.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
                Ok(vec![err.to_string()])
            }
            outcome => outcome,
        };
        match outcome {
            Ok(findings) if findings.is_empty() => {
                tracing::info!(
                    target: "meetingbaas_webhooks_inbox",
                    path = %path.display(),
                    took_ms = started.elapsed().as_millis() as u64,
                    "integrity check passed"
                );
                self.set(Integrity::Passed);
            }
            Ok(findings) => {
                let findings = findings.join("; ");
                tracing::error!(
                    target: "meetingbaas_webhooks_inbox",
                    path = %path.display(),
                    findings = %findings.escape_debug(),
                    "the inbox file is damaged (PRAGMA quick_check): deliveries on damaged pages \
                     are dead-lettered as unreadable_row; stop the service, restore a backup or \
                     recover the file (`sqlite3 FILE .recover`)"
                );
                self.set(Integrity::Damaged(findings));
            }
            Err(err) => {
                tracing::error!(
                    target: "meetingbaas_webhooks_inbox",
                    path = %path.display(),
                    error = %err,
                    "the integrity check of the inbox file could not run"
                );
                self.set(Integrity::Damaged(format!(
                    "the check could not run: {err}"
                )));
            }
        }
    }

    fn set(&self, integrity: Integrity) {
        #[cfg(feature = "metrics")]
        match &integrity {
            Integrity::Damaged(_) => crate::metrics::store_damaged(true),
            Integrity::Passed => crate::metrics::store_damaged(false),
            Integrity::Checking => {}
        }
        *self
            .integrity
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = integrity;
    }

    /// Records whether the last claim failed.
    pub(super) fn claimed(&self, ok: bool) {
        self.claims_failing.store(!ok, Ordering::Relaxed);
    }

    /// Takes note of an operation's error: SQLite finding the file malformed marks it damaged
    /// for good (an error line, the gauge, no more checkpoints), whatever the check said.
    pub(super) fn observe<T>(&self, path: &Path, result: &Result<T, Error>) {
        let Err(Error::Damaged(found)) = result else {
            return;
        };
        let mut integrity = self
            .integrity
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if matches!(*integrity, Integrity::Damaged(_)) {
            return;
        }
        tracing::error!(
            target: "meetingbaas_webhooks_inbox",
            path = %path.display(),
            error = %found.escape_debug(),
            "the inbox file is damaged (an operation found it malformed): stop the service, \
             restore a backup or recover the file (`sqlite3 FILE .recover`)"
        );
        #[cfg(feature = "metrics")]
        crate::metrics::store_damaged(true);
        *integrity = Integrity::Damaged(found.clone());
    }

    /// `Err` when the file is known damaged **and** the worker cannot claim from it: the queue
    /// cannot move, so a new delivery is refused (503: its sender retries later) rather than
    /// stored where nothing will handle it. A damaged file whose claims still succeed (a page
    /// of bodies lost: those are dead-lettered) keeps taking deliveries.
    pub(super) fn accepting(&self, path: &Path) -> Result<(), Error> {
        let damaged = matches!(
            *self
                .integrity
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            Integrity::Damaged(_)
        );
        if damaged && self.claims_failing.load(Ordering::Relaxed) {
            return Err(Error::Store(format!(
                "{} is damaged and its queue cannot move: new deliveries are refused until it \
                 is repaired or restored",
                path.display()
            )));
        }
        Ok(())
    }

    /// `Ok` unless damage was found or claims fail (the check may still be running).
    pub(super) fn ready(&self, path: &Path) -> Result<(), Error> {
        match &*self
            .integrity
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
        {
            Integrity::Checking | Integrity::Passed => {}
            Integrity::Damaged(findings) => {
                return Err(Error::Store(format!(
                    "{} is damaged: {}",
                    path.display(),
                    findings.escape_debug()
                )));
            }
        }
        if self.claims_failing.load(Ordering::Relaxed) {
            return Err(Error::Store(format!(
                "the worker cannot claim from {}",
                path.display()
            )));
        }
        Ok(())
    }
}

/// `PRAGMA quick_check` on a read-only connection: the lines it found (none: healthy).
fn quick_check(path: &Path) -> Result<Vec<String>, rusqlite::Error> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )?;
    connection.busy_timeout(std::time::Duration::from_secs(30))?;
    let mut statement = connection.prepare(&format!("PRAGMA quick_check({MAX_FINDINGS})"))?;
    let lines = statement.query_map([], |row| row.get::<_, String>(0))?;
    let mut findings = Vec::new();
    for line in lines {
        let line = line?;
        if line != "ok" {
            findings.push(line);
        }
    }
    Ok(findings)
}
