#!/usr/bin/env bash
# The local stack: the test identity provider (tests/idp) and reference
# clusters, on free loopback ports. Used by scripts/quickstart.sh and
# bench/run.py (the Rust tests start their own, in-process, per test).
#
#   scripts/stack.sh start DIR [options]   # IdP + the cluster `default`
#   scripts/stack.sh cluster DIR NAME      # one more cluster, same IdP and options
#   scripts/stack.sh stop DIR              # stops everything started in DIR
#
# Options of `start` (kept in DIR for `cluster`):
#   --release        run target/release/reference-cluster (default: target/debug)
#   --interval N     device-flow polling interval the IdP advertises (default 1)
#   --idp-log        the IdP logs one line per request to its log
#   --test-control   clusters serve /__test/faults and /__test/stats
#   --static-jwks    clusters get the IdP's jwks_endpoint instead of discovering it
#   --owner PID      stop the stack (as `stop` does) when process PID exits, so a
#                    caller that dies without stopping it leaves nothing behind
#
# The binaries must be built first (cargo build [--release] -p reference-cluster);
# CARGO_TARGET_DIR is honoured. `start` installs the IdP's npm packages when
# they are missing or older than tests/idp/package-lock.json.
#
# DIR (created if needed; the caller removes it after `stop`) receives:
#   stack.env             the IdP and the `default` cluster (below)
#   cluster-NAME.env      the IdP and cluster NAME, same variables
#   profile-NAME.toml     a CLI config file: profile `default` for cluster NAME
#   cluster-NAME.toml     the cluster's own config; cluster-NAME.sqlite its database
#   idp.log, cluster-NAME.log   their stderr
#   pids                  what `stop` stops (and `watcher`, with --owner)
# Each .env file holds shell assignments (`set -a; . DIR/stack.env; set +a`):
#   STACK_DIR STACK_ISSUER STACK_IDP_PID STACK_IDP_LOG
#   STACK_CLUSTER_NAME STACK_CLUSTER_URL STACK_CLUSTER_PORT STACK_CLUSTER_PID
#   STACK_CLUSTER_LOG STACK_CLUSTER_DB
#   INFLUX_BOOTSTRAP_CONFIG (= profile-NAME.toml) INFLUX_BOOTSTRAP_CACHE_DIR (= cache-NAME)
#   INFLUX_BOOTSTRAP_STATE_DIR (= state-NAME: token records and rotation
#   journals stay in DIR, not in ~/.local/state)
# The servers keep running after this script exits, until `stop` (or their
# owner's exit, or a signal).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AUDIENCE="https://cluster.example.test"
CLIENT_ID="influx-bootstrap"

