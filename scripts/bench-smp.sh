#!/usr/bin/env bash
# SMP benchmarks (part of `make bench`; alone: scripts/bench-smp.sh [count] [RUNS]), Velox beside Linux:
# wall-clock scaling without icount (multi-threaded TCG; the host has 2 cores, so 1 vs 2
# harts): `vsmp mixed 4`, `vsmp cpu 2`, `vsmp fork 2`, `vsmp hackbench 2`, RUNS boots each
# (default 3), median. Scaling = time on 1 hart / time on 2 harts.
# SMP overhead in instructions (issue 15), Velox beside Linux: the same four workloads on 1, 2
# and 4 harts, the instructions every hart retires while the workload runs, counted per vCPU by
# a TCG plugin (tools/smpcount) without icount, RUNS boots each on Velox and RUNS_LINUX (default
# RUNS) on Linux, median; overhead = instructions on N harts / on 1 hart - 1. With `count` only
# this part runs, and only its section of docs/benchmarks-smp.md is replaced.
# SMP_KERNEL=VARIANT runs build/velox-VARIANT.elf (default: default).
# (No icount run: QEMU's icount mode runs the harts round-robin on one host thread, switching
# every 100 ms of virtual time, so any cross-hart wait stalls for a whole slice; see
# docs/benchmarks-smp.md.)
# Writes build/bench-results/smp-*.log, smp-count-*.out, smp-count.tsv, smp-count-linux.tsv and
# docs/benchmarks-smp.md.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
ONLY_COUNT=0; if [ "${1:-}" = count ]; then ONLY_COUNT=1; shift; fi
RUNS=${1:-3}
RUNS_LINUX=${RUNS_LINUX:-$RUNS}
KVAR=${SMP_KERNEL:-default}
RES=$BUILD/bench-results; mkdir -p "$RES"
LNX=$BUILD/bench-linux
start=$(date +%s)
"${CROSS_CC:-riscv64-linux-gnu-gcc}" -static -O2 -Wall -Werror -o build/bench/vsmp user/bench/vsmp.c
[ -f "build/velox-$KVAR.elf" ] || scripts/build-kernel.sh "$KVAR"

# Velox root: /bench/vsmp.
vroot=$BUILD/bench-smp-root; rm -rf "$vroot"; mkdir -p "$vroot/bench"; cp build/bench/vsmp "$vroot/bench/"

median() { sort -n | awk '{a[NR]=$1} END { if (NR == 0) print ""; else if (NR % 2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2) }'; }

[ -f "$LNX/Image" ] && [ -d "$LNX/rootfs" ] || scripts/bench-build.sh
# Linux initramfs (both parts): the vbench rootfs with vsmp and an init that runs "vsmp $vsmp"
# (the kernel passes the unknown word vsmp=... to init's environment; ':' stands for a space).
lroot=$BUILD/bench-smp-linux; rm -rf "$lroot"; cp -a "$LNX/rootfs" "$lroot"; cp build/bench/vsmp "$lroot/bench/"
cat > "$lroot/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t tmpfs tmpfs /tmp
/bin/busybox --install -s /bin
export PATH=/bin
# Settle as the vbench init does: until nothing else is runnable for 10 polls (max 30 s).
polls=0; quiet=0
while [ $polls -lt 300 ] && [ $quiet -lt 10 ]; do
    running=9
    while read k v rest; do [ "$k" = procs_running ] && running=$v; done < /proc/stat
    if [ "$running" -le 1 ]; then quiet=$((quiet + 1)); else quiet=0; fi
    polls=$((polls + 1)); sleep 0.1
done
for w in $(echo "$vsmp" | tr , ' '); do /bench/vsmp $(echo "$w" | tr : ' '); done
echo "vsmp_end"
poweroff -f
EOF
chmod +x "$lroot/init"
(cd "$lroot" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --reproducible 2>/dev/null | gzip -n -9) > "$BUILD/bench-smp-linux.cpio.gz"

