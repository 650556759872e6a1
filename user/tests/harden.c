/* harden: kernel hardening against hostile or unusual programs (issue 14).
 * One mode per argv[1] so that a hang in one mode does not hide the others;
 * no argument runs every mode in order.
 *
 *   execonly  - a page made PROT_EXEC only is not readable by the kernel on Linux
 *               riscv (PTE X without R; copy_from_user runs without MXR, and
 *               arch/riscv/mm/fault.c access_error() refuses a load fault in a vma
 *               without VM_READ|VM_WRITE):
 *       execonly_write    - write(pipe, page, 1) -> EFAULT
 *       execonly_read     - read(pipe with data, page, 1) -> EFAULT
 *       execonly_restore  - mprotect back to RW: the old content is still there
 *       execonly_alive    - the pipe still works (the byte that could not be read is
 *                           still in it)
 *     (mode execonly-read: the same without the write case, to tell which one hangs)
 *   protnone
 *       protnone_write    - write(pipe, PROT_NONE page, 1) -> EFAULT
 *       protnone_read     - read(pipe with data, PROT_NONE page, 1) -> EFAULT
 *       protnone_restore  - mprotect back to RW: the old content is still there
 *       protnone_alive    - the pipe still works afterwards (the byte that could not
 *                           be read is still in it)
 *   ppoll
 *       nofile_inf_eperm  - setrlimit(RLIMIT_NOFILE, INFINITY) -> EPERM (above fs.nr_open)
 *       nofile_nr_open    - setrlimit(RLIMIT_NOFILE, 1048576/1048576) works as root
 *                           (with CAP_SYS_RESOURCE, which real root has; a container
 *                           without it gets EPERM when raising the hard limit)
 *       ppoll_nfds_trunc  - ppoll(fds, 1UL<<40, {0,0}): the kernel's nfds is an unsigned
 *                           int, so this is nfds = 0 -> returns 0 (no crash, no huge copy)
 *       ppoll_at_limit    - nfds == RLIMIT_NOFILE (1048576 entries of fd -1) -> 0
 *       ppoll_over_limit  - nfds = 2000000 (> RLIMIT_NOFILE) on an 8-entry array -> EINVAL
 *                           (the limit is checked before the array is copied)
 *       poll_limit        - with RLIMIT_NOFILE = 1024: poll(1024 entries) -> 0 and
 *                           poll(1025 entries) -> EINVAL
 *   vmas
 *       vmas_limit        - one-page mappings with alternating protections (so no two
 *                           merge) until mmap fails: ENOMEM, after >= 60000 and at most
 *                           65530 of them (vm.max_map_count = 65530)
 *       vmas_split_enomem - at the limit, mprotect of the middle page of a 3-page
 *                           mapping (which would split it into 3 vmas) -> ENOMEM
 *       vmas_recover      - after munmap of them all, mmap works again (and munmap 0s)
 *   timers
 *       futex_timer_leak  - 20,000 FUTEX_WAITs with a 10 s timeout, each woken at once by
 *                           another thread: (Velox only) kernel memory (Slab + PageTables,
 *                           and MemFree) from /proc/meminfo moves by <= 64 KiB
 *       futex_early_wake  - all 20,000 waits were really woken (FUTEX_WAKE returned 1)
 *       ppoll_timer_leak  - 20,000 ppolls with a 10 s timeout on a pipe that another thread
 *                           makes readable at once: the same memory bound (Velox only)
 *       ppoll_early_wake  - ...and they all return 1 with POLLIN well before the timeout
 *     (on Linux both timers are hrtimers on the waiter's kernel stack; elsewhere than
 *     on Velox /proc/meminfo is the host's and moves with other processes, so the
 *     numbers are only printed)
 *   selfmod
 *       selfmod_rx        - code (li a0,42; ret) written to an RW page, mprotect R|X,
 *                           called -> 42
 *       selfmod_rewrite   - RW again, immediate changed to 43, R|X, called -> 43
 *       selfmod_rwx       - a fresh PROT_READ|WRITE|EXEC page: code written, called
 *                           (after __builtin___clear_cache, as JITs do) -> 44, then
 *                           rewritten in place -> 45
 *       selfmod_wx_denied - a child writing into the R|X page dies of SIGSEGV
 *       flush_icache      - the riscv_flush_icache system call (259, what glibc's
 *                           __riscv_flush_icache and so __builtin___clear_cache use
 *                           without a vDSO) returns 0 for the page, flags 0
 *   slice
 *       slice_progress    - thread A spins without system calls forever; thread B blocks
 *                           in read() on a pipe that main fills once every 10 ms
 *                           (nanosleep); B completes 50 rounds within 5 s, A advanced.
 *                           If the time-slice timer is not re-armed after a blocked
 *                           thread resumes, A keeps the CPU and this hangs.
 *       slice_resume      - thread B blocks in read(); main writes the byte and then
 *                           spins (no blocking call) for 300 ms: B is resumed when main's
 *                           slice ends, and then spins itself without system calls.  Main
 *                           must get the CPU back (B's resumed slice must end too): main
 *                           finishes its 300 ms, sees B advancing, and both stop.  On a
 *                           kernel that resumes B without a time slice armed this hangs.
 */
