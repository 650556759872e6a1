/* fork: fork, copy-on-write, wait, process groups and sessions.
 * Children never print: they report through their exit status or a pipe,
 * the parent prints every check.
 *   cow_inherit       - the child sees the parent's pre-fork data (global array,
 *                       heap buffer, 64-page anonymous private mmap)
 *   cow_global / cow_heap / cow_mmap - after fork the child, then the parent,
 *                       overwrite the same pages; each sees only its own data
 *   fork_loop         - 1000 x (fork, child _exit(i & 0xff), waitpid): right pid and
 *                       status every time
 *   fork_noleak       - sysinfo().freeram after the 1000 forks equals the value
 *                       before (after a 50-fork warm-up) within 64 KiB (Velox
 *                       only; INFO elsewhere)
 *   futex_shared_wake - a futex word in a MAP_SHARED|MAP_ANONYMOUS page: the
 *                       child FUTEX_WAITs (no FUTEX_PRIVATE_FLAG), the parent
 *                       sets the word and FUTEX_WAKE wakes exactly that waiter
 *   shm_both_ways     - MAP_SHARED writes are seen by the child (parent's write)
 *                       and by the parent (child's write)
 *   fork_threaded_child - fork while a second thread is blocked in read(): the
 *                       child has one thread (gettid() == getpid()), its own
 *                       pthread_create/join and malloc work, and exit() is clean
 *   fork_threaded_parent - the parent's blocked thread is undisturbed and later
 *                       receives the byte written for it
 *   thread_exit_status - exit(37) from a secondary thread ends the whole process
 *                       (the main thread was sleeping): WIFEXITED, status 37
 *   mainthread_exit_status - main thread pthread_exit()s, the other thread later
 *                       exit(38)s: the parent sees status 38
 *   wnohang           - wait4(pid, WNOHANG) returns 0 while the child runs, then
 *                       the blocking wait gets its status
 *   wait_sigsegv      - child killed by a null write: WIFSIGNALED, WTERMSIG == 11
 *   wait4_rusage      - wait4 fills the rusage (sane timevals)
 *   wait_any          - waitpid(-1) reaps two children, each with its own status
 *   waitpid_nonchild  - waitpid(getppid()) -> ECHILD
 *   waitpid_nochildren - waitpid(-1) with no children -> ECHILD
 *   waitpid_badopt    - unknown option bits -> EINVAL
 *   zombie_reaped     - a child that exited is reaped once; the second
 *                       waitpid -> ECHILD
 *   orphan_reparent   - child forks a grandchild and exits; the grandchild's
 *                       getppid() changes away from the child's pid (== 1 on
 *                       Velox), reported through a pipe
 *   pgid_basic        - getpgid(0) == getpgrp() == getpgid(getpid()), getsid(0) > 0
 *   pgid_inherit      - a child starts in the parent's process group and session
 *   setpgid_parent    - the parent setpgid(child, child); getpgid(child) == child;
 *                       getsid(child) == parent's session
 *   setpgid_leader_setsid - child: setpgid(0,0) makes it a group leader, then
 *                       setsid() -> EPERM
 *   setsid_child      - child: setsid() returns its pid, getsid(0) == getpgid(0)
 *                       == getpid(); setpgid into another group -> EPERM
 *   pgid_esrch        - getpgid/getsid/setpgid on a nonexistent pid -> ESRCH
 *   setpgid_einval    - setpgid(0, -1) -> EINVAL
 *   clone_fork        - syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0) behaves like fork:
 *                       child gets 0, its getppid() is the parent, its writes
 *                       are private, the parent reaps its status */
#include "t.h"
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG 4096UL

static int velox;

static void detect_velox(void)
{
    struct utsname u;
    velox = uname(&u) == 0 && strstr(u.release, "velox") != NULL;
}

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

/* waitpid that retries on EINTR; returns the pid or -1 */
static pid_t xwait(pid_t pid, int *st)
{
    pid_t r;
    do
        r = waitpid(pid, st, 0);
    while (r == -1 && errno == EINTR);
    return r;
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

static int exited_with(int st, int code) { return WIFEXITED(st) && WEXITSTATUS(st) == code; }

/* ---------------------------------------------------------------- COW */

#define GSZ (16 * PG)
#define HSZ 100000UL /* below glibc's mmap threshold: from the brk heap */
#define MSZ (64 * PG)
static unsigned char g_arr[GSZ];

static void fill(unsigned char *p, size_t n, int tag)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 7 + tag);
}

