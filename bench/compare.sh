#!/usr/bin/env bash
# mednet against PyTorch Python on this machine, side by side in one call, for each study model:
# training samples/s (steady-state epochs, validation excluded), seconds per epoch with validation,
# inference samples/s at batch 256, and peak resident memory. Prints a table of ratios
# (mednet / PyTorch: above 1 means mednet is faster) and writes the numbers as JSON.
#
#   bench/compare.sh [BUILD_DIR] [--device cpu|cuda] [--threads N] [--epochs E] [--arms a,b] [--json FILE]
#                    [--precision fp32|bf16|fp16]   (both sides under autocast; fp16 with loss scaling)
#
# Needs MEDMNIST_ROOT, and a python3 with torch and numpy ($PYTHON, default python3; Debian's
# python3-torch on the CPU machine). Threads default to 2 on both sides.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=build
if [[ $# -gt 0 && $1 != --* ]]; then build=$1; shift; fi
device=cpu threads=2 epochs=3 json=compare.json precision=fp32
arms=cnn3d-adrenal,cnn2d-retina,cnn2d-aug-retina,resnet18-retina,vgg16-partial64-retina
while [[ $# -gt 0 ]]; do
  case $1 in
    --device) device=$2 ;;
    --threads) threads=$2 ;;
    --epochs) epochs=$2 ;;
    --arms) arms=$2 ;;
    --json) json=$2 ;;
    --precision) precision=$2 ;;
    *) echo "compare.sh: unknown flag $1" >&2; exit 2 ;;
  esac
  shift 2
done
python=${PYTHON:-python3}
work=$(mktemp -d /tmp/mednet_compare.XXXXXX)
rows=()
for arm in ${arms//,/ }; do
  echo "== $arm ($device, $threads threads, $epochs epochs, $precision)" >&2
  if [[ $device == cuda* ]]; then
    # One untimed epoch of each side first: a fresh GPU machine compiles and caches kernels for whichever
    # process uses them first, and that one-time cost must not land on one side's first epoch.
    "$build/bin/bench_compare" "$arm" --device "$device" --threads "$threads" --epochs 1 \
      --precision "$precision" --out "$work/warm-$arm" >/dev/null
    "$python" "$here/torch_compare.py" "$work/warm-$arm/protocol.json" >/dev/null
  fi
  m=$("$build/bin/bench_compare" "$arm" --device "$device" --threads "$threads" --epochs "$epochs" \
    --precision "$precision" --out "$work/$arm")
  t=$("$python" "$here/torch_compare.py" "$work/$arm/protocol.json")
  rows+=("{\"arm\": \"$arm\", \"mednet\": $m, \"pytorch\": $t}")
done
printf '%s\n' "${rows[@]}" | "$python" "$here/compare_table.py" "$device" "$threads" "$epochs" "$json"
rm -rf "$work"
