/* procctl: process-level calls from issue 17, each checked against Linux's behaviour.
 *
 *   procctl files  - clone(CLONE_FILES) shares the descriptor table (an fd opened by the
 *                    child is usable by the parent; close in one closes in both); without it
 *                    the child's table is a copy
 *   procctl fs     - clone(CLONE_FS) shares cwd and umask; without it they are copies
 *   procctl stack  - RLIMIT_STACK: a child with a 256 KiB limit that execs itself dies by
 *                    SIGSEGV on unbounded recursion; getrlimit reports what setrlimit set
 *   procctl prctl  - PR_SET_NAME/PR_GET_NAME (16-byte cut, shown in /proc/self/comm),
 *                    PR_SET_PDEATHSIG (a child gets the signal when its parent exits),
 *                    PR_GET_PDEATHSIG, unknown option -> EINVAL
 *   procctl host   - sethostname shows in uname; > 64 bytes -> EINVAL; non-root -> EPERM
 *   procctl hup    - a session leader that took /dev/ttyS0 as its controlling terminal
 *                    exits: the terminal's foreground group gets SIGHUP (and SIGCONT)
 *   procctl fdloop - an fd opened through /proc/self/fd/N/... then dup2'ed over N: resolving
 *                    /proc/self/fd/N (readlink, stat, open) ends (Velox once recursed until
 *                    its kernel stack overflowed); /proc/1/cwd and /proc/1/fd/0 of another
 *                    user's process are EACCES for a non-root caller
 *   procctl mount  - mount a tmpfs on a directory (files there live on it: statfs magic,
 *                    a file created there is gone after umount), umount of a busy mount ->
 *                    EBUSY, of a non-mount -> EINVAL, unknown type -> ENODEV, non-root -> EPERM;
 *                    reboot with bad magic -> EINVAL, as non-root -> EPERM
 */
#define _GNU_SOURCE
#include "t.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>

static char stack[65536] __attribute__((aligned(16)));
static volatile int child_fd = -1;

static int files_child(void *arg)
{
    (void)arg;
    child_fd = open("/dev/null", O_RDONLY);
    return 0;
}

