#!/usr/bin/env bash
# Make a Debian root file system for Velox from real Debian riscv64 packages (suite forky) and
# an ext4 image of it (issue 20: a bash login shell on that root; python3, perl, lua, sqlite3,
# git, gcc in it).
#
#   scripts/debian-root.sh           build what is out of date, print the image's path
#   scripts/debian-root.sh --force   fetch the package index again and rebuild everything
#                                    (picks up newer Debian versions; cached .debs are reused)
#   DEBIAN_ROOT_FLAVOR=rust scripts/debian-root.sh
#                                    the same root plus rootfs/debian-packages-rust.txt
#                                    (Debian's rustc and cargo, about 1 GiB more) in
#                                    build/debian-rust/ (scripts/test-rust.sh uses it)
#
# Inputs: rootfs/debian-packages.txt (the package list), rootfs/debian/ (the Velox files of
# this root: inittab, console shell, profile.d), rootfs/etc/{fstab,hosts,hostname} (shared with
# Velox's own root), build/user/* (Velox's test programs, scripts/build-user.sh), this script.
# Outputs, in build/debian/:
#   cache/           the downloaded .debs (downloaded once; kept for the next rebuild)
#   base/            the Debian tree: the packages unpacked plus what their maintainer scripts
#                    would have done (see "Debian's configuration by hand" below)
#   tree/            base/ plus the Velox layer: the tree the image is made of (hard links to
#                    base/, so it costs no space)
#   rootfs.ext4      the image (root=/dev/vda: scripts/run.sh -r build/debian/rootfs.ext4)
#   packages.lock    what is installed, one package=version a line
#   base.stamp, image.stamp   hashes of the inputs each was made from
#
# Two layers so that only a change of the package list (or this script) runs the package
# tools and needs the network: base/ is remade when the hash of the list and this script
# changes; the image when that or the Velox layer's files change (then it takes seconds, no
# network). When nothing changed this script only hashes its inputs and exits.
#
# How the packages are resolved and unpacked: mmdebstrap (Debian's package, installed here if
# missing) with --variant=extract --architectures=riscv64: apt (the host's, with a
# configuration of mmdebstrap's making for riscv64) resolves the dependencies of the listed
# packages (Depends and Pre-Depends; no Recommends) and downloads them, and mmdebstrap
# unpacks each one with dpkg-deb. The extract variant runs nothing of the target
# architecture (mmdebstrap skips its emulation check for it), so no qemu-user or binfmt is
# needed; --skip=chroot/mount keeps it from mounting /dev, /proc, /sys into the tree (nothing
# runs in there). The mirror is the machine's own (read from /etc/apt, as
# ../shared/TOOLCHAIN.md says), suite forky.
#
# Maintainer scripts do not run (they are riscv64 programs and scripts that expect to run
# inside the target), so this script does what matters of them (Debian's configuration by
# hand, in configure_base below). No /etc/ld.so.cache: the host's ldconfig refuses riscv64
# libraries ("unknown machine 243") and Debian's is a riscv64 program; glibc's ld.so does not
# need one: without it, it searches its built-in system directories, which in Debian's riscv64
# ld.so are /lib/riscv64-linux-gnu/, /usr/lib/riscv64-linux-gnu/, /lib/, /usr/lib/ (the
# strings in ld-linux-riscv64-lp64d.so.1; glibc's trusted-dirs from Debian's slibdir and
# libdir), and every shared library of these packages is in /usr/lib/riscv64-linux-gnu
# (= /lib/riscv64-linux-gnu: merged /usr). No Python byte-code is compiled (python3's
# postinst would run py3compile, a riscv64 program): Python writes __pycache__ on first import.
# The dpkg database stays empty (dpkg -l lists nothing; packages.lock says what is there).
#
# Not root: the whole script runs under fakeroot (as scripts/mkdisk.sh does), with its state
# saved in build/debian/fakeroot.state so the owners of base/ survive from one run to the next.
set -euo pipefail
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
if [ "$(id -u)" != 0 ]; then
    st=$(cd "$(dirname "$SELF")/.." && pwd)/build/debian/fakeroot.state
    mkdir -p "$(dirname "$st")"; touch "$st"
    exec fakeroot -i "$st" -s "$st" -- "$SELF" "$@"
