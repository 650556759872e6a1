/* signal MODE: Linux signals (issue 16), validated on Linux (scripts/linux-run.sh) at 1 and 4
 * harts. One mode per line of tests/user-tests.txt; the expected ending is part of the test.
 * Every wait has a time limit: a kernel bug gives a FAIL line (or the wrong ending), not a hang.
 *
 *   basic     handler runs for raise/kill/tgkill before the call returns; sigaction round trip;
 *             the frame: a0/a1/a2 = sig/&info/&uc, sp 16-aligned and == &info (Linux's
 *             rt_sigframe {siginfo; ucontext}), uc == info + 128, ra in the vDSO
 *             (AT_SYSINFO_EHDR) at "li a7,139; ecall" (what libgcc's unwinder matches),
 *             uc_mcontext.__gregs[REG_PC] = the pc after the ecall, gregs = the interrupted
 *             registers, uc_sigmask = the mask before, mask in the handler = before + sig +
 *             sa_mask, uc_stack = SS_DISABLE, uc_flags/uc_link 0; SIG_IGN and default-ignore
 *             signals do nothing                                                     status=0
 *   regs      every register survives a handler that clobbers all x (but sp/ra/gp/tp) and
 *             f registers and fcsr: (a) signal at a raw tgkill ecall (a0 = result 0),
 *             (b) signal from another thread while spinning in user mode (interrupt path);
 *             uc_mcontext holds those values (gregs and __fpregs.__d)            status=0
 *   ucontext  a handler changes the ucontext: pc (skips an instruction), s1, a0 (the syscall
 *             result), fa0, uc_sigmask (SIGKILL/SIGSTOP in it are dropped)       status=0
 *   info      siginfo: SI_USER (kill), SI_TKILL (tgkill, tkill, raise), SI_QUEUE + si_value
 *             (sigqueue, rt_sigqueueinfo, rt_tgsigqueueinfo: the caller's info passes through,
 *             also si_code 0 to itself), si_pid/si_uid, a signal from a child     status=0
 *   chld      SIGCHLD: CLD_EXITED/CLD_KILLED + si_status/si_pid; no core dump with RLIMIT_CORE 0
 *             (CLD_KILLED); SIG_DFL keeps zombies; SIG_IGN and SA_NOCLDWAIT reap (ECHILD),
 *             SA_NOCLDWAIT still sends SIGCHLD                                    status=0
 *   fault     recoverable faults (siglongjmp): SEGV_MAPERR, SEGV_ACCERR (write to read-only,
 *             read of PROT_NONE, write to text, jump to a no-exec page), SIGBUS BUS_ADRALN
 *             (misaligned AMO), SIGILL ILL_ILLOPC, SIGTRAP TRAP_BRKPT (ebreak), exact si_addr
 *             and pc; the mask is restored; a handler that mprotects and returns retries the
 *             access                                                              status=0
 *   fatal blocked|ignored|nested  a fault with SIGSEGV blocked / ignored / inside the SIGSEGV
 *             handler kills the process                                         signal=11
 *   altstack  sigaltstack: EINVAL/ENOMEM/EPERM, SS_ONSTACK accepted as input, SS_DISABLE,
 *             SS_AUTODISARM, SS_ONSTACK in the handler, uc_stack, sp on the alternate stack,
 *             SA_ONSTACK missing -> normal stack, nested handler; overflow of a thread's stack
 *             (guard page: SEGV_ACCERR) handled on the thread's alternate stack     status=0
 *   fork      the child inherits handlers, mask, altstack; pending signals are not inherited
 *                                                                                  status=0
 *   exec      execve: handlers -> SIG_DFL (flags and sa_mask cleared), SIG_IGN kept, mask and
 *             pending (with the queued si_value) kept, altstack cleared (the new image is
 *             readlink("/proc/self/exe") with argv[1] "execchild", which checks)    status=0
 *   queue     RT signals queue in order with their values; standard ones coalesce (the first
 *             info is kept); lower numbers first (sigwaitinfo, and handlers with sa_mask);
 *             several unblocked pending signals all get frames before user code runs (Linux:
 *             the last one set up, the highest, runs first); RLIMIT_SIGPENDING -> EAGAIN
 *                                                                                  status=0
 *   wait      sigpending (blocked+ignored stays pending; SIG_IGN discards pending),
 *             sigsuspend, sigtimedwait (timeout: EAGAIN, never early), sigwaitinfo, sigwait,
 *             pause                                                               status=0
 *   eintr     EINTR vs SA_RESTART: pipe read/write, wait4, futex wait restart; futex wait with
 *             a timeout, nanosleep (rem), poll, pause, sigsuspend never restart (signals from
 *             a second thread; a read interrupted by SIGALRM of an interval timer and by a
 *             signal from a child process)                                         status=0
 *   stop      SIGSTOP/SIGTSTP/SIGCONT: WUNTRACED/WCONTINUED, CLD_STOPPED/CONTINUED/EXITED,
 *             SA_NOCLDSTOP, read and nanosleep continue transparently, SIGCONT handler,
 *             SIGKILL of a stopped child, SIGTSTP ignored in an orphaned process group, all
 *             threads of a process stop                                          status=0
 *   pgrp      kill(0, sig), kill(-pgrp, sig), ESRCH for an empty group            status=0
 *   killall   kill(-1, sig) reaches every other process (not the caller)         status=0
 *   threads   tgkill to threads blocked in futex wait, pipe read, poll (EINTR) and spinning
 *             in user mode: handler in that thread, promptly; a process signal goes to the
 *             one thread that does not block it; masks are per thread             status=0
 *   cancel    pthread_cancel of threads in read (cleanup handler runs), pause, a
 *             pthread_testcancel loop, and an asynchronous cancel of a spinning thread
 *                                                                                  status=0
 *   pipe      SIGPIPE with a handler (write -> EPIPE, SI_USER from itself), blocked (stays
 *             pending), ignored                                                   status=0
 *   sigpipe   write to a pipe without reader, default action                     signal=13
 *   term      SIGTERM (default action) sent by a second thread                   signal=15
 *   sigkill   SIGKILL/SIGSTOP cannot be caught, ignored or blocked; then SIGKILL   signal=9
 *   errors    errno of bad input (EINVAL, ESRCH, EFAULT, EPERM) and Linux's check order;
 *             struct sigaction is 24 bytes on riscv64 (no sa_restorer)            status=0
 *   flags     SA_RESETHAND, SA_NODEFER, sa_mask, oact round trip, unknown sa_flags bits
 *             are cleared                                                         status=0
 *   badreturn garbage|unmapped  rt_sigreturn with a garbage frame / sp unmapped  signal=11
 */
#include "thr.h"
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/ucontext.h>
#include <sys/wait.h>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif
#define SA_UNSUPPORTED_BIT 0x00000400
#define RT(n) (SIGRTMIN + (n))
#define NS_MS 1000000LL

typedef void (*sa_fn)(int, siginfo_t *, void *);

static pid_t me;      /* getpid() */
static const char *self_path;

/* ---------------------------------------------------------------------------------------------
 * helpers */

static long sys_tgkill(pid_t tgid, pid_t tid, int sig) { return syscall(SYS_tgkill, tgid, tid, sig); }
static long sys_tkill(pid_t tid, int sig) { return syscall(SYS_tkill, tid, sig); }

/* install fn as a SA_SIGINFO handler with more flags and sa_mask = mask_sigs (0-terminated) */
static int on(int sig, sa_fn fn, int flags, const int *mask_sigs)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = flags | SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    for (const int *m = mask_sigs; m && *m; m++)
        sigaddset(&sa.sa_mask, *m);
    return sigaction(sig, &sa, NULL);
}

/* SIG_DFL, SIG_IGN or a plain handler, no flags */
static int disp(int sig, void (*h)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

static sigset_t set_of(const int *sigs)
{
    sigset_t s;
    sigemptyset(&s);
    for (; sigs && *sigs; sigs++)
        sigaddset(&s, *sigs);
    return s;
}

static void block(int sig) { sigset_t s = set_of((int[]){sig, 0}); sigprocmask(SIG_BLOCK, &s, NULL); }
static void unblock(int sig) { sigset_t s = set_of((int[]){sig, 0}); sigprocmask(SIG_UNBLOCK, &s, NULL); }
static void mask_none(void) { sigset_t s; sigemptyset(&s); sigprocmask(SIG_SETMASK, &s, NULL); }

/* the kernel's 64-bit view of a sigset */
static uint64_t bits(const sigset_t *s) { uint64_t b; memcpy(&b, s, 8); return b; }
static uint64_t cur_mask(void) { sigset_t s; sigprocmask(SIG_BLOCK, NULL, &s); return bits(&s); }
static uint64_t pending_mask(void) { sigset_t s; sigpending(&s); return bits(&s); }
static uint64_t bit(int sig) { return 1ULL << (sig - 1); }

/* rt_sigtimedwait without glibc's wrapper, which turns si_code SI_TKILL into SI_USER */
static int sys_sigtimedwait(const sigset_t *set, siginfo_t *si, const struct timespec *ts)
{
    return syscall(SYS_rt_sigtimedwait, set, si, ts, 8);
}

/* sigtimedwait for sig with a limit in ms; returns the signal or -1 */
static int wait_sig(int sig, siginfo_t *si, long ms)
{
    sigset_t s = set_of((int[]){sig, 0});
    struct timespec ts = ns_to_ts(ms * NS_MS);
    siginfo_t dummy;
    int r;
    do
        r = sys_sigtimedwait(&s, si ? si : &dummy, &ts);
    while (r < 0 && errno == EINTR);
    return r;
}

/* throw away pending instances of sig (it must be blocked) */
static void drain(int sig)
{
    while (wait_sig(sig, NULL, 0) == sig)
        ;
}

/* waitpid with a limit: polls WNOHANG every ms; on timeout kills the child and returns -1 */
static pid_t twait(pid_t pid, int *st, int flags, long ms)
{
    int64_t end = mono_ns() + ms * NS_MS;
    for (;;) {
        pid_t r = waitpid(pid, st, flags | WNOHANG);
        if (r != 0)
            return r;
        if (mono_ns() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, st, 0);
            return -1;
        }
        sleep_ms(1);
    }
}

