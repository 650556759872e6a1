#!/usr/bin/env bash
# Run command lines on Debian's Linux kernel with the Debian root image as its root file system:
# the Linux side of "the same programs on both kernels" for the Debian root (issue 20).
#
#   scripts/linux-debian.sh [-d] [-t TIMEOUT_S] [-l LOG] [-e EXTRA_DIR]... [-i IMAGE] -c LINE [-c LINE]...
#
# Boots build/bench-linux/Image (Debian's riscv64 kernel; scripts/bench-build.sh fetches it
# when missing) in the same QEMU as scripts/run.sh (-machine virt, -m 512M, -smp $SMP (default
# 1), -no-reboot) with the root image on virtio-blk (/dev/vda): a copy of
# build/debian/rootfs.ext4 (scripts/debian-root.sh makes it when missing), thrown away after
# the run, or IMAGE itself with -i (written to, as run.sh -r IMAGE does). Each LINE runs as
# `/bin/sh -c LINE`, as run.sh -s -c LINE runs it on Velox, and the serial output carries the
# same markers as Velox's:
#   [velox] run: LINE                         before each line
#   [velox] exit status=N | exit signal=N     after it
#   [velox] poweroff status=N                 at the end (N: the last line's status, 128+signal)
# so one parser reads both kernels' logs. Options as run.sh's: -d deterministic timing (the
# benchmark mode: -icount shift=0,align=off,sleep=on, as run.sh -d with a disk, and the kernel
# arguments nokaslr norandmaps randomize_kstack_offset=off of the other Linux benches);
# -t limit for the whole QEMU run (default 300 s; then exit 124); -l also save the serial output
# to LOG; -e copy EXTRA_DIR's contents into the image at / before the lines run (repeatable,
# in order; owned by root; files replace files, directories there already keep their mode,
# symlinks on the way are followed, as run.sh -r -e does on Velox). QEMU_EXTRA: more QEMU
# options. Exit status: the poweroff status (124 timeout, 125 no poweroff line).
#
# How: the initramfs (built per run in build/linux-debian/) holds /init, a static C program
# (its source is in this script), the modules ext4 on virtio-blk needs (virtio_mmio,
# virtio_blk, jbd2, mbcache, crc16, ext4: modules in Debian's build; bench-build.sh keeps them
# in build/bench-linux/modules/, load-order lists them) and the EXTRA_DIRs and the command file
# under /extra. /init loads the modules (finit_module), mounts /dev/vda (ext4, rw, with
# noinit_itable,no_prefetch_block_bitmaps: no background thread zeroing inode tables or reading
# block bitmaps, which Velox does not have either),
# copies /extra over it (the command lines land at /etc/velox/cmd, as run.sh's RAM disk puts
# them on Velox), mounts what the root's /etc/fstab lists and Velox's kernel provides: proc,
# sysfs, devtmpfs on /dev, tmpfs on /tmp (mode 1777) and /run (mode 755, with /run/lock 1777),
# plus devpts on /dev/pts and a tmpfs on /dev/shm (1777), which Linux's devtmpfs lacks, frees
# the initramfs, moves the root to / and chroots there (as switch_root), sets the host name
# from /etc/hostname (Velox's is "velox", as that file says), waits until nothing else is
# runnable, and then for each line of /etc/velox/cmd (trimmed; blank and '#' lines skipped)
# does what Velox's init does (kernel/src/task/init.rs): a child in a new session (setsid; no
# controlling terminal), with stdin, stdout and stderr on /dev/console, cwd /, umask 022,
# default signal dispositions and an empty mask, runs /bin/sh -c LINE with argv[0] "/bin/sh" and
# exactly the environment PATH=/bin:/usr/bin HOME=/ TERM=vt100, and waits for it (reaping
# orphans meanwhile; processes a line leaves behind keep running, as on Velox). After the
# last line: anything left is killed, the root is synced and remounted read-only, poweroff.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/env.sh"  # (MACHINE)
BUILD=$ROOT/build
LNX=$BUILD/bench-linux
OUT=$BUILD/linux-debian
SELF=$ROOT/scripts/linux-debian.sh
det=0; tmo=300; log=""; extra=(); img=""; lines=()
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$SELF" >&2; exit 2; }
while getopts "dt:l:e:i:c:h" o; do
    case $o in
        d) det=1 ;; t) tmo=$OPTARG ;; l) log=$OPTARG ;;
        e) [ -d "$OPTARG" ] || { echo "linux-debian: $OPTARG is not a directory" >&2; exit 2; }
           extra+=("$OPTARG") ;;
        i) [ -f "$OPTARG" ] || { echo "linux-debian: image $OPTARG not found" >&2; exit 2; }
           img=$OPTARG ;;
        c) lines+=("$OPTARG") ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] && [ ${#lines[@]} -gt 0 ] || usage
[[ $tmo =~ ^[0-9]+$ ]] || usage

# 1. kernel + modules, the root image -----------------------------------------------------------
if ! { [ -s "$LNX/Image" ] && [ -s "$LNX/modules/load-order" ]; }; then
    "$ROOT/scripts/bench-build.sh" >&2
fi
if [ -z "$img" ] && ! [ -s "$BUILD/debian/rootfs.ext4" ]; then
    "$ROOT/scripts/debian-root.sh" >&2
fi
mkdir -p "$OUT"

# 2. /init ------------------------------------------------------------------------------------
INIT_SRC=$OUT/init.c
cat > "$INIT_SRC".new <<'EOF'
/* /init of scripts/linux-debian.sh's initramfs: mount the Debian root from /dev/vda, copy
 * /extra over it, switch to it and run /etc/velox/cmd as Velox's init does (velox.sh). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NEW "/newroot"

static void msg(const char *fmt, const char *a, const char *b)
{
    int e = errno;
    char line[8192];
    errno = e; /* (for %m) */
    snprintf(line, sizeof line, fmt, a, b);
    printf("[linux-debian] %s\n", line);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static int procs_running(void)
{
    char buf[4096];
    int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC), n = -1, r = 99;
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

static void do_mount(const char *src, const char *dir, const char *type, const char *data, mode_t mode)
{
    mkdir(dir, mode);
    if (mount(src, dir, type, 0, data) != 0)
        msg("mount %s on %s failed: %m", type, dir);
}

/* Copy the tree SRC over DST: directories there already stay as they are (mode, owner, times),
 * new ones get SRC's mode and times; files are created or truncated and rewritten (mode and
 * mtime of SRC); symlinks replace what is there; path resolution follows symlinks (a copy of
 * bin/x lands in usr/bin/x where bin -> usr/bin). Owner: root (this process). */
static int copy_tree(const char *src, const char *dst)
{
    int bad = 0;
    DIR *d = opendir(src);
    if (!d) {
        msg("opendir %s: %m%s", src, "");
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char s[4096], t[4096];
        snprintf(s, sizeof s, "%s/%s", src, e->d_name);
        snprintf(t, sizeof t, "%s/%s", dst, e->d_name);
        struct stat st, ts;
        if (lstat(s, &st) != 0) {
            bad = 1;
            continue;
        }
        struct timespec tm[2] = {st.st_mtim, st.st_mtim};
        mode_t perm = st.st_mode & 07777;
        if (S_ISDIR(st.st_mode)) {
            if (!(stat(t, &ts) == 0 && S_ISDIR(ts.st_mode))) {
                if (mkdir(t, perm) != 0 || chmod(t, perm) != 0) {
                    msg("mkdir %s: %m%s", t, "");
                    bad = 1;
                    continue;
                }
                utimensat(AT_FDCWD, t, tm, 0);
            }
            bad |= copy_tree(s, t);
        } else if (S_ISREG(st.st_mode)) {
            int in = open(s, O_RDONLY | O_CLOEXEC);
            int out = open(t, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, perm);
            if (in < 0 || out < 0) {
                msg("copy %s: %m%s", t, "");
                bad = 1;
            } else {
                static char buf[1 << 16];
                ssize_t n;
                while ((n = read(in, buf, sizeof buf)) > 0)
                    if (write(out, buf, n) != n) {
                        msg("write %s: %m%s", t, "");
                        bad = 1;
                        break;
                    }
                fchmod(out, perm);
                futimens(out, tm);
            }
            if (in >= 0)
                close(in);
            if (out >= 0)
                close(out);
        } else if (S_ISLNK(st.st_mode)) {
            char l[4096];
            ssize_t n = readlink(s, l, sizeof l - 1);
            if (n < 0) {
                bad = 1;
                continue;
            }
            l[n] = 0;
            unlink(t);
            if (symlink(l, t) != 0) {
                msg("symlink %s: %m%s", t, "");
                bad = 1;
                continue;
            }
            utimensat(AT_FDCWD, t, tm, AT_SYMLINK_NOFOLLOW);
        } else {
            unlink(t);
            if (mknod(t, st.st_mode, st.st_rdev) != 0) {
                msg("mknod %s: %m%s", t, "");
                bad = 1;
            }
        }
    }
    closedir(d);
    return bad;
}

/* rm -r of a tree of the initramfs (what switch_root frees) */
static void remove_tree(const char *p)
{
    struct stat st;
    if (lstat(p, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(p);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char s[4096];
            snprintf(s, sizeof s, "%s/%s", p, e->d_name);
            remove_tree(s);
        }
        if (d)
            closedir(d);
        rmdir(p);
    } else {
        unlink(p);
    }
}

int main(void)
{
    mkdir("/dev", 0755);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    int fd = open("/dev/console", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0); dup2(fd, 1); dup2(fd, 2);
        if (fd > 2) close(fd);
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    umask(022);
    mkdir("/proc", 0555);
    mount("proc", "/proc", "proc", 0, NULL);

    /* the storage modules */
    FILE *lo = fopen("/modules/load-order", "re");
    char m[256], path[4096];
    while (lo && fgets(m, sizeof m, lo)) {
        m[strcspn(m, "\r\n")] = 0;
        if (!m[0] || m[0] == '#')
            continue;
        snprintf(path, sizeof path, "/modules/%s.ko", m);
        int mf = open(path, O_RDONLY | O_CLOEXEC);
        if (mf < 0 || (syscall(SYS_finit_module, mf, "", 0) != 0 && errno != EEXIST))
            msg("module %s: %m%s", m, "");
        if (mf >= 0)
            close(mf);
    }
    if (lo)
        fclose(lo);

    /* the root */
    struct stat st;
    for (int i = 0; i < 1000 && stat("/dev/vda", &st) != 0; i++)
        sleep_ms(10);
    mkdir(NEW, 0755);
    if (mount("/dev/vda", NEW, "ext4", 0, "noinit_itable,no_prefetch_block_bitmaps") != 0) {
        msg("mount /dev/vda failed: %m%s", "", "");
        printf("[velox] poweroff status=125\n");
        reboot(RB_POWER_OFF);
    }
    int bad = 0;
    if (stat("/extra", &st) == 0)
        bad = copy_tree("/extra", NEW);
    if (bad)
        msg("copying the extra files into the root failed in part%s%s", "", "");
    remove_tree("/extra");
    remove_tree("/modules");

    do_mount("proc", NEW "/proc", "proc", NULL, 0555);
    do_mount("sysfs", NEW "/sys", "sysfs", NULL, 0555);
    do_mount("devtmpfs", NEW "/dev", "devtmpfs", NULL, 0755);
    do_mount("devpts", NEW "/dev/pts", "devpts", "gid=5,mode=620,ptmxmode=000", 0755);
    do_mount("tmpfs", NEW "/dev/shm", "tmpfs", "mode=1777", 01777);
    do_mount("tmpfs", NEW "/tmp", "tmpfs", "mode=1777", 01777);
    do_mount("tmpfs", NEW "/run", "tmpfs", "mode=755", 0755);
    mkdir(NEW "/run/lock", 01777);
    chmod(NEW "/run/lock", 01777);
    umount2("/proc", MNT_DETACH);
    umount2("/dev", MNT_DETACH);

    /* switch_root: move the new root over / and chroot into it */
    if (chdir(NEW) != 0 || mount(".", "/", NULL, MS_MOVE, NULL) != 0 || chroot(".") != 0 || chdir("/") != 0) {
        msg("switching to the new root failed: %m%s", "", "");
        printf("[velox] poweroff status=125\n");
        reboot(RB_POWER_OFF);
    }
    /* the console again, now from the new root's /dev */
    fd = open("/dev/console", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0); dup2(fd, 1); dup2(fd, 2);
        if (fd > 2) close(fd);
    }
    FILE *hn = fopen("/etc/hostname", "re");
    char h[256];
    if (hn && fgets(h, sizeof h, hn)) {
        h[strcspn(h, " \t\r\n")] = 0;
        if (h[0])
            sethostname(h, strlen(h));
    }
    if (hn)
        fclose(hn);

    /* the command lines: all read now (a line may rewrite the file) */
    FILE *f = fopen("/etc/velox/cmd", "re");
    char **lines = NULL;
    size_t nl = 0;
    char *ln = NULL;
    size_t cap = 0;
    while (f && getline(&ln, &cap, f) >= 0) {
        char *s = ln, *e = ln + strlen(ln);
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '\v' || *s == '\f')
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n' || e[-1] == '\v' || e[-1] == '\f'))
            *--e = 0;
        if (!*s || *s == '#')
            continue;
        lines = realloc(lines, (nl + 1) * sizeof *lines);
        lines[nl++] = strdup(s);
    }
    if (f)
        fclose(f);
    else
        msg("no /etc/velox/cmd: %m%s", "", "");

    /* settle: boot-time kernel threads must not run during the first line */
    int polls = 0, quiet = 0;
    while (polls < 300 && quiet < 10) {
        quiet = procs_running() <= 1 ? quiet + 1 : 0;
        polls++;
        sleep_ms(50);
    }
    struct utsname u;
    uname(&u);
    printf("[linux-debian] Linux %s %s, %ld harts online, root /dev/vda (ext4), %zu line(s), settled after %d polls\n",
           u.release, u.version, sysconf(_SC_NPROCESSORS_ONLN), nl, polls);

    int last = 0;
    for (size_t i = 0; i < nl; i++) {
        printf("[velox] run: %s\n", lines[i]);
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
            char *argv[] = {"/bin/sh", "-c", lines[i], NULL};
            char *envp[] = {"PATH=/bin:/usr/bin", "HOME=/", "TERM=vt100", NULL};
            execve("/bin/sh", argv, envp);
            printf("[velox] exec failed errno=%d\n", errno);
            _exit(127);
        }
        int wst = 0;
        for (;;) {
            pid_t r = waitpid(-1, &wst, 0);
            if (r == pid || (r < 0 && errno == ECHILD))
                break;
        }
        if (pid < 0) {
            printf("[velox] exec failed errno=%d\n", errno);
            last = 127;
        } else if (WIFEXITED(wst)) {
            printf("[velox] exit status=%d\n", WEXITSTATUS(wst));
            last = WEXITSTATUS(wst);
        } else if (WIFSIGNALED(wst)) {
            printf("[velox] exit signal=%d\n", WTERMSIG(wst));
            last = 128 + WTERMSIG(wst);
        }
    }
    kill(-1, SIGKILL);
    while (waitpid(-1, NULL, 0) > 0)
        ;
    sync();
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) != 0)
        msg("remounting / read-only failed: %m%s", "", "");
    printf("[velox] poweroff status=%d\n", last);
    reboot(RB_POWER_OFF);
    return 0;
}
EOF
if ! cmp -s "$INIT_SRC".new "$INIT_SRC"; then mv "$INIT_SRC".new "$INIT_SRC"; else rm -f "$INIT_SRC".new; fi
if ! [ "$OUT/init" -nt "$INIT_SRC" ]; then
    riscv64-linux-gnu-gcc -static -O2 -Wall -Werror -o "$OUT/init.tmp" "$INIT_SRC"
    mv "$OUT/init.tmp" "$OUT/init"
