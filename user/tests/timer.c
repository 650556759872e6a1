/* timer: pure computation long enough (~0.3 s under qemu-user, around a second
 * under full-system TCG) to be interrupted by many timer interrupts.  The
 * results are hard-coded (computed natively on x86-64 and under qemu-riscv64:
 * identical), so any register (integer or FP) corrupted by an interrupt or a
 * context switch shows up as a wrong answer.
 * Lines: timer_compute (integer), timer_fp (double), timer_clock (CLOCK_MONOTONIC
 * advanced across the loops), plus "INFO timer elapsed_ms=<n>". */
#include "t.h"
#include <stdint.h>
#include <time.h>

#define INT_ITERS 50000000L
#define INT_SEED 0x123456789abcdefULL
#define INT_EXPECT 0x992c93b0fcb5b8f9ULL
#define FP_ITERS 5000000L
#define FP_EXPECT_BITS 0x4153cebbee35260dULL /* 5192431.7219939353 */

/* 64-bit xorshift + multiply mix; not reducible to a closed form */
static uint64_t __attribute__((noinline)) int_loop(uint64_t x, long n)
{
    uint64_t acc = 0;
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc += x * 0x2545f4914f6cdd1dULL;
        acc = (acc << 5) | (acc >> 59);
    }
    return acc ^ x;
}

/* double arithmetic with additions, multiplications and divisions kept
 * separate (no fused multiply-add): exact IEEE results on any conforming CPU */
__attribute__((noinline, optimize("fp-contract=off")))
static double fp_loop(long n)
{
    double a = 1.0, b = 0.5, c = 0.0;
    for (long i = 0; i < n; i++) {
        a = a * 1.0000001;
        b = b / 1.0000003;
        c = c + a;
        c = c - b;
        if (a > 2.0)
            a = a - 1.0;
    }
    return a + b + c;
}

int main(void)
{
    t_init();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    uint64_t r = int_loop(INT_SEED, INT_ITERS);
    check(r == INT_EXPECT, "timer_compute", "got 0x%016llx want 0x%016llx",
          (unsigned long long)r, (unsigned long long)INT_EXPECT);

    double d = fp_loop(FP_ITERS);
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    check(bits == FP_EXPECT_BITS, "timer_fp", "got %.17g (0x%016llx) want 0x%016llx", d,
          (unsigned long long)bits, (unsigned long long)FP_EXPECT_BITS);

    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long ms = (t1.tv_sec - t0.tv_sec) * 1000LL + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    long long dns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    printf("INFO timer elapsed_ms=%lld\n", ms);
    check(dns > 0, "timer_clock", "CLOCK_MONOTONIC did not advance across the loops (%lld ns)", dns);
    return t_exit();
}
