// SMP stress: races that only real parallelism shows. Modes (one per command, so the kernel's
// leak check runs after each): info, counter, pingpong, forkstorm, tlb, mprotect, exitgroup,
// threadstorm, cow, faultrace. Every mode also passes on one hart (it just finds fewer races there).
#include "t.h"
#include "thr.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>

static int ncpu;

static int pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu % ncpu, &s);
    return sched_setaffinity(0, sizeof s, &s);
}

static int cur_cpu(void)
{
    unsigned c = 99;
    syscall(SYS_getcpu, &c, NULL, NULL);
    return (int)c;
}

// ---- info: harts as programs see them ----
static atomic_int spin_cpu = -1, spin_stop;
static atomic_int spin_tid;

static void *cpu_reporter(void *arg)
{
    (void)arg;
    atomic_store(&spin_tid, (int)syscall(SYS_gettid));
    while (!atomic_load(&spin_stop)) atomic_store(&spin_cpu, cur_cpu());
    return NULL;
}

static void mode_info(void)
{
    cpu_set_t s;
    check(sched_getaffinity(0, sizeof s, &s) == 0, "getaffinity", "errno %d", errno);
    int n = CPU_COUNT(&s);
    long onln = sysconf(_SC_NPROCESSORS_ONLN);
    FILE *f = fopen("/proc/cpuinfo", "r");
    int lines = 0;
    char buf[256];
    while (f && fgets(buf, sizeof buf, f))
        if (strncmp(buf, "processor", 9) == 0) lines++;
    if (f) fclose(f);
    printf("INFO harts=%d sysconf=%ld cpuinfo=%d\n", n, onln, lines);
    check(n >= 1 && n == onln && n == lines, "nproc_agrees", "affinity %d sysconf %ld cpuinfo %d", n, onln, lines);
    int moved = 0;
    for (int i = 0; i < n; i++) {
        if (pin(i) == 0 && cur_cpu() == i) moved++;
    }
    check(moved == n, "pin_each_hart", "getcpu matched the pinned hart %d of %d times", moved, n);
    CPU_ZERO(&s);
    CPU_SET(0, &s);
    sched_setaffinity(0, sizeof s, &s);
    cpu_set_t g;
    sched_getaffinity(0, sizeof g, &g);
    check(CPU_COUNT(&g) == 1 && CPU_ISSET(0, &g), "getaffinity_after_set", "count %d", CPU_COUNT(&g));
    CPU_ZERO(&s);
    EXPECT_ERR("setaffinity_empty", sched_setaffinity(0, sizeof s, &s), EINVAL);
    CPU_SET(63, &s); // no such hart
    EXPECT_ERR("setaffinity_offline", sched_setaffinity(0, sizeof s, &s), EINVAL);
    EXPECT_ERR("setaffinity_esrch", sched_setaffinity(999999, sizeof s, &s), ESRCH);
    EXPECT_ERR("getaffinity_short", syscall(SYS_sched_getaffinity, 0, 4, &g), EINVAL);
    EXPECT_ERR("getcpu_efault", syscall(SYS_getcpu, (void *)8, NULL, NULL), EFAULT);
    CPU_ZERO(&s);
    for (int i = 0; i < n; i++) CPU_SET(i, &s);
    check(sched_setaffinity(0, sizeof s, &s) == 0, "setaffinity_all", "errno %d", errno);
    // Another thread's affinity: a thread busy in user mode (with fast syscalls) is moved at once.
    pthread_t th;
    pthread_create(&th, NULL, cpu_reporter, NULL);
    while (!atomic_load(&spin_tid)) sched_yield();
    int followed = 0;
    for (int i = 0; i < n; i++) {
        CPU_ZERO(&s);
        CPU_SET(n - 1 - i, &s);
        sched_setaffinity(atomic_load(&spin_tid), sizeof s, &s);
        int64_t t0 = mono_ns();
        while (atomic_load(&spin_cpu) != n - 1 - i && mono_ns() - t0 < 2000000000LL) sched_yield();
        if (atomic_load(&spin_cpu) == n - 1 - i) followed++;
    }
    atomic_store(&spin_stop, 1);
    tjoin(th, NULL, 5000);
    check(followed == n, "setaffinity_other_thread_moves", "followed %d of %d moves", followed, n);
}

