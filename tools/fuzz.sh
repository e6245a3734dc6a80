#!/usr/bin/env bash
# fuzz.sh [SECONDS]: build the libFuzzer targets of tests/fuzz/ with clang
# (build-fuzz/, -DMOLT_FUZZ=ON: libFuzzer, ASan and UBSan) and run each for
# SECONDS (default 20) from its committed seed corpus tests/fuzz/corpus/<t>/.
# New inputs the fuzzer finds go to build-fuzz/corpus/<t>/, never into the
# committed corpus; a crash leaves its input in build-fuzz/artifacts/ and
# fails the script. Installs what is missing on Debian 12, as setup.sh does:
# clang 14 and libclang-rt-14-dev, which holds libclang_rt.fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
targets="control manifest plan"

tools/packages.sh fuzz clang libclang-rt-14-dev

cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DMOLT_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target molt_fuzz >/dev/null
mkdir -p build-fuzz/artifacts
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

failed=0
for t in $targets; do
  mkdir -p "build-fuzz/corpus/$t"
  log="build-fuzz/$t.log"
  if build-fuzz/tests/fuzz/${t}_fuzz -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t-" \
       "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $t: ${runs:-?} inputs in ${secs} s, no failure"
  else
    echo "fuzz: $t FAILED (log: $log):"
    tail -40 "$log"
    failed=$((failed + 1))
  fi
done
n=$(echo $targets | wc -w)
echo "fuzz: $((n - failed)) passed, $failed failed"
[ "$failed" = 0 ]
