/* misc: process environment and assorted system calls glibc uses.
 * Info lines (not checks): "ARGV argc=<n> 0=<argv0> 1=<argv1> ...",
 * "ENVC <n>", "INFO uname ...", "INFO rlimit_stack ...", "INFO tty ...".
 * Checks: uname, getrandom, getrandom_raw, prlimit64, getrlimit, sigprocmask,
 * sigaction, sigaction_badsize, sigaction_sigkill, ioctl_tcgets (success OR
 * ENOTTY both pass; which one is printed), readlink_exe (ends in "/misc"),
 * set_tid_address (returns the tid), stack_layout (envp follows argv's NULL,
 * auxv follows envp's NULL and agrees with getauxval), auxv_pagesz (4096),
 * auxv_random, auxv_phdr, auxv_entry (== &_start), auxv_hwcap, auxv_execfn,
 * auxv_ids (AT_UID/EUID/GID/EGID agree with the syscalls), auxv_secure (0). */
#include "t.h"
#include <elf.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/stat.h>
#include <sched.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <sys/xattr.h>
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

extern char _start[];

static void test_uname(void)
{
    struct utsname u;
    memset(&u, 0xff, sizeof u);
    long r = syscall(SYS_uname, &u);
    if (r != 0) {
        fail("uname", "ret %ld errno %d", r, errno);
        return;
    }
    printf("INFO uname sysname=%s release=%s machine=%s nodename=%s\n", u.sysname, u.release,
           u.machine, u.nodename);
    check(strcmp(u.machine, "riscv64") == 0 && memchr(u.sysname, 0, sizeof u.sysname) &&
              memchr(u.release, 0, sizeof u.release) && u.sysname[0],
          "uname", "machine \"%.20s\" (want riscv64) or strings not terminated", u.machine);
}

static int all_zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static void test_random(void)
{
    unsigned char a[64], b[64];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    ssize_t ra = getrandom(a, sizeof a, 0), rb = getrandom(b, sizeof b, 0);
    check(ra == 64 && rb == 64 && !all_zero(a, 64) && !all_zero(b, 64) && memcmp(a, b, 64) != 0,
          "getrandom", "returned %zd/%zd, zero or equal buffers", ra, rb);
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    ra = syscall(SYS_getrandom, a, sizeof a, GRND_NONBLOCK);
    rb = syscall(SYS_getrandom, b, sizeof b, GRND_NONBLOCK);
    check(ra == 64 && rb == 64 && !all_zero(a, 64) && !all_zero(b, 64) && memcmp(a, b, 64) != 0,
          "getrandom_raw", "returned %zd/%zd (errno %d), zero or equal buffers", ra, rb, errno);
}

static void test_rlimit(void)
{
    struct rlimit old = { 0, 0 }, g = { 0, 0 };
    long r = syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &old);
    check(r == 0 && old.rlim_cur > 0 && (old.rlim_max == RLIM_INFINITY || old.rlim_cur <= old.rlim_max),
          "prlimit64", "ret %ld errno %d cur %llu max %llu", r, errno,
          (unsigned long long)old.rlim_cur, (unsigned long long)old.rlim_max);
    if (r == 0)
        printf("INFO rlimit_stack cur=%llu max=%llu\n", (unsigned long long)old.rlim_cur,
               (unsigned long long)old.rlim_max);
    int rg = getrlimit(RLIMIT_STACK, &g);
    check(rg == 0 && g.rlim_cur == old.rlim_cur && g.rlim_max == old.rlim_max, "getrlimit",
          "ret %d cur %llu max %llu", rg, (unsigned long long)g.rlim_cur,
          (unsigned long long)g.rlim_max);
}

static void handler(int sig) { (void)sig; }

