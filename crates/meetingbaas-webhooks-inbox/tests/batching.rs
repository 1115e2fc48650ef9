//! Batched claims and recorded attempts, and the retention of completed deliveries, against every
//! store: a real SQLite file, a real `redis-server` started per test, and memory. No timing is
//! asserted: waits are bounded only so that a broken store fails instead of hanging.

mod common;

use common::{delivery, event};

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use meetingbaas_webhooks::Bytes;
use meetingbaas_webhooks_conformance::redis_server::RedisServer;
use meetingbaas_webhooks_inbox::{
    Attempt, Backend, Claimed, Enqueued, HandlerError, Inbox, Job, NewDelivery, RedisBackend,
    SqliteBackend, State, Stats, Verdict, now_ms,
};
use meetingbaas_webhooks_receiver::EventLabel;

/// A store under test, and what keeps it alive.
struct Store {
    backend: Arc<dyn Backend>,
    inbox: Inbox,
    _dir: Option<tempfile::TempDir>,
    _redis: Option<RedisServer>,
}

fn store(backend: impl Backend + Clone) -> (Arc<dyn Backend>, Inbox) {
    (Arc::new(backend.clone()), Inbox::with_backend(backend))
}

async fn sqlite() -> Store {
    let dir = tempfile::tempdir().unwrap();
    let (backend, inbox) = store(SqliteBackend::open(dir.path().join("inbox.db")).unwrap());
    Store {
        backend,
        inbox,
        _dir: Some(dir),
        _redis: None,
    }
}

async fn redis() -> Store {
    let server = RedisServer::start();
    let (backend, inbox) = store(RedisBackend::connect(&server.url()).await.unwrap());
    Store {
        backend,
        inbox,
        _dir: None,
        _redis: Some(server),
    }
}

async fn memory() -> Store {
    let (backend, inbox) = store(SqliteBackend::memory());
    Store {
        backend,
        inbox,
        _dir: None,
        _redis: None,
    }
}

async fn enqueue(inbox: &Inbox, body: String) -> String {
    let delivery = delivery(body);
    match inbox
        .intake()
        .enqueue(&delivery, EventLabel::default())
        .await
        .unwrap()
    {
        Enqueued::Stored { id } => id,
        Enqueued::Duplicate => panic!("not stored"),
    }
}

/// Stores `count` distinct deliveries at once (so that they share commits); returns their ids.
async fn enqueue_many(inbox: &Inbox, tag: &str, count: usize) -> BTreeSet<String> {
    let mut sends = tokio::task::JoinSet::new();
    for n in 0..count {
        let inbox = inbox.clone();
        let body = event(&format!("{tag}-{n}"));
        sends.spawn(async move { enqueue(&inbox, body).await });
    }
    let mut ids = BTreeSet::new();
    while let Some(id) = sends.join_next().await {
        assert!(ids.insert(id.unwrap()));
    }
    ids
}

