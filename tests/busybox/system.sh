# busybox system and calculator applets: users, host name, dates, processes, signals, bc/dc.
# Run by /tests/busybox/run (output compared with system.expected). Only exit statuses are shown
# for what depends on the machine (pids, memory, load, hart count, mounts, the time of day).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin TZ=UTC LC_ALL=C HOME=/root
umask 022
T=/tmp/bb-system
rm -rf $T; mkdir -p $T; chmod 777 $T; cd $T || exit 1

echo "== id whoami groups su"
id; id -u; id -g; id -un; id -gn; whoami
id user; id -G user; groups user
id nobody; id -u nosuchuser 2>/dev/null; echo "unknown user: $?"
su -s /bin/sh user -c 'id -u; id -un; whoami'
su -s /bin/sh user -c "touch $T/byuser; stat -c %U:%G $T/byuser"
su -s /bin/sh user -c 'touch /root/nope' 2>&1; echo "user writing /root: $?"
su -s /bin/sh user -c 'ls /root' 2>&1 >/dev/null; echo "user listing /root: $?"
su -s /bin/sh user -c "chown root $T/byuser" 2>&1; echo "user chown: $?"
su -s /bin/sh user -c 'kill -0 1' 2>/dev/null; echo "user kill -0 1: $?"
echo private > $T/private; chmod 600 $T/private
su -s /bin/sh user -c "cat $T/private" 2>&1; echo "user reading a 600 root file: $?"

echo "== env"
env -i A=1 B=two env | sort
env -i PATH=/bin X=y sh -c 'echo "X=$X"'
env -u HOME sh -c 'echo "HOME=${HOME-unset}"'
FOO=bar env | grep '^FOO='
env -i sh -c 'env' | grep -v '^PWD=\|^SHLVL=\|^_=\|^OLDPWD=' | sort
env nosuchprog 2>/dev/null; echo "env missing program: $?"

echo "== hostname uname arch"
hostname velox-test; hostname; uname -n
hostname -F /etc/hostname; hostname
cat /etc/hostname
uname -s; uname -m; uname -o; arch
uname -s -n -m

echo "== date cal"
date -u -d @0
date -d @1234567890 '+%Y-%m-%d %H:%M:%S %j %a %A %b %B %y %e %u %w %Z %s'
date -d '2024-02-29 12:34:56' +%s
date -u -R -d @86400
date -I -d @0; date -Iseconds -d @1000000000
TZ=EST5 date -d @0
TZ=JST-9 date -d @0 '+%H:%M %Z'
date -d @0 +%%
date -D '%d/%m/%Y' -d '25/12/2023' +%F
[ "$(date +%s)" -gt 1000000000 ] && echo "clock is past 2001"
date +%Y-%m-%d | grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
cal 2 2024
cal 9 1752

echo "== sleep usleep timeout time"
sleep 0.1; echo "sleep: $?"
sleep 0; usleep 1000; echo "usleep: $?"
sleep abc 2>/dev/null; echo "sleep bad arg: $?"
timeout 5 true; echo "timeout, quick command: $?"
timeout 1 sleep 10; echo "timeout expired: $?"
timeout -s KILL 1 sleep 10; echo "timeout -s KILL: $?"
timeout 5 sh -c 'exit 9'; echo "timeout passes the status: $?"
time -p true 2>&1 | cut -d' ' -f1

