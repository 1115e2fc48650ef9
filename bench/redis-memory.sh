#!/usr/bin/env bash
# Redis RAM per retained delivery (BENCHMARKS.md, "Redis memory"). For each example binary, a
# fresh redis-server and the axum example with its Redis inbox; distinct 1 KiB deliveries from
# 32 connections for SECONDS, then wait until the worker has completed every one; Redis's
# `used_memory` after, less before the first delivery, per completed delivery, and as a ratio
# to the 1 024-byte body. This tree's example runs twice: bodies kept (the default), and
# `MEETINGBAAS_INBOX_KEEP_BODIES_HOURS=0` (dropped once completed).
# Usage: bench/redis-memory.sh   Env: SECONDS_OF_LOAD (10), BASELINE (an older example binary
#        to measure the same way, e.g. one built from 77bb60d)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LOAD=${SECONDS_OF_LOAD:-10}
export CARGO_TERM_COLOR=never
command -v wrk >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v redis-server >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

cargo build --profile bench -p meetingbaas-example-axum -p meetingbaas-webhooks-cli
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
EXAMPLE=$TARGET/release/meetingbaas-example-axum
CLI="$TARGET/release/meetingbaas-webhooks"

WORK=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port); REDIS_PORT=$(free_port)
SERVER_PID= REDIS_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export CALLBACK_SECRET=bench-callback-secret   # what bench/post-unique.lua signs with
URL="redis://127.0.0.1:$REDIS_PORT"

used() { redis-cli -p "$REDIS_PORT" info memory | awk -F: '/^used_memory:/ {print $2+0}'; }
stats() { # completed+dead and pending (queued+running+retrying)
  "$CLI" inbox --store "$URL" stats --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["completed"]+v["dead"], v["queued"]+v["running"]+v["retrying"])'
}

measure() { # $1: label, $2: example binary, $3: keep-bodies hours ("" for unset)
  [ -n "$REDIS_PID" ] && { kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true; }
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" \
    >/dev/null 2>&1 &
  REDIS_PID=$!
  until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.05; done
  env -i PATH="$PATH" PORT="$PORT" RUST_LOG=error MEETINGBAAS_CALLBACK_SECRET="$CALLBACK_SECRET" \
    MEETINGBAAS_INBOX="$URL" ${3:+MEETINGBAAS_INBOX_KEEP_BODIES_HOURS=$3} "$2" >/dev/null 2>&1 &
  SERVER_PID=$!
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/ready")" = 200 ]; do
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "the example did not start" >&2; exit 1; }
    sleep 0.05
  done
  before=$(used)
  out=$(RUN_ID="mem-$RANDOM" wrk -t2 -c32 -d"${LOAD}s" -s bench/post-unique.lua \
    "http://127.0.0.1:$PORT/webhooks/meetingbaas")
  bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  [ -z "$bad" ] || { echo "$1: $bad non-2xx answers: not a valid run" >&2; exit 1; }
  left=1
  while [ "$left" -gt 0 ]; do sleep 0.5; read -r _ left < <(stats); done
  # A pass of keep_bodies after the last completion (every 100 ms with 0 hours, over deliveries
  # completed at least 5 s ago).
  sleep 7
  read -r done _ < <(stats)
  after=$(used)
  python3 -c "d=$done; per=($after-$before)/d; print(f'$1\t{d}\t{per:.0f}\t{per/1024:.2f}x')"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
}

echo "redis: $(redis-server --version | cut -d' ' -f3)"
printf 'example\tdeliveries\tbytes_per_delivery\tto_body\n'
[ -n "${BASELINE:-}" ] && measure "baseline ($(basename "$BASELINE"))" "$BASELINE" ""
measure "this tree, bodies kept" "$EXAMPLE" ""
measure "this tree, keep_bodies 0" "$EXAMPLE" "0"
