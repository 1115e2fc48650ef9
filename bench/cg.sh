#!/usr/bin/env bash
# cg.sh NAME SIZE SECS CMD...: one server under callgrind, driven by wrk for SECS seconds after a
# warm-up; prints its instructions per request (counters zeroed after the warm-up, dumped after
# the run) and keeps the profile in ${OUT:-/tmp/cg}/NAME.out for callgrind_annotate. Deterministic
# where time is not: compare two servers' profiles on the same request (`bench/cg.sh A ...`,
# `bench/cg.sh B ...`, then `callgrind_annotate --inclusive=yes`). One connection (CONNS), so that at
# most one request is cut by the dump: give large bodies enough SECS for many requests.
set -u
NAME=$1 SIZE=$2 SECS=$3; shift 3
BIN=${BIN:-target/release}
OUT=${OUT:-/tmp/cg}; mkdir -p "$OUT"
export MEETINGBAAS_WEBHOOK_SECRET="bench-secret-7c1e9a52d4b04f18" RUST_LOG=${RUST_LOG:-warn}
SIG=$($BIN/bench-tool body $SIZE "$OUT/body-$SIZE.json")
rm -f "$OUT/$NAME".out*
PORT=0 valgrind --tool=callgrind --callgrind-out-file="$OUT/$NAME.out" --dump-instr=no "$@" >"$OUT/$NAME.stdout" 2>"$OUT/$NAME.stderr" & VPID=$!
for _ in $(seq 300); do
  PORTN=$(sed -n 's#^listening on http://127\.0\.0\.1:\([0-9]*\)$#\1#p' "$OUT/$NAME.stdout"); [[ -n "$PORTN" ]] && break; sleep 0.1
done
load() { BODY_FILE="$OUT/body-$SIZE.json" BODY_SIGNATURE=$SIG wrk -t1 -c${CONNS:-1} -d${1}s -s "$(dirname "$0")/post.lua" "http://127.0.0.1:$PORTN/webhooks/meetingbaas" 2>&1; }
load 2 >/dev/null
callgrind_control -z $VPID >/dev/null
out=$(load $SECS)
callgrind_control -d $VPID >/dev/null
n=$(echo "$out" | awk '/requests in/ {print $1}')
bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
sleep 0.5
kill $VPID; wait $VPID 2>/dev/null
# The dump taken after the run: the file with the highest part number.
dump=$(ls -v "$OUT/$NAME".out.* 2>/dev/null | tail -1)
ir=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
mv "$dump" "$OUT/$NAME.out"
echo "$NAME $SIZE: $n requests${bad:+ ($bad non-2xx)}, $(awk -v i=$ir -v n=$n 'BEGIN {printf "%.1f", i/n/1000}') k instructions/request"
