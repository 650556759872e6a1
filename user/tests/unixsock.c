/* AF_UNIX sockets (issue 20: python3's multiprocessing and asyncio need them): socketpair of
 * every type, names in the file tree and the abstract namespace, listen/accept/connect,
 * shutdown and close as the peer sees them, SCM_RIGHTS, poll, FIONREAD, socket options, and
 * the errors Linux gives for bad input. Also run on Linux (scripts/linux-run.sh unixsock). */
#include "t.h"
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int sigpipes;
static void on_pipe(int s) { (void)s; sigpipes++; }

static socklen_t path_addr(struct sockaddr_un *a, const char *p)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, p);
    return offsetof(struct sockaddr_un, sun_path) + strlen(p) + 1;
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
}

static void test_stream_pair(void)
{
    int sv[2];
    char buf[64];
    check(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "stream socketpair", "%s", strerror(errno));
    check(write(sv[0], "hello", 5) == 5 && write(sv[0], " world", 6) == 6, "stream write", "%s", strerror(errno));
    ssize_t n = read(sv[1], buf, sizeof buf);
    check(n == 11 && memcmp(buf, "hello world", 11) == 0, "stream read joins writes", "n=%zd", n);
    check(send(sv[1], "back", 4, 0) == 4 && recv(sv[0], buf, sizeof buf, 0) == 4 && memcmp(buf, "back", 4) == 0,
          "stream both ways", "%s", strerror(errno));
    /* MSG_PEEK leaves the data; FIONREAD counts it. */
    send(sv[0], "peekaboo", 8, 0);
    int avail = -1;
    check(ioctl(sv[1], FIONREAD, &avail) == 0 && avail == 8, "stream FIONREAD", "avail=%d", avail);
    n = recv(sv[1], buf, 4, MSG_PEEK);
    ssize_t m = recv(sv[1], buf, sizeof buf, 0);
    check(n == 4 && m == 8 && memcmp(buf, "peekaboo", 8) == 0, "stream MSG_PEEK", "n=%zd m=%zd", n, m);
    /* readv/writev gather and scatter. */
    struct iovec wv[2] = {{"ab", 2}, {"cde", 3}};
    char x[2], y[8];
    struct iovec rv[2] = {{x, 2}, {y, 8}};
    check(writev(sv[0], wv, 2) == 5 && readv(sv[1], rv, 2) == 5 && memcmp(x, "ab", 2) == 0 && memcmp(y, "cde", 3) == 0,
          "stream readv/writev", "%s", strerror(errno));
    /* A zero-length stream send queues nothing; a zero-length receive waits for data too. */
    check(send(sv[0], "", 0, 0) == 0, "zero-length stream send", "%s", strerror(errno));
    EXPECT_ERR("then nothing to read", recv(sv[1], buf, 0, MSG_DONTWAIT), EAGAIN);
    send(sv[0], "z", 1, 0);
    check(recv(sv[1], buf, 0, 0) == 0 && recv(sv[1], buf, sizeof buf, 0) == 1, "zero-length recv with data returns 0, consumes nothing", "%s", strerror(errno));
    /* shutdown(SHUT_WR): the peer reads end-of-file, our writes fail. */
    signal(SIGPIPE, on_pipe);
    check(shutdown(sv[0], SHUT_WR) == 0, "shutdown SHUT_WR", "%s", strerror(errno));
    check(read(sv[1], buf, sizeof buf) == 0, "peer reads EOF after SHUT_WR", "%s", strerror(errno));
    EXPECT_ERR("write after SHUT_WR EPIPE", write(sv[0], "x", 1), EPIPE);
    check(sigpipes == 1, "SIGPIPE with EPIPE", "sigpipes=%d", sigpipes);
    EXPECT_ERR("MSG_NOSIGNAL EPIPE", send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
    check(sigpipes == 1, "no SIGPIPE with MSG_NOSIGNAL", "sigpipes=%d", sigpipes);
    check(write(sv[1], "still", 5) == 5 && read(sv[0], buf, sizeof buf) == 5, "other direction still open", "%s", strerror(errno));
    close(sv[0]);
    EXPECT_ERR("write to a closed peer EPIPE", send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
    check(read(sv[1], buf, sizeof buf) == 0, "read after peer close EOF", "%s", strerror(errno));
    struct pollfd p = {sv[1], POLLIN | POLLOUT, 0};
    check(poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) && (p.revents & POLLIN) && (p.revents & POLLOUT), "poll POLLIN|POLLOUT|POLLHUP after peer close",
          "revents=%#x", p.revents);
    close(sv[1]);
    signal(SIGPIPE, SIG_DFL);

    /* A close with unread data: writes fail with EPIPE, the reader gets ECONNRESET once, then EOF. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    send(sv[0], "lost", 4, 0);
    close(sv[1]);
    EXPECT_ERR("peer closed with unread data: write EPIPE", send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
    EXPECT_ERR("peer closed with unread data ECONNRESET", recv(sv[0], buf, sizeof buf, 0), ECONNRESET);
    check(recv(sv[0], buf, sizeof buf, 0) == 0, "then EOF", "%s", strerror(errno));
    close(sv[0]);
}

static void test_dgram_pair(int type, const char *name)
{
    int sv[2];
    char buf[64], t[64];
    snprintf(t, sizeof t, "%s socketpair", name);
    check(socketpair(AF_UNIX, type, 0, sv) == 0, t, "%s", strerror(errno));
    send(sv[0], "one", 3, 0);
    send(sv[0], "", 0, 0);
    send(sv[0], "three33", 7, 0);
    int avail = -1;
    ioctl(sv[1], FIONREAD, &avail);
    snprintf(t, sizeof t, "%s FIONREAD", name);
    /* (A seqpacket socket counts every queued byte, as Linux.) */
    check(avail == (type == SOCK_DGRAM ? 3 : 10), t, "avail=%d", avail);
    ssize_t a = recv(sv[1], buf, sizeof buf, 0);
    ssize_t b = recv(sv[1], buf, sizeof buf, 0);
    snprintf(t, sizeof t, "%s keeps message boundaries", name);
    check(a == 3 && b == 0, t, "a=%zd b=%zd", a, b);
    /* A short buffer truncates: MSG_TRUNC in flags (and the real length with MSG_TRUNC). */
    struct iovec iov = {buf, 2};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    ssize_t c = recvmsg(sv[1], &m, 0);
    snprintf(t, sizeof t, "%s truncation MSG_TRUNC", name);
    check(c == 2 && (m.msg_flags & MSG_TRUNC) && memcmp(buf, "th", 2) == 0, t, "c=%zd flags=%#x", c, m.msg_flags);
    send(sv[1], "12345", 5, 0);
    c = recv(sv[0], buf, 1, MSG_TRUNC);
    snprintf(t, sizeof t, "%s recv MSG_TRUNC returns the full length", name);
    check(c == 5, t, "c=%zd", c);
    snprintf(t, sizeof t, "%s nonblocking empty EAGAIN", name);
    EXPECT_ERR(t, recv(sv[0], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    close(sv[0]);
    close(sv[1]);
}

static void test_nonblocking_fill(void)
{
    int sv[2];
    static char big[65536];
    check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0, "SOCK_NONBLOCK|SOCK_CLOEXEC", "%s", strerror(errno));
    check((fcntl(sv[0], F_GETFL) & O_NONBLOCK) && (fcntl(sv[0], F_GETFD) & FD_CLOEXEC), "flags applied", "fl=%#x", fcntl(sv[0], F_GETFL));
    long total = 0;
    for (int i = 0; i < 1000; i++) {
        ssize_t n = write(sv[0], big, sizeof big);
        if (n < 0)
            break;
        total += n;
    }
    int e = errno;
    check(total > 0 && e == EAGAIN, "stream fills up, then EAGAIN", "total=%ld errno=%d", total, e);
    struct pollfd p = {sv[0], POLLOUT, 0};
    check(poll(&p, 1, 0) == 0, "full: not POLLOUT", "revents=%#x", p.revents);
    long got = 0;
    for (;;) {
        ssize_t n = read(sv[1], big, sizeof big);
        if (n <= 0)
            break;
        got += n;
    }
    check(got == total, "everything written is read", "got=%ld total=%ld", got, total);
    p.revents = 0;
    check(poll(&p, 1, 0) == 1 && (p.revents & POLLOUT), "drained: POLLOUT", "revents=%#x", p.revents);
    close(sv[0]);
    close(sv[1]);
}

static void *late_sender(void *arg)
{
    usleep(50000);
    send(*(int *)arg, "late", 4, 0);
    return NULL;
}

static void test_names(void)
{
    struct sockaddr_un a, b;
    socklen_t alen = path_addr(&a, "/tmp/vsock.test"), blen;
    unlink(a.sun_path);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    check(l >= 0 && bind(l, (struct sockaddr *)&a, alen) == 0, "bind a path", "%s", strerror(errno));
    struct stat st;
    check(stat(a.sun_path, &st) == 0 && S_ISSOCK(st.st_mode), "bound path is a socket node", "mode=%o", st.st_mode);
    EXPECT_ERR("open a socket node ENXIO", open(a.sun_path, O_RDONLY), ENXIO);
    int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR("bind an existing path EADDRINUSE", bind(l2, (struct sockaddr *)&a, alen), EADDRINUSE);
    blen = abstract_addr(&b, "velox-twice");
    EXPECT_ERR("bind twice EINVAL", bind(l, (struct sockaddr *)&b, blen), EINVAL);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR("connect before listen ECONNREFUSED", connect(c, (struct sockaddr *)&a, alen), ECONNREFUSED);
    check(listen(l, 5) == 0, "listen", "%s", strerror(errno));
    int v = 0;
    socklen_t vl = sizeof v;
    check(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) == 0 && v == 1, "SO_ACCEPTCONN", "v=%d", v);
    fcntl(l, F_SETFL, O_NONBLOCK);
    EXPECT_ERR("accept nonblocking with none EAGAIN", accept(l, 0, 0), EAGAIN);
    fcntl(l, F_SETFL, 0);
    check(connect(c, (struct sockaddr *)&a, alen) == 0, "connect to the path", "%s", strerror(errno));
    EXPECT_ERR("connect again EISCONN", connect(c, (struct sockaddr *)&a, alen), EISCONN);
    blen = sizeof b;
    int s = accept(l, (struct sockaddr *)&b, &blen);
    check(s >= 0 && blen == offsetof(struct sockaddr_un, sun_path), "accept (unnamed client)", "s=%d blen=%u %s", s, blen, strerror(errno));
    blen = sizeof b;
    check(getpeername(c, (struct sockaddr *)&b, &blen) == 0 && blen == alen && strcmp(b.sun_path, "/tmp/vsock.test") == 0,
          "client getpeername is the path", "blen=%u", blen);
    blen = sizeof b;
    check(getsockname(s, (struct sockaddr *)&b, &blen) == 0 && strcmp(b.sun_path, "/tmp/vsock.test") == 0, "accepted getsockname", "blen=%u", blen);
    struct ucred cr;
    socklen_t cl = sizeof cr;
    check(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 && cr.pid == getpid() && cr.uid == geteuid() && cl == sizeof cr,
          "SO_PEERCRED", "pid=%d uid=%u", cr.pid, cr.uid);
    vl = sizeof v;
    check(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl) == 0 && v == SOCK_STREAM, "SO_TYPE", "v=%d", v);
    vl = sizeof v;
    check(getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &vl) == 0 && v == AF_UNIX, "SO_DOMAIN", "v=%d", v);
    EXPECT_ERR("unknown option ENOPROTOOPT", getsockopt(s, SOL_SOCKET, 9999, &v, &vl), ENOPROTOOPT);
    pthread_t th;
    pthread_create(&th, NULL, late_sender, &c);
    char buf[16];
    ssize_t n = recv(s, buf, sizeof buf, 0);
    pthread_join(th, NULL);
    check(n == 4 && memcmp(buf, "late", 4) == 0, "blocking recv woken by another thread", "n=%zd", n);
    /* A blocking accept woken by a child's connect. */
    pid_t pid = fork();
    if (pid == 0) {
        usleep(50000);
        int k = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(k, (struct sockaddr *)&a, alen) != 0)
            _exit(1);
        send(k, "child", 5, 0);
        _exit(0);
    }
    int s2 = accept(l, NULL, NULL);
    n = s2 >= 0 ? recv(s2, buf, sizeof buf, 0) : -1;
    int ws;
    waitpid(pid, &ws, 0);
    check(n == 5 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "blocking accept woken by a connect", "n=%zd ws=%#x", n, ws);
    close(s2);
    /* Backlog: listen(0) takes one pending connection; the next nonblocking connect EAGAIN. */
    int l3 = socket(AF_UNIX, SOCK_STREAM, 0);
    abstract_addr(&b, "velox-backlog");
    socklen_t bl = offsetof(struct sockaddr_un, sun_path) + 1 + strlen("velox-backlog");
    check(bind(l3, (struct sockaddr *)&b, bl) == 0 && listen(l3, 0) == 0, "abstract bind and listen", "%s", strerror(errno));
    EXPECT_ERR("abstract name in use EADDRINUSE", bind(l2, (struct sockaddr *)&b, bl), EADDRINUSE);
    int k1 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0), k2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    check(connect(k1, (struct sockaddr *)&b, bl) == 0, "abstract connect", "%s", strerror(errno));
    EXPECT_ERR("full backlog nonblocking connect EAGAIN", connect(k2, (struct sockaddr *)&b, bl), EAGAIN);
    close(l3);
    char z;
    EXPECT_ERR("listener closed: pending client ECONNRESET", read(k1, &z, 1), ECONNRESET);
    check(read(k1, &z, 1) == 0, "then EOF", "%s", strerror(errno));
    EXPECT_ERR("abstract name freed on close ECONNREFUSED", connect(k2, (struct sockaddr *)&b, bl), ECONNREFUSED);
    close(k1);
    close(k2);
    /* Autobind: an address of only the family gets an abstract name. */
    int ab = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un fam = {.sun_family = AF_UNIX};
    blen = sizeof b;
    check(bind(ab, (struct sockaddr *)&fam, sizeof(sa_family_t)) == 0 && getsockname(ab, (struct sockaddr *)&b, &blen) == 0 &&
              blen == offsetof(struct sockaddr_un, sun_path) + 6 && b.sun_path[0] == 0,
          "autobind", "blen=%u", blen);
    close(ab);
    close(s);
    close(c);
    close(l);
    close(l2);
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR("connect after the listener closed ECONNREFUSED", connect(c, (struct sockaddr *)&a, alen), ECONNREFUSED);
    unlink(a.sun_path);
    EXPECT_ERR("connect to a missing path ENOENT", connect(c, (struct sockaddr *)&a, alen), ENOENT);
    close(c);
}