// ---- counter: 8 threads, mutex / condvar / raw futex lock / atomics on shared counters ----
#define NT 8
#define ITERS 20000
static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long m_count, f_count, turn_count;
static atomic_long a_count;
static volatile uint32_t flock_word; // 0 free, 1 locked, 2 locked with waiters
static int turn;                     // condvar: whose turn (thread index)

static void flock(void)
{
    uint32_t c = 0;
    if (__atomic_compare_exchange_n(&flock_word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
    if (c != 2) c = __atomic_exchange_n(&flock_word, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        futex_wait(&flock_word, 2);
        c = __atomic_exchange_n(&flock_word, 2, __ATOMIC_ACQUIRE);
    }
}

static void funlock(void)
{
    if (__atomic_exchange_n(&flock_word, 0, __ATOMIC_RELEASE) == 2) futex_wake(&flock_word, 1);
}

static void *counter_thread(void *arg)
{
    long me = (long)arg;
    pin((int)me);
    for (int i = 0; i < ITERS; i++) {
        pthread_mutex_lock(&mtx);
        long v = m_count;
        m_count = v + 1;
        pthread_mutex_unlock(&mtx);
        flock();
        v = f_count;
        f_count = v + 1;
        funlock();
        atomic_fetch_add(&a_count, 1);
    }
    // Condvar round-robin: each thread takes 200 turns in index order.
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&mtx);
        while (turn != me) pthread_cond_wait(&cv, &mtx);
        turn_count++;
        turn = (turn + 1) % NT;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mtx);
    }
    return NULL;
}

static void mode_counter(void)
{
    pthread_t th[NT];
    int64_t t0 = mono_ns();
    for (long i = 0; i < NT; i++) pthread_create(&th[i], NULL, counter_thread, (void *)i);
    int joined = 0;
    for (int i = 0; i < NT; i++) joined += tjoin(th[i], NULL, 120000) == 0;
    printf("INFO counter threads=%d iters=%d ms=%lld\n", NT, ITERS, (long long)(mono_ns() - t0) / 1000000);
    check(joined == NT, "counter_join", "%d of %d threads finished", joined, NT);
    check(m_count == (long)NT * ITERS, "counter_mutex", "%ld of %ld", m_count, (long)NT * ITERS);
    check(f_count == (long)NT * ITERS, "counter_futex", "%ld of %ld", f_count, (long)NT * ITERS);
    check(atomic_load(&a_count) == (long)NT * ITERS, "counter_atomic", "%ld", atomic_load(&a_count));
    check(turn_count == NT * 200, "counter_condvar", "%ld turns", turn_count);
}

// ---- pingpong: pipes and futexes between threads pinned to different harts ----
#define ROUNDS 5000
static int p_ab[2], p_ba[2];
static volatile uint32_t fword;

static void *pong_pipe(void *arg)
{
    (void)arg;
    pin(1);
    for (int i = 0; i < ROUNDS; i++) {
        int v;
        if (read(p_ab[0], &v, sizeof v) != sizeof v || v != i) return (void *)1;
        v = -i;
        if (write(p_ba[1], &v, sizeof v) != sizeof v) return (void *)2;
    }
    return NULL;
}

static void *pong_futex(void *arg)
{
    (void)arg;
    pin(1);
    for (uint32_t i = 0; i < ROUNDS; i++) {
        while (__atomic_load_n(&fword, __ATOMIC_ACQUIRE) != 2 * i + 1) futex_wait(&fword, 2 * i);
        __atomic_store_n(&fword, 2 * i + 2, __ATOMIC_RELEASE);
        futex_wake(&fword, 1);
    }
    return NULL;
}

