# busybox text applets. Run by /tests/busybox/run (output compared with text.expected).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin TZ=UTC LC_ALL=C HOME=/root
T=/tmp/bb-text
rm -rf $T; mkdir -p $T; cd $T || exit 1
cat > fruits.txt <<'EOF'
banana 3 yellow
apple 10 red
cherry 7 red
apple 2 green
date 15 brown
banana 3 yellow
EOF
seq 1 20 > n.txt

echo "== echo printf"
echo plain; echo -n "-n "; echo done
busybox echo -e 'a\tb\\c\0101' | od -c | head -2
printf '%s|%d|%5.2f|%-4s|%04x|%e\n' str 42 3.14159 ab 255 12345.678
printf '%b\n' 'back\tslash'
printf '%q\n' 'a b' 2>/dev/null || echo "no %q"

echo "== cat tac head tail"
cat fruits.txt
cat -n fruits.txt | head -2
printf 'x\ty\n' | cat -A 2>/dev/null || printf 'x\ty\n' | cat -vET
tac fruits.txt | head -2
head -n 3 n.txt | tr '\n' ' '; echo
head -c 5 fruits.txt; echo
head -n -17 n.txt | tr '\n' ' '; echo
tail -n 3 n.txt | tr '\n' ' '; echo
tail -n +18 n.txt | tr '\n' ' '; echo
tail -c 6 fruits.txt
head -n 2 n.txt fruits.txt

echo "== wc"
wc fruits.txt
wc -l < fruits.txt; wc -w < fruits.txt; wc -c < fruits.txt
printf 'longest line here\nx\n' | wc -L

echo "== sort uniq"
sort fruits.txt
sort -r fruits.txt | head -2
sort -k2,2n fruits.txt
sort -t' ' -k3,3 -k1,1 fruits.txt
sort -u fruits.txt | wc -l
printf '10\n9\n100\n-1\n' | sort -n | tr '\n' ' '; echo
printf '1K\n2M\n512\n' | sort -h | tr '\n' ' '; echo
printf 'b\nA\na\nB\n' | sort -f | tr '\n' ' '; echo
printf '1.10\n1.2\n1.9\n' | sort -V | tr '\n' ' '; echo
sort -c fruits.txt 2>/dev/null; echo "sort -c unsorted: $?"
sort n.txt -n -c; echo "sort -c sorted: $?"
sort fruits.txt | uniq
sort fruits.txt | uniq -c
sort fruits.txt | uniq -d
cut -d' ' -f1 fruits.txt | sort | uniq -u
printf 'a x\nb x\nc y\n' | uniq -f1 -c

echo "== cut tr"
cut -d' ' -f1,3 fruits.txt
cut -c1-3 fruits.txt | head -2
cut -b2- fruits.txt | head -1
printf 'a:b:c\nd:e:f\n' | cut -d: -f2-
echo "hello world" | tr a-z A-Z
echo "hello world" | tr -d lo
echo "aaabbbccc" | tr -s abc
echo "hello" | tr -c 'l\n' '.'
echo "a1b2c3" | tr -cd '0-9\n'
echo "tab	sep" | tr '\t' ','
echo "[:upper:]" | tr '[:punct:]' '_'

echo "== sed"
sed 's/apple/APPLE/' fruits.txt | head -2
sed -n '2,3p' fruits.txt
sed '/banana/d' fruits.txt
sed -e 's/ /:/g' -e '1q' fruits.txt
sed -n '/cherry/,/date/p' fruits.txt
sed 's/\([a-z]*\) \([0-9]*\).*/\2=\1/' fruits.txt | head -3
sed -E 's/([a-z]+) ([0-9]+)/\2 \1/' fruits.txt | head -1
sed '1!G;h;$!d' fruits.txt | head -2
sed = fruits.txt | head -4
sed 'y/abc/ABC/' fruits.txt | head -1
printf 'a\nb\nc\n' | sed '2i\
inserted
$a\
appended'
printf 'one\ntwo\n' | sed -n '$='
cp fruits.txt inplace.txt; sed -i 's/red/RED/g' inplace.txt; grep -c RED inplace.txt
sed -i.bak '1d' inplace.txt; wc -l < inplace.txt; wc -l < inplace.txt.bak
echo "a.b.c" | sed 's/\./-/2'
echo "x" | sed 's/x/a\
b/'
echo "path/to/file" | sed 's|/|\\|g'

echo "== awk"
awk '{ print $1 }' fruits.txt | head -3
awk '$2 > 5 { print $1, $2 }' fruits.txt
awk '{ s += $2 } END { print "sum", s, "avg", s / NR }' fruits.txt
awk -F' ' '{ c[$3]++ } END { for (k in c) print k, c[k] }' fruits.txt | sort
awk 'BEGIN { printf "%05.2f %s %d %x\n", 3.14159, "str", 42.9, 255 }'
awk 'BEGIN { print length("hello"), substr("hello", 2, 3), index("hello", "ll"), toupper("abc") }'
awk 'BEGIN { s = "a-b-c"; n = split(s, p, "-"); print n, p[1], p[3] }'
awk 'BEGIN { s = "foo bar foo"; gsub(/foo/, "baz", s); print s; t = "x"; sub(/x/, "y", t); print t }'
awk 'BEGIN { if (match("abc123def", /[0-9]+/)) print RSTART, RLENGTH }'
awk 'NR % 5 == 0' n.txt | tr '\n' ' '; echo
awk -v x=7 'BEGIN { print x * 6 }'
awk 'BEGIN { OFS = ":" } { $1 = $1; print }' fruits.txt | head -1
awk 'BEGIN { printf "%d %d %.3f %d\n", int(7.9), -7 % 3, 7 / 2, 2 * 2 * 2 }'
awk 'function f(n) { return n <= 1 ? 1 : n * f(n - 1) } BEGIN { print f(10) }'
awk 'BEGIN { while (i < 3) { i++; printf "%d ", i }; print ""; do { j++ } while (j < 5); print j }'
printf 'a,b\nc,d\n' | awk -F, '{ print $2 $1 }'
awk 'END { print NR, FILENAME }' fruits.txt
awk 'BEGIN { "echo piped" | getline v; print v; print sprintf("%c%c", 72, 105) }'
echo "1 2 3" | awk '{ $2 = ""; print NF, $0 }'

