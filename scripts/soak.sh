#!/usr/bin/env bash
# TESTING.md T11 soak (not in CI): builds admf-soak (Release) and runs it, 30 minutes by
# default: mixed load over the five domains, the worker controller scaling market data 1-4,
# a new bus every 3-10 s (stop with drain or discard) and subscription churn every 1 ms.
# Resident memory is sampled every 10 s; exit 0 iff every stop's counters reconciled and
# memory plateaued after warm-up. Writes build/soak/soak.json and build/soak/soak.log.
#
#   scripts/soak.sh [seconds] [extra admf-soak args...]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-1800}
shift || true
bash "$repo/scripts/install-deps.sh"
cmake -S "$repo" -B "$repo/build/soak" -DCMAKE_BUILD_TYPE=Release -DADMF_BUILD_TESTS=OFF \
    -DADMF_BUILD_EXAMPLES=OFF -DADMF_BUILD_BENCHMARKS=ON -DADMF_WITH_NATS=OFF >/dev/null
cmake --build "$repo/build/soak" -j"${ADMF_JOBS:-2}" --target admf-soak
"$repo/build/soak/bench/admf-soak" --seconds "$seconds" --json "$repo/build/soak/soak.json" "$@" \
    2>&1 | tee "$repo/build/soak/soak.log"
