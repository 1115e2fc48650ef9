//! The worker's side of a store: batched claims under leases, waits, records accepted only
//! from the lease's holder, retention in bounded batches, bodies dropped after completion.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::{TestStore, enqueue, event, stored, stored_many};
use crate::{Attempt, Claimed, Error, State, Store, Verdict, now_ms};
use meetingbaas_webhooks_receiver::Enqueued;

const LEASE: Duration = Duration::from_millis(400);

fn ids(claimed: &[Claimed]) -> BTreeSet<String> {
    claimed.iter().map(|c| c.id.clone()).collect()
}

fn success(claimed: &Claimed) -> Attempt {
    Attempt {
        number: claimed.attempt_total,
        run: claimed.run,
        started_ms: now_ms(),
        duration_ms: 1,
        error: None,
    }
}

/// Finishes every claim at once (concurrent calls: the stores batch them); how many were
/// recorded.
async fn finish_all(store: &Arc<dyn Store>, claims: &[Claimed]) -> usize {
    let mut finishing = tokio::task::JoinSet::new();
    for claimed in claims {
        let (store, claimed) = (Arc::clone(store), claimed.clone());
        finishing.spawn(async move {
            let attempt = success(&claimed);
            store.finish(claimed, attempt, Verdict::Complete).await
        });
    }
    let mut recorded = 0;
    while let Some(result) = finishing.join_next().await {
        if result.expect("a finish").expect("the store answers") {
            recorded += 1;
        }
    }
    recorded
}

/// A claim of 8 takes 8; a claim of 50 the other 12, none of the first again; while the leases
/// hold, nothing is left.
pub async fn a_batched_claim_takes_each_delivery_once_while_its_lease_holds(test: TestStore) {
    let (store, inbox) = (test.store(), test.inbox());
    let all = stored_many(inbox, "lease", 20).await;
    let lease = Duration::from_secs(60);
    let first = store.claim(8, lease).await.expect("a claim");
    assert_eq!(first.len(), 8);
    let second = store.claim(50, lease).await.expect("a claim");
    assert_eq!(second.len(), 12);
    assert!(ids(&first).is_disjoint(&ids(&second)));
    let mut both = ids(&first);
    both.extend(ids(&second));
    assert_eq!(both, all);
    assert!(store.claim(50, lease).await.expect("a claim").is_empty());
    let stats = inbox.stats().await.expect("stats");
    assert_eq!((stats.queued, stats.running), (0, 20));
    assert!(first.iter().chain(&second).all(|c| c.attempt == 1));
}

/// A holder that goes quiet past its lease loses its deliveries to another worker; its records
/// are refused, the new holder's recorded once, and the lost attempt is recorded as expired.
pub async fn with_batched_records_each_completion_is_recorded_once(test: TestStore) {
    let (store, inbox) = (test.store(), test.inbox());
    let all = stored_many(inbox, "once", 16).await;
    let lost = store.claim(16, LEASE).await.expect("a claim");
    assert_eq!(ids(&lost), all);
    tokio::time::sleep(LEASE * 2).await;
    let mut taken = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while taken.len() < 16 {
        assert!(tokio::time::Instant::now() < deadline, "not taken over");
        taken.extend(store.claim(16, LEASE).await.expect("a claim"));
    }
    assert_eq!(ids(&taken), all);
    assert!(taken.iter().all(|c| c.attempt == 2));
    assert_eq!(finish_all(store, &lost).await, 0);
    assert_eq!(finish_all(store, &taken).await, 16);
    assert_eq!(finish_all(store, &taken).await, 0);
    let stats = inbox.stats().await.expect("stats");
    assert_eq!((stats.completed, stats.running, stats.queued), (16, 0, 0));
    for id in &all {
        let shown = inbox.show(id).await.expect("stored");
        assert_eq!(shown.summary.state, State::Completed);
        assert_eq!(shown.attempts.len(), 2, "{id}: {:?}", shown.attempts);
        let expired = shown.attempts[0].error.as_deref().unwrap_or_default();
        assert!(expired.contains("lease expired"), "{expired}");
        assert_eq!(shown.attempts[1].error, None);
    }
}

