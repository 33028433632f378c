#!/usr/bin/env bash
# Checks the Promela models of tests/models/ exhaustively with spin (TESTING.md T3), and
# their negative controls: every real model must verify with 0 errors, and every injected
# bug (spin -DBUG_...) must be found. Works in a temporary directory; writes nothing into
# the source tree. Usage: scripts/spin-models.sh [model ...]   (default: all four)
#   SPIN_MODELS_KEEP=1   keep the temporary directory (trails of failures are printed anyway)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
models_dir="$root/tests/models"
spin_bin="${SPIN:-spin}"
cc="${CC:-gcc}"
# -O1: pan.c compiles in half the time of -O2 and these searches take under a second.
read -r -a opt <<<"${SPIN_CFLAGS:--O1}"
depth=100000 # pan -m: far above every model's depth; a truncated search fails below

if ! command -v "$spin_bin" >/dev/null 2>&1; then
    echo "spin-models: spin not found: install it (scripts/install-deps.sh, or apt-get install spin)" >&2
    exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/spin-models.XXXXXX")"
if [[ "${SPIN_MODELS_KEEP:-0}" == 1 ]]; then
    echo "spin-models: keeping $work"
else
    trap 'rm -rf "$work"' EXIT
fi

# model | checks of the real model | bug variants, each NAME:mode (mode: safety or ltl,
# the check that must find it; the other runs too when the first does not find it).
# safety: -DSAFETY -DNOCLAIM, assertions + invalid end states (deadlock, lost wake-up).
# ltl:    the model's ltl formula, acceptance cycles under weak fairness (pan -a -f).
# BUG_*: injected bugs (negative controls). CPP_*: the C++ code as of bb6b66d where it
# differs from the model (real issues, tests/models/README.md): found as well.
# lane_handover's and ipc_commit's ltl runs take ~20-60 s each: SPIN_MODELS_FULL=1 only.
full_ltl=""
[[ "${SPIN_MODELS_FULL:-0}" == 1 ]] && full_ltl=" ltl"
specs=(
    "parking|safety ltl|BUG_NO_RECHECK:safety BUG_NOTIFY_NO_FENCE:safety"
    "stop_drain|safety ltl|BUG_CHECK_BEFORE_COUNT:safety BUG_EXIT_ON_EMPTY:safety"
    "lane_handover|safety$full_ltl|BUG_NO_HANDOVER:safety BUG_LATE_OWNER_WAIT:safety CPP_REREAD_ASSIGNED:safety"
    "ipc_commit|safety$full_ltl|BUG_NO_COMMIT_CHECK:safety BUG_RECLAIM_LIVE:safety BUG_NO_TAIL_FIXUP:safety CPP_ABANDONED_MISSED:safety CPP_ABANDONED_TWICE:safety CPP_ABANDONED_FALSE:safety"
)

selected=("$@")
failures=0
total_start=$(date +%s%N)

# run_check MODEL DEFINE MODE -> prints one line; sets last_errors
run_check() {
    local model="$1" define="$2" mode="$3"
    local dir="$work/$model${define:+-$define}-$mode"
    mkdir -p "$dir"
    cp "$models_dir/$model.pml" "$dir/"
    local spin_args=(-a) cflags=("${opt[@]}" -w) pan_args=("-m$depth")
    [[ -n "$define" ]] && spin_args=("-D$define" -a)
    if [[ "$mode" == safety ]]; then
        cflags+=(-DSAFETY -DNOCLAIM)
    else
        cflags+=(-DNFAIR=4) # weak fairness over up to 7 processes
        pan_args+=(-a -f)
    fi
    local start end
    start=$(date +%s%N)
    (cd "$dir" && "$spin_bin" "${spin_args[@]}" "$model.pml" >spin.log 2>&1) || {
        echo "spin-models: spin -a failed for $model $define"; cat "$dir/spin.log"; exit 1; }
    (cd "$dir" && "$cc" "${cflags[@]}" -o pan pan.c >cc.log 2>&1) || {
        echo "spin-models: gcc failed for $model $define"; cat "$dir/cc.log"; exit 1; }
    (cd "$dir" && ./pan "${pan_args[@]}" >pan.log 2>&1) || true
    end=$(date +%s%N)
    local log="$dir/pan.log"
    if grep -q "max search depth too small" "$log"; then
        echo "spin-models: $model $define $mode: search truncated (depth $depth)"; exit 1
    fi
    if ! grep -q "errors:" "$log"; then
        echo "spin-models: $model $define $mode: pan did not finish"; cat "$log"; exit 1
    fi
    last_errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$log" | head -1)
    local stored transitions reached what pan_s
    pan_s=$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' "$log" | head -1)
    stored=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$log" | head -1)
    transitions=$(sed -n 's/^ *\([0-9.e+]*\) transitions.*/\1/p' "$log" | head -1)
    reached=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$log" | head -1)
    what=$(grep -m1 -E "^pan:1: |^pan: .*(violated|cycle)" "$log" | sed 's/^pan:1: //' || true)
    printf '  %-22s %-6s states %9s  transitions %9s  depth %4s  errors %s  pan %5ss  (with spin+cc %d.%02ds)%s\n' \
        "${define:-real}" "$mode" "$stored" "$transitions" "$reached" "$last_errors" "${pan_s:-?}" \
        $(((end - start) / 1000000000)) $(((end - start) / 10000000 % 100)) "${what:+  [$what]}"
    last_dir="$dir"
}

