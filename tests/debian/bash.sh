# bash: the language beyond POSIX sh. Run by tests/debian/run (bash, TZ=UTC LC_ALL=C, cwd
# /root); files under /tmp/dt-bash (removed at the end). Nothing printed depends on pids or
# timing: sleeps only order events with wide margins, pids are only compared.
W=/tmp/dt-bash
rm -rf $W; mkdir -p $W; cd $W || exit 1
sec() { echo "== $*"; }

sec indexed arrays
a=(zero one two "three four")
echo "n=${#a[@]} last=${a[-1]} slice=${a[*]:1:2} len3=${#a[3]}"
a+=(five); a[10]=ten
echo "n=${#a[@]} idx=${!a[*]}"
unset 'a[1]'
echo "n=${#a[@]} idx=${!a[*]}"
for x in "${a[@]}"; do printf '<%s>' "$x"; done; echo
b=("${a[@]/#/x-}"); echo "${b[*]}"
c=($(printf '%s\n' pear apple fig | sort)); echo "sorted: ${c[*]}"
declare -a d=([2]=b [0]=a); declare -p d
e=(); echo "empty n=${#e[@]} set=${e[0]+yes}"
IFS=, read -r -a f <<< "1,2,,4"; echo "read -a n=${#f[@]} f2='${f[2]}'"
g=("${a[@]:2}"); echo "from 2: ${g[*]}"

sec associative arrays
declare -A h=([apple]=red [banana]=yellow)
h[cherry]=dark\ red
h+=([date]=brown)
echo "n=${#h[@]} cherry=${h[cherry]}"
for k in "${!h[@]}"; do echo "$k=${h[$k]}"; done | sort
unset 'h[banana]'
[[ -v h[banana] ]] && echo banana set || echo banana unset
[[ -v h[apple] ]] && echo apple set
declare -A cnt=()
for w in the cat the dog the end cat; do cnt[$w]=$(( ${cnt[$w]:-0} + 1 )); done
for k in "${!cnt[@]}"; do echo "$k ${cnt[$k]}"; done | sort -k2,2nr -k1,1
declare -A sp=(["a key"]=1 ["x=y"]=2); printf '%s|' "${!sp[@]}" | tr '|' '\n' | sort
echo "keys with spaces: ${sp["a key"]} ${sp[x=y]}"

sec '[[ ]]'
s="version 5.3.15-release"
if [[ $s =~ ([0-9]+)\.([0-9]+)\.([0-9]+) ]]; then
    echo "match=${BASH_REMATCH[0]} major=${BASH_REMATCH[1]} n=${#BASH_REMATCH[@]}"
fi
re='^([a-z]+)@([a-z.]+)$'
for m in joe@example.com bad@ x@y.z; do
    [[ $m =~ $re ]] && echo "$m: user=${BASH_REMATCH[1]} host=${BASH_REMATCH[2]}" || echo "$m: no"
done
[[ abc == a* ]] && echo "glob a*: yes"
[[ abc == "a*" ]] || echo "quoted a*: no"
[[ file.tar.gz == *.@(gz|bz2) ]] && echo "extglob in [[: yes"
[[ b < c && ! c < b ]] && echo "string order: yes"
[[ 10 -gt 9 && 010 -eq 8 ]] && echo "arith compare: yes (010 is octal in [[ -eq ]])"
[[ -z "" && -n x ]] && echo "-z -n: yes"
shopt -s nocasematch; [[ HeLLo == hello ]] && echo "nocasematch: yes"; shopt -u nocasematch
x=; [[ -v x ]] && echo "-v x (empty): set"; unset x; [[ -v x ]] || echo "-v x: unset"

sec process substitution
diff <(printf '%s\n' a b c) <(printf '%s\n' a B c); echo "diff status=$?"
while read -r l; do echo "line: $l"; done < <(printf 'one\ntwo\n')
paste -d: <(seq 3) <(seq 4 6)
printf '%s\n' c a b | tee >(sort > $W/sorted) >(wc -l > $W/count) > /dev/null
wait
sleep 0.1
echo "sorted: $(tr '\n' ' ' < $W/sorted)count: $(cat $W/count)"
exec {fd}> >(tr a-z A-Z > $W/upper)
psub=$!
echo "hello procsub" >&$fd
exec {fd}>&-
wait $psub
cat $W/upper
echo "cat <(...) path: $(echo <(true) | sed 's/[0-9][0-9]*/N/g')"

sec here-strings and here-docs
read -r x y <<< "first second third"; echo "x=$x y=$y"
wc -c <<< "abc"
tr ' ' '\n' <<< "$s" | tail -1
cat <<< $'tab\there'
cat <<EOF
expanded: ${a[0]} $((6 * 7))
EOF
cat <<'EOF'
literal: ${a[0]} $((6 * 7))
EOF

