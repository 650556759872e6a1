//! `thread_main`: the future that *is* a user thread (DESIGN.md §1).
//!
//! It loops: enter user mode (a function call that returns only when the trap fast path
//! declined a trap), then handle that trap asynchronously. The running async syscall handler's
//! future lives in the thread's arena: a small buffer inside this future (no allocation of its
//! own), with a block lent from a per-hart pool for the few handlers that do not fit.

use super::process::ExitStatus;
use super::{Thread, current, futex, signal};
use crate::mm::aspace::{Access, Fault};
use crate::syscall::{self, uaccess};
use crate::trap::{self, Cause};
use alloc::sync::Arc;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::Ordering;
use linux_raw_sys::general as g;
use velox_hal as hal;

/// Signal numbers used to end a process on a fatal fault.
pub const SIGILL: u8 = 4;
pub const SIGTRAP: u8 = 5;
pub const SIGBUS: u8 = 7;
pub const SIGSEGV: u8 = 11;

/// Start a user thread: its task runs `thread_main`.
pub fn start(t: Arc<Thread>) {
    crate::exec::spawn_thread(t.clone(), thread_task(t));
}

/// The task spawned for a user thread: `thread_main`, with the thread recorded as the hart's
/// current one during each poll (the trap path and user-copy fault handling look it up), and
/// the poll's duration counted as the thread's CPU time.
pub async fn thread_task(t: Arc<Thread>) {
    let fut = core::pin::pin!(thread_main(t.clone()));
    Polled { t: &t, fut }.await;
    t.process.remove_thread(&t);
}

/// One poll of `thread_main` with the thread as the hart's current one. A named future with
/// an always-inlined `poll` rather than a `poll_fn` closure: the compiler then keeps the whole
/// poll of a thread in one function (the task's `run`), with one prologue per poll.
struct Polled<'a, F> {
    t: &'a Arc<Thread>,
    fut: Pin<&'a mut F>,
}

impl<F: Future<Output = ()>> Future for Polled<'_, F> {
    type Output = ();

    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, cx: &mut core::task::Context<'_>) -> core::task::Poll<()> {
        let t = self.t;
        t.set_waker(cx.waker());
        current::scope(t, || {
            // The thread's kernel code (its async handlers) touches its user memory directly.
            t.activate_mm();
            crate::time::ensure_slice(t.nice.load(Ordering::Relaxed) as i32);
            let t0 = crate::time::ticks();
            crate::smp::this().poll_start.store(t0, Ordering::Relaxed);
            let r = self.fut.as_mut().poll(cx);
            t.cpu_ticks.fetch_add(crate::time::ticks() - t0, Ordering::Relaxed);
            r
        })
    }
}

