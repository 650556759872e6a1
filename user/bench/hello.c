/* hello: the smallest C program through glibc's stdio, for the start-to-exit benchmark of
 * scripts/bench-debian.sh. Built twice by scripts/bench-build.sh: build/bench/hello-static
 * (-static) and build/bench/hello-dyn (dynamically linked: PT_INTERP
 * /lib/ld-linux-riscv64-lp64d.so.1 and libc.so.6, taken from the root it runs on: the
 * cross toolchain's glibc is older than the Debian image's, and glibc is forward compatible). */
#include <stdio.h>

int main(void)
{
    puts("hello, world");
    return 0;
}
