//! Signal state and delivery: sending (process- and thread-directed), the stop/continue group
//! state, building the frame a handler runs on, syscall restart, and forced fault signals.
//!
//! Lock order: a process's `sig`, then a thread's `sig`, then its `ctx`. Senders queue under
//! the locks and raise the target's `sig_pending` after; the target clears the flag under its
//! process's `sig` lock when it finds nothing deliverable, so no signal is missed.

use super::process::{ExitStatus, Process};
use super::Thread;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_abi::{KSigaction, SigFrame, SigInfo, StackT, UContext};
use velox_hal::trap::UserContext;
use velox_signal::{self as sig, Default as Dfl, Pending, bit, default_action};

/// `sa_handler` values.
pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

/// Linux's internal "restart the syscall" codes (never seen by user space).
pub const ERESTARTSYS: isize = -512;
pub const ERESTARTNOINTR: isize = -513;
pub const ERESTARTNOHAND: isize = -514;
pub const ERESTART_RESTARTBLOCK: isize = -516;

/// True for one of the restart codes above.
#[inline]
pub fn is_restart(r: isize) -> bool {
    matches!(r, ERESTARTSYS | ERESTARTNOINTR | ERESTARTNOHAND | ERESTART_RESTARTBLOCK)
}

/// A process's signal state.
pub struct ProcSig {
    /// Dispositions, shared by the threads (CLONE_SIGHAND).
    pub actions: [KSigaction; 64],
    /// Signals sent to the process as a whole.
    pub pending: Pending,
    /// Set while the process is stopped (SIGSTOP, SIGTSTP...) until SIGCONT or SIGKILL.
    pub stopped: bool,
    /// A stop (its signal) or a continue not yet reported to the parent's wait
    /// (WUNTRACED / WCONTINUED).
    pub stop_report: Option<u8>,
    pub cont_report: bool,
    /// The signal of the stop in progress, the threads parked in it so far, and whether the
    /// parent was told (when the last thread parked, as Linux's group stop).
    stop_sig: u8,
    parked: usize,
    stop_notified: bool,
    /// Bumped by every SIGCONT: a stop signal taken before a SIGCONT that arrives before the
    /// stop is carried out does not stop the process (Linux's JOBCTL_STOP_DEQUEUED).
    cont_seq: u64,
}

impl ProcSig {
    /// Default dispositions, nothing pending.
    pub const fn new() -> ProcSig {
        ProcSig {
            actions: [KSigaction { handler: 0, flags: 0, mask: 0 }; 64],
            pending: Pending::new(),
            stopped: false,
            stop_report: None,
            cont_report: false,
            stop_sig: 0,
            parked: 0,
            stop_notified: false,
            cont_seq: 0,
        }
    }

    /// A child's copy (fork): same dispositions, nothing pending, running.
    pub fn fork(&self) -> ProcSig {
        ProcSig { actions: self.actions, ..ProcSig::new() }
    }

    /// True if `sig` sent now would be discarded (ignored, explicitly or by default).
    fn ignored(&self, s: usize) -> bool {
        let h = self.actions[s - 1].handler;
        h == SIG_IGN || (h == SIG_DFL && matches!(default_action(s), Dfl::Ignore | Dfl::Continue))
    }
}

/// The per-thread part that is allocated at first use.
pub struct ThreadSig {
    /// Signals sent to this thread (tkill, tgkill, faults, SIGPIPE).
    pub pending: Pending,
    /// sigaltstack (ss_flags SS_DISABLE when none).
    pub altstack: StackT,
    /// The mask to restore after a handler when a call (sigsuspend, ppoll, pselect) ran with
    /// a temporary one.
    pub saved_mask: Option<u64>,
    /// The set a sigtimedwait waits for: unblocked while it waits, but still "blocked" for the
    /// rule that drops ignored signals (Linux's real_blocked), so the wait can take them.
    pub waiting_for: u64,
    /// An interrupted relative sleep, for restart_syscall: its absolute deadline (ticks) and
    /// where to write the time left (0: nowhere).
    pub restart_deadline: Option<(u64, usize)>,
}

impl Default for ThreadSig {
    fn default() -> Self {
        ThreadSig {
            pending: Pending::new(),
            altstack: StackT { ss_sp: 0, ss_flags: g::SS_DISABLE as i32, _pad: 0, ss_size: 0 },
            saved_mask: None,
            waiting_for: 0,
            restart_deadline: None,
        }
    }
}

