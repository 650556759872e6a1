//! RISC-V 64 (Sv39, S-mode under OpenSBI) implementation of the hardware layer.

pub mod boot;
pub mod console;
pub mod cpu;
pub mod crc;
pub mod mem;
pub mod plic;
pub mod sbi;
pub mod trap;
pub mod user;
pub mod virtio;

/// Base of the direct map: physical address `pa` is visible at `PHYS_OFFSET + pa`.
pub const PHYS_OFFSET: usize = 0xffff_ffc0_0000_0000;
/// Size of a base page.
pub const PAGE_SIZE: usize = 4096;
/// First address above user space (Sv39 lower half).
pub const USER_END: usize = 0x40_0000_0000;
