//! Linux signal bookkeeping, free of kernel state: signal sets, default actions, and the
//! pending set with its queue (standard signals coalesce, real-time signals queue in order).
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::collections::VecDeque;
use velox_abi::SigInfo;

/// Signal numbers the rules below name (riscv64 uses the generic numbering).
pub const SIGHUP: usize = 1;
pub const SIGINT: usize = 2;
pub const SIGQUIT: usize = 3;
pub const SIGILL: usize = 4;
pub const SIGTRAP: usize = 5;
pub const SIGABRT: usize = 6;
pub const SIGBUS: usize = 7;
pub const SIGFPE: usize = 8;
pub const SIGKILL: usize = 9;
pub const SIGUSR1: usize = 10;
pub const SIGSEGV: usize = 11;
pub const SIGUSR2: usize = 12;
pub const SIGPIPE: usize = 13;
pub const SIGALRM: usize = 14;
pub const SIGTERM: usize = 15;
pub const SIGSTKFLT: usize = 16;
pub const SIGCHLD: usize = 17;
pub const SIGCONT: usize = 18;
pub const SIGSTOP: usize = 19;
pub const SIGTSTP: usize = 20;
pub const SIGTTIN: usize = 21;
pub const SIGTTOU: usize = 22;
pub const SIGURG: usize = 23;
pub const SIGXCPU: usize = 24;
pub const SIGXFSZ: usize = 25;
pub const SIGVTALRM: usize = 26;
pub const SIGPROF: usize = 27;
pub const SIGWINCH: usize = 28;
pub const SIGIO: usize = 29;
pub const SIGPWR: usize = 30;
pub const SIGSYS: usize = 31;
/// First real-time signal (the kernel's SIGRTMIN; glibc reserves 32 and 33 for itself).
pub const SIGRTMIN: usize = 32;
/// Highest signal number.
pub const NSIG: usize = 64;

/// The bit for signal `sig` (1..=64) in a signal set.
#[inline(always)]
pub const fn bit(sig: usize) -> u64 {
    1 << (sig - 1)
}

/// Signals that can be neither caught, blocked nor ignored.
pub const UNBLOCKABLE: u64 = bit(SIGKILL) | bit(SIGSTOP);
/// Signals raised by the faulting instruction itself: dequeued before any other.
pub const SYNCHRONOUS: u64 = bit(SIGSEGV) | bit(SIGBUS) | bit(SIGILL) | bit(SIGTRAP) | bit(SIGFPE) | bit(SIGSYS);
/// Signals whose default action stops the process.
pub const STOP: u64 = bit(SIGSTOP) | bit(SIGTSTP) | bit(SIGTTIN) | bit(SIGTTOU);

/// What a signal does when its disposition is SIG_DFL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    /// End the process.
    Term,
    /// End the process with a core dump (no dumps here: reported as "core dumped" in the status).
    Core,
    Ignore,
    Stop,
    Continue,
}

/// The default action of `sig` (signal(7)); real-time signals terminate.
pub const fn default_action(sig: usize) -> Default {
    match sig {
        SIGCHLD | SIGURG | SIGWINCH => Default::Ignore,
        SIGCONT => Default::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => Default::Stop,
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ | SIGSYS => Default::Core,
        _ => Default::Term,
    }
}

/// True for real-time signals (queued, not coalesced).
#[inline]
pub const fn is_rt(sig: usize) -> bool {
    sig >= SIGRTMIN
}

/// The queue is full (RLIMIT_SIGPENDING): a real-time signal cannot be queued.
#[derive(Debug, PartialEq, Eq)]
pub struct Full;

/// What [`Pending::add`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Newly pending, with its siginfo queued.
    Queued,
    /// A standard signal already pending: this one is merged into it.
    Coalesced,
    /// Newly pending, but the queue had no room: only the set records it (its siginfo will
    /// be a minimal one).
    SetOnly,
}

/// Signals pending for a thread or a process: the set, plus one siginfo per pending standard
/// signal and one per queued real-time signal, in arrival order.
#[derive(Debug, Default)]
pub struct Pending {
    set: u64,
    queue: VecDeque<SigInfo>,
}

