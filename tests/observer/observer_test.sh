#!/usr/bin/env bash
# observer_test.sh MOLT RELEASE_DIR SCREENSHOT: the observer page in a real
# browser. Starts the demo release with --metrics and --observer on one
# listener, has headless Chromium render the page, checks the supervision
# tree, the modules and the actors table against `molt status --json` and
# `molt ps --json`, upgrades to 1.1.0 and checks the page shows it, and
# saves a screenshot to SCREENSHOT. Without Chromium it says why and exits
# 77 (CTest: skipped).
set -euo pipefail
molt=$1 releases=$2 shot=$3
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "observer_test: skipped: no chromium (apt install chromium; .ci/run installs it)"
  exit 77
fi
py=$(command -v python3 || true)
if [ -z "$py" ]; then
  echo "observer_test: skipped: no python3 to read molt's JSON"
  exit 77
fi

dir=$(mktemp -d /tmp/molt-observer.XXXXXX)
home=$dir/home
cleanup() {
  "$molt" stop --home "$home" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "observer_test: FAIL: $*"; [ -f "$dir/dom.html" ] && head -c 4000 "$dir/dom.html"; exit 1; }

MOLT_HTTP_PORT=0 "$molt" run --home "$home" --release "$releases/demo-1.0.0" --schedulers 2 \
  --metrics 127.0.0.1:0 --observer 127.0.0.1:0 >"$dir/log" 2>&1 &
for _ in $(seq 100); do grep -q 'molt: running' "$dir/log" && break; sleep 0.1; done
grep -q 'molt: running' "$dir/log" || fail "the container did not start: $(cat "$dir/log")"
port=$(grep -o 'observer page on port [0-9]*' "$dir/log" | grep -o '[0-9]*$')
grep -q "metrics on port $port" "$dir/log" || fail "--metrics and --observer on one address should share a listener"
url=http://127.0.0.1:$port/

browse() { # browse ARGS...: headless Chromium on the page, with time for a few polls
  "$chromium" --headless --no-sandbox --disable-gpu --user-data-dir="$dir/profile" \
    --virtual-time-budget=4000 "$@" "$url" 2>>"$dir/chromium.log"
}

# check: what the rendered page (dom.html) shows against molt's --json.
check() {
  "$molt" status --home "$home" --json >"$dir/status.json"
  "$molt" ps --home "$home" --json >"$dir/ps.json"
  "$py" - "$dir/dom.html" "$dir/status.json" "$dir/ps.json" "$1" <<'PY'
import json, re, sys
from html.parser import HTMLParser
dom, status, ps, want = open(sys.argv[1]).read(), json.load(open(sys.argv[2])), json.load(open(sys.argv[3])), sys.argv[4]

class Page(HTMLParser):
    def __init__(s):
        super().__init__(); s.stack = []; s.actors = 0; s.modules = {}; s.subs = []; s.children = []; s.body = {}; s.changes = []
    def handle_starttag(s, tag, attrs):
        a = dict(attrs); s.stack.append((tag, a.get("id")))
        ids = [i for _, i in s.stack if i]
        if tag == "body": s.body = a
        if tag == "tr" and "actors" in ids and "data-pid" in a: s.actors += 1
        if tag == "tr" and "modules" in ids and "data-module" in a: s.modules[a["data-module"]] = a["data-current"]
        if tag == "tr" and "changes" in ids and "data-outcome" in a: s.changes.append(a["data-outcome"])
        if tag == "li" and "data-sup" in a: s.subs.append(a["data-sup"])
        if tag == "li" and "data-child" in a: s.children.append(a["data-child"])
    def handle_endtag(s, tag):
        while s.stack and s.stack.pop()[0] != tag: pass

p = Page(); p.feed(dom)
problems = []
if p.body.get("data-ready") != "1": problems.append("the page never rendered (data-ready unset)")
if p.body.get("data-release") != want: problems.append(f"release {p.body.get('data-release')}, expected {want}")
if p.body.get("data-release") != status["release"]["version"]: problems.append("release differs from molt status")
if "demo_sup" not in p.subs: problems.append(f"tree: no demo_sup in {p.subs}")
if "counter" not in p.children or "drivers" not in p.children: problems.append(f"tree children: {p.children}")
expect = {m["name"]: m["current"] for m in status["modules"]}
if p.modules != expect: problems.append(f"modules {p.modules}, molt status says {expect}")
# Actors come and go between the two reads only if something crashes: the
# demo's do not. The page lists ps's first 1000, like molt ps.
if p.actors != min(ps["total"], 1000): problems.append(f"{p.actors} actor rows, molt ps says {ps['total']}")
if want != "1.0.0" and "committed" not in p.changes: problems.append(f"no committed change listed: {p.changes}")
print("observer_test: page shows release %s, %d modules, %d actors, tree %s" % (want, len(p.modules), p.actors, p.subs))
sys.exit("; ".join(problems) if problems else 0)
PY
}

browse --dump-dom >"$dir/dom.html" || fail "chromium failed: $(tail -5 "$dir/chromium.log")"
check 1.0.0 || fail "before the upgrade"

"$molt" unpack --home "$home" --json "$releases/demo-1.1.0" >/dev/null
"$molt" upgrade --home "$home" --json 1.1.0 >/dev/null
browse --dump-dom >"$dir/dom.html" || fail "chromium failed: $(tail -5 "$dir/chromium.log")"
check 1.1.0 || fail "after the upgrade"
grep -q 'data-module="counter" data-current="1.1.0"' "$dir/dom.html" || fail "counter's version did not change"

browse --screenshot="$shot" --window-size=1400,1000 --hide-scrollbars >/dev/null || fail "no screenshot"
[ -s "$shot" ] || fail "empty screenshot"
echo "observer_test: ok; screenshot in $shot"
