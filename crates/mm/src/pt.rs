//! Sv39 page tables over an abstract physical memory ([`PhysMem`]).

use bitflags::bitflags;

bitflags! {
    /// Sv39 page-table entry flag bits.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct PteFlags: u64 {
        const V = 1 << 0;
        const R = 1 << 1;
        const W = 1 << 2;
        const X = 1 << 3;
        const U = 1 << 4;
        const G = 1 << 5;
        const A = 1 << 6;
        const D = 1 << 7;
        /// Software bit: copy-on-write page (write faults copy it).
        const COW = 1 << 8;
    }
}

/// What a page table needs from physical memory: read/write entries of table frames and get
/// zeroed frames for new tables.
///
/// Writing an entry decides what memory becomes reachable through the table, so it is
/// `unsafe`; `PageTable` is the safe interface: it writes only zeros, pointers to tables it got
/// from `alloc_table`, and leaves whose frame `leaf_ok` accepted.
pub trait PhysMem {
    /// Read entry `idx` of the table at physical address `table`.
    fn read_pte(&self, table: usize, idx: usize) -> u64;
    /// Write entry `idx` of the table at physical address `table`.
    ///
    /// # Safety
    /// `table` is a table frame the caller's page table owns, and `pte` is 0, a pointer to a
    /// table from `alloc_table` that nothing else points to, or a leaf `leaf_ok` accepted.
    unsafe fn write_pte(&mut self, table: usize, idx: usize, pte: u64);
    /// Write `pte` into entry `idx` of `table` if that entry is 0, as one atomic
    /// compare-and-swap against others doing the same at once (faults that share a table);
    /// true if written. The default, for memories only one thread uses, reads then writes.
    ///
    /// # Safety
    /// As [`write_pte`](Self::write_pte).
    unsafe fn fill_pte(&mut self, table: usize, idx: usize, pte: u64) -> bool {
        if self.read_pte(table, idx) != 0 {
            return false;
        }
        // SAFETY: forwarded.
        unsafe { self.write_pte(table, idx, pte) };
        true
    }
    /// A zeroed frame for a new table, or `None` when memory is exhausted.
    fn alloc_table(&mut self) -> Option<usize>;
    /// Give back a table frame.
    ///
    /// # Safety
    /// `table` came from `alloc_table` and no entry points to it any more.
    unsafe fn free_table(&mut self, table: usize);
    /// May a leaf map the `size` bytes at `pa`? (The kernel allows user tables to map only
    /// frames of the pool that are not page tables; the default allows all.)
    fn leaf_ok(&self, _pa: usize, _size: usize) -> bool {
        true
    }
    /// Index of the first valid entry of `table` at or after `from`, or 512 if there is none
    /// (`from` may be 512). The walks skip empty entries with it: a process's tables are
    /// mostly empty, and one `read_pte` per entry made scanning them the bulk of fork and
    /// exit. Implementations may read the table in bulk; the result must be what this
    /// default computes.
    fn next_valid(&self, table: usize, from: usize) -> usize {
        (from..512).find(|&i| self.read_pte(table, i) & PteFlags::V.bits() != 0).unwrap_or(512)
    }
}

/// Why a mapping could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    /// No frame for an intermediate table.
    NoMemory,
    /// Something is already mapped there.
    AlreadyMapped,
    /// Address not aligned for the requested page size, or not canonical.
    BadAddress,
    /// Flags without R, W or X (that would be a table pointer), or a frame `leaf_ok` refuses.
    BadLeaf,
}

const PPN_MASK: u64 = (1 << 44) - 1;

/// Build a leaf or table entry.
pub const fn make_pte(pa: usize, flags: PteFlags) -> u64 {
    (((pa >> 12) as u64) << 10) | flags.bits()
}

/// Physical address an entry points to.
pub const fn pte_addr(pte: u64) -> usize {
    (((pte >> 10) & PPN_MASK) << 12) as usize
}

/// Flags of an entry.
pub const fn pte_flags(pte: u64) -> PteFlags {
    PteFlags::from_bits_truncate(pte & 0x3ff)
}

fn is_leaf(pte: u64) -> bool {
    pte & (PteFlags::R.bits() | PteFlags::W.bits() | PteFlags::X.bits()) != 0
}

fn vpn(va: usize, level: usize) -> usize {
    (va >> (12 + 9 * level)) & 0x1ff
}

fn canonical(va: usize) -> bool {
    let top = (va as isize) >> 38;
    top == 0 || top == -1
}

/// Where the 4 KiB leaf entry of one virtual address lives (its level-0 table and index), as
/// [`PageTable::leaf_slot`] found it: a page fault reads the entry and fills it with one walk.
/// Valid only until the table's structure changes (`prune`, `clear_range`): use it at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafSlot {
    root: usize,
    table: usize,
    idx: usize,
}

/// A Sv39 page table, identified by its root frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageTable {
    root: usize,
}

impl PageTable {
    /// Allocate an empty root table.
    pub fn new(mem: &mut impl PhysMem) -> Option<Self> {
        Some(PageTable { root: mem.alloc_table()? })
    }

    /// Use an existing root table at `root`.
    ///
    /// # Safety
    /// `root` is a live root table (its entries are trusted by every walk).
    pub const unsafe fn from_root(root: usize) -> Self {
        PageTable { root }
    }

    /// Physical address of the root table (for satp).
    pub const fn root(&self) -> usize {
        self.root
    }

