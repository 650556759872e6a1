//! A user address space: a Sv39 page table plus VM areas, with lazy zero-fill page faults.

use super::filemap::{FileMap, Got};
use super::{KernelPhys, alloc_frame, alloc_frame_zeroed, frame_refs, free_frame, share_frame};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use crate::config;
use crate::smp::TlbCtx;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use linux_raw_sys::errno;
use velox_exec::sync::MutexGuard;
use velox_hal as hal;
use velox_mm::pt::{PageTable, PhysMem, PteFlags, make_pte, pte_addr, pte_flags as flags_of};
use velox_mm::vma::{Backing, Prot, Vma, VmaMap};
use velox_mm::{PAGE_SIZE, page_ceil, page_floor};

/// How a page was accessed when it faulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Exec,
}

static NEXT_MM_ID: AtomicUsize = AtomicUsize::new(1);
/// Unmaps at least this large free the page tables they emptied.
const PRUNE_MIN: usize = 64 * PAGE_SIZE;

/// A user address space as threads share it (CLONE_VM): a unique id (for futex keys) and the
/// space behind a lock. Freed when the last thread using it lets go, and no hart has it loaded.
pub struct Mm {
    pub id: usize,
    /// Root page-table frame (fixed for the life of the address space), ASID and the harts
    /// that may cache its translations (shared with the `AddrSpace`).
    tlb: Arc<TlbCtx>,
    pub space: SpaceLock,
    /// Threads using it. When the last one lets go, the address space is dead: only harts
    /// that still have it loaded keep it (see `smp::load_mm`) until they load another.
    users: AtomicUsize,
    /// membarrier(2) registrations of the process(es) running in it (`MEMBARRIER_CMD_REGISTER_*`
    /// bits, as Linux keeps them per mm: a fork inherits them through `AddrSpace::membarrier`,
    /// an execve starts without any).
    pub membarrier: core::sync::atomic::AtomicU32,
}

/// Dead address spaces not yet freed (their memory is on its way back: the OOM killer waits
/// for it instead of taking another victim). Counted down when their frames are free.
pub static DEAD_MMS: AtomicUsize = AtomicUsize::new(0);

impl Mm {
    /// Wrap an address space.
    pub fn new(space: AddrSpace) -> Mm {
        Mm {
            id: NEXT_MM_ID.fetch_add(1, Ordering::Relaxed),
            tlb: space.tlb.clone(),
            users: AtomicUsize::new(0),
            membarrier: core::sync::atomic::AtomicU32::new(space.membarrier),
            space: SpaceLock::new(space),
        }
    }

    /// A thread starts using this address space.
    pub fn attach(&self) {
        self.users.fetch_add(1, Ordering::Relaxed);
    }

    /// Threads using it.
    pub fn users(&self) -> usize {
        self.users.load(Ordering::Acquire)
    }

    /// True once no thread uses it (only harts that have it loaded keep it).
    pub fn is_dead(&self) -> bool {
        self.users.load(Ordering::Acquire) == 0
    }

    /// A thread stops using it; the last one marks it dead (see [`DEAD_MMS`]).
    pub fn detach(&self) {
        if self.users.fetch_sub(1, Ordering::AcqRel) == 1 {
            DEAD_MMS.fetch_add(1, Ordering::SeqCst);
            // The executable may be written again once no thread runs it (ETXTBSY): now, not
            // when a hart that still has the space loaded lets go of it. (Dropped after the lock.)
            let exe = {
                let mut a = self.space.lock();
                a.dead = true;
                a.exe.take()
            };
            drop(exe);
            // Harts that have it loaded (idle ones included) let go of it now, so its memory
            // comes back without waiting for them to load something else.
            crate::smp::reclaim_root(self.tlb.root());
        }
    }

    /// Physical address of the root page table.
    #[inline(always)]
    pub fn root(&self) -> usize {
        self.tlb.root()
    }

    /// Its TLB bookkeeping (ASID, harts that ran it).
    #[inline(always)]
    pub fn tlb(&self) -> &TlbCtx {
        &self.tlb
    }
}

/// The lock of an address space. A spin lock that knows which hart holds it (a fault in a
/// kernel copy must not wait for a lock its own hart holds) and lets async code park instead
/// of spinning while another hart holds it for long (fork copies a whole page table under it).
/// Besides the one exclusive holder, it admits any number of **zero-fill faults** at once
/// ([`SpaceLock::fault_shared`]): they only read the area map and the tables and fill empty
/// leaf entries with a compare-and-swap, so threads of one process faulting pages in on
/// different harts do not wait for each other.
pub struct SpaceLock {
    /// `WRITER` while held exclusively, else the number of shared faults in progress.
    state: AtomicU32,
    space: UnsafeCell<AddrSpace>,
    /// 1 + index of the holding hart (exclusive holds only); 0 when free.
    owner: AtomicUsize,
    /// Tasks parked until the lock is released.
    waiters: crate::exec::WaitQueue,
    parked: core::sync::atomic::AtomicBool,
    /// The holder keeps it for long (a fork copying the table): waiters park at once.
    long: core::sync::atomic::AtomicBool,
    /// Harts (bit = index) asleep in `wfi` in [`SpaceLock::lock`] until it is released.
    sleepers: AtomicUsize,
}

/// `SpaceLock::state` while held exclusively.
const WRITER: u32 = 1 << 31;

/// How long `lock_async` spins before it parks, in timer ticks (`LOCK_ASYNC_SPIN_NS`, set at
/// boot): a page fault holds the lock about a microsecond under QEMU; longer spins cost
/// instructions on every wait for a longer hold.
pub static LOCK_ASYNC_SPIN_TICKS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
/// `LOCK_ASYNC_SPIN_TICKS` in nanoseconds.
pub const LOCK_ASYNC_SPIN_NS: u64 = 2_000;

// SAFETY: the address space is reached only through an exclusive `SpaceGuard` (one at a time,
// `state` == WRITER) or by `fault_shared`, which only reads it and fills empty page-table
// entries atomically, while `state` counts it and excludes the exclusive holder; so sharing
// the lock is as sound as sharing a `Mutex<AddrSpace>`.
#[allow(unsafe_code)]
unsafe impl Sync for SpaceLock {}
// SAFETY: moving the lock moves the address space with it.
#[allow(unsafe_code)]
unsafe impl Send for SpaceLock {}

/// The locked address space; releases the lock (and wakes parked tasks) when dropped.
pub struct SpaceGuard<'a> {
    l: &'a SpaceLock,
}

impl SpaceLock {
    fn new(a: AddrSpace) -> Self {
        SpaceLock {
            state: AtomicU32::new(0),
            space: UnsafeCell::new(a),
            owner: AtomicUsize::new(0),
            waiters: crate::exec::WaitQueue::new(),
            parked: core::sync::atomic::AtomicBool::new(false),
            long: core::sync::atomic::AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
        }
    }

