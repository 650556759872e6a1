#!/usr/bin/env bash
# Run Velox's user test programs on real Linux (Debian's riscv64 kernel) in QEMU: the reference
# for what a test must print and how it must end.
#
#   scripts/linux-run.sh [-s SMP] [-t TIMEOUT_S] [-T CMD_TIMEOUT_S] [-l LOG] [-f FILE] [-e DIR] ['CMD' ...]
#
# Each CMD is a command line as in tests/user-tests.txt ("signal basic"); a trailing
# " | status=N" / " | signal=N" (as in that file) is the expected ending and is checked.
# -f FILE adds the command lines of FILE (blank and '#' lines skipped; e.g. tests/user-tests.txt).
# -s SMP: harts (default 1). -t: limit for the whole QEMU run (default 600 s). -T: limit per
# command (default 60 s; a command still running then is killed with SIGKILL: "exit signal=9").
# -l LOG: also save the full serial output there. -e DIR: copy DIR's contents over the initramfs
# at / (as run.sh -e does for Velox; scripts/test-busybox.sh passes Velox's whole root tree).
#
# The initramfs (build/linux-run/initramfs.cpio.gz) holds build/user/* in /bin (as Velox's RAM
# disk does), busybox at /sbin/busybox, the command list at /etc/velox/cmd, and /init: a small
# static C program (its source is in this script) that mounts /proc, /sys, /dev (devtmpfs) and
# /tmp, waits until no other task is runnable, then for each command line does what Velox's init
# does: splits it into words (quotes group, no escapes), runs /bin/WORD0 (argv[0] = WORD0,
# environment PATH=/bin:/usr/bin HOME=/ TERM=vt100, a new session as Velox gives each command,
# default dispositions, empty signal mask), waits for it and prints
#   [velox] exit status=N      or      [velox] exit signal=N
# exactly as Velox does. Orphans are reaped; processes a command leaves behind are killed after it
# ("[linux-run] leftover processes ... killed"); "[linux-run] took N ms" gives its run time.
# After the last command it prints "[velox] poweroff status=N" and powers off.
#
# Needs build/bench-linux/{Image,busybox} (scripts/bench-build.sh downloads them; it is run
# here when they are missing) and the user programs (scripts/build-user.sh is run every time).
# Prints the serial output from the runner's banner on, then a summary; exits 0 when every
# command ended as expected (commands without an expectation count as expected) and no FAIL
# line was printed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/env.sh"  # (MACHINE)
BUILD=$ROOT/build
LNX=$BUILD/bench-linux
OUT=$BUILD/linux-run
SELF=$ROOT/scripts/linux-run.sh
smp=1; tmo=600; ctmo=60; log=""; lines=(); extra=()
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$SELF" >&2; exit 2; }
while getopts "s:t:T:l:f:e:h" o; do
    case $o in
        s) smp=$OPTARG ;; t) tmo=$OPTARG ;; T) ctmo=$OPTARG ;; l) log=$OPTARG ;; e) extra+=("$OPTARG") ;;
        f) while IFS= read -r l || [ -n "$l" ]; do
               case $l in ''|'#'*) continue ;; esac
               lines+=("$l")
           done < "$OPTARG" ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