sec traps
bash -c 'trap "echo exit trap runs, status \$?" EXIT; echo body; exit 3'; echo "bash -c status=$?"
( trap 'echo "ERR trap: status $? in ${FUNCNAME[0]:-main}"' ERR; set -E
  f() { false; echo "after false in f"; }; f; ls /nonexistent 2>/dev/null; true )
( set -e; trap 'echo "set -e exit: status $?"' EXIT; echo before; false; echo not reached )
trap 'echo "USR1 caught"' USR1
kill -USR1 $$
echo "after USR1"
trap - USR1
trap 'echo "handler 1"' USR2; trap -p USR2; trap - USR2; trap -p USR2; echo "trap -p after reset: [$(trap -p USR2)]"
rm -f $W/ready; mkfifo $W/ready
( trap 'echo "child: TERM caught"; exit 7' TERM; echo ready > $W/ready; while :; do sleep 0.05; done ) &
child=$!
read -r r < $W/ready; echo "child says $r"
kill -TERM $child; wait $child; echo "child status=$?"
( trap '' INT; bash -c 'kill -INT $$; echo "ignored INT inherited: survived"' )
bash -c 'kill -TERM $$; echo not reached'; echo "killed by TERM: status=$?"
f() { trap 'echo "RETURN trap in f"' RETURN; echo "in f"; }; f; trap - RETURN; unset -f f
echo "kill -l: $(kill -l 15) $(kill -l 9) $(kill -l SIGUSR1)"

sec job control
set -m
sleep 10 &
sleep 1   # (let the job exec sleep: a TERM that comes earlier can be lost in bash's child)
jobs
kill %1
wait %1; echo "wait %1: status=$?"
jobs
(sleep 0.3; exit 3) & j1=$!
(sleep 3; exit 4) &
wait -n -p who; st=$?
echo "wait -n: status=$st first=$([ "$who" = "$j1" ] && echo yes || echo no)"
jobs
wait; echo "wait: status=$?"
jobs; echo "jobs after wait: none listed"
sleep 10 & sleep 10 &
sleep 1
jobs | sed 's/ *$//'
kill %1; wait %1; echo "status=$?"
kill %2; wait %2; echo "status=$?"
jobs -l | wc -l
set +m
sleep 0.1 & p=$!; wait $p; echo "wait pid: status=$?"
(exit 9) & wait $!; echo "background (exit 9): status=$?"
wait 12345678 2>/dev/null; echo "wait unknown pid: status=$?"

sec read from pipes
printf 'a 1\nb 2\nc 3\n' | while read -r k v; do echo "$k -> $v"; done
n=0; printf 'x\ny\n' | while read -r l; do n=$((n + 1)); done; echo "pipe subshell: n=$n"
shopt -s lastpipe; n=0; printf 'x\ny\n' | while read -r l; do n=$((n + 1)); done; echo "lastpipe: n=$n"; shopt -u lastpipe
echo "r1 r2 r3" | { read -r -a arr; echo "read -a: ${#arr[@]} ${arr[2]}"; }
seq 10 10 50 | { mapfile -t lines; echo "mapfile: ${#lines[@]} ${lines[*]}"; }
seq 5 | mapfile -t -s 1 -n 3 m2; echo "mapfile in pipe (subshell): ${#m2[@]}"
seq 5 > $W/five; readarray -t -s 1 -n 3 m3 < $W/five; echo "readarray -s1 -n3: ${m3[*]}"
printf 'a:b:c\n' | { IFS=: read -r p q r; echo "IFS=: $p $q $r"; }
printf 'back\\slash\n' | { read l1; echo "no -r: $l1"; }
printf 'back\\slash\n' | { read -r l1; echo "-r: $l1"; }
printf 'abcdef' | { read -r -n 3 c3; echo "-n 3: $c3"; }
printf 'one\0two\0' | { while IFS= read -r -d '' z; do echo "nul: $z"; done; }
printf 'no newline' | { read -r l2; echo "status=$? l2=$l2"; }
seq 4 | { mapfile -t -C 'echo callback' -c 2 m4; echo "callback n=${#m4[@]}"; }

sec brace expansion
echo {a,b}{1,2}
echo {1..10..3} {a..e} {01..10..4} {5..1} {z..x}
echo pre{,-mid}-post x{a,{b,c}d}y
echo {1..3}{a..b}
echo "{not,expanded}" {single}