static void test_signals(void)
{
    /* raw rt_sigprocmask: block SIGUSR1, read back, restore */
    uint64_t set = 1ULL << (SIGUSR1 - 1), old = ~0ULL, cur = 0;
    long r1 = syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, &old, 8);
    long r2 = syscall(SYS_rt_sigprocmask, SIG_SETMASK, NULL, &cur, 8);
    long r3 = syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
    check(r1 == 0 && r2 == 0 && r3 == 0 && (cur & set) && !(old & set), "sigprocmask",
          "rets %ld/%ld/%ld old %#llx cur %#llx", r1, r2, r3, (unsigned long long)old,
          (unsigned long long)cur);

    /* libc sigaction (rt_sigaction with glibc's restorer), read back */
    struct sigaction sa, prev, back;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    int s1 = sigaction(SIGUSR1, &sa, &prev);
    int s2 = sigaction(SIGUSR1, NULL, &back);
    int s3 = sigaction(SIGUSR1, &prev, NULL);
    check(s1 == 0 && s2 == 0 && s3 == 0 && back.sa_handler == handler &&
              sigismember(&back.sa_mask, SIGUSR2) && prev.sa_handler == SIG_DFL,
          "sigaction", "rets %d/%d/%d handler %p", s1, s2, s3, (void *)back.sa_handler);

    /* raw rt_sigaction with a wrong sigsetsize -> EINVAL; SIGKILL -> EINVAL */
    struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } k = { 0 };
    k.handler = (void *)handler;
    EXPECT_ERR("sigaction_badsize", syscall(SYS_rt_sigaction, SIGUSR1, &k, NULL, 16), EINVAL);
    EXPECT_ERR("sigaction_sigkill", syscall(SYS_rt_sigaction, SIGKILL, &k, NULL, 8), EINVAL);
}

static void test_tty(void)
{
    struct termios t;
    errno = 0;
    long r = syscall(SYS_ioctl, 1, TCGETS, &t);
    if (r == 0) {
        printf("INFO tty stdout TCGETS ok (a terminal)\n");
        pass("ioctl_tcgets");
    } else if (r == -1 && errno == ENOTTY) {
        printf("INFO tty stdout TCGETS ENOTTY (not a terminal)\n");
        pass("ioctl_tcgets");
    } else {
        fail("ioctl_tcgets", "ret %ld errno %d (want 0 or ENOTTY)", r, errno);
    }
}

static void test_readlink(void)
{
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) {
        fail("readlink_exe", "ret %zd errno %d", n, errno);
        return;
    }
    buf[n] = 0;
    check(n >= 5 && strcmp(buf + n - 5, "/misc") == 0, "readlink_exe", "got \"%s\"", buf);
}

static void test_tid_address(void)
{
    static int ctid;
    long r = syscall(SYS_set_tid_address, &ctid);
    long tid = syscall(SYS_gettid);
    check(r == tid && tid > 0, "set_tid_address", "returned %ld, tid %ld", r, tid);
}

static void test_stack(int argc, char **argv, char **envp)
{
    printf("ARGV argc=%d", argc);
    for (int i = 0; i < argc; i++)
        printf(" %d=%s", i, argv[i]);
    printf("\n");
    int envc = 0;
    while (envp[envc])
        envc++;
    printf("ENVC %d\n", envc);

    /* Linux initial stack: argc, argv[0..argc-1], NULL, envp..., NULL, auxv pairs */
    Elf64_auxv_t *aux = (Elf64_auxv_t *)(envp + envc + 1);
    int ok = argv[argc] == NULL && envp == argv + argc + 1 && ((long *)argv)[-1] == argc;
    int n = 0, seen_null = 0;
    for (; n < 64; n++) {
        if (aux[n].a_type == AT_NULL) {
            seen_null = 1;
            break;
        }
        if (aux[n].a_type < 64 && aux[n].a_type != AT_HWCAP2 && aux[n].a_type != AT_MINSIGSTKSZ &&
            getauxval(aux[n].a_type) != aux[n].a_un.a_val)
            ok = 0;
    }
    check(ok && seen_null && n > 0, "stack_layout",
          "argv[argc]=%p envp=%p argv+argc+1=%p argc slot %ld, %d auxv entries%s",
          (void *)argv[argc], (void *)envp, (void *)(argv + argc + 1), ((long *)argv)[-1], n,
          seen_null ? "" : " (no AT_NULL)");
}

static unsigned long aux(unsigned long type, int *present)
{
    errno = 0;
    unsigned long v = getauxval(type);
    *present = !(v == 0 && errno == ENOENT);
    return v;
}

