//! Where "now" comes from, so that tests can verify a recorded delivery.

/// A source of the current time in whole Unix seconds.
///
/// The Svix scheme checks a delivery's timestamp against it. Implemented for closures
/// `Fn() -> i64`, for [`FixedClock`] (tests, replaying a recorded delivery) and, with the `std`
/// feature, for [`SystemClock`].
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> i64;
}

impl<F> Clock for F
where
    F: Fn() -> i64 + Send + Sync + 'static,
{
    fn now_unix(&self) -> i64 {
        self()
    }
}

/// A clock that always answers the same instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedClock(i64);

impl FixedClock {
    /// A clock stopped at `unix_seconds`.
    pub const fn new(unix_seconds: i64) -> Self {
        FixedClock(unix_seconds)
    }
}

impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        self.0
    }
}

/// The operating system's wall clock (`std::time::SystemTime`).
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SystemClock;

#[cfg(feature = "std")]
impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        use std::time::{SystemTime, UNIX_EPOCH};
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(elapsed) => i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
        }
    }
}
