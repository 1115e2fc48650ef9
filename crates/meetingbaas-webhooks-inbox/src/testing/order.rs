//! Per-bot order on a store ([`WorkerBuilder::order_by_bot`](crate::WorkerBuilder::order_by_bot)):
//! one delivery of a bot at a time, in event-time order; a retrying one holds its bot for at
//! most `max_wait`; a dead letter or an expired lease lets the rest go; stale statuses recorded
//! as such.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{TestStore, fast, stored, wait_for};
use crate::{Attempt, Claimed, EventKind, Job, ListQuery, Store, Verdict, now_ms};

const HOUR: Duration = Duration::from_secs(3600);
const LEASE: Duration = Duration::from_millis(400);

/// `2026-12-07T10:00:00Z` plus `seconds`, as RFC 3339.
pub fn at(seconds: u32) -> String {
    let (h, m, s) = (10 + seconds / 3600, seconds / 60 % 60, seconds % 60);
    format!("2026-12-07T{h:02}:{m:02}:{s:02}Z")
}

/// The Unix milliseconds of [`at`]`(seconds)`.
pub fn at_ms(seconds: u32) -> i64 {
    1_796_637_600_000 + i64::from(seconds) * 1000
}

/// A `bot.status_change` of `bot` with `code`, created at [`at`]`(seconds)`.
pub fn status(bot: &str, code: &str, seconds: u32) -> String {
    format!(
        r#"{{"event":"bot.status_change","data":{{"bot_id":"{bot}","status":{{"code":"{code}","created_at":"{}"}}}}}}"#,
        at(seconds)
    )
}

/// A `bot.completed` of `bot` sent at [`at`]`(seconds)`.
pub fn completed(bot: &str, seconds: u32) -> String {
    format!(
        r#"{{"event":"bot.completed","data":{{"bot_id":"{bot}","sent_at":"{}"}}}}"#,
        at(seconds)
    )
}

async fn claim(
    store: &Arc<dyn Store>,
    max: usize,
    lease: Duration,
    wait: Duration,
) -> Vec<Claimed> {
    store
        .claim_in_bot_order(max, lease, wait)
        .await
        .expect("a claim in bot order")
}

async fn finish(store: &Arc<dyn Store>, claimed: &Claimed, verdict: Verdict) {
    let attempt = Attempt {
        number: claimed.attempt_total,
        run: claimed.run,
        started_ms: now_ms(),
        duration_ms: 1,
        error: (verdict != Verdict::Complete).then(|| "failed".to_string()),
    };
    assert!(
        store
            .finish(claimed.clone(), attempt, verdict)
            .await
            .expect("recorded"),
        "the lease held"
    );
}

fn ids(claimed: &[Claimed]) -> Vec<&str> {
    let mut ids: Vec<&str> = claimed.iter().map(|c| c.id.as_str()).collect();
    ids.sort_unstable();
    ids
}

