#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# How long a stall the live capture survives: p0f-rs against p0f 3.09b.
#
# A daemon that is kept off the CPU (a busy host, a stopped process, a slow
# disk under the -o log) stops emptying the kernel's capture ring, and the
# kernel drops what does not fit. At low rates the ring's size in bytes
# says little: TPACKET_V3 hands over a block at every retire timeout, full
# or not, so a lightly loaded ring holds (blocks x timeout, rounded up to
# timer ticks) of traffic whatever its size.
#
# Per stall length the script replays distinct Linux-like SYNs at RATE
# packets/s with Debian's tcpreplay onto one end of a veth pair; the daemon
# captures on the other end, in a network namespace of its own. One second
# into the replay the daemon is stopped (SIGSTOP) for the stall, then
# continued (SIGCONT). Reported: SYNs sent, SYNs the daemon reported
# (`mod=syn` lines of its -o log), and the lost share. Both daemons use p0f's
# stock database.
#
#     sudo bench/capture-stall.sh [STALL_MS...]     default: 0 100 250 500 1000 2000
#
# Environment: RATE (default 2000), SECONDS_SENT (default 4), SHARED, WORK
# (default /tmp/p0f-bench), P0F (default /usr/sbin/p0f), CARGO_TARGET_DIR,
# DAEMONS (default "p0f-rs p0f-3.09b"), RS_ARGS (extra p0f-rs arguments, for
# example "--capture-buffer 64 --capture-timeout 10").
# Needs root, iproute2, tcpreplay, python3.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
WORK=${WORK:-/tmp/p0f-bench}
P0F=${P0F:-/usr/sbin/p0f}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RS=$CARGO_TARGET_DIR/release/p0f
RATE=${RATE:-2000}
SECONDS_SENT=${SECONDS_SENT:-4}
DAEMONS=${DAEMONS:-p0f-rs p0f-3.09b}
read -r -a RS_EXTRA <<< "${RS_ARGS:-}"
STALLS=("${@:-0 100 250 500 1000 2000}")
[ ${#STALLS[@]} -eq 1 ] && read -r -a STALLS <<< "${STALLS[0]}"
NS=p0fstall$$
mkdir -p "$WORK"
command -v tcpreplay > /dev/null || apt-get install -y -q tcpreplay > /dev/null
cargo build -q --release -p p0f-cli --bin p0f

SYNS=$((RATE * SECONDS_SENT))
CAP=$WORK/stall-syns-$SYNS.pcap
# Distinct SYNs (source address and port change), each as Linux 3.11+ sends
# them: MSS 1460, SACK, timestamps, window scale 7, window 64240, TTL 64.
[ -s "$CAP" ] || python3 - "$CAP" "$SYNS" << 'PY'
import struct, sys
path, n = sys.argv[1], int(sys.argv[2])

def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

with open(path, 'wb') as out:
    out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(n):
        src = bytes([10, 77, (i >> 8) & 0xff, i & 0xff])
        dst = bytes([10, 78, 0, 1])
        opts = (struct.pack('!BBH', 2, 4, 1460) + b'\x04\x02'
                + struct.pack('!BBII', 8, 10, 1000 + i, 0) + b'\x01\x03\x03\x07')
        tcp = struct.pack('!HHIIBBHHH', 20000 + i % 40000, 25, i * 7919, 0,
                          (20 + len(opts)) // 4 << 4, 0x02, 64240, 0, 0) + opts
        pseudo = src + dst + struct.pack('!BBH', 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack('!H', csum(pseudo + tcp)) + tcp[18:]
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), i & 0xffff, 0x4000,
                         64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
        frame = b'\x02\0\0\0\0\x02' + b'\x02\0\0\0\0\x01' + b'\x08\x00' + ip + tcp
        out.write(struct.pack('<IIII', i // 1000, i % 1000 * 1000, len(frame), len(frame)))
        out.write(frame)
PY

cleanup() {
    ip netns del "$NS" 2> /dev/null || true
    ip link del "v${NS}a" 2> /dev/null || true
}
trap cleanup EXIT
ip netns add "$NS"
ip link add "v${NS}a" type veth peer name "v${NS}b"
ip link set "v${NS}b" netns "$NS"
ip link set "v${NS}a" up
ip netns exec "$NS" ip link set "v${NS}b" up

FP=$SHARED/reference/p0f.fp
daemon_cmd() {
    if [ "$1" = p0f-rs ]; then echo "$RS -f $FP ${RS_EXTRA[*]}"; else echo "$P0F -f $FP"; fi
}

echo "machine: $(nproc) cores, $(uname -r), CONFIG_HZ=$(zcat /proc/config.gz 2> /dev/null | sed -n 's/^CONFIG_HZ=//p')"
echo "replay: $SYNS SYNs at $RATE/s; stall starts 1 s in; p0f-rs arguments: ${RS_ARGS:-none}"
printf '%-10s %8s %8s %9s %8s\n' daemon stall_ms sent reported lost
for stall in "${STALLS[@]}"; do
    for d in $DAEMONS; do
        read -r -a cmd <<< "$(daemon_cmd "$d")"
        [ -x "${cmd[0]}" ] || continue
        rm -f "$WORK/stall.log"
        ip netns exec "$NS" "${cmd[@]}" -i "v${NS}b" -p -o "$WORK/stall.log" 'tcp' \
            > "$WORK/stall.out" 2> "$WORK/stall.err" &
        pid=$!
        sleep 1.5
        tcpreplay -K -i "v${NS}a" --pps "$RATE" "$CAP" > "$WORK/stall.replay" 2>&1 &
        replay=$!
        if [ "$stall" -gt 0 ]; then
            sleep 1
            kill -STOP "$pid"
            sleep "$(awk -v s="$stall" 'BEGIN { print s / 1000 }')"
            kill -CONT "$pid"
        fi
        wait "$replay"
        sleep 1
        kill -INT "$pid"
        wait "$pid" || true
        sent=$(awk '/Actual:/ {print $2; exit}' "$WORK/stall.replay")
        reported=$(grep -c '] mod=syn|' "$WORK/stall.log" || true)
        awk -v d="$d" -v s="$stall" -v a="$sent" -v r="$reported" 'BEGIN {
            printf "%-10s %8d %8d %9d %7.1f%%\n", d, s, a, r, 100 * (a - r) / a }'
    done
done
