//! Versioned schemas: a file or keys of the first release are migrated at start, a newer
//! release's are used when it says so and refused when it does not, another application's file
//! is refused untouched.

use meetingbaas_webhooks_conformance::redis_server::RedisServer;
use meetingbaas_webhooks_inbox::testing::{event, stored};
use meetingbaas_webhooks_inbox::{Inbox, RedisBackend, SqliteBackend, State};

/// The first release's schema, as its files are on disk (no `application_id`, no
/// `user_version`).
const FIRST_RELEASE: &str = r"
CREATE TABLE deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT, forgotten_key TEXT,
    kind TEXT, event TEXT, scheme TEXT NOT NULL, message_id TEXT, received_ms INTEGER NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, attempt_base INTEGER NOT NULL
    DEFAULT 0, next_ms INTEGER, lease_token TEXT, lease_started_ms INTEGER, lease_until_ms
    INTEGER, finished_ms INTEGER, dead_reason TEXT);
CREATE INDEX deliveries_keys ON deliveries (id, key) WHERE key IS NOT NULL;
CREATE TABLE bodies (id INTEGER PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE attempts (delivery_id INTEGER NOT NULL, number INTEGER NOT NULL, started_ms
    INTEGER NOT NULL, duration_ms INTEGER NOT NULL, error TEXT, PRIMARY KEY (delivery_id, number));
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT);
INSERT INTO deliveries (key, kind, event, scheme, received_ms, state, next_ms)
    VALUES ('sha256:old', 'bot_completed', 'bot.completed', 'callback', 1, 'queued', 1);
INSERT INTO bodies (id, body) VALUES (1, X'7B7D');
";

fn pragma(path: &std::path::Path, name: &str) -> i64 {
    let connection = rusqlite::Connection::open(path).unwrap();
    connection
        .query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_first_release_file_is_migrated_at_start_with_its_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(FIRST_RELEASE)
        .unwrap();
    assert_eq!(
        (
            pragma(&path, "application_id"),
            pragma(&path, "user_version")
        ),
        (0, 0)
    );

    let inbox = Inbox::with_store(SqliteBackend::open(&path).unwrap());
    assert_eq!(pragma(&path, "application_id"), 0x4D42_5748);
    assert_eq!(pragma(&path, "user_version"), 5);
    // Its key is indexed by digest now (schema 4), so a copy of it is still a duplicate.
    let hashed: bool = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT key_hash IS NOT NULL FROM deliveries WHERE id = 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(hashed, "the first release's key got no digest");
    let old = inbox.show("1").await.unwrap();
    assert_eq!(
        (old.summary.state, old.summary.bot_id, old.summary.runs),
        (State::Queued, None, 1)
    );
    // New deliveries carry their bot.
    let id = stored(&inbox, event("b-new")).await;
    let new = inbox.show(&id).await.unwrap();
    assert_eq!(new.summary.bot_id.as_deref(), Some("b-new"));
}

#[tokio::test]
async fn another_applications_file_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, password TEXT);")
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = SqliteBackend::open(&path).unwrap_err().to_string();
    assert!(err.contains("not an inbox file"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        !err.contains("CREATE") && !err.contains("password"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file was written to"
    );
    assert!(!dir.path().join("app.db-wal").exists(), "switched to WAL");
}

#[tokio::test]
async fn redis_keys_carry_their_schema_and_a_newer_releases_are_checked() {
    let server = RedisServer::start();
    let url = server.url();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let schema = format!("{}schema", RedisBackend::DEFAULT_PREFIX);

    RedisBackend::connect(&url).await.unwrap();
    let recorded: (i64, i64) = redis::cmd("HMGET")
        .arg(&schema)
        .arg("version")
        .arg("oldest_code")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(recorded, (5, 4));

    // A newer release that says this one can still use its keys...
    let _: () = redis::cmd("HSET")
        .arg(&schema)
        .arg("version")
        .arg(9)
        .arg("oldest_code")
        .arg(1)
        .query_async(&mut connection)
        .await
        .unwrap();
    RedisBackend::connect(&url).await.unwrap();
    // ...and one that says it cannot.
    let _: () = redis::cmd("HSET")
        .arg(&schema)
        .arg("oldest_code")
        .arg(9)
        .query_async(&mut connection)
        .await
        .unwrap();
    let err = RedisBackend::connect(&url).await.unwrap_err().to_string();
    assert!(
        err.contains("newer release") && err.contains("upgrade"),
        "{err}"
    );
}

/// A delivery stored by code of Redis schema 3 (its body one of the hash's fields, every field
/// written) is claimed with its body, shown, and its body dropped by this code.
#[tokio::test]
async fn redis_deliveries_of_schema_3_are_read_and_dropped() {
    let server = RedisServer::start();
    let url = server.url();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let p = RedisBackend::DEFAULT_PREFIX;
    let body = event("schema-3");
    let key = meetingbaas_webhooks::IdempotencyKey::for_delivery(
        meetingbaas_webhooks::Scheme::Callback,
        None,
        body.as_bytes(),
    )
    .as_str()
    .to_string();
    assert!(key.len() > 64, "{key}");
    let _: () = redis::pipe()
        .cmd("SET")
        .arg(format!("{p}seq"))
        .arg(1)
        .ignore()
        .cmd("SET")
        .arg(format!("{p}key:{key}"))
        .arg(1)
        .ignore()
        .cmd("HSET")
        .arg(format!("{p}d:1"))
        .arg("key")
        .arg(&key)
        .arg("kind")
        .arg("bot_completed")
        .arg("event")
        .arg("bot.completed")
        .arg("scheme")
        .arg("callback")
        .arg("message_id")
        .arg("")
        .arg("body")
        .arg(&body)
        .arg("received_ms")
        .arg(1)
        .arg("state")
        .arg("queued")
        .arg("attempts")
        .arg(0)
        .arg("attempt_base")
        .arg(0)
        .arg("next_ms")
        .arg(1)
        .arg("forgotten")
        .arg(0)
        .arg("bot_id")
        .arg("schema-3")
        .ignore()
        .cmd("ZADD")
        .arg(format!("{p}s:queued"))
        .arg(1)
        .arg(1)
        .ignore()
        .cmd("XADD")
        .arg(format!("{p}stream"))
        .arg("*")
        .arg("id")
        .arg(1)
        .ignore()
        .query_async(&mut connection)
        .await
        .unwrap();
    let inbox = Inbox::redis(&url).await.unwrap();
    let shown = inbox.show("1").await.unwrap();
    assert_eq!(shown.body, body.as_bytes());
    assert_eq!(shown.summary.key, key);
    let worker = inbox
        .worker()
        .poll_interval(std::time::Duration::from_millis(20))
        .keep_bodies(Some(std::time::Duration::ZERO))
        .fallback(|job: meetingbaas_webhooks_inbox::Job| async move {
            assert_eq!(job.event().bot_id(), Some("schema-3"));
            Ok(())
        })
        .build()
        .spawn();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while !inbox.show("1").await.unwrap().body_dropped {
        assert!(tokio::time::Instant::now() < deadline, "never dropped");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    worker.shutdown().await;
    let shown = inbox.show("1").await.unwrap();
    assert_eq!(shown.summary.state, State::Completed);
    assert!(shown.body.is_empty());
    // The key stays: the same delivery again is a duplicate.
    assert_eq!(
        meetingbaas_webhooks_inbox::testing::enqueue(&inbox, body).await,
        meetingbaas_webhooks_receiver::Enqueued::Duplicate
    );
}
