#!/usr/bin/env bash
# Kill safety of a whole study: `mednet study` runs once uninterrupted, then once more SIGKILLed at 8
# moments spread over its stages (7 inside the stages, shared out in their order: training, Grad-CAM,
# quantization; the 8th while the report is written), each time resumed with the same command. The final
# report.md and every metrics.json must equal those of the uninterrupted study, timings aside
# (tests/scripts/study_outcome.py says what is left out). A kill inside a stage comes when the resumed call
# has printed a random number of that stage's lines (at most half of what the uninterrupted study printed
# there, so that it lands inside the stage however fast the machine is), then a random share of a second;
# the kill in the report comes a random share of the report's time after the last stage is recorded. The
# script prints where each kill landed and which files were being written.
# Usage: study_kill_test.sh MEDNET_BINARY STUDY_FILE [STUDY FLAGS...]   (KEEP=1 keeps the folders)
#   the real files: study_kill_test.sh build/bin/mednet experiments/study.json --preset quick --threads 2
set -uo pipefail
bin=$1
study_file=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/mednet_study_kill.XXXXXX)
trap '[ "${KEEP:-0}" = 1 ] && echo "kept $tmp" || rm -rf "$tmp"' EXIT
fail() {
  echo "FAIL: $*"
  exit 1
}
study=(study --config "$study_file" "$@")
now() { date +%s.%N; }
mtime() { stat -c %.9Y "$1" 2>/dev/null || echo 0; }

start=$(now)
"$bin" "${study[@]}" --out "$tmp/ref" >"$tmp/ref.log" 2>&1 || fail "uninterrupted study: $(tail -5 "$tmp/ref.log")"
echo "uninterrupted study: $(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s"
mapfile -t stages < <(/usr/bin/python3 -c 'import json,sys; [print(s["name"]) for s in json.load(open(sys.argv[1]))["stages"]]' "$study_file")
# Each stage's seconds, and the report's: from the last write of stages.json to the report's files.
declare -A secs
for s in "${stages[@]}"; do
  secs[$s]=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["seconds"])' "$tmp/ref/stages.json" "$s")
done
secs[report]=$(awk -v a="$(mtime "$tmp/ref/stages.json")" -v b="$(mtime "$tmp/ref/report.html")" -v c="$(mtime "$tmp/ref/report.md")" \
  'BEGIN { printf "%.3f", (b > c ? b : c) - a }')
# The lines each stage printed, between its marker and the next.
declare -A lines
for i in "${!stages[@]}"; do
  lines[${stages[$i]}]=$(awk -v a="##### stage $((i + 1))/" -v b="##### stage $((i + 2))/" \
    'index($0, a) == 1 { on = 1; next } index($0, b) == 1 { on = 0 } on { n++ } END { print n + 0 }' "$tmp/ref.log")
done
for s in "${stages[@]}" report; do printf '  %s: %.1f s, %s lines\n' "$s" "${secs[$s]}" "${lines[$s]:-}"; done
/usr/bin/python3 "$here/study_outcome.py" "$tmp/ref" >"$tmp/ref.outcome" || fail "reading the uninterrupted study"

# The 8 moments: 7 shared out over the stages in order (several in one stage come at rising shares of its
# time), then one in the report.
targets=()
n=${#stages[@]}
for i in "${!stages[@]}"; do
  k=$((7 / n + (i < 7 % n ? 1 : 0)))
  most=$((lines[${stages[$i]}] / 2 > 1 ? lines[${stages[$i]}] / 2 : 1))
  for _ in $(seq 1 "$k"); do targets+=("$((i + 1)) ${stages[$i]} $((RANDOM % most + 1))"); done
done
targets+=("$n report 0")

out="$tmp/killed"
kills=0
inside=0
at=0  # the stage the last kill landed in
for t in "${targets[@]}"; do
  read -r idx stage after <<<"$t"
  if [ "$stage" != report ] && [ "$idx" -lt "$at" ]; then
    # the last kill landed past this stage (a short one), so this one goes to where the study is now
    idx=$at
    stage=${stages[$((at - 1))]}
    after=1
  fi
  log="$tmp/k$kills.log"
  launched=$(now)
  "$bin" "${study[@]}" --out "$out" >"$log" 2>&1 &
  pid=$!
  marker="##### stage $idx/$n: "
  until grep -qF "$marker" "$log"; do
    kill -0 "$pid" 2>/dev/null || fail "kill $((kills + 1)): the study ended before stage $idx: $(tail -3 "$log")"
    sleep 0.02
  done
  if [ "$stage" = report ]; then
    # The report starts once this call has recorded the last stage in stages.json (a stage an earlier call
    # finished is recorded at once; one it was killed in, when this call finishes it).
    last=${stages[$((n - 1))]}
    until awk -v a="$(mtime "$out/stages.json")" -v b="$launched" 'BEGIN { exit !(a > b) }' &&
      grep -qF "\"$last\":" "$out/stages.json"; do
      kill -0 "$pid" 2>/dev/null || fail "kill $((kills + 1)): the study ended before its report"
      sleep 0.005
    done
    delay=$(awk -v t="${secs[report]}" -v r="$RANDOM" 'BEGIN { printf "%.3f", t * r / 32768 }')
  else
    # the stage's output in this call, line by line, until `after` lines
    until [ "$(awk -v a="$marker" 'index($0, a) == 1 { on = 1; next } on { n++ } END { print n + 0 }' "$log")" -ge "$after" ]; do
      kill -0 "$pid" 2>/dev/null || fail "kill $((kills + 1)): the study ended before $after lines of $stage"
      sleep 0.02
    done
    delay=0.0$((RANDOM % 10))
    after="$after lines"
  fi
  sleep "$delay"
  kill -0 "$pid" 2>/dev/null || fail "kill $((kills + 1)): the study ended before the kill in $stage"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  kills=$((kills + 1))
  landed=$(grep '^##### stage' "$log" | tail -1 | sed 's/^##### //; s/ (.*//')
  at=$(echo "$landed" | sed -n 's|^stage \([0-9]*\)/.*|\1|p')
  if [ "$stage" = report ]; then
    landed="the report"
    grep -q '^report: ' "$log" && landed="after the report was written"
  fi
  writing=$(cd "$out" && find . -name '*.tmp' | sort | paste -sd' ')
  [ -n "$writing" ] && inside=$((inside + 1))
  echo "kill $kills ($stage, ${after:+after $after, }+$delay s): in ${landed}${writing:+, while writing $writing}"
done
"$bin" "${study[@]}" --out "$out" >"$tmp/final.log" 2>&1 || fail "the last resume: $(tail -5 "$tmp/final.log")"
left=$(cd "$out" && find . -name '*.tmp' | paste -sd' ')
[ -z "$left" ] || fail "temporary files left: $left"
/usr/bin/python3 "$here/study_outcome.py" "$out" >"$tmp/killed.outcome" || fail "reading the resumed study"
if ! diff "$tmp/ref.outcome" "$tmp/killed.outcome" >"$tmp/diff.txt"; then
  head -80 "$tmp/diff.txt"
  fail "the resumed study differs from the uninterrupted one"
fi
echo "$kills of 8 kills resumed to the same report.md and $(grep -c '^=== ' "$tmp/ref.outcome") metrics.json ($inside inside a file write)"
