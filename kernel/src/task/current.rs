//! The thread running on this hart, for the synchronous trap path and user-copy fault fix-up.
//!
//! [`scope`] records a thread for the length of one poll of its future; [`with`] lends it out
//! for the length of a closure. The reference never outlives the scope that recorded it, so no
//! `&'static Thread` exists. One slot per hart: a hart only ever reads its own slot, and the
//! trap path and interrupt handlers that read it run nested inside the scope on that hart.

use super::Thread;
use core::sync::atomic::{AtomicPtr, Ordering};


#[inline(always)]
fn slot() -> &'static AtomicPtr<Thread> {
    &crate::smp::this().current
}

/// Run `f` with `t` recorded as this hart's current thread; the previous value (normally
/// none) is restored afterwards, also if `f` unwinds... which it cannot (panic = abort).
#[inline(always)]
pub fn scope<R>(t: &Thread, f: impl FnOnce() -> R) -> R {
    let prev = slot().swap(t as *const Thread as *mut Thread, Ordering::Relaxed);
    let r = f();
    slot().store(prev, Ordering::Relaxed);
    r
}

/// Call `f` with this hart's current thread, if a [`scope`] is active.
#[inline(always)]
pub fn with<R>(f: impl FnOnce(Option<&Thread>) -> R) -> R {
    let p = slot().load(Ordering::Relaxed);
    // SAFETY: `p` is null or was stored by `scope` on this hart from a `&Thread` borrowed for
    // the whole of that scope; we run nested inside it (the slot is restored only when `scope`
    // returns, and nothing on this hart runs between its store and restore except code the
    // scope's closure calls, including the traps and interrupts it takes). The reference
    // handed to `f` cannot escape `f` (its lifetime is the closure's).
    #[allow(unsafe_code)]
    let t = unsafe { p.as_ref() };
    f(t)
}
