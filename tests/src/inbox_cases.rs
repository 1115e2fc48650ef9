//! Inbox cases: `MEETINGBAAS_INBOX` in front of every example, with a real SQLite file or a real
//! `redis-server`, including `kill -9` of the example with deliveries in flight.

use std::collections::BTreeSet;
use std::time::Duration;

use meetingbaas_webhooks::Scheme;
use meetingbaas_webhooks_inbox::{Inbox, State, Stats};
use serde_json::json;

use crate::cases::{assert_rejected, post, run};
use crate::client::{self, Body, Response};
use crate::deliveries::{minimal, signed};
use crate::redis_server::RedisServer;
use crate::server::{Server, default_env, run_to_exit};

/// How long the examples' worker may take to finish what a case sent (their `bot.completed`
/// handler takes 200 ms, four at a time; a killed worker's leases run out after 15 s).
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(90);

pub(crate) fn env_with_inbox(url: &str) -> Vec<(&'static str, String)> {
    let mut env = default_env();
    env.push(("MEETINGBAAS_INBOX", url.to_string()));
    env
}

pub(crate) fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("inbox.db").display())
}

/// The id of a `202 {"status":"queued","id":...}` answer.
#[track_caller]
pub(crate) fn queued_id(response: &Response) -> String {
    assert_eq!(response.status, 202, "{}", response.text());
    let body = response.json();
    assert_eq!(body["status"], "queued", "{body}");
    body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {body}"))
        .to_string()
}

#[track_caller]
fn assert_duplicate(response: &Response) {
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json(), json!({ "status": "duplicate" }));
}

/// A delivery: its headers and its body.
pub(crate) type Delivery = (Vec<(String, String)>, Vec<u8>);

/// `count` distinct deliveries (`bot.completed` under the callback scheme), each with its
/// headers.
fn deliveries(prefix: &str, count: usize) -> Vec<Delivery> {
    (0..count)
        .map(|n| {
            let body = minimal("bot.completed", &format!("{prefix}-{n}"));
            (signed(Scheme::Callback, &body), body)
        })
        .collect()
}

/// Sends every delivery at once; returns the ids of the 202 answers. A delivery answered 503
/// (more at once than the example's in-flight cap, 256, on a slow machine) is sent again a
/// little later, as Meeting BaaS does.
async fn send_all(server: &Server, deliveries: &[Delivery]) -> BTreeSet<String> {
    let mut sends = tokio::task::JoinSet::new();
    for (headers, body) in deliveries {
        let (headers, body) = (headers.clone(), body.clone());
        let addr = server.addr.clone();
        sends.spawn(async move {
            let mut tries = 0u64;
            loop {
                let response = crate::client::post(&addr, &headers, Body::Length(body.clone()))
                    .await
                    .expect("an answer");
                tries += 1;
                if response.status != 503 || tries == 20 {
                    return response;
                }
                tokio::time::sleep(Duration::from_millis(50 * tries)).await;
            }
        });
    }
    let mut ids = BTreeSet::new();
    while let Some(response) = sends.join_next().await {
        assert!(ids.insert(queued_id(&response.expect("the send task"))));
    }
    ids
}

