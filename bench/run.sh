#!/usr/bin/env bash
# Runs every benchmark of BENCHMARKS.md and prints the summary tables:
#   1. criterion: verification per scheme and size beside its floor, Svix vs `standardwebhooks`,
#      verify + typed parse of a large v1 `complete` (default RustCrypto backend, then again with
#      `--features ring` for the HMAC groups, and Svix vs `standardwebhooks` with sha2's portable
#      code, as on CPUs without SHA extensions);
#   2. load: each example against the careful hand-written baseline in the same framework (wrk,
#      loopback, alternating example/baseline/hardened baseline rounds) at 1 KiB, 200 KiB and 2 MiB:
#      req/s and server CPU per request; the "hardened" baseline is the same baseline served by
#      the examples' own loop (BASELINE_SERVE=hardened; not for actix), which separates the
#      crates' cost from the loop's;
#   3. memory: peak RSS (VmHWM) under 64 concurrent 1 MiB deliveries;
#   4. inbox intake (bench/inbox.sh): the axum example with no inbox, SQLite and Redis, and the
#      careful durable receiver (one SQLite transaction per delivery), 1 KiB distinct deliveries.
# Raw results go to bench-results/ (gitignored); the summary is bench-results/summary.md.
# Usage: bench/run.sh            (about 15 minutes on 2 cores once built)
# Env:   LOAD_SECONDS (default 4, per wrk run), LOAD_ROUNDS (default 3 rounds), LOAD_SIZES (default
#        "1024 204800 2097152"), LOAD_HARDENED=0 (no hardened-loop baseline: a third less load
#        time); for a quick partial run: SKIP_CRITERION=1, SKIP_LOAD=1, SKIP_MEMORY=1,
#        SKIP_INBOX=1, FRAMEWORKS="axum hyper" (default: all four).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/bench-results"
LOAD_SECONDS=${LOAD_SECONDS:-4}
LOAD_ROUNDS=${LOAD_ROUNDS:-3}
LOAD_HARDENED=${LOAD_HARDENED:-1}
read -r -a LOAD_SIZES <<<"${LOAD_SIZES:-1024 204800 2097152}"
read -r -a FRAMEWORKS <<<"${FRAMEWORKS:-axum actix warp hyper}"
STARTED=$(date +%s)
export CARGO_TERM_COLOR=never
# The same codegen for every side (ours, the baselines, the floors): one codegen unit.
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_BENCH_CODEGEN_UNITS=1

step() { printf '\n==> %s  [%ds]\n' "$*" $(($(date +%s) - STARTED)); }

rm -rf "$OUT"
mkdir -p "$OUT/criterion" "$OUT/load" "$OUT/bodies"

step "machine"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  if grep -qw sha_ni /proc/cpuinfo; then echo "sha extensions: yes"; else echo "sha extensions: no"; fi
  echo "memory: $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "rustc: $(rustc --version)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/machine.txt"

if ! command -v wrk >/dev/null 2>&1; then
  step "installing wrk (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq wrk >/dev/null
fi
echo "wrk: $(wrk --version 2>&1 | head -1)" | tee -a "$OUT/machine.txt"

# Everything is built with the `bench` profile (release + line tables, in target/release), so
# that the servers and the criterion benches share one build of the core and its dependencies.
step "build (bench profile)"
cargo build --profile bench -p meetingbaas-bench-load \
  $(printf -- '-p meetingbaas-example-%s ' "${FRAMEWORKS[@]}")
if [[ "${SKIP_CRITERION:-}" != 1 ]]; then
  cargo bench -p meetingbaas-webhooks --features http --bench verify --bench parse --no-run
  cargo bench -p meetingbaas-webhooks --bench verify --bench parse --features http,ring --no-run
  cargo bench -p meetingbaas-webhooks --bench verify --features http,sha2/force-soft --no-run
