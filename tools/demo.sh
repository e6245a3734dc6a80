#!/usr/bin/env bash
# demo.sh: set up and build (tools/setup.sh), then run the container on the
# bundled demo release in a temporary home: the counter service under
# steady load from its drivers, `molt status` twice, and a clean stop.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
molt=build/bin/molt
home=$(mktemp -d /tmp/molt-demo.XXXXXX)
log=$home/container.log
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$home"' EXIT

echo "== molt run --home $home --release build/releases/demo-1.0.0"
"$molt" run --home "$home" --release build/releases/demo-1.0.0 >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "running release" "$log" 2>/dev/null && break; sleep 0.1; done
cat "$log"

echo; echo "== molt status"
"$molt" status --home "$home"
sleep 2
echo; echo "== molt status --json (2 s later)"
"$molt" status --home "$home" --json

echo; echo "== molt stop"
"$molt" stop --home "$home"
wait "$pid"
echo; echo "== the container's log (each driver checks the counter's answers: mismatches must be 0)"
cat "$log"
