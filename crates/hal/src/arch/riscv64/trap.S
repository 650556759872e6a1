# The two-stage trap entry of the seed design (DESIGN.md §2).
#
# While a hart runs user code, sscratch holds the thread's UserContext pointer; in the kernel
# it holds 0, so one vector serves both: `csrrw sp, sscratch, sp` gives a non-zero sp only
# for a trap from user mode.
#
# UserContext layout (8-byte slots): [0] kernel sp saved by __run_user, [1..31] x1..x31,
# [32] sepc, [33] scause, [34] stval, [35..66] f0..f31, [67] fcsr.

    .equ CTX_SEPC, 32*8
    .equ KFRAME, 36*8          # kernel trap frame: x0..x31, sepc, sstatus, 2 spare

    .equ RUN_FRAME, 16*8       # __run_user's frame: ra, s0-s11, kernel tp, ctx, 1 spare
    .equ RUN_CTX, 14*8         # where __run_user keeps the UserContext pointer

    .section .text.trap
    .balign 4
    .globl __trap_entry
__trap_entry:
    csrrw   sp, sscratch, sp
    beqz    sp, __kernel_trap_swapped
    # ---- stage 1: trap from user mode; sp = UserContext. Save only caller-saved registers. ----
    # gp is not saved here: no kernel code writes it (Rust never allocates gp or tp, and the
    # kernel-mode trap entry restores what it saves), so the user's gp is still in the register
    # when the fast path returns; stage 2 saves it for the slow path. (sepc is saved: a user
    # copy that faults inside the fast path takes a nested trap, which overwrites the CSR.)
    sd      ra, 1*8(sp)
    sd      tp, 4*8(sp)
    sd      t0, 5*8(sp)
    sd      t1, 6*8(sp)
    sd      t2, 7*8(sp)
    sd      a0, 10*8(sp)
    sd      a1, 11*8(sp)
    sd      a2, 12*8(sp)
    sd      a3, 13*8(sp)
    sd      a4, 14*8(sp)
    sd      a5, 15*8(sp)
    sd      a6, 16*8(sp)
    sd      a7, 17*8(sp)
    sd      t3, 28*8(sp)
    sd      t4, 29*8(sp)
    sd      t5, 30*8(sp)
    sd      t6, 31*8(sp)
    csrrw   t0, sscratch, zero          # user sp; sscratch = 0 (kernel mode from here)
    sd      t0, 2*8(sp)
    csrr    t1, sepc
    sd      t1, CTX_SEPC(sp)
    mv      a0, sp
    ld      sp, 0(a0)                   # the kernel sp recorded by __run_user
    ld      tp, 13*8(sp)                # the kernel tp (hart record), saved there by __run_user
    # extern "C" fn(&mut UserContext) -> (a0, a1): a0 = 0: a system call finished with a1 as
    # its result; 1: take the slow path; 2: another trap finished (a0 comes from the context).
    call    velox_fast_path
    ld      t2, RUN_CTX(sp)             # the context (kept in __run_user's frame)
    bnez    a0, 2f
    # ---- fast path completed a system call: skip the ecall, result in a0, restore the other
    # caller-saved registers and return. s0-s11 and gp were never touched. ----
    csrw    sscratch, t2
    ld      t0, CTX_SEPC(t2)
    addi    t0, t0, 4
    csrw    sepc, t0
    mv      a0, a1
3:  ld      ra, 1*8(t2)
    ld      sp, 2*8(t2)
    ld      tp, 4*8(t2)
    ld      t0, 5*8(t2)
    ld      t1, 6*8(t2)
    ld      a1, 11*8(t2)
    ld      a2, 12*8(t2)
    ld      a3, 13*8(t2)
    ld      a4, 14*8(t2)
    ld      a5, 15*8(t2)
    ld      a6, 16*8(t2)
    ld      a7, 17*8(t2)
    ld      t3, 28*8(t2)
    ld      t4, 29*8(t2)
    ld      t5, 30*8(t2)
    ld      t6, 31*8(t2)
    ld      t2, 7*8(t2)
    sret
2:  addi    a0, a0, -2
    bnez    a0, 1f
    # ---- fast path completed another trap (a page fault, a tick): a0 as it was. ----
    csrw    sscratch, t2
    ld      t0, CTX_SEPC(t2)
    csrw    sepc, t0
    ld      a0, 10*8(t2)
    j       3b
