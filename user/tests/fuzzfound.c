/* fuzzfound: regression tests for the kernel bugs the vfuzz fuzzer found (issue 14).
 * Each check states the Linux behaviour it asserts.
 *   path_trailing_slash  - open/stat/execve of "FILE/" and "FILE/." and "FILE/.." are ENOTDIR
 *   path_missing_dir     - "/nonexistent/x" is ENOENT, "/bin/../bin/hello" still opens
 *   sigsuspend_args      - rt_sigsuspend with a size other than 8 is EINVAL, a bad mask EFAULT
 *   rw_count_clamp       - write(/dev/null, NULL, 4 GiB) returns 0x7ffff000 (MAX_RW_COUNT)
 *   rw_count_efault      - a count that runs past user space is EFAULT (access_ok), also for
 *                          pwrite64; a count with the top bit set is EFAULT, never a "negative"
 *   vfork_thread         - clone(CLONE_VM|CLONE_VFORK|CLONE_THREAD|CLONE_SIGHAND) returns once
 *                          the new thread exits (the vfork wait is per task, not per process)
 *   shared_mmap_huge     - a MAP_SHARED|MAP_ANONYMOUS mapping far larger than RAM fails fast
 *                          with ENOMEM (Velox populates shared memory; Linux would map it
 *                          lazily and succeed: the assertion here is only "fast, no hang") */
#include "t.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void paths(void)
{
    struct stat st;
    EXPECT_ERR("path_open_slash", open("/bin/hello/", O_RDONLY), ENOTDIR);
    EXPECT_ERR("path_stat_slash", stat("/bin/hello/", &st), ENOTDIR);
    EXPECT_ERR("path_open_dot", open("/bin/hello/.", O_RDONLY), ENOTDIR);
    EXPECT_ERR("path_open_dotdot", open("/bin/hello/..", O_RDONLY), ENOTDIR);
    EXPECT_ERR("path_open_below_file", open("/bin/hello/x", O_RDONLY), ENOTDIR);
    EXPECT_ERR("path_missing_dir", open("/nonexistent/x", O_RDONLY), ENOENT);
    int fd = open("/bin/../bin/./hello", O_RDONLY);
    check(fd >= 0, "path_dotdot_ok", "open(/bin/../bin/./hello) = %d (%s)", fd, strerror(errno));
    if (fd >= 0)
        close(fd);
    pid_t p = fork();
    if (p == 0) {
        char *argv[] = {"hello", NULL};
        execve("/bin/hello/", argv, argv + 1);
        _exit(errno == ENOTDIR ? 42 : 43);
    }
    int ws = 0;
    waitpid(p, &ws, 0);
    check(WIFEXITED(ws) && WEXITSTATUS(ws) == 42, "path_execve_slash", "child status %#x (42 = ENOTDIR)", ws);
}

static void sigsuspend_args(void)
{
    uint64_t mask = 0;
    EXPECT_ERR("sigsuspend_size", syscall(SYS_rt_sigsuspend, &mask, 4), EINVAL);
    EXPECT_ERR("sigsuspend_size0", syscall(SYS_rt_sigsuspend, &mask, 0), EINVAL);
    EXPECT_ERR("sigsuspend_efault", syscall(SYS_rt_sigsuspend, (void *)8, 8), EFAULT);
}

static void rw_counts(void)
{
    int fd = open("/dev/null", O_WRONLY);
    long r = syscall(SYS_write, fd, 0, 1UL << 32);
    check(r == 0x7ffff000, "rw_count_clamp", "write(null, NULL, 4 GiB) = %#lx, want 0x7ffff000", r);
    EXPECT_ERR("rw_count_efault", syscall(SYS_write, fd, 0x1000, 0x7fffffffffffffffUL), EFAULT);
    EXPECT_ERR("rw_count_topbit", syscall(SYS_write, fd, 0x1000, 0xffffffffffffff00UL), EFAULT);
    EXPECT_ERR("pwrite_count_efault", syscall(SYS_pwrite64, fd, 0x1000, 0x7fffffffffffffffUL, 0), EFAULT);
    r = syscall(SYS_pwrite64, fd, 0, 1UL << 32, 0);
    check(r == 0x7ffff000, "pwrite_count_clamp", "pwrite64(null, NULL, 4 GiB) = %#lx", r);
    close(fd);
}

/* clone with flags; the child (a thread or process sharing our memory) exits at once. */
static long clone_exit_child(unsigned long flags)
{
    register long a0 __asm__("a0") = (long)flags;
    register long a1 __asm__("a1") = 0, a2 __asm__("a2") = 0, a3 __asm__("a3") = 0, a4 __asm__("a4") = 0;
    register long a7 __asm__("a7") = SYS_clone;
    __asm__ volatile("ecall\n\tbnez a0, 1f\n2:\tli a7, 93\n\tli a0, 0\n\tecall\n\tj 2b\n1:"
                     : "+r"(a0), "+r"(a7) : "r"(a1), "r"(a2), "r"(a3), "r"(a4) : "memory");
    return a0;
}

static void vfork_thread(void)
{
    pid_t p = fork();
    if (p == 0) {
        long r = clone_exit_child(CLONE_VM | CLONE_VFORK | CLONE_THREAD | CLONE_SIGHAND);
        _exit(r > 0 ? 0 : 1);
    }
    long long t0 = now_ms();
    int ws = 0;
    pid_t w = 0;
    while ((w = waitpid(p, &ws, WNOHANG)) == 0 && now_ms() - t0 < 3000) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    if (w == 0) {
        kill(p, SIGKILL);
        waitpid(p, &ws, 0);
    }
    check(w == p && WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "vfork_thread",
          "clone(VM|VFORK|THREAD|SIGHAND) %s, status %#x", w ? "returned" : "still blocked after 3 s", ws);
}

static void shared_huge(void)
{
    long long t0 = now_ms();
    void *m = mmap(NULL, 64UL << 30, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    long long dt = now_ms() - t0;
    if (m != MAP_FAILED)
        munmap(m, 64UL << 30);
    check(dt < 500, "shared_mmap_huge", "64 GiB shared mapping took %lld ms (%s)", dt,
          m == MAP_FAILED ? strerror(errno) : "mapped");
}

int main(void)
{
    t_init();
    paths();
    sigsuspend_args();
    rw_counts();
    vfork_thread();
    shared_huge();
    return t_exit();
}
