/* regs: register state across system calls.
 *
 * One hand-written assembly routine, regs_run(), saves the callee-saved
 * registers, loads distinct 64-bit patterns into s0..s11, performs `iters`
 * ecalls of syscall `nr` and, after EVERY ecall, checks that
 *   - sp, tp, gp are unchanged,
 *   - s0..s11 still hold their patterns,
 *   - a0 holds the expected return value,
 *   - (when check_all != 0) ra, a1..a7 and t3..t6 are unchanged as well:
 *     Linux preserves every register except a0 across ecall, and glibc's
 *     inline syscalls rely on it (they declare a1..a7 as inputs only).
 * It restores everything and returns 0, or a code naming the first register
 * found wrong (regs_fail_iter tells after how many ecalls).
 *
 * Lines: regs_fast (1,000,000 getpid), regs_slow (1,000 sched_yield and
 * 1,000 write(1, buf, 0)), regs_fast_all / regs_slow_all (the same with the
 * caller-saved registers checked too; fewer iterations). */
#include "t.h"
#include <sys/syscall.h>
#include <unistd.h>

long regs_run(long iters, long nr, long arg0, long arg1, long arg2, long expect, long check_all);
unsigned long regs_saved[5]; /* sp, tp, gp, last a0, iteration index at exit */

#define S0 0x9e3779b97f4a7c15
#define S1 0x3c6ef372fe94f82a
#define S2 0xdaa66d2c7ddf743f
#define S3 0x78dde6e5fd29f054
#define S4 0x1715609f7c746c69
#define S5 0xb54cda58fbbee87e
#define S6 0x538454127b096493
#define S7 0xf1bbcdcbfa53e0a8
#define S8 0x8ff34785799e5cbd
#define S9 0x2e2ac13ef8e8d8d2
#define S10 0xcc623af8783354e7
#define S11 0x6a99b4b1f77dd0fc
#define PA3 0x0a0a0a0a03030303
#define PA4 0x0a0a0a0a04040404
#define PA5 0x0a0a0a0a05050505
#define PA6 0x0a0a0a0a06060606
#define PT3 0x7e7e7e7e03030303
#define PT4 0x7e7e7e7e04040404
#define PT5 0x7e7e7e7e05050505
#define PT6 0x7e7e7e7e06060606

#define STR_(x) #x
#define STR(x) STR_(x)
/* CHK(reg, value, code): fail with `code` unless reg == value */
#define CHK(reg, val, code) "li t1, " STR(val) "\n li t2, " #code "\n bne " #reg ", t1, 90f\n"
/* CHKM(reg, offset, code): fail unless reg == the doubleword at offset(sp) */
#define CHKM(reg, off, code) "ld t1, " #off "(sp)\n li t2, " #code "\n bne " #reg ", t1, 90f\n"

/* frame (176 bytes): 0 ra, 8..96 s0..s11, 104 iters left, 112 nr,
 * 120/128/136 arg0..2, 144 iterations done, 152 expected a0, 160 check_all */
