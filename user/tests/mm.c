/* mm: memory-management system calls.
 *   brk_query      - brk(0) returns the current break (> 0)
 *   brk_grow       - brk(cur + 1 MiB) returns it; every byte of the new
 *                    1 MiB is zero, writable and reads back
 *   brk_shrink     - brk(cur) shrinks back and returns cur
 *   brk_regrow     - growing again gives zero-filled memory (old contents gone)
 *   sbrk           - glibc sbrk(64 KiB) / sbrk(-64 KiB) round trip
 *   mmap_16m       - anonymous private 16 MiB RW mapping: zero-filled, every
 *                    page written with a distinct value then verified
 *   munmap_16m     - munmap returns 0 (the memory is not touched afterwards)
 *   mprotect       - a page made PROT_READ is still readable, then RW again and writable
 *   mmap_fixed     - MAP_FIXED over the middle page of a 3-page mapping gives
 *                    a fresh zero page and leaves the neighbours intact
 *   munmap_partial - unmapping the middle page of a 3-page mapping, then
 *                    mapping it again with MAP_FIXED_NOREPLACE works
 *   mmap_len0      - mmap length 0 -> EINVAL
 *   munmap_unaligned - munmap at a non-page-aligned address -> EINVAL
 *   mmap_badflags  - flags with neither MAP_PRIVATE nor MAP_SHARED -> EINVAL
 *   mmap_unaligned_fixed - MAP_FIXED at a non-page-aligned address -> EINVAL
 *   mprotect_unaligned - mprotect at a non-page-aligned address -> EINVAL */
#include "t.h"
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PG 4096UL
#define MiB (1024UL * 1024UL)

static void *raw_mmap(void *a, size_t len, int prot, int flags)
{
    return (void *)syscall(SYS_mmap, a, len, prot, flags, -1L, 0L);
}

static void test_brk(void)
{
    unsigned long cur = syscall(SYS_brk, 0);
    check(cur != 0 && cur != (unsigned long)-1, "brk_query", "brk(0) = %#lx", cur);

    unsigned long want = cur + MiB;
    unsigned long got = syscall(SYS_brk, want);
    if (got != want) {
        fail("brk_grow", "brk(%#lx) = %#lx", want, got);
        return;
    }
    volatile unsigned char *p = (volatile unsigned char *)cur;
    int ok = 1;
    for (unsigned long i = 0; i < MiB; i++)
        if (p[i] != 0) {
            fail("brk_grow", "byte %lu of new brk memory is %#x, not 0", i, p[i]);
            ok = 0;
            break;
        }
    for (unsigned long i = 0; ok && i < MiB; i++)
        p[i] = (unsigned char)(i * 7 + 1);
    for (unsigned long i = 0; ok && i < MiB; i++)
        if (p[i] != (unsigned char)(i * 7 + 1)) {
            fail("brk_grow", "byte %lu reads %#x", i, p[i]);
            ok = 0;
        }
    if (ok)
        pass("brk_grow");

    got = syscall(SYS_brk, cur);
    check(got == cur, "brk_shrink", "brk(%#lx) = %#lx", cur, got);

    /* grow again: the pages freed by the shrink must come back zeroed
     * (only the whole pages above the page-rounded old break are checked) */
    got = syscall(SYS_brk, want);
    if (got != want) {
        fail("brk_regrow", "brk(%#lx) = %#lx", want, got);
    } else {
        unsigned long start = (cur + PG - 1) & ~(PG - 1);
        ok = 1;
        for (unsigned long a = start; a < want; a++)
            if (*(volatile unsigned char *)a != 0) {
                fail("brk_regrow", "byte at %#lx is %#x after shrink+grow", a,
                     *(volatile unsigned char *)a);
                ok = 0;
                break;
            }
        if (ok)
            pass("brk_regrow");
        syscall(SYS_brk, cur);
    }

    /* glibc sbrk (keeps its own copy of the break) */
    void *o = sbrk(0);
    void *a = sbrk(64 * 1024);
    if (a == (void *)-1 || a != o) {
        fail("sbrk", "sbrk(64K) = %p, sbrk(0) was %p, errno %d", a, o, errno);
        return;
    }
    memset(a, 0x5a, 64 * 1024);
    void *b = sbrk(-64 * 1024);
    void *c = sbrk(0);
    check(b == (char *)o + 64 * 1024 && c == o, "sbrk", "sbrk(-64K) = %p, sbrk(0) = %p, want %p", b,
          c, o);
}

