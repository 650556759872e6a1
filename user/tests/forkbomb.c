/* forkbomb: process limits.  Children never need kill(): each blocks in read() on a
 * pipe and exits when the parent closes the write end (read returns 0).
 * Modes (argv[1]):
 *   limit (default)
 *     nproc_root_exempt - as uid 0 with RLIMIT_NPROC soft limit 16, 32 forks all work:
 *                         Linux does not apply RLIMIT_NPROC to root (copy_process skips
 *                         the check for INIT_USER and CAP_SYS_RESOURCE/CAP_SYS_ADMIN)
 *     A child then becomes uid 54321 (setresuid) and forks with RLIMIT_NPROC = 64:
 *     nproc_setuid      - setresuid(54321, 54321, 54321) works (we are root)
 *     nproc_eagain      - fork fails with EAGAIN once the uid has 64 processes: after 63
 *                         children on Linux and Velox (the bomber is the 64th).  Under
 *                         qemu-user each guest process is two host tasks (qemu's RCU
 *                         thread), so there only 16..63 is required.
 *     nproc_reaped      - after the pipe is closed every child exits and is reaped
 *     nproc_fork_again  - then fork + wait works again
 *     nproc_bomber      - the uid-54321 child exited 0
 *   nolimit [CAP]       - RLIMIT_NPROC raised as far as allowed, fork until fork fails
 *                         (at most CAP children, default 1000000; a CAP given on the
 *                         command line is only for trying this on a host):
 *     nolimit_fails     - fork fails with EAGAIN or ENOMEM (the kernel-wide limit or
 *                         memory); "INFO" says after how many children
 *     nolimit_alive     - the system still answers: getpid, a pipe round trip
 *     nolimit_reaped    - closing the pipe ends every child; all are reaped
 *     nolimit_fork_again - fork + wait works again
 *     nolimit_memory_back - (Velox only) MemFree from /proc/meminfo is back to within
 *                         1 MiB of where it was before the bomb */
#include "thr.h"
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>

static int pfd[2];

/* fork a child that waits for EOF on pfd[0]; returns the pid, or -1 with errno */
static pid_t sleeper(void)
{
    pid_t p = fork();
    if (p == 0) {
        close(pfd[1]);
        char c;
        while (read(pfd[0], &c, 1) > 0)
            ;
        _exit(0);
    }
    return p;
}

/* reap every child; returns how many */
static long reap_all(void)
{
    long n = 0;
    int st;
    while (wait(&st) > 0)
        n++;
    return n;
}

static int fork_wait_once(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(42);
    int st = 0;
    return p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 42;
}

static void root_exempt(void)
{
    if (getuid() != 0) {
        printf("INFO not root: nproc_root_exempt not tried\n");
        return;
    }
    struct rlimit old, lim;
    getrlimit(RLIMIT_NPROC, &old);
    lim.rlim_cur = 16;
    lim.rlim_max = old.rlim_max;
    int r = setrlimit(RLIMIT_NPROC, &lim);
    pipe(pfd);
    int made = 0, err = 0;
    for (int i = 0; i < 32; i++) {
        pid_t p = sleeper();
        if (p < 0) {
            err = errno;
            break;
        }
        made++;
    }
    close(pfd[1]);
    long reaped = reap_all();
    close(pfd[0]);
    setrlimit(RLIMIT_NPROC, &old);
    check(r == 0 && made == 32 && reaped == 32, "nproc_root_exempt",
          "setrlimit %d; %d of 32 forks (then %s), %ld reaped", r, made,
          err ? strerror(err) : "-", reaped);
}