pub(crate) async fn wait_for(inbox: &Inbox, what: &str, done: impl Fn(&Stats) -> bool) -> Stats {
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    loop {
        match inbox.stats().await {
            Ok(stats) if done(&stats) => return stats,
            Ok(stats) => assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {stats:?}"
            ),
            Err(err) => assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {err}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every id is completed, with exactly one successful attempt recorded.
pub(crate) async fn assert_each_completed_once(inbox: &Inbox, ids: &BTreeSet<String>) {
    for id in ids {
        let shown = inbox.show(id).await.expect("a stored delivery");
        assert_eq!(shown.summary.state, State::Completed, "{id}");
        let successes = shown.attempts.iter().filter(|a| a.error.is_none()).count();
        assert_eq!(successes, 1, "{id}: {:?}", shown.attempts);
    }
}

/// A verified delivery is answered 202 with its id, a copy of it 200 `duplicate`, and the
/// worker in the example handles each once.
pub fn stored_deliveries_are_answered_202_and_handled_once(binary: &str) {
    run(async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = sqlite_url(&dir);
        let server = Server::start(binary, &env_with_inbox(&url)).await;
        let sent = deliveries("stored", 12);
        let ids = send_all(&server, &sent).await;
        for (headers, body) in &sent[..3] {
            assert_duplicate(&post(&server, headers, Body::Length(body.clone())).await);
        }
        // A bot's callback sent with PUT (its callback_config.method): stored like a POST.
        let put = minimal("bot.completed", "b-put");
        let target = server.target().with_method("PUT");
        let headers = signed(Scheme::Callback, &put);
        let response = client::post_to(&target, &headers, Body::Length(put))
            .await
            .expect("an answer to the PUT");
        let mut ids = ids;
        ids.insert(queued_id(&response));
        // Not an event at all, but verified: stored too (and dead-lettered as unreadable).
        let odd = b"[1, 2, 3]".to_vec();
        let response = post(&server, &signed(Scheme::Callback, &odd), Body::Length(odd)).await;
        let odd_id = queued_id(&response);
        // Unsigned and forged: refused as before, never stored.
        let unsigned = minimal("bot.completed", "unsigned");
        assert_rejected(
            &post(&server, &[], Body::Length(unsigned)).await,
            401,
            &["missing_credentials"],
        );
        let forged = minimal("bot.completed", "forged");
        let mut headers = signed(Scheme::Callback, &forged);
        headers[0].1 = "wrong".into();
        assert_rejected(
            &post(&server, &headers, Body::Length(forged)).await,
            401,
            &["invalid_signature", "invalid_token"],
        );

        let inbox = Inbox::open(&url).await.expect("the example's inbox");
        wait_for(&inbox, "every delivery handled", |s| {
            s.completed == 13 && s.dead == 1
        })
        .await;
        assert_each_completed_once(&inbox, &ids).await;
        let odd = inbox.show(&odd_id).await.expect("the unreadable delivery");
        assert!(
            odd.summary
                .dead_reason
                .unwrap_or_default()
                .starts_with("unreadable")
        );
    });
}

/// `kill -9` of the example while its handlers run: after a restart, every delivery answered
/// 2xx is handled, and each is recorded complete once.
pub fn kill_9_with_deliveries_in_flight_loses_none_sqlite(binary: &str) {
    run(async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = sqlite_url(&dir);
        let env = env_with_inbox(&url);
        let mut server = Server::start(binary, &env).await;
        let sent = deliveries("killed", 40);
        let ids = send_all(&server, &sent).await;
        let inbox = Inbox::open(&url).await.expect("the example's inbox");
        let before = inbox.stats().await.expect("stats");
        assert!(before.completed < 40, "nothing was in flight: {before:?}");
        server.kill().await;

        let server = Server::start(binary, &env).await;
        // Copies sent after the restart are still recognised.
        for (headers, body) in &sent[..5] {
            assert_duplicate(&post(&server, headers, Body::Length(body.clone())).await);
        }
        let after = wait_for(&inbox, "every delivery handled after the restart", |s| {
            s.completed == 40
        })
        .await;
        assert_eq!(
            (after.queued, after.running, after.retrying, after.dead),
            (0, 0, 0, 0)
        );
        assert_each_completed_once(&inbox, &ids).await;
    });
}

/// The same with Redis Streams (AOF, `appendfsync always`): the example is killed with `kill -9`
/// and Redis itself is killed and restarted; every delivery answered 2xx completes once.
pub fn kill_9_and_a_redis_restart_lose_none_redis(binary: &str) {
    run(async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut redis = RedisServer::start_persistent(dir.path());
        let env = env_with_inbox(&redis.url());
        let mut server = Server::start(binary, &env).await;
        let sent = deliveries("redis-killed", 40);
        let ids = send_all(&server, &sent).await;
        server.kill().await;
        redis.restart();

        let server = Server::start(binary, &env).await;
        for (headers, body) in &sent[..5] {
            assert_duplicate(&post(&server, headers, Body::Length(body.clone())).await);
        }
        let more = deliveries("redis-after", 10);
        let more_ids = send_all(&server, &more).await;
        let inbox = Inbox::open(&redis.url())
            .await
            .expect("the example's inbox");
        wait_for(&inbox, "every delivery handled after the restarts", |s| {
            s.completed == 50
        })
        .await;
        assert_each_completed_once(&inbox, &ids).await;
        assert_each_completed_once(&inbox, &more_ids).await;
    });
}

