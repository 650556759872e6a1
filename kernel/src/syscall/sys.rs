//! System information: uname, sysinfo, riscv_hwprobe, getrandom, and the entropy behind AT_RANDOM.

use super::{Fast, err, ret, uaccess};
use crate::task::Thread;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_hal::trap::UserContext;

/// AT_HWCAP: the single-letter ISA extensions I, M, A, F, D, C (bit = letter - 'a').
pub const HWCAP: u64 = (1 << (b'i' - b'a')) | (1 << (b'm' - b'a')) | (1 << (b'a' - b'a')) | (1 << (b'f' - b'a')) | (1 << (b'd' - b'a')) | (1 << (b'c' - b'a'));

/// Fill `buf` from the kernel CSPRNG (virtio-rng + timer jitter, or `velox.fixedseed`: see
/// `dev::rng`).
pub fn fill_random(buf: &mut [u8]) {
    crate::dev::rng::fill(buf);
}

fn field(s: &str) -> [core::ffi::c_char; 65] {
    let mut f = [0 as core::ffi::c_char; 65];
    for (d, b) in f.iter_mut().zip(s.bytes().take(64)) {
        *d = b as core::ffi::c_char;
    }
    f
}

/// The host name (sethostname, uname's nodename, /proc/sys/kernel/hostname).
pub static HOSTNAME: velox_exec::sync::Mutex<([u8; 64], usize)> = velox_exec::sync::Mutex::new((initial_hostname(), 5));

const fn initial_hostname() -> [u8; 64] {
    let mut b = [0u8; 64];
    let name = b"velox";
    let mut i = 0;
    while i < name.len() {
        b[i] = name[i];
        i += 1;
    }
    b
}

/// The host name's bytes.
pub fn hostname() -> alloc::vec::Vec<u8> {
    let h = HOSTNAME.lock();
    h.0[..h.1].to_vec()
}

/// sethostname(name, len): root only; EINVAL past 64 bytes.
pub fn sethostname(t: &Thread, c: &UserContext) -> Fast {
    let (name, len) = (c.arg(0), c.arg(1));
    Fast::Done(ret((|| {
        if !t.process.cred.lock().privileged() {
            return Err(linux_raw_sys::errno::EPERM);
        }
        if len > 64 {
            return Err(linux_raw_sys::errno::EINVAL);
        }
        let mut buf = [0u8; 64];
        uaccess::read_bytes(name, &mut buf[..len])?;
        *HOSTNAME.lock() = (buf, len);
        Ok(0)
    })()))
}

/// reboot(magic1, magic2, cmd, arg) with Linux's magic numbers: power off, halt, restart;
/// Ctrl-Alt-Del on/off are accepted and do nothing (there is no such key).
pub fn reboot(t: &Thread, c: &UserContext) -> Fast {
    let (m1, m2, cmd) = (c.arg(0) as u32, c.arg(1) as u32, c.arg(2) as u32);
    use linux_raw_sys::errno;
    if !t.process.cred.lock().privileged() {
        return Fast::Done(err(errno::EPERM));
    }
    if m1 != 0xfee1_dead || ![672274793, 85072278, 369367448, 537993216].contains(&m2) {
        return Fast::Done(err(errno::EINVAL));
    }
    match cmd {
        0x4321_fedc | 0xcdef_0123 => {
            velox_hal::println!("[velox] reboot: power down");
            crate::fs::ext4::shutdown();
            velox_hal::sbi::shutdown(false)
        }
        0x0123_4567 => {
            velox_hal::println!("[velox] reboot: restarting system");
            crate::fs::ext4::shutdown();
            velox_hal::sbi::reboot()
        }
        0x89ab_cdef | 0 => Fast::Done(0),
        _ => Fast::Done(err(errno::EINVAL)),
    }
}

pub fn uname(_: &Thread, c: &UserContext) -> Fast {
    let h = HOSTNAME.lock();
    let mut nodename = [0 as core::ffi::c_char; 65];
    for (d, b) in nodename.iter_mut().zip(&h.0[..h.1]) {
        *d = *b as core::ffi::c_char;
    }
    drop(h);
    let u = velox_abi::Utsname {
        sysname: field("Linux"),
        nodename,
        release: field("6.6.0-velox"),
        version: field(concat!("#1 Velox ", env!("CARGO_PKG_VERSION"))),
        machine: field("riscv64"),
        domainname: field("(none)"),
    };
    Fast::Done(ret(uaccess::write(c.arg(0), &u).map(|_| 0)))
}

