/* Helpers shared by the thread / futex tests (threads, sync, futex, robust,
 * preempt, texit, clone, tlimits): raw futex, monotonic time, "are we on
 * Velox", a pthread_join with a time limit (so a kernel bug shows up as a
 * FAIL line instead of a hang) and a few small waits. */
#ifndef VELOX_THR_H
#define VELOX_THR_H
#include "t.h"
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* the raw system call: returns -1 and sets errno on failure */
static __attribute__((unused)) long futex(void *uaddr, int op, uint32_t val,
                                          const void *timeout_or_val2,
                                          void *uaddr2, uint32_t val3)
{
    return syscall(SYS_futex, uaddr, op, val, timeout_or_val2, uaddr2, val3);
}

static __attribute__((unused)) long futex_wait(volatile uint32_t *w, uint32_t val)
{
    return futex((void *)w, FUTEX_WAIT, val, NULL, NULL, 0);
}

static __attribute__((unused)) long futex_wake(volatile uint32_t *w, int n)
{
    return futex((void *)w, FUTEX_WAKE, (uint32_t)n, NULL, NULL, 0);
}

static __attribute__((unused)) int64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static __attribute__((unused)) int64_t mono_ns(void) { return now_ns(CLOCK_MONOTONIC); }

static __attribute__((unused)) struct timespec ns_to_ts(int64_t ns)
{
    struct timespec ts = { .tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL };
    return ts;
}

static __attribute__((unused)) void sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* 1 when running on Velox (uname().release contains "velox") */
static __attribute__((unused)) int is_velox(void)
{
    struct utsname u;
    if (uname(&u) != 0)
        return 0;
    return strstr(u.release, "velox") != NULL;
}

/* pthread_join that gives up after ms milliseconds (returns ETIMEDOUT; the
 * thread is then left alone).  Uses pthread_timedjoin_np, whose wait is the
 * same clear-child-tid futex wait as pthread_join, but with a deadline. */
static __attribute__((unused)) int tjoin(pthread_t th, void **ret, long ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    int64_t ns = (int64_t)dl.tv_sec * 1000000000LL + dl.tv_nsec + (int64_t)ms * 1000000LL;
    dl = ns_to_ts(ns);
    return pthread_timedjoin_np(th, ret, &dl);
}

/* Wait (sleeping 1 ms per poll) until *p >= want or ms milliseconds pass.
 * Returns 1 when reached. */
static __attribute__((unused)) int wait_atleast(volatile int *p, int want, long ms)
{
    int64_t end = mono_ns() + ms * 1000000LL;
    while (__atomic_load_n(p, __ATOMIC_ACQUIRE) < want) {
        if (mono_ns() > end)
            return 0;
        sleep_ms(1);
    }
    return 1;
}

#endif
