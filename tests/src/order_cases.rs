//! Per-bot order through the examples (issue 33's "Show"): the examples ship with
//! `order_by_bot` on. 5 bots with 40 status changes each (distinct `status.created_at`) plus
//! copies of some, shuffled, sent by 8 senders to one replica (SQLite) or to two replicas on one
//! store (the axum and actix examples on Redis or Postgres); each worker runs 8 at once. Checked
//! from what the inbox reports (`inbox show --json`'s attempts): nothing stored twice; for each
//! bot the handled (not stale) deliveries started in increasing event-time order and never
//! overlapped; every bot's newest status handled. And a replica killed while it runs a bot's
//! delivery: the bot's next one waits for the lease to run out, then runs after it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use meetingbaas_webhooks::Scheme;
use meetingbaas_webhooks_inbox::{Inbox, ListQuery, State};

use crate::cases::run;
use crate::client::{self, Body};
use crate::deliveries::signed;
use crate::inbox_cases::{Delivery, env_with_inbox, queued_id, sqlite_url, wait_for};
use crate::postgres_server::PostgresServer;
use crate::redis_server::RedisServer;
use crate::server::Server;

/// Bots, and status changes per bot.
const BOTS: usize = 5;
const STATUSES: usize = 40;
/// Concurrent senders.
const SENDERS: usize = 8;
/// Every how many deliveries one is sent twice.
const COPY_EVERY: usize = 4;

/// The status codes a bot goes through, cycled.
const CODES: [&str; 6] = [
    "joining_call",
    "in_waiting_room",
    "in_call_not_recording",
    "in_call_recording",
    "call_ended",
    "transcribing",
];

fn bot(n: usize) -> String {
    format!("order-bot-{n}")
}

/// The status change `n` of `bot`: created `n` seconds after 10:00, and that time in ms.
fn status(bot: &str, n: usize) -> (Vec<u8>, i64) {
    let seconds = u32::try_from(n).expect("small");
    let created = format!("2026-12-07T10:{:02}:{:02}Z", seconds / 60, seconds % 60);
    let body = serde_json::json!({
        "event": "bot.status_change",
        "data": { "bot_id": bot, "status": { "code": CODES[n % CODES.len()], "created_at": created } },
    });
    (
        body.to_string().into_bytes(),
        1_796_637_600_000 + i64::from(seconds) * 1000,
    )
}

/// The examples' environment: the inbox at `url`, every bot's handler slowed down (20 ms) so
/// that attempts of one bot would overlap were they run at once, and a worker of 8.
fn env(url: &str) -> Vec<(&'static str, String)> {
    let mut env = env_with_inbox(url);
    let slow: Vec<String> = (0..BOTS).map(|n| format!("slow:{}", bot(n))).collect();
    env.push(("MEETINGBAAS_EXAMPLE_FAULTS", slow.join(",")));
    env.push(("MEETINGBAAS_INBOX_CONCURRENCY", "8".to_string()));
    env
}

/// A deterministic shuffle (xorshift), so that a failure can be replayed.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let j = usize::try_from(seed % (i as u64 + 1)).expect("small");
        items.swap(i, j);
    }
}

/// One replica on a SQLite file.
pub fn statuses_run_in_bot_order_sqlite(binary: &str) {
    run(async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = sqlite_url(&dir);
        let replica = Server::start(binary, &env(&url)).await;
        let addresses = vec![replica.addr.clone()];
        send_and_check(&addresses, &url).await;
    });
}

/// The stores two replicas share.
#[derive(Clone, Copy, Debug)]
pub enum Shared {
    /// One `redis-server`.
    Redis,
    /// One Postgres server.
    Postgres,
}

/// Two replicas (the axum and the actix example where both are built) on one Redis.
pub fn statuses_run_in_bot_order_two_replicas_redis(binary: &str) {
    two_replicas(binary, Shared::Redis);
}

/// Two replicas (the axum and the actix example where both are built) on one Postgres.
pub fn statuses_run_in_bot_order_two_replicas_postgres(binary: &str) {
    two_replicas(binary, Shared::Postgres);
}

/// `binary` and the actix example built next to it (`binary` again where it is missing).
fn pair(binary: &str) -> [String; 2] {
    let actix = Path::new(binary).with_file_name("meetingbaas-example-actix");
    let other = if actix.is_file() && actix != Path::new(binary) {
        actix.display().to_string()
    } else {
        Path::new(binary)
            .with_file_name("meetingbaas-example-axum")
            .display()
            .to_string()
    };
    let other = if Path::new(&other).is_file() {
        other
    } else {
        binary.to_string()
    };
    [binary.to_string(), other]
}

