//! The worker's handler forms: typed payloads, application state, a `Job` built for a test, and
//! the lines an attempt logs.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use meetingbaas_webhooks_inbox::event::{Alert, BotCompleted, CalendarConnection, Transcription};
use meetingbaas_webhooks_inbox::testing::stored;
use meetingbaas_webhooks_inbox::{
    EventKind, HandlerError, Inbox, Job, RetryPolicy, Verdict, WorkerBuilder,
};

/// What the typed handlers saw: (kind, bot or alert id, a field of the typed payload).
#[derive(Default)]
struct Seen(Mutex<Vec<(EventKind, String)>>);

impl Seen {
    fn push(&self, kind: EventKind, what: String) {
        self.0.lock().unwrap().push((kind, what));
    }

    fn sorted(&self) -> Vec<(EventKind, String)> {
        let mut seen = self.0.lock().unwrap().clone();
        seen.sort();
        seen
    }
}

fn typed_worker(inbox: &Inbox) -> WorkerBuilder<Seen> {
    inbox
        .worker()
        .state(Seen::default())
        .handle(|job: Job<Seen, BotCompleted>| async move {
            let video = job.data().video_url().unwrap_or("-").to_owned();
            job.state().push(job.kind(), video);
            Ok(())
        })
        .handle(|job: Job<Seen, Transcription>| async move {
            let bot = job.data().bot_id.clone().unwrap_or_default();
            job.state().push(job.kind(), bot);
            Ok(())
        })
        .handle(|job: Job<Seen, CalendarConnection>| async move {
            job.state().push(job.kind(), job.name().to_owned());
            Ok(())
        })
        .handle(|job: Job<Seen, Alert>| async move {
            job.state()
                .push(job.kind(), format!("{:?}", job.data().alert_rule_id));
            Ok(())
        })
        .fallback(|job: Job<Seen>| async move {
            job.state()
                .push(job.kind(), format!("fallback {}", job.event().name()));
            Ok(())
        })
}

#[tokio::test]
async fn typed_handlers_receive_their_payload_and_the_state_for_every_kind_that_carries_it() {
    let inbox = Inbox::memory();
    for body in [
        r#"{"event":"bot.completed","data":{"bot_id":"b-1","mp4":"https://rec/1"}}"#,
        r#"{"event":"transcription.available","data":{"bot_id":"b-2"}}"#,
        r#"{"event":"transcription.updated","data":{"bot_id":"b-3"}}"#,
        r#"{"event":"calendar.connection_error","data":{}}"#,
        r#"{"alert_rule_id":"rule-9","alert_type":"bot_crash"}"#,
        r#"{"event":"bot.failed","data":{"bot_id":"b-4"}}"#,
        r#"{"event":"bot.someday","data":{}}"#,
    ] {
        stored(&inbox, body).await;
    }
    let worker = typed_worker(&inbox).build();
    let attempts = worker.clone().run_until_idle().await;
    assert_eq!(attempts.len(), 7, "{attempts:?}");
    assert!(
        attempts.iter().all(|a| a.verdict == Verdict::Complete),
        "{attempts:?}"
    );
    // One state, given once, written by every handler through `Job::state`.
    let expected = [
        (EventKind::BotCompleted, "https://rec/1"),
        (EventKind::BotFailed, "fallback bot.failed"),
        (EventKind::TranscriptionAvailable, "b-2"),
        (EventKind::TranscriptionUpdated, "b-3"),
        (
            EventKind::CalendarConnectionError,
            "calendar.connection_error",
        ),
        (EventKind::Alert, "Some(\"rule-9\")"),
        (EventKind::Unknown, "fallback bot.someday"),
    ];
    let mut expected: Vec<_> = expected
        .iter()
        .map(|(kind, what)| (*kind, (*what).to_owned()))
        .collect();
    expected.sort();
    assert_eq!(worker.state().sorted(), expected);
}

