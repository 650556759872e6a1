//! The out-of-memory killer: when a page fault finds no free frame, the process with the most
//! resident memory is killed (SIGKILL) and says so on the console, so the rest go on.

use crate::task::Thread;
use crate::task::process::{self, ExitStatus};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};
use velox_hal::println;

/// Processes the OOM killer has ended (for tests and /proc later).
pub static OOM_KILLS: AtomicUsize = AtomicUsize::new(0);

/// Set when a kernel copy to user memory found no free frame (it fails with EFAULT: the trap
/// hook cannot wait); the thread runs the OOM killer when it is back in its own loop.
pub static PENDING: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

const SIGKILL: u8 = 9;

/// Frames are exhausted while `t` faults. Kill the largest process unless one is already
/// dying (its memory is on the way back). Returns false if `t`'s own process was chosen.
pub fn kill_for(t: &Thread) -> bool {
    let mut victim: Option<(usize, Arc<process::Process>)> = None;
    for p in process::all() {
        if p.exit_status().is_some() {
            continue; // a zombie holds no memory
        }
        let mm = p.threads.lock().values().next().and_then(|th| th.mm());
        let Some(mm) = mm else { continue };
        if p.is_exiting() && Arc::strong_count(&mm) > 1 {
            return !Arc::ptr_eq(&p, &t.process); // wait for that one's memory
        }
        // try_lock: a space locked right now belongs to a thread in the middle of a change;
        // skip it rather than wait (there is one hart, nobody can release it meanwhile).
        let Some(pages) = mm.space.try_lock().map(|mut a| a.resident_pages()) else { continue };
        if victim.as_ref().is_none_or(|(n, _)| pages > *n) {
            victim = Some((pages, p.clone()));
        }
    }
    let Some((pages, p)) = victim else {
        // Nothing to take memory from: the faulting process itself has to go.
        t.process.exit_group(ExitStatus::Signaled(SIGKILL));
        return false;
    };
    let exe = p.exe.lock().clone();
    println!(
        "[velox] out of memory: killed pid {} ({}) with {} KiB resident (pages and page tables)",
        p.pid,
        core::str::from_utf8(&exe).unwrap_or("?"),
        pages * 4
    );
    OOM_KILLS.fetch_add(1, Ordering::Relaxed);
    p.exit_group(ExitStatus::Signaled(SIGKILL));
    !Arc::ptr_eq(&p, &t.process)
}
