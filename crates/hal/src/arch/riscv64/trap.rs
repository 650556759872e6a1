//! Trap vector set-up, the user context, `run_user` and the supervisor-mode trap handler.

use core::arch::asm;
use core::sync::atomic::{AtomicUsize, Ordering};

core::arch::global_asm!(include_str!("trap.S"));

// (trap.S reads and writes only `x`, `sepc`, `scause` and `stval`, at the offsets asserted
// below; the FP block's pointer after them is Rust's alone.)
#[allow(improper_ctypes)]
unsafe extern "C" {
    fn __trap_entry();
    fn __run_user(ctx: *mut UserContext);
    fn __fp_save(f: *mut u64);
    fn __fp_restore(f: *const u64);
    static __copy_user_start: u8;
    static __fill_user_end: u8;
    static __copy_user_fault: u8;
}

/// A user thread's registers, laid out for trap.S (offsets are asserted below).
#[repr(C, align(16))]
#[derive(Clone)]
pub struct UserContext {
    /// `x[0]` holds the kernel sp while the thread runs; `x[1..32]` are the user's x1..x31.
    pub x: [usize; 32],
    /// User pc: the trapping instruction on entry, where to resume on exit.
    pub sepc: usize,
    /// Trap cause, filled in when a trap leaves the fast path.
    pub scause: usize,
    /// Trap value (faulting address, instruction bits), filled in with `scause`.
    pub stval: usize,
    /// f0..f31 and fcsr, saved when the user dirtied them and the thread left the fast path.
    /// Allocated at the thread's first use of the FPU: a thread that never touches it (most
    /// blocked helper threads) does not carry the 264 bytes. Shared copy-on-write: a clone
    /// (a new thread starts with its creator's FP registers) shares the block until one of
    /// them saves dirty FP state (any dirty save copies), so threads that never use the FPU
    /// after their creator did do not carry a copy either.
    pub f: Option<alloc::sync::Arc<[u64; 33]>>,
}

const _: () = {
    assert!(core::mem::offset_of!(UserContext, sepc) == 32 * 8);
    assert!(core::mem::offset_of!(UserContext, scause) == 33 * 8);
    // The shared FP block costs one pointer, as a Box did.
    assert!(core::mem::size_of::<UserContext>() == 36 * 8);
};

/// The FP state of a thread that has not used the FPU: all zero.
static FP_ZERO: [u64; 33] = [0; 33];

impl UserContext {
    /// A fresh context that starts at `entry` with stack pointer `sp`, all else zero.
    pub fn new(entry: usize, sp: usize) -> Self {
        let mut c = UserContext { x: [0; 32], sepc: entry, scause: 0, stval: 0, f: None };
        c.x[2] = sp;
        c
    }
    /// Syscall number (a7).
    #[inline(always)]
    pub fn syscall_nr(&self) -> usize {
        self.x[17]
    }
    /// Syscall argument `i` (a0..a5).
    #[inline(always)]
    pub fn arg(&self, i: usize) -> usize {
        self.x[10 + i]
    }
    /// Set the syscall return value (a0).
    #[inline(always)]
    pub fn set_ret(&mut self, v: usize) {
        self.x[10] = v;
    }
}

impl UserContext {
    /// Replace the FP registers and fcsr (sigreturn): the new values are loaded at the next
    /// entry to user mode on whichever hart runs the thread.
    pub fn set_fp(&mut self, f: &[u64; 33]) {
        match self.f.as_mut().and_then(alloc::sync::Arc::get_mut) {
            Some(b) => *b = *f,
            None => self.f = Some(alloc::sync::Arc::new(*f)),
        }
        disown_fp(self as *mut _ as usize, usize::MAX);
    }
}

impl Drop for UserContext {
    fn drop(&mut self) {
        disown_fp(self as *mut _ as usize, usize::MAX);
    }
}

/// Per hart: whose FP registers are live in its register file (address of a UserContext).
/// A context is the owner on at most one hart: loading it on one takes it off the others
/// (their registers may be older than what it saves from here on).
static FP_OWNER: [AtomicUsize; crate::boot::MAX_HARTS] = [const { AtomicUsize::new(0) }; crate::boot::MAX_HARTS];

/// Forget that context `me` is loaded on any hart but `keep`.
fn disown_fp(me: usize, keep: usize) {
    for (h, o) in FP_OWNER.iter().enumerate() {
        if h != keep {
            let _ = o.compare_exchange(me, 0, Ordering::Relaxed, Ordering::Relaxed);
        }
    }
}

const SSTATUS_SPP: usize = 1 << 8;
const SSTATUS_FS: usize = 3 << 13;
const FS_INITIAL: usize = 1 << 13;
const FS_CLEAN: usize = 2 << 13;
const FS_DIRTY: usize = 3 << 13;

