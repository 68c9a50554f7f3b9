#!/usr/bin/env bash
# Set-up and build (tools/setup.sh), then every test: ctest runs each doctest case of build/tests/.
#   bash tools/test.sh [extra ctest arguments, e.g. -R golden]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cd build
ctest --output-on-failure --timeout 600 "$@"
