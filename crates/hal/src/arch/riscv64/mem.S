# The kernel's memcpy and memset (strong symbols: they replace compiler_builtins' weak generic
# ones, whose word loop spends five instructions on every eight bytes and whose misaligned
# path goes word by word too). Both use only aligned accesses, so they are as correct on a
# board that traps misaligned loads as under QEMU.
#
# memcpy(dst a0, src a1, n a2) -> dst: below 16 bytes, byte by byte; else dst is aligned to
# 8 with single bytes, then, when src has the same alignment, 64 bytes per loop turn (eight
# loads, eight stores) and 8 per turn for the rest; when it does not, each aligned word of dst
# is made of two aligned source words shifted together (32 bytes per turn), never reading a
# word that holds none of the source bytes. The tail is bytes.
#
# memset(dst a0, c a1, n a2) -> dst: the byte replicated into a word, dst aligned with single
# bytes, 64 then 8 bytes per turn, then bytes.

    .section .text.mem, "ax"
    .balign 4
    .globl memcpy
    .type memcpy, @function
memcpy:
    mv      t6, a0
    li      t0, 16
    bltu    a2, t0, .Lc_bytes
    # align dst
1:  andi    t1, t6, 7
    beqz    t1, 2f
    lbu     t2, 0(a1)
    sb      t2, 0(t6)
    addi    a1, a1, 1
    addi    t6, t6, 1
    addi    a2, a2, -1
    j       1b
2:  andi    t1, a1, 7
    bnez    t1, .Lc_shift
    li      t0, 64
    bltu    a2, t0, .Lc_words
.Lc_64:
    ld      t0, 0(a1)
    ld      t1, 8(a1)
    ld      t2, 16(a1)
    ld      t3, 24(a1)
    ld      t4, 32(a1)
    ld      t5, 40(a1)
    ld      a3, 48(a1)
    ld      a4, 56(a1)
    sd      t0, 0(t6)
    sd      t1, 8(t6)
    sd      t2, 16(t6)
    sd      t3, 24(t6)
    sd      t4, 32(t6)
    sd      t5, 40(t6)
    sd      a3, 48(t6)
    sd      a4, 56(t6)
    addi    a2, a2, -64
    addi    a1, a1, 64
    addi    t6, t6, 64
    li      t0, 64
    bgeu    a2, t0, .Lc_64
.Lc_words:
    li      t0, 8
    bltu    a2, t0, .Lc_bytes
3:  ld      t1, 0(a1)
    sd      t1, 0(t6)
    addi    a2, a2, -8
    addi    a1, a1, 8
    addi    t6, t6, 8
    bgeu    a2, t0, 3b
.Lc_bytes:
    beqz    a2, .Lc_done
4:  lbu     t1, 0(a1)
    sb      t1, 0(t6)
    addi    a1, a1, 1
    addi    t6, t6, 1
    addi    a2, a2, -1
    bnez    a2, 4b
.Lc_done:
    ret
    # dst aligned, src not (t1 = src & 7, 1..7): t2/t3 shift counts, a3 the aligned source
    # word pointer, t4 the word loaded last. Each turn needs the next aligned word, which holds
    # source bytes because n >= 8 remain.
.Lc_shift:
    slli    t2, t1, 3           # right shift for the low part
    li      t3, 64
    sub     t3, t3, t2          # left shift for the high part
    sub     a3, a1, t1          # aligned source
    ld      t4, 0(a3)
    li      t0, 32
    bltu    a2, t0, 6f
5:  ld      a4, 8(a3)
    ld      a5, 16(a3)
    ld      a6, 24(a3)
    ld      a7, 32(a3)
    srl     t4, t4, t2
    sll     t5, a4, t3
    or      t4, t4, t5
    sd      t4, 0(t6)
    srl     a4, a4, t2
    sll     t5, a5, t3
    or      a4, a4, t5
    sd      a4, 8(t6)
    srl     a5, a5, t2
    sll     t5, a6, t3
    or      a5, a5, t5
    sd      a5, 16(t6)
    srl     a6, a6, t2
    sll     t5, a7, t3
    or      a6, a6, t5
    sd      a6, 24(t6)
    mv      t4, a7
    addi    a3, a3, 32
    addi    t6, t6, 32
    addi    a2, a2, -32
    bgeu    a2, t0, 5b
6:  li      t0, 8
    bltu    a2, t0, 8f
7:  ld      a4, 8(a3)
    srl     t4, t4, t2
    sll     t5, a4, t3
    or      t4, t4, t5
    sd      t4, 0(t6)
    mv      t4, a4
    addi    a3, a3, 8
    addi    t6, t6, 8
    addi    a2, a2, -8
    bgeu    a2, t0, 7b
8:  add     a1, a3, t1          # back to a byte pointer
    j       .Lc_bytes
    .size memcpy, . - memcpy

    .balign 4
    .globl memset
    .type memset, @function
memset:
    mv      t6, a0
    li      t0, 16
    bltu    a2, t0, .Ls_bytes
    andi    a1, a1, 0xff
    slli    t1, a1, 8           # the byte in every byte of t1
    or      t1, t1, a1
    slli    t2, t1, 16
    or      t1, t1, t2
    slli    t2, t1, 32
    or      t1, t1, t2
1:  andi    t2, t6, 7
    beqz    t2, 2f
    sb      a1, 0(t6)
    addi    t6, t6, 1
    addi    a2, a2, -1
    j       1b
2:  li      t0, 64
    bltu    a2, t0, 4f
3:  sd      t1, 0(t6)
    sd      t1, 8(t6)
    sd      t1, 16(t6)
    sd      t1, 24(t6)
    sd      t1, 32(t6)
    sd      t1, 40(t6)
    sd      t1, 48(t6)
    sd      t1, 56(t6)
    addi    a2, a2, -64
    addi    t6, t6, 64
    bgeu    a2, t0, 3b
4:  li      t0, 8
    bltu    a2, t0, .Ls_bytes
5:  sd      t1, 0(t6)
    addi    a2, a2, -8
    addi    t6, t6, 8
    bgeu    a2, t0, 5b
.Ls_bytes:
    beqz    a2, .Ls_done
6:  sb      a1, 0(t6)
    addi    t6, t6, 1
    addi    a2, a2, -1
    bnez    a2, 6b
.Ls_done:
    ret
    .size memset, . - memset
