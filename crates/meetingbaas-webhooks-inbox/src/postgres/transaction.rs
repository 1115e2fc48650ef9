//! Transactional completion: the transaction a handler writes its own rows in, and in which the
//! worker then records the delivery's completion, so that both commit together or not at all.

use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::{PgConnection, Postgres, Transaction};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use super::PostgresBackend;
use crate::error::Error;
use crate::record::{Attempt, Claimed, Verdict};
use crate::store::WorkStore as _;

/// The handler's access to its attempt's transaction
/// ([`Job::transaction`](crate::Job::transaction)): a `&mut PgConnection` inside the
/// transaction, for sqlx queries (`.execute(&mut *tx)`). Drop it before awaiting anything long
/// that does not use it: it holds the job's transaction while it lives.
pub type JobTransaction<'a> = MappedMutexGuard<'a, PgConnection>;

/// One attempt's transaction, begun when the handler first asks for it.
pub(crate) struct Cell {
    store: PostgresBackend,
    transaction: Mutex<Option<Transaction<'static, Postgres>>>,
    /// Set once the attempt is being recorded: a job kept past its attempt can no longer
    /// begin a transaction that nobody would commit.
    closed: AtomicBool,
}

impl std::fmt::Debug for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cell")
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Cell {
    pub(crate) fn new(store: PostgresBackend) -> Cell {
        Cell {
            store,
            transaction: Mutex::new(None),
            closed: AtomicBool::new(false),
        }
    }

    /// The attempt's transaction, begun on the first call.
    pub(crate) async fn get(&self) -> Result<JobTransaction<'_>, Error> {
        let mut guard = self.transaction.lock().await;
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Store(
                "the attempt is over: its transaction was committed or rolled back".into(),
            ));
        }
        if guard.is_none() {
            *guard = Some(self.store.shared.pool.begin().await?);
        }
        MutexGuard::try_map(guard, |transaction| transaction.as_deref_mut())
            .map_err(|_| Error::Store("the attempt's transaction is gone".into()))
    }

    /// Whether the handler began the transaction.
    pub(crate) fn used(&self) -> bool {
        self.transaction
            .try_lock()
            .map_or(true, |transaction| transaction.is_some())
    }

    /// Records the attempt. With the handler's transaction and a completion: in that
    /// transaction, committed with the handler's writes, or rolled back with them when the
    /// lease was lost (the worker that took the delivery over records it). Otherwise the
    /// handler's writes are rolled back and the attempt recorded on its own.
    pub(crate) async fn finish(
        &self,
        claimed: Claimed,
        attempt: Attempt,
        verdict: Verdict,
    ) -> Result<bool, Error> {
        let transaction = {
            let mut guard = self.transaction.lock().await;
            self.closed.store(true, Ordering::Release);
            guard.take()
        };
        let Some(mut transaction) = transaction else {
            return self.store.finish(claimed, attempt, verdict).await;
        };
        if !matches!(verdict, Verdict::Complete | Verdict::Stale) {
            transaction.rollback().await?;
            return self.store.finish(claimed, attempt, verdict).await;
        }
        if self
            .store
            .record(&mut *transaction, &claimed, &attempt, &verdict)
            .await?
        {
            transaction.commit().await?;
            self.store.recorded(&claimed);
            Ok(true)
        } else {
            transaction.rollback().await?;
            Ok(false)
        }
    }
}
