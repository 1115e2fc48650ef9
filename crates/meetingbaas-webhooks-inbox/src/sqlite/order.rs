//! Per-bot order ([`WorkerBuilder::order_by_bot`](crate::WorkerBuilder::order_by_bot)) in the
//! SQLite file.
//!
//! Every claim runs on the file's one writer, in its write transaction: a claim sees every
//! delivery claimed before it, so "no delivery of its bot is running" cannot race. A claim in
//! bot order reads the due deliveries in due order and takes each one whose bot has nothing
//! running (`deliveries_bot_running`), whose bot has no earlier queued or retrying delivery by
//! `(order_ms, id)` (`deliveries_bot_pending`) unless it became pending `max_wait` ago, and
//! whose bot is not taken already in this claim; of those that waited `max_wait`, the first of
//! each bot in event order. `order_ms` is the payload's event time (set at intake, receipt time
//! where there is none); the rows pending at the migration to schema 5 are given their receipt
//! time, and a row stored later by older code (a rolling deploy) is behind nothing.
//!
//! A delivery whose lease ran out is due again at once and takes its place in its bot's order
//! (it is normally the bot's first). What a claim reads: the due deliveries in due order until
//! it has enough, skipping those of bots with one running or behind an earlier one: a claim
//! costs about the number of such deliveries ahead in the queue (BENCHMARKS.md, "Per-bot
//! order"). A delivery that has waited `max_wait` is claimed at the worker's next look (its
//! poll interval at most), not at the exact moment.
//!
//! A completion claimed in bot order raises its bot's row in `bots` to its event time; a claim
//! hands that time to the worker for the stale check. Rows of bots not handled for longer than
//! retention are deleted with the completed deliveries.

use std::collections::HashSet;
use std::time::Duration;

use rusqlite::{Connection, params};

use crate::error::Error;
use crate::record::{Claimed, millis, now_ms};

/// Due deliveries in due order, each with its bot, whether an earlier one of its bot (by
/// `(order_ms, id)`, from `deliveries_bot_pending`) is pending, since when it is pending itself,
/// and its order time (`?1` now). A row stored by code older than schema 5 has no order time:
/// it is behind nothing and nothing is behind it.
const CANDIDATES: &str = "SELECT d.id, d.bot_id, \
    EXISTS (SELECT 1 FROM deliveries e WHERE e.bot_id = d.bot_id \
        AND e.state IN ('queued', 'retrying') AND (e.order_ms, e.id) < (d.order_ms, d.id)), \
    COALESCE(d.pending_since_ms, d.received_ms), d.order_ms \
    FROM deliveries d WHERE d.state IN ('queued', 'retrying') AND d.next_ms <= ?1 \
    AND (d.bot_id IS NULL OR NOT EXISTS (SELECT 1 FROM deliveries r \
        WHERE r.bot_id = d.bot_id AND r.state = 'running')) \
    ORDER BY d.next_ms, d.id";

/// The most deliveries that waited their longest one claim considers.
const OVERDUE_READ: usize = 4096;

/// Starts one attempt (`?1` id, `?2` now, `?3` token, `?4` the lease's end).
const START: &str = "UPDATE deliveries SET state = 'running', attempts = attempts + 1, \
    lease_token = ?3, lease_started_ms = ?2, lease_until_ms = ?4 WHERE id = ?1 \
    RETURNING id, COALESCE(key, forgotten_key), kind, received_ms, attempts, attempt_base, \
    runs, bot_id, event_ms, (SELECT handled_ms FROM bots WHERE bots.bot_id = deliveries.bot_id)";

