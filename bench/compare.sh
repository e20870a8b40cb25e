#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# Whole-process benchmark: p0f-rs against Debian's p0f 3.09b.
#
# Both programs read the same large capture with the same signature database,
# exactly as a user would run them:
#
#     TZ=UTC p0f -f SHARED/reference/p0f.fp -r CAPTURE -o LOG > STDOUT 2> STDERR
#
# Each is run RUNS times; the best (smallest) wall-clock time counts. The
# packet count comes from the "All done. Processed N packets." line, and the
# script prints packets per second for each program and the ratio
# p0f-rs / p0f (above 1 means p0f-rs is faster).
#
# It then checks that p0f-rs --bug-compat reproduces p0f exactly: standard
# output from the first ".-[" line on (the banner lines before it differ by
# design) and the whole -o log. It prints IDENTICAL or the size of the diff,
# and exits 1 if they differ. When they differ it also repeats the comparison
# with HTTP blocks / log lines removed, to tell whether only HTTP differs.
# p0f-rs in its default mode (bug fixes on) is timed too; its output is only
# reported, not required to match.
#
# Usage (from anywhere; paths are relative to the repository root):
#
#     bench/compare.sh
#
# Environment overrides:
#     SHARED    shared folder               (default: <repo>/../shared)
#     CONNS     connections in the capture  (default: 200000)
#     HOSTS     distinct client hosts       (default: 50000)
#     RUNS      runs per program            (default: 3)
#     WORK      scratch directory           (default: /tmp/p0f-bench)
#     MIX       smtp: SYN-heavy MX traffic from SHARED/bench/mkpcap.py (default)
#               http: whole real HTTP connections from bench/mkhttp.py, so HTTP
#               parsing and NAT scoring are measured too (COPIES, default 60)
#     CAPTURE   capture to use              (default: WORK/mx<CONNS/1000>k.pcap or
#                                            WORK/http<COPIES>.pcap, made if missing)
#     P0F       reference binary            (default: /usr/sbin/p0f)
#     CARGO_TARGET_DIR                      (default: <repo>/target)
#
# Needs: cargo, python3, and root (or an already installed p0f) for apt-get.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

SHARED=${SHARED:-$ROOT/../shared}
CONNS=${CONNS:-200000}
HOSTS=${HOSTS:-50000}
RUNS=${RUNS:-3}
WORK=${WORK:-/tmp/p0f-bench}
P0F=${P0F:-/usr/sbin/p0f}
FP=$SHARED/reference/p0f.fp
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RS=$CARGO_TARGET_DIR/release/p0f
MIX=${MIX:-smtp}
COPIES=${COPIES:-60}
if [[ $MIX == http ]]; then
    CAPTURE=${CAPTURE:-$WORK/http$COPIES.pcap}
elif (( CONNS % 1000 == 0 )); then
    CAPTURE=${CAPTURE:-$WORK/mx$((CONNS / 1000))k.pcap}
else
    CAPTURE=${CAPTURE:-$WORK/mx$CONNS.pcap}
fi
OUT=$WORK/out                    # stdout, stderr and -o logs of the last run of each

# All dates in the outputs must come out the same for both programs.
export TZ=UTC

say() { printf '\n=== %s\n' "$*"; }
die() { printf 'compare.sh: %s\n' "$*" >&2; exit 2; }

[[ -f $FP ]] || die "signature database not found: $FP (set SHARED=...)"
mkdir -p "$WORK" "$OUT"

# --- 1. Build p0f-rs ----------------------------------------------------------
say "Building p0f-rs (release) into $CARGO_TARGET_DIR"
cargo build --release -p p0f-cli
[[ -x $RS ]] || die "build did not produce $RS"