det=(-icount shift=0,align=off,sleep=off -rtc base=2024-01-01T00:00:00,clock=vm -seed 1)
linux() { # $1 harts, $2 vsmp words, $3 log, rest: extra qemu args
    local n=$1 w=$2 log=$3; shift 3
    timeout 600 qemu-system-riscv64 -machine "$MACHINE" -nographic -bios default -m 512M -smp "$n" -no-reboot "$@" \
        -kernel "$LNX/Image" -initrd "$BUILD/bench-smp-linux.cpio.gz" \
        -append "console=ttyS0 quiet cryptomgr.notests nokaslr norandmaps randomize_kstack_offset=off vsmp=$w" \
        < /dev/null > "$log" 2>&1 || true
}

# ---- SMP overhead in instructions retired by all harts (no icount) ----
# Each boot runs one workload under the smpcount plugin (per-vCPU counters, no shared counter).
# The plugin snapshots all harts' counters each time a hart executes vsmp's __clock_gettime
# (called exactly twice by the workload's process: just before and just after the workload);
# the workload's figure is the second snapshot minus the first, so boot and power-off (whose
# spinning varies by tens of millions of instructions between boots) are not counted. A
# trivial command (`vsmp none 0`: one clock read, then "unknown workload") measures what
# whole boots cost, to show that spread. Kernel functions counted apart (nm on the ELF):
# the executor loop (velox::exec::run: pop, steal, idle entry and wfi, inlined), spin-lock
# waits (lock_contended), smp::service (answering TLB-flush/barrier requests, also inside
# every spin-wait), smp::flush_tlb_mm (shootdowns, with their wait for acknowledgements),
# exec::schedule_smp (wake-up placement and IPIs), trap::kernel_interrupt (interrupts taken
# while idle). Firmware = OpenSBI (M mode, 0x80000000..0x80200000): SBI calls (IPIs, timer).
# Linux (the initramfs above) is counted the same way, with the same mark and no named ranges.

# count_line W N RUN OUT: one line of the TSV for one boot: workload, harts, run, then key=value:
# the window between the marks (workloads), or the whole boot (none). A boot without exactly two
# marks (timeout, crash, or another program running the mark address) gives "missing=1".
count_line() {
    [ -f "$4" ] || { printf '%s\t%s\t%s\tmissing=1\n' "$1" "$2" "$3"; return; }
    awk -v w="$1" -v n="$2" -v r="$3" '
        { if ($2 ~ /^mark=/) { k = $2; f = 3; if ($f == "vcpu=all") marks++ } else { k = "end"; f = 2 } }
        $2 ~ /^marks=/ { marks = 99 }
        $f != "vcpu=all" { next }
        { for (i = f + 1; i <= NF; i++) { split($i, kv, "="); v[k, kv[1]] = kv[2]; if (k == "end") keys[++nk] = kv[1] } }
        END {
            line = w "\t" n "\t" r
            if (!nk || (w != "none" && marks != 2)) { print line "\tmissing=1"; exit }
            for (i = 1; i <= nk; i++) {
                x = (w == "none") ? v["end", keys[i]] : v["mark=2", keys[i]] - v["mark=1", keys[i]]
                line = line sprintf("\t%s=%.0f", keys[i], x)
            }
            print line }' "$4"
}

