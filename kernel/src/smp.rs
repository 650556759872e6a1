//! Harts: bring-up, the per-hart records, IPIs (wake-ups, kicks out of user mode, TLB
//! shootdowns) and the address space each hart has loaded.
//!
//! A hart's record is reached through its index in `tp` (`hal::cpu::hart_index`), never
//! through a global "current". An IPI carries no message: it makes the target look at its
//! record (a TLB flush request) and at its run queue, and kicks it out of user mode so its
//! thread re-checks whether it must exit.

use crate::mm::aspace::Mm;
use alloc::sync::Arc;
use crate::task::Thread;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence};
use velox_exec::sync::Mutex;
use velox_hal as hal;

pub use hal::boot::MAX_HARTS;

/// What the kernel keeps per hart: its record, which `tp` points at while the hart runs kernel
/// code (the hot per-hart data is one register away: no index arithmetic, no bounds check).
#[repr(C)]
pub struct Hart {
    /// The hart index; the first word, as `hal::cpu::hart_index` expects.
    index: usize,
    /// The thread whose future this hart is polling (`task::current`).
    pub current: AtomicPtr<Thread>,
    /// The firmware's id for this hart (SBI calls and the device tree use it).
    pub hartid: AtomicUsize,
    /// Set once the hart runs its executor.
    pub online: AtomicBool,
    /// Root of the user page table loaded in `satp` (0: the kernel's own table). Written only
    /// by the hart itself, before it switches; read by shootdowns.
    satp_root: AtomicUsize,
    /// The address space in `satp`, kept alive while loaded (also after its last thread
    /// exited, until the hart loads another or idles), so no hart ever runs on a freed table.
    loaded: Mutex<Option<Arc<Mm>>>,
    /// TLB flush requests: bumped by a hart that changed an address space loaded here; the
    /// hart sets `tlb_done` to what it saw once it flushed.
    tlb_req: AtomicU64,
    tlb_done: AtomicU64,
    /// IPIs received (for /proc/interrupts-style reports and tests).
    pub ipis: AtomicU64,
    /// Asked to let go of its loaded address space if nobody else uses it (leak checks).
    reclaim: AtomicBool,
    /// A task was queued here while the hart was busy: the user thread running here yields
    /// at the IPI (wake-up preemption), instead of at the end of its time slice.
    pub resched: AtomicBool,
    /// Set while this hart runs a thread in user mode, so during the trap fast path: code the
    /// fast path calls must not wait (for a lock another hart may hold long, for a shootdown)
    /// but answer "take the slow path".
    pub in_fast: AtomicBool,
    /// When the current poll of the running thread's future, and its current stay in user
    /// mode (0: not in user mode), began (ticks): only the thread on this hart has them.
    pub poll_start: AtomicU64,
    pub run_start: AtomicU64,
    /// Frames and page tables an unmap frees after its shootdown (`mm::aspace`).
    pub defer_frames: Mutex<[usize; DEFER_BATCH]>,
    pub defer_tables: Mutex<[usize; DEFER_BATCH]>,
    /// Its ready queue (`exec`).
    pub queue: crate::exec::RunQueue,
    /// Its timer, deadlines and time slice (`time`).
    pub time: crate::time::HartTime,
    /// Its trap counters (`trap`).
    pub counters: crate::trap::Counters,
}

impl Hart {
    const fn new(index: usize) -> Hart {
        Hart {
            index,
            current: AtomicPtr::new(core::ptr::null_mut()),
            hartid: AtomicUsize::new(usize::MAX),
            online: AtomicBool::new(false),
            satp_root: AtomicUsize::new(0),
            loaded: Mutex::new(None),
            tlb_req: AtomicU64::new(0),
            tlb_done: AtomicU64::new(0),
            ipis: AtomicU64::new(0),
            reclaim: AtomicBool::new(false),
            resched: AtomicBool::new(false),
            in_fast: AtomicBool::new(false),
            poll_start: AtomicU64::new(0),
            run_start: AtomicU64::new(0),
            defer_frames: Mutex::new([0; DEFER_BATCH]),
            defer_tables: Mutex::new([0; DEFER_BATCH]),
            queue: crate::exec::RunQueue::NEW,
            time: crate::time::HartTime::NEW,
            counters: crate::trap::Counters::NEW,
        }
    }
}

