#!/usr/bin/env bash
# The one test command (README "Testing"): installs dependencies, then configures, builds and
# runs ctest for each selected configuration in its own build/<config> directory.
#
#   scripts/test.sh [all|rel|tsan|asan|fuzz|negative]
#                          (default: all = rel, tsan, asan, then fuzz and negative)
#
#   rel   g++, -O2 -g, everything (unit, stress, package, compile_fail, header check,
#         benchmarks and examples built)
#   tsan  clang++-14, -O1 -g, -fsanitize=thread; no benchmarks or examples
#   asan  g++, -O1 -g, -fsanitize=address,undefined; no benchmarks, no compile-only checks
#         (package, compile_fail, header check: the same g++ as rel)
#   fuzz      scripts/fuzz.sh 120: the four libFuzzer targets, 2 min each (clang-14)
#   negative  scripts/negative-controls.sh: each injected bug must fail its suite
#
# Every stage runs even after a failure; the script prints each stage's duration and a
# summary, and exits non-zero if any stage failed. ADMF_STRESS_SCALE=<config> tells the
# stress tests which sizes to use (TESTING.md T1/T2). ADMF_JOBS overrides -j2.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=${ADMF_JOBS:-2}

selection=${1:-all}
extras=()
case "$selection" in
    all)
        configs=(rel tsan asan)
        extras=(fuzz negative)
        ;;
    rel | tsan | asan) configs=("$selection") ;;
    fuzz | negative)
        configs=()
        extras=("$selection")
        ;;
    -h | --help)
        sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "usage: scripts/test.sh [all|rel|tsan|asan|fuzz|negative]" >&2
        exit 2
        ;;
esac

stage_names=()
stage_results=()
stage_seconds=()
failed=0

# run_stage <name> <command...>: runs the command, records its result and duration.
run_stage() {
    local name=$1
    shift
    echo
    echo "=== test.sh: $name: $*"
    local start=$SECONDS rc=0
    "$@" || rc=$?
    local took=$((SECONDS - start))
    stage_names+=("$name")
    stage_seconds+=("$took")
    if ((rc == 0)); then
        stage_results+=(ok)
        echo "=== test.sh: $name: ok (${took} s)"
    else
        stage_results+=("FAILED (exit $rc)")
        failed=$((failed + 1))
        echo "=== test.sh: $name: FAILED with exit $rc (${took} s)"
    fi
    return "$rc"
}

skip_stage() {
    stage_names+=("$1")
    stage_seconds+=(0)
    stage_results+=("skipped ($2)")
    echo "=== test.sh: $1: skipped ($2)"
}

# Per-configuration cmake options (see the table at the top).
configure() {
    local config=$1 args=()
    case "$config" in
        rel) args=(-DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Release
            "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -g -DNDEBUG") ;;
        tsan) args=(-DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug
            "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g" -DADMF_SANITIZE=thread
            -DADMF_BUILD_BENCHMARKS=OFF -DADMF_BUILD_EXAMPLES=OFF) ;;
        asan) args=(-DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Debug
            "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g" -DADMF_SANITIZE=address,undefined
            -DADMF_BUILD_BENCHMARKS=OFF -DADMF_COMPILE_CHECKS=OFF) ;;
    esac
    cmake -S "$repo" -B "$repo/build/$config" -DADMF_BUILD_TESTS=ON "${args[@]}"
}

run_ctest() {
    local config=$1
    # --no-tests=error: a suite that registered nothing must not pass silently.
    # --timeout: default for any test without its own TIMEOUT; a hang fails, never stalls CI.
    local ctest=(ctest --test-dir "$repo/build/$config" --output-on-failure -j"$jobs"
        --no-tests=error --timeout 900)
    case "$config" in
        rel)
            ADMF_STRESS_SCALE=rel "${ctest[@]}"
            ;;
        tsan)
            # setarch -R: TSan aborts on hosts with high mmap ASLR entropy (TESTING.md).
            # Where a container refuses the personality call, run without it and say so.
            local no_aslr=(setarch "$(uname -m)" -R)
            if ! "${no_aslr[@]}" true 2>/dev/null; then
                echo "test.sh: warning: setarch -R is refused here; running TSan with ASLR on"
                no_aslr=()
            fi
            # Package tests build whole projects without the sanitizer, and the spin models
            # (label model) check no C++ at all: rel covers both.
            ADMF_STRESS_SCALE=tsan \
                TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$repo/tests/tsan.supp" \
                "${no_aslr[@]}" "${ctest[@]}" -LE "package|model"
            ;;
        asan)
            ADMF_STRESS_SCALE=asan \
                ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
                "${ctest[@]}" -LE "package|model"
            ;;
    esac
}

# Keeps ctest's output in build/<config>/ctest.log so the totals below can be summed.
run_ctest_logged() {
    local rc=0
    run_ctest "$1" 2>&1 | tee "$repo/build/$1/ctest.log" || rc=$?
    return "$rc"
}

total_start=$SECONDS
run_stage deps bash "$repo/scripts/install-deps.sh"

for config in "${configs[@]}"; do
    rm -f "$repo/build/$config/ctest.log" # a stale log must not count
    if ! run_stage "$config: configure" configure "$config"; then
        skip_stage "$config: build" "configure failed"
        skip_stage "$config: test" "configure failed"
        continue
    fi
    if ! run_stage "$config: build" cmake --build "$repo/build/$config" -j"$jobs"; then
        skip_stage "$config: test" "build failed"
        continue
    fi
    run_stage "$config: test" run_ctest_logged "$config"
done

# TESTING T9 and T10, after the three configurations: each fuzzer for 2 minutes (two at a
# time, from a copy of the committed corpus), and the negative controls, each of which must
# make its suite fail.
for extra in "${extras[@]}"; do
    case "$extra" in
        fuzz) run_stage "fuzz (4 x 120 s)" bash "$repo/scripts/fuzz.sh" 120 ;;
        negative) run_stage "negative controls" bash "$repo/scripts/negative-controls.sh" ;;
    esac
done

echo
echo "=== test.sh summary ($selection)"
for i in "${!stage_names[@]}"; do
    printf '  %-18s %6s s  %s\n' "${stage_names[$i]}" "${stage_seconds[$i]}" "${stage_results[$i]}"
done
printf '  %-18s %6s s\n' "total" "$((SECONDS - total_start))"

# One closing line over every configuration, in the plain "N passed, N failed" form.
passed_total=0
failed_total=0
for config in "${configs[@]}"; do
    log="$repo/build/$config/ctest.log"
    line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" 2>/dev/null | tail -n 1)
    if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
        failed_total=$((failed_total + BASH_REMATCH[1]))
        passed_total=$((passed_total + BASH_REMATCH[2] - BASH_REMATCH[1]))
    fi
done
if ((failed > 0)); then
    echo "=== test.sh: $failed stage(s) FAILED"
    echo "tests: $passed_total passed, $failed_total failed"
    exit 1
fi
echo "=== test.sh: every stage ok"
echo "tests: $passed_total passed, $failed_total failed"