/// A store that cannot be opened (a missing directory, a corrupt file, an unknown URL, an
/// unreachable Redis) stops the example at start with one line, never a 2xx later.
pub fn an_inbox_that_cannot_be_opened_exits_non_zero(binary: &str) {
    run(async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let corrupt = dir.path().join("corrupt.db");
        std::fs::write(&corrupt, vec![0x42; 8192]).expect("writing a corrupt file");
        let settings = [
            format!("sqlite://{}/missing/inbox.db", dir.path().display()),
            format!("sqlite://{}", corrupt.display()),
            "postgres://localhost/inbox".to_string(),
            "redis://127.0.0.1:1".to_string(),
        ];
        for setting in settings {
            let (code, stderr) = run_to_exit(binary, &env_with_inbox(&setting)).await;
            assert!(
                matches!(code, Some(c) if c != 0),
                "{setting}: exit {code:?}, stderr {stderr}"
            );
            assert!(stderr.contains("inbox"), "{setting}: {stderr}");
            assert_eq!(stderr.trim().lines().count(), 1, "{setting}: {stderr}");
        }
    });
}

/// Redis going away after start: intake answers 503 with `Retry-After` (the sender retries),
/// never 2xx; once Redis is back, deliveries are stored and handled again.
pub fn an_unreachable_redis_inbox_is_503_and_recovers(binary: &str) {
    run(async {
        let mut redis = RedisServer::start();
        let server = Server::start(binary, &env_with_inbox(&redis.url())).await;
        redis.stop();
        let (headers, body) = deliveries("outage", 1).remove(0);
        let response = post(&server, &headers, Body::Length(body.clone())).await;
        assert_rejected(&response, 503, &["inbox_unavailable"]);
        assert!(response.header("retry-after").is_some());

        redis.restart();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let id = loop {
            let response = post(&server, &headers, Body::Length(body.clone())).await;
            if response.status == 202 {
                break queued_id(&response);
            }
            assert_eq!(response.status, 503, "{}", response.text());
            assert!(
                tokio::time::Instant::now() < deadline,
                "Redis never came back"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let inbox = Inbox::open(&redis.url())
            .await
            .expect("the example's inbox");
        wait_for(&inbox, "the delivery handled", |s| s.completed == 1).await;
        assert_eq!(
            inbox.show(&id).await.expect("stored").summary.state,
            State::Completed
        );
    });
}

/// The examples' fault switch (`MEETINGBAAS_EXAMPLE_FAULTS`, a testing aid): the handler fails,
/// fails for good, panics or hangs for the bots it names, and the worker retries, dead-letters,
/// catches the panic and keeps going; SIGTERM with a handler hung still exits 0, and the hung
/// delivery is kept for a later run. A malformed list stops the example at start.
pub fn the_fault_switch_makes_chosen_bots_fail_panic_or_hang(binary: &str) {
    run(async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = sqlite_url(&dir);
        let mut env = env_with_inbox(&url);
        env.push((
            "MEETINGBAAS_EXAMPLE_FAULTS",
            "fail:f-fail,permanent:f-permanent,panic:f-panic,hang:f-hang".to_string(),
        ));
        let mut server = Server::start(binary, &env).await;
        let mut ids = std::collections::BTreeMap::new();
        for bot in ["f-ok", "f-fail", "f-permanent", "f-panic", "f-hang"] {
            let body = minimal("bot.failed", bot);
            let response = post(
                &server,
                &signed(Scheme::Callback, &body),
                Body::Length(body),
            )
            .await;
            ids.insert(bot, queued_id(&response));
        }
        let inbox = Inbox::open(&url).await.expect("the example's inbox");
        wait_for(&inbox, "each fault to show", |s| {
            s.completed == 1 && s.dead == 1 && s.retrying == 2 && s.running == 1
        })
        .await;
        let state = |shown: &meetingbaas_webhooks_inbox::StoredDelivery| {
            let last = shown.attempts.last().and_then(|a| a.error.clone());
            (shown.summary.state, last.unwrap_or_default())
        };
        let shown = |bot: &'static str| {
            let inbox = &inbox;
            let id = ids[bot].clone();
            async move { inbox.show(&id).await.expect("a stored delivery") }
        };
        assert_eq!(state(&shown("f-ok").await).0, State::Completed);
        let (s, error) = state(&shown("f-fail").await);
        assert!(
            s == State::Retrying && error.contains("fail"),
            "{s:?} {error}"
        );
        let (s, error) = state(&shown("f-permanent").await);
        assert!(
            s == State::Dead && error.contains("permanent"),
            "{s:?} {error}"
        );
        let (s, error) = state(&shown("f-panic").await);
        assert!(
            s == State::Retrying && error.contains("panicked"),
            "{s:?} {error}"
        );
        assert_eq!(shown("f-hang").await.summary.state, State::Running);

        // A hung handler does not hold the stop: the worker's grace ends it, the process exits
        // 0, and the delivery is still stored (its lease runs out; a later run retries it).
        server.terminate();
        let exit = server.wait_for_exit(Duration::from_secs(60)).await;
        assert_eq!(exit, Ok(Some(0)), "the stop with a hung handler");
        let hung = shown("f-hang").await;
        assert_ne!(hung.summary.state, State::Completed);

        let mut env = env_with_inbox(&url);
        env.push(("MEETINGBAAS_EXAMPLE_FAULTS", "explode:f-ok".to_string()));
        let (code, stderr) = run_to_exit(binary, &env).await;
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("unknown fault"), "{stderr}");
    });
}

