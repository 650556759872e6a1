# Boot entry: runs at the physical load address with the MMU off.
# a0 = hart id, a1 = device-tree physical address (both preserved for Rust).
    .section .text.entry
    .globl _start
_start:
    # Boot lottery (as Linux's head.S): only the first hart to get here boots. Firmware should
    # enter with one hart, but a second one arriving (seen once in hundreds of 4-hart boots)
    # would share the boot stack and .bss with the first. A loser gives itself back to the
    # firmware (SBI HSM hart_stop), so the boot hart can start it later; if that fails it sleeps.
    la      t0, __boot_lottery
    li      t1, 1
    .option push
    .option arch, +a
    amoadd.w t1, t1, (t0)
    .option pop
    bnez    t1, 8f
    # Build the boot page table: identity gigapage for 0x80000000 and the direct map
    # (16 GiB of gigapages at PHYS_OFFSET). Temporary: RWX; replaced by the real table in Rust.
    la      t0, __boot_pt
    li      t1, (0x80000000 >> 2) | 0xCF        # V R W X A D
    sd      t1, 2*8(t0)
    li      t2, 0                               # physical address
    li      t3, 16                              # gigapages
    li      t4, 256*8
    add     t4, t0, t4
1:  srli    t1, t2, 2
    ori     t1, t1, 0xEF                        # V R W X G A D
    sd      t1, 0(t4)
    li      t5, 0x40000000
    add     t2, t2, t5
    addi    t4, t4, 8
    addi    t3, t3, -1
    bnez    t3, 1b
    # satp = Sv39 | ppn(boot_pt)
    srli    t0, t0, 12
    li      t1, 8 << 60
    or      t0, t0, t1
    sfence.vma
    csrw    satp, t0
    sfence.vma
    # Move to the upper half: sp and pc.
    li      t0, 0xffffffc000000000
    la      sp, __boot_stack_top
    add     sp, sp, t0
    la      t1, 2f
    add     t1, t1, t0
    jr      t1
2:  # Now running at the virtual address. Zero .bss (the boot stack lies below it).
    la      t2, __bss_start
    la      t3, __bss_end
3:  bgeu    t2, t3, 4f
    sd      zero, 0(t2)
    addi    t2, t2, 8
    j       3b
4:  csrw    sscratch, zero
    la      tp, BOOT_LOCAL              # the boot hart is hart index 0 (see cpu::hart_index)
    call    velox_hal_rust_start
5:  wfi
    j       5b

# Entry of the other harts (SBI HSM hart_start): a0 = hart id, a1 = the (virtual) address of
# the hart's record, whose first word is its index (the opaque argument), MMU off. Same boot
# page table (which maps the upper half too), then this hart's stack slot, in the upper half.
    .globl _start_secondary
_start_secondary:
    la      t0, __boot_pt
    srli    t0, t0, 12
    li      t1, 8 << 60
    or      t0, t0, t1
    sfence.vma
    csrw    satp, t0
    sfence.vma
    mv      tp, a1
    ld      t2, 0(a1)                   # the hart index
    li      t0, 0xffffffc000000000
    la      sp, __stacks_start
    addi    t2, t2, 1
    slli    t2, t2, 18                  # top of slot a1 (256 KiB slots)
    add     sp, sp, t2
    add     sp, sp, t0
    la      t1, 6f
    add     t1, t1, t0
    jr      t1
6:  csrw    sscratch, zero
    call    velox_hal_secondary_start
7:  wfi
    j       7b

# A hart that lost the boot lottery: sbi_hart_stop (HSM extension 0x48534D, function 1),
# which does not return on success; else park.
8:  li      a7, 0x48534D
    li      a6, 1
    ecall
9:  wfi
    j       9b

    .section .data.bootpt
    .balign 4
__boot_lottery:
    .word 0
    .balign 4096
    .globl __boot_pt
__boot_pt:
    .zero 4096
