#!/usr/bin/env bash
# Intake with the durable inbox against the same example without one, in one run (BENCHMARKS.md,
# "Inbox"): the axum example, 1 KiB deliveries, each one distinct (so every request is stored),
# wrk on loopback, alternating none / sqlite / redis / durable for ROUNDS rounds. The example's
# worker runs in the same process meanwhile (its handler for these events only logs, at a level
# that is off). "durable" is not the example: it is the careful durable receiver a user would
# write by hand (bench/load's `baseline-durable`: the secret compared in constant time, each
# delivery inserted into SQLite, WAL, synchronous=FULL, in its own transaction before the 200);
# each store's rate is reported as a ratio to no inbox and to it.
# Also measures the floors: raw batched SQLite inserts and pipelined XADD (bench/load's
# `inbox-floor` binary), and worker throughput with a no-op handler.
# Usage: bench/inbox.sh   Env: SECONDS_PER_RUN (default 5), ROUNDS (default 3), CONNECTIONS (default 32)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/bench-results/inbox"
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
export CARGO_TERM_COLOR=never
mkdir -p "$OUT"
rm -f "$OUT"/*.txt "$OUT/intake.tsv"

command -v wrk >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v redis-server >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

cargo build --profile bench -p meetingbaas-example-axum -p meetingbaas-bench-load --bins
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
EXAMPLE="$TARGET/release/meetingbaas-example-axum"
FLOOR="$TARGET/release/inbox-floor"
DURABLE="$TARGET/release/baseline-durable"

WORK=$(mktemp -d)
REDIS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Durable as the README asks: every write appended and fsynced.
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync always \
  --dir "$WORK" >/dev/null 2>&1 &
REDIS_PID=$!
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  kill "$REDIS_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
sleep 0.5

export CALLBACK_SECRET=bench-callback-secret
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

start() { # $1: MEETINGBAAS_INBOX value ("" for none; "durable" for the hand-written baseline)
  if [ "$1" = durable ]; then
    rm -f "$WORK"/durable.db*
    env -i PATH="$PATH" PORT="$PORT" MEETINGBAAS_CALLBACK_SECRET="$CALLBACK_SECRET" \
      DURABLE_DB="$WORK/durable.db" "$DURABLE" >/dev/null 2>&1 &
  else
    env -i PATH="$PATH" PORT="$PORT" RUST_LOG=error MEETINGBAAS_CALLBACK_SECRET="$CALLBACK_SECRET" \
      ${1:+MEETINGBAAS_INBOX="$1"} "$EXAMPLE" >/dev/null 2>&1 &
  fi
  SERVER_PID=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && return 0
    sleep 0.05
  done
  echo "the example did not start" >&2; exit 1
}
stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }

# Other work on the machine skews every figure: the load average goes with the results.
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/load.txt"
printf 'store\tround\treq_per_s\tp99_ms\tnon_2xx\n' >"$OUT/intake.tsv"
for round in $(seq "$ROUNDS"); do
  for store in none sqlite redis durable; do
    case $store in
      none) url= ;;
      durable) url=durable ;;
      sqlite) url="sqlite://$WORK/inbox.db" ;;
      redis) url="redis://127.0.0.1:$REDIS_PORT" ;;
    esac
    start "$url"
    RUN_ID="$store-$round-$RANDOM" wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency \
      -s bench/post-unique.lua "http://127.0.0.1:$PORT/webhooks/meetingbaas" >"$OUT/$store-$round.txt"
    stop
    rps=$(awk '/Requests\/sec/ {print $2}' "$OUT/$store-$round.txt")
    p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' "$OUT/$store-$round.txt")
    bad=$(awk '/Non-2xx/ {print $5}' "$OUT/$store-$round.txt"); bad=${bad:-0}
    printf '%s\t%s\t%s\t%s\t%s\n' "$store" "$round" "$rps" "$p99" "$bad" | tee -a "$OUT/intake.tsv"
  done
done

echo "load average after intake: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt"
echo
echo "floors and worker throughput:"
"$FLOOR" "$WORK/floor.db" "redis://127.0.0.1:$REDIS_PORT" | tee "$OUT/floor.txt"

echo
echo "median req/s per store (ratio to none, ratio to the careful durable receiver), median p99:"
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
none=$(awk -F'\t' '$1=="none" {print $3}' "$OUT/intake.tsv" | median)
durable=$(awk -F'\t' '$1=="durable" {print $3}' "$OUT/intake.tsv" | median)
for store in none sqlite redis durable; do
  rps=$(awk -F'\t' -v s="$store" '$1==s {print $3}' "$OUT/intake.tsv" | median)
  p99=$(awk -F'\t' -v s="$store" '$1==s {print $4}' "$OUT/intake.tsv" | median)
  awk -v s="$store" -v r="$rps" -v n="$none" -v d="$durable" -v p="$p99" \
    'BEGIN {printf "%-7s %10.0f req/s  %5.2fx none  %6.2fx durable  p99 %6.2f ms\n", s, r, r/n, r/d, p}'
done | tee "$OUT/summary.txt"
# Every stored delivery waits for at least one fsync, so CONNECTIONS requests in flight cannot
# exceed CONNECTIONS x (fsyncs per second): the "one commit each" SQLite floor measures the latter.
single=$(awk '/sqlite floor/ {for (i=1;i<=NF;i++) if ($i=="rows/s" && $(i+1)=="one") print $(i-1)}' "$OUT/floor.txt")
[ -n "$single" ] && awk -v c="$CONNECTIONS" -v s="$single" -v n="$none" \
  'BEGIN {printf "fsync ceiling: %d connections x %.0f commits/s = %.0f req/s (%.2fx of none)\n", c, s, c*s, c*s/n}' \
  | tee -a "$OUT/summary.txt"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt"
