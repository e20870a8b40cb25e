#!/usr/bin/env python3
"""Write samples/vlan.pcap: one TCP handshake start seen with and without
an 802.1Q VLAN tag.

Packets (classic pcap, Ethernet link type, microsecond stamps):

  1. SYN      192.0.2.10:40000 -> 198.51.100.20:80, 802.1Q tag, VLAN 100
  2. SYN+ACK  198.51.100.20:80 -> 192.0.2.10:40000, 802.1Q tag, VLAN 100
  3. SYN      192.0.2.10:40001 -> 198.51.100.20:81, untagged
  4. SYN+ACK  198.51.100.20:81 -> 192.0.2.10:40001, untagged

The TCP/IP headers of the tagged and untagged pairs are the same apart
from the ports (and so the checksums), so a fingerprinter that understands
VLAN tags must report the same result for both. p0f 3.09b only sees the
untagged pair; p0f-rs sees both by default.

Only the Python standard library is used. Usage:

    python3 samples/make_vlan_pcap.py [OUT]     # default: vlan.pcap beside this script

SPDX-License-Identifier: MIT OR Apache-2.0
"""
import os
import socket
import struct
import sys

CLIENT_MAC = bytes.fromhex('020000000001')
SERVER_MAC = bytes.fromhex('020000000002')
CLIENT_IP = '192.0.2.10'      # TEST-NET-1
SERVER_IP = '198.51.100.20'   # TEST-NET-2
VLAN_ID = 100
T0 = 1700000000               # fixed start time, so the output is reproducible


def csum(data):
    """Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def tcp_segment(src, dst, sport, dport, seq, ack, flags, win, opts, payload=b''):
    """TCP header with options, then the payload, with a correct checksum."""
    assert len(opts) % 4 == 0
    off = (20 + len(opts)) // 4
    hdr = struct.pack('!HHIIBBHHH', sport, dport, seq, ack, off << 4, flags,
                      win, 0, 0) + opts
    seg = hdr + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + \
        struct.pack('!BBH', 0, 6, len(seg))
    c = csum(pseudo + seg)
    return seg[:16] + struct.pack('!H', c) + seg[18:]


def ipv4(src, dst, ttl, ident, payload):
    """IPv4 header (20 bytes, DF set) with a correct checksum."""
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident,
                      0x4000, ttl, 6, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    c = csum(hdr)
    return hdr[:10] + struct.pack('!H', c) + hdr[12:] + payload


def ether(dst_mac, src_mac, payload, vlan=None):
    """Ethernet II frame, optionally with an 802.1Q tag (PCP 0, DEI 0)."""
    if vlan is None:
        return dst_mac + src_mac + struct.pack('!H', 0x0800) + payload
    return dst_mac + src_mac + struct.pack('!HHH', 0x8100, vlan & 0x0fff,
                                           0x0800) + payload


def syn_opts(tsval, tsecr):
    # mss 1460, sackOK, timestamps, nop, wscale 7: a common Linux layout
    return (struct.pack('!BBH', 2, 4, 1460) + b'\x04\x02' +
            struct.pack('!BBII', 8, 10, tsval, tsecr) +
            b'\x01' + struct.pack('!BBB', 3, 3, 7))


def handshake(sport, dport, vlan):
    """Client SYN and server SYN+ACK, as two Ethernet frames."""
    cseq, sseq = 0x11223344 + sport, 0x55667788 + sport
    syn = tcp_segment(CLIENT_IP, SERVER_IP, sport, dport, cseq, 0, 0x02,
                      64240, syn_opts(123456, 0))
    synack = tcp_segment(SERVER_IP, CLIENT_IP, dport, sport, sseq, cseq + 1,
                         0x12, 65160, syn_opts(987654, 123456))
    return [
        ether(SERVER_MAC, CLIENT_MAC, ipv4(CLIENT_IP, SERVER_IP, 64, 0, syn), vlan),
        ether(CLIENT_MAC, SERVER_MAC, ipv4(SERVER_IP, CLIENT_IP, 64, 0, synack), vlan),
    ]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), 'vlan.pcap')
    frames = handshake(40000, 80, VLAN_ID) + handshake(40001, 81, None)
    with open(out, 'wb') as f:
        # global header: magic, v2.4, thiszone 0, sigfigs 0, snaplen, DLT_EN10MB
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            usec = i * 1000  # 1 ms apart
            f.write(struct.pack('<IIII', T0 + usec // 1000000, usec % 1000000,
                                len(fr), len(fr)))
            f.write(fr)
    print('wrote %d packets to %s' % (len(frames), out))


if __name__ == '__main__':
    main()
