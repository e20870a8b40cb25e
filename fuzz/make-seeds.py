#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Builds the fuzz targets' seed corpora (fuzz/seeds/TARGET/) from the
repository's own samples, databases and documented examples.

Run from anywhere: python3 fuzz/make-seeds.py. The seeds are small and
committed; libFuzzer's working corpora (fuzz/corpus/, grown while fuzzing)
are not. Each seed is laid out the way its target reads its input (see
fuzz/src/lib.rs and the target's header comment).
"""

import os
import re
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SEEDS = os.path.join(HERE, "seeds")

# fuzz/src/lib.rs: LINK_TYPES, in order.
LINK_TYPES = [0, 1, 9, 12, 50, 51, 105, 108, 113, 117, 276, 147]


def read(*parts):
    with open(os.path.join(ROOT, *parts), "rb") as f:
        return f.read()


def put(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pcap_packets(data):
    """(link type, [(sec, usec, wire length, bytes)]) of a classic pcap."""
    magic = struct.unpack("<I", data[:4])[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nsec = magic in (0xA1B23C4D, 0x4D3CB2A1)
    link = struct.unpack(e + "I", data[20:24])[0]
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, cap, wire = struct.unpack(e + "IIII", data[off : off + 16])
        off += 16
        out.append((sec, frac // 1000 if nsec else frac, wire, data[off : off + cap]))
        off += cap
    return link, out


def frames(packets, limit=24):
    """fuzz/src/lib.rs `frames`: step, usec/15, length, bytes."""
    out, last = b"", None
    for sec, usec, wire, pkt in packets[:limit]:
        step = 0 if last is None else min(max(sec - last, 0), 0x3F)
        last = sec
        if wire > len(pkt):
            step |= 0x80
        out += bytes([step]) + struct.pack(">HH", min(usec // 15, 0xFFFF), len(pkt)) + pkt
    return out


def pcapng(link, packets):
    def block(kind, body):
        body += b"\0" * (-len(body) % 4)
        total = 12 + len(body)
        return struct.pack("<II", kind, total) + body + struct.pack("<I", total)

    v = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    v += block(1, struct.pack("<HHI", link, 0, 65535))
    for sec, usec, wire, pkt in packets:
        ts = sec * 1000000 + usec
        v += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(pkt), wire) + pkt)
    return v


def captures():
    samples = os.path.join(ROOT, "samples")
    for name in sorted(os.listdir(samples)):
        if name.endswith(".pcap"):
            data = read("samples", name)
            link, pk = pcap_packets(data)
            stem = name[: -len(".pcap")]
            put("capture_bytes", stem + ".pcap", data)
            put("capture_bytes", stem + ".pcapng", pcapng(link, pk))
            idx = LINK_TYPES.index(link) if link in LINK_TYPES else len(LINK_TYPES) - 1
            put("capture_pcap_vs_pcapng", stem, bytes([idx]) + frames(pk))
            # engine: link, flags (limits 4 and 4), ages, then frames.
            put("engine", stem, bytes([idx, 0x1B, 30, 2]) + frames(pk, 64))
            put("engine", stem + "-compat", bytes([idx, 0x5B, 30, 2]) + frames(pk, 64))


def databases():
    fp = read("crates", "p0f-sigdb", "data", "p0f-rs.fp").decode()
    # One seed per section of the built-in database, and the whole file's
    # head (the target works best on small inputs).
    sections = re.split(r"(?m)^(?=\[)", fp)
    for i, s in enumerate(sections):
        if s.strip():
            put("sigdb", "section%02d" % i, s[:3000].encode())
    put("sigdb", "http-os.fp", read("samples", "http-os.fp"))


HTTP = [
    (b"GET / HTTP/1.1\r\nHost: example.org\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
     b"Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nConnection: keep-alive\r\n\r\n",
     b"HTTP/1.1 200 OK\r\nDate: Thu, 27 Nov 2026 03:41:57 GMT\r\nServer: Apache/2.4.62 (Debian)\r\n"
     b"Last-Modified: Thu, 27 Nov 2026 03:00:00 GMT\r\nContent-Type: text/html\r\n\r\n<html>"),
    (b"HEAD /a?b HTTP/1.0\nHost: x\nVia: 1.1 proxy\n\n", b"HTTP/1.0 404 Not Found\nServer: nginx\n\n"),
    (b"GET /x HTTP/1.1\r\nUser-Agent: curl/7.88.1\r\n\r\n", b"HTTP/1.1 200\r\nSet-Cookie: a=b\r\n\r\n"),
]


def http():
    for i, (req, resp) in enumerate(HTTP):
        cuts = bytes([3, 5, 20, 7])  # three request cuts
        rcuts = bytes([2, 30, 1])  # two response cuts
        put("http_split", "msg%d" % i, cuts + rcuts + struct.pack(">H", len(req)) + req + resp)


SMTP = [
    [(0, b"220 mx.example.org ESMTP Example\r\n"), (1, b"EHLO client.example.net\r\n"),
     (0, b"250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n"),
     (1, b"MAIL FROM:<a@example.net> SIZE=10 BODY=8BITMIME\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"),
     (0, b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n"), (1, b"Subject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n"),
     (0, b"250 queued\r\n221 bye\r\n")],
    [(1, b"helo x\n"), (0, b"220-mx\r\n220 ESMTP\r\n"), (1, b"mail from: <a@b>\nrcpt to: <c@d>\n"),
     (0, b"250 mx\r\n250 ok\r\n")],
    [(0, b"220 mx ESMTP\r\n"), (1, b"EHLO [192.0.2.1]\r\n"), (0, b"250-mx\r\n250 STARTTLS\r\n"),
     (1, b"STARTTLS\r\n"), (0, b"220 go\r\n"), (1, b"\x16\x03\x01\x00\x05hello")],
]


def smtp():
    for i, script in enumerate(SMTP):
        out = bytes([7])  # re-cut into 8-byte pieces
        for to_srv, seg in script:
            out += bytes([to_srv, len(seg)]) + seg
        put("smtp_dialogue", "dialogue%d" % i, out)


def api():
    v3q = struct.pack("=IB4s12x", 0x50304601, 4, bytes([192, 0, 2, 7]))
    v3q6 = struct.pack("=IB16s", 0x50304601, 6, bytes.fromhex("20010db8000000000000000000000001"))
    resp = struct.pack("=9IhBB", 0x50304602, 0x10, 1700000000, 1700000100, 2, 61, 49, 0, 0, 1, 0, 2)
    resp += b"".join(s.ljust(32, b"\0") for s in [b"Linux", b"3.11 and newer", b"", b"", b"Ethernet or modem", b"English"])
    put("api_v3", "v4", v3q + resp)
    put("api_v3", "v6", v3q6)
    v2q = struct.pack("=IB3xI4s4sHH", 0x0DEFACED, 1, 7, bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]), 40000, 25)
    v2s = struct.pack("=IB3xI4s4sHH", 0x0DEFACED, 2, 8, bytes(4), bytes(4), 0, 0)
    r2 = struct.pack("=IIB", 0x0DEFACED, 7, 0) + b"Windows".ljust(20, b"\0") + b"XP SP1+".ljust(40, b"\0")
    r2 += b"\x02" + b"ethernet/modem".ljust(30, b"\0") + bytes(30) + bytes([0, 0, 1, 0]) + struct.pack("=hHxxi", 0, 0, 12)
    put("api_v2", "fingerprint", v2q + r2)
    put("api_v2", "status", v2s)


def milter_frame(cmd, data):
    return cmd + data


CONNECT = b"mx.example.org\0" + b"4" + struct.pack(">H", 40000) + b"192.0.2.1\0"
MILTER = [
    (b"O", struct.pack(">III", 6, 0x1FF, 0x1FFFFF)),
    (b"D", b"C{daemon_port}\x0025\0j\0mx.example.org\0{client_addr}\x00192.0.2.1\0"),
    (b"C", CONNECT),
    (b"C", b"h\x006" + struct.pack(">H", 1) + b"IPv6:2001:db8::1\0"),
    (b"H", b"client.example.org\0"),
    (b"D", b"M{auth_authen}\0user\0"),
    (b"M", b"<a@example.org>\0SIZE=100\0"),
    (b"R", b"<b@example.org>\0NOTIFY=NEVER\0"),
    (b"L", b"X-P0F-Genre\0forged\0"),
    (b"N", b""),
    (b"E", b""),
    (b"K", b""),
    (b"Q", b""),
]
COMMANDS = b"ABCDEHKLMNOQRTU"


def milter():
    for i, (cmd, data) in enumerate(MILTER):
        put("milter_proto", "cmd%02d" % i, cmd + data)
    session = b""
    for cmd, data in MILTER[:3] + MILTER[4:]:
        session += bytes([COMMANDS.index(cmd), len(data)]) + data
    put("milter_session", "session", b"\x02" + session)
    put("milter_session", "session-tempfail", b"\x01" + session)


POLICY = (
    b"request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
    b"client_address=192.0.2.1\nclient_name=client.example.org\nclient_port=40000\n"
    b"server_address=192.0.2.2\nserver_port=25\nhelo_name=client.example.org\n"
    b"sender=a@example.org\nrecipient=b@example.org\ninstance=123.456.7\n\n"
)


def policyd():
    put("policyd_request", "rcpt", b"\x07" + POLICY)
    put("policyd_request", "two", b"\x00" + POLICY + POLICY.replace(b"RCPT", b"DATA"))


def configs():
    put("plugin_config", "plugins",
        b"# qpsmtpd config/plugins\nhosts_allow\nident/p0f /run/p0f.sock\n"
        b"ident/p0f:2 /run/p0f2.sock version 2 local_ip 198.51.100.7 add_headers false\n"
        b"ident/p0f:3 /run/p0f3.sock smite_os windows\n")
    put("plugin_config", "blocked", b"# blocked\nWindows XP\n/^windows/\n  Linux  \n")
    doc = read("docs", "mail-policy.md").decode()
    m = re.search(r"```toml\n(.*?)```", doc, re.S)
    put("toml_config", "documented", m.group(1).encode())
    put("toml_config", "packaged", read("dist", "etc", "p0f-mailpolicy.toml"))
    put("toml_config", "plugins-file", b'qpsmtpd_plugins = "plugins"\nblocked_os_file = "blocked"\n')


if __name__ == "__main__":
    shutil.rmtree(SEEDS, ignore_errors=True)
    captures()
    databases()
    http()
    smtp()
    api()
    milter()
    policyd()
    configs()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(SEEDS) for f in fs)
    print("seeds in %s: %d bytes" % (SEEDS, total))
