#!/usr/bin/env bash
# The layering check accepts a tree whose includes point down and rejects one upward include.
set -euo pipefail
check="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/mednet/engine" "$tmp/src/mednet/train" "$tmp/apps/mednet"
printf '#include "mednet/models/classifier.h"\n' > "$tmp/src/mednet/engine/evaluate.cpp"
printf '#include "mednet/engine/evaluate.h"\n' > "$tmp/src/mednet/train/trainer.cpp"
printf '#include "mednet/train/trainer.h"\n' > "$tmp/apps/mednet/main.cpp"
"$check" "$tmp" > "$tmp/good.log" 2>&1 || { echo "a downward tree was rejected:"; cat "$tmp/good.log"; exit 1; }
grep -q "3 files, every include points down" "$tmp/good.log" || { cat "$tmp/good.log"; exit 1; }
printf '#include "mednet/train/trainer.h"\n' >> "$tmp/src/mednet/engine/evaluate.cpp"
if "$check" "$tmp" > "$tmp/bad.log" 2>&1; then
  echo "an upward include (engine -> train) passed the check"
  exit 1
fi
grep -q "src/mednet/engine/evaluate.cpp (engine) includes mednet/train/trainer.h (train)" "$tmp/bad.log" || {
  cat "$tmp/bad.log"
  exit 1
}
echo "layering check: accepts the downward tree, rejects engine -> train"
