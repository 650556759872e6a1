/* fpswitch: the floating-point state (f0-f31 and fcsr: rounding mode and accrued
 * exception flags) belongs to each thread and each process, across timer preemption.
 * Three workers run at once for ~1.5 s of CPU each, with no system calls in their
 * loops, so the 10 ms time slice switches between them hundreds of times:
 *   A: 16 doubles + 8 floats iterating the logistic map x = 3.9 x (1 - x) in
 *      FE_UPWARD (chaotic: any lost rounding mode or register shows in the result)
 *   B: the same with other seeds in FE_DOWNWARD
 *   C: exact arithmetic (d += 1, f *= -1) in FE_TOWARDZERO: no exception flag may
 *      appear in its fcsr (A and B raise "inexact" all the time)
 * Each result is compared bit for bit with the same function run alone beforehand.
 * Modes (argv[1]):
 *   threads - A, B, C are threads of this process:
 *       fenv_inherit_thread - a new thread starts with its creator's rounding mode
 *       fp_thread_A/B/C     - each worker's 3 runs match the reference, its rounding
 *                             mode is still its own at the end, C has no flags
 *   proc    - A, B, C are forked processes (same checks, fp_proc_A/B/C):
 *       fenv_inherit_fork   - a child starts with its parent's rounding mode
 *       fp_proc_children    - the three children exit 0 */
#include "thr.h"
#include <fenv.h>
#include <stdlib.h>
#include <sys/wait.h>

/* The fcsr is read and written directly (frrm/fsrm, frflags/fsflags): the build links
 * without libm, where glibc keeps fegetround and friends.  On riscv the FE_* rounding
 * constants are the frm values and the FE_* exception bits the fflags bits. */
static int get_rm(void)
{
    unsigned long v;
    __asm__ volatile("frrm %0" : "=r"(v));
    return (int)v;
}
static void set_rm(int m) { __asm__ volatile("fsrm %0" : : "r"((unsigned long)m)); }
static int get_flags(void)
{
    unsigned long v;
    __asm__ volatile("frflags %0" : "=r"(v));
    return (int)v;
}
static void clear_flags(void) { __asm__ volatile("fsflags zero"); }

#define ND 16
#define NF 8
#define REPS 3

struct res {
    double d[ND];
    float f[NF];
};

static const int rmode[3] = { FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO };
static volatile double seed_base[3] = { 0.1, 0.2, 1.0 };
static volatile double R = 3.9;
static volatile float RF = 3.9f;

/* All 24 values and the constants live in f registers for the whole loop. */
__attribute__((noinline)) static void work(int kind, long iters, struct res *out)
{
    double b = seed_base[kind];
    if (kind < 2) {
        double r = R, one = 1.0;
        float rf = RF, onef = 1.0f;
        double d0 = b + 0.01, d1 = b + 0.02, d2 = b + 0.03, d3 = b + 0.04, d4 = b + 0.05,
               d5 = b + 0.06, d6 = b + 0.07, d7 = b + 0.08, d8 = b + 0.09, d9 = b + 0.10,
               d10 = b + 0.11, d11 = b + 0.12, d12 = b + 0.13, d13 = b + 0.14, d14 = b + 0.15,
               d15 = b + 0.16;
        float f0 = (float)b + 0.3f, f1 = (float)b + 0.31f, f2 = (float)b + 0.32f,
              f3 = (float)b + 0.33f, f4 = (float)b + 0.34f, f5 = (float)b + 0.35f,
              f6 = (float)b + 0.36f, f7 = (float)b + 0.37f;
#define L(x) x = r * x * (one - x)
#define LF(x) x = rf * x * (onef - x)
        for (long i = 0; i < iters; i++) {
            L(d0); L(d1); L(d2); L(d3); L(d4); L(d5); L(d6); L(d7);
            L(d8); L(d9); L(d10); L(d11); L(d12); L(d13); L(d14); L(d15);
            LF(f0); LF(f1); LF(f2); LF(f3); LF(f4); LF(f5); LF(f6); LF(f7);
        }
        double d[ND] = { d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11, d12, d13, d14, d15 };
        float f[NF] = { f0, f1, f2, f3, f4, f5, f6, f7 };
        memcpy(out->d, d, sizeof d);
        memcpy(out->f, f, sizeof f);
    } else {
        double one = b; /* 1.0 */
        float m = -(float)b;
        double d0 = 1, d1 = 2, d2 = 3, d3 = 4, d4 = 5, d5 = 6, d6 = 7, d7 = 8, d8 = 9, d9 = 10,
               d10 = 11, d11 = 12, d12 = 13, d13 = 14, d14 = 15, d15 = 16;
        float f0 = 1, f1 = 2, f2 = 3, f3 = 4, f4 = 5, f5 = 6, f6 = 7, f7 = 8;
#define E(x) x = x + one
#define EF(x) x = x * m
        for (long i = 0; i < iters; i++) {
            E(d0); E(d1); E(d2); E(d3); E(d4); E(d5); E(d6); E(d7);
            E(d8); E(d9); E(d10); E(d11); E(d12); E(d13); E(d14); E(d15);
            EF(f0); EF(f1); EF(f2); EF(f3); EF(f4); EF(f5); EF(f6); EF(f7);
        }
        double d[ND] = { d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11, d12, d13, d14, d15 };
        float f[NF] = { f0, f1, f2, f3, f4, f5, f6, f7 };
        memcpy(out->d, d, sizeof d);
        memcpy(out->f, f, sizeof f);
    }
}

