/* threads: pthread creation, joining and per-thread state.
 *   thread_one          - pthread_create + pthread_join of one thread; the
 *                         join returns the thread's return value
 *   thread_main_tid     - in the main thread gettid() == getpid()
 *   threads_100         - 100 threads (all alive at once) each return a distinct
 *                         value, checked by pthread_join
 *   thread_tids         - gettid() differs in every thread (and from main's)
 *   thread_pid          - getpid() is the same in every thread
 *   thread_tls          - a __thread variable has a distinct address and keeps its
 *                         own value in every thread; main's copy is untouched
 *   thread_errno        - errno is per thread: one thread gets EBADF (close(-1)),
 *                         another ENOENT (open of a missing file) in between, and
 *                         each still sees its own; main's errno is unchanged
 *   thread_exit_value   - pthread_exit(v) from a nested call: join returns v,
 *                         the code after it does not run, a cleanup handler does
 *   threads_10000       - 10,000 threads with 16 KiB stacks all block in a raw
 *                         FUTEX_WAIT on one word, one FUTEX_WAKE(INT_MAX) releases
 *                         them, every join returns the thread's own value
 *   thread_kmem_2k      - (Velox only) kernel memory per blocked thread, measured
 *                         as the growth of Slab+KernelStack+PageTables in
 *                         /proc/meminfo, is <= 2048 bytes; elsewhere only
 *                         "INFO kernel_bytes_per_blocked_thread=<n>" is printed
 *                         (nothing if /proc/meminfo cannot be read) */
#include "thr.h"
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>

/* ---- one thread ---- */
static void *ret_fn(void *arg) { return arg; }

static void test_one(void)
{
    pthread_t th;
    void *ret = NULL;
    int r = pthread_create(&th, NULL, ret_fn, (void *)0x1234);
    if (r != 0) {
        fail("thread_one", "pthread_create: %s", strerror(r));
        return;
    }
    r = tjoin(th, &ret, 5000);
    check(r == 0 && ret == (void *)0x1234, "thread_one", "join %s, value %p", strerror(r), ret);
    check(syscall(SYS_gettid) == getpid(), "thread_main_tid", "gettid %ld, getpid %d",
          syscall(SYS_gettid), getpid());
}

/* ---- 100 threads alive together ---- */
#define N100 100
static __thread long tls_var = 77;
static volatile int arrived;
static volatile uint32_t gate;

struct info {
    int idx;
    long tid;
    long pid;
    long *tls_addr;
    int tls_ok;
};
static struct info infos[N100];

static void *hundred_fn(void *arg)
{
    struct info *in = arg;
    in->tid = syscall(SYS_gettid);
    in->pid = getpid();
    in->tls_addr = &tls_var;
    int fresh = tls_var == 77; /* initial value from the TLS image */
    tls_var = 1000 + in->idx;
    __atomic_add_fetch(&arrived, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&gate, __ATOMIC_ACQUIRE) == 0)
        futex_wait(&gate, 0);
    sched_yield();
    in->tls_ok = fresh && tls_var == 1000 + in->idx;
    return (void *)(uintptr_t)(in->idx * 7 + 3);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

