#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# Instructions per packet, p0f-rs against p0f 3.09b, counted by valgrind's
# callgrind (repeatable to about 0.1%, unlike wall time on a shared VM).
#
# Input: the first PACKETS packets (default 140,000) of the MX benchmark
# capture (SHARED/bench/mkpcap.py --conns 200000 --hosts 50000). Both read
# it with p0f's stock database and write an -o log, stdout to /dev/null:
#
#     p0f         -f SHARED/reference/p0f.fp -r CAP -o LOG
#     p0f-rs      --bug-compat -f SHARED/reference/p0f.fp -r CAP -o LOG
#     p0f-rs      -f SHARED/reference/p0f.fp -r CAP -o LOG        (default mode)
#     p0f-rs      -r CAP -o LOG                                  (built-in database)
#
# and any extra p0f-rs runs given as arguments (for example "--json").
# The cost of start-up (an empty capture) is subtracted from each count.
# The --bug-compat log must be byte-identical to p0f's; the script says so.
#
#     bench/instructions.sh [EXTRA-ARGS...]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
WORK=${WORK:-/tmp/p0f-bench}
PACKETS=${PACKETS:-140000}
P0F=${P0F:-/usr/sbin/p0f}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RS=$CARGO_TARGET_DIR/release/p0f
FP=$SHARED/reference/p0f.fp
mkdir -p "$WORK"
(cd "$ROOT" && cargo build -q --release -p p0f-cli --bin p0f)
BIG=$WORK/mx200k.pcap
[ -s "$BIG" ] || (cd "$SHARED/bench" && python3 mkpcap.py --conns 200000 --hosts 50000 \
    --out "$BIG" $(find ../corpus/dev -name '*.pcap'))
CAP=$WORK/mx-first$PACKETS.pcap
EMPTY=$WORK/empty.pcap
python3 - "$BIG" "$CAP" "$EMPTY" "$PACKETS" <<'PY'
import struct, sys
big, cap, empty, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
d = open(big, 'rb').read()
off = 24
for _ in range(n):
    off += 16 + struct.unpack('<I', d[off + 8:off + 12])[0]
open(cap, 'wb').write(d[:off])
open(empty, 'wb').write(d[:24])
PY

count() {   # LOG CMD... -> instructions
    rm -f "$1"
    local log=$1; shift
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" -o "$log" \
        > /dev/null 2> "$WORK/cg.err" || true
    awk '/Collected :/ {print $NF}' "$WORK/cg.err"
}
per_packet() {   # NAME ARGS... (with CAP substituted)
    local name=$1; shift
    local full empty
    full=$(count "$WORK/$name.log" "$@" -r "$CAP")
    empty=$(count "$WORK/$name.empty.log" "$@" -r "$EMPTY")
    echo $(( (full - empty) / PACKETS ))
}
C=$(per_packet p0f "$P0F" -f "$FP")
printf '%-46s %8s %8s\n' run 'instr/pkt' 'vs p0f'
printf '%-46s %8d %8s\n' "p0f 3.09b, stock database" "$C" 1.0x
row() {   # NAME LABEL ARGS...
    local name=$1 label=$2; shift 2
    local n; n=$(per_packet "$name" "$RS" "$@")
    printf '%-46s %8d %7.1fx\n' "p0f-rs $label" "$n" "$(echo "$C / $n" | bc -l)"
}
row compat "--bug-compat, stock database" --bug-compat -f "$FP"
if cmp -s "$WORK/compat.log" "$WORK/p0f.log"; then
    echo "  (-o log byte-identical to p0f's)"
else
    echo "  (-o log DIFFERS from p0f's)"
fi
row stock "default mode, stock database" -f "$FP"
row builtin "default mode, built-in database"
for extra in "$@"; do
    # shellcheck disable=SC2086
    row "extra$RANDOM" "$extra, stock database" -f "$FP" $extra
done
