/* segv: deliberately fatal faults.  Usage: segv null|ill|bus|exec|kread
 * Each mode prints "before", faults, and must be killed by the kernel (default
 * signal action: terminate); it must never print "after".  The outer runner
 * checks the kill signal the kernel reports:
 *   null  - store to address 0                        -> SIGSEGV (11)
 *   ill   - execute the all-zero word (illegal instr) -> SIGILL  (4)
 *   bus   - amoadd.w on an odd address (store/AMO address misaligned; AMOs
 *           are never emulated by Linux)              -> SIGBUS  (7)
 *           (Linux arch/riscv: misaligned-store trap -> SIGBUS/BUS_ADRALN;
 *           qemu-riscv64 user mode also reports SIGBUS)
 *   exec  - jump into a PROT_READ|PROT_WRITE (non-executable) mmap page
 *           (instruction page fault)                  -> SIGSEGV (11)
 *   kread - load from a kernel address                -> SIGSEGV (11)
 * Without a (known) argument: prints usage, exits 2. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void say(const char *s) { write(1, s, strlen(s)); }

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2) {
    usage:
        say("usage: segv null|ill|bus|exec|kread\n");
        return 2;
    }
    const char *m = argv[1];
    if (strcmp(m, "null") == 0) {
        say("before\n");
        *(volatile int *)(uintptr_t)0 = 42;
    } else if (strcmp(m, "ill") == 0) {
        say("before\n");
        __asm__ volatile(".word 0" ::: "memory");
    } else if (strcmp(m, "bus") == 0) {
        static long words[4];
        volatile char *p = (volatile char *)words + 1;
        long old;
        say("before\n");
        __asm__ volatile("amoadd.w %0, %2, (%1)" : "=r"(old) : "r"(p), "r"(1L) : "memory");
        (void)old;
    } else if (strcmp(m, "exec") == 0) {
        uint32_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED) {
            say("mmap failed\n");
            return 3;
        }
        page[0] = 0x00008067; /* ret */
        say("before\n");
        ((void (*)(void))page)();
    } else if (strcmp(m, "kread") == 0) {
        say("before\n");
        volatile long v = *(volatile long *)0xffffffc080200000UL;
        (void)v;
    } else {
        goto usage;
    }
    say("after\n");
    return 0;
}