static void test_auxv(void)
{
    int p;
    unsigned long v;

    v = aux(AT_PAGESZ, &p);
    check(p && v == 4096, "auxv_pagesz", "AT_PAGESZ %lu present %d", v, p);

    v = aux(AT_RANDOM, &p);
    if (p && v) {
        const unsigned char *r = (const unsigned char *)v;
        check(!all_zero(r, 16), "auxv_random", "AT_RANDOM bytes all zero");
    } else {
        fail("auxv_random", "AT_RANDOM %#lx present %d", v, p);
    }

    v = aux(AT_PHDR, &p);
    int pp, pe;
    unsigned long phnum = aux(AT_PHNUM, &pp), phent = aux(AT_PHENT, &pe);
    int ok = p && v && pp && phnum > 0 && pe && phent == sizeof(Elf64_Phdr);
    if (ok) {
        /* the program headers must contain the PT_LOAD segments of this program */
        const Elf64_Phdr *ph = (const Elf64_Phdr *)v;
        int loads = 0;
        for (unsigned long i = 0; i < phnum; i++)
            loads += ph[i].p_type == PT_LOAD;
        ok = loads > 0;
    }
    check(ok, "auxv_phdr", "AT_PHDR %#lx AT_PHNUM %lu AT_PHENT %lu", v, phnum, phent);

    v = aux(AT_ENTRY, &p);
    check(p && v == (unsigned long)_start, "auxv_entry", "AT_ENTRY %#lx, _start %p", v,
          (void *)_start);

    v = aux(AT_HWCAP, &p);
    printf("INFO auxv hwcap=%#lx\n", v);
    check(p, "auxv_hwcap", "AT_HWCAP absent");

    v = aux(AT_EXECFN, &p);
    check(p && v && strlen((const char *)v) > 0, "auxv_execfn", "AT_EXECFN %#lx present %d", v, p);
    if (p && v)
        printf("INFO auxv execfn=%s\n", (const char *)v);

    int a, b, c, d;
    unsigned long uid = aux(AT_UID, &a), euid = aux(AT_EUID, &b), gid = aux(AT_GID, &c),
                  egid = aux(AT_EGID, &d);
    check(a && b && c && d && uid == getuid() && euid == geteuid() && gid == getgid() &&
              egid == getegid(),
          "auxv_ids", "AT_UID %lu AT_EUID %lu AT_GID %lu AT_EGID %lu", uid, euid, gid, egid);

    v = aux(AT_SECURE, &p);
    check(p && v == 0, "auxv_secure", "AT_SECURE %lu present %d", v, p);
}

/* riscv_hwprobe (258): what glibc asks at start-up. Keys as Linux's asm/hwprobe.h. */
static void test_hwprobe(void)
{
    struct { long long key; unsigned long long value; } p[4] = {{3, 0}, {4, 0}, {8, 0}, {99, 7}};
    long r = syscall(258, p, 4, 0, NULL, 0);
    check(r == 0 && p[0].value == 1 && (p[1].value & 3) == 3 && p[2].value == 10000000 && p[3].key == -1 && p[3].value == 0,
          "hwprobe_keys", "r=%ld base=%llu ima=%#llx freq=%llu unknown=(%lld,%llu)", r, p[0].value, p[1].value,
          p[2].value, p[3].key, p[3].value);
    /* The misaligned-access speed, measured at boot as Linux does: SLOW (2) or FAST (3), the
     * same under both keys (CPUPERF_0 and MISALIGNED_SCALAR_PERF). */
    struct { long long key; unsigned long long value; } m[2] = {{5, 0}, {9, 0}};
    r = syscall(258, m, 2, 0, NULL, 0);
    check(r == 0 && (m[0].value == 2 || m[0].value == 3) && m[1].value == m[0].value, "hwprobe_misaligned_perf",
          "r=%ld cpuperf=%llu scalar=%llu", r, m[0].value, m[1].value);
    unsigned long cpus = 1;
    struct { long long key; unsigned long long value; } q = {4, 3};
    r = syscall(258, &q, 1, sizeof cpus, &cpus, 1);
    check(r == 0 && cpus == 1, "hwprobe_which_cpus", "r=%ld cpus=%#lx", r, cpus);
    EXPECT_ERR("hwprobe_bad_flags", syscall(258, p, 1, 0, NULL, 2), EINVAL);
    EXPECT_ERR("hwprobe_efault", syscall(258, (void *)8, 1, 0, NULL, 0), EFAULT);
    cpus = 0;
    EXPECT_ERR("hwprobe_empty_set", syscall(258, p, 1, sizeof cpus, &cpus, 0), EINVAL);
}

