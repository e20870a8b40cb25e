#!/usr/bin/env python3
"""A scripted client with the habits postscreen and the SMTP-dialect papers
describe for spam engines: it may talk before the greeting (pregreet), end
its lines with a bare LF, and hang up without QUIT.  It is a test double
for those behaviours, not a capture of any real bot.

    botlike.py HOST FROM TO [--pregreet] [--lf] [--no-quit] [--helo NAME]
"""
import argparse
import socket
import time

ap = argparse.ArgumentParser()
ap.add_argument("host")
ap.add_argument("sender")
ap.add_argument("rcpt")
ap.add_argument("--port", type=int, default=25)
ap.add_argument("--pregreet", action="store_true")
ap.add_argument("--lf", action="store_true")
ap.add_argument("--no-quit", action="store_true")
ap.add_argument("--helo", default="pc1")
a = ap.parse_args()
eol = b"\n" if a.lf else b"\r\n"
s = socket.create_connection((a.host, a.port), timeout=10)
pending = b""


def reply(wait=10.0, optional=False):
    """Reads one (possibly multi-line) reply and returns its code. When
    nothing arrives within `wait` seconds: None if `optional`, else exit."""
    global pending
    s.settimeout(wait)
    while True:
        nl = pending.find(b"\n")
        if nl >= 0:
            line, pending = pending[: nl + 1], pending[nl + 1:]
            if line[3:4] != b"-":
                return int(line[:3])
            continue
        try:
            data = s.recv(4096)
        except socket.timeout:
            if optional:
                return None
            raise SystemExit("no reply")
        if not data:
            raise SystemExit("server closed")
        pending += data


def last_reply():
    """Reads every reply that arrives until a second passes without one;
    returns the last code (a server may or may not have kept a command
    sent too early)."""
    code = reply()
    while (more := reply(1.0, optional=True)) is not None:
        code = more
    return code


def cmd(text):
    s.sendall(text.encode() + eol)


helo = "HELO " + a.helo
if a.pregreet:
    cmd(helo)  # before the 220 greeting
    time.sleep(0.2)
if reply() != 220:  # the greeting, or the rejection of a pregreet
    raise SystemExit("no greeting")
# Once greeted, HELO (again: postscreen, for one, drops what came early).
cmd(helo)
code = last_reply() if a.pregreet else reply()
if code == 250:
    cmd(f"MAIL FROM: <{a.sender}>")
    reply()
    cmd(f"RCPT TO: <{a.rcpt}>")
    if reply() < 300:
        cmd("DATA")
        if reply() == 354:
            s.sendall(b"Subject: hi" + eol + eol + b"hello" + eol + b"." + eol)
            reply()
if not a.no_quit:
    cmd("QUIT")
    reply()
s.close()
