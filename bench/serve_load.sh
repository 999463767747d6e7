#!/usr/bin/env bash
# The load test of `mednet serve` on loopback (bench/serve_load.py): latency with and without a map,
# throughput with 8 clients, then 10,000 requests with 20% damaged or hostile uploads, the server's
# resident memory and its exit. Usage: bench/serve_load.sh [BUILD_DIR] [serve_load.py flags]
# (needs MEDMNIST_ROOT; default build/).
set -euo pipefail
build=${1:-build}
shift || true
: "${MEDMNIST_ROOT:=$(cd "$(dirname "$0")/../.." && pwd)/shared/data/medmnist}"
export MEDMNIST_ROOT
exec /usr/bin/python3 "$(dirname "$0")/serve_load.py" "$build/bin/mednet" "$@"