/* Extended attributes: no file system here has them; answers as Linux on such a one. */
static void test_xattr(void)
{
    char v[16], longname[300];
    EXPECT_ERR("xattr_get_enotsup", getxattr("/", "user.x", v, sizeof v), ENOTSUP);
    EXPECT_ERR("xattr_lget_enotsup", lgetxattr("/proc/self/exe", "security.selinux", v, sizeof v), ENOTSUP);
    EXPECT_ERR("xattr_fget_ebadf", fgetxattr(99, "user.x", v, sizeof v), EBADF);
    EXPECT_ERR("xattr_get_enoent", getxattr("/nonexistent", "user.x", v, sizeof v), ENOENT);
    EXPECT_ERR("xattr_get_efault_name", getxattr("/", (char *)8, v, sizeof v), EFAULT);
    EXPECT_ERR("xattr_get_empty_name", getxattr("/", "", v, sizeof v), ERANGE);
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    EXPECT_ERR("xattr_get_long_name", getxattr("/", longname, v, sizeof v), ERANGE);
    EXPECT_ERR("xattr_set_enotsup", setxattr("/", "user.x", "1", 1, 0), ENOTSUP);
    EXPECT_ERR("xattr_set_bad_flags", setxattr("/", "user.x", "1", 1, 4), EINVAL);
    EXPECT_ERR("xattr_set_e2big", syscall(SYS_setxattr, "/", "user.x", "1", 65537, 0), E2BIG);
    EXPECT_ERR("xattr_remove_enotsup", removexattr("/", "user.x"), ENOTSUP);
    check(listxattr("/", v, sizeof v) == 0 && llistxattr("/proc/self/exe", NULL, 0) == 0 && flistxattr(0, v, 0) == 0,
          "xattr_list_empty", "errno %d", errno);
    EXPECT_ERR("xattr_list_enoent", listxattr("/nonexistent", v, sizeof v), ENOENT);
    int pfd = open("/", O_PATH);
    EXPECT_ERR("xattr_fget_opath_ebadf", fgetxattr(pfd, "user.x", v, sizeof v), EBADF);
    EXPECT_ERR("xattr_flist_opath_ebadf", flistxattr(pfd, v, sizeof v), EBADF);
    close(pfd);
    /* (And mremap of a range past the end of user space: EINVAL, nothing unmapped.) */
    char *m = mmap(0, 16384, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_ERR("mremap_overflow_einval", mremap(m, (size_t)-4096, 4096, 0), EINVAL);
    m[0] = 1;
    munmap(m, 16384);
}

/* posix_fadvise: a hint, checked as Linux checks it. */
static void test_fadvise(void)
{
    int fd = open("/proc/self/exe", O_RDONLY), p[2];
    check(fd >= 0 && syscall(SYS_fadvise64, fd, 0, 0, POSIX_FADV_SEQUENTIAL) == 0 &&
              syscall(SYS_fadvise64, fd, 0, 4096, POSIX_FADV_DONTNEED) == 0,
          "fadvise_ok", "errno %d", errno);
    EXPECT_ERR("fadvise_bad_advice", syscall(SYS_fadvise64, fd, 0, 0, 6), EINVAL);
    EXPECT_ERR("fadvise_negative_len", syscall(SYS_fadvise64, fd, 0, -1L, 0), EINVAL);
    EXPECT_ERR("fadvise_ebadf", syscall(SYS_fadvise64, 99, 0, 0, 0), EBADF);
    if (pipe(p) == 0) {
        EXPECT_ERR("fadvise_pipe", syscall(SYS_fadvise64, p[0], 0, 0, 0), ESPIPE);
        close(p[0]);
        close(p[1]);
    }
    close(fd);
}

/* Opening /proc/self/fd/N (and /dev/stdin, /dev/fd/N) of a pipe opens the pipe again. */
static void test_procfd_pipe(void)
{
    int p[2];
    char path[64], buf[8] = {0};
    if (pipe(p))
        return fail("procfd_pipe", "pipe errno %d", errno);
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
    int w = open(path, O_WRONLY);
    snprintf(path, sizeof path, "/dev/fd/%d", p[0]);
    int r = open(path, O_RDONLY);
    check(w >= 0 && r >= 0 && write(w, "abc", 3) == 3 && read(r, buf, sizeof buf) == 3 && !strcmp(buf, "abc"),
          "procfd_pipe_reopen", "w=%d r=%d buf=%s errno %d", w, r, buf, errno);
    /* The new descriptions are ends of their own: with every writer closed, EOF. */
    close(p[1]);
    close(w);
    check(read(r, buf, sizeof buf) == 0, "procfd_pipe_eof", "errno %d", errno);
    close(r);
    close(p[0]);
    if (pipe(p) == 0) {
        int saved = dup(0);
        dup2(p[0], 0);
        write(p[1], "in", 2);
        int s = open("/dev/stdin", O_RDONLY);
        memset(buf, 0, sizeof buf);
        check(s >= 0 && read(s, buf, 2) == 2 && !strcmp(buf, "in"), "procfd_dev_stdin_pipe", "s=%d errno %d", s, errno);
        close(s);
        dup2(saved, 0);
        close(saved);
        close(p[0]);
        close(p[1]);
    }
    EXPECT_ERR("procfd_closed_enoent", open("/proc/self/fd/999", O_RDONLY), ENOENT);
}

/* clone3 with CLONE_CLEAR_SIGHAND: caught signals are default in the child, ignored stay. */
static void on_usr1(int s) { (void)s; }
static void test_clear_sighand(void)
{
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, SIG_IGN);
    struct { unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls; } a = {0};
    a.flags = 1ULL << 32; /* CLONE_CLEAR_SIGHAND */
    a.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &a, sizeof a);
    if (pid == 0) {
        struct sigaction u1, u2;
        sigaction(SIGUSR1, NULL, &u1);
        sigaction(SIGUSR2, NULL, &u2);
        _exit(u1.sa_handler == SIG_DFL && u2.sa_handler == SIG_IGN ? 0 : 1);
    }
    int st = -1;
    if (pid > 0)
        waitpid(pid, &st, 0);
    check(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "clone3_clear_sighand", "pid %ld status %#x errno %d", pid, st, errno);
    a.flags = (1ULL << 32) | CLONE_SIGHAND | CLONE_VM;
    EXPECT_ERR("clone3_clear_sighand_with_sighand", syscall(SYS_clone3, &a, sizeof a), EINVAL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
}

