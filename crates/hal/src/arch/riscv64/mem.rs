//! Physical memory through the direct map: page-table entries and frame contents.
//!
//! The kernel owns all RAM outside its image; these functions are the only way it touches a
//! physical frame. Each checks that the address lies in the RAM range registered at boot, so a
//! wrong frame number is caught as a panic instead of scribbling over MMIO.

use super::{PAGE_SIZE, PHYS_OFFSET};

// The kernel's memcpy and memset (mem.S): faster than compiler_builtins' generic ones, which
// they replace at link time.
core::arch::global_asm!(include_str!("mem.S"));
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Physical memory as the hardware layer hands it out. Safe code above this layer may read
/// and write *frames* (user pages and page tables, which no Rust object lives in) but never
/// the kernel image, the kernel heap, the boot page-table frames once sealed, or the boot data
/// (device tree, initrd), which it may only read.
#[derive(Debug, Clone, Copy)]
pub struct PhysLayout {
    /// All RAM.
    pub ram: (usize, usize),
    /// The kernel image (text, data, bss, boot stack).
    pub kernel: (usize, usize),
    /// The kernel heap, handed out once by [`init`].
    pub heap: (usize, usize),
    /// Frames for the kernel's own page table (written until [`seal_kernel_tables`]).
    pub ktables: (usize, usize),
    /// The bitmap of frames in use as page tables (one bit per frame of RAM).
    pub table_bits: (usize, usize),
    /// Read-only boot data: the device tree and the initial RAM disk (empty if none).
    pub dtb: (usize, usize),
    pub initrd: (usize, usize),
    /// The frame pool: the only frames the frame allocator may hand out (from the end of the
    /// image, kernel tables and bitmap to the start of the heap; boot data inside it is
    /// reserved by the allocator too).
    pub pool: (usize, usize),
}

