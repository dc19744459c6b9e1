#!/usr/bin/env bash
# Builds everything and runs the whole test suite under ctest; then the ThreadSanitizer build's tests,
# the ASan+UBSan build's tests and the fuzz targets.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/build.sh"
build="${KILN_BUILD_DIR:-$root/build}"
cd "$build"
ctest --output-on-failure -j2 --timeout 1200
# ThreadSanitizer build of the runtime and the JIT (build-tsan) and their tests (docs/testing.md).
bash "$root/tools/tsan.sh"
# ASan+UBSan build of the LLVM-free libraries, their tests and the fuzz targets (build-asan):
# its ctest, then each fuzz target for 30 seconds (docs/testing.md).
export KILN_FUZZ_BUILD_DIR="${KILN_ASAN_BUILD_DIR:-$root/build-asan}"
bash "$root/tools/fuzz.sh" --build-only
(cd "$KILN_FUZZ_BUILD_DIR" && ctest --output-on-failure -j2 --timeout 1200)
bash "$root/tools/fuzz.sh" 30
