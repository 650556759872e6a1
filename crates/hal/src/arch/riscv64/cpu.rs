//! CPU control: CSRs the kernel needs, interrupt enable/disable, time, fences.

use crate::boot::MAX_HARTS;
use core::arch::asm;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// This hart's index (0 = the boot hart, then in the order the kernel started them).
///
/// In the kernel `tp` points at the hart's record, whose first word is its index: the kernel
/// installs its own record with [`set_hart_local`] (boot.S starts the boot hart on
/// `BOOT_LOCAL`, secondaries on the record passed to `boot::start_hart`). The trap entry
/// reloads `tp`, since user code owns it.
#[inline(always)]
pub fn hart_index() -> usize {
    let i: usize;
    // SAFETY: tp always points at a hart record whose first word is the index (see above);
    // records are statics, never freed.
    unsafe { asm!("ld {0}, 0(tp)", out(reg) i, options(nostack, preserves_flags, readonly)) };
    i & (MAX_HARTS - 1)
}

/// The address in `tp`: this hart's record (see [`hart_index`]).
#[inline(always)]
pub fn hart_local() -> usize {
    let p: usize;
    // SAFETY: reads tp, no memory access.
    unsafe { asm!("mv {0}, tp", out(reg) p, options(nomem, nostack, preserves_flags)) };
    p
}

/// The boot hart's record until the kernel installs its own: index 0.
// SAFETY: a unique symbol name, referenced only by boot.S (`la tp, BOOT_LOCAL`).
#[unsafe(no_mangle)]
static BOOT_LOCAL: usize = 0;

/// Point `tp` at this hart's record.
///
/// # Safety
/// `rec` must be the address of a `'static` record that starts with this hart's index (a
/// `usize`) and that every later `tp` user expects; it must never be freed.
pub unsafe fn set_hart_local(rec: usize) {
    // SAFETY: the caller guarantees the record; tp is not used by compiled Rust code.
    unsafe { asm!("mv tp, {0}", in(reg) rec, options(nomem, nostack, preserves_flags)) };
}

/// Bumped when the kernel writes memory that user mode may execute (a loaded segment, a page
/// made executable, a copied code page).
static CODE_GEN: AtomicUsize = AtomicUsize::new(1);
/// The `CODE_GEN` each hart last ran `fence.i` at.
static FENCED_GEN: [AtomicUsize; MAX_HARTS] = [const { AtomicUsize::new(0) }; MAX_HARTS];

/// Note that code pages were written (or remapped executable): every hart runs `fence.i`
/// before it next enters user mode.
#[inline(always)]
pub fn note_code_written() {
    CODE_GEN.fetch_add(1, Ordering::Release);
}

/// Make instruction fetches see earlier stores if code was written since this hart last
/// synchronised (called before entering user mode). Harts already in user mode are reached
/// by `riscv_flush_icache`, as on Linux.
#[inline(always)]
pub fn sync_icache() {
    let g = CODE_GEN.load(Ordering::Acquire);
    let mine = &FENCED_GEN[hart_index()];
    if mine.load(Ordering::Relaxed) != g {
        mine.store(g, Ordering::Relaxed);
        fence_i();
    }
}

/// Supervisor software interrupt (IPI) pending bit in `sip`/`sie`.
const SSI: usize = 1 << 1;

/// Enable the supervisor software interrupt (IPIs from other harts).
pub fn enable_soft_interrupt() {
    // SAFETY: sets sie.SSIE; the trap vector is installed before this is called.
    unsafe { asm!("csrs sie, {0}", in(reg) SSI) };
}

/// Acknowledge an IPI (clear sip.SSIP).
#[inline(always)]
pub fn clear_soft_interrupt() {
    // The fence orders the clear before the loads that look for what the IPI was about: a
    // sender's store to the SSWI (a device write) that lands after those loads is not undone
    // by a clear that took effect late, so a request is never both unseen and unsignalled.
    // SAFETY: clears this hart's pending software interrupt, then a fence; no other effect.
    unsafe { asm!("csrc sip, {0}", "fence iorw, iorw", in(reg) SSI) };
}

/// Raise a software interrupt on this hart (sip.SSIP): taken as soon as interrupts are on
/// again, e.g. right after the return to user mode.
#[inline(always)]
pub fn raise_soft_interrupt() {
    // SAFETY: sets this hart's pending software interrupt bit (S-mode may write SSIP); the
    // handler clears it; no memory effects.
    unsafe { asm!("csrs sip, {0}", in(reg) SSI) };
}