    /// Copy the valid root entries `range` of `other` into this table (shares the kernel half
    /// between address spaces). Entries `other` leaves invalid are not touched: this table's
    /// are expected to be empty there (a fresh root).
    ///
    /// # Safety
    /// `other` is a real page table whose entries in `range` may be shared (the kernel's own,
    /// which never changes after boot), and `self` owns its root.
    pub unsafe fn share_root_entries(&self, mem: &mut impl PhysMem, other: &PageTable, range: core::ops::Range<usize>) {
        let mut i = mem.next_valid(other.root, range.start);
        while i < range.end {
            let e = mem.read_pte(other.root, i);
            if e != mem.read_pte(self.root, i) {
                // SAFETY: forwarded from the caller's contract.
                unsafe { mem.write_pte(self.root, i, e) };
            }
            i = mem.next_valid(other.root, i + 1);
        }
    }

    /// Map `va` to `pa` with a page of level `level` (0: 4 KiB, 1: 2 MiB, 2: 1 GiB).
    #[inline]
    pub fn map(&self, mem: &mut impl PhysMem, va: usize, pa: usize, flags: PteFlags, level: usize) -> Result<(), MapError> {
        if !mem.leaf_ok(pa, 1usize << (12 + 9 * level.min(2))) {
            return Err(MapError::BadLeaf);
        }
        // SAFETY: `leaf_ok` accepted the frame.
        unsafe { self.map_checked_frame(mem, va, pa, flags, level) }
    }

    /// `map` for a frame already known to be acceptable (say, one another page table maps as
    /// a leaf: fork shares it copy-on-write), without asking `leaf_ok` again.
    ///
    /// # Safety
    /// `leaf_ok(pa, size)` would accept the frame.
    pub unsafe fn map_checked_frame(&self, mem: &mut impl PhysMem, va: usize, pa: usize, flags: PteFlags, level: usize) -> Result<(), MapError> {
        let size = 1usize << (12 + 9 * level);
        if level > 2 || va % size != 0 || pa % size != 0 || !canonical(va) {
            return Err(MapError::BadAddress);
        }
        if !flags.intersects(PteFlags::R | PteFlags::W | PteFlags::X) {
            return Err(MapError::BadLeaf);
        }
        let mut table = self.root;
        for l in (level + 1..=2).rev() {
            let idx = vpn(va, l);
            let e = mem.read_pte(table, idx);
            if e & PteFlags::V.bits() == 0 {
                let t = mem.alloc_table().ok_or(MapError::NoMemory)?;
                // SAFETY: `table` is ours (reached from our root); `t` is a fresh table.
                unsafe { mem.write_pte(table, idx, make_pte(t, PteFlags::V)) };
                table = t;
            } else if is_leaf(e) {
                return Err(MapError::AlreadyMapped);
            } else {
                table = pte_addr(e);
            }
        }
        let idx = vpn(va, level);
        if mem.read_pte(table, idx) & PteFlags::V.bits() != 0 {
            return Err(MapError::AlreadyMapped);
        }
        // SAFETY: `table` is ours; the leaf has R/W/X and a frame `leaf_ok` accepts (checked
        // by `map`, or the caller's contract).
        unsafe { mem.write_pte(table, idx, make_pte(pa, flags | PteFlags::V)) };
        Ok(())
    }

    /// The level-0 slot of `va` if the tables above it exist (whatever the entry holds);
    /// `None` if one is missing, a huge leaf covers `va`, or `va` is not canonical.
    #[inline(always)]
    pub fn leaf_slot(&self, mem: &impl PhysMem, va: usize) -> Option<LeafSlot> {
        if !canonical(va) {
            return None;
        }
        let mut table = self.root;
        for l in [2, 1] {
            let e = mem.read_pte(table, vpn(va, l));
            if e & PteFlags::V.bits() == 0 || is_leaf(e) {
                return None;
            }
            table = pte_addr(e);
        }
        Some(LeafSlot { root: self.root, table, idx: vpn(va, 0) })
    }

    /// The entry in `slot` (0 if nothing is mapped there).
    #[inline]
    pub fn slot_entry(&self, mem: &impl PhysMem, slot: LeafSlot) -> u64 {
        assert_eq!(slot.root, self.root, "leaf slot of another page table");
        mem.read_pte(slot.table, slot.idx)
    }

    /// `map` of a 4 KiB page into `slot` (from [`leaf_slot`](Self::leaf_slot) of this table,
    /// with no change to the table's structure since), without walking again.
    #[inline(always)]
    pub fn map_slot(&self, mem: &mut impl PhysMem, slot: LeafSlot, pa: usize, flags: PteFlags) -> Result<(), MapError> {
        assert_eq!(slot.root, self.root, "leaf slot of another page table");
        if !mem.leaf_ok(pa, 4096) || !flags.intersects(PteFlags::R | PteFlags::W | PteFlags::X) {
            return Err(MapError::BadLeaf);
        }
        if pa % 4096 != 0 {
            return Err(MapError::BadAddress);
        }
        if mem.read_pte(slot.table, slot.idx) & PteFlags::V.bits() != 0 {
            return Err(MapError::AlreadyMapped);
        }
        // SAFETY: `slot.table` is a level-0 table of ours (found from our root by `leaf_slot`,
        // and the caller made no structural change since); the leaf has R/W/X and a frame
        // `leaf_ok` accepts (both checked above).
        unsafe { mem.write_pte(slot.table, slot.idx, make_pte(pa, flags | PteFlags::V)) };
        Ok(())
    }

