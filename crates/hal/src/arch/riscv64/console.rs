//! 16550 UART console (polled output, non-blocking input) at the device tree's address.

use core::sync::atomic::{AtomicUsize, Ordering};

static UART_BASE: AtomicUsize = AtomicUsize::new(super::PHYS_OFFSET + 0x1000_0000);
static LOCK: spin::Mutex<()> = spin::Mutex::new(());

const THR: usize = 0; // transmit holding (write)
const RBR: usize = 0; // receive buffer (read)
const LSR: usize = 5; // line status
const LSR_DATA_READY: u8 = 1;
const LSR_THR_EMPTY: u8 = 1 << 5;

/// Use the UART at physical address `pa` (from the device tree's `stdout-path`/`serial` node).
pub fn set_uart_base(pa: usize) {
    UART_BASE.store(super::PHYS_OFFSET + pa, Ordering::Relaxed);
}

fn reg(off: usize) -> *mut u8 {
    (UART_BASE.load(Ordering::Relaxed) + off) as *mut u8
}

fn putb(b: u8) {
    // SAFETY: UART_BASE points at the 16550's MMIO registers through the direct map, which is
    // mapped read-write for device memory; byte accesses are the device's access width.
    unsafe {
        while reg(LSR).read_volatile() & LSR_THR_EMPTY == 0 {}
        reg(THR).write_volatile(b);
    }
}

/// Write bytes to the console (LF becomes CRLF), atomically with respect to other writers.
pub fn write_bytes(bytes: &[u8]) {
    let _g = LOCK.lock();
    for &b in bytes {
        if b == b'\n' {
            putb(b'\r');
        }
        putb(b);
    }
}

/// Read one byte if the UART has one.
pub fn try_read_byte() -> Option<u8> {
    // SAFETY: as in `putb`; reading RBR only when LSR says data is ready.
    unsafe {
        if reg(LSR).read_volatile() & LSR_DATA_READY != 0 { Some(reg(RBR).read_volatile()) } else { None }
    }
}

/// A `core::fmt::Write` sink for the console.
pub struct Console;

impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        write_bytes(s.as_bytes());
        Ok(())
    }
}

/// Print to the console without a newline.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        let _ = core::fmt::Write::write_fmt(&mut $crate::console::Console, format_args!($($arg)*));
    }};
}

/// Print a line to the console.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {{ $crate::print!("{}\n", format_args!($($arg)*)); }};
}
