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
