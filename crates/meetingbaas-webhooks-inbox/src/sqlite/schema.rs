//! The file's schema, versioned: `PRAGMA application_id` says a file is an inbox, `PRAGMA
//! user_version` which schema it has, and the `meta` row `oldest_code` the oldest schema
//! version whose code can still use it (so that a rolling deploy, or a rollback of one release,
//! keeps working). Migrations run forward at start, each in the transaction that records it.
//!
//! | version | what | oldest code that can use it |
//! |---|---|---|
//! | 1 | deliveries, bodies in a table of their own, attempts, meta (the first release; its files carry neither pragma) | 1 |
//! | 2 | `deliveries.bot_id` (the bot of each delivery, read from its envelope) | 1 |
//! | 3 | `deliveries.runs` and `pending_since_ms` (set by a redrive), `attempts.run` | 1 |
//! | 4 | `deliveries.key_hash` and its index, instead of the index of `(id, key)` (`keys.rs`); `finished_counts`, kept by triggers (in the file, so older code keeps it right too) | 1 |
//! | 5 | per-bot order (`order.rs`): `deliveries.order_ms`, `event_ms`, `outcome` (`stale`), the indexes of each bot's pending and running deliveries, the table `bots` (the newest handled event time per bot) | 1 |
//!
//! What is checked before anything is written (not even the switch to WAL): a file whose
//! `application_id` is another application's, or that holds tables but not an inbox's, is
//! refused with one line; so is a file migrated by a newer release past what this one can use.

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Error;

/// The `application_id` of an inbox file: "MBWH".
pub(super) const APPLICATION_ID: i32 = 0x4D42_5748;

/// The schema this code creates and migrates to.
pub(super) const SCHEMA_VERSION: i64 = 5;

/// The oldest schema version whose code can use a file at [`SCHEMA_VERSION`]: versions 2 to 5
/// only add columns and tables that older code never reads and that have usable defaults (a
/// delivery redriven by older code keeps its run count; its pending time falls back to its
/// receipt; a row older code inserts without a key digest is given one by this code's next
/// write; one without an order time is ordered by its receipt).
pub(super) const OLDEST_CODE: i64 = 1;

/// Schema 1, as the first release made it.
const SCHEMA_1: &str = r"
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT,
    forgotten_key TEXT,
    kind TEXT,
    event TEXT,
    scheme TEXT NOT NULL,
    message_id TEXT,
    received_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    attempt_base INTEGER NOT NULL DEFAULT 0,
    next_ms INTEGER,
    lease_token TEXT,
    lease_started_ms INTEGER,
    lease_until_ms INTEGER,
    finished_ms INTEGER,
    dead_reason TEXT
);
DROP INDEX IF EXISTS deliveries_due;
CREATE INDEX IF NOT EXISTS deliveries_keys ON deliveries (id, key) WHERE key IS NOT NULL;
CREATE INDEX IF NOT EXISTS deliveries_ready ON deliveries (next_ms, id)
    WHERE state IN ('queued', 'retrying');
CREATE INDEX IF NOT EXISTS deliveries_leased ON deliveries (lease_until_ms)
    WHERE state = 'running';
DROP INDEX IF EXISTS deliveries_finished;
CREATE INDEX IF NOT EXISTS deliveries_done ON deliveries (state, finished_ms)
    WHERE state IN ('completed', 'dead');
