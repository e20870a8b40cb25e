#!/usr/bin/env python3
"""Write the captures that show p0f-rs's bug fixes (docs/compat.md), one
capture per fix, each small enough to read by eye:

  http-split.pcap  Ethernet. One HTTP connection whose response headers
                   arrive in two segments, split after the Server line.
                   p0f 3.09b loses the next header line (Last-Modified).
  loop.pcap        DLT_LOOP (OpenBSD loopback, 4-byte header). A SYN and
                   its SYN+ACK. p0f 3.09b skips 8 bytes and sees nothing.
  ppp-serial.pcap  DLT_PPP_SERIAL (PPP in HDLC framing, 4-byte header). A
                   SYN and its SYN+ACK. p0f 3.09b skips 8 bytes.
  pflog.pcap       DLT_PFLOG with today's 64-byte header (length byte 61).
                   A SYN and its SYN+ACK. p0f 3.09b assumes 28 bytes.
  http-os.pcap     Ethernet. Two HTTP connections from one client whose
                   requests match the same OS-class HTTP signature of
                   http-os.fp (written too). p0f 3.09b compares a name
                   number with a label number and reports a host change
                   on the second request.

Only the Python standard library is used; the output is reproducible.

    python3 samples/make_compat_pcaps.py [OUTDIR]   # default: beside this script

SPDX-License-Identifier: MIT OR Apache-2.0
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_vlan_pcap import CLIENT_MAC, SERVER_MAC, T0, ether, ipv4, syn_opts, tcp_segment  # noqa: E402

CLIENT = '192.0.2.30'
SERVER = '198.51.100.80'
SYN, ACK, PSH_ACK, FIN_ACK, SYN_ACK = 0x02, 0x10, 0x18, 0x11, 0x12

# One OS-class HTTP request signature: any version, Host then User-Agent.
HTTP_OS_FP = """\
; A minimal database for http-os.pcap (p0f-rs test data).
classes = unix

[http:request]

label = s:unix:TestOS:1.0
sig   = *:Host,User-Agent::
"""


def connection(sport, request, response_parts, t):
    """(time, frame) pairs of one HTTP connection, client first."""
    c0, s0 = 1000 + sport, 5000 + sport
    frames = []

    def seg(frm_client, seq, ack, flags, opts=b'', payload=b''):
        src, dst = (CLIENT, SERVER) if frm_client else (SERVER, CLIENT)
        sp, dp = (sport, 80) if frm_client else (80, sport)
        tcp = tcp_segment(src, dst, sp, dp, seq, ack, flags, 64240, opts, payload)
        macs = (SERVER_MAC, CLIENT_MAC) if frm_client else (CLIENT_MAC, SERVER_MAC)
        frames.append(ether(macs[0], macs[1], ipv4(src, dst, 64, 1, tcp)))

    seg(True, c0, 0, SYN, syn_opts(100000 + sport, 0))
    seg(False, s0, c0 + 1, SYN_ACK, syn_opts(900000 + sport, 100000 + sport))
    seg(True, c0 + 1, s0 + 1, ACK)
    seg(True, c0 + 1, s0 + 1, PSH_ACK, payload=request)
    seq = s0 + 1
    for part in response_parts:
        seg(False, seq, c0 + 1 + len(request), PSH_ACK, payload=part)
        seq += len(part)
    seg(True, c0 + 1 + len(request), seq, FIN_ACK)
    return [(t + i * 0.01, f) for i, f in enumerate(frames)]


def write_pcap(path, linktype, timed_frames):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, linktype))
        for t, fr in timed_frames:
            sec, usec = int(t), int(round((t - int(t)) * 1e6))
            f.write(struct.pack('<IIII', sec, usec, len(fr), len(fr)))
            f.write(fr)
    print('wrote %d packets to %s' % (len(timed_frames), path))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    request = (b'GET / HTTP/1.1\r\nHost: example.test\r\n'
               b'User-Agent: curl/8.0\r\nAccept: */*\r\n\r\n')
    head = b'HTTP/1.1 200 OK\r\nServer: Apache\r\n'
    rest = (b'Last-Modified: Mon, 20 Nov 2023 10:00:00 GMT\r\n'
            b'Content-Type: text/html\r\nContent-Length: 5\r\n\r\nhello')
    write_pcap(os.path.join(out, 'http-split.pcap'), 1,
               connection(41000, request, [head, rest], T0))

    # DLT_LOOP: a 4-byte address family in network byte order (AF_INET = 2).
    loop = []
    for i, (src, dst, sp, dp, seq, ack, flags, opts) in enumerate([
            (CLIENT, SERVER, 42000, 25, 7000, 0, SYN, syn_opts(1, 0)),
            (SERVER, CLIENT, 25, 42000, 9000, 7001, SYN_ACK, syn_opts(2, 1))]):
        tcp = tcp_segment(src, dst, sp, dp, seq, ack, flags, 64240, opts)
        loop.append((T0 + i * 0.001, struct.pack('!I', 2) + ipv4(src, dst, 64, 1, tcp)))
    write_pcap(os.path.join(out, 'loop.pcap'), 108, loop)

    # The same handshake behind two more link headers p0f gets wrong.
    def framed(linktype, name, header):
        frames = []
        for i, (src, dst, sp, dp, seq, ack, flags, opts) in enumerate([
                (CLIENT, SERVER, 42100, 25, 7100, 0, SYN, syn_opts(3, 0)),
                (SERVER, CLIENT, 25, 42100, 9100, 7101, SYN_ACK, syn_opts(4, 3))]):
            tcp = tcp_segment(src, dst, sp, dp, seq, ack, flags, 64240, opts)
            frames.append((T0 + i * 0.001, header(i) + ipv4(src, dst, 64, 1, tcp)))
        write_pcap(os.path.join(out, name), linktype, frames)

    # HDLC-like framing: address 0xff, control 0x03, protocol 0x0021 (IPv4).
    framed(50, 'ppp-serial.pcap', lambda i: b'\xff\x03\x00\x21')
    # pflog: length 61, address family 2 (IPv4), action, reason, interface
    # name, ruleset, rule numbers, direction..., zero-padded to 64 bytes.
    def pflog_header(i):
        h = struct.pack('!BBBB', 61, 2, 0, 0) + b'em0'.ljust(16, b'\0') + b'\0' * 16
        h += struct.pack('!II', 1, 0xffffffff) + b'\0' * 8 + struct.pack('!B', 1 + i)
        return h.ljust(64, b'\0')
    framed(117, 'pflog.pcap', pflog_header)

    plain = [b'HTTP/1.1 204 No Content\r\nServer: Test\r\n\r\n']
    write_pcap(os.path.join(out, 'http-os.pcap'), 1,
               connection(43000, request, plain, T0) +
               connection(43001, request, plain, T0 + 5))
    with open(os.path.join(out, 'http-os.fp'), 'w') as f:
        f.write(HTTP_OS_FP)
    print('wrote', os.path.join(out, 'http-os.fp'))


if __name__ == '__main__':
    main()
