//! Per-bot order's cost (issue 33, `bench/inbox-order.sh`): how fast a worker drains a backlog
//! with `order_by_bot` on against off. For each store named, each round stores `BOTS` bots'
//! `PER_BOT` status changes each (distinct `created_at`, shuffled) in a fresh store (a new
//! SQLite file, a new Redis key prefix, a new Postgres schema), then times
//! `run_until_idle` of a worker with a no-op handler, `CONCURRENCY` at once, ordering off and
//! on alternating, and prints deliveries per second and the ratio on/off of each round.
//!
//! Usage: `order-drain STORE...` where STORE is `sqlite`, `redis://HOST:PORT` or
//! `postgres://...`. Env: `BOTS` (1000), `PER_BOT` (10), `ROUNDS` (3), `CONCURRENCY` (8).

#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use meetingbaas_bench_load::fail;
use meetingbaas_webhooks_inbox::testing::enqueue;
use meetingbaas_webhooks_inbox::{Inbox, Job, PostgresBackend, PostgresOptions, RedisBackend};
use meetingbaas_webhooks_receiver::redis_connection::RedisConnection;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|value| {
            value
                .parse()
                .unwrap_or_else(|_| fail(format!("{name}: a number")))
        })
        .unwrap_or(default)
}

/// A fresh inbox on `store` for run `run`.
async fn fresh(store: &str, run: usize, dir: &std::path::Path) -> Inbox {
    if store == "sqlite" {
        let path = dir.join(format!("order-{run}.db"));
        return Inbox::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap_or_else(|err| fail(err));
    }
    if store.starts_with("redis://") {
        let connection = RedisConnection::connect(store)
            .await
            .unwrap_or_else(|err| fail(err));
        let backend = RedisBackend::with_connection(connection, &format!("order-bench-{run}:"))
            .await
            .unwrap_or_else(|err| fail(err));
        return Inbox::with_store(backend);
    }
    if store.starts_with("postgres://") {
        let backend = PostgresBackend::connect_with(
            store,
            PostgresOptions::new().schema(format!("order_bench_{run}")),
        )
        .await
        .unwrap_or_else(|err| fail(err));
        return Inbox::with_store(backend);
    }
    fail(format!("unknown store {store:?}"))
}

/// Every bot's statuses, shuffled (xorshift, the same each round).
fn bodies(bots: usize, per_bot: usize) -> Vec<String> {
    let mut bodies = Vec::with_capacity(bots * per_bot);
    for bot in 0..bots {
        for n in 0..per_bot {
            let seconds = n;
            bodies.push(format!(
                r#"{{"event":"bot.status_change","data":{{"bot_id":"bench-bot-{bot}","status":{{"code":"in_call_recording","created_at":"2026-12-07T10:{:02}:{:02}Z"}}}}}}"#,
                seconds / 60 % 60,
                seconds % 60
            ));
        }
    }
    let mut seed = 0x0bd3_2026_u64;
    for i in (1..bodies.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let j = usize::try_from(seed % (i as u64 + 1)).unwrap_or(0);
        bodies.swap(i, j);
    }
    bodies
}

#[tokio::main]
async fn main() {
    let stores: Vec<String> = std::env::args().skip(1).collect();
    if stores.is_empty() {
        fail("usage: order-drain STORE... (sqlite, redis://HOST:PORT, postgres://...)");
    }
    let (bots, per_bot) = (env_number("BOTS", 1000), env_number("PER_BOT", 10));
    let (rounds, concurrency) = (env_number("ROUNDS", 3), env_number("CONCURRENCY", 8));
    let dir = tempfile_dir();
    let bodies = bodies(bots, per_bot);
    println!(
        "{bots} bots x {per_bot} statuses = {} deliveries, concurrency {concurrency}, no-op handler",
        bodies.len()
    );
    let mut run = 0;
    for store in &stores {
        let name = store.split("://").next().unwrap_or(store);
        for round in 1..=rounds {
            let mut rates = [0.0f64; 2];
            // Off first in odd rounds, on first in even ones.
            let modes = if round % 2 == 1 {
                [false, true]
            } else {
                [true, false]
            };
            for ordered in modes {
                run += 1;
                let inbox = fresh(store, run, &dir).await;
                let mut sends = tokio::task::JoinSet::new();
                for chunk in bodies.chunks(bodies.len().div_ceil(64).max(1)) {
                    let (inbox, chunk) = (inbox.clone(), chunk.to_vec());
                    sends.spawn(async move {
                        for body in chunk {
                            enqueue(&inbox, body).await;
                        }
                    });
                }
                while let Some(sent) = sends.join_next().await {
                    sent.unwrap_or_else(|err| fail(err));
                }
                let mut worker = inbox
                    .worker()
                    .concurrency(concurrency)
                    .retention(None)
                    .poll_interval(Duration::from_millis(10))
                    .fallback(|_job: Job| async { Ok(()) });
                if ordered {
                    worker = worker.order_by_bot(Duration::from_secs(60));
                }
                let started = Instant::now();
                let attempts = worker.build().run_until_idle().await;
                let took = started.elapsed();
                let stats = inbox.stats().await.unwrap_or_else(|err| fail(err));
                if stats.completed != bodies.len() as u64 {
                    fail(format!("not all handled: {stats:?}"));
                }
                let rate = attempts.len() as f64 / took.as_secs_f64();
                rates[usize::from(ordered)] = rate;
                println!(
                    "{name} round {round} ordering {}: {:.0} deliveries/s ({} in {:.2} s, {} stale)",
                    if ordered { "on " } else { "off" },
                    rate,
                    attempts.len(),
                    took.as_secs_f64(),
                    stats.stale
                );
            }
            println!(
                "{name} round {round}: on/off {:.2}x",
                rates[1] / rates[0].max(f64::MIN_POSITIVE)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A directory of its own for the SQLite files.
fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("order-drain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|err| fail(err));
    dir
}
