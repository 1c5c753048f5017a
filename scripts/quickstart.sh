#!/usr/bin/env bash
# Run the main job end to end on the bundled local stack.
#
#   scripts/quickstart.sh                      # you approve the code in a browser
#   QUICKSTART_APPROVE=1 scripts/quickstart.sh # approved for you, as the admin user
#
# Installs the test identity provider's npm packages, builds the CLI and the
# reference cluster, starts the local OpenID provider (tests/idp) and the
# reference cluster on free loopback ports, writes a throwaway profile, and
# runs the main job: `mint` (device-flow login -> create a management token ->
# store it in a file -> verify it), then lists the token on the cluster and
# stops everything again. Nothing outside a temporary directory is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

for tool in cargo node npm curl; do
    command -v "$tool" >/dev/null || { echo "quickstart: '$tool' is required but not installed" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/influx-bootstrap-quickstart.XXXXXX")
IDP_PID=""
CLUSTER_PID=""
cleanup() {
    [ -n "$IDP_PID" ] && kill "$IDP_PID" 2>/dev/null || true
    [ -n "$CLUSTER_PID" ] && kill "$CLUSTER_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

echo "==> installing the local identity provider (npm ci)" >&2
(cd tests/idp && [ -d node_modules/oidc-provider ] || npm ci --no-audit --no-fund --silent)

echo "==> building influx-bootstrap and the reference cluster" >&2
cargo build --quiet -p influx-bootstrap -p reference-cluster
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/debug/influx-bootstrap"

echo "==> starting the local identity provider" >&2
mkfifo "$WORK/idp.out"
node tests/idp/server.mjs --interval 1 --no-stdin-exit >"$WORK/idp.out" 2>"$WORK/idp.log" </dev/null &
IDP_PID=$!
read -r READY <"$WORK/idp.out"
ISSUER=$(printf '%s' "$READY" | sed -E 's/.*"issuer":"([^"]+)".*/\1/')
echo "    issuer: $ISSUER" >&2

echo "==> starting the reference cluster" >&2
cat >"$WORK/cluster.toml" <<TOML
listen = "127.0.0.1:0"
database = "$WORK/cluster.sqlite"
[identity]
issuer = "$ISSUER"
audience = "https://cluster.example.test"
[[admin.users]]
id = "admin"
firstName = "Ada"
lastName = "Admin"
email = "ada@example.test"
TOML
mkfifo "$WORK/cluster.out"
"$TARGET_DIR/debug/reference-cluster" --config "$WORK/cluster.toml" >"$WORK/cluster.out" 2>"$WORK/cluster.log" </dev/null &
CLUSTER_PID=$!
read -r READY <"$WORK/cluster.out"
PORT=$(printf '%s' "$READY" | sed -E 's/.*"port":([0-9]+).*/\1/')
echo "    cluster: http://127.0.0.1:$PORT" >&2

export INFLUX_BOOTSTRAP_CONFIG="$WORK/config.toml"
export INFLUX_BOOTSTRAP_CACHE_DIR="$WORK/cache"
cat >"$INFLUX_BOOTSTRAP_CONFIG" <<TOML
# Throwaway profile written by scripts/quickstart.sh
[[profile]]
  name = "default"
  product = "clustered"
  host = "127.0.0.1"
  port = "$PORT"
  [profile.tls]
    disable = true   # plain http on loopback only
  [profile.auth.oauth2]
    client_id = "influx-bootstrap"
    issuer = "$ISSUER"
    scopes = ["openid", "profile", "email", "offline_access"]
    parameters = { resource = "https://cluster.example.test" }
TOML

TOKEN_FILE="$WORK/secrets/influx-mgmt-token"
MINT=("$BIN" mint --description "quickstart automation" --expires-in 90d --store "file:$TOKEN_FILE" --browser never)
echo "==> influx-bootstrap ${MINT[*]:1}" >&2
if [ "${QUICKSTART_APPROVE:-0}" = "1" ]; then
    # Read the JSON event stream; approve through the provider's own device
    # pages (the fixture's /__test/approve drives them) as the admin user.
    coproc MINTING { "${MINT[@]}" --format json; }
    MINT_PID=$MINTING_PID
    read -r EVENT <&"${MINTING[0]}"
    CODE=$(printf '%s' "$EVENT" | sed -E 's/.*"user_code":"([^"]+)".*/\1/')
    echo "==> approving $CODE as admin (QUICKSTART_APPROVE=1)" >&2
    curl -fsS -X POST "$ISSUER/__test/approve" -H 'content-type: application/json' \
        -d "{\"user_code\":\"$CODE\",\"user\":\"admin\"}" >/dev/null
    while read -r LINE <&"${MINTING[0]}"; do echo "$LINE"; done
    wait "$MINT_PID"
else
    echo "    open the URL below and sign in as 'admin' (any password)" >&2
    "${MINT[@]}"
fi
echo "==> the token is in $TOKEN_FILE ($(stat -c %a "$TOKEN_FILE" 2>/dev/null || stat -f %Lp "$TOKEN_FILE"))" >&2

echo "==> influx-bootstrap management list" >&2
"$BIN" management list
echo "==> done; stopping the local stack" >&2
