/* System calls Debian's dynamic userland needs (issue 20): mremap, mincore, membarrier,
 * close_range, rseq (ENOSYS: glibc runs without it), ETXTBSY, POSIX shared memory and named
 * semaphores in /dev/shm, getdents64 over 5,000 entries, and a roll call of calls glibc's
 * programs use at start-up.
 *
 *   libcsys mremap      anonymous areas: grow in place, ENOMEM without MREMAP_MAYMOVE when the
 *                       next page is taken, move (contents kept, old range gone), shrink,
 *                       MREMAP_FIXED over another mapping, MREMAP_DONTUNMAP (old range mapped,
 *                       reads zeros), a second mapping of shared memory (old_size 0), shared
 *                       memory moved by a parent is still shared with its child (and the
 *                       pages it grew by are SIGBUS), glibc's realloc of a 1 MiB block to
 *                       64 MiB and back; EINVAL/EFAULT/ENOMEM cases
 *   libcsys mremapfile [DIR]  file mappings (of a file in DIR, default /tmp): private grown and moved (file contents, then the private
 *                       copy of a written page travels), shared moved (stores reach read()),
 *                       grown in place (offsets kept), DONTUNMAP of a shared file mapping (the
 *                       old range still shows the file)
 *   libcsys mincore     resident pages of anonymous memory; EINVAL, ENOMEM, EFAULT
 *   libcsys membarrier  QUERY, GLOBAL, REGISTER/PRIVATE_EXPEDITED (EPERM before registering,
 *                       inherited by fork, not by execve), SYNC_CORE, GET_REGISTRATIONS, EINVAL; 2,000
 *                       expedited barriers while 3 threads spin; a store-buffering litmus test
 *                       with the barrier on one side only (never both loads old)
 *   libcsys closerange  close_range closing, CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE, EINVAL
 *   libcsys txtbsy      a running program cannot be opened for writing, truncated (ETXTBSY),
 *                       a file open for writing cannot be executed, both work again afterwards
 *   libcsys shm         /dev/shm is a tmpfs; shm_open + MAP_SHARED counter and sem_open
 *                       semaphores between a parent and its child
 *   libcsys dents [DIR] 5,000 files in DIR (default /tmp): getdents64 returns each once
 *   libcsys misc        sysinfo, prlimit64, getrandom, statx, faccessat2, pipe2,
 *                       sched_getaffinity, clock_nanosleep, rseq
 */
#include "t.h"
#include <dirent.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG 4096UL
#ifndef MEMBARRIER_CMD_GET_REGISTRATIONS
#define MEMBARRIER_CMD_GET_REGISTRATIONS (1 << 9)
#endif

static long raw_mremap(void *old, size_t olen, size_t nlen, int flags, void *naddr)
{
    return syscall(SYS_mremap, old, olen, nlen, flags, naddr);
}

