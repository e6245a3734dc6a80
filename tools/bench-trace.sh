#!/usr/bin/env bash
# bench-trace.sh [RUNS]: what molt trace's trace points cost when nothing
# is traced, and what tracing one actor costs. The ring and ping-pong rows
# of bench-compare.sh run alternately, RUNS times (default 5; also $RUNS),
# each in a fresh process, on up to three builds of molt-bench:
#   ON=DIR   trace points compiled in, the default (default: build)
#   OFF=DIR  configured with -DMOLT_TRACE=OFF (default: build-notrace)
#   BASE=DIR a build of a commit before the trace points existed (optional)
# then the same rows with one actor traced (--trace-one, on ON: the ring's
# driver, one of its N members; ping-pong's pong). Prints the medians, a
# table per build, and keeps the raw lines in $OUT/raw.txt.
#
# The builds, for example (RelWithDebInfo, as bench numbers must be):
#   cmake -S . -B build-notrace -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOLT_TRACE=OFF
#   cmake --build build-notrace -j2 --target molt-bench
#   git archive <commit> | tar -x -C /tmp/base && cmake -S /tmp/base -B /tmp/base/build ... (BASE=/tmp/base/build)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-${RUNS:-5}}
on=${ON:-build} off=${OFF:-build-notrace} base=${BASE:-}
out=${OUT:-$(mktemp -d /tmp/bench-trace.XXXXXX)}
mkdir -p "$out"
raw=$out/raw.txt
: >"$raw"
ncores=$(nproc)
builds="on off"
[ -n "$base" ] && builds="base on off"
bin() { case $1 in on) echo "$on/bin/molt-bench" ;; off) echo "$off/bin/molt-bench" ;; base) echo "$base/bin/molt-bench" ;; esac; }
for b in $builds; do [ -x "$(bin "$b")" ] || { echo "bench-trace: $(bin "$b") missing (see the comment at the top)" >&2; exit 1; }; done
if [ "${QUICK:-0}" = 1 ]; then
  ring_a="100 100"; ring_b="1000 10"; pp="100000 1000"; pp_across="10000 1000"
else
  ring_a="1000 1000"; ring_b="100000 10"; pp="1000000 1000"; pp_across="200000 1000"
fi

# one BUILD TAG ARGS...: a run of molt-bench, its line tagged.
one() {
  local b=$1 tag=$2
  shift 2
  "$(bin "$b")" "$@" 2>/dev/null | sed "s/^molt /$tag /; s/\$/ run=$r/" | tee -a "$raw" >&2
}
for r in $(seq "$runs"); do
  echo "== run $r of $runs" >&2
  for s in 1 "$ncores"; do
    for b in $builds; do
      # shellcheck disable=SC2086
      one "$b" "$b" ring $ring_a --schedulers "$s"
      # shellcheck disable=SC2086
      one "$b" "$b" ring $ring_b --schedulers "$s"
      # shellcheck disable=SC2086
      one "$b" "$b" pingpong $pp --schedulers "$s"
    done
    # shellcheck disable=SC2086
    one on traced ring $ring_b --schedulers "$s" --trace-one
    # shellcheck disable=SC2086
    one on traced pingpong $pp --schedulers "$s" --trace-one
  done
  if [ "$ncores" -ge 2 ]; then
    for b in $builds; do
      # shellcheck disable=SC2086
      one "$b" "$b" pingpong_across $pp_across --schedulers "$ncores"
    done
  fi
done

rows() {
  local s
  for s in 1 "$ncores"; do
    echo "ring ${ring_a// /x} msgs/s, sched=$s|ring sched=$s n=${ring_a% *} m=${ring_a#* }|msgs_per_s"
    echo "ring ${ring_b// /x} msgs/s, sched=$s|ring sched=$s n=${ring_b% *} m=${ring_b#* }|msgs_per_s"
    echo "ping-pong round trip ns, sched=$s|pingpong sched=$s|median_ns_per_rt"
    echo "ping-pong single rt ns, sched=$s|pingpong sched=$s|single_rt_median_ns"
  done
  [ "$ncores" -ge 2 ] && echo "ping-pong across 2 scheds, rt ns|pingpong_across sched=$ncores|median_ns_per_rt"
  return 0
}
echo
rows | awk -F'|' -v raw="$raw" -v builds="$builds" '
  function has(line, words,   w, k, n) {
    n = split(words, w, " ")
    for (k = 1; k <= n; k++) if (index(" " line " ", " " w[k] " ") == 0) return 0
    return 1
  }
  # The median of the runs, and (best) the best run: this machine has a
  # slow mode that takes whole processes, whatever their build.
  function median(tag, words, key,   i, n, v, line, parts, j, t) {
    n = 0
    for (i = 1; i <= nlines; i++) {
      line = lines[i]
      if (substr(line, 1, length(tag) + 1) != tag " " || !has(line, words)) continue
      split(line, parts, " ")
      for (j in parts) if (index(parts[j], key "=") == 1) { v[++n] = substr(parts[j], length(key) + 2) + 0 }
    }
    if (n == 0) return ""
    for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    best = key == "msgs_per_s" ? v[n] : v[1]
    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  function num(x) {
    if (x == "") return "-"
    if (x >= 1000000) return sprintf("%.1fM", x / 1000000)
    if (x >= 10000) return sprintf("%.0fk", x / 1000)
    return sprintf("%.1f", x)
  }
  BEGIN {
    while ((getline l < raw) > 0) lines[++nlines] = l
    nb = split(builds " traced", b, " ")
    printf "%-38s", "workload: median (best)"
    for (i = 1; i <= nb; i++) printf " %15s", (b[i] == "on" ? "trace in" : b[i] == "off" ? "trace out" : b[i] == "base" ? "no trace code" : "1 traced")
    printf "\n"
  }
  {
    printf "%-38s", $1
    for (i = 1; i <= nb; i++) { m = median(b[i], $2, $3); printf " %15s", m == "" ? "-" : num(m) " (" num(best) ")" }
    printf "\n"
  }'
echo
echo "medians of $runs runs (best run in brackets), builds alternated within each run; raw lines: $raw"
echo "1 traced: the trace-in build with one actor traced at the default rate (the ring's driver, one of"
echo "  its N members; ping-pong's pong), read every 100 ms as molt trace reads"
echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(uname -sr)"
echo "molt: $(git describe --always --dirty 2>/dev/null || echo unknown)"