lines+=("$@")
[ ${#lines[@]} -gt 0 ] || usage
[[ $smp =~ ^[0-9]+$ && $tmo =~ ^[0-9]+$ && $ctmo =~ ^[0-9]+$ ]] || usage

# 1. kernel + busybox (cached by bench-build.sh), user programs ------------------------------
if ! [ -s "$LNX"/Image ] || ! [ -s "$LNX"/busybox ]; then
    "$ROOT"/scripts/bench-build.sh >&2
fi
"$ROOT"/scripts/build-user.sh >&2
mkdir -p "$OUT"

# 2. the runner (/init) ----------------------------------------------------------------------
RUNNER_SRC=$OUT/init.c
cat > "$RUNNER_SRC".new <<'EOF'
/* /init of scripts/linux-run.sh's initramfs: runs /etc/velox/cmd like Velox's init. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;
static void on_alarm(int s) { (void)s; timed_out = 1; }

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static int procs_running(void)
{
    char buf[4096];
    int fd = open("/proc/stat", O_RDONLY), n = -1, r = 99;
    if (fd >= 0) {
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
    }
    if (n > 0) {
        buf[n] = 0;
        char *p = strstr(buf, "procs_running ");
        if (p)
            r = atoi(p + 14);
    }
    return r;
}

/* Velox's split_words: quotes group words, no escapes */
static int split(char *line, char **w, int max)
{
    int n = 0, in = 0;
    char q = 0, *o = line;
    for (char *s = line; *s; s++) {
        char c = *s;
        if (!q && (c == '\'' || c == '"')) {
            q = c;
            if (!in) { w[n++] = o; in = 1; }
        } else if (q && c == q) {
            q = 0;
        } else if (!q && (c == ' ' || c == '\t')) {
            if (in) { *o++ = 0; in = 0; if (n >= max - 1) break; }
        } else {
            if (!in) { w[n++] = o; in = 1; }
            *o++ = c;
        }
    }
    *o = 0;
    w[n] = NULL;
    return n;
}

int main(void)
{
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    int fd = open("/dev/console", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0); dup2(fd, 1); dup2(fd, 2);
        if (fd > 2) close(fd);
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    mount("proc", "/proc", "proc", 0, NULL);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
    const char *t = getenv("linuxrun_tmo");
    int tmo = t ? atoi(t) : 60;

    /* settle: boot-time kernel threads must not steal the CPU from timing checks */
    int polls = 0, quiet = 0;
    while (polls < 300 && quiet < 10) {
        quiet = procs_running() <= 1 ? quiet + 1 : 0;
        polls++;
        sleep_ms(50);
    }
    struct utsname u;
    uname(&u);
    printf("[linux-run] Linux %s, %ld harts online, settled after %d polls\n", u.release,
           sysconf(_SC_NPROCESSORS_ONLN), polls);

    struct sigaction sa = {0};
    sa.sa_handler = on_alarm; /* no SA_RESTART: the alarm interrupts wait */
    sigaction(SIGALRM, &sa, NULL);

    FILE *f = fopen("/etc/velox/cmd", "r");
    char line[4096], copy[4096];
    int last = 0;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        strcpy(copy, line);
        char *w[256];
        if (split(copy, w, 256) == 0)
            continue;
        char path[4200];
        if (strchr(w[0], '/'))
            snprintf(path, sizeof path, "%s", w[0]);
        else
            snprintf(path, sizeof path, "/bin/%s", w[0]);
        printf("[linux-run] $ %s\n", line);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) != 0) { perror("pipe2"); break; }
        pid_t pid = fork();
        if (pid == 0) {
            setsid();
            struct sigaction dfl = {0};
            dfl.sa_handler = SIG_DFL;
            for (int s = 1; s < 65; s++)
                sigaction(s, &dfl, NULL);
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, NULL);
            char *envp[] = {"PATH=/bin:/usr/bin", "HOME=/", "TERM=vt100", NULL};
            execve(path, w, envp);
            int e = errno;
            if (write(pfd[1], &e, sizeof e) < 0) {}
            _exit(127);
        }
        close(pfd[1]);
        int e = 0;
        int execfail = read(pfd[0], &e, sizeof e) == sizeof e;
        close(pfd[0]);
        timed_out = 0;
        alarm(tmo);
        int st = 0;
        for (;;) {
            pid_t r = waitpid(-1, &st, 0);
            if (r == pid)
                break;
            if (r < 0 && errno == EINTR && timed_out) {
                printf("[linux-run] timeout: '%s' still running after %d s, killed\n", line, tmo);
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
                timed_out = 0;
            } else if (r < 0 && errno == ECHILD) {
                break;
            }
        }
        alarm(0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (execfail) {
            printf("[velox] exec failed errno=%d\n", e);
            last = 127;
        } else if (WIFEXITED(st)) {
            printf("[velox] exit status=%d\n", WEXITSTATUS(st));
            last = WEXITSTATUS(st);
        } else if (WIFSIGNALED(st)) {
            printf("[velox] exit signal=%d\n", WTERMSIG(st));
            last = 128 + WTERMSIG(st);
        }
        printf("[linux-run] took %ld ms\n", ms);
        /* anything the command left behind (pid 1 itself is never hit by kill(-1)) */
        kill(-1, SIGKILL); /* 0 even with none left: kernel threads count (and ignore it) */
        int n = 0;
        while (waitpid(-1, NULL, 0) > 0)
            n++;
        if (n)
            printf("[linux-run] leftover processes after '%s' killed: %d\n", line, n);
    }
    printf("[velox] poweroff status=%d\n", last);
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
EOF
if ! cmp -s "$RUNNER_SRC".new "$RUNNER_SRC"; then mv "$RUNNER_SRC".new "$RUNNER_SRC"; else rm -f "$RUNNER_SRC".new; fi
if ! [ "$OUT"/init -nt "$RUNNER_SRC" ]; then
    riscv64-linux-gnu-gcc -static -O2 -Wall -Werror -o "$OUT"/init.tmp "$RUNNER_SRC"
    mv "$OUT"/init.tmp "$OUT"/init