use super::fs::{MAX_RW_COUNT, STEP_BYTES as STEP};

/// getrandom(buf, len, flags), as Linux 6.x: the pool is seeded at boot, so it never blocks;
/// GRND_RANDOM|GRND_INSECURE together or unknown flags are EINVAL; `len` is capped at
/// MAX_RW_COUNT; a range reaching past user space is EFAULT; a fault part-way returns the
/// bytes copied so far (EFAULT only if none). Copies in page-bounded chunks from the stack.
/// Up to 64 KiB on the fast path; longer requests go to `getrandom_async`, which yields
/// between 64 KiB steps (the kernel never runs seconds without a switch).
pub fn getrandom(_: &Thread, c: &UserContext) -> Fast {
    let (buf, len, flags) = (c.arg(0), c.arg(1), c.arg(2) as u32);
    match check_getrandom(buf, len, flags) {
        Err(e) => Fast::Done(err(e)),
        Ok(len) if len > STEP => Fast::Slow,
        Ok(len) => Fast::Done(match fill_user(buf, 0, len) {
            Ok(n) => n as isize,
            Err((0, e)) => err(e),
            Err((n, _)) => n as isize,
        }),
    }
}

/// getrandom for long requests: 64 KiB at a time with a yield between.
pub async fn getrandom_async(_t: alloc::sync::Arc<Thread>, a: super::Args) -> isize {
    let (buf, len, flags) = (a.0[0], a.0[1], a.0[2] as u32);
    let len = match check_getrandom(buf, len, flags) {
        Ok(l) => l,
        Err(e) => return err(e),
    };
    let mut done = 0;
    while done < len {
        match fill_user(buf, done, (done + STEP).min(len)) {
            Ok(n) => done = n,
            Err((0, e)) => return err(e),
            Err((n, _)) => return n as isize,
        }
        if done < len {
            crate::exec::yield_now().await;
        }
    }
    done as isize
}

/// Flags and range of a getrandom call; the length it will fill.
fn check_getrandom(buf: usize, len: usize, flags: u32) -> Result<usize, u32> {
    if flags & !(g::GRND_NONBLOCK | g::GRND_RANDOM | g::GRND_INSECURE) != 0
        || flags & (g::GRND_RANDOM | g::GRND_INSECURE) == g::GRND_RANDOM | g::GRND_INSECURE
    {
        return Err(errno::EINVAL);
    }
    let len = len.min(MAX_RW_COUNT);
    if buf.checked_add(len).is_none_or(|e| e > velox_hal::USER_END) {
        return Err(errno::EFAULT);
    }
    Ok(len)
}

/// Fill `[buf+from, buf+to)` with random bytes; Ok(to), or Err((bytes done from 0, errno)).
fn fill_user(buf: usize, from: usize, to: usize) -> Result<usize, (usize, u32)> {
    let mut chunk = [0u8; 256];
    let mut done = from;
    while done < to {
        // Never straddle a page, so a fault leaves `done` at the exact end of mapped memory.
        let at = buf + done;
        let n = (to - done).min(chunk.len()).min(4096 - (at & 4095));
        fill_random(&mut chunk[..n]);
        uaccess::write_bytes(at, &chunk[..n]).map_err(|e| (done, e))?;
        done += n;
    }
    Ok(done)
}

/// sysinfo(info): memory figures count free frames plus free kernel heap as free RAM.
pub fn sysinfo(_: &Thread, c: &UserContext) -> Fast {
    let (free, total) = crate::mm::frame_stats();
    let heap_free = crate::mm::heap_free() as u64;
    // struct sysinfo on 64-bit Linux, as 14 words: uptime, loads[3], totalram, freeram,
    // sharedram, bufferram, totalswap, freeswap, procs (u16), totalhigh, freehigh, mem_unit (u32).
    let mut v = [0u64; 14];
    v[0] = crate::time::monotonic_ns() / 1_000_000_000;
    v[4] = (total * 4096 + crate::mm::heap_size()) as u64;
    v[5] = free as u64 * 4096 + heap_free;
    v[10] = crate::task::process::THREADS.load(core::sync::atomic::Ordering::Relaxed).min(u16::MAX as usize) as u64;
    v[13] = 1;
    Fast::Done(ret(uaccess::write(c.arg(0), &v).map(|_| 0)))
}

