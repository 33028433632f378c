#!/usr/bin/env bash
# The README's main benchmark command: installs what it needs (gnuplot included), builds
# admf-bench (bench/admf_bench.cpp) in build/bench (Release), runs its default suite —
# under 3 minutes on a 2-core machine — prints the table, and writes
# build/bench/admf-bench.json and the plots build/bench/plots/*.png.
#
#   scripts/admf-bench.sh [admf-bench flags...]   e.g. --suite=full, --sustain, --help
#
# Close other programs first: on a small machine anything else running shows in the figures.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$repo/build/bench
start=$SECONDS
bash "$repo/scripts/install-deps.sh"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DADMF_BUILD_TESTS=OFF -DADMF_BUILD_EXAMPLES=OFF -DADMF_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$build" -j2 --target admf-bench
echo "admf-bench.sh: built in $((SECONDS - start)) s"
ran=$SECONDS
mkdir -p "$build/plots"
rc=0
"$build/bench/admf-bench" --json="$build/admf-bench.json" --plots="$build/plots" "$@" || rc=$?
echo "admf-bench.sh: ran in $((SECONDS - ran)) s; JSON build/bench/admf-bench.json," \
    "plots build/bench/plots/; exit $rc"
exit "$rc"