static LAYOUT: spin::Once<PhysLayout> = spin::Once::new();
/// One bit per frame (from the image's start): set while the frame is a page table.
static TABLE_BITS: spin::Once<&'static [AtomicU64]> = spin::Once::new();
/// The frame the bitmap's bit 0 stands for (the start of the image).
static BITS_BASE: AtomicUsize = AtomicUsize::new(0);
static KTABLES_SEALED: AtomicBool = AtomicBool::new(false);
/// The common case, checked first (page-table walks call these accessors thousands of times
/// per fork): `[POOL_LOW, POOL_HIGH)`, from the end of the image and the kernel tables that
/// follow it to the start of the heap, is frames, apart from the device tree and the initrd,
/// which can sit among them and are read-only. Anything else (a frame above the heap, say)
/// goes to the full check. `POOL_HIGH` is 0 until `init`, so nothing passes before.
static POOL_LOW: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Reads may also reach the kernel tables (every fork copies the kernel root's upper half).
static READ_LOW: AtomicUsize = AtomicUsize::new(usize::MAX);
static POOL_HIGH: AtomicUsize = AtomicUsize::new(0);
static RO_HOLES: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

const MIB: usize = 1 << 20;
/// Frames reserved for the kernel page table (root, the direct map's tables, the image's 4 KiB tables).
pub const KTABLE_FRAMES: usize = 32;

#[inline(always)]
fn overlaps(a: (usize, usize), s: usize, e: usize) -> bool {
    s < a.1 && a.0 < e
}

/// Lay out physical memory once, at boot: choose the kernel heap (a quarter of RAM, at least
/// 8 MiB, in the highest gap of RAM that avoids the device tree and the RAM disk) and the
/// kernel page-table frames (right after the image), and return the heap's memory. With the
/// image and tables at the bottom and the heap at the top, the frames in between are one
/// range, which keeps the accessors' check to two comparisons. The heap memory is
/// handed out exactly once (a second call panics), so the `&'static mut` is unique.
pub fn init(ram: (usize, usize), dtb: (usize, usize), initrd: Option<(usize, usize)>) -> (&'static mut [MaybeUninit<u8>], PhysLayout) {
    let k = super::boot::kernel_layout();
    let kernel = (virt_to_phys(k.start), virt_to_phys(k.end));
    let initrd = initrd.unwrap_or((0, 0));
    let heap_size = ((ram.1 - ram.0) / 4).max(8 * MIB) & !(MIB - 1);
    let busy = |s: usize, e: usize| overlaps(dtb, s, e) || overlaps(initrd, s, e);
    // Kernel tables right after the image; the heap as high as it fits.
    let mut kt = (kernel.1 + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
    while busy(kt, kt + KTABLE_FRAMES * PAGE_SIZE) {
        kt += PAGE_SIZE;
    }
    let ktables = (kt, kt + KTABLE_FRAMES * PAGE_SIZE);
    let bits_bytes = ((ram.1 - kernel.0) / PAGE_SIZE).div_ceil(64) * 8;
    let mut tb = ktables.1;
    while busy(tb, tb + bits_bytes) {
        tb += PAGE_SIZE;
    }
    let table_bits = (tb, (tb + bits_bytes).next_multiple_of(PAGE_SIZE));
    let mut heap_start = (ram.1 - heap_size) & !(MIB - 1);
    while busy(heap_start, heap_start + heap_size) {
        heap_start = heap_start.checked_sub(MIB).expect("not enough RAM for the kernel heap");
    }
    assert!(heap_start >= table_bits.1, "not enough RAM for the kernel heap");
    let heap = (heap_start, heap_start + heap_size);
    let mut first = false;
    let l = *LAYOUT.call_once(|| {
        first = true;
        let pool = (table_bits.1.max(ktables.1).max(kernel.1), heap.0);
        PhysLayout { ram: (kernel.0, ram.1), kernel, heap, ktables, table_bits, dtb, initrd, pool }
    });
    assert!(first, "hal::mem::init called twice");
    for (i, v) in [l.dtb.0, l.dtb.1, l.initrd.0, l.initrd.1].into_iter().enumerate() {
        RO_HOLES[i].store(v, Ordering::Relaxed);
    }
    // The image and the kernel tables are contiguous unless boot data sat between them; then
    // the frames in that gap take the full check (correct, only slower).
    POOL_LOW.store(l.pool.0, Ordering::Relaxed);
    READ_LOW.store(if l.ktables.0 >= l.kernel.1 { l.ktables.0 } else { l.ktables.1.max(l.kernel.1) }, Ordering::Relaxed);
    // SAFETY: the bitmap range is RAM outside the pool, the heap and the image (chosen above,
    // refused by the write accessors, reserved from the frame allocator), laid out once (the
    // `Once` above), so this is the only reference to it; zeroed AtomicU64s are valid.
    let bits = unsafe {
        let p = phys_to_virt(l.table_bits.0) as *mut u64;
        let n = (l.table_bits.1 - l.table_bits.0) / 8;
        core::ptr::write_bytes(p, 0, n);
        core::slice::from_raw_parts(p as *const AtomicU64, n)
    };
    BITS_BASE.store(l.ram.0, Ordering::Relaxed);
    TABLE_BITS.call_once(|| bits);
    POOL_HIGH.store(l.pool.1, Ordering::Release);
    // SAFETY: the heap range is RAM (checked against the device tree's RAM range above) that
    // no other part of the kernel can reach: the checked accessors below refuse it, the frame
    // allocator is told to reserve it, and this borrow is created once (the `Once` above).
    let mem = unsafe { core::slice::from_raw_parts_mut(phys_to_virt(heap.0) as *mut MaybeUninit<u8>, heap_size) };
    (mem, l)
}

/// The physical layout chosen by [`init`].
pub fn layout() -> Option<&'static PhysLayout> {
    LAYOUT.get()
}

/// The kernel page table is complete: its frames become read-only to the checked accessors
/// (every address space shares its upper half, so nothing may change it afterwards).
pub fn seal_kernel_tables() {
    KTABLES_SEALED.store(true, Ordering::Release);
}

/// Check that `[pa, pa+len)` is memory safe code may access (`write`: also modify); returns
/// its direct-map address. Panics otherwise: a wrong frame number is a kernel bug, caught
/// here instead of scribbling over the heap, the image or MMIO.
#[inline(always)]
fn check(pa: usize, len: usize, write: bool) -> usize {
    let end = pa.wrapping_add(len);
    let r = Ordering::Relaxed;
    let low = if write { POOL_LOW.load(r) } else { READ_LOW.load(r) };
    let pool = pa >= low && end <= POOL_HIGH.load(r) && end >= pa;
    if pool {
        if !write || !(in_ro_hole(0, pa, end) || in_ro_hole(2, pa, end)) {
            return PHYS_OFFSET + pa;
        }
    }
    check_slow(pa, len, write)
}

/// Does `[pa, end)` overlap read-only hole `i` (0 or 2: `RO_HOLES[i]..RO_HOLES[i + 1]`)?
/// (A function, not a closure: the compiler then inlines it on every path that checks a
/// write; as a closure, merged with its twin, it was sometimes called out of line.)
#[inline(always)]
fn in_ro_hole(i: usize, pa: usize, end: usize) -> bool {
    let r = Ordering::Relaxed;
    overlaps((RO_HOLES[i].load(r), RO_HOLES[i + 1].load(r)), pa, end)
}

#[inline(never)]
fn check_slow(pa: usize, len: usize, write: bool) -> usize {
    let l = LAYOUT.get().expect("physical access before hal::mem::init");
    let end = pa.checked_add(len).expect("physical range overflows");
    let ok = pa >= l.ram.0
        && end <= l.ram.1
        && !overlaps(l.kernel, pa, end)
        && !overlaps(l.heap, pa, end)
        && !(write && (overlaps(l.dtb, pa, end) || overlaps(l.initrd, pa, end)))
        && !(write && overlaps(l.table_bits, pa, end))
        && !(write && KTABLES_SEALED.load(Ordering::Acquire) && overlaps(l.ktables, pa, end));
    assert!(ok, "physical access outside the frame pool: {pa:#x}+{len:#x}");
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
    assert!(pa % 8 == 0, "misaligned physical word {pa:#x}");
    let va = check(pa, 8, false);
    // SAFETY: `va` is the direct-map alias of a pool frame or boot data (checked above), which
    // no Rust reference points into, and aligned; a volatile read of it is sound.
    unsafe { (va as *const u64).read_volatile() }
}

/// Write a page-table entry: the 8-byte word at physical address `pa`.
///
/// # Safety
/// `pa` is an entry of a page table the caller owns, and `v` maps only memory that may be
/// reached that way (see `velox_mm::pt::PhysMem::write_pte`): an entry decides what memory
/// user mode and the kernel's user copies reach. (The image, the heap, boot data and the
/// sealed kernel tables are refused all the same.)
#[inline(always)]
pub unsafe fn write_pte(pa: usize, v: u64) {
    assert!(pa % 8 == 0, "misaligned physical word {pa:#x}");
    let va = check(pa, 8, true);
    // SAFETY: as in `read_u64`: a pool frame, which no Rust object lives in; what the value
    // maps is the caller's contract.
    unsafe { (va as *mut u64).write_volatile(v) }
}

/// Fill the page-table entry at physical address `pa` with `v` if it is 0, as one atomic
/// compare-and-swap (harts faulting in one address space at once fill entries of one
/// table); true if written.
///
/// # Safety
/// As [`write_pte`].
#[inline(always)]
pub unsafe fn fill_pte(pa: usize, v: u64) -> bool {
    assert!(pa % 8 == 0, "misaligned physical word {pa:#x}");
    let va = check(pa, 8, true);
    // SAFETY: as in `write_pte`; the word is aligned, and every access to entries other
    // harts may fill at the same time goes through atomics or volatile word accesses.
    let w = unsafe { AtomicU64::from_ptr(va as *mut u64) };
    w.compare_exchange(0, v, Ordering::AcqRel, Ordering::Relaxed).is_ok()
}

/// Index and bit of frame `pa` in the table bitmap.
#[inline(always)]
fn table_bit(pa: usize) -> Option<(&'static AtomicU64, u64)> {
    let bits = TABLE_BITS.get()?;
    let f = pa.wrapping_sub(BITS_BASE.load(Ordering::Relaxed)) / PAGE_SIZE;
    Some((bits.get(f / 64)?, 1 << (f % 64)))
}

/// Record that the frame at `pa` is now a page table: the data accessors below refuse it from
/// here on (a page table's bytes decide what memory is reachable).
pub fn mark_table(pa: usize) {
    if let Some((w, b)) = table_bit(pa) {
        w.fetch_or(b, Ordering::Release);
    }
}

/// The frame at `pa` stops being a page table.
///
/// # Safety
/// No entry of any page table points to it any more (it is being freed).
pub unsafe fn unmark_table(pa: usize) {
    if let Some((w, b)) = table_bit(pa) {
        w.fetch_and(!b, Ordering::Release);
    }
}

/// True while the frame at `pa` is a page table (`mark_table` .. `unmark_table`).
#[inline(always)]
pub fn is_table(pa: usize) -> bool {
    table_bit(pa).is_some_and(|(w, b)| w.load(Ordering::Acquire) & b != 0)
}

/// May a user page map the `size` bytes at `pa`? Only pool frames that are not page tables.
#[inline(always)]
pub fn is_data_frame(pa: usize, size: usize) -> bool {
    let r = Ordering::Relaxed;
    let Some(end) = pa.checked_add(size) else { return false };
    let pool = pa >= POOL_LOW.load(r) && end <= POOL_HIGH.load(r);
    if !pool || in_ro_hole(0, pa, end) || in_ro_hole(2, pa, end) {
        return false;
    }
    if size == PAGE_SIZE { !is_table(pa) } else { (pa..end).step_by(PAGE_SIZE).all(|f| !is_table(f)) }
}

/// `check` for writes of frame contents: never into a page table.
#[inline(always)]
fn check_data(pa: usize, len: usize) -> usize {
    let va = check(pa, len, true);
    let first = pa & !(PAGE_SIZE - 1);
    let ok = (first..pa + len.max(1)).step_by(PAGE_SIZE).all(|f| !is_table(f));
    assert!(ok, "data write into a page table frame: {pa:#x}+{len:#x}");
    va
}

/// Words per frame.
const FRAME_WORDS: usize = PAGE_SIZE / 8;

/// Fill the frame at `pa` with zeros.
///
/// Whole words, 16 to a loop turn (about 1.1 instructions per word; the generic `memset`
/// took about 3.8): zeroing is most of an anonymous page fault and of a new page table.
/// (Volatile stores, so the compiler does not turn the loop back into a `memset` call.)
pub fn zero_frame(pa: usize) {
    let va = check_data(pa, PAGE_SIZE);
    let p = va as *mut u64;
    let mut i = 0;
    while i < FRAME_WORDS {
        for k in 0..16 {
            // SAFETY: `i + k` < 512 words: inside the frame, a pool frame that is not a page
            // table (checked), so no Rust object lives in it and no mapping depends on it; the
            // frame is page aligned, so every word is aligned.
            unsafe { p.add(i + k).write_volatile(0) };
        }
        i += 16;
    }
}

/// Copy the frame at `src` to the frame at `dst`.
///
/// Whole words, 8 to a loop turn (about 2.4 instructions per word; the generic `memcpy`
/// took about 5): a copy-on-write break is mostly this copy.
pub fn copy_frame(dst: usize, src: usize) {
    let (d, s) = (check_data(dst, PAGE_SIZE), check(src, PAGE_SIZE, false));
    assert_ne!(d, s);
    let (d, s) = (d as *mut u64, s as *const u64);
    let mut i = 0;
    while i < FRAME_WORDS {
        let mut w = [0u64; 8];
        for (k, w) in w.iter_mut().enumerate() {
            // SAFETY: `i + k` < 512 words inside `src`, a pool frame or boot data (checked),
            // page aligned; read volatile, as the physical accessors do.
            *w = unsafe { s.add(i + k).read_volatile() };
        }
        for (k, w) in w.iter().enumerate() {
            // SAFETY: inside `dst`, a pool frame that is not a page table (checked) and not
            // `src` (distinct page-aligned frames), page aligned.
            unsafe { d.add(i + k).write_volatile(*w) };
        }
        i += 8;
    }
}

/// Index of the first entry at or after `from` of the page table at `pa` whose valid bit
/// (bit 0) is set, or 512 if none is (`from` may be 512). Eight entries to a loop turn, their
/// bits or-ed together (about 2.4 instructions per empty entry instead of a checked
/// `read_u64` each): the page-table walks of fork, exit and munmap skip empty stretches with it.
pub fn next_valid_pte(pa: usize, from: usize) -> usize {
    if from >= FRAME_WORDS {
        return FRAME_WORDS;
    }
    assert!(pa % PAGE_SIZE == 0, "page table not page aligned: {pa:#x}");
    let p = check(pa, PAGE_SIZE, false) as *const u64;
    // SAFETY: every index used is < 512 words, inside the frame, which is pool memory or boot
    // data (checked above) and page aligned; volatile reads, as `read_u64` does.
    let rd = |i: usize| unsafe { p.add(i).read_volatile() };
    let mut i = from;
    while i % 8 != 0 {
        if rd(i) & 1 != 0 {
            return i;
        }
        i += 1;
    }
    while i < FRAME_WORDS {
        let any = rd(i) | rd(i + 1) | rd(i + 2) | rd(i + 3) | rd(i + 4) | rd(i + 5) | rd(i + 6) | rd(i + 7);
        if any & 1 != 0 {
            return (i..i + 8).find(|&k| rd(k) & 1 != 0).unwrap_or(i + 8);
        }
        i += 8;
    }
    FRAME_WORDS
}

/// Copy `data` into physical memory at `pa` (within one frame or more, none a page table).
pub fn write_phys(pa: usize, data: &[u8]) {
    let va = check_data(pa, data.len());
    // SAFETY: the destination is pool memory outside page tables (every frame checked), where
    // no Rust object lives, so it cannot overlap `data`.
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), va as *mut u8, data.len()) }
}

