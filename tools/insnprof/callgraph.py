#!/usr/bin/env python3
"""Fold a callprof output (tools/insnprof/callprof.c) into inclusive instructions per function.

  callgraph.py OUT KERNEL_ELF [-n 40] [--focus SUBSTRING ...]

Without --focus: the functions with the most inclusive instructions (callee and all it calls;
a recursive function counts its nested calls again). With --focus: for each function whose
name contains SUBSTRING, its callers and its callees, each with calls and inclusive counts."""
import argparse, bisect, collections, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from profile import symbols  # noqa: E402


def short(name):
    """`name` with generic argument lists (a `<` right after an identifier) shown as `<..>`."""
    out, i = [], 0
    while i < len(name):
        c = name[i]
        if c == "<" and i > 0 and (name[i - 1].isalnum() or name[i - 1] in "_:"):
            depth = 0
            while i < len(name):
                depth += {"<": 1, ">": -1}.get(name[i], 0)
                i += 1
                if depth == 0:
                    break
            out.append("<..>")
            continue
        out.append(c)
        i += 1
    return "".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("kernel")
    ap.add_argument("-n", type=int, default=40)
    ap.add_argument("--focus", action="append", default=[])
    ap.add_argument("--full", action="store_true", help="names with their generic arguments")
    args = ap.parse_args()
    addrs, names = symbols(args.kernel)

    def name(a):
        i = bisect.bisect_right(addrs, a) - 1
        n = names[i] if i >= 0 else "?"
        return n if args.full else short(n)

    edges = []
    total = 0
    with open(args.out) as f:
        for line in f:
            p = line.split()
            if p[0] == "total":
                total = int(p[1])
                continue
            callee, ret, calls, incl = int(p[0], 16), int(p[1], 16), int(p[2]), int(p[3])
            edges.append((name(callee), name(ret - 1), calls, incl))
    print(f"total {total:,} instructions")
    per = collections.Counter()
    calls = collections.Counter()
    for callee, _caller, c, incl in edges:
        per[callee] += incl
        calls[callee] += c
    if not args.focus:
        for fn, incl in per.most_common(args.n):
            print(f"{incl:>14,} {incl / max(total, 1) * 100:5.1f}% {calls[fn]:>9,}  {fn[:150]}")
        return
    for sub in args.focus:
        for fn in sorted({e[0] for e in edges} | {e[1] for e in edges}):
            if sub not in fn:
                continue
            print(f"\n== {fn[:160]}: {per[fn]:,} inclusive in {calls[fn]:,} calls")
            callers = collections.Counter()
            ccalls = collections.Counter()
            callees = collections.Counter()
            ecalls = collections.Counter()
            for callee, caller, c, incl in edges:
                if callee == fn:
                    callers[caller] += incl
                    ccalls[caller] += c
                if caller == fn:
                    callees[callee] += incl
                    ecalls[callee] += c
            print("  callers:")
            for k, v in callers.most_common(args.n):
                print(f"    {v:>14,} {ccalls[k]:>9,}  {k[:150]}")
            print("  callees:")
            for k, v in callees.most_common(args.n):
                print(f"    {v:>14,} {ecalls[k]:>9,}  {k[:150]}")


if __name__ == "__main__":
    main()
