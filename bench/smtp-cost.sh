#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# What SMTP dialect observation costs the engine, in instructions per packet
# (valgrind/callgrind counts repeat to about 0.1%, wall time does not).
#
# The capture is made of full real SMTP sessions (EHLO, MAIL, RCPT, DATA,
# QUIT, some pipelined, some STARTTLS) from the shared corpus (nDPI and
# Arkime captures), laid end to end COPIES times by bench/mkhttp.py, each
# copy with its own addresses. p0f-rs reads it twice with the built-in
# database, stdout to /dev/null:
#
#     without:  p0f -r CAP --smtp-ports none     (what users have today)
#     with:     p0f -r CAP                       (SMTP on ports 25 and 587)
#
# An empty capture's count is subtracted from each (start-up), and the
# script prints instructions per packet for both and their ratio. The
# budget (issue 12) is a ratio of at most 1.10.
#
#     bench/smtp-cost.sh        (after: cargo build --release -p p0f-cli)
# Environment: SHARED, WORK (default /tmp/p0f-bench), COPIES (default 200),
#              CARGO_TARGET_DIR.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
WORK=${WORK:-/tmp/p0f-bench}
COPIES=${COPIES:-200}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/p0f
[[ -x $BIN ]] || { echo "build first: cargo build --release -p p0f-cli" >&2; exit 1; }
command -v valgrind > /dev/null || { echo "valgrind is needed" >&2; exit 1; }
mkdir -p "$WORK"
D=$SHARED/corpus/dev
SESSIONS=(
    "$D/nDPI/smtp.pcap" "$D/nDPI/smtp-starttls.pcap" "$D/arkime/smtp-data-250.pcap"
    "$D/arkime/smtp-data-521.pcap" "$D/arkime/smtp-zip.pcap" "$D/arkime/smtp-originating.pcap"
    "$D/arkime/smtp-nospaces.pcap" "$D/arkime/smtp-rcpt-553.pcap" "$D/arkime/smtp-starttls.pcap"
    "$D/arkime/smtp-subject-utf8-q.pcap" "$D/arkime/smtp-subject-8859-b.pcap"
    "$D/arkime/smtp-subject-windows.pcap" "$D/arkime/smtp-moloch-bof.pcap"
)
CAP=$WORK/smtp-sessions-$COPIES.pcap
EMPTY=$WORK/smtp-empty.pcap
[[ -s $CAP ]] || python3 "$ROOT/bench/mkhttp.py" --copies "$COPIES" --out "$CAP" "${SESSIONS[@]}" >&2
python3 - "$CAP" "$EMPTY" <<'PY'
import sys
open(sys.argv[2], 'wb').write(open(sys.argv[1], 'rb').read(24))
PY

instructions() {   # CAPTURE ARGS... -> total instructions
    local cap=$1; shift
    TZ=UTC valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.smtp" \
        "$BIN" -r "$cap" --no-progress "$@" > /dev/null 2> "$WORK/smtp-cost.err"
    grep '^summary:' "$WORK/cg.smtp" | awk '{print $2}'
}
packets=$(TZ=UTC "$BIN" -r "$CAP" --no-progress 2> /dev/null |
    sed -n 's/^All done. Processed \([0-9]*\) packets./\1/p')
blocks=$(TZ=UTC "$BIN" -r "$CAP" --no-progress 2> /dev/null | grep -c '(smtp client)' || true)
without=$(( $(instructions "$CAP" --smtp-ports none) - $(instructions "$EMPTY" --smtp-ports none) ))
with=$(( $(instructions "$CAP") - $(instructions "$EMPTY") ))
awk -v p="$packets" -v a="$without" -v b="$with" -v n="$blocks" 'BEGIN {
    printf "capture: %d packets of full SMTP sessions, %d smtp client blocks\n", p, n
    printf "%-34s %10s\n", "run", "instr/pkt"
    printf "%-34s %10.0f\n", "--smtp-ports none", a / p
    printf "%-34s %10.0f\n", "SMTP observed (default)", b / p
    printf "ratio with/without: %.3f (budget: 1.10)\n", b / a
}'
