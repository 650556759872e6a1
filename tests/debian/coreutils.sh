# GNU coreutils (and findutils' find/xargs) on the ext4 root. Run by tests/debian/run (bash,
# TZ=UTC LC_ALL=C, umask 022). Files under /var/tmp/dt-coreutils (ext4; removed at the end);
# every file time that is printed is set with touch -d, no directory size, block count or inode
# number is printed (directories' sizes are blanked as DIR in ls -l output), and df shows only
# its shape.
W=/var/tmp/dt-coreutils
rm -rf $W; mkdir -p $W; cd $W || exit 1
sec() { echo "== $*"; }
# ls -l with directories' sizes blanked (they depend on the file system)
lsl() { ls -l "$@" | grep -v '^total ' | awk '$1 ~ /^d/ { $5 = "DIR" } { print }'; }

sec files with fixed times
printf 'alpha\nbeta\ngamma\n' > a.txt
printf '%s\n' {1..100} > nums.txt
printf 'x' > one; : > empty
head -c 5000 /dev/zero > zeros
mkdir -p dir/sub1 dir/sub2
printf 'in dir\n' > dir/f1; printf 'in sub\n' > dir/sub1/f2
ln -s a.txt link; ln a.txt hard
chmod 600 one; chmod 755 nums.txt; chmod 4755 zeros; chmod 1777 dir/sub2; chmod 2750 dir/sub1
touch -d '2020-02-29 12:34:56' a.txt
touch -d '2021-07-04 01:02:03' nums.txt one empty zeros dir/f1 dir/sub1/f2
touch -h -d '2019-12-31 23:59:59' link
touch -d '2022-01-01 00:00:00' dir/sub1 dir/sub2 dir
lsl
lsl --time-style=full-iso
lsl --time-style=+%Y%m%d.%H%M%S -R dir
ls -1; ls -a | tr '\n' ' '; echo
ls -t | tr '\n' ' '; echo; ls -tr | tr '\n' ' '; echo
ls -S -- *.txt zeros one empty | tr '\n' ' '; echo; ls -F | tr '\n' ' '; echo
ls -n --time-style=long-iso one a.txt
ls -lh --time-style=long-iso zeros nums.txt
ls -ld --time-style=long-iso dir/sub2 dir/sub1 | awk '{ $5 = "DIR"; print }'
ls -d dir/*/ ; ls nosuchfile; echo "ls missing: status=$?"

sec stat
stat -c '%n|%s|%a|%A|%F|%U:%G|%u:%g|%h' a.txt hard one empty zeros link
stat -c '%n|%a|%A|%F|%h' dir/sub1 dir/sub2
stat -c '%n %Y %y' a.txt nums.txt
stat -L -c '%n %s %F' link; stat -c '%N' link
stat -c '%n %h' dir
touch -a -d '2018-05-05 05:05:05' one; stat -c '%X %x' one
mkfifo fifo; stat -c '%F %a' fifo; rm fifo
stat -c '%F %t:%T' /dev/null /dev/zero
stat -f -c '%T' / >/dev/null; echo "stat -f status=$?"

sec text tools
sort -r a.txt | tr '\n' ' '; echo
printf '10\n9\n100\n1e3\n-5\n' | sort -n | tr '\n' ' '; echo
printf '1K\n2M\n512\n3G\n' | sort -h | tr '\n' ' '; echo
printf 'v1.10\nv1.9\nv1.2\n' | sort -V | tr '\n' ' '; echo
printf 'b 2\na 2\nc 1\n' | sort -k2,2n -k1,1 | tr '\n' ' '; echo
printf 'x:3\ny:1\nz:2\n' | sort -t: -k2 | tr '\n' ' '; echo
printf 'Mar\nJan\nFeb\n' | sort -M | tr '\n' ' '; echo
printf 'b\na\nb\na\n' | sort -u | tr '\n' ' '; echo
printf '3\n1\n' | sort -c; echo "sort -c: status=$?"
printf '1\n4\n' > m1; printf '2\n3\n' > m2; sort -m m1 m2 | tr '\n' ' '; echo
seq 300000 > rsrc; seq 20000 | shuf --random-source=rsrc > shuffled; sha256sum shuffled
sort -n -S 64K -T $W shuffled | sha256sum
seq 20000 > seq20k; sort -n shuffled | cmp - seq20k && echo "sort 20000 lines: identical to seq"
printf 'a\na\nb\nc\nc\nc\nA\n' > u.txt
uniq u.txt | tr '\n' ' '; echo; uniq -c u.txt; uniq -d u.txt; uniq -u u.txt | tr '\n' ' '; echo
sort -f u.txt | uniq -ci
wc a.txt nums.txt; wc -l < nums.txt; wc -w -c -m -L a.txt
printf 'h\xc3\xa9llo\n' | LC_ALL=C.UTF-8 wc -m
printf 'a,b,c\n1,2,3\n' | cut -d, -f2; printf 'abcdef\n' | cut -c2-4; printf 'a:b:c:d\n' | cut -d: -f1,3 --complement
printf 'a b\tc\n' | cut -f2; printf 'one two\n' | cut -d' ' -f2 -s
echo 'Hello World' | tr a-z A-Z; echo 'hello' | tr -d l; echo 'aaabbbccc' | tr -s ab; echo 'a1b2c3' | tr -cd '0-9\n'
echo 'hello' | tr '[:lower:]' '[:upper:]'; echo 'abc' | tr 'abc' 'x'
head -n 3 nums.txt | tr '\n' ' '; echo; head -n -97 nums.txt | wc -l; head -c 10 nums.txt | od -c | head -1
tail -n 2 nums.txt | tr '\n' ' '; echo; tail -n +98 nums.txt | tr '\n' ' '; echo; tail -c 4 nums.txt | od -An -c
seq 5; seq -w 8 11 | tr '\n' ' '; echo; seq -s, 1 2 9; seq 5 -2 -1 | tr '\n' ' '; echo
seq -f '%.2f' 0 0.25 1 | tr '\n' ' '; echo; seq 0.1 0.3 1 | tr '\n' ' '; echo
tac a.txt | tr '\n' ' '; echo; nl -ba a.txt; cat -n empty a.txt | head -2; printf 'a\tb\r\n' | cat -A
seq 3 > s1; seq 4 6 > s2; echo x > s3; paste -d, s1 s2 s3; seq 5 | paste -s -d+
printf '1 a\n2 b\n3 c\n' > j1; printf '1 x\n3 z\n' > j2; join j1 j2
printf 'a\nb\nc\n' > c1; printf 'b\nc\nd\n' > c2; comm c1 c2 | cat -A
printf 'a\tb\n' | expand -t 4 | cat -A; printf '        x\n' | unexpand -a | cat -A
echo 'the quick brown fox jumps over the lazy dog' | fold -w 10; echo 'a b c d e f g' | fmt -w 6
printf 'one\ntwo\nthree\nfour\nfive\n' > lines; split -l 2 lines part_; for p in part_*; do echo "$p: $(tr '\n' ' ' < $p)"; done
csplit -s -f cs lines '/three/'; wc -l cs00 cs01 | head -2
printf 'a b\nb c\nc d\n' | tsort | tr '\n' ' '; echo
numfmt --to=iec 1048576 123456789; numfmt --from=iec 4K; numfmt --to=si --format='%.1f' 1500
factor 1001 65537 9999999967 | cat
expr 7 \* 6; expr length hello; expr substr hello 2 3; expr 10 \> 9; expr index hello l
basename /usr/lib/libc.so .so; dirname /usr/lib/libc.so; basename -a x/y z/w
printf '%s %05d %x %.3s\n' str 42 255 abcdef
echo "od:"; printf 'AB\001\377' | od -An -tx1; printf 'AB' | od -An -td2
yes hi | head -3 | tr '\n' ' '; echo; yes | head -c 8 | wc -c
printf 'hi there\n' | base64; echo aGkgdGhlcmUK | base64 -d; printf 'xyz' | base32; printf 'xyz' | basenc --base16
seq 6 | pr -t -2 -w 30
echo "env: $(env -i A=1 B=2 env | sort | tr '\n' ' ')"
env -u HOME sh -c 'echo "HOME=${HOME-unset}"'; printenv TZ

sec checksums
printf 'hello\n' > h.txt
sha256sum h.txt a.txt; md5sum h.txt; sha1sum h.txt; sha512sum h.txt | cut -c1-32; b2sum h.txt | cut -c1-32
cksum h.txt; sum h.txt; sha256sum h.txt > sums; sha256sum -c sums; echo x >> h.txt; sha256sum -c sums 2>/dev/null; echo "check changed: status=$?"
head -c 1000000 /dev/zero | sha256sum; seq 100000 | md5sum

sec date
date -u -d @0; date -u -d @1700000000 '+%F %T %a %b %j %U %V %G %u %s %Z %z'
date -u -d '2024-02-28 12:00 + 1 day' +%F; date -u -d '2023-03-31 -1 month' +%F; date -d '2000-01-01 00:00:00 UTC' +%s
date -u -d '2024-01-01 next monday' +%F; date -u -R -d @86400; date -u -I -d @1234567890; date -u --iso-8601=seconds -d @1234567890
TZ=America/New_York date -d @1700000000 '+%F %T %Z %z'; TZ=Asia/Kolkata date -d '2024-06-01 12:00 UTC' '+%H:%M %Z'
TZ=Europe/Berlin date -d '2024-03-31 00:59:59 UTC + 1 second' '+%F %T %Z'
date -u -d 'not a date' 2>&1; echo "bad date: status=$?"
[ "$(date +%s)" -gt 1700000000 ] && echo "the clock is after 2023-11-14"
date -r a.txt '+%F %T'
touch -d '@1234567890.5' frac; stat -c '%Y %y' frac
touch -r a.txt ref; stat -c '%y' ref

sec du and df
du -b a.txt nums.txt zeros empty; du -b --apparent-size -c a.txt zeros | tail -1
du --apparent-size -k zeros; du -b dir/f1 dir/sub1/f2; find dir -type f -exec du -b {} + | sort -k2
df -P / | head -1 | tr -s ' '; df -P / | awk 'NR == 2 { print NF, $NF }'; df / > /dev/null; echo "df status=$?"
df --output=target / ; df -h / | awk 'NR == 1 { print $1, $2, $3 }'

sec cp mv ln chmod
mkdir -p src/deep; printf 'one\n' > src/f1; printf 'two\n' > src/deep/f2; printf '#!/bin/sh\necho run\n' > src/run.sh
chmod 640 src/f1; chmod 755 src/run.sh; chmod 700 src/deep; ln -s f1 src/lnk
touch -d '2020-01-02 03:04:05' src/f1; touch -d '2020-06-07 08:09:10' src/deep/f2 src/run.sh
touch -h -d '2019-01-01 00:00:00' src/lnk; touch -d '2018-01-01 00:00:00' src/deep src
cp -a src dst
tree() { (cd "$1" && find . -printf '%p %y %m %TY-%Tm-%Td_%TH:%TM:%TS %s\n' | awk '$2 == "d" { $5 = "-" } { print }' | sort); }
tree src > t1; tree dst > t2; cat t2; cmp t1 t2 && echo "cp -a: modes, times and links preserved"
readlink dst/lnk; cat dst/lnk
cp src/f1 plain; stat -c '%a %Y' plain | awk '{ print $1, ($2 == 1577934245) ? "same time" : "new time" }'
cp -p src/f1 kept; stat -c '%a %y' kept
cp -r src rcopy; stat -c '%a' rcopy/f1 rcopy/run.sh
mv dst moved; [ -e dst ] || echo "mv: dst gone"; tree moved | cmp - t1 && echo "mv: same tree"
mv moved/f1 /tmp/dt-coreutils-f1; stat -c '%a %y %s' /tmp/dt-coreutils-f1; mv /tmp/dt-coreutils-f1 back; cat back
mv -n a.txt one; cat one; echo; mv -v one onemv | sed "s#$W#W#g"
ln -s /nonexistent dangling; [ -L dangling ] && [ ! -e dangling ] && echo "dangling symlink"
ln -sf a.txt dangling; cat dangling | head -1; ln -sr dir/f1 rel; readlink rel
ln hard hard2; stat -c '%h' a.txt; rm hard2; stat -c '%h' a.txt
realpath dir/sub1/../f1 link; readlink -f rel; readlink -m /a/b/../c
touch m; chmod 644 m; chmod u+x,g-r,o=w m; stat -c '%a %A' m; chmod -R go-rwx src; stat -c '%n %a' src src/f1 src/deep/f2
chmod a=rx,u+s m; stat -c '%A' m; chmod 0 m; stat -c '%A' m; chmod --reference=a.txt m; stat -c '%a' m
install -m 750 -d inst/d; install -m 604 a.txt inst/d/x; stat -c '%n %a' inst/d inst/d/x
mkdir -p -m 711 mk/a/b; stat -c '%a' mk/a/b; rmdir -p mk/a/b; [ -d mk ] || echo "rmdir -p removed mk"
truncate -s 10K tr; stat -c '%s' tr; truncate -s -1000 tr; stat -c '%s' tr; truncate -s 0 tr; stat -c '%s' tr
dd if=/dev/zero of=dd.out bs=1K count=3 status=none; stat -c '%s' dd.out; dd if=nums.txt bs=1 skip=5 count=6 status=none | od -An -c
printf 'abc' > t; tee -a t < lines > /dev/null; wc -l < t
chown 1234:5678 t; stat -c '%u:%g %U' t; chown root:root t; stat -c '%U:%G' t
rm -r src; [ -e src ] || echo "rm -r: src gone"; rm nosuch 2>/dev/null; echo "rm missing: status=$?"; rm -f nosuch; echo "rm -f missing: status=$?"
unlink tr; link t t.link; stat -c '%h' t

sec find and xargs
mkdir -p ft/a/b ft/c; for f in ft/x.txt ft/a/y.txt ft/a/b/z.c ft/c/w.txt ft/c/v.c; do echo "$f" > $f; done; : > ft/a/empty
touch -d '2020-01-01' ft/x.txt ft/a/y.txt; touch -d '2023-01-01' ft/a/b/z.c ft/c/w.txt ft/c/v.c ft/a/empty
find ft | sort | tr '\n' ' '; echo
find ft -name '*.txt' | sort | tr '\n' ' '; echo
find ft -type d | sort | tr '\n' ' '; echo; find ft -empty -type f; find ft -maxdepth 1 -type f
find ft -newermt 2022-01-01 -type f | sort | tr '\n' ' '; echo
find ft -name '*.c' -exec wc -c {} + | sort -k2; find ft -name '*.txt' -exec cat {} \; | sort
find ft -type f -size +0 -printf '%f %s %TY\n' | sort; find ft -path '*/a/*' -prune -o -type f -print | sort | tr '\n' ' '; echo
find ft -type f -mtime +100 | sort | tr '\n' ' '; echo; find ft -name '*.c' -delete; find ft -name '*.c' | wc -l
seq 1 24 | xargs -P 4 -n 2 sh -c 'echo $(( $1 * $2 ))' sh | sort -n | tr '\n' ' '; echo
seq 1 40 | xargs -P 4 -I{} sh -c 'echo {} > /var/tmp/dt-coreutils/xp.{}'; ls xp.* | wc -l; cat xp.* | sort -n | tail -1
printf 'a b\0c d\0' | xargs -0 -n1 echo | cat; echo 1 2 3 4 5 | xargs -n 2 | cat; echo x | xargs -I% echo '<%>'
find ft -type f -print0 | sort -z | xargs -0 cat | sort | tr '\n' ' '; echo
seq 3 | xargs sh -c 'exit 3'; echo "xargs child exit 3: status=$?"; seq 3 | xargs sh -c 'exit 255' 2>/dev/null; echo "exit 255: status=$?"

sec misc
timeout 0.5 sleep 10; echo "timeout: status=$?"; { timeout -s KILL 0.5 sleep 10; } 2>/dev/null; echo "timeout -s KILL: status=$?"
timeout 10 true; echo "timeout ok: status=$?"
sleep 0.1; echo "sleep ok"; true; echo "true=$?"; false; echo "false=$?"
id -u; id -gn; whoami; uname -s; uname -m; nproc | grep -qx '[1-9][0-9]*' && echo "nproc is a number"
test -d dir -a ! -f dir && echo "test -d"; [ a.txt -ef hard ] && echo "-ef same file"; [ nums.txt -nt a.txt ] && echo "-nt newer"
mktemp -d -p $W tmp.XXXXXX | grep -q "^$W/tmp\.......$" && echo "mktemp -d made a directory name"
pathchk -p 'ok_name' && echo "pathchk ok"; getconf PAGESIZE | grep -qx '[0-9]*' && echo "getconf PAGESIZE a number"
printf 'z\ny\n' | stdbuf -oL sort | tr '\n' ' '; echo
nohup true > /dev/null 2>&1; echo "nohup: status=$?"; nice -n 5 nice; tty; echo "tty status=$?"
sync; echo "sync ok"

cd /; rm -rf $W
echo done
