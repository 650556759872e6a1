//! A user address space: a Sv39 page table plus VM areas, with lazy zero-fill page faults.

use super::{KernelPhys, alloc_frame_zeroed, free_frame};
use crate::config;
use linux_raw_sys::errno;
use velox_hal as hal;
use velox_mm::pt::{PageTable, PteFlags};
use velox_mm::vma::{Backing, Prot, Vma, VmaMap};
use velox_mm::{PAGE_SIZE, page_ceil, page_floor};

/// How a page was accessed when it faulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Exec,
}

/// One process's user memory.
pub struct AddrSpace {
    pt: PageTable,
    pub vmas: VmaMap,
    /// Start of the heap (end of the loaded image, page aligned).
    pub brk_start: usize,
    /// Current program break.
    pub brk: usize,
}

fn pte_flags(p: Prot) -> PteFlags {
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

impl AddrSpace {
    /// An empty address space sharing the kernel half. `None` when out of memory.
    pub fn new() -> Option<Self> {
        let mut m = KernelPhys;
        let pt = PageTable::new(&mut m)?;
        pt.share_root_entries(&mut m, &super::kernel_page_table(), 256..512);
        Some(AddrSpace { pt, vmas: VmaMap::new(), brk_start: 0, brk: 0 })
    }

    /// Make this address space the active one on this hart.
    pub fn activate(&self) {
        if hal::cpu::current_page_table() != self.pt.root() {
            activate(self.pt.root());
        }
    }

    /// Resolve a fault at `addr`. True if the page is now mapped and the access may be retried.
    pub fn handle_fault(&mut self, addr: usize, access: Access) -> bool {
        let Some(v) = self.vmas.find(addr) else { return false };
        let ok = match access {
            Access::Read => v.prot.read() || v.prot.write() || v.prot.exec(),
            Access::Write => v.prot.write(),
            Access::Exec => v.prot.exec(),
        };
        if !ok {
            return false;
        }
        let flags = pte_flags(v.prot);
        let va = page_floor(addr);
        if self.pt.translate(&KernelPhys, va).is_some() {
            // Mapped already (another path raced us, or a permission fault): retry only if the
            // rights now allow it; a true permission violation was caught above.
            return true;
        }
        let Some(frame) = alloc_frame_zeroed() else { return false };
        if self.pt.map(&mut KernelPhys, va, frame, flags, 0).is_err() {
            free_frame(frame);
            return false;
        }
        hal::cpu::flush_tlb_page(va);
        true
    }

    /// Add an area. Pages are created on first touch.
    pub fn add_area(&mut self, start: usize, end: usize, prot: Prot, backing: Backing) -> Result<(), u32> {
        if self.vmas.insert(Vma { start, end, prot, backing }) { Ok(()) } else { Err(errno::ENOMEM) }
    }

    /// Copy `data` to user address `va` of this (possibly inactive) address space, creating
    /// pages as needed. Used by the loader before the process first runs.
    pub fn write_bytes(&mut self, mut va: usize, mut data: &[u8]) -> Result<(), u32> {
        while !data.is_empty() {
            let page = page_floor(va);
            let pa = match self.pt.translate(&KernelPhys, page) {
                Some((pa, _)) => pa,
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
            data = &data[n..];
            va += n;
        }
        Ok(())
    }

    /// Unmap `[start, end)`: drop areas and free their frames.
    pub fn unmap(&mut self, start: usize, end: usize) {
        for v in self.vmas.remove(start, end) {
            let mut va = v.start;
            while va < v.end {
                if let Some((pa, _)) = self.pt.unmap(&mut KernelPhys, va) {
                    free_frame(pa);
                    hal::cpu::flush_tlb_page(va);
                }
                va += PAGE_SIZE;
            }
        }
    }

    /// Change the rights of `[start, end)` (ENOMEM if part of it is unmapped).
    pub fn protect(&mut self, start: usize, end: usize, prot: Prot) -> Result<(), u32> {
        if !self.vmas.protect(start, end, prot) {
            return Err(errno::ENOMEM);
        }
        let flags = pte_flags(prot);
        let mut va = start;
        while va < end {
            if self.pt.set_flags(&mut KernelPhys, va, flags) {
                hal::cpu::flush_tlb_page(va);
            }
            va += PAGE_SIZE;
        }
        Ok(())
    }

    /// Pick an address for an mmap of `len` bytes (top-down below the stack).
    pub fn find_free(&self, len: usize) -> Option<usize> {
        self.vmas.find_free_top_down(len, config::MMAP_BOTTOM.max(page_ceil(self.brk)? + (1 << 30)), config::MMAP_TOP)
    }
}

fn activate(root: usize) {
    #[allow(unsafe_code)]
    // SAFETY: every address space's root shares the kernel page table's upper-half entries
    // (copied in `AddrSpace::new`), so the kernel stays mapped identically after the switch.
    unsafe {
        hal::cpu::activate_page_table(root)
    }
}

impl Drop for AddrSpace {
    fn drop(&mut self) {
        if hal::cpu::current_page_table() == self.pt.root() {
            activate(super::kernel_page_table().root());
        }
        self.pt.clear_range(&mut KernelPhys, 0..256, &mut |pa, _| free_frame(pa));
        free_frame(self.pt.root());
    }
}