/// Copy physical memory at `pa` into `out`.
pub fn read_phys(pa: usize, out: &mut [u8]) {
    let va = check(pa, out.len(), false);
    // SAFETY: the source is pool memory or boot data (checked); `out` is a distinct Rust buffer.
    unsafe { core::ptr::copy_nonoverlapping(va as *const u8, out.as_mut_ptr(), out.len()) }
}

/// Borrow `len` bytes of read-only boot data at `pa` (inside the initial RAM disk or the
/// device tree, which the checked accessors never write).
pub fn phys_slice(pa: usize, len: usize) -> &'static [u8] {
    let l = LAYOUT.get().expect("physical access before hal::mem::init");
    let end = pa.checked_add(len).expect("physical range overflows");
    let inside = |r: (usize, usize)| pa >= r.0 && end <= r.1;
    assert!(inside(l.initrd) || inside(l.dtb), "phys_slice outside boot data: {pa:#x}+{len:#x}");
    // SAFETY: boot data is RAM that nothing writes after boot (the accessors refuse writes to
    // it and the frame allocator reserves it), so a `'static` shared borrow is sound.
    unsafe { core::slice::from_raw_parts(phys_to_virt(pa) as *const u8, len) }
}

/// The flattened device tree blob passed by the firmware at physical address `pa`.
///
/// Returns `None` if there is no valid header there, if the blob would overlap the kernel
/// image (whose statics change), or, once [`init`] has run, if it is not the registered
/// device tree (the only RAM outside the pool that nothing ever writes).
///
/// # Safety
/// `pa` must be the address the firmware passed in `a1` at boot (RAM holding the device tree,
/// which nothing writes): the header is read before anything else can be checked.
pub unsafe fn boot_dtb(pa: usize) -> Option<&'static [u8]> {
    let k = super::boot::kernel_layout();
    let kernel = (virt_to_phys(k.start), virt_to_phys(k.end));
    let va = PHYS_OFFSET + pa;
    if overlaps(kernel, pa, pa + 8) {
        return None;
    }
    // SAFETY: the caller passes the firmware's DTB address (contract above); the boot page
    // table (and later the kernel's) maps all RAM in the direct map; the DTB lies outside the
    // image (checked), before any heap exists, and nothing writes it (the accessors refuse it,
    // the frame allocator reserves it). Only `totalsize` bytes are borrowed.
    unsafe {
        let hdr = core::slice::from_raw_parts(va as *const u8, 8);
        if hdr[..4] != [0xd0, 0x0d, 0xfe, 0xed] {
            return None;
        }
        let size = u32::from_be_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]) as usize;
        if overlaps(kernel, pa, pa.checked_add(size)?) {
            return None;
        }
        if let Some(l) = LAYOUT.get() {
            if pa < l.dtb.0 || pa + size > l.dtb.1 {
                return None;
            }
        }
        Some(core::slice::from_raw_parts(va as *const u8, size))
    }
}

