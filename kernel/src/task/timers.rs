//! Process timers: setitimer's ITIMER_REAL and the POSIX timers (timer_create) fire their
//! signal from a kernel task that sleeps until the deadline; ITIMER_VIRTUAL and ITIMER_PROF
//! are checked against the process's CPU time (at slice ends and slow-path trips).
//!
//! As Linux, a periodic timer whose signal is queued does not fire again until the signal
//! is taken: it is re-armed then, and the periods missed meanwhile are its overrun count
//! (timer_getoverrun, si_overrun). So a 1 ns interval cannot keep a hart busy; a signal the
//! process ignores (dropped) re-arms the timer at most once per millisecond. SIGEV_NONE
//! timers run no task at all: timer_gettime computes where they are.
//!
//! Lock order: a process's `timers`, then its `threads` (timer_create); signals are sent with
//! no timer lock held, so the signal code may call back in here (`taken`).

use super::Process;
use super::signal;
use crate::time;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use core::sync::atomic::Ordering;
use core::task::{Poll, Waker};
use linux_raw_sys::general as g;
use velox_abi::SigInfo;

/// Marks (in the siginfo's padding word, which user space never sees: it is cleared when the
/// signal is taken) of a signal a timer sent, so a look-alike from rt_sigqueueinfo is not
/// taken for it.
const MARK_POSIX: i32 = 1;
const MARK_REAL: i32 = 2;

/// A timer whose signal was dropped (ignored) fires again no sooner than this.
const DROPPED_GAP_NS: u64 = 1_000_000;

/// A clock-driven timer: armed while `deadline` is set, re-armed by `interval` (ticks).
#[derive(Default)]
pub struct Slot {
    pub deadline: Option<u64>,
    pub interval: u64,
    /// Bumped by every re-arm or disarm: the task of an older arming sees it and ends, and a
    /// signal sent by an older arming is dropped when taken.
    arming: u64,
    /// Its signal is queued and not yet taken: the timer waits for that.
    queued: bool,
    /// The task sleeping for this slot (woken to notice a change).
    waker: Option<Waker>,
}

impl Slot {
    /// Disarm, and make the old task end now rather than at its deadline.
    fn cancel(&mut self) {
        self.deadline = None;
        self.queued = false;
        self.arming += 1;
        self.wake();
    }

    fn wake(&mut self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// The deadline after `d` for a periodic timer at `now`, and the periods missed.
    fn next_after(&self, d: u64, now: u64) -> (u64, u64) {
        let missed = now.saturating_sub(d) / self.interval.max(1);
        (d.saturating_add(self.interval.saturating_mul(missed + 1)), missed)
    }
}

/// A CPU-time timer (ITIMER_VIRTUAL: user time; ITIMER_PROF: all CPU time), in ticks of
/// that CPU time.
#[derive(Default, Clone, Copy)]
pub struct CpuTimer {
    pub expires: Option<u64>,
    pub interval: u64,
}

/// How a POSIX timer notifies (struct sigevent).
#[derive(Clone, Copy)]
pub struct Notify {
    /// SIGEV_SIGNAL, SIGEV_NONE or SIGEV_THREAD_ID.
    pub kind: i32,
    pub signo: i32,
    pub value: u64,
    /// SIGEV_THREAD_ID's thread.
    pub tid: usize,
}

/// A POSIX timer.
pub struct Posix {
    pub clock: u32,
    pub slot: Slot,
    pub notify: Notify,
    /// The overrun count reported with the last signal taken (timer_getoverrun).
    pub last_overrun: u32,
}

impl Posix {
    /// A disarmed timer on `clock`.
    pub fn new(clock: u32, notify: Notify) -> Posix {
        Posix { clock, slot: Slot::default(), notify, last_overrun: 0 }
    }

