//! Physical frame allocator: one bit per 4 KiB frame over a contiguous range.

use alloc::vec;
use alloc::vec::Vec;

/// Allocates 4 KiB frames from `[base, base + n * 4096)`. Allocation failure is `None`.
pub struct FrameAllocator {
    base: usize,
    frames: usize,
    bits: Vec<u64>, // 1 = free
    hint: usize,    // word index to start searching from
    free: usize,
    refs: Vec<u16>, // references to each allocated frame (copy-on-write sharing)
}

impl FrameAllocator {
    /// Manage the frames of physical range `[start, end)` (rounded inward to pages), all free.
    pub fn new(start: usize, end: usize) -> Self {
        let base = crate::page_ceil(start).unwrap_or(usize::MAX);
        let end = crate::page_floor(end);
        let frames = end.saturating_sub(base) / crate::PAGE_SIZE;
        let words = frames.div_ceil(64);
        let mut bits = vec![u64::MAX; words];
        if frames % 64 != 0 {
            bits[words - 1] = (1u64 << (frames % 64)) - 1;
        }
        FrameAllocator { base, frames, bits, hint: 0, free: frames, refs: vec![0; frames] }
    }

    /// Mark `[start, end)` as used (reserved: the kernel image, the device tree, the RAM disk).
    pub fn reserve(&mut self, start: usize, end: usize) {
        let s = crate::page_floor(start).max(self.base);
        let e = crate::page_ceil(end).unwrap_or(usize::MAX).min(self.base + self.frames * crate::PAGE_SIZE);
        let mut pa = s;
        while pa < e {
            let i = (pa - self.base) / crate::PAGE_SIZE;
            if self.bits[i / 64] & (1 << (i % 64)) != 0 {
                self.bits[i / 64] &= !(1 << (i % 64));
                self.free -= 1;
            }
            pa += crate::PAGE_SIZE;
        }
    }

    /// Allocate one frame; returns its physical address.
    pub fn alloc(&mut self) -> Option<usize> {
        if self.free == 0 {
            return None;
        }
        let n = self.bits.len();
        for k in 0..n {
            let w = (self.hint + k) % n;
            let word = self.bits[w];
            if word != 0 {
                let b = word.trailing_zeros() as usize;
                self.bits[w] &= !(1 << b);
                self.free -= 1;
                self.hint = w;
                self.refs[w * 64 + b] = 1;
                return Some(self.base + (w * 64 + b) * crate::PAGE_SIZE);
            }
        }
        None
    }

    /// Allocate `n` physically contiguous frames (DMA rings and buffers); returns the address
    /// of the first. First fit from the bottom of the range; `None` if no run of `n` free
    /// frames exists (or `n` is 0). Each frame gets one reference, as from [`Self::alloc`].
    pub fn alloc_contig(&mut self, n: usize) -> Option<usize> {
        if n == 0 || n > self.free {
            return None;
        }
        let (mut run, mut i) = (0, 0);
        while i < self.frames {
            if i % 64 == 0 && self.bits[i / 64] == 0 {
                // A fully used word ends any run.
                run = 0;
                i += 64;
                continue;
            }
            if self.bits[i / 64] & (1 << (i % 64)) != 0 {
                run += 1;
                if run == n {
                    let first = i + 1 - n;
                    for j in first..=i {
                        self.bits[j / 64] &= !(1 << (j % 64));
                        self.refs[j] = 1;
                    }
                    self.free -= n;
                    return Some(self.base + first * crate::PAGE_SIZE);
                }
            } else {
                run = 0;
            }
            i += 1;
        }
        None
    }

    /// Free `n` contiguous frames from [`Self::alloc_contig`] (drops one reference to each).
    pub fn dealloc_contig(&mut self, pa: usize, n: usize) {
        for k in 0..n {
            self.dealloc(pa + k * crate::PAGE_SIZE);
        }
    }

    fn index(&self, pa: usize) -> usize {
        assert!(pa >= self.base && pa % crate::PAGE_SIZE == 0, "bad frame {pa:#x}");
        let i = (pa - self.base) / crate::PAGE_SIZE;
        assert!(i < self.frames, "bad frame {pa:#x}");
        i
    }

    /// Add a reference to an allocated frame (a second mapping of it, copy-on-write).
    /// Returns false (and changes nothing) if the count would overflow.
    pub fn share(&mut self, pa: usize) -> bool {
        let i = self.index(pa);
        assert!(self.refs[i] > 0, "sharing a free frame {pa:#x}");
        match self.refs[i].checked_add(1) {
            Some(n) => {
                self.refs[i] = n;
                true
            }
            None => false,
        }
    }

    /// References to the frame at `pa` (0 if free or reserved).
    pub fn refs(&self, pa: usize) -> u16 {
        self.refs[self.index(pa)]
    }

