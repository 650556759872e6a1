/* vtime: time a command, started with fork + exec, N times (after warm-up runs).
 *
 *   vtime [-n N] [-w W] [-l LABEL] [-C DIR] [-p PRE] [-o] -- PROG [ARG]...
 *
 * Runs PROG (searched in PATH) W times untimed (default 1: the first run pays for cold caches
 * and one-time work such as Python writing its __pycache__), then N times (default 10) timed:
 * each run is the time from just before fork to just after waitpid, read with
 * clock_gettime(CLOCK_MONOTONIC) (in QEMU's det mode 1 ns = 1 guest instruction while the guest
 * runs, so the figures repeat). -C DIR: the command's working directory. -p PRE: a shell
 * command (/bin/sh -c PRE) run before every run, warm-up or timed, outside the timing (e.g.
 * remove the database a run creates). -o: keep the command's stdout (default /dev/null, so
 * the console's speed does not count); stderr is kept; stdin is /dev/null. Every run must exit
 * with status 0. Prints one line (scripts/bench-debian.sh parses it on both kernels):
 *
 *   vtime label=L n=N mean_ns=X min_ns=X max_ns=X median_ns=X warmup_ns=X
 *   vtime label=L error=REASON
 *
 * (warmup_ns: the first warm-up run's time.) Exit status 0, or 1 on an error.
 * Part of the benchmarks (user/bench/; built by scripts/bench-build.sh into build/bench/).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *label = "run";

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void fail(const char *what, int e)
{
    char reason[256];
    snprintf(reason, sizeof reason, "%s%s%s", what, e ? ":" : "", e ? strerror(e) : "");
    for (char *c = reason; *c; c++)
        if (*c == ' ')
            *c = '_';
    printf("vtime label=%s error=%s\n", label, reason);
    exit(1);
}

/* fork + exec argv with stdout on /dev/null unless keep_out; the exit status, or -1 */
static int run(char **argv, int keep_out, int *err)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        fail("pipe2", errno);
    pid_t pid = fork();
    if (pid < 0)
        fail("fork", errno);
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0);
            if (!keep_out)
                dup2(nul, 1);
            if (nul > 2)
                close(nul);
        }
        execvp(argv[0], argv);
        int e = errno;
        if (write(pfd[1], &e, sizeof e) < 0) {
        }
        _exit(127);
    }
    close(pfd[1]);
    int e = 0;
    *err = read(pfd[0], &e, sizeof e) == sizeof e ? e : 0;
    close(pfd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            fail("waitpid", errno);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 256 + WTERMSIG(st);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long n = 10, w = 1;
    int keep_out = 0, o;
    const char *dir = NULL, *pre = NULL;
    while ((o = getopt(argc, argv, "+n:w:l:C:p:o")) != -1) {
        switch (o) {
        case 'n': n = atol(optarg); break;
        case 'w': w = atol(optarg); break;
        case 'l': label = optarg; break;
        case 'C': dir = optarg; break;
        case 'p': pre = optarg; break;
        case 'o': keep_out = 1; break;
        default:
            fprintf(stderr, "usage: vtime [-n N] [-w W] [-l LABEL] [-C DIR] [-p PRE] [-o] -- PROG [ARG]...\n");
            return 2;
        }
    }
    if (optind >= argc || n < 1 || w < 0) {
        fprintf(stderr, "usage: vtime [-n N] [-w W] [-l LABEL] [-C DIR] [-p PRE] [-o] -- PROG [ARG]...\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (dir && chdir(dir) != 0)
        fail("chdir", errno);
    char **cmd = argv + optind;
    char *prev[] = {"/bin/sh", "-c", (char *)pre, NULL};
    int64_t *t = calloc(n, sizeof *t), warm = -1;
    if (!t)
        fail("calloc", errno);
    for (long i = 0; i < w + n; i++) {
        int e;
        if (pre) {
            int s = run(prev, 0, &e);
            if (e)
                fail("exec_pre", e);
            if (s != 0) {
                char m[64];
                snprintf(m, sizeof m, "pre_status_%d", s);
                fail(m, 0);
            }
        }
        int64_t t0 = now_ns();
        int s = run(cmd, keep_out, &e);
        int64_t t1 = now_ns();
        if (e)
            fail("execvp", e);
        if (s != 0) {
            char m[64];
            if (s > 256)
                snprintf(m, sizeof m, "signal_%d", s - 256);
            else
                snprintf(m, sizeof m, "status_%d", s);
            fail(m, 0);
        }
        if (i < w) {
            if (warm < 0)
                warm = t1 - t0;
        } else {
            t[i - w] = t1 - t0;
        }
    }
    int64_t sum = 0;
    for (long i = 0; i < n; i++)
        sum += t[i];
    qsort(t, n, sizeof *t, cmp64);
    int64_t med = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
    printf("vtime label=%s n=%ld mean_ns=%.1f min_ns=%lld max_ns=%lld median_ns=%lld warmup_ns=%lld\n", label, n,
           (double)sum / n, (long long)t[0], (long long)t[n - 1], (long long)med, (long long)warm);
    return 0;
}
