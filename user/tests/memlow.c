/* memlow: a process that fills memory but stops by itself once MemFree (/proc/meminfo) is
 * below STOP KiB (default 1200) must not be OOM-killed: every free frame the allocator hands
 * out can be mapped (regression: frames above the heap were handed out but refused by the
 * page-table checks, so the OOM killer fired with 2 MiB still free). From the second hostile
 * review of issue 14.
 *   hog_stops_before_oom - the hog exits 0 on its own, not by SIGKILL */
#include "t.h"
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    t_init();
    long stop = argc > 1 ? atol(argv[1]) : 1200;
    volatile long *sh = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    printf("INFO MemFree before %ld KiB\n", memfree_kb());
    pid_t c = fork();
    if (c == 0) {
        char *p = mmap(0, 600UL << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            _exit(3);
        for (unsigned long o = 0;; o += 4096) {
            if ((o / 4096) % 8 == 0) {
                long m = memfree_kb();
                sh[0] = m;
                sh[1] = o / 4096;
                if (m < stop)
                    _exit(0);
            }
            p[o] = 1;
        }
    }
    int st;
    waitpid(c, &st, 0);
    printf("INFO child status %#x last MemFree %ld KiB after %ld pages\n", st, sh[0], sh[1]);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "hog_stops_before_oom", "child killed (sig %d) while MemFree was %ld KiB",
          WIFSIGNALED(st) ? WTERMSIG(st) : 0, sh[0]);
    printf("INFO MemFree after %ld KiB\n", memfree_kb());
    return t_exit();
}
