#!/usr/bin/env bash
# `make bench`: vbench on Linux, on Velox and on Velox built with no-fastpath, all in QEMU's
# deterministic mode (1 ns = 1 guest instruction), plus the bare-metal trap floor; prints the
# table and writes it to docs/benchmarks.md.   BENCH_SCALE (default 1) scales iterations.
# The no-fastpath run skips max_threads (a memory measurement that does not depend on the trap
# path, and the longest bench on Velox); the fast-path-share boots skip boot_to_main and
# max_threads. Every command run is recorded in build/bench-results/commands.txt. Then the SMP
# benchmarks (scripts/bench-smp.sh: wall-clock scaling on 1 and 2 harts, docs/benchmarks-smp.md)
# and the storage benchmarks (scripts/bench-storage.sh: vbench's storage group on the same ext4
# image on a virtio disk, both kernels, det mode; docs/benchmarks-storage.md).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
S=${BENCH_SCALE:-1}
RES=$BUILD/bench-results; mkdir -p "$RES"
start=$(date +%s)
CMDS=$RES/commands.txt
: > "$CMDS"
rec() { echo "$*" >> "$CMDS"; }
rec "scripts/bench-build.sh"; scripts/bench-build.sh
rec "scripts/build-user.sh"; scripts/build-user.sh
rec "scripts/build-kernel.sh default"; scripts/build-kernel.sh default
rec "scripts/build-kernel.sh nofast"; scripts/build-kernel.sh nofast
rec "scripts/bench-floor.sh"; scripts/bench-floor.sh
scripts/bench-linux.sh "$S"
rec "scripts/bench-linux.sh $S   # runs: $(cat "$RES/linux-det.log.cmd")"
# Velox's root image (scripts/mkroot.sh) holds Debian's busybox with its applet links, as the
# Linux initramfs does: sh_true, sh_loop and ls_1000 exec /bin/sh and /bin/ls on both kernels.
# (With VELOX_BUSYBOX=0 they would fail; the ~1.6 MB it adds to the RAM disk moves only
# boot_to_main: +1.5 M ns to put it and its ~280 links into the tmpfs root; the other
# benches stay within 1.5 %, measured on one kernel with VELOX_BUSYBOX=0 and =1.)
export VELOX_BUSYBOX=1
broot=$BUILD/bench-root; rm -rf "$broot"; mkdir -p "$broot/bench"
cp build/bench/vbench build/bench/vtrue "$broot/bench/"
vb="/bench/vbench -s $S -t /bench/vtrue -d /tmp"
echo "bench: Velox (det)" >&2
c=(scripts/run.sh -k default -e "$broot" -c "$vb all" -d -t 900 -l "$RES/velox-det.log")
rec "${c[*]}"; "${c[@]}" > /dev/null || true
echo "bench: Velox no-fastpath (det)" >&2
c=(scripts/run.sh -k nofast -e "$broot" -c "$vb -x max_threads all" -d -t 900 -l "$RES/velox-nofast-det.log")
rec "${c[*]}"; "${c[@]}" > /dev/null || true
# Fast-path share per bench: one short boot per bench Velox runs, counting all traps of that boot.
echo "bench: fast-path share, one boot per bench" >&2
rec "for each bench B: scripts/run.sh -k default -e $broot -c \"/bench/vbench -s 0.2 -t /bench/vtrue -d /tmp B\" -a velox.counters -d -t 300"
: > "$RES/velox-counters.log"
for b in $(tr -d '\r' < "$RES/velox-det.log" | sed -n 's/^bench=\([a-z_0-9]*\) ns_per_op=.*/\1/p'); do
    case $b in boot_to_main|max_threads) continue ;; esac
    scripts/run.sh -k default -e "$broot" -c "/bench/vbench -s 0.2 -t /bench/vtrue -d /tmp $b" -a velox.counters -d -t 300 \
        -l "$RES/counters-$b.log" > /dev/null || true
    tr -d '\r' < "$RES/counters-$b.log" | awk -v b="$b" '
        /^\[velox\]   / { n = split($0, w, " "); if (w[n-1] == "/") { f += w[n-2]; s += w[n] } }
        END { if (f + s > 0) printf "fastpct bench=%s pct=%.1f\n", b, 100 * f / (f + s) }' >> "$RES/velox-counters.log"
done
wall=$(( $(date +%s) - start ))
echo "bench: total wall ${wall} s" >&2
python3 scripts/bench-report.py --md docs/benchmarks.md --wall "$wall"
# SMP: Velox and Linux on 1 and 2 harts, wall clock (docs/benchmarks-smp.md).
rec "scripts/bench-smp.sh 3"; scripts/bench-smp.sh 3 > /dev/null
# Storage: Velox and Linux on the same ext4 image (docs/benchmarks-storage.md, with its commands).
rec "scripts/bench-storage.sh $S"; scripts/bench-storage.sh "$S" > /dev/null
# Debian root: Debian's programs (hello static/dynamic, python3, bash, git, sqlite3) on both kernels
# (docs/benchmarks-debian.md, with its commands).
rec "scripts/bench-debian.sh"; scripts/bench-debian.sh > /dev/null
