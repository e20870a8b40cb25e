#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""bench/soak_verdict.py SAMPLES.tsv: whether the soak's RSS and descriptor
counts stayed flat after the warm-up (RSS within 10% of its first value,
descriptors within 2), with CPU and packet rates. Written by bench/soak.sh;
can be rerun on an old samples file."""
import os
import sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n")[1:] if l]
rows = [[float(x) for x in r] for r in rows]
if len(rows) < 10:
    sys.exit("too few samples for a verdict")
hz = 100.0
# Warm-up: bounded tables fill first (the policy service's shared state
# holds up to 10,000 entries, which takes ~15 minutes at the soak's request
# rate); judge what follows. WARMUP=0.2 judges more of the run.
warm = rows[int(len(rows) * float(os.environ.get("WARMUP", "0.5"))):]
def flat(name, col, slack):
    vals = [r[col] for r in warm]
    first, last, peak = vals[0], vals[-1], max(vals)
    ok = peak <= first * (1 + slack) + (0 if slack else 2)
    print("%-16s after warm-up: first %d, last %d, max %d -> %s" % (name, first, last, peak, "FLAT" if ok else "GROWING"))
    return ok
ok = all([flat("p0f RSS kB", 1, 0.10), flat("p0f fds", 2, 0), flat("policy RSS kB", 4, 0.10), flat("policy fds", 5, 0)])
span = rows[-1][0] - rows[0][0]
for name, col in (("p0f", 3), ("policy", 6)):
    print("%-16s CPU %.1f%% of one core" % (name, 100 * (rows[-1][col] - rows[0][col]) / hz / span))
print("packets %d (%.0f/s), matched %d, API queries %d, cache %d" % (
    rows[-1][7], (rows[-1][7] - rows[0][7]) / span, rows[-1][8], rows[-1][9], rows[-1][10]))
print("verdict:", "flat" if ok else "NOT flat")
