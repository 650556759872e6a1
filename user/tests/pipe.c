/* pipe: pipes, descriptor operations, poll/select.
 * Children never print: they report through exit status or the pipes; the
 * parent prints every check.  SIGPIPE is ignored in the parent (EPIPE tests).
 *   pipe_plain / pipe2_cloexec / pipe2_nonblock - F_GETFD/F_GETFL show exactly
 *                       the requested flags on both ends
 *   pipe_accmode      - read end O_RDONLY, write end O_WRONLY
 *   pipe2_badflags    - pipe2(O_APPEND) -> EINVAL
 *   pipe2_efault      - pipe2 with a bad array pointer -> EFAULT
 *   pipe_read_partial - a 1000-byte read of a pipe holding 100 bytes returns 100
 *   pipe_read_split   - 30 then 70 bytes: data in order
 *   pipe_eof          - read returns 0 once the only writer is closed and the
 *                       pipe is drained
 *   pipe_epipe        - write with no reader -> EPIPE (SIGPIPE ignored)
 *   pipe_sigpipe_default - same with SIGPIPE at SIG_DFL: the child is killed by
 *                       SIGPIPE (WTERMSIG == 13)
 *   pipe_eagain_read  - non-blocking read of an empty pipe -> EAGAIN
 *   pipe_eagain_write - non-blocking writes fill the pipe (capacity >= PIPE_BUF,
 *                       printed as INFO), then a 1-byte write -> EAGAIN
 *   pipe_nonblock_partial_write - a non-blocking write larger than the free
 *                       space (and > PIPE_BUF) writes part and returns the count
 *   pipe_atomic_nonblock - with 100 bytes free, a non-blocking 200-byte write
 *                       (<= PIPE_BUF) -> EAGAIN (atomic), a 50-byte one -> 50
 *   pipe_64m          - 64 MiB from a child to the parent, writes of 1..64 KiB
 *                       and reads of 1..128 KiB, checked byte for byte, then EOF
 *   pipe_atomic_records - 4 writer processes x 10,000 tagged records of
 *                       16..PIPE_BUF bytes: the reader finds every record whole,
 *                       in per-writer order (no interleaving)
 *   poll_timeout0 / poll_pollout / poll_pollin / poll_full_no_pollout /
 *   poll_pollhup / poll_pollerr / poll_pollnval / poll_negfd - poll() readiness
 *   poll_timeout50    - a 50 ms poll on an empty pipe returns 0 after 49..1000 ms
 *   poll_wake         - poll(-1 style, 5 s) wakes when a child writes
 *   ppoll             - zero timeout, readiness, 30 ms timeout
 *   select_pipe / select_timeout / select_ebadf / pselect_pipe - select family
 *   pipe_reader_woken_eof - a reader blocked in read() returns 0 when the only
 *                       writer (a child) exits
 *   pipe_reader_woken_data - a blocked reader gets data written 30 ms later
 *   pipe_writer_woken_epipe - a writer blocked on a full pipe returns when the
 *                       only reader (a child) exits; the next write -> EPIPE
 *   dup / dup_lowest / dup_shares_flags / dup2_same / dup2_replace /
 *   dup2_ebadf / dup2_big / dup3_same / dup3_cloexec / dup3_badflags
 *   fcntl_dupfd / fcntl_dupfd_cloexec / fcntl_dupfd_einval / fcntl_fd_flags /
 *   fcntl_nonblock_toggle (O_NONBLOCK on: EAGAIN; off: read blocks until a
 *   child writes) / fcntl_setfl_accmode / fcntl_ebadf / fcntl_badcmd
 *   close_ebadf / close_neg (close(-1)) / read_ebadf / write_ebadf / write_readend / read_writeend /
 *   lseek_espipe / pread_espipe - error returns
 *   fdtable_thread_close / fdtable_thread_dup - the descriptor table is shared
 *                       with threads
 *   fdtable_fork_copy - fork copies it: the child's close/dup don't affect the
 *                       parent */
#include "t.h"
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000L + ts.tv_nsec / 1000L;
}

static const char *desc_status(int st)
{
    static char buf[64];
    if (WIFEXITED(st))
        snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof buf, "killed by signal %d", WTERMSIG(st));
    else
        snprintf(buf, sizeof buf, "raw status %#x", st);
    return buf;
}

static pid_t xwait(pid_t pid, int *st)
{
    pid_t r;
    do
        r = waitpid(pid, st, 0);
    while (r == -1 && errno == EINTR);
    return r;
}

static int exited_with(int st, int code) { return WIFEXITED(st) && WEXITSTATUS(st) == code; }