async fn wait_for(inbox: &Inbox, what: &str, done: impl Fn(&Stats) -> bool) -> Stats {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let stats = inbox.stats().await.unwrap();
        if done(&stats) {
            return stats;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn ids(claimed: &[Claimed]) -> BTreeSet<String> {
    claimed.iter().map(|c| c.id.clone()).collect()
}

fn success(claimed: &Claimed) -> Attempt {
    Attempt {
        number: claimed.attempt_total,
        started_ms: now_ms(),
        duration_ms: 1,
        error: None,
    }
}

/// Finishes every claim at once (concurrent calls: the stores batch them); how many were
/// recorded.
async fn finish_all(backend: &Arc<dyn Backend>, claims: &[Claimed]) -> usize {
    let finishing = claims
        .iter()
        .map(|claimed| backend.finish(claimed.clone(), success(claimed), Verdict::Complete));
    futures_util::future::join_all(finishing)
        .await
        .into_iter()
        .map(Result::unwrap)
        .filter(|recorded| *recorded)
        .count()
}

const LEASE: Duration = Duration::from_millis(400);
const NO_WAIT: Duration = Duration::from_millis(50);

async fn a_batched_claim_takes_each_delivery_once_while_its_lease_holds(store: Store) {
    let Store { backend, inbox, .. } = &store;
    let stored = enqueue_many(inbox, "lease", 20).await;
    let first = backend
        .claim(8, Duration::from_secs(60), NO_WAIT)
        .await
        .unwrap();
    assert_eq!(first.len(), 8);
    // The rest, in one claim: none of the 8 leased ones again.
    let second = backend
        .claim(50, Duration::from_secs(60), NO_WAIT)
        .await
        .unwrap();
    assert_eq!(second.len(), 12);
    assert!(ids(&first).is_disjoint(&ids(&second)));
    let mut all = ids(&first);
    all.extend(ids(&second));
    assert_eq!(all, stored);
    // Every lease holds: nothing left to claim.
    assert!(
        backend
            .claim(50, Duration::from_secs(60), NO_WAIT)
            .await
            .unwrap()
            .is_empty()
    );
    let stats = inbox.stats().await.unwrap();
    assert_eq!((stats.queued, stats.running), (0, 20));
    assert!(first.iter().chain(&second).all(|c| c.attempt == 1));
}

async fn with_batched_records_each_completion_is_recorded_once(store: Store) {
    let Store { backend, inbox, .. } = &store;
    let stored = enqueue_many(inbox, "once", 16).await;
    let lost = backend.claim(16, LEASE, NO_WAIT).await.unwrap();
    assert_eq!(ids(&lost), stored);
    // The holder goes quiet past its lease: another worker (same lease) takes everything over.
    tokio::time::sleep(LEASE * 2).await;
    let mut taken = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while taken.len() < 16 {
        assert!(tokio::time::Instant::now() < deadline, "not taken over");
        taken.extend(backend.claim(16, LEASE, NO_WAIT).await.unwrap());
    }
    assert_eq!(ids(&taken), stored);
    assert!(taken.iter().all(|c| c.attempt == 2));
    // The old holder's records, all at once: refused. The new holder's: recorded, once.
    assert_eq!(finish_all(backend, &lost).await, 0);
    assert_eq!(finish_all(backend, &taken).await, 16);
    assert_eq!(finish_all(backend, &taken).await, 0);
    let stats = inbox.stats().await.unwrap();
    assert_eq!((stats.completed, stats.running, stats.queued), (16, 0, 0));
    for id in &stored {
        let shown = inbox.show(id).await.unwrap();
        assert_eq!(shown.summary.state, State::Completed);
        assert_eq!(shown.attempts.len(), 2, "{id}: {:?}", shown.attempts);
        assert!(
            shown.attempts[0]
                .error
                .as_deref()
                .unwrap()
                .contains("lease expired")
        );
        assert_eq!(shown.attempts[1].error, None);
    }
}

async fn a_worker_handles_a_burst_each_once(store: Store) {
    let Store { inbox, .. } = &store;
    let stored = enqueue_many(inbox, "burst", 300).await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let worker = inbox
        .worker()
        .concurrency(16)
        .poll_interval(Duration::from_millis(20))
        .fallback(move |job: Job| {
            record.lock().unwrap().push(job.id().to_string());
            async { Ok::<(), HandlerError>(()) }
        })
        .build()
        .spawn();
    wait_for(inbox, "300 completions", |s| s.completed == 300).await;
    worker.shutdown().await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 300, "each handled once");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), stored);
}

