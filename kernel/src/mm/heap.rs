//! The kernel heap: size classes (16 B .. 2 KiB, powers of two and 1.5 times them) with O(1)
//! free lists in front of the buddy allocator.
//!
//! `buddy_system_allocator` looks for a freed block's buddy by walking the free list of its
//! size, so freeing is O(free blocks): with tens of thousands of thread records freed in a row
//! (a process of 40,000 threads exiting) that walk made thread exit quadratic. Small blocks
//! now come from 16 KiB chunks cut into equal objects and go back to a per-class LIFO list;
//! chunks are not returned to the buddy allocator (a class keeps its high-water mark), and the
//! objects on the free lists are counted as free memory.
//!
//! Between two powers of two there is a class of 1.5 times the lower one (48, 96, ..., 1536
//! bytes), so an object just past a power of two (a 40-byte queue entry, a 300-byte task)
//! wastes at most a third of its block instead of up to half. An object of a 3·2^k class is
//! aligned to 2^k (objects are cut from 16 KiB-aligned chunks at multiples of their size), at
//! least 16: a layout asking for more alignment than 16 takes a power-of-two class.
//!
//! Each hart keeps its own short free list per class in front of the shared ones, so harts
//! allocating and freeing at once do not meet on the heap's lock: objects move between a
//! hart's list and the shared list in batches. A hart's lists are touched only by that hart,
//! with interrupts off, so they need no lock.

use buddy_system_allocator::Heap;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use velox_exec::sync::Mutex;

const CLASSES: usize = 14; // 16, 32, 48, 64, 96, ..., 1536, 2048 bytes
const MIN_SHIFT: usize = 4;
/// Largest block a class holds.
const MAX_CLASS: usize = 2048;
/// Bytes of each class's objects.
const SIZE: [usize; CLASSES] = [16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048];
const CHUNK: usize = 16 << 10;
/// Bytes of one class a hart keeps on its own list at most (at least `HART_MIN` objects):
/// about 2 KiB per class (3 and 4 KiB for the two largest), about 31 KiB per hart in all,
/// counted as free but usable only by that hart
/// (well inside `config::HEAP_RESERVE` on 8 harts); half moves to or from the shared list
/// at once.
const HART_BYTES: usize = 2048;
const HART_MIN: usize = 2;

const fn hart_cap(c: usize) -> usize {
    let n = HART_BYTES / SIZE[c];
    if n < HART_MIN { HART_MIN } else { n }
}

struct Inner {
    buddy: Heap<32>,
    /// Head of each class's free list (the first word of a free object links to the next).
    free: [usize; CLASSES],
}

/// One hart's free lists.
struct HartLists {
    free: [usize; CLASSES],
    count: [usize; CLASSES],
}

/// A hart's lists, touched only by that hart, and the bytes it handed out minus those it took
/// back (objects move between harts, so one hart's count may go below zero; the sum is what
/// is in use), written by that hart and read by all. Cache-line aligned: no two harts' hot
/// words share a line.
#[repr(align(64))]
struct HartCell(core::cell::UnsafeCell<HartLists>, core::sync::atomic::AtomicIsize);

// SAFETY: the lists are only reached through `KernelHeap::mine`, which hands out the calling
// hart's own record; each hart runs one allocation at a time (interrupts are off in all
// kernel code but the idle loop's wait, which allocates nothing), so two `&mut` to one record
// never exist. The counter is an atomic.
#[allow(unsafe_code)]
unsafe impl Sync for HartCell {}

/// The global allocator.
pub struct KernelHeap {
    shared: Mutex<Inner>,
    harts: [HartCell; MAX_HARTS],
}

use hal::boot::MAX_HARTS;
use velox_hal as hal;

impl KernelHeap {
    /// An empty heap (memory is added by `init`).
    pub const fn new() -> Self {
        KernelHeap {
            shared: Mutex::new(Inner { buddy: Heap::empty(), free: [0; CLASSES] }),
            harts: [const {
                HartCell(
                    core::cell::UnsafeCell::new(HartLists { free: [0; CLASSES], count: [0; CLASSES] }),
                    core::sync::atomic::AtomicIsize::new(0),
                )
            }; MAX_HARTS],
        }
    }