/* A fresh anonymous read-write area of n pages (0 on failure). */
static char *area(size_t n)
{
    void *p = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* True if the page at p is mapped (msync says ENOMEM for an unmapped one). */
static int mapped(void *p) { return msync(p, PG, MS_ASYNC) == 0; }

static void fill(char *p, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (char)(i * 7 + seed);
}
static int same(const char *p, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (char)(i * 7 + seed)) return 0;
    return 1;
}
static int zero(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

static void t_mremap(void)
{
    /* Grow in place: 5 pages reserved, pages 2 and 3 given back, page 4 made read-only (a
     * different area: the blocker), the first 2 grown to 4. */
    char *a = area(5);
    munmap(a + 2 * PG, 2 * PG);
    char *c = a + 4 * PG;
    mprotect(c, PG, PROT_READ);
    fill(a, 2 * PG, 1);
    char *b = (char *)raw_mremap(a, 2 * PG, 4 * PG, 0, NULL);
    check(b == a && same(a, 2 * PG, 1) && zero(a + 2 * PG, 2 * PG), "mremap_grow_in_place", "got %p for %p", b, a);
    /* The next page taken: no room in place, ENOMEM without MREMAP_MAYMOVE. */
    {
        EXPECT_ERR("mremap_no_room_enomem", raw_mremap(a, 4 * PG, 8 * PG, 0, NULL), ENOMEM);
        /* With it: moved, contents kept, the old range unmapped. */
        char *m = (char *)raw_mremap(a, 4 * PG, 8 * PG, MREMAP_MAYMOVE, NULL);
        check(m != MAP_FAILED && m != a && same(m, 2 * PG, 1) && zero(m + 2 * PG, 6 * PG) && !mapped(a),
              "mremap_maymove", "m=%p a=%p mapped(a)=%d", m, a, mapped(a));
        m[8 * PG - 1] = 5; /* the grown part is writable */
        /* Shrink: same place, the tail unmapped. */
        char *s = (char *)raw_mremap(m, 8 * PG, 3 * PG, 0, NULL);
        check(s == m && same(m, 2 * PG, 1) && mapped(m + 2 * PG) && !mapped(m + 3 * PG), "mremap_shrink", "s=%p", s);
        munmap(m, 3 * PG);
        munmap(c, PG);
    }
    /* MREMAP_FIXED: replaces what is at the target. */
    char *src = area(2), *dst = area(3);
    fill(src, 2 * PG, 3);
    fill(dst, 3 * PG, 9);
    char *f = (char *)raw_mremap(src, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
    check(f == dst && same(dst, 2 * PG, 3) && !mapped(src), "mremap_fixed", "f=%p dst=%p", f, dst);
    check(dst[2 * PG] == (char)((2 * PG) * 7 + 9), "mremap_fixed_rest_kept", "the page after the moved range changed");
    munmap(dst, 3 * PG);
    /* MREMAP_DONTUNMAP: the pages move, the old range stays mapped and reads zeros. */
    char *d = area(2);
    fill(d, 2 * PG, 4);
    char *n = (char *)raw_mremap(d, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
    check(n != MAP_FAILED && n != d && same(n, 2 * PG, 4) && mapped(d) && zero(d, 2 * PG), "mremap_dontunmap",
          "n=%p d=%p", n, d);
    munmap(d, 2 * PG);
    munmap(n, 2 * PG);
    /* Shared memory: a second mapping (old_size 0) shows the same pages. */
    int *sh = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    sh[0] = 41;
    int *dup = (int *)raw_mremap(sh, 0, 2 * PG, MREMAP_MAYMOVE, NULL);
    if (dup != MAP_FAILED) dup[1] = 42;
    check(dup != MAP_FAILED && dup != sh && dup[0] == 41 && sh[1] == 42, "mremap_dup_shared", "dup=%p", dup);
    if (dup != MAP_FAILED) munmap(dup, 2 * PG);
    /* Shared memory moved (and grown) by the parent is still the child's. */
    sh[0] = 0;
    int ready[2];
    if (pipe(ready)) fail("mremap_shared_fork", "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        char x;
        if (read(ready[0], &x, 1) != 1) _exit(3);
        sh[0] = 1234; /* through the child's old mapping */
        sh[1024] = 5678;
        _exit(0);
    }
    int *moved = (int *)raw_mremap(sh, 2 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, (char *)area(4));
    if (write(ready[1], "g", 1) != 1) fail("mremap_shared_fork", "write");
    int st;
    waitpid(pid, &st, 0);
    check(moved != MAP_FAILED && moved[0] == 1234 && moved[1024] == 5678 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "mremap_shared_fork", "moved=%p [0]=%d", moved, moved == MAP_FAILED ? -1 : moved[0]);
    /* Shared anonymous memory keeps its size: the pages the mapping grew by are SIGBUS. */
    pid = fork();
    if (pid == 0) {
        if (moved != MAP_FAILED) moved[3 * 1024] = 7;
        _exit(0);
    }
    waitpid(pid, &st, 0);
    check(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS, "mremap_shared_grown_sigbus", "status %#x", st);
    if (moved != MAP_FAILED) munmap(moved, 4 * PG);
    close(ready[0]);
    close(ready[1]);
    /* glibc's realloc of large blocks (mmap'd chunks) goes through mremap. */
    size_t big = 1 << 20;
    char *r = malloc(big);
    fill(r, big, 6);
    r = realloc(r, 64 << 20);
    int ok = r && same(r, big, 6);
    if (r) memset(r + big, 1, (64 << 20) - big);
    r = r ? realloc(r, 2 << 20) : r;
    check(ok && r && same(r, big, 6) && r[(2 << 20) - 1] == 1, "mremap_realloc", "contents lost");
    free(r);
    /* Errors. */
    char *e = area(2);
    EXPECT_ERR("mremap_bad_flags", raw_mremap(e, PG, PG, 8, NULL), EINVAL);
    EXPECT_ERR("mremap_fixed_without_maymove", raw_mremap(e, PG, PG, MREMAP_FIXED, e + 8 * PG), EINVAL);
    EXPECT_ERR("mremap_dontunmap_resize", raw_mremap(e, PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL), EINVAL);
    EXPECT_ERR("mremap_dontunmap_without_maymove", raw_mremap(e, PG, PG, MREMAP_DONTUNMAP, NULL), EINVAL);
    EXPECT_ERR("mremap_unaligned", raw_mremap(e + 1, PG, PG, 0, NULL), EINVAL);
    EXPECT_ERR("mremap_new_size_zero", raw_mremap(e, PG, 0, 0, NULL), EINVAL);
    EXPECT_ERR("mremap_fixed_overlap", raw_mremap(e, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, e + PG), EINVAL);
    EXPECT_ERR("mremap_fixed_unaligned", raw_mremap(e, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, e + 8 * PG + 1), EINVAL);
    EXPECT_ERR("mremap_dup_private", raw_mremap(e, 0, PG, MREMAP_MAYMOVE, NULL), EINVAL);
    char *hole = area(1);
    munmap(hole, PG);
    EXPECT_ERR("mremap_unmapped_efault", raw_mremap(hole, PG, 2 * PG, MREMAP_MAYMOVE, NULL), EFAULT);
    /* Growing a range that is not inside one area: EFAULT. */
    mprotect(e + PG, PG, PROT_READ);
    EXPECT_ERR("mremap_across_areas_efault", raw_mremap(e, 2 * PG, 4 * PG, MREMAP_MAYMOVE, NULL), EFAULT);
    /* RLIMIT_AS. */
    struct rlimit old, lim;
    getrlimit(RLIMIT_AS, &old);
    lim.rlim_cur = 256UL << 20;
    lim.rlim_max = old.rlim_max;
    setrlimit(RLIMIT_AS, &lim);
    EXPECT_ERR("mremap_rlimit_as", raw_mremap(e, PG, 1UL << 30, MREMAP_MAYMOVE, NULL), ENOMEM);
    setrlimit(RLIMIT_AS, &old);
    munmap(e, 2 * PG);
}

static char path_buf[300];
static const char *map_dir = "/tmp";

/* A file of n pages in map_dir, page i filled with byte 'a'+i; its descriptor. */
static int make_file(int n)
{
    snprintf(path_buf, sizeof path_buf, "%s/libcsys-map-%d", map_dir, getpid());
    int fd = open(path_buf, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char pg[PG];
    for (int i = 0; i < n; i++) {
        memset(pg, 'a' + i, PG);
        if (write(fd, pg, PG) != (long)PG) fail("make_file", "write");
    }
    unlink(path_buf);
    return fd;
}

static int page_is(const char *p, char c)
{
    for (size_t i = 0; i < PG; i++)
        if (p[i] != c) return 0;
    return 1;
}

static void t_mremapfile(void)
{
    int fd = make_file(8);
    /* Private: 2 pages grown to 5 and moved; page 0 written first (its private copy travels). */
    char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, PG);
    char *blk = mmap(p + 2 * PG, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    p[0] = 'X';
    char *q = (char *)raw_mremap(p, 2 * PG, 5 * PG, MREMAP_MAYMOVE, NULL);
    int ok = q != MAP_FAILED && q != p && q[0] == 'X' && q[1] == 'b' && q[PG - 1] == 'b';
    for (int i = 1; ok && i < 5; i++) ok = page_is(q + i * PG, 'b' + i);
    check(ok && !mapped(p), "mremapfile_private_move", "q=%p", q);
    char rb;
    check(pread(fd, &rb, 1, PG) == 1 && rb == 'b', "mremapfile_private_not_stored", "the file got %c", rb);
    if (q != MAP_FAILED) munmap(q, 5 * PG);
    if (blk != MAP_FAILED) munmap(blk, PG);
    /* Shared, moved: stores through the new address reach the file. */
    char *s = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 2 * PG);
    s[PG] = 'Y'; /* page 3 of the file, faulted in before the move */
    char *t = (char *)raw_mremap(s, 2 * PG, 3 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, area(3));
    if (t != MAP_FAILED) {
        t[0] = 'Z';
        t[2 * PG] = 'W';
    }
    char got[3] = {0};
    pread(fd, &got[0], 1, 2 * PG);
    pread(fd, &got[1], 1, 3 * PG);
    pread(fd, &got[2], 1, 4 * PG);
    check(t != MAP_FAILED && got[0] == 'Z' && got[1] == 'Y' && got[2] == 'W' && t[2 * PG + 1] == 'e', "mremapfile_shared_move",
          "file has %c%c%c", got[0], got[1], got[2]);
    /* Shared, grown in place: the new pages are the file's next ones. */
    if (t != MAP_FAILED) munmap(t, 3 * PG);
    char *g = mmap(NULL, 6 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    munmap(g + 2 * PG, 4 * PG);
    char *g2 = (char *)raw_mremap(g, 2 * PG, 6 * PG, 0, NULL);
    check(g2 == g && g[0] == 'a' && g[2 * PG] == 'Z' && g[5 * PG] == 'f', "mremapfile_grow_in_place", "g2=%p %c %c %c", g2, g[0],
          g[2 * PG], g[5 * PG]);
    /* Shared, MREMAP_DONTUNMAP: the old range still shows the file. */
    char *h = (char *)raw_mremap(g, 6 * PG, 6 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
    check(h != MAP_FAILED && h != g && h[5 * PG] == 'f' && mapped(g) && g[5 * PG] == 'f' && g[3 * PG] == 'Y',
          "mremapfile_dontunmap_shared", "h=%p", h);
    if (h != MAP_FAILED) {
        h[0] = 'Q';
        check(g[0] == 'Q', "mremapfile_dontunmap_same_file", "old range sees %c", g[0]);
        munmap(h, 6 * PG);
    }
    munmap(g, 6 * PG);
    close(fd);
}

static void t_mincore(void)
{
    char *a = area(4);
    a[PG] = 1;
    a[3 * PG] = 1;
    unsigned char v[4] = {9, 9, 9, 9};
    int r = mincore(a, 4 * PG, v);
    check(r == 0 && !(v[0] & 1) && (v[1] & 1) && !(v[2] & 1) && (v[3] & 1), "mincore_anon", "r=%d %d%d%d%d", r, v[0], v[1], v[2],
          v[3]);
    r = mincore(a, 2 * PG - 100, v);
    check(r == 0, "mincore_partial_page", "r=%d", r);
    EXPECT_ERR("mincore_unaligned", mincore(a + 1, PG, v), EINVAL);
    munmap(a + 2 * PG, PG);
    EXPECT_ERR("mincore_hole_enomem", mincore(a, 4 * PG, v), ENOMEM);
    EXPECT_ERR("mincore_bad_vec", mincore(a, PG, (unsigned char *)8), EFAULT);
    EXPECT_ERR("mincore_kernel_range", mincore((void *)0xffffffc000000000UL, PG, v), ENOMEM);
    munmap(a, 4 * PG);
}

static long mb(int cmd, unsigned flags) { return syscall(SYS_membarrier, cmd, flags, 0); }

static atomic_int spin_stop;
static void *spinner(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&spin_stop, memory_order_relaxed)) { }
    return NULL;
}

/* Store buffering: X = 1; r1 = Y (plain, no fence) on one side; Y = 1; membarrier; r2 = X on
 * the other. With the barrier, r1 == 0 && r2 == 0 is impossible. */
static volatile int X, Y, R1, go_round, done_round;
static void *sb_side(void *arg)
{
    long n = (long)arg;
    for (long i = 1; i <= n; i++) {
        while (go_round != i) sched_yield();
        X = 1;
        __asm__ volatile("" ::: "memory");
        R1 = Y;
        __asm__ volatile("" ::: "memory");
        done_round = i;
    }
    return NULL;
}

static void t_membarrier(void)
{
    long q = mb(MEMBARRIER_CMD_QUERY, 0);
    printf("INFO membarrier query %#lx\n", q);
    check(q > 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) && (q & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) &&
              (q & MEMBARRIER_CMD_GLOBAL),
          "membarrier_query", "mask %#lx", q);
    check(mb(MEMBARRIER_CMD_GLOBAL, 0) == 0, "membarrier_global", "%s", strerror(errno));
    EXPECT_ERR("membarrier_private_unregistered", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0), EPERM);
    check(mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) == 0, "membarrier_register", "%s", strerror(errno));
    check(mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) == 0, "membarrier_private", "%s", strerror(errno));
    if (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) {
        EXPECT_ERR("membarrier_sync_core_unregistered", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0), EPERM);
        check(mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0) == 0 && mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0) == 0,
              "membarrier_sync_core", "%s", strerror(errno));
    }
    if (q & MEMBARRIER_CMD_GET_REGISTRATIONS) {
        long g = mb(MEMBARRIER_CMD_GET_REGISTRATIONS, 0);
        check(g >= 0 && (g & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED), "membarrier_get_registrations", "%#lx", g);
    }
    check(mb(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0) == 0 && mb(MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0) == 0,
          "membarrier_global_expedited", "%s", strerror(errno));
    EXPECT_ERR("membarrier_bad_cmd", mb(3, 0), EINVAL);
    EXPECT_ERR("membarrier_bad_flags", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 1), EINVAL);
    if (!(q & MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ))
        EXPECT_ERR("membarrier_rseq_einval", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0), EINVAL);
    /* A fork inherits the registration; an execve starts without. */
    pid_t pid = fork();
    if (pid == 0) _exit(mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) == 0 ? 0 : 1);
    int st;
    waitpid(pid, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "membarrier_fork_inherits", "status %#x", st);
    pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "libcsys", "mbexec", (char *)NULL);
        _exit(127);
    }
    waitpid(pid, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "membarrier_exec_unregistered", "status %#x", st);
    /* Barriers while threads spin (on other harts when there are any). */
    pthread_t th[3];
    for (int i = 0; i < 3; i++) pthread_create(&th[i], NULL, spinner, NULL);
    int bad = 0;
    for (int i = 0; i < 2000; i++)
        if (mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0)) bad++;
    atomic_store(&spin_stop, 1);
    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
    check(bad == 0, "membarrier_spinning_threads", "%d failed", bad);
    /* The litmus test. */
    long rounds = 3000, both_old = 0;
    pthread_t s;
    pthread_create(&s, NULL, sb_side, (void *)rounds);
    for (long i = 1; i <= rounds; i++) {
        X = 0;
        Y = 0;
        R1 = -1;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        go_round = i;
        Y = 1;
        mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0);
        int r2 = X;
        while (done_round != i) sched_yield();
        if (R1 == 0 && r2 == 0) both_old++;
    }
    pthread_join(s, NULL);
    check(both_old == 0, "membarrier_store_buffering", "%ld of %ld rounds saw both old values", both_old, rounds);
}

