#!/usr/bin/env bash
# redis-bound.sh: what redis-server itself can do for the Redis inbox's intake, without our code:
# the inbox's enqueue script (EVAL, 1 KiB body, a distinct key each time) against a plain XADD of
# 1 KiB, with `appendfsync always` (every acknowledged delivery fsynced, as bench/inbox.sh runs
# Redis) and `everysec`, at 32 and 128 connections. Env: REQUESTS (default 50000).
# Needs redis-server and redis-benchmark (Debian: redis-server, redis-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-50000}
command -v redis-benchmark >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null; }
DIR=$(mktemp -d)
trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$DIR" --appendonly yes --appendfsync always \
  --save '' --daemonize yes --logfile "$DIR/redis.log" >/dev/null
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
# The enqueue script as the inbox runs it (crates/meetingbaas-webhooks-inbox/src/redis.rs, ENQUEUE).
SCRIPT=$(sed -n '/^const ENQUEUE: &str = r"$/,/^return id";$/p' crates/meetingbaas-webhooks-inbox/src/redis.rs \
  | sed '1d;$d'; echo 'return id')
BODY=$(head -c 1024 /dev/zero | tr '\0' 'x')
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg); $REQUESTS requests per run, 1 KiB bodies"
for fsync in always everysec; do
  redis-cli -p "$PORT" config set appendfsync "$fsync" >/dev/null
  for conns in 32 128; do
    redis-cli -p "$PORT" flushall >/dev/null
    script=$(redis-benchmark -p "$PORT" -c "$conns" -n "$REQUESTS" -r 1000000000 -q \
      EVAL "$SCRIPT" 0 'bench:' key:__rand_int__ bot_completed complete callback '' "$BODY" 1700000000000 \
      | awk '{for (i=1;i<=NF;i++) if ($i ~ /requests/) print $(i-1)}' | tail -1)
    redis-cli -p "$PORT" flushall >/dev/null
    xadd=$(redis-benchmark -p "$PORT" -c "$conns" -n "$REQUESTS" -q XADD bench:stream '*' body "$BODY" \
      | awk '{for (i=1;i<=NF;i++) if ($i ~ /requests/) print $(i-1)}' | tail -1)
    echo "appendfsync $fsync, $conns connections: enqueue script $script/s, XADD $xadd/s"
  done
done
