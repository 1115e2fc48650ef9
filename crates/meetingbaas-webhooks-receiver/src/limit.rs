//! Limiting, per client, the deliveries that fail verification, without ever throttling
//! verified ones (the adapters' feature `rate-limit`): the state and the rule every adapter's failure limiter
//! uses (tower's `FailureLimitLayer`, actix's `FailureLimit`); the adapters only tell clients
//! apart and answer.
//!
//! Why failures only: Meeting BaaS sends every delivery from a few addresses, so a plain per-IP
//! limit would answer a burst of real deliveries (a busy hour, the retries after an outage) 429,
//! and each 429 costs the sender one of its attempts. What a client without the secret can send
//! always fails, though: 401 (bad credentials), 408 (too slow) or 413 (too large), decided before
//! it has proven anything ([`is_counted_failure`]). So only those are counted, per client, against
//! a [`Quota`] (a generic cell rate algorithm: `burst` failures at once, then one more every
//! replenish interval). A client that has spent its quota is [blocked](FailureLimiter::blocked_for)
//! until the quota allows one more failure; an adapter answers it 429 with `Retry-After` before
//! reading its body. A client whose deliveries verify never spends anything.
//!
//! Memory is bounded whatever the number of client addresses (IPv6 gives an attacker many): at
//! most [`DEFAULT_MAX_CLIENTS`] (or [`FailureLimiter::with_max_clients`]) clients are remembered;
//! a client whose quota has fully refilled is forgotten first (it is then no different from a
//! new one), and when every remembered client still has failures counted a new client is not
//! remembered (so not limited) until some refill. The pipeline's in-flight cap and memory budget
//! bound what such a flood costs.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::num::NonZeroU32;
//! use meetingbaas_webhooks::VerifyError;
//! use meetingbaas_webhooks_receiver::limit::{FailureLimiter, Quota};
//! use meetingbaas_webhooks_receiver::Outcome;
//!
//! // 3 failures per client, then one more per minute.
//! let quota = Quota::per_minute(NonZeroU32::new(1).unwrap()).allow_burst(NonZeroU32::new(3).unwrap());
//! let limiter = FailureLimiter::new(quota);
//! let attacker = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
//! let forged = Outcome::Rejected(VerifyError::MissingCredentials.into());
//! for _ in 0..4 {
//!     assert!(limiter.blocked_for(&attacker).is_none());
//!     limiter.record(attacker, &forged);
//! }
//! // The failure past the quota blocks the client for about a minute.
//! assert!(limiter.blocked_for(&attacker).is_some());
//! // Verified deliveries never count.
//! let sender = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
//! for _ in 0..100 {
//!     limiter.record(sender, &Outcome::Handled { status: 200 });
//! }
//! assert!(limiter.blocked_for(&sender).is_none());
//! ```

use std::collections::HashMap;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::Outcome;

/// The body of the 429 answer to a blocked client, the same in every adapter.
pub const TOO_MANY_FAILURES_ANSWER: &str = r#"{"error":"too_many_failures","message":"too many failed deliveries from this client; retry later"}"#;

/// Clients remembered at most by [`FailureLimiter::new`].
pub const DEFAULT_MAX_CLIENTS: usize = 100_000;

/// The longest replenish interval: keeps every instant the limiter computes representable.
const MAX_INTERVAL: Duration = Duration::from_secs(365 * 24 * 3600);

/// How often, at most, a full table is swept for clients whose quota has refilled (a sweep reads
/// every entry: never once per request).
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Whether an outcome is a failure a client without the secret can cause: bad credentials
/// (401), a body too slow (408) or too large (413). Answers after verification (400, 422),
/// duplicates and the receiver's own state (409, 503) are never counted.
///
/// ```
/// use meetingbaas_webhooks::VerifyError;
/// use meetingbaas_webhooks_receiver::limit::is_counted_failure;
/// use meetingbaas_webhooks_receiver::Outcome;
///
/// assert!(is_counted_failure(&Outcome::Rejected(VerifyError::MissingCredentials.into())));
/// assert!(!is_counted_failure(&Outcome::Handled { status: 500 }));
/// assert!(!is_counted_failure(&Outcome::Duplicate));
/// ```
pub fn is_counted_failure(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Rejected(_)) && matches!(outcome.status(), 401 | 408 | 413)
}

/// The `Retry-After` of a 429 for a client blocked for `wait`: whole seconds, rounded up, at
/// least 1.
///
/// ```
/// use std::time::Duration;
/// use meetingbaas_webhooks_receiver::limit::retry_after_seconds;
///
/// assert_eq!(retry_after_seconds(Duration::from_millis(1500)), 2);
/// assert_eq!(retry_after_seconds(Duration::ZERO), 1);
/// ```
pub fn retry_after_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// How many failures a client may cause: `burst` at once, then one more every replenish
/// interval (the constructors are named like `governor`'s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    interval: Duration,
    burst: NonZeroU32,
}

