#!/usr/bin/env bash
# demo.sh: set up and build (tools/setup.sh), then run the container on the
# bundled demo release in a temporary home and, under the drivers' steady
# load, replace the counter's code three times: a soft load (1.0.0 ->
# 1.1.0), a state migration (1.1.0 -> 2.0.0, code_change up) and a rollback
# (2.0.0 -> 1.1.0, code_change down). At the end it checks that every
# increment the drivers sent was counted.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
molt=build/bin/molt
mods=build/modules
home=$(mktemp -d /tmp/molt-demo.XXXXXX)
log=$home.log
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$home" "$log"' EXIT
export MOLT_HOME=$home
step() { printf '\n== %s\n' "$*"; }

step "molt run --release build/releases/demo-1.0.0   (a counter, 4 drivers sending it 5,000 increments/s, a heartbeat)"
"$molt" run --release build/releases/demo-1.0.0 >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "running release" "$log" 2>/dev/null && break; sleep 0.1; done
head -1 "$log"
step "molt status"
"$molt" status
sleep 1
step "molt load $mods/counter-1.1.0.so   (same state layout: a soft load)"
"$molt" load "$mods/counter-1.1.0.so"
sleep 1
step "molt load $mods/counter-2.0.0.so   (new state layout: code_change up on every counter actor)"
"$molt" load "$mods/counter-2.0.0.so"
sleep 1
step "molt inspect counter   (its state, now in 2.0.0's layout)"
"$molt" inspect counter | head -24
step "molt load --down $mods/counter-1.1.0.so   (rollback: 2.0.0's code_change down)"
"$molt" load --down "$mods/counter-1.1.0.so"
sleep 1
step "molt status"
"$molt" status
step "molt stop"
"$molt" stop
wait "$pid"
pid=""
step "the container's log"
cat "$log"

sent=$(grep -o 'driver: terminating .*sent [0-9]*' "$log" | grep -o '[0-9]*$' | awk '{s += $1} END {print s + 0}')
counted=$(grep -o 'counter: terminating .*total [0-9]*' "$log" | grep -o '[0-9]*$')
step "proof"
echo "the drivers sent $sent increments; the counter counted $counted across three code changes; lost: $((sent - counted))"
[ "$sent" -gt 0 ] && [ "$sent" = "$counted" ] && ! grep -q "mismatch on" "$log"