fi
source "$(dirname "$SELF")/env.sh"
OUT=$BUILD/debian
LIST=$ROOT/rootfs/debian-packages.txt
EXTRA_LIST=""
case "${DEBIAN_ROOT_FLAVOR:-}" in
    "") ;;
    rust) OUT=$BUILD/debian-rust; EXTRA_LIST=$ROOT/rootfs/debian-packages-rust.txt ;;
    *) echo "debian-root: unknown DEBIAN_ROOT_FLAVOR '$DEBIAN_ROOT_FLAVOR' (rust)" >&2; exit 2 ;;
esac
LAYER=$ROOT/rootfs/debian
SUITE=forky
ARCH=riscv64
# mkfs.ext4's time, UUID and hash seed are fixed, as in scripts/mkdisk.sh. (The image is
# not reproducible to the byte even so: mkfs.ext4 -d copies each file's ctime and atime.)
EPOCH=1700000000
UUID=6c6f7665-7665-4c6f-8000-000000000003
HASH_SEED=6c6f7665-7665-4c6f-8000-000000000004
log() { echo "debian-root: $*" >&2; }
die() { log "$*"; exit 1; }

force=0
case "${1:-}" in
    "") ;;
    --force) force=1 ;;
    *) echo "usage: scripts/debian-root.sh [--force]" >&2; exit 2 ;;
esac
[ -f "$LIST" ] || die "$LIST not found"
mkdir -p "$OUT"

# ---- what is out of date ------------------------------------------------------------------
# base key: the package names (comments and blanks do not count) and this script.
packages() { sed -e 's/#.*//' -e 's/[[:space:]]//g' "$LIST" ${EXTRA_LIST:+"$EXTRA_LIST"} | grep -v '^$'; }
base_key=$( { packages; sha256sum < "$SELF"; } | sha256sum | cut -d' ' -f1)
# Velox layer files: rootfs/debian/, the shared /etc files, the test programs (names, modes
# and contents).
velox_files() {
    (cd "$ROOT" && find rootfs/debian -type f -o -type l; printf '%s\n' rootfs/etc/fstab rootfs/etc/hosts rootfs/etc/hostname) | LC_ALL=C sort
    if [ -d "$BUILD/user" ]; then find "$BUILD/user" -maxdepth 1 -type f ! -name '*.tmp' | LC_ALL=C sort; fi
}
image_key=$( {
    echo "$base_key"
    velox_files | while read -r f; do
        p=$f; [ "${p#/}" != "$p" ] || p=$ROOT/$f
        echo "${f#"$ROOT"/} $(stat -c %a "$p") $(sha256sum < "$p")"
    done
} | sha256sum | cut -d' ' -f1)
IMG=$OUT/rootfs.ext4
if [ $force = 0 ] && [ -f "$IMG" ] && [ "$(cat "$OUT/image.stamp" 2>/dev/null)" = "$image_key" ]; then
    log "up to date ($(wc -l < "$OUT/packages.lock") packages)"
    echo "$IMG"; exit 0
fi

# ---- tools (idempotent, as scripts/setup.sh: only what is missing) -------------------------
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
need=()
# mmdebstrap (Debian 12 has 1.3.5), gpg (mmdebstrap finds the mirror's signing key with it),
# e2fsprogs (mkfs.ext4, e2fsck), fakeroot (when not root)
for p in mmdebstrap gpg e2fsprogs fakeroot; do have_pkg "$p" || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] && [ -z "${FAKEROOTKEY:-}" ] || SUDO=sudo
    $SUDO apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}" >&2
fi

# ---- the base tree: mmdebstrap --variant=extract -------------------------------------------
CACHE=$OUT/cache
BASE=$OUT/base

mirror() {
    local m=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
        m=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^[a-z]+:\/\//){print $i; exit}}' /etc/apt/sources.list)
    fi
    [ -n "$m" ] || die "no Debian mirror found in /etc/apt"
    echo "${m%/}"
}