static const char *wstr(int st)
{
    static char b[64];
    if (WIFEXITED(st))
        snprintf(b, sizeof b, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(b, sizeof b, "signal %d%s", WTERMSIG(st), WCOREDUMP(st) ? " (core)" : "");
    else if (WIFSTOPPED(st))
        snprintf(b, sizeof b, "stopped by %d", WSTOPSIG(st));
    else if (WIFCONTINUED(st))
        snprintf(b, sizeof b, "continued");
    else
        snprintf(b, sizeof b, "status 0x%x", st);
    return b;
}

/* a thread that sends sig to tid every interval_ms, up to max times or until *stop, then calls
 * finish(arg) (which completes what the target waits for, so a missing EINTR is a FAIL, not a
 * hang) */
struct kicker {
    pid_t tid;
    int sig, interval_ms, max;
    volatile int *stop;
    void (*finish)(void *);
    void *arg;
    volatile int sent;
    pthread_t th;
};

static void *kicker_fn(void *p)
{
    struct kicker *k = p;
    for (int i = 0; i < k->max; i++) {
        sleep_ms(k->interval_ms);
        if (k->stop && *k->stop)
            break;
        sys_tgkill(me, k->tid, k->sig);
        k->sent++;
    }
    if (k->finish)
        k->finish(k->arg);
    return NULL;
}

static void kick_start(struct kicker *k)
{
    /* the kicker blocks everything: signals for the process never land on it */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_create(&k->th, NULL, kicker_fn, k);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void kick_join(struct kicker *k) { tjoin(k->th, NULL, 5000); }

/* the vDSO's address range from its ELF program headers; 0 if there is none */
static int vdso_range(uintptr_t *lo, uintptr_t *hi)
{
    uintptr_t base = getauxval(AT_SYSINFO_EHDR);
    if (!base)
        return 0;
    const Elf64_Ehdr *eh = (const void *)base;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
        return 0;
    const Elf64_Phdr *ph = (const void *)(base + eh->e_phoff);
    uintptr_t min = UINTPTR_MAX, max = 0;
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD) {
            if (ph[i].p_vaddr < min)
                min = ph[i].p_vaddr;
            if (ph[i].p_vaddr + ph[i].p_memsz > max)
                max = ph[i].p_vaddr + ph[i].p_memsz;
        }
    if (max <= min)
        return 0;
    *lo = base;
    *hi = base + (max - min);
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * assembly helpers (4-byte instructions so pcs are exact) */

struct regblk {             /* sig_regs_run / sig_regs_spin */
    uint64_t tgid, tid, sig; /* 0, 8, 16 */
    uint64_t x[32];          /* 24: x0..x31 after the signal */
    uint64_t fcsr;           /* 280 */
    uint64_t f[32];          /* 288 */
    uint64_t sp_before;      /* 544 */
    uint64_t flagp;          /* 552: spin: address of the 32-bit flag */
};

#define XK(i) (0x5A00000000000000ULL + (uint64_t)(i) * 0x0001000100010001ULL)
#define FK(i) (0x4010000000000000ULL + (uint64_t)(i) * 0x0000000100000003ULL)
#define FCSR_K 0x35 /* frm = 1 (RTZ), fflags = NV|OF|NX */
#define XK_S "0x5A00000000000000 + \\r * 0x0001000100010001"
#define FK_S "0x4010000000000000 + \\r * 0x0000000100000003"

#define SAVE_CALLEE                                                                           \
    "  addi sp, sp, -752\n"                                                                   \
    "  sd ra, 520(sp)\n"                                                                      \
    ".irp r,0,1,2,3,4,5,6,7,8,9,10,11\n  sd s\\r, 528+\\r*8(sp)\n  fsd fs\\r, 624+\\r*8(sp)\n.endr\n" \
    "  frcsr t0\n  sd t0, 720(sp)\n  sd a0, 728(sp)\n  sd sp, 544(a0)\n"                      \
    ".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n" \
    "  li t0, " FK_S "\n  fmv.d.x f\\r, t0\n.endr\n"                                         \
    "  li t0, 0x35\n  fscsr t0\n"

#define SNAPSHOT_RESTORE                                                                      \
    ".irp r,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n" \
    "  sd x\\r, \\r*8(sp)\n.endr\n"                                                           \
    "  sd sp, 16(sp)\n  frcsr t0\n  sd t0, 256(sp)\n"                                         \
    ".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n" \
    "  fsd f\\r, 264+\\r*8(sp)\n.endr\n"                                                      \
    "  ld t0, 728(sp)\n  mv t1, sp\n  addi t2, t0, 24\n  li t3, 65\n"                          \
    "1:ld t4, 0(t1)\n  sd t4, 0(t2)\n  addi t1, t1, 8\n  addi t2, t2, 8\n  addi t3, t3, -1\n"   \
    "  bnez t3, 1b\n"                                                                         \
    "  ld ra, 520(sp)\n"                                                                      \
    ".irp r,0,1,2,3,4,5,6,7,8,9,10,11\n  ld s\\r, 528+\\r*8(sp)\n  fld fs\\r, 624+\\r*8(sp)\n.endr\n" \
    "  ld t0, 720(sp)\n  fscsr t0\n  addi sp, sp, 752\n  ret\n"

__asm__(".text\n"
        ".option push\n"
        ".option norvc\n"
        /* long sig_tgkill_asm(tgid, tid, sig): raw tgkill; the pc after its ecall is
         * sig_after_ecall */
        ".globl sig_tgkill_asm\n"
        "sig_tgkill_asm:\n"
        "  li a7, 131\n"
        "  ecall\n"
        ".globl sig_after_ecall\n"
        "sig_after_ecall:\n"
        "  ret\n"
        /* faulting accesses at known pcs */
        ".globl fault_load\nfault_load:\n  ld a0, 0(a0)\n  ret\n"
        ".globl fault_store\nfault_store:\n  sd a1, 0(a0)\n  ret\n"
        ".globl fault_amo\nfault_amo:\n  amoadd.w a0, a1, (a0)\n  ret\n"
        ".globl fault_ill\nfault_ill:\n  .4byte 0\n  ret\n"
        ".globl fault_ebreak\nfault_ebreak:\n  ebreak\n  ret\n"
        /* handler entry that records sp, ra, a0-a2, then runs probe_handler */
        ".globl probe_entry\n"
        "probe_entry:\n"
        "  lla t0, probe_regs\n"
        "  sd sp, 0(t0)\n  sd ra, 8(t0)\n  sd a0, 16(t0)\n  sd a1, 24(t0)\n  sd a2, 32(t0)\n"
        "  tail probe_handler\n"
        /* void sig_regs_run(struct regblk *): all registers known, then a raw tgkill */
        ".globl sig_regs_run\n"
        "sig_regs_run:\n" SAVE_CALLEE
        "  ld a1, 8(a0)\n  ld a2, 16(a0)\n  ld a0, 0(a0)\n  li a7, 131\n"
        ".irp r,1,5,6,7,8,9,13,14,15,16,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
        "  li x\\r, " XK_S "\n.endr\n"
        "  ecall\n"
        ".globl sig_regs_after\n"
        "sig_regs_after:\n" SNAPSHOT_RESTORE
        /* void sig_regs_spin(struct regblk *): all registers known but t5/t6, spin until the
         * 32-bit word at blk->flagp is non-zero */
        ".globl sig_regs_spin\n"
        "sig_regs_spin:\n" SAVE_CALLEE
        "  ld t6, 552(a0)\n"
        ".irp r,1,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29\n"
        "  li x\\r, " XK_S "\n.endr\n"
        ".globl sig_spin_loop\n"
        "sig_spin_loop:\n"
        "  lw t5, 0(t6)\n"
        "  beqz t5, sig_spin_loop\n"
        ".globl sig_spin_end\n"
        "sig_spin_end:\n" SNAPSHOT_RESTORE
        /* handler: record entry sp/ra, run regs_inspect, then clobber every register but
         * sp/ra/gp/tp, f0-f31 and fcsr, and return */
        ".globl sig_regs_handler\n"
        "sig_regs_handler:\n"
        "  lla t0, regs_hsp\n  sd sp, 0(t0)\n  sd ra, 8(t0)\n"
        "  addi sp, sp, -32\n  sd ra, 0(sp)\n"
        "  call regs_inspect\n"
        "  ld ra, 0(sp)\n  addi sp, sp, 32\n"
        ".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
        "  li t0, 0xBAD0000000000000 + \\r\n  fmv.d.x f\\r, t0\n.endr\n"
        "  li t0, 0x9f\n  fscsr t0\n"
        ".irp r,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
        "  li x\\r, 0xDEAD000000000000 + \\r\n.endr\n"
        "  ret\n"
        /* rt_sigreturn with sp = a0 */
        ".globl sig_bad_return\n"
        "sig_bad_return:\n  mv sp, a0\n  li a7, 139\n  ecall\n  .4byte 0\n"
        ".option pop\n");

extern long sig_tgkill_asm(long tgid, long tid, long sig);
extern char sig_after_ecall[], sig_regs_after[], sig_spin_loop[], sig_spin_end[];
extern long fault_load(const void *p);
extern void fault_store(void *p, long v);
extern long fault_amo(void *p, long v);
extern void fault_ill(void);
extern void fault_ebreak(void);
extern void probe_entry(int, siginfo_t *, void *);
extern void sig_regs_run(struct regblk *);
extern void sig_regs_spin(struct regblk *);
extern void sig_regs_handler(int, siginfo_t *, void *);
extern void sig_bad_return(void *sp) __attribute__((noreturn));

/* ---------------------------------------------------------------------------------------------
 * basic */

uint64_t probe_regs[5]; /* sp, ra, a0, a1, a2 at handler entry (probe_entry) */
static volatile int probe_n;
static volatile pid_t probe_tid;
static siginfo_t probe_si;
static ucontext_t probe_uc;
static uint64_t probe_mask_in; /* the mask inside the handler */

void probe_handler(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    probe_n++;
    probe_tid = gettid();
    probe_si = *si;
    probe_uc = *(ucontext_t *)ucv;
    probe_mask_in = cur_mask();
}

static volatile int cnt[65];
static void count_handler(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    cnt[sig]++;
}

static int mode_basic(void)
{
    /* raise, kill, tgkill, tkill: the handler has run when the call returns */
    on(SIGUSR1, count_handler, 0, NULL);
    int n0 = cnt[SIGUSR1];
    raise(SIGUSR1);
    check(cnt[SIGUSR1] == n0 + 1, "basic_raise", "handler ran %d times", cnt[SIGUSR1] - n0);
    kill(me, SIGUSR1);
    check(cnt[SIGUSR1] == n0 + 2, "basic_kill_sync",
          "handler ran %d times before kill(self) returned (want 1)", cnt[SIGUSR1] - n0 - 1);
    sys_tgkill(me, gettid(), SIGUSR1);
    sys_tkill(gettid(), SIGUSR1);
    check(cnt[SIGUSR1] == n0 + 4, "basic_tgkill_tkill_sync", "handler ran %d of 2 times",
          cnt[SIGUSR1] - n0 - 2);

    /* sigaction round trip */
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = count_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGWINCH);
    sigaddset(&sa.sa_mask, RT(3));
    sigaction(SIGUSR2, &sa, NULL);
    memset(&old, 0, sizeof old);
    sigaction(SIGUSR2, NULL, &old);
    check(old.sa_sigaction == count_handler && old.sa_flags == (SA_SIGINFO | SA_RESTART) &&
              bits(&old.sa_mask) == (bit(SIGWINCH) | bit(RT(3))),
          "basic_sigaction_query", "handler %p flags 0x%x mask 0x%llx", (void *)old.sa_sigaction,
          old.sa_flags, (unsigned long long)bits(&old.sa_mask));

    /* the frame, seen from a handler entered through probe_entry */
    sa.sa_sigaction = probe_entry;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGWINCH);
    sigaction(SIGUSR1, &sa, NULL);
    block(SIGUSR2);
    uint64_t mask_before = cur_mask();
    probe_n = 0;
    long r = sig_tgkill_asm(me, gettid(), SIGUSR1);
    uint64_t mask_after = cur_mask();
    check(probe_n == 1 && r == 0, "basic_frame_ran", "handler ran %d times, tgkill returned %ld",
          probe_n, r);
    uint64_t sp = probe_regs[0], ra = probe_regs[1];
    check(probe_regs[2] == SIGUSR1, "basic_frame_a0_sig", "a0 = %llu", (unsigned long long)probe_regs[2]);
    check(sp % 16 == 0, "basic_frame_sp_aligned", "sp = 0x%llx", (unsigned long long)sp);
    check(probe_regs[3] == sp && probe_regs[4] == sp + sizeof(siginfo_t), "basic_frame_layout",
          "sp 0x%llx, a1 (info) 0x%llx, a2 (uc) 0x%llx: want info == sp, uc == sp + %zu",
          (unsigned long long)sp, (unsigned long long)probe_regs[3],
          (unsigned long long)probe_regs[4], sizeof(siginfo_t));
    uintptr_t vlo = 0, vhi = 0;
    int have_vdso = vdso_range(&vlo, &vhi);
    check(have_vdso && ra >= vlo && ra < vhi, "basic_frame_ra_vdso",
          "ra 0x%llx, vDSO %s [0x%lx, 0x%lx)", (unsigned long long)ra,
          have_vdso ? "at" : "missing (AT_SYSINFO_EHDR)", (unsigned long)vlo, (unsigned long)vhi);
    if (have_vdso && ra >= vlo && ra + 8 <= vhi) {
        const uint32_t *ins = (const uint32_t *)ra;
        check(ins[0] == 0x08b00893 && ins[1] == 0x00000073, "basic_frame_trampoline",
              "code at ra: %08x %08x, want 08b00893 00000073 (li a7,139; ecall)", ins[0], ins[1]);
    } else {
        fail("basic_frame_trampoline", "ra is not in the vDSO");
    }
    const greg_t *g = probe_uc.uc_mcontext.__gregs;
    check(g[REG_PC] == (uintptr_t)sig_after_ecall, "basic_uc_pc", "gregs[REG_PC] 0x%lx, want 0x%lx",
          (unsigned long)g[REG_PC], (unsigned long)(uintptr_t)sig_after_ecall);
    check(g[REG_A0] == 0 && g[11] == (greg_t)gettid() && g[12] == SIGUSR1 && g[17] == 131 &&
              g[REG_SP] > sp,
          "basic_uc_gregs", "a0 %lu (want 0: the result) a1 %lu a2 %lu a7 %lu sp 0x%lx (handler "
          "sp 0x%llx must be below)", g[REG_A0], g[11], g[12], g[17], g[REG_SP], (unsigned long long)sp);
    uint64_t ucm = bits(&probe_uc.uc_sigmask);
    check(ucm == mask_before, "basic_uc_sigmask", "uc_sigmask 0x%llx, mask before 0x%llx",
          (unsigned long long)ucm, (unsigned long long)mask_before);
    check(probe_mask_in == (mask_before | bit(SIGUSR1) | bit(SIGWINCH)), "basic_mask_in_handler",
          "0x%llx, want 0x%llx (before + the signal + sa_mask)", (unsigned long long)probe_mask_in,
          (unsigned long long)(mask_before | bit(SIGUSR1) | bit(SIGWINCH)));
    check(mask_after == mask_before, "basic_mask_restored", "0x%llx after, 0x%llx before",
          (unsigned long long)mask_after, (unsigned long long)mask_before);
    check(probe_uc.uc_stack.ss_flags == SS_DISABLE && probe_uc.uc_stack.ss_sp == NULL &&
              probe_uc.uc_stack.ss_size == 0 && probe_uc.__uc_flags == 0 && probe_uc.uc_link == NULL,
          "basic_uc_stack_flags", "uc_stack {%p, %d, %zu}, uc_flags %lu, uc_link %p",
          probe_uc.uc_stack.ss_sp, probe_uc.uc_stack.ss_flags, probe_uc.uc_stack.ss_size,
          probe_uc.__uc_flags, (void *)probe_uc.uc_link);
    check(probe_si.si_signo == SIGUSR1 && probe_si.si_code == SI_TKILL && probe_si.si_pid == me &&
              probe_si.si_uid == getuid() && probe_si.si_errno == 0 && probe_tid == gettid(),
          "basic_siginfo", "signo %d code %d pid %d uid %d errno %d, in thread %d",
          probe_si.si_signo, probe_si.si_code, probe_si.si_pid, probe_si.si_uid, probe_si.si_errno,
          probe_tid);
    unblock(SIGUSR2);

    /* ignored and default-ignore signals do nothing */
    disp(SIGUSR1, SIG_IGN);
    kill(me, SIGUSR1);
    raise(SIGUSR1);
    disp(SIGUSR1, SIG_DFL);
    raise(SIGCHLD);
    raise(SIGWINCH);
    raise(SIGURG);
    raise(SIGCONT);
    pass("basic_ignored_survive");
    check(pending_mask() == 0, "basic_nothing_pending", "pending 0x%llx",
          (unsigned long long)pending_mask());
    return t_exit();
}

/* ---------------------------------------------------------------------------------------------
 * regs */

uint64_t regs_hsp[2]; /* sp, ra at sig_regs_handler's entry */
static volatile int regs_mode; /* 0: at the tgkill ecall, 1: spinning */
static volatile int regs_n, regs_interrupted_loop;
static volatile uint32_t spin_flag;
static ucontext_t regs_uc;
static struct regblk rb;

void regs_inspect(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    (void)si;
    ucontext_t *uc = ucv;
    regs_n++;
    if (regs_mode == 0) {
        regs_uc = *uc;
        return;
    }
    uintptr_t pc = uc->uc_mcontext.__gregs[REG_PC];
    if (pc >= (uintptr_t)sig_spin_loop && pc < (uintptr_t)sig_spin_end && !regs_interrupted_loop) {
        regs_uc = *uc;
        regs_interrupted_loop = 1;
        __atomic_store_n(&spin_flag, 1, __ATOMIC_RELEASE);
    }
}

static uint64_t reg_gp(void) { uint64_t v; __asm__ volatile("mv %0, gp" : "=r"(v)); return v; }
static uint64_t reg_tp(void) { uint64_t v; __asm__ volatile("mv %0, tp" : "=r"(v)); return v; }

/* compare x/f/fcsr with the known values; skip: bit mask of x registers not to compare */
static void regs_compare(const char *pfx, const uint64_t *x, const uint64_t *f, uint64_t fcsr,
                         uint32_t skip, const uint64_t *special, uint32_t special_mask)
{
    char name[64], why[512];
    int bad = 0;
    why[0] = 0;
    for (int i = 1; i < 32; i++) {
        if (skip & (1u << i))
            continue;
        uint64_t want = (special_mask & (1u << i)) ? special[i] : XK(i);
        if (x[i] != want && bad++ < 4) {
            size_t l = strlen(why);
            snprintf(why + l, sizeof why - l, "x%d=0x%llx (want 0x%llx) ", i,
                     (unsigned long long)x[i], (unsigned long long)want);
        }
    }
    snprintf(name, sizeof name, "%s_x", pfx);
    check(bad == 0, name, "%d registers differ: %s", bad, why);
    bad = 0;
    why[0] = 0;
    for (int i = 0; i < 32; i++)
        if (f[i] != FK(i) && bad++ < 4) {
            size_t l = strlen(why);
            snprintf(why + l, sizeof why - l, "f%d=0x%llx (want 0x%llx) ", i,
                     (unsigned long long)f[i], (unsigned long long)FK(i));
        }
    snprintf(name, sizeof name, "%s_f", pfx);
    check(bad == 0, name, "%d registers differ: %s", bad, why);
    snprintf(name, sizeof name, "%s_fcsr", pfx);
    check((fcsr & 0xff) == FCSR_K, name, "fcsr 0x%llx, want 0x%x", (unsigned long long)fcsr, FCSR_K);
}

static volatile int regs_main_done;

static int mode_regs(void)
{
    uint64_t gp = reg_gp(), tp = reg_tp();
    on(SIGUSR1, sig_regs_handler, 0, NULL);

    /* (a) at a raw tgkill ecall */
    memset(&rb, 0, sizeof rb);
    rb.tgid = me;
    rb.tid = gettid();
    rb.sig = SIGUSR1;
    regs_mode = 0;
    regs_n = 0;
    sig_regs_run(&rb);
    check(regs_n == 1, "regs_sync_handler_ran", "handler ran %d times", regs_n);
    uint64_t sp_special[32] = {0};
    sp_special[2] = rb.sp_before;
    sp_special[3] = gp;
    sp_special[4] = tp;
    sp_special[10] = 0; /* the tgkill result */
    sp_special[11] = rb.tid;
    sp_special[12] = SIGUSR1;
    sp_special[17] = 131;
    uint32_t special = (1u << 2) | (1u << 3) | (1u << 4) | (1u << 10) | (1u << 11) | (1u << 12) |
                       (1u << 17);
    regs_compare("regs_sync", rb.x, rb.f, rb.fcsr, 0, sp_special, special);
    check(regs_hsp[0] % 16 == 0 && regs_hsp[0] < rb.sp_before, "regs_sync_handler_sp",
          "handler sp 0x%llx (interrupted sp 0x%llx)", (unsigned long long)regs_hsp[0],
          (unsigned long long)rb.sp_before);
    /* what the handler saw in uc_mcontext */
    uint64_t ux[32];
    for (int i = 0; i < 32; i++)
        ux[i] = regs_uc.uc_mcontext.__gregs[i];
    check(ux[REG_PC] == (uintptr_t)sig_regs_after, "regs_sync_uc_pc", "gregs[REG_PC] 0x%llx, want 0x%lx",
          (unsigned long long)ux[REG_PC], (unsigned long)(uintptr_t)sig_regs_after);
    regs_compare("regs_sync_uc", ux, (const uint64_t *)regs_uc.uc_mcontext.__fpregs.__d.__f,
                 regs_uc.uc_mcontext.__fpregs.__d.__fcsr, 0, sp_special, special);

    /* (b) spinning in user mode; another thread sends the signal */
    memset(&rb, 0, sizeof rb);
    spin_flag = 0;
    rb.flagp = (uintptr_t)&spin_flag;
    regs_mode = 1;
    regs_n = 0;
    regs_interrupted_loop = 0;
    struct kicker k = {.tid = gettid(), .sig = SIGUSR1, .interval_ms = 5, .max = 400,
                       .stop = (volatile int *)&spin_flag};
    kick_start(&k);
    sig_regs_spin(&rb);
    kick_join(&k);
    check(regs_interrupted_loop, "regs_spin_interrupted", "handler ran %d times, never inside the loop",
          regs_n);
    sp_special[2] = rb.sp_before;
    special = (1u << 2) | (1u << 3) | (1u << 4);
    regs_compare("regs_spin", rb.x, rb.f, rb.fcsr, (1u << 30) | (1u << 31), sp_special, special);
    check(rb.x[31] == (uintptr_t)&spin_flag && rb.x[30] == 1, "regs_spin_t5_t6",
          "t5 0x%llx t6 0x%llx", (unsigned long long)rb.x[30], (unsigned long long)rb.x[31]);
    for (int i = 0; i < 32; i++)
        ux[i] = regs_uc.uc_mcontext.__gregs[i];
    regs_compare("regs_spin_uc", ux, (const uint64_t *)regs_uc.uc_mcontext.__fpregs.__d.__f,
                 regs_uc.uc_mcontext.__fpregs.__d.__fcsr, (1u << 30) | (1u << 31), sp_special, special);
    return t_exit();
}

/* ---------------------------------------------------------------------------------------------
 * ucontext */

