#!/usr/bin/env bash
# Builds everything and runs the whole test suite under ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/build.sh"
build="${KILN_BUILD_DIR:-$root/build}"
cd "$build"
ctest --output-on-failure -j2 --timeout 1200