1:  # ---- stage 2: the fast path declined. Save the user's gp and s0-s11, return from
    # __run_user. ----
    mv      a0, t2
    sd      gp, 3*8(a0)
    sd      s0, 8*8(a0)
    sd      s1, 9*8(a0)
    sd      s2, 18*8(a0)
    sd      s3, 19*8(a0)
    sd      s4, 20*8(a0)
    sd      s5, 21*8(a0)
    sd      s6, 22*8(a0)
    sd      s7, 23*8(a0)
    sd      s8, 24*8(a0)
    sd      s9, 25*8(a0)
    sd      s10, 26*8(a0)
    sd      s11, 27*8(a0)
    ld      ra, 0*8(sp)
    ld      s0, 1*8(sp)
    ld      s1, 2*8(sp)
    ld      s2, 3*8(sp)
    ld      s3, 4*8(sp)
    ld      s4, 5*8(sp)
    ld      s5, 6*8(sp)
    ld      s6, 7*8(sp)
    ld      s7, 8*8(sp)
    ld      s8, 9*8(sp)
    ld      s9, 10*8(sp)
    ld      s10, 11*8(sp)
    ld      s11, 12*8(sp)
    addi    sp, sp, RUN_FRAME
    ret

# fn __run_user(ctx: *mut UserContext): enter user mode as a function call. Saves the kernel's
# callee-saved registers on the kernel stack, records sp in ctx[0], loads every user register
# and srets. "Returns" when the fast path declines a trap (stage 2 above).
    .globl __run_user
__run_user:
    addi    sp, sp, -RUN_FRAME
    sd      ra, 0*8(sp)
    sd      s0, 1*8(sp)
    sd      s1, 2*8(sp)
    sd      s2, 3*8(sp)
    sd      s3, 4*8(sp)
    sd      s4, 5*8(sp)
    sd      s5, 6*8(sp)
    sd      s6, 7*8(sp)
    sd      s7, 8*8(sp)
    sd      s8, 9*8(sp)
    sd      s9, 10*8(sp)
    sd      s10, 11*8(sp)
    sd      s11, 12*8(sp)
    sd      tp, 13*8(sp)                # the hart record, for the trap entry (user code owns tp)
    sd      a0, RUN_CTX(sp)             # the context, for the trap exit
    sd      sp, 0(a0)
    csrw    sscratch, a0
    ld      t0, CTX_SEPC(a0)
    csrw    sepc, t0
    ld      ra, 1*8(a0)
    ld      sp, 2*8(a0)
    ld      gp, 3*8(a0)
    ld      tp, 4*8(a0)
    ld      t0, 5*8(a0)
    ld      t1, 6*8(a0)
    ld      t2, 7*8(a0)
    ld      s0, 8*8(a0)
    ld      s1, 9*8(a0)
    ld      a1, 11*8(a0)
    ld      a2, 12*8(a0)
    ld      a3, 13*8(a0)
    ld      a4, 14*8(a0)
    ld      a5, 15*8(a0)
    ld      a6, 16*8(a0)
    ld      a7, 17*8(a0)
    ld      s2, 18*8(a0)
    ld      s3, 19*8(a0)
    ld      s4, 20*8(a0)
    ld      s5, 21*8(a0)
    ld      s6, 22*8(a0)
    ld      s7, 23*8(a0)
    ld      s8, 24*8(a0)
    ld      s9, 25*8(a0)
    ld      s10, 26*8(a0)
    ld      s11, 27*8(a0)
    ld      t3, 28*8(a0)
    ld      t4, 29*8(a0)
    ld      t5, 30*8(a0)
    ld      t6, 31*8(a0)
    ld      a0, 10*8(a0)
    sret

# ---- traps taken in supervisor mode (interrupts while idle, faults in user copies, bugs) ----
__kernel_trap_swapped:
    csrrw   sp, sscratch, sp            # sp = kernel sp, sscratch = 0
    # Stack-overflow check: if the frame would reach this hart's guard page, switch to the
    # hart's emergency stack. tp = this hart's record, whose first word is the hart index;
    # hart i's stack slot is 256 KiB above hart 0's, so sp is moved into hart 0's slot for the
    # comparison and back.
    csrw    sscratch, t0
    ld      t0, 0(tp)
    slli    t0, t0, 18
    sub     sp, sp, t0
    la      t0, __boot_stack_bottom + KFRAME + 64
    bltu    sp, t0, 2f                  # (emergency stacks lie above every stack slot)
    ld      t0, 0(tp)
    slli    t0, t0, 18
    add     sp, sp, t0
    j       1f
2:  la      sp, __emergency_stacks + 16384
    ld      t0, 0(tp)
    slli    t0, t0, 14
    add     sp, sp, t0