/* index of the first mismatch, or -1 */
static long verify(const unsigned char *p, size_t n, int tag)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 7 + tag))
            return (long)i;
    return -1;
}

static void test_cow(void)
{
    unsigned char *heap = malloc(HSZ);
    unsigned char *map = mmap(NULL, MSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int c2p[2], p2c[2];
    if (!heap || map == MAP_FAILED || pipe(c2p) || pipe(p2c)) {
        fail("cow_setup", "malloc/mmap/pipe failed: %s", strerror(errno));
        return;
    }
    fill(g_arr, GSZ, 1);
    fill(heap, HSZ, 1);
    fill(map, MSZ, 1);

    pid_t pid = fork();
    if (pid < 0) {
        fail("cow_fork", "fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        int bits = 0;
        char c;
        if (verify(g_arr, GSZ, 1) >= 0 || verify(heap, HSZ, 1) >= 0 || verify(map, MSZ, 1) >= 0)
            bits |= 8;
        fill(g_arr, GSZ, 2);
        fill(heap, HSZ, 2);
        fill(map, MSZ, 2);
        if (write(c2p[1], "c", 1) != 1)
            _exit(100);
        if (read(p2c[0], &c, 1) != 1) /* the parent has written its pattern */
            _exit(101);
        if (verify(g_arr, GSZ, 2) >= 0)
            bits |= 1;
        if (verify(heap, HSZ, 2) >= 0)
            bits |= 2;
        if (verify(map, MSZ, 2) >= 0)
            bits |= 4;
        _exit(bits);
    }
    char c;
    long pg = -2, ph = -2, pm = -2;
    if (read(c2p[0], &c, 1) == 1) {
        /* the child has written all three areas: the parent must not see it */
        pg = verify(g_arr, GSZ, 1);
        ph = verify(heap, HSZ, 1);
        pm = verify(map, MSZ, 1);
    }
    fill(g_arr, GSZ, 3);
    fill(heap, HSZ, 3);
    fill(map, MSZ, 3);
    if (write(p2c[1], "p", 1) != 1)
        fail("cow_sync", "write: %s", strerror(errno));
    int st = 0;
    pid_t w = xwait(pid, &st);
    long pg2 = verify(g_arr, GSZ, 3), ph2 = verify(heap, HSZ, 3), pm2 = verify(map, MSZ, 3);
    if (w != pid || !WIFEXITED(st) || WEXITSTATUS(st) >= 16) {
        fail("cow_child", "waitpid=%d (want %d), child %s", w, pid, desc_status(st));
        free(heap);
        return;
    }
    int bits = WEXITSTATUS(st);
    check(!(bits & 8), "cow_inherit", "child did not see the parent's pre-fork data");
    check(pg == -1 && pg2 == -1 && !(bits & 1), "cow_global",
          "parent saw child's data at %ld / own data lost at %ld / child bits %#x", pg, pg2, bits);
    check(ph == -1 && ph2 == -1 && !(bits & 2), "cow_heap",
          "parent saw child's data at %ld / own data lost at %ld / child bits %#x", ph, ph2, bits);
    check(pm == -1 && pm2 == -1 && !(bits & 4), "cow_mmap",
          "parent saw child's data at %ld / own data lost at %ld / child bits %#x", pm, pm2, bits);
    close(c2p[0]);
    close(c2p[1]);
    close(p2c[0]);
    close(p2c[1]);
    munmap(map, MSZ);
    free(heap);
}

/* ---------------------------------------------------------------- fork loop */

static unsigned long freeram(void)
{
    struct sysinfo si;
    if (sysinfo(&si) != 0)
        return 0;
    return si.freeram * (unsigned long)(si.mem_unit ? si.mem_unit : 1);
}

static int fork_many(int n, char *why, size_t whylen)
{
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            snprintf(why, whylen, "fork #%d: %s", i, strerror(errno));
            return 0;
        }
        if (pid == 0)
            _exit(i & 0xff);
        int st = 0;
        pid_t w = xwait(pid, &st);
        if (w != pid || !exited_with(st, i & 0xff)) {
            snprintf(why, whylen, "#%d: waitpid=%d (want %d), %s (want exited %d)", i, w, pid,
                     desc_status(st), i & 0xff);
            return 0;
        }
    }
    return 1;
}

