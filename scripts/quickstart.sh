#!/usr/bin/env bash
# Run the main job end to end on the bundled local stack.
#
#   scripts/quickstart.sh                      # you approve the code in a browser
#   QUICKSTART_APPROVE=1 scripts/quickstart.sh # approved for you, as the admin user
#
# Installs the test identity provider's npm packages, builds the CLI, starts
# the local OpenID provider (tests/idp) on a free loopback port, writes a
# throwaway profile, logs in with the device flow, shows the session, and
# stops everything again. Nothing outside a temporary directory is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

for tool in cargo node npm curl; do
    command -v "$tool" >/dev/null || { echo "quickstart: '$tool' is required but not installed" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/influx-bootstrap-quickstart.XXXXXX")
IDP_PID=""
cleanup() {
    [ -n "$IDP_PID" ] && kill "$IDP_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

echo "==> installing the local identity provider (npm ci)" >&2
(cd tests/idp && [ -d node_modules/oidc-provider ] || npm ci --no-audit --no-fund --silent)

echo "==> building influx-bootstrap" >&2
cargo build --quiet --bin influx-bootstrap
BIN="$ROOT/target/debug/influx-bootstrap"

echo "==> starting the local identity provider" >&2
mkfifo "$WORK/idp.out"
node tests/idp/server.mjs --interval 1 --no-stdin-exit >"$WORK/idp.out" 2>"$WORK/idp.log" </dev/null &
IDP_PID=$!
read -r READY <"$WORK/idp.out"
ISSUER=$(printf '%s' "$READY" | sed -E 's/.*"issuer":"([^"]+)".*/\1/')
echo "    issuer: $ISSUER" >&2

export INFLUX_BOOTSTRAP_CONFIG="$WORK/config.toml"
export INFLUX_BOOTSTRAP_CACHE_DIR="$WORK/cache"
cat >"$INFLUX_BOOTSTRAP_CONFIG" <<TOML
# Throwaway profile written by scripts/quickstart.sh
[[profile]]
  name = "default"
  product = "clustered"
  host = "127.0.0.1"
  port = "8086"
  [profile.auth.oauth2]
    client_id = "influx-bootstrap"
    issuer = "$ISSUER"
    scopes = ["openid", "profile", "email", "offline_access"]
    parameters = { resource = "https://cluster.example.test" }
TOML

echo "==> influx-bootstrap login" >&2
if [ "${QUICKSTART_APPROVE:-0}" = "1" ]; then
    # Read the JSON event stream; approve through the provider's own device
    # pages (the fixture's /__test/approve drives them) as the admin user.
    coproc LOGIN { "$BIN" login --format json --browser never; }
    LOGIN_PID=$LOGIN_PID
    read -r EVENT <&"${LOGIN[0]}"
    CODE=$(printf '%s' "$EVENT" | sed -E 's/.*"user_code":"([^"]+)".*/\1/')
    echo "==> approving $CODE as admin (QUICKSTART_APPROVE=1)" >&2
    curl -fsS -X POST "$ISSUER/__test/approve" -H 'content-type: application/json' \
        -d "{\"user_code\":\"$CODE\",\"user\":\"admin\"}" >/dev/null
    read -r DONE <&"${LOGIN[0]}" || true
    wait "$LOGIN_PID"
    echo "$DONE"
else
    echo "    open the URL below and sign in as 'admin' (any password)" >&2
    "$BIN" login --browser never
fi

echo "==> influx-bootstrap status" >&2
"$BIN" status
echo "==> done; stopping the local stack" >&2
