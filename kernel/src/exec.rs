//! The executors: one per hart, each with its own ready queue of `async-task` runnables.
//!
//! Every kernel activity, user threads included, is a future polled here on the hart's one
//! stack. A woken task goes back to the hart it last ran on (its caches are warm there)
//! unless that hart is busy and another idles; an idle hart steals from the others, then
//! sleeps in `wfi` until an IPI says work arrived for it. The timer interrupt fires deadlines.

use crate::smp;
use crate::task::Thread;
use alloc::collections::VecDeque;
use alloc::sync::{Arc, Weak};
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use core::task::{Context, Poll};
use velox_exec::sync::Mutex;
use velox_hal as hal;

/// Per-task scheduling data: the hart it last ran on, and the user thread it is (whose
/// affinity mask says where it may run). Weak: the thread's waker keeps the task alive.
pub struct Meta {
    last: AtomicUsize,
    thread: Option<Weak<Thread>>,
}

/// Set once any thread's affinity was narrowed: until then every task may run anywhere and
/// the scheduler does not look.
pub static AFFINITY_USED: AtomicBool = AtomicBool::new(false);

impl Meta {
    /// The harts (bit per index) the task may run on.
    #[inline(always)]
    fn allowed(&self) -> usize {
        if !AFFINITY_USED.load(Ordering::Relaxed) {
            return usize::MAX;
        }
        match self.thread.as_ref().and_then(|w| w.upgrade()) {
            Some(t) => t.affinity.load(Ordering::Relaxed) as usize,
            None => usize::MAX,
        }
    }

    /// True if the task may run on hart `h`.
    #[inline(always)]
    fn allowed_on(&self, h: usize) -> bool {
        self.allowed() & (1 << h) != 0
    }
}

type Runnable = async_task::Runnable<Meta>;

/// A hart's ready queue (in its record, `smp::Hart`). `len` mirrors the queue's length so
/// other harts (stealing, the time-slice check) can look without taking the lock.
pub struct RunQueue {
    q: Mutex<VecDeque<Runnable>>,
    len: AtomicUsize,
}

impl RunQueue {
    /// An empty queue.
    pub const NEW: RunQueue = RunQueue { q: Mutex::new(VecDeque::new()), len: AtomicUsize::new(0) };

    fn push(&self, r: Runnable) {
        let mut q = self.q.lock();
        q.push_back(r);
        self.len.store(q.len(), Ordering::Relaxed);
    }

    fn pop(&self) -> Option<Runnable> {
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut q = self.q.lock();
        let r = q.pop_front();
        self.len.store(q.len(), Ordering::Relaxed);
        r
    }

    fn is_empty(&self) -> bool {
        self.len.load(Ordering::Relaxed) == 0
    }
}

/// Hart `h`'s run queue.
#[inline(always)]
fn queue(h: usize) -> &'static RunQueue {
    &smp::HARTS[h].queue
}
/// Harts about to sleep or asleep in `wfi` (bit per hart index): a task queued on one of
/// them must be followed by an IPI.
static IDLE: AtomicUsize = AtomicUsize::new(0);
/// Tasks taken from another hart's queue.
pub static STEALS: AtomicUsize = AtomicUsize::new(0);

/// Where a woken task goes: its last hart, unless that one is busy while another idles
/// (or the task's affinity no longer allows it).
#[inline(always)]
fn schedule(r: Runnable, info: async_task::ScheduleInfo) {
    let n = smp::online();
    if n == 1 {
        smp::this().queue.push(r); // one hart: nothing to choose
        return;
    }
    schedule_smp(r, info, n)
}

