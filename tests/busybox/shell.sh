# busybox sh: the shell language. Run by /tests/busybox/run (output compared with shell.expected).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin TZ=UTC LC_ALL=C HOME=/root
T=/tmp/bb-shell
rm -rf $T; mkdir -p $T; cd $T || exit 1

echo "== pipes"
echo "one two three" | tr ' ' '\n' | sort | tr '\n' ' '; echo
printf 'a\nb\nc\n' | while read -r l; do echo "line $l"; done
echo x | (read -r v; echo "subshell read $v")
! false | true; echo "negated pipeline $?"
false | true; echo "pipeline status is the last $?"
set -o pipefail; false | true; echo "pipefail $?"; set +o pipefail

echo "== redirections"
echo first > f.txt
echo second >> f.txt
cat < f.txt
wc -l < f.txt
ls /nonexistent 2> err.txt; echo "ls status $?"
grep -c nonexistent err.txt
{ echo to-stdout; echo to-stderr >&2; } > both.txt 2>&1
cat both.txt
exec 3> fd3.txt
echo via fd3 >&3
exec 3>&-
cat fd3.txt
exec 4< f.txt
read -r a <&4; read -r b <&4
exec 4<&-
echo "read from fd4: $a $b"
: > empty.txt; wc -c < empty.txt
echo clobber > f2.txt; echo again > f2.txt; cat f2.txt
cat <<EOF
here-doc with expansion: $((6 * 7)) $(echo cmd)
EOF
cat <<'EOF'
quoted here-doc: $HOME $(not run)
EOF
cat <<-EOF
	tab-stripped here-doc
	EOF
tr a-z A-Z <<EOF | sed 's/^/piped: /'
here-doc into a pipe
EOF

echo "== subshells and command substitution"
x=outer
(x=inner; echo "in subshell x=$x")
echo "after subshell x=$x"
(cd /; pwd)
pwd
echo "cmdsubst: $(echo a $(echo b $(echo c)))"
echo "backticks: `echo tick`"
n=$(printf 'l1\nl2\n\n\n'); echo "trailing newlines stripped: [$n]"
echo "exit of cmdsubst: $(exit 3)$?"
{ echo group1; echo group2; } | wc -l

echo "== arithmetic"
echo $((1 + 2 * 3)) $(((1 + 2) * 3)) $((17 / 5)) $((17 % 5)) $((-7 / 2)) $((2 ** 10))
echo $((0x1f)) $((010)) $((1 << 4)) $((255 & 15)) $((8 | 3)) $((6 ^ 3)) $((~0))
echo $((3 > 2)) $((3 < 2)) $((3 == 3)) $((3 != 3)) $((1 && 0)) $((1 || 0)) $((!5))
i=5; i=$((i + 1)); : $((i += 10)); echo "i=$i"
echo $((i > 10 ? 100 : 200))
echo $((9223372036854775807)) $((-9223372036854775807 - 1))
j=3; echo $((j++)) $j $((++j)) $((j--)) $j

echo "== if case for while until"
for v in 1 2 3; do
    if [ $v -eq 1 ]; then echo "$v one"; elif [ $v = 2 ]; then echo "$v two"; else echo "$v other"; fi
done
for w in apple banana cherry 42 x.tar.gz ''; do
    case $w in
        a*) echo "$w: starts with a" ;;
        *an*) echo "$w: has an" ;;
        [0-9]*) echo "$w: number" ;;
        *.tar.gz|*.tgz) echo "$w: tarball" ;;
        '') echo "empty" ;;
        *) echo "$w: other" ;;
    esac
done
i=0; while [ $i -lt 3 ]; do echo "while $i"; i=$((i + 1)); done
i=0; until [ $i -ge 3 ]; do echo "until $i"; i=$((i + 1)); done
for i in 1 2 3 4 5 6; do
    [ $i = 2 ] && continue
    [ $i = 5 ] && break
    echo "loop $i"
done
for i in a b; do for j in 1 2; do [ $j = 2 ] && continue 2; echo "$i$j"; done; done
set -- p q r
for arg; do echo "arg $arg"; done
for f in /tests/busybox/shell.s?; do echo "glob $f"; done
for f in $T/nomatch*; do echo "unmatched glob $f"; done

echo "== functions"
greet() { echo "hello $1 ($# args)"; }
greet world a b
fact() { if [ $1 -le 1 ]; then echo 1; else echo $(($1 * $(fact $(($1 - 1))))); fi; }
echo "fact 10 = $(fact 10)"
ret() { return $1; }
ret 7; echo "return $?"
scope() { local v=local; echo "in function v=$v"; }
v=global; scope; echo "after function v=$v"
setg() { g=set-in-function; }; setg; echo "g=$g"
args() { echo "count $#"; for a in "$@"; do echo "[$a]"; done; }
args "a b" c "" d
star() { echo "[$*]"; }
star 1 2 3
shifter() { shift 2; echo "after shift: $*"; }
shifter a b c d

