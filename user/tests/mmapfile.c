/* mmapfile: mmap of files (issue 17), checked against Linux's behaviour.
 * Run as "mmapfile MODE" (no argument: every mode). Files live in /tmp (tmpfs) and
 * in the RAM disk (/bin/mmapfile itself); each mode removes what it made.
 *
 * private: MAP_PRIVATE
 *   priv_read           - a 2-page + 100-byte file mapped 3 pages PROT_READ: the bytes
 *                         are the file's, the rest of the last page reads 0
 *   priv_offset         - a mapping at offset 4096 starts with byte 4096
 *   priv_cow            - stores into a PROT_WRITE private mapping stay private: the
 *                         file (pread) keeps its bytes
 *   priv_sees_write     - a page read (not written) through the mapping shows a later
 *                         pwrite to the file (the page is the file's until copied)
 *   priv_rdonly_fd_write - PROT_WRITE on a private mapping of an O_RDONLY fd works
 *   priv_hole           - a file of holes (ftruncate) maps as zeros, writable privately
 *   priv_dontneed       - MADV_DONTNEED drops private copies: the file's bytes come back
 *   priv_mprotect       - mprotect(PROT_READ|PROT_WRITE) of a read-only private mapping
 *   priv_ramdisk        - /bin/mmapfile (a RAM-disk file) maps as read() returns it,
 *                         ELF magic first; a private store leaves the file alone
 * shared: MAP_SHARED
 *   shared_store_read   - a store through the mapping is what pread returns
 *   shared_write_map    - a pwrite is seen through the mapping
 *   shared_two_maps     - two mappings of the file see each other's stores
 *   shared_hole         - a store into a hole of an ftruncate'd file: pread sees it,
 *                         the file now has one page (st_blocks 8)
 *   shared_msync        - msync(MS_SYNC) and msync(MS_ASYNC) return 0; bad flags EINVAL
 *   shared_ramdisk      - /bin/mmapfile MAP_SHARED PROT_READ matches read()
 *   shared_truncate_grow - after ftruncate down and up again, a page never touched
 *                         before reads zeros through the mapping
 *   shared_unlinked     - the mapping outlives close() and unlink(): stores and loads work
 * sigbus: past the end of the file
 *   bus_tail_zero_<p|s> - the rest of the last page reads 0 (private and shared)
 *   bus_beyond_<p|s>    - a load from a page past the file's last page is SIGBUS with
 *                         si_code BUS_ADRERR and si_addr the address
 *   bus_store_<p|s>     - a store there too
 *   bus_truncated       - a page never touched, cut off by ftruncate: SIGBUS
 *   bus_efault          - write() from such a page fails with EFAULT
 *   bus_segv_past_map   - past the mapping itself it is SIGSEGV
 * errors: errnos, in Linux's order
 *   err_offset          - an offset not page-aligned: EINVAL
 *   err_len0            - length 0: EINVAL
 *   err_badf            - a closed fd: EBADF
 *   err_wronly_<p|s>    - an O_WRONLY fd: EACCES
 *   err_shared_write_rdonly - MAP_SHARED|PROT_WRITE of an O_RDONLY fd: EACCES
 *   err_shared_read_rdonly - MAP_SHARED|PROT_READ of an O_RDONLY fd works, but
 *                         mprotect(PROT_WRITE) of it is EACCES
 *   err_dir             - a directory: ENODEV
 *   err_pipe_read / err_pipe_write - a pipe's read end ENODEV, write end EACCES
 *   err_opath           - an O_PATH fd: EBADF
 *   err_devnull         - /dev/null: ENODEV
 *   devzero             - /dev/zero MAP_PRIVATE is zeroed anonymous memory
 * fork:
 *   fork_shared         - a child's store to a MAP_SHARED mapping is seen by the parent
 *                         and by pread
 *   fork_private        - a child sees the parent's private stores made before fork;
 *                         its own stores reach neither the parent nor the file
 * race: lock order (a fault on a file mapping against read()/write() of the same file)
 *   race_read_own_private - read() of a file into an untouched private mapping of it
 *   race_read_own_shared  - pread() of the file's first half into an untouched shared
 *                         mapping of its second half: the file's halves then match
 *   race_write_from_own - pwrite() from an untouched shared mapping of the file into it
 *   race_threads        - one thread reads the file into fresh private and shared
 *                         mappings of it, another faults in fresh mappings and pwrites
 *                         the same bytes back, 300 rounds each: no deadlock, the data
 *                         is always the file's
 */