static void close2(int p[2])
{
    close(p[0]);
    close(p[1]);
}

/* read everything currently in a pipe without blocking */
static void drain(int fd)
{
    char buf[4096];
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    while (read(fd, buf, sizeof buf) > 0) {
    }
    fcntl(fd, F_SETFL, fl);
}

/* ------------------------------------------------------------ flags */

static void test_flags(void)
{
    int p[2];
    if (pipe2(p, 0) == 0) {
        int d0 = fcntl(p[0], F_GETFD), d1 = fcntl(p[1], F_GETFD);
        int l0 = fcntl(p[0], F_GETFL), l1 = fcntl(p[1], F_GETFL);
        check(d0 == 0 && d1 == 0 && !(l0 & O_NONBLOCK) && !(l1 & O_NONBLOCK), "pipe_plain",
              "F_GETFD %#x/%#x F_GETFL %#x/%#x", d0, d1, l0, l1);
        check((l0 & O_ACCMODE) == O_RDONLY && (l1 & O_ACCMODE) == O_WRONLY, "pipe_accmode",
              "F_GETFL read end %#x, write end %#x", l0, l1);
        close2(p);
    } else
        fail("pipe_plain", "pipe2: %s", strerror(errno));

    if (pipe2(p, O_CLOEXEC) == 0) {
        int d0 = fcntl(p[0], F_GETFD), d1 = fcntl(p[1], F_GETFD);
        int l0 = fcntl(p[0], F_GETFL), l1 = fcntl(p[1], F_GETFL);
        check(d0 == FD_CLOEXEC && d1 == FD_CLOEXEC && !(l0 & O_NONBLOCK) && !(l1 & O_NONBLOCK),
              "pipe2_cloexec", "F_GETFD %#x/%#x F_GETFL %#x/%#x", d0, d1, l0, l1);
        close2(p);
    } else
        fail("pipe2_cloexec", "pipe2: %s", strerror(errno));

    if (pipe2(p, O_NONBLOCK) == 0) {
        int d0 = fcntl(p[0], F_GETFD), d1 = fcntl(p[1], F_GETFD);
        int l0 = fcntl(p[0], F_GETFL), l1 = fcntl(p[1], F_GETFL);
        check(d0 == 0 && d1 == 0 && (l0 & O_NONBLOCK) && (l1 & O_NONBLOCK), "pipe2_nonblock",
              "F_GETFD %#x/%#x F_GETFL %#x/%#x", d0, d1, l0, l1);
        close2(p);
    } else
        fail("pipe2_nonblock", "pipe2: %s", strerror(errno));

    EXPECT_ERR("pipe2_badflags", pipe2(p, O_APPEND), EINVAL);
    EXPECT_ERR("pipe2_efault", syscall(SYS_pipe2, 16L, 0L), EFAULT);
}

/* ------------------------------------------------------------ basic I/O */

static void test_basic_io(void)
{
    int p[2];
    char buf[1000], pat[100];
    for (int i = 0; i < 100; i++)
        pat[i] = (char)(i * 3 + 1);
    if (pipe(p)) {
        fail("pipe_read_partial", "pipe: %s", strerror(errno));
        return;
    }
    ssize_t w = write(p[1], pat, 100);
    ssize_t r = read(p[0], buf, sizeof buf);
    check(w == 100 && r == 100 && memcmp(buf, pat, 100) == 0, "pipe_read_partial",
          "write %zd, read(1000) %zd (want 100, 100, same data)", w, r);
    w = write(p[1], pat, 100);
    ssize_t r1 = read(p[0], buf, 30);
    ssize_t r2 = read(p[0], buf + 30, 70);
    check(w == 100 && r1 == 30 && r2 == 70 && memcmp(buf, pat, 100) == 0, "pipe_read_split",
          "write %zd, reads %zd + %zd", w, r1, r2);
    w = write(p[1], "abc", 3);
    close(p[1]);
    r1 = read(p[0], buf, sizeof buf);
    r2 = read(p[0], buf, sizeof buf);
    check(w == 3 && r1 == 3 && r2 == 0, "pipe_eof", "reads %zd then %zd (want 3 then 0)", r1, r2);
    close(p[0]);

    if (pipe(p) == 0) {
        close(p[0]);
        EXPECT_ERR("pipe_epipe", write(p[1], "x", 1), EPIPE);
        close(p[1]);
    }

    if (pipe(p) == 0) {
        close(p[0]); /* no reader anywhere before the child writes */
        pid_t pid = fork();
        if (pid == 0) {
            signal(SIGPIPE, SIG_DFL);
            ssize_t x = write(p[1], "x", 1);
            _exit(x == -1 && errno == EPIPE ? 2 : 3);
        }
        close(p[1]);
        int st = 0;
        xwait(pid, &st);
        check(pid > 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE, "pipe_sigpipe_default",
              "child %s (want killed by signal 13; exited 2 = got EPIPE instead)",
              desc_status(st));
    }
}

