/* entropy: getrandom and AT_RANDOM (issue 14).
 * `entropy`: checks fill, fill_1m (rough byte histogram), calls_differ, flags_ok,
 * flags_einval, flags_random_insecure, efault_null, efault_kernel, efault_unmapped,
 * partial_count, len_zero, huge_len, fork_differs, at_random.
 * `entropy print`: prints "AT_RANDOM <32 hex>" and "GETRANDOM <32 hex>" only (no checks), for
 * scripts/entropy-check.sh, which compares them across boots. */
#include "t.h"
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef GRND_INSECURE
#define GRND_INSECURE 0x0004
#endif
#define MAX_RW_COUNT 0x7ffff000UL
#define USER_END 0x4000000000UL /* Sv39 TASK_SIZE */

static long grnd(void *buf, size_t len, unsigned flags) { return syscall(SYS_getrandom, buf, len, flags); }

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void hex(const char *tag, const unsigned char *p, size_t n)
{
    printf("%s ", tag);
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    printf("\n");
}

int main(int argc, char **argv)
{
    t_init();
    const unsigned char *atr = (const unsigned char *)getauxval(AT_RANDOM);
    if (argc > 1 && strcmp(argv[1], "print") == 0) {
        unsigned char b[16] = {0};
        if (!atr || grnd(b, sizeof b, 0) != sizeof b)
            return 1;
        hex("AT_RANDOM", atr, 16);
        hex("GETRANDOM", b, 16);
        return 0;
    }

    unsigned char a[64], b[64];
    memset(a, 0, sizeof a);
    long r = grnd(a, sizeof a, 0);
    check(r == 64 && !all_zero(a, sizeof a), "fill", "ret %ld errno %d", r, errno);

    size_t big = 1 << 20;
    unsigned char *m = malloc(big);
    r = grnd(m, big, 0);
    unsigned hist[256] = {0}, lo = ~0u, hi = 0;
    for (size_t i = 0; i < big; i++)
        hist[m[i]]++;
    for (int i = 0; i < 256; i++) {
        lo = hist[i] < lo ? hist[i] : lo;
        hi = hist[i] > hi ? hist[i] : hi;
    }
    /* Expected 4096 per value, standard deviation ~64: [3600, 4600] is > 7 sigma wide. */
    check(r == (long)big && lo > 3600 && hi < 4600, "fill_1m", "ret %ld, byte counts %u..%u", r, lo, hi);
    free(m);

    grnd(a, 32, 0);
    grnd(b, 32, 0);
    check(memcmp(a, b, 32) != 0, "calls_differ", "two 32-byte calls returned the same bytes");

    long r1 = grnd(a, 16, GRND_NONBLOCK), r2 = grnd(a, 16, GRND_RANDOM),
         r3 = grnd(a, 16, GRND_INSECURE), r4 = grnd(a, 16, GRND_RANDOM | GRND_NONBLOCK);
    check(r1 == 16 && r2 == 16 && r3 == 16 && r4 == 16, "flags_ok", "ret %ld %ld %ld %ld", r1, r2, r3, r4);

    errno = 0;
    r1 = grnd(a, 16, 0x8);
    int e1 = errno;
    errno = 0;
    r2 = grnd(a, 16, 0x80000000u);
    int e2 = errno;
    check(r1 == -1 && e1 == EINVAL && r2 == -1 && e2 == EINVAL, "flags_einval", "ret %ld/%d %ld/%d", r1, e1, r2,
          e2);
    EXPECT_ERR("flags_random_insecure", grnd(a, 16, GRND_RANDOM | GRND_INSECURE), EINVAL);
    EXPECT_ERR("efault_null", grnd(NULL, 16, 0), EFAULT);
    EXPECT_ERR("efault_kernel", grnd((void *)0xffffffc000200000UL, 16, 0), EFAULT);

    /* Two pages, the second unmapped: a buffer straddling the hole gets the mapped part. */
    unsigned char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        fail("efault_unmapped", "mmap errno %d", errno);
    } else {
        munmap(p + 4096, 4096);
        EXPECT_ERR("efault_unmapped", grnd(p + 4096, 16, 0), EFAULT);
        memset(p, 0, 4096);
        r = grnd(p + 4096 - 100, 300, 0);
        check(r == 100 && !all_zero(p + 4096 - 100, 100), "partial_count", "ret %ld errno %d (want 100)", r,
              errno);
        check(grnd(p, 0, 0) == 0 && grnd(NULL, 0, 0) == 0, "len_zero", "len 0 did not return 0");
        /* SIZE_MAX is capped at MAX_RW_COUNT; Linux then rejects the whole range if it passes the
         * end of user space, else copies up to the hole. */
        errno = 0;
        r = grnd(p, SIZE_MAX, 0);
        int e = errno;
        if ((uintptr_t)p + MAX_RW_COUNT > USER_END)
            check(r == -1 && e == EFAULT, "huge_len", "ret %ld errno %d (want EFAULT: range past user space)", r, e);
        else
            check(r == 4096, "huge_len", "ret %ld errno %d (want 4096)", r, e);
        munmap(p, 4096);
    }

    /* Parent and child draw different bytes after fork (canaries of a forked server differ). */
    int fds[2];
    if (pipe(fds) == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            unsigned char c[16];
            grnd(c, sizeof c, 0);
            _exit(write(fds[1], c, sizeof c) == sizeof c ? 0 : 1);
        }
        unsigned char pc[16], cc[16];
        grnd(pc, sizeof pc, 0);
        int st = 0;
        waitpid(pid, &st, 0);
        long n = read(fds[0], cc, sizeof cc);
        check(n == 16 && memcmp(pc, cc, 16) != 0, "fork_differs", "read %ld, same bytes %d", n,
              n == 16 && memcmp(pc, cc, 16) == 0);
        close(fds[0]);
        close(fds[1]);
    } else {
        fail("fork_differs", "pipe errno %d", errno);
    }

    check(atr && !all_zero(atr, 16), "at_random", "getauxval(AT_RANDOM) = %p%s", (void *)atr,
          atr ? " (16 zero bytes)" : "");
    return t_exit();
}
