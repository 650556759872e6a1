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
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence};
use velox_mm::asid;
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
    /// The ASID generation at which this hart last flushed its whole TLB: it may use an ASID
    /// of that generation without flushing it; one of another generation takes a full flush
    /// first. Only the hart itself uses it.
    asid_gen: AtomicU64,
    /// Its switches to a user table with ASIDs on, by what they flushed: everything (a
    /// generation new to the hart), the ASID (stale; first load here), nothing.
    asid_stats: [AtomicU64; 4],
    /// The address space in `satp`, kept alive while loaded (also after its last thread
    /// exited, until the hart loads another or idles), so no hart ever runs on a freed table.
    loaded: Mutex<Option<Arc<Mm>>>,
    /// TLB flush requests: bumped by a hart that changed an address space loaded here; the
    /// hart sets `tlb_done` to what it saw once it flushed.
    tlb_req: AtomicU64,
    tlb_done: AtomicU64,
    /// Memory-barrier requests (membarrier): bumped by the asking hart; the hart sets
    /// `mb_done` to what it saw once it executed a full fence.
    mb_req: AtomicU64,
    mb_done: AtomicU64,
    /// Harts (bit = index) asleep in [`wait_answers`] until this hart answers a request: it
    /// sends them an IPI when it has (in [`service`]).
    wake_on_answer: AtomicUsize,
    /// How long this hart spins in [`wait_answers`] before it sleeps (ticks; 0: the spin
    /// time, as at boot). Adaptive, as KVM's halt polling: after a wait whose answers came
    /// later than the spin time but within [`SPIN_TICKS`], doubled (up to `SPIN_TICKS`);
    /// after one that took longer than `SPIN_TICKS`, halved (down to an eighth of it).
    answer_spin: AtomicU64,
    /// When this hart last answered a request ([`service`]; `time` ticks), stored before the
    /// answer itself: a waiter learns how long its answer took, whether it was spinning or
    /// asleep (its own wake-up from `wfi` not included).
    answered_at: AtomicU64,
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
            asid_gen: AtomicU64::new(0),
            asid_stats: [const { AtomicU64::new(0) }; 4],
            loaded: Mutex::new(None),
            tlb_req: AtomicU64::new(0),
            tlb_done: AtomicU64::new(0),
            mb_req: AtomicU64::new(0),
            mb_done: AtomicU64::new(0),
            wake_on_answer: AtomicUsize::new(0),
            answer_spin: AtomicU64::new(0),
            answered_at: AtomicU64::new(0),
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
    velox_exec::sync::set_nap_hook(nap);
}

/// How long a long lock wait sleeps between looks (`time` ticks; set by `set_spin_us`).
static NAP_TICKS: AtomicU64 = AtomicU64::new(0);
/// The same in nanoseconds: long enough for the host to run another vCPU thread, short
/// against the time slice (a release is seen at most this late).
const NAP_NS: u64 = 20_000;

