#!/usr/bin/env bash
# bench-compare.sh [RUNS]: molt's workloads (build/bin/molt-bench) and the
# BEAM's (../shared/anchors/beam, needs erlang-base) run alternately, RUNS
# times (default 3; also $RUNS), each in a fresh process; prints one table
# of medians with the ratio molt/BEAM per row and which way is better,
# then the machine and the versions. Every raw line is kept in
# $OUT/raw.txt (OUT: a fresh temporary directory unless set).
#
# QUICK=1 runs every workload at toy sizes (checks the script, not speed).
# ANCHORS=DIR points at another copy of the anchors.
# FAST_BUILD=DIR (default build-fast): if it holds a build configured with
# -DMOLT_MODULE_FAST_LOAD=ON, its soft load runs too, as a row of its own.
#
# The BEAM programs write their build outputs next to themselves, so they
# are copied to a scratch directory and compiled there once (their run.sh
# with RUNS=0 compiles and runs nothing); each BEAM workload is then the
# same `erl -noshell [+S 1] -pa ebin -run bench main ...` line run.sh runs.
# tools/beam/ adds the workloads the anchors lack (pingpong_across), built
# into the same ebin. The anchors' C floors (limits: spsc, dlbench) run once
# per run too, and their medians are printed under the table: on this kind
# of virtual machine they move with the host, and the rows they bound move
# with them.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-${RUNS:-3}}
anchors=${ANCHORS:-$PWD/../shared/anchors}
bench=$PWD/build/bin/molt-bench
fast_bench=${FAST_BUILD:-$PWD/build-fast}/bin/molt-bench
[ -x "$bench" ] || { echo "bench-compare: build first ($bench missing)" >&2; exit 1; }
command -v erl >/dev/null || { echo "bench-compare: erl not found (apt-get install erlang-base)" >&2; exit 1; }
[ -f "$anchors/beam/run.sh" ] || { echo "bench-compare: no BEAM anchors in $anchors" >&2; exit 1; }