#include "t.h"
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096

static char dir[64];
static int nfile;

static unsigned char pat(long i) { return (unsigned char)(i * 7 + 3); }

/* A new file in the test directory holding `size` pattern bytes (pattern from `start`). */
static int mkfile(char *path, long size)
{
    snprintf(path, 96, "%s/f%d", dir, nfile++);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    unsigned char *b = malloc(size ? size : 1);
    for (long i = 0; i < size; i++)
        b[i] = pat(i);
    if (write(fd, b, size) != size) {
        close(fd);
        fd = -1;
    }
    free(b);
    return fd;
}

static int is_pat(const unsigned char *p, long from, long n)
{
    for (long i = 0; i < n; i++)
        if (p[i] != pat(from + i))
            return 0;
    return 1;
}

static int is_zero(const unsigned char *p, long n)
{
    for (long i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* ---- SIGBUS/SIGSEGV probes ---- */
static sigjmp_buf jb;
static volatile int got_sig, got_code;
static void *volatile got_addr;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    got_sig = sig;
    got_code = si->si_code;
    got_addr = si->si_addr;
    siglongjmp(jb, 1);
}

/* Touch `p` (load, or store with `store`): 0 if it worked, else the signal. */
static int probe(volatile unsigned char *p, int store)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    got_sig = 0;
    if (sigsetjmp(jb, 1) == 0) {
        if (store)
            *p = 1;
        else
            (void)*p;
    }
    signal(SIGBUS, SIG_DFL);
    signal(SIGSEGV, SIG_DFL);
    return got_sig;
}

static void check_bus(const char *name, volatile unsigned char *p, int store)
{
    int s = probe(p, store);
    check(s == SIGBUS && got_code == BUS_ADRERR && got_addr == (void *)p, name,
          "signal %d code %d addr %p (want SIGBUS/BUS_ADRERR at %p)", s, got_code, got_addr, (void *)p);
}

