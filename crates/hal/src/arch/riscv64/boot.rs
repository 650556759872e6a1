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
}

unsafe extern "Rust" {
    /// Provided by the kernel crate: the Rust entry point after the hardware layer set up.
    fn velox_main(hartid: usize, dtb_pa: usize) -> !;
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
