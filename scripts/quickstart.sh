#!/usr/bin/env bash
# Run the main job end to end on the bundled local stack.
#
#   scripts/quickstart.sh                      # you approve the code in a browser
#   QUICKSTART_APPROVE=1 scripts/quickstart.sh # approved for you, as the admin user
#
# Builds the CLI and the reference cluster, starts the local stack with
# scripts/stack.sh (the local OpenID provider, tests/idp, whose npm packages it
# installs when needed, and the reference cluster, on free loopback ports, with
# a throwaway profile), and runs the main job: `mint` (device-flow login ->
# create a management token -> store it in a file -> verify it), then lists the
# token on the cluster and stops everything again. Nothing outside a temporary
# directory is touched.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in cargo node npm curl; do
    command -v "$tool" >/dev/null || { echo "quickstart: '$tool' is required but not installed" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/influx-bootstrap-quickstart.XXXXXX")
cleanup() {
    scripts/stack.sh stop "$WORK/stack" || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "==> building influx-bootstrap and the reference cluster" >&2
cargo build --quiet -p influx-bootstrap -p reference-cluster
BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/influx-bootstrap"

scripts/stack.sh start "$WORK/stack" --interval 1 --owner $$
# STACK_ISSUER, STACK_CLUSTER_URL…, INFLUX_BOOTSTRAP_CONFIG (a throwaway
# profile for the stack's cluster), INFLUX_BOOTSTRAP_CACHE_DIR and
# INFLUX_BOOTSTRAP_STATE_DIR (token records), all inside $WORK.
set -a
# shellcheck disable=SC1091
. "$WORK/stack/stack.env"
set +a

TOKEN_FILE="$WORK/secrets/influx-mgmt-token"
MINT=("$BIN" mint --description "quickstart automation" --expires-in 90d --store "file:$TOKEN_FILE" --browser never)
echo "==> influx-bootstrap $(printf '%q ' "${MINT[@]:1}")" >&2
if [ "${QUICKSTART_APPROVE:-0}" = "1" ]; then
    # Read the JSON event stream; approve through the provider's own device
    # pages (the fixture's /__test/approve drives them) as the admin user.
    coproc MINTING { "${MINT[@]}" --format json; }
    MINT_PID=$MINTING_PID
    read -r EVENT <&"${MINTING[0]}"
    CODE=$(printf '%s' "$EVENT" | sed -E 's/.*"user_code":"([^"]+)".*/\1/')
    echo "==> approving $CODE as admin (QUICKSTART_APPROVE=1)" >&2
    curl -fsS -X POST "$STACK_ISSUER/__test/approve" -H 'content-type: application/json' \
        -d "{\"user_code\":\"$CODE\",\"user\":\"admin\"}" >/dev/null
    while read -r LINE <&"${MINTING[0]}"; do echo "$LINE"; done
    wait "$MINT_PID"
else
    echo "    open the URL below and sign in as 'admin' (any password)" >&2
    "${MINT[@]}"
fi
echo "==> the token is in $TOKEN_FILE ($(stat -c %a "$TOKEN_FILE" 2>/dev/null || stat -f %Lp "$TOKEN_FILE"))" >&2

# The promise above, checked: the token record went into the stack's state
# directory, not ~/.local/state (issue 23, A6).
case "${INFLUX_BOOTSTRAP_STATE_DIR:-}" in
"$WORK"/*) ;;
*) echo "quickstart: INFLUX_BOOTSTRAP_STATE_DIR is not inside $WORK" >&2; exit 1 ;;
esac
ls "$INFLUX_BOOTSTRAP_STATE_DIR"/tokens/* >/dev/null 2>&1 ||
    { echo "quickstart: no token record in $INFLUX_BOOTSTRAP_STATE_DIR/tokens" >&2; exit 1; }

echo "==> influx-bootstrap management list" >&2
"$BIN" management list
echo "==> done; stopping the local stack" >&2