static volatile int ucm_n;
static int ucm_what;
static void ucm_handler(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    (void)si;
    ucontext_t *uc = ucv;
    ucm_n++;
    switch (ucm_what) {
    case 0: /* skip the next instruction, set s1 */
        uc->uc_mcontext.__gregs[REG_PC] += 4;
        uc->uc_mcontext.__gregs[REG_S1] = 0x1234;
        break;
    case 1: /* the syscall result */
        uc->uc_mcontext.__gregs[REG_A0] = 77;
        break;
    case 2: /* fa0 = f10 */
        uc->uc_mcontext.__fpregs.__d.__f[10] = 0x4142434445464748ULL;
        break;
    case 3: /* the mask after sigreturn */
        sigaddset(&uc->uc_sigmask, SIGUSR2);
        sigaddset(&uc->uc_sigmask, SIGKILL);
        sigaddset(&uc->uc_sigmask, SIGSTOP);
        break;
    }
}

static int mode_ucontext(void)
{
    on(SIGUSR1, ucm_handler, 0, NULL);
    long tid = gettid(), s1;
    ucm_what = 0;
    {
        register long a0 __asm__("a0") = me;
        register long a1 __asm__("a1") = tid;
        register long a2 __asm__("a2") = SIGUSR1;
        register long a7 __asm__("a7") = 131;
        __asm__ volatile(".option push\n.option norvc\n"
                         "  li s1, 5\n"
                         "  ecall\n"
                         "  li s1, 1\n" /* skipped */
                         "  mv %0, s1\n"
                         ".option pop\n"
                         : "=r"(s1), "+r"(a0)
                         : "r"(a1), "r"(a2), "r"(a7)
                         : "s1", "memory");
    }
    check(ucm_n == 1 && s1 == 0x1234, "ucontext_pc_and_reg",
          "s1 = 0x%lx (1: pc change lost, 5: register change lost), handler ran %d times", s1, ucm_n);

    ucm_what = 1;
    long r = sig_tgkill_asm(me, tid, SIGUSR1);
    check(r == 77, "ucontext_a0", "tgkill returned %ld, want 77 (set by the handler)", r);

    ucm_what = 2;
    uint64_t fa0;
    {
        register long a0 __asm__("a0") = me;
        register long a1 __asm__("a1") = tid;
        register long a2 __asm__("a2") = SIGUSR1;
        register long a7 __asm__("a7") = 131;
        uint64_t k = 0x1111111111111111ULL;
        __asm__ volatile("  fmv.d.x fa0, %2\n"
                         "  ecall\n"
                         "  fmv.x.d %0, fa0\n"
                         : "=r"(fa0), "+r"(a0)
                         : "r"(k), "r"(a1), "r"(a2), "r"(a7)
                         : "fa0", "memory");
    }
    check(fa0 == 0x4142434445464748ULL, "ucontext_fpreg", "fa0 0x%llx, want 0x4142434445464748",
          (unsigned long long)fa0);

    ucm_what = 3;
    mask_none();
    raise(SIGUSR1);
    uint64_t m = cur_mask();
    check(m == bit(SIGUSR2), "ucontext_sigmask", "mask after sigreturn 0x%llx, want 0x%llx (SIGUSR2; "
          "SIGKILL/SIGSTOP dropped)", (unsigned long long)m, (unsigned long long)bit(SIGUSR2));
    mask_none();
    return t_exit();
}

/* ---------------------------------------------------------------------------------------------
 * info */

static siginfo_t last_si;
static volatile int last_n;
static void info_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    last_si = *si;
    last_n++;
}

static void check_info(const char *name, int n0, int sig, int code, pid_t pid, uid_t uid,
                       int has_val, int val)
{
    const siginfo_t *s = &last_si;
    int ok = last_n == n0 + 1 && s->si_signo == sig && s->si_code == code && s->si_pid == pid &&
             s->si_uid == uid && s->si_errno == 0 && (!has_val || s->si_value.sival_int == val);
    check(ok, name, "ran %d times; signo %d code %d pid %d uid %d errno %d value %d; want %d %d %d "
          "%d 0 %d", last_n - n0, s->si_signo, s->si_code, s->si_pid, s->si_uid, s->si_errno,
          s->si_value.sival_int, sig, code, pid, uid, has_val ? val : s->si_value.sival_int);
}

static long rt_sigqueueinfo(pid_t pid, int sig, siginfo_t *si)
{
    return syscall(SYS_rt_sigqueueinfo, pid, sig, si);
}

static int mode_info(void)
{
    uid_t uid = getuid();
    on(SIGUSR1, info_handler, 0, NULL);
    on(RT(1), info_handler, 0, NULL);
    int n;
    n = last_n; kill(me, SIGUSR1);
    check_info("info_kill_si_user", n, SIGUSR1, SI_USER, me, uid, 0, 0);
    n = last_n; sys_tgkill(me, gettid(), SIGUSR1);
    check_info("info_tgkill_si_tkill", n, SIGUSR1, SI_TKILL, me, uid, 0, 0);
    n = last_n; sys_tkill(gettid(), SIGUSR1);
    check_info("info_tkill_si_tkill", n, SIGUSR1, SI_TKILL, me, uid, 0, 0);
    n = last_n; raise(SIGUSR1);
    check_info("info_raise_si_tkill", n, SIGUSR1, SI_TKILL, me, uid, 0, 0);
    n = last_n; sigqueue(me, RT(1), (union sigval){.sival_int = 0x1234abcd});
    check_info("info_sigqueue", n, RT(1), SI_QUEUE, me, uid, 1, 0x1234abcd);
    n = last_n; sigqueue(me, SIGUSR1, (union sigval){.sival_int = 99});
    check_info("info_sigqueue_std", n, SIGUSR1, SI_QUEUE, me, uid, 1, 99);

    /* rt_sigqueueinfo: the caller's siginfo passes through as given */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = RT(1);
    si.si_code = SI_QUEUE;
    si.si_pid = 4242;
    si.si_uid = 777;
    si.si_value.sival_int = 55;
    n = last_n;
    long r = rt_sigqueueinfo(me, RT(1), &si);
    check(r == 0, "info_rt_sigqueueinfo_ret", "returned %ld errno %d", r, errno);
    check_info("info_rt_sigqueueinfo_passthrough", n, RT(1), SI_QUEUE, 4242, 777, 1, 55);
    si.si_code = SI_USER; /* si_code >= 0 is allowed to oneself */
    n = last_n;
    r = rt_sigqueueinfo(me, RT(1), &si);
    check(r == 0, "info_rt_sigqueueinfo_self_si_user", "returned %ld errno %d", r, errno);
    check_info("info_rt_sigqueueinfo_self_si_user_info", n, RT(1), SI_USER, 4242, 777, 0, 0);
    si.si_code = -42; /* any negative code */
    si.si_signo = 0; /* the kernel sets si_signo = sig */
    n = last_n;
    r = syscall(SYS_rt_tgsigqueueinfo, me, gettid(), RT(1), &si);
    check(r == 0, "info_rt_tgsigqueueinfo_ret", "returned %ld errno %d", r, errno);
    check_info("info_rt_tgsigqueueinfo", n, RT(1), -42, 4242, 777, 1, 55);

    /* from a child: si_pid is the child */
    block(SIGUSR2);
    pid_t c = fork();
    if (c == 0) {
        kill(getppid(), SIGUSR2);
        _exit(0);
    }
    int st;
    twait(c, &st, 0, 5000);
    siginfo_t wi;
    memset(&wi, 0, sizeof wi);
    int got = wait_sig(SIGUSR2, &wi, 2000);
    check(got == SIGUSR2 && wi.si_code == SI_USER && wi.si_pid == c && wi.si_uid == uid,
          "info_from_child", "got %d code %d pid %d (child %d) uid %d", got, wi.si_code, wi.si_pid,
          c, wi.si_uid);
    unblock(SIGUSR2);
    return t_exit();
}

/* ---------------------------------------------------------------------------------------------
 * chld */

static int mode_chld(void)
{
    uid_t uid = getuid();
    block(SIGCHLD);
    siginfo_t si;
    int st;

    pid_t c = fork();
    if (c == 0)
        _exit(42);
    memset(&si, 0, sizeof si);
    int got = wait_sig(SIGCHLD, &si, 2000);
    check(got == SIGCHLD && si.si_code == CLD_EXITED && si.si_status == 42 && si.si_pid == c &&
              si.si_uid == uid,
          "chld_exited", "got %d code %d status %d pid %d (child %d) uid %d", got, si.si_code,
          si.si_status, si.si_pid, c, si.si_uid);
    pid_t w = twait(c, &st, 0, 2000);
    check(w == c && WIFEXITED(st) && WEXITSTATUS(st) == 42, "chld_exited_wait", "%s", wstr(st));

    int pfd[2];
    pipe(pfd);
    c = fork();
    if (c == 0) {
        char b;
        close(pfd[1]);
        read(pfd[0], &b, 1);
        _exit(0);
    }
    close(pfd[0]);
    kill(c, SIGTERM);
    memset(&si, 0, sizeof si);
    got = wait_sig(SIGCHLD, &si, 2000);
    check(got == SIGCHLD && si.si_code == CLD_KILLED && si.si_status == SIGTERM && si.si_pid == c,
          "chld_killed", "got %d code %d status %d pid %d (child %d)", got, si.si_code, si.si_status,
          si.si_pid, c);
    w = twait(c, &st, 0, 2000);
    check(w == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "chld_killed_wait", "%s", wstr(st));
    close(pfd[1]);

    /* a core-dumping signal with RLIMIT_CORE 0: no dump, CLD_KILLED */
    c = fork();
    if (c == 0) {
        struct rlimit rl = {0, 0};
        setrlimit(RLIMIT_CORE, &rl);
        disp(SIGQUIT, SIG_DFL);
        unblock(SIGQUIT);
        raise(SIGQUIT);
        _exit(1);
    }
    memset(&si, 0, sizeof si);
    got = wait_sig(SIGCHLD, &si, 2000);
    check(got == SIGCHLD && si.si_code == CLD_KILLED && si.si_status == SIGQUIT, "chld_quit_nocore",
          "got %d code %d status %d", got, si.si_code, si.si_status);
    w = twait(c, &st, 0, 2000);
    check(w == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGQUIT && !WCOREDUMP(st),
          "chld_quit_nocore_wait", "%s", wstr(st));
    unblock(SIGCHLD);

    /* SIG_DFL: children stay zombies until waited for */
    c = fork();
    if (c == 0)
        _exit(3);
    sleep_ms(30);
    w = twait(c, &st, 0, 2000);
    check(w == c && WIFEXITED(st) && WEXITSTATUS(st) == 3, "chld_dfl_zombie", "wait: %d %s", w,
          wstr(st));

    /* SIG_IGN: reaped by the kernel; wait blocks until they are gone, then ECHILD */
    disp(SIGCHLD, SIG_IGN);
    c = fork();
    if (c == 0) {
        sleep_ms(20);
        _exit(0);
    }
    errno = 0;
    w = wait(&st);
    int e = errno;
    check(w == -1 && e == ECHILD, "chld_ign_autoreap", "wait returned %d errno %d", w, e);

    /* SA_NOCLDWAIT with a handler: reaped, and the handler still runs */
    on(SIGCHLD, count_handler, SA_NOCLDWAIT | SA_RESTART, NULL);
    int n0 = cnt[SIGCHLD];
    c = fork();
    if (c == 0)
        _exit(0);
    errno = 0;
    w = wait(&st);
    e = errno;
    check(w == -1 && e == ECHILD, "chld_nocldwait_autoreap", "wait returned %d errno %d", w, e);
    check(cnt[SIGCHLD] == n0 + 1, "chld_nocldwait_signal", "handler ran %d times", cnt[SIGCHLD] - n0);
    disp(SIGCHLD, SIG_DFL);
    return t_exit();
}

/* ---------------------------------------------------------------------------------------------
 * fault */

static sigjmp_buf fjb;
static struct {
    volatile int n, sig, code, err;
    void *volatile addr;
    volatile uintptr_t pc;
    volatile uint64_t mask;
} fr;

static void fault_handler(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    fr.n++;
    fr.sig = sig;
    fr.code = si->si_code;
    fr.err = si->si_errno;
    fr.addr = si->si_addr;
    fr.pc = uc->uc_mcontext.__gregs[REG_PC];
    fr.mask = cur_mask();
    siglongjmp(fjb, 1);
}

enum { F_LOAD, F_STORE, F_AMO, F_ILL, F_EBREAK, F_CALL };

/* run one faulting operation; returns 1 when the handler ran */
static int provoke(int how, void *p)
{
    fr.n = 0;
    fr.sig = 0;
    fr.addr = (void *)-1;
    fr.pc = 0;
    if (sigsetjmp(fjb, 1) == 0) {
        switch (how) {
        case F_LOAD: fault_load(p); break;
        case F_STORE: fault_store(p, 1); break;
        case F_AMO: fault_amo(p, 1); break;
        case F_ILL: fault_ill(); break;
        case F_EBREAK: fault_ebreak(); break;
        case F_CALL: ((void (*)(void))p)(); break;
        }
        return 0;
    }
    return 1;
}

static void expect_fault(const char *name, int how, void *p, int sig, int code, void *addr,
                         uintptr_t pc)
{
    int got = provoke(how, p);
    uint64_t after = cur_mask();
    if (!(got && fr.n == 1 && fr.sig == sig && fr.code == code && fr.addr == addr && fr.pc == pc &&
          fr.err == 0))
        fail(name, "handler %s; sig %d code %d addr %p pc 0x%lx errno %d; want sig %d code %d "
             "addr %p pc 0x%lx", got ? "ran" : "did not run", fr.sig, fr.code, fr.addr,
             (unsigned long)fr.pc, fr.err, sig, code, addr, (unsigned long)pc);
    else if (!(fr.mask & bit(sig)))
        fail(name, "signal %d was not blocked in its handler (mask 0x%llx)", sig,
             (unsigned long long)fr.mask);
    else if (after & bit(sig))
        fail(name, "siglongjmp did not restore the mask: 0x%llx", (unsigned long long)after);
    else
        pass(name);
}

static volatile int fix_n;
static char *fix_page;
static void fix_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    fix_n++;
    if (si->si_addr >= (void *)fix_page && si->si_addr < (void *)(fix_page + 4096))
        mprotect(fix_page, 4096, PROT_READ | PROT_WRITE);
}

static int mode_fault(void)
{
    on(SIGSEGV, fault_handler, 0, NULL);
    on(SIGBUS, fault_handler, 0, NULL);
    on(SIGILL, fault_handler, 0, NULL);
    on(SIGTRAP, fault_handler, 0, NULL);
    uint32_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fix_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || code == MAP_FAILED || fix_page == MAP_FAILED) {
        fail("fault_setup", "mmap: %s", strerror(errno));
        return 1;
    }
    munmap(p + 4096, 4096);
    p[0] = 1;
    expect_fault("fault_maperr_load", F_LOAD, p + 4096 + 24, SIGSEGV, SEGV_MAPERR, p + 4096 + 24,
                 (uintptr_t)fault_load);
    expect_fault("fault_maperr_again", F_LOAD, p + 4096, SIGSEGV, SEGV_MAPERR, p + 4096,
                 (uintptr_t)fault_load);
    expect_fault("fault_maperr_store", F_STORE, p + 4096 + 8, SIGSEGV, SEGV_MAPERR, p + 4096 + 8,
                 (uintptr_t)fault_store);
    expect_fault("fault_maperr_null", F_LOAD, (void *)8, SIGSEGV, SEGV_MAPERR, (void *)8,
                 (uintptr_t)fault_load);
    mprotect(p, 4096, PROT_READ);
    expect_fault("fault_accerr_write_readonly", F_STORE, p + 16, SIGSEGV, SEGV_ACCERR, p + 16,
                 (uintptr_t)fault_store);
    mprotect(p + 2 * 4096, 4096, PROT_NONE);
    expect_fault("fault_accerr_read_protnone", F_LOAD, p + 2 * 4096 + 40, SIGSEGV, SEGV_ACCERR,
                 p + 2 * 4096 + 40, (uintptr_t)fault_load);
    expect_fault("fault_accerr_write_text", F_STORE, (void *)fault_ill, SIGSEGV, SEGV_ACCERR,
                 (void *)fault_ill, (uintptr_t)fault_store);
    code[0] = 0x00008067; /* ret */
    expect_fault("fault_accerr_exec_noexec", F_CALL, code, SIGSEGV, SEGV_ACCERR, code,
                 (uintptr_t)code);
    static long words[4];
    char *odd = (char *)words + 1;
    /* Linux reports the pc as si_addr for a misaligned access (do_trap_error(.., epc)) */
    expect_fault("fault_bus_misaligned_amo", F_AMO, odd, SIGBUS, BUS_ADRALN, (void *)fault_amo,
                 (uintptr_t)fault_amo);
    expect_fault("fault_ill_illopc", F_ILL, NULL, SIGILL, ILL_ILLOPC, (void *)fault_ill,
                 (uintptr_t)fault_ill);
    expect_fault("fault_trap_ebreak", F_EBREAK, NULL, SIGTRAP, TRAP_BRKPT, (void *)fault_ebreak,
                 (uintptr_t)fault_ebreak);
    void *kaddr = (void *)0xffffffc080200000UL;
    int got = provoke(F_LOAD, kaddr);
    printf("INFO fault_kernel_address si_code %d\n", fr.code);
    check(got && fr.sig == SIGSEGV && fr.pc == (uintptr_t)fault_load && fr.addr == kaddr,
          "fault_kernel_address", "handler %s, sig %d code %d addr %p", got ? "ran" : "did not run",
          fr.sig, fr.code, fr.addr);

    /* a handler that makes the page writable and returns: the store is retried */
    on(SIGSEGV, fix_handler, 0, NULL);
    fix_n = 0;
    fault_store(fix_page + 64, 0x5151);
    check(fix_n == 1 && ((volatile long *)fix_page)[8] == 0x5151, "fault_fix_and_retry",
          "handler ran %d times, value 0x%lx", fix_n, ((volatile long *)fix_page)[8]);
    return t_exit();
}

