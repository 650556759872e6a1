//! Virtual memory areas of one address space: non-overlapping page-aligned ranges with rights.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Access rights of an area (PROT_* bits as Linux numbers them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prot(pub u32);

impl Prot {
    pub const NONE: Prot = Prot(0);
    pub const READ: u32 = 1;
    pub const WRITE: u32 = 2;
    pub const EXEC: u32 = 4;
    pub fn read(self) -> bool {
        self.0 & Self::READ != 0
    }
    pub fn write(self) -> bool {
        self.0 & Self::WRITE != 0
    }
    pub fn exec(self) -> bool {
        self.0 & Self::EXEC != 0
    }
}

/// What backs an area's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backing {
    /// Zero-filled on first touch (anonymous mmap, bss, heap, stack).
    Anon,
    /// Populated at creation (ELF segments copied in by the loader).
    Eager,
    /// Anonymous shared memory (MAP_SHARED|MAP_ANONYMOUS): populated at creation and shared,
    /// not copied, by fork.
    Shared,
    /// A mapping of a file: pages come from the file at fault time. `id` names the address
    /// space's record of the mapping (file, offset); `shared` is MAP_SHARED (stores reach the
    /// file, fork shares the pages) as opposed to MAP_PRIVATE (copy-on-write). Pieces of one
    /// mapping carry the same `id`, so they merge back as their offsets still line up.
    File { id: u32, shared: bool },
}

impl Backing {
    /// True for areas whose pages are shared rather than copied by fork (and whose stores
    /// other mappings see): MAP_SHARED, anonymous or of a file.
    pub fn is_shared(self) -> bool {
        matches!(self, Backing::Shared | Backing::File { shared: true, .. })
    }

    /// The file mapping record, if this is a file mapping.
    pub fn file_id(self) -> Option<u32> {
        match self {
            Backing::File { id, .. } => Some(id),
            _ => None,
        }
    }
}

/// One area `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vma {
    pub start: usize,
    pub end: usize,
    pub prot: Prot,
    pub backing: Backing,
}

/// The pieces [`VmaMap::remove`] took out, as an iterator from the lowest up. The highest is
/// kept in place (an unmap of one area allocates nothing); the others, found from the top
/// down, are popped from the vector's end.
#[derive(Debug)]
pub struct Removed {
    highest: Option<Vma>,
    rest: Vec<Vma>,
}

impl Iterator for Removed {
    type Item = Vma;
    fn next(&mut self) -> Option<Vma> {
        self.rest.pop().or_else(|| self.highest.take())
    }
}

/// The set of areas of an address space.
#[derive(Debug, Default, Clone)]
pub struct VmaMap {
    map: BTreeMap<usize, Vma>,
    /// Bytes covered by all areas (Linux's total_vm, for RLIMIT_AS).
    bytes: usize,
    /// The area [`find_cached`](Self::find_cached) found last (page faults come in runs
    /// within one area); dropped by every change to the map.
    last: Option<Vma>,
}

