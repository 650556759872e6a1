/* enosys: system call numbers that riscv64 Linux does not assign must return
 * -1/ENOSYS and leave the process working.
 * riscv64 uses the asm-generic table: 0..294 (with holes), 403..423 are
 * 32-bit-only (time64) and unassigned on 64-bit, 424..~460 are new calls,
 * 244..259 are the arch-specific block (258 riscv_hwprobe, 259 riscv_flush_icache).
 * 300 (in the 295..402 gap), 403 (clock_gettime64, 32-bit only), 1000, 4095,
 * 0x7fffffff and -1 are all unassigned. */
#include "t.h"
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    t_init();
    EXPECT_ERR("enosys_300", syscall(300), ENOSYS);
    EXPECT_ERR("enosys_403", syscall(403, CLOCK_MONOTONIC, (void *)0), ENOSYS);
    EXPECT_ERR("enosys_1000", syscall(1000), ENOSYS);
    EXPECT_ERR("enosys_4095", syscall(4095), ENOSYS);
    EXPECT_ERR("enosys_7fffffff", syscall(0x7fffffffL), ENOSYS);
    EXPECT_ERR("enosys_minus1", syscall(-1L), ENOSYS);
    EXPECT_ERR("enosys_args", syscall(1000, 1L, 2L, 3L, 4L, 5L, 6L), ENOSYS);
    /* the process still works */
    struct timespec ts;
    long pid = syscall(SYS_getpid);
    check(pid > 0 && syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) == 0, "enosys_alive",
          "getpid %ld errno %d", pid, errno);
    return t_exit();
}