fi
TARGET=$(cargo metadata --no-deps --format-version 1 | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
BIN="$TARGET/release"
TOOL="$BIN/bench-tool"

# Criterion's log reduced to one line per benchmark: its id and [low median high] time.
progress() {
  awk '/^[a-z+-]+\/[^ ]+$/ { name = $1; next }
       /time:/ { if ($1 ~ /\//) { name = $1 } sub(/.*time: */, ""); printf "  %-42s %s\n", name, $0; fflush() }'
}

if [[ "${SKIP_CRITERION:-}" != 1 ]]; then
  step "criterion, default backend (RustCrypto)"
  CRITERION_HOME="$OUT/criterion/rustcrypto" \
    cargo bench -p meetingbaas-webhooks --features http --bench verify --bench parse 2>&1 \
    | tee "$OUT/criterion-rustcrypto.log" | progress

  step "criterion, --features ring (the HMAC groups)"
  CRITERION_HOME="$OUT/criterion/ring" \
    cargo bench -p meetingbaas-webhooks --features http,ring --bench verify --bench parse -- \
    '^(svix|signature|verify\+parse)/|^standardwebhooks/(ours|standardwebhooks)/' 2>&1 \
    | tee "$OUT/criterion-ring.log" | progress

  # sha2 picks the SHA extensions at run time when the CPU has them (standardwebhooks' HMAC
  # never does): this run forces its portable code, as on CPUs without them.
  step "criterion, portable SHA-256 (sha2/force-soft), Svix vs standardwebhooks"
  CRITERION_HOME="$OUT/criterion/portable" \
    cargo bench -p meetingbaas-webhooks --features http,sha2/force-soft --bench verify -- \
    '^standardwebhooks/' 2>&1 \
    | tee "$OUT/criterion-portable.log" | progress
fi

# ---- servers -------------------------------------------------------------------------------

export MEETINGBAAS_WEBHOOK_SECRET="bench-secret-7c1e9a52d4b04f18"
# The examples log one info line per delivery; the baselines log nothing. Both run at warn so
# that the comparison is of the receiving work, not of log formatting.
export RUST_LOG=warn

declare -A SIG
for size in $(printf '%s\n' 1024 1048576 "${LOAD_SIZES[@]}" | sort -un); do
  SIG[$size]=$("$TOOL" body "$size" "$OUT/bodies/$size.json")
done
label() {
  if (($1 % 1048576 == 0)); then echo "$(($1 / 1048576))MiB"
  elif (($1 % 1024 == 0)); then echo "$(($1 / 1024))KiB"
  else echo "${1}B"; fi
}

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# start NAME BINARY [ENV=VALUE...]: runs a receiver on an ephemeral loopback port; sets
# SERVER_PID, SERVER_PORT.
start() {
  local name=$1 binary=$2 stdout="$OUT/load/$1.stdout"
  shift 2
  env PORT=0 "$@" "$binary" >"$stdout" 2>"$OUT/load/$name.stderr" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  SERVER_PORT=""
  for _ in $(seq 200); do
    SERVER_PORT=$(sed -n 's#^listening on http://127\.0\.0\.1:\([0-9]*\)$#\1#p' "$stdout")
    [[ -n "$SERVER_PORT" ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "error: $name did not start (see $OUT/load/$name.stderr)" >&2
  exit 1
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
# The server's CPU time so far (user + system), in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# run_wrk FRAMEWORK SIZE ROUND SIDE PORT PID: one measured wrk run, appended to load.tsv with the
# server's CPU time per request (µs, from /proc: steadier than req/s on a shared machine).
run_wrk() {
  local framework=$1 size=$2 round=$3 side=$4 port=$5 pid=$6
  local file="$OUT/load/$framework-$(label "$size")-$side-$round.txt" before after
  before=$(ticks "$pid")
  BODY_FILE="$OUT/bodies/$size.json" BODY_SIGNATURE="${SIG[$size]}" \
    wrk -t1 -c16 -d"${LOAD_SECONDS}s" -s "$ROOT/bench/post.lua" "http://127.0.0.1:$port/webhooks/meetingbaas" >"$file" 2>&1
  after=$(ticks "$pid")
  local rps requests cpu non2xx errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$file")
  requests=$(awk '/requests in/ {print $1}' "$file")
  cpu=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="${requests:-0}" 'BEGIN {if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print 0}')
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$file")
  errors=$(awk '/Socket errors:/ {s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i; print s}' "$file")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$framework" "$(label "$size")" "$round" "$side" \
    "${rps:-0}" "${non2xx:-0}" "${errors:-0}" "$cpu" >>"$OUT/load.tsv"
  printf '  %-6s %-7s round %s %-9s %10s req/s %9s µs CPU/req  non-2xx %s  errors %s\n' "$framework" \
    "$(label "$size")" "$round" "$side" "${rps:-0}" "$cpu" "${non2xx:-0}" "${errors:-0}"
}

warm() {
  BODY_FILE="$OUT/bodies/$1.json" BODY_SIGNATURE="${SIG[$1]}" \
    wrk -t1 -c16 -d1s -s "$ROOT/bench/post.lua" "http://127.0.0.1:$2/webhooks/meetingbaas" >/dev/null 2>&1
}

if [[ "${SKIP_LOAD:-}" != 1 ]]; then
  printf '# framework\tbody\tround\tside\treq/s\tnon-2xx\tsocket errors\tserver CPU µs/request\n' >"$OUT/load.tsv"
  printf '# framework\tside\tidle VmHWM KiB\tVmHWM after flood KiB\tresult\n' >"$OUT/memory.tsv"
  for framework in "${FRAMEWORKS[@]}"; do
    step "load + memory: $framework (example vs baseline)"
    start "example-$framework" "$BIN/meetingbaas-example-$framework"
    example_pid=$SERVER_PID example_port=$SERVER_PORT
    start "baseline-$framework" "$BIN/baseline-$framework"
    baseline_pid=$SERVER_PID baseline_port=$SERVER_PORT
    # The same baseline behind the examples' own serving loop (actix has its own server).
    hardened_pid="" hardened_port=""
    if [[ "$LOAD_HARDENED" == 1 && "$framework" != actix ]]; then
      start "hardened-$framework" "$BIN/baseline-$framework" BASELINE_SERVE=hardened
      hardened_pid=$SERVER_PID hardened_port=$SERVER_PORT
    fi

    # Both answer 200 to the same signed request before anything is measured.
    for port in "$example_port" "$baseline_port"; do
      "$TOOL" check "$port" "$OUT/bodies/1024.json" "${SIG[1024]}" >>"$OUT/load/checks.txt"
    done

    # Memory first, while the high-water marks are still those of start-up.
    memory_sides=(example baseline)
    if [[ "${SKIP_MEMORY:-}" == 1 ]]; then memory_sides=(); fi
    for side in "${memory_sides[@]}"; do
      if [[ $side == example ]]; then pid=$example_pid port=$example_port; else pid=$baseline_pid port=$baseline_port; fi
      idle=$(hwm "$pid")
      if "$TOOL" flood "$port" "$OUT/bodies/1048576.json" "${SIG[1048576]}" 64 3 \
        >>"$OUT/load/flood-$framework-$side.txt" 2>&1; then result=ok; else result=FAILED; fi
      peak=$(hwm "$pid")
      printf '%s\t%s\t%s\t%s\t%s\n' "$framework" "$side" "$idle" "$peak" "$result" >>"$OUT/memory.tsv"
      printf '  %-6s %-8s VmHWM idle %s KiB, after 64 x 1 MiB x 3: %s KiB (%s)\n' \
        "$framework" "$side" "$idle" "$peak" "$result"
    done

    for size in "${LOAD_SIZES[@]}"; do
      warm "$size" "$example_port"
      warm "$size" "$baseline_port"
      if [[ -n "$hardened_pid" ]]; then warm "$size" "$hardened_port"; fi
      for round in $(seq "$LOAD_ROUNDS"); do
        run_wrk "$framework" "$size" "$round" example "$example_port" "$example_pid"
        run_wrk "$framework" "$size" "$round" baseline "$baseline_port" "$baseline_pid"
        if [[ -n "$hardened_pid" ]]; then
          run_wrk "$framework" "$size" "$round" hardened "$hardened_port" "$hardened_pid"
        fi
      done
    done
    stop "$example_pid"
    stop "$baseline_pid"
    if [[ -n "$hardened_pid" ]]; then stop "$hardened_pid"; fi
  done
fi

if [[ "${SKIP_INBOX:-}" != 1 ]]; then
  step "inbox intake (bench/inbox.sh)"
  bench/inbox.sh
fi

step "summary"
{
  echo "## Results of bench/run.sh"
  echo
  sed 's/^/    /' "$OUT/machine.txt"
  "$TOOL" report "$OUT"
  echo
  if [[ "${SKIP_INBOX:-}" != 1 && -f "$OUT/inbox/summary.txt" ]]; then
    echo "### Inbox intake: median req/s (ratio to no inbox, to the careful durable receiver)"
    echo
    sed 's/^/    /' "$OUT/inbox/summary.txt"
    echo
  fi
  echo "Total time of the script: $(($(date +%s) - STARTED)) s."
} | tee "$OUT/summary.md"
