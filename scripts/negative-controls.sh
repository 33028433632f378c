#!/usr/bin/env bash
# TESTING.md T10, negative controls: proves the checks can fail. For each control, builds
# the one test target it concerns with a known bug injected (-DADMF_FAULT_<name>, see
# tests/negative/README.md), runs only the matching case and asserts that it FAILS; then,
# the positive half, runs the same case from a build without the fault and asserts that it
# passes. Prints a table and exits non-zero if any control did not behave so.
#
#   scripts/negative-controls.sh [control...]   (default: all five)
#
# Controls: relaxed_publish drop_one_per_million skip_handover strict_for_weighted
#           skip_ipc_checksum
# Faulted builds: build/negative/<control> (rel controls g++ -O2, the TSan control clang++-14
# -O1 -fsanitize=thread). Unfaulted builds: build/rel and build/tsan when they are configured
# (scripts/test.sh's CI builds; only the needed target is brought up to date there, a no-op
# after test.sh), else build/negative/baseline-rel and baseline-tsan, configured here.
# ADMF_JOBS overrides -j2; ADMF_NEGATIVE_BASELINE=fresh forces the build/negative baselines.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=${ADMF_JOBS:-2}
out=$repo/build/negative
mkdir -p "$out"

# name | config | target | Catch2 test spec (no ',' : it separates specs; '*' instead) |
# what a failure must show (grep -E on its output)
controls=(
    "relaxed_publish|tsan|admf_ring_stress|ring stress: 1 producer and 1 consumer pass every item exactly once and in order - spsc_rings - 0|ThreadSanitizer: data race"
    "drop_one_per_million|rel|admf_bus_stress|bus stress: 4 producers over 5 partitions lose nothing silently and keep per-key order*|FAILED:"
    "skip_handover|tsan|admf_scaling_stress|scaling stress: forced 1 -> 4 -> 1 scaling every 20 ms*|ThreadSanitizer: data race|two threads inside lane"
    "strict_for_weighted|rel|admf_priority_tests|weighted_priority 8:4:1: low gets 1/13 of every saturated 10*|FAILED:"
    "skip_ipc_checksum|rel|admf_ipc_tests|ipc: a corrupted committed frame is counted and skipped*|FAILED:"
)

case "${1:-}" in
    -h | --help)
        sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
esac
selected=("$@")
bash "$repo/scripts/install-deps.sh" || exit 2 # a no-op once installed (scripts/test.sh ran it)

common=(-DADMF_BUILD_TESTS=ON -DADMF_BUILD_BENCHMARKS=OFF -DADMF_BUILD_EXAMPLES=OFF
    -DADMF_WITH_NATS=OFF -DADMF_WITH_BOOST=OFF -DADMF_WITH_MOODYCAMEL=OFF -DADMF_INSTALL=OFF)

# config_args <rel|tsan> <extra CXX flags>
config_args() {
    case "$1" in
        rel) echo "-DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Release" ;;
        tsan) echo "-DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug -DADMF_SANITIZE=thread" ;;
    esac
}

# configure <dir> <rel|tsan> <CXX flags>
configure() {
    local dir=$1 config=$2 flags=$3 opt
    case "$config" in
        rel) opt=(-DCMAKE_CXX_FLAGS_RELEASE=-O2\ -DNDEBUG) ;;
        tsan) opt=(-DCMAKE_CXX_FLAGS_DEBUG=-O1\ -g) ;;
    esac
    # shellcheck disable=SC2046
    cmake -S "$repo" -B "$dir" "${common[@]}" $(config_args "$config") "${opt[@]}" \
        "-DCMAKE_CXX_FLAGS=$flags" >"$dir.configure.log" 2>&1
}

# run_case <dir> <config> <target> <spec> <log>: runs the case, returns its exit status.
run_case() {
    local dir=$1 config=$2 target=$3 spec=$4 log=$5
    local exe
    exe=$(find "$dir/tests" -type f -name "$target" -perm -u+x | head -n 1)
    if [[ -z $exe ]]; then
        echo "negative-controls: $target not found under $dir" >"$log"
        return 125
    fi
    local launcher=()
    if [[ $config == tsan ]] && setarch "$(uname -m)" -R true 2>/dev/null; then
        launcher=(setarch "$(uname -m)" -R) # TSan aborts on high mmap ASLR entropy (TESTING.md)
    fi
    # A stalled run aborts after 10 s (the stress watchdog), a hung one after 240 s.
    ADMF_STRESS_SCALE=$config ADMF_STALL_SECONDS=10 \
        TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$repo/tests/tsan.supp" \
        timeout -k 10 240 "${launcher[@]}" "$exe" -w NoTests "$spec" >"$log" 2>&1
}

