/* clone: the clone / clone3 / set_tid_address system calls.
 *   clone_einval_*        - raw clone with invalid flag combinations -> EINVAL:
 *                           CLONE_THREAD without CLONE_SIGHAND, CLONE_SIGHAND
 *                           without CLONE_VM, CLONE_FS|CLONE_NEWNS,
 *                           CLONE_THREAD|CLONE_NEWPID, CLONE_PIDFD|CLONE_DETACHED,
 *                           CLONE_PIDFD|CLONE_PARENT_SETTID
 *   clone3_*              - clone3 argument checks: size < 64 -> EINVAL, size >
 *                           page -> E2BIG, non-zero bytes past the known struct ->
 *                           E2BIG, NULL args -> EFAULT, unknown flag bit -> EINVAL,
 *                           CLONE_THREAD with an exit signal -> EINVAL, exit_signal
 *                           > 64 -> EINVAL, stack without stack_size -> EINVAL
 *   clone_thread_*        - a thread made by a raw clone with CLONE_VM|CLONE_FS|
 *                           CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|
 *                           CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID
 *                           (tiny inline-asm trampoline: the child runs a C function
 *                           on its own stack, using no TLS, then SYS_exit):
 *     clone_thread_created  - clone returns a tid > 0, not the caller's
 *     clone_thread_ids      - in the child gettid() == that tid, getpid() == ours
 *     clone_thread_settls   - the child's tp register is the CLONE_SETTLS value
 *     clone_parent_settid   - *parent_tid holds the tid while the child lives
 *     clone_child_cleartid  - when the child exits, *child_tid becomes 0 and a
 *                             FUTEX_WAIT on it is woken (within 2 s)
 *     clone_child_settid    - CLONE_CHILD_SETTID: the tid is stored at child_tid
 *                             (seen by the child before it does anything), and
 *                             CLEARTID clears it again
 *   set_tid_address       - returns the caller's tid
 *   pthread_join_prompt   - 50 threads created and joined one after the other:
 *                           every join returns within 2 s (pthread_join sleeps on
 *                           the clear-child-tid futex); INFO max join latency */
#include "thr.h"
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

/* ---- raw system calls usable without TLS (no errno) ---- */
#if defined(__riscv)
static inline long rsys(long n, long a, long b, long c, long d, long e, long f)
{
    register long a0 asm("a0") = a;
    register long a1 asm("a1") = b;
    register long a2 asm("a2") = c;
    register long a3 asm("a3") = d;
    register long a4 asm("a4") = e;
    register long a5 asm("a5") = f;
    register long a7 asm("a7") = n;
    asm volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a7)
                 : "memory");
    return a0;
}

/* clone-like call (n = SYS_clone or SYS_clone3) whose child, if one is
 * (wrongly) created, ends at once with SYS_exit without touching memory */
static long rclone_noop(long n, long a, long b, long c, long d, long e)
{
    register long a0 asm("a0") = a;
    register long a1 asm("a1") = b;
    register long a2 asm("a2") = c;
    register long a3 asm("a3") = d;
    register long a4 asm("a4") = e;
    register long a7 asm("a7") = n;
    asm volatile("ecall\n\t"
                 "bnez a0, 1f\n\t"
                 "li a7, %[nr_exit]\n\t"
                 "ecall\n"
                 "1:"
                 : "+r"(a0) : "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a7),
                   [nr_exit] "i"(SYS_exit)
                 : "memory");
    return a0;
}

/* raw clone of a thread: the child starts on stack_top with fn and arg found
 * at the top of its stack, calls fn(arg) and ends with SYS_exit(fn's value) */