/// Per hart id, the kernel address of its ACLINT SSWI `SETSSIP` register (0: none). Filled
/// once at boot by [`use_sswi`], before other harts send IPIs.
static SSWI: [AtomicUsize; 64] = [const { AtomicUsize::new(0) }; 64];
/// Set when every online hart has an SSWI register: IPIs skip the firmware.
static SSWI_ON: AtomicBool = AtomicBool::new(false);
/// End of the physical MMIO window the kernel maps at `PHYS_OFFSET` (the first 2 GiB).
const MMIO_END: usize = 2 << 30;

/// Send IPIs through the ACLINT SSWI device instead of the SBI: `regs` gives each hart id's
/// `SETSSIP` register (physical address), and `online` the hart ids that must all have one,
/// the calling hart's first. Returns false (and keeps the SBI) if one is missing or outside
/// the MMIO window, or if a store to the caller's own register does not raise its SSIP.
pub fn use_sswi(regs: &[(usize, usize)], online: &[usize]) -> bool {
    let ok = |pa: usize| pa % 4 == 0 && pa.checked_add(4).is_some_and(|e| e <= MMIO_END);
    if !online.iter().all(|id| *id < 64 && regs.iter().any(|&(h, pa)| h == *id && ok(pa))) {
        return false;
    }
    for &(h, pa) in regs {
        if h < 64 && ok(pa) {
            SSWI[h].store(crate::PHYS_OFFSET + pa, Ordering::Relaxed);
        }
    }
    // Try the calling hart's own register first: its SSIP must come up (a device tree that
    // names the wrong address or hart would lose IPIs).
    let Some(&first) = online.first() else { return false };
    let me = SSWI[first].load(Ordering::Relaxed);
    // SAFETY: as in `send_ipi` (checked above); the fence orders the store before the reads.
    unsafe { asm!("sw {one}, 0({r})", "fence iorw, iorw", one = in(reg) 1u32, r = in(reg) me, options(nostack)) };
    let mut seen = false;
    for _ in 0..1000 {
        let sip: usize;
        // SAFETY: reads sip; no effects.
        unsafe { asm!("csrr {0}, sip", out(reg) sip, options(nomem, nostack, preserves_flags)) };
        if sip & SSI != 0 {
            seen = true;
            break;
        }
    }
    clear_soft_interrupt();
    if !seen {
        for r in &SSWI {
            r.store(0, Ordering::Relaxed);
        }
        return false;
    }
    SSWI_ON.store(true, Ordering::Release);
    true
}

/// Whether IPIs go through the SSWI ([`use_sswi`] took it) rather than the SBI.
pub fn sswi() -> bool {
    SSWI_ON.load(Ordering::Relaxed)
}

/// Send an IPI to the harts whose *hart ids* are in `mask` (bit i = hart id i): a store to
/// each one's SSWI register if [`use_sswi`] took them, else the SBI call.
pub fn send_ipi(mask: usize) {
    if SSWI_ON.load(Ordering::Relaxed) {
        // Earlier stores (the queued task, the flush request) are visible before the
        // interrupt can be taken: memory writes ordered before the device write.
        // SAFETY: a fence; no other effect.
        unsafe { asm!("fence w, o", options(nostack, preserves_flags)) };
        let mut m = mask;
        while m != 0 {
            let id = m.trailing_zeros() as usize;
            m &= m - 1;
            let reg = SSWI[id].load(Ordering::Relaxed);
            if reg != 0 {
                // SAFETY: `reg` is a SETSSIP register of the SSWI device the device tree
                // lists, 4-aligned inside the MMIO window mapped at PHYS_OFFSET (checked by
                // `use_sswi`); writing 1 raises that hart's SSIP and has no other effect.
                unsafe { core::ptr::write_volatile(reg as *mut u32, 1) };
            }
        }
        return;
    }
    let _ = sbi_rt::send_ipi(sbi_rt::HartMask::from_mask_base(mask, 0));
}

/// Run `fence.i` on the harts whose ids are in `mask` (riscv_flush_icache).
pub fn remote_fence_i(mask: usize) {
    let _ = sbi_rt::remote_fence_i(sbi_rt::HartMask::from_mask_base(mask, 0));
}

/// `fence.i`: order this hart's earlier stores before its later instruction fetches.
#[inline(always)]
pub fn fence_i() {
    // SAFETY: fence.i only synchronises the instruction stream; it has no memory effects.
    unsafe { asm!("fence.i") };
}

