#!/usr/bin/env bash
# bench/compare.sh at a MedMNIST+ size: a row on generated 64-px RetinaMNIST-shaped data runs both sides
# (mednet's bench_compare and PyTorch Python) and writes their numbers; the row says what it trained on.
# Usage: bench_compare_plus_test.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
build=$1 src=$2 dir=$3
mkdir -p "$dir"
fail() { echo "FAIL: $*"; exit 1; }
/usr/bin/python3 -c 'import torch, numpy' 2>/dev/null || { echo "SKIPPED: python3-torch is not installed"; exit 0; }
PYTHON=/usr/bin/python3 "$src/bench/compare.sh" "$build" --arms cnn2d-retina@64 --epochs 2 --threads 2 \
  --json "$dir/plus.json" >"$dir/table.txt" 2>"$dir/log.txt" || { cat "$dir/log.txt"; fail "compare.sh exited non-zero"; }
cat "$dir/table.txt"
/usr/bin/python3 - "$dir/plus.json" <<'PY' || fail "plus.json"
import json, math, sys
j = json.load(open(sys.argv[1]))
(r,) = j["rows"]
assert r["arm"] == "cnn2d-retina@64", r["arm"]
assert r["setting"]["size"] == 64 and r["setting"]["n_train"] == 512, r["setting"]
for side in ("mednet", "pytorch"):
    for k in ("train_samples_per_s", "epoch_s", "infer_samples_per_s", "peak_rss_mb"):
        v = r[side][k]
        assert math.isfinite(v) and v > 0, (side, k, v)
assert math.isfinite(r["train_ratio"]) and r["train_ratio"] > 0
PY
grep -q "^cnn2d-retina@64 *64 *512 " "$dir/table.txt" || fail "the table has no 64-px row with its 512 samples"
echo "PASS: compare.sh ran a 64-px row on both sides"