static long clone_fn(unsigned long flags, void *stack_top, int *ptid, void *tls, int *ctid,
                     int (*fn)(void *), void *arg)
{
    unsigned long *sp = (unsigned long *)stack_top - 2;
    sp[0] = (unsigned long)fn;
    sp[1] = (unsigned long)arg;
    register long a0 asm("a0") = (long)flags;
    register long a1 asm("a1") = (long)sp;
    register long a2 asm("a2") = (long)ptid;
    register long a3 asm("a3") = (long)tls;
    register long a4 asm("a4") = (long)ctid;
    register long a7 asm("a7") = SYS_clone;
    asm volatile("ecall\n\t"
                 "bnez a0, 1f\n\t"
                 "ld t0, 0(sp)\n\t" /* child: on the new stack */
                 "ld a0, 8(sp)\n\t"
                 "jalr t0\n\t"
                 "li a7, %[nr_exit]\n\t"
                 "ecall\n"
                 "1:"
                 : "+r"(a0) : "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a7),
                   [nr_exit] "i"(SYS_exit)
                 : "memory", "t0");
    return a0;
}

static inline unsigned long read_tp(void)
{
    unsigned long tp;
    asm volatile("mv %0, tp" : "=r"(tp));
    return tp;
}
#elif defined(__x86_64__)
/* only so that the program can also be checked natively on an x86-64 Linux */
static inline long rsys(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 asm("r10") = d;
    register long r8 asm("r8") = e;
    register long r9 asm("r9") = f;
    long ret;
    asm volatile("syscall" : "=a"(ret) : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
                 "r"(r9) : "rcx", "r11", "memory");
    return ret;
}

static long rclone_noop(long n, long a, long b, long c, long d, long e)
{
    long r = rsys(n, a, b, c, d, e, 0);
    if (r == 0)
        rsys(SYS_exit, 0, 0, 0, 0, 0, 0);
    return r;
}

static long clone_fn(unsigned long flags, void *stack_top, int *ptid, void *tls, int *ctid,
                     int (*fn)(void *), void *arg)
{
    long r = clone(fn, stack_top, (int)flags, arg, ptid, tls, ctid);
    return r < 0 ? -errno : r;
}

static inline unsigned long read_tp(void)
{
    unsigned long tp;
    asm volatile("mov %%fs:0, %0" : "=r"(tp));
    return tp;
}
#else
#error "riscv64 (or x86-64 for a native check) only"
#endif

static void expect_neg(const char *name, long r, int want)
{
    check(r == -want, name, "returned %ld (%s), want -%s", r,
          r < 0 && r > -4096 ? strerrorname_np((int)-r) : "not an error", strerrorname_np(want));
}

