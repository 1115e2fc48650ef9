//! Dropping the bodies of completed deliveries (transcripts, names: personal data) once they are
//! older than the worker's `keep_bodies`, while the rest of each delivery (its summary, attempts
//! and idempotency key) stays until retention deletes it.
//!
//! Completed deliveries are walked in the order of `deliveries_done` (finished time, then id)
//! from a mark kept in `meta` (`bodies_dropped_to`: the finished time and id of the last one
//! passed), so that each call reads only deliveries it has not passed yet, never the millions
//! whose bodies are already gone. A delivery completed again after a redrive has a later
//! finished time, so it is passed again. A clock set back can finish a delivery before the
//! mark: its body then stays until retention deletes the delivery.

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Error;

/// The row of `meta` holding the mark.
const MARK: &str = "bodies_dropped_to";

/// Drops the bodies of at most `limit` deliveries completed at or before `cutoff` (Unix
/// milliseconds) and after the mark, oldest first, and moves the mark past them; returns how
/// many deliveries it passed (a body already gone counts: the caller goes on while this returns
/// `limit`).
pub(super) fn drop(connection: &Connection, cutoff: i64, limit: usize) -> Result<u64, Error> {
    let (after_ms, after_id) = mark(connection)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // From `deliveries_done` (the literal `IN` lets SQLite use that partial index).
    let passed = connection
        .prepare_cached(
            "SELECT id, finished_ms FROM deliveries \
             WHERE state IN ('completed', 'dead') AND state = 'completed' \
             AND (finished_ms, id) > (?1, ?2) AND finished_ms <= ?3 \
             ORDER BY finished_ms, id LIMIT ?4",
        )?
        .query_map(params![after_ms, after_id, cutoff, limit], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let Some(&(last_id, last_ms)) = passed.last() else {
        return Ok(0);
    };
    let mut delete = connection.prepare_cached("DELETE FROM bodies WHERE id = ?1")?;
    for (id, _) in &passed {
        delete.execute(params![id])?;
    }
    connection
        .prepare_cached("INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)")?
        .execute(params![MARK, format!("{last_ms} {last_id}")])?;
    Ok(passed.len() as u64)
}

/// The finished time and id of the last delivery passed; before the first one when none was.
fn mark(connection: &Connection) -> Result<(i64, i64), Error> {
    let value: Option<String> = connection
        .prepare_cached("SELECT value FROM meta WHERE name = ?1")?
        .query_row(params![MARK], |row| row.get(0))
        .optional()?;
    // An unreadable mark (written by hand) starts over: passing a delivery again is harmless.
    Ok(value
        .as_deref()
        .and_then(|value| value.split_once(' '))
        .and_then(|(ms, id)| Some((ms.parse().ok()?, id.parse().ok()?)))
        .unwrap_or((i64::MIN, i64::MIN)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_reads_the_index_from_the_mark() {
        let connection = Connection::open_in_memory().unwrap();
        super::super::prepare(&connection, false).unwrap();
        let plan: Vec<String> = connection
            .prepare(
                "EXPLAIN QUERY PLAN SELECT id, finished_ms FROM deliveries \
                 WHERE state IN ('completed', 'dead') AND state = 'completed' \
                 AND (finished_ms, id) > (1, 2) AND finished_ms <= 3 \
                 ORDER BY finished_ms, id LIMIT 4",
            )
            .unwrap()
            .query_map([], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("; ");
        assert!(
            plan.contains("USING COVERING INDEX deliveries_done") && plan.contains("finished_ms>"),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
