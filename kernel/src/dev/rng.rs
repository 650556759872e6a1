//! Kernel entropy: virtio-rng bytes and timer jitter seed the ChaCha20 CSPRNG behind getrandom and AT_RANDOM.
//!
//! At boot [`init`] reads [`DEVICE_BYTES`] from a virtio entropy device if QEMU attached one
//! (`-device virtio-rng-device`), samples the `time` CSR around [`JITTER_SAMPLES`] short loops
//! (their duration depends on the host), mixes both with the boot time into a 32-byte key and
//! seeds one ChaCha20 generator that every consumer draws from. `velox.fixedseed[=N]` on the
//! command line skips all of that and uses a fixed key (deterministic benchmarks, `run.sh -d`).

use crate::dev;
use crate::time::ticks;
use hal::println;
use hal::virtio::drivers::device::rng::VirtIORng;
use hal::virtio::{DeviceType, VirtioHal};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use velox_exec::sync::Mutex;
use velox_hal as hal;

/// Bytes read from the virtio entropy device at boot.
pub const DEVICE_BYTES: usize = 64;
/// Timer-delta samples taken at boot.
pub const JITTER_SAMPLES: usize = 128;

static RNG: Mutex<Option<ChaCha20Rng>> = Mutex::new(None);

/// A 32-byte mixing pool: each 32-byte block of input is XORed into the key, which is then
/// replaced by the first 32 bytes of the ChaCha20 stream under that key (a one-way chain, so
/// one unpredictable input block makes every later key unpredictable).
struct Pool([u8; 32]);

impl Pool {
    fn new() -> Self {
        Pool(*b"Velox entropy pool, ChaCha20 v1.")
    }

    fn absorb(&mut self, data: &[u8]) {
        for block in data.chunks(32) {
            for (k, b) in self.0.iter_mut().zip(block) {
                *k ^= b;
            }
            ChaCha20Rng::from_seed(self.0).fill_bytes(&mut self.0);
        }
    }
}

/// Read up to [`DEVICE_BYTES`] from the first virtio entropy device into the pool; bytes got.
fn from_device(pool: &mut Pool) -> usize {
    let Some(t) = dev::take(DeviceType::EntropySource) else { return 0 };
    let Ok(mut rng) = VirtIORng::<VirtioHal, _>::new(t) else {
        println!("[velox] virtio-rng: device failed to initialise");
        return 0;
    };
    let mut buf = [0u8; DEVICE_BYTES];
    let mut got = 0;
    // The device may return fewer bytes than asked; a few requests are plenty.
    for _ in 0..16 {
        if got == buf.len() {
            break;
        }
        match rng.request_entropy(&mut buf[got..]) {
            Ok(n) => got += n.min(buf.len() - got),
            Err(_) => break,
        }
    }
    pool.absorb(&buf[..got]);
    got
}

/// Sample timer deltas around short loops into the pool; returns (min, max) delta in ticks.
fn timer_jitter(pool: &mut Pool) -> (u64, u64) {
    let mut buf = [0u8; JITTER_SAMPLES * 4];
    let (mut lo, mut hi) = (u64::MAX, 0);
    let mut acc = ticks();
    for s in buf.chunks_mut(4) {
        let t0 = ticks();
        // Data-dependent length, so the work itself varies with what the timer said before.
        for k in 0..(256 + (acc & 255)) {
            acc = core::hint::black_box(acc.rotate_left(7) ^ k.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        }
        let d = ticks().wrapping_sub(t0);
        (lo, hi) = (lo.min(d), hi.max(d));
        acc ^= d;
        s.copy_from_slice(&((d as u32) ^ ((t0 as u32) << 16)).to_le_bytes());
    }
    pool.absorb(&buf);
    (lo, hi)
}

/// The `velox.fixedseed[=N]` argument, if given (N defaults to 0).
fn fixed_seed(bootargs: &str) -> Option<u64> {
    bootargs.split_whitespace().find_map(|a| match a.strip_prefix("velox.fixedseed")? {
        "" => Some(0),
        v => v.strip_prefix('=').map(|n| n.parse().unwrap_or(0)),
    })
}

/// Seed the kernel CSPRNG (once, at boot, after [`dev::init`]) and say which source it used.
pub fn init(bootargs: &str) {
    let mut pool = Pool::new();
    let rng = if let Some(n) = fixed_seed(bootargs) {
        println!("[velox] entropy: fixed seed {n} (velox.fixedseed)");
        ChaCha20Rng::seed_from_u64(n)
    } else {
        pool.absorb(&ticks().to_le_bytes());
        let got = from_device(&mut pool);
        let (lo, hi) = timer_jitter(&mut pool);
        pool.absorb(&ticks().to_le_bytes());
        if got > 0 {
            println!("[velox] entropy: virtio-rng ({got} bytes) + timer jitter ({JITTER_SAMPLES} samples, {lo}..{hi} ticks)");
        } else {
            println!("[velox] entropy: timer jitter only ({JITTER_SAMPLES} samples, {lo}..{hi} ticks; no virtio-rng device)");
        }
        ChaCha20Rng::from_seed(pool.0)
    };
    *RNG.lock() = Some(rng);
}

/// Fill `buf` from the kernel CSPRNG (seeded by [`init`]; before it, from the timer alone).
pub fn fill(buf: &mut [u8]) {
    let mut r = RNG.lock();
    let rng = r.get_or_insert_with(|| {
        let mut pool = Pool::new();
        timer_jitter(&mut pool);
        ChaCha20Rng::from_seed(pool.0)
    });
    rng.fill_bytes(buf);
}
