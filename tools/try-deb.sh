#!/usr/bin/env bash
# try-deb.sh: what a developer does with the .deb on a fresh Debian 12, as
# root, from a clone of this repository: build the package, install it
# with apt, then, with nothing of the source tree's build left, scaffold a
# module project in /tmp, build and test it against the installed molt,
# run it under molt dev, bundle and run its release, and upgrade it to a
# new version. Prints each step's time. For ../shared/tools/fresh-debian
# -- tools/try-deb.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh >/dev/null
(cd build && cpack -G DEB >/dev/null)
deb=$(ls build/molt_*_amd64.deb)
echo "try-deb: $deb ($(du -h "$deb" | cut -f1))"
DEBIAN_FRONTEND=noninteractive apt-get install -y "./$deb" >/dev/null
rm -rf build # nothing of the source tree's build from here on
work=$(mktemp -d /tmp/try-deb.XXXXXX)
cd "$work"
echo "try-deb: $(command -v molt): $(molt --version)"
step() {
  local t0=$EPOCHREALTIME
  "$@"
  echo "try-deb: $* ($(awk "BEGIN { printf \"%.2f\", $EPOCHREALTIME - $t0 }") s)" >&2
}
step molt new-module greeter >/dev/null
cd greeter
step cmake -S . -B build >/dev/null
step cmake --build build >/dev/null
step ctest --test-dir build --output-on-failure >/dev/null
export MOLT_HOME=$work/dev-home
molt dev --module build/modules/greeter-0.1.0.so --watch build/modules >"$work/dev.log" 2>&1 &
for _ in $(seq 100); do molt status >/dev/null 2>&1 && break; sleep 0.1; done
molt status | head -3
molt stop
export MOLT_HOME=$work/home
molt run --release build/releases/greeter >"$work/run.log" 2>&1 &
for _ in $(seq 100); do molt status >/dev/null 2>&1 && break; sleep 0.1; done
molt status | head -1
sed -i 's/0\.1\.0/0.2.0/g' $(grep -rl '0\.1\.0' --include='*.c' --include='*.h' --include='*.json' --include=CMakeLists.txt .)
step cmake --build build >/dev/null
molt unpack build/releases/greeter
molt upgrade 0.2.0
molt commit
molt releases
molt stop
echo "try-deb: ok"