async fn retention_deletes_completed_deliveries_in_bounded_batches(store: Store) {
    let Store { backend, inbox, .. } = &store;
    enqueue_many(inbox, "prune", 5).await;
    let claims = backend
        .claim(5, Duration::from_secs(60), NO_WAIT)
        .await
        .unwrap();
    assert_eq!(finish_all(backend, &claims).await, 5);
    // Recent ones are kept; older-than-zero ones go, at most `limit` per call.
    let day = Duration::from_secs(86_400);
    assert_eq!(backend.prune(State::Completed, day, 2).await.unwrap(), 0);
    assert_eq!(
        backend
            .prune(State::Completed, Duration::ZERO, 2)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        backend
            .prune(State::Completed, Duration::ZERO, 2)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        backend
            .prune(State::Completed, Duration::ZERO, 2)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        backend
            .prune(State::Completed, Duration::ZERO, 2)
            .await
            .unwrap(),
        0
    );
    assert_eq!(inbox.stats().await.unwrap().completed, 0);
    for claimed in &claims {
        assert!(
            inbox.show(&claimed.id).await.is_err(),
            "{} kept",
            claimed.id
        );
    }
}

async fn a_workers_retention_deletes_completed_deliveries_but_keeps_dead_letters(store: Store) {
    let Store { inbox, .. } = &store;
    let handled = Arc::new(AtomicU32::new(0));
    let handler = |handled: Arc<AtomicU32>| {
        move |job: Job| {
            let handled = Arc::clone(&handled);
            async move {
                if job.event().bot_id() == Some("refused") {
                    return Err(HandlerError::permanent("refused"));
                }
                handled.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        }
    };
    let kept = enqueue_many(inbox, "keep", 6).await;
    let dead = enqueue(inbox, event("refused")).await;
    // A long retention (and none at all) keeps what completed.
    for retention in [Some(Duration::from_secs(86_400)), None] {
        let worker = inbox
            .worker()
            .poll_interval(Duration::from_millis(20))
            .retention(retention)
            .fallback(handler(Arc::clone(&handled)))
            .build()
            .spawn();
        wait_for(inbox, "the deliveries handled", |s| {
            s.completed == 6 && s.dead == 1
        })
        .await;
        worker.shutdown().await;
    }
    assert_eq!(handled.load(Ordering::SeqCst), 6);
    for id in &kept {
        assert_eq!(
            inbox.show(id).await.unwrap().summary.state,
            State::Completed
        );
    }
    // A zero retention: completed deliveries go in the background; the dead letter stays.
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(20))
        .retention(Some(Duration::ZERO))
        .fallback(handler(Arc::clone(&handled)))
        .build()
        .spawn();
    let stats = wait_for(inbox, "completed deliveries deleted", |s| s.completed == 0).await;
    worker.shutdown().await;
    assert_eq!(stats.dead, 1);
    assert_eq!(inbox.show(&dead).await.unwrap().summary.state, State::Dead);
    for id in &kept {
        assert!(inbox.show(id).await.is_err(), "{id} kept");
    }
    assert_eq!(handled.load(Ordering::SeqCst), 6, "nothing ran twice");
}

/// A `NewDelivery` can be stored straight through the backend too (the worker and the admin API
/// only use the [`Backend`] trait).
async fn a_backend_stores_a_new_delivery_once(store: Store) {
    let Store { backend, .. } = &store;
    let delivery = NewDelivery {
        key: "id:msg_direct".into(),
        kind: Some("bot_completed".into()),
        event: Some("bot.completed".into()),
        scheme: "svix".into(),
        message_id: Some("msg_direct".into()),
        body: Bytes::from(event("direct")),
    };
    assert!(matches!(
        backend.enqueue(delivery.clone()).await.unwrap(),
        Enqueued::Stored { .. }
    ));
    assert_eq!(
        backend.enqueue(delivery).await.unwrap(),
        Enqueued::Duplicate
    );
}

every_store!(
    a_batched_claim_takes_each_delivery_once_while_its_lease_holds,
    with_batched_records_each_completion_is_recorded_once,
    a_worker_handles_a_burst_each_once,
    retention_deletes_completed_deliveries_in_bounded_batches,
    a_workers_retention_deletes_completed_deliveries_but_keeps_dead_letters,
    a_backend_stores_a_new_delivery_once,
);