/// Most signals queued per thread or process (RLIMIT_SIGPENDING's default).
fn queue_limit(p: &Process) -> usize {
    p.limits.lock()[g::RLIMIT_SIGPENDING as usize].0.min(1 << 16) as usize
}

/// A thread wants `s`: not blocked, not exiting.
fn wants(t: &Thread, s: usize) -> bool {
    t.sigmask.load(Ordering::Relaxed) & bit(s) == 0 && !t.is_exiting()
}

/// Tell `t` to look at its signals: raise the flag, wake it if it sleeps, interrupt it if it
/// runs in user mode on another hart.
pub fn notify(t: &Thread) {
    t.sig_pending.store(true, Ordering::SeqCst);
    t.wake();
    t.kick();
}

/// Remove `mask` from every pending set of `p` (process and threads). Timer signals among
/// them are added to `lost` (their timers are told once the locks are dropped:
/// [`super::timers::discarded`]).
pub fn discard_all(p: &Process, ps: &mut ProcSig, mask: u64, lost: &mut alloc::vec::Vec<SigInfo>) {
    let mut keep = |i: &SigInfo| {
        if super::timers::is_timer_signal(i) && lost.try_reserve(1).is_ok() {
            lost.push(*i);
        }
    };
    ps.pending.discard_each(mask, &mut keep);
    for t in p.threads.lock().values() {
        if let Some(ts) = t.sig.lock().as_mut() {
            ts.pending.discard_each(mask, &mut keep);
        }
    }
}

/// Send a signal to process `p` (kill): one of its threads that does not block it takes it.
/// `Ok(true)` if it is now pending as a new signal; `Ok(false)` if it was accepted but
/// dropped (ignored, coalesced with a pending one, or acted on at once: SIGKILL, a zombie).
pub fn send_process(p: &Process, info: &SigInfo) -> Result<bool, u32> {
    send(p, None, info)
}

/// Send a signal to thread `t` (tgkill, SIGPIPE); as [`send_process`].
pub fn send_thread(t: &Thread, info: &SigInfo) -> Result<bool, u32> {
    send(&t.process, Some(t), info)
}

fn send(p: &Process, target: Option<&Thread>, info: &SigInfo) -> Result<bool, u32> {
    let s = info.signo as usize;
    if !(1..=sig::NSIG).contains(&s) {
        return Err(errno::EINVAL);
    }
    if p.exit_status().is_some() || p.is_exiting() {
        return Ok(false); // a zombie or a dying process: accepted, nothing happens
    }
    if s == sig::SIGKILL {
        p.exit_group(ExitStatus::Signaled(s as u8));
        return Ok(false);
    }
    // (A kernel heap near its reserve queues no more siginfos: real-time signals get EAGAIN,
    // standard ones are still recorded in the pending set.)
    let limit = if crate::mm::heap_free() < crate::config::HEAP_RESERVE {
        0
    } else if super::timers::is_timer_signal(info) {
        usize::MAX // (a timer's one pending signal: Linux preallocates it)
    } else {
        queue_limit(p)
    };
    let mut resumed = (false, false);
    let mut lost = alloc::vec::Vec::new();
    let r = queue(p, target, info, limit, &mut resumed, &mut lost);
    if !lost.is_empty() {
        super::timers::discarded(p, &lost);
    }
    // A stopped process continues only after SIGCONT is queued: it must find the signal
    // when it unblocks it. The parent hears of it if it heard of the stop.
    if resumed.0 {
        p.stop_wait.wake_all();
    }
    if resumed.1 {
        notify_parent(p, g::CLD_CONTINUED as i32, g::SIGCONT as i32);
    }
    r
}