    /// Give the heap its memory (handed out once by the hardware layer, hence `'static mut`).
    #[allow(unsafe_code)]
    pub fn init(&self, mem: &'static mut [core::mem::MaybeUninit<u8>]) {
        // SAFETY: the exclusive `'static` borrow means the heap owns this memory for good:
        // nothing else can read or write it.
        unsafe { self.shared.lock().buddy.init(mem.as_mut_ptr() as usize, mem.len()) }
    }

    /// Bytes handed out to the kernel (objects in use, rounded to their class): the objects on
    /// any free list, a hart's or the shared one, count as free.
    pub fn used(&self) -> usize {
        let sum: isize = self.harts.iter().map(|h| h.1.load(core::sync::atomic::Ordering::Relaxed)).sum();
        sum.max(0) as usize
    }

    /// This hart's lists and counter.
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    fn mine(&self) -> (&mut HartLists, &core::sync::atomic::AtomicIsize) {
        let cell = &self.harts[hal::cpu::hart_index()];
        // SAFETY: see `HartCell`: only this hart reaches its lists, one allocation at a time.
        #[allow(unsafe_code)]
        (unsafe { &mut *cell.0.get() }, &cell.1)
    }

    /// Move up to half a hart list's worth of objects of class `c` from the shared list
    /// (cutting a new chunk if it is empty) to `h`; false if the heap is exhausted.
    #[cold]
    fn refill(&self, h: &mut HartLists, c: usize) -> bool {
        let size = SIZE[c];
        let mut s = self.shared.lock();
        for _ in 0..hart_cap(c).div_ceil(2) {
            if s.free[c] == 0 {
                let Ok(chunk) = s.buddy.alloc(Layout::from_size_align(CHUNK, CHUNK).unwrap()) else {
                    break;
                };
                let base = chunk.as_ptr() as usize;
                // Thread the new objects onto the list, lowest address first out.
                let mut next = 0;
                for i in (0..CHUNK / size).rev() {
                    let obj = base + i * size;
                    // SAFETY: `obj` is inside the chunk just allocated and 16-byte aligned.
                    #[allow(unsafe_code)]
                    unsafe {
                        (obj as *mut usize).write(next)
                    };
                    next = obj;
                }
                s.free[c] = next;
            }
            let obj = s.free[c];
            // SAFETY: `obj` is a free object of this class; its first word is the link.
            #[allow(unsafe_code)]
            unsafe {
                s.free[c] = (obj as *const usize).read();
                (obj as *mut usize).write(h.free[c]);
            }
            h.free[c] = obj;
            h.count[c] += 1;
        }
        h.count[c] > 0
    }

    /// Move half of a full hart list of class `c` back to the shared list.
    #[cold]
    fn spill(&self, h: &mut HartLists, c: usize) {
        let mut s = self.shared.lock();
        for _ in 0..hart_cap(c) / 2 {
            let obj = h.free[c];
            // SAFETY: `obj` is on the hart's list (count > 0); its first word is the link.
            #[allow(unsafe_code)]
            unsafe {
                h.free[c] = (obj as *const usize).read();
                (obj as *mut usize).write(s.free[c]);
            }
            s.free[c] = obj;
            h.count[c] -= 1;
        }
    }
}

/// Bytes of heap a block of `n` bytes (alignment at most 16) really takes (its class's size;
/// past the classes, a power of two), as `KernelHeap::used` counts it.
pub fn block_bytes(n: usize) -> usize {
    match n {
        0 => 0,
        1..=MAX_CLASS => SIZE[CLASS_OF[(n - 1) >> MIN_SHIFT] as usize],
        _ => n.next_power_of_two(),
    }
}

