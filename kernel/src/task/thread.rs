//! A user thread: its registers, its address space and its process. Its kernel state is one
//! future, no stack.

use super::Process;
use crate::mm::aspace::Mm;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use core::task::Waker;
use velox_exec::sync::{Mutex, MutexGuard};
use velox_hal::trap::UserContext;

/// A user thread.
pub struct Thread {
    /// Thread id (changes once, when a non-leader thread execs and takes the process id).
    tid: AtomicUsize,
    pub process: Arc<Process>,
    /// The user registers. Held by the thread's own future while it runs in user mode (the
    /// trap fast path works on that borrow) and taken briefly by its handlers (clone, execve).
    ctx: Mutex<UserContext>,
    /// The address space this thread runs in (shared with CLONE_VM siblings). `None` once the
    /// thread has exited.
    mm: Mutex<Option<Arc<Mm>>>,
    /// Root page table and id of `mm` (0 when none), kept equal to it under its lock: the
    /// per-poll activation compares `satp` with the root without locking, and private futex
    /// keys need only the id.
    mm_root: AtomicUsize,
    mm_id: AtomicUsize,
    /// set_tid_address / CLONE_CHILD_CLEARTID: zeroed and futex-woken when the thread exits.
    pub clear_child_tid: AtomicUsize,
    /// CLONE_CHILD_SETTID: the tid is written here before the thread first runs.
    pub set_child_tid: AtomicUsize,
    /// set_robust_list head (0: none).
    pub robust_list: AtomicUsize,
    /// Set when the thread must leave its loop (exit, exit_group, fatal signal, execve).
    pub exiting: AtomicBool,
    /// Exit code given to `exit` (the process status if this is the last thread).
    pub exit_code: AtomicU32,
    /// Set by a futex wake; consumed by the waiting future.
    pub futex_woken: AtomicBool,
    /// Set when the thread execs or exits: a parent that cloned it with CLONE_VFORK waits.
    pub vfork_done: crate::exec::Event,
    /// The waker of this thread's task (set at its first poll).
    waker: spin::Once<Waker>,
    /// CPU time consumed: in total (every poll of the thread's future) and in user mode (ticks).
    pub cpu_ticks: AtomicU64,
    pub user_ticks: AtomicU64,
    /// 1 + the index of the hart running this thread in user mode (0: not in user mode),
    /// so a request to exit can kick it out with an IPI.
    pub running_on: AtomicU32,
    /// The harts this thread may run on (bit per hart index; sched_setaffinity).
    pub affinity: AtomicU32,
    /// Nice value, -20..=19 (setpriority): weights the thread's time slice (`time::slice_ticks`).
    pub nice: core::sync::atomic::AtomicI8,
    /// Blocked signals (rt_sigprocmask), one bit per signal.
    pub sigmask: AtomicU64,
    /// Set when a signal may be deliverable to this thread (or its process is stopping): the
    /// trap fast path's one check on the way back to user mode. Raised by senders after
    /// queueing; cleared under the process's signal lock by the thread when nothing is left.
    pub sig_pending: AtomicBool,
    /// Signals sent to this thread alone, its alternate stack and sigsuspend's saved mask:
    /// allocated at first use (most threads never need it).
    pub sig: Mutex<Option<alloc::boxed::Box<super::signal::ThreadSig>>>,
}

/// Thread records alive (not yet dropped), for the leak check.
pub static LIVE_THREADS: AtomicUsize = AtomicUsize::new(0);

impl Drop for Thread {
    fn drop(&mut self) {
        LIVE_THREADS.fetch_sub(1, Ordering::Relaxed);
        if let Some(m) = self.mm.get_mut().take() {
            m.detach();
        }
    }
}

