//! Processes and threads: identity, clone/clone3, exit, wait4/waitid, execve, process groups
//! and sessions, resource limits and usage, robust-futex lists.

use super::{Args, Fast, err, ret, uaccess};
use crate::config;
use crate::mm::aspace::Mm;
use crate::task::process::{self, ExitStatus, Process};
use crate::task::{Thread, run, signal};
use crate::time;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_hal::trap::UserContext;

pub fn getpid(t: &Thread, _: &UserContext) -> Fast {
    Fast::Done(t.process.pid as isize)
}

pub fn gettid(t: &Thread, _: &UserContext) -> Fast {
    Fast::Done(t.tid() as isize)
}

pub fn getppid(t: &Thread, _: &UserContext) -> Fast {
    Fast::Done(t.process.ppid() as isize)
}

/// getuid, geteuid, getgid, getegid: everything runs as root for now.

pub fn set_tid_address(t: &Thread, c: &UserContext) -> Fast {
    t.clear_child_tid.store(c.arg(0), Ordering::Relaxed);
    Fast::Done(t.tid() as isize)
}

/// The size of `struct robust_list_head`.
const ROBUST_HEAD_SIZE: usize = 24;

pub fn set_robust_list(t: &Thread, c: &UserContext) -> Fast {
    if c.arg(1) != ROBUST_HEAD_SIZE {
        return Fast::Done(err(errno::EINVAL));
    }
    t.robust_list.store(c.arg(0), Ordering::Relaxed);
    Fast::Done(0)
}

/// get_robust_list(pid, head_ptr, len_ptr): only the caller's own list (pid 0 or its tid) or
/// that of a thread of its process.
pub fn get_robust_list(t: &Thread, c: &UserContext) -> Fast {
    let (pid, head_ptr, len_ptr) = (c.arg(0), c.arg(1), c.arg(2));
    let head = if pid == 0 || pid == t.tid() {
        t.robust_list.load(Ordering::Relaxed)
    } else {
        match t.process.threads.lock().get(&pid) {
            Some(x) => x.robust_list.load(Ordering::Relaxed),
            None => return Fast::Done(err(errno::ESRCH)),
        }
    };
    Fast::Done(ret(uaccess::write(len_ptr, &ROBUST_HEAD_SIZE).and_then(|_| uaccess::write(head_ptr, &head)).map(|_| 0)))
}

/// Linux's default fs.nr_open: the most descriptors RLIMIT_NOFILE may allow.
pub const NR_OPEN: u64 = 1 << 20;

fn limit(p: &Process, res: u32) -> u64 {
    p.limits.lock()[res as usize].0
}

/// prlimit64(pid, resource, new, old). RLIMIT_NPROC is enforced when threads are created and
/// RLIMIT_NOFILE when descriptors are; the others are recorded and reported.
pub fn prlimit64(t: &Thread, c: &UserContext) -> Fast {
    let (pid, res, new, old) = (c.arg(0), c.arg(1) as u32, c.arg(2), c.arg(3));
    Fast::Done(ret((|| {
        let p = if pid == 0 || pid == t.process.pid { t.process.clone() } else { process::find(pid).ok_or(errno::ESRCH)? };
        if res >= g::RLIM_NLIMITS {
            return Err(errno::EINVAL);
        }
        let me = *t.process.cred.lock();
        if !Arc::ptr_eq(&p, &t.process) && !me.may_prlimit(&p.cred.lock()) {
            return Err(errno::EPERM);
        }
        // Pid 1 is the kernel's own init here, not a program: its limits are not a user's.
        if p.pid == 1 && new != 0 {
            return Err(errno::EPERM);
        }
        let newv = if new != 0 { Some(uaccess::read::<velox_abi::Rlimit64>(new)?) } else { None };
        if let Some(n) = newv {
            if n.rlim_cur > n.rlim_max {
                return Err(errno::EINVAL);
            }
            // Linux: no descriptor limit above fs.nr_open; raising a hard limit needs privilege.
            if res == g::RLIMIT_NOFILE && n.rlim_max > NR_OPEN {
                return Err(errno::EPERM);
            }
            if n.rlim_max > p.limits.lock()[res as usize].1 && !me.privileged() {
                return Err(errno::EPERM);
            }
        }
        let cur = p.limits.lock()[res as usize];
        if old != 0 {
            uaccess::write(old, &velox_abi::Rlimit64 { rlim_cur: cur.0, rlim_max: cur.1 })?;
        }
        if let Some(n) = newv {
            p.limits.lock()[res as usize] = (n.rlim_cur, n.rlim_max);
        }
        Ok(0)
    })()))
}

/// exit: ends the calling thread; the process ends with this status if it was the last one.
pub async fn exit(t: Arc<Thread>, a: Args) -> isize {
    t.exit_code.store((a.0[0] & 0xff) as u32, Ordering::Relaxed);
    t.request_exit();
    0
}

/// exit_group: ends every thread of the process.
pub async fn exit_group(t: Arc<Thread>, a: Args) -> isize {
    t.process.exit_group(ExitStatus::Exited(a.0[0] as u8));
    0
}

