/* texit MODE: how threads end and how a multi-threaded process ends.
 * The exit status is part of the test (tests/user-tests.txt gives it).
 *   pause  - threads blocked in pause(), in FUTEX_WAIT and spinning on the CPU;
 *            main calls exit(7): the whole process ends with status 7.
 *            Line: texit_pause_setup (all three threads started).
 *   thread - main is blocked in pthread_join of a thread that calls exit(9):
 *            the process ends with status 9 (main never returns from the join;
 *            if it does: FAIL texit_thread_join_returned, status 1).
 *            Line: texit_thread_setup.
 *   group  - a thread ends with the raw SYS_exit (only that thread ends):
 *            texit_group_join (pthread_join of it returns 0 promptly, which needs
 *            the kernel's clear-child-tid + futex wake), texit_group_alive (main
 *            and another thread blocked on a futex carry on: the other is woken
 *            and joined, returning its value); status 0.
 *   leader - the main thread ends with the raw SYS_exit while another thread
 *            lives on; that thread sees main's tid cleared (pthread_join of the
 *            main thread returns: texit_leader_join) and calls exit(11):
 *            status 11. */
#include "thr.h"
#include <limits.h>
#include <stdlib.h>

static volatile int started;
static volatile uint32_t word;

static void *pause_fn(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_ACQ_REL);
    for (;;)
        pause();
    return NULL;
}

static void *futex_fn(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_ACQ_REL);
    while (word == 0)
        futex_wait(&word, 0);
    return (void *)5;
}

static void *spin_fn(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_ACQ_REL);
    for (volatile unsigned long i = 0;; i++)
        ;
    return NULL;
}

static int mode_pause(void)
{
    pthread_t a, b, c;
    pthread_create(&a, NULL, pause_fn, NULL);
    pthread_create(&b, NULL, futex_fn, NULL);
    pthread_create(&c, NULL, spin_fn, NULL);
    int ok = wait_atleast(&started, 3, 5000);
    sleep_ms(50); /* let them block */
    check(ok, "texit_pause_setup", "only %d of 3 threads started", started);
    exit(ok ? 7 : 1);
}

static void *exit9_fn(void *arg)
{
    (void)arg;
    sleep_ms(50); /* main is in pthread_join by now */
    exit(9);
}

static int mode_thread(void)
{
    pthread_t th;
    int r = pthread_create(&th, NULL, exit9_fn, NULL);
    check(r == 0, "texit_thread_setup", "pthread_create: %s", strerror(r));
    if (r != 0)
        return 1;
    r = tjoin(th, NULL, 10000);
    fail("texit_thread_join_returned", "pthread_join returned %s instead of the process "
         "ending with status 9", strerror(r));
    return 1;
}

static void *raw_exit_fn(void *arg)
{
    (void)arg;
    syscall(SYS_exit, 0);
    return (void *)1; /* not reached */
}

static int mode_group(void)
{
    pthread_t x, y;
    word = 0;
    pthread_create(&y, NULL, futex_fn, NULL);
    pthread_create(&x, NULL, raw_exit_fn, NULL);
    int64_t t0 = mono_ns();
    int r = tjoin(x, NULL, 5000);
    int64_t ms = (mono_ns() - t0) / 1000000;
    check(r == 0 && ms < 2000, "texit_group_join", "join of a SYS_exit thread: %s after %lld ms",
          strerror(r), (long long)ms);

    wait_atleast(&started, 1, 5000);
    sleep_ms(20);
    __atomic_store_n(&word, 1, __ATOMIC_RELEASE);
    futex_wake(&word, INT_MAX);
    void *ret = NULL;
    r = tjoin(y, &ret, 5000);
    check(r == 0 && ret == (void *)5, "texit_group_alive", "join of the futex thread: %s, "
          "value %p (want 0x5)", strerror(r), ret);
    return t_exit();
}

static pthread_t main_th;

static void *leader_fn(void *arg)
{
    (void)arg;
    int r = tjoin(main_th, NULL, 5000);
    check(r == 0, "texit_leader_join", "join of the exited main thread: %s", strerror(r));
    exit(r == 0 ? 11 : 1);
}

static int mode_leader(void)
{
    pthread_t th;
    main_th = pthread_self();
    if (pthread_create(&th, NULL, leader_fn, NULL) != 0) {
        fail("texit_leader_join", "pthread_create failed");
        return 1;
    }
    syscall(SYS_exit, 0);
    fail("texit_leader_join", "SYS_exit returned");
    return 1;
}

int main(int argc, char **argv)
{
    t_init();
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "pause"))
        return mode_pause();
    if (!strcmp(m, "thread"))
        return mode_thread();
    if (!strcmp(m, "group"))
        return mode_group();
    if (!strcmp(m, "leader"))
        return mode_leader();
    fail("texit_usage", "usage: texit pause|thread|group|leader (got '%s')", m);
    return 2;
}
