//! Velox kernel entry: boot information, memory, timer, then the executor runs forever.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

mod boot;
mod config;
mod console;
mod dev;
mod exec;
mod fs;
#[cfg(feature = "ktest")]
mod ktest;
mod mm;
mod monitor;
mod net;
mod smp;
#[cfg(feature = "strace")]
mod strace;
mod syscall;
mod task;
mod time;
mod trap;
mod vdso;

use hal::println;
use velox_hal as hal;

/// Called by the hardware layer on the boot hart, on the boot stack, with .bss cleared.
#[allow(unsafe_code)]
// SAFETY: `velox_main` is the unique entry symbol the hardware layer's boot code calls.
#[unsafe(no_mangle)]
fn velox_main(hartid: usize, dtb_pa: usize) -> ! {
    smp::init_boot_hart(hartid);
    let early = boot::early(dtb_pa);
    mm::init(&early);
    smp::probe_asid_bits();
    let info = boot::parse(&early);
    if let Some(u) = info.uart {
        hal::console::set_uart_base(u);
    }
    console::init_logger(&info.bootargs);
    trap::init();
    if info.sstc && !info.bootargs.split_whitespace().any(|a| a == "velox.sbi_timer") {
        hal::sbi::use_sstc();
    }
    time::init(info.timebase);
    syscall::sys::probe_misaligned();
    syscall::sys::set_isa(info.isa);
    fs::ext4::use_clmul_crc(info.isa);
    vdso::init();
    if info.bootargs.split_whitespace().any(|a| a == "velox.blk_poll") {
        dev::blk::POLL.store(true, core::sync::atomic::Ordering::Relaxed);
    }
    smp::set_spin_us(info.bootargs.split_whitespace().find_map(|a| a.strip_prefix("velox.spin_us=")).and_then(|v| v.parse().ok()).unwrap_or(10));
    smp::start_secondaries(&info.hartids, info.harts);
    smp::choose_ipi(&info.sswi, info.bootargs.split_whitespace().any(|a| a == "velox.sbi_ipi"));
    smp::init_asids(info.bootargs.split_whitespace().find_map(|a| a.strip_prefix("velox.asid_bits=")).and_then(|v| v.parse().ok()));
    boot::print_banner(hartid, &info);
    dev::init(&info);
    dev::tty::init(info.plic, info.uart_irq, hartid);
    dev::rng::init(&info.bootargs);
    dev::blk::init(&info, hartid);
    fs::init(&info);
    #[cfg(feature = "ktest")]
    if info.bootargs.split_whitespace().any(|a| a == "ktest") {
        ktest::run_all(&info.bootargs);
    }
    let init = task::init::init_main(info.bootargs.clone());
    if info.bootargs.split_whitespace().any(|a| a == "velox.blktest") {
        // The virtio-blk self-test first (as a task: its asynchronous requests sleep until the
        // disk's interrupt), then init.
        exec::spawn(async move {
            dev::blk::self_test().await;
            init.await
        });
    } else {
        exec::spawn(init);
    }
    if let Some(secs) = info.bootargs.split_whitespace().find_map(|a| a.strip_prefix("velox.watchdog=")).and_then(|v| v.parse().ok()) {
        exec::spawn(exec::watchdog(secs));
    }
    smp::release();
    exec::run()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("\n[velox] KERNEL PANIC: {}", info.message());
    if let Some(l) = info.location() {
        println!("[velox]   at {}:{}", l.file(), l.line());
    }
    hal::sbi::shutdown(true)
}