/// sched_yield: let every other ready task run once.
/// prctl(option, ...): the name (PR_SET_NAME/PR_GET_NAME), the parent-death signal, the
/// dumpable flag and no_new_privs; other options are EINVAL, as Linux for unknown ones.
pub fn prctl(t: &Thread, c: &UserContext) -> Fast {
    const PR_SET_PDEATHSIG: usize = 1;
    const PR_GET_PDEATHSIG: usize = 2;
    const PR_GET_DUMPABLE: usize = 3;
    const PR_SET_DUMPABLE: usize = 4;
    const PR_SET_NAME: usize = 15;
    const PR_GET_NAME: usize = 16;
    const PR_SET_NO_NEW_PRIVS: usize = 38;
    const PR_GET_NO_NEW_PRIVS: usize = 39;
    let (opt, a2) = (c.arg(0), c.arg(1));
    let p = &t.process;
    Fast::Done(ret(match opt {
        PR_SET_PDEATHSIG => {
            if a2 > 64 {
                Err(errno::EINVAL)
            } else {
                p.pdeath_signal.store(a2 as u8, Ordering::Relaxed);
                Ok(0)
            }
        }
        PR_GET_PDEATHSIG => uaccess::write(a2, &(p.pdeath_signal.load(Ordering::Relaxed) as i32)).map(|_| 0),
        PR_GET_DUMPABLE => Ok((p.prctl_flags.load(Ordering::Relaxed) & 1 == 0) as isize),
        PR_SET_DUMPABLE => {
            if a2 > 1 {
                Err(errno::EINVAL)
            } else {
                if a2 == 1 {
                    p.prctl_flags.fetch_and(!1, Ordering::Relaxed);
                } else {
                    p.prctl_flags.fetch_or(1, Ordering::Relaxed);
                }
                Ok(0)
            }
        }
        PR_SET_NAME => {
            let mut name = [0u8; 16];
            // Up to 16 bytes, NUL-terminated or cut at 15 (a fault is EFAULT).
            uaccess::read_bytes(a2, &mut name[..1]).and_then(|_| {
                let mut n = 0;
                while n < 15 {
                    let mut b = [0u8; 1];
                    uaccess::read_bytes(a2 + n, &mut b)?;
                    if b[0] == 0 {
                        break;
                    }
                    name[n] = b[0];
                    n += 1;
                }
                name[n..].fill(0);
                *p.comm.lock() = name;
                Ok(0)
            })
        }
        PR_GET_NAME => {
            let name = *p.comm.lock();
            uaccess::write_bytes(a2, &name).map(|_| 0)
        }
        // (Once set it stays: there is nothing in Velox it would have to refuse yet, since
        // set-user-id execution does not exist; the flag is kept and inherited as on Linux.)
        PR_SET_NO_NEW_PRIVS if a2 == 1 && c.arg(2) == 0 && c.arg(3) == 0 && c.arg(4) == 0 => {
            p.prctl_flags.fetch_or(2, Ordering::Relaxed);
            Ok(0)
        }
        PR_SET_NO_NEW_PRIVS => Err(errno::EINVAL),
        PR_GET_NO_NEW_PRIVS if c.arg(1) == 0 && c.arg(2) == 0 && c.arg(3) == 0 && c.arg(4) == 0 => Ok(((p.prctl_flags.load(Ordering::Relaxed) >> 1) & 1) as isize),
        PR_GET_NO_NEW_PRIVS => Err(errno::EINVAL),
        _ => Err(errno::EINVAL),
    }))
}

pub async fn sched_yield(_t: Arc<Thread>, _a: Args) -> isize {
    crate::exec::yield_now().await;
    0
}

/// What a clone asks for (clone's registers or clone3's struct).
struct CloneReq {
    flags: u64,
    stack: usize,
    parent_tid: usize,
    tls: usize,
    child_tid: usize,
    /// The signal the parent gets when the child process ends (fork: SIGCHLD).
    exit_signal: u8,
}

const NAMESPACES: u64 = (g::CLONE_NEWNS | g::CLONE_NEWCGROUP | g::CLONE_NEWUTS | g::CLONE_NEWIPC | g::CLONE_NEWUSER | g::CLONE_NEWPID | g::CLONE_NEWNET) as u64;
const SUPPORTED: u64 = (g::CLONE_VM
    | g::CLONE_FS
    | g::CLONE_FILES
    | g::CLONE_SIGHAND
    | g::CLONE_PTRACE
    | g::CLONE_VFORK
    | g::CLONE_PARENT
    | g::CLONE_THREAD
    | g::CLONE_SYSVSEM
    | g::CLONE_SETTLS
    | g::CLONE_PARENT_SETTID
    | g::CLONE_CHILD_CLEARTID
    | g::CLONE_DETACHED
    | g::CLONE_UNTRACED
    | g::CLONE_CHILD_SETTID
    | g::CLONE_IO) as u64;

/// clone3's CLONE_CLEAR_SIGHAND (bit 32: not in linux-raw-sys's u32 constants): the child's
/// caught signals start at their default action (posix_spawn asks for it).
const CLONE_CLEAR_SIGHAND: u64 = 1 << 32;

fn has(f: u64, bit: u32) -> bool {
    f & bit as u64 != 0
}