1:  csrr    t0, sscratch
    csrw    sscratch, zero
    addi    sp, sp, -KFRAME
    sd      ra, 1*8(sp)
    sd      gp, 3*8(sp)
    sd      tp, 4*8(sp)
    sd      t0, 5*8(sp)
    sd      t1, 6*8(sp)
    sd      t2, 7*8(sp)
    sd      s0, 8*8(sp)
    sd      s1, 9*8(sp)
    sd      a0, 10*8(sp)
    sd      a1, 11*8(sp)
    sd      a2, 12*8(sp)
    sd      a3, 13*8(sp)
    sd      a4, 14*8(sp)
    sd      a5, 15*8(sp)
    sd      a6, 16*8(sp)
    sd      a7, 17*8(sp)
    sd      s2, 18*8(sp)
    sd      s3, 19*8(sp)
    sd      s4, 20*8(sp)
    sd      s5, 21*8(sp)
    sd      s6, 22*8(sp)
    sd      s7, 23*8(sp)
    sd      s8, 24*8(sp)
    sd      s9, 25*8(sp)
    sd      s10, 26*8(sp)
    sd      s11, 27*8(sp)
    sd      t3, 28*8(sp)
    sd      t4, 29*8(sp)
    sd      t5, 30*8(sp)
    sd      t6, 31*8(sp)
    addi    t0, sp, KFRAME
    sd      t0, 2*8(sp)
    csrr    t0, sepc
    sd      t0, 32*8(sp)
    csrr    t1, sstatus
    sd      t1, 33*8(sp)
    mv      a0, sp
    call    velox_hal_kernel_trap
    ld      t0, 32*8(sp)
    csrw    sepc, t0
    ld      t1, 33*8(sp)
    csrw    sstatus, t1
    ld      ra, 1*8(sp)
    ld      gp, 3*8(sp)
    ld      tp, 4*8(sp)
    ld      t0, 5*8(sp)
    ld      t1, 6*8(sp)
    ld      t2, 7*8(sp)
    ld      s0, 8*8(sp)
    ld      s1, 9*8(sp)
    ld      a0, 10*8(sp)
    ld      a1, 11*8(sp)
    ld      a2, 12*8(sp)
    ld      a3, 13*8(sp)
    ld      a4, 14*8(sp)
    ld      a5, 15*8(sp)
    ld      a6, 16*8(sp)
    ld      a7, 17*8(sp)
    ld      s2, 18*8(sp)
    ld      s3, 19*8(sp)
    ld      s4, 20*8(sp)
    ld      s5, 21*8(sp)
    ld      s6, 22*8(sp)
    ld      s7, 23*8(sp)
    ld      s8, 24*8(sp)
    ld      s9, 25*8(sp)
    ld      s10, 26*8(sp)
    ld      s11, 27*8(sp)
    ld      t3, 28*8(sp)
    ld      t4, 29*8(sp)
    ld      t5, 30*8(sp)
    ld      t6, 31*8(sp)
    ld      sp, 2*8(sp)
    sret

# fn __copy_user(dst: *mut u8, src: *const u8, len: usize) -> usize
# Returns 0, or 1 if a fault hit user memory that could not be resolved (the kernel trap
# handler redirects sepc to __copy_user_fault). Word copies (128 bytes a round) when both
# pointers are aligned or equally misaligned, bytes otherwise.
    .section .text.trap
    .globl __copy_user
    .globl __copy_user_start
    .globl __copy_user_end
    .globl __copy_user_fault
__copy_user:
__copy_user_start:
    beqz    a2, 9f
    or      t0, a0, a1
    andi    t0, t0, 7
    bnez    t0, 3f
4:  li      t1, 128
    bltu    a2, t1, 1f
0:  ld      t0, 0(a1)               # 128 bytes per round while they last: 16 loads and
    ld      t2, 8(a1)               # 16 stores through 8 registers, one branch
    ld      t3, 16(a1)
    ld      t4, 24(a1)
    ld      t5, 32(a1)
    ld      t6, 40(a1)
    ld      a3, 48(a1)
    ld      a4, 56(a1)
    sd      t0, 0(a0)
    sd      t2, 8(a0)
    sd      t3, 16(a0)
    sd      t4, 24(a0)
    sd      t5, 32(a0)
    sd      t6, 40(a0)
    sd      a3, 48(a0)
    sd      a4, 56(a0)
    ld      t0, 64(a1)
    ld      t2, 72(a1)
    ld      t3, 80(a1)
    ld      t4, 88(a1)
    ld      t5, 96(a1)
    ld      t6, 104(a1)
    ld      a3, 112(a1)
    ld      a4, 120(a1)
    sd      t0, 64(a0)
    sd      t2, 72(a0)
    sd      t3, 80(a0)
    sd      t4, 88(a0)
    sd      t5, 96(a0)
    sd      t6, 104(a0)
    sd      a3, 112(a0)
    sd      a4, 120(a0)
    addi    a2, a2, -128
    addi    a1, a1, 128
    addi    a0, a0, 128
    bgeu    a2, t1, 0b