static void test_fork_loop(void)
{
    char why[200] = "";
    if (!fork_many(50, why, sizeof why)) {
        fail("fork_loop", "warm-up %s", why);
        return;
    }
    unsigned long before = freeram();
    long t0 = now_ms();
    int ok = fork_many(1000, why, sizeof why);
    long t1 = now_ms();
    unsigned long after = freeram();
    check(ok, "fork_loop", "%s", why);
    printf("INFO fork_loop 1000 forks in %ld ms; freeram before %lu after %lu\n", t1 - t0, before,
           after);
    long diff = (long)before - (long)after;
    if (velox)
        check(ok && before != 0 && labs(diff) <= 65536, "fork_noleak",
              "freeram %lu before, %lu after (diff %ld bytes)", before, after, diff);
    else
        printf("INFO fork_noleak not asserted off Velox (diff %ld bytes)\n", diff);
}

/* ---------------------------------------------------------------- shared futex */

static long futex(volatile int *uaddr, int op, int val, const struct timespec *ts)
{
    return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static void test_shared_futex(void)
{
    volatile int *shm = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm == MAP_FAILED) {
        fail("futex_shared_wake", "mmap MAP_SHARED: %s", strerror(errno));
        return;
    }
    /* shm[0]: futex word, shm[1]: child ready, shm[2]: parent->child, shm[3]: child->parent */
    pid_t pid = fork();
    if (pid < 0) {
        fail("futex_shared_wake", "fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        int woken = 0;
        shm[1] = 1;
        while (shm[0] == 0) {
            struct timespec ts = {5, 0};
            long r = futex(&shm[0], FUTEX_WAIT, 0, &ts);
            if (r == 0)
                woken = 1;
            else if (errno == ETIMEDOUT)
                _exit(2);
            else if (errno != EAGAIN && errno != EINTR)
                _exit(5);
        }
        if (shm[2] != 0xabcd)
            _exit(4);
        shm[3] = 0x1234;
        _exit(woken ? 0 : 3);
    }
    long t0 = now_ms();
    while (shm[1] == 0 && now_ms() - t0 < 5000)
        sleep_ms(1);
    sleep_ms(50); /* let the child block in FUTEX_WAIT */
    shm[2] = 0xabcd;
    shm[0] = 1;
    long n = futex(&shm[0], FUTEX_WAKE, 1 << 30, NULL);
    int st = 0;
    pid_t w = xwait(pid, &st);
    static const char *what[] = {"ok", "?", "FUTEX_WAIT timed out (never woken)",
                                 "child never blocked (word already set)",
                                 "child did not see the parent's write", "FUTEX_WAIT error"};
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    check(w == pid && n == 1 && (code == 0 || code == 4), "futex_shared_wake",
          "FUTEX_WAKE returned %ld (want 1), child %s (%s)", n, desc_status(st),
          code >= 0 && code <= 5 ? what[code] : "?");
    check(w == pid && code == 0 && shm[3] == 0x1234, "shm_both_ways",
          "child %s, child's write seen by parent: %#x (want 0x1234)", desc_status(st), shm[3]);
    munmap((void *)shm, PG);
}

/* ---------------------------------------------------------------- threads + fork */

static int blk_pipe[2];

static void *blocked_reader(void *arg)
{
    (void)arg;
    char c = 0;
    ssize_t r = read(blk_pipe[0], &c, 1);
    return (void *)(long)(r == 1 ? c : -1);
}

static void *ret7(void *arg)
{
    (void)arg;
    return (void *)7L;
}

static void test_fork_threaded(void)
{
    pthread_t t;
    if (pipe(blk_pipe) || pthread_create(&t, NULL, blocked_reader, NULL)) {
        fail("fork_threaded_child", "pipe/pthread_create failed");
        return;
    }
    sleep_ms(20); /* the thread is now blocked in read() */
    pid_t pid = fork();
    if (pid < 0) {
        fail("fork_threaded_child", "fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        int bits = 0;
        if (syscall(SYS_gettid) != getpid())
            bits |= 1;
        pthread_t t2;
        void *rv = NULL;
        if (pthread_create(&t2, NULL, ret7, NULL) || pthread_join(t2, &rv) || rv != (void *)7L)
            bits |= 2;
        void *m = malloc(200000);
        if (!m)
            bits |= 4;
        free(m);
        exit(bits);
    }
    int st = 0;
    pid_t w = xwait(pid, &st);
    int b = WIFEXITED(st) && WEXITSTATUS(st) < 8 ? WEXITSTATUS(st) : 0;
    check(w == pid && exited_with(st, 0), "fork_threaded_child", "child %s%s%s%s", desc_status(st),
          (b & 1) ? " (gettid != getpid)" : "", (b & 2) ? " (pthread_create/join failed)" : "",
          (b & 4) ? " (malloc failed)" : "");
    if (write(blk_pipe[1], "Z", 1) != 1)
        fail("fork_threaded_parent", "write: %s", strerror(errno));
    void *rv = NULL;
    pthread_join(t, &rv);
    check(rv == (void *)(long)'Z', "fork_threaded_parent", "blocked thread got %ld, want 'Z'",
          (long)rv);
    close(blk_pipe[0]);
    close(blk_pipe[1]);
}

static void *exit37(void *arg)
{
    (void)arg;
    sleep_ms(10);
    exit(37);
}

static void *exit38_later(void *arg)
{
    (void)arg;
    sleep_ms(50);
    exit(38);
}

static void test_thread_exit(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, exit37, NULL))
            _exit(98);
        sleep_ms(3000); /* exit(37) must end the process long before this */
        _exit(99);
    }
    int st = 0;
    long t0 = now_ms();
    pid_t w = xwait(pid, &st);
    check(pid > 0 && w == pid && exited_with(st, 37), "thread_exit_status",
          "child %s after %ld ms (want exited 37; 99 = exit() ended only the thread)",
          desc_status(st), now_ms() - t0);

    pid = fork();
    if (pid == 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, exit38_later, NULL))
            _exit(98);
        pthread_exit(NULL);
    }
    st = 0;
    w = xwait(pid, &st);
    check(pid > 0 && w == pid && exited_with(st, 38), "mainthread_exit_status",
          "child %s (want exited 38)", desc_status(st));
}

