//! 16550 UART console (polled output; input polled or by the receive interrupt) at the device tree's address.

use core::sync::atomic::{AtomicUsize, Ordering};

static UART_BASE: AtomicUsize = AtomicUsize::new(super::PHYS_OFFSET + 0x1000_0000);
static LOCK: spin::Mutex<()> = spin::Mutex::new(());

const THR: usize = 0; // transmit holding (write)
const RBR: usize = 0; // receive buffer (read)
const IER: usize = 1; // interrupt enable
const MCR: usize = 4; // modem control
const LSR: usize = 5; // line status
const LSR_DATA_READY: u8 = 1;
const LSR_THR_EMPTY: u8 = 1 << 5;
const IER_RX_AVAILABLE: u8 = 1;
/// DTR, RTS and OUT2 (OUT2 gates the interrupt line on PC-style 16550 boards).
const MCR_DTR_RTS_OUT2: u8 = 0x0b;

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

/// Write bytes to the console as they are (no LF translation: a tty's output processing
/// already did it), atomically with respect to other writers.
pub fn write_raw(bytes: &[u8]) {
    let _g = LOCK.lock();
    for &b in bytes {
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

/// Raise the UART's interrupt when received data is available (IER.ERBFI). Output stays
/// polled; the kernel drains input with [`drain_rx`] from its external-interrupt handler.
pub fn enable_rx_interrupt() {
    let _g = LOCK.lock();
    // SAFETY: as in `putb`; IER and MCR are plain 16550 registers, written under the lock.
    unsafe {
        reg(MCR).write_volatile(MCR_DTR_RTS_OUT2);
        reg(IER).write_volatile(IER_RX_AVAILABLE);
    }
}

/// Read every byte the UART holds (its receive FIFO), giving each to `f`; the receive
/// interrupt deasserts once the FIFO is empty. Returns how many bytes were read.
pub fn drain_rx(mut f: impl FnMut(u8)) -> usize {
    let mut n = 0;
    // (Bounded: a device that never empties its FIFO cannot hold the hart forever.)
    while n < 4096 {
        match try_read_byte() {
            Some(b) => {
                f(b);
                n += 1;
            }
            None => break,
        }
    }
    n
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
