#!/usr/bin/env bash
# Fuzz every parser of untrusted bytes for a while: the cargo-fuzz project in fuzz/.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 10; CI's smoke run uses 10)
#
# Installs cargo-fuzz if it is missing, builds every target (release, debug
# assertions and overflow checks on, AddressSanitizer), then runs each one for
# SECONDS_PER_TARGET with libFuzzer, FUZZ_JOBS at a time (default 2, one per
# core). Each run starts from the committed seeds in fuzz/corpus/TARGET and grows
# a scratch corpus under fuzz/target/fuzz-run/ (the seeds are never modified).
# Prints one line per target and exits non-zero if any target crashed, hung
# (an input over FUZZ_INPUT_TIMEOUT seconds, default 10) or ran out of memory;
# the input that did it is in fuzz/artifacts/TARGET/.
#
# Works with the stable toolchain alone: cargo-fuzz passes nightly -Z flags to
# rustc (sanitizer, coverage instrumentation), which stable accepts under
# RUSTC_BOOTSTRAP=1. Other environment: FUZZ_TARGETS="a b" runs only those.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

secs=${1:-10}
case $secs in
'' | *[!0-9]* | 0)
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
    exit 2
    ;;
esac
jobs=${FUZZ_JOBS:-2}
input_timeout=${FUZZ_INPUT_TIMEOUT:-10}

export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --version '^0.13' --locked
fi

targets=${FUZZ_TARGETS:-$(cargo fuzz list --fuzz-dir fuzz)}
echo "fuzz.sh: $(rustc --version), $(cargo fuzz --version)" >&2
echo "fuzz.sh: building the targets:" $targets >&2
cargo fuzz build --fuzz-dir fuzz --debug-assertions

host=$(rustc -vV | sed -n 's/^host: //p')
bin_dir=$root/fuzz/target/$host/release
run_dir=$root/fuzz/target/fuzz-run
rm -rf "$run_dir"
mkdir -p "$run_dir"

# Runs one target; leaves its libFuzzer log and exit status in $run_dir/TARGET.
run_one() {
    local t=$1 dir=$run_dir/$1 rc=0
    mkdir -p "$dir/corpus" "$root/fuzz/artifacts/$t"
    # A guard in case libFuzzer itself stops answering: its own -timeout
    # catches a slow input, this catches anything else.
    timeout --kill-after=30 $((secs + 120)) \
        "$bin_dir/$t" "$dir/corpus" "$root/fuzz/corpus/$t" \
        -max_total_time="$secs" -timeout="$input_timeout" -rss_limit_mb=2048 \
        -artifact_prefix="$root/fuzz/artifacts/$t/" -print_final_stats=1 \
        >"$dir/log" 2>&1 || rc=$?
    echo "$rc" >"$dir/rc"
}

running=0
for t in $targets; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

failed=0
printf '%-16s %-8s %12s %10s %8s %8s %s\n' target result executions exec/s cov ft corpus
for t in $targets; do
    log=$run_dir/$t/log
    rc=$(cat "$run_dir/$t/rc" 2>/dev/null || echo 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    status=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
    corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$status")
    result=ok
    if [ "$rc" -ne 0 ]; then
        failed=1
        if grep -q 'ERROR: libFuzzer: timeout' "$log"; then result=HANG
        elif grep -q 'out-of-memory' "$log"; then result=OOM
        elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then result=STUCK
        else result=CRASH
        fi
    fi
    printf '%-16s %-8s %12s %10s %8s %8s %s\n' "$t" "$result" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "${corp:-?}"
    if [ "$result" != ok ]; then
        { grep -E -A1 "panicked at" "$log" | head -2
          grep -E "^==[0-9]+== ?ERROR|Test unit written to" "$log" | head -2; } | sed 's/^/    /'
    fi
done
echo "fuzz.sh: $secs s per target; logs in fuzz/target/fuzz-run/TARGET/log" >&2
if [ "$failed" -ne 0 ]; then
    echo "fuzz.sh: FAILED: reproduce with 'RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz -a TARGET fuzz/artifacts/TARGET/FILE'" >&2
fi
exit "$failed"
