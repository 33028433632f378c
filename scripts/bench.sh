#!/usr/bin/env bash
# The one benchmark command (bench/README.md): installs dependencies, builds admf-ring-bench
# in build/bench (Release: CMake's default -O3 -DNDEBUG, no -march=native, so reports are
# comparable across machines of one CPU model), runs the interleaved driver, prints the table
# and writes build/bench/ring-bench.json.
#
#   scripts/bench.sh [ROUNDS] [extra admf-ring-bench flags...]     (default ROUNDS: 7)
#
#   e.g. scripts/bench.sh 9 --filter=spsc      9 rounds, only rows whose name matches spsc
#        scripts/bench.sh --help               the benchmark's own flags
#
# Close other programs first: the benchmark pins its threads to the first two CPUs the
# process may use (taskset restricts them), and anything else running there shows up in it.
# Exits non-zero if the build fails or an admf ring shows a violation.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$repo/build/bench
rounds=7
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
    rounds=$1
    shift
fi
if ((rounds < 1)); then
    echo "usage: scripts/bench.sh [ROUNDS] [admf-ring-bench flags...]" >&2
    exit 2
fi

start=$SECONDS
bash "$repo/scripts/install-deps.sh"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DADMF_BUILD_TESTS=OFF -DADMF_BUILD_EXAMPLES=OFF -DADMF_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$build" -j2 --target admf-ring-bench
built=$SECONDS
echo "bench.sh: built in $((built - start)) s"

rc=0
"$build/bench/admf-ring-bench" --interleaved="$rounds" --json="$build/ring-bench.json" "$@" || rc=$?
echo "bench.sh: ran in $((SECONDS - built)) s; total $((SECONDS - start)) s; exit $rc"
exit "$rc"