#include "thr.h"
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define PG 4096UL
#define KiB 1024L

static void *map_rw(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* ---- execonly / protnone ---- */

static int skip_write; /* mode execonly-read: only the read case (for diagnosis) */

static void prot_case(const char *tag, int prot)
{
    char name[64];
    int p[2];
    if (pipe(p) != 0) {
        snprintf(name, sizeof name, "%s_write", tag);
        fail(name, "pipe: %s", strerror(errno));
        return;
    }
    unsigned char *pg = map_rw(PG);
    if (!pg) {
        snprintf(name, sizeof name, "%s_write", tag);
        fail(name, "mmap: %s", strerror(errno));
        return;
    }
    for (unsigned i = 0; i < PG; i++)
        pg[i] = (unsigned char)(i * 13 + 5);
    int r = mprotect(pg, PG, prot);
    if (r != 0) {
        snprintf(name, sizeof name, "%s_write", tag);
        fail(name, "mprotect(%#x): %s", prot, strerror(errno));
        return;
    }

    snprintf(name, sizeof name, "%s_write", tag);
    if (!skip_write)
        EXPECT_ERR(name, syscall(SYS_write, p[1], pg, 1), EFAULT);

    /* the pipe has one byte for the read */
    char c = 'x';
    if (write(p[1], &c, 1) != 1)
        fail(name, "write of a good byte: %s", strerror(errno));
    snprintf(name, sizeof name, "%s_read", tag);
    EXPECT_ERR(name, syscall(SYS_read, p[0], pg + 100, 1), EFAULT);

    snprintf(name, sizeof name, "%s_restore", tag);
    r = mprotect(pg, PG, PROT_READ | PROT_WRITE);
    int ok = r == 0;
    unsigned bad = 0;
    for (unsigned i = 0; ok && i < PG; i++)
        if (pg[i] != (unsigned char)(i * 13 + 5)) {
            ok = 0;
            bad = i;
        }
    check(ok, name, "mprotect RW %d (%s), byte %u is %#x", r, r ? strerror(errno) : "ok", bad,
          pg[bad]);

    /* Linux copies nothing when the destination faults: the byte is still there */
    snprintf(name, sizeof name, "%s_alive", tag);
    char got = 0;
    ssize_t n = read(p[0], &got, 1);
    check(n == 1 && got == 'x', name, "read after the faults: %zd '%c'", n, got);
    munmap(pg, PG);
    close(p[0]);
    close(p[1]);
}

static void mode_execonly(void) { prot_case("execonly", PROT_EXEC); }
static void mode_protnone(void) { prot_case("protnone", PROT_NONE); }
static void mode_execonly_read(void)
{
    skip_write = 1;
    prot_case("execonly", PROT_EXEC);
    skip_write = 0;
}

/* ---- ppoll ---- */

static void mode_ppoll(void)
{
    struct rlimit inf = { RLIM_INFINITY, RLIM_INFINITY };
    EXPECT_ERR("nofile_inf_eperm", setrlimit(RLIMIT_NOFILE, &inf), EPERM);

    const unsigned long NR_OPEN = 1048576;
    struct rlimit big = { NR_OPEN, NR_OPEN };
    int r = setrlimit(RLIMIT_NOFILE, &big);
    struct rlimit now;
    getrlimit(RLIMIT_NOFILE, &now);
    check(r == 0 && now.rlim_cur == NR_OPEN && now.rlim_max == NR_OPEN, "nofile_nr_open",
          "setrlimit(1048576) = %d (%s) as uid %d; now %lu/%lu", r, r ? strerror(errno) : "ok",
          (int)getuid(), (unsigned long)now.rlim_cur, (unsigned long)now.rlim_max);

    int p[2];
    pipe(p);
    struct pollfd fds[8];
    for (int i = 0; i < 8; i++)
        fds[i] = (struct pollfd){ .fd = p[0], .events = POLLIN };
    struct timespec zero = { 0, 0 };
    errno = 0;
    long ret = syscall(SYS_ppoll, fds, 1UL << 40, &zero, NULL, 8);
    check(ret == 0, "ppoll_nfds_trunc", "ppoll(nfds=1<<40) = %ld (%s), want 0", ret,
          ret < 0 ? strerror(errno) : "");

    /* 2,000,000 entries of fd -1: 16 MB of valid memory */
    size_t n2 = 2000000;
    struct pollfd *many = mmap(NULL, n2 * sizeof *many, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (many == MAP_FAILED) {
        fail("ppoll_at_limit", "mmap 16 MB: %s", strerror(errno));
        return;
    }
    for (size_t i = 0; i < n2; i++)
        many[i] = (struct pollfd){ .fd = -1, .events = POLLIN };
    errno = 0;
    ret = syscall(SYS_ppoll, many, (unsigned long)now.rlim_cur, &zero, NULL, 8);
    check(ret == 0, "ppoll_at_limit", "ppoll(nfds=%lu fd=-1) = %ld (%s), want 0",
          (unsigned long)now.rlim_cur, ret, ret < 0 ? strerror(errno) : "");
    /* 2,000,000 > RLIMIT_NOFILE with an 8-entry array: Linux checks nfds against the
     * limit before it copies anything (do_sys_poll), so EINVAL, not EFAULT.  (qemu-user
     * copies the array first and says EFAULT here; with a valid 16 MB array it puts
     * 16 MB on its stack with alloca and crashes, so only the small array is used.) */
    EXPECT_ERR("ppoll_over_limit", syscall(SYS_ppoll, fds, n2, &zero, NULL, 8), EINVAL);

    struct rlimit small = { 1024, now.rlim_max };
    r = setrlimit(RLIMIT_NOFILE, &small);
    errno = 0;
    long a = poll(many, 1024, 0);
    int ea = errno;
    errno = 0;
    long b = poll(many, 1025, 0);
    int eb = errno;
    check(r == 0 && a == 0 && b == -1 && eb == EINVAL, "poll_limit",
          "setrlimit(1024) %d; poll(1024) = %ld (%s); poll(1025) = %ld (%s), want EINVAL", r, a,
          strerror(ea), b, strerror(eb));
    munmap(many, n2 * sizeof *many);
    close(p[0]);
    close(p[1]);
}

/* ---- vmas ---- */

static void mode_vmas(void)
{
    const long MAXN = 200000;
    void **maps = malloc(MAXN * sizeof *maps);
    /* a 3-page mapping made before the others, to split at the limit */
    char *three = map_rw(3 * PG);
    long n = 0;
    int err = 0;
    while (n < MAXN) {
        void *m = mmap(NULL, PG, (n & 1) ? PROT_READ : PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            err = errno;
            break;
        }
        maps[n++] = m;
    }
    printf("INFO vmas: %ld one-page mappings, then %s\n", n, err ? strerror(err) : "no failure");
    check(err == ENOMEM && n >= 60000 && n <= 65530, "vmas_limit",
          "%ld mappings, then errno %d (%s); want ENOMEM after 60000..65530", n, err,
          strerror(err));

    if (three) {
        errno = 0;
        int r = mprotect(three + PG, PG, PROT_READ);
        int e = errno;
        expect_err("vmas_split_enomem", r, e, ENOMEM);
    } else {
        fail("vmas_split_enomem", "3-page mmap failed");
    }

    int bad = 0;
    for (long i = 0; i < n; i++)
        if (munmap(maps[i], PG) != 0)
            bad++;
    void *m = map_rw(16 * PG);
    int ok = m != NULL;
    if (ok) {
        memset(m, 0x5a, 16 * PG);
        munmap(m, 16 * PG);
    }
    check(bad == 0 && ok, "vmas_recover", "%d munmaps failed; mmap afterwards %s", bad,
          ok ? "ok" : strerror(errno));
    if (three)
        munmap(three, 3 * PG);
    free(maps);
}

/* ---- timers ---- */

/* kernel memory in kB: Slab + PageTables; MemFree separately; -1 if unreadable */
static int meminfo(long *kmem, long *memfree)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return -1;
    char line[256];
    long slab = -1, pt = -1, mf = -1, v;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "Slab: %ld", &v) == 1)
            slab = v;
        else if (sscanf(line, "PageTables: %ld", &v) == 1)
            pt = v;
        else if (sscanf(line, "MemFree: %ld", &v) == 1)
            mf = v;
    }
    fclose(f);
    if (slab < 0 || pt < 0 || mf < 0)
        return -1;
    *kmem = slab + pt;
    *memfree = mf;
    return 0;
}