/// Redis restarted empty (no persistence) under a running example: the deliveries sent right
/// after the restart are all answered 2xx (a broken pooled connection is tried once more on a
/// fresh one, not answered 503) and handled, and the loss of what was queued before is loud:
/// `meetingbaas_webhooks_inbox_store_data_lost_total` counts it.
pub fn a_redis_restart_is_retried_and_a_lost_queue_is_loud(binary: &str) {
    run(async {
        let mut redis = RedisServer::start();
        let metrics_addr = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("its address").to_string()
        };
        let mut env = env_with_inbox(&redis.url());
        env.push(("MEETINGBAAS_METRICS", metrics_addr.clone()));
        // Keeps the first deliveries queued for retries, so that the restart loses them.
        env.push(("MEETINGBAAS_EXAMPLE_FAULTS", "fail:doomed".to_string()));
        let server = Server::start(binary, &env).await;
        // Eight deliveries: every pooled intake connection has carried one.
        for n in 0..8 {
            let body = minimal("bot.failed", "doomed");
            let body = [&body[..body.len() - 1], format!(",\"n\":{n}}}").as_bytes()].concat();
            let response = post(
                &server,
                &signed(Scheme::Callback, &body),
                Body::Length(body),
            )
            .await;
            queued_id(&response);
        }
        let inbox = Inbox::open(&redis.url())
            .await
            .expect("the example's inbox");
        wait_for(&inbox, "the doomed deliveries retrying", |s| {
            s.retrying == 8
        })
        .await;
        drop(inbox);

        redis.restart();
        let sent = deliveries("after-restart", 20);
        for (headers, body) in &sent {
            let response = post(&server, headers, Body::Length(body.clone())).await;
            queued_id(&response);
        }

        // Counted before anything else opens the inbox (an open makes the group again).
        let get =
            format!("GET /metrics HTTP/1.1\r\nhost: {metrics_addr}\r\nconnection: close\r\n\r\n");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let answer = client::raw(&metrics_addr, get.as_bytes())
                .await
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&answer);
            let lost: f64 = text
                .lines()
                .filter(|line| line.starts_with("meetingbaas_webhooks_inbox_store_data_lost_total"))
                .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
                .sum();
            // The worker's pickup delay is measured too (first attempts).
            if lost >= 1.0 && text.contains("meetingbaas_webhooks_inbox_pickup_delay_seconds_count")
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the lost queue was never counted:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let inbox = Inbox::open(&redis.url())
            .await
            .expect("the example's inbox");
        wait_for(&inbox, "the deliveries after the restart handled", |s| {
            s.completed == 20
        })
        .await;
    });
}