/* ------------------------------------------------------------ non-blocking */

static void test_nonblock(void)
{
    int p[2];
    static char big[256 * 1024];
    if (pipe2(p, O_NONBLOCK)) {
        fail("pipe_eagain_read", "pipe2: %s", strerror(errno));
        return;
    }
    char c;
    EXPECT_ERR("pipe_eagain_read", read(p[0], &c, 1), EAGAIN);

    long cap = 0;
    ssize_t w;
    while ((w = write(p[1], big, 4096)) > 0 && cap < 16L * 1024 * 1024)
        cap += w;
    int e = errno;
    errno = 0;
    ssize_t w1 = write(p[1], "x", 1);
    int e1 = errno;
    printf("INFO pipe capacity %ld bytes (filled with 4096-byte writes)\n", cap);
    check(w == -1 && e == EAGAIN && cap >= PIPE_BUF && w1 == -1 && e1 == EAGAIN,
          "pipe_eagain_write", "fill ended with %zd/%s after %ld bytes; 1-byte write %zd/%s", w,
          strerrorname_np(e), cap, w1, strerrorname_np(e1));
    drain(p[0]);

    size_t n = (size_t)cap + 100000;
    char *more = calloc(1, n);
    w = more ? write(p[1], more, n) : -1;
    free(more);
    check(w > 0 && (size_t)w < n, "pipe_nonblock_partial_write",
          "write(%zu) into an empty pipe of capacity %ld returned %zd (%s)", n, cap, w,
          w < 0 ? strerror(errno) : "");
    drain(p[0]);

    /* leave exactly 100 bytes free */
    long filled = 0;
    while (filled < cap - 100) {
        long chunk = cap - 100 - filled;
        w = write(p[1], big, chunk > 65536 ? 65536 : chunk);
        if (w <= 0)
            break;
        filled += w;
    }
    errno = 0;
    ssize_t a = write(p[1], big, 200);
    int ea = errno;
    ssize_t b = write(p[1], big, 50);
    check(filled == cap - 100 && a == -1 && ea == EAGAIN && b == 50, "pipe_atomic_nonblock",
          "filled %ld of %ld; 200-byte write %zd/%s (want -1/EAGAIN); 50-byte write %zd (want 50)",
          filled, cap, a, strerrorname_np(ea), b);
    close2(p);
}

/* ------------------------------------------------------------ 64 MiB transfer */

#define BIG_TOTAL (64L * 1024 * 1024)
#define PERIOD 65521 /* prime: chunk boundaries never line up with the pattern */
#define MAXW 65536
#define MAXR 131072

static unsigned char pat[PERIOD + MAXW];

static uint32_t rng_next(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void test_64m(void)
{
    uint32_t s = 12345;
    for (size_t i = 0; i < sizeof pat; i++)
        pat[i] = (unsigned char)(i < PERIOD ? rng_next(&s) >> 24 : pat[i - PERIOD]);
    int p[2];
    if (pipe(p)) {
        fail("pipe_64m", "pipe: %s", strerror(errno));
        return;
    }
    long t0 = now_us();
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        uint32_t ws = 777;
        long off = 0;
        while (off < BIG_TOTAL) {
            uint32_t r = rng_next(&ws);
            long n = (r & 7) == 0 ? 1 + (r >> 8) % 64 : (r & 7) == 1 ? MAXW : 1 + (r >> 8) % MAXW;
            if (n > BIG_TOTAL - off)
                n = BIG_TOTAL - off;
            ssize_t w = write(p[1], pat + off % PERIOD, n);
            if (w <= 0)
                _exit(2);
            off += w;
        }
        _exit(0);
    }
    close(p[1]);
    static unsigned char buf[MAXR];
    uint32_t rs = 4242;
    long off = 0, bad = -1;
    ssize_t r;
    for (;;) {
        uint32_t x = rng_next(&rs);
        size_t n = (x & 7) == 0 ? 1 + (x >> 8) % 64 : (x & 7) == 1 ? MAXR : 1 + (x >> 8) % MAXR;
        r = read(p[0], buf, n);
        if (r <= 0)
            break;
        if (bad < 0 && off + r <= BIG_TOTAL)
            for (long done = 0; done < r;) {
                long piece = r - done > MAXW ? MAXW : r - done;
                if (memcmp(buf + done, pat + (off + done) % PERIOD, piece) != 0) {
                    long i = 0;
                    while (buf[done + i] == pat[(off + done) % PERIOD + i])
                        i++;
                    bad = off + done + i;
                    break;
                }
                done += piece;
            }
        off += r;
    }
    int e = errno;
    close(p[0]);
    int st = 0;
    xwait(pid, &st);
    long dt = now_us() - t0;
    printf("INFO pipe_64m %ld bytes in %ld ms\n", off, dt / 1000);
    check(pid > 0 && r == 0 && off == BIG_TOTAL && bad < 0 && exited_with(st, 0), "pipe_64m",
          "received %ld of %ld bytes, last read %zd (%s), first bad byte at %ld, writer %s", off,
          BIG_TOTAL, r, r < 0 ? strerror(e) : "", bad, desc_status(st));
}

