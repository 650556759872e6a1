//! Kernel memory: the heap, the frame allocator, the kernel page table; user address spaces in [`aspace`].

pub mod aspace;
pub mod filemap;
pub mod heap;
pub mod oom;

use crate::boot::EarlyInfo;
use hal::mem::virt_to_phys;
use core::sync::atomic::{AtomicUsize, Ordering};
use velox_exec::sync::Mutex;
use velox_hal as hal;
use velox_mm::frame::{FrameAllocator, FrameCache, FrameRefs};
use velox_mm::pt::{PageTable, PhysMem, PteFlags};

#[global_allocator]
static HEAP: heap::KernelHeap = heap::KernelHeap::new();

static FRAMES: Mutex<Option<FrameAllocator>> = Mutex::new(None);
/// Every frame's references (no lock: atomics).
static REFS: spin::Once<FrameRefs> = spin::Once::new();
/// Free frames kept per hart (by hart index), so page faults and thread creation on different
/// harts meet at `FRAMES` once per `FRAME_CACHE / 2` frames. Each is locked only by its own
/// hart, except when another has found nothing anywhere else and takes its frames.
static FRAME_CACHES: [HartFrames; hal::boot::MAX_HARTS] = [const { HartFrames { cache: Mutex::new(FrameCache::new()), taken: core::sync::atomic::AtomicIsize::new(0), zeroed: AtomicUsize::new(0) } }; hal::boot::MAX_HARTS];
/// Free frames when the allocator was set up, and all frames: `frame_stats` subtracts what
/// the harts took since, without taking any lock.
static FREE_AT_INIT: AtomicUsize = AtomicUsize::new(0);
static TOTAL_FRAMES: AtomicUsize = AtomicUsize::new(0);

/// One hart's frame cache, and the frames it handed out minus those it took back (frames move
/// between harts, so one count may go below zero: the sum is what is in use). Written only
/// by that hart; a line of its own, so harts' counts never share a cache line.
#[repr(align(64))]
struct HartFrames {
    cache: Mutex<FrameCache<FRAME_CACHE>>,
    taken: core::sync::atomic::AtomicIsize,
    /// A free frame this hart zeroed ahead of a page fault (0: none), so the zeroing happens
    /// before the fault takes its address space's lock ([`prepare_zeroed_frame`]). Counted
    /// as free; taken by its hart, or by any hart when nothing else is left (`steal_frame`).
    zeroed: AtomicUsize,
}

impl HartFrames {
    /// Count frames this hart handed out (n > 0) or got back (n < 0): a load and a store,
    /// only this hart writes it.
    #[inline(always)]
    fn count(&self, n: isize) {
        self.taken.store(self.taken.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }
}
/// Frames in one hart's cache at most (256 KiB).
const FRAME_CACHE: usize = 64;
/// Frames currently used as page tables (for /proc/meminfo's PageTables).
pub static PT_FRAMES: AtomicUsize = AtomicUsize::new(0);
static HEAP_SIZE: AtomicUsize = AtomicUsize::new(0);
static KERNEL_PT: spin::Once<PageTable> = spin::Once::new();

/// Physical memory as page tables see it: the direct map plus the global frame allocator.
pub struct KernelPhys;

impl PhysMem for KernelPhys {
    #[inline(always)]
    fn read_pte(&self, table: usize, idx: usize) -> u64 {
        hal::mem::read_u64(table + idx * 8)
    }
    #[allow(unsafe_code)]
    #[inline(always)]
    unsafe fn write_pte(&mut self, table: usize, idx: usize, pte: u64) {
        // A `PageTable` kept past its address space (it is `Copy`) would write into a freed
        // frame: refuse anything that is not a live table (a panic, never a corrupted page).
        assert!(hal::mem::is_table(table), "page-table write into a frame that is not a table: {table:#x}");
        // SAFETY: forwarded: `PageTable` writes only zeros, pointers to tables it allocated
        // here, and leaves whose frame `leaf_ok` accepted.
        unsafe { hal::mem::write_pte(table + idx * 8, pte) }
    }
    #[allow(unsafe_code)]
    #[inline(always)]
    unsafe fn fill_pte(&mut self, table: usize, idx: usize, pte: u64) -> bool {
        assert!(hal::mem::is_table(table), "page-table write into a frame that is not a table: {table:#x}");
        // SAFETY: forwarded, as in `write_pte`.
        unsafe { hal::mem::fill_pte(table + idx * 8, pte) }
    }
    fn alloc_table(&mut self) -> Option<usize> {
        let f = alloc_frame_zeroed()?;
        hal::mem::mark_table(f);
        PT_FRAMES.fetch_add(1, Ordering::Relaxed);
        Some(f)
    }
    #[allow(unsafe_code)]
    unsafe fn free_table(&mut self, table: usize) {
        assert!(hal::mem::is_table(table), "freeing a frame that is not a table: {table:#x}");
        PT_FRAMES.fetch_sub(1, Ordering::Relaxed);
        // SAFETY: the caller guarantees nothing points to the table any more.
        unsafe { hal::mem::unmark_table(table) };
        free_frame(table)
    }
    /// User page tables map only pool frames that are not page tables.
    #[inline(always)]
    fn leaf_ok(&self, pa: usize, size: usize) -> bool {
        hal::mem::is_data_frame(pa, size)
    }
    #[inline(always)]
    fn next_valid(&self, table: usize, from: usize) -> usize {
        // Dense tables (a touched buffer being unmapped) mostly answer `from` itself: one read.
        if from < 512 && self.read_pte(table, from) & PteFlags::V.bits() != 0 {
            return from;
        }
        hal::mem::next_valid_pte(table, from)
    }
}

#[inline(always)]
fn refs() -> &'static FrameRefs {
    REFS.get().expect("frame allocator")
}

