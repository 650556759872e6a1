//! Time: the `time` CSR, the timer interrupt, deadlines and the running thread's time slice.

use core::future::Future;
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::Poll;
use velox_exec::sync::Mutex;
use velox_exec::timer::TimerQueue;
use velox_hal as hal;

static TIMEBASE: AtomicU64 = AtomicU64::new(10_000_000);
static SLICE_TICKS: AtomicU64 = AtomicU64::new(100_000);
/// When the current thread's time slice ends (ticks).
static SLICE_END: AtomicU64 = AtomicU64::new(u64::MAX);
/// Wall-clock offset: ticks at the Unix epoch are `-BOOT_EPOCH_NS` (set from the RTC later; 0 now).
static REALTIME_OFFSET_NS: AtomicU64 = AtomicU64::new(0);
/// Number of timer interrupts taken.
pub static TIMER_IRQS: AtomicU64 = AtomicU64::new(0);
static TIMERS: Mutex<Option<TimerQueue>> = Mutex::new(None);

/// Set the tick rate and enable the timer interrupt.
pub fn init(timebase: u64) {
    TIMEBASE.store(timebase.max(1), Ordering::Relaxed);
    SLICE_TICKS.store(timebase * crate::config::TIME_SLICE_US / 1_000_000, Ordering::Relaxed);
    // 2024-01-01T00:00:00Z: QEMU's -rtc base used by the benchmarks; there is no RTC driver yet.
    REALTIME_OFFSET_NS.store(1_704_067_200 * 1_000_000_000, Ordering::Relaxed);
    *TIMERS.lock() = Some(TimerQueue::new());
    hal::cpu::enable_timer_interrupt();
    hal::sbi::set_timer(u64::MAX);
}

/// Current time in ticks.
#[inline(always)]
pub fn ticks() -> u64 {
    hal::cpu::time()
}

/// Convert ticks to nanoseconds.
#[inline(always)]
pub fn ticks_to_ns(t: u64) -> u64 {
    let tb = TIMEBASE.load(Ordering::Relaxed);
    ((t as u128) * 1_000_000_000 / tb as u128) as u64
}

/// Convert nanoseconds to ticks (rounded up).
pub fn ns_to_ticks(ns: u64) -> u64 {
    let tb = TIMEBASE.load(Ordering::Relaxed) as u128;
    ((ns as u128 * tb).div_ceil(1_000_000_000)) as u64
}

/// Monotonic time since boot in ns.
#[inline(always)]
pub fn monotonic_ns() -> u64 {
    ticks_to_ns(ticks())
}

/// Wall-clock time in ns since the Unix epoch.
#[inline(always)]
pub fn realtime_ns() -> u64 {
    REALTIME_OFFSET_NS.load(Ordering::Relaxed) + monotonic_ns()
}

/// Arm a time slice if none is running: the hart was idle, or the last slice ended and its
/// thread yielded (then SLICE_END is in the past and the timer is off). A thread that resumes
/// must always run with the timer armed, or nothing would preempt it.
#[inline(always)]
pub fn ensure_slice() {
    let end = SLICE_END.load(Ordering::Relaxed);
    if end == u64::MAX || end <= ticks() {
        start_slice();
    }
}

/// Start a fresh time slice for the thread about to run.
pub fn start_slice() {
    let end = ticks() + SLICE_TICKS.load(Ordering::Relaxed);
    SLICE_END.store(end, Ordering::Relaxed);
    program(end);
}

/// The earliest pending deadline (u64::MAX: none), for the executor's cheap check.
static NEXT_DEADLINE: AtomicU64 = AtomicU64::new(u64::MAX);

fn program(slice_end: u64) {
    let next = TIMERS.lock().as_ref().and_then(|t| t.next_deadline()).unwrap_or(u64::MAX);
    NEXT_DEADLINE.store(next, Ordering::Relaxed);
    hal::sbi::set_timer(next.min(slice_end));
}

