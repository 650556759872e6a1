//! Process timers: setitimer's ITIMER_REAL and the POSIX timers (timer_create) fire their
//! signal from a kernel task that sleeps until the deadline; ITIMER_VIRTUAL and ITIMER_PROF
//! are checked against the process's CPU time when a time slice ends.
//!
//! Lock order: a process's `timers`, then (never the other way) nothing else: signals are
//! sent after the lock is dropped, so the signal code may call back in here.

use super::Process;
use super::signal;
use crate::time;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use core::sync::atomic::Ordering;
use core::task::{Poll, Waker};
use linux_raw_sys::general as g;
use velox_abi::SigInfo;

/// A clock-driven timer: armed while `deadline` is set, re-armed by `interval` (ticks).
#[derive(Default)]
pub struct Slot {
    pub deadline: Option<u64>,
    pub interval: u64,
    /// Bumped by every re-arm or disarm: the task of an older arming sees it and ends.
    arming: u64,
    /// The task sleeping for this slot (woken to notice a change of `arming`).
    waker: Option<Waker>,
}

impl Slot {
    /// Disarm, and make the old task end now rather than at its deadline.
    fn cancel(&mut self) {
        self.deadline = None;
        self.arming += 1;
        if let Some(w) = self.waker.take() {
            w.wake();
        }
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
    /// Its signal is queued and not yet taken: expiries meanwhile count as overruns.
    queued: bool,
    overrun: u32,
    /// The overrun count reported with the last signal taken (timer_getoverrun).
    pub last_overrun: u32,
}

impl Posix {
    /// A disarmed timer on `clock`.
    pub fn new(clock: u32, notify: Notify) -> Posix {
        Posix { clock, slot: Slot::default(), notify, queued: false, overrun: 0, last_overrun: 0 }
    }
}

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
        self.posix.clear();
        self.virt = CpuTimer::default();
        self.prof = CpuTimer::default();
    }

    /// A free POSIX timer id (the lowest, as Linux hands them out from 0).
    pub fn free_id(&self) -> Option<i32> {
        (0..i32::MAX).find(|i| !self.posix.contains_key(i))
    }
}

/// Delete POSIX timer `id` (false if there is none).
pub fn delete(ts: &mut Timers, id: i32) -> bool {
    match ts.posix.remove(&id) {
        Some(mut t) => {
            t.slot.cancel();
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

/// (time left, interval) of a clock-driven slot, in ticks.
pub fn remaining(s: &Slot) -> (u64, u64) {
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
    let old = remaining(&t.slot);
    t.slot.cancel();
    t.slot.interval = interval;
    t.overrun = 0;
    if let Some(d) = deadline {
        t.slot.deadline = Some(d);
        let arming = t.slot.arming;
        start(p, Which::Posix(id), arming);
    }
    Some(old)
}

fn start(p: &Arc<Process>, w: Which, arming: u64) {
    crate::exec::spawn(run(Arc::downgrade(p), w, arming));
}

/// The task of one arming: sleep to the deadline, fire, re-arm by the interval; end when the
/// slot is re-armed, disarmed or the process is gone.
async fn run(p: Weak<Process>, w: Which, arming: u64) {
    let mut timer = time::Timer::new();
    loop {
        let fired = core::future::poll_fn(|cx| {
            let Some(p) = p.upgrade() else { return Poll::Ready(false) };
            let mut ts = p.timers.lock();
            let Some(s) = ts.slot(w).filter(|s| s.arming == arming) else { return Poll::Ready(false) };
            let Some(d) = s.deadline else { return Poll::Ready(false) };
            if time::ticks() >= d {
                return Poll::Ready(true);
            }
            if s.waker.as_ref().is_none_or(|x| !x.will_wake(cx.waker())) {
                s.waker = Some(cx.waker().clone());
            }
            drop(ts);
            timer.arm(d, cx.waker());
            Poll::Pending
        })
        .await;
        let Some(p) = p.upgrade().filter(|_| fired) else { return };
        if !fire(&p, w, arming) {
            return;
        }
    }
}

/// One expiry: send the signal (or count an overrun), re-arm. False once the slot is done.
fn fire(p: &Arc<Process>, w: Which, arming: u64) -> bool {
    let now = time::ticks();
    let send = {
        let mut ts = p.timers.lock();
        let Some(s) = ts.slot(w).filter(|s| s.arming == arming) else { return false };
        let Some(d) = s.deadline else { return false };
        // Expiries missed while late (a periodic timer faster than we ran) are overruns.
        let mut missed = 0u64;
        if s.interval > 0 {
            let next = d + s.interval;
            missed = if now >= next { (now - next) / s.interval + 1 } else { 0 };
            s.deadline = Some(next + missed * s.interval);
        } else {
            s.deadline = None;
            s.waker = None;
        }
        match w {
            Which::Real => Some(SigInfo::new(g::SIGALRM as i32, g::SI_KERNEL as i32)),
            Which::Posix(id) => {
                let t = ts.posix.get_mut(&id).expect("slot exists");
                if t.notify.kind == g::SIGEV_NONE as i32 {
                    None
                } else if t.queued {
                    t.overrun = t.overrun.saturating_add(1 + missed as u32);
                    None
                } else {
                    t.queued = true;
                    t.overrun = t.overrun.saturating_add(missed as u32);
                    Some(SigInfo::new(t.notify.signo, g::SI_TIMER).with_timer(id, 0, t.notify.value))
                }
            }
        }
    };
    if let Some(info) = send {
        let r = match w {
            Which::Posix(id) => {
                let tid = p.timers.lock().posix.get(&id).filter(|t| t.notify.kind == g::SIGEV_THREAD_ID as i32).map(|t| t.notify.tid);
                match tid.and_then(|tid| p.threads.lock().get(&tid).cloned()) {
                    Some(th) => signal::send_thread(&th, &info),
                    None => signal::send_process(p, &info),
                }
            }
            Which::Real => signal::send_process(p, &info),
        };
        if r.is_err() {
            if let Which::Posix(id) = w {
                if let Some(t) = p.timers.lock().posix.get_mut(&id) {
                    t.queued = false;
                }
            }
        }
    }
    let mut ts = p.timers.lock();
    ts.slot(w).is_some_and(|s| s.arming == arming && s.deadline.is_some())
}

/// A POSIX timer's signal was taken (delivered or sigwaited): report its overruns in the
/// siginfo and let the next expiry queue a fresh signal.
pub fn taken(p: &Process, info: &mut SigInfo) {
    if info.code != g::SI_TIMER {
        return;
    }
    let id = info.f[0] as u32 as i32;
    if let Some(t) = p.timers.lock().posix.get_mut(&id) {
        t.queued = false;
        t.last_overrun = t.overrun;
        t.overrun = 0;
        *info = info.with_timer(id, t.last_overrun as i32, info.f[1]);
    }
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