static long iters;
static struct res ref[3];

/* one worker: set its rounding mode, REPS runs, compare; returns 0 if all good */
static int worker(int kind, const char *prefix)
{
    char name[64];
    snprintf(name, sizeof name, "%s_%c", prefix, 'A' + kind);
    set_rm(rmode[kind]);
    clear_flags();
    int bad_rep = -1, bad_i = -1;
    int reps = kind == 2 ? 3 * REPS : REPS; /* C's loop is ~3x cheaper: overlap A, B */
    for (int rep = 0; rep < reps && bad_rep < 0; rep++) {
        struct res r;
        work(kind, iters, &r);
        for (int i = 0; i < ND; i++)
            if (memcmp(&r.d[i], &ref[kind].d[i], sizeof(double)) != 0) {
                bad_rep = rep;
                bad_i = i;
                printf("INFO %s run %d d%d = %a, want %a\n", name, rep, i, r.d[i],
                       ref[kind].d[i]);
                break;
            }
        for (int i = 0; bad_rep < 0 && i < NF; i++)
            if (memcmp(&r.f[i], &ref[kind].f[i], sizeof(float)) != 0) {
                bad_rep = rep;
                bad_i = 100 + i;
                printf("INFO %s run %d f%d = %a, want %a\n", name, rep, i, (double)r.f[i],
                       (double)ref[kind].f[i]);
            }
    }
    int flags = get_flags();
    int rm = get_rm();
    int ok = bad_rep < 0 && rm == rmode[kind] && (kind != 2 || flags == 0) &&
             (kind == 2 || (flags & FE_INEXACT));
    check(ok, name, "mismatch at run %d value %d; rounding mode %#x (want %#x); flags %#x",
          bad_rep, bad_i, rm, rmode[kind], flags);
    return ok ? 0 : 1;
}

static void prepare(void)
{
    /* calibrate: about 0.5 s per run of kind A alone */
    struct res r;
    long n = 20000;
    for (;;) {
        int64_t t0 = mono_ns();
        work(0, n, &r);
        int64_t el = mono_ns() - t0;
        if (el > 50000000 || n > (1L << 40)) {
            iters = (long)((double)n * 500000000.0 / (double)el);
            break;
        }
        n *= 4;
    }
    if (iters < 1000)
        iters = 1000;
    printf("INFO %ld iterations per run\n", iters);
    for (int k = 0; k < 3; k++) {
        set_rm(rmode[k]);
        work(k, iters, &ref[k]);
        set_rm(FE_TONEAREST);
    }
    /* the exact kind has a known answer */
    int ok = 1;
    for (int i = 0; i < ND; i++)
        ok &= ref[2].d[i] == (double)(i + 1) + (double)iters;
    for (int i = 0; i < NF; i++)
        ok &= ref[2].f[i] == ((iters & 1) ? -(float)(i + 1) : (float)(i + 1));
    if (!ok)
        fail("fp_reference", "the exact computation alone gives a wrong answer");
}

static volatile int inherited_rm;

static void *probe(void *arg)
{
    (void)arg;
    inherited_rm = get_rm();
    return NULL;
}

static void *thread_worker(void *arg) { return (void *)(long)worker((int)(long)arg, "fp_thread"); }

static void mode_threads(void)
{
    set_rm(FE_DOWNWARD);
    pthread_t p;
    pthread_create(&p, NULL, probe, NULL);
    tjoin(p, NULL, 5000);
    set_rm(FE_TONEAREST);
    check(inherited_rm == FE_DOWNWARD, "fenv_inherit_thread", "new thread's rounding mode %#x",
          inherited_rm);

    prepare();
    pthread_t th[3];
    for (int k = 0; k < 3; k++)
        pthread_create(&th[k], NULL, thread_worker, (void *)(long)k);
    for (int k = 0; k < 3; k++)
        if (tjoin(th[k], NULL, 120000) != 0)
            fail("fp_thread_join", "worker %d did not finish in 120 s", k);
}

static void mode_proc(void)
{
    set_rm(FE_UPWARD);
    pid_t c = fork();
    if (c == 0)
        _exit(get_rm() == FE_UPWARD ? 0 : 1);
    set_rm(FE_TONEAREST);
    int st = 0;
    check(c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "fenv_inherit_fork", "child's rounding mode was not its parent's (status %#x)", st);

    prepare();
    pid_t kids[3];
    for (int k = 0; k < 3; k++) {
        kids[k] = fork();
        if (kids[k] == 0)
            _exit(worker(k, "fp_proc"));
    }
    int good = 0;
    for (int k = 0; k < 3; k++) {
        st = 0;
        if (kids[k] > 0 && waitpid(kids[k], &st, 0) == kids[k] && WIFEXITED(st) &&
            WEXITSTATUS(st) == 0)
            good++;
        else
            printf("INFO child %d (pid %d) status %#x\n", k, kids[k], st);
    }
    check(good == 3, "fp_proc_children", "%d of 3 children exited 0", good);
}

int main(int argc, char **argv)
{
    t_init();
    if (argc > 1 && strcmp(argv[1], "proc") == 0)
        mode_proc();
    else if (argc < 2 || strcmp(argv[1], "threads") == 0)
        mode_threads();
    else {
        fail("mode", "unknown mode %s", argv[1]);
        return 2;
    }
    return t_exit();
}
