/* robust: robust mutexes (PTHREAD_MUTEX_ROBUST), i.e. the kernel's walk of
 * the robust list (set_robust_list) when a thread exits holding a lock.
 *   robust_init           - pthread_mutex_init with a robust attribute succeeds
 *   robust_owner_dead     - a thread locks and returns without unlocking: main's
 *                           pthread_mutex_lock returns EOWNERDEAD;
 *                           pthread_mutex_consistent, unlock, lock, unlock all 0
 *   robust_raw_exit       - the same when the owner ends with a raw SYS_exit
 *                           (glibc's exit path bypassed: only the kernel can do it)
 *   robust_list_three     - an owner dying with 3 robust mutexes locked: each
 *                           one gives EOWNERDEAD
 *   robust_not_recoverable - unlocking an EOWNERDEAD mutex without
 *                           pthread_mutex_consistent makes it unusable: lock and
 *                           trylock -> ENOTRECOVERABLE
 *   robust_blocked_timedlock - main is already blocked in pthread_mutex_timedlock
 *                           (FUTEX_WAITERS set in the lock word) when the owner
 *                           exits: it gets EOWNERDEAD well before its deadline
 *   robust_blocked_lock   - the same with pthread_mutex_lock (a watchdog thread
 *                           turns a hang into a FAIL + exit status 1)
 *   robust_two_waiters    - two threads blocked when the owner dies: one gets
 *                           EOWNERDEAD, makes it consistent and unlocks, the
 *                           other then gets the lock normally (0) */
#include "thr.h"
#include <stdlib.h>

#define FUTEX_WAITERS_BIT 0x80000000u

static pthread_mutexattr_t rattr;

static int init_robust(pthread_mutex_t *m)
{
    return pthread_mutex_init(m, &rattr);
}

static volatile uint32_t *lockword(pthread_mutex_t *m)
{
    return (volatile uint32_t *)&m->__data.__lock;
}

/* ---- owner threads ---- */
struct owner {
    pthread_mutex_t *m[3];
    int n;
    int raw_exit;           /* end with syscall(SYS_exit) instead of returning */
    int wait_for_waiters;   /* stay until the lock word shows FUTEX_WAITERS */
    volatile int locked;
    int lock_err;
};

static void *owner_fn(void *arg)
{
    struct owner *o = arg;
    for (int i = 0; i < o->n; i++) {
        int r = pthread_mutex_lock(o->m[i]);
        if (r != 0)
            o->lock_err = r;
    }
    __atomic_store_n(&o->locked, 1, __ATOMIC_RELEASE);
    if (o->wait_for_waiters) {
        int64_t end = mono_ns() + 5000000000LL;
        while (!(*lockword(o->m[0]) & FUTEX_WAITERS_BIT) && mono_ns() < end)
            sleep_ms(1);
        sleep_ms(20); /* the waiter sets the bit just before FUTEX_WAIT */
    }
    if (o->raw_exit)
        syscall(SYS_exit, 0);
    return NULL;
}

static int run_owner(struct owner *o, pthread_t *th, int join)
{
    o->locked = 0;
    o->lock_err = 0;
    if (pthread_create(th, NULL, owner_fn, o) != 0)
        return 0;
    if (!join)
        return wait_atleast(&o->locked, 1, 5000);
    return tjoin(*th, NULL, 5000) == 0 && o->locked && o->lock_err == 0;
}

/* ---- watchdog ---- */
static int64_t wd_deadline; /* CLOCK_MONOTONIC ns, 0 = disarmed */
static const char *wd_name;

static void *watchdog_fn(void *arg)
{
    (void)arg;
    for (;;) {
        sleep_ms(50);
        int64_t dl = __atomic_load_n(&wd_deadline, __ATOMIC_ACQUIRE);
        if (dl != 0 && mono_ns() > dl) {
            printf("FAIL %s: still blocked after 10 s (owner death not noticed)\n", wd_name);
            _exit(1);
        }
    }
    return NULL;
}

static void arm(const char *name)
{
    wd_name = name;
    __atomic_store_n(&wd_deadline, mono_ns() + 10000000000LL, __ATOMIC_RELEASE);
}

static void disarm(void) { __atomic_store_n(&wd_deadline, 0, __ATOMIC_RELEASE); }