/// Create the thread or process; returns the new thread (not yet started).
async fn do_clone(t: &Arc<Thread>, r: &CloneReq) -> Result<Arc<Thread>, u32> {
    let f = r.flags;
    if has(f, g::CLONE_THREAD) && !has(f, g::CLONE_SIGHAND) || has(f, g::CLONE_SIGHAND) && !has(f, g::CLONE_VM) {
        return Err(errno::EINVAL);
    }
    if has(f, g::CLONE_NEWNS) && has(f, g::CLONE_FS) || has(f, g::CLONE_NEWUSER) && has(f, g::CLONE_FS) {
        return Err(errno::EINVAL);
    }
    if f & CLONE_CLEAR_SIGHAND != 0 && has(f, g::CLONE_SIGHAND) {
        return Err(errno::EINVAL);
    }
    // Namespaces, pidfds and the rest are not supported: refuse rather than half-do them.
    if f & !(SUPPORTED | CLONE_CLEAR_SIGHAND) != 0 || f & NAMESPACES != 0 {
        return Err(errno::EINVAL);
    }
    // As Linux's copy_process: RLIMIT_NPROC bounds the tasks of the caller's real uid, except
    // for root (CAP_SYS_RESOURCE); the kernel-wide limit and the memory reserves bound all.
    let cred = *t.process.cred.lock();
    let nproc = limit(&t.process, g::RLIMIT_NPROC);
    let over_nproc = !cred.privileged() && cred.uid.r != 0 && process::user_tasks(cred.uid.r) as u64 >= nproc;
    let low_memory = crate::mm::heap_free() < config::HEAP_RESERVE || crate::mm::frame_stats().0 < config::FRAME_RESERVE;
    if over_nproc || process::THREADS.load(Ordering::Relaxed) >= config::MAX_THREADS || low_memory {
        return Err(errno::EAGAIN);
    }
    let parent_mm = t.mm().ok_or(errno::ESRCH)?;
    let mm = if has(f, g::CLONE_VM) {
        parent_mm.clone()
    } else {
        // Parked, not spinning, while another thread of the process holds the lock: its
        // own fork copies the whole page table under it.
        let child = {
            let mut a = parent_mm.space.lock_async().await;
            a.mark_long();
            a.fork().ok_or(errno::ENOMEM)?
        };
        Arc::new(Mm::new(child))
    };
    let mut ctx = t.ctx().clone();
    ctx.set_ret(0);
    if r.stack != 0 {
        ctx.x[2] = r.stack;
    }
    if has(f, g::CLONE_SETTLS) {
        ctx.x[4] = r.tls;
    }
    // What the child inherits, set before it becomes visible to signal senders: the mask and
    // affinity; the alternate stack only with its own memory (or as a vfork child, which
    // runs on the parent's stack), as Linux.
    let inherit = |c: &Thread| {
        c.affinity.store(t.affinity.load(Ordering::Relaxed), Ordering::Relaxed);
        c.nice.store(t.nice.load(Ordering::Relaxed), Ordering::Relaxed);
        c.sigmask.store(t.sigmask.load(Ordering::Relaxed), Ordering::Relaxed);
        if !has(f, g::CLONE_VM) || has(f, g::CLONE_VFORK) {
            let alt = t.sig.lock().as_ref().map(|s| s.altstack);
            if let Some(a) = alt {
                c.sig_state(|s| s.altstack = a);
            }
        }
    };
    let child = if has(f, g::CLONE_THREAD) {
        let c = Thread::new(process::alloc_id(), t.process.clone(), mm, ctx);
        inherit(&c);
        t.process.add_thread(c.clone());
        c
    } else {
        let parent = if has(f, g::CLONE_PARENT) { process::find(t.process.ppid()).unwrap_or_else(process::init_process) } else { t.process.clone() };
        let c = process::fork_process(&t.process, &parent, mm, ctx, r.exit_signal, (has(f, g::CLONE_FILES), has(f, g::CLONE_FS)), inherit)?;
        if f & CLONE_CLEAR_SIGHAND != 0 {
            // (Linux's flush_signal_handlers: ignored signals stay ignored.) The child has not
            // run yet, and its dispositions are its own (no CLONE_SIGHAND).
            crate::task::signal::clear_handlers(&c.process);
        }
        c
    };
    if has(f, g::CLONE_PARENT_SETTID) {
        // Written in the parent's memory (the same memory for CLONE_VM).
        let _ = uaccess::write(r.parent_tid, &(child.tid() as u32));
    }
    if has(f, g::CLONE_CHILD_SETTID) {
        child.set_child_tid.store(r.child_tid, Ordering::Relaxed);
    }
    if has(f, g::CLONE_CHILD_CLEARTID) {
        child.clear_child_tid.store(r.child_tid, Ordering::Relaxed);
    }
    Ok(child)
}

async fn clone_common(t: Arc<Thread>, r: CloneReq) -> isize {
    let child = match do_clone(&t, &r).await {
        Ok(c) => c,
        Err(e) => return err(e),
    };
    let tid = child.tid();
    let vfork = has(r.flags, g::CLONE_VFORK).then(|| child.clone());
    run::start(child);
    if let Some(c) = vfork {
        // As Linux: until the child task execs or exits (with CLONE_THREAD too: its process
        // may live on).
        c.vfork_done.wait().await;
    }
    tid as isize
}

/// clone(flags, stack, parent_tid, tls, child_tid) (riscv64 argument order).
pub async fn clone(t: Arc<Thread>, a: Args) -> isize {
    let exit_signal = (a.0[0] & 0xff) as u8;
    if exit_signal > 64 {
        return err(errno::EINVAL);
    }
    let r = CloneReq { flags: a.0[0] as u32 as u64 & !0xff, stack: a.0[1], parent_tid: a.0[2], tls: a.0[3], child_tid: a.0[4], exit_signal };
    if has(a.0[0] as u64, g::CLONE_PIDFD) {
        return err(errno::EINVAL);
    }
    clone_common(t, r).await
}

