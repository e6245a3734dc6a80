#!/usr/bin/env bash
# demo.sh: set up and build (tools/setup.sh), then run the container on the
# bundled demo release in a temporary home and, under the drivers' steady
# load, roll it out: 1.0.0 -> 1.1.0 (a soft load of the counter), commit,
# -> 2.0.0 (the counter's state layout changes through code_change, the
# stats module is added and heartbeat removed), then roll back to 1.1.0
# (code_change down). Each step prints its plan and how long it took; the
# end proves that every increment the drivers sent was counted. The demo's
# HTTP service (modules/http) listens on 127.0.0.1:$MOLT_HTTP_PORT (default
# 8480): one keep-alive connection, opened at the start, adds to a key after
# each step and shows which version answered; its increments join the proof.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
molt=build/bin/molt
rel=build/releases
home=$(mktemp -d /tmp/molt-demo.XXXXXX)
log=$home.log
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$home" "$log"' EXIT
export MOLT_HOME=$home
export MOLT_HTTP_PORT=${MOLT_HTTP_PORT:-8480}
http_puts=0
step() { printf '\n== %s\n' "$*"; }
# PUT /keys/demo on the keep-alive connection (fd 3, bash's /dev/tcp: no
# curl needed) and print which version answered and what it said.
http_put() {
  printf 'PUT /keys/demo HTTP/1.1\r\nHost: demo\r\nContent-Length: 0\r\n\r\n' >&3
  local line len=0 vsn=""
  while IFS= read -r -t 5 line <&3; do
    line=${line%$'\r'}
    [ -z "$line" ] && break
    case $line in
      Content-Length:*) len=${line#*: } ;;
      X-Molt-Version:*) vsn=${line#*: } ;;
    esac
  done
  local body=""
  [ "$len" -gt 0 ] && IFS= read -r -t 5 -N "$len" body <&3
  http_puts=$((http_puts + 1))
  echo "http: PUT /keys/demo on the connection opened at the start: X-Molt-Version $vsn, ${body%$'\n'}"
}
counter() { "$molt" inspect counter --json | grep -E '"(vsn|total)"' | tr -d '\t,' | paste -sd' '; }

step "molt run --release $rel/demo-1.0.0   (a counter, 4 drivers sending it 5,000 increments/s, an HTTP service, a heartbeat)"
"$molt" run --release "$rel/demo-1.0.0" >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "running release" "$log" 2>/dev/null && break; sleep 0.1; done
head -1 "$log"
exec 3<>"/dev/tcp/127.0.0.1/$MOLT_HTTP_PORT"
http_put
step "molt unpack $rel/demo-1.1.0 and demo-2.0.0; molt releases"
"$molt" unpack "$rel/demo-1.1.0"
"$molt" unpack "$rel/demo-2.0.0"
"$molt" releases
sleep 1
step "molt upgrade 1.1.0   (same state layout: a soft load)"
"$molt" upgrade 1.1.0
echo "counter: $(counter)"
http_put
step "molt commit"
"$molt" commit
sleep 1
step "molt upgrade 2.0.0   (new state layout: code_change up; stats added, heartbeat removed)"
"$molt" upgrade 2.0.0
echo "counter: $(counter)"
http_put
sleep 1
step "molt rollback   (back to the permanent 1.1.0: code_change down)"
"$molt" rollback
echo "counter: $(counter)"
http_put
exec 3<&-
step "molt releases; molt status"
"$molt" releases
"$molt" status
sleep 1
step "molt stop"
"$molt" stop
wait "$pid"
pid=""
step "the container's log"
cat "$log"

sent=$(grep -o 'driver: terminating .*sent [0-9]*' "$log" | grep -o '[0-9]*$' | awk '{s += $1} END {print s + 0}')
counted=$(grep -o 'counter: terminating .*total [0-9]*' "$log" | grep -o '[0-9]*$')
step "proof"
echo "the drivers sent $sent increments and the HTTP client $http_puts; the counter counted $counted across three release changes; lost: $((sent + http_puts - counted))"
[ "$sent" -gt 0 ] && [ $((sent + http_puts)) = "$counted" ] && ! grep -q "mismatch on" "$log"
