/* The vDSO (docs/vdso.md): found through AT_SYSINFO_EHDR, a real ELF shared object whose
 * symbols this program resolves itself (program headers, dynamic section, both hash tables,
 * symbol versions), whose clocks agree with the system calls, and whose shared pages no process
 * can corrupt or free.
 *
 *   vdso_auxv                  AT_SYSINFO_EHDR present, page aligned
 *   vdso_elf_header            ELF64, little endian, ET_DYN, EM_RISCV
 *   vdso_dynamic               PT_LOAD + PT_DYNAMIC; DT_HASH, DT_GNU_HASH, DT_VERSYM, DT_VERDEF;
 *                              no relocations; soname linux-vdso.so.1
 *   vdso_sym_<name>            the five symbols resolve with version LINUX_4.15, the same
 *                              through DT_HASH and DT_GNU_HASH, inside the image
 *   vdso_sigreturn_code        __vdso_rt_sigreturn is `li a7, 139; ecall`
 *   vvar_readable              the data page right below the image: even sequence, enabled
 *   glibc_uses_vdso            glibc's vDSO pointers are these symbols (so its clock_gettime,
 *                              gettimeofday, clock_getres and getcpu do not trap)
 *   vdso_clock_<clock>         each clock the vDSO serves: between two syscall readings
 *   vdso_nondecreasing         10,000 reads alternating vDSO and syscall never go back
 *   vdso_other_clocks          CPU-time clocks and CLOCK_TAI (answered by the system call)
 *   vdso_gettimeofday          between two CLOCK_REALTIME syscalls; tz zeroed; NULLs accepted
 *   vdso_getres                clock_getres equals the syscall's, for every clock id tried
 *   vdso_invalid_clock         invalid ids: the syscall's -EINVAL
 *   vdso_bad_pointers          NULL, low, kernel and misaligned pointers: the syscall's result
 *   vdso_getcpu                pinned to CPU 0: cpu 0, node 0
 *   vvar_write_segv            a write to the data page kills a child with SIGSEGV
 *   vdso_write_segv            a write to the vDSO text kills a child with SIGSEGV
 *   vdso_cow_private           mprotect(RW) + a write in a child changes only the child's copy
 *   vdso_munmap_child          a child that unmaps both pages leaves the parent's working
 *   vdso_after_fork            a fork child calls the vDSO
 *   vdso_after_exec            an exec'd program (this one, `exec-child`) has it too
 */
#include "t.h"
#include <elf.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

typedef int (*gettime_fn)(clockid_t, struct timespec *);
typedef int (*gtod_fn)(struct timeval *, struct timezone *);
typedef int (*getcpu_fn)(unsigned *, unsigned *, void *);

static const char *const names[] = { "__vdso_rt_sigreturn", "__vdso_clock_gettime", "__vdso_gettimeofday",
                                     "__vdso_clock_getres", "__vdso_getcpu" };
enum { SIGRETURN, GETTIME, GTOD, GETRES, GETCPU, NSYMS };

/* What the walk of the image found. */
static struct {
    uintptr_t base, bias, size;
    const Elf64_Sym *symtab;
    const char *strtab;
    const Elf32_Word *hash;     /* DT_HASH */
    const uint32_t *gnu_hash;   /* DT_GNU_HASH */
    const Elf64_Half *versym;
    const Elf64_Verdef *verdef;
    void *sym[NSYMS];
} v;

static int64_t ns(const struct timespec *t) { return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec; }

static unsigned long elf_hash(const char *s)
{
    unsigned long h = 0, g;
    while (*s) {
        h = (h << 4) + (unsigned char)*s++;
        if ((g = h & 0xf0000000))
            h ^= g >> 24;
        h &= ~g;
    }
    return h;
}