die() { echo "stack: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

# A TOML basic string.
toml_str() {
    local s=${1//\\/\\\\}
    printf '"%s"' "${s//\"/\\\"}"
}

# KEY=VALUE with VALUE quoted for the shell.
assign() { printf '%s=%q\n' "$1" "$2"; }

# npm ci in tests/idp when oidc-provider is missing or the lock file is newer
# than the installed tree (the test-support crate applies the same rule).
npm_deps() {
    local dir=$ROOT/tests/idp
    if [ -f "$dir/node_modules/oidc-provider/package.json" ] \
        && [ -f "$dir/node_modules/.package-lock.json" ] \
        && ! [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        return
    fi
    echo "==> installing the local identity provider (npm ci in tests/idp)" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --silent)
}

# start_server NAME LOG COMMAND...: runs COMMAND in the background (stdout to
# a FIFO, stderr to LOG), reads its one-line JSON ready message into READY and
# records its pid. A server that exits before it is ready closes the FIFO,
# which ends the read at once.
start_server() {
    local name=$1 log=$2 fifo pid
    shift 2
    fifo="$DIR/.$name.ready"
    rm -f "$fifo"
    mkfifo "$fifo"
    "$@" >"$fifo" 2>"$log" </dev/null &
    pid=$!
    if ! IFS= read -r -t 60 READY <"$fifo" || [ -z "$READY" ]; then
        kill "$pid" 2>/dev/null || true
        rm -f "$fifo"
        echo "stack: $name did not start; the end of $log:" >&2
        tail -n 20 "$log" >&2 || true
        exit 1
    fi
    rm -f "$fifo"
    echo "$pid" >>"$DIR/pids"
    SERVER_PID=$pid
}

json_field() { # json_field KEY: a string or number field of $READY
    printf '%s' "$READY" | sed -nE "s/.*\"$1\":\"?([^\",}]+).*/\1/p"
}

# start_cluster NAME: a reference cluster against $STACK_ISSUER; writes
# cluster-NAME.env (and its config and CLI profile).
start_cluster() {
    local name=$1
    [[ $name =~ ^[A-Za-z0-9_-]+$ ]] || die "cluster names are letters, digits, - and _: $name"
    [ -e "$DIR/cluster-$name.env" ] && die "cluster $name is already running in $DIR"
    local bin="$TARGET_DIR/$PROFILE/reference-cluster"
    [ -x "$bin" ] || die "$bin is missing; build it first: cargo build ${RELEASE:+--release }-p reference-cluster"
    local config="$DIR/cluster-$name.toml" db="$DIR/cluster-$name.sqlite" log="$DIR/cluster-$name.log"
    {
        echo "# written by scripts/stack.sh"
        echo 'listen = "127.0.0.1:0"'
        echo "database = $(toml_str "$db")"
        echo "[identity]"
        echo "issuer = $(toml_str "$STACK_ISSUER")"
        [ -n "$STATIC_JWKS" ] && echo "jwks_endpoint = $(toml_str "$STACK_ISSUER/jwks")"
        echo "audience = $(toml_str "$AUDIENCE")"
        echo "[[admin.users]]"
        echo 'id = "admin"'
        echo 'firstName = "Ada"'
        echo 'lastName = "Admin"'
        echo 'email = "ada@example.test"'
        if [ -n "$TEST_CONTROL" ]; then
            echo "[faults]"
            echo "test_control = true"
        fi
    } >"$config"
    start_server "cluster-$name" "$log" "$bin" --config "$config"
    local port url
    port=$(json_field port)
    url=$(json_field listening)
    [ -n "$port" ] && [ -n "$url" ] || die "cluster $name: unexpected ready line: $READY"
    local profile="$DIR/profile-$name.toml"
    cat >"$profile" <<TOML
# Throwaway profile written by scripts/stack.sh (cluster $name)
[[profile]]
  name = "default"
  product = "clustered"
  host = "127.0.0.1"
  port = "$port"
  [profile.tls]
    disable = true   # plain http on loopback only
  [profile.auth.oauth2]
    client_id = "$CLIENT_ID"
    issuer = $(toml_str "$STACK_ISSUER")
    scopes = ["openid", "profile", "email", "offline_access"]
    parameters = { resource = "$AUDIENCE" }
TOML
    {
        cat "$DIR/idp.env"
        assign STACK_CLUSTER_NAME "$name"
        assign STACK_CLUSTER_URL "$url"
        assign STACK_CLUSTER_PORT "$port"
        assign STACK_CLUSTER_PID "$SERVER_PID"
        assign STACK_CLUSTER_LOG "$log"
        assign STACK_CLUSTER_DB "$db"
        assign INFLUX_BOOTSTRAP_CONFIG "$profile"
        assign INFLUX_BOOTSTRAP_CACHE_DIR "$DIR/cache-$name"
        assign INFLUX_BOOTSTRAP_STATE_DIR "$DIR/state-$name"
    } >"$DIR/cluster-$name.env"
    echo "    cluster $name: $url (pid $SERVER_PID)" >&2
}

load_options() {
    [ -f "$DIR/options" ] || die "no stack in $DIR (run: scripts/stack.sh start $DIR)"
    # shellcheck disable=SC1091
    . "$DIR/options"
    # shellcheck disable=SC1091
    . "$DIR/idp.env"
    TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
    PROFILE=${RELEASE:+release}
    PROFILE=${PROFILE:-debug}
}

cmd_start() {
    local interval=1 idp_log="" owner=""
    RELEASE="" TEST_CONTROL="" STATIC_JWKS=""
    while [ $# -gt 0 ]; do
        case $1 in
            --release) RELEASE=1 ;;
            --interval) [ $# -ge 2 ] || die "--interval needs a value"; interval=$2; shift ;;
            --idp-log) idp_log=1 ;;
            --test-control) TEST_CONTROL=1 ;;
            --static-jwks) STATIC_JWKS=1 ;;
            --owner) [ $# -ge 2 ] || die "--owner needs a pid"; owner=$2; shift ;;
            *) die "unknown option $1 (see scripts/stack.sh --help)" ;;
        esac
        shift
    done
    [[ $interval =~ ^[0-9]+$ ]] || die "--interval takes whole seconds: $interval"
    if [ -n "$owner" ]; then
        kill -0 "$owner" 2>/dev/null || die "--owner $owner: no such process"
    fi
    command -v node >/dev/null || die "node is required (Node.js >= 18, with npm)"
    if [ -e "$DIR/pids" ]; then
        die "a stack is already running in $DIR (scripts/stack.sh stop $DIR)"
    fi
    mkdir -p "$DIR"
    {
        assign RELEASE "$RELEASE"
        assign TEST_CONTROL "$TEST_CONTROL"
        assign STATIC_JWKS "$STATIC_JWKS"
    } >"$DIR/options"
    TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
    PROFILE=${RELEASE:+release}
    PROFILE=${PROFILE:-debug}
    : >"$DIR/pids"
    # Half a stack is no use: stop what did start if the rest fails.
    trap 'status=$?; [ "$status" -eq 0 ] || cmd_stop' EXIT
    npm_deps

    echo "==> starting the local identity provider (tests/idp)" >&2
    local args=(node "$ROOT/tests/idp/server.mjs" --interval "$interval" --no-stdin-exit)
    [ -n "$idp_log" ] && args+=(--log)
    start_server idp "$DIR/idp.log" "${args[@]}"
    STACK_ISSUER=$(json_field issuer)
    [ -n "$STACK_ISSUER" ] || die "IdP: unexpected ready line: $READY"
    {
        assign STACK_DIR "$DIR"
        assign STACK_ISSUER "$STACK_ISSUER"
        assign STACK_IDP_PID "$SERVER_PID"
        assign STACK_IDP_LOG "$DIR/idp.log"
    } >"$DIR/idp.env"
    echo "    issuer: $STACK_ISSUER (pid $SERVER_PID)" >&2

    echo "==> starting the reference cluster" >&2
    start_cluster default
    cp "$DIR/cluster-default.env" "$DIR/stack.env"
    next_steps

    if [ -n "$owner" ]; then
        # Waits for the owner's exit (tail --pid), then stops the stack; an
        # explicit `stop` ends this watcher first.
        (
            trap 'kill "$tail" 2>/dev/null; exit 0' TERM
            tail --pid="$owner" -f /dev/null 2>/dev/null &
            tail=$!
            wait "$tail" || exit 0
            rm -f "$DIR/watcher"
            "$0" stop "$DIR"
        ) </dev/null >/dev/null 2>&1 &
        echo $! >"$DIR/watcher"
    fi
}