CREATE TABLE IF NOT EXISTS bodies (id INTEGER PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (
    delivery_id INTEGER NOT NULL,
    number INTEGER NOT NULL,
    started_ms INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    error TEXT,
    PRIMARY KEY (delivery_id, number)
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);
";

/// Each migration: the version it leads to, its SQL, and the oldest code that can use the
/// result.
const MIGRATIONS: [(i64, &str, i64); 5] = [
    (1, SCHEMA_1, 1),
    (2, "ALTER TABLE deliveries ADD COLUMN bot_id TEXT;", 1),
    (
        3,
        "ALTER TABLE deliveries ADD COLUMN runs INTEGER NOT NULL DEFAULT 1; \
         ALTER TABLE deliveries ADD COLUMN pending_since_ms INTEGER; \
         ALTER TABLE attempts ADD COLUMN run INTEGER;",
        1,
    ),
    (4, SCHEMA_4, 1),
    (5, SCHEMA_5, OLDEST_CODE),
];

/// Schema 5: per-bot order and stale statuses (`order.rs`). The deliveries pending at the
/// migration are ordered by their receipt. The partial indexes' conditions are written exactly
/// as the claim's subqueries write theirs, so that SQLite uses them.
const SCHEMA_5: &str = r"
ALTER TABLE deliveries ADD COLUMN order_ms INTEGER;
ALTER TABLE deliveries ADD COLUMN event_ms INTEGER;
ALTER TABLE deliveries ADD COLUMN outcome TEXT;
UPDATE deliveries SET order_ms = received_ms WHERE state IN ('queued', 'retrying', 'running');
CREATE INDEX IF NOT EXISTS deliveries_bot_pending ON deliveries (bot_id, order_ms, id)
    WHERE state IN ('queued', 'retrying');
CREATE INDEX IF NOT EXISTS deliveries_bot_running ON deliveries (bot_id)
    WHERE state = 'running';
CREATE INDEX IF NOT EXISTS deliveries_stale ON deliveries (id) WHERE outcome = 'stale';
CREATE TABLE IF NOT EXISTS bots (
    bot_id TEXT PRIMARY KEY,
    handled_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS bots_updated ON bots (updated_ms);
";

/// Schema 4: keys found by their digest (`keys.rs`), the rows already stored listed by
/// `deliveries_unhashed` and given their digest right after the migration; and the counts of
/// completed and dead deliveries kept by triggers for `stats`.
const SCHEMA_4: &str = r"
ALTER TABLE deliveries ADD COLUMN key_hash INTEGER;
CREATE INDEX IF NOT EXISTS deliveries_key_hash ON deliveries (key_hash)
    WHERE key_hash IS NOT NULL;
CREATE INDEX IF NOT EXISTS deliveries_unhashed ON deliveries (id)
    WHERE key IS NOT NULL AND key_hash IS NULL;
DROP INDEX IF EXISTS deliveries_keys;
CREATE TABLE IF NOT EXISTS finished_counts (state TEXT PRIMARY KEY, n INTEGER NOT NULL)
    WITHOUT ROWID;
DELETE FROM finished_counts;
INSERT INTO finished_counts (state, n) SELECT state, COUNT(*) FROM deliveries
    WHERE state IN ('completed', 'dead') GROUP BY state;
CREATE TRIGGER IF NOT EXISTS finished_counted_on_insert AFTER INSERT ON deliveries
    WHEN NEW.state IN ('completed', 'dead')
    BEGIN
        INSERT INTO finished_counts (state, n) VALUES (NEW.state, 1)
            ON CONFLICT (state) DO UPDATE SET n = n + 1;
    END;
CREATE TRIGGER IF NOT EXISTS finished_counted_on_update AFTER UPDATE OF state ON deliveries
    WHEN OLD.state IS NOT NEW.state
        AND (OLD.state IN ('completed', 'dead') OR NEW.state IN ('completed', 'dead'))
    BEGIN
        UPDATE finished_counts SET n = n - 1 WHERE state = OLD.state;
        INSERT INTO finished_counts (state, n) SELECT NEW.state, 1
            WHERE NEW.state IN ('completed', 'dead')
            ON CONFLICT (state) DO UPDATE SET n = n + 1;
    END;
CREATE TRIGGER IF NOT EXISTS finished_counted_on_delete AFTER DELETE ON deliveries
    WHEN OLD.state IN ('completed', 'dead')
    BEGIN
        UPDATE finished_counts SET n = n - 1 WHERE state = OLD.state;
    END;
";

/// What a file holds, read without writing.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Found {
    /// No table at all: a new file.
    Empty,
    /// An inbox at `version`, usable by code of `oldest_code` and later.
    Inbox { version: i64, oldest_code: i64 },
}

/// Reads what the file holds and refuses what this code must not touch: another application's
/// file, a file with tables but no inbox, a schema past what this code can use. Writes nothing.
pub(super) fn inspect(connection: &Connection) -> Result<Found, Error> {
    let application_id: i32 = connection.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let version: i64 = connection.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let tables: Vec<String> = connection
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let bodies_inline: i64 = connection.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('deliveries') WHERE name = 'body'",
        [],
        |row| row.get(0),
    )?;
    if bodies_inline > 0 {
        // Development builds before the first release kept each body in its delivery's row.
        return Err(Error::Store(
            "the file was made by a development build of the inbox (bodies inside \
             `deliveries`); start a new file, or drain this one with that build first"
                .into(),
        ));
    }
    let found = match (application_id, version) {
        (APPLICATION_ID, version) => {
            let oldest_code = oldest_code(connection)?.unwrap_or(1);
            Found::Inbox {
                version,
                oldest_code,
            }
        }
        (0, 0) if tables.is_empty() => Found::Empty,
        // The first release set neither pragma: its tables say it is an inbox.
        (0, 0)
            if ["deliveries", "bodies", "attempts", "meta"]
                .iter()
                .all(|table| tables.iter().any(|t| t == table)) =>
        {
            Found::Inbox {
                version: 1,
                oldest_code: 1,
            }
        }
        (0, _) | (_, _) => {
            return Err(Error::Store(format!(
                "not an inbox file (application_id {application_id:#x}, {} tables): point the \
                 inbox at a file of its own",
                tables.len()
            )));
        }
    };
    if let Found::Inbox {
        version,
        oldest_code,
    } = found
        && version > SCHEMA_VERSION
        && oldest_code > SCHEMA_VERSION
    {
        return Err(Error::Store(format!(
            "the inbox file has schema {version}, made by a newer release that only releases \
             knowing schema {oldest_code} or later can use; this one knows schema \
             {SCHEMA_VERSION}: upgrade it"
        )));
    }
    Ok(found)
}