/// The locked part of [`send`]: stop/continue side effects, the ignore rule, queueing, and
/// picking the thread that takes the signal.
fn queue(
    p: &Process,
    target: Option<&Thread>,
    info: &SigInfo,
    limit: usize,
    resumed: &mut (bool, bool),
    lost: &mut alloc::vec::Vec<SigInfo>,
) -> Result<bool, u32> {
    let s = info.signo as usize;
    let ps = &mut *p.sig.lock();
    // Stop and continue signals cancel each other at once (prepare_signal).
    if bit(s) & sig::STOP != 0 {
        discard_all(p, ps, bit(sig::SIGCONT), lost);
    } else if s == sig::SIGCONT {
        discard_all(p, ps, sig::STOP, lost);
        // (A stop dequeued but not yet carried out is cancelled: see `group_stop`.)
        ps.cont_seq = ps.cont_seq.wrapping_add(1);
        if ps.stopped {
            ps.stopped = false;
            ps.stop_report = None;
            // (Reported only for a stop the parent heard of.)
            ps.cont_report = ps.stop_notified;
            *resumed = (true, ps.stop_notified);
            ps.stop_notified = false;
        }
    }
    // A signal nobody blocks and the process ignores is dropped; a blocked one is kept (the
    // disposition may change before it is unblocked).
    let blocked_by = |t: &Thread| {
        t.sigmask.load(Ordering::Relaxed) & bit(s) != 0 || t.sig.lock().as_ref().is_some_and(|ts| ts.waiting_for & bit(s) != 0)
    };
    if ps.ignored(s) {
        let blocked = match target {
            Some(t) => blocked_by(t),
            None => p.threads.lock().values().all(|t| blocked_by(t)),
        };
        if !blocked {
            return Ok(false);
        }
    }
    let added = match target {
        Some(t) => t.sig_state(|ts| ts.pending.add(info, limit)),
        None => ps.pending.add(info, limit),
    };
    // (Recorded without its siginfo counts as "not queued" for the caller: a timer then
    // re-arms at once instead of waiting for a siginfo that will not carry its mark.)
    let queued = match added {
        Err(_) => return Err(errno::EAGAIN),
        Ok(velox_signal::Added::Coalesced) => return Ok(false), // merged with the pending one
        Ok(velox_signal::Added::Queued) => true,
        Ok(velox_signal::Added::SetOnly) => false,
    };
    // Pick the thread that will take it (complete_signal).
    // The caller itself when it wants it (kill of its own process: no look-up, no reference
    // count), else the main thread, else any.
    let me_wants = super::current::with(|c| c.is_some_and(|c| core::ptr::eq(&*c.process, p) && wants(c, s) && target.is_none_or(|t| core::ptr::eq(t, c))));
    let chosen: Option<Arc<Thread>> = if me_wants {
        None
    } else {
        match target {
            Some(t) => wants(t, s).then(|| p.threads.lock().get(&t.tid()).cloned()).flatten(),
            None => {
                let ts = p.threads.lock();
                ts.get(&p.pid).filter(|t| wants(t, s)).cloned().or_else(|| ts.values().find(|t| wants(t, s)).cloned())
            }
        }
    };
    if chosen.is_none() && !me_wants {
        return Ok(queued);
    }
    // A fatal signal (default action terminate, no handler) ends the whole group now, as
    // Linux's complete_signal does, without waiting for a thread to dequeue it.
    let fatal = ps.actions[s - 1].handler == SIG_DFL && matches!(default_action(s), Dfl::Term | Dfl::Core);
    let deliver = |t: &Thread| {
        // (Not fatal while the thread waits for it in sigtimedwait: that takes it instead.)
        if fatal && !t.sig.lock().as_ref().is_some_and(|ts| ts.waiting_for & bit(s) != 0) {
            p.exit_group(ExitStatus::Signaled(s as u8));
        } else {
            notify(t);
        }
    };
    match chosen {
        Some(t) => deliver(&t),
        None => super::current::with(|c| c.map(deliver)).unwrap_or(()),
    }
    Ok(queued)
}

/// A fault or a kernel-detected condition raises `info` in thread `t` itself (SIGSEGV,
/// SIGBUS, SIGILL, SIGTRAP). If the thread blocks or ignores it, the disposition goes back to
/// the default, so the process dies instead of looping on the fault (force_sig_info).
pub fn force(t: &Thread, info: SigInfo) {
    let s = info.signo as usize;
    let p = &t.process;
    {
        let mut ps = p.sig.lock();
        let blocked = t.sigmask.load(Ordering::Relaxed) & bit(s) != 0;
        let act = &mut ps.actions[s - 1];
        if blocked || act.handler == SIG_IGN {
            act.handler = SIG_DFL;
            if blocked {
                t.sigmask.fetch_and(!bit(s), Ordering::Relaxed);
            }
        }
        // (A full queue cannot refuse it: standard signals are recorded in the set anyway.)
        let _ = t.sig_state(|ts| ts.pending.add(&info, usize::MAX));
    }
    notify(t);
}

