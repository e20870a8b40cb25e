#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# Sustained capture rate: p0f-rs against p0f 3.09b, live.
#
# The MX benchmark capture (SHARED/bench/mkpcap.py --conns 200000 --hosts
# 50000, 1.4M packets) is replayed with Debian's tcpreplay, preloaded into
# memory (-K), onto one end of a veth pair; the daemon captures on the other
# end, inside a network namespace of its own (so nothing else on the machine
# sees the traffic, and the packets, addressed to nobody there, are dropped
# after capture). Per rate and daemon the script reports packets sent
# (tcpreplay's "Actual"), packets processed (the daemon's "All done.
# Processed N packets."), and drops: libpcap's own counter for p0f-rs (its
# exit warning), sent minus processed for p0f 3.09b, which never reads it.
#
# First the generator's own ceiling is measured (--topspeed, no daemon): a
# daemon that keeps up at that rate is reported as "at least" that fast.
#
# At each rate where a daemon processed every packet, its -o log is compared
# with its own -r run on the same capture: syn, syn+ack and mtu (and http)
# observations, with addresses, signatures and verdicts. Times, and the
# observations derived from them (uptime, host change, ip sharing), are
# left out: live packets carry the replay's clock, not the capture's.
# Both daemons use p0f's stock database (-f SHARED/reference/p0f.fp).
#
#     sudo bench/capture-rate.sh [RATES...]     default: 50000 100000 200000 400000 800000 topspeed
#
# Environment: SHARED (default <repo>/../shared), WORK (default
# /tmp/p0f-bench), P0F (default /usr/sbin/p0f), CARGO_TARGET_DIR, DAEMONS
# (default "p0f-rs p0f-3.09b"; one of them alone, for example to find p0f
# 3.09b's own no-drop rate at rates far below p0f-rs's), CPU_PERCENT (unset:
# no limit; N: each daemon runs in a cgroup-v1 CPU quota of N% of one core,
# 1 ms in every 10 ms per 10%, so that the generator can outrun both and
# the ratio of their sustained rates shows at equal CPU).
# Needs root, iproute2, tcpreplay, python3.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SHARED=${SHARED:-$ROOT/../shared}
WORK=${WORK:-/tmp/p0f-bench}
P0F=${P0F:-/usr/sbin/p0f}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RS=$CARGO_TARGET_DIR/release/p0f
DAEMONS=${DAEMONS:-p0f-rs p0f-3.09b}
RATES=("${@:-50000 100000 200000 400000 800000 topspeed}")
[ ${#RATES[@]} -eq 1 ] && read -r -a RATES <<< "${RATES[0]}"
NS=p0fbench$$
CAP=$WORK/mx200k.pcap
mkdir -p "$WORK"

command -v tcpreplay >/dev/null || apt-get install -y -q tcpreplay >/dev/null
cargo build -q --release -p p0f-cli --bin p0f
if [ ! -s "$CAP" ]; then
    (cd "$SHARED/bench" && python3 mkpcap.py --conns 200000 --hosts 50000 --out "$CAP" \
        $(find ../corpus/dev -name '*.pcap'))
fi

CG=
if [ -n "${CPU_PERCENT:-}" ]; then
    CG=/sys/fs/cgroup/cpu/$NS
    mkdir "$CG"
    echo 10000 > "$CG/cpu.cfs_period_us"
    echo $((CPU_PERCENT * 100)) > "$CG/cpu.cfs_quota_us"
fi
cleanup() {
    ip netns del "$NS" 2>/dev/null || true
    ip link del "v${NS}a" 2>/dev/null || true
    [ -z "$CG" ] || rmdir "$CG" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$NS"
ip link add "v${NS}a" type veth peer name "v${NS}b"
ip link set "v${NS}b" netns "$NS"
ip link set "v${NS}a" up mtu 1500
ip netns exec "$NS" ip link set "v${NS}b" up mtu 1500
ip netns exec "$NS" ip link set lo up

FP=$SHARED/reference/p0f.fp
daemon_cmd() {   # both with p0f's stock database, so the comparison is fair
    if [ "$1" = p0f-rs ]; then echo "$RS -f $FP"; else echo "$P0F -f $FP"; fi
}
normalise() {
    # Drop the time stamp and the observations derived from packet times
    # (uptime, and the NAT and host-change verdicts, which compare TCP
    # timestamps with the clock); sort.
    sed -E 's/^\[[^]]*\] //' "$1" | grep -Ev '^mod=(uptime|host change|ip sharing)\|' | sort
}
# The reference observations: each daemon reading the file itself.
for d in $DAEMONS; do
    rm -f "$WORK/offline-$d.log"   # -o appends
    $(daemon_cmd $d) -r "$CAP" -o "$WORK/offline-$d.log" > /dev/null 2>&1 || true
    normalise "$WORK/offline-$d.log" > "$WORK/offline-$d.norm"
done

echo "machine: $(nproc) cores, $(uname -r); capture: $(basename "$CAP"); daemon CPU: ${CPU_PERCENT:-unlimited}${CPU_PERCENT:+% of a core}"
printf '%-10s %-10s %10s %10s %10s %10s  %s\n' rate daemon sent processed dropped pps observations
echo "generator ceiling (tcpreplay --topspeed -K, no daemon): $(tcpreplay -K --topspeed -i "v${NS}a" "$CAP" 2>&1 | awk '/Rated:/ {print $6; exit}') pps"

for rate in "${RATES[@]}"; do
    for d in $DAEMONS; do
        read -r -a cmd <<< "$(daemon_cmd $d)"
        [ -x "${cmd[0]}" ] || continue
        rm -f "$WORK/live.log"
        ip netns exec "$NS" "${cmd[@]}" -i "v${NS}b" -p -o "$WORK/live.log" 'tcp' \
            > "$WORK/live.out" 2> "$WORK/live.err" &
        pid=$!
        [ -z "$CG" ] || echo "$pid" > "$CG/cgroup.procs"
        sleep 1.5
        t0=$(date +%s.%N)
        out=$(tcpreplay -K -i "v${NS}a" $([ "$rate" = topspeed ] && echo --topspeed || echo --pps "$rate") "$CAP" 2>&1)
        t1=$(date +%s.%N)
        sent=$(awk '/Actual:/ {print $2; exit}' <<< "$out")
        pps=$(awk '/Rated:/ {print $6; exit}' <<< "$out")
        sleep 2
        kill -INT $pid; wait $pid || true
        processed=$(grep -o 'Processed [0-9]*' "$WORK/live.out" | awk '{print $2}' || true)
        processed=${processed:-0}
        if [ $d = p0f-rs ]; then
            dropped=$(grep -o '[0-9]* packets dropped by the kernel' "$WORK/live.err" | awk '{print $1}' || true)
            dropped=${dropped:-0}
        else
            dropped=$((sent - processed))
        fi
        obs=-
        if [ "$processed" -ge "$sent" ] && [ -s "$WORK/live.log" ]; then
            normalise "$WORK/live.log" > "$WORK/live.norm"
            if cmp -s "$WORK/live.norm" "$WORK/offline-$d.norm"; then
                obs="same as -r ($(wc -l < "$WORK/live.norm") lines)"
            else
                obs="differ from -r: $(diff "$WORK/live.norm" "$WORK/offline-$d.norm" | grep -c '^[<>]' || true) lines"
                diff "$WORK/live.norm" "$WORK/offline-$d.norm" > "$WORK/diff-$d-$rate.txt" || true
            fi
        fi
        printf '%-10s %-10s %10s %10s %10s %10s  %s\n' "$rate" "$d" "$sent" "$processed" "$dropped" "$pps" "$obs"
    done
done