/* ------------------------------------------------------------ atomic records */

#define NWRITERS 4
#define NRECS 10000

struct rec_hdr {
    uint16_t len;
    uint8_t writer, magic;
    uint32_t seq;
};

static unsigned char rec_byte(int w, uint32_t seq, int i)
{
    return (unsigned char)(w * 59 + seq * 7 + i);
}

static void writer_proc(int fd, int w)
{
    unsigned char rec[PIPE_BUF];
    uint32_t s = 1000 + w;
    for (uint32_t seq = 0; seq < NRECS; seq++) {
        uint32_t r = rng_next(&s);
        int len = (r & 15) == 0 ? 16 + (int)((r >> 4) % (PIPE_BUF - 16 + 1)) : 16 + (int)((r >> 4) % 48);
        struct rec_hdr h = {(uint16_t)len, (uint8_t)w, 0xa5, seq};
        memcpy(rec, &h, sizeof h);
        for (int i = sizeof h; i < len; i++)
            rec[i] = rec_byte(w, seq, i);
        if (write(fd, rec, len) != len)
            _exit(3);
    }
    _exit(0);
}

static void test_atomic_records(void)
{
    int p[2];
    if (pipe(p)) {
        fail("pipe_atomic_records", "pipe: %s", strerror(errno));
        return;
    }
    pid_t pids[NWRITERS];
    long t0 = now_us();
    for (int w = 0; w < NWRITERS; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            close(p[0]);
            writer_proc(p[1], w);
        }
    }
    close(p[1]);
    static unsigned char buf[65536 + PIPE_BUF];
    size_t have = 0;
    uint32_t next[NWRITERS] = {0};
    long total = 0, recs = 0;
    char why[200] = "";
    ssize_t r;
    while ((r = read(p[0], buf + have, sizeof buf - have)) > 0) {
        total += r;
        have += r;
        if (why[0]) {
            have = 0;
            continue;
        }
        size_t pos = 0;
        while (have - pos >= sizeof(struct rec_hdr)) {
            struct rec_hdr h;
            memcpy(&h, buf + pos, sizeof h);
            if (h.magic != 0xa5 || h.writer >= NWRITERS || h.len < 16 || h.len > PIPE_BUF) {
                snprintf(why, sizeof why,
                         "bad header at stream offset %ld (record %ld): len %u writer %u magic %#x",
                         total - (long)(have - pos), recs, h.len, h.writer, h.magic);
                break;
            }
            if (have - pos < h.len)
                break;
            if (h.seq != next[h.writer]) {
                snprintf(why, sizeof why, "writer %u: seq %u, want %u", h.writer, h.seq,
                         next[h.writer]);
                break;
            }
            for (int i = sizeof h; i < h.len; i++)
                if (buf[pos + i] != rec_byte(h.writer, h.seq, i)) {
                    snprintf(why, sizeof why,
                             "writer %u seq %u: byte %d of %u is foreign (interleaved write)",
                             h.writer, h.seq, i, h.len);
                    break;
                }
            if (why[0])
                break;
            next[h.writer]++;
            recs++;
            pos += h.len;
        }
        memmove(buf, buf + pos, have - pos);
        have -= pos;
    }
    close(p[0]);
    int ok_children = 1;
    for (int w = 0; w < NWRITERS; w++) {
        int st = 0;
        if (pids[w] <= 0 || xwait(pids[w], &st) != pids[w] || !exited_with(st, 0)) {
            ok_children = 0;
            if (!why[0])
                snprintf(why, sizeof why, "writer %d %s", w, desc_status(st));
        }
    }
    if (!why[0] && (have != 0 || recs != NWRITERS * NRECS))
        snprintf(why, sizeof why, "%ld records (want %d), %zu stray bytes at EOF", recs,
                 NWRITERS * NRECS, have);
    printf("INFO pipe_atomic_records %ld records, %ld bytes in %ld ms\n", recs, total,
           (now_us() - t0) / 1000);
    check(!why[0] && ok_children && r == 0, "pipe_atomic_records", "%s (last read %zd)", why, r);
}