static uint32_t gnu_hash(const char *s)
{
    uint32_t h = 5381;
    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

/* Symbol index of `name` through DT_HASH (0: not found). */
static unsigned sysv_lookup(const char *name)
{
    Elf32_Word nbucket = v.hash[0];
    const Elf32_Word *bucket = v.hash + 2, *chain = bucket + nbucket;
    for (Elf32_Word i = bucket[elf_hash(name) % nbucket]; i; i = chain[i])
        if (!strcmp(v.strtab + v.symtab[i].st_name, name))
            return i;
    return 0;
}

/* Symbol index of `name` through DT_GNU_HASH (0: not found). */
static unsigned gnu_lookup(const char *name)
{
    uint32_t nbuckets = v.gnu_hash[0], symoffset = v.gnu_hash[1], bloom_size = v.gnu_hash[2];
    uint32_t bloom_shift = v.gnu_hash[3];
    const uint64_t *bloom = (const uint64_t *)(v.gnu_hash + 4);
    const uint32_t *buckets = (const uint32_t *)(bloom + bloom_size), *chain = buckets + nbuckets;
    uint32_t h = gnu_hash(name);
    uint64_t word = bloom[(h / 64) % bloom_size];
    if (!((word >> (h % 64)) & (word >> ((h >> bloom_shift) % 64)) & 1))
        return 0;
    for (uint32_t i = buckets[h % nbuckets]; i >= symoffset && i; i++) {
        uint32_t h2 = chain[i - symoffset];
        if ((h | 1) == (h2 | 1) && !strcmp(v.strtab + v.symtab[i].st_name, name))
            return i;
        if (h2 & 1)
            break;
    }
    return 0;
}

/* The name of version index `ndx` from DT_VERDEF. */
static const char *version_name(unsigned ndx)
{
    const Elf64_Verdef *d = v.verdef;
    for (;;) {
        if (d->vd_ndx == ndx) {
            const Elf64_Verdaux *a = (const Elf64_Verdaux *)((const char *)d + d->vd_aux);
            return v.strtab + a->vda_name;
        }
        if (!d->vd_next)
            return NULL;
        d = (const Elf64_Verdef *)((const char *)d + d->vd_next);
    }
}

static void walk_image(void)
{
    v.base = getauxval(AT_SYSINFO_EHDR);
    check(v.base && v.base % PAGE == 0, "vdso_auxv", "AT_SYSINFO_EHDR = %#lx", (unsigned long)v.base);
    if (!v.base)
        exit(1);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)v.base;
    int ok = !memcmp(eh->e_ident, ELFMAG, SELFMAG) && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
             eh->e_ident[EI_DATA] == ELFDATA2LSB && eh->e_type == ET_DYN && eh->e_machine == EM_RISCV &&
             eh->e_phentsize == sizeof(Elf64_Phdr);
    check(ok, "vdso_elf_header", "ident %02x %02x %02x %02x class %d type %d machine %d", eh->e_ident[0],
          eh->e_ident[1], eh->e_ident[2], eh->e_ident[3], eh->e_ident[EI_CLASS], eh->e_type, eh->e_machine);
    if (!ok)
        exit(1);
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(v.base + eh->e_phoff);
    const Elf64_Dyn *dyn = NULL;
    int loads = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && loads++ == 0) {
            v.bias = v.base - ph[i].p_vaddr + ph[i].p_offset;
            v.size = ph[i].p_memsz;
        }
    }
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_DYNAMIC)
            dyn = (const Elf64_Dyn *)(v.bias + ph[i].p_vaddr);
    const char *soname = NULL;
    long soname_off = -1, relocs = 0;
    for (const Elf64_Dyn *d = dyn; d && d->d_tag != DT_NULL; d++) {
        switch (d->d_tag) {
        case DT_SYMTAB: v.symtab = (const Elf64_Sym *)(v.bias + d->d_un.d_ptr); break;
        case DT_STRTAB: v.strtab = (const char *)(v.bias + d->d_un.d_ptr); break;
        case DT_HASH: v.hash = (const Elf32_Word *)(v.bias + d->d_un.d_ptr); break;
        case DT_GNU_HASH: v.gnu_hash = (const uint32_t *)(v.bias + d->d_un.d_ptr); break;
        case DT_VERSYM: v.versym = (const Elf64_Half *)(v.bias + d->d_un.d_ptr); break;
        case DT_VERDEF: v.verdef = (const Elf64_Verdef *)(v.bias + d->d_un.d_ptr); break;
        case DT_SONAME: soname_off = d->d_un.d_val; break;
        case DT_RELASZ: case DT_RELSZ: case DT_PLTRELSZ: relocs += d->d_un.d_val; break;
        case DT_TEXTREL: relocs++; break;
        }
    }
    if (v.strtab && soname_off >= 0)
        soname = v.strtab + soname_off;
    ok = loads == 1 && dyn && v.symtab && v.strtab && v.hash && v.gnu_hash && v.versym && v.verdef &&
         relocs == 0 && soname && !strcmp(soname, "linux-vdso.so.1");
    check(ok, "vdso_dynamic", "%d PT_LOAD, dynamic %p symtab %p strtab %p hash %p gnu_hash %p versym %p "
          "verdef %p, %ld relocation bytes, soname %s", loads, (void *)dyn, (void *)v.symtab,
          (void *)v.strtab, (void *)v.hash, (void *)v.gnu_hash, (void *)v.versym, (void *)v.verdef, relocs,
          soname ? soname : "(none)");
    if (!ok)
        exit(1);
}