    /// As [`map_slot`](Self::map_slot), but the entry is filled only if it is still empty,
    /// atomically ([`PhysMem::fill_pte`]): `Ok(false)` if something was mapped there first.
    pub fn fill_slot(&self, mem: &mut impl PhysMem, slot: LeafSlot, pa: usize, flags: PteFlags) -> Result<bool, MapError> {
        assert_eq!(slot.root, self.root, "leaf slot of another page table");
        if !mem.leaf_ok(pa, 4096) || !flags.intersects(PteFlags::R | PteFlags::W | PteFlags::X) {
            return Err(MapError::BadLeaf);
        }
        if pa % 4096 != 0 {
            return Err(MapError::BadAddress);
        }
        // SAFETY: as in `map_slot`: a level-0 table of ours and a leaf `leaf_ok` accepted.
        Ok(unsafe { mem.fill_pte(slot.table, slot.idx, make_pte(pa, flags | PteFlags::V)) })
    }

    /// Find the leaf entry for `va`: (table, index, entry, level).
    fn find(&self, mem: &impl PhysMem, va: usize) -> Option<(usize, usize, u64, usize)> {
        if !canonical(va) {
            return None;
        }
        let mut table = self.root;
        for l in (0..=2).rev() {
            let idx = vpn(va, l);
            let e = mem.read_pte(table, idx);
            if e & PteFlags::V.bits() == 0 {
                return None;
            }
            if is_leaf(e) {
                return Some((table, idx, e, l));
            }
            if l == 0 {
                return None;
            }
            table = pte_addr(e);
        }
        None
    }

    /// Translate `va` to (physical address, flags).
    pub fn translate(&self, mem: &impl PhysMem, va: usize) -> Option<(usize, PteFlags)> {
        let (_, _, e, l) = self.find(mem, va)?;
        let off = va & ((1usize << (12 + 9 * l)) - 1);
        Some((pte_addr(e) + off, pte_flags(e)))
    }

    /// Remove the 4 KiB mapping of `va`; returns the frame and flags it had.
    pub fn unmap(&self, mem: &mut impl PhysMem, va: usize) -> Option<(usize, PteFlags)> {
        let (t, i, e, l) = self.find(mem, va)?;
        if l != 0 {
            return None;
        }
        // SAFETY: `t` is ours (found from our root); clearing an entry is always allowed.
        unsafe { mem.write_pte(t, i, 0) };
        Some((pte_addr(e), pte_flags(e)))
    }

    /// Replace the flags of the 4 KiB mapping of `va` (keeps the frame). False if unmapped.
    pub fn set_flags(&self, mem: &mut impl PhysMem, va: usize, flags: PteFlags) -> bool {
        if !flags.intersects(PteFlags::R | PteFlags::W | PteFlags::X) {
            return false; // would turn the leaf into a table pointer
        }
        match self.find(mem, va) {
            Some((t, i, e, 0)) => {
                // SAFETY: `t` is ours; same frame as before (it passed `leaf_ok` when mapped),
                // and still a leaf.
                unsafe { mem.write_pte(t, i, make_pte(pte_addr(e), flags | PteFlags::V)) };
                true
            }
            _ => false,
        }
    }

    /// Visit every valid 4 KiB leaf mapping in `[start, end)` (lower half, page aligned) as
    /// `f(va, pte)`, replacing the entry with what `f` returns (0 unmaps it). Tables that are
    /// absent are skipped whole, so a sparse range costs what is mapped in it.
    pub fn for_each_leaf_in(&self, mem: &mut impl PhysMem, start: usize, end: usize, f: &mut impl FnMut(usize, u64) -> u64) {
        const GIB: usize = 1 << 30;
        const MIB2: usize = 1 << 21;
        let mut va = start;
        while va < end {
            // Absent tables are skipped to the next valid entry in one bulk scan.
            let (i, ni) = (vpn(va, 2), mem.next_valid(self.root, vpn(va, 2)));
            if ni == 512 {
                break; // nothing mapped in the rest of the root table
            }
            if ni != i {
                va = va - va % GIB + (ni - i) * GIB;
                continue;
            }
            let e = mem.read_pte(self.root, i);
            if is_leaf(e) {
                va = (va / GIB + 1) * GIB;
                continue;
            }
            let l1 = pte_addr(e);
            let (j, nj) = (vpn(va, 1), mem.next_valid(l1, vpn(va, 1)));
            if nj != j {
                va = va - va % MIB2 + (nj - j) * MIB2;
                continue;
            }
            let e1 = mem.read_pte(l1, j);
            if is_leaf(e1) {
                va = (va / MIB2 + 1) * MIB2;
                continue;
            }
            let l0 = pte_addr(e1);
            let stop = end.min((va / MIB2 + 1) * MIB2);
            // Entries `k0..k1` of this leaf table, valid ones only.
            let (base, k1) = (va / MIB2 * MIB2, vpn(stop - 1, 0) + 1);
            let mut k = mem.next_valid(l0, vpn(va, 0));
            while k < k1 {
                let e0 = mem.read_pte(l0, k);
                let at = base + k * 4096;
                let n = f(at, e0);
                if n != e0 {
                    // Only a cleared entry, or a leaf (R/W/X) of the same frame or of one
                    // `leaf_ok` accepts: never a table pointer or an arbitrary frame.
                    let ok = n == 0 || (is_leaf(n) && (pte_addr(n) == pte_addr(e0) || mem.leaf_ok(pte_addr(n), 4096)));
                    assert!(ok, "page-table walk: refused entry {n:#x} for {at:#x}");
                    // SAFETY: `l0` is ours (reached from our root); `n` was checked above.
                    unsafe { mem.write_pte(l0, k, n) };
                }
                k = mem.next_valid(l0, k + 1);
            }
            va = stop;
        }
    }