/// The user thread's whole kernel-side life.
pub async fn thread_main(t: Arc<Thread>) {
    // (Pinned inside this future, which the task keeps in place.)
    let mut arena: Pin<&mut syscall::HandlerArena> = core::pin::pin!(syscall::HandlerArena::new());
    let ctid = t.set_child_tid.load(Ordering::Relaxed);
    if ctid != 0 {
        activate(&t);
        let _ = uaccess::write(ctid, &(t.tid() as u32));
    }
    crate::time::start_slice(t.nice.load(Ordering::Relaxed) as i32);
    // An interrupted system call's restart code, settled on the way back to user mode.
    let mut restart = signal::Restart::NONE;
    loop {
        if crate::mm::oom::PENDING.load(Ordering::Relaxed) {
            crate::mm::oom::PENDING.store(false, Ordering::Relaxed);
            crate::mm::oom::kill_for(&t);
        }
        if t.is_exiting() {
            break;
        }
        // CPU-time itimers are checked on every trip through here, not only at slice ends:
        // a thread that sleeps often may never finish a slice.
        if t.process.cpu_timers.load(Ordering::Relaxed) {
            super::timers::check_cpu(&t.process);
        }
        if restart.is_some() || t.signal_pending() {
            if signal::handle(&t, &mut restart) {
                signal::wait_continued(&t).await;
            }
            continue;
        }
        let Some((scause, stval)) = enter(&t) else {
            continue;
        };
        match trap::classify(scause) {
            Cause::Syscall => restart = syscall::dispatch_slow(&t, arena.as_mut()).await,
            // The fast path finished its trap but a signal is pending (the loop delivers it).
            Cause::Signal => {}
            Cause::Timer => {
                // (The fast path already did this when it declined; a no-fastpath build comes
                // here for every tick.)
                if cfg!(feature = "no-fastpath") && crate::time::on_user_timer_irq() {
                    continue;
                }
                check_cpu_limit(&t);
                crate::exec::yield_now().await;
                crate::time::start_slice(t.nice.load(Ordering::Relaxed) as i32);
            }
            Cause::Ipi | Cause::External => {
                // (The fast path acknowledged it already; a no-fastpath build comes here.)
                if cfg!(feature = "no-fastpath") {
                    if trap::classify(scause) == Cause::External {
                        let _ = crate::dev::on_external_irq();
                    } else {
                        let _ = crate::smp::on_ipi();
                    }
                }
                // Wake-up preemption (a task was queued here while this thread ran), or this
                // thread's affinity moved it away (the scheduler puts it on an allowed hart).
                if crate::exec::has_ready() || !t.allowed_on(crate::smp::me()) {
                    crate::exec::yield_now().await;
                    crate::time::start_slice(t.nice.load(Ordering::Relaxed) as i32);
                }
            }
            Cause::PageFault(access) => {
                if let Err(code) = user_fault(&t, stval, access).await {
                    // (A file mapping's page past the end of its file: SIGBUS.)
                    let sig = if code == BUS_ADRERR_FAULT { SIGBUS } else { SIGSEGV };
                    fault(&t, sig, if sig == SIGBUS { g::BUS_ADRERR } else { code }, stval, "page fault");
                }
            }
            // (Linux riscv64 reports these at the faulting pc.)
            Cause::AccessFault => fault(&t, SIGSEGV, g::SEGV_ACCERR, pc(&t), "access fault"),
            Cause::Illegal => fault(&t, SIGILL, g::ILL_ILLOPC, pc(&t), "illegal instruction"),
            Cause::Misaligned => fault(&t, SIGBUS, g::BUS_ADRALN, pc(&t), "misaligned access"),
            Cause::Breakpoint => fault(&t, SIGTRAP, TRAP_BRKPT, pc(&t), "breakpoint"),
            Cause::Other => {
                log::warn!("pid {}: unexpected trap scause={scause:#x}", t.process.pid);
            }
        }
    }
    arena.as_mut().clear();
    drop(arena);
    exit_cleanup(&t);
}

/// True if the running thread's process has a finite RLIMIT_CPU or a CPU-time itimer (asked
/// once per time slice: the slow path checks them).
pub fn cpu_limited() -> bool {
    current::with(|t| {
        t.is_some_and(|t| t.process.cpu_timers.load(Ordering::Relaxed) || t.process.limits.lock()[g::RLIMIT_CPU as usize].0 != u64::MAX)
    })
}

/// RLIMIT_CPU, checked when a time slice ends: past the soft limit the process gets SIGXCPU
/// (its default action ends it; handlers come with signal delivery), past the hard one SIGKILL.
#[inline(never)]
fn check_cpu_limit(t: &Thread) {
    const SIGXCPU: u8 = g::SIGXCPU as u8;
    super::timers::check_cpu(&t.process);
    let (soft, hard) = t.process.limits.lock()[g::RLIMIT_CPU as usize];
    if soft == u64::MAX && hard == u64::MAX {
        return;
    }
    let dead = t.process.times.lock().cpu;
    let live: u64 = t.process.threads.lock().values().map(|th| th.cpu_times().1).sum();
    let secs = crate::time::ticks_to_ns(dead + live) / 1_000_000_000;
    // As Linux: a limit of 0 acts as 1 second; SIGXCPU ignored or caught leaves the process
    // to the hard limit.
    let (soft, hard) = (soft.max(1), hard.max(1));
    if secs >= hard {
        kill(t, g::SIGKILL as u8, "RLIMIT_CPU hard limit");
    } else if secs >= soft {
        // Once per slice while over the soft limit (Linux: once per second).
        let _ = signal::send_process(&t.process, &velox_abi::SigInfo::new(SIGXCPU as i32, g::SI_KERNEL as i32));
    }
}

