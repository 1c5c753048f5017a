#!/usr/bin/env bash
# Run every benchmark and write bench/RESULTS.md. By hand only (never in CI).
#
#   scripts/bench.sh                  # full run (~5 min of measuring after the build)
#   BENCH_QUICK=1 scripts/bench.sh    # fewer runs, shorter load: a smoke test, not for comparison
#   scripts/bench.sh --db-mint-only   # only `mint` of a database token beside the management-token
#                                     # one (section 1b of RESULTS.md); needs no hyperfine, wrk or peers
#   scripts/bench.sh --compare BIN    # issue 21's figures, BIN (an older release binary) before, this
#                                     # tree after, interleaved: lists of 10,000 vs curl, the scheduled
#                                     # no-op, mint overhead/requests/peak RSS beside the bash + curl peer
#                                     # (the "Issue 21" section of RESULTS.md); needs curl and jq
#
# Optional: eatmydata (Debian package) adds a diagnostic row with fsync off.
# Also: BENCH_RUNS=N (pipeline runs per implementation, default 10),
# BENCH_SCALE=N (tokens for the list benchmark, default 10000),
# BENCH_LOAD_SECONDS=N (each wrk phase, default 30), BENCH_SKIP_BUILD=1.
#
# Self-contained and idempotent: checks the tools, builds the release binaries,
# runs `npm ci` for bench/peers/node, creates the Python venv of the authlib
# peer in bench/.venv (from bench/peers/python/requirements.txt), then
# bench/run.py starts the local IdP and reference clusters on loopback with
# scripts/stack.sh (which installs tests/idp's npm packages when needed), runs
# the benchmarks and stops them again. Raw numbers: bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export BENCH_STARTED
BENCH_STARTED=$(date +%s)

DB_MINT_ONLY=0 COMPARE=""
[ "${1:-}" = "--db-mint-only" ] && DB_MINT_ONLY=1
if [ "${1:-}" = "--compare" ]; then
    [ -x "${2:-}" ] || { echo "bench: --compare needs an executable influx-bootstrap binary (the 'before')" >&2; exit 2; }
    COMPARE=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
fi
TOOLS=(cargo node npm python3 hyperfine wrk curl jq bash /usr/bin/time git)
[ "$DB_MINT_ONLY" = 1 ] && TOOLS=(cargo node npm python3 curl git)
[ -n "$COMPARE" ] && TOOLS=(cargo node npm python3 curl jq bash git)
missing=()
for tool in "${TOOLS[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench: missing tools: ${missing[*]}" >&2
    echo "bench: on Debian: apt-get install -y hyperfine wrk time curl jq nodejs npm python3-venv" >&2
    exit 1
fi
[ "$DB_MINT_ONLY" = 1 ] || [ -n "$COMPARE" ] || command -v eatmydata >/dev/null 2>&1 || echo "bench: note: eatmydata not installed; the fsync-off diagnostic row is skipped (apt-get install -y eatmydata)" >&2
[ "$DB_MINT_ONLY" = 1 ] || [ -n "$COMPARE" ] || python3 -c 'import venv' 2>/dev/null || { echo "bench: python3 has no venv module (apt-get install -y python3-venv)" >&2; exit 1; }

DRIVER_PID=""
cleanup() {
    # bench/run.py stops its servers itself (scripts/stack.sh stop); this is
    # for an interrupt that lands before or around it.
    if [ -n "$DRIVER_PID" ] && kill -0 "$DRIVER_PID" 2>/dev/null; then
        kill -TERM "$DRIVER_PID" 2>/dev/null || true
        wait "$DRIVER_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [ "${BENCH_SKIP_BUILD:-0}" != "1" ]; then
    echo "==> cargo build --release -p influx-bootstrap -p reference-cluster" >&2
    cargo build --release --quiet -p influx-bootstrap -p reference-cluster
fi

# npm ci when node_modules is missing or older than the lock file.
npm_ci() {
    local dir=$1
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
        echo "==> npm ci in $dir" >&2
        (cd "$dir" && npm ci --no-audit --no-fund --silent)
        touch "$dir/node_modules"
    fi
}
if [ -n "$COMPARE" ]; then
    echo "==> before ($COMPARE) and after (this tree), interleaved (bench/run.py --compare)" >&2
    python3 bench/run.py --compare "$COMPARE" &
    DRIVER_PID=$!
    wait "$DRIVER_PID"
    DRIVER_PID=""
    echo "==> done in $(( $(date +%s) - BENCH_STARTED )) s: $ROOT/bench/RESULTS.md (section \"Issue 21\")" >&2
    exit 0
fi
if [ "$DB_MINT_ONLY" = 1 ]; then
    echo "==> mint of a database token beside a management token (bench/run.py --db-mint-only)" >&2
    python3 bench/run.py --db-mint-only &
    DRIVER_PID=$!
    wait "$DRIVER_PID"
    DRIVER_PID=""
    echo "==> done in $(( $(date +%s) - BENCH_STARTED )) s: $ROOT/bench/RESULTS.md (section 1b)" >&2
    exit 0
fi
npm_ci bench/peers/node

VENV=bench/.venv
REQS=bench/peers/python/requirements.txt
if [ ! -x "$VENV/bin/python" ] || [ "$REQS" -nt "$VENV/.installed" ]; then
    echo "==> python venv $VENV (pip install -r $REQS)" >&2
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
    touch "$VENV/.installed"
fi

echo "==> running the benchmarks (bench/run.py)" >&2
python3 bench/run.py &
DRIVER_PID=$!
wait "$DRIVER_PID"
DRIVER_PID=""
echo "==> done in $(( $(date +%s) - BENCH_STARTED )) s: $ROOT/bench/RESULTS.md" >&2