static void mode_pingpong(void)
{
    pin(0);
    check(pipe(p_ab) == 0 && pipe(p_ba) == 0, "pp_pipes", "errno %d", errno);
    pthread_t th;
    pthread_create(&th, NULL, pong_pipe, NULL);
    int bad = 0;
    int64_t t0 = mono_ns();
    for (int i = 0; i < ROUNDS; i++) {
        int v = i;
        write(p_ab[1], &v, sizeof v);
        if (read(p_ba[0], &v, sizeof v) != sizeof v || v != -i) bad++;
    }
    void *r;
    int j = tjoin(th, &r, 60000);
    int64_t t1 = mono_ns();
    check(j == 0 && r == NULL && bad == 0, "pingpong_pipe", "join %d ret %p bad %d", j, r, bad);
    fword = 0;
    pthread_create(&th, NULL, pong_futex, NULL);
    for (uint32_t i = 0; i < ROUNDS; i++) {
        __atomic_store_n(&fword, 2 * i + 1, __ATOMIC_RELEASE);
        futex_wake(&fword, 1);
        while (__atomic_load_n(&fword, __ATOMIC_ACQUIRE) != 2 * i + 2) futex_wait(&fword, 2 * i + 1);
    }
    j = tjoin(th, &r, 60000);
    printf("INFO pingpong rounds=%d pipe_us=%lld futex_us=%lld\n", ROUNDS, (long long)(t1 - t0) / 1000,
           (long long)(mono_ns() - t1) / 1000);
    check(j == 0 && fword == 2 * ROUNDS, "pingpong_futex", "join %d word %u", j, fword);
}

// ---- forkstorm: fork/exec/wait from several threads at once ----
static atomic_int storm_bad, storm_done;

static void *storm_thread(void *arg)
{
    pin((int)(long)arg);
    for (int i = 0; i < 25; i++) {
        pid_t p = fork();
        if (p == 0) {
            if (i % 2) {
                char *av[] = {"true", NULL};
                execv("/bin/true", av);
                _exit(99);
            }
            _exit(i % 7);
        }
        int st = -1;
        if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != (i % 2 ? 0 : i % 7))
            atomic_fetch_add(&storm_bad, 1);
        else
            atomic_fetch_add(&storm_done, 1);
    }
    return NULL;
}

static void mode_forkstorm(void)
{
    pthread_t th[4];
    for (long i = 0; i < 4; i++) pthread_create(&th[i], NULL, storm_thread, (void *)i);
    int joined = 0;
    for (int i = 0; i < 4; i++) joined += tjoin(th[i], NULL, 120000) == 0;
    check(joined == 4 && storm_bad == 0 && storm_done == 100, "forkstorm", "joined %d bad %d done %d", joined,
          storm_bad, storm_done);
}

// ---- tlb: a range replaced under readers on other harts must never read old frames, nor
// under a reader that comes back to a hart it ran on before ----
#define TLB_PAGES 16
#define MAGIC 0x5eed0000u
static volatile uint32_t *region;
static atomic_uint published; // generation whose values are in place
static atomic_int stop, stale, reads;

static void *tlb_reader(void *arg)
{
    pin((int)(long)arg);
    while (!atomic_load(&stop)) {
        unsigned g = atomic_load_explicit(&published, memory_order_acquire);
        for (int p = 0; p < TLB_PAGES; p++) {
            uint32_t v = region[p * 1024];
            // Values of older generations live only in frames the kernel freed: seeing one
            // after its replacement was published means a stale TLB entry.
            if (v >= MAGIC && v < MAGIC + g) atomic_fetch_add(&stale, 1);
        }
        atomic_fetch_add(&reads, 1);
    }
    return NULL;
}

// The migrant: round r (published by the main thread once generation base + r is in place)
// runs on hart r % ncpu and checks every page.
#define MIG_ROUNDS 150
static atomic_int mig_round, mig_done, mig_stale;
static unsigned mig_base;

static void *tlb_migrant(void *arg)
{
    (void)arg;
    for (int r = 1; r <= MIG_ROUNDS; r++) {
        while (atomic_load_explicit(&mig_round, memory_order_acquire) < r) sched_yield();
        pin(r);
        for (int p = 0; p < TLB_PAGES; p++)
            if (region[p * 1024] != MAGIC + mig_base + r) atomic_fetch_add(&mig_stale, 1);
        atomic_store_explicit(&mig_done, r, memory_order_release);
    }
    return NULL;
}

