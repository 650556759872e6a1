#!/usr/bin/env bash
# Per-function instruction counts of one vsmp workload's window (docs/smp.md, "Fork's
# instructions on 4 harts"): the smpcount plugin with one named range per kernel function.
#   tools/smpcount/fnprof.sh VARIANT HARTS "WORKLOAD ARG" OUT
# boots build/velox-VARIANT.elf on HARTS harts running `/bench/vsmp WORKLOAD ARG` (make bench
# builds build/bench-smp-root) and writes OUT (the plugin's counters; the window is mark=2
# minus mark=1) and OUT.names (range name -> demangled function). Compare two runs with
#   tools/smpcount/fndiff.py OUT_A OUT_B [ROWS]
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
[ $# -eq 4 ] || { sed -n 2,8p "$0" >&2; exit 2; }
variant=$1; harts=$2; work=$3; out=$4
elf=$BUILD/velox-$variant.elf
vsmp=$BUILD/bench-smp-root/bench/vsmp
[ -f "$elf" ] || { echo "fnprof: $elf not built" >&2; exit 2; }
[ -f "$vsmp" ] || { echo "fnprof: $vsmp not built (make bench, or scripts/bench-smp.sh)" >&2; exit 2; }
so=$BUILD/smpcount.so
[ "$so" -nt "$ROOT/tools/smpcount/smpcount.c" ] || gcc -shared -fPIC -O2 -Wall -o "$so" "$ROOT/tools/smpcount/smpcount.c"
# One range per function symbol with a size, named f0, f1, ... (the plugin reads names of up
# to 127 characters; Rust's are longer), and the demangled names beside.
riscv64-linux-gnu-nm -S "$elf" | python3 -c '
import subprocess, sys
out, names = sys.argv[1], sys.argv[2]
rows = []
for line in sys.stdin:
    p = line.split()
    if len(p) == 4 and p[2] in "tT" and int(p[1], 16):
        a = int(p[0], 16)
        rows.append((a, a + int(p[1], 16), p[3]))
rows.sort()
dem = subprocess.run(["riscv64-linux-gnu-c++filt", "-s", "rust"], input="\n".join(r[2] for r in rows),
                     capture_output=True, text=True, check=True).stdout.split("\n")
with open(out, "w") as f, open(names, "w") as g:
    for i, (a, b, _) in enumerate(rows):
        f.write("f%d %x %x\n" % (i, a, b))
        g.write("f%d %s\n" % (i, dem[i]))
' "$out.ranges" "$out.names"
mark=$(riscv64-linux-gnu-nm "$vsmp" | awk '$3 == "__clock_gettime" { print $1 }')
rm -f "$out"
SMP=$harts QEMU_EXTRA="-plugin $so,out=$out,ranges=$out.ranges,mark=$mark" \
    "$ROOT/scripts/run.sh" -k "$variant" -e "$BUILD/bench-smp-root" -c "/bench/vsmp $work" -t 300 > "$out.log" 2>&1 || true
rm -f "$out.ranges"
python3 - "$out" <<'PY'
import sys
d = {}
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) > 3 and p[2] == "vcpu=all":
        d[p[1]] = dict(kv.split("=", 1) for kv in p[3:])
if "mark=1" not in d or "mark=2" not in d:
    sys.exit("fnprof: no window (the workload did not run to its end: see %s.log)" % sys.argv[1])
print("fnprof: %s: %.3f M instructions in the window" % (sys.argv[1], (int(d["mark=2"]["insns"]) - int(d["mark=1"]["insns"])) / 1e6))
PY