static void test_mmap_big(void)
{
    size_t len = 16 * MiB, n = len / PG;
    uint64_t *m = raw_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if ((long)m < 0 && (long)m > -4096) {
        fail("mmap_16m", "mmap failed: %ld", (long)m);
        return;
    }
    int ok = ((uintptr_t)m & (PG - 1)) == 0;
    if (!ok)
        fail("mmap_16m", "address %p not page aligned", (void *)m);
    for (size_t i = 0; ok && i < n; i++) {
        uint64_t *pg = m + i * (PG / 8);
        if (pg[0] != 0 || pg[PG / 8 - 1] != 0) {
            fail("mmap_16m", "page %zu not zero-filled", i);
            ok = 0;
        }
        pg[0] = 0xabcd000000000000ULL | i;
        pg[PG / 8 - 1] = ~(uint64_t)i;
    }
    for (size_t i = 0; ok && i < n; i++) {
        uint64_t *pg = m + i * (PG / 8);
        if (pg[0] != (0xabcd000000000000ULL | i) || pg[PG / 8 - 1] != ~(uint64_t)i) {
            fail("mmap_16m", "page %zu reads %#llx/%#llx", i, (unsigned long long)pg[0],
                 (unsigned long long)pg[PG / 8 - 1]);
            ok = 0;
        }
    }
    if (ok)
        pass("mmap_16m");
    long r = syscall(SYS_munmap, m, len);
    check(r == 0, "munmap_16m", "munmap = %ld errno %d", r, errno);
}

static void test_mprotect(void)
{
    volatile int *p = raw_mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if ((long)p < 0 && (long)p > -4096) {
        fail("mprotect", "mmap failed");
        return;
    }
    p[0] = 1234;
    long r1 = syscall(SYS_mprotect, p, PG, PROT_READ);
    int v = p[0];
    long r2 = syscall(SYS_mprotect, p, PG, PROT_READ | PROT_WRITE);
    if (r2 == 0)
        p[1] = 5678;
    check(r1 == 0 && v == 1234 && r2 == 0 && p[1] == 5678 && p[0] == 1234, "mprotect",
          "mprotect R %ld, read %d, mprotect RW %ld", r1, v, r2);
    syscall(SYS_munmap, p, PG);
}

static void test_fixed(void)
{
    char *m = raw_mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if ((long)m < 0 && (long)m > -4096) {
        fail("mmap_fixed", "mmap failed");
        return;
    }
    memset(m, 'A', 3 * PG);
    char *f = raw_mmap(m + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    check(f == m + PG && f[0] == 0 && f[PG - 1] == 0 && m[0] == 'A' && m[PG - 1] == 'A' &&
              m[2 * PG] == 'A' && m[3 * PG - 1] == 'A',
          "mmap_fixed", "MAP_FIXED returned %p for %p (or contents wrong)", (void *)f, (void *)(m + PG));

    long r = syscall(SYS_munmap, m + PG, PG);
    char *g = raw_mmap(m + PG, PG, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
    check(r == 0 && g == m + PG && g[0] == 0 && m[0] == 'A' && m[2 * PG] == 'A', "munmap_partial",
          "munmap %ld, re-mmap %p for %p", r, (void *)g, (void *)(m + PG));
    syscall(SYS_munmap, m, 3 * PG);
}

static void test_errors(void)
{
    EXPECT_ERR("mmap_len0", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
    char *m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_ERR("munmap_unaligned", syscall(SYS_munmap, m + 1, PG), EINVAL);
    EXPECT_ERR("mmap_badflags", mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
    EXPECT_ERR("mmap_unaligned_fixed",
               mmap(m + 1, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL);
    EXPECT_ERR("mprotect_unaligned", syscall(SYS_mprotect, m + 1, PG, PROT_READ), EINVAL);
    munmap(m, 2 * PG);
}

int main(void)
{
    t_init();
    test_brk();
    test_mmap_big();
    test_mprotect();
    test_fixed();
    test_errors();
    return t_exit();
}