fi

# 3. the run's files: image, initramfs -------------------------------------------------------
work=$(mktemp -d "$OUT/run.XXXXXX")
PIDF=$work/qemu.pid
qpid=""; tpid=""
cleanup() {
    [ -n "$tpid" ] && kill "$tpid" 2>/dev/null || true
    if [ -s "$PIDF" ]; then
        local q; q=$(cat "$PIDF")
        if [ -n "$q" ] && grep -qa qemu-system "/proc/$q/cmdline" 2>/dev/null; then
            kill -TERM "$q" 2>/dev/null || true
        fi
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
if [ -z "$img" ]; then
    img=$work/root.ext4
    cp --sparse=always "$BUILD/debian/rootfs.ext4" "$img"
fi
rfs=$work/initramfs
mkdir -p "$rfs/modules" "$rfs/extra/etc/velox"
cp "$OUT/init" "$rfs/init"
cp "$LNX"/modules/load-order "$rfs/modules/"
cp "$LNX"/modules/*.ko "$rfs/modules/" 2>/dev/null || true
# (the command file first, the EXTRA_DIRs over it: as run.sh's RAM disk on Velox)
printf '%s\n' "${lines[@]}" > "$rfs/extra/etc/velox/cmd"
for d in "${extra[@]}"; do cp -a "$d/." "$rfs/extra/"; done
(cd "$rfs" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) > "$work/initramfs.cpio"

# 4. boot --------------------------------------------------------------------------------------
append="console=ttyS0 quiet cryptomgr.notests panic=-1"
[ $det = 1 ] && append="$append nokaslr norandmaps randomize_kstack_offset=off"
q=(qemu-system-riscv64 -machine "$MACHINE" -nographic -bios default -m 512M -smp "${SMP:-1}" -no-reboot
   -kernel "$LNX/Image" -initrd "$work/initramfs.cpio" -append "$append" -pidfile "$PIDF")
[ -n "${QEMU_EXTRA:-}" ] && read -r -a qx <<< "$QEMU_EXTRA" && q+=("${qx[@]}")
# (det: the options of run.sh -d with a disk; sleep=on, see the comment there)
[ $det = 1 ] && q+=(-icount shift=0,align=off,sleep=on -rtc base=2024-01-01T00:00:00,clock=vm -seed 1)
q+=(-drive "file=${img//,/,,},format=raw,if=none,id=hd0" -device virtio-blk-device,drive=hd0)
out=$work/serial.log
"${q[@]}" < /dev/null > "$out" 2>&1 &
qpid=$!
# Live output for a person at a terminal (from the runner's banner on, as run.sh from Velox's);
# otherwise the output is printed once QEMU is done.
if [ -t 1 ]; then
    tail --pid=$qpid -n +1 -f "$out" 2>/dev/null | sed -u -n '/^\[linux-debian\] Linux /,$p' &
    tpid=$!
fi
rc=0
if ! timeout "$tmo" tail --pid=$qpid -f /dev/null; then
    echo "linux-debian: timeout after ${tmo}s" >&2; rc=124
fi
kill $qpid 2>/dev/null || true; wait $qpid 2>/dev/null || true; qpid=""
if [ -n "$tpid" ]; then
    wait $tpid 2>/dev/null || true; tpid=""
elif grep -q '^\[linux-debian\] Linux ' "$out"; then
    sed -n '/^\[linux-debian\] Linux /,$p' "$out"
else
    cat "$out"   # it never got to the lines: all of it (the kernel's messages)
fi
[ -n "$log" ] && cp "$out" "$log"
if [ $rc = 0 ]; then
    st=$(tr -d '\r' < "$out" | sed -n 's/^\[velox\] poweroff status=\([0-9]*\)$/\1/p' | tail -1)
    if [ -n "$st" ]; then rc=$st; else rc=125; fi
fi
exit $rc