    /// True if anyone holds the lock (exclusively or for shared faults): a hint.
    #[inline(always)]
    fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) != 0
    }

    /// Wait until the lock is free, for code that cannot park (a fault in a kernel copy to
    /// user memory, the last thread's exit): spin a while (answering other harts' requests),
    /// then sleep in `wfi` until the holder's release sends an IPI: another hart may hold it
    /// for a whole fork.
    pub fn lock(&self) -> SpaceGuard<'_> {
        match self.try_lock() {
            Some(g) => g,
            None => self.lock_slow(),
        }
    }

    #[cold]
    #[inline(never)]
    fn lock_slow(&self) -> SpaceGuard<'_> {
        let bit = 1usize << crate::smp::me();
        let mut w = crate::smp::Waiter::new();
        let mut announced = false;
        let g = loop {
            if !self.is_locked() {
                if let Some(g) = self.try_lock() {
                    break g;
                }
            }
            if w.spin() {
                continue;
            }
            // Announce (as `lock_async` does, plus this hart's bit), then look again: a
            // release after the flag is up sends the IPI; one before it left the lock free.
            self.sleepers.fetch_or(bit, Ordering::SeqCst);
            self.parked.store(true, Ordering::SeqCst);
            core::sync::atomic::fence(Ordering::SeqCst);
            announced = true;
            if !self.is_locked() {
                if let Some(g) = self.try_lock() {
                    break g;
                }
            }
            w.sleep();
        };
        if announced {
            // (If not woken, the bit is still up: no IPI to this hart at the next release.)
            self.sleepers.fetch_and(!bit, Ordering::Relaxed);
        }
        g
    }

    /// Take the lock if it is free.
    #[inline]
    pub fn try_lock(&self) -> Option<SpaceGuard<'_>> {
        if self.state.compare_exchange(0, WRITER, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return None;
        }
        self.owner.store(crate::smp::me() + 1, Ordering::Relaxed);
        Some(SpaceGuard { l: self })
    }

    /// Resolve a fault at `addr` that needs a fresh zero-filled page in a private anonymous
    /// area (the common fault of threads touching new memory) without excluding other such
    /// faults: `Some(true)` if the page is now mapped (or another hart mapped it meanwhile),
    /// `None` if this is not such a fault or the lock is held exclusively (the caller goes
    /// on as before, with [`try_lock`](Self::try_lock)). For the trap fast path: no waiting.
    pub fn fault_shared(&self, addr: usize, access: Access) -> Option<bool> {
        let s = self.state.load(Ordering::Relaxed);
        // (Nor while someone waits for the lock, parked or asleep: shared faults arriving
        // back to back on other harts must not keep an exclusive holder out for ever.)
        if s & WRITER != 0
            || self.parked.load(Ordering::Relaxed)
            || self.state.compare_exchange(s, s + 1, Ordering::Acquire, Ordering::Relaxed).is_err()
        {
            return None;
        }
        #[allow(unsafe_code)]
        // SAFETY: the count excludes the exclusive holder until it drops; shared faults only
        // read the space, and write only empty leaf entries, with a compare-and-swap.
        let a = unsafe { &*self.space.get() };
        let r = a.fault_shared(addr, access);
        // (SeqCst, then the flag: pairs with the waiters' store and fence, as in
        // `SpaceGuard::drop`. Only the last reader wakes them: an earlier wake-up would lower
        // the flag while the lock is still held, and let new readers in ahead of them.)
        if self.state.fetch_sub(1, Ordering::SeqCst) == 1 && self.parked.load(Ordering::SeqCst) {
            self.wake_waiters();
        }
        r
    }

    /// Wake the parked tasks and sleeping harts (after a release that saw `parked`).
    #[cold]
    fn wake_waiters(&self) {
        if self.parked.swap(false, Ordering::SeqCst) {
            self.waiters.wake_all();
            let harts = self.sleepers.swap(0, Ordering::AcqRel);
            if harts != 0 {
                crate::smp::send_ipi(harts);
            }
        }
    }

    /// True if this hart holds the lock.
    pub fn held_here(&self) -> bool {
        self.owner.load(Ordering::Relaxed) == crate::smp::me() + 1
    }

    /// Wait for the lock: spin for the spin time while another hart holds it (most holders,
    /// a page fault there, let go within a microsecond; a parked task costs a wake-up,
    /// often an IPI to a hart asleep in `wfi`), then park until the holder releases it
    /// (a fork copying the whole table).
    pub async fn lock_async(&self) -> SpaceGuard<'_> {
        if let Some(g) = self.try_lock_spinning() {
            return g;
        }
        core::future::poll_fn(|cx| {
            if let Some(g) = self.try_lock() {
                return core::task::Poll::Ready(g);
            }
            // Register, then raise the flag, then look again: a release after the flag is up
            // wakes us; one before it left the lock free for the second look.
            self.waiters.register(cx);
            self.parked.store(true, Ordering::SeqCst);
            // (Full fence: the flag must be visible before the lock is looked at again, as
            // the releaser's fence orders its unlock before it looks at the flag.)
            core::sync::atomic::fence(Ordering::SeqCst);
            match self.try_lock() {
                Some(g) => core::task::Poll::Ready(g),
                None => core::task::Poll::Pending,
            }
        })
        .await
    }

    /// Take the lock, spinning at most the spin time while another hart holds it. (Out of
    /// line: inlined into every `lock_async`, it made the compiler stop inlining other
    /// functions into their callers: `Thread::new` into clone, +5 % on thread_create.)
    #[inline(never)]
    fn try_lock_spinning(&self) -> Option<SpaceGuard<'_>> {
        if let Some(g) = self.try_lock() {
            return Some(g);
        }
        let t0 = hal::cpu::time();
        let budget = LOCK_ASYNC_SPIN_TICKS.load(Ordering::Relaxed);
        while hal::cpu::time() - t0 < budget {
            velox_exec::sync::relax();
            if self.long.load(Ordering::Relaxed) || self.owner.load(Ordering::Relaxed) == crate::smp::me() + 1 {
                return None;
            }
            if !self.is_locked() {
                if let Some(g) = self.try_lock() {
                    return Some(g);
                }
            }
        }
        None
    }

    /// Park until the lock is (momentarily) free, without taking it.
    pub async fn wait_unlocked(&self) {
        drop(self.lock_async().await);
    }
}

impl core::ops::Deref for SpaceGuard<'_> {
    type Target = AddrSpace;
    #[inline(always)]
    fn deref(&self) -> &AddrSpace {
        #[allow(unsafe_code)]
        // SAFETY: the guard exists only while its holder has the lock exclusively (`state` ==
        // WRITER: no shared fault runs either), so nothing else reaches the space.
        unsafe {
            &*self.l.space.get()
        }
    }
}

impl core::ops::DerefMut for SpaceGuard<'_> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut AddrSpace {
        #[allow(unsafe_code)]
        // SAFETY: as in `deref`, and the guard is borrowed mutably: the only reference.
        unsafe {
            &mut *self.l.space.get()
        }
    }
}

impl SpaceGuard<'_> {
    /// Tell waiters this hold is long (a fork's copy): they park instead of spinning.
    pub fn mark_long(&self) {
        self.l.long.store(true, Ordering::Relaxed);
    }
}

