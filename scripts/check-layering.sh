#!/usr/bin/env bash
# Fails when a file includes a module above its own. Dependencies point down:
#   core < data, dist < metrics, augment, report < models < engine < run < train < explain, quant, trust
#        < experiments, deploy < serve < apps
# Modules on one level may not include each other either (data and dist, metrics, augment and report are siblings;
# so are explain, quant and trust). Usage: scripts/check-layering.sh [ROOT] (default: the repository).
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"

level() {
  case "$1" in
    core) echo 0 ;;
    data | dist) echo 1 ;;
    metrics | augment | report) echo 2 ;;
    models) echo 3 ;;
    engine) echo 4 ;;
    run) echo 5 ;;
    train) echo 6 ;;
    explain | quant | trust) echo 7 ;;
    experiments | deploy) echo 8 ;;
    serve) echo 9 ;;
    apps) echo 10 ;;
    *) echo -1 ;;
  esac
}

bad=0
checked=0
while IFS= read -r file; do
  rel="${file#"$root"/}"
  if [[ "$rel" == apps/* ]]; then
    own=apps
  else
    own="${rel#src/mednet/}"
    own="${own%%/*}"
  fi
  own_level=$(level "$own")
  if [ "$own_level" -lt 0 ]; then
    echo "layering: $rel is in no known module ($own)" >&2
    bad=1
    continue
  fi
  checked=$((checked + 1))
  while IFS= read -r inc; do
    dep="${inc#mednet/}"
    dep="${dep%%/*}"
    [ "$dep" = "build_config.h" ] && continue
    dep_level=$(level "$dep")
    if [ "$dep_level" -lt 0 ]; then
      echo "layering: $rel includes mednet/$dep, which is no known module" >&2
      bad=1
    elif [ "$dep" != "$own" ] && [ "$dep_level" -ge "$own_level" ]; then
      echo "layering: $rel ($own) includes $inc ($dep): a module may only include modules below it" >&2
      bad=1
    fi
  done < <(sed -n 's|^#include "\(mednet/[^"]*\)".*|\1|p' "$file")
done < <(find "$root/src/mednet" "$root/apps" \( -name '*.h' -o -name '*.cpp' \) | sort)

if [ "$bad" -ne 0 ]; then
  echo "layering: FAILED" >&2
  exit 1
fi
echo "layering: $checked files, every include points down"
