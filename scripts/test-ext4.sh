#!/usr/bin/env bash
# ext4 on virtio-blk, in QEMU, on the test's own images (never build/rootfs.ext4):
#   1. boot with the root on a fresh image: 1,000 files created, renamed, linked and unlinked by
#      the shell, a 64 MiB file written with its checksum, a directory listing, the file suite
#      (vfs), getdents64 over 5,000 entries and mremap of file mappings (libcsys) in a directory
#      of the ext4 root; e2fsck -fn on the host afterwards
#   2. a second boot of the same image reads it all back; e2fsck again
#   3. QEMU killed in the middle of a write workload (after an fsync-ed file); the next boot
#      mounts the image and the fsync-ed data is intact; e2fsck after it
#   4. bad input: a zeroed disk and a corrupted image fail to mount with a message and the
#      system stays up; a read-only mount gives EROFS; a full file system gives ENOSPC and
#      e2fsck finds it clean
#   test-ext4.sh [-k VARIANT] [-l LOGDIR]      prints PASS/FAIL lines and "N passed, M failed"
set -uo pipefail
source "$(dirname "$0")/env.sh"
variant=default; logs=$BUILD/test-logs/ext4
while getopts "k:l:" o; do
    case $o in k) variant=$OPTARG ;; l) logs=$OPTARG ;; *) exit 2 ;; esac
done
mkdir -p "$logs"
e2fsck=$(command -v e2fsck || echo /sbin/e2fsck)
mkfs=$(command -v mkfs.ext4 || echo /sbin/mkfs.ext4)
work=$(mktemp -d "$BUILD/ext4test.XXXXXX")
trap 'rm -rf "$work"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "PASS ext4 $1"; }
bad() { fail=$((fail + 1)); echo "FAIL ext4 $1"; }
check() { if [ "$2" = 0 ]; then ok "$1"; else bad "$1${3:+: $3}"; fi; }
fsck() { # $1 = name, $2 = image
    if "$e2fsck" -fn "$2" > "$logs/fsck-$1.log" 2>&1; then ok "e2fsck clean after $1"
    else bad "e2fsck after $1: $(grep -vE '^(Pass|e2fsck|velox)' "$logs/fsck-$1.log" | head -3 | tr '\n' ' ')"; fi
}
boot() { # $1 = log name, then run.sh arguments
    local name=$1; shift
    scripts/run.sh -k "$variant" -t 600 -l "$logs/$name.log" "$@" > /dev/null 2>&1
    tr -d '\r' < "$logs/$name.log" > "$logs/$name.txt"
}
has() { grep -q -- "$2" "$logs/$1.txt"; }

VELOX_DISK_MB=512 scripts/mkdisk.sh "$work/root.img" > /dev/null || { echo "mkdisk failed"; echo "0 passed, 1 failed"; exit 1; }

# 1. First boot: the workloads.
cat > "$work/w1.sh" <<'EOF'
set -e
mkdir -p /data/a /data/b
cd /data/a
i=0; while [ $i -lt 1000 ]; do echo "file $i" > f$i; i=$((i + 1)); done
i=0; while [ $i -lt 1000 ]; do mv f$i ../b/r$i; i=$((i + 2)); done
i=0; while [ $i -lt 1000 ]; do ln ../b/r$i ../b/l$i; i=$((i + 6)); done
i=0; while [ $i -lt 1000 ]; do rm -f f$i ../b/r$i; i=$((i + 5)); done
echo "count a $(ls /data/a | wc -l) b $(ls /data/b | wc -l)"
cat /data/b/l6 /data/b/r2 /data/a/f1
dd if=/dev/urandom of=/data/big bs=1M count=64 2>/dev/null
md5sum /data/big | cut -d' ' -f1 > /data/big.md5
ls -la /data/big
mkdir /data/list; for n in one two three four; do touch /data/list/$n; done; mkdir /data/list/sub; ln -s one /data/list/link
ls /data/list | tr '\n' ' '; echo
echo "df: $(df /data | tail -1 | awk '{print $1, $6}')"
sync
echo WORKLOAD-1-DONE
EOF
mkdir -p "$work/x1/etc"; cp "$work/w1.sh" "$work/x1/w1.sh"
modes="files attrs dirs big perms fifo errors mmap"
vcmd="mkdir -m 1777 /vt; for m in $modes; do VFS_BASE=/vt /bin/vfs \$m; echo vfs-\$m-status=\$?; done"
# (getdents64 over 5,000 entries of an ext4 directory, htree and all; mremap of ext4 file mappings.)
vcmd="$vcmd; for m in dents mremapfile; do /bin/libcsys \$m /vt; echo libcsys-\$m-status=\$?; done"
boot boot1 -r "$work/root.img" -e "$work/x1" -s -c "sh /w1.sh" -c "$vcmd"
has boot1 WORKLOAD-1-DONE; check "1000 files created, renamed, linked, unlinked; 64 MiB written" $? "$(tail -3 "$logs/boot1.txt" | tr '\n' ' ')"
# a: odd i not multiple of 5 stay (400); b: even i not multiple of 5 (400) + links of multiples of 6 (167)
has boot1 "count a 400 b 567"; check "directory listings have the expected counts" $?
has boot1 "^file 6$" && has boot1 "^file 2$" && has boot1 "^file 1$"; check "renamed and linked files keep their contents" $?
has boot1 "^four link one sub three two $"; check "ls lists what was made" $?
has boot1 "^df: /dev/vda /$"; check "df shows the ext4 root" $?
for m in $modes; do
    has boot1 "^vfs-$m-status=0$"; check "file suite '$m' on ext4" $? "$(grep '^FAIL' "$logs/boot1.txt" | head -2 | tr '\n' ' ')"
