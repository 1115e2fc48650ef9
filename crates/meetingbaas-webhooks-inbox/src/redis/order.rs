//! Per-bot order ([`WorkerBuilder::order_by_bot`](crate::WorkerBuilder::order_by_bot)) on Redis
//! Streams.
//!
//! A stream hands entries out in arrival order, to whichever consumer reads next: it knows
//! nothing of bots. Order is kept beside it, in keys of its own, and every decision is taken
//! inside the claim and finish scripts, so it is atomic across replicas:
//!
//! | key | what |
//! |---|---|
//! | `p:<bot>` | the bot's pending (queued or retrying) deliveries, scored by order time: kept by every enqueue, start, retry and redrive, ordering on or off |
//! | `run:<bot>` | the delivery of the bot that runs (the bot's lock): set by a claim in bot order, deleted by its finish; a lock whose delivery no longer runs is dropped when seen |
//! | `w:<bot>` | the bot's parked deliveries (taken off the stream while they wait), by order time |
//! | `parked` | every parked delivery, by when it became pending (for `max_wait`) |
//! | `handled` | per bot, the newest event time handled (for the stale check) |
//! | `handled_at` | per bot, when that was last raised (pruned with retention) |
//! | `stale` | the deliveries completed as stale, by finished time (`Stats::stale`) |
//!
//! A claim in bot order takes over expired entries and reads new ones as the plain claim does,
//! then for each delivery of a bot:
//! - running (its lease ran out, `XAUTOCLAIM`): it keeps its bot's lock and runs again first;
//! - its bot's lock held by another that runs: **parked** (its entry acknowledged and deleted,
//!   the delivery put in `w:<bot>` and `parked`);
//! - not first of `p:<bot>` by `(order time, id)`: parked, unless it became pending `max_wait`
//!   ago (or was sent back as overdue); of those, after every read, the first of each bot in
//!   event order goes on with a warn line, if its bot is still free;
//! - else it takes its bot's lock and starts;
//! - a new entry of a delivery that runs (a redrive while it was queued adds one) is dropped.
//!
//! While fewer than `max` are chosen it reads further (eight reads, then on while none is
//! chosen, up to 1 024 entries per claim), so that parked entries do not stop a claim short. Before reading, parked deliveries that waited
//! `max_wait` and whose bot has nothing running go back on the stream, marked to go on.
//!
//! A finish in bot order deletes the bot's lock, raises `handled` on a completion, and puts the
//! bot's first parked delivery back on the stream: an idle worker of every replica, blocked on
//! the stream, wakes for it. The claim's next due time counts the retries' times and when the
//! next parked delivery's `max_wait` runs out; a delivery waiting behind a running one is woken
//! by that one's finish.
//!
//! Cost: with ordering off, a `ZADD` at enqueue and a `ZREM` at start (`p:<bot>`); with it on,
//! a few commands per delivery in the claim and the finish, and a parked delivery is written to
//! the stream again when it may go (BENCHMARKS.md, "Per-bot order"). Every key is bounded: the
//! per-bot keys empty themselves as their bot's deliveries run, `handled` is pruned with
//! retention.

use std::time::Duration;

use super::RedisBackend;
use crate::error::Error;
use crate::record::Claimed;

/// Lua for the claim in bot order and for the finish and redrive scripts.
pub(super) const BOT_FNS: &str = r"
local function order_of(d)
  return redis.call('HGET', d, 'order_ms') or redis.call('HGET', d, 'received_ms')
end
local function runner_of(p, bot)
  local rid = redis.call('GET', p .. 'run:' .. bot)
  if rid and redis.call('HGET', p .. 'd:' .. rid, 'state') ~= 'running' then
    redis.call('DEL', p .. 'run:' .. bot)
    return nil
  end
  return rid