#[inline(never)]
fn schedule_smp(r: Runnable, info: async_task::ScheduleInfo, n: usize) {
    let me = smp::me();
    let m = r.metadata();
    let last = m.last.load(Ordering::Relaxed);
    let allowed = match m.allowed() & ((1 << n) - 1) {
        0 => (1 << n) - 1, // (sched_setaffinity refuses masks without an online hart)
        a => a,
    };
    let idle = IDLE.load(Ordering::Relaxed) & allowed;
    let target = if allowed & (1 << last) == 0 {
        // Moved off its hart (sched_setaffinity): an idle allowed hart, else the first allowed.
        if idle != 0 { idle.trailing_zeros() as usize } else { allowed.trailing_zeros() as usize % n }
    } else if info.woken_while_running || idle == 0 || idle & (1 << last) != 0 {
        last
    } else if last == me {
        // Woken by the thread running here (a pipe or futex partner, most often, which is
        // about to block): stay, unless tasks already wait here and another hart idles.
        if smp::this().queue.is_empty() { me } else { idle.trailing_zeros() as usize }
    } else {
        // Its hart is busy with something else and another idles: go there.
        idle.trailing_zeros() as usize
    };
    queue(target).push(r);
    if target != me {
        // Pairs with the idler's fence between setting its IDLE bit and re-checking queues:
        // either it sees the task, or this sees its bit and wakes it.
        fence(Ordering::SeqCst);
        if IDLE.load(Ordering::Relaxed) & (1 << target) != 0 {
            smp::send_ipi(1 << target);
        } else if !info.woken_while_running && !smp::HARTS[target].resched.swap(true, Ordering::Relaxed) {
            // Busy there (a thread in user mode, maybe for the rest of its slice): have it
            // yield now, as Linux's wake-up preemption would (one IPI until it is handled).
            smp::send_ipi(1 << target);
        }
    }
}

fn spawn_meta<F: Future<Output = ()> + Send + 'static>(fut: F, thread: Option<Weak<Thread>>) {
    // A new task starts on an idle hart if there is one (this one is busy: it is running the
    // spawner), else here.
    let idle = IDLE.load(Ordering::Relaxed) & ((1 << smp::online()) - 1);
    let first = if idle != 0 { idle.trailing_zeros() as usize } else { smp::me() };
    let meta = Meta { last: AtomicUsize::new(first), thread };
    let (r, t) = async_task::Builder::new().metadata(meta).spawn(|_| fut, async_task::WithInfo(schedule));
    r.schedule();
    t.detach();
}

/// Start `fut` as an independent kernel task (first run on this hart).
pub fn spawn<F: Future<Output = ()> + Send + 'static>(fut: F) {
    spawn_meta(fut, None);
}

/// Start user thread `t`'s task `fut` (it runs only where `t`'s affinity allows).
pub fn spawn_thread<F: Future<Output = ()> + Send + 'static>(t: Arc<Thread>, fut: F) {
    spawn_meta(fut, Some(Arc::downgrade(&t)));
}

/// True if some task is waiting for this hart (used by the time-slice check).
pub fn has_ready() -> bool {
    !smp::this().queue.is_empty()
}

/// Heap bytes held by the ready queues' buffers (they keep their high-water capacity).
pub fn queue_bytes() -> usize {
    smp::HARTS.iter().map(|h| crate::mm::heap::block_bytes(h.queue.q.lock().capacity() * size_of::<Runnable>())).sum()
}

/// Take a task from another hart's queue (the oldest this hart may run: it waited longest).
fn steal(me: usize) -> Option<Runnable> {
    let n = smp::online();
    for k in 1..n {
        let victim = queue((me + k) % n);
        if victim.is_empty() || victim.q.is_locked() {
            continue; // nothing there, or its owner is at it (try again on the next round)
        }
        let mut q = victim.q.lock();
        if let Some(i) = q.iter().position(|r| r.metadata().allowed_on(me)) {
            let r = q.remove(i);
            victim.len.store(q.len(), Ordering::Relaxed);
            STEALS.fetch_add(1, Ordering::Relaxed);
            return r;
        }
    }
    None
}

