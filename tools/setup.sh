#!/usr/bin/env bash
# Set-up for netc on Debian 12: installs the packages that are missing (a prepared machine skips apt
# entirely), obtains the names dataset into data/ if it is not there yet, then configures and builds
# everything in build/.
#   bash tools/setup.sh            Release build in build/
#   NETC_BUILD_TYPE=RelWithDebInfo NETC_JOBS=2 bash tools/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# What each package is for: README.md, "Dependencies".
packages=(cmake ninja-build g++ llvm-19-dev clang-19 libclang-rt-19-dev
          libfmt-dev doctest-dev libcli11-dev nlohmann-json3-dev
          zlib1g-dev libzstd-dev libedit-dev libxml2-dev libffi-dev ccache
          chromium)  # chromium: the test that renders report.html headless

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

# The dataset is needed to train, not to build or test: a failure here is a warning.
if [ ! -s data/names.txt ]; then
  bash tools/get-names.sh || echo "setup: warning: no data/names.txt; run tools/get-names.sh, or pass --data FILE" >&2
fi

jobs=${NETC_JOBS:-$(nproc)}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${NETC_BUILD_TYPE:-Release}"
ninja -C build -j"$jobs"
echo "setup: built build/compiler/netc"
