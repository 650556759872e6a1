//! In-kernel tests, run at boot when the kernel is built with `ktest` and booted with `ktest`.
//!
//! Each prints `ktest NAME ... ok` or `ktest NAME ... FAILED: why`, then a summary line
//! `ktest: N passed, M failed`, and the machine powers off with failure if any failed.

use crate::mm::aspace::AddrSpace;
use crate::task::Thread;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use velox_exec::arena::{ARENA_SIZE, BIG_SIZE};
use velox_hal as hal;
use velox_hal::println;
use velox_mm::vma::{Backing, Prot};

type TestFn = fn() -> Result<(), String>;

const TESTS: &[(&str, TestFn)] = &[
    ("frame_alloc_exhaustion_and_reuse", frame_alloc_exhaustion_and_reuse),
    ("page_table_map_translate_unmap", page_table_map_translate_unmap),
    ("heap_stress", heap_stress),
    ("thread_future_size", thread_future_size),
    ("arena_holds_every_handler", arena_holds_every_handler),
    ("kernel_mappings_not_wx", kernel_mappings_not_wx),
    ("vdso_frames_shared_never_written", vdso_frames_shared_never_written),
    ("memcpy_memset_every_alignment", memcpy_memset_every_alignment),
    ("crc32c_clmul_matches_table", crc32c_clmul_matches_table),
    #[cfg(feature = "ktest-fail-demo")]
    ("deliberate_failure", || Err("this test fails on purpose".into())),
];

fn check(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(msg()) }
}

fn frame_alloc_exhaustion_and_reuse() -> Result<(), String> {
    let (free0, _) = crate::mm::frame_stats();
    let mut got = Vec::with_capacity(free0);
    while let Some(f) = crate::mm::alloc_frame() {
        got.push(f);
    }
    check(got.len() == free0, || format!("allocated {} of {free0} free frames", got.len()))?;
    check(crate::mm::alloc_frame().is_none(), || "allocation after exhaustion succeeded".into())?;
    let first = got[got.len() / 2];
    crate::mm::free_frame(first);
    check(crate::mm::alloc_frame() == Some(first), || "freed frame not reused".into())?;
    for f in got {
        crate::mm::free_frame(f);
    }
    check(crate::mm::frame_stats().0 == free0, || "frames leaked".into())
}

fn page_table_map_translate_unmap() -> Result<(), String> {
    let (free0, _) = crate::mm::frame_stats();
    {
        let mut a = AddrSpace::new().ok_or("no memory")?;
        let va = 0x1000_0000;
        a.add_area(va, va + 0x4000, Prot(Prot::READ | Prot::WRITE), Backing::Anon).map_err(|e| format!("add_area {e}"))?;
        a.write_bytes(va + 0x1ff0, b"velox page table test").map_err(|e| format!("write_bytes {e}"))?;
        let m = alloc::sync::Arc::new(crate::mm::aspace::Mm::new(a));
        crate::smp::load_mm(&m);
        let mut buf = [0u8; 21];
        hal::user::copy_from_user(&mut buf, va + 0x1ff0).map_err(|_| "read back through the new mapping faulted")?;
        check(&buf == b"velox page table test", || "read back wrong bytes".into())?;
        m.space.lock().unmap(va, va + 0x4000);
        check(hal::user::copy_from_user(&mut buf, va + 0x1ff0).is_err(), || "unmapped page still readable".into())?;
        check(hal::user::copy_from_user(&mut buf, 0xffff_ffc0_8020_0000).is_err(), || "kernel address accepted".into())?;
        crate::smp::unload_mm();
    }
    check(crate::mm::frame_stats().0 == free0, || format!("address space leaked {} frames", free0 - crate::mm::frame_stats().0))
}

fn heap_stress() -> Result<(), String> {
    let base = crate::mm::heap_used();
    let mut v: Vec<Vec<u8>> = Vec::new();
    let mut seed = 12345u64;
    for i in 0..20_000 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let size = 1 + (seed >> 33) as usize % 3000;
        v.push(alloc::vec![(i & 0xff) as u8; size]);
        if seed & 3 == 0 {
            let k = (seed >> 40) as usize % v.len();
            let x = v.swap_remove(k);
            check(x.iter().all(|&b| b == x[0]), || "heap block corrupted".into())?;
        }
    }
    drop(v);
    check(crate::mm::heap_used() == base, || format!("heap grew from {base} to {}", crate::mm::heap_used()))
}

