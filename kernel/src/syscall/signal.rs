//! Signal system calls: dispositions, masks, sending (kill, tkill, tgkill, sigqueue), waiting
//! (sigsuspend, sigtimedwait), the alternate stack, sigreturn and restart_syscall. Delivery
//! itself is in `task::signal`.

use super::{Args, Fast, err, ret, uaccess};
use crate::task::process::{self, Process};
use crate::task::signal::{self as sig, SIG_DFL, SIG_IGN};
use crate::task::Thread;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_abi::{KSigaction, SigInfo, StackT};
use velox_hal::trap::UserContext;
use velox_signal::{NSIG, UNBLOCKABLE, bit};

const SIGSET_SIZE: usize = 8;

/// The sa_flags bits Linux keeps (UAPI_SA_FLAGS; riscv64 has no SA_RESTORER): unknown bits
/// are cleared, so programs can probe for support.
const UAPI_SA_FLAGS: u64 = (g::SA_NOCLDSTOP
    | g::SA_NOCLDWAIT
    | g::SA_SIGINFO
    | g::SA_ONSTACK
    | g::SA_RESTART
    | g::SA_NODEFER
    | g::SA_RESETHAND
    | g::SA_EXPOSE_TAGBITS) as u64;

/// rt_sigaction(sig, act, oact, sigsetsize). Checks in Linux's order: the set size, reading
/// `act`, the signal number, then writing `oact`.
pub fn rt_sigaction(t: &Thread, c: &UserContext) -> Fast {
    let (s, act, oact, size) = (c.arg(0), c.arg(1), c.arg(2), c.arg(3));
    if size != SIGSET_SIZE {
        return Fast::Done(err(errno::EINVAL));
    }
    let new = if act != 0 {
        match uaccess::read::<KSigaction>(act) {
            Ok(n) => Some(n),
            Err(e) => return Fast::Done(err(e)),
        }
    } else {
        None
    };
    if !(1..=NSIG).contains(&s) || (new.is_some() && bit(s) & UNBLOCKABLE != 0) {
        return Fast::Done(err(errno::EINVAL));
    }
    let p = &t.process;
    let old = {
        let mut ps = p.sig.lock();
        let old = ps.actions[s - 1];
        if let Some(mut n) = new {
            n.mask &= !UNBLOCKABLE;
            n.flags &= UAPI_SA_FLAGS;
            ps.actions[s - 1] = n;
            // POSIX: setting a pending signal to be ignored discards it, blocked or not.
            let ignored = n.handler == SIG_IGN
                || (n.handler == SIG_DFL && matches!(velox_signal::default_action(s), velox_signal::Default::Ignore | velox_signal::Default::Continue));
            if ignored {
                discard_ignored(p, ps, s);
            }
        }
        old
    };
    if oact != 0 {
        if let Err(e) = uaccess::write(oact, &old) {
            return Fast::Done(err(e));
        }
    }
    Fast::Done(0)
}

/// `s` is now ignored: drop its pending instances everywhere (their timers go on), then let
/// go of the lock. Out of line: rare, and kept off sigaction's common path.
#[cold]
#[inline(never)]
fn discard_ignored(p: &Process, mut ps: velox_exec::sync::MutexGuard<'_, crate::task::signal::ProcSig>, s: usize) {
    let mut lost = Vec::new();
    sig::discard_all(p, &mut ps, bit(s), &mut lost);
    drop(ps);
    if !lost.is_empty() {
        crate::task::timers::discarded(p, &lost);
    }
}

/// rt_sigprocmask(how, set, oset, sigsetsize).
pub fn rt_sigprocmask(t: &Thread, c: &UserContext) -> Fast {
    let (how, set, oset, size) = (c.arg(0) as u32, c.arg(1), c.arg(2), c.arg(3));
    if size != SIGSET_SIZE {
        return Fast::Done(err(errno::EINVAL));
    }
    let r = (|| {
        let new = if set != 0 { Some(uaccess::read::<u64>(set)?) } else { None };
        let old = t.sigmask.load(Ordering::Relaxed);
        if let Some(n) = new {
            let m = match how {
                g::SIG_BLOCK => old | n,
                g::SIG_UNBLOCK => old & !n,
                g::SIG_SETMASK => n,
                _ => return Err(errno::EINVAL),
            };
            if m & !UNBLOCKABLE != old {
                sig::set_mask(t, m);
            }
        }
        if oset != 0 {
            uaccess::write(oset, &old)?;
        }
        Ok(0)
    })();
    // (Unblocking a pending signal delivers it before the return to user mode.)
    super::done_checking_signals(t, ret(r))
}

