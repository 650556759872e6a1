/* exec: execve and vfork.  Run as "exec SELF" where SELF is the path of this
 * program (e.g. /bin/exec); without an argument argv[0] is used.  The
 * program re-executes SELF with a mode word in argv[1] ("child", "cloexec",
 * "threaded", "exit77"); those images print nothing and report through their
 * exit status and inherited pipes.  Off Velox (e.g. under qemu-user, where
 * the host cannot execute a riscv64 ELF) an execve of SELF that fails with
 * ENOEXEC/ENOENT turns the exec-dependent checks into INFO lines; on Velox
 * they are real checks.
 *   vfork_shared      - a write made by the vfork child (after a 20 ms sleep,
 *                       before execve) is visible to the parent as soon as
 *                       vfork returns: shared memory, parent suspended
 *   exec_args         - vfork + execve(SELF, {SELF, "child", "a b", "x"},
 *                       {"FOO=bar", "EMPTY="}) + wait4: the new image checks
 *                       argc, argv, envp (main's and environ) exactly: status 42
 *   exec_pid          - the new image has the vfork child's pid, and getppid()
 *                       is the parent (reported through an inherited fd 100)
 *   exec_execfn       - getauxval(AT_EXECFN) in the new image is the path given
 *                       to execve
 *   execve_enoent     - nonexistent path -> ENOENT
 *   execve_dir        - a directory ("/") -> EACCES
 *   execve_text       - an executable text file without "#!" -> ENOEXEC
 *   execve_noexec     - a file without execute permission -> EACCES
 *   execve_script     - a "#!" script runs its interpreter with one optional
 *                       argument, then the script path, then the arguments
 *   execve_efault_path, execve_efault_argv, execve_efault_argv_elem,
 *   execve_efault_envp - bad pointers -> EFAULT
 *                       (raw syscall: glibc's prototype makes GCC reject them)
 *   execve_e2big      - 128 arguments of 128 KiB - 1 (16 MiB total) -> E2BIG
 *   execve_arg_strlen - one argument of 128 KiB (MAX_ARG_STRLEN counts the NUL) -> E2BIG
 *   cloexec_closed    - after fork + execve, an O_CLOEXEC pipe (both ends) and a
 *                       dup with FD_CLOEXEC set by fcntl are closed (EBADF)
 *   cloexec_kept      - a plain pipe stays open without FD_CLOEXEC and still
 *                       works: the new image writes through it to the parent
 *   exec_threaded_main - fork; the child's second thread is blocked in read();
 *                       the main thread execs: the new image has one thread
 *                       (gettid() == getpid() == the old pid), pthread_create
 *                       works, and no ghost thread eats a byte from the pipe
 *                       the old thread was reading
 *   exec_threaded_other - the same with execve called from the secondary
 *                       thread while the main thread is blocked in read() */
#include "t.h"
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REPORT_FD 100

extern char **environ;

static int velox;
static const char *self;
static char *test_env[] = {"FOO=bar", "EMPTY=", NULL};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static const char *desc_status(int st)
{
    static char buf[64];
    if (WIFEXITED(st))
        snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof buf, "killed by signal %d", WTERMSIG(st));
    else
        snprintf(buf, sizeof buf, "raw status %#x", st);
    return buf;
}

static pid_t xwait(pid_t pid, int *st)
{
    pid_t r;
    do
        r = waitpid(pid, st, 0);
    while (r == -1 && errno == EINTR);
    return r;
}

/* Children whose execve fails exit with 200 + errno.  Returns 1 when the
 * exec-dependent checks should be skipped (off Velox, the host cannot run
 * SELF), printing INFO; 0 otherwise. */
static int exec_unavailable(const char *name, int st)
{
    if (!WIFEXITED(st) || WEXITSTATUS(st) < 200)
        return 0;
    int e = WEXITSTATUS(st) - 200;
    if (!velox && (e == ENOEXEC || e == ENOENT)) {
        printf("INFO %s skipped: execve(%s) failed with %s here (not Velox)\n", name, self,
               strerrorname_np(e));
        return 1;
    }
    fail(name, "execve(%s) failed: %s", self, strerror(e));
    return 1;
}

/* ------------------------------------------------------------ new-image modes */

struct report {
    long pid, ppid, execfn_ok;
};