    /// Move every 4 KiB leaf of `[from, from + len)` to the same offset in `[to, to + len)`
    /// (mremap): the entries go as they are (frame and flags), the source entries are cleared,
    /// and the frames keep the one reference each entry stands for. The ranges are page
    /// aligned, in the lower half and apart; the destination must map nothing. The tables the
    /// destination needs are made first, so a `NoMemory` (or an `AlreadyMapped`, a
    /// `BadAddress`) moves nothing (tables made for it stay, empty). Absent tables of the
    /// source are skipped whole, as [`for_each_leaf_in`](Self::for_each_leaf_in) does.
    pub fn move_leaves(&self, mem: &mut impl PhysMem, from: usize, to: usize, len: usize) -> Result<(), MapError> {
        const HALF: usize = 1 << 38;
        let ok = |a: usize| a % 4096 == 0 && a.checked_add(len).is_some_and(|e| e <= HALF);
        if !ok(from) || !ok(to) || len % 4096 != 0 || (from < to + len && to < from + len) {
            return Err(MapError::BadAddress);
        }
        let end = from + len;
        // Pass 1: the destination's tables, and nothing mapped there.
        let mut va = from;
        while let Some((_, _, at)) = self.next_leaf(mem, va, end) {
            let (t, i) = self.leaf_table(mem, to + (at - from))?;
            if mem.read_pte(t, i) & PteFlags::V.bits() != 0 {
                return Err(MapError::AlreadyMapped);
            }
            va = at + 4096;
        }
        // Pass 2: move (cannot fail: every table is there).
        let mut va = from;
        while let Some((st, si, at)) = self.next_leaf(mem, va, end) {
            let e = mem.read_pte(st, si);
            let (t, i) = self.leaf_table(mem, to + (at - from))?;
            // SAFETY: `t` and `st` are level-0 tables of ours (reached from our root); `e` is
            // a leaf this table held already, so its frame passed `leaf_ok` when it was mapped;
            // it leaves the source slot in the same step, so no frame gains an entry.
            unsafe {
                mem.write_pte(t, i, e);
                mem.write_pte(st, si, 0);
            }
            va = at + 4096;
        }
        Ok(())
    }

    /// The level-0 table and index of lower-half `va`, making the tables above it as needed.
    fn leaf_table(&self, mem: &mut impl PhysMem, va: usize) -> Result<(usize, usize), MapError> {
        let mut table = self.root;
        for l in [2, 1] {
            let idx = vpn(va, l);
            let e = mem.read_pte(table, idx);
            if e & PteFlags::V.bits() == 0 {
                let t = mem.alloc_table().ok_or(MapError::NoMemory)?;
                // SAFETY: `table` is ours (reached from our root); `t` is a fresh table.
                unsafe { mem.write_pte(table, idx, make_pte(t, PteFlags::V)) };
                table = t;
            } else if is_leaf(e) {
                return Err(MapError::AlreadyMapped);
            } else {
                table = pte_addr(e);
            }
        }
        Ok((table, vpn(va, 0)))
    }

    /// The first valid 4 KiB leaf at or after `va` below `end` (lower half): its level-0
    /// table, index and address. Huge leaves are skipped.
    fn next_leaf(&self, mem: &impl PhysMem, mut va: usize, end: usize) -> Option<(usize, usize, usize)> {
        const GIB: usize = 1 << 30;
        const MIB2: usize = 1 << 21;
        while va < end {
            let (i, ni) = (vpn(va, 2), mem.next_valid(self.root, vpn(va, 2)));
            if ni == 512 {
                return None;
            }
            if ni != i {
                va = va - va % GIB + (ni - i) * GIB;
                continue;
            }
            let e = mem.read_pte(self.root, i);
            if is_leaf(e) {
                va = (va / GIB + 1) * GIB;
                continue;
            }
            let l1 = pte_addr(e);
            let (j, nj) = (vpn(va, 1), mem.next_valid(l1, vpn(va, 1)));
            if nj != j {
                va = va - va % MIB2 + (nj - j) * MIB2;
                continue;
            }
            let e1 = mem.read_pte(l1, j);
            if is_leaf(e1) {
                va = (va / MIB2 + 1) * MIB2;
                continue;
            }
            let l0 = pte_addr(e1);
            let k = mem.next_valid(l0, vpn(va, 0));
            if k == 512 {
                va = (va / MIB2 + 1) * MIB2;
                continue;
            }
            let at = va / MIB2 * MIB2 + k * 4096;
            return (at < end).then_some((l0, k, at));
        }
        None
    }

    /// Free the leaf tables (and then middle tables) under `[start, end)` of the lower half
    /// that no longer map anything. Returns how many tables were freed.
    pub fn prune(&self, mem: &mut impl PhysMem, start: usize, end: usize) -> usize {
        const GIB: usize = 1 << 30;
        let mut freed = 0;
        let mut g = start / GIB * GIB;
        while g < end && vpn(g, 2) < 256 {
            let i = vpn(g, 2);
            let e = mem.read_pte(self.root, i);
            if e & PteFlags::V.bits() != 0 && !is_leaf(e) {
                let l1 = pte_addr(e);
                let (j0, j1) = (if g < start { vpn(start, 1) } else { 0 }, if g + GIB > end { vpn(end - 1, 1) + 1 } else { 512 });
                for j in j0..j1 {
                    let e1 = mem.read_pte(l1, j);
                    if e1 & PteFlags::V.bits() != 0 && !is_leaf(e1) {
                        let l0 = pte_addr(e1);
                        if mem.next_valid(l0, 0) == 512 {
                            // SAFETY: `l1` and `l0` are ours; the entry goes before the table,
                            // which maps nothing and had only this one pointer to it.
                            unsafe {
                                mem.write_pte(l1, j, 0);
                                mem.free_table(l0);
                            }
                            freed += 1;
                        }
                    }
                }
                if mem.next_valid(l1, 0) == 512 {
                    // SAFETY: as above, for the middle table.
                    unsafe {
                        mem.write_pte(self.root, i, 0);
                        mem.free_table(l1);
                    }
                    freed += 1;
                }
            }
            g += GIB;
        }
        freed
    }

