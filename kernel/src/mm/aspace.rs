//! A user address space: a Sv39 page table plus VM areas, with lazy zero-fill page faults.

use super::{KernelPhys, alloc_frame, alloc_frame_zeroed, frame_refs, free_frame, share_frame};
use crate::config;
use core::sync::atomic::{AtomicUsize, Ordering};
use linux_raw_sys::errno;
use velox_exec::sync::Mutex;
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
/// space behind a lock. Freed when the last thread using it lets go.
pub struct Mm {
    pub id: usize,
    /// Root page-table frame (fixed for the life of the address space).
    root: usize,
    pub space: Mutex<AddrSpace>,
}

impl Mm {
    /// Wrap an address space.
    pub fn new(space: AddrSpace) -> Mm {
        Mm { id: NEXT_MM_ID.fetch_add(1, Ordering::Relaxed), root: space.pt.root(), space: Mutex::new(space) }
    }

    /// Physical address of the root page table.
    #[inline(always)]
    pub fn root(&self) -> usize {
        self.root
    }

    /// Make this address space the active one on this hart (no lock taken).
    #[inline]
    pub fn activate(&self) {
        if hal::cpu::current_page_table() != self.root {
            activate(self.root);
        }
    }
}

/// One process's user memory.
pub struct AddrSpace {
    pt: PageTable,
    pub vmas: VmaMap,
    /// Start of the heap (end of the loaded image, page aligned).
    pub brk_start: usize,
    /// Current program break.
    pub brk: usize,
    /// Lowest address mmap placed an area at (where the next top-down search starts).
    mmap_low: usize,
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
        Some(AddrSpace { pt, vmas: VmaMap::new(), brk_start: 0, brk: 0, mmap_low: config::MMAP_TOP })
    }

    /// Resolve a fault at `addr`. `Mapped` only if the page now allows the access, so a retry
    /// cannot fault the same way again (no retry loops). Runs on the trap fast path: zero-fill
    /// of untouched pages and copy-on-write copies.
    pub fn handle_fault(&mut self, addr: usize, access: Access) -> Fault {
        let Some(v) = self.vmas.find(addr) else { return Fault::Denied };
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
        if let Some((pa, f)) = self.pt.translate(&KernelPhys, va) {
            if access == Access::Write && f.contains(PteFlags::COW) {
                return self.break_cow(va, pa, flags);
            }
            if !allows(f, access) {
                // The entry disagrees with its area (should not happen): believe the area.
                let fixed = if f.contains(PteFlags::COW) { cow_flags(flags) } else { flags };
                self.pt.set_flags(&mut KernelPhys, va, fixed | PteFlags::V);
                hal::cpu::flush_tlb_page(va);
                return if allows(fixed, access) { Fault::Mapped } else { Fault::Denied };
            }
            // Mapped already (another path raced us, or a stale TLB entry): retry.
            hal::cpu::flush_tlb_page(va);
            return Fault::Mapped;
        }
        let Some(frame) = alloc_frame_zeroed() else { return Fault::NoMemory };
        if self.pt.map(&mut KernelPhys, va, frame, flags, 0).is_err() {
            free_frame(frame);
            return Fault::NoMemory;
        }
        if v.prot.exec() {
            hal::cpu::note_code_written();
        }
        hal::cpu::flush_tlb_page(va);
        Fault::Mapped
    }

    /// Give `va` (mapped copy-on-write to `pa`) a private writable frame: the same frame if
    /// nobody else maps it any more, else a copy.
    fn break_cow(&mut self, va: usize, pa: usize, flags: PteFlags) -> Fault {
        let target = if frame_refs(pa) == 1 {
            pa
        } else {
            let Some(new) = alloc_frame() else { return Fault::NoMemory };
            hal::mem::copy_frame(new, pa);
            free_frame(pa);
            new
        };
        // Same leaf, new frame and flags: no table can be needed, so this cannot fail.
        self.pt.unmap(&mut KernelPhys, va);
        if self.pt.map(&mut KernelPhys, va, target, flags, 0).is_err() {
            free_frame(target);
            return Fault::NoMemory;
        }
        if flags.contains(PteFlags::X) {
            hal::cpu::note_code_written();
        }
        hal::cpu::flush_tlb_page(va);
        Fault::Mapped
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
        let (vmas, cpt) = (&self.vmas, child.pt);
        // The area of the last page seen: leaves come in address order, so one look-up per area.
        let mut area: Option<Vma> = None;
        let r = self.pt.fork_leaves(&mut KernelPhys, &cpt, &mut |va, pte| {
            if !area.is_some_and(|v| v.start <= va && va < v.end) {
                area = vmas.find(va).copied();
            }
            let shared = area.is_some_and(|v| v.backing == Backing::Shared);
            let f = flags_of(pte) - PteFlags::V;
            let new = make_pte(pte_addr(pte), if shared { f } else { cow_flags(f) } | PteFlags::V);
            share_frame(pte_addr(pte)).then_some((new, new))
        });
        hal::cpu::flush_tlb_all();
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
                        Fault::Denied => return Err(errno::EFAULT),
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
        let Some(v) = self.vmas.find(start).copied() else { return Err(errno::ENOMEM) };
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
            if v.backing == Backing::Anon {
                let mut any = false;
                self.pt.for_each_leaf_in(&mut KernelPhys, va, stop, &mut |_, pte| {
                    free_frame(pte_addr(pte));
                    any = true;
                    0
                });
                if any {
                    hal::cpu::flush_tlb_all(); // after the entries are gone
                }
            }
            va = stop;
        }
        Ok(())
    }

    /// Unmap `[start, end)`: drop areas and free their frames.
    pub fn unmap(&mut self, start: usize, end: usize) {
        for v in self.vmas.remove(start, end) {
            let mut any = false;
            self.pt.for_each_leaf_in(&mut KernelPhys, v.start, v.end, &mut |_, pte| {
                free_frame(pte_addr(pte));
                any = true;
                0
            });
            if any {
                // Empty tables would otherwise pile up (fork and teardown walk them). Checking
                // a table costs 512 reads, so small unmaps skip it; mmap reuses their space.
                if v.end - v.start >= PRUNE_MIN {
                    self.pt.prune(&mut KernelPhys, v.start, v.end);
                }
                // After the entries (and pruned table pointers) are gone, before anything can
                // reuse the frames (one hart: nothing runs in between).
                hal::cpu::flush_tlb_all();
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
            hal::cpu::flush_tlb_all(); // after the entries changed
        }
        Ok(())
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
        #[allow(unsafe_code)]
        // SAFETY: the root came from `alloc_table`; no hart uses it (switched away above) and
        // no table points to a root.
        unsafe {
            KernelPhys.free_table(self.pt.root())
        };
    }
}
