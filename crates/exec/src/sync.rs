//! A word-sized spin lock for kernel data: `spin::Mutex` keeps its flag in an `AtomicBool`,
//! and RISC-V has no byte-wide atomic read-modify-write, so every lock of it is a masked
//! word AMO (about ten instructions); this one is one `amoswap.w` to lock and a fence plus a
//! store to unlock. Same interface as the subset of `spin::Mutex` the kernel uses.
//!
//! Interrupt safety is the caller's business, as with `spin`: the kernel runs with interrupts
//! off except in its idle loop, where it holds no lock.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

/// Called while a lock is being waited for (set once by the kernel): a hart that spins with
/// interrupts off must still answer other harts' requests (TLB flushes), or a holder waiting
/// for its answer would deadlock with it.
static RELAX_HOOK: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Install the function spinning waiters call (see `RELAX_HOOK`).
pub fn set_relax_hook(f: fn()) {
    RELAX_HOOK.store(f as *mut (), Ordering::Release);
}

/// One step of a spin-wait: a pause hint plus the kernel's hook.
#[inline]
pub fn relax() {
    core::hint::spin_loop();
    let p = RELAX_HOOK.load(Ordering::Acquire);
    if !p.is_null() {
        // SAFETY: only `set_relax_hook` stores here, always a valid `fn()`.
        let f: fn() = unsafe { core::mem::transmute::<*mut (), fn()>(p) };
        f();
    }
}

/// Called by a lock waiter that has spun [`SPIN_TURNS`] turns, on each further turn (set once
/// by the kernel): sleep a little (a few microseconds, or until an interrupt), since the
/// holder has taken long enough that it is probably not running (a vCPU its host preempted).
static NAP_HOOK: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Install the function lock waiters call once they have spun long (see `NAP_HOOK`).
pub fn set_nap_hook(f: fn()) {
    NAP_HOOK.store(f as *mut (), Ordering::Release);
}

/// Turns a lock waiter spins before it naps between looks: far longer than any section this
/// lock guards takes when its holder runs.
pub const SPIN_TURNS: u32 = 256;

fn nap() {
    let p = NAP_HOOK.load(Ordering::Acquire);
    if !p.is_null() {
        // SAFETY: only `set_nap_hook` stores here, always a valid `fn()`.
        let f: fn() = unsafe { core::mem::transmute::<*mut (), fn()>(p) };
        f();
    }
}

/// A spin lock around a `T`.
pub struct Mutex<T: ?Sized> {
    locked: AtomicU32,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one holder at a time (see `lock`), so
// sharing the `Mutex` between threads is sound whenever the value itself may move between
// them (`T: Send`), exactly as for `std::sync::Mutex`.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: moving the lock moves the value; nothing refers to the old place.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

/// Exclusive access to a locked `Mutex`'s value; unlocks when dropped.
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
    /// Opts out of the automatic `Send`/`Sync` (which would follow `Mutex<T>: Sync`, i.e.
    /// `T: Send`): a shared guard hands out `&T`, so it may be shared only if `T: Sync`.
    _marker: core::marker::PhantomData<*const ()>,
}

// SAFETY: sharing the guard shares `&T` (through `Deref`), which is sound when `T: Sync`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}
// SAFETY: moving the guard to another thread moves exclusive access to `T` there (and the
// unlock, which a spin lock allows from any thread): sound when `T: Send`.
unsafe impl<T: ?Sized + Send> Send for MutexGuard<'_, T> {}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    pub const fn new(value: T) -> Self {
        Mutex { locked: AtomicU32::new(0), value: UnsafeCell::new(value) }
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Wait until the lock is free and take it.
    #[inline(always)]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        if self.locked.swap(1, Ordering::Acquire) != 0 {
            self.lock_contended();
        }
        MutexGuard { lock: self, _marker: core::marker::PhantomData }
    }

    /// The waiting part of `lock`, out of line: the uncontended lock inlined everywhere is one
    /// atomic swap and a branch, and keeps no registers busy for the spin loop.
    #[cold]
    #[inline(never)]
    fn lock_contended(&self) {
        let mut turns = 0u32;
        loop {
            while self.locked.load(Ordering::Relaxed) != 0 {
                relax();
                if turns < SPIN_TURNS {
                    turns += 1;
                } else {
                    nap();
                }
            }
            if self.locked.swap(1, Ordering::Acquire) == 0 {
                return;
            }
            // (Lost the race for the release: spin again before napping, so a napper is not
            // always late for the next one.)
            turns = 0;
        }
    }

    /// Take the lock if it is free, without waiting.
    #[inline(always)]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        if self.locked.swap(1, Ordering::Acquire) == 0 {
            Some(MutexGuard { lock: self, _marker: core::marker::PhantomData })
        } else {
            None
        }
    }

    /// True if someone holds the lock (a hint: it may change at once).
    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Relaxed) != 0
    }

    /// The value, through exclusive access to the mutex (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while its holder owns the lock, so no `&mut` to the
        // value exists elsewhere.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and the guard is borrowed mutably, so this is the only
        // reference made through it.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        self.lock.locked.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn lock_try_lock_and_release() {
        let m = Mutex::new(5);
        {
            let mut g = m.lock();
            *g += 1;
            assert!(m.try_lock().is_none());
            assert!(m.is_locked());
        }
        assert_eq!(*m.try_lock().unwrap(), 6);
        assert!(!m.is_locked());
    }

    #[test]
    fn excludes_across_threads() {
        let m = Arc::new(Mutex::new(0u64));
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..100_000 {
                        *m.lock() += 1;
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(*m.lock(), 400_000);
    }
}