/// clone3(args, size).
pub async fn clone3(t: Arc<Thread>, a: Args) -> isize {
    let (ptr, size) = (a.0[0], a.0[1]);
    if size < g::CLONE_ARGS_SIZE_VER0 as usize {
        return err(errno::EINVAL);
    }
    if size > 4096 {
        return err(errno::E2BIG);
    }
    let mut buf = [0u8; 96];
    let n = size.min(buf.len());
    if let Err(e) = uaccess::read_bytes(ptr, &mut buf[..n]) {
        return err(e);
    }
    // Bytes past the struct this kernel knows must be zero.
    let mut tail = [0u8; 64];
    let mut off = n;
    while off < size {
        let k = (size - off).min(tail.len());
        if let Err(e) = uaccess::read_bytes(ptr + off, &mut tail[..k]) {
            return err(e);
        }
        if tail[..k].iter().any(|&b| b != 0) {
            return err(errno::E2BIG);
        }
        off += k;
    }
    let w = |i: usize| u64::from_le_bytes(buf[i * 8..i * 8 + 8].try_into().unwrap());
    let (flags, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid_size) = (w(0), w(2), w(3), w(4), w(5), w(6), w(7), w(9));
    if flags & 0xff != 0 || has(flags, g::CLONE_DETACHED) || has(flags, g::CLONE_PIDFD) || exit_signal > 64 || set_tid_size != 0 {
        return err(errno::EINVAL);
    }
    if (has(flags, g::CLONE_THREAD) || has(flags, g::CLONE_PARENT)) && exit_signal != 0 {
        return err(errno::EINVAL);
    }
    if (stack == 0) != (stack_size == 0) {
        return err(errno::EINVAL);
    }
    let sp = if stack != 0 { (stack + stack_size) as usize } else { 0 };
    clone_common(t, CloneReq { flags, stack: sp, parent_tid: parent_tid as usize, tls: tls as usize, child_tid: child_tid as usize, exit_signal: exit_signal as u8 }).await
}

/// Does child `c` match wait4's `pid` argument for parent `p`?
fn matches(p: &Process, c: &Process, pid: isize) -> bool {
    match pid {
        -1 => true,
        0 => c.pgid.load(Ordering::Relaxed) == p.pgid.load(Ordering::Relaxed),
        n if n > 0 => c.pid == n as usize,
        n => c.pgid.load(Ordering::Relaxed) == n.unsigned_abs(),
    }
}

enum Found {
    NoChild,
    Running,
    Zombie(Arc<Process>),
    /// Stopped by this signal, not yet reported (WUNTRACED / WSTOPPED).
    Stopped(Arc<Process>, u8),
    /// Continued, not yet reported (WCONTINUED).
    Continued(Arc<Process>),
}

/// The first child matching `pid` with something to report: an exit (if `exited`), a stop
/// (WUNTRACED/WSTOPPED in `options`) or a continue (WCONTINUED).
fn find_child(p: &Process, pid: isize, options: u32, exited: bool) -> Found {
    let kids = p.children.lock();
    let mut any = false;
    for c in kids.iter().filter(|c| matches(p, c, pid)) {
        any = true;
        if c.exit_status().is_some() {
            if exited {
                return Found::Zombie(c.clone());
            }
            continue;
        }
        let ps = c.sig.lock();
        if options & g::WUNTRACED != 0 {
            if let Some(s) = ps.stop_report {
                return Found::Stopped(c.clone(), s);
            }
        }
        if options & g::WCONTINUED != 0 && ps.cont_report {
            return Found::Continued(c.clone());
        }
    }
    if any { Found::Running } else { Found::NoChild }
}

fn tv(ticks: u64) -> velox_abi::Timeval {
    let us = time::ticks_to_ns(ticks) / 1000;
    velox_abi::Timeval { tv_sec: (us / 1_000_000) as _, tv_usec: (us % 1_000_000) as _ }
}

fn rusage(user: u64, cpu: u64) -> velox_abi::Rusage {
    velox_abi::Rusage {
        ru_utime: tv(user),
        ru_stime: tv(cpu.saturating_sub(user)),
        ru_maxrss: 0,
        ru_ixrss: 0,
        ru_idrss: 0,
        ru_isrss: 0,
        ru_minflt: 0,
        ru_majflt: 0,
        ru_nswap: 0,
        ru_inblock: 0,
        ru_oublock: 0,
        ru_msgsnd: 0,
        ru_msgrcv: 0,
        ru_nsignals: 0,
        ru_nvcsw: 0,
        ru_nivcsw: 0,
    }
}

/// Wait for a child matching `pid` to have something to report (`None` with WNOHANG). A
/// signal interrupts the wait (restarted per SA_RESTART).
async fn wait_child(t: &Thread, pid: isize, options: u32, exited: bool) -> Result<Option<Found>, isize> {
    let p = &t.process;
    loop {
        match find_child(p, pid, options, exited) {
            Found::NoChild => return Err(err(errno::ECHILD)),
            Found::Running if options & g::WNOHANG != 0 => return Ok(None),
            Found::Running => {
                let w = p.child_event.wait_until(|| (!matches!(find_child(p, pid, options, exited), Found::Running)).then_some(()));
                if signal::interruptible(t, w).await.is_err() {
                    return Err(signal::ERESTARTSYS);
                }
            }
            f => return Ok(Some(f)),
        }
    }
}

/// Consume a stop or continue report (unless WNOWAIT).
fn consume(f: &Found) {
    match f {
        Found::Stopped(c, _) => c.sig.lock().stop_report = None,
        Found::Continued(c) => c.sig.lock().cont_report = false,
        _ => {}
    }
}

/// wait4(pid, wstatus, options, rusage).
pub async fn wait4(t: Arc<Thread>, a: Args) -> isize {
    let (pid, wstatus, options, ru) = (a.0[0] as i32 as isize, a.0[1], a.0[2] as u32, a.0[3]);
    if options & !(g::WNOHANG | g::WUNTRACED | g::WCONTINUED | g::__WNOTHREAD | g::__WCLONE | g::__WALL) != 0 {
        return err(errno::EINVAL);
    }
    let f = match wait_child(&t, pid, options, true).await {
        Ok(Some(f)) => f,
        Ok(None) => return 0,
        Err(e) => return e,
    };
    let (c, st) = match &f {
        Found::Zombie(c) => (c.clone(), c.exit_status().map_or(0, |s| s.wait_status())),
        Found::Stopped(c, s) => (c.clone(), (*s as u32) << 8 | 0x7f),
        Found::Continued(c) => (c.clone(), 0xffff),
        _ => return err(errno::ECHILD),
    };
    if wstatus != 0 {
        if let Err(e) = uaccess::write(wstatus, &st) {
            return err(e);
        }
    }
    if ru != 0 {
        let tm = *c.times.lock();
        if let Err(e) = uaccess::write(ru, &rusage(tm.user + tm.child_user, tm.cpu + tm.child_cpu)) {
            return err(e);
        }
    }
    match f {
        Found::Zombie(_) => c.reap_into(&t.process),
        other => consume(&other),
    }
    c.pid as isize
}

