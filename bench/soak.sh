#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# bench/soak.sh [SECONDS] [INTERVAL]: soak test of the live daemon and the
# mail policy (a benchmark, not part of the test suite; run as root).
#
# Builds a veth pair into a network namespace, replays an MX-like capture
# (../shared/bench/mkpcap.py) into it in a loop with tcpreplay, and runs
# target/release/p0f live on the host end with both API sockets and
# target/release/p0f-mailpolicy as a milter and a policy service against
# it. Alongside, clients keep asking: v3 and v2 API queries, full milter
# sessions, Postfix policy requests. Every INTERVAL seconds (default 5) it
# samples each daemon's RSS, open descriptors and CPU time, the p0f
# daemon's own counters (v2 status query: packets, matched, queries, cache
# size) and both daemons' Prometheus metrics (the p0f daemon's tracked
# flows and hosts and dropped packets, the mail policy's p0f queries and
# decisions), into $OUT/samples.tsv; every page scraped is kept in
# $OUT/metrics/. At the end it prints whether RSS, descriptors and the
# table gauges stayed flat after the warm-up (bench/soak_verdict.py: the
# first half of the run, while bounded tables fill), and the CPU and packet
# rates.
#
# Needs: root, iproute2, tcpreplay, python3, curl, a release build
# (cargo build --release -p p0f-cli -p p0f-milter; P0F_BIN and POLICY_BIN
# name other binaries).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

secs=${1:-1800}
interval=${2:-5}
out=${OUT:-$(mktemp -d /tmp/p0f-soak.XXXXXX)}
mkdir -p "$out"
ns=p0fsoak
p0f=${P0F_BIN:-target/release/p0f}
policy=${POLICY_BIN:-target/release/p0f-mailpolicy}
[ -x $p0f ] && [ -x $policy ] || { echo "build first: cargo build --release -p p0f-cli -p p0f-milter" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run as root (network namespace, capture)" >&2; exit 2; }

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del $ns 2>/dev/null || true
    ip link del soak0 2>/dev/null || true
}
trap cleanup EXIT

echo "soak: ${secs}s, sampling every ${interval}s, output in $out"

# The traffic: real client SYNs from the shared corpus, MX-shaped.
pcap=$out/mx.pcap
python3 ../shared/bench/mkpcap.py --conns 20000 --hosts 5000 --out "$pcap" \
    $(find ../shared/corpus/dev -name '*.pcap' | head -200) >/dev/null

ip netns del $ns 2>/dev/null || true
ip link del soak0 2>/dev/null || true
ip netns add $ns
ip link add soak0 type veth peer name soak1
ip link set soak1 netns $ns
ip link set soak0 up
ip -n $ns link set soak1 up
ip -n $ns link set lo up

p0f_metrics=127.0.0.1:${P0F_METRICS_PORT:-19631}
policy_metrics=127.0.0.1:${POLICY_METRICS_PORT:-19632}
$p0f -i soak0 -s "$out/p0f.sock" --api-v2 "$out/p0f2.sock" -m 2000,20000 \
    --metrics "$p0f_metrics" >"$out/p0f.out" 2>"$out/p0f.err" &
p0f_pid=$!
pids+=("$p0f_pid")
for _ in $(seq 200); do [ -S "$out/p0f2.sock" ] && break; sleep 0.1; done
$policy --plugin-line "ident/p0f $out/p0f.sock" --milter "unix:$out/milter.sock" \
    --policy "unix:$out/policy.sock" --metrics "$policy_metrics" \
    >"$out/policy.out" 2>"$out/policy.err" &
policy_pid=$!
pids+=("$policy_pid")
for _ in $(seq 200); do [ -S "$out/policy.sock" ] && break; sleep 0.1; done

# Replay into the namespace end, looping, at a steady rate.
ip netns exec $ns tcpreplay -q -i soak1 --pps 2000 --loop 0 "$pcap" >"$out/tcpreplay.log" 2>&1 &
pids+=("$!")

# Clients: API v3 and v2 queries, milter sessions, policy requests.
python3 - "$out" >"$out/clients.log" 2>&1 <<'PY' &
import os, random, socket, struct, sys, time
out = sys.argv[1]
def v3(addr):
    s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(out + "/p0f.sock")
    s.sendall(struct.pack("=IB4s12x", 0x50304601, 4, socket.inet_aton(addr)))
    r = b""
    while len(r) < 232:
        c = s.recv(232 - len(r))
        if not c: break
        r += c
    s.close()
def v2(src):
    s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(out + "/p0f2.sock")
    s.sendall(struct.pack("=IB3xI4s4sHH", 0x0DEFACED, 1, 7, socket.inet_aton(src), socket.inet_aton("10.0.0.1"), 40000, 25))
    s.recv(144); s.close()
