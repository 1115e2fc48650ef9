//! The idempotency keys of the stored deliveries, found through an index of their 64-bit
//! digests.
//!
//! A key is a digest of the body or a sender's message id, and is long (80 characters for a
//! `sha256:` key). Schema 4 stores beside each key `key_hash`, the first 8 bytes of the key's
//! SHA-256 as a signed integer, and indexes only that (`deliveries_key_hash`, partial: forgotten
//! keys are not in it): 8 bytes and a row id per delivery, so the index is a fifth of what an
//! index of the keys themselves was, and nothing about the keys is held in memory. A delivery
//! is a duplicate when a row has the same digest **and** the same key (a digest collision is
//! never taken for a duplicate), so detection stays exact for every retained delivery, whatever
//! another process did to the file meanwhile: the index is part of the file, changed in the
//! same transactions as the rows.
//!
//! Until schema 3 the writer kept a map from each key's digest to its delivery in memory
//! instead: 121-155 bytes of resident memory per retained delivery (44 MiB for 235 000,
//! about 9 GB for a week at 100 deliveries a second). The index costs one random page per
//! delivery in each commit (BENCHMARKS.md, "The inbox at ten million deliveries").
//!
//! Code of schema 3 or older can still use a file of schema 4 (a rolling deploy, a rollback):
//! the rows it inserts have no digest. They are listed by a partial index of their own
//! (`deliveries_unhashed`, empty while only this code writes) and given one at the start of
//! each write transaction, before any lookup, by [`hash_missing`].

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

/// The digest a key is indexed by: the first 8 bytes of its SHA-256 (the sender chooses some
/// keys, so the digest must not let it make many keys share one).
pub(super) fn digest(key: &str) -> i64 {
    let hash = Sha256::digest(key.as_bytes());
    let mut first = [0_u8; 8];
    first.copy_from_slice(&hash[..8]);
    i64::from_be_bytes(first)
}

/// The id of the delivery stored under `key`, whose [`digest`] is `hash`, if one is.
pub(super) fn find(connection: &Connection, key: &str, hash: i64) -> rusqlite::Result<Option<i64>> {
    connection
        .prepare_cached("SELECT id FROM deliveries WHERE key_hash = ?1 AND key = ?2")?
        .query_row(params![hash, key], |row| row.get(0))
        .optional()
}

/// Gives a digest to every row with a key but none (rows written by code of schema 3 or
/// older); returns how many. One probe of an empty index when there are none.
pub(super) fn hash_missing(connection: &Connection) -> rusqlite::Result<usize> {
    let missing: Vec<(i64, String)> = connection
        .prepare_cached(
            "SELECT id, key FROM deliveries WHERE key IS NOT NULL AND key_hash IS NULL",
        )?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut update =
        connection.prepare_cached("UPDATE deliveries SET key_hash = ?1 WHERE id = ?2")?;
    for (id, key) in &missing {
        update.execute(params![digest(key), id])?;
    }
    Ok(missing.len())
}

/// Rows without a digest past which [`hash_missing_at_open`] rebuilds the index once rather
/// than inserting into it row by row.
const REBUILD_PAST: usize = 10_000;

/// At open: [`hash_missing`] in one transaction; many rows (a file migrated to schema 4) with
/// the digest index rebuilt once at the end, sorted, instead of a million random inserts.
pub(super) fn hash_missing_at_open(connection: &Connection) -> rusqlite::Result<usize> {
    let missing: i64 = connection.query_row(
        "SELECT COUNT(*) FROM deliveries WHERE key IS NOT NULL AND key_hash IS NULL",
        [],
        |row| row.get(0),
    )?;
    if missing == 0 {
        return Ok(0);
    }
    let transaction = connection.unchecked_transaction()?;
    let hashed = if usize::try_from(missing).unwrap_or(usize::MAX) > REBUILD_PAST {
        without_digest_index(connection, || hash_missing(connection))?
    } else {
        hash_missing(connection)?
    };
    transaction.commit()?;
    Ok(hashed)
}

/// Runs `write` with the digest index dropped, then builds it again (sorting once): for
/// writing many rows at once (the schema-4 migration, a benchmark's fill).
pub(super) fn without_digest_index<T>(
    connection: &Connection,
    write: impl FnOnce() -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let index_sql: String = connection.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'deliveries_key_hash'",
        [],
        |row| row.get(0),
    )?;
    connection.execute_batch("DROP INDEX deliveries_key_hash")?;
    let written = write()?;
    connection.execute_batch(&index_sql)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_stable_and_spreads_keys() {
        // Stored in the file: it must never change between releases.
        assert_eq!(
            digest(""),
            i64::from_be_bytes(*b"\xe3\xb0\xc4\x42\x98\xfc\x1c\x14")
        );
        assert_ne!(digest("callback:id:a"), digest("callback:id:b"));
    }
}
