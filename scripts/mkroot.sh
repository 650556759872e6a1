#!/usr/bin/env bash
# Make a RAM-disk image (cpio newc) for Velox.
#   mkroot.sh OUT.cpio CMDFILE|- [EXTRA_DIR...]
#   mkroot.sh --dir OUTDIR CMDFILE|- [EXTRA_DIR...]   the same tree as a directory (OUTDIR must
#                                                     not exist; scripts/test-busybox.sh uses it)
# Contents, in this order (a later one wins):
#   - Debian's busybox-static (scripts/fetch-busybox.sh, pinned) at /bin/busybox, with its applet
#     links (rootfs/busybox-applets.txt: bin/, sbin/, usr/bin/, usr/sbin/) as symbolic links to
#     /bin/busybox; VELOX_BUSYBOX=0 in the environment leaves busybox and its links out
#   - rootfs/ (/etc: passwd, group, hostname, profile, inittab, ...)
#   - the busybox script tests at /tests/busybox/ (tests/busybox/run and *.sh)
#   - empty /tmp (1777), /root (700), /home/user (owned by 1000:1000), /proc, /dev, /sys, /mnt
#   - build/user/* at /bin: Velox's test programs replace the applet links of the same name
#     (true, false, sync), since the kernel's test runner runs /bin/NAME; build/userlib/* at /
#     (glibc's ld.so, libc and libm from the cross toolchain, for the dynamic test programs)
#   - CMDFILE at /etc/velox/cmd, then each EXTRA_DIR at /.
# Reproducible: the same inputs give the same bytes (sorted names, every mtime 0, owner root
# except /home/user and what EXTRA_DIRs bring, inode numbers from cpio --reproducible).
#   mkroot.sh --overlay OUT.cpio CMDFILE|- [EXTRA_DIR...]
#                       only CMDFILE and the EXTRA_DIRs (the kernel unpacks them over a root
#                       on disk: run.sh -r)
set -euo pipefail
source "$(dirname "$0")/env.sh"
asdir=0; overlay=0
if [ "${1:-}" = --dir ]; then asdir=1; shift; fi
if [ "${1:-}" = --overlay ]; then overlay=1; shift; fi
[ $# -ge 2 ] || { echo "usage: mkroot.sh [--dir] OUT CMDFILE|- [EXTRA_DIR...]" >&2; exit 2; }
out=$1; cmdfile=$2; shift 2
if [ $asdir = 1 ]; then
    [ ! -e "$out" ] || { echo "mkroot.sh: $out exists" >&2; exit 2; }
    mkdir -p "$out"; stage=$(cd "$out" && pwd)
else
    stage=$(mktemp -d "$BUILD/root.XXXXXX")
    trap 'rm -rf "$stage"' EXIT
fi
if [ $overlay = 1 ]; then
    if [ "$cmdfile" != - ]; then mkdir -p "$stage/etc/velox"; cp "$cmdfile" "$stage/etc/velox/cmd"; fi
    for d in "$@"; do cp -a "$d/." "$stage/"; done
    (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) > "$out"
    exit 0
fi
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc/velox,tmp,root,home/user,proc,dev,sys,mnt,tests}
chmod 1777 "$stage/tmp"; chmod 700 "$stage/root"
if [ "${VELOX_BUSYBOX:-1}" != 0 ]; then
    bb=$("$ROOT/scripts/fetch-busybox.sh")
    cp "$bb" "$stage/bin/busybox"; chmod 755 "$stage/bin/busybox"
    # one process for the ~280 links (perl-base is essential in Debian: always there)
    grep -v -e '^#' -e '^$' -e '^bin/busybox$' "$ROOT/rootfs/busybox-applets.txt" |
        (cd "$stage" && perl -ne 'chomp; symlink("/bin/busybox", $_) or die "mkroot.sh: $_: $!\n"')
fi
cp -R "$ROOT/rootfs/etc/." "$stage/etc/"
chmod -R u=rwX,go=rX "$stage/etc"; chmod 600 "$stage/etc/shadow"
mkdir -p "$stage/tests/busybox"
for f in "$ROOT"/tests/busybox/run "$ROOT"/tests/busybox/*.sh; do if [ -f "$f" ]; then install -m 755 "$f" "$stage/tests/busybox/"; fi; done
if [ -d "$BUILD/user" ]; then
    for f in "$BUILD"/user/*; do rm -f "$stage/bin/${f##*/}"; done
    cp -a "$BUILD/user/." "$stage/bin/"
fi
# the loader and libraries of the dynamically linked test programs (scripts/build-user.sh)
if [ -d "$BUILD/userlib" ]; then cp -a "$BUILD/userlib/." "$stage/"; fi
if [ "$cmdfile" != - ]; then cp "$cmdfile" "$stage/etc/velox/cmd"; fi
# Owners: root (where this runs as root; otherwise cpio -R 0:0 below), /home/user for the user of
# /etc/passwd. EXTRA_DIRs keep theirs.
rflag=(-R 0:0)
if [ "$(id -u)" = 0 ]; then chown -hR 0:0 "$stage"; chown 1000:1000 "$stage/home/user"; rflag=(); fi
for d in "$@"; do cp -a "$d/." "$stage/"; done
find "$stage" -exec touch -h -d @0 {} +
[ $asdir = 1 ] && exit 0
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc "${rflag[@]}" --reproducible) > "$out"