// One pass of the migrant; returns the failed MAP_FIXED replacements.
static int tlb_migrate(size_t len, unsigned base, int *bad, int *rounds)
{
    int bad_map = 0;
    mig_base = base;
    atomic_store(&mig_round, 0);
    atomic_store(&mig_done, 0);
    atomic_store(&mig_stale, 0);
    pthread_t th;
    pthread_create(&th, NULL, tlb_migrant, NULL);
    for (int r = 1; r <= MIG_ROUNDS; r++) {
        void *m = mmap((void *)region, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (m != (void *)region) bad_map++;
        for (int p = 0; p < TLB_PAGES; p++) region[p * 1024] = MAGIC + base + r;
        atomic_store_explicit(&mig_round, r, memory_order_release);
        int64_t t0 = mono_ns();
        while (atomic_load_explicit(&mig_done, memory_order_acquire) < r && mono_ns() - t0 < 5000000000LL) sched_yield();
        if (atomic_load(&mig_done) < r) break;
        (*rounds)++;
    }
    atomic_store(&mig_round, MIG_ROUNDS); // (let it finish if a round timed out)
    tjoin(th, NULL, 10000);
    *bad += atomic_load(&mig_stale);
    return bad_map;
}

static void mode_tlb(void)
{
    size_t len = TLB_PAGES * 4096;
    pin(0);
    region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int p = 0; p < TLB_PAGES; p++) region[p * 1024] = MAGIC;
    atomic_store(&published, 0);
    int nr = ncpu > 1 ? ncpu - 1 : 1;
    pthread_t th[8];
    for (long i = 0; i < nr && i < 8; i++) pthread_create(&th[i], NULL, tlb_reader, (void *)(i + 1));
    wait_atleast((volatile int *)&reads, 10, 5000);
    int bad_map = 0;
    for (unsigned g = 1; g <= 300; g++) {
        // Replace the whole range at once (MAP_FIXED): readers never see a hole, but the old
        // frames are freed and may be reused at once.
        void *r = mmap((void *)region, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (r != (void *)region) bad_map++;
        for (int p = 0; p < TLB_PAGES; p++) region[p * 1024] = MAGIC + g;
        atomic_store_explicit(&published, g, memory_order_release);
        // Let the readers look between generations; also churn memory so old frames get reused.
        if (g % 8 == 0) {
            void *x = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            memset(x, 0x77, len);
            munmap(x, len);
        }
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < nr && i < 8; i++) tjoin(th[i], NULL, 10000);
    printf("INFO tlb readers=%d read_rounds=%d stale=%d\n", nr, atomic_load(&reads), atomic_load(&stale));
    check(bad_map == 0 && atomic_load(&stale) == 0, "tlb_no_stale_reads", "stale %d, bad maps %d", stale, bad_map);
    // A reader that moves from hart to hart, coming back to harts it left, while the range is
    // replaced between its visits: with ASIDs a hart keeps a space's entries after switching
    // away from it, so its return must not find the old frames. First alone, then with a
    // process yielding on every hart, so the harts left switch to another address space in
    // between (instead of keeping this one loaded and being shot down).
    int mig_bad = 0, mig_rounds = 0;
    for (int pass = 0; pass < 2; pass++) {
        pid_t hogs[8];
        int nh = pass ? (ncpu < 8 ? ncpu : 8) : 0;
        for (int i = 0; i < nh; i++) {
            hogs[i] = fork();
            if (hogs[i] == 0) {
                pin(i);
                for (;;) sched_yield();
            }
        }
        bad_map += tlb_migrate(len, 1000 + 1000 * pass, &mig_bad, &mig_rounds);
        for (int i = 0; i < nh; i++) {
            kill(hogs[i], SIGKILL);
            waitpid(hogs[i], NULL, 0);
        }
    }
    printf("INFO tlb migrant rounds=%d stale=%d\n", mig_rounds, mig_bad);
    check(bad_map == 0 && mig_bad == 0 && mig_rounds == 2 * MIG_ROUNDS, "tlb_migrant_sees_new_frames",
          "stale %d, bad maps %d, rounds %d", mig_bad, bad_map, mig_rounds);
    munmap((void *)region, len);
}

// ---- mprotect: after mprotect(PROT_READ) returns, writers on other harts must fault ----
static volatile uint32_t *wpage;
static atomic_int writer_started;

static void *writer(void *arg)
{
    pin((int)(long)arg);
    atomic_store(&writer_started, 1);
    for (;;) wpage[0]++;
    return NULL;
}

static void mode_mprotect(void)
{
    int killed = 0, rounds = 10, wrong = 0;
    for (int r = 0; r < rounds; r++) {
        pid_t p = fork();
        if (p == 0) {
            pin(0);
            wpage = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            pthread_t th;
            pthread_create(&th, NULL, writer, (void *)1L);
            while (!atomic_load(&writer_started) || wpage[0] < 1000) sched_yield();
            mprotect((void *)wpage, 4096, PROT_READ);
            uint32_t v1 = wpage[0];
            int64_t t0 = mono_ns();
            while (mono_ns() - t0 < 20000000) {
            }
            // Still alive: the writer must be blocked or dead, never still writing.
            _exit(wpage[0] == v1 ? 3 : 4);
        }
        int st;
        waitpid(p, &st, 0);
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV) killed++;
        else if (!(WIFEXITED(st) && WEXITSTATUS(st) == 3)) wrong++;
    }
    printf("INFO mprotect rounds=%d killed_by_segv=%d wrong=%d\n", rounds, killed, wrong);
    check(wrong == 0 && killed == rounds, "mprotect_writers_fault", "%d of %d rounds ended by SIGSEGV, %d wrong", killed,
          rounds, wrong);
}