    /// Visit every valid 4 KiB leaf under root entries `range` as `f(va, pte)`; the entry is
    /// replaced by what `f` returns (return `pte` to keep it). `va` is in the lower half.
    pub fn for_each_leaf(&self, mem: &mut impl PhysMem, range: core::ops::Range<usize>, f: &mut impl FnMut(usize, u64) -> u64) {
        self.for_each_leaf_in(mem, range.start << 30, range.end << 30, f);
    }

    /// Copy every 4 KiB leaf of the lower half into `child` (a fresh table: fork). For each
    /// leaf `f(va, pte)` returns the entries for this table and for the child, or `None` to
    /// stop (then `Err(NoMemory)`: the child holds what was copied so far). The child gets its
    /// tables once per table, not a walk per page. Both new entries must be leaves of the same
    /// frame (anything else panics), so no frame is newly exposed.
    pub fn fork_leaves(&self, mem: &mut impl PhysMem, child: &PageTable, f: &mut impl FnMut(usize, u64) -> Option<(u64, u64)>) -> Result<(), MapError> {
        let table = |e: u64| e & PteFlags::V.bits() != 0 && !is_leaf(e);
        let mut i = mem.next_valid(self.root, 0);
        while i < 256 {
            let e = mem.read_pte(self.root, i);
            let i_next = mem.next_valid(self.root, i + 1);
            if !table(e) {
                i = i_next;
                continue;
            }
            let l1 = pte_addr(e);
            let mut cl1 = None;
            let mut j = mem.next_valid(l1, 0);
            while j < 512 {
                let e1 = mem.read_pte(l1, j);
                let j_next = mem.next_valid(l1, j + 1);
                if !table(e1) {
                    j = j_next;
                    continue;
                }
                let l0 = pte_addr(e1);
                let mut cl0 = None;
                let mut k = mem.next_valid(l0, 0);
                while k < 512 {
                    let e0 = mem.read_pte(l0, k);
                    let va = (i << 30) | (j << 21) | (k << 12);
                    // The child's tables first: once `f` has run (and, say, taken a reference
                    // to the frame), the child entry must be written.
                    let t1 = match cl1 {
                        Some(t) => t,
                        None => {
                            let t = mem.alloc_table().ok_or(MapError::NoMemory)?;
                            // SAFETY: the child's root (fresh, ours to fill); `t` is a new table.
                            unsafe { mem.write_pte(child.root, i, make_pte(t, PteFlags::V)) };
                            *cl1.insert(t)
                        }
                    };
                    let t0 = match cl0 {
                        Some(t) => t,
                        None => {
                            let t = mem.alloc_table().ok_or(MapError::NoMemory)?;
                            // SAFETY: `t1` is the child's table made above; `t` is a new table.
                            unsafe { mem.write_pte(t1, j, make_pte(t, PteFlags::V)) };
                            *cl0.insert(t)
                        }
                    };
                    let (p, c) = f(va, e0).ok_or(MapError::NoMemory)?;
                    let same = |n: u64| is_leaf(n) && pte_addr(n) == pte_addr(e0);
                    assert!(same(p) && same(c), "fork: refused entries {p:#x}/{c:#x} for {va:#x}");
                    // SAFETY: `l0` is ours and `t0` the child's; both entries are leaves of the
                    // frame this table already maps (checked above).
                    unsafe {
                        if p != e0 {
                            mem.write_pte(l0, k, p);
                        }
                        mem.write_pte(t0, k, c);
                    }
                    k = mem.next_valid(l0, k + 1);
                }
                j = j_next;
            }
            i = i_next;
        }
        Ok(())
    }

    /// Intermediate tables (level 1 and 0) reachable from root entries `range`: the memory an
    /// address space holds in page tables, beyond its pages.
    pub fn count_tables(&self, mem: &impl PhysMem, range: core::ops::Range<usize>) -> usize {
        let table = |e: u64| e & PteFlags::V.bits() != 0 && !is_leaf(e);
        let mut n = 0;
        let mut i = mem.next_valid(self.root, range.start);
        while i < range.end {
            let e = mem.read_pte(self.root, i);
            if table(e) {
                n += 1;
                let l1 = pte_addr(e);
                let mut j = mem.next_valid(l1, 0);
                while j < 512 {
                    n += table(mem.read_pte(l1, j)) as usize;
                    j = mem.next_valid(l1, j + 1);
                }
            }
            i = mem.next_valid(self.root, i + 1);
        }
        n
    }

