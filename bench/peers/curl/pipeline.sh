#!/usr/bin/env bash
# Peer implementation of influx-bootstrap's `login` + `management create`
# pipeline in bash with curl and jq, for bench/ only (the floor an admin's
# own script would set): discovery -> device authorization (RFC 8628 §3.1,
# with `resource`) -> poll the token endpoint (§3.4) -> POST
# {cluster}/api/v0/management/tokens.
#
# Polling follows RFC 8628 §3.5: wait `interval` seconds (5 if absent)
# before every poll, the first included; `authorization_pending` keeps
# polling, `slow_down` adds 5 seconds to the interval for this and every
# later poll; any other error ends the run. The ID token is not checked
# (nor by the Node.js and Python peers).
#
#   pipeline.sh --issuer URL --client-id ID --resource URI --cluster URL \
#       [--description TEXT] [--scope "openid profile email offline_access"]
#
# stdout, one JSON object per line (the protocol of the other peers):
#   {"event":"device_code","user_code":...}        as soon as the code is known
#   {"event":"done","wall_ms":...,"polls":...,...}  at the end; wall_ms from the script's start
# Exit status 0 on success, 1 on any failure (message on stderr). Needs bash 5
# (EPOCHREALTIME), curl and jq.
set -euo pipefail
T0=${EPOCHREALTIME/./}

die() { echo "peer-curl: $*" >&2; exit 1; }
# Marks without a subshell (every fork costs, and a script's cost is forks).
mark() { printf -v "$1" '%d' $(( (${EPOCHREALTIME/./} - T0) / 1000 )); }

issuer="" client_id="" resource="" cluster="" description="bench peer (curl)"
scope="openid profile email offline_access"
while [ $# -gt 0 ]; do
    case $1 in
        --issuer) issuer=${2%/} ;;
        --client-id) client_id=$2 ;;
        --resource) resource=$2 ;;
        --cluster) cluster=${2%/} ;;
        --description) description=$2 ;;
        --scope) scope=$2 ;;
        *) die "unknown argument $1" ;;
    esac
    shift 2
done
[ -n "$issuer" ] && [ -n "$client_id" ] && [ -n "$resource" ] && [ -n "$cluster" ] \
    || die "usage: pipeline.sh --issuer URL --client-id ID --resource URI --cluster URL"
command -v jq >/dev/null || die "jq is not installed (apt-get install -y jq)"
mark marks_imported

# curl prints the body, then a last line with the HTTP status: `split`
# sets $status and $body (no subshell).
split() { status=${1##*$'\n'}; body=${1%$'\n'*}; }
CURL=(curl -sS --max-time 30 -w '\n%{http_code}')

r=$("${CURL[@]}" "$issuer/.well-known/openid-configuration") || die "discovery failed"
split "$r"
[ "$status" = 200 ] || die "discovery: HTTP $status"
{ read -r meta_issuer; read -r device_endpoint; read -r token_endpoint; } < <(
    jq -r '(.issuer | rtrimstr("/")), .device_authorization_endpoint, .token_endpoint' <<<"$body")
[ "$meta_issuer" = "$issuer" ] || die "discovery: issuer mismatch"
mark marks_discovered

r=$("${CURL[@]}" -H 'Accept: application/json' \
    --data-urlencode "client_id=$client_id" --data-urlencode "scope=$scope" \
    --data-urlencode "resource=$resource" "$device_endpoint") || die "device authorization failed"
split "$r"
[ "$status" = 200 ] || die "device authorization: HTTP $status $(jq -r '.error // empty' <<<"$body" 2>/dev/null)"
# One jq: the fields, and the device_code event line (printed at once).
{ read -r device_code; read -r interval; read -r expires_in; read -r event; } < <(
    jq -r '.device_code, (.interval // 5), (.expires_in // 600),
        ({event: "device_code", user_code, verification_uri, interval: (.interval // 5)} | tojson)' <<<"$body")
mark marks_device_code
echo "$event"

polls=0 slow_downs=0
deadline=$(( SECONDS + expires_in ))
while :; do
    sleep "$interval"
    [ "$SECONDS" -le "$deadline" ] || die "device code expired"
    polls=$(( polls + 1 ))
    r=$("${CURL[@]}" -H 'Accept: application/json' \
        --data-urlencode "grant_type=urn:ietf:params:oauth:grant-type:device_code" \
        --data-urlencode "device_code=$device_code" --data-urlencode "client_id=$client_id" \
        "$token_endpoint") || die "token request failed"
    split "$r"
    if [ "$status" = 200 ]; then
        break
    fi
    error=$(jq -r '.error // "?"' <<<"$body")
    case $error in
        authorization_pending) ;;
        slow_down) interval=$(( interval + 5 )); slow_downs=$(( slow_downs + 1 )) ;;
        *) die "token: HTTP $status $error" ;;
    esac
done
read -r access_token < <(jq -r '.access_token' <<<"$body")
mark marks_authorized

# The bearer token reaches curl through a header file on stdin, never argv.
read -r key < /proc/sys/kernel/random/uuid
# The description as a JSON string without a jq run: bash escapes \ and " (the
# bench's descriptions hold no control characters).
d=${description//\\/\\\\}
d=${d//\"/\\\"}
r=$(printf 'Authorization: Bearer %s\n' "$access_token" | "${CURL[@]}" -H @- \
    -H 'Accept: application/json' -H 'Content-Type: application/json' -H "Idempotency-Key: $key" \
    --data-binary "{\"description\":\"$d\",\"expiresAt\":null}" \
    "$cluster/api/v0/management/tokens") || die "create failed"
split "$r"
[ "$status" = 201 ] || die "create: HTTP $status $(jq -r '.message // empty' <<<"$body" 2>/dev/null)"
created=$body
mark marks_created

# One jq: check the answer holds a token, and write the done line.
jq -c --argjson polls "$polls" --argjson slow "$slow_downs" \
    --argjson m "{\"imported\":$marks_imported,\"discovered\":$marks_discovered,\"device_code\":$marks_device_code,\"authorized\":$marks_authorized,\"created\":$marks_created}" \
    'if (.accessToken | type) != "string" then error("create: no accessToken") else
     {event: "done", wall_ms: $m.created, marks: $m, polls: $polls, slow_down: $slow,
      requests: {discovery: 1, device_authorization: 1, token: $polls, create: 1},
      id, token_prefix: .tokenPrefix} end' <<<"$created" || die "create: no accessToken"