/// An inbox file with one page of pending bodies overwritten, 3 000 deliveries pending: the
/// example starts, `GET /ready` never answers 200 (its integrity check found the damage), and
/// the queue keeps moving: every delivery is handled or dead-lettered (`unreadable_row`, only
/// those on the page), and a new one is still stored and handled.
pub fn a_damaged_file_is_never_ready_and_its_queue_keeps_moving(binary: &str) {
    const PENDING: usize = 3_000;
    run(async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = sqlite_url(&dir);
        let path = dir.path().join("inbox.db");
        {
            let inbox = Inbox::open(&url).await.expect("a new inbox");
            let mut sends = tokio::task::JoinSet::new();
            for chunk in 0..PENDING / 100 {
                let inbox = inbox.clone();
                sends.spawn(async move {
                    for n in chunk * 100..(chunk + 1) * 100 {
                        // About 900 bytes; the marker is only in the body.
                        let body = format!(
                            r#"{{"event":"bot.failed","data":{{"bot_id":"d-{n}","pad":"body-{n:04}-{}"}}}}"#,
                            "x".repeat(850)
                        );
                        meetingbaas_webhooks_inbox::testing::stored(&inbox, body).await;
                    }
                });
            }
            while let Some(sent) = sends.join_next().await {
                sent.expect("a store task");
            }
        }
        // The store's threads close the file and fold its log in: a page damaged before that
        // would be replaced by its newer copy in the log.
        meetingbaas_webhooks_inbox::testing::log_folded(&path).await;
        let mut bytes = std::fs::read(&path).expect("the inbox file");
        let page_size = match u16::from_be_bytes([bytes[16], bytes[17]]) {
            1 => 65_536,
            size => usize::from(size),
        };
        let marker = b"body-1500-";
        let at = bytes
            .windows(marker.len())
            .position(|window| window == marker)
            .expect("the body is in the file");
        let page = at / page_size;
        bytes[page * page_size..(page + 1) * page_size].fill(0xA5);
        std::fs::write(&path, &bytes).expect("the damaged file");

        let server = Server::start(binary, &env_with_inbox(&url)).await;
        // Ready while the check runs (milliseconds for a 3 MB file), then never again: sampled
        // for 5 s once it has turned 503.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while crate::shutdown_cases::ready(&server).await.status != 503 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the check did not find the damage"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for _ in 0..50 {
            let ready = crate::shutdown_cases::ready(&server).await;
            assert_eq!(ready.status, 503, "ready with a damaged file");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let body = minimal("bot.failed", "after-damage");
        let id = queued_id(
            &post(
                &server,
                &signed(Scheme::Callback, &body),
                Body::Length(body),
            )
            .await,
        );
        let inbox = Inbox::open_read_only(&url)
            .await
            .expect("the inbox, read-only");
        let stats = wait_for(&inbox, "the queue to move past the damaged page", |s| {
            s.completed + s.dead == PENDING as u64 + 1
        })
        .await;
        assert!(
            stats.dead >= 1 && stats.dead < 20,
            "only the page's: {stats:?}"
        );
        let after = inbox.show(&id).await.expect("the new delivery");
        assert_eq!(after.summary.state, State::Completed);
    });
}

