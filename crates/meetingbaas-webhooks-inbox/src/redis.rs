//! The store for replicas: Redis Streams with a consumer group.
//!
//! Keys (under a prefix, default `meetingbaas-webhooks:inbox:`):
//!
//! | key | what |
//! |---|---|
//! | `stream` | the work stream (field `id`), read by the consumer group `workers` |
//! | `dead` | the dead-letter stream: `id`, `reason`, `attempts`, `key`, `kind` |
//! | `d:<id>` | a delivery: key, kind, state, attempts, runs, pending since, lease token... |
//! | `b:<id>` | its body (until dropped: see [`WorkStore::drop_bodies`]) |
//! | `a:<id>` | its attempts that failed (JSON, oldest first; one that succeeded is a field `a<number>` of `d:<id>`) |
//! | `key:<idempotency key>` | the id stored under a key (a copy is not stored twice) |
//! | `s:<state>` | ids per state (score: when it last became pending, its stored time until a redrive; completed and dead: finished time) |
//! | `delayed` | retrying ids by the time of their next attempt |
//! | `seq` | the last id |
//! | `bodies_dropped_to` | `ms` and `id` of the last completed delivery whose body was dropped |
//! | `schema` | `version` of the keys and `oldest_code` that can use them (checked at start) |
//! | `p:<bot>`, `run:<bot>`, `w:<bot>`, `parked`, `handled`, `handled_at`, `stale` | per-bot order and stale statuses ([`WorkerBuilder::order_by_bot`](crate::WorkerBuilder::order_by_bot)): the design is in `order.rs` |
//!
//! Memory: a delivery's hash holds only short values, and no field that is empty or at its
//! default, so that Redis keeps it as a compact listpack (values of at most
//! `hash-max-listpack-value` bytes, 64 by default: one longer value turns the hash into a
//! table about three times its size). The body lives in a string of its own, so that it can
//! leave RAM when the worker drops it; an idempotency key longer than 64 bytes (the
//! `<scheme>:sha256:<hex>` of a delivery without a message id is 80) is split over the fields
//! `key` and `key2`; an attempt that succeeded is a short field of the hash, not a list of its
//! own. Measured (BENCHMARKS.md, "Redis memory"), per completed 1 KiB delivery: 3 215 bytes of
//! Redis memory with schema 3 (the body one of the hash's fields), 2 111 with schema 4, 752 once
//! [`keep_bodies`](crate::WorkerBuilder::keep_bodies) has dropped its body.
//!
//! Every state change is one Lua script, so it is atomic: an enqueue is one round trip (dedupe
//! and `XADD` in one script), and so is a claim (due retries promoted, `XAUTOCLAIM`,
//! `XREADGROUP COUNT n`, every attempt started). An idle worker waits with `XREAD BLOCK` from the
//! last entry its claim saw (which claims nothing, so a worker stopping while it waits leaves
//! nothing behind), on a connection of its own; everything else shares the multiplexed connection made in
//! [`meetingbaas_webhooks_receiver::redis_connection`] (the same one deduplication uses), and enqueues
//! are spread over it and three more like it (see [`RedisBackend`]). A worker that
//! dies leaves its entries pending in the group: `XAUTOCLAIM` with the lease as minimum idle
//! time takes them over (a live worker renews its entries with `XCLAIM` every third of the
//! lease). Single Redis (or Sentinel) only: the scripts touch keys they compute, which a
//! Cluster would refuse.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use meetingbaas_webhooks_receiver::Enqueued;
use meetingbaas_webhooks_receiver::redis_connection::{
    RedisConnection, bounded, invoke_retrying, store_error,
};
use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::{Script, Value};
use tokio::sync::Mutex;

use crate::error::Error;
use crate::record::{
    Attempt, Claimed, ListQuery, State, Stats, StoredDelivery, Summary, Verdict, millis, now_ms,
};
use crate::store::{AdminStore, IntakeStore, NewDelivery, StoreFuture, WorkStore};

mod order;

const GROUP: &str = "workers";

/// The schema of the keys this code writes (see [`RedisBackend::check_schema`]).
/// 3: a delivery's `runs` and `pending_since_ms` (set by a redrive), each attempt's `run`; older
/// code ignores them. 4: the body in `b:<id>` instead of the hash's `body`, a key longer than 64
/// bytes split over `key` and `key2`, empty and default fields left out, an attempt that
/// succeeded a field `a<number>` of the hash; this code still reads deliveries stored by older
/// code. 5: per-bot order (`order.rs`): a delivery's `order_ms`, `event_ms` and `outcome`, the
/// per-bot keys, `handled`, `stale`; older code ignores them (a pending set it leaves behind is
/// cleaned as it is read).
const SCHEMA_VERSION: i64 = 5;

/// The oldest schema version whose code can use keys at [`SCHEMA_VERSION`]: code of schema 3 or
/// older would find no body in a delivery stored by this one.
const OLDEST_CODE: i64 = 4;

/// Connections that enqueues are spread over. Redis reads about 16 KiB per connection per turn
/// of its event loop and (with `appendfsync always`) fsyncs once per turn: on one connection,
/// only about a dozen 1 KiB deliveries would share each fsync.
const INTAKE_CONNECTIONS: usize = 4;

/// The most deliveries one purge script deletes.
const PRUNE_BATCH: usize = 500;

/// Lua: the delivery's idempotency key, from `key` and (when longer than 64 bytes) `key2`.
const KEY_FN: &str = r"
local function key_of(d)
  local parts = redis.call('HMGET', d, 'key', 'key2')
  return (parts[1] or '') .. (parts[2] or '')
end
";

/// ARGV: prefix, key, kind, event, scheme, message id, body, now, bot id, order time, event
/// time (`''`: none).
const ENQUEUE: &str = r"
local p = ARGV[1]
if redis.call('EXISTS', p .. 'key:' .. ARGV[2]) == 1 then return false end
local id = redis.call('INCR', p .. 'seq')
local d = p .. 'd:' .. id
redis.call('SET', p .. 'key:' .. ARGV[2], id)
local f = {'key', string.sub(ARGV[2], 1, 64), 'kind', ARGV[3], 'scheme', ARGV[5],
  'received_ms', ARGV[8], 'state', 'queued', 'attempts', 0, 'next_ms', ARGV[8]}