/// The signals pending for thread `t` (its own and its process's).
fn pending_set(t: &Thread) -> u64 {
    let ps = t.process.sig.lock();
    let own = t.sig.lock().as_ref().map_or(0, |s| s.pending.set());
    own | ps.pending.set()
}

/// rt_sigpending(set, sigsetsize): pending signals that are blocked.
pub fn rt_sigpending(t: &Thread, c: &UserContext) -> Fast {
    let (set, size) = (c.arg(0), c.arg(1));
    if size > SIGSET_SIZE {
        return Fast::Done(err(errno::EINVAL));
    }
    let v = pending_set(t) & t.sigmask.load(Ordering::Relaxed);
    Fast::Done(ret(uaccess::write_bytes(set, &v.to_le_bytes()[..size]).map(|_| 0)))
}

/// rt_sigsuspend(mask, sigsetsize): wait for a signal with a temporary mask. Always EINTR
/// after a handler ran (the old mask comes back after it, from the frame).
pub async fn rt_sigsuspend(t: Arc<Thread>, a: Args) -> isize {
    if a.0[1] != SIGSET_SIZE {
        return err(errno::EINVAL);
    }
    let m = match uaccess::read::<u64>(a.0[0]) {
        Ok(m) => m,
        Err(e) => return err(e),
    };
    suspend_with(&t, m);
    let _ = sig::interruptible(&t, core::future::pending::<()>()).await;
    sig::ERESTARTNOHAND
}

/// Install a temporary mask, remembering the current one for after the handler.
pub fn suspend_with(t: &Thread, m: u64) {
    let old = t.sigmask.load(Ordering::Relaxed);
    t.sig_state(|s| s.saved_mask = Some(old));
    sig::set_mask(t, m);
}

/// Take a pending signal of `set` for `t` (its own first), if any.
fn take_from(t: &Thread, set: u64) -> Option<SigInfo> {
    let mut ps = t.process.sig.lock();
    let blocked = !set;
    let mut tg = t.sig.lock();
    let own = tg.as_mut().and_then(|ts| ts.pending.next(blocked).and_then(|s| ts.pending.take(s)));
    own.or_else(|| ps.pending.next(blocked).and_then(|s| ps.pending.take(s)))
}

/// rt_sigtimedwait(set, info, timeout, sigsetsize): take a signal of `set` (blocked, as a
/// rule) without running its handler; EAGAIN at the timeout, EINTR if another signal's
/// handler must run.
pub async fn rt_sigtimedwait(t: Arc<Thread>, a: Args) -> isize {
    let (set, info, timeout, size) = (a.0[0], a.0[1], a.0[2], a.0[3]);
    if size != SIGSET_SIZE {
        return err(errno::EINVAL);
    }
    let set = match uaccess::read::<u64>(set) {
        Ok(s) => s & !UNBLOCKABLE,
        Err(e) => return err(e),
    };
    let deadline = if timeout != 0 {
        match super::time::read_ts(timeout) {
            Ok(ns) => Some(crate::time::ticks().saturating_add(crate::time::ns_to_ticks(ns))),
            Err(e) => return err(e),
        }
    } else {
        None
    };
    let got = match take_from(&t, set) {
        Some(i) => Some(i),
        None if deadline.is_some_and(|d| d <= crate::time::ticks()) => None,
        None => {
            // Wait with the set unblocked, so its signals wake this thread (and not another).
            let old = t.sigmask.load(Ordering::Relaxed);
            t.sig_state(|s| s.waiting_for = set);
            sig::set_mask(&t, old & !set);
            let w = async {
                match deadline {
                    Some(d) => crate::time::sleep_until(d).await,
                    None => core::future::pending::<()>().await,
                }
            };
            let _ = sig::interruptible(&t, w).await;
            t.sig_state(|s| s.waiting_for = 0);
            sig::set_mask(&t, old);
            let got = take_from(&t, set);
            if got.is_none() && t.signal_pending() {
                return err(errno::EINTR);
            }
            got
        }
    };
    let Some(mut i) = got else { return err(errno::EAGAIN) };
    if !crate::task::timers::taken(&t.process, &mut i) {
        // A stale timer signal, dropped: wait again (the restart does).
        return sig::ERESTARTNOHAND;
    }
    // Another thread may have taken part of what woke us: look again on the way out.
    sig::recalc(&t);
    if info != 0 {
        if let Err(e) = uaccess::write_siginfo(info, &i) {
            return err(e);
        }
    }
    i.signo as isize
}