/// Run tasks forever; steal when the own queue is empty; idle (wfi) when none is ready.
pub fn run() -> ! {
    let me = smp::me();
    let bit = 1usize << me;
    // (Final once the executors run: the boot hart releases the others after starting them.)
    let multi = smp::online() > 1;
    let q = &smp::this().queue;
    loop {
        if multi {
            // Requests from other harts (one hart alone never gets any).
            smp::service();
            smp::between_tasks();
        }
        let mut next = q.pop();
        if next.is_none() && multi {
            next = steal(me);
        }
        match next {
            Some(r) => {
                if multi {
                    if !r.metadata().allowed_on(me) {
                        // Its affinity changed while it waited here: send it where it may run.
                        r.schedule();
                        continue;
                    }
                    r.metadata().last.store(me, Ordering::Relaxed);
                }
                r.run();
                crate::time::expire_due();
            }
            None => {
                IDLE.fetch_or(bit, Ordering::Relaxed);
                fence(Ordering::SeqCst);
                // Only this hart's queue: tasks queued elsewhere that this hart may not run
                // (affinity) must not keep it spinning, and a task queued for a busy hart
                // while this one idles was stealable a moment ago and is taken on the next IPI.
                if !q.is_empty() {
                    IDLE.fetch_and(!bit, Ordering::Relaxed);
                    continue;
                }
                if multi {
                    // An idle hart keeps no user table loaded: TLB shootdowns for it need no
                    // IPI and no wait for its answer (its `ran_on` bit makes its next load of
                    // the space flush the ASID if entries went stale meanwhile).
                    smp::unload_mm();
                } else {
                    smp::unload_if_dead();
                }
                crate::time::arm_for_idle();
                hal::cpu::idle_wait();
                IDLE.fetch_and(!bit, Ordering::Relaxed);
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
    waiters: Mutex<Waiters>,
}

/// A queue's wakers: the first in place (most queues, a pipe's end for one, never have more
/// than one waiter at a time: registering and waking it then touch no heap), the rest in a
/// vector.
#[derive(Default)]
struct Waiters {
    first: Option<core::task::Waker>,
    more: alloc::vec::Vec<core::task::Waker>,
}

impl WaitQueue {
    /// An empty queue.
    pub const fn new() -> Self {
        WaitQueue { waiters: Mutex::new(Waiters { first: None, more: alloc::vec::Vec::new() }) }
    }

    /// Wake every waiter.
    pub fn wake_all(&self) {
        let (first, more) = {
            let mut q = self.waiters.lock();
            let more = if q.more.is_empty() { None } else { Some(core::mem::take(&mut q.more)) };
            (q.first.take(), more)
        };
        if let Some(w) = first {
            w.wake();
        }
        // (No vector iterator to build and drop when there was only the first.)
        if let Some(more) = more {
            for w in more {
                w.wake();
            }
        }
    }

    /// Register the current task's waker (once).
    pub fn register(&self, cx: &Context<'_>) {
        let w = cx.waker();
        let mut q = self.waiters.lock();
        if q.first.as_ref().is_some_and(|x| x.will_wake(w)) || q.more.iter().any(|x| x.will_wake(w)) {
            return;
        }
        if q.first.is_none() {
            q.first = Some(w.clone());
            return;
        }
        if q.more.try_reserve(1).is_err() {
            // No heap for another waiter: poll again soon rather than sleep unwoken.
            w.wake_by_ref();
            return;
        }
        q.more.push(w.clone());
    }

    /// Take waker `w` (and any that wakes the same task) off the queue: its owner no longer
    /// waits here (an epoll item leaving its set).
    pub fn unregister(&self, w: &core::task::Waker) {
        let mut q = self.waiters.lock();
        if q.first.as_ref().is_some_and(|x| x.will_wake(w)) {
            q.first = None;
        }
        q.more.retain(|x| !x.will_wake(w));
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

/// Debugging aid (`velox.watchdog=SECS` on the command line): every SECS seconds print what
/// each hart is doing and what every thread waits for, to tell a lost wake-up from a slow run.
pub async fn watchdog(secs: u64) {
    loop {
        crate::time::sleep_until(crate::time::ticks() + crate::time::ns_to_ticks(secs * 1_000_000_000)).await;
        let idle = IDLE.load(Ordering::Relaxed);
        for h in 0..smp::online() {
            hal::println!(
                "[watchdog] hart {h}: queue {} idle {} resched {} ipis {}",
                queue(h).len.load(Ordering::Relaxed),
                idle >> h & 1,
                smp::HARTS[h].resched.load(Ordering::Relaxed),
                smp::HARTS[h].ipis.load(Ordering::Relaxed)
            );
        }
        for p in crate::task::process::all() {
            for (tid, t) in p.threads.lock().iter() {
                hal::println!(
                    "[watchdog] pid {} tid {tid}: on {} exiting {} futex_woken {}",
                    p.pid,
                    t.running_on.load(Ordering::Relaxed),
                    t.is_exiting(),
                    t.futex_woken.load(Ordering::Relaxed)
                );
            }
        }
        hal::println!("[watchdog] timers {} steals {}", crate::time::pending_timers(), STEALS.load(Ordering::Relaxed));
    }
}