/// Access to one pool frame's bytes (a tmpfs page): whoever holds the `FrameBuf` owns the
/// frame's contents for the kernel (the caller frees the frame after dropping it); user
/// space may share the frame through a MAP_SHARED file mapping.
pub struct FrameBuf(core::num::NonZeroUsize); // (never 0: `Option<FrameBuf>` is one word)

impl FrameBuf {
    /// Take the bytes of pool frame `pa`, which the caller just allocated and maps nowhere
    /// (panics for a page-table frame or memory outside the pool).
    pub fn new(pa: usize) -> FrameBuf {
        check_data(pa, PAGE_SIZE);
        FrameBuf(core::num::NonZeroUsize::new(pa).expect("frame 0 is not pool memory"))
    }
    /// The frame's physical address.
    pub fn pa(&self) -> usize {
        self.0.get()
    }
}

impl core::ops::Deref for FrameBuf {
    type Target = [u8; PAGE_SIZE];
    fn deref(&self) -> &[u8; PAGE_SIZE] {
        // SAFETY: `new` checked the frame is pool data memory, handed to the `FrameBuf`'s owner
        // (a tmpfs page) alone: no other Rust reference to it exists. A MAP_SHARED mapping of
        // the file lets user code on another hart write the same bytes meanwhile, as with any
        // memory shared with user space; the bytes are plain `u8` with no validity invariant,
        // the kernel only copies them (a racing user store makes the copy's contents
        // unspecified, not the kernel unsound), and the reference lives for one copy.
        unsafe { &*(phys_to_virt(self.0.get()) as *const [u8; PAGE_SIZE]) }
    }
}

