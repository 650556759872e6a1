//! `thread_main`: the future that *is* a user thread (DESIGN.md §1).
//!
//! It loops: enter user mode (a function call that returns only when the trap fast path
//! declined a trap), then handle that trap asynchronously. The running async syscall handler's
//! future lives in the thread's arena, not inside this future, which keeps this one small.

use super::process::ExitStatus;
use super::{Thread, current};
use crate::mm::aspace::Access;
use crate::syscall;
use crate::trap::{self, Cause};
use alloc::boxed::Box;
use alloc::sync::Arc;
use core::future::Future;
use velox_exec::arena::Arena;
use velox_hal as hal;

/// Signal numbers used to end a process on a fatal fault.
pub const SIGILL: u8 = 4;
pub const SIGTRAP: u8 = 5;
pub const SIGBUS: u8 = 7;
pub const SIGSEGV: u8 = 11;

/// The task spawned for a user thread: `thread_main`, with the thread recorded as the hart's
/// current one during each poll (the trap path and user-copy fault handling look it up).
pub async fn thread_task(t: Arc<Thread>) {
    let mut fut = core::pin::pin!(thread_main(t.clone()));
    core::future::poll_fn(|cx| {
        current::set(&t);
        let r = fut.as_mut().poll(cx);
        current::clear();
        r
    })
    .await
}

/// The user thread's whole kernel-side life.
pub async fn thread_main(t: Arc<Thread>) {
    let mut arena: Box<Arena<isize>> = Box::new(Arena::new());
    crate::time::start_slice();
    loop {
        if t.is_exiting() {
            break;
        }
        enter(&t);
        match trap::classify(t.ctx().scause) {
            Cause::Syscall => syscall::dispatch_slow(&t, &mut arena).await,
            Cause::Timer => {
                crate::exec::yield_now().await;
                crate::time::start_slice();
            }
            Cause::PageFault(access) => {
                let addr = t.ctx().stval;
                if !user_fault(&t, addr, access) {
                    kill(&t, SIGSEGV, "page fault");
                }
            }
            Cause::AccessFault => kill(&t, SIGSEGV, "access fault"),
            Cause::Illegal => kill(&t, SIGILL, "illegal instruction"),
            Cause::Misaligned => kill(&t, SIGBUS, "misaligned access"),
            Cause::Breakpoint => kill(&t, SIGTRAP, "breakpoint"),
            Cause::Other => {
                log::warn!("pid {}: unexpected trap scause={:#x}", t.process.pid, t.ctx().scause);
            }
        }
    }
    arena.clear();
}

/// Run the thread in user mode until the fast path declines a trap.
fn enter(t: &Thread) {
    {
        let a = t.process.aspace.lock();
        match a.as_ref() {
            Some(a) => a.activate(),
            None => {
                t.request_exit();
                return;
            }
        }
    }
    hal::trap::run_user(t.ctx());
}

/// Resolve a user page fault on the slow path (the fast path already tried once).
fn user_fault(t: &Thread, addr: usize, access: Access) -> bool {
    t.process.aspace.lock().as_mut().is_some_and(|a| a.handle_fault(addr, access))
}

/// End the thread's process with a fatal signal.
pub fn kill(t: &Thread, sig: u8, why: &str) {
    let c = t.ctx();
    log::info!("pid {}: {} at pc={:#x} addr={:#x}: killed by signal {}", t.process.pid, why, c.sepc, c.stval, sig);
    t.process.exit(ExitStatus::Signaled(sig));
    t.request_exit();
}
