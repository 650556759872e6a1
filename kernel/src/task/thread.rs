//! A user thread: its registers and its process. Its kernel state is one future, no stack.

use super::Process;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use velox_hal::trap::UserContext;

/// A user thread.
pub struct Thread {
    pub tid: usize,
    pub process: Arc<Process>,
    ctx: UnsafeCell<UserContext>,
    /// set_tid_address pointer (cleared and woken at exit once futexes exist).
    pub clear_child_tid: AtomicUsize,
    /// Set when the thread must leave its loop (exit, exit_group, fatal signal).
    pub exiting: AtomicBool,
}

// SAFETY: the only non-Sync field is `ctx`, which is accessed solely by the thread's own
// future (`thread_main`) and by the trap path that future enters synchronously; a thread's
// future is polled by one hart at a time, so there is never concurrent access.
#[allow(unsafe_code)]
unsafe impl Sync for Thread {}

impl Thread {
    /// A thread of `process` that will start with `ctx`.
    pub fn new(tid: usize, process: Arc<Process>, ctx: UserContext) -> Arc<Thread> {
        Arc::new(Thread {
            tid,
            process,
            ctx: UnsafeCell::new(ctx),
            clear_child_tid: AtomicUsize::new(0),
            exiting: AtomicBool::new(false),
        })
    }

    /// The thread's user registers.
    ///
    /// Only the thread's own future (and the synchronous trap path it enters) may call this,
    /// and it must not keep the reference across an `.await`.
    #[allow(clippy::mut_from_ref)]
    pub fn ctx(&self) -> &mut UserContext {
        // SAFETY: see the contract above: one caller at a time, never held across a suspension.
        #[allow(unsafe_code)]
        unsafe {
            &mut *self.ctx.get()
        }
    }

    /// Ask the thread to leave its loop at the next opportunity.
    pub fn request_exit(&self) {
        self.exiting.store(true, Ordering::Release);
    }

    /// True once the thread was asked to exit.
    pub fn is_exiting(&self) -> bool {
        self.exiting.load(Ordering::Acquire)
    }
}
