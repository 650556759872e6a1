#!/usr/bin/env bash
# Build everything the benchmarks need; idempotent (each step checks first and
# does nothing when its outputs are up to date).
#
#   build/bench/{vbench,vtrue}        static riscv64 Linux programs (user/bench/)
#   build/bench/vtime                 static: times a command run N times (user/bench/vtime.c)
#   build/bench/hello-{static,dyn}    user/bench/hello.c linked statically / dynamically
#   build/bench/trapfloor.elf         bare-metal U<->S ecall floor (user/bench/baremetal/)
#   build/bench-linux/Image           Debian riscv64 kernel (linux-image-riscv64, suite forky)
#   build/bench-linux/kernel.version  its version string
#   build/bench-linux/busybox         Debian busybox-static (riscv64)
#   build/bench-linux/config          the kernel's config
#   build/bench-linux/modules/        the modules ext4 on virtio-blk needs (load-order lists them)
#   build/bench-linux/initramfs.cpio.gz   busybox (the pinned one of scripts/fetch-busybox.sh,
#                                     as in Velox's root) + vbench (also as /init) +
#                                     user/bench/init (as /init.sh) + vtrue + /etc/passwd, group
#   build/apt-riscv64/                private apt configuration/cache for the download
#
#   scripts/bench-build.sh            everything
#   scripts/bench-build.sh --progs    only build/bench/{vbench,vtrue,vtime,hello-*,trapfloor.elf} (no Debian
#                                     download, no initramfs; what scripts/bench-smoke.sh needs)
#
# Env: BENCH_SUITE (default forky), BENCH_NICE (default "nice -n 10", prefixed to gcc).
# The Debian download is cached: it is skipped when Image, kernel.version and
# busybox are present (delete build/bench-linux to fetch again).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/user/bench
SELF=$ROOT/scripts/bench-build.sh
OUT=$ROOT/build/bench
LNX=$ROOT/build/bench-linux
APTDIR=$ROOT/build/apt-riscv64
SUITE=${BENCH_SUITE:-forky}
NICE=${BENCH_NICE:-nice -n 10}
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
log() { echo "bench-build: $*" >&2; }
PROGS_ONLY=0
case "${1:-}" in
    "") ;;
    --progs) PROGS_ONLY=1 ;;
    *) echo "usage: scripts/bench-build.sh [--progs]" >&2; exit 2 ;;
esac

# up-to-date check: $1 exists and is newer than every other argument
fresh() {
    local out=$1; shift
    [ -e "$out" ] || return 1
    local f; for f in "$@"; do [ "$out" -nt "$f" ] || return 1; done
}

# 1. host tools (same check as scripts/setup.sh) -----------------------------
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in qemu-system-misc gcc-riscv64-linux-gnu cpio gzip python3; do
    have_pkg "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    $SUDO apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}" >&2
fi

mkdir -p "$OUT" "$LNX"

# 2. Debian riscv64 kernel + busybox-static, via a private apt configuration --
if [ $PROGS_ONLY = 1 ]; then
    :
elif [ -s "$LNX"/Image ] && [ -s "$LNX"/kernel.version ] && [ -s "$LNX"/busybox ] && [ -s "$LNX"/modules/load-order ]; then
    log "Debian kernel $(cat "$LNX"/kernel.version) + busybox cached in build/bench-linux"
