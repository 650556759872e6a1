/* sync: glibc synchronisation objects under contention (8 threads each),
 * every shared counter checked exactly at the end.
 *   sync_mutex          - 8 threads x 20,000 increments under a pthread mutex
 *   sync_mutex_trylock  - trylock of a locked mutex -> EBUSY
 *   sync_mutex_errorcheck - relocking an ERRORCHECK mutex -> EDEADLK, unlocking it
 *                         from a thread that does not own it -> EPERM
 *   sync_mutex_recursive - a RECURSIVE mutex locks 3 times, needs 3 unlocks
 *                         (another thread's trylock is EBUSY until the last)
 *   sync_cond           - bounded buffer (8 slots), 4 producers x 5,000 items,
 *                         4 consumers x 5,000: every item consumed exactly once
 *   sync_cond_broadcast - 7 threads waiting on a condition all wake on one broadcast
 *   sync_cond_timedwait - pthread_cond_timedwait with nobody signalling ->
 *                         ETIMEDOUT after >= 30 ms
 *   sync_barrier        - 8 threads x 300 rounds of two barrier waits: in every
 *                         round all 8 increments are visible after the first,
 *                         exactly one PTHREAD_BARRIER_SERIAL_THREAD per wait
 *   sync_rwlock         - 2 writers x 10,000 updates of a pair under the write
 *                         lock, 6 readers x 5,000 read-locked checks: readers never
 *                         see a torn pair, final values exact
 *   sync_rwlock_shared  - two readers hold the lock together; trywrlock -> EBUSY
 *                         while read-locked, tryrdlock -> EBUSY while write-locked
 *   sync_sem_mutex      - sem_t initialised to 1 used as a lock: 8 x 10,000 increments
 *   sync_sem_count      - 4 posters x 5,000 sem_post, 4 waiters x 5,000 sem_wait,
 *                         final sem_getvalue 0
 *   sync_sem_trywait    - sem_trywait on 0 -> EAGAIN
 *   sync_sem_timedwait  - sem_timedwait on 0 -> ETIMEDOUT after >= 30 ms
 * Every join has a time limit, so a lost wakeup is a FAIL, not a hang. */
#include "thr.h"
#include <semaphore.h>
#include <stdlib.h>

#define NT 8
#define JOIN_MS 60000

static int join_all(pthread_t *th, int n, const char *name)
{
    int ok = 1;
    for (int i = 0; i < n; i++) {
        int r = tjoin(th[i], NULL, JOIN_MS);
        if (r != 0) {
            if (ok)
                fail(name, "thread %d not finished after %d s (%s)", i, JOIN_MS / 1000,
                     strerror(r));
            ok = 0;
        }
    }
    return ok;
}

static void start_all(pthread_t *th, int n, void *(*fn)(void *))
{
    for (int i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, fn, (void *)(uintptr_t)i) != 0) {
            printf("FAIL sync: pthread_create failed\n");
            exit(1);
        }
}

/* ---- mutex ---- */
#define MUTEX_ITERS 20000
static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static long mtx_counter;

static void *mutex_fn(void *arg)
{
    (void)arg;
    for (int i = 0; i < MUTEX_ITERS; i++) {
        pthread_mutex_lock(&mtx);
        long v = mtx_counter;
        if ((i & 255) == 0)
            sched_yield(); /* invite a switch inside the critical section */
        mtx_counter = v + 1;
        pthread_mutex_unlock(&mtx);
    }
    return NULL;
}

static volatile int other_result;

static void *trylock_fn(void *arg)
{
    other_result = pthread_mutex_trylock(arg);
    if (other_result == 0)
        pthread_mutex_unlock(arg);
    return NULL;
}

static void *unlock_other_fn(void *arg)
{
    other_result = pthread_mutex_unlock(arg);
    return NULL;
}

static int in_thread(void *(*fn)(void *), void *arg)
{
    pthread_t th;
    other_result = -1;
    pthread_create(&th, NULL, fn, arg);
    tjoin(th, NULL, 5000);
    return other_result;
}

