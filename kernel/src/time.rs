//! Time: the `time` CSR, the timer interrupt, deadlines and the running thread's time slice.

use core::future::Future;
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::Poll;
use spin::Mutex;
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

/// Arm a time slice if none is running (the hart was idle): a thread woken from idle must
/// still be preempted when others become ready.
#[inline(always)]
pub fn ensure_slice() {
    if SLICE_END.load(Ordering::Relaxed) == u64::MAX {
        start_slice();
    }
}

/// Start a fresh time slice for the thread about to run.
pub fn start_slice() {
    let end = ticks() + SLICE_TICKS.load(Ordering::Relaxed);
    SLICE_END.store(end, Ordering::Relaxed);
    program(end);
}

fn program(slice_end: u64) {
    let next = TIMERS.lock().as_ref().and_then(|t| t.next_deadline()).unwrap_or(u64::MAX);
    hal::sbi::set_timer(next.min(slice_end));
}

fn expire() {
    let now = ticks();
    if let Some(t) = TIMERS.lock().as_mut() {
        t.expire(now, |w| w.wake());
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
        if crate::exec::has_ready() {
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

/// Wake `w` at `deadline` (ticks), reprogramming the timer if that is sooner than planned.
pub fn add_timer(deadline: u64, w: core::task::Waker) {
    if let Some(t) = TIMERS.lock().as_mut() {
        t.add(deadline, w);
    }
    program(SLICE_END.load(Ordering::Relaxed));
}

/// Sleep until `deadline` (ticks).
pub fn sleep_until(deadline: u64) -> impl Future<Output = ()> {
    let mut armed = false;
    core::future::poll_fn(move |cx| {
        if ticks() >= deadline {
            return Poll::Ready(());
        }
        if !armed {
            add_timer(deadline, cx.waker().clone());
            armed = true;
        }
        Poll::Pending
    })
}
