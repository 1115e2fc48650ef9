//! The in-flight memory budget: bytes of request bodies held at once, across all requests,
//! and the share of it one client may hold with credentials only the body can check.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

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
/// A request whose credentials only its body can check (Svix or `X-MeetingBaas-Signature`
/// headers, which anyone can send) holds at most its client's **share** (a quarter of the budget
/// by default, [`with_client_share`](Self::with_client_share)) together with the other such
/// requests of the same client address: one client stalling large uploads stalls only itself.
/// Requests whose token matched at the headers are authentic and count against the budget only.
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
    /// The most one client may hold with credentials only the body can check.
    share: usize,
    /// What each such client holds now; an entry goes when it falls to 0, so the map holds at
    /// most one entry per request in flight.
    clients: Mutex<HashMap<IpAddr, usize>>,
}

impl MemoryBudget {
    /// A budget of `bytes`, with a client share of a quarter of it.
    pub fn new(bytes: usize) -> Self {
        MemoryBudget {
            inner: Arc::new(Counter {
                limit: bytes,
                used: AtomicUsize::new(0),
                share: bytes / 4,
                clients: Mutex::default(),
            }),
        }
    }

    /// Sets the most one client address may hold at once with credentials only the body can
    /// check (default: a quarter of the budget). Set it on a new budget, before it is shared.
    pub fn with_client_share(self, bytes: usize) -> Self {
        MemoryBudget {
            inner: Arc::new(Counter {
                limit: self.inner.limit,
                used: AtomicUsize::new(0),
                share: bytes,
                clients: Mutex::default(),
            }),
        }
    }

    /// The most one client may hold with credentials only the body can check.
    pub fn client_share(&self) -> usize {
        self.inner.share
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

    /// An empty reservation against this budget; with `client`, also against that client's
    /// share.
    pub(crate) fn reservation(&self, client: Option<IpAddr>) -> Reservation {
        Reservation {
            budget: Some(Arc::clone(&self.inner)),
            bytes: 0,
            slot: None,
            client,
        }
    }
}

impl Counter {
    /// Adds `more` to what `client` holds, unless that passes the share.
    fn charge_client(&self, client: IpAddr, more: usize) -> bool {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let held = clients.get(&client).copied().unwrap_or(0);
        match held.checked_add(more).filter(|after| *after <= self.share) {
            Some(after) => {
                clients.insert(client, after);
                true
            }
            None => false,
        }
    }

    /// Takes `less` off what `client` holds.
    fn release_client(&self, client: IpAddr, less: usize) {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = clients.get_mut(&client) {
            *held = held.saturating_sub(less);
            if *held == 0 {
                clients.remove(&client);
            }
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
    // The client whose share the bytes also count against.
    client: Option<IpAddr>,
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
        if !granted {
            return false;
        }
        if let Some(client) = self.client
            && !budget.charge_client(client, more)
        {
            budget.used.fetch_sub(more, Ordering::AcqRel);
            return false;
        }
        self.bytes = total;
        true
    }
}

impl Reservation {
    /// Gives back what is held past `total` bytes (a transient charge, once over).
    pub(crate) fn shrink_to(&mut self, total: usize) {
        if total < self.bytes {
            if let Some(budget) = &self.budget {
                budget.used.fetch_sub(self.bytes - total, Ordering::AcqRel);
                if let Some(client) = self.client {
                    budget.release_client(client, self.bytes - total);
                }
            }
            self.bytes = total;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(budget) = &self.budget {
            budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
            if let Some(client) = self.client
                && self.bytes > 0
            {
                budget.release_client(client, self.bytes);
            }
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
        let mut a = budget.reservation(None);
        let mut b = budget.reservation(None);
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

    #[test]
    fn one_client_holds_at_most_its_share() {
        let budget = MemoryBudget::new(100);
        assert_eq!(budget.client_share(), 25);
        let stranger: IpAddr = "127.0.0.2".parse().unwrap();
        let sender: IpAddr = "127.0.0.1".parse().unwrap();
        let mut first = budget.reservation(Some(stranger));
        let mut second = budget.reservation(Some(stranger));
        assert!(first.ensure(20));
        assert!(!second.ensure(6), "past the stranger's share");
        assert_eq!(budget.in_use(), 20, "a refused charge is given back");
        assert!(second.ensure(5));
        // Another client, and requests without a client, are not held up by it.
        let mut other = budget.reservation(Some(sender));
        assert!(other.ensure(25));
        let mut authentic = budget.reservation(None);
        assert!(authentic.ensure(50));
        assert!(
            !authentic.ensure(51),
            "the whole budget still bounds everything"
        );
        // Given back on shrink and drop: the map forgets a client holding nothing.
        first.shrink_to(0);
        assert!(second.ensure(25));
        drop(second);
        drop(first);
        drop(other);
        assert!(budget.inner.clients.lock().unwrap().is_empty());
        let custom = MemoryBudget::new(100).with_client_share(60);
        let mut big = custom.reservation(Some(stranger));
        assert!(big.ensure(60));
        assert!(!big.ensure(61));
    }
}
