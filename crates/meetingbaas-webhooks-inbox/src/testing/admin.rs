//! Administration: listing, redrive, forget, purge.

use std::time::Duration;

use super::{TestStore, enqueue, event, fast, stored, wait_for};
use crate::{Enqueued, HandlerError, Job, ListQuery, State};

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