static volatile int nested_n;
static void nested_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    nested_n++;
    fault_load((void *)16); /* SIGSEGV is blocked here: the process dies */
}

static int mode_fatal(const char *how)
{
    if (!how)
        how = "";
    if (!strcmp(how, "blocked")) {
        on(SIGSEGV, fault_handler, 0, NULL);
        block(SIGSEGV);
    } else if (!strcmp(how, "ignored")) {
        disp(SIGSEGV, SIG_IGN);
    } else if (!strcmp(how, "nested")) {
        on(SIGSEGV, nested_handler, 0, NULL);
    } else {
        fail("fatal_usage", "usage: signal fatal blocked|ignored|nested");
        return 2;
    }
    pass("fatal_setup");
    fr.n = 0;
    if (sigsetjmp(fjb, 1) == 0)
        fault_load((void *)8);
    fail("fatal_survived", "the fault did not kill the process (handler ran %d times, nested %d)",
         fr.n, nested_n);
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * altstack */

#define ALT_SZ (64 * 1024)
static char alt1[ALT_SZ] __attribute__((aligned(16)));
static char alt2[ALT_SZ] __attribute__((aligned(16)));
static struct {
    volatile int n, depth, maxdepth;
    uintptr_t sp[2];
    stack_t oss[2];
    stack_t ucst[2];
    int eperm, eperm_disable;
} as;

static void alt_handler(int sig, siginfo_t *si, void *ucv)
{
    (void)si;
    ucontext_t *uc = ucv;
    volatile char here;
    int d = as.depth++;
    if (d < 2) {
        as.sp[d] = (uintptr_t)&here;
        sigaltstack(NULL, &as.oss[d]);
        as.ucst[d] = uc->uc_stack;
    }
    as.n++;
    if (d == 0) {
        stack_t ns = {.ss_sp = alt2, .ss_size = ALT_SZ, .ss_flags = 0};
        errno = 0;
        as.eperm = sigaltstack(&ns, NULL) == -1 ? errno : 0;
        ns.ss_flags = SS_DISABLE;
        errno = 0;
        as.eperm_disable = sigaltstack(&ns, NULL) == -1 ? errno : 0;
        if (sig == SIGUSR1)
            raise(SIGUSR2); /* nested, also SA_ONSTACK */
    }
    as.depth--;
}

static int in_alt(uintptr_t a, const char *base) { return a >= (uintptr_t)base && a < (uintptr_t)base + ALT_SZ; }

/* stack overflow of a thread, handled on that thread's alternate stack */
static sigjmp_buf ojb;
static struct {
    volatile int n, code, onstack;
    void *addr;
    uintptr_t sp;
    uintptr_t lo, guard;
    volatile int depth;
} ov;

static void ov_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    volatile char here;
    stack_t o;
    sigaltstack(NULL, &o);
    ov.n++;
    ov.code = si->si_code;
    ov.addr = si->si_addr;
    ov.sp = (uintptr_t)&here;
    ov.onstack = o.ss_flags;
    siglongjmp(ojb, 1);
}

static int recurse(int d)
{
    volatile char buf[480];
    buf[0] = (char)d;
    ov.depth = d;
    if (d > 1000000)
        return 0;
    return recurse(d + 1) + buf[0];
}

