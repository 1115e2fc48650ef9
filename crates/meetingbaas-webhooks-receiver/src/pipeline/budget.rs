//! The in-flight memory budget: bytes of request bodies held at once, across all requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The default in-flight memory budget: 128 MiB, room for 16 bodies at the default 8 MiB limit
/// (64 of 2 MiB; real deliveries are mostly a few KiB). Chosen so that a whole receiving process
/// stays under 256 MiB resident while 200 connections stall uploads of the largest allowed body:
/// the budget, plus the runtime and each connection's buffers (BENCHMARKS.md, "Peak memory under
/// 200 stalled 8 MiB uploads"). Raise it with [`MemoryBudget::new`] on a machine with room.
pub const DEFAULT_MEMORY_BUDGET: usize = 128 * 1024 * 1024;

/// Bytes of request bodies the receiver holds at once, over all requests, and the most it may.
/// A body that would pass it is refused with 503 and `Retry-After` (its sender retries later);
/// so is a declared `Content-Length` that would, before anything is read.
///
/// Shared by clones: give the same budget to every endpoint of a process.
#[derive(Clone, Debug)]
pub struct MemoryBudget {
    inner: Arc<Counter>,
}

#[derive(Debug)]
struct Counter {
    limit: usize,
    used: AtomicUsize,
}

impl MemoryBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> Self {
        MemoryBudget {
            inner: Arc::new(Counter {
                limit: bytes,
                used: AtomicUsize::new(0),
            }),
        }
    }

    /// Takes one unit of this budget (used as the in-flight request limit) for `reservation`;
    /// `false` when none is left.
    pub(crate) fn take_slot(&self, reservation: &mut Reservation) -> bool {
        let counter = &self.inner;
        let taken = counter
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(1).filter(|after| *after <= counter.limit)
            })
            .is_ok();
        if taken {
            reservation.slot = Some(Arc::clone(counter));
        }
        taken
    }

    /// The most that may be held.
    pub fn limit(&self) -> usize {
        self.inner.limit
    }

    /// What is held now.
    pub fn in_use(&self) -> usize {
        self.inner.used.load(Ordering::Relaxed)
    }

    /// An empty reservation against this budget.
    pub(crate) fn reservation(&self) -> Reservation {
        Reservation {
            budget: Some(Arc::clone(&self.inner)),
            bytes: 0,
            slot: None,
        }
    }
}

impl Default for MemoryBudget {
    fn default() -> Self {
        MemoryBudget::new(DEFAULT_MEMORY_BUDGET)
    }
}

/// Bytes held for one request, given back when dropped.
#[derive(Debug, Default)]
pub(crate) struct Reservation {
    budget: Option<Arc<Counter>>,
    bytes: usize,
    // One unit of the in-flight request limit, when there is one.
    slot: Option<Arc<Counter>>,
}

impl Reservation {
    /// Makes the reservation at least `total` bytes; `false` (and nothing changed) when the budget
    /// cannot give that much.
    pub(crate) fn ensure(&mut self, total: usize) -> bool {
        let Some(budget) = &self.budget else {
            return true;
        };
        let Some(more) = total.checked_sub(self.bytes).filter(|more| *more > 0) else {
            return true;
        };
        let granted = budget
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(more)
                    .filter(|after| *after <= budget.limit)
            })
            .is_ok();
        if granted {
            self.bytes = total;
        }
        granted
    }
}

impl Reservation {
    /// Gives back what is held past `total` bytes (a transient charge, once over).
    pub(crate) fn shrink_to(&mut self, total: usize) {
        if total < self.bytes {
            if let Some(budget) = &self.budget {
                budget.used.fetch_sub(self.bytes - total, Ordering::AcqRel);
            }
            self.bytes = total;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(budget) = &self.budget {
            budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
        }
        if let Some(slot) = &self.slot {
            slot.used.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_bounded_and_given_back() {
        let budget = MemoryBudget::new(100);
        let mut a = budget.reservation();
        let mut b = budget.reservation();
        assert!(a.ensure(60));
        assert!(a.ensure(40), "shrinking asks for nothing");
        assert!(!b.ensure(41));
        assert!(b.ensure(40));
        assert_eq!(budget.in_use(), 100);
        drop(a);
        assert_eq!(budget.in_use(), 40);
        assert!(!b.ensure(usize::MAX));
        b.shrink_to(10);
        assert_eq!(budget.in_use(), 10);
        b.shrink_to(20);
        assert_eq!(budget.in_use(), 10, "shrinking never grows");
        drop(b);
        assert_eq!(budget.in_use(), 0);
    }
}
