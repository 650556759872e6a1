/* The signal return trampoline: a handler's `ra` points here (the kernel sets it when no
 * SA_RESTORER was given), so returning from the handler enters rt_sigreturn. The CFI marks the
 * frame as a signal frame for unwinders, as Linux's arch/riscv/kernel/vdso/rt_sigreturn.S. */
#include "vdso.h"

	.text
	/* Unwinders look up the FDE of `ra - 1` (the call site); for a handler's ra that is the
	 * byte before the trampoline. This nop, covered by no FDE, makes that lookup fail, so
	 * libgcc falls back to recognising the two instructions below and reads the registers
	 * from the signal frame (without it, the FDE of whatever function precedes is used and
	 * pthread_cancel's unwinding loops forever). 4-byte aligned: the unwinder reads the
	 * instructions as words. */
	.option push
	.option norvc
	.balign 4
	nop
	.option pop
	.globl __vdso_rt_sigreturn
	.type __vdso_rt_sigreturn, @function
__vdso_rt_sigreturn:
	.cfi_startproc
	.cfi_signal_frame
	li a7, NR_rt_sigreturn
	ecall
	.cfi_endproc
	.size __vdso_rt_sigreturn, . - __vdso_rt_sigreturn
