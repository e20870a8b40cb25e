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
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECS=${1:-5}; shift || true
COUNTS=("${@:-1 10 50}")
[ ${#COUNTS[@]} -eq 1 ] && read -r -a COUNTS <<< "${COUNTS[0]}"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p p0f-milter --bin p0f-mailpolicy --example policy_bench
BIN=$CARGO_TARGET_DIR/release
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
RPORT=$(free_port)
redis-server --bind 127.0.0.1 --port "$RPORT" --save '' --appendonly no --dir "$TMP" >/dev/null & PIDS+=($!)
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
    RUST_LOG=error "$BIN/p0f-mailpolicy" -c "$TMP/$1.toml" --metrics "127.0.0.1:$3" 2>"$TMP/$1.log" & PIDS+=($!)
    wait_port "$2"
}

echo "machine: $(nproc) cores, $(uname -r); $SECS s per run; client and server share the machine"
for backend in embedded redis; do
    for n in "${COUNTS[@]}"; do
        port=$(free_port); mport=$(free_port)
        mailpolicy "$backend" "$port" "$mport"
        "$BIN/examples/policy_bench" "127.0.0.1:$port" "$n" "$SECS" "p0f-mailpolicy ($backend)"
        # How the p0f queries went (a refused query still gives an answer,
        # unfingerprinted, so it would hide in the figures above).
        curl -s "http://127.0.0.1:$mport/metrics" | awk '/^p0f_mailpolicy_(p0f_queries|greylist_store_errors)_total/ {printf "    %s %s\n", $1, $2}'
        kill "${PIDS[-1]}"; unset 'PIDS[-1]'
        redis-cli -p "$RPORT" flushall >/dev/null
    done
done
mkdir -p "$TMP/postgrey"; chown postgrey "$TMP/postgrey" 2>/dev/null || true
for n in "${COUNTS[@]}"; do
    port=$(free_port)
    rm -rf "$TMP/postgrey"/*
    postgrey --inet="127.0.0.1:$port" --dbdir="$TMP/postgrey" --delay=300 \
        --pidfile="$TMP/postgrey.pid" >"$TMP/postgrey.log" 2>&1 & PIDS+=($!)
    wait_port "$port"
    "$BIN/examples/policy_bench" "127.0.0.1:$port" "$n" "$SECS" "postgrey $(postgrey --version 2>/dev/null | awk '{print $2}')" || echo "  postgrey run had errors"
    kill "${PIDS[-1]}"; unset 'PIDS[-1]'
    sleep 0.5
done
