#!/usr/bin/env bash
# abx.sh SIZE ROUNDS SECS "ENV_A CMD_A" "ENV_B CMD_B": two servers, alternating wrk runs; req/s,
# server CPU µs per request (/proc/<pid>/stat) and, with `perf` installed, user-space
# instructions per request (`perf stat -e instructions:u -p <pid>` around each run: much less
# noisy than time on a shared machine). PERF=0 turns perf off.
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
. "$(dirname "$0")/measure.sh"
w $AP 1 $APID >/dev/null; w $BP 1 $BPID >/dev/null
echo "# $SIZE A=[$A] B=[$B] load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq $ROUNDS); do a=$(w $AP $SECS $APID); b=$(w $BP $SECS $BPID); echo "$SIZE round $r | A $a | B $b"; done
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
kill $APID $BPID; wait 2>/dev/null