static int mode_child(int argc, char **argv, char **envp)
{
    int bits = 0;
    if (argc != 4 || argv[4] != NULL)
        bits |= 1;
    else if (strcmp(argv[1], "child") || strcmp(argv[2], "a b") || strcmp(argv[3], "x"))
        bits |= 2;
    if (!envp || !envp[0] || strcmp(envp[0], "FOO=bar") || !envp[1] ||
        strcmp(envp[1], "EMPTY=") || envp[2] != NULL || environ != envp)
        bits |= 4;
    const char *fn = (const char *)getauxval(AT_EXECFN);
    struct report r = {getpid(), getppid(), fn && argv[0] && strcmp(fn, argv[0]) == 0};
    if (write(REPORT_FD, &r, sizeof r) != sizeof r)
        bits |= 8;
    return bits ? 100 + bits : 42;
}

static int fd_open(int fd) { return fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

static int mode_cloexec(int argc, char **argv)
{
    if (argc != 7)
        return 199;
    int a0 = atoi(argv[2]), a1 = atoi(argv[3]), b0 = atoi(argv[4]), b1 = atoi(argv[5]),
        c = atoi(argv[6]);
    int bits = 0;
    if (fd_open(a0))
        bits |= 1;
    if (fd_open(a1))
        bits |= 2;
    if (fd_open(c))
        bits |= 4;
    int f0 = fcntl(b0, F_GETFD), f1 = fcntl(b1, F_GETFD);
    if (f0 == -1)
        bits |= 8;
    if (f1 == -1)
        bits |= 16;
    if ((f0 != -1 && (f0 & FD_CLOEXEC)) || (f1 != -1 && (f1 & FD_CLOEXEC)))
        bits |= 32;
    if (write(b1, "ok", 2) != 2)
        bits |= 64;
    return bits;
}

static void *ret5(void *a)
{
    (void)a;
    return (void *)5L;
}

static int mode_threaded(int argc, char **argv)
{
    if (argc != 5)
        return 199;
    int p0 = atoi(argv[2]), p1 = atoi(argv[3]);
    long want_pid = atol(argv[4]);
    int bits = 0;
    if (syscall(SYS_gettid) != getpid())
        bits |= 1;
    pthread_t t;
    void *rv = NULL;
    if (pthread_create(&t, NULL, ret5, NULL) || pthread_join(t, &rv) || rv != (void *)5L)
        bits |= 2;
    /* a surviving old thread blocked in read(p0) would take this byte */
    char c = 0;
    if (write(p1, "G", 1) != 1)
        bits |= 4;
    sleep_ms(20);
    fcntl(p0, F_SETFL, O_NONBLOCK);
    if (read(p0, &c, 1) != 1 || c != 'G')
        bits |= 4;
    if (getpid() != want_pid)
        bits |= 8;
    return bits ? 100 + bits : 43;
}

/* ------------------------------------------------------------ vfork + exec */

static volatile int vflag;

static void test_vfork_exec(void)
{
    int rp[2];
    if (pipe2(rp, O_CLOEXEC) || dup2(rp[1], REPORT_FD) != REPORT_FD) {
        fail("exec_args", "pipe2/dup2: %s", strerror(errno));
        return;
    }
    char *av[] = {(char *)self, "child", "a b", "x", NULL};
    vflag = 0;
    long t0 = now_ms();
    pid_t pid = vfork();
    if (pid == 0) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
        vflag = 1;
        execve(self, av, test_env);
        _exit(200 + errno);
    }
    int seen = vflag;
    long dt = now_ms() - t0;
    close(REPORT_FD);
    close(rp[1]);
    if (pid < 0) {
        fail("vfork_shared", "vfork: %s", strerror(errno));
        return;
    }
    check(seen == 1, "vfork_shared",
          "parent saw the child's pre-exec write as %d after %ld ms (want 1: memory shared, "
          "parent suspended until execve)",
          seen, dt);
    struct report r = {0, 0, 0};
    ssize_t n = read(rp[0], &r, sizeof r);
    close(rp[0]);
    int st = 0;
    struct rusage ru;
    pid_t w = wait4(pid, &st, 0, &ru);
    if (w != pid) {
        fail("exec_args", "wait4=%d (want %d): %s", w, pid, strerror(errno));
        return;
    }
    if (exec_unavailable("exec_args", st))
        return;
    check(WIFEXITED(st) && WEXITSTATUS(st) == 42, "exec_args",
          "child %s (want 42; 101: argc, 102: argv, 104: envp, 108: report write)",
          desc_status(st));
    check(n == sizeof r && r.pid == pid && r.ppid == getpid(), "exec_pid",
          "report %zd bytes: pid %ld (want %d) ppid %ld (want %d)", n, r.pid, pid, r.ppid,
          getpid());
    check(n == sizeof r && r.execfn_ok, "exec_execfn", "AT_EXECFN differs from \"%s\"", self);
}