impl Pending {
    /// Nothing pending.
    pub const fn new() -> Pending {
        Pending { set: 0, queue: VecDeque::new() }
    }

    /// The pending set.
    #[inline]
    pub fn set(&self) -> u64 {
        self.set
    }

    /// Number of queued siginfos (counts against RLIMIT_SIGPENDING).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Add a signal. A standard signal already pending is coalesced (the new one is dropped);
    /// a real-time signal queues behind earlier ones unless `limit` siginfos are queued
    /// already. A standard signal is never refused: past the limit (or without heap) it is
    /// recorded in the set with a minimal siginfo made at dequeue time, as Linux does.
    pub fn add(&mut self, info: &SigInfo, limit: usize) -> Result<Added, Full> {
        let sig = info.signo as usize;
        if !is_rt(sig) && self.set & bit(sig) != 0 {
            return Ok(Added::Coalesced);
        }
        let room = self.queue.len() < limit && self.queue.try_reserve(1).is_ok();
        if room {
            self.queue.push_back(*info);
            self.set |= bit(sig);
            Ok(Added::Queued)
        } else if is_rt(sig) {
            Err(Full)
        } else {
            self.set |= bit(sig);
            Ok(Added::SetOnly)
        }
    }

    /// The signal to deliver next among those not in `blocked`: synchronous ones (faults)
    /// first, then the lowest number.
    pub fn next(&self, blocked: u64) -> Option<usize> {
        let ready = self.set & !blocked;
        if ready == 0 {
            return None;
        }
        let pick = if ready & SYNCHRONOUS != 0 { ready & SYNCHRONOUS } else { ready };
        Some(pick.trailing_zeros() as usize + 1)
    }

    /// Remove and return the first siginfo of `sig` (a minimal one if none was queued).
    /// `None` if `sig` is not pending.
    pub fn take(&mut self, sig: usize) -> Option<SigInfo> {
        if self.set & bit(sig) == 0 {
            return None;
        }
        let pos = self.queue.iter().position(|i| i.signo as usize == sig);
        let info = match pos {
            Some(p) => self.queue.remove(p).unwrap_or_else(|| SigInfo::new(sig as i32, 0)),
            None => SigInfo::new(sig as i32, 0),
        };
        if !self.queue.iter().any(|i| i.signo as usize == sig) {
            self.set &= !bit(sig);
        }
        Some(info)
    }

    /// Take the signal to deliver next among those not in `blocked` ([`Pending::next`]) into
    /// `out`; false if there is none. (Fills the caller's siginfo in place.)
    pub fn take_next(&mut self, blocked: u64, out: &mut SigInfo) -> bool {
        let Some(sig) = self.next(blocked) else { return false };
        // The usual case: it is the oldest queued one.
        if self.queue.front().is_some_and(|i| i.signo as usize == sig) {
            *out = self.queue.pop_front().unwrap_or_default();
            if !self.queue.iter().any(|i| i.signo as usize == sig) {
                self.set &= !bit(sig);
            }
            return true;
        }
        match self.take(sig) {
            Some(i) => {
                *out = i;
                true
            }
            None => false,
        }
    }

    /// Discard every pending signal in `mask` (a disposition set to ignore, SIGCONT
    /// discarding stops, a stop discarding SIGCONT).
    pub fn discard(&mut self, mask: u64) {
        self.discard_each(mask, |_| {});
    }

    /// As [`Pending::discard`], calling `f` on each queued siginfo it removes (the kernel
    /// re-arms the timers whose signals go).
    pub fn discard_each(&mut self, mask: u64, mut f: impl FnMut(&SigInfo)) {
        if self.set & mask == 0 {
            return;
        }
        self.set &= !mask;
        self.queue.retain(|i| {
            let keep = bit(i.signo as usize) & mask == 0;
            if !keep {
                f(i);
            }
            keep
        });
    }

    /// Discard everything (fork's child starts with nothing pending).
    pub fn clear(&mut self) {
        self.set = 0;
        self.queue = VecDeque::new();
    }

