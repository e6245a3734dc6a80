#!/usr/bin/env bash
# bench-http.sh [CYCLES] [SECS] [LEVELS] [INTERVAL]: the demo HTTP service
# and the nginx anchor side by side, and molt's zero-drop proof, in one run
# whose output pastes into the README as it is.
#
# molt runs the demo release (upgraded to 1.1.0 and committed) in a
# temporary home; nginx runs the anchor's configuration
# (../shared/anchors/nginx/run.sh: 2 workers, a fixed 200) in a scratch
# directory. The client on both is the anchor's: wrk -t2, keep-alive,
# --latency, SECS seconds a row. In order:
#   1. steady: at each connection count of LEVELS, molt then nginx;
#   2. upgrades: molt-http-load (every answer checked, one request in ten
#      a PUT) while CYCLES x (`molt upgrade 2.0.0`; `molt rollback`) run,
#      one release change every INTERVAL s; then wrk on molt at each count
#      of UPGRADE_LEVELS while the same CYCLES cycles run again (wrk's
#      duration: what molt-http-load's cycles took, plus 1 s), with the
#      failed requests split by kind (non-2xx, connect, read, write,
#      timeout) and the rate's ratio to molt's steady row at that count;
#   3. with HOGS CPU hogs (`yes >/dev/null`, killed afterwards and on exit):
#      the steady rows again at each count of HOG_LEVELS, molt then nginx;
#   4. the increments proof: after `molt stop`, what the counter counted
#      equals what the drivers sent plus the PUTs molt-http-load saw
#      answered (wrk sends only GET /, which counts nothing);
#   5. a markdown summary: molt/nginx per row.
# Rows: `system conns reqs_per_s p99_ms socket_errors non2xx` (upgrade rows
# add cycles, the socket errors by kind and the ratio to steady).
#
# Arguments (or the environment variable in brackets), defaults in ():
#   CYCLES   [BENCH_CYCLES]   upgrade/rollback cycles (100)
#   SECS     [BENCH_SECS]     seconds per steady row (10)
#   LEVELS   [BENCH_LEVELS]   steady connection counts, "64 256 1024" or
#                             "64,256,1024" (64 256 1024)
#   INTERVAL [BENCH_INTERVAL] seconds between release changes (0.1)
#   [BENCH_UPGRADE_LEVELS]    counts for the wrk upgrade rows (64 1024);
#                             each must be in LEVELS for its ratio
#   [BENCH_HOG_LEVELS]        counts for the rows under hogs (64 1024)
#   [BENCH_HOGS]              CPU hogs (2); 0 skips those rows
#   [BENCH_REPEAT]            runs of each steady and hog pair, molt and
#                             nginx alternately; the table shows medians (3):
#                             this machine's speed drifts by 10-20% between
#                             minutes, more than one pair can tell apart
#   [MOLT_BUILD]              the build directory to run molt from (build;
#                             the README's figures: a RelWithDebInfo build)
#   [MOLT_HTTP_PORT]          molt's port (18480); nginx's [BENCH_NGINX_PORT] (18081)
# Defaults take about 8 minutes on 2 cores. A quick check of the script:
#   tools/bench-http.sh 4 2 "64 256"
# Needs wrk and nginx (Debian: apt-get install wrk nginx-light).
set -euo pipefail
cd "$(dirname "$0")/.."
cmdline=tools/bench-http.sh; [ $# -eq 0 ] || cmdline+=$(printf ' %q' "$@")
cycles=${1:-${BENCH_CYCLES:-100}} secs=${2:-${BENCH_SECS:-10}}
levels=${3:-${BENCH_LEVELS:-64 256 1024}} interval=${4:-${BENCH_INTERVAL:-0.1}}
up_levels=${BENCH_UPGRADE_LEVELS:-64 1024} hog_levels=${BENCH_HOG_LEVELS:-64 1024} hogs=${BENCH_HOGS:-2}
repeat=${BENCH_REPEAT:-3}
levels=${levels//,/ } up_levels=${up_levels//,/ } hog_levels=${hog_levels//,/ }
port=${MOLT_HTTP_PORT:-18480} nport=${BENCH_NGINX_PORT:-18081}
bdir=${MOLT_BUILD:-build}
molt=$PWD/$bdir/bin/molt load=$PWD/$bdir/bin/molt-http-load rel=$PWD/$bdir/releases
for p in wrk nginx; do
  command -v $p >/dev/null || { echo "bench-http: needs $p (apt-get install wrk nginx-light)" >&2; exit 1; }
done
[ -x "$load" ] && [ -d "$rel/demo-2.0.0" ] || cmake --build "$bdir" -j2 >/dev/null

home=$(mktemp -d /tmp/molt-bench-http.XXXXXX)
log=$home.log ng=$home/nginx
pid="" lp="" hog_pids=""
cleanup() {
  [ -n "$lp" ] && kill "$lp" 2>/dev/null
  [ -n "$hog_pids" ] && kill $hog_pids 2>/dev/null
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  [ -f "$ng/nginx.pid" ] && nginx -c "$ng/nginx.conf" -p "$ng" -s quit 2>/dev/null
  sleep 0.2
  rm -rf "$home" "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export MOLT_HOME=$home MOLT_HTTP_PORT=$port

echo "# $cmdline"
echo "# $(date '+%Y-%m-%d %H:%M %Z'), commit $(git rev-parse --short HEAD), $(nproc) cores," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# wrk -t2 -d${secs}s --latency, keep-alive; steady at $levels, $repeat runs each (medians); $cycles upgrade/rollback cycles, one change" \
  "every ${interval}s; $hogs CPU hogs at $hog_levels"

"$molt" run --release "$rel/demo-1.0.0" >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "running release" "$log" 2>/dev/null && break; sleep 0.1; done
grep -q "listening on 127.0.0.1:$port" "$log" || { cat "$log"; exit 1; }
"$molt" unpack "$rel/demo-1.1.0" >/dev/null
"$molt" unpack "$rel/demo-2.0.0" >/dev/null
"$molt" upgrade 1.1.0 >/dev/null
"$molt" commit >/dev/null

# The nginx anchor's server, as its run.sh writes it.
mkdir -p "$ng/logs"
cat >"$ng/nginx.conf" <<CONF
worker_processes 2;
pid $ng/nginx.pid;
error_log $ng/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  server { listen 127.0.0.1:$nport; location / { return 200 "v1\n"; } }
}
CONF
nginx -c "$ng/nginx.conf" -p "$ng"
sleep 0.5

declare -A rps p99 cpu runs_r runs_p runs_c
# wrk's output -> "reqs_per_s p99_ms connect read write timeout non2xx requests"
wrk_fields() {
  python3 - "$1" <<'PY'
import re,sys
t=open(sys.argv[1]).read()
req=re.search(r'(\d+) requests in',t)
rps=re.search(r'Requests/sec:\s*([\d.]+)',t)
m=re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)',t)
e=list(map(int,m.groups())) if m else [0,0,0,0]
n=re.search(r'Non-2xx or 3xx responses: (\d+)',t)
p=re.search(r'99%\s+([\d.]+)(us|ms|s)\b',t)
p99=float(p.group(1))*{'us':1e-3,'ms':1,'s':1e3}[p.group(2)] if p else float('nan')
print(f"{float(rps.group(1)) if rps else 0:.0f} {p99:.2f} {e[0]} {e[1]} {e[2]} {e[3]} {int(n.group(1)) if n else 0} {int(req.group(1)) if req else 0}")
PY
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 > 0 && a != "") printf "%.2f", a / b; else print "-"}'; }
url() { [ "$1" = molt ] && echo "http://127.0.0.1:$port/" || echo "http://127.0.0.1:$nport/"; }