#[tokio::test]
async fn a_handler_is_tested_with_a_built_job() {
    async fn recording_ready(job: Job<String, BotCompleted>) -> Result<(), HandlerError> {
        let bot = job
            .data()
            .bot_id
            .as_deref()
            .ok_or(HandlerError::permanent("no bot"))?;
        if job.attempt() < 3 {
            return Err(HandlerError::retry(format!(
                "{} is down for {bot}",
                job.state()
            )));
        }
        Ok(())
    }
    let job = Job::from_body(r#"{"event":"bot.completed","data":{"bot_id":"b-1"}}"#)
        .expect("an envelope");
    assert_eq!(job.kind(), EventKind::BotCompleted);
    assert_eq!(job.name(), "bot.completed");
    assert_eq!(job.bot_id(), Some("b-1"));
    assert_eq!(job.attempt(), 1);
    assert!(job.key().starts_with("test:"));
    let job = job
        .with_state("the CRM".to_owned())
        .typed::<BotCompleted>()
        .expect("a bot.completed carries a BotCompleted");
    assert_eq!(
        recording_ready(job.clone()).await,
        Err(HandlerError::retry("the CRM is down for b-1"))
    );
    assert_eq!(recording_ready(job.with_attempt(3)).await, Ok(()));

    // An event of another type is given back, untouched.
    let job = Job::from_body(r#"{"event":"bot.failed","data":{"bot_id":"b-2"}}"#).unwrap();
    let job = job
        .typed::<BotCompleted>()
        .expect_err("a bot.failed is no BotCompleted");
    assert_eq!(job.event().bot_id(), Some("b-2"));
    // A body that is not an envelope is refused as the worker would dead-letter it.
    assert!(Job::from_body("not json").is_err());
    // Its Debug shows what it is, not its data.
    let job = Job::from_body(
        r#"{"event":"bot.completed","data":{"bot_id":"b-1","mp4":"https://secret-link"}}"#,
    )
    .unwrap();
    let debug = format!("{job:?}");
    assert!(
        debug.contains("BotCompleted") && !debug.contains("secret-link"),
        "{debug}"
    );
}

/// Where the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_failure_is_a_warn_line_and_a_dead_letter_an_error_line() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let inbox = Inbox::memory();
    let id = stored(
        &inbox,
        r#"{"event":"bot.completed","data":{"bot_id":"b-7"}}"#,
    )
    .await;
    let attempts = inbox
        .worker()
        .retry(
            RetryPolicy::new()
                .max_attempts(2)
                .initial_delay(Duration::ZERO),
        )
        .fallback(|_job: Job| async { Err(HandlerError::retry("the CRM said 502")) })
        .build()
        .run_until_idle()
        .await;
    assert_eq!(attempts.len(), 2);
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = logs.lines().collect();
    let warn = lines
        .iter()
        .find(|line| line.contains("WARN") && line.contains("will retry"))
        .unwrap_or_else(|| panic!("no warn line: {logs}"));
    for part in [
        &format!("id=\"{id}\"") as &str,
        "kind=\"bot_completed\"",
        "bot_id=\"b-7\"",
        "attempt=1",
        "the CRM said 502",
    ] {
        assert!(warn.contains(part), "{part} missing from {warn}");
    }
    let error = lines
        .iter()
        .find(|line| line.contains("ERROR") && line.contains("dead-lettered"))
        .unwrap_or_else(|| panic!("no error line: {logs}"));
    for part in ["bot_id=\"b-7\"", "attempt=2", "gave up after 2 attempts"] {
        assert!(error.contains(part), "{part} missing from {error}");
    }
}

/// `run_until_idle` on a store that cannot be claimed from (a read-only file) ends after ten
/// failed claims instead of running for ever.
#[tokio::test]
async fn run_until_idle_ends_when_the_store_cannot_be_claimed_from() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.db");
    drop(meetingbaas_webhooks_inbox::SqliteBackend::open(&path).unwrap());
    let reader = meetingbaas_webhooks_inbox::SqliteReader::open(&path).unwrap();
    let inbox = Inbox::with_store(reader);
    let ended = tokio::time::timeout(
        Duration::from_secs(60),
        inbox
            .worker()
            .fallback(|_job: Job| async { Ok(()) })
            .build()
            .run_until_idle(),
    )
    .await
    .expect("it ends");
    assert!(ended.is_empty());
}