/* ---- tests ---- */
static void test_basic(void)
{
    pthread_mutex_t m;
    struct owner o = { .n = 1 };
    pthread_t th;
    int r = init_robust(&m);
    check(r == 0, "robust_init", "pthread_mutex_init(robust) = %s", strerror(r));
    if (r != 0)
        return;
    o.m[0] = &m;
    if (!run_owner(&o, &th, 1)) {
        fail("robust_owner_dead", "owner thread did not lock and exit");
        return;
    }
    arm("robust_owner_dead");
    int l1 = pthread_mutex_lock(&m);
    disarm();
    int c = l1 == EOWNERDEAD ? pthread_mutex_consistent(&m) : -1;
    int u1 = pthread_mutex_unlock(&m);
    int l2 = pthread_mutex_lock(&m);
    int u2 = pthread_mutex_unlock(&m);
    check(l1 == EOWNERDEAD && c == 0 && u1 == 0 && l2 == 0 && u2 == 0, "robust_owner_dead",
          "lock %s (want EOWNERDEAD), consistent %d, unlock %d, lock %d, unlock %d",
          strerrorname_np(l1), c, u1, l2, u2);
    pthread_mutex_destroy(&m);
}

static void test_raw_exit(void)
{
    pthread_mutex_t m;
    struct owner o = { .n = 1, .raw_exit = 1 };
    pthread_t th;
    init_robust(&m);
    o.m[0] = &m;
    if (!run_owner(&o, &th, 1)) {
        fail("robust_raw_exit", "owner thread did not lock and exit");
        return;
    }
    arm("robust_raw_exit");
    int l1 = pthread_mutex_lock(&m);
    disarm();
    int c = l1 == EOWNERDEAD ? pthread_mutex_consistent(&m) : -1;
    int u1 = pthread_mutex_unlock(&m);
    check(l1 == EOWNERDEAD && c == 0 && u1 == 0, "robust_raw_exit",
          "lock %s (want EOWNERDEAD), consistent %d, unlock %d", strerrorname_np(l1), c, u1);
}

static void test_three(void)
{
    pthread_mutex_t m[3];
    struct owner o = { .n = 3 };
    pthread_t th;
    for (int i = 0; i < 3; i++) {
        init_robust(&m[i]);
        o.m[i] = &m[i];
    }
    if (!run_owner(&o, &th, 1)) {
        fail("robust_list_three", "owner thread did not lock and exit");
        return;
    }
    int l[3];
    arm("robust_list_three");
    for (int i = 0; i < 3; i++) {
        l[i] = pthread_mutex_lock(&m[i]);
        if (l[i] == EOWNERDEAD)
            pthread_mutex_consistent(&m[i]);
        pthread_mutex_unlock(&m[i]);
    }
    disarm();
    check(l[0] == EOWNERDEAD && l[1] == EOWNERDEAD && l[2] == EOWNERDEAD, "robust_list_three",
          "locks %s %s %s (want EOWNERDEAD x3)", strerrorname_np(l[0]), strerrorname_np(l[1]),
          strerrorname_np(l[2]));
}

static void test_not_recoverable(void)
{
    pthread_mutex_t m;
    struct owner o = { .n = 1 };
    pthread_t th;
    init_robust(&m);
    o.m[0] = &m;
    if (!run_owner(&o, &th, 1)) {
        fail("robust_not_recoverable", "owner thread did not lock and exit");
        return;
    }
    arm("robust_not_recoverable");
    int l1 = pthread_mutex_lock(&m);
    int u1 = pthread_mutex_unlock(&m); /* no pthread_mutex_consistent */
    int l2 = pthread_mutex_lock(&m);
    int t2 = pthread_mutex_trylock(&m);
    disarm();
    check(l1 == EOWNERDEAD && u1 == 0 && l2 == ENOTRECOVERABLE && t2 == ENOTRECOVERABLE,
          "robust_not_recoverable", "lock %s, unlock %d, lock %s, trylock %s (want EOWNERDEAD, "
          "0, ENOTRECOVERABLE, ENOTRECOVERABLE)", strerrorname_np(l1), u1, strerrorname_np(l2),
          strerrorname_np(t2));
}