/* ---- private ---- */
static void mode_private(void)
{
    char path[96];
    long size = 2 * PG + 100;
    int fd = mkfile(path, size);
    unsigned char *m = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    check(m != MAP_FAILED && is_pat(m, 0, size) && is_zero(m + size, 3 * PG - size), "priv_read",
          "mapping differs from the file (%p)", (void *)m);
    munmap(m, 3 * PG);

    m = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, PG);
    check(m != MAP_FAILED && is_pat(m, PG, PG), "priv_offset", "mapping at offset 4096 differs");
    munmap(m, PG);

    m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    unsigned char b[8];
    int ok = m != MAP_FAILED;
    if (ok) {
        memset(m + 10, 0xee, 8);
        memset(m + PG + 10, 0xee, 8);
        ok = pread(fd, b, 8, 10) == 8 && is_pat(b, 10, 8) && pread(fd, b, 8, PG + 10) == 8 && is_pat(b, PG + 10, 8) &&
             m[10] == 0xee && m[PG + 17] == 0xee && is_pat(m + 2 * PG, 2 * PG, 100);
    }
    check(ok, "priv_cow", "private stores reached the file or were lost");
    munmap(m, 3 * PG);

    m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    ok = m != MAP_FAILED && m[PG + 5] == pat(PG + 5);
    unsigned char x = 0x5a;
    ok = ok && pwrite(fd, &x, 1, PG + 5) == 1 && m[PG + 5] == 0x5a;
    x = pat(PG + 5);
    pwrite(fd, &x, 1, PG + 5);
    check(ok, "priv_sees_write", "a pwrite to a page only read is not seen through the private mapping");
    munmap(m, 3 * PG);

    int ro = open(path, O_RDONLY);
    m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    ok = m != MAP_FAILED;
    if (ok) {
        m[0] = 0x11;
        ok = m[0] == 0x11 && pread(ro, b, 1, 0) == 1 && b[0] == pat(0);
    }
    check(ok, "priv_rdonly_fd_write", "mmap %p errno %d", (void *)m, errno);
    munmap(m, 3 * PG);

    m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    ok = m != MAP_FAILED;
    if (ok) {
        memset(m, 0, 3 * PG);
        ok = madvise(m, 3 * PG, MADV_DONTNEED) == 0 && is_pat(m, 0, size) && is_zero(m + size, 3 * PG - size);
    }
    check(ok, "priv_dontneed", "after MADV_DONTNEED the file's bytes are not back");
    munmap(m, 3 * PG);

    m = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, ro, 0);
    ok = m != MAP_FAILED && m[1] == pat(1) && mprotect(m, PG, PROT_READ | PROT_WRITE) == 0;
    if (ok) {
        m[1] = 0x77;
        ok = m[1] == 0x77 && pread(ro, b, 2, 0) == 2 && b[1] == pat(1);
    }
    check(ok, "priv_mprotect", "mprotect to writable / store failed (errno %d)", errno);
    munmap(m, PG);
    close(ro);

    char hpath[96];
    int hf = mkfile(hpath, 0);
    ok = ftruncate(hf, 3 * PG) == 0;
    m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, hf, 0);
    ok = ok && m != MAP_FAILED && is_zero(m, 3 * PG);
    if (ok) {
        m[PG] = 9;
        ok = m[PG] == 9 && pread(hf, b, 1, PG) == 1 && b[0] == 0;
    }
    check(ok, "priv_hole", "holes do not map as writable private zeros");
    munmap(m, 3 * PG);
    close(hf);
    unlink(hpath);

    int self = open("/bin/mmapfile", O_RDONLY);
    struct stat st;
    fstat(self, &st);
    long n = st.st_size;
    unsigned char *all = malloc(n);
    ok = self >= 0 && read(self, all, n) == n;
    m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE, self, 0);
    ok = ok && m != MAP_FAILED && memcmp(m, "\177ELF", 4) == 0 && memcmp(m, all, n) == 0 &&
         is_zero(m + n, (PG - n % PG) % PG);
    if (ok) {
        m[0] = 'X';
        m[n - 1] ^= 0xff;
        ok = pread(self, b, 1, 0) == 1 && b[0] == 0x7f && pread(self, b, 1, n - 1) == 1 && b[0] == all[n - 1];
    }
    check(ok, "priv_ramdisk", "RAM-disk file mapping differs from read() or a store reached it");
    munmap(m, n);
    free(all);
    close(self);
    close(fd);
    unlink(path);
}

/* ---- shared ---- */
static void mode_shared(void)
{
    char path[96];
    long size = 3 * PG;
    int fd = mkfile(path, size);
    unsigned char b[16];
    unsigned char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int ok = m != MAP_FAILED && is_pat(m, 0, size);
    if (ok) {
        memcpy(m + PG + 1, "hello", 5);
        ok = pread(fd, b, 5, PG + 1) == 5 && memcmp(b, "hello", 5) == 0;
    }
    check(ok, "shared_store_read", "a store through MAP_SHARED is not seen by pread");
    ok = m != MAP_FAILED && pwrite(fd, "world", 5, 2 * PG + 7) == 5 && memcmp(m + 2 * PG + 7, "world", 5) == 0;
    check(ok, "shared_write_map", "a pwrite is not seen through MAP_SHARED");
    unsigned char *m2 = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ok = m2 != MAP_FAILED && memcmp(m2 + PG + 1, "hello", 5) == 0;
    if (ok) {
        m2[20] = 0x42;
        m[21] = 0x43;
        ok = m[20] == 0x42 && m2[21] == 0x43;
    }
    check(ok, "shared_two_maps", "two shared mappings do not see each other's stores");
    check(msync(m, size, MS_SYNC) == 0 && msync(m, PG, MS_ASYNC) == 0, "shared_msync_ok", "errno %d", errno);
    EXPECT_ERR("shared_msync_einval", msync(m, PG, MS_SYNC | MS_ASYNC), EINVAL);
    munmap(m2, size);

    /* Truncate to one page and grow again: page 2 (never touched through this new
     * mapping) reads zeros. */
    unsigned char *m3 = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ok = m3 != MAP_FAILED && ftruncate(fd, PG) == 0 && ftruncate(fd, size) == 0 && is_zero(m3 + 2 * PG, PG) &&
         m3[0] == pat(0);
    check(ok, "shared_truncate_grow", "after truncate and grow the untouched page is not zero");
    munmap(m3, size);
    munmap(m, size);
    close(fd);

    char hpath[96];
    int hf = mkfile(hpath, 0);
    ok = ftruncate(hf, 4 * PG) == 0;
    m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, hf, 0);
    struct stat st;
    ok = ok && m != MAP_FAILED;
    if (ok) {
        m[2 * PG + 3] = 0x99;
        ok = pread(hf, b, 1, 2 * PG + 3) == 1 && b[0] == 0x99 && fstat(hf, &st) == 0 && st.st_blocks == 8 &&
             st.st_size == 4 * PG;
    }
    check(ok, "shared_hole", "store into a hole: read back %#x, st_blocks %ld", b[0], (long)st.st_blocks);
    munmap(m, 4 * PG);

    /* The mapping outlives the fd and the name. */
    m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, hf, 0);
    close(hf);
    unlink(hpath);
    ok = m != MAP_FAILED && m[2 * PG + 3] == 0x99;
    if (ok) {
        m[3 * PG] = 5;
        ok = m[3 * PG] == 5;
    }
    check(ok, "shared_unlinked", "mapping of a closed, unlinked file does not work");
    munmap(m, 4 * PG);
    unlink(path);

    int self = open("/bin/mmapfile", O_RDONLY);
    fstat(self, &st);
    long n = st.st_size;
    unsigned char *all = malloc(n);
    ok = self >= 0 && read(self, all, n) == n;
    m = mmap(NULL, n, PROT_READ, MAP_SHARED, self, 0);
    ok = ok && m != MAP_FAILED && memcmp(m, all, n) == 0;
    check(ok, "shared_ramdisk", "shared RAM-disk mapping differs from read()");
    munmap(m, n);
    free(all);
    close(self);
}

