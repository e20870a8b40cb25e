#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""bench/soak_verdict.py SAMPLES.tsv: whether the soak's RSS and descriptor
counts stayed flat after the warm-up (RSS within 10% of its first value,
descriptors within 2), with CPU and packet rates. Written by bench/soak.sh;
can be rerun on an old samples file."""
import os
import sys
lines = open(sys.argv[1]).read().split("\n")
header = lines[0].split("\t")
rows = [[float(x) for x in l.split("\t")] for l in lines[1:] if l]
if len(rows) < 10:
    sys.exit("too few samples for a verdict")
hz = 100.0
# Warm-up: bounded tables fill first (the policy service's shared state
# holds up to 10,000 entries, which takes ~15 minutes at the soak's request
# rate); judge what follows. WARMUP=0.2 judges more of the run.
warm = rows[int(len(rows) * float(os.environ.get("WARMUP", "0.5"))):]
def flat(name, col, slack, allowance=None):
    vals = [r[col] for r in warm]
    first, last, peak = vals[0], vals[-1], max(vals)
    if allowance is None:
        allowance = 0 if slack else 2
    ok = peak <= first * (1 + slack) + allowance
    print("%-16s after warm-up: first %d, last %d, max %d -> %s" % (name, first, last, peak, "FLAT" if ok else "GROWING"))
    return ok
checks = [flat("p0f RSS kB", 1, 0.10), flat("p0f fds", 2, 0), flat("policy RSS kB", 4, 0.10), flat("policy fds", 5, 0)]
# Metrics (newer samples files): the tables' gauges stay within their
# bounds' slack, nothing is dropped, counters keep moving.
col = {name: i for i, name in enumerate(header)}
def metric(name):
    i = col.get(name)
    return None if i is None else [r[i] for r in warm]
# Table sizes move with the traffic: a few tens of entries either way
# (flows open at the moment of a sample) are not growth.
for name in ("p0f_flows_tracked", "p0f_hosts_tracked"):
    vals = metric(name)
    if vals is not None:
        checks.append(flat(name, col[name], 0.10, 50))
vals = metric("p0f_packets_dropped_total")
if vals is not None:
    ok_drop = vals[-1] == vals[0]
    print("%-16s after warm-up: %d -> %d -> %s" % ("p0f drops", vals[0], vals[-1], "none" if ok_drop else "DROPPING"))
    checks.append(ok_drop)
for name in ("p0f_mailpolicy_p0f_queries_total", "p0f_mailpolicy_decisions_total"):
    vals = metric(name)
    if vals is not None:
        moving = vals[-1] > vals[0]
        print("%-16s after warm-up: %d -> %d -> %s" % (name, vals[0], vals[-1], "moving" if moving else "STUCK"))
        checks.append(moving)
ok = all(checks)
span = rows[-1][0] - rows[0][0]
for name, col in (("p0f", 3), ("policy", 6)):
    print("%-16s CPU %.1f%% of one core" % (name, 100 * (rows[-1][col] - rows[0][col]) / hz / span))
print("packets %d (%.0f/s), matched %d, API queries %d, cache %d" % (
    rows[-1][7], (rows[-1][7] - rows[0][7]) / span, rows[-1][8], rows[-1][9], rows[-1][10]))
print("verdict:", "flat" if ok else "NOT flat")
