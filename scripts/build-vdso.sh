#!/usr/bin/env bash
# Build the vDSO (vdso/: C, assembly, linker script) into build/vdso.so, the ELF shared object
# the kernel embeds (kernel/build.rs points include_bytes! at it) and maps into every process.
# As Linux builds arch/riscv/kernel/vdso: -shared -Bsymbolic --hash-style=both, soname
# linux-vdso.so.1, exported symbols versioned LINUX_4.15, then stripped (objcopy -S). The build
# fails if the object has any relocation or lacks an exported symbol.
# Idempotent: rebuilt only when a source under vdso/ or this script is newer than the output.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CC="${CROSS_CC:-riscv64-linux-gnu-gcc}"
CROSS="${CC%gcc}"
SRC="$ROOT/vdso"
OUT="$ROOT/build/vdso.so"
DBG="$ROOT/build/vdso.so.dbg"
SELF="$ROOT/scripts/build-vdso.sh"
SYMS=(__vdso_rt_sigreturn __vdso_gettimeofday __vdso_clock_gettime __vdso_clock_getres __vdso_getcpu)

if ! command -v "$CC" >/dev/null 2>&1; then
    echo "build-vdso: $CC not found (run scripts/setup.sh)" >&2
    exit 1
fi
mkdir -p "$ROOT/build"

stale=0
[ -e "$OUT" ] || stale=1
for dep in "$SRC"/* "$SELF"; do
    if [ "$dep" -nt "$OUT" ]; then stale=1; fi
done
[ "$stale" -eq 1 ] || exit 0
echo "build-vdso: vdso.so" >&2

CFLAGS=(-O2 -Wall -Werror -fPIC -mcmodel=medany -ffreestanding -fno-builtin -fno-stack-protector
        -fno-common -fasynchronous-unwind-tables -nostdlib)
LDFLAGS=(-shared -Wl,-Bsymbolic -Wl,--hash-style=both -Wl,--build-id=none -Wl,-soname=linux-vdso.so.1
         -Wl,--eh-frame-hdr -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack -Wl,-T,"$SRC/vdso.lds")
"$CC" "${CFLAGS[@]}" "${LDFLAGS[@]}" -I"$SRC" -o "$DBG.tmp" "$SRC"/*.c "$SRC"/*.S

# No relocations (the kernel maps the image as it is), every symbol exported with its version.
relocs=$("${CROSS}readelf" -rW "$DBG.tmp")
if ! grep -q "There are no relocations" <<< "$relocs"; then
    echo "build-vdso: the vDSO has relocations:" >&2
    echo "$relocs" >&2
    rm -f "$DBG.tmp"
    exit 1
fi
dyn=$("${CROSS}readelf" --dyn-syms -W "$DBG.tmp")
for s in "${SYMS[@]}"; do
    if ! grep -qE " $s@@LINUX_4\.15\$" <<< "$dyn"; then
        echo "build-vdso: $s@@LINUX_4.15 not exported" >&2
        rm -f "$DBG.tmp"
        exit 1
    fi
done
"${CROSS}objcopy" -S "$DBG.tmp" "$OUT.tmp"
mv -f "$DBG.tmp" "$DBG"
mv -f "$OUT.tmp" "$OUT"
