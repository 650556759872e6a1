//! Boot entry (assembly in boot.S), kernel image section bounds and the hand-off to the kernel.

core::arch::global_asm!(include_str!("boot.S"));

unsafe extern "C" {
    static __kernel_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
    static __data_end: u8;
    static __boot_stack_guard: u8;
    static __boot_stack_bottom: u8;
    static __kernel_end: u8;
    static __stacks_start: u8;
    static __stacks_end: u8;
    fn _start_secondary();
}

/// Most harts the kernel runs on (stack slots and per-hart records are sized for this).
pub const MAX_HARTS: usize = 8;
/// Bytes between two harts' stack slots (a guard page, then the stack).
pub const STACK_STRIDE: usize = 256 << 10;

unsafe extern "Rust" {
    /// Provided by the kernel crate: the Rust entry point after the hardware layer set up.
    fn velox_main(hartid: usize, dtb_pa: usize) -> !;
    /// Provided by the kernel crate: where every other hart goes once it is set up.
    fn velox_secondary_main(hartid: usize, index: usize) -> !;
}

/// Virtual address ranges of the kernel image's sections, for mapping with the right permissions.
#[derive(Debug, Clone, Copy)]
pub struct KernelLayout {
    pub start: usize,
    pub text_end: usize,
    pub rodata_end: usize,
    pub data_end: usize,
    pub stack_guard: usize,
    pub stack_bottom: usize,
    pub end: usize,
    /// Every hart's stack slot (`STACK_STRIDE` each; the first page of each is its guard).
    pub stacks: (usize, usize),
}

impl KernelLayout {
    /// True if `va` is one of the harts' stack guard pages.
    pub fn is_stack_guard(&self, va: usize) -> bool {
        (self.stacks.0..self.stacks.1).contains(&va) && (va - self.stacks.0) % STACK_STRIDE < crate::PAGE_SIZE
    }
}

/// The kernel image's section boundaries (virtual addresses, page aligned).
pub fn kernel_layout() -> KernelLayout {
    // Taking the address of an extern static is safe: nothing is read.
    {
        KernelLayout {
            start: &raw const __kernel_start as usize,
            text_end: &raw const __text_end as usize,
            rodata_end: &raw const __rodata_end as usize,
            data_end: &raw const __data_end as usize,
            stack_guard: &raw const __boot_stack_guard as usize,
            stack_bottom: &raw const __boot_stack_bottom as usize,
            end: &raw const __kernel_end as usize,
            stacks: (&raw const __stacks_start as usize, &raw const __stacks_end as usize),
        }
    }
}

/// Called from boot.S on the boot stack, in the upper half, with .bss zeroed.
#[unsafe(no_mangle)]
extern "C" fn velox_hal_rust_start(hartid: usize, dtb_pa: usize) -> ! {
    crate::trap::init();
    // SAFETY: `velox_main` is defined by the kernel crate with exactly this signature.
    unsafe { velox_main(hartid, dtb_pa) }
}

/// Start the hart with id `hartid` (SBI HSM) with `tp` = `record`, the kernel's record for
/// it, whose first word is its index (1..MAX_HARTS): it enters `_start_secondary` with the
/// MMU off and ends in the kernel's `velox_secondary_main`. Returns false if the firmware
/// refused.
///
/// # Safety
/// `record` must be the address of a `'static` record as `cpu::set_hart_local` requires.
pub unsafe fn start_hart(hartid: usize, record: usize) -> bool {
    // SAFETY: the caller guarantees `record` is a live static; reading its first word.
    let index = unsafe { (record as *const usize).read() };
    assert!(index > 0 && index < MAX_HARTS, "hart index {index} out of range");
    let entry = crate::mem::virt_to_phys(_start_secondary as *const () as usize);
    sbi_rt::hart_start(hartid, entry, record).is_ok()
}

/// Called from boot.S on a secondary hart, on its own stack, in the upper half, tp = record.
#[unsafe(no_mangle)]
extern "C" fn velox_hal_secondary_start(hartid: usize, _record: usize) -> ! {
    crate::trap::init();
    let index = crate::cpu::hart_index();
    // SAFETY: `velox_secondary_main` is defined by the kernel crate with exactly this signature.
    unsafe { velox_secondary_main(hartid, index) }
}