/// waitid(idtype, id, infop, options, rusage).
pub async fn waitid(t: Arc<Thread>, a: Args) -> isize {
    let (idtype, id, infop, options, ru) = (a.0[0] as u32, a.0[1], a.0[2], a.0[3] as u32, a.0[4]);
    let known = g::WNOHANG | g::WEXITED | g::WSTOPPED | g::WCONTINUED | g::WNOWAIT | g::__WNOTHREAD | g::__WCLONE | g::__WALL;
    if options & !known != 0 || options & (g::WEXITED | g::WSTOPPED | g::WCONTINUED) == 0 {
        return err(errno::EINVAL);
    }
    let pid: isize = match idtype {
        g::P_ALL => -1,
        g::P_PID if (id as i32) > 0 => id as i32 as isize,
        g::P_PGID if (id as i32) >= 0 => {
            if id == 0 {
                0
            } else {
                -(id as i32 as isize)
            }
        }
        _ => return err(errno::EINVAL),
    };
    // (WSTOPPED is WUNTRACED's bit.)
    let f = match wait_child(&t, pid, options, options & g::WEXITED != 0).await {
        Ok(f) => f,
        Err(e) => return e,
    };
    // siginfo_t: signo, errno, code, then (at 16) pid, uid, status.
    let mut info = velox_abi::SigInfo::default();
    let child = match &f {
        Some(Found::Zombie(c)) => {
            let (code, status) = match c.exit_status() {
                Some(ExitStatus::Signaled(s)) => (g::CLD_KILLED, s as i32),
                Some(ExitStatus::Exited(x)) => (g::CLD_EXITED, x as i32),
                None => (g::CLD_EXITED, 0),
            };
            info = velox_abi::SigInfo::new(g::SIGCHLD as i32, code as i32).with_sender(c.pid as u32, c.cred.lock().uid.r).with_child(status, 0, 0);
            Some(c.clone())
        }
        Some(Found::Stopped(c, s)) => {
            info = velox_abi::SigInfo::new(g::SIGCHLD as i32, g::CLD_STOPPED as i32).with_sender(c.pid as u32, c.cred.lock().uid.r).with_child(*s as i32, 0, 0);
            Some(c.clone())
        }
        Some(Found::Continued(c)) => {
            info = velox_abi::SigInfo::new(g::SIGCHLD as i32, g::CLD_CONTINUED as i32)
                .with_sender(c.pid as u32, c.cred.lock().uid.r)
                .with_child(g::SIGCONT as i32, 0, 0);
            Some(c.clone())
        }
        _ => None,
    };
    if infop != 0 {
        if let Err(e) = uaccess::write_siginfo(infop, &info) {
            return err(e);
        }
    }
    if let (Some(c), Some(f)) = (child, f) {
        if ru != 0 {
            let tm = *c.times.lock();
            if let Err(e) = uaccess::write(ru, &rusage(tm.user + tm.child_user, tm.cpu + tm.child_cpu)) {
                return err(e);
            }
        }
        if options & g::WNOWAIT == 0 {
            match f {
                Found::Zombie(_) => c.reap_into(&t.process),
                other => consume(&other),
            }
        }
    }
    0
}

/// Largest single argument or environment string (MAX_ARG_STRLEN).
const MAX_ARG_STRLEN: usize = 32 * 4096;

/// Read a NULL-terminated array of string pointers (argv/envp); E2BIG past `budget` bytes.
fn read_strings(ptr: usize, budget: &mut usize) -> Result<Vec<Vec<u8>>, u32> {
    let mut out = Vec::new();
    if ptr == 0 {
        return Ok(out);
    }
    loop {
        let p: usize = uaccess::read(ptr + out.len() * 8)?;
        if p == 0 {
            return Ok(out);
        }
        // (Linux counts the NUL: a string of MAX_ARG_STRLEN characters is E2BIG.)
        let s = uaccess::read_cstr(p, MAX_ARG_STRLEN - 1).map_err(|e| if e == errno::ENAMETOOLONG { errno::E2BIG } else { e })?;
        let cost = s.len() + 1 + 8;
        if cost > *budget {
            return Err(errno::E2BIG);
        }
        *budget -= cost;
        out.try_reserve(1).map_err(|_| errno::ENOMEM)?;
        out.push(s);
    }
}