/// Re-evaluate `t.sig_pending` after its mask changed: raise it if something it no longer
/// blocks is pending (the process's or its own).
pub fn recalc(t: &Thread) {
    let p = &t.process;
    let ps = p.sig.lock();
    let mask = t.sigmask.load(Ordering::Relaxed);
    let own = t.sig.lock().as_ref().map_or(0, |ts| ts.pending.set());
    if (own | ps.pending.set()) & !mask != 0 || ps.stopped {
        t.sig_pending.store(true, Ordering::SeqCst);
    }
}

/// Set the thread's mask (SIGKILL and SIGSTOP are never blocked) and re-evaluate its flag.
/// Process-wide signals it now blocks go to another thread that wants them.
pub fn set_mask(t: &Thread, m: u64) {
    let old = t.sigmask.swap(m & !sig::UNBLOCKABLE, Ordering::Relaxed);
    recalc(t);
    let newly_blocked = m & !old;
    if newly_blocked != 0 {
        retarget(&t.process, newly_blocked, Some(t));
    }
}

/// Process-wide pending signals in `mask` that `leaving` (a thread now blocking them, or
/// exiting) may have been told about: tell a thread that wants them (Linux's
/// retarget_shared_pending).
pub fn retarget(p: &Process, mask: u64, leaving: Option<&Thread>) {
    let mut todo = p.sig.lock().pending.set() & mask;
    if todo == 0 {
        return;
    }
    let ts = p.threads.lock();
    while todo != 0 {
        let s = todo.trailing_zeros() as usize + 1;
        todo &= todo - 1;
        if let Some(t) = ts.values().find(|t| !leaving.is_some_and(|l| core::ptr::eq(&***t, l)) && wants(t, s)) {
            notify(t);
        }
    }
}

/// What the interrupted system call asked for: one of the restart codes, or none (0). Its
/// first argument is still in a0. Small, as it lives in every thread's future.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restart(pub i32);

impl Restart {
    pub const NONE: Restart = Restart(0);

    /// True if a call is waiting to be restarted or failed.
    #[inline(always)]
    pub fn is_some(self) -> bool {
        self.0 != 0
    }
}

/// Settle an interrupted call in the registers: `handler` holds the flags of the handler
/// about to run, `None` if none runs. Restarting re-executes the `ecall` with a0 untouched;
/// otherwise a0 becomes EINTR.
fn apply_restart(ctx: &mut UserContext, r: Restart, handler: Option<u64>) {
    let code = r.0 as isize;
    let restart = match (code, handler) {
        (ERESTARTNOHAND | ERESTART_RESTARTBLOCK, Some(_)) => false,
        (ERESTARTSYS, Some(f)) => f & g::SA_RESTART as u64 != 0,
        _ => true,
    };
    if restart {
        if code == ERESTART_RESTARTBLOCK {
            ctx.x[17] = g::__NR_restart_syscall as usize;
        }
        ctx.sepc -= 4;
    } else {
        ctx.x[10] = -(errno::EINTR as isize) as usize;
    }
}

