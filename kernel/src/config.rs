//! Build-time kernel parameters.

/// Time slice of a user thread, in microseconds.
pub const TIME_SLICE_US: u64 = 10_000;
/// Top of the user stack (just below the end of the Sv39 user half, one guard page).
pub const USER_STACK_TOP: usize = 0x3f_ffff_f000;
/// Maximum size of the user stack (RLIMIT_STACK soft limit reported to programs).
pub const USER_STACK_SIZE: usize = 8 << 20;
/// mmap areas are placed top-down below this address (under the stack's reserve).
pub const MMAP_TOP: usize = USER_STACK_TOP - USER_STACK_SIZE - 0x10_0000;
/// The vDSO's data page (`[vvar]`, read-only) and right above it the vDSO image (`[vdso]`,
/// read+exec): fixed, in the gap between MMAP_TOP and the stack's reserve (a guard page above
/// MMAP_TOP), so automatic mmap placement never reaches them.
pub const VVAR_ADDR: usize = MMAP_TOP + 0x1000;
pub const VDSO_ADDR: usize = VVAR_ADDR + 0x1000;
/// Lowest address mmap picks on its own.
pub const MMAP_BOTTOM: usize = 0x10_0000;
/// Load bias for position-independent executables.
pub const PIE_BASE: usize = 0x2_0000_0000 / 8;
/// Largest argv+envp+auxv block (Linux: a quarter of the stack limit).
pub const ARG_MAX: usize = USER_STACK_SIZE / 4;
/// Bytes of kernel stack per hart: its stack slot (guard page included) plus its emergency stack.
pub const KERNEL_STACKS_BYTES: usize = (256 + 16) << 10;
/// Most threads alive at once, kernel-wide (thread creation fails with EAGAIN beyond).
pub const MAX_THREADS: usize = 1 << 20;
/// Kernel heap kept free for running threads: creating threads, processes or pipes fails
/// (EAGAIN, ENFILE) rather than eat into it.
pub const HEAP_RESERVE: usize = 1 << 20;
/// Free page frames kept for the pages running threads still touch: creating a thread or
/// process fails with EAGAIN below this, so memory exhaustion shows up there rather than as a
/// page fault nobody can serve.
pub const FRAME_RESERVE: usize = 4096;
