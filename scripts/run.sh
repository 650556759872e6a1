#!/usr/bin/env bash
# Boot Velox in QEMU.
#   run.sh [-k VARIANT] [-c CMD]... [-s] [-e EXTRA_DIR] [-t TIMEOUT_S] [-a KERNEL_ARGS] [-d] [-l LOG]
#          [-b IMAGE]... [-r IMAGE]
# SMP=N in the environment boots N harts (default 1).
# With -c: runs each CMD (argv split on blanks, quotes group; /bin is searched) in order, prints
# the output and exits with the last command's status; with -s each CMD goes to `/bin/sh -c`
# instead (pipes, redirections, VAR=x). Without -c: boots /sbin/init (busybox init: a shell on
# the console). -d: deterministic timing (-icount shift=0, the benchmark mode). -l: also save
# the serial output to LOG. -b: attach a raw disk image as a virtio-blk device (repeatable: the
# first is /dev/vda, the second vdb, ...; the image is written to; IMAGE:ro attaches it read-only). -r: the root file system is
# the ext4 IMAGE (it becomes /dev/vda, before any -b; `root=/dev/vda`); CMD and EXTRA_DIRs then
# come in a small RAM disk that the kernel unpacks over that root (so they land in the image;
# CMD at /etc/velox/cmd, the EXTRA_DIRs' contents at /, owned by root, following the image's
# directory symlinks as a copy in the guest would: scripts/linux-debian.sh -e does the same).
set -euo pipefail
source "$(dirname "$0")/env.sh"
variant=default; cmds=(); extra=(); tmo=300; kargs=""; det=0; log=""; shell=0; disks=(); rootimg=""
while getopts "k:c:e:t:a:dl:sb:r:" o; do
    case $o in
        k) variant=$OPTARG ;; c) cmds+=("$OPTARG") ;; e) extra+=("$OPTARG") ;; s) shell=1 ;;
        t) tmo=$OPTARG ;; a) kargs=$OPTARG ;; d) det=1 ;; l) log=$OPTARG ;;
        b) [ -f "${OPTARG%:ro}" ] || { echo "run.sh: disk image ${OPTARG%:ro} not found" >&2; exit 2; }
           disks+=("$OPTARG") ;;
        r) [ -f "$OPTARG" ] || { echo "run.sh: root image $OPTARG not found" >&2; exit 2; }
           rootimg=$OPTARG ;;
        *) exit 2 ;;
    esac