/// Stored out of order, a bot's deliveries are claimed one at a time in event-time order; other
/// bots and deliveries without a bot go alongside; each completion raises the bot's handled
/// time, which the next claim hands over.
pub async fn claims_in_bot_order_take_one_per_bot_in_event_time_order(test: TestStore) {
    let (store, inbox) = (test.store(), test.inbox());
    let a3 = stored(inbox, status("bot-a", "in_call_recording", 30)).await;
    let a1 = stored(inbox, status("bot-a", "joining_call", 10)).await;
    let a2 = stored(inbox, status("bot-a", "in_waiting_room", 20)).await;
    let b1 = stored(inbox, status("bot-b", "joining_call", 15)).await;
    let b2 = stored(inbox, completed("bot-b", 40)).await;
    let free = stored(inbox, r#"{"event":"calendar.sync_events","data":{}}"#).await;

    let first = claim(store, 10, HOUR, HOUR).await;
    let mut expected = vec![a1.as_str(), b1.as_str(), free.as_str()];
    expected.sort_unstable();
    assert_eq!(
        ids(&first),
        expected,
        "the first of each bot, and the botless one"
    );
    assert!(first.iter().all(|c| c.ordered));
    let a = first.iter().find(|c| c.id == a1).expect("a1");
    assert_eq!(
        (a.bot_id.as_deref(), a.event_ms, a.bot_handled_ms),
        (Some("bot-a"), Some(at_ms(10)), None)
    );
    assert!(
        claim(store, 10, HOUR, HOUR).await.is_empty(),
        "both bots run"
    );

    for claimed in &first {
        finish(store, claimed, Verdict::Complete).await;
    }
    let second = claim(store, 10, HOUR, HOUR).await;
    let mut expected = vec![a2.as_str(), b2.as_str()];
    expected.sort_unstable();
    assert_eq!(ids(&second), expected);
    let a = second.iter().find(|c| c.id == a2).expect("a2");
    assert_eq!(a.bot_handled_ms, Some(at_ms(10)), "a1's time, handed over");
    for claimed in &second {
        finish(store, claimed, Verdict::Complete).await;
    }
    let third = claim(store, 10, HOUR, HOUR).await;
    assert_eq!(ids(&third), vec![a3.as_str()]);
    assert_eq!(third[0].bot_handled_ms, Some(at_ms(20)));
    finish(store, &third[0], Verdict::Complete).await;
    assert!(claim(store, 10, HOUR, HOUR).await.is_empty());
    assert_eq!(inbox.stats().await.expect("stats").completed, 6);
}

/// A retrying delivery holds its bot's later ones until they waited `max_wait`; then the first
/// of them in event order goes on (not the first to arrive). A dead letter holds nothing.
pub async fn a_retrying_delivery_holds_its_bot_for_max_wait_and_a_dead_letter_for_nothing(
    test: TestStore,
) {
    let store = test.store();
    let inbox = test.inbox();
    let first = stored(inbox, status("bot-r", "joining_call", 10)).await;
    // The third arrives before the second: of the two that waited, the second goes first.
    let third = stored(inbox, status("bot-r", "in_call_recording", 30)).await;
    let second = stored(inbox, status("bot-r", "in_waiting_room", 20)).await;

    let claimed = claim(store, 10, HOUR, HOUR).await;
    assert_eq!(ids(&claimed), vec![first.as_str()]);
    let in_an_hour = now_ms() + 3_600_000;
    finish(store, &claimed[0], Verdict::Retry { at_ms: in_an_hour }).await;
    assert!(
        claim(store, 10, HOUR, HOUR).await.is_empty(),
        "the later ones wait behind the retrying one"
    );
    // Waited long enough (a `max_wait` of zero): the next in order goes on, alone.
    let overdue = claim(store, 10, HOUR, Duration::ZERO).await;
    assert_eq!(ids(&overdue), vec![second.as_str()]);
    assert!(
        claim(store, 10, HOUR, Duration::ZERO).await.is_empty(),
        "its bot runs"
    );
    finish(
        store,
        &overdue[0],
        Verdict::Dead {
            reason: "given up".into(),
        },
    )
    .await;
    // The retrying one still holds the third; with no wait it goes on too.
    assert!(claim(store, 10, HOUR, HOUR).await.is_empty());
    let last = claim(store, 10, HOUR, Duration::ZERO).await;
    assert_eq!(ids(&last), vec![third.as_str()]);
}

/// A delivery whose worker died holds its bot until its lease runs out, then runs again before
/// the bot's next one.
pub async fn an_expired_lease_holds_its_bot_then_runs_first(test: TestStore) {
    let (store, inbox) = (test.store(), test.inbox());
    let first = stored(inbox, status("bot-l", "joining_call", 10)).await;
    let second = stored(inbox, status("bot-l", "in_call_recording", 20)).await;
    let lost = claim(store, 10, LEASE, HOUR).await;
    assert_eq!(ids(&lost), vec![first.as_str()]);
    assert!(claim(store, 10, LEASE, HOUR).await.is_empty());
    tokio::time::sleep(LEASE * 2).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    // Redis takes an entry over once it was idle for the claiming worker's lease.
    let again = loop {
        let again = claim(store, 10, LEASE * 4, HOUR).await;
        if !again.is_empty() {
            break again;
        }
        assert!(tokio::time::Instant::now() < deadline, "never taken over");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        ids(&again),
        vec![first.as_str()],
        "the taken-over one first"
    );
    assert_eq!(again[0].attempt, 2);
    assert!(claim(store, 10, HOUR, HOUR).await.is_empty());
    finish(store, &again[0], Verdict::Complete).await;
    let next = claim(store, 10, HOUR, HOUR).await;
    assert_eq!(ids(&next), vec![second.as_str()]);
}

/// With a worker in bot order: a status arriving after the bot's `bot.completed` was handled,
/// older than it, is stale (given to `on_stale`, counted, listed); a `transcribing` status
/// after it in time is not.
pub async fn a_status_older_than_one_handled_is_stale(test: TestStore) {
    let inbox = test.inbox();
    stored(inbox, status("bot-s", "joining_call", 10)).await;
    stored(inbox, completed("bot-s", 50)).await;
    let handled: Arc<Mutex<Vec<String>>> = Arc::default();
    let stale: Arc<Mutex<Vec<String>>> = Arc::default();
    let (seen, seen_stale) = (Arc::clone(&handled), Arc::clone(&stale));
    let worker = fast(inbox)
        .concurrency(4)
        .order_by_bot(HOUR)
        .fallback(move |job: Job| {
            seen.lock()
                .expect("lock")
                .push(job.event().name().to_string());
            async { Ok(()) }
        })
        .on_stale(move |job: Job| {
            seen_stale.lock().expect("lock").push(job.id().to_string());
            async { Ok(()) }
        })
        .build()
        .spawn();
    wait_for(inbox, "two handled", |s| s.completed == 2).await;
    let late = stored(inbox, status("bot-s", "in_call_recording", 30)).await;
    wait_for(inbox, "the late one", |s| s.completed == 3).await;
    stored(inbox, status("bot-s", "transcribing", 60)).await;
    let stats = wait_for(inbox, "four handled", |s| s.completed == 4).await;
    worker.shutdown().await;
    assert_eq!(stats.stale, 1);
    assert_eq!(*stale.lock().expect("lock"), vec![late.clone()]);
    let handled = handled.lock().expect("lock").clone();
    assert_eq!(
        handled,
        vec!["bot.status_change", "bot.completed", "bot.status_change"],
        "joining_call, completed, transcribing: the stale one not among them"
    );
    let listed = inbox.list(ListQuery::default()).await.expect("a list");
    let stale_ids: Vec<&str> = listed
        .iter()
        .filter(|s| s.stale)
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(stale_ids, vec![late.as_str()]);
    let shown = inbox.show(&late).await.expect("stored");
    assert!(shown.summary.stale);
    assert_eq!(shown.attempts.len(), 1);
    assert_eq!(shown.attempts[0].error, None);
}

/// Without `on_stale`, a stale status is recorded stale without any handler; redriven, it is
/// checked again (and is still stale).
pub async fn a_stale_status_without_a_handler_is_recorded_and_a_redrive_rechecks_it(
    test: TestStore,
) {
    let inbox = test.inbox();
    stored(inbox, completed("bot-t", 50)).await;
    let worker = fast(inbox)
        .order_by_bot(HOUR)
        .on(EventKind::BotCompleted, |_job: Job| async { Ok(()) })
        .build();
    worker.clone().run_until_idle().await;
    let late = stored(inbox, status("bot-t", "in_call_recording", 30)).await;
    let attempts = worker.clone().run_until_idle().await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].verdict, Verdict::Stale);
    assert_eq!(inbox.stats().await.expect("stats").stale, 1);
    inbox.redrive(&late).await.expect("redriven");
    assert_eq!(inbox.stats().await.expect("stats").stale, 0);
    let attempts = worker.run_until_idle().await;
    assert_eq!(attempts[0].verdict, Verdict::Stale);
    assert!(inbox.show(&late).await.expect("stored").summary.stale);
}