# The server's processes: molt's container, nginx's workers.
server_pids() { [ "$1" = molt ] && echo "$pid" || pgrep -P "$(cat "$ng/nginx.pid")" | tr '\n' ' '; }
# CPU time (user + system, clock ticks) the processes $@ have used.
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# One steady run; $1 section, $2 system, $3 connections.
row() {
  local r p c rd w t n req pids t0 t1 us
  pids=$(server_pids "$2")
  # shellcheck disable=SC2086
  t0=$(cpu_ticks $pids)
  wrk -t2 -c"$3" -d"${secs}s" --latency "$(url "$2")" >"$home/wrk.txt" 2>&1 || true
  # shellcheck disable=SC2086
  t1=$(cpu_ticks $pids)
  read -r r p c rd w t n req < <(wrk_fields "$home/wrk.txt")
  us=$(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="$req" 'BEGIN {printf "%.2f", n ? d / hz * 1e6 / n : 0}')
  runs_r[$1:$2:$3]+="$r " runs_p[$1:$2:$3]+="$p " runs_c[$1:$2:$3]+="$us "
  printf '%-6s %6s %10s %8s %14s %7s %12s\n' "$2" "$3" "$r" "$p" "$((c + rd + w + t))" "$n" "$us"
}

# $repeat runs of molt then nginx at $2 connections, and their medians.
rows() {
  local sys k
  for _ in $(seq "$repeat"); do
    row "$1" molt "$2"
    row "$1" nginx "$2"
  done
  for sys in molt nginx; do
    k=$1:$sys:$2
    # shellcheck disable=SC2086
    rps[$k]=$(median ${runs_r[$k]}) p99[$k]=$(median ${runs_p[$k]}) cpu[$k]=$(median ${runs_c[$k]})
    printf '%-6s %6s %10s %8s %22s %12s  median of %s runs\n' "$sys" "$2" "${rps[$k]}" "${p99[$k]}" "" "${cpu[$k]}" \
      "$repeat"
  done
}
header() { printf '%-6s %6s %10s %8s %14s %7s %12s\n' system conns reqs_per_s p99_ms socket_errors non2xx cpu_us_per_req; }

# One release change, molt-http-load told about it when it runs; $@: the command.
ok=0 bad=0
change() {
  [ -z "$lp" ] || kill -USR1 "$lp"
  if "$molt" "$@" >/dev/null 2>"$home/err"; then ok=$((ok + 1)); else bad=$((bad + 1)); cat "$home/err"; fi
  [ -z "$lp" ] || kill -USR2 "$lp"
  sleep "$interval"
}