static int fd_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

static void t_closerange(void)
{
    int base = dup(1);
    for (int i = 0; i < 5; i++) dup(1);
    dup2(1, 40);
    check(syscall(SYS_close_range, base + 2, base + 3, 0) == 0 && fd_open(base + 1) && !fd_open(base + 2) &&
              !fd_open(base + 3) && fd_open(base + 4),
          "close_range_middle", "wrong descriptors");
    check(syscall(SYS_close_range, base, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) == 0 && fd_open(base) &&
              (fcntl(base, F_GETFD) & FD_CLOEXEC) && (fcntl(40, F_GETFD) & FD_CLOEXEC) && !(fcntl(1, F_GETFD) & FD_CLOEXEC),
          "close_range_cloexec", "wrong descriptors");
    check(syscall(SYS_close_range, base, ~0U, 2 /* CLOSE_RANGE_UNSHARE */) == 0 && !fd_open(base) && !fd_open(40) &&
              fd_open(1),
          "close_range_unshare_all", "wrong descriptors");
    check(syscall(SYS_close_range, 1000, 2000, 0) == 0, "close_range_nothing_open", "%s", strerror(errno));
    EXPECT_ERR("close_range_bad_flags", syscall(SYS_close_range, 3, 4, 8), EINVAL);
    EXPECT_ERR("close_range_first_after_last", syscall(SYS_close_range, 5, 4, 0), EINVAL);
    check(fd_open(0) && fd_open(1) && fd_open(2), "close_range_std_kept", "wrong descriptors");
}