make_base() {
    local new=$OUT/base.new m t0 t1 ndl=0 kb=0 opts=() d f
    m=$(mirror)
    mkdir -p "$CACHE"
    rm -rf "$new" "$OUT/debs.list"
    # The machine's own apt policy for Release files: this workplace's mirror is a frozen
    # snapshot whose Release has an expired Valid-Until, and the host's apt says so
    # (Acquire::Check-Valid-Until "false"); mmdebstrap's apt does not read the host's
    # apt.conf.d, so the setting is passed on (the signature is checked either way).
    for o in Acquire::Check-Valid-Until Acquire::Check-Date; do
        v=$(apt-config dump "$o" 2>/dev/null | sed -n "s/^$o \"\(.*\)\";$/\1/p")
        if [ -n "$v" ]; then opts+=("--aptopt=$o \"$v\""); fi
    done
    (cd "$CACHE" && find . -maxdepth 1 -name '*.deb' -printf '%f\n') > "$OUT/cache.before"
    log "resolving and unpacking $(packages | wc -l) packages (and their dependencies) from $m $SUITE/$ARCH"
    t0=$(date +%s)
    # Hooks (mmdebstrap runs them as `sh -c HOOK exec TARGET`):
    #   setup:   hard-link the cached .debs into the tree's apt archive: apt downloads only
    #            what is not there (or differs)
    #   extract: hard-link every .deb used back into the cache; record their names (for
    #            packages.lock)
    # (mmdebstrap's cleanup empties the tree's archive afterwards; the links in cache/ stay.)
    VELOX_DEB_CACHE=$CACHE VELOX_DEB_LIST=$OUT/debs.list \
    mmdebstrap --mode=root --variant=extract --architectures="$ARCH" --format=directory \
        --skip=chroot/mount "${opts[@]}" \
        --setup-hook='mkdir -p "$1/var/cache/apt/archives" && cp -al "$VELOX_DEB_CACHE/." "$1/var/cache/apt/archives/"' \
        --extract-hook='for d in $MMDEBSTRAP_ESSENTIAL; do ln -f "$1/$d" "$VELOX_DEB_CACHE/" 2>/dev/null || cp -f "$1/$d" "$VELOX_DEB_CACHE/"; echo "${d##*/}"; done > "$VELOX_DEB_LIST"' \
        --include="$(packages | paste -sd,)" \
        "$SUITE" "$new" "deb [arch=$ARCH] $m $SUITE main" \
        2> >(grep --line-buffered -v 'skipping chroot/mount' >&2) >&2
    t1=$(date +%s)
    [ -s "$OUT/debs.list" ] || die "mmdebstrap unpacked no packages"
    # packages.lock: package=version of every .deb unpacked (from its control file)
    while read -r d; do
        dpkg-deb -W --showformat='${Package}=${Version}\n' "$CACHE/$d"
    done < "$OUT/debs.list" | LC_ALL=C sort > "$OUT/packages.lock.new"
    # What was downloaded this time (the .debs that were not in the cache before)
    while read -r d; do
        if ! grep -qxF "$d" "$OUT/cache.before"; then ndl=$((ndl + 1)); kb=$((kb + $(stat -c %s "$CACHE/$d") / 1024)); fi
    done < "$OUT/debs.list"
    # The cache keeps what this build used (older versions go)
    for f in "$CACHE"/*.deb; do
        grep -qxF "${f##*/}" "$OUT/debs.list" || rm -f "$f"
    done
    rm -f "$OUT/cache.before"
    log "$(wc -l < "$OUT/packages.lock.new") packages resolved and unpacked in $((t1 - t0)) s;" \
        "downloaded $ndl .debs, $((kb / 1024)) MiB (cache: $(( $(du -sk "$CACHE" | cut -f1) / 1024 )) MiB)"
    configure_base "$new"
    rm -rf "$BASE"; mv "$new" "$BASE"
    mv "$OUT/packages.lock.new" "$OUT/packages.lock"
    echo "$base_key" > "$OUT/base.stamp"
}

