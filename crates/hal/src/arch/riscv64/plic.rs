//! The platform-level interrupt controller (PLIC) of QEMU `virt`: priorities, per-hart S-mode enables, claim and complete.
//!
//! Context `2 * hartid + 1` is hart `hartid`'s supervisor context (QEMU `virt`: every hart
//! has an M-mode and an S-mode context, in that order). The kernel routes each source to
//! one hart with [`enable`] and answers the external interrupt with [`claim`]/[`complete`].

use core::sync::atomic::{AtomicUsize, Ordering};

/// Physical base (QEMU `virt`'s default until the device tree says otherwise).
static BASE: AtomicUsize = AtomicUsize::new(0x0c00_0000);
/// Interrupt sources QEMU `virt`'s PLIC has, and this driver handles (1..=95; 0 means
/// "none").
pub const SOURCES: u32 = 96;

const PRIORITY: usize = 0x0;
const ENABLE: usize = 0x2000;
const ENABLE_STRIDE: usize = 0x80;
const CONTEXT: usize = 0x20_0000;
const CONTEXT_STRIDE: usize = 0x1000;
const THRESHOLD: usize = 0x0;
const CLAIM: usize = 0x4;
/// The PLIC spans 64 MiB; it must lie in the kernel's device window (physical [0, 2 GiB)).
const SPAN: usize = 0x400_0000;
const WINDOW_END: usize = 2 << 30;
/// The PLIC has 15,872 contexts: two per hart.
const MAX_HART_ID: usize = 15872 / 2;

/// Use the PLIC at physical address `pa` (from the device tree). Ignored if it is not in the
/// device window the kernel maps.
pub fn set_base(pa: usize) {
    if pa % 4096 == 0 && pa.checked_add(SPAN).is_some_and(|e| e <= WINDOW_END) {
        BASE.store(pa, Ordering::Relaxed);
    }
}

fn reg(off: usize) -> *mut u32 {
    (super::PHYS_OFFSET + BASE.load(Ordering::Relaxed) + off) as *mut u32
}

fn write(off: usize, v: u32) {
    // SAFETY: `off` is inside the PLIC's register span (checked by the callers' bounds on
    // source and context numbers), which lies in the device window the kernel maps read-write
    // at PHYS_OFFSET; 32-bit aligned accesses are the device's access width.
    unsafe { reg(off).write_volatile(v) }
}

fn read(off: usize) -> u32 {
    // SAFETY: as in `write`.
    unsafe { reg(off).read_volatile() }
}

fn s_context(hartid: usize) -> usize {
    2 * hartid + 1
}

/// Give source `irq` priority `prio` (0 disables it everywhere).
pub fn set_priority(irq: u32, prio: u32) {
    if irq > 0 && irq < SOURCES {
        write(PRIORITY + 4 * irq as usize, prio);
    }
}

/// Take interrupts above `threshold` on hart `hartid`'s S-mode context.
pub fn set_threshold(hartid: usize, threshold: u32) {
    if hartid < MAX_HART_ID {
        write(CONTEXT + CONTEXT_STRIDE * s_context(hartid) + THRESHOLD, threshold);
    }
}

/// Route source `irq` to hart `hartid` (S mode), or stop routing it there.
pub fn enable(hartid: usize, irq: u32, on: bool) {
    if irq == 0 || irq >= SOURCES || hartid >= MAX_HART_ID {
        return;
    }
    let off = ENABLE + ENABLE_STRIDE * s_context(hartid) + 4 * (irq as usize / 32);
    let bit = 1u32 << (irq % 32);
    let v = read(off);
    write(off, if on { v | bit } else { v & !bit });
}

/// Claim the highest-priority pending interrupt for hart `hartid` (`None`: nothing pending).
pub fn claim(hartid: usize) -> Option<u32> {
    if hartid >= MAX_HART_ID {
        return None;
    }
    match read(CONTEXT + CONTEXT_STRIDE * s_context(hartid) + CLAIM) {
        0 => None,
        irq => Some(irq),
    }
}

/// Tell the PLIC that hart `hartid` finished with `irq` (it may raise it again).
pub fn complete(hartid: usize, irq: u32) {
    if hartid < MAX_HART_ID {
        write(CONTEXT + CONTEXT_STRIDE * s_context(hartid) + CLAIM, irq);
    }
}
