// vsmp: parallel workloads for the SMP benchmarks (scripts/bench-smp.sh), the same binary on
// Velox and on Linux. Each prints one line "vsmp name=NAME threads=N ns=ELAPSED".
//
//   vsmp mixed N      N threads, each: getpid x 20000, 64 fresh pages touched x 8 (mmap,
//                     touch, munmap), 2000 futex wake/wait round trips with a partner thread,
//                     200 sched_yield. A fixed amount of work whatever the harts: under icount
//                     its elapsed guest time is the instructions all harts executed.
//   vsmp cpu N        N threads, each a fixed compute loop (no syscalls)
//   vsmp fork N       N threads, each 100 x (fork, child exits, waitpid)
//   vsmp hackbench G  G groups of 5 sender and 5 receiver processes; each sender writes 200
//                     messages of 100 bytes to each receiver of its group through a pipe
//                     (hackbench's pipe mode, scaled down)
//   vsmp all          mixed 4, cpu 2, fork 2, hackbench 2, in that order
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void report(const char *name, int n, int64_t ns) { printf("vsmp name=%s threads=%d ns=%lld\n", name, n, (long long)ns); }

static void run_threads(int n, void *(*f)(void *))
{
    pthread_t th[64];
    for (long i = 0; i < n; i++) pthread_create(&th[i], NULL, f, (void *)i);
    for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
}

// ---- mixed ----
static volatile uint32_t words[64];

static void fwait(volatile uint32_t *w, uint32_t v) { syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0); }
static void fwake(volatile uint32_t *w) { syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

static void *mixed(void *arg)
{
    long me = (long)arg;
    for (int i = 0; i < 20000; i++) syscall(SYS_getpid);
    for (int r = 0; r < 8; r++) {
        char *p = mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (int i = 0; i < 64; i++) p[i * 4096] = 1;
        munmap(p, 64 * 4096);
    }
    // Pairs (0,1), (2,3)...: the even one starts; the word counts the turns.
    volatile uint32_t *w = &words[me / 2 * 8];
    for (uint32_t i = 0; i < 2000; i++) {
        uint32_t mine = 2 * i + (me & 1);
        uint32_t v;
        while ((v = __atomic_load_n(w, __ATOMIC_ACQUIRE)) != mine) fwait(w, v);
        __atomic_store_n(w, mine + 1, __ATOMIC_RELEASE);
        fwake(w);
    }
    for (int i = 0; i < 200; i++) sched_yield();
    return NULL;
}

// ---- cpu ----
static volatile uint64_t sink[64 * 8];

static void *cpu(void *arg)
{
    long me = (long)arg;
    uint64_t x = (uint64_t)me + 1;
    for (long i = 0; i < 20000000; i++) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    sink[me * 8] = x;
    return NULL;
}

// ---- fork ----
static void *forker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++) {
        pid_t p = fork();
        if (p == 0) _exit(0);
        int st;
        waitpid(p, &st, 0);
    }
    return NULL;
}

// ---- hackbench ----
#define SENDERS 5
#define RECEIVERS 5
#define MSGS 200
#define MSG 100

static void hackbench_group(pid_t *pids)
{
    int fds[RECEIVERS][2];
    for (int r = 0; r < RECEIVERS; r++) pipe(fds[r]);
    int k = 0;
    for (int r = 0; r < RECEIVERS; r++) {
        pid_t p = fork();
        if (p == 0) {
            char buf[MSG];
            for (int i = 0; i < RECEIVERS; i++) close(fds[i][1]);
            long want = (long)SENDERS * MSGS * MSG, got = 0;
            while (got < want) {
                ssize_t n = read(fds[r][0], buf, sizeof buf);
                if (n <= 0) _exit(1);
                got += n;
            }
            _exit(0);
        }
        pids[k++] = p;
    }
    for (int s = 0; s < SENDERS; s++) {
        pid_t p = fork();
        if (p == 0) {
            char buf[MSG];
            memset(buf, 's', sizeof buf);
            for (int i = 0; i < MSGS; i++)
                for (int r = 0; r < RECEIVERS; r++)
                    if (write(fds[r][1], buf, sizeof buf) != sizeof buf) _exit(1);
            _exit(0);
        }
        pids[k++] = p;
    }
    for (int r = 0; r < RECEIVERS; r++) {
        close(fds[r][0]);
        close(fds[r][1]);
    }
}

static int hackbench(int groups)
{
    pid_t pids[64 * (SENDERS + RECEIVERS)];
    int n = 0, bad = 0;
    for (int g = 0; g < groups; g++) {
        hackbench_group(pids + n);
        n += SENDERS + RECEIVERS;
    }
    for (int i = 0; i < n; i++) {
        int st;
        waitpid(pids[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) bad++;
    }
    return bad;
}

static int one(const char *name, int n)
{
    if (n < 1 || n > 64) n = 1;
    int64_t t0 = now();
    if (!strcmp(name, "mixed")) run_threads(n & ~1 ? n & ~1 : 2, mixed);
    else if (!strcmp(name, "cpu")) run_threads(n, cpu);
    else if (!strcmp(name, "fork")) run_threads(n, forker);
    else if (!strcmp(name, "hackbench")) {
        if (hackbench(n)) {
            printf("vsmp hackbench: a process failed\n");
            return 1;
        }
    } else {
        printf("vsmp: unknown workload %s\n", name);
        return 2;
    }
    report(name, n, now() - t0);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && !strcmp(argv[1], "all")) {
        int r = one("mixed", 4);
        r |= one("cpu", 2);
        r |= one("fork", 2);
        r |= one("hackbench", 2);
        return r;
    }
    if (argc < 3) {
        printf("usage: vsmp mixed|cpu|fork|hackbench N | all\n");
        return 2;
    }
    return one(argv[1], atoi(argv[2]));
}