# baseline_dir <config>: an up-to-date unfaulted build of the needed targets' config.
baseline_dir() {
    local config=$1 dir=$repo/build/$1
    if [[ ${ADMF_NEGATIVE_BASELINE:-} == fresh || ! -f $dir/CMakeCache.txt ]] ||
        grep -q 'ADMF_FAULT' "$dir/CMakeCache.txt"; then
        dir=$out/baseline-$config
        [[ -f $dir/CMakeCache.txt ]] || configure "$dir" "$config" "" || return 1
    fi
    echo "$dir"
}

# The first line of the output that shows the failure and the three after it (Catch2: the
# assertion and its expansion; TSan: the racing accesses), on one line for the table.
evidence() {
    local log=$1 pattern=$2 n line
    n=$(grep -n -m1 -E "$pattern" "$log" | cut -d: -f1)
    [[ -n $n ]] || n=$(grep -n -m1 -E "FAILED|ThreadSanitizer|Segmentation|Aborted|admf watchdog" "$log" | cut -d: -f1)
    [[ -n $n ]] || n=1
    if grep -q "ThreadSanitizer" <<<"$(sed -n "${n}p" "$log")"; then
        # The header, the first access, and the first two of admf's frames in the report.
        line="$(sed -n "${n},$((n + 1))p" "$log")
$(sed -n "$((n + 2)),\$p" "$log" | grep -m2 'include/admf/' | sed 's/ ([^ ()]*+0x[0-9a-f]*).*//; s/^ *#[0-9]* //; s/<[^<>]*>//g; s/<[^<>]*>//g')"
        line=$(sed "s|$repo/||g" <<<"$line" | tr '\t\n' '  ' | tr -s ' ')
    else
        line=$(sed -n "${n},$((n + 3))p" "$log" | sed "s|$repo/||g" | tr '\t\n' '  ' | tr -s ' ')
    fi
    echo "${line:0:300}"
}

names=() suites=() observed=() seconds=() verdicts=()
failures=0
total_start=$SECONDS
for entry in "${controls[@]}"; do
    IFS='|' read -r name config target spec expect <<<"$entry"
    expect=${entry#*|*|*|*|}
    if ((${#selected[@]} > 0)) && [[ " ${selected[*]} " != *" $name "* ]]; then
        continue
    fi
    start=$SECONDS
    macro=ADMF_FAULT_${name^^}
    dir=$out/$name
    echo "=== negative-controls: $name: $macro, $target ($config)"
    verdict=ok note=
    if ! configure "$dir" "$config" "-DADMF_TEST_NEGATIVE_CONTROL -D$macro" ||
        ! cmake --build "$dir" --target "$target" -j"$jobs" >"$dir.build.log" 2>&1; then
        verdict=FAILED note="faulted build failed: see $dir.build.log"
    else
        run_case "$dir" "$config" "$target" "$spec" "$dir.run.log"
        rc=$?
        if ((rc == 0)); then
            verdict=FAILED note="the suite PASSED with the fault injected"
        elif ((rc == 125)); then
            verdict=FAILED note="$(cat "$dir.run.log")"
        elif ! grep -qE "$expect" "$dir.run.log"; then
            verdict=FAILED note="failed (exit $rc) but not as expected: $(evidence "$dir.run.log" "$expect")"
        else
            note="exit $rc: $(evidence "$dir.run.log" "$expect")"
        fi
    fi
    # Positive half: the same case without the fault must pass.
    if [[ $verdict == ok ]]; then
        if ! base=$(baseline_dir "$config") ||
            ! cmake --build "$base" --target "$target" -j"$jobs" >"$out/$name.baseline.build.log" 2>&1; then
            verdict=FAILED note="unfaulted build failed: see $out/$name.baseline.build.log"
        elif ! run_case "$base" "$config" "$target" "$spec" "$out/$name.baseline.run.log"; then
            verdict=FAILED note="the case FAILS without the fault too: see $out/$name.baseline.run.log"
        else
            note="$note; passes unfaulted (${base#"$repo"/})"
        fi
    fi
    took=$((SECONDS - start))
    [[ $verdict == ok ]] || failures=$((failures + 1))
    echo "=== negative-controls: $name: $verdict ($took s): $note"
    names+=("$name") suites+=("$target '$spec' ($config)") observed+=("$note")
    seconds+=("$took") verdicts+=("$verdict")
done

echo
echo "| control | suite | expected | observed | verdict | s |"
echo "|---|---|---|---|---|---|"
for i in "${!names[@]}"; do
    echo "| ${names[i]} | ${suites[i]} | fail | ${observed[i]} | ${verdicts[i]} | ${seconds[i]} |"
done
echo "total: $((SECONDS - total_start)) s, -j$jobs"
if ((failures > 0)); then
    echo "=== negative-controls: $failures control(s) did not behave as expected"
    exit 1
fi
echo "=== negative-controls: every injected fault made its suite fail, and it passes without"
