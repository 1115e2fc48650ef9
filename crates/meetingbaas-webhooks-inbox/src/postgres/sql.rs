//! The store's statements, written once per schema name at connect (each is then prepared once
//! per connection by sqlx's statement cache).

use std::sync::Arc;

/// The columns a [`Summary`](crate::Summary) is read from, in `summary`'s order.
const SUMMARY_COLUMNS: &str = "id, key, NOT key_active, kind, event, scheme, message_id, \
    received_ms, state, attempts, next_ms, finished_ms, dead_reason, bot_id, runs, outcome";

/// Every statement of the store, in the inbox's schema.
#[derive(Debug)]
pub(super) struct Sql {
    pub(super) insert: Arc<str>,
    pub(super) expire: Arc<str>,
    pub(super) claim: Arc<str>,
    pub(super) next_due: Arc<str>,
    pub(super) order_lock: Arc<str>,
    pub(super) order_candidates: Arc<str>,
    pub(super) order_start: Arc<str>,
    pub(super) order_next_due: Arc<str>,
    pub(super) prune_bots: Arc<str>,
    pub(super) extend: Arc<str>,
    pub(super) finish: Arc<str>,
    pub(super) finish_many: Arc<str>,
    pub(super) prune: Arc<str>,
    pub(super) drop_bodies: Arc<str>,
    pub(super) pending: Arc<str>,
    pub(super) finished: Arc<str>,
    pub(super) list: Arc<str>,
    pub(super) show: Arc<str>,
    pub(super) attempts: Arc<str>,
    pub(super) redrive_check: Arc<str>,
    pub(super) redrive: Arc<str>,
    pub(super) redrive_dead: Arc<str>,
    pub(super) forget: Arc<str>,
    pub(super) notify: Arc<str>,
}

