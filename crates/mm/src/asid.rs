//! Address-space identifiers (RISC-V `satp.ASID`): the generation arithmetic of the allocator.
//!
//! An address space's *context* is one `u64`, `generation << 16 | asid` (0: never had one, as
//! generations start at 1). Within one generation every ASID goes to at most one address space
//! and is never given back (a freed space's ASID stays unused until the generation ends); when
//! they run out the generation is bumped and numbering starts again at 1 (ASID 0 is the
//! kernel's own table). The kernel makes every hart flush its whole TLB before it uses an
//! ASID of a newer generation than the one it last flushed at, so entries tagged in an older
//! generation are never reached through a reused ASID. This module is only the counting; the
//! locking, the per-hart generations and the flushes are the kernel's (`smp.rs`).

/// Bits of a context that hold the ASID (Sv39/Sv48 have at most 16 ASID bits).
pub const ASID_SHIFT: u32 = 16;
const ASID_MASK: u64 = (1 << ASID_SHIFT) - 1;

/// The generation of context `ctx`.
#[inline(always)]
pub const fn ctx_gen(ctx: u64) -> u64 {
    ctx >> ASID_SHIFT
}

/// The ASID of context `ctx`.
#[inline(always)]
pub const fn ctx_asid(ctx: u64) -> usize {
    (ctx & ASID_MASK) as usize
}

/// Hands out ASIDs `1..=max` per generation. Not thread-safe: the kernel keeps it under a lock.
#[derive(Debug)]
pub struct AsidAlloc {
    /// The current generation (starts at 1, so context 0 is never current).
    generation: u64,
    /// The next ASID to hand out in this generation (`max + 1`: none left).
    next: usize,
    /// The largest ASID (0: ASIDs are not used).
    max: usize,
}

impl AsidAlloc {
    /// An allocator with no ASIDs (every [`get`](Self::get) answers ASID 0).
    pub const fn new() -> AsidAlloc {
        AsidAlloc { generation: 1, next: 1, max: 0 }
    }

    /// Use ASIDs `1..2^bits` (`bits` at most 16; 0 turns ASIDs off). Meant for start-up,
    /// before any context was handed out; a later call starts a new generation, so no
    /// context handed out before stays current.
    pub fn set_bits(&mut self, bits: u32) {
        let bits = bits.min(ASID_SHIFT);
        self.max = (1usize << bits) - 1;
        self.generation += 1;
        self.next = 1;
    }

    /// True if ASIDs are in use (at least one besides the kernel's 0).
    pub const fn enabled(&self) -> bool {
        self.max > 0
    }

    /// The largest ASID handed out.
    pub const fn max(&self) -> usize {
        self.max
    }

    /// The current generation.
    pub const fn generation(&self) -> u64 {
        self.generation
    }

    /// True if `ctx` belongs to the current generation (its ASID is still its own).
    pub const fn is_current(&self, ctx: u64) -> bool {
        ctx_gen(ctx) == self.generation
    }

    /// The context an address space whose context is `ctx` runs with: `ctx` itself if it is
    /// of the current generation, else a fresh ASID, after starting a new generation if this
    /// one has none left (`rolled` in the answer). With ASIDs off: ASID 0 of the current
    /// generation.
    pub fn get(&mut self, ctx: u64) -> Got {
        if self.is_current(ctx) {
            return Got { ctx, rolled: false };
        }
        if self.max == 0 {
            return Got { ctx: self.generation << ASID_SHIFT, rolled: false };
        }
        let mut rolled = false;
        if self.next > self.max {
            self.generation += 1;
            self.next = 1;
            rolled = true;
        }
        let asid = self.next;
        self.next += 1;
        Got { ctx: self.generation << ASID_SHIFT | asid as u64, rolled }
    }
}

impl Default for AsidAlloc {
    fn default() -> Self {
        Self::new()
    }
}

/// What [`AsidAlloc::get`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Got {
    /// The context to run with.
    pub ctx: u64,
    /// A new generation began with this allocation.
    pub rolled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn off_gives_asid_zero() {
        let mut a = AsidAlloc::new();
        assert!(!a.enabled());
        let g = a.get(0);
        assert_eq!(ctx_asid(g.ctx), 0);
        assert!(!g.rolled);
        assert!(a.is_current(g.ctx));
    }

    #[test]
    fn current_context_is_kept() {
        let mut a = AsidAlloc::new();
        a.set_bits(4);
        let c = a.get(0).ctx;
        assert_eq!(ctx_asid(c), 1);
        for _ in 0..100 {
            assert_eq!(a.get(c), Got { ctx: c, rolled: false });
        }
    }

    #[test]
    fn no_reuse_within_a_generation_then_rollover() {
        let mut a = AsidAlloc::new();
        a.set_bits(3); // ASIDs 1..=7
        let g0 = a.generation();
        let mut seen = HashSet::new();
        for i in 1..=7 {
            let got = a.get(0);
            assert!(!got.rolled);
            assert_eq!(ctx_gen(got.ctx), g0);
            assert_eq!(ctx_asid(got.ctx), i);
            assert!(seen.insert(ctx_asid(got.ctx)), "ASID reused within a generation");
        }
        // The eighth space starts a new generation, at ASID 1 again.
        let got = a.get(0);
        assert!(got.rolled);
        assert_eq!(ctx_gen(got.ctx), g0 + 1);
        assert_eq!(ctx_asid(got.ctx), 1);
        assert_eq!(a.generation(), g0 + 1);
    }

    #[test]
    fn old_generation_contexts_are_replaced() {
        let mut a = AsidAlloc::new();
        a.set_bits(1); // a single ASID: every new space rolls over
        let x = a.get(0).ctx;
        let y = a.get(0);
        assert!(y.rolled);
        assert!(!a.is_current(x));
        // x comes back: a new ASID (the only one, 1) in yet another generation.
        let x2 = a.get(x);
        assert!(x2.rolled);
        assert_ne!(ctx_gen(x2.ctx), ctx_gen(y.ctx));
        assert_eq!(ctx_asid(x2.ctx), 1);
        assert!(!a.is_current(y.ctx));
    }

    #[test]
    fn never_two_current_contexts_with_one_asid() {
        // Many spaces asking in a pseudo-random order: among contexts of the current
        // generation, no ASID is held twice, and ASID 0 is never handed out.
        let mut a = AsidAlloc::new();
        a.set_bits(5);
        let mut ctx = vec![0u64; 100];
        let mut seed = 7u64;
        for _ in 0..20_000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let i = (seed >> 33) as usize % ctx.len();
            ctx[i] = a.get(ctx[i]).ctx;
            assert_ne!(ctx_asid(ctx[i]), 0);
            let mut held = HashSet::new();
            for &c in &ctx {
                if a.is_current(c) {
                    assert!(held.insert(ctx_asid(c)), "ASID {} held twice", ctx_asid(c));
                }
            }
        }
    }

    #[test]
    fn set_bits_caps_at_16_and_starts_a_generation() {
        let mut a = AsidAlloc::new();
        let c = a.get(0).ctx;
        a.set_bits(20);
        assert_eq!(a.max(), 0xffff);
        assert!(!a.is_current(c));
    }
}
