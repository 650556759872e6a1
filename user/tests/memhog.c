/* memhog: running out of memory kills the hog, not the kernel or its neighbours.
 * A child maps 1 MiB chunks (MAP_PRIVATE|MAP_ANONYMOUS) and writes every page, up to
 * HOG MiB.  Modes (argv[1]):
 *   oom (default) - HOG = 1024 MiB, more than the 512 MiB machine has.  Linux's mmap
 *                   does not refuse 1 MiB at a time (heuristic overcommit), so the
 *                   child keeps faulting pages in until the OOM killer ends it:
 *       oom_killed        - wait4 says WIFSIGNALED with SIGKILL (not an exit, not
 *                           SIGSEGV/SIGBUS, not a kernel panic); "INFO" says how many
 *                           MiB the child had touched
 *   oomthreads    - the same, but the child's 4 threads each touch 256 MiB at once
 *                   (page faults in several threads while the OOM killer acts):
 *       oom_killed        - the whole process dies of SIGKILL
 *   oomcopy       - the child fills memory through the kernel (read() from /dev/zero
 *                   into fresh pages) until a read fails, then touches a page itself;
 *                   a failed kernel copy sets a deferred OOM request, which must never
 *                   take anyone but the hog (the fuzzer once saw it outlive the shortage
 *                   and kill its parent; this mode exercises the path, `vfuzz -s 4242 -B`
 *                   reproduced the original):
 *       oom_killed        - the child dies of SIGKILL, the parent lives on
 *   small         - HOG = 64 MiB, which fits (for trying this under qemu-user without
 *                   eating the host's memory; never run "oom" on a host):
 *       hog_small_fits    - the child touches all 64 MiB and exits 0
 * Then, in both modes:
 *       after_alloc_16m   - the parent maps 16 MiB, writes and checks every page
 *       after_fork        - fork + wait works
 *       oom_memory_back   - (Velox only) MemFree is back within 2 MiB of where it was
 *                           before the hog */
#include "thr.h"
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define MiB (1024UL * 1024UL)
#define PG 4096UL

/* the child's progress, in a shared page the parent reads after its death */
static volatile long *progress;

static void hog_copy(long mib)
{
    int z = open("/dev/zero", O_RDONLY);
    char *p = mmap(NULL, mib * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (z < 0 || p == MAP_FAILED) {
        progress[1] = errno;
        _exit(3);
    }
    for (long i = 0; i < mib; i++) {
        if (read(z, p + i * MiB, MiB) != MiB) {
            /* The kernel could not fault the buffer in: now fault in user mode. */
            for (unsigned long o = 0; o < MiB; o += PG)
                p[(i + 1) * MiB + o] = 1;
        }
        progress[0] = i + 1;
    }
    _exit(0);
}

static void *hog_thread(void *arg)
{
    long mib = (long)arg;
    for (long i = 0; i < mib; i++) {
        char *p = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            progress[1] = errno;
            _exit(3);
        }
        for (unsigned long o = 0; o < MiB; o += PG)
            p[o] = (char)(i + 1);
        __atomic_fetch_add(&progress[0], 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* One thread's share (or the whole hog): map and touch `mib` MiB, counting progress. */
static void hog(long mib)
{
    hog_thread((void *)mib);
    _exit(0);
}

static void hog_threads(long mib)
{
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, hog_thread, (void *)(mib / 4));
    hog_thread((void *)(mib / 4));
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    _exit(0);
}

int main(int argc, char **argv)
{
    t_init();
    int small = argc > 1 && strcmp(argv[1], "small") == 0;
    int threads = argc > 1 && strcmp(argv[1], "oomthreads") == 0;
    int copy = argc > 1 && strcmp(argv[1], "oomcopy") == 0;
    if (argc > 1 && !small && !threads && !copy && strcmp(argv[1], "oom") != 0) {
        fail("mode", "unknown mode %s", argv[1]);
        return 2;
    }
    long mib = small ? 64 : 1024;
    progress = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (progress == MAP_FAILED) {
        fail(small ? "hog_small_fits" : "oom_killed", "shared mmap: %s", strerror(errno));
        return t_exit();
    }
    long free0 = memfree_kb();
    pid_t c = fork();
    if (c == 0) {
        if (threads)
            hog_threads(mib);
        if (copy)
            hog_copy(mib);
        hog(mib);
    }
    int st = 0;
    pid_t w = c > 0 ? waitpid(c, &st, 0) : -1;
    printf("INFO hog: %ld of %ld MiB touched; status %#x%s\n", progress[0], mib, st,
           progress[1] ? ", mmap failed" : "");
    if (small)
        check(w == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "hog_small_fits",
              "fork %d wait %d status %#x", c, w, st);
    else
        check(w == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "oom_killed",
              "fork %d wait %d, status %#x (%s %d)%s%s", c, w, st,
              WIFSIGNALED(st) ? "signal" : "exit",
              WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
              progress[1] ? "; mmap failed: " : "",
              progress[1] ? strerror((int)progress[1]) : "");

    unsigned char *m = mmap(NULL, 16 * MiB, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int ok = m != MAP_FAILED;
    for (unsigned long o = 0; ok && o < 16 * MiB; o += PG)
        m[o] = (unsigned char)(o >> 12);
    for (unsigned long o = 0; ok && o < 16 * MiB; o += PG)
        if (m[o] != (unsigned char)(o >> 12))
            ok = 0;
    check(ok, "after_alloc_16m", "16 MiB after the hog: %s",
          m == MAP_FAILED ? strerror(errno) : "bad data");
    if (m != MAP_FAILED)
        munmap(m, 16 * MiB);

    pid_t p = fork();
    if (p == 0)
        _exit(7);
    st = 0;
    check(p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 7,
          "after_fork", "fork %d status %#x", p, st);
    if (is_velox()) {
        long free1 = memfree_kb();
        check(free0 > 0 && free1 >= free0 - 2048, "oom_memory_back",
              "MemFree %ld kB before, %ld kB after", free0, free1);
    }
    return t_exit();
}