    /// (time left, interval) in ticks; SIGEV_NONE timers run no task, so where a periodic
    /// one is is computed here.
    pub fn remaining(&self) -> (u64, u64) {
        let s = &self.slot;
        match s.deadline {
            Some(d) if self.notify.kind == g::SIGEV_NONE as i32 => {
                let now = time::ticks();
                if now < d {
                    (d - now, s.interval)
                } else if s.interval > 0 {
                    (s.interval - (now - d) % s.interval, s.interval)
                } else {
                    (0, 0)
                }
            }
            _ => remaining(s),
        }
    }
}

/// POSIX timers in existence, kernel-wide, and their cap: each may have a task and queue
/// entries, and a ready queue must be able to hold every armed one (Linux bounds them by
/// RLIMIT_SIGPENDING per user).
pub static POSIX_TIMERS: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);
pub const MAX_POSIX_TIMERS: usize = 32768;

/// Which clock-driven timer a task serves.
#[derive(Clone, Copy)]
enum Which {
    Real,
    Posix(i32),
}

/// A process's timers.
#[derive(Default)]
pub struct Timers {
    pub real: Slot,
    pub virt: CpuTimer,
    pub prof: CpuTimer,
    pub posix: BTreeMap<i32, Posix>,
    /// The next POSIX timer id to try (ids are not reused at once, as Linux).
    next_id: i32,
}

impl Timers {
    fn slot(&mut self, w: Which) -> Option<&mut Slot> {
        match w {
            Which::Real => Some(&mut self.real),
            Which::Posix(id) => self.posix.get_mut(&id).map(|p| &mut p.slot),
        }
    }

    /// Disarm everything (the process ended).
    pub fn cancel_all(&mut self) {
        self.real.cancel();
        for p in self.posix.values_mut() {
            p.slot.cancel();
        }
        POSIX_TIMERS.fetch_sub(self.posix.len(), Ordering::Relaxed);
        self.posix.clear();
        self.virt = CpuTimer::default();
        self.prof = CpuTimer::default();
    }

    /// A free POSIX timer id: the next one in turn (wrapping), skipping ids in use.
    pub fn free_id(&mut self) -> Option<i32> {
        for _ in 0..=self.posix.len() {
            let id = self.next_id;
            self.next_id = if id == i32::MAX { 0 } else { id + 1 };
            if !self.posix.contains_key(&id) {
                return Some(id);
            }
        }
        None
    }
}

/// Delete POSIX timer `id` (false if there is none).
pub fn delete(ts: &mut Timers, id: i32) -> bool {
    match ts.posix.remove(&id) {
        Some(mut t) => {
            t.slot.cancel();
            POSIX_TIMERS.fetch_sub(1, Ordering::Relaxed);
            true
        }
        None => false,
    }
}

/// Arm ITIMER_REAL (`value` ticks from now, 0: disarm) and return what was left of the old
/// one: (remaining, interval) in ticks.
pub fn set_real(p: &Arc<Process>, value: u64, interval: u64) -> (u64, u64) {
    let mut ts = p.timers.lock();
    let old = remaining(&ts.real);
    ts.real.cancel();
    ts.real.interval = 0;
    if value != 0 {
        ts.real.deadline = Some(time::ticks().saturating_add(value));
        ts.real.interval = interval;
        start(p, Which::Real, ts.real.arming);
    }
    old
}

/// (time left, interval) of a clock-driven slot, in ticks. While its signal waits to be
/// taken, a one-shot timer reads as expired and a periodic one as at its next period.
pub fn remaining(s: &Slot) -> (u64, u64) {
    if s.queued {
        return match s.deadline {
            Some(d) if s.interval > 0 => {
                let now = time::ticks();
                let (next, _) = s.next_after(d, now);
                (next.saturating_sub(now).max(1), s.interval)
            }
            _ => (0, s.interval),
        };
    }
    match s.deadline {
        // (A timer due but not yet fired reports a tiny remainder rather than 0, which
        // would read as "disarmed".)
        Some(d) => (d.saturating_sub(time::ticks()).max(1), s.interval),
        None => (0, s.interval),
    }
}

