//! What only the Postgres store does, against a real Postgres server (one per test binary, a
//! new database per test): a handler's writes committed with its delivery's completion, or
//! rolled back with a failed attempt or a lost lease; migrations run by replicas at once; a
//! schema made by a newer release; an unreachable server at start and during intake.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use meetingbaas_webhooks_conformance::postgres_server::PostgresServer;
use meetingbaas_webhooks_inbox::testing::{enqueue, event, fast, stored, wait_for};
use meetingbaas_webhooks_inbox::{
    Enqueued, Error, EventKind, HandlerError, Inbox, Job, PostgresBackend, PostgresOptions, State,
};
use sqlx::PgPool;

fn server() -> &'static PostgresServer {
    static SERVER: OnceLock<PostgresServer> = OnceLock::new();
    SERVER.get_or_init(PostgresServer::start)
}

/// A new database with the user's table `handled (key TEXT, attempt INT)` (no unique key, so
/// that a row written twice shows), the application's pool on it, and an inbox on that pool.
async fn app() -> (PgPool, Inbox) {
    let url = server().new_database();
    let pool = PgPool::connect(&url).await.expect("the test database");
    sqlx::query("CREATE TABLE handled (key TEXT NOT NULL, attempt INT NOT NULL)")
        .execute(&pool)
        .await
        .expect("the user's table");
    let inbox = Inbox::postgres_with_pool(pool.clone(), PostgresOptions::new())
        .await
        .expect("the inbox on the application's pool");
    (pool, inbox)
}

async fn rows(pool: &PgPool) -> Vec<(String, i32)> {
    sqlx::query_as("SELECT key, attempt FROM handled ORDER BY attempt")
        .fetch_all(pool)
        .await
        .expect("the user's rows")
}