end
-- The bot's first pending delivery by (order time, id); members no longer pending (left by
-- older code) are taken out on the way.
local function first_pending(p, bot)
  local set = p .. 'p:' .. bot
  for _ = 1, 32 do
    local head = redis.call('ZRANGE', set, 0, 0, 'WITHSCORES')
    if not head[1] then return nil end
    local best = nil
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', set, head[2], head[2], 'LIMIT', 0, 64)) do
      local state = redis.call('HGET', p .. 'd:' .. id, 'state')
      if state == 'queued' or state == 'retrying' then
        if not best or tonumber(id) < tonumber(best) then best = id end
      else
        redis.call('ZREM', set, id)
      end
    end
    if best then return best end
  end
  return nil
end
local function finished_in_order(p, id, d, bot, handled, now)
  if redis.call('GET', p .. 'run:' .. bot) == id then redis.call('DEL', p .. 'run:' .. bot) end
  if handled then
    local event = redis.call('HGET', d, 'event_ms')
    if event then
      local before = redis.call('HGET', p .. 'handled', bot)
      if not before or tonumber(event) > tonumber(before) then
        redis.call('HSET', p .. 'handled', bot, event)
      end
      redis.call('ZADD', p .. 'handled_at', now, bot)
    end
  end
  local next = redis.call('ZRANGE', p .. 'w:' .. bot, 0, 0)
  if next[1] then
    redis.call('ZREM', p .. 'w:' .. bot, next[1])
    redis.call('ZREM', p .. 'parked', next[1])
    redis.call('XADD', p .. 'stream', '*', 'id', next[1])
  end
end
";

/// The claim in bot order (see the module docs). ARGV as the plain claim's, then `max_wait` ms.
pub(super) const CLAIM: &str = r"
local p = ARGV[1]
local now = ARGV[2]
local now_n = tonumber(now)
local stream = p .. 'stream'
local max = tonumber(ARGV[5])
local max_wait = tonumber(ARGV[7])
promote_due(p, now)
-- Bots with a parked delivery that waited its longest and nothing running: the bot's first
-- parked delivery in event order goes back on the stream, marked to go on (it is no later in
-- the bot's order than the one that waited).
local offered = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'parked', '-inf', now_n - max_wait, 'LIMIT', 0, 1000)) do
  local f = redis.call('HMGET', p .. 'd:' .. id, 'state', 'bot_id')
  local bot = f[2]
  if (f[1] ~= 'queued' and f[1] ~= 'retrying') or not bot or bot == '' then
    redis.call('ZREM', p .. 'parked', id)
    if bot and bot ~= '' then redis.call('ZREM', p .. 'w:' .. bot, id) end
  elseif not offered[bot] and not runner_of(p, bot) then
    offered[bot] = true
    local first = redis.call('ZRANGE', p .. 'w:' .. bot, 0, 0)[1] or id
    redis.call('ZREM', p .. 'parked', first)
    redis.call('ZREM', p .. 'w:' .. bot, first)
    redis.call('HSET', p .. 'd:' .. first, 'go', 1)
    redis.call('XADD', stream, '*', 'id', first)
  end
end
local chosen, overdue, taken, behind = {}, {}, {}, {}
local function park(entry, id, bot, d, since)
  redis.call('XACK', stream, 'workers', entry)
  redis.call('XDEL', stream, entry)
  redis.call('HDEL', d, 'go')
  redis.call('ZADD', p .. 'w:' .. bot, order_of(d), id)
  redis.call('ZADD', p .. 'parked', since, id)