static void resolve_symbols(void)
{
    for (int s = 0; s < NSYMS; s++) {
        char name[64];
        snprintf(name, sizeof name, "vdso_sym_%s", names[s] + 7);
        unsigned i = sysv_lookup(names[s]), j = gnu_lookup(names[s]);
        if (!i || i != j) {
            fail(name, "DT_HASH index %u, DT_GNU_HASH index %u", i, j);
            continue;
        }
        const Elf64_Sym *sym = &v.symtab[i];
        const char *ver = version_name(v.versym[i] & 0x7fff);
        uintptr_t addr = v.bias + sym->st_value;
        int ok = ELF64_ST_TYPE(sym->st_info) == STT_FUNC && ELF64_ST_BIND(sym->st_info) == STB_GLOBAL &&
                 sym->st_shndx != SHN_UNDEF && ver && !strcmp(ver, "LINUX_4.15") && !(v.versym[i] & 0x8000) &&
                 addr >= v.base && addr < v.base + v.size;
        check(ok, name, "type %d bind %d shndx %d version %s at %#lx (image %#lx+%#lx)", ELF64_ST_TYPE(sym->st_info),
              ELF64_ST_BIND(sym->st_info), sym->st_shndx, ver ? ver : "(none)", (unsigned long)addr,
              (unsigned long)v.base, (unsigned long)v.size);
        if (ok)
            v.sym[s] = (void *)addr;
    }
    for (int s = 0; s < NSYMS; s++)
        if (!v.sym[s])
            exit(1);
    static const unsigned char code[] = { 0x93, 0x08, 0xb0, 0x08, 0x73, 0x00, 0x00, 0x00 }; /* li a7, 139; ecall */
    check(!memcmp(v.sym[SIGRETURN], code, sizeof code), "vdso_sigreturn_code", "unexpected instructions");
    const volatile uint32_t *vvar = (const volatile uint32_t *)(v.base - PAGE);
    check(vvar[0] % 2 == 0 && vvar[1] == 1, "vvar_readable", "seq %u enabled %u", vvar[0], vvar[1]);
}

/* glibc (static too) keeps the vDSO functions it found in these (hidden, but linkable). */
extern void *_dl_vdso_clock_gettime64 __attribute__((weak));
extern void *_dl_vdso_gettimeofday __attribute__((weak));
extern void *_dl_vdso_clock_getres_time64 __attribute__((weak));
extern void *_dl_vdso_getcpu __attribute__((weak));

