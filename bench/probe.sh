#!/bin/sh
# How fast a wrong host, port or scheme is reported (issue 10: "fail in
# under 2 s"): the pre-flight probe against nothing listening, a name that
# does not resolve, and a plain-HTTP server on the port the profile calls
# HTTPS. Prints the median of N runs of `management list` per case, in ms.
#
#   bench/probe.sh [BINARY] [N]     (default: target/debug/influx-bootstrap, 5)
set -eu
bin=${1:-target/debug/influx-bootstrap}
n=${2:-5}
dir=$(mktemp -d)
trap 'kill "$http_pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
python3 -m http.server "$http_port" --bind 127.0.0.1 --directory "$dir" >/dev/null 2>&1 &
http_pid=$!
# Wait until the plain-HTTP server answers (an event, not a sleep).
until python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$http_port/')" 2>/dev/null; do :; done

profile() { # host port tls_disable
  printf '[[profile]]\nname = "default"\nhost = "%s"\nport = "%s"\n' "$1" "$2"
  [ "$3" = true ] && printf '[profile.tls]\ndisable = true\n'
  printf '[profile.auth.oauth2]\nclient_id = "x"\nissuer = "https://idp.example.invalid/"\n'
}
run_case() { # name host port tls_disable
  profile "$2" "$3" "$4" > "$dir/config.toml"
  times=""
  i=0
  while [ "$i" -lt "$n" ]; do
    start=$(date +%s%N)
    INFLUX_BOOTSTRAP_CONFIG="$dir/config.toml" INFLUX_BOOTSTRAP_CACHE_DIR="$dir/cache" \
      "$bin" management list >/dev/null 2>"$dir/err" && exit 1 || code=$?
    end=$(date +%s%N)
    times="$times $(( (end - start) / 1000000 ))"
    i=$((i + 1))
  done
  median=$(printf '%s\n' $times | sort -n | sed -n "$(( (n + 1) / 2 ))p")
  printf '%-32s exit %s  median %4s ms  (runs:%s)\n' "$1" "$code" "$median" "$times"
  sed -n 1p "$dir/err" | cut -c1-110
}
run_case "connection refused" 127.0.0.1 "$(free_port)" true
run_case "DNS failure" no-such-cluster.invalid 443 false
run_case "plain HTTP on the HTTPS port" 127.0.0.1 "$http_port" false