/// execve(path, argv, envp): replace the process image. The other threads of the process end
/// first; close-on-exec descriptors close; caught signals return to their default action.
pub async fn execve(t: Arc<Thread>, a: Args) -> isize {
    let (path, argv, envp) = (a.0[0], a.0[1], a.0[2]);
    let path = match uaccess::read_cstr(path, 4095) {
        Ok(p) if p.is_empty() => return err(errno::ENOENT),
        Ok(p) => p,
        Err(e) => return err(e),
    };
    let mut budget = config::ARG_MAX;
    let argv = match read_strings(argv, &mut budget) {
        Ok(v) => v,
        Err(e) => return err(e),
    };
    let envp = match read_strings(envp, &mut budget) {
        Ok(v) => v,
        Err(e) => return err(e),
    };
    let mut img = {
        let av: Vec<&[u8]> = argv.iter().map(|s| s.as_slice()).collect();
        let ev: Vec<&[u8]> = envp.iter().map(|s| s.as_slice()).collect();
        let ctx = t.process.fs.lock().clone();
        let cred = *t.process.cred.lock();
        let groups = t.process.groups.lock().clone();
        let stack = t.process.limits.lock()[g::RLIMIT_STACK as usize].0;
        let ids = [cred.uid.r, cred.uid.e, cred.gid.r, cred.gid.e];
        match process::load_program(&ctx, &crate::fs::vfs::who_of(&cred, &groups), &path, &av, &ev, stack, ids) {
            Ok(i) => i,
            Err(e) => return err(e),
        }
    };
    let comm = process::comm_of(&path);
    drop((argv, envp, path));
    let img_exe = core::mem::take(&mut img.exe);
    // Point of no return: the other threads go, then the image is replaced.
    let p = t.process.clone();
    // (A sibling on another hart may be creating a thread right now: `add_thread` sees the
    // flag and ends the newcomer.)
    p.de_thread.store(true, Ordering::SeqCst);
    for other in p.threads.lock().values().filter(|x| !Arc::ptr_eq(x, &t)) {
        other.request_exit();
    }
    p.thread_event.wait_until(|| (p.thread_count() <= 1 || t.is_exiting()).then_some(())).await;
    p.de_thread.store(false, Ordering::SeqCst);
    if t.is_exiting() {
        return 0; // killed meanwhile (exit_group from another thread won the race)
    }
    run::release_user_state(&t);
    {
        let mut ts = p.threads.lock();
        ts.remove(&t.tid());
        t.become_leader();
        ts.insert(t.tid(), t.clone());
    }
    t.set_mm(Some(Arc::new(Mm::new(img.space))));
    *t.ctx() = UserContext::new(img.entry, img.sp);
    let closing = p.fds.lock().take_cloexec();
    for f in &closing {
        crate::fs::locks::on_close(p.pid, &f.file);
    }
    drop(closing);
    signal::exec_reset(&t);
    p.prctl_flags.fetch_and(!1, Ordering::Relaxed); // dumpable again after exec
    // POSIX timers do not survive execve (interval timers do).
    {
        let mut ts = p.timers.lock();
        let ids: Vec<i32> = ts.posix.keys().copied().collect();
        for id in ids {
            crate::task::timers::delete(&mut ts, id);
        }
    }
    *p.comm.lock() = comm;
    *p.exe.lock() = img_exe;
    t.vfork_done.set();
    0
}

/// Process-group and session calls resolve `pid` 0 to the caller.
fn target(t: &Thread, pid: usize) -> Result<Arc<Process>, u32> {
    if pid == 0 || pid == t.process.pid { Ok(t.process.clone()) } else { process::find(pid).ok_or(errno::ESRCH) }
}

pub fn getpgid(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret(target(t, c.arg(0)).map(|p| p.pgid.load(Ordering::Relaxed) as isize)))
}

pub fn getsid(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret(target(t, c.arg(0)).map(|p| p.sid.load(Ordering::Relaxed) as isize)))
}

/// setpgid(pid, pgid): the caller or one of its children, within the caller's session.
pub fn setpgid(t: &Thread, c: &UserContext) -> Fast {
    let (pid, pgid) = (c.arg(0) as i32, c.arg(1) as i32);
    Fast::Done(ret((|| {
        if pgid < 0 {
            return Err(errno::EINVAL);
        }
        let me = &t.process;
        let p = if pid == 0 || pid as usize == me.pid {
            me.clone()
        } else {
            me.children.lock().iter().find(|c| c.pid == pid as usize).cloned().ok_or(errno::ESRCH)?
        };
        let sid = me.sid.load(Ordering::Relaxed);
        if p.sid.load(Ordering::Relaxed) != sid {
            return Err(errno::EPERM);
        }
        if p.sid.load(Ordering::Relaxed) == p.pid {
            return Err(errno::EPERM); // a session leader cannot move
        }
        let pgid = if pgid == 0 { p.pid } else { pgid as usize };
        if pgid != p.pid && !process::all().iter().any(|q| q.pgid.load(Ordering::Relaxed) == pgid && q.sid.load(Ordering::Relaxed) == sid) {
            return Err(errno::EPERM);
        }
        p.pgid.store(pgid, Ordering::Relaxed);
        Ok(0)
    })()))
}

/// setsid: a new session and process group led by the caller (EPERM for a group leader).
pub fn setsid(t: &Thread, _: &UserContext) -> Fast {
    let p = &t.process;
    if process::all().iter().any(|q| q.pgid.load(Ordering::Relaxed) == p.pid) {
        return Fast::Done(err(errno::EPERM));
    }
    p.sid.store(p.pid, Ordering::Relaxed);
    p.pgid.store(p.pid, Ordering::Relaxed);
    Fast::Done(p.pid as isize)
}

/// (user, total) CPU ticks of the whole process: dead threads plus live ones.
pub fn process_times(p: &Process) -> (u64, u64) {
    let tm = *p.times.lock();
    let (mut u, mut c) = (tm.user, tm.cpu);
    for th in p.threads.lock().values() {
        let (tu, tc) = th.cpu_times();
        u += tu;
        c += tc;
    }
    (u, c)
}

/// getrusage(who, usage): RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD (times only).
pub fn getrusage(t: &Thread, c: &UserContext) -> Fast {
    let who = c.arg(0) as i32;
    let (u, cpu) = match who {
        0 => process_times(&t.process), // RUSAGE_SELF
        -1 => {
            // RUSAGE_CHILDREN
            let tm = *t.process.times.lock();
            (tm.child_user, tm.child_cpu)
        }
        1 => t.cpu_times(), // RUSAGE_THREAD
        _ => return Fast::Done(err(errno::EINVAL)),
    };
    Fast::Done(ret(uaccess::write(c.arg(1), &rusage(u, cpu)).map(|_| 0)))
}

