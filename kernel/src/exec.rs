//! The per-hart executor: a ready queue of `async-task` runnables, idle with interrupts on.
//!
//! Every kernel activity, user threads included, is a future polled here on the hart's one
//! boot stack. Wakers push runnables back on the queue; the timer interrupt fires deadlines.

use alloc::collections::VecDeque;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use velox_exec::sync::Mutex;
use velox_hal as hal;

static READY: Mutex<VecDeque<async_task::Runnable>> = Mutex::new(VecDeque::new());

/// Start `fut` as an independent task.
pub fn spawn<F: Future<Output = ()> + Send + 'static>(fut: F) {
    let (r, t) = async_task::spawn(fut, |r| READY.lock().push_back(r));
    r.schedule();
    t.detach();
}

/// True if some task is ready to run (used by the time-slice check).
pub fn has_ready() -> bool {
    !READY.lock().is_empty()
}

/// Heap bytes held by the ready queue's buffer (it keeps its high-water capacity).
pub fn queue_bytes() -> usize {
    crate::mm::heap::block_bytes(READY.lock().capacity() * size_of::<async_task::Runnable>())
}

/// Run tasks forever; idle (wfi with interrupts enabled) when none is ready.
pub fn run() -> ! {
    loop {
        let next = READY.lock().pop_front();
        match next {
            Some(r) => {
                r.run();
                crate::time::expire_due();
            }
            None => {
                crate::time::arm_for_idle();
                hal::cpu::idle_wait();
            }
        }
    }
}

/// Give the hart to other ready tasks once.
pub fn yield_now() -> impl Future<Output = ()> {
    struct Yield(bool);
    impl Future for Yield {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    Yield(false)
}

/// A one-shot event many tasks can wait for (process exit, for now).
#[derive(Default)]
pub struct Event {
    state: Mutex<(bool, alloc::vec::Vec<core::task::Waker>)>,
}

impl Event {
    /// Signal the event and wake every waiter.
    pub fn set(&self) {
        let waiters = {
            let mut s = self.state.lock();
            s.0 = true;
            core::mem::take(&mut s.1)
        };
        for w in waiters {
            w.wake();
        }
    }
    /// Wait until the event is set.
    pub fn wait(&self) -> impl Future<Output = ()> + '_ {
        core::future::poll_fn(move |cx| {
            let mut s = self.state.lock();
            if s.0 {
                Poll::Ready(())
            } else {
                if !s.1.iter().any(|w| w.will_wake(cx.waker())) {
                    if s.1.try_reserve(1).is_err() {
                        cx.waker().wake_by_ref(); // no heap for the waker: poll again
                        return Poll::Pending;
                    }
                    s.1.push(cx.waker().clone());
                }
                Poll::Pending
            }
        })
    }
}

/// Tasks waiting for a condition that other tasks change (pipe space, a child's exit...).
/// Waiters re-check their condition after every wake; stale wakers only cause spurious polls.
#[derive(Default)]
pub struct WaitQueue {
    waiters: Mutex<alloc::vec::Vec<core::task::Waker>>,
}

impl WaitQueue {
    /// An empty queue.
    pub const fn new() -> Self {
        WaitQueue { waiters: Mutex::new(alloc::vec::Vec::new()) }
    }

    /// Wake every waiter.
    pub fn wake_all(&self) {
        let w = {
            let mut q = self.waiters.lock();
            if q.is_empty() {
                return;
            }
            core::mem::take(&mut *q)
        };
        for w in w {
            w.wake();
        }
    }

    /// Register the current task's waker (once).
    pub fn register(&self, cx: &Context<'_>) {
        let mut q = self.waiters.lock();
        if !q.iter().any(|w| w.will_wake(cx.waker())) {
            if q.try_reserve(1).is_err() {
                // No heap for another waiter: poll again soon rather than sleep unwoken.
                cx.waker().wake_by_ref();
                return;
            }
            q.push(cx.waker().clone());
        }
    }

    /// Wait until `f` returns `Some`, re-checking after each wake.
    pub fn wait_until<'a, T: 'a>(&'a self, mut f: impl FnMut() -> Option<T> + 'a) -> impl Future<Output = T> + 'a {
        core::future::poll_fn(move |cx| {
            if let Some(v) = f() {
                return Poll::Ready(v);
            }
            self.register(cx);
            match f() {
                Some(v) => Poll::Ready(v),
                None => Poll::Pending,
            }
        })
    }
}
