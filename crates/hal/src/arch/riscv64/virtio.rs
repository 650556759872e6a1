//! virtio-mmio devices via the `virtio-drivers` crate: its `Hal` (DMA frames from the kernel) and the slot probe.
//!
//! The kernel finds the slots in the device tree, asks [`peek`] which device sits in each, and
//! claims a slot once with [`open`], which hands back the crate's MMIO transport; the drivers of
//! `virtio-drivers` (rng today, blk/net later) run on it with [`VirtioHal`]. DMA memory is
//! physically contiguous frames from the kernel's frame allocator, reached through the
//! callbacks registered with [`set_dma_hooks`] (this crate cannot call the kernel).

use super::{PAGE_SIZE, PHYS_OFFSET};
use alloc::vec::Vec;
use core::ptr::NonNull;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

pub use virtio_drivers as drivers;
pub use virtio_drivers::transport::DeviceType;

/// A claimed virtio-mmio slot: the transport every `virtio-drivers` device driver takes.
pub type Mmio = MmioTransport<'static>;

/// The kernel's frame allocator, as the DMA functions need it.
pub struct DmaHooks {
    /// Allocate `n` physically contiguous frames; the physical address of the first, or `None`.
    pub alloc_contig: fn(n: usize) -> Option<usize>,
    /// Free `n` contiguous frames at `pa` that `alloc_contig` returned.
    pub dealloc_contig: fn(pa: usize, n: usize),
}

static DMA: spin::Once<DmaHooks> = spin::Once::new();
/// Slots handed out by [`open`] (physical base addresses): each is claimed at most once.
static CLAIMED: spin::Mutex<Vec<usize>> = spin::Mutex::new(Vec::new());

/// The kernel maps physical `[0, 2 GiB)` (everything below RAM on QEMU `virt`) read-write as
/// device memory in the direct map; virtio-mmio slots must lie there.
const MMIO_WINDOW_END: usize = 2 << 30;
const MAGIC: u32 = 0x7472_6976; // "virt"
const REG_MAGIC: usize = 0x000;
const REG_DEVICE_ID: usize = 0x008;
/// Smallest slot that holds the register header (the config space follows at 0x100).
const MIN_SLOT: usize = 0x100;

/// Install the DMA allocator callbacks (once, at boot, before any device is opened).
pub fn set_dma_hooks(h: DmaHooks) {
    DMA.call_once(|| h);
}

fn in_window(pa: usize, size: usize) -> bool {
    size >= MIN_SLOT && pa % 4 == 0 && pa.checked_add(size).is_some_and(|e| e <= MMIO_WINDOW_END)
}

fn read_reg(pa: usize, off: usize) -> u32 {
    // SAFETY: `pa` was checked by `in_window`: the register lies in the device window the kernel
    // maps RW at `PHYS_OFFSET + pa`, 4-byte aligned. A 32-bit volatile load of a virtio-mmio
    // header register has no side effects; no Rust reference to this memory exists (slots that
    // a transport owns are never peeked, see `peek`).
    unsafe { ((PHYS_OFFSET + pa + off) as *const u32).read_volatile() }
}

/// Which virtio device sits in the slot at physical `pa` (`size` bytes, from the device tree's
/// `virtio,mmio` node)? `None` for an empty slot (device id 0), a bad magic value, an unknown
/// device type, an address outside the device window, or a slot already claimed.
pub fn peek(pa: usize, size: usize) -> Option<DeviceType> {
    if !in_window(pa, size) || CLAIMED.lock().contains(&pa) {
        return None;
    }
    if read_reg(pa, REG_MAGIC) != MAGIC {
        return None;
    }
    DeviceType::try_from(read_reg(pa, REG_DEVICE_ID)).ok()
}

/// Claim the slot at physical `pa` and return its transport (`None` if the slot is outside the
/// device window, already claimed, empty or not a virtio device the crate supports).
/// Dropping the transport resets the device; the slot stays claimed.
pub fn open(pa: usize, size: usize) -> Option<Mmio> {
    if !in_window(pa, size) {
        return None;
    }
    let mut claimed = CLAIMED.lock();
    if claimed.contains(&pa) || read_reg(pa, REG_MAGIC) != MAGIC {
        return None;
    }
    let header = NonNull::new((PHYS_OFFSET + pa) as *mut VirtIOHeader)?;
    // SAFETY: `[pa, pa+size)` lies in the device window, which the kernel keeps mapped for good
    // (so `'static` holds), and starts with a virtio-mmio header (magic checked). The slot is
    // claimed under the lock before the transport exists and never handed out again, so this
    // is the only pointer to the region (`peek` skips claimed slots).
    let t = unsafe { MmioTransport::new(header, size) }.ok()?;
    claimed.push(pa);
    Some(t)
}

/// `virtio-drivers`' platform interface for Velox: DMA from the kernel's frame allocator through
/// the direct map; device and driver see the same (physical = virtual - `PHYS_OFFSET`) memory,
/// with no IOMMU and no bounce buffers.
pub struct VirtioHal;

fn direct_map_pa(va: usize) -> PhysAddr {
    assert!(va >= PHYS_OFFSET, "virtio buffer {va:#x} is not in the direct map");
    (va - PHYS_OFFSET) as PhysAddr
}

// SAFETY: `dma_alloc` returns fresh, zeroed, page-aligned frames that the frame allocator hands
// to nobody else until `dma_dealloc`; their direct-map address is valid and aliases nothing.
// `mmio_phys_to_virt` is the direct map, which covers the device window. `share` returns the
// physical address of a buffer that lives in the direct map (kernel image, heap or frames: all
// of it), so the device reads and writes exactly the driver's memory; `unshare` has nothing to
// copy back.
unsafe impl Hal for VirtioHal {
    fn dma_alloc(pages: usize, _dir: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let h = DMA.get().expect("virtio DMA used before set_dma_hooks");
        let pa = (h.alloc_contig)(pages).expect("out of memory for virtio DMA");
        for k in 0..pages {
            super::mem::zero_frame(pa + k * PAGE_SIZE);
        }
        let va = NonNull::new((PHYS_OFFSET + pa) as *mut u8).expect("direct map address is not null");
        (pa as PhysAddr, va)
    }

    unsafe fn dma_dealloc(paddr: PhysAddr, _vaddr: NonNull<u8>, pages: usize) -> i32 {
        let h = DMA.get().expect("virtio DMA used before set_dma_hooks");
        (h.dealloc_contig)(paddr as usize, pages);
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        assert!((paddr as usize).checked_add(size).is_some_and(|e| e <= MMIO_WINDOW_END), "virtio MMIO {paddr:#x} outside the device window");
        NonNull::new((PHYS_OFFSET + paddr as usize) as *mut u8).expect("direct map address is not null")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _dir: BufferDirection) -> PhysAddr {
        direct_map_pa(buffer.cast::<u8>().as_ptr() as usize)
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _dir: BufferDirection) {}
}
