#!/usr/bin/env bash
# bench-dev.sh [N]: the development loop's latency. `molt dev` runs the
# tally fixture; a new build of it (two builds of the same vsn, in turn) is
# renamed into the watched directory N times (default 100), each once the
# previous reload is live. molt dev reports, per reload, the time from the
# inotify event to every actor running the new code; this prints the
# median, p90, p99 and max of those N figures. (The inotify event itself
# comes ~3.5 us after the rename: ../shared/anchors/limits.) A second
# line says the same in molt-bench's form, for tools/bench-compare.sh:
# `molt devloop n=N median_ms=... p90_ms=... p99_ms=... max_ms=...`.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
tools/setup.sh >/dev/null
molt=$PWD/build/bin/molt
fixtures=$PWD/build/tests/fixtures
work=$(mktemp -d /tmp/molt-bench-dev.XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
mkdir "$work/w"
cp "$fixtures/tally-a-1.0.0.so" "$work/w/tally.so"
export MOLT_HOME=$work/home
"$molt" dev --module "$work/w/tally.so" --watch "$work/w" >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q "molt: running" "$work/log" 2>/dev/null && break; sleep 0.05; done
reloads() { grep -c "actors migrated, live" "$work/log" || true; }
for i in $(seq "$n"); do
  variant=$([ $((i % 2)) -eq 1 ] && echo b || echo a)
  cp "$fixtures/tally-$variant-1.0.0.so" "$work/w/.next"
  mv "$work/w/.next" "$work/w/tally.so"
  for _ in $(seq 2000); do [ "$(reloads)" -ge "$i" ] && break; sleep 0.005; done
done
"$molt" stop >/dev/null
wait "$pid" || true
pid=""
grep -o "live [0-9.]* ms" "$work/log" | awk '{print $2}' | sort -n | awk -v n="$n" '
  { v[NR] = $1 }
  END {
    if (NR != n) { printf "only %d of %d reloads went live\n", NR, n; exit 1 }
    printf "molt dev: %d reloads, file event -> all actors on the new code: median %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
      NR, v[int((NR + 1) / 2)], v[int(NR * 0.90 + 0.999)], v[int(NR * 0.99 + 0.999)], v[NR]
    printf "molt devloop n=%d median_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
      NR, v[int((NR + 1) / 2)], v[int(NR * 0.90 + 0.999)], v[int(NR * 0.99 + 0.999)], v[NR]
  }'