1:  li      t1, 8
    bltu    a2, t1, 2f
    ld      t2, 0(a1)
    sd      t2, 0(a0)
    addi    a0, a0, 8
    addi    a1, a1, 8
    addi    a2, a2, -8
    j       1b
2:  beqz    a2, 9f
    lb      t2, 0(a1)
    sb      t2, 0(a0)
    addi    a0, a0, 1
    addi    a1, a1, 1
    addi    a2, a2, -1
    j       2b
3:  xor     t0, a0, a1              # misaligned: if both are off by the same amount, bytes
    andi    t0, t0, 7               # up to the boundary and then words; else all bytes
    bnez    t0, 2b
5:  lb      t2, 0(a1)
    sb      t2, 0(a0)
    addi    a0, a0, 1
    addi    a1, a1, 1
    addi    a2, a2, -1
    beqz    a2, 9f
    andi    t0, a0, 7
    bnez    t0, 5b
    j       4b
9:  li      a0, 0
    ret
__copy_user_end:
__copy_user_fault:
    li      a0, 1
    ret

# fn __fill_user(dst: *mut u8, len: usize) -> usize: zero user memory, same contract.
    .globl __fill_user
__fill_user:
    srli    t0, a1, 4
    beqz    t0, 3f                  # under 16 bytes: bytes only (a 1-byte read of /dev/zero)
    andi    t0, a0, 7
    bnez    t0, 2f
    li      t1, 64
    bltu    a1, t1, 1f
0:  sd      zero, 0(a0)             # 64 bytes per round while aligned
    sd      zero, 8(a0)
    sd      zero, 16(a0)
    sd      zero, 24(a0)
    sd      zero, 32(a0)
    sd      zero, 40(a0)
    sd      zero, 48(a0)
    sd      zero, 56(a0)
    addi    a1, a1, -64
    addi    a0, a0, 64
    bgeu    a1, t1, 0b
1:  li      t1, 8
    bltu    a1, t1, 3f
    sd      zero, 0(a0)
    addi    a0, a0, 8
    addi    a1, a1, -8
    j       1b
2:  sb      zero, 0(a0)             # bytes up to alignment (at least 16 left), then words
    addi    a0, a0, 1
    addi    a1, a1, -1
    j       __fill_user
3:  beqz    a1, 9f
4:  sb      zero, 0(a0)
    addi    a0, a0, 1
    addi    a1, a1, -1
    bnez    a1, 4b
9:  li      a0, 0
    ret

# fn __strncpy_user(dst: *mut u8, src: *const u8, len: usize, copied: *mut usize) -> usize:
# copy user bytes from `src` up to and including the first NUL, at most `len` bytes; stores
# at `copied` how many came before the NUL (`len` if none did). Same fault contract as
# __copy_user. A word at a time while both pointers are aligned: an aligned word never
# crosses a page, so the bytes read past the NUL are on a page the string itself is on.
    .globl __strncpy_user
__strncpy_user:
    mv      t6, a0
    or      t0, a0, a1
    andi    t0, t0, 7
    bnez    t0, 3f
    li      t3, 0x0101010101010101
    slli    t4, t3, 7               # 0x8080...80
    li      t5, 8
1:  bltu    a2, t5, 3f
    ld      t1, 0(a1)
    sub     t2, t1, t3              # a zero byte sets its top bit in (w - 0x01..) & ~w
    not     t0, t1
    and     t2, t2, t0
    and     t2, t2, t4
    bnez    t2, 3f                  # a NUL in this word: finish it byte by byte
    sd      t1, 0(a0)
    addi    a0, a0, 8
    addi    a1, a1, 8
    addi    a2, a2, -8
    j       1b
3:  beqz    a2, 8f
    lbu     t1, 0(a1)
    sb      t1, 0(a0)
    beqz    t1, 8f
    addi    a0, a0, 1
    addi    a1, a1, 1
    addi    a2, a2, -1
    j       3b
8:  sub     a0, a0, t6
    sd      a0, 0(a3)
    li      a0, 0
    ret

