#!/usr/bin/env bash
# The SQLite inbox with many deliveries kept (BENCHMARKS.md, "The inbox at ten million
# deliveries"): for each size, a file written by `inbox-fill` (a tenth of it pending, 1 KiB
# bodies), then the axum example started on it: time until /ready answers 200 and until its
# worker has handled a first delivery (a cold start), resident memory
# when ready and after INTAKE_SECONDS of distinct 1 KiB deliveries from 32 connections (wrk),
# and the CLI's admin commands on the file. BASELINE=path/to/an/older/meetingbaas-example-axum
# measures that build on the same files, in the same run.
# RETENTION_HOURS=72 adds, for each size, intake while retention deletes what finished more
# than that long ago (the fill spreads finish times over 7 days).
# Usage: bench/inbox-scale.sh   Env: SIZES ("0 1000000 10000000"), INTAKE_SECONDS (10),
#        DIR (a directory with room: about 1.7 KB per delivery), RETENTION_HOURS
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZES=${SIZES:-"0 1000000 10000000"}
INTAKE_SECONDS=${INTAKE_SECONDS:-10}
DIR=${DIR:-$(mktemp -d)}
export CARGO_TERM_COLOR=never
command -v wrk >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

cargo build --profile bench -p meetingbaas-example-axum -p meetingbaas-webhooks-cli \
  -p meetingbaas-bench-load --bins
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BUILDS=("new=$TARGET/release/meetingbaas-example-axum")
[ -n "${BASELINE:-}" ] && BUILDS+=("baseline=$BASELINE")
CLI="$TARGET/release/meetingbaas-webhooks"
FILL="$TARGET/release/inbox-fill"

export CALLBACK_SECRET=bench-callback-secret   # what bench/post-unique.lua signs with
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
wait_ready() {
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/ready")" = 200 ]; do
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "the example did not start" >&2; exit 1; }
    sleep 0.01
  done
}
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
# Seconds a command takes (best of 3: the first run also reads the file into the page cache).
timed() {
  local best=
  for _ in 1 2 3; do
    local start end
    start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N)
    best=$(python3 -c "b='$best'; t=$end-$start; print(f'{t:.3f}' if not b or t < float(b) else b)")
  done
  echo "$best"
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'build\tretained\tready_s\tfirst_done_s\trss_ready_mib\trss_after_intake_mib\tintake_req_s\tintake_p99\n'
ADMIN=()
for size in $SIZES; do
  file="$DIR/scale-$size.db"
  rm -f "$file" "$file-wal" "$file-shm"
  "$FILL" "$file" "$size" $((size / 10)) 1024 >&2
  for build in "${BUILDS[@]}"; do
    name=${build%%=*}; binary=${build#*=}
    cp "$file" "$file.run"; rm -f "$file.run-wal" "$file.run-shm"
    sync
    # First start, cold: until /ready answers 200, and until the worker's first "delivery
    # handled" line (the file has pending deliveries from the fill).
    start=$(date +%s.%N)
    env -i PATH="$PATH" PORT="$PORT" RUST_LOG=error,meetingbaas_webhooks_inbox=info \
      MEETINGBAAS_CALLBACK_SECRET="$CALLBACK_SECRET" MEETINGBAAS_INBOX="sqlite://$file.run" \
      "$binary" >"$DIR/first.log" 2>&1 &
    SERVER_PID=$!
    wait_ready
    ready=$(python3 -c "print(f'{$(date +%s.%N)-$start:.2f}')")
    first=-
    if [ "$size" -gt 0 ]; then
      for _ in $(seq 3000); do
        if grep -q "delivery handled" "$DIR/first.log"; then
          first=$(python3 -c "print(f'{$(date +%s.%N)-$start:.2f}')"); break
        fi
        sleep 0.01
      done
    fi
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
    # Second start, quiet: memory when ready and after intake.
    env -i PATH="$PATH" PORT="$PORT" RUST_LOG=error MEETINGBAAS_CALLBACK_SECRET="$CALLBACK_SECRET" \
      MEETINGBAAS_INBOX="sqlite://$file.run" "$binary" >/dev/null 2>&1 &
    SERVER_PID=$!
    wait_ready
    rss_ready=$(rss_mib "$SERVER_PID")
    out=$(RUN_ID="$name-$size-$RANDOM" wrk -t2 -c32 -d"${INTAKE_SECONDS}s" --latency -s bench/post-unique.lua \
      "http://127.0.0.1:$PORT/webhooks/meetingbaas")
    rss_after=$(rss_mib "$SERVER_PID")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    [ -z "$bad" ] || { echo "$name answered $bad non-2xx: not a valid run" >&2; exit 1; }
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$size" "$ready" "$first" "$rss_ready" "$rss_after" "$rps" "$p99"
  done
  [ "$size" -gt 0 ] || { rm -f "$file"*; continue; }
  if [ -n "${RETENTION_HOURS:-}" ]; then
    # Intake while retention deletes what finished more than RETENTION_HOURS ago (the fill's
    # finish times span 7 days): the same measure as the rows above, and how many it deleted.
    binary=${BUILDS[0]#*=}
    cp "$file" "$file.run"; rm -f "$file.run-wal" "$file.run-shm"; sync
    env -i PATH="$PATH" PORT="$PORT" RUST_LOG=error MEETINGBAAS_CALLBACK_SECRET="$CALLBACK_SECRET" \
      MEETINGBAAS_INBOX_RETENTION_HOURS="$RETENTION_HOURS" MEETINGBAAS_INBOX="sqlite://$file.run" \
      "$binary" >/dev/null 2>&1 &
    SERVER_PID=$!
    wait_ready
    sleep 1   # retention's first pass is under way
    out=$(RUN_ID="retention-$size-$RANDOM" wrk -t2 -c32 -d"${INTAKE_SECONDS}s" --latency -s bench/post-unique.lua \
      "http://127.0.0.1:$PORT/webhooks/meetingbaas")
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
    total=$("$CLI" inbox --store "sqlite://$file.run" stats --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(sum(v[k] for k in ("queued","running","retrying","completed","dead")))')
    sent=$(awk '/requests in/ {print $1}' <<<"$out")
    # Deleted: every delivery there was (the fill's and intake's) less what is left.
    printf 'retention %sh\t%s\t%s req/s\tp99 %s\tdeleted about %s in %s s\n' "$RETENTION_HOURS" "$size" \
      "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" \
      "$(( size + sent - total ))" "$((INTAKE_SECONDS + 1))"
    rm -f "$file.run"*
  fi
  store="sqlite://$file"
  id=$("$CLI" inbox --store "$store" list --limit 1 --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v[0]["id"] if v else 1)')
  ADMIN+=("$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$size" \
    "$(timed "$CLI" inbox --store "$store" stats)" \
    "$(timed "$CLI" inbox --store "$store" list)" \
    "$(timed "$CLI" inbox --store "$store" list --kind bot.completed)" \
    "$(timed "$CLI" inbox --store "$store" list --dead)" \
    "$(timed "$CLI" inbox --store "$store" show "$id")")")
  rm -f "$file"* 
done
echo
printf 'retained\tstats_s\tlist_s\tlist_kind_s\tlist_dead_s\tshow_s\n'
printf '%s\n' "${ADMIN[@]}"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
