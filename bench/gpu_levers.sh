#!/usr/bin/env bash
# What each GPU speed lever gives: one study model trained with every lever on, then with each one
# off in turn (MEDNET_GPU_LEVERS_OFF, core/runtime.h), then with bf16 and fp16 autocast, in one call on one
# device. Prints the steady epoch time (training + validation) and training samples/s of each, and the
# time relative to every lever on in fp32.
#
#   bench/gpu_levers.sh [BUILD_DIR] [ARM] [EPOCHS]     (needs MEDMNIST_ROOT and a CUDA device)
set -euo pipefail
build=${1:-build} arm=${2:-cnn3d-adrenal} epochs=${3:-6}
work=$(mktemp -d /tmp/mednet_levers.XXXXXX)
printf '%-16s %9s %10s %9s\n' "lever off" "epoch s" "train/s" "slowdown"
base=""
# One timed run: LABEL, then the environment's lever switch and any extra bench_compare flags.
measure() {
  local label=$1 off=$2
  shift 2
  local line epoch tps
  line=$(MEDNET_GPU_LEVERS_OFF=$off "$build/bin/bench_compare" "$arm" --device "${DEVICE:-cuda}" \
    --epochs "$epochs" --out "$work/${label// /_}" "$@")
  epoch=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["epoch_s"])' "$line")
  tps=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["train_samples_per_s"])' "$line")
  [[ -z $base ]] && base=$epoch
  printf '%-16s %9.4f %10.1f %8.2fx\n' "$label" "$epoch" "$tps" "$(python3 -c "print($epoch / $base)")"
}
measure none ""
for off in resident defer-loss foreach-adam cudnn-benchmark async-upload; do measure "$off" "$off"; done
# Reduced precision (every lever on): bf16 and fp16 autocast against fp32 above.
for precision in bf16 fp16; do measure "precision $precision" "" --precision "$precision"; done
rm -rf "$work"