/// The thread's work on its way to user mode: take pending signals in order and act on each
/// (ignore, stop the process, end it, or run a handler), and settle an interrupted system
/// call (restart it or let it fail with EINTR). Called when `sig_pending` is set or the
/// last call returned a restart code. Returns true if the process is stopped: the caller
/// waits for it to continue ([`wait_continued`]) and calls again (`restart` is kept until
/// it is settled).
///
/// (Synchronous, so the thread's future does not grow by a state machine that only the rare
/// stop needs: that costs every slow system call a few instructions; not inlined, for the
/// same reason.)
#[inline(never)]
pub fn handle(t: &Thread, restart: &mut Restart) -> bool {
    let p = &t.process;
    loop {
        if t.is_exiting() {
            return false;
        }
        if p.sig.lock().stopped {
            return true;
        }
        // (Filled in place under the locks: moving a siginfo around costs a copy each time.)
        let mut info = SigInfo::default();
        let mut act = KSigaction::default();
        let cont_seq;
        let found = {
            let mut ps = p.sig.lock();
            let mask = t.sigmask.load(Ordering::Relaxed);
            let mut tg = t.sig.lock();
            let found = tg.as_mut().is_some_and(|ts| ts.pending.take_next(mask, &mut info)) || ps.pending.take_next(mask, &mut info);
            cont_seq = ps.cont_seq;
            if found {
                let s = info.signo as usize;
                act = ps.actions[s - 1];
                if act.handler > SIG_IGN && act.flags & g::SA_RESETHAND as u64 != 0 {
                    ps.actions[s - 1].handler = SIG_DFL;
                }
            } else if ps.stopped {
                // A group stop began since the look above: park with the others.
                return true;
            } else {
                // Nothing deliverable. A temporary mask (sigsuspend) ends here too: the old
                // mask comes back, and what it no longer blocks is looked at again.
                if let Some(m) = tg.as_mut().and_then(|ts| ts.saved_mask.take()) {
                    t.sigmask.store(m, Ordering::Relaxed);
                    drop(tg);
                    drop(ps);
                    continue;
                }
                t.sig_pending.store(false, Ordering::SeqCst);
            }
            found
        };
        if !found {
            if restart.is_some() {
                apply_restart(&mut t.ctx(), core::mem::replace(restart, Restart::NONE), None);
            }
            return false;
        }
        if !super::timers::taken(p, &mut info) {
            continue; // a stale timer signal (its timer was re-armed or deleted)
        }
        let s = info.signo as usize;
        match act.handler {
            SIG_IGN => continue,
            SIG_DFL => match default_action(s) {
                Dfl::Ignore | Dfl::Continue => continue,
                Dfl::Stop => {
                    // Terminal stops are discarded in an orphaned process group (nobody
                    // could continue it); SIGSTOP always stops.
                    if s != sig::SIGSTOP && pgrp_orphaned(p) {
                        continue;
                    }
                    group_stop(t, s, cont_seq);
                    continue;
                }
                Dfl::Term | Dfl::Core => {
                    p.exit_group(ExitStatus::Signaled(s as u8));
                    return false;
                }
            },
            _ => {
                if restart.is_some() {
                    apply_restart(&mut t.ctx(), core::mem::replace(restart, Restart::NONE), Some(act.flags));
                }
                if setup_frame(t, &info, &act).is_err() {
                    force_sigsegv(t, s);
                    continue;
                }
                return false;
            }
        }
    }
}

/// A thread left a stopping process (it exited): if every remaining thread is parked, the
/// stop is complete and the parent hears of it.
pub fn stop_check(p: &Process) {
    let complete = complete_stop(p, &mut p.sig.lock());
    if let Some(s) = complete {
        notify_parent(p, g::CLD_STOPPED as i32, s as i32);
    }
}

/// The stop's signal if the stop in progress is now complete (every live thread parked and
/// the parent not told yet); marks it reported.
fn complete_stop(p: &Process, ps: &mut ProcSig) -> Option<u8> {
    if !ps.stopped || ps.stop_notified || ps.parked < p.threads.lock().values().filter(|x| !x.is_exiting()).count() {
        return None;
    }
    ps.stop_notified = true;
    ps.stop_report = Some(ps.stop_sig);
    Some(ps.stop_sig)
}

/// Park until the stopped process continues (SIGCONT) or the thread must exit. The last
/// thread to park completes the stop: the parent hears of it then (SIGCHLD, WUNTRACED), once
/// no thread of the process runs any more.
pub async fn wait_continued(t: &Thread) {
    let p = &t.process;
    let complete = {
        let mut ps = p.sig.lock();
        if !ps.stopped {
            return;
        }
        ps.parked += 1;
        complete_stop(p, &mut ps)
    };
    if let Some(s) = complete {
        notify_parent(p, g::CLD_STOPPED as i32, s as i32);
    }
    p.stop_wait.wait_until(|| (!p.sig.lock().stopped || t.is_exiting()).then_some(())).await;
    let mut ps = p.sig.lock();
    ps.parked = ps.parked.saturating_sub(1);
}

/// True if `p`'s process group is orphaned: no member has a parent in another group of the
/// same session (POSIX; Linux's is_current_pgrp_orphaned).
fn pgrp_orphaned(p: &Process) -> bool {
    let pgid = p.pgid.load(Ordering::Relaxed);
    let sid = p.sid.load(Ordering::Relaxed);
    let all = super::process::all();
    !all.iter().filter(|m| m.pgid.load(Ordering::Relaxed) == pgid && m.exit_status().is_none()).any(|m| {
        all.iter().any(|par| par.pid == m.ppid() && par.pgid.load(Ordering::Relaxed) != pgid && par.sid.load(Ordering::Relaxed) == sid)
    })
}

