#!/usr/bin/env bash
# `make debug`: QEMU halted at the first instruction with a gdb stub, and gdb-multiarch attached.
set -euo pipefail
source "$(dirname "$0")/env.sh"
dpkg-query -W -f='${Status}' gdb-multiarch 2>/dev/null | grep -q "install ok installed" || {
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q gdb-multiarch; }
kernel=$BUILD/velox-default.elf
"$ROOT/scripts/mkroot.sh" "$BUILD/debug-root.cpio" -
qemu-system-riscv64 -machine "$MACHINE" -nographic -bios default -m 512M -smp 1 -kernel "$kernel" \
    -initrd "$BUILD/debug-root.cpio" -s -S &
qpid=$!
trap 'kill $qpid 2>/dev/null' EXIT
gdb-multiarch -q "$kernel" -ex "target remote :1234" -ex "break velox_main"
