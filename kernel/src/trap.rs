//! The synchronous trap fast path (DESIGN.md §2), trap classification and per-cause counters.
//!
//! `velox_fast_path` is called by the trampoline with only the caller-saved user registers
//! saved. It completes what it can (fast syscalls, lazy page faults, timer ticks within the
//! slice) and says so; otherwise it records the cause, and the trampoline saves s0–s11 (and
//! gp, sepc) and returns from `run_user` into the thread's future.

use crate::mm::aspace::{Access, Fault};
use crate::syscall::{self, FastRet, RET_OTHER, RET_SLOW};
use crate::task::current;
use core::sync::atomic::{AtomicU64, Ordering};
use velox_hal as hal;
use velox_hal::trap::UserContext;

/// A trap, as the kernel cares about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Syscall,
    Timer,
    /// Another hart's IPI (a wake-up, a TLB flush request or a kick out of user mode).
    Ipi,
    /// A device interrupt through the PLIC (the UART's input).
    External,
    PageFault(Access),
    AccessFault,
    Illegal,
    Misaligned,
    Breakpoint,
    /// Not a hardware cause: the fast path finished the trap but a signal is pending, so the
    /// thread goes through the slow path to have it delivered (`SCAUSE_SIGNAL`).
    Signal,
    Other,
}

/// The `scause` value the fast path records for [`Cause::Signal`] (an interrupt code no
/// hardware uses).
pub const SCAUSE_SIGNAL: usize = INTERRUPT | 0x3f;

const INTERRUPT: usize = 1 << 63;

/// Decode `scause`.
#[inline(always)]
pub fn classify(scause: usize) -> Cause {
    if scause & INTERRUPT != 0 {
        return match scause & 0xff {
            5 => Cause::Timer,
            1 => Cause::Ipi,
            9 => Cause::External,
            0x3f => Cause::Signal,
            _ => Cause::Other,
        };
    }
    match scause {
        8 => Cause::Syscall,
        12 => Cause::PageFault(Access::Exec),
        13 => Cause::PageFault(Access::Read),
        15 => Cause::PageFault(Access::Write),
        1 | 5 | 7 => Cause::AccessFault,
        2 => Cause::Illegal,
        0 | 4 | 6 => Cause::Misaligned,
        3 => Cause::Breakpoint,
        _ => Cause::Other,
    }
}

/// Trap counters: how many traps of each kind finished on the fast path and how many went slow.
pub struct Counters {
    pub fast_syscall: [AtomicU64; syscall::NR_MAX],
    pub slow_syscall: [AtomicU64; syscall::NR_MAX],
    /// Indexed by exception code (0..16) and 16 + interrupt code.
    pub fast_other: [AtomicU64; 32],
    pub slow_other: [AtomicU64; 32],
}

#[allow(clippy::declare_interior_mutable_const)]
const Z: AtomicU64 = AtomicU64::new(0);
impl Counters {
    /// All zero.
    pub const NEW: Counters =
        Counters { fast_syscall: [Z; syscall::NR_MAX], slow_syscall: [Z; syscall::NR_MAX], fast_other: [Z; 32], slow_other: [Z; 32] };
}

/// This hart's counters (one set per hart, in its record: no cache line is shared between
/// harts' traps).
#[inline(always)]
fn counters() -> &'static Counters {
    &crate::smp::this().counters
}

