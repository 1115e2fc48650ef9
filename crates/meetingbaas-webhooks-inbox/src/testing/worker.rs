//! The worker on a store: retries, dead letters, panics, timeouts, crashed workers, bursts,
//! retention, shutdown.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use super::{TestStore, event, fast, stored, stored_many, wait_for};
use crate::event::BotCompleted;
use crate::{EventKind, HandlerError, Job, ListQuery, RetryPolicy, State, Verdict};

/// A handler failing twice and then succeeding: three attempts, each recorded with its error.
pub async fn a_handler_failing_twice_then_succeeding_completes_with_three_attempts(
    test: TestStore,
) {
    let inbox = test.inbox();
    let id = stored(inbox, event("flaky")).await;
    let calls = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&calls);
    let worker = fast(inbox)
        .on(EventKind::BotCompleted, move |job: Job| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                assert_eq!(job.attempt(), n);
                assert_eq!(job.event().bot_id(), Some("flaky"));
                if n < 3 {
                    Err(HandlerError::retry(format!("CRM down ({n})")))
                } else {
                    Ok(())
                }
            }
        })
        .build()
        .spawn();
    wait_for(inbox, "completion", |s| s.completed == 1).await;
    worker.shutdown().await;
    let shown = inbox.show(&id).await.expect("stored");
    assert_eq!(shown.summary.state, State::Completed);
    assert_eq!(shown.summary.attempts, 3);
    let errors: Vec<_> = shown.attempts.iter().map(|a| a.error.clone()).collect();
    let expected = [
        Some("CRM down (1)".into()),
        Some("CRM down (2)".into()),
        None,
    ];
    assert_eq!(errors, expected);
    assert!(shown.attempts.iter().all(|a| a.started_ms > 0));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

/// A handler that always fails: a dead letter after the last attempt; redriven once the cause
/// is fixed, it completes.
pub async fn an_always_failing_handler_dead_letters_then_redrive_runs_it_again(test: TestStore) {
    let inbox = test.inbox();
    let id = stored(inbox, event("doomed")).await;
    let healthy = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&healthy);
    let worker = fast(inbox)
        .fallback(move |_job: Job| {
            let healthy = flag.load(Ordering::SeqCst);
            async move {
                if healthy {
                    Ok(())
                } else {
                    Err(HandlerError::retry("always"))
                }
            }
        })
        .build()
        .spawn();
    wait_for(inbox, "a dead letter", |s| s.dead == 1).await;
    let dead = inbox
        .list(ListQuery {
            state: Some(State::Dead),
            ..ListQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 3);
    let reason = dead[0].dead_reason.as_deref().unwrap_or_default();
    assert!(reason.contains("gave up after 3 attempts"), "{reason}");
    assert_eq!(inbox.show(&id).await.expect("stored").attempts.len(), 3);

    healthy.store(true, Ordering::SeqCst);
    inbox.redrive(&id).await.expect("redrive");
    wait_for(inbox, "completion after redrive", |s| s.completed == 1).await;
    worker.shutdown().await;
    let shown = inbox.show(&id).await.expect("stored");
    assert_eq!(shown.summary.attempts, 4);
    assert_eq!(shown.attempts.last().and_then(|a| a.error.clone()), None);
}

/// A panicking handler and a hanging one (past its timeout) are each retried.
pub async fn a_panicking_or_hanging_handler_is_retried(test: TestStore) {
    let inbox = test.inbox();
    let id = stored(inbox, event("wobbly")).await;
    let calls = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&calls);
    let worker = fast(inbox)
        // Long enough for the panic hook to print a backtrace on a busy machine.
        .timeout(Duration::from_secs(2))
        .fallback(move |_job: Job| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                match n {
                    1 => panic!("boom"),
                    2 => {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        Ok(())
                    }
                    _ => Ok(()),
                }
            }
        })
        .build()
        .spawn();
    wait_for(inbox, "completion", |s| s.completed == 1).await;
    worker.shutdown().await;
    let shown = inbox.show(&id).await.expect("stored");
    let errors: Vec<_> = shown.attempts.iter().map(|a| a.error.clone()).collect();
    assert!(
        errors[0]
            .as_deref()
            .unwrap_or_default()
            .contains("panicked: boom"),
        "{errors:?}"
    );
    assert!(
        errors[1]
            .as_deref()
            .unwrap_or_default()
            .contains("timed out"),
        "{errors:?}"
    );
    assert_eq!(errors[2], None);
}

