#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# API throughput and latency: p0f-rs against p0f 3.09b (Debian's p0f,
# /usr/sbin/p0f) on the same machine, both capturing on loopback. Needs
# root (live capture). Each run: CLIENTS threads doing connect, query,
# read, close for SECS seconds (bench/api_bench.rs).
#
#   bench/api-compare.sh [SECS] [CLIENT COUNTS...]     default: 5  1 20 64
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECS=${1:-5}; shift || true
COUNTS=("${@:-1 20 64}")
[ ${#COUNTS[@]} -eq 1 ] && read -r -a COUNTS <<< "${COUNTS[0]}"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p p0f-cli --bin p0f --example api_bench
P0F_RS=$CARGO_TARGET_DIR/release/p0f
BENCH=$CARGO_TARGET_DIR/release/examples/api_bench
P0F_C=${P0F_C:-/usr/sbin/p0f}
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

"$P0F_RS" -i lo -s "$TMP/rs.sock" -S 100 'port 9' >"$TMP/rs.out" 2>&1 & PIDS+=($!)
if [ -x "$P0F_C" ]; then
    "$P0F_C" -f /etc/p0f/p0f.fp -i lo -s "$TMP/c.sock" -S 100 'port 9' >"$TMP/c.out" 2>&1 & PIDS+=($!)
fi
sleep 1
# Populate: a SYN to the closed port 9 on 127.0.0.1 makes the host known.
python3 -c 'import socket
for _ in range(3):
    try: socket.create_connection(("127.0.0.1", 9), timeout=1)
    except OSError: pass'
sleep 0.5
echo "machine: $(nproc) cores, $(uname -r); $SECS s per run"
for n in "${COUNTS[@]}"; do
    "$BENCH" "$TMP/rs.sock" 127.0.0.1 "$n" "$SECS" p0f-rs
    if [ -S "$TMP/c.sock" ]; then
        timeout $((SECS * 3 + 10)) "$BENCH" "$TMP/c.sock" 127.0.0.1 "$n" "$SECS" p0f-3.09b || echo "  p0f 3.09b: run failed or hung"
        kill -0 "${PIDS[1]}" 2>/dev/null || echo "  p0f 3.09b is no longer running"
    fi
done