def frame(c, d=b""):
    return struct.pack(">I", len(d) + 1) + c + d
def milter(addr):
    s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(out + "/milter.sock")
    def ask(c, d=b"", reply=True):
        s.sendall(frame(c, d))
        if reply:
            n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
            s.recv(n, socket.MSG_WAITALL)
    ask(b"O", struct.pack(">III", 6, 0x1FF, 0))
    ask(b"C", b"client\x004" + struct.pack(">H", 40000) + addr.encode() + b"\0")
    ask(b"H", b"client.example\0")
    ask(b"M", b"<a@example.org>\0")
    ask(b"R", b"<b@example.org>\0")
    s.sendall(frame(b"E"))
    while True:  # header edits, then continue
        n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
        if s.recv(n, socket.MSG_WAITALL)[:1] == b"c": break
    ask(b"Q", reply=False); s.close()
def policy(addr):
    s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(out + "/policy.sock")
    s.sendall(("request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=%s\n"
               "client_port=40000\nrecipient=b@example.org\ninstance=%d\n\n" % (addr, random.getrandbits(32))).encode())
    buf = b""
    while not buf.endswith(b"\n\n"):
        c = s.recv(1024)
        if not c: break
        buf += c
    s.close()
n = 0
while True:
    # Clients of the replayed capture (mkpcap.py: host i is 11.0.0.0 + i).
    i = random.randrange(5000)
    addr = "11.0.%d.%d" % (i >> 8, i & 255)
    for f in (v3, v2, milter, policy):
        try: f(addr)
        except Exception as e: print(f.__name__, e, flush=True)
    n += 1
    if n % 1000 == 0: print("rounds", n, flush=True)
    time.sleep(0.01)
PY
pids+=("$!")

status_v2() {
    python3 - "$out/p0f2.sock" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
s.sendall(struct.pack("=IB3xI4s4sHH", 0x0DEFACED, 2, 1, bytes(4), bytes(4), 0, 0))
r = s.recv(56, socket.MSG_WAITALL)
fp, cache, packets, matched, queries, cmisses, up = struct.unpack("=7I", r[28:56])
print(packets, matched, queries, cache)
PY
}
sample() {  # PID -> rss_kb fds cpu_ticks
    local p=$1
    local rss fds cpu
    rss=$(awk '/^VmRSS:/ {print $2}' /proc/$p/status)
    fds=$(ls /proc/$p/fd | wc -l)
    cpu=$(awk '{print $14 + $15}' /proc/$p/stat)
    echo "$rss $fds $cpu"
}

# The metrics sampled: NAME (a sum over its label sets) per column.
metric_columns=(p0f_flows_tracked p0f_hosts_tracked p0f_packets_dropped_total p0f_api_clients_open
    p0f_mailpolicy_p0f_queries_total p0f_mailpolicy_decisions_total)
mkdir -p "$out/metrics"
metrics() {  # T -> one value per metric column (the sum of its samples)
    curl -sf "http://$p0f_metrics/metrics" >"$out/metrics/p0f-$1.txt" || true
    curl -sf "http://$policy_metrics/metrics" >"$out/metrics/policy-$1.txt" || true
    local m
    for m in "${metric_columns[@]}"; do
        cat "$out/metrics/p0f-$1.txt" "$out/metrics/policy-$1.txt" |
            awk -v m="$m" '$1 == m || index($1, m "{") == 1 { s += $2; n++ }
                END { if (n) printf "%d\n", s; else print "nan" }'
    done
}

printf 't\tp0f_rss_kb\tp0f_fds\tp0f_cpu_ticks\tpolicy_rss_kb\tpolicy_fds\tpolicy_cpu_ticks\tpackets\tmatched\tqueries\tcache' >"$out/samples.tsv"
printf '\t%s' "${metric_columns[@]}" >>"$out/samples.tsv"
printf '\n' >>"$out/samples.tsv"
start=$(date +%s)
while :; do
    now=$(( $(date +%s) - start ))
    [ $now -ge "$secs" ] && break
    kill -0 $p0f_pid && kill -0 $policy_pid || { echo "a daemon died; see $out" >&2; exit 1; }
    printf '%s\t%s\t%s\t%s\t%s\n' "$now" "$(sample $p0f_pid | tr ' ' '\t')" \
        "$(sample $policy_pid | tr ' ' '\t')" "$(status_v2 | tr ' ' '\t')" \
        "$(metrics "$now" | paste -sd '\t')" >>"$out/samples.tsv"
    sleep "$interval"
done

python3 bench/soak_verdict.py "$out/samples.tsv"
echo "samples: $out/samples.tsv"
