#!/usr/bin/env python3
"""Fold an insnprof output (tools/insnprof/insnprof.c) into instructions per function.

  profile.py OUT KERNEL_ELF [--base OUT2] [-n 40] [--user ELF:LOAD_ADDR ...]

Kernel addresses are named from the kernel ELF's symbols (nm -C); user addresses are counted
as `[user]` (and OpenSBI's as `[firmware]`) unless a --user ELF with its load address names them. With --base, a second
profile (say, a boot that runs nothing) is subtracted, so what remains is the workload's."""
import argparse, bisect, collections, subprocess, sys


def load(path):
    per_addr = collections.Counter()
    with open(path) as f:
        for line in f:
            p = line.split()
            c = int(p[0])
            for a in p[1:]:
                per_addr[int(a, 16)] += c
    return per_addr


def symbols(elf, bias=0):
    out = subprocess.run(["nm", "-C", "--defined-only", "-n", elf], capture_output=True, text=True,
                         check=True).stdout
    addrs, names = [], []
    for line in out.splitlines():
        p = line.split(" ", 2)
        if len(p) == 3 and p[1] in "tTwW" and not p[2].startswith((".L", "$")):
            addrs.append(int(p[0], 16) + bias)
            names.append(p[2])
    return addrs, names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("kernel")
    ap.add_argument("--base")
    ap.add_argument("-n", type=int, default=40)
    ap.add_argument("--user", action="append", default=[])
    ap.add_argument("--annotate", help="disassemble the hottest kernel function whose name has this"
                    " text, with each instruction's count")
    a = ap.parse_args()
    prof = load(a.out)
    if a.base:
        prof.subtract(load(a.base))
    kaddrs, knames = symbols(a.kernel)
    kmin = kaddrs[0] if kaddrs else 0
    users = []
    for spec in a.user:
        elf, load_addr = spec.rsplit(":", 1)
        users.append(symbols(elf, int(load_addr, 16)))
    per_fn = collections.Counter()
    total = kernel = 0
    for addr, c in prof.items():
        total += c
        name = None
        if addr >= kmin:
            kernel += c
            i = bisect.bisect_right(kaddrs, addr) - 1
            name = knames[i] if i >= 0 else "?"
        else:
            for ua, un in users:
                i = bisect.bisect_right(ua, addr) - 1
                if i >= 0 and addr - ua[i] < 1 << 20:
                    name = "u:" + un[i]
                    break
            if name is None:
                # (QEMU virt loads OpenSBI at 0x80000000 and the kernel image 2 MiB above it.)
                name = "[firmware]" if 0x8000_0000 <= addr < 0x8020_0000 else "[user]"
        per_fn[name] += c
    print(f"total {total:,} instructions, kernel {kernel:,} ({100 * kernel / max(total, 1):.1f}%)")
    for name, c in per_fn.most_common(a.n):
        print(f"{c:>14,} {100 * c / max(total, 1):5.1f}%  {name[:150]}")
    if a.annotate:
        hits = [n for n, _ in per_fn.most_common() if a.annotate in n and n in knames]
        if not hits:
            return 1
        i = knames.index(hits[0])
        lo, hi = kaddrs[i], kaddrs[i + 1] if i + 1 < len(kaddrs) else kaddrs[i] + 4096
        dis = subprocess.run(["riscv64-linux-gnu-objdump", "-d", "--no-show-raw-insn",
                              f"--start-address={lo:#x}", f"--stop-address={hi:#x}", a.kernel],
                             capture_output=True, text=True).stdout
        print(f"\n{hits[0]}")
        for line in dis.splitlines():
            p = line.split(":", 1)
            try:
                addr = int(p[0].strip(), 16)
            except ValueError:
                continue
            print(f"{prof.get(addr, 0):>10,}  {line.strip()}")


if __name__ == "__main__":
    sys.exit(main())
