#!/usr/bin/env bash
# Download Debian's riscv64 busybox-static, pinned (version and SHA-256 below), to
# build/busybox/busybox; print that path. Idempotent: nothing is fetched when the file is there
# with the pinned checksum (or when scripts/bench-build.sh's build/bench-linux/busybox is the
# same binary: it is copied).
#
#   scripts/fetch-busybox.sh            fetch if needed, print the path
#   scripts/fetch-busybox.sh --version  print the pinned Debian version
#
# The .deb comes from the machine's own Debian mirror (read from /etc/apt, as
# ../shared/TOOLCHAIN.md says) through apt's own downloader (apt-helper), which checks the
# .deb's SHA-256; no apt index is downloaded. When the mirror has moved on to a newer busybox
# (Debian testing keeps only current versions in its pool), snapshot.debian.org is tried (the
# same .deb by its SHA-1; the SHA-256 is checked either way).
#
# Changing the pin (BB_VERSION, BB_DEB, BB_DEB_SHA256, BB_DEB_SHA1, BB_SHA256 below) also means
# regenerating rootfs/busybox-applets.txt and tests/busybox/*.expected (tests/busybox/README.md).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/build/busybox
BB_VERSION=1:1.38.0-3+b1
BB_DEB=busybox-static_1.38.0-3+b1_riscv64.deb
BB_DEB_SHA256=f71edd27e341ff80b297f3a60d718e1a69c33f2266a51381ac2a48e9b7ee1a30
BB_SHA256=092a0cbf8a4e64533d64635c5a71e035334baac4f60c2a0e865b7addeb305d5a # usr/bin/busybox in it
BB_DEB_SHA1=709ee28518ad927f033f4b35bda1539a60d49fed # snapshot.debian.org names files by SHA-1
BB_POOL=pool/main/b/busybox
log() { echo "fetch-busybox: $*" >&2; }

case "${1:-}" in
    "") ;;
    --version) echo "$BB_VERSION"; exit 0 ;;
    *) echo "usage: scripts/fetch-busybox.sh [--version]" >&2; exit 2 ;;
esac

ok() { [ -s "$1" ] && [ "$(sha256sum < "$1" | cut -d' ' -f1)" = "$BB_SHA256" ]; }
if ok "$OUT/busybox"; then echo "$OUT/busybox"; exit 0; fi
mkdir -p "$OUT"
if ok "$ROOT/build/bench-linux/busybox"; then
    cp "$ROOT/build/bench-linux/busybox" "$OUT/busybox.tmp"
    chmod 755 "$OUT/busybox.tmp"; mv "$OUT/busybox.tmp" "$OUT/busybox"
    echo "$OUT/busybox"; exit 0
fi

# tools: apt-helper (apt), dpkg-deb (dpkg) are in every Debian; nothing else is needed
MIRROR=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$MIRROR" ] && [ -f /etc/apt/sources.list ]; then
    MIRROR=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^[a-z]+:\/\//){print $i; exit}}' /etc/apt/sources.list)
fi
[ -n "$MIRROR" ] || { log "no Debian mirror found in /etc/apt"; exit 1; }
MIRROR=${MIRROR%/}

tmp=$(mktemp -d "$OUT/dl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
got=""
sb=(); [ "$(id -u)" -ne 0 ] || sb=(-o APT::Sandbox::User=root)
for url in "$MIRROR/$BB_POOL/$BB_DEB" \
           "https://snapshot.debian.org/file/$BB_DEB_SHA1"; do
    log "downloading $url"
    if /usr/lib/apt/apt-helper "${sb[@]}" download-file "$url" "$tmp/$BB_DEB" "SHA256:$BB_DEB_SHA256" >&2; then
        got=1; break
    fi
done
[ -n "$got" ] || { log "cannot download busybox-static $BB_VERSION (see the comment at the top of this script to re-pin)"; exit 1; }
dpkg-deb -x "$tmp/$BB_DEB" "$tmp/x"
ok "$tmp/x/usr/bin/busybox" || { log "usr/bin/busybox in $BB_DEB does not have the pinned SHA-256"; exit 1; }
cp "$tmp/x/usr/bin/busybox" "$OUT/busybox.tmp"
chmod 755 "$OUT/busybox.tmp"; mv "$OUT/busybox.tmp" "$OUT/busybox"
log "busybox-static $BB_VERSION -> build/busybox/busybox"
echo "$OUT/busybox"
