#!/usr/bin/env bash
# The study report in a real browser (Debian's chromium, headless, no network): the page loads with no
# script or console errors, every chart drew (a canvas with painted pixels), it is ready in under 2 s
# and weighs under 5 MB; the summary comes first, its forest plot has one point per trained arm, every
# link of the page (conclusions, contents, figures) leads to an anchor, long tables are collapsed; a
# screenshot is kept. Then one run's metrics.json is changed and the
# rewritten report shows the change; a damaged metrics.json is named and the rest still renders.
# Usage: report_browser_test.sh MEDNET_BIN SOURCE_DIR [SCREENSHOT_OUT]
set -euo pipefail
bin=$1
src=$2
shot_out=${3:-}
chromium=$(command -v chromium || true)
[ -n "$chromium" ] || { echo "FAIL: chromium is not installed (scripts/install-deps.sh --test installs it)"; exit 1; }
dir=$(mktemp -d /tmp/mednet_browser.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$src/tests/scripts/tiny_study.sh" "$bin" "$dir"
report="$dir/study/report.html"
[ -f "$report" ] || fail "no report.html"
[ -f "$dir/study/report.md" ] || fail "no report.md"
size=$(stat -c %s "$report")
[ "$size" -lt 5000000 ] || fail "report.html weighs $size bytes (limit 5 MB)"
grep -q "https\?://[a-z]" <(grep -o '<script src=[^>]*>\|<link [^>]*href=[^>]*>' "$report" || true) && fail "the page loads a remote resource"

open_page() {  # $1: extra chromium flags; prints the DOM after the scripts ran, console to $dir/console.log
  "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$dir/profile" --enable-logging=stderr --v=0 \
    --virtual-time-budget=10000 $1 "file://$report" 2>"$dir/console.log"
}
dom=$(open_page --dump-dom)
attr() { sed -n "s/.*<body[^>]* $1=\"\([^\"]*\)\".*/\1/p" <<<"$dom" | head -1; }
charts=$(attr data-charts)
drawn=$(attr data-charts-drawn)
errors=$(attr data-errors)
ready=$(attr data-ready-ms)
echo "charts $charts, drawn $drawn, ready in $ready ms, page $size bytes, errors '$errors'"
[ -n "$charts" ] && [ "$charts" -ge 5 ] || fail "expected at least 5 charts, the page made '$charts'"
[ "$drawn" = "$charts" ] || fail "$drawn of $charts charts drew"
[ -z "$errors" ] || fail "script errors: $errors"
if grep -E "CONSOLE.*(Uncaught|Error)|:ERROR:CONSOLE" "$dir/console.log"; then fail "console errors"; fi
[ -n "$ready" ] && [ "$ready" -lt 2000 ] || fail "the page took $ready ms to draw (limit 2000)"
grep -q "Grad-CAM\|gradcam" <<<"$dom" || fail "no Grad-CAM section"
# Experiment 2C's leaderboard: its table of the three methods, its picture and its conclusion.
grep -q "Leaderboard: plain" <<<"$dom" || fail "no leaderboard section"
for m in gradcam ig-black occlusion; do grep -q "<td>$m</td>" <<<"$dom" || fail "the leaderboard has no row for $m"; done
grep -q "ranks first by insertion minus deletion" <<<"$dom" || fail "no conclusion from the leaderboard"
grep -q ">ROAD<" <<<"$dom" || fail "the leaderboard has no ROAD column"
grep -q "every method on the same samples" <<<"$dom" || fail "no picture of the methods side by side"
grep -q 'data:image/png;base64' <<<"$dom" || fail "no embedded images"
# The page opens with the summary, and every link of its conclusions leads to an anchor of the page.
grep -q '<h2 id="summary">' <<<"$dom" || fail "no summary section"
[ "$(grep -o '<h2[^>]*>' <<<"$dom" | head -1)" = '<h2 id="summary">' ] || fail "the summary is not the first section"
links=$(grep -o 'href="#[^"]*"' <<<"$dom" | sed 's/href="#//; s/"$//' | sort -u)
[ -n "$links" ] || fail "the summary's conclusions link to no section"
for a in $links; do grep -q "id=\"$a\"" <<<"$dom" || fail "a link to #$a leads nowhere"; done
grep -q '<h2 id="appendix">' <<<"$dom" || fail "no appendix with the stages' bookkeeping"
# The forest plot (the page's first chart) has one point per trained arm of the study's summary files.
arms=$(/usr/bin/python3 - "$dir/study" <<'PY'
import glob, json, math, sys
n = 0
for f in glob.glob(sys.argv[1] + "/*/summary.json"):
    for a in json.load(open(f)).get("arms", []):
        auc = a.get("test_auc_mean")
        n += a.get("seeds_finished", 0) > 0 and isinstance(auc, (int, float)) and math.isfinite(auc)
print(n)
PY
)
points=$(attr data-chart-points)
[ "$arms" -ge 2 ] || fail "expected at least 2 trained arms, the summary files hold $arms"
[ "${points%%,*}" = "$arms" ] || fail "the forest plot has ${points%%,*} points for $arms trained arms"
# A table of contents with one entry per section, every figure with an anchor, long tables collapsed.
sections=$(grep -o '<h2 id="[^"]*"' <<<"$dom" | wc -l)
entries=$(grep -o '<nav class="toc"[^>]*>.*</nav>' <<<"$dom" | grep -o '<a href="#' | wc -l)
[ "$sections" -ge 5 ] && [ "$entries" = "$sections" ] || fail "the contents list $entries of $sections sections"
figures=$(grep -o 'id="figure-[0-9]*"' <<<"$dom" | wc -l)
[ "$figures" -ge "$charts" ] || fail "$figures figure anchors for $charts charts"
grep -q '<details class="long"><summary>Settings of the 2 arms' <<<"$dom" || fail "the settings are not collapsed"
grep -q '<details class="long"><summary>Confusion matrix' <<<"$dom" || fail "the confusion matrices are not collapsed"

open_page "--screenshot=$dir/report.png --window-size=1280,2400 --hide-scrollbars" >/dev/null
[ "$(stat -c %s "$dir/report.png" 2>/dev/null || echo 0)" -gt 20000 ] || fail "no screenshot (or a blank one)"
[ -z "$shot_out" ] || cp "$dir/report.png" "$shot_out"

# A changed number in one run's metrics.json reaches the report.
metrics="$dir/study/t/plain/seed0/metrics.json"
/usr/bin/python3 - "$metrics" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["test"]["auc"] = 0.123456
json.dump(m, open(sys.argv[1], "w"), indent=2)
PY
"$bin" study --config "$dir/study.json" --out "$dir/study" --report-only --root "$dir/data" --skip-md5 >"$dir/r2.log" 2>&1 \
  || { cat "$dir/r2.log"; fail "--report-only failed"; }
grep -q "t: already complete" "$dir/r2.log" || { cat "$dir/r2.log"; fail "a finished stage is not reported as complete"; }
grep -q "0\.123 (" "$dir/study/report.md" || fail "the changed test AUC is not in report.md"
grep -q "0\.123 (" "$report" || fail "the changed test AUC is not in report.html"

# A damaged metrics.json: the run is named with the reason, the rest still renders.
echo '{"test": ' >"$metrics"
"$bin" study --config "$dir/study.json" --out "$dir/study" --report-only --root "$dir/data" --skip-md5 >"$dir/r3.log" 2>&1 \
  || { cat "$dir/r3.log"; fail "--report-only failed on a damaged run"; }
grep -q "gap in the report: .*plain/seed0.*metrics" "$dir/r3.log" || { cat "$dir/r3.log"; fail "the damaged run is not named"; }
grep -q 'class="gap"' "$report" || fail "the gap is not marked in the page"
grep -q "CNN, flips" "$report" || fail "the other arm is missing from the page"
dom=$(open_page --dump-dom)
[ -z "$(attr data-errors)" ] || fail "script errors after damage: $(attr data-errors)"
echo "PASS"
