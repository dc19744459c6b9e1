#!/usr/bin/env bash
# Writes the seeds of tests/fuzz/corpus/hlo_text and tests/fuzz/corpus/hlo_proto: the smallest
# modules of the HLO oracle corpus (tests/hlo/oracle/cases, printed by XLA) that together use
# every opcode found there, as text, and the same modules in Kiln's binary form (hlo-opt
# --emit-proto). Usage: tests/fuzz/make_hlo_seeds.sh BUILD_DIR (a build with hlo-opt).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
hlo_opt="$1/tools/hlo_opt/hlo-opt"
cases="$here/../hlo/oracle/cases"
text="$here/corpus/hlo_text"
proto="$here/corpus/hlo_proto"
mkdir -p "$text" "$proto"
# Regression inputs (regression-*) stay; the generated seeds are rewritten.
find "$text" "$proto" -type f ! -name 'regression-*' -delete
declare -A seen
# Smallest first; a module is kept when it uses an opcode no kept module uses.
for f in $(ls -S -r "$cases"/*.hlo); do
  keep=0
  for op in $(grep -oE '= [a-z0-9]+\[[^ ]* [a-z-]+\(' "$f" | sed -E 's/.* ([a-z-]+)\($/\1/' | sort -u); do
    if [ -z "${seen[$op]:-}" ]; then seen[$op]=1; keep=1; fi
  done
  [ "$keep" = 1 ] || continue
  name=$(basename "$f" .hlo)
  cp "$f" "$text/$name.hlo"
  "$hlo_opt" "$f" --passes= --emit-proto="$proto/$name.pb" >/dev/null
done
echo "$(ls "$text" | grep -vc '^regression-') seeds, ${#seen[@]} opcodes"
