#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# fuzz/run.sh SECONDS [TARGET...]
#
# Runs every fuzz target (or the ones named) for SECONDS each, one after the
# other with a single libFuzzer job, starting from the committed seeds
# (fuzz/seeds/TARGET) and growing a working corpus in fuzz/corpus/TARGET.
# Each run's log goes to fuzz/logs/TARGET.log; the summary line printed per
# target is libFuzzer's last status line (cov:, ft:, corpus, exec/s) and the
# CPU seconds used. A crash stops the script with libFuzzer's report; the
# reproducer is left in fuzz/artifacts/TARGET/ (see docs/robustness.md for
# turning it into a regression test).
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

cargo +nightly fuzz build -O
mkdir -p logs
status=0
# bash's own `time`: user and system CPU seconds of the run.
TIMEFORMAT='%U %S'
run() {
    cargo +nightly fuzz run -O "$1" "corpus/$1" "seeds/$1" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"logs/$1.log" 2>&1
}
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "seeds/$t"
    # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: a
    # leak or unbounded growth is a finding too.
    if ! { time run "$t"; } 2>"logs/$t.time"; then
        echo "== $t: FAILED (fuzz/logs/$t.log)"
        grep -E 'panicked|ERROR|SUMMARY|Test unit written' "logs/$t.log" | head -20 || true
        status=1
        continue
    fi
    last=$(grep -E '^#[0-9]+' "logs/$t.log" | tail -1)
    cpu=$(awk '{printf "%.0f", $1 + $2}' "logs/$t.time")
    echo "== $t: ${cpu}s CPU; $last"
done
exit $status