else
    # The mirror is whatever this machine's apt already uses.
    MIRROR=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$MIRROR" ] && [ -f /etc/apt/sources.list ]; then
        MIRROR=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^[a-z]+:\/\//){print $i; exit}}' /etc/apt/sources.list)
    fi
    [ -n "$MIRROR" ] || { log "no Debian mirror found in /etc/apt"; exit 1; }

    R=$APTDIR
    mkdir -p "$R"/lists/partial "$R"/cache/archives/partial
    touch "$R"/status
    echo "deb [arch=riscv64] $MIRROR $SUITE main" > "$R"/sources.list
    O=(-o Dir::Etc::SourceList="$R"/sources.list -o Dir::Etc::SourceParts=/dev/null
       -o APT::Architecture=riscv64 -o APT::Architectures=riscv64
       -o Dir::State::Lists="$R"/lists -o Dir::Cache="$R"/cache -o Dir::State::status="$R"/status)
    [ "$(id -u)" -ne 0 ] || O+=(-o APT::Sandbox::User=root)
    log "apt-get update ($MIRROR $SUITE riscv64)"
    apt-get "${O[@]}" update >/dev/null

    # linux-image-riscv64 (meta) -> linux-image-<ver>-riscv64; newer Debian
    # kernels put the kernel binary itself into linux-binary-<ver>-riscv64.
    IMG=$(apt-cache "${O[@]}" depends linux-image-riscv64 | awk '$1=="Depends:" && $2 ~ /^linux-image-/ {print $2; exit}')
    [ -n "$IMG" ] || { log "cannot resolve linux-image-riscv64"; exit 1; }
    BIN=$(apt-cache "${O[@]}" depends "$IMG" | awk '$1=="Depends:" && $2 ~ /^linux-binary-/ {print $2; exit}')
    # the modules (and linux-base-<ver>: config, modules.builtin) for the storage benches
    MODS=$(apt-cache "${O[@]}" depends "$IMG" | awk '$1=="Depends:" && $2 ~ /^linux-(modules|base)-[0-9]/ {print $2}')
    DEBS=$LNX/debs PKG=$LNX/pkgroot
    rm -rf "$DEBS" "$PKG"
    mkdir -p "$DEBS" "$PKG"
    log "apt-get download busybox-static $IMG $BIN $(echo $MODS)"
    (cd "$DEBS" && apt-get "${O[@]}" download busybox-static "$IMG" $BIN $MODS) >&2
    for d in "$DEBS"/*.deb; do dpkg -x "$d" "$PKG"; done

    KFILE=$(find "$PKG" \( -path '*/boot/vmlinu*' -o -name vmlinuz -o -name vmlinux \) -type f | head -n1)
    [ -n "$KFILE" ] || { log "no kernel binary in $IMG $BIN"; exit 1; }
    if [ "$(od -An -tx1 -N2 "$KFILE" | tr -d ' ')" = 1f8b ]; then
        zcat "$KFILE" > "$LNX"/Image.tmp      # gzip-compressed Image
    else
        cp "$KFILE" "$LNX"/Image.tmp          # RISC-V Image (EFI-stub PE header), boots with -kernel
    fi
    # The storage benches (scripts/bench-storage.sh) mount ext4 on a virtio disk: keep the
    # kernel's config and, for each of virtio_mmio, virtio_blk and ext4 that is a module rather
    # than built in, the module and its dependencies (decompressed; in load order: a module after
    # everything it needs) in build/bench-linux/modules/, named in modules/load-order.
    MDIR=$(find "$PKG" -type d -path '*/lib/modules/*' -prune -name "${IMG#linux-image-}" | head -n1)
    [ -n "$MDIR" ] && [ -f "$MDIR"/modules.builtin ] || { log "no modules.builtin in $IMG $BIN $MODS"; exit 1; }
    cp "$MDIR"/config "$LNX"/config 2>/dev/null || true
    rm -rf "$LNX"/modules; mkdir -p "$LNX"/modules
    # (Debian ships no modules.dep (depmod makes it when installing): a module's dependencies
    # are read from its own .modinfo, "depends=a,b".)
    python3 - "$MDIR" "$LNX"/modules virtio_mmio virtio_blk ext4 <<'PY'
import lzma, os, re, subprocess, sys
mdir, out, want = sys.argv[1], sys.argv[2], sys.argv[3:]
norm = lambda p: os.path.basename(p).split(".ko")[0].replace("-", "_")
path = {}
for d, _, fs in os.walk(mdir):
    for f in fs:
        if re.search(r"\.ko(\.xz|\.zst|\.gz)?$", f):
            path[norm(f)] = os.path.join(d, f)
builtin = {norm(l.strip()) for l in open(os.path.join(mdir, "modules.builtin"))}
def load(m):
    src = path[m]
    if src.endswith(".xz"):
        return lzma.open(src).read()
    if src.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", src], check=True, capture_output=True).stdout
    if src.endswith(".gz"):
        import gzip
        return gzip.open(src).read()
    return open(src, "rb").read()
order, data = [], {}
def visit(m):
    if m in order or m in builtin:
        return
    if m not in path:
        sys.exit("bench-build: module %s is neither built in nor shipped" % m)
    data[m] = load(m)
    dm = re.search(rb"(?:^|\0)depends=([^\0]*)\0", data[m])
    for dep in (dm.group(1).decode().split(",") if dm and dm.group(1) else []):
        visit(dep.replace("-", "_"))
    order.append(m)
for m in want:
    visit(m)
with open(os.path.join(out, "load-order"), "w") as lo:
    lo.write("# modules for ext4 on virtio-blk, in load order (built in: %s)\n" % (
        ", ".join(w for w in want if w in builtin) or "none"))
    for m in order:
        open(os.path.join(out, m + ".ko"), "wb").write(data[m])
        lo.write(m + "\n")
PY
    log "storage modules: $(grep -v '^#' "$LNX"/modules/load-order | tr '\n' ' ')"
    BUSYBOX=$(find "$PKG" -path '*bin/busybox' -type f | head -n1)
    [ -n "$BUSYBOX" ] || { log "no busybox in busybox-static"; exit 1; }
    cp "$BUSYBOX" "$LNX"/busybox.tmp
    chmod 755 "$LNX"/busybox.tmp
    # publish atomically (a cut-short run never looks cached)
    mv "$LNX"/Image.tmp "$LNX"/Image
    mv "$LNX"/busybox.tmp "$LNX"/busybox
    echo "${IMG#linux-image-}" > "$LNX"/kernel.version
    rm -rf "$DEBS" "$PKG"                     # the modules are large and unused
    log "kernel $(cat "$LNX"/kernel.version) -> build/bench-linux/Image"