/// A log that does not belong beside the inbox file: another inbox's `-wal` (both left by a
/// `kill -9`), and a backup restored over the file with its live `-wal` left beside it. SQLite
/// keeps nothing that ties a log to its file, so neither can be told at open. The example
/// refuses to start; or starts, is not ready once its integrity check found damage, and then
/// nothing of the log is copied into the file (not even when it stops); or stays ready and its
/// queue moves. (Measured: the restored
/// backup refuses to start; the foreign log fails the integrity check in some runs and is
/// structurally whole in others: see docs/inbox.md, "Backup and restore".)
pub fn a_log_that_does_not_belong_is_never_a_silent_ready(binary: &str) {
    run(async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        // Two inboxes, each left with a log by `kill -9` with deliveries pending.
        let env = default_env();
        let mut files = Vec::new();
        for name in ["a", "b"] {
            let path = dir.path().join(format!("{name}.db"));
            let mut env = env.clone();
            env.push(("MEETINGBAAS_INBOX", format!("sqlite://{}", path.display())));
            let mut server = Server::start(binary, &env).await;
            let sent = deliveries(&format!("log-{name}"), 300);
            send_all(&server, &sent).await;
            server.kill().await;
            files.push(path);
        }
        let log = |path: &std::path::Path| {
            let mut log = path.as_os_str().to_owned();
            log.push("-wal");
            std::path::PathBuf::from(log)
        };
        // A backup of a (the online backup API), then a goes on: 300 more, then `kill -9`.
        let backup = dir.path().join("a-backup.db");
        meetingbaas_webhooks_inbox::SqliteReader::open(&files[0])
            .and_then(|reader| reader.backup_to(&backup))
            .expect("a backup of a");
        {
            let mut env = env.clone();
            env.push((
                "MEETINGBAAS_INBOX",
                format!("sqlite://{}", files[0].display()),
            ));
            let mut server = Server::start(binary, &env).await;
            send_all(&server, &deliveries("log-a-later", 300)).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            send_all(&server, &deliveries("log-a-last", 100)).await;
            server.kill().await;
        }

        // b's log beside a; a's live log beside an older copy of a.
        let foreign = dir.path().join("foreign.db");
        std::fs::copy(&files[0], &foreign).expect("a's file");
        std::fs::copy(log(&files[1]), log(&foreign)).expect("b's log");
        let restored = dir.path().join("restored.db");
        std::fs::copy(&backup, &restored).expect("the backup");
        std::fs::copy(log(&files[0]), log(&restored)).expect("a's live log");

        for (what, path) in [
            ("foreign log", &foreign),
            ("restored beside a live log", &restored),
        ] {
            let url = format!("sqlite://{}", path.display());
            let (code, stderr) = {
                let mut env = default_env();
                env.push(("MEETINGBAAS_INBOX", url.clone()));
                let started =
                    tokio::time::timeout(Duration::from_secs(10), Server::try_start(binary, &env))
                        .await;
                match started {
                    Ok(Ok(mut server)) => {
                        // Ready while the integrity check runs; 503 once it found damage.
                        let mut damaged = false;
                        for _ in 0..30 {
                            if crate::shutdown_cases::ready(&server).await.status == 503 {
                                damaged = true;
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        eprintln!("{what}: started; not ready within 3 s: {damaged}");
                        if !damaged {
                            // Ready: the queue moves, or readiness turns 503 once an operation
                            // finds the file damaged.
                            let inbox = Inbox::open_read_only(&url).await.expect("readable");
                            let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
                            loop {
                                let stats = inbox.stats().await;
                                if let Ok(stats) = &stats
                                    && stats.queued == 0
                                    && stats.running == 0
                                {
                                    break;
                                }
                                if crate::shutdown_cases::ready(&server).await.status == 503 {
                                    eprintln!("{what}: readiness turned 503: {stats:?}");
                                    break;
                                }
                                assert!(
                                    tokio::time::Instant::now() < deadline,
                                    "{what}: ready, and its queue does not move: {stats:?}"
                                );
                                tokio::time::sleep(Duration::from_millis(200)).await;
                            }
                        } else {
                            // Not ready, then stopped: nothing of the log was copied into the
                            // file meanwhile, nor when it closed.
                            let before = std::fs::read(path).expect("the file");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            server.terminate();
                            let _ = server.wait_for_exit(Duration::from_secs(30)).await;
                            let after = std::fs::read(path).expect("the file");
                            assert!(before == after, "{what}: the log was folded into the file");
                        }
                        (None, String::new())
                    }
                    Ok(Err((code, stderr))) => (code, stderr),
                    Err(_) => panic!("{what}: neither started nor exited within 10 s"),
                }
            };
            if code.is_some() {
                eprintln!("{what}: refused to start: {code:?} {stderr}");
                assert_ne!(code, Some(0), "{what}");
            }
        }
    });
}