/* /proc/self/mountinfo: the root's line, in the format of proc_pid_mountinfo(5). */
static void test_mountinfo(void)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[512];
    int ok = 0;
    while (f && fgets(line, sizeof line, f)) {
        int id, parent, ma, mi;
        char root[64], point[64];
        if (sscanf(line, "%d %d %d:%d %63s %63s", &id, &parent, &ma, &mi, root, point) == 6 && !strcmp(point, "/") &&
            !strcmp(root, "/") && strstr(line, " - "))
            ok = 1;
    }
    if (f)
        fclose(f);
    check(ok, "proc_mountinfo_root", "no line for / in /proc/self/mountinfo");
}

/* getpriority/setpriority: nice values, their permissions, inheritance. */
static void test_nice(void)
{
    errno = 0;
    check(getpriority(PRIO_PROCESS, 0) == 0 && errno == 0, "nice_default_0", "got %d errno %d", getpriority(PRIO_PROCESS, 0), errno);
    check(setpriority(PRIO_PROCESS, 0, 5) == 0 && getpriority(PRIO_PROCESS, 0) == 5, "nice_set_5", "errno %d", errno);
    check(setpriority(PRIO_PROCESS, 0, 100) == 0 && getpriority(PRIO_PROCESS, 0) == 19, "nice_clamped_19", "got %d", getpriority(PRIO_PROCESS, 0));
    check(syscall(SYS_getpriority, PRIO_PROCESS, 0) == 1, "nice_raw_is_20_minus_nice", "raw %ld", syscall(SYS_getpriority, PRIO_PROCESS, 0));
    setpriority(PRIO_PROCESS, 0, 7);
    pid_t pid = fork();
    if (pid == 0) {
        int inherited = getpriority(PRIO_PROCESS, 0) == 7;
        setuid(1000);
        int up = setpriority(PRIO_PROCESS, 0, 10) == 0;
        errno = 0;
        int down = setpriority(PRIO_PROCESS, 0, 5) == -1 && errno == EACCES;
        errno = 0;
        int other = setpriority(PRIO_PROCESS, getppid(), 10) == -1 && errno == EPERM;
        _exit(inherited && up && down && other ? 0 : 1 + inherited * 2 + up * 4 + down * 8 + other * 16);
    }
    int st = -1;
    waitpid(pid, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "nice_inherited_and_permissions", "child status %#x", st);
    check(setpriority(PRIO_PROCESS, 0, -5) == 0 && getpriority(PRIO_PROCESS, 0) == -5, "nice_root_lowers", "errno %d", errno);
    check(getpriority(PRIO_PGRP, 0) <= -5 && getpriority(PRIO_USER, 0) <= -5, "nice_pgrp_user", "pgrp %d user %d",
          getpriority(PRIO_PGRP, 0), getpriority(PRIO_USER, 0));
    EXPECT_ERR("nice_bad_which", getpriority(7, 0), EINVAL);
    EXPECT_ERR("nice_no_such_thread", getpriority(PRIO_PROCESS, 999999), ESRCH);
    EXPECT_ERR("nice_no_such_user", setpriority(PRIO_USER, 4242, 1), ESRCH);
    setpriority(PRIO_PROCESS, 0, 0);
}