static void *ov_thread(void *arg)
{
    (void)arg;
    stack_t ss = {.ss_sp = alt2, .ss_size = ALT_SZ, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    pthread_attr_t a;
    void *lo;
    size_t sz, guard;
    pthread_getattr_np(pthread_self(), &a);
    pthread_attr_getstack(&a, &lo, &sz);
    pthread_attr_getguardsize(&a, &guard);
    pthread_attr_destroy(&a);
    ov.lo = (uintptr_t)lo;
    ov.guard = guard;
    if (sigsetjmp(ojb, 1) == 0)
        recurse(0);
    return NULL;
}

static int mode_altstack(void)
{
    stack_t ss, o;
    /* errors */
    ss = (stack_t){.ss_sp = alt1, .ss_size = ALT_SZ, .ss_flags = 0x1234};
    EXPECT_ERR("altstack_bad_flags", sigaltstack(&ss, NULL), EINVAL);
    ss = (stack_t){.ss_sp = alt1, .ss_size = 1024, .ss_flags = 0};
    EXPECT_ERR("altstack_too_small", sigaltstack(&ss, NULL), ENOMEM);
    memset(&o, 0x55, sizeof o);
    int r = sigaltstack(NULL, &o);
    check(r == 0 && o.ss_flags == SS_DISABLE && o.ss_sp == NULL && o.ss_size == 0,
          "altstack_initial", "r %d flags %d sp %p size %zu", r, o.ss_flags, o.ss_sp, o.ss_size);
    ss = (stack_t){.ss_sp = alt1, .ss_size = ALT_SZ, .ss_flags = SS_ONSTACK};
    r = sigaltstack(&ss, NULL);
    check(r == 0, "altstack_ss_onstack_input_ok", "returned %d errno %d", r, errno);
    ss = (stack_t){.ss_sp = alt1, .ss_size = ALT_SZ, .ss_flags = 0};
    r = sigaltstack(&ss, &o);
    check(r == 0 && o.ss_sp == alt1 && o.ss_size == ALT_SZ && o.ss_flags == 0, "altstack_set_query",
          "r %d sp %p size %zu flags %d", r, o.ss_sp, o.ss_size, o.ss_flags);

    /* SA_ONSTACK handlers: SIGUSR1 raises SIGUSR2 inside (nested) */
    on(SIGUSR1, alt_handler, SA_ONSTACK, NULL);
    on(SIGUSR2, alt_handler, SA_ONSTACK, NULL);
    memset(&as, 0, sizeof as);
    raise(SIGUSR1);
    check(as.n == 2, "altstack_ran", "handlers ran %d times, want 2", as.n);
    check(in_alt(as.sp[0], alt1) && in_alt(as.sp[1], alt1) && as.sp[1] < as.sp[0], "altstack_sp",
          "outer %#lx inner %#lx, stack [%p, +%d)", (unsigned long)as.sp[0],
          (unsigned long)as.sp[1], (void *)alt1, ALT_SZ);
    check(as.oss[0].ss_flags == SS_ONSTACK && as.oss[0].ss_sp == alt1 && as.oss[0].ss_size == ALT_SZ &&
              as.oss[1].ss_flags == SS_ONSTACK,
          "altstack_ss_onstack_in_handler", "flags %d/%d sp %p size %zu", as.oss[0].ss_flags,
          as.oss[1].ss_flags, as.oss[0].ss_sp, as.oss[0].ss_size);
    /* Linux: uc_stack is the configured stack with its configured flags (0, or
     * SS_AUTODISARM), not SS_ONSTACK, even in the nested handler */
    check(as.ucst[0].ss_sp == alt1 && as.ucst[0].ss_size == ALT_SZ && as.ucst[0].ss_flags == 0 &&
              as.ucst[1].ss_sp == alt1 && as.ucst[1].ss_flags == 0,
          "altstack_uc_stack", "outer {%p, %zu, %d}, inner {%p, flags %d} (want the stack with "
          "flags 0)", as.ucst[0].ss_sp, as.ucst[0].ss_size, as.ucst[0].ss_flags, as.ucst[1].ss_sp,
          as.ucst[1].ss_flags);
    check(as.eperm == EPERM && as.eperm_disable == EPERM, "altstack_eperm_on_it",
          "change: %d, disable: %d (want EPERM %d)", as.eperm, as.eperm_disable, EPERM);
    r = sigaltstack(NULL, &o);
    check(r == 0 && o.ss_flags == 0 && o.ss_sp == alt1, "altstack_after", "flags %d sp %p",
          o.ss_flags, o.ss_sp);

    /* a handler without SA_ONSTACK runs on the normal stack */
    on(SIGUSR1, alt_handler, 0, NULL);
    memset(&as, 0, sizeof as);
    raise(SIGWINCH); /* default ignore: no effect */
    on(SIGURG, alt_handler, 0, NULL);
    raise(SIGURG);
    check(as.n == 1 && !in_alt(as.sp[0], alt1) && as.oss[0].ss_flags == 0, "altstack_not_onstack",
          "ran %d, sp %#lx, flags %d", as.n, (unsigned long)as.sp[0], as.oss[0].ss_flags);

    /* SS_AUTODISARM: disarmed inside the handler, back after sigreturn */
    ss = (stack_t){.ss_sp = alt1, .ss_size = ALT_SZ, .ss_flags = SS_AUTODISARM};
    r = sigaltstack(&ss, NULL);
    on(SIGURG, alt_handler, SA_ONSTACK, NULL);
    memset(&as, 0, sizeof as);
    raise(SIGURG);
    sigaltstack(NULL, &o);
    check(r == 0 && as.n == 1 && in_alt(as.sp[0], alt1) && as.oss[0].ss_flags == SS_DISABLE &&
              as.eperm == 0 && (unsigned)as.ucst[0].ss_flags == SS_AUTODISARM &&
              (unsigned)o.ss_flags == SS_AUTODISARM && o.ss_sp == alt1,
          "altstack_autodisarm", "set %d, ran %d, on alt %d, flags inside %d, change inside "
          "errno %d, uc_stack flags %#x, after %#x", r, as.n, in_alt(as.sp[0], alt1),
          as.oss[0].ss_flags, as.eperm, (unsigned)as.ucst[0].ss_flags, (unsigned)o.ss_flags);

    /* disable */
    ss = (stack_t){.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
    r = sigaltstack(&ss, NULL);
    sigaltstack(NULL, &o);
    check(r == 0 && o.ss_flags == SS_DISABLE, "altstack_disable", "r %d flags %d", r, o.ss_flags);
    memset(&as, 0, sizeof as);
    raise(SIGURG);
    check(as.n == 1 && !in_alt(as.sp[0], alt1), "altstack_disabled_normal_stack", "ran %d sp %#lx",
          as.n, (unsigned long)as.sp[0]);

    /* overflow of a thread stack (128 KiB + guard page) */
    on(SIGSEGV, ov_handler, SA_ONSTACK, NULL);
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 128 * 1024);
    pthread_t th;
    memset(&ov, 0, sizeof ov);
    pthread_create(&th, &a, ov_thread, NULL);
    int jr = tjoin(th, NULL, 10000);
    check(jr == 0 && ov.n == 1, "altstack_overflow_handled", "join %s, handler ran %d times (depth %d)",
          strerror(jr), ov.n, ov.depth);
    check(ov.code == SEGV_ACCERR && (uintptr_t)ov.addr < ov.lo && (uintptr_t)ov.addr >= ov.lo - ov.guard,
          "altstack_overflow_siginfo", "code %d addr %p, guard [%#lx, %#lx)", ov.code, ov.addr,
          (unsigned long)(ov.lo - ov.guard), (unsigned long)ov.lo);
    check(in_alt(ov.sp, alt2) && ov.onstack == SS_ONSTACK, "altstack_overflow_on_altstack",
          "handler sp %#lx, flags %d", (unsigned long)ov.sp, ov.onstack);
    return t_exit();
}

/* ---------------------------------------------------------------------------------------------
 * fork */

static int mode_fork(void)
{
    int mask_sigs[] = {SIGWINCH, 0};
    on(SIGUSR1, count_handler, SA_RESTART | SA_ONSTACK, mask_sigs);
    disp(SIGUSR2, SIG_IGN);
    stack_t ss = {.ss_sp = alt1, .ss_size = ALT_SZ, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    block(SIGHUP);
    block(RT(3));
    raise(SIGHUP);
    sigqueue(me, RT(3), (union sigval){.sival_int = 3});
    uint64_t want_mask = bit(SIGHUP) | bit(RT(3));
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        int bad = 0;
        if (cur_mask() != want_mask)
            bad |= 1;
        if (pending_mask() != 0)
            bad |= 2;
        struct sigaction o;
        sigaction(SIGUSR1, NULL, &o);
        if (o.sa_sigaction != count_handler || o.sa_flags != (SA_SIGINFO | SA_RESTART | SA_ONSTACK) ||
            bits(&o.sa_mask) != bit(SIGWINCH))
            bad |= 4;
        sigaction(SIGUSR2, NULL, &o);
        if (o.sa_handler != SIG_IGN)
            bad |= 8;
        int n0 = cnt[SIGUSR1];
        raise(SIGUSR1);
        if (cnt[SIGUSR1] != n0 + 1)
            bad |= 16;
        stack_t os;
        sigaltstack(NULL, &os);
        if (os.ss_sp != alt1 || os.ss_size != ALT_SZ || os.ss_flags != 0)
            bad |= 32;
        _exit(bad);
    }
    int st;
    pid_t w = twait(c, &st, 0, 5000);
    int b = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
    check(w == c && WIFEXITED(st), "fork_child_ran", "%s", wstr(st));
    check(!(b & 1), "fork_mask_inherited", "child's mask differs");
    check(!(b & 2), "fork_pending_cleared", "child has pending signals");
    check(!(b & 4), "fork_handler_inherited", "child's SIGUSR1 action differs");
    check(!(b & 8), "fork_ignored_inherited", "child's SIGUSR2 is not SIG_IGN");
    check(!(b & 16), "fork_handler_runs", "the handler did not run in the child");
    check(!(b & 32), "fork_altstack_inherited", "child's sigaltstack differs");
    check(pending_mask() == want_mask, "fork_parent_pending_kept", "pending 0x%llx, want 0x%llx",
          (unsigned long long)pending_mask(), (unsigned long long)want_mask);
    drain(SIGHUP);
    drain(RT(3));
    mask_none();
    return t_exit();
}

/* ---------------------------------------------------------------------------------------------
 * exec */

static int mode_execchild(void)
{
    struct sigaction o;
    sigaction(SIGUSR1, NULL, &o);
    check(o.sa_handler == SIG_DFL && o.sa_flags == 0 && bits(&o.sa_mask) == 0, "exec_handler_reset",
          "SIGUSR1 handler %p flags 0x%x mask 0x%llx", (void *)o.sa_handler, o.sa_flags,
          (unsigned long long)bits(&o.sa_mask));
    sigaction(SIGUSR2, NULL, &o);
    check(o.sa_handler == SIG_IGN, "exec_ignored_kept", "SIGUSR2 handler %p", (void *)o.sa_handler);
    uint64_t want = bit(SIGHUP) | bit(RT(4));
    check(cur_mask() == want, "exec_mask_kept", "mask 0x%llx, want 0x%llx",
          (unsigned long long)cur_mask(), (unsigned long long)want);
    check(pending_mask() == want, "exec_pending_kept", "pending 0x%llx, want 0x%llx",
          (unsigned long long)pending_mask(), (unsigned long long)want);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int got = wait_sig(RT(4), &si, 0);
    check(got == RT(4) && si.si_code == SI_QUEUE && si.si_value.sival_int == 4444,
          "exec_queued_info_kept", "got %d code %d value %d", got, si.si_code, si.si_value.sival_int);
    stack_t os;
    sigaltstack(NULL, &os);
    check(os.ss_flags == SS_DISABLE, "exec_altstack_cleared", "flags %d sp %p", os.ss_flags, os.ss_sp);
    return t_exit();
}

static int mode_exec(void)
{
    pid_t c = fork();
    if (c == 0) {
        on(SIGUSR1, count_handler, SA_RESTART, (int[]){SIGWINCH, 0});
        disp(SIGUSR2, SIG_IGN);
        stack_t ss = {.ss_sp = alt1, .ss_size = ALT_SZ, .ss_flags = 0};
        sigaltstack(&ss, NULL);
        block(SIGHUP);
        block(RT(4));
        raise(SIGHUP);
        sigqueue(getpid(), RT(4), (union sigval){.sival_int = 4444});
        char *argv[] = {(char *)self_path, "execchild", NULL};
        char *envp[] = {"PATH=/bin", NULL};
        execve(self_path, argv, envp);
        fail("exec_execve", "execve %s: %s", self_path, strerror(errno));
        _exit(1);
    }
    int st;
    pid_t w = twait(c, &st, 0, 10000);
    check(w == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exec_child_ok", "%s", wstr(st));
    return t_exit();
}

/* ---------------------------------------------------------------------------------------------
 * queue */

#define QMAX 64
static volatile int qn;
static int qsig[QMAX], qval[QMAX], qcode[QMAX];
static void q_handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (qn < QMAX) {
        qsig[qn] = sig;
        qval[qn] = si->si_value.sival_int;
        qcode[qn] = si->si_code;
    }
    qn++;
}

static char *qlist(char *b, size_t n)
{
    b[0] = 0;
    for (int i = 0; i < qn && i < QMAX; i++) {
        size_t l = strlen(b);
        snprintf(b + l, n - l, "%d:%d ", qsig[i], qval[i]);
    }
    return b;
}

static int mode_queue(void)
{
    char buf[512];
    /* RT: queued in order with their values */
    on(RT(2), q_handler, 0, NULL);
    block(RT(2));
    for (int i = 1; i <= 5; i++)
        sigqueue(me, RT(2), (union sigval){.sival_int = i * 11});
    check(pending_mask() == bit(RT(2)), "queue_rt_pending", "pending 0x%llx",
          (unsigned long long)pending_mask());
    qn = 0;
    unblock(RT(2));
    int ok = qn == 5;
    for (int i = 0; ok && i < 5; i++)
        ok = qsig[i] == RT(2) && qval[i] == (i + 1) * 11 && qcode[i] == SI_QUEUE;
    check(ok, "queue_rt_in_order", "delivered %d: %s(want 5 values 11..55)", qn, qlist(buf, sizeof buf));

    /* standard: coalesced, the first info kept */
    on(SIGUSR1, q_handler, 0, NULL);
    block(SIGUSR1);
    sigqueue(me, SIGUSR1, (union sigval){.sival_int = 7});
    kill(me, SIGUSR1);
    kill(me, SIGUSR1);
    qn = 0;
    unblock(SIGUSR1);
    check(qn == 1 && qval[0] == 7 && qcode[0] == SI_QUEUE, "queue_std_coalesce",
          "delivered %d times, first code %d value %d", qn, qcode[0], qval[0]);

    /* lower numbers first: handlers block the whole set while they run */
    int set[] = {SIGHUP, SIGUSR1, SIGUSR2, SIGTERM, RT(1), RT(5), 0};
    sigset_t all = set_of(set);
    for (int *s = set; *s; s++)
        on(*s, q_handler, 0, set);
    sigprocmask(SIG_BLOCK, &all, NULL);
    for (int i = 5; i >= 0; i--)
        sigqueue(me, set[i], (union sigval){.sival_int = i});
    sigqueue(me, RT(1), (union sigval){.sival_int = 100});
    qn = 0;
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    int order[] = {SIGHUP, SIGUSR1, SIGUSR2, SIGTERM, RT(1), RT(1), RT(5)};
    ok = qn == 7;
    for (int i = 0; ok && i < 7; i++)
        ok = qsig[i] == order[i];
    ok = ok && qval[4] == 4 && qval[5] == 100;
    check(ok, "queue_low_first_handlers", "order %s", qlist(buf, sizeof buf));

    /* the same through sigwaitinfo */
    sigprocmask(SIG_BLOCK, &all, NULL);
    for (int i = 5; i >= 0; i--)
        sigqueue(me, set[i], (union sigval){.sival_int = i});
    sigqueue(me, RT(1), (union sigval){.sival_int = 100});
    qn = 0;
    siginfo_t si;
    int got;
    struct timespec zero = {0, 0};
    while ((got = sigtimedwait(&all, &si, &zero)) > 0 && qn < QMAX) {
        qsig[qn] = got;
        qval[qn] = si.si_value.sival_int;
        qn++;
    }
    ok = qn == 7;
    for (int i = 0; ok && i < 7; i++)
        ok = qsig[i] == order[i];
    ok = ok && qval[4] == 4 && qval[5] == 100;
    check(ok, "queue_low_first_sigwaitinfo", "order %s", qlist(buf, sizeof buf));

    /* handlers that do not block each other: every pending signal gets its frame before any
     * handler runs, each on top of the last, so the last set up (the highest) runs first */
    for (int *s = set; *s; s++)
        on(*s, q_handler, 0, NULL);
    for (int i = 5; i >= 0; i--)
        kill(me, set[i]);
    qn = 0;
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    ok = qn == 6;
    for (int i = 0; ok && i < 6; i++)
        ok = qsig[i] == set[5 - i];
    check(ok, "queue_all_frames_before_user", "handler order %s(Linux: highest first)",
          qlist(buf, sizeof buf));

    /* RLIMIT_SIGPENDING bounds queued signals: EAGAIN */
    struct rlimit old, rl = {8, 8};
    getrlimit(RLIMIT_SIGPENDING, &old);
    setrlimit(RLIMIT_SIGPENDING, &rl);
    block(RT(6));
    int sent = 0, err = 0;
    for (int i = 0; i < 20; i++) {
        if (sigqueue(me, RT(6), (union sigval){.sival_int = i}) == 0) {
            sent++;
        } else {
            err = errno;
            break;
        }
    }
    check(sent == 8 && err == EAGAIN, "queue_rlimit_sigpending", "%d queued, then errno %d", sent, err);
    drain(RT(6));
    setrlimit(RLIMIT_SIGPENDING, &old);
    mask_none();
    return t_exit();
}

/* ---------------------------------------------------------------------------------------------
 * wait */

static volatile uint64_t handler_mask;
static void mask_handler(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    cnt[sig]++;
    handler_mask = cur_mask();
}

static int mode_wait(void)
{
    /* sigpending */
    on(SIGUSR1, mask_handler, 0, NULL);
    block(SIGUSR1);
    raise(SIGUSR1);
    check(pending_mask() == bit(SIGUSR1), "wait_sigpending", "0x%llx", (unsigned long long)pending_mask());
    /* blocked + ignored: stays pending; unblocking discards it */
    disp(SIGUSR2, SIG_IGN);
    block(SIGUSR2);
    raise(SIGUSR2);
    check(pending_mask() == (bit(SIGUSR1) | bit(SIGUSR2)), "wait_blocked_ignored_pending", "0x%llx",
          (unsigned long long)pending_mask());
    unblock(SIGUSR2);
    check(pending_mask() == bit(SIGUSR1), "wait_ignored_discarded", "0x%llx",
          (unsigned long long)pending_mask());
    /* setting SIG_IGN discards a pending signal; so does SIG_DFL of a default-ignore one */
    on(SIGHUP, count_handler, 0, NULL);
    on(SIGWINCH, count_handler, 0, NULL);
    block(SIGHUP);
    block(SIGWINCH);
    raise(SIGHUP);
    raise(SIGWINCH);
    disp(SIGHUP, SIG_IGN);
    disp(SIGWINCH, SIG_DFL);
    check(pending_mask() == bit(SIGUSR1), "wait_sig_ign_discards_pending", "0x%llx",
          (unsigned long long)pending_mask());
    unblock(SIGHUP);
    unblock(SIGWINCH);
    disp(SIGHUP, SIG_DFL);

    /* sigsuspend: temporary mask; EINTR after the handler; mask restored */
    int n0 = cnt[SIGUSR1];
    sigset_t tmp;
    sigemptyset(&tmp);
    sigaddset(&tmp, SIGWINCH);
    errno = 0;
    int r = sigsuspend(&tmp);
    int e = errno;
    check(r == -1 && e == EINTR && cnt[SIGUSR1] == n0 + 1, "wait_sigsuspend_pending",
          "returned %d errno %d, handler ran %d times", r, e, cnt[SIGUSR1] - n0);
    check(handler_mask == (bit(SIGWINCH) | bit(SIGUSR1)), "wait_sigsuspend_mask_in_handler",
          "0x%llx", (unsigned long long)handler_mask);
    check(cur_mask() == bit(SIGUSR1), "wait_sigsuspend_mask_restored", "0x%llx",
          (unsigned long long)cur_mask());

    /* sigsuspend waiting for a signal from another thread; a signal it keeps blocked stays
     * pending */
    on(SIGUSR2, count_handler, 0, NULL);
    block(SIGUSR2);
    raise(SIGUSR2);
    struct kicker k = {.tid = gettid(), .sig = SIGUSR1, .interval_ms = 20, .max = 1};
    kick_start(&k);
    n0 = cnt[SIGUSR1];
    int n2 = cnt[SIGUSR2];
    sigemptyset(&tmp);
    sigaddset(&tmp, SIGUSR2);
    errno = 0;
    r = sigsuspend(&tmp);
    e = errno;
    kick_join(&k);
    check(r == -1 && e == EINTR && cnt[SIGUSR1] == n0 + 1 && cnt[SIGUSR2] == n2,
          "wait_sigsuspend_thread", "returned %d errno %d, SIGUSR1 ran %d, SIGUSR2 ran %d", r, e,
          cnt[SIGUSR1] - n0, cnt[SIGUSR2] - n2);
    check(pending_mask() == bit(SIGUSR2), "wait_sigsuspend_kept_pending", "0x%llx",
          (unsigned long long)pending_mask());
    unblock(SIGUSR2);
    check(cnt[SIGUSR2] == n2 + 1, "wait_unblock_delivers", "SIGUSR2 ran %d", cnt[SIGUSR2] - n2);

    /* sigtimedwait: takes a pending signal without running the handler */
    raise(SIGUSR1);
    n0 = cnt[SIGUSR1];
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int got = wait_sig(SIGUSR1, &si, 0);
    check(got == SIGUSR1 && si.si_signo == SIGUSR1 && si.si_code == SI_TKILL && si.si_pid == me &&
              cnt[SIGUSR1] == n0 && pending_mask() == 0,
          "wait_sigtimedwait_pending", "got %d signo %d code %d pid %d, handler ran %d, pending "
          "0x%llx", got, si.si_signo, si.si_code, si.si_pid, cnt[SIGUSR1] - n0,
          (unsigned long long)pending_mask());
    /* timeout */
    sigset_t s1 = set_of((int[]){SIGUSR1, 0});
    struct timespec ts = {0, 30 * NS_MS};
    int64_t t0 = mono_ns();
    errno = 0;
    r = sigtimedwait(&s1, &si, &ts);
    e = errno;
    int64_t el = mono_ns() - t0;
    check(r == -1 && e == EAGAIN && el >= 30 * NS_MS && el < 1000 * NS_MS, "wait_sigtimedwait_timeout",
          "returned %d errno %d after %lld us (want EAGAIN after >= 30 ms)", r, e,
          (long long)(el / 1000));
    ts = (struct timespec){0, 0};
    t0 = mono_ns();
    errno = 0;
    r = sigtimedwait(&s1, &si, &ts);
    e = errno;
    el = mono_ns() - t0;
    check(r == -1 && e == EAGAIN && el < 500 * NS_MS, "wait_sigtimedwait_zero", "returned %d errno %d "
          "after %lld us", r, e, (long long)(el / 1000));
    /* sigwaitinfo for a signal another thread sends later */
    k = (struct kicker){.tid = gettid(), .sig = SIGUSR1, .interval_ms = 20, .max = 1};
    kick_start(&k);
    memset(&si, 0, sizeof si);
    got = sys_sigtimedwait(&s1, &si, NULL); /* sigwaitinfo */
    kick_join(&k);
    check(got == SIGUSR1 && si.si_code == SI_TKILL && si.si_pid == me, "wait_sigwaitinfo_thread",
          "got %d code %d pid %d", got, si.si_code, si.si_pid);
    /* sigwait */
    raise(SIGUSR1);
    int sig = 0;
    r = sigwait(&s1, &sig);
    check(r == 0 && sig == SIGUSR1, "wait_sigwait", "returned %d sig %d", r, sig);
    /* sigtimedwait interrupted by another signal's handler */
    on(SIGUSR2, count_handler, 0, NULL);
    volatile int returned = 0;
    k = (struct kicker){.tid = gettid(), .sig = SIGUSR2, .interval_ms = 20, .max = 100, .stop = &returned};
    kick_start(&k);
    ts = (struct timespec){3, 0};
    errno = 0;
    r = sigtimedwait(&s1, &si, &ts);
    e = errno;
    returned = 1;
    kick_join(&k);
    check(r == -1 && e == EINTR, "wait_sigtimedwait_eintr", "returned %d errno %d", r, e);
    unblock(SIGUSR1);

    /* pause */
    returned = 0;
    k = (struct kicker){.tid = gettid(), .sig = SIGUSR1, .interval_ms = 20, .max = 100, .stop = &returned};
    kick_start(&k);
    n0 = cnt[SIGUSR1];
    errno = 0;
    r = pause();
    e = errno;
    returned = 1;
    kick_join(&k);
    check(r == -1 && e == EINTR && cnt[SIGUSR1] >= n0 + 1, "wait_pause", "returned %d errno %d, "
          "handler ran %d", r, e, cnt[SIGUSR1] - n0);
    return t_exit();
}

/* ---------------------------------------------------------------------------------------------
 * eintr */

struct ei {
    int rfd, wfd;           /* a pipe */
    volatile uint32_t *word; /* futex word */
    pid_t child;            /* a child blocked until relfd gets a byte */
    int relfd;
};

static void fin_write(void *p) { char c = 'x'; write(((struct ei *)p)->wfd, &c, 1); }
static void fin_drain(void *p)
{
    char b[4096];
    int total = 0;
    while (total < 8192) {
        long n = read(((struct ei *)p)->rfd, b, sizeof b);
        if (n <= 0)
            break;
        total += n;
    }
}
static void fin_wake(void *p)
{
    struct ei *x = p;
    __atomic_store_n(x->word, 1, __ATOMIC_RELEASE);
    futex_wake(x->word, INT_MAX);
}
static void fin_release(void *p) { char c = 'r'; write(((struct ei *)p)->relfd, &c, 1); }

static volatile int call_done;

/* run call(arg) while a kicker thread sends SIGUSR1 (handler with SA_RESTART when restart) to
 * this thread, every 15 ms:
 *   INTR:     until the call returns (at most 60 kicks), then finish(arg), so that a call that is
 *             never interrupted still ends (a FAIL, not a hang); for calls that must fail EINTR
 *   COMPLETE: 2 kicks, then finish(arg); for calls that must complete */
enum { INTR, COMPLETE };
static long kicked(int restart, int how, long (*call)(void *), struct ei *arg, void (*finish)(void *),
                   int *err)
{
    on(SIGUSR1, count_handler, restart ? SA_RESTART : 0, NULL);
    call_done = 0;
    struct kicker k = {.tid = gettid(), .sig = SIGUSR1, .interval_ms = 15, .max = how == INTR ? 60 : 2,
                       .stop = how == INTR ? &call_done : NULL, .finish = finish, .arg = arg};
    kick_start(&k);
    errno = 0;
    long r = call(arg);
    *err = errno;
    call_done = 1;
    kick_join(&k);
    return r;
}

static long c_read(void *p)
{
    char c;
    long r = read(((struct ei *)p)->rfd, &c, 1);
    return r == 1 ? c : r;
}
static long c_write(void *p) { char c = 'y'; return write(((struct ei *)p)->wfd, &c, 1); }
static long c_wait(void *p) { int st; return waitpid(((struct ei *)p)->child, &st, 0); }
static long c_futex(void *p) { return futex_wait(((struct ei *)p)->word, 0); }
static long c_futex_timed(void *p)
{
    struct timespec ts = {1, 0};
    return futex((void *)((struct ei *)p)->word, FUTEX_WAIT, 0, &ts, NULL, 0);
}
static long c_poll(void *p)
{
    struct pollfd pf = {.fd = ((struct ei *)p)->rfd, .events = POLLIN};
    return poll(&pf, 1, -1);
}
static long c_pause(void *p) { (void)p; return pause(); }
static long c_sigsuspend(void *p)
{
    (void)p;
    sigset_t s;
    sigemptyset(&s);
    return sigsuspend(&s);
}
static struct timespec ns_rem;
static int64_t ns_elapsed;
static long c_nanosleep(void *p)
{
    (void)p;
    struct timespec ts = {0, 500 * NS_MS};
    memset(&ns_rem, 0, sizeof ns_rem);
    int64_t t0 = mono_ns();
    long r = nanosleep(&ts, &ns_rem);
    ns_elapsed = mono_ns() - t0;
    return r;
}

/* a child blocked reading a pipe until released; it then exits 7 */
static void blocked_child(struct ei *x)
{
    int pfd[2];
    pipe(pfd);
    pid_t c = fork();
    if (c == 0) {
        char b;
        close(pfd[1]);
        read(pfd[0], &b, 1);
        _exit(7);
    }
    close(pfd[0]);
    x->child = c;
    x->relfd = pfd[1];
}

static void fill_pipe(int fd)
{
    static char big[4096];
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    while (write(fd, big, sizeof big) > 0)
        ;
    while (write(fd, big, 1) > 0)
        ;
    fcntl(fd, F_SETFL, fl);
}

static void nanosleep_check(const char *name, long r, int e)
{
    int64_t rem = (int64_t)ns_rem.tv_sec * 1000000000LL + ns_rem.tv_nsec;
    check(r == -1 && e == EINTR && rem > 0 && rem + ns_elapsed >= 499 * NS_MS &&
              rem + ns_elapsed <= 700 * NS_MS,
          name, "returned %ld errno %d after %lld ms, rem %lld ms (want EINTR, rem + elapsed = "
          "500 ms)", r, e, (long long)(ns_elapsed / NS_MS), (long long)(rem / NS_MS));
}

static int mode_eintr(void)
{
    int e, pfd[2];
    long r;
    char buf[8];
    pipe(pfd);
    struct ei x = {.rfd = pfd[0], .wfd = pfd[1]};
    int n0;

    /* pipe read */
    r = kicked(0, INTR, c_read, &x, fin_write, &e);
    check(r == -1 && e == EINTR, "eintr_read", "read returned %ld errno %d", r, e);
    read(x.rfd, buf, 1);
    n0 = cnt[SIGUSR1];
    r = kicked(1, COMPLETE, c_read, &x, fin_write, &e);
    check(r == 'x' && cnt[SIGUSR1] > n0, "eintr_read_restart", "read returned %ld errno %d, "
          "handler ran %d times", r, e, cnt[SIGUSR1] - n0);

    /* pipe write to a full pipe */
    fill_pipe(x.wfd);
    r = kicked(0, INTR, c_write, &x, fin_drain, &e);
    check(r == -1 && e == EINTR, "eintr_write", "write returned %ld errno %d", r, e);
    fill_pipe(x.wfd);
    n0 = cnt[SIGUSR1];
    r = kicked(1, COMPLETE, c_write, &x, fin_drain, &e);
    check(r == 1 && cnt[SIGUSR1] > n0, "eintr_write_restart", "write returned %ld errno %d, "
          "handler ran %d times", r, e, cnt[SIGUSR1] - n0);
    close(pfd[0]);
    close(pfd[1]);
    pipe(pfd);
    x.rfd = pfd[0];
    x.wfd = pfd[1];

    /* wait4 */
    blocked_child(&x);
    r = kicked(0, INTR, c_wait, &x, fin_release, &e);
    check(r == -1 && e == EINTR, "eintr_wait4", "waitpid returned %ld errno %d", r, e);
    int st;
    twait(x.child, &st, 0, 2000);
    close(x.relfd);
    blocked_child(&x);
    n0 = cnt[SIGUSR1];
    r = kicked(1, COMPLETE, c_wait, &x, fin_release, &e);
    check(r == x.child && cnt[SIGUSR1] > n0, "eintr_wait4_restart", "waitpid returned %ld (child "
          "%d) errno %d, handler ran %d times", r, x.child, e, cnt[SIGUSR1] - n0);
    close(x.relfd);

    /* futex wait, no timeout: restarts with SA_RESTART */
    static volatile uint32_t word;
    x.word = &word;
    word = 0;
    r = kicked(0, INTR, c_futex, &x, fin_wake, &e);
    check(r == -1 && e == EINTR, "eintr_futex", "FUTEX_WAIT returned %ld errno %d", r, e);
    word = 0;
    n0 = cnt[SIGUSR1];
    r = kicked(1, COMPLETE, c_futex, &x, fin_wake, &e);
    check((r == 0 || (r == -1 && e == EAGAIN)) && cnt[SIGUSR1] > n0, "eintr_futex_restart",
          "FUTEX_WAIT returned %ld errno %d (want 0, or EAGAIN when restarted after the wake), "
          "handler ran %d times", r, e, cnt[SIGUSR1] - n0);
    /* with a timeout it is never restarted after a handler */
    word = 0;
    r = kicked(1, INTR, c_futex_timed, &x, fin_wake, &e);
    check(r == -1 && e == EINTR, "eintr_futex_timeout_no_restart", "FUTEX_WAIT with a timeout and "
          "SA_RESTART returned %ld errno %d, want EINTR", r, e);

    /* nanosleep: EINTR with the time left, SA_RESTART or not */
    r = kicked(0, INTR, c_nanosleep, &x, NULL, &e);
    nanosleep_check("eintr_nanosleep_rem", r, e);
    r = kicked(1, INTR, c_nanosleep, &x, NULL, &e);
    nanosleep_check("eintr_nanosleep_no_restart", r, e);

    /* poll, pause, sigsuspend: EINTR even with SA_RESTART */
    r = kicked(1, INTR, c_poll, &x, fin_write, &e);
    check(r == -1 && e == EINTR, "eintr_poll_no_restart", "poll returned %ld errno %d", r, e);
    read(x.rfd, buf, 1); /* the byte finish wrote */
    r = kicked(1, INTR, c_pause, &x, NULL, &e);
    check(r == -1 && e == EINTR, "eintr_pause_no_restart", "pause returned %ld errno %d", r, e);
    r = kicked(1, INTR, c_sigsuspend, &x, NULL, &e);
    check(r == -1 && e == EINTR, "eintr_sigsuspend_no_restart", "sigsuspend returned %ld errno %d", r, e);

    /* the signal from an interval timer (SIGALRM every 20 ms); a thread that sends nothing
     * (signal 0) writes a byte once the read has returned, or after 2 s (a FAIL, not a hang) */
    on(SIGALRM, count_handler, 0, NULL);
    struct itimerval itv = {{0, 20000}, {0, 20000}}, off = {{0, 0}, {0, 0}};
    call_done = 0;
    struct kicker k = {.tid = gettid(), .sig = 0, .interval_ms = 20, .max = 100, .stop = &call_done,
                       .finish = fin_write, .arg = &x};
    kick_start(&k);
    setitimer(ITIMER_REAL, &itv, NULL);
    errno = 0;
    r = read(x.rfd, buf, 1);
    e = errno;
    setitimer(ITIMER_REAL, &off, NULL);
    call_done = 1;
    kick_join(&k);
    read(x.rfd, buf, 1);
    check(r == -1 && e == EINTR, "eintr_read_itimer", "read returned %ld errno %d", r, e);

    /* the signal from a child process: kill(parent) every 20 ms until the pipe closes */
    on(SIGUSR1, count_handler, 0, NULL);
    int cp[2];
    pipe(cp);
    pid_t me0 = me;
    pid_t c = fork();
    if (c == 0) {
        close(cp[1]);
        fcntl(cp[0], F_SETFL, O_NONBLOCK);
        for (int i = 0; i < 100; i++) {
            sleep_ms(20);
            char b;
            if (read(cp[0], &b, 1) == 0)
                break;
            kill(me0, SIGUSR1);
        }
        _exit(0);
    }
    close(cp[0]);
    errno = 0;
    r = read(x.rfd, buf, 1);
    e = errno;
    close(cp[1]);
    twait(c, &st, 0, 5000);
    check(r == -1 && e == EINTR, "eintr_read_from_child", "read returned %ld errno %d", r, e);
    close(x.rfd);
    close(x.wfd);
    return t_exit();
}

/* ---------------------------------------------------------------------------------------------
 * stop */

static int sigcont_fd = -1;
static void sigcont_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    char c = 'c';
    write(sigcont_fd, &c, 1);
}