# ---- Debian's configuration by hand (what the maintainer scripts would have done) ---------
# Alternatives (update-alternatives --install in the postinsts of these packages): LINK NAME
# TARGET... ; the first TARGET in the tree wins (they are in the packages' priority order),
# a link whose targets are all missing (package not in the list) is left out. The links are
# Debian's two-step ones: LINK -> /etc/alternatives/NAME -> TARGET. (No dpkg admin files in
# /var/lib/dpkg/alternatives: update-alternatives in the guest does not know of them.)
ALTERNATIVES='
/usr/bin/awk       awk             /usr/bin/mawk
/usr/bin/nawk      nawk            /usr/bin/mawk
/usr/bin/which     which           /usr/bin/which.debianutils
/usr/bin/cc        cc              /usr/bin/gcc
/usr/bin/c89       c89             /usr/bin/c89-gcc
/usr/bin/c99       c99             /usr/bin/c99-gcc
/usr/lib/cpp       cpp             /usr/bin/cpp
/usr/bin/pager     pager           /usr/bin/less /usr/bin/more
/usr/bin/editor    editor          /usr/bin/vim.tiny
/usr/bin/vi        vi              /usr/bin/vim.tiny
/usr/bin/view      view            /usr/bin/vim.tiny
/usr/bin/ex        ex              /usr/bin/vim.tiny
/usr/bin/rview     rview           /usr/bin/vim.tiny
/usr/bin/lua       lua-interpreter /usr/bin/lua5.4
/usr/bin/luac      lua-compiler    /usr/bin/luac5.4
/usr/sbin/rmt      rmt             /usr/sbin/rmt-tar
/usr/bin/lzma      lzma            /usr/bin/xz
/usr/bin/unlzma    unlzma          /usr/bin/unxz
/usr/bin/lzcat     lzcat           /usr/bin/xzcat
/usr/bin/lzmore    lzmore          /usr/bin/xzmore
/usr/bin/lzless    lzless          /usr/bin/xzless
/usr/bin/lzdiff    lzdiff          /usr/bin/xzdiff
/usr/bin/lzcmp     lzcmp           /usr/bin/xzcmp
/usr/bin/lzgrep    lzgrep          /usr/bin/xzgrep
/usr/bin/lzegrep   lzegrep         /usr/bin/xzegrep
/usr/bin/lzfgrep   lzfgrep         /usr/bin/xzfgrep
'
# Not Debian's (vim-tiny does not provide `vim`), asked for in issue 20: vim runs vim.tiny.
EXTRA_LINKS='
/usr/bin/vim       vim.tiny
'