/// A worker that takes a delivery and vanishes (its task aborted, its lease never renewed, as if
/// its process were killed): another takes it up once the lease has run out.
pub async fn a_crashed_workers_delivery_is_taken_up_after_its_lease(test: TestStore) {
    let inbox = test.inbox();
    let id = stored(inbox, event("orphan")).await;
    let stuck = fast(inbox)
        .fallback(|_job: Job| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        })
        .build();
    let task = tokio::spawn(stuck.run(std::future::pending()));
    wait_for(inbox, "the first attempt", |s| s.running == 1).await;
    task.abort();
    let _ = task.await;
    let worker = fast(inbox)
        .fallback(|_job: Job| async { Ok(()) })
        .build()
        .spawn();
    wait_for(inbox, "completion", |s| s.completed == 1).await;
    worker.shutdown().await;
    let shown = inbox.show(&id).await.expect("stored");
    assert_eq!(shown.summary.attempts, 2);
    let expired = shown.attempts[0].error.as_deref().unwrap_or_default();
    assert!(expired.contains("lease expired"), "{expired}");
}

/// A burst of 300 is handled, each delivery once.
pub async fn a_worker_handles_a_burst_each_once(test: TestStore) {
    let inbox = test.inbox();
    let all = stored_many(inbox, "burst", 300).await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let worker = inbox
        .worker()
        .concurrency(16)
        .poll_interval(Duration::from_millis(20))
        .fallback(move |job: Job| {
            record
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(job.id().to_string());
            async { Ok::<(), HandlerError>(()) }
        })
        .build()
        .spawn();
    wait_for(inbox, "300 completions", |s| s.completed == 300).await;
    worker.shutdown().await;
    let seen = seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    assert_eq!(seen.len(), 300, "each handled once");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), all);
}

/// A long retention (or none) keeps completed deliveries; a zero one deletes them in the
/// background and keeps the dead letters.
pub async fn a_workers_retention_deletes_completed_deliveries_but_keeps_dead_letters(
    test: TestStore,
) {
    let inbox = test.inbox();
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
    let kept = stored_many(inbox, "keep", 6).await;
    let dead = stored(inbox, event("refused")).await;
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
            inbox.show(id).await.expect("kept").summary.state,
            State::Completed
        );
    }
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
    assert_eq!(
        inbox.show(&dead).await.expect("kept").summary.state,
        State::Dead
    );
    for id in &kept {
        assert!(inbox.show(id).await.is_err(), "{id} kept");
    }
    assert_eq!(handled.load(Ordering::SeqCst), 6, "nothing ran twice");
}

/// An idle worker stops at once: its wait is dropped, not sat out (here an hour-long poll
/// interval; the bound below is only there so that a broken store fails instead of hanging).
pub async fn an_idle_workers_shutdown_returns_at_once(test: TestStore) {
    let inbox = test.inbox();
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_secs(3600))
        .fallback(|_job: Job| async { Ok(()) })
        .build()
        .spawn();
    // Let it claim nothing and start waiting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    tokio::time::timeout(Duration::from_secs(30), worker.shutdown())
        .await
        .expect("an idle worker stops without sitting out its wait");
}

