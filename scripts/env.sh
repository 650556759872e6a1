# Sourced by the scripts: Debian's Rust 1.96 (riscv64 build-std), never rustup's proxies.
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
CARGO=/usr/bin/cargo
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build
mkdir -p "$BUILD"
# The QEMU machine every script boots, Velox and Linux alike: `virt` with the ACLINT, whose
# SSWI device lets a kernel send IPIs with one store instead of an SBI call (Velox uses it when
# the device tree lists it; Linux 7.2's driver matches only vendor names, not QEMU's
# "riscv,aclint-sswi", so Linux keeps the SBI). QEMU_MACHINE=virt boots the plain machine.
export MACHINE=${QEMU_MACHINE:-virt,aclint=on}
