//! The thread running on this hart, for the synchronous trap path.

use super::Thread;
use core::sync::atomic::{AtomicPtr, Ordering};

static CURRENT: AtomicPtr<Thread> = AtomicPtr::new(core::ptr::null_mut());

/// Record `t` as running; `thread_main` calls this before entering user mode and keeps its
/// `Arc<Thread>` alive until after [`clear`].
pub fn set(t: &Thread) {
    CURRENT.store(t as *const Thread as *mut Thread, Ordering::Relaxed);
}

/// No user thread is running any more.
pub fn clear() {
    CURRENT.store(core::ptr::null_mut(), Ordering::Relaxed);
}

/// The thread whose trap is being handled, if any.
#[inline(always)]
pub fn get() -> Option<&'static Thread> {
    let p = CURRENT.load(Ordering::Relaxed);
    // SAFETY: `p` is either null or was set by `set` from a live `Arc<Thread>` that its
    // `thread_main` future holds until it calls `clear`; the trap path (the only user of the
    // reference) runs strictly inside that window, and the reference does not escape it.
    #[allow(unsafe_code)]
    unsafe {
        p.as_ref()
    }
}
