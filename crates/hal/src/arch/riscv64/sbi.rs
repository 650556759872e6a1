//! SBI calls (through the `sbi-rt` crate): timer, shutdown, legacy console fallback.

/// Program the next timer interrupt at absolute time `stime` (in `time` CSR ticks).
pub fn set_timer(stime: u64) {
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