count_bench() {
    local so=$BUILD/smpcount.so ranges=$RES/smp-count-ranges.txt tsv=$RES/smp-count.tsv ltsv=$RES/smp-count-linux.tsv
    local kernel=$BUILD/velox-$KVAR.elf mark w n r out
    gcc -shared -fPIC -O2 -Wall -o "$so" tools/smpcount/smpcount.c
    riscv64-linux-gnu-nm -S -C "$kernel" | awk '$3 ~ /^[tT]$/ {
        name = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", name); b = ""
        if (name == "velox::exec::run") b = "executor"
        else if (name ~ /::lock_contended$/) b = "lockspin"
        else if (name == "velox::smp::service") b = "service"
        else if (name == "velox::smp::flush_tlb_mm") b = "shootdown"
        else if (name == "velox::exec::schedule_smp") b = "placement"
        else if (name == "velox::trap::kernel_interrupt") b = "kirq"
        if (b != "") print b, $1, $2 }' | sort -u |
        while read -r b a z; do printf '%s %s %x\n' "$b" "$a" $((16#$a + 16#$z)); done > "$ranges"
    [ "$(awk '{ print $1 }' "$ranges" | sort -u | wc -l)" = 6 ] || { echo "bench-smp: kernel symbols for smpcount not found" >&2; cat "$ranges" >&2; }
    mark=$(riscv64-linux-gnu-nm "$vroot/bench/vsmp" | awk '$3 == "__clock_gettime" { print $1 }')
    echo "bench-smp: instruction counts, $RUNS boots per workload and hart count (1, 2, 4)" >&2
    : > "$tsv"
    for r in $(seq 1 "$RUNS"); do
        for n in 1 2 4; do
            for w in none:0 mixed:4 cpu:2 fork:2 hackbench:2; do
                out=$RES/smp-count-${w%:*}-$n-$r.out; rm -f "$out"
                SMP=$n QEMU_EXTRA="-plugin $so,out=$out,ranges=$ranges,mark=$mark" scripts/run.sh -k "$KVAR" \
                    -e "$vroot" -c "/bench/vsmp ${w/:/ }" -t 600 -l "$RES/smp-count-${w%:*}-$n-$r.log" > /dev/null || true
                count_line "${w%:*}" $n $r "$out" >> "$tsv"
            done
        done
    done
    # Linux: the same binary and mark, in the initramfs (its /init settles, then runs vsmp: the
    # settling is before the first mark). No named ranges (they are Velox functions); kernel and
    # firmware split by address as for Velox. No `none` boots (only shown for Velox).
    local lstart; lstart=$(date +%s)
    echo "bench-smp: Linux instruction counts, $RUNS_LINUX boots per workload and hart count (1, 2, 4)" >&2
    : > "$ltsv"
    for r in $(seq 1 "$RUNS_LINUX"); do
        for n in 1 2 4; do
            for w in mixed:4 cpu:2 fork:2 hackbench:2; do
                out=$RES/smp-count-linux-${w%:*}-$n-$r.out; rm -f "$out"
                linux $n "$w" "$RES/smp-count-linux-${w%:*}-$n-$r.log" -plugin "$so,out=$out,mark=$mark"
                count_line "${w%:*}" $n $r "$out" >> "$ltsv"
            done
        done
    done
    LINUX_COUNT_S=$(( $(date +%s) - lstart ))
    echo "bench-smp: Linux instruction counts took $LINUX_COUNT_S s" >&2
    count_doc "$tsv" "$ltsv" > "$RES/smp-count.md"
}

# The section of docs/benchmarks-smp.md from smp-count.tsv (Velox) and smp-count-linux.tsv.
count_doc() {
    local tsv=$1 ltsv=$2
    # get TSV W N KEY: the values of KEY over the boots of workload W on N harts that have a
    # window (not missing), one a line.
    # (KEY nospin: insns minus the three spin-wait functions, lockspin + service + shootdown.)
    get() { awk -F'\t' -v w="$2" -v n="$3" -v k="$4" '$1 == w && $2 == n && $4 != "missing=1" {
                for (i = 4; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                printf "%.0f\n", k == "nospin" ? v["insns"] - v["lockspin"] - v["service"] - v["shootdown"] : v[k] }' "$1"; }
    # runs TSV W N: every boot's M instructions in run order, "missing" for a boot without a window.
    runs() { awk -F'\t' -v w="$2" -v n="$3" '$1 == w && $2 == n {
                x = "missing"; for (i = 4; i <= NF; i++) if (index($i, "insns=") == 1) x = sprintf("%.2f", substr($i, 7) / 1e6)
                s = s (s == "" ? "" : ", ") x } END { print s }' "$1"; }
    # nearest TSV W N M: the boot whose total is nearest M.
    nearest() { awk -F'\t' -v w="$2" -v n="$3" -v m="$4" '$1 == w && $2 == n && $4 != "missing=1" {
                    for (i = 4; i <= NF; i++) if (index($i, "insns=") == 1) t = substr($i, 7)
                    d = t - m; if (d < 0) d = -d; if (best == "" || d < bd) { best = $0; bd = d } } END { print best }' "$1"; }
    field() { printf '%s\n' "$1" | tr '\t' '\n' | sed -n "s/^$2=//p"; }
    mi() { [ -n "$1" ] && awk -v x="$1" 'BEGIN { printf "%.2f", x / 1e6 }' || echo "n/a"; }
    ov() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f %%", 100 * (b / a - 1) }' || echo "n/a"; }
    local lver; lver=$(cat "$LNX/kernel.version" 2>/dev/null)
    local nmiss; nmiss=$(cat "$tsv" "$ltsv" | grep -c 'missing=1' || true)
    echo "## SMP overhead in instructions, 1 vs 2 vs 4 harts, Velox and Linux (per-vCPU counts, no icount)"
    echo
    echo "The issue asks for the instructions of a fixed parallel workload on 4 harts against 1"
    echo "under \`-icount\`. QEMU 7.2's icount mode cannot run it: it runs all harts round-robin on"
    echo "one host thread, switching every 100 ms of virtual time, so a hart waiting for another"
    echo "(a shootdown acknowledgement, a lock) burns its whole slice first (\`vsmp mixed 4\` on 4"
    echo "harts did not finish in 15 minutes, even at shift=10). The same quantity is counted here"
    echo "without icount: harts run as host threads (multi-threaded TCG), and a TCG plugin"
    echo "([tools/smpcount/smpcount.c](../tools/smpcount/smpcount.c)) adds every translated block's"
    echo "instruction count to a counter of the vCPU that runs it (one 64-byte slot per vCPU: no"
    echo "shared counter, no lost update). A hart asleep in \`wfi\` retires nothing, so the sum over"
    echo "the harts is the work done, spin-waits, stealing, IPIs and SBI calls included."
    echo "The window is the workload alone: the plugin snapshots every hart's counters when a hart"
    echo "executes vsmp's \`__clock_gettime\` (called exactly twice, around the workload), and the"
    echo "figure is the second snapshot minus the first (each hart's counter may be one block"
    echo "stale when read). Subtracting a whole boot with a trivial command (\`vsmp none 0\`)"
    echo "instead does not work: boots spin (OpenSBI's and Velox's secondary harts waiting for"
    echo "the boot hart) for a time that depends on the host, so whole boots differ by more than"
    echo "the workload itself (below). Without icount the counts are not deterministic: the"
    echo "instructions spent spinning depend on how long the awaited hart takes, which on this"
    echo "$(nproc)-core host (4 vCPU threads, other load) includes host scheduling."
    echo "Workloads as in the next section (\`mixed 4\`, \`cpu 2\`, \`fork 2\`, \`hackbench 2\`)."
    echo "Machine: \`-machine $MACHINE\` for both kernels. With \`aclint=on\`, Velox sends IPIs"
    echo "through the ACLINT SSWI (one store) and sets timers through \`stimecmp\` (Sstc), so its"
    echo "firmware column is near zero. Linux 7.2 does not know QEMU's SSWI and sends IPIs and"
    echo "remote fences as SBI calls (docs/smp.md, \"IPIs and timers without the firmware\")."
    echo
    echo "Linux (Debian's $lver) is counted the same way: the same static vsmp binary, in the"
    echo "initramfs of the next section (its \`/init\` waits until the system is idle, then runs"
    echo "vsmp: that is before the first mark), the same plugin and the same mark address (it is"
    echo "in vsmp, so the same on both kernels). Kernel = instructions at addresses from"
    echo "0xffffffc000000000 up (Linux's kernel image and modules, booted with \`nokaslr\`),"
    echo "firmware = OpenSBI, as for Velox; the named kernel functions below are Velox's and do not"
    echo "apply. The initramfs's busybox is also linked at 0x10000, so a boot whose counters do not"
    echo "show exactly two marks (another program ran that address, or a timeout) is reported as"
    echo "missing, never as zero ($nmiss missing in this run, Velox and Linux)."
    echo "Median of $RUNS boots for Velox and $RUNS_LINUX for Linux${LINUX_COUNT_S:+ (the Linux boots took $LINUX_COUNT_S s in all)}."
    echo
    echo "Overhead = instructions on N harts / on 1 hart - 1. The last two columns leave out the"
    echo "instructions of Velox's three spin-wait functions (\`lock_contended\`, \`smp::service\`,"
    echo "\`smp::flush_tlb_mm\`; table below): what Velox's overhead would be if no hart ever"
    echo "waited for another (Linux's waits cannot be told apart by address this way: see its"
    echo "firmware column below)."
    echo
    echo "| workload | Velox, 2 harts | Velox, 4 harts | Linux, 2 harts | Linux, 4 harts | Velox without spin-waits, 2 harts | 4 harts |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    local w a b c d e f la lb lc
    for w in mixed:4 cpu:2 fork:2 hackbench:2; do
        a=$(get "$tsv" "${w%:*}" 1 insns | median); b=$(get "$tsv" "${w%:*}" 2 insns | median); c=$(get "$tsv" "${w%:*}" 4 insns | median)
        d=$(get "$tsv" "${w%:*}" 1 nospin | median); e=$(get "$tsv" "${w%:*}" 2 nospin | median); f=$(get "$tsv" "${w%:*}" 4 nospin | median)
        la=$(get "$ltsv" "${w%:*}" 1 insns | median); lb=$(get "$ltsv" "${w%:*}" 2 insns | median); lc=$(get "$ltsv" "${w%:*}" 4 insns | median)
        echo "| ${w/:/ } | $(ov "$a" "$b") | $(ov "$a" "$c") | $(ov "$la" "$lb") | $(ov "$la" "$lc") | $(ov "$d" "$e") | $(ov "$d" "$f") |"
    done
    echo
    echo "The medians (M instructions in the window):"
    echo
    echo "| workload | Velox 1 hart | Velox 2 harts | Velox 4 harts | Linux 1 hart | Linux 2 harts | Linux 4 harts |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for w in mixed:4 cpu:2 fork:2 hackbench:2; do
        echo "| ${w/:/ } | $(mi "$(get "$tsv" "${w%:*}" 1 insns | median)") | $(mi "$(get "$tsv" "${w%:*}" 2 insns | median)") | $(mi "$(get "$tsv" "${w%:*}" 4 insns | median)") | $(mi "$(get "$ltsv" "${w%:*}" 1 insns | median)") | $(mi "$(get "$ltsv" "${w%:*}" 2 insns | median)") | $(mi "$(get "$ltsv" "${w%:*}" 4 insns | median)") |"
    done
    echo
    echo "Where Velox's instructions go: the boot with the median total of each row, M instructions"
    echo "(kernel = all of the kernel, the next five columns are parts of it: the executor loop"
    echo "\`exec::run\` with its inlined pop, steal and idle entry; spin-lock waits \`lock_contended\`;"
    echo "\`smp::service\`, answering TLB-flush and barrier requests, called on every IPI and on"
    echo "every turn of a spin-wait; \`smp::flush_tlb_mm\`, shootdowns including the wait for"
    echo "acknowledgements; \`exec::schedule_smp\`, wake-up placement and IPIs. Firmware: OpenSBI,"
    echo "the SBI calls behind IPIs and timers when they go through it. Sleeps: times a hart went"
    echo "to sleep in \`wfi\`)."
    echo
    echo "| workload | harts | total | user | kernel | executor | lock spin | service | shootdown | placement | firmware | sleeps |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    local n med row k line
    for w in mixed:4 cpu:2 fork:2 hackbench:2; do
        for n in 1 2 4; do
            med=$(get "$tsv" "${w%:*}" $n insns | median)
            [ -n "$med" ] || continue
            row=$(nearest "$tsv" "${w%:*}" $n "$med")
            line="| ${w/:/ } | $n"
            for k in insns user kernel executor lockspin service shootdown placement firmware; do
                line="$line | $(mi "$(field "$row" $k)")"
            done
            echo "$line | $(field "$row" sleeps) |"
        done
    done
    echo
    echo "Where Linux's instructions go, the same way (M instructions). Linux on this machine sends"
    echo "IPIs and remote TLB flushes (\`sfence.vma\` on other harts) as SBI calls, and OpenSBI"
    echo "waits in M mode until the other harts have done them: Linux's waits for remote TLB"
    echo "flushes are in the firmware column, where Velox's are in its kernel (service, shootdown)."
    echo "The rest of Linux's growth is in its kernel, not split by function here (no named ranges)."
    echo
    echo "| workload | harts | total | user | kernel | firmware | sleeps |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for w in mixed:4 cpu:2 fork:2 hackbench:2; do
        for n in 1 2 4; do
            med=$(get "$ltsv" "${w%:*}" $n insns | median)
            [ -n "$med" ] || { echo "| ${w/:/ } | $n | missing | | | | |"; continue; }
            row=$(nearest "$ltsv" "${w%:*}" $n "$med")
            line="| ${w/:/ } | $n"
            for k in insns user kernel firmware; do line="$line | $(mi "$(field "$row" $k)")"; done
            echo "$line | $(field "$row" sleeps) |"
        done
    done
    echo
    echo "Every boot (M instructions: the workload's window; for \`none 0\`, Velox only, the whole"
    echo "boot to power-off, which is not used; \"missing\": no window):"
    echo
    echo "| kernel | workload | harts | runs | median |"
    echo "|---|---|---:|---|---:|"
    for w in none:0 mixed:4 cpu:2 fork:2 hackbench:2; do
        for n in 1 2 4; do
            echo "| Velox | ${w/:/ } | $n | $(runs "$tsv" "${w%:*}" $n) | $(mi "$(get "$tsv" "${w%:*}" $n insns | median)") |"
        done
    done
    for w in mixed:4 cpu:2 fork:2 hackbench:2; do
        for n in 1 2 4; do
            echo "| Linux | ${w/:/ } | $n | $(runs "$ltsv" "${w%:*}" $n) | $(mi "$(get "$ltsv" "${w%:*}" $n insns | median)") |"
        done
    done
    echo
    echo "Commands: \`gcc -shared -fPIC -O2 -o build/smpcount.so tools/smpcount/smpcount.c\`, then"
    echo "\`SMP=N QEMU_EXTRA=\"-plugin build/smpcount.so,out=OUT,ranges=RANGES,mark=ADDR\" scripts/run.sh"
    echo "-k $KVAR -e build/bench-smp-root -c '/bench/vsmp W K'\` (RANGES from \`riscv64-linux-gnu-nm\`"
    echo "on the kernel, ADDR = vsmp's \`__clock_gettime\`) for Velox, and \`qemu-system-riscv64 -smp N"
    echo "-plugin build/smpcount.so,out=OUT,mark=ADDR -kernel Image -initrd bench-smp-linux.cpio.gz"
    echo "-append '... vsmp=W:K'\` for Linux (see this script; \`RUNS_LINUX\` sets Linux's boots);"
    echo "per boot \`build/bench-results/smp-count-[linux-]W-N-RUN.out\`, all boots in"
    echo "\`smp-count.tsv\` and \`smp-count-linux.tsv\`."
    echo
}

if [ $ONLY_COUNT = 1 ]; then
    start=$(date +%s)
    count_bench
    # Replace the section (from "## SMP overhead" to the next heading) in the existing file.
    out=docs/benchmarks-smp.md
    awk -v frag="$RES/smp-count.md" '
        /^## SMP overhead/ { while ((getline l < frag) > 0) print l; skip = 1; next }
        /^## / { skip = 0 }
        !skip' "$out" > "$out.new" && mv "$out.new" "$out"
    echo "bench-smp: wrote the instruction-count section of $out ($(( $(date +%s) - start )) s)" >&2
    cat "$RES/smp-count.md"
    exit 0
fi

velox() { # $1 harts, $2 vsmp words, $3 log, $4 "-d" for det mode
    local n=$1 w=$2 log=$3 d=${4:-} cmds=()
    for x in $(echo "$w" | tr , ' '); do cmds+=(-c "/bench/vsmp $(echo "$x" | tr : ' ')"); done
    SMP=$n scripts/run.sh -k "$KVAR" -e "$vroot" "${cmds[@]}" $d -t 600 -l "$log" > /dev/null || true
}
ns() { tr -d '\r' < "$1" | sed -n "s/^vsmp name=$2 threads=[0-9]* ns=\([0-9]*\)$/\1/p" | head -1; }

echo "bench-smp: wall clock, $RUNS boots per kernel and hart count" >&2
work=mixed:4,cpu:2,fork:2,hackbench:2
for r in $(seq 1 "$RUNS"); do
    for n in 1 2; do
        velox $n $work "$RES/smp-velox-wall-$n-$r.log"
        linux $n $work "$RES/smp-linux-wall-$n-$r.log"
    done
done

count_bench

med() { # $1 kernel, $2 harts, $3 workload
    for r in $(seq 1 "$RUNS"); do ns "$RES/smp-$1-wall-$2-$r.log" "$3"; done | { grep . || true; } | median
}
ms() { [ -n "$1" ] && awk -v x="$1" 'BEGIN { printf "%.1f", x / 1e6 }' || echo "n/a"; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }' || echo "n/a"; }
pct() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f %%", 100 * (b - a) / a }' || echo "n/a"; }

wall=$(( $(date +%s) - start ))
out=docs/benchmarks-smp.md
{
    echo "# SMP benchmarks"
    echo
    echo "Written by \`scripts/bench-smp.sh\` (part of \`make bench\`) on $(date -u +%Y-%m-%d), $wall s wall."
    echo "The same static binary (\`user/bench/vsmp.c\`) runs on Velox and on Debian's Linux $(cat "$LNX/kernel.version" 2>/dev/null)"
    echo "in the same QEMU ($(qemu-system-riscv64 --version | head -1)); the host has $(nproc) cores."
    echo
    cat "$RES/smp-count.md"
    echo "## Wall-clock scaling, 1 vs 2 harts (multi-threaded TCG, no icount)"
    echo
    echo "Median of $RUNS boots each. \`mixed 4\`: 4 threads, each 20,000 getpid, 8 x 64 fresh pages"
    echo "touched (mmap, touch, munmap), 2,000 futex wake/wait round trips with a partner thread and"
    echo "200 sched_yield. \`cpu 2\`: 2 threads of pure computation; \`fork 2\`: 2 threads"
    echo "each forking 100 children that exit at once; \`hackbench 2\`: 2 groups of 5 sender and 5"
    echo "receiver processes passing 100-byte messages through pipes. Scaling = time on 1 hart / time"
    echo "on 2 harts (2.00 is perfect). Wall-clock figures on a shared host are noisy."
    echo
    echo "| workload | Velox 1 hart (ms) | Velox 2 harts (ms) | Velox scaling | Linux 1 hart (ms) | Linux 2 harts (ms) | Linux scaling |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for w in mixed cpu fork hackbench; do
        a=$(med velox 1 $w); b=$(med velox 2 $w); c=$(med linux 1 $w); d=$(med linux 2 $w)
        case $w in mixed) k=4 ;; *) k=2 ;; esac
        echo "| $w $k | $(ms "$a") | $(ms "$b") | $(ratio "$a" "$b") | $(ms "$c") | $(ms "$d") | $(ratio "$c" "$d") |"
    done
    echo
    echo "Commands: \`SMP=N scripts/run.sh -k default -e ROOT -c '/bench/vsmp W N' [-d]\` for Velox and"
    echo "\`qemu-system-riscv64 -smp N [icount options] -kernel Image -initrd bench-smp-linux.cpio.gz\`"
    echo "for Linux (see this script); logs in \`build/bench-results/smp-*.log\`."
} > "$out"
echo "bench-smp: wrote $out (${wall} s)" >&2
cat "$out"
