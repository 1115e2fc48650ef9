#!/usr/bin/env bash
# The Postgres inbox's intake against the hand-written receiver and the floor, in one run
# (BENCHMARKS.md, "The Postgres inbox"): the axum example, 1 KiB deliveries, each one distinct
# (so every request is stored), wrk on loopback with CONNECTIONS connections, alternating
#   none      the example without an inbox (handled in the request),
#   sqlite    the example with the SQLite inbox,
#   postgres  the example with the Postgres inbox (its worker runs in the same process),
#   handpg    the careful hand-written axum receiver inserting each delivery into Postgres in its
#             own transaction with sqlx, a pool of 16 (bench/load's `baseline-postgres`),
# for ROUNDS rounds, each on a fresh database; then the floor (multi-row inserts of the same rows,
# 64 per commit, 32 producers, no HTTP) and the worker's drain rate (no-op and transactional
# handlers), from bench/load's `postgres-floor`.
# Postgres is a throwaway cluster made here (Debian's postgresql; fsync and synchronous_commit
# on), run as the `postgres` user when this runs as root.
# Usage: bench/inbox-postgres.sh   Env: SECONDS_PER_RUN (default 5), ROUNDS (default 3), CONNECTIONS (default 32)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/bench-results/inbox-postgres"
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
export CARGO_TERM_COLOR=never
mkdir -p "$OUT"
rm -f "$OUT"/*.txt "$OUT/intake.tsv"

install() { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
command -v wrk >/dev/null || install wrk
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || install postgresql

cargo build --profile bench -p meetingbaas-example-axum -p meetingbaas-bench-load --bins
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
EXAMPLE="$TARGET/release/meetingbaas-example-axum"
FLOOR="$TARGET/release/postgres-floor"
HANDPG="$TARGET/release/baseline-postgres"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
WORK=$(mktemp -d)
as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres: "$WORK"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PG_PORT=$(free_port)
as_pg "$PGBIN/initdb" -U postgres -A trust -E UTF8 --no-sync -D "$WORK/data" >/dev/null
as_pg "$PGBIN/postgres" -D "$WORK/data" -p "$PG_PORT" -h 127.0.0.1 -k "" -c fsync=on \
  -c synchronous_commit=on -c max_connections=200 -c shared_buffers=256MB >"$WORK/postgres.log" 2>&1 &
PG_PID=$!
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  kill -INT "$PG_PID" 2>/dev/null || true
  wait "$PG_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 100); do "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break; sleep 0.1; done
psql() { "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$1"; }
fresh_db() { local name="bench_$(date +%s%N)"; psql "CREATE DATABASE $name" >/dev/null; echo "postgres://postgres@127.0.0.1:$PG_PORT/$name"; }

export CALLBACK_SECRET=bench-callback-secret
PORT=$(free_port)

start() { # $1: MEETINGBAAS_INBOX value ("" for none); $2: "handpg" for the hand-written receiver
  if [ "${2:-}" = handpg ]; then
    env -i PATH="$PATH" PORT="$PORT" MEETINGBAAS_CALLBACK_SECRET="$CALLBACK_SECRET" \
      DURABLE_PG="$1" "$HANDPG" >/dev/null 2>&1 &
  else
    env -i PATH="$PATH" PORT="$PORT" RUST_LOG=error MEETINGBAAS_CALLBACK_SECRET="$CALLBACK_SECRET" \
      ${1:+MEETINGBAAS_INBOX="$1"} "$EXAMPLE" >/dev/null 2>&1 &
  fi
  SERVER_PID=$!
  for _ in $(seq 200); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && return 0
    sleep 0.05
  done
  echo "the server did not start" >&2; exit 1
}
stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/load.txt"
printf 'store\tround\treq_per_s\tp99_ms\tnon_2xx\n' >"$OUT/intake.tsv"
for round in $(seq "$ROUNDS"); do
  for store in none sqlite postgres handpg; do
    case $store in
      none) start "" ;;
      sqlite) rm -f "$WORK"/inbox.db*; start "sqlite://$WORK/inbox.db" ;;
      postgres) start "$(fresh_db)" ;;
      handpg) start "$(fresh_db)" handpg ;;
    esac
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
echo "floor and worker drain rates:"
"$FLOOR" "$(fresh_db)" | tee "$OUT/floor.txt"

echo
echo "median req/s per store (ratio to none, to the hand-written Postgres receiver, to the floor), median p99:"
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
none=$(awk -F'\t' '$1=="none" {print $3}' "$OUT/intake.tsv" | median)
handpg=$(awk -F'\t' '$1=="handpg" {print $3}' "$OUT/intake.tsv" | median)
floor=$(awk '/postgres floor/ {print $3}' "$OUT/floor.txt")
for store in none sqlite postgres handpg; do
  rps=$(awk -F'\t' -v s="$store" '$1==s {print $3}' "$OUT/intake.tsv" | median)
  p99=$(awk -F'\t' -v s="$store" '$1==s {print $4}' "$OUT/intake.tsv" | median)
  awk -v s="$store" -v r="$rps" -v n="$none" -v h="$handpg" -v f="$floor" -v p="$p99" \
    'BEGIN {printf "%-8s %10.0f req/s  %5.2fx none  %5.2fx handpg  %5.2fx floor  p99 %6.2f ms\n", s, r, r/n, r/h, r/f, p}'
done | tee "$OUT/summary.txt"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt"
