//! The inbox's metrics (feature `metrics`), through the `metrics` facade, named like the
//! receiving pipeline's (`meetingbaas_webhooks_` prefix, base units, bounded labels).

use std::sync::Arc;
use std::time::Duration;

use crate::record::Verdict;
use crate::store::Store;

/// Gauge: deliveries in the inbox by `state` (`queued`, `running`, `retrying`, `completed`,
/// `dead`), refreshed every [`STATS_INTERVAL`] while a worker runs.
pub const INBOX_DELIVERIES: &str = "meetingbaas_webhooks_inbox_deliveries";
/// Gauge: seconds since the oldest queued, running or retrying delivery last became pending
/// (stored, or redriven since; 0: none).
pub const INBOX_OLDEST_PENDING_AGE_SECONDS: &str =
    "meetingbaas_webhooks_inbox_oldest_pending_age_seconds";
/// Counter: attempts by `result` (`completed`, `stale`: a stale status recorded without its
/// usual handler, `retry`, `dead`).
pub const INBOX_ATTEMPTS_TOTAL: &str = "meetingbaas_webhooks_inbox_attempts_total";
/// Histogram: seconds an attempt took, by `result`.
pub const INBOX_ATTEMPT_DURATION_SECONDS: &str =
    "meetingbaas_webhooks_inbox_attempt_duration_seconds";
/// Histogram: seconds from a delivery's receipt to the start of its first attempt (how far
/// the worker is behind intake; retries and redriven runs are not counted).
pub const INBOX_PICKUP_DELAY_SECONDS: &str = "meetingbaas_webhooks_inbox_pickup_delay_seconds";
/// Counter: times the store was found to have lost data it held, by `what` (`consumer_group`:
/// the Redis stream's consumer group vanished; `delivery`: a delivery being handled vanished).
/// Anything above 0 means deliveries answered 2xx may have been lost: Redis restarted without
/// persistence, or its keys were deleted.
pub const INBOX_STORE_DATA_LOST_TOTAL: &str = "meetingbaas_webhooks_inbox_store_data_lost_total";
/// Gauge: 1 when the background integrity check of the SQLite inbox file found damage, 0 when
/// it passed (absent until it has run).
pub const INBOX_STORE_DAMAGED: &str = "meetingbaas_webhooks_inbox_store_damaged";
/// How often a running worker refreshes the gauges.
pub const STATS_INTERVAL: Duration = Duration::from_secs(10);

/// Records one attempt's result.
pub(crate) fn attempt(verdict: &Verdict, took: Duration) {
    let result = match verdict {
        Verdict::Complete => "completed",
        Verdict::Stale => "stale",
        Verdict::Retry { .. } => "retry",
        Verdict::Dead { .. } => "dead",
    };
    metrics::counter!(INBOX_ATTEMPTS_TOTAL, "result" => result).increment(1);
    metrics::histogram!(INBOX_ATTEMPT_DURATION_SECONDS, "result" => result).record(took);
}

/// Records a first attempt's pickup delay (see [`INBOX_PICKUP_DELAY_SECONDS`]).
pub(crate) fn picked_up(claimed: &crate::record::Claimed) {
    if claimed.attempt_total == 1 {
        let waited_ms = crate::record::now_ms()
            .saturating_sub(claimed.received_ms)
            .max(0);
        metrics::histogram!(INBOX_PICKUP_DELAY_SECONDS).record(waited_ms as f64 / 1000.0);
    }
}

/// Counts one loss of stored data (see [`INBOX_STORE_DATA_LOST_TOTAL`]).
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn data_lost(what: &'static str) {
    metrics::counter!(INBOX_STORE_DATA_LOST_TOTAL, "what" => what).increment(1);
}

/// Sets [`INBOX_STORE_DAMAGED`].
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn store_damaged(damaged: bool) {
    metrics::gauge!(INBOX_STORE_DAMAGED).set(if damaged { 1.0 } else { 0.0 });
}

/// Sets the gauges from the store's counts, now and every [`STATS_INTERVAL`].
pub(crate) async fn publish_stats(store: Arc<dyn Store>) {
    loop {
        match store.stats().await {
            Ok(stats) => {
                for (state, count) in [
                    ("queued", stats.queued),
                    ("running", stats.running),
                    ("retrying", stats.retrying),
                    ("completed", stats.completed),
                    ("dead", stats.dead),
                ] {
                    metrics::gauge!(INBOX_DELIVERIES, "state" => state).set(count as f64);
                }
                metrics::gauge!(INBOX_OLDEST_PENDING_AGE_SECONDS)
                    .set(stats.oldest_pending_age_secs.unwrap_or(0) as f64);
            }
            Err(err) => {
                tracing::warn!(target: "meetingbaas_webhooks_inbox", error = %err, "inbox stats unavailable for the metrics");
            }
        }
        tokio::time::sleep(STATS_INTERVAL).await;
    }
}
