//! The floor under the Postgres inbox's intake, and its worker's drain rate
//! (`bench/inbox-postgres.sh` runs it):
//!
//! - the floor: 1 KiB rows of the inbox's shape inserted by multi-row inserts of 64 rows per
//!   commit from 32 concurrent producers, no HTTP, for 5 s;
//! - the worker: deliveries stored first through the inbox's intake, then handled with
//!   concurrency 8 by a no-op handler, and by a transactional handler writing one row per
//!   delivery in its job's transaction.
//!
//! Usage: `postgres-floor URL` (a database of its own: tables are made and dropped in it).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use meetingbaas_webhooks::{Bytes, Verifier};
use meetingbaas_webhooks_inbox::{Enqueued, HandlerError, Inbox, Job, PostgresOptions};
use meetingbaas_webhooks_receiver::EventLabel;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

const BODY: usize = 1024;
const BATCH: usize = 64;
const PRODUCERS: usize = 32;
const FLOOR_SECONDS: u64 = 5;
const WORKER_DELIVERIES: usize = 20_000;

fn body(n: usize) -> Vec<u8> {
    let mut body =
        format!(r#"{{"event":"bot.status_change","data":{{"bot_id":"floor-{n}"}}}}"#).into_bytes();
    body.resize(BODY, b' ');
    body
}

async fn floor(pool: &PgPool) -> Result<f64, sqlx::Error> {
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS floor; CREATE TABLE floor (id BIGSERIAL PRIMARY KEY, \
         key TEXT NOT NULL UNIQUE, kind TEXT, event TEXT, bot_id TEXT, scheme TEXT NOT NULL, \
         body BYTEA NOT NULL, received_ms BIGINT NOT NULL, state TEXT NOT NULL, next_ms BIGINT)",
    )
    .execute(pool)
    .await?;
    let rows = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(FLOOR_SECONDS);
    let started = Instant::now();
    let mut producers = tokio::task::JoinSet::new();
    for producer in 0..PRODUCERS {
        let (pool, rows) = (pool.clone(), Arc::clone(&rows));
        producers.spawn(async move {
            let mut n = producer * 100_000_000;
            while Instant::now() < deadline {
                let keys: Vec<String> = (n..n + BATCH).map(|n| format!("floor:{n}")).collect();
                let bots: Vec<String> = (n..n + BATCH).map(|n| format!("floor-{n}")).collect();
                let bodies: Vec<Vec<u8>> = (n..n + BATCH).map(body).collect();
                sqlx::query(
                    "INSERT INTO floor (key, kind, event, bot_id, scheme, body, received_ms, \
                     state, next_ms) SELECT k, 'bot_status_change', 'bot.status_change', b, \
                     'callback', bo, 0, 'queued', 0 \
                     FROM UNNEST($1::text[], $2::text[], $3::bytea[]) AS t (k, b, bo) \
                     ON CONFLICT (key) DO NOTHING",
                )
                .bind(keys)
                .bind(bots)
                .bind(bodies)
                .execute(&pool)
                .await?;
                rows.fetch_add(BATCH as u64, Ordering::Relaxed);
                n += BATCH;
            }
            Ok::<(), sqlx::Error>(())
        });
    }
    while let Some(produced) = producers.join_next().await {
        produced.expect("a producer")?;
    }
    let rate = rows.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    sqlx::query("DROP TABLE floor").execute(pool).await?;
    Ok(rate)
}

/// Stores `count` deliveries through the inbox's intake, 256 at a time; the rate.
async fn fill(inbox: &Inbox, from: usize, count: usize) -> f64 {
    let started = Instant::now();
    let verifier = Verifier::builder().callback_secret("s").build().unwrap();
    let mut sends = tokio::task::JoinSet::new();
    for n in from..from + count {
        let inbox = inbox.clone();
        let delivery = verifier
            .verify(&[("x-mb-secret", "s")], Bytes::from(body(n)))
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
    count as f64 / started.elapsed().as_secs_f64()
}

async fn drain<F, Fut>(inbox: &Inbox, handler: F) -> f64
where
    F: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    let before = inbox.stats().await.unwrap().completed;
    let started = Instant::now();
    let worker = inbox
        .worker()
        .concurrency(8)
        .poll_interval(Duration::from_millis(50))
        .fallback(handler)
        .build()
        .spawn();
    // Polled every 100 ms: counting is work for the server too.
    while inbox.stats().await.unwrap().completed < before + WORKER_DELIVERIES as u64 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rate = WORKER_DELIVERIES as f64 / started.elapsed().as_secs_f64();
    worker.shutdown().await;
    rate
}

#[tokio::main]
async fn main() {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: postgres-floor URL");
        std::process::exit(2);
    };
    let pool = PgPoolOptions::new()
        .max_connections(u32::try_from(PRODUCERS).unwrap_or(32) + 4)
        .connect(&url)
        .await
        .expect("the database");
    let floor = floor(&pool).await.expect("the floor");
    println!(
        "postgres floor: {floor:.0} rows/s (1 KiB rows, {BATCH} per commit, {PRODUCERS} producers)"
    );

    sqlx::raw_sql(
        "DROP SCHEMA IF EXISTS floor_inbox CASCADE; \
         DROP TABLE IF EXISTS handled; CREATE TABLE handled (key TEXT NOT NULL, kind TEXT NOT NULL)",
    )
    .execute(&pool)
    .await
    .expect("the handler's table");
    let inbox =
        Inbox::postgres_with_pool(pool.clone(), PostgresOptions::new().schema("floor_inbox"))
            .await
            .expect("the inbox");
    let intake = fill(&inbox, 0, WORKER_DELIVERIES).await;
    println!("inbox intake without HTTP (256 enqueues at once): {intake:.0} deliveries/s");
    let noop = drain(&inbox, |_job: Job| async { Ok(()) }).await;
    println!("worker (no-op handler, concurrency 8): {noop:.0} deliveries/s");
    let _ = fill(&inbox, WORKER_DELIVERIES, WORKER_DELIVERIES).await;
    let transactional = drain(&inbox, |job: Job| async move {
        let mut tx = job.transaction().await?;
        sqlx::query("INSERT INTO handled (key, kind) VALUES ($1, $2)")
            .bind(job.key())
            .bind(job.kind().as_str())
            .execute(&mut *tx)
            .await?;
        Ok(())
    })
    .await;
    let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM handled")
        .fetch_one(&pool)
        .await
        .expect("the handler's rows");
    assert_eq!(rows.0, WORKER_DELIVERIES as i64, "one row per delivery");
    println!(
        "worker (transactional handler writing one row, concurrency 8): {transactional:.0} deliveries/s"
    );
}