fn thread_future_size() -> Result<(), String> {
    fn sz<Fut>(_: fn(Arc<Thread>) -> Fut) -> usize {
        size_of::<Fut>()
    }
    let n = sz(crate::task::run::thread_task);
    // The task's allocation: async-task's header (state, awaiter waker, vtable, our metadata),
    // then the future (its inline arena included).
    let task = 4 * size_of::<usize>() + size_of::<crate::exec::Meta>() + n;
    let rec = size_of::<Thread>() + 16;
    println!("ktest   thread future (thread_task around thread_main, inline arena included): {n} bytes; task block {task} -> {} bytes", crate::mm::heap::block_bytes(task));
    println!("ktest   thread record: {} bytes (Arc<Thread>: +16) -> {} bytes", size_of::<Thread>(), crate::mm::heap::block_bytes(rec));
    // A thread blocked in a futex wait owns these two blocks (plus its queue entry and its
    // slot in the process's thread map): together at most 896 bytes, to stay under 1 KiB.
    let both = crate::mm::heap::block_bytes(task) + crate::mm::heap::block_bytes(rec);
    check(both <= 896, || format!("thread record + task take {both} bytes"))
}

fn arena_holds_every_handler() -> Result<(), String> {
    let mut sizes = crate::syscall::async_future_sizes();
    sizes.sort_by_key(|s| s.1);
    println!("ktest   handler futures: {sizes:?}");
    let (name, max) = sizes.iter().max_by_key(|s| s.1).copied().unwrap_or(("none", 0));
    let lent: Vec<&str> = sizes.iter().filter(|s| s.1 > ARENA_SIZE).map(|s| s.0).collect();
    println!("ktest   arena {ARENA_SIZE} bytes inline, {BIG_SIZE} lent; largest handler future: {name} = {max} bytes; lent for {lent:?}");
    check(max <= BIG_SIZE, || "handler larger than a lent block".into())?;
    // The common blocking calls must not need a lent block (a blocked thread would hold it).
    for common in ["futex", "sched_yield", "rt_sigsuspend"] {
        check(!lent.contains(&common), || format!("{common} does not fit the inline arena"))?;
    }
    Ok(())
}

fn kernel_mappings_not_wx() -> Result<(), String> {
    let l = hal::boot::kernel_layout();
    let pt = crate::mm::kernel_page_table();
    let mut va = l.start;
    while va < l.end {
        if let Some((_, f)) = pt.translate(&crate::mm::KernelPhys, va) {
            use velox_mm::pt::PteFlags;
            check(!(f.contains(PteFlags::W) && f.contains(PteFlags::X)), || format!("W+X at {va:#x}"))?;
            check(va >= l.text_end || !f.contains(PteFlags::W), || format!("writable text at {va:#x}"))?;
        }
        va += 4096;
    }
    check(pt.translate(&crate::mm::KernelPhys, l.stack_guard).is_none(), || "stack guard page is mapped".into())
}