/* ---- sigbus ---- */
static void mode_sigbus(void)
{
    char path[96];
    long size = PG + 100;
    int fd = mkfile(path, size);
    for (int shared = 0; shared < 2; shared++) {
        const char *s = shared ? "s" : "p";
        char name[64];
        unsigned char *m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, shared ? MAP_SHARED : MAP_PRIVATE, fd, 0);
        snprintf(name, sizeof name, "bus_tail_zero_%s", s);
        check(m != MAP_FAILED && is_zero(m + size, PG - 100) && probe(m + size + 5, 1) == 0, name,
              "the tail of the last page is not zero / writable");
        snprintf(name, sizeof name, "bus_beyond_%s", s);
        check_bus(name, m + 2 * PG + 17, 0);
        snprintf(name, sizeof name, "bus_store_%s", s);
        check_bus(name, m + 2 * PG + 4095, 1);
        munmap(m, 3 * PG);
    }
    unsigned char *m = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    errno = 0;
    long r = write(fd, m + 2 * PG, 10);
    check(r == -1 && errno == EFAULT, "bus_efault", "write from a page past EOF: %ld errno %d", r, errno);
    munmap(m, 3 * PG);

    /* A page never touched, then cut off. */
    ftruncate(fd, 3 * PG);
    m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int ok = m != MAP_FAILED && m[0] == pat(0);
    ftruncate(fd, PG);
    if (ok)
        check_bus("bus_truncated", m + 2 * PG, 0);
    else
        fail("bus_truncated", "mmap failed");
    munmap(m, 3 * PG);

    /* Past the mapping: SIGSEGV. Reserve 2 pages, map the file into the first. */
    unsigned char *area = mmap(NULL, 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(area + PG, PG);
    m = mmap(area, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
    int sig = probe(m + PG, 0);
    check(m == area && sig == SIGSEGV, "bus_segv_past_map", "signal %d", sig);
    munmap(m, PG);
    close(fd);
    unlink(path);
}

/* ---- errors ---- */
static void mode_errors(void)
{
    char path[96];
    int fd = mkfile(path, 2 * PG);
    EXPECT_ERR("err_offset", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 100) == MAP_FAILED ? -1 : 0, EINVAL);
    EXPECT_ERR("err_len0", mmap(NULL, 0, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED ? -1 : 0, EINVAL);
    int dead = dup(fd);
    close(dead);
    EXPECT_ERR("err_badf", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, dead, 0) == MAP_FAILED ? -1 : 0, EBADF);
    int wo = open(path, O_WRONLY);
    EXPECT_ERR("err_wronly_p", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, wo, 0) == MAP_FAILED ? -1 : 0, EACCES);
    EXPECT_ERR("err_wronly_s", mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, wo, 0) == MAP_FAILED ? -1 : 0, EACCES);
    close(wo);
    int ro = open(path, O_RDONLY);
    EXPECT_ERR("err_shared_write_rdonly", mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED ? -1 : 0,
               EACCES);
    unsigned char *m = mmap(NULL, PG, PROT_READ, MAP_SHARED, ro, 0);
    if (m == MAP_FAILED)
        fail("err_shared_read_rdonly", "mmap failed: errno %d", errno);
    else
        EXPECT_ERR("err_shared_read_rdonly", mprotect(m, PG, PROT_READ | PROT_WRITE), EACCES);
    munmap(m, PG);
    close(ro);
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    EXPECT_ERR("err_dir", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, d, 0) == MAP_FAILED ? -1 : 0, ENODEV);
    close(d);
    int p[2];
    pipe(p);
    EXPECT_ERR("err_pipe_read", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, p[0], 0) == MAP_FAILED ? -1 : 0, ENODEV);
    EXPECT_ERR("err_pipe_write", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, p[1], 0) == MAP_FAILED ? -1 : 0, EACCES);
    close(p[0]);
    close(p[1]);
    int op = open(path, O_PATH);
    EXPECT_ERR("err_opath", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, op, 0) == MAP_FAILED ? -1 : 0, EBADF);
    close(op);
    int dn = open("/dev/null", O_RDWR);
    EXPECT_ERR("err_devnull", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, dn, 0) == MAP_FAILED ? -1 : 0, ENODEV);
    close(dn);
    int dz = open("/dev/zero", O_RDWR);
    m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, dz, 0);
    int ok = m != MAP_FAILED && is_zero(m, 2 * PG);
    if (ok) {
        m[PG] = 3;
        ok = m[PG] == 3;
    }
    check(ok, "devzero", "/dev/zero private mapping: %p errno %d", (void *)m, errno);
    munmap(m, 2 * PG);
    close(dz);
    close(fd);
    unlink(path);
}

