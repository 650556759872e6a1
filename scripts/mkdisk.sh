#!/usr/bin/env bash
# Make an ext4 root-file-system image for Velox (the same tree as the RAM disk: mkroot.sh).
#   mkdisk.sh OUT.img [EXTRA_DIR...]
# Size: VELOX_DISK_MB (default 256) MiB, 4 KiB blocks, Linux's default ext4 features (extents,
# 64bit, metadata_csum, dir_index, a journal), made by e2fsprogs' `mkfs.ext4 -d` from the tree.
set -euo pipefail
# Not root: under fakeroot, so the image's files belong to root (mkfs.ext4 -d copies owners),
# not to the user who made it (who would be uid 1000, Velox's `user`).
if [ "$(id -u)" != 0 ]; then exec fakeroot -- "$0" "$@"; fi
source "$(dirname "$0")/env.sh"
[ $# -ge 1 ] || { echo "usage: mkdisk.sh OUT.img [EXTRA_DIR...]" >&2; exit 2; }
out=$1; shift
mb=${VELOX_DISK_MB:-256}
stage=$(mktemp -d "$BUILD/disk.XXXXXX")
trap 'rm -rf "$stage"' EXIT
"$ROOT/scripts/mkroot.sh" --dir "$stage/tree" - "$@"
rm -f "$out.tmp"
# (E2FSPROGS_FAKE_TIME and a fixed UUID and hash seed keep the image reproducible.)
mkfs=$(command -v mkfs.ext4 || echo /sbin/mkfs.ext4)
E2FSPROGS_FAKE_TIME=1700000000 "$mkfs" -q -F -b 4096 -L velox-root \
    -U 6c6f7665-7665-4c6f-8000-000000000001 -E hash_seed=6c6f7665-7665-4c6f-8000-000000000002,root_owner=0:0 \
    -d "$stage/tree" "$out.tmp" "${mb}M"
mv "$out.tmp" "$out"