static int bomber(void)
{
    int r = setresuid(54321, 54321, 54321);
    check(r == 0 && getuid() == 54321, "nproc_setuid", "setresuid: %d (%s), uid %d", r,
          r ? strerror(errno) : "ok", (int)getuid());
    struct rlimit lim = { 64, 64 };
    r = setrlimit(RLIMIT_NPROC, &lim);
    if (r != 0)
        fail("nproc_eagain", "setrlimit(RLIMIT_NPROC, 64): %s", strerror(errno));
    pipe(pfd);
    long made = 0;
    int err = 0;
    while (made < 1000) {
        pid_t p = sleeper();
        if (p < 0) {
            err = errno;
            break;
        }
        made++;
    }
    printf("INFO nproc: %ld children, then %s\n", made, err ? strerror(err) : "no failure");
    if (is_velox())
        check(err == EAGAIN && made == 63, "nproc_eagain",
              "%ld children then errno %d (%s); want EAGAIN after 63", made, err,
              strerror(err));
    else
        check(err == EAGAIN && made >= 16 && made <= 63, "nproc_eagain",
              "%ld children then errno %d (%s); want EAGAIN after 16..63", made, err,
              strerror(err));
    close(pfd[1]);
    long reaped = reap_all();
    close(pfd[0]);
    check(reaped == made, "nproc_reaped", "%ld of %ld children reaped", reaped, made);
    check(fork_wait_once(), "nproc_fork_again", "fork + wait failed: %s", strerror(errno));
    return t_exit();
}

static void mode_limit(void)
{
    root_exempt();
    pid_t b = fork();
    if (b == 0)
        _exit(bomber());
    int st = 0;
    pid_t w = b > 0 ? waitpid(b, &st, 0) : -1;
    check(w == b && WIFEXITED(st) && WEXITSTATUS(st) == 0, "nproc_bomber",
          "fork %d, wait %d, status %#x", b, w, st);
}

static void mode_nolimit(long cap, int cap_given)
{
    struct rlimit lim = { RLIM_INFINITY, RLIM_INFINITY };
    if (setrlimit(RLIMIT_NPROC, &lim) != 0) {
        getrlimit(RLIMIT_NPROC, &lim);
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NPROC, &lim);
    }
    long free0 = memfree_kb();
    pid_t me = getpid();
    pipe(pfd);
    long made = 0;
    int err = 0;
    int64_t t0 = mono_ns();
    while (made < cap) {
        pid_t p = sleeper();
        if (p < 0) {
            err = errno;
            break;
        }
        made++;
    }
    int64_t el = mono_ns() - t0;
    printf("INFO nolimit: %ld children in %lld ms, then %s\n", made, (long long)el / 1000000,
           err ? strerror(err) : "cap reached");
    if (err || !cap_given)
        check(err == EAGAIN || err == ENOMEM, "nolimit_fails", "%ld children, then errno %d (%s)",
              made, err, strerror(err));

    int q[2];
    int ok = getpid() == me && pipe(q) == 0;
    char c = 'a', d = 0;
    ok = ok && write(q[1], &c, 1) == 1 && read(q[0], &d, 1) == 1 && d == 'a';
    check(ok, "nolimit_alive", "getpid/pipe after the bomb failed: %s", strerror(errno));
    close(q[0]);
    close(q[1]);

    close(pfd[1]);
    long reaped = reap_all();
    close(pfd[0]);
    check(reaped == made, "nolimit_reaped", "%ld of %ld children reaped", reaped, made);
    check(fork_wait_once(), "nolimit_fork_again", "fork + wait failed: %s", strerror(errno));
    if (is_velox()) {
        long free1 = memfree_kb();
        check(free0 > 0 && free1 >= free0 - 1024, "nolimit_memory_back",
              "MemFree %ld kB before, %ld kB after", free0, free1);
    }
}

int main(int argc, char **argv)
{
    t_init();
    if (argc < 2 || strcmp(argv[1], "limit") == 0)
        mode_limit();
    else if (strcmp(argv[1], "nolimit") == 0)
        mode_nolimit(argc > 2 ? atol(argv[2]) : 1000000, argc > 2);
    else {
        fail("mode", "unknown mode %s", argv[1]);
        return 2;
    }
    return t_exit();
}