/// Read the `time` CSR (ticks at the device tree's timebase frequency).
#[inline(always)]
pub fn time() -> u64 {
    riscv::register::time::read64()
}

/// Time (in `time` ticks) to copy 4 KiB of `buf` to another part of it eight bytes at a time,
/// the source 3 bytes and the destination 1 byte off alignment, and the same byte by byte:
/// Linux's check_unaligned_access, which decides the misaligned-access speed `riscv_hwprobe`
/// reports (glibc picks its memcpy by it). Each copy runs `reps` times; `buf` is at least
/// 2 × 4 KiB + 16 bytes. Returns (word ticks, byte ticks). The firmware must complete
/// misaligned accesses (OpenSBI emulates them where the hardware does not): a misaligned-access
/// trap delegated to the kernel would be a kernel fault here.
pub fn misaligned_copy_ticks(buf: &mut [u8], reps: usize) -> (u64, u64) {
    const N: usize = 4096;
    assert!(buf.len() >= 2 * N + 16);
    let base = buf.as_ptr() as usize;
    let src = (base + 7) / 8 * 8 + 3;
    let dst = (base + 7) / 8 * 8 + N + 8 + 1;
    let t0 = time();
    for _ in 0..reps {
        // SAFETY: reads [src, src + N) and writes [dst, dst + N), both inside `buf` (checked
        // above), which is exclusively borrowed; a misaligned ld/sd is legal RISC-V (the
        // hardware or the firmware's emulation completes it).
        unsafe {
            asm!(
                "1: ld {t}, 0({s})", "sd {t}, 0({d})", "addi {s}, {s}, 8", "addi {d}, {d}, 8",
                "addi {n}, {n}, -8", "bnez {n}, 1b",
                s = inout(reg) src => _, d = inout(reg) dst => _, n = inout(reg) N => _, t = out(reg) _,
                options(nostack),
            )
        };
    }
    let t1 = time();
    for _ in 0..reps {
        // SAFETY: as above, one byte at a time.
        unsafe {
            asm!(
                "1: lbu {t}, 0({s})", "sb {t}, 0({d})", "addi {s}, {s}, 1", "addi {d}, {d}, 1",
                "addi {n}, {n}, -1", "bnez {n}, 1b",
                s = inout(reg) src => _, d = inout(reg) dst => _, n = inout(reg) N => _, t = out(reg) _,
                options(nostack),
            )
        };
    }
    (t1 - t0, time() - t1)
}

/// Let user mode read the `time` CSR (`rdtime`, for the vDSO): scounteren.TM on this hart, as
/// Linux sets it. (The firmware lets S-mode read it: mcounteren.TM.)
pub fn allow_user_time() {
    // SAFETY: sets scounteren.TM only: whether U-mode `rdtime` traps; no memory effects.
    unsafe { asm!("csrs scounteren, {0}", in(reg) 1usize << 1) };
}

/// Wait for an interrupt (`wfi`).
#[inline(always)]
pub fn wait_for_interrupt() {
    riscv::asm::wfi();
}

/// Wait (with interrupts off, as `wait_for_interrupt`) for an IPI or a device interrupt,
/// not for the timer: a deadline already passed while the hart runs kernel code leaves the
/// timer interrupt pending, which would end every `wfi` at once. It stays pending and is
/// taken once interrupts are on again.
pub fn wait_for_interrupt_not_timer() {
    const STI: usize = 1 << 5;
    // SAFETY: clears sie.STIE around wfi and sets back what was set; SIE stays as it was
    // (off in kernel code), so no interrupt is taken here; no memory effects.
    unsafe {
        asm!("csrrc {old}, sie, {sti}", "wfi", "csrs sie, {old}", old = out(reg) _, sti = in(reg) STI, options(nostack))
    };
}

