#!/usr/bin/env bash
# Installs the Debian packages Kiln builds with. Idempotent; silent when all are present.
set -euo pipefail
pkgs=(cmake ninja-build ccache clang-19 llvm-19-dev llvm-19-tools libclang-rt-19-dev
      libdnnl-dev libabsl-dev libprotobuf-dev protobuf-compiler libgtest-dev libgmock-dev
      libbenchmark-dev libjpeg62-turbo-dev zlib1g-dev libzstd-dev libedit-dev libxml2-dev libffi-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
