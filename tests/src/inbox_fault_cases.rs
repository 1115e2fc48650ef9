//! Inbox fault cases of issue 12 that need more than one example or a small filesystem: three
//! replicas on one Redis while a replica and Redis itself are killed and restarted, and a SQLite
//! or Redis store on a full disk (a tmpfs the case mounts; skipped, with a line saying so, where
//! mounting is not permitted).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use meetingbaas_webhooks::Scheme;
use meetingbaas_webhooks_inbox::{Inbox, ListQuery, State, Stats};

use crate::cases::{assert_rejected, run};
use crate::client::{self, Body, Response};
use crate::deliveries::signed;
use crate::inbox_cases::{
    DRAIN_TIMEOUT, Delivery, assert_each_completed_once, env_with_inbox, queued_id, wait_for,
};
use crate::postgres_server::PostgresServer;
use crate::redis_server::RedisServer;
use crate::server::Server;

/// How many distinct deliveries the replica case sends.
const REPLICA_DELIVERIES: usize = 1_000;

/// How many senders run at once (Meeting BaaS's concurrent deliveries, bounded).
const SENDERS: usize = 16;

/// How many times a sender tries one delivery before the case fails.
const MAX_TRIES: u32 = 40;

/// The examples, by binary name: the replica case runs three different ones where they are built.
const EXAMPLES: [&str; 4] = [
    "meetingbaas-example-axum",
    "meetingbaas-example-actix",
    "meetingbaas-example-warp",
    "meetingbaas-example-hyper",
];

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A delivery of `name` for bot `bot_id`, padded with `padding` bytes of data.
fn padded(name: &str, bot_id: &str, padding: usize) -> Vec<u8> {
    serde_json::json!({
        "event": name,
        "data": { "bot_id": bot_id, "padding": "x".repeat(padding) },
    })
    .to_string()
    .into_bytes()
}

