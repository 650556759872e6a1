//! The kernel heap: power-of-two size classes (16 B .. 2 KiB) with O(1) free lists in front of
//! the buddy allocator.
//!
//! `buddy_system_allocator` looks for a freed block's buddy by walking the free list of its
//! size, so freeing is O(free blocks): with tens of thousands of thread records freed in a row
//! (a process of 40,000 threads exiting) that walk made thread exit quadratic. Small blocks
//! now come from 16 KiB chunks cut into equal objects and go back to a per-class LIFO list;
//! chunks are not returned to the buddy allocator (a class keeps its high-water mark), and the
//! objects on the free lists are counted as free memory.

use buddy_system_allocator::Heap;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use velox_exec::sync::Mutex;

const CLASSES: usize = 8; // 16, 32, ..., 2048 bytes
const MIN_SHIFT: usize = 4;
const CHUNK: usize = 16 << 10;

struct Inner {
    buddy: Heap<32>,
    /// Head of each class's free list (the first word of a free object links to the next).
    free: [usize; CLASSES],
    /// Bytes sitting on the free lists.
    free_bytes: usize,
}

/// The global allocator. `used` mirrors the bytes in use after every change, so admission
/// checks (`heap_low`) read it without taking the lock.
pub struct KernelHeap(Mutex<Inner>, core::sync::atomic::AtomicUsize);

impl KernelHeap {
    /// An empty heap (memory is added by `init`).
    pub const fn new() -> Self {
        KernelHeap(Mutex::new(Inner { buddy: Heap::empty(), free: [0; CLASSES], free_bytes: 0 }), core::sync::atomic::AtomicUsize::new(0))
    }

    /// Give the heap its memory (handed out once by the hardware layer, hence `'static mut`).
    #[allow(unsafe_code)]
    pub fn init(&self, mem: &'static mut [core::mem::MaybeUninit<u8>]) {
        // SAFETY: the exclusive `'static` borrow means the heap owns this memory for good:
        // nothing else can read or write it.
        unsafe { self.0.lock().buddy.init(mem.as_mut_ptr() as usize, mem.len()) }
    }

    /// Bytes handed out to the kernel (objects in use, rounded to their class).
    #[inline(always)]
    pub fn used(&self) -> usize {
        self.1.load(core::sync::atomic::Ordering::Relaxed)
    }

    #[inline(always)]
    fn note(&self, h: &Inner) {
        self.1.store(h.buddy.stats_alloc_actual() - h.free_bytes, core::sync::atomic::Ordering::Relaxed);
    }
}

/// Bytes of heap a block of `n` bytes really takes (every size rounds up to a power of two,
/// at least 16), as `KernelHeap::used` counts it.
pub fn block_bytes(n: usize) -> usize {
    if n == 0 { 0 } else { n.next_power_of_two().max(1 << MIN_SHIFT) }
}

fn class_of(l: &Layout) -> Option<usize> {
    let size = l.size().max(l.align()).max(1 << MIN_SHIFT);
    let c = size.next_power_of_two().trailing_zeros() as usize - MIN_SHIFT;
    (c < CLASSES).then_some(c)
}

// SAFETY: every block handed out is either a buddy block of the requested layout or an object
// of a size class at least as large and aligned (objects are cut at multiples of their
// power-of-two size from 16 KiB-aligned chunks); a block is on at most one free list.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let mut h = self.0.lock();
        let Some(c) = class_of(&l) else {
            let p = h.buddy.alloc(l).map_or(core::ptr::null_mut(), |p| p.as_ptr());
            self.note(&h);
            return p;
        };
        let size = 1usize << (c + MIN_SHIFT);
        if h.free[c] == 0 {
            let Ok(chunk) = h.buddy.alloc(Layout::from_size_align(CHUNK, CHUNK).unwrap()) else {
                return core::ptr::null_mut();
            };
            let base = chunk.as_ptr() as usize;
            // Thread the new objects onto the list, lowest address first out.
            let mut next = 0;
            for i in (0..CHUNK / size).rev() {
                let obj = base + i * size;
                // SAFETY: `obj` is inside the chunk just allocated and 16-byte aligned.
                unsafe { (obj as *mut usize).write(next) };
                next = obj;
            }
            h.free[c] = next;
            h.free_bytes += CHUNK;
        }
        let obj = h.free[c];
        // SAFETY: `obj` is a free object of this class; its first word is the link.
        h.free[c] = unsafe { (obj as *const usize).read() };
        h.free_bytes -= size;
        self.note(&h);
        obj as *mut u8
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        let mut h = self.0.lock();
        match class_of(&l) {
            Some(c) => {
                // SAFETY: `p` was allocated from this class (same layout) and is now free.
                unsafe { (p as *mut usize).write(h.free[c]) };
                h.free[c] = p as usize;
                h.free_bytes += 1 << (c + MIN_SHIFT);
            }
            // SAFETY: `p` came from the buddy allocator with this layout.
            None => unsafe { h.buddy.dealloc(NonNull::new(p).expect("null free"), l) },
        }
        self.note(&h);
    }
}
