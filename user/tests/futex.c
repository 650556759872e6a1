/* futex: the raw futex(2) system call (no glibc synchronisation involved,
 * pthread is only used to get more threads).  Waiters are known to be blocked
 * by moving them with FUTEX_CMP_REQUEUE(nr_wake=0) until the count is right.
 *   futex_wait_eagain[_private] - FUTEX_WAIT with *uaddr != val -> EAGAIN
 *   futex_wake_none          - FUTEX_WAKE(_PRIVATE) with no waiter returns 0
 *   futex_wait_wake          - a thread blocked in FUTEX_WAIT is woken by FUTEX_WAKE,
 *                              which returns 1; the waiter's FUTEX_WAIT returns 0
 *   futex_wait_wake_private  - the same with FUTEX_WAIT_PRIVATE / FUTEX_WAKE_PRIVATE
 *   futex_pingpong           - two threads alternate 1000 times through one futex
 *                              word (lost-wakeup check); INFO with the time taken
 *   futex_wake_count         - 3 waiters: FUTEX_WAKE(2) returns 2, then (INT_MAX) 1, then 0
 *   futex_requeue            - 3 waiters: FUTEX_REQUEUE(nr_wake=1, nr_requeue=1)
 *                              returns 2 (woken + requeued); 1 waiter is left on
 *                              each of the two words
 *   futex_cmp_requeue_eagain - FUTEX_CMP_REQUEUE with val3 != *uaddr -> EAGAIN
 *   futex_cmp_requeue        - 3 waiters: CMP_REQUEUE(1, INT_MAX) returns 3, the
 *                              old word has 0 waiters left, the new one 2
 *   futex_cmp_requeue_limit  - nr_wake=0, nr_requeue=2 of 3 waiters returns 2
 *   futex_requeue_negative   - nr_wake or nr_requeue negative -> EINVAL
 *   futex_wake_op_{add,set,or_shift,andn,xor,negative_oparg} - FUTEX_WAKE_OP with
 *                              no waiters: returns 0, *uaddr2 updated (OPARG_SHIFT,
 *                              oparg sign-extended from 12 bits)
 *   futex_wake_op_bad_op     - unknown operation -> ENOSYS, *uaddr2 unchanged
 *   futex_wake_op_cmp_true   - one waiter on each word, comparison true: returns 2
 *   futex_wake_op_cmp_false  - comparison false: only the uaddr waiter is woken (1)
 *   futex_bitset_zero_{wait,wake} - WAIT_BITSET / WAKE_BITSET with bitset 0 -> EINVAL
 *   futex_bitset_nomatch     - a wake with a non-overlapping bitset wakes nobody
 *   futex_bitset_match       - an overlapping one wakes the waiter (returns 1)
 *   futex_timeout_rel        - relative 50 ms FUTEX_WAIT -> ETIMEDOUT after >= 50 ms
 *                              (all timeouts: < 2 s); _rel_private: 30 ms, PRIVATE;
 *                              _zero: {0,0} times out at once
 *   futex_timeout_abs_{monotonic,realtime,past} - FUTEX_WAIT_BITSET absolute
 *                              deadline on CLOCK_MONOTONIC / with FUTEX_CLOCK_REALTIME:
 *                              ETIMEDOUT and the clock is past the deadline; a
 *                              deadline in the past times out at once
 *   futex_bad_op             - unknown op -> ENOSYS
 *   futex_bad_op_wake_realtime - FUTEX_WAKE|FUTEX_CLOCK_REALTIME -> ENOSYS
 *   futex_bad_timespec_{nsec_big,nsec_neg,sec_neg} - tv_nsec >= 1e9, tv_nsec < 0,
 *                              tv_sec < 0 -> EINVAL
 *   futex_unaligned_{wait,wake} - uaddr not 4-byte aligned -> EINVAL
 *   futex_efault_{wait,wait_private,wake_shared,cmp_requeue} - unmapped uaddr -> EFAULT
 *   futex_efault_timeout     - unmapped timeout pointer -> EFAULT
 *   futex_efault_wake_op     - FUTEX_WAKE_OP with an unmapped uaddr2 -> EFAULT
 *   futex_efault_kernel_addr - a kernel-half address -> EFAULT
 * Every wait has a time limit: a kernel bug gives a FAIL line, not a hang. */