impl Thread {
    /// A thread of `process` running in `mm` that will start with `ctx`. (Always inlined: a
    /// call made clone build the thread on the stack and copy it into its `Arc`, +5 % on
    /// thread_create when the compiler stopped inlining it after unrelated changes.)
    #[inline(always)]
    pub fn new(tid: usize, process: Arc<Process>, mm: Arc<Mm>, ctx: UserContext) -> Arc<Thread> {
        LIVE_THREADS.fetch_add(1, Ordering::Relaxed);
        mm.attach();
        Arc::new(Thread {
            tid: AtomicUsize::new(tid),
            process,
            ctx: Mutex::new(ctx),
            mm_root: AtomicUsize::new(mm.root()),
            mm_id: AtomicUsize::new(mm.id),
            mm: Mutex::new(Some(mm)),
            clear_child_tid: AtomicUsize::new(0),
            set_child_tid: AtomicUsize::new(0),
            robust_list: AtomicUsize::new(0),
            exiting: AtomicBool::new(false),
            exit_code: AtomicU32::new(0),
            futex_woken: AtomicBool::new(false),
            vfork_done: crate::exec::Event::default(),
            waker: spin::Once::new(),
            cpu_ticks: AtomicU64::new(0),
            user_ticks: AtomicU64::new(0),
            running_on: AtomicU32::new(0),
            affinity: AtomicU32::new(u32::MAX),
            nice: core::sync::atomic::AtomicI8::new(0),
            sigmask: AtomicU64::new(0),
            sig_pending: AtomicBool::new(false),
            sig: Mutex::new(None),
        })
    }

    /// The thread id.
    #[inline(always)]
    pub fn tid(&self) -> usize {
        self.tid.load(Ordering::Relaxed)
    }

    /// Take over the process id (execve from a secondary thread, as Linux's de_thread).
    pub fn become_leader(&self) {
        self.tid.store(self.process.pid, Ordering::Relaxed);
    }

