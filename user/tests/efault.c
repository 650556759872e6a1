/* efault: system calls given bad user pointers must fail with EFAULT (and not
 * kill the process or crash the kernel).  All through raw syscall() so that
 * no libc/vDSO code touches the pointer first.  One PASS line per case. */
#include "t.h"
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define KADDR 0xffffffc080200000UL /* a typical riscv64 kernel address (sv39) */

int main(void)
{
    t_init();
    static const char buf[16] = "\n";
    struct timespec ts;

    EXPECT_ERR("write_addr1", syscall(SYS_write, 1, (void *)1, 10), EFAULT);
    EXPECT_ERR("write_null", syscall(SYS_write, 1, (void *)0, 10), EFAULT);
    EXPECT_ERR("write_kernel", syscall(SYS_write, 1, (void *)KADDR, 10), EFAULT);
    EXPECT_ERR("write_huge_len", syscall(SYS_write, 1, buf, SIZE_MAX / 2), EFAULT);
    EXPECT_ERR("clock_gettime_bad", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void *)8), EFAULT);
    EXPECT_ERR("clock_gettime_kernel", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void *)KADDR),
               EFAULT);
    EXPECT_ERR("gettimeofday_bad", syscall(SYS_gettimeofday, (void *)8, NULL), EFAULT);
    EXPECT_ERR("uname_null", syscall(SYS_uname, NULL), EFAULT);
    EXPECT_ERR("uname_kernel", syscall(SYS_uname, (void *)KADDR), EFAULT);
    /* still alive and working: a valid call right after */
    check(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) == 0, "efault_alive",
          "clock_gettime after the faults: errno %d", errno);
    return t_exit();
}
