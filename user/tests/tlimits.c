/* tlimits [CAP]: running out of threads, and no memory leaked by thread
 * creation.  CAP (default 100000) bounds the number of threads tried, so the
 * program always ends; keep it small on a host with qemu-user (real host threads).
 *   tlimit_errno      - threads with 16 KiB stacks, each blocked in FUTEX_WAIT,
 *                       are created until pthread_create fails: the error is
 *                       EAGAIN (glibc also turns an mmap ENOMEM into EAGAIN) or
 *                       ENOMEM.  "INFO max_threads=<n> error=<name>".  If CAP is
 *                       reached first: INFO only (on Velox with the default CAP:
 *                       FAIL, Velox is expected to run out before 100,000)
 *   tlimit_release    - one FUTEX_WAKE(INT_MAX) releases them all and every one
 *                       is joined with its own return value
 *   tlimit_again      - a second round creates at least as many threads as the
 *                       first minus a margin (max(16, 1%)): nothing was lost
 *   tlimit_create_join_loop - 2,000 create+join pairs (after 100 as warm-up) succeed
 *   tlimit_no_leak    - (Velox only) sysinfo().freeram after the 2,000 is within
 *                       256 KiB of before; elsewhere "INFO freeram_delta=<bytes>" */
#include "thr.h"
#include <limits.h>
#include <stdlib.h>
#include <sys/sysinfo.h>

static volatile uint32_t gate;
static volatile int arrived;

static void *blocked_fn(void *arg)
{
    __atomic_add_fetch(&arrived, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&gate, __ATOMIC_ACQUIRE) == 0)
        futex_wait(&gate, 0);
    return arg;
}

static pthread_attr_t attr;
static pthread_t *th;

/* create until failure or cap; returns the count, *err = pthread_create's error */
static int fill(int cap, int *err)
{
    int n = 0;
    gate = 0;
    arrived = 0;
    *err = 0;
    for (; n < cap; n++) {
        int r = pthread_create(&th[n], &attr, blocked_fn, (void *)(uintptr_t)(n + 1));
        if (r != 0) {
            *err = r;
            break;
        }
    }
    return n;
}

/* wake and join n threads; returns 1 when all joined with the right value */
static int drain(int n, char *why, size_t len)
{
    wait_atleast(&arrived, n, 30000);
    sleep_ms(20);
    __atomic_store_n(&gate, 1, __ATOMIC_RELEASE);
    futex_wake(&gate, INT_MAX);
    int ok = 1;
    for (int i = 0; i < n; i++) {
        void *ret = NULL;
        int r = tjoin(th[i], &ret, 30000);
        if (r != 0 || ret != (void *)(uintptr_t)(i + 1)) {
            if (ok)
                snprintf(why, len, "join #%d of %d: %s, value %p", i, n, strerror(r), ret);
            ok = 0;
            if (r != 0)
                break;
        }
    }
    return ok;
}

static long freeram(void)
{
    struct sysinfo si;
    if (sysinfo(&si) != 0)
        return -1;
    return (long)si.freeram * (long)si.mem_unit;
}

int main(int argc, char **argv)
{
    t_init();
    int cap = argc > 1 ? atoi(argv[1]) : 100000;
    if (cap <= 0)
        cap = 100000;
    th = malloc(sizeof(pthread_t) * (size_t)cap);
    if (!th) {
        fail("tlimit_errno", "malloc of %d pthread_t failed", cap);
        return t_exit();
    }
    pthread_attr_init(&attr);
    if (pthread_attr_setstacksize(&attr, 16384) != 0)
        pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN);

    char why[256] = "";
    int err1, err2;
    int64_t t0 = mono_ns();
    int n1 = fill(cap, &err1);
    int64_t t1 = mono_ns();
    printf("INFO max_threads=%d error=%s (cap %d, %lld ms)\n", n1,
           err1 ? strerrorname_np(err1) : "none", cap, (long long)(t1 - t0) / 1000000);
    if (err1)
        check(err1 == EAGAIN || err1 == ENOMEM, "tlimit_errno", "pthread_create failed with %s",
              strerrorname_np(err1));
    else if (is_velox() && argc <= 1)
        fail("tlimit_errno", "no failure within %d threads", cap);
    else
        printf("INFO cap of %d threads reached without a failure\n", cap);
    check(drain(n1, why, sizeof why), "tlimit_release", "%s", why);

    /* a joined thread may still be finishing its exit in the kernel (the
     * clear-child-tid wake comes before the final release): let it settle */
    sleep_ms(200);
    int n2 = fill(cap, &err2);
    int margin = n1 / 100 > 16 ? n1 / 100 : 16;
    printf("INFO second round: %d threads, error=%s\n", n2, err2 ? strerrorname_np(err2) : "none");
    int drained = drain(n2, why, sizeof why);
    check(n2 >= n1 - margin && drained, "tlimit_again",
          "second round %d threads (first %d, margin %d)%s%s", n2, n1, margin,
          drained ? "" : "; ", drained ? "" : why);

    /* create + join one at a time */
    int bad = 0;
    long before = 0;
    gate = 1;
    for (int i = 0; i < 2100 && !bad; i++) {
        if (i == 100)
            before = freeram();
        pthread_t t;
        void *ret = NULL;
        int r = pthread_create(&t, &attr, blocked_fn, (void *)(uintptr_t)(i + 7));
        if (r == 0)
            r = tjoin(t, &ret, 10000);
        if (r != 0 || ret != (void *)(uintptr_t)(i + 7)) {
            fail("tlimit_create_join_loop", "#%d: %s, value %p", i, strerror(r), ret);
            bad = 1;
        }
    }
    long after = freeram();
    if (!bad)
        pass("tlimit_create_join_loop");
    printf("INFO freeram_delta=%ld (before %ld, after %ld)\n", after - before, before, after);
    if (is_velox() && !bad)
        check(before > 0 && labs(after - before) <= 256 * 1024, "tlimit_no_leak",
              "freeram %ld -> %ld (%+ld bytes over 2000 create+join)", before, after,
              after - before);
    pthread_attr_destroy(&attr);
    free(th);
    return t_exit();
}
