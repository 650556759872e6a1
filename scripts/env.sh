# Sourced by the scripts: Debian's Rust 1.96 (riscv64 build-std), never rustup's proxies.
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
CARGO=/usr/bin/cargo
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build
mkdir -p "$BUILD"