static int clone_wait(int (*fn)(void *), int flags)
{
    pid_t p = clone(fn, stack + sizeof stack, flags | SIGCHLD, NULL);
    if (p < 0)
        return -1;
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void mode_files(void)
{
    /* CLONE_VM so the child's fd number reaches us through memory. */
    child_fd = -1;
    clone_wait(files_child, CLONE_VM | CLONE_FILES);
    check(child_fd >= 0 && fcntl(child_fd, F_GETFD) >= 0, "clone_files_shared", "fd %d opened by the child is %s here",
          child_fd, child_fd >= 0 && fcntl(child_fd, F_GETFD) >= 0 ? "open" : "closed");
    close(child_fd);
    child_fd = -1;
    clone_wait(files_child, CLONE_VM);
    check(child_fd >= 0 && fcntl(child_fd, F_GETFD) < 0 && errno == EBADF, "clone_files_copied",
          "fd %d opened by a child without CLONE_FILES is open here", child_fd);
}

static int fs_child(void *arg)
{
    (void)arg;
    umask(0077);
    return chdir("/tmp") == 0 ? 0 : 1;
}

static void mode_fs(void)
{
    char cwd[256];
    chdir("/");
    mode_t old = umask(022);
    clone_wait(fs_child, CLONE_FS);
    mode_t now = umask(022);
    check(getcwd(cwd, sizeof cwd) && !strcmp(cwd, "/tmp") && now == 0077, "clone_fs_shared", "cwd %s umask %o", cwd, now);
    chdir("/");
    clone_wait(fs_child, 0);
    now = umask(old);
    check(getcwd(cwd, sizeof cwd) && !strcmp(cwd, "/") && now == 022, "clone_fs_copied", "cwd %s umask %o", cwd, now);
}

/* Deep recursion (through a volatile pointer, so the compiler keeps every frame). */
static int (*volatile rec_fn)(int);
static int recurse(int n)
{
    volatile char pad[1024];
    pad[0] = (char)n;
    return n > 1000000 ? 0 : rec_fn(n + 1) + pad[0];
}

static void mode_stack(const char *self)
{
    struct rlimit r = {256 << 10, RLIM_INFINITY}, g;
    pid_t p = fork();
    if (p == 0) {
        setrlimit(RLIMIT_STACK, &r);
        execl(self, self, "recurse", NULL);
        _exit(99);
    }
    int st;
    waitpid(p, &st, 0);
    check(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "stack_limit_segv", "status %#x, want SIGSEGV", st);
    struct rlimit save;
    getrlimit(RLIMIT_STACK, &save);
    setrlimit(RLIMIT_STACK, &r);
    getrlimit(RLIMIT_STACK, &g);
    check(g.rlim_cur == r.rlim_cur, "stack_limit_get", "rlim_cur %llu", (unsigned long long)g.rlim_cur);
    setrlimit(RLIMIT_STACK, &save);
}

static void mode_prctl(void)
{
    char name[32] = "";
    prctl(PR_SET_NAME, "a-very-long-thread-name", 0, 0, 0);
    prctl(PR_GET_NAME, name, 0, 0, 0);
    check(!strcmp(name, "a-very-long-thr"), "prctl_name", "got '%s'", name);
    char comm[32] = "";
    int fd = open("/proc/self/comm", O_RDONLY);
    ssize_t n = read(fd, comm, sizeof comm - 1);
    close(fd);
    check(n == 16 && !strncmp(comm, "a-very-long-thr\n", 16), "prctl_comm", "/proc/self/comm '%.*s'", (int)(n > 0 ? n : 0), comm);
    check(prctl(12345, 0, 0, 0, 0) == -1 && errno == EINVAL, "prctl_unknown", "errno %d", errno);
    int sig = -1;
    prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
    prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    check(sig == SIGUSR1, "prctl_get_pdeathsig", "got %d", sig);
    /* A grandchild with PDEATHSIG=SIGKILL dies when its parent (our child) exits. */
    int pfd[2];
    pipe(pfd);
    pid_t c = fork();
    if (c == 0) {
        pid_t gc = fork();
        if (gc == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
            close(pfd[0]);
            write(pfd[1], "r", 1); /* ready */
            pause();
            _exit(0);
        }
        char b;
        read(pfd[0], &b, 1);
        _exit(0); /* the grandchild's parent dies */
    }
    close(pfd[1]);
    waitpid(c, NULL, 0);
    char b;
    /* The grandchild holds the last write end: EOF once it is dead (the alarm ends the
     * test if it never dies). */
    alarm(10);
    ssize_t r1 = read(pfd[0], &b, 1);
    alarm(0);
    close(pfd[0]);
    check(r1 == 0, "prctl_pdeathsig_kills", "read %zd", r1);
}

static void mode_host(void)
{
    struct utsname u;
    uname(&u);
    char old[65];
    strcpy(old, u.nodename);
    check(sethostname("velox-test", 10) == 0, "sethostname", "%s", strerror(errno));
    uname(&u);
    check(!strcmp(u.nodename, "velox-test"), "sethostname_uname", "nodename %s", u.nodename);
    char big[80];
    memset(big, 'x', sizeof big);
    check(sethostname(big, 65) == -1 && errno == EINVAL, "sethostname_long", "errno %d", errno);
    sethostname(old, strlen(old));
    pid_t p = fork();
    if (p == 0) {
        setresuid(1000, 1000, 1000);
        _exit(sethostname("x", 1) == -1 && errno == EPERM ? 0 : 1);
    }
    int st;
    waitpid(p, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sethostname_eperm", "status %#x", st);
}

static void mode_mount(void)
{
    const char *d = "/tmp/procctl-mnt";
    mkdir(d, 0755);
    check(mount("none", d, "tmpfs", 0, "size=1m,mode=0700") == 0, "mount_tmpfs", "%s", strerror(errno));
    struct statfs sf;
    statfs(d, &sf);
    struct stat st;
    stat(d, &st);
    check(sf.f_type == 0x01021994 && (st.st_mode & 07777) == 0700, "mount_tmpfs_statfs", "type %#lx mode %o",
          (long)sf.f_type, st.st_mode & 07777);
    int fd = open("/tmp/procctl-mnt/f", O_CREAT | O_RDWR, 0644);
    check(fd >= 0, "mount_create", "%s", strerror(errno));
    check(umount(d) == -1 && errno == EBUSY, "umount_busy", "errno %d", errno);
    close(fd);
    check(umount(d) == 0, "umount", "%s", strerror(errno));
    check(access("/tmp/procctl-mnt/f", F_OK) == -1 && errno == ENOENT, "umount_gone", "file still there");
    check(umount(d) == -1 && errno == EINVAL, "umount_not_mounted", "errno %d", errno);
    check(mount("none", d, "no-such-fs", 0, NULL) == -1 && errno == ENODEV, "mount_enodev", "errno %d", errno);
    rmdir(d);
    check(syscall(SYS_reboot, 0x1234, 0, RB_POWER_OFF, NULL) == -1 && errno == EINVAL, "reboot_bad_magic", "errno %d", errno);
    pid_t p = fork();
    if (p == 0) {
        setresuid(1000, 1000, 1000);
        int ok = mount("none", "/tmp", "tmpfs", 0, NULL) == -1 && errno == EPERM;
        ok = ok && reboot(RB_POWER_OFF) == -1 && errno == EPERM;
        _exit(ok ? 0 : 1);
    }
    int s;
    waitpid(p, &s, 0);
    check(WIFEXITED(s) && WEXITSTATUS(s) == 0, "mount_reboot_eperm", "status %#x", s);
}

static void mode_fdloop(void)
{
    mkdir("/tmp/procctl-d", 0755);
    close(open("/tmp/procctl-d/sub", O_CREAT | O_WRONLY, 0644));
    int d = open("/tmp/procctl-d", O_RDONLY | O_DIRECTORY);
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d/sub", d);
    int f = open(p, O_RDONLY);
    dup2(f, d);
    snprintf(p, sizeof p, "/proc/self/fd/%d", d);
    char buf[256];
    ssize_t n = readlink(p, buf, sizeof buf);
    struct stat st;
    int r = stat(p, &st);
    int o = open(p, O_RDONLY);
    if (o >= 0)
        close(o);
    check(f >= 0 && (n > 0 || errno == ELOOP) && (r == 0 || errno == ELOOP), "proc_fd_loop_ends", "f %d readlink %zd stat %d", f, n, r);
    close(f);
    close(d);
    unlink("/tmp/procctl-d/sub");
    rmdir("/tmp/procctl-d");
    pid_t c = fork();
    if (c == 0) {
        setresgid(1000, 1000, 1000);
        setresuid(1000, 1000, 1000);
        int ok = readlink("/proc/1/cwd", buf, sizeof buf) == -1 && errno == EACCES;
        ok = ok && readlink("/proc/1/fd/0", buf, sizeof buf) == -1 && (errno == EACCES || errno == ENOENT);
        ok = ok && chdir("/proc/1/root") == -1 && errno == EACCES;
        _exit(ok ? 0 : 1);
    }
    int s;
    waitpid(c, &s, 0);
    check(WIFEXITED(s) && WEXITSTATUS(s) == 0, "proc_links_of_others_eacces", "status %#x", s);
}

static int hup_pipe = -1;
static void on_hup(int s)
{
    (void)s;
    write(hup_pipe, "H", 1);
    _exit(0);
}

static void mode_hup(void)
{
    int pfd[2];
    pipe(pfd);
    pid_t a = fork();
    if (a == 0) {
        /* A: a new session leader that takes the serial line as its terminal. */
        setsid();
        int fd = open("/dev/ttyS0", O_RDWR);
        if (fd < 0)
            _exit(3);
        if (tcgetpgrp(fd) != getpid())
            _exit(4); /* not our controlling terminal */
        int go[2];
        pipe(go);
        pid_t b = fork();
        if (b == 0) {
            /* B: its own group, made the foreground; waits for SIGHUP. */
            hup_pipe = pfd[1];
            signal(SIGHUP, on_hup);
            setpgid(0, 0);
            write(go[1], "g", 1);
            alarm(10);
            for (;;)
                pause();
        }
        char c;
        read(go[0], &c, 1);
        signal(SIGTTOU, SIG_IGN);
        tcsetpgrp(fd, b);
        _exit(0); /* the leader goes: the terminal hangs up */
    }
    close(pfd[1]);
    int st;
    waitpid(a, &st, 0);
    alarm(10);
    char c = 0;
    ssize_t n = read(pfd[0], &c, 1);
    alarm(0);
    close(pfd[0]);
    /* B is an orphan now (init reaps it); give it a moment to be gone for the leak check. */
    usleep(100000);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0 && n == 1 && c == 'H', "hup_on_leader_exit", "leader status %#x, read %zd '%c'",
          st, n, c);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "recurse")) {
        rec_fn = recurse;
        return recurse(0);
    }
    t_init();
    if (argc < 2) {
        fail("mode", "usage: procctl files|fs|stack|prctl|host|mount");
        return 2;
    }
    if (!strcmp(argv[1], "files"))
        mode_files();
    else if (!strcmp(argv[1], "fs"))
        mode_fs();
    else if (!strcmp(argv[1], "stack"))
        mode_stack(argv[0][0] == '/' ? argv[0] : "/bin/procctl");
    else if (!strcmp(argv[1], "prctl"))
        mode_prctl();
    else if (!strcmp(argv[1], "host"))
        mode_host();
    else if (!strcmp(argv[1], "mount"))
        mode_mount();
    else if (!strcmp(argv[1], "hup"))
        mode_hup();
    else if (!strcmp(argv[1], "fdloop"))
        mode_fdloop();
    else {
        fail("mode", "unknown mode %s", argv[1]);
        return 2;
    }
    return t_failed ? 1 : 0;
}