// ---- exitgroup: exit_group while siblings spin in user mode on other harts ----
static void *spinner(void *arg)
{
    pin((int)(long)arg);
    for (;;) __asm__ volatile("" ::: "memory");
    return NULL;
}

static void mode_exitgroup(void)
{
    int ok = 0, rounds = 20;
    int64_t worst = 0;
    for (int r = 0; r < rounds; r++) {
        pid_t p = fork();
        if (p == 0) {
            pin(0);
            pthread_t th;
            for (long i = 1; i <= 3; i++) pthread_create(&th, NULL, spinner, (void *)i);
            sleep_ms(5);
            syscall(SYS_exit_group, 7);
        }
        int64_t t0 = mono_ns();
        int st = 0;
        pid_t w = 0;
        while ((w = waitpid(p, &st, WNOHANG)) == 0 && mono_ns() - t0 < 5000000000LL) sched_yield();
        int64_t d = mono_ns() - t0;
        if (d > worst) worst = d;
        if (w == p && WIFEXITED(st) && WEXITSTATUS(st) == 7) ok++;
        else if (w == 0) {
            kill(p, SIGKILL);
            waitpid(p, &st, 0);
        }
    }
    printf("INFO exitgroup rounds=%d ok=%d worst_ms=%lld\n", rounds, ok, (long long)worst / 1000000);
    check(ok == rounds, "exitgroup_spinning_siblings", "%d of %d", ok, rounds);
}

// ---- cow: copy-on-write breaks by one thread, seen by a sibling on another hart ----
// Each round forks (making the page copy-on-write), then the main thread writes the page:
// while the child lives that is a copy (the sibling must stop reading the old frame), after
// the child exited it is the same frame made writable without a shootdown (the sibling's
// cached read-only entry must still read the new value, and its store through that entry
// must succeed: a spurious fault the kernel absorbs).
struct cowflags {
    atomic_uint gen, ack, stop;
};
static volatile uint32_t *cpage;
static struct cowflags *cf;
static atomic_int cow_stale, cow_ready;

static void *cow_reader(void *arg)
{
    pin((int)(long)arg);
    unsigned last = 0;
    atomic_store(&cow_ready, 1);
    while (!atomic_load(&cf->stop)) {
        (void)cpage[0]; // keep the entry cached
        unsigned g = atomic_load_explicit(&cf->gen, memory_order_acquire);
        if (g == last) continue;
        if (cpage[0] != g) atomic_fetch_add(&cow_stale, 1);
        cpage[1] = g;
        last = g;
        atomic_store_explicit(&cf->ack, g, memory_order_release);
    }
    return NULL;
}

