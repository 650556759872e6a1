/* vfuzz: Velox's own system-call fuzzer (issue 14).
 *
 *   vfuzz [-s SEED] [-n CALLS] [-t SECONDS] [-d DEADLINE_MS] [-b BATCH] [-k CHILD]
 *         [-x SUBSEED] [-v] [-B] [-p PERMILLE] [-C] [-L] [-R] [-X NR,NR...]
 *
 * The parent forks one child after another; each child (its own process group) makes a batch
 * of random system calls (200..2000, or -b) and exits. Numbers come mostly from the calls Velox
 * implements (kernel/src/syscall/mod.rs `tables!`), some from other Linux calls, some uniform in
 * 0..599 and some huge. Arguments come from "smart" distributions: valid and invalid fds, pointers
 * into a private arena with read-write, read-only, PROT_NONE, exec-only pages and unmapped holes
 * (buffers that straddle into a hole or PROT_NONE page), kernel and non-canonical addresses,
 * boundary lengths, random flag words, and crafted structures (paths, timespecs, iovecs,
 * pollfds, argv, sigaction, clone_args) written into the read-write pages.
 *
 * Everything is deterministic from the seed: child i uses sub-seed mix(seed, i) and nothing
 * else (no time, no pids) feeds its generator. A child that dies unexpectedly is printed with
 * its index, sub-seed, the last calls it made and a replay command (-k CHILD -v prints every
 * call before making it).
 *
 * The parent polls each child with wait4(WNOHANG) and clock_gettime(MONOTONIC); past the
 * deadline (-d, 2000 ms) it sends SIGKILL to the child and its group. If kill() is ENOSYS the
 * children run in "strict" mode (as with -B): calls that could block forever are given short
 * timeouts, O_NONBLOCK pipes or WNOHANG, so a child past its deadline means a kernel hang.
 * Without -B, PERMILLE (-p, default 10) of the blocking-capable calls are left unsanitised so
 * that some children block and are killed. In strict mode a child killed at the deadline is a
 * FAIL (a hang, or a call slower than the deadline: use a generous -d there).
 *
 * The harness is protected from its children: calls aimed at other processes are sanitised
 * (kill/tkill/tgkill/rt_sigqueueinfo/prlimit64/setpgid/sched_set*...: only the child itself, its
 * group, its own children or pids that do not exist), calls that could wreck the machine or
 * another process are never made (reboot, kexec, ptrace, modules, mounts, settime,
 * rt_sigreturn...), memory-management calls only touch the child's arena (or addresses outside
 * user space), clone/clone3 are limited to 16 per child and the new task exits at once (the
 * ecall is followed by an exit in assembly, so it never touches memory), execve succeeds only
 * rarely and only with /bin/true or /bin/hello, and exit/exit_group are rare. The children's
 * fds 0-2 are /dev/null (-C adds the console to the fd pool). A task created with CLONE_PARENT
 * becomes the harness's child; the harness reaps such strays.
 *
 * Consistency checks (FAIL lines): a child killed by a signal we did not send and that none of
 * its own calls explains (SIGPIPE without a write, SIGSEGV/SIGBUS/SIGILL without a call that
 * changed its memory map, signal handlers or limits...), a child that exits without finishing
 * or calling exit/execve, a child we cannot kill, a hang in strict mode, an errno above 133
 * (kernel-internal values like ERESTARTSYS leaking), read/write-like calls returning more than
 * asked, getpid/gettid/getppid changing, a syscall number >= 1024 not returning ENOSYS, and a
 * canary array in the child's memory (never passed to the kernel) being overwritten.
 *
 * Output: `vfuzz: calls=N distinct=K children=C killed=X seed=S`,
 * `vfuzz: memfree_before=B memfree_after=A` (kB, /proc/meminfo), then `PASS vfuzz` or
 * `FAIL vfuzz ...`; exit status 0 on success.
 *
 * Sandbox: each child works in its own directory /tmp/vfuzz.PID (its cwd) and runs as
 * nobody (uid/gid 65534) unless -R keeps root, so it cannot rewrite the root file system the
 * later tests run from; the harness removes the directory after the child.
 *
 * Not for a real Linux machine as root (it would fuzz unlinkat/truncate with real paths):
 * on a kernel whose uname release lacks "velox" it refuses to run unless -L is given. */
#include "t.h"
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef uint64_t u64;
typedef int64_t i64;
typedef uint32_t u32;

#define PG 4096UL

/* ---------------------------------------------------------------- random numbers */