echo
echo "== steady, $secs s a row"
header
for c in $levels; do rows steady "$c"; done

echo
echo "== upgrades: $cycles x (molt upgrade 2.0.0; molt rollback), one change every ${interval}s"
first=${levels%% *}
"$load" --port "$port" --conns "$first" --threads 2 --secs 3600 --put-every 10 --versions 1.1.0,2.0.0 \
  >"$home/load.txt" &
lp=$!
sleep 1
t0=$(date +%s.%N)
for _ in $(seq "$cycles"); do
  change upgrade 2.0.0
  change rollback
done
t1=$(date +%s.%N)
sleep 1
kill -TERM "$lp"
wait "$lp" && rc=0 || rc=$?
lp=""
cycle_secs=$(awk "BEGIN {printf \"%.1f\", $t1 - $t0}")
echo "molt-http-load, $first connections, every answer checked (exit $rc):"
cat "$home/load.txt"
echo "release_changes_ok=$ok release_changes_failed=$bad changes_secs=$cycle_secs"
wsecs=$(awk "BEGIN {printf \"%d\", $t1 - $t0 + 1.999}")
declare -A up_rps up_ratio
printf '%-6s %6s %6s %10s %8s %7s %7s %5s %5s %7s %s\n' system conns cycles reqs_per_s p99_ms non2xx connect read \
  write timeout ratio_to_steady
for c in $up_levels; do
  wrk -t2 -c"$c" -d"${wsecs}s" --latency "$(url molt)" >"$home/wrk.txt" 2>&1 &
  w=$! n=0 ok=0 bad=0
  sleep 0.5
  while kill -0 $w 2>/dev/null && [ $n -lt "$cycles" ]; do
    change upgrade 2.0.0
    change rollback
    n=$((n + 1))
  done
  wait $w || true
  read -r r p con rd wr to non _ < <(wrk_fields "$home/wrk.txt")
  base=${rps[steady:molt:$c]:-}
  ratio=$(ratio "$r" "$base")
  up_rps[$c]=$r up_ratio[$c]=$ratio
  printf '%-6s %6s %6s %10s %8s %7s %7s %5s %5s %7s %s\n' molt "$c" "$n" "$r" "$p" "$non" "$con" "$rd" "$wr" "$to" \
    "$ratio"
  [ "$bad" = 0 ] || echo "  ($bad release changes failed)"
done

if [ "$hogs" -gt 0 ]; then
  echo
  echo "== with $hogs CPU hogs (yes >/dev/null), $secs s a row"
  for _ in $(seq "$hogs"); do
    yes >/dev/null &
    hog_pids="$hog_pids $!"
  done
  header
  for c in $hog_levels; do rows hogs "$c"; done
  kill $hog_pids 2>/dev/null || true
  wait $hog_pids 2>/dev/null || true
  hog_pids=""
fi

"$molt" stop >/dev/null
wait "$pid" || true
pid=""
sent=$(grep -o 'driver: terminating .*sent [0-9]*' "$log" | grep -o '[0-9]*$' | awk '{s += $1} END {print s + 0}')
counted=$(grep -o 'counter: terminating .*total [0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
puts=$(grep -o ' puts=[0-9]*' "$home/load.txt" | cut -d= -f2 | awk '{s += $1} END {print s + 0}')
echo
echo "== increments: the counter counted $counted; the drivers sent $sent and molt-http-load's PUTs answered $puts" \
  "(wrk sends none); lost: $((sent + puts - counted))"

echo
echo "steady and hog rows: medians of $repeat runs each"
echo "| row | conns | molt req/s | nginx req/s | molt/nginx | molt p99 ms | nginx p99 ms | molt / nginx CPU µs per request |"
echo "|---|---|---|---|---|---|---|---|"
for c in $levels; do
  echo "| steady | $c | ${rps[steady:molt:$c]} | ${rps[steady:nginx:$c]} |" \
    "$(ratio "${rps[steady:molt:$c]}" "${rps[steady:nginx:$c]}") | ${p99[steady:molt:$c]} | ${p99[steady:nginx:$c]} |" \
    "${cpu[steady:molt:$c]} / ${cpu[steady:nginx:$c]} |"
done
for c in $up_levels; do
  r=${up_ratio[$c]}
  [ "$r" = - ] || r="$r of molt steady"
  echo "| $cycles upgrade/rollback cycles | $c | ${up_rps[$c]} | - | $r | - | - | - |"
done
if [ "$hogs" -gt 0 ]; then
  for c in $hog_levels; do
    echo "| $hogs CPU hogs | $c | ${rps[hogs:molt:$c]} | ${rps[hogs:nginx:$c]} |" \
      "$(ratio "${rps[hogs:molt:$c]}" "${rps[hogs:nginx:$c]}") | ${p99[hogs:molt:$c]} | ${p99[hogs:nginx:$c]} |" \
      "${cpu[hogs:molt:$c]} / ${cpu[hogs:nginx:$c]} |"
  done
fi
echo
echo "# load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