static void mode_cow(void)
{
    int rounds = 200, lost = 0, wrong = 0;
    cpage = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cpage[0] = 0;
    pthread_t th;
    pthread_create(&th, NULL, cow_reader, (void *)1L);
    pin(0);
    while (!atomic_load(&cow_ready)) sched_yield();
    for (unsigned r = 1; r <= (unsigned)rounds; r++) {
        pid_t p = fork();
        if (p == 0) {
            if (r & 1) _exit(0);
            sleep_ms(1);
            _exit(cpage[0] == r - 1 ? 0 : 1); // the child keeps the value at fork time
        }
        int st = 0;
        if (r & 1) waitpid(p, &st, 0); // reuse: the child is gone before the write
        cpage[0] = r;
        atomic_store_explicit(&cf->gen, r, memory_order_release);
        int64_t t0 = mono_ns();
        while (atomic_load_explicit(&cf->ack, memory_order_acquire) != r && mono_ns() - t0 < 2000000000LL) {
        }
        if (atomic_load(&cf->ack) != r) lost++;
        else if (cpage[1] != r) wrong++;
        if (!(r & 1)) {
            waitpid(p, &st, 0);
            if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) wrong++;
        }
    }
    atomic_store(&cf->stop, 1);
    pthread_join(th, NULL);
    printf("INFO cow rounds=%d stale=%d lost=%d wrong=%d\n", rounds, atomic_load(&cow_stale), lost, wrong);
    check(atomic_load(&cow_stale) == 0 && lost == 0 && wrong == 0, "cow_breaks_seen_on_other_harts",
          "stale %d, lost %d, wrong %d", atomic_load(&cow_stale), lost, wrong);
    munmap((void *)cpage, 4096);
    munmap(cf, 4096);
}

// ---- threadstorm: creation/exit storms from several threads; memory comes back ----
static atomic_int storm_threads;

static void *tiny(void *arg)
{
    (void)arg;
    atomic_fetch_add(&storm_threads, 1);
    return NULL;
}

static void *spawner(void *arg)
{
    pin((int)(long)arg);
    for (int i = 0; i < 300; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, tiny, NULL) == 0) pthread_join(t, NULL);
    }
    return NULL;
}

static void mode_threadstorm(void)
{
    long before = memfree_kb();
    for (int round = 0; round < 2; round++) {
        pthread_t th[4];
        for (long i = 0; i < 4; i++) pthread_create(&th[i], NULL, spawner, (void *)i);
        for (int i = 0; i < 4; i++) tjoin(th[i], NULL, 120000);
    }
    long after = memfree_kb();
    printf("INFO threadstorm threads=%d memfree_kb %ld -> %ld\n", atomic_load(&storm_threads), before, after);
    check(atomic_load(&storm_threads) == 2400, "threadstorm_all_ran", "%d", storm_threads);
    // The stacks glibc caches stay mapped; the kernel's leak check compares exactly after exit.
    check(after > before - 4096, "threadstorm_memory_back", "%ld -> %ld kB", before, after);
}

// ---- faultrace: threads on every hart fault the same fresh pages in at once ----
// Zero-fill faults share the address space's lock and fill page-table entries with a
// compare-and-swap: every thread must end up writing into the one frame that won (no write
// lost in a frame another hart's fault installed and dropped), and every page starts zeroed.
// One area serves every round (MADV_DONTNEED empties it and keeps its page tables, so the
// faults take the shared path); meanwhile one more thread keeps taking the lock exclusively
// (mprotect and mmap/munmap of another area), so exclusive holds meet shared faults.
#define FR_PAGES 64
#define FR_ROUNDS 150
static char *fr_area;
static atomic_int fr_round_go, fr_done, fr_nonzero, fr_stop, fr_excl;
static int fr_threads;

// A value for each round and thread, never 0.
static char fr_val(int round, long t) { return (char)(1 + (round * 7 + t) % 120); }

static void *fr_worker(void *arg)
{
    long me = (long)arg;
    pin((int)me);
    for (int r = 1; r <= FR_ROUNDS; r++) {
        while (atomic_load(&fr_round_go) < r) sched_yield();
        char *a = fr_area;
        for (int p = 0; p < FR_PAGES; p++) {
            volatile char *pg = a + (long)p * 4096;
            // Only this thread writes its byte: it must read 0 until it does (a frame not
            // zeroed, reused from the last round, holds the last round's value).
            if (pg[me] != 0 || pg[2048 + me] != 0) atomic_fetch_add(&fr_nonzero, 1);
            pg[me] = fr_val(r, me);
            pg[2048 + me] = fr_val(r, me);
        }
        atomic_fetch_add(&fr_done, 1);
    }
    return NULL;
}