local function add(name, value)
  if value ~= '' then f[#f + 1] = name; f[#f + 1] = value end
end
add('key2', string.sub(ARGV[2], 65))
add('event', ARGV[4])
add('message_id', ARGV[6])
add('bot_id', ARGV[9])
add('order_ms', ARGV[10])
add('event_ms', ARGV[11])
redis.call('HSET', d, unpack(f))
if ARGV[9] ~= '' then redis.call('ZADD', p .. 'p:' .. ARGV[9], ARGV[10], id) end
redis.call('SET', p .. 'b:' .. id, ARGV[7])
redis.call('ZADD', p .. 's:queued', ARGV[8], id)
redis.call('XADD', p .. 'stream', '*', 'id', id)
return id";

/// Starts an attempt on each of `entries` (`{stream entry, delivery id}`) under the lease token
/// `token .. '|' .. entry`; skips (acknowledging and deleting its entry) a delivery that is gone
/// or finished. A delivery found running had an attempt whose lease ran out: recorded as such.
/// Takes the delivery out of its bot's pending set (`p:<bot>`) and, when it was parked behind
/// another of its bot (`order.rs`), out of `w:<bot>` and `parked`.
/// Returns `{id, token, body, key, kind, attempts, attempt_base, received_ms, runs, {bot, event
/// time, the bot's handled time}}` per delivery.
const START_FN: &str = r"
local function start_all(p, entries, token, now)
  local stream = p .. 'stream'
  local out = {}
  for _, e in ipairs(entries) do
    local entry, id = e[1], e[2]
    local d = p .. 'd:' .. id
    local state = redis.call('HGET', d, 'state')
    if state ~= 'queued' and state ~= 'retrying' and state ~= 'running' then
      redis.call('XACK', stream, 'workers', entry)
      redis.call('XDEL', stream, entry)
    else
      local received = redis.call('HGET', d, 'received_ms')
      local since = redis.call('HGET', d, 'pending_since_ms')
      if not since or since == '' then since = received end
      local runs = tonumber(redis.call('HGET', d, 'runs')) or 1
      if state == 'running' then
        local started = tonumber(redis.call('HGET', d, 'lease_started_ms') or now)
        redis.call('RPUSH', p .. 'a:' .. id, cjson.encode({number = tonumber(redis.call('HGET', d, 'attempts')),
          started_ms = started, duration_ms = tonumber(now) - started, run = runs,
          error = 'lease expired: the worker stopped or hung'}))
      end
      redis.call('ZREM', p .. 's:' .. state, id)
      redis.call('ZADD', p .. 's:running', since, id)
      local attempts = redis.call('HINCRBY', d, 'attempts', 1)
      local t = token .. '|' .. entry
      redis.call('HSET', d, 'state', 'running', 'token', t, 'lease_started_ms', now)
      redis.call('HDEL', d, 'next_ms')
      local f = redis.call('HMGET', d, 'body', 'kind', 'attempt_base', 'bot_id', 'event_ms')
      local bot, handled = f[4] or '', ''
      if bot ~= '' then
        redis.call('ZREM', p .. 'p:' .. bot, id)
        if redis.call('ZREM', p .. 'parked', id) == 1 then
          redis.call('ZREM', p .. 'w:' .. bot, id)
        end
        redis.call('HDEL', d, 'go')
        handled = redis.call('HGET', p .. 'handled', bot) or ''
      end
      -- The body's own key; in the hash for a delivery stored by code of schema 3 or older.
      local body = redis.call('GET', p .. 'b:' .. id) or f[1] or ''
      out[#out + 1] = {id, t, body, key_of(d), f[2] or '', attempts, tonumber(f[3]) or 0, received, runs,
        {bot, f[5] or '', handled}}
    end
  end
  return out
end
";

/// Lua for both claims: due retries moved back to the work stream, stream entries taken into a
/// list (an entry without a delivery id is acknowledged and dropped), the stream's last entry id.
const CLAIM_FNS: &str = r"
local function promote_due(p, now)
  local due = redis.call('ZRANGEBYSCORE', p .. 'delayed', '-inf', now, 'LIMIT', 0, 200)
  for _, id in ipairs(due) do
    redis.call('ZREM', p .. 'delayed', id)
    redis.call('XADD', p .. 'stream', '*', 'id', id)
  end
end
local function take(stream, list, into)
  for _, e in ipairs(list or {}) do
    local id = nil
    if e and e[2] then
      for i = 1, #e[2], 2 do
        if e[2][i] == 'id' then id = e[2][i + 1] end
      end
    end
    if id then
      into[#into + 1] = {e[1], id}
    elseif e then
      redis.call('XACK', stream, 'workers', e[1])
    end
  end
  return #(list or {})
end
local function last_entry(stream)
  local info = redis.call('XINFO', 'STREAM', stream)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then return info[i + 1] end
  end
  return '0-0'
end
";

/// One round trip for a claim: moves retries whose time has come back to the work stream, takes
/// over entries idle longer than the lease (`XAUTOCLAIM`: their worker died), reads new entries
/// (`XREADGROUP COUNT`, not blocking), and starts an attempt on each. Returns the stream's last
/// entry id (an idle worker waits for entries after it), the time the next retry falls due
/// (`''` for none), the started attempts, and (for the claim in bot order only) the deliveries
/// that went on out of order.
/// ARGV: prefix, now, consumer, lease ms, max, token (and, read only by the claim in bot order,
/// `max_wait` ms).
const CLAIM: &str = r"
local p = ARGV[1]
local now = ARGV[2]
local stream = p .. 'stream'
local max = tonumber(ARGV[5])
promote_due(p, now)
local entries = {}
local reclaimed = redis.call('XAUTOCLAIM', stream, 'workers', ARGV[3], ARGV[4], '0-0', 'COUNT', max)
take(stream, reclaimed[2], entries)
if #entries < max then
  local read = redis.call('XREADGROUP', 'GROUP', 'workers', ARGV[3], 'COUNT', max - #entries,
    'STREAMS', stream, '>')
  if read then take(stream, read[1][2], entries) end
end
local next_due = redis.call('ZRANGE', p .. 'delayed', 0, 0, 'WITHSCORES')
return {last_entry(stream), next_due[2] or '', start_all(p, entries, ARGV[6], now), {}}";

/// Records an attempt's end if the caller's token still holds the delivery.
const FINISH: &str = r"
local p = ARGV[1]
local id = ARGV[2]
local d = p .. 'd:' .. id
if redis.call('EXISTS', d) == 0 then return -1 end
if redis.call('HGET', d, 'state') ~= 'running' or redis.call('HGET', d, 'token') ~= ARGV[3] then
  return 0
end
local verdict = ARGV[5]
local now = ARGV[6]
local stale = verdict == 'stale'
if stale then verdict = 'completed' end
redis.call('ZREM', p .. 's:running', id)
-- An attempt that succeeded is a short field of the hash (`a<number>`: run, start, duration);
-- one with an error goes to the list.
if verdict == 'completed' and ARGV[9] ~= '' then
  redis.call('HSET', d, 'a' .. ARGV[10], ARGV[9])
else
  redis.call('RPUSH', p .. 'a:' .. id, ARGV[8])
end
redis.call('HDEL', d, 'token', 'lease_started_ms')
if verdict == 'completed' then
  redis.call('HSET', d, 'state', 'completed', 'finished_ms', now)
  redis.call('ZADD', p .. 's:completed', now, id)
  if stale then
    redis.call('HSET', d, 'outcome', 'stale')
    redis.call('ZADD', p .. 'stale', now, id)
  end
elseif verdict == 'retrying' then
  redis.call('HSET', d, 'state', 'retrying', 'next_ms', ARGV[7])
  local since = redis.call('HGET', d, 'pending_since_ms')
  if not since or since == '' then since = redis.call('HGET', d, 'received_ms') end
  redis.call('ZADD', p .. 's:retrying', since, id)
  redis.call('ZADD', p .. 'delayed', ARGV[7], id)
else
  redis.call('HSET', d, 'state', 'dead', 'finished_ms', now, 'dead_reason', ARGV[7])
  redis.call('ZADD', p .. 's:dead', now, id)
  redis.call('XADD', p .. 'dead', 'MAXLEN', '~', 100000, '*', 'id', id, 'reason', ARGV[7],
    'attempts', redis.call('HGET', d, 'attempts'), 'key', key_of(d),
    'kind', redis.call('HGET', d, 'kind'))
end
redis.call('XACK', p .. 'stream', 'workers', ARGV[4])
redis.call('XDEL', p .. 'stream', ARGV[4])
local bot = redis.call('HGET', d, 'bot_id')
if bot and bot ~= '' then
  if verdict == 'retrying' then
    redis.call('ZADD', p .. 'p:' .. bot, order_of(d), id)
  end
  if ARGV[11] == '1' then finished_in_order(p, id, d, bot, verdict == 'completed' and not stale, now) end
end
return 1";

/// Renews an entry's idle time for its consumer, if its token still holds it.
const EXTEND: &str = r"
local p = ARGV[1]
local d = p .. 'd:' .. ARGV[2]
if redis.call('HGET', d, 'state') == 'running' and redis.call('HGET', d, 'token') == ARGV[3] then
  redis.call('XCLAIM', p .. 'stream', 'workers', ARGV[5], 0, ARGV[4], 'JUSTID')
  return 1
end
return 0";

const REDRIVE: &str = r"
local p = ARGV[1]
local id = ARGV[2]
local d = p .. 'd:' .. id
local state = redis.call('HGET', d, 'state')
if not state then return 'missing' end
if state == 'running' then return 'running' end
if redis.call('EXISTS', p .. 'b:' .. id) == 0 and redis.call('HEXISTS', d, 'body') == 0 then
  return 'dropped'
end
redis.call('ZREM', p .. 's:' .. state, id)
redis.call('ZREM', p .. 'delayed', id)
local runs = (tonumber(redis.call('HGET', d, 'runs')) or 1) + 1
redis.call('HSET', d, 'state', 'queued', 'attempt_base', redis.call('HGET', d, 'attempts'),
  'next_ms', ARGV[3], 'runs', runs, 'pending_since_ms', ARGV[3])
redis.call('HDEL', d, 'finished_ms', 'dead_reason', 'outcome')
redis.call('ZREM', p .. 'stale', id)
local bot = redis.call('HGET', d, 'bot_id')
if bot and bot ~= '' then redis.call('ZADD', p .. 'p:' .. bot, order_of(d), id) end
redis.call('ZADD', p .. 's:queued', ARGV[3], id)
redis.call('XADD', p .. 'stream', '*', 'id', id)
return 'ok'";

const FORGET: &str = r"
local p = ARGV[1]
local id = redis.call('GET', p .. 'key:' .. ARGV[2])
if not id then return 0 end
redis.call('DEL', p .. 'key:' .. ARGV[2])
redis.call('HSET', p .. 'd:' .. id, 'forgotten', 1)
return 1";

const PURGE: &str = r"
local p = ARGV[1]
local ids = redis.call('ZRANGEBYSCORE', p .. 's:' .. ARGV[2], '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
for _, id in ipairs(ids) do
  local d = p .. 'd:' .. id
  local key = key_of(d)
  if key ~= '' and redis.call('GET', p .. 'key:' .. key) == id then
    redis.call('DEL', p .. 'key:' .. key)
  end
  redis.call('DEL', d, p .. 'a:' .. id, p .. 'b:' .. id)
  redis.call('ZREM', p .. 's:' .. ARGV[2], id)
  redis.call('ZREM', p .. 'stale', id)
end
if ARGV[2] == 'completed' then
  -- The newest handled event time of bots not handled since ARGV[5] (`BOT_TIME_KEPT` ago at
  -- the latest) goes too.
  local bots = redis.call('ZRANGEBYSCORE', p .. 'handled_at', '-inf', ARGV[5], 'LIMIT', 0, tonumber(ARGV[4]))
  for _, bot in ipairs(bots) do
    redis.call('HDEL', p .. 'handled', bot)
    redis.call('ZREM', p .. 'handled_at', bot)
  end
end
return #ids";

/// Drops the bodies of at most `limit` completed deliveries finished at or before `cutoff`,
/// going on from the mark `bodies_dropped_to` (finished time `ms`, and `id`: `s:completed`
/// orders the deliveries of one millisecond by id as text), which it moves past them. Returns
/// how many deliveries it passed. ARGV: prefix, cutoff, limit.
const DROP_BODIES: &str = r"
local p = ARGV[1]
local cutoff = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local set = p .. 's:completed'
local mark = redis.call('HMGET', p .. 'bodies_dropped_to', 'ms', 'id')
local passed, last_ms, last_id = 0, nil, nil
local function drop(id, ms)
  redis.call('DEL', p .. 'b:' .. id)
  redis.call('HDEL', p .. 'd:' .. id, 'body')
  passed = passed + 1
  last_ms, last_id = ms, id
end
local from = '-inf'
-- A mark that is not a number (edited by hand) starts over: passing a delivery again is harmless.
if tonumber(mark[1]) and mark[2] then
  if tonumber(mark[1]) > cutoff then return 0 end
  -- The rest of the mark's millisecond.
  for _, id in ipairs(redis.call('ZRANGE', set, mark[1], mark[1], 'BYSCORE')) do
    if passed < limit and id > mark[2] then drop(id, mark[1]) end
  end
  from = '(' .. mark[1]
end
if passed < limit then
  local rest = redis.call('ZRANGE', set, from, cutoff, 'BYSCORE', 'LIMIT', 0, limit - passed,
    'WITHSCORES')
  for i = 1, #rest, 2 do drop(rest[i], rest[i + 1]) end
end
if last_id then redis.call('HSET', p .. 'bodies_dropped_to', 'ms', last_ms, 'id', last_id) end
return passed";

struct Scripts {
    enqueue: Script,
    claim: Script,
    claim_in_order: Script,
    finish: Script,
    extend: Script,
    redrive: Script,
    forget: Script,
    purge: Script,
    drop_bodies: Script,
}

/// Deliveries in Redis Streams, shared by every replica behind a load balancer.
///
/// Durable across a Redis restart only when Redis persists every write: `appendonly yes`, and
/// `appendfsync always` (or `everysec`, which can lose about a second on a power cut).
///
/// Enqueues go round-robin over 4 multiplexed connections (the shared one and 3 more): Redis
/// reads about 16 KiB per connection per turn of its event loop and, with `appendfsync always`,
/// fsyncs once per turn, so spreading concurrent 1 KiB deliveries over several sockets lets more
/// of them share each fsync.
#[derive(Clone)]
pub struct RedisBackend {
    connection: RedisConnection,
    shared: ConnectionManager,
    /// Enqueues, spread round-robin over these (the shared one first).
    intake: Arc<[ConnectionManager]>,
    next_intake: Arc<AtomicUsize>,
    /// The connection an idle worker's blocking read runs on (taken out while it blocks).
    blocking: Arc<Mutex<Option<MultiplexedConnection>>>,
    /// The stream's last entry id and the next retry's time, as the last claim saw them.
    seen: Arc<std::sync::Mutex<(String, Option<i64>)>>,
    prefix: Arc<str>,
    consumer: Arc<str>,
    scripts: Arc<Scripts>,
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBackend")
            .field("prefix", &self.prefix)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// The key prefix used unless another is set.
    pub const DEFAULT_PREFIX: &'static str = "meetingbaas-webhooks:inbox:";

    /// Connects to `url` (`redis://HOST:PORT`; `rediss://` is refused: this build has no TLS for
    /// Redis) and creates the consumer group if needed.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let connection = RedisConnection::connect(url).await?;
        RedisBackend::with_connection(connection, Self::DEFAULT_PREFIX).await
    }

    /// A backend on an open connection (shared with deduplication, say), under `prefix`.
    pub async fn with_connection(connection: RedisConnection, prefix: &str) -> Result<Self, Error> {
        let mut intake = vec![connection.shared()];
        for _ in 1..INTAKE_CONNECTIONS {
            intake.push(connection.another_shared().await?);
        }
        let backend = RedisBackend {
            shared: connection.shared(),
            intake: intake.into(),
            next_intake: Arc::default(),
            connection,
            blocking: Arc::new(Mutex::new(None)),
            seen: Arc::new(std::sync::Mutex::new(("0-0".to_owned(), None))),
            prefix: prefix.into(),
            consumer: format!("consumer-{}", crate::token()).into(),
            scripts: Arc::new(Scripts {
                enqueue: Script::new(ENQUEUE),
                claim: Script::new(&format!("{KEY_FN}{START_FN}{CLAIM_FNS}{CLAIM}")),
                claim_in_order: Script::new(&format!(
                    "{KEY_FN}{START_FN}{CLAIM_FNS}{}{}",
                    order::BOT_FNS,
                    order::CLAIM
                )),
                finish: Script::new(&format!("{KEY_FN}{}{FINISH}", order::BOT_FNS)),
                extend: Script::new(EXTEND),
                redrive: Script::new(&format!("{}{REDRIVE}", order::BOT_FNS)),
                forget: Script::new(FORGET),
                purge: Script::new(&format!("{KEY_FN}{PURGE}")),
                drop_bodies: Script::new(DROP_BODIES),
            }),
        };
        backend.check_schema().await?;
        backend.create_group().await?;
        Ok(backend)
    }

    /// The schema version of the keys, recorded under `<prefix>schema` (`version`, and
    /// `oldest_code`: the oldest schema version whose code can still use them), checked and
    /// brought forward at start. Keys of the first release carry no version: they are schema
    /// 1. Version 2 adds a `bot_id` field to deliveries, which version-1 code never reads.
    async fn check_schema(&self) -> Result<(), Error> {
        let mut shared = self.shared.clone();
        let key = self.key("schema");
        let recorded: std::collections::HashMap<String, i64> =
            bounded(redis::cmd("HGETALL").arg(&key).query_async(&mut shared)).await?;
        let version = recorded.get("version").copied().unwrap_or(1);
        let oldest_code = recorded.get("oldest_code").copied().unwrap_or(1);
        if version > SCHEMA_VERSION && oldest_code > SCHEMA_VERSION {
            return Err(Error::Store(format!(
                "the inbox keys under {} have schema {version}, written by a newer release that \
                 only releases knowing schema {oldest_code} or later can use; this one knows \
                 schema {SCHEMA_VERSION}: upgrade it",
                self.prefix
            )));
        }
        if version < SCHEMA_VERSION || recorded.is_empty() {
            // Nothing to rewrite from 1 to 2: new deliveries get the field, old ones lack it.
            let _: () = bounded(
                redis::cmd("HSET")
                    .arg(&key)
                    .arg("version")
                    .arg(SCHEMA_VERSION)
                    .arg("oldest_code")
                    .arg(OLDEST_CODE)
                    .query_async(&mut shared),
            )
            .await?;
        }
        Ok(())
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    async fn create_group(&self) -> Result<(), Error> {
        let mut shared = self.shared.clone();
        let created: redis::RedisResult<Value> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.key("stream"))
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut shared)
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some("BUSYGROUP") => Ok(()),
            Err(err) => Err(store_error(&err).into()),
        }
    }

    async fn enqueue_async(&self, delivery: NewDelivery) -> Result<Enqueued, Error> {
        let turn = self.next_intake.fetch_add(1, Ordering::Relaxed);
        let shared = &self.intake[turn % self.intake.len()];
        let now = now_ms();
        let (order_ms, event_ms) = delivery.order_times(now);
        let mut invocation = self.scripts.enqueue.prepare_invoke();
        invocation
            .arg(&*self.prefix)
            .arg(&delivery.key)
            .arg(delivery.kind.as_deref().unwrap_or(""))
            .arg(delivery.event.as_deref().unwrap_or(""))
            .arg(&delivery.scheme)
            .arg(delivery.message_id.as_deref().unwrap_or(""))
            .arg(&delivery.body[..])
            .arg(now)
            .arg(delivery.bot_id.as_deref().unwrap_or(""))
            .arg(order_ms)
            .arg(event_ms.map(|ms| ms.to_string()).unwrap_or_default());
        // Tried once more on a broken connection (a Redis restart): an enqueue that landed
        // before the break is found by its key, and answered as a copy of a stored delivery.
        let id: Option<i64> = invoke_retrying(shared, &invocation).await?;
        Ok(match id {
            Some(id) => Enqueued::Stored { id: id.to_string() },
            None => Enqueued::Duplicate,
        })
    }

    async fn claim_async(&self, max: usize, lease: Duration) -> Result<Vec<Claimed>, Error> {
        self.claim_with(&self.scripts.claim, max, lease, None).await
    }

    /// One claim script's round trip (in bot order with `max_wait`, see `order.rs`): the
    /// stream's last entry and the next due time kept for [`wait_async`](Self::wait_async),
    /// the started attempts returned, a vanished consumer group said loudly and made again.
    async fn claim_with(
        &self,
        script: &Script,
        max: usize,
        lease: Duration,
        max_wait: Option<Duration>,
    ) -> Result<Vec<Claimed>, Error> {
        let mut shared = self.shared.clone();
        let token = crate::token();
        let mut claim = script.prepare_invoke();
        claim
            .arg(&*self.prefix)
            .arg(now_ms())
            .arg(&*self.consumer)
            .arg(millis(lease))
            .arg(max.max(1))
            .arg(&token)
            .arg(max_wait.map_or(0, millis));
        let answer = tokio::time::timeout(
            meetingbaas_webhooks_receiver::redis_connection::OPERATION_TIMEOUT,
            claim.invoke_async::<(String, String, Vec<Started>, Vec<(String, String, i64)>)>(
                &mut shared,
            ),
        )
        .await
        .map_err(|_| Error::store("Redis did not answer in time"))?;
        match answer {
            Ok((last, next_due, started, overdue)) => {
                let next_due = next_due.parse::<f64>().ok().map(|due| due as i64);
                *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = (last, next_due);
                for (id, bot_id, waited_ms) in overdue {
                    tracing::warn!(target: "meetingbaas_webhooks_inbox", id, bot_id = ?bot_id, waited_ms, "an earlier delivery of this bot is still retrying: this one waited the longest allowed (`order_by_bot`) and goes on out of order");
                }
                let ordered = max_wait.is_some();
                Ok(started
                    .into_iter()
                    .map(|started| claimed(started, ordered))
                    .collect())
            }
            // Redis lost the group (restarted without persistence, or the keys were deleted):
            // said loudly, then made again so that new deliveries move.
            Err(err)
                if err.code() == Some("NOGROUP")
                    || err
                        .detail()
                        .is_some_and(|detail| detail.contains("NOGROUP")) =>
            {
                data_lost(
                    "consumer_group",
                    "the inbox's Redis stream or its consumer group has vanished: Redis lost its \
                     data (restarted without persistence, or the keys were deleted), and \
                     deliveries queued before may have been lost; making the group again",
                    None,
                );
                self.create_group().await?;
                Ok(Vec::new())
            }
            Err(err) => Err(store_error(&err).into()),
        }
    }

    /// Waits for an entry after the last one the last claim saw (`XREAD BLOCK`, which claims
    /// nothing), or the next retry's time, or `timeout`. The blocking connection is taken out
    /// while it blocks: a wait that is dropped drops it, and Redis ends the read.
    async fn wait_async(&self, timeout: Duration) -> Result<(), Error> {
        let (last, next_due) = self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let due_in = next_due.map_or(u64::MAX, |due| u64::try_from(due - now_ms()).unwrap_or(0));
        let block = timeout.min(Duration::from_millis(due_in));
        let block_ms = u64::try_from(block.as_millis()).unwrap_or(u64::MAX);
        if block_ms == 0 {
            return Ok(());
        }
        let taken = self.blocking.lock().await.take();
        let mut connection = match taken {
            Some(connection) => connection,
            None => self.connection.dedicated().await?,
        };
        let read = tokio::time::timeout(
            block + Duration::from_secs(2),
            redis::cmd("XREAD")
                .arg("COUNT")
                .arg(1)
                .arg("BLOCK")
                .arg(block_ms)
                .arg("STREAMS")
                .arg(self.key("stream"))
                .arg(&last)
                .query_async::<Value>(&mut connection),
        )
        .await;
        match read {
            Ok(Ok(_)) => {
                *self.blocking.lock().await = Some(connection);
                Ok(())
            }
            // The connection is dropped: a new one is made for the next wait.
            Ok(Err(err)) => Err(store_error(&err).into()),
            Err(_) => Err(Error::store("Redis did not answer a blocking read in time")),
        }
    }

    async fn finish_async(
        &self,
        claimed: Claimed,
        attempt: Attempt,
        verdict: Verdict,
    ) -> Result<bool, Error> {
        let mut shared = self.shared.clone();
        let entry = claimed
            .token
            .rsplit_once('|')
            .map(|(_, entry)| entry.to_string())
            .unwrap_or_default();
        let (name, detail) = match &verdict {
            Verdict::Complete => ("completed", String::new()),
            Verdict::Stale => ("stale", String::new()),
            Verdict::Retry { at_ms } => ("retrying", at_ms.to_string()),
            Verdict::Dead { reason } => ("dead", reason.clone()),
        };
        let record = serde_json::to_string(&attempt).map_err(Error::store)?;
        let inline = match &attempt.error {
            None => format!(
                "{} {} {}",
                attempt.run, attempt.started_ms, attempt.duration_ms
            ),
            Some(_) => String::new(),
        };
        let mut finish = self.scripts.finish.prepare_invoke();
        finish
            .arg(&*self.prefix)
            .arg(&claimed.id)
            .arg(&claimed.token)
            .arg(&entry)
            .arg(name)
            .arg(now_ms())
            .arg(detail)
            .arg(record)
            .arg(inline)
            .arg(attempt.number)
            .arg(if claimed.ordered { "1" } else { "" });
        let done: i64 = bounded(finish.invoke_async(&mut shared)).await?;
        if done == -1 {
            data_lost(
                "delivery",
                "a delivery being handled is no longer in Redis: Redis lost its data (restarted \
                 without persistence, or the keys were deleted), and deliveries queued before \
                 may have been lost",
                Some(&claimed.id),
            );
        }
        Ok(done == 1)
    }

    async fn extend_async(&self, claims: Vec<(String, String)>) -> Result<(), Error> {
        let mut shared = self.shared.clone();
        for (id, token) in claims {
            let Some((_, entry)) = token.rsplit_once('|') else {
                continue;
            };
            let mut extend = self.scripts.extend.prepare_invoke();
            extend
                .arg(&*self.prefix)
                .arg(&id)
                .arg(&token)
                .arg(entry)
                .arg(&*self.consumer);
            let _: i64 = bounded(extend.invoke_async(&mut shared)).await?;
        }
        Ok(())
    }

    /// The delivery's summary, its body when it was stored by code of schema 3 or older (in
    /// the hash; since then in `b:<id>`), and the attempts that succeeded (fields `a<number>`).
    async fn summary(
        &self,
        id: &str,
    ) -> Result<Option<(Summary, Option<Bytes>, Vec<Attempt>)>, Error> {
        let mut shared = self.shared.clone();
        let fields: std::collections::HashMap<String, Vec<u8>> = bounded(
            redis::cmd("HGETALL")
                .arg(self.key(&format!("d:{id}")))
                .query_async(&mut shared),
        )
        .await?;
        if fields.is_empty() {
            return Ok(None);
        }
        let text = |name: &str| {
            fields
                .get(name)
                .map(|value| String::from_utf8_lossy(value).into_owned())
                .unwrap_or_default()
        };
        let number = |name: &str| text(name).parse::<i64>().ok();
        let summary = Summary {
            id: id.to_string(),
            // Joined before decoding: the split at byte 64 may fall inside a character.
            key: {
                let mut key = fields.get("key").cloned().unwrap_or_default();
                key.extend_from_slice(fields.get("key2").map_or(&[][..], Vec::as_slice));
                String::from_utf8_lossy(&key).into_owned()
            },
            forgotten: text("forgotten") == "1",
            kind: non_empty(text("kind")),
            event: non_empty(text("event")),
            bot_id: non_empty(text("bot_id")),
            scheme: text("scheme"),
            message_id: non_empty(text("message_id")),
            received_ms: number("received_ms").unwrap_or(0),
            state: State::from_name(&text("state")).unwrap_or(State::Dead),
            attempts: u32::try_from(number("attempts").unwrap_or(0)).unwrap_or(0),
            runs: number("runs")
                .and_then(|runs| u32::try_from(runs).ok())
                .unwrap_or(1),
            next_ms: number("next_ms"),
            finished_ms: number("finished_ms"),
            dead_reason: non_empty(text("dead_reason")),
            stale: text("outcome") == "stale",
        };
        let body = fields.get("body").cloned().map(Bytes::from);
        let succeeded = fields
            .iter()
            .filter_map(|(name, value)| inline_attempt(name, value))
            .collect();
        Ok(Some((summary, body, succeeded)))
    }

    async fn stats_async(&self) -> Result<Stats, Error> {
        let mut shared = self.shared.clone();
        // One MULTI/EXEC, so the counts are a snapshot: a delivery moving from one state's set to
        // another meanwhile is counted once, never twice or not at all.
        let mut pipe = redis::pipe();
        pipe.atomic();
        for state in State::ALL {
            let set = self.key(&format!("s:{}", state.as_str()));
            pipe.cmd("ZCARD").arg(&set);
            pipe.cmd("ZRANGE").arg(&set).arg(0).arg(0).arg("WITHSCORES");
        }
        pipe.cmd("ZCARD").arg(self.key("stale"));
        let replies: Vec<redis::Value> = bounded(pipe.query_async(&mut shared)).await?;
        let mut replies = replies.iter();
        let mut stats = Stats::default();
        let mut oldest: Option<i64> = None;
        for state in State::ALL {
            let (Some(count), Some(first)) = (replies.next(), replies.next()) else {
                break;
            };
            let count: u64 =
                redis::from_redis_value(count).map_err(|err| Error::from(store_error(&err)))?;
            let first: Vec<(String, f64)> =
                redis::from_redis_value(first).map_err(|err| Error::from(store_error(&err)))?;
            stats.add(state, count);
            if matches!(state, State::Queued | State::Running | State::Retrying)
                && let Some((_, score)) = first.first()
            {
                let received = *score as i64;
                oldest = Some(oldest.map_or(received, |o| o.min(received)));
            }
        }
        if let Some(stale) = replies.next() {
            stats.stale =
                redis::from_redis_value(stale).map_err(|err| Error::from(store_error(&err)))?;
        }
        stats.oldest_pending_age_secs =
            oldest.map(|received| u64::try_from((now_ms() - received).max(0) / 1000).unwrap_or(0));
        Ok(stats)
    }

    async fn list_async(&self, query: ListQuery) -> Result<Vec<Summary>, Error> {
        let mut shared = self.shared.clone();
        let mut found = Vec::new();
        let before = query.before_id();
        let candidates: Vec<String> = match (&query.key, query.state) {
            // A key names one delivery: found through `key:<key>`.
            (Some(key), _) => {
                let id: Option<String> = bounded(
                    redis::cmd("GET")
                        .arg(self.key(&format!("key:{key}")))
                        .query_async(&mut shared),
                )
                .await?;
                id.into_iter().collect()
            }
            (None, Some(state)) => {
                // Older than `before`: ids are not scores, so the page is cut below.
                bounded(
                    redis::cmd("ZREVRANGE")
                        .arg(self.key(&format!("s:{}", state.as_str())))
                        .arg(0)
                        .arg(10_000)
                        .query_async(&mut shared),
                )
                .await?
            }
            (None, None) => {
                let last: Option<i64> = bounded(
                    redis::cmd("GET")
                        .arg(self.key("seq"))
                        .query_async(&mut shared),
                )
                .await?;
                let last = last.unwrap_or(0);
                let last = before.map_or(last, |before| last.min(before.saturating_sub(1)));
                (last.saturating_sub(10_000).max(1)..=last)
                    .rev()
                    .map(|id| id.to_string())
                    .collect()
            }
        };
        let mut candidates = candidates;
        if let Some(before) = before {
            candidates.retain(|id| id.parse::<i64>().is_ok_and(|id| id < before));
        }
        if query.state.is_some() {
            candidates.sort_by_key(|id| std::cmp::Reverse(id.parse::<i64>().unwrap_or(0)));
        }
        for id in candidates {
            if found.len() >= query.limit {
                break;
            }
            if let Some((summary, _, _)) = self.summary(&id).await?
                && (query.kind.is_none() || summary.kind == query.kind)
                && (query.bot_id.is_none() || summary.bot_id == query.bot_id)
                && query.state.is_none_or(|state| summary.state == state)
            {
                found.push(summary);
            }
        }
        Ok(found)
    }

    async fn show_async(&self, id: String) -> Result<Option<StoredDelivery>, Error> {
        let Some((summary, in_hash, succeeded)) = self.summary(&id).await? else {
            return Ok(None);
        };
        let mut shared = self.shared.clone();
        let body = match in_hash {
            Some(body) => Some(body),
            None => bounded(
                redis::cmd("GET")
                    .arg(self.key(&format!("b:{id}")))
                    .query_async::<Option<Vec<u8>>>(&mut shared),
            )
            .await?
            .map(Bytes::from),
        };
        let records: Vec<String> = bounded(
            redis::cmd("LRANGE")
                .arg(self.key(&format!("a:{id}")))
                .arg(0)
                .arg(-1)
                .query_async(&mut shared),
        )
        .await?;
        let mut attempts: Vec<Attempt> = records
            .iter()
            .filter_map(|record| serde_json::from_str::<AttemptRecord>(record).ok())
            .map(|record| Attempt {
                number: record.number,
                started_ms: record.started_ms,
                duration_ms: record.duration_ms.max(0) as u64,
                error: record.error,
                run: record.run,
            })
            .chain(succeeded)
            .collect();
        // Numbers count on across runs: the list's and the hash's in one order.
        attempts.sort_by_key(|attempt| attempt.number);
        Ok(Some(StoredDelivery {
            summary,
            body_dropped: body.is_none(),
            body: body.unwrap_or_default(),
            attempts,
        }))
    }

    async fn redrive_async(&self, id: String) -> Result<(), Error> {
        let mut shared = self.shared.clone();
        let mut redrive = self.scripts.redrive.prepare_invoke();
        redrive.arg(&*self.prefix).arg(&id).arg(now_ms());
        let answer: String = bounded(redrive.invoke_async(&mut shared)).await?;
        match answer.as_str() {
            "ok" => Ok(()),
            "running" => Err(Error::Running(id)),
            "dropped" => Err(Error::BodyDropped(id)),
            _ => Err(Error::NotFound(id)),
        }
    }

    async fn redrive_dead_async(&self, kind: Option<String>) -> Result<u64, Error> {
        let dead = self
            .list_async(ListQuery {
                state: Some(State::Dead),
                kind,
                limit: usize::MAX,
                ..ListQuery::default()
            })
            .await?;
        let mut count = 0;
        for summary in dead {
            match self.redrive_async(summary.id).await {
                Ok(()) => count += 1,
                // Changed meanwhile (being handled again, or deleted), or without a body: left.
                Err(Error::Running(_) | Error::NotFound(_) | Error::BodyDropped(_)) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(count)
    }

    async fn forget_async(&self, key: String) -> Result<bool, Error> {
        let mut shared = self.shared.clone();
        let mut forget = self.scripts.forget.prepare_invoke();
        forget.arg(&*self.prefix).arg(&key);
        let forgotten: i64 = bounded(forget.invoke_async(&mut shared)).await?;
        Ok(forgotten == 1)
    }

    async fn purge_async(&self, state: State, older_than: Duration) -> Result<u64, Error> {
        if !matches!(state, State::Completed | State::Dead) {
            return Ok(0);
        }
        let cutoff = now_ms() - millis(older_than);
        let mut total = 0;
        loop {
            let purged = self.prune_async(state, cutoff, PRUNE_BATCH).await?;
            total += purged;
            if purged < PRUNE_BATCH as u64 {
                return Ok(total);
            }
        }
    }

    /// Drops the bodies of at most `limit` deliveries completed at or before `cutoff`, from
    /// where the last call stopped: one script.
    async fn drop_bodies_async(&self, cutoff: i64, limit: usize) -> Result<u64, Error> {
        let mut shared = self.shared.clone();
        let mut drop = self.scripts.drop_bodies.prepare_invoke();
        drop.arg(&*self.prefix).arg(cutoff).arg(limit.max(1));
        Ok(bounded(drop.invoke_async(&mut shared)).await?)
    }

    /// Deletes at most `limit` deliveries in `state` finished at or before `cutoff`: one script.
    async fn prune_async(&self, state: State, cutoff: i64, limit: usize) -> Result<u64, Error> {
        if !matches!(state, State::Completed | State::Dead) {
            return Ok(0);
        }
        let mut shared = self.shared.clone();
        let mut purge = self.scripts.purge.prepare_invoke();
        purge
            .arg(&*self.prefix)
            .arg(state.as_str())
            .arg(cutoff)
            .arg(limit.max(1))
            .arg(crate::record::bots_cutoff(cutoff));
        Ok(bounded(purge.invoke_async(&mut shared)).await?)
    }
}

/// What the start of an attempt returns: id, token, body, key, kind, attempts, attempt base,
/// received time, runs.
type Started = (
    String,
    String,
    Vec<u8>,
    String,
    String,
    u32,
    u32,
    i64,
    u32,
    (String, String, String),
);

/// Says loudly that Redis lost data the inbox held: an error line and
/// `meetingbaas_webhooks_inbox_store_data_lost_total{what}`.
fn data_lost(what: &'static str, message: &str, id: Option<&str>) {
    match id {
        Some(id) => {
            tracing::error!(target: "meetingbaas_webhooks_inbox", id, lost = what, "{message}")
        }
        None => tracing::error!(target: "meetingbaas_webhooks_inbox", lost = what, "{message}"),
    }
    #[cfg(feature = "metrics")]
    crate::metrics::data_lost(what);
}

fn claimed(started: Started, ordered: bool) -> Claimed {
    let (id, token, body, key, kind, attempts, base, received_ms, run, bot) = started;
    let (bot_id, event_ms, handled) = bot;
    Claimed {
        bot_id: non_empty(bot_id),
        event_ms: event_ms.parse().ok(),
        ordered,
        bot_handled_ms: handled.parse().ok(),
        id,
        key,
        kind: non_empty(kind),
        body: Bytes::from(body),
        attempt: attempts.saturating_sub(base),
        attempt_total: attempts,
        run,
        received_ms,
        token,
    }
}

/// An attempt that succeeded, as `FINISH` keeps it in the delivery's hash: the field
/// `a<number>` holding `<run> <started_ms> <duration_ms>`.
fn inline_attempt(name: &str, value: &[u8]) -> Option<Attempt> {
    let number = name.strip_prefix('a')?.parse().ok()?;
    let value = std::str::from_utf8(value).ok()?;
    let mut parts = value.split(' ');
    let attempt = Attempt {
        number,
        run: parts.next()?.parse().ok()?,
        started_ms: parts.next()?.parse().ok()?,
        duration_ms: parts.next()?.parse().ok()?,
        error: None,
    };
    parts.next().is_none().then_some(attempt)
}

/// An attempt as the scripts write it (Lua numbers may come back as floats).
#[derive(serde::Deserialize)]
struct AttemptRecord {
    number: u32,
    started_ms: i64,
    #[serde(default)]
    duration_ms: i64,
    #[serde(default)]
    error: Option<String>,
    /// Absent from attempts recorded before schema 3: run 1.
    #[serde(default = "first_run")]
    run: u32,
}

fn first_run() -> u32 {
    1
}

fn non_empty(text: String) -> Option<String> {
    if text.is_empty() { None } else { Some(text) }
}

/// `$body` on a clone of the backend, boxed.
macro_rules! op {
    ($this:ident, $body:expr) => {{
        let $this = $this.clone();
        Box::pin(async move { $body.await })
    }};
}

impl IntakeStore for RedisBackend {
    fn enqueue(&self, delivery: NewDelivery) -> StoreFuture<Enqueued> {
        let this = self;
        op!(this, this.enqueue_async(delivery))
    }
}

impl WorkStore for RedisBackend {
    fn claim(&self, max: usize, lease: Duration) -> StoreFuture<Vec<Claimed>> {
        let this = self;
        op!(this, this.claim_async(max, lease))
    }

    fn claim_in_bot_order(
        &self,
        max: usize,
        lease: Duration,
        max_wait: Duration,
    ) -> StoreFuture<Vec<Claimed>> {
        let this = self;
        op!(this, order::claim(&this, max, lease, max_wait))
    }

    fn wait(&self, timeout: Duration) -> StoreFuture<()> {
        let this = self;
        op!(this, this.wait_async(timeout))
    }

    fn extend(&self, claims: Vec<(String, String)>, _lease: Duration) -> StoreFuture<()> {
        let this = self;
        op!(this, this.extend_async(claims))
    }

    fn finish(&self, claimed: Claimed, attempt: Attempt, verdict: Verdict) -> StoreFuture<bool> {
        let this = self;
        op!(this, this.finish_async(claimed, attempt, verdict))
    }

    fn prune(&self, state: State, older_than: Duration, limit: usize) -> StoreFuture<u64> {
        let cutoff = now_ms() - millis(older_than);
        let this = self;
        op!(this, this.prune_async(state, cutoff, limit))
    }

    fn drop_bodies(&self, older_than: Duration, limit: usize) -> StoreFuture<u64> {
        let cutoff = now_ms() - millis(older_than);
        let this = self;
        op!(this, this.drop_bodies_async(cutoff, limit))
    }
}

impl AdminStore for RedisBackend {
    fn stats(&self) -> StoreFuture<Stats> {
        let this = self;
        op!(this, this.stats_async())
    }

    fn list(&self, query: ListQuery) -> StoreFuture<Vec<Summary>> {
        let this = self;
        op!(this, this.list_async(query))
    }

    fn show(&self, id: String) -> StoreFuture<Option<StoredDelivery>> {
        let this = self;
        op!(this, this.show_async(id))
    }

    fn redrive(&self, id: String) -> StoreFuture<()> {
        let this = self;
        op!(this, this.redrive_async(id))
    }

    fn redrive_dead(&self, kind: Option<String>) -> StoreFuture<u64> {
        let this = self;
        op!(this, this.redrive_dead_async(kind))
    }

    fn forget(&self, key: String) -> StoreFuture<bool> {
        let this = self;
        op!(this, this.forget_async(key))
    }

    fn purge(&self, state: State, older_than: Duration) -> StoreFuture<u64> {
        let this = self;
        op!(this, this.purge_async(state, older_than))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_kept_in_the_hash_is_read_back_and_other_fields_are_not_attempts() {
        assert_eq!(
            inline_attempt("a3", b"2 1765000000000 17"),
            Some(Attempt {
                number: 3,
                run: 2,
                started_ms: 1_765_000_000_000,
                duration_ms: 17,
                error: None,
            })
        );
        for (name, value) in [
            ("attempts", &b"1"[..]),
            ("attempt_base", b"0"),
            ("a", b"1 2 3"),
            ("a1", b"1 2"),
            ("a1", b"1 2 3 4"),
            ("a1", b"1 x 3"),
            ("a1", b"\xff"),
            ("kind", b"1 2 3"),
        ] {
            assert_eq!(inline_attempt(name, value), None, "{name}");
        }
    }
}
