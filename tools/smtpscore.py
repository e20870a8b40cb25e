#!/usr/bin/env python3
"""Scores p0f-rs's SMTP dialect verdicts on labelled captures.

    tools/smtpscore.py [--p0f BIN] [-f p0f.fp] LABELS PCAP... [--floor LABEL=PCT]...
                       [--min-precision PCT] [--min-unknown PCT]

LABELS has one line per speaker, `ADDR ROLE LABEL [SOURCE...]` (ADDR may be
`FILE:ADDR`, FILE a capture's base name, where captures reuse addresses): ROLE is
`client` (the address's `smtp client` observations) or `server` (its
`smtp server` observations); LABEL is the software's name as a verdict
must spell it, or `unknown` for a speaker no signature may claim (a
verdict then counts as wrong). Lines starting with `#` are comments.

p0f-rs reads each capture (`-r PCAP -o LOG`); every `smtp client` /
`smtp server` line of the log whose subject address is labelled is scored.
A verdict is right when its application name contains LABEL (so
"Postfix or Exim" is right for both, as "macOS or iOS" is in
tools/sigscore.py), or, for `unknown`, when it is `???`. Prints per-label
accuracy, each verdict's precision (share of its observations whose label
it names) and the unknown raw signatures; exits 1 when a floor is missed.
"""
import argparse
import collections
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_labels(path):
    labels = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) < 3 or parts[1] not in ("client", "server"):
                sys.exit(f"{path}:{n}: expected 'ADDR client|server LABEL [SOURCE...]'")
            labels[(parts[0], parts[1])] = parts[2].replace("_", " ")
    return labels


def log_lines(p0f, db, pcap):
    with tempfile.TemporaryDirectory(prefix="smtpscore") as d:
        log = os.path.join(d, "log")
        cmd = [p0f, "-r", pcap, "-o", log]
        if db:
            cmd += ["-f", db]
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed: {r.stderr}")
        with open(log, errors="replace") as f:
            return f.read().splitlines()


def parse(line):
    """The fields of one `mod=smtp ...` log line, or None."""
    at = line.find("mod=smtp ")
    if at < 0:
        return None
    body = line[at:]
    raw = None
    if "|raw_sig=" in body:
        body, raw = body.split("|raw_sig=", 1)
    fields = dict(kv.split("=", 1) for kv in body.split("|") if "=" in kv)
    fields["raw_sig"] = raw or ""
    return fields


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--p0f", default=os.path.join(REPO, "target/release/p0f"))
    ap.add_argument("-f", dest="db", help="signature database (default: built in)")
    ap.add_argument("labels")
    ap.add_argument("pcaps", nargs="+")
    ap.add_argument("--floor", action="append", default=[], metavar="LABEL=PCT")
    ap.add_argument("--min-precision", type=float)
    a = ap.parse_args()
    labels = read_labels(a.labels)
    seen = collections.Counter()
    right = collections.Counter()
    claims = collections.defaultdict(collections.Counter)
    unknown = collections.Counter()
    for pcap in a.pcaps:
        for line in log_lines(a.p0f, a.db, pcap):
            f = parse(line)
            if not f:
                continue
            role = "client" if f["mod"] == "smtp client" else "server"
            addr = f.get("cli" if role == "client" else "srv", "").rsplit("/", 1)[0]
            label = labels.get((f"{os.path.basename(pcap)}:{addr}", role), labels.get((addr, role)))
            if label is None:
                continue
            app = f.get("app", "???")
            key = f"{role}:{label}"
            seen[key] += 1
            ok = app == "???" if label == "unknown" else label.lower() in app.lower()
            right[key] += ok
            claims[f"{role}:{app}"][label] += 1
            if app == "???":
                unknown[f"{role} {f['raw_sig']}"] += 1
    print(f"SMTP observations scored: {sum(seen.values())}")
    print("\nAccuracy per label (verdict names the label):")
    for key in sorted(seen):
        print(f"  {key:28} {100 * right[key] / seen[key]:5.1f}% ({right[key]}/{seen[key]})")
    print("\nPrecision per verdict (observations whose label it names):")
    worst = 100.0
    for claim in sorted(claims):
        role, app = claim.split(":", 1)
        if app == "???":
            continue
        total = sum(claims[claim].values())
        good = sum(n for lab, n in claims[claim].items() if lab != "unknown" and lab.lower() in app.lower())
        pct = 100 * good / total
        worst = min(worst, pct)
        detail = ", ".join(f"{lab} {n}" for lab, n in claims[claim].most_common())
        print(f"  {claim:48} {pct:5.1f}% ({detail})")
    if unknown:
        print("\nUnknown dialects (raw signatures):")
        for sig, n in unknown.most_common():
            print(f"  {n:3} {sig}")
    failed = False
    for fl in a.floor:
        key, pct = fl.rsplit("=", 1)
        got = 100 * right[key] / seen[key] if seen[key] else 0.0
        if got < float(pct):
            print(f"FLOOR MISSED: {key} {got:.1f}% < {pct}%")
            failed = True
    if a.min_precision is not None and worst < a.min_precision:
        print(f"PRECISION MISSED: {worst:.1f}% < {a.min_precision}%")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
