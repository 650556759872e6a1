//! The vDSO: the shared object built from `vdso/` and its data page, mapped into every process.
//
// At boot the image is copied into frames once and the data page is filled; `map` puts both
// into each new address space (the data page read-only at `config::VVAR_ADDR`, the image
// read+exec at `config::VDSO_ADDR`) with `AddrSpace::map_kernel_frames`: every mapping holds a
// reference, the kernel's own reference keeps the frames forever, and the entries are
// copy-on-write, so no user mapping ever writes them. See docs/vdso.md.

use crate::config;
use crate::mm::aspace::AddrSpace;
use alloc::vec::Vec;
use core::sync::atomic::{Ordering, compiler_fence, fence};
use linux_raw_sys::errno;
use velox_exec::sync::Mutex;
use velox_hal as hal;
use velox_mm::PAGE_SIZE;
use velox_mm::vma::Prot;

/// The vDSO image (`build/vdso.so`, from scripts/build-vdso.sh; see kernel/build.rs).
static IMAGE: &[u8] = include_bytes!(env!("VELOX_VDSO"));

/// The version Linux riscv64 gives the vDSO's symbols.
const VERSION: &[u8] = b"LINUX_4.15";
/// The symbols the image must export (with `VERSION`).
const SYMBOLS: [&str; 5] = ["__vdso_rt_sigreturn", "__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_clock_getres", "__vdso_getcpu"];

/// Data page layout (vdso/vdso.h, `struct vdso_data`): byte offsets.
const SEQ: usize = 0;
const ENABLED: usize = 4;
const TIMEBASE: usize = 8;
const NS_PER_TICK: usize = 16;
const REALTIME_OFFSET: usize = 24;
const RESOLUTION_NS: usize = 32;

struct Vdso {
    /// The data page's frame.
    data: usize,
    /// The image's frames.
    text: Vec<usize>,
    /// User address of `__vdso_rt_sigreturn`.
    sigreturn: usize,
}

static VDSO: spin::Once<Vdso> = spin::Once::new();
/// Serialises data page updates (the sequence counter allows one writer).
static UPDATE: Mutex<()> = Mutex::new(());

/// Check the embedded image, copy it into frames and fill the data page (boot hart, after the
/// frame allocator and the timebase are set up).
pub fn init() {
    let sym = |n: &str| {
        velox_loader::dynamic_symbol(IMAGE, n.as_bytes(), Some(VERSION)).unwrap_or_else(|| panic!("vDSO image lacks {n}"))
    };
    for n in SYMBOLS {
        assert!(sym(n) < IMAGE.len(), "vDSO symbol {n} outside the image");
    }
    let pages = IMAGE.len().div_ceil(PAGE_SIZE);
    assert!(config::VDSO_ADDR + pages * PAGE_SIZE <= config::USER_STACK_TOP - config::USER_STACK_SIZE, "vDSO image too big");
    let frame = || crate::mm::alloc_frame_zeroed().expect("no memory for the vDSO");
    let data = frame();
    let text: Vec<usize> = IMAGE
        .chunks(PAGE_SIZE)
        .map(|chunk| {
            let f = frame();
            hal::mem::write_phys(f, chunk);
            f
        })
        .collect();
    hal::cpu::note_code_written();
    VDSO.call_once(|| Vdso { data, text, sigreturn: config::VDSO_ADDR + sym("__vdso_rt_sigreturn") });
    update();
}

/// Rewrite the data page from the kernel's clock (at boot; again whenever the realtime offset
/// changes, as a clock_settime would). Readers that overlap an update see an odd sequence
/// number, or a different one afterwards, and retry.
pub fn update() {
    let Some(v) = VDSO.get() else { return };
    let _g = UPDATE.lock();
    let d = v.data;
    let seq = hal::mem::read_u64(d) as u32; // (the sequence number is the word's low half)
    let tb = crate::time::timebase();
    let ns_per_tick = if 1_000_000_000 % tb == 0 { 1_000_000_000 / tb } else { 0 };
    let put32 = |off: usize, x: u32| hal::mem::write_phys(d + off, &x.to_le_bytes());
    let put64 = |off: usize, x: u64| hal::mem::write_phys(d + off, &x.to_le_bytes());
    put32(SEQ, seq.wrapping_add(1));
    // The odd sequence number is visible before any field changes, the fields before the even
    // one (fence w,w on both sides; the compiler fences keep the plain stores in order).
    compiler_fence(Ordering::SeqCst);
    fence(Ordering::Release);
    // (The vDSO's `(ticks % tb) * 1e9` must fit in 64 bits; beyond 18 GHz, the syscall answers.)
    put32(ENABLED, (tb <= u64::MAX / 1_000_000_000) as u32);
    put64(TIMEBASE, tb);
    put64(NS_PER_TICK, ns_per_tick);
    put64(REALTIME_OFFSET, crate::time::realtime_offset_ns());
    put64(RESOLUTION_NS, 1); // what clock_getres reports for every clock (syscall/time.rs)
    compiler_fence(Ordering::SeqCst);
    fence(Ordering::Release);
    put32(SEQ, seq.wrapping_add(2));
}

/// Map the data page and the vDSO into a new address space (`load_program`). ENOMEM if
/// memory (or frame references) ran out; the caller then drops the space.
pub fn map(a: &mut AddrSpace) -> Result<(), u32> {
    let v = VDSO.get().ok_or(errno::ENOMEM)?;
    a.map_kernel_frames(config::VVAR_ADDR, &[v.data], Prot(Prot::READ))?;
    a.map_kernel_frames(config::VDSO_ADDR, &v.text, Prot(Prot::READ | Prot::EXEC))
}

/// User address of the vDSO's ELF header (AT_SYSINFO_EHDR).
pub fn base() -> usize {
    config::VDSO_ADDR
}

/// User address of `__vdso_rt_sigreturn` (`li a7, 139; ecall`): the return address a signal
/// handler gets when its sigaction has no SA_RESTORER.
#[allow(dead_code)] // (until signal delivery uses it)
pub fn sigreturn_addr() -> usize {
    VDSO.get().expect("vDSO not initialised").sigreturn
}

/// The frames behind the mappings: (data page, image pages). For tests.
#[allow(dead_code)]
pub fn frames() -> (usize, &'static [usize]) {
    let v = VDSO.get().expect("vDSO not initialised");
    (v.data, &v.text)
}