impl Drop for SpaceGuard<'_> {
    fn drop(&mut self) {
        self.l.owner.store(0, Ordering::Relaxed);
        self.l.long.store(false, Ordering::Relaxed);
        // Waiters raise the flag after registering: lower it, then wake everyone registered
        // (one that registers later raises it again for the next release, or finds the lock free).
        // (A sequentially consistent swap orders the unlock before the look at the flag:
        // with plain loads both sides could miss each other's store.)
        self.l.state.store(0, Ordering::SeqCst);
        if self.l.parked.swap(false, Ordering::SeqCst) {
            self.l.waiters.wake_all();
            let harts = self.l.sleepers.swap(0, Ordering::AcqRel);
            if harts != 0 {
                crate::smp::send_ipi(harts);
            }
        }
    }
}

/// One process's user memory.
pub struct AddrSpace {
    pt: PageTable,
    /// The TLB bookkeeping of `pt` (what shootdowns need; shared with the `Mm`).
    tlb: Arc<TlbCtx>,
    pub vmas: VmaMap,
    /// Start of the heap (end of the loaded image, page aligned).
    pub brk_start: usize,
    /// Current program break.
    pub brk: usize,
    /// Lowest address mmap placed an area at (where the next top-down search starts).
    mmap_low: usize,
    /// Counted in [`DEAD_MMS`] (its last thread is gone).
    dead: bool,
    /// File mappings by the `id` of their areas' `Backing::File` (shared with forked copies).
    files: BTreeMap<u32, Arc<FileMap>>,
    next_file_id: u32,
    /// The executable image it runs, kept from being written while it does (execve sets it;
    /// fork copies it; ETXTBSY, `fs::writecount`).
    pub exe: Option<crate::fs::writecount::DenyWrite>,
    /// The membarrier registrations a copy made by fork starts with (kept equal to
    /// `Mm::membarrier` by the registering call).
    pub membarrier: u32,
}

/// The result of resolving a page fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The page now allows the access: retry it.
    Mapped,
    /// No area, or the area's rights forbid the access: SIGSEGV (EFAULT for a kernel copy).
    Denied,
    /// The access is allowed but no frame could be had.
    NoMemory,
    /// Resolving needs other harts to flush their TLBs, which the trap fast path does not
    /// wait for, or a file's lock that is held: take the slow path / try again.
    Busy,
    /// A file mapping's page past the end of the file: SIGBUS (EFAULT for a kernel copy).
    Bus,
}

/// Leaf flags for a page of an area with rights `p`.
///
/// PROT_NONE keeps its frame under an entry that faults on *every* access, from user mode
/// and from the kernel alike: W without R, which the Sv39 walk defines as a page fault
/// ("pte.r = 0 and pte.w = 1: raise a page-fault exception"). (An entry with no R/W/X bits
/// would be a page-table pointer; a supervisor-only readable entry would let the kernel's
/// user copies through it, with SUM set or not.) Write implies read, as on Linux.
fn pte_flags(p: Prot) -> PteFlags {
    if p.0 & 7 == 0 {
        return PteFlags::W | PteFlags::A | PteFlags::D;
    }
    let mut f = PteFlags::U | PteFlags::A | PteFlags::D;
    if p.read() {
        f |= PteFlags::R;
    }
    if p.write() {
        f |= PteFlags::W | PteFlags::R;
    }
    if p.exec() {
        f |= PteFlags::X;
    }
    f
}

/// Flags of a leaf that stays shared copy-on-write: read-only, but a PROT_NONE leaf keeps its
/// always-fault encoding (removing W from it would make it a table pointer).
fn cow_flags(flags: PteFlags) -> PteFlags {
    if flags.intersects(PteFlags::R | PteFlags::X) { (flags - PteFlags::W) | PteFlags::COW } else { flags | PteFlags::COW }
}

/// True if a leaf with `f` lets user mode (and the kernel's user copies) make `access`.
fn allows(f: PteFlags, access: Access) -> bool {
    match access {
        Access::Read => f.contains(PteFlags::R),
        Access::Write => f.contains(PteFlags::R | PteFlags::W) && !f.contains(PteFlags::COW),
        Access::Exec => f.contains(PteFlags::X),
    }
}

/// Frames (or page tables) taken out of an address space, freed only once every hart that has
/// it loaded flushed its TLB: until then another hart may still reach them through a stale
/// entry, and the frame allocator is global (another process could be handed them). A full
/// batch is flushed and freed on the spot, so a huge unmap costs one shootdown per batch. The
/// batch lives in the hart's record (no 512-byte array to zero on every unmap).
struct Deferred<'a> {
    tlb: &'a TlbCtx,
    items: MutexGuard<'static, [usize; crate::smp::DEFER_BATCH]>,
    n: usize,
    tables: bool,
}

impl<'a> Deferred<'a> {
    fn new(tlb: &'a TlbCtx, tables: bool) -> Self {
        let h = crate::smp::this();
        // (Only this hart uses its buffers, one unmap at a time: never contended.)
        let items = if tables { h.defer_tables.lock() } else { h.defer_frames.lock() };
        Deferred { tlb, items, n: 0, tables }
    }

    /// Queue `pa`, whose entry the caller's walk is clearing: a full batch first frees what
    /// was queued before (entries already cleared), then takes `pa`.
    fn push(&mut self, pa: usize) {
        if self.n == self.items.len() {
            self.flush();
        }
        self.items[self.n] = pa;
        self.n += 1;
    }

    /// Shoot down, then free everything queued.
    fn flush(&mut self) {
        if self.n == 0 {
            return;
        }
        crate::smp::flush_tlb_mm(self.tlb);
        if !self.tables {
            super::free_frames(&self.items[..self.n]);
            self.n = 0;
            return;
        }
        for &pa in &self.items[..self.n] {
            #[allow(unsafe_code)]
            // SAFETY: queued by `DeferPhys::free_table`, whose caller guaranteed nothing
            // points to the table any more; no hart's TLB does either now.
            unsafe {
                KernelPhys.free_table(pa)
            };
        }
        self.n = 0;
    }
}

impl Drop for Deferred<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// The kernel's physical memory, with table frees deferred until after a shootdown (prune).
struct DeferPhys<'a, 'b>(&'a mut Deferred<'b>);

impl PhysMem for DeferPhys<'_, '_> {
    fn read_pte(&self, table: usize, idx: usize) -> u64 {
        KernelPhys.read_pte(table, idx)
    }
    #[allow(unsafe_code)]
    unsafe fn write_pte(&mut self, table: usize, idx: usize, pte: u64) {
        // SAFETY: forwarded with the caller's guarantee.
        unsafe { KernelPhys.write_pte(table, idx, pte) }
    }
    fn alloc_table(&mut self) -> Option<usize> {
        KernelPhys.alloc_table()
    }
    #[allow(unsafe_code)]
    unsafe fn free_table(&mut self, table: usize) {
        self.0.push(table);
    }
    fn leaf_ok(&self, pa: usize, size: usize) -> bool {
        KernelPhys.leaf_ok(pa, size)
    }
    fn next_valid(&self, table: usize, from: usize) -> usize {
        KernelPhys.next_valid(table, from)
    }
}

/// What mremap may do besides resizing in place (its flags and new_address).
#[derive(Debug, Clone, Copy)]
pub struct Remap {
    /// MREMAP_MAYMOVE.
    pub may_move: bool,
    /// MREMAP_FIXED: move to `new_addr`, replacing what is there.
    pub fixed: bool,
    /// MREMAP_DONTUNMAP: move, leaving the old range mapped (and empty).
    pub dontunmap: bool,
    pub new_addr: usize,
}