impl Quota {
    /// `n` failures per second, all at once if they come so.
    pub fn per_second(n: NonZeroU32) -> Quota {
        Quota::over(Duration::from_secs(1), n)
    }

    /// `n` failures per minute, all at once if they come so.
    pub fn per_minute(n: NonZeroU32) -> Quota {
        Quota::over(Duration::from_secs(60), n)
    }

    /// `n` failures per hour, all at once if they come so.
    pub fn per_hour(n: NonZeroU32) -> Quota {
        Quota::over(Duration::from_secs(3600), n)
    }

    /// One failure per `period` (no burst; a period past a year counts as a year); `None` for
    /// a zero period.
    pub fn with_period(period: Duration) -> Option<Quota> {
        (!period.is_zero()).then_some(Quota {
            interval: period.min(MAX_INTERVAL),
            burst: NonZeroU32::MIN,
        })
    }

    /// The same replenish interval, with `burst` failures allowed at once.
    pub fn allow_burst(self, burst: NonZeroU32) -> Quota {
        Quota { burst, ..self }
    }

    /// How long it takes for one more failure to be allowed.
    pub fn replenish_interval(&self) -> Duration {
        self.interval
    }

    /// How many failures are allowed at once.
    pub fn burst_size(&self) -> NonZeroU32 {
        self.burst
    }

    fn over(period: Duration, n: NonZeroU32) -> Quota {
        Quota {
            interval: period / n.get(),
            burst: n,
        }
    }

    /// How far ahead of now a client's theoretical arrival time may be for one more failure to
    /// conform: `burst - 1` intervals.
    fn tolerance(&self) -> Duration {
        self.interval
            .checked_mul(self.burst.get() - 1)
            .unwrap_or(Duration::MAX)
    }
}

/// Per-client failure counts under a [`Quota`], in bounded memory (see the [module docs](self)).
/// Shared by all requests (put it in an `Arc`); every method takes `&self`.
pub struct FailureLimiter<K> {
    quota: Quota,
    tolerance: Duration,
    max_clients: usize,
    clients: Mutex<Clients<K>>,
}

struct Clients<K> {
    by_key: HashMap<K, Client>,
    next_sweep: Option<Instant>,
}

/// One client: when its quota is fully refilled (the generic cell rate algorithm's theoretical
/// arrival time), and whether a failure of it was refused since it last conformed.
#[derive(Clone, Copy)]
struct Client {
    refilled_at: Instant,
    blocked: bool,
}

impl<K: Hash + Eq> FailureLimiter<K> {
    /// A limiter remembering at most [`DEFAULT_MAX_CLIENTS`] clients.
    pub fn new(quota: Quota) -> Self {
        FailureLimiter::with_max_clients(quota, DEFAULT_MAX_CLIENTS)
    }

    /// A limiter remembering at most `max_clients` clients (what it costs: about 64 bytes each,
    /// with an IP address as the key).
    pub fn with_max_clients(quota: Quota, max_clients: usize) -> Self {
        FailureLimiter {
            quota,
            tolerance: quota.tolerance(),
            max_clients,
            clients: Mutex::new(Clients {
                by_key: HashMap::new(),
                next_sweep: None,
            }),
        }
    }

    /// The quota in force.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// How long `key` is still blocked, if it is: its requests are then answered 429 with
    /// [`retry_after_seconds`] of this, unread.
    pub fn blocked_for(&self, key: &K) -> Option<Duration> {
        self.blocked_at(key, Instant::now())
    }

    /// Counts `outcome` for `key` if it is a failure ([`is_counted_failure`]); `true` when it was
    /// one.
    pub fn record(&self, key: K, outcome: &Outcome) -> bool {
        let counted = is_counted_failure(outcome);
        if counted {
            self.count_failure(key);
        }
        counted
    }

    /// Counts one failure of `key`: spends one of its quota, or, when none is left, blocks it
    /// until one is.
    pub fn count_failure(&self, key: K) {
        self.count_failure_at(key, Instant::now());
    }