echo "== kill pidof killall ps top"
kill -l 9; kill -l 15; kill -l HUP
busybox kill -l 2
kill -0 $$; echo "kill -0 self: $?"
kill -s 0 $$; echo "kill -s 0 self: $?"
kill -9 999999 2>/dev/null; echo "kill no such pid: $?"
kill -NOSUCH $$ 2>/dev/null; echo "kill bad signal: $?"
sleep 30 & sp=$!
pidof sleep > /dev/null; echo "pidof sleep: $?"
[ "$(pidof sleep)" = "$sp" ] && echo "pidof gives its pid"
pidof no-such-program; echo "pidof missing: $?"
ps > /dev/null; echo "ps: $?"
ps -o pid,comm | awk -v p=$sp '$1 == p { print "ps shows", $2 }'
# (A "Terminated" notice appears if the shell reaps the job before "wait" starts, a race on
# any kernel under load: it goes to /dev/null, as in shell.sh.)
{ busybox kill -TERM $sp; wait $sp; echo "killed: $?"; } 2>/dev/null
sleep 31 & sleep 32 &
killall sleep; wait; echo "killall: $?"
killall no-such-program 2>/dev/null; echo "killall missing: $?"
top -b -n 1 > /dev/null; echo "top: $?"
free > /dev/null; echo "free: $?"
uptime > /dev/null; echo "uptime: $?"
[ "$(nproc)" -ge 1 ] && echo "nproc >= 1"

echo "== setsid taskset tty clear run-parts mount"
setsid sh -c 'echo in a new session'
taskset 1 echo pinned to hart 0
tty; echo "tty with stdin from /dev/null: $?"
clear | od -An -c
mkdir rp
printf '#!/bin/sh\necho part one\n' > rp/10one
printf '#!/bin/sh\necho part two "$1"\n' > rp/20two
printf '#!/bin/sh\necho not run\n' > rp/bad.name
chmod 755 rp/*
run-parts -a arg rp
run-parts --test rp | sed 's|.*/||'
printf '#!/bin/sh\necho "script $0 args: $*"\nexit 4\n' > script.sh; chmod +x script.sh
./script.sh a b; echo "#! script exit: $?"
printf '#!/bin/busybox echo\n' > interp; chmod +x interp; ./interp x y | sed "s|$T|T|"
mkdir mnt; mount -t tmpfs none mnt; echo "mount tmpfs: $?"
echo on-tmpfs > mnt/f; cat mnt/f
umount mnt; echo "umount: $?"; [ -e mnt/f ] || echo "file gone with the mount"

echo "== factor bc dc expr"
factor 360 97 1000000007 4294967297 9223372036854775807
factor 1 0 2>&1
echo '2^64' | bc
echo '12345678901234567890 * 98765432109876543210' | bc
echo 'scale=20; 4*a(1)' | bc -l
echo 'sqrt(2)' | bc -l
echo 'scale=3; 10/3; 7%3' | bc
echo 'obase=16; 255; obase=2; 10' | bc
echo 'ibase=16; FF' | bc
printf 'define f(n) {\n if (n < 2) return 1\n return n * f(n - 1)\n}\nf(25)\n' | bc
printf 'x = 0\nfor (i = 1; i <= 100; i++) x += i\nx\n' | bc
echo '2 3 + p' | dc
echo '10 3 / p 5 k 10 3 / p' | dc
echo '16 o 255 p' | dc
echo '2 100 ^ p' | dc
echo '1 2 3 f' | dc
expr 2 \* 21; expr 6 - 10; expr '(' 1 + 2 ')' \* 3

echo "== getopt which shuf uuidgen mkpasswd ipcalc ascii"
getopt -o ab:c -l long,arg: -- -a -b x --long --arg=y rest 'two words'
getopt -o a -- -z 2>&1; echo "getopt bad option: $?"
which ls sh busybox
which no-such; echo "which missing: $?"
seq 10 | shuf | sort -n | tr '\n' ' '; echo
shuf -i 1-5 | sort | tr '\n' ' '; echo
shuf -n 3 -e a b c d | wc -l
uuidgen | grep -cE '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
[ "$(uuidgen)" != "$(uuidgen)" ] && echo "uuidgen differs each time"
mkpasswd -m md5 -S abcdefgh secret
mkpasswd -m sha512 -S saltsaltsalt secret
ipcalc -n -b -m 192.168.10.77/20
ipcalc -p 10.0.0.1 255.255.255.0
ascii | head -4
busybox true; echo "busybox true: $?"; busybox false; echo "busybox false: $?"
busybox no-such-applet 2>/dev/null; echo "busybox unknown applet: $?"
busybox | head -1 | cut -d' ' -f1-2

cd /; rm -rf $T
exit 0