static void test_mutex(void)
{
    pthread_t th[NT];
    start_all(th, NT, mutex_fn);
    if (join_all(th, NT, "sync_mutex"))
        check(mtx_counter == (long)NT * MUTEX_ITERS, "sync_mutex", "counter %ld, want %ld",
              mtx_counter, (long)NT * MUTEX_ITERS);

    pthread_mutex_lock(&mtx);
    int r = in_thread(trylock_fn, &mtx);
    pthread_mutex_unlock(&mtx);
    check(r == EBUSY, "sync_mutex_trylock", "trylock of a locked mutex = %d, want EBUSY", r);

    pthread_mutexattr_t a;
    pthread_mutex_t m;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&m, &a);
    pthread_mutex_lock(&m);
    int r1 = pthread_mutex_lock(&m);
    int r2 = in_thread(unlock_other_fn, &m);
    int r3 = pthread_mutex_unlock(&m);
    check(r1 == EDEADLK && r2 == EPERM && r3 == 0, "sync_mutex_errorcheck",
          "relock %d (want EDEADLK), foreign unlock %d (want EPERM), unlock %d", r1, r2, r3);
    pthread_mutex_destroy(&m);

    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&m, &a);
    int l1 = pthread_mutex_lock(&m), l2 = pthread_mutex_lock(&m), l3 = pthread_mutex_trylock(&m);
    pthread_mutex_unlock(&m);
    pthread_mutex_unlock(&m);
    int busy = in_thread(trylock_fn, &m);
    pthread_mutex_unlock(&m);
    int free_ = in_thread(trylock_fn, &m);
    check(l1 == 0 && l2 == 0 && l3 == 0 && busy == EBUSY && free_ == 0, "sync_mutex_recursive",
          "locks %d %d %d, other's trylock after 2 of 3 unlocks %d (want EBUSY), after 3 %d",
          l1, l2, l3, busy, free_);
    pthread_mutex_destroy(&m);
    pthread_mutexattr_destroy(&a);
}

/* ---- condition variable: bounded buffer ---- */
#define QCAP 8
#define ITEMS_PER 5000
#define NPROD 4
#define NCONS 4
#define NITEMS (NPROD * ITEMS_PER)
static pthread_mutex_t qm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static int queue[QCAP], qhead, qlen;
static unsigned char seen[NITEMS];
static long consumed_sum;

static void *producer(void *arg)
{
    int id = (int)(uintptr_t)arg;
    for (int i = 0; i < ITEMS_PER; i++) {
        pthread_mutex_lock(&qm);
        while (qlen == QCAP)
            pthread_cond_wait(&not_full, &qm);
        queue[(qhead + qlen) % QCAP] = id * ITEMS_PER + i;
        qlen++;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&qm);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (int i = 0; i < ITEMS_PER; i++) {
        pthread_mutex_lock(&qm);
        while (qlen == 0)
            pthread_cond_wait(&not_empty, &qm);
        int v = queue[qhead];
        qhead = (qhead + 1) % QCAP;
        qlen--;
        if (v >= 0 && v < NITEMS && seen[v] < 255)
            seen[v]++;
        consumed_sum += v;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&qm);
    }
    return NULL;
}

static pthread_cond_t bc = PTHREAD_COND_INITIALIZER;
static int bc_flag;
static volatile int bc_waiting, bc_woken;

static void *bc_fn(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&qm);
    bc_waiting++;
    while (!bc_flag)
        pthread_cond_wait(&bc, &qm);
    bc_woken++;
    pthread_mutex_unlock(&qm);
    return NULL;
}