/// The `oldest_code` meta row, when the file has one.
fn oldest_code(connection: &Connection) -> Result<Option<i64>, Error> {
    let has_meta: bool = connection.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
        [],
        |row| row.get(0),
    )?;
    if !has_meta {
        return Ok(None);
    }
    let value: Option<String> = connection
        .query_row(
            "SELECT value FROM meta WHERE name = 'oldest_code'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    Ok(value.and_then(|value| value.parse().ok()))
}

/// Brings the file from what [`inspect`] found to [`SCHEMA_VERSION`], one migration per
/// transaction; a file at or past it (a newer release said this code can use it) is left as it
/// is.
pub(super) fn migrate(connection: &Connection, found: &Found) -> Result<(), Error> {
    let mut version = match found {
        Found::Empty => 0,
        Found::Inbox { version, .. } => *version,
    };
    for (to, sql, oldest_code) in MIGRATIONS {
        if to <= version {
            continue;
        }
        let transaction = connection.unchecked_transaction()?;
        transaction.execute_batch(sql)?;
        transaction.execute(
            "INSERT OR REPLACE INTO meta (name, value) VALUES ('oldest_code', ?1)",
            params![oldest_code.to_string()],
        )?;
        transaction.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {to};"
        ))?;
        transaction.commit()?;
        version = to;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pragmas(connection: &Connection) -> (i32, i64) {
        (
            connection
                .query_row("PRAGMA application_id", [], |r| r.get(0))
                .unwrap(),
            connection
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap(),
        )
    }

    #[test]
    fn a_new_file_gets_the_latest_schema_and_its_ids() {
        let connection = Connection::open_in_memory().unwrap();
        let found = inspect(&connection).unwrap();
        assert_eq!(found, Found::Empty);
        migrate(&connection, &found).unwrap();
        assert_eq!(pragmas(&connection), (APPLICATION_ID, SCHEMA_VERSION));
        assert_eq!(oldest_code(&connection).unwrap(), Some(OLDEST_CODE));
        // Twice is once.
        let found = inspect(&connection).unwrap();
        migrate(&connection, &found).unwrap();
        assert_eq!(pragmas(&connection), (APPLICATION_ID, SCHEMA_VERSION));
    }

    #[test]
    fn a_first_release_file_is_recognised_and_migrated_with_its_rows() {
        let connection = Connection::open_in_memory().unwrap();
        connection.execute_batch(SCHEMA_1).unwrap();
        connection
            .execute(
                "INSERT INTO deliveries (key, scheme, received_ms, state) \
                 VALUES ('k', 'callback', 1, 'queued')",
                [],
            )
            .unwrap();
        let found = inspect(&connection).unwrap();
        assert_eq!(
            found,
            Found::Inbox {
                version: 1,
                oldest_code: 1
            }
        );
        migrate(&connection, &found).unwrap();
        assert_eq!(pragmas(&connection), (APPLICATION_ID, SCHEMA_VERSION));
        let (key, bot_id): (String, Option<String>) = connection
            .query_row("SELECT key, bot_id FROM deliveries", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .unwrap();
        assert_eq!((key.as_str(), bot_id), ("k", None));
    }

    #[test]
    fn another_applications_file_is_refused_without_a_write() {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch("CREATE TABLE customers (id INTEGER, name TEXT, secret TEXT);")
            .unwrap();
        let err = inspect(&connection).unwrap_err().to_string();
        assert!(err.contains("not an inbox file"), "{err}");
        assert!(
            !err.contains("CREATE") && !err.contains("secret"),
            "no schema dump: {err}"
        );
        connection
            .execute_batch("PRAGMA application_id = 1234;")
            .unwrap();
        assert!(inspect(&connection).is_err());
    }

    #[test]
    fn a_file_a_newer_release_made_unusable_is_refused_and_a_compatible_one_used() {
        let connection = Connection::open_in_memory().unwrap();
        migrate(&connection, &Found::Empty).unwrap();
        let newer = SCHEMA_VERSION + 1;
        connection
            .execute_batch(&format!("PRAGMA user_version = {newer};"))
            .unwrap();
        // Still usable by this code (the newer release said so).
        assert!(inspect(&connection).is_ok());
        connection
            .execute(
                "UPDATE meta SET value = ?1 WHERE name = 'oldest_code'",
                params![newer.to_string()],
            )
            .unwrap();
        let err = inspect(&connection).unwrap_err().to_string();
        assert!(
            err.contains("newer release") && err.contains("upgrade"),
            "{err}"
        );
    }
}