end
local function start(e, bot)
  redis.call('SET', p .. 'run:' .. bot, e[2])
  taken[bot] = true
  chosen[#chosen + 1] = e
end
-- A delivery read (`fresh`: a new entry, else one taken over from a worker that died): started
-- now when it is next of its bot; kept in `behind` when it waited its longest behind an
-- earlier one (decided after every read, first in event order per bot); else parked.
local function decide(e, fresh)
  local entry, id = e[1], e[2]
  local d = p .. 'd:' .. id
  local f = redis.call('HMGET', d, 'state', 'bot_id', 'go', 'pending_since_ms', 'received_ms')
  local state, bot = f[1], f[2]
  if state == 'running' and fresh then
    -- A second entry of a delivery that runs (a redrive while it was queued): dropped.
    redis.call('XACK', stream, 'workers', entry)
    redis.call('XDEL', stream, entry)
    return
  end
  if not bot or bot == '' or (state ~= 'queued' and state ~= 'retrying' and state ~= 'running') then
    -- Not ordered, or finished (`start_all` drops its entry).
    chosen[#chosen + 1] = e
    return
  end
  if state == 'running' then
    -- Its lease ran out: it keeps its bot and runs again first.
    start(e, bot)
    return
  end
  local since = tonumber(f[4] or f[5]) or now_n
  -- A bot taken by this claim already: its delivery starts below, after every decision.
  local runner = taken[bot] or runner_of(p, bot)
  if runner and runner ~= id then
    park(entry, id, bot, d, since)
    return
  end
  local first = first_pending(p, bot)
  if not first or first == id then
    start(e, bot)
  elseif f[3] or since <= now_n - max_wait then
    behind[#behind + 1] = {e, bot, tonumber(order_of(d)) or 0, tonumber(id), since}
  else
    park(entry, id, bot, d, since)
  end
end
local entries = {}
local reclaimed = redis.call('XAUTOCLAIM', stream, 'workers', ARGV[3], ARGV[4], '0-0', 'COUNT', max)
take(stream, reclaimed[2], entries)
for _, e in ipairs(entries) do decide(e, false) end
-- Reads on while fewer than `max` are chosen: eight reads, then on only while none is chosen
-- yet, up to 1 024 entries in all (parked entries must not end a claim empty-handed while
-- deliveries that may go lie further in the stream).
local drained, read_total = false, 0
for round = 1, 1024 do
  local have = #chosen + #behind
  if have >= max or (round > 8 and have > 0) or read_total >= 1024 then break end
  local want = math.min(max - have, 1024 - read_total)
  local read = redis.call('XREADGROUP', 'GROUP', 'workers', ARGV[3], 'COUNT', want, 'STREAMS', stream, '>')
  local fresh = {}
  local got = 0
  if read then got = take(stream, read[1][2], fresh) end
  read_total = read_total + got
  for _, e in ipairs(fresh) do decide(e, true) end
  if got < want then
    drained = true
    break
  end
end
-- Those that waited their longest: per bot, the first in event order goes on (with a warn
-- line), unless its bot is taken; the others are parked.
table.sort(behind, function(a, b)
  if a[3] ~= b[3] then return a[3] < b[3] end
  return a[4] < b[4]
end)
for _, b in ipairs(behind) do
  local e, bot, since = b[1], b[2], b[5]
  if taken[bot] or runner_of(p, bot) then
    park(e[1], e[2], bot, p .. 'd:' .. e[2], since)
  else
    overdue[#overdue + 1] = {e[2], bot, now_n - since}
    start(e, bot)
  end
end
local next_due = redis.call('ZRANGE', p .. 'delayed', 0, 0, 'WITHSCORES')[2]
local waiting = redis.call('ZRANGEBYSCORE', p .. 'parked', '(' .. (now_n - max_wait), '+inf', 'LIMIT', 0, 1, 'WITHSCORES')[2]
if waiting then
  local at = tonumber(waiting) + max_wait
  if not next_due or at < tonumber(next_due) then next_due = at end
end
if not drained and #chosen < max then next_due = now end
return {last_entry(stream), next_due and tostring(next_due) or '', start_all(p, chosen, ARGV[6], now), overdue}";

/// Claims up to `max` due deliveries in bot order: one script (see the module docs).
pub(super) async fn claim(
    store: &RedisBackend,
    max: usize,
    lease: Duration,
    max_wait: Duration,
) -> Result<Vec<Claimed>, Error> {
    store
        .claim_with(&store.scripts.claim_in_order, max, lease, Some(max_wait))
        .await
}