/// True for the vDSO's areas ([vvar], [vdso]): fixed pages at a fixed place.
fn is_vdso(v: &Vma) -> bool {
    v.backing == Backing::Eager && v.start >= config::VVAR_ADDR && v.start < config::USER_STACK_TOP - config::USER_STACK_SIZE
}

/// Linux's data_vm: private writable memory (RLIMIT_DATA).
pub fn is_data(v: &Vma) -> bool {
    matches!(v.backing, Backing::Anon | Backing::File { shared: false, .. }) && v.prot.write()
}

/// Most areas an address space may have (Linux's default vm.max_map_count).
pub const MAX_MAP_COUNT: usize = 65530;

impl AddrSpace {
    /// An empty address space sharing the kernel half. `None` when out of memory.
    pub fn new() -> Option<Self> {
        let mut m = KernelPhys;
        let pt = PageTable::new(&mut m)?;
        #[allow(unsafe_code)]
        // SAFETY: the kernel's table, whose upper half never changes after boot, is what
        // every address space shares; `pt` is ours, fresh.
        unsafe {
            pt.share_root_entries(&mut m, &super::kernel_page_table(), 256..512)
        };
        let tlb = Arc::new(TlbCtx::new(pt.root()));
        Some(AddrSpace { pt, tlb, vmas: VmaMap::new(), brk_start: 0, brk: 0, mmap_low: config::MMAP_TOP, dead: false, files: BTreeMap::new(), next_file_id: 1, exe: None, membarrier: 0 })
    }

    /// Resolve a fault at `addr`. `Mapped` only if the page now allows the access, so a retry
    /// cannot fault the same way again (no retry loops). Runs on the trap fast path: zero-fill
    /// of untouched pages and copy-on-write copies.
    pub fn handle_fault(&mut self, addr: usize, access: Access) -> Fault {
        self.handle_fault_in(addr, access, true)
    }

    /// As [`handle_fault`](Self::handle_fault) for the trap fast path: a change to an entry
    /// another hart may have cached (copy-on-write, a fixed entry) answers `Busy` instead of
    /// waiting for a shootdown.
    ///
    /// A page it maps where none was, or makes writable in place (a copy-on-write page nobody
    /// else maps), gets no `sfence.vma`: rights only grow, and a hart that cached the old
    /// invalid or read-only entry faults once more, finds the page mapped and flushes its
    /// entry then (the "mapped already" case; Linux does the same on harts with Svvptc, and
    /// fixes such spurious faults up the same way). QEMU never caches a failed walk, but
    /// its `sfence.vma` empties the hart's whole software TLB, so every later kernel and
    /// user access refills it: skipping it shortens the fault, and the time the address
    /// space's lock is held, for other harts faulting in the same space.
    pub fn handle_fault_fast(&mut self, addr: usize, access: Access) -> Fault {
        self.handle_fault_in(addr, access, false)
    }

    /// The shared part of [`SpaceLock::fault_shared`]: a page of a private anonymous area
    /// that has no entry yet, whose leaf table exists, gets a zeroed frame through a
    /// compare-and-swap of its empty entry (a hart that lost the race gives its frame
    /// back: the page is mapped either way). Anything else answers `None`.
    #[inline(never)]
    fn fault_shared(&self, addr: usize, access: Access) -> Option<bool> {
        // (The entry first: a copy-on-write fault, common after fork, leaves at once. Only an
        // entry of 0 is filled, as `fill_pte` compares against 0.)
        let va = page_floor(addr);
        let slot = self.pt.leaf_slot(&KernelPhys, va)?;
        if self.pt.slot_entry(&KernelPhys, slot) != 0 {
            return None;
        }
        let v = self.vmas.find_remembered(addr)?;
        let ok = match access {
            Access::Read => v.prot.read() || v.prot.write(),
            Access::Write => v.prot.write(),
            Access::Exec => false,
        };
        if !ok || v.backing != Backing::Anon || v.prot.exec() {
            return None;
        }
        let frame = super::take_zeroed_frame()?;
        match self.pt.fill_slot(&mut KernelPhys, slot, frame, pte_flags(v.prot)) {
            Ok(true) => Some(true),
            Ok(false) => {
                free_frame(frame);
                Some(true)
            }
            Err(_) => {
                free_frame(frame);
                None
            }
        }
    }

    fn handle_fault_in(&mut self, addr: usize, access: Access, may_wait: bool) -> Fault {
        // (Faults come in runs inside one area: the area map remembers the last one found.)
        let Some(v) = self.vmas.find_cached(addr) else {
            return Fault::Denied;
        };
        // As Linux on RISC-V: reads need PROT_READ or PROT_WRITE (an exec-only page is not
        // readable, by user loads or by the kernel's copies), writes PROT_WRITE, fetches PROT_EXEC.
        let ok = match access {
            Access::Read => v.prot.read() || v.prot.write(),
            Access::Write => v.prot.write(),
            Access::Exec => v.prot.exec(),
        };
        if !ok {
            return Fault::Denied;
        }
        let flags = pte_flags(v.prot);
        let va = page_floor(addr);
        // One walk finds the entry and, when it is empty, where the new page goes.
        let slot = self.pt.leaf_slot(&KernelPhys, va);
        let mapped = match slot {
            Some(s) => Some(self.pt.slot_entry(&KernelPhys, s)).filter(|e| e & PteFlags::V.bits() != 0).map(|e| (pte_addr(e), flags_of(e))),
            None => self.pt.translate(&KernelPhys, va),
        };
        if let Some((pa, f)) = mapped {
            let cow = access == Access::Write && f.contains(PteFlags::COW);
            // A copy-on-write page nobody else maps any more only gains rights: no shootdown,
            // so the fast path may take it too. (The count cannot rise while this space's lock
            // is held: only a fork or a mapping change of this space adds a mapper of its
            // private frames; the page cache and snapshots hold their own references.)
            let reuse = cow && frame_refs(pa) == 1;
            let changes = if cow { !reuse } else { !allows(f, access) };
            if changes && !may_wait && crate::smp::loaded_elsewhere(self.pt.root()) {
                return Fault::Busy;
            }
            if cow {
                return self.break_cow(va, pa, flags, reuse, may_wait);
            }
            if !allows(f, access) {
                // The entry disagrees with its area (should not happen): believe the area.
                let fixed = if f.contains(PteFlags::COW) { cow_flags(flags) } else { flags };
                self.pt.set_flags(&mut KernelPhys, va, fixed | PteFlags::V);
                self.flush_tlb();
                return if allows(fixed, access) { Fault::Mapped } else { Fault::Denied };
            }
            // Mapped already (another path raced us, or a stale TLB entry: the spurious fault
            // the fast path's skipped flush can cause on a hart that caches invalid entries,
            // see `handle_fault_fast`): flush this hart's entries of the space and retry. All
            // of them, not the page's alone: the stale entry may be a non-leaf one (a table
            // the fault added), which `sfence.vma va` need not drop. Rare.
            hal::cpu::flush_tlb_asid(hal::cpu::current_asid());
            return Fault::Mapped;
        }
        if let Backing::File { id, shared } = v.backing {
            let exec = v.prot.exec();
            return self.file_fault(va, id, shared, access, flags, exec);
        }
        // Shared anonymous memory has all its pages from mmap on: a page without one is where
        // mremap grew the area past the memory's size (Linux's shmem object): SIGBUS.
        if v.backing == Backing::Shared {
            return Fault::Bus;
        }
        let Some(frame) = super::take_zeroed_frame() else {
            return Fault::NoMemory;
        };
        let r = match slot {
            Some(s) => self.pt.map_slot(&mut KernelPhys, s, frame, flags),
            None => self.pt.map(&mut KernelPhys, va, frame, flags, 0),
        };
        if r.is_err() {
            free_frame(frame);
            return Fault::NoMemory;
        }
        if v.prot.exec() {
            hal::cpu::note_code_written();
        }
        if may_wait {
            hal::cpu::flush_tlb_page(va);
        }
        Fault::Mapped
    }