/* read up to n bytes within ms (poll); returns the count */
static int read_within(int fd, char *buf, int n, long ms)
{
    int got = 0;
    int64_t end = mono_ns() + ms * NS_MS;
    while (got < n) {
        int64_t left = (end - mono_ns()) / NS_MS;
        if (left <= 0)
            break;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, (int)left) <= 0)
            continue;
        long r = read(fd, buf + got, n - got);
        if (r <= 0)
            break;
        got += r;
    }
    return got;
}

static void *spin_counter(void *p)
{
    volatile long *ctr = p;
    for (;;)
        (*ctr)++;
    return NULL;
}

static int mode_stop(void)
{
    siginfo_t si;
    int st, got;
    pid_t w, c;
    char b;
    block(SIGCHLD);

    /* SIGSTOP from the child itself; SIGCONT; exit */
    int go[2];
    pipe(go);
    c = fork();
    if (c == 0) {
        close(go[1]);
        setpgid(0, 0);
        raise(SIGSTOP);
        read(go[0], &b, 1);
        _exit(5);
    }
    close(go[0]);
    w = twait(c, &st, WUNTRACED, 2000);
    check(w == c && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "stop_wuntraced", "%d %s", w, wstr(st));
    memset(&si, 0, sizeof si);
    got = wait_sig(SIGCHLD, &si, 2000);
    check(got == SIGCHLD && si.si_code == CLD_STOPPED && si.si_status == SIGSTOP && si.si_pid == c,
          "stop_sigchld_stopped", "got %d code %d status %d pid %d", got, si.si_code, si.si_status,
          si.si_pid);
    kill(c, SIGCONT);
    w = twait(c, &st, WCONTINUED, 2000);
    check(w == c && WIFCONTINUED(st), "stop_wcontinued", "%d %s", w, wstr(st));
    memset(&si, 0, sizeof si);
    got = wait_sig(SIGCHLD, &si, 2000);
    check(got == SIGCHLD && si.si_code == CLD_CONTINUED && si.si_status == SIGCONT && si.si_pid == c,
          "stop_sigchld_continued", "got %d code %d status %d pid %d", got, si.si_code, si.si_status,
          si.si_pid);
    write(go[1], "g", 1);
    w = twait(c, &st, 0, 2000);
    check(w == c && WIFEXITED(st) && WEXITSTATUS(st) == 5, "stop_then_exit", "%s", wstr(st));
    memset(&si, 0, sizeof si);
    got = wait_sig(SIGCHLD, &si, 2000);
    check(got == SIGCHLD && si.si_code == CLD_EXITED && si.si_status == 5, "stop_sigchld_exited",
          "got %d code %d status %d", got, si.si_code, si.si_status);
    close(go[1]);

    /* SIGTSTP from the parent while the child is blocked in read: it stops, continues, and the
     * read goes on (no handler: restarted transparently) */
    int rdy[2], go2[2];
    pipe(rdy);
    pipe(go2);
    c = fork();
    if (c == 0) {
        setpgid(0, 0);
        write(rdy[1], "r", 1);
        long n = read(go2[0], &b, 1);
        _exit(n == 1 && b == 'g' ? 0 : 1);
    }
    setpgid(c, c);
    read(rdy[0], &b, 1);
    sleep_ms(20);
    kill(c, SIGTSTP);
    w = twait(c, &st, WUNTRACED, 2000);
    check(w == c && WIFSTOPPED(st) && WSTOPSIG(st) == SIGTSTP, "stop_tstp", "%d %s", w, wstr(st));
    kill(c, SIGCONT);
    w = twait(c, &st, WCONTINUED, 2000);
    write(go2[1], "g", 1);
    w = twait(c, &st, 0, 2000);
    check(w == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "stop_read_continues", "%s (1: the read "
          "failed)", wstr(st));
    drain(SIGCHLD);

    /* nanosleep across a stop: restarted for the time left, returns 0 */
    c = fork();
    if (c == 0) {
        setpgid(0, 0);
        write(rdy[1], "r", 1);
        struct timespec ts = {0, 300 * NS_MS}, rem;
        int64_t t0 = mono_ns();
        int r = nanosleep(&ts, &rem);
        int64_t el = mono_ns() - t0;
        _exit(r != 0 ? 1 : el < 300 * NS_MS ? 2 : 0);
    }
    setpgid(c, c);
    read(rdy[0], &b, 1);
    sleep_ms(30);
    kill(c, SIGSTOP);
    w = twait(c, &st, WUNTRACED, 2000);
    sleep_ms(50);
    kill(c, SIGCONT);
    w = twait(c, &st, 0, 2000);
    check(w == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "stop_nanosleep_continues",
          "%s (1: nanosleep failed, 2: it returned early)", wstr(st));
    drain(SIGCHLD);

    /* SA_NOCLDSTOP: no SIGCHLD for stop and continue, one for the exit */
    on(SIGCHLD, count_handler, SA_NOCLDSTOP, NULL);
    pipe(go);
    c = fork();
    if (c == 0) {
        setpgid(0, 0);
        raise(SIGSTOP);
        read(go[0], &b, 1);
        _exit(0);
    }
    w = twait(c, &st, WUNTRACED, 2000);
    kill(c, SIGCONT);
    twait(c, &st, WCONTINUED, 2000);
    sleep_ms(30);
    check(!(pending_mask() & bit(SIGCHLD)), "stop_nocldstop", "SIGCHLD pending after stop/continue");
    write(go[1], "g", 1);
    twait(c, &st, 0, 2000);
    memset(&si, 0, sizeof si);
    got = wait_sig(SIGCHLD, &si, 2000);
    check(got == SIGCHLD && si.si_code == CLD_EXITED, "stop_nocldstop_exit_signal", "got %d code %d",
          got, si.si_code);
    disp(SIGCHLD, SIG_DFL);
    close(go[0]);
    close(go[1]);

    /* SIGCONT continues a child that blocks SIGCONT; its handler runs when it unblocks */
    int cf[2];
    pipe(cf);
    c = fork();
    if (c == 0) {
        sigcont_fd = cf[1];
        setpgid(0, 0);
        on(SIGCONT, sigcont_handler, 0, NULL);
        block(SIGCONT);
        raise(SIGSTOP);
        write(cf[1], "a", 1);
        unblock(SIGCONT);
        _exit(0);
    }
    w = twait(c, &st, WUNTRACED, 2000);
    kill(c, SIGCONT);
    char two[3] = {0};
    int n = read_within(cf[0], two, 2, 2000);
    check(n == 2 && two[0] == 'a' && two[1] == 'c', "stop_sigcont_blocked_handler",
          "child wrote '%s' (want 'ac': continued although SIGCONT blocked, handler after unblock)",
          two);
    twait(c, &st, 0, 2000);
    close(cf[0]);
    close(cf[1]);
    drain(SIGCHLD);

    /* SIGKILL ends a stopped child */
    c = fork();
    if (c == 0) {
        setpgid(0, 0);
        raise(SIGSTOP);
        _exit(0);
    }
    twait(c, &st, WUNTRACED, 2000);
    kill(c, SIGKILL);
    w = twait(c, &st, 0, 2000);
    check(w == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "stop_sigkill_stopped", "%s", wstr(st));
    drain(SIGCHLD);

    /* SIGTSTP (default action) to an orphaned process group is discarded */
    c = fork();
    if (c == 0) {
        setsid();
        write(rdy[1], "r", 1);
        long n = read(go2[0], &b, 1);
        _exit(n == 1 ? 0 : 1);
    }
    read(rdy[0], &b, 1);
    kill(c, SIGTSTP);
    write(go2[1], "g", 1);
    w = twait(c, &st, WUNTRACED, 2000);
    check(w == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "stop_tstp_orphaned_ignored", "%s", wstr(st));
    if (w == c && WIFSTOPPED(st)) {
        kill(c, SIGKILL);
        twait(c, &st, 0, 2000);
    }
    drain(SIGCHLD);

    /* every thread of a process stops */
    volatile long *ctr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    c = fork();
    if (c == 0) {
        setpgid(0, 0);
        pthread_t th;
        pthread_create(&th, NULL, spin_counter, (void *)ctr);
        for (;;)
            pause();
    }
    setpgid(c, c);
    int64_t end = mono_ns() + 2000 * NS_MS;
    while (*ctr == 0 && mono_ns() < end)
        sleep_ms(1);
    kill(c, SIGSTOP);
    w = twait(c, &st, WUNTRACED, 2000);
    long c1 = *ctr;
    sleep_ms(50);
    long c2 = *ctr;
    check(w == c && WIFSTOPPED(st) && c1 > 0 && c1 == c2, "stop_all_threads",
          "%s, counter %ld then %ld", wstr(st), c1, c2);
    kill(c, SIGCONT);
    end = mono_ns() + 2000 * NS_MS;
    while (*ctr == c2 && mono_ns() < end)
        sleep_ms(1);
    check(*ctr != c2, "stop_threads_continue", "counter stuck at %ld", c2);
    kill(c, SIGKILL);
    twait(c, &st, 0, 2000);
    drain(SIGCHLD);
    unblock(SIGCHLD);
    return t_exit();
}

/* ---------------------------------------------------------------------------------------------
 * pgrp, killall */

/* fork n children that set sig to SIG_DFL, report ready on a pipe and pause; pgid: 0 = keep
 * the caller's group, -1 = a new group led by the first child, else join pgid */
static void spawn_pausers(pid_t *kids, int n, int sig, pid_t pgid)
{
    int rdy[2];
    pipe(rdy);
    for (int i = 0; i < n; i++) {
        pid_t want = pgid == -1 ? (i == 0 ? 0 : kids[0]) : pgid;
        kids[i] = fork();
        if (kids[i] == 0) {
            if (pgid != 0)
                setpgid(0, want);
            disp(sig, SIG_DFL);
            unblock(sig);
            write(rdy[1], "r", 1);
            for (;;)
                pause();
        }
        if (pgid != 0)
            setpgid(kids[i], want ? want : kids[i]);
    }
    char b[8];
    read_within(rdy[0], b, n, 5000);
    close(rdy[0]);
    close(rdy[1]);
}

static int reaped_by(pid_t *kids, int n, int sig)
{
    int ok = 1;
    for (int i = 0; i < n; i++) {
        int st;
        pid_t w = twait(kids[i], &st, 0, 2000);
        ok = ok && w == kids[i] && WIFSIGNALED(st) && WTERMSIG(st) == sig;
    }
    return ok;
}

