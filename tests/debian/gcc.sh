# gcc and make in the guest: a program of three .c files, a header and a Makefile (built,
# rebuilt after a change, run), a static library, a shared library, a threaded program, a
# static glibc link (gcc -static) and musl programs (musl-gcc, dynamic and static), each run
# and its ELF interpreter checked. Run by tests/debian/run (bash, TZ=UTC LC_ALL=C). Files
# under /var/tmp/dt-gcc (removed at the end); file times that make compares are set with
# touch -d, so the rebuild does not depend on clock resolution.
W=/var/tmp/dt-gcc
rm -rf $W; mkdir -p $W/proj; cd $W/proj || exit 1
sec() { echo "== $*"; }

sec sources
cat > calc.h <<'EOF'
#ifndef CALC_H
#define CALC_H
#include <stddef.h>
#define VERSION "1.0"
long gcd(long a, long b);
int count_primes(int limit);
double hypotenuse(double a, double b);
void sort_words(const char **w, size_t n);
unsigned checksum(const char *s);
#endif
EOF
cat > main.c <<'EOF'
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include "calc.h"

int main(int argc, char **argv)
{
    const char *words[] = { "pear", "apple", "fig", "banana", "kiwi" };
    size_t n = sizeof words / sizeof words[0];
    printf("calc %s (%d args)\n", VERSION, argc - 1);
    printf("gcd(1071, 462) = %ld\n", gcd(1071, 462));
    printf("primes below 10000: %d\n", count_primes(10000));
    printf("hypotenuse(3, 4) = %.3f\n", hypotenuse(3, 4));
    sort_words(words, n);
    for (size_t i = 0; i < n; i++)
        printf("%s%s", words[i], i + 1 < n ? " " : "\n");
    printf("checksum: %08x\n", checksum("The quick brown fox"));
    for (int i = 1; i < argc; i++)
        printf("arg %d: %s (%zu chars)\n", i, argv[i], strlen(argv[i]));
    char *env = getenv("CALC_MODE");
    printf("CALC_MODE=%s\n", env ? env : "(unset)");
#ifdef __GLIBC__
    printf("libc: glibc\n");
#else
    printf("libc: not glibc\n");
#endif
    return argc > 3 ? 3 : 0;
}
EOF
cat > util.c <<'EOF'
#include <stdlib.h>
#include <string.h>
#include "calc.h"

static int cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void sort_words(const char **w, size_t n) { qsort(w, n, sizeof *w, cmp); }

unsigned checksum(const char *s)
{
    unsigned h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}
EOF
cat > math.c <<'EOF'
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "calc.h"

long gcd(long a, long b) { return b ? gcd(b, a % b) : a; }

int count_primes(int limit)
{
    char *sieve = calloc(limit, 1);
    int count = 0;
    for (int i = 2; i < limit; i++) {
        if (sieve[i])
            continue;
        count++;
        for (long j = (long)i * i; j < limit; j += i)
            sieve[j] = 1;
    }
    free(sieve);
    return count;
}

double hypotenuse(double a, double b) { return sqrt(a * a + b * b); }
EOF
printf 'CC = gcc\nCFLAGS = -O2 -Wall\nOBJS = main.o util.o math.o\n\ncalc: $(OBJS)\n\t$(CC) $(CFLAGS) -o $@ $(OBJS) -lm\n\n%%.o: %%.c calc.h\n\t$(CC) $(CFLAGS) -c $<\n\nclean:\n\trm -f calc $(OBJS)\n\n.PHONY: clean\n' > Makefile
cat Makefile
touch -d '2020-01-01 00:00' *.c calc.h Makefile

sec make
make; echo "make status=$?"
./calc one "two words"; echo "calc status=$?"
CALC_MODE=fast ./calc a b c d > /dev/null; echo "calc with 4 args: status=$?"
make; echo "make again status=$?"
touch -d '2020-01-02 00:00' calc *.o; touch -d '2020-01-03 00:00' util.c
make; echo "rebuild after touching util.c: status=$?"
touch -d '2020-01-04 00:00' calc *.o; touch -d '2020-01-05 00:00' calc.h
make -n | sort
make -s clean; ls
make -s -j4; echo "make -j4 status=$?"; ls *.o calc | tr '\n' ' '; echo
./calc | head -3
file calc | sed 's/, BuildID[^,]*//' | cut -d, -f1-2
readelf -l calc | grep -o 'Requesting program interpreter: [^]]*'
nm calc | awk '$2 == "T" && ($3 == "main" || $3 == "gcd" || $3 == "count_primes")' | awk '{ print $2, $3 }' | sort