/// Allocate a frame (contents undefined). `None` when memory is exhausted.
pub fn alloc_frame() -> Option<usize> {
    let me = hal::cpu::hart_index();
    let f = {
        let mut c = FRAME_CACHES[me].cache.lock();
        match c.pop() {
            Some(f) => Some(f),
            None => {
                c.refill(FRAMES.lock().as_mut()?);
                c.pop()
            }
        }
    };
    let f = f.or_else(|| steal_frame(me))?;
    refs().first(f);
    FRAME_CACHES[me].count(1);
    Some(f)
}

/// The shared allocator is empty: take a frame from another hart's cache, else any hart's
/// zeroed spare.
#[cold]
fn steal_frame(me: usize) -> Option<usize> {
    FRAME_CACHES.iter().enumerate().filter(|&(i, _)| i != me).find_map(|(_, c)| c.cache.lock().pop()).or_else(|| {
        FRAME_CACHES.iter().find_map(|c| match c.zeroed.swap(0, Ordering::Acquire) {
            0 => None,
            f => Some(f),
        })
    })
}

/// Zero a frame for this hart's next zero-fill fault ([`take_zeroed_frame`]) unless one is
/// ready: called before a page fault takes its address space's lock, so that harts faulting
/// in one address space do not zero pages while holding it (the 4 KiB fill is most of an
/// anonymous fault). Needs nothing but this hart's frame cache.
#[inline]
pub fn prepare_zeroed_frame() {
    let h = &FRAME_CACHES[hal::cpu::hart_index()];
    if h.zeroed.load(Ordering::Relaxed) != 0 {
        return;
    }
    prepare_zeroed_slow(h);
}

#[inline(never)]
fn prepare_zeroed_slow(h: &HartFrames) {
    let f = {
        let mut c = h.cache.lock();
        match c.pop() {
            Some(f) => f,
            None => {
                let Some(mut a) = FRAMES.try_lock() else { return };
                let Some(a) = a.as_mut() else { return };
                c.refill(a);
                let Some(f) = c.pop() else { return };
                f
            }
        }
    };
    hal::mem::zero_frame(f);
    // (Only this hart stores here; another hart may only take it, with a swap. Release: a
    // hart that takes it sees the zeros, not the frame's old contents.)
    h.zeroed.store(f, Ordering::Release);
}

/// A zero-filled frame: this hart's spare if [`prepare_zeroed_frame`] made one, else one
/// zeroed now.
#[inline(always)]
pub fn take_zeroed_frame() -> Option<usize> {
    let me = hal::cpu::hart_index();
    let f = match FRAME_CACHES[me].zeroed.swap(0, Ordering::Acquire) {
        0 => alloc_frame_zeroed()?,
        f => {
            refs().first(f);
            FRAME_CACHES[me].count(1);
            f
        }
    };
    // The zeros before the entry that maps the frame: another hart's walk that sees the
    // entry must not read the frame's old contents (Linux's smp_wmb before set_pte).
    core::sync::atomic::fence(Ordering::Release);
    Some(f)
}

/// Give every hart's cached frames back to the shared allocator (before a contiguous
/// allocation fails for want of a run the caches hold pieces of).
fn drain_frame_caches() {
    for c in &FRAME_CACHES {
        let mut c = c.cache.lock();
        if !c.is_empty() {
            c.spill(FRAMES.lock().as_mut().expect("frame allocator"), 0);
        }
    }
}

/// Allocate a zero-filled frame.
pub fn alloc_frame_zeroed() -> Option<usize> {
    let f = alloc_frame()?;
    hal::mem::zero_frame(f);
    Some(f)
}

