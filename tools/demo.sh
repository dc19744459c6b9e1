#!/usr/bin/env bash
# Builds the kiln CLI and classifies the bundled photo with the bundled MobileNet v1 0.25, JIT on.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/build.sh" kiln
build="${KILN_BUILD_DIR:-$root/build}"
KILN_FLAGS="${KILN_FLAGS:---auto_jit=2}" "$build/tools/kiln" run "$root/tools/demo/mobilenet_v1_0.25_128.onnx" \
  --image "$root/tools/demo/cat.jpg" --top 5 --repeat 20
