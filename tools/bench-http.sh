#!/usr/bin/env bash
# bench-http.sh [CYCLES] [SECS] [CONNS] [INTERVAL]: the demo HTTP service's
# zero-drop proof and its figures. Runs the demo release (upgraded to
# 1.1.0 and committed) in a temporary home and drives it with
# molt-http-load (CONNS keep-alive connections, every answer checked,
# one request in ten a PUT to a key):
#   1. steady: SECS seconds, no upgrades;
#   2. upgrades: CYCLES times `molt upgrade 2.0.0` then `molt rollback`
#      (code_change up and down of the counter and of every http
#      connection actor), one release change every INTERVAL seconds, the
#      load tool told when each one starts and ends (SIGUSR1/SIGUSR2) so it
#      reports latency during and outside them;
#   3. the increments proof: after `molt stop`, what the counter counted
#      equals what the drivers sent plus the PUTs the load tool saw
#      answered.
# If wrk and nginx are installed (Debian: nginx-light wrk), the same run
# also measures molt with wrk, steady and across as many cycles as fit in
# its SECS (at most CYCLES release changes), and the
# nginx anchor (../shared/anchors/nginx, copied to a scratch directory):
# the same tool on both sides. Defaults: 100 10 64 0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-100} secs=${2:-10} conns=${3:-64} interval=${4:-0.1}
molt=$PWD/build/bin/molt load=$PWD/build/bin/molt-http-load rel=$PWD/build/releases
[ -x "$load" ] && [ -d "$rel/demo-2.0.0" ] || cmake --build build -j2 >/dev/null
port=${MOLT_HTTP_PORT:-18480}
home=$(mktemp -d /tmp/molt-bench-http.XXXXXX)
log=$home.log
pid="" lp=""
cleanup() {
  [ -n "$lp" ] && kill "$lp" 2>/dev/null
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  rm -rf "$home" "$log"
}
trap cleanup EXIT
export MOLT_HOME=$home MOLT_HTTP_PORT=$port

echo "bench-http: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
"$molt" run --release "$rel/demo-1.0.0" >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "running release" "$log" 2>/dev/null && break; sleep 0.1; done
grep -q "listening on 127.0.0.1:$port" "$log" || { cat "$log"; exit 1; }
"$molt" unpack "$rel/demo-1.1.0" >/dev/null
"$molt" unpack "$rel/demo-2.0.0" >/dev/null
"$molt" upgrade 1.1.0 >/dev/null
"$molt" commit >/dev/null

echo "== steady: $conns connections, $secs s, http 1.1.0"
"$load" --port "$port" --conns "$conns" --threads 2 --secs "$secs" --put-every 10 --versions 1.1.0 \
  | tee "$home/steady.txt" || true

# One release change with the load tool told about it; $1: the command.
change() {
  [ -z "$lp" ] || kill -USR1 "$lp"
  if "$molt" "$@" >/dev/null 2>"$home/err"; then ok=$((ok + 1)); else bad=$((bad + 1)); cat "$home/err"; fi
  [ -z "$lp" ] || kill -USR2 "$lp"
  sleep "$interval"
}

echo "== upgrades: $cycles x (molt upgrade 2.0.0; molt rollback), one every $interval s, under the same load"
"$load" --port "$port" --conns "$conns" --threads 2 --secs 3600 --put-every 10 --versions 1.1.0,2.0.0 \
  >"$home/load.txt" &
lp=$!
sleep 1
ok=0 bad=0 t0=$(date +%s.%N)
for _ in $(seq "$cycles"); do
  change upgrade 2.0.0
  change rollback
done
t1=$(date +%s.%N)
sleep 1
kill -TERM "$lp"
wait "$lp" && rc=0 || rc=$?
lp=""
cat "$home/load.txt"
echo "cycles=$cycles release_changes_ok=$ok release_changes_failed=$bad changes_secs=$(awk "BEGIN {printf \"%.1f\", $t1 - $t0}") load_exit=$rc"

wrk_line() { # wrk's output file -> one line, as the nginx anchor prints it
  python3 - "$1" "$2" "$3" <<'PY'
import re,sys
t=open(sys.argv[1]).read()
req=int(re.search(r'(\d+) requests in',t).group(1))
rps=float(re.search(r'Requests/sec:\s*([\d.]+)',t).group(1))
m=re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)',t)
err=sum(map(int,m.groups())) if m else 0
non2xx=re.search(r'Non-2xx or 3xx responses: (\d+)',t); err+=int(non2xx.group(1)) if non2xx else 0
p=re.search(r'99%\s+([\d.]+)(us|ms|s)\b',t); p99=float(p.group(1))*{'us':1e-3,'ms':1,'s':1e3}[p.group(2)] if p else float('nan')
print(f"molt-wrk http conns={sys.argv[2]} reloads={sys.argv[3]} reqs_per_s={rps:.0f} requests={req} socket_errors={err} p99_ms={p99:.2f}")
PY
}

if command -v wrk >/dev/null && command -v nginx >/dev/null; then
  echo "== wrk (the nginx anchor's client) on molt: steady, then upgrade/rollback cycles (at most $cycles changes) while it runs"
  wrk -t2 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/" >"$home/wrk.txt" 2>&1
  wrk_line "$home/wrk.txt" "$conns" 0
  wrk -t2 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/" >"$home/wrk.txt" 2>&1 &
  w=$! n=0 ok=0 bad=0
  sleep 0.5
  while kill -0 $w 2>/dev/null && [ $n -lt "$cycles" ]; do change upgrade 2.0.0; change rollback; n=$((n + 2)); done
  wait $w
  wrk_line "$home/wrk.txt" "$conns" "$n"
  echo "release_changes_ok=$ok release_changes_failed=$bad"
fi

"$molt" stop >/dev/null
wait "$pid" || true
pid=""
sent=$(grep -o 'driver: terminating .*sent [0-9]*' "$log" | grep -o '[0-9]*$' | awk '{s += $1} END {print s + 0}')
counted=$(grep -o 'counter: terminating .*total [0-9]*' "$log" | grep -o '[0-9]*$')
puts=$(cat "$home/steady.txt" "$home/load.txt" | grep -o ' puts=[0-9]*' | cut -d= -f2 | awk '{s += $1} END {print s + 0}')
echo "== increments: the counter counted $counted; the drivers sent $sent and molt-http-load's PUTs answered $puts (wrk sends none); lost: $((sent + puts - counted))"

if command -v wrk >/dev/null && command -v nginx >/dev/null; then
  echo "== the nginx anchor, same machine, same run (../shared/anchors/nginx/run.sh $conns $secs)"
  scratch=$(mktemp -d)
  cp -r "${MOLT_ANCHORS:-$PWD/../shared/anchors}" "$scratch/anchors"
  "$scratch/anchors/nginx/run.sh" "$conns" "$secs" 18081 || true
  rm -rf "$scratch"
fi
echo "bench-http: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
