# busybox archivers, compressors and checksums. Run by /tests/busybox/run (output compared with
# archive.expected). The xz, lzma, zip and ar inputs (busybox only unpacks those) are embedded
# below in base64, made on the host by: printf 'compressed with xz\n' | xz -9 --check=crc32;
# printf 'compressed with lzma\n' | xz --format=lzma; Python's zipfile (fixed dates); ar rcD.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin TZ=UTC LC_ALL=C HOME=/root
umask 022
T=/tmp/bb-archive
rm -rf $T; mkdir -p $T; cd $T || exit 1
base64 -d > blob.xz <<'B64'
/Td6WFoAAAFpIt42AgAhARwAAAAQz1jMAQASY29tcHJlc3NlZCB3aXRoIHh6CgAAcyf0egABJxOQ
Rv1+kEKZDQEAAAAAAVla
B64
base64 -d > blob.lzma <<'B64'
XQAAgAD//////////wAxm8nz9ryOxc4dV7sQJ1Jhv6+rX32UlDrt//+EXgAA
B64
base64 -d > blob.zip <<'B64'
UEsDBBQAAAAIAIMYIijwdbslDwAAAA0AAAAKAAAAemRpci9hLnR4dKvKLFDITc1NSi1SSOQCAFBL
AwQUAAAACACDGCIovu4/LyAAAABRAAAACgAAAHpkaXIvYi50eHSryixQyE3NTUotUkjSUUhUSMos
UcjJz0tPLeKqIksKAFBLAQIUAxQAAAAIAIMYIijwdbslDwAAAA0AAAAKAAAAAAAAAAAAAACkAQAA
AAB6ZGlyL2EudHh0UEsBAhQDFAAAAAgAgxgiKL7uPy8gAAAAUQAAAAoAAAAAAAAAAAAAAKQBNwAA
AHpkaXIvYi50eHRQSwUGAAAAAAIAAgBwAAAAfwAAAAAA
B64
base64 -d > blob.a <<'B64'
ITxhcmNoPgptMS8gICAgICAgICAgICAgMCAgICAgICAgICAgMCAgICAgMCAgICAgNjQ0ICAgICAx
NCAgICAgICAgYAphciBtZW1iZXIgb25lCm0yLyAgICAgICAgICAgICAwICAgICAgICAgICAwICAg
ICAwICAgICA2NDQgICAgIDcgICAgICAgICBgCnNlY29uZAoK
B64
mkdir -p tree/sub/deep
printf 'first file\n' > tree/a.txt
seq 1 2000 > tree/sub/numbers.txt
printf 'deep\n' > tree/sub/deep/d.txt
ln -s a.txt tree/link
find tree -exec touch -h -d '2000-01-02 03:04:05' {} +
seq 1 5000 | sed 's/$/ some repeated text to compress/' > big.txt

echo "== md5sum sha1sum sha256sum sha512sum sha3sum crc32"
printf 'abc' > abc
md5sum abc; sha1sum abc; sha256sum abc; sha384sum abc; sha512sum abc
sha3sum abc 2>/dev/null || echo "no sha3sum"
crc32 abc 2>/dev/null || echo "no crc32"
printf '' | md5sum
md5sum big.txt tree/a.txt > sums.md5; cat sums.md5
md5sum -c sums.md5
echo tampered >> tree/a.txt; md5sum -c sums.md5 2>&1; echo "md5sum -c after change: $?"
printf 'first file\n' > tree/a.txt; touch -d '2000-01-02 03:04:05' tree/a.txt
sha256sum big.txt | sha256sum -c 2>/dev/null | head -1 || true
sha256sum big.txt > s.256; sha256sum -c s.256

echo "== gzip gunzip zcat"
cp big.txt g.txt
gzip g.txt; [ -e g.txt ] || echo "gzip removed the original"; ls g.txt.gz
gzip -t g.txt.gz && echo "gzip -t ok"
zcat g.txt.gz | md5sum
gunzip g.txt.gz; md5sum g.txt
gzip -c g.txt | md5sum
gzip -1 -c g.txt | wc -c
gzip -9 -c g.txt | wc -c
gzip -c g.txt > g2.gz; gunzip -c g2.gz | cmp - g.txt && echo "gunzip -c round trip"
printf 'stream\n' | gzip | gzip -d
printf 'not gzip' | gunzip 2>/dev/null; echo "gunzip bad input: $?"
gzip -k g.txt; ls g.txt g.txt.gz

echo "== bzip2 bunzip2 bzcat"
cp big.txt b.txt
bzip2 b.txt; ls b.txt.bz2
bzip2 -t b.txt.bz2 && echo "bzip2 -t ok"
bzcat b.txt.bz2 | md5sum
bunzip2 b.txt.bz2; cmp b.txt big.txt && echo "bunzip2 round trip"
bzip2 -c big.txt | md5sum
bzip2 -c big.txt | bzip2 -dc | tail -1

echo "== xz unxz xzcat lzma unlzma lzcat lzop"
xzcat blob.xz
xz -t blob.xz && echo "xz -t ok"
xz -dc blob.xz | od -c | head -1
cp blob.xz xzcopy.xz; unxz xzcopy.xz; cat xzcopy
lzcat blob.lzma
cp blob.lzma l2.lzma; unlzma l2.lzma; cat l2
lzma -dc blob.lzma | wc -c
lzop -c big.txt > big.lzo; lzop -dc big.lzo | cmp - big.txt && echo "lzop round trip"
cp big.txt lz.txt; lzop lz.txt; ls lz.txt*

echo "== tar"
tar cf t.tar tree; tar tf t.tar | sort
tar tvf t.tar | sort -k6
mkdir tx1; tar xf t.tar -C tx1; diff -r tree tx1/tree && echo "tar x: same tree"
readlink tx1/tree/link; stat -c '%y' tx1/tree/sub/deep/d.txt | cut -c1-19
tar czf t.tgz tree; tar tzf t.tgz | sort | head -3
mkdir tx2; (cd tx2 && tar xzf ../t.tgz); cmp tx2/tree/sub/numbers.txt tree/sub/numbers.txt && echo "tar z round trip"
tar cjf t.tbz tree; mkdir tx3; tar xjf t.tbz -C tx3; diff -r tree tx3/tree && echo "tar j round trip"
tar cf - tree/a.txt tree/sub/deep | tar tf -
tar xOf t.tar tree/sub/deep/d.txt
tar cf - -C tree sub/deep | tar tvf - | sort -k6
mkdir tx4; tar xf t.tar -C tx4 --strip-components 2 tree/sub/deep/d.txt; ls tx4
tar tf nonexist.tar 2>/dev/null; echo "tar missing archive: $?"
tar cf u.tar --numeric-owner tree/a.txt; tar tvf u.tar | awk '{ print $1, $2, $3 }'

echo "== cpio"
(cd tree && find . | sort | cpio -o -H newc 2>/dev/null) > t.cpio
cpio -t < t.cpio 2>/dev/null | sort
mkdir c1; (cd c1 && cpio -id < ../t.cpio 2>/dev/null); diff -r tree c1 && echo "cpio round trip"
cpio -tv < t.cpio 2>/dev/null | sort -k 9

echo "== unzip ar"
unzip -l blob.zip | awk 'NR > 3 && $4 ~ /zdir/ { print $1, $2, $3, $4 }'
unzip -q blob.zip -d zout; cat zout/zdir/a.txt; md5sum zout/zdir/b.txt
unzip -p blob.zip zdir/a.txt
ar t blob.a
ar p blob.a m2
mkdir arx; (cd arx && ar x ../blob.a); cat arx/m1

cd /; rm -rf $T
exit 0
