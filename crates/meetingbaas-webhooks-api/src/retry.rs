//! How often, and how long apart, a request is tried again after 429 or 5xx.

use std::time::Duration;

/// The bounded retry of a request answered with 429 (rate limited) or a 5xx status.
///
/// Between tries the client waits the server's `retryAfter` (body) or `Retry-After` (header)
/// when it gives one, else `base_delay` doubled for each retry; never longer than `max_delay`.
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
        if retry >= self.max_retries {
            return None;
        }
        match asked {
            Some(asked) if asked > self.max_delay => None,
            Some(asked) => Some(asked),
            None => Some(
                self.base_delay
                    .saturating_mul(2u32.saturating_pow(retry))
                    .min(self.max_delay),
            ),
        }
    }
}

impl Default for RetryPolicy {
    /// 3 retries, 500 ms doubling, at most 30 s apart.
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
        let waits: Vec<_> = (0..5).map(|retry| policy.delay(retry, None)).collect();
        assert_eq!(
            waits,
            [1, 2, 4, 5]
                .map(|s| Some(Duration::from_secs(s)))
                .into_iter()
                .chain([None])
                .collect::<Vec<_>>()
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
