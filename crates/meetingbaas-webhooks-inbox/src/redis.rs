//! The store for replicas: Redis Streams with a consumer group.
//!
//! Keys (under a prefix, default `meetingbaas-webhooks:inbox:`):
//!
//! | key | what |
//! |---|---|
//! | `stream` | the work stream (field `id`), read by the consumer group `workers` |
//! | `dead` | the dead-letter stream: `id`, `reason`, `attempts`, `key`, `kind` |
//! | `d:<id>` | a delivery: body, key, kind, state, attempts, lease token... |
//! | `a:<id>` | its attempts (JSON, oldest first) |
//! | `key:<idempotency key>` | the id stored under a key (a copy is not stored twice) |
//! | `s:<state>` | ids per state (score: stored time; completed and dead: finished time) |
//! | `delayed` | retrying ids by the time of their next attempt |
//! | `seq` | the last id |
//!
//! Every state change is one Lua script, so it is atomic: an enqueue is one round trip (dedupe
//! and `XADD` in one script), and so is a claim (due retries promoted, `XAUTOCLAIM`,
//! `XREADGROUP COUNT n`, every attempt started). Blocking reads (`XREADGROUP BLOCK`) run on a
//! connection of their own; everything else shares the multiplexed connection made in
//! [`meetingbaas_webhooks_receiver::redis_connection`] (the same one deduplication uses), and enqueues
//! are spread over it and three more like it (see [`RedisBackend`]). A worker that
//! dies leaves its entries pending in the group: `XAUTOCLAIM` with the lease as minimum idle
//! time takes them over (a live worker renews its entries with `XCLAIM` every third of the
//! lease). Single Redis (or Sentinel) only: the scripts touch keys they compute, which a
//! Cluster would refuse.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use meetingbaas_webhooks_receiver::Enqueued;
use meetingbaas_webhooks_receiver::redis_connection::{RedisConnection, bounded, store_error};
use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::streams::StreamReadReply;
use redis::{Script, Value};
use tokio::sync::Mutex;

use crate::backend::{Backend, BackendFuture, NewDelivery};
use crate::error::Error;
use crate::record::{
    Attempt, Claimed, ListQuery, State, Stats, StoredDelivery, Summary, Verdict, millis, now_ms,
};

const GROUP: &str = "workers";

/// Connections that enqueues are spread over. Redis reads about 16 KiB per connection per turn
/// of its event loop and (with `appendfsync always`) fsyncs once per turn: on one connection,
/// only about a dozen 1 KiB deliveries would share each fsync.
const INTAKE_CONNECTIONS: usize = 4;

/// The most deliveries one purge script deletes.
const PRUNE_BATCH: usize = 500;

const ENQUEUE: &str = r"
local p = ARGV[1]
if redis.call('EXISTS', p .. 'key:' .. ARGV[2]) == 1 then return false end
local id = redis.call('INCR', p .. 'seq')
redis.call('SET', p .. 'key:' .. ARGV[2], id)
redis.call('HSET', p .. 'd:' .. id, 'key', ARGV[2], 'kind', ARGV[3], 'event', ARGV[4],
  'scheme', ARGV[5], 'message_id', ARGV[6], 'body', ARGV[7], 'received_ms', ARGV[8],
  'state', 'queued', 'attempts', 0, 'attempt_base', 0, 'next_ms', ARGV[8], 'forgotten', 0)
redis.call('ZADD', p .. 's:queued', ARGV[8], id)
redis.call('XADD', p .. 'stream', '*', 'id', id)
return id";

