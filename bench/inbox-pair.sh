#!/usr/bin/env bash
# SQLite intake of two or more builds of the axum example, alternating in one run (BENCHMARKS.md,
# "Inbox"): how a change to the inbox moved intake, on a machine too noisy to compare runs.
# Each round starts every binary on a fresh database file (worker running, as in bench/inbox.sh),
# drives it with wrk for SECONDS_PER_RUN at 1 KiB (every delivery distinct), and prints req/s,
# p99 and the bytes the process wrote to disk per delivery (/proc/PID/io).
#
# Build the binaries first, e.g. for a commit C against the working tree:
#   git stash; git checkout C -- crates/meetingbaas-webhooks-inbox/src
#   cargo build --profile bench -p meetingbaas-example-axum && cp target/release/meetingbaas-example-axum /tmp/ex-before
#   git checkout HEAD -- crates/meetingbaas-webhooks-inbox/src; git stash pop
#   cargo build --profile bench -p meetingbaas-example-axum && cp target/release/meetingbaas-example-axum /tmp/ex-after
# Usage: bench/inbox-pair.sh BINARY...   Env: ROUNDS (3), SECONDS_PER_RUN (5), CONNECTIONS (32)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: bench/inbox-pair.sh BINARY..." >&2; exit 2; }
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
CONNECTIONS=${CONNECTIONS:-32}
command -v wrk >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export CALLBACK_SECRET=bench-callback-secret
URL_PATH=/webhooks/meetingbaas

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'round\tbinary\treq_per_s\tp99\tbytes_per_delivery\n'
for round in $(seq "$ROUNDS"); do
  for binary in "$@"; do
    rm -f "$WORK"/inbox.db*
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    env -i PATH="$PATH" PORT="$PORT" RUST_LOG=error MEETINGBAAS_CALLBACK_SECRET="$CALLBACK_SECRET" \
      MEETINGBAAS_INBOX="sqlite://$WORK/inbox.db" "$binary" >/dev/null 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
      curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
      sleep 0.05
    done
    written_before=$(awk '/^write_bytes/ {print $2}' "/proc/$SERVER_PID/io")
    RUN_ID="pair-$round-$RANDOM" wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency \
      -s bench/post-unique.lua "http://127.0.0.1:$PORT$URL_PATH" >"$WORK/wrk.txt"
    written_after=$(awk '/^write_bytes/ {print $2}' "/proc/$SERVER_PID/io")
    kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
    requests=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
    p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.txt")
    bad=$(awk '/Non-2xx/ {print $5}' "$WORK/wrk.txt")
    [ -z "$bad" ] || { echo "$binary answered $bad requests with non-2xx" >&2; exit 1; }
    printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$binary" "$rps" "$p99" \
      "$(( (written_after - written_before) / requests ))"
  done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
