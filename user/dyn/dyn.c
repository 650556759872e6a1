/* Dynamic linking (issue 20): a glibc program with PT_INTERP, started by execve (the kernel
 * maps ld.so) or as `ld.so /bin/dyn direct` (ld.so maps the program itself).
 *   dyn [direct]   checks the auxiliary vector, dlopen/dlsym, TLS in a loaded library, an
 *                  interpreter that does not exist (ENOENT) and a non-ELF one (ELIBBAD). */
#include "../tests/t.h"
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char _start[];
static __thread int tls_counter = 41;

/* Copy /bin/dyn to `dst` with its PT_INTERP path's byte `from_end` places before its end
 * (1: the NUL, 2: the last character) replaced by `c`. */
static int copy_interp_at(const char *dst, char c, int from_end)
{
    int in = open("/proc/self/exe", O_RDONLY);
    if (in < 0)
        return -1;
    static char buf[1 << 20];
    ssize_t n = read(in, buf, sizeof buf);
    close(in);
    if (n <= 0)
        return -1;
    Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
    for (int i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr *ph = (Elf64_Phdr *)(buf + eh->e_phoff + i * eh->e_phentsize);
        if (ph->p_type == PT_INTERP)
            buf[ph->p_offset + ph->p_filesz - from_end] = c;
    }
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (out < 0 || write(out, buf, n) != n)
        return -1;
    return close(out);
}

static int copy_with_interp(const char *dst, char c) { return copy_interp_at(dst, c, 2); }

/* execve `path`; the errno it failed with (0 if it ran: the child exits 0 then). */
static int exec_errno(const char *path)
{
    int p[2];
    if (pipe(p))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {(char *)path, NULL};
        execv(path, argv);
        int e = errno;
        write(p[1], &e, sizeof e);
        _exit(127);
    }
    close(p[1]);
    int e = 0;
    if (read(p[0], &e, sizeof e) != sizeof e)
        e = 0;
    close(p[0]);
    waitpid(pid, NULL, 0);
    return e;
}

int main(int argc, char **argv)
{
    t_init();
    int direct = argc > 1 && !strcmp(argv[1], "direct");
    unsigned long base = getauxval(AT_BASE), entry = getauxval(AT_ENTRY);
    if (direct) {
        /* ld.so was the program: the kernel passed no base (and ld.so's own entry, which
         * ld.so replaced with the program's when it loaded it). */
        check(base == 0, "dyn direct AT_BASE 0", "AT_BASE=%#lx", base);
        check(entry == (unsigned long)_start, "dyn direct AT_ENTRY", "AT_ENTRY=%#lx _start=%p", entry, _start);
    } else {
        check(base != 0, "dyn AT_BASE set", "AT_BASE=0");
        check(entry == (unsigned long)_start, "dyn AT_ENTRY", "AT_ENTRY=%#lx _start=%p", entry, _start);
        /* AT_PHDR is this program's headers (in its first page). */
        const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
        check(ph && getauxval(AT_PHNUM) > 2 && getauxval(AT_PHENT) == sizeof(Elf64_Phdr) && ph[0].p_type == PT_PHDR,
              "dyn AT_PHDR", "phdr=%p phnum=%lu", (void *)ph, getauxval(AT_PHNUM));
        /* ld.so is mapped where AT_BASE says: its ELF header is there. */
        check(!memcmp((void *)base, ELFMAG, SELFMAG), "dyn ld.so at AT_BASE", "no ELF header at %#lx", base);
    }
    check(getauxval(AT_SYSINFO_EHDR) != 0, "dyn vDSO", "no AT_SYSINFO_EHDR");
    check(getauxval(AT_RANDOM) != 0 && getauxval(AT_EXECFN) != 0, "dyn AT_RANDOM AT_EXECFN", "missing");
    check(getauxval(AT_SECURE) == 0, "dyn AT_SECURE", "AT_SECURE=%lu", getauxval(AT_SECURE));

    void *m = dlopen("libm.so.6", RTLD_NOW);
    double (*cosf_)(double) = m ? (double (*)(double))dlsym(m, "cos") : NULL;
    check(cosf_ && cosf_(0.0) == 1.0, "dyn dlopen libm cos", "%s", m ? "no cos" : dlerror());
    Dl_info info;
    check(cosf_ && dladdr((void *)cosf_, &info) && info.dli_fname && strstr(info.dli_fname, "libm.so.6"),
          "dyn dladdr", "dli_fname=%s", cosf_ ? info.dli_fname : "?");
    check(m && dlclose(m) == 0, "dyn dlclose", "%s", dlerror());
    check(!dlopen("libnonexistent.so.9", RTLD_LAZY) && dlerror(), "dyn dlopen missing", "loaded?");
    check(++tls_counter == 42, "dyn TLS", "tls_counter=%d", tls_counter);

    if (!direct) {
        /* An interpreter that is not there: execve fails with ENOENT (as Linux). */
        int e = copy_with_interp("/tmp/dyn-noint", 'X');
        check(e == 0, "dyn copy", "errno %d", errno);
        e = exec_errno("/tmp/dyn-noint");
        check(e == ENOENT, "dyn missing interpreter ENOENT", "errno=%d (%s)", e, strerror(e));
        /* An interpreter that is not an ELF file: ELIBBAD. */
        int f = open("/tmp/ld-bad.so.1", O_WRONLY | O_CREAT | O_TRUNC, 0755);
        static const char junk[128] = "#!/bin/sh\n"; /* (Linux reads 64 bytes: EIO if shorter) */
        write(f, junk, sizeof junk);
        close(f);
        symlink("/tmp/ld-bad.so.1", "/lib/ld-linux-riscv64-lp64d.so.Y");
        copy_with_interp("/tmp/dyn-badint", 'Y');
        e = exec_errno("/tmp/dyn-badint");
        check(e == ELIBBAD, "dyn non-ELF interpreter ELIBBAD", "errno=%d (%s)", e, strerror(e));
        /* A PT_INTERP path without its NUL: ENOEXEC (Linux checks the last byte). */
        copy_interp_at("/tmp/dyn-nonul", '1', 1);
        e = exec_errno("/tmp/dyn-nonul");
        check(e == ENOEXEC, "dyn interpreter path without NUL ENOEXEC", "errno=%d (%s)", e, strerror(e));
        unlink("/tmp/dyn-nonul");
        unlink("/lib/ld-linux-riscv64-lp64d.so.Y");
        unlink("/tmp/dyn-noint");
        unlink("/tmp/dyn-badint");
        unlink("/tmp/ld-bad.so.1");
    }
    return t_failed;
}
