//! Time: the `time` CSR, the timer interrupt, deadlines and the running thread's time slice.

use core::future::Future;
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::Poll;
use velox_exec::sync::Mutex;
use velox_exec::timer::TimerQueue;
use velox_hal as hal;

static TIMEBASE: AtomicU64 = AtomicU64::new(10_000_000);
static SLICE_TICKS: AtomicU64 = AtomicU64::new(100_000);
/// Wall-clock offset: ticks at the Unix epoch are `-BOOT_EPOCH_NS` (set from the RTC later; 0 now).
static REALTIME_OFFSET_NS: AtomicU64 = AtomicU64::new(0);
/// Number of timer interrupts taken (all harts).
pub static TIMER_IRQS: AtomicU64 = AtomicU64::new(0);

/// A hart's timer state (in its record, `smp::Hart`): each hart has its own timer (SBI
/// set_timer programs the calling hart's), its own deadline queue and the time slice of the
/// thread it runs.
pub struct HartTime {
    /// When the current thread's time slice ends (ticks).
    slice_end: AtomicU64,
    /// The earliest pending deadline (u64::MAX: none), for the executor's cheap check.
    next_deadline: AtomicU64,
    timers: Mutex<TimerQueue>,
}

impl HartTime {
    /// No slice, no deadlines.
    pub const NEW: HartTime =
        HartTime { slice_end: AtomicU64::new(u64::MAX), next_deadline: AtomicU64::new(u64::MAX), timers: Mutex::new(TimerQueue::new()) };
}

#[inline(always)]
fn here() -> &'static HartTime {
    &crate::smp::this().time
}

#[inline(always)]
fn of(h: usize) -> &'static HartTime {
    &crate::smp::HARTS[h].time
}

/// Set the tick rate and enable the timer interrupt (boot hart).
pub fn init(timebase: u64) {
    TIMEBASE.store(timebase.max(1), Ordering::Relaxed);
    SLICE_TICKS.store(timebase * crate::config::TIME_SLICE_US / 1_000_000, Ordering::Relaxed);
    // 2024-01-01T00:00:00Z: QEMU's -rtc base used by the benchmarks; there is no RTC driver yet.
    REALTIME_OFFSET_NS.store(1_704_067_200 * 1_000_000_000, Ordering::Relaxed);
    init_hart();
}

