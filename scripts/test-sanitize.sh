#!/usr/bin/env bash
# The unit tests built with clang, AddressSanitizer and UndefinedBehaviorSanitizer (-O1, every report
# fatal) into BUILD_DIR and run there. Tests of peak memory are left out: the sanitizer's shadow memory
# is counted in a process's RSS.
#   scripts/test-sanitize.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build-sanitize}
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" -DMEDNET_SANITIZE=ON -DMEDNET_BUILD_BENCH=OFF \
    >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target mednet mednet_tests
# LibTorch's own allocations held until exit are not leaks of ours: leak checking is off.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1
cd "$build" && ctest --output-on-failure -j "$(nproc)" -L unit -E '^NpzMemory\.'