    /// The thread's user registers, locked. The thread's own future holds this lock while
    /// the thread is in user mode, so a fast-path handler must use the context it is given,
    /// never call this (it would spin forever).
    ///
    /// Only the thread's own future (and its handlers) take this lock, one at a time on one
    /// hart, so finding it taken is always a kernel bug: it panics with the reason instead of
    /// spinning forever with interrupts off.
    #[inline(always)]
    pub fn ctx(&self) -> MutexGuard<'_, UserContext> {
        self.ctx.try_lock().expect("thread registers locked twice (fast handlers must use the context they are given)")
    }

    /// The thread's address space (`None` after exit).
    #[inline]
    pub fn mm(&self) -> Option<Arc<Mm>> {
        self.mm.lock().clone()
    }

    /// Run `f` on the address space without taking a reference (`None` after exit).
    #[inline(always)]
    pub fn with_mm<R>(&self, f: impl FnOnce(&Mm) -> R) -> Option<R> {
        self.mm.lock().as_deref().map(f)
    }

    /// As [`Thread::with_mm`], but never spins: `None` if the lock is held (trap fast path).
    #[inline(always)]
    pub fn try_with_mm<R>(&self, f: impl FnOnce(&Mm) -> R) -> Option<R> {
        self.mm.try_lock()?.as_deref().map(f)
    }

    /// Replace the address space (execve, exit); returns the old one.
    pub fn set_mm(&self, mm: Option<Arc<Mm>>) -> Option<Arc<Mm>> {
        let mut slot = self.mm.lock();
        self.mm_root.store(mm.as_ref().map_or(0, |m| m.root()), Ordering::Relaxed);
        self.mm_id.store(mm.as_ref().map_or(0, |m| m.id), Ordering::Relaxed);
        if let Some(m) = &mm {
            m.attach();
        }
        let old = core::mem::replace(&mut *slot, mm);
        if let Some(m) = &old {
            m.detach();
        }
        old
    }

    /// Make the thread's address space the active one on this hart; false if it has none.
    /// When `satp` already holds its root (the usual case: the same thread again, or a
    /// sibling) nothing is locked: the root cannot be stale, since it changes together with
    /// `mm` under the lock, and a hart keeps the address space it has loaded alive.
    #[inline(always)]
    pub fn activate_mm(&self) -> bool {
        let root = self.mm_root.load(Ordering::Relaxed);
        if root != 0 && velox_hal::cpu::current_page_table() == root {
            return true;
        }
        match self.mm() {
            Some(mm) => {
                crate::smp::load_mm(&mm);
                true
            }
            None => false,
        }
    }

    /// The id of the thread's address space (0 after exit), for private futex keys.
    #[inline(always)]
    pub fn mm_id(&self) -> usize {
        self.mm_id.load(Ordering::Relaxed)
    }

    /// Remember the task's waker (called on every poll; only the first call stores it).
    #[inline(always)]
    pub fn set_waker(&self, w: &Waker) {
        if !self.waker.is_completed() {
            self.waker.call_once(|| w.clone());
        }
    }

    /// Make the thread's task runnable (a futex wake, a kill).
    pub fn wake(&self) {
        if let Some(w) = self.waker.get() {
            w.wake_by_ref();
        }
    }

    /// Ask the thread to leave its loop at the next opportunity, and wake it if it sleeps.
    pub fn request_exit(&self) {
        self.exiting.store(true, Ordering::SeqCst);
        self.wake();
        self.kick();
    }

    /// If the thread runs in user mode on another hart, interrupt it (an IPI) so it sees what
    /// changed (an exit request). Pairs with the fence in `run::enter` between publishing
    /// `running_on` and the last look at `exiting`: either the thread sees the request before
    /// entering user mode, or this sees it there and sends the IPI.
    ///
    /// If it "runs in user mode" on this very hart, this is its own trap fast path (a fast
    /// handler such as kill signalling its caller): a software interrupt, taken right after
    /// the return to user mode, brings it back to the kernel at once.
    pub fn kick(&self) {
        core::sync::atomic::fence(Ordering::SeqCst);
        let on = self.running_on.load(Ordering::Relaxed);
        if on != 0 {
            if on as usize - 1 != crate::smp::me() {
                crate::smp::send_ipi(1 << (on - 1));
            } else {
                velox_hal::cpu::raise_soft_interrupt();
            }
        }
    }

    /// (user, total) CPU ticks so far, including the running stretch if this is the thread
    /// now on the hart (called from its own trap path).
    pub fn cpu_times(&self) -> (u64, u64) {
        let (mut user, mut total) = (self.user_ticks.load(Ordering::Relaxed), self.cpu_ticks.load(Ordering::Relaxed));
        if super::current::with(|c| c.is_some_and(|c| core::ptr::eq(c, self))) {
            let now = crate::time::ticks();
            let h = crate::smp::this();
            total += now - h.poll_start.load(Ordering::Relaxed);
            let rs = h.run_start.load(Ordering::Relaxed);
            if rs != 0 {
                user += now - rs;
            }
        }
        (user, total.max(user))
    }

    /// True if the thread may run on hart `h` (its affinity mask allows it).
    #[inline(always)]
    pub fn allowed_on(&self, h: usize) -> bool {
        self.affinity.load(Ordering::Relaxed) & (1 << h) != 0
    }

    /// Run `f` on the thread's own signal state, allocating it at first use.
    pub fn sig_state<R>(&self, f: impl FnOnce(&mut super::signal::ThreadSig) -> R) -> R {
        let mut g = self.sig.lock();
        f(g.get_or_insert_with(Default::default))
    }

    /// True if a signal may be waiting for this thread (the fast path's check).
    #[inline(always)]
    pub fn signal_pending(&self) -> bool {
        self.sig_pending.load(Ordering::Relaxed)
    }

    /// True once the thread was asked to exit.
    #[inline(always)]
    pub fn is_exiting(&self) -> bool {
        self.exiting.load(Ordering::Acquire)
    }
}

// With its Arc header the record must stay in the heap's 512-byte size class (thread memory
// is one of the benchmarks).
const _: () = assert!(size_of::<Thread>() <= 496, "Thread outgrew its 512-byte heap block");