    /// Unmap everything reachable from root entries `range`, calling `leaf(pa, flags)` for each
    /// 4 KiB leaf and freeing the intermediate tables; clears those root entries.
    pub fn clear_range(&self, mem: &mut impl PhysMem, range: core::ops::Range<usize>, leaf: &mut impl FnMut(usize, PteFlags)) {
        let mut i = mem.next_valid(self.root, range.start);
        while i < range.end {
            let e = mem.read_pte(self.root, i);
            if is_leaf(e) {
                // SAFETY: clearing our own root's entry.
                unsafe { mem.write_pte(self.root, i, 0) };
                i = mem.next_valid(self.root, i + 1);
                continue;
            }
            let l1 = pte_addr(e);
            let mut j = mem.next_valid(l1, 0);
            while j < 512 {
                let e1 = mem.read_pte(l1, j);
                j = mem.next_valid(l1, j + 1);
                if is_leaf(e1) {
                    continue;
                }
                let l0 = pte_addr(e1);
                let mut k = mem.next_valid(l0, 0);
                while k < 512 {
                    let e0 = mem.read_pte(l0, k);
                    leaf(pte_addr(e0), pte_flags(e0));
                    k = mem.next_valid(l0, k + 1);
                }
                // SAFETY: `l0` is ours and only `l1` points to it; `l1` goes next.
                unsafe { mem.free_table(l0) };
            }
            // SAFETY: the root entry is cleared first, then `l1` (ours, pointed to only by it).
            unsafe {
                mem.write_pte(self.root, i, 0);
                mem.free_table(l1);
            }
            i = mem.next_valid(self.root, i + 1);
        }
    }
}

/// Host emulator of physical memory for tests: tables live in a map.
#[cfg(test)]
pub mod emu {
    use super::PhysMem;
    use std::collections::HashMap;

    /// In-memory page-table frames with an allocation limit.
    pub struct EmuMem {
        pub tables: HashMap<usize, [u64; 512]>,
        pub next: usize,
        pub limit: usize,
        pub freed: usize,
    }

    impl EmuMem {
        pub fn new(limit: usize) -> Self {
            EmuMem { tables: HashMap::new(), next: 0x9000_0000, limit, freed: 0 }
        }
    }