__asm__(
    ".text\n"
    ".option push\n"
    ".option norelax\n" /* no gp-relative relaxation: gp is under test */
    ".globl regs_run\n"
    ".type regs_run, @function\n"
    "regs_run:\n"
    "addi sp, sp, -176\n"
    "sd ra, 0(sp)\n sd s0, 8(sp)\n sd s1, 16(sp)\n sd s2, 24(sp)\n sd s3, 32(sp)\n"
    "sd s4, 40(sp)\n sd s5, 48(sp)\n sd s6, 56(sp)\n sd s7, 64(sp)\n sd s8, 72(sp)\n"
    "sd s9, 80(sp)\n sd s10, 88(sp)\n sd s11, 96(sp)\n"
    "sd a0, 104(sp)\n sd a1, 112(sp)\n sd a2, 120(sp)\n sd a3, 128(sp)\n sd a4, 136(sp)\n"
    "sd zero, 144(sp)\n sd a5, 152(sp)\n sd a6, 160(sp)\n"
    "lla t0, regs_saved\n sd sp, 0(t0)\n sd tp, 8(t0)\n sd gp, 16(t0)\n"
    "li s0, " STR(S0) "\n li s1, " STR(S1) "\n li s2, " STR(S2) "\n li s3, " STR(S3) "\n"
    "li s4, " STR(S4) "\n li s5, " STR(S5) "\n li s6, " STR(S6) "\n li s7, " STR(S7) "\n"
    "li s8, " STR(S8) "\n li s9, " STR(S9) "\n li s10, " STR(S10) "\n li s11, " STR(S11) "\n"
    "li a3, " STR(PA3) "\n li a4, " STR(PA4) "\n li a5, " STR(PA5) "\n li a6, " STR(PA6) "\n"
    "li t3, " STR(PT3) "\n li t4, " STR(PT4) "\n li t5, " STR(PT5) "\n li t6, " STR(PT6) "\n"
    "ld a7, 112(sp)\n"
    "1:\n"
    "ld a0, 120(sp)\n ld a1, 128(sp)\n ld a2, 136(sp)\n"
    "ecall\n"
    "lla t0, regs_saved\n sd a0, 24(t0)\n"
    "ld t1, 0(t0)\n li t2, 13\n bne sp, t1, 90f\n"
    "ld t1, 8(t0)\n li t2, 14\n bne tp, t1, 90f\n"
    "ld t1, 16(t0)\n li t2, 15\n bne gp, t1, 90f\n"
    CHK(s0, S0, 1) CHK(s1, S1, 2) CHK(s2, S2, 3) CHK(s3, S3, 4) CHK(s4, S4, 5) CHK(s5, S5, 6)
    CHK(s6, S6, 7) CHK(s7, S7, 8) CHK(s8, S8, 9) CHK(s9, S9, 10) CHK(s10, S10, 11) CHK(s11, S11, 12)
    CHKM(a0, 152, 16)
    "ld t1, 160(sp)\n beqz t1, 2f\n"
    CHKM(ra, 0, 17) CHKM(a1, 128, 18) CHKM(a2, 136, 19) CHKM(a7, 112, 20)
    CHK(a3, PA3, 21) CHK(a4, PA4, 22) CHK(a5, PA5, 23) CHK(a6, PA6, 24)
    CHK(t3, PT3, 25) CHK(t4, PT4, 26) CHK(t5, PT5, 27) CHK(t6, PT6, 28)
    "2:\n"
    "ld t1, 144(sp)\n addi t1, t1, 1\n sd t1, 144(sp)\n"
    "ld t1, 104(sp)\n addi t1, t1, -1\n sd t1, 104(sp)\n"
    "bnez t1, 1b\n"
    "li t2, 0\n"
    "90:\n"
    "mv a0, t2\n"
    "lla t0, regs_saved\n ld sp, 0(t0)\n ld tp, 8(t0)\n ld gp, 16(t0)\n"
    "ld t1, 144(sp)\n sd t1, 32(t0)\n"
    "ld ra, 0(sp)\n ld s0, 8(sp)\n ld s1, 16(sp)\n ld s2, 24(sp)\n ld s3, 32(sp)\n"
    "ld s4, 40(sp)\n ld s5, 48(sp)\n ld s6, 56(sp)\n ld s7, 64(sp)\n ld s8, 72(sp)\n"
    "ld s9, 80(sp)\n ld s10, 88(sp)\n ld s11, 96(sp)\n"
    "addi sp, sp, 176\n"
    "ret\n"
    ".size regs_run, .-regs_run\n"
    ".option pop\n");

static const char *code_name(long c)
{
    static const char *n[] = {
        "none", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
        "sp", "tp", "gp", "a0 (return value)", "ra", "a1", "a2", "a7",
        "a3", "a4", "a5", "a6", "t3", "t4", "t5", "t6",
    };
    return c >= 0 && c < (long)(sizeof n / sizeof n[0]) ? n[c] : "?";
}

/* run one loop; returns 1 on success, else prints nothing and fills why */
static int run(const char *what, long iters, long nr, long a0, long a1, long a2, long expect,
               long all, char *why, size_t whylen)
{
    long c = regs_run(iters, nr, a0, a1, a2, expect, all);
    if (c == 0)
        return 1;
    snprintf(why, whylen, "%s: %s changed after ecall #%lu (last a0=%ld)", what, code_name(c),
             regs_saved[4] + 1, (long)regs_saved[3]);
    return 0;
}

int main(void)
{
    t_init();
    static const char nothing[1];
    long pid = syscall(SYS_getpid);
    char why[256];

    for (int all = 0; all <= 1; all++) {
        long nfast = all ? 100000 : 1000000, nslow = all ? 200 : 1000;
        const char *nf = all ? "regs_fast_all" : "regs_fast";
        const char *ns = all ? "regs_slow_all" : "regs_slow";

        if (run("getpid", nfast, SYS_getpid, 0, 0, 0, pid, all, why, sizeof why))
            pass(nf);
        else
            fail(nf, "%s", why);

        if (run("sched_yield", nslow, SYS_sched_yield, 0, 0, 0, 0, all, why, sizeof why) &&
            run("write(1, buf, 0)", nslow, SYS_write, 1, (long)nothing, 0, 0, all, why, sizeof why))
            pass(ns);
        else
            fail(ns, "%s", why);
    }
    return t_exit();
}