out=${OUT:-$(mktemp -d /tmp/bench-compare.XXXXXX)}
mkdir -p "$out"
raw=$out/raw.txt
: >"$raw"
scratch=$(mktemp -d /tmp/bench-beam.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
cp -r "$anchors/beam" "$scratch/"
RUNS=0 "$scratch/beam/run.sh" >/dev/null
erlc -o "$scratch/beam/ebin" tools/beam/*.erl
cp -r "$anchors/limits" "$scratch/"
make -s -C "$scratch/limits" build/spsc build/dlbench build/tiny.so
mkdir -p "$scratch/limits/build/dl"

if [ "${QUICK:-0}" = 1 ]; then
  ring_a="100 100"; ring_b="1000 10"; spawn_n=10000; pp="100000 1000"; pp_across="10000 1000"
  upgrade_ns="1000"; loads=20; dev_n=10
else
  # Across schedulers the BEAM takes ~20 us a round trip: 200,000 of them
  # (plus its 100,000 single ones) keep its run to seconds.
  ring_a="1000 1000"; ring_b="100000 10"; spawn_n=1000000; pp="1000000 1000"; pp_across="200000 1000"
  upgrade_ns="1000 10000 100000"; loads=100; dev_n=100
fi
ncores=$(nproc)

# molt S WORKLOAD ARGS... / beam S WORKLOAD ARGS... (S: 1, or all cores)
molt() {
  local s=$1; shift
  "$bench" "$@" --schedulers "$s"
}
beam() {
  local s=$1; shift
  local flags=""
  [ "$s" = 1 ] && flags="+S 1"
  [ "$1" = spawn ] && flags="$flags +P 2000000"  # room for 1M processes, as run.sh
  # shellcheck disable=SC2086
  (cd "$scratch/beam" && erl -noshell $flags -pa ebin -run bench main "$@")
}
# both S WORKLOAD ARGS...: molt then the BEAM, each line tagged with the run.
both() {
  molt "$@" | sed "s/\$/ run=$r/" | tee -a "$raw"
  beam "$@" | sed "s/\$/ run=$r/" | tee -a "$raw"
}

for r in $(seq "$runs"); do
  echo "== run $r of $runs" >&2
  for s in 1 "$ncores"; do
    # shellcheck disable=SC2086
    both "$s" ring $ring_a >&2
    # shellcheck disable=SC2086
    both "$s" ring $ring_b >&2
    both "$s" spawn "$spawn_n" >&2
    # shellcheck disable=SC2086
    both "$s" pingpong $pp >&2
  done
  # shellcheck disable=SC2086
  [ "$ncores" -ge 2 ] && both "$ncores" pingpong_across $pp_across >&2
  for n in $upgrade_ns; do
    both "$ncores" upgrade "$n" 100000 >&2   # load: 100k messages/s
  done
  molt "$ncores" softload "$loads" | sed "s/\$/ run=$r/" | tee -a "$raw" >&2
  if [ -x "$fast_bench" ]; then
    "$fast_bench" softload "$loads" --schedulers "$ncores" | sed "s/\$/ run=$r/" | tee -a "$raw" >&2
  fi
  beam "$ncores" codeload "$loads" 1600 | sed "s/\$/ run=$r/" | tee -a "$raw" >&2
  # The development loop (molt dev, a real container): no BEAM counterpart.
  tools/bench-dev.sh "$dev_n" | grep '^molt devloop ' | sed "s/\$/ run=$r/" | tee -a "$raw" >&2
  { "$scratch/limits/build/spsc" | grep '^limits spsc_pingpong'
    "$scratch/limits/build/dlbench" "$scratch/limits/build/tiny.so" 200 "$scratch/limits/build/dl"
  } | sed "s/\$/ run=$r/" | tee -a "$raw" >&2
done

# Rows: label | molt line's words | BEAM line's words | key (or "molt_key beam_key") |
# better | goal.
# A line matches when it holds every word (system first, then workload).
ra=${ring_a// /x}; rb=${ring_b// /x}
rows() {
  local s
  for s in 1 "$ncores"; do
    local g1="" g2="" g3="" g4=""
    if [ "$s" = 1 ]; then g1=">=10x"; g2=">=10x"; g3=">=10x"; g4="<=256 B"; else g1=">=3x"; fi
    echo "ring ${ra} msgs/s, sched=$s|ring sched=$s n=${ring_a% *} m=${ring_a#* }|ring sched=$s n=${ring_a% *} m=${ring_a#* }|msgs_per_s|higher|$g1"
    echo "ring ${rb} msgs/s, sched=$s|ring sched=$s n=${ring_b% *} m=${ring_b#* }|ring sched=$s n=${ring_b% *} m=${ring_b#* }|msgs_per_s|higher|$g1"
    echo "ping-pong round trip ns, sched=$s|pingpong sched=$s|pingpong sched=$s|median_ns_per_rt|lower|$g2"
    echo "ping-pong single rt ns, sched=$s|pingpong sched=$s|pingpong sched=$s|single_rt_median_ns|lower|"
    if [ "$s" != 1 ]; then
      echo "ping-pong across 2 scheds, rt ns|pingpong_across sched=$s|pingpong_across sched=$s|median_ns_per_rt|lower|>=1x"
      echo "ping-pong across 2 scheds, single ns|pingpong_across sched=$s|pingpong_across sched=$s|single_rt_median_ns|lower|"
    fi
    echo "spawn actors/s, sched=$s|spawn sched=$s|spawn sched=$s|spawn_per_s|higher|$g3"
    echo "bytes per idle actor, sched=$s|spawn sched=$s|spawn sched=$s|bytes_per_proc|lower|$g4"
    echo "exit actors/s, sched=$s|spawn sched=$s|spawn sched=$s|exit_per_s|higher|"
  done
  local n g
  for n in $upgrade_ns; do
    g=""; [ "$n" = 100000 ] && g="<=10 ms"
    echo "upgrade $n up: pause ms (BEAM seq)|upgrade n=$n dir=up|upgrade n=$n dir=up mode=seq|pause_ms|lower|$g"
    echo "upgrade $n up: pause ms (BEAM pipe)|upgrade n=$n dir=up|upgrade n=$n dir=up mode=pipe|pause_ms|lower|$g"
    echo "upgrade $n down: pause ms (BEAM seq)|upgrade n=$n dir=down|upgrade n=$n dir=down mode=seq|pause_ms|lower|$g"
    echo "upgrade $n up: whole load ms (molt)|upgrade n=$n dir=up|-|total_ms|lower|"
    echo "upgrade $n: messages lost|upgrade_check n=$n|upgrade_check n=$n|lost|lower|=0"
  done
  echo "soft load: new code live us (BEAM: load)|softload relro=1|codeload module=tiny|live_median_us load_median_us|lower|<=100 us"
  echo "soft load: live p90 us (BEAM: load)|softload relro=1|codeload module=tiny|live_p90_us load_p90_us|lower|"
  echo "soft load: purge of the old us|softload relro=1|codeload module=tiny|purge_median_us|lower|"
  echo "soft load: with the purge us (molt)|softload relro=1|-|load_median_us|lower|"
  echo "soft load, FAST_LOAD .so: live us|softload relro=0|codeload module=tiny|live_median_us load_median_us|lower|<=100 us"
  echo "soft load, FAST_LOAD .so: live p90 us|softload relro=0|codeload module=tiny|live_p90_us load_p90_us|lower|"
  echo "dev loop: file event -> live ms, median|devloop|-|median_ms|lower|<=2 ms"
  echo "dev loop: file event -> live ms, p99|devloop|-|p99_ms|lower|"
}

echo
rows | awk -F'|' -v raw="$raw" '
  function has(line, words,   w, k, n) {
    n = split(words, w, " ")
    for (k = 1; k <= n; k++) if (index(" " line " ", " " w[k] " ") == 0) return 0
    return 1
  }
  function median(sys, words, key,   i, n, v, line, kv, parts, j, t) {
    if (words == "-") return ""
    n = 0
    for (i = 1; i <= nlines; i++) {
      line = lines[i]
      if (substr(line, 1, length(sys) + 1) != sys " " || !has(line, words)) continue
      split(line, parts, " ")
      for (j in parts) if (index(parts[j], key "=") == 1) { v[++n] = substr(parts[j], length(key) + 2) + 0 }
    }
    if (n == 0) return ""
    for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  function num(x) {
    if (x == "") return "-"
    if (x >= 1000000) return sprintf("%.2f M", x / 1000000)
    if (x >= 10000) return sprintf("%.0f k", x / 1000)
    if (x >= 100) return sprintf("%.0f", x)
    return sprintf("%.3g", x)
  }
  BEGIN {
    while ((getline l < raw) > 0) lines[++nlines] = l
    fmt = "%-40s %6s %11s %11s %10s %13s %9s\n"
    printf fmt, "workload", "better", "molt", "BEAM", "molt/BEAM", "molt better", "goal"
  }
  {
    nk = split($4, key, " ") # "KEY", or "MOLT_KEY BEAM_KEY"
    m = median("molt", $2, key[1]); b = median("beam", $3, key[nk])
    ratio = "-"; adv = "-"
    if (m != "" && b != "" && b != 0) ratio = sprintf("%.3g", m / b)
    if (m != "" && b != "" && m != 0 && b != 0) adv = sprintf("%.3gx", $5 == "higher" ? m / b : b / m)
    printf fmt, $1, $5, num(m), num(b), ratio, adv, $6
  }'
# The floors, from the anchors' C programs run alongside.
awk '
  function val(line, key,   i, n, p) { n = split(line, p, " "); for (i = 1; i <= n; i++) if (index(p[i], key "=") == 1) return substr(p[i], length(key) + 2) + 0; return "" }
  function med(arr, n,   i, j, t) { for (i = 2; i <= n; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t } return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2 }
  /^limits spsc_pingpong / { s[++ns] = val($0, "median_ns_per_rt") }
  /^limits dlopen / { d[++nd] = val($0, "median_us"); o[nd] = val($0, "open_median_us") }
  END {
    printf "\nmachine floors in this run (../shared/anchors/limits, medians):\n"
    if (ns) printf "  two-thread hand-off round trip (spsc)          %8.1f ns\n", med(s, ns)
    if (nd) printf "  dlopen+dlsym+dlclose of tiny.so (dlbench)      %8.1f us (dlopen alone %.1f us)\n", med(d, nd), med(o, nd)
  }' "$raw"
echo
echo "medians of $runs runs; raw lines: $raw"
echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(uname -sr)"
echo "molt: $(git describe --always --dirty 2>/dev/null || echo unknown)"
echo "OTP: $(erl -noshell -eval 'io:format("~s",[erlang:system_info(otp_release)]),halt().')"
