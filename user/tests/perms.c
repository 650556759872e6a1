/* perms: permission and limit checks found by the hostile review of issue 14 (Linux rules).
 *   perm_raise_hard      - an unprivileged process cannot raise a hard limit (EPERM)
 *   perm_prlimit_other   - nor read/change another user's limits with prlimit (EPERM)
 *   perm_kill_root       - nor signal a process of another user (EPERM), which survives
 *   perm_kill_self_user  - but may signal its own user's processes (sig 0)
 *   clone_parent_creds   - a CLONE_PARENT child is a copy of the caller (uid 1000), not of the
 *                          caller's parent (root): it cannot setresuid(0)
 *   shared_none_fork     - a MAP_SHARED mapping created PROT_NONE is still shared after fork
 *   rlimit_as            - RLIMIT_AS bounds mmap (ENOMEM) and brk
 *   rlimit_cpu           - a process past RLIMIT_CPU's soft limit dies by SIGXCPU; one that
 *                          ignores SIGXCPU runs on to the hard limit and dies by SIGKILL
 *   fixed_as_keeps_old   - a MAP_FIXED mmap refused by RLIMIT_AS leaves the old mapping intact
 *   prlimit_init         - pid 1 (the kernel's init here) cannot get new limits (EPERM) */
#include "t.h"
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void unprivileged(pid_t rootkid, volatile long *sh)
{
    if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) {
        fail("perm_setup", "setresuid: %s", strerror(errno));
        return;
    }
    struct rlimit rl = {5, 5};
    setrlimit(RLIMIT_NPROC, &rl);
    rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
    EXPECT_ERR("perm_raise_hard", setrlimit(RLIMIT_NPROC, &rl), EPERM);
    struct rlimit one = {1, 1};
    EXPECT_ERR("perm_prlimit_other", prlimit(rootkid, RLIMIT_NOFILE, &one, NULL), EPERM);
    EXPECT_ERR("perm_kill_root", kill(rootkid, SIGKILL), EPERM);
    check(kill(getpid(), 0) == 0, "perm_kill_self_user", "kill(self, 0): %s", strerror(errno));
    long c = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
    if (c == 0) {
        sh[0] = getuid();
        sh[1] = setresuid(0, 0, 0) == 0 ? 12345 : -errno;
        _exit(0);
    }
    for (int i = 0; i < 300 && sh[1] == -5; i++)
        usleep(10000);
    check(sh[0] == 1000 && sh[1] == -EPERM, "clone_parent_creds", "child uid %ld, setresuid(0,0,0) -> %ld", sh[0], sh[1]);
}

static void shared_none(void)
{
    volatile int *p = mmap(0, 4096, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t c = fork();
    if (c == 0) {
        mprotect((void *)p, 4096, PROT_READ | PROT_WRITE);
        p[0] = 42;
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    mprotect((void *)p, 4096, PROT_READ | PROT_WRITE);
    check(p[0] == 42, "shared_none_fork", "parent sees %d", p[0]);
    munmap((void *)p, 4096);
}

static void limits(void)
{
    pid_t c = fork();
    if (c == 0) {
        struct rlimit rl = {64 << 20, 64 << 20};
        setrlimit(RLIMIT_AS, &rl);
        void *p = mmap(0, 128 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        int e = errno;
        void *small = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        void *b0 = sbrk(0);
        void *b1 = sbrk(96 << 20);
        _exit(p == MAP_FAILED && e == ENOMEM && small != MAP_FAILED && b0 != (void *)-1 && b1 == (void *)-1 ? 0 : 1);
    }
    int st;
    waitpid(c, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "rlimit_as", "child status %#x", st);
    c = fork();
    if (c == 0) {
        struct rlimit rl = {1, RLIM_INFINITY};
        setrlimit(RLIMIT_CPU, &rl);
        for (volatile unsigned long i = 0;; i++)
            ;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    waitpid(c, &st, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    check(WIFSIGNALED(st) && WTERMSIG(st) == SIGXCPU, "rlimit_cpu", "child status %#x after %ld s", st,
          (long)(t1.tv_sec - t0.tv_sec));
    c = fork();
    if (c == 0) {
        signal(SIGXCPU, SIG_IGN);
        struct rlimit rl = {1, 2};
        setrlimit(RLIMIT_CPU, &rl);
        for (volatile unsigned long i = 0;; i++)
            ;
    }
    waitpid(c, &st, 0);
    check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "rlimit_cpu_ignored", "child status %#x", st);
    c = fork();
    if (c == 0) {
        char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        p[0] = 'x';
        struct rlimit rl = {0, RLIM_INFINITY};
        setrlimit(RLIMIT_AS, &rl);
        void *q = mmap(p, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        _exit(q == MAP_FAILED && errno == ENOMEM && p[0] == 'x' ? 0 : 1);
    }
    waitpid(c, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fixed_as_keeps_old", "child status %#x", st);
    struct rlimit z = {0, 0};
    EXPECT_ERR("prlimit_init", prlimit(1, RLIMIT_AS, &z, NULL), EPERM);
}

int main(void)
{
    t_init();
    volatile long *sh = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    sh[0] = sh[1] = -5;
    pid_t rootkid = fork();
    if (rootkid == 0) {
        for (;;)
            pause();
    }
    pid_t u = fork();
    if (u == 0) {
        unprivileged(rootkid, sh);
        _exit(t_exit());
    }
    int st;
    waitpid(u, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "perm_child", "unprivileged part status %#x", st);
    check(kill(rootkid, 0) == 0, "perm_root_survives", "root child gone: %s", strerror(errno));
    kill(rootkid, SIGKILL);
    waitpid(rootkid, &st, 0);
    /* The CLONE_PARENT grandchild is our child: reap it. */
    while (waitpid(-1, &st, WNOHANG) > 0)
        ;
    shared_none();
    limits();
    return t_exit();
}
