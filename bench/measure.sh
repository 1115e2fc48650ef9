# Sourced by ab.sh and abx.sh: `w PORT SECS PID` runs wrk against PORT for SECS seconds and
# prints "req/s, server CPU µs per request, user-space instructions per request" of PID.
# Needs SIZE and SIG set; PERF=0 skips the instruction count.
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
sticks() { awk '{print $15}' /proc/$1/stat; }
HZ=$(getconf CLK_TCK)
# Virtual machines often have no hardware counters: perf then says `<not supported>`.
if [[ "${PERF:-1}" != 0 ]] && ! perf stat -e instructions:u -x, -- true 2>&1 | grep -q '^[0-9]'; then PERF=0; fi
w() {
  local t0 t1 s0 s1 out instr=0 stat=${TMPDIR:-/tmp}/perf-stat.$$
  local run=(env BODY_FILE=${TMPDIR:-/tmp}/body-$SIZE.json BODY_SIGNATURE=$SIG wrk -t1 -c16 -d${2}s -s $(dirname "${BASH_SOURCE[0]}")/post.lua http://127.0.0.1:$1/webhooks/meetingbaas)
  t0=$(ticks $3) s0=$(sticks $3)
  if [[ "${PERF:-1}" != 0 ]]; then
    out=$(perf stat -e instructions:u -x, -o "$stat" -p $3 -- "${run[@]}" 2>&1)
    instr=$(awk -F, '/instructions/ {print $1}' "$stat"); rm -f "$stat"
  else
    out=$("${run[@]}" 2>&1)
  fi
  t1=$(ticks $3) s1=$(sticks $3)
  echo "$out" | awk -v dt=$((t1 - t0)) -v ds=$((s1 - s0)) -v hz=$HZ -v ins="${instr:-0}" -v perf="${PERF:-1}" '/^Requests\/sec/ {r=$2} /requests in/ {n=$1} /Non-2xx/ {bad=$NF} END {printf "%8.0f req/s %7.1f us/req (sys %6.1f)%s%s", r, dt*1e6/hz/n, ds*1e6/hz/n, (perf != 0 ? sprintf(" %8.1f kinstr/req", ins/n/1000) : ""), (bad? " NON2XX="bad : "")}'
}