static void glibc_pointers(void)
{
    if (!&_dl_vdso_clock_gettime64 || !&_dl_vdso_gettimeofday || !&_dl_vdso_clock_getres_time64 || !&_dl_vdso_getcpu) {
        pass("glibc_uses_vdso"); /* another C library: nothing to compare */
        return;
    }
    check(_dl_vdso_clock_gettime64 == v.sym[GETTIME] && _dl_vdso_gettimeofday == v.sym[GTOD] &&
          _dl_vdso_clock_getres_time64 == v.sym[GETRES] && _dl_vdso_getcpu == v.sym[GETCPU],
          "glibc_uses_vdso", "glibc has %p %p %p %p, the vDSO %p %p %p %p", _dl_vdso_clock_gettime64,
          _dl_vdso_gettimeofday, _dl_vdso_clock_getres_time64, _dl_vdso_getcpu, v.sym[GETTIME], v.sym[GTOD],
          v.sym[GETRES], v.sym[GETCPU]);
}

static const struct { clockid_t id; const char *name; } served[] = {
    { CLOCK_REALTIME, "realtime" }, { CLOCK_MONOTONIC, "monotonic" }, { CLOCK_MONOTONIC_RAW, "monotonic_raw" },
    { CLOCK_REALTIME_COARSE, "realtime_coarse" }, { CLOCK_MONOTONIC_COARSE, "monotonic_coarse" },
    { CLOCK_BOOTTIME, "boottime" },
};

static void clocks(void)
{
    gettime_fn gt = (gettime_fn)v.sym[GETTIME];
    for (unsigned c = 0; c < sizeof served / sizeof served[0]; c++) {
        char name[64];
        snprintf(name, sizeof name, "vdso_clock_%s", served[c].name);
        struct timespec a, b, d;
        long r1 = syscall(SYS_clock_gettime, served[c].id, &a);
        int r2 = gt(served[c].id, &b);
        long r3 = syscall(SYS_clock_gettime, served[c].id, &d);
        check(r1 == 0 && r2 == 0 && r3 == 0 && b.tv_nsec >= 0 && b.tv_nsec < 1000000000 && ns(&a) <= ns(&b) &&
              ns(&b) <= ns(&d), name, "ret %ld/%d/%ld: syscall %lld.%09ld, vDSO %lld.%09ld, syscall %lld.%09ld",
              r1, r2, r3, (long long)a.tv_sec, a.tv_nsec, (long long)b.tv_sec, b.tv_nsec, (long long)d.tv_sec,
              d.tv_nsec);
    }
    struct timespec prev, cur;
    int bad = -1;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &prev);
    for (int i = 0; i < 10000 && bad < 0; i++) {
        if (i & 1)
            gt(CLOCK_MONOTONIC, &cur);
        else
            clock_gettime(CLOCK_MONOTONIC, &cur);
        if (ns(&cur) < ns(&prev))
            bad = i;
        prev = cur;
    }
    check(bad < 0, "vdso_nondecreasing", "read %d went back", bad);

    static const clockid_t others[] = { CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, CLOCK_TAI };
    int ok = 1;
    for (unsigned c = 0; c < sizeof others / sizeof others[0]; c++) {
        struct timespec a = { -1, -1 };
        int r = gt(others[c], &a);
        if (r != 0 || a.tv_sec < 0 || a.tv_nsec < 0 || a.tv_nsec >= 1000000000) {
            fail("vdso_other_clocks", "clock %d: ret %d, %lld.%09ld", others[c], r, (long long)a.tv_sec, a.tv_nsec);
            ok = 0;
        }
    }
    if (ok)
        pass("vdso_other_clocks");
}

static void gettimeofday_checks(void)
{
    gtod_fn gtod = (gtod_fn)v.sym[GTOD];
    struct timespec a, d;
    struct timeval tv;
    struct timezone tz = { 77, 77 };
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &a);
    int r = gtod(&tv, &tz);
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &d);
    int64_t us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
    check(r == 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000 && ns(&a) / 1000 <= us && us <= ns(&d) / 1000 &&
          tz.tz_minuteswest == 0 && tz.tz_dsttime == 0 && gtod(NULL, NULL) == 0 && gtod(&tv, NULL) == 0 &&
          gtod(NULL, &tz) == 0, "vdso_gettimeofday",
          "ret %d: %lld us vs syscall %lld..%lld ns, tz %d %d", r, (long long)us, (long long)ns(&a),
          (long long)ns(&d), tz.tz_minuteswest, tz.tz_dsttime);
}