/// Enter user mode with `ctx` and return when a trap leaves the fast path.
///
/// On return, `ctx` holds every user register, `scause`/`stval` describe the trap, and the
/// user's FP state is saved in `ctx.f` if the thread changed it.
pub fn run_user(ctx: &mut UserContext) {
    let me = ctx as *mut UserContext as usize;
    // SAFETY: CSR updates only affect the mode/FP state `sret` enters; `ctx.f` is a valid
    // buffer for __fp_restore; `__run_user` saves and restores all callee-saved kernel
    // registers and returns normally with the user's state stored in `ctx`, which stays
    // exclusively borrowed (and so pinned) for the whole call.
    let hart = super::cpu::hart_index();
    unsafe {
        if FP_OWNER[hart].load(Ordering::Relaxed) != me {
            asm!("csrs sstatus, {0}", in(reg) FS_INITIAL);
            __fp_restore(ctx.f.as_deref().unwrap_or(&FP_ZERO).as_ptr());
            FP_OWNER[hart].store(me, Ordering::Relaxed);
            disown_fp(me, hart);
        }
        asm!("csrc sstatus, {0}", "csrs sstatus, {1}", in(reg) SSTATUS_SPP | SSTATUS_FS, in(reg) FS_CLEAN);
        __run_user(ctx);
        let sstatus: usize;
        asm!("csrr {0}, sstatus", out(reg) sstatus);
        if sstatus & SSTATUS_FS == FS_DIRTY {
            // A block shared with a clone is copied first (`make_mut`): the other context
            // keeps the values it shares.
            let f = alloc::sync::Arc::make_mut(ctx.f.get_or_insert_with(|| alloc::sync::Arc::new([0; 33])));
            __fp_save(f.as_mut_ptr());
        }
    }
}

/// Registers saved by trap.S for a trap taken in supervisor mode.
#[repr(C)]
pub struct KernelFrame {
    pub x: [usize; 32],
    pub sepc: usize,
    pub sstatus: usize,
    _pad: [usize; 2],
}

/// Callbacks from the supervisor-mode trap handler into the kernel.
pub struct KernelTrapHooks {
    /// An interrupt arrived (while idle). Argument: the interrupt code (5 = timer).
    pub interrupt: fn(usize),
    /// A user-memory access by the kernel faulted at `addr`; return true if the page is now
    /// mapped (retry), false to fail the access with EFAULT.
    pub user_fault: fn(addr: usize, write: bool) -> bool,
}

static HOOKS: spin::Once<KernelTrapHooks> = spin::Once::new();

/// Install the kernel's trap callbacks (once, at boot).
pub fn set_hooks(h: KernelTrapHooks) {
    HOOKS.call_once(|| h);
}

/// Install the trap vector and allow supervisor access to user pages (kept on: see docs).
pub(crate) fn init() {
    // SAFETY: __trap_entry is the 4-byte aligned vector in trap.S; SUM lets the kernel's
    // checked copy routines touch user pages (QEMU flushes its TLB on every SUM change, so
    // it stays set rather than toggled around each copy).
    unsafe {
        asm!("csrw stvec, {0}", in(reg) __trap_entry as *const () as usize);
        riscv::register::sstatus::set_sum();
    }
}

fn user_access_range() -> (usize, usize, usize) {
    // Addresses of assembler symbols only (safe: nothing is read).
    {
        (
            &raw const __copy_user_start as usize,
            &raw const __fill_user_end as usize,
            &raw const __copy_user_fault as usize,
        )
    }
}

/// Name of a trap cause, for diagnostics.
pub fn cause_name(scause: usize) -> &'static str {
    let interrupt = scause >> 63 != 0;
    match (interrupt, scause & 0xff) {
        (true, 1) => "supervisor software interrupt",
        (true, 5) => "supervisor timer interrupt",
        (true, 9) => "supervisor external interrupt",
        (false, 0) => "instruction address misaligned",
        (false, 1) => "instruction access fault",
        (false, 2) => "illegal instruction",
        (false, 3) => "breakpoint",
        (false, 4) => "load address misaligned",
        (false, 5) => "load access fault",
        (false, 6) => "store/AMO address misaligned",
        (false, 7) => "store/AMO access fault",
        (false, 8) => "environment call from U-mode",
        (false, 9) => "environment call from S-mode",
        (false, 12) => "instruction page fault",
        (false, 13) => "load page fault",
        (false, 15) => "store/AMO page fault",
        _ => "unknown",
    }
}

#[unsafe(no_mangle)]
extern "C" fn velox_hal_kernel_trap(frame: &mut KernelFrame) {
    let scause = super::cpu::scause();
    let stval = super::cpu::stval();
    if scause >> 63 != 0 {
        if let Some(h) = HOOKS.get() {
            (h.interrupt)(scause & 0xff);
        }
        return;
    }
    let (start, end, fixup) = user_access_range();
    let code = scause & 0xff;
    if (start..end).contains(&frame.sepc) && matches!(code, 5 | 7 | 13 | 15) {
        let resolved = stval < super::USER_END
            && matches!(code, 13 | 15)
            && HOOKS.get().is_some_and(|h| (h.user_fault)(stval, code == 15));
        if !resolved {
            frame.sepc = fixup;
        }
        return;
    }
    let layout = super::boot::kernel_layout();
    let sp = frame.x[2];
    if layout.is_stack_guard(stval) || sp >= layout.end {
        panic!(
            "kernel stack overflow: scause={scause:#x} ({}) stval={stval:#x} sepc={:#x}",
            cause_name(scause),
            frame.sepc
        );
    }
    panic!(
        "kernel trap: scause={scause:#x} ({}) stval={stval:#x} sepc={:#x} ra={:#x} sp={sp:#x}",
        cause_name(scause),
        frame.sepc,
        frame.x[1]
    );
}