/// The vDSO's frames: each mapping (new space, fork) holds a reference, a write after
/// mprotect(PROT_WRITE) goes to a private copy, and unmapping or dropping gives every reference
/// back without ever freeing the frames.
fn vdso_frames_shared_never_written() -> Result<(), String> {
    use crate::config::{VDSO_ADDR, VVAR_ADDR};
    use crate::mm::frame_refs;
    let (data, text) = crate::vdso::frames();
    let refs = || (frame_refs(data), frame_refs(text[0]));
    let snapshot = |pa: usize| {
        let mut b = [0u8; 64];
        hal::mem::read_phys(pa, &mut b);
        b
    };
    let (r0, d0, t0) = (refs(), snapshot(data), snapshot(text[0]));
    check(r0.0 >= 1 && r0.1 >= 1, || format!("vDSO frames have {r0:?} references"))?;
    check(hal::mem::read_u64(data + 8) == crate::time::timebase(), || "data page lacks the timebase".into())?;
    let (free0, _) = crate::mm::frame_stats();
    {
        let mut a = AddrSpace::new().ok_or("no memory")?;
        crate::vdso::map(&mut a).map_err(|e| format!("map {e}"))?;
        check(refs() == (r0.0 + 1, r0.1 + 1), || format!("after map: {:?}, before {r0:?}", refs()))?;
        let mut b = a.fork().ok_or("fork failed")?;
        check(refs() == (r0.0 + 2, r0.1 + 2), || format!("after fork: {:?}, before {r0:?}", refs()))?;
        let rwx = Prot(Prot::READ | Prot::WRITE | Prot::EXEC);
        b.protect(VDSO_ADDR, VDSO_ADDR + 4096, rwx).map_err(|e| format!("protect {e}"))?;
        b.write_bytes(VDSO_ADDR, b"XXXXXXXX").map_err(|e| format!("write_bytes {e}"))?;
        a.protect(VVAR_ADDR, VVAR_ADDR + 4096, Prot(Prot::READ | Prot::WRITE)).map_err(|e| format!("protect {e}"))?;
        a.write_bytes(VVAR_ADDR, b"XXXXXXXX").map_err(|e| format!("write_bytes {e}"))?;
        check(refs() == (r0.0 + 1, r0.1 + 1), || format!("after the private copies: {:?}, before {r0:?}", refs()))?;
        check(snapshot(data) == d0 && snapshot(text[0]) == t0, || "a user mapping wrote a shared vDSO frame".into())?;
        b.unmap(VVAR_ADDR, VDSO_ADDR + text.len() * 4096);
        a.unmap(VDSO_ADDR, VDSO_ADDR + 4096);
        check(refs() == r0, || format!("after unmap: {:?}, before {r0:?}", refs()))?;
    }
    check(refs() == r0, || format!("after drop: {:?}, before {r0:?}", refs()))?;
    check(crate::mm::frame_stats().0 == free0, || format!("{} frames leaked", free0 - crate::mm::frame_stats().0))
}