/* ------------------------------------------------------------ execve errors */

static void test_exec_errors(void)
{
    char *av[] = {(char *)self, "exit77", NULL};
    EXPECT_ERR("execve_enoent", execve("/nonexistent/velox-no-such-file", av, test_env), ENOENT);
    EXPECT_ERR("execve_dir", execve("/", av, test_env), EACCES);
    {
        const char *txt = "/tmp/velox-exec-text";
        int fd = open(txt, O_WRONLY | O_CREAT | O_TRUNC, 0755);
        if (fd < 0 || write(fd, "hello\n", 6) != 6 || close(fd) != 0)
            fail("execve_text", "cannot create %s: %s", txt, strerror(errno));
        else
            EXPECT_ERR("execve_text", execve(txt, av, test_env), ENOEXEC);
        chmod(txt, 0644);
        EXPECT_ERR("execve_noexec", execve(txt, av, test_env), EACCES);
        unlink(txt);
    }
    {
        /* A script whose interpreter is this program: it sees
         * {self, "scriptarg", script, "x"} and exits 78 when they are right. */
        const char *sc = "/tmp/velox-exec-script";
        char line[300];
        snprintf(line, sizeof line, "#!%s  scriptarg \n", self);
        int fd = open(sc, O_WRONLY | O_CREAT | O_TRUNC, 0755);
        if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line) || close(fd) != 0) {
            fail("execve_script", "cannot create %s: %s", sc, strerror(errno));
        } else {
            pid_t pid = fork();
            if (pid == 0) {
                char *sav[] = {"ignored", "x", NULL};
                execve(sc, sav, test_env);
                _exit(200 + errno);
            }
            int st = 0;
            waitpid(pid, &st, 0);
            if (WIFEXITED(st) && WEXITSTATUS(st) == 78)
                pass("execve_script");
            else
                fail("execve_script", "status %#x, want exit 78", st);
        }
        unlink(sc);
    }
    EXPECT_ERR("execve_efault_path", syscall(SYS_execve, 16L, av, test_env), EFAULT);
    EXPECT_ERR("execve_efault_argv", syscall(SYS_execve, self, 16L, test_env), EFAULT);
    char *bad_elem[] = {(char *)self, (char *)16, NULL};
    EXPECT_ERR("execve_efault_argv_elem", execve(self, bad_elem, test_env), EFAULT);
    EXPECT_ERR("execve_efault_envp", syscall(SYS_execve, self, av, 16L), EFAULT);

    enum { NARG = 128, ARGLEN = 128 * 1024 - 1 };
    char *big = malloc(ARGLEN + 1);
    char **bav = malloc((NARG + 3) * sizeof *bav);
    if (!big || !bav) {
        fail("execve_e2big", "malloc failed");
        return;
    }
    memset(big, 'A', ARGLEN);
    big[ARGLEN] = 0;
    bav[0] = (char *)self;
    bav[1] = "exit77";
    for (int i = 0; i < NARG; i++)
        bav[2 + i] = big;
    bav[NARG + 2] = NULL;
    EXPECT_ERR("execve_e2big", execve(self, bav, test_env), E2BIG);
    free(bav);
    free(big);

    enum { STRMAX = 128 * 1024 };
    char *one = malloc(STRMAX + 1);
    if (!one) {
        fail("execve_arg_strlen", "malloc failed");
        return;
    }
    memset(one, 'A', STRMAX);
    one[STRMAX] = 0;
    char *oav[] = {(char *)self, "exit77", one, NULL};
    EXPECT_ERR("execve_arg_strlen", execve(self, oav, test_env), E2BIG);
    free(one);
}

/* ------------------------------------------------------------ close-on-exec */