static u64 mix(u64 x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static u64 rs; /* generator state (splitmix64) */

static u64 rnd(void)
{
    rs += 0x9e3779b97f4a7c15ULL;
    u64 z = rs;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static u64 below(u64 n) { return n ? rnd() % n : 0; }
static int chance(int per_mille) { return below(1000) < (u64)per_mille; }
#define PICK(arr) ((arr)[below(sizeof(arr) / sizeof((arr)[0]))])
#define NELEM(arr) (sizeof(arr) / sizeof((arr)[0]))

static u64 child_seed(u64 seed, u64 idx) { return mix(seed ^ mix(idx + 1)); }

/* ---------------------------------------------------------------- raw system calls */

static long rawsys(u64 nr, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5)
{
    register u64 x10 __asm__("a0") = a0;
    register u64 x11 __asm__("a1") = a1;
    register u64 x12 __asm__("a2") = a2;
    register u64 x13 __asm__("a3") = a3;
    register u64 x14 __asm__("a4") = a4;
    register u64 x15 __asm__("a5") = a5;
    register u64 x17 __asm__("a7") = nr;
    __asm__ volatile("ecall"
                     : "+r"(x10)
                     : "r"(x11), "r"(x12), "r"(x13), "r"(x14), "r"(x15), "r"(x17)
                     : "memory");
    return (long)x10;
}

/* clone/clone3: the new task (a0 == 0) exits at once without touching memory or the stack
 * (it may have a garbage stack pointer, a shared address space or a foreign TLS). */
static long rawclone(u64 nr, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5)
{
    register u64 x10 __asm__("a0") = a0;
    register u64 x11 __asm__("a1") = a1;
    register u64 x12 __asm__("a2") = a2;
    register u64 x13 __asm__("a3") = a3;
    register u64 x14 __asm__("a4") = a4;
    register u64 x15 __asm__("a5") = a5;
    register u64 x17 __asm__("a7") = nr;
    __asm__ volatile("ecall\n\t"
                     "bnez a0, 1f\n"
                     "2:\n\t"
                     "li a7, 93\n\t" /* exit (this thread only) */
                     "li a0, 0\n\t"
                     "ecall\n\t"
                     "j 2b\n"
                     "1:"
                     : "+r"(x10), "+r"(x17)
                     : "r"(x11), "r"(x12), "r"(x13), "r"(x14), "r"(x15)
                     : "memory");
    return (long)x10;
}

/* ---------------------------------------------------------------- syscall names */

static const char *const names[600] = {
    [0]="io_setup", [1]="io_destroy", [2]="io_submit", [3]="io_cancel", [4]="io_getevents", [5]="setxattr",
    [6]="lsetxattr", [7]="fsetxattr", [8]="getxattr", [9]="lgetxattr", [10]="fgetxattr", [11]="listxattr",
    [12]="llistxattr", [13]="flistxattr", [14]="removexattr", [15]="lremovexattr", [16]="fremovexattr",
    [17]="getcwd", [18]="lookup_dcookie", [19]="eventfd2", [20]="epoll_create1", [21]="epoll_ctl",
    [22]="epoll_pwait", [23]="dup", [24]="dup3", [25]="fcntl", [26]="inotify_init1",
    [27]="inotify_add_watch", [28]="inotify_rm_watch", [29]="ioctl", [30]="ioprio_set", [31]="ioprio_get",
    [32]="flock", [33]="mknodat", [34]="mkdirat", [35]="unlinkat", [36]="symlinkat", [37]="linkat",
    [39]="umount2", [40]="mount", [41]="pivot_root", [42]="nfsservctl", [43]="statfs", [44]="fstatfs",
    [45]="truncate", [46]="ftruncate", [47]="fallocate", [48]="faccessat", [49]="chdir", [50]="fchdir",
    [51]="chroot", [52]="fchmod", [53]="fchmodat", [54]="fchownat", [55]="fchown", [56]="openat",
    [57]="close", [58]="vhangup", [59]="pipe2", [60]="quotactl", [61]="getdents64", [62]="lseek",
    [63]="read", [64]="write", [65]="readv", [66]="writev", [67]="pread64", [68]="pwrite64", [69]="preadv",
    [70]="pwritev", [71]="sendfile", [72]="pselect6", [73]="ppoll", [74]="signalfd4", [75]="vmsplice",
    [76]="splice", [77]="tee", [78]="readlinkat", [79]="newfstatat", [80]="fstat", [81]="sync", [82]="fsync",
    [83]="fdatasync", [84]="sync_file_range", [85]="timerfd_create", [86]="timerfd_settime",
    [87]="timerfd_gettime", [88]="utimensat", [89]="acct", [90]="capget", [91]="capset", [92]="personality",
    [93]="exit", [94]="exit_group", [95]="waitid", [96]="set_tid_address", [97]="unshare", [98]="futex",
    [99]="set_robust_list", [100]="get_robust_list", [101]="nanosleep", [102]="getitimer", [103]="setitimer",
    [104]="kexec_load", [105]="init_module", [106]="delete_module", [107]="timer_create",
    [108]="timer_gettime", [109]="timer_getoverrun", [110]="timer_settime", [111]="timer_delete",
    [112]="clock_settime", [113]="clock_gettime", [114]="clock_getres", [115]="clock_nanosleep",
    [116]="syslog", [117]="ptrace", [118]="sched_setparam", [119]="sched_setscheduler",
    [120]="sched_getscheduler", [121]="sched_getparam", [122]="sched_setaffinity", [123]="sched_getaffinity",
    [124]="sched_yield", [125]="sched_get_priority_max", [126]="sched_get_priority_min",
    [127]="sched_rr_get_interval", [128]="restart_syscall", [129]="kill", [130]="tkill", [131]="tgkill",
    [132]="sigaltstack", [133]="rt_sigsuspend", [134]="rt_sigaction", [135]="rt_sigprocmask",
    [136]="rt_sigpending", [137]="rt_sigtimedwait", [138]="rt_sigqueueinfo", [139]="rt_sigreturn",
    [140]="setpriority", [141]="getpriority", [142]="reboot", [143]="setregid", [144]="setgid",
    [145]="setreuid", [146]="setuid", [147]="setresuid", [148]="getresuid", [149]="setresgid",
    [150]="getresgid", [151]="setfsuid", [152]="setfsgid", [153]="times", [154]="setpgid", [155]="getpgid",
    [156]="getsid", [157]="setsid", [158]="getgroups", [159]="setgroups", [160]="uname", [161]="sethostname",
    [162]="setdomainname", [163]="getrlimit", [164]="setrlimit", [165]="getrusage", [166]="umask",
    [167]="prctl", [168]="getcpu", [169]="gettimeofday", [170]="settimeofday", [171]="adjtimex",
    [172]="getpid", [173]="getppid", [174]="getuid", [175]="geteuid", [176]="getgid", [177]="getegid",
    [178]="gettid", [179]="sysinfo", [180]="mq_open", [181]="mq_unlink", [182]="mq_timedsend",
    [183]="mq_timedreceive", [184]="mq_notify", [185]="mq_getsetattr", [186]="msgget", [187]="msgctl",
    [188]="msgrcv", [189]="msgsnd", [190]="semget", [191]="semctl", [192]="semtimedop", [193]="semop",
    [194]="shmget", [195]="shmctl", [196]="shmat", [197]="shmdt", [198]="socket", [199]="socketpair",
    [200]="bind", [201]="listen", [202]="accept", [203]="connect", [204]="getsockname", [205]="getpeername",
    [206]="sendto", [207]="recvfrom", [208]="setsockopt", [209]="getsockopt", [210]="shutdown",
    [211]="sendmsg", [212]="recvmsg", [213]="readahead", [214]="brk", [215]="munmap", [216]="mremap",
    [217]="add_key", [218]="request_key", [219]="keyctl", [220]="clone", [221]="execve", [222]="mmap",
    [223]="fadvise64", [224]="swapon", [225]="swapoff", [226]="mprotect", [227]="msync", [228]="mlock",
    [229]="munlock", [230]="mlockall", [231]="munlockall", [232]="mincore", [233]="madvise",
    [234]="remap_file_pages", [235]="mbind", [236]="get_mempolicy", [237]="set_mempolicy",
    [238]="migrate_pages", [239]="move_pages", [240]="rt_tgsigqueueinfo", [241]="perf_event_open",
    [242]="accept4", [243]="recvmmsg", [258]="riscv_hwprobe", [259]="riscv_flush_icache", [260]="wait4",
    [261]="prlimit64", [262]="fanotify_init", [263]="fanotify_mark", [264]="name_to_handle_at",
    [265]="open_by_handle_at", [266]="clock_adjtime", [267]="syncfs", [268]="setns", [269]="sendmmsg",
    [270]="process_vm_readv", [271]="process_vm_writev", [272]="kcmp", [273]="finit_module",
    [274]="sched_setattr", [275]="sched_getattr", [276]="renameat2", [277]="seccomp", [278]="getrandom",
    [279]="memfd_create", [280]="bpf", [281]="execveat", [282]="userfaultfd", [283]="membarrier",
    [284]="mlock2", [285]="copy_file_range", [286]="preadv2", [287]="pwritev2", [288]="pkey_mprotect",
    [289]="pkey_alloc", [290]="pkey_free", [291]="statx", [292]="io_pgetevents", [293]="rseq",
    [294]="kexec_file_load", [424]="pidfd_send_signal", [425]="io_uring_setup", [426]="io_uring_enter",
    [427]="io_uring_register", [428]="open_tree", [429]="move_mount", [430]="fsopen", [431]="fsconfig",
    [432]="fsmount", [433]="fspick", [434]="pidfd_open", [435]="clone3", [436]="close_range",
    [437]="openat2", [438]="pidfd_getfd", [439]="faccessat2", [440]="process_madvise", [441]="epoll_pwait2",
    [442]="mount_setattr", [443]="quotactl_fd", [444]="landlock_create_ruleset", [445]="landlock_add_rule",
    [446]="landlock_restrict_self", [447]="memfd_secret", [448]="process_mrelease", [449]="futex_waitv",
    [450]="set_mempolicy_home_node",
};

static const char *nrname(u64 nr) { return nr < 600 && names[nr] ? names[nr] : "?"; }

/* ---------------------------------------------------------------- the shared report page */

#define RING 16
#define F_DONE 0x1      /* finished its batch */
#define F_MAYCRASH 0x2  /* made a call that may legitimately crash it (sigaction, rseq, brk down...) */
#define F_SELFSIG 0x4   /* may have sent itself a signal (kill self, rlimits, exit signals...) */
#define F_EXIT 0x8      /* called exit/exit_group */
#define F_EXEC 0x10     /* called execve with a real program */
#define F_ANOMALY 0x20  /* a consistency check failed (message in anomaly) */
#define F_RESOURCE 0x40 /* could not rebuild its arena (ENOMEM after fuzzed mappings): exit 97 */

struct rec {
    u64 idx, nr, a[6];
    i64 ret;
};

struct shared {
    u64 magic;
    u64 subseed;
    volatile u64 calls;   /* calls completed */
    volatile u64 started; /* index + 1 of the call in progress */
    volatile u64 flags;
    volatile u64 anomalies;
    volatile u64 hits[16];     /* syscall numbers made (1023 = huge) */
    volatile u64 nonenosys[8]; /* numbers < 512 that returned something other than ENOSYS */
    struct rec ring[RING];
    char anomaly[320];
    volatile u64 compat;
    char compat_msg[320];
    u64 magic2;
};
#define MAGIC 0x7a7a7566786f6c76ULL

/* ---------------------------------------------------------------- options */

static u64 opt_seed;
static u64 opt_calls;
static long opt_secs = -1;
static long opt_deadline = 2000;
static long opt_batch;
static long opt_only = -1;
static int opt_subseed_given;
static u64 opt_subseed;
static int opt_verbose;
static int opt_strict;
static int opt_block_pm = 10;
static int opt_console;
static int opt_root; /* -R: children stay root, outside a sandbox */
static int have_kill;
static u64 opt_exclude[16]; /* -X: syscall numbers never made */
static int n_exclude;

/* ---------------------------------------------------------------- child state */

static struct shared *sh;
static u64 arena; /* A_PAGES pages, with a PROT_NONE guard page on each side */
#define A_PAGES 64
#define RW_PAGES 32 /* pages 0..31 read-write */
#define HOLE1 32    /* unmapped */
#define RO_PAGE 33  /* 33..34 read-only, random contents */
#define NONE_PAGE 35
#define XO_PAGE 36 /* PROT_EXEC only */
#define HOLE2 37
#define MMZ_PAGE 38 /* 38..62 unmapped, free for fuzzed mmap/munmap */
#define MM_LIMIT 63 /* memory-management calls stay below this page */
#define RW (arena)
#define RW_END (arena + RW_PAGES * PG)
#define RO (arena + RO_PAGE * PG)
#define RO_END (arena + (RO_PAGE + 2) * PG)

static int pool[40];
static int npool;
static int fd_null, fd_zero, fd_file, fd_dir;
static long mypid, mytid, harness_pid;
static long kids[16];
static int nkids, nclones;
static u64 brk0;
static int strict;
static int verbose_fd = -1;
static volatile unsigned char canary[256];

static void child_exit(int code) { rawsys(SYS_exit_group, code, 0, 0, 0, 0, 0); __builtin_unreachable(); }

static void anomaly(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void anomaly(const char *fmt, ...)
{
    sh->anomalies++;
    if (sh->flags & F_ANOMALY)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sh->anomaly, sizeof sh->anomaly, fmt, ap);
    va_end(ap);
    sh->flags |= F_ANOMALY;
}

/* Copy into the read-write pages only, clipped at their end. */
static void put(u64 p, const void *src, u64 n)
{
    if (p < RW || p >= RW_END)
        return;
    if (n > RW_END - p)
        n = RW_END - p;
    memcpy((void *)p, src, n);
}

static int in_rw(u64 p, u64 n) { return p >= RW && p < RW_END && n <= RW_END - p; }

static void fill_random(u64 p, u64 n)
{
    for (u64 i = 0; i < n; i += 8) {
        u64 v = rnd();
        put(p + i, &v, n - i < 8 ? n - i : 8);
    }
}

/* ---------------------------------------------------------------- value generators */

static const u64 kaddrs[] = {
    0xffffffc000000000ULL, 0xffffffff80000000ULL, 0xffffffc080200000ULL, 0xffffffd000000000ULL,
    0xffffffe000000000ULL, 0xfffffffffffff000ULL, 0xffffffffffffffffULL, 0x8000000000000000ULL,
    0x0000004000000000ULL, 0x0000008000000000ULL, 0x00007ffffffff000ULL, 0x3ffffff000ULL,
    0x80000000ULL,         0x80200000ULL,         0x10000000ULL,         0x0c000000ULL,
    0xffffffffffffff00ULL, 0x00ffffffffffffffULL,
};
static const char rodata_str[] = "vfuzz read-only data";

static u64 gen_len(void);

static u64 gen_ptr(void)
{
    u64 r = below(100);
    if (r < 38) {
        u64 off = chance(700) ? below(2 * PG) : below(RW_PAGES * PG);
        return RW + (chance(800) ? off & ~7ULL : off);
    }
    if (r < 44)
        return RW_END - 1 - below(64); /* straddles into the hole */
    if (r < 46)
        return RW_END - PG + below(PG);
    if (r < 52)
        return RO + below(2 * PG);
    if (r < 54)
        return RO_END - 1 - below(64); /* straddles into PROT_NONE */
    if (r < 58)
        return arena + NONE_PAGE * PG + below(PG);
    if (r < 61)
        return arena + XO_PAGE * PG + below(PG);
    if (r < 64)
        return arena + (below(2) ? HOLE1 : HOLE2) * PG + below(PG);
    if (r < 65)
        return arena + (MMZ_PAGE + below(MM_LIMIT - MMZ_PAGE)) * PG;
    if (r < 71)
        return 0;
    if (r < 74)
        return 1 + below(PG - 1);
    if (r < 84)
        return PICK(kaddrs) + (chance(300) ? below(PG) : 0);
    if (r < 87)
        return (u64)(uintptr_t)&rawsys; /* program text */
    if (r < 89)
        return (u64)(uintptr_t)rodata_str;
    if (r < 91)
        return RW + 1 + below(PG); /* unaligned */
    if (r < 93)
        return 0x10000 + below(0x1000); /* the start of a static program's text */
    return rnd();
}

static u64 gen_len(void)
{
    static const u64 v[] = {0, 1, 2, 7, 8, 15, 16, 24, 63, 64, 255, 256, 4095, 4096, 4097, 8191, 8192,
                            65536, RW_PAGES * PG, RW_PAGES * PG + 1, 1ULL << 31, (1ULL << 31) - 1,
                            1ULL << 32, ~0ULL, ~0ULL >> 1, (u64)-4096, 0x7ffff000, 1ULL << 63, 4096 * 100};
    u64 r = below(100);
    if (r < 60)
        return PICK(v);
    if (r < 85)
        return below(10000);
    if (r < 95)
        return below(RW_PAGES * PG + 1);
    return rnd();
}

static u64 gen_num(void)
{
    static const u64 v[] = {0, 1, 2, 3, 4, 5, 8, 16, 64, 100, 1024, 0x7fffffff, 0x80000000, 0xffffffff,
                            1ULL << 32, ~0ULL, (u64)-2, 1ULL << 63, 0xfffffffe};
    u64 r = below(100);
    if (r < 55)
        return PICK(v);
    if (r < 85)
        return below(256);
    return rnd();
}

static u64 gen_flags(void)
{
    u64 r = below(100);
    if (r < 20)
        return 0;
    if (r < 27)
        return ~0ULL;
    if (r < 32)
        return 0xffffffffULL;
    if (r < 50)
        return 1ULL << below(64);
    if (r < 70) {
        u64 f = 0;
        for (int i = 0, n = 1 + below(4); i < n; i++)
            f |= 1ULL << below(24);
        return f;
    }
    if (r < 85)
        return rnd() & 0xffffffff;
    return rnd();
}

static u64 gen_fd(void)
{
    static const u64 bad[] = {(u64)-1, 1000, 1ULL << 31, 0x7fffffff, 0xffffffff, (u64)-100, 1023, 63, 64,
                              256, 4096, 0x100000003ULL, 0x100000000ULL, 1ULL << 63};
    u64 r = below(100);
    if (r < 55 && npool)
        return (u64)(i64)pool[below(npool)];
    if (r < 70)
        return below(3);
    if (r < 88)
        return PICK(bad);
    if (r < 97)
        return below(64);
    return rnd();
}

static u64 gen_dirfd(void) { return chance(400) ? (u64)(i64)AT_FDCWD : gen_fd(); }

static u64 gen_pid(void)
{
    static const u64 v[] = {0, 1, (u64)-1, 0x7fffffff, 0x80000000, (u64)-0x80000000LL, 99999, 32768, 0xffffffff,
                            1ULL << 32, 1ULL << 63};
    u64 r = below(100);
    if (r < 30)
        return mypid;
    if (r < 40)
        return (u64)-mypid;
    if (r < 50)
        return harness_pid; /* fine for read-only calls; the dangerous ones are sanitised */
    if (r < 60 && nkids)
        return kids[below(nkids)];
    if (r < 90)
        return PICK(v);
    return rnd();
}

/* A pid a signal or a limit may be aimed at: never the harness, its group, pid 1 or "all". */
static u64 safe_pid(int allow_zero, int allow_group)
{
    for (;;) {
        u64 r = below(100);
        if (r < 40)
            return mypid;
        if (r < 50 && allow_zero)
            return 0;
        if (r < 60 && allow_group)
            return (u64)-mypid;
        if (r < 70 && nkids)
            return kids[below(nkids)];
        if (r < 80)
            return 99999 + below(1000); /* nonexistent */
        if (r < 85)
            return 0x7fffffff;
        if (r < 90)
            return (u64)(i64)(int)0x80000000; /* INT_MIN */
        if (r < 95)
            return (1ULL << 32) + mypid; /* high bits + our pid */
        if (r < 100 && allow_zero)
            return 0;
    }
}

static u64 gen_sig(void)
{
    u64 r = below(100);
    if (r < 70)
        return below(65);
    if (r < 80)
        return 0;
    if (r < 90)
        return PICK(((u64[]){65, 128, 255, (u64)-1, 0x100000009ULL, 0x7fffffff}));
    return rnd();
}

static u64 gen_clockid(void)
{
    static const u64 v[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, (u64)-1, (u64)-2, (u64)-6, (u64)-14,
                            0x7fffffff, 0xffffffff, 1ULL << 32};
    return chance(900) ? PICK(v) : rnd();
}

static u64 gen_off(void)
{
    static const u64 v[] = {0, 1, 4095, 4096, 8192, 1ULL << 31, 1ULL << 32, (u64)-1, (u64)-4096, 1ULL << 63,
                            ~0ULL >> 1, 100000, 1ULL << 40};
    return chance(800) ? PICK(v) : rnd();
}

/* A timespec the calls can wait on without blocking for long. */
static void put_short_timespec(u64 p)
{
    u64 ts[2] = {0, below(3000000)};
    put(p, ts, 16);
}

static u64 rw_slot(u64 size)
{
    u64 max = 2 * PG - size;
    return RW + below(max) / 16 * 16;
}

static u64 gen_timespec(void)
{
    u64 p = gen_ptr();
    if (in_rw(p, 16) || chance(300)) {
        if (!in_rw(p, 16))
            p = rw_slot(16);
        u64 r = below(100);
        u64 ts[2];
        if (r < 70 || strict) {
            put_short_timespec(p);
            return p;
        }
        if (r < 80)
            ts[0] = 0, ts[1] = 1000000000;
        else if (r < 85)
            ts[0] = (u64)-1, ts[1] = 0;
        else if (r < 90)
            ts[0] = 0, ts[1] = (u64)-1;
        else if (r < 95)
            ts[0] = below(3), ts[1] = below(1000000000);
        else
            ts[0] = rnd(), ts[1] = rnd();
        put(p, ts, 16);
    }
    return p;
}

static const char *const paths[] = {
    "/bin/hello", "/bin/true", "/dev/null", "/dev/zero", "/proc/meminfo", "/proc/self/exe", "/", "/bin",
    "/bin/", "..", ".", "", "/nonexistent", "/bin/hello/x", "/dev", "/proc", "/etc/velox/cmd", "/bin/../bin/true",
    "//bin//hello", "/proc/self", "/proc/self/fd/0", "/dev/tty", "/dev/console", "bin/hello", "dev/null",
    "/bin/hello\x01", "/tmp", "/proc/self/maps",
};

static void put_path(u64 p)
{
    u64 r = below(100);
    if (r < 70) {
        const char *s;
        do
            s = PICK(paths);
        while (!opt_console && (!strcmp(s, "/dev/tty") || !strcmp(s, "/dev/console")));
        put(p, s, strlen(s) + 1);
    } else if (r < 80) {
        /* no terminator before the end of the read-write pages */
        u64 n = RW_END - p;
        if (n > 2 * PG + 100)
            p = RW_END - below(2 * PG + 100), n = RW_END - p;
        for (u64 i = 0; i < n; i++)
            ((char *)p)[i] = '/';
    } else if (r < 90) {
        /* very long, terminated */
        u64 n = PICK(((u64[]){255, 256, 4095, 4096, 4097, 5000}));
        char c = chance(500) ? 'a' : '/';
        if (p + n + 1 > RW_END)
            return;
        memset((void *)p, c, n);
        ((char *)p)[0] = '/';
        ((char *)p)[n] = 0;
    } else {
        fill_random(p, 64);
    }
}

static u64 gen_path(void)
{
    u64 p = gen_ptr();
    if (!in_rw(p, 1) && chance(600))
        p = rw_slot(64);
    if (in_rw(p, 1))
        put_path(p);
    return p;
}

static u64 gen_iov(void)
{
    u64 p = gen_ptr();
    if (!in_rw(p, 16) && chance(500))
        p = rw_slot(16 * 16);
    if (in_rw(p, 16)) {
        u64 n = chance(800) ? 1 + below(16) : 1100;
        for (u64 i = 0; i < n && p + 16 * i + 16 <= RW_END; i++) {
            u64 v[2];
            v[0] = chance(700) ? RW + below(RW_PAGES * PG) : gen_ptr();
            v[1] = chance(600) ? below(4097) : gen_len();
            put(p + 16 * i, v, 16);
        }
    }
    return p;
}

static u64 gen_pollfds(void)
{
    u64 p = gen_ptr();
    if (!in_rw(p, 8) && chance(500))
        p = rw_slot(8 * 16);
    if (in_rw(p, 8)) {
        for (u64 i = 0; i < 16; i++) {
            int32_t fd = (int32_t)gen_fd();
            int16_t ev[2] = {(int16_t)(chance(700) ? PICK(((int[]){1, 4, 5, 0, 0x7fff})) : (int)rnd()),
                             (int16_t)rnd()};
            put(p + 8 * i, &fd, 4);
            put(p + 8 * i + 4, ev, 4);
        }
    }
    return p;
}

static u64 gen_fdset(void)
{
    u64 p = gen_ptr();
    if (in_rw(p, 1)) {
        u64 r = below(3);
        u64 v[16];
        for (int i = 0; i < 16; i++)
            v[i] = r == 0 ? 0 : r == 1 ? rnd() : (i == 0 ? 0x3ff : 0);
        put(p, v, sizeof v);
    }
    return p;
}

static u64 gen_argv(void)
{
    u64 p = gen_ptr();
    if (!in_rw(p, 8) && chance(500))
        p = rw_slot(64 + 8 * 8);
    if (in_rw(p, 8)) {
        u64 n = below(5);
        u64 s = p + 8 * 8;
        for (u64 i = 0; i < 8; i++) {
            u64 v = i < n ? (chance(800) ? s + 16 * i : gen_ptr()) : (chance(900) ? 0 : gen_ptr());
            put(p + 8 * i, &v, 8);
            if (i < n)
                put(s + 16 * i, "arg\0", 4);
        }
    }
    return p;
}

#define C_VM 0x100ULL
#define C_VFORK 0x4000ULL
#define C_PARENT 0x8000ULL
#define C_THREAD 0x10000ULL
#define C_SIGHAND 0x800ULL
#define C_FILES 0x400ULL
#define C_FS 0x200ULL
#define C_SETTLS 0x80000ULL
#define C_PARENT_SETTID 0x100000ULL
#define C_CHILD_CLEARTID 0x200000ULL
#define C_CHILD_SETTID 0x1000000ULL
#define C_SYSVSEM 0x40000ULL
#define C_PIDFD 0x1000ULL

static u64 gen_clone_flags(void)
{
    static const u64 v[] = {
        SIGCHLD,
        C_VM | C_VFORK | SIGCHLD,
        C_VM | C_FS | C_FILES | C_SIGHAND | C_THREAD | C_SYSVSEM | C_SETTLS | C_PARENT_SETTID | C_CHILD_CLEARTID,
        C_VM | C_SIGHAND | C_THREAD,
        C_THREAD,
        C_VM,
        C_VFORK,
        C_PARENT | SIGCHLD,
        C_FILES | SIGCHLD,
        C_PIDFD | SIGCHLD,
        C_CHILD_SETTID | C_CHILD_CLEARTID | SIGCHLD,
        0,
        0x20000, /* CLONE_NEWNS */
        SIGKILL,
        SIGSEGV,
    };
    return chance(700) ? PICK(v) : gen_flags();
}

static u64 gen_clone_args(void)
{
    u64 p = gen_ptr();
    if (!in_rw(p, 8) && chance(600))
        p = rw_slot(96);
    if (in_rw(p, 8)) {
        u64 a[11];
        a[0] = gen_clone_flags() & ~0xffULL;
        a[1] = chance(500) ? 0 : gen_ptr(); /* pidfd */
        a[2] = chance(500) ? 0 : gen_ptr(); /* child_tid */
        a[3] = chance(500) ? 0 : gen_ptr(); /* parent_tid */
        a[4] = chance(700) ? SIGCHLD : chance(500) ? 0 : gen_sig();
        a[5] = chance(600) ? 0 : gen_ptr(); /* stack */
        a[6] = a[5] ? gen_len() : 0;
        a[7] = chance(700) ? 0 : gen_ptr(); /* tls */
        a[8] = chance(900) ? 0 : gen_ptr(); /* set_tid */
        a[9] = chance(900) ? 0 : gen_num();
        a[10] = chance(900) ? 0 : gen_num(); /* cgroup */
        put(p, a, sizeof a);
    }
    return p;
}

static u64 gen_sigaction(void)
{
    u64 p = gen_ptr();
    if (!in_rw(p, 8) && chance(400))
        p = rw_slot(32);
    if (in_rw(p, 8)) {
        u64 a[4];
        u64 r = below(100);
        /* never the program's code: a handler there could run anything */
        a[0] = r < 40 ? 0 : r < 70 ? 1 : r < 80 ? RW + below(PG) : r < 90 ? PICK(kaddrs) : 2 + below(100);
        a[1] = chance(500) ? 0 : gen_flags();
        a[2] = chance(500) ? 0 : PICK(kaddrs);
        a[3] = chance(500) ? 0 : rnd();
        put(p, a, sizeof a);
    }
    return p;
}

static u64 gen_rlimit(void)
{
    u64 p = gen_ptr();
    if (in_rw(p, 16)) {
        static const u64 v[] = {0, 1, 3, 64, 1024, 4096, 1ULL << 20, ~0ULL, 0x7fffffffffffffffULL};
        u64 a[2] = {PICK(v), PICK(v)};
        put(p, a, 16);
    }
    return p;
}

static u64 gen_futex_addr(void)
{
    u64 p = gen_ptr();
    if (chance(400))
        p = rw_slot(8) + (chance(900) ? 0 : 1 + below(3));
    if (in_rw(p, 4)) {
        uint32_t v = chance(800) ? below(3) : (uint32_t)rnd();
        put(p, &v, 4);
    }
    return p;
}

static u64 gen_in(void)
{
    u64 p = gen_ptr();
    if (in_rw(p, 1)) {
        u64 r = below(4);
        if (r == 0)
            fill_random(p, 256);
        else if (r == 1) {
            static const u64 z[32];
            put(p, z, sizeof z);
        }
    }
    return p;
}

static u64 gen_mm_addr(void)
{
    u64 r = below(100);
    if (r < 85)
        return arena + below(MM_LIMIT) * PG + (chance(900) ? 0 : 1 + below(PG - 1));
    return PICK(kaddrs);
}

static u64 gen_arg(char k)
{
    switch (k) {
    case 'f': return gen_fd();
    case 'd': return gen_dirfd();
    case 'p': {
        u64 p = gen_ptr();
        if (chance(100))
            fill_random(p, 128);
        return p;
    }
    case 'r': return gen_in();
    case 'l': return gen_len();
    case 'F': return gen_flags();
    case 'P': return gen_path();
    case 'i': return gen_pid();
    case 's': return gen_sig();
    case 'a': return gen_mm_addr();
    case 't': return gen_timespec();
    case 'v': return gen_iov();
    case 'n': return gen_num();
    case 'c': return gen_clockid();
    case 'o': return gen_off();
    case 'u': return gen_futex_addr();
    case 'Q': return gen_pollfds();
    case 'S': return gen_fdset();
    case 'A': return gen_argv();
    case 'K': return gen_clone_args();
    case 'G': return gen_sigaction();
    case 'T': return gen_rlimit();
    case 'R': return chance(800) ? below(17) : gen_num();
    case 'W': return chance(800) ? PICK(((u64[]){0, (u64)-1, 1, 2})) : gen_num();
    case 'x':
    default: {
        static const char kinds[] = "fdprlFPinsatvncouQ";
        return gen_arg(kinds[below(sizeof kinds - 1)]);
    }
    }
}

/* ---------------------------------------------------------------- the call table */

struct sc {
    short nr;
    const char *sig;
};

/* What Velox implements (kernel/src/syscall/mod.rs `tables!`). The run ends with a note listing
 * numbers that did not return ENOSYS but are missing here: add them. */
static const struct sc velox_calls[] = {
    {SYS_getpid, ""},        {SYS_gettid, ""},           {SYS_getppid, ""},           {SYS_getuid, ""},
    {SYS_geteuid, ""},       {SYS_getgid, ""},           {SYS_getegid, ""},           {SYS_set_tid_address, "p"},
    {SYS_set_robust_list, "pl"}, {SYS_get_robust_list, "ipp"}, {SYS_prlimit64, "iRTp"}, {SYS_getpgid, "i"},
    {SYS_setpgid, "ii"},     {SYS_getsid, "i"},          {SYS_setsid, ""},            {SYS_getrusage, "Wp"},
    {SYS_times, "p"},        {SYS_sched_getaffinity, "ilp"}, {SYS_sched_setaffinity, "ilr"},
    {SYS_futex, "unntun"},   {SYS_futex, "unntun"},      {SYS_clock_gettime, "cp"},   {SYS_clock_getres, "cp"},
    {SYS_gettimeofday, "pp"}, {SYS_read, "fpl"},         {SYS_read, "fpl"},           {SYS_write, "frl"},
    {SYS_write, "frl"},      {SYS_writev, "fvn"},        {SYS_readv, "fvn"},          {SYS_openat, "dPFn"},
    {SYS_openat, "dPFn"},    {SYS_lseek, "fon"},         {SYS_pread64, "fplo"},       {SYS_pwrite64, "frlo"},
    {SYS_ioctl, "fnp"},      {SYS_readlinkat, "dPpl"},   {SYS_newfstatat, "dPpF"},    {SYS_fstat, "fp"},
    {SYS_close, "f"},        {SYS_dup, "f"},             {SYS_dup3, "ffF"},           {SYS_fcntl, "fnx"},
    {SYS_pipe2, "pF"},       {SYS_brk, "a"},             {SYS_mmap, "alFFfo"},        {SYS_mmap, "alFFfo"},
    {SYS_munmap, "al"},      {SYS_mprotect, "alF"},      {SYS_madvise, "aln"},        {SYS_rt_sigaction, "sGpl"},
    {SYS_rt_sigprocmask, "nrpl"}, {SYS_uname, "p"},      {SYS_getrandom, "plF"},      {SYS_sysinfo, "p"},
    {SYS_exit, "n"},         {SYS_exit_group, "n"},      {SYS_clone, "Fpppp"},        {SYS_clone3, "Kl"},
    {SYS_execve, "PAA"},     {SYS_wait4, "ipFp"},        {SYS_waitid, "nipFp"},       {SYS_sched_yield, ""},
    {SYS_nanosleep, "tp"},   {SYS_clock_nanosleep, "cFtp"}, {SYS_ppoll, "Qntrl"},     {SYS_pselect6, "nSSStr"},
    {SYS_rt_sigsuspend, "rl"}, {SYS_kill, "is"},         {SYS_tkill, "is"},           {SYS_tgkill, "iis"},
    /* credentials (issue 14, part 1) */
    {SYS_setuid, "n"},       {SYS_setgid, "n"},          {SYS_setreuid, "nn"},        {SYS_setregid, "nn"},
    {SYS_setresuid, "nnn"},  {SYS_setresgid, "nnn"},     {SYS_getresuid, "ppp"},      {SYS_getresgid, "ppp"},
    {SYS_setfsuid, "n"},     {SYS_setfsgid, "n"},        {SYS_getgroups, "np"},       {SYS_setgroups, "nr"},
    {SYS_riscv_flush_icache, "aaF"},
    /* signals and timers (issue 16) */
    {SYS_sigaltstack, "rp"}, {SYS_rt_sigpending, "pl"},  {SYS_rt_sigtimedwait, "rptl"}, {SYS_rt_sigqueueinfo, "isr"},
    {SYS_rt_tgsigqueueinfo, "iisr"}, {SYS_setitimer, "npp"}, {SYS_getitimer, "np"},  {SYS_getcpu, "ppp"},
    {SYS_timer_create, "cpp"}, {SYS_timer_settime, "nFpp"}, {SYS_timer_gettime, "np"}, {SYS_timer_getoverrun, "n"},
    {SYS_timer_delete, "n"}, {SYS_restart_syscall, ""},
};

/* Other Linux calls Velox may grow (today: ENOSYS). */
static const struct sc other_calls[] = {
    {SYS_getcwd, "pl"},      {SYS_chdir, "P"},           {SYS_fchdir, "f"},           {SYS_getdents64, "fpl"},
    {SYS_faccessat, "dPnF"}, {SYS_statx, "dPFnp"},       {SYS_umask, "n"},
    {SYS_prctl, "nxxxx"},    {SYS_getrlimit, "Rp"},      {SYS_setrlimit, "RT"},
    {SYS_sendfile, "ffpl"},  {SYS_preadv, "fvno"},       {SYS_pwritev, "fvno"},       {SYS_mremap, "allFa"},
    {SYS_msync, "alF"},      {SYS_mincore, "alp"},       {SYS_mlock, "al"},           {SYS_munlock, "al"},
    {SYS_memfd_create, "PF"}, {SYS_eventfd2, "nF"},      {SYS_epoll_create1, "F"},    {SYS_epoll_ctl, "fnfr"},
    {SYS_epoll_pwait, "fpntrl"}, {SYS_close_range, "ffF"}, {SYS_ftruncate, "fo"},     {SYS_fsync, "f"},
    {SYS_unlinkat, "dPF"},   {SYS_mkdirat, "dPn"},       {SYS_renameat2, "dPdPF"},    {SYS_fstatfs, "fp"},
    {SYS_statfs, "Pp"},      {SYS_membarrier, "nFn"},     {258 /* riscv_hwprobe */, "plnpF"},
    {SYS_riscv_flush_icache, "aaF"}, {SYS_sched_getparam, "ip"}, {SYS_sched_getscheduler, "i"},
    {SYS_sched_get_priority_max, "n"}, {SYS_sched_rr_get_interval, "ip"}, {SYS_getpriority, "ni"},
    {SYS_setpriority, "nin"}, {SYS_getresuid, "ppp"},    {SYS_getgroups, "np"},       {SYS_socket, "nnn"},
    {SYS_socketpair, "nnnp"}, {SYS_tee, "ffln"},         {SYS_splice, "fpfplF"},      {SYS_vmsplice, "fvnF"},
    {SYS_copy_file_range, "fpfplF"}, {SYS_timerfd_create, "cF"}, {SYS_signalfd4, "frlF"}, {SYS_inotify_init1, "F"},
    {SYS_pidfd_open, "iF"},  {SYS_openat2, "dPpl"},      {SYS_rseq, "plnn"},          {SYS_readahead, "fol"},
    {SYS_fadvise64, "foln"}, {SYS_fallocate, "fnoo"},    {SYS_flock, "fn"},           {SYS_fchmod, "fn"},
    {SYS_utimensat, "dPpF"}, {SYS_syncfs, "f"},          {SYS_personality, "n"},      {SYS_execveat, "dPAAF"},
    {SYS_process_vm_readv, "ivnvnF"}, {SYS_process_vm_writev, "ivnvnF"},
    {SYS_pidfd_send_signal, "fsrF"}, {SYS_setuid, "n"}, {SYS_setresgid, "nnn"},
};

/* Never made (harm beyond the child, or pointless danger): always redrawn. */
static int forbidden(u64 nr)
{
    switch (nr) {
    case SYS_reboot: case SYS_kexec_load: case SYS_kexec_file_load: case SYS_init_module:
    case SYS_delete_module: case SYS_finit_module: case SYS_swapon: case SYS_swapoff: case SYS_acct:
    case SYS_settimeofday: case SYS_clock_settime: case SYS_clock_adjtime: case SYS_adjtimex:
    case SYS_sethostname: case SYS_setdomainname: case SYS_mount: case SYS_umount2: case SYS_pivot_root:
    case SYS_chroot: case SYS_unshare: case SYS_setns: case SYS_syslog: case SYS_vhangup: case SYS_quotactl:
    case SYS_ptrace: case SYS_rt_sigreturn: case SYS_bpf: case SYS_perf_event_open: case SYS_open_by_handle_at:
    case SYS_fsopen: case SYS_fsconfig: case SYS_fsmount: case SYS_move_mount: case SYS_open_tree:
    case SYS_fspick: case SYS_mount_setattr: case SYS_migrate_pages: case SYS_move_pages: case SYS_shmat:
    case SYS_fanotify_init: case SYS_fanotify_mark: case SYS_kcmp: case SYS_pidfd_getfd:
    case SYS_process_madvise: case SYS_process_mrelease: case SYS_ioprio_set: case SYS_sched_setscheduler:
    case SYS_sched_setparam: case SYS_sched_setattr: case SYS_set_mempolicy: case SYS_mbind:
    case SYS_seccomp: case SYS_quotactl_fd: case SYS_nfsservctl: case SYS_sync:
        return 1;
    }
    return 0;
}

static const struct sc *find_sc(u64 nr)
{
    for (unsigned i = 0; i < NELEM(velox_calls); i++)
        if ((u64)velox_calls[i].nr == nr)
            return &velox_calls[i];
    for (unsigned i = 0; i < NELEM(other_calls); i++)
        if ((u64)other_calls[i].nr == nr)
            return &other_calls[i];
    return NULL;
}

static int is_velox_nr(u64 nr)
{
    for (unsigned i = 0; i < NELEM(velox_calls); i++)
        if ((u64)velox_calls[i].nr == nr)
            return 1;
    return 0;
}

/* Good values for some arguments (used half the time where known). */
static int good(u64 nr, int i, u64 *v)
{
    switch (nr) {
    case SYS_openat:
        if (i == 2) {
            *v = PICK(((u64[]){O_RDONLY, O_RDWR, O_WRONLY, O_RDONLY | O_CLOEXEC, O_DIRECTORY, O_CREAT | O_WRONLY,
                               O_TRUNC | O_WRONLY, O_PATH, O_NONBLOCK, O_APPEND | O_WRONLY, O_EXCL | O_CREAT,
                               O_NOFOLLOW, O_TMPFILE | O_RDWR, O_DIRECTORY | O_RDWR}));
            return 1;
        }
        if (i == 3) { *v = PICK(((u64[]){0, 0644, 0777, 07777})); return 1; }
        return 0;
    case SYS_futex:
        if (i == 1) {
            u64 op = PICK(((u64[]){0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}));
            if (chance(500)) op |= 128; /* PRIVATE */
            if (chance(200)) op |= 256; /* CLOCK_REALTIME */
            *v = op;
            return 1;
        }
        if (i == 2) { *v = below(3); return 1; }
        if (i == 5) { *v = PICK(((u64[]){~0ULL, 0xffffffff, 1, 0})); return 1; }
        return 0;
    case SYS_mmap:
        if (i == 2) { *v = PICK(((u64[]){PROT_READ | PROT_WRITE, PROT_NONE, PROT_READ, PROT_EXEC, 7, PROT_WRITE})); return 1; }
        if (i == 3) {
            u64 f = PICK(((u64[]){MAP_PRIVATE | MAP_ANONYMOUS, MAP_SHARED | MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED,
                                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
                                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                                  MAP_SHARED_VALIDATE | MAP_ANONYMOUS, MAP_ANONYMOUS}));
            *v = f;
            return 1;
        }
        if (i == 4) { *v = chance(500) ? (u64)-1 : gen_fd(); return 1; }
        if (i == 5) { *v = PICK(((u64[]){0, 4096, 1, 1ULL << 40})); return 1; }
        return 0;
    case SYS_mprotect:
        if (i == 2) { *v = PICK(((u64[]){PROT_READ | PROT_WRITE, PROT_NONE, PROT_READ, PROT_EXEC, 7, PROT_WRITE, 8, 0x1000000})); return 1; }
        return 0;
    case SYS_madvise:
        if (i == 2) { *v = PICK(((u64[]){0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 25, 100})); return 1; }
        return 0;
    case SYS_clone:
        if (i == 0) { *v = gen_clone_flags(); return 1; }
        if (i == 1) { *v = chance(600) ? 0 : gen_ptr(); return 1; }
        return 0;
    case SYS_clone3:
        if (i == 1) { *v = PICK(((u64[]){64, 80, 88, 0, 8, 63, 4096, 1ULL << 32})); return 1; }
        return 0;
    case SYS_fcntl:
        if (i == 1) { *v = PICK(((u64[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1030, 1031, 1032, 1033, 1034, 1036, 36, 37, 38})); return 1; }
        if (i == 2) { *v = PICK(((u64[]){0, 1, 3, 10, 1024, O_NONBLOCK, O_APPEND, O_NONBLOCK | O_APPEND, FD_CLOEXEC, 4096, 65536, 1 << 20})); return 1; }
        return 0;
    case SYS_ioctl:
        if (i == 1) {
            *v = PICK(((u64[]){0x5401 /* TCGETS */, 0x5402, 0x5403, 0x5404, 0x5413 /* TIOCGWINSZ */, 0x5414,
                               0x541b /* FIONREAD */, 0x540f /* TIOCGPGRP */, 0x5429 /* TIOCGSID */, 0x5451, 0x5450,
                               0x80086601, 0}));
            return 1;
        }
        return 0;
    case SYS_lseek:
        if (i == 2) { *v = PICK(((u64[]){0, 1, 2, 3, 4, 5, (u64)-1})); return 1; }
        return 0;
    case SYS_wait4:
        if (i == 2) { *v = PICK(((u64[]){0, WNOHANG, WUNTRACED, WNOHANG | __WALL, __WCLONE, WCONTINUED, 0x10000000})); return 1; }
        return 0;
    case SYS_waitid:
        if (i == 0) { *v = PICK(((u64[]){0, 1, 2, 3, 4})); return 1; }
        if (i == 3) { *v = PICK(((u64[]){WEXITED, WEXITED | WNOHANG, WEXITED | WNOWAIT, WSTOPPED, 0, WEXITED | WNOHANG | WNOWAIT})); return 1; }
        return 0;
    case SYS_rt_sigaction:
    case SYS_rt_sigsuspend:
    case SYS_rt_sigpending:
        if ((nr == SYS_rt_sigaction && i == 3) || (nr != SYS_rt_sigaction && i == 1)) { *v = 8; return 1; }
        return 0;
    case SYS_rt_sigprocmask:
        if (i == 0) { *v = below(4); return 1; }
        if (i == 3) { *v = 8; return 1; }
        return 0;
    case SYS_getrandom:
        if (i == 2) { *v = below(8); return 1; }
        return 0;
    case SYS_pipe2:
        if (i == 1) { *v = PICK(((u64[]){0, O_CLOEXEC, O_NONBLOCK, O_DIRECT, O_CLOEXEC | O_NONBLOCK})); return 1; }
        return 0;
    case SYS_dup3:
        if (i == 2) { *v = chance(500) ? 0 : O_CLOEXEC; return 1; }
        return 0;
    case SYS_clock_nanosleep:
        if (i == 1) { *v = below(2); return 1; }
        return 0;
    case SYS_newfstatat:
        if (i == 3) { *v = PICK(((u64[]){0, AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, AT_NO_AUTOMOUNT})); return 1; }
        return 0;
    case SYS_set_robust_list:
        if (i == 1) { *v = 24; return 1; }
        return 0;
    case SYS_sched_getaffinity:
    case SYS_sched_setaffinity:
        if (i == 1) { *v = PICK(((u64[]){8, 0, 1, 4, 128, 7})); return 1; }
        return 0;
    case SYS_ppoll:
        if (i == 1) { *v = below(17); return 1; }
        if (i == 4) { *v = 8; return 1; }
        return 0;
    case SYS_pselect6:
        if (i == 0) { *v = PICK(((u64[]){0, 1, 3, 10, 64, 1024, 1025})); return 1; }
        return 0;
    case SYS_readv:
    case SYS_writev:
        if (i == 2) { *v = PICK(((u64[]){0, 1, 2, 8, 16, 1024, 1025})); return 1; }
        return 0;
    }
    return 0;
}

/* ---------------------------------------------------------------- sanitising */

/* Destructive memory calls: [addr, addr+len) inside the arena (below MM_LIMIT), or an address
 * outside user space, or a length that wraps around. */
static void mm_range(u64 *addr, u64 *len)
{
    u64 a = *addr, l = *len;
    int ok_arena = a >= arena && a < arena + MM_LIMIT * PG;
    int outside = a >= 0x4000000000ULL;
    if (!ok_arena && !outside) {
        if (chance(100)) {
            a = below(0x10000) & ~(PG - 1); /* NULL page region, below any program */
            if (l > 0x10000 - a && a + l >= a)
                l = below(0x10000 - a + 1);
            *addr = a, *len = l;
            return;
        }
        a = gen_mm_addr();
        ok_arena = a >= arena && a < arena + MM_LIMIT * PG;
    }
    if (ok_arena) {
        u64 max = arena + MM_LIMIT * PG - a;
        if (l > max && a + l > a) { /* does not wrap: clip */
            u64 r = below(3);
            l = r == 0 ? max : r == 1 ? below(max + 1) : below(max / PG + 1) * PG;
        }
    }
    *addr = a, *len = l;
}

static long thread_kids[16]; /* tasks made with CLONE_THREAD: a fatal signal to one ends us */
static int nthread_kids;

static int self_target(u64 pid)
{
    if (pid == (u64)mypid || pid == (u64)-mypid || (u32)pid == (u32)mypid)
        return 1;
    for (int i = 0; i < nthread_kids; i++)
        if ((u32)pid == (u32)thread_kids[i])
            return 1;
    return 0;
}
static u64 clone_flags_used;

static u64 pre_flags; /* flags to set in the shared page just before the call */

/* Returns 0 to have the call redrawn. */
static int sanitize(u64 nr, u64 *a, int *use_clone)
{
    int blk_strict = strict || !chance(opt_block_pm);
    *use_clone = 0;
    pre_flags = 0;
    if (forbidden(nr))
        return 0;
    for (int i = 0; i < n_exclude; i++)
        if (opt_exclude[i] == nr)
            return 0;
    switch (nr) {
    case SYS_kill:
    case SYS_rt_sigqueueinfo:
        a[0] = safe_pid(0, 1);
        goto sig1;
    case SYS_tkill:
        a[0] = chance(500) ? (u64)mytid : safe_pid(0, 0);
    sig1:
        if (self_target(a[0]) && (u32)a[1] != 0) {
            if (strict || chance(800))
                a[1] = PICK(((u64[]){0, SIGCHLD, SIGURG, SIGWINCH}));
            else
                pre_flags |= F_SELFSIG;
        }
        return 1;
    case SYS_tgkill:
    case SYS_rt_tgsigqueueinfo:
        a[0] = safe_pid(0, 0);
        a[1] = chance(500) ? (u64)mytid : safe_pid(0, 0);
        if ((self_target(a[0]) || self_target(a[1])) && (u32)a[2] != 0) {
            if (strict || chance(800))
                a[2] = 0;
            else
                pre_flags |= F_SELFSIG;
        }
        return 1;
    case SYS_pidfd_send_signal:
        if ((u32)a[1] != 0)
            pre_flags |= F_SELFSIG;
        if (strict)
            a[1] = 0;
        return 1;
    case SYS_pidfd_open:
        a[0] = safe_pid(0, 0);
        return 1;
    case SYS_prlimit64:
        a[0] = safe_pid(1, 0);
        if (a[2])
            pre_flags |= F_SELFSIG; /* RLIMIT_CPU/FSIZE signals, tiny stacks... */
        return 1;
    case SYS_setrlimit:
        pre_flags |= F_SELFSIG;
        return 1;
    case SYS_setpgid:
        a[0] = safe_pid(1, 0);
        a[1] = chance(300) ? gen_num() : safe_pid(1, 0);
        if (a[1] == (u64)harness_pid || (u32)a[1] == (u32)harness_pid)
            a[1] = 0;
        return 1;
    case SYS_sched_setaffinity:
    case SYS_setpriority:
        if (nr == SYS_setpriority) {
            a[0] = 0; /* PRIO_PROCESS */
            a[1] = safe_pid(1, 0);
        } else {
            a[0] = safe_pid(1, 0);
        }
        return 1;
    case SYS_process_vm_writev:
        a[0] = mypid;
        return 1;
    case SYS_timer_create:
        /* Its signal may be a stop signal (SIGTSTP...): strict mode must not stop. */
        if (strict)
            return 0;
        /* fall through */
    case SYS_setitimer:
    case SYS_prctl:
    case SYS_personality:
    case SYS_rseq:
        pre_flags |= F_SELFSIG | F_MAYCRASH;
        return 1;
    case SYS_exit:
    case SYS_exit_group:
        if (!chance(50))
            return 0;
        pre_flags |= F_EXIT;
        return 1;
    case SYS_execve:
    case SYS_execveat: {
        int pi = nr == SYS_execve ? 0 : 1;
        if (chance(30)) {
            u64 p = rw_slot(32);
            put(p, chance(500) ? "/bin/true" : "/bin/hello", 11);
            a[pi] = p;
            if (nr == SYS_execveat)
                a[0] = (u64)(i64)AT_FDCWD, a[4] = 0;
            pre_flags |= F_EXEC;
        } else {
            /* anything but a real program */
            static const char *const bad[] = {"/", "/bin", "/dev/null", "/proc/meminfo", "/nonexistent", "",
                                              "/etc/velox/cmd", "/bin/hello/", "/dev/zero"};
            u64 r = below(100);
            if (r < 60) {
                u64 p = rw_slot(32);
                put(p, PICK(bad), 16);
                a[pi] = p;
            } else if (r < 80) {
                a[pi] = PICK(kaddrs);
            } else if (r < 90) {
                a[pi] = arena + NONE_PAGE * PG;
            } else {
                a[pi] = RW_END - 1 - below(16); /* straddles */
                put(a[pi], "/////////////////", 16);
            }
            if (nr == SYS_execveat) {
                a[0] = chance(500) ? (u64)(i64)AT_FDCWD : (u64)(i64)fd_null; /* not AT_EMPTY_PATH on a program */
                a[4] &= ~(u64)AT_EMPTY_PATH;
            }
        }
        return 1;
    }
    case SYS_clone:
    case SYS_clone3: {
        if (nclones >= 16)
            return 0;
        u64 flags, esig;
        clone_flags_used = 0;
        if (nr == SYS_clone) {
            flags = a[0];
            clone_flags_used = flags;
            if (flags & C_PARENT)
                a[0] = (a[0] & ~0xffULL) | (chance(500) ? SIGCHLD : 0);
            esig = a[0] & 0xff;
        } else {
            if (!in_rw(a[0], 8) && a[0] >= arena && a[0] < arena + A_PAGES * PG && !chance(300))
                a[0] = gen_clone_args();
            if (in_rw(a[0], 8)) {
                u64 f;
                memcpy(&f, (void *)a[0], 8);
                clone_flags_used = f;
                if ((f & C_PARENT) && in_rw(a[0] + 32, 8)) {
                    u64 s = chance(500) ? SIGCHLD : 0;
                    memcpy((void *)(a[0] + 32), &s, 8);
                }
                esig = in_rw(a[0] + 32, 8) ? *(u64 *)(a[0] + 32) : 0;
            } else if (a[0] >= RO && a[0] < RO_END + PG * 2) {
                a[0] = PICK(kaddrs); /* random read-only bytes could ask for CLONE_PARENT */
                esig = 0;
            } else if (a[0] == (u64)(uintptr_t)&rawsys || (a[0] >= 0x10000 && a[0] < 0x11000) ||
                       a[0] == (u64)(uintptr_t)rodata_str) {
                a[0] = 0;
                esig = 0;
            } else {
                esig = 0;
            }
        }
        /* An exit signal other than SIGCHLD reaches this child when the clone ends: one whose
         * default action stops it (SIGTTIN...) would stop it, which strict mode forbids. */
        if (strict && esig != 0 && esig != SIGCHLD) {
            if (nr == SYS_clone)
                a[0] = (a[0] & ~0xffULL) | SIGCHLD;
            else if (in_rw(a[0] + 32, 8))
                *(u64 *)(a[0] + 32) = SIGCHLD;
            esig = SIGCHLD;
        }
        if (esig != 0 && esig != SIGCHLD)
            pre_flags |= F_SELFSIG;
        nclones++;
        *use_clone = 1;
        return 1;
    }
    case SYS_rt_sigaction:
        if (a[1] && !in_rw(a[1], 8) && !(a[1] >= 0x4000000000ULL) && !(a[1] < PG)) {
            /* read-only data or code as a sigaction: handler would be code bytes; use ours */
            a[1] = gen_sigaction();
        }
        /* A handler at a random address runs (and may crash) when any signal comes. */
        if (a[1])
            pre_flags |= F_SELFSIG | F_MAYCRASH;
        return 1;
    case SYS_rt_sigsuspend:
        if (blk_strict)
            return 0;
        return 1;
    case SYS_getrandom:
        /* Up to 2 GiB of random bytes into a huge mapping is legal but takes seconds (and
         * memory): in strict mode, where every call must end before the deadline, cap it.
         * (A normal-mode child may still make such calls and be killed at its deadline.) */
        if (blk_strict && a[1] > (16ULL << 20))
            a[1] = 16ULL << 20;
        return 1;
    case SYS_brk: {
        u64 r = below(100);
        if (r < 15)
            a[0] = 0;
        else if (r < 55)
            a[0] = brk0 + below(64) * PG + (chance(800) ? 0 : below(PG));
        else if (r < 62)
            a[0] = brk0 + (1ULL << (20 + below(8))); /* up to 128 MiB: stays below 0x0c000000 */
        else if (r < 65)
            a[0] = brk0 + (1ULL << PICK(((u64[]){38, 40, 63})));
        else if (r < 70) {
            a[0] = brk0 - PG * (1 + below(16));
            pre_flags |= F_MAYCRASH; /* the static TLS lives in the heap */
        } else if (r < 85)
            a[0] = PICK(kaddrs);
        else
            a[0] = rnd() | 0x4000000000ULL;
        return 1;
    }
    case SYS_munmap:
    case SYS_mprotect:
    case SYS_madvise:
    case SYS_msync:
    case SYS_mlock:
    case SYS_munlock:
    case SYS_mincore:
    case SYS_remap_file_pages:
    case SYS_pkey_mprotect:
        mm_range(&a[0], &a[1]);
        return 1;
    case SYS_mremap:
        mm_range(&a[0], &a[1]);
        if (a[3] & 2) { /* MREMAP_FIXED */
            a[4] = gen_mm_addr();
            mm_range(&a[4], &a[2]);
        }
        return 1;
    case SYS_mmap:
        if (a[3] & MAP_FIXED)
            mm_range(&a[0], &a[1]);
        else if (a[0] >= 0x0c000000 && a[0] < 0x90000000)
            a[0] = 0; /* a hint there would make the "physical address" pointers valid memory */
        return 1;
    case SYS_riscv_flush_icache:
        return 1;
    case SYS_fcntl:
        if ((u32)a[1] == F_SETOWN || (u32)a[1] == F_SETOWN_EX || (u32)a[1] == F_SETSIG) {
            if ((u32)a[1] == F_SETOWN)
                a[2] = chance(500) ? 0 : (u64)mypid;
            else
                return 0;
        }
        if (blk_strict) {
            if ((u32)a[1] == F_SETLKW || (u32)a[1] == 38 /* F_OFD_SETLKW */)
                a[1] = F_GETFL;
            if ((u32)a[1] == F_SETFL)
                a[2] |= O_NONBLOCK;
        }
        return 1;
    case SYS_ioctl: {
        u32 c = (u32)a[1];
        if (c == 0x5410 /* TIOCSPGRP */ || c == 0x5412 /* TIOCSTI */ || c == 0x540e /* TIOCSCTTY */ ||
            c == 0x5422 /* TIOCNOTTY */ || c == 0x8901 || c == 0x8902 || c == 0x5423 /* TIOCSETD */)
            return 0;
        if (blk_strict && c == 0x5421 /* FIONBIO */)
            return 0;
        return 1;
    }
    case SYS_pipe2:
        if (blk_strict)
            a[1] |= O_NONBLOCK;
        return 1;
    case SYS_eventfd2:
        /* A read of a zero counter (or a write past the maximum) waits. */
        if (blk_strict)
            a[1] |= O_NONBLOCK; /* EFD_NONBLOCK */
        return 1;
    case 441: /* epoll_pwait2: the timeout is a timespec (NULL: forever) */
        if (blk_strict && !(a[3] >= 0x4000000000ULL || (a[3] >= arena + NONE_PAGE * PG && a[3] < arena + (HOLE2 + 1) * PG))) {
            a[3] = rw_slot(16);
            put_short_timespec(a[3]);
        }
        return 1;
    case SYS_wait4:
        if (blk_strict)
            a[2] |= WNOHANG;
        return 1;
    case SYS_waitid:
        if (blk_strict)
            a[3] |= WNOHANG;
        return 1;
    case SYS_nanosleep:
        if (blk_strict && !(a[0] >= 0x4000000000ULL || (a[0] >= arena + NONE_PAGE * PG && a[0] < arena + (HOLE2 + 1) * PG))) {
            a[0] = rw_slot(16);
            put_short_timespec(a[0]);
        }
        return 1;
    case SYS_clock_nanosleep:
    case SYS_futex:
    case SYS_ppoll:
    case SYS_pselect6:
    case SYS_rt_sigtimedwait:
    case SYS_epoll_pwait: {
        int ti = nr == SYS_clock_nanosleep ? 2 : nr == SYS_futex ? 3 : nr == SYS_ppoll ? 2 : nr == SYS_pselect6 ? 4
                                                                   : nr == SYS_rt_sigtimedwait ? 2 : -1;
        if (nr == SYS_epoll_pwait) {
            if (blk_strict)
                a[3] = 0; /* timeout in ms */
            return 1;
        }
        if (blk_strict) {
            u64 t = a[ti];
            if (!(t >= 0x4000000000ULL || (t >= arena + NONE_PAGE * PG && t < arena + (HOLE2 + 1) * PG)) ||
                !chance(800)) {
                a[ti] = rw_slot(16);
                put_short_timespec(a[ti]);
            }
            if (nr == SYS_futex) {
                /* FUTEX_LOCK_PI-style ops and WAIT_REQUEUE_PI can block on their own terms */
                u64 op = a[1] & 0x7f;
                if (op == 6 || op == 11 || op == 13)
                    return 0;
            }
        }
        return 1;
    }
    case SYS_read:
    case SYS_write:
        /* Likewise: 2 GiB from /dev/zero (or to the console) is legal but long. */
        if (blk_strict && a[2] > (16ULL << 20))
            a[2] = 16ULL << 20;
        return 1;
    case SYS_readv:
    case SYS_pread64:
    case SYS_preadv:
    case SYS_writev:
        return 1;
    case SYS_flock:
        if (blk_strict)
            a[1] |= LOCK_NB;
        return 1;
    }
    return 1;
}

/* ---------------------------------------------------------------- child */

static void add_fd(long fd)
{
    if (fd < 0 || fd > 4095)
        return;
    for (int i = 0; i < npool; i++)
        if (pool[i] == fd)
            return;
    if (npool < (int)NELEM(pool))
        pool[npool++] = (int)fd;
    else
        pool[8 + below(NELEM(pool) - 8)] = (int)fd; /* keep the first eight */
}

static int arena_map(u64 page, u64 npages, int prot)
{
    long r = rawsys(SYS_mmap, arena + page * PG, npages * PG, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                    (u64)-1, 0);
    return r == (long)(arena + page * PG) ? 0 : -1;
}

static void arena_reset(void)
{
    if (rawsys(SYS_munmap, arena, A_PAGES * PG, 0, 0, 0, 0) != 0 || arena_map(0, RW_PAGES, PROT_READ | PROT_WRITE) ||
        arena_map(RO_PAGE, 2, PROT_READ | PROT_WRITE) || arena_map(NONE_PAGE, 1, PROT_NONE) ||
        arena_map(XO_PAGE, 1, PROT_EXEC)) {
        sh->flags |= F_RESOURCE;
        child_exit(97);
    }
    for (u64 i = 0; i < 2 * PG; i += 8)
        *(u64 *)(RO + i) = rnd();
    if (rawsys(SYS_mprotect, RO, 2 * PG, PROT_READ, 0, 0, 0) != 0) {
        sh->flags |= F_RESOURCE;
        child_exit(97);
    }
}

static int fmt_call(char *b, size_t n, u64 nr, const u64 *a, i64 ret, int have_ret)
{
    int k = snprintf(b, n, "%s(%llu)(%#llx, %#llx, %#llx, %#llx, %#llx, %#llx)", nrname(nr), (unsigned long long)nr,
                     (unsigned long long)a[0], (unsigned long long)a[1], (unsigned long long)a[2],
                     (unsigned long long)a[3], (unsigned long long)a[4], (unsigned long long)a[5]);
    if (have_ret && k > 0 && (size_t)k < n)
        k += snprintf(b + k, n - k, " = %lld", (long long)ret);
    return k;
}

static void vprint(const char *s)
{
    if (verbose_fd >= 0)
        rawsys(SYS_write, verbose_fd, (u64)(uintptr_t)s, strlen(s), 0, 0, 0);
}

static const u64 writers[] = {SYS_write, SYS_writev, SYS_pwrite64, SYS_pwritev, SYS_pwritev2, SYS_sendfile,
                              SYS_splice, SYS_vmsplice, SYS_tee, SYS_copy_file_range};

static int is_writer(u64 nr)
{
    for (unsigned i = 0; i < NELEM(writers); i++)
        if (writers[i] == nr)
            return 1;
    return 0;
}

static void check_canary(const char *when)
{
    for (unsigned i = 0; i < sizeof canary; i++)
        if (canary[i] != (unsigned char)(i * 7 + 1)) {
            anomaly("canary byte %u overwritten (%#x) %s", i, canary[i], when);
            canary[i] = (unsigned char)(i * 7 + 1);
        }
}

static void post(u64 i, u64 nr, const u64 *a, i64 ret)
{
    char b[200];
    b[0] = 0;
    if (nr < 512 && ret != -ENOSYS)
        sh->nonenosys[nr / 64] |= 1ULL << (nr % 64);
    if (ret < 0 && ret >= -4095 && -ret > 133) {
        fmt_call(b, sizeof b, nr, a, ret, 1);
        anomaly("call %llu: errno %lld out of range: %s", (unsigned long long)i, (long long)-ret, b);
    }
    if (nr >= 1024 && ret != -ENOSYS) {
        fmt_call(b, sizeof b, nr, a, ret, 1);
        anomaly("call %llu: huge syscall number did not return ENOSYS: %s", (unsigned long long)i, b);
    }
    u64 lenarg = ~0ULL;
    switch (nr) {
    case SYS_read: case SYS_write: case SYS_pread64: case SYS_pwrite64: lenarg = a[2]; break;
    case SYS_getrandom: lenarg = a[1]; break;
    case SYS_readlinkat: lenarg = a[3]; break;
    }
    if (lenarg != ~0ULL && ret > 0 && (u64)ret > lenarg) {
        fmt_call(b, sizeof b, nr, a, ret, 1);
        anomaly("call %llu: returned more than asked: %s", (unsigned long long)i, b);
    } else if (lenarg != ~0ULL && ret > 0x7ffff000 && nr != SYS_getrandom) {
        /* Linux clamps one read/write to MAX_RW_COUNT; a difference, not an inconsistency */
        sh->compat++;
        if (!sh->compat_msg[0]) {
            fmt_call(b, sizeof b, nr, a, ret, 1);
            snprintf(sh->compat_msg, sizeof sh->compat_msg, "call %llu: more than MAX_RW_COUNT (0x7ffff000) in one call: %s",
                     (unsigned long long)i, b);
        }
    }
    if ((nr == SYS_getpid && ret != mypid) || (nr == SYS_gettid && ret != mytid) ||
        (nr == SYS_getppid && ret != harness_pid && ret != 1)) {
        fmt_call(b, sizeof b, nr, a, ret, 1);
        anomaly("call %llu: identity changed: %s (pid %ld tid %ld harness %ld)", (unsigned long long)i, b, mypid,
                mytid, harness_pid);
    }
    if (sh->magic != MAGIC || sh->magic2 != MAGIC) {
        sh->magic = sh->magic2 = MAGIC;
        fmt_call(b, sizeof b, nr, a, ret, 1);
        anomaly("call %llu: report page magic overwritten after %s", (unsigned long long)i, b);
    }
    check_canary("");
    if (ret < 0)
        return;
    switch (nr) {
    case SYS_openat: case SYS_dup: case SYS_dup3: case SYS_memfd_create: case SYS_eventfd2:
    case SYS_epoll_create1: case SYS_pidfd_open: case SYS_openat2: case SYS_socket: case SYS_timerfd_create:
    case SYS_signalfd4: case SYS_inotify_init1:
        add_fd(ret);
        break;
    case SYS_fcntl:
        if ((u32)a[1] == F_DUPFD || (u32)a[1] == F_DUPFD_CLOEXEC)
            add_fd(ret);
        break;
    case SYS_pipe2:
    case SYS_socketpair: {
        u64 p = nr == SYS_pipe2 ? a[0] : a[3];
        if (in_rw(p, 8)) {
            add_fd(((int *)p)[0]);
            add_fd(((int *)p)[1]);
        }
        break;
    }
    case SYS_clone:
    case SYS_clone3:
        if (ret > 0 && nkids < (int)NELEM(kids))
            kids[nkids++] = ret;
        if (ret > 0 && (clone_flags_used & C_THREAD) && nthread_kids < (int)NELEM(thread_kids))
            thread_kids[nthread_kids++] = ret;
        break;
    case SYS_rt_sigaction:
        if (a[1])
            sh->flags |= F_MAYCRASH; /* a handler may run later (SIGPIPE, SIGCHLD...) */
        break;
    case SYS_sigaltstack:
        break;
    }
}

/* A memory-management call that may have changed the arena's pages. */
static int touches_arena(u64 nr, const u64 *a)
{
    switch (nr) {
    case SYS_munmap: case SYS_mprotect: case SYS_madvise: case SYS_remap_file_pages: case SYS_pkey_mprotect:
    case SYS_mremap:
        return 1;
    case SYS_mmap:
        return (a[3] & MAP_FIXED) != 0;
    }
    return 0;
}

/* nftw callback: remove everything below a child's sandbox, then the sandbox. */
static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)st, (void)type, (void)f;
    remove(path);
    return 0;
}

static void child_main(u64 subseed, int idx)
{
    rs = subseed;
    sh->subseed = subseed;
    for (unsigned i = 0; i < sizeof canary; i++)
        canary[i] = (unsigned char)(i * 7 + 1);
    setpgid(0, 0);
    mypid = rawsys(SYS_getpid, 0, 0, 0, 0, 0, 0);
    mytid = rawsys(SYS_gettid, 0, 0, 0, 0, 0, 0);
    brk0 = (u64)rawsys(SYS_brk, 0, 0, 0, 0, 0, 0);
    if (opt_verbose)
        verbose_fd = (int)rawsys(SYS_dup3, 1, 900, 0, 0, 0, 0);

    long base = rawsys(SYS_mmap, 0, (A_PAGES + 2) * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, (u64)-1, 0);
    if (base < 0 && base > -4096) {
        sh->flags |= F_RESOURCE;
        child_exit(97);
    }
    arena = (u64)base + PG;

    fd_null = open("/dev/null", O_RDWR);
    fd_zero = open("/dev/zero", O_RDWR);
    fd_file = open("/bin/hello", O_RDONLY);
    fd_dir = open("/", O_RDONLY | O_DIRECTORY);
    int meminfo = open("/proc/meminfo", O_RDONLY);
    int bindir = open("/bin", O_RDONLY | O_DIRECTORY);
    int p1[2] = {-1, -1}, p2[2] = {-1, -1}, p3[2] = {-1, -1};
    pipe2(p1, O_NONBLOCK);
    pipe2(p2, strict ? O_NONBLOCK : 0);
    pipe2(p3, O_NONBLOCK);
    /* SIGPIPE at its default action (death) a third of the time, ignored otherwise */
    if (chance(667))
        signal(SIGPIPE, SIG_IGN);
    if (write(p2[1], "x", 1) != 1) { /* one byte to read */
    }
    close(p3[0]); /* writes to p3[1] get EPIPE (or SIGPIPE) */
    if (fd_null >= 0) {
        dup2(fd_null, 0);
        if (!opt_console) {
            dup2(fd_null, 1);
            dup2(fd_null, 2);
        }
    }
    if (!opt_root) {
        char dir[64];
        snprintf(dir, sizeof dir, "/tmp/vfuzz.%ld", mypid);
        if (mkdir(dir, 0777) != 0 || chown(dir, 65534, 65534) != 0 || chdir(dir) != 0 || setgroups(0, NULL) != 0 ||
            setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) {
            sh->flags |= F_RESOURCE;
            child_exit(97);
        }
    }
    int init_fds[] = {fd_null, fd_zero, fd_file, fd_dir, p1[0], p1[1], p2[0], p2[1], meminfo, bindir, p3[1]};
    for (unsigned i = 0; i < NELEM(init_fds); i++)
        add_fd(init_fds[i]);
    if (opt_console)
        add_fd(open("/dev/console", O_RDWR | (strict ? O_NONBLOCK : 0)));

    u64 batch = opt_batch > 0 ? (u64)opt_batch : 200 + below(1801);
    char b[300];
    if (verbose_fd >= 0) {
        snprintf(b, sizeof b, "vfuzz: child %d subseed=%#llx batch=%llu pid=%ld arena=%#llx strict=%d\n", idx,
                 (unsigned long long)subseed, (unsigned long long)batch, mypid, (unsigned long long)arena, strict);
        vprint(b);
    }
    for (u64 i = 0; i < batch; i++) {
        if (i % 100 == 0)
            arena_reset();
        u64 nr, a[6];
        int use_clone;
        for (;;) {
            const char *sig = NULL;
            u64 r = below(1000);
            if (r < 760) {
                const struct sc *e = &velox_calls[below(NELEM(velox_calls))];
                nr = e->nr, sig = e->sig;
            } else if (r < 870) {
                const struct sc *e = &other_calls[below(NELEM(other_calls))];
                nr = e->nr, sig = e->sig;
            } else if (r < 970) {
                nr = below(600);
                const struct sc *e = find_sc(nr);
                sig = e && chance(500) ? e->sig : NULL;
            } else {
                static const u64 huge[] = {1024, 4096, 1ULL << 16, 1ULL << 31, 0x7fffffff, 0xffffffff, ~0ULL,
                                           1ULL << 63, (1ULL << 32) | SYS_getpid, (1ULL << 63) | SYS_getpid,
                                           0x100000000ULL | 500};
                nr = chance(500) ? PICK(huge) : (rnd() << 16) | PICK(((u64[]){SYS_getpid, 500, 511, 0xffff}));
            }
            int full = !sig || chance(150);
            size_t ns = sig ? strlen(sig) : 0;
            for (int k = 0; k < 6; k++) {
                if (full)
                    a[k] = gen_arg('x');
                else if ((size_t)k < ns)
                    a[k] = gen_arg(sig[k]);
                else
                    a[k] = chance(500) ? 0 : rnd();
                if (!full && chance(500))
                    good(nr, k, &a[k]);
            }
            if (sanitize(nr, a, &use_clone))
                break;
        }
        struct rec *rc = &sh->ring[i % RING];
        rc->idx = i;
        rc->nr = nr;
        memcpy(rc->a, a, sizeof rc->a);
        rc->ret = (i64)0xdeadbeefdeadULL;
        sh->flags |= pre_flags;
        sh->started = i + 1;
        sh->hits[(nr < 1023 ? nr : 1023) / 64] |= 1ULL << ((nr < 1023 ? nr : 1023) % 64);
        if (verbose_fd >= 0) {
            int k = snprintf(b, sizeof b, "vfuzz: [%llu] ", (unsigned long long)i);
            k += fmt_call(b + k, sizeof b - k - 2, nr, a, 0, 0);
            b[k] = '\n', b[k + 1] = 0;
            vprint(b);
        }
        if (verbose_fd >= 0) {
            /* show the strings behind path arguments */
            const struct sc *e = find_sc(nr);
            for (int k = 0; e && k < 6 && e->sig[k]; k++)
                if (e->sig[k] == 'P' && in_rw(a[k], 1)) {
                    u64 n = RW_END - a[k] < 80 ? RW_END - a[k] : 80;
                    char sb[100];
                    memcpy(sb, (void *)a[k], n);
                    sb[n] = 0;
                    snprintf(b, sizeof b, "vfuzz:   arg%d = \"%s\"\n", k, sb);
                    vprint(b);
                }
        }
        i64 ret = use_clone ? rawclone(nr, a[0], a[1], a[2], a[3], a[4], a[5])
                            : rawsys(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        rc->ret = ret;
        if (verbose_fd >= 0) {
            snprintf(b, sizeof b, "vfuzz:   = %lld\n", (long long)ret);
            vprint(b);
        }
        post(i, nr, a, ret);
        sh->calls = i + 1;
        if (touches_arena(nr, a))
            arena_reset(); /* our own writes into the read-write pages must not fault */
    }
    sh->flags |= F_DONE;
    child_exit(0);
}

/* ---------------------------------------------------------------- parent */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int failures;

static void print_ring(const struct shared *s, int n)
{
    u64 done = s->started;
    u64 first = done > (u64)n ? done - n : 0;
    char b[300];
    for (u64 i = first; i < done; i++) {
        const struct rec *r = &s->ring[i % RING];
        if (r->idx != i)
            continue;
        int pending = i + 1 == done && s->calls < done;
        fmt_call(b, sizeof b, r->nr, r->a, r->ret, !pending);
        printf("vfuzz:   #%llu %s%s\n", (unsigned long long)i, b, pending ? "  <- in progress" : "");
    }
}

static void child_fail(int idx, const struct shared *s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void child_fail(int idx, const struct shared *s, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    failures++;
    printf("FAIL vfuzz child %d subseed=%#llx: %s (after %llu calls)\n", idx, (unsigned long long)s->subseed, msg,
           (unsigned long long)s->calls);
    print_ring(s, 8);
    char xs[200] = "";
    for (int i = 0, k = 0; i < n_exclude && k < 180; i++)
        k += snprintf(xs + k, sizeof xs - k, "%s%llu", i ? "," : " -X ", (unsigned long long)opt_exclude[i]);
    char bs[40] = "", ps[40] = "";
    if (opt_batch)
        snprintf(bs, sizeof bs, " -b %ld", opt_batch);
    if (opt_block_pm != 10 && !opt_strict)
        snprintf(ps, sizeof ps, " -p %d", opt_block_pm);
    printf("vfuzz:   replay: vfuzz -s %llu -k %d%s%s%s%s%s -v\n", (unsigned long long)opt_seed, idx,
           opt_strict ? " -B" : "", opt_console ? " -C" : "", bs, ps, xs);
}

static void usage(void)
{
    printf("usage: vfuzz [-s SEED] [-n CALLS] [-t SECONDS] [-d DEADLINE_MS] [-b BATCH] [-k CHILD] [-x SUBSEED]\n"
           "             [-v] [-B] [-p PERMILLE] [-C] [-L] [-X NR,NR...]\n");
}

int main(int argc, char **argv)
{
    t_init();
    int seed_given = 0, linux_ok = 0;
    int o;
    while ((o = getopt(argc, argv, "s:n:t:d:b:k:x:vBp:CLRX:h")) != -1) {
        switch (o) {
        case 's': opt_seed = strtoull(optarg, NULL, 0); seed_given = 1; break;
        case 'n': opt_calls = strtoull(optarg, NULL, 0); break;
        case 't': opt_secs = strtol(optarg, NULL, 0); break;
        case 'd': opt_deadline = strtol(optarg, NULL, 0); break;
        case 'b': opt_batch = strtol(optarg, NULL, 0); break;
        case 'k': opt_only = strtol(optarg, NULL, 0); break;
        case 'x': opt_subseed = strtoull(optarg, NULL, 0); opt_subseed_given = 1; break;
        case 'v': opt_verbose = 1; break;
        case 'B': opt_strict = 1; break;
        case 'p': opt_block_pm = (int)strtol(optarg, NULL, 0); break;
        case 'C': opt_console = 1; break;
        case 'L': linux_ok = 1; break;
        case 'R': opt_root = 1; break;
        case 'X':
            for (char *t = strtok(optarg, ","); t && n_exclude < (int)NELEM(opt_exclude); t = strtok(NULL, ","))
                opt_exclude[n_exclude++] = strtoull(t, NULL, 0);
            break;
        default: usage(); return 2;
        }
    }
    struct utsname u;
    if (!linux_ok && (uname(&u) != 0 || !strstr(u.release, "velox"))) {
        printf("vfuzz: not Velox (uname release '%s'): refusing to fuzz a real kernel without -L\n", u.release);
        return 2;
    }
    if (!seed_given) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        opt_seed = mix((u64)ts.tv_nsec ^ ((u64)ts.tv_sec << 20) ^ (u64)getpid());
        if (getrandom(&opt_seed, sizeof opt_seed, 0) != sizeof opt_seed) {
        }
    }
    if (opt_secs < 0)
        opt_secs = opt_calls ? 0 : 30;
    harness_pid = getpid();
    long r = rawsys(SYS_kill, harness_pid, 0, 0, 0, 0, 0);
    have_kill = r != -ENOSYS;
    if (!have_kill)
        opt_strict = 1;
    strict = opt_strict;
    if (opt_console && !have_kill) {
        printf("vfuzz: -C needs kill(): ignored\n");
        opt_console = 0;
    }
    for (int i = 0; i < n_exclude; i++)
        printf("vfuzz: excluded: %s(%llu)\n", nrname(opt_exclude[i]), (unsigned long long)opt_exclude[i]);
    printf("vfuzz: seed=%llu calls=%llu seconds=%ld deadline=%ldms batch=%s kill=%s strict=%d block_pm=%d\n",
           (unsigned long long)opt_seed, (unsigned long long)opt_calls, opt_secs, opt_deadline,
           opt_batch ? "fixed" : "200..2000", have_kill ? "yes" : "ENOSYS", strict, strict ? 0 : opt_block_pm);
    long mem_before = memfree_kb();

    u64 total = 0, hits[16] = {0}, nonenosys[8] = {0};
    long children = 0, killed = 0, early = 0, crashed = 0, sigpiped = 0, selfsig = 0, hung = 0, strays = 0,
         resource = 0, anomalies = 0, compat = 0, compat_lines = 0;
    double t0 = now(), last_progress = t0;
    for (long idx = opt_only >= 0 ? opt_only : 0;; idx++) {
        if (opt_only >= 0 || opt_subseed_given) {
            if (children >= 1)
                break;
        } else {
            if (opt_calls && total >= opt_calls)
                break;
            if (opt_secs && now() - t0 >= opt_secs)
                break;
        }
        struct shared *s = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (s == MAP_FAILED) {
            printf("FAIL vfuzz: mmap of the report page: %s\n", strerror(errno));
            failures++;
            break;
        }
        memset(s, 0, sizeof *s);
        s->magic = s->magic2 = MAGIC;
        u64 sub = opt_subseed_given ? opt_subseed : child_seed(opt_seed, idx);
        s->subseed = sub;
        sh = s;
        long pid = fork();
        if (pid < 0) {
            printf("vfuzz: fork failed: %s; retrying\n", strerror(errno));
            munmap(s, PG);
            struct timespec ts = {0, 50000000};
            nanosleep(&ts, NULL);
            idx--;
            continue;
        }
        if (pid == 0)
            child_main(sub, (int)idx);
        children++;
        double start = now(), kill_at = 0;
        int st = 0, done = 0, sent_kill = 0;
        for (long polls = 0;; polls++) {
            long w = wait4(pid, &st, WNOHANG, NULL);
            if (w == pid) {
                done = 1;
                break;
            }
            if (w < 0 && errno != EINTR) {
                printf("FAIL vfuzz: wait4(%ld): %s\n", pid, strerror(errno));
                failures++;
                break;
            }
            double t = now();
            if (!sent_kill && (t - start) * 1000 >= opt_deadline) {
                if (!have_kill) {
                    child_fail((int)idx, s, "still running after %ld ms in strict mode (kill unavailable: abandoned)",
                               opt_deadline);
                    hung++;
                    break;
                }
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
                sent_kill = 1;
                kill_at = t;
            } else if (sent_kill && t - kill_at > 10) {
                child_fail((int)idx, s, "SIGKILL did not end it within 10 s");
                hung++;
                break;
            }
            struct timespec ts = {0, polls < 20 ? 2000000 : 10000000};
            nanosleep(&ts, NULL);
        }
        /* tasks created with CLONE_PARENT are ours to reap */
        while (wait4(-1, NULL, WNOHANG | __WALL, NULL) > 0)
            strays++;
        if (!opt_root) {
            char dir[64];
            snprintf(dir, sizeof dir, "/tmp/vfuzz.%ld", pid);
            nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        }
        if (done) {
            u64 f = s->flags;
            u64 last = s->started ? s->ring[(s->started - 1) % RING].nr : ~0ULL;
            if (s->magic != MAGIC || s->magic2 != MAGIC)
                child_fail((int)idx, s, "report page corrupted");
            if (f & F_ANOMALY) {
                anomalies += s->anomalies;
                child_fail((int)idx, s, "%llu inconsistencies, first: %s", (unsigned long long)s->anomalies,
                           s->anomaly);
            }
            if (s->compat) {
                compat += s->compat;
                if (compat_lines++ < 3)
                    printf("vfuzz: note: child %ld subseed=%#llx: %s\n", idx, (unsigned long long)sub, s->compat_msg);
            }
            if (WIFEXITED(st)) {
                int code = WEXITSTATUS(st);
                if ((f & F_DONE) && code == 0)
                    ;
                else if (f & (F_EXIT | F_EXEC))
                    early++;
                else if ((f & F_RESOURCE) && code == 97)
                    resource++;
                else if (s->calls < s->started && (last == SYS_execve || last == SYS_execveat))
                    child_fail((int)idx, s, "execve of a path that is not a program replaced it (exit status %d)", code);
                else
                    child_fail((int)idx, s, "exited with status %d without finishing or calling exit/execve", code);
            } else if (WIFSIGNALED(st)) {
                int sig = WTERMSIG(st);
                if (sig == SIGKILL && sent_kill && strict) {
                    killed++;
                    child_fail((int)idx, s, "still in a call after %ld ms in strict mode, where no call should block "
                               "(killed)", opt_deadline);
                } else if (sig == SIGKILL && sent_kill) {
                    killed++;
                    printf("vfuzz: child %ld subseed=%#llx killed after %ld ms, %llu calls; blocked in:\n", idx,
                           (unsigned long long)sub, opt_deadline, (unsigned long long)s->calls);
                    print_ring(s, 1);
                } else if (f & F_SELFSIG) {
                    selfsig++;
                } else if (sig == SIGPIPE && is_writer(last)) {
                    sigpiped++;
                } else if ((sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGSYS) && (f & F_MAYCRASH)) {
                    crashed++;
                } else {
                    child_fail((int)idx, s, "killed by signal %d (%s), which none of its calls explains", sig,
                               strsignal(sig));
                }
            } else {
                child_fail((int)idx, s, "wait status %#x", st);
            }
            total += s->calls;
            for (int i = 0; i < 16; i++)
                hits[i] |= s->hits[i];
            for (int i = 0; i < 8; i++)
                nonenosys[i] |= s->nonenosys[i];
            munmap(s, PG);
        } else {
            total += s->calls;
            for (int i = 0; i < 16; i++)
                hits[i] |= s->hits[i];
            /* abandoned: its report page stays mapped (it may still write to it) */
        }
        if (now() - last_progress >= 10) {
            last_progress = now();
            printf("vfuzz: progress t=%.0fs calls=%llu children=%ld killed=%ld\n", last_progress - t0,
                   (unsigned long long)total, children, killed);
        }
    }
    /* let the kernel finish tearing the last child down */
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
    while (wait4(-1, NULL, WNOHANG | __WALL, NULL) > 0)
        strays++;
    long mem_after = memfree_kb();

    int distinct = 0;
    for (int i = 0; i < 16; i++)
        distinct += __builtin_popcountll(hits[i]);
    char extra[1024];
    int k = 0;
    extra[0] = 0;
    for (u64 nr = 0; nr < 512; nr++)
        if ((nonenosys[nr / 64] >> (nr % 64) & 1) && !is_velox_nr(nr) && k < (int)sizeof extra - 32)
            k += snprintf(extra + k, sizeof extra - k, " %s(%llu)", nrname(nr), (unsigned long long)nr);
    if (k)
        printf("vfuzz: note: numbers that did not return ENOSYS but are not in vfuzz's Velox list:%s\n", extra);
    printf("vfuzz: early_exits=%ld crashes_explained=%ld sigpipe=%ld self_signalled=%ld resource=%ld hung=%ld "
           "strays=%ld inconsistencies=%ld linux_differences=%ld time=%.1fs\n",
           early, crashed, sigpiped, selfsig, resource, hung, strays, anomalies, compat, now() - t0);
    printf("vfuzz: calls=%llu distinct=%d children=%ld killed=%ld seed=%llu\n", (unsigned long long)total, distinct,
           children, killed, (unsigned long long)opt_seed);
    printf("vfuzz: memfree_before=%ld memfree_after=%ld (kB)\n", mem_before, mem_after);
    if (failures) {
        printf("FAIL vfuzz: %d failures (seed %llu)\n", failures, (unsigned long long)opt_seed);
        return 1;
    }
    printf("PASS vfuzz\n");
    return 0;
}
