#!/usr/bin/env bash
# What each GPU speed lever gives: one study model trained with every lever on, then with each one
# off in turn (MEDNET_GPU_LEVERS_OFF, core/runtime.h), then with bf16 and fp16 autocast, in one call on one
# device. Prints the steady epoch time (training + validation), training samples/s and the whole run's
# seconds (checkpoint writes and final scoring included) of each, and the epoch time relative to every
# lever on in fp32.
#
#   [LEVERS="a b"] [PRECISIONS="bf16 fp16"] bench/gpu_levers.sh [BUILD_DIR] [ARM] [EPOCHS]
#   (needs MEDMNIST_ROOT and a CUDA device; DEVICE=cpu times the levers that act on a CPU)
set -euo pipefail
build=${1:-build} arm=${2:-cnn3d-adrenal} epochs=${3:-6}
work=$(mktemp -d /tmp/mednet_levers.XXXXXX)
printf '%-16s %9s %10s %8s %9s\n' "lever off" "epoch s" "train/s" "run s" "slowdown"
base=""
# One timed run: LABEL, then the environment's lever switch and any extra bench_compare flags.
measure() {
  local label=$1 off=$2
  shift 2
  local line epoch tps run
  line=$(MEDNET_GPU_LEVERS_OFF=$off "$build/bin/bench_compare" "$arm" --device "${DEVICE:-cuda}" \
    --epochs "$epochs" --out "$work/${label// /_}" "$@")
  epoch=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["epoch_s"])' "$line")
  tps=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["train_samples_per_s"])' "$line")
  run=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["run_s"])' "$line")
  [[ -z $base ]] && base=$epoch
  printf '%-16s %9.4f %10.1f %8.2f %8.2fx\n' "$label" "$epoch" "$tps" "$run" "$(python3 -c "print($epoch / $base)")"
}
measure none ""
levers=${LEVERS:-resident defer-loss foreach-adam cudnn-benchmark async-upload async-checkpoint channels-last}
for off in $levers; do measure "$off" "$off"; done
measure "none, again" ""  # every lever on once more: how far two equal runs differ
# Reduced precision (every lever on): bf16 and fp16 autocast against fp32 above.
for precision in ${PRECISIONS-bf16 fp16}; do measure "precision $precision" "" --precision "$precision"; done
rm -rf "$work"