static void test_cloexec(void)
{
    int a[2], b[2];
    if (pipe2(a, O_CLOEXEC) || pipe(b)) {
        fail("cloexec_closed", "pipe: %s", strerror(errno));
        return;
    }
    int c = dup(b[0]);
    if (c < 0 || fcntl(c, F_SETFD, FD_CLOEXEC)) {
        fail("cloexec_closed", "dup/F_SETFD: %s", strerror(errno));
        return;
    }
    char s[5][16];
    int fds[5] = {a[0], a[1], b[0], b[1], c};
    for (int i = 0; i < 5; i++)
        snprintf(s[i], sizeof s[i], "%d", fds[i]);
    char *av[] = {(char *)self, "cloexec", s[0], s[1], s[2], s[3], s[4], NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execve(self, av, test_env);
        _exit(200 + errno);
    }
    close(b[1]);
    char buf[8] = {0};
    ssize_t n = read(b[0], buf, sizeof buf);
    ssize_t n2 = n > 0 ? read(b[0], buf + n, sizeof buf - n) : -2;
    int st = 0;
    pid_t w = xwait(pid, &st);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(c);
    if (pid < 0 || w != pid) {
        fail("cloexec_closed", "fork/waitpid: %s", strerror(errno));
        return;
    }
    if (exec_unavailable("cloexec_closed", st))
        return;
    int bits = WIFEXITED(st) && WEXITSTATUS(st) < 128 ? WEXITSTATUS(st) : -1;
    check(bits >= 0 && !(bits & 7), "cloexec_closed",
          "child %s (1/2: O_CLOEXEC pipe end open, 4: FD_CLOEXEC dup open)", desc_status(st));
    check(bits >= 0 && !(bits & 0x78) && n == 2 && n2 == 0 && memcmp(buf, "ok", 2) == 0,
          "cloexec_kept",
          "child %s (8/16: plain pipe end closed, 32: FD_CLOEXEC set, 64: write failed); "
          "parent read %zd then %zd",
          desc_status(st), n, n2);
}

/* ------------------------------------------------------------ exec with threads */

static int tpipe[2];
static char tav_p0[16], tav_p1[16], tav_pid[24];

static void exec_threaded_image(void)
{
    char *av[] = {(char *)self, "threaded", tav_p0, tav_p1, tav_pid, NULL};
    execve(self, av, test_env);
    _exit(200 + errno);
}

static void *blocked_reader(void *a)
{
    (void)a;
    char c;
    ssize_t r = read(tpipe[0], &c, 1);
    return (void *)r;
}

static void *delayed_exec(void *a)
{
    (void)a;
    sleep_ms(20);
    exec_threaded_image();
    return NULL;
}

static void test_exec_threaded(int from_main)
{
    const char *name = from_main ? "exec_threaded_main" : "exec_threaded_other";
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        if (pipe(tpipe))
            _exit(198);
        snprintf(tav_p0, sizeof tav_p0, "%d", tpipe[0]);
        snprintf(tav_p1, sizeof tav_p1, "%d", tpipe[1]);
        snprintf(tav_pid, sizeof tav_pid, "%d", getpid());
        if (from_main) {
            if (pthread_create(&t, NULL, blocked_reader, NULL))
                _exit(197);
            sleep_ms(20);
            exec_threaded_image();
        } else {
            if (pthread_create(&t, NULL, delayed_exec, NULL))
                _exit(197);
            blocked_reader(NULL);
            _exit(196);
        }
    }
    int st = 0;
    pid_t w = xwait(pid, &st);
    if (pid < 0 || w != pid) {
        fail(name, "fork/waitpid: %s", strerror(errno));
        return;
    }
    if (exec_unavailable(name, st))
        return;
    check(WIFEXITED(st) && WEXITSTATUS(st) == 43, name,
          "child %s (want 43; 101: gettid != getpid, 102: pthread_create, 104: a ghost "
          "thread read the pipe, 108: pid changed)",
          desc_status(st));
}

int main(int argc, char **argv, char **envp)
{
    if (argc >= 2) {
        if (strcmp(argv[1], "child") == 0)
            return mode_child(argc, argv, envp);
        if (strcmp(argv[1], "cloexec") == 0)
            return mode_cloexec(argc, argv);
        if (strcmp(argv[1], "threaded") == 0)
            return mode_threaded(argc, argv);
        if (strcmp(argv[1], "exit77") == 0)
            return 77;
        if (strcmp(argv[1], "scriptarg") == 0)
            return argc == 4 && strcmp(argv[2], "/tmp/velox-exec-script") == 0 && strcmp(argv[3], "x") == 0 ? 78 : 79;
    }
    t_init();
    struct utsname u;
    velox = uname(&u) == 0 && strstr(u.release, "velox") != NULL;
    self = argc >= 2 ? argv[1] : argv[0];
    printf("INFO self %s\n", self);
    test_vfork_exec();
    test_exec_errors();
    test_cloexec();
    test_exec_threaded(1);
    test_exec_threaded(0);
    return t_exit();
}