static void getres_checks(void)
{
    gettime_fn gr = (gettime_fn)v.sym[GETRES];
    static const clockid_t ids[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 31, 32, 12345, -1, -6 };
    int ok = 1;
    for (unsigned i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        struct timespec a = { -1, -1 }, b = { -1, -1 };
        errno = 0;
        long r1 = syscall(SYS_clock_getres, ids[i], &a);
        long want = r1 == 0 ? 0 : -errno;
        int r2 = gr(ids[i], &b);
        errno = 0;
        long r3 = syscall(SYS_clock_getres, ids[i], NULL);
        long want_null = r3 == 0 ? 0 : -errno;
        int r4 = gr(ids[i], NULL);
        if (r2 != want || r4 != want_null || a.tv_sec != b.tv_sec || a.tv_nsec != b.tv_nsec) {
            fail("vdso_getres", "clock %d: syscall %ld %lld.%09ld (NULL: %ld), vDSO %d %lld.%09ld (NULL: %d)", ids[i],
                 want, (long long)a.tv_sec, a.tv_nsec, want_null, r2, (long long)b.tv_sec, b.tv_nsec, r4);
            ok = 0;
        }
    }
    if (ok)
        pass("vdso_getres");
}

static void error_checks(void)
{
    gettime_fn gt = (gettime_fn)v.sym[GETTIME];
    gtod_fn gtod = (gtod_fn)v.sym[GTOD];
    static const clockid_t bad_ids[] = { 8, 9, 10, 12, 16, 31, 32, 12345, -1, 0x7fffffff };
    int ok = 1;
    for (unsigned i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        struct timespec a;
        errno = 0;
        long r1 = syscall(SYS_clock_gettime, bad_ids[i], &a);
        long want = r1 == 0 ? 0 : -errno;
        int r2 = gt(bad_ids[i], &a);
        if (r2 != want || (bad_ids[i] != -1 && want != -EINVAL)) {
            fail("vdso_invalid_clock", "clock %d: syscall %ld, vDSO %d", bad_ids[i], want, r2);
            ok = 0;
        }
    }
    if (ok)
        pass("vdso_invalid_clock");

    /* Pointers the vDSO cannot use: the system call answers (EFAULT), misaligned ones work. */
    static char buf[64] __attribute__((aligned(16)));
    void *const ptrs[] = { NULL, (void *)8, (void *)(PAGE - 8), (void *)0xffffffc080200000UL,
                           (void *)(1UL << 38), (void *)-16L, buf + 1, buf + 4 };
    ok = 1;
    for (unsigned i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++) {
        errno = 0;
        long r1 = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, ptrs[i]);
        long w1 = r1 == 0 ? 0 : -errno;
        int r2 = gt(CLOCK_MONOTONIC, ptrs[i]);
        errno = 0;
        r1 = syscall(SYS_gettimeofday, ptrs[i], NULL);
        long w3 = r1 == 0 ? 0 : -errno;
        int r3 = gtod(ptrs[i], NULL);
        errno = 0;
        r1 = syscall(SYS_gettimeofday, NULL, ptrs[i]);
        long w4 = r1 == 0 ? 0 : -errno;
        int r4 = gtod(NULL, ptrs[i]);
        int bad = (uintptr_t)ptrs[i] < PAGE || (uintptr_t)ptrs[i] >= (1UL << 38);
        if (r2 != w1 || r3 != w3 || r4 != w4 || (bad && (w1 != -EFAULT || (ptrs[i] && w3 != -EFAULT)))) {
            fail("vdso_bad_pointers", "%p: clock_gettime syscall %ld vDSO %d, gettimeofday(tv) %ld/%d, "
                 "gettimeofday(tz) %ld/%d", ptrs[i], w1, r2, w3, r3, w4, r4);
            ok = 0;
        }
    }
    if (ok)
        pass("vdso_bad_pointers");
}

