#!/usr/bin/env bash
# test.sh [--asan|--tsan]: set up and build (tools/setup.sh), then run the
# whole test suite with CTest. --asan runs it built with ASan+UBSan, --tsan
# runs the multi-threaded stress programs built with TSan (Criterion
# itself cannot run under TSan).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh "$@"
dir=build
case "${1:-}" in --asan) dir=build-asan ;; --tsan) dir=build-tsan ;; esac
cd "$dir"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
ctest --output-on-failure -j2