/// Claims up to `max` due deliveries in bot order (see the module docs); also returns when the
/// next one may fall due (a retry's time, a lease's end: a delivery waiting behind a running
/// one is woken by that one's completion in this process, or by the worker's poll).
pub(super) fn claim(
    connection: &Connection,
    max: usize,
    lease: Duration,
    max_wait: Duration,
    token: &str,
) -> Result<(Vec<Claimed>, Option<i64>), Error> {
    let now = now_ms();
    super::expire_leases(connection, now)?;
    let waited_since = now.saturating_sub(millis(max_wait));
    let max = max.max(1);
    let mut chosen = Vec::new();
    {
        let mut bots = HashSet::new();
        // Deliveries that waited their longest behind an earlier one of their bot: taken only
        // after every delivery in order, so that an earlier one due now still goes first.
        let mut overdue = Vec::new();
        let mut candidates = connection.prepare_cached(CANDIDATES)?;
        let mut rows = candidates.query(params![now])?;
        while chosen.len() < max {
            let Some(row) = rows.next()? else { break };
            let id: i64 = row.get(0)?;
            let bot_id: Option<String> = row.get(1)?;
            let behind: bool = row.get(2)?;
            let pending_since: i64 = row.get(3)?;
            let order_ms: Option<i64> = row.get(4)?;
            match bot_id {
                None => chosen.push(id),
                Some(bot_id) if behind => {
                    if pending_since <= waited_since && overdue.len() < OVERDUE_READ {
                        overdue.push((order_ms, id, bot_id, pending_since));
                    }
                }
                Some(bot_id) => {
                    if bots.insert(bot_id) {
                        chosen.push(id);
                    }
                }
            }
        }
        // Of a bot's deliveries that waited their longest, the first in event order.
        overdue.sort_unstable();
        for (_, id, bot_id, pending_since) in overdue {
            if chosen.len() >= max {
                break;
            }
            if bots.insert(bot_id.clone()) {
                tracing::warn!(target: "meetingbaas_webhooks_inbox", id, bot_id = ?bot_id, waited_ms = now.saturating_sub(pending_since), "an earlier delivery of this bot is still retrying: this one waited the longest allowed (`order_by_bot`) and goes on out of order");
                chosen.push(id);
            }
        }
    }
    let until = now.saturating_add(millis(lease));
    let mut start = connection.prepare_cached(START)?;
    let mut claimed = Vec::with_capacity(chosen.len());
    for id in chosen {
        let delivery = start.query_row(params![id, now, token, until], |row| {
            let attempts: u32 = row.get(4)?;
            let base: u32 = row.get(5)?;
            Ok(Claimed {
                id: row.get::<_, i64>(0)?.to_string(),
                key: row.get::<_, Option<String>>(1)?.unwrap_or_default(),
                kind: row.get(2)?,
                body: bytes::Bytes::new(),
                attempt: attempts.saturating_sub(base),
                attempt_total: attempts,
                run: row.get(6)?,
                received_ms: row.get(3)?,
                token: token.to_string(),
                bot_id: row.get(7)?,
                event_ms: row.get(8)?,
                ordered: true,
                bot_handled_ms: row.get(9)?,
            })
        })?;
        claimed.push(delivery);
    }
    // Only times still ahead: a due delivery waiting behind a running one is not due yet.
    let next_ready: Option<i64> = connection
        .prepare_cached(
            "SELECT MIN(next_ms) FROM deliveries WHERE state IN ('queued', 'retrying') \
             AND next_ms > ?1",
        )?
        .query_row(params![now], |row| row.get(0))?;
    let next_expiry: Option<i64> = connection
        .prepare_cached("SELECT MIN(lease_until_ms) FROM deliveries WHERE state = 'running'")?
        .query_row([], |row| row.get(0))?;
    let next_due = match (next_ready, next_expiry) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok((claimed, next_due))
}

/// Records that `claimed` was handled: its bot's newest handled event time rises to its own.
pub(super) fn handled(connection: &Connection, claimed: &Claimed, now: i64) -> Result<(), Error> {
    let (Some(bot_id), Some(event_ms)) = (&claimed.bot_id, claimed.event_ms) else {
        return Ok(());
    };
    connection
        .prepare_cached(
            "INSERT INTO bots (bot_id, handled_ms, updated_ms) VALUES (?1, ?2, ?3) \
             ON CONFLICT (bot_id) DO UPDATE SET \
             handled_ms = MAX(handled_ms, excluded.handled_ms), updated_ms = excluded.updated_ms",
        )?
        .execute(params![bot_id, event_ms, now])?;
    Ok(())
}

/// Deletes at most `limit` bots not handled since `cutoff`.
pub(super) fn prune(connection: &Connection, cutoff: i64, limit: i64) -> Result<(), Error> {
    connection
        .prepare_cached(
            "DELETE FROM bots WHERE bot_id IN (SELECT bot_id FROM bots WHERE updated_ms <= ?1 \
             ORDER BY updated_ms LIMIT ?2)",
        )?
        .execute(params![cutoff, limit])?;
    Ok(())
}
