#!/usr/bin/env bash
# Does the worker keep up with intake? (BENCHMARKS.md, "The inbox at ten million deliveries")
# The axum example on a fresh store (its worker running, its instant handler for status
# changes), distinct 1 KiB deliveries from 32 connections:
#  1. burst: as fast as wrk can for BURST_SECONDS; intake rate, the worker's rate meanwhile
#     (completed / burst time), the backlog left, and how long it takes to drain;
#  2. sustained: paced at about half the burst's intake rate for SUSTAIN_SECONDS; the largest
#     backlog seen (sampled every second) and the p99 of receipt-to-handler time (the
#     `meetingbaas_webhooks_inbox_pickup_delay_seconds` summary, read every 5 s, the largest).
# Usage: bench/inbox-drain.sh   Env: STORES ("sqlite redis"), BURST_SECONDS (20),
#        SUSTAIN_SECONDS (60), EXAMPLE (the example binary to measure; default: this tree's),
#        KEEP_BODIES_HOURS (passed as MEETINGBAAS_INBOX_KEEP_BODIES_HOURS: 0 drops bodies at once)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STORES=${STORES:-"sqlite redis"}
BURST_SECONDS=${BURST_SECONDS:-20}
SUSTAIN_SECONDS=${SUSTAIN_SECONDS:-60}
export CARGO_TERM_COLOR=never
command -v wrk >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v redis-server >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

cargo build --profile bench -p meetingbaas-example-axum -p meetingbaas-webhooks-cli
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
EXAMPLE=${EXAMPLE:-$TARGET/release/meetingbaas-example-axum}
CLI="$TARGET/release/meetingbaas-webhooks"

WORK=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port); METRICS_PORT=$(free_port); REDIS_PORT=$(free_port)
SERVER_PID= REDIS_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export CALLBACK_SECRET=bench-callback-secret   # what bench/post-unique.lua signs with

fresh_store() { # $1: store name; sets URL to a fresh store (not in a subshell: it keeps REDIS_PID)
  case $1 in
    sqlite) rm -f "$WORK"/inbox.db*; URL="sqlite://$WORK/inbox.db" ;;
    redis)
      [ -n "$REDIS_PID" ] && { kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true; }
      rm -rf "$WORK"/appendonly* "$WORK"/*.aof
      redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly yes \
        --appendfsync always --dir "$WORK" >/dev/null 2>&1 &
      REDIS_PID=$!
      until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.05; done
      URL="redis://127.0.0.1:$REDIS_PORT" ;;
  esac
}
start() { # $1: store URL
  env -i PATH="$PATH" PORT="$PORT" RUST_LOG=error MEETINGBAAS_CALLBACK_SECRET="$CALLBACK_SECRET" \
    MEETINGBAAS_INBOX="$1" MEETINGBAAS_METRICS="127.0.0.1:$METRICS_PORT" \
    ${KEEP_BODIES_HOURS:+MEETINGBAAS_INBOX_KEEP_BODIES_HOURS=$KEEP_BODIES_HOURS} "$EXAMPLE" >/dev/null 2>&1 &
  SERVER_PID=$!
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/ready")" = 200 ]; do
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "the example did not start" >&2; exit 1; }
    sleep 0.05
  done
}
stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }
stats() { # completed+dead and pending (queued+running+retrying)
  "$CLI" inbox --store "$1" stats --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["completed"]+v["dead"], v["queued"]+v["running"]+v["retrying"])'
}
pickup_p99() {
  curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | awk '/^meetingbaas_webhooks_inbox_pickup_delay_seconds\{quantile="0.99"\}/ {print $2}'
}
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$(now)-$1:.2f}')"; }

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'store\tphase\tintake_req_s\tworker_per_s\tbacklog\tdrain_s\tpickup_p99_s\n'
for store in $STORES; do
  fresh_store "$store"; url=$URL
  start "$url"
  out=$(RUN_ID="burst-$store-$RANDOM" wrk -t2 -c32 -d"${BURST_SECONDS}s" -s bench/post-unique.lua \
    "http://127.0.0.1:$PORT/webhooks/meetingbaas")
  read -r done backlog < <(stats "$url")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  [ -z "$bad" ] || { echo "$store answered $bad non-2xx: not a valid run" >&2; exit 1; }
  drain_start=$(now)
  left=$backlog
  while [ "$left" -gt 0 ]; do sleep 0.2; read -r _ left < <(stats "$url"); done
  drain=$(elapsed "$drain_start")
  worker=$(python3 -c "print(f'{$done/$BURST_SECONDS:.0f}')")
  printf '%s\tburst\t%s\t%s\t%s\t%s\t%s\n' "$store" "$rps" "$worker" "$backlog" "$drain" "$(pickup_p99)"
  stop

  # Paced at about half the burst's rate: each of 32 connections waits 32/(rate/2) s between
  # requests (less the answer's own time, so the rate comes out a little under half).
  delay=$(python3 -c "print(max(1, round(32 * 1000 / ($rps / 2))))")
  fresh_store "$store"; url=$URL
  start "$url"
  RUN_ID="steady-$store-$RANDOM" DELAY_MS=$delay wrk -t2 -c32 -d"${SUSTAIN_SECONDS}s" \
    -s bench/post-unique.lua "http://127.0.0.1:$PORT/webhooks/meetingbaas" >"$WORK/steady.txt" &
  WRK_PID=$!
  max_backlog=0 max_p99=0 tick=0
  while kill -0 "$WRK_PID" 2>/dev/null; do
    sleep 1; tick=$((tick + 1))
    read -r _ pending < <(stats "$url")
    [ "$pending" -gt "$max_backlog" ] && max_backlog=$pending
    if [ $((tick % 5)) = 0 ]; then
      p99=$(pickup_p99); [ -n "$p99" ] && max_p99=$(python3 -c "print(max($max_p99, $p99))")
    fi
  done
  wait "$WRK_PID" || true
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/steady.txt")
  read -r done left < <(stats "$url")
  worker=$(python3 -c "print(f'{$done/$SUSTAIN_SECONDS:.0f}')")
  printf '%s\tsustained (%s ms pace)\t%s\t%s\t%s (max)\t-\t%s\n' "$store" "$delay" "$rps" "$worker" "$max_backlog" "$max_p99"
  stop
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