static void test_cond(void)
{
    pthread_t th[NPROD + NCONS];
    for (int i = 0; i < NPROD; i++)
        pthread_create(&th[i], NULL, producer, (void *)(uintptr_t)i);
    for (int i = 0; i < NCONS; i++)
        pthread_create(&th[NPROD + i], NULL, consumer, NULL);
    if (join_all(th, NPROD + NCONS, "sync_cond")) {
        int once = 1;
        for (int i = 0; i < NITEMS; i++)
            once &= seen[i] == 1;
        long want = (long)NITEMS * (NITEMS - 1) / 2;
        check(once && consumed_sum == want && qlen == 0, "sync_cond",
              "items not consumed exactly once (sum %ld, want %ld, left %d)", consumed_sum, want,
              qlen);
    }

    /* broadcast: 7 waiters */
    pthread_t bt[NT - 1];
    for (int i = 0; i < NT - 1; i++)
        pthread_create(&bt[i], NULL, bc_fn, NULL);
    int64_t end = mono_ns() + 5000000000LL;
    for (;;) { /* all 7 inside pthread_cond_wait (they hold the mutex to count) */
        pthread_mutex_lock(&qm);
        int w = bc_waiting;
        pthread_mutex_unlock(&qm);
        if (w == NT - 1 || mono_ns() > end)
            break;
        sleep_ms(1);
    }
    pthread_mutex_lock(&qm);
    bc_flag = 1;
    pthread_cond_broadcast(&bc);
    pthread_mutex_unlock(&qm);
    if (join_all(bt, NT - 1, "sync_cond_broadcast"))
        check(bc_woken == NT - 1, "sync_cond_broadcast", "%d of %d woke", bc_woken, NT - 1);

    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    pthread_mutex_lock(&qm);
    int64_t t0 = now_ns(CLOCK_REALTIME);
    struct timespec dl = ns_to_ts(t0 + 30000000);
    int r = pthread_cond_timedwait(&c, &qm, &dl);
    int64_t el = now_ns(CLOCK_REALTIME) - t0;
    pthread_mutex_unlock(&qm);
    check(r == ETIMEDOUT && el >= 30000000 && el < 5000000000LL, "sync_cond_timedwait",
          "returned %d after %lld us (want ETIMEDOUT after >= 30 ms)", r, (long long)el / 1000);
}

/* ---- barrier ---- */
#define ROUNDS 300
static pthread_barrier_t bar;
static volatile int bar_count, bar_serial, bar_bad;

static void *barrier_fn(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        __atomic_add_fetch(&bar_count, 1, __ATOMIC_ACQ_REL);
        int s = pthread_barrier_wait(&bar);
        if (s == PTHREAD_BARRIER_SERIAL_THREAD)
            __atomic_add_fetch(&bar_serial, 1, __ATOMIC_ACQ_REL);
        else if (s != 0)
            bar_bad = 1000 + s;
        if (__atomic_load_n(&bar_count, __ATOMIC_ACQUIRE) != NT * (r + 1))
            bar_bad = 1;
        s = pthread_barrier_wait(&bar);
        if (s == PTHREAD_BARRIER_SERIAL_THREAD)
            __atomic_add_fetch(&bar_serial, 1, __ATOMIC_ACQ_REL);
    }
    return NULL;
}

static void test_barrier(void)
{
    pthread_t th[NT];
    pthread_barrier_init(&bar, NULL, NT);
    start_all(th, NT, barrier_fn);
    if (join_all(th, NT, "sync_barrier"))
        check(!bar_bad && bar_serial == 2 * ROUNDS && bar_count == NT * ROUNDS, "sync_barrier",
              "bad=%d (1: a thread passed before all arrived), serial %d (want %d), count %d",
              bar_bad, bar_serial, 2 * ROUNDS, bar_count);
    pthread_barrier_destroy(&bar);
}

/* ---- rwlock ---- */
#define NWRITERS 2
#define WRITES 10000
#define READS 5000
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static volatile long pair_a, pair_b;
static volatile int torn;
static long reads_done;

