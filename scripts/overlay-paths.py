#!/usr/bin/env python3
"""Make an overlay tree land where the same copy inside a booted system would put it.

    scripts/overlay-paths.py STAGE IMAGE

STAGE is a directory tree about to be copied over the root of the ext4 IMAGE (scripts/run.sh -r
with -e: Velox's kernel unpacks it over the disk root; scripts/linux-debian.sh -e: its /init
copies it with cp-like semantics). A copy made by a running system follows symlinks on the
way: on Debian's merged-/usr root, /bin, /sbin and /lib are symlinks into /usr, so an
overlay's bin/foo lands in /usr/bin/foo. Velox's RAM-disk unpacker does not follow them (an
entry under a symlinked directory fails with ENOTDIR), so this moves, in STAGE, every
directory whose path is a symlink in IMAGE to where that symlink leads (merging with what is
there), until no staged directory sits on an image symlink. The image is only read (e2fsprogs'
debugfs), never written. Directories the image does not have are new subtrees and are left
alone.
"""
import os
import shutil
import subprocess
import sys

stage, image = sys.argv[1], sys.argv[2]
cache = {}


def kind(path):
    """('missing'|'dir'|'other', None) or ('symlink', target) for PATH in the image.
    (debugfs follows symlinks in the leading components, not in the last.)"""
    if path not in cache:
        r = subprocess.run(["debugfs", "-R", 'stat "%s"' % path, image],
                           capture_output=True, text=True, errors="replace")
        out = r.stdout
        res = ("missing", None)
        for ln in out.split("\n"):
            if ln.startswith("Inode:") and "Type:" in ln:
                t = ln.split("Type:")[1].split()[0]
                res = ("dir", None) if t == "directory" else ("symlink", None) if t == "symlink" else ("other", None)
        if res[0] == "symlink":
            tgt = None
            for ln in out.split("\n"):
                if ln.startswith("Fast link dest:"):
                    tgt = ln.split(":", 1)[1].strip()
                    if len(tgt) >= 2 and tgt[0] == tgt[-1] == '"':
                        tgt = tgt[1:-1]
            if tgt is None:  # a slow symlink (target of 60 bytes or more): its data block
                r = subprocess.run(["debugfs", "-R", 'cat "%s"' % path, image],
                                   capture_output=True)
                tgt = r.stdout.decode("utf-8", "replace").rstrip("\0")
            res = ("symlink", tgt)
        cache[path] = res
    return cache[path]


def merge(src, dst):
    os.makedirs(dst, exist_ok=True)
    subprocess.run(["cp", "-a", src + "/.", dst + "/"], check=True)
    shutil.rmtree(src)


for _ in range(64):
    moved = False
    for dirpath, dirnames, _files in os.walk(stage, topdown=True):
        rel = "/" + os.path.relpath(dirpath, stage).lstrip(".").lstrip("/")
        keep = []
        for dn in sorted(dirnames):
            if os.path.islink(os.path.join(dirpath, dn)):
                continue
            p = os.path.join(rel, dn)
            k, tgt = kind(p)
            if k == "symlink":
                to = os.path.normpath(tgt if tgt.startswith("/") else os.path.join(rel, tgt))
                to = "/" + to.lstrip("/")
                if to == p:
                    continue
                merge(os.path.join(stage, p.lstrip("/")), os.path.join(stage, to.lstrip("/")))
                print("overlay-paths: %s -> %s (a symlink in %s)" % (p, to, os.path.basename(image)),
                      file=sys.stderr)
                moved = True
                break
            if k == "dir":
                keep.append(dn)
        dirnames[:] = keep
        if moved:
            break
    if not moved:
        sys.exit(0)
sys.exit("overlay-paths: symlinks in %s do not settle (a loop?)" % image)
