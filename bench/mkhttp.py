#!/usr/bin/env python3
"""Build a large HTTP-heavy capture for benchmarks, from real captures.

The SYN-only capture of ../shared/bench/mkpcap.py exercises TCP
fingerprinting; this one keeps whole real connections (HTTP requests and
responses included), so HTTP parsing, HTTP matching and NAT scoring are
measured too. It concatenates the IPv4 Ethernet packets of the given
classic-pcap files COPIES times; each copy gets its own addresses (the
second octet of every IPv4 address is replaced by the copy number) and a
later time, so copies are distinct hosts and flows.

    mkhttp.py --copies 400 --out /tmp/http.pcap FILE.pcap...

Only the Python standard library is used. Output: classic pcap, Ethernet,
microsecond stamps. Checksums are left as they are (p0f ignores them).
"""
import argparse
import struct
import sys


def packets(path):
    """(sec, usec, orig_len, bytes) of the IPv4 Ethernet frames of a pcap."""
    data = open(path, 'rb').read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic == b'\xd4\xc3\xb2\xa1':
        e, ns = '<', False
    elif magic == b'\xa1\xb2\xc3\xd4':
        e, ns = '>', False
    elif magic == b'\x4d\x3c\xb2\xa1':
        e, ns = '<', True
    elif magic == b'\xa1\xb2\x3c\x4d':
        e, ns = '>', True
    else:
        return  # pcapng and others are skipped
    if struct.unpack(e + 'I', data[20:24])[0] != 1:
        return
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(e + 'IIII', data[off:off + 16])
        off += 16
        frame = data[off:off + incl]
        off += incl
        if len(frame) < incl:
            return
        if len(frame) >= 34 and frame[12:14] == b'\x08\x00' and frame[23] == 6:
            yield sec, (frac // 1000 if ns else frac), orig, frame


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--copies', type=int, default=200)
    ap.add_argument('--out', required=True)
    ap.add_argument('files', nargs='+')
    a = ap.parse_args()
    # Lay the files end to end in time, each keeping its own spacing.
    base = []
    clock = 0
    for f in a.files:
        pkts = list(packets(f))
        if not pkts:
            continue
        # Keep the spacing of packets, but cap pauses at a minute so that
        # odd stamps in a source file cannot stretch the timeline.
        prev = pkts[0][0]
        for sec, usec, orig, frame in pkts:
            clock += min(max(sec - prev, 0), 60)
            prev = sec
            base.append((clock, usec, orig, frame))
        clock = base[-1][0] + 2
    if not base:
        sys.exit('no usable packets')
    t0, span = 0, clock
    total = 0
    with open(a.out, 'wb') as out:
        out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for copy in range(a.copies):
            octet = copy % 256
            shift = 1_600_000_000 + copy * span
            for sec, usec, orig, frame in base:
                f = bytearray(frame)
                f[27] = octet  # second octet of the source address
                f[31] = octet  # second octet of the destination address
                out.write(struct.pack('<IIII', sec - t0 + shift, usec, len(f), orig))
                out.write(f)
                total += 1
    print(f'{a.out}: {a.copies} copies of {len(base)} packets, {total} packets')


if __name__ == '__main__':
    main()
