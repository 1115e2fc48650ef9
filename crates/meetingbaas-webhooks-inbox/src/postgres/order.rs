//! Per-bot order ([`WorkerBuilder::order_by_bot`](crate::WorkerBuilder::order_by_bot)) in
//! Postgres.
//!
//! Claims in bot order take turns: each runs in a transaction that first takes a
//! transaction-level advisory lock of the inbox's schema (`pg_advisory_xact_lock`), so that
//! two replicas never both see a bot with nothing running and both start one of its
//! deliveries (two `NOT EXISTS` checks under `READ COMMITTED` would race). Inside it, each
//! statement sees every claim committed before: the leases that ran out are taken back, then
//! the due deliveries whose bot has nothing running (`deliveries_bot_running`) and no earlier
//! queued or retrying delivery by `(order_ms, id)` (`deliveries_bot_pending`), or that waited
//! `max_wait` behind one, are read in due order (the scan of `deliveries_ready` stops at the
//! limit, but reads past the deliveries it skips: a claim costs about the number of blocked
//! deliveries ahead in the queue), at most one per bot is kept (those in order first, then of
//! those that waited their longest the first in event order), and they are started. The rows
//! pending at the migration to schema 2 are given their receipt time as order time; a row
//! stored later by older code (a rolling deploy) is behind nothing. A delivery whose lease ran
//! out is due again at once and takes its place in its bot's order (it is normally the bot's
//! first); one that has waited `max_wait` is claimed at the worker's next look. A claim holds the lock for those three statements, a few milliseconds;
//! claims without order never take it (a worker with and one without order on one inbox do not
//! keep each other's order: give every worker of an inbox the same setting).
//!
//! A completion claimed in bot order raises its bot's row in `bots` to its event time, in the
//! statement that records it (in the handler's transaction, with
//! [`Job::transaction`](crate::Job::transaction)), and announces on the schema's channel so
//! that the bot's next delivery is claimed at once on every replica. Rows of bots not handled
//! for longer than retention are deleted with the completed deliveries.

use std::collections::HashSet;
use std::time::Duration;

use super::{ClaimRow, PostgresBackend, claimed};
use crate::error::Error;
use crate::record::{Claimed, Verdict, millis, now_ms};

/// A candidate row: id, bot, behind an earlier one of its bot, pending since, order time.
type Candidate = (i64, Option<String>, bool, i64, Option<i64>);

/// Claims up to `max` due deliveries in bot order (see the module docs).
pub(super) async fn claim(
    store: &PostgresBackend,
    max: usize,
    lease: Duration,
    max_wait: Duration,
) -> Result<Vec<Claimed>, Error> {
    let shared = &store.shared;
    let now = now_ms();
    let max = max.max(1);
    let mut tx = shared.work.begin().await?;
    sqlx::query(store.sql(&shared.sql.order_lock))
        .bind(format!(
            "meetingbaas_webhooks_inbox:order:{}",
            shared.schema
        ))
        .execute(&mut *tx)
        .await?;
    sqlx::query(store.sql(&shared.sql.expire))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    // The candidates in due order: each bot once, those in order first, then those that
    // waited their longest behind an earlier one of their bot (an earlier one due now goes
    // first).
    let limit = max.saturating_mul(2).saturating_add(16);
    let candidates: Vec<Candidate> = sqlx::query_as(store.sql(&shared.sql.order_candidates))
        .bind(now)
        .bind(now.saturating_sub(millis(max_wait)))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await?;
    let mut bots = HashSet::new();
    let mut chosen = Vec::new();
    let mut overdue = Vec::new();
    for (id, bot_id, behind, pending_since, order_ms) in candidates {
        match bot_id {
            _ if chosen.len() >= max => break,
            None => chosen.push(id),
            Some(bot_id) if behind => overdue.push((order_ms, id, bot_id, pending_since)),
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
    let token = crate::token();
    let rows: Vec<ClaimRow> = if chosen.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(store.sql(&shared.sql.order_start))
            .bind(&chosen)
            .bind(now)
            .bind(&token)
            .bind(now.saturating_add(millis(lease)))
            .fetch_all(&mut *tx)
            .await?
    };
    let next_due: (Option<i64>,) = sqlx::query_as(store.sql(&shared.sql.order_next_due))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    shared.wakeup.claimed(next_due.0);
    let mut claimed: Vec<Claimed> = rows
        .into_iter()
        .map(|row| claimed(row, &token, true))
        .collect();
    // In due order, as chosen (`UPDATE ... RETURNING` returns them in any order).
    claimed.sort_by_key(|c| {
        chosen
            .iter()
            .position(|id| c.id == id.to_string())
            .unwrap_or(usize::MAX)
    });
    Ok(claimed)
}

/// The `outcome` column a verdict records.
pub(super) fn outcome(verdict: &Verdict) -> Option<&'static str> {
    matches!(verdict, Verdict::Stale).then_some("stale")
}

/// Whether recording `verdict` for `claimed` raises its bot's handled time.
pub(super) fn raises(claimed: &Claimed, verdict: &Verdict) -> bool {
    claimed.ordered && *verdict == Verdict::Complete
}
