//! CPU control: CSRs the kernel needs, interrupt enable/disable, time, fences.

use core::arch::asm;
use core::sync::atomic::{AtomicBool, Ordering};

/// Set when the kernel wrote memory that user mode may execute (a loaded segment, a page
/// made executable, a copied code page): the next entry to user mode runs `fence.i` first.
static ICACHE_STALE: AtomicBool = AtomicBool::new(false);

/// Note that code pages were written (or remapped executable) since the last `fence.i`.
#[inline(always)]
pub fn note_code_written() {
    ICACHE_STALE.store(true, Ordering::Relaxed);
}

/// Make instruction fetches see earlier stores if code was written (called before entering
/// user mode). One hart today; SMP needs a remote fence.i (SBI) on the harts running the mm.
#[inline(always)]
pub fn sync_icache() {
    if ICACHE_STALE.load(Ordering::Relaxed) {
        ICACHE_STALE.store(false, Ordering::Relaxed);
        fence_i();
    }
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

/// Wait for an interrupt (`wfi`).
#[inline(always)]
pub fn wait_for_interrupt() {
    riscv::asm::wfi();
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

/// Flush the whole TLB of this hart.
#[inline(always)]
pub fn flush_tlb_all() {
    riscv::asm::sfence_vma_all();
}

/// Flush one page's translation on this hart.
#[inline(always)]
pub fn flush_tlb_page(va: usize) {
    riscv::asm::sfence_vma(0, va);
}

/// Switch this hart to the Sv39 page table whose root is at physical address `root_pa`.
///
/// # Safety
/// The table must map the kernel (text, data, stack, direct map) exactly as the current one.
pub unsafe fn activate_page_table(root_pa: usize) {
    let satp = (8usize << 60) | (root_pa >> 12);
    // SAFETY: the caller guarantees the new table maps everything the kernel is using.
    unsafe { asm!("csrw satp, {0}", "sfence.vma", in(reg) satp) };
}

/// Physical address of the active page table root.
#[inline(always)]
pub fn current_page_table() -> usize {
    let satp: usize;
    // SAFETY: reading satp has no side effects.
    unsafe { asm!("csrr {0}, satp", out(reg) satp) };
    (satp & ((1 << 44) - 1)) << 12
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
