/* getcpu(cpu, node, cache): the system call, as Linux riscv's vDSO does. */
#include "vdso.h"

	.text
	.globl __vdso_getcpu
	.type __vdso_getcpu, @function
__vdso_getcpu:
	.cfi_startproc
	li a7, NR_getcpu
	ecall
	ret
	.cfi_endproc
	.size __vdso_getcpu, . - __vdso_getcpu
