#!/usr/bin/env bash
# Runs admf-scaling-scenario (bench/scaling_scenario.cpp) in build/bench and plots it:
# writes docs/results/scaling-step-load.{json,tsv} and docs/scaling-step-load.png.
#
#   scripts/scaling-scenario.sh [scenario flags...]   e.g. --high-rate=700000 --wait=yielding
#
# Close other programs first (check /proc/loadavg): on 2 vCPUs a compile running beside it
# takes the core the second worker needs, and the step then cannot be served at all.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$repo/build/bench
command -v gnuplot >/dev/null || "$repo/scripts/install-deps.sh"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DADMF_BUILD_TESTS=OFF \
    -DADMF_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j2 --target admf-scaling-scenario
mkdir -p "$repo/docs/results"
"$build/bench/admf-scaling-scenario" --out="$repo/docs/results/scaling-step-load.json" \
    --tsv="$repo/docs/results/scaling-step-load.tsv" "$@"
json=$repo/docs/results/scaling-step-load.json
# The plot's target line and subtitle come from the settings the run recorded.
target_ns=$(grep -o '"target_p99_ns": [0-9]*' "$json" | grep -o '[0-9]*$')
handler=$(grep -o '"handler": "[a-z]*"' "$json" | cut -d'"' -f4)
work_ns=$(grep -o '"work_ns": [0-9]*' "$json" | grep -o '[0-9]*$')
gnuplot -e "in='$repo/docs/results/scaling-step-load.tsv'; out='$repo/docs/scaling-step-load.png'; target_us=$((target_ns / 1000)); handler_text='handler: $handler ${work_ns} ns'" \
    "$repo/docs/plots/scaling.gp"
echo "scaling-scenario: docs/scaling-step-load.png"