    /// A fault on an unmapped page of file mapping `id` (see `filemap`).
    fn file_fault(&mut self, va: usize, id: u32, shared: bool, access: Access, flags: PteFlags, exec: bool) -> Fault {
        let Some(fm) = self.files.get(&id).cloned() else {
            return Fault::Denied;
        };
        let (pa, leaf) = match fm.page(va) {
            Got::Frame(pa) if shared => (pa, flags),
            // A store into a private mapping: a private copy at once.
            Got::Frame(pa) if access == Access::Write => {
                let Some(new) = alloc_frame() else {
                    free_frame(pa);
                    return Fault::NoMemory;
                };
                hal::mem::copy_frame(new, pa);
                // (The copy before the entry: see `take_zeroed_frame`.)
                core::sync::atomic::fence(Ordering::Release);
                free_frame(pa);
                (new, flags)
            }
            // Else the file's frame, copy-on-write.
            Got::Frame(pa) => (pa, cow_flags(flags)),
            Got::Own(pa) => (pa, flags),
            Got::Bus => return Fault::Bus,
            Got::Busy => return Fault::Busy,
            Got::NoMemory => return Fault::NoMemory,
        };
        if self.pt.map(&mut KernelPhys, va, pa, leaf, 0).is_err() {
            free_frame(pa);
            return Fault::NoMemory;
        }
        if exec {
            hal::cpu::note_code_written();
        }
        hal::cpu::flush_tlb_page(va);
        Fault::Mapped
    }

    /// Give `va` (mapped copy-on-write to `pa`) a private writable frame: the same frame if
    /// nobody else maps it any more (`reuse`), else a copy (which waits for a shootdown: not
    /// without `may_wait` while other harts have the space loaded).
    fn break_cow(&mut self, va: usize, pa: usize, flags: PteFlags, reuse: bool, may_wait: bool) -> Fault {
        // The same frame made writable, in one entry write: a read-only entry of it that
        // another hart cached reads the same memory, and a store through it faults and finds
        // the page mapped (the "mapped already" case of `handle_fault_in`, which flushes that
        // hart's entry; the privileged spec allows such stale entries after rights grow). So
        // only this hart's entry goes: no shootdown.
        if reuse && self.pt.set_flags(&mut KernelPhys, va, flags) {
            if flags.contains(PteFlags::X) {
                hal::cpu::note_code_written();
            }
            if may_wait {
                hal::cpu::flush_tlb_page(va);
            }
            return Fault::Mapped;
        }
        if !may_wait && crate::smp::loaded_elsewhere(self.pt.root()) {
            return Fault::Busy;
        }
        let Some(new) = alloc_frame() else {
            return Fault::NoMemory;
        };
        hal::mem::copy_frame(new, pa);
        // (The copy before the entry: another hart's walk that sees it must read the copy.)
        core::sync::atomic::fence(Ordering::Release);
        // Same leaf, new frame and flags: no table can be needed, so this cannot fail.
        self.pt.unmap(&mut KernelPhys, va);
        let mapped = self.pt.map(&mut KernelPhys, va, new, flags, 0).is_ok();
        if mapped && flags.contains(PteFlags::X) {
            hal::cpu::note_code_written();
        }
        // Other harts running this address space may cache the read-only entry of the old
        // frame: they must not read it after this thread writes the new one. Our reference to
        // the old frame goes only after that (its other owner may free it at once).
        self.flush_tlb();
        free_frame(pa);
        if !mapped {
            free_frame(new);
            return Fault::NoMemory;
        }
        Fault::Mapped
    }

    /// Flush this address space's translations on every hart that has it loaded (and, with
    /// ASIDs, make the harts that ran it flush before they load it again).
    fn flush_tlb(&self) {
        crate::smp::flush_tlb_mm(&self.tlb);
    }

    /// A copy of this address space for fork: private pages become copy-on-write in both,
    /// shared areas map the same frames. `None` when memory runs out.
    pub fn fork(&mut self) -> Option<AddrSpace> {
        // The copied area map comes from the kernel heap (a B-tree entry is well under 96 bytes).
        if super::heap_free() < config::HEAP_RESERVE + self.vmas.len() * 96 {
            return None;
        }
        let mut child = AddrSpace::new()?;
        child.vmas = self.vmas.clone();
        child.brk_start = self.brk_start;
        child.brk = self.brk;
        child.mmap_low = self.mmap_low;
        child.files = self.files.clone();
        child.next_file_id = self.next_file_id;
        child.exe = self.exe.clone();
        child.membarrier = self.membarrier;
        let (vmas, cpt) = (&self.vmas, child.pt);
        // The area of the last page seen: leaves come in address order, so one look-up per area.
        let mut area: Option<Vma> = None;
        let r = self.pt.fork_leaves(&mut KernelPhys, &cpt, &mut |va, pte| {
            if !area.is_some_and(|v| v.start <= va && va < v.end) {
                area = vmas.find(va).copied();
            }
            let shared = area.is_some_and(|v| v.backing.is_shared());
            let f = flags_of(pte) - PteFlags::V;
            let new = make_pte(pte_addr(pte), if shared { f } else { cow_flags(f) } | PteFlags::V);
            share_frame(pte_addr(pte)).then_some((new, new))
        });
        // Writable entries became read-only: threads on other harts must not keep writing
        // through their old TLB entries into frames the child now shares.
        self.flush_tlb();
        // On failure the child holds (and its drop releases) exactly the frames it shared.
        r.is_ok().then_some(child)
    }

    /// Frames this address space holds: pages (shared ones counted in full) plus its page
    /// tables, so a process hoarding empty tables is seen by the OOM killer too.
    pub fn resident_pages(&mut self) -> usize {
        let mut n = 0;
        self.pt.for_each_leaf(&mut KernelPhys, 0..256, &mut |_, pte| {
            n += 1;
            pte
        });
        n + 1 + self.pt.count_tables(&KernelPhys, 0..256)
    }

    /// Physical address of user `va`, faulting the page in (for reading) if needed.
    pub fn resolve(&mut self, va: usize) -> Option<usize> {
        if let Some((pa, _)) = self.pt.translate(&KernelPhys, va) {
            return Some(pa);
        }
        if self.handle_fault(va, Access::Read) != Fault::Mapped {
            return None;
        }
        self.pt.translate(&KernelPhys, va).map(|(pa, _)| pa)
    }

