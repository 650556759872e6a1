#!/usr/bin/env bash
# Build the user-space test programs: user/tests/*.c and user/tests/*.S
# -> build/user/<basename>, static riscv64 Linux ELF binaries.
# Idempotent: a program is rebuilt only when its source, a shared header
# (user/tests/*.h) or this script is newer than the binary.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CC="${CROSS_CC:-riscv64-linux-gnu-gcc}"
CFLAGS=(-static -O2 -Wall -Werror)
SRC="$ROOT/user/tests"
OUT="$ROOT/build/user"
SELF="$ROOT/scripts/build-user.sh"

if ! command -v "$CC" >/dev/null 2>&1; then
    echo "build-user: $CC not found (run scripts/setup.sh)" >&2
    exit 1
fi
mkdir -p "$OUT"

shopt -s nullglob
headers=("$SRC"/*.h)
status=0
built=0
for src in "$SRC"/*.c "$SRC"/*.S; do
    name="$(basename "$src")"
    name="${name%.*}"
    dst="$OUT/$name"
    stale=0
    [ -e "$dst" ] || stale=1
    for dep in "$src" "$SELF" "${headers[@]}"; do
        if [ "$dep" -nt "$dst" ]; then stale=1; fi
    done
    if [ "$stale" -eq 0 ]; then continue; fi
    echo "build-user: $name" >&2
    if "$CC" "${CFLAGS[@]}" -I"$SRC" -o "$dst.tmp" "$src"; then
        mv -f "$dst.tmp" "$dst"
        built=$((built + 1))
    else
        rm -f "$dst.tmp"
        echo "build-user: FAILED $src" >&2
        status=1
    fi
done
# Dynamically linked test programs (user/dyn/*.c, glibc's ld.so) and the cross toolchain's
# loader and libraries they run with: build/userlib/lib/ (mkroot.sh puts it at /lib).
LIBDIR="$ROOT/build/userlib/lib"
SYSROOT=${CROSS_SYSROOT:-/usr/riscv64-linux-gnu} # (Debian's libc6-riscv64-cross)
mkdir -p "$LIBDIR/riscv64-linux-gnu"
for l in ld-linux-riscv64-lp64d.so.1 riscv64-linux-gnu/libc.so.6 riscv64-linux-gnu/libm.so.6; do
    src="$SYSROOT/lib/${l#riscv64-linux-gnu/}"
    if [ ! -e "$LIBDIR/$l" ] || [ "$src" -nt "$LIBDIR/$l" ]; then cp -L "$src" "$LIBDIR/$l"; fi
done
for src in "$ROOT"/user/dyn/*.c; do
    name="$(basename "$src" .c)"
    dst="$OUT/$name"
    if [ -e "$dst" ] && [ ! "$src" -nt "$dst" ] && [ ! "$SELF" -nt "$dst" ]; then continue; fi
    echo "build-user: $name (dynamic)" >&2
    if "$CC" -O2 -Wall -Werror -I"$SRC" -o "$dst.tmp" "$src"; then
        mv -f "$dst.tmp" "$dst"; built=$((built + 1))
    else
        rm -f "$dst.tmp"; echo "build-user: FAILED $src" >&2; status=1
    fi
done
if [ "$status" -eq 0 ] && [ "$built" -eq 0 ]; then echo "build-user: up to date" >&2; fi
exit "$status"
