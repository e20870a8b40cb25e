#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Capture-to-answer latency: p0f-rs against p0f 3.09b, live on loopback.

Each daemon runs alone on `lo` with `-s SOCK 'tcp port P'` (P closed, so the
kernel answers every SYN with an RST). Per round: stay idle for IDLE
seconds, send a burst of BURST SYNs from fresh source addresses in
127.0.0.0/8, then query the v3 API in a tight loop until the daemon knows
the last source. The latency is the time from the last SYN sent to that
answer; every other source of the burst is then checked too ("all known").
p0f-rs runs with --api-grace 0, so an answer is never held back to wait for
the capture: p0f 3.09b has no such grace either.

    sudo bench/capture-latency.py [--rounds N] [--burst N] [--idle 0,1,3,10]
                                  [--p0f-rs-args "--capture-timeout 1"]

Needs root (live capture), python3 and Debian's p0f (/usr/sbin/p0f).
Prints p50, p99 and max per daemon and idle period, and overall.
"""
import argparse, os, socket, struct, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def closed_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def query(sock_path, ip):
    """Status of one v3 query: 0x10 known, 0x20 unknown."""
    c = socket.socket(socket.AF_UNIX)
    c.connect(sock_path)
    c.sendall(struct.pack('=IB', 0x50304601, 4) + socket.inet_aton(ip) + b'\0' * 12)
    r = b''
    while len(r) < 232:
        d = c.recv(232 - len(r))
        if not d:
            break
        r += d
    c.close()
    return struct.unpack('=II', r[:8])[1]


def burst(srcs, port):
    socks = []
    for ip in srcs:
        s = socket.socket()
        s.setblocking(False)
        s.bind((ip, 0))
        s.connect_ex(('127.0.0.1', port))
        socks.append(s)
    t = time.monotonic()
    for s in socks:
        s.close()
    return t


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def run(name, argv, rounds, size, idles, base):
    port = closed_port()
    d = tempfile.mkdtemp()
    sock = os.path.join(d, 'api.sock')
    proc = subprocess.Popen(argv + ['-i', 'lo', '-s', sock, 'tcp port %d' % port],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        time.sleep(0.5)
        by_idle = {}
        incomplete = 0
        n = base
        for idle in idles:
            for _ in range(rounds):
                time.sleep(idle)
                srcs = ['127.%d.%d.%d' % ((n + i) >> 16 & 255, (n + i) >> 8 & 255, (n + i) & 255)
                        for i in range(size)]
                n += size
                t0 = burst(srcs, port)
                while query(sock, srcs[-1]) != 0x10:
                    if time.monotonic() - t0 > 5:
                        break
                lat = time.monotonic() - t0
                known = sum(query(sock, ip) == 0x10 for ip in srcs)
                if known < size:
                    incomplete += 1
                by_idle.setdefault(idle, []).append(lat * 1000)
        return by_idle, incomplete
    finally:
        proc.terminate()
        proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rounds', type=int, default=10)
    ap.add_argument('--burst', type=int, default=49)
    ap.add_argument('--idle', default='0,1,3,10')
    ap.add_argument('--p0f-rs', default=os.path.join(
        os.environ.get('CARGO_TARGET_DIR', os.path.join(ROOT, 'target')), 'release', 'p0f'))
    ap.add_argument('--p0f-rs-args', default='',
                    help='extra p0f-rs arguments, e.g. "--capture-timeout 1"')
    ap.add_argument('--p0f', default='/usr/sbin/p0f')
    a = ap.parse_args()
    idles = [float(x) for x in a.idle.split(',')]
    daemons = [('p0f-rs', [a.p0f_rs, '--api-grace', '0'] + a.p0f_rs_args.split(), 0x100000),
               ('p0f 3.09b', [a.p0f, '-f', '/etc/p0f/p0f.fp'], 0x200000)]
    print('burst %d SYNs (+%d RSTs), %d rounds per idle period; latency in ms'
          % (a.burst, a.burst, a.rounds))
    print('%-10s %6s %8s %8s %8s  %s' % ('daemon', 'idle', 'p50', 'p99', 'max', 'incomplete'))
    for name, argv, base in daemons:
        if not os.path.exists(argv[0]):
            print('%-10s not found: %s' % (name, argv[0]))
            continue
        by_idle, incomplete = run(name, argv, a.rounds, a.burst, idles, base)
        every = []
        for idle in idles:
            xs = by_idle[idle]
            every += xs
            print('%-10s %5gs %8.2f %8.2f %8.2f' % (name, idle, pct(xs, 50), pct(xs, 99), max(xs)))
        print('%-10s %6s %8.2f %8.2f %8.2f  %d of %d bursts not all known'
              % (name, 'all', pct(every, 50), pct(every, 99), max(every),
                 incomplete, len(every)))


if __name__ == '__main__':
    main()
