#!/usr/bin/env python3
"""Prints the SMTP dialogues of a capture, one connection after another.

    samples/smtp/dialogue.py FILE.pcap [--port 25] [--raw]

Reads classic pcap (Ethernet or Linux cooked), follows each TCP connection
to the port in sequence order, and prints what each side sent, line by line,
with its timing relative to the connection's SYN: `C` lines from the client,
`S` lines from the server. Bare LF line ends are shown as `<LF>`, and a
message body (after DATA's 354) is summarised. Lines after STARTTLS's 220
are not readable and are counted. For reading captures, not for the engine.
"""
import argparse
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        head = f.read(24)
        magic = struct.unpack("<I", head[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            e = "<"
        else:
            e = ">"
        nano = magic == 0xA1B23C4D or struct.unpack(">I", head[:4])[0] == 0xA1B23C4D
        link = struct.unpack(e + "I", head[20:24])[0]
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            sec, frac, incl, _ = struct.unpack(e + "IIII", h)
            data = f.read(incl)
            t = sec + frac / (1e9 if nano else 1e6)
            if link == 1:
                if len(data) < 14 or data[12:14] != b"\x08\x00":
                    continue
                ip = data[14:]
            elif link == 113:
                if len(data) < 16 or data[14:16] != b"\x08\x00":
                    continue
                ip = data[16:]
            elif link == 101:
                ip = data
            else:
                continue
            yield t, ip


def tcp_segments(path):
    for t, ip in packets(path):
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        tcp = ip[ihl:total]
        if len(tcp) < 20:
            continue
        sport, dport, seq, ack = struct.unpack(">HHII", tcp[:12])
        off = (tcp[12] >> 4) * 4
        flags = tcp[13]
        src = ".".join(str(b) for b in ip[12:16])
        dst = ".".join(str(b) for b in ip[16:20])
        yield t, (src, sport), (dst, dport), seq, flags, tcp[off:]


class Conn:
    def __init__(self, t, client, server):
        self.t0 = t
        self.client = client
        self.server = server
        self.next = {}  # side -> next expected seq
        self.events = []  # (t, side, bytes)
        self.closed_by = None

    def add(self, t, side, seq, flags, payload):
        if flags & 2:  # SYN
            self.next[side] = (seq + 1) & 0xFFFFFFFF
            return
        if side not in self.next:
            return
        if payload and seq == self.next[side]:
            self.events.append((t, side, payload))
            self.next[side] = (seq + len(payload)) & 0xFFFFFFFF
        if flags & 1 and self.closed_by is None:
            self.closed_by = (t, side)
        if flags & 4 and self.closed_by is None:
            self.closed_by = (t, side + " RST")


def lines_of(buf):
    out, start = [], 0
    while True:
        i = buf.find(b"\n", start)
        if i < 0:
            return out, buf[start:]
        line = buf[start:i + 1]
        out.append(line)
        start = i + 1


def show(c, raw):
    print(f"=== {c.client[0]}:{c.client[1]} -> {c.server[0]}:{c.server[1]}")
    pending = {"C": b"", "S": b""}
    in_body = False
    body = 0
    tls = False
    enc = {"C": 0, "S": 0}
    chunk = 0  # BDAT bytes still to skip
    for t, side, data in c.events:
        if tls:
            enc[side] += len(data)
            continue
        if side == "C" and chunk:
            take = min(chunk, len(data))
            chunk -= take
            data = data[take:]
            if not chunk:
                print(f"{t - c.t0:8.3f} C   [BDAT chunk ends]")
        pending[side] += data
        lines, pending[side] = lines_of(pending[side])
        for n, line in enumerate(lines):
            if chunk:
                break
            text = line.rstrip(b"\r\n").decode("latin-1")
            end = "" if line.endswith(b"\r\n") else " <LF>"
            if side == "C" and in_body:
                body += 1
                if line in (b".\r\n", b".\n"):
                    print(f"{t - c.t0:8.3f} C   [body: {body - 1} lines]")
                    print(f"{t - c.t0:8.3f} C {text}{end}")
                    in_body = False
                elif raw:
                    print(f"{t - c.t0:8.3f} C | {text}{end}")
                continue
            print(f"{t - c.t0:8.3f} {side} {text}{end}")
            if side == "S" and text.startswith("354"):
                in_body, body = True, 0
            if side == "S" and text.startswith("220 ") and c.sent_starttls:
                tls = True
            if side == "C" and text.upper().startswith("STARTTLS"):
                c.sent_starttls = True
            words = text.split()
            if side == "C" and len(words) > 1 and words[0].upper() == "BDAT" and words[1].isdigit():
                # The chunk follows the command line; what is left of this
                # segment after the line belongs to it.
                rest = b"".join(lines[n + 1:]) + pending[side]
                pending[side] = b""
                chunk = int(words[1])
                take = min(chunk, len(rest))
                chunk -= take
                pending[side] = rest[take:]
                if not chunk:
                    print(f"{t - c.t0:8.3f} C   [BDAT chunk of {words[1]} bytes]")
                    more, pending[side] = lines_of(pending[side])
                    for m in more:
                        mt = m.rstrip(b"\r\n").decode("latin-1")
                        print(f"{t - c.t0:8.3f} C {mt}")
                break
    for side in "CS":
        if pending[side]:
            print(f"         {side} (unterminated) {pending[side][:80]!r}")
    if tls:
        print(f"         [TLS: client {enc['C']} bytes, server {enc['S']} bytes]")
    if c.closed_by:
        print(f"{c.closed_by[0] - c.t0:8.3f} {c.closed_by[1]} closes")


VERBS = ["EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "VRFY",
         "EXPN", "HELP", "STARTTLS", "AUTH", "BDAT", "ETRN"]
EXTRA = ["RSET", "NOOP", "VRFY", "EXPN", "HELP"]


def helo_shape(arg):
    if not arg:
        return "none"
    if arg.startswith("[") and arg.endswith("]"):
        inner = arg[1:-1]
        if inner[:5].lower() == "ipv6:" and len(inner) > 5:
            return "lit6"
        parts = inner.split(".")
        ok = len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)
        return "lit4" if ok else "bad"
    chars = all(c.isalnum() and c.isascii() or c in "-_." for c in arg)
    if chars and "." in arg and not arg.startswith("."):
        return "fqdn"
    if chars and "." not in arg:
        return "word"
    return "bad"


def path_shape(rest, key):
    r = rest.lstrip(" ")
    if r[: len(key) + 1].upper() != key + ":":
        return "odd"
    r = r[len(key) + 1:]
    if r.startswith("<"):
        return "nosp"
    if r.startswith(" <"):
        return "sp"
    if r and r[0] not in " <":
        return "bare"
    return "odd"


def raw_sigs(c):
    """The client and server raw signatures of docs/smtp.md, computed from
    the capture independently of the engine (for cross-checking)."""
    greeted = False
    pre = False
    verbs, cases, eols = [], set(), set()
    helo = mail = rcpt = "-"
    params = "-"
    pipe_adv = pipe_unadv = False
    pending = 0
    order, extra = [], set()
    end = "close" if c.closed_by else "?"
    mode = "cmd"
    chunk = 0
    buf = {"C": b"", "S": b""}
    srv_lines, greet_lines, banner, kw, in_ehlo = 0, 0, "", None, False
    ehlo_sent = False
    advertised = False
    first = "-"
    rcpt_seen = False
    done = False
    srv_done = False
    cur_reply = []
    for t, side, data in c.events:
        if side == "S" and not srv_done:
            buf["S"] += data
            lines, buf["S"] = lines_of(buf["S"])
            for line in lines:
                text = line.rstrip(b"\r\n").decode("latin-1")
                cur_reply.append(text)
                if text[3:4] == "-":
                    continue
                reply, cur_reply = cur_reply, []
                if not greeted:
                    greeted = True
                    greet_lines = len(reply)
                    words = reply[0][4:].split(" ", 1)
                    banner = words[1][:80] if len(words) > 1 else ""
                    continue
                if pending > 0:
                    pending -= 1
                if in_ehlo and kw is None:
                    kw = [l[4:].split(" ")[0].upper() for l in reply[1:]]
                    advertised = "PIPELINING" in kw
                    in_ehlo = False
                if reply[0].startswith("220") and done and end == "tls":
                    srv_done = True
        elif side == "C" and not done:
            if not greeted:
                pre = True
            while data and not done:
                if mode == "body":
                    buf["C"] += data
                    data = b""
                    lines, buf["C"] = lines_of(buf["C"])
                    for i, line in enumerate(lines):
                        if line in (b".\r\n", b".\n"):
                            mode = "cmd"
                            pending += 1
                            rest = b"".join(lines[i + 1:]) + buf["C"]
                            buf["C"] = b""
                            data = rest
                            break
                    continue
                if mode == "chunk":
                    take = min(chunk, len(data))
                    chunk -= take
                    data = data[take:]
                    if chunk == 0:
                        mode = "cmd"
                    continue
                buf["C"] += data
                data = b""
                lines, buf["C"] = lines_of(buf["C"])
                for i, line in enumerate(lines):
                    eols.add("crlf" if line.endswith(b"\r\n") else "lf")
                    text = line.rstrip(b"\r\n").decode("latin-1")
                    if not text:
                        continue
                    if greeted and pending > 0:
                        if advertised:
                            pipe_adv = True
                        else:
                            pipe_unadv = True
                    word, _, rest = text.partition(" ")
                    if word.isalpha() and len(word) <= 16:
                        v = word.upper() if word.upper() in VERBS else "?"
                        cases.add("upper" if word.isupper() else "lower" if word.islower() else "mixed")
                    else:
                        v = "?"
                    if first == "-":
                        first = v
                    if not rcpt_seen:
                        order.append(v)
                    if v in EXTRA:
                        extra.add(v)
                    pending += 1
                    if v in ("EHLO", "HELO") and helo == "-":
                        helo = helo_shape(rest.strip(" "))
                        if v == "EHLO":
                            in_ehlo = True
                    elif v == "MAIL" and mail == "-":
                        mail = path_shape(rest, "FROM")
                        r = rest
                        gt = r.find(">")
                        tail = r[gt + 1:] if gt >= 0 else r.split(":", 1)[-1].strip().partition(" ")[2]
                        ps = []
                        for p in tail.split():
                            k, eq, val = p.partition("=")
                            k = k.upper()
                            ps.append(f"{k}={val.upper()}" if k in ("BODY", "RET") and eq else k)
                        params = ",".join(ps) if ps else "-"
                    elif v == "RCPT" and not rcpt_seen:
                        rcpt = path_shape(rest, "TO")
                        rcpt_seen = True
                    elif v == "DATA":
                        mode = "body"
                    elif v == "BDAT":
                        n = rest.split()
                        chunk = int(n[0]) if n and n[0].isdigit() else 0
                        if chunk:
                            mode = "chunk"
                    elif v == "QUIT":
                        end, done = "quit", True
                    elif v == "STARTTLS":
                        end, done = "tls", True
                    if done or mode != "cmd":
                        data = b"".join(lines[i + 1:]) + buf["C"]
                        buf["C"] = b""
                        break
    case = "-" if not cases else cases.pop() if len(cases) == 1 else "mixed"
    eol = "crlf" if eols == {"crlf"} else "lf" if eols == {"lf"} else "mixed"
    pipe = "unadv" if pipe_unadv else "adv" if pipe_adv else "no"
    if len(order) > 12:
        order = order[:12] + ["+"]
    ex = ",".join(e for e in EXTRA if e in extra) or "-"
    cli = ":".join(["pre" if pre else "wait", first, helo, case, mail, rcpt, params, eol,
                    pipe, ",".join(order), ex, end])
    keywords = ",".join(kw) if kw else "-"
    srv = f"{greet_lines}:{keywords}:{banner}"
    return cli, srv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pcap")
    ap.add_argument("--port", type=int, action="append")
    ap.add_argument("--raw", action="store_true", help="print message bodies too")
    ap.add_argument("--sig", action="store_true",
                    help="print each connection's client and server raw signatures instead")
    a = ap.parse_args()
    ports = set(a.port or [25, 587])
    conns, order = {}, []
    for t, src, dst, seq, flags, payload in tcp_segments(a.pcap):
        if dst[1] in ports:
            key, side = (src, dst), "C"
        elif src[1] in ports:
            key, side = (dst, src), "S"
        else:
            continue
        if key not in conns:
            if side != "C" or not flags & 2 or flags & 16:
                continue
            conns[key] = Conn(t, *key)
            conns[key].sent_starttls = False
            order.append(key)
        conns[key].add(t, side, seq, flags, payload)
    for k in order:
        if a.sig:
            cli, srv = raw_sigs(conns[k])
            print(f"{k[0][0]}:{k[0][1]} -> {k[1][0]}:{k[1][1]}\n  client {cli}\n  server {srv}")
        else:
            show(conns[k], a.raw)


if __name__ == "__main__":
    sys.exit(main())