/* ------------------------------------------------------------ poll / select */

static void test_poll(void)
{
    int p[2];
    if (pipe(p)) {
        fail("poll_timeout0", "pipe: %s", strerror(errno));
        return;
    }
    struct pollfd fds[2];
    fds[0] = (struct pollfd){p[0], POLLIN, 0x5a5a};
    int r = poll(fds, 1, 0);
    check(r == 0 && fds[0].revents == 0, "poll_timeout0", "poll=%d revents %#x", r,
          fds[0].revents);

    fds[0] = (struct pollfd){p[1], POLLOUT, 0};
    r = poll(fds, 1, 0);
    check(r == 1 && fds[0].revents == POLLOUT, "poll_pollout", "poll=%d revents %#x", r,
          fds[0].revents);

    long t0 = now_us();
    fds[0] = (struct pollfd){p[0], POLLIN, 0};
    r = poll(fds, 1, 50);
    long dt = now_us() - t0;
    check(r == 0 && dt >= 49000 && dt <= 1000000, "poll_timeout50", "poll=%d after %ld us", r,
          dt);

    if (write(p[1], "x", 1) != 1)
        fail("poll_pollin", "write: %s", strerror(errno));
    fds[0] = (struct pollfd){p[0], POLLIN, 0};
    r = poll(fds, 1, 0);
    check(r == 1 && fds[0].revents == POLLIN, "poll_pollin", "poll=%d revents %#x", r,
          fds[0].revents);

    /* full pipe: no POLLOUT */
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    static char big[65536];
    while (write(p[1], big, sizeof big) > 0) {
    }
    while (write(p[1], big, 1) > 0) {
    }
    fds[0] = (struct pollfd){p[1], POLLOUT, 0};
    r = poll(fds, 1, 0);
    check(r == 0 && fds[0].revents == 0, "poll_full_no_pollout", "poll=%d revents %#x", r,
          fds[0].revents);

    /* writers gone */
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    drain(p[0]);
    fds[0] = (struct pollfd){p[0], POLLIN, 0};
    r = poll(fds, 1, 0);
    check(r == 1 && (fds[0].revents & POLLHUP) && !(fds[0].revents & POLLIN), "poll_pollhup",
          "poll=%d revents %#x (want POLLHUP without POLLIN)", r, fds[0].revents);
    close(p[0]);

    /* readers gone */
    if (pipe(p) == 0) {
        close(p[0]);
        fds[0] = (struct pollfd){p[1], POLLOUT, 0};
        r = poll(fds, 1, 0);
        check(r == 1 && (fds[0].revents & POLLERR), "poll_pollerr",
              "poll=%d revents %#x (want POLLERR)", r, fds[0].revents);
        close(p[1]);
    }

    if (pipe(p) == 0) {
        fds[0] = (struct pollfd){1000, POLLIN, 0};
        fds[1] = (struct pollfd){-1, POLLIN, 0x77};
        r = poll(fds, 2, 0);
        check(r == 1 && fds[0].revents == POLLNVAL, "poll_pollnval",
              "poll=%d revents %#x (want 1, POLLNVAL)", r, fds[0].revents);
        check(fds[1].revents == 0, "poll_negfd", "revents %#x for fd -1 (want 0)",
              fds[1].revents);

        pid_t pid = fork();
        if (pid == 0) {
            sleep_ms(30);
            _exit(write(p[1], "w", 1) == 1 ? 0 : 1);
        }
        t0 = now_us();
        fds[0] = (struct pollfd){p[0], POLLIN, 0};
        r = poll(fds, 1, 5000);
        dt = now_us() - t0;
        int st = 0;
        xwait(pid, &st);
        check(r == 1 && fds[0].revents == POLLIN && dt < 4000000, "poll_wake",
              "poll=%d revents %#x after %ld us", r, fds[0].revents, dt);
        drain(p[0]);

        /* ppoll */
        struct timespec zero = {0, 0}, t30 = {0, 30000000};
        fds[0] = (struct pollfd){p[0], POLLIN, 0};
        int r1 = ppoll(fds, 1, &zero, NULL);
        t0 = now_us();
        int r2 = ppoll(fds, 1, &t30, NULL);
        dt = now_us() - t0;
        if (write(p[1], "y", 1) != 1)
            fail("ppoll", "write: %s", strerror(errno));
        int r3 = ppoll(fds, 1, &zero, NULL);
        check(r1 == 0 && r2 == 0 && dt >= 29000 && dt <= 1000000 && r3 == 1 &&
                  fds[0].revents == POLLIN,
              "ppoll", "empty %d, 30 ms timeout %d after %ld us, with data %d revents %#x", r1,
              r2, dt, r3, fds[0].revents);
        drain(p[0]);

        /* select */
        fd_set rs, ws;
        struct timeval tv = {0, 0};
        FD_ZERO(&rs);
        FD_ZERO(&ws);
        FD_SET(p[0], &rs);
        FD_SET(p[1], &ws);
        r1 = select(p[1] + 1, &rs, &ws, NULL, &tv);
        int rbit = FD_ISSET(p[0], &rs), wbit = FD_ISSET(p[1], &ws);
        if (write(p[1], "z", 1) != 1)
            fail("select_pipe", "write: %s", strerror(errno));
        FD_ZERO(&rs);
        FD_SET(p[0], &rs);
        tv = (struct timeval){0, 0};
        r2 = select(p[0] + 1, &rs, NULL, NULL, &tv);
        check(r1 == 1 && !rbit && wbit && r2 == 1 && FD_ISSET(p[0], &rs), "select_pipe",
              "empty: %d (read bit %d, write bit %d), with data: %d", r1, rbit, wbit, r2);
        drain(p[0]);

        FD_ZERO(&rs);
        FD_SET(p[0], &rs);
        tv = (struct timeval){0, 30000};
        t0 = now_us();
        r1 = select(p[0] + 1, &rs, NULL, NULL, &tv);
        dt = now_us() - t0;
        check(r1 == 0 && !FD_ISSET(p[0], &rs) && dt >= 29000 && dt <= 1000000,
              "select_timeout", "select=%d after %ld us", r1, dt);

        /* a closed fd below the highest open one (Linux ignores fds beyond
         * its descriptor table's current size, so a huge number won't do) */
        int q[2];
        if (pipe(q) == 0) {
            close(q[0]);
            FD_ZERO(&rs);
            FD_SET(q[0], &rs);
            tv = (struct timeval){0, 0};
            EXPECT_ERR("select_ebadf", select(q[1] + 1, &rs, NULL, NULL, &tv), EBADF);
            close(q[1]);
        }

        FD_ZERO(&rs);
        FD_SET(p[0], &rs);
        r1 = pselect(p[0] + 1, &rs, NULL, NULL, &zero, NULL);
        int b1 = FD_ISSET(p[0], &rs);
        if (write(p[1], "q", 1) != 1)
            fail("pselect_pipe", "write: %s", strerror(errno));
        FD_ZERO(&rs);
        FD_SET(p[0], &rs);
        r2 = pselect(p[0] + 1, &rs, NULL, NULL, &zero, NULL);
        check(r1 == 0 && !b1 && r2 == 1 && FD_ISSET(p[0], &rs), "pselect_pipe",
              "empty: %d, with data: %d", r1, r2);
        close2(p);
    }
}