echo "== parameters"
unset u; echo "${u:-default} ${u-unset} [${u:+alt}]"
s=hello; echo "${s:+alt} ${#s} ${s%lo} ${s#he} ${s%%l*} ${s##*l}"
p=/usr/local/lib/libfoo.so.1; echo "${p##*/} ${p%/*} ${p#/usr}"
echo "${s/l/L} ${s//l/L} ${s:1:3} ${s:2}"
: ${newvar:=assigned}; echo "newvar=$newvar"
(echo ${undefined_var?is unset}) 2>&1 | sed 's/^.*undefined_var/undefined_var/'
echo "dollar-hash $# dollar-at $@"
set -- "x y" z; echo "$# $1"
IFS=: read -r a b c <<EOF
1:2:3
EOF
echo "IFS read: $a $b $c"
old=$IFS; IFS=,; set -- $(echo "a,b,c"); IFS=$old; echo "split: $# $2"
readonly ro=1; (ro=2) 2>/dev/null; echo "readonly assign status $?"
export EXPORTED=yes; sh -c 'echo "child sees EXPORTED=$EXPORTED"'
NOTEXP=no; sh -c 'echo "child sees NOTEXP=[$NOTEXP]"'
PREFIX=temp sh -c 'echo "prefix assignment $PREFIX"'; echo "after: [${PREFIX-}]"
eval 'ev=evaluated; echo "eval: $ev"'
cmd='echo eval with args'; eval "$cmd" 1 2
printf '%s-%s\n' a b c d
printf '%5d|%-5s|%05.1f|%x|%o|%c|%%\n' 42 ab 3.14159 255 8 xyz
printf 'esc: \\t[\t] \\101=\101\n'
echo -n "no newline"; echo
echo -e 'e\tscape' 2>/dev/null
getopts_test() {
    OPTIND=1
    while getopts "ab:c" opt; do
        case $opt in a) echo "opt a" ;; b) echo "opt b=$OPTARG" ;; c) echo "opt c" ;; *) echo "bad opt" ;; esac
    done
    shift $((OPTIND - 1)); echo "rest: $*"
}
getopts_test -a -b val -c file1 file2
getopts_test -x 2>/dev/null

echo "== exit codes and lists"
true && echo "and after true"
false && echo "not printed"
false || echo "or after false"
true || echo "not printed"
sh -c 'exit 42'; echo "exit 42 -> $?"
sh -c 'kill -9 $$'; echo "killed by 9 -> $?"
/nonexistent/cmd 2>/dev/null; echo "not found -> $?"
chmod 644 f.txt; ./f.txt 2>/dev/null; echo "not executable -> $?"
(exit 300); echo "exit 300 -> $?"
if ! grep -q nothing f.txt; then echo "grep -q no match"; fi

echo "== set -e and set -u"
sh -c 'set -e; echo before; false; echo not reached'; echo "set -e status $?"
sh -c 'set -e; if false; then :; fi; false || true; ! true; echo "set -e survives tests"'
sh -c 'set -e; f() { false; echo in-f; }; f; echo after-f' ; echo "set -e in function status $?"
sh -c 'set -u; echo $undefined_thing' 2>/dev/null; echo "set -u status $?"
sh -c 'set -x; echo traced' 2>&1

echo "== traps"
(trap 'echo EXIT trap in subshell' EXIT; echo subshell body)
sh -c 'trap "echo exit trap, status \$?" EXIT; exit 7'; echo "status $?"
trap 'echo caught USR1' USR1
kill -USR1 $$
echo "after kill -USR1"
trap 'echo caught HUP' HUP
kill -HUP $$
trap - USR1 HUP
trap '' INT; kill -INT $$; echo "INT ignored"; trap - INT
sh -c 'trap "echo got TERM; exit 3" TERM; touch ready; while :; do usleep 20000; done' &
tp=$!
while [ ! -e ready ]; do usleep 10000; done
kill -TERM $tp; wait $tp; echo "trap TERM exit $?"
sh -c 'kill -TERM $$; echo not reached'; echo "default TERM -> $?"
sh -c 'trap "" TERM; kill -TERM $$; echo survived TERM'; echo "status $?"
trap 'echo shell.sh EXIT trap' EXIT

echo "== background jobs"
# (The "Terminated" notice for a killed background job depends on whether the shell reaps it
# before "wait" starts, a race on any kernel: the notice goes to /dev/null.)
{ sleep 10 &
kill %1
wait %1; echo "wait after kill %1: $?"; } 2>/dev/null
(sleep 0.1; exit 5) &
wait $!; echo "wait for exit 5: $?"
for i in 1 2 3; do (usleep $((i * 20000)); echo "bg $i" > bg$i.txt) & done
wait; echo "all waited:" $(cat bg1.txt bg2.txt bg3.txt)
sleep 10 & sleep 10 &
kill %1 %2; wait; echo "two killed"
# (ash's "Terminated" notice for the killed child depends on whether its SIGCHLD is reaped
# before "wait" starts, a race on any kernel under load: the notice goes to /dev/null.)
sh -c 'sleep 10 & echo "child bg pid set: $([ -n "$!" ] && echo yes)"; kill $!; wait $!; echo "status $?"' 2>/dev/null
(sleep 5; echo "not printed") & bp=$!
kill -0 $bp && echo "kill -0 finds the job"
kill $bp; wait $bp 2>/dev/null; echo "subshell killed: $?"
kill -0 $bp 2>/dev/null || echo "gone after wait"

echo "== builtins and lookup"
type echo | sed 's/ a shell builtin/ builtin/'
command -v ls
command -v cd
which sed
which nonexistent-cmd; echo "which missing $?"
alias ll='echo alias works'; eval 'll'; unalias ll
cd /tmp && pwd && cd - >/dev/null && pwd
cd $T
umask 027; umask; umask 022
[ -d /tmp ] && [ ! -f /tmp ] && test -n x && test -z "" && echo "test ok"
[ 3 -lt 10 ] && [ 010 -eq 10 ] && [ -5 -le -5 ] && [ 7 -ge 7 ] && [ 1 -ne 2 ]; echo "numeric compare $?"
[ abc = abc ] && [ abc != abd ] && [ abc \< abd ] && [ abd \> abc ]; echo "string compare $?"
[[ abc == a* ]] && echo "[[ glob match ]]"
[ -e /nonexistent ]; echo "missing file $?"
v=$(expr 3 + 4); echo "expr $v"

cd /; rm -rf $T
exit 0
