//! Async building blocks of the Velox kernel that need no hardware, tested on the host.
//!
//! - [`arena`]: the per-thread arena that holds the running async syscall handler's future,
//!   type-erased without `Box<dyn Future>` (the seed's "arena async polymorphism").
//! - [`timer`]: a deadline queue of wakers driven by the timer interrupt.
//! - [`sync`]: a word-sized spin lock (cheaper than a byte flag on RISC-V).
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod arena;
pub mod sync;
pub mod timer;