/// Stop the whole process (a stop signal at its default action): every thread parks in
/// `handle` until SIGCONT or SIGKILL; the parent hears of it (SIGCHLD, wait's WUNTRACED).
fn group_stop(t: &Thread, s: usize, cont_seq: u64) {
    let p = &t.process;
    {
        let mut ps = p.sig.lock();
        if ps.cont_seq != cont_seq {
            return; // a SIGCONT came after the stop signal was taken: it cancels it
        }
        if !ps.stopped {
            ps.stopped = true;
            ps.stop_sig = s as u8;
            ps.stop_notified = false;
            ps.cont_report = false;
        }
    }
    for other in p.threads.lock().values() {
        if !core::ptr::eq(&**other, t) {
            notify(other);
        }
    }
}


/// Tell `child`'s parent that it stopped or continued (SIGCHLD unless the parent asked for
/// SA_NOCLDSTOP; its waiters are woken either way).
fn notify_parent(child: &Process, code: i32, status: i32) {
    let Some(parent) = super::process::find(child.ppid()) else { return };
    let nocldstop = parent.sig.lock().actions[sig::SIGCHLD - 1].flags & g::SA_NOCLDSTOP as u64 != 0;
    if !nocldstop {
        let uid = child.cred.lock().uid.r;
        let _ = send_process(&parent, &SigInfo::new(sig::SIGCHLD as i32, code).with_sender(child.pid as u32, uid).with_child(status, 0, 0));
    }
    parent.child_event.wake_all();
}

/// The handler for a bad frame: SIGSEGV, at its default action if it was SIGSEGV's own
/// handler that could not be set up (force_sigsegv).
fn force_sigsegv(t: &Thread, s: usize) {
    if s == sig::SIGSEGV {
        t.process.sig.lock().actions[sig::SIGSEGV - 1].handler = SIG_DFL;
    }
    force(t, SigInfo::new(sig::SIGSEGV as i32, g::SI_KERNEL as i32));
}

/// SS_ONSTACK if `sp` is on the alternate stack `a`, SS_DISABLE if there is none, else 0.
pub fn sas_flags(a: &StackT, sp: u64) -> i32 {
    if a.ss_size == 0 || a.ss_flags & g::SS_DISABLE as i32 != 0 {
        g::SS_DISABLE as i32
    } else if sp > a.ss_sp && sp - a.ss_sp <= a.ss_size {
        g::SS_ONSTACK as i32
    } else {
        0
    }
}

/// Byte offsets in the riscv64 rt_sigframe (checked against the ABI struct below).
const UC: usize = velox_abi::SIGINFO_USER_SIZE;
const UC_HDR: usize = 48;
const UC_REGS: usize = UC + 176;
const UC_FP: usize = UC_REGS + 256;
/// The extension header at the end of the FP union (END_MAGIC, size 0: no vector state).
const UC_END_HDR: usize = UC_FP + 520;
const _: () = {
    assert!(core::mem::offset_of!(SigFrame, uc) == UC);
    assert!(core::mem::offset_of!(UContext, regs) == UC_REGS - UC);
    assert!(core::mem::offset_of!(UContext, fpregs) == UC_FP - UC);
    assert!(core::mem::offset_of!(UContext, _align) + 8 == UC_REGS - UC);
    assert!(size_of::<SigFrame>() == UC_FP + 528);
};

/// The first 48 bytes of the ucontext: flags, link, stack, the 8-byte signal mask.
#[derive(Clone, Copy, zerocopy::FromBytes, zerocopy::IntoBytes, zerocopy::Immutable, zerocopy::KnownLayout)]
#[repr(C)]
struct UcHeader {
    flags: u64,
    link: u64,
    stack: StackT,
    sigmask: u64,
}
const _: () = assert!(size_of::<UcHeader>() == UC_HDR && core::mem::offset_of!(UContext, _unused) == UC_HDR);

/// FP state of a thread that never used the FPU, as a frame holds it.
static FP_ZERO: [u64; 33] = [0; 33];

