//! Deadline queue: wakers ordered by expiry time, fired by the timer interrupt.

use alloc::collections::BTreeMap;
use core::task::Waker;

/// Wakers waiting for a deadline (in timer ticks).
#[derive(Default)]
pub struct TimerQueue {
    q: BTreeMap<(u64, u64), Waker>,
    seq: u64,
}

impl TimerQueue {
    /// An empty queue.
    pub const fn new() -> Self {
        TimerQueue { q: BTreeMap::new(), seq: 0 }
    }

    /// Wake `w` at or after `deadline`. Returns a key to cancel it.
    pub fn add(&mut self, deadline: u64, w: Waker) -> (u64, u64) {
        self.seq += 1;
        let k = (deadline, self.seq);
        self.q.insert(k, w);
        k
    }

    /// Cancel a pending entry (no-op if it already fired).
    pub fn cancel(&mut self, key: (u64, u64)) {
        self.q.remove(&key);
    }

    /// Number of pending entries.
    pub fn len(&self) -> usize {
        self.q.len()
    }

    /// True if nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    /// Earliest pending deadline.
    pub fn next_deadline(&self) -> Option<u64> {
        self.q.keys().next().map(|k| k.0)
    }

    /// Remove and return every waker whose deadline is `<= now`.
    pub fn expire(&mut self, now: u64, mut f: impl FnMut(Waker)) {
        while let Some(e) = self.q.first_entry() {
            if e.key().0 > now {
                break;
            }
            f(e.remove());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn expires_in_order_and_cancels() {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        let w = Waker::from(c.clone());
        let mut t = TimerQueue::new();
        t.add(30, w.clone());
        let k = t.add(10, w.clone());
        t.add(20, w.clone());
        t.cancel(k);
        assert_eq!(t.next_deadline(), Some(20));
        t.expire(25, |w| w.wake());
        assert_eq!(c.0.load(Ordering::SeqCst), 1);
        assert_eq!(t.next_deadline(), Some(30));
        t.expire(100, |w| w.wake());
        assert_eq!(c.0.load(Ordering::SeqCst), 2);
        assert_eq!(t.next_deadline(), None);
    }
}
