#!/usr/bin/env bash
# TESTING.md T9: builds the four libFuzzer targets (tests/fuzz) with clang++-14 in
# build/fuzz and runs each for [seconds] (default 120), two at a time (the CI machine has 2
# cores), on a copy of its committed corpus (build/fuzz/corpus/<target>; the source corpus
# never grows). Prints per target the executions, exec/s, coverage and corpus size from
# libFuzzer's final stats, and fails if any target crashed, leaked, timed out or ran out of
# memory, naming the reproducer it left under build/fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [seconds]      ADMF_JOBS: build parallelism (default 2)
#
# Replay a reproducer: build/fuzz/tests/fuzz/admf_fuzz_<target> <file>; once fixed, commit
# it as tests/fuzz/corpus/<target>/crash-<what> (replayed by ctest "fuzz replay: <target>").
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-120}
case "$seconds" in
    -h | --help)
        sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *[!0-9]* | '' | 0)
        echo "usage: scripts/fuzz.sh [seconds > 0] (not '$seconds')" >&2
        exit 2
        ;;
esac
jobs=${ADMF_JOBS:-2}
build=$repo/build/fuzz
targets=(ring sync_bus ipc_frame nats_envelope)
start=$(date +%s)
bash "$repo/scripts/install-deps.sh" || exit 2 # a no-op once installed (scripts/test.sh ran it)

if ! command -v clang++-14 >/dev/null; then
    echo "fuzz.sh: clang++-14 not found (Debian: clang-14 libclang-rt-14-dev)" >&2
    exit 2
fi

echo "== configure + build (clang++-14, -O1 -g, -fsanitize=fuzzer,address,undefined)"
cmake -S "$repo" -B "$build" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" -DADMF_BUILD_FUZZERS=ON \
    -DADMF_BUILD_BENCHMARKS=OFF -DADMF_BUILD_EXAMPLES=OFF >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log"; echo "fuzz.sh: configure failed" >&2; exit 2; }
cmake --build "$build" -j "$jobs" --target "${targets[@]/#/admf_fuzz_}" ||
    { echo "fuzz.sh: build failed" >&2; exit 2; }
built=$(date +%s)

run_one() { # target: fuzz it on a fresh copy of its corpus, log to logs/<target>.log
    local t=$1
    rm -rf "$build/corpus/$t" "$build/artifacts/$t"
    mkdir -p "$build/corpus/$t" "$build/artifacts/$t" "$build/logs"
    cp "$repo/tests/fuzz/corpus/$t/"* "$build/corpus/$t/"
    "$build/tests/fuzz/admf_fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" "$build/corpus/$t" \
        >"$build/logs/$t.log" 2>&1
    echo $? >"$build/logs/$t.rc"
}

echo "== fuzzing ${seconds} s per target, two at a time"
for ((i = 0; i < ${#targets[@]}; i += 2)); do
    run_one "${targets[i]}" &
    if ((i + 1 < ${#targets[@]})); then
        run_one "${targets[i + 1]}" &
    fi
    wait
done

failed=0
printf '%-14s %12s %9s %7s %7s %6s  %s\n' target executions exec/s cov ft corpus result
for t in "${targets[@]}"; do
    log=$build/logs/$t.log
    rc=$(cat "$build/logs/$t.rc" 2>/dev/null || echo '?')
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    final=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED)' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$final")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$final")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$final")
    artifacts=$(find "$build/artifacts/$t" -type f 2>/dev/null)
    result=ok
    if [[ $rc != 0 || -n $artifacts ]]; then
        result="FAILED (exit $rc)"
        failed=1
    fi
    printf '%-14s %12s %9s %7s %7s %6s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
        "${ft:-?}" "${corp:-?}" "$result"
    if [[ $result != ok ]]; then
        grep -m 3 -E 'admf fuzz|ERROR|SUMMARY' "$log" | sed 's/^/    /'
        for a in $artifacts; do
            echo "    reproducer: $a"
        done
        echo "    log: $log"
    fi
done
end=$(date +%s)
echo "fuzz.sh: build $((built - start)) s, fuzzing $((end - built)) s, total $((end - start)) s"
if ((failed)); then
    echo "fuzz.sh: FAILED" >&2
    exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets ran ${seconds} s without a finding"