/// Build the riscv64 rt_sigframe on the user stack (or the alternate stack) and point the
/// registers at the handler: a0 = signal, a1 = &siginfo, a2 = &ucontext, ra = the vDSO's
/// sigreturn, with the handler's mask in force. As Linux's setup_rt_frame, only the fields
/// that mean something are written (siginfo, the ucontext header, the registers, the FP
/// state and its end marker), each straight from where the kernel keeps it.
fn setup_frame(t: &Thread, info: &SigInfo, act: &KSigaction) -> Result<(), u32> {
    use zerocopy::IntoBytes;
    let s = info.signo as usize;
    let (alt, saved) = t.sig_state(|ts| (ts.altstack, ts.saved_mask.take()));
    let mask = t.sigmask.load(Ordering::Relaxed);
    let mut ctx = t.ctx();
    let user_sp = ctx.x[2] as u64;
    let mut sp = user_sp;
    if act.flags & g::SA_ONSTACK as u64 != 0 && sas_flags(&alt, user_sp) == 0 {
        sp = alt.ss_sp + alt.ss_size;
    }
    let frame_at = sp.wrapping_sub(size_of::<SigFrame>() as u64) & !15;
    // A frame that would run off the alternate stack is a fatal error, not an overflow.
    if sas_flags(&alt, sp) == g::SS_ONSTACK as i32 && sas_flags(&alt, frame_at + 1) != g::SS_ONSTACK as i32 {
        return Err(errno::EFAULT);
    }
    let at = frame_at as usize;
    let put = |off: usize, b: &[u8]| velox_hal::user::copy_to_user(at.wrapping_add(off), b).map_err(|_| errno::EFAULT);
    // (The configured stack and flags, as Linux's __save_altstack: never SS_ONSTACK.)
    let hdr = UcHeader { flags: 0, link: 0, stack: alt, sigmask: saved.unwrap_or(mask) };
    put(0, info.as_bytes())?;
    static INFO_REST: [u8; velox_abi::SIGINFO_USER_SIZE - size_of::<SigInfo>()] = [0; velox_abi::SIGINFO_USER_SIZE - size_of::<SigInfo>()];
    put(size_of::<SigInfo>(), &INFO_REST)?;
    put(UC, hdr.as_bytes())?;
    // pc, then x1..x31: one copy, through x[0] (the kernel sp slot, which means nothing
    // until the next entry to user mode rewrites it).
    ctx.x[0] = ctx.sepc;
    put(UC_REGS, ctx.x.as_bytes())?;
    // f0..f31, then fcsr in the low half of the next word (the upper half, padding, is 0).
    put(UC_FP, ctx.f.as_deref().unwrap_or(&FP_ZERO).as_bytes())?;
    put(UC_END_HDR, 0u64.as_bytes())?;
    if alt.ss_flags as u32 & g::SS_AUTODISARM != 0 {
        t.sig_state(|ts| ts.altstack = ThreadSig::default().altstack);
    }
    ctx.x[10] = s;
    ctx.x[11] = at;
    ctx.x[12] = at + UC;
    ctx.x[2] = at;
    ctx.x[1] = crate::vdso::sigreturn_addr();
    ctx.sepc = act.handler as usize;
    drop(ctx);
    let mut m = mask | act.mask;
    if act.flags & g::SA_NODEFER as u64 == 0 {
        m |= bit(s);
    }
    t.sigmask.store(m & !sig::UNBLOCKABLE, Ordering::Relaxed);
    Ok(())
}

