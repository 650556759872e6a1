//! The kernel's advisory-lock table: one `velox_vfs::lock::FileLocks` per locked file, the
//! wait queue blocked lockers sleep on, and the release hooks (close, exit, last reference).

use crate::exec::WaitQueue;
use alloc::collections::BTreeMap;
use core::sync::atomic::{AtomicBool, Ordering};
use velox_exec::sync::Mutex;
use velox_vfs::lock::FileLocks;

/// Locks by file identity (device, inode).
pub static TABLE: Mutex<BTreeMap<(u64, u64), FileLocks>> = Mutex::new(BTreeMap::new());
/// Woken whenever a lock is released (waiters re-check their conflict).
pub static RELEASED: WaitQueue = WaitQueue::new();
/// Set once any lock was ever taken: until then closes skip the table.
pub static USED: AtomicBool = AtomicBool::new(false);

/// Owner id of a process's POSIX locks (kept apart from description addresses).
pub fn posix_owner(pid: usize) -> u64 {
    (1 << 63) | pid as u64
}

/// Run `f` on the locks of file `id`, dropping the entry when it ends up empty.
pub fn with<R>(id: (u64, u64), f: impl FnOnce(&mut FileLocks) -> R) -> R {
    USED.store(true, Ordering::Relaxed);
    let mut t = TABLE.lock();
    let e = t.entry(id).or_default();
    let r = f(e);
    if e.is_empty() {
        t.remove(&id);
    }
    r
}

/// Release `owner`'s locks on file `id` (a close of that file by the owning process, or the
/// last reference of a description going away).
pub fn release(id: (u64, u64), owner: u64) {
    if !USED.load(Ordering::Relaxed) {
        return;
    }
    let changed = {
        let mut t = TABLE.lock();
        let Some(e) = t.get_mut(&id) else { return };
        let c = e.release(owner);
        if e.is_empty() {
            t.remove(&id);
        }
        c
    };
    if changed {
        RELEASED.wake_all();
    }
}

/// Has any lock been taken since boot? (Until then closing a file need not look.)
#[inline]
pub fn in_use() -> bool {
    USED.load(Ordering::Relaxed)
}

/// A process ended: drop its POSIX locks everywhere.
pub fn release_process(pid: usize) {
    if !USED.load(Ordering::Relaxed) {
        return;
    }
    let owner = posix_owner(pid);
    let changed = {
        let mut t = TABLE.lock();
        let mut any = false;
        t.retain(|_, e| {
            any |= e.release(owner);
            !e.is_empty()
        });
        any
    };
    if changed {
        RELEASED.wake_all();
    }
}

/// Process `pid` closed a descriptor of `f`: POSIX semantics drop all its locks on the file.
pub fn on_close(pid: usize, f: &super::OpenFile) {
    if USED.load(Ordering::Relaxed) {
        if let Some(l) = f.location() {
            release(l.inode.id(), posix_owner(pid));
        }
    }
}