static void test_hundred(void)
{
    pthread_t th[N100];
    int n = 0;
    arrived = 0;
    gate = 0;
    tls_var = 5;
    for (; n < N100; n++) {
        infos[n].idx = n;
        int r = pthread_create(&th[n], NULL, hundred_fn, &infos[n]);
        if (r != 0) {
            fail("threads_100", "pthread_create #%d: %s", n, strerror(r));
            break;
        }
    }
    int all = wait_atleast(&arrived, n, 10000);
    __atomic_store_n(&gate, 1, __ATOMIC_RELEASE);
    futex_wake(&gate, INT_MAX);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        void *ret = NULL;
        int r = tjoin(th[i], &ret, 5000);
        if (r != 0 || ret != (void *)(uintptr_t)(i * 7 + 3)) {
            if (!bad)
                fail("threads_100", "join #%d: %s, value %p (want %#x)", i, strerror(r), ret,
                     i * 7 + 3);
            bad = 1;
        }
    }
    if (n < N100)
        return;
    if (!bad)
        check(all, "threads_100", "only %d of %d threads ran before the gate opened", arrived, n);

    long tids[N100 + 1];
    int pid_ok = 1, tls_ok = 1;
    for (int i = 0; i < n; i++) {
        tids[i] = infos[i].tid;
        pid_ok &= infos[i].pid == getpid();
        tls_ok &= infos[i].tls_ok && infos[i].tls_addr != &tls_var;
    }
    tids[n] = syscall(SYS_gettid);
    qsort(tids, n + 1, sizeof tids[0], cmp_long);
    int dup = 0;
    for (int i = 0; i < n; i++)
        dup |= tids[i] == tids[i + 1] || tids[i] <= 0;
    check(!dup, "thread_tids", "two threads share a tid (or a tid <= 0)");
    check(pid_ok, "thread_pid", "getpid differs between threads");
    /* TLS addresses distinct between threads */
    long *addrs[N100];
    for (int i = 0; i < n; i++)
        addrs[i] = infos[i].tls_addr;
    qsort(addrs, n, sizeof addrs[0], cmp_long);
    for (int i = 0; i + 1 < n; i++)
        tls_ok &= addrs[i] != addrs[i + 1];
    check(tls_ok && tls_var == 5, "thread_tls",
          "a __thread variable is shared or lost its value (main's copy %ld, want 5)", tls_var);
}

/* ---- errno per thread ---- */
static volatile int step_a, step_b, step_c, errno_done;
static int errno_a, errno_b;

static int spin_until(volatile int *p, long ms)
{
    int64_t end = mono_ns() + ms * 1000000LL;
    while (!__atomic_load_n(p, __ATOMIC_ACQUIRE)) {
        if (mono_ns() > end)
            return 0;
        sched_yield();
    }
    return 1;
}

static void *errno_a_fn(void *arg)
{
    (void)arg;
    close(-1); /* EBADF */
    __atomic_store_n(&step_a, 1, __ATOMIC_RELEASE);
    spin_until(&step_b, 5000);
    errno_a = errno;
    errno = 0;
    dup(-1); /* EBADF again, after B's failure and before B reads its errno */
    __atomic_store_n(&step_c, 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&errno_done, 1, __ATOMIC_ACQ_REL);
    return NULL;
}

static void *errno_b_fn(void *arg)
{
    (void)arg;
    spin_until(&step_a, 5000);
    open("/nonexistent-velox-file", O_RDONLY); /* ENOENT */
    __atomic_store_n(&step_b, 1, __ATOMIC_RELEASE);
    spin_until(&step_c, 5000);
    errno_b = errno;
    __atomic_add_fetch(&errno_done, 1, __ATOMIC_ACQ_REL);
    return NULL;
}

static void test_errno(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, errno_a_fn, NULL);
    pthread_create(&b, NULL, errno_b_fn, NULL);
    errno = EPERM;
    wait_atleast(&errno_done, 2, 10000); /* nanosleep/clock_gettime leave errno alone */
    int mine = errno;
    int ja = tjoin(a, NULL, 5000), jb = tjoin(b, NULL, 5000);
    check(ja == 0 && jb == 0 && errno_a == EBADF && errno_b == ENOENT && mine == EPERM,
          "thread_errno", "thread A sees %s (want EBADF), thread B %s (want ENOENT), main %s "
          "(want EPERM)", strerrorname_np(errno_a), strerrorname_np(errno_b),
          strerrorname_np(mine));
}

/* ---- pthread_exit ---- */
static volatile int after_exit, cleanup_ran;

static void cleanup(void *arg) { cleanup_ran = (int)(uintptr_t)arg; }

static void (*volatile deep_ptr)(int);

static void __attribute__((noinline)) deep_exit(int depth)
{
    if (depth > 0)
        deep_ptr(depth - 1); /* through a pointer: gcc sees no end to the recursion */
    else
        pthread_exit((void *)0xdead);
    after_exit = 2;
}

static void *exit_fn(void *arg)
{
    (void)arg;
    pthread_cleanup_push(cleanup, (void *)42);
    deep_ptr = deep_exit;
    deep_exit(5);
    after_exit = 1;
    pthread_cleanup_pop(0);
    return (void *)1;
}

