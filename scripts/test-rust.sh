#!/usr/bin/env bash
# Debian's rustc and cargo inside Velox (issue 20's stretch goal): boot on a fresh copy of the
# Debian root with the Rust toolchain (build/debian-rust/rootfs.ext4, made by
# `DEBIAN_ROOT_FLAVOR=rust scripts/debian-root.sh`: rootfs/debian-packages.txt plus
# rootfs/debian-packages-rust.txt), run tests/rust/cargo.sh (rustc -O of a program with threads,
# channels, a caught panic; cargo new, build, run, test) and compare its output with
# tests/rust/cargo.expected (the same on Debian's Linux: scripts/test-rust.sh --linux).
#
#   scripts/test-rust.sh [--linux] [-k VARIANT] [-s SMP] [-m MEM] [-l LOGDIR] [-t TIMEOUT_S]
#
# Prints "PASS rust cargo" or "FAIL rust cargo" (and the diff), then "N passed, M failed".
# Guest memory (-m, QEMU's syntax): 1G by default. rustc maps about 300 MB of libraries and
# crate metadata, which Velox reads in whole at mmap time for now: at 512 MiB rustc fails on
# Velox (Linux manages): docs/userland.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build
TDIR=$ROOT/tests/rust
mode=velox; variant=default; smp=1; logdir=""; tmo=1200; mem=1G
[ "${1:-}" = --linux ] && { mode=linux; shift; }
while getopts "k:s:m:l:t:h" o; do
    case $o in
        k) variant=$OPTARG ;; s) smp=$OPTARG ;; m) mem=$OPTARG ;; l) logdir=$OPTARG ;; t) tmo=$OPTARG ;;
        *) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2 ;;
    esac
done
mkdir -p "$BUILD"
if ! img=$(DEBIAN_ROOT_FLAVOR=rust "$ROOT"/scripts/debian-root.sh 2> "$BUILD/debian-rust.log" | tail -1) || [ ! -f "$img" ]; then
    tail -5 "$BUILD/debian-rust.log"; echo "FAIL rust cargo (no image: $BUILD/debian-rust.log)"; echo "0 passed, 1 failed"; exit 1
fi
work=$(mktemp -d "$BUILD/test-rust.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/extra/tests"
cp -r "$TDIR" "$work/extra/tests/rust"
cp --sparse=always "$img" "$work/root.ext4"
cmd="/bin/bash /tests/rust/cargo.sh"
log=$work/serial.log
t0=$SECONDS
if [ $mode = velox ]; then
    SMP=$smp QEMU_EXTRA="${QEMU_EXTRA:-} -m $mem" "$ROOT"/scripts/run.sh -k "$variant" -r "$work/root.ext4" -e "$work/extra" -s -t "$tmo" -l "$log" -c "$cmd" > /dev/null 2>&1 || true
else
    SMP=$smp QEMU_EXTRA="${QEMU_EXTRA:-} -m $mem" "$ROOT"/scripts/linux-debian.sh -t "$tmo" -l "$log" -e "$work/extra" -i "$work/root.ext4" -c "$cmd" > "$work/linux.out" 2>&1 || true
fi
echo "test-rust: $mode run took $((SECONDS - t0)) s" >&2
[ -f "$log" ] || { echo "test-rust: no serial log"; echo "0 passed, 1 failed"; exit 1; }
# The command's output: from "[velox] run: CMD" to the next "[velox] exit" line, less kernel
# lines (as scripts/test-debian.sh).
tr -d '\r' < "$log" | awk -v c1="[velox] run: $cmd" '
    done { next }
    !on && $0 == c1 { on = 1; next }
    on && /^\[velox\] (exit|exec failed)/ { on = 0; done = 1; next }
    on && /^\[velox\] / { next }
    on && /^\[(ERROR| WARN| INFO|DEBUG|TRACE)\] / { next }
    on && /^\[ *[0-9]+\.[0-9]+\] / { next }
    on { print }' > "$work/cargo.out"
if [ -n "$logdir" ]; then mkdir -p "$logdir"; cp "$log" "$logdir/rust-$mode.log"; cp "$work/cargo.out" "$logdir/rust-cargo.out"; fi
if diff -u --label cargo.expected --label "cargo (got)" "$TDIR/cargo.expected" "$work/cargo.out" > "$work/diff"; then
    echo "PASS rust cargo"; echo "1 passed, 0 failed"
else
    echo "FAIL rust cargo"; head -60 "$work/diff"; echo "0 passed, 1 failed"; exit 1
fi
