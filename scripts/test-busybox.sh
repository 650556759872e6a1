#!/usr/bin/env bash
# The busybox script tests (tests/busybox/NAME.sh): run each with Debian's busybox sh and compare
# its output with tests/busybox/NAME.expected, recorded once on Debian's Linux in the same QEMU.
#
#   scripts/test-busybox.sh [-k VARIANT] [-s SMP] [-l LOGDIR] [-t TIMEOUT_S] [-a KARGS] [NAME...]
#       Boot Velox (scripts/run.sh; kernel build/velox-VARIANT.elf, default "default", SMP harts,
#       default 1) once, running "/bin/sh /tests/busybox/run NAME" for each test (every
#       tests/busybox/*.sh unless NAMEs are given); print "PASS busybox NAME" or "FAIL busybox
#       NAME" and the diff, then "N passed, M failed". Exit status 0 when all passed.
#       -l LOGDIR keeps the serial log (LOGDIR/busybox-VARIANT[-smpN].log) and each output
#       (LOGDIR/busybox-NAME.out). -a: more kernel arguments (e.g. velox.leakcheck).
#   scripts/test-busybox.sh --linux [-s SMP] [-l LOGDIR] [-t TIMEOUT_S] [NAME...]
#       The same on Debian's Linux (scripts/linux-run.sh) with the same root tree: checks that the
#       tests are deterministic and the runner works.
#   scripts/test-busybox.sh --record [-s SMP] [NAME...]
#       Run on Linux and (over)write tests/busybox/NAME.expected from its output.
#   scripts/test-busybox.sh --log LOG [NAME...]
#       Only extract and compare, from a serial log saved earlier (Velox's or linux-run's).
#   scripts/test-busybox.sh --applets
#       Print busybox --list-full as run on Linux (the body of rootfs/busybox-applets.txt).
#
# The root tree is scripts/mkroot.sh's (busybox and its links, /etc, /tests/busybox/, the test
# programs); on Linux it is laid over linux-run.sh's initramfs. In the serial log a test's output
# is everything between "[velox] run: CMD" (linux-run: "[linux-run] $ CMD") and the next
# "[velox] exit ..." line, CRs removed, less kernel lines (Velox's "[velox] ..." and log lines
# "[ WARN] ...", Linux's "[ 12.345] ..." printk lines). Each script's output ends
# "END NAME status=N" (written by tests/busybox/run), so a cut-short output never matches.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build
TDIR=$ROOT/tests/busybox
mode=velox; variant=default; smp=1; logdir=""; tmo=""; kargs=""; inlog=""
case "${1:-}" in
    --linux) mode=linux; shift ;;
    --record) mode=record; shift ;;
    --applets) mode=applets; shift ;;
    --log) mode=log; inlog=${2:?--log needs a file}; shift 2 ;;
esac
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2; }
while getopts "k:s:l:t:a:h" o; do
    case $o in
        k) variant=$OPTARG ;; s) smp=$OPTARG ;; l) logdir=$OPTARG ;; t) tmo=$OPTARG ;;
        a) kargs=$OPTARG ;; *) usage ;;
    esac
