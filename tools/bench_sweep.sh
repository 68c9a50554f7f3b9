#!/usr/bin/env bash
# A sweep of 4 runs on all cores against the same 4 runs one after another, timed in alternating rounds (so a
# change in the machine's speed reaches both alike): the figure issue #15 asks for (parallel / sequential).
#   bash tools/bench_sweep.sh [MODEL] [STEPS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/deep_tanh.net}
steps=${2:-3000}
rounds=${3:-2}
netc=${NETC:-build/compiler/netc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sweep() {  # jobs
  local start end
  start=$(date +%s.%N)
  "$netc" sweep "$model" --set gain=0.5,1,5/3,3 --steps "$steps" --no-stats --quiet --jobs "$1" \
    --out "$tmp/s$1-$RANDOM" >/dev/null 2>&1
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}
"$netc" run "$model" --steps 10 --no-stats --quiet --out "$tmp/warm" >/dev/null 2>&1  # the object cache, once
printf "%-6s %12s %12s %8s\n" round sequential "$(nproc) jobs" ratio
for r in $(seq 1 "$rounds"); do
  seq_s=$(sweep 1)
  par_s=$(sweep "$(nproc)")
  printf "%-6s %11.2fs %11.2fs %8.2f\n" "$r" "$seq_s" "$par_s" "$(awk -v p="$par_s" -v s="$seq_s" 'BEGIN { print p / s }')"
done