static int mode_pgrp(void)
{
    on(SIGUSR1, count_handler, SA_RESTART, NULL);
    on(SIGTERM, count_handler, SA_RESTART, NULL);
    int n1 = cnt[SIGUSR1];
    /* kill(0, sig) from a group leader with two members */
    pid_t L = fork();
    if (L == 0) {
        setpgid(0, 0);
        pid_t g[2];
        spawn_pausers(g, 2, SIGUSR1, 0);
        int n0 = cnt[SIGUSR1], bad = 0;
        if (kill(0, SIGUSR1) != 0)
            bad |= 1;
        if (cnt[SIGUSR1] != n0 + 1)
            bad |= 2;
        if (!reaped_by(g, 2, SIGUSR1))
            bad |= 4;
        _exit(bad);
    }
    int st;
    pid_t w = twait(L, &st, 0, 5000);
    int b = w == L && WIFEXITED(st) ? WEXITSTATUS(st) : 255;
    check(b != 255, "pgrp_kill0_leader", "%s", wstr(st));
    check(!(b & 1), "pgrp_kill0_ret", "kill(0, SIGUSR1) failed");
    check(!(b & 2), "pgrp_kill0_self", "the caller's handler did not run before kill returned");
    check(!(b & 4), "pgrp_kill0_members", "the group members were not killed by SIGUSR1");
    check(cnt[SIGUSR1] == n1, "pgrp_kill0_not_outside", "the parent (another group) got it");

    /* kill(-pgrp, sig) from outside the group */
    pid_t k[2];
    spawn_pausers(k, 2, SIGTERM, -1);
    int nt = cnt[SIGTERM];
    check(getpgid(k[1]) == k[0], "pgrp_setup", "member's group %d, leader %d", getpgid(k[1]), k[0]);
    int r = kill(-k[0], SIGTERM);
    check(r == 0, "pgrp_kill_neg_ret", "kill(-%d) returned %d errno %d", k[0], r, errno);
    check(reaped_by(k, 2, SIGTERM), "pgrp_kill_neg_members", "members were not killed by SIGTERM");
    check(cnt[SIGTERM] == nt, "pgrp_kill_neg_not_caller", "the caller got it");
    EXPECT_ERR("pgrp_kill_empty_group", kill(-k[0], SIGTERM), ESRCH);
    check(kill(0, 0) == 0, "pgrp_kill0_probe", "kill(0, 0): %s", strerror(errno));
    return t_exit();
}

static int mode_killall(void)
{
    on(SIGUSR2, count_handler, SA_RESTART, NULL);
    int n0 = cnt[SIGUSR2];
    pid_t C = fork();
    if (C == 0) {
        pid_t g[2];
        spawn_pausers(g, 2, SIGUSR2, 0);
        int n = cnt[SIGUSR2], bad = 0;
        if (kill(-1, SIGUSR2) != 0)
            bad |= 1;
        if (!reaped_by(g, 2, SIGUSR2))
            bad |= 4;
        if (cnt[SIGUSR2] != n)
            bad |= 2;
        _exit(bad);
    }
    int st;
    pid_t w = twait(C, &st, 0, 5000);
    int b = w == C && WIFEXITED(st) ? WEXITSTATUS(st) : 255;
    check(b != 255, "killall_caller", "%s", wstr(st));
    check(!(b & 1), "killall_ret", "kill(-1, SIGUSR2) failed");
    check(!(b & 2), "killall_not_caller", "the caller's own handler ran");
    check(!(b & 4), "killall_children", "the caller's children were not killed by SIGUSR2");
    check(cnt[SIGUSR2] == n0 + 1, "killall_parent", "the caller's parent got it %d times",
          cnt[SIGUSR2] - n0);
    return t_exit();
}

/* ---------------------------------------------------------------------------------------------
 * threads */

struct tst {
    volatile pid_t tid;
    volatile int started, done, handled, handled2;
    volatile int64_t t_handler;
    long ret;
    int err;
    uint64_t mask0;
};
static struct tst tt[4];
static volatile uint32_t thr_word;
static int thr_pipe[2], thr_pipe2[2];

static struct tst *find_tst(void)
{
    pid_t t = gettid();
    for (int i = 0; i < 4; i++)
        if (tt[i].tid == t)
            return &tt[i];
    return NULL;
}

static void thr_handler(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    struct tst *x = find_tst();
    if (!x)
        return;
    if (sig == SIGUSR1) {
        if (!x->t_handler)
            x->t_handler = mono_ns(); /* the first time */
        x->handled++;
    } else {
        x->handled2++;
    }
}

static void *thr_fn(void *p)
{
    int i = (int)(intptr_t)p;
    struct tst *x = &tt[i];
    x->mask0 = cur_mask();
    x->tid = gettid();
    if (i == 3)
        unblock(SIGUSR2);
    __atomic_store_n(&x->started, 1, __ATOMIC_RELEASE);
    errno = 0;
    switch (i) {
    case 0: x->ret = futex_wait(&thr_word, 0); break;
    case 1: { char c; x->ret = read(thr_pipe[0], &c, 1); break; }
    case 2: { struct pollfd pf = {.fd = thr_pipe2[0], .events = POLLIN}; x->ret = poll(&pf, 1, -1); break; }
    case 3: while (!x->handled) ; x->ret = 0; break;
    }
    x->err = errno;
    __atomic_store_n(&x->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static uint64_t pend_seen;
static void *pend_fn(void *p) { (void)p; pend_seen = pending_mask(); return NULL; }

static int mode_threads(void)
{
    on(SIGUSR1, thr_handler, 0, NULL);
    on(SIGUSR2, thr_handler, 0, NULL);
    pipe(thr_pipe);
    pipe(thr_pipe2);
    block(SIGUSR2);
    uint64_t m0 = cur_mask();
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, thr_fn, (void *)(intptr_t)i);
    int64_t end = mono_ns() + 5000 * NS_MS;
    for (int i = 0; i < 4; i++)
        while (!tt[i].started && mono_ns() < end)
            sleep_ms(1);
    sleep_ms(30);
    check(tt[0].mask0 == m0 && tt[3].mask0 == m0, "threads_mask_inherited", "0x%llx 0x%llx, creator "
          "0x%llx", (unsigned long long)tt[0].mask0, (unsigned long long)tt[3].mask0,
          (unsigned long long)m0);
    check(cur_mask() == m0, "threads_mask_per_thread", "the spinner's unblock changed main's mask "
          "to 0x%llx", (unsigned long long)cur_mask());

    /* a process-directed signal goes to the only thread that does not block it: the spinner */
    kill(me, SIGUSR2);
    end = mono_ns() + 2000 * NS_MS;
    while (!tt[3].handled2 && mono_ns() < end)
        sleep_ms(1);
    int others = tt[0].handled2 + tt[1].handled2 + tt[2].handled2;
    check(tt[3].handled2 == 1 && others == 0, "threads_process_signal_to_unblocked",
          "spinner %d, others %d", tt[3].handled2, others);

    const char *names[] = {"threads_futex_eintr", "threads_read_eintr", "threads_poll_eintr",
                           "threads_spinner"};
    for (int i = 0; i < 4; i++) {
        int64_t t0 = mono_ns(), t_first;
        end = t0 + 3000 * NS_MS;
        int64_t resend = 0;
        while (!tt[i].done && mono_ns() < end) {
            if (mono_ns() >= resend) { /* again if it was not blocked yet the first time */
                sys_tgkill(me, tt[i].tid, SIGUSR1);
                resend = mono_ns() + 300 * NS_MS;
            }
            sleep_ms(1);
        }
        t_first = tt[i].t_handler;
        int64_t lat = t_first ? t_first - t0 : -1;
        int ok = tt[i].done && tt[i].handled >= 1 && (i == 3 || (tt[i].ret == -1 && tt[i].err == EINTR));
        check(ok, names[i], "done %d, handler ran %d times in it, returned %ld errno %d", tt[i].done,
              tt[i].handled, tt[i].ret, tt[i].err);
        char nm[64];
        snprintf(nm, sizeof nm, "%s_prompt", names[i]);
        check(lat >= 0 && lat < 500 * NS_MS, nm, "handler %lld us after tgkill", (long long)(lat / 1000));
    }
    for (int i = 0; i < 4; i++)
        tjoin(th[i], NULL, 2000);

    /* a signal for one thread is pending for that thread only */
    sys_tgkill(me, gettid(), SIGUSR2);
    pthread_t pt;
    pthread_create(&pt, NULL, pend_fn, NULL);
    tjoin(pt, NULL, 2000);
    check(pending_mask() == bit(SIGUSR2) && pend_seen == 0, "threads_pending_per_thread",
          "main 0x%llx, other thread 0x%llx", (unsigned long long)pending_mask(),
          (unsigned long long)pend_seen);
    drain(SIGUSR2);
    return t_exit();
}

/* ---------------------------------------------------------------------------------------------
 * cancel */

static volatile int cleanup_ran, c_started;
static int cancel_pipe[2];
static void cleanup_fn(void *p) { (void)p; cleanup_ran = 1; }
static void *cancel_read_fn(void *p)
{
    (void)p;
    char b;
    pthread_cleanup_push(cleanup_fn, NULL);
    c_started = 1;
    read(cancel_pipe[0], &b, 1);
    pthread_cleanup_pop(0);
    return (void *)1;
}
static void *cancel_pause_fn(void *p)
{
    (void)p;
    c_started = 1;
    for (;;)
        pause();
    return NULL;
}
static void *cancel_test_fn(void *p)
{
    (void)p;
    c_started = 1;
    for (;;)
        pthread_testcancel();
    return NULL;
}
static void *cancel_async_fn(void *p)
{
    (void)p;
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
    c_started = 1;
    for (volatile unsigned long i = 0;; i++)
        ;
    return NULL;
}

static void cancel_one(const char *name, void *(*fn)(void *))
{
    pthread_t th;
    c_started = 0;
    cleanup_ran = 0;
    pthread_create(&th, NULL, fn, NULL);
    wait_atleast(&c_started, 1, 2000);
    sleep_ms(20);
    pthread_cancel(th);
    void *ret = NULL;
    int r = tjoin(th, &ret, 3000);
    check(r == 0 && ret == PTHREAD_CANCELED, name, "join: %s, value %p", strerror(r), ret);
}

static int mode_cancel(void)
{
    pipe(cancel_pipe);
    cancel_one("cancel_read", cancel_read_fn);
    check(cleanup_ran, "cancel_read_cleanup", "the cleanup handler did not run");
    cancel_one("cancel_pause", cancel_pause_fn);
    cancel_one("cancel_testcancel", cancel_test_fn);
    cancel_one("cancel_async", cancel_async_fn);
    return t_exit();
}

/* ---------------------------------------------------------------------------------------------
 * pipe, sigpipe, term, sigkill */

static pid_t pipe_handler_tid;
static void pipe_handler(int sig, siginfo_t *si, void *uc)
{
    info_handler(sig, si, uc);
    pipe_handler_tid = gettid();
}

static int pipe_wfd;
static long pipe_thread_ret;
static int pipe_thread_err;
static pid_t pipe_thread_tid;
static void *pipe_writer(void *p)
{
    (void)p;
    pipe_thread_tid = gettid();
    errno = 0;
    pipe_thread_ret = write(pipe_wfd, "x", 1);
    pipe_thread_err = errno;
    return NULL;
}

static int mode_pipe(void)
{
    int p[2];
    pipe(p);
    close(p[0]);
    pipe_wfd = p[1];
    on(SIGPIPE, pipe_handler, 0, NULL);
    int n = last_n;
    errno = 0;
    long r = write(p[1], "x", 1);
    int e = errno;
    check(r == -1 && e == EPIPE, "pipe_epipe", "write returned %ld errno %d", r, e);
    check_info("pipe_sigpipe_handler", n, SIGPIPE, SI_USER, me, getuid(), 0, 0);
    /* from a second thread: the writer gets it */
    pthread_t th;
    n = last_n;
    pthread_create(&th, NULL, pipe_writer, NULL);
    tjoin(th, NULL, 2000);
    check(pipe_thread_ret == -1 && pipe_thread_err == EPIPE && last_n == n + 1 &&
              pipe_handler_tid == pipe_thread_tid,
          "pipe_sigpipe_to_writer", "write %ld errno %d, handler ran %d times in %d (writer %d)",
          pipe_thread_ret, pipe_thread_err, last_n - n, pipe_handler_tid, pipe_thread_tid);
    /* blocked: EPIPE, and SIGPIPE stays pending */
    block(SIGPIPE);
    errno = 0;
    r = write(p[1], "x", 1);
    e = errno;
    check(r == -1 && e == EPIPE && pending_mask() == bit(SIGPIPE), "pipe_blocked_pending",
          "write %ld errno %d, pending 0x%llx", r, e, (unsigned long long)pending_mask());
    drain(SIGPIPE);
    unblock(SIGPIPE);
    /* ignored */
    disp(SIGPIPE, SIG_IGN);
    errno = 0;
    r = write(p[1], "x", 1);
    e = errno;
    check(r == -1 && e == EPIPE && pending_mask() == 0, "pipe_ignored", "write %ld errno %d, pending "
          "0x%llx", r, e, (unsigned long long)pending_mask());
    close(p[1]);
    return t_exit();
}

static int mode_sigpipe(void)
{
    int p[2];
    pipe(p);
    close(p[0]);
    pass("sigpipe_setup");
    write(p[1], "x", 1);
    fail("sigpipe_survived", "write to a pipe without reader returned (errno %d)", errno);
    return 1;
}

static void *term_fn(void *p)
{
    (void)p;
    sleep_ms(20);
    kill(getpid(), SIGTERM);
    return NULL;
}

static int mode_term(void)
{
    pthread_t th;
    pthread_create(&th, NULL, term_fn, NULL);
    pass("term_setup");
    for (int i = 0; i < 200; i++)
        sleep_ms(10);
    fail("term_survived", "SIGTERM (default action) did not end the process");
    return 1;
}

static volatile uint32_t kill_word;
static void *kill_waiter(void *p)
{
    (void)p;
    for (;;)
        futex_wait(&kill_word, 0);
    return NULL;
}

static long sys_sigaction(int sig, const void *act, void *oact, size_t size)
{
    return syscall(SYS_rt_sigaction, sig, act, oact, size);
}

struct ksa { /* the kernel's struct sigaction on riscv64: no sa_restorer */
    uintptr_t handler;
    unsigned long flags;
    uint64_t mask;
};

static int mode_sigkill(void)
{
    struct ksa act = {.handler = (uintptr_t)count_handler, .flags = SA_SIGINFO};
    struct ksa ign = {.handler = (uintptr_t)SIG_IGN};
    EXPECT_ERR("sigkill_catch", sys_sigaction(SIGKILL, &act, NULL, 8), EINVAL);
    EXPECT_ERR("sigkill_ignore", sys_sigaction(SIGKILL, &ign, NULL, 8), EINVAL);
    EXPECT_ERR("sigstop_catch", sys_sigaction(SIGSTOP, &act, NULL, 8), EINVAL);
    EXPECT_ERR("sigstop_ignore", sys_sigaction(SIGSTOP, &ign, NULL, 8), EINVAL);
    struct ksa o = {1, 1, 1};
    long r = sys_sigaction(SIGKILL, NULL, &o, 8);
    check(r == 0 && o.handler == (uintptr_t)SIG_DFL, "sigkill_query", "returned %ld, handler %#lx",
          r, (unsigned long)o.handler);
    uint64_t all = ~0ULL;
    r = syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, NULL, 8);
    uint64_t m = 0;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &m, 8);
    check(r == 0 && !(m & bit(SIGKILL)) && !(m & bit(SIGSTOP)) && (m & bit(SIGTERM)),
          "sigkill_unblockable", "returned %ld, mask 0x%llx", r, (unsigned long long)m);
    pthread_t th;
    pthread_create(&th, NULL, kill_waiter, NULL);
    sleep_ms(10);
    pass("sigkill_setup");
    kill(me, SIGKILL);
    sleep_ms(1000);
    fail("sigkill_survived", "SIGKILL did not end the process");
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * errors */