/* ---------------------------------------------------------------- wait */

static void test_wnohang(void)
{
    int p[2];
    if (pipe(p)) {
        fail("wnohang", "pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(p[1]);
        ssize_t r = read(p[0], &c, 1); /* returns 0 when the parent closes */
        _exit(r == 0 ? 5 : 6);
    }
    close(p[0]);
    int st = 0x5555;
    pid_t r1 = wait4(pid, &st, WNOHANG, NULL);
    int e1 = errno;
    close(p[1]);
    int st2 = 0;
    pid_t r2 = xwait(pid, &st2);
    check(r1 == 0 && r2 == pid && exited_with(st2, 5), "wnohang",
          "WNOHANG returned %d (errno %d), then waitpid=%d with %s (want 0, then exited 5)", r1,
          e1, r2, desc_status(st2));
}

static void test_wait_sigsegv(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        *(volatile int *)0 = 1;
        _exit(0);
    }
    int st = 0;
    pid_t w = xwait(pid, &st);
    check(w == pid && WIFSIGNALED(st) && !WIFEXITED(st) && WTERMSIG(st) == SIGSEGV,
          "wait_sigsegv", "child %s (want killed by signal 11)", desc_status(st));
}

static void test_wait4_rusage(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        long t0 = now_ms();
        volatile unsigned long x = 0;
        while (now_ms() - t0 < 20)
            for (int i = 0; i < 1000; i++)
                x += i;
        _exit(9);
    }
    struct rusage ru;
    memset(&ru, 0xff, sizeof ru);
    int st = 0;
    pid_t w = wait4(pid, &st, 0, &ru);
    int sane = ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec >= 0 &&
               ru.ru_utime.tv_usec < 1000000 && ru.ru_stime.tv_sec >= 0 &&
               ru.ru_stime.tv_usec >= 0 && ru.ru_stime.tv_usec < 1000000 && ru.ru_maxrss >= 0 &&
               ru.ru_nvcsw >= 0 && ru.ru_nivcsw >= 0;
    check(w == pid && exited_with(st, 9) && sane, "wait4_rusage",
          "wait4=%d child %s utime %ld.%06ld stime %ld.%06ld maxrss %ld", w, desc_status(st),
          (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec, (long)ru.ru_stime.tv_sec,
          (long)ru.ru_stime.tv_usec, ru.ru_maxrss);
    printf("INFO wait4_rusage utime %ld.%06ld stime %ld.%06ld maxrss %ld\n",
           (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec, (long)ru.ru_stime.tv_sec,
           (long)ru.ru_stime.tv_usec, ru.ru_maxrss);
}

static void test_wait_misc(void)
{
    /* two children, reaped with waitpid(-1) in whatever order */
    pid_t a = fork();
    if (a == 0)
        _exit(11);
    pid_t b = fork();
    if (b == 0)
        _exit(12);
    int s1 = 0, s2 = 0;
    pid_t w1 = waitpid(-1, &s1, 0);
    pid_t w2 = waitpid(-1, &s2, 0);
    int ok = a > 0 && b > 0 &&
             ((w1 == a && exited_with(s1, 11) && w2 == b && exited_with(s2, 12)) ||
              (w1 == b && exited_with(s1, 12) && w2 == a && exited_with(s2, 11)));
    check(ok, "wait_any", "children %d/%d; got %d (%s) and %d (%s)", a, b, w1, desc_status(s1),
          w2, desc_status(s2));

    int st;
    EXPECT_ERR("waitpid_nonchild", waitpid(getppid(), &st, 0), ECHILD);
    EXPECT_ERR("waitpid_nochildren", waitpid(-1, &st, 0), ECHILD);
    EXPECT_ERR("waitpid_badopt", waitpid(-1, &st, 0x10000), EINVAL);

    pid_t z = fork();
    if (z == 0)
        _exit(3);
    sleep_ms(20); /* the child is a zombie now */
    st = 0;
    pid_t w = waitpid(z, &st, 0);
    errno = 0;
    pid_t w2b = waitpid(z, &st, 0);
    int e = errno;
    check(z > 0 && w == z && w2b == -1 && e == ECHILD, "zombie_reaped",
          "first waitpid=%d (want %d), second=%d errno %d (want -1/ECHILD)", w, z, w2b, e);
}

static void test_orphan(void)
{
    int rep[2];
    if (pipe(rep)) {
        fail("orphan_reparent", "pipe: %s", strerror(errno));
        return;
    }
    pid_t child = fork();
    if (child == 0) {
        int go[2];
        close(rep[0]);
        if (pipe(go))
            _exit(2);
        pid_t g = fork();
        if (g < 0)
            _exit(3);
        if (g == 0) {
            close(go[0]);
            long v[3];
            v[0] = getppid();
            if (write(go[1], "g", 1) != 1)
                _exit(1);
            long t0 = now_ms();
            while (getppid() == v[0] && now_ms() - t0 < 5000)
                sleep_ms(1);
            v[1] = getppid();
            v[2] = getpid();
            if (write(rep[1], v, sizeof v) != sizeof v)
                _exit(1);
            _exit(0);
        }
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) != 1) /* the grandchild has read its first getppid() */
            _exit(4);
        _exit(0);
    }
    close(rep[1]);
    int st = 0;
    pid_t w = xwait(child, &st);
    long v[3] = {0, 0, 0};
    ssize_t r = read(rep[0], v, sizeof v);
    close(rep[0]);
    if (child < 0 || w != child || !exited_with(st, 0) || r != sizeof v) {
        fail("orphan_reparent", "child %d waitpid=%d %s, report read %zd bytes", child, w,
             desc_status(st), r);
        return;
    }
    int ok = v[0] == child && v[1] != child && v[1] > 0;
    if (velox)
        check(ok && v[1] == 1, "orphan_reparent",
              "grandchild ppid %ld first (child %d), then %ld (want 1)", v[0], child, v[1]);
    else {
        check(ok, "orphan_reparent", "grandchild ppid %ld first (child %d), then %ld", v[0],
              child, v[1]);
        printf("INFO orphan_reparent new parent %ld (1 on Velox; a subreaper here?)\n", v[1]);
    }
}

