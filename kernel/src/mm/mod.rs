//! Kernel memory: the heap, the frame allocator, the kernel page table; user address spaces in [`aspace`].

pub mod aspace;
pub mod heap;

use crate::boot::EarlyInfo;
use hal::mem::virt_to_phys;
use core::sync::atomic::{AtomicUsize, Ordering};
use spin::Mutex;
use velox_hal as hal;
use velox_mm::frame::FrameAllocator;
use velox_mm::pt::{PageTable, PhysMem, PteFlags};

#[global_allocator]
static HEAP: heap::KernelHeap = heap::KernelHeap::new();

static FRAMES: Mutex<Option<FrameAllocator>> = Mutex::new(None);
/// Frames currently used as page tables (for /proc/meminfo's PageTables).
pub static PT_FRAMES: AtomicUsize = AtomicUsize::new(0);
static HEAP_SIZE: AtomicUsize = AtomicUsize::new(0);
static KERNEL_PT: spin::Once<PageTable> = spin::Once::new();

/// Physical memory as page tables see it: the direct map plus the global frame allocator.
pub struct KernelPhys;

impl PhysMem for KernelPhys {
    fn read_pte(&self, table: usize, idx: usize) -> u64 {
        hal::mem::read_u64(table + idx * 8)
    }
    fn write_pte(&mut self, table: usize, idx: usize, pte: u64) {
        hal::mem::write_u64(table + idx * 8, pte)
    }
    fn alloc_table(&mut self) -> Option<usize> {
        let f = alloc_frame_zeroed()?;
        PT_FRAMES.fetch_add(1, Ordering::Relaxed);
        Some(f)
    }
    fn free_table(&mut self, table: usize) {
        PT_FRAMES.fetch_sub(1, Ordering::Relaxed);
        free_frame(table)
    }
}

/// Allocate a frame (contents undefined). `None` when memory is exhausted.
pub fn alloc_frame() -> Option<usize> {
    FRAMES.lock().as_mut()?.alloc()
}

/// Allocate a zero-filled frame.
pub fn alloc_frame_zeroed() -> Option<usize> {
    let f = alloc_frame()?;
    hal::mem::zero_frame(f);
    Some(f)
}

/// Drop one reference to a frame; it returns to the allocator with its last reference.
pub fn free_frame(pa: usize) {
    FRAMES.lock().as_mut().expect("frame allocator").dealloc(pa);
}

/// Add a reference to an allocated frame (shared by copy-on-write or MAP_SHARED).
pub fn share_frame(pa: usize) -> bool {
    FRAMES.lock().as_mut().expect("frame allocator").share(pa)
}

/// References to an allocated frame.
pub fn frame_refs(pa: usize) -> u16 {
    FRAMES.lock().as_ref().expect("frame allocator").refs(pa)
}

/// (free, total) frames.
pub fn frame_stats() -> (usize, usize) {
    FRAMES.lock().as_ref().map(|f| (f.free_frames(), f.total_frames())).unwrap_or((0, 0))
}

/// The kernel's page table (its upper half is shared by every address space).
pub fn kernel_page_table() -> PageTable {
    *KERNEL_PT.get().expect("kernel page table")
}

/// Bytes of kernel heap in use.
pub fn heap_used() -> usize {
    HEAP.used()
}

/// Bytes of kernel heap not in use.
pub fn heap_free() -> usize {
    HEAP_SIZE.load(Ordering::Relaxed).saturating_sub(heap_used())
}

/// Size of the kernel heap.
pub fn heap_size() -> usize {
    HEAP_SIZE.load(Ordering::Relaxed)
}

const MIB: usize = 1 << 20;

/// Set up heap, frames and the kernel page table from the boot information.
pub fn init(info: &EarlyInfo) {
    let layout = hal::boot::kernel_layout();
    let kstart = virt_to_phys(layout.start);
    let kend = virt_to_phys(layout.end);
    let (ram_start, ram_end) = info.ram;
    hal::mem::set_ram_range(kstart, ram_end);
    // Heap: a quarter of RAM (at least 8 MiB), in the first gap of free RAM after the kernel
    // image that avoids the device tree and the RAM disk the firmware placed.
    let heap_size = ((ram_end - ram_start) / 4).max(8 * MIB) & !(MIB - 1);
    let mut busy = [info.dtb, info.initrd.unwrap_or((0, 0))];
    busy.sort();
    let mut heap_start = (kend + MIB - 1) & !(MIB - 1);
    for (s, e) in busy {
        if e > s && heap_start < e && heap_start + heap_size > s {
            heap_start = (e + MIB - 1) & !(MIB - 1);
        }
    }
    assert!(heap_start + heap_size <= ram_end, "not enough RAM for the kernel heap");
    init_heap(hal::mem::phys_to_virt(heap_start), heap_size);
    HEAP_SIZE.store(heap_size, Ordering::Relaxed);
    let mut fa = FrameAllocator::new(kstart, ram_end);
    fa.reserve(kstart, kend);
    fa.reserve(heap_start, heap_start + heap_size);
    fa.reserve(info.dtb.0, info.dtb.1);
    if let Some((s, e)) = info.initrd {
        fa.reserve(s, e);
    }
    *FRAMES.lock() = Some(fa);
    build_kernel_page_table(kstart, ram_end, &layout);
}

#[allow(unsafe_code)]
fn init_heap(va: usize, size: usize) {
    // SAFETY: `[va, va+size)` is the direct-map alias of RAM that the frame allocator never
    // hands out (reserved in `init`), so the heap owns it exclusively, for the kernel's lifetime.
    unsafe { HEAP.init(va, size) }
}

fn build_kernel_page_table(kstart: usize, ram_end: usize, l: &hal::boot::KernelLayout) {
    let mut m = KernelPhys;
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
        let guard = (l.stack_guard..l.stack_bottom).contains(&va);
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