/// `run_until_idle` runs every due attempt (retries due at once included), returns them in the
/// order they ended, and leaves a retry scheduled later pending.
pub async fn run_until_idle_returns_every_attempt_and_leaves_later_retries(test: TestStore) {
    let inbox = test.inbox();
    let ok = stored(inbox, event("fine")).await;
    let flaky = stored(inbox, event("flaky")).await;
    let attempts = inbox
        .worker()
        .concurrency(1)
        .retry(
            RetryPolicy::new()
                .max_attempts(3)
                .initial_delay(Duration::ZERO)
                .jitter(0.0),
        )
        .handle(|job: Job<(), BotCompleted>| async move {
            match job.data().bot_id.as_deref() {
                Some("flaky") if job.attempt() < 2 => Err(HandlerError::retry("not yet")),
                _ => Ok(()),
            }
        })
        .build()
        .run_until_idle()
        .await;
    let mut seen: Vec<_> = attempts
        .iter()
        .map(|a| (a.id.clone(), a.attempt, a.verdict.clone(), a.error.clone()))
        .collect();
    seen.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut expected = vec![
        (ok.clone(), 1, Verdict::Complete, None),
        (
            flaky.clone(),
            1,
            Verdict::Retry { at_ms: 0 },
            Some("not yet".to_owned()),
        ),
        (flaky.clone(), 2, Verdict::Complete, None),
    ];
    expected.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    // The retry's time is the store's business: compared by variant.
    for ((id, n, verdict, error), (eid, en, everdict, eerror)) in seen.iter().zip(&expected) {
        assert_eq!((id, n, error), (eid, en, eerror));
        assert_eq!(
            std::mem::discriminant(verdict),
            std::mem::discriminant(everdict)
        );
    }
    assert_eq!(seen.len(), expected.len(), "{attempts:?}");
    assert!(
        attempts
            .iter()
            .all(|a| a.kind == Some(EventKind::BotCompleted))
    );
    let stats = inbox.stats().await.expect("stats");
    assert_eq!(
        (stats.completed, stats.queued, stats.retrying),
        (2, 0, 0),
        "{stats:?}"
    );

    // A failure retried an hour later: one attempt, and it stays pending.
    let later = stored(inbox, event("later")).await;
    let attempts = inbox
        .worker()
        .fallback(|_job: Job| async {
            Err(HandlerError::retry_after(
                "rate limited",
                Duration::from_secs(3600),
            ))
        })
        .build()
        .run_until_idle()
        .await;
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].id, later);
    assert_eq!(attempts[0].bot_id.as_deref(), Some("later"));
    assert!(matches!(attempts[0].verdict, Verdict::Retry { .. }));
    let stats = inbox.stats().await.expect("stats");
    assert_eq!(stats.retrying, 1, "{stats:?}");
}

/// With `keep_bodies(Some(ZERO))`, a worker drops the bodies of the deliveries it completed
/// (within seconds) and keeps those of its dead letters, also on passes after a dead letter;
/// without it, bodies stay.
pub async fn a_workers_keep_bodies_drops_completed_bodies_only(test: TestStore) {
    let inbox = test.inbox();
    let handler = |job: Job| async move {
        if job.event().bot_id() == Some("refused") {
            return Err(HandlerError::permanent("refused"));
        }
        Ok(())
    };
    let first = stored_many(inbox, "first", 3).await;
    let worker = fast(inbox).fallback(handler).build().spawn();
    wait_for(inbox, "the first deliveries handled", |s| s.completed == 3).await;
    worker.shutdown().await;
    for id in &first {
        assert!(!inbox.show(id).await.expect("kept").body_dropped, "{id}");
    }
    let dead = stored(inbox, event("refused")).await;
    let worker = fast(inbox)
        .keep_bodies(Some(Duration::ZERO))
        .fallback(handler)
        .build()
        .spawn();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for id in &first {
        while !inbox.show(id).await.expect("kept").body_dropped {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the body of {id} was never dropped"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    wait_for(inbox, "the dead letter", |s| s.dead == 1).await;
    // A delivery completed after the dead letter: once its body is gone, a pass has gone over
    // the dead letter too.
    let later = stored(inbox, event("later")).await;
    while !inbox.show(&later).await.expect("kept").body_dropped {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the body of {later} was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.shutdown().await;
    let shown = inbox.show(&dead).await.expect("kept");
    assert!(!shown.body_dropped && !shown.body.is_empty());
}