/// Enable this hart's timer interrupt, with nothing programmed; let user mode read the `time`
/// CSR (the vDSO's clocks, as on Linux).
pub fn init_hart() {
    hal::cpu::allow_user_time();
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

/// Ticks per second of the `time` CSR.
pub fn timebase() -> u64 {
    TIMEBASE.load(Ordering::Relaxed)
}

/// CLOCK_REALTIME minus CLOCK_MONOTONIC, in ns (the vDSO's data page carries it).
pub fn realtime_offset_ns() -> u64 {
    REALTIME_OFFSET_NS.load(Ordering::Relaxed)
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
/// thread yielded (then the slice end is in the past and the timer is off). A thread that
/// resumes must always run with the timer armed, or nothing would preempt it.
#[inline(always)]
pub fn ensure_slice(nice: i32) {
    let end = here().slice_end.load(Ordering::Relaxed);
    if end == u64::MAX || end <= ticks() {
        start_slice(nice);
    }
}

/// Linux's sched_prio_to_weight: the CPU weight of nice -20..=19 (nice 0 = 1024; each step
/// about 10% of CPU between two competing threads).
const NICE_WEIGHT: [u32; 40] = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87, 70,
    56, 45, 36, 29, 23, 18, 15,
];

/// Length of a time slice of a thread with nice value `nice`: the base slice times its weight
/// over nice 0's, between 1/16 and 8 base slices (round-robin with weighted slices: CPU-bound
/// threads share a hart roughly by weight, within those bounds; latency stays bounded).
#[inline(always)]
fn slice_ticks(nice: i32) -> u64 {
    let base = SLICE_TICKS.load(Ordering::Relaxed);
    if nice == 0 {
        return base;
    }
    let w = NICE_WEIGHT[(nice.clamp(-20, 19) + 20) as usize] as u64;
    (base * w / 1024).clamp(base / 16, base * 8)
}

/// Start a fresh time slice for the thread about to run (nice value `nice`).
pub fn start_slice(nice: i32) {
    let end = ticks() + slice_ticks(nice);
    here().slice_end.store(end, Ordering::Relaxed);
    program(end);
}

fn program(slice_end: u64) {
    let h = here();
    let next = h.timers.lock().next_deadline().unwrap_or(u64::MAX);
    h.next_deadline.store(next, Ordering::Relaxed);
    hal::sbi::set_timer(next.min(slice_end));
}

/// Fire due deadlines; true if any waker was woken.
fn expire() -> bool {
    let now = ticks();
    let h = here();
    let mut due = alloc::vec::Vec::new();
    let mut any = false;
    {
        let mut q = h.timers.lock();
        q.expire(now, |w| {
            any = true;
            // (No heap for the list: wake under the lock; a wake only queues the task.)
            if due.try_reserve(1).is_ok() { due.push(w) } else { w.wake() }
        });
        h.next_deadline.store(q.next_deadline().unwrap_or(u64::MAX), Ordering::Relaxed);
    }
    for w in due {
        w.wake();
    }
    any
}

/// Fire due deadlines from the executor loop: the kernel runs with interrupts off outside the
/// idle loop, so if tasks keep each other busy without ever idling or entering user mode, the
/// timer interrupt would never be taken and sleepers would never wake.
#[inline(always)]
pub fn expire_due() {
    if ticks() >= here().next_deadline.load(Ordering::Relaxed) {
        let _ = expire();
    }
}

/// Timer interrupt while a user thread ran. Returns true if the thread may continue (its slice
/// lasts, or nobody else is ready), false if it should yield. Runs on the trap fast path.
pub fn on_user_timer_irq() -> bool {
    TIMER_IRQS.fetch_add(1, Ordering::Relaxed);
    // A deadline woke a task here (a sleeper, a timer's signal task): the thread yields to
    // it now rather than at the end of its slice (wake-up preemption, as for IPIs).
    let woke = expire() && crate::exec::has_ready();
    let now = ticks();
    let h = here();
    let mut end = h.slice_end.load(Ordering::Relaxed);
    if woke || now >= end {
        // The thread yields when others are ready, and also once per slice when its process has
        // a CPU-time limit (the slow path checks RLIMIT_CPU when a slice ends).
        if woke || crate::exec::has_ready() || crate::task::run::cpu_limited() {
            // Whoever runs next starts a fresh slice (`ensure_slice`).
            h.slice_end.store(u64::MAX, Ordering::Relaxed);
            hal::sbi::set_timer(u64::MAX);
            return false;
        }
        end = now + SLICE_TICKS.load(Ordering::Relaxed);
        h.slice_end.store(end, Ordering::Relaxed);
    }
    program(end);
    true
}

/// Timer interrupt while idle in the kernel.
pub fn on_kernel_timer_irq() {
    TIMER_IRQS.fetch_add(1, Ordering::Relaxed);
    hal::sbi::set_timer(u64::MAX);
    let _ = expire();
}

/// Program the timer for the next deadline before idling.
pub fn arm_for_idle() {
    here().slice_end.store(u64::MAX, Ordering::Relaxed);
    program(u64::MAX);
}

/// A deadline wake-up owned by a waiting future. Re-arming replaces the previous entry, and
/// dropping the handle (the wait ended early, or its future was abandoned) takes the entry off
/// the queue, so early wakes leave nothing behind. The entry sits in the queue of the hart
/// that armed it (whose timer fires it), wherever the future runs later.
/// (The queue's key; sequence numbers start at 1, so 0 means "not armed"; then the hart.)
#[derive(Default)]
pub struct Timer((u64, u64), usize);

impl Timer {
    /// No deadline yet.
    pub const fn new() -> Self {
        Timer((0, 0), 0)
    }

    /// Wake `w` at `deadline` (ticks), replacing this handle's previous deadline.
    pub fn arm(&mut self, deadline: u64, w: &core::task::Waker) {
        if self.0.1 != 0 && self.0.0 == deadline {
            return; // already set for then
        }
        self.cancel();
        let me = crate::smp::me();
        self.0 = of(me).timers.lock().add(deadline, w.clone());
        self.1 = me;
        program(of(me).slice_end.load(Ordering::Relaxed));
    }

    fn cancel(&mut self) {
        if self.0.1 != 0 {
            of(self.1).timers.lock().cancel(self.0);
            self.0 = (0, 0);
        }
    }

    /// True once armed (the entry may have fired since).
    pub fn is_armed(&self) -> bool {
        self.0.1 != 0
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Pending timer entries (for leak checks and tests).
pub fn pending_timers() -> usize {
    crate::smp::HARTS.iter().map(|h| h.time.timers.lock().len()).sum()
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