/// Sleep in `wfi` for at most `ticks` of the `time` CSR, or until an interrupt is pending,
/// with interrupts off (none is taken). The timer is borrowed through `stimecmp` and put
/// back, so this needs Sstc; without it, when this hart's timer interrupt is masked, or when
/// its own deadline comes first, it returns at once. For spin-waits whose holder may not be
/// running: on a host with fewer cores than harts, the sleeping vCPU gives its host core to
/// the holder's.
pub fn nap(ticks: u64) {
    const STI: usize = 1 << 5;
    if !crate::sbi::sstc() {
        return;
    }
    let sie: usize;
    let saved: u64;
    // SAFETY: reads sie and stimecmp (S-mode CSRs; stimecmp exists with Sstc); no effects.
    unsafe { asm!("csrr {0}, sie", "csrr {1}, 0x14d", out(reg) sie, out(reg) saved, options(nomem, nostack, preserves_flags)) };
    let sip: usize;
    // SAFETY: reads sip; no effects.
    unsafe { asm!("csrr {0}, sip", out(reg) sip, options(nomem, nostack, preserves_flags)) };
    let until = time().saturating_add(ticks);
    // (Not when an enabled interrupt is already pending: wfi would return at once.)
    if sie & STI == 0 || sip & sie != 0 || until >= saved {
        return;
    }
    // SAFETY: moves this hart's timer earlier, waits with interrupts off (sstatus.SIE stays
    // clear: nothing is taken, a pending interrupt just ends the wait) and restores the
    // deadline; sip.STIP follows `time >= stimecmp`, so the nap's own expiry leaves nothing
    // pending once the old deadline is back. No memory effects.
    unsafe { asm!("csrw 0x14d, {u}", "wfi", "csrw 0x14d, {s}", u = in(reg) until, s = in(reg) saved, options(nomem, nostack)) };
}

/// Enable supervisor interrupts, wait for one, and disable them again. The idle loop.
pub fn idle_wait() {
    // Wait with SIE clear: wfi still wakes on any pending enabled interrupt, and an interrupt
    // that became pending after the caller's "nothing to run" check makes wfi return at once
    // (enabling SIE first would take it *before* wfi and then sleep through the wakeup).
    // SAFETY: SIE is set only between wfi and the clear, so the pending interrupt traps into
    // our kernel trap vector, which handles it on the current stack.
    unsafe {
        riscv::asm::wfi();
        riscv::register::sstatus::set_sie();
        riscv::register::sstatus::clear_sie();
    }
}

/// Enable the supervisor timer interrupt source (taken in U-mode always, in S-mode only when idle).
pub fn enable_timer_interrupt() {
    // SAFETY: sets sie.STIE; the trap vector is installed before this is called.
    unsafe { riscv::register::sie::set_stimer() };
}

/// Enable the supervisor external interrupt (the PLIC) on this hart: taken in U-mode always,
/// in S-mode only when idle, like the timer.
pub fn enable_external_interrupt() {
    // SAFETY: sets sie.SEIE; the trap vector is installed before this is called.
    unsafe { riscv::register::sie::set_sext() };
}

/// Flush the whole TLB of this hart (every ASID, global entries too).
#[inline(always)]
pub fn flush_tlb_all() {
    riscv::asm::sfence_vma_all();
}

/// Flush one page's translation on this hart, for every ASID (`sfence.vma va, x0`: with a
/// register holding 0 as rs2, the fence would name ASID 0 alone and keep user entries).
#[inline(always)]
pub fn flush_tlb_page(va: usize) {
    // SAFETY: sfence.vma only invalidates address-translation caches; no memory effects.
    unsafe { asm!("sfence.vma {0}, x0", in(reg) va, options(nostack, preserves_flags)) };
}

/// Flush this hart's translations tagged with `asid` (`sfence.vma x0, asid`); global entries
/// (the kernel's) stay. ASID 0 flushes everything: a register holding 0 would name ASID 0
/// alone, and ASID 0 is the one every table uses when ASIDs are off.
#[inline(always)]
pub fn flush_tlb_asid(asid: usize) {
    if asid == 0 {
        flush_tlb_all();
        return;
    }
    // SAFETY: sfence.vma only invalidates address-translation caches; no memory effects.
    unsafe { asm!("sfence.vma x0, {0}", in(reg) asid, options(nostack, preserves_flags)) };
}

/// Position of the ASID field in `satp` (RV64).
const SATP_ASID_SHIFT: usize = 44;
/// The ASID field's width in RV64 `satp` (an implementation may wire fewer bits).
const SATP_ASID_BITS: u32 = 16;
/// `satp` MODE = Sv39.
const SATP_SV39: usize = 8 << 60;
/// The PPN field of `satp`.
const SATP_PPN_MASK: usize = (1 << SATP_ASID_SHIFT) - 1;

