//! A fixed, aligned buffer holding one type-erased future at a time.
//!
//! `Arena::place` moves a future into the buffer and records two function pointers (poll and
//! drop) for its concrete type; `Arena::poll` drives it. A future that does not fit fails the
//! build: the size check is a `const` assertion evaluated when `place::<F>` is instantiated.
//! The arena must not move while it holds a future, so `place` and `poll` take
//! `Pin<&mut Arena>` (the kernel keeps it in a `Pin<Box<_>>`); `Arena` is `!Unpin`.

use core::future::Future;
use core::marker::PhantomPinned;
use core::mem::{MaybeUninit, align_of, size_of};
use core::pin::Pin;
use core::task::{Context, Poll};

/// Bytes of the whole arena (buffer plus its vtable pointer): exactly one 512-byte heap block.
pub const ARENA_BYTES: usize = 512;
/// Bytes available for one handler future (the rest of the block holds the vtable pointer).
pub const ARENA_SIZE: usize = ARENA_BYTES - ARENA_ALIGN;
/// Alignment guaranteed to the future.
pub const ARENA_ALIGN: usize = 16;

#[repr(C, align(16))]
struct Buf([MaybeUninit<u8>; ARENA_SIZE]);

struct VTable<T> {
    poll: unsafe fn(*mut u8, &mut Context<'_>) -> Poll<T>,
    drop: unsafe fn(*mut u8),
}

/// Holds at most one future with output `T`.
pub struct Arena<T: 'static> {
    buf: Buf,
    vtable: Option<&'static VTable<T>>,
    /// A placed future may point into itself: the arena must stay where it is.
    _pin: PhantomPinned,
}

// A power-of-two size, so that a boxed arena wastes nothing in a buddy allocator.
const _: () = assert!(size_of::<Arena<isize>>() == ARENA_BYTES);

/// Compile-time facts about a future type placed in an arena.
pub struct Fits<F>(core::marker::PhantomData<F>);

impl<F> Fits<F> {
    /// Evaluated at monomorphisation: a future larger than the arena fails the build.
    pub const OK: () = assert!(
        size_of::<F>() <= ARENA_SIZE && align_of::<F>() <= ARENA_ALIGN,
        "async syscall handler future does not fit in the arena"
    );
}

unsafe fn poll_erased<F: Future>(p: *mut u8, cx: &mut Context<'_>) -> Poll<F::Output> {
    // SAFETY: `p` points at a live `F` written by `place` into a pinned arena (`place` and
    // `poll` take `Pin<&mut Arena>`), so it never moves before it is dropped: pinning is sound.
    unsafe { Pin::new_unchecked(&mut *(p as *mut F)).poll(cx) }
}

unsafe fn drop_erased<F>(p: *mut u8) {
    // SAFETY: `p` points at a live `F` written by `place` that is dropped exactly once.
    unsafe { core::ptr::drop_in_place(p as *mut F) }
}

impl<T: 'static> Default for Arena<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: 'static> Arena<T> {
    /// An empty arena.
    pub const fn new() -> Self {
        Arena { buf: Buf([MaybeUninit::uninit(); ARENA_SIZE]), vtable: None, _pin: PhantomPinned }
    }

    /// True if a future is in the arena.
    pub fn is_occupied(&self) -> bool {
        self.vtable.is_some()
    }

    /// Move `f` into the arena (dropping any previous future first).
    /// `F: Send`, because the arena itself is `Send` (a thread's arena may be polled on any
    /// hart): a non-`Send` future inside it could otherwise cross threads.
    pub fn place<F: Future<Output = T> + Send + 'static>(mut self: Pin<&mut Self>, f: F) {
        #[allow(clippy::let_unit_value)]
        let () = Fits::<F>::OK;
        self.as_mut().clear();
        // SAFETY: only the buffer's bytes and the vtable are written; nothing is moved out.
        let this = unsafe { self.get_unchecked_mut() };
        let p = this.buf.0.as_mut_ptr() as *mut F;
        // SAFETY: the buffer is large and aligned enough for F (checked at compile time above)
        // and holds no live value after `clear`.
        unsafe { p.write(f) };
        this.vtable = Some(&const { VTable::<T> { poll: poll_erased::<F>, drop: drop_erased::<F> } });
    }

    /// Poll the future in the arena. When it completes it is dropped and the arena is empty.
    ///
    /// # Panics
    /// If the arena is empty.
    pub fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let vt = self.vtable.expect("poll of an empty arena");
        // SAFETY: the buffer is only handed to the future's own poll function; nothing moves.
        let this = unsafe { self.as_mut().get_unchecked_mut() };
        // SAFETY: `vtable` is Some only while the buffer holds the future it was made for.
        let r = unsafe { (vt.poll)(this.buf.0.as_mut_ptr() as *mut u8, cx) };
        if r.is_ready() {
            self.clear();
        }
        r
    }

    /// Drop the future in the arena, if any.
    pub fn clear(self: Pin<&mut Self>) {
        // SAFETY: dropping the placed future in place is what pinning allows; nothing moves.
        unsafe { self.get_unchecked_mut() }.clear_in_place();
    }

    fn clear_in_place(&mut self) {
        if let Some(vt) = self.vtable.take() {
            // SAFETY: the buffer holds the live future `vt` was made for; `vtable` is already
            // None, so it cannot be dropped twice even if its destructor panics.
            unsafe { (vt.drop)(self.buf.0.as_mut_ptr() as *mut u8) };
        }
    }
}

impl<T: 'static> Drop for Arena<T> {
    fn drop(&mut self) {
        // Drop runs on the arena where it was pinned (a pinned value is dropped in place).
        self.clear_in_place();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
        use std::sync::Arc;
    use std::task::{Wake, Waker};

    struct Nop;
    impl Wake for Nop {
        fn wake(self: Arc<Self>) {}
    }

    struct YieldOnce(bool);
    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                Poll::Ready(())
            } else {
                self.0 = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    #[test]
    fn runs_futures_and_drops_them() {
        let w = Waker::from(Arc::new(Nop));
        let mut cx = Context::from_waker(&w);
        let mut a: Pin<Box<Arena<isize>>> = Box::pin(Arena::new());
        let token = Arc::new(());
        let t2 = token.clone();
        a.as_mut().place(async move {
            let _keep = t2;
            YieldOnce(false).await;
            7
        });
        assert_eq!(Arc::strong_count(&token), 2);
        assert_eq!(a.as_mut().poll(&mut cx), Poll::Pending);
        assert_eq!(a.as_mut().poll(&mut cx), Poll::Ready(7));
        assert!(!a.is_occupied());
        assert_eq!(Arc::strong_count(&token), 1, "completed future dropped");
        let t3 = token.clone();
        a.as_mut().place(async move {
            let _keep = t3;
            YieldOnce(false).await;
            1
        });
        assert_eq!(a.as_mut().poll(&mut cx), Poll::Pending);
        a.as_mut().place(async { 2 });
        assert_eq!(Arc::strong_count(&token), 1, "replaced future dropped");
        assert_eq!(a.as_mut().poll(&mut cx), Poll::Ready(2));
        a.as_mut().place(async { [0u8; 400].len() as isize });
        drop(a);
    }
}
