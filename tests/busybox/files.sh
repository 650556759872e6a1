# busybox file applets (on the writable /tmp). Run by /tests/busybox/run (output compared with
# files.expected). Sizes of directories, inode and block numbers differ between file systems and
# are never printed.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin TZ=UTC LC_ALL=C HOME=/root
umask 022
T=/tmp/bb-files
rm -rf $T; mkdir -p $T; cd $T || exit 1

echo "== basename dirname realpath readlink"
basename /usr/local/bin/prog; basename /a/b/file.tar.gz .gz; basename /; basename dir/
dirname /usr/local/bin/prog; dirname file; dirname /; dirname a/b/
mkdir -p d1/d2; echo data > d1/d2/f
ln -s d1/d2/f lnk; ln -s d1 dlnk; ln -s lnk lnk2; ln -s nowhere dangling
realpath lnk lnk2 dlnk/d2 d1/../d1/./d2
readlink lnk; readlink lnk2; readlink dangling
readlink -f lnk2
readlink f-not-a-link; echo "readlink regular file: $?"
cd dlnk && pwd && pwd -P && cd $T

echo "== mkdir rmdir touch"
mkdir a; mkdir a 2>/dev/null; echo "mkdir existing: $?"
mkdir -p a/b/c/d; echo "mkdir -p: $?"
mkdir -m 700 priv; stat -c '%n %a %F' priv
rmdir a 2>/dev/null; echo "rmdir non-empty: $?"
rmdir -p a/b/c/d 2>/dev/null; [ -e a ] && echo "rmdir -p stops at cwd" || echo "rmdir -p removed a"
touch t1; stat -c '%n %s %F' t1
touch -d '2000-01-02 03:04:05' t1; stat -c '%y' t1 | cut -c1-19
date -r t1 +%Y-%m-%dT%H:%M:%S
touch -r t1 t2; [ t2 -nt t1 ] || [ t1 -nt t2 ] || echo "touch -r same mtime"
touch -d '2001-01-01 00:00:00' t3; [ t3 -nt t1 ] && echo "t3 newer than t1"
touch -c nonexist; [ -e nonexist ] || echo "touch -c did not create"

echo "== ls"
mkdir lsd; cd lsd
echo 1 > one; echo 22 > two; echo 333 > three; mkdir sub; ln -s one link; : > .hidden
touch -d '2000-01-01 00:00:01' one; touch -d '2000-01-01 00:00:03' two; touch -d '2000-01-01 00:00:02' three
ls; ls -a; ls -1 | tr '\n' ' '; echo
ls -F; ls -r; ls -t one two three; ls -S one two three
ls -d sub; ls sub; ls -R . | sed 's/^$/-/'
ls -l one | awk '{ print $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
ls -ln two | awk '{ print $1, $3, $4, $5 }'
ls -l link | sed 's/.* link/link/'
ls nothing 2>/dev/null; echo "ls missing: $?"
ls -1 /tests/busybox/run
cd $T

echo "== cp mv rm ln"
echo content > src
cp src dst; cat dst
cp -r d1 d1copy; cat d1copy/d2/f
chmod 640 src; touch -d '2002-02-02 02:02:02' src
cp -p src preserved; stat -c '%a %y' preserved | cut -c1-23
cp src plain; stat -c '%a' plain
cp -a dlnk dlnkcopy; [ -L dlnkcopy ] && echo "cp -a keeps symlinks: $(readlink dlnkcopy)"
cp -L lnk deref; [ -L deref ] || echo "cp -L copies the target: $(cat deref)"
cp src d1/; ls d1
mv dst moved; [ -e dst ] || cat moved
mv moved d1/d2/; ls d1/d2
mv d1copy d1renamed; ls -d d1*
cp nofile x 2>/dev/null; echo "cp missing: $?"
ln src hard; stat -c '%h' src hard
ln -s src soft; ln -sf plain soft; readlink soft
ln hard hard 2>/dev/null; echo "ln onto itself: $?"
rm hard; stat -c '%h' src
rm -f nonexistent; echo "rm -f missing: $?"
rm nonexistent 2>/dev/null; echo "rm missing: $?"
rm d1renamed 2>/dev/null; echo "rm dir without -r: $?"
rm -r d1renamed; [ -e d1renamed ] || echo "rm -r removed the tree"
link src src2; unlink src2; [ -e src2 ] || echo "link/unlink"
install -m 600 -D src inst/deep/file; stat -c '%a %s' inst/deep/file
install -d -m 751 instdir; stat -c '%a %F' instdir

echo "== stat chmod chown chgrp"
printf 'twelve bytes' > s12
stat -c '%n|%s|%F|%a|%A|%U|%G|%u|%g|%h' s12
stat -c '%F %N' lnk
stat -L -c '%F %s' lnk
chmod 751 s12; stat -c %A s12
chmod u-x,g+w,o= s12; stat -c %A s12
chmod a+r,u+s s12; stat -c %A s12
chmod 1777 priv; stat -c %A priv
chmod -R go-rwx d1; stat -c '%a' d1 d1/d2 d1/d2/f
chown user:user s12; stat -c '%U:%G %u:%g' s12
chown 123:456 s12; stat -c '%u:%g' s12
chown root s12; chgrp users s12; stat -c '%U:%G' s12
chown -h user lnk; stat -c '%U' lnk; stat -L -c '%U' lnk
chmod 9999 s12 2>/dev/null; echo "chmod bad mode: $?"
chown nosuchuser s12 2>/dev/null; echo "chown unknown user: $?"