/// Clock ticks (USER_HZ = 100) from timer ticks.
fn clock_t(ticks: u64) -> u64 {
    time::ticks_to_ns(ticks) / 10_000_000
}

/// times(buf): process and children CPU times in clock ticks; returns ticks since boot.
pub fn times(t: &Thread, c: &UserContext) -> Fast {
    let (u, cpu) = process_times(&t.process);
    let tm = *t.process.times.lock();
    let v = [clock_t(u), clock_t(cpu.saturating_sub(u)), clock_t(tm.child_user), clock_t(tm.child_cpu.saturating_sub(tm.child_user))];
    if c.arg(0) != 0 {
        if let Err(e) = uaccess::write(c.arg(0), &v) {
            return Fast::Done(err(e));
        }
    }
    Fast::Done(clock_t(time::ticks()) as isize)
}

/// The thread `pid` names for the sched_*affinity calls (0: the caller), or ESRCH.
fn affinity_target(t: &Thread, pid: usize) -> Result<Arc<Thread>, u32> {
    if pid == 0 || pid == t.tid() {
        return t.process.threads.lock().get(&t.tid()).cloned().ok_or(errno::ESRCH);
    }
    if pid > i32::MAX as usize {
        return Err(errno::ESRCH);
    }
    process::find_thread(pid).ok_or(errno::ESRCH)
}

/// The threads getpriority/setpriority(which, who) name (Linux's PRIO_PROCESS: one thread,
/// `who` a tid or 0 for the caller; PRIO_PGRP: the threads of a process group, 0 the
/// caller's; PRIO_USER: of the processes whose real uid is `who`, 0 the caller's). EINVAL for
/// another `which`, ESRCH when nothing matches.
fn prio_targets(t: &Thread, which: u32, who: usize) -> Result<Vec<Arc<Thread>>, u32> {
    let who = u32::try_from(who).map_err(|_| errno::ESRCH)? as usize;
    let list: Vec<Arc<Thread>> = match which {
        g::PRIO_PROCESS => alloc::vec![affinity_target(t, who)?],
        g::PRIO_PGRP | g::PRIO_USER => {
            let key = match (which, who) {
                (g::PRIO_PGRP, 0) => t.process.pgid.load(Ordering::Relaxed),
                (g::PRIO_USER, 0) => t.process.cred.lock().uid.r as usize,
                _ => who,
            };
            let mut v = Vec::new();
            for p in process::all() {
                let hit = if which == g::PRIO_PGRP { p.pgid.load(Ordering::Relaxed) == key } else { p.cred.lock().uid.r as usize == key };
                if hit {
                    v.extend(p.threads.lock().values().cloned());
                }
            }
            v
        }
        _ => return Err(errno::EINVAL),
    };
    if list.is_empty() {
        return Err(errno::ESRCH);
    }
    Ok(list)
}

/// getpriority(which, who): 20 - the lowest nice value among the targets (the raw system
/// call's 1..=40; glibc turns it back into a nice value).
pub fn getpriority(t: &Thread, c: &UserContext) -> Fast {
    let (which, who) = (c.arg(0) as u32, c.arg(1));
    Fast::Done(ret(prio_targets(t, which, who).map(|v| 20 - v.iter().map(|x| x.nice.load(Ordering::Relaxed) as isize).min().unwrap_or(0))))
}

/// setpriority(which, who, nice): set the targets' nice value (clamped to -20..=19): EPERM
/// for a target the caller may not renice, EACCES to lower a value below what RLIMIT_NICE
/// allows (unprivileged). The executors weight each thread's time slice by it.
pub fn setpriority(t: &Thread, c: &UserContext) -> Fast {
    let (which, who, nice) = (c.arg(0) as u32, c.arg(1), c.arg(2) as i32);
    Fast::Done(ret((|| {
        let targets = prio_targets(t, which, who)?;
        let nice = nice.clamp(velox_cred::NICE_MIN, velox_cred::NICE_MAX);
        let me = *t.process.cred.lock();
        let rlim = limit(&t.process, g::RLIMIT_NICE);
        let mut res = Ok(0);
        for x in targets {
            let them = *x.process.cred.lock();
            if !me.may_renice(&them) {
                res = Err(errno::EPERM);
                continue;
            }
            if !me.may_nice_to(nice, x.nice.load(Ordering::Relaxed) as i32, rlim) {
                res = Err(errno::EACCES);
                continue;
            }
            x.nice.store(nice as i8, Ordering::Relaxed);
        }
        res
    })()))
}

/// sched_getscheduler(pid): every thread runs under SCHED_OTHER (the only policy the
/// executors have). EINVAL for a negative pid, ESRCH for none.
pub fn sched_getscheduler(t: &Thread, c: &UserContext) -> Fast {
    let pid = c.arg(0) as isize;
    Fast::Done(ret(if pid < 0 { Err(errno::EINVAL) } else { affinity_target(t, pid as usize).map(|_| g::SCHED_NORMAL as isize) }))
}

/// sched_getparam(pid, param): the static priority, 0 under SCHED_OTHER. EINVAL for a NULL
/// param or a negative pid, ESRCH, EFAULT.
pub fn sched_getparam(t: &Thread, c: &UserContext) -> Fast {
    let (pid, param) = (c.arg(0) as isize, c.arg(1));
    Fast::Done(ret((|| {
        if pid < 0 || param == 0 {
            return Err(errno::EINVAL);
        }
        affinity_target(t, pid as usize)?;
        uaccess::write(param, &0i32).map(|_| 0)
    })()))
}