static void test_dgram_names(void)
{
    struct sockaddr_un a, b, from;
    socklen_t alen = path_addr(&a, "/tmp/vsock.dg"), blen = abstract_addr(&b, "velox-dg"), flen;
    unlink(a.sun_path);
    int x = socket(AF_UNIX, SOCK_DGRAM, 0), y = socket(AF_UNIX, SOCK_DGRAM, 0), z = socket(AF_UNIX, SOCK_DGRAM, 0);
    check(bind(x, (struct sockaddr *)&a, alen) == 0 && bind(y, (struct sockaddr *)&b, blen) == 0, "dgram binds", "%s", strerror(errno));
    check(sendto(y, "to x", 4, 0, (struct sockaddr *)&a, alen) == 4, "sendto a path", "%s", strerror(errno));
    char buf[16];
    flen = sizeof from;
    ssize_t n = recvfrom(x, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    check(n == 4 && flen == blen && memcmp(from.sun_path, b.sun_path, blen - 2) == 0, "recvfrom names the sender", "n=%zd flen=%u", n, flen);
    check(sendto(z, "anon", 4, 0, (struct sockaddr *)&b, blen) == 4, "unbound sender", "%s", strerror(errno));
    flen = sizeof from;
    n = recvfrom(y, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    check(n == 4 && flen == 0, "unbound sender has no name", "n=%zd flen=%u", n, flen);
    EXPECT_ERR("dgram send without address ENOTCONN", send(z, "x", 1, 0), ENOTCONN);
    check(connect(z, (struct sockaddr *)&a, alen) == 0 && send(z, "conn", 4, 0) == 4 && recv(x, buf, sizeof buf, 0) == 4, "dgram connect", "%s", strerror(errno));
    /* x accepts only its peer's datagrams once connected. */
    check(connect(x, (struct sockaddr *)&b, blen) == 0, "connect x to y", "%s", strerror(errno));
    EXPECT_ERR("send to a socket connected elsewhere EPERM", send(z, "no", 2, 0), EPERM);
    EXPECT_ERR("listen on dgram EOPNOTSUPP", listen(x, 1), EOPNOTSUPP);
    close(y);
    EXPECT_ERR("send to a closed dgram peer ECONNREFUSED", send(x, "x", 1, 0), ECONNREFUSED);
    close(x);
    close(z);
    unlink(a.sun_path);
}

static int nfds_open(void)
{
    int n = 0;
    for (int i = 0; i < 256; i++)
        if (fcntl(i, F_GETFD) >= 0)
            n++;
    return n;
}

static void test_scm_rights(void)
{
    int sv[2], p[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(p);
    char cbuf[CMSG_SPACE(2 * sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {"F", 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = CMSG_SPACE(2 * sizeof(int))};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(2 * sizeof(int));
    memcpy(CMSG_DATA(c), p, 2 * sizeof(int));
    check(sendmsg(sv[0], &m, 0) == 1, "sendmsg SCM_RIGHTS", "%s", strerror(errno));
    close(p[0]);
    close(p[1]);
    char rb[8], rc[CMSG_SPACE(2 * sizeof(int))];
    struct iovec riov = {rb, sizeof rb};
    struct msghdr r = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = rc, .msg_controllen = sizeof rc};
    ssize_t n = recvmsg(sv[1], &r, MSG_CMSG_CLOEXEC);
    struct cmsghdr *rh = CMSG_FIRSTHDR(&r);
    int got[2] = {-1, -1};
    if (rh && rh->cmsg_type == SCM_RIGHTS)
        memcpy(got, CMSG_DATA(rh), sizeof got);
    check(n == 1 && rh && rh->cmsg_level == SOL_SOCKET && rh->cmsg_len == CMSG_LEN(2 * sizeof(int)) && got[0] >= 0 && got[1] >= 0 && !(r.msg_flags & MSG_CTRUNC),
          "recvmsg SCM_RIGHTS", "n=%zd len=%zu flags=%#x", n, rh ? (size_t)rh->cmsg_len : 0, r.msg_flags);
    check(fcntl(got[0], F_GETFD) & FD_CLOEXEC, "MSG_CMSG_CLOEXEC", "fd flags %#x", fcntl(got[0], F_GETFD));
    char q[4] = {0};
    check(write(got[1], "via", 3) == 3 && read(got[0], q, 3) == 3 && memcmp(q, "via", 3) == 0, "passed pipe works", "%s", strerror(errno));
    close(got[1]);
    check(read(got[0], q, 3) == 0, "passed write end's close is seen", "%s", strerror(errno));
    close(got[0]);
    /* A control buffer too small: MSG_CTRUNC and the descriptors closed. */
    int before = nfds_open();
    pipe(p);
    memcpy(CMSG_DATA(c), p, 2 * sizeof(int));
    sendmsg(sv[0], &m, 0);
    close(p[0]);
    close(p[1]);
    r.msg_controllen = CMSG_LEN(0);
    r.msg_flags = 0;
    n = recvmsg(sv[1], &r, 0);
    check(n == 1 && (r.msg_flags & MSG_CTRUNC) && nfds_open() == before, "short control buffer MSG_CTRUNC", "n=%zd flags=%#x fds %d -> %d", n, r.msg_flags, before, nfds_open());
    /* A descriptor with data read by plain recv: the descriptors are dropped, the data comes. */
    pipe(p);
    memcpy(CMSG_DATA(c), p, 2 * sizeof(int));
    sendmsg(sv[0], &m, 0);
    close(p[0]);
    close(p[1]);
    check(recv(sv[1], rb, sizeof rb, 0) == 1 && nfds_open() == before, "recv drops passed descriptors", "fds %d -> %d", before, nfds_open());
    /* Bad input. */
    c->cmsg_len = 4096;
    EXPECT_ERR("cmsg_len past the buffer EINVAL", sendmsg(sv[0], &m, 0), EINVAL);
    c->cmsg_len = CMSG_LEN(sizeof(int));
    int bad = 999;
    memcpy(CMSG_DATA(c), &bad, sizeof bad);
    m.msg_controllen = CMSG_SPACE(sizeof(int));
    EXPECT_ERR("SCM_RIGHTS of a closed fd EBADF", sendmsg(sv[0], &m, 0), EBADF);
    m.msg_control = (void *)8;
    EXPECT_ERR("control at a bad address EFAULT", sendmsg(sv[0], &m, 0), EFAULT);
    close(sv[0]);
    close(sv[1]);
}

static void test_errors(void)
{
    int sv[2], p[2];
    char buf[8];
    EXPECT_ERR("unknown type ESOCKTNOSUPPORT", socket(AF_UNIX, SOCK_RDM, 0), ESOCKTNOSUPPORT);
    EXPECT_ERR("type past SOCK_MAX EINVAL", socket(AF_UNIX, 12, 0), EINVAL);
    EXPECT_ERR("unknown flag EINVAL", socket(AF_UNIX, SOCK_STREAM | 0x100000, 0), EINVAL);
    EXPECT_ERR("protocol EPROTONOSUPPORT", socket(AF_UNIX, SOCK_STREAM, 7), EPROTONOSUPPORT);
    EXPECT_ERR("family out of range EAFNOSUPPORT", socket(999, SOCK_STREAM, 0), EAFNOSUPPORT);
    pipe(p);
    EXPECT_ERR("bind on a pipe ENOTSOCK", bind(p[0], (struct sockaddr *)&(struct sockaddr_un){.sun_family = AF_UNIX}, 2), ENOTSOCK);
    EXPECT_ERR("bind on a bad fd EBADF", bind(555, (struct sockaddr *)&(struct sockaddr_un){.sun_family = AF_UNIX}, 2), EBADF);
    close(p[0]);
    close(p[1]);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    path_addr(&a, "/tmp/x");
    EXPECT_ERR("address too long EINVAL", connect(s, (struct sockaddr *)&a, sizeof a + 1), EINVAL);
    a.sun_family = AF_INET;
    EXPECT_ERR("wrong family EINVAL", bind(s, (struct sockaddr *)&a, sizeof a), EINVAL);
    EXPECT_ERR("send unconnected ENOTCONN", send(s, "x", 1, MSG_NOSIGNAL), ENOTCONN);
    EXPECT_ERR("recv unconnected EINVAL", recv(s, buf, 1, 0), EINVAL);
    EXPECT_ERR("getpeername unconnected ENOTCONN", getpeername(s, (struct sockaddr *)&a, &(socklen_t){sizeof a}), ENOTCONN);
    EXPECT_ERR("accept not listening EINVAL", accept(s, 0, 0), EINVAL);
    EXPECT_ERR("listen unbound EINVAL", listen(s, 1), EINVAL);
    check(shutdown(s, SHUT_RD) == 0, "shutdown unconnected (allowed, as Linux)", "%s", strerror(errno));
    EXPECT_ERR("connect address EFAULT", connect(s, (struct sockaddr *)8, sizeof a), EFAULT);
    EXPECT_ERR("lseek ESPIPE", lseek(s, 0, SEEK_SET), ESPIPE);
    struct stat st;
    check(fstat(s, &st) == 0 && S_ISSOCK(st.st_mode), "fstat S_ISSOCK", "mode=%o", st.st_mode);
    close(s);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    EXPECT_ERR("send from a bad buffer EFAULT", send(sv[0], (void *)8, 10, 0), EFAULT);
    send(sv[0], "abc", 3, 0);
    EXPECT_ERR("recv into a bad buffer EFAULT", recv(sv[1], (void *)8, 10, 0), EFAULT);
    check(recv(sv[1], buf, sizeof buf, 0) == 3, "data kept after EFAULT", "%s", strerror(errno));
    EXPECT_ERR("shutdown bad how EINVAL", shutdown(sv[0], 7), EINVAL);
    EXPECT_ERR("sendto with an address on a connected stream EISCONN",
               sendto(sv[0], "x", 1, 0, (struct sockaddr *)&(struct sockaddr_un){.sun_family = AF_UNIX, .sun_path = "/tmp/x"}, sizeof(struct sockaddr_un)), EISCONN);
    EXPECT_ERR("socketpair to a bad address EFAULT", socketpair(AF_UNIX, SOCK_STREAM, 0, (int *)(volatile long){8}), EFAULT);
    close(sv[0]);
    close(sv[1]);
    /* Many pairs made and closed: nothing runs out. */
    int ok = 1;
    for (int i = 0; i < 3000 && ok; i++) {
        if (socketpair(AF_UNIX, i % 2 ? SOCK_DGRAM : SOCK_STREAM, 0, sv) != 0) {
            ok = 0;
            break;
        }
        send(sv[0], "data", 4, 0);
        close(sv[0]);
        close(sv[1]);
    }
    check(ok, "3000 socketpairs made and closed", "%s", strerror(errno));
}


static void *drain_slowly(void *arg)
{
    int fd = *(int *)arg;
    static char b[4096];
    long got = 0;
    usleep(20000);
    for (;;) {
        ssize_t n = read(fd, b, sizeof b);
        if (n <= 0)
            break;
        got += n;
    }
    return (void *)got;
}

static void send_fd(int over, int fd)
{
    char c[CMSG_SPACE(sizeof(int))];
    memset(c, 0, sizeof c);
    struct iovec iov = {"s", 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = c, .msg_controllen = sizeof c};
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &fd, sizeof fd);
    sendmsg(over, &m, 0);
}

/* What a hostile review found (each once hung, panicked or starved the kernel). */
static void test_hostile(void)
{
    int sv[2];
    char buf[64];
    /* A chain of 3000 sockets, each in the previous one's queue, released by one close. */
    int a0, prev, a, b;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    a0 = sv[0];
    prev = sv[1];
    int ok = 1;
    for (int i = 0; i < 3000 && ok; i++) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
            ok = 0;
            break;
        }
        a = sv[0];
        b = sv[1];
        send_fd(prev, a);
        close(a);
        close(prev);
        prev = b;
    }
    close(prev);
    close(a0);
    check(ok, "a chain of 3000 passed sockets closes (no recursion)", "%s", strerror(errno));
    /* Connecting a bound socket to its own name. */
    struct sockaddr_un ad;
    socklen_t al = abstract_addr(&ad, "velox-self");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(s, (struct sockaddr *)&ad, al);
    EXPECT_ERR("connect to itself ECONNREFUSED", connect(s, (struct sockaddr *)&ad, al), ECONNREFUSED);
    /* A listener shut down for reading: accept fails instead of spinning. */
    listen(s, 4);
    shutdown(s, SHUT_RD);
    EXPECT_ERR("accept after SHUT_RD EINVAL", accept(s, NULL, NULL), EINVAL);
    close(s);
    /* A datagram receiver shut down for reading refuses with EPIPE (a full one too). */
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    shutdown(sv[1], SHUT_RD);
    EXPECT_ERR("dgram to a SHUT_RD receiver EPIPE", send(sv[0], "x", 1, 0), EPIPE);
    close(sv[0]);
    close(sv[1]);
    /* A datagram pair whose peer closed: POLLOUT only, send ECONNREFUSED then ENOTCONN. */
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    close(sv[1]);
    struct pollfd p = {sv[0], POLLIN | POLLOUT, 0};
    check(poll(&p, 1, 0) == 1 && p.revents == POLLOUT, "dgram peer closed: POLLOUT only", "revents=%#x", p.revents);
    EXPECT_ERR("dgram peer closed: recv EAGAIN", recv(sv[0], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    EXPECT_ERR("dgram peer closed: send ECONNREFUSED", send(sv[0], "x", 1, 0), ECONNREFUSED);
    EXPECT_ERR("then ENOTCONN", send(sv[0], "x", 1, 0), ENOTCONN);
    close(sv[0]);
    /* A blocking write larger than the buffer is written in full. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pthread_t th;
    pthread_create(&th, NULL, drain_slowly, &sv[1]);
    static char big[300000];
    ssize_t w = write(sv[0], big, sizeof big);
    close(sv[0]);
    void *got;
    pthread_join(th, &got);
    check(w == (ssize_t)sizeof big && (long)got == (long)sizeof big, "blocking write of 300000 bytes is whole", "w=%zd got=%ld", w, (long)got);
    close(sv[1]);
    /* MSG_WAITALL ends at passed descriptors; each message's descriptors come with it. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int pp[2];
    pipe(pp);
    send_fd(sv[0], pp[0]);
    send_fd(sv[0], pp[1]);
    close(pp[0]);
    close(pp[1]);
    int got2 = 0;
    for (int i = 0; i < 2; i++) {
        char c[CMSG_SPACE(4 * sizeof(int))];
        struct iovec iov = {buf, 10};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = c, .msg_controllen = sizeof c};
        ssize_t n = recvmsg(sv[1], &m, MSG_WAITALL);
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        if (n == 1 && h && h->cmsg_len == CMSG_LEN(sizeof(int))) {
            got2++;
            int fd;
            memcpy(&fd, CMSG_DATA(h), sizeof fd);
            close(fd);
        }
    }
    check(got2 == 2, "MSG_WAITALL stops at each message with descriptors", "got %d", got2);
    close(sv[0]);
    close(sv[1]);
    /* accept with no descriptor free (EMFILE) leaves the connection queued. */
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    al = abstract_addr(&ad, "velox-emfile");
    bind(l, (struct sockaddr *)&ad, al);
    listen(l, 4);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&ad, al);
    struct rlimit old, lim;
    getrlimit(RLIMIT_NOFILE, &old);
    int top = dup(0);
    close(top);
    lim.rlim_cur = top;
    lim.rlim_max = old.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    EXPECT_ERR("accept at EMFILE", accept(l, NULL, NULL), EMFILE);
    setrlimit(RLIMIT_NOFILE, &old);
    int acc = accept(l, NULL, NULL);
    check(acc >= 0 && send(c, "ok", 2, MSG_NOSIGNAL) == 2 && recv(acc, buf, sizeof buf, 0) == 2, "the connection was kept for the next accept", "acc=%d %s", acc, strerror(errno));
    close(acc);
    close(c);
    close(l);
    /* Options Linux keeps for AF_UNIX sockets. */
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    int one = 1, v = 0;
    socklen_t vl = sizeof v;
    check(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 && getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, &vl) == 0 && v == 1,
          "SO_REUSEADDR kept", "v=%d %s", v, strerror(errno));
    close(s);
    /* Cycles of sockets passed over themselves, with data queued, are collected. */
    static char chunk[100000];
    ok = 1;
    for (int i = 0; i < 1500 && ok; i++) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
            ok = 0;
            break;
        }
        send(sv[1], chunk, sizeof chunk, MSG_DONTWAIT);
        send_fd(sv[1], sv[0]);
        close(sv[0]);
        close(sv[1]);
    }
    check(ok, "1500 self-passed socket cycles with 100 kB each are collected", "%s", strerror(errno));
}

int main(void)
{
    t_init();
    test_stream_pair();
    test_dgram_pair(SOCK_DGRAM, "dgram");
    test_dgram_pair(SOCK_SEQPACKET, "seqpacket");
    test_nonblocking_fill();
    test_names();
    test_dgram_names();
    test_scm_rights();
    test_errors();
    test_hostile();
    return t_failed;
}