/* The scheduling-policy queries (SCHED_OTHER only) and fchmodat2. */
static void test_sched_policy(void)
{
    struct sched_param sp = {.sched_priority = 7};
    check(sched_getscheduler(0) == SCHED_OTHER && sched_getparam(0, &sp) == 0 && sp.sched_priority == 0,
          "sched_getscheduler_other", "policy %d prio %d errno %d", sched_getscheduler(0), sp.sched_priority, errno);
    check(sched_get_priority_max(SCHED_FIFO) == 99 && sched_get_priority_min(SCHED_RR) == 1 &&
              sched_get_priority_max(SCHED_OTHER) == 0 && sched_get_priority_min(SCHED_BATCH) == 0,
          "sched_priority_ranges", "fifo max %d", sched_get_priority_max(SCHED_FIFO));
    EXPECT_ERR("sched_priority_bad_policy", sched_get_priority_max(42), EINVAL);
    EXPECT_ERR("sched_getscheduler_negative", sched_getscheduler(-1), EINVAL);
    EXPECT_ERR("sched_getscheduler_esrch", sched_getscheduler(999999), ESRCH);
    EXPECT_ERR("sched_getparam_null", syscall(SYS_sched_getparam, 0, NULL), EINVAL);
    int fd = open("/tmp/chmod2", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    close(fd);
    symlink("/tmp/chmod2", "/tmp/chmod2.lnk");
    struct stat st;
    check(syscall(452, AT_FDCWD, "/tmp/chmod2.lnk", 0640, 0) == 0 && stat("/tmp/chmod2", &st) == 0 && (st.st_mode & 0777) == 0640,
          "fchmodat2_follows", "mode %o errno %d", st.st_mode & 0777, errno);
    EXPECT_ERR("fchmodat2_nofollow_link", syscall(452, AT_FDCWD, "/tmp/chmod2.lnk", 0600, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP);
    EXPECT_ERR("fchmodat2_bad_flags", syscall(452, AT_FDCWD, "/tmp/chmod2", 0600, 0x4), EINVAL);
    fd = open("/tmp/chmod2", O_RDONLY);
    check(syscall(452, fd, "", 0604, AT_EMPTY_PATH) == 0 && fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0604,
          "fchmodat2_empty_path", "mode %o errno %d", st.st_mode & 0777, errno);
    close(fd);
    unlink("/tmp/chmod2.lnk");
    unlink("/tmp/chmod2");
}

int main(int argc, char **argv, char **envp)
{
    t_init();
    test_stack(argc, argv, envp);
    test_uname();
    test_random();
    test_rlimit();
    test_signals();
    test_tty();
    test_readlink();
    test_tid_address();
    test_auxv();
    test_hwprobe();
    test_xattr();
    test_fadvise();
    test_procfd_pipe();
    test_clear_sighand();
    test_mountinfo();
    test_nice();
    test_sched_policy();
    return t_exit();
}
