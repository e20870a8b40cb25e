#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# fuzz/run.sh SECONDS [TARGET...]
#
# Runs every fuzz target (or the ones named) for SECONDS each, one after the
# other with a single libFuzzer job, starting from the committed seeds
# (fuzz/seeds/TARGET) and growing a working corpus in fuzz/corpus/TARGET.
# Each run's log goes to fuzz/logs/TARGET.log (or $FUZZ_LOGS/TARGET.log).
# Per target it prints the fuzzer's CPU seconds (the build comes first and
# is not counted) and libFuzzer's last status line (cov:, ft:, corpus,
# exec/s). A crash is reported (FAILED, libFuzzer's summary) and the other
# targets still run; the exit status is then 1 and the reproducer is in
# fuzz/artifacts/TARGET/ (docs/robustness.md says how to make it a
# regression test).
#
# Needs the nightly toolchain and cargo-fuzz (cargo install cargo-fuzz).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
    echo "usage: fuzz/run.sh SECONDS [TARGET...]" >&2
    exit 2
fi
secs=$1
shift
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

# Build everything first, so that the CPU time measured below is the
# fuzzer's alone.
cargo +nightly fuzz build -O
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bindir=target/$triple/release
logs=${FUZZ_LOGS:-logs}
mkdir -p "$logs"
status=0
# bash's own `time`: user and system CPU seconds of the fuzzer process.
TIMEFORMAT='%U %S'
run() {
    mkdir -p "artifacts/$1"
    # As cargo fuzz run sets it (Rust code trips ASan's ODR check).
    ASAN_OPTIONS=detect_odr_violation=0 "$bindir/$1" "corpus/$1" "seeds/$1" \
        -artifact_prefix="artifacts/$1/" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 >"$logs/$1.log" 2>&1
}
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "seeds/$t"
    # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: a
    # leak or unbounded growth is a finding too.
    if ! { time run "$t"; } 2>"$logs/$t.time"; then
        echo "== $t: FAILED ($logs/$t.log)"
        grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$logs/$t.log" | head -20 || true
        status=1
        continue
    fi
    last=$(grep -E '^#[0-9]+' "$logs/$t.log" | tail -1)
    cpu=$(awk '{printf "%.0f", $1 + $2}' "$logs/$t.time")
    echo "== $t: ${cpu}s CPU; $last"
done
exit $status
