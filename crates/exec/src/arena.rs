//! A small aligned buffer holding one type-erased future at a time, with a larger block lent
//! for the rare future that does not fit.
//!
//! `Arena::place` moves a future into the buffer and records two function pointers (poll and
//! drop) for its concrete type; `Arena::poll` drives it. A future larger than the inline buffer
//! goes into a block of [`BIG_SIZE`] bytes borrowed from a [`Lender`] (in the kernel, a per-hart
//! pool) for as long as the future lives, so that every thread pays only for the inline buffer
//! and the block is held only while a big handler runs. Which of the two a future takes is a
//! `const` of its type; a future larger than the lent block fails the build (a `const`
//! assertion evaluated when `place::<F>` is instantiated).
//! The arena must not move while it holds a future, so `place` and `poll` take
//! `Pin<&mut Arena>` (the kernel keeps it pinned inside the thread's own future); `Arena` is
//! `!Unpin`.

use core::future::Future;
use core::marker::{PhantomData, PhantomPinned};
use core::mem::{MaybeUninit, align_of, size_of};
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll};

/// Bytes of the inline buffer: the futures of the common blocking calls (futex wait, sched_yield,
/// sigsuspend, memory calls) fit; larger ones borrow a block.
pub const ARENA_SIZE: usize = 144;
/// Bytes of a lent block: every handler future fits (larger ones fail the build).
pub const BIG_SIZE: usize = 512;
/// Alignment guaranteed to the future (inline buffer and lent blocks alike).
pub const ARENA_ALIGN: usize = 16;

#[repr(C, align(16))]
struct Buf([MaybeUninit<u8>; ARENA_SIZE]);

struct VTable<T> {
    poll: unsafe fn(*mut u8, &mut Context<'_>) -> Poll<T>,
    drop: unsafe fn(*mut u8),
}

/// Where the blocks for futures larger than the inline buffer come from: `BIG_SIZE` bytes,
/// aligned to `ARENA_ALIGN`.
pub trait Lender {
    /// A block, or `None` when memory is exhausted (the placement fails; nothing panics).
    fn lend() -> Option<NonNull<u8>>;
    /// Take back a block `lend` handed out.
    ///
    /// # Safety
    /// `p` came from `lend` and nothing uses it any more.
    unsafe fn give_back(p: NonNull<u8>);
}

/// Holds at most one future with output `T`; big ones live in a block from `L`.
pub struct Arena<T: 'static, L: Lender> {
    buf: Buf,
    vtable: Option<&'static VTable<T>>,
    /// The lent block holding the current future, if it did not fit inline.
    big: Option<NonNull<u8>>,
    /// A placed future may point into itself: the arena must stay where it is.
    _pin: PhantomPinned,
    _lender: PhantomData<fn() -> L>,
}

// SAFETY: only `Send` futures are placed (`place`), and the lent block is owned by the arena
// alone (no other pointer to it exists while it is lent), so the arena may move between harts.
unsafe impl<T: 'static, L: Lender> Send for Arena<T, L> {}

/// The placement failed: the future did not fit inline and no block could be lent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoBlock;

/// Compile-time facts about a future type placed in an arena.
pub struct Fits<F>(PhantomData<F>);

impl<F> Fits<F> {
    /// Evaluated at monomorphisation: a future larger than a lent block fails the build.
    pub const OK: () = assert!(
        size_of::<F>() <= BIG_SIZE && align_of::<F>() <= ARENA_ALIGN,
        "async syscall handler future does not fit in the arena's lent block"
    );
    /// True if the future fits the inline buffer.
    pub const INLINE: bool = size_of::<F>() <= ARENA_SIZE;
}

unsafe fn poll_erased<F: Future>(p: *mut u8, cx: &mut Context<'_>) -> Poll<F::Output> {
    // SAFETY: `p` points at a live `F` written by `place` into a pinned arena or its lent
    // block (`place` and `poll` take `Pin<&mut Arena>`, and the block stays put while lent),
    // so it never moves before it is dropped: pinning is sound.
    unsafe { Pin::new_unchecked(&mut *(p as *mut F)).poll(cx) }
}

unsafe fn drop_erased<F>(p: *mut u8) {
    // SAFETY: `p` points at a live `F` written by `place` that is dropped exactly once.
    unsafe { core::ptr::drop_in_place(p as *mut F) }
}