/* ---- fork ---- */
static void mode_fork(void)
{
    char path[96];
    int fd = mkfile(path, 2 * PG);
    unsigned char *s = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    unsigned char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (s == MAP_FAILED || p == MAP_FAILED) {
        fail("fork_setup", "mmap failed: errno %d", errno);
        return;
    }
    s[0] = pat(0); /* touched before fork */
    p[1] = 0xab;   /* a private copy before fork */
    pid_t c = fork();
    if (c == 0) {
        s[10] = 0xcd;       /* a touched page */
        s[PG + 10] = 0xce;  /* a page first touched in the child */
        int ok = p[1] == 0xab && p[2] == pat(2);
        p[1] = 0x01;
        p[PG + 1] = 0x02;
        _exit(ok ? 0 : 1);
    }
    int st;
    waitpid(c, &st, 0);
    unsigned char b[2];
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0 && s[10] == 0xcd && s[PG + 10] == 0xce && pread(fd, b, 1, PG + 10) == 1 &&
              b[0] == 0xce,
          "fork_shared", "child's shared stores not seen (status %#x, %#x %#x)", st, s[10], s[PG + 10]);
    check(p[1] == 0xab && p[PG + 1] == pat(PG + 1) && pread(fd, b, 2, PG) == 2 && b[1] == pat(PG + 1), "fork_private",
          "child's private stores leaked (%#x %#x)", p[1], p[PG + 1]);
    munmap(s, 2 * PG);
    munmap(p, 2 * PG);
    close(fd);
    unlink(path);
}

/* ---- race ---- */
#define RP 16
static int rfd;
static volatile int stop;