/* ------------------------------------------------------------ blocking wake-ups */

static void test_blocking(void)
{
    int p[2];
    char buf[16];
    if (pipe(p) == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            sleep_ms(30);
            _exit(0);
        }
        close(p[1]);
        long t0 = now_us();
        ssize_t r = read(p[0], buf, sizeof buf);
        long dt = now_us() - t0;
        int st = 0;
        xwait(pid, &st);
        close(p[0]);
        check(r == 0 && dt >= 10000, "pipe_reader_woken_eof",
              "read=%zd after %ld us (want 0 after the child's ~30 ms sleep)", r, dt);
    }
    if (pipe(p) == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            sleep_ms(30);
            _exit(write(p[1], "d", 1) == 1 ? 0 : 1);
        }
        close(p[1]);
        buf[0] = 0;
        ssize_t r = read(p[0], buf, sizeof buf);
        int st = 0;
        xwait(pid, &st);
        close(p[0]);
        check(r == 1 && buf[0] == 'd', "pipe_reader_woken_data", "read=%zd byte %#x", r, buf[0]);
    }
    if (pipe(p) == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            close(p[1]);
            sleep_ms(50);
            _exit(0);
        }
        close(p[0]);
        static char big[1 << 20];
        errno = 0;
        ssize_t w = write(p[1], big, sizeof big);
        int e = errno;
        errno = 0;
        ssize_t w2 = write(p[1], "x", 1);
        int e2 = errno;
        int st = 0;
        xwait(pid, &st);
        close(p[1]);
        check(((w > 0 && w < (ssize_t)sizeof big) || (w == -1 && e == EPIPE)) && w2 == -1 &&
                  e2 == EPIPE,
              "pipe_writer_woken_epipe",
              "blocked write returned %zd (%s), next write %zd (%s); want partial or EPIPE, "
              "then EPIPE",
              w, strerrorname_np(e), w2, strerrorname_np(e2));
    }
}