#include "thr.h"
#include <limits.h>
#include <sys/mman.h>

#define NOWAIT_MS 2000 /* give up on anything that should happen "now" */

struct waiter {
    volatile uint32_t *w;
    int op;
    uint32_t val;
    uint32_t bitset;
    volatile int started;
    volatile int done;
    long ret;
    int err;
    pthread_t th;
};

static void *waiter_fn(void *p)
{
    struct waiter *x = p;
    __atomic_store_n(&x->started, 1, __ATOMIC_RELEASE);
    errno = 0;
    x->ret = futex((void *)x->w, x->op, x->val, NULL, NULL, x->bitset);
    x->err = errno;
    __atomic_store_n(&x->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int start_waiters(struct waiter *ws, int n, volatile uint32_t *w, int op,
                         uint32_t val, uint32_t bitset)
{
    for (int i = 0; i < n; i++) {
        memset(&ws[i], 0, sizeof ws[i]);
        ws[i].w = w;
        ws[i].op = op;
        ws[i].val = val;
        ws[i].bitset = bitset;
        if (pthread_create(&ws[i].th, NULL, waiter_fn, &ws[i]) != 0)
            return 0;
    }
    for (int i = 0; i < n; i++)
        if (!wait_atleast(&ws[i].started, 1, NOWAIT_MS))
            return 0;
    return 1;
}

/* Join the waiters; every FUTEX_WAIT must have returned 0.  Returns 1 when
 * all is well, otherwise describes the first problem in why. */
static int finish_waiters(struct waiter *ws, int n, char *why, size_t len)
{
    int ok = 1;
    for (int i = 0; i < n; i++) {
        int r = tjoin(ws[i].th, NULL, NOWAIT_MS);
        if (r != 0) {
            if (ok)
                snprintf(why, len, "waiter %d still blocked (join: %s)", i, strerror(r));
            ok = 0;
        } else if (ws[i].ret != 0) {
            if (ok)
                snprintf(why, len, "waiter %d: FUTEX_WAIT returned %ld errno %s", i,
                         ws[i].ret, strerrorname_np(ws[i].err));
            ok = 0;
        }
    }
    return ok;
}

/* Move every waiter blocked on `from` (whose value is fromval) to `to` with
 * FUTEX_CMP_REQUEUE(nr_wake=0) until n have been moved: afterwards exactly n
 * threads are known to be blocked on `to`.  Returns the number moved. */
static int gather(volatile uint32_t *from, uint32_t fromval, volatile uint32_t *to, int n)
{
    int got = 0;
    int64_t end = mono_ns() + NOWAIT_MS * 1000000LL;
    while (got < n && mono_ns() < end) {
        long r = futex((void *)from, FUTEX_CMP_REQUEUE, 0, (void *)(uintptr_t)INT_MAX,
                       (void *)to, fromval);
        if (r < 0)
            return got;
        got += (int)r;
        if (got < n)
            sleep_ms(1);
    }
    return got;
}

/* Retry a wake (op with nr 1) until it reports having woken someone, for at
 * most NOWAIT_MS.  Returns the first positive count (or the last result). */
static long wake_until(volatile uint32_t *w, int op, uint32_t bitset)
{
    long r = 0;
    int64_t end = mono_ns() + NOWAIT_MS * 1000000LL;
    while (mono_ns() < end) {
        r = futex((void *)w, op, 1, NULL, NULL, bitset);
        if (r != 0)
            return r;
        sleep_ms(1);
    }
    return r;
}

static void unblock(volatile uint32_t *w)
{
    *w = 0x7fffffff;
    futex_wake(w, INT_MAX);
    futex((void *)w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static volatile uint32_t W, P, Q, A, B;

static void test_simple(void)
{
    W = 1;
    EXPECT_ERR("futex_wait_eagain", futex_wait(&W, 0), EAGAIN);
    EXPECT_ERR("futex_wait_eagain_private",
               futex((void *)&W, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0), EAGAIN);
    long r1 = futex_wake(&W, 1);
    long r2 = futex((void *)&W, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    check(r1 == 0 && r2 == 0, "futex_wake_none", "FUTEX_WAKE=%ld, FUTEX_WAKE_PRIVATE=%ld", r1, r2);
}

static void test_wait_wake(const char *name, int wait_op, int wake_op)
{
    struct waiter w1;
    char why[200] = "";
    W = 0;
    if (!start_waiters(&w1, 1, &W, wait_op, 0, 0)) {
        fail(name, "could not start the waiter");
        return;
    }
    long r = wake_until(&W, wake_op, 0);
    int fin = finish_waiters(&w1, 1, why, sizeof why);
    if (r != 1)
        fail(name, "wake returned %ld (want 1)%s", r, r == 0 ? " for 2 s" : "");
    else if (!fin)
        fail(name, "%s", why);
    else
        pass(name);
    unblock(&W);
}

/* two threads take turns: each waits for *turn == me, increments the
 * shared count and hands over */
#define PINGPONG_ROUNDS 1000
static volatile uint32_t turn;
static volatile int pp_count, pp_bad;

static void *pingpong_fn(void *arg)
{
    uint32_t me = (uint32_t)(uintptr_t)arg;
    for (int i = 0; i < PINGPONG_ROUNDS; i++) {
        int64_t end = mono_ns() + 5000000000LL;
        uint32_t t;
        while ((t = __atomic_load_n(&turn, __ATOMIC_ACQUIRE)) != me) {
            struct timespec ts = { 0, 100000000 };
            futex((void *)&turn, FUTEX_WAIT_PRIVATE, t, &ts, NULL, 0);
            if (mono_ns() > end) {
                pp_bad = 1;
                return NULL;
            }
        }
        pp_count++;
        __atomic_store_n(&turn, 1 - me, __ATOMIC_RELEASE);
        futex((void *)&turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    return NULL;
}

static void test_pingpong(void)
{
    pthread_t a, b;
    turn = 0;
    pp_count = 0;
    pp_bad = 0;
    int64_t t0 = mono_ns();
    pthread_create(&a, NULL, pingpong_fn, (void *)0);
    pthread_create(&b, NULL, pingpong_fn, (void *)1);
    int ja = tjoin(a, NULL, 15000), jb = tjoin(b, NULL, 15000);
    int64_t ms = (mono_ns() - t0) / 1000000;
    check(ja == 0 && jb == 0 && !pp_bad && pp_count == 2 * PINGPONG_ROUNDS, "futex_pingpong",
          "joins %d/%d, stuck=%d, count %d (want %d)", ja, jb, pp_bad, pp_count,
          2 * PINGPONG_ROUNDS);
    printf("INFO futex_pingpong %d round trips in %lld ms\n", PINGPONG_ROUNDS, (long long)ms);
}

static void test_wake_count(void)
{
    struct waiter ws[3];
    char why[200] = "";
    W = 0;
    P = 0;
    if (!start_waiters(ws, 3, &W, FUTEX_WAIT, 0, 0) || gather(&W, 0, &P, 3) != 3) {
        fail("futex_wake_count", "could not get 3 waiters blocked (needs FUTEX_CMP_REQUEUE)");
        unblock(&W);
        unblock(&P);
        return;
    }
    long a = futex_wake(&P, 2);
    long b = futex_wake(&P, INT_MAX);
    long c = futex_wake(&P, INT_MAX);
    int fin = finish_waiters(ws, 3, why, sizeof why);
    if (a != 2 || b != 1 || c != 0)
        fail("futex_wake_count", "wake(2)=%ld wake(max)=%ld wake(max)=%ld, want 2,1,0", a, b, c);
    else if (!fin)
        fail("futex_wake_count", "%s", why);
    else
        pass("futex_wake_count");
}

static void test_requeue(void)
{
    struct waiter ws[3];
    char why[200] = "";

    /* FUTEX_REQUEUE: val2 (nr_requeue) goes in the timeout argument */
    W = P = Q = 0;
    if (!start_waiters(ws, 3, &W, FUTEX_WAIT, 0, 0) || gather(&W, 0, &P, 3) != 3) {
        fail("futex_requeue", "could not get 3 waiters blocked (needs FUTEX_CMP_REQUEUE)");
        unblock(&W);
        unblock(&P);
    } else {
        long r = futex((void *)&P, FUTEX_REQUEUE, 1, (void *)1, (void *)&Q, 0);
        long wp = futex_wake(&P, INT_MAX);
        long wq = futex_wake(&Q, INT_MAX);
        int fin = finish_waiters(ws, 3, why, sizeof why);
        if (r != 2 || wp != 1 || wq != 1)
            fail("futex_requeue", "REQUEUE(1,1)=%ld (want 2), left on old word %ld (want 1), "
                 "on new word %ld (want 1)", r, wp, wq);
        else if (!fin)
            fail("futex_requeue", "%s", why);
        else
            pass("futex_requeue");
    }

    W = 5;
    EXPECT_ERR("futex_cmp_requeue_eagain",
               futex((void *)&W, FUTEX_CMP_REQUEUE, 1, (void *)1, (void *)&Q, 4), EAGAIN);

    W = P = Q = 0;
    if (!start_waiters(ws, 3, &W, FUTEX_WAIT, 0, 0) || gather(&W, 0, &P, 3) != 3) {
        fail("futex_cmp_requeue", "could not get 3 waiters blocked");
        unblock(&W);
        unblock(&P);
    } else {
        long r = futex((void *)&P, FUTEX_CMP_REQUEUE, 1, (void *)(uintptr_t)INT_MAX,
                       (void *)&Q, 0);
        long wp = futex_wake(&P, INT_MAX);
        long wq = futex_wake(&Q, INT_MAX);
        int fin = finish_waiters(ws, 3, why, sizeof why);
        if (r != 3 || wp != 0 || wq != 2)
            fail("futex_cmp_requeue", "CMP_REQUEUE(1,max)=%ld (want 3), left %ld (want 0), "
                 "moved %ld (want 2)", r, wp, wq);
        else if (!fin)
            fail("futex_cmp_requeue", "%s", why);
        else
            pass("futex_cmp_requeue");
    }

    W = P = Q = 0;
    if (!start_waiters(ws, 3, &W, FUTEX_WAIT, 0, 0) || gather(&W, 0, &P, 3) != 3) {
        fail("futex_cmp_requeue_limit", "could not get 3 waiters blocked");
        unblock(&W);
        unblock(&P);
    } else {
        long r = futex((void *)&P, FUTEX_CMP_REQUEUE, 0, (void *)2, (void *)&Q, 0);
        long wp = futex_wake(&P, INT_MAX);
        long wq = futex_wake(&Q, INT_MAX);
        int fin = finish_waiters(ws, 3, why, sizeof why);
        if (r != 2 || wp != 1 || wq != 2)
            fail("futex_cmp_requeue_limit", "CMP_REQUEUE(0,2)=%ld (want 2), left %ld (want 1), "
                 "moved %ld (want 2)", r, wp, wq);
        else if (!fin)
            fail("futex_cmp_requeue_limit", "%s", why);
        else
            pass("futex_cmp_requeue_limit");
    }

    W = 0;
    errno = 0;
    long r1 = futex((void *)&W, FUTEX_CMP_REQUEUE, (uint32_t)-1, (void *)1, (void *)&Q, 0);
    int e1 = errno;
    errno = 0;
    long r2 = futex((void *)&W, FUTEX_CMP_REQUEUE, 1, (void *)(uintptr_t)0xffffffffUL,
                    (void *)&Q, 0);
    int e2 = errno;
    check(r1 == -1 && e1 == EINVAL && r2 == -1 && e2 == EINVAL, "futex_requeue_negative",
          "nr_wake=-1: %ld/%s, nr_requeue=-1: %ld/%s (want EINVAL)", r1, strerrorname_np(e1),
          r2, strerrorname_np(e2));
}

static long wake_op(volatile uint32_t *a, int na, volatile uint32_t *b, int nb, uint32_t op)
{
    return futex((void *)a, FUTEX_WAKE_OP, (uint32_t)na, (void *)(uintptr_t)nb, (void *)b, op);
}

static void test_wake_op(void)
{
    long r;
    /* no waiters: only the operation on *uaddr2 */
    A = 0;
    B = 5;
    r = wake_op(&A, 1, &B, 1, FUTEX_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 5));
    check(r == 0 && B == 8 && A == 0, "futex_wake_op_add", "ret %ld, *uaddr2 %u (want 0, 8)", r, B);
    r = wake_op(&A, 1, &B, 1, FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_NE, 0));
    check(r == 0 && B == 1, "futex_wake_op_set", "ret %ld, *uaddr2 %u (want 0, 1)", r, B);
    r = wake_op(&A, 1, &B, 1, FUTEX_OP((FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT), 4, FUTEX_OP_CMP_LT, 0));
    check(r == 0 && B == 17, "futex_wake_op_or_shift", "ret %ld, *uaddr2 %u (want 0, 17)", r, B);
    B = 0xff;
    r = wake_op(&A, 1, &B, 1, FUTEX_OP(FUTEX_OP_ANDN, 0x0f, FUTEX_OP_CMP_LE, 0));
    check(r == 0 && B == 0xf0, "futex_wake_op_andn", "ret %ld, *uaddr2 %#x (want 0, 0xf0)", r, B);
    r = wake_op(&A, 1, &B, 1, FUTEX_OP(FUTEX_OP_XOR, 0x3, FUTEX_OP_CMP_GE, 0));
    check(r == 0 && B == 0xf3, "futex_wake_op_xor", "ret %ld, *uaddr2 %#x (want 0, 0xf3)", r, B);
    B = 10; /* oparg 0xfff is sign-extended: -1 */
    r = wake_op(&A, 1, &B, 1, FUTEX_OP(FUTEX_OP_ADD, 0xfff, FUTEX_OP_CMP_GT, 0));
    check(r == 0 && B == 9, "futex_wake_op_negative_oparg", "ret %ld, *uaddr2 %u (want 0, 9)", r, B);
    B = 10;
    errno = 0;
    r = wake_op(&A, 1, &B, 1, (5u << 28) | (1 << 12)); /* op 5 does not exist */
    int e = errno;
    check(r == -1 && e == ENOSYS && B == 10, "futex_wake_op_bad_op",
          "ret %ld errno %s, *uaddr2 %u (want -1/ENOSYS, 10 unchanged)", r, strerrorname_np(e), B);

    /* comparison true: one waiter on each word, both woken */
    struct waiter wa, wb;
    char why[200] = "";
    W = A = B = 0;
    int ok = start_waiters(&wa, 1, &W, FUTEX_WAIT, 0, 0) && gather(&W, 0, &A, 1) == 1 &&
             start_waiters(&wb, 1, &W, FUTEX_WAIT, 0, 0) && gather(&W, 0, &B, 1) == 1;
    if (!ok) {
        fail("futex_wake_op_cmp_true", "could not get the waiters blocked");
        unblock(&W);
        unblock(&A);
        unblock(&B);
    } else {
        B = 5;
        r = wake_op(&A, 1, &B, 1, FUTEX_OP(FUTEX_OP_SET, 7, FUTEX_OP_CMP_EQ, 5));
        uint32_t b = B;
        int fa = finish_waiters(&wa, 1, why, sizeof why);
        int fb = fa && finish_waiters(&wb, 1, why, sizeof why);
        if (r != 2 || b != 7)
            fail("futex_wake_op_cmp_true", "ret %ld, *uaddr2 %u (want 2, 7)", r, b);
        else if (!fa || !fb)
            fail("futex_wake_op_cmp_true", "%s", why);
        else
            pass("futex_wake_op_cmp_true");
    }

    /* comparison false: only the waiter on uaddr is woken */
    W = A = B = 0;
    ok = start_waiters(&wa, 1, &W, FUTEX_WAIT, 0, 0) && gather(&W, 0, &A, 1) == 1 &&
         start_waiters(&wb, 1, &W, FUTEX_WAIT, 0, 0) && gather(&W, 0, &B, 1) == 1;
    if (!ok) {
        fail("futex_wake_op_cmp_false", "could not get the waiters blocked");
        unblock(&W);
        unblock(&A);
        unblock(&B);
    } else {
        B = 7;
        r = wake_op(&A, 1, &B, 1, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_GT, 50));
        uint32_t b = B;
        long rb = futex_wake(&B, INT_MAX);
        int fa = finish_waiters(&wa, 1, why, sizeof why);
        int fb = fa && finish_waiters(&wb, 1, why, sizeof why);
        if (r != 1 || b != 8 || rb != 1)
            fail("futex_wake_op_cmp_false", "ret %ld, *uaddr2 %u, waiters left on uaddr2 %ld "
                 "(want 1, 8, 1)", r, b, rb);
        else if (!fa || !fb)
            fail("futex_wake_op_cmp_false", "%s", why);
        else
            pass("futex_wake_op_cmp_false");
    }
}

static void test_bitset(void)
{
    W = 0;
    EXPECT_ERR("futex_bitset_zero_wait",
               futex((void *)&W, FUTEX_WAIT_BITSET, 0, NULL, NULL, 0), EINVAL);
    EXPECT_ERR("futex_bitset_zero_wake",
               futex((void *)&W, FUTEX_WAKE_BITSET, 1, NULL, NULL, 0), EINVAL);

    struct waiter w1;
    char why[200] = "";
    W = 0;
    if (!start_waiters(&w1, 1, &W, FUTEX_WAIT_BITSET, 0, 0x1)) {
        fail("futex_bitset_match", "could not start the waiter");
        return;
    }
    sleep_ms(20); /* let it block (only makes the next check meaningful) */
    long r0 = futex((void *)&W, FUTEX_WAKE_BITSET, INT_MAX, NULL, NULL, 0x6);
    check(r0 == 0, "futex_bitset_nomatch", "wake with bitset 0x6 woke %ld waiter(s) waiting "
          "with bitset 0x1", r0);
    long r1 = wake_until(&W, FUTEX_WAKE_BITSET, 0x3);
    int fin = finish_waiters(&w1, 1, why, sizeof why);
    if (r1 != 1)
        fail("futex_bitset_match", "wake with bitset 0x3 returned %ld (want 1)", r1);
    else if (!fin)
        fail("futex_bitset_match", "%s", why);
    else
        pass("futex_bitset_match");
    unblock(&W);
}

static void timed(const char *name, int op, const struct timespec *ts, uint32_t bitset,
                  clockid_t clk, int64_t min_ns, int64_t deadline_ns)
{
    W = 0;
    int64_t t0 = mono_ns();
    errno = 0;
    long r = futex((void *)&W, op, 0, ts, NULL, bitset);
    int e = errno;
    int64_t el = mono_ns() - t0;
    int64_t now = now_ns(clk);
    if (r != -1 || e != ETIMEDOUT)
        fail(name, "ret %ld errno %s, want -1/ETIMEDOUT", r, strerrorname_np(e));
    else if (el < min_ns)
        fail(name, "returned after %lld us, want >= %lld us", (long long)el / 1000,
             (long long)min_ns / 1000);
    else if (deadline_ns && now < deadline_ns)
        fail(name, "returned %lld us before the deadline", (long long)(deadline_ns - now) / 1000);
    else if (el >= 2000000000LL)
        fail(name, "took %lld ms", (long long)el / 1000000);
    else
        pass(name);
}

static void test_timeouts(void)
{
    struct timespec rel = { 0, 50000000 };
    timed("futex_timeout_rel", FUTEX_WAIT, &rel, 0, CLOCK_MONOTONIC, 50000000, 0);
    struct timespec rel2 = { 0, 30000000 };
    timed("futex_timeout_rel_private", FUTEX_WAIT_PRIVATE, &rel2, 0, CLOCK_MONOTONIC, 30000000, 0);
    struct timespec zero = { 0, 0 };
    timed("futex_timeout_zero", FUTEX_WAIT, &zero, 0, CLOCK_MONOTONIC, 0, 0);

    int64_t dl = mono_ns() + 50000000;
    struct timespec abs = ns_to_ts(dl);
    timed("futex_timeout_abs_monotonic", FUTEX_WAIT_BITSET, &abs, FUTEX_BITSET_MATCH_ANY,
          CLOCK_MONOTONIC, 0, dl);
    dl = now_ns(CLOCK_REALTIME) + 50000000;
    abs = ns_to_ts(dl);
    timed("futex_timeout_abs_realtime", FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, &abs,
          FUTEX_BITSET_MATCH_ANY, CLOCK_REALTIME, 0, dl);
    dl = mono_ns() / 2; /* in the past, and >= 0 even right after boot */
    abs = ns_to_ts(dl);
    timed("futex_timeout_abs_past", FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, &abs,
          FUTEX_BITSET_MATCH_ANY, CLOCK_MONOTONIC, 0, 0);
}

static void test_errors(void)
{
    W = 0;
    EXPECT_ERR("futex_bad_op", futex((void *)&W, 100, 0, NULL, NULL, 0), ENOSYS);
    EXPECT_ERR("futex_bad_op_wake_realtime",
               futex((void *)&W, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0), ENOSYS);

    struct timespec b1 = { 0, 1000000000L }, b2 = { 0, -1 }, b3 = { -1, 0 };
    EXPECT_ERR("futex_bad_timespec_nsec_big", futex((void *)&W, FUTEX_WAIT, 0, &b1, NULL, 0), EINVAL);
    EXPECT_ERR("futex_bad_timespec_nsec_neg", futex((void *)&W, FUTEX_WAIT, 0, &b2, NULL, 0), EINVAL);
    EXPECT_ERR("futex_bad_timespec_sec_neg", futex((void *)&W, FUTEX_WAIT, 0, &b3, NULL, 0), EINVAL);

    static uint32_t two[2];
    void *odd = (char *)two + 1;
    EXPECT_ERR("futex_unaligned_wait", futex(odd, FUTEX_WAIT, 0, NULL, NULL, 0), EINVAL);
    EXPECT_ERR("futex_unaligned_wake", futex(odd, FUTEX_WAKE, 1, NULL, NULL, 0), EINVAL);

    void *pg = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pg == MAP_FAILED || munmap(pg, 4096) != 0) {
        fail("futex_efault_wait", "mmap/munmap failed");
        return;
    }
    EXPECT_ERR("futex_efault_wait", futex(pg, FUTEX_WAIT, 0, NULL, NULL, 0), EFAULT);
    EXPECT_ERR("futex_efault_wait_private", futex(pg, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0), EFAULT);
    EXPECT_ERR("futex_efault_wake_shared", futex(pg, FUTEX_WAKE, 1, NULL, NULL, 0), EFAULT);
    EXPECT_ERR("futex_efault_cmp_requeue",
               futex(pg, FUTEX_CMP_REQUEUE, 1, (void *)1, (void *)&Q, 0), EFAULT);
    EXPECT_ERR("futex_efault_timeout", futex((void *)&W, FUTEX_WAIT, 0, pg, NULL, 0), EFAULT);
    B = 3;
    EXPECT_ERR("futex_efault_wake_op",
               futex((void *)&A, FUTEX_WAKE_OP, 1, (void *)1, pg,
                     FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0)), EFAULT);
    EXPECT_ERR("futex_efault_kernel_addr",
               futex((void *)0xffffffc000000000UL, FUTEX_WAIT, 0, NULL, NULL, 0), EFAULT);
}

int main(void)
{
    t_init();
    test_simple();
    test_wait_wake("futex_wait_wake", FUTEX_WAIT, FUTEX_WAKE);
    test_wait_wake("futex_wait_wake_private", FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE);
    test_pingpong();
    test_wake_count();
    test_requeue();
    test_wake_op();
    test_bitset();
    test_timeouts();
    test_errors();
    return t_exit();
}