/// riscv_hwprobe keys (Linux's arch/riscv/include/uapi/asm/hwprobe.h; not in linux-raw-sys).
mod hwprobe {
    pub const MVENDORID: i64 = 0;
    pub const MARCHID: i64 = 1;
    pub const MIMPID: i64 = 2;
    pub const BASE_BEHAVIOR: i64 = 3;
    pub const IMA_EXT_0: i64 = 4;
    pub const CPUPERF_0: i64 = 5;
    pub const ZICBOZ_BLOCK_SIZE: i64 = 6;
    pub const HIGHEST_VIRT_ADDRESS: i64 = 7;
    pub const TIME_CSR_FREQ: i64 = 8;
    pub const MISALIGNED_SCALAR_PERF: i64 = 9;
    pub const BASE_BEHAVIOR_IMA: u64 = 1;
    pub const IMA_FD: u64 = 1 << 0;
    pub const IMA_C: u64 = 1 << 1;
    /// What a base "rv64imafdc" hart implies (Linux reports them for it too): Zca and Zcd
    /// (C with D), Zicntr and Zihpm (counters, assumed with a `riscv,isa` string), Zaamo and
    /// Zalrsc (A).
    pub const EXT_ZCA: u64 = 1 << 43;
    pub const EXT_ZCD: u64 = 1 << 45;
    pub const EXT_ZICNTR: u64 = 1 << 50;
    pub const EXT_ZIHPM: u64 = 1 << 51;
    pub const EXT_ZAAMO: u64 = 1 << 56;
    pub const EXT_ZALRSC: u64 = 1 << 57;
    /// RISCV_HWPROBE_WHICH_CPUS, the one flag.
    pub const WHICH_CPUS: usize = 1;
}

