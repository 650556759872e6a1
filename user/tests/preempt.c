/* preempt: time slicing between CPU-bound threads, and the scheduling / sleep /
 * CPU-time system calls.
 *   preempt_both_run      - two threads spinning on their own counters (no system
 *                           calls, no yields) both advance while main sleeps
 *                           ~200 ms in 10 steps, in the first half...
 *   preempt_both_run_late - ...and again in the second half (nobody starves)
 *   preempt_main_wakes    - main's 10 x 20 ms of sleep end within 2 s although two
 *                           spinners want the CPU all the time
 *   sched_yield           - returns 0
 *   sched_getaffinity     - returns 0 and CPU 0 is in the mask, as many CPUs as
 *                           sysconf(_SC_NPROCESSORS_ONLN); "INFO cpus=<n>"
 *   nanosleep_20ms        - nanosleep(20 ms) returns 0 after >= 20 ms (< 2 s)
 *   nanosleep_einval      - tv_nsec = 1e9 -> EINVAL
 *   clock_nanosleep_abs   - clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, now + 30 ms)
 *                           returns 0 and the clock is then >= the deadline
 *   clock_nanosleep_abs_past - an absolute deadline in the past returns 0 at once
 *   clock_nanosleep_rel   - relative 20 ms on CLOCK_MONOTONIC: >= 20 ms
 *   clock_nanosleep_einval - bad tv_nsec -> returns EINVAL (error number, no errno)
 *   getrusage_utime       - getrusage(RUSAGE_SELF) user time grows after ~150 ms
 *                           of pure computation
 *   getrusage_thread      - getrusage(RUSAGE_THREAD) works, user time > 0
 *   times                 - times() does not fail, tms_utime grows after the
 *                           computation, the return value advances across a 50 ms sleep */
#include "thr.h"
#include <sys/resource.h>
#include <sys/times.h>

/* each counter on its own cache line */
static volatile unsigned long counters[2][8];
static volatile int stop;

static void *spinner(void *arg)
{
    volatile unsigned long *c = &counters[(uintptr_t)arg][0];
    while (!stop)
        (*c)++;
    return NULL;
}

static void test_preempt(void)
{
    pthread_t a, b;
    stop = 0;
    pthread_create(&a, NULL, spinner, (void *)0);
    pthread_create(&b, NULL, spinner, (void *)1);
    int64_t t0 = mono_ns();
    unsigned long mid[2] = { 0, 0 }, end[2];
    for (int i = 0; i < 10; i++) {
        sleep_ms(20);
        if (i == 4) {
            mid[0] = counters[0][0];
            mid[1] = counters[1][0];
        }
    }
    end[0] = counters[0][0];
    end[1] = counters[1][0];
    int64_t el = mono_ns() - t0;
    stop = 1;
    int ja = tjoin(a, NULL, 5000), jb = tjoin(b, NULL, 5000);
    printf("INFO preempt counters mid %lu %lu end %lu %lu, %lld ms\n", mid[0], mid[1], end[0],
           end[1], (long long)el / 1000000);
    check(mid[0] > 0 && mid[1] > 0, "preempt_both_run", "after ~100 ms: counters %lu %lu",
          mid[0], mid[1]);
    check(end[0] > mid[0] && end[1] > mid[1], "preempt_both_run_late",
          "second ~100 ms: counters %lu -> %lu, %lu -> %lu", mid[0], end[0], mid[1], end[1]);
    check(el >= 200000000 && el < 2000000000LL && ja == 0 && jb == 0, "preempt_main_wakes",
          "10 x 20 ms sleeps took %lld ms; joins %d %d", (long long)el / 1000000, ja, jb);
}

static void test_sched(void)
{
    check(sched_yield() == 0, "sched_yield", "sched_yield failed: %s", strerror(errno));
    cpu_set_t set;
    CPU_ZERO(&set);
    int r = sched_getaffinity(0, sizeof set, &set);
    int n = CPU_COUNT(&set);
    printf("INFO cpus=%d\n", n);
    check(r == 0 && CPU_ISSET(0, &set) && n == sysconf(_SC_NPROCESSORS_ONLN), "sched_getaffinity",
          "ret %d (%s), cpu0 %d, count %d", r, r ? strerror(errno) : "ok",
          CPU_ISSET(0, &set), n);
}

