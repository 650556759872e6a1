//! The per-hart executor: a ready queue of `async-task` runnables, idle with interrupts on.
//!
//! Every kernel activity, user threads included, is a future polled here on the hart's one
//! boot stack. Wakers push runnables back on the queue; the timer interrupt fires deadlines.

use alloc::collections::VecDeque;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use spin::Mutex;
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

/// Run tasks forever; idle (wfi with interrupts enabled) when none is ready.
pub fn run() -> ! {
    loop {
        let next = READY.lock().pop_front();
        match next {
            Some(r) => {
                r.run();
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
                s.1.push(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}
