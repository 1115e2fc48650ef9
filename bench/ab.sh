#!/usr/bin/env bash
# ab.sh FRAMEWORK SIZE ROUNDS SECONDS: example vs baseline, alternating; req/s and server CPU µs/request.
set -u
F=$1 SIZE=$2 ROUNDS=${3:-5} SECS=${4:-4}
BIN=${BIN:-target/release}
EX=${EXAMPLE:-$BIN/meetingbaas-example-$F}
export MEETINGBAAS_WEBHOOK_SECRET="bench-secret-7c1e9a52d4b04f18" RUST_LOG=warn
SIG=$($BIN/bench-tool body $SIZE ${TMPDIR:-/tmp}/body-$SIZE.json)
PORT=0 $EX > ${TMPDIR:-/tmp}/ex.out 2>${TMPDIR:-/tmp}/ex.err & EPID=$!
PORT=0 $BIN/baseline-$F > ${TMPDIR:-/tmp}/bl.out 2>${TMPDIR:-/tmp}/bl.err & BPID=$!
sleep 0.5
EP=$(sed -n 's#^listening on http://127\.0\.0\.1:\([0-9]*\)$#\1#p' ${TMPDIR:-/tmp}/ex.out)
BP=$(sed -n 's#^listening on http://127\.0\.0\.1:\([0-9]*\)$#\1#p' ${TMPDIR:-/tmp}/bl.out)
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
HZ=$(getconf CLK_TCK)
w() { # port secs pid -> "req/s cpu_us_per_req"
  local t0 t1 out
  t0=$(ticks $3)
  out=$(BODY_FILE=${TMPDIR:-/tmp}/body-$SIZE.json BODY_SIGNATURE=$SIG wrk -t1 -c16 -d${2}s -s $(dirname "$0")/post.lua http://127.0.0.1:$1/webhooks/meetingbaas 2>&1)
  t1=$(ticks $3)
  echo "$out" | awk -v dt=$((t1 - t0)) -v hz=$HZ '/^Requests\/sec/ {r=$2} /requests in/ {n=$1} /Non-2xx/ {bad=$NF} END {printf "%8.0f req/s %7.1f us/req%s", r, dt*1e6/hz/n, (bad? " NON2XX="bad : "")}'
}
w $EP 1 $EPID >/dev/null; w $BP 1 $BPID >/dev/null
echo "# $F $SIZE load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq $ROUNDS); do e=$(w $EP $SECS $EPID); b=$(w $BP $SECS $BPID); echo "$F $SIZE round $r | example $e | baseline $b"; done
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
kill $EPID $BPID; wait 2>/dev/null
