#!/usr/bin/env bash
# setup.sh [--asan|--tsan]: install what molt needs on Debian 12 (only what
# is missing), then configure and build. Default build: build/ (the fixed
# outputs build/bin/molt, build/modules, build/releases). --asan builds
# build-asan/ with AddressSanitizer+UndefinedBehaviorSanitizer, --tsan
# build-tsan/ with ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build sanitize=""
case "${1:-}" in
  --asan) dir=build-asan sanitize=address ;;
  --tsan) dir=build-tsan sanitize=thread ;;
  "") ;;
  *) echo "usage: tools/setup.sh [--asan|--tsan]" >&2; exit 2 ;;
esac

# strace: the tests inject I/O faults into a real container with it.
# prometheus: its promtool checks what /metrics serves, and curl fetches it
# (metrics_test).
tools/packages.sh setup strace prometheus curl

cmake -S . -B "$dir" -DMOLT_SANITIZE="$sanitize" >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null
echo "setup: built $dir/"