/// A store that hands the same delivery back at every claim and never records an outcome (as
/// a damaged file whose rows and indexes disagree did): the worker pauses a second after each
/// outcome it could not record, instead of spinning.
#[tokio::test]
async fn an_outcome_that_cannot_be_recorded_does_not_spin_the_worker() {
    use meetingbaas_webhooks_inbox::{
        AdminStore, Attempt, Claimed, Enqueued, IntakeStore, ListQuery, NewDelivery, State, Stats,
        StoreFuture, StoredDelivery, Summary, WorkStore,
    };
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug, Default)]
    struct Forgetful {
        claims: AtomicUsize,
    }
    fn ready<T: Send + 'static>(value: T) -> StoreFuture<T> {
        Box::pin(async move { Ok(value) })
    }
    impl IntakeStore for Forgetful {
        fn enqueue(&self, _delivery: NewDelivery) -> StoreFuture<Enqueued> {
            ready(Enqueued::Duplicate)
        }
    }
    impl WorkStore for Forgetful {
        fn claim(&self, _max: usize, _lease: Duration) -> StoreFuture<Vec<Claimed>> {
            self.claims.fetch_add(1, Ordering::Relaxed);
            ready(vec![Claimed {
                id: "1".into(),
                key: "callback:sha256:00".into(),
                kind: Some("bot_completed".into()),
                body: br#"{"event":"bot.completed","data":{"bot_id":"b-1"}}"#
                    .to_vec()
                    .into(),
                attempt: 1,
                attempt_total: 1,
                run: 1,
                received_ms: 0,
                token: "t".into(),
                ..Claimed::default()
            }])
        }
        fn wait(&self, timeout: Duration) -> StoreFuture<()> {
            Box::pin(async move {
                tokio::time::sleep(timeout).await;
                Ok(())
            })
        }
        fn extend(&self, _claims: Vec<(String, String)>, _lease: Duration) -> StoreFuture<()> {
            ready(())
        }
        fn finish(
            &self,
            _claimed: Claimed,
            _attempt: Attempt,
            _verdict: Verdict,
        ) -> StoreFuture<bool> {
            ready(false)
        }
        fn prune(&self, _state: State, _older_than: Duration, _limit: usize) -> StoreFuture<u64> {
            ready(0)
        }
    }
    impl AdminStore for Forgetful {
        fn stats(&self) -> StoreFuture<Stats> {
            ready(Stats::default())
        }
        fn list(&self, _query: ListQuery) -> StoreFuture<Vec<Summary>> {
            ready(Vec::new())
        }
        fn show(&self, _id: String) -> StoreFuture<Option<StoredDelivery>> {
            ready(None)
        }
        fn redrive(&self, _id: String) -> StoreFuture<()> {
            ready(())
        }
        fn redrive_dead(&self, _kind: Option<String>) -> StoreFuture<u64> {
            ready(0)
        }
        fn forget(&self, _key: String) -> StoreFuture<bool> {
            ready(false)
        }
        fn purge(&self, _state: State, _older_than: Duration) -> StoreFuture<u64> {
            ready(0)
        }
    }

    let store = std::sync::Arc::new(Forgetful::default());
    let inbox = Inbox::with_store(ForgetfulHandle(store.clone()));
    let worker = inbox
        .worker()
        .fallback(|_job: Job| async { Ok(()) })
        .build()
        .spawn();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    worker.shutdown().await;
    let claims = store.claims.load(Ordering::Relaxed);
    assert!(claims <= 20, "{claims} claims in 2.5 s: the worker spins");

    /// The store behind an `Arc`, so that the test keeps a handle on its counter.
    #[derive(Debug)]
    struct ForgetfulHandle(std::sync::Arc<Forgetful>);
    impl IntakeStore for ForgetfulHandle {
        fn enqueue(&self, delivery: NewDelivery) -> StoreFuture<Enqueued> {
            self.0.enqueue(delivery)
        }
    }
    impl WorkStore for ForgetfulHandle {
        fn claim(&self, max: usize, lease: Duration) -> StoreFuture<Vec<Claimed>> {
            self.0.claim(max, lease)
        }
        fn wait(&self, timeout: Duration) -> StoreFuture<()> {
            self.0.wait(timeout)
        }
        fn extend(&self, claims: Vec<(String, String)>, lease: Duration) -> StoreFuture<()> {
            self.0.extend(claims, lease)
        }
        fn finish(
            &self,
            claimed: Claimed,
            attempt: Attempt,
            verdict: Verdict,
        ) -> StoreFuture<bool> {
            self.0.finish(claimed, attempt, verdict)
        }
        fn prune(&self, state: State, older_than: Duration, limit: usize) -> StoreFuture<u64> {
            self.0.prune(state, older_than, limit)
        }
    }
    impl AdminStore for ForgetfulHandle {
        fn stats(&self) -> StoreFuture<Stats> {
            self.0.stats()
        }
        fn list(&self, query: ListQuery) -> StoreFuture<Vec<Summary>> {
            self.0.list(query)
        }
        fn show(&self, id: String) -> StoreFuture<Option<StoredDelivery>> {
            self.0.show(id)
        }
        fn redrive(&self, id: String) -> StoreFuture<()> {
            self.0.redrive(id)
        }
        fn redrive_dead(&self, kind: Option<String>) -> StoreFuture<u64> {
            self.0.redrive_dead(kind)
        }
        fn forget(&self, key: String) -> StoreFuture<bool> {
            self.0.forget(key)
        }
        fn purge(&self, state: State, older_than: Duration) -> StoreFuture<u64> {
            self.0.purge(state, older_than)
        }
    }
}