static void test_blocked(int timed)
{
    const char *name = timed ? "robust_blocked_timedlock" : "robust_blocked_lock";
    pthread_mutex_t m;
    struct owner o = { .n = 1, .wait_for_waiters = 1 };
    pthread_t th;
    init_robust(&m);
    o.m[0] = &m;
    if (!run_owner(&o, &th, 0)) {
        fail(name, "owner thread did not lock");
        return;
    }
    int64_t t0 = mono_ns();
    int l1;
    if (timed) {
        struct timespec dl = ns_to_ts(now_ns(CLOCK_REALTIME) + 10000000000LL);
        l1 = pthread_mutex_timedlock(&m, &dl);
    } else {
        arm(name);
        l1 = pthread_mutex_lock(&m);
        disarm();
    }
    int64_t ms = (mono_ns() - t0) / 1000000;
    int c = l1 == EOWNERDEAD ? pthread_mutex_consistent(&m) : -1;
    int u1 = pthread_mutex_unlock(&m);
    int j = tjoin(th, NULL, 5000);
    check(l1 == EOWNERDEAD && c == 0 && u1 == 0 && j == 0 && ms < 5000, name,
          "lock %s after %lld ms (want EOWNERDEAD), consistent %d, unlock %d, join %d",
          strerrorname_np(l1), (long long)ms, c, u1, j);
}

/* two waiters */
static pthread_mutex_t m2;
static volatile int second_result = -1;

static void *second_waiter(void *arg)
{
    (void)arg;
    int r = pthread_mutex_lock(&m2);
    if (r == EOWNERDEAD)
        pthread_mutex_consistent(&m2);
    second_result = r;
    if (r == 0 || r == EOWNERDEAD)
        pthread_mutex_unlock(&m2);
    return NULL;
}

static void test_two_waiters(void)
{
    struct owner o = { .n = 1, .wait_for_waiters = 1 };
    pthread_t th, w2;
    init_robust(&m2);
    o.m[0] = &m2;
    if (!run_owner(&o, &th, 0)) {
        fail("robust_two_waiters", "owner thread did not lock");
        return;
    }
    pthread_create(&w2, NULL, second_waiter, NULL);
    sleep_ms(20);
    arm("robust_two_waiters");
    int r = pthread_mutex_lock(&m2);
    disarm();
    if (r == EOWNERDEAD)
        pthread_mutex_consistent(&m2);
    if (r == 0 || r == EOWNERDEAD)
        pthread_mutex_unlock(&m2);
    int j = tjoin(w2, NULL, 5000);
    tjoin(th, NULL, 5000);
    int dead = (r == EOWNERDEAD) + (second_result == EOWNERDEAD);
    int zero = (r == 0) + (second_result == 0);
    check(j == 0 && dead == 1 && zero == 1, "robust_two_waiters",
          "main got %s, other waiter %s (join %d); want one EOWNERDEAD and one 0",
          strerrorname_np(r), second_result < 0 ? "nothing" : strerrorname_np(second_result), j);
}

int main(void)
{
    t_init();
    pthread_t wd;
    pthread_create(&wd, NULL, watchdog_fn, NULL);
    pthread_mutexattr_init(&rattr);
    int r = pthread_mutexattr_setrobust(&rattr, PTHREAD_MUTEX_ROBUST);
    if (r != 0) {
        fail("robust_init", "pthread_mutexattr_setrobust: %s", strerror(r));
        return t_exit();
    }
    /* glibc registered the main thread's list head at startup */
    void *head = NULL;
    size_t len = 0;
    errno = 0;
    long g = syscall(SYS_get_robust_list, 0, &head, &len);
    check(g == 0 && head != NULL && len == 3 * sizeof(void *), "robust_get_list",
          "get_robust_list = %ld (%s), head %p, len %zu (want 0, non-NULL, %zu)", g,
          strerrorname_np(errno), head, len, 3 * sizeof(void *));
    pthread_mutex_t probe;
    if (init_robust(&probe) != 0) {
        fail("robust_init", "pthread_mutex_init(robust) fails: nothing else can run");
        return t_exit();
    }
    pthread_mutex_destroy(&probe);
    test_basic();
    test_three();
    test_not_recoverable();
    test_blocked(1);
    test_blocked(0);
    test_two_waiters();
    test_raw_exit(); /* last: if the kernel ignores the robust list it ends the run */
    return t_exit();
}