/// The Zbc CRC32C (hal::crc, what the ext4 core uses when every hart has Zbc) against the
/// table-driven one: the standard check value, every start offset 0..8 and length 0..=100,
/// block-sized buffers, and running values carried across pieces.
fn crc32c_clmul_matches_table() -> Result<(), String> {
    if crate::syscall::sys::isa() & crate::boot::isa::ZBC == 0 {
        hal::println!("ktest: (no Zbc on this machine: the clmul CRC32C is not used)");
        return Ok(());
    }
    let soft = velox_ext4::crc32c_append_soft;
    #[allow(unsafe_code)]
    // SAFETY: the device tree lists Zbc on every hart (checked above).
    let clmul = |c: u32, d: &[u8]| unsafe { hal::crc::crc32c_clmul(c, d) };
    let ck = clmul(!0, b"123456789") ^ !0;
    check(ck == 0xe306_9283, || format!("crc32c(\"123456789\") = {ck:#x}, want 0xe3069283"))?;
    let data: Vec<u8> = (0..8300u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    for off in 0..8 {
        for len in (0..=100).chain([4088, 4096, 8192]) {
            let d = &data[off..off + len];
            for seed in [0u32, !0, 0x1234_5678] {
                let (a, b) = (soft(seed, d), clmul(seed, d));
                check(a == b, || format!("offset {off} length {len} seed {seed:#x}: clmul {b:#x}, table {a:#x}"))?;
            }
        }
    }
    // (Pieces: the running value carries across calls, as the ext4 checksums chain them.)
    let whole = soft(!0, &data[..4096]);
    let pieces = [3usize, 13, 1000, 80, 3000];
    let (mut c, mut at) = (!0u32, 0);
    for p in pieces {
        c = clmul(c, &data[at..at + p]);
        at += p;
    }
    check(at == 4096 && c == whole, || format!("in pieces {c:#x}, whole {whole:#x}"))
}

/// The hardware layer's memcpy and memset (mem.S) against byte loops: every source and
/// destination offset 0..8, every length 0..=200 and a few page-sized ones; the bytes around
/// the destination stay as they were, and memset uses only the low byte of its value.
#[allow(unsafe_code)]
fn memcpy_memset_every_alignment() -> Result<(), String> {
    unsafe extern "C" {
        fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8;
        fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8;
    }
    // (Called through opaque pointers, with an opaque value: the compiler knows what memcpy
    // and memset return and that memset uses only the low byte, and would check neither.)
    let memcpy: unsafe extern "C" fn(*mut u8, *const u8, usize) -> *mut u8 = core::hint::black_box(memcpy);
    let memset: unsafe extern "C" fn(*mut u8, i32, usize) -> *mut u8 = core::hint::black_box(memset);
    const GUARD: u8 = 0xee;
    let src: Vec<u8> = (0..4200u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let mut dst = alloc::vec![GUARD; 4200 + 32];
    let lens = (0..=200usize).chain([255, 256, 257, 4095, 4096, 4097, 4100]);
    for n in lens {
        for so in 0..8 {
            for d in 8..16 {
                dst.fill(GUARD);
                // SAFETY: src[so..so + n] and dst[d..d + n] lie inside the two vectors (n <= 4100,
                // so, d < 16, lengths 4200 and 4232), which do not overlap.
                let r = unsafe { memcpy(dst.as_mut_ptr().add(d), src.as_ptr().add(so), n) };
                check(r == dst.as_mut_ptr().wrapping_add(d), || format!("memcpy returned {r:p}"))?;
                let ok = (0..dst.len()).all(|i| dst[i] == if i >= d && i < d + n { src[so + i - d] } else { GUARD });
                check(ok, || format!("memcpy of {n} bytes, source offset {so}, destination offset {d}"))?;
            }
        }
        for d in 8..16 {
            dst.fill(GUARD);
            // SAFETY: dst[d..d + n] lies inside `dst`.
            let r = unsafe { memset(dst.as_mut_ptr().add(d), core::hint::black_box(0x1a5), n) };
            check(r == dst.as_mut_ptr().wrapping_add(d), || format!("memset returned {r:p}"))?;
            let ok = (0..dst.len()).all(|i| dst[i] == if i >= d && i < d + n { 0xa5 } else { GUARD });
            check(ok, || format!("memset of {n} bytes at offset {d}"))?;
        }
    }
    Ok(())
}

/// Recurses until the kernel stack overflows (`ktest.overflow`): it never returns.
#[allow(unconditional_recursion)]
fn recurse(n: usize) -> usize {
    let buf = core::hint::black_box([n; 64]);
    recurse(n + 1) + buf[3]
}

/// Run every test and power off with the result. `ktest.unmapped` on the command line first
/// reads the boot stack's guard page, and `ktest.overflow` recurses until the boot stack runs
/// into it, to show that a kernel fault prints the trap and stops instead of hanging.
pub fn run_all(bootargs: &str) -> ! {
    if bootargs.split_whitespace().any(|a| a == "ktest.overflow") {
        println!("ktest: recursing until the kernel stack overflows");
        println!("ktest: {} (should not be reached)", recurse(0));
    }
    if bootargs.split_whitespace().any(|a| a == "ktest.unmapped") {
        let guard = hal::boot::kernel_layout().stack_guard;
        println!("ktest: reading unmapped kernel address {guard:#x}");
        #[allow(unsafe_code)]
        // SAFETY: deliberately faults; the kernel trap handler reports it and powers off.
        let v = unsafe { hal::cpu::debug_read(guard) };
        println!("ktest: read {v:#x} (should not be reached)");
    }
    let (mut pass, mut fail) = (0, 0);
    for (name, f) in TESTS {
        match f() {
            Ok(()) => {
                println!("ktest {name} ... ok");
                pass += 1;
            }
            Err(e) => {
                println!("ktest {name} ... FAILED: {e}");
                fail += 1;
            }
        }
    }
    println!("ktest: {pass} passed, {fail} failed");
    hal::sbi::shutdown(fail > 0)
}