/// The static priorities a policy takes (Linux's values: 1..99 for the real-time policies,
/// 0 for the others); EINVAL for an unknown policy.
fn prio_range(policy: usize) -> Result<(isize, isize), u32> {
    match policy as u32 {
        g::SCHED_FIFO | g::SCHED_RR => Ok((1, 99)),
        g::SCHED_NORMAL | g::SCHED_BATCH | g::SCHED_IDLE | g::SCHED_DEADLINE => Ok((0, 0)),
        _ => Err(errno::EINVAL),
    }
}

/// sched_get_priority_max(policy).
pub fn sched_get_priority_max(_: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret(prio_range(c.arg(0)).map(|r| r.1)))
}

/// sched_get_priority_min(policy).
pub fn sched_get_priority_min(_: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret(prio_range(c.arg(0)).map(|r| r.0)))
}

/// The online harts as an affinity mask.
pub(super) fn online_mask() -> u64 {
    (1u64 << crate::smp::online()) - 1
}

/// sched_getaffinity(pid, len, mask): the harts the thread may run on. Returns the bytes
/// written (one 64-bit word, as Linux with up to 64 CPUs configured).
pub fn sched_getaffinity(t: &Thread, c: &UserContext) -> Fast {
    let (pid, len, mask) = (c.arg(0), c.arg(1), c.arg(2));
    Fast::Done(ret((|| {
        // As Linux: the length first, then the target.
        if len < 8 || len % 8 != 0 {
            return Err(errno::EINVAL);
        }
        let target = affinity_target(t, pid)?;
        let m = target.affinity.load(Ordering::Relaxed) as u64 & online_mask();
        uaccess::write(mask, &m)?;
        Ok(8)
    })()))
}

/// Read and check a sched_setaffinity request: (target thread, new mask). Linux's order:
/// the mask is copied first (EFAULT), then the target found (ESRCH), the permission checked
/// (EPERM), and last the mask checked against the online harts (EINVAL).
fn setaffinity_args(t: &Thread, pid: usize, len: usize, mask: usize) -> Result<(Arc<Thread>, u32), u32> {
    // A shorter mask is zero-extended, a longer one only read as far as it matters.
    let mut b = [0u8; 8];
    let n = len.min(8);
    uaccess::read_bytes(mask, &mut b[..n])?;
    let target = affinity_target(t, pid)?;
    {
        // (One statement per lock: caller and target may be the same process.)
        let me = *t.process.cred.lock();
        let them = *target.process.cred.lock();
        if !(me.privileged() || me.uid.e == them.uid.e || me.uid.e == them.uid.r) {
            return Err(errno::EPERM);
        }
    }
    let m = u64::from_le_bytes(b) & online_mask();
    if m == 0 {
        return Err(errno::EINVAL);
    }
    Ok((target, m as u32))
}

fn apply_affinity(target: &Thread, m: u32) {
    // Harts that may come online later stay allowed when every online one is.
    let full = online_mask() as u32;
    let m = if m & full == full { u32::MAX } else { m };
    if m != u32::MAX {
        crate::exec::AFFINITY_USED.store(true, Ordering::Relaxed);
    }
    target.affinity.store(m, Ordering::Relaxed);
    // A thread waiting on a hart it may no longer use moves when it is next scheduled; one
    // running in user mode there is kicked so it does so now.
    target.kick();
}

/// sched_setaffinity(pid, len, mask): restrict the thread to the online harts in `mask`
/// (EINVAL if none). A caller that moves itself off this hart leaves it before returning.
pub fn sched_setaffinity(t: &Thread, c: &UserContext) -> Fast {
    let (pid, len, mask) = (c.arg(0), c.arg(1), c.arg(2));
    match setaffinity_args(t, pid, len, mask) {
        Ok((target, m)) => {
            let moving_self = core::ptr::eq(&*target, t) && m & (1 << crate::smp::me()) == 0;
            if moving_self {
                return Fast::Slow; // the async handler applies it and yields
            }
            apply_affinity(&target, m);
            Fast::Done(0)
        }
        Err(e) => Fast::Done(err(e)),
    }
}

/// sched_setaffinity that moves the caller: apply, then give up this hart (the scheduler
/// puts the thread on an allowed one).
pub async fn sched_setaffinity_async(t: Arc<Thread>, a: Args) -> isize {
    match setaffinity_args(&t, a.0[0], a.0[1], a.0[2]) {
        Ok((target, m)) => {
            apply_affinity(&target, m);
            while !t.allowed_on(crate::smp::me()) {
                crate::exec::yield_now().await;
            }
            0
        }
        Err(e) => err(e),
    }
}

/// rseq(rseq, rseq_len, flags, sig): restartable sequences are not implemented: ENOSYS, as
/// a Linux built without CONFIG_RSEQ answers. glibc registers one in every thread it starts
/// and, on ENOSYS, runs without (`__rseq_size` 0, sched_getcpu through getcpu). Handled here,
/// not by the table's default, so that it is not logged as an unknown system call at every
/// program start (docs/syscalls.md, "rseq").
pub fn rseq(_: &Thread, _: &UserContext) -> Fast {
    Fast::Done(err(errno::ENOSYS))
}

/// getcpu(cpu, node, cache): the hart the caller runs on (node 0).
pub fn getcpu(_: &Thread, c: &UserContext) -> Fast {
    let (cpu, node) = (c.arg(0), c.arg(1));
    let me = crate::smp::me() as u32;
    Fast::Done(ret((|| {
        if cpu != 0 {
            uaccess::write(cpu, &me)?;
        }
        if node != 0 {
            uaccess::write(node, &0u32)?;
        }
        Ok(0)
    })()))
}