echo "== find xargs"
mkdir -p ft/a/b ft/c; touch ft/a/x.txt ft/a/b/y.txt ft/c/z.log ft/top.txt; ln -s a ft/la
printf 'sized' > ft/c/sized; chmod 700 ft/c/sized
find ft | sort
find ft -type f | sort
find ft -type d | sort
find ft -type l
find ft -name '*.txt' | sort
find ft -maxdepth 1 | sort
find ft -mindepth 2 -type f | sort
find ft -name '*.log' -o -name 'y*' | sort
find ft -type f ! -name '*.txt' | sort
find ft -perm 700
find ft -size +4c -type f
find ft -empty -type f | sort
find ft -path '*/a/*' | sort
find ft -newer t1 -name top.txt
find ft -name z.log -exec echo found {} \;
find ft -name '*.txt' -exec echo {} + | tr ' ' '\n' | sort | tr '\n' ' '; echo
find ft -type f -print0 | xargs -0 -n 1 basename | sort | tr '\n' ' '; echo
find -L ft -name b -type d | sort
echo a b c d e | xargs -n 2 echo x
echo a b c | xargs -I{} echo "<{}>"
printf '1\n2\n3\n' | xargs echo sum: | awk '{ print $1, $2 + $3 + $4 }'
echo one two | xargs -t echo 2>&1
printf '' | xargs -r echo never; echo "xargs -r: $?"
echo f | xargs sh -c 'exit 3'; echo "xargs child failed: $?"

echo "== dd truncate fallocate"
dd if=/dev/zero of=zeros bs=1024 count=4 2>/dev/null; stat -c %s zeros
printf 'hello world' | dd bs=1 skip=6 2>/dev/null; echo
printf 'hello world' | dd bs=1 count=5 2>/dev/null; echo
printf 'abc' | dd bs=4 conv=sync 2>/dev/null | od -An -c
dd if=/dev/zero of=sparse bs=1 count=1 seek=99999 2>/dev/null; stat -c %s sparse
printf 'ABCDEFGH' > blk; dd if=blk of=blk2 bs=2 skip=1 count=2 2>/dev/null; cat blk2; echo
printf 'xx' | dd of=blk conv=notrunc bs=1 seek=3 2>/dev/null; cat blk; echo
dd if=/dev/zero bs=512 count=3 2>&1 >/dev/null | head -2
truncate -s 1000 trunc; stat -c %s trunc
truncate -s 10 trunc; stat -c %s trunc
printf 'abcdef' > tr2; truncate -s 3 tr2; cat tr2; echo
od -An -c trunc | head -1
fallocate -l 8192 falloc; stat -c %s falloc
du -b s12 blk

echo "== mkfifo mknod mktemp"
mkfifo fifo1; stat -c '%F' fifo1
(echo "through the fifo" > fifo1) & cat fifo1; wait
mknod fifo2 p; stat -c '%F %a' fifo2
mkfifo -m 600 fifo3; stat -c '%a' fifo3
tmpf=$(mktemp); [ -f "$tmpf" ] && echo "mktemp made a file"
case $tmpf in /tmp/tmp.??????) echo "mktemp name /tmp/tmp.XXXXXX" ;; *) echo "odd name" ;; esac
tmpd=$(mktemp -d -p $T dirXXXXXX); [ -d "$tmpd" ] && echo "mktemp -d made a directory"
stat -c %a "$tmpd" "$tmpf"
rm -rf "$tmpf" "$tmpd"
u=$(mktemp -u); [ -e "$u" ] || echo "mktemp -u made nothing"

echo "== cmp diff patch"
printf 'line one\nline two\nline three\n' > a.txt
printf 'line one\nline 2\nline three\nline four\n' > b.txt
cmp a.txt a.txt; echo "cmp same: $?"
cmp a.txt b.txt; echo "cmp differ: $?"
cmp -s a.txt b.txt; echo "cmp -s: $?"
cmp -l a.txt b.txt 2>&1 | head -3
diff a.txt a.txt; echo "diff same: $?"
diff -u -L a.txt -L b.txt a.txt b.txt; echo "diff status $?"
diff -q a.txt b.txt; echo "diff -q: $?"
mkdir dA dB; echo 1 > dA/f; echo 2 > dB/f; echo x > dA/only
diff -r dA dB | sed 's/^\(---\|+++\) \([^	]*\).*/\1 \2/'
diff -u -L a.txt -L a.txt a.txt b.txt > ab.patch
cp a.txt p.txt; patch p.txt < ab.patch; cmp p.txt b.txt && echo "patched equals b"
patch -R p.txt < ab.patch; cmp p.txt a.txt && echo "reversed equals a"
mkdir pdir; cp a.txt pdir/a.txt
diff -u -L pdir/a.txt -L pdir/a.txt a.txt b.txt > p1.patch
patch -p0 -i p1.patch; cmp pdir/a.txt b.txt && echo "patch -p0 -i"
patch --dry-run p.txt < /dev/null; echo "empty patch: $?"

echo "== chroot sync shred du df"
mkdir -p cr/bin; cp /bin/busybox cr/bin/
chroot cr /bin/busybox pwd
chroot cr /bin/busybox ls /
busybox sync; echo "sync: $?"
printf 'secret' > sh1; shred -n 1 -z sh1; stat -c %s sh1; od -An -tx1 sh1
shred -u sh1; [ -e sh1 ] || echo "shred -u removed it"
du -s cr > /dev/null; echo "du: $?"
du -a -b cr/bin/busybox | cut -f2
df > /dev/null; echo "df: $?"

cd /; rm -rf $T
exit 0
