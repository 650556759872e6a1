//! SBI calls (through the `sbi-rt` crate): timer, shutdown, legacy console fallback.

use core::sync::atomic::{AtomicBool, Ordering};

/// Set when every hart has Sstc (the device tree says so): the kernel writes `stimecmp`
/// itself instead of asking the firmware (an SBI call, hundreds of instructions in M mode).
static SSTC: AtomicBool = AtomicBool::new(false);

/// Program timers through `stimecmp` from now on (every hart must have Sstc, and the
/// firmware must have enabled it for S mode, as OpenSBI does when the hart has it; Linux
/// trusts the device tree's `sstc` the same way).
pub fn use_sstc() {
    SSTC.store(true, Ordering::Relaxed);
}

/// Whether [`use_sstc`] was called.
pub fn sstc() -> bool {
    SSTC.load(Ordering::Relaxed)
}

/// Program the next timer interrupt at absolute time `stime` (in `time` CSR ticks).
#[inline]
pub fn set_timer(stime: u64) {
    if SSTC.load(Ordering::Relaxed) {
        // SAFETY: writes this hart's stimecmp (CSR 0x14d), which Sstc gives S mode; it only
        // moves the timer interrupt (sip.STIP follows time >= stimecmp); no memory effects.
        unsafe { core::arch::asm!("csrw 0x14d, {0}", in(reg) stime, options(nomem, nostack, preserves_flags)) };
        return;
    }
    let _ = sbi_rt::set_timer(stime);
}

/// Reset the machine (QEMU started with -no-reboot exits instead).
pub fn reboot() -> ! {
    let _ = sbi_rt::system_reset(sbi_rt::ColdReboot, sbi_rt::NoReason);
    loop {
        crate::cpu::wait_for_interrupt();
    }
}

/// Power the machine off; `failure` makes QEMU exit with a non-zero status.
pub fn shutdown(failure: bool) -> ! {
    if failure {
        let _ = sbi_rt::system_reset(sbi_rt::Shutdown, sbi_rt::SystemFailure);
    } else {
        let _ = sbi_rt::system_reset(sbi_rt::Shutdown, sbi_rt::NoReason);
    }
    loop {
        crate::cpu::wait_for_interrupt();
    }
}
