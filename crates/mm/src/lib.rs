//! Pure memory-management logic for Velox: no hardware access, tested on the host.
//!
//! - [`frame`]: physical frame allocator (bitmap, O(1) amortised, exhaustion is `None`).
//! - [`pt`]: Sv39 page tables written against the [`pt::PhysMem`] trait, so the same code runs
//!   on the kernel's direct map and on a host emulator in tests.
//! - [`vma`]: a process's virtual memory areas (split/merge for mmap, munmap, mprotect, brk).
//! - [`asid`]: the generation arithmetic of the ASID allocator.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod asid;
pub mod frame;
pub mod pt;
pub mod vma;

/// Size of a base page.
pub const PAGE_SIZE: usize = 4096;

/// Round `x` down to a page boundary.
pub const fn page_floor(x: usize) -> usize {
    x & !(PAGE_SIZE - 1)
}

/// Round `x` up to a page boundary (`None` on overflow).
pub const fn page_ceil(x: usize) -> Option<usize> {
    match x.checked_add(PAGE_SIZE - 1) {
        Some(v) => Some(v & !(PAGE_SIZE - 1)),
        None => None,
    }
}
