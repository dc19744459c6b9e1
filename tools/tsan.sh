#!/usr/bin/env bash
# ThreadSanitizer build of the runtime, the JIT and the backends (build-tsan, KILN_TSAN=ON) and its
# tests: tests/runtime and tests/jit, among them several threads calling Run on one session with the
# JIT on and a cold compilation cache, and op lookups while the launch op registers. LLVM, oneDNN and
# OpenMP are not instrumented; tests/tsan_suppressions.txt lists what is suppressed in them and why.
# Any other report fails the test that triggered it. docs/testing.md.
#
# Usage: tools/tsan.sh [--build-only]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${KILN_TSAN_BUILD_DIR:-$root/build-tsan}"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DKILN_TSAN=ON -DKILN_BUILD_BENCHMARKS=OFF >/dev/null
fi
set +e
ninja -C "$build" | grep -vE '^(\[[0-9]+/[0-9]+\] |ninja: Entering directory|ninja: no work to do)'
status=${PIPESTATUS[0]}
set -e
[ "$status" -ne 0 ] && exit "$status"
[ "${1:-}" = "--build-only" ] && exit 0
export TSAN_OPTIONS="suppressions=$root/tests/tsan_suppressions.txt halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
cd "$build"
ctest --output-on-failure -j2 --timeout 1200
