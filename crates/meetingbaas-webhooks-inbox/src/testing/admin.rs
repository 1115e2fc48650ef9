//! Administration: listing, redrive, forget, purge.

use std::time::Duration;

use super::{TestStore, enqueue, event, fast, stored, wait_for};
use crate::{Enqueued, HandlerError, Job, ListQuery, State, Verdict};

/// Forgetting a key lets a copy through (a deliberate resend); purge deletes dead letters older
/// than its age only.
pub async fn forgetting_a_key_lets_a_resend_through_and_purge_removes_dead_letters(
    test: TestStore,
) {
    let inbox = test.inbox();
    let body = event("resent");
    let id = stored(inbox, body.clone()).await;
    assert_eq!(enqueue(inbox, body.clone()).await, Enqueued::Duplicate);
    let key = inbox.show(&id).await.expect("stored").summary.key;
    assert!(inbox.forget(&key).await.expect("forget"));
    assert!(!inbox.forget(&key).await.expect("forget"));
    assert!(matches!(
        enqueue(inbox, body).await,
        Enqueued::Stored { .. }
    ));
    assert!(inbox.show(&id).await.expect("stored").summary.forgotten);

    let worker = fast(inbox)
        .fallback(|_job: Job| async { Err(HandlerError::permanent("no")) })
        .build()
        .spawn();
    wait_for(inbox, "dead letters", |s| s.dead == 2).await;
    worker.shutdown().await;
    let hour = Duration::from_secs(3600);
    assert_eq!(inbox.purge(State::Dead, hour).await.expect("purge"), 0);
    assert_eq!(
        inbox
            .purge(State::Dead, Duration::ZERO)
            .await
            .expect("purge"),
        2
    );
    assert_eq!(inbox.stats().await.expect("stats").dead, 0);
    assert!(inbox.show(&id).await.is_err());
}

/// A permanent error dead-letters at once; listing filters by state and kind; redriving the
/// dead letters of a kind queues them again.
pub async fn a_permanent_error_dead_letters_at_once_and_redrive_all_requeues(test: TestStore) {
    let inbox = test.inbox();
    for bot in ["p-1", "p-2"] {
        stored(inbox, event(bot)).await;
    }
    let worker = fast(inbox)
        .fallback(|_job: Job| async { Err(HandlerError::permanent("bad data")) })
        .build()
        .spawn();
    wait_for(inbox, "two dead letters", |s| s.dead == 2).await;
    worker.shutdown().await;
    let dead = inbox
        .list(ListQuery {
            state: Some(State::Dead),
            kind: Some("bot_completed".into()),
            limit: 10,
            ..ListQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(dead.len(), 2);
    assert!(dead.iter().all(|d| d.attempts == 1));
    assert_eq!(
        inbox
            .redrive_dead(Some("bot_failed"))
            .await
            .expect("redrive"),
        0
    );
    assert_eq!(
        inbox
            .redrive_dead(Some("bot_completed"))
            .await
            .expect("redrive"),
        2
    );
    assert_eq!(inbox.stats().await.expect("stats").queued, 2);
}

/// A redrive starts a new run: each attempt records its run, the delivery counts its runs, and
/// the oldest pending age counts from the redrive, not from the receipt (a redriven dead letter
/// is not a delivery pending for days).
pub async fn a_redrive_starts_a_new_run_and_pending_age_counts_from_it(test: TestStore) {
    let inbox = test.inbox();
    let id = stored(inbox, event("rerun")).await;
    let refuse = || {
        inbox
            .worker()
            .fallback(|_job: Job| async { Err(HandlerError::permanent("refused")) })
            .build()
            .run_until_idle()
    };
    let first = refuse().await;
    assert_eq!(first.len(), 1);
    assert!(matches!(first[0].verdict, Verdict::Dead { .. }));
    // Received a while ago (the age is in whole seconds).
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    inbox.redrive(&id).await.expect("redrive");
    let stats = inbox.stats().await.expect("stats");
    assert_eq!(stats.queued, 1);
    let age = stats.oldest_pending_age_secs.expect("one pending");
    assert!(
        age < 2,
        "counted from the receipt, not the redrive: {age} s"
    );

    let second = refuse().await;
    assert_eq!(second.len(), 1);
    assert_eq!(
        second[0].attempt, 1,
        "attempts count again from 1 in a new run"
    );
    let shown = inbox.show(&id).await.expect("stored");
    assert_eq!(shown.summary.runs, 2);
    assert_eq!(shown.summary.attempts, 2);
    let runs: Vec<(u32, u32)> = shown.attempts.iter().map(|a| (a.number, a.run)).collect();
    assert_eq!(runs, [(1, 1), (2, 2)]);
}

/// A listing filtered by bot, found by key, and paged back from an id, newest first.
pub async fn a_listing_filters_by_bot_and_key_and_pages_back(test: TestStore) {
    let inbox = test.inbox();
    let mut ids = Vec::new();
    for bot in ["list-a", "list-b", "list-a", "list-b", "list-a"] {
        ids.push(
            stored(
                inbox,
                super::order::status(bot, "joining_call", ids.len() as u32),
            )
            .await,
        );
    }
    let listed = |query: ListQuery| async move {
        inbox
            .list(query)
            .await
            .expect("a list")
            .into_iter()
            .map(|summary| summary.id)
            .collect::<Vec<_>>()
    };
    let of_a = listed(ListQuery {
        bot_id: Some("list-a".into()),
        ..ListQuery::default()
    })
    .await;
    assert_eq!(of_a, vec![ids[4].clone(), ids[2].clone(), ids[0].clone()]);
    let key = inbox.show(&ids[3]).await.expect("stored").summary.key;
    let by_key = listed(ListQuery {
        key: Some(key),
        ..ListQuery::default()
    })
    .await;
    assert_eq!(by_key, vec![ids[3].clone()]);
    let unknown = listed(ListQuery {
        key: Some("callback:sha256:none".into()),
        ..ListQuery::default()
    })
    .await;
    assert!(unknown.is_empty());
    let first = listed(ListQuery {
        limit: 2,
        ..ListQuery::default()
    })
    .await;
    assert_eq!(first, vec![ids[4].clone(), ids[3].clone()]);
    let next = listed(ListQuery {
        limit: 2,
        before: first.last().cloned(),
        ..ListQuery::default()
    })
    .await;
    assert_eq!(next, vec![ids[2].clone(), ids[1].clone()]);
    let queued_of_b_before = listed(ListQuery {
        state: Some(State::Queued),
        bot_id: Some("list-b".into()),
        before: Some(ids[3].clone()),
        ..ListQuery::default()
    })
    .await;
    assert_eq!(queued_of_b_before, vec![ids[1].clone()]);
}