sec printf
printf -v pv '%05.1f|%-6s|%x|%o|%e' 3.14159 ab 255 8 12345.678; echo "$pv"
printf '%q\n' "it's a \"test\"" $'tab\there' ''
printf '%s-%s\n' 1 2 3 4 5
printf '%(%Y-%m-%d %H:%M:%S)T\n' 86400
printf '%(%A %j)T\n' 1700000000
printf '%b\n' 'a\tb\x41\0101'
printf '%5.2s|%c|%%|%+d|% d\n' abcdef xyz 5 5
printf '%d %d\n' "'A" 0x1f
printf -v rep '%*s' 5 ''; echo "[${rep// /-}]"

sec parameter transformations
v="it's \$HOME"; echo "${v@Q}"
arr2=(a 'b c'); echo "${arr2[@]@Q}"
w="hello World"; echo "${w@U} ${w@L} ${w@u}"
declare -i num=5; declare -r ro=1; declare -A as=([k]=v); echo "${num@a} ${ro@a} ${as@a} ${arr2@a}"
echo "${w@A}"; echo "${as[@]@K}"
e='a\tb'; echo "${e@E}"
u="mixed Case"; echo "${u^^} ${u,,} ${u^} ${u~~}"
p=/usr/local/lib/libfoo.so.1.2
echo "${p##*/} ${p%/*} ${p#*/} ${p%%.*} ${p/lib/LIB} ${p//lib/LIB} ${p/#\/usr/U} ${p/%2/TWO}"
echo "${#p} ${p:5} ${p:5:5} ${p: -3} ${p:(-3):1}"
unset un; echo "${un:-default} ${un-dash} ${un:+alt} x${un+set}"; echo "${un:=assigned} $un"
prefix_a=1 prefix_b=2; echo "${!prefix_@}"
ref=w; echo "indirect: ${!ref}"

sec extglob and globbing
shopt -s extglob
mkdir g; touch g/a.txt g/b.txt g/c.log g/d.tar.gz g/.hidden g/README
(cd g && echo !(*.txt)); (cd g && echo *.@(txt|log)); (cd g && echo +([a-d]).*)
(cd g && echo ?(a|b).txt); (cd g && echo *([!.]))
t="  lots   of    space  "; t="${t##+([[:space:]])}"; t="${t%%+([[:space:]])}"; echo "[${t//+([[:space:]])/ }]"
[[ 12345 == +([0-9]) ]] && echo "digits: yes"; [[ 12a45 == +([0-9]) ]] || echo "12a45: no"
[[ foo.c == !(*.h) ]] && echo "!(*.h): yes"
shopt -s nullglob; echo "nullglob: [$(echo g/*.none)]"; shopt -u nullglob
echo "no match: $(echo g/*.none)"
shopt -s dotglob; (cd g && echo *); shopt -u dotglob
mkdir -p g/x/y/z; touch g/x/1.c g/x/y/2.c g/x/y/z/3.c
shopt -s globstar; echo g/**/*.c; shopt -u globstar
echo g/[ab].txt g/[!ab]*

sec coproc
coproc DOUBLER { while read -r n; do echo $((n * 2)); done; }
for i in 1 21 50; do echo "$i" >&"${DOUBLER[1]}"; read -r r <&"${DOUBLER[0]}"; echo "doubled $i -> $r"; done
dp=$DOUBLER_PID
exec {DOUBLER[1]}>&-
wait "$dp"; echo "coproc status=$?"
coproc { tr a-z A-Z; }
echo "to upper" >&"${COPROC[1]}"; exec {COPROC[1]}>&-
read -r up <&"${COPROC[0]}"; echo "$up"; wait $COPROC_PID 2>/dev/null; echo "anon coproc done"

sec namerefs
setval() { local -n target=$1; target=$2; }
setval nv1 hello; echo "nv1=$nv1"
addto() { local -n arr=$1; shift; arr+=("$@"); }
list=(x); addto list y z; echo "list=${list[*]} n=${#list[@]}"
fill() { local -n m=$1; m[one]=1; m[two]=2; }
declare -A mm; fill mm; for k in "${!mm[@]}"; do echo "mm[$k]=${mm[$k]}"; done | sort
declare -n alias2=nv1; alias2=changed; echo "nv1=$nv1 via ${!alias2}"
swap() { local -n a1=$1 b1=$2; local t=$a1; a1=$b1; b1=$t; }
s1=left s2=right; swap s1 s2; echo "swap: $s1 $s2"

