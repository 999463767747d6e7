#!/usr/bin/env bash
# The study's own file (experiments/study.json, quick preset) on the seed study's other choices, generated
# in the official layout: ChestMNIST (1 channel, 14 findings, multi-label) and NoduleMNIST3D (binary), each
# a few dozen samples. Every stage must finish, the report must speak of ChestMNIST and NoduleMNIST3D only,
# and the ChestMNIST runs must score their 14 sigmoid outputs with the official multi-label metrics.
# Usage: other_datasets_study_test.sh MEDNET_BIN SOURCE_DIR [WORK_DIR]
set -euo pipefail
bin=$1
src=$2
dir=${3:-$(mktemp -d /tmp/mednet_other_datasets_XXXXXX)}
rm -rf "$dir/study"  # a fresh study each time, never one resumed from an earlier run
mkdir -p "$dir/data"
/usr/bin/python3 - "$dir/data" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(7)
out = sys.argv[1]
chest, nodule = {}, {}
for split, n in (("train", 48), ("val", 24), ("test", 24)):
    # ChestMNIST: 14 findings per picture, each present in about a third of them, written into the
    # picture's brightness so that a model can learn something.
    labels = (rng.random((n, 14)) < 0.33).astype(np.uint8)
    labels[:14, :] = np.eye(14, dtype=np.uint8)[: min(n, 14)]  # every finding present and absent somewhere
    level = 40 + 10 * labels[:, :8].sum(axis=1)
    chest[f"{split}_images"] = np.clip(level[:, None, None] + rng.normal(0, 20, (n, 28, 28)), 0, 255).astype(np.uint8)
    chest[f"{split}_labels"] = labels
    y = (np.arange(n) % 2).astype(np.uint8)
    vol = np.clip(60 + 80 * y[:, None, None, None] + rng.normal(0, 30, (n, 28, 28, 28)), 0, 255)
    nodule[f"{split}_images"] = vol.astype(np.uint8)
    nodule[f"{split}_labels"] = y.reshape(n, 1)
np.savez_compressed(f"{out}/chestmnist.npz", **chest)
np.savez_compressed(f"{out}/nodulemnist3d.npz", **nodule)
PY
cd "$src"
"$bin" study --config experiments/study.json --dataset-2d chestmnist --dataset-3d nodulemnist3d --preset quick \
  --out "$dir/study" --root "$dir/data" --skip-md5 --threads 2 --device cpu >"$dir/study.log" 2>&1 \
  || { tail -40 "$dir/study.log"; echo "FAIL: the study exited non-zero"; exit 1; }
fail() { echo "FAIL: $*"; exit 1; }
for stage in exp1 exp2a exp2b exp2c exp3 exp2d trust robustness; do
  grep -q "^  $stage: \(done\|already complete\)" "$dir/study.log" || { grep "^  $stage:" "$dir/study.log"; fail "stage $stage did not finish"; }
done
md=$dir/study/report.md
grep -q "ChestMNIST" "$md" || fail "the report never names ChestMNIST"
grep -q "NoduleMNIST3D" "$md" || fail "the report never names NoduleMNIST3D"
if grep -n "RetinaMNIST\|AdrenalMNIST3D\|retinamnist\|adrenalmnist3d" "$md"; then fail "the report still names the study's own datasets"; fi
grep -q '"dataset": "chestmnist"' "$dir/study/exp2a/augmentation/seed0/config.json" || fail "exp2a did not train on chestmnist"
grep -q '"dataset": "nodulemnist3d"' "$dir/study/exp1/cnn3d/seed0/config.json" || fail "exp1 did not train on nodulemnist3d"
# The 2D runs score 14 sigmoid outputs with the official multi-label AUC and ACC: the result file has 14
# scores per picture and the medmnist evaluator, restated in NumPy and scikit-learn, agrees with metrics.json.
run=$dir/study/exp2a/augmentation/seed0
[ "$(wc -l < "$run"/chestmnist_test_*.csv)" = 24 ] || fail "the result file does not hold the 24 test pictures"
csv=$(ls "$run"/chestmnist_test_*.csv) || fail "no official result file in $run"
[ "$(head -1 "$csv" | awk -F, '{print NF}')" = 15 ] || fail "$csv does not hold 14 scores per picture"
/usr/bin/python3 - "$run/metrics.json" "$(/usr/bin/python3 "$src/tests/scripts/medmnist_evaluator.py" "$csv" "$dir/data")" <<'PY' \
  || fail "multi-label metrics"
import json, sys
m = json.load(open(sys.argv[1]))
ref = json.loads(sys.argv[2])
assert m["dataset"] == "chestmnist", m["dataset"]
assert abs(m["test"]["auc"] - ref["auc"]) < 1e-6 and abs(m["test"]["acc"] - ref["acc"]) < 1e-6, (m["test"], ref)
PY
# The trust section and each ChestMNIST run's trust.md speak of findings, each with its own conformal set.
grep -q "| finding | test images | covered |" "$run/trust.md" || fail "$run/trust.md does not list its findings"
grep -q "held the true class or a finding's true value (present or absent) for between .* of test images or image-finding pairs" "$md" \
  || fail "the report's conformal conclusion does not speak of findings"
grep -q "The predicted class or finding never changes under a temperature" "$md" || fail "the calibration conclusion does not speak of findings"
# Robustness per finding: each ChestMNIST run lists its 14 findings' drops, and the report names the one that
# loses the most.
rob=$dir/study/robustness/exp2a/augmentation/seed0/robustness.md
[ "$(grep -c '^| [^|]* | [0-9.na/]* | [-0-9.na/]* | [a-z_]* ([-0-9.na/]*) |$' "$rob")" = 14 ] || fail "$rob does not list the 14 findings"
grep -q "| finding | clean AUC | mean AUC drop | worst corruption (its drop) |" "$rob" || fail "$rob has no per-finding table"
grep -q "^Per finding (one against the rest" "$md" || fail "the robustness section has no per-finding table"
grep -q "The finding .* loses the most test AUC under corruption in [0-9]* of [0-9]* runs" "$md" || fail "no per-finding conclusion"
echo "PASS: the quick study ran on generated ChestMNIST and NoduleMNIST3D files ($dir)"
