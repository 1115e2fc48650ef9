#!/usr/bin/env bash
# ab.sh FRAMEWORK SIZE ROUNDS SECONDS: example vs baseline, alternating; req/s, server CPU µs/request
# and user-space instructions/request (perf; PERF=0 off). BASELINE_BIN overrides the baseline binary.
# RESTART=1 starts both servers afresh for every round (a glibc malloc mode that some processes
# fall into for their whole life then weighs on both sides alike; BENCHMARKS.md).
set -u
F=$1 SIZE=$2 ROUNDS=${3:-5} SECS=${4:-4}
BIN=${BIN:-target/release}
EX=${EXAMPLE:-$BIN/meetingbaas-example-$F}
export MEETINGBAAS_WEBHOOK_SECRET="bench-secret-7c1e9a52d4b04f18" RUST_LOG=warn
SIG=$($BIN/bench-tool body $SIZE ${TMPDIR:-/tmp}/body-$SIZE.json)
start() {
  PORT=0 $EX > ${TMPDIR:-/tmp}/ex.out 2>${TMPDIR:-/tmp}/ex.err & EPID=$!
  PORT=0 ${BASELINE_BIN:-$BIN/baseline-$F} > ${TMPDIR:-/tmp}/bl.out 2>${TMPDIR:-/tmp}/bl.err & BPID=$!
  sleep 0.5
  EP=$(sed -n 's#^listening on http://127\.0\.0\.1:\([0-9]*\)$#\1#p' ${TMPDIR:-/tmp}/ex.out)
  BP=$(sed -n 's#^listening on http://127\.0\.0\.1:\([0-9]*\)$#\1#p' ${TMPDIR:-/tmp}/bl.out)
  w $EP 1 $EPID >/dev/null; w $BP 1 $BPID >/dev/null
}
stop() { kill $EPID $BPID; wait 2>/dev/null; }
. "$(dirname "$0")/measure.sh"
start
echo "# $F $SIZE load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq $ROUNDS); do
  if [[ "${RESTART:-0}" != 0 && $r -gt 1 ]]; then stop; start; fi
  e=$(w $EP $SECS $EPID); b=$(w $BP $SECS $BPID); echo "$F $SIZE round $r | example $e | baseline $b"
done
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
stop
