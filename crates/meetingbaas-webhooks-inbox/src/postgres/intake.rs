//! Intake by group commit: deliveries arriving together are written by one multi-row insert in
//! one commit, by a few writer tasks on connections of intake's own (so that slow handlers
//! holding the worker's connections never starve intake). Each delivery is answered only once
//! the commit that holds it has returned.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use meetingbaas_webhooks_receiver::Enqueued;
use sqlx::{AssertSqlSafe, PgPool};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::Shared;
use crate::error::Error;
use crate::record::now_ms;
use crate::store::NewDelivery;

/// At most this many deliveries share one insert.
pub(super) const MAX_BATCH: usize = 128;

/// How long a delivery may wait for a place in the queue to the writers (the database is slow
/// or unreachable) before it is answered 503.
pub(super) const QUEUE_DEADLINE: Duration = Duration::from_secs(5);

/// A delivery waiting for its commit.
pub(super) struct Pending {
    pub(super) delivery: NewDelivery,
    pub(super) reply: oneshot::Sender<Result<Enqueued, Error>>,
}

/// At most about this many body bytes share one insert (one delivery larger than it goes alone).
pub(super) const MAX_BATCH_BYTES: usize = 16 << 20;

/// The queue the writers take from, and a delivery taken that did not fit in the last batch.
struct Queue {
    receiver: mpsc::Receiver<Pending>,
    carried: Option<Pending>,
}

/// Starts `writers` writer tasks taking from `receiver`.
pub(super) fn spawn_writers(
    writers: usize,
    receiver: mpsc::Receiver<Pending>,
    pool: PgPool,
    shared: Arc<Shared>,
) {
    let receiver = Arc::new(Mutex::new(Queue {
        receiver,
        carried: None,
    }));
    for _ in 0..writers.max(1) {
        // Weak: the queue ends (and these tasks with it) once the store is dropped.
        let (receiver, pool, shared) =
            (Arc::clone(&receiver), pool.clone(), Arc::downgrade(&shared));
        tokio::spawn(async move {
            while let Some(batch) = next_batch(&receiver).await {
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                write(&pool, &shared, batch).await;
            }
        });
    }
}

/// Announces stored deliveries to the workers of every replica (`NOTIFY <schema>_ready`), at
/// most once per [`ANNOUNCE_EVERY`], on a transaction of its own: a `NOTIFY` inside the
/// insert's transaction would take Postgres's database-wide notify lock until that commit is on
/// disk, so that the writers' commits could no longer share their log flushes.
pub(super) fn spawn_announcer(pool: PgPool, shared: std::sync::Weak<Shared>) {
    tokio::spawn(async move {
        loop {
            let Some(notified) = shared.upgrade().map(|shared| {
                let shared = Arc::clone(&shared);
                async move { shared.announce.notified().await }
            }) else {
                return;
            };
            notified.await;
            let Some(statement) = shared
                .upgrade()
                .map(|shared| Arc::clone(&shared.sql.notify))
            else {
                return;
            };
            if let Err(err) = sqlx::query(AssertSqlSafe(statement)).execute(&pool).await {
                // Other replicas' workers then find the deliveries at their next poll.
                tracing::debug!(target: "meetingbaas_webhooks_inbox", error = %err, "cannot announce stored deliveries");
            }
            tokio::time::sleep(ANNOUNCE_EVERY).await;
        }
    });
}

/// The least time between two announcements of stored deliveries.
const ANNOUNCE_EVERY: Duration = Duration::from_millis(2);

/// Waits for one delivery, then takes every other one already waiting, up to [`MAX_BATCH`]
/// deliveries and about [`MAX_BATCH_BYTES`] of bodies. `None` once the store is dropped.
async fn next_batch(queue: &Mutex<Queue>) -> Option<Vec<Pending>> {
    let mut queue = queue.lock().await;
    let first = match queue.carried.take() {
        Some(carried) => carried,
        None => queue.receiver.recv().await?,
    };
    let mut bytes = first.delivery.body.len();
    let mut batch = Vec::with_capacity(8);
    batch.push(first);
    while batch.len() < MAX_BATCH {
        let Ok(pending) = queue.receiver.try_recv() else {
            break;
        };
        bytes = bytes.saturating_add(pending.delivery.body.len());
        if bytes > MAX_BATCH_BYTES {
            queue.carried = Some(pending);
            break;
        }
        batch.push(pending);
    }
    Some(batch)
}

/// Inserts `batch` in one statement (one commit) and answers each delivery: stored with its id,
/// or a duplicate (its key is stored already, or an earlier delivery of the batch has it).
async fn write(pool: &PgPool, shared: &Shared, batch: Vec<Pending>) {
    // The first delivery of each key is inserted; later ones of the batch follow its answer.
    let mut first_of_key: HashMap<&str, usize> = HashMap::with_capacity(batch.len());
    let mut rows: Vec<usize> = Vec::with_capacity(batch.len());
    for (n, pending) in batch.iter().enumerate() {
        match first_of_key.get(pending.delivery.key.as_str()) {
            Some(_) => {}
            None => {
                first_of_key.insert(&pending.delivery.key, n);
                rows.push(n);
            }
        }
    }
    let column = |field: fn(&NewDelivery) -> Option<String>| -> Vec<Option<String>> {
        rows.iter().map(|&n| field(&batch[n].delivery)).collect()
    };
    let keys = column(|d| Some(d.key.clone()));
    let kinds = column(|d| d.kind.clone());
    let events = column(|d| d.event.clone());
    let bots = column(|d| d.bot_id.clone());
    let schemes = column(|d| Some(d.scheme.clone()));
    let messages = column(|d| d.message_id.clone());
    let bodies: Vec<&[u8]> = rows.iter().map(|&n| &batch[n].delivery.body[..]).collect();
    let now = now_ms();
    let (orders, event_times): (Vec<i64>, Vec<Option<i64>>) = rows
        .iter()
        .map(|&n| batch[n].delivery.order_times(now))
        .unzip();
    let inserted: Result<Vec<(i64, String)>, Error> =
        sqlx::query_as(AssertSqlSafe(Arc::clone(&shared.sql.insert)))
            .bind(keys)
            .bind(kinds)
            .bind(events)
            .bind(bots)
            .bind(schemes)
            .bind(messages)
            .bind(bodies)
            .bind(now)
            .bind(orders)
            .bind(event_times)
            .fetch_all(pool)
            .await
            .map_err(Error::from);
    let answers: Vec<Result<Enqueued, Error>> = match inserted {
        Ok(inserted) => {
            let ids: HashMap<String, i64> =
                inserted.into_iter().map(|(id, key)| (key, id)).collect();
            if !ids.is_empty() {
                shared.wakeup.stored();
                shared.announce.notify_one();
            }
            batch
                .iter()
                .enumerate()
                .map(|(n, pending)| {
                    let first = first_of_key[pending.delivery.key.as_str()];
                    match ids.get(&pending.delivery.key) {
                        Some(id) if first == n => Ok(Enqueued::Stored { id: id.to_string() }),
                        _ => Ok(Enqueued::Duplicate),
                    }
                })
                .collect()
        }
        Err(err) => batch.iter().map(|_| Err(err.clone())).collect(),
    };
    for (pending, answer) in batch.into_iter().zip(answers) {
        // The sender may have gone (the request was cancelled): the delivery is stored anyway,
        // and a copy sent again is a duplicate.
        let _ = pending.reply.send(answer);
    }
}