sec arithmetic
echo $(( 7 / 2 )) $(( -7 / 2 )) $(( -7 % 3 )) $(( 2 ** 10 )) $(( 1 << 40 )) $(( ~5 )) $(( 5 ^ 3 )) $(( 6 & 3 | 8 ))
echo $(( 16#ff )) $(( 2#1010 )) $(( 8#17 )) $(( 0x10 )) $(( 010 )) $(( 36#zz )) $(( 64#_ ))
echo $(( 9223372036854775807 + 1 )) $(( 2 ** 63 )) $(( -9223372036854775807 - 1 ))
i=5; (( i++ )); (( ++i )); (( i += 10, i *= 2 )); echo "i=$i"
echo $(( i > 20 ? 1 : 0 )) $(( (3 + 4) * 5 )) $(( 10 % 4 == 2 && 1 || 0 ))
let "j = 3 * 4" "k = j << 2"; echo "j=$j k=$k"
declare -i di="2 + 3"; di+=4; echo "declare -i: $di"
(( 0 )); echo "(( 0 )) status=$?"; (( 5 )); echo "(( 5 )) status=$?"
( echo $(( 1 / 0 )) ) 2>&1 | sed 's/^.*line [0-9]*: //'
fib() { local n=$1; (( n < 2 )) && { echo $n; return; }; echo $(( $(fib $((n - 1))) + $(fib $((n - 2))) )); }
echo "fib(12)=$(fib 12)"
f=0; for (( n = 1; n <= 100; n++ )); do (( f += n * n )); done; echo "sum of squares 1..100 = $f"
RANDOM=42; r1="$RANDOM $RANDOM $RANDOM"; RANDOM=42; r2="$RANDOM $RANDOM $RANDOM"
[ "$r1" = "$r2" ] && echo "RANDOM reseeds: same sequence"

sec subshells and BASHPID
[ "$BASHPID" = "$$" ] && echo "main: BASHPID = \$\$"
( [ "$BASHPID" != "$$" ] && echo "subshell: BASHPID != \$\$, \$\$ unchanged"; echo "BASH_SUBSHELL=$BASH_SUBSHELL" )
( ( echo "nested BASH_SUBSHELL=$BASH_SUBSHELL" ) )
sub=$(echo $BASHPID); [ "$sub" != "$$" ] && echo "command substitution runs in another process"
p1=$(echo $BASHPID); p2=$(echo $BASHPID); [ "$p1" != "$p2" ] && echo "two substitutions: two processes"
echo "x" | { [ "$BASHPID" != "$$" ] && echo "pipeline part: another process"; }
{ [ "$BASHPID" = "$$" ] && echo "group: same process"; }
v=outer; ( v=inner ); echo "v=$v"
[ "$PPID" -gt 0 ] && echo "PPID is a number"
sleep 0.1 & [ "$!" != "$$" ] && [ "$!" -gt 0 ] && echo "\$! is the child"; wait

sec functions and misc
outer() { inner; }; inner() { echo "FUNCNAME: ${FUNCNAME[*]}"; }; outer
cnt() { local c=0; for x; do c=$((c + 1)); done; return $c; }; cnt a b c; echo "return value: $?"
declare -f cnt | head -2
type -t cnt; type -t echo; type -t ls; type -t if; type -t nosuchcmd || echo "type nosuch: status=$?"
false | true; echo "PIPESTATUS: ${PIPESTATUS[*]}"
( exit 3 ) | ( exit 0 ) | ( exit 5 ); echo "PIPESTATUS: ${PIPESTATUS[*]}"
set -o pipefail; false | true; echo "pipefail: $?"; set +o pipefail
for w in apple banana cherry; do case $w in a*) echo "$w: a";;& *an*) echo "$w: an";; *) echo "$w: other";; esac; done
case x in x) echo "fall";& y) echo "through";; esac
str=abc; echo "${str:0:1}${str: -1}" ${#str}
declare -l lo=HeLLo; declare -u upv=world; echo "$lo $upv"
getopts_test() { local OPTIND o; while getopts "ab:c" o; do echo "opt $o ${OPTARG:-}"; done; shift $((OPTIND - 1)); echo "rest: $*"; }
getopts_test -a -b val -c file1 file2
set -- "a b" c; echo "\$#=$# \$1=$1"; set -- ; echo "\$#=$#"
echo "$(( $(printf '%s\n' 1 2 3 | paste -sd+) ))"
IFS=: ; parts="a:b:c"; set -- $parts; echo "IFS split: $# $2"; unset IFS
eval 'ev=$(( 3 + 4 ))'; echo "eval: $ev"
alias_out=$(bash -c 'shopt -s expand_aliases; alias hi="echo hi from alias"
hi'); echo "$alias_out"
echo "exit 127: $(nosuchcommand 2>/dev/null; echo $?)"
bash -c 'exit 300'; echo "exit 300 -> $?"
printf '%s\n' "${BASH_VERSINFO[0]}" | grep -qx '[0-9]*' && echo "BASH_VERSINFO numeric"

cd /; rm -rf $W
echo done
