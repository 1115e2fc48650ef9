//! Writes many deliveries straight into a file, in the store's own format, for benchmarks of
//! large stores (`testing::fill_sqlite`, `bench/load`'s `inbox-fill`): ten million in minutes
//! rather than a day of traffic.

use std::path::Path;
use std::time::Duration;

use meetingbaas_webhooks::event::Envelope;
use meetingbaas_webhooks::{IdempotencyKey, Scheme};
use meetingbaas_webhooks_receiver::EventLabel;
use rusqlite::{Connection, params};

use super::{keys, open_connection, prepare};
use crate::error::Error;
use crate::record::{millis, now_ms};

/// What [`fill_sqlite`](crate::testing::fill_sqlite) writes.
#[derive(Clone, Debug)]
pub struct Fill {
    /// How many deliveries in all.
    pub deliveries: u64,
    /// How many of them (the newest) are still queued; the others are finished.
    pub pending: u64,
    /// One finished delivery in this many is dead (the others completed); 0 for none.
    pub dead_every: u64,
    /// The size of each body, in bytes (at least what its JSON needs).
    pub body_bytes: usize,
    /// How many distinct bots the deliveries are spread over.
    pub bots: u64,
    /// The finished deliveries' finish times are spread evenly over this much of the past
    /// (received a second before they finished, each with one attempt).
    pub spread: Duration,
}

impl Default for Fill {
    /// 100 000 deliveries of 1 KiB, 1 000 pending, one dead in 100, 1 000 bots, over 7 days.
    fn default() -> Self {
        Fill {
            deliveries: 100_000,
            pending: 1_000,
            dead_every: 100,
            body_bytes: 1024,
            bots: 1_000,
            spread: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// The rows one transaction of the fill writes.
const CHUNK: u64 = 20_000;

/// Appends `plan.deliveries` deliveries to the inbox file at `path` (created if needed); returns
/// how many were written. Not for a file a service is using: it writes without syncing and
/// rebuilds an index at the end.
pub(crate) fn fill(path: &Path, plan: &Fill) -> Result<u64, Error> {
    let connection = open_connection(path)?;
    prepare(&connection, true)?;
    // Fast and not crash-safe: this is a benchmark's file.
    connection.execute_batch(
        "PRAGMA synchronous=OFF; PRAGMA cache_size=-262144; PRAGMA wal_autocheckpoint=10000",
    )?;
    // The digest index is rebuilt once at the end (sorting once is far quicker than ten
    // million inserts at random places).
    let now = now_ms();
    let spread = millis(plan.spread).max(1);
    let finished = plan.deliveries.saturating_sub(plan.pending);
    let filled = keys::without_digest_index(&connection, || {
        let mut n = 0;
        while n < plan.deliveries {
            let end = (n + CHUNK).min(plan.deliveries);
            connection.execute_batch("BEGIN IMMEDIATE")?;
            match write_chunk(&connection, plan, n..end, finished, now, spread) {
                Ok(()) => connection.execute_batch("COMMIT")?,
                Err(err) => {
                    let _ = connection.execute_batch("ROLLBACK");
                    return Ok(Err(err));
                }
            }
            n = end;
        }
        Ok(Ok(()))
    })?;
    filled?;
    connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    Ok(plan.deliveries)
}

fn write_chunk(
    connection: &Connection,
    plan: &Fill,
    range: std::ops::Range<u64>,
    finished: u64,
    now: i64,
    spread: i64,
) -> Result<(), Error> {
    let mut delivery = connection.prepare_cached(
        "INSERT INTO deliveries (key, key_hash, kind, event, bot_id, scheme, received_ms, state, \
         attempts, next_ms, finished_ms, dead_reason) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'callback', ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut body_row =
        connection.prepare_cached("INSERT INTO bodies (id, body) VALUES (?1, ?2)")?;
    let mut attempt = connection.prepare_cached(
        "INSERT INTO attempts (delivery_id, number, started_ms, duration_ms, error, run) \
         VALUES (?1, 1, ?2, 3, ?3, 1)",
    )?;
    for n in range {
        let body = body(plan, n);
        let key = IdempotencyKey::for_delivery(Scheme::Callback, None, &body);
        let label = Envelope::peek(&body, false)
            .map(EventLabel::from)
            .unwrap_or_default();
        let kind = label.kind.map(|kind| kind.as_str());
        let (state, attempts, received, finished_ms, error) = if n < finished {
            // Oldest first, evenly over the spread, the last one a minute ago.
            let back = i128::from(finished - n) * i128::from(spread) / i128::from(finished);
            let at = now - 60_000 - i64::try_from(back).unwrap_or(spread);
            let dead = plan.dead_every > 0 && n % plan.dead_every == 0;
            let error = dead.then_some("handler: the CRM answered 500");
            let state = if dead { "dead" } else { "completed" };
            (state, 1, at - 1000, Some(at), error)
        } else {
            ("queued", 0, now - 1000, None, None)
        };
        delivery.execute(params![
            key.as_str(),
            keys::digest(key.as_str()),
            kind,
            label.name,
            label.bot_id,
            received,
            state,
            attempts,
            received,
            finished_ms,
            error,
        ])?;
        let id = connection.last_insert_rowid();
        body_row.execute(params![id, body])?;
        if attempts > 0 {
            attempt.execute(params![id, received, error])?;
        }
    }
    Ok(())
}

/// The body of delivery `n`: a status change (nine in ten) or a completed meeting, padded with
/// spaces to the plan's size.
fn body(plan: &Fill, n: u64) -> Vec<u8> {
    let bot = n % plan.bots.max(1);
    let mut body = if n % 10 == 9 {
        format!(
            r#"{{"event":"complete","data":{{"bot_id":"00000000-0000-4000-8000-{bot:012}","mp4":"https://example.com/{n}.mp4","speakers":["Ada"],"transcript":[]}}}}"#
        )
    } else {
        format!(
            r#"{{"event":"bot.status_change","data":{{"bot_id":"00000000-0000-4000-8000-{bot:012}","status":{{"code":"in_call_recording","created_at":"2026-12-01T10:00:00.{:03}Z","n":{n}}}}}}}"#,
            n % 1000
        )
    }
    .into_bytes();
    if body.len() < plan.body_bytes {
        body.resize(plan.body_bytes, b' ');
    }
    body
}