/// Frames freed per TLB shootdown at most (an unmap of more shoots down once per batch).
pub const DEFER_BATCH: usize = 64;

/// Every hart's record, by hart index.
pub static HARTS: [Hart; MAX_HARTS] =
    [Hart::new(0), Hart::new(1), Hart::new(2), Hart::new(3), Hart::new(4), Hart::new(5), Hart::new(6), Hart::new(7)];
const _: () = assert!(MAX_HARTS == 8, "list one record per hart above");
/// Harts running their executor.
static ONLINE: AtomicUsize = AtomicUsize::new(1);
/// Set by the boot hart when the kernel is initialised: secondaries wait for it.
static GO: AtomicBool = AtomicBool::new(false);

/// This hart's record.
#[inline(always)]
pub fn this() -> &'static Hart {
    #[allow(unsafe_code)]
    // SAFETY: in kernel code tp holds the address of one of `HARTS`' records: `init_boot_hart`
    // installs it on the boot hart before anything calls this, `start_secondaries` passes it
    // to each secondary's entry, and the trap entry reloads it from `__run_user`'s frame. The
    // records are statics, never moved or freed.
    unsafe {
        &*(hal::cpu::hart_local() as *const Hart)
    }
}

/// What code called from the trap fast path answers (in place of an errno) when it would have
/// to wait: the handler turns it into "take the slow path".
pub const BUSY: u32 = 4095;

/// True on the trap fast path (see `Hart::in_fast`).
#[inline(always)]
pub fn in_fast_path() -> bool {
    this().in_fast.load(Ordering::Relaxed)
}

/// This hart's index.
#[inline(always)]
pub fn me() -> usize {
    this().index
}

/// Number of harts online.
#[inline(always)]
pub fn online() -> usize {
    ONLINE.load(Ordering::Relaxed)
}

/// Record the boot hart (index 0).
pub fn init_boot_hart(hartid: usize) {
    #[allow(unsafe_code)]
    // SAFETY: `HARTS[0]` is a static record whose first word is its index, 0, the index the
    // boot hart had until now (hal's BOOT_LOCAL).
    unsafe {
        hal::cpu::set_hart_local(&HARTS[0] as *const Hart as usize)
    };
    HARTS[0].hartid.store(hartid, Ordering::Relaxed);
    HARTS[0].online.store(true, Ordering::Relaxed);
    hal::cpu::enable_soft_interrupt();
    velox_exec::sync::set_relax_hook(service);
}

/// Start the other harts the device tree lists (at most `want` in all, at most MAX_HARTS).
/// They wait until [`release`] before running tasks.
pub fn start_secondaries(hartids: &[usize], want: usize) {
    let boot = HARTS[0].hartid.load(Ordering::Relaxed);
    let mut index = 1;
    for &id in hartids {
        if id == boot {
            continue;
        }
        if index >= want.min(MAX_HARTS) {
            break;
        }
        HARTS[index].hartid.store(id, Ordering::Relaxed);
        #[allow(unsafe_code)]
        // SAFETY: a static record that starts with its index, as `start_hart` requires.
        let started = unsafe { hal::boot::start_hart(id, &HARTS[index] as *const Hart as usize) };
        if started {
            // Wait until it is up (it only sets up its CSRs and page table), sleeping in wfi
            // between looks: under QEMU's icount mode the harts share one host thread, and a
            // spinning boot hart would keep the starting one from running.
            let t0 = hal::cpu::time();
            while !HARTS[index].online.load(Ordering::Acquire) && hal::cpu::time() - t0 < 100_000_000 {
                hal::sbi::set_timer(hal::cpu::time() + 10_000);
                hal::cpu::wait_for_interrupt();
            }
            hal::sbi::set_timer(u64::MAX);
            if HARTS[index].online.load(Ordering::Acquire) {
                index += 1;
                continue;
            }
            log::warn!("hart {id} did not come up");
        } else {
            log::warn!("firmware refused to start hart {id}");
        }
        HARTS[index].hartid.store(usize::MAX, Ordering::Relaxed);
    }
    ONLINE.store(index, Ordering::Release);
}