static void test_sleeps(void)
{
    struct timespec ts = { 0, 20000000 };
    int64_t t0 = mono_ns();
    int r = nanosleep(&ts, NULL);
    int64_t el = mono_ns() - t0;
    check(r == 0 && el >= 20000000 && el < 2000000000LL, "nanosleep_20ms",
          "ret %d, slept %lld us", r, (long long)el / 1000);
    struct timespec bad = { 0, 1000000000L };
    EXPECT_ERR("nanosleep_einval", nanosleep(&bad, NULL), EINVAL);

    int64_t dl = mono_ns() + 30000000;
    struct timespec abs = ns_to_ts(dl);
    t0 = mono_ns();
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL);
    int64_t now = mono_ns();
    check(r == 0 && now >= dl && now - t0 < 2000000000LL, "clock_nanosleep_abs",
          "ret %d, woke %lld us %s the deadline", r,
          (long long)(now >= dl ? now - dl : dl - now) / 1000, now >= dl ? "after" : "BEFORE");

    abs = ns_to_ts(mono_ns() / 2); /* in the past, >= 0 even right after boot */
    t0 = mono_ns();
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL);
    el = mono_ns() - t0;
    check(r == 0 && el < 100000000, "clock_nanosleep_abs_past", "ret %d after %lld us", r,
          (long long)el / 1000);

    t0 = mono_ns();
    r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
    el = mono_ns() - t0;
    check(r == 0 && el >= 20000000 && el < 2000000000LL, "clock_nanosleep_rel",
          "ret %d, slept %lld us", r, (long long)el / 1000);
    r = clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL);
    check(r == EINVAL, "clock_nanosleep_einval", "returned %d, want EINVAL (%d)", r, EINVAL);
}

/* pure computation, no system calls inside a chunk */
static volatile uint64_t sink;
static void compute_ms(long ms)
{
    int64_t end = mono_ns() + ms * 1000000LL;
    uint64_t x = 88172645463325252ULL;
    while (mono_ns() < end) {
        for (int i = 0; i < 200000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        sink = x;
    }
}

static long tv_us(struct timeval tv) { return tv.tv_sec * 1000000L + tv.tv_usec; }

static void test_cputime(void)
{
    struct rusage r0, r1, rt;
    struct tms m0, m1;
    int g0 = getrusage(RUSAGE_SELF, &r0);
    clock_t c0 = times(&m0);
    compute_ms(150);
    int g1 = getrusage(RUSAGE_SELF, &r1);
    clock_t c1 = times(&m1);
    int gt = getrusage(RUSAGE_THREAD, &rt);
    long du = tv_us(r1.ru_utime) - tv_us(r0.ru_utime);
    printf("INFO rusage utime +%ld us, stime %ld us; times utime +%ld ticks (CLK_TCK %ld)\n", du,
           tv_us(r1.ru_stime), (long)(m1.tms_utime - m0.tms_utime), sysconf(_SC_CLK_TCK));
    check(g0 == 0 && g1 == 0 && du > 0, "getrusage_utime", "getrusage %d %d, utime grew by %ld us",
          g0, g1, du);
    check(gt == 0 && tv_us(rt.ru_utime) > 0, "getrusage_thread",
          "RUSAGE_THREAD ret %d, utime %ld us", gt, tv_us(rt.ru_utime));

    sleep_ms(50);
    struct tms m2;
    clock_t c2 = times(&m2);
    long hz = sysconf(_SC_CLK_TCK);
    check(c0 != (clock_t)-1 && c1 != (clock_t)-1 && c2 != (clock_t)-1 &&
          m1.tms_utime > m0.tms_utime && c2 - c1 >= hz * 40 / 1000 && c2 - c1 < hz * 5,
          "times", "returns %ld %ld %ld, utime %ld -> %ld ticks", (long)c0, (long)c1, (long)c2,
          (long)m0.tms_utime, (long)m1.tms_utime);
}

int main(void)
{
    t_init();
    test_preempt();
    test_sched();
    test_sleeps();
    test_cputime();
    return t_exit();
}