static void *toucher(void *arg)
{
    (void)arg;
    unsigned char buf[64];
    for (int i = 0; i < 300 && !stop; i++) {
        int shared = i & 1;
        unsigned char *m = mmap(NULL, RP * PG, PROT_READ | PROT_WRITE, shared ? MAP_SHARED : MAP_PRIVATE, rfd, 0);
        if (m == MAP_FAILED)
            return (void *)1;
        for (int k = 0; k < RP; k++)
            if (m[k * PG + i % PG] != pat(k * PG + i % PG))
                return (void *)2;
        /* Write back the bytes the file already holds (its contents never change). */
        long at = (i * 997) % (RP * PG - 64);
        for (int k = 0; k < 64; k++)
            buf[k] = pat(at + k);
        if (pwrite(rfd, buf, 64, at) != 64)
            return (void *)3;
        munmap(m, RP * PG);
    }
    return NULL;
}

static void mode_race(void)
{
    char path[96];
    rfd = mkfile(path, RP * PG);
    unsigned char *m = mmap(NULL, RP * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, rfd, 0);
    long r = m == MAP_FAILED ? -2 : pread(rfd, m, RP * PG, 0);
    check(r == RP * PG && is_pat(m, 0, RP * PG), "race_read_own_private", "read %ld", r);
    munmap(m, RP * PG);

    m = mmap(NULL, RP * PG, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
    r = m == MAP_FAILED ? -2 : pread(rfd, m + RP / 2 * PG, RP / 2 * PG, 0);
    check(r == RP / 2 * PG && is_pat(m + RP / 2 * PG, 0, RP / 2 * PG), "race_read_own_shared", "read %ld", r);
    munmap(m, RP * PG);
    /* Put the second half back. */
    unsigned char *good = malloc(RP / 2 * PG);
    for (long i = 0; i < RP / 2 * PG; i++)
        good[i] = pat(RP / 2 * PG + i);
    pwrite(rfd, good, RP / 2 * PG, RP / 2 * PG);
    free(good);
    /* write() from an untouched shared mapping of the file into the file. */
    m = mmap(NULL, RP * PG, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
    r = m == MAP_FAILED ? -2 : pwrite(rfd, m, RP / 2 * PG, RP / 2 * PG);
    int ok = r == RP / 2 * PG;
    for (long i = 0; ok && i < RP / 2 * PG; i++)
        ok = m[RP / 2 * PG + i] == pat(i);
    check(ok, "race_write_from_own", "pwrite from own mapping: %ld", r);
    /* Restore the pattern for the threads. */
    for (long i = RP / 2 * PG; i < RP * PG; i++)
        m[i] = pat(i);
    munmap(m, RP * PG);

    pthread_t th;
    pthread_create(&th, NULL, toucher, NULL);
    int bad = 0;
    for (int i = 0; i < 300 && !bad; i++) {
        int shared = i & 1;
        m = mmap(NULL, RP * PG, PROT_READ | PROT_WRITE, shared ? MAP_SHARED : MAP_PRIVATE, rfd, 0);
        if (m == MAP_FAILED) {
            bad = 1;
            break;
        }
        /* (A shared mapping reads the file onto itself: its bytes stay the same.) */
        long off = shared ? 0 : (i % 4) * PG;
        r = pread(rfd, m + off, RP * PG - off, 0);
        if (r != RP * PG - off)
            bad = 2;
        else if (!shared && !is_pat(m + off, 0, RP * PG - off))
            bad = 3;
        else if (shared && !is_pat(m, 0, RP * PG))
            bad = 4;
        munmap(m, RP * PG);
    }
    stop = bad;
    void *res;
    pthread_join(th, &res);
    check(!bad && res == NULL, "race_threads", "reader %d, toucher %ld", bad, (long)res);
    close(rfd);
    unlink(path);
}

int main(int argc, char **argv)
{
    t_init();
    snprintf(dir, sizeof dir, "/tmp/mmapfile-%d", getpid());
    mkdir(dir, 0755);
    const char *mode = argc > 1 ? argv[1] : "all";
    int all = !strcmp(mode, "all");
    if (all || !strcmp(mode, "private"))
        mode_private();
    if (all || !strcmp(mode, "shared"))
        mode_shared();
    if (all || !strcmp(mode, "sigbus"))
        mode_sigbus();
    if (all || !strcmp(mode, "errors"))
        mode_errors();
    if (all || !strcmp(mode, "fork"))
        mode_fork();
    if (all || !strcmp(mode, "race"))
        mode_race();
    check(rmdir(dir) == 0, "cleanup", "rmdir %s: errno %d", dir, errno);
    return t_failed;
}