# --- 2. Reference p0f -----------------------------------------------------------
if [[ ! -x $P0F ]]; then
    say "p0f not found at $P0F: installing Debian's p0f (apt-get install -y p0f)"
    [[ $(id -u) -eq 0 ]] || die "need root to install p0f (or set P0F=/path/to/p0f)"
    apt-get update -qq || { sleep 5; apt-get update -qq; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq p0f
    [[ -x $P0F ]] || die "p0f still not found at $P0F after apt-get"
    echo "installed: $P0F"
fi

# --- 3. Benchmark capture ---------------------------------------------------------
if [[ ! -s $CAPTURE && $MIX == http ]]; then
    say "Making $CAPTURE ($COPIES copies of the corpus's HTTP connections)"
    # Classic-pcap Ethernet captures with HTTP requests, leaving out those where
    # p0f's own output is not repeatable (.p0f.unstable).
    mapfile -t SOURCES < <(
        for ref in $(grep -l '(http request)' "$SHARED"/corpus/dev/*/*.p0f.out | sort); do
            cap=${ref%.p0f.out}
            [[ -e $cap.p0f.unstable ]] && continue
            [[ $(head -c4 "$cap" | od -An -tx1 | tr -d ' ') == d4c3b2a1 ]] && echo "$cap"
        done)
    (( ${#SOURCES[@]} > 0 )) || die "no HTTP captures under $SHARED/corpus/dev"
    python3 "$ROOT/bench/mkhttp.py" --copies "$COPIES" --out "$CAPTURE.part" "${SOURCES[@]}"
    mv "$CAPTURE.part" "$CAPTURE"
fi
if [[ ! -s $CAPTURE ]]; then
    say "Making $CAPTURE ($CONNS connections, $HOSTS hosts; this takes a while)"
    mapfile -t SOURCES < <(find "$SHARED/corpus/dev" -name '*.pcap' | sort)
    (( ${#SOURCES[@]} > 0 )) || die "no source captures under $SHARED/corpus/dev"
    # Write to a temporary name first, so an interrupted run leaves no half file.
    python3 "$SHARED/bench/mkpcap.py" --conns "$CONNS" --hosts "$HOSTS" \
        --out "$CAPTURE.part" "${SOURCES[@]}"
    mv "$CAPTURE.part" "$CAPTURE"
fi
# Read it once so every timed run starts with the capture in the page cache.
cat "$CAPTURE" > /dev/null
say "Capture: $CAPTURE ($(du -h "$CAPTURE" | cut -f1))"

# --- 4. Timed runs -----------------------------------------------------------------
# run NAME BINARY [EXTRA ARGS...]: runs the program RUNS times, leaves the output
# of the last run in OUT/NAME.{stdout,stderr,log}, and sets BEST[NAME] (seconds)
# and PKTS[NAME] (packets processed).
declare -A BEST PKTS
run() {
    local name=$1 bin=$2; shift 2
    local i t0 t1 dt best=""
    for (( i = 1; i <= RUNS; i++ )); do
        # -o appends, so start each run with no log file.
        rm -f "$OUT/$name.log"
        t0=$(date +%s.%N)
        # stdout goes to a file (not a terminal or pipe), like a real deployment.
        if ! "$bin" "$@" -f "$FP" -r "$CAPTURE" -o "$OUT/$name.log" \
            > "$OUT/$name.stdout" 2> "$OUT/$name.stderr" < /dev/null; then
            tail -5 "$OUT/$name.stderr" >&2
            die "$name failed (run $i)"
        fi
        t1=$(date +%s.%N)
        dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
        printf '  %-14s run %d/%d: %8.3f s\n' "$name" "$i" "$RUNS" "$dt"
        if [[ -z $best ]] || awk -v a="$dt" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best=$dt
        fi
    done
    BEST[$name]=$best
    # "All done. Processed N packets." is on stdout for p0f; look in both to be safe.
    PKTS[$name]=$(cat "$OUT/$name.stdout" "$OUT/$name.stderr" |
        sed -n 's/.*All done\. Processed \([0-9][0-9]*\) packets\..*/\1/p' | tail -1)
    [[ -n ${PKTS[$name]} ]] || die "$name: no 'All done. Processed N packets.' line"
}

say "Timing ($RUNS runs each, best wall time counts)"
run p0f            "$P0F"
run p0f-rs-compat  "$RS" --bug-compat
run p0f-rs         "$RS"

# --- 5. Results table --------------------------------------------------------------
pps() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }'; }
say "Results"
printf '%-30s %12s %10s %14s %8s\n' program packets "best s" "packets/s" ratio
base=$(pps "${PKTS[p0f]}" "${BEST[p0f]}")
for name in p0f p0f-rs-compat p0f-rs; do
    rate=$(pps "${PKTS[$name]}" "${BEST[$name]}")
    ratio=$(awk -v a="$rate" -v b="$base" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')
    case $name in
        p0f)           label="p0f 3.09b ($P0F)" ;;
        p0f-rs-compat) label="p0f-rs --bug-compat" ;;
        p0f-rs)        label="p0f-rs (default)" ;;
    esac
    printf '%-30s %12s %10s %14s %8s\n' "$label" "${PKTS[$name]}" "${BEST[$name]}" "$rate" "$ratio"
