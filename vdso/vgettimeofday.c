/* clock_gettime, gettimeofday and clock_getres in user mode: the `time` CSR (rdtime, which the
 * kernel lets user mode read) and the data page give the same values as the kernel's system
 * calls (kernel/src/syscall/time.rs): CLOCK_MONOTONIC and its aliases are ticks since boot in
 * ns, CLOCK_REALTIME adds the kernel's realtime offset, with the same rounding. Anything the
 * data page cannot answer goes to the real system call, which also gives the errors: other
 * clocks (CPU-time clocks, CLOCK_TAI, invalid ids: EINVAL) and pointers that cannot be a
 * user's (NULL, the kernel half, misaligned: EFAULT). A pointer into an unmapped user page
 * faults here, as it does in Linux's vDSO. */
#include "vdso.h"

#define NSEC_PER_SEC 1000000000UL
/* End of the Sv39 user half: an address at or above it cannot be a user pointer. */
#define USER_END (1UL << 38)

/* The clocks answered here: REALTIME 0, MONOTONIC 1, MONOTONIC_RAW 4, REALTIME_COARSE 5,
 * MONOTONIC_COARSE 6, BOOTTIME 7; those of them that count from the epoch. */
#define CLOCKS_HERE ((1u << 0) | (1u << 1) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 7))
#define CLOCKS_REALTIME ((1u << 0) | (1u << 5))

struct kernel_timespec { long tv_sec; long tv_nsec; };
struct kernel_timeval { long tv_sec; long tv_usec; };
struct kernel_timezone { int tz_minuteswest; int tz_dsttime; };

extern const struct vdso_data _vdso_data __attribute__((visibility("hidden")));

int __vdso_clock_gettime(int clock, struct kernel_timespec *ts);
int __vdso_gettimeofday(struct kernel_timeval *tv, struct kernel_timezone *tz);
int __vdso_clock_getres(int clock, struct kernel_timespec *res);

static inline long syscall2(long nr, long arg0, long arg1)
{
    register long a0 __asm__("a0") = arg0;
    register long a1 __asm__("a1") = arg1;
    register long a7 __asm__("a7") = nr;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a7) : "memory");
    return a0;
}

/* Could `p` (`align`-aligned, 16 bytes) be a user pointer? If not, the system call answers. */
static inline int user_ptr(const void *p, unsigned long align)
{
    unsigned long a = (unsigned long)p;
    return ((a & (align - 1)) == 0) & (a - 4096 < USER_END - 4096 - 16);
}

static inline u64 rdtime(void)
{
    u64 t;
    __asm__ volatile("rdtime %0" : "=r"(t));
    return t;
}

#define READ_FENCE() __asm__ volatile("fence r, r" ::: "memory")

/* Nanoseconds of CLOCK_MONOTONIC (plus the realtime offset if `realtime`) into *ns, as the
 * kernel computes them: ticks * 1e9 / timebase, rounded down, and the offset added. 0 if the
 * data page says to use the system call. */
static inline int read_ns(int realtime, u64 *ns)
{
    const volatile struct vdso_data *d = &_vdso_data;
    u32 seq;
    u64 t, tb, mult, off;
    for (;;) {
        seq = d->seq;
        READ_FENCE();
        if (!d->enabled)
            return 0;
        tb = d->timebase;
        mult = d->ns_per_tick;
        off = realtime ? d->realtime_offset : 0;
        t = rdtime();
        READ_FENCE();
        if (!(seq & 1) && d->seq == seq)
            break;
    }
    if (mult)
        *ns = off + t * mult;
    else /* floor(t * 1e9 / tb) without a 128-bit product: t = q * tb + r */
        *ns = off + (t / tb) * NSEC_PER_SEC + (t % tb) * NSEC_PER_SEC / tb;
    return 1;
}

int __vdso_clock_gettime(int clock, struct kernel_timespec *ts)
{
    u64 ns;
    if ((unsigned)clock >= 32 || !((CLOCKS_HERE >> clock) & 1) || !user_ptr(ts, 8) ||
        !read_ns((CLOCKS_REALTIME >> clock) & 1, &ns))
        return syscall2(NR_clock_gettime, clock, (long)ts);
    ts->tv_sec = ns / NSEC_PER_SEC;
    ts->tv_nsec = ns % NSEC_PER_SEC;
    return 0;
}

int __vdso_gettimeofday(struct kernel_timeval *tv, struct kernel_timezone *tz)
{
    u64 ns;
    if ((tv && !user_ptr(tv, 8)) || (tz && !user_ptr(tz, 4)))
        return syscall2(NR_gettimeofday, (long)tv, (long)tz);
    if (tv) {
        if (!read_ns(1, &ns))
            return syscall2(NR_gettimeofday, (long)tv, (long)tz);
        tv->tv_sec = ns / NSEC_PER_SEC;
        tv->tv_usec = ns % NSEC_PER_SEC / 1000;
    }
    if (tz) {
        tz->tz_minuteswest = 0;
        tz->tz_dsttime = 0;
    }
    return 0;
}

int __vdso_clock_getres(int clock, struct kernel_timespec *res)
{
    const volatile struct vdso_data *d = &_vdso_data;
    if ((unsigned)clock >= 32 || !((CLOCKS_HERE >> clock) & 1) || !d->enabled ||
        (res && !user_ptr(res, 8)))
        return syscall2(NR_clock_getres, clock, (long)res);
    if (res) {
        res->tv_sec = 0;
        res->tv_nsec = d->resolution_ns;
    }
    return 0;
}
