/* bigwrite: write(2)/writev(2) to stdout.
 *   writev           - 3 iovecs "abc" "def" "ghi\n" print the one line "abcdefghi", returns 10
 *   writev_zero      - iovcnt 0 returns 0
 *   writev_empty_iov - zero-length iovecs (even with a NULL base) are skipped
 *   writev_bad_base  - an iovec whose base is unmapped -> EFAULT
 *   writev_bad_array - the iovec array itself unmapped -> EFAULT
 *   writev_too_many  - iovcnt 1025 (> IOV_MAX 1024) -> EINVAL
 *   writev_negative  - iovcnt -1 -> EINVAL
 *   bigwrite         - one write(2) of 5,120 bytes (64 lines "BIGWRITE nn xxx...")
 *                      from a buffer straddling a page boundary returns 5120
 *   bigwritev        - the same through writev with 64 iovecs, one per line */
#include "t.h"
#include <limits.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define LINES 64
#define LINE 80

int main(void)
{
    t_init();
    long r;

    struct iovec v[3] = { { "abc", 3 }, { "def", 3 }, { "ghi\n", 4 } };
    r = syscall(SYS_writev, 1, v, 3);
    check(r == 10, "writev", "returned %ld (errno %d), want 10", r, errno);

    r = syscall(SYS_writev, 1, v, 0);
    check(r == 0, "writev_zero", "returned %ld (errno %d), want 0", r, errno);

    struct iovec e[3] = { { NULL, 0 }, { "E\n", 2 }, { (void *)1, 0 } };
    r = syscall(SYS_writev, 1, e, 3);
    check(r == 2, "writev_empty_iov", "returned %ld (errno %d), want 2", r, errno);

    struct iovec bad[1] = { { (void *)1, 10 } };
    EXPECT_ERR("writev_bad_base", syscall(SYS_writev, 1, bad, 1), EFAULT);
    EXPECT_ERR("writev_bad_array", syscall(SYS_writev, 1, (void *)8, 1), EFAULT);

    static struct iovec many[IOV_MAX + 1];
    for (int i = 0; i <= IOV_MAX; i++) {
        many[i].iov_base = "";
        many[i].iov_len = 0;
    }
    EXPECT_ERR("writev_too_many", syscall(SYS_writev, 1, many, IOV_MAX + 1), EINVAL);
    EXPECT_ERR("writev_negative", syscall(SYS_writev, 1, v, -1L), EINVAL);

    /* 5 KiB in one write, from a buffer that straddles a page boundary */
    char *pages = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED) {
        fail("bigwrite", "mmap errno %d", errno);
        return 1;
    }
    char *buf = pages + 4096 - 1000;
    for (int l = 0; l < LINES; l++) {
        char *p = buf + l * LINE;
        snprintf(p, LINE, "BIGWRITE %02d ", l);
        for (int k = 12; k < LINE - 1; k++)
            p[k] = 'a' + (l + k) % 26;
        p[LINE - 1] = '\n';
    }
    r = syscall(SYS_write, 1, buf, LINES * LINE);
    check(r == LINES * LINE, "bigwrite", "returned %ld (errno %d), want %d", r, errno, LINES * LINE);

    struct iovec lines[LINES];
    for (int l = 0; l < LINES; l++) {
        lines[l].iov_base = buf + l * LINE;
        lines[l].iov_len = LINE;
    }
    r = syscall(SYS_writev, 1, lines, LINES);
    check(r == LINES * LINE, "bigwritev", "returned %ld (errno %d), want %d", r, errno, LINES * LINE);
    return t_exit();
}