static void test_bad_flags(void)
{
    long r;
    r = rclone_noop(SYS_clone, CLONE_VM | CLONE_THREAD, 0, 0, 0, 0);
    expect_neg("clone_einval_thread_no_sighand", r, EINVAL);
    r = rclone_noop(SYS_clone, CLONE_SIGHAND | SIGCHLD, 0, 0, 0, 0);
    expect_neg("clone_einval_sighand_no_vm", r, EINVAL);
    r = rclone_noop(SYS_clone, CLONE_FS | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
    expect_neg("clone_einval_fs_newns", r, EINVAL);
    r = rclone_noop(SYS_clone, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD | CLONE_NEWPID, 0, 0, 0, 0);
    expect_neg("clone_einval_thread_newpid", r, EINVAL);
    /* (CLONE_PIDFD|CLONE_THREAD is no error since Linux 6.9) */
    int pidfd = -1;
    r = rclone_noop(SYS_clone, CLONE_PIDFD | CLONE_DETACHED | SIGCHLD, 0, (long)&pidfd, 0, 0);
    expect_neg("clone_einval_pidfd_detached", r, EINVAL);
    /* legacy clone returns the pidfd through parent_tid: both at once is invalid */
    r = rclone_noop(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, (long)&pidfd, 0, 0);
    expect_neg("clone_einval_pidfd_parent_settid", r, EINVAL);
}

static void test_clone3(void)
{
    static struct {
        struct clone_args a;
        unsigned char pad[4096 + 64];
    } u;
    long r;
    memset(&u, 0, sizeof u);
    u.a.exit_signal = SIGCHLD;
    r = rclone_noop(SYS_clone3, (long)&u.a, 8, 0, 0, 0);
    expect_neg("clone3_size_small", r, EINVAL);
    r = rclone_noop(SYS_clone3, (long)&u.a, 4097, 0, 0, 0);
    expect_neg("clone3_size_big", r, E2BIG);
    u.pad[100] = 1; /* non-zero byte beyond the known struct */
    r = rclone_noop(SYS_clone3, (long)&u.a, 512, 0, 0, 0);
    expect_neg("clone3_trailing", r, E2BIG);
    u.pad[100] = 0;
    r = rclone_noop(SYS_clone3, 0, sizeof(struct clone_args), 0, 0, 0);
    expect_neg("clone3_efault", r, EFAULT);

    u.a.flags = 1ULL << 40;
    r = rclone_noop(SYS_clone3, (long)&u.a, 64, 0, 0, 0);
    expect_neg("clone3_unknown_flag", r, EINVAL);
    u.a.flags = CLONE_VM | CLONE_SIGHAND | CLONE_THREAD;
    u.a.exit_signal = SIGCHLD;
    r = rclone_noop(SYS_clone3, (long)&u.a, 64, 0, 0, 0);
    expect_neg("clone3_thread_exit_signal", r, EINVAL);
    u.a.flags = 0;
    u.a.exit_signal = 65;
    r = rclone_noop(SYS_clone3, (long)&u.a, 64, 0, 0, 0);
    expect_neg("clone3_bad_exit_signal", r, EINVAL);
    u.a.exit_signal = SIGCHLD;
    u.a.stack = (unsigned long)&u.pad[2048];
    u.a.stack_size = 0;
    r = rclone_noop(SYS_clone3, (long)&u.a, 64, 0, 0, 0);
    expect_neg("clone3_stack_no_size", r, EINVAL);
}

/* ---- a raw-cloned thread ---- */
struct ctx {
    volatile long tid, pid;
    volatile unsigned long tp;
    volatile int *ctid;
    volatile long ctid_seen;
    volatile uint32_t ran, go;
};

static int child(void *p)
{
    struct ctx *c = p;
    c->tid = rsys(SYS_gettid, 0, 0, 0, 0, 0, 0);
    c->pid = rsys(SYS_getpid, 0, 0, 0, 0, 0, 0);
    c->tp = read_tp();
    c->ctid_seen = c->ctid ? *c->ctid : -1;
    __atomic_store_n(&c->ran, 1, __ATOMIC_RELEASE);
    rsys(SYS_futex, (long)&c->ran, FUTEX_WAKE, 1, 0, 0, 0);
    while (!__atomic_load_n(&c->go, __ATOMIC_ACQUIRE))
        rsys(SYS_futex, (long)&c->go, FUTEX_WAIT, 0, 0, 0, 0);
    return 42;
}

static unsigned char stacks[2][64 * 1024] __attribute__((aligned(16)));
static unsigned long fake_tls[64] __attribute__((aligned(64)));

/* wait (at most 5 s) until *w == 0, sleeping in FUTEX_WAIT on it.  Returns
 * the time taken in ms, or -1 if it never happened. */
static long wait_zero(volatile int *w)
{
    int64_t t0 = mono_ns(), end = t0 + 5000000000LL;
    for (;;) {
        int v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
        if (v == 0)
            return (long)((mono_ns() - t0) / 1000000);
        int64_t left = end - mono_ns();
        if (left <= 0)
            return -1;
        struct timespec ts = ns_to_ts(left);
        futex((void *)w, FUTEX_WAIT, (uint32_t)v, &ts, NULL, 0);
    }
}

static void wait_ran(struct ctx *c)
{
    int64_t end = mono_ns() + 5000000000LL;
    while (!__atomic_load_n(&c->ran, __ATOMIC_ACQUIRE) && mono_ns() < end) {
        struct timespec ts = { 0, 50000000 };
        futex((void *)&c->ran, FUTEX_WAIT, 0, &ts, NULL, 0);
    }
}

static void release(struct ctx *c)
{
    __atomic_store_n(&c->go, 1, __ATOMIC_RELEASE);
    futex((void *)&c->go, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void test_raw_thread(void)
{
    static volatile int tidword = -1;
    static struct ctx c;
    const unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |
                                CLONE_CHILD_CLEARTID;
    fake_tls[0] = (unsigned long)fake_tls; /* x86-64 reads the tp through %fs:0 */
    memset(&c, 0, sizeof c);
    long r = clone_fn(flags, stacks[0] + sizeof stacks[0], (int *)&tidword, fake_tls,
                      (int *)&tidword, child, &c);
    int settid = tidword; /* the child is held until release(): not cleared yet */
    check(r > 0 && r != getpid(), "clone_thread_created", "clone returned %ld", r);
    if (r <= 0)
        return;
    wait_ran(&c);
    check(c.ran && c.tid == r && c.pid == getpid(), "clone_thread_ids",
          "child ran %u, gettid %ld (want %ld), getpid %ld (want %d)", c.ran, c.tid, r, c.pid,
          getpid());
    check(c.tp == (unsigned long)fake_tls, "clone_thread_settls", "child tp %#lx, want %p", c.tp,
          (void *)fake_tls);
    check(settid == r, "clone_parent_settid", "*parent_tid = %d, want %ld", settid, r);
    release(&c);
    long ms = wait_zero(&tidword);
    check(ms >= 0 && ms < 2000, "clone_child_cleartid", ms < 0 ? "*child_tid still %d after 5 s"
          : "*child_tid %d, cleared only after %ld ms (no futex wake?)", tidword, ms);

    /* CLONE_CHILD_SETTID (+ CLEARTID) without PARENT_SETTID */
    static volatile int ctidword = -1;
    static struct ctx c2;
    memset(&c2, 0, sizeof c2);
    c2.ctid = &ctidword;
    const unsigned long flags2 = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                 CLONE_SYSVSEM | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
    r = clone_fn(flags2, stacks[1] + sizeof stacks[1], NULL, NULL, (int *)&ctidword, child, &c2);
    if (r <= 0) {
        fail("clone_child_settid", "clone returned %ld", r);
        return;
    }
    wait_ran(&c2);
    long seen = c2.ctid_seen;
    int now = ctidword;
    release(&c2);
    ms = wait_zero(&ctidword);
    check(seen == r && now == r && ms >= 0 && ms < 2000, "clone_child_settid",
          "child saw *child_tid %ld, parent %d (want %ld); cleared after %ld ms", seen, now, r, ms);
}

static void *nop_fn(void *arg) { return arg; }

static void test_tid_address(void)
{
    static int dummy;
    long r = syscall(SYS_set_tid_address, &dummy);
    check(r == syscall(SYS_gettid), "set_tid_address", "returned %ld, gettid %ld", r,
          syscall(SYS_gettid));

    long worst = 0;
    int bad = 0;
    for (int i = 0; i < 50 && !bad; i++) {
        pthread_t th;
        void *ret = NULL;
        if (pthread_create(&th, NULL, nop_fn, (void *)(uintptr_t)(i + 1)) != 0) {
            fail("pthread_join_prompt", "pthread_create #%d failed", i);
            return;
        }
        int64_t t0 = mono_ns();
        int j = tjoin(th, &ret, 2000);
        long ms = (long)((mono_ns() - t0) / 1000000);
        if (ms > worst)
            worst = ms;
        if (j != 0 || ret != (void *)(uintptr_t)(i + 1)) {
            fail("pthread_join_prompt", "join #%d: %s after %ld ms, value %p", i, strerror(j), ms,
                 ret);
            bad = 1;
        }
    }
    printf("INFO pthread_join max latency %ld ms\n", worst);
    if (!bad)
        pass("pthread_join_prompt");
}

int main(void)
{
    t_init();
    test_bad_flags();
    test_clone3();
    test_raw_thread();
    test_tid_address();
    return t_exit();
}
