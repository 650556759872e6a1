//! Physical memory through the direct map: page-table entries and frame contents.
//!
//! The kernel owns all RAM outside its image; these functions are the only way it touches a
//! physical frame. Each checks that the address lies in the RAM range registered at boot, so a
//! wrong frame number is caught as a panic instead of scribbling over MMIO.

use super::{PAGE_SIZE, PHYS_OFFSET};
use core::sync::atomic::{AtomicUsize, Ordering};

static RAM_START: AtomicUsize = AtomicUsize::new(0);
static RAM_END: AtomicUsize = AtomicUsize::new(0);

/// Register the RAM range (from the device tree). Called once at boot.
pub fn set_ram_range(start: usize, end: usize) {
    RAM_START.store(start, Ordering::Relaxed);
    RAM_END.store(end, Ordering::Relaxed);
}

#[inline(always)]
fn check(pa: usize, len: usize) -> usize {
    let ok = pa >= RAM_START.load(Ordering::Relaxed)
        && pa.checked_add(len).is_some_and(|e| e <= RAM_END.load(Ordering::Relaxed));
    assert!(ok, "physical access outside RAM: {pa:#x}+{len:#x}");
    PHYS_OFFSET + pa
}

/// Kernel virtual address of physical address `pa` (direct map).
#[inline(always)]
pub const fn phys_to_virt(pa: usize) -> usize {
    pa + PHYS_OFFSET
}

/// Physical address of a direct-map or kernel-image virtual address.
#[inline(always)]
pub const fn virt_to_phys(va: usize) -> usize {
    va - PHYS_OFFSET
}

/// Read the 8-byte word at physical address `pa` (8-byte aligned).
#[inline]
pub fn read_u64(pa: usize) -> u64 {
    let va = check(pa, 8);
    // SAFETY: `va` is the direct-map alias of RAM (checked above), aligned by the caller's
    // contract (page-table entries); a volatile read cannot violate Rust aliasing rules here.
    unsafe { (va as *const u64).read_volatile() }
}

/// Write the 8-byte word at physical address `pa`.
#[inline]
pub fn write_u64(pa: usize, v: u64) {
    let va = check(pa, 8);
    // SAFETY: as in `read_u64`; the caller owns the frame (a page table of its own).
    unsafe { (va as *mut u64).write_volatile(v) }
}

/// Fill the frame at `pa` with zeros.
pub fn zero_frame(pa: usize) {
    let va = check(pa, PAGE_SIZE);
    // SAFETY: the whole frame lies in RAM (checked) and belongs to the caller.
    unsafe { core::ptr::write_bytes(va as *mut u8, 0, PAGE_SIZE) }
}

/// Copy the frame at `src` to the frame at `dst`.
pub fn copy_frame(dst: usize, src: usize) {
    let (d, s) = (check(dst, PAGE_SIZE), check(src, PAGE_SIZE));
    assert_ne!(d, s);
    // SAFETY: both frames are in RAM and distinct (checked), so the ranges do not overlap.
    unsafe { core::ptr::copy_nonoverlapping(s as *const u8, d as *mut u8, PAGE_SIZE) }
}

/// Copy `data` into physical memory at `pa`.
pub fn write_phys(pa: usize, data: &[u8]) {
    let va = check(pa, data.len());
    // SAFETY: destination range is RAM owned by the caller and cannot overlap `data`, which
    // is a live Rust slice the caller lent us (the caller does not pass a slice of its own frame).
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), va as *mut u8, data.len()) }
}

/// Copy physical memory at `pa` into `out`.
pub fn read_phys(pa: usize, out: &mut [u8]) {
    let va = check(pa, out.len());
    // SAFETY: source range is RAM; `out` is a distinct live buffer.
    unsafe { core::ptr::copy_nonoverlapping(va as *const u8, out.as_mut_ptr(), out.len()) }
}

/// Borrow `len` bytes of physical memory at `pa` that nobody writes while the borrow lives
/// (the initial RAM disk, which the frame allocator never hands out).
pub fn phys_slice(pa: usize, len: usize) -> &'static [u8] {
    let va = check(pa, len);
    // SAFETY: in RAM (checked); the caller reserved the range from the allocator for good,
    // so it is never written again and `'static` shared access is sound.
    unsafe { core::slice::from_raw_parts(va as *const u8, len) }
}

/// The flattened device tree blob passed by the firmware at physical address `pa`.
///
/// Returns `None` if there is no valid header there.
pub fn boot_dtb(pa: usize) -> Option<&'static [u8]> {
    let va = PHYS_OFFSET + pa;
    // SAFETY: the boot page table (and later the kernel's) maps all RAM in the direct map; the
    // firmware placed the DTB in RAM and nothing writes it (the frame allocator reserves it).
    // The header is read first, and only `totalsize` bytes are borrowed.
    unsafe {
        let hdr = core::slice::from_raw_parts(va as *const u8, 8);
        if hdr[..4] != [0xd0, 0x0d, 0xfe, 0xed] {
            return None;
        }
        let size = u32::from_be_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]) as usize;
        Some(core::slice::from_raw_parts(va as *const u8, size))
    }
}