/// RISCV_HWPROBE_MISALIGNED_* for CPUPERF_0 and MISALIGNED_SCALAR_PERF: 0 (unknown) until
/// `probe_misaligned` ran (or if it could not tell), then FAST (3) or SLOW (2).
static MISALIGNED_PERF: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Measure the misaligned-access speed once at boot as Linux does (check_unaligned_access:
/// a 4 KiB copy in misaligned 8-byte words against the same copy in bytes; FAST if the words
/// are quicker): glibc chooses its memcpy by the answer.
pub fn probe_misaligned() {
    let mut buf = alloc::vec![0u8; 2 * 4096 + 16];
    // (The best of a few runs, so a timer interrupt in one does not decide.)
    let (mut word, mut byte) = (u64::MAX, u64::MAX);
    // (About 28,000 instructions a round: the whole probe is 0.06 ms of boot in det mode.)
    for _ in 0..2 {
        let (w, b) = velox_hal::cpu::misaligned_copy_ticks(&mut buf, 1);
        word = word.min(w);
        byte = byte.min(b);
    }
    // (A timer too coarse to see either copy leaves the answer unknown, as Linux does.)
    let v = if word == 0 || byte == 0 { 0 } else if word < byte { 3 } else { 2 };
    MISALIGNED_PERF.store(v, core::sync::atomic::Ordering::Relaxed);
    log::debug!("misaligned access: {v} (3 fast, 2 slow; word copy {word} ticks, byte copy {byte})");
}

/// The multi-letter ISA extensions every hart has (`crate::boot::isa` bits, which are
/// IMA_EXT_0's), from the device tree at boot.
static ISA_EXT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Record the device tree's extensions for riscv_hwprobe.
pub fn set_isa(bits: u64) {
    ISA_EXT.store(bits, core::sync::atomic::Ordering::Relaxed);
}

/// The extensions recorded by [`set_isa`].
#[cfg(feature = "ktest")]
pub fn isa() -> u64 {
    ISA_EXT.load(core::sync::atomic::Ordering::Relaxed)
}

/// The value of hwprobe key `k` (all harts are alike), `None` for a key this kernel does not
/// know (Linux then sets the key to -1).
fn hwprobe_value(k: i64) -> Option<u64> {
    use hwprobe::*;
    Some(match k {
        // QEMU's virt harts give 0 for the machine ids (as SBI reports them).
        MVENDORID | MARCHID | MIMPID => 0,
        BASE_BEHAVIOR => BASE_BEHAVIOR_IMA,
        // F and D, C (what AT_HWCAP says too) and what they imply, and Zba, Zbb, Zbs, Zbc,
        // Zihintpause when the device tree lists them on every hart: what Linux 7.2 reports
        // on the same QEMU (0x30c2810000000bb). Vector extensions are not claimed: the kernel
        // does not save vector state.
        IMA_EXT_0 => {
            IMA_FD | IMA_C | EXT_ZCA | EXT_ZCD | EXT_ZICNTR | EXT_ZIHPM | EXT_ZAAMO | EXT_ZALRSC | ISA_EXT.load(core::sync::atomic::Ordering::Relaxed)
        }
        // Misaligned-access speed as measured at boot (`probe_misaligned`), no Zicboz
        // (block size 0).
        CPUPERF_0 | MISALIGNED_SCALAR_PERF => MISALIGNED_PERF.load(core::sync::atomic::Ordering::Relaxed),
        ZICBOZ_BLOCK_SIZE => 0,
        HIGHEST_VIRT_ADDRESS => (velox_hal::USER_END - 1) as u64,
        TIME_CSR_FREQ => crate::time::timebase(),
        _ => return None,
    })
}

/// riscv_hwprobe(pairs, pair_count, cpusetsize, cpus, flags): fill each {key, value} pair
/// (glibc asks at start-up to pick its string routines); an unknown key comes back as -1 with
/// value 0. The cpu set (all harts if it is empty and NULL) must name an online hart. With
/// RISCV_HWPROBE_WHICH_CPUS (Linux's hwprobe_get_cpus) the set (empty: all online harts) is
/// narrowed to the harts that have every pair: all harts are alike, so it stays if each
/// value matches (a subset of the bits for the bitmask keys) and is cleared otherwise.
pub fn riscv_hwprobe(_: &Thread, c: &UserContext) -> Fast {
    let (pairs, count, setsize, cpus, flags) = (c.arg(0), c.arg(1), c.arg(2), c.arg(3), c.arg(4));
    Fast::Done(ret((|| {
        use hwprobe::*;
        if flags & !WHICH_CPUS != 0 {
            return Err(errno::EINVAL);
        }
        let which = flags == WHICH_CPUS;
        let online = super::process::online_mask();
        let mut mask = online;
        if which && (setsize == 0 || cpus == 0) {
            return Err(errno::EINVAL);
        }
        if setsize != 0 || cpus != 0 {
            let mut b = [0u8; 8];
            uaccess::read_bytes(cpus, &mut b[..setsize.min(8)])?;
            let m = u64::from_le_bytes(b);
            mask = if which && m == 0 { online } else { m & online };
            if mask == 0 && !which {
                return Err(errno::EINVAL);
            }
        }
        for i in 0..count {
            let at = pairs.checked_add(i.checked_mul(16).ok_or(errno::EFAULT)?).ok_or(errno::EFAULT)?;
            let p: [u64; 2] = uaccess::read(at)?;
            let have = hwprobe_value(p[0] as i64);
            if !which {
                uaccess::write(at, &have.map_or([u64::MAX, 0], |v| [p[0], v]))?;
                continue;
            }
            let bitmask = matches!(p[0] as i64, BASE_BEHAVIOR | IMA_EXT_0 | CPUPERF_0);
            match have {
                None => {
                    mask = 0;
                    uaccess::write(at, &[u64::MAX, 0u64])?;
                }
                Some(v) if bitmask && v & p[1] != p[1] => mask = 0,
                Some(v) if !bitmask && v != p[1] => mask = 0,
                Some(_) => {}
            }
        }
        if which {
            let b = mask.to_le_bytes();
            uaccess::write_bytes(cpus, &b[..setsize.min(8)])?;
        }
        Ok(0)
    })()))
}