/// The class of a layout, `None` past the largest. A table lookup: without the Zbb extension
/// `next_power_of_two` is a software count of leading zeros (about 40 instructions).
#[inline(always)]
fn class_of(l: &Layout) -> Option<usize> {
    // (A 3·2^k class aligns its objects to 2^k only: more than 16 takes a power of two, the
    // smallest class at least as large as both the size and the alignment.)
    let size = if l.align() <= 1 << MIN_SHIFT { l.size() } else { l.size().max(l.align()).next_power_of_two() };
    let i = size.saturating_sub(1) >> MIN_SHIFT;
    (i < CLASS_OF.len()).then(|| CLASS_OF[i] as usize)
}

/// `CLASS_OF[(size - 1) / 16]`: the class of a block of `size` bytes (1..=2048).
static CLASS_OF: [u8; MAX_CLASS >> MIN_SHIFT] = {
    let mut t = [0u8; MAX_CLASS >> MIN_SHIFT];
    let mut i = 0;
    while i < t.len() {
        // Blocks of (i * 16, (i + 1) * 16] bytes: the smallest class that covers (i + 1) * 16.
        let mut c = 0;
        while SIZE[c] < (i + 1) << MIN_SHIFT {
            c += 1;
        }
        t[i] = c as u8;
        i += 1;
    }
    t
};

// Every class's objects are 16-byte aligned when cut at multiples of their size from a chunk,
// and a power-of-two class's are aligned to their size.
const _: () = {
    let mut c = 0;
    while c < CLASSES {
        assert!(SIZE[c] % (1 << MIN_SHIFT) == 0 && CHUNK % SIZE[c].next_power_of_two() == 0);
        c += 1;
    }
    assert!(SIZE[CLASSES - 1] == MAX_CLASS);
};

// SAFETY: every block handed out is either a buddy block of the requested layout or an object
// of a size class at least as large and aligned (objects are cut at multiples of their size
// from 16 KiB-aligned chunks: a 2^k class aligns to 2^k, a 3·2^k class to 2^k and at least
// 16, and `class_of` sends a layout aligned to more than 16 to a power-of-two class); a
// block is on at most one free list (a hart's or the shared one).
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let (h, used) = self.mine();
        let Some(c) = class_of(&l) else {
            let p = self.shared.lock().buddy.alloc(l).map_or(core::ptr::null_mut(), |p| p.as_ptr());
            if !p.is_null() {
                used.fetch_add(big_bytes(&l) as isize, core::sync::atomic::Ordering::Relaxed);
            }
            return p;
        };
        if h.count[c] == 0 && !self.refill(h, c) {
            return core::ptr::null_mut();
        }
        let obj = h.free[c];
        // SAFETY: `obj` is a free object of this class on this hart's list; its first word is
        // the link.
        h.free[c] = unsafe { (obj as *const usize).read() };
        h.count[c] -= 1;
        add(used, SIZE[c] as isize);
        obj as *mut u8
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        let (h, used) = self.mine();
        match class_of(&l) {
            Some(c) => {
                if h.count[c] == hart_cap(c) {
                    self.spill(h, c);
                }
                // SAFETY: `p` was allocated from this class (same layout) and is now free.
                unsafe { (p as *mut usize).write(h.free[c]) };
                h.free[c] = p as usize;
                h.count[c] += 1;
                add(used, -(SIZE[c] as isize));
            }
            None => {
                // SAFETY: `p` came from the buddy allocator with this layout.
                unsafe { self.shared.lock().buddy.dealloc(NonNull::new(p).expect("null free"), l) };
                used.fetch_sub(big_bytes(&l) as isize, core::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}

/// Add to a hart's own counter: only this hart writes it, so a load and a store (no AMO).
#[inline(always)]
fn add(u: &core::sync::atomic::AtomicIsize, d: isize) {
    u.store(u.load(core::sync::atomic::Ordering::Relaxed) + d, core::sync::atomic::Ordering::Relaxed);
}

/// Bytes the buddy allocator takes for a block bigger than the classes.
fn big_bytes(l: &Layout) -> usize {
    l.size().max(l.align()).next_power_of_two()
}