/// Make the thread's address space the active one. False if it has none (exited).
fn activate(t: &Thread) -> bool {
    t.activate_mm()
}

/// Run the thread in user mode until the fast path declines a trap; returns (scause, stval),
/// or `None` if the thread has no address space left (it is told to exit). (Always inlined:
/// it is called once, from the thread's loop, on every return from user mode.)
#[inline(always)]
fn enter(t: &Thread) -> Option<(usize, usize)> {
    if !activate(t) {
        t.request_exit();
        return None;
    }
    // Publish where the thread runs before the last look at `exiting` (see Thread::kick).
    t.running_on.store(crate::smp::me() as u32 + 1, Ordering::Relaxed);
    core::sync::atomic::fence(Ordering::SeqCst);
    if t.is_exiting() || t.signal_pending() {
        t.running_on.store(0, Ordering::Relaxed);
        return None;
    }
    let t0 = crate::time::ticks();
    let mut ctx = t.ctx();
    hal::cpu::sync_icache();
    // Everything that runs on this hart until run_user returns is the trap fast path (and
    // interrupts it takes): `smp::in_fast_path()` tells code it calls not to wait.
    let h = crate::smp::this();
    h.run_start.store(t0, Ordering::Relaxed);
    h.in_fast.store(true, Ordering::Relaxed);
    hal::trap::run_user(&mut ctx);
    h.in_fast.store(false, Ordering::Relaxed);
    let r = (ctx.scause, ctx.stval);
    drop(ctx);
    t.running_on.store(0, Ordering::Relaxed);
    h.run_start.store(0, Ordering::Relaxed);
    t.user_ticks.fetch_add(crate::time::ticks() - t0, Ordering::Relaxed);
    Some(r)
}

/// Resolve a user page fault on the slow path (the fast path already tried once). When no
/// frame is left, the OOM killer picks a victim and the fault is retried while the victim's
/// memory comes back; if the victim is this process, or nothing frees memory, it dies.
/// `Err(si_code)` for a fault that is the program's: SEGV_ACCERR where an area is mapped
/// without the right, else SEGV_MAPERR.
async fn user_fault(t: &Thread, addr: usize, access: Access) -> Result<(), u32> {
    // At least 64 tries and 2 seconds: victims on other harts take a while to die.
    let t0 = crate::time::ticks();
    let mut tries = 0;
    while tries < 64 || crate::time::ticks() - t0 < crate::time::ns_to_ticks(2_000_000_000) {
        tries += 1;
        let Some(mm) = t.mm() else { return Err(g::SEGV_MAPERR) };
        // Park rather than spin while another hart holds the address space (a fork copying it).
        let (r, mapped) = {
            crate::mm::prepare_zeroed_frame();
            let mut a = mm.space.lock_async().await;
            let r = a.handle_fault(addr, access);
            (r, r == Fault::Denied && a.vmas.find(addr).is_some())
        };
        drop(mm);
        match r {
            Fault::Mapped | Fault::Busy => return Ok(()),
            Fault::Denied => return Err(if mapped { g::SEGV_ACCERR } else { g::SEGV_MAPERR }),
            Fault::Bus => return Err(BUS_ADRERR_FAULT),
            Fault::NoMemory => {
                // (kill_for reports what it kills on the console.)
                if !crate::mm::oom::kill_for(t) {
                    return Ok(()); // this process was chosen: it is exiting
                }
                crate::exec::yield_now().await;
            }
        }
        if t.is_exiting() {
            return Ok(());
        }
    }
    // Memory never came back: this process goes (SIGKILL, as an OOM kill), not SIGSEGV.
    velox_hal::println!("[velox] out of memory: pid {} still has no frame after {tries} tries: killed", t.process.pid);
    t.process.exit_group(ExitStatus::Signaled(g::SIGKILL as u8));
    Ok(())
}

/// What `user_fault` answers for SIGBUS (not a SEGV_* code).
const BUS_ADRERR_FAULT: u32 = u32::MAX;

/// TRAP_BRKPT (si_code of SIGTRAP for ebreak).
const TRAP_BRKPT: u32 = 1;

fn pc(t: &Thread) -> usize {
    t.ctx().sepc
}