impl<T: 'static, L: Lender> Default for Arena<T, L> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: 'static, L: Lender> Arena<T, L> {
    /// An empty arena.
    pub const fn new() -> Self {
        Arena {
            buf: Buf([MaybeUninit::uninit(); ARENA_SIZE]),
            vtable: None,
            big: None,
            _pin: PhantomPinned,
            _lender: PhantomData,
        }
    }

    /// True if a future is in the arena.
    pub fn is_occupied(&self) -> bool {
        self.vtable.is_some()
    }

    /// True if the current future lives in a lent block.
    pub fn is_lent(&self) -> bool {
        self.big.is_some()
    }

    /// Put the future `make` returns into the arena (dropping any previous future first). A
    /// future too big for the inline buffer goes into a lent block; if none can be had, `make`
    /// is not called and the arena stays empty. (`make` runs once the place is known, so the
    /// future is built where it stays: an unpolled future is only its arguments, and building
    /// it elsewhere first would copy all of its bytes.)
    /// `F: Send`, because the arena itself is `Send` (a thread's arena may be polled on any
    /// hart): a non-`Send` future inside it could otherwise cross threads.
    #[inline(always)]
    pub fn place<F: Future<Output = T> + Send + 'static>(mut self: Pin<&mut Self>, make: impl FnOnce() -> F) -> Result<(), NoBlock> {
        #[allow(clippy::let_unit_value)]
        let () = Fits::<F>::OK;
        self.as_mut().clear();
        // SAFETY: only the buffer's bytes, the block pointer and the vtable are written;
        // nothing is moved out.
        let this = unsafe { self.get_unchecked_mut() };
        let p = if Fits::<F>::INLINE {
            this.buf.0.as_mut_ptr() as *mut F
        } else {
            let b = L::lend().ok_or(NoBlock)?;
            this.big = Some(b);
            b.as_ptr() as *mut F
        };
        // SAFETY: the buffer or block is large and aligned enough for F (checked at compile
        // time above) and holds no live value after `clear`.
        unsafe { p.write(make()) };
        this.vtable = Some(&const { VTable::<T> { poll: poll_erased::<F>, drop: drop_erased::<F> } });
        Ok(())
    }

    /// Poll the future in the arena. When it completes it is dropped and the arena is empty.
    ///
    /// # Panics
    /// If the arena is empty.
    #[inline(always)]
    pub fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let vt = self.vtable.expect("poll of an empty arena");
        // SAFETY: the buffer is only handed to the future's own poll function; nothing moves.
        let this = unsafe { self.as_mut().get_unchecked_mut() };
        let p = match this.big {
            Some(b) => b.as_ptr(),
            None => this.buf.0.as_mut_ptr() as *mut u8,
        };
        // SAFETY: `vtable` is Some only while `p` holds the future it was made for.
        let r = unsafe { (vt.poll)(p, cx) };
        if r.is_ready() {
            self.clear();
        }
        r
    }

    /// Drop the future in the arena, if any (and give back its lent block).
    #[inline]
    pub fn clear(self: Pin<&mut Self>) {
        // SAFETY: dropping the placed future in place is what pinning allows; nothing moves.
        unsafe { self.get_unchecked_mut() }.clear_in_place();
    }

    #[inline]
    fn clear_in_place(&mut self) {
        if let Some(vt) = self.vtable.take() {
            let p = match self.big {
                Some(b) => b.as_ptr(),
                None => self.buf.0.as_mut_ptr() as *mut u8,
            };
            // SAFETY: `p` holds the live future `vt` was made for; `vtable` is already None,
            // so it cannot be dropped twice even if its destructor panics.
            unsafe { (vt.drop)(p) };
        }
        if let Some(b) = self.big.take() {
            // SAFETY: the block came from `L::lend` and its future was just dropped.
            unsafe { L::give_back(b) };
        }
    }
}