fn expire() {
    let now = ticks();
    if let Some(t) = TIMERS.lock().as_mut() {
        t.expire(now, |w| w.wake());
        NEXT_DEADLINE.store(t.next_deadline().unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

/// Fire due deadlines from the executor loop: the kernel runs with interrupts off outside the
/// idle loop, so if tasks keep each other busy without ever idling or entering user mode, the
/// timer interrupt would never be taken and sleepers would never wake.
#[inline(always)]
pub fn expire_due() {
    if ticks() >= NEXT_DEADLINE.load(Ordering::Relaxed) {
        expire();
    }
}

/// Timer interrupt while a user thread ran. Returns true if the thread may continue (its slice
/// lasts, or nobody else is ready), false if it should yield. Runs on the trap fast path.
pub fn on_user_timer_irq() -> bool {
    TIMER_IRQS.fetch_add(1, Ordering::Relaxed);
    expire();
    let now = ticks();
    let mut end = SLICE_END.load(Ordering::Relaxed);
    if now >= end {
        // The thread yields when others are ready, and also once per slice when its process has
        // a CPU-time limit (the slow path checks RLIMIT_CPU when a slice ends).
        if crate::exec::has_ready() || crate::task::run::cpu_limited() {
            // Whoever runs next starts a fresh slice (`ensure_slice`).
            SLICE_END.store(u64::MAX, Ordering::Relaxed);
            hal::sbi::set_timer(u64::MAX);
            return false;
        }
        end = now + SLICE_TICKS.load(Ordering::Relaxed);
        SLICE_END.store(end, Ordering::Relaxed);
    }
    program(end);
    true
}

/// Timer interrupt while idle in the kernel.
pub fn on_kernel_timer_irq() {
    TIMER_IRQS.fetch_add(1, Ordering::Relaxed);
    hal::sbi::set_timer(u64::MAX);
    expire();
}

/// Program the timer for the next deadline before idling.
pub fn arm_for_idle() {
    SLICE_END.store(u64::MAX, Ordering::Relaxed);
    program(u64::MAX);
}

/// A deadline wake-up owned by a waiting future. Re-arming replaces the previous entry, and
/// dropping the handle (the wait ended early, or its future was abandoned) takes the entry off
/// the queue, so early wakes leave nothing behind.
/// (The queue's key; sequence numbers start at 1, so 0 means "not armed".)
#[derive(Default)]
pub struct Timer((u64, u64));

impl Timer {
    /// No deadline yet.
    pub const fn new() -> Self {
        Timer((0, 0))
    }

    /// Wake `w` at `deadline` (ticks), replacing this handle's previous deadline.
    pub fn arm(&mut self, deadline: u64, w: &core::task::Waker) {
        if self.0.1 != 0 && self.0.0 == deadline {
            return; // already set for then
        }
        {
            let mut q = TIMERS.lock();
            let Some(q) = q.as_mut() else { return };
            if self.0.1 != 0 {
                q.cancel(self.0);
            }
            self.0 = q.add(deadline, w.clone());
        }
        program(SLICE_END.load(Ordering::Relaxed));
    }

    /// True once armed (the entry may have fired since).
    pub fn is_armed(&self) -> bool {
        self.0.1 != 0
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if self.0.1 != 0 {
            if let Some(q) = TIMERS.lock().as_mut() {
                q.cancel(self.0);
            }
        }
    }
}

/// Pending timer entries (for leak checks and tests).
pub fn pending_timers() -> usize {
    TIMERS.lock().as_ref().map_or(0, |q| q.len())
}

/// Sleep until `deadline` (ticks).
pub fn sleep_until(deadline: u64) -> impl Future<Output = ()> {
    let mut timer = Timer::new();
    core::future::poll_fn(move |cx| {
        if ticks() >= deadline {
            return Poll::Ready(());
        }
        if !timer.is_armed() {
            timer.arm(deadline, cx.waker());
        }
        Poll::Pending
    })
}