/// Let the secondary harts run tasks (the boot hart finished initialising the kernel).
pub fn release() {
    GO.store(true, Ordering::Release);
}

/// A secondary hart's kernel entry (from the hardware layer), on its own stack.
#[allow(unsafe_code)]
// SAFETY: the hardware layer calls this unique symbol once per secondary hart.
#[unsafe(no_mangle)]
fn velox_secondary_main(_hartid: usize, index: usize) -> ! {
    crate::mm::activate_kernel_table();
    crate::time::init_hart();
    hal::cpu::enable_soft_interrupt();
    HARTS[index].online.store(true, Ordering::Release);
    while !GO.load(Ordering::Acquire) {
        core::hint::spin_loop();
    }
    crate::exec::run()
}

/// Send an IPI to the harts whose indices are set in `mask`.
pub fn send_ipi(mask: usize) {
    let mut ids = 0usize;
    let mut m = mask;
    while m != 0 {
        let i = m.trailing_zeros() as usize;
        m &= m - 1;
        let id = HARTS[i].hartid.load(Ordering::Relaxed);
        if id < usize::BITS as usize {
            ids |= 1 << id;
        }
    }
    if ids != 0 {
        hal::cpu::send_ipi(ids);
    }
}

/// Answer what other harts asked of this one (a TLB flush). Called on every IPI, and by
/// spinning waiters (lock waits, shootdown waits), which run with interrupts off.
#[inline]
pub fn service() {
    let h = this();
    let req = h.tlb_req.load(Ordering::Acquire);
    if h.tlb_done.load(Ordering::Relaxed) != req {
        hal::cpu::flush_tlb_all();
        h.tlb_done.store(req, Ordering::Release);
    }
}

/// The software interrupt (an IPI) arrived: acknowledge it and service the requests.
/// Returns true if a task was queued here for a busy hart (the running thread should yield).
pub fn on_ipi() -> bool {
    hal::cpu::clear_soft_interrupt();
    let h = this();
    h.ipis.fetch_add(1, Ordering::Relaxed);
    service();
    h.resched.swap(false, Ordering::Relaxed)
}

/// Flush the TLB entries of the address space with root `root` on every hart that has it
/// loaded, this one included, and wait until they did: after this, no hart translates
/// through an entry removed or weakened before the call (frames may be reused).
pub fn flush_tlb_mm(root: usize) {
    hal::cpu::flush_tlb_all();
    let n = online();
    if n == 1 {
        return;
    }
    let me = me();
    // Order the page-table writes before reading who has the table loaded (a hart loading
    // it later walks the new entries after its own satp write and sfence).
    fence(Ordering::SeqCst);
    let mut wait = [0u64; MAX_HARTS];
    let mut mask = 0;
    for (i, h) in HARTS.iter().enumerate().take(n) {
        if i != me && h.satp_root.load(Ordering::Relaxed) == root {
            wait[i] = h.tlb_req.fetch_add(1, Ordering::AcqRel) + 1;
            mask |= 1 << i;
        }
    }
    if mask == 0 {
        return;
    }
    send_ipi(mask);
    SHOOTDOWNS.fetch_add(1, Ordering::Relaxed);
    for (i, h) in HARTS.iter().enumerate().take(n) {
        if mask & (1 << i) != 0 {
            while h.tlb_done.load(Ordering::Acquire) < wait[i] {
                velox_exec::sync::relax();
            }
        }
    }
}

/// TLB shootdowns that had to reach another hart.
pub static SHOOTDOWNS: AtomicU64 = AtomicU64::new(0);

/// True if a hart other than this one has the table `root` loaded (the fast path declines
/// changes that would need a shootdown).
#[inline]
pub fn loaded_elsewhere(root: usize) -> bool {
    let me = me();
    HARTS.iter().take(online()).enumerate().any(|(i, h)| i != me && h.satp_root.load(Ordering::Relaxed) == root)
}

