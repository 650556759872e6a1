/* hello: the smallest glibc static program.  glibc's start-up runs
 * set_tid_address, set_robust_list, rseq, brk, mmap, uname, getrandom,
 * prlimit64, readlinkat, ... before main; printf goes out through write/writev.
 * Prints "hello, world" then "PASS hello", exits 0. */
#include <stdio.h>

int main(void)
{
    /* default stdio buffering (fully buffered on a pipe, line buffered on a
     * tty), flushed explicitly after each line */
    printf("hello, world\n");
    fflush(stdout);
    printf("PASS hello\n");
    fflush(stdout);
    return 0;
}
