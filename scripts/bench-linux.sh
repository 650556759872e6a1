#!/usr/bin/env bash
# Boot Debian's riscv64 Linux (built by scripts/bench-build.sh) in QEMU in the
# deterministic "det" mode and run the vbench suite.
#
#   scripts/bench-linux.sh [SCALE]          SCALE: vbench_scale (default 1)
#
# Serial log: build/bench-results/linux-det.log (the QEMU command line next to
# it in linux-det.log.cmd). Env: BENCH_TIMEOUT (seconds, default 900),
# BENCH_APPEND (extra kernel command-line words, e.g. vbench_only=getpid,stat).
# det mode: 1 ns of guest time = 1 executed guest instruction, and the whole
# serial transcript repeats byte for byte from run to run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/env.sh"  # (MACHINE)
SCALE=${1:-1}
LNX=$ROOT/build/bench-linux
RES=$ROOT/build/bench-results
LOG=$RES/linux-det.log
TMO=${BENCH_TIMEOUT:-900}
[[ $SCALE =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "bench-linux: bad scale '$SCALE'" >&2; exit 2; }
[ -f "$LNX"/Image ] && [ -f "$LNX"/initramfs.cpio.gz ] || {
    echo "bench-linux: run scripts/bench-build.sh first" >&2; exit 1; }
mkdir -p "$RES"

APPEND="console=ttyS0 quiet cryptomgr.notests nokaslr norandmaps randomize_kstack_offset=off vbench_scale=$SCALE${BENCH_APPEND:+ $BENCH_APPEND}"
PIDF=$RES/linux-det.qemu.pid
CMD=(qemu-system-riscv64 -machine "$MACHINE" -nographic -bios default -m 512M -smp 1 -no-reboot
     -icount shift=0,align=off,sleep=off -rtc base=2024-01-01T00:00:00,clock=vm -seed 1
     -kernel "$LNX"/Image -initrd "$LNX"/initramfs.cpio.gz -append "$APPEND"
     -pidfile "$PIDF")
printf '%q ' "${CMD[@]}" > "$LOG".cmd; echo >> "$LOG".cmd

# Never leave a QEMU behind: timeout bounds the run; on any exit of this
# script (error, Ctrl-C, kill) the trap stops timeout (which forwards the
# signal to QEMU) and then QEMU itself, by the pid QEMU wrote.
TPID=""
cleanup() {
    [ -n "$TPID" ] && kill -TERM "$TPID" 2>/dev/null || true
    if [ -s "$PIDF" ]; then
        local q; q=$(cat "$PIDF")
        if [ -n "$q" ] && grep -qa qemu-system "/proc/$q/cmdline" 2>/dev/null; then
            kill -TERM "$q" 2>/dev/null || true; sleep 1; kill -KILL "$q" 2>/dev/null || true
        fi
        rm -f "$PIDF"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

echo "bench-linux: det boot, scale $SCALE, timeout ${TMO}s -> ${LOG#$ROOT/}" >&2
rm -f "$PIDF"
start=$(date +%s.%N)
timeout -k 10 "$TMO" "${CMD[@]}" < /dev/null > "$LOG" 2>&1 &
TPID=$!
rc=0; wait "$TPID" || rc=$?
TPID=""
awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "bench-linux: wall %.1f s\n", b - a }' >&2
[ $rc -eq 0 ] || echo "bench-linux: qemu exit status $rc$([ $rc -eq 124 ] && echo ' (timeout)')" >&2
if ! grep -aq '^vbench_end' "$LOG"; then
    echo "bench-linux: no vbench_end line in ${LOG#$ROOT/}" >&2
    exit 1
fi
grep -a '^vbench_end' "$LOG" | tr -d '\r' >&2
exit $rc
