#!/usr/bin/env bash
# Data-parallel scaling on this machine, side by side in one call: the study's 2D CNN on the real
# RetinaMNIST (1080 training images, batch 32) for a few epochs as 1 process x 2 threads, then as
# 2 processes x 1 thread (c10d Gloo on loopback), and for the 3D CNN on AdrenalMNIST3D the same.
# Prints the median epoch time (validation included) of each. Usage: bench/dist_scaling.sh [BUILD_DIR]
set -euo pipefail
build="${1:-build}"
bin="$build/bin/mednet"
root="${MEDMNIST_ROOT:?set MEDMNIST_ROOT to the folder with the official files}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
epochs=5

median_epoch() {  # history.csv: the seconds column, median over the epochs
  /usr/bin/python3 - "$1" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(f"{statistics.median(float(r['seconds']) for r in rows):.3f}")
PY
}

printf "%-28s %-22s %s\n" "model" "layout" "median epoch (s)"
for case in "retinamnist cnn" "adrenalmnist3d cnn"; do
  set -- $case
  common=(train --dataset "$1" --model "$2" --epochs "$epochs" --patience 0 --seed 0 --root "$root")
  "$bin" "${common[@]}" --threads 2 --out "$tmp/$1-1x2" >/dev/null
  "$bin" "${common[@]}" --threads 1 --nproc 2 --out "$tmp/$1-2x1" >/dev/null
  a=$(median_epoch "$tmp/$1-1x2/history.csv")
  b=$(median_epoch "$tmp/$1-2x1/history.csv")
  printf "%-28s %-22s %s\n" "$2 on $1" "1 process x 2 threads" "$a"
  printf "%-28s %-22s %s\n" "$2 on $1" "2 processes x 1 thread" "$b"
done
