#!/usr/bin/env python3
"""Compare vbench results: Linux vs Velox (det mode, 1 ns = 1 guest instruction).

Reads from build/bench-results/ (or --dir DIR):
  linux-det.log          serial log of scripts/bench-linux.sh          (required)
  velox-det.log          Velox serial log, same vbench binary           (optional)
  velox-nofast-det.log   Velox with its syscall fast path disabled      (optional)
  velox-counters.log     lines "fastpct bench=<name> pct=<x>"           (optional)
  floor.log              scripts/bench-floor.sh output                  (optional)
  commands.txt           the commands scripts/bench.sh ran              (optional)

Prints a markdown report: floor (a)/(b), the table bench | Linux | Velox |
Velox/Linux | Velox no-fastpath | fast-path hits %, the figures that are not
ns/op (boot time, pipe MB/s, bytes per blocked thread, most threads...), the
goals of issues 8, 16 and 17 with met / not met and the gap, and the benches Velox cannot
run with the reason. Then one machine-readable line per bench (issue 8's form;
it replaces issue 4's velox_nofast_ns= with nofast_ns=):
  bench=<name> linux_ns=<a> velox_ns=<b> ratio=<b/a> nofast_ns=<c> fast_hits=<pct>
where a missing value is "na" and a failed bench is "err:<reason>", and one
line per goal:
  goal=<id> met=<yes|no|na> velox=<v> linux=<l> target=<t> gap=<g>
  --md FILE     also write the report with the QEMU, Linux and Velox versions
                and the commands into FILE.
  --wall SECS   wall time of the run, written into the report.
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


def git_version():
    """Short commit of the tree the kernels were built from, and whether it had local changes."""
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "kernel", "crates"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
        if not rev:
            return None
        return rev + (" + uncommitted changes in kernel/ or crates/" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def fnum(d, key):
    """float value of key in a bench dict (None if absent, failed or not a number)."""
    if not d or "error" in d or key not in d:
        return None
    try:
        return float(d[key])
    except ValueError:
        return None


def fmt(v, digits=1):
    if v is None:
        return DASH
    return "%.*f" % (digits, v)


# Benches whose file must be $TMPDIR's on tmpfs on both kernels (file= and fs= compared).
FILE_BENCHES = ("open_close", "stat", "read_64m", "ls_1000")

# Why Velox cannot run a bench, by bench name (an error not listed here is shown as it is).
KNOWN_REASONS = {
}


def error_reason(name, err):
    m = re.match(r"child_killed_by_signal_(\d+)_after_(\d+)_threads(_while_joining)?", err)
    if name == "max_threads" and m:
        return ("the child creating threads was killed by signal %s after %s threads%s instead of "
                "pthread_create failing: when memory runs out a user page fault kills the process "
                "(a kernel limitation: no clean ENOMEM/EAGAIN)" % (m.group(1), m.group(2),
                                                                     " (while joining)" if m.group(3) else ""))
    if name in KNOWN_REASONS:
        return KNOWN_REASONS[name]
    return "fails: " + err.replace("_", " ")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=os.path.join(ROOT, "build", "bench-results"),
                    help="results directory (default build/bench-results)")
    ap.add_argument("--md", metavar="FILE", help="write the markdown report to FILE")
    ap.add_argument("--wall", metavar="SECS", type=float, help="wall time of the run (for the report)")
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
    fb_ = floor[0] if floor else {}
    for extra in (velox, nofast):          # benches Linux did not print
        if extra:
            order += [n for n in extra[1] if n not in order]

    md = []
    fa, fbv = num(fb_.get("bm_ecall_min")), num(fb_.get("bm_ecall_fullsave"))
    if floor:
        f0 = lambda v: DASH if v is None else "%.0f" % v
        md.append("Trap floor (bare metal, U->S->U `ecall` round trip incl. 3-instruction loop): "
                  "(a) minimal handler **%s** ns, (b) all 31 GPRs + sepc/sstatus saved **%s** ns"
                  % (f0(fa), f0(fbv)))
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
    ratios = {}
    for n in order:
        l, v, nf = lb.get(n), vb.get(n), nb.get(n)
        ln_, vn = num(l), num(v)
        ratio = "%.2f" % (vn / ln_) if (ln_ and vn is not None and "error" not in (v or {})
                                         and "error" not in (l or {})) else None
        if ratio:
            ratios[n] = vn / ln_
        pct = counters.get(n)
        md.append("| %s | %s | %s | %s | %s | %s |" % (
            n, cell(l), cell(v), ratio or DASH, cell(nf), pct if pct is not None else DASH))
        machine.append("bench=%s linux_ns=%s velox_ns=%s ratio=%s nofast_ns=%s fast_hits=%s" % (
            n, mr(l), mr(v), ratio or "na", mr(nf), pct if pct is not None else "na"))
    # The file benches must measure the same thing on both kernels: a file in $TMPDIR on tmpfs.
    for n in FILE_BENCHES:
        l, v = lb.get(n) or {}, vb.get(n) or {}
        if "error" in l or "error" in v or not l or not v:
            continue
        where = lambda d: "%s%s" % (d.get("file", "$TMPDIR"), " (%s)" % d["fs"] if "fs" in d else "")
        if l.get("file") != v.get("file") or l.get("fs") != v.get("fs") or v.get("fs", "tmpfs") != "tmpfs":
            notes.append("%s does not measure the same thing: Linux %s, Velox %s" % (n, where(l), where(v)))
    if notes:
        md.append("")
        md += ["Note: " + s for s in notes]
    md.append("")
    md.append("ns/op in QEMU det mode: 1 ns = 1 executed guest instruction (see docs/bench-method.md for "
              "what each bench's op is; for the one-shot benches boot_to_main, thread_kmem and "
              "max_threads see the next table). sh_loop's op is one iteration of the shell loop "
              "(fork + exec + wait of the tiny program), read_64m's one whole read of the 64 MiB file, "
              "ls_1000's one `ls -l` of the 1000-file directory.")

    # ---- figures that are not ns/op ----
    def both(name, key):
        return fnum(lb.get(name), key), fnum(vb.get(name), key)

    rows = []
    fw = num(fb_.get("bm_fw_entry"))
    bl, bv = both("boot_to_main", "ns")
    rows.append(("boot_to_main: machine reset to main() of the first user program, ns (= instructions, "
                 "firmware included)", bl, bv, 0))
    if fw is not None:
        rows.append(("  of which firmware (QEMU reset + OpenSBI until the payload's first instruction, "
                     "from the bare-metal floor program)", fw, fw, 0))
        rows.append(("  kernel part: boot_to_main minus firmware, ns",
                     bl - fw if bl is not None else None, bv - fw if bv is not None else None, 0))
    cl, cv = both("boot_to_main", "clock_ns")
    rows.append(("  the kernel's own CLOCK_BOOTTIME at that main(), ns", cl, cv, 0))
    ml, mv = both("pipe_bw", "mb_per_s")
    rows.append(("pipe_bw: MB/s (10^6 bytes/s) through a pipe, 64 KiB writes", ml, mv, 1))
    for c in ("ctx_2", "ctx_8", "ctx_16"):
        xl, xv = both(c, "lmbench_ns")
        rows.append(("%s: ns per switch minus the 1-byte pipe write+read overhead (lmbench lat_ctx's figure)" % c,
                     xl, xv, 1))
    pl, pv = both("mmap_256pages", "ns_per_page")
    rows.append(("mmap_256pages: ns per page (fault + zero + unmap share)", pl, pv, 1))
    sl, sv = both("sh_loop", "ns_per_run")
    rows.append(("sh_loop: ns per whole `sh -c` run of the 1000-iteration loop (start-up included)", sl, sv, 0))
    rl, rv = both("read_64m", "ns_per_mib")
    rows.append(("read_64m: ns per MiB read from tmpfs (64 KiB reads)", rl, rv, 1))
    rl, rv = both("read_64m", "mb_per_s")
    rows.append(("read_64m: MB/s (10^6 bytes/s) read from tmpfs", rl, rv, 1))
    rl, rv = both("read_64m", "write_ms")
    rows.append(("read_64m: ms to write the 64 MiB file once (1 MiB writes, pages allocated)", rl, rv, 1))
    xl, xv = both("ls_1000", "ns_per_entry")
    rows.append(("ls_1000: ns per directory entry of one `ls -l` (exec, getdents, lstat, format)", xl, xv, 1))
    xl, xv = both("ls_1000", "create_ns_per_file")
    rows.append(("ls_1000: ns to create one empty file in tmpfs (open O_CREAT + close, done once)", xl, xv, 0))
    kl, kv = both("thread_kmem", "bytes_per_thread")
    rows.append(("thread_kmem: kernel bytes per blocked thread (Slab + KernelStack + PageTables)", kl, kv, 0))
    fl, fv = both("thread_kmem", "memfree_bytes_per_thread")
    rows.append(("thread_kmem: MemFree drop per blocked thread, bytes (incl. user stack pages)", fl, fv, 0))
    tl, tv = both("max_threads", "count")
    rows.append(("max_threads: blocked threads created before pthread_create failed (or cap)", tl, tv, 0))
    jl, jv = both("max_threads", "join_ns_per_thread")
    rows.append(("max_threads: ns per thread to release and join them all", jl, jv, 0))
    md.append("")
    md.append("### Other figures")
    md.append("")
    md.append("| figure | Linux | Velox | Velox/Linux |")
    md.append("|---|---:|---:|---:|")
    for label, l, v, dg in rows:
        r = "%.2f" % (v / l) if (l and v is not None) else DASH
        md.append("| %s | %s | %s | %s |" % (label, fmt(l, dg), fmt(v, dg), r))
    stops = []
    for who, b in (("Linux", lb), ("Velox", vb)):
        d = b.get("max_threads")
        if d and "error" not in d:
            stops.append("%s stopped at %s threads: %s%s" % (
                who, d.get("count", "?"), d.get("stop", "?"),
                " (the cap, not memory: capped=1)" if d.get("capped") == "1" else ""))
        elif d:
            stops.append("%s: error %s" % (who, d["error"]))
    if stops:
        md.append("")
        md.append("max_threads: " + "; ".join(stops) + ".")

    # ---- goals (issue 8) ----
    goals = []   # (id, text, target text, velox text, met, gap text, v, l, t, gap number)

    def add(gid, text, target, vtxt, met, gap, v=None, l=None, t=None, gn=None):
        goals.append((gid, text, target, vtxt, met, gap, v, l, t, gn))

    def ratio_goal(gid, text, name, target, vval=None, lval=None, unit="ns"):
        v = vval if vval is not None or lval is not None else num(vb.get(name))
        l = lval if vval is not None or lval is not None else num(lb.get(name))
        if vval is None and lval is None and ("error" in (vb.get(name) or {}) or "error" in (lb.get(name) or {})):
            v = l = None
        if v is None or not l:
            why = "Velox: " + vb[name]["error"] if name in vb and "error" in vb[name] else "no number"
            add(gid, text, "<= %.1fx Linux" % target, why, None, DASH, None, l, target)
            return
        r = v / l
        met = r <= target
        gap = DASH if met else "%.2fx; needs %s %s less (-%.0f%%)" % (r, fmt(v - target * l, 1), unit,
                                                                     100 * (1 - target * l / v))
        add(gid, text, "<= %.1fx Linux (%s %s)" % (target, fmt(target * l, 1), unit),
            "%s %s = %.2fx Linux" % (fmt(v, 1), unit, r), met, gap, v, l, target,
            0.0 if met else v - target * l)

    g = num(vb.get("getpid")) if "error" not in (vb.get("getpid") or {}) else None
    if g is not None and fbv is not None:
        met = g < fbv
        add("getpid_below_floor_b", "fast getpid below floor (b)", "< %.0f ns" % fbv, "%s ns" % fmt(g),
            met, DASH if met else "+%s ns (%.2fx floor (b))" % (fmt(g - fbv), g / fbv), g, None, fbv,
            0.0 if met else g - fbv)
    else:
        add("getpid_below_floor_b", "fast getpid below floor (b)", "< floor (b)", "no number", None, DASH)
    ratio_goal("getpid_half_linux", "fast getpid <= 0.5x Linux", "getpid", 0.5)
    gn = num(nb.get("getpid")) if "error" not in (nb.get("getpid") or {}) else None
    if g is not None and gn is not None:
        sp = gn / g
        met = sp >= 2.0
        add("fast_2x_nofast", "fast path >= 2x faster than no-fastpath (getpid)", ">= 2.00x",
            "%.2fx (%s vs %s ns)" % (sp, fmt(gn), fmt(g)), met,
            DASH if met else "needs fast getpid <= %s ns (-%s ns)" % (fmt(gn / 2), fmt(g - gn / 2)), sp, None, 2.0,
            0.0 if met else g - gn / 2)
    else:
        add("fast_2x_nofast", "fast path >= 2x faster than no-fastpath (getpid)", ">= 2.00x", "no number", None, DASH)
    ratio_goal("pipe_half_linux", "pipe round trip (pipe_pingpong) <= 0.5x Linux", "pipe_pingpong", 0.5)
    ratio_goal("futex_half_linux", "futex round trip (futex_pingpong) <= 0.5x Linux", "futex_pingpong", 0.5)
    ratio_goal("yield_half_linux", "yield switch (yield_ctxsw) <= 0.5x Linux", "yield_ctxsw", 0.5)
    ratio_goal("fault_07_linux", "page fault per page (mmap_256pages ns_per_page) <= 0.7x Linux",
               "mmap_256pages", 0.7, vval=pv, lval=pl)
    ratio_goal("fork_07_linux", "fork_exit <= 0.7x Linux", "fork_exit", 0.7)
    ratio_goal("thread_half_linux", "thread_create <= 0.5x Linux", "thread_create", 0.5)
    # Signals, timers and the vDSO (issue 16).
    ratio_goal("signal_half_linux", "signal_deliver <= 0.5x Linux", "signal_deliver", 0.5)
    ratio_goal("sigaction_half_linux", "sigaction <= 0.5x Linux", "sigaction", 0.5)
    ratio_goal("vdso_le_linux", "clock_gettime through the vDSO (clock_vdso) <= Linux", "clock_vdso", 1.0)
    # Files on tmpfs (issue 17); the spawn, shell-loop, read and ls benches are "beside Linux".
    ratio_goal("open_close_half_linux", "open+close on tmpfs (open_close) <= 0.5x Linux", "open_close", 0.5)
    ratio_goal("stat_half_linux", "stat on tmpfs (stat) <= 0.5x Linux", "stat", 0.5)
    if kv is not None:
        met = kv <= 2048
        add("kmem_2k", "kernel memory per blocked thread <= 2 KiB", "<= 2048 bytes",
            "%s bytes (Linux %s)" % (fmt(kv, 0), fmt(kl, 0)), met,
            DASH if met else "+%s bytes (-%.0f%%)" % (fmt(kv - 2048, 0), 100 * (1 - 2048 / kv)), kv, kl, 2048,
            0.0 if met else kv - 2048)
    else:
        add("kmem_2k", "kernel memory per blocked thread <= 2 KiB", "<= 2048 bytes",
            "Velox: " + vb.get("thread_kmem", {}).get("error", "no number"), None, DASH)
    vcount, vnote = tv, ""
    if vcount is None and "error" in (vb.get("max_threads") or {}):
        m = re.search(r"after_(\d+)_threads", vb["max_threads"]["error"])
        if m:
            vcount, vnote = float(m.group(1)), " (at least; then killed, see below)"
    if vcount is not None and tl is not None:
        met = vcount > tl
        add("more_threads", "more threads than Linux (max_threads)", "> %s" % fmt(tl, 0),
            "%s%s%s" % (fmt(vcount, 0), vnote,
                        " (capped)" if (vb.get("max_threads") or {}).get("capped") == "1" else ""),
            met, DASH if met else "-%s threads" % fmt(tl - vcount + 1, 0), vcount, tl, None,
            0.0 if met else tl - vcount + 1)
    else:
        add("more_threads", "more threads than Linux (max_threads)", "> Linux", "no number", None, DASH)

    md.append("")
    md.append("### Goals (issue 8; signals and the vDSO: issue 16; tmpfs: issue 17)")
    md.append("")
    md.append("| goal | target | Velox | met? | gap |")
    md.append("|---|---|---|---|---|")
    glines = []
    g4 = lambda x: "na" if x is None else "%.6g" % x
    for gid, text, target, vtxt, met, gap, v, l, t, gn in goals:
        mt = "**met**" if met else ("not met" if met is not None else "cannot tell")
        md.append("| %s | %s | %s | %s | %s |" % (text, target, vtxt, mt, gap))
        glines.append("goal=%s met=%s velox=%s linux=%s target=%s gap=%s" % (
            gid, {True: "yes", False: "no", None: "na"}[met], g4(v), g4(l), g4(t), g4(gn)))

    # ---- what Velox cannot run ----
    md.append("")
    md.append("### Benches Velox cannot run")
    md.append("")
    failing = [(n, vb[n]["error"]) for n in order if n in vb and "error" in vb[n]]
    missing = [n for n in order if velox and n not in vb]
    if failing or missing:
        md.append("| bench | Velox output | reason |")
        md.append("|---|---|---|")
        for n, e in failing:
            md.append("| %s | error=%s | %s |" % (n, e, error_reason(n, e)))
        for n in missing:
            md.append("| %s | (nothing) | the Velox run ended before it |" % n)
    elif velox:
        md.append("None: every bench prints a number on Velox.")
    else:
        md.append("(no Velox run)")
    md.append("")
    nofail = [(n, nb[n]["error"]) for n in order if n in nb and "error" in nb[n]
              and not (n in vb and "error" in vb[n])]
    if nofail:
        md.append("")
        md.append("Failing only on the no-fastpath kernel: " +
                  ", ".join("%s (error=%s)" % (n, e) for n, e in nofail) + ".")
    if nofast and "max_threads" not in nb:
        md.append("")
        md.append("The no-fastpath run skips max_threads (memory, not trap cost; the longest bench).")

    print("\n".join(md))
    print()
    print("\n".join(machine))
    print("\n".join(glines))

    if a.md:
        kver = (linux[2] or {}).get("release", "unknown")
        head = ["# vbench: Velox vs Linux (det mode)", "",
                "Written by `make bench` (`scripts/bench.sh`); method and caveats in "
                "`docs/bench-method.md`. The storage lines (ext4 on virtio-blk) are in "
                "`docs/benchmarks-storage.md` (`scripts/bench-storage.sh`).", "",
                "- QEMU: %s" % qemu_version(),
                "- Linux kernel: %s (Debian)" % kver]
        if velox and velox[2]:
            gv = git_version()
            head.append("- Velox: %s%s" % (velox[2].get("release", "unknown"),
                                           ", commit %s" % gv if gv else ""))
        head.append("- scale: %s" % ((linux[2] or {}).get("scale", "?")))
        head.append("- results: %s" % (os.path.relpath(a.dir, ROOT)
                                       if os.path.abspath(a.dir).startswith(ROOT + os.sep) else a.dir))
        if a.wall is not None:
            head.append("- wall time of this `make bench`: %.0f s (%d:%02d) on %d host CPUs" % (
                a.wall, int(a.wall) // 60, int(a.wall) % 60, os.cpu_count() or 0))
        head.append("")
        cmds = read_lines(p("commands.txt"))
        if cmds:
            head += ["Commands run (`scripts/run.sh -d` is det mode; see scripts/bench.sh):", "", "```"]
            head += [c for c in cmds if c.strip()]
            head += ["```", ""]
        tailmd = ["", "### Machine-readable lines", "", "```"] + machine + glines + ["```"]
        with open(a.md, "w") as f:
            f.write("\n".join(head + md + tailmd) + "\n")
        print("bench-report: wrote %s" % a.md, file=sys.stderr)


if __name__ == "__main__":
    main()