static void *fr_exclusive(void *arg)
{
    (void)arg;
    pin(1);
    char *x = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    while (!atomic_load(&fr_stop)) {
        x[0] = 1;
        mprotect(x, 4 * 4096, PROT_READ);
        mprotect(x, 4 * 4096, PROT_READ | PROT_WRITE);
        char *y = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (y != MAP_FAILED) {
            y[4096] = 1;
            munmap(y, 8 * 4096);
        }
        atomic_fetch_add(&fr_excl, 1);
    }
    munmap(x, 4 * 4096);
    return NULL;
}

static void mode_faultrace(void)
{
    long before = memfree_kb();
    fr_threads = ncpu < 2 ? 2 : (ncpu > 8 ? 8 : ncpu);
    // (One more page after the area, left mapped: the area's last table exists from the start.)
    char *a = mmap(NULL, (FR_PAGES + 1) * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(a != MAP_FAILED, "faultrace_mmap", "%s", strerror(errno));
    if (a == MAP_FAILED) return;
    a[(long)FR_PAGES * 4096] = 1;
    fr_area = a;
    pthread_t th[8], ex;
    pthread_create(&ex, NULL, fr_exclusive, NULL);
    for (long i = 0; i < fr_threads; i++) pthread_create(&th[i], NULL, fr_worker, (void *)i);
    int lost = 0;
    for (int r = 1; r <= FR_ROUNDS; r++) {
        atomic_store(&fr_done, 0);
        atomic_store(&fr_round_go, r);
        while (atomic_load(&fr_done) < fr_threads) sched_yield();
        for (int p = 0; p < FR_PAGES; p++)
            for (int t = 0; t < fr_threads; t++)
                if (a[(long)p * 4096 + t] != fr_val(r, t) || a[(long)p * 4096 + 2048 + t] != fr_val(r, t)) lost++;
        madvise(a, FR_PAGES * 4096, MADV_DONTNEED);
    }
    for (int i = 0; i < fr_threads; i++) tjoin(th[i], NULL, 120000);
    atomic_store(&fr_stop, 1);
    tjoin(ex, NULL, 120000);
    munmap(a, (FR_PAGES + 1) * 4096);
    long after = memfree_kb();
    printf("INFO faultrace threads=%d rounds=%d lost=%d nonzero=%d exclusive_rounds=%d memfree_kb %ld -> %ld\n", fr_threads,
           FR_ROUNDS, lost, atomic_load(&fr_nonzero), atomic_load(&fr_excl), before, after);
    check(lost == 0, "faultrace_no_lost_writes", "lost %d", lost);
    check(atomic_load(&fr_nonzero) == 0, "faultrace_pages_start_zeroed", "%d", atomic_load(&fr_nonzero));
    check(atomic_load(&fr_excl) > 0, "faultrace_exclusive_ran", "%d", atomic_load(&fr_excl));
    // (glibc keeps the threads' stacks cached; the kernel's leak check after the command is exact.)
    check(after > before - 1024, "faultrace_memory_back", "%ld -> %ld kB", before, after);
}

int main(int argc, char **argv)
{
    t_init();
    cpu_set_t s;
    sched_getaffinity(0, sizeof s, &s);
    ncpu = CPU_COUNT(&s);
    const char *m = argc > 1 ? argv[1] : "info";
    if (!strcmp(m, "info")) mode_info();
    else if (!strcmp(m, "counter")) mode_counter();
    else if (!strcmp(m, "pingpong")) mode_pingpong();
    else if (!strcmp(m, "forkstorm")) mode_forkstorm();
    else if (!strcmp(m, "tlb")) mode_tlb();
    else if (!strcmp(m, "mprotect")) mode_mprotect();
    else if (!strcmp(m, "exitgroup")) mode_exitgroup();
    else if (!strcmp(m, "threadstorm")) mode_threadstorm();
    else if (!strcmp(m, "cow")) mode_cow();
    else if (!strcmp(m, "faultrace")) mode_faultrace();
    else {
        printf("unknown mode %s\n", m);
        return 2;
    }
    return t_exit();
}
