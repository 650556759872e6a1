#!/usr/bin/env bash
# The Debian userland tests (tests/debian/NAME.{sh,py,pl,lua}, issue 20): boot on a fresh copy of
# the Debian root image (build/debian/rootfs.ext4, scripts/debian-root.sh), run each test with
# its interpreter (bash, python3, perl, lua) through tests/debian/run, and compare its output with
# tests/debian/NAME.expected, recorded once on Debian's Linux in the same QEMU.
#
#   scripts/test-debian.sh [-k VARIANT] [-s SMP] [-l LOGDIR] [-t TIMEOUT_S] [-a KARGS] [NAME...]
#       Boot Velox (scripts/run.sh -r; kernel build/velox-VARIANT.elf, default "default", SMP
#       harts, default 1) once, running "/bin/bash /tests/debian/run NAME" for each test (every
#       test in tests/debian unless NAMEs are given); print "PASS debian NAME" or "FAIL debian
#       NAME" and the diff, then "N passed, M failed". Exit status 0 when all passed.
#       -l LOGDIR keeps the serial log (LOGDIR/debian-VARIANT[-smpN].log) and each output
#       (LOGDIR/debian-NAME.out). -t: limit for the whole QEMU run (default 600 s). -a: more
#       kernel arguments.
#   scripts/test-debian.sh --linux [-s SMP] [-l LOGDIR] [-t TIMEOUT_S] [NAME...]
#       The same on Debian's Linux (scripts/linux-debian.sh, or the runner named by
#       $LINUX_DEBIAN, which must take the same options) on a copy of the same image: checks that
#       the tests are deterministic and the runner works.
#   scripts/test-debian.sh --record [-s SMP] [NAME...]
#       Run on Linux and (over)write tests/debian/NAME.expected from its output.
#   scripts/test-debian.sh --log LOG [NAME...]
#       Only extract and compare, from a serial log saved earlier (Velox's or Linux's).
#
# The tests come into the guest at /tests/debian/ (run.sh -e / linux-debian.sh -e: laid over
# the image's root); the image is copied first (sparse, ~1 s), so each run starts from the same
# file system and the image itself is never written. In the serial log a test's output is
# everything between "[velox] run: CMD" and the next "[velox] exit ..." line, CRs removed, less
# kernel lines (Velox's "[velox] ..." and log lines "[ WARN] ...", Linux's "[ 12.345] ..."
# printk lines). Each output ends "END NAME status=N" (written by tests/debian/run), so a
# cut-short output never matches.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build
TDIR=$ROOT/tests/debian
mode=velox; variant=default; smp=1; logdir=""; tmo=600; kargs=""; inlog=""
case "${1:-}" in
    --linux) mode=linux; shift ;;
    --record) mode=record; shift ;;
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
[[ $smp =~ ^[0-9]+$ && $tmo =~ ^[0-9]+$ ]] || usage
# A test is tests/debian/NAME.sh, .py, .pl or .lua (other files there are its data).
names=("$@")
if [ ${#names[@]} = 0 ]; then
    for f in "$TDIR"/*.sh "$TDIR"/*.py "$TDIR"/*.pl "$TDIR"/*.lua; do
        [ -f "$f" ] || continue
        n=${f##*/}; names+=("${n%.*}")
    done
fi
for n in "${names[@]}"; do
    found=0
    for e in sh py pl lua; do [ -f "$TDIR/$n.$e" ] && found=1; done
    [ $found = 1 ] || { echo "test-debian: no test $n in $TDIR" >&2; exit 2; }
done
cmdline() { echo "/bin/bash /tests/debian/run $1"; }

work=$(mktemp -d "$BUILD/test-debian.XXXXXX")
trap 'rm -rf "$work"' EXIT
[ -n "$logdir" ] && mkdir -p "$logdir"

# extract LOG CMD: the output of command line CMD in serial log LOG (as in test-busybox.sh: awk
# reads the whole log, so that tr never dies of SIGPIPE).
extract() {
    tr -d '\r' < "$1" | awk -v c1="[velox] run: $2" '
        done { next }
        !on && $0 == c1 { on = 1; next }
        on && /^\[velox\] (exit|exec failed)/ { on = 0; done = 1; next }
        on && /^\[velox\] / { next }
        on && /^\[(ERROR| WARN| INFO|DEBUG|TRACE)\] / { next }
        on && /^\[ *[0-9]+\.[0-9]+\] / { next }
        on { print }'
}

# The guest's extra files: tests/debian at /tests/debian. A fresh copy of the image.
prepare() {
    mkdir -p "$work/extra/tests"
    cp -r "$TDIR" "$work/extra/tests/debian"
    local img
    img=$("$ROOT"/scripts/debian-root.sh | tail -1)
    [ -f "$img" ] || { echo "test-debian: no Debian image ($img)" >&2; exit 2; }
    cp --sparse=always "$img" "$work/root.ext4"
}

cmds=(); for n in "${names[@]}"; do cmds+=("$(cmdline "$n")"); done
tag=$variant; [ "$smp" != 1 ] && tag=$variant-smp$smp
log=$work/serial.log
t0=$SECONDS
case $mode in
    velox)
        prepare
        args=(-k "$variant" -r "$work/root.ext4" -e "$work/extra" -s -t "$tmo" -l "$log")
        [ -n "$kargs" ] && args+=(-a "$kargs")
        for c in "${cmds[@]}"; do args+=(-c "$c"); done
        SMP=$smp "$ROOT"/scripts/run.sh "${args[@]}" > /dev/null 2>&1 || true
        [ -f "$log" ] || { echo "test-debian: no serial log from run.sh" >&2; echo "0 passed, ${#names[@]} failed"; exit 1; }
        echo "test-debian: Velox run took $((SECONDS - t0)) s" >&2
        ;;
    linux|record)
        runner=${LINUX_DEBIAN:-$ROOT/scripts/linux-debian.sh}
        [ -x "$runner" ] || { echo "test-debian: $runner not found" >&2; exit 2; }
        prepare
        tag=linux; [ "$smp" != 1 ] && tag=linux-smp$smp
        args=(-t "$tmo" -l "$log" -e "$work/extra" -i "$work/root.ext4")
        for c in "${cmds[@]}"; do args+=(-c "$c"); done
        SMP=$smp "$runner" "${args[@]}" > "$work/linux.out" 2>&1 || {
            tail -5 "$work/linux.out" >&2; echo "test-debian: $runner failed" >&2; }
        [ -f "$log" ] || { echo "test-debian: no serial log from $runner" >&2; exit 1; }
        echo "test-debian: Linux run took $((SECONDS - t0)) s" >&2
        ;;
    log) log=$inlog ;;
esac
[ -n "$logdir" ] && [ $mode != log ] && cp "$log" "$logdir/debian-$tag.log"

pass=0; fail=0
for n in "${names[@]}"; do
    out=$work/$n.out
    extract "$log" "$(cmdline "$n")" > "$out"
    [ -n "$logdir" ] && cp "$out" "$logdir/debian-$n.out"
    if [ $mode = record ]; then
        if tail -1 "$out" | grep -qx "END $n status=[0-9]*"; then
            cp "$out" "$TDIR/$n.expected"; echo "recorded debian $n ($(wc -l < "$out") lines, $(tail -1 "$out"))"
            pass=$((pass + 1))
        else
            echo "FAIL debian $n: no END line, not recorded"; tail -5 "$out"; fail=$((fail + 1))
        fi
        continue
    fi
    if [ -f "$TDIR/$n.expected" ] && diff -u --label "$n.expected" --label "$n (got)" "$TDIR/$n.expected" "$out" > "$work/$n.diff"; then
        echo "PASS debian $n"; pass=$((pass + 1))
    else
        echo "FAIL debian $n"; fail=$((fail + 1))
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