    impl PhysMem for EmuMem {
        fn read_pte(&self, t: usize, i: usize) -> u64 {
            self.tables[&t][i]
        }
        unsafe fn write_pte(&mut self, t: usize, i: usize, v: u64) {
            self.tables.get_mut(&t).unwrap()[i] = v;
        }
        fn alloc_table(&mut self) -> Option<usize> {
            if self.tables.len() >= self.limit {
                return None;
            }
            let t = self.next;
            self.next += 4096;
            self.tables.insert(t, [0; 512]);
            Some(t)
        }
        unsafe fn free_table(&mut self, t: usize) {
            self.tables.remove(&t).unwrap();
            self.freed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::emu::EmuMem;
    use super::*;

    const RW: PteFlags = PteFlags::R.union(PteFlags::W);

    #[test]
    fn fork_leaves_copies_every_leaf() {
        let mut m = EmuMem::new(100);
        let pt = PageTable::new(&mut m).unwrap();
        for va in [0x1000usize, 0x2000, 0x40_0000, 0x4000_0000] {
            pt.map(&mut m, va, 0x8000_0000 + va, RW | PteFlags::U, 0).unwrap();
        }
        let child = PageTable::new(&mut m).unwrap();
        let mut n = 0;
        pt.fork_leaves(&mut m, &child, &mut |_, e| {
            n += 1;
            let ro = e & !PteFlags::W.bits();
            Some((ro, ro))
        })
        .unwrap();
        assert_eq!(n, 4);
        for va in [0x1000usize, 0x2000, 0x40_0000, 0x4000_0000] {
            let (pa, f) = child.translate(&m, va).unwrap();
            assert_eq!(pa, 0x8000_0000 + va);
            assert!(!f.contains(PteFlags::W));
            assert!(!pt.translate(&m, va).unwrap().1.contains(PteFlags::W));
        }
        // A child entry pointing elsewhere is refused.
        let other = PageTable::new(&mut m).unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = pt.fork_leaves(&mut m, &other, &mut |_, e| Some((e, e + (1 << 10))));
        }));
        assert!(r.is_err());
    }

    #[test]
    fn refuses_pointers_and_foreign_frames() {
        let mut m = EmuMem::new(100);
        let pt = PageTable::new(&mut m).unwrap();
        // No R/W/X: that entry would be a pointer to a "table" at pa.
        assert_eq!(pt.map(&mut m, 0x1000, 0x8000_5000, PteFlags::U, 0), Err(MapError::BadLeaf));
        pt.map(&mut m, 0x1000, 0x8000_5000, RW, 0).unwrap();
        assert!(!pt.set_flags(&mut m, 0x1000, PteFlags::U | PteFlags::A));
        // A walk may change flags or clear, not plant a table pointer.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pt.for_each_leaf_in(&mut m, 0, 0x10000, &mut |_, e| e & !0xe);
        }));
        assert!(r.is_err());
    }

    #[test]
    fn leaf_slots_read_and_fill_in_one_walk() {
        let mut m = EmuMem::new(16);
        let pt = PageTable::new(&mut m).unwrap();
        let rw = PteFlags::R | PteFlags::W;
        // No tables yet: no slot.
        assert_eq!(pt.leaf_slot(&m, 0x40_0000), None);
        pt.map(&mut m, 0x40_1000, 0x8000_1000, rw, 0).unwrap();
        // The tables exist now: an empty slot next to the page, filled without a walk.
        let s = pt.leaf_slot(&m, 0x40_0000).unwrap();
        assert_eq!(pt.slot_entry(&m, s), 0);
        pt.map_slot(&mut m, s, 0x8000_0000, rw).unwrap();
        assert_eq!(pt.translate(&m, 0x40_0123), Some((0x8000_0123, rw | PteFlags::V)));
        assert_eq!(pt.map_slot(&mut m, s, 0x8000_2000, rw), Err(MapError::AlreadyMapped));
        let s1 = pt.leaf_slot(&m, 0x40_1000).unwrap();
        assert_eq!(pte_addr(pt.slot_entry(&m, s1)), 0x8000_1000);
        // No table pointers, no unaligned frames.
        let s2 = pt.leaf_slot(&m, 0x40_2000).unwrap();
        assert_eq!(pt.map_slot(&mut m, s2, 0x8000_2000, PteFlags::U), Err(MapError::BadLeaf));
        assert_eq!(pt.map_slot(&mut m, s2, 0x8000_2008, rw), Err(MapError::BadAddress));
        // A huge leaf above: no slot.
        pt.map(&mut m, 0x4000_0000, 0x8020_0000, rw, 1).unwrap();
        assert_eq!(pt.leaf_slot(&m, 0x4000_1000), None);
        assert_eq!(pt.leaf_slot(&m, 1 << 40), None);
    }

    #[test]
    fn fill_slot_fills_only_an_empty_entry() {
        let mut m = EmuMem::new(16);
        let pt = PageTable::new(&mut m).unwrap();
        let rw = PteFlags::R | PteFlags::W;
        pt.map(&mut m, 0x40_1000, 0x8000_1000, rw, 0).unwrap();
        let s = pt.leaf_slot(&m, 0x40_0000).unwrap();
        assert_eq!(pt.fill_slot(&mut m, s, 0x8000_0000, rw), Ok(true));
        assert_eq!(pt.translate(&m, 0x40_0123), Some((0x8000_0123, rw | PteFlags::V)));
        // Filled already (another fault got there first): left as it is.
        assert_eq!(pt.fill_slot(&mut m, s, 0x8000_2000, rw), Ok(false));
        assert_eq!(pt.translate(&m, 0x40_0123), Some((0x8000_0123, rw | PteFlags::V)));
        let s1 = pt.leaf_slot(&m, 0x40_1000).unwrap();
        assert_eq!(pt.fill_slot(&mut m, s1, 0x8000_3000, rw), Ok(false));
        assert_eq!(pte_addr(pt.slot_entry(&m, s1)), 0x8000_1000);
        // The leaf checks of `map_slot`.
        let s2 = pt.leaf_slot(&m, 0x40_2000).unwrap();
        assert_eq!(pt.fill_slot(&mut m, s2, 0x8000_2000, PteFlags::U), Err(MapError::BadLeaf));
        assert_eq!(pt.fill_slot(&mut m, s2, 0x8000_2008, rw), Err(MapError::BadAddress));
        assert_eq!(pt.slot_entry(&m, s2), 0);
    }

    #[test]
    fn next_valid_skips_empty_entries() {
        let mut m = EmuMem::new(16);
        let pt = PageTable::new(&mut m).unwrap();
        let r = pt.root();
        assert_eq!(m.next_valid(r, 0), 512);
        assert_eq!(m.next_valid(r, 512), 512);
        pt.map(&mut m, 5 << 30, 0x8000_0000, PteFlags::R, 2).unwrap();
        pt.map(&mut m, 200 << 30, 0x8000_0000, PteFlags::R, 2).unwrap();
        assert_eq!(m.next_valid(r, 0), 5);
        assert_eq!(m.next_valid(r, 5), 5);
        assert_eq!(m.next_valid(r, 6), 200);
        assert_eq!(m.next_valid(r, 201), 512);
    }

    #[test]
    fn map_translate_unmap() {
        let mut m = EmuMem::new(100);
        let pt = PageTable::new(&mut m).unwrap();
        pt.map(&mut m, 0x1000, 0x8000_5000, RW | PteFlags::U, 0).unwrap();
        let (pa, f) = pt.translate(&m, 0x1234).unwrap();
        assert_eq!(pa, 0x8000_5234);
        assert!(f.contains(PteFlags::U | PteFlags::V));
        assert_eq!(pt.map(&mut m, 0x1000, 0x8000_6000, RW, 0), Err(MapError::AlreadyMapped));
        assert_eq!(pt.unmap(&mut m, 0x1000).map(|x| x.0), Some(0x8000_5000));
        assert_eq!(pt.translate(&m, 0x1000), None);
        assert_eq!(pt.unmap(&mut m, 0x1000), None);
    }

    #[test]
    fn huge_pages_and_upper_half() {
        let mut m = EmuMem::new(100);
        let pt = PageTable::new(&mut m).unwrap();
        let va = 0xffff_ffc0_8000_0000;
        pt.map(&mut m, va, 0x8000_0000, RW | PteFlags::G, 1).unwrap();
        assert_eq!(pt.translate(&m, va + 0x1f_fff0).unwrap().0, 0x801f_fff0);
        assert_eq!(pt.map(&mut m, va + 0x1000, 0x1000, RW, 0), Err(MapError::AlreadyMapped));
        assert_eq!(pt.map(&mut m, 0x1000, 0x2000, RW, 1), Err(MapError::BadAddress));
        assert_eq!(pt.map(&mut m, 0x0000_8000_0000_0000, 0, RW, 0), Err(MapError::BadAddress));
    }

    #[test]
    fn out_of_memory_is_an_error() {
        let mut m = EmuMem::new(2);
        let pt = PageTable::new(&mut m).unwrap();
        assert_eq!(pt.map(&mut m, 0x1000, 0x1000, RW, 0), Err(MapError::NoMemory));
    }

    #[test]
    fn clear_range_frees_tables_and_reports_leaves() {
        let mut m = EmuMem::new(100);
        let pt = PageTable::new(&mut m).unwrap();
        for i in 0..600 {
            pt.map(&mut m, 0x10_0000 + i * 4096, 0x8000_0000 + i * 4096, RW | PteFlags::U, 0).unwrap();
        }
        assert!(pt.set_flags(&mut m, 0x10_0000, PteFlags::R | PteFlags::U));
        assert_eq!(pt.translate(&m, 0x10_0000).unwrap().1 & PteFlags::W, PteFlags::empty());
        let mut n = 0;
        pt.clear_range(&mut m, 0..256, &mut |_, _| n += 1);
        assert_eq!(n, 600);
        assert_eq!(m.tables.len(), 1, "only the root remains");
    }

    #[test]
    fn for_each_leaf_visits_and_rewrites() {
        let mut m = EmuMem::new(100);
        let pt = PageTable::new(&mut m).unwrap();
        let vas = [0x1000usize, 0x20_3000, 0x4000_0000, 0x3f_ffff_f000];
        for (n, &va) in vas.iter().enumerate() {
            pt.map(&mut m, va, 0x8000_0000 + n * 4096, RW | PteFlags::U, 0).unwrap();
        }
        let mut seen = Vec::new();
        pt.for_each_leaf(&mut m, 0..256, &mut |va, pte| {
            seen.push((va, pte_addr(pte)));
            pte & !PteFlags::W.bits()
        });
        assert_eq!(seen, vas.iter().enumerate().map(|(n, &va)| (va, 0x8000_0000 + n * 4096)).collect::<Vec<_>>());
        for va in vas {
            assert!(!pt.translate(&m, va).unwrap().1.contains(PteFlags::W));
        }
    }

    #[test]
    fn for_each_leaf_in_skips_holes_and_unmaps() {
        let mut m = EmuMem::new(100);
        let pt = PageTable::new(&mut m).unwrap();
        let vas = [0x1000usize, 0x20_3000, 0x20_4000, 0x4000_0000];
        for (n, &va) in vas.iter().enumerate() {
            pt.map(&mut m, va, 0x8000_0000 + n * 4096, RW | PteFlags::U, 0).unwrap();
        }
        let mut seen = Vec::new();
        pt.for_each_leaf_in(&mut m, 0x2000, 0x4000_1000, &mut |va, pte| {
            seen.push(va);
            if va == 0x20_3000 { 0 } else { pte }
        });
        assert_eq!(seen, vec![0x20_3000, 0x20_4000, 0x4000_0000]);
        assert!(pt.translate(&m, 0x20_3000).is_none());
        assert!(pt.translate(&m, 0x20_4000).is_some());
        assert!(pt.translate(&m, 0x1000).is_some());
    }

    #[test]
    fn move_leaves_moves_entries_and_fails_whole() {
        let mut m = EmuMem::new(100);
        let pt = PageTable::new(&mut m).unwrap();
        // Leaves across a 2 MiB and a 1 GiB boundary, with holes between.
        let vas = [0x1f_f000usize, 0x20_0000, 0x20_5000, 0x3fff_f000, 0x4000_0000];
        for (n, &va) in vas.iter().enumerate() {
            pt.map(&mut m, va, 0x8000_0000 + n * 4096, RW | PteFlags::U, 0).unwrap();
        }
        let (from, to, len) = (0x1f_f000usize, 0x40_0000_0000 - 0x4000_2000, 0x4000_2000);
        pt.move_leaves(&mut m, from, to, len).unwrap();
        for (n, &va) in vas.iter().enumerate() {
            assert!(pt.translate(&m, va).is_none(), "source {va:#x} cleared");
            assert_eq!(pt.translate(&m, to + (va - from)), Some((0x8000_0000 + n * 4096, RW | PteFlags::U | PteFlags::V)));
        }
        // Overlapping or unaligned ranges, and a destination that maps something, move nothing.
        assert_eq!(pt.move_leaves(&mut m, to, to + 0x1000, len), Err(MapError::BadAddress));
        assert_eq!(pt.move_leaves(&mut m, to + 1, 0x1000, 0x1000), Err(MapError::BadAddress));
        pt.map(&mut m, 0x20_5000, 0x9000_0000, RW, 0).unwrap();
        assert_eq!(pt.move_leaves(&mut m, to, 0x1f_f000, len), Err(MapError::AlreadyMapped));
        assert!(pt.translate(&m, to).is_some(), "nothing moved");
        // Out of table frames: nothing moved either.
        let mut small = EmuMem::new(4);
        let p2 = PageTable::new(&mut small).unwrap();
        p2.map(&mut small, 0x1000, 0x8000_0000, RW, 0).unwrap();
        assert_eq!(p2.move_leaves(&mut small, 0x1000, 0x4000_0000, 0x1000), Err(MapError::NoMemory));
        assert!(p2.translate(&small, 0x1000).is_some());
        // An empty source is a no-op.
        assert_eq!(pt.move_leaves(&mut m, 0x100_0000, 0x200_0000, 0x10_0000), Ok(()));
    }

    #[test]
    fn prune_frees_empty_tables_only() {
        let mut m = EmuMem::new(100);
        let pt = PageTable::new(&mut m).unwrap();
        pt.map(&mut m, 0x20_0000, 0x8000_0000, RW | PteFlags::U, 0).unwrap();
        pt.map(&mut m, 0x40_0000, 0x8000_1000, RW | PteFlags::U, 0).unwrap();
        let before = m.tables.len();
        pt.unmap(&mut m, 0x20_0000);
        assert_eq!(pt.prune(&mut m, 0x20_0000, 0x20_1000), 1, "the empty leaf table goes");
        assert_eq!(m.tables.len(), before - 1);
        assert!(pt.translate(&m, 0x40_0000).is_some(), "the other mapping stays");
        pt.unmap(&mut m, 0x40_0000);
        assert_eq!(pt.prune(&mut m, 0, 0x4000_0000), 2, "leaf and middle table go");
        assert_eq!(m.tables.len(), 1, "only the root remains");
    }
}
