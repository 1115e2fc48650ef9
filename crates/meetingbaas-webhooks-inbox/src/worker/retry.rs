//! What a handler's failure asks for ([`HandlerError`]) and when to try again ([`RetryPolicy`]).

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Why a handler did not succeed, and what to do about it.
///
/// Any error type converts into a retryable one with `?`; say [`permanent`](Self::permanent) to
/// dead-letter at once (a delivery that can never succeed), or
/// [`retry_after`](Self::retry_after) to choose the next attempt's time (a rate-limited API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerError {
    pub(crate) message: String,
    pub(crate) action: Action,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Retry,
    RetryAfter(Duration),
    Permanent,
}

impl HandlerError {
    /// A failure worth retrying, per the worker's [`RetryPolicy`].
    pub fn retry(message: impl fmt::Display) -> Self {
        HandlerError {
            message: message.to_string(),
            action: Action::Retry,
        }
    }

    /// A failure to retry no sooner than `delay` from now (still within the maximum attempts).
    pub fn retry_after(message: impl fmt::Display, delay: Duration) -> Self {
        HandlerError {
            message: message.to_string(),
            action: Action::RetryAfter(delay),
        }
    }

    /// A failure that no retry can fix: the delivery becomes a dead letter now.
    pub fn permanent(message: impl fmt::Display) -> Self {
        HandlerError {
            message: message.to_string(),
            action: Action::Permanent,
        }
    }

    /// The message recorded with the attempt.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the delivery is dead-lettered at once.
    pub fn is_permanent(&self) -> bool {
        self.action == Action::Permanent
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error> From<E> for HandlerError {
    fn from(err: E) -> Self {
        HandlerError::retry(err)
    }
}

/// When to try again: exponential backoff with jitter, up to a maximum number of attempts.
///
/// The delay before attempt `n + 1` is `initial * 2^(n-1)`, capped at `max_delay`, then scaled by
/// a random factor in `1 ± jitter`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial: Duration,
    max_delay: Duration,
    jitter: f64,
}

impl Default for RetryPolicy {
    /// 8 attempts, 5 s first delay, at most 1 h between attempts, ±20 % jitter (like the
    /// sender's own schedule: the last attempt comes about 10 minutes after the first).
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            initial: Duration::from_secs(5),
            max_delay: Duration::from_secs(60 * 60),
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// The default policy.
    pub fn new() -> Self {
        RetryPolicy::default()
    }

    /// At most `attempts` attempts (at least 1) before a delivery becomes a dead letter.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The delay after the first failure.
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial = delay;
        self
    }

    /// The longest delay between two attempts.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The jitter, a fraction between 0 and 1.
    pub fn jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter.clamp(0.0, 1.0);
        self
    }

    /// The most attempts.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The delay after failed attempt number `attempt` (1 for the first).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let base = self
            .initial
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let factor = 1.0 + self.jitter * (2.0 * random_unit() - 1.0);
        base.mul_f64(factor.max(0.0))
    }
}

/// A number in `[0, 1)`, from the standard library's randomly keyed hasher (each
/// `RandomState` has keys of its own, so hashing the same input gives a new number each time).
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_up_to_the_cap_and_spread_by_the_jitter() {
        let policy = RetryPolicy::new()
            .initial_delay(Duration::from_secs(1))
            .max_delay(Duration::from_secs(5))
            .jitter(0.0);
        let waits: Vec<_> = (1..=5).map(|attempt| policy.delay(attempt)).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5].map(Duration::from_secs));

        let spread = policy.jitter(0.2);
        let waits: Vec<_> = (0..200).map(|_| spread.delay(2)).collect();
        let range = Duration::from_millis(1600)..=Duration::from_millis(2400);
        assert!(waits.iter().all(|wait| range.contains(wait)), "{waits:?}");
        // Spread out, not one value: some on each side of the middle.
        let below = waits
            .iter()
            .filter(|wait| **wait < Duration::from_secs(2))
            .count();
        assert!(
            below > 0 && below < waits.len(),
            "{below} of {} below",
            waits.len()
        );
    }
}
