//! How often, and how long apart, a request is tried again after 429 or 5xx.

use std::time::Duration;

/// The bounded retry of a request answered with 429 (rate limited) or a 5xx status.
///
/// Between tries the client waits the server's `retryAfter` (body) or `Retry-After` (header,
/// seconds or a date) when it gives one. Else it backs off: `base_delay` doubled for each retry,
/// never longer than `max_delay`, and then a random part of that taken off (up to half), so that
/// clients turned away at the same moment do not all come back at the same moment.
/// When the server asks for a longer wait than `max_delay`, the client stops and returns the
/// error (with the requested wait) rather than sleeping through it.
///
/// Network errors and timeouts are not retried: the request may have reached Meeting BaaS, and
/// a resend is not idempotent.
///
/// ```
/// use std::time::Duration;
/// use meetingbaas_webhooks_api::RetryPolicy;
///
/// let policy = RetryPolicy::new(2, Duration::from_millis(200), Duration::from_secs(10));
/// assert_eq!(policy.max_retries(), 2);
/// assert_eq!(RetryPolicy::none().max_retries(), 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl RetryPolicy {
    /// At most `max_retries` retries (so `max_retries + 1` tries), the first after `base_delay`,
    /// no wait longer than `max_delay`.
    pub fn new(max_retries: u32, base_delay: Duration, max_delay: Duration) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base_delay,
            max_delay: max_delay.max(base_delay),
        }
    }

    /// One try only.
    pub fn none() -> RetryPolicy {
        RetryPolicy::new(0, Duration::ZERO, Duration::ZERO)
    }

    /// The most retries after the first try.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The first wait when the server does not say how long to wait.
    pub fn base_delay(&self) -> Duration {
        self.base_delay
    }

    /// The longest wait between two tries.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The wait before retry number `retry` (0 for the first), or `None` to stop: no retries
    /// left, or the server asked for more than `max_delay`.
    pub(crate) fn delay(&self, retry: u32, asked: Option<Duration>) -> Option<Duration> {
        self.delay_with(retry, asked, random_unit())
    }

    /// [`delay`](Self::delay) with the random number in `[0, 1)` given.
    fn delay_with(&self, retry: u32, asked: Option<Duration>, random: f64) -> Option<Duration> {
        if retry >= self.max_retries {
            return None;
        }
        match asked {
            Some(asked) if asked > self.max_delay => None,
            Some(asked) => Some(asked),
            None => {
                let backoff = self
                    .base_delay
                    .saturating_mul(2u32.saturating_pow(retry))
                    .min(self.max_delay);
                // Half the backoff always, the other half scaled by `random`.
                Some(backoff.mul_f64(0.5 + 0.5 * random.clamp(0.0, 1.0)))
            }
        }
    }
}

/// A number in `[0, 1)`, from the standard library's randomly keyed hasher (each
/// `RandomState` has keys of its own).
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

impl Default for RetryPolicy {
    /// 3 retries, 500 ms doubling (less up to half, at random), at most 30 s apart.
    fn default() -> RetryPolicy {
        RetryPolicy::new(3, Duration::from_millis(500), Duration::from_secs(30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_stops() {
        let policy = RetryPolicy::new(4, Duration::from_secs(1), Duration::from_secs(5));
        // The longest waits (random 1.0), then the shortest (0.0: half of them).
        for (random, expected) in [
            (1.0, [1000, 2000, 4000, 5000]),
            (0.0, [500, 1000, 2000, 2500]),
        ] {
            let waits: Vec<_> = (0..5)
                .map(|retry| policy.delay_with(retry, None, random))
                .collect();
            assert_eq!(
                waits,
                expected
                    .map(|ms| Some(Duration::from_millis(ms)))
                    .into_iter()
                    .chain([None])
                    .collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn backoff_is_spread_between_half_and_all_of_it() {
        let policy = RetryPolicy::new(2, Duration::from_secs(1), Duration::from_secs(5));
        let waits: Vec<Duration> = (0..200).map(|_| policy.delay(1, None).unwrap()).collect();
        assert!(
            waits
                .iter()
                .all(|wait| (Duration::from_secs(1)..=Duration::from_secs(2)).contains(wait))
        );
        // Spread out, not one value: at least some waits in each half of the range.
        let early = waits
            .iter()
            .filter(|wait| **wait < Duration::from_millis(1500))
            .count();
        assert!(
            early > 0 && early < waits.len(),
            "{early} of {} early",
            waits.len()
        );
    }

    #[test]
    fn the_servers_wait_is_honoured_unless_over_the_cap() {
        let policy = RetryPolicy::new(3, Duration::from_secs(1), Duration::from_secs(5));
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(policy.delay(0, Some(Duration::from_secs(60))), None);
    }
}
