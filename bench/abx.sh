#!/usr/bin/env bash
# abx.sh SIZE ROUNDS SECS "ENV_A CMD_A" "ENV_B CMD_B": two servers, alternating wrk runs; req/s and server CPU µs/request.
set -u
SIZE=$1 ROUNDS=$2 SECS=$3 A=$4 B=$5
BIN=${BIN:-target/release}
export MEETINGBAAS_WEBHOOK_SECRET="bench-secret-7c1e9a52d4b04f18"
SIG=$($BIN/bench-tool body $SIZE ${TMPDIR:-/tmp}/body-$SIZE.json)
env PORT=0 $A > ${TMPDIR:-/tmp}/a.out 2>${TMPDIR:-/tmp}/a.err & APID=$!
env PORT=0 $B > ${TMPDIR:-/tmp}/b.out 2>${TMPDIR:-/tmp}/b.err & BPID=$!
sleep 0.7
AP=$(sed -n 's#^listening on http://127\.0\.0\.1:\([0-9]*\)$#\1#p' ${TMPDIR:-/tmp}/a.out)
BP=$(sed -n 's#^listening on http://127\.0\.0\.1:\([0-9]*\)$#\1#p' ${TMPDIR:-/tmp}/b.out)
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
HZ=$(getconf CLK_TCK)
w() { local t0 t1 out; t0=$(ticks $3)
  out=$(BODY_FILE=${TMPDIR:-/tmp}/body-$SIZE.json BODY_SIGNATURE=$SIG wrk -t1 -c16 -d${2}s -s $(dirname "$0")/post.lua http://127.0.0.1:$1/webhooks/meetingbaas 2>&1)
  t1=$(ticks $3)
  echo "$out" | awk -v dt=$((t1 - t0)) -v hz=$HZ '/^Requests\/sec/ {r=$2} /requests in/ {n=$1} /Non-2xx/ {bad=$NF} END {printf "%8.0f req/s %7.1f us/req%s", r, dt*1e6/hz/n, (bad? " NON2XX="bad : "")}'; }
w $AP 1 $APID >/dev/null; w $BP 1 $BPID >/dev/null
echo "# $SIZE A=[$A] B=[$B] load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq $ROUNDS); do a=$(w $AP $SECS $APID); b=$(w $BP $SECS $BPID); echo "$SIZE round $r | A $a | B $b"; done
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
kill $APID $BPID; wait 2>/dev/null