/// Arm POSIX timer `id` to fire at `deadline` (ticks; `None`: disarm); returns the old
/// (remaining, interval).
pub fn set_posix(p: &Arc<Process>, id: i32, deadline: Option<u64>, interval: u64) -> Option<(u64, u64)> {
    let mut ts = p.timers.lock();
    let t = ts.posix.get_mut(&id)?;
    let old = t.remaining();
    t.slot.cancel();
    t.slot.interval = interval;
    t.last_overrun = 0;
    if let Some(d) = deadline {
        t.slot.deadline = Some(d);
        if t.notify.kind != g::SIGEV_NONE as i32 {
            let arming = t.slot.arming;
            start(p, Which::Posix(id), arming);
        }
    }
    Some(old)
}

fn start(p: &Arc<Process>, w: Which, arming: u64) {
    crate::exec::spawn(run(Arc::downgrade(p), w, arming));
}

/// The task of one arming: sleep to the deadline, fire; while the signal is queued, wait for
/// it to be taken (which re-arms); end when the slot is re-armed, disarmed or the process is
/// gone.
async fn run(p: Weak<Process>, w: Which, arming: u64) {
    let mut timer = time::Timer::new();
    loop {
        let fire_now = core::future::poll_fn(|cx| {
            let Some(p) = p.upgrade() else { return Poll::Ready(false) };
            let mut ts = p.timers.lock();
            let Some(s) = ts.slot(w).filter(|s| s.arming == arming) else { return Poll::Ready(false) };
            let Some(d) = s.deadline else { return Poll::Ready(false) };
            if !s.queued && time::ticks() >= d {
                return Poll::Ready(true);
            }
            if s.waker.as_ref().is_none_or(|x| !x.will_wake(cx.waker())) {
                s.waker = Some(cx.waker().clone());
            }
            let queued = s.queued;
            drop(ts);
            if !queued {
                timer.arm(d, cx.waker());
            }
            Poll::Pending
        })
        .await;
        let Some(p) = p.upgrade().filter(|_| fire_now) else { return };
        fire(&p, w, arming);
        drop(p);
        // Other tasks run between two expiries, whatever the interval.
        crate::exec::yield_now().await;
    }
}

/// One expiry: send the signal; if it is queued, the timer waits for it to be taken, else
/// it is re-armed (one-shot: disarmed).
fn fire(p: &Arc<Process>, w: Which, arming: u64) {
    let (info, tid) = {
        let mut ts = p.timers.lock();
        let Some(s) = ts.slot(w).filter(|s| s.arming == arming) else { return };
        // (Marked queued before it is sent: it may be taken on another hart at once.)
        s.queued = true;
        match w {
            Which::Real => (SigInfo { _pad: MARK_REAL, ..SigInfo::new(g::SIGALRM as i32, g::SI_KERNEL as i32) }, None),
            Which::Posix(id) => {
                let Some(t) = ts.posix.get(&id) else { return };
                let mut i = SigInfo::new(t.notify.signo, g::SI_TIMER).with_timer(id, 0, t.notify.value);
                i._pad = MARK_POSIX;
                i.f[2] = arming;
                let tid = (t.notify.kind == g::SIGEV_THREAD_ID as i32).then_some(t.notify.tid);
                (i, tid)
            }
        }
    };
    let r = match tid.and_then(|tid| p.threads.lock().get(&tid).cloned()) {
        Some(th) => signal::send_thread(&th, &info),
        None => signal::send_process(p, &info),
    };
    if r == Ok(true) {
        return; // re-armed when taken
    }
    // Not queued (ignored, coalesced, refused): re-arm now, at most once per millisecond.
    let now = time::ticks();
    let mut ts = p.timers.lock();
    let Some(s) = ts.slot(w).filter(|s| s.arming == arming) else { return };
    s.queued = false;
    let Some(d) = s.deadline else { return };
    if s.interval == 0 {
        s.deadline = None;
    } else {
        let (next, _) = s.next_after(d, now);
        s.deadline = Some(next.max(now.saturating_add(time::ns_to_ticks(DROPPED_GAP_NS))));
    }
}

