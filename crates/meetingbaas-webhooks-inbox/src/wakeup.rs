//! [`Wakeup`]: what an idle worker waits on, for stores that know when work arrives (the writer
//! of one process: SQLite, memory).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use crate::record::now_ms;

/// Wakes idle workers: a generation counter bumped whenever work is stored, and the earliest
/// time something stored falls due (a retry, an expiring lease), as the last claim saw it.
#[derive(Debug)]
pub(crate) struct Wakeup {
    notify: Notify,
    generation: AtomicU64,
    /// The generation the last claim started at.
    claimed_at: AtomicU64,
    /// Unix ms when the next delivery falls due; `i64::MAX` for none.
    next_due_ms: AtomicI64,
}

impl Default for Wakeup {
    fn default() -> Self {
        Wakeup {
            notify: Notify::new(),
            generation: AtomicU64::new(0),
            claimed_at: AtomicU64::new(0),
            next_due_ms: AtomicI64::new(i64::MAX),
        }
    }
}

impl Wakeup {
    /// Work was stored (a delivery, a redrive): wakes every waiting worker.
    pub(crate) fn stored(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.notify.notify_waiters();
    }

    /// A claim starts: work stored from now on wakes the next wait.
    pub(crate) fn claiming(&self) {
        let generation = self.generation.load(Ordering::Acquire);
        self.claimed_at.store(generation, Ordering::Release);
    }

    /// A claim ended, and saw the next delivery fall due at `next_due_ms` (Unix ms).
    pub(crate) fn claimed(&self, next_due_ms: Option<i64>) {
        self.next_due_ms
            .store(next_due_ms.unwrap_or(i64::MAX), Ordering::Release);
    }

    /// Something falls due at `at_ms` (a retry recorded by this process).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn due_at(&self, at_ms: i64) {
        self.next_due_ms.fetch_min(at_ms, Ordering::AcqRel);
    }

    /// Resolves when work was stored since the last claim started, when the next delivery falls
    /// due, or after `timeout`. Cancel-safe: it holds nothing.
    pub(crate) async fn wait(&self, timeout: Duration) {
        // Listening before looking, so that work stored meanwhile is not missed.
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.generation.load(Ordering::Acquire) != self.claimed_at.load(Ordering::Acquire) {
            return;
        }
        let due_in = self
            .next_due_ms
            .load(Ordering::Acquire)
            .saturating_sub(now_ms());
        let due_in = Duration::from_millis(u64::try_from(due_in.max(0)).unwrap_or(u64::MAX));
        tokio::select! {
            () = notified => {}
            () = tokio::time::sleep(timeout.min(due_in)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_stored_after_a_claim_ends_the_next_wait_at_once() {
        let wakeup = Wakeup::default();
        wakeup.claiming();
        wakeup.claimed(None);
        wakeup.stored();
        // A long timeout: only the stored work can end it in time for the test.
        tokio::time::timeout(
            Duration::from_secs(5),
            wakeup.wait(Duration::from_secs(3600)),
        )
        .await
        .expect("woken by the work stored after the claim");
        wakeup.claiming();
        let waited = tokio::time::timeout(
            Duration::from_millis(50),
            wakeup.wait(Duration::from_secs(3600)),
        )
        .await;
        assert!(waited.is_err(), "nothing new: the wait goes on");
    }

    #[tokio::test]
    async fn a_wait_ends_when_the_next_delivery_falls_due() {
        let wakeup = Wakeup::default();
        wakeup.claiming();
        wakeup.claimed(Some(now_ms() + 20));
        tokio::time::timeout(
            Duration::from_secs(5),
            wakeup.wait(Duration::from_secs(3600)),
        )
        .await
        .expect("woken when the delivery falls due");
    }
}