impl Sql {
    /// The statements on the tables of `schema` (quoted), announcing on `channel`.
    pub(super) fn new(s: &str, channel: &str) -> Sql {
        let sql = |text: String| -> Arc<str> { Arc::from(text) };
        Sql {
            // $1.. $7 the columns as arrays, $8 now, $9 order times, $10 event times. A key
            // already stored (and not forgotten) is not inserted: its row is not returned.
            insert: sql(format!(
                "INSERT INTO {s}.deliveries (key, kind, event, bot_id, scheme, message_id, body, \
                 received_ms, state, next_ms, order_ms, event_ms) \
                 SELECT k, ki, ev, b, sc, m, bo, $8, 'queued', $8, o, et \
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::bytea[], $9::bigint[], $10::bigint[]) \
                 AS t (k, ki, ev, b, sc, m, bo, o, et) \
                 ON CONFLICT (key) WHERE key_active DO NOTHING RETURNING id, key"
            )),
            // A lease that ran out: its worker died or hung. Its attempt is recorded and the
            // delivery is due again. $1 now.
            expire: sql(format!(
                "WITH expired AS (SELECT id FROM {s}.deliveries \
                   WHERE state = 'running' AND lease_until_ms <= $1 FOR UPDATE SKIP LOCKED), \
                 recorded AS (INSERT INTO {s}.attempts \
                   (delivery_id, number, run, started_ms, duration_ms, error) \
                   SELECT d.id, d.attempts, d.runs, d.lease_started_ms, \
                   $1 - d.lease_started_ms, 'lease expired: the worker stopped or hung' \
                   FROM {s}.deliveries d JOIN expired USING (id) \
                   ON CONFLICT (delivery_id, number) DO NOTHING) \
                 UPDATE {s}.deliveries d SET state = 'retrying', next_ms = $1, \
                   lease_token = NULL, lease_until_ms = NULL \
                 FROM expired WHERE d.id = expired.id"
            )),
            // $1 now, $2 limit, $3 token, $4 lease end.
            claim: sql(format!(
                "WITH due AS (SELECT id FROM {s}.deliveries \
                   WHERE state IN ('queued', 'retrying') AND next_ms <= $1 \
                   ORDER BY next_ms, id LIMIT $2 FOR UPDATE SKIP LOCKED) \
                 UPDATE {s}.deliveries d SET state = 'running', attempts = d.attempts + 1, \
                   lease_token = $3, lease_started_ms = $1, lease_until_ms = $4 \
                 FROM due WHERE d.id = due.id \
                 RETURNING d.id, d.key, d.kind, d.received_ms, d.attempts, d.attempt_base, \
                   d.runs, d.body, d.bot_id, d.event_ms, NULL::bigint"
            )),
            // Per-bot order (`order.rs`): claims in bot order take turns on this lock (on
            // `$1`, the schema's lock name), held until their transaction ends.
            order_lock: sql("SELECT pg_advisory_xact_lock(hashtext($1))".to_string()),
            // $1 now, $2 the oldest pending time that waited long enough, $3 limit: the due
            // deliveries a claim in bot order may take, in due order along `deliveries_ready`
            // (the filter is checked row by row, and the scan stops at the limit), with whether
            // one is behind an earlier one of its bot (by `(order_ms, id)`, from
            // `deliveries_bot_pending`; then it waited its longest) and its order time.
            order_candidates: sql(format!(
                "SELECT d.id, d.bot_id, d.bot_id IS NOT NULL AND EXISTS ({earlier}), \
                   COALESCE(d.pending_since_ms, d.received_ms), d.order_ms \
                 FROM {s}.deliveries d WHERE d.state IN ('queued', 'retrying') \
                 AND d.next_ms <= $1 AND (d.bot_id IS NULL OR (NOT EXISTS (\
                   SELECT 1 FROM {s}.deliveries r WHERE r.bot_id = d.bot_id \
                   AND r.state = 'running') AND (NOT EXISTS ({earlier}) \
                   OR COALESCE(d.pending_since_ms, d.received_ms) <= $2))) \
                 ORDER BY d.next_ms, d.id LIMIT $3",
                earlier = format_args!(
                    "SELECT 1 FROM {s}.deliveries e WHERE e.bot_id = d.bot_id \
                     AND e.state IN ('queued', 'retrying') \
                     AND (e.order_ms, e.id) < (d.order_ms, d.id)"
                )
            )),
            // $1 ids, $2 now, $3 token, $4 lease end.
            order_start: sql(format!(
                "UPDATE {s}.deliveries d SET state = 'running', attempts = d.attempts + 1, \
                   lease_token = $3, lease_started_ms = $2, lease_until_ms = $4 \
                 WHERE d.id = ANY($1) AND d.state IN ('queued', 'retrying') \
                 RETURNING d.id, d.key, d.kind, d.received_ms, d.attempts, d.attempt_base, \
                   d.runs, d.body, d.bot_id, d.event_ms, \
                   (SELECT b.handled_ms FROM {s}.bots b WHERE b.bot_id = d.bot_id)"
            )),
            // $1 now: only times still ahead (a due delivery behind a running one is not due).
            order_next_due: sql(format!(
                "SELECT LEAST((SELECT MIN(next_ms) FROM {s}.deliveries \
                   WHERE state IN ('queued', 'retrying') AND next_ms > $1), \
                 (SELECT MIN(lease_until_ms) FROM {s}.deliveries WHERE state = 'running'))"
            )),
            // $1 cutoff, $2 limit.
            prune_bots: sql(format!(
                "DELETE FROM {s}.bots WHERE bot_id IN (SELECT bot_id FROM {s}.bots \
                   WHERE updated_ms <= $1 ORDER BY updated_ms LIMIT $2)"
            )),
            next_due: sql(format!(
                "SELECT LEAST((SELECT MIN(next_ms) FROM {s}.deliveries \
                   WHERE state IN ('queued', 'retrying')), \
                 (SELECT MIN(lease_until_ms) FROM {s}.deliveries WHERE state = 'running'))"
            )),
            // $1 lease end, $2 ids, $3 tokens.
            extend: sql(format!(
                "UPDATE {s}.deliveries d SET lease_until_ms = $1 \
                 FROM UNNEST($2::bigint[], $3::text[]) AS c (id, token) \
                 WHERE d.id = c.id AND d.state = 'running' AND d.lease_token = c.token"
            )),
            // $1 state, $2 next, $3 finished, $4 reason, $5 id, $6 token, then the attempt:
            // $7 number, $8 run, $9 started, $10 duration, $11 error; $12 outcome, $13 whether
            // the bot's handled time rises to the delivery's event time. A row comes back only
            // when the token still held the lease.
            finish: sql(format!(
                "WITH done AS (UPDATE {s}.deliveries SET state = $1, next_ms = $2, \
                   finished_ms = $3, dead_reason = $4, lease_token = NULL, lease_until_ms = NULL, \
                   outcome = $12 \
                   WHERE id = $5 AND state = 'running' AND lease_token = $6 \
                   RETURNING id, bot_id, event_ms), \
                 handled AS (INSERT INTO {s}.bots (bot_id, handled_ms, updated_ms) \
                   SELECT bot_id, event_ms, $9 FROM done \
                   WHERE $13 AND bot_id IS NOT NULL AND event_ms IS NOT NULL \
                   ON CONFLICT (bot_id) DO UPDATE SET \
                   handled_ms = GREATEST({s}.bots.handled_ms, EXCLUDED.handled_ms), \
                   updated_ms = EXCLUDED.updated_ms) \
                 INSERT INTO {s}.attempts (delivery_id, number, run, started_ms, duration_ms, error) \
                 SELECT id, $7, $8, $9, $10, $11 FROM done \
                 ON CONFLICT (delivery_id, number) DO UPDATE SET run = EXCLUDED.run, \
                   started_ms = EXCLUDED.started_ms, duration_ms = EXCLUDED.duration_ms, \
                   error = EXCLUDED.error \
                 RETURNING delivery_id"
            )),
            // The same for many attempts of distinct deliveries at once, as arrays: $1 ids,
            // $2 tokens, $3 states, $4 next, $5 finished, $6 reasons, $7 numbers, $8 runs,
            // $9 started, $10 durations, $11 errors, $12 outcomes, $13 whether each raises its
            // bot's handled time. Returns the ids whose token held the lease.
            finish_many: sql(format!(
                "WITH input AS (SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], \
                   $4::bigint[], $5::bigint[], $6::text[], $7::int[], $8::int[], $9::bigint[], \
                   $10::bigint[], $11::text[], $12::text[], $13::bool[]) AS t (id, token, state, \
                   next_ms, finished_ms, reason, number, run, started_ms, duration_ms, error, \
                   outcome, raise)), \
                 done AS (UPDATE {s}.deliveries d SET state = i.state, next_ms = i.next_ms, \
                   finished_ms = i.finished_ms, dead_reason = i.reason, lease_token = NULL, \
                   lease_until_ms = NULL, outcome = i.outcome FROM input i \
                   WHERE d.id = i.id AND d.state = 'running' AND d.lease_token = i.token \
                   RETURNING d.id, d.bot_id, d.event_ms, i.raise, i.started_ms), \
                 handled AS (INSERT INTO {s}.bots (bot_id, handled_ms, updated_ms) \
                   SELECT bot_id, MAX(event_ms), MAX(started_ms) FROM done \
                   WHERE raise AND bot_id IS NOT NULL AND event_ms IS NOT NULL GROUP BY bot_id \
                   ON CONFLICT (bot_id) DO UPDATE SET \
                   handled_ms = GREATEST({s}.bots.handled_ms, EXCLUDED.handled_ms), \
                   updated_ms = EXCLUDED.updated_ms), \
                 recorded AS (INSERT INTO {s}.attempts \
                   (delivery_id, number, run, started_ms, duration_ms, error) \
                   SELECT i.id, i.number, i.run, i.started_ms, i.duration_ms, i.error \
                   FROM input i JOIN done USING (id) \
                   ON CONFLICT (delivery_id, number) DO UPDATE SET run = EXCLUDED.run, \
                   started_ms = EXCLUDED.started_ms, duration_ms = EXCLUDED.duration_ms, \
                   error = EXCLUDED.error) \
                 SELECT id FROM done"
            )),
            // $1 state, $2 cutoff, $3 limit; attempts go with their delivery.
            prune: sql(format!(
                "DELETE FROM {s}.deliveries WHERE id IN (SELECT id FROM {s}.deliveries \
                   WHERE state IN ('completed', 'dead') AND state = $1 AND finished_ms <= $2 \
                   ORDER BY finished_ms, id LIMIT $3)"
            )),
            // $1 cutoff, $2 limit; walks `deliveries_bodies`, which holds only the completed
            // deliveries that still have a body.
            drop_bodies: sql(format!(
                "UPDATE {s}.deliveries SET body = NULL WHERE id IN (SELECT id FROM {s}.deliveries \
                   WHERE state = 'completed' AND body IS NOT NULL AND finished_ms <= $1 \
                   ORDER BY finished_ms, id LIMIT $2)"
            )),
            pending: sql(format!(
                "SELECT state, COUNT(*), MIN(COALESCE(pending_since_ms, received_ms)) \
                 FROM {s}.deliveries WHERE state IN ('queued', 'retrying') GROUP BY state \
                 UNION ALL SELECT 'running', COUNT(*), \
                 MIN(COALESCE(pending_since_ms, received_ms)) \
                 FROM {s}.deliveries WHERE state = 'running'"
            )),
            finished: sql(format!(
                "SELECT COUNT(*) FILTER (WHERE state = 'completed'), \
                   COUNT(*) FILTER (WHERE state = 'dead'), \
                   COUNT(*) FILTER (WHERE outcome = 'stale') \
                 FROM {s}.deliveries WHERE state IN ('completed', 'dead')"
            )),
            // $1 state or NULL, $2 kind or NULL, $3 limit, $4 bot or NULL, $5 key or NULL
            // (not forgotten: `deliveries_key`), $6 an id to list before or NULL.
            list: sql(format!(
                "SELECT {SUMMARY_COLUMNS} FROM {s}.deliveries \
                 WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR kind = $2) \
                 AND ($4::text IS NULL OR bot_id = $4) \
                 AND ($5::text IS NULL OR (key = $5 AND key_active)) \
                 AND ($6::bigint IS NULL OR id < $6) \
                 ORDER BY id DESC LIMIT $3"
            )),
            show: sql(format!(
                "SELECT {SUMMARY_COLUMNS}, body FROM {s}.deliveries WHERE id = $1"
            )),
            attempts: sql(format!(
                "SELECT number, run, started_ms, duration_ms, error FROM {s}.attempts \
                 WHERE delivery_id = $1 ORDER BY number"
            )),
            redrive_check: sql(format!(
                "SELECT state, body IS NOT NULL FROM {s}.deliveries WHERE id = $1 FOR UPDATE"
            )),
            // $1 id, $2 now.
            redrive: sql(format!(
                "UPDATE {s}.deliveries SET state = 'queued', next_ms = $2, \
                   attempt_base = attempts, finished_ms = NULL, dead_reason = NULL, \
                   runs = runs + 1, pending_since_ms = $2, outcome = NULL WHERE id = $1"
            )),
            // $1 kind or NULL, $2 now.
            redrive_dead: sql(format!(
                "UPDATE {s}.deliveries SET state = 'queued', next_ms = $2, \
                   attempt_base = attempts, finished_ms = NULL, dead_reason = NULL, \
                   runs = runs + 1, pending_since_ms = $2, outcome = NULL \
                 WHERE state = 'dead' AND ($1::text IS NULL OR kind = $1) AND body IS NOT NULL"
            )),
            forget: sql(format!(
                "UPDATE {s}.deliveries SET key_active = FALSE WHERE key = $1 AND key_active"
            )),
            notify: sql(format!("SELECT pg_notify('{channel}', '')")),
        }
    }
}