/// Allocate `n` physically contiguous frames (contents undefined): DMA memory for devices.
pub fn alloc_contig(n: usize) -> Option<usize> {
    let got = FRAMES.lock().as_mut()?.alloc_contig(n);
    let f = got.or_else(|| {
        drain_frame_caches();
        FRAMES.lock().as_mut()?.alloc_contig(n)
    })?;
    (0..n).for_each(|k| refs().first(f + k * 4096));
    FRAME_CACHES[hal::cpu::hart_index()].count(n as isize);
    Some(f)
}

/// `n` contiguous frames starting on a 64-frame boundary (contents undefined), for a device
/// read straight into them; `None` at once when the shared bitmap has no such run
/// ([`velox_mm::frame::FrameAllocator::alloc_run`]: no draining of the per-hart caches). Each
/// frame is freed on its own ([`free_frame`]).
pub fn alloc_run(n: usize) -> Option<usize> {
    let f = FRAMES.lock().as_mut()?.alloc_run(n)?;
    (0..n).for_each(|k| refs().first(f + k * 4096));
    FRAME_CACHES[hal::cpu::hart_index()].count(n as isize);
    Some(f)
}

/// Free `n` contiguous frames from [`alloc_contig`].
pub fn free_contig(pa: usize, n: usize) {
    (0..n).for_each(|k| free_frame(pa + k * 4096));
}

/// Drop one reference to a frame; it returns to the allocator with its last reference.
pub fn free_frame(pa: usize) {
    if !refs().put(pa) {
        return;
    }
    let h = &FRAME_CACHES[hal::cpu::hart_index()];
    h.count(-1);
    keep_free(&mut h.cache.lock(), pa);
}

/// Put a frame that just became free on a hart's cache, giving half of a full one back first.
#[inline(always)]
fn keep_free(c: &mut FrameCache<FRAME_CACHE>, pa: usize) {
    if !c.push(pa) {
        c.spill(FRAMES.lock().as_mut().expect("frame allocator"), FRAME_CACHE / 2);
        let _ = c.push(pa);
    }
}

/// [`free_frame`] for each of `frames`, taking this hart's cache lock once.
pub fn free_frames(frames: &[usize]) {
    let mut c = None;
    for &pa in frames {
        if refs().put(pa) {
            let h = &FRAME_CACHES[hal::cpu::hart_index()];
            h.count(-1);
            keep_free(c.get_or_insert_with(|| h.cache.lock()), pa);
        }
    }
}

/// Add a reference to an allocated frame (shared by copy-on-write or MAP_SHARED).
pub fn share_frame(pa: usize) -> bool {
    refs().share(pa)
}

/// References to an allocated frame.
pub fn frame_refs(pa: usize) -> u16 {
    refs().get(pa)
}

/// (free, total) frames; frames in the harts' caches count as free. No lock: the harts'
/// counts are summed: exact when no hart allocates meanwhile, approximate (by the frames in
/// flight) while harts do. Each count is a plain load and store, sound because only its hart
/// writes it and no interrupt handler allocates or frees frames (kernel code runs with
/// interrupts off but in the idle loop's wait).
pub fn frame_stats() -> (usize, usize) {
    let taken: isize = FRAME_CACHES.iter().map(|h| h.taken.load(Ordering::Relaxed)).sum();
    let free = FREE_AT_INIT.load(Ordering::Relaxed) as isize - taken;
    let total = TOTAL_FRAMES.load(Ordering::Relaxed);
    ((free.max(0) as usize).min(total), total)
}

/// The kernel's page table (its upper half is shared by every address space).
pub fn kernel_page_table() -> PageTable {
    *KERNEL_PT.get().expect("kernel page table")
}

/// Load the kernel's own table (no user half) on this hart.
pub fn activate_kernel_table() {
    #[allow(unsafe_code)]
    // SAFETY: the kernel table maps the kernel exactly as every user table's upper half does.
    unsafe {
        hal::cpu::activate_page_table(kernel_page_table().root())
    };
}

/// Bytes of kernel heap in use.
pub fn heap_used() -> usize {
    HEAP.used()
}

/// Bytes of kernel heap not in use.
pub fn heap_free() -> usize {
    HEAP_SIZE.load(Ordering::Relaxed).saturating_sub(heap_used())
}

/// True when the kernel heap is down to its reserve: requests that would grow kernel state
/// for a process (areas, descriptors, threads, pipes) fail with ENOMEM/EAGAIN instead, so the
/// heap never runs dry under the threads already running.
pub fn heap_low() -> bool {
    heap_free() < crate::config::HEAP_RESERVE
}

/// Size of the kernel heap.
pub fn heap_size() -> usize {
    HEAP_SIZE.load(Ordering::Relaxed)
}

const MIB: usize = 1 << 20;

