#!/usr/bin/env bash
# A distributed run (2 Gloo processes on loopback, generated data) whose rank 1 is killed mid-run must
# end: rank 0 reports the lost worker and the job exits 1 within --dist-timeout, no worker is left
# running, the last finished epoch's checkpoint still evaluates, and --resume continues the run with
# 2 processes. Usage: dist_kill_test.sh MEDNET_BINARY
set -uo pipefail
bin="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; echo "--- log"; cat "$tmp/log" 2>/dev/null; exit 1; }

/usr/bin/python3 - "$tmp/retinamnist.npz" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(0)
def split(n):
    y = rng.integers(0, 5, size=(n, 1))
    x = rng.integers(0, 60, size=(n, 28, 28, 3)) + (y[:, :, None, None] * 40)
    return x.astype(np.uint8), y.astype(np.uint8)
d = {}
for name, n in (("train", 600), ("val", 60), ("test", 60)):
    d[name + "_images"], d[name + "_labels"] = split(n)
np.savez_compressed(sys.argv[1], **d)
PY

common=(--dataset retinamnist --root "$tmp" --skip-md5 --threads 1)
"$bin" train "${common[@]}" --model cnn --widths 8,16 --batch-size 16 --epochs 400 --patience 0 \
  --nproc 2 --dist-timeout 20 --out "$tmp/run" >"$tmp/log" 2>&1 &
launcher=$!
for _ in $(seq 1 600); do
  [ -f "$tmp/run/state.json" ] && break
  kill -0 "$launcher" 2>/dev/null || fail "the job ended before its first epoch"
  sleep 0.2
done
[ -f "$tmp/run/state.json" ] || fail "no epoch finished within 120 s"
workers=$(pgrep -P "$launcher" | sort -n)
[ "$(echo "$workers" | wc -l)" -eq 2 ] || fail "expected 2 workers, found: $workers"
rank1=$(echo "$workers" | tail -1)
start=$(date +%s%N)
kill -9 "$rank1"
wait "$launcher"
rc=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
echo "killed rank 1 (pid $rank1): the job ended with exit code $rc after $elapsed_ms ms"
[ "$rc" -eq 1 ] || fail "exit code $rc, expected 1"
[ "$elapsed_ms" -lt 30000 ] || fail "the job took $elapsed_ms ms to end (timeout 20 s)"
grep -q "rank 0 of 2: .* failed: another worker of the job died" "$tmp/log" || fail "rank 0 did not name the lost worker"
for p in $workers; do
  if kill -0 "$p" 2>/dev/null; then fail "worker $p is still running"; fi
done
grep -o "rank 0 of 2: [^(]*" "$tmp/log" | head -1

done_epochs=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['epochs_done'])" "$tmp/run/state.json")
echo "epochs finished before the kill: $done_epochs"
"$bin" eval --run "$tmp/run" --root "$tmp" --skip-md5 --threads 1 >"$tmp/eval.log" 2>&1 || fail "the last checkpoint does not evaluate: $(cat "$tmp/eval.log")"

# Resumed with 2 processes for 2 more epochs.
target=$((done_epochs + 2))
"$bin" train --resume "$tmp/run" --root "$tmp" --skip-md5 --threads 1 --epochs "$target" --nproc 2 >"$tmp/log" 2>&1 ||
  fail "the resumed distributed run failed"
now=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['epochs_done'])" "$tmp/run/state.json")
[ "$now" -eq "$target" ] || fail "resumed run has $now epochs, expected $target"
grep -q "data-parallel: rank 0 of 2" "$tmp/log" || fail "the resumed run was not distributed"
echo "resumed with 2 processes: $now epochs, metrics.json written: $([ -f "$tmp/run/metrics.json" ] && echo yes)"
echo PASS