static const char *prog = "/tmp/libcsys-txtbsy";

/* Copy our own binary to `prog`. */
static int copy_self(void)
{
    int in = open("/proc/self/exe", O_RDONLY), out = open(prog, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (in < 0 || out < 0) return -1;
    char buf[65536];
    long n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, n) != n) return -1;
    close(in);
    close(out);
    return 0;
}

static void t_txtbsy(void)
{
    EXPECT_ERR("etxtbsy_self", open("/proc/self/exe", O_WRONLY), ETXTBSY);
    if (copy_self()) {
        fail("etxtbsy_copy", "%s", strerror(errno));
        return;
    }
    int p[2];
    if (pipe(p)) return;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 3);
        execl(prog, prog, "sleeper", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char c;
    int up = read(p[0], &c, 1) == 1;
    check(up, "etxtbsy_child_running", "the child did not start");
    EXPECT_ERR("etxtbsy_open_wronly", open(prog, O_WRONLY), ETXTBSY);
    EXPECT_ERR("etxtbsy_open_rdwr", open(prog, O_RDWR), ETXTBSY);
    EXPECT_ERR("etxtbsy_open_trunc", open(prog, O_RDONLY | O_TRUNC), ETXTBSY);
    EXPECT_ERR("etxtbsy_truncate", truncate(prog, 0), ETXTBSY);
    int r = open(prog, O_RDONLY);
    check(r >= 0, "etxtbsy_open_rdonly_ok", "%s", strerror(errno));
    close(r);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    close(p[0]);
    int w = open(prog, O_WRONLY);
    check(w >= 0, "etxtbsy_writable_after_exit", "%s", strerror(errno));
    /* Open for writing: execve refuses it. */
    pid = fork();
    if (pid == 0) {
        execl(prog, prog, "sleeper", (char *)NULL);
        _exit(errno == ETXTBSY ? 42 : 43);
    }
    waitpid(pid, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 42, "etxtbsy_exec_open_for_write", "status %#x", st);
    close(w);
    pid = fork();
    if (pid == 0) {
        execl(prog, prog, "true", (char *)NULL);
        _exit(127);
    }
    waitpid(pid, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "etxtbsy_exec_after_close", "status %#x", st);
    unlink(prog);
}

