#!/usr/bin/env bash
# bench-metrics.sh [ACTORS] [SCRAPES]: what a /metrics scrape costs in a
# container of ACTORS idle actors (default 100000) beside the demo's
# counter and four drivers: SCRAPES scrapes (default 100) with curl, each
# one's collection time as the container reports it
# (molt_scrape_duration_seconds, on the metrics thread; the schedulers do
# none of it). Prints min, median, p99 and max in ms. Needs build/.
set -euo pipefail
cd "$(dirname "$0")/.."
actors=${1:-100000} scrapes=${2:-100}
dir=$(mktemp -d /tmp/molt-bench-metrics.XXXXXX)
trap 'build/bin/molt stop --home "$dir/home" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
mkdir "$dir/mods"
cp build/modules/bench_cnt-1.0.0.so build/modules/counter-1.0.0.so build/modules/driver-1.0.0.so "$dir/mods/"
cat >"$dir/src.json" <<JSON
{"name": "big", "version": "1.0.0",
 "modules": [{"name": "bench_cnt", "vsn": "1.0.0", "file": "bench_cnt-1.0.0.so"},
             {"name": "counter", "vsn": "1.0.0", "file": "counter-1.0.0.so"},
             {"name": "driver", "vsn": "1.0.0", "file": "driver-1.0.0.so"}],
 "supervisor": {"name": "big_sup", "strategy": "one_for_one", "intensity": 5, "period_ms": 10000,
   "children": [{"id": "counter", "module": "counter", "args": {"name": "counter"}},
                {"id": "drivers", "module": "driver", "count": 4,
                 "args": {"target": "counter", "interval_ms": 20, "keys": 8, "batch": 25}},
                {"id": "idle", "module": "bench_cnt", "count": $actors, "args": {}}]}}
JSON
build/bin/molt-bundle "$dir/src.json" "$dir/mods" "$dir/bundle" >/dev/null
build/bin/molt run --home "$dir/home" --release "$dir/bundle" --schedulers 2 --metrics 127.0.0.1:0 >"$dir/out" 2>&1 &
for _ in $(seq 120); do grep -q 'molt: running' "$dir/out" && break; sleep 0.5; done
grep 'molt: running' "$dir/out"
port=$(grep -o 'metrics on port [0-9]*' "$dir/out" | grep -o '[0-9]*$')
for _ in $(seq "$scrapes"); do
  curl -sS --max-time 5 "http://127.0.0.1:$port/metrics" | awk '/^molt_scrape_duration_seconds/ { print $2 * 1000 }'
done | sort -n | awk '{ a[NR] = $1 } END {
  printf "%d scrapes: min %.2f ms, median %.2f ms, p99 %.2f ms, max %.2f ms on the metrics thread; 0 on the schedulers\n",
         NR, a[1], a[int((NR + 1) / 2)], a[int(NR * 0.99 + 0.5)], a[NR] }'