/// Timer signals discarded while pending (their signal became ignored): their timers go on
/// as if the signals had been taken.
pub fn discarded(p: &Process, infos: &[SigInfo]) {
    for i in infos {
        let mut i = *i;
        let _ = taken(p, &mut i);
    }
}

/// True if `i` is a signal a timer sent (it carries the kernel's mark).
pub fn is_timer_signal(i: &SigInfo) -> bool {
    i._pad != 0
}

/// A signal is being taken (delivered or sigwaited). If a timer sent it: re-arm the timer
/// (periods missed since it fired are the overrun count, reported in `si_overrun`) and
/// clear the mark. False if the signal must be dropped: its timer was re-armed, disarmed or
/// deleted since it was sent (as Linux).
pub fn taken(p: &Process, info: &mut SigInfo) -> bool {
    let mut mark = info._pad;
    if mark == 0 {
        // A SIGALRM without the mark (recorded without its siginfo, or sent by kill) still
        // lets ITIMER_REAL go on, as Linux re-arms it on any SIGALRM.
        if info.signo as u32 != g::SIGALRM || !p.timers.lock().real.queued {
            return true;
        }
        mark = MARK_REAL;
    }
    info._pad = 0;
    let now = time::ticks();
    let mut ts = p.timers.lock();
    let (s, id) = match mark {
        MARK_REAL => (&mut ts.real, None),
        _ => {
            let id = info.f[0] as u32 as i32;
            match ts.posix.get_mut(&id) {
                Some(t) if t.slot.arming == info.f[2] => (&mut t.slot, Some(id)),
                // Sent by an older arming. A real-time one is dropped (the new arming queues
                // its own); a standard one may carry the new arming's expiry merged into it,
                // so it is delivered.
                _ => {
                    info.f[2] = 0;
                    return !velox_signal::is_rt(info.signo as usize);
                }
            }
        }
    };
    info.f[2] = 0;
    if !s.queued {
        return mark == MARK_REAL; // (a stale SIGALRM is still a SIGALRM)
    }
    s.queued = false;
    let mut missed = 0;
    if let Some(d) = s.deadline {
        if s.interval == 0 {
            s.deadline = None;
        } else {
            let (next, m) = s.next_after(d, now);
            s.deadline = Some(next);
            missed = m;
        }
    }
    s.wake();
    // The timer's task must run soon to arm the next deadline: have the thread taking the
    // signal (which runs here, on this hart) yield to it right after its return to user mode,
    // rather than at the end of its time slice (as a wake-up IPI from another hart would).
    if s.interval > 0 {
        crate::smp::this().resched.store(true, Ordering::Relaxed);
        velox_hal::cpu::raise_soft_interrupt();
    }
    if let Some(id) = id {
        let t = ts.posix.get_mut(&id).expect("looked up above");
        t.last_overrun = missed.min(i32::MAX as u64) as u32;
        *info = info.with_timer(id, t.last_overrun as i32, info.f[1]);
    }
    true
}

/// At a time slice's end: fire ITIMER_VIRTUAL / ITIMER_PROF if the process's CPU time has
/// reached them.
pub fn check_cpu(p: &Arc<Process>) {
    if !p.cpu_timers.load(Ordering::Relaxed) {
        return;
    }
    let (user, total) = crate::syscall::process::process_times(p);
    let mut due = [false; 2];
    {
        let mut guard = p.timers.lock();
        let ts = &mut *guard;
        for (i, (ct, now)) in [(&mut ts.virt, user), (&mut ts.prof, total)].into_iter().enumerate() {
            if let Some(e) = ct.expires.filter(|&e| now >= e) {
                due[i] = true;
                ct.expires = (ct.interval > 0).then(|| e + ct.interval * ((now - e) / ct.interval + 1));
            }
        }
        let armed = ts.virt.expires.is_some() || ts.prof.expires.is_some();
        p.cpu_timers.store(armed, Ordering::Relaxed);
    }
    for (i, s) in [(0, g::SIGVTALRM), (1, g::SIGPROF)] {
        if due[i] {
            let _ = signal::send_process(p, &SigInfo::new(s as i32, g::SI_KERNEL as i32));
        }
    }
}