/// rt_sigreturn: restore what the frame at the user's sp holds (registers, FP state, mask,
/// alternate stack). A frame that cannot be read kills with SIGSEGV. Returns a0's value.
pub fn sigreturn(t: &Thread) -> isize {
    use zerocopy::{FromZeros, IntoBytes};
    let mut ctx = t.ctx();
    let at = ctx.x[2];
    let get = |off: usize, b: &mut [u8]| velox_hal::user::copy_from_user(b, at.wrapping_add(off));
    let mut hdr = UcHeader::new_zeroed();
    // (The registers go straight into the context, the pc through x[0], the kernel sp slot
    // that the next entry to user mode rewrites; a frame that faults half-way kills the
    // thread with SIGSEGV anyway, as on Linux.)
    let mut ok = get(UC, hdr.as_mut_bytes()).and_then(|_| get(UC_REGS, ctx.x.as_mut_bytes()));
    // The FP state: reloaded only if the handler changed it (usually it did not).
    let fp_at = at.wrapping_add(UC_FP);
    match ok.and_then(|_| velox_hal::user::user_words_differ(fp_at, ctx.f.as_deref().unwrap_or(&FP_ZERO), 0xffff_ffff)) {
        Ok(true) => {
            let mut fp = [0u64; 33];
            ok = velox_hal::user::copy_from_user(fp.as_mut_bytes(), fp_at);
            fp[32] &= 0xffff_ffff; // fcsr is a 32-bit field
            ctx.set_fp(&fp);
        }
        Ok(false) => {}
        Err(e) => ok = Err(e),
    }
    if ok.is_err() {
        drop(ctx);
        force(t, SigInfo::new(sig::SIGSEGV as i32, g::SI_KERNEL as i32));
        return t.ctx().x[10] as isize;
    }
    ctx.sepc = ctx.x[0];
    drop(ctx);
    set_mask(t, hdr.sigmask);
    // restore_altstack: applied unless we are still on the alternate stack (errors ignored).
    let cur = t.ctx().x[2] as u64;
    if hdr.stack != ThreadSig::default().altstack || t.sig.lock().is_some() {
        t.sig_state(|ts| {
            if sas_flags(&ts.altstack, cur) != g::SS_ONSTACK as i32 {
                let _ = set_altstack(ts, &hdr.stack);
            }
        });
    }
    t.ctx().x[10] as isize
}

/// sigaltstack's checks and update (the caller checked that the thread is not on it).
pub fn set_altstack(ts: &mut ThreadSig, ss: &StackT) -> Result<(), u32> {
    let mode = ss.ss_flags as u32 & !g::SS_AUTODISARM;
    if mode != 0 && mode != g::SS_DISABLE && mode != g::SS_ONSTACK {
        return Err(errno::EINVAL);
    }
    if mode == g::SS_DISABLE {
        ts.altstack = StackT { ss_sp: 0, ss_flags: g::SS_DISABLE as i32, _pad: 0, ss_size: 0 };
        return Ok(());
    }
    if ss.ss_size < g::MINSIGSTKSZ as u64 {
        return Err(errno::ENOMEM);
    }
    ts.altstack = StackT { ss_sp: ss.ss_sp, ss_flags: (ss.ss_flags as u32 & g::SS_AUTODISARM) as i32, _pad: 0, ss_size: ss.ss_size };
    Ok(())
}

/// Wait for `fut`, unless a signal is (or becomes) pending for `t`: then `Err(())` and the
/// future is dropped (taking it off whatever it waited on). A result ready at the same time
/// as a signal wins, as in Linux where a completed wait is not interrupted.
pub async fn interruptible<F: core::future::Future>(t: &Thread, fut: F) -> Result<F::Output, ()> {
    let mut fut = core::pin::pin!(fut);
    core::future::poll_fn(|cx| {
        if let core::task::Poll::Ready(v) = fut.as_mut().poll(cx) {
            return core::task::Poll::Ready(Ok(v));
        }
        if t.signal_pending() || t.is_exiting() {
            return core::task::Poll::Ready(Err(()));
        }
        core::task::Poll::Pending
    })
    .await
}

/// The fault signals of user traps, as Linux riscv64 reports them.
pub fn fault_info(s: usize, code: u32, addr: usize) -> SigInfo {
    SigInfo::new(s as i32, code as i32).with_addr(addr as u64)
}

/// Caught signals of `p` go back to their default action (ignored ones stay ignored), flags
/// and handler masks are cleared (execve; clone3's CLONE_CLEAR_SIGHAND).
pub fn clear_handlers(p: &Process) {
    for a in p.sig.lock().actions.iter_mut() {
        if a.handler != SIG_IGN {
            a.handler = SIG_DFL;
        }
        a.flags = 0;
        a.mask = 0;
    }
}

/// execve: caught signals go back to their default action (ignored ones stay ignored), flags
/// and handler masks are cleared, the alternate stack is dropped. The mask and pending
/// signals stay.
pub fn exec_reset(t: &Thread) {
    clear_handlers(&t.process);
    if let Some(ts) = t.sig.lock().as_mut() {
        ts.altstack = ThreadSig::default().altstack;
        ts.saved_mask = None;
        ts.restart_deadline = None;
    }
}