/// Number of ASID bits this hart implements (0 to 16): `satp` is written with every ASID bit
/// set and read back (implemented bits are the low ones, the others read as zero), then
/// restored and the whole TLB flushed, as Linux's `asids_init`. Run with the kernel's own
/// table loaded (its entries are all global, so the short stay under ASID 0xffff caches
/// nothing that outlives the flush).
pub fn detect_asid_bits() -> u32 {
    let probed: usize;
    let all = ((1usize << SATP_ASID_BITS) - 1) << SATP_ASID_SHIFT;
    // SAFETY: the probe writes the same mode and root with another ASID (the kernel's table,
    // whose entries are all global, maps the kernel identically under any ASID), and the old
    // value is back before anything but these instructions runs; the flush drops whatever
    // was cached under the probe ASID.
    unsafe {
        asm!(
            "csrr {old}, satp",
            "or {tmp}, {old}, {all}",
            "csrw satp, {tmp}",
            "csrr {probed}, satp",
            "csrw satp, {old}",
            "sfence.vma",
            old = out(reg) _,
            probed = out(reg) probed,
            tmp = out(reg) _,
            all = in(reg) all,
            options(nostack, preserves_flags),
        )
    };
    let asid = (probed >> SATP_ASID_SHIFT) & ((1 << SATP_ASID_BITS) - 1);
    usize::BITS - asid.leading_zeros()
}

/// Switch this hart to the Sv39 page table whose root is at physical address `root_pa`, under
/// ASID 0, and flush the whole TLB.
///
/// # Safety
/// The table must map the kernel (text, data, stack, direct map) exactly as the current one.
pub unsafe fn activate_page_table(root_pa: usize) {
    let satp = SATP_SV39 | (root_pa >> 12);
    // SAFETY: the caller guarantees the new table maps everything the kernel is using.
    unsafe { asm!("csrw satp, {0}", "sfence.vma", in(reg) satp) };
}

/// What [`switch_page_table`] flushes after writing `satp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlbFlush {
    /// Nothing: the ASID's entries on this hart are known to be current.
    None,
    /// The new ASID's entries (`sfence.vma x0, asid`; everything when the ASID is 0).
    Asid,
    /// The whole TLB.
    All,
}

/// Switch this hart to the Sv39 table at `root_pa` under ASID `asid` (bits above the hart's
/// ASID width are dropped by the hardware: the caller only passes ASIDs that fit), then flush
/// as `flush` says.
///
/// # Safety
/// The table must map the kernel exactly as the current one, and the translations cached on
/// this hart under `asid` that `flush` leaves must be ones of this table that are still
/// allowed (the caller's ASID bookkeeping).
#[inline]
pub unsafe fn switch_page_table(root_pa: usize, asid: usize, flush: TlbFlush) {
    let satp = SATP_SV39 | (asid << SATP_ASID_SHIFT) | (root_pa >> 12);
    // SAFETY: the caller guarantees the kernel stays mapped (its entries are global, so valid
    // under any ASID) and that no stale entry of `asid` survives the flush chosen.
    unsafe { asm!("csrw satp, {0}", in(reg) satp, options(nostack, preserves_flags)) };
    match flush {
        TlbFlush::None => {}
        TlbFlush::Asid => flush_tlb_asid(asid),
        TlbFlush::All => flush_tlb_all(),
    }
}

/// Physical address of the active page table root.
#[inline(always)]
pub fn current_page_table() -> usize {
    let satp: usize;
    // SAFETY: reading satp has no side effects.
    unsafe { asm!("csrr {0}, satp", out(reg) satp) };
    (satp & SATP_PPN_MASK) << 12
}

/// The ASID in this hart's `satp`.
#[inline(always)]
pub fn current_asid() -> usize {
    let satp: usize;
    // SAFETY: reading satp has no side effects.
    unsafe { asm!("csrr {0}, satp", out(reg) satp, options(nomem, nostack, preserves_flags)) };
    (satp >> SATP_ASID_SHIFT) & ((1 << SATP_ASID_BITS) - 1)
}

/// Read `scause`.
#[inline(always)]
pub fn scause() -> usize {
    riscv::register::scause::read().bits()
}

/// Read `stval`.
#[inline(always)]
pub fn stval() -> usize {
    riscv::register::stval::read()
}

/// Read `sepc`.
#[inline(always)]
pub fn sepc() -> usize {
    riscv::register::sepc::read()
}

/// Read a word at kernel virtual address `va`, for fault-handling tests (`ktest.unmapped`).
///
/// # Safety
/// Reads arbitrary memory: only for tests that expect a kernel trap.
pub unsafe fn debug_read(va: usize) -> u64 {
    // SAFETY: the caller accepts that this may fault.
    unsafe { (va as *const u64).read_volatile() }
}