done
has boot1 "^libcsys-dents-status=0$"; check "getdents64 returns each of 5,000 ext4 entries once" $? "$(grep '^FAIL dents' "$logs/boot1.txt" | head -2 | tr '\n' ' ')"
has boot1 "^libcsys-mremapfile-status=0$"; check "mremap of ext4 file mappings" $? "$(grep '^FAIL mremapfile' "$logs/boot1.txt" | head -2 | tr '\n' ' ')"
grep -q "KERNEL PANIC" "$logs/boot1.txt" && bad "kernel panic in boot 1"
fsck boot1 "$work/root.img"

# 2. Second boot: the same image, read back.
boot boot2 -r "$work/root.img" -s -c 'test "$(md5sum /data/big | cut -d" " -f1)" = "$(cat /data/big.md5)" && echo BIG-OK; ls /data/a | wc -l; cat /data/b/l6; ls /data/list | tr "\n" " "; echo'
has boot2 BIG-OK; check "the 64 MiB file reads back with its checksum after a reboot" $?
has boot2 "^400$" && has boot2 "^file 6$"; check "files and links survive a reboot" $?
has boot2 "^four link one sub three two $"; check "the listing survives a reboot" $?
fsck boot2 "$work/root.img"

# 3. Power cut in the middle of writes, after an fsync-ed file.
cat > "$work/x3.sh" <<'EOF'
dd if=/dev/urandom of=/data/synced bs=64k count=32 conv=fsync 2>/dev/null
md5sum /data/synced | cut -d' ' -f1 > /data/synced.md5; sync
echo SYNCED
i=0; while true; do dd if=/dev/zero of=/data/churn$((i % 50)) bs=64k count=8 2>/dev/null; rm -f /data/churn$(((i + 25) % 50)); i=$((i + 1)); done
EOF
mkdir -p "$work/x3"; cp "$work/x3.sh" "$work/x3/x3.sh"
scripts/run.sh -k "$variant" -t 25 -l "$logs/crash.log" -r "$work/root.img" -e "$work/x3" -s -c "sh /x3.sh" > /dev/null 2>&1
tr -d '\r' < "$logs/crash.log" | grep -q SYNCED; check "the write workload ran until the power cut" $?
boot boot3 -r "$work/root.img" -s -c 'test "$(md5sum /data/synced | cut -d" " -f1)" = "$(cat /data/synced.md5)" && echo SYNCED-OK; echo after-crash-up'
has boot3 after-crash-up; check "the image mounts after the power cut" $? "$(grep -i ext4 "$logs/boot3.txt" | head -2 | tr '\n' ' ')"
has boot3 SYNCED-OK; check "fsync-ed data is intact after the power cut" $?
fsck after-crash "$work/root.img"