/// A delivery claimed ahead of a free slot and not started when the worker stops is handed back
/// at once (due again, its attempt recorded as not run), not left running until its lease ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_claimed_ahead_is_handed_back_at_shutdown() {
    let inbox = Inbox::memory();
    let first = stored(
        &inbox,
        meetingbaas_webhooks_inbox::testing::event("ahead-1"),
    )
    .await;
    let second = stored(
        &inbox,
        meetingbaas_webhooks_inbox::testing::event("ahead-2"),
    )
    .await;
    let (started, mut running) = tokio::sync::mpsc::unbounded_channel();
    let worker = inbox
        .worker()
        .concurrency(1)
        .shutdown_grace(Duration::from_millis(100))
        .fallback(move |job: Job| {
            let started = started.clone();
            async move {
                let _ = started.send(job.id().to_owned());
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(())
            }
        })
        .build()
        .spawn();
    // One slot: one delivery runs, the other waits in the worker's buffer.
    let running_id = tokio::time::timeout(Duration::from_secs(10), running.recv())
        .await
        .expect("a handler started")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    worker.shutdown().await;
    let waiting = if running_id == first { second } else { first };
    let handed_back = inbox.show(&waiting).await.unwrap();
    assert_ne!(
        handed_back.summary.state,
        meetingbaas_webhooks_inbox::State::Running,
        "still leased to a stopped worker"
    );
    let last = handed_back.attempts.last().expect("an attempt recorded");
    assert_eq!(
        last.error.as_deref(),
        Some("not started: the worker stopped first")
    );
}

/// The worker's warn for a `bot.completed` whose links expired (its bot id escaped), and
/// intake's warn for a payload time in the future (ordered by receipt instead).
#[tokio::test(flavor = "current_thread")]
async fn expired_links_and_a_future_event_time_are_warn_lines() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let inbox = Inbox::memory();
    let id = stored(
        &inbox,
        r#"{"event":"bot.completed","data":{"bot_id":"b-\u001b[31m","sent_at":"2020-01-01T00:00:00Z"}}"#,
    )
    .await;
    inbox
        .worker()
        .fallback(|_job: Job| async { Ok(()) })
        .build()
        .run_until_idle()
        .await;

    let future = meetingbaas_webhooks_inbox::testing::delivery(
        r#"{"event":"bot.status_change","data":{"bot_id":"b-8","status":{"code":"joining_call","created_at":"2999-01-01T00:00:00Z"}}}"#,
    );
    let label = future
        .envelope()
        .map(meetingbaas_webhooks_receiver::EventLabel::from)
        .unwrap();
    let now = meetingbaas_webhooks_inbox::now_ms();
    let times = meetingbaas_webhooks_inbox::NewDelivery::new(&future, label).order_times(now);
    assert_eq!(
        times,
        (now, None),
        "receipt order, and no time to call anything stale by"
    );

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        !logs.contains('\u{1b}'),
        "a raw escape from the payload: {logs}"
    );
    let expired = logs
        .lines()
        .find(|line| line.contains("WARN") && line.contains("links") && line.contains("expired"))
        .unwrap_or_else(|| panic!("no expired-links line: {logs}"));
    for part in [
        &format!("id={id}") as &str,
        r#"bot_id=Some("b-\u{1b}[31m")"#,
        "inbox redeliver",
    ] {
        assert!(expired.contains(part), "{part} missing from {expired}");
    }
    let future = logs
        .lines()
        .find(|line| line.contains("WARN") && line.contains("ordered by its receipt"))
        .unwrap_or_else(|| panic!("no receipt-order line: {logs}"));
    assert!(
        future.contains("in the future") && future.contains(r#"bot_id=Some("b-8")"#),
        "{future}"
    );
}