/// Load `mm` on this hart (a no-op when it is loaded already). The hart keeps a reference, so
/// the table cannot be freed under it.
pub fn load_mm(mm: &Arc<Mm>) {
    let h = this();
    if h.satp_root.load(Ordering::Relaxed) == mm.root() {
        return;
    }
    let mut slot = h.loaded.lock();
    h.satp_root.store(mm.root(), Ordering::Relaxed);
    fence(Ordering::SeqCst);
    crate::mm::aspace::switch_to(mm.root());
    // May free the previous address space (it is no longer loaded here). Under the slot's
    // lock, so the OOM killer, which looks at the slots, sees it until its frames are back.
    drop(slot.replace(mm.clone()));
}

/// Switch this hart to the kernel's table and let go of the address space it had loaded
/// (before idling, so a dead process's memory is not kept by an idle hart).
pub fn unload_mm() {
    let h = this();
    if h.satp_root.load(Ordering::Relaxed) == 0 {
        return;
    }
    let mut slot = h.loaded.lock();
    crate::mm::activate_kernel_table();
    h.satp_root.store(0, Ordering::Relaxed);
    drop(slot.take()); // (under the lock: see load_mm)
}

/// Unload the address space if no thread uses it any more (nothing can load it again).
pub fn unload_if_dead() {
    let dead = this().loaded.lock().as_ref().is_some_and(|m| m.is_dead());
    if dead {
        unload_mm();
    }
}

/// Between two tasks (executor loop): answer requests that may free memory, which must not
/// run inside a spin-wait (the spinner may hold the frame allocator's lock).
#[inline]
pub fn between_tasks() {
    let h = this();
    if h.reclaim.load(Ordering::Relaxed) && h.reclaim.swap(false, Ordering::AcqRel) {
        unload_if_dead();
    }
}

/// Ask the harts that have the table `root` loaded to let go of it (its last thread is gone);
/// this hart keeps it until it loads another or idles.
pub fn reclaim_root(root: usize) {
    let me = me();
    let mut mask = 0;
    for (i, h) in HARTS.iter().enumerate().take(online()) {
        if i != me && h.satp_root.load(Ordering::Relaxed) == root {
            h.reclaim.store(true, Ordering::Release);
            mask |= 1 << i;
        }
    }
    if mask != 0 {
        send_ipi(mask);
    }
}

/// Ask every other hart to let go of address spaces no thread uses (answered between two
/// tasks); this hart does it at once.
pub fn request_reclaim() {
    let me = me();
    let mut mask = 0;
    for (i, h) in HARTS.iter().enumerate().take(online()) {
        if i != me {
            h.reclaim.store(true, Ordering::Release);
            mask |= 1 << i;
        }
    }
    send_ipi(mask);
    unload_if_dead();
}

/// Make every hart let go of an address space no thread uses any more (before a leak check:
/// a busy hart keeps the last one it ran loaded until it loads another).
pub async fn reclaim_dead_mms() {
    let t0 = crate::time::ticks();
    while crate::mm::aspace::DEAD_MMS.load(Ordering::SeqCst) > 0 && crate::time::ticks() - t0 < crate::time::ns_to_ticks(1_000_000_000) {
        request_reclaim();
        crate::exec::yield_now().await;
    }
}

/// This hart switched away from `root` by itself (an address space freed while loaded).
pub fn forget_root(root: usize) {
    let _ = this().satp_root.compare_exchange(root, 0, Ordering::Relaxed, Ordering::Relaxed);
}

/// Run `fence.i` on every other online hart (riscv_flush_icache).
pub fn remote_fence_i() {
    let me = me();
    let mut ids = 0usize;
    for (i, h) in HARTS.iter().enumerate().take(online()) {
        let id = h.hartid.load(Ordering::Relaxed);
        if i != me && id < usize::BITS as usize {
            ids |= 1 << id;
        }
    }
    if ids != 0 {
        hal::cpu::remote_fence_i(ids);
    }
}
