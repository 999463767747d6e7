#!/usr/bin/env bash
# Makes a small real study on generated data: a fake RetinaMNIST file (the official format), a study
# file with a two-arm training stage, a Grad-CAM stage, a quantization stage, a trust stage and a robustness
# stage, and runs it.
# Usage: tiny_study.sh MEDNET_BIN DIR    -> DIR/data, DIR/study.json, DIR/study (report.html inside)
set -euo pipefail
bin=$1
dir=$2
mkdir -p "$dir/data"
/usr/bin/python3 - "$dir/data/retinamnist.npz" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(1)
arrays = {}
for split, n in (("train", 100), ("val", 40), ("test", 60)):
    labels = np.arange(n) % 5
    base = (labels * 40 + 30).astype(np.float64)
    images = np.clip(base[:, None, None, None] + rng.normal(0, 25, (n, 28, 28, 3)), 0, 255).astype(np.uint8)
    arrays[f"{split}_images"] = images
    arrays[f"{split}_labels"] = labels.reshape(n, 1).astype(np.uint8)
np.savez_compressed(sys.argv[1], **arrays)
PY
cat > "$dir/train.json" <<JSON
{"name": "tiny", "description": "Two arms of a small CNN on generated RetinaMNIST-format data.", "seeds": [0],
 "base": {"dataset": "retinamnist", "epochs": 3, "batch_size": 16, "patience": 0, "root": "$dir/data",
          "model": {"name": "cnn", "widths": [4, 8], "hidden": [8]}},
 "arms": [{"name": "plain", "label": "CNN"},
          {"name": "flip", "label": "CNN, flips", "config": {"augment": [{"type": "flip", "axes": [0, 1], "p": 0.5}]}}]}
JSON
cat > "$dir/cam.json" <<JSON
{"name": "tiny-cam", "description": "Grad-CAM of the plain arm.", "methods": ["gradcam"],
 "entries": [{"name": "plain", "run": "runs/t/plain/seed0", "samples": 5, "select": "per-class"}],
 "leaderboard": {"entries": ["plain"], "methods": "gradcam,ig-black,occlusion"}}
JSON
cat > "$dir/quant.json" <<JSON
{"name": "tiny-quant", "description": "int8 of the plain arm.", "calib": 32, "latency": {"enabled": false},
 "models": [{"name": "cnn", "label": "CNN", "run": "runs/t/plain/seed0"}],
 "variants": [{"name": "dynamic", "label": "dynamic", "mode": "dynamic"},
              {"name": "static", "label": "static (minmax)", "mode": "static", "observer": "minmax"}]}
JSON
cat > "$dir/trust.json" <<JSON
{"name": "tiny-trust", "description": "How far to trust both arms.", "coverage": 0.9, "folders": ["runs/t"]}
JSON
cat > "$dir/robustness.json" <<JSON
{"name": "tiny-robustness", "description": "Both arms under MedMNIST-C's RetinaMNIST corruptions.", "seed": 0,
 "folders": ["runs/t"]}
JSON
cat > "$dir/study.json" <<JSON
{"name": "Tiny study", "description": "A study on generated data, for the report's tests.",
 "stages": [{"name": "t", "kind": "train", "file": "$dir/train.json"},
            {"name": "c", "kind": "cam", "file": "$dir/cam.json"},
            {"name": "q", "kind": "quant", "file": "$dir/quant.json"},
            {"name": "u", "kind": "trust", "file": "$dir/trust.json"},
            {"name": "r", "kind": "robustness", "file": "$dir/robustness.json"}],
 "presets": {"quick": {}}}
JSON
"$bin" study --config "$dir/study.json" --out "$dir/study" --preset quick --root "$dir/data" --skip-md5 --threads 2 \
  > "$dir/study.log" 2>&1 || { cat "$dir/study.log"; exit 1; }
