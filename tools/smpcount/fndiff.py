#!/usr/bin/env python3
"""Per-function differences between two tools/smpcount/fnprof.sh runs (instructions in each
run's window, summed over the vCPUs; functions merged by demangled name without the hash).
Usage: fndiff.py OUT_A OUT_B [ROWS]  (prints the ROWS largest increases, then the decreases)."""
import re
import sys


def window(path):
    marks = {}
    for line in open(path):
        p = line.split()
        if len(p) > 3 and p[2] == "vcpu=all":
            marks[p[1]] = {k: int(v) for k, v in (kv.split("=", 1) for kv in p[3:])}
    a, b = marks["mark=1"], marks["mark=2"]
    names = dict(line.rstrip("\n").split(" ", 1) for line in open(path + ".names"))
    out = {}
    for k, v in b.items():
        n = re.sub(r"::h[0-9a-f]{16}$", "", names.get(k, k))
        out[n] = out.get(n, 0) + v - a.get(k, 0)
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    a, b = window(sys.argv[1]), window(sys.argv[2])
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    diff = sorted(((b.get(k, 0) - a.get(k, 0), a.get(k, 0), b.get(k, 0), k) for k in set(a) | set(b)), reverse=True)
    print("%10s %12s %12s  %s" % ("B - A", "A", "B", "function (or total)"))
    for d, x, y, k in diff[:rows]:
        print("%10d %12d %12d  %s" % (d, x, y, k[:150]))
    print("...")
    for d, x, y, k in diff[-rows // 3:]:
        print("%10d %12d %12d  %s" % (d, x, y, k[:150]))


main()
