#!/usr/bin/env bash
# Storage benchmarks (issue 19; part of `make bench`; alone: scripts/bench-storage.sh [SCALE]):
# vbench's "storage" group (user/bench/vbench.c: seq_read_cold, rand_read_4k, find_10k, tar_tree,
# seq_read_cached, seq_write, create_unlink) on Linux and on Velox, each kernel on its own fresh
# copy of the same ext4 image (scripts/mkdisk.sh) on a virtio-blk disk, in the same QEMU with
# the same det-mode options, one boot each. Writes build/bench-results/storage-*.log and
# docs/benchmarks-storage.md (the table: Linux, Velox, ratio per line; the commands).
#
#   scripts/bench-storage.sh [SCALE]    SCALE: vbench -s (default BENCH_SCALE, else 1)
#   scripts/bench-storage.sh --report   only rewrite docs/benchmarks-storage.md from the logs
#
# The data set is made on the host and put into the image by mkfs.ext4 -d (in /vbench-data):
# the 10,000-file tree (100 directories of 100 files of 100..4099 bytes, vbench's TREE_SIZE),
# and two files of 64 MiB (SCALE x 64 MiB below scale 1, at least 4) for the sequential and the
# random reads. Nothing reads them before vbench does, so the first read of a boot is cold on
# both kernels (as cold as the guest can see: the image file itself is in the host's page
# cache). Velox boots with the image as its root (run.sh -r; the data at /vbench-data); Linux
# boots the bench initramfs with an init that loads virtio_mmio, virtio_blk and ext4 (with
# their dependencies: Debian builds them as modules; scripts/bench-build.sh keeps them in
# build/bench-linux/modules/) and mounts /dev/vda on /mnt (the data at /mnt/vbench-data).
# Both QEMUs run with -mem-prealloc: guest RAM is touched on the host before the guest starts.
# Otherwise the first write to a guest page costs host time (the host's own page fault, large
# on this nested-virtualisation host) that icount hides when the guest's code makes it and
# counts when it falls in an idle wait because the disk makes it: Debian's Linux zeroes each
# page it allocates (init_on_alloc), Velox lets the disk fill page-cache pages untouched, and
# its cold sequential reads swung between 408 and 1,776 MB/s from boot to boot
# (docs/ext4.md). After each boot `e2fsck -fn` checks the image. Env: BENCH_TIMEOUT (QEMU seconds per boot,
# default 1800), BENCH_STORAGE_DISK_MB (image size, default 768).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
RES=$BUILD/bench-results; mkdir -p "$RES"
LNX=$BUILD/bench-linux
OUT=docs/benchmarks-storage.md
REPORT_ONLY=0
if [ "${1:-}" = --report ]; then REPORT_ONLY=1; shift; fi
S=${1:-${BENCH_SCALE:-1}}
[[ $S =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "bench-storage: bad scale '$S'" >&2; exit 2; }
TMO=${BENCH_TIMEOUT:-1800}
CMDS=$RES/storage-commands.txt

if [ $REPORT_ONLY = 0 ]; then
start=$(date +%s)
: > "$CMDS"
rec() { echo "$*" >> "$CMDS"; }
# What it needs: the Linux kernel with its storage modules, vbench, a Velox kernel.
if ! { [ -s "$LNX/Image" ] && [ -s "$LNX/modules/load-order" ] && [ -d "$LNX/rootfs" ]; }; then
    scripts/bench-build.sh >&2
fi
scripts/bench-build.sh --progs >&2
[ -f "$BUILD/velox-default.elf" ] || scripts/build-kernel.sh default

# 1. The data set and the image ---------------------------------------------------------------
mib=$(awk -v s="$S" 'BEGIN { m = s >= 1 ? 64 : int(64 * s + 0.5); if (m < 4) m = 4; print m }')
data=$BUILD/bench-storage-data; rm -rf "$data"; mkdir -p "$data/vbench-data"
python3 - "$data/vbench-data" "$mib" <<'PY'
import os, sys
d, mib = sys.argv[1], int(sys.argv[2])
MiB = 1 << 20
# the two big files: a byte pattern (no zero blocks, so mkfs.ext4 -d writes every block)
chunk = bytes((k * 131 + 7) & 0xff for k in range(256)) * (MiB // 256)
for name in ("vbench.seq", "vbench.rand"):
    with open(os.path.join(d, name), "wb") as f:
        for _ in range(mib):
            f.write(chunk)
# the tree: as vbench's st_tree() makes it (TREE_SIZE(k) = 100 + k * 7919 % 4000 bytes)
pat = bytes(range(256)) * 18
total = 0
os.mkdir(os.path.join(d, "vbench.tree"))
for dd in range(100):
    sub = os.path.join(d, "vbench.tree", "d%02d" % dd)
    os.mkdir(sub)
    for i in range(100):
        k = dd * 100 + i
        sz = 100 + (k * 7919) % 4000
        with open(os.path.join(sub, "f%02d" % i), "wb") as f:
            f.write(pat[k % 256:k % 256 + sz])
        total += sz
with open(os.path.join(d, "vbench.tree.info"), "w") as f:
    f.write("files=10000 dirs=100 bytes=%d\n" % total)
PY
find "$data" -exec touch -h -d @0 {} +
base=$RES/storage-base.img
VELOX_DISK_MB=${BENCH_STORAGE_DISK_MB:-768} scripts/mkdisk.sh "$base" "$data"
rec "VELOX_DISK_MB=${BENCH_STORAGE_DISK_MB:-768} scripts/mkdisk.sh build/bench-results/storage-base.img build/bench-storage-data   # data: 2 x $mib MiB + the 10,000-file tree in /vbench-data"
fsck_line() { # $1 image -> "clean" or the first lines of e2fsck's complaint
    local o rc=0
    o=$(e2fsck -fn "$1" 2>&1) || rc=$?
    if [ $rc = 0 ]; then echo "clean"; else echo "e2fsck exit $rc: $(grep -v '^e2fsck\|^Pass\|^velox-root' <<< "$o" | head -3 | tr '\n' ' ')"; fi
}

# 2. Velox: root on the image ------------------------------------------------------------------
cp --sparse=always "$base" "$RES/storage-velox.img"
broot=$BUILD/bench-storage-root; rm -rf "$broot"; mkdir -p "$broot/bench"
cp build/bench/vbench build/bench/vtrue "$broot/bench/"
echo "bench-storage: Velox (det, root on ext4), scale $S" >&2
c=(env QEMU_EXTRA=-mem-prealloc scripts/run.sh -k default -r "$RES/storage-velox.img" -e "$broot"
   -c "/bench/vbench -s $S -t /bench/vtrue -d /vbench-data storage" -d -t "$TMO" -l "$RES/storage-velox.log")
rec "cp build/bench-results/storage-base.img build/bench-results/storage-velox.img"
rec "${c[*]}"
t0=$(date +%s); "${c[@]}" > /dev/null || echo "bench-storage: Velox run exit status $?" >&2
echo "velox_wall_s=$(( $(date +%s) - t0 ))" > "$RES/storage-velox.meta"
echo "velox_fsck=$(fsck_line "$RES/storage-velox.img")" >> "$RES/storage-velox.meta"
rec "e2fsck -fn build/bench-results/storage-velox.img"

# 3. Linux: the bench initramfs, with the modules and an init that mounts /dev/vda -------------
cp --sparse=always "$base" "$RES/storage-linux.img"
lroot=$BUILD/bench-storage-linux; rm -rf "$lroot"; cp -a "$LNX/rootfs" "$lroot"
mkdir -p "$lroot/lib/modules-bench" "$lroot/mnt"
cp build/bench/vbench build/bench/vtrue "$lroot/bench/"   # (the rootfs may hold an older build)
cp "$LNX"/modules/*.ko "$LNX/modules/load-order" "$lroot/lib/modules-bench/" 2>/dev/null ||
    cp "$LNX/modules/load-order" "$lroot/lib/modules-bench/"
cat > "$lroot/init.sh" <<'EOF'
#!/bin/busybox sh
# /init.sh of the storage-bench initramfs (scripts/bench-storage.sh): as user/bench/init, plus
# the storage modules and the disk on /mnt. vbench_scale=F on the kernel command line.
/bin/busybox mkdir -p /proc /sys /dev /tmp /mnt
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
/bin/busybox mount -t tmpfs tmpfs /tmp
/bin/busybox --install -s /bin
export PATH=/bin
[ -e /dev/null ] || mknod /dev/null c 1 3
[ -e /dev/zero ] || mknod /dev/zero c 1 5
for m in $(grep -v '^#' /lib/modules-bench/load-order); do
    insmod /lib/modules-bench/$m.ko || echo "vbench_storage insmod $m failed"
done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 /dev/vda /mnt || echo "vbench_storage mount /dev/vda failed"
polls=0; quiet=0
while [ $polls -lt 300 ] && [ $quiet -lt 10 ]; do
    running=9
    while read k v rest; do
        [ "$k" = procs_running ] && running=$v
    done < /proc/stat
    if [ "$running" -le 1 ]; then quiet=$((quiet + 1)); else quiet=0; fi
    polls=$((polls + 1))
    sleep 0.1
done
echo "vbench_kernel $(uname -r) $(uname -v)"
echo "vbench_cmdline $(cat /proc/cmdline)"
echo "vbench_settle polls=$polls quiet=$quiet"
echo "vbench_storage_mount $(grep ' /mnt ' /proc/mounts)"
/bench/vbench -s "${vbench_scale:-1}" -t /bench/vtrue -d /mnt/vbench-data storage
echo "vbench_exit $?"
umount /mnt && echo "vbench_storage umount ok"
poweroff -f
EOF
chmod 755 "$lroot/init.sh"
(cd "$lroot" && find . -exec touch -h -d @0 {} + && find . | LC_ALL=C sort |
    cpio -o -H newc -R 0:0 --reproducible --quiet | gzip -9 -n) > "$BUILD/bench-storage-linux.cpio.gz"
APPEND="console=ttyS0 quiet cryptomgr.notests nokaslr norandmaps randomize_kstack_offset=off vbench_scale=$S"
# The same det options as run.sh -d with a disk (sleep=on: see the comment in run.sh) and the
# same -drive/-device as run.sh -r.
q=(qemu-system-riscv64 -machine "$MACHINE" -nographic -bios default -m 512M -mem-prealloc -smp 1 -no-reboot
   -icount shift=0,align=off,sleep=on -rtc base=2024-01-01T00:00:00,clock=vm -seed 1
   -kernel "$LNX/Image" -initrd "$BUILD/bench-storage-linux.cpio.gz" -append "$APPEND"
   -drive "file=$RES/storage-linux.img,format=raw,if=none,id=hd0" -device virtio-blk-device,drive=hd0)
echo "bench-storage: Linux (det, ext4 on /dev/vda), scale $S" >&2
rec "cp build/bench-results/storage-base.img build/bench-results/storage-linux.img"
rec "$(printf '%q ' "${q[@]}")"
t0=$(date +%s)
timeout -k 10 "$TMO" "${q[@]}" < /dev/null > "$RES/storage-linux.log" 2>&1 || echo "bench-storage: Linux QEMU exit status $?" >&2
echo "linux_wall_s=$(( $(date +%s) - t0 ))" > "$RES/storage-linux.meta"
echo "linux_fsck=$(fsck_line "$RES/storage-linux.img")" >> "$RES/storage-linux.meta"
rec "e2fsck -fn build/bench-results/storage-linux.img"
rm -f "$RES/storage-velox.img" "$RES/storage-linux.img"   # 2 x the image; the base stays
echo "total_wall_s=$(( $(date +%s) - start ))" > "$RES/storage.meta"
printf 'scale=%s\nmib=%s\n' "$S" "$mib" >> "$RES/storage.meta"
fi

# 4. The report --------------------------------------------------------------------------------
python3 - "$RES" "$OUT" "$(qemu-system-riscv64 --version | head -1)" "$(cat "$LNX/kernel.version" 2>/dev/null)" \
    "$(git rev-parse --short HEAD 2>/dev/null)$(git status --porcelain -- kernel crates 2>/dev/null | grep -q . && echo ' + uncommitted changes in kernel/ or crates/')" <<'PY'
import os, re, sys
res, out, qemu, kver, commit = sys.argv[1:6]
KV = re.compile(r"(\S+?)=(\S*)")
def log(name):
    p = os.path.join(res, name)
    if not os.path.exists(p):
        return {}, None, False
    b, begin, end = {}, None, False
    for ln in open(p, "rb").read().decode("utf-8", "replace").replace("\r", "").split("\n"):
        m = re.search(r"(?:^|\s)(vbench_begin\s.*|vbench_end\b.*|bench=\S+.*)$", ln)
        if not m:
            continue
        s = m.group(1)
        if s.startswith("vbench_begin"):
            begin = begin or dict(KV.findall(s))
        elif s.startswith("vbench_end"):
            end = True
        else:
            d = dict(KV.findall(s))
            b.setdefault(d.get("bench"), d)
    return b, begin, end
def meta(name):
    p = os.path.join(res, name)
    d = {}
    if os.path.exists(p):
        for ln in open(p):
            k, _, v = ln.rstrip("\n").partition("=")
            d[k] = v
    return d
L, lbeg, lend = log("storage-linux.log")
V, vbeg, vend = log("storage-velox.log")
m = {**meta("storage.meta"), **meta("storage-linux.meta"), **meta("storage-velox.meta")}
def f(d, b, k):
    x = d.get(b) or {}
    if "error" in x or k not in x:
        return None
    try:
        return float(x[k])
    except ValueError:
        return None
def err(d, b):
    x = d.get(b)
    return None if x is None else x.get("error")
D = "\u2014"
def fmt(v, dg):
    return D if v is None else ("{:,.%df}" % dg).format(v)
# (label, bench, key, unit, digits, higher_is_better)
rows = [
    ("Sequential write, 1 MiB writes + fsync", "seq_write", "mb_per_s", "MB/s", 1, True),
    ("Sequential read, cold (first read in the boot)", "seq_read_cold", "mb_per_s", "MB/s", 1, True),
    ("Sequential read, cached", "seq_read_cached", "mb_per_s", "MB/s", 1, True),
    ("4 KiB random reads, cold (distinct offsets)", "rand_read_4k", "iops", "reads/s", 0, True),
    ("4 KiB random reads, cached (the same offsets again)", "rand_read_4k", "cached_iops", "reads/s", 0, True),
    ("File creates (open O_CREAT + close, then syncfs)", "create_unlink", "creates_per_s", "files/s", 0, True),
    ("File unlinks (then syncfs)", "create_unlink", "unlinks_per_s", "files/s", 0, True),
    ("`find` over 10,000 files, first run in the boot", "find_10k", "cold_ms", "ms", 1, False),
    ("`find` over 10,000 files, cached", "find_10k", "ns_per_op", "ms", 1, False),
    ("`tar` of the tree into /dev/null, first run (data cold)", "tar_tree", "cold_ms", "ms", 1, False),
    ("`tar` of the tree into /dev/null, cached", "tar_tree", "ns_per_op", "ms", 1, False),
]
md = ["# Storage benchmarks: Velox vs Linux on the same ext4 image", "",
      "Written by `scripts/bench-storage.sh` (part of `make bench`); how and what: "
      "`docs/bench-method.md` (\"The storage benches\").", "",
      "- QEMU: %s" % qemu,
      "- Linux kernel: %s (Debian; virtio_mmio, virtio_blk, jbd2, mbcache, crc16, ext4 loaded as modules)" % kver,
      "- Velox: %s, commit %s" % ((vbeg or {}).get("release", "?"), commit or "?"),
      "- scale: %s (sequential-read and random-read files %s MiB each; seq_write writes %s MiB)" % (
          m.get("scale", "?"), m.get("mib", "?"),
          fmt(f(V, "seq_write", "bytes") and f(V, "seq_write", "bytes") / (1 << 20), 0)),
      "- wall time: %s s in all (Velox boot %s s, Linux boot %s s) on %d host CPUs" % (
          m.get("total_wall_s", "?"), m.get("velox_wall_s", "?"), m.get("linux_wall_s", "?"), os.cpu_count() or 0),
      "- `e2fsck -fn` of each kernel's image after its run: Velox %s; Linux %s" % (
          m.get("velox_fsck", "?"), m.get("linux_fsck", "?")),
      ""]
cmds = os.path.join(res, "storage-commands.txt")
if os.path.exists(cmds):
    md += ["Commands run:", "", "```"] + [c for c in open(cmds).read().split("\n") if c.strip()] + ["```", ""]
md += ["| line | unit | Linux | Velox | Velox vs Linux | goal (>= Linux) |", "|---|---|---:|---:|---:|---|"]
mach = []
for label, b, k, unit, dg, hib in rows:
    l, v = f(L, b, k), f(V, b, k)
    if k == "ns_per_op":
        l, v = (l / 1e6 if l is not None else None), (v / 1e6 if v is not None else None)
    r = None
    if l and v:
        r = v / l if hib else l / v
    met = D if r is None else ("**met**" if r >= 1.0 else "not met")
    lc = fmt(l, dg) if l is not None else ("error: " + err(L, b) if err(L, b) else D)
    vc = fmt(v, dg) if v is not None else ("error: " + err(V, b) if err(V, b) else D)
    md.append("| %s | %s | %s | %s | %s | %s |" % (label, unit, lc, vc, D if r is None else "%.2fx" % r, met))
md += ["", "\"Velox vs Linux\" is Velox's throughput over Linux's (for the ms lines: Linux's time over "
       "Velox's), so above 1.00x Velox is faster. Throughput in MB/s is 10^6 bytes/s.", "",
       "Unlike the other benches these are not instruction counts only: with a disk, det mode runs "
       "with `sleep=on`, so time spent idle waiting for the disk is host time (Linux sleeps until "
       "the completion interrupt; Velox's ext4 core polls, and its polling counts as instructions), "
       "and the disk is an image file in the host's page cache (cold = not cached in the guest). "
       "Two boots of the same kernel differ a little; the figures move with the host's load. "
       "See docs/bench-method.md, \"The storage benches\".", ""]
notes = []
for who, d, beg, end in (("Linux", L, lbeg, lend), ("Velox", V, vbeg, vend)):
    if not end:
        notes.append("%s's log has no vbench_end line: the run did not finish." % who)
    for b, x in d.items():
        if x.get("made") == "1":
            notes.append("%s: %s made its data in the run (made=1): not cold." % (who, b))
        if x.get("fs") not in (None, "ext4"):
            notes.append("%s: %s ran on %s, not ext4." % (who, b, x.get("fs")))
if notes:
    md += ["Notes:", ""] + ["- " + n for n in notes] + [""]
md += ["Raw vbench figures (ns per op in guest time, see docs/bench-method.md; 1 ns = 1 guest "
       "instruction while the guest runs, real time while it idles):", "",
       "| bench | Linux ns/op | Velox ns/op | Velox/Linux | Linux line | Velox line |", "|---|---:|---:|---:|---|---|"]
names = [n for n in ("seq_read_cold", "rand_read_4k", "find_10k", "tar_tree", "seq_read_cached",
                     "seq_write", "create_unlink")]
strip = lambda x: " ".join("%s=%s" % kv for kv in x.items() if kv[0] not in ("bench",)) if x else D
for n in names:
    l, v = f(L, n, "ns_per_op"), f(V, n, "ns_per_op")
    r = "%.2f" % (v / l) if l and v else D
    md.append("| %s | %s | %s | %s | `%s` | `%s` |" % (n, fmt(l, 1), fmt(v, 1), r, strip(L.get(n)), strip(V.get(n))))
    mach.append("bench=%s linux_ns=%s velox_ns=%s ratio=%s" % (
        n, "%.1f" % l if l is not None else ("err:" + err(L, n) if err(L, n) else "na"),
        "%.1f" % v if v is not None else ("err:" + err(V, n) if err(V, n) else "na"), r if r != D else "na"))
md += ["", "### Machine-readable lines", "", "```"] + mach + ["```"]
open(out, "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "bench-storage: wrote $OUT" >&2