static int mode_errors(void)
{
    /* an unmapped page */
    char *bad = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(bad + 4096, 4096);
    char *page_end = bad + 4096;
    bad = page_end; /* unmapped */
    struct ksa act = {.handler = (uintptr_t)count_handler, .flags = SA_SIGINFO};
    struct ksa o;

    EXPECT_ERR("errors_sigaction_sig0", sys_sigaction(0, &act, NULL, 8), EINVAL);
    EXPECT_ERR("errors_sigaction_sig65", sys_sigaction(65, &act, NULL, 8), EINVAL);
    EXPECT_ERR("errors_sigaction_sig65_query", sys_sigaction(65, NULL, &o, 8), EINVAL);
    EXPECT_ERR("errors_sigaction_sig0_noact", sys_sigaction(0, NULL, NULL, 8), EINVAL);
    EXPECT_ERR("errors_sigaction_size4", sys_sigaction(SIGUSR1, &act, NULL, 4), EINVAL);
    EXPECT_ERR("errors_sigaction_size16", sys_sigaction(SIGUSR1, &act, NULL, 16), EINVAL);
    EXPECT_ERR("errors_sigaction_bad_act", sys_sigaction(SIGUSR1, bad, NULL, 8), EFAULT);
    EXPECT_ERR("errors_sigaction_bad_oact", sys_sigaction(SIGUSR2, &act, bad, 8), EFAULT);
    sys_sigaction(SIGUSR2, NULL, &o, 8);
    check(o.handler == (uintptr_t)count_handler, "errors_sigaction_bad_oact_still_set",
          "handler %#lx (Linux installs the new action before writing oact)", (unsigned long)o.handler);
    /* Linux copies act in before it looks at sig */
    EXPECT_ERR("errors_sigaction_order_bad_act_sig0", sys_sigaction(0, bad, NULL, 8), EFAULT);
    EXPECT_ERR("errors_sigaction_order_size_first", sys_sigaction(0, bad, NULL, 4), EINVAL);
    EXPECT_ERR("errors_sigaction_kernel_ptr", sys_sigaction(SIGUSR1, (void *)0xffffffc080200000UL,
                                                            NULL, 8), EFAULT);
    /* struct sigaction is 24 bytes: act in the last 24 bytes of a page works, oact writes 24 */
    struct ksa *edge = (struct ksa *)(page_end - sizeof(struct ksa));
    *edge = act;
    check(sizeof(struct ksa) == 24 && sys_sigaction(SIGUSR1, edge, NULL, 8) == 0,
          "errors_sigaction_act_24_bytes", "act at the end of a page: %s", strerror(errno));
    check(sys_sigaction(SIGUSR1, NULL, edge, 8) == 0 && edge->handler == act.handler,
          "errors_sigaction_oact_24_bytes", "oact at the end of a page: %s", strerror(errno));
    unsigned char canary[40];
    memset(canary, 0xaa, sizeof canary);
    sys_sigaction(SIGUSR1, NULL, canary, 8);
    int intact = 1;
    for (int i = 24; i < 40; i++)
        intact = intact && canary[i] == 0xaa;
    check(intact, "errors_sigaction_oact_size", "bytes after the 24 of oact were written");

    /* rt_sigprocmask */
    uint64_t set = bit(SIGUSR1), old;
    EXPECT_ERR("errors_sigprocmask_bad_how", syscall(SYS_rt_sigprocmask, 99, &set, NULL, 8), EINVAL);
    check(syscall(SYS_rt_sigprocmask, 99, NULL, &old, 8) == 0, "errors_sigprocmask_bad_how_no_set",
          "how is ignored without a set: %s", strerror(errno));
    EXPECT_ERR("errors_sigprocmask_size4", syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 4), EINVAL);
    EXPECT_ERR("errors_sigprocmask_bad_set", syscall(SYS_rt_sigprocmask, SIG_BLOCK, bad, NULL, 8), EFAULT);
    EXPECT_ERR("errors_sigprocmask_bad_oset", syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, bad, 8), EFAULT);
    check(cur_mask() == bit(SIGUSR1), "errors_sigprocmask_bad_oset_still_set", "mask 0x%llx",
          (unsigned long long)cur_mask());
    mask_none();
    /* rt_sigpending: any size up to 8 */
    EXPECT_ERR("errors_sigpending_size16", syscall(SYS_rt_sigpending, &old, 16), EINVAL);
    check(syscall(SYS_rt_sigpending, &old, 4) == 0, "errors_sigpending_size4_ok", "%s", strerror(errno));
    EXPECT_ERR("errors_sigpending_bad", syscall(SYS_rt_sigpending, bad, 8), EFAULT);
    /* rt_sigsuspend */
    EXPECT_ERR("errors_sigsuspend_size4", syscall(SYS_rt_sigsuspend, &set, 4), EINVAL);
    EXPECT_ERR("errors_sigsuspend_bad", syscall(SYS_rt_sigsuspend, bad, 8), EFAULT);
    /* rt_sigtimedwait */
    struct timespec ts = {0, 0};
    siginfo_t si;
    EXPECT_ERR("errors_sigtimedwait_size4", syscall(SYS_rt_sigtimedwait, &set, &si, &ts, 4), EINVAL);
    EXPECT_ERR("errors_sigtimedwait_bad_set", syscall(SYS_rt_sigtimedwait, bad, &si, &ts, 8), EFAULT);
    EXPECT_ERR("errors_sigtimedwait_bad_ts", syscall(SYS_rt_sigtimedwait, &set, &si, bad, 8), EFAULT);
    ts.tv_nsec = 1000000000;
    EXPECT_ERR("errors_sigtimedwait_nsec_big", syscall(SYS_rt_sigtimedwait, &set, &si, &ts, 8), EINVAL);
    ts.tv_nsec = -1;
    EXPECT_ERR("errors_sigtimedwait_nsec_neg", syscall(SYS_rt_sigtimedwait, &set, &si, &ts, 8), EINVAL);
    /* sigaltstack */
    EXPECT_ERR("errors_sigaltstack_bad_ss", syscall(SYS_sigaltstack, bad, NULL), EFAULT);
    EXPECT_ERR("errors_sigaltstack_bad_oss", syscall(SYS_sigaltstack, NULL, bad), EFAULT);

    /* kill, tkill, tgkill */
    pid_t none = 0x3ffffff0; /* above any pid_max */
    EXPECT_ERR("errors_kill_sig65", kill(me, 65), EINVAL);
    EXPECT_ERR("errors_kill_sig_neg", kill(me, -1), EINVAL);
    EXPECT_ERR("errors_kill_no_pid", kill(none, SIGUSR1), ESRCH);
    EXPECT_ERR("errors_kill_no_pid_sig0", kill(none, 0), ESRCH);
    EXPECT_ERR("errors_kill_order_no_pid_sig65", kill(none, 65), ESRCH);
    EXPECT_ERR("errors_kill_int_min", kill(INT_MIN, 0), ESRCH);
    check(kill(me, 0) == 0, "errors_kill_probe_self", "%s", strerror(errno));
    EXPECT_ERR("errors_tgkill_wrong_tgid", sys_tgkill(me + 1 == gettid() ? me + 2 : me + 1, gettid(),
                                                      SIGUSR1), ESRCH);
    EXPECT_ERR("errors_tgkill_tgid0", sys_tgkill(0, gettid(), SIGUSR1), EINVAL);
    EXPECT_ERR("errors_tgkill_tid0", sys_tgkill(me, 0, SIGUSR1), EINVAL);
    EXPECT_ERR("errors_tgkill_neg", sys_tgkill(-1, gettid(), SIGUSR1), EINVAL);
    EXPECT_ERR("errors_tgkill_sig65", sys_tgkill(me, gettid(), 65), EINVAL);
    EXPECT_ERR("errors_tgkill_no_tid", sys_tgkill(me, none, SIGUSR1), ESRCH);
    EXPECT_ERR("errors_tkill_tid0", sys_tkill(0, SIGUSR1), EINVAL);
    EXPECT_ERR("errors_tkill_neg", sys_tkill(-5, SIGUSR1), EINVAL);
    EXPECT_ERR("errors_tkill_no_tid", sys_tkill(none, SIGUSR1), ESRCH);

    /* rt_sigqueueinfo: to another process only negative codes other than SI_TKILL */
    int rel[2];
    pipe(rel);
    pid_t c = fork();
    if (c == 0) {
        char b;
        close(rel[1]);
        read(rel[0], &b, 1);
        _exit(0);
    }
    close(rel[0]);
    memset(&si, 0, sizeof si);
    si.si_signo = SIGWINCH; /* default: ignored, so the child does not care */
    si.si_code = SI_USER;
    EXPECT_ERR("errors_sigqueueinfo_si_user_other", rt_sigqueueinfo(c, SIGWINCH, &si), EPERM);
    si.si_code = SI_KERNEL;
    EXPECT_ERR("errors_sigqueueinfo_si_kernel_other", rt_sigqueueinfo(c, SIGWINCH, &si), EPERM);
    si.si_code = SI_TKILL;
    EXPECT_ERR("errors_sigqueueinfo_si_tkill_other", rt_sigqueueinfo(c, SIGWINCH, &si), EPERM);
    si.si_code = SI_USER;
    EXPECT_ERR("errors_tgsigqueueinfo_si_user_other",
               syscall(SYS_rt_tgsigqueueinfo, c, c, SIGWINCH, &si), EPERM);
    si.si_code = SI_QUEUE;
    check(rt_sigqueueinfo(c, SIGWINCH, &si) == 0, "errors_sigqueueinfo_si_queue_other", "%s",
          strerror(errno));
    EXPECT_ERR("errors_sigqueueinfo_bad_info", rt_sigqueueinfo(c, SIGWINCH, (siginfo_t *)bad), EFAULT);
    EXPECT_ERR("errors_sigqueueinfo_no_pid", rt_sigqueueinfo(none, SIGWINCH, &si), ESRCH);
    EXPECT_ERR("errors_sigqueueinfo_sig65", rt_sigqueueinfo(me, 65, &si), EINVAL);
    write(rel[1], "x", 1);
    int st;
    twait(c, &st, 0, 2000);
    close(rel[1]);
    return t_exit();
}

/* ---------------------------------------------------------------------------------------------
 * flags */

static volatile int fl_depth, fl_maxdepth, fl_n;
static volatile uint64_t fl_mask;
static volatile uintptr_t fl_handler_inside;
static void fl_handler(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    fl_n++;
    int d = ++fl_depth;
    if (d > fl_maxdepth)
        fl_maxdepth = d;
    if (fl_n == 1) {
        fl_mask = cur_mask();
        struct sigaction o;
        sigaction(sig, NULL, &o);
        fl_handler_inside = (uintptr_t)o.sa_handler;
        raise(sig); /* nested now (SA_NODEFER) or after the return */
    }
    fl_depth--;
}

static int mode_flags(void)
{
    /* SA_RESETHAND: SIG_DFL on entry; the signal is still blocked inside */
    on(SIGUSR1, fl_handler, SA_RESETHAND, NULL);
    disp(SIGUSR2, SIG_IGN);
    fl_n = fl_depth = fl_maxdepth = 0;
    /* the nested raise would kill with SIG_DFL: use SIGURG (default ignore) for this one */
    on(SIGURG, fl_handler, SA_RESETHAND, NULL);
    raise(SIGURG);
    struct sigaction o;
    sigaction(SIGURG, NULL, &o);
    check(fl_handler_inside == (uintptr_t)SIG_DFL && o.sa_handler == SIG_DFL && fl_n == 1,
          "flags_resethand", "inside %#lx, after %p, ran %d times (the second raise hits SIG_DFL)",
          (unsigned long)fl_handler_inside, (void *)o.sa_handler, fl_n);
    check(fl_mask & bit(SIGURG), "flags_resethand_blocked_inside", "mask 0x%llx",
          (unsigned long long)fl_mask);
    /* SA_NODEFER: the nested raise runs at once */
    on(SIGUSR1, fl_handler, SA_NODEFER, NULL);
    fl_n = fl_depth = fl_maxdepth = 0;
    raise(SIGUSR1);
    check(fl_n == 2 && fl_maxdepth == 2 && !(fl_mask & bit(SIGUSR1)), "flags_nodefer",
          "ran %d times, depth %d, mask inside 0x%llx", fl_n, fl_maxdepth, (unsigned long long)fl_mask);
    /* default: blocked inside, the raise runs after the return */
    on(SIGUSR1, fl_handler, 0, (int[]){SIGHUP, 0});
    fl_n = fl_depth = fl_maxdepth = 0;
    raise(SIGUSR1);
    check(fl_n == 2 && fl_maxdepth == 1 && fl_mask == (bit(SIGUSR1) | bit(SIGHUP)), "flags_defer",
          "ran %d times, depth %d, mask inside 0x%llx", fl_n, fl_maxdepth, (unsigned long long)fl_mask);
    /* oact returns what was set; SIGKILL/SIGSTOP are dropped from sa_mask */
    struct ksa act = {.handler = (uintptr_t)fl_handler,
                      .flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER | SA_RESETHAND |
                               SA_NOCLDSTOP | SA_NOCLDWAIT,
                      .mask = bit(SIGHUP) | bit(RT(3)) | bit(64) | bit(SIGKILL) | bit(SIGSTOP)};
    struct ksa ko;
    sys_sigaction(SIGUSR1, &act, NULL, 8);
    sys_sigaction(SIGUSR1, NULL, &ko, 8);
    check(ko.handler == act.handler && ko.flags == act.flags &&
              ko.mask == (bit(SIGHUP) | bit(RT(3)) | bit(64)),
          "flags_roundtrip", "handler %#lx flags %#lx mask %#llx", (unsigned long)ko.handler,
          ko.flags, (unsigned long long)ko.mask);
    /* unknown flag bits are cleared */
    act.flags = SA_SIGINFO | SA_RESTART | SA_UNSUPPORTED_BIT | 0x00100000;
    act.mask = 0;
    sys_sigaction(SIGUSR1, &act, NULL, 8);
    sys_sigaction(SIGUSR1, NULL, &ko, 8);
    check(ko.flags == (SA_SIGINFO | SA_RESTART), "flags_unknown_cleared", "flags %#lx", ko.flags);
    /* the old action is returned by the call that replaces it */
    struct ksa dfl = {.handler = (uintptr_t)SIG_DFL};
    sys_sigaction(SIGUSR1, &dfl, &ko, 8);
    check(ko.handler == act.handler && ko.flags == (SA_SIGINFO | SA_RESTART), "flags_oact_with_act",
          "handler %#lx flags %#lx", (unsigned long)ko.handler, ko.flags);
    /* a handler without SA_SIGINFO */
    disp(SIGUSR1, (void (*)(int))fl_handler);
    fl_n = 0;
    raise(SIGUSR1);
    check(fl_n == 2, "flags_plain_handler", "ran %d times", fl_n);
    return t_exit();
}

/* ---------------------------------------------------------------------------------------------
 * badreturn */

static uint64_t garbage[1024] __attribute__((aligned(16)));

static int mode_badreturn(const char *how)
{
    if (!how)
        how = "";
    if (!strcmp(how, "garbage")) {
        memset(garbage, 0xa5, sizeof garbage);
        pass("badreturn_setup");
        sig_bad_return(&garbage[256]);
    } else if (!strcmp(how, "unmapped")) {
        char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        munmap(p, 4096);
        pass("badreturn_setup");
        sig_bad_return(p + 2048);
    }
    fail("badreturn_usage", "usage: signal badreturn garbage|unmapped");
    return 2;
}

/* ---------------------------------------------------------------------------------------------
 * main */

static int usage(void)
{
    fail("signal_usage", "usage: signal basic|regs|ucontext|info|chld|fault|fatal MODE|altstack|"
         "fork|exec|queue|wait|eintr|stop|pgrp|killall|threads|cancel|pipe|sigpipe|term|sigkill|"
         "errors|flags|badreturn MODE");
    return 2;
}

static const char *find_self(const char *argv0)
{
    static char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) {
        buf[n] = 0;
        return buf;
    }
    if (strchr(argv0, '/'))
        return argv0;
    snprintf(buf, sizeof buf, "/bin/%s", argv0);
    return buf;
}

int main(int argc, char **argv)
{
    t_init();
    me = getpid();
    self_path = find_self(argv[0]);
    const char *m = argc > 1 ? argv[1] : "";
    const char *a = argc > 2 ? argv[2] : NULL;
    if (!strcmp(m, "basic")) return mode_basic();
    if (!strcmp(m, "regs")) return mode_regs();
    if (!strcmp(m, "ucontext")) return mode_ucontext();
    if (!strcmp(m, "info")) return mode_info();
    if (!strcmp(m, "chld")) return mode_chld();
    if (!strcmp(m, "fault")) return mode_fault();
    if (!strcmp(m, "fatal")) return mode_fatal(a);
    if (!strcmp(m, "altstack")) return mode_altstack();
    if (!strcmp(m, "fork")) return mode_fork();
    if (!strcmp(m, "exec")) return mode_exec();
    if (!strcmp(m, "execchild")) return mode_execchild();
    if (!strcmp(m, "queue")) return mode_queue();
    if (!strcmp(m, "wait")) return mode_wait();
    if (!strcmp(m, "eintr")) return mode_eintr();
    if (!strcmp(m, "stop")) return mode_stop();
    if (!strcmp(m, "pgrp")) return mode_pgrp();
    if (!strcmp(m, "killall")) return mode_killall();
    if (!strcmp(m, "threads")) return mode_threads();
    if (!strcmp(m, "cancel")) return mode_cancel();
    if (!strcmp(m, "pipe")) return mode_pipe();
    if (!strcmp(m, "sigpipe")) return mode_sigpipe();
    if (!strcmp(m, "term")) return mode_term();
    if (!strcmp(m, "sigkill")) return mode_sigkill();
    if (!strcmp(m, "errors")) return mode_errors();
    if (!strcmp(m, "flags")) return mode_flags();
    if (!strcmp(m, "badreturn")) return mode_badreturn(a);
    return usage();
}
