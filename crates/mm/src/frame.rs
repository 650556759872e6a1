//! Physical frames: a bitmap allocator over a contiguous range ([`FrameAllocator`]), per-frame
//! reference counts that need no lock ([`FrameRefs`]) and a small per-hart stack of free
//! frames in front of the bitmap ([`FrameCache`]).
//!
//! The kernel keeps the bitmap under one lock and gives each hart a cache, so page faults and
//! thread creation on different harts take the shared lock once per batch, not per frame; a
//! frame's references (copy-on-write sharing) are atomics, so sharing and dropping a shared
//! frame take no lock at all.

use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

/// Allocates 4 KiB frames from `[base, base + n * 4096)`. Allocation failure is `None`.
/// Knows only free or not; references are [`FrameRefs`]' business.
pub struct FrameAllocator {
    base: usize,
    frames: usize,
    bits: Vec<u64>, // 1 = free
    hint: usize,    // word index to start searching from
    run_hint: usize, // word index where `alloc_run`'s next search starts
    free: usize,
}

impl FrameAllocator {
    /// Manage the frames of physical range `[start, end)` (rounded inward to pages), all free.
    pub fn new(start: usize, end: usize) -> Self {
        let (base, frames) = range_of(start, end);
        let words = frames.div_ceil(64);
        let mut bits = vec![u64::MAX; words];
        if frames % 64 != 0 {
            bits[words - 1] = (1u64 << (frames % 64)) - 1;
        }
        FrameAllocator { base, frames, bits, hint: 0, run_hint: 0, free: frames }
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
                return Some(self.base + (w * 64 + b) * crate::PAGE_SIZE);
            }
        }
        None
    }

    /// Allocate `n` physically contiguous frames (DMA rings and buffers); returns the address
    /// of the first. First fit from the bottom of the range; `None` if no run of `n` free
    /// frames exists (or `n` is 0).
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

    /// Allocate `n` contiguous frames (n > 0) starting at a 64-frame boundary, for a device
    /// read straight into them (the page cache's read-ahead): whole free bitmap words are
    /// looked for, next fit from where the last such search ended, so the search costs a few
    /// instructions per 64 frames; `None` when there is no such run (the caller has another
    /// way: no bit-by-bit search, no draining of caches).
    pub fn alloc_run(&mut self, n: usize) -> Option<usize> {
        if n == 0 || n > self.free {
            return None;
        }
        let k = n.div_ceil(64);
        let words = self.bits.len();
        let from = self.run_hint.min(words);
        let w = self.find_free_words(from, words, k).or_else(|| self.find_free_words(0, (from + k).min(words), k))?;
        for i in 0..k {
            let left = n - i * 64;
            self.bits[w + i] &= if left >= 64 { 0 } else { !((1u64 << left) - 1) };
        }
        self.free -= n;
        self.run_hint = w + k;
        Some(self.base + w * 64 * crate::PAGE_SIZE)
    }

    /// The first of `k` consecutive all-free words in `[from, to)`.
    fn find_free_words(&self, from: usize, to: usize, k: usize) -> Option<usize> {
        let mut run = 0;
        for w in from..to {
            if self.bits[w] == u64::MAX {
                run += 1;
                if run == k {
                    return Some(w + 1 - k);
                }
            } else {
                run = 0;
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

    /// Give a frame back. Freeing a frame that is free or outside the range is a kernel bug.
    pub fn free(&mut self, pa: usize) {
        let i = self.index(pa);
        assert!(self.bits[i / 64] & (1 << (i % 64)) == 0, "double free of frame {pa:#x}");
        self.bits[i / 64] |= 1 << (i % 64);
        self.free += 1;
        if i / 64 < self.hint {
            self.hint = i / 64;
        }
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

fn range_of(start: usize, end: usize) -> (usize, usize) {
    let base = crate::page_ceil(start).unwrap_or(usize::MAX);
    let end = crate::page_floor(end);
    (base, end.saturating_sub(base) / crate::PAGE_SIZE)
}

/// References to each frame of a range (copy-on-write and shared mappings), one atomic
/// counter per frame: 0 for a free frame (in the bitmap or in a cache), 1 once allocated.
/// Counters are 32 bits wide because RISC-V has word AMOs but no 16-bit ones (a 16-bit
/// atomic is a masked LR/SC loop); they stop at `u16::MAX` references all the same.
pub struct FrameRefs {
    base: usize,
    refs: Vec<AtomicU32>,
}

impl FrameRefs {
    /// Counters for the frames of `[start, end)` (same rounding as [`FrameAllocator::new`]).
    pub fn new(start: usize, end: usize) -> Self {
        let (base, frames) = range_of(start, end);
        FrameRefs { base, refs: (0..frames).map(|_| AtomicU32::new(0)).collect() }
    }

    #[inline]
    fn at(&self, pa: usize) -> &AtomicU32 {
        let i = pa.wrapping_sub(self.base) / crate::PAGE_SIZE;
        assert!(pa % crate::PAGE_SIZE == 0 && i < self.refs.len(), "bad frame {pa:#x}");
        &self.refs[i]
    }

    /// A free frame was handed out: its one reference.
    #[inline]
    pub fn first(&self, pa: usize) {
        let r = self.at(pa);
        let n = r.load(Ordering::Relaxed);
        assert!(n == 0, "allocated frame {pa:#x} had {n} references");
        r.store(1, Ordering::Relaxed);
    }

    /// Add a reference to an allocated frame (a second mapping of it, copy-on-write).
    /// Returns false (and changes nothing) if the count would overflow.
    #[inline]
    pub fn share(&self, pa: usize) -> bool {
        // A bounded compare-and-swap, never an add undone afterwards: a count briefly above
        // the cap would read as another value through `get` (a copy-on-write break trusting
        // "1 reference" must never see one that is not).
        let r = self.at(pa).fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            assert!(n > 0, "sharing a free frame {pa:#x}");
            (n < u16::MAX as u32).then_some(n + 1)
        });
        r.is_ok()
    }

    /// Drop one reference; true when it was the last (the frame is free now and goes back to
    /// an allocator). Dropping a reference to a free frame is a double free: a kernel bug.
    #[inline]
    pub fn put(&self, pa: usize) -> bool {
        // Release: writes to the frame through this reference happen before whoever frees it
        // (after the last put) reuses it; Acquire on the last: see every other holder's writes.
        let n = self.at(pa).fetch_sub(1, Ordering::AcqRel);
        assert!(n != 0, "double free of frame {pa:#x}");
        n == 1
    }

    /// References to the frame at `pa` (0 if free or reserved).
    #[inline]
    pub fn get(&self, pa: usize) -> u16 {
        // Acquire: a caller that sees 1 and writes the frame in place (copy-on-write) comes
        // after the other holders' last use (their `put`s are Release).
        self.at(pa).load(Ordering::Acquire) as u16
    }
}

/// A small stack of free frames in front of a [`FrameAllocator`] (one per hart): frames move
/// between the two in batches of `N / 2`.
pub struct FrameCache<const N: usize> {
    len: usize,
    frames: [usize; N],
}

impl<const N: usize> FrameCache<N> {
    /// An empty cache.
    pub const fn new() -> Self {
        FrameCache { len: 0, frames: [0; N] }
    }

    /// Frames in the cache.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the cache holds no frame.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Take a frame (the one freed last: its lines may still be in this hart's cache).
    #[inline]
    pub fn pop(&mut self) -> Option<usize> {
        self.len = self.len.checked_sub(1)?;
        Some(self.frames[self.len])
    }

    /// Keep a free frame; false (and nothing kept) when the cache is full: [`Self::spill`]
    /// first.
    #[inline]
    pub fn push(&mut self, pa: usize) -> bool {
        if self.len == N {
            return false;
        }
        self.frames[self.len] = pa;
        self.len += 1;
        true
    }

    /// Give frames back to `global` until at most `keep` remain (the oldest go first).
    pub fn spill(&mut self, global: &mut FrameAllocator, keep: usize) {
        if self.len <= keep {
            return;
        }
        let gone = self.len - keep;
        for &f in &self.frames[..gone] {
            global.free(f);
        }
        self.frames.copy_within(gone..self.len, 0);
        self.len = keep;
    }

    /// Refill from `global` with up to `N / 2` frames; returns how many came.
    pub fn refill(&mut self, global: &mut FrameAllocator) -> usize {
        let mut got = 0;
        while self.len < N / 2 {
            let Some(f) = global.alloc() else { break };
            self.frames[self.len] = f;
            self.len += 1;
            got += 1;
        }
        got
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_whole_free_words_next_fit() {
        // 1,000 frames: words 0..15 (the last has 40 frames).
        let mut a = FrameAllocator::new(0, 1000 * 4096);
        let x = a.alloc().unwrap(); // frame 0: word 0 is no longer whole
        assert_eq!(x, 0);
        let r = a.alloc_run(100).unwrap();
        assert_eq!(r, 64 * 4096, "words 1 and 2");
        assert_eq!(a.free_frames(), 1000 - 1 - 100);
        // Frames 164..191 of word 2 stay free and are handed out by alloc.
        let r2 = a.alloc_run(64).unwrap();
        assert_eq!(r2, 192 * 4096, "next fit: word 3");
        let mut taken = vec![x];
        taken.extend((0..100).map(|k| r + k * 4096));
        taken.extend((0..64).map(|k| r2 + k * 4096));
        while let Some(f) = a.alloc() {
            assert!(!taken.contains(&f), "frame {f:#x} handed out twice");
            taken.push(f);
        }
        assert_eq!(taken.len(), 1000);
        assert_eq!(a.alloc_run(1), None);
        // Free words 5 and 9..10; the search goes on from word 4, then wraps.
        for w in [5usize, 9, 10] {
            for k in 0..64 {
                a.free((w * 64 + k) * 4096);
            }
        }
        assert_eq!(a.alloc_run(128), Some(9 * 64 * 4096));
        assert_eq!(a.alloc_run(128), None, "no two whole words left");
        assert_eq!(a.alloc_run(10), Some(5 * 64 * 4096), "wrapped around to word 5");
        assert_eq!(a.free_frames(), 54);
        // The partial last word (40 frames) never counts as whole.
        let mut b = FrameAllocator::new(0, 40 * 4096);
        assert_eq!(b.alloc_run(1), None);
    }

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
        a.free(got[37]);
        assert_eq!(a.alloc(), Some(got[37]));
        for f in got {
            a.free(f);
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
        a.free(f);
        a.free(f);
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
                a.free(f);
            }
        }
        assert_eq!(a.free_frames(), 200 - 70 + 4);
        assert_eq!(a.alloc_contig(1), Some(3 * 4096));
        assert_eq!(a.alloc_contig(3), Some(10 * 4096));
        // The next run of 4 starts right after the used block (crosses a word boundary).
        let r = a.alloc_contig(4).unwrap();
        assert_eq!(r, 70 * 4096);
        let big = a.alloc_contig(100).unwrap();
        assert_eq!(big, 74 * 4096);
        assert_eq!(a.free_frames(), 200 - 174);
        assert_eq!(a.alloc_contig(27), None, "only 26 frames left");
        let rest = a.alloc_contig(26).unwrap();
        assert_eq!(a.free_frames(), 0);
        assert_eq!(a.alloc(), None);
        (0..100).for_each(|k| a.free(big + k * 4096));
        (0..26).for_each(|k| a.free(rest + k * 4096));
        assert_eq!(a.free_frames(), 126);
        // Single-frame allocation still finds the freed frames.
        assert!(a.alloc().is_some());
    }

    #[test]
    #[should_panic(expected = "double free")]
    fn contiguous_double_free_is_caught() {
        let mut a = FrameAllocator::new(0, 8 * 4096);
        let f = a.alloc_contig(3).unwrap();
        (0..3).for_each(|k| a.free(f + k * 4096));
        (0..3).for_each(|k| a.free(f + k * 4096));
    }

    #[test]
    fn shared_frames_free_on_last_reference() {
        let r = FrameRefs::new(0, 4 * 4096);
        let f = 2 * 4096;
        assert_eq!(r.get(f), 0);
        r.first(f);
        assert_eq!(r.get(f), 1);
        assert!(r.share(f));
        assert!(r.share(f));
        assert_eq!(r.get(f), 3);
        assert!(!r.put(f));
        assert!(!r.put(f));
        assert!(r.put(f));
        assert_eq!(r.get(f), 0);
    }

    #[test]
    #[should_panic(expected = "double free")]
    fn dropping_a_free_frame_is_caught() {
        let r = FrameRefs::new(0, 4 * 4096);
        r.first(0);
        r.put(0);
        r.put(0);
    }

    #[test]
    fn share_refuses_overflow() {
        let r = FrameRefs::new(0, 4096);
        r.first(0);
        for _ in 1..u16::MAX {
            assert!(r.share(0));
        }
        assert!(!r.share(0));
        assert_eq!(r.get(0), u16::MAX);
    }

    #[test]
    fn share_at_the_cap_from_many_threads_never_overshoots() {
        let r = std::sync::Arc::new(FrameRefs::new(0, 4096));
        r.first(0);
        for _ in 1..u16::MAX - 4 {
            assert!(r.share(0));
        }
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let r = r.clone();
                std::thread::spawn(move || (0..1000).filter(|_| r.share(0)).count())
            })
            .collect();
        let won: usize = hs.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(won, 4, "exactly the room left under the cap");
        assert_eq!(r.get(0), u16::MAX);
    }

    #[test]
    #[should_panic(expected = "bad frame")]
    fn refs_outside_the_range_are_caught() {
        FrameRefs::new(0x1000, 0x3000).get(0x3000);
    }

    #[test]
    fn cache_batches() {
        let mut a = FrameAllocator::new(0, 100 * 4096);
        let mut c = FrameCache::<8>::new();
        assert_eq!(c.pop(), None);
        assert_eq!(c.refill(&mut a), 4);
        assert_eq!((c.len(), a.free_frames()), (4, 96));
        let f = c.pop().unwrap();
        assert!(c.push(f));
        assert_eq!(c.pop(), Some(f), "last freed, first reused");
        let mut mine = vec![f];
        while let Some(f) = c.pop() {
            mine.push(f);
        }
        for _ in 0..4 {
            mine.push(a.alloc().unwrap());
        }
        for &f in &mine {
            assert!(c.push(f));
        }
        assert!(!c.push(0x99000), "full");
        c.spill(&mut a, 4);
        assert_eq!((c.len(), a.free_frames()), (4, 96));
        // The newest four stay.
        assert_eq!(c.pop(), Some(mine[7]));
        c.spill(&mut a, 0);
        assert_eq!((c.len(), a.free_frames()), (0, 99));
        a.free(mine[7]);
        assert_eq!(a.free_frames(), 100);
    }
}