sec compiler messages
printf 'int main(void) { int unused; return 0; }\n' > warn.c
gcc -Wall -c warn.c -o warn.o; echo "warning compile status=$?"
printf 'int main(void) { return undefined_thing; }\n' > err.c
gcc -c err.c -o err.o; echo "error compile status=$?"
printf 'extern int nowhere(void);\nint main(void) { return nowhere(); }\n' > link.c
gcc link.c -o link 2>&1 | grep -o 'undefined reference to `nowhere'"'"; echo "link status=${PIPESTATUS[0]}"
printf '#define SQ(x) ((x) * (x))\nint v = SQ(7);\n' | gcc -E -P - | grep -v '^$'
echo 'int main(void){return __riscv_xlen;}' | gcc -x c - -o xlen && { ./xlen; echo "__riscv_xlen=$?"; }
gcc -dumpmachine

sec static library, shared library, threads
gcc -O2 -c -fPIC math.c util.c
ar rcs libcalc.a math.o util.o; ar t libcalc.a
gcc -O2 main.c -L. -lcalc -lm -o calc-ar && ./calc-ar | sed -n 2p
gcc -shared -o libcalc.so math.o util.o -lm
gcc -O2 main.c -L. -lcalc -Wl,-rpath,'$ORIGIN' -o calc-so -lm
rm libcalc.a
./calc-so x | tail -3
readelf -d calc-so | grep -E 'NEEDED|RUNPATH' | awk '{ print $2, $NF }'
cat > dl.c <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
int main(void)
{
    void *h = dlopen("./libcalc.so", RTLD_NOW);
    if (!h) { printf("dlopen: %s\n", dlerror()); return 1; }
    long (*g)(long, long) = (long (*)(long, long))dlsym(h, "gcd");
    printf("dlsym gcd(84, 36) = %ld\n", g(84, 36));
    printf("missing symbol: %s\n", dlsym(h, "no_such_symbol") ? "found" : "not found");
    return dlclose(h);
}
EOF
gcc dl.c -o dl && ./dl
cat > thr.c <<'EOF'
#include <pthread.h>
#include <stdio.h>
#define N 4
static long total;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static void *work(void *arg)
{
    long id = (long)arg, sum = 0;
    for (long i = id; i < 1000000; i += N)
        sum += i;
    pthread_mutex_lock(&mu);
    total += sum;
    pthread_mutex_unlock(&mu);
    return (void *)id;
}
int main(void)
{
    pthread_t t[N];
    long ids = 0;
    for (long i = 0; i < N; i++)
        pthread_create(&t[i], NULL, work, (void *)i);
    for (int i = 0; i < N; i++) {
        void *r;
        pthread_join(t[i], &r);
        ids += (long)r;
    }
    printf("threads: total=%ld ids=%ld\n", total, ids);
    return 0;
}
EOF
gcc -O2 -pthread thr.c -o thr && ./thr

sec static glibc
gcc -O2 -static main.c util.c math.c -lm -o calc-static; echo "gcc -static status=$?"
./calc-static static | sed -n '1p;7,9p'
file calc-static | grep -o 'statically linked'
readelf -l calc-static | grep -c INTERP
readelf -h calc-static | grep -E 'Type:|Machine:' | sed 's/  */ /g'

sec musl
cat > hello.c <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
int main(int argc, char **argv)
{
    struct utsname u;
    char buf[64];
    uname(&u);
#ifdef __GLIBC__
    const char *libc = "glibc";
#else
    const char *libc = "musl";
#endif
    snprintf(buf, sizeof buf, "%s/%s", u.sysname, u.machine);
    printf("hello from %s on %s, argc=%d\n", libc, buf, argc);
    char *p = malloc(1 << 20);
    memset(p, 'x', 1 << 20);
    printf("malloc 1 MiB: %s, pid>0: %s\n", p[12345] == 'x' ? "ok" : "bad", getpid() > 0 ? "yes" : "no");
    free(p);
    return 0;
}
EOF
musl-gcc -O2 hello.c -o hello-musl; echo "musl-gcc status=$?"
./hello-musl
readelf -l hello-musl | grep -o 'Requesting program interpreter: [^]]*'
file hello-musl | grep -o 'interpreter [^,]*'
readelf -d hello-musl | grep NEEDED | awk '{ print $NF }'
musl-gcc -O2 -static hello.c -o hello-musl-static; ./hello-musl-static
file hello-musl-static | grep -o 'statically linked'; readelf -l hello-musl-static | grep -c INTERP
musl-gcc -O2 main.c util.c math.c -lm -o calc-musl && ./calc-musl m | sed -n '1,3p;$p'
gcc -O2 hello.c -o hello-glibc && ./hello-glibc | head -1
/lib/ld-musl-riscv64.so.1 ./hello-musl 2>&1 | head -1

cd /; rm -rf $W
echo done
