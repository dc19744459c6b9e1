#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzzer.cc) in the sanitizer build and runs each for
# SECONDS (default 30), starting from its committed seeds (tests/fuzz/corpus/<name>/). New inputs
# go to <build>/fuzz/corpus/<name>/ (kept between runs), crashes to <build>/fuzz/artifacts/.
# Prints one summary line per target; exits 1 when any target found a crash, leak or timeout.
#
# Usage: tools/fuzz.sh [SECONDS] [TARGET...]     e.g. tools/fuzz.sh 600 onnx
#        tools/fuzz.sh --build-only              configure and build the whole sanitizer build
# Mutations use the fixed seed $KILN_FUZZ_SEED (default 1): runs are similar but not identical (which
# inputs join the corpus depends on timing), so run longer and with other seeds locally before landing.
# Set KILN_FUZZ_SEED=0 for a time-based seed when hunting for new bugs.
# The build folder is $KILN_FUZZ_BUILD_DIR, default build-asan (KILN_SANITIZE=ON, KILN_FUZZ=ON:
# the LLVM-free libraries, their tests and the fuzz targets, with ASan+UBSan). docs/testing.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${KILN_FUZZ_BUILD_DIR:-$root/build-asan}"

if [ ! -f "$build/build.ninja" ] || ! grep -q '^KILN_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DKILN_SANITIZE=ON -DKILN_FUZZ=ON -DKILN_BUILD_BENCHMARKS=OFF >/dev/null
fi

# Progress lines are dropped; warnings and errors stay.
build_targets() {
  set +e
  ninja -C "$build" "$@" | grep -vE '^(\[[0-9]+/[0-9]+\] |ninja: Entering directory|ninja: no work to do)'
  local status=${PIPESTATUS[0]}
  set -e
  return "$status"
}

if [ "${1:-}" = "--build-only" ]; then
  build_targets
  exit 0
fi

seconds="${1:-30}"
[ $# -gt 0 ] && shift
build_targets kiln_fuzzers

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in "$root"/tests/fuzz/*_fuzzer.cc; do
    name=$(basename "$src" _fuzzer.cc)
    targets+=("$name")
  done
fi

failed=0
mkdir -p "$build/fuzz/artifacts"
for name in "${targets[@]}"; do
  exe="$build/tests/fuzz/${name}_fuzzer"
  seeds="$root/tests/fuzz/corpus/$name"
  corpus="$build/fuzz/corpus/$name"
  log="$build/fuzz/$name.log"
  mkdir -p "$corpus"
  dirs=("$corpus")
  [ -d "$seeds" ] && dirs+=("$seeds")
  set +e
  # -timeout: one input running over 10 s is a hang. rss_limit_mb (and with it malloc_limit_mb):
  # a single allocation over 2 GiB is reported as a bug.
  "$exe" -max_total_time="$seconds" -seed="${KILN_FUZZ_SEED:-1}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz/artifacts/${name}-" "${dirs[@]}" >"$log" 2>&1
  status=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 | sed 's/corp: //')
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | sed 's/cov: //')
  if [ "$status" -eq 0 ]; then
    echo "fuzz $name: ok, ${execs:-?} runs in ${seconds}s (${rate:-?}/s), coverage ${cov:-?}, corpus ${corp:-?} (files/bytes)"
  else
    failed=1
    echo "fuzz $name: FAILED (exit $status); log $log, reproducer in $build/fuzz/artifacts/" >&2
    # The finding: sanitizer report or libFuzzer's deadly-signal / timeout / OOM message, with its stack
    # (protobuf's parse warnings about the random bytes are dropped).
    grep -v '^\[libprotobuf ' "$log" |
      grep -E -A40 '^==[0-9]+==ERROR|runtime error:|fuzz check failed|ERROR: libFuzzer' | head -60 >&2 || true
    ls "$build/fuzz/artifacts/" | grep "^${name}-" | head -5 >&2 || true
  fi
done
exit "$failed"
