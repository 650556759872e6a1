//! The out-of-memory killer: when a page fault finds no free frame, the address space with the
//! most frames (pages and page tables) loses every process that uses it (SIGKILL), as Linux's
//! OOM killer kills all processes sharing the victim's memory, and it says so on the console.

use crate::task::Thread;
use crate::task::process::{self, ExitStatus, Process};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use velox_hal::println;

/// Processes the OOM killer has ended (for tests and /proc later).
pub static OOM_KILLS: AtomicUsize = AtomicUsize::new(0);

/// Set when a kernel copy to user memory found no free frame (it fails with EFAULT: the trap
/// hook cannot wait); the thread runs the OOM killer when it is back in its own loop.
pub static PENDING: AtomicBool = AtomicBool::new(false);

/// Held while a hart chooses a victim.
static DECIDING: velox_exec::sync::Mutex<()> = velox_exec::sync::Mutex::new(());

const SIGKILL: u8 = linux_raw_sys::general::SIGKILL as u8;
/// Free frames above which an allocation failure counts as over (one page table's walk and a
/// page, with margin).
const MEMORY_BACK: usize = 64;

/// The address space a process's live threads use, if any.
fn mm_of(p: &Process) -> Option<Arc<super::aspace::Mm>> {
    p.threads.lock().values().find_map(|th| th.mm())
}

/// Frames are exhausted while `t` faults. Unless a dying process still holds memory (it is
/// on its way back), kill every process using the largest address space. Returns false if
/// `t`'s own process was among them.
pub fn kill_for(t: &Thread) -> bool {
    // One decision at a time: threads on several harts run out at once, and each choosing
    // would take several victims. The others retry their faults meanwhile.
    let Some(_one) = DECIDING.try_lock() else { return true };
    // Memory may have come back since the failure was noticed (a victim finished dying, or
    // this is the deferred call of a kernel copy): then nobody needs to die.
    if super::frame_stats().0 > MEMORY_BACK {
        return true;
    }
    // The page cache's clean pages go before any process does.
    if crate::fs::ext4::shrink(MEMORY_BACK * 4) > 0 {
        return true;
    }
    let procs: Vec<(Arc<Process>, Arc<super::aspace::Mm>)> =
        process::all().into_iter().filter(|p| p.exit_status().is_none()).filter_map(|p| mm_of(&p).map(|m| (p, m))).collect();
    // Someone is dying with memory still mapped: wait for it instead of taking a second victim.
    if let Some((p, _)) = procs.iter().find(|(p, _)| p.is_exiting()) {
        return !Arc::ptr_eq(p, &t.process) || !t.process.is_exiting();
    }
    // A dead process's address space that harts still have loaded (its last threads ran
    // there), or that one is freeing right now, is on its way back too: have the harts let go
    // of it, and wait.
    if super::aspace::DEAD_MMS.load(Ordering::SeqCst) > 0 {
        crate::smp::request_reclaim();
        return true;
    }
    // (Looking may have waited for a hart that was freeing an address space.)
    if super::frame_stats().0 > MEMORY_BACK {
        return true;
    }
    let mut best: Option<(usize, usize)> = None; // (frames, mm id)
    for (_, mm) in &procs {
        if best.is_some_and(|(_, id)| id == mm.id) {
            continue;
        }
        // Wait for a space another hart holds (its threads are faulting, maybe it is the hog);
        // one this hart holds cannot be measured (never the case on the fault paths).
        if mm.space.held_here() {
            continue;
        }
        let frames = mm.space.lock().resident_pages();
        if best.is_none_or(|(n, _)| frames > n) {
            best = Some((frames, mm.id));
        }
    }
    let Some((frames, id)) = best else {
        // Nothing to take memory from: the faulting process itself has to go.
        t.process.exit_group(ExitStatus::Signaled(SIGKILL));
        return false;
    };
    let mut me = true;
    let sharers = procs.iter().filter(|(_, mm)| mm.id == id).count();
    for (p, _) in procs.iter().filter(|(_, mm)| mm.id == id) {
        let exe = p.exe.lock().clone();
        println!(
            "[velox] out of memory: killed pid {} ({}) with {} KiB resident (pages and page tables{})",
            p.pid,
            core::str::from_utf8(&exe).unwrap_or("?"),
            frames * 4,
            if sharers > 1 { ", shared with another process" } else { "" }
        );
        OOM_KILLS.fetch_add(1, Ordering::Relaxed);
        p.exit_group(ExitStatus::Signaled(SIGKILL));
        if Arc::ptr_eq(p, &t.process) {
            me = false;
        }
    }
    me
}
