/* fastpath: the cheap "identity and time" system calls, each through the raw
 * syscall() (always an ecall) and through the libc wrapper (which may use the
 * vDSO for the clocks).  Checks the answers agree and are sane, and prints
 *   VALUES pid=<> ppid=<> uid=<> euid=<> gid=<> egid=<>
 * so that an outer script can compare two kernels' answers. */
#include "t.h"
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const struct { clockid_t id; const char *name; int monotonic; } clocks[] = {
    { CLOCK_REALTIME, "realtime", 0 },
    { CLOCK_MONOTONIC, "monotonic", 1 },
    { CLOCK_MONOTONIC_RAW, "monotonic_raw", 1 },
    { CLOCK_BOOTTIME, "boottime", 1 },
    { CLOCK_PROCESS_CPUTIME_ID, "process_cputime", 1 },
    { CLOCK_THREAD_CPUTIME_ID, "thread_cputime", 1 },
};

static int64_t ns(const struct timespec *t) { return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec; }

static void ids(void)
{
    long pid = syscall(SYS_getpid), tid = syscall(SYS_gettid), ppid = syscall(SYS_getppid);
    long uid = syscall(SYS_getuid), euid = syscall(SYS_geteuid);
    long gid = syscall(SYS_getgid), egid = syscall(SYS_getegid);

    check(pid > 0 && pid == getpid(), "getpid", "raw %ld wrapper %ld", pid, (long)getpid());
    check(tid > 0 && tid == gettid(), "gettid", "raw %ld wrapper %ld", tid, (long)gettid());
    check(pid == tid, "pid_eq_tid", "pid %ld tid %ld in a single-threaded process", pid, tid);
    check(ppid >= 0 && ppid == getppid(), "getppid", "raw %ld wrapper %ld", ppid, (long)getppid());
    check(ppid != pid, "ppid_ne_pid", "ppid %ld == pid", ppid);
    check(uid >= 0 && uid == getuid(), "getuid", "raw %ld wrapper %ld", uid, (long)getuid());
    check(euid >= 0 && euid == geteuid(), "geteuid", "raw %ld wrapper %ld", euid, (long)geteuid());
    check(gid >= 0 && gid == getgid(), "getgid", "raw %ld wrapper %ld", gid, (long)getgid());
    check(egid >= 0 && egid == getegid(), "getegid", "raw %ld wrapper %ld", egid, (long)getegid());
    /* repeated calls give the same answer */
    int same = 1;
    for (int i = 0; i < 1000; i++)
        if (syscall(SYS_getpid) != pid || getpid() != pid || syscall(SYS_getuid) != uid)
            same = 0;
    check(same, "ids_stable", "getpid/getuid changed over 1000 calls");
    printf("VALUES pid=%ld ppid=%ld uid=%ld euid=%ld gid=%ld egid=%ld\n",
           pid, ppid, uid, euid, gid, egid);
}

static void one_clock(clockid_t id, const char *cname, int monotonic)
{
    char name[64];
    struct timespec a, b;

    /* raw */
    snprintf(name, sizeof name, "clock_%s_syscall", cname);
    long r = syscall(SYS_clock_gettime, id, &a);
    if (r != 0)
        fail(name, "ret %ld errno %d", r, errno);
    else if (a.tv_nsec < 0 || a.tv_nsec >= 1000000000 || a.tv_sec < 0)
        fail(name, "bad timespec %lld.%09ld", (long long)a.tv_sec, a.tv_nsec);
    else
        pass(name);

    /* wrapper */
    snprintf(name, sizeof name, "clock_%s_libc", cname);
    r = clock_gettime(id, &b);
    if (r != 0)
        fail(name, "ret %ld errno %d", r, errno);
    else if (b.tv_nsec < 0 || b.tv_nsec >= 1000000000 || b.tv_sec < 0)
        fail(name, "bad timespec %lld.%09ld", (long long)b.tv_sec, b.tv_nsec);
    else if (ns(&b) - ns(&a) > 1000000000LL || ns(&b) - ns(&a) < -1000000000LL)
        fail(name, "raw %lld.%09ld vs libc %lld.%09ld differ by > 1 s",
             (long long)a.tv_sec, a.tv_nsec, (long long)b.tv_sec, b.tv_nsec);
    else
        pass(name);

    if (!monotonic)
        return;
    /* non-decreasing over 1000 reads, alternating raw and wrapper */
    snprintf(name, sizeof name, "clock_%s_nondecreasing", cname);
    struct timespec prev, cur;
    syscall(SYS_clock_gettime, id, &prev);
    for (int i = 0; i < 1000; i++) {
        if (i & 1)
            clock_gettime(id, &cur);
        else
            syscall(SYS_clock_gettime, id, &cur);
        if (cur.tv_nsec < 0 || cur.tv_nsec >= 1000000000) {
            fail(name, "read %d: tv_nsec %ld", i, cur.tv_nsec);
            return;
        }
        if (ns(&cur) < ns(&prev)) {
            fail(name, "read %d went back: %lld.%09ld -> %lld.%09ld", i,
                 (long long)prev.tv_sec, prev.tv_nsec, (long long)cur.tv_sec, cur.tv_nsec);
            return;
        }
        prev = cur;
    }
    pass(name);
}

static void times(void)
{
    for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++)
        one_clock(clocks[i].id, clocks[i].name, clocks[i].monotonic);

    /* gettimeofday, raw and wrapper, against CLOCK_REALTIME */
    struct timeval tv1, tv2;
    struct timespec rt;
    long r1 = syscall(SYS_gettimeofday, &tv1, NULL);
    int r2 = gettimeofday(&tv2, NULL);
    clock_gettime(CLOCK_REALTIME, &rt);
    check(r1 == 0 && tv1.tv_usec >= 0 && tv1.tv_usec < 1000000, "gettimeofday_raw",
          "ret %ld usec %ld", r1, (long)tv1.tv_usec);
    check(r2 == 0 && tv2.tv_usec >= 0 && tv2.tv_usec < 1000000, "gettimeofday_libc",
          "ret %d usec %ld", r2, (long)tv2.tv_usec);
    int64_t d1 = ns(&rt) - ((int64_t)tv1.tv_sec * 1000000000 + tv1.tv_usec * 1000LL);
    int64_t d2 = ns(&rt) - ((int64_t)tv2.tv_sec * 1000000000 + tv2.tv_usec * 1000LL);
    check(d1 > -1000000000LL && d1 < 1000000000LL && d2 > -1000000000LL && d2 < 1000000000LL,
          "gettimeofday_vs_realtime", "differs from CLOCK_REALTIME by %lld / %lld ns",
          (long long)d1, (long long)d2);
    /* a NULL tv with a NULL tz is allowed */
    check(syscall(SYS_gettimeofday, NULL, NULL) == 0, "gettimeofday_null", "errno %d", errno);

    /* invalid clock id */
    struct timespec ts;
    EXPECT_ERR("clock_invalid_raw", syscall(SYS_clock_gettime, 12345, &ts), EINVAL);
    EXPECT_ERR("clock_invalid_libc", clock_gettime((clockid_t)12345, &ts), EINVAL);

    /* clock_getres of CLOCK_MONOTONIC: 0 s and 0 < nsec <= 1 ms (Linux: 1 ns) */
    struct timespec res = { -1, -1 };
    long rr = syscall(SYS_clock_getres, CLOCK_MONOTONIC, &res);
    check(rr == 0 && res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000,
          "clock_getres", "ret %ld res %lld.%09ld", rr, (long long)res.tv_sec, res.tv_nsec);
}

int main(void)
{
    t_init();
    ids();
    times();
    return t_exit();
}
