#!/usr/bin/env bash
# mednet against PyTorch Python on this machine, side by side in one call, for each study model:
# training samples/s (steady-state epochs, validation excluded), seconds per epoch with validation,
# inference samples/s at batch 256, and peak resident memory. Prints a table of ratios
# (mednet / PyTorch: above 1 means mednet is faster) and writes the numbers as JSON.
#
#   bench/compare.sh [BUILD_DIR] [--device cpu|cuda] [--threads N] [--epochs E] [--arms a,b] [--json FILE]
#                    [--precision fp32|bf16|fp16]   (both sides under autocast; fp16 with loss scaling)
#                    [--plus]                        (the rows at MedMNIST+ sizes instead of the study's)
#
# An arm ARM@S runs at the MedMNIST+ size S on generated data of the real shape (bench/plus_data.py: random
# pictures, the official layout, fewer samples than the real split so that a 2-core row takes minutes);
# samples per second, not seconds per epoch, is what compares with other sizes. --plus runs the 3D CNN and
# 3D ResNet-18 at 64^3, and the 2D CNN, ResNet-18 and VGG16 (blocks 4-5 fine-tuned) at 128 and 224 px.
#
# Needs MEDMNIST_ROOT, and a python3 with torch and numpy ($PYTHON, default python3; Debian's
# python3-torch on the CPU machine). Threads default to 2 on both sides.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=build
if [[ $# -gt 0 && $1 != --* ]]; then build=$1; shift; fi
device=cpu threads=2 epochs=3 json=compare.json precision=fp32
arms=cnn3d-adrenal,cnn2d-retina,cnn2d-aug-retina,resnet18-retina,vgg16-partial64-retina
plus_arms=cnn3d-adrenal@64,resnet18-adrenal@64,cnn2d-retina@128,resnet18-retina@128,vgg16-partial64-retina@128
plus_arms+=,cnn2d-retina@224,resnet18-retina@224,vgg16-partial64-retina@224
while [[ $# -gt 0 ]]; do
  case $1 in
    --device) device=$2 ;;
    --threads) threads=$2 ;;
    --epochs) epochs=$2 ;;
    --arms) arms=$2 ;;
    --json) json=$2 ;;
    --precision) precision=$2 ;;
    --plus) arms=$plus_arms; shift; continue ;;
    *) echo "compare.sh: unknown flag $1" >&2; exit 2 ;;
  esac
  shift 2
done
python=${PYTHON:-python3}
work=$(mktemp -d /tmp/mednet_compare.XXXXXX)
# Samples of a generated split at a MedMNIST+ size: "TRAIN VAL", sized so that one epoch of a side takes
# about a minute on 2 cores.
plus_samples() {
  case $1 in
    resnet18-adrenal@*) echo "32 16" ;;
    *-adrenal@*) echo "96 32" ;;
    vgg16-*@224) echo "64 32" ;;
    *@224 | vgg16-*) echo "256 64" ;;
    *) echo "512 128" ;;
  esac
}
rows=()
for row in ${arms//,/ }; do
  arm=${row%@*} size_flags=()
  if [[ $row == *@* ]]; then
    size=${row#*@}
    flag=retinamnist
    [[ $arm == *-adrenal ]] && flag=adrenalmnist3d
    read -r n_train n_val <<<"$(plus_samples "$row")"
    [[ -f $work/data/${flag}_$size.npz ]] || "$python" "$here/plus_data.py" "$flag" "$size" "$n_train" "$n_val" "$work/data"
    size_flags=(--size "$size" --root "$work/data")
  fi
  echo "== $row ($device, $threads threads, $epochs epochs, $precision)" >&2
  if [[ $device == cuda* ]]; then
    # One untimed epoch of each side first: a fresh GPU machine compiles and caches kernels for whichever
    # process uses them first, and that one-time cost must not land on one side's first epoch.
    "$build/bin/bench_compare" "$arm" "${size_flags[@]}" --device "$device" --threads "$threads" --epochs 1 \
      --precision "$precision" --out "$work/warm-$row" >/dev/null
    "$python" "$here/torch_compare.py" "$work/warm-$row/protocol.json" >/dev/null
  fi
  m=$("$build/bin/bench_compare" "$arm" "${size_flags[@]}" --device "$device" --threads "$threads" \
    --epochs "$epochs" --precision "$precision" --out "$work/$row")
  t=$("$python" "$here/torch_compare.py" "$work/$row/protocol.json")
  # What the row trained on: the picture size, the size the network sees and the training samples.
  setting=$("$python" -c 'import json, sys; p = json.load(open(sys.argv[1]))
print(json.dumps({k: p[k] for k in ("size", "input_size", "n_train")}))' "$work/$row/protocol.json")
  rows+=("{\"arm\": \"$row\", \"setting\": $setting, \"mednet\": $m, \"pytorch\": $t}")
done
printf '%s\n' "${rows[@]}" | "$python" "$here/compare_table.py" "$device" "$threads" "$epochs" "$json"
rm -rf "$work"
