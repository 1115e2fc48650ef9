//! The worker's attempt records, batched: records arriving together are written by one
//! statement on the worker's bookkeeping connections, so that a worker with fast handlers spends
//! one round trip per batch instead of one per delivery.

use std::collections::HashSet;
use std::sync::{Arc, Weak};

use sqlx::{AssertSqlSafe, PgPool};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{PostgresBackend, Shared, parse_id, verdict_columns};
use crate::error::Error;
use crate::record::{Attempt, Claimed, Verdict};

/// At most this many records share one statement.
pub(super) const MAX_BATCH: usize = 256;

/// Record writers running at once.
pub(super) const WRITERS: usize = 2;

/// A record waiting for its statement.
pub(super) struct Pending {
    pub(super) claimed: Claimed,
    pub(super) attempt: Attempt,
    pub(super) verdict: Verdict,
    pub(super) reply: oneshot::Sender<Result<bool, Error>>,
}

/// Starts the record writers taking from `receiver`.
pub(super) fn spawn_writers(receiver: mpsc::Receiver<Pending>, shared: Weak<Shared>) {
    let receiver = Arc::new(Mutex::new(receiver));
    for _ in 0..WRITERS {
        let (receiver, shared) = (Arc::clone(&receiver), shared.clone());
        tokio::spawn(async move {
            loop {
                let batch = {
                    let mut receiver = receiver.lock().await;
                    let Some(first) = receiver.recv().await else {
                        return;
                    };
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match receiver.try_recv() {
                            Ok(pending) => batch.push(pending),
                            Err(_) => break,
                        }
                    }
                    batch
                };
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                write(&PostgresBackend { shared }, batch).await;
            }
        });
    }
}

/// Writes `batch` in one statement (a delivery present twice is recorded on its own after it)
/// and answers each record.
async fn write(store: &PostgresBackend, batch: Vec<Pending>) {
    let mut seen = HashSet::with_capacity(batch.len());
    let (mut together, mut alone) = (Vec::with_capacity(batch.len()), Vec::new());
    for pending in batch {
        match parse_id(&pending.claimed.id) {
            Ok(id) if seen.insert(id) => together.push((id, pending)),
            _ => alone.push(pending),
        }
    }
    let recorded = write_together(store, &store.shared.work, &together).await;
    match recorded {
        Ok(ids) => {
            for (id, pending) in together {
                if let Verdict::Retry { at_ms } = pending.verdict {
                    store.shared.wakeup.due_at(at_ms);
                }
                let _ = pending.reply.send(Ok(ids.contains(&id)));
            }
        }
        Err(err) => {
            for (_, pending) in together {
                let _ = pending.reply.send(Err(err.clone()));
            }
        }
    }
    for pending in alone {
        let recorded = store
            .record(
                &store.shared.work,
                &pending.claimed,
                &pending.attempt,
                &pending.verdict,
            )
            .await;
        let _ = pending.reply.send(recorded);
    }
}

async fn write_together(
    store: &PostgresBackend,
    pool: &PgPool,
    records: &[(i64, Pending)],
) -> Result<HashSet<i64>, Error> {
    if records.is_empty() {
        return Ok(HashSet::new());
    }
    let n = records.len();
    let (mut ids, mut tokens, mut states) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut nexts, mut finisheds, mut reasons) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut numbers, mut runs, mut starts) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut durations, mut errors) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut outcomes, mut raises) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (id, pending) in records {
        let (state, next_ms, finished_ms, reason) = verdict_columns(&pending.verdict);
        ids.push(*id);
        tokens.push(pending.claimed.token.clone());
        states.push(state.as_str());
        nexts.push(next_ms);
        finisheds.push(finished_ms);
        reasons.push(reason);
        numbers.push(i32::try_from(pending.attempt.number).unwrap_or(i32::MAX));
        runs.push(i32::try_from(pending.attempt.run).unwrap_or(i32::MAX));
        starts.push(pending.attempt.started_ms);
        durations.push(i64::try_from(pending.attempt.duration_ms).unwrap_or(i64::MAX));
        errors.push(pending.attempt.error.clone());
        outcomes.push(super::order::outcome(&pending.verdict));
        raises.push(super::order::raises(&pending.claimed, &pending.verdict));
    }
    let done: Vec<(i64,)> =
        sqlx::query_as(AssertSqlSafe(Arc::clone(&store.shared.sql.finish_many)))
            .bind(ids)
            .bind(tokens)
            .bind(states)
            .bind(nexts)
            .bind(finisheds)
            .bind(reasons)
            .bind(numbers)
            .bind(runs)
            .bind(starts)
            .bind(durations)
            .bind(errors)
            .bind(outcomes)
            .bind(raises)
            .fetch_all(pool)
            .await?;
    Ok(done.into_iter().map(|(id,)| id).collect())
}