fi

# 3. initramfs -------------------------------------------------------------------------------
work=$(mktemp -d "$OUT/run.XXXXXX")
PIDF=$work/qemu.pid
TPID=""
cleanup() {
    [ -n "$TPID" ] && kill -TERM "$TPID" 2>/dev/null || true
    if [ -s "$PIDF" ]; then
        local q; q=$(cat "$PIDF")
        if [ -n "$q" ] && grep -qa qemu-system "/proc/$q/cmdline" 2>/dev/null; then
            kill -TERM "$q" 2>/dev/null || true; sleep 1; kill -KILL "$q" 2>/dev/null || true
        fi
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

rfs=$work/root
mkdir -p "$rfs"/{bin,sbin,dev,proc,sys,tmp,etc/velox}
cp -a "$BUILD"/user/. "$rfs"/bin/
rm -f "$rfs"/bin/*.tmp
cp "$LNX"/busybox "$rfs"/sbin/busybox
cp "$OUT"/init "$rfs"/init
for d in "${extra[@]}"; do cp -a "$d"/. "$rfs"/; done
cmds=(); exps=()
for l in "${lines[@]}"; do
    if [[ $l == *" | "* ]]; then cmds+=("${l%% | *}"); exps+=("${l##* | }")
    else cmds+=("$l"); exps+=(""); fi
done
printf '%s\n' "${cmds[@]}" > "$rfs"/etc/velox/cmd
(cd "$rfs" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible | gzip -1 -n) > "$work"/initramfs.cpio.gz

# 4. boot ------------------------------------------------------------------------------------
serial=$work/serial.log
CMD=(qemu-system-riscv64 -machine "$MACHINE" -nographic -bios default -m 512M -smp "$smp" -no-reboot
     -kernel "$LNX"/Image -initrd "$work"/initramfs.cpio.gz
     -append "console=ttyS0 quiet cryptomgr.notests panic=-1 linuxrun_tmo=$ctmo"
     -pidfile "$PIDF")
echo "linux-run: Linux $(cat "$LNX"/kernel.version 2>/dev/null), -smp $smp, ${#cmds[@]} command(s), timeout ${tmo}s" >&2
timeout -k 10 "$tmo" "${CMD[@]}" < /dev/null > "$serial" 2>&1 &
TPID=$!
rc=0; wait "$TPID" || rc=$?
TPID=""
[ -n "$log" ] && cp "$serial" "$log"
out=$(tr -d '\r' < "$serial")
if grep -q '^\[linux-run\] Linux' <<< "$out"; then
    sed -n '/^\[linux-run\] Linux/,$p' <<< "$out"
else
    echo "$out"
fi

# 5. summary ---------------------------------------------------------------------------------
[ $rc -eq 0 ] || echo "linux-run: qemu exit status $rc$([ $rc -eq 124 ] && echo ' (timeout)')"
mapfile -t got < <(grep -E '^\[velox\] (exit|exec failed)' <<< "$out" | sed 's/^\[velox\] exit //; s/^\[velox\] //')
bad=0
for i in "${!cmds[@]}"; do
    g=${got[$i]:-none}
    if [ -n "${exps[$i]}" ] && [ "$g" != "${exps[$i]}" ]; then
        echo "linux-run: MISMATCH '${cmds[$i]}' ended with $g, expected ${exps[$i]}"; bad=1
    elif [ "$g" = none ]; then
        echo "linux-run: '${cmds[$i]}' did not finish"; bad=1
    fi
done
np=$(grep -c '^PASS ' <<< "$out" || true); nf=$(grep -c '^FAIL ' <<< "$out" || true)
echo "linux-run: -smp $smp: $np PASS, $nf FAIL, ${#got[@]}/${#cmds[@]} commands finished"
[ "$nf" = 0 ] || bad=1
[ $rc -eq 0 ] || bad=1
exit $bad
