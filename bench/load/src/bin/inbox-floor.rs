//! The floors under the inbox's intake, and worker throughput (bench/inbox.sh runs it):
//!
//! - SQLite: 1 KiB rows inserted in batches of 64 per commit (WAL, `synchronous=FULL`), what the
//!   group commit can at best reach; and one commit per row, what it avoids;
//! - Redis: pipelined `XADD` of 1 KiB entries, 64 per round trip, on 4 connections at once (as
//!   the inbox spreads its enqueues);
//! - the worker: deliveries stored first, then handled by a no-op handler (concurrency 8).
//!
//! Usage: `inbox-floor SQLITE_PATH REDIS_URL` (the Redis database is flushed).

use std::time::{Duration, Instant};

use meetingbaas_webhooks::{Bytes, Verifier};
use meetingbaas_webhooks_inbox::{Enqueued, HandlerError, Inbox, Job};
use meetingbaas_webhooks_receiver::EventLabel;

const BODY: usize = 1024;
const ROWS: usize = 20_000;
const BATCH: usize = 64;
/// Connections the Redis floor spreads its pipelines over (as many as the inbox's intake uses).
const REDIS_CONNECTIONS: usize = 4;

fn body(n: usize) -> Vec<u8> {
    let mut body =
        format!(r#"{{"event":"bot.status_change","data":{{"bot_id":"floor-{n}"}}}}"#).into_bytes();
    body.resize(BODY, b' ');
    body
}

fn sqlite_floor(path: &str) -> rusqlite::Result<(f64, f64)> {
    let _ = std::fs::remove_file(path);
    let connection = rusqlite::Connection::open(path)?;
    connection.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
    connection.execute_batch(
        "PRAGMA synchronous=FULL; CREATE TABLE t (id INTEGER PRIMARY KEY, key TEXT UNIQUE, body BLOB)",
    )?;
    let started = Instant::now();
    for chunk in (0..ROWS).collect::<Vec<_>>().chunks(BATCH) {
        connection.execute_batch("BEGIN IMMEDIATE")?;
        for &n in chunk {
            connection.execute(
                "INSERT INTO t (key, body) VALUES (?1, ?2)",
                rusqlite::params![format!("k{n}"), body(n)],
            )?;
        }
        connection.execute_batch("COMMIT")?;
    }
    let batched = ROWS as f64 / started.elapsed().as_secs_f64();
    let single_rows = 1_000;
    let started = Instant::now();
    for n in ROWS..ROWS + single_rows {
        connection.execute(
            "INSERT INTO t (key, body) VALUES (?1, ?2)",
            rusqlite::params![format!("k{n}"), body(n)],
        )?;
    }
    let single = single_rows as f64 / started.elapsed().as_secs_f64();
    Ok((batched, single))
}

async fn redis_floor(url: &str) -> redis::RedisResult<f64> {
    let client = redis::Client::open(url)?;
    let mut connection = client.get_multiplexed_async_connection().await?;
    redis::cmd("FLUSHALL")
        .query_async::<()>(&mut connection)
        .await?;
    // As the inbox enqueues: spread over REDIS_CONNECTIONS connections at once.
    let mut connections = Vec::new();
    for _ in 0..REDIS_CONNECTIONS {
        connections.push(client.get_multiplexed_async_connection().await?);
    }
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for (lane, mut connection) in connections.into_iter().enumerate() {
        senders.spawn(async move {
            let rows: Vec<usize> = (0..ROWS)
                .filter(|n| n % REDIS_CONNECTIONS == lane)
                .collect();
            for chunk in rows.chunks(BATCH) {
                let mut pipe = redis::pipe();
                for &n in chunk {
                    pipe.cmd("XADD")
                        .arg("floor")
                        .arg("*")
                        .arg("body")
                        .arg(body(n))
                        .ignore();
                }
                pipe.query_async::<()>(&mut connection).await?;
            }
            Ok::<(), redis::RedisError>(())
        });
    }
    while let Some(sent) = senders.join_next().await {
        sent.expect("a floor task")?;
    }
    let rate = ROWS as f64 / started.elapsed().as_secs_f64();
    redis::cmd("FLUSHALL")
        .query_async::<()>(&mut connection)
        .await?;
    Ok(rate)
}

async fn worker_throughput(inbox: &Inbox, count: usize) -> f64 {
    let verifier = Verifier::builder().callback_secret("s").build().unwrap();
    let mut sends = tokio::task::JoinSet::new();
    for n in 0..count {
        let inbox = inbox.clone();
        let delivery = verifier
            .verify(&[("x-mb-secret", "s")], Bytes::from(body(n + 1_000_000)))
            .unwrap();
        sends.spawn(async move {
            inbox
                .intake()
                .enqueue(&delivery, EventLabel::default())
                .await
        });
        if sends.len() >= 256 {
            let stored = sends.join_next().await.unwrap().unwrap().unwrap();
            assert!(matches!(stored, Enqueued::Stored { .. }));
        }
    }
    while let Some(stored) = sends.join_next().await {
        assert!(matches!(stored.unwrap().unwrap(), Enqueued::Stored { .. }));
    }
    let before = inbox.stats().await.unwrap().completed;
    let started = Instant::now();
    let worker = inbox
        .worker()
        .concurrency(8)
        .poll_interval(Duration::from_millis(50))
        .fallback(|_job: Job| async { Ok::<(), HandlerError>(()) })
        .build()
        .spawn();
    while inbox.stats().await.unwrap().completed < before + count as u64 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    worker.shutdown().await;
    rate
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(url)) = (args.next(), args.next()) else {
        eprintln!("usage: inbox-floor SQLITE_PATH REDIS_URL");
        std::process::exit(2);
    };
    let (batched, single) = sqlite_floor(&path).expect("the SQLite floor");
    println!(
        "sqlite floor: {batched:.0} rows/s in batches of {BATCH}, {single:.0} rows/s one commit each"
    );
    let xadd = redis_floor(&url).await.expect("the Redis floor");
    println!(
        "redis floor: {xadd:.0} XADD/s pipelined {BATCH} at a time on {REDIS_CONNECTIONS} connections (appendfsync as configured)"
    );

    let _ = std::fs::remove_file(format!("{path}.inbox"));
    let sqlite = Inbox::sqlite(format!("{path}.inbox")).unwrap();
    println!(
        "worker, sqlite, no-op handler: {:.0} deliveries/s",
        worker_throughput(&sqlite, 5_000).await
    );
    let redis = Inbox::redis(&url).await.unwrap();
    println!(
        "worker, redis, no-op handler: {:.0} deliveries/s",
        worker_throughput(&redis, 5_000).await
    );
}