configure_base() {
    local t=$1 l n tg got src
    # Merged /usr: base-files ships /bin, /sbin, /lib -> usr/...; check, since everything
    # below (and the ELF interpreter /lib/ld-linux-riscv64-lp64d.so.1) relies on it.
    for l in bin sbin lib; do
        [ -L "$t/$l" ] || die "/$l is not a symbolic link (merged /usr) in the unpacked tree"
    done
    # base-passwd (update-passwd): /etc/passwd and /etc/group from its masters, passwords in
    # /etc/shadow. root and Velox's test user (uid 1000, as on Velox's own root) have no
    # password, as on Velox's root; the system accounts are locked.
    sed 's/^\([^:]*\):\*:/\1:x:/' "$t/usr/share/base-passwd/passwd.master" > "$t/etc/passwd"
    echo "user:x:1000:1000:user:/home/user:/bin/bash" >> "$t/etc/passwd"
    sed -e 's/^\([^:]*\):\*:/\1:x:/' -e 's/^users:x:100:$/users:x:100:user/' \
        "$t/usr/share/base-passwd/group.master" > "$t/etc/group"
    echo "user:x:1000:" >> "$t/etc/group"
    awk -F: '{ pw = ($1 == "root" || $1 == "user") ? "" : "*"; print $1 ":" pw ":0:0:99999:7:::" }' \
        "$t/etc/passwd" > "$t/etc/shadow"
    awk -F: '{ print $1 ":*::" $4 }' "$t/etc/group" > "$t/etc/gshadow"
    chmod 644 "$t/etc/passwd" "$t/etc/group"; chmod 640 "$t/etc/shadow" "$t/etc/gshadow"
    chown 0:42 "$t/etc/shadow" "$t/etc/gshadow"   # group shadow, as Debian's passwd package sets
    # base-files (postinst, first install): root's dot files, /etc/profile (PATH: /usr/local/sbin,
    # /usr/local/bin, /usr/sbin, /usr/bin, /sbin, /bin for root), /etc/motd, the standard
    # directories, /var/run and /var/lock into /run, /usr/local.
    install -m 644 "$t/usr/share/base-files/dot.profile" "$t/root/.profile"
    install -m 644 "$t/usr/share/base-files/dot.bashrc" "$t/root/.bashrc"
    install -m 644 "$t/usr/share/base-files/profile" "$t/etc/profile"
    install -m 644 "$t/usr/share/base-files/motd" "$t/etc/motd"
    chmod 700 "$t/root"
    for d in mnt srv opt etc/opt var/opt media; do install -d -m 755 "$t/$d"; done
    install -d -m 2775 -g 8 "$t/var/mail"                   # group mail
    [ -e "$t/var/spool/mail" ] || ln -s ../mail "$t/var/spool/mail"
    install -d -m 1777 "$t/run/lock"
    for l in run:/run lock:/run/lock; do
        if [ ! -L "$t/var/${l%%:*}" ]; then rmdir "$t/var/${l%%:*}" 2>/dev/null || true; ln -s "${l#*:}" "$t/var/${l%%:*}"; fi
    done
    for d in "" share share/man bin games lib libexec include sbin src etc; do install -d -m 755 "$t/usr/local/$d"; done
    ln -sfn share/man "$t/usr/local/man"
    if [ -e "$t/etc/dpkg/origins/debian" ] && [ ! -e "$t/etc/dpkg/origins/default" ]; then ln -s debian "$t/etc/dpkg/origins/default"; fi
    if [ -f "$t/usr/share/base-files/info.dir" ] && [ ! -f "$t/usr/share/info/dir" ]; then
        install -D -m 644 "$t/usr/share/base-files/info.dir" "$t/usr/share/info/dir"
    fi
    install -d -m 1777 "$t/tmp"
    install -d -m 755 -o 1000 -g 1000 "$t/home/user"
    # debianutils (update-shells): /etc/shells from its list and the shells' drop-ins
    { cat "$t/usr/share/debianutils/shells"; cat "$t/usr/share/debianutils/shells.d/"* 2>/dev/null; } |
        awk '!seen[$0]++' > "$t/etc/shells"
    # libc-bin: /etc/nsswitch.conf (ldconfig: see the top of this script)
    install -m 644 "$t/usr/share/libc-bin/nsswitch.conf" "$t/etc/nsswitch.conf"
    # libpam-runtime (pam-auth-update with the default unix profile): the common-* files that
    # su, runuser and login include
    if [ -d "$t/etc/pam.d" ]; then
        printf '%s\n' 'auth	[success=1 default=ignore]	pam_unix.so nullok' \
            'auth	requisite			pam_deny.so' 'auth	required			pam_permit.so' > "$t/etc/pam.d/common-auth"
        printf '%s\n' 'account	[success=1 new_authtok_reqd=done default=ignore]	pam_unix.so' \
            'account	requisite			pam_deny.so' 'account	required			pam_permit.so' > "$t/etc/pam.d/common-account"
        printf '%s\n' 'password	[success=1 default=ignore]	pam_unix.so obscure yescrypt' \
            'password	requisite			pam_deny.so' 'password	required			pam_permit.so' > "$t/etc/pam.d/common-password"
        for n in common-session common-session-noninteractive; do
            printf '%s\n' 'session	[default=1]			pam_permit.so' 'session	requisite			pam_deny.so' \
                'session	required			pam_permit.so' 'session	required	pam_unix.so' > "$t/etc/pam.d/$n"
        done
    fi
    # update-alternatives
    install -d -m 755 "$t/etc/alternatives"
    while read -r l n tg; do
        [ -n "$l" ] || continue
        got=""
        for src in $tg; do if [ -e "$t$src" ] || [ -L "$t$src" ]; then got=$src; break; fi; done
        [ -n "$got" ] || continue
        ln -sfn "$got" "$t/etc/alternatives/$n"
        ln -sfn "/etc/alternatives/$n" "$t$l"
    done <<< "$ALTERNATIVES"
    while read -r l tg; do
        [ -n "$l" ] || continue
        if [ -e "$t/usr/bin/$tg" ] && [ ! -e "$t$l" ] && [ ! -L "$t$l" ]; then ln -s "$tg" "$t$l"; fi
    done <<< "$EXTRA_LINKS"
    # The machine's files that mmdebstrap copies in (it expects a chroot with network):
    # no network in the guest, and the host name is Velox's (the Velox layer's /etc/hostname)
    rm -f "$t/etc/resolv.conf" "$t/etc/hostname"
    # /sbin/init: busybox init (from busybox-static), as on Velox's own root; the
    # Velox layer's /etc/inittab runs the console shell (bash --login)
    [ -x "$t/usr/bin/busybox" ] || die "busybox-static is not in the tree (rootfs/debian-packages.txt)"
    ln -sfn /usr/bin/busybox "$t/usr/sbin/init"
}

