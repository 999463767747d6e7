#!/usr/bin/env bash
# Several trainings sharing one GPU machine: the 3D CNN's steady epoch time alone, then with three
# processes started together, at the default host threads (2 on a GPU) and at every core.
#
#   bench/gpu_sharing.sh [BUILD_DIR] [EPOCHS]     (needs MEDMNIST_ROOT and a CUDA device)
set -euo pipefail
build=${1:-build} epochs=${2:-15}
work=$(mktemp -d /tmp/mednet_sharing.XXXXXX)
epoch_of() { python3 -c 'import json,sys; print("%.4f" % json.load(open(sys.argv[1]))["epoch_s"])' "$1"; }
run() {  # run NAME THREADS
  "$build/bin/bench_compare" cnn3d-adrenal --device "${DEVICE:-cuda}" --epochs "$epochs" --threads "$2" --out "$work/$1" >"$work/$1.json"
}
cores=$(nproc)
run alone 0
echo "alone, default threads: $(epoch_of "$work/alone.json") s per epoch"
for threads in 0 "$cores"; do
  for i in 1 2 3; do run "shared$threads-$i" "$threads" & done
  wait
  label=$([[ $threads == 0 ]] && echo "default threads (2)" || echo "$threads threads")
  echo "3 at once, $label: $(for i in 1 2 3; do epoch_of "$work/shared$threads-$i.json"; done | paste -sd' ') s per epoch"
done
rm -rf "$work"