impl core::ops::DerefMut for FrameBuf {
    fn deref_mut(&mut self) -> &mut [u8; PAGE_SIZE] {
        // SAFETY: as in `deref`; `&mut self` makes this the only kernel access.
        unsafe { &mut *(phys_to_virt(self.0.get()) as *mut [u8; PAGE_SIZE]) }
    }
}

/// The bytes of `run`'s frames as one slice, if they are consecutive in physical memory in
/// this order (`None` otherwise): one device read fills them all at once.
pub fn frame_run_bytes<'a, T: AsMut<FrameBuf>>(run: &'a mut [T]) -> Option<&'a mut [u8]> {
    let first = run.first_mut()?.as_mut().pa();
    if !run.iter_mut().enumerate().all(|(k, b)| b.as_mut().pa() == first + k * PAGE_SIZE) {
        return None;
    }
    let va = check_data(first, run.len() * PAGE_SIZE);
    // SAFETY: each frame's bytes belong to its `FrameBuf` (see `deref`), and `run` holds all
    // of them exclusively for 'a; the frames are consecutive physical pages (checked), which
    // the direct map shows at consecutive addresses (a fixed offset), and `check_data` checked
    // the whole range is pool data memory. The slice lives no longer than the borrow.
    Some(unsafe { core::slice::from_raw_parts_mut(va as *mut u8, run.len() * PAGE_SIZE) })
}