done
kernel=$BUILD/velox-$variant.elf
[ -f "$kernel" ] || { echo "run.sh: $kernel not built" >&2; exit 2; }
work=$(mktemp -d "$BUILD/run.XXXXXX")
qpid=""
cleanup() { [ -n "$qpid" ] && kill "$qpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
append="$kargs"
mk=("$ROOT/scripts/mkroot.sh")
if [ -n "$rootimg" ]; then
    disks=("$rootimg" "${disks[@]}")
    append="root=/dev/vda $append"
    mk+=(--overlay)
    # The EXTRA_DIRs land where a copy inside the booted system would put them (as
    # scripts/linux-debian.sh -e does): on a root whose /bin, /sbin, /lib are symlinks (Debian's
    # merged /usr), bin/foo goes to usr/bin/foo (scripts/overlay-paths.py; the kernel's
    # unpacker does not follow symlinks).
    if [ ${#extra[@]} -gt 0 ]; then
        mkdir "$work/extra"
        for d in "${extra[@]}"; do cp -a "$d/." "$work/extra/"; done
        python3 "$ROOT/scripts/overlay-paths.py" "$work/extra" "$rootimg"
        extra=("$work/extra")
    fi
fi
if [ ${#cmds[@]} -gt 0 ]; then
    printf '%s\n' "${cmds[@]}" > "$work/cmd"
    append="velox.cmd $append"
    [ $shell = 1 ] && append="velox.sh $append"
    "${mk[@]}" "$work/root.cpio" "$work/cmd" "${extra[@]}"
else
    "${mk[@]}" "$work/root.cpio" - "${extra[@]}"
fi
# Entropy: a virtio-rng device, which the kernel mixes with timer jitter (VELOX_RNG=0 leaves it
# out: timer jitter only). Deterministic runs (-d, the benchmarks) have no device and pin the
# kernel's CSPRNG seed (velox.fixedseed).
[ $det = 1 ] && append="$append velox.fixedseed"
q=(qemu-system-riscv64 -machine "$MACHINE" -nographic -bios default -m 512M -smp "${SMP:-1}" -no-reboot
   -kernel "$kernel" -initrd "$work/root.cpio" -append "$append")
# QEMU_EXTRA: more QEMU options (a monitor socket for debugging, say).
[ -n "${QEMU_EXTRA:-}" ] && read -r -a qx <<< "$QEMU_EXTRA" && q+=("${qx[@]}")
if [ $det = 1 ]; then
    # (With a disk, sleep=on: under sleep=off an idle guest makes QEMU warp virtual time in a
    # loop that starves its main loop, where the disk's host I/O completes; so a guest waiting
    # for the disk would wait forever. Disk timing is host time anyway.)
    sleep=off; [ ${#disks[@]} -gt 0 ] && sleep=on
    q+=(-icount shift=0,align=off,sleep=$sleep -rtc base=2024-01-01T00:00:00,clock=vm -seed 1)
elif [ "${VELOX_RNG:-1}" != 0 ]; then
    q+=(-device virtio-rng-device)
fi
# Disks. QEMU fills the virtio-mmio slots from the highest address down in command-line order
# (the rng above keeps the top slot), and the kernel names disks in address order: so the last
# -b goes on the command line first, and the first -b gets the lowest slot, vda.
for ((i = ${#disks[@]} - 1; i >= 0; i--)); do
    d=${disks[$i]}; ro=""
    # (IMAGE:ro attaches it read-only: the device refuses writes.)
    if [ "${d%:ro}" != "$d" ]; then d=${d%:ro}; ro=",readonly=on"; fi
    q+=(-drive "file=${d//,/,,},format=raw,if=none,id=hd$i$ro" -device "virtio-blk-device,drive=hd$i")
done
if [ ${#cmds[@]} -eq 0 ] && [ -t 0 ]; then
    exec "${q[@]}"
fi
out=$work/serial.log
"${q[@]}" < /dev/null > "$out" 2>&1 &
qpid=$!
# Live output for a person at a terminal; scripts (stdout not a terminal) get the whole serial
# output from the banner on once QEMU is done: the live tail could lose all of it when QEMU
# finished within about a second (seen as an empty stdout about once in 20 short boots).
tpid=""
if [ -t 1 ]; then
    tail --pid=$qpid -n +1 -f "$out" 2>/dev/null | sed -u -n '/^Velox /,$p' &
    tpid=$!
fi
rc=0
if ! timeout "$tmo" tail --pid=$qpid -f /dev/null; then
    echo "run.sh: timeout after ${tmo}s" >&2; rc=124
fi
kill $qpid 2>/dev/null || true; wait $qpid 2>/dev/null || true; qpid=""
if [ -n "$tpid" ]; then wait $tpid 2>/dev/null || true; else sed -n '/^Velox /,$p' "$out"; fi
[ -n "$log" ] && cp "$out" "$log"
if [ $rc = 0 ]; then
    st=$(tr -d '\r' < "$out" | sed -n 's/^\[velox\] poweroff status=\([0-9]*\)$/\1/p' | tail -1)
    if [ -n "$st" ]; then rc=$st
    elif grep -q "KERNEL PANIC" "$out"; then rc=125
    elif [ ${#cmds[@]} -gt 0 ]; then rc=125
    fi
fi
exit $rc
