#!/usr/bin/env bash
# Kill safety on real data: a short RetinaMNIST training (the study's 2D CNN, CPU, 2 threads) is
# SIGKILLed at 10 moments after its first epoch is committed: 5 at a random delay, 5 at the first
# moment a file is being written (a .tmp in the run folder) after a random delay. Each time
# `mednet train --resume` continues it, and the finished run must equal the uninterrupted one: the same
# history (every number but the seconds), the same test scores and the same best.pt bytes.
# Usage: kill_resume_test.sh MEDNET_BINARY   (needs MEDMNIST_ROOT)
set -uo pipefail
bin="$1"
: "${MEDMNIST_ROOT:?set MEDMNIST_ROOT to the folder of the MedMNIST .npz files}"
tmp=$(mktemp -d /tmp/mednet_kill.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat >"$tmp/config.json" <<'JSON'
{"dataset": "retinamnist", "size": 28, "model": {"name": "cnn", "widths": [32, 64, 128], "hidden": [256]},
 "epochs": 6, "batch_size": 64, "schedule": "cosine", "patience": 0, "seed": 11, "threads": 2,
 "device": "cpu"}
JSON
now() { date +%s.%N; }
start=$(now)
"$bin" train --config "$tmp/config.json" --out "$tmp/ref" >"$tmp/ref.log" 2>&1 || fail "reference run: $(tail -3 "$tmp/ref.log")"
ref_s=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
echo "uninterrupted run: ${ref_s} s"

# The run's outcome without timings: history up to the seconds column, test scores, best.pt's bytes.
outcome() {
  cut -d, -f1-8 "$1/history.csv"
  /usr/bin/python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["best_epoch"], m["test"]["auc"], m["test"]["acc"])' "$1/metrics.json"
  md5sum <"$1/best.pt"
}
outcome "$tmp/ref" >"$tmp/ref.outcome"

RANDOM=20261128
inside=0
for i in $(seq 1 10); do
  out="$tmp/k$i"
  "$bin" train --config "$tmp/config.json" --out "$out" >"$tmp/k$i.log" 2>&1 &
  pid=$!
  while [ ! -f "$out/state.json" ]; do
    kill -0 "$pid" 2>/dev/null || fail "kill $i: the run ended before its first epoch was committed"
    sleep 0.01
  done
  sleep "$(awk -v t="$ref_s" -v r="$RANDOM" 'BEGIN { printf "%.3f", t * 0.6 * r / 32768 }')"
  if [ "$i" -gt 5 ]; then
    until compgen -G "$out/*.tmp" >/dev/null || ! kill -0 "$pid" 2>/dev/null; do :; done
  fi
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  tmp_files=$(cd "$out" && ls -- *.tmp 2>/dev/null | paste -sd' ')
  epochs=$(cut -d, -f1 "$out/history.csv" | tail -1)
  [ -n "$tmp_files" ] && inside=$((inside + 1))
  echo "kill $i: after epoch ${epochs}${tmp_files:+, while writing $tmp_files}"
  "$bin" train --resume "$out" >>"$tmp/k$i.log" 2>&1 || fail "kill $i: --resume failed: $(tail -3 "$tmp/k$i.log")"
  outcome "$out" >"$tmp/k$i.outcome"
  diff "$tmp/ref.outcome" "$tmp/k$i.outcome" >/dev/null || fail "kill $i: the resumed run differs: $(diff "$tmp/ref.outcome" "$tmp/k$i.outcome")"
  ls "$out"/*.tmp >/dev/null 2>&1 && fail "kill $i: temporary files left: $(ls "$out"/*.tmp)"
done
echo "10 of 10 kills recovered exactly ($inside inside a write)"