done
echo "(ratio = packets/s of the row / packets/s of p0f 3.09b)"

# --- 6. Output comparison ----------------------------------------------------------
# body FILE: standard output from the first ".-[" block header on.
body() { sed -n '/^\.-\[/,$p' "$1"; }
# nohttp: drop whole "(http request)"/"(http response)" blocks from stdout,
# i.e. from such a header up to and including the blank line after "`----".
nohttp() {
    awk '/^\.-\[.*\(http (request|response)\) \]-$/ { skip = 1 }
         !skip { print }
         skip && /^$/ && prev ~ /^`----/ { skip = 0 }
         { prev = $0 }'
}
# nodate: drop NAT blocks / log lines whose only reason is "date". p0f 3.09b
# reads HTTP Date headers into uninitialised memory, so these verdicts change
# from one p0f run to the next (docs/compat.md); they cannot be compared.
nodate() {
    awk '/^\.-\[/ { n = 0 } { block[n++] = $0 }
         /^`----/ { keep = 1
                    for (i = 0; i < n; i++) if (block[i] == "| reason   = date") keep = 0
                    if (keep) for (i = 0; i < n; i++) print block[i]
                    n = 0; held = 1; next }
         held && /^$/ { held = 0; if (keep) print; next }
         n == 1 && !/^\.-\[/ { print; n = 0 }'
}
# difflines A B: number of lines in a unified diff of A and B (0 = identical).
difflines() { diff "$1" "$2" | grep -c '^[<>]' || true; }

say "Output comparison: p0f 3.09b vs p0f-rs --bug-compat"
body "$OUT/p0f.stdout" > "$OUT/p0f.body"
body "$OUT/p0f-rs-compat.stdout" > "$OUT/p0f-rs-compat.body"
body "$OUT/p0f-rs.stdout" > "$OUT/p0f-rs.body"
status=0
for kind in body log; do
    a=$OUT/p0f.$kind b=$OUT/p0f-rs-compat.$kind
    what=$([[ $kind == body ]] && echo "stdout (from first .-[)" || echo "-o log")
    if cmp -s "$a" "$b"; then
        printf '  %-26s IDENTICAL (%s lines)\n' "$what" "$(wc -l < "$a")"
    else
        bad=1
        n=$(difflines "$a" "$b")
        printf '  %-26s DIFFERENT: %s differing lines (of %s / %s); diff %s %s\n' \
            "$what" "$n" "$(wc -l < "$a")" "$(wc -l < "$b")" "$a" "$b"
        # Same comparison without HTTP, to tell whether only HTTP output differs.
        if [[ $kind == body ]]; then
            nohttp < "$a" > "$a.nohttp"; nohttp < "$b" > "$b.nohttp"
        else
            grep -v ' mod=http ' "$a" > "$a.nohttp" || true
            grep -v ' mod=http ' "$b" > "$b.nohttp" || true
        fi
        if [[ $kind == body ]]; then
            nodate < "$a" > "$a.nodate"; nodate < "$b" > "$b.nodate"
        else
            grep -v '|reason=date|' "$a" > "$a.nodate" || true
            grep -v '|reason=date|' "$b" > "$b.nodate" || true
        fi
        if cmp -s "$a.nodate" "$b.nodate"; then
            printf '  %-26s IDENTICAL without date-only NAT verdicts (p0f is not repeatable there)\n' ""
            bad=0
        elif cmp -s "$a.nohttp" "$b.nohttp"; then
            printf '  %-26s IDENTICAL without HTTP blocks (only HTTP output differs)\n' ""
        else
            printf '  %-26s still %s differing lines without HTTP blocks\n' "" \
                "$(difflines "$a.nohttp" "$b.nohttp")"
        fi
        (( bad == 0 )) || status=1
    fi
done

# Default mode fixes p0f bugs on purpose, so differences there are expected.
say "For information: p0f 3.09b vs p0f-rs default mode (differences expected)"
printf '  %-26s %s differing lines\n' "stdout (from first .-[)" \
    "$(difflines "$OUT/p0f.body" "$OUT/p0f-rs.body")"
printf '  %-26s %s differing lines\n' "-o log" \
    "$(difflines "$OUT/p0f.log" "$OUT/p0f-rs.log")"

echo
if (( status == 0 )); then
    echo "RESULT: outputs IDENTICAL"
else
    echo "RESULT: outputs DIFFER (files in $OUT)"
fi
exit $status