/// Starts an attempt on each of `entries` (`{stream entry, delivery id}`) under the lease token
/// `token .. '|' .. entry`; skips (acknowledging and deleting its entry) a delivery that is gone
/// or finished. A delivery found running had an attempt whose lease ran out: recorded as such.
/// Returns `{id, token, body, key, kind, attempts, attempt_base, received_ms}` per delivery.
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
      if state == 'running' then
        local started = tonumber(redis.call('HGET', d, 'lease_started_ms') or now)
        redis.call('RPUSH', p .. 'a:' .. id, cjson.encode({number = tonumber(redis.call('HGET', d, 'attempts')),
          started_ms = started, duration_ms = tonumber(now) - started,
          error = 'lease expired: the worker stopped or hung'}))
      end
      redis.call('ZREM', p .. 's:' .. state, id)
      redis.call('ZADD', p .. 's:running', received, id)
      local attempts = redis.call('HINCRBY', d, 'attempts', 1)
      local t = token .. '|' .. entry
      redis.call('HSET', d, 'state', 'running', 'token', t, 'lease_started_ms', now, 'next_ms', '')
      local f = redis.call('HMGET', d, 'body', 'key', 'kind', 'attempt_base')
      out[#out + 1] = {id, t, f[1], f[2] or '', f[3] or '', attempts, tonumber(f[4]) or 0, received}
    end
  end
  return out
end
";

/// One round trip for a claim: moves retries whose time has come back to the work stream, takes
/// over entries idle longer than the lease (`XAUTOCLAIM`: their worker died), reads new entries
/// (`XREADGROUP COUNT`, not blocking), and starts an attempt on each.
/// ARGV: prefix, now, consumer, lease ms, max, token.
const CLAIM: &str = r"
local p = ARGV[1]
local now = ARGV[2]
local stream = p .. 'stream'
local max = tonumber(ARGV[5])
local due = redis.call('ZRANGEBYSCORE', p .. 'delayed', '-inf', now, 'LIMIT', 0, 200)
for _, id in ipairs(due) do
  redis.call('ZREM', p .. 'delayed', id)
  redis.call('XADD', stream, '*', 'id', id)
end
local entries = {}
local function take(list)
  for _, e in ipairs(list or {}) do
    local id = nil
    if e and e[2] then
      for i = 1, #e[2], 2 do
        if e[2][i] == 'id' then id = e[2][i + 1] end
      end
    end
    if id then
      entries[#entries + 1] = {e[1], id}
    elseif e then
      redis.call('XACK', stream, 'workers', e[1])
    end
  end
end
local reclaimed = redis.call('XAUTOCLAIM', stream, 'workers', ARGV[3], ARGV[4], '0-0', 'COUNT', max)
take(reclaimed[2])
if #entries < max then
  local read = redis.call('XREADGROUP', 'GROUP', 'workers', ARGV[3], 'COUNT', max - #entries,
    'STREAMS', stream, '>')
  if read then take(read[1][2]) end
end
return start_all(p, entries, ARGV[6], now)";

/// Starts attempts on entries read by a blocking `XREADGROUP`.
/// ARGV: prefix, now, token, then entry and delivery id pairs.
const START: &str = r"
local entries = {}
for i = 4, #ARGV, 2 do
  entries[#entries + 1] = {ARGV[i], ARGV[i + 1]}
end
return start_all(ARGV[1], entries, ARGV[3], ARGV[2])";

/// Records an attempt's end if the caller's token still holds the delivery.
const FINISH: &str = r"
local p = ARGV[1]
local id = ARGV[2]
local d = p .. 'd:' .. id
if redis.call('HGET', d, 'state') ~= 'running' or redis.call('HGET', d, 'token') ~= ARGV[3] then
  return 0
end
local verdict = ARGV[5]
local now = ARGV[6]
redis.call('ZREM', p .. 's:running', id)
redis.call('RPUSH', p .. 'a:' .. id, ARGV[8])
redis.call('HSET', d, 'token', '')
if verdict == 'completed' then
  redis.call('HSET', d, 'state', 'completed', 'finished_ms', now)
  redis.call('ZADD', p .. 's:completed', now, id)
elseif verdict == 'retrying' then
  redis.call('HSET', d, 'state', 'retrying', 'next_ms', ARGV[7])
  redis.call('ZADD', p .. 's:retrying', redis.call('HGET', d, 'received_ms'), id)
  redis.call('ZADD', p .. 'delayed', ARGV[7], id)
else
  redis.call('HSET', d, 'state', 'dead', 'finished_ms', now, 'dead_reason', ARGV[7])
  redis.call('ZADD', p .. 's:dead', now, id)
  redis.call('XADD', p .. 'dead', 'MAXLEN', '~', 100000, '*', 'id', id, 'reason', ARGV[7],
    'attempts', redis.call('HGET', d, 'attempts'), 'key', redis.call('HGET', d, 'key'),
    'kind', redis.call('HGET', d, 'kind'))
end
redis.call('XACK', p .. 'stream', 'workers', ARGV[4])
redis.call('XDEL', p .. 'stream', ARGV[4])
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
redis.call('ZREM', p .. 's:' .. state, id)
redis.call('ZREM', p .. 'delayed', id)
redis.call('HSET', d, 'state', 'queued', 'attempt_base', redis.call('HGET', d, 'attempts'),
  'finished_ms', '', 'dead_reason', '', 'next_ms', ARGV[3])
redis.call('ZADD', p .. 's:queued', redis.call('HGET', d, 'received_ms'), id)
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
  local key = redis.call('HGET', d, 'key')
  if key and redis.call('GET', p .. 'key:' .. key) == id then
    redis.call('DEL', p .. 'key:' .. key)
  end
  redis.call('DEL', d, p .. 'a:' .. id)
  redis.call('ZREM', p .. 's:' .. ARGV[2], id)
end
return #ids";

struct Scripts {
    enqueue: Script,
    claim: Script,
    start: Script,
    finish: Script,
    extend: Script,
    redrive: Script,
    forget: Script,
    purge: Script,
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
    blocking: Arc<Mutex<Option<MultiplexedConnection>>>,
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

    /// Connects to `url` (`redis://` or `rediss://`) and creates the consumer group if needed.
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
            prefix: prefix.into(),
            consumer: format!("consumer-{}", crate::token()).into(),
            scripts: Arc::new(Scripts {
                enqueue: Script::new(ENQUEUE),
                claim: Script::new(&format!("{START_FN}{CLAIM}")),
                start: Script::new(&format!("{START_FN}{START}")),
                finish: Script::new(FINISH),
                extend: Script::new(EXTEND),
                redrive: Script::new(REDRIVE),
                forget: Script::new(FORGET),
                purge: Script::new(PURGE),
            }),
        };
        backend.create_group().await?;
        Ok(backend)
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
        let mut shared = self.intake[turn % self.intake.len()].clone();
        let mut invocation = self.scripts.enqueue.prepare_invoke();
        invocation
            .arg(&*self.prefix)
            .arg(&delivery.key)
            .arg(delivery.kind.as_deref().unwrap_or(""))
            .arg(delivery.event.as_deref().unwrap_or(""))
            .arg(&delivery.scheme)
            .arg(delivery.message_id.as_deref().unwrap_or(""))
            .arg(&delivery.body[..])
            .arg(now_ms());
        let id: Option<i64> = bounded(invocation.invoke_async(&mut shared)).await?;
        Ok(match id {
            Some(id) => Enqueued::Stored { id: id.to_string() },
            None => Enqueued::Duplicate,
        })
    }

    async fn claim_async(
        &self,
        max: usize,
        lease: Duration,
        wait: Duration,
    ) -> Result<Vec<Claimed>, Error> {
        let mut shared = self.shared.clone();
        let token = crate::token();
        let mut claim = self.scripts.claim.prepare_invoke();
        claim
            .arg(&*self.prefix)
            .arg(now_ms())
            .arg(&*self.consumer)
            .arg(millis(lease))
            .arg(max.max(1))
            .arg(&token);
        let answer = tokio::time::timeout(
            meetingbaas_webhooks_receiver::redis_connection::OPERATION_TIMEOUT,
            claim.invoke_async::<Vec<Started>>(&mut shared),
        )
        .await
        .map_err(|_| Error::store("Redis did not answer in time"))?;
        let started = match answer {
            Ok(started) => started,
            // Redis lost the group (restarted without persistence): make it again.
            Err(err)
                if err.code() == Some("NOGROUP")
                    || err
                        .detail()
                        .is_some_and(|detail| detail.contains("NOGROUP")) =>
            {
                self.create_group().await?;
                return Ok(Vec::new());
            }
            Err(err) => return Err(store_error(&err).into()),
        };
        if !started.is_empty() || wait.is_zero() {
            return Ok(started.into_iter().map(claimed).collect());
        }

        // Nothing ready: a blocking read, on a connection of its own.
        let stream = self.key("stream");
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut guard = self.blocking.lock().await;
        if guard.is_none() {
            *guard = Some(self.connection.dedicated().await?);
        }
        let Some(blocking) = guard.as_mut() else {
            return Err(Error::store("no blocking connection"));
        };
        let read = tokio::time::timeout(
            wait + Duration::from_secs(2),
            redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg(GROUP)
                .arg(&*self.consumer)
                .arg("COUNT")
                .arg(max.max(1))
                .arg("BLOCK")
                .arg(wait_ms)
                .arg("STREAMS")
                .arg(&stream)
                .arg(">")
                .query_async::<Option<StreamReadReply>>(blocking),
        )
        .await;
        let read = match read {
            Ok(Ok(read)) => read,
            Ok(Err(err)) => {
                *guard = None;
                if err.code() == Some("NOGROUP") {
                    drop(guard);
                    self.create_group().await?;
                    return Ok(Vec::new());
                }
                return Err(store_error(&err).into());
            }
            Err(_) => {
                *guard = None;
                return Err(Error::store("Redis did not answer a blocking read in time"));
            }
        };
        drop(guard);
        let mut start = self.scripts.start.prepare_invoke();
        start.arg(&*self.prefix).arg(now_ms()).arg(&token);
        let mut any = false;
        for key in read.map(|reply| reply.keys).unwrap_or_default() {
            for entry in key.ids {
                // An entry without a delivery id (not ours): the script acknowledges it.
                let id = entry.get::<String>("id").unwrap_or_default();
                start.arg(&entry.id).arg(id);
                any = true;
            }
        }
        if !any {
            return Ok(Vec::new());
        }
        let started: Vec<Started> = bounded(start.invoke_async(&mut shared)).await?;
        Ok(started.into_iter().map(claimed).collect())
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
            Verdict::Retry { at_ms } => ("retrying", at_ms.to_string()),
            Verdict::Dead { reason } => ("dead", reason.clone()),
        };
        let record = serde_json::to_string(&attempt).map_err(Error::store)?;
        let mut finish = self.scripts.finish.prepare_invoke();
        finish
            .arg(&*self.prefix)
            .arg(&claimed.id)
            .arg(&claimed.token)
            .arg(&entry)
            .arg(name)
            .arg(now_ms())
            .arg(detail)
            .arg(record);
        let done: i64 = bounded(finish.invoke_async(&mut shared)).await?;
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

    async fn summary(&self, id: &str) -> Result<Option<(Summary, Bytes)>, Error> {
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
            key: text("key"),
            forgotten: text("forgotten") == "1",
            kind: non_empty(text("kind")),
            event: non_empty(text("event")),
            scheme: text("scheme"),
            message_id: non_empty(text("message_id")),
            received_ms: number("received_ms").unwrap_or(0),
            state: State::from_name(&text("state")).unwrap_or(State::Dead),
            attempts: u32::try_from(number("attempts").unwrap_or(0)).unwrap_or(0),
            next_ms: number("next_ms"),
            finished_ms: number("finished_ms"),
            dead_reason: non_empty(text("dead_reason")),
        };
        let body = Bytes::from(fields.get("body").cloned().unwrap_or_default());
        Ok(Some((summary, body)))
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
        stats.oldest_pending_age_secs =
            oldest.map(|received| u64::try_from((now_ms() - received).max(0) / 1000).unwrap_or(0));
        Ok(stats)
    }

    async fn list_async(&self, query: ListQuery) -> Result<Vec<Summary>, Error> {
        let mut shared = self.shared.clone();
        let mut found = Vec::new();
        let candidates: Vec<String> = match query.state {
            Some(state) => {
                bounded(
                    redis::cmd("ZREVRANGE")
                        .arg(self.key(&format!("s:{}", state.as_str())))
                        .arg(0)
                        .arg(10_000)
                        .query_async(&mut shared),
                )
                .await?
            }
            None => {
                let last: Option<i64> = bounded(
                    redis::cmd("GET")
                        .arg(self.key("seq"))
                        .query_async(&mut shared),
                )
                .await?;
                let last = last.unwrap_or(0);
                (last.saturating_sub(10_000).max(1)..=last)
                    .rev()
                    .map(|id| id.to_string())
                    .collect()
            }
        };
        for id in candidates {
            if found.len() >= query.limit {
                break;
            }
            if let Some((summary, _)) = self.summary(&id).await?
                && (query.kind.is_none() || summary.kind == query.kind)
            {
                found.push(summary);
            }
        }
        if query.state.is_some() {
            found.sort_by(|a, b| {
                b.id.parse::<i64>()
                    .unwrap_or(0)
                    .cmp(&a.id.parse::<i64>().unwrap_or(0))
            });
        }
        Ok(found)
    }

    async fn show_async(&self, id: String) -> Result<Option<StoredDelivery>, Error> {
        let Some((summary, body)) = self.summary(&id).await? else {
            return Ok(None);
        };
        let mut shared = self.shared.clone();
        let records: Vec<String> = bounded(
            redis::cmd("LRANGE")
                .arg(self.key(&format!("a:{id}")))
                .arg(0)
                .arg(-1)
                .query_async(&mut shared),
        )
        .await?;
        let attempts = records
            .iter()
            .filter_map(|record| serde_json::from_str::<AttemptRecord>(record).ok())
            .map(|record| Attempt {
                number: record.number,
                started_ms: record.started_ms,
                duration_ms: record.duration_ms.max(0) as u64,
                error: record.error,
            })
            .collect();
        Ok(Some(StoredDelivery {
            summary,
            body,
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
            _ => Err(Error::NotFound(id)),
        }
    }

    async fn redrive_dead_async(&self, kind: Option<String>) -> Result<u64, Error> {
        let dead = self
            .list_async(ListQuery {
                state: Some(State::Dead),
                kind,
                limit: usize::MAX,
            })
            .await?;
        let mut count = 0;
        for summary in dead {
            self.redrive_async(summary.id).await?;
            count += 1;
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
            .arg(limit.max(1));
        Ok(bounded(purge.invoke_async(&mut shared)).await?)
    }
}

/// What the start of an attempt returns: id, token, body, key, kind, attempts, attempt base,
/// received time.
type Started = (String, String, Vec<u8>, String, String, u32, u32, i64);

fn claimed((id, token, body, key, kind, attempts, base, received_ms): Started) -> Claimed {
    Claimed {
        id,
        key,
        kind: non_empty(kind),
        body: Bytes::from(body),
        attempt: attempts.saturating_sub(base),
        attempt_total: attempts,
        received_ms,
        token,
    }
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
}

fn non_empty(text: String) -> Option<String> {
    if text.is_empty() { None } else { Some(text) }
}

impl Backend for RedisBackend {
    fn enqueue(&self, delivery: NewDelivery) -> BackendFuture<Enqueued> {
        let this = self.clone();
        Box::pin(async move { this.enqueue_async(delivery).await })
    }

    fn claim(&self, max: usize, lease: Duration, wait: Duration) -> BackendFuture<Vec<Claimed>> {
        let this = self.clone();
        Box::pin(async move { this.claim_async(max, lease, wait).await })
    }

    fn extend(&self, claims: Vec<(String, String)>, _lease: Duration) -> BackendFuture<()> {
        let this = self.clone();
        Box::pin(async move { this.extend_async(claims).await })
    }

    fn finish(&self, claimed: Claimed, attempt: Attempt, verdict: Verdict) -> BackendFuture<bool> {
        let this = self.clone();
        Box::pin(async move { this.finish_async(claimed, attempt, verdict).await })
    }

    fn stats(&self) -> BackendFuture<Stats> {
        let this = self.clone();
        Box::pin(async move { this.stats_async().await })
    }

    fn list(&self, query: ListQuery) -> BackendFuture<Vec<Summary>> {
        let this = self.clone();
        Box::pin(async move { this.list_async(query).await })
    }

    fn show(&self, id: String) -> BackendFuture<Option<StoredDelivery>> {
        let this = self.clone();
        Box::pin(async move { this.show_async(id).await })
    }

    fn redrive(&self, id: String) -> BackendFuture<()> {
        let this = self.clone();
        Box::pin(async move { this.redrive_async(id).await })
    }

    fn redrive_dead(&self, kind: Option<String>) -> BackendFuture<u64> {
        let this = self.clone();
        Box::pin(async move { this.redrive_dead_async(kind).await })
    }

    fn forget(&self, key: String) -> BackendFuture<bool> {
        let this = self.clone();
        Box::pin(async move { this.forget_async(key).await })
    }

    fn purge(&self, state: State, older_than: Duration) -> BackendFuture<u64> {
        let this = self.clone();
        Box::pin(async move { this.purge_async(state, older_than).await })
    }

    fn prune(&self, state: State, older_than: Duration, limit: usize) -> BackendFuture<u64> {
        let this = self.clone();
        let cutoff = now_ms() - millis(older_than);
        Box::pin(async move { this.prune_async(state, cutoff, limit).await })
    }
}
