#!/usr/bin/env python3
"""List every verdict that differs between two signature databases.

    tools/verdict-changes.py [--p0f target/release/p0f] [--old FP] [--new FP]
                             CORPUS_DIR > report.md

Runs p0f-rs on every capture under CORPUS_DIR once with --old (default:
../shared/reference/p0f.fp, p0f 3.09b's stock file) and once with --new
(default: the built-in database), pairs the observations of both runs in
order, and prints a Markdown report: for each kind of observation (syn,
syn+ack, mtu, http request, http response), every (old verdict, old params)
-> new verdict with its count, plus observations that only one run made
(host change and ip sharing depend on the signatures too). Params tell an
exact match ("none") from a generic or fuzzy one.
"""
import argparse
import collections
import glob
import os
import re
import subprocess
import tempfile

KEY = {"syn": "os", "syn+ack": "os", "mtu": "link", "http request": "app", "http response": "app"}
LINE = re.compile(r"mod=([^|]+)\|cli=([^|]+)\|srv=([^|]+)\|subj=(\w+)\|(.*)$")


def field(text, name):
    m = re.search(r"(?:^|\|)" + re.escape(name) + r"=([^|]*)", text)
    return m.group(1) if m else None


def observations(p0f, db, capture):
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "log")
        args = [p0f] + (["-f", db] if db else []) + ["-r", capture, "-o", log]
        subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not os.path.exists(log):
            return []
        return [m.groups() for m in map(LINE.search, open(log)) if m]


def verdict(obs):
    kind, rest = obs[0], obs[4]
    key = KEY.get(kind)
    if key is None:
        return None
    return field(rest, key) or field(rest, "os") or field(rest, "app")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--p0f", default="target/release/p0f")
    ap.add_argument("--old", default="../shared/reference/p0f.fp")
    ap.add_argument("--new", default=None, help="default: the built-in database")
    ap.add_argument("corpus")
    a = ap.parse_args()
    caps = sorted(
        f
        for f in glob.glob(os.path.join(a.corpus, "**", "*"), recursive=True)
        if re.search(r"\.(pcap|pcapng|cap)$", f)
    )
    changed = collections.defaultdict(collections.Counter)
    where = collections.defaultdict(set)
    only = collections.Counter()
    for cap in caps:
        old = observations(a.p0f, a.old, cap)
        new = observations(a.p0f, a.new, cap)
        # Observations are paired in order; host change and ip sharing may
        # appear in one run only, so they are compared as counts per kind.
        core = lambda obs: [o for o in obs if o[0] in KEY]
        for o, n in zip(core(old), core(new)):
            vo, vn = verdict(o), verdict(n)
            if vo != vn:
                changed[o[0]][(vo, field(o[4], "params") or "", vn)] += 1
                where[(o[0], vo, vn)].add(os.path.relpath(cap, a.corpus))
        for kind in ("host change", "ip sharing"):
            d = sum(x[0] == kind for x in new) - sum(x[0] == kind for x in old)
            if d:
                only[(kind, os.path.relpath(cap, a.corpus))] += d
    print("| kind | stock verdict | stock params | new verdict | count |")
    print("|---|---|---|---|---|")
    for kind in KEY:
        for (vo, po, vn), n in sorted(changed[kind].items(), key=lambda kv: (-kv[1], kv[0])):
            print("| %s | %s | %s | %s | %d |" % (kind, vo, po, vn, n))
    if only:
        print("\n| kind | capture | new minus stock |")
        print("|---|---|---|")
        for (kind, cap), d in sorted(only.items()):
            print("| %s | %s | %+d |" % (kind, cap, d))


if __name__ == "__main__":
    main()