/// A wait ends when a delivery is stored (not at its hour-long timeout), and claims nothing: a
/// wait dropped halfway leaves the delivery to the next claim.
pub async fn a_wait_ends_when_a_delivery_is_stored_and_claims_nothing(test: TestStore) {
    let (store, inbox) = (test.store(), test.inbox());
    assert!(store.claim(10, LEASE).await.expect("a claim").is_empty());
    let waiting = tokio::spawn({
        let store = Arc::clone(store);
        async move { store.wait(Duration::from_secs(3600)).await }
    });
    // A wait that is dropped at once.
    drop(
        tokio::time::timeout(
            Duration::from_millis(1),
            store.wait(Duration::from_secs(3600)),
        )
        .await,
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let id = stored(inbox, event("woken")).await;
    tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("the wait ended when the delivery was stored")
        .expect("a task")
        .expect("the store answers");
    let claimed = store.claim(10, LEASE).await.expect("a claim");
    assert_eq!(ids(&claimed), BTreeSet::from([id]));
}

/// Retention deletes completed deliveries older than its age, at most `limit` per call.
pub async fn retention_deletes_completed_deliveries_in_bounded_batches(test: TestStore) {
    let (store, inbox) = (test.store(), test.inbox());
    stored_many(inbox, "prune", 5).await;
    let claims = store
        .claim(5, Duration::from_secs(60))
        .await
        .expect("a claim");
    assert_eq!(finish_all(store, &claims).await, 5);
    let day = Duration::from_secs(86_400);
    assert_eq!(
        store.prune(State::Completed, day, 2).await.expect("prune"),
        0
    );
    for expected in [2, 2, 1, 0] {
        let deleted = store
            .prune(State::Completed, Duration::ZERO, 2)
            .await
            .expect("prune");
        assert_eq!(deleted, expected);
    }
    assert_eq!(inbox.stats().await.expect("stats").completed, 0);
    for claimed in &claims {
        assert!(
            inbox.show(&claimed.id).await.is_err(),
            "{} kept",
            claimed.id
        );
    }
}

/// Dropping bodies takes only completed deliveries older than its age, at most `limit` per
/// call, going on from where the last call stopped; a dropped delivery keeps its summary,
/// attempts and key (a copy is still a duplicate), says `body_dropped`, and cannot be redriven;
/// dead letters and pending deliveries keep their bodies.
pub async fn dropping_bodies_keeps_the_rest_of_completed_deliveries(test: TestStore) {
    let (store, inbox) = (test.store(), test.inbox());
    let completed = stored_many(inbox, "drop", 5).await;
    let claims = store
        .claim(5, Duration::from_secs(60))
        .await
        .expect("a claim");
    assert_eq!(ids(&claims), completed);
    assert_eq!(finish_all(store, &claims).await, 5);
    let dead = stored(inbox, event("drop-dead")).await;
    let claim = store
        .claim(1, Duration::from_secs(60))
        .await
        .expect("a claim");
    let attempt = success(&claim[0]);
    let reason = "refused".to_string();
    assert!(
        store
            .finish(claim[0].clone(), attempt, Verdict::Dead { reason })
            .await
            .expect("recorded")
    );
    let pending = stored(inbox, event("drop-pending")).await;

    let day = Duration::from_secs(86_400);
    assert_eq!(store.drop_bodies(day, 2).await.expect("drop"), 0);
    for expected in [2, 2, 1, 0] {
        let passed = store.drop_bodies(Duration::ZERO, 2).await.expect("drop");
        assert_eq!(passed, expected);
    }
    for id in &completed {
        let shown = inbox.show(id).await.expect("kept");
        assert!(shown.body_dropped, "{id}: {shown:?}");
        assert!(shown.body.is_empty());
        assert_eq!(shown.summary.state, State::Completed);
        assert!(
            shown.summary.key.contains(":sha256:"),
            "{:?}",
            shown.summary.key
        );
        assert_eq!(shown.attempts.len(), 1);
        assert_eq!(
            inbox.redrive(id).await,
            Err(Error::BodyDropped(id.clone())),
            "{id}"
        );
    }
    // The keys stay: a copy of a delivery whose body was dropped is still a duplicate.
    assert_eq!(enqueue(inbox, event("drop-0")).await, Enqueued::Duplicate);
    for id in [&dead, &pending] {
        let shown = inbox.show(id).await.expect("kept");
        assert!(!shown.body_dropped, "{id}");
        assert!(!shown.body.is_empty(), "{id}");
    }
    inbox
        .redrive(&dead)
        .await
        .expect("a dead letter keeps its body");
    // Completed again later: passed again.
    let again = store
        .claim(2, Duration::from_secs(60))
        .await
        .expect("a claim");
    assert_eq!(ids(&again), BTreeSet::from([dead.clone(), pending.clone()]));
    assert_eq!(finish_all(store, &again).await, 2);
    assert_eq!(
        store.drop_bodies(Duration::ZERO, 10).await.expect("drop"),
        2
    );
    assert!(inbox.show(&dead).await.expect("kept").body_dropped);
    assert_eq!(
        store
            .prune(State::Completed, Duration::ZERO, 10)
            .await
            .expect("prune"),
        7
    );
}