    /// True if `sig` is pending.
    pub fn has(&self, sig: usize) -> bool {
        self.set & bit(sig) != 0
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    fn si(sig: usize, v: u64) -> SigInfo {
        SigInfo::new(sig as i32, -1).with_value(v)
    }

    #[test]
    fn standard_signals_coalesce() {
        let mut p = Pending::new();
        assert_eq!(p.add(&si(SIGUSR1, 1), 100), Ok(Added::Queued));
        assert_eq!(p.add(&si(SIGUSR1, 2), 100), Ok(Added::Coalesced));
        assert_eq!(p.take(SIGUSR1).unwrap().f[1], 1);
        assert_eq!(p.take(SIGUSR1), None);
        assert_eq!(p.set(), 0);
    }

    #[test]
    fn rt_signals_queue_in_order() {
        let mut p = Pending::new();
        for v in 0..5 {
            assert_eq!(p.add(&si(SIGRTMIN + 2, v), 100), Ok(Added::Queued));
        }
        for v in 0..5 {
            assert!(p.has(SIGRTMIN + 2));
            assert_eq!(p.take(SIGRTMIN + 2).unwrap().f[1], v);
        }
        assert!(!p.has(SIGRTMIN + 2));
    }

    #[test]
    fn rt_limit_refuses_standard_does_not() {
        let mut p = Pending::new();
        assert_eq!(p.add(&si(SIGRTMIN, 0), 1), Ok(Added::Queued));
        assert_eq!(p.add(&si(SIGRTMIN, 1), 1), Err(Full));
        assert_eq!(p.add(&si(SIGUSR2, 0), 1), Ok(Added::SetOnly));
        assert!(p.has(SIGUSR2));
        let i = p.take(SIGUSR2).unwrap();
        assert_eq!((i.signo, i.code), (SIGUSR2 as i32, 0));
    }

    #[test]
    fn order_synchronous_then_lowest() {
        let mut p = Pending::new();
        p.add(&si(SIGTERM, 0), 10).unwrap();
        p.add(&si(SIGUSR1, 0), 10).unwrap();
        assert_eq!(p.next(0), Some(SIGUSR1));
        p.add(&si(SIGSEGV, 0), 10).unwrap();
        assert_eq!(p.next(0), Some(SIGSEGV));
        assert_eq!(p.next(bit(SIGSEGV) | bit(SIGUSR1)), Some(SIGTERM));
        assert_eq!(p.next(u64::MAX), None);
    }

    #[test]
    fn take_next_in_place() {
        let mut p = Pending::new();
        let mut out = SigInfo::default();
        assert!(!p.take_next(0, &mut out));
        p.add(&si(SIGTERM, 1), 10).unwrap();
        p.add(&si(SIGUSR1, 2), 10).unwrap();
        p.add(&si(SIGRTMIN, 3), 10).unwrap();
        p.add(&si(SIGRTMIN, 4), 10).unwrap();
        assert!(p.take_next(0, &mut out));
        assert_eq!((out.signo as usize, out.f[1]), (SIGUSR1, 2));
        assert!(p.take_next(0, &mut out));
        assert_eq!((out.signo as usize, out.f[1]), (SIGTERM, 1));
        assert!(p.take_next(0, &mut out));
        assert_eq!((out.signo as usize, out.f[1]), (SIGRTMIN, 3));
        assert!(p.has(SIGRTMIN));
        assert!(p.take_next(0, &mut out));
        assert_eq!(out.f[1], 4);
        assert_eq!(p.set(), 0);
    }

    #[test]
    fn discard_mask() {
        let mut p = Pending::new();
        p.add(&si(SIGSTOP, 0), 10).unwrap();
        p.add(&si(SIGTSTP, 0), 10).unwrap();
        p.add(&si(SIGRTMIN, 0), 10).unwrap();
        p.discard(STOP);
        assert_eq!(p.set(), bit(SIGRTMIN));
        assert_eq!(p.queued(), 1);
    }

    #[test]
    fn defaults() {
        assert_eq!(default_action(SIGCHLD), Default::Ignore);
        assert_eq!(default_action(SIGSEGV), Default::Core);
        assert_eq!(default_action(SIGTSTP), Default::Stop);
        assert_eq!(default_action(SIGCONT), Default::Continue);
        assert_eq!(default_action(SIGRTMIN + 5), Default::Term);
        assert_eq!(default_action(SIGPIPE), Default::Term);
    }
}