/* ------------------------------------------------------------ dup / fcntl / errors */

static void test_dup(void)
{
    int p[2];
    char c;
    if (pipe2(p, O_CLOEXEC)) {
        fail("dup", "pipe2: %s", strerror(errno));
        return;
    }
    int d = dup(p[1]);
    int fd_flags = fcntl(d, F_GETFD);
    ssize_t w = write(d, "D", 1);
    ssize_t r = read(p[0], &c, 1);
    check(d >= 0 && d != p[0] && d != p[1] && fd_flags == 0 && w == 1 && r == 1 && c == 'D',
          "dup", "dup=%d F_GETFD %#x (want 0), write %zd read %zd", d, fd_flags, w, r);
    close(d);
    int d2 = dup(p[1]);
    check(d2 == d, "dup_lowest", "dup after close returned %d, want %d", d2, d);

    fcntl(d2, F_SETFL, O_NONBLOCK);
    int fl = fcntl(p[1], F_GETFL);
    check(fl != -1 && (fl & O_NONBLOCK), "dup_shares_flags",
          "O_NONBLOCK set through the dup, F_GETFL of the original %#x", fl);
    fcntl(d2, F_SETFL, 0);
    close(d2);

    check(dup2(p[0], p[0]) == p[0], "dup2_same", "dup2(fd, fd) != fd (%s)", strerror(errno));
    int x = dup(p[1]);
    int y = dup2(p[0], x);
    int xfl = fcntl(x, F_GETFL);
    w = write(p[1], "R", 1);
    c = 0;
    r = read(x, &c, 1);
    check(x >= 0 && y == x && (xfl & O_ACCMODE) == O_RDONLY && r == 1 && c == 'R',
          "dup2_replace", "dup2 onto open fd %d returned %d, F_GETFL %#x, read %zd", x, y, xfl, r);
    close(x);
    EXPECT_ERR("dup2_ebadf", dup2(777, 50), EBADF);
    EXPECT_ERR("dup2_big", dup2(p[0], 1 << 30), EBADF);
    EXPECT_ERR("dup3_same", dup3(p[0], p[0], 0), EINVAL);
    int z = dup3(p[0], 60, O_CLOEXEC);
    int zf = fcntl(60, F_GETFD);
    check(z == 60 && zf == FD_CLOEXEC, "dup3_cloexec", "dup3=%d F_GETFD %#x", z, zf);
    close(60);
    EXPECT_ERR("dup3_badflags", dup3(p[0], 61, O_NONBLOCK), EINVAL);

    int f1 = fcntl(p[0], F_DUPFD, 70);
    int f1d = fcntl(f1, F_GETFD);
    int f1b = fcntl(p[0], F_DUPFD, 70);
    check(f1 == 70 && f1d == 0 && f1b == 71, "fcntl_dupfd",
          "F_DUPFD(70)=%d F_GETFD %#x, again=%d (want 70, 0, 71)", f1, f1d, f1b);
    close(f1);
    close(f1b);
    int f2 = fcntl(p[0], F_DUPFD_CLOEXEC, 80);
    int f2d = fcntl(f2, F_GETFD);
    check(f2 == 80 && f2d == FD_CLOEXEC, "fcntl_dupfd_cloexec", "F_DUPFD_CLOEXEC(80)=%d F_GETFD %#x",
          f2, f2d);
    close(f2);
    EXPECT_ERR("fcntl_dupfd_einval", fcntl(p[0], F_DUPFD, 1 << 30), EINVAL);

    int s1 = fcntl(p[0], F_SETFD, 0), g1 = fcntl(p[0], F_GETFD);
    int s2 = fcntl(p[0], F_SETFD, FD_CLOEXEC), g2 = fcntl(p[0], F_GETFD);
    check(s1 == 0 && g1 == 0 && s2 == 0 && g2 == FD_CLOEXEC, "fcntl_fd_flags",
          "F_SETFD 0 -> %d, F_GETFD %#x; F_SETFD FD_CLOEXEC -> %d, F_GETFD %#x", s1, g1, s2, g2);

    /* O_NONBLOCK toggling changes read behaviour */
    int sa = fcntl(p[0], F_SETFL, O_NONBLOCK);
    errno = 0;
    ssize_t ra = read(p[0], &c, 1);
    int ea = errno;
    int sb = fcntl(p[0], F_SETFL, 0);
    int gb = fcntl(p[0], F_GETFL);
    pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(30);
        _exit(write(p[1], "B", 1) == 1 ? 0 : 1);
    }
    long t0 = now_us();
    c = 0;
    ssize_t rb = read(p[0], &c, 1);
    long dt = now_us() - t0;
    int st = 0;
    xwait(pid, &st);
    check(sa == 0 && ra == -1 && ea == EAGAIN && sb == 0 && !(gb & O_NONBLOCK) && rb == 1 &&
              c == 'B' && dt >= 10000,
          "fcntl_nonblock_toggle",
          "non-blocking read %zd/%s (want EAGAIN); after clearing F_GETFL %#x, read %zd after "
          "%ld us (want a blocking read of 'B')",
          ra, strerrorname_np(ea), gb, rb, dt);

    fcntl(p[0], F_SETFL, O_WRONLY | O_NONBLOCK);
    int ga = fcntl(p[0], F_GETFL);
    check((ga & O_ACCMODE) == O_RDONLY && (ga & O_NONBLOCK), "fcntl_setfl_accmode",
          "F_GETFL %#x after F_SETFL(O_WRONLY|O_NONBLOCK) on the read end", ga);
    fcntl(p[0], F_SETFL, 0);

    EXPECT_ERR("fcntl_ebadf", fcntl(777, F_GETFD), EBADF);
    EXPECT_ERR("fcntl_badcmd", fcntl(p[0], 9999), EINVAL);
    EXPECT_ERR("close_ebadf", close(777), EBADF);
    EXPECT_ERR("close_neg", close(-1), EBADF);
    EXPECT_ERR("read_ebadf", read(777, &c, 1), EBADF);
    EXPECT_ERR("write_ebadf", write(777, "x", 1), EBADF);
    EXPECT_ERR("write_readend", write(p[0], "x", 1), EBADF);
    EXPECT_ERR("read_writeend", read(p[1], &c, 1), EBADF);
    EXPECT_ERR("lseek_espipe", lseek(p[0], 0, SEEK_CUR), ESPIPE);
    EXPECT_ERR("pread_espipe", pread(p[0], &c, 1, 0), ESPIPE);
    close2(p);
}