# 4. Bad input on a second disk.
truncate -s 16M "$work/zero.img"
VELOX_DISK_MB=64 scripts/mkdisk.sh "$work/corrupt.img" > /dev/null
printf '\377%.0s' $(seq 64) | dd of="$work/corrupt.img" bs=1 seek=$((1024 + 32)) conv=notrunc 2>/dev/null
VELOX_DISK_MB=32 scripts/mkdisk.sh "$work/small.img" > /dev/null
cp "$work/small.img" "$work/ro.img"
cp "$work/small.img" "$work/rodev.img"
truncate -s 16M "$work/empty.img"; "$mkfs" -q -F -b 4096 -m 10 "$work/empty.img"
boot bad -b "$work/zero.img" -b "$work/corrupt.img" -b "$work/small.img" -b "$work/ro.img" -b "$work/rodev.img:ro" -b "$work/empty.img" -s \
    -c 'mount -t ext4 /dev/vda /mnt; echo zero-mount=$?' \
    -c 'mount -t ext4 /dev/vdb /mnt; echo corrupt-mount=$?' \
    -c 'mount -t ext4 /dev/vdd /mnt && (echo x > /mnt/new; echo ro-write=$?; umount /mnt)' \
    -c 'mount -o ro -t ext4 /dev/vdd /mnt && (echo x > /mnt/new; echo ro-write=$?; echo y >> /mnt/etc/hostname; echo ro-append=$?; cat /mnt/etc/hostname; umount /mnt)' \
    -c 'mount -o bogus_option -t ext4 /dev/vdd /mnt; echo badopt=$?' \
    -c 'mount -t ext4 /dev/vdd /mnt && mount -o remount,ro /mnt && (echo z > /mnt/z; echo remount-ro-write=$?; grep -c "vdd /mnt ext4 ro" /proc/mounts; mount -o remount,rw /mnt && echo w > /mnt/w && echo remount-rw-ok; umount /mnt)' \
    -c 'mount -t ext4 /dev/vdc /mnt && (dd if=/dev/zero of=/mnt/fill bs=1M count=64 2>&1 | grep -o "No space left on device"; echo kept > /mnt/after; sync; rm /mnt/fill; echo room > /mnt/room && echo room-again; umount /mnt; echo umount=$?)' \
    -c 'mount -t ext4 /dev/vde /mnt && (echo rodev-mounts=$(grep -c "vde /mnt ext4 ro" /proc/mounts); echo q > /mnt/q; echo rodev-write=$?; umount /mnt)' \
    -c 'mount -t ext4 /dev/vdf /mnt && chmod 777 /mnt && (su -s /bin/sh nobody -c "dd if=/dev/zero of=/mnt/u bs=1M count=64 2>&1 | grep -o \"No space left on device\" | sed s/^/user-/"; echo user-avail=$(df -k /mnt | awk "NR==2 {print \$4}") user-free=$(stat -f -c %f /mnt); dd if=/dev/zero of=/mnt/r bs=1M count=64 2>/dev/null; echo root-took=$(stat -c %s /mnt/r); umount /mnt)' \
    -c 'echo still-up'
has bad "zero-mount=[1-9]"; check "a zeroed disk does not mount" $?
has bad "corrupt-mount=[1-9]"; check "a corrupted superblock does not mount" $?
has bad "ext4: cannot mount vda"; check "a failed mount says why on the console" $?
has bad "ro-write=0" ; check "a read-write mount of a second disk takes writes" $?
has bad "Read-only file system" && has bad "ro-append=[1-9]"; check "a read-only mount gives EROFS (create, open for writing)" $?
has bad "badopt=[1-9]"; check "an unknown ext4 mount option is refused" $?
has bad "remount-ro-write=[1-9]" && has bad "remount-rw-ok"; check "remount read-only (EROFS) and read-write again" $?
has bad "No space left on device" && has bad "room-again"; check "a full file system gives ENOSPC, and room after a delete" $?
has bad "^umount=0$"; check "umount of an ext4 mount" $?
# (10 % of 4,096 blocks are reserved for root: nobody stops with at least 409 free, root
# then writes them.)
has bad "^user-No space left on device" && has bad "^user-avail=0 user-free=\(409\|4[1-9][0-9]\|[5-9][0-9][0-9]\)$" && has bad "^root-took=1[5-9][0-9]\{5\}$"
check "a non-root writer stops at the blocks reserved for root; root fills them" $? "$(grep -E "^(user-|root-took)" "$logs/bad.txt" | tr '\n' ' ')"
has bad "ext4: vde mounted read-only" && has bad "^rodev-mounts=1$" && has bad "rodev-write=[1-9]"; check "a disk that refuses writes mounts read-only and says so" $?
has bad "^still-up$"; check "the system stays up after bad disks" $?
fsck full "$work/small.img"
fsck ro "$work/ro.img"
fsck reserve "$work/empty.img"
grep -q "KERNEL PANIC" "$logs"/*.txt && bad "kernel panic"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
