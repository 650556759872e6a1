#!/usr/bin/env python3
"""Compare vbench results: Linux vs Velox (det mode, 1 ns = 1 guest instruction).

Reads from build/bench-results/ (or --dir DIR):
  linux-det.log          serial log of scripts/bench-linux.sh          (required)
  velox-det.log          Velox serial log, same vbench binary           (optional)
  velox-nofast-det.log   Velox with its syscall fast path disabled      (optional)
  velox-counters.log     lines "fastpct bench=<name> pct=<x>"           (optional)
  floor.log              scripts/bench-floor.sh output                  (optional)

Prints a markdown table (floor (a)/(b) on top), then one machine-readable line
per bench:
  bench=<name> linux_ns=<a> velox_ns=<b> ratio=<b/a> nofast_ns=<c> fast_hits=<pct>
where a missing value is "na" and a failed bench is "err:<reason>".
  --md FILE   also write the table, the QEMU version and the Linux kernel
              version (vbench_begin release=) into FILE.
Standard library only.
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DASH = "\u2014"  # em dash for missing values
KV = re.compile(r"(\S+?)=(\S*)")


def kvs(text):
    return dict(KV.findall(text))


def read_lines(path):
    if not path or not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        data = f.read().decode("utf-8", "replace")
    return [ln.replace("\r", "") for ln in data.split("\n")]


def parse_vbench(path):
    """-> (benches: {name: dict}, order: [name], begin: dict or None, ended: bool) or None."""
    lines = read_lines(path)
    if lines is None:
        return None
    benches, order, begin, ended = {}, [], None, False
    for ln in lines:
        m = re.search(r"(?:^|\s)(vbench_begin\s.*|vbench_end\b.*|bench=\S+.*)$", ln)
        if not m:
            continue
        s = m.group(1)
        if s.startswith("vbench_begin"):
            begin = begin or kvs(s)
        elif s.startswith("vbench_end"):
            ended = True
        else:
            d = kvs(s)
            name = d.get("bench")
            if name and name not in benches:
                benches[name] = d
                order.append(name)
    return benches, order, begin, ended


def parse_counters(path):
    lines = read_lines(path)
    if lines is None:
        return None
    out = {}
    for ln in lines:
        m = re.search(r"(?:^|\s)fastpct\s+(.*)$", ln)
        if m:
            d = kvs(m.group(1))
            if "bench" in d and "pct" in d:
                out[d["bench"]] = d["pct"]
    return out


def num(d):
    """float ns_per_op, or None; d may be None."""
    if not d or "ns_per_op" not in d:
        return None
    try:
        return float(d["ns_per_op"])
    except ValueError:
        return None


def cell(d):
    if d is None:
        return DASH
    if "error" in d:
        return "error: " + d["error"].replace("_", " ")
    v = num(d)
    return DASH if v is None else "%.1f" % v


def mr(d):
    if d is None:
        return "na"
    if "error" in d:
        return "err:" + d["error"]
    v = num(d)
    return "na" if v is None else "%.1f" % v


def qemu_version():
    try:
        out = subprocess.run(["qemu-system-riscv64", "--version"], capture_output=True,
                             text=True, timeout=30).stdout
        return out.splitlines()[0].strip() if out else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown (qemu-system-riscv64 not found)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=os.path.join(ROOT, "build", "bench-results"),
                    help="results directory (default build/bench-results)")
    ap.add_argument("--md", metavar="FILE", help="write the markdown report to FILE")
    a = ap.parse_args()
    p = lambda n: os.path.join(a.dir, n)

    linux = parse_vbench(p("linux-det.log"))
    if linux is None:
        sys.exit("bench-report: %s missing (run scripts/bench-linux.sh)" % p("linux-det.log"))
    velox = parse_vbench(p("velox-det.log"))
    nofast = parse_vbench(p("velox-nofast-det.log"))
    counters = parse_counters(p("velox-counters.log")) or {}
    floor = parse_vbench(p("floor.log"))

    lb, order = linux[0], list(linux[1])
    vb = velox[0] if velox else {}
    nb = nofast[0] if nofast else {}
    for extra in (velox, nofast):          # benches Linux did not print
        if extra:
            order += [n for n in extra[1] if n not in order]

    md = []
    if floor:
        fa, fb = num(floor[0].get("bm_ecall_min")), num(floor[0].get("bm_ecall_fullsave"))
        fmt = lambda v: DASH if v is None else "%.0f" % v
        md.append("Trap floor (bare metal, U->S->U `ecall` round trip incl. 3-instruction loop): "
                  "(a) minimal handler **%s** ns, (b) all 31 GPRs + sepc/sstatus saved **%s** ns"
                  % (fmt(fa), fmt(fb)))
    else:
        md.append("Trap floor: %s (no floor.log; run scripts/bench-floor.sh)" % DASH)
    md.append("")
    notes = []
    for name, r in (("linux-det.log", linux), ("velox-det.log", velox),
                    ("velox-nofast-det.log", nofast)):
        if r is not None and not r[3]:
            notes.append("%s has no vbench_end line (suite cut short)" % name)
    md.append("| bench | Linux | Velox | Velox/Linux | Velox no-fastpath | fast-path hits % |")
    md.append("|---|---:|---:|---:|---:|---:|")
    machine = []
    for n in order:
        l, v, nf = lb.get(n), vb.get(n), nb.get(n)
        ln_, vn = num(l), num(v)
        ratio = "%.2f" % (vn / ln_) if (ln_ and vn is not None and "error" not in (v or {})
                                         and "error" not in (l or {})) else None
        pct = counters.get(n)
        md.append("| %s | %s | %s | %s | %s | %s |" % (
            n, cell(l), cell(v), ratio or DASH, cell(nf), pct if pct is not None else DASH))
        machine.append("bench=%s linux_ns=%s velox_ns=%s ratio=%s nofast_ns=%s fast_hits=%s" % (
            n, mr(l), mr(v), ratio or "na", mr(nf), pct if pct is not None else "na"))
    if notes:
        md.append("")
        md += ["Note: " + s for s in notes]
    md.append("")
    md.append("ns/op in QEMU det mode: 1 ns = 1 executed guest instruction.")

    print("\n".join(md))
    print()
    print("\n".join(machine))

    if a.md:
        kver = (linux[2] or {}).get("release", "unknown")
        head = ["# vbench: Velox vs Linux (det mode)", "",
                "- QEMU: %s" % qemu_version(),
                "- Linux kernel: %s" % kver,
                "- results: %s" % (os.path.relpath(a.dir, ROOT)
                                   if os.path.abspath(a.dir).startswith(ROOT + os.sep) else a.dir),
                ""]
        if velox and velox[2]:
            head.insert(-2, "- Velox: %s" % velox[2].get("release", "unknown"))
        with open(a.md, "w") as f:
            f.write("\n".join(head + md) + "\n")
        print("bench-report: wrote %s" % a.md, file=sys.stderr)


if __name__ == "__main__":
    main()
