#!/usr/bin/env python3
"""Score p0f-rs's SYN verdicts against a labels file.

    tools/sigscore.py [--p0f target/release/p0f] [-f DB] [--bug-compat]
                      [CAPTURE LABELS ...] [--set SETFILE [--base DIR]]
                      [--floor FAMILY=PCT ...] [--min-precision PCT]
                      [--precision CLAIM=PCT ...] [--min-macro PCT] [--verbose]
                      [--named-by FP]

LABELS has one line per labelled client (lines starting with `#` are
comments):

    CLIENT FAMILY SOURCE...

CLIENT is `addr/port` (one connection) or `addr` (every SYN from the host);
FAMILY is one of Windows, Linux, ChromeOS, Android, macOS, iOS, FreeBSD,
scanner (NMap, masscan, ZMap, Scapy verdicts) or other; SOURCE says where the label comes from. Only SYNs (the
client side) are scored; SYNs of unlabelled clients are ignored.

A verdict is read by family from its label text: "Android", "Windows",
"Linux" or "ChromeOS", "FreeBSD"; "macOS or iOS" is the generic Apple
verdict; "macOS" (or p0f 3.09b's "Mac OS X") and "iOS" alone are the
specific Apple claims. "???"
is no verdict. ChromeOS is counted with Linux, and macOS with iOS as
Apple; the macro accuracy is the mean over Windows, Linux, Android and
Apple. A claim's precision is the share of verdicts of that kind whose
client really is of that family.

A SETFILE names the capture on each line instead, for labelled SYNs
spread over many captures (CAPTURE relative to --base):

    CAPTURE CLIENT FAMILY SOURCE...

--named-by FP scores only the SYNs that the database FP (run with -f)
already names in their family, an Android SYN counting when FP calls it
Linux. With p0f 3.09b's stock file this keeps the SYNs whose stack is
plainly their User-Agent's (no proxy, VPN exit or rewritten options): a
subset like issue 8's web-visitor set, on which stock names Windows, Linux
and Apple about 96% of the time and every Android SYN "Linux".

Exit status 1 when a --floor or --min-precision is not met.
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

FOUR = ["Windows", "Linux", "Android", "Apple"]


def verdict_family(label):
    """Family a printed verdict claims: (family, is_specific_apple)."""
    if label == "???":
        return "none"
    if any(t in label for t in ("NMap", "masscan", "ZMap", "Scapy")):
        return "scanner"
    if "Android" in label:
        return "Android"
    if "Windows" in label:
        return "Windows"
    if "macOS or iOS" in label:
        return "Apple"
    if "iOS" in label:
        return "iOS"
    if "macOS" in label or "Mac OS" in label:
        return "macOS"
    if "ChromeOS" in label or "Linux" in label:
        return "Linux"
    if "FreeBSD" in label:
        return "FreeBSD"
    return "other"


def true_group(family):
    return {"ChromeOS": "Linux", "macOS": "Apple", "iOS": "Apple"}.get(family, family)


def claim_right(claim, family):
    if claim == "Apple":
        return family in ("macOS", "iOS")
    if claim == "Linux":
        return family in ("Linux", "ChromeOS")
    return claim == family


def right(claim, family):
    g = true_group(family)
    if g == "Apple":
        return claim in ("Apple", "macOS", "iOS")
    return claim == g


def named_rightly(claim, family):
    """A reference verdict that names the family (Linux for Android)."""
    return right(claim, family) or (family == "Android" and claim == "Linux")


def label_lines(path, fields):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) < len(fields) + 1:
                sys.exit("%s:%d: expected '%s SOURCE'" % (path, n, " ".join(fields)))
            yield parts


def read_labels(path):
    return {p[0]: p[1] for p in label_lines(path, ["CLIENT", "FAMILY"])}


def read_set(path, base):
    """{capture path: {client: family}} from a SETFILE."""
    sets = collections.defaultdict(dict)
    for p in label_lines(path, ["CAPTURE", "CLIENT", "FAMILY"]):
        sets[os.path.join(base, p[0])][p[1]] = p[2]
    return sets


LINE = re.compile(r"\bmod=syn\|cli=([^|]+)\|srv=[^|]+\|subj=cli\|(?:os|app)=([^|]*)\|")


def run(p0f, extra, capture):
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "p0f.log")
        res = subprocess.run(
            [p0f, *extra, "-r", capture, "-o", log],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if res.returncode != 0:
            sys.exit("p0f failed on %s: %s" % (capture, res.stderr.strip()))
        with open(log) as f:
            for line in f:
                m = LINE.search(line)
                if m:
                    yield m.group(1), m.group(2)


def main():
    ap = argparse.ArgumentParser(
        description="Score p0f-rs SYN verdicts on labelled captures.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    ap.add_argument("--p0f", default="target/release/p0f")
    ap.add_argument("-f", dest="db", help="signature database (default: built in)")
    ap.add_argument("--bug-compat", action="store_true")
    ap.add_argument("--floor", action="append", default=[], metavar="FAMILY=PCT")
    ap.add_argument("--min-precision", type=float, metavar="PCT", help="for every claim")
    ap.add_argument("--precision", action="append", default=[], metavar="CLAIM=PCT")
    ap.add_argument("--min-macro", type=float, metavar="PCT")
    ap.add_argument("--verbose", action="store_true", help="list every wrong verdict")
    ap.add_argument("--set", dest="setfile", help="labels that name their captures")
    ap.add_argument("--base", default="../shared/corpus/dev", help="captures of --set")
    ap.add_argument("--named-by", metavar="FP", help="keep SYNs this database names rightly")
    ap.add_argument("pairs", nargs="*", metavar="CAPTURE LABELS")
    a = ap.parse_args()
    if len(a.pairs) % 2:
        ap.error("captures and labels files come in pairs")
    if not a.pairs and not a.setfile:
        ap.error("nothing to score: give CAPTURE LABELS pairs or --set")
    extra = (["-f", a.db] if a.db else []) + (["--bug-compat"] if a.bug_compat else [])

    jobs = [(cap, read_labels(lab)) for cap, lab in zip(a.pairs[::2], a.pairs[1::2])]
    if a.setfile:
        jobs += sorted(read_set(a.setfile, a.base).items())
    obs = []  # (true family, claim, verdict text, client)
    for cap, labels in jobs:
        verdicts = list(run(a.p0f, extra, cap))
        if a.named_by:
            # Both runs see the same SYNs in the same order.
            ref = list(run(a.p0f, ["-f", a.named_by], cap))
            if [c for c, _ in ref] != [c for c, _ in verdicts]:
                sys.exit("--named-by: the two runs saw different SYNs in %s" % cap)
        for i, (client, verdict) in enumerate(verdicts):
            fam = labels.get(client) or labels.get(client.split("/")[0])
            if not fam:
                continue
            if a.named_by and not named_rightly(verdict_family(ref[i][1]), fam):
                continue
            obs.append((fam, verdict_family(verdict), verdict, client))
    if not obs:
        sys.exit("no labelled SYN found")

    by_group = collections.defaultdict(list)
    for fam, claim, _, _ in obs:
        by_group[true_group(fam)].append(right(claim, fam))
    print("SYNs scored: %d" % len(obs))
    print("\nper-family accuracy (a verdict naming the family; Apple = macOS or iOS):")
    acc = {}
    for g in sorted(by_group):
        v = by_group[g]
        acc[g] = 100.0 * sum(v) / len(v)
        print("  %-9s %6.1f%%  (%d/%d)" % (g, acc[g], sum(v), len(v)))
    for fam in ("macOS", "iOS"):
        v = [c for f, c, _, _ in obs if f == fam]
        if v:
            alone = sum(c == fam for c in v)
            apple = sum(right(c, fam) for c in v)
            print("  %-9s named alone %d/%d, within Apple %d/%d" % (fam, alone, len(v), apple, len(v)))
    v = [c for f, c, _, _ in obs if f == "ChromeOS"]
    if v:
        print("  %-9s called Linux %d/%d (counted in Linux)" % ("ChromeOS", sum(c == "Linux" for c in v), len(v)))
    present = [g for g in FOUR if g in acc]
    macro = sum(acc[g] for g in present) / len(present) if present else 0.0
    print("  macro over %s: %.1f%%" % ("/".join(present), macro))

    claims = sorted({c for _, c, _, _ in obs})
    fams = sorted({f for f, _, _, _ in obs})
    print("\nconfusion (rows: labelled family, columns: verdict family):")
    print("  %-9s" % "" + "".join("%9s" % c for c in claims))
    for f in fams:
        row = collections.Counter(c for ff, c, _, _ in obs if ff == f)
        print("  %-9s" % f + "".join("%9d" % row[c] for c in claims))

    print("\nprecision of each claim (verdicts of that kind that are right):")
    precision = {}
    for c in claims:
        if c == "none":
            continue
        v = [claim_right(c, f) for f, cc, _, _ in obs if cc == c]
        precision[c] = 100.0 * sum(v) / len(v)
        specific = " (specific)" if c in ("Android", "iOS", "macOS") else ""
        print("  %-9s %6.1f%%  (%d/%d)%s" % (c, precision[c], sum(v), len(v), specific))

    if a.verbose:
        print("\nwrong verdicts:")
        for f, c, v, cl in obs:
            if not right(c, f):
                print("  %s %s -> %s" % (cl, f, v))

    failed = []
    for fl in a.floor:
        g, _, pct = fl.partition("=")
        if acc.get(g, 0.0) < float(pct):
            failed.append("%s accuracy %.1f%% < %s%%" % (g, acc.get(g, 0.0), pct))
    if a.min_macro is not None and macro < a.min_macro:
        failed.append("macro %.1f%% < %s%%" % (macro, a.min_macro))
    if a.min_precision is not None:
        for c, p in precision.items():
            if c != "other" and p < a.min_precision:
                failed.append("claim %s precision %.1f%% < %s%%" % (c, p, a.min_precision))
    for fl in a.precision:
        c, _, pct = fl.partition("=")
        if c in precision and precision[c] < float(pct):
            failed.append("claim %s precision %.1f%% < %s%%" % (c, precision[c], pct))
    for msg in failed:
        print("FLOOR NOT MET: " + msg)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