impl<T: 'static, L: Lender> Drop for Arena<T, L> {
    fn drop(&mut self) {
        // Drop runs on the arena where it was pinned (a pinned value is dropped in place).
        self.clear_in_place();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
    use std::task::{Wake, Waker};

    struct Nop;
    impl Wake for Nop {
        fn wake(self: Arc<Self>) {}
    }

    /// Blocks lent and not given back; `DRY` makes `lend` fail.
    static OUT: AtomicIsize = AtomicIsize::new(0);
    static DRY: AtomicBool = AtomicBool::new(false);
    const BLOCK: std::alloc::Layout = match std::alloc::Layout::from_size_align(BIG_SIZE, ARENA_ALIGN) {
        Ok(l) => l,
        Err(_) => panic!(),
    };
    struct TestLender;
    impl Lender for TestLender {
        fn lend() -> Option<NonNull<u8>> {
            if DRY.load(Ordering::Relaxed) {
                return None;
            }
            OUT.fetch_add(1, Ordering::Relaxed);
            // SAFETY: a non-zero-sized layout.
            NonNull::new(unsafe { std::alloc::alloc(BLOCK) })
        }
        unsafe fn give_back(p: NonNull<u8>) {
            OUT.fetch_sub(1, Ordering::Relaxed);
            // SAFETY: `p` came from `lend` with this layout.
            unsafe { std::alloc::dealloc(p.as_ptr(), BLOCK) }
        }
    }
    type A = Arena<isize, TestLender>;

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
        let mut a: Pin<Box<A>> = Box::pin(Arena::new());
        let token = Arc::new(());
        let t2 = token.clone();
        a.as_mut()
            .place(|| async move {
                let _keep = t2;
                YieldOnce(false).await;
                7
            })
            .unwrap();
        assert!(!a.is_lent());
        assert_eq!(Arc::strong_count(&token), 2);
        assert_eq!(a.as_mut().poll(&mut cx), Poll::Pending);
        assert_eq!(a.as_mut().poll(&mut cx), Poll::Ready(7));
        assert!(!a.is_occupied());
        assert_eq!(Arc::strong_count(&token), 1, "completed future dropped");
        let t3 = token.clone();
        a.as_mut()
            .place(|| async move {
                let _keep = t3;
                YieldOnce(false).await;
                1
            })
            .unwrap();
        assert_eq!(a.as_mut().poll(&mut cx), Poll::Pending);
        a.as_mut().place(|| async { 2 }).unwrap();
        assert_eq!(Arc::strong_count(&token), 1, "replaced future dropped");
        assert_eq!(a.as_mut().poll(&mut cx), Poll::Ready(2));
        a.as_mut().place(|| async { [0u8; 400].len() as isize }).unwrap();
        drop(a);
    }

    #[test]
    fn big_futures_borrow_a_block_and_give_it_back() {
        let w = Waker::from(Arc::new(Nop));
        let mut cx = Context::from_waker(&w);
        let mut a: Pin<Box<A>> = Box::pin(Arena::new());
        let token = Arc::new(());
        let big = |t: Arc<()>| async move {
            let buf = [3u8; 300];
            YieldOnce(false).await;
            let _keep = t;
            buf.iter().map(|&b| b as isize).sum::<isize>()
        };
        a.as_mut().place(|| big(token.clone())).unwrap();
        assert!(a.is_lent());
        assert_eq!(OUT.load(Ordering::Relaxed), 1);
        assert_eq!(a.as_mut().poll(&mut cx), Poll::Pending);
        assert_eq!(a.as_mut().poll(&mut cx), Poll::Ready(900));
        assert_eq!(OUT.load(Ordering::Relaxed), 0, "block given back at completion");
        assert_eq!(Arc::strong_count(&token), 1);
        // Replaced by a small one, cleared, dropped: the block always comes back.
        a.as_mut().place(|| big(token.clone())).unwrap();
        assert_eq!(a.as_mut().poll(&mut cx), Poll::Pending);
        a.as_mut().place(|| async { 5 }).unwrap();
        assert!(!a.is_lent());
        assert_eq!(OUT.load(Ordering::Relaxed), 0);
        assert_eq!(a.as_mut().poll(&mut cx), Poll::Ready(5));
        a.as_mut().place(|| big(token.clone())).unwrap();
        a.as_mut().clear();
        assert_eq!(OUT.load(Ordering::Relaxed), 0);
        a.as_mut().place(|| big(token.clone())).unwrap();
        drop(a);
        assert_eq!(OUT.load(Ordering::Relaxed), 0);
        assert_eq!(Arc::strong_count(&token), 1);
        // No block to lend: the placement fails, the future is dropped, nothing panics.
        let mut a: Pin<Box<A>> = Box::pin(Arena::new());
        DRY.store(true, Ordering::Relaxed);
        assert_eq!(a.as_mut().place(|| big(token.clone())), Err(NoBlock));
        DRY.store(false, Ordering::Relaxed);
        assert!(!a.is_occupied());
        assert_eq!(Arc::strong_count(&token), 1);
    }
}
