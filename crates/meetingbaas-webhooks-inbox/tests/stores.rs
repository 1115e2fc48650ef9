//! The store suite (`meetingbaas_webhooks_inbox::testing`) against every store of this crate: a
//! real SQLite file in a temporary directory, a real `redis-server` started per test, a real
//! Postgres server (one per test binary, a new database per test), and memory.

use std::sync::OnceLock;

use meetingbaas_webhooks_conformance::postgres_server::PostgresServer;
use meetingbaas_webhooks_conformance::redis_server::RedisServer;
use meetingbaas_webhooks_inbox::testing::TestStore;
use meetingbaas_webhooks_inbox::{PostgresBackend, RedisBackend, SqliteBackend};

async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteBackend::open(dir.path().join("inbox.db")).expect("an inbox file");
    TestStore::new(store, dir)
}

async fn redis() -> TestStore {
    let server = RedisServer::start();
    let store = RedisBackend::connect(&server.url())
        .await
        .expect("the test redis-server");
    TestStore::new(store, server)
}

/// The Postgres server the tests of this binary share.
fn postgres_server() -> &'static PostgresServer {
    static SERVER: OnceLock<PostgresServer> = OnceLock::new();
    SERVER.get_or_init(PostgresServer::start)
}

async fn postgres() -> TestStore {
    let url = postgres_server().new_database();
    let store = PostgresBackend::connect(&url)
        .await
        .expect("the test Postgres server");
    TestStore::new(store, ())
}

async fn memory() -> TestStore {
    TestStore::new(SqliteBackend::memory(), ())
}

meetingbaas_webhooks_inbox::store_suite!(sqlite, super::sqlite());
meetingbaas_webhooks_inbox::store_suite!(redis, super::redis());
meetingbaas_webhooks_inbox::store_suite!(postgres, super::postgres());
meetingbaas_webhooks_inbox::store_suite!(memory, super::memory());