impl VmaMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The area containing `addr`.
    pub fn find(&self, addr: usize) -> Option<&Vma> {
        self.map.range(..=addr).next_back().map(|(_, v)| v).filter(|v| addr < v.end)
    }

    /// As [`find`](Self::find), remembering the area found: the next look-up inside it costs
    /// a range comparison instead of a B-tree search (the page-fault path).
    pub fn find_cached(&mut self, addr: usize) -> Option<Vma> {
        if let Some(v) = self.last.filter(|v| v.start <= addr && addr < v.end) {
            return Some(v);
        }
        let v = self.find(addr).copied();
        self.last = v;
        v
    }

    /// As [`find_cached`](Self::find_cached) without remembering (for callers that share
    /// the map with others reading it at the same time).
    pub fn find_remembered(&self, addr: usize) -> Option<Vma> {
        if let Some(v) = self.last.filter(|v| v.start <= addr && addr < v.end) {
            return Some(v);
        }
        self.find(addr).copied()
    }

    /// True if no area intersects `[start, end)`.
    pub fn is_free(&self, start: usize, end: usize) -> bool {
        if let Some((_, v)) = self.map.range(..end).next_back() {
            if v.end > start {
                return false;
            }
        }
        true
    }

    /// Number of areas.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Bytes covered by all areas.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Bytes of areas inside `[start, end)` that `pred` selects (what a MAP_FIXED replacement
    /// would take away, or the data part of a range).
    pub fn bytes_in(&self, start: usize, end: usize, pred: impl Fn(&Vma) -> bool) -> usize {
        let first = self.map.range(..start).next_back().map_or(start, |(k, _)| *k);
        self.map.range(first..end).map(|(_, v)| v).filter(|v| v.end > start && pred(v)).map(|v| v.end.min(end) - v.start.max(start)).sum()
    }

    /// True if there are no areas.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Add an area (merged with neighbours of the same rights and backing, as Linux merges
    /// VMAs); false (and nothing added) if it overlaps another or is empty.
    pub fn insert(&mut self, v: Vma) -> bool {
        if v.start >= v.end || !self.is_free(v.start, v.end) {
            return false;
        }
        self.last = None;
        self.map.insert(v.start, v);
        self.bytes += v.end - v.start;
        self.merge_around(v.start, v.end);
        true
    }

    /// Merge the areas that overlap or touch `[start, end)` with equal neighbours.
    fn merge_around(&mut self, start: usize, end: usize) {
        self.last = None;
        // The first area to look at: the one ending at `start` if any, else the one at `start`.
        let mut at = match self.map.range(..start).next_back() {
            Some((&k, v)) if v.end == start => k,
            _ => start,
        };
        loop {
            let Some(&v) = self.map.get(&at) else {
                // `at` is not an area start (a hole): continue from the next area, if in range.
                match self.map.range(at..).next() {
                    Some((&k, _)) if k <= end => {
                        at = k;
                        continue;
                    }
                    _ => return,
                }
            };
            match self.map.get(&v.end).copied() {
                Some(n) if n.prot == v.prot && n.backing == v.backing => {
                    self.map.remove(&n.start);
                    self.map.get_mut(&at).unwrap().end = n.end;
                }
                _ if v.end >= end => return,
                _ => at = v.end,
            }
        }
    }

    /// Remove `[start, end)` from all areas, splitting partial overlaps. Returns the removed
    /// pieces, lowest first (so the caller can unmap their pages).
    pub fn remove(&mut self, start: usize, end: usize) -> Removed {
        self.last = None;
        let mut removed = Removed { highest: None, rest: Vec::new() };
        // From the last area starting below `end` down, while they end after `start`: each
        // step looks the next one up below the key just removed (a left piece put back at
        // that key, and a right piece at `end`, are not looked at again).
        let mut below = end;
        while let Some((&k, &v)) = self.map.range(..below).next_back() {
            if v.end <= start {
                break;
            }
            self.map.remove(&k);
            if v.start < start {
                self.map.insert(v.start, Vma { end: start, ..v });
            }
            if v.end > end {
                self.map.insert(end, Vma { start: end, ..v });
            }
            let piece = Vma { start: v.start.max(start), end: v.end.min(end), ..v };
            self.bytes -= piece.end - piece.start;
            if removed.highest.is_none() {
                removed.highest = Some(piece);
            } else {
                removed.rest.push(piece);
            }
            below = k;
        }
        removed
    }

    /// Change the rights of `[start, end)`. Fails (changing nothing) unless the whole range is
    /// covered by areas, as Linux's mprotect fails with ENOMEM.
    pub fn protect(&mut self, start: usize, end: usize, prot: Prot) -> bool {
        self.last = None;
        let mut at = start;
        while at < end {
            match self.find(at) {
                Some(v) => at = v.end,
                None => return false,
            }
        }
        for mut piece in self.remove(start, end) {
            piece.prot = prot;
            self.bytes += piece.end - piece.start;
            self.map.insert(piece.start, piece);
        }
        self.merge_around(start, end);
        true
    }

    /// Highest free gap of `len` bytes that ends at or below `top` and starts at or above `bottom`.
    pub fn find_free_top_down(&self, len: usize, bottom: usize, top: usize) -> Option<usize> {
        let mut limit = top;
        for (_, v) in self.map.range(..top).rev() {
            if v.end <= limit && limit - v.end >= len {
                return Some(limit - len).filter(|&s| s >= bottom);
            }
            limit = limit.min(v.start);
            if limit < bottom + len {
                return None;
            }
        }
        limit.checked_sub(len).filter(|&s| s >= bottom)
    }

    /// Iterate over the areas in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Vma> {
        self.map.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(s: usize, e: usize, p: u32) -> Vma {
        Vma { start: s, end: e, prot: Prot(p), backing: Backing::Anon }
    }

    #[test]
    fn insert_find_overlap() {
        let mut m = VmaMap::new();
        assert!(m.insert(anon(0x1000, 0x3000, 3)));
        assert!(!m.insert(anon(0x2000, 0x4000, 3)));
        assert!(!m.insert(anon(0x0, 0x1001, 3)));
        assert!(m.insert(anon(0x3000, 0x4000, 1)));
        assert_eq!(m.find(0x2fff).unwrap().start, 0x1000);
        assert_eq!(m.find(0x3000).unwrap().prot, Prot(1));
        assert!(m.find(0x4000).is_none());
        assert!(m.find(0xfff).is_none());
    }

    #[test]
    fn remove_splits() {
        let mut m = VmaMap::new();
        m.insert(anon(0x1000, 0x9000, 3));
        let r: Vec<Vma> = m.remove(0x3000, 0x5000).collect();
        assert_eq!(r, vec![anon(0x3000, 0x5000, 3)]);
        assert_eq!(m.find(0x2000).unwrap().end, 0x3000);
        assert_eq!(m.find(0x5000).unwrap().start, 0x5000);
        assert!(m.find(0x4000).is_none());
        let r: Vec<Vma> = m.remove(0x0, 0x10000).collect();
        assert_eq!(r, vec![anon(0x1000, 0x3000, 3), anon(0x5000, 0x9000, 3)]);
        assert_eq!(m.iter().count(), 0);
        // Several areas, cut at both ends: the pieces come lowest first.
        m.insert(anon(0x1000, 0x3000, 1));
        m.insert(anon(0x3000, 0x5000, 3));
        m.insert(anon(0x6000, 0x8000, 1));
        let r: Vec<Vma> = m.remove(0x2000, 0x7000).collect();
        assert_eq!(r, vec![anon(0x2000, 0x3000, 1), anon(0x3000, 0x5000, 3), anon(0x6000, 0x7000, 1)]);
        assert_eq!(m.iter().count(), 2);
        assert_eq!(m.find(0x1000).unwrap().end, 0x2000);
        assert_eq!(m.find(0x7000).unwrap().start, 0x7000);
        assert_eq!(m.bytes(), 0x2000);
    }

    #[test]
    fn protect_needs_full_cover() {
        let mut m = VmaMap::new();
        m.insert(anon(0x1000, 0x3000, 3));
        m.insert(anon(0x4000, 0x5000, 3));
        assert!(!m.protect(0x1000, 0x5000, Prot(1)));
        assert_eq!(m.find(0x1000).unwrap().prot, Prot(3));
        assert!(m.protect(0x2000, 0x3000, Prot(1)));
        assert_eq!(m.find(0x1000).unwrap().prot, Prot(3));
        assert_eq!(m.find(0x2000).unwrap().prot, Prot(1));
    }

    #[test]
    fn merges_equal_neighbours() {
        let mut m = VmaMap::new();
        m.insert(anon(0x1000, 0x2000, 3));
        m.insert(anon(0x3000, 0x4000, 3));
        m.insert(anon(0x2000, 0x3000, 3));
        assert_eq!(m.len(), 1);
        assert_eq!(m.bytes(), 0x3000);
        assert_eq!(*m.find(0x1000).unwrap(), anon(0x1000, 0x4000, 3));
        // Splitting by mprotect and restoring merges back.
        assert!(m.protect(0x2000, 0x3000, Prot(1)));
        assert_eq!(m.len(), 3);
        assert!(m.protect(0x2000, 0x3000, Prot(3)));
        assert_eq!(m.len(), 1);
        assert_eq!(m.bytes(), 0x3000);
        m.remove(0x1000, 0x2000);
        assert_eq!(m.bytes(), 0x2000);
        // Pieces of one file mapping merge back; different mappings stay apart.
        let file = |s: usize, e: usize, id: u32| Vma { start: s, end: e, prot: Prot(1), backing: Backing::File { id, shared: false } };
        let mut f = VmaMap::new();
        f.insert(file(0x1000, 0x4000, 1));
        assert!(f.protect(0x2000, 0x3000, Prot(3)));
        assert_eq!(f.len(), 3);
        assert!(f.protect(0x2000, 0x3000, Prot(1)));
        assert_eq!(f.len(), 1);
        f.insert(file(0x4000, 0x5000, 2));
        assert_eq!(f.len(), 2);
        assert!(Backing::File { id: 2, shared: true }.is_shared() && Backing::Shared.is_shared());
        assert!(!Backing::File { id: 2, shared: false }.is_shared() && !Backing::Anon.is_shared());
        assert_eq!(f.find(0x4000).unwrap().backing.file_id(), Some(2));
        // Different rights or backing stay apart.
        m.insert(anon(0x4000, 0x5000, 1));
        m.insert(Vma { start: 0x5000, end: 0x6000, prot: Prot(1), backing: Backing::Shared });
        assert_eq!(m.len(), 3);
        assert_eq!(m.bytes(), 0x4000);
        assert_eq!(m.bytes_in(0x3000, 0x5800, |_| true), 0x2800);
        assert_eq!(m.bytes_in(0x3000, 0x5800, |v| v.backing == Backing::Shared), 0x800);
        // Growing a RW part of a PROT_NONE reservation step by step (glibc arenas) stays 2 areas.
        let mut r = VmaMap::new();
        r.insert(anon(0x10000, 0x20000, 0));
        for i in 0..8 {
            assert!(r.protect(0x10000 + i * 0x1000, 0x11000 + i * 0x1000, Prot(3)));
            assert_eq!(r.len(), 2);
        }
    }

    #[test]
    fn find_cached_follows_changes() {
        let mut m = VmaMap::new();
        m.insert(anon(0x1000, 0x3000, 3));
        assert_eq!(m.find_cached(0x1000), Some(anon(0x1000, 0x3000, 3)));
        assert_eq!(m.find_cached(0x2fff), Some(anon(0x1000, 0x3000, 3)));
        assert_eq!(m.find_cached(0x3000), None);
        assert_eq!(m.find_cached(0x1000), Some(anon(0x1000, 0x3000, 3)));
        // Every change is seen by the next look-up, not the remembered area.
        assert!(m.protect(0x2000, 0x3000, Prot(1)));
        assert_eq!(m.find_cached(0x2000), Some(anon(0x2000, 0x3000, 1)));
        assert_eq!(m.find_cached(0x1000), Some(anon(0x1000, 0x2000, 3)));
        m.remove(0x1000, 0x2000);
        assert_eq!(m.find_cached(0x1000), None);
        assert_eq!(m.find_cached(0x2000), Some(anon(0x2000, 0x3000, 1)));
        m.insert(anon(0x3000, 0x4000, 1)); // merges with the remembered area
        assert_eq!(m.find_cached(0x2000), Some(anon(0x2000, 0x4000, 1)));
        m.remove(0x2000, 0x4000);
        assert_eq!(m.find_cached(0x2000), None);
        // A copy keeps answering from its own areas.
        m.insert(anon(0x5000, 0x6000, 3));
        assert!(m.find_cached(0x5000).is_some());
        let mut c = m.clone();
        m.remove(0x5000, 0x6000);
        assert_eq!(m.find_cached(0x5000), None);
        assert_eq!(c.find_cached(0x5000), Some(anon(0x5000, 0x6000, 3)));
    }

    #[test]
    fn find_remembered_reads_without_remembering() {
        let mut m = VmaMap::new();
        m.insert(anon(0x1000, 0x3000, 3));
        m.insert(anon(0x5000, 0x6000, 1));
        assert_eq!(m.find_remembered(0x2000), Some(anon(0x1000, 0x3000, 3)));
        assert_eq!(m.find_remembered(0x4000), None);
        assert_eq!(m.find_cached(0x5000), Some(anon(0x5000, 0x6000, 1)));
        assert_eq!(m.find_remembered(0x1000), Some(anon(0x1000, 0x3000, 3)));
        assert_eq!(m.find_remembered(0x5fff), Some(anon(0x5000, 0x6000, 1)));
        // A change forgets the remembered area for both look-ups.
        m.remove(0x5000, 0x6000);
        assert_eq!(m.find_remembered(0x5000), None);
    }

    #[test]
    fn free_gap_top_down() {
        let mut m = VmaMap::new();
        assert_eq!(m.find_free_top_down(0x1000, 0x1000, 0x10000), Some(0xf000));
        m.insert(anon(0xe000, 0x10000, 3));
        assert_eq!(m.find_free_top_down(0x2000, 0x1000, 0x10000), Some(0xc000));
        m.insert(anon(0x2000, 0xe000, 3));
        assert_eq!(m.find_free_top_down(0x1000, 0x1000, 0x10000), Some(0x1000));
        assert_eq!(m.find_free_top_down(0x2000, 0x1000, 0x10000), None);
    }
}