# fn __amo_user(op: usize, uaddr: *mut u32, val: u32, old: *mut u32) -> usize: one atomic
# read-modify-write of a user word (futex WAKE_OP): op 0 swap, 1 add, 2 or, 3 and, 4 xor.
# Stores the old value at `old`; same fault contract as __copy_user.
    .option push
    .option arch, +a
    .globl __amo_user
__amo_user:
    li      t0, 1
    beq     a0, t0, 2f
    li      t0, 2
    beq     a0, t0, 3f
    li      t0, 3
    beq     a0, t0, 4f
    li      t0, 4
    beq     a0, t0, 5f
    amoswap.w.aqrl t1, a2, (a1)
    j       8f
2:  amoadd.w.aqrl t1, a2, (a1)
    j       8f
3:  amoor.w.aqrl t1, a2, (a1)
    j       8f
4:  amoand.w.aqrl t1, a2, (a1)
    j       8f
5:  amoxor.w.aqrl t1, a2, (a1)
8:  sw      t1, 0(a3)
    li      a0, 0
    ret

# fn __cmpxchg_user(uaddr: *mut u32, expected: u32, new: u32, old: *mut u32) -> usize:
# compare-and-swap of a user word (robust futex release). Stores the value found at `old`.
    .globl __cmpxchg_user
__cmpxchg_user:
    addiw   a1, a1, 0                   # lr.w sign-extends: compare like with like
1:  lr.w.aqrl t1, (a0)
    bne     t1, a1, 2f
    sc.w.aqrl t2, a2, (a0)
    bnez    t2, 1b
2:  sw      t1, 0(a3)
    li      a0, 0
    ret
    .option pop
    .globl __fill_user_end
__fill_user_end:

# User floating-point state: fn __fp_save(f: *mut u64), fn __fp_restore(f: *const u64).
# The kernel itself is built without F/D, so these are the only FP instructions it executes.
    .section .text
    .option push
    .option arch, +d
    .globl __fp_save
__fp_save:
    fsd f0, 0*8(a0)
    fsd f1, 1*8(a0)
    fsd f2, 2*8(a0)
    fsd f3, 3*8(a0)
    fsd f4, 4*8(a0)
    fsd f5, 5*8(a0)
    fsd f6, 6*8(a0)
    fsd f7, 7*8(a0)
    fsd f8, 8*8(a0)
    fsd f9, 9*8(a0)
    fsd f10, 10*8(a0)
    fsd f11, 11*8(a0)
    fsd f12, 12*8(a0)
    fsd f13, 13*8(a0)
    fsd f14, 14*8(a0)
    fsd f15, 15*8(a0)
    fsd f16, 16*8(a0)
    fsd f17, 17*8(a0)
    fsd f18, 18*8(a0)
    fsd f19, 19*8(a0)
    fsd f20, 20*8(a0)
    fsd f21, 21*8(a0)
    fsd f22, 22*8(a0)
    fsd f23, 23*8(a0)
    fsd f24, 24*8(a0)
    fsd f25, 25*8(a0)
    fsd f26, 26*8(a0)
    fsd f27, 27*8(a0)
    fsd f28, 28*8(a0)
    fsd f29, 29*8(a0)
    fsd f30, 30*8(a0)
    fsd f31, 31*8(a0)
    frcsr t0
    sd t0, 32*8(a0)
    ret
    .globl __fp_restore
__fp_restore:
    fld f0, 0*8(a0)
    fld f1, 1*8(a0)
    fld f2, 2*8(a0)
    fld f3, 3*8(a0)
    fld f4, 4*8(a0)
    fld f5, 5*8(a0)
    fld f6, 6*8(a0)
    fld f7, 7*8(a0)
    fld f8, 8*8(a0)
    fld f9, 9*8(a0)
    fld f10, 10*8(a0)
    fld f11, 11*8(a0)
    fld f12, 12*8(a0)
    fld f13, 13*8(a0)
    fld f14, 14*8(a0)
    fld f15, 15*8(a0)
    fld f16, 16*8(a0)
    fld f17, 17*8(a0)
    fld f18, 18*8(a0)
    fld f19, 19*8(a0)
    fld f20, 20*8(a0)
    fld f21, 21*8(a0)
    fld f22, 22*8(a0)
    fld f23, 23*8(a0)
    fld f24, 24*8(a0)
    fld f25, 25*8(a0)
    fld f26, 26*8(a0)
    fld f27, 27*8(a0)
    fld f28, 28*8(a0)
    fld f29, 29*8(a0)
    fld f30, 30*8(a0)
    fld f31, 31*8(a0)
    ld t0, 32*8(a0)
    fscsr t0
    ret
    .option pop