/// The bot id a stored body names.
fn bot_id_of(body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    value["data"]["bot_id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// What the senders saw, for the assertions and the failure messages.
#[derive(Debug, Default)]
struct Seen {
    /// Answers by status (`0`: no answer at all: refused, reset, timed out).
    statuses: BTreeMap<u16, usize>,
    /// Non-2xx answers other than 503 with `Retry-After`.
    unexpected: Vec<String>,
    /// The deliveries (by index) answered 2xx, in that order.
    accepted: Vec<usize>,
    /// The ids of 202 answers.
    ids: BTreeSet<String>,
    /// Copies of accepted deliveries answered `duplicate`.
    duplicates: usize,
    /// Copies of accepted deliveries answered 202: stored twice.
    stored_twice: Vec<String>,
}

/// The replicas' current addresses (a restarted replica listens on a new port), as a load
/// balancer would know them.
type Addresses = Arc<Mutex<Vec<String>>>;

/// Records a non-2xx answer (or none) to a delivery.
fn record_failure(seen: &Mutex<Seen>, answer: &std::io::Result<Response>) {
    let mut seen = lock(seen);
    match answer {
        Ok(response) => {
            *seen.statuses.entry(response.status).or_default() += 1;
            if response.status != 503 || response.header("retry-after").is_none() {
                let text = response.text();
                seen.unexpected.push(format!("{}: {text}", response.status));
            }
        }
        Err(_) => *seen.statuses.entry(0).or_default() += 1,
    }
}

/// Sends delivery `index` as Meeting BaaS would: until it is answered 2xx, retrying a non-2xx
/// answer or a connection error with backoff, on the next replica each time (a load balancer
/// taking a failed one out). The 2xx answer, or why the case fails.
async fn deliver(
    addresses: &Addresses,
    seen: &Mutex<Seen>,
    index: usize,
    delivery: &Delivery,
) -> Result<Response, String> {
    let (headers, body) = delivery;
    let mut backoff = Duration::from_millis(50);
    for attempt in 0..MAX_TRIES {
        let addr = {
            let addresses = lock(addresses);
            addresses[(index + attempt as usize) % addresses.len()].clone()
        };
        let answer = client::post(&addr, headers, Body::Length(body.clone())).await;
        if let Ok(response) = &answer
            && (200..300).contains(&response.status)
        {
            return Ok(response.clone());
        }
        record_failure(seen, &answer);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
    Err(format!(
        "delivery {index} was not accepted after {MAX_TRIES} tries"
    ))
}

/// Waits (bounded) until no delivery is pending (queued, running or retrying) on two reads in a
/// row: Redis counts each state with its own command, so one read may miss a delivery changing
/// state meanwhile.
async fn settled(inbox: &Inbox, what: &str) -> Stats {
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    loop {
        wait_for(inbox, what, |s| s.queued + s.running + s.retrying == 0).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let stats = wait_for(inbox, what, |_| true).await;
        if stats.queued + stats.running + stats.retrying == 0 {
            return stats;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {stats:?}"
        );
    }
}

/// The example binaries for three replicas: `binary`, then two other examples built next to it
/// (by the same `cargo test --workspace`), or `binary` again where they are missing.
fn replica_binaries(binary: &str) -> Vec<String> {
    let path = Path::new(binary);
    let mut replicas = vec![binary.to_string()];
    for name in EXAMPLES {
        let sibling = path.with_file_name(name);
        if replicas.len() < 3 && sibling != path && sibling.is_file() {
            replicas.push(sibling.display().to_string());
        }
    }
    while replicas.len() < 3 {
        replicas.push(binary.to_string());
    }
    replicas
}

/// Waits (bounded) until `accepted` deliveries have been answered 2xx.
async fn wait_for_accepted(seen: &Mutex<Seen>, accepted: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let now = lock(seen).accepted.len();
        if now >= accepted {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {now} of {accepted} deliveries accepted in time: {:?}",
            lock(seen).statuses
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends `signal` (`STOP`, `CONT`) to the server's process with `/usr/bin/kill` (or `kill` on the
/// `PATH`).
fn signal(server: &Server, signal: &str) {
    let pid = server.pid().expect("the replica is running").to_string();
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid])
        .status()
        .expect("running kill");
    assert!(status.success(), "kill -{signal} failed");
}

/// A replica frozen (`SIGSTOP`) while its handler runs a delivery: once the lease (the
/// examples' default, 15 s) has run out, another replica takes the delivery up and completes
/// it. The frozen replica, resumed (`SIGCONT`), ends its handler but may not record an outcome
/// for a lease it no longer holds: the delivery is completed once, with two attempts (the
/// first recorded as an expired lease), and the resumed replica goes on serving.
pub fn a_frozen_replicas_delivery_is_taken_over_and_completed_once(binary: &str) {
    run(async {
        let redis = RedisServer::start();
        let env = env_with_inbox(&redis.url());
        let inbox = Inbox::open(&redis.url()).await.expect("the inbox");
        let binaries = replica_binaries(binary);
        let mut frozen = Server::start(&binaries[0], &env).await;

        // `bot.completed` takes the examples' slow path (200 ms): freeze the replica while it
        // runs. The handler may end before the signal lands; then try another delivery.
        let mut caught = None;
        for n in 0..20 {
            let body = padded("bot.completed", &format!("frozen-{n}"), 0);
            let headers = signed(Scheme::Callback, &body);
            let response = client::post(&frozen.addr, &headers, Body::Length(body))
                .await
                .expect("an answer");
            let id = queued_id(&response);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            loop {
                let state = inbox.show(&id).await.expect("the delivery").summary.state;
                if state == State::Running {
                    signal(&frozen, "STOP");
                    // An outcome already on its way to Redis lands within this pause.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    let state = inbox.show(&id).await.expect("the delivery").summary.state;
                    if state == State::Running {
                        caught = Some(id.clone());
                    } else {
                        signal(&frozen, "CONT");
                    }
                    break;
                }
                if state == State::Completed {
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "delivery {id} neither ran nor completed: {state:?}"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            if caught.is_some() {
                break;
            }
            wait_for(&inbox, "the delivery to complete", |s| {
                s.running + s.queued == 0
            })
            .await;
        }
        let id = caught.expect("a delivery caught running in 20 tries");

        // Another replica takes it over once the frozen one's lease runs out.
        let _other = Server::start(&binaries[1], &env).await;
        let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
        loop {
            let stored = inbox.show(&id).await.expect("the delivery");
            if stored.summary.state == State::Completed {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the frozen replica's delivery was not taken over: {:?}",
                stored.summary
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        // The frozen replica resumes: its handler ends, its outcome is not recorded.
        signal(&frozen, "CONT");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let stored = inbox.show(&id).await.expect("the delivery");
        assert_eq!(
            stored.summary.state,
            State::Completed,
            "{:?}",
            stored.summary
        );
        let attempts: Vec<Option<&str>> =
            stored.attempts.iter().map(|a| a.error.as_deref()).collect();
        assert_eq!(attempts.len(), 2, "attempts: {attempts:?}");
        assert!(
            attempts[0].is_some_and(|error| error.contains("lease expired")),
            "attempts: {attempts:?}"
        );
        assert_eq!(attempts[1], None, "attempts: {attempts:?}");
        let stats = settled(&inbox, "every delivery to settle").await;
        assert_eq!(stats.dead, 0, "{stats:?}");

        // ...and goes on serving: a new delivery to it is stored and completed.
        assert!(frozen.is_running(), "the resumed replica exited");
        let body = padded("bot.failed", "after-resume", 0);
        let headers = signed(Scheme::Callback, &body);
        let response = client::post(&frozen.addr, &headers, Body::Length(body))
            .await
            .expect("an answer from the resumed replica");
        let after = queued_id(&response);
        let ids = BTreeSet::from([id, after]);
        settled(&inbox, "the last delivery").await;
        assert_each_completed_once(&inbox, &ids).await;
    });
}

/// Three example replicas (different adapters when they are built) on one `redis-server` with
/// `appendonly yes` and `appendfsync always`: 1 000 distinct deliveries spread over them by 16
/// concurrent senders that retry until a 2xx, while one replica is killed with `kill -9` and
/// restarted, Redis is killed and restarted on the same port and directory (its append-only
/// file replayed), and copies of accepted deliveries are sent. Every delivery is stored once
/// and completed once; none is dead or left pending.
pub fn three_replicas_on_one_redis_lose_none(binary: &str) {
    three_replicas_on_one_store_lose_none(binary, Backend::Redis);
}

/// The same case on one Postgres server, restarted with a fast shutdown instead of Redis, and
/// with the examples' handlers writing one row per delivery into a table of the application in
/// their job's transaction (`MEETINGBAAS_EXAMPLE_HANDLED_TABLE`): besides every delivery
/// completed once, the table ends with exactly one row per delivery (none twice, none missing).
pub fn three_replicas_on_one_postgres_lose_none(binary: &str) {
    three_replicas_on_one_store_lose_none(binary, Backend::Postgres);
}

/// The stores replicas share.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Redis,
    Postgres,
}

/// A shared store's server, for the replica case.
enum SharedServer {
    /// The server, and the directory of its append-only file (kept as long as it).
    Redis(RedisServer, #[allow(dead_code)] tempfile::TempDir),
    Postgres(PostgresServer),
}

impl SharedServer {
    fn start(backend: Backend) -> SharedServer {
        match backend {
            Backend::Redis => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                SharedServer::Redis(RedisServer::start_persistent(dir.path()), dir)
            }
            Backend::Postgres => {
                let server = PostgresServer::start();
                server.psql(&format!(
                    "CREATE TABLE {HANDLED_TABLE} (key TEXT NOT NULL, kind TEXT NOT NULL)"
                ));
                SharedServer::Postgres(server)
            }
        }
    }

    fn url(&self) -> String {
        match self {
            SharedServer::Redis(server, _) => server.url(),
            SharedServer::Postgres(server) => server.url(),
        }
    }

    /// Redis killed and restarted (its append-only file replayed); Postgres stopped with a fast
    /// shutdown and started again.
    fn restart(&mut self) {
        match self {
            SharedServer::Redis(server, _) => server.restart(),
            SharedServer::Postgres(server) => server.restart(),
        }
    }
}

/// The application's table the examples write to in the Postgres case.
const HANDLED_TABLE: &str = "handled_deliveries";

fn three_replicas_on_one_store_lose_none(binary: &str, backend: Backend) {
    run(async {
        let mut store = SharedServer::start(backend);
        let mut env = env_with_inbox(&store.url());
        if let Backend::Postgres = backend {
            env.push((
                "MEETINGBAAS_EXAMPLE_HANDLED_TABLE",
                HANDLED_TABLE.to_string(),
            ));
        }
        let binaries = replica_binaries(binary);
        println!("replicas: {binaries:?}");
        let mut replicas = Vec::new();
        for binary in &binaries {
            replicas.push(Server::start(binary, &env).await);
        }
        let addresses: Addresses = Arc::new(Mutex::new(
            replicas.iter().map(|server| server.addr.clone()).collect(),
        ));
        // One in five takes the examples' slow path (`bot.completed`: 200 ms), so that handlers
        // are running when a replica is killed.
        let sent: Arc<Vec<Delivery>> = Arc::new(
            (0..REPLICA_DELIVERIES)
                .map(|n| {
                    let name = if n % 5 == 0 {
                        "bot.completed"
                    } else {
                        "bot.failed"
                    };
                    let body = padded(name, &format!("replica-{n}"), 0);
                    (signed(Scheme::Callback, &body), body)
                })
                .collect(),
        );
        let seen = Arc::new(Mutex::new(Seen::default()));
        let next = Arc::new(AtomicUsize::new(0));
        // The faults happen while deliveries arrive: a sender holds delivery `4 * N / 10` and
        // later until the replica is back, `7 * N / 10` and later until Redis is back.
        let (faults_done, faults) = tokio::sync::watch::channel(0u8);

        let mut senders = tokio::task::JoinSet::new();
        for _ in 0..SENDERS {
            let (sent, seen, next, addresses) = (
                Arc::clone(&sent),
                Arc::clone(&seen),
                Arc::clone(&next),
                Arc::clone(&addresses),
            );
            let mut faults = faults.clone();
            senders.spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(delivery) = sent.get(index) else {
                        return Ok(());
                    };
                    let after = match index * 10 / REPLICA_DELIVERIES {
                        0..4 => 0,
                        4..7 => 1,
                        _ => 2,
                    };
                    faults
                        .wait_for(|done| *done >= after)
                        .await
                        .map_err(|_| "the case stopped".to_string())?;
                    let response = deliver(&addresses, &seen, index, delivery).await?;
                    let mut seen = lock(&seen);
                    match response.status {
                        202 => {
                            let id = queued_id(&response);
                            if !seen.ids.insert(id.clone()) {
                                return Err(format!("id {id} given to two deliveries"));
                            }
                        }
                        // Stored by an earlier try whose answer was lost (a 503 or a reset
                        // while Redis or the replica went away).
                        200 if response.json()["status"] == "duplicate" => {}
                        _ => {
                            return Err(format!(
                                "delivery {index}: unexpected 2xx {} {}",
                                response.status,
                                response.text()
                            ));
                        }
                    }
                    seen.accepted.push(index);
                }
            });
        }

        // Copies of accepted deliveries, meanwhile: a duplicate, or a 503 during an outage, never
        // stored again.
        let copying = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let copier = {
            let (sent, seen, addresses, copying) = (
                Arc::clone(&sent),
                Arc::clone(&seen),
                Arc::clone(&addresses),
                Arc::clone(&copying),
            );
            tokio::spawn(async move {
                let mut round = 0usize;
                while copying.load(Ordering::Relaxed) {
                    round += 1;
                    let index = {
                        let seen = lock(&seen);
                        (!seen.accepted.is_empty())
                            .then(|| seen.accepted[(round * 7919) % seen.accepted.len()])
                    };
                    let Some(index) = index else {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    let addr = {
                        let addresses = lock(&addresses);
                        addresses[round % addresses.len()].clone()
                    };
                    let (headers, body) = &sent[index];
                    let answer = client::post(&addr, headers, Body::Length(body.clone())).await;
                    match &answer {
                        Ok(response) if response.status == 200 => {
                            let mut seen = lock(&seen);
                            if response.json()["status"] == "duplicate" {
                                seen.duplicates += 1;
                            } else {
                                seen.unexpected
                                    .push(format!("copy of {index}: {}", response.text()));
                            }
                        }
                        Ok(response) if response.status == 202 => {
                            lock(&seen)
                                .stored_twice
                                .push(format!("copy of {index}: {}", response.text()));
                        }
                        _ => record_failure(&seen, &answer),
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        };

        // The faults, while deliveries arrive: a replica killed (handlers running) and restarted...
        wait_for_accepted(&seen, REPLICA_DELIVERIES / 4).await;
        replicas[1].kill().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        replicas[1] = Server::start(&binaries[1], &env).await;
        lock(&addresses)[1] = replicas[1].addr.clone();
        faults_done.send_replace(1);
        // ...then the store's server itself: Redis killed, its append-only file replayed on the
        // same port; Postgres stopped with a fast shutdown and started again.
        wait_for_accepted(&seen, REPLICA_DELIVERIES / 2).await;
        store.restart();
        faults_done.send_replace(2);

        while let Some(sender) = senders.join_next().await {
            if let Err(failure) = sender.expect("a sender task") {
                panic!("{failure}: {:?}", lock(&seen).statuses);
            }
        }
        copying.store(false, Ordering::Relaxed);
        copier.await.expect("the copier task");
        for (n, replica) in replicas.iter_mut().enumerate() {
            assert!(replica.is_running(), "replica {n} ({}) died", binaries[n]);
        }

        let inbox = Inbox::open(&store.url())
            .await
            .expect("the replicas' inbox");
        // Every delivery was stored before its 2xx: once none is pending, all are finished (a
        // lost one fails the counts below at once rather than a wait).
        let stats = settled(&inbox, "every delivery handled by the replicas").await;
        let seen = std::mem::take(&mut *lock(&seen));
        println!(
            "answers to failed tries by status (0: no answer): {:?}; copies answered duplicate: {}; stats: {stats:?}",
            seen.statuses, seen.duplicates
        );
        assert!(
            seen.stored_twice.is_empty(),
            "copies stored twice: {:?}",
            seen.stored_twice
        );
        assert!(
            seen.unexpected.is_empty(),
            "answers other than 503 with Retry-After: {:?}",
            seen.unexpected
        );
        assert!(seen.duplicates > 0, "no copy was answered duplicate");
        assert_eq!(
            (
                stats.completed,
                stats.dead,
                stats.queued,
                stats.running,
                stats.retrying
            ),
            (REPLICA_DELIVERIES as u64, 0, 0, 0, 0),
            "{stats:?}"
        );
        let accepted: BTreeSet<usize> = seen.accepted.iter().copied().collect();
        assert_eq!(accepted.len(), REPLICA_DELIVERIES);

        // Stored once each: 1 000 stored deliveries, one per body sent.
        let stored = inbox
            .list(ListQuery {
                limit: 10 * REPLICA_DELIVERIES,
                ..ListQuery::default()
            })
            .await
            .expect("listing the inbox");
        assert_eq!(stored.len(), REPLICA_DELIVERIES, "stored deliveries");
        let ids: BTreeSet<String> = stored.iter().map(|summary| summary.id.clone()).collect();
        assert!(seen.ids.is_subset(&ids), "a 202 id is not stored");
        let keys: BTreeSet<&str> = stored.iter().map(|summary| summary.key.as_str()).collect();
        assert_eq!(keys.len(), REPLICA_DELIVERIES, "idempotency keys stored");
        // Completed once each, and each body the one of a delivery sent.
        assert_each_completed_once(&inbox, &ids).await;
        let mut bots = BTreeSet::new();
        let mut taken_over = 0;
        for id in &ids {
            let shown = inbox.show(id).await.expect("a stored delivery");
            assert!(bots.insert(bot_id_of(&shown.body)), "{id} stored twice");
            taken_over += usize::from(shown.attempts.iter().any(|a| a.error.is_some()));
        }
        let expected: BTreeSet<String> = (0..REPLICA_DELIVERIES)
            .map(|n| format!("replica-{n}"))
            .collect();
        assert_eq!(bots, expected);
        println!(
            "deliveries with a failed attempt (taken over from the killed replica): {taken_over}"
        );
        if let SharedServer::Postgres(server) = &store {
            let counts = server.psql(&format!(
                "SELECT COUNT(*), COUNT(DISTINCT key) FROM {HANDLED_TABLE}"
            ));
            let keys = stored.len();
            assert_eq!(
                counts,
                format!("{keys}|{keys}"),
                "the application's rows (all, distinct keys): one per delivery"
            );
            println!("rows written in the handlers' transactions: {counts}");
        }
    });
}

/// A tmpfs mounted by the test, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -t tmpfs -o size=...`) on a fresh directory; `Err`
    /// with `mount`'s message when it is not permitted.
    fn mount(size: &str) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|err| err.to_string())?;
        let output = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|err| err.to_string())?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).trim().to_string());
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // A process killed a moment ago may still hold a file open: try again, then detach.
        for _ in 0..50 {
            let unmounted = std::process::Command::new("umount")
                .arg(self.dir.path())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|status| status.success());
            if unmounted {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// How much room the filler leaves at first, in bytes.
const HEADROOM: u64 = 256 * 1024;

/// Grows the file at `path` with zeros until its filesystem is full, then gives back
/// `headroom` bytes.
fn fill(path: &Path, headroom: u64) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("opening the filler file");
    let chunk = vec![0u8; 16 * 1024];
    loop {
        if let Err(err) = file.write_all(&chunk) {
            assert_eq!(
                err.kind(),
                std::io::ErrorKind::StorageFull,
                "filling {}: {err}",
                path.display()
            );
            // The last partial chunk too: byte by byte.
            while file.write_all(&[0]).is_ok() {}
            break;
        }
    }
    let len = file.metadata().expect("the filler's size").len();
    file.set_len(len.saturating_sub(headroom))
        .expect("shrinking the filler");
}

/// Deliveries sent to an example whose store is on a filling disk, and what became of them.
#[derive(Default)]
struct DiskIntake {
    /// The deliveries answered 202, by id.
    stored: BTreeMap<String, Vec<u8>>,
    /// The deliveries answered 503, not yet sent again.
    refused: Vec<Delivery>,
    /// Deliveries answered 503 and then `duplicate` when sent again: stored after all.
    stored_anyway: usize,
    /// How many were made.
    made: usize,
}

impl DiskIntake {
    /// A new delivery: `bot.failed` (the examples' instant handler), 8 KiB, to fill the disk
    /// quickly.
    fn delivery(&mut self) -> Delivery {
        let body = padded("bot.failed", &format!("disk-{}", self.made), 8 * 1024);
        self.made += 1;
        (signed(Scheme::Callback, &body), body)
    }

    /// Sends a new delivery, which must be stored.
    async fn send_stored(&mut self, server: &Server) {
        let (headers, body) = self.delivery();
        let response = crate::cases::post(server, &headers, Body::Length(body.clone())).await;
        self.stored.insert(queued_id(&response), body);
    }

    /// Fills the disk, first but for a little room (some writes fit, some do not), then
    /// completely, sending eight deliveries at once (a group commit of several) meanwhile until
    /// some are refused: each is answered 202 or 503 with `Retry-After`, nothing else.
    async fn fill_until_refused(&mut self, server: &Server, filler: &Path) {
        fill(filler, HEADROOM);
        let mut full = false;
        let mut answers = BTreeMap::<u16, usize>::new();
        while self.refused.is_empty() || !full {
            assert!(
                self.made < 2_000,
                "no 503 after {} deliveries on a full disk",
                self.made
            );
            if !self.refused.is_empty() {
                fill(filler, 0);
                full = true;
            }
            let mut sends = tokio::task::JoinSet::new();
            for _ in 0..8 {
                let (headers, body) = self.delivery();
                let addr = server.addr.clone();
                sends.spawn(async move {
                    let answer = client::post(&addr, &headers, Body::Length(body.clone())).await;
                    (headers, body, answer)
                });
            }
            while let Some(sent) = sends.join_next().await {
                let (headers, body, answer) = sent.expect("a send task");
                let response = answer.expect("an answer on a full disk");
                *answers.entry(response.status).or_default() += 1;
                match response.status {
                    202 => {
                        self.stored.insert(queued_id(&response), body);
                    }
                    503 => {
                        assert_rejected(&response, 503, &["inbox_unavailable"]);
                        assert!(
                            response.header("retry-after").is_some(),
                            "503 without Retry-After"
                        );
                        self.refused.push((headers, body));
                    }
                    status => panic!("a full disk answered {status}: {}", response.text()),
                }
            }
        }
        println!("answers while the disk filled up, by status: {answers:?}");
    }

    /// Sends the refused deliveries again, as the sender would, until each is answered 2xx
    /// (bounded).
    async fn retry_refused(&mut self, server: &Server) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        for (headers, body) in std::mem::take(&mut self.refused) {
            loop {
                let response =
                    crate::cases::post(server, &headers, Body::Length(body.clone())).await;
                if response.status == 202 {
                    self.stored.insert(queued_id(&response), body);
                    break;
                }
                if response.status == 200 {
                    assert_eq!(
                        response.json()["status"],
                        "duplicate",
                        "{}",
                        response.text()
                    );
                    self.stored_anyway += 1;
                    break;
                }
                assert_eq!(response.status, 503, "{}", response.text());
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "intake did not recover once the disk had room"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Every delivery answered 202 is really stored, with its body, and the worker handles each
    /// stored delivery once; none is dead.
    async fn assert_stored_and_handled(&self, url: &str) {
        let inbox = Inbox::open(url).await.expect("the example's inbox");
        for (id, body) in &self.stored {
            let shown = inbox
                .show(id)
                .await
                .unwrap_or_else(|err| panic!("answered 202 but {id} is not stored: {err}"));
            assert_eq!(&shown.body[..], &body[..], "{id}");
        }
        let total = (self.stored.len() + self.stored_anyway) as u64;
        let stats = settled(&inbox, "every stored delivery handled").await;
        assert_eq!((stats.completed, stats.dead), (total, 0), "{stats:?}");
        let ids: BTreeSet<String> = self.stored.keys().cloned().collect();
        assert_each_completed_once(&inbox, &ids).await;
    }
}

/// Mounts a 4 MiB tmpfs, or says why the case is skipped.
fn small_disk() -> Option<Tmpfs> {
    match Tmpfs::mount("4m") {
        Ok(tmpfs) => Some(tmpfs),
        Err(err) => {
            println!("skipped: cannot mount tmpfs (needs root): {err}");
            None
        }
    }
}

/// A SQLite inbox on a full disk (a 4 MiB tmpfs filled by a file): each delivery is answered
/// 202 and then really stored, or 503 with `Retry-After`, never a 2xx for a delivery that was
/// not stored; once the disk is full, 503s come; once the filler is deleted, intake answers 2xx
/// again, the example never died, and the worker handles every stored delivery once.
pub fn a_full_disk_is_503_and_recovers_sqlite(binary: &str) {
    let Some(tmpfs) = small_disk() else {
        return;
    };
    let filler = tmpfs.path().join("filler");
    let url = format!("sqlite://{}", tmpfs.path().join("inbox.db").display());
    run(async {
        let mut server = Server::start(binary, &env_with_inbox(&url)).await;
        let mut intake = DiskIntake::default();
        for _ in 0..3 {
            intake.send_stored(&server).await;
        }
        intake.fill_until_refused(&server, &filler).await;
        assert!(server.is_running(), "the example died on a full disk");

        std::fs::remove_file(&filler).expect("deleting the filler");
        intake.retry_refused(&server).await;
        intake.send_stored(&server).await;
        assert!(server.is_running(), "the example died");
        intake.assert_stored_and_handled(&url).await;
        server.kill().await;
    });
    drop(tmpfs);
}

/// A Redis inbox whose append-only file is on a full disk (`appendfsync always`: Redis stops
/// when it cannot write it): each delivery is answered 202 and then really stored (after a
/// restart, from the append-only file), or 503 with `Retry-After`; once the filler is deleted and
/// Redis restarted, intake answers 2xx again, the example never died, and the worker handles
/// every stored delivery once.
pub fn a_full_disk_is_503_and_recovers_redis(binary: &str) {
    let Some(tmpfs) = small_disk() else {
        return;
    };
    let filler = tmpfs.path().join("filler");
    let aof_dir = tmpfs.path().join("redis");
    std::fs::create_dir(&aof_dir).expect("a directory for Redis");
    run(async {
        let mut redis = RedisServer::start_persistent(&aof_dir);
        let mut server = Server::start(binary, &env_with_inbox(&redis.url())).await;
        let mut intake = DiskIntake::default();
        for _ in 0..3 {
            intake.send_stored(&server).await;
        }
        intake.fill_until_refused(&server, &filler).await;
        assert!(server.is_running(), "the example died on a full disk");

        std::fs::remove_file(&filler).expect("deleting the filler");
        redis.restart();
        intake.retry_refused(&server).await;
        intake.send_stored(&server).await;
        assert!(server.is_running(), "the example died");
        intake.assert_stored_and_handled(&redis.url()).await;
        server.kill().await;
        drop(redis);
    });
    drop(tmpfs);
}
