//! Velox hardware abstraction layer: the only crate with assembly, and nearly all `unsafe`.
//!
//! It boots the hart, owns the trap entry and exit (the seed's two-stage trampoline), the user
//! context, CSR/SBI/UART access, page-table activation and the user-memory copy routines with
//! fault fix-up. Everything above it (the kernel crate) is safe Rust over this interface.
#![no_std]
#![allow(clippy::missing_safety_doc)]

extern crate alloc;

#[cfg(target_arch = "riscv64")]
#[path = "arch/riscv64/mod.rs"]
mod arch;

#[cfg(target_arch = "riscv64")]
pub use arch::*;