/// The server of a shared store, kept running for the case.
enum Running {
    Redis(RedisServer),
    Postgres(PostgresServer),
}

impl Running {
    fn start(shared: Shared) -> Running {
        match shared {
            Shared::Redis => Running::Redis(RedisServer::start()),
            Shared::Postgres => Running::Postgres(PostgresServer::start()),
        }
    }

    fn url(&self) -> String {
        match self {
            Running::Redis(server) => server.url(),
            Running::Postgres(server) => server.url(),
        }
    }
}

fn two_replicas(binary: &str, shared: Shared) {
    run(async {
        let store = Running::start(shared);
        let url = store.url();
        let binaries = pair(binary);
        println!("replicas: {binaries:?}");
        let mut replicas = Vec::new();
        for binary in &binaries {
            replicas.push(Server::start(binary, &env(&url)).await);
        }
        let addresses: Vec<String> = replicas.iter().map(|r| r.addr.clone()).collect();
        send_and_check(&addresses, &url).await;
    });
}

/// Sends every bot's statuses (and copies) shuffled over `addresses` by 8 senders, waits until
/// the inbox at `url` has handled all, and checks the order from the stored attempts.
async fn send_and_check(addresses: &[String], url: &str) {
    let mut plan: Vec<(usize, Delivery)> = Vec::new();
    let mut times: BTreeMap<Vec<u8>, (String, i64)> = BTreeMap::new();
    for b in 0..BOTS {
        for n in 0..STATUSES {
            let (body, at) = status(&bot(b), n);
            times.insert(body.clone(), (bot(b), at));
            let delivery = (signed(Scheme::Callback, &body), body);
            if (b * STATUSES + n).is_multiple_of(COPY_EVERY) {
                plan.push((plan.len(), delivery.clone()));
            }
            plan.push((plan.len(), delivery));
        }
    }
    shuffle(&mut plan, 0x5eed_0033);
    let plan = Arc::new(Mutex::new(plan));
    let stored_twice = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..SENDERS {
        let (plan, stored_twice) = (Arc::clone(&plan), Arc::clone(&stored_twice));
        let addresses = addresses.to_vec();
        senders.spawn(async move {
            let mut ids = BTreeSet::new();
            loop {
                let next = plan.lock().unwrap_or_else(PoisonError::into_inner).pop();
                let Some((n, (headers, body))) = next else {
                    return ids;
                };
                let addr = &addresses[(n + sender) % addresses.len()];
                let mut tries = 0u64;
                let response = loop {
                    let response = client::post(addr, &headers, Body::Length(body.clone()))
                        .await
                        .expect("an answer");
                    tries += 1;
                    if response.status != 503 || tries == 20 {
                        break response;
                    }
                    tokio::time::sleep(Duration::from_millis(50 * tries)).await;
                };
                match response.status {
                    202 => {
                        let id = queued_id(&response);
                        if !ids.insert(id.clone()) {
                            stored_twice
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .push(id);
                        }
                    }
                    200 => assert_eq!(response.json()["status"], "duplicate", "{n}"),
                    other => panic!("delivery {n}: {other} {}", response.text()),
                }
            }
        });
    }
    let mut ids = BTreeSet::new();
    while let Some(sent) = senders.join_next().await {
        for id in sent.expect("a sender") {
            assert!(ids.insert(id.clone()), "id {id} answered to two deliveries");
        }
    }
    let all = (BOTS * STATUSES) as u64;
    let inbox = Inbox::open(url).await.expect("the replicas' inbox");
    let stats = wait_for(&inbox, "every status handled", |s| s.completed == all).await;
    println!("stats: {stats:?}");
    assert_eq!(ids.len(), BOTS * STATUSES, "each status stored once");
    assert!(
        stored_twice
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    );
    let stored = inbox
        .list(ListQuery {
            limit: 10 * BOTS * STATUSES,
            ..ListQuery::default()
        })
        .await
        .expect("a list");
    assert_eq!(stored.len(), BOTS * STATUSES, "nothing stored twice");

    // Per bot: (start, duration, event time, stale) of the attempt that completed each one.
    let mut per_bot: BTreeMap<String, Vec<(i64, u64, i64, bool)>> = BTreeMap::new();
    for summary in &stored {
        let shown = inbox.show(&summary.id).await.expect("a stored delivery");
        assert_eq!(shown.summary.state, State::Completed, "{}", summary.id);
        let (bot, at) = times
            .get(&shown.body.to_vec())
            .cloned()
            .expect("a body that was sent");
        let done = shown
            .attempts
            .iter()
            .find(|a| a.error.is_none())
            .expect("the attempt that completed it");
        per_bot.entry(bot).or_default().push((
            done.started_ms,
            done.duration_ms,
            at,
            shown.summary.stale,
        ));
    }
    let mut stale = 0;
    for (bot, mut runs) in per_bot {
        runs.sort_unstable();
        let handled: Vec<&(i64, u64, i64, bool)> = runs.iter().filter(|r| !r.3).collect();
        stale += runs.len() - handled.len();
        for pair in runs.windows(2) {
            let (start, took) = (pair[0].0, i64::try_from(pair[0].1).unwrap_or(i64::MAX));
            assert!(
                pair[1].0 >= start + took,
                "{bot}: an attempt started at {} while one that started at {start} ran for {took} ms",
                pair[1].0
            );
        }
        for pair in handled.windows(2) {
            assert!(
                pair[1].2 > pair[0].2,
                "{bot}: a status of {} handled after one of {}",
                pair[1].2,
                pair[0].2
            );
        }
        let newest = runs.iter().map(|r| r.2).max().expect("statuses");
        assert!(
            handled.iter().any(|r| r.2 == newest),
            "{bot}: its newest status was not handled"
        );
        println!(
            "{bot}: {} handled in order, {} stale",
            handled.len(),
            runs.len() - handled.len()
        );
    }
    assert_eq!(stats.stale, stale as u64, "stale counted as listed");
}

