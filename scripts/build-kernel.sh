#!/usr/bin/env bash
# Build a kernel variant into build/velox-<variant>.elf.
#   default: the normal kernel; nofast: every trap through the slow path; ktest: in-kernel tests;
#   strace: the normal kernel logging every failing or unknown system call on the console.
set -euo pipefail
source "$(dirname "$0")/env.sh"
variant=${1:-default}
case $variant in
    default) feat=() ;;
    nofast) feat=(--features no-fastpath) ;;
    ktest) feat=(--features ktest) ;;
    ktest-fail) feat=(--features ktest-fail-demo) ;;
    strace) feat=(--features strace) ;;
    *) echo "unknown kernel variant $variant" >&2; exit 2 ;;
esac
cd "$ROOT"
# The vDSO image the kernel embeds (build/vdso.so; rebuilt only when vdso/ changed).
"$ROOT/scripts/build-vdso.sh"
# Each variant gets its own target dir so switching variants does not rebuild everything.
$CARGO kbuild -q --target-dir "$ROOT/target/$variant" "${feat[@]}"
cp "$ROOT/target/$variant/riscv64imac-unknown-none-elf/release/velox" "$BUILD/velox-$variant.elf"
