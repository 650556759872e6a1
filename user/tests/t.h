/* Shared helpers for the Velox user-space tests.
 * Every check prints exactly one line: "PASS <name>" or "FAIL <name>: <why>".
 * stdout is made unbuffered so that lines are out even if the process is killed. */
#ifndef VELOX_T_H
#define VELOX_T_H
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static __attribute__((unused)) int t_failed;

static __attribute__((unused)) void t_init(void) { setvbuf(stdout, NULL, _IONBF, 0); }

static __attribute__((unused)) void pass(const char *name) { printf("PASS %s\n", name); }

__attribute__((format(printf, 2, 3)))
static __attribute__((unused)) void fail(const char *name, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    printf("FAIL %s: %s\n", name, buf);
    t_failed = 1;
}

/* check(cond, name, fmt...): PASS when cond, else FAIL with the message. */
#define check(cond, name, ...) \
    do { if (cond) pass(name); else fail(name, __VA_ARGS__); } while (0)

/* A call that must fail with -1 and errno == want.  Call as
 * expect_err(name, (errno = 0, call), errno, EWANT). */
static __attribute__((unused)) void expect_err(const char *name, long ret, int err, int want)
{
    if (ret == -1 && err == want)
        pass(name);
    else
        fail(name, "got ret=%ld errno=%d (%s), want -1/%s", ret, err,
             strerror(err), strerrorname_np(want));
}

#define EXPECT_ERR(name, call, want) \
    do { errno = 0; long r_ = (long)(call); int e_ = errno; expect_err(name, r_, e_, want); } while (0)

/* MemFree from /proc/meminfo in KiB, or -1. */
static __attribute__((unused)) long memfree_kb(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemFree: %ld", &v) == 1)
            break;
    fclose(f);
    return v;
}

static __attribute__((unused)) int t_exit(void) { return t_failed ? 1 : 0; }

#endif
