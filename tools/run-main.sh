#!/usr/bin/env bash
# Set-up and build, then the main job: train the lecture's MLP (Kaiming initialisation) on the names,
# evaluate it and sample from it. Extra arguments go to `netc run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
exec ./build/compiler/netc run models/mlp_kaiming.net "$@"