static void test_exit(void)
{
    pthread_t th;
    void *ret = NULL;
    pthread_create(&th, NULL, exit_fn, NULL);
    int r = tjoin(th, &ret, 5000);
    check(r == 0 && ret == (void *)0xdead && !after_exit && cleanup_ran == 42,
          "thread_exit_value", "join %s, value %p (want 0xdead), ran past exit %d, cleanup %d",
          strerror(r), ret, after_exit, cleanup_ran);
}

/* ---- 10,000 blocked threads ---- */
#define NBIG 10000
static volatile int big_arrived;
static volatile uint32_t big_gate;
static pthread_t big_th[NBIG];

static void *big_fn(void *arg)
{
    __atomic_add_fetch(&big_arrived, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&big_gate, __ATOMIC_ACQUIRE) == 0)
        futex_wait(&big_gate, 0);
    return (void *)((uintptr_t)arg ^ 0x5a5a0000);
}

/* Slab + KernelStack + PageTables in kB, or -1 if /proc/meminfo is missing */
static long kernel_kb(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return -1;
    char line[256];
    long sum = 0;
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        long v;
        if (sscanf(line, "Slab: %ld", &v) == 1 || sscanf(line, "KernelStack: %ld", &v) == 1 ||
            sscanf(line, "PageTables: %ld", &v) == 1) {
            sum += v;
            found++;
        }
    }
    fclose(f);
    return found ? sum : -1;
}

static void test_big(void)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    size_t ss = 16384;
    if (pthread_attr_setstacksize(&attr, ss) != 0) {
        ss = PTHREAD_STACK_MIN;
        pthread_attr_setstacksize(&attr, ss);
    }
    long kb0 = kernel_kb();
    int64_t t0 = mono_ns();
    int n = 0, err = 0;
    for (; n < NBIG; n++) {
        err = pthread_create(&big_th[n], &attr, big_fn, (void *)(uintptr_t)n);
        if (err != 0)
            break;
    }
    pthread_attr_destroy(&attr);
    int64_t t1 = mono_ns();
    /* all have incremented the counter; the sleeps let the last ones reach
     * FUTEX_WAIT (the counter is bumped just before it) */
    int all = wait_atleast(&big_arrived, n, 30000);
    for (int i = 0; i < 5; i++)
        sleep_ms(10);
    long kb1 = kernel_kb();
    __atomic_store_n(&big_gate, 1, __ATOMIC_RELEASE);
    long woken = futex_wake(&big_gate, INT_MAX);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        void *ret = NULL;
        int r = tjoin(big_th[i], &ret, 10000);
        if (r != 0 || ret != (void *)((uintptr_t)i ^ 0x5a5a0000)) {
            if (!bad)
                fail("threads_10000", "join #%d: %s, value %p", i, strerror(r), ret);
            bad = 1;
            if (r != 0)
                break;
        }
    }
    int64_t t2 = mono_ns();
    printf("INFO threads_10000 stack=%zu create_ms=%lld join_ms=%lld woken_by_one_wake=%ld\n",
           ss, (long long)(t1 - t0) / 1000000, (long long)(t2 - t1) / 1000000, woken);
    if (n < NBIG)
        fail("threads_10000", "pthread_create #%d failed: %s", n, strerror(err));
    else if (!bad)
        check(all, "threads_10000", "only %d of %d threads reached the wait", big_arrived, n);

    if (kb0 < 0 || kb1 < 0) {
        printf("INFO /proc/meminfo not readable: kernel memory per thread not measured\n");
        return;
    }
    long per = n > 0 ? (kb1 - kb0) * 1024 / n : 0;
    printf("INFO kernel_bytes_per_blocked_thread=%ld (Slab+KernelStack+PageTables %ld -> %ld kB, "
           "%d threads)\n", per, kb0, kb1, n);
    if (is_velox())
        check(n == NBIG && per <= 2048, "thread_kmem_2k", "%ld bytes per blocked thread", per);
}

int main(void)
{
    t_init();
    test_one();
    test_hundred();
    test_errno();
    test_exit();
    test_big();
    return t_exit();
}