/// A lock waiter that spun long sleeps a little (see `velox_exec::sync::SPIN_TURNS`).
fn nap() {
    hal::cpu::nap(NAP_TICKS.load(Ordering::Relaxed));
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

/// Send IPIs by storing to the ACLINT SSWI device's registers when the device tree lists one
/// for every online hart (no trip through the firmware on either side), unless `sbi_only`
/// (boot option `velox.sbi_ipi`); otherwise through the SBI.
pub fn choose_ipi(sswi: &[(usize, usize)], sbi_only: bool) {
    let ids: alloc::vec::Vec<usize> = HARTS[..online()].iter().map(|h| h.hartid.load(Ordering::Relaxed)).collect();
    if !sbi_only && !sswi.is_empty() {
        hal::cpu::use_sswi(sswi, &ids);
    }
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
    probe_asid_bits();
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

/// Answer what other harts asked of this one (a TLB flush, a memory barrier). Called on
/// every IPI, and by spinning waiters (lock waits, shootdown waits), which run with
/// interrupts off.
#[inline]
pub fn service() {
    let h = this();
    let mut answered = false;
    let req = h.tlb_req.load(Ordering::Acquire);
    if h.tlb_done.load(Ordering::Relaxed) != req {
        hal::cpu::flush_tlb_all();
        h.answered_at.store(hal::cpu::time(), Ordering::Relaxed);
        h.tlb_done.store(req, Ordering::Release);
        answered = true;
    }
    let mb = h.mb_req.load(Ordering::Acquire);
    if h.mb_done.load(Ordering::Relaxed) != mb {
        // What the user thread this hart was running did before the IPI is ordered before
        // what it does after (`fence rw,rw`), and its instruction fetches see stores made
        // before the request (`fence.i`: membarrier's SYNC_CORE).
        fence(Ordering::SeqCst);
        hal::cpu::fence_i();
        h.answered_at.store(hal::cpu::time(), Ordering::Relaxed);
        h.mb_done.store(mb, Ordering::Release);
        answered = true;
    }
    if answered {
        // Wake the askers that went to sleep (see `wait_answers`: the store-buffering pattern,
        // a full fence on each side; they look at the answer again after theirs).
        fence(Ordering::SeqCst);
        if h.wake_on_answer.load(Ordering::Relaxed) != 0 {
            send_ipi(h.wake_on_answer.swap(0, Ordering::AcqRel));
        }
    }
}

/// How long (in `time` ticks) a hart waiting for other harts' answers spins (answering its
/// own requests meanwhile) before it sleeps in `wfi` until they send it an IPI. An answer
/// normally comes within microseconds; a target that takes longer runs kernel code with
/// interrupts off for long, or (QEMU on a host with fewer cores than harts) is not running at
/// all: spinning would then burn the host core it needs. Sleeping costs a wake-up IPI (a
/// store with the ACLINT SSWI) and a halted vCPU's wake-up latency, so short waits spin.
/// Default 10 µs (docs/smp.md: 50 µs spent 15 % more instructions on `vsmp fork 2`, 4 harts;
/// 5 µs cost 20 % in wall time on 2 harts).
static SPIN_TICKS: AtomicU64 = AtomicU64::new(0);

/// Set the spin time of [`wait_answers`] (boot: `velox.spin_us=N`, default 10 µs), and the
/// length of a lock waiter's nap.
pub fn set_spin_us(us: u64) {
    SPIN_TICKS.store(crate::time::ns_to_ticks(us.saturating_mul(1000)), Ordering::Relaxed);
    NAP_TICKS.store(crate::time::ns_to_ticks(NAP_NS), Ordering::Relaxed);
    crate::mm::aspace::LOCK_ASYNC_SPIN_TICKS.store(crate::time::ns_to_ticks(crate::mm::aspace::LOCK_ASYNC_SPIN_NS), Ordering::Relaxed);
}

/// Wait until every hart `i` in `mask` answered request `want[i]` (`answer(hart) >= want`),
/// answering this hart's own requests meanwhile. Runs with interrupts off: `wfi` still wakes
/// on a pending IPI, and the IPIs it takes are answered here and raised again at the end for
/// the trap path (a wake-up preemption, a kick out of user mode).
#[inline(always)]
fn wait_answers(mask: usize, want: &[u64; MAX_HARTS], answer: impl Fn(&Hart) -> &AtomicU64) {
    let me = this();
    let bit = 1usize << me.index;
    let max = SPIN_TICKS.load(Ordering::Relaxed);
    let spin = match me.answer_spin.load(Ordering::Relaxed) {
        0 => max,
        s => s,
    };
    let start = hal::cpu::time();
    let mut w = Waiter { t0: start, spin, slept: false };
    let mut m = mask;
    while m != 0 {
        let i = m.trailing_zeros() as usize;
        let h = &HARTS[i];
        while answer(h).load(Ordering::Acquire) < want[i] {
            if w.spin() {
                continue;
            }
            // Ask for an IPI, then look again (pairs with the fence in `service`: either it
            // sees the bit, or this sees its answer).
            h.wake_on_answer.fetch_or(bit, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            if answer(h).load(Ordering::Acquire) >= want[i] {
                break;
            }
            w.sleep();
        }
        m &= m - 1;
    }
    // How long the slowest answer took (the Acquire loads above saw each answer, so its
    // time too; a later answer to another hart's request only makes it look slower).
    let mut took = 0;
    let mut m = mask;
    while m != 0 {
        let i = m.trailing_zeros() as usize;
        took = took.max(HARTS[i].answered_at.load(Ordering::Relaxed).saturating_sub(start));
        m &= m - 1;
    }
    // (An answer slower than the whole spin time comes from a hart that was not running: a
    // vCPU its host descheduled, most often; spinning for the next one burns the host core
    // it needs. One that came after a shorter spin had ended would have been caught.)
    let next = if took > max {
        (spin / 2).max(max / 8).max(1).min(max)
    } else if took > spin {
        (spin * 2).min(max)
    } else {
        spin
    };
    if next != spin {
        me.answer_spin.store(next, Ordering::Relaxed);
    }
}

/// A hart's wait for something another hart does (with interrupts off): [`Waiter::spin`]
/// turns of `relax` for at most the spin time, then [`Waiter::sleep`]s in `wfi` until an
/// IPI, answering this hart's requests after each. The caller announces its sleep first (so
/// the other hart sends the IPI) and looks once more after a full fence.
pub struct Waiter {
    t0: u64,
    spin: u64,
    slept: bool,
}

impl Waiter {
    /// Start a wait (now).
    pub fn new() -> Waiter {
        Waiter { t0: hal::cpu::time(), spin: SPIN_TICKS.load(Ordering::Relaxed), slept: false }
    }

    /// One turn of spinning; false once the spin time is over (then sleep).
    #[inline]
    pub fn spin(&mut self) -> bool {
        if hal::cpu::time() - self.t0 < self.spin {
            velox_exec::sync::relax();
            true
        } else {
            false
        }
    }

    /// Sleep until an IPI or a device interrupt is pending (not taken: interrupts stay off;
    /// not the timer, see `hal::cpu::wait_for_interrupt_not_timer`), then answer other harts'
    /// requests.
    pub fn sleep(&mut self) {
        let unloaded = sleep_unload();
        hal::cpu::wait_for_interrupt_not_timer();
        if unloaded {
            wake_reload();
        }
        hal::cpu::clear_soft_interrupt();
        self.slept = true;
        service();
        // Spin again before the next sleep: a halted vCPU takes long to wake, and a waiter
        // that had one look per wake-up could starve behind harts that spin.
        self.t0 = hal::cpu::time();
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if self.slept {
            // An IPI cleared while asleep may have carried more than the wake-up (a task
            // queued here, an exit or signal for the thread running here): let the trap path
            // see it too.
            hal::cpu::raise_soft_interrupt();
            SLEEPS.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Waits for other harts ([`Waiter`]) that ended in `wfi`.
pub static SLEEPS: AtomicU64 = AtomicU64::new(0);

/// membarrier(2)'s expedited barrier: every other online hart that has the user table `root`
/// loaded (all of them with `None`) executes a full fence (and `fence.i`) before this
/// returns: an IPI each, answered in [`service`], waited for here. A hart that loads the
/// table later passes the `SeqCst` fence of [`load_mm`] before it runs user code, which
/// orders it after this call's fence (the same store-buffering argument as
/// [`flush_tlb_mm`]'s). Never call it on the trap fast path (it waits for other harts).
pub fn membarrier(root: Option<usize>) {
    // Order the caller's earlier accesses before the others' later ones, and before the
    // reads of who has the table loaded.
    fence(Ordering::SeqCst);
    let (me, n) = (me(), online());
    if n > 1 {
        let mut wait = [0u64; MAX_HARTS];
        let mut mask = 0;
        for (i, h) in HARTS.iter().enumerate().take(n) {
            if i != me && root.is_none_or(|r| h.satp_root.load(Ordering::Relaxed) == r) {
                wait[i] = h.mb_req.fetch_add(1, Ordering::AcqRel) + 1;
                mask |= 1 << i;
            }
        }
        if mask != 0 {
            send_ipi(mask);
            wait_answers(mask, &wait, |h| &h.mb_done);
        }
    }
    // And the others' earlier accesses before the caller's later ones.
    fence(Ordering::SeqCst);
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

/// Flush the TLB entries of address space `tlb` on every hart, this one included: the harts
/// that have it loaded flush now (an IPI each, and this function waits until they did), the
/// others that ran it since (ASIDs keep their entries after they switch away) before they
/// load it again (its `stale` bits). After this, no hart translates through an entry removed
/// or weakened before the call (frames may be reused).
///
/// Order against [`load_mm`] (the store-buffering pattern, a full fence on each side): this
/// function writes the page tables, fences, reads `ran_on`, sets `stale` for those harts,
/// fences, then reads every hart's `satp_root`; `load_mm` publishes `satp_root` and its
/// `ran_on` bit, fences, then reads `stale`. So a hart loading the space meanwhile either is
/// seen as loaded (and IPI'd) or sees its stale bit (and flushes the ASID before using it),
/// or (its `ran_on` bit was not seen, its first load of the space) had no entry of it cached
/// and walks the new tables (it flushes the ASID on a first load too).
pub fn flush_tlb_mm(tlb: &TlbCtx) {
    let root = tlb.root;
    let h = this();
    let me = h.index;
    let here = h.satp_root.load(Ordering::Relaxed) == root;
    let n = online();
    if !ASIDS_ON.load(Ordering::Relaxed) {
        // Every switch flushes everything: only harts with the table loaded can cache it.
        hal::cpu::flush_tlb_all();
        if n == 1 {
            return;
        }
    } else {
        if here {
            // satp holds this table (only this hart writes its satp_root and satp), under
            // the ASID it was loaded with, which is the one to flush even if a rollover gave
            // the space another since.
            hal::cpu::flush_tlb_asid(hal::cpu::current_asid());
        }
        // Order the page-table writes before reading who ran the space (one hart: nobody
        // loads it meanwhile).
        if n > 1 {
            fence(Ordering::SeqCst);
        }
        let ran = tlb.ran_on.load(Ordering::Relaxed) & !(if here { 1 << me } else { 0 });
        if ran != 0 {
            // This hart too if it ran the space but has another loaded: its next load flushes.
            tlb.stale.fetch_or(ran, Ordering::Relaxed);
        }
        if n == 1 {
            return;
        }
    }
    // Order the page-table writes (and the stale bits) before reading who has the table
    // loaded (a hart loading it later sees the stale bits, or walks the new entries).
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
    wait_answers(mask, &wait, |h| &h.tlb_done);
}

/// TLB shootdowns that had to reach another hart.
pub static SHOOTDOWNS: AtomicU64 = AtomicU64::new(0);

// ---- ASIDs ----
//
// Each address space has a context (`TlbCtx::ctx`): an ASID and the generation it belongs to
// (`velox_mm::asid`). Within a generation an ASID belongs to one address space and is never
// given back; when they run out, the allocator starts a new generation and numbering starts
// again at 1 (0 is the kernel's table). A hart flushes its whole TLB before it first uses a
// context of a generation other than the one it last flushed at (`Hart::asid_gen`). So an
// ASID a hart uses without flushing tags only entries of the one address space that holds
// that ASID in that generation: entries of a freed space, or of one that held the ASID in an
// older generation, were flushed at that hart's last full flush, or are unreachable (no live
// space runs under their ASID in this hart's generation).
//
// The rollover race: hart A runs space M under (g, 5) while hart B rolls over to g+1 and hands
// ASID 5 to N. Both run ASID 5 at once, on different harts: TLBs are per hart. B flushed
// everything before using g+1. A keeps running M under (g, 5) until it switches: M's context
// is no longer current, so loading M (or anything else of g+1) finds A's `asid_gen` at g and
// flushes everything first; so A never sees N's entries under 5, nor N M's. Meanwhile
// shootdowns of M reach A as before (it has M's root loaded: an IPI, and a full flush in
// `service`), and A's own flushes of M use the ASID in its satp (5), not M's new context. A
// hart that reads a context as current just before another hart rolls over loads it with
// its old generation: still correct, by the per-hart generation alone (the global one
// `ASID_GEN` only saves the allocator's lock).
//
// Shootdowns: a hart that switched away from a space keeps its entries (tagged with its ASID),
// so `flush_tlb_mm` also marks the harts in the space's `ran_on` (harts that loaded it under
// its current ASID, a superset: bits are never cleared) as `stale`, and `load_mm` flushes the
// ASID when its stale bit is set (see `flush_tlb_mm` for the ordering). IPI'd harts still
// flush everything (`service`): a request carries no address space (several are merged), and
// the target may have switched since.

/// The TLB bookkeeping of one address space (shared by `Mm` and its `AddrSpace`).
pub struct TlbCtx {
    /// Root page-table frame (fixed for the life of the address space).
    root: usize,
    /// Its ASID context (`velox_mm::asid`), 0 before its first load.
    ctx: AtomicU64,
    /// Harts that loaded it (bit = hart index), set by `load_mm` before the satp write.
    ran_on: AtomicUsize,
    /// Harts that must flush its ASID before they use it again (set by shootdowns).
    stale: AtomicUsize,
}

impl TlbCtx {
    /// The bookkeeping of a new address space whose root table is at `root`.
    pub const fn new(root: usize) -> TlbCtx {
        TlbCtx { root, ctx: AtomicU64::new(0), ran_on: AtomicUsize::new(0), stale: AtomicUsize::new(0) }
    }

    /// Physical address of the root table.
    #[inline(always)]
    pub fn root(&self) -> usize {
        self.root
    }
}

/// True when address spaces run under their own ASIDs (set once all harts are up).
static ASIDS_ON: AtomicBool = AtomicBool::new(false);
/// The ASID width every hart implements (the smallest seen); `u32::MAX` until the boot hart
/// looked.
static ASID_HW_BITS: AtomicU32 = AtomicU32::new(u32::MAX);
/// The allocator (a leaf lock: nothing is locked under it).
static ASIDS: Mutex<asid::AsidAlloc> = Mutex::new(asid::AsidAlloc::new());
/// The allocator's current generation, read without its lock.
static ASID_GEN: AtomicU64 = AtomicU64::new(0);
/// Generations started (rollovers), for `velox.counters`.
static ASID_ROLLOVERS: AtomicU64 = AtomicU64::new(0);
/// Fewer ASIDs than this (2^bits - 1 besides the kernel's) and they are not used: every
/// switch would roll over (Linux wants more than twice the CPUs too).
const ASID_MIN_BITS: u32 = 5;

/// Note this hart's ASID width (each hart, with the kernel's table loaded, before it runs
/// user code): the kernel uses the narrowest.
pub fn probe_asid_bits() {
    ASID_HW_BITS.fetch_min(hal::cpu::detect_asid_bits(), Ordering::Relaxed);
}

/// Print the TLB counters (`velox.counters`).
pub fn print_tlb_counters() {
    let s: [u64; 4] = core::array::from_fn(|k| HARTS.iter().map(|h| h.asid_stats[k].load(Ordering::Relaxed)).sum());
    hal::println!(
        "[velox] tlb: shootdowns {} (slept {}); ASID switches: full flush {}, stale {}, first {}, no flush {}; rollovers {}",
        SHOOTDOWNS.load(Ordering::Relaxed),
        SLEEPS.load(Ordering::Relaxed),
        s[0],
        s[1],
        s[2],
        s[3],
        ASID_ROLLOVERS.load(Ordering::Relaxed)
    );
}

/// Turn ASIDs on if every hart has enough bits (after the secondaries are up, before any
/// address space is loaded). `cap` (the `velox.asid_bits=N` boot option) uses at most N bits,
/// however few: a test of rollovers.
pub fn init_asids(cap: Option<u32>) {
    let hw = ASID_HW_BITS.load(Ordering::Relaxed);
    let hw = if hw == u32::MAX { 0 } else { hw };
    let bits = match cap {
        Some(c) => hw.min(c),
        None if hw >= ASID_MIN_BITS => hw,
        None => 0,
    };
    let mut a = ASIDS.lock();
    a.set_bits(bits);
    ASID_GEN.store(a.generation(), Ordering::Relaxed);
    ASIDS_ON.store(a.enabled(), Ordering::Release);
}

/// ASID bits in use (0: off) and implemented (by the narrowest hart).
pub fn asid_bits() -> (u32, u32) {
    let max = ASIDS.lock().max();
    let hw = ASID_HW_BITS.load(Ordering::Relaxed);
    (usize::BITS - max.leading_zeros(), if hw == u32::MAX { 0 } else { hw })
}

/// The context `tlb` runs with: its own if of the current generation, else a new one.
#[inline]
fn asid_of(tlb: &TlbCtx) -> u64 {
    let ctx = tlb.ctx.load(Ordering::Relaxed);
    if asid::ctx_gen(ctx) == ASID_GEN.load(Ordering::Relaxed) {
        return ctx;
    }
    let mut a = ASIDS.lock();
    // (Read again under the lock: another hart may have given it one meanwhile.)
    let got = a.get(tlb.ctx.load(Ordering::Relaxed));
    tlb.ctx.store(got.ctx, Ordering::Relaxed);
    if got.rolled {
        ASID_GEN.store(a.generation(), Ordering::Relaxed);
        ASID_ROLLOVERS.fetch_add(1, Ordering::Relaxed);
    }
    got.ctx
}

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
    let root = mm.root();
    if h.satp_root.load(Ordering::Relaxed) == root {
        return;
    }
    let mut slot = h.loaded.lock();
    h.satp_root.store(root, Ordering::Relaxed);
    if ASIDS_ON.load(Ordering::Relaxed) {
        let tlb = mm.tlb();
        let bit = 1usize << h.index;
        // (A bit once set stays set: no AMO on later loads.)
        let first = tlb.ran_on.load(Ordering::Relaxed) & bit == 0;
        if first {
            tlb.ran_on.fetch_or(bit, Ordering::Relaxed);
        }
        // Publish satp_root and ran_on before looking at the stale bits (see flush_tlb_mm).
        fence(Ordering::SeqCst);
        let stale = tlb.stale.load(Ordering::Relaxed) & bit != 0;
        if stale {
            tlb.stale.fetch_and(!bit, Ordering::Relaxed);
        }
        let ctx = asid_of(tlb);
        let generation = asid::ctx_gen(ctx);
        let flush = if h.asid_gen.load(Ordering::Relaxed) != generation {
            // First use of this generation here: entries of its ASIDs cached under earlier
            // generations (other spaces then) go. (A hart that goes back to an older
            // generation, its space not having been moved yet, flushes each time: correct.)
            h.asid_gen.store(generation, Ordering::Relaxed);
            hal::cpu::TlbFlush::All
        } else if stale || first {
            hal::cpu::TlbFlush::Asid
        } else {
            hal::cpu::TlbFlush::None
        };
        let k = match flush {
            hal::cpu::TlbFlush::All => 0,
            hal::cpu::TlbFlush::Asid if stale => 1,
            hal::cpu::TlbFlush::Asid => 2,
            hal::cpu::TlbFlush::None => 3,
        };
        // (Only this hart writes its counters: a load and a store, no AMO.)
        h.asid_stats[k].store(h.asid_stats[k].load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        #[allow(unsafe_code)]
        // SAFETY: every address space's root shares the kernel table's upper half (copied in
        // `AddrSpace::new`, all global entries), so the kernel stays mapped. The ASID is this
        // space's alone in its generation; this hart's entries under it are this space's,
        // cached since its last full flush at this generation, and still allowed unless a
        // shootdown marked them stale (then they go).
        unsafe {
            hal::cpu::switch_page_table(root, asid::ctx_asid(ctx), flush)
        };
    } else {
        fence(Ordering::SeqCst);
        crate::mm::aspace::switch_to(root);
    }
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
    switch_to_kernel_table(h, &slot);
    drop(slot.take()); // (under the lock: see load_mm)
}

/// Load the kernel's table in `satp` and say so in `satp_root`, under `h`'s `loaded` lock
/// (`_slot`). With ASIDs, no flush: the user space's entries stay tagged with its ASID (its
/// `ran_on` bit for this hart is set, so a shootdown meanwhile sets this hart's stale bit and
/// the next `load_mm` of it flushes). The store comes after the switch, so a shootdown that
/// reads 0 here no longer needs this hart's answer (see `flush_tlb_mm`).
fn switch_to_kernel_table(h: &Hart, _slot: &velox_exec::sync::MutexGuard<'_, Option<Arc<Mm>>>) {
    if ASIDS_ON.load(Ordering::Relaxed) {
        #[allow(unsafe_code)]
        // SAFETY: the kernel's table maps the kernel as every user table's upper half does,
        // and ASID 0 tags only its global entries: nothing of the user space is reachable
        // under it.
        unsafe {
            hal::cpu::switch_page_table(crate::mm::kernel_page_table().root(), 0, hal::cpu::TlbFlush::None)
        };
    } else {
        crate::mm::activate_kernel_table();
    }
    h.satp_root.store(0, Ordering::Relaxed);
}

/// Before this hart sleeps in `wfi` in the middle of a task (waiting for a lock or for
/// shootdown answers): switch to the kernel's table, keeping the address space (the slot's
/// reference), so that shootdowns of that space meanwhile mark this hart stale (its `ran_on`
/// bit) instead of sending it an IPI and waiting for a halted hart to wake up (under
/// multi-threaded TCG, a host thread's wake-up: tens of microseconds, often with the
/// requester holding the address space's lock). False if no user table was loaded.
/// [`wake_reload`] loads it again before the task touches user memory; nothing runs on this
/// hart in between but the wait itself.
#[inline(never)]
fn sleep_unload() -> bool {
    let h = this();
    if h.satp_root.load(Ordering::Relaxed) == 0 {
        return false;
    }
    // (try_lock: the slot may be held by this very hart, around an address space's teardown.)
    let Some(slot) = h.loaded.try_lock() else { return false };
    switch_to_kernel_table(h, &slot);
    true
}

/// After [`sleep_unload`]'s wait: load the address space the hart kept (flushing its ASID if
/// a shootdown marked it stale meanwhile).
#[inline(never)]
fn wake_reload() {
    let mm = this().loaded.lock().clone();
    if let Some(mm) = mm {
        load_mm(&mm);
    }
    // A membarrier(SYNC_CORE) of the process skipped this hart while it slept (no table
    // loaded): serialise the instruction stream as its IPI would have.
    hal::cpu::fence_i();
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

/// A spin lock whose waiters sleep in `wfi` after [`SLEEP_LOCK_TURNS`] turns, until the
/// release's IPI: for short locks that several harts hammer (a pipe's ring, with many
/// writers), where a holder whose vCPU the host is not running would keep every waiter
/// spinning. Its release costs a fence and a load more than `Mutex`'s; used only where
/// measured to pay (see docs/smp.md, Locks).
pub struct SleepLock<T> {
    m: Mutex<T>,
    /// Harts asleep (or about to be) waiting for the lock.
    sleepers: AtomicUsize,
}

/// Turns of spinning before a [`SleepLock`] waiter sleeps.
pub const SLEEP_LOCK_TURNS: u32 = 100;

/// A held [`SleepLock`].
pub struct SleepGuard<'a, T> {
    l: &'a SleepLock<T>,
    g: core::mem::ManuallyDrop<velox_exec::sync::MutexGuard<'a, T>>,
}

impl<T> SleepLock<T> {
    pub const fn new(v: T) -> SleepLock<T> {
        SleepLock { m: Mutex::new(v), sleepers: AtomicUsize::new(0) }
    }

    /// Take the lock, waiting (spinning, then asleep) while another hart holds it.
    #[inline(always)]
    pub fn lock(&self) -> SleepGuard<'_, T> {
        match self.m.try_lock() {
            Some(g) => SleepGuard { l: self, g: core::mem::ManuallyDrop::new(g) },
            None => self.lock_slow(),
        }
    }

    #[cold]
    #[inline(never)]
    fn lock_slow(&self) -> SleepGuard<'_, T> {
        let bit = 1usize << me();
        let mut slept = false;
        let g = 'got: loop {
            for _ in 0..SLEEP_LOCK_TURNS {
                if !self.m.is_locked()
                    && let Some(g) = self.m.try_lock()
                {
                    break 'got g;
                }
                velox_exec::sync::relax();
            }
            // Announce, then look again: a release after the announcement sends the IPI
            // (its fence and ours: one of the two sees the other's store), one before it left
            // the lock free for this look.
            self.sleepers.fetch_or(bit, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            if let Some(g) = self.m.try_lock() {
                break 'got g;
            }
            // (Interrupts stay off; the timer is masked: a passed deadline would end every
            // wfi at once. Other harts' requests are answered after each wake-up.)
            let unloaded = sleep_unload();
            hal::cpu::wait_for_interrupt_not_timer();
            if unloaded {
                wake_reload();
            }
            hal::cpu::clear_soft_interrupt();
            slept = true;
            service();
        };
        self.sleepers.fetch_and(!bit, Ordering::Relaxed);
        if slept {
            // An IPI cleared above may have carried more than the wake-up: let the trap path
            // see it too (as `Waiter` does).
            hal::cpu::raise_soft_interrupt();
        }
        SleepGuard { l: self, g: core::mem::ManuallyDrop::new(g) }
    }
}

impl<T> core::ops::Deref for SleepGuard<'_, T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        &self.g
    }
}

impl<T> core::ops::DerefMut for SleepGuard<'_, T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.g
    }
}

impl<T> Drop for SleepGuard<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        #[allow(unsafe_code)]
        // SAFETY: the inner guard is dropped here once, and never used after.
        unsafe { core::mem::ManuallyDrop::drop(&mut self.g) };
        // Order the unlock before the look at the sleepers (the store-buffering pair with
        // `lock_slow`'s announcement).
        fence(Ordering::SeqCst);
        if self.l.sleepers.load(Ordering::Relaxed) != 0 {
            wake_sleepers(&self.l.sleepers);
        }
    }
}

/// Wake the harts asleep on a [`SleepLock`] (out of line: rare).
#[cold]
#[inline(never)]
fn wake_sleepers(sleepers: &AtomicUsize) {
    let harts = sleepers.swap(0, Ordering::AcqRel);
    if harts != 0 {
        send_ipi(harts);
    }
}