/// Writes the job's key into `handled` in the job's transaction.
async fn write_row(job: &Job) -> Result<(), HandlerError> {
    let mut tx = job.transaction().await?;
    sqlx::query("INSERT INTO handled (key, attempt) VALUES ($1, $2)")
        .bind(job.key())
        .bind(i32::try_from(job.attempt()).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handlers_writes_commit_with_the_completion_and_roll_back_with_a_failure() {
    let (pool, inbox) = app().await;
    let id = stored(&inbox, event("tx")).await;
    // Attempt 1 writes, then fails; attempt 2 writes, then panics; attempt 3 writes and succeeds.
    let worker = fast(&inbox)
        .on(EventKind::BotCompleted, |job: Job| async move {
            write_row(&job).await?;
            match job.attempt() {
                1 => Err(HandlerError::retry("the CRM is down")),
                2 => panic!("a bug after the write"),
                _ => Ok(()),
            }
        })
        .build()
        .spawn();
    wait_for(&inbox, "completion", |s| s.completed == 1).await;
    worker.shutdown().await;
    let key = inbox.show(&id).await.expect("stored").summary.key;
    assert_eq!(
        rows(&pool).await,
        vec![(key, 3)],
        "only the attempt that completed kept its write"
    );
    let shown = inbox.show(&id).await.expect("stored");
    assert_eq!(shown.summary.state, State::Completed);
    assert_eq!(shown.attempts.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_does_not_ask_for_the_transaction_completes_as_usual() {
    let (pool, inbox) = app().await;
    for n in 0..20 {
        stored(&inbox, event(&format!("plain-{n}"))).await;
    }
    let worker = fast(&inbox)
        .fallback(|_job: Job| async { Ok(()) })
        .build()
        .spawn();
    wait_for(&inbox, "completion", |s| s.completed == 20).await;
    worker.shutdown().await;
    assert!(rows(&pool).await.is_empty());
    // Every connection of the pool is back: no transaction was left open.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let open: (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND state LIKE 'idle in transaction%'",
    )
    .fetch_one(&pool)
    .await
    .expect("pg_stat_activity");
    assert_eq!(open.0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completion_after_the_lease_was_taken_over_is_rolled_back() {
    let (pool, inbox) = app().await;
    let id = stored(&inbox, event("late")).await;
    let calls = std::sync::Arc::new(AtomicU32::new(0));
    let counter = std::sync::Arc::clone(&calls);
    let thief = pool.clone();
    let worker = fast(&inbox)
        .on(EventKind::BotCompleted, move |job: Job| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            let thief = thief.clone();
            async move {
                write_row(&job).await?;
                if n == 1 {
                    // Another worker takes the delivery over meanwhile (as when this attempt
                    // runs past its lease): its lease token and an expired lease, so that it
                    // runs again.
                    sqlx::query(
                        "UPDATE meetingbaas_inbox.deliveries SET lease_token = 'someone-else', \
                         lease_until_ms = 0 WHERE id = $1",
                    )
                    .bind(job.id().parse::<i64>().expect("a numeric id"))
                    .execute(&thief)
                    .await?;
                }
                Ok(())
            }
        })
        .build()
        .spawn();
    wait_for(&inbox, "completion", |s| s.completed == 1).await;
    worker.shutdown().await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let shown = inbox.show(&id).await.expect("stored");
    assert_eq!(
        rows(&pool).await,
        vec![(shown.summary.key.clone(), 2)],
        "the first attempt's write was rolled back with its late completion"
    );
    assert_eq!(shown.summary.state, State::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_without_the_postgres_store_has_no_transaction() {
    let job = Job::from_body(event("b")).expect("an event");
    let err = job.transaction().await.expect_err("no store");
    assert!(err.to_string().contains("Postgres"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_migrating_at_once_all_start_and_the_schema_is_made_once() {
    let url = server().new_database();
    let opens = (0..4).map(|_| PostgresBackend::connect(&url));
    let stores = futures_util::future::join_all(opens).await;
    for store in &stores {
        assert!(store.is_ok(), "{store:?}");
    }
    let pool = PgPool::connect(&url).await.expect("the database");
    let versions: Vec<(i32, i32)> = sqlx::query_as(
        "SELECT version, oldest_code FROM meetingbaas_inbox.schema_versions ORDER BY version",
    )
    .fetch_all(&pool)
    .await
    .expect("the versions");
    assert_eq!(versions, vec![(1, 1), (2, 1)]);
    // Never sqlx's own table: that one is the application's `migrate!()`'s.
    let sqlx_table: (Option<String>,) =
        sqlx::query_as("SELECT to_regclass('_sqlx_migrations')::text")
            .fetch_one(&pool)
            .await
            .expect("to_regclass");
    assert_eq!(sqlx_table.0, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_from_a_newer_release_that_this_one_cannot_use_is_refused() {
    let url = server().new_database();
    drop(PostgresBackend::connect(&url).await.expect("made"));
    let pool = PgPool::connect(&url).await.expect("the database");
    sqlx::query("INSERT INTO meetingbaas_inbox.schema_versions VALUES (7, 5, 0)")
        .execute(&pool)
        .await
        .expect("a newer version");
    let err = PostgresBackend::connect(&url).await.expect_err("refused");
    assert!(err.to_string().contains("newer release"), "{err}");
    // One that this code can still use (oldest code 1) opens.
    sqlx::query("UPDATE meetingbaas_inbox.schema_versions SET oldest_code = 1 WHERE version = 7")
        .execute(&pool)
        .await
        .expect("usable");
    PostgresBackend::connect(&url)
        .await
        .expect("usable by this code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schemas_in_one_database_are_two_inboxes() {
    let url = server().new_database();
    let a = Inbox::open(&format!("{url}?schema=inbox_a"))
        .await
        .expect("a");
    let b = Inbox::postgres_with_pool(
        PgPool::connect(&url).await.expect("pool"),
        PostgresOptions::new().schema("inbox_b").listen(false),
    )
    .await
    .expect("b");
    assert!(matches!(
        enqueue(&a, event("x")).await,
        Enqueued::Stored { .. }
    ));
    assert!(matches!(
        enqueue(&b, event("x")).await,
        Enqueued::Stored { .. }
    ));
    assert!(matches!(enqueue(&a, event("x")).await, Enqueued::Duplicate));
    assert_eq!(a.stats().await.expect("stats").queued, 1);
    assert_eq!(b.stats().await.expect("stats").queued, 1);
    let bad = Inbox::open(&format!("{url}?schema=Bad;Name")).await;
    assert!(matches!(bad, Err(Error::InvalidUrl(_))), "{bad:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_at_start_is_a_clear_error_without_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let url = format!("postgres://app:hunter2@127.0.0.1:{port}/app");
    let err = Inbox::open(&url).await.expect_err("nothing listens there");
    let message = err.to_string();
    assert!(message.contains("cannot connect to Postgres"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_debug_form_never_shows_the_password() {
    let url = server().new_database();
    let pool = PgPool::connect(&url).await.expect("pool");
    sqlx::query("CREATE ROLE app LOGIN PASSWORD 'hunter2'; GRANT ALL ON DATABASE postgres TO app")
        .execute(&pool)
        .await
        .ok();
    let with_password = url.replacen("postgres@", "postgres:hunter2@", 1);
    let inbox = Inbox::open(&with_password)
        .await
        .expect("trust ignores the password");
    let shown = format!("{inbox:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("meetingbaas_inbox"), "{shown}");
}

/// The server stopped during intake: no delivery is answered as stored; once it is back, intake
/// and the worker go on without a restart of the inbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_down_during_intake_is_an_error_never_a_stored_answer() {
    let mut own = PostgresServer::start();
    let inbox = Inbox::open(&own.url()).await.expect("the inbox");
    assert!(matches!(
        enqueue_result(&inbox, "before").await,
        Ok(Enqueued::Stored { .. })
    ));
    own.stop();
    let answer = enqueue_result(&inbox, "during").await;
    assert!(answer.is_err(), "{answer:?}");
    own.restart();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match enqueue_result(&inbox, "after").await {
            Ok(Enqueued::Stored { .. }) => break,
            other => assert!(tokio::time::Instant::now() < deadline, "{other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let worker = fast(&inbox)
        .fallback(|_job: Job| async { Ok(()) })
        .build()
        .spawn();
    wait_for(&inbox, "both handled", |s| s.completed == 2).await;
    worker.shutdown().await;
    let keys: Vec<String> = inbox
        .list(Default::default())
        .await
        .expect("list")
        .into_iter()
        .map(|summary| summary.key)
        .collect();
    assert_eq!(
        keys.len(),
        2,
        "the delivery refused while down was not stored"
    );
}

async fn enqueue_result(inbox: &Inbox, bot: &str) -> Result<Enqueued, String> {
    let delivery = meetingbaas_webhooks_inbox::testing::delivery(event(bot));
    let label = delivery
        .envelope()
        .map(meetingbaas_webhooks_receiver::EventLabel::from)
        .unwrap_or_default();
    inbox
        .intake()
        .enqueue(&delivery, label)
        .await
        .map_err(|err| err.to_string())
}

/// A delivery stored through one replica wakes the idle worker of another at once (its `LISTEN`),
/// although that worker would poll only once an hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_replicas_idle_worker_wakes_on_a_stored_delivery() {
    let url = server().new_database();
    let intake = Inbox::open(&url)
        .await
        .expect("the replica taking deliveries");
    let working = Inbox::open(&url).await.expect("the replica working");
    let worker = working
        .worker()
        .poll_interval(Duration::from_secs(3600))
        .fallback(|_job: Job| async { Ok(()) })
        .build()
        .spawn();
    // Let it make its first claim (nothing) and go idle.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stored(&intake, event("woken")).await;
    wait_for(&working, "the other replica's worker", |s| s.completed == 1).await;
    worker.shutdown().await;
}