static void getcpu_check(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        fail("vdso_getcpu", "sched_setaffinity: errno %d", errno);
        return;
    }
    unsigned cpu = 99, node = 99;
    int r = ((getcpu_fn)v.sym[GETCPU])(&cpu, &node, NULL);
    check(r == 0 && cpu == 0 && node == 0 && sched_getcpu() == 0, "vdso_getcpu", "ret %d cpu %u node %u", r, cpu, node);
    CPU_ZERO(&set);
    for (int i = 0; i < CPU_SETSIZE; i++)
        CPU_SET(i, &set);
    sched_setaffinity(0, sizeof set, &set);
}

/* Run `fn` in a child; returns its wait status. */
static int in_child(void (*fn)(void))
{
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return st;
}

static void write_vvar(void) { *(volatile uint32_t *)(v.base - PAGE) = 1; }
static void write_text(void) { *(volatile uint8_t *)v.sym[GETTIME] = 0; }

/* A child that made the image writable and wrote it; then the parent's copy must be intact. */
static void cow_child(void)
{
    if (mprotect((void *)v.base, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
        _exit(10);
    volatile uint8_t *p = (volatile uint8_t *)v.base + 1;
    *p = 'X';
    if (*p != 'X')
        _exit(11);
    struct timespec t;
    /* The child's private copy still runs. */
    if (((gettime_fn)v.sym[GETTIME])(CLOCK_MONOTONIC, &t) != 0)
        _exit(12);
    _exit(0);
}

static void munmap_child(void)
{
    if (munmap((void *)(v.base - PAGE), 2 * PAGE) != 0)
        _exit(10);
    _exit(0);
}

static void call_child(void)
{
    struct timespec a, b;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &a);
    if (((gettime_fn)v.sym[GETTIME])(CLOCK_MONOTONIC, &b) != 0 || ns(&b) < ns(&a))
        _exit(10);
    _exit(0);
}

static void isolation(void)
{
    uint8_t before[64];
    memcpy(before, (void *)v.base, sizeof before);
    int st = in_child(write_vvar);
    check(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "vvar_write_segv", "child status %#x", st);
    st = in_child(write_text);
    check(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "vdso_write_segv", "child status %#x", st);
    st = in_child(cow_child);
    struct timespec t;
    int r = ((gettime_fn)v.sym[GETTIME])(CLOCK_MONOTONIC, &t);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0 && !memcmp(before, (void *)v.base, sizeof before) && r == 0,
          "vdso_cow_private", "child status %#x, parent's image %s, call %d", st,
          memcmp(before, (void *)v.base, sizeof before) ? "changed" : "intact", r);
    st = in_child(munmap_child);
    const volatile uint32_t *vvar = (const volatile uint32_t *)(v.base - PAGE);
    r = ((gettime_fn)v.sym[GETTIME])(CLOCK_MONOTONIC, &t);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0 && r == 0 && vvar[1] == 1, "vdso_munmap_child",
          "child status %#x, call %d, enabled %u", st, r, vvar[1]);
    st = in_child(call_child);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "vdso_after_fork", "child status %#x", st);
    char base[32];
    snprintf(base, sizeof base, "%lu", (unsigned long)v.base);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/vdso", "vdso", "exec-child", base, (char *)NULL);
        _exit(127);
    }
    st = -1;
    waitpid(pid, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "vdso_after_exec", "exec'd child status %#x", st);
}

/* The exec'd program: its own AT_SYSINFO_EHDR, at the same place, and a working clock. */
static int exec_child(uintptr_t parent_base)
{
    uintptr_t base = getauxval(AT_SYSINFO_EHDR); /* (a fixed address in Velox) */
    struct timespec a, b;
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &a);
    clock_gettime(CLOCK_REALTIME, &b);
    return base && base == parent_base && ns(&b) >= ns(&a) ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "exec-child"))
        return exec_child(strtoul(argv[2], NULL, 10));
    t_init();
    walk_image();
    resolve_symbols();
    glibc_pointers();
    clocks();
    gettimeofday_checks();
    getres_checks();
    error_checks();
    getcpu_check();
    isolation();
    return t_exit();
}