    /// Drop one reference to a frame; it is free again when none remain (returns true then).
    /// Freeing a frame that is free or outside the range is a kernel bug.
    pub fn dealloc(&mut self, pa: usize) -> bool {
        let i = self.index(pa);
        assert!(self.bits[i / 64] & (1 << (i % 64)) == 0, "double free of frame {pa:#x}");
        if self.refs[i] > 1 {
            self.refs[i] -= 1;
            return false;
        }
        self.refs[i] = 0;
        self.bits[i / 64] |= 1 << (i % 64);
        self.free += 1;
        if i / 64 < self.hint {
            self.hint = i / 64;
        }
        true
    }

    /// Number of free frames.
    pub fn free_frames(&self) -> usize {
        self.free
    }

    /// Number of frames managed.
    pub fn total_frames(&self) -> usize {
        self.frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhaustion_and_reuse() {
        let mut a = FrameAllocator::new(0x8000_0000, 0x8000_0000 + 100 * 4096);
        assert_eq!(a.free_frames(), 100);
        let mut got = Vec::new();
        while let Some(f) = a.alloc() {
            assert_eq!(f % 4096, 0);
            got.push(f);
        }
        assert_eq!(got.len(), 100);
        assert_eq!(a.alloc(), None);
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 100, "no frame handed out twice");
        a.dealloc(got[37]);
        assert_eq!(a.alloc(), Some(got[37]));
        for f in got {
            a.dealloc(f);
        }
        assert_eq!(a.free_frames(), 100);
    }

    #[test]
    fn reserve_and_unaligned_bounds() {
        let mut a = FrameAllocator::new(0x1001, 0x1000 + 10 * 4096 + 5);
        assert_eq!(a.total_frames(), 9);
        a.reserve(0x3000, 0x5000);
        assert_eq!(a.free_frames(), 7);
        a.reserve(0x3000, 0x4000);
        assert_eq!(a.free_frames(), 7);
        while let Some(f) = a.alloc() {
            assert!(!(0x3000..0x5000).contains(&f));
        }
    }

    #[test]
    #[should_panic(expected = "double free")]
    fn double_free_is_caught() {
        let mut a = FrameAllocator::new(0, 4 * 4096);
        let f = a.alloc().unwrap();
        a.dealloc(f);
        a.dealloc(f);
    }

    #[test]
    fn contiguous_runs() {
        let mut a = FrameAllocator::new(0, 200 * 4096);
        assert_eq!(a.alloc_contig(0), None);
        assert_eq!(a.alloc_contig(201), None);
        // Punch holes: frames 0..70 used except 3 and 10..13; a run of 4 must skip them.
        let used: Vec<usize> = (0..70).map(|_| a.alloc().unwrap()).collect();
        for &f in &used {
            if f == 3 * 4096 || (10 * 4096..13 * 4096).contains(&f) {
                a.dealloc(f);
            }
        }
        assert_eq!(a.free_frames(), 200 - 70 + 4);
        assert_eq!(a.alloc_contig(1), Some(3 * 4096));
        assert_eq!(a.alloc_contig(3), Some(10 * 4096));
        // The next run of 4 starts right after the used block (crosses a word boundary).
        let r = a.alloc_contig(4).unwrap();
        assert_eq!(r, 70 * 4096);
        for k in 0..4 {
            assert_eq!(a.refs(r + k * 4096), 1);
        }
        let big = a.alloc_contig(100).unwrap();
        assert_eq!(big, 74 * 4096);
        assert_eq!(a.free_frames(), 200 - 174);
        assert_eq!(a.alloc_contig(27), None, "only 26 frames left");
        let rest = a.alloc_contig(26).unwrap();
        assert_eq!(a.free_frames(), 0);
        assert_eq!(a.alloc(), None);
        a.dealloc_contig(big, 100);
        a.dealloc_contig(rest, 26);
        assert_eq!(a.free_frames(), 126);
        // Single-frame allocation still finds the freed frames.
        assert!(a.alloc().is_some());
    }

    #[test]
    #[should_panic(expected = "double free")]
    fn contiguous_double_free_is_caught() {
        let mut a = FrameAllocator::new(0, 8 * 4096);
        let f = a.alloc_contig(3).unwrap();
        a.dealloc_contig(f, 3);
        a.dealloc_contig(f, 3);
    }

    #[test]
    fn shared_frames_free_on_last_reference() {
        let mut a = FrameAllocator::new(0, 4 * 4096);
        let f = a.alloc().unwrap();
        assert_eq!(a.refs(f), 1);
        assert!(a.share(f));
        assert!(a.share(f));
        assert_eq!(a.refs(f), 3);
        assert!(!a.dealloc(f));
        assert!(!a.dealloc(f));
        assert_eq!(a.free_frames(), 3);
        assert!(a.dealloc(f));
        assert_eq!(a.free_frames(), 4);
        assert_eq!(a.refs(f), 0);
    }
}
