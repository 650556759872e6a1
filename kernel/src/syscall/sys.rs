//! System information: uname, getrandom, and the entropy behind AT_RANDOM.

use super::{Fast, err, ret, uaccess};
use crate::task::Thread;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use spin::Mutex;
use velox_hal::trap::UserContext;

/// AT_HWCAP: the single-letter ISA extensions I, M, A, F, D, C (bit = letter - 'a').
pub const HWCAP: u64 = (1 << (b'i' - b'a')) | (1 << (b'm' - b'a')) | (1 << (b'a' - b'a')) | (1 << (b'f' - b'a')) | (1 << (b'd' - b'a')) | (1 << (b'c' - b'a'));

static RNG: Mutex<Option<ChaCha20Rng>> = Mutex::new(None);

/// Fill `buf` from the kernel CSPRNG (seeded from the boot time counter until a hardware
/// entropy source is wired in; deterministic under `-icount`, which the benchmarks want).
pub fn fill_random(buf: &mut [u8]) {
    let mut r = RNG.lock();
    let rng = r.get_or_insert_with(|| ChaCha20Rng::seed_from_u64(crate::time::ticks() ^ 0x5645_4c4f_5821));
    rng.fill_bytes(buf);
}

fn field(s: &str) -> [core::ffi::c_char; 65] {
    let mut f = [0 as core::ffi::c_char; 65];
    for (d, b) in f.iter_mut().zip(s.bytes().take(64)) {
        *d = b as core::ffi::c_char;
    }
    f
}

pub fn uname(_: &Thread, c: &UserContext) -> Fast {
    let u = linux_raw_sys::system::new_utsname {
        sysname: field("Linux"),
        nodename: field("velox"),
        release: field("6.6.0-velox"),
        version: field(concat!("#1 Velox ", env!("CARGO_PKG_VERSION"))),
        machine: field("riscv64"),
        domainname: field("(none)"),
    };
    Fast::Done(ret(uaccess::write(c.arg(0), &u).map(|_| 0)))
}

/// getrandom(buf, len, flags).
pub fn getrandom(_: &Thread, c: &UserContext) -> Fast {
    let (buf, len, flags) = (c.arg(0), c.arg(1), c.arg(2) as u32);
    if flags & !(g::GRND_NONBLOCK | g::GRND_RANDOM | g::GRND_INSECURE) != 0 {
        return Fast::Done(err(errno::EINVAL));
    }
    let len = len.min(1 << 25);
    let mut chunk = [0u8; 256];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(chunk.len());
        fill_random(&mut chunk[..n]);
        if let Err(e) = uaccess::write_bytes(buf + done, &chunk[..n]) {
            return Fast::Done(if done > 0 { done as isize } else { err(e) });
        }
        done += n;
    }
    Fast::Done(done as isize)
}
