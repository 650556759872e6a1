//! A file's cached pages by index: an ordered map of 16-page chunks (a two-level radix tree).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use core::ops::{Bound, RangeBounds};

/// Pages per chunk. (Small: a file touched one page in many keeps a chunk per page, 128
/// bytes of slots with an 8-byte page, and the kernel's heap is a quarter of memory.)
const CHUNK: u64 = 16;

struct Chunk<P> {
    slots: Box<[Option<P>; CHUNK as usize]>,
    /// Slots in use.
    n: u32,
}

impl<P> Chunk<P> {
    fn new() -> Self {
        Chunk { slots: Box::new(core::array::from_fn(|_| None)), n: 0 }
    }
}

/// Page index -> page, in index order. A read or a fill of consecutive pages finds one chunk
/// per 16 pages instead of walking a B-tree per page (a `BTreeMap` insert cost ~800
/// instructions per page of a cold 64 MiB read, a look-up ~250).
pub struct PageMap<P> {
    chunks: BTreeMap<u64, Chunk<P>>,
    len: usize,
}

impl<P> Default for PageMap<P> {
    fn default() -> Self {
        Self::new()
    }
}

fn split(i: u64) -> (u64, usize) {
    (i / CHUNK, (i % CHUNK) as usize)
}

impl<P> PageMap<P> {
    pub const fn new() -> Self {
        PageMap { chunks: BTreeMap::new(), len: 0 }
    }

    /// Number of pages held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }

    pub fn get(&self, i: &u64) -> Option<&P> {
        let (c, s) = split(*i);
        self.chunks.get(&c)?.slots[s].as_ref()
    }

    pub fn get_mut(&mut self, i: &u64) -> Option<&mut P> {
        let (c, s) = split(*i);
        self.chunks.get_mut(&c)?.slots[s].as_mut()
    }

    pub fn contains_key(&self, i: &u64) -> bool {
        self.get(i).is_some()
    }

    /// Put page `i` in; the page it replaces, if any.
    pub fn insert(&mut self, i: u64, p: P) -> Option<P> {
        let (c, s) = split(i);
        let chunk = self.chunks.entry(c).or_insert_with(Chunk::new);
        let old = chunk.slots[s].replace(p);
        if old.is_none() {
            chunk.n += 1;
            self.len += 1;
        }
        old
    }

    pub fn remove(&mut self, i: &u64) -> Option<P> {
        let (c, s) = split(*i);
        let chunk = self.chunks.get_mut(&c)?;
        let old = chunk.slots[s].take()?;
        chunk.n -= 1;
        self.len -= 1;
        if chunk.n == 0 {
            self.chunks.remove(&c);
        }
        Some(old)
    }

    /// The pages with indices in `r`, in order.
    pub fn range<R: RangeBounds<u64>>(&self, r: R) -> impl Iterator<Item = (u64, &P)> + '_ {
        let lo = match r.start_bound() {
            Bound::Included(&a) => a,
            Bound::Excluded(&a) => a.saturating_add(1),
            Bound::Unbounded => 0,
        };
        // `hi` is exclusive; u64::MAX itself is never a page index (files end far below).
        let hi = match r.end_bound() {
            Bound::Included(&b) => b.saturating_add(1),
            Bound::Excluded(&b) => b,
            Bound::Unbounded => u64::MAX,
        };
        let (a, b) = if lo < hi { (lo / CHUNK, (hi - 1) / CHUNK + 1) } else { (0, 0) };
        self.chunks.range(a..b).flat_map(move |(&c, chunk)| {
            chunk.slots.iter().enumerate().filter_map(move |(s, p)| {
                let i = c * CHUNK + s as u64;
                if i < lo || i >= hi { None } else { p.as_ref().map(|p| (i, p)) }
            })
        })
    }

    /// All pages, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &P)> + '_ {
        self.range(..)
    }

    /// Keep only the pages for which `keep(index, page)` says so.
    pub fn retain(&mut self, mut keep: impl FnMut(u64, &mut P) -> bool) {
        let mut gone = 0;
        self.chunks.retain(|&c, chunk| {
            for (s, slot) in chunk.slots.iter_mut().enumerate() {
                if let Some(p) = slot
                    && !keep(c * CHUNK + s as u64, p)
                {
                    *slot = None;
                    chunk.n -= 1;
                    gone += 1;
                }
            }
            chunk.n != 0
        });
        self.len -= gone;
    }

    /// Take out the pages from index `at` on.
    pub fn split_off(&mut self, at: &u64) -> PageMap<P> {
        let (c, s) = split(*at);
        let mut out = PageMap { chunks: self.chunks.split_off(&(c + 1)), len: 0 };
        out.len = out.chunks.values().map(|ch| ch.n as usize).sum();
        if let Some(chunk) = self.chunks.get_mut(&c) {
            let mut moved = Chunk::new();
            for k in s..CHUNK as usize {
                if let Some(p) = chunk.slots[k].take() {
                    moved.slots[k] = Some(p);
                    moved.n += 1;
                    chunk.n -= 1;
                }
            }
            if moved.n != 0 {
                out.len += moved.n as usize;
                out.chunks.insert(c, moved);
            }
            if chunk.n == 0 {
                self.chunks.remove(&c);
            }
        }
        self.len -= out.len;
        out
    }
}

impl<P> core::ops::Index<&u64> for PageMap<P> {
    type Output = P;
    fn index(&self, i: &u64) -> &P {
        self.get(i).expect("no page at this index")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap as Model;

    #[test]
    fn matches_a_btreemap() {
        // A pseudo-random mix of operations, checked against BTreeMap after each.
        let mut m = PageMap::new();
        let mut model = Model::new();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for step in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = (x >> 8) % 700;
            match x % 11 {
                0..=3 => assert_eq!(m.insert(i, step), model.insert(i, step)),
                4..=5 => assert_eq!(m.remove(&i), model.remove(&i)),
                6 => {
                    let keep = (x >> 20) % 5;
                    m.retain(|k, _| k % 5 != keep);
                    model.retain(|&k, _| k % 5 != keep);
                }
                7 if step % 50 == 0 => {
                    let a = m.split_off(&i);
                    let b = model.split_off(&i);
                    assert_eq!(a.len(), b.len());
                    assert!(a.iter().map(|(k, v)| (k, *v)).eq(b.iter().map(|(&k, &v)| (k, v))));
                }
                8 => {
                    let j = i + (x >> 30) % 200;
                    assert!(m.range(i..j).map(|(k, v)| (k, *v)).eq(model.range(i..j).map(|(&k, &v)| (k, v))));
                    assert!(m.range(i..).map(|(k, v)| (k, *v)).eq(model.range(i..).map(|(&k, &v)| (k, v))));
                }
                _ => {
                    assert_eq!(m.get(&i), model.get(&i));
                    assert_eq!(m.contains_key(&i), model.contains_key(&i));
                    if let Some(v) = m.get_mut(&i) {
                        *v += 1;
                        *model.get_mut(&i).unwrap() += 1;
                    }
                }
            }
            assert_eq!(m.len(), model.len());
            assert_eq!(m.is_empty(), model.is_empty());
        }
        assert!(m.iter().map(|(k, v)| (k, *v)).eq(model.iter().map(|(&k, &v)| (k, v))));
        assert!(m.range(5..5).next().is_none());
        assert!(m.range(9..3).next().is_none());
        m.clear();
        assert!(m.is_empty() && m.iter().next().is_none());
    }
}