/// Set up heap, frames and the kernel page table from the boot information.
pub fn init(info: &EarlyInfo) {
    let (ram_start, ram_end) = info.ram;
    let (heap, l) = hal::mem::init((ram_start, ram_end), info.dtb, info.initrd);
    let heap_size = heap.len();
    HEAP.init(heap);
    HEAP_SIZE.store(heap_size, Ordering::Relaxed);
    // Only the pool is handed out: a frame outside it (say between the heap and the device
    // tree at the top of RAM) could never be mapped for user pages (`leaf_ok`), and handing it
    // out would look like running out of memory.
    let mut fa = FrameAllocator::new(l.pool.0, l.pool.1);
    for (s, e) in [l.dtb, l.initrd] {
        let (s, e) = (s.max(l.pool.0), e.min(l.pool.1));
        if e > s {
            fa.reserve(s, e);
        }
    }
    REFS.call_once(|| FrameRefs::new(l.pool.0, l.pool.1));
    FREE_AT_INIT.store(fa.free_frames(), Ordering::Relaxed);
    TOTAL_FRAMES.store(fa.total_frames(), Ordering::Relaxed);
    *FRAMES.lock() = Some(fa);
    build_kernel_page_table(l.kernel.0, ram_end, l.ktables, &hal::boot::kernel_layout());
    hal::mem::seal_kernel_tables();
}

/// Page-table frames for the kernel's own table, from the region the hardware layer set
/// aside (the checked accessors refuse writes to it once the table is sealed).
struct BootTables {
    next: usize,
    end: usize,
}

impl PhysMem for BootTables {
    fn read_pte(&self, table: usize, idx: usize) -> u64 {
        hal::mem::read_u64(table + idx * 8)
    }
    #[allow(unsafe_code)]
    unsafe fn write_pte(&mut self, table: usize, idx: usize, pte: u64) {
        // SAFETY: forwarded; these tables are written only at boot, before they are sealed.
        unsafe { hal::mem::write_pte(table + idx * 8, pte) }
    }
    fn alloc_table(&mut self) -> Option<usize> {
        if self.next >= self.end {
            return None;
        }
        let f = self.next;
        self.next += 4096;
        hal::mem::zero_frame(f);
        Some(f)
    }
    #[allow(unsafe_code)]
    unsafe fn free_table(&mut self, _table: usize) {
        unreachable!("the kernel page table is never pruned")
    }
}

fn build_kernel_page_table(kstart: usize, ram_end: usize, ktables: (usize, usize), l: &hal::boot::KernelLayout) {
    let mut m = BootTables { next: ktables.0, end: ktables.1 };
    let pt = PageTable::new(&mut m).expect("no memory for the kernel page table");
    let g = PteFlags::G | PteFlags::A | PteFlags::D;
    let rw = PteFlags::R | PteFlags::W | g;
    // Device memory below RAM (UART, PLIC, virtio): two RW gigapages, never executable.
    for gb in 0..2 {
        pt.map(&mut m, hal::PHYS_OFFSET + gb * (1 << 30), gb * (1 << 30), rw, 2).expect("map MMIO");
    }
    let to_pa = virt_to_phys;
    let kimg_end = to_pa(l.end);
    let mut pa = kstart;
    while pa < ram_end {
        let va = hal::PHYS_OFFSET + pa;
        let huge = pa % (2 * MIB) == 0 && pa + 2 * MIB <= ram_end && pa >= kimg_end;
        if huge {
            pt.map(&mut m, va, pa, rw, 1).expect("map RAM");
            pa += 2 * MIB;
            continue;
        }
        let flags = if va < l.text_end {
            PteFlags::R | PteFlags::X | g
        } else if va < l.rodata_end {
            PteFlags::R | g
        } else {
            rw
        };
        let guard = l.is_stack_guard(va);
        if !guard {
            pt.map(&mut m, va, pa, flags, 0).expect("map kernel");
        }
        pa += 4096;
    }
    check_no_wx(&pt, kstart, kimg_end);
    KERNEL_PT.call_once(|| pt);
    #[allow(unsafe_code)]
    // SAFETY: the new table maps the kernel image (with the boot stack except its guard page),
    // all RAM in the direct map and the MMIO window, at the same addresses as the boot table.
    unsafe {
        hal::cpu::activate_page_table(pt.root())
    };
}

/// No kernel page may be writable and executable at once.
fn check_no_wx(pt: &PageTable, start: usize, end: usize) {
    let mut va = hal::PHYS_OFFSET + start;
    while va < hal::PHYS_OFFSET + end {
        if let Some((_, f)) = pt.translate(&KernelPhys, va) {
            assert!(!(f.contains(PteFlags::W) && f.contains(PteFlags::X)), "W+X kernel mapping at {va:#x}");
        }
        va += 4096;
    }
}