/* ---------------------------------------------------------------- pgid / sid */

#define NOPID 0x3fffffff

static void test_pgid(void)
{
    pid_t me = getpid(), pg = getpgrp(), sid = getsid(0);
    check(getpgid(0) == pg && getpgid(me) == pg && pg > 0 && sid > 0 && getsid(me) == sid,
          "pgid_basic", "getpgrp %d getpgid(0) %d getpgid(me) %d getsid(0) %d getsid(me) %d", pg,
          getpgid(0), getpgid(me), sid, getsid(me));
    printf("INFO pid %d pgid %d sid %d ppid %d\n", me, pg, sid, getppid());

    /* inheritance + setpgid from the parent */
    int p[2];
    if (pipe(p)) {
        fail("pgid_inherit", "pipe: %s", strerror(errno));
        return;
    }
    int q[2];
    if (pipe(q)) {
        fail("pgid_inherit", "pipe: %s", strerror(errno));
        return;
    }
    pid_t c = fork();
    if (c == 0) {
        char ch;
        int bits = 0;
        close(p[1]);
        close(q[0]);
        if (getpgid(0) != pg)
            bits |= 1;
        if (getsid(0) != sid)
            bits |= 2;
        close(q[1]);                 /* tell the parent: checked */
        if (read(p[0], &ch, 1) != 0) /* wait for the parent's setpgid */
            bits |= 4;
        if (getpgid(0) != getpid())
            bits |= 8;
        _exit(bits);
    }
    char ch;
    close(p[0]);
    close(q[1]);
    if (read(q[0], &ch, 1) != 0) /* EOF once the child has done its first checks */
        fail("pgid_sync", "unexpected data");
    close(q[0]);
    int r = setpgid(c, c);
    int e = errno;
    pid_t gp = getpgid(c);
    pid_t gs = getsid(c);
    close(p[1]);
    int st = 0;
    xwait(c, &st);
    int bits = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
    check(bits != 255 && !(bits & 3), "pgid_inherit", "child %s (bit0: pgid, bit1: sid differ)",
          desc_status(st));
    check(r == 0 && gp == c && gs == sid && bits != 255 && !(bits & 8), "setpgid_parent",
          "setpgid(child,child)=%d errno %d, getpgid(child)=%d (want %d), getsid(child)=%d "
          "(want %d), child %s",
          r, e, gp, c, gs, sid, desc_status(st));

    /* a process group leader cannot setsid() */
    c = fork();
    if (c == 0) {
        if (setpgid(0, 0) != 0)
            _exit(1);
        if (getpgid(0) != getpid())
            _exit(2);
        errno = 0;
        if (setsid() != -1)
            _exit(3);
        _exit(errno == EPERM ? 0 : 4);
    }
    st = 0;
    xwait(c, &st);
    check(exited_with(st, 0), "setpgid_leader_setsid",
          "child %s (1: setpgid failed, 2: not leader, 3: setsid succeeded, 4: wrong errno)",
          desc_status(st));

    /* setsid in a non-leader child */
    c = fork();
    if (c == 0) {
        pid_t s = setsid();
        if (s != getpid())
            _exit(1);
        if (getsid(0) != getpid() || getpgid(0) != getpid())
            _exit(2);
        errno = 0;
        if (setpgid(0, pg) != -1 || errno != EPERM) /* pg is in another session now */
            _exit(3);
        _exit(0);
    }
    st = 0;
    xwait(c, &st);
    check(exited_with(st, 0), "setsid_child",
          "child %s (1: setsid != pid, 2: getsid/getpgid wrong, 3: setpgid across sessions "
          "not EPERM)",
          desc_status(st));

    errno = 0;
    long a1 = getpgid(NOPID);
    int e1 = errno;
    errno = 0;
    long a2 = getsid(NOPID);
    int e2 = errno;
    errno = 0;
    long a3 = setpgid(NOPID, 0);
    int e3 = errno;
    check(a1 == -1 && e1 == ESRCH && a2 == -1 && e2 == ESRCH && a3 == -1 && e3 == ESRCH,
          "pgid_esrch", "getpgid %ld/%d getsid %ld/%d setpgid %ld/%d (want -1/ESRCH=%d)", a1, e1,
          a2, e2, a3, e3, ESRCH);
    EXPECT_ERR("setpgid_einval", setpgid(0, -1), EINVAL);
}

/* ---------------------------------------------------------------- raw clone */

static volatile int clone_var = 5;

static void test_clone(void)
{
    pid_t me = getpid();
    long r = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
    if (r == 0) {
        int bits = 0;
        if (syscall(SYS_getppid) != me)
            bits |= 1;
        if (syscall(SYS_getpid) == me)
            bits |= 2;
        clone_var = 77;
        syscall(SYS_exit_group, 20 + bits);
    }
    if (r < 0) {
        fail("clone_fork", "clone: %s", strerror(errno));
        return;
    }
    int st = 0;
    pid_t w = xwait((pid_t)r, &st);
    check(w == r && exited_with(st, 20) && clone_var == 5, "clone_fork",
          "waitpid=%d (want %ld), child %s (want exited 20; +1 bad ppid, +2 same pid), "
          "clone_var %d (want 5)",
          w, r, desc_status(st), clone_var);
}

int main(void)
{
    t_init();
    detect_velox();
    test_cow();
    test_fork_loop();
    test_shared_futex();
    test_fork_threaded();
    test_thread_exit();
    test_wnohang();
    test_wait_sigsegv();
    test_wait4_rusage();
    test_wait_misc();
    test_orphan();
    test_pgid();
    test_clone();
    return t_exit();
}