/// EPERM unless the caller may signal `p`: its credentials (kill_ok_by_cred), or SIGCONT
/// within the caller's session.
fn permitted(t: &Thread, p: &Process, s: usize) -> Result<(), u32> {
    let me = *t.process.cred.lock();
    let same_session = p.sid.load(Ordering::Relaxed) == t.process.sid.load(Ordering::Relaxed);
    if me.may_signal(&p.cred.lock()) || (s == g::SIGCONT as usize && same_session) { Ok(()) } else { Err(errno::EPERM) }
}

/// The siginfo of a plain kill/tkill from `t`.
fn user_info(t: &Thread, s: usize, code: i32) -> SigInfo {
    SigInfo::new(s as i32, code).with_sender(t.process.pid as u32, t.process.cred.lock().uid.r)
}

/// Deliver `info` (or only check, for signal 0) to each of `targets`; ESRCH if there are
/// none, EPERM if the caller may signal none of them.
fn kill_all(t: &Thread, targets: Vec<Arc<Process>>, s: usize, info: SigInfo) -> isize {
    if targets.is_empty() {
        return err(errno::ESRCH);
    }
    // Success if any target got it; otherwise the last error (Linux's kill_pgrp_info).
    let (mut any, mut last) = (false, errno::EPERM);
    for p in targets {
        let r = permitted(t, &p, s).and_then(|_| if s == 0 { Ok(()) } else { sig::send_process(&p, &info).map(|_| ()) });
        match r {
            Ok(()) => any = true,
            Err(e) => last = e,
        }
    }
    if any { 0 } else { err(last) }
}

/// Does pid 1 take signal `s` from user space? The kernel's own init never does; a user
/// init (/sbin/init) takes a signal it catches or blocks (busybox init blocks SIGUSR2 and
/// the like and collects them with sigtimedwait), never SIGKILL or SIGSTOP, as Linux's
/// SIGNAL_UNKILLABLE rule.
fn init_takes(p: &Process, s: usize) -> bool {
    if !process::USER_INIT.load(Ordering::Relaxed) || s == g::SIGKILL as usize || s == g::SIGSTOP as usize {
        return false;
    }
    if p.sig.lock().actions[s - 1].handler != sig::SIG_DFL {
        return true;
    }
    let bit = 1u64 << (s - 1);
    // Blocked, or being waited for with sigtimedwait (which unblocks its set meanwhile:
    // Linux's real_blocked).
    p.threads.lock().values().any(|th| th.sigmask.load(Ordering::Relaxed) & bit != 0 || th.sig.lock().as_ref().is_some_and(|s| s.waiting_for & bit != 0))
}

/// The processes `pid` names for kill: one (pid > 0), the caller's group (0), every process
/// but init and the caller (-1), or group -pid. Zombies count (a signal to one is accepted).
fn kill_targets(t: &Thread, pid: i32) -> Vec<Arc<Process>> {
    match pid {
        p if p > 0 => process::find(p as usize).filter(|p| p.pid != 1).into_iter().collect(),
        -1 => process::all().into_iter().filter(|p| p.pid > 1 && p.pid != t.process.pid).collect(),
        _ => {
            let g = if pid == 0 { t.process.pgid.load(Ordering::Relaxed) } else { pid.unsigned_abs() as usize };
            process::all().into_iter().filter(|p| p.pid > 1 && p.pgid.load(Ordering::Relaxed) == g).collect()
        }
    }
}

/// kill(pid, sig). Synchronous (it never waits), so it runs on the trap fast path; a signal
/// for the caller itself interrupts the return to user mode (`Thread::kick`).
pub fn kill(t: &Thread, c: &UserContext) -> Fast {
    super::done_checking_signals(t, kill_impl(t, c.arg(0) as i32, c.arg(1)))
}

