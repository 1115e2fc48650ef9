//! The inbox's behaviour, the same scenarios against every store: a real SQLite file in a
//! temporary directory, a real `redis-server` started per test, and memory.

mod common;

use common::{SECRET, delivery, event};

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use meetingbaas_webhooks::{Bytes, Event, EventKind, Verifier};
use meetingbaas_webhooks_conformance::redis_server::RedisServer;
use meetingbaas_webhooks_inbox::{
    Enqueued, HandlerError, Inbox, Job, ListQuery, RetryPolicy, State, WorkerBuilder,
};
use meetingbaas_webhooks_receiver::{EventLabel, Pipeline};

/// A store under test, and what keeps it alive.
struct Store {
    inbox: Inbox,
    _dir: Option<tempfile::TempDir>,
    _redis: Option<RedisServer>,
}

async fn sqlite() -> Store {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::open(&format!(
        "sqlite://{}",
        dir.path().join("inbox.db").display()
    ))
    .await
    .unwrap();
    Store {
        inbox,
        _dir: Some(dir),
        _redis: None,
    }
}

async fn redis() -> Store {
    let server = RedisServer::start();
    let inbox = Inbox::open(&server.url()).await.unwrap();
    Store {
        inbox,
        _dir: None,
        _redis: Some(server),
    }
}

async fn memory() -> Store {
    Store {
        inbox: Inbox::memory(),
        _dir: None,
        _redis: None,
    }
}

async fn enqueue(inbox: &Inbox, body: &str) -> Enqueued {
    let delivery = delivery(body.to_string());
    let label = match delivery.parse_event() {
        Ok(event) => EventLabel::new(Some(event.kind()), Some(event.name().to_string())),
        Err(_) => EventLabel::default(),
    };
    inbox.intake().enqueue(&delivery, label).await.unwrap()
}

fn fast(inbox: &Inbox) -> WorkerBuilder {
    inbox
        .worker()
        .poll_interval(Duration::from_millis(20))
        .lease(Duration::from_millis(900))
        .retry(
            RetryPolicy::new()
                .max_attempts(3)
                .initial_delay(Duration::from_millis(20))
                .max_delay(Duration::from_millis(100)),
        )
}

async fn wait_for(
    inbox: &Inbox,
    what: &str,
    done: impl Fn(&meetingbaas_webhooks_inbox::Stats) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let stats = inbox.stats().await.unwrap();
        if done(&stats) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn intake_answers_queued_then_duplicate(store: Store) {
    let pipeline = Pipeline::new(Verifier::builder().callback_secret(SECRET).build().unwrap())
        .inbox(store.inbox.intake());
    let headers = [("x-mb-secret", SECRET)];
    let body = event("b-1");
    let mut answers = Vec::new();
    for _ in 0..2 {
        let stream = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(Bytes::from(
            body.clone(),
        ))]);
        let received = pipeline.read(&headers, stream).await.unwrap();
        let answer = pipeline
            .admit::<Event, _>(&headers, received)
            .await
            .into_result()
            .unwrap_err();
        answers.push((
            answer.status(),
            String::from_utf8_lossy(answer.body()).into_owned(),
        ));
    }
    assert_eq!(answers[0].0, 202);
    assert!(
        answers[0].1.starts_with(r#"{"status":"queued","id":""#),
        "{}",
        answers[0].1
    );
    assert_eq!(answers[1], (200, r#"{"status":"duplicate"}"#.to_string()));
    let stats = store.inbox.stats().await.unwrap();
    assert_eq!(stats.queued, 1);
    assert!(stats.oldest_pending_age_secs.is_some());
}

async fn a_body_that_is_not_an_event_is_stored_and_dead_lettered_as_unreadable(store: Store) {
    let inbox = &store.inbox;
    let Enqueued::Stored { id } = enqueue(inbox, "not json at all").await else {
        panic!("not stored")
    };
    let ran = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&ran);
    let worker = fast(inbox)
        .fallback(move |_job: Job| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        })
        .build()
        .spawn();
    wait_for(inbox, "a dead letter", |s| s.dead == 1).await;
    worker.shutdown().await;
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    let shown = inbox.show(&id).await.unwrap();
    assert_eq!(shown.summary.state, State::Dead);
    assert!(shown.summary.dead_reason.unwrap().starts_with("unreadable"));
    assert_eq!(&shown.body[..], b"not json at all");
}

