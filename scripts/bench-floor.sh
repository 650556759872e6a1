#!/usr/bin/env bash
# Run the bare-metal trap floor (build/bench/trapfloor.elf, from
# user/bench/baremetal/) in QEMU det mode: no OS, S-mode drops to U-mode and
# times 10^6 ecall round trips with (a) a 7-instruction handler and (b) a
# handler that saves/restores all 31 GPRs + sepc/sstatus.
#
#   scripts/bench-floor.sh          -> build/bench-results/floor.log
# Env: BENCH_TIMEOUT (seconds, default 300).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/env.sh"  # (MACHINE)
ELF=$ROOT/build/bench/trapfloor.elf
RES=$ROOT/build/bench-results
LOG=$RES/floor.log
TMO=${BENCH_TIMEOUT:-300}
[ -f "$ELF" ] || { echo "bench-floor: run scripts/bench-build.sh first" >&2; exit 1; }
mkdir -p "$RES"

PIDF=$RES/floor.qemu.pid
CMD=(qemu-system-riscv64 -machine "$MACHINE" -nographic -bios default -m 512M -smp 1 -no-reboot
     -icount shift=0,align=off,sleep=off -rtc base=2024-01-01T00:00:00,clock=vm -seed 1
     -kernel "$ELF" -pidfile "$PIDF")
printf '%q ' "${CMD[@]}" > "$LOG".cmd; echo >> "$LOG".cmd

# Never leave a QEMU behind (see bench-linux.sh).
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

echo "bench-floor: det boot of trapfloor.elf, timeout ${TMO}s -> ${LOG#$ROOT/}" >&2
rm -f "$PIDF"
start=$(date +%s.%N)
timeout -k 10 "$TMO" "${CMD[@]}" < /dev/null > "$LOG" 2>&1 &
TPID=$!
rc=0; wait "$TPID" || rc=$?
TPID=""
awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "bench-floor: wall %.1f s\n", b - a }' >&2
[ $rc -eq 0 ] || echo "bench-floor: qemu exit status $rc$([ $rc -eq 124 ] && echo ' (timeout)')" >&2
if ! grep -aq '^vbench_end' "$LOG"; then
    echo "bench-floor: no vbench_end line in ${LOG#$ROOT/}" >&2
    exit 1
fi
grep -a '^bench=bm_ecall' "$LOG" | tr -d '\r' >&2
exit $rc
