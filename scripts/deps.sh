#!/usr/bin/env bash
# Installs what Husk needs to build and test, from Debian 12's packages.
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config
  libseccomp-dev libabsl-dev liburing-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-19 libclang-rt-19-dev
  busybox-static python3 perl strace
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
