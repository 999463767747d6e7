#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/) with clang, ASan and UBSan into BUILD_DIR, writes their seed
# corpora, and runs each harness for SECONDS on BUILD_DIR/corpus/<harness> (kept between calls, so runs
# add up). Prints executions, executions per second and findings per harness; exit 1 on any finding
# (a crash, a sanitizer report, a hang past 10 s or 4 GB of memory), saved in BUILD_DIR/findings/<harness>/.
# FUZZ_RUNS=N stops each harness after N executions instead (SECONDS stays the limit).
#   scripts/fuzz.sh [BUILD_DIR] [SECONDS] [HARNESS...]
set -uo pipefail
build=${1:-build-fuzz} seconds=${2:-60}
shift $(( $# < 2 ? $# : 2 ))
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(npy npz safetensors torch_zip pickle checkpoint int8 config experiment state history)
repo=$(cd "$(dirname "$0")/.." && pwd)

if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" -DMEDNET_FUZZ=ON -DMEDNET_BUILD_TESTS=OFF \
    -DMEDNET_BUILD_BENCH=OFF >/dev/null || exit 1
fi
targets=(make_seeds)
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" || exit 1
"$build/bin/make_seeds" "$build/seeds" "$repo" >/dev/null || exit 1

# LibTorch's own allocations are not leaks of ours; leak checking is off.
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1
found=0
printf '%-12s %12s %10s %9s\n' harness executions "exec/s" findings
for h in "${harnesses[@]}"; do
  mkdir -p "$build/corpus/$h" "$build/findings/$h"
  log="$build/findings/$h.log"
  stamp="$build/findings/.start-$h"
  touch "$stamp"
  "$build/bin/fuzz_$h" "$build/corpus/$h" "$build/seeds/$h" -max_total_time="$seconds" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} -timeout=10 \
    -rss_limit_mb=4096 -artifact_prefix="$build/findings/$h/" -print_final_stats=1 >"$log" 2>&1
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'exec/s: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  # Only this run's findings count: earlier ones stay in the folder until they become regression tests.
  n=$(find "$build/findings/$h" -type f -newer "$stamp" | wc -l)
  [ "$n" -gt 0 ] && found=1
  printf '%-12s %12s %10s %9s\n' "$h" "${runs:-?}" "${rate:-?}" "$n"
done
[ $found -eq 0 ] || { echo "findings in $build/findings/ (logs: $build/findings/<harness>.log)"; exit 1; }