async fn a_handler_failing_twice_then_succeeding_completes_with_three_attempts(store: Store) {
    let inbox = &store.inbox;
    let Enqueued::Stored { id } = enqueue(inbox, &event("flaky")).await else {
        panic!()
    };
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
    let shown = inbox.show(&id).await.unwrap();
    assert_eq!(shown.summary.state, State::Completed);
    assert_eq!(shown.summary.attempts, 3);
    let errors: Vec<_> = shown.attempts.iter().map(|a| a.error.clone()).collect();
    assert_eq!(
        errors,
        vec![
            Some("CRM down (1)".to_string()),
            Some("CRM down (2)".to_string()),
            None
        ]
    );
    assert!(shown.attempts.iter().all(|a| a.started_ms > 0));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

async fn an_always_failing_handler_dead_letters_then_redrive_runs_it_again(store: Store) {
    let inbox = &store.inbox;
    let Enqueued::Stored { id } = enqueue(inbox, &event("doomed")).await else {
        panic!()
    };
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
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
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 3);
    assert!(
        dead[0]
            .dead_reason
            .as_deref()
            .unwrap()
            .contains("gave up after 3 attempts")
    );
    let shown = inbox.show(&id).await.unwrap();
    assert_eq!(shown.attempts.len(), 3);

    healthy.store(true, Ordering::SeqCst);
    inbox.redrive(&id).await.unwrap();
    wait_for(inbox, "completion after redrive", |s| s.completed == 1).await;
    worker.shutdown().await;
    let shown = inbox.show(&id).await.unwrap();
    assert_eq!(shown.summary.attempts, 4);
    assert_eq!(shown.attempts.last().unwrap().error, None);
}

async fn a_permanent_error_dead_letters_at_once_and_redrive_all_requeues(store: Store) {
    let inbox = &store.inbox;
    for bot in ["p-1", "p-2"] {
        enqueue(inbox, &event(bot)).await;
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
        .unwrap();
    assert_eq!(dead.len(), 2);
    assert!(dead.iter().all(|d| d.attempts == 1));
    assert_eq!(inbox.redrive_dead(Some("bot_failed")).await.unwrap(), 0);
    assert_eq!(inbox.redrive_dead(Some("bot_completed")).await.unwrap(), 2);
    assert_eq!(inbox.stats().await.unwrap().queued, 2);
}

async fn a_panicking_or_hanging_handler_is_retried(store: Store) {
    let inbox = &store.inbox;
    let Enqueued::Stored { id } = enqueue(inbox, &event("wobbly")).await else {
        panic!()
    };
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
    let shown = inbox.show(&id).await.unwrap();
    let errors: Vec<_> = shown.attempts.iter().map(|a| a.error.clone()).collect();
    assert!(
        errors[0].as_deref().unwrap().contains("panicked: boom"),
        "{errors:?}"
    );
    assert!(
        errors[1].as_deref().unwrap().contains("timed out"),
        "{errors:?}"
    );
    assert_eq!(errors[2], None);
}

async fn forgetting_a_key_lets_a_resend_through_and_purge_removes_dead_letters(store: Store) {
    let inbox = &store.inbox;
    let body = event("resent");
    let Enqueued::Stored { id } = enqueue(inbox, &body).await else {
        panic!()
    };
    assert_eq!(enqueue(inbox, &body).await, Enqueued::Duplicate);
    let key = inbox.show(&id).await.unwrap().summary.key;
    assert!(inbox.forget(&key).await.unwrap());
    assert!(!inbox.forget(&key).await.unwrap());
    assert!(matches!(
        enqueue(inbox, &body).await,
        Enqueued::Stored { .. }
    ));
    assert!(inbox.show(&id).await.unwrap().summary.forgotten);

    let worker = fast(inbox)
        .fallback(|_job: Job| async { Err(HandlerError::permanent("no")) })
        .build()
        .spawn();
    wait_for(inbox, "dead letters", |s| s.dead == 2).await;
    worker.shutdown().await;
    assert_eq!(
        inbox
            .purge(State::Dead, Duration::from_secs(3600))
            .await
            .unwrap(),
        0
    );
    assert_eq!(inbox.purge(State::Dead, Duration::ZERO).await.unwrap(), 2);
    assert_eq!(inbox.stats().await.unwrap().dead, 0);
    assert!(inbox.show(&id).await.is_err());
}

async fn concurrent_deliveries_each_complete_once(store: Store) {
    let inbox = &store.inbox;
    let mut sends = tokio::task::JoinSet::new();
    for n in 0..200 {
        let inbox = inbox.clone();
        sends.spawn(async move { enqueue(&inbox, &event(&format!("bot-{n}"))).await });
    }
    let mut stored = 0;
    while let Some(result) = sends.join_next().await {
        assert!(matches!(result.unwrap(), Enqueued::Stored { .. }));
        stored += 1;
    }
    assert_eq!(stored, 200);
    let calls = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&calls);
    let worker = fast(inbox)
        .concurrency(8)
        .fallback(move |_job: Job| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        })
        .build()
        .spawn();
    wait_for(inbox, "200 completions", |s| s.completed == 200).await;
    worker.shutdown().await;
    assert_eq!(calls.load(Ordering::SeqCst), 200);
    let stats = inbox.stats().await.unwrap();
    assert_eq!((stats.queued, stats.running, stats.retrying), (0, 0, 0));
}