static void *rw_fn(void *arg)
{
    int id = (int)(uintptr_t)arg;
    if (id < NWRITERS) {
        for (int i = 0; i < WRITES; i++) {
            pthread_rwlock_wrlock(&rw);
            pair_a = pair_a + 1;
            if ((i & 127) == 0)
                sched_yield();
            pair_b = pair_b + 1;
            pthread_rwlock_unlock(&rw);
        }
    } else {
        for (int i = 0; i < READS; i++) {
            pthread_rwlock_rdlock(&rw);
            long a = pair_a;
            if ((i & 127) == 0)
                sched_yield();
            if (pair_b != a)
                torn = 1;
            pthread_rwlock_unlock(&rw);
            __atomic_add_fetch(&reads_done, 1, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

static volatile int tw_result, tr_result;
static void *tryrd_fn(void *arg)
{
    (void)arg;
    tr_result = pthread_rwlock_tryrdlock(&rw);
    if (tr_result == 0) {
        tw_result = pthread_rwlock_trywrlock(&rw); /* two readers now: still EBUSY */
        pthread_rwlock_unlock(&rw);
    }
    return NULL;
}

static void test_rwlock(void)
{
    pthread_t th[NT];
    start_all(th, NT, rw_fn);
    if (join_all(th, NT, "sync_rwlock"))
        check(!torn && pair_a == NWRITERS * WRITES && pair_b == NWRITERS * WRITES &&
              reads_done == (long)(NT - NWRITERS) * READS, "sync_rwlock",
              "torn=%d a=%ld b=%ld (want %d) reads=%ld", torn, pair_a, pair_b,
              NWRITERS * WRITES, reads_done);

    pthread_t t;
    pthread_rwlock_rdlock(&rw);
    tr_result = tw_result = -1;
    pthread_create(&t, NULL, tryrd_fn, NULL);
    tjoin(t, NULL, 5000);
    int rd2 = tr_result, wr_while_rd = tw_result;
    pthread_rwlock_unlock(&rw);
    pthread_rwlock_wrlock(&rw);
    tr_result = -1;
    pthread_create(&t, NULL, tryrd_fn, NULL);
    tjoin(t, NULL, 5000);
    int rd_while_wr = tr_result;
    pthread_rwlock_unlock(&rw);
    check(rd2 == 0 && wr_while_rd == EBUSY && rd_while_wr == EBUSY, "sync_rwlock_shared",
          "second reader %d (want 0), trywrlock with readers %d (want EBUSY), tryrdlock with "
          "writer %d (want EBUSY)", rd2, wr_while_rd, rd_while_wr);
}

/* ---- semaphores ---- */
#define SEM_ITERS 10000
static sem_t sem_lock, sem_items;
static long sem_counter;

static void *sem_lock_fn(void *arg)
{
    (void)arg;
    for (int i = 0; i < SEM_ITERS; i++) {
        sem_wait(&sem_lock);
        long v = sem_counter;
        if ((i & 255) == 0)
            sched_yield();
        sem_counter = v + 1;
        sem_post(&sem_lock);
    }
    return NULL;
}

static void *sem_count_fn(void *arg)
{
    int id = (int)(uintptr_t)arg;
    for (int i = 0; i < ITEMS_PER; i++) {
        if (id & 1)
            sem_post(&sem_items);
        else
            while (sem_wait(&sem_items) != 0)
                ;
    }
    return NULL;
}

static void test_sem(void)
{
    pthread_t th[NT];
    sem_init(&sem_lock, 0, 1);
    start_all(th, NT, sem_lock_fn);
    if (join_all(th, NT, "sync_sem_mutex"))
        check(sem_counter == (long)NT * SEM_ITERS, "sync_sem_mutex", "counter %ld, want %ld",
              sem_counter, (long)NT * SEM_ITERS);

    sem_init(&sem_items, 0, 0);
    start_all(th, NT, sem_count_fn);
    if (join_all(th, NT, "sync_sem_count")) {
        int v = -1;
        sem_getvalue(&sem_items, &v);
        check(v == 0, "sync_sem_count", "final value %d, want 0", v);
    }

    EXPECT_ERR("sync_sem_trywait", sem_trywait(&sem_items), EAGAIN);

    int64_t t0 = now_ns(CLOCK_REALTIME);
    struct timespec dl = ns_to_ts(t0 + 30000000);
    errno = 0;
    int r = sem_timedwait(&sem_items, &dl);
    int e = errno;
    int64_t el = now_ns(CLOCK_REALTIME) - t0;
    check(r == -1 && e == ETIMEDOUT && el >= 30000000 && el < 5000000000LL, "sync_sem_timedwait",
          "returned %d/%s after %lld us (want ETIMEDOUT after >= 30 ms)", r, strerrorname_np(e),
          (long long)el / 1000);
    sem_destroy(&sem_lock);
    sem_destroy(&sem_items);
}

int main(void)
{
    t_init();
    int64_t t0 = mono_ns();
    test_mutex();
    test_cond();
    test_barrier();
    test_rwlock();
    test_sem();
    printf("INFO sync elapsed_ms=%lld\n", (long long)(mono_ns() - t0) / 1000000);
    return t_exit();
}