/// Bump a counter only this hart writes (a plain load and store: no atomic read-modify-write).
#[inline(always)]
fn bump(c: &AtomicU64) {
    c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

#[inline(always)]
fn other_index(scause: usize) -> usize {
    if scause & INTERRUPT != 0 { 16 + (scause & 15) } else { scause & 15 }
}

/// Count a trap that left the fast path (called by the slow path for syscalls).
pub fn count_slow(scause: usize, nr: usize) {
    if scause == 8 {
        if nr < syscall::NR_MAX {
            bump(&counters().slow_syscall[nr]);
        }
    } else {
        bump(&counters().slow_other[other_index(scause)]);
    }
}

/// Count the system calls the fast path finishes, per number (`velox.counters` on the command
/// line): off by default, because the count costs 5 of the fast getpid's instructions (a
/// per-hart counter at an offset past a load's 12-bit reach), and on the fast path it is the
/// only bookkeeping. Slow system calls and every other trap are always counted.
pub static COUNT_FAST_SYSCALLS: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Count a system call the fast path finished.
#[inline(always)]
pub fn count_fast(nr: usize) {
    bump(&counters().fast_syscall[nr]);
}

/// The fast path: finish the trap if it can, else record its cause for the slow path (see
/// `syscall::FastRet` for what the trampoline gets back). A system call ends in a tail call
/// to its handler's `FAST_ENTRY` wrapper, which writes nothing back: the trampoline puts the
/// result in a0 and sets `sepc` to the context's saved one plus 4 (saved on entry: a nested
/// user-copy fault inside a handler overwrites the CSR).
#[allow(unsafe_code)]
// SAFETY: the trampoline in the hardware layer calls this symbol with the running thread's
// context, which it exclusively owns for the duration of the call.
#[unsafe(no_mangle)]
pub extern "C" fn velox_fast_path(ctx: &mut UserContext) -> FastRet {
    let scause = hal::cpu::scause();
    if !cfg!(feature = "no-fastpath") && scause == 8 {
        let nr = ctx.syscall_nr();
        if nr < syscall::NR_MAX {
            // A signal already pending takes the slow path, which runs the call and then
            // delivers. One raised while the handler runs comes with an interrupt taken right
            // after the return to user mode: an IPI from another hart, or this hart's own
            // software interrupt when the handler signalled its own thread (`Thread::kick`,
            // `syscall::done_checking_signals`). Both arms are tail calls.
            return current::with(|t| match t {
                Some(t) if !t.signal_pending() => syscall::FAST_ENTRY[nr](t, ctx, COUNT_FAST_SYSCALLS.load(Ordering::Relaxed)),
                _ => fast_path_rest(ctx, scause),
            });
        }
    }
    // (A separate function, so that this one needs no stack frame: both calls are tail calls.)
    fast_path_rest(ctx, scause)
}

/// The fast path for everything but a system call it can hand to a fast handler.
#[inline(never)]
extern "C" fn fast_path_rest(ctx: &mut UserContext, scause: usize) -> FastRet {
    if !cfg!(feature = "no-fastpath") && scause != 8 && fast_other(scause) {
        bump(&counters().fast_other[other_index(scause)]);
        // A page fault resolved while a signal arrived: deliver it now.
        if current::with(|t| t.is_some_and(|t| t.signal_pending())) {
            ctx.scause = SCAUSE_SIGNAL;
            return FastRet { code: RET_SLOW, val: 0 };
        }
        return FastRet { code: RET_OTHER, val: 0 };
    }
    ctx.scause = scause;
    ctx.stval = hal::cpu::stval();
    if scause != 8 {
        count_slow(scause, 0);
    }
    FastRet { code: RET_SLOW, val: 0 }
}

/// Non-syscall traps that can finish synchronously: lazy page faults, timer ticks.
#[inline(never)]
fn fast_other(scause: usize) -> bool {
    match classify(scause) {
        // A thread told to exit (exit_group from another hart, a kill) or moved off this hart
        // leaves user mode here.
        Cause::Timer => crate::time::on_user_timer_irq() && !current_must_leave(),
        Cause::Ipi => !(crate::smp::on_ipi() && crate::exec::has_ready()) && !current_must_leave(),
        // The device is served here; the trap finishes unless that woke a task that should
        // run now (wake-up preemption) or the thread must leave user mode (a ^C for its own
        // group). Kept out of `velox_fast_path` itself: a branch there made the compiler save
        // more registers on every syscall (getpid 108 -> 115 det ns).
        Cause::External => !(crate::dev::on_external_irq() && crate::exec::has_ready()) && !current_must_leave(),
        Cause::PageFault(access) => {
            let addr = hal::cpu::stval();
            // The page a zero-fill needs is zeroed before the lock is taken (harts faulting in
            // one address space then hold it for the table update only).
            crate::mm::prepare_zeroed_frame();
            // try_lock: never spin on the trap path; a held lock means "take the slow path".
            current::with(|t| {
                t.and_then(|t| {
                    t.try_with_mm(|mm| {
                        // Zero-fill faults on several harts at once share the lock (one hart,
                        // or a space no other hart has loaded, such as a fork child's: the
                        // exclusive path below does the same with fewer steps, and a
                        // copy-on-write fault does not walk the table twice).
                        if crate::smp::online() > 1
                            && crate::smp::loaded_elsewhere(mm.root())
                            && let Some(m) = mm.space.fault_shared(addr, access)
                        {
                            return m;
                        }
                        mm.space.try_lock().is_some_and(|mut a| a.handle_fault_fast(addr, access) == Fault::Mapped)
                    })
                })
            })
            .unwrap_or(false)
        }
        _ => false,
    }
}

/// The running thread must leave user mode: it is told to exit, a signal is pending for it,
/// or its affinity no longer allows this hart (sched_setaffinity from another thread kicks it).
fn current_must_leave() -> bool {
    current::with(|t| t.is_some_and(|t| t.is_exiting() || t.signal_pending() || !t.allowed_on(crate::smp::me())))
}

fn kernel_interrupt(code: usize) {
    match code {
        5 => crate::time::on_kernel_timer_irq(),
        1 => {
            // (In the kernel: the executor loop picks the queued task up anyway.)
            let _ = crate::smp::on_ipi();
        }
        9 => {
            let _ = crate::dev::on_external_irq();
        }
        _ => {}
    }
}

/// A kernel access to user memory faulted (in a checked copy): resolve lazily if we can.
fn kernel_user_fault(addr: usize, write: bool) -> bool {
    let access = if write { Access::Write } else { Access::Read };
    // The thread's mm lock is never held across a user copy, so waiting for it is safe; the
    // address space's lock may be held by this very hart (a bug: fail the copy), or by another
    // hart (wait: other harts' requests are answered while spinning).
    let r = current::with(|t| {
        let mm = t?.mm()?;
        if mm.space.held_here() {
            return None;
        }
        // Busy: a file mapping's page whose file lock is held (maybe by this very copy's
        // caller): a few more tries with the address space let go, then the copy fails
        // (see `mm::filemap`'s lock order).
        for _ in 0..64 {
            crate::mm::prepare_zeroed_frame();
            let f = mm.space.lock().handle_fault(addr, access);
            if f != Fault::Busy {
                return Some(f);
            }
            for _ in 0..256 {
                core::hint::spin_loop();
            }
        }
        Some(Fault::Busy)
    });
    if r == Some(Fault::NoMemory) {
        crate::mm::oom::PENDING.store(true, Ordering::Relaxed);
    }
    r == Some(Fault::Mapped)
}

/// Install the kernel's trap callbacks.
pub fn init() {
    hal::trap::set_hooks(hal::trap::KernelTrapHooks { interrupt: kernel_interrupt, user_fault: kernel_user_fault });
}

/// Print the non-zero counters (for `velox.counters` on the command line and the monitor).
pub fn print_counters() {
    hal::println!("[velox] trap counters (fast / slow):");
    for nr in 0..syscall::NR_MAX {
        let f: u64 = crate::smp::HARTS.iter().map(|h| h.counters.fast_syscall[nr].load(Ordering::Relaxed)).sum();
        let s: u64 = crate::smp::HARTS.iter().map(|h| h.counters.slow_syscall[nr].load(Ordering::Relaxed)).sum();
        if f + s > 0 {
            hal::println!("[velox]   syscall {:>3} {:<18} {f} / {s}", nr, syscall::name(nr));
        }
    }
    for i in 0..32 {
        let f: u64 = crate::smp::HARTS.iter().map(|h| h.counters.fast_other[i].load(Ordering::Relaxed)).sum();
        let s: u64 = crate::smp::HARTS.iter().map(|h| h.counters.slow_other[i].load(Ordering::Relaxed)).sum();
        if f + s > 0 {
            let sc = if i >= 16 { INTERRUPT | (i - 16) } else { i };
            hal::println!("[velox]   {:<33} {f} / {s}", hal::trap::cause_name(sc));
        }
    }
    crate::smp::print_tlb_counters();
}
