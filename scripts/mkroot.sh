#!/usr/bin/env bash
# Make a RAM-disk image (cpio newc) for Velox.
#   mkroot.sh OUT.cpio CMDFILE|- [EXTRA_DIR...]
# Contents: build/user/* at /bin, CMDFILE at /etc/velox/cmd, then each EXTRA_DIR at /.
set -euo pipefail
source "$(dirname "$0")/env.sh"
out=$1; cmdfile=$2; shift 2
stage=$(mktemp -d "$BUILD/root.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/etc/velox" "$stage/tmp"
if [ -d "$BUILD/user" ]; then cp -a "$BUILD/user/." "$stage/bin/"; fi
if [ "$cmdfile" != - ]; then cp "$cmdfile" "$stage/etc/velox/cmd"; fi
for d in "$@"; do cp -a "$d/." "$stage/"; done
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc --reproducible) > "$out"