static void t_shm(void)
{
    struct statfs sf;
    /* (Linux's initramfs of scripts/linux-run.sh has no /dev/shm: make it, as Debian does.) */
    if (access("/dev/shm", F_OK) && !mkdir("/dev/shm", 01777) && !mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777"))
        printf("INFO mounted a tmpfs on /dev/shm\n");
    check(statfs("/dev/shm", &sf) == 0 && sf.f_type == 0x01021994, "shm_dev_shm_tmpfs", "type %#lx", (long)sf.f_type);
    shm_unlink("/libcsys-shm");
    int fd = shm_open("/libcsys-shm", O_CREAT | O_EXCL | O_RDWR, 0600);
    check(fd >= 0 && access("/dev/shm/libcsys-shm", F_OK) == 0, "shm_open", "%s", strerror(errno));
    if (fd < 0) return;
    check(ftruncate(fd, PG) == 0, "shm_ftruncate", "%s", strerror(errno));
    long *ctr = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    sem_unlink("/libcsys-lock");
    sem_unlink("/libcsys-ping");
    sem_t *lock = sem_open("/libcsys-lock", O_CREAT | O_EXCL, 0600, 1);
    sem_t *ping = sem_open("/libcsys-ping", O_CREAT | O_EXCL, 0600, 0);
    check(lock != SEM_FAILED && ping != SEM_FAILED && access("/dev/shm/sem.libcsys-lock", F_OK) == 0, "sem_open", "%s",
          strerror(errno));
    if (ctr == MAP_FAILED || lock == SEM_FAILED || ping == SEM_FAILED) return;
    *ctr = 0;
    enum { N = 2000 };
    pid_t pid = fork();
    if (pid == 0) {
        /* The child opens the semaphores by name again, as another program would. */
        sem_t *l2 = sem_open("/libcsys-lock", 0), *p2 = sem_open("/libcsys-ping", 0);
        if (l2 == SEM_FAILED || p2 == SEM_FAILED) _exit(2);
        for (int i = 0; i < N; i++) {
            sem_wait(l2);
            long v = *ctr;
            sched_yield();
            *ctr = v + 1;
            sem_post(l2);
        }
        sem_post(p2);
        _exit(0);
    }
    for (int i = 0; i < N; i++) {
        sem_wait(lock);
        long v = *ctr;
        *ctr = v + 1;
        sem_post(lock);
    }
    sem_wait(ping);
    int st;
    waitpid(pid, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0 && *ctr == 2 * N, "shm_sem_counter", "counter %ld (want %d), status %#x", *ctr,
          2 * N, st);
    sem_close(lock);
    sem_close(ping);
    check(sem_unlink("/libcsys-lock") == 0 && sem_unlink("/libcsys-ping") == 0 && shm_unlink("/libcsys-shm") == 0 &&
              access("/dev/shm/libcsys-shm", F_OK) == -1,
          "shm_unlink", "%s", strerror(errno));
    munmap(ctr, PG);
}

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static void t_dents(const char *base)
{
    enum { N = 5000 };
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "%s/libcsys-dents-%d", base, getpid());
    if (mkdir(dir, 0755)) {
        fail("dents_mkdir", "%s: %s", dir, strerror(errno));
        return;
    }
    int made = 0;
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "%s/file-%05d", dir, i);
        int fd = open(path, O_CREAT | O_WRONLY, 0644);
        if (fd >= 0) {
            made++;
            close(fd);
        }
    }
    check(made == N, "dents_create", "made %d of %d", made, N);
    static unsigned char seen[N];
    memset(seen, 0, sizeof seen);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    char buf[4096];
    long n, total = 0, dups = 0, dots = 0, other = 0, calls = 0;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        calls++;
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            int k;
            if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
                dots++;
            else if (sscanf(d->d_name, "file-%d", &k) == 1 && k >= 0 && k < N) {
                if (seen[k]++) dups++;
                total++;
            } else
                other++;
            off += d->d_reclen;
        }
    }
    close(fd);
    long missing = 0;
    for (int i = 0; i < N; i++) missing += !seen[i];
    check(n == 0 && total == N && dups == 0 && missing == 0 && dots == 2 && other == 0, "dents_5000_once",
          "n=%ld total=%ld dups=%ld missing=%ld dots=%ld other=%ld calls=%ld", n, total, dups, missing, dots, other, calls);
    int removed = 0;
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "%s/file-%05d", dir, i);
        removed += unlink(path) == 0;
    }
    check(removed == N && rmdir(dir) == 0, "dents_cleanup", "removed %d", removed);
}

