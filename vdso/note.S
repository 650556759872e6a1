/* The ELF note Linux's vDSO carries: name "Linux", type 0, the kernel version Velox reports in
 * uname (6.6.0 = 0x060600). */
	.section .note.Linux, "a", @note
	.balign 4
	.long 2f - 1f		/* name size */
	.long 4f - 3f		/* descriptor size */
	.long 0			/* type */
1:	.asciz "Linux"
2:	.balign 4
3:	.long 0x060600
4:	.balign 4
