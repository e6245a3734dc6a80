#!/usr/bin/env bash
# bench-upgrade.sh [N] [CYCLES]: the release upgrade of N counter actors
# (default 100,000) whose state layout changes (counter 1.0.0 <-> 2.0.0,
# code_change up and down), CYCLES times each way (default 3), on a real
# container built by tools/setup.sh. Prints molt's own report of each
# change: actors switched, the pause (first scheduler stopped .. last
# resumed) and the whole command, then the container's RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
cycles=${2:-3}
tools/setup.sh >/dev/null
molt=build/bin/molt
work=$(mktemp -d /tmp/molt-bench.XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
for v in 1.0.0 2.0.0; do
  cat >"$work/$v.json" <<JSON
{"name": "bench", "version": "$v",
 "modules": [{"name": "counter", "vsn": "$v", "file": "counter-$v.so"}],
 "supervisor": {"name": "bench_sup", "children": [{"id": "c", "module": "counter", "count": $n}]}}
JSON
  build/bin/molt-bundle "$work/$v.json" build/modules "$work/bench-$v" >/dev/null
done
export MOLT_HOME=$work/home
"$molt" run --release "$work/bench-1.0.0" >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q "running release" "$work/log" 2>/dev/null && break; sleep 0.1; done
head -1 "$work/log"
"$molt" unpack "$work/bench-2.0.0" >/dev/null
for _ in $(seq "$cycles"); do
  "$molt" upgrade 2.0.0 | tail -1
  "$molt" upgrade 1.0.0 | tail -1
done
echo "container RSS: $(awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status")"
"$molt" stop >/dev/null
wait "$pid"
pid=""