static void t_misc(void)
{
    struct sysinfo si;
    check(sysinfo(&si) == 0 && si.totalram > 0 && si.freeram > 0 && si.freeram <= si.totalram && si.mem_unit >= 1 && si.procs > 0,
          "sysinfo", "total %lu free %lu unit %u procs %u", si.totalram, si.freeram, si.mem_unit, si.procs);
    struct rlimit rl;
    check(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) == 0 && rl.rlim_cur > 2 && rl.rlim_cur <= rl.rlim_max, "prlimit64",
          "%s", strerror(errno));
    unsigned char r1[32] = {0}, r2[32] = {0};
    check(getrandom(r1, 32, 0) == 32 && getrandom(r2, 32, GRND_NONBLOCK) == 32 && memcmp(r1, r2, 32), "getrandom", "%s",
          strerror(errno));
    struct statx sx;
    check(statx(AT_FDCWD, "/", 0, STATX_BASIC_STATS, &sx) == 0 && S_ISDIR(sx.stx_mode) && (sx.stx_mask & STATX_INO), "statx", "%s",
          strerror(errno));
    check(syscall(SYS_faccessat2, AT_FDCWD, "/proc/self/exe", X_OK, AT_EACCESS) == 0, "faccessat2", "%s", strerror(errno));
    EXPECT_ERR("faccessat2_bad_flags", syscall(SYS_faccessat2, AT_FDCWD, "/", F_OK, 0x40000000), EINVAL);
    int p[2];
    check(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0 && (fcntl(p[0], F_GETFD) & FD_CLOEXEC) && (fcntl(p[1], F_GETFL) & O_NONBLOCK),
          "pipe2", "%s", strerror(errno));
    close(p[0]);
    close(p[1]);
    cpu_set_t set;
    CPU_ZERO(&set);
    check(sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 1, "sched_getaffinity", "%s", strerror(errno));
    struct timespec t0, t1, d = {0, 2000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int cr = clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ns = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
    check(cr == 0 && ns >= 2000000, "clock_nanosleep", "rc %d slept %ld ns", cr, ns);
    /* rseq: Velox has none (ENOSYS; Linux refuses these arguments with EINVAL), and glibc
     * runs without it (__rseq_size 0; a static glibc 2.36 registers none on Linux either). */
    errno = 0;
    long rr = syscall(SYS_rseq, NULL, 0, 0, 0);
    int re = errno;
    printf("INFO rseq size %u offset %td, rseq() errno %s\n", __rseq_size, __rseq_offset, strerrorname_np(re));
    check(rr == -1 && (re == ENOSYS || re == EINVAL) && (re != ENOSYS || __rseq_size == 0), "rseq_enosys", "rseq %ld errno %d",
          rr, re);
    check(sched_getcpu() >= 0, "sched_getcpu_without_rseq", "%s", strerror(errno));
}