    /// Add an area. Pages are created on first touch.
    /// ENOMEM if it overlaps another or the address space has `MAX_MAP_COUNT` areas.
    pub fn add_area(&mut self, start: usize, end: usize, prot: Prot, backing: Backing) -> Result<(), u32> {
        if self.vmas.len() >= MAX_MAP_COUNT || super::heap_low() {
            return Err(errno::ENOMEM);
        }
        if self.vmas.insert(Vma { start, end, prot, backing }) { Ok(()) } else { Err(errno::ENOMEM) }
    }

    /// Map `frames`, which the kernel owns and keeps (the vDSO's), at `start` with `prot`, as a
    /// new area of a space no hart has loaded yet. Each page takes a reference to its frame, so
    /// munmap, exit and fork count it like any shared page and the kernel's own reference keeps
    /// the frame from ever being freed; the entries are copy-on-write, so a write after
    /// mprotect(PROT_WRITE) lands in a private copy, never in the shared frame.
    /// ENOMEM (nothing added) if the range is taken or a frame has too many references.
    pub fn map_kernel_frames(&mut self, start: usize, frames: &[usize], prot: Prot) -> Result<(), u32> {
        let end = start + frames.len() * PAGE_SIZE;
        self.add_area(start, end, prot, Backing::Eager)?;
        let flags = cow_flags(pte_flags(prot));
        for (i, &pa) in frames.iter().enumerate() {
            let ok = share_frame(pa);
            if !ok || self.pt.map(&mut KernelPhys, start + i * PAGE_SIZE, pa, flags, 0).is_err() {
                if ok {
                    free_frame(pa);
                }
                self.unmap(start, end); // drops the references taken so far
                return Err(errno::ENOMEM);
            }
        }
        Ok(())
    }

    /// Copy `data` to user address `va` of this (possibly inactive) address space, creating
    /// pages as needed. Used by the loader before the process first runs.
    pub fn write_bytes(&mut self, mut va: usize, mut data: &[u8]) -> Result<(), u32> {
        while !data.is_empty() {
            let page = page_floor(va);
            let pa = match self.pt.translate(&KernelPhys, page) {
                Some((pa, f)) if !f.contains(PteFlags::COW) => pa,
                Some(_) => {
                    match self.handle_fault(page, Access::Write) {
                        Fault::Mapped => continue,
                        Fault::Denied | Fault::Busy | Fault::Bus => return Err(errno::EFAULT),
                        Fault::NoMemory => return Err(errno::ENOMEM),
                    }
                }
                None => {
                    let v = self.vmas.find(page).ok_or(errno::EFAULT)?;
                    let flags = pte_flags(v.prot);
                    let f = alloc_frame_zeroed().ok_or(errno::ENOMEM)?;
                    self.pt.map(&mut KernelPhys, page, f, flags, 0).map_err(|_| errno::ENOMEM)?;
                    f
                }
            };
            let off = va - page;
            let n = (PAGE_SIZE - off).min(data.len());
            hal::mem::write_phys(pa + off, &data[..n]);
            hal::cpu::note_code_written();
            data = &data[n..];
            va += n;
        }
        Ok(())
    }

    /// Give every page of `[start, end)` a zeroed frame now (ENOMEM when memory runs out),
    /// whatever the area's rights: shared memory must have its frames before a fork shares
    /// them, PROT_NONE included (they sit under the always-fault encoding until mprotect).
    pub fn populate(&mut self, start: usize, end: usize) -> Result<(), u32> {
        let Some(v) = self.vmas.find(start).copied() else {
            return Err(errno::ENOMEM);
        };
        let flags = pte_flags(v.prot);
        let mut va = start;
        while va < end {
            if self.pt.translate(&KernelPhys, va).is_none() {
                let f = alloc_frame_zeroed().ok_or(errno::ENOMEM)?;
                if self.pt.map(&mut KernelPhys, va, f, flags, 0).is_err() {
                    free_frame(f);
                    return Err(errno::ENOMEM);
                }
            }
            va += PAGE_SIZE;
        }
        Ok(())
    }

    /// madvise(MADV_DONTNEED): drop the frames of private anonymous pages in `[start, end)`
    /// (they read as zero again); other areas keep theirs. ENOMEM if part is unmapped.
    pub fn discard(&mut self, start: usize, end: usize) -> Result<(), u32> {
        let mut va = start;
        while va < end {
            let v = self.vmas.find(va).copied().ok_or(errno::ENOMEM)?;
            let stop = v.end.min(end);
            // (File pages come back from the file at the next fault, as on Linux.)
            if v.backing == Backing::Anon || v.backing.file_id().is_some() {
                // Freed after the shootdown (when `frees` flushes, at the latest when dropped).
                let mut frees = Deferred::new(&self.tlb, false);
                self.pt.for_each_leaf_in(&mut KernelPhys, va, stop, &mut |_, pte| {
                    frees.push(pte_addr(pte));
                    0
                });
            }
            va = stop;
        }
        Ok(())
    }

    /// Unmap `[start, end)`: drop areas and free their frames.
    pub fn unmap(&mut self, start: usize, end: usize) {
        let mut files = alloc::vec::Vec::new();
        for v in self.vmas.remove(start, end) {
            if let Some(id) = v.backing.file_id() {
                files.push(id);
            }
            // Frames and tables are freed only after every hart with this table loaded
            // flushed (when a batch fills, and when it is dropped at the end of the area).
            let mut frees = Deferred::new(&self.tlb, false);
            let mut any = false;
            self.pt.for_each_leaf_in(&mut KernelPhys, v.start, v.end, &mut |_, pte| {
                frees.push(pte_addr(pte));
                any = true;
                0
            });
            // Empty tables would otherwise pile up (fork and teardown walk them). Checking a
            // table costs 512 reads, so small unmaps skip it; mmap reuses their space.
            if any && v.end - v.start >= PRUNE_MIN {
                let mut tables = Deferred::new(&self.tlb, true);
                self.pt.prune(&mut DeferPhys(&mut tables), v.start, v.end);
                frees.flush();
            }
        }
        // A file mapping whose last piece went: its record (and snapshot) goes too.
        for id in files {
            if !self.vmas.iter().any(|v| v.backing.file_id() == Some(id)) {
                self.files.remove(&id);
            }
        }
        // Let mmap reuse the space right above its last placement when that is freed.
        if start <= self.mmap_low && self.mmap_low < end {
            self.mmap_low = end.min(config::MMAP_TOP);
        }
    }

