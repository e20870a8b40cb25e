#!/usr/bin/env python3
"""Rebuild IPv4 SYNs from a list of observed header records, for scoring.

Public TCP/IP fingerprint collections (for example the JSON sample sets of
NikolaiT/zardaxt, gathered from web visitors and labelled by User-Agent)
publish the header fields of real SYNs rather than captures. This script
turns such records back into packets so that `tools/sigscore.py` can run
p0f-rs on them like on any capture. Nothing is invented: every field p0f
looks at (TTL, IP ID, TOS, window, option kinds and order, MSS, window
scale, timestamps) comes from the record. The records do not say whether
DF was set; it is set, as every stack in these sets does on a SYN (stated
here so that it is not mistaken for an observation).

Input: a JSON array of objects with the keys tcp_options ("M1460,N,W8,..."),
ip_ttl, ip_id, ip_tos, tcp_window_size, tcp_off, tcp_timestamp,
tcp_timestamp_echo_reply and os. Output: an Ethernet pcap and a labels file
for sigscore.py. `--part build|held-out|all` keeps every other record
(even / odd positions), the split used to write and then test signatures.
"""
import argparse
import json
import struct

FAMILIES = {
    "Android": "Android",
    "Windows": "Windows",
    "Linux": "Linux",
    "Chromium OS": "ChromeOS",
    "Mac OS": "macOS",
    "iOS": "iOS",
}


def options(rec):
    out = b""
    for tok in rec["tcp_options"].strip(",").split(","):
        kind, val = tok[:1], tok[1:]
        if kind == "M":
            out += struct.pack("!BBH", 2, 4, int(val))
        elif kind == "W":
            out += struct.pack("!BBB", 3, 3, int(val))
        elif kind == "S":
            out += b"\x04\x02"
        elif kind == "T":
            out += struct.pack(
                "!BBII",
                8,
                10,
                rec["tcp_timestamp"] & 0xFFFFFFFF,
                rec["tcp_timestamp_echo_reply"] & 0xFFFFFFFF,
            )
        elif kind == "N":
            out += b"\x01"
        elif kind == "E":
            out += b"\x00"
        else:
            return None
    want = (rec.get("tcp_off", 5) - 5) * 4
    if len(out) > want or want > 40:
        return None
    return out + b"\x00" * (want - len(out))


def checksum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(rec, n):
    opts = options(rec)
    if opts is None:
        return None, None
    src = bytes([10, (n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF])
    dst = bytes([192, 0, 2, 1])
    sport = 40000 + n % 20000
    tcp = struct.pack(
        "!HHIIBBHHH",
        sport,
        443,
        0x1000 + n,
        0,
        ((20 + len(opts)) // 4) << 4,
        0x02,
        rec["tcp_window_size"],
        0,
        0,
    ) + opts
    total = 20 + len(tcp)
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        rec.get("ip_tos", 0) & 0xFF,
        total,
        rec.get("ip_id", 0) & 0xFFFF,
        0x4000,
        rec["ip_ttl"],
        6,
        0,
        src,
        dst,
    )
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    eth = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00"
    return eth + ip + tcp, "%d.%d.%d.%d/%d" % (*src, sport)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("records")
    ap.add_argument("pcap")
    ap.add_argument("labels")
    ap.add_argument("--part", choices=["build", "held-out", "all"], default="all")
    ap.add_argument("--source", default="public records")
    ap.add_argument("--exclude", help="skip records also present in this JSON file")
    a = ap.parse_args()
    recs = json.load(open(a.records))
    skip = set()
    if a.exclude:
        skip = {json.dumps(r, sort_keys=True) for r in json.load(open(a.exclude))}
    with open(a.pcap, "wb") as pc, open(a.labels, "w") as lab:
        pc.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        lab.write("# client  family  source (from %s, part %s)\n" % (a.records, a.part))
        kept = 0
        for i, rec in enumerate(recs):
            if a.part == "build" and i % 2:
                continue
            if a.part == "held-out" and not i % 2:
                continue
            if json.dumps(rec, sort_keys=True) in skip:
                continue
            fam = FAMILIES.get(rec.get("os"))
            if fam is None:
                continue
            pkt, client = syn(rec, i + 1)
            if pkt is None:
                continue
            kept += 1
            pc.write(struct.pack("<IIII", 1_600_000_000 + i, 0, len(pkt), len(pkt)) + pkt)
            lab.write("%s %s %s#%d\n" % (client, fam, a.source, i))
    print("wrote %d SYNs" % kept)


if __name__ == "__main__":
    main()