fn kill_impl(t: &Thread, pid: i32, s: usize) -> isize {
    if pid == i32::MIN {
        return err(errno::ESRCH);
    }
    // One process (the common case): no list of targets.
    if pid > 0 {
        // (Itself: no look-up; a process may always signal itself.)
        if pid as usize == t.process.pid {
            if s > NSIG {
                return err(errno::EINVAL);
            }
            let r = if s == 0 { Ok(()) } else { sig::send_process(&t.process, &user_info(t, s, g::SI_USER as i32)).map(|_| ()) };
            return ret(r.map(|_| 0));
        }
        // (A thread id names its process too, as on Linux.)
        let Some(p) = process::find(pid as usize).or_else(|| process::find_thread(pid as usize).map(|th| th.process.clone())) else {
            return err(errno::ESRCH);
        };
        // (Linux looks the target up before it checks the signal number.)
        if s > NSIG {
            return err(errno::EINVAL);
        }
        // Init takes only the signals it asked for (Linux's unkillable init).
        let r = permitted(t, &p, s)
            .and_then(|_| if s == 0 || p.pid == 1 && !init_takes(&p, s) { Ok(()) } else { sig::send_process(&p, &user_info(t, s, g::SI_USER as i32)).map(|_| ()) });
        return ret(r.map(|_| 0));
    }
    let targets = kill_targets(t, pid);
    if s > NSIG && !targets.is_empty() {
        return err(errno::EINVAL);
    }
    let info = user_info(t, s.min(NSIG), g::SI_USER as i32);
    kill_all(t, targets, s, info)
}

/// The thread `tid` (of process `tgid` unless 0), for tkill/tgkill/rt_tgsigqueueinfo.
fn find_thread(tgid: usize, tid: usize) -> Option<Arc<Thread>> {
    let th = process::find_thread(tid)?;
    (tgid == 0 || th.process.pid == tgid).then_some(th)
}

fn send_to_thread(t: &Thread, tgid: i32, tid: i32, s: usize, info: SigInfo) -> isize {
    if tid <= 0 || tgid < 0 {
        return err(errno::EINVAL);
    }
    let Some(th) = find_thread(tgid as usize, tid as usize) else { return err(errno::ESRCH) };
    if s > NSIG {
        return err(errno::EINVAL);
    }
    if let Err(e) = permitted(t, &th.process, s) {
        return err(e);
    }
    if s == 0 {
        return 0;
    }
    ret(sig::send_thread(&th, &info).map(|_| 0))
}

/// tkill(tid, sig) (synchronous, like kill).
pub fn tkill(t: &Thread, c: &UserContext) -> Fast {
    let (tid, s) = (c.arg(0) as i32, c.arg(1));
    let info = user_info(t, s.min(NSIG), g::SI_TKILL);
    super::done_checking_signals(t, send_to_thread(t, 0, tid, s, info))
}

/// tgkill(tgid, tid, sig) (synchronous, like kill).
pub fn tgkill(t: &Thread, c: &UserContext) -> Fast {
    let (tgid, tid, s) = (c.arg(0) as i32, c.arg(1) as i32, c.arg(2));
    if tgid <= 0 {
        return Fast::Done(err(errno::EINVAL));
    }
    let info = user_info(t, s.min(NSIG), g::SI_TKILL);
    super::done_checking_signals(t, send_to_thread(t, tgid, tid, s, info))
}

/// True if Linux knows the layout of a siginfo with this signal and code (known_siginfo_layout):
/// then only the kernel's 48 bytes matter; otherwise the rest must be zero.
fn known_layout(s: usize, code: i32) -> bool {
    const MAX: [(usize, i32); 8] = [
        (g::SIGILL as usize, 11),
        (g::SIGFPE as usize, 15),
        (g::SIGSEGV as usize, 10),
        (g::SIGBUS as usize, 5),
        (g::SIGTRAP as usize, 6),
        (g::SIGCHLD as usize, 6),
        (g::SIGPOLL as usize, 6),
        (g::SIGSYS as usize, 1),
    ];
    code <= 0 || code == g::SI_KERNEL as i32 || MAX.iter().any(|&(sig, max)| sig == s && code <= max)
}