print_trail() {
    local dir="$1" model="$2" define="$3"
    if [[ -f "$dir/$model.pml.trail" ]]; then
        echo "  --- trail ($model ${define:-real}) ---"
        (cd "$dir" && "$spin_bin" ${define:+-D$define} -t -p -g "$model.pml" 2>&1 | tail -60)
    fi
}

# One model's checks; prints its lines, returns how many failed (exits on a tool error).
check_model() {
    local model="$1" checks="$2" bugs="$3" fails=0 mode bug define other
    echo "$model.pml"
    for mode in $checks; do
        run_check "$model" "" "$mode"
        if [[ "$last_errors" != 0 ]]; then
            echo "  FAIL: the real $model model has errors ($mode)"
            print_trail "$last_dir" "$model" ""
            fails=$((fails + 1))
        fi
    done
    for bug in $bugs; do
        define="${bug%%:*}"
        mode="${bug##*:}"
        if ! grep -q "$define" "$models_dir/$model.pml"; then
            echo "  FAIL: negative control $define does not occur in $model.pml"
            fails=$((fails + 1))
            continue
        fi
        run_check "$model" "$define" "$mode"
        if [[ "$last_errors" == 0 ]]; then
            other=ltl
            [[ "$mode" == ltl ]] && other=safety
            run_check "$model" "$define" "$other"
        fi
        if [[ "$last_errors" == 0 ]]; then
            echo "  FAIL: negative control $define of $model was NOT found"
            fails=$((fails + 1))
        fi
    done
    return "$fails"
}

# The models run side by side (SPIN_MODELS_JOBS, default: the CPU count); their output
# is printed in order once all are done.
jobs_max="${SPIN_MODELS_JOBS:-$(nproc 2>/dev/null || echo 2)}"
names=()
for spec in "${specs[@]}"; do
    IFS='|' read -r model checks bugs <<<"$spec"
    if ((${#selected[@]} != 0)) && [[ ! " ${selected[*]} " == *" $model "* ]]; then
        continue
    fi
    while (($(jobs -rp | wc -l) >= jobs_max)); do
        wait -n || true
    done
    (
        rc=0
        check_model "$model" "$checks" "$bugs" || rc=$?
        echo "$rc" >"$work/$model.rc"
    ) >"$work/$model.out" 2>&1 &
    names+=("$model")
done
wait || true
for model in "${names[@]}"; do
    cat "$work/$model.out"
    if [[ -f "$work/$model.rc" ]]; then
        failures=$((failures + $(cat "$work/$model.rc")))
    else
        echo "  FAIL: $model's checks did not complete" # spin or gcc failed: see above
        failures=$((failures + 1))
    fi
done

total_end=$(date +%s%N)
printf 'spin-models: %d failure(s), %d.%ds in all (%s)\n' "$failures" \
    $(((total_end - total_start) / 1000000000)) $(((total_end - total_start) / 100000000 % 10)) \
    "$("$spin_bin" -V 2>&1 | head -1)"
((failures == 0))
