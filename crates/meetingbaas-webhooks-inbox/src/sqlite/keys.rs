//! The idempotency keys of the stored deliveries, looked up in memory rather than in a unique
//! index of the file.
//!
//! A key is a digest of the body or a Svix message id: random. A unique index on it took one
//! random leaf page per delivery, which the commit wrote whole to the WAL (4 KiB for a 1 KiB
//! delivery) and the checkpoint copied again: about two thirds of the bytes intake wrote
//! (BENCHMARKS.md, "Inbox"). The file now only has an index on `(id, key)`, which grows at its
//! end, and the writer keeps a map from a 128-bit digest of each key to its delivery's id.
//!
//! The map is a **superset** of the keys in the file, never less: it is loaded from the file at
//! start, every insert of the writer adds to it, and inside each write transaction (after
//! `BEGIN IMMEDIATE`, so no other connection can write until it commits) rows that another
//! connection committed meanwhile are read in (`PRAGMA data_version` says whether there were
//! any). An entry may be stale (its row forgotten, pruned, rolled back, or changed by another
//! process): a hit is confirmed against the row, by id, before a delivery is called a duplicate.
//! So a duplicate is never stored twice and a forgotten key is let through again, as with the
//! unique index; only a duplicate costs a read.
//!
//! Entries leave the map (a key forgotten, a delivery pruned) only once the transaction that
//! changed the row has committed: were it rolled back, the row would still hold its key.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, OptionalExtension, params};

/// The keys of one database, owned by its writer thread (the mutex is never contended: only
/// that thread's operations take it).
#[derive(Debug)]
pub(super) struct Keys {
    /// Digest of a key -> the id of the delivery stored under it.
    ids: HashMap<u128, i64>,
    /// Two independently seeded SipHash instances make the 128-bit digest.
    seeds: (RandomState, RandomState),
    /// The largest delivery id read from the file or inserted by a committed transaction.
    max_id: i64,
    /// The file's `data_version` when last read in.
    version: i64,
    /// The largest id inserted by the open transaction.
    pending_max: i64,
    /// Entries to take out when the open transaction commits.
    pending_removals: Vec<(u128, i64)>,
}

impl Keys {
    /// Reads every key of the file.
    pub(super) fn load(connection: &Connection) -> rusqlite::Result<Self> {
        let mut keys = Keys {
            ids: HashMap::new(),
            seeds: (RandomState::new(), RandomState::new()),
            max_id: 0,
            version: data_version(connection)?,
            pending_max: 0,
            pending_removals: Vec::new(),
        };
        keys.read_from(connection, 0)?;
        Ok(keys)
    }

    /// Called at the start of each write transaction: reads in rows other connections have
    /// committed since the last call (one pragma when there were none).
    pub(super) fn begin(&mut self, connection: &Connection) -> rusqlite::Result<()> {
        self.pending_max = 0;
        self.pending_removals.clear();
        let version = data_version(connection)?;
        if version != self.version {
            self.version = version;
            self.read_from(connection, self.max_id)?;
        }
        Ok(())
    }

    fn read_from(&mut self, connection: &Connection, after: i64) -> rusqlite::Result<()> {
        let mut statement = connection.prepare_cached(
            "SELECT id, key FROM deliveries WHERE key IS NOT NULL AND id > ?1 ORDER BY id",
        )?;
        let mut rows = statement.query(params![after])?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let key: String = row.get(1)?;
            self.insert(&key, id);
        }
        Ok(())
    }

    /// The id of the delivery stored under `key`, if one is (confirmed against the row).
    pub(super) fn find(&self, connection: &Connection, key: &str) -> rusqlite::Result<Option<i64>> {
        let Some(&id) = self.ids.get(&self.digest(key)) else {
            return Ok(None);
        };
        connection
            .prepare_cached("SELECT id FROM deliveries WHERE id = ?1 AND key = ?2")?
            .query_row(params![id, key], |row| row.get(0))
            .optional()
    }

    /// Records that the delivery `id` is stored under `key` (at once: an entry whose row is
    /// rolled back is only stale).
    pub(super) fn insert(&mut self, key: &str, id: i64) {
        self.ids.insert(self.digest(key), id);
        self.pending_max = self.pending_max.max(id);
    }

    /// Forgets `key` if it still names the delivery `id`, once the transaction commits.
    pub(super) fn remove(&mut self, key: &str, id: i64) {
        let digest = self.digest(key);
        self.pending_removals.push((digest, id));
    }

    /// A point to roll back to (an operation's savepoint).
    pub(super) fn savepoint(&self) -> usize {
        self.pending_removals.len()
    }

    /// The operation since `savepoint` was rolled back: its removals are dropped.
    pub(super) fn rollback_to(&mut self, savepoint: usize) {
        self.pending_removals.truncate(savepoint);
    }

    /// The transaction committed: its removals take effect.
    pub(super) fn commit(&mut self) {
        for (digest, id) in self.pending_removals.drain(..) {
            if self.ids.get(&digest) == Some(&id) {
                self.ids.remove(&digest);
            }
        }
        self.max_id = self.max_id.max(self.pending_max);
        self.pending_max = 0;
    }

    /// The transaction was rolled back: nothing it removed leaves the map.
    pub(super) fn rollback(&mut self) {
        self.pending_removals.clear();
        self.pending_max = 0;
    }

    /// How many keys are held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }

    fn digest(&self, key: &str) -> u128 {
        let high = self.seeds.0.hash_one(key);
        let low = self.seeds.1.hash_one(key);
        (u128::from(high) << 64) | u128::from(low)
    }
}

fn data_version(connection: &Connection) -> rusqlite::Result<i64> {
    connection.query_row("PRAGMA data_version", [], |row| row.get(0))
}

/// Locks the writer's keys (a panic in another holder cannot leave them half-changed: every
/// change is one map operation).
pub(super) fn lock(keys: &Mutex<Keys>) -> MutexGuard<'_, Keys> {
    keys.lock().unwrap_or_else(PoisonError::into_inner)
}