    /// Clients remembered now (at most the maximum).
    pub fn clients(&self) -> usize {
        self.lock().by_key.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Clients<K>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn blocked_at(&self, key: &K, now: Instant) -> Option<Duration> {
        let client = *self.lock().by_key.get(key)?;
        if !client.blocked {
            return None;
        }
        client
            .refilled_at
            .saturating_duration_since(now)
            .checked_sub(self.tolerance)
            .filter(|wait| !wait.is_zero())
    }

    fn count_failure_at(&self, key: K, now: Instant) {
        let mut clients = self.lock();
        if !clients.by_key.contains_key(&key) && clients.by_key.len() >= self.max_clients {
            if clients.next_sweep.is_some_and(|at| now < at) {
                // Full, and swept a moment ago: not remembered.
                return;
            }
            clients.by_key.retain(|_, client| client.refilled_at > now);
            clients.next_sweep = now.checked_add(SWEEP_INTERVAL);
            if clients.by_key.len() >= self.max_clients {
                return;
            }
        }
        let client = clients.by_key.entry(key).or_insert(Client {
            refilled_at: now,
            blocked: false,
        });
        let from = client.refilled_at.max(now);
        if from.saturating_duration_since(now) > self.tolerance {
            // Past the quota: not counted (the quota does not shrink further), but blocked.
            client.blocked = true;
            return;
        }
        client.blocked = false;
        client.refilled_at = from.checked_add(self.quota.interval).unwrap_or(from);
    }
}

impl<K> std::fmt::Debug for FailureLimiter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailureLimiter")
            .field("quota", &self.quota)
            .field("max_clients", &self.max_clients)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(per_minute: u32, burst: u32) -> Quota {
        Quota::per_minute(NonZeroU32::new(per_minute).unwrap())
            .allow_burst(NonZeroU32::new(burst).unwrap())
    }

    #[test]
    fn the_burst_is_allowed_and_the_failure_past_it_blocks_until_one_more_is() {
        let limiter = FailureLimiter::new(quota(1, 3));
        let now = Instant::now();
        for _ in 0..3 {
            limiter.count_failure_at("a", now);
            assert_eq!(limiter.blocked_at(&"a", now), None);
        }
        limiter.count_failure_at("a", now);
        assert_eq!(limiter.blocked_at(&"a", now), Some(Duration::from_secs(60)));
        let later = now + Duration::from_secs(59);
        assert_eq!(
            limiter.blocked_at(&"a", later),
            Some(Duration::from_secs(1))
        );
        let refilled_one = now + Duration::from_secs(60);
        assert_eq!(limiter.blocked_at(&"a", refilled_one), None);
        // One more failure is allowed then, and the next blocks again.
        limiter.count_failure_at("a", refilled_one);
        assert_eq!(limiter.blocked_at(&"a", refilled_one), None);
        limiter.count_failure_at("a", refilled_one);
        assert!(limiter.blocked_at(&"a", refilled_one).is_some());
        assert_eq!(limiter.blocked_at(&"b", now), None, "clients are apart");
    }

    #[test]
    fn only_failures_a_client_without_the_secret_can_cause_are_counted() {
        use crate::{Error, Unavailable};
        use meetingbaas_webhooks::VerifyError;
        let limiter = FailureLimiter::new(quota(1, 1));
        for outcome in [
            Outcome::Handled { status: 200 },
            Outcome::Handled { status: 500 },
            Outcome::Duplicate,
            Outcome::Ignored,
            Outcome::Queued,
            Outcome::Rejected(Error::from(Unavailable::MemoryBudget)),
        ] {
            for _ in 0..5 {
                assert!(!limiter.record("sender", &outcome));
            }
        }
        assert_eq!(limiter.clients(), 0);
        assert!(limiter.record(
            "x",
            &Outcome::Rejected(VerifyError::MissingCredentials.into())
        ));
        assert!(limiter.record(
            "x",
            &Outcome::Rejected(VerifyError::BodyTimeout { seconds: 1 }.into())
        ));
        assert!(limiter.blocked_for(&"x").is_some());
    }

    #[test]
    fn memory_is_bounded_whatever_the_number_of_clients() {
        let limiter = FailureLimiter::with_max_clients(quota(1, 2), 100);
        let now = Instant::now();
        for client in 0..10_000u32 {
            limiter.count_failure_at(client, now);
        }
        assert_eq!(limiter.clients(), 100);
        // Once their quotas refill, old clients make room for new ones.
        let later = now + Duration::from_secs(61);
        limiter.count_failure_at(20_000, later);
        assert_eq!(limiter.clients(), 1);
        assert!(limiter.lock().by_key.contains_key(&20_000));
    }

    #[test]
    fn extreme_quotas_never_overflow() {
        let limiter = FailureLimiter::new(
            Quota::with_period(Duration::MAX)
                .unwrap()
                .allow_burst(NonZeroU32::MAX),
        );
        let now = Instant::now();
        for _ in 0..3 {
            limiter.count_failure_at(1u8, now);
        }
        assert_eq!(limiter.blocked_at(&1, now), None);
        assert!(Quota::with_period(Duration::ZERO).is_none());
        let tight = FailureLimiter::new(Quota::with_period(Duration::MAX).unwrap());
        tight.count_failure_at(1u8, now);
        tight.count_failure_at(1u8, now);
        assert!(tight.blocked_at(&1, now).is_some());
    }
}