    /// Change the rights of `[start, end)` (ENOMEM if part of it is unmapped). Pages still
    /// shared copy-on-write stay read-only until written.
    pub fn protect(&mut self, start: usize, end: usize, prot: Prot) -> Result<(), u32> {
        // A split in the middle of an area adds up to two areas.
        if self.vmas.len() + 2 > MAX_MAP_COUNT || super::heap_low() {
            return Err(errno::ENOMEM);
        }
        // A shared file mapping becomes writable only if its file is open for writing.
        if prot.write() && self.shared_read_only_in(start, end) {
            return Err(errno::EACCES);
        }
        if !self.vmas.protect(start, end, prot) {
            return Err(errno::ENOMEM);
        }
        let flags = pte_flags(prot);
        if prot.exec() {
            hal::cpu::note_code_written();
        }
        let mut any = false;
        self.pt.for_each_leaf_in(&mut KernelPhys, start, end, &mut |_, pte| {
            let old = flags_of(pte);
            let f = if old.contains(PteFlags::COW) { cow_flags(flags) } else { flags };
            any = true;
            make_pte(pte_addr(pte), f | PteFlags::V)
        });
        if any {
            self.flush_tlb(); // after the entries changed
        }
        Ok(())
    }

    /// True if a MAP_SHARED mapping of a file not open for writing meets `[start, end)`.
    fn shared_read_only_in(&self, start: usize, end: usize) -> bool {
        let mut va = start;
        while let Some(v) = self.vmas.find(va).filter(|_| va < end) {
            if let Backing::File { id, shared: true } = v.backing {
                if self.files.get(&id).is_some_and(|f| !f.may_write) {
                    return true;
                }
            }
            va = v.end;
        }
        false
    }

    /// Add a file mapping `[start, end)` with rights `prot` (ENOMEM as `add_area`).
    pub fn add_file_area(&mut self, start: usize, end: usize, prot: Prot, mut fm: FileMap) -> Result<(), u32> {
        let mut id = self.next_file_id;
        while id == 0 || self.files.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        self.next_file_id = id.wrapping_add(1);
        fm.start = start;
        let shared = fm.shared;
        self.add_area(start, end, prot, Backing::File { id, shared })?;
        self.files.insert(id, Arc::new(fm));
        Ok(())
    }

    /// For /proc/<pid>/maps: the open file an area maps and the file offset of its start
    /// (its path is `file.describe()`, its device and inode `Node::loc.inode.id()`).
    #[allow(dead_code)] // (for fs/proc.rs)
    pub fn file_of(&self, v: &Vma) -> Option<(crate::fs::FileRef, u64)> {
        let fm = self.files.get(&v.backing.file_id()?)?;
        Some((fm.file.clone(), fm.offset_of(v.start)))
    }

    /// mremap(2) of `[old, old + old_len)` to `new_len` bytes (both page multiples, `new_len`
    /// not 0; the caller checked the flags and `old`'s alignment, as Linux does first). Shrinks
    /// in place, grows in place when the space after the area is free, else moves the pages
    /// (their page-table entries: no copy) to a free range or, with `r.fixed`, to `r.new_addr`
    /// (what was there is unmapped first); `r.dontunmap` leaves the old range mapped and empty
    /// (private anonymous pages read as zeros there again, file pages come from the file,
    /// shared anonymous ones are the same pages). `old_len` 0 makes a second mapping of a
    /// shared area. Shared anonymous memory keeps its size: pages an area grows by are SIGBUS
    /// (Linux's shmem object; Velox forgets pages a shrink gave back, Linux would still have
    /// them). Errors as Linux: EFAULT (no area at `old`, or the range is not inside one
    /// area), EINVAL, ENOMEM (cannot grow in place without `r.may_move`, no room, RLIMIT_AS or
    /// RLIMIT_DATA (`lim`), the area limit). Returns the new address.
    pub fn remap(&mut self, old: usize, old_len: usize, new_len: usize, r: Remap, lim: (u64, u64)) -> Result<usize, u32> {
        self.vmas.find(old).ok_or(errno::EFAULT)?;
        if r.fixed || r.dontunmap {
            return self.remap_to(old, old_len, new_len, r, lim);
        }
        if old_len >= new_len {
            if old_len > new_len {
                // (A range past the end of user space is EINVAL, as Linux's munmap step.)
                let end = old.checked_add(old_len).filter(|&e| e <= hal::USER_END).ok_or(errno::EINVAL)?;
                self.unmap_checked(old + new_len, end)?;
            }
            return Ok(old);
        }
        let v = self.resizable(old, old_len, new_len, false, lim)?;
        if old_len == v.end - old {
            let end = old.checked_add(new_len).filter(|&e| e <= hal::USER_END);
            if let Some(end) = end.filter(|&e| self.vmas.is_free(v.end, e)) {
                self.grow_area(v, end)?;
                return Ok(old);
            }
        }
        if !r.may_move {
            return Err(errno::ENOMEM);
        }
        let dst = self.find_free(new_len).ok_or(errno::ENOMEM)?;
        self.move_area(v, old, old_len, new_len, dst, false)
    }

    /// mremap with MREMAP_FIXED or MREMAP_DONTUNMAP (Linux's `mremap_to`, in its order).
    fn remap_to(&mut self, old: usize, mut old_len: usize, new_len: usize, r: Remap, lim: (u64, u64)) -> Result<usize, u32> {
        let dst = r.new_addr;
        if dst % PAGE_SIZE != 0 || new_len > hal::USER_END || dst > hal::USER_END - new_len {
            return Err(errno::EINVAL);
        }
        if old.saturating_add(old_len) > dst && dst + new_len > old {
            return Err(errno::EINVAL);
        }
        if r.fixed {
            self.unmap_checked(dst, dst + new_len)?;
        }
        if old_len > new_len {
            let end = old.checked_add(old_len).filter(|&e| e <= hal::USER_END).ok_or(errno::EINVAL)?;
            self.unmap_checked(old + new_len, end)?;
            old_len = new_len;
        }
        let v = self.resizable(old, old_len, new_len, r.dontunmap, lim)?;
        if r.dontunmap && (self.vmas.bytes() + old_len) as u64 > lim.0 {
            return Err(errno::ENOMEM);
        }
        let dst = if r.fixed {
            dst
        } else if dst != 0 && self.vmas.is_free(dst, dst + new_len) {
            dst
        } else {
            self.find_free(new_len).ok_or(errno::ENOMEM)?
        };
        self.move_area(v, old, old_len, new_len, dst, r.dontunmap)
    }

    /// munmap of `[start, end)` as the call does it: ENOMEM when it would split an area at
    /// the area limit.
    fn unmap_checked(&mut self, start: usize, end: usize) -> Result<(), u32> {
        if start >= end {
            return Ok(());
        }
        let at_limit = self.vmas.len() >= MAX_MAP_COUNT || super::heap_low();
        if at_limit && self.vmas.find(start).is_some_and(|v| v.start < start) && self.vmas.find(end - 1).is_some_and(|v| v.end > end) {
            return Err(errno::ENOMEM);
        }
        self.unmap(start, end);
        Ok(())
    }

    /// The area at `old` if mremap may resize `[old, old + old_len)` to `new_len` (Linux's
    /// `vma_to_resize`).
    fn resizable(&self, old: usize, old_len: usize, new_len: usize, dontunmap: bool, lim: (u64, u64)) -> Result<Vma, u32> {
        let v = *self.vmas.find(old).ok_or(errno::EFAULT)?;
        // A second mapping of private memory would not be the same memory.
        if old_len == 0 && !v.backing.is_shared() {
            return Err(errno::EINVAL);
        }
        if dontunmap && is_vdso(&v) {
            return Err(errno::EINVAL);
        }
        if old_len > v.end - old {
            return Err(errno::EFAULT);
        }
        if new_len <= old_len {
            return Ok(v);
        }
        // The vDSO's pages are a fixed set (Linux's VM_DONTEXPAND).
        if is_vdso(&v) {
            return Err(errno::EFAULT);
        }
        let delta = new_len - old_len;
        if (self.vmas.bytes() + delta) as u64 > lim.0 {
            return Err(errno::ENOMEM);
        }
        if is_data(&v) && (self.vmas.bytes_in(0, hal::USER_END, is_data) + delta) as u64 > lim.1 {
            return Err(errno::ENOMEM);
        }
        Ok(v)
    }