fi

# 3. our binaries ------------------------------------------------------------
CC=riscv64-linux-gnu-gcc
if ! fresh "$OUT"/vbench "$SRC"/vbench.c "$SELF"; then
    log "compile vbench"
    $NICE $CC -O2 -static -Wall -Wextra -o "$OUT"/vbench "$SRC"/vbench.c -lpthread
fi
if ! fresh "$OUT"/vtrue "$SRC"/vtrue.S "$SELF"; then
    log "compile vtrue"
    $NICE $CC -O2 -nostdlib -static -no-pie -Wl,--build-id=none -o "$OUT"/vtrue "$SRC"/vtrue.S
fi
# vtime and the two hello programs: scripts/bench-debian.sh (Debian root, both kernels)
if ! fresh "$OUT"/vtime "$SRC"/vtime.c "$SELF"; then
    log "compile vtime"
    $NICE $CC -O2 -static -Wall -Wextra -Werror -o "$OUT"/vtime "$SRC"/vtime.c
fi
if ! fresh "$OUT"/hello-static "$SRC"/hello.c "$SELF"; then
    log "compile hello-static"
    $NICE $CC -O2 -static -Wall -Werror -o "$OUT"/hello-static "$SRC"/hello.c
fi
if ! fresh "$OUT"/hello-dyn "$SRC"/hello.c "$SELF"; then
    log "compile hello-dyn"
    $NICE $CC -O2 -Wall -Werror -o "$OUT"/hello-dyn "$SRC"/hello.c
fi
BM=$SRC/baremetal
if ! fresh "$OUT"/trapfloor.elf "$BM"/trap.S "$BM"/main.c "$BM"/link.ld "$SELF"; then
    log "compile trapfloor.elf"
    $NICE $CC -O2 -nostdlib -ffreestanding -fno-pic -no-pie -mcmodel=medany -march=rv64gc -mabi=lp64d \
        -static -Wl,--build-id=none -Wl,--no-warn-rwx-segments -T "$BM"/link.ld \
        -o "$OUT"/trapfloor.elf "$BM"/trap.S "$BM"/main.c
fi

if [ $PROGS_ONLY = 1 ]; then
    log "up to date: build/bench/{vbench,vtrue,vtime,hello-static,hello-dyn,trapfloor.elf}"
    exit 0
fi

# 4. Linux initramfs: busybox + init + vbench + vtrue + /etc/{passwd,group} ----
# /init is vbench itself (a symlink): as pid 1 named /init it only notes when
# its main() began (the boot_to_main bench) and execs "busybox sh /init.sh".
# busybox is the pinned binary of Velox's root image (scripts/fetch-busybox.sh; it
# takes build/bench-linux/busybox when that is the same file), so sh_true, sh_loop and
# ls_1000 run the same /bin/busybox on both kernels; init.sh links the applets into
# /bin (/bin/sh, /bin/ls -> /bin/busybox, as in Velox's root). /etc/passwd and
# /etc/group are Velox's (rootfs/etc): ls -l reads them for the owner names.
BB=$("$ROOT"/scripts/fetch-busybox.sh)
INITRD=$LNX/initramfs.cpio.gz
if ! fresh "$INITRD" "$BB" "$ROOT"/rootfs/etc/passwd "$ROOT"/rootfs/etc/group "$SRC"/init \
        "$OUT"/vbench "$OUT"/vtrue "$SELF"; then
    log "initramfs -> build/bench-linux/initramfs.cpio.gz"
    RFS=$LNX/rootfs
    $SUDO rm -rf "$RFS"
    mkdir -p "$RFS"/{bin,bench,dev,etc,proc,sys,tmp}
    cp "$BB" "$RFS"/bin/busybox
    cp "$ROOT"/rootfs/etc/passwd "$ROOT"/rootfs/etc/group "$RFS"/etc/
    chmod 644 "$RFS"/etc/passwd "$RFS"/etc/group
    cp "$SRC"/init "$RFS"/init.sh
    chmod 755 "$RFS"/init.sh "$RFS"/bin/busybox
    cp "$OUT"/vbench "$OUT"/vtrue "$RFS"/bench/
    ln -s bench/vbench "$RFS"/init
    $SUDO mknod -m 600 "$RFS"/dev/console c 5 1   # the kernel opens it for init's stdio
    $SUDO mknod -m 666 "$RFS"/dev/null c 1 3
    # fixed mtimes + --reproducible: same inputs give the same initramfs bytes
    # (in det mode the initramfs bytes influence the numbers slightly)
    $SUDO find "$RFS" -exec touch -h -d @0 {} +
    (cd "$RFS" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet | gzip -9 -n) > "$INITRD".tmp
    mv "$INITRD".tmp "$INITRD"
fi

log "up to date: build/bench/{vbench,vtrue,trapfloor.elf}, build/bench-linux/{Image,initramfs.cpio.gz} (kernel $(cat "$LNX"/kernel.version))"