int main(int argc, char **argv)
{
    t_init();
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "sleeper")) {
        /* Exec'd by txtbsy: say we run (fd 3), then wait to be killed. */
        if (write(3, "u", 1) != 1) return 3;
        for (;;) pause();
    }
    if (!strcmp(m, "true")) return 0;
    if (!strcmp(m, "mbexec")) return mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) == -1 && errno == EPERM ? 0 : 1;
    if (!strcmp(m, "mremap")) t_mremap();
    else if (!strcmp(m, "mremapfile")) {
        if (argc > 2) map_dir = argv[2];
        t_mremapfile();
    }
    else if (!strcmp(m, "mincore")) t_mincore();
    else if (!strcmp(m, "membarrier")) t_membarrier();
    else if (!strcmp(m, "closerange")) t_closerange();
    else if (!strcmp(m, "txtbsy")) t_txtbsy();
    else if (!strcmp(m, "shm")) t_shm();
    else if (!strcmp(m, "dents")) t_dents(argc > 2 ? argv[2] : "/tmp");
    else if (!strcmp(m, "misc")) t_misc();
    else {
        fprintf(stderr, "usage: libcsys mremap|mremapfile [DIR]|mincore|membarrier|closerange|txtbsy|shm|dents [DIR]|misc\n");
        return 2;
    }
    return t_exit();
}