    /// Extend area `v` to `end` (the space is free): mremap growing in place. (Same rights
    /// and backing: it merges with `v`; a file area's pages keep their offsets; shared
    /// anonymous memory does not grow with its mapping, the new pages are SIGBUS as on Linux.)
    fn grow_area(&mut self, v: Vma, end: usize) -> Result<(), u32> {
        self.add_area(v.end, end, v.prot, v.backing)
    }

    /// Move `[old, old + old_len)` of area `v` to a new area `[dst, dst + new_len)` with its
    /// rights and backing (a file area's record follows with its offset), the page-table
    /// entries as they are, then unmap the old range unless `dontunmap`.
    fn move_area(&mut self, v: Vma, old: usize, old_len: usize, new_len: usize, dst: usize, dontunmap: bool) -> Result<usize, u32> {
        // The vDSO stays where signal delivery's return address points.
        if is_vdso(&v) {
            return Err(errno::EINVAL);
        }
        // The new area, a split of the old one's and (dontunmap) its pieces: as Linux's
        // move_vma, refused near the area limit.
        if self.vmas.len() + 3 > MAX_MAP_COUNT || super::heap_low() {
            return Err(errno::ENOMEM);
        }
        let shared_anon = v.backing == Backing::Shared;
        let end = dst + new_len;
        let file = match v.backing {
            Backing::File { id, .. } => Some(self.files.get(&id).ok_or(errno::EFAULT)?.moved(old)),
            _ => None,
        };
        let added_id = match file {
            Some(fm) => {
                self.add_file_area(dst, end, v.prot, fm)?;
                self.vmas.find(dst).and_then(|n| n.backing.file_id())
            }
            None => {
                // (Pages the loader filled are ordinary anonymous memory once moved.)
                let b = if v.backing == Backing::Eager { Backing::Anon } else { v.backing };
                self.add_area(dst, end, v.prot, b)?;
                None
            }
        };
        if old_len > 0 && self.pt.move_leaves(&mut KernelPhys, old, dst, old_len).is_err() {
            // No table for the destination: nothing moved; take the new area back.
            self.vmas.remove(dst, end);
            if let Some(id) = added_id {
                self.files.remove(&id);
            }
            return Err(errno::ENOMEM);
        }
        if v.prot.exec() {
            hal::cpu::note_code_written();
        }
        if shared_anon {
            // The same pages at both places: a second mapping (old_len 0) and the old range
            // of dontunmap map them too. (What the area grew by has none: SIGBUS, as Linux.)
            if old_len == 0 {
                self.share_leaves(old, dst, new_len.min(v.end - old));
            }
            if dontunmap {
                self.share_leaves(dst, old, old_len);
            }
        }
        if !dontunmap && old_len > 0 {
            // (Its entries are gone: this drops the area and, if it was the last piece of a
            // file mapping, the record.)
            self.unmap(old, old + old_len);
        }
        // No hart may go on using the old entries.
        self.flush_tlb();
        Ok(dst)
    }

    /// Map the frames of `[src, src + len)` at the same offsets in `[dst, dst + len)` too, with
    /// the same flags (shared memory seen at two addresses); a page whose frame cannot take
    /// another reference is left out (it faults in as a new page).
    fn share_leaves(&mut self, src: usize, dst: usize, len: usize) {
        let pt = self.pt;
        self.pt.for_each_leaf_in(&mut KernelPhys, src, src + len, &mut |va, pte| {
            let pa = pte_addr(pte);
            if share_frame(pa) {
                #[allow(unsafe_code)]
                // SAFETY: `pa` is mapped as a leaf by this very table, so `leaf_ok` accepted it.
                let r = unsafe { pt.map_checked_frame(&mut KernelPhys, dst + (va - src), pa, flags_of(pte) - PteFlags::V, 0) };
                if r.is_err() {
                    free_frame(pa);
                }
            }
            pte
        });
    }

    /// mincore(2) for the pages from `start` (page aligned): one byte per page into `out`, 1
    /// where this address space maps the page (file pages not faulted in here count as not
    /// resident, where Linux would look at the page cache). ENOMEM at the first page no area
    /// covers; returns the bytes filled.
    pub fn mincore(&mut self, start: usize, out: &mut [u8]) -> Result<usize, u32> {
        for (i, b) in out.iter_mut().enumerate() {
            let va = start + i * PAGE_SIZE;
            if self.vmas.find_cached(va).is_none() {
                return Err(errno::ENOMEM);
            }
            *b = self.pt.translate(&KernelPhys, va).is_some() as u8;
        }
        Ok(out.len())
    }

    /// Pick an address for an mmap of `len` bytes (top-down below the stack).
    pub fn find_free(&mut self, len: usize) -> Option<usize> {
        let bottom = config::MMAP_BOTTOM.max(page_ceil(self.brk)? + (1 << 30));
        // Fast case: right below the last area placed (keeps thousands of thread stacks cheap).
        let below = self.mmap_low.checked_sub(len).filter(|&s| s >= bottom && self.vmas.is_free(s, self.mmap_low));
        let start = match below {
            Some(s) => s,
            None => self.vmas.find_free_top_down(len, bottom, config::MMAP_TOP)?,
        };
        self.mmap_low = self.mmap_low.min(start);
        Some(start)
    }
}

/// Load the user table with root `root` in this hart's satp under ASID 0, flushing the whole
/// TLB (`smp::load_mm` when ASIDs are off).
pub fn switch_to(root: usize) {
    #[allow(unsafe_code)]
    // SAFETY: every address space's root shares the kernel page table's upper-half entries
    // (copied in `AddrSpace::new`), so the kernel stays mapped identically after the switch.
    unsafe {
        hal::cpu::activate_page_table(root)
    }
}

impl Drop for AddrSpace {
    fn drop(&mut self) {
        // Harts keep what they load through `smp::load_mm` alive, so only a table loaded
        // without it (a boot-time test) can still be in satp here.
        if hal::cpu::current_page_table() == self.pt.root() {
            super::activate_kernel_table();
            crate::smp::forget_root(self.pt.root());
        }
        debug_assert!(!crate::smp::loaded_elsewhere(self.pt.root()));
        self.pt.clear_range(&mut KernelPhys, 0..256, &mut |pa, _| free_frame(pa));
        #[allow(unsafe_code)]
        // SAFETY: the root came from `alloc_table`; no hart uses it (switched away above) and
        // no table points to a root.
        unsafe {
            KernelPhys.free_table(self.pt.root())
        };
        if self.dead {
            DEAD_MMS.fetch_sub(1, Ordering::SeqCst);
        }
    }
}
