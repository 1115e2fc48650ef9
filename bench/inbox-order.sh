#!/usr/bin/env bash
# Per-bot order's cost (BENCHMARKS.md, "Per-bot order"): a worker with a no-op handler draining
# a backlog of 1 000 bots' status changes, with `order_by_bot` off and on alternating, on SQLite,
# Redis (`appendfsync always`) and Postgres (bench/load's `order-drain`).
# Usage: bench/inbox-order.sh   Env: BOTS (1000), PER_BOT (10), ROUNDS (3), CONCURRENCY (8),
#        STORES ("sqlite redis postgres")
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export CARGO_TERM_COLOR=never
STORES=${STORES:-"sqlite redis postgres"}
cargo build --profile bench -p meetingbaas-bench-load --bin order-drain
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

STORES_DIR=$(mktemp -d)
. bench/stores.sh
trap 'stop_stores; rm -rf "$STORES_DIR"' EXIT
urls=()
for store in $STORES; do
  case $store in
    sqlite) urls+=(sqlite) ;;
    redis) start_redis; urls+=("$REDIS_URL") ;;
    postgres) start_postgres; urls+=("$PG_URL") ;;
    *) echo "unknown store $store" >&2; exit 2 ;;
  esac
done
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
TMPDIR="$STORES_DIR" "$TARGET/release/order-drain" "${urls[@]}"
