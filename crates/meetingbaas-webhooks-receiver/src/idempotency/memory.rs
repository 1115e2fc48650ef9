//! A bounded in-process store.

use core::time::Duration;
use std::collections::HashMap;
use std::collections::VecDeque;
use std::string::String;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use super::store::{Claim, IdempotencyStore, StoreError, StoreFuture};

/// The default number of keys a [`MemoryStore`] holds.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// Claims and completions in this process's memory, bounded in size and time.
///
/// For a single replica. At capacity, expired entries and then the oldest completed deliveries
/// are forgotten first; running claims are never evicted (when every slot holds a running claim
/// the store answers unavailable, 503, and the sender retries).
#[derive(Debug)]
pub struct MemoryStore {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// Keys in insertion order with the sequence number they were inserted under; an item whose
    /// sequence no longer matches its entry is stale and skipped.
    order: VecDeque<(u64, String)>,
    next_seq: u64,
}

#[derive(Debug)]
struct Entry {
    seq: u64,
    expires: Instant,
    /// The owner's token while claimed; `None` once completed.
    owner: Option<String>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_capacity(DEFAULT_CAPACITY)
    }
}

impl MemoryStore {
    /// A store holding at most `capacity` keys (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryStore {
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
        }
    }

    /// How many keys it holds now.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most keys it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn claim_now(&self, key: &str, token: &str, lease: Duration) -> Result<Claim, StoreError> {
        let now = Instant::now();
        let mut state = self.lock();
        if let Some(entry) = state.entries.get(key) {
            if entry.expires > now {
                return Ok(if entry.owner.is_some() {
                    Claim::InProgress
                } else {
                    Claim::Completed
                });
            }
            state.entries.remove(key);
        }
        state.make_room(self.capacity, now)?;
        let seq = state.next_seq;
        state.next_seq += 1;
        state.order.push_back((seq, String::from(key)));
        let expires = now.checked_add(lease).unwrap_or(now);
        state.entries.insert(
            String::from(key),
            Entry {
                seq,
                expires,
                owner: Some(String::from(token)),
            },
        );
        Ok(Claim::Acquired)
    }

    fn complete_now(&self, key: &str, token: &str, ttl: Duration) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        match state.entries.get_mut(key) {
            Some(entry) if entry.owner.as_deref() == Some(token) => {
                entry.owner = None;
                entry.expires = now.checked_add(ttl).unwrap_or(now);
                true
            }
            _ => false,
        }
    }

    fn release_now(&self, key: &str, token: &str) {
        let mut state = self.lock();
        if state
            .entries
            .get(key)
            .is_some_and(|entry| entry.owner.as_deref() == Some(token))
        {
            state.entries.remove(key);
        }
    }
}

impl State {
    /// Frees one slot when at capacity: stale order items are dropped, expired and completed
    /// entries evicted oldest first, running claims kept.
    fn make_room(&mut self, capacity: usize, now: Instant) -> Result<(), StoreError> {
        if self.order.len() > 2 * capacity + 16 {
            let entries = &self.entries;
            self.order
                .retain(|(seq, key)| entries.get(key).is_some_and(|e| e.seq == *seq));
        }
        let mut kept_running = 0;
        while self.entries.len() >= capacity {
            let Some((seq, key)) = self.order.pop_front() else {
                break;
            };
            let Some(entry) = self.entries.get(&key).filter(|e| e.seq == seq) else {
                continue;
            };
            if entry.owner.is_none() || entry.expires <= now {
                self.entries.remove(&key);
            } else {
                self.order.push_back((seq, key));
                kept_running += 1;
                if kept_running > self.order.len() {
                    return Err(StoreError::new(
                        "the memory store is full of running claims",
                    ));
                }
            }
        }
        Ok(())
    }
}

impl IdempotencyStore for MemoryStore {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        lease: Duration,
    ) -> StoreFuture<'a, Claim> {
        let result = self.claim_now(key, token, lease);
        std::boxed::Box::pin(async move { result })
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        let done = self.complete_now(key, token, ttl);
        std::boxed::Box::pin(async move { Ok(done) })
    }

    fn release<'a>(&'a self, key: &'a str, token: &'a str) -> StoreFuture<'a, ()> {
        self.release_now(key, token);
        std::boxed::Box::pin(async { Ok(()) })
    }

    fn release_detached(&self, key: String, token: String) {
        self.release_now(&key, &token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(60);

    #[test]
    fn stays_within_its_bound_under_100k_distinct_keys() {
        let store = MemoryStore::with_capacity(10_000);
        for i in 0..100_000 {
            let key = format!("key-{i}");
            assert_eq!(store.claim_now(&key, "t", LEASE), Ok(Claim::Acquired));
            assert!(store.complete_now(&key, "t", LEASE));
            assert!(store.len() <= 10_000);
        }
        assert_eq!(store.len(), 10_000);
        assert!(store.lock().order.len() <= 2 * 10_000 + 17);
        // The most recent keys are the ones remembered.
        assert_eq!(
            store.claim_now("key-99999", "u", LEASE),
            Ok(Claim::Completed)
        );
        assert_eq!(store.claim_now("key-0", "u", LEASE), Ok(Claim::Acquired));
    }

    #[test]
    fn running_claims_are_never_evicted() {
        let store = MemoryStore::with_capacity(2);
        assert_eq!(store.claim_now("a", "t", LEASE), Ok(Claim::Acquired));
        assert_eq!(store.claim_now("b", "t", LEASE), Ok(Claim::Acquired));
        assert!(store.claim_now("c", "t", LEASE).is_err());
        assert_eq!(store.claim_now("a", "u", LEASE), Ok(Claim::InProgress));
        store.release_now("b", "t");
        assert_eq!(store.claim_now("c", "t", LEASE), Ok(Claim::Acquired));
    }

    #[test]
    fn only_the_owner_completes_or_releases() {
        let store = MemoryStore::default();
        assert_eq!(store.claim_now("k", "owner", LEASE), Ok(Claim::Acquired));
        assert!(!store.complete_now("k", "intruder", LEASE));
        store.release_now("k", "intruder");
        assert_eq!(store.claim_now("k", "other", LEASE), Ok(Claim::InProgress));
        assert!(store.complete_now("k", "owner", LEASE));
        assert_eq!(store.claim_now("k", "other", LEASE), Ok(Claim::Completed));
    }

    #[test]
    fn many_claim_release_cycles_keep_the_order_queue_bounded() {
        let store = MemoryStore::with_capacity(100);
        for i in 0..10_000 {
            let key = format!("k{i}");
            store.claim_now(&key, "t", LEASE).unwrap();
            store.release_now(&key, "t");
        }
        assert!(store.lock().order.len() <= 2 * 100 + 17);
    }
}