# How to point the CLI at the stack by hand (stderr: stdout stays clean).
next_steps() {
    local port
    port=$(sed -nE 's/^STACK_CLUSTER_PORT=(.*)$/\1/p' "$DIR/stack.env")
    cat >&2 <<EOF
==> ready. Use it by hand with the throwaway profile (config, session cache
    and token records all stay in $DIR):
      set -a; . $(printf '%q' "$DIR/stack.env"); set +a
      influx-bootstrap doctor && influx-bootstrap login
    or write a profile of your own for it:
      influx-bootstrap config init --host http://127.0.0.1:$port --issuer $STACK_ISSUER \\
        --client-id $CLIENT_ID --resource $AUDIENCE
    Approve a device code as 'admin' on the page it shows (any password), or:
      curl -X POST $STACK_ISSUER/__test/approve -H 'content-type: application/json' \\
        -d '{"user_code":"CODE","user":"admin"}'
    Stop it with: scripts/stack.sh stop $(printf '%q' "$DIR")
EOF
}

cmd_cluster() {
    [ $# -eq 1 ] || die "usage: scripts/stack.sh cluster DIR NAME"
    load_options
    start_cluster "$1"
}

gone() {
    ! kill -0 "$1" 2>/dev/null || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

cmd_stop() {
    [ $# -eq 0 ] || die "usage: scripts/stack.sh stop DIR"
    if [ -f "$DIR/watcher" ]; then
        kill -TERM "$(cat "$DIR/watcher")" 2>/dev/null || true
        rm -f "$DIR/watcher"
    fi
    [ -f "$DIR/pids" ] || return 0
    local pids pid
    # Clusters first (newest first), the IdP last.
    pids=$(tac "$DIR/pids")
    for pid in $pids; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $pids; do
        # Not our child (the start script has exited), so no `wait`: look
        # until it is gone (or a zombie, its exit done), for at most 10 s.
        local i=0
        until gone "$pid" || [ $((i += 1)) -gt 200 ]; do sleep 0.05; done
        gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
    done
    rm -f "$DIR/pids"
}

[ $# -ge 1 ] || usage
case $1 in -h | --help) usage ;; esac
[ $# -ge 2 ] || usage
CMD=$1
DIR=$2
shift 2
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac
case $CMD in
    start) cmd_start "$@" ;;
    cluster) cmd_cluster "$@" ;;
    stop) cmd_stop "$@" ;;
    *) usage ;;
esac
