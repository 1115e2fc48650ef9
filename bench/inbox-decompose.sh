#!/usr/bin/env bash
# Where SQLite intake's time goes (BENCHMARKS.md, "Inbox"): the axum example built with
# bench/inbox-decompose.patch, which reads DECOMPOSE to leave one stage of intake out, run side
# by side through bench/inbox-pair.sh (alternating, fresh database each run, 1 KiB, wrk):
#
#   none        no inbox: verify and answer in the request (MEETINGBAAS_INBOX unset)
#   full        the inbox as shipped (DECOMPOSE unset; the patched binary, so that every column
#               pays for the same environment lookups)
#   worker      the worker not started: intake alone
#   one-insert  enqueue as one insert of the whole delivery into an append-only table, no
#               savepoint (the worker then finds nothing to do)
#   savepoints  no savepoint around each operation of a batch
#   keys-index  without the key digest index (`deliveries_key_hash`) and without the lookup in it
#   sync        no fdatasync: answered once committed (NOT durable)
#   sql         no insert and no fdatasync: the delivery still goes to the writer thread (an
#               empty transaction) and back
#
# The patch is for measuring only; nothing in it is shipped.
# Usage: bench/inbox-decompose.sh   Env: ROUNDS (3), SECONDS_PER_RUN (5), CONNECTIONS (32)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d)
cleanup() {
  git -C "$ROOT" worktree remove --force "$WORK/tree" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

git worktree add --quiet --detach "$WORK/tree" HEAD
git -C "$WORK/tree" apply "$ROOT/bench/inbox-decompose.patch"
(cd "$WORK/tree" && CARGO_TARGET_DIR="$TARGET" cargo build --quiet --profile bench -p meetingbaas-example-axum)
mkdir "$WORK/bin"
cp "$TARGET/release/meetingbaas-example-axum" "$WORK/bin/example"

variants=(none full worker one-insert savepoints keys-index sync sql)
for variant in "${variants[@]}"; do
  case $variant in
    none) printf '#!/bin/sh\nunset MEETINGBAAS_INBOX\nexec "%s" "$@"\n' "$WORK/bin/example" ;;
    full) printf '#!/bin/sh\nexec "%s" "$@"\n' "$WORK/bin/example" ;;
    *) printf '#!/bin/sh\nDECOMPOSE=%s exec "%s" "$@"\n' "$variant" "$WORK/bin/example" ;;
  esac >"$WORK/bin/$variant"
  chmod +x "$WORK/bin/$variant"
done
(cd "$WORK/bin" && PATH="$WORK/bin:$PATH" "$ROOT/bench/inbox-pair.sh" "${variants[@]}")