async fn a_crashed_workers_delivery_is_taken_up_after_its_lease(store: Store) {
    let inbox = &store.inbox;
    let Enqueued::Stored { id } = enqueue(inbox, &event("orphan")).await else {
        panic!()
    };
    // A worker that takes the delivery and then vanishes without a word (its task aborted, its
    // lease never renewed again): as if its process were killed.
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
    let shown = inbox.show(&id).await.unwrap();
    assert_eq!(shown.summary.attempts, 2);
    assert!(
        shown.attempts[0]
            .error
            .as_deref()
            .unwrap()
            .contains("lease expired")
    );
}

every_store!(
    intake_answers_queued_then_duplicate,
    a_body_that_is_not_an_event_is_stored_and_dead_lettered_as_unreadable,
    a_handler_failing_twice_then_succeeding_completes_with_three_attempts,
    an_always_failing_handler_dead_letters_then_redrive_runs_it_again,
    a_permanent_error_dead_letters_at_once_and_redrive_all_requeues,
    a_panicking_or_hanging_handler_is_retried,
    forgetting_a_key_lets_a_resend_through_and_purge_removes_dead_letters,
    concurrent_deliveries_each_complete_once,
    a_crashed_workers_delivery_is_taken_up_after_its_lease,
);

#[tokio::test]
async fn an_unwritable_store_is_a_clear_error_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir").join("inbox.db");
    let err = Inbox::open(&format!("sqlite://{}", missing.display()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot open"), "{err}");

    let corrupt = dir.path().join("corrupt.db");
    std::fs::write(&corrupt, vec![0x42; 8192]).unwrap();
    let err = Inbox::open(&format!("sqlite://{}", corrupt.display()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a database"), "{err}");

    let err = Inbox::open("redis://127.0.0.1:1").await.unwrap_err();
    assert!(err.to_string().contains("inbox store"), "{err}");
    assert!(Inbox::open("postgres://x").await.is_err());
}

#[cfg(unix)]
#[tokio::test]
async fn a_read_only_store_file_is_a_clear_error_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.db");
    drop(Inbox::sqlite(&path).unwrap());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    // Root writes read-only files anyway: then there is nothing to check.
    if std::fs::OpenOptions::new().append(true).open(&path).is_ok() {
        return;
    }
    let err = Inbox::sqlite(&path).unwrap_err();
    assert!(err.to_string().contains("not writable"), "{err}");
}
