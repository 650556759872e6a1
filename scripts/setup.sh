#!/usr/bin/env bash
# Idempotent set-up for a bare Debian 12 machine: installs only what is missing.
# Tools: Debian's Rust 1.96 (for build-std on riscv64), lld, QEMU, the riscv64 cross gcc,
# e2fsprogs (mkfs.ext4, e2fsck), fakeroot, cpio. Safe to run on every `make` invocation: it is a no-op when all is present.
set -euo pipefail
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in rustc-web cargo-web rust-web-src rust-web-llvm lld-22 qemu-system-misc \
         gcc-riscv64-linux-gnu e2fsprogs fakeroot cpio gzip xz-utils python3; do
    have_pkg "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}" >&2
fi
