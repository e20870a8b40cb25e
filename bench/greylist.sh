#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# Greylisting throughput and latency: p0f-mailpolicy (embedded store, then
# Redis) against Debian's postgrey, with the same stream of Postfix policy
# requests (bench/policy_bench.rs) at several connection counts. Both
# greylist every request (postgrey's only mode; for p0f-mailpolicy an
# empty [[greylist.rule]]), both with a 300 s delay, so both do one
# store update per decision. p0f-mailpolicy also asks a p0f daemon about
# each new connection, as in production (postgrey has no such step). The
# bench's clients are addresses no daemon has seen, and p0f-rs holds a
# query about an unknown client for up to 50 ms (its SYN may still be in
# the capture buffer), which would measure that grace, not greylisting; so
# the daemon here is Debian's p0f 3.09b, which answers "no match" at once
# (P0F=... overrides). Needs root (p0f captures; postgrey drops to its
# user), redis-server, postgrey and p0f.
#
#   bench/greylist.sh [SECS] [CONNECTION COUNTS...]     default: 5  1 10 50
#
# After each p0f-mailpolicy run it prints the CPU time the service, p0f
# and Redis spent per decision (from /proc: user and system time over the
# decisions counted by the service's metrics), a figure that depends far
# less on the machine's load than the wall-clock rates do.
# BACKENDS="embedded redis postgrey" (the default) chooses what runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECS=${1:-5}; shift || true
COUNTS=("${@:-1 10 50}")
read -r -a BACKENDS <<< "${BACKENDS:-embedded redis postgrey}"
[ ${#COUNTS[@]} -eq 1 ] && read -r -a COUNTS <<< "${COUNTS[0]}"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
# BIN=DIR runs binaries built elsewhere (DIR/p0f-mailpolicy and
# DIR/examples/policy_bench), to compare two builds.
if [ -z "${BIN:-}" ]; then
    cargo build -q --release -p p0f-milter --bin p0f-mailpolicy --example policy_bench
    BIN=$CARGO_TARGET_DIR/release
fi
TMP=$(mktemp -d)
chmod 755 "$TMP"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; rm -rf "$TMP"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing on port $1" >&2; return 1; }

P0F=${P0F:-/usr/sbin/p0f}
# -S 100: p0f 3.09b serves 20 API clients at once by default and leaves
# the rest in its backlog (printing a warning on every loop meanwhile);
# with 50 connections an operator raises it, as here.
"$P0F" -f /etc/p0f/p0f.fp -i lo -S 100 -s "$TMP/p0f.sock" 'port 9' >"$TMP/p0f.out" 2>&1 & PIDS+=($!)
P0F_PID=$!
RPORT=$(free_port)
redis-server --bind 127.0.0.1 --port "$RPORT" --save '' --appendonly no --dir "$TMP" >/dev/null & PIDS+=($!)
REDIS_PID=$!
wait_port "$RPORT"
echo "redis://127.0.0.1:$RPORT/" > "$TMP/redis.url"; chmod 600 "$TMP/redis.url"
for _ in $(seq 50); do [ -S "$TMP/p0f.sock" ] && break; sleep 0.1; done

mailpolicy() { # backend port metrics-port
    local store
    if [ "$1" = redis ]; then store='store = "redis"
redis_url_file = "redis.url"'; else store="path = \"$TMP/greylist-$2.redb\""; fi
    cat > "$TMP/$1.toml" <<EOT
[[p0f]]
socket = "$TMP/p0f.sock"
[listen]
policy = ["inet:127.0.0.1:$2"]
[greylist]
delay = 300
$store
[[greylist.rule]]
EOT
    RUST_LOG=${SERVICE_LOG:-error} "$BIN/p0f-mailpolicy" -c "$TMP/$1.toml" --metrics "127.0.0.1:$3" 2>"$TMP/$1.log" & PIDS+=($!)
    wait_port "$2"
}

# CPU time (user + system clock ticks) a process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
decisions() { curl -s "http://127.0.0.1:$1/metrics" | awk '/^p0f_mailpolicy_decisions_total/ {n += $2} END {print n + 0}'; }

echo "machine: $(nproc) cores, $(uname -r); $SECS s per run; client and server share the machine"
for backend in "${BACKENDS[@]}"; do
    [ "$backend" = postgrey ] && continue
    for n in "${COUNTS[@]}"; do
        port=$(free_port); mport=$(free_port)
        mailpolicy "$backend" "$port" "$mport"
        svc=${PIDS[-1]}
        before=("$(cpu_ticks "$svc")" "$(cpu_ticks "$P0F_PID")" "$(cpu_ticks "$REDIS_PID")" "$(decisions "$mport")")
        "$BIN/examples/policy_bench" "127.0.0.1:$port" "$n" "$SECS" "p0f-mailpolicy ($backend)"
        after=("$(cpu_ticks "$svc")" "$(cpu_ticks "$P0F_PID")" "$(cpu_ticks "$REDIS_PID")" "$(decisions "$mport")")
        awk -v hz="$(getconf CLK_TCK)" -v s0="${before[0]}" -v s1="${after[0]}" -v p0="${before[1]}" -v p1="${after[1]}" \
            -v r0="${before[2]}" -v r1="${after[2]}" -v d="$((after[3] - before[3]))" 'BEGIN {
            us = 1e6 / hz / (d > 0 ? d : 1)
            printf "    CPU per decision: service %.1f us, p0f %.1f us, redis %.1f us (%d decisions)\n",
                   (s1 - s0) * us, (p1 - p0) * us, (r1 - r0) * us, d }'
        # How the p0f queries went (a refused query still gives an answer,
        # unfingerprinted, so it would hide in the figures above).
        curl -s "http://127.0.0.1:$mport/metrics" | awk '/^p0f_mailpolicy_(p0f_queries|greylist_store_errors)_total/ {printf "    %s %s\n", $1, $2}'
        grep -m3 "store failed" "$TMP/$backend.log" | sed 's/^/    /' || true
        kill "${PIDS[-1]}"; unset 'PIDS[-1]'
        redis-cli -p "$RPORT" flushall >/dev/null
    done
done
[[ " ${BACKENDS[*]} " == *" postgrey "* ]] || exit 0
mkdir -p "$TMP/postgrey"; chown postgrey "$TMP/postgrey" 2>/dev/null || true
for n in "${COUNTS[@]}"; do
    port=$(free_port)
    rm -rf "$TMP/postgrey"/*
    postgrey --inet="127.0.0.1:$port" --dbdir="$TMP/postgrey" --delay=300 \
        --pidfile="$TMP/postgrey.pid" >"$TMP/postgrey.log" 2>&1 & PIDS+=($!)
    wait_port "$port"
    label="postgrey $(postgrey --version 2>/dev/null | awk '{print $2}')"
    pg=${PIDS[-1]}; t0=$(cpu_ticks "$pg"); w0=$(date +%s.%N)
    "$BIN/examples/policy_bench" "127.0.0.1:$port" "$n" "$SECS" "$label" || echo "  postgrey run had errors"
    # One process: a share near 100% means it had a whole core to itself.
    awk -v hz="$(getconf CLK_TCK)" -v t="$(( $(cpu_ticks "$pg") - t0 ))" -v w="$(echo "$(date +%s.%N) - $w0" | bc)" \
        'BEGIN { printf "    postgrey used %.0f%% of one core\n", 100 * t / hz / w }'
    kill "${PIDS[-1]}"; unset 'PIDS[-1]'
    sleep 0.5
done
