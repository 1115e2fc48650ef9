//! The inbox's tables in Postgres, versioned: every table lives in a schema of the inbox's own
//! (`meetingbaas_inbox` unless [`PostgresOptions::schema`](super::PostgresOptions::schema)
//! names another), and `schema_versions` in it records each migration applied with the oldest
//! code version that can use the result, so that a rolling deploy, or a rollback of one
//! release, keeps working. Never sqlx's `_sqlx_migrations`: that table is the application's
//! own `migrate!()`'s.
//!
//! | version | what | oldest code that can use it |
//! |---|---|---|
//! | 1 | `deliveries` (with the body), `attempts`, `schema_versions` | 1 |
//! | 2 | per-bot order (`order.rs`): `deliveries.order_ms`, `event_ms`, `outcome` (`stale`), the indexes of each bot's pending and running deliveries, the table `bots` (the newest handled event time per bot) | 1 |
//!
//! Migrations run at start in one transaction under a transaction-level advisory lock on the
//! schema's name: replicas starting at once take turns, the first creates the tables, the others
//! find them made. A database migrated by a newer release past what this one can use is refused
//! with one line.

use sqlx::{AssertSqlSafe, PgPool};

use crate::error::Error;
use crate::record::now_ms;

/// The schema version this code creates and migrates to.
pub(super) const SCHEMA_VERSION: i32 = 2;

/// Each migration: the version it leads to, its SQL (`{s}` is the schema's quoted name), and
/// the oldest code version that can use the result.
const MIGRATIONS: [(i32, &str, i32); 2] = [(1, SCHEMA_1, 1), (2, SCHEMA_2, 1)];

/// Schema 2: per-bot order and stale statuses; the deliveries pending at the migration are
/// ordered by their receipt. Code of schema 1 can still use it: it never reads the new columns
/// (a row it inserts without an order time is behind nothing).
const SCHEMA_2: &str = r"
ALTER TABLE {s}.deliveries ADD COLUMN order_ms BIGINT, ADD COLUMN event_ms BIGINT,
    ADD COLUMN outcome TEXT;
UPDATE {s}.deliveries SET order_ms = received_ms WHERE state IN ('queued', 'retrying', 'running');
CREATE INDEX deliveries_bot_pending ON {s}.deliveries (bot_id, order_ms, id)
    WHERE state IN ('queued', 'retrying');
CREATE INDEX deliveries_bot_running ON {s}.deliveries (bot_id) WHERE state = 'running';
CREATE INDEX deliveries_stale ON {s}.deliveries (id) WHERE outcome = 'stale';
CREATE TABLE {s}.bots (
    bot_id TEXT PRIMARY KEY,
    handled_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX bots_updated ON {s}.bots (updated_ms);
";

const SCHEMA_1: &str = r"
CREATE TABLE {s}.deliveries (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL,
    key_active BOOLEAN NOT NULL DEFAULT TRUE,
    kind TEXT,
    event TEXT,
    bot_id TEXT,
    scheme TEXT NOT NULL,
    message_id TEXT,
    received_ms BIGINT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    attempt_base INTEGER NOT NULL DEFAULT 0,
    runs INTEGER NOT NULL DEFAULT 1,
    next_ms BIGINT,
    pending_since_ms BIGINT,
    lease_token TEXT,
    lease_started_ms BIGINT,
    lease_until_ms BIGINT,
    finished_ms BIGINT,
    dead_reason TEXT,
    body BYTEA
);
CREATE UNIQUE INDEX deliveries_key ON {s}.deliveries (key) WHERE key_active;
CREATE INDEX deliveries_ready ON {s}.deliveries (next_ms, id) WHERE state IN ('queued', 'retrying');
CREATE INDEX deliveries_leased ON {s}.deliveries (lease_until_ms) WHERE state = 'running';
CREATE INDEX deliveries_done ON {s}.deliveries (state, finished_ms, id)
    WHERE state IN ('completed', 'dead');
CREATE INDEX deliveries_bodies ON {s}.deliveries (finished_ms, id)
    WHERE state = 'completed' AND body IS NOT NULL;
CREATE TABLE {s}.attempts (
    delivery_id BIGINT NOT NULL REFERENCES {s}.deliveries (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    run INTEGER NOT NULL,
    started_ms BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    error TEXT,
    PRIMARY KEY (delivery_id, number)
);
";

/// Creates the schema or migrates it forward, under an advisory lock; refuses a schema made by
/// a newer release that this code cannot use.
pub(super) async fn migrate(pool: &PgPool, schema: &str) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    // Held until this transaction ends: a replica starting at the same time waits here.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(format!("meetingbaas_webhooks_inbox:{schema}"))
        .execute(&mut *tx)
        .await?;
    let quoted = quote(schema);
    sqlx::raw_sql(AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS {quoted}; \
         CREATE TABLE IF NOT EXISTS {quoted}.schema_versions (\
            version INTEGER PRIMARY KEY, oldest_code INTEGER NOT NULL, applied_ms BIGINT NOT NULL)"
    )))
    .execute(&mut *tx)
    .await?;
    let (version, oldest_code): (Option<i32>, Option<i32>) =
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT MAX(version), (SELECT oldest_code FROM {quoted}.schema_versions \
             ORDER BY version DESC LIMIT 1) FROM {quoted}.schema_versions"
        )))
        .fetch_one(&mut *tx)
        .await?;
    let version = version.unwrap_or(0);
    if version > SCHEMA_VERSION {
        let oldest_code = oldest_code.unwrap_or(version);
        if oldest_code > SCHEMA_VERSION {
            return Err(Error::Store(format!(
                "the inbox schema {schema:?} has version {version}, made by a newer release that \
                 only releases knowing version {oldest_code} or later can use; this one knows \
                 version {SCHEMA_VERSION}: upgrade it"
            )));
        }
        // Newer, but usable by this code: nothing to migrate.
        return Ok(tx.commit().await?);
    }
    for (to, sql, oldest) in MIGRATIONS {
        if to <= version {
            continue;
        }
        let sql = sql.replace("{s}", &quoted);
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *tx).await?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {quoted}.schema_versions (version, oldest_code, applied_ms) \
             VALUES ($1, $2, $3)"
        )))
        .bind(to)
        .bind(oldest)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tracing::info!(target: "meetingbaas_webhooks_inbox", schema, version = to, "inbox schema migrated");
    }
    tx.commit().await?;
    Ok(())
}

/// The `NOTIFY` channel on which stored deliveries are announced.
pub(super) fn channel(schema: &str) -> String {
    format!("{schema}_ready")
}

/// Whether `name` can name the inbox's schema: lowercase ASCII letters, digits and `_`, not
/// starting with a digit, at most 48 bytes (so that `<name>_ready` stays a Postgres
/// identifier), and not one of Postgres's own.
pub(super) fn valid_schema(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 48
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && !name.starts_with("pg_")
        && name != "information_schema"
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `name` as a quoted identifier (already checked by [`valid_schema`]).
pub(super) fn quote(name: &str) -> String {
    format!("\"{name}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for good in ["meetingbaas_inbox", "inbox2", "_x"] {
            assert!(valid_schema(good), "{good}");
        }
        for bad in [
            "",
            "Inbox",
            "1inbox",
            "pg_catalog",
            "information_schema",
            "a\"b",
            "a;drop",
            "a b",
            &"x".repeat(49),
        ] {
            assert!(!valid_schema(bad), "{bad}");
        }
    }
}