if [ $force = 1 ] || [ ! -d "$BASE" ] || [ "$(cat "$OUT/base.stamp" 2>/dev/null)" != "$base_key" ]; then
    make_base
else
    log "base tree up to date ($(wc -l < "$OUT/packages.lock") packages)"
fi

# ---- the Velox layer -------------------------------------------------------------------------
# tree/ = base/ as hard links (no space, a second) plus the Velox files. A file is put in
# by removing what is at its place first (never writing through a hard link), so base/ stays
# as it is.
TREE=$OUT/tree
rm -rf "$TREE"
cp -al "$BASE" "$TREE"
put() { # put SRC DEST MODE: a new file at DEST (relative to the tree)
    rm -f "$TREE/$2"; install -D -m "$3" "$1" "$TREE/$2"
}
(cd "$LAYER" && find . -type f | LC_ALL=C sort) | while read -r f; do
    m=644; [ -x "$LAYER/$f" ] && m=755
    put "$LAYER/$f" "${f#./}" $m
done
put "$ROOT/rootfs/etc/hostname" etc/hostname 644
put "$ROOT/rootfs/etc/hosts" etc/hosts 644
# /etc/fstab: Velox's (proc, devtmpfs, sysfs, tmpfs /tmp) and a tmpfs on /run, which
# Debian keeps in memory (/var/run and /var/lock lead there)
rm -f "$TREE/etc/fstab"
{ cat "$ROOT/rootfs/etc/fstab"; printf 'tmpfs\t/run\ttmpfs\tmode=755\t0\t0\n'; } > "$TREE/etc/fstab"
chmod 644 "$TREE/etc/fstab"
# Velox's test programs (static) at /velox/bin: not in /bin, where Debian's true, false and
# sync are (`run.sh -r build/debian/rootfs.ext4 -c /velox/bin/NAME`)
install -d -m 755 "$TREE/velox/bin"
if [ -d "$BUILD/user" ] && [ -n "$(ls -A "$BUILD/user")" ]; then
    find "$BUILD/user" -maxdepth 1 -type f ! -name '*.tmp' -exec cp -t "$TREE/velox/bin/" {} +
else
    log "warning: no build/user (scripts/build-user.sh): /velox/bin is empty"
fi
chown -hR 0:0 "$TREE/velox" "$TREE/etc/velox"

# ---- the image --------------------------------------------------------------------------------
# Size: twice what the tree takes (about half of the file system free), rounded up to 256 MiB,
# at least 1 GiB; a sparse file. Owners come from the tree (root_owner for the root directory).
used_mb=$(( $(du -sk "$TREE" | cut -f1) / 1024 ))
size_mb=$(( (used_mb * 2 + 255) / 256 * 256 ))
[ $size_mb -ge 1024 ] || size_mb=1024
log "making $IMG ($size_mb MiB, the tree takes $used_mb MiB)"
rm -f "$IMG.tmp"
mkfs=$(command -v mkfs.ext4 || echo /sbin/mkfs.ext4)
E2FSPROGS_FAKE_TIME=$EPOCH "$mkfs" -q -F -b 4096 -L debian-root \
    -U "$UUID" -E "hash_seed=$HASH_SEED,root_owner=0:0" -d "$TREE" "$IMG.tmp" "${size_mb}M" >&2
e2fsck=$(command -v e2fsck || echo /sbin/e2fsck)
if ! "$e2fsck" -fn "$IMG.tmp" > "$OUT/e2fsck.log" 2>&1; then
    cat "$OUT/e2fsck.log" >&2; die "e2fsck -fn found errors in the new image"
fi
mv "$IMG.tmp" "$IMG"
echo "$image_key" > "$OUT/image.stamp"
log "$(wc -l < "$OUT/packages.lock") packages; $(sed -n 's/.* \([0-9]*\/[0-9]*\) blocks$/\1/p' "$OUT/e2fsck.log") blocks of 4 KiB in use"
echo "$IMG"