echo "== grep egrep fgrep"
grep apple fruits.txt
grep -c banana fruits.txt
grep -v red fruits.txt
grep -n cherry fruits.txt
grep -i APPLE fruits.txt | head -1
grep -w 'red' fruits.txt | wc -l
grep -E '^(apple|date) ' fruits.txt
egrep '1[05]' fruits.txt
fgrep '3 y' fruits.txt
grep -F -x 'date 15 brown' fruits.txt
grep -o '[0-9][0-9]*' fruits.txt | tr '\n' ' '; echo
grep -l apple fruits.txt n.txt
grep -L apple fruits.txt n.txt
grep -q zzz fruits.txt; echo "grep -q no match: $?"
grep zzz /nonexistent 2>/dev/null; echo "grep missing file: $?"
grep -e apple -e date fruits.txt | wc -l
grep -A1 cherry fruits.txt
grep -B1 cherry fruits.txt
grep -h 1 n.txt fruits.txt | head -3
grep -s -r apple . | sort
printf 'cherry 7 red\nbar\n' > pat.txt; grep -x -f pat.txt fruits.txt; echo "status $?"

echo "== expr test seq yes"
expr 7 + 3; expr 7 \* 6; expr 17 / 5; expr 17 % 5; expr 5 \> 3; expr abc \< abd
expr length "hello"; expr substr "hello" 2 3; expr index "hello" l; expr "abc123" : '[a-z]*'
expr "abc123" : '[a-z]*\([0-9]*\)'
expr 0 + 0; echo "expr zero result status $?"
test 5 -gt 3 && echo "5 > 3"
[ -n "" ] || echo "empty string"
[ "$(echo a)" = a ] && echo "string equal"
test -f fruits.txt -a -r fruits.txt && echo "file readable"
test ! -d fruits.txt && echo "not a dir"
[ 1 -eq 1 -o 1 -eq 2 ] && echo "or works"
seq 5 | tr '\n' ' '; echo
seq 2 3 11 | tr '\n' ' '; echo
seq 5 -2 1 | tr '\n' ' '; echo
seq -w 8 11 | tr '\n' ' '; echo
seq -s, 1 4
seq 0.5 0.5 2 | tr '\n' ' '; echo
yes | head -n 3
yes abc | head -n 2

echo "== fold nl rev strings expand unexpand paste"
echo "the quick brown fox jumps over the lazy dog" | fold -w 10
echo "the quick brown fox jumps over the lazy dog" | fold -s -w 12
nl fruits.txt | head -3
nl -b a -s ': ' -w 3 n.txt | tail -2
printf 'a\n\nb\n' | nl
echo "stressed" | rev
printf 'abc\ndef\n' | rev
printf 'ab\000longer string\001x\002four\n' > bin.dat; strings bin.dat
strings -n 2 bin.dat
printf 'a\tb\tc\n' | expand | od -c | head -2
printf 'a\tb\n' | expand -t 4
printf '        x       y\n' | unexpand | od -c | head -1
printf '        x       y\n' | unexpand -a | od -c | head -1
seq 1 3 > c1; printf 'a\nb\nc\n' > c2
paste c1 c2
paste -d, c1 c2
paste -s c1
paste -s -d: c2

echo "== od hexdump xxd"
printf 'Hello, world\n\001\377' > hex.dat
od -c hex.dat
od -t x1 hex.dat
od -An -t u2 -N 4 hex.dat
od -b -N 3 hex.dat
hexdump -C hex.dat
hexdump -n 4 -e '4/1 "%02x " "\n"' hex.dat
xxd hex.dat
xxd -p hex.dat
xxd -p hex.dat | xxd -r -p | cmp - hex.dat && echo "xxd -r round trip"
xxd -i -c 8 -l 5 hex.dat 2>/dev/null || xxd -l 5 hex.dat

echo "== base64 uuencode uudecode dos2unix unix2dos"
echo "Many hands make light work." | base64
echo "TWFueSBoYW5kcyBtYWtlIGxpZ2h0IHdvcmsuCg==" | base64 -d
head -c 100 /dev/zero | base64 | head -1
printf 'uu test data\n' > uu.txt
uuencode uu.txt remote.txt > uu.enc
cat uu.enc | sed 's/^begin [0-7]* /begin MODE /'
uudecode -o uu.out uu.enc && cat uu.out
uuencode -m uu.txt x | sed -n 2p
printf 'line1\nline2\n' > dos.txt; unix2dos dos.txt; od -c dos.txt | head -2
dos2unix dos.txt; od -c dos.txt | head -2
printf 'a\r\nb\r\n' | dos2unix | od -c | head -1

echo "== tee"
echo "tee line" | tee tee1.txt tee2.txt
echo "appended" | tee -a tee1.txt > /dev/null
cat tee1.txt tee2.txt

cd /; rm -rf $T
exit 0
