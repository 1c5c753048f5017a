#!/usr/bin/env bash
# The cost of a scheduled `rotate --when-remaining` run that has nothing to
# do, beside a full rotation, on the bundled local stack (issue 17).
#
#   bench/when_remaining.sh [RUNS]       (default 20 runs of each)
#
# BIN=target/release/influx-bootstrap (after `cargo build --release`) times
# the release build; the default is the debug build this script builds.
# Prints the median and the minimum wall time of each kind of run. Not part
# of CI: timings on a shared machine are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
cargo build --quiet -p influx-bootstrap -p reference-cluster
BIN=${BIN:-target/debug/influx-bootstrap}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ib-bench-when.XXXXXX")
trap 'scripts/stack.sh stop "$WORK/stack" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
scripts/stack.sh start "$WORK/stack" --interval 1 --owner $$ >/dev/null 2>&1
set -a; . "$WORK/stack/stack.env"; set +a
TOKEN="$WORK/token"
# One management token, approved through the test provider's approval route.
coproc MINTING { "$BIN" mint --description bench --expires-in 90d --store "file:$TOKEN" --browser never --format json 2>/dev/null; }
MINT_PID=$MINTING_PID
read -r EVENT <&"${MINTING[0]}"
CODE=$(printf '%s' "$EVENT" | sed -E 's/.*"user_code":"([^"]+)".*/\1/')
curl -fsS -X POST "$STACK_ISSUER/__test/approve" -H 'content-type: application/json' \
    -d "{\"user_code\":\"$CODE\",\"user\":\"admin\"}" >/dev/null
cat <&"${MINTING[0]}" >/dev/null
wait "$MINT_PID"

median() { sort -n | awk '{a[NR]=$1} END {printf "median %.1f ms, min %.1f ms\n", a[int((NR+1)/2)]/1e6, a[1]/1e6}'; }
time_runs() {
    for _ in $(seq "$RUNS"); do
        s=$(date +%s%N)
        "$@" >/dev/null 2>"$WORK/err" || { echo "failed: $* ($(tail -1 "$WORK/err"))" >&2; exit 1; }
        e=$(date +%s%N)
        echo $((e - s))
    done
}
echo "binary: $BIN"
printf 'rotate --when-remaining 14d (nothing to do): '
time_runs "$BIN" rotate --when-remaining 14d --store "file:$TOKEN" | median
printf 'rotate (a full rotation of a management token): '
time_runs "$BIN" rotate --store "file:$TOKEN" | median