/// The siginfo a sigqueue caller supplies: E2BIG if its layout is unknown and it uses bytes
/// the kernel would drop.
fn read_queued_info(s: usize, uinfo: usize) -> Result<SigInfo, u32> {
    let mut raw = [0u8; velox_abi::SIGINFO_USER_SIZE];
    uaccess::read_bytes(uinfo, &mut raw)?;
    let (head, rest) = raw.split_at(size_of::<SigInfo>());
    let mut i = <SigInfo as zerocopy::FromBytes>::read_from_bytes(head).map_err(|_| errno::EINVAL)?;
    if !known_layout(s, i.code) && rest.iter().any(|&b| b != 0) {
        return Err(errno::E2BIG);
    }
    i.signo = s as i32;
    i._pad = 0; // (never a kernel timer's mark)
    Ok(i)
}

/// EPERM if a queued siginfo claims to come from the kernel (or tkill) while going to
/// someone else than the caller (`same`), as Linux.
fn check_queued(i: &SigInfo, same: bool) -> Result<(), u32> {
    if (i.code >= 0 || i.code == g::SI_TKILL) && !same {
        return Err(errno::EPERM);
    }
    Ok(())
}

/// rt_sigqueueinfo(pid, sig, info).
pub async fn rt_sigqueueinfo(t: Arc<Thread>, a: Args) -> isize {
    let (pid, s, uinfo) = (a.0[0] as i32, a.0[1], a.0[2]);
    let info = match read_queued_info(s.min(NSIG), uinfo).and_then(|i| check_queued(&i, pid as usize == t.process.pid).map(|_| i)) {
        Ok(i) => i,
        Err(e) => return err(e),
    };
    let targets: Vec<_> = if pid > 0 { process::find(pid as usize).into_iter().collect() } else { Vec::new() };
    if s > NSIG && !targets.is_empty() {
        return err(errno::EINVAL);
    }
    kill_all(&t, targets, s, info)
}

/// rt_tgsigqueueinfo(tgid, tid, sig, info).
pub async fn rt_tgsigqueueinfo(t: Arc<Thread>, a: Args) -> isize {
    let (tgid, tid, s, uinfo) = (a.0[0] as i32, a.0[1] as i32, a.0[2], a.0[3]);
    // (Linux copies the siginfo before it looks at the ids; the EPERM rule compares the
    // target thread with the caller thread.)
    let info = match read_queued_info(s.min(NSIG), uinfo) {
        Ok(i) => i,
        Err(e) => return err(e),
    };
    if tgid <= 0 || tid <= 0 {
        return err(errno::EINVAL);
    }
    if let Err(e) = check_queued(&info, tid as usize == t.tid()) {
        return err(e);
    }
    send_to_thread(&t, tgid, tid, s, info)
}

/// sigaltstack(ss, oss).
pub fn sigaltstack(t: &Thread, c: &UserContext) -> Fast {
    let (ss, oss) = (c.arg(0), c.arg(1));
    let sp = c.x[2] as u64;
    Fast::Done(ret((|| {
        let new = if ss != 0 { Some(uaccess::read::<StackT>(ss)?) } else { None };
        let old = t.sig.lock().as_ref().map_or(crate::task::signal::ThreadSig::default().altstack, |s| s.altstack);
        let on = sig::sas_flags(&old, sp) == g::SS_ONSTACK as i32;
        if let Some(n) = new {
            if on {
                return Err(errno::EPERM);
            }
            t.sig_state(|s| sig::set_altstack(s, &n))?;
        }
        if oss != 0 {
            let mut o = old;
            o.ss_flags = sig::sas_flags(&old, sp) | (old.ss_flags & g::SS_AUTODISARM as i32);
            uaccess::write(oss, &o)?;
        }
        Ok(0)
    })()))
}

/// rt_sigreturn: back from a handler (the vDSO's trampoline calls it).
pub async fn rt_sigreturn(t: Arc<Thread>, _a: Args) -> isize {
    sig::sigreturn(&t)
}

/// restart_syscall: continue an interrupted relative sleep until its original deadline.
pub async fn restart_syscall(t: Arc<Thread>, _a: Args) -> isize {
    let Some((d, rem)) = t.sig_state(|s| s.restart_deadline.take()) else { return err(errno::EINTR) };
    super::time::sleep_or_restart(&t, d, rem).await
}
