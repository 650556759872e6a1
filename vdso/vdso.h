/* The vDSO's view of its data page ([vvar]), which the kernel maps read-only one page below
 * the vDSO image (the linker script puts `_vdso_data` there; code reaches it PC-relative).
 * The kernel writes it (kernel/src/vdso.rs, same offsets) under a sequence counter: odd while
 * an update is in progress, so readers retry instead of mixing old and new fields. */
#ifndef VELOX_VDSO_H
#define VELOX_VDSO_H

#ifndef __ASSEMBLER__
typedef unsigned int u32;
typedef unsigned long u64;

struct vdso_data {
    u32 seq;               /*  0: sequence counter (odd: being updated) */
    u32 enabled;           /*  4: 0: answer every call with the system call */
    u64 timebase;          /*  8: `time` CSR ticks per second */
    u64 ns_per_tick;       /* 16: 1e9 / timebase when exact, else 0 (divide) */
    u64 realtime_offset;   /* 24: CLOCK_REALTIME minus CLOCK_MONOTONIC, in ns */
    u64 resolution_ns;     /* 32: what clock_getres reports (tv_nsec) */
};
#endif

/* Linux riscv64 system call numbers (asm-generic). */
#define NR_clock_gettime 113
#define NR_clock_getres  114
#define NR_rt_sigreturn  139
#define NR_getcpu        168
#define NR_gettimeofday  169

#endif