done
shift $((OPTIND - 1))
[[ $smp =~ ^[0-9]+$ ]] || usage
names=("$@")
if [ ${#names[@]} = 0 ]; then
    for f in "$TDIR"/*.sh; do n=${f##*/}; names+=("${n%.sh}"); done
fi
for n in "${names[@]}"; do [ -f "$TDIR/$n.sh" ] || { echo "test-busybox: no $TDIR/$n.sh" >&2; exit 2; }; done
cmdline() { echo "/bin/sh /tests/busybox/run $1"; }

work=$(mktemp -d "$BUILD/test-busybox.XXXXXX")
trap 'rm -rf "$work"' EXIT
[ -n "$logdir" ] && mkdir -p "$logdir"

# extract LOG CMD: the output of command line CMD in serial log LOG. (awk reads the whole
# log: an early exit would let `tr` die of SIGPIPE, which pipefail turns into a failure, and
# set -e into the end of this script, when the log outgrows the pipe buffer.)
extract() {
    tr -d '\r' < "$1" | awk -v c1="[velox] run: $2" -v c2="[linux-run] \$ $2" '
        done { next }
        !on && ($0 == c1 || $0 == c2) { on = 1; next }
        on && /^\[velox\] (exit|exec failed)/ { on = 0; done = 1; next }
        on && /^\[velox\] / { next }
        on && /^\[(ERROR| WARN| INFO|DEBUG|TRACE)\] / { next }
        on && /^\[ *[0-9]+\.[0-9]+\] / { next }
        on { print }'
}

linux_boot() { # linux_boot LOG CMD...: run command lines on Linux with Velox's root tree
    local log=$1; shift
    VELOX_BUSYBOX=1 "$ROOT"/scripts/mkroot.sh --dir "$work/tree" - >&2
    local args=(-s "$smp" -T 120 -t "${tmo:-900}" -l "$log" -e "$work/tree")
    local t0=$SECONDS
    "$ROOT"/scripts/linux-run.sh "${args[@]}" "$@" > "$work/linux-run.out" 2>&1 || {
        tail -5 "$work/linux-run.out" >&2; echo "test-busybox: linux-run.sh failed" >&2; }
    echo "test-busybox: Linux run took $((SECONDS - t0)) s" >&2
}

if [ $mode = applets ]; then
    linux_boot "$work/serial.log" "/bin/busybox --list-full"
    extract "$work/serial.log" "/bin/busybox --list-full"
    exit 0
fi

cmds=(); for n in "${names[@]}"; do cmds+=("$(cmdline "$n")"); done
tag=$variant; [ "$smp" != 1 ] && tag=$variant-smp$smp
case $mode in
    velox)
        log=$work/serial.log
        args=(-k "$variant" -t "${tmo:-900}" -l "$log")
        [ -n "$kargs" ] && args+=(-a "$kargs")
        for c in "${cmds[@]}"; do args+=(-c "$c"); done
        SMP=$smp "$ROOT"/scripts/run.sh "${args[@]}" > /dev/null 2>&1 || true
        [ -f "$log" ] || { echo "test-busybox: no serial log from run.sh" >&2; echo "0 passed, ${#names[@]} failed"; exit 1; }
        ;;
    linux|record)
        log=$work/serial.log; tag=linux; [ "$smp" != 1 ] && tag=linux-smp$smp
        linux_boot "$log" "${cmds[@]}"
        ;;
    log) log=$inlog ;;
esac
[ -n "$logdir" ] && [ $mode != log ] && cp "$log" "$logdir/busybox-$tag.log"

pass=0; fail=0
for n in "${names[@]}"; do
    out=$work/$n.out
    extract "$log" "$(cmdline "$n")" > "$out"
    [ -n "$logdir" ] && cp "$out" "$logdir/busybox-$n.out"
    if [ $mode = record ]; then
        if tail -1 "$out" | grep -qx "END $n status=[0-9]*"; then
            cp "$out" "$TDIR/$n.expected"; echo "recorded busybox $n ($(wc -l < "$out") lines, $(tail -1 "$out"))"
            pass=$((pass + 1))
        else
            echo "FAIL busybox $n: no END line, not recorded"; tail -5 "$out"; fail=$((fail + 1))
        fi
        continue
    fi
    if [ -f "$TDIR/$n.expected" ] && diff -u --label "$n.expected" --label "$n (got)" "$TDIR/$n.expected" "$out" > "$work/$n.diff"; then
        echo "PASS busybox $n"; pass=$((pass + 1))
    else
        echo "FAIL busybox $n"; fail=$((fail + 1))
        if [ ! -f "$TDIR/$n.expected" ]; then echo "  (no $n.expected)"
        else
            head -80 "$work/$n.diff"
            d=$(wc -l < "$work/$n.diff")
            [ "$d" -le 80 ] || echo "  ... $((d - 80)) more diff lines (-l LOGDIR keeps the whole output)"
        fi
    fi
done
echo "$pass passed, $fail failed"
[ $fail = 0 ]