/* ------------------------------------------------------------ descriptor table sharing */

static int sh_pipe[2];

static void *closer(void *a)
{
    (void)a;
    long n = dup(sh_pipe[1]);
    close(sh_pipe[0]);
    return (void *)n;
}

static void test_fdtable(void)
{
    if (pipe(sh_pipe)) {
        fail("fdtable_thread_close", "pipe: %s", strerror(errno));
        return;
    }
    pthread_t t;
    void *rv = (void *)-1L;
    if (pthread_create(&t, NULL, closer, NULL) || pthread_join(t, &rv)) {
        fail("fdtable_thread_close", "pthread_create/join failed");
        return;
    }
    errno = 0;
    int g = fcntl(sh_pipe[0], F_GETFD);
    int e = errno;
    check(g == -1 && e == EBADF, "fdtable_thread_close",
          "fd closed by a thread: F_GETFD %d errno %d (want -1/EBADF)", g, e);
    int nd = (int)(long)rv;
    int gd = fcntl(nd, F_GETFD);
    check(nd >= 0 && gd == 0, "fdtable_thread_dup", "fd %d dup'd by a thread: F_GETFD %d", nd, gd);
    if (nd >= 0)
        close(nd);
    close(sh_pipe[1]);

    int p[2];
    if (pipe(p)) {
        fail("fdtable_fork_copy", "pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int n = dup(p[1]);
        close(p[0]);
        _exit(n >= 0 && n < 250 ? n : 250);
    }
    int st = 0;
    xwait(pid, &st);
    int n = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
    errno = 0;
    int gn = fcntl(n, F_GETFD);
    int en = errno;
    char c = 0;
    ssize_t w = write(p[1], "F", 1);
    ssize_t r = read(p[0], &c, 1);
    check(n < 250 && gn == -1 && en == EBADF && w == 1 && r == 1 && c == 'F',
          "fdtable_fork_copy",
          "child %s (its dup's fd number); that fd in the parent: F_GETFD %d errno %d (want "
          "EBADF); parent's pipe after the child's close: write %zd read %zd",
          desc_status(st), gn, en, w, r);
    close2(p);
}

int main(void)
{
    t_init();
    signal(SIGPIPE, SIG_IGN);
    test_flags();
    test_basic_io();
    test_nonblock();
    test_64m();
    test_atomic_records();
    test_poll();
    test_blocking();
    test_dup();
    test_fdtable();
    return t_exit();
}
