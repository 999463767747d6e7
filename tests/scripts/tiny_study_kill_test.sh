#!/usr/bin/env bash
# study_kill_test.sh on the small study of tiny_study.sh (generated data, five stages, a few seconds
# each): 8 kills over its training, Grad-CAM, quantization, trust and robustness stages and its report,
# each resumed.
# Usage: tiny_study_kill_test.sh MEDNET_BINARY
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/mednet_tiny_kill.XXXXXX)
trap 'rm -rf "$dir"' EXIT
"$here/tiny_study.sh" "$1" "$dir"
"$here/study_kill_test.sh" "$1" "$dir/study.json" --preset quick --root "$dir/data" --skip-md5 --threads 2