/// Raise a fault signal in the thread (its handler runs, or the process dies of it).
#[inline(never)]
fn fault(t: &Thread, sig: u8, code: u32, addr: usize, why: &str) {
    let has_handler = t.process.sig.lock().actions[sig as usize - 1].handler > signal::SIG_IGN;
    if !has_handler {
        log::info!("pid {}: {} at pc={:#x} addr={:#x}: signal {}", t.process.pid, why, pc(t), addr, sig);
    }
    signal::force(t, signal::fault_info(sig as usize, code, addr));
}

/// End the thread's process with a fatal signal.
pub fn kill(t: &Thread, sig: u8, why: &str) {
    let (pc, addr) = {
        let c = t.ctx();
        (c.sepc, c.stval)
    };
    log::info!("pid {}: {} at pc={:#x} addr={:#x}: killed by signal {}", t.process.pid, why, pc, addr, sig);
    t.process.exit_group(ExitStatus::Signaled(sig));
}

/// What a thread does on its way out, while its address space is still there: release the
/// robust futexes it holds, clear and wake its clear-child-tid word, then let go of the
/// address space (freed with its last user).
fn exit_cleanup(t: &Thread) {
    release_user_state(t);
    drop(t.set_mm(None));
    // The last thread of its address space: this hart lets go of it now, not when it next
    // loads another, so its frames are back before the parent hears of the exit. The
    // parent's copy-on-write pages are then its own again, and its next write to one (wait4's
    // status) reuses the frame instead of copying it and shooting down other harts.
    crate::smp::unload_if_dead();
}

/// Release the robust futexes the thread holds and clear/wake its clear-child-tid word (at
/// exit, and at execve before the old address space goes).
pub fn release_user_state(t: &Thread) {
    if activate(t) {
        let head = t.robust_list.load(Ordering::Relaxed);
        if head != 0 {
            release_robust_list(t, head);
        }
        let ctid = t.clear_child_tid.load(Ordering::Relaxed);
        // Memory nobody else uses goes away with this thread: skip the write nobody could see.
        let shared = t.mm().is_some_and(|mm| mm.users() > 1);
        if ctid != 0 && shared {
            if uaccess::write(ctid, &0u32).is_ok() {
                if let Ok(k) = futex::key_for(t, ctid, false) {
                    futex::wake(k, 1, u32::MAX);
                }
            }
        }
        t.clear_child_tid.store(0, Ordering::Relaxed);
        t.robust_list.store(0, Ordering::Relaxed);
    }
}

/// Walk the thread's robust-futex list (set_robust_list) and mark every futex it still owns
/// as FUTEX_OWNER_DIED, waking one waiter of each, as Linux does.
fn release_robust_list(t: &Thread, head: usize) {
    let Ok(h) = uaccess::read::<[usize; 3]>(head) else {
        return;
    };
    let (mut entry, offset, pending) = (h[0], h[1] as isize, h[2]);
    let mut limit = 2048;
    while entry != head && entry != 0 && limit > 0 {
        let Ok(next) = uaccess::read::<usize>(entry) else {
            return;
        };
        if entry != pending {
            owner_died(t, entry.wrapping_add_signed(offset));
        }
        entry = next;
        limit -= 1;
    }
    if pending != 0 {
        owner_died(t, pending.wrapping_add_signed(offset));
    }
}

fn owner_died(t: &Thread, uaddr: usize) {
    let Ok(v) = futex::read_word(uaddr) else {
        return;
    };
    if v & g::FUTEX_TID_MASK != t.tid() as u32 {
        return;
    }
    // Compare-and-swap, as Linux: other harts' threads may be changing the word right now
    // (setting FUTEX_WAITERS); retry on their change, give up if the owner changed.
    let mut v = v;
    loop {
        let new = (v & g::FUTEX_WAITERS) | g::FUTEX_OWNER_DIED;
        match velox_hal::user::cmpxchg_user(uaddr, v, new) {
            Ok(found) if found == v => break,
            Ok(found) if found & g::FUTEX_TID_MASK == t.tid() as u32 => v = found,
            _ => return,
        }
    }
    if v & g::FUTEX_WAITERS != 0 {
        if let Ok(k) = futex::key_for(t, uaddr, false) {
            futex::wake(k, 1, u32::MAX);
        }
    }
}