/// A replica killed (`kill -9`) while it runs a bot's delivery (its handler hangs for that
/// bot): the bot's next delivery, sent to the other replica, waits until the lease runs out;
/// the killed one's delivery is then taken over and completed first, the next one after it.
pub fn a_killed_replicas_bot_waits_for_the_lease_then_runs_in_order(binary: &str, shared: Shared) {
    run(async {
        let store = Running::start(shared);
        let url = store.url();
        let [first_binary, second_binary] = pair(binary);
        let mut hanging_env = env_with_inbox(&url);
        hanging_env.push(("MEETINGBAAS_EXAMPLE_FAULTS", "hang:order-bot-k".to_string()));
        let mut hanging = Server::start(&first_binary, &hanging_env).await;
        let (first, first_at) = status("order-bot-k", 1);
        let (second, second_at) = status("order-bot-k", 2);
        assert!(first_at < second_at);
        let response = client::post(
            &hanging.addr,
            &signed(Scheme::Callback, &first),
            Body::Length(first.clone()),
        )
        .await
        .expect("an answer");
        let first_id = queued_id(&response);
        let inbox = Inbox::open(&url).await.expect("the inbox");
        wait_for(&inbox, "the first running", |s| s.running == 1).await;

        let healthy = Server::start(&second_binary, &env_with_inbox(&url)).await;
        let response = client::post(
            &healthy.addr,
            &signed(Scheme::Callback, &second),
            Body::Length(second.clone()),
        )
        .await
        .expect("an answer");
        let second_id = queued_id(&response);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let waiting = inbox.show(&second_id).await.expect("stored");
        assert_eq!(
            waiting.summary.state,
            State::Queued,
            "it waits behind the first"
        );
        hanging.kill().await;
        let killed_ms = meetingbaas_webhooks_inbox::now_ms();
        wait_for(&inbox, "both handled", |s| s.completed == 2).await;
        let first = inbox.show(&first_id).await.expect("stored");
        let second = inbox.show(&second_id).await.expect("stored");
        assert!(
            first.attempts[0]
                .error
                .as_deref()
                .is_some_and(|e| e.contains("lease expired")),
            "{:?}",
            first.attempts
        );
        let done = first
            .attempts
            .iter()
            .find(|a| a.error.is_none())
            .expect("taken over and completed");
        let next = second
            .attempts
            .iter()
            .find(|a| a.error.is_none())
            .expect("completed");
        assert_eq!(second.attempts.len(), 1, "{:?}", second.attempts);
        assert!(done.started_ms >= killed_ms, "taken over after the kill");
        assert!(
            next.started_ms >= done.started_ms + i64::try_from(done.duration_ms).unwrap_or(0),
            "the next one ran after the taken-over one: {done:?} {next:?}"
        );
        println!(
            "the bot's next delivery waited {} ms after the kill",
            next.started_ms - killed_ms
        );
    });
}
