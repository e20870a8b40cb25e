#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# What JSON Lines output costs next to p0f's text, in instructions
# (valgrind/callgrind counts repeat to 0.1%, wall time does not).
#
# Runs p0f-rs under callgrind on the same capture three ways, stdout to
# /dev/null, with p0f's stock database and --bug-compat:
#
#     text:  p0f -f SHARED/reference/p0f.fp --bug-compat -r CAPTURE
#     json:  the same with --json
#     log:   the same with -o LOG --log-format json (console stays text)
#
# and prints instructions per packet for each and the ratios json/text and
# log/text. The default capture is the first PACKETS packets of the MX
# benchmark capture that bench/compare.sh makes (WORK/mx200k.pcap).
#
# Usage:  bench/json-cost.sh            (after: cargo build --release -p p0f-cli)
# Environment: SHARED, WORK (default /tmp/p0f-bench), PACKETS (default 30000),
#              CAPTURE (a pcap to use instead), CARGO_TARGET_DIR.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
WORK=${WORK:-/tmp/p0f-bench}
PACKETS=${PACKETS:-30000}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/p0f
[[ -x $BIN ]] || { echo "build first: cargo build --release -p p0f-cli" >&2; exit 1; }
command -v valgrind > /dev/null || { echo "valgrind is needed" >&2; exit 1; }
mkdir -p "$WORK"
if [[ -z ${CAPTURE:-} ]]; then
    [[ -s $WORK/mx200k.pcap ]] || { echo "run bench/compare.sh once to make $WORK/mx200k.pcap" >&2; exit 1; }
    CAPTURE=$WORK/mx-first-$PACKETS.pcap
    [[ -s $CAPTURE ]] || tcpdump -r "$WORK/mx200k.pcap" -c "$PACKETS" -w "$CAPTURE" 2> /dev/null
fi

# instructions NAME ARGS...: total instructions of one run.
instructions() {
    local name=$1; shift
    rm -f "$WORK/json-cost.$name.log"
    TZ=UTC valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$name" \
        "$BIN" -f "$SHARED/reference/p0f.fp" --bug-compat -r "$CAPTURE" "$@" \
        > /dev/null 2> "$WORK/json-cost.$name.err"
    grep '^summary:' "$WORK/cg.$name" | awk '{print $2}'
}
packets=$(TZ=UTC "$BIN" -f "$SHARED/reference/p0f.fp" --bug-compat -r "$CAPTURE" 2> /dev/null |
    sed -n 's/^All done. Processed \([0-9]*\) packets./\1/p')
text=$(instructions text)
json=$(instructions json --json)
log=$(instructions log -o "$WORK/json-cost.log.log" --log-format json)
textlog=$(instructions textlog -o "$WORK/json-cost.textlog.log")
awk -v p="$packets" -v t="$text" -v j="$json" -v l="$log" -v tl="$textlog" 'BEGIN {
    printf "capture: %d packets\n", p
    printf "text (console):        %8.0f instructions/packet\n", t / p
    printf "--json (console):      %8.0f instructions/packet  (%.2fx text)\n", j / p, j / t
    printf "text + text -o log:    %8.0f instructions/packet\n", tl / p
    printf "text + JSON -o log:    %8.0f instructions/packet  (%.2fx text + text log)\n", l / p, l / tl
}'