static volatile uint32_t fword;
static volatile int fstop, fwaits;

static void *futex_waiter(void *arg)
{
    (void)arg;
    struct timespec ten = { 10, 0 };
    while (!__atomic_load_n(&fstop, __ATOMIC_ACQUIRE)) {
        futex((void *)&fword, FUTEX_WAIT_PRIVATE, 0, &ten, NULL, 0);
        fwaits++;
    }
    return NULL;
}

/* n early wakes; returns how many FUTEX_WAKEs woke someone */
static long futex_rounds(long n)
{
    fword = 0;
    fstop = 0;
    pthread_t th;
    pthread_create(&th, NULL, futex_waiter, NULL);
    long woke = 0;
    int64_t give_up = mono_ns() + 60 * 1000000000LL;
    while (woke < n && mono_ns() < give_up) {
        if (futex((void *)&fword, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 1)
            woke++;
        else
            sched_yield();
    }
    __atomic_store_n(&fstop, 1, __ATOMIC_RELEASE);
    fword = 1;
    futex((void *)&fword, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    if (tjoin(th, NULL, 20000) != 0)
        printf("INFO futex waiter did not end\n");
    return woke;
}

static int pp_in[2], pp_ack[2];
static volatile int pp_bad;

static void *ppoll_waiter(void *arg)
{
    long n = (long)arg;
    struct timespec ten = { 10, 0 };
    for (long i = 0; i < n; i++) {
        struct pollfd pf = { .fd = pp_in[0], .events = POLLIN };
        struct timespec t = ten;
        int64_t t0 = mono_ns();
        int r = ppoll(&pf, 1, &t, NULL);
        if (r != 1 || !(pf.revents & POLLIN) || mono_ns() - t0 > 5000000000LL)
            pp_bad++;
        char c;
        if (read(pp_in[0], &c, 1) != 1)
            pp_bad++;
        if (write(pp_ack[1], &c, 1) != 1)
            pp_bad++;
    }
    return NULL;
}

static long ppoll_rounds(long n)
{
    pipe(pp_in);
    pipe(pp_ack);
    pthread_t th;
    pthread_create(&th, NULL, ppoll_waiter, (void *)n);
    long done = 0;
    for (long i = 0; i < n; i++) {
        char c = 'p';
        if (write(pp_in[1], &c, 1) != 1 || read(pp_ack[0], &c, 1) != 1)
            break;
        done++;
    }
    tjoin(th, NULL, 20000);
    close(pp_in[0]);
    close(pp_in[1]);
    close(pp_ack[0]);
    close(pp_ack[1]);
    return done;
}

static void mem_check(const char *name, int have, long k0, long f0)
{
    long k1, f1;
    if (have != 0 || meminfo(&k1, &f1) != 0) {
        printf("INFO %s: /proc/meminfo not readable\n", name);
        return;
    }
    printf("INFO %s: Slab+PageTables %ld -> %ld kB, MemFree %ld -> %ld kB\n", name, k0, k1, f0,
           f1);
    if (is_velox())
        check(k1 - k0 <= 64 && f0 - f1 <= 64, name,
              "kernel memory +%ld kB, MemFree -%ld kB after 20000 early wakes (bound 64 kB)",
              k1 - k0, f0 - f1);
    else
        printf("INFO %s: not on Velox, host numbers only\n", name);
}

static void mode_timers(void)
{
    const long N = 20000;
    long k0, f0;
    futex_rounds(500); /* warm up: thread stacks, pthread caches */
    int have = meminfo(&k0, &f0);
    long woke = futex_rounds(N);
    mem_check("futex_timer_leak", have, k0, f0);
    check(woke == N, "futex_early_wake", "%ld of %ld wakes found a waiter", woke, N);

    ppoll_rounds(500);
    pp_bad = 0;
    have = meminfo(&k0, &f0);
    int64_t t0 = mono_ns();
    long done = ppoll_rounds(N);
    int64_t el = mono_ns() - t0;
    mem_check("ppoll_timer_leak", have, k0, f0);
    check(done == N && pp_bad == 0, "ppoll_early_wake", "%ld of %ld rounds, %d bad, %lld ms",
          done, N, pp_bad, (long long)el / 1000000);
}

/* ---- selfmod ---- */

typedef long (*fn_t)(void);

static void put_code(uint32_t *p, int imm)
{
    p[0] = 0x00000513u | ((uint32_t)imm << 20); /* addi a0, zero, imm */
    p[1] = 0x00008067u;                          /* jalr zero, 0(ra) */
    __builtin___clear_cache((char *)p, (char *)(p + 2));
}

static void mode_selfmod(void)
{
    uint32_t *pg = map_rw(PG);
    if (!pg) {
        fail("selfmod_rx", "mmap: %s", strerror(errno));
        return;
    }
    put_code(pg, 42);
    int r = mprotect(pg, PG, PROT_READ | PROT_EXEC);
    long v = r == 0 ? ((fn_t)pg)() : -1;
    check(r == 0 && v == 42, "selfmod_rx", "mprotect %d, call -> %ld", r, v);

    int r1 = mprotect(pg, PG, PROT_READ | PROT_WRITE);
    if (r1 == 0)
        put_code(pg, 43);
    int r2 = mprotect(pg, PG, PROT_READ | PROT_EXEC);
    v = (r1 == 0 && r2 == 0) ? ((fn_t)pg)() : -1;
    check(r1 == 0 && r2 == 0 && v == 43, "selfmod_rewrite", "mprotect %d %d, call -> %ld", r1,
          r2, v);

    uint32_t *x = mmap(NULL, PG, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (x == MAP_FAILED) {
        fail("selfmod_rwx", "mmap RWX: %s", strerror(errno));
    } else {
        put_code(x, 44);
        long a = ((fn_t)x)();
        put_code(x, 45);
        long b = ((fn_t)x)();
        check(a == 44 && b == 45, "selfmod_rwx", "calls -> %ld %ld, want 44 45", a, b);
        munmap(x, PG);
    }

    errno = 0;
    long fr = syscall(259 /* __NR_riscv_flush_icache */, pg, (char *)pg + PG, 0UL);
    check(fr == 0, "flush_icache", "riscv_flush_icache = %ld (%s)", fr, strerror(errno));

    pid_t pid = fork();
    if (pid == 0) {
        ((volatile uint32_t *)pg)[0] = 0x00100513u; /* must fault */
        _exit(0);
    }
    int st = 0;
    pid_t w = pid > 0 ? waitpid(pid, &st, 0) : -1;
    check(w == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "selfmod_wx_denied",
          "fork %d, wait %d, status %#x", pid, w, st);
    munmap(pg, PG);
}

/* ---- slice ---- */

static volatile int s_stop;
static volatile unsigned long s_spin;
static volatile int s_rounds;
static int s_pipe[2];

static void *s_spinner(void *arg)
{
    (void)arg;
    while (!s_stop)
        s_spin++;
    return NULL;
}

static void *s_blocker(void *arg)
{
    (void)arg;
    char c;
    while (s_rounds < 50 && read(s_pipe[0], &c, 1) == 1)
        __atomic_fetch_add(&s_rounds, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void mode_slice(void)
{
    pipe(s_pipe);
    pthread_t a, b;
    pthread_create(&b, NULL, s_blocker, NULL);
    pthread_create(&a, NULL, s_spinner, NULL);
    int64_t t0 = mono_ns();
    unsigned long spin0 = s_spin;
    int writes = 0;
    while (s_rounds < 50 && mono_ns() - t0 < 5000000000LL) {
        sleep_ms(10);
        char c = 's';
        if (write(s_pipe[1], &c, 1) == 1)
            writes++;
    }
    int64_t el = mono_ns() - t0;
    int rounds = s_rounds;
    unsigned long spun = s_spin - spin0;
    s_stop = 1;
    close(s_pipe[1]); /* EOF ends the blocker if it is still reading */
    int ja = tjoin(a, NULL, 5000), jb = tjoin(b, NULL, 5000);
    printf("INFO slice: %d rounds, %d writes, spinner +%lu, %lld ms\n", rounds, writes, spun,
           (long long)el / 1000000);
    check(rounds >= 50 && el < 5000000000LL && spun > 0 && ja == 0 && jb == 0,
          "slice_progress", "%d/50 rounds in %lld ms, spinner +%lu, joins %d %d", rounds,
          (long long)el / 1000000, spun, ja, jb);
    close(s_pipe[0]);
}

static volatile unsigned long r_spin;
static volatile int r_stop;

static void *r_blocker(void *arg)
{
    (void)arg;
    char c;
    if (read(s_pipe[0], &c, 1) != 1)
        return NULL;
    while (!r_stop)
        r_spin++;
    return NULL;
}

static void mode_slice_resume(void)
{
    pipe(s_pipe);
    pthread_t b;
    pthread_create(&b, NULL, r_blocker, NULL);
    sleep_ms(50); /* B is blocked in read() by now */
    char c = 'r';
    write(s_pipe[1], &c, 1);
    int64_t t0 = mono_ns();
    unsigned long mine = 0;
    while (mono_ns() - t0 < 300000000LL) /* clock_gettime: no blocking */
        mine++;
    unsigned long at300 = r_spin;
    int64_t t1 = mono_ns();
    while (r_spin == at300 && mono_ns() - t1 < 2000000000LL)
        mine++;
    unsigned long seen = r_spin;
    r_stop = 1;
    int jb = tjoin(b, NULL, 5000);
    printf("INFO slice_resume: main spun %lu, B spun %lu (at 300 ms %lu)\n", mine, seen, at300);
    check(seen > 0 && jb == 0, "slice_resume", "B's counter %lu, join %d", seen, jb);
    close(s_pipe[0]);
    close(s_pipe[1]);
}

static void mode_slice_all(void)
{
    mode_slice();
    mode_slice_resume();
}

static const struct {
    const char *name;
    void (*fn)(void);
} modes[] = {
    { "execonly", mode_execonly }, { "protnone", mode_protnone }, { "ppoll", mode_ppoll },
    { "execonly-read", mode_execonly_read },
    { "vmas", mode_vmas },         { "timers", mode_timers },     { "selfmod", mode_selfmod },
    { "slice", mode_slice_all },
};

int main(int argc, char **argv)
{
    t_init();
    int ran = 0;
    for (unsigned i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (argc < 2 ? modes[i].fn != mode_execonly_read
                     : strcmp(argv[1], modes[i].name) == 0) {
            modes[i].fn();
            ran = 1;
        }
    if (!ran) {
        fail("mode", "unknown mode %s", argv[1]);
        return 2;
    }
    return t_exit();
}
