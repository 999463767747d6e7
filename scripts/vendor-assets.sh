#!/usr/bin/env bash
# Refreshes the front-end assets that the study report embeds (third_party/), from the npm registry
# at the versions pinned in assets/package.json and assets/package-lock.json. The build never runs
# npm: it embeds the vendored copies, so building needs no network.
set -euo pipefail
cd "$(dirname "$0")/../assets"
npm ci --no-audit --no-fund
dest=../third_party/chart.js
mkdir -p "$dest"
# The source map comment is dropped: the page is opened from a file and has no map beside it.
grep -v "sourceMappingURL" node_modules/chart.js/dist/chart.umd.min.js > "$dest/chart.umd.min.js"
cp node_modules/chart.js/LICENSE.md "$dest/LICENSE.md"
echo "vendored chart.js $(node -p "require('./node_modules/chart.js/package.json').version") into third_party/chart.js"
