#!/usr/bin/env bash
# The one benchmark command (bench/README.md): installs dependencies, builds admf-ring-bench,
# admf-bus-bench and admf-policy-bench in build/bench (Release: CMake's default -O3 -DNDEBUG, no -march=native,
# so reports are comparable across machines of one CPU model), runs each one's interleaved
# driver in turn, prints their tables and writes build/bench/ring-bench.json,
# build/bench/bus-bench.json and build/bench/policy-bench.json.
#
#   scripts/bench.sh [ROUNDS] [ring|bus|policy] [extra benchmark flags...]   (default ROUNDS: 7)
#
#   e.g. scripts/bench.sh 9 --filter=spsc      9 rounds of both, only rows matching spsc
#        scripts/bench.sh bus                  only admf-bus-bench
#        scripts/bench.sh ring --rtt-per-round=5   a flag only admf-ring-bench knows: name it
#        scripts/bench.sh ring --help          that benchmark's own flags
#
# Close other programs first: the benchmarks pin their threads to the first two CPUs the
# process may use (taskset restricts them), and anything else running there shows up in them.
# Exits non-zero if the build fails or a benchmark shows a violation (either one).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$repo/build/bench
rounds=7
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
    rounds=$1
    shift
fi
if ((rounds < 1)); then
    echo "usage: scripts/bench.sh [ROUNDS] [ring|bus|policy] [benchmark flags...]" >&2
    exit 2
fi
benches=(ring bus policy)
if [[ $# -gt 0 && ($1 == ring || $1 == bus || $1 == policy) ]]; then
    benches=("$1")
    shift
fi

start=$SECONDS
bash "$repo/scripts/install-deps.sh"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DADMF_BUILD_TESTS=OFF -DADMF_BUILD_EXAMPLES=OFF -DADMF_BUILD_BENCHMARKS=ON >/dev/null
targets=()
for b in "${benches[@]}"; do
    targets+=("admf-$b-bench")
done
cmake --build "$build" -j2 --target "${targets[@]}"
built=$SECONDS
echo "bench.sh: built in $((built - start)) s"

rc=0
for b in "${benches[@]}"; do
    ran=$SECONDS
    brc=0
    "$build/bench/admf-$b-bench" --interleaved="$rounds" --json="$build/$b-bench.json" "$@" || brc=$?
    echo "bench.sh: admf-$b-bench ran in $((SECONDS - ran)) s; exit $brc"
    if ((brc != 0 && rc == 0)); then
        rc=$brc
    fi
    echo
done
echo "bench.sh: total $((SECONDS - start)) s; exit $rc"
exit "$rc"
