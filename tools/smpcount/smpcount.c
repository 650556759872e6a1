/* smpcount: a QEMU 7.2 TCG plugin counting the instructions each vCPU retires (kernel/firmware/user, named address ranges), race-free under multi-threaded TCG.
 * Build: gcc -shared -fPIC -O2 -o build/smpcount.so tools/smpcount/smpcount.c. Arguments: out=FILE (totals written at exit),
 * ranges=FILE (lines "NAME START END", hex, END exclusive, ranges not overlapping; several may share a NAME; up to 4,096 names:
 * one per kernel function works, see tools/smpcount/fnprof.sh), mark=ADDR (hex; every execution of the instruction at ADDR snapshots
 * all vCPUs' counters, printed as "smpcount mark=K ..."). A block cut short by a trap still counts whole (as in insnprof). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct qemu_info_t qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*tb_trans_cb)(qemu_plugin_id_t, struct qemu_plugin_tb *);
typedef void (*udata_cb)(qemu_plugin_id_t, void *);
typedef void (*vcpu_udata_cb)(unsigned int vcpu_index, void *userdata);
typedef void (*vcpu_simple_cb)(qemu_plugin_id_t, unsigned int vcpu_index);
extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, tb_trans_cb);
extern void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *, vcpu_udata_cb,
                                                 enum qemu_plugin_cb_flags, void *);
extern void qemu_plugin_register_vcpu_idle_cb(qemu_plugin_id_t, vcpu_simple_cb);
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
extern struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *, size_t);
extern uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *);
extern void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *, vcpu_udata_cb,
                                                   enum qemu_plugin_cb_flags, void *);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, udata_cb, void *);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define MAX_VCPUS 64
#define MAX_NAMES 4096
#define KERNEL_BASE 0xffffffc000000000ULL /* Velox's kernel half (Sv39) */
/* OpenSBI (M mode, no translation) on QEMU virt: 0x80000000 up to the kernel's load address. */
#define FW_START 0x80000000ULL
#define FW_END 0x80200000ULL

/* One vCPU's counters: written only by that vCPU's thread, on cache lines of its own. */
struct vcpu {
    uint64_t user, kernel, fw, sleeps;
    uint64_t named[MAX_NAMES];
} __attribute__((aligned(64)));

static struct vcpu vcpus[MAX_VCPUS];
static uint64_t dropped; /* callbacks from a vCPU index >= MAX_VCPUS (should stay 0) */

struct range { uint64_t start, end; int name; };
static struct range *ranges;
static int nranges;
static char *names[MAX_NAMES];
static int nnames;

/* A block's counts, fixed at translation: user and kernel instructions, then (name, count). */
struct tbinfo {
    uint32_t user, kernel, fw;
    uint32_t n;
    struct { uint32_t name, count; } r[];
};

static void on_exec(unsigned int vcpu, void *udata)
{
    const struct tbinfo *t = udata;
    if (vcpu >= MAX_VCPUS) {
        __atomic_fetch_add(&dropped, 1, __ATOMIC_RELAXED);
        return;
    }
    /* Relaxed atomic stores (plain moves on the host): only this vCPU's thread writes them,
     * but a mark taken on another vCPU reads them. */
    struct vcpu *c = &vcpus[vcpu];
    __atomic_store_n(&c->user, c->user + t->user, __ATOMIC_RELAXED);
    __atomic_store_n(&c->kernel, c->kernel + t->kernel, __ATOMIC_RELAXED);
    __atomic_store_n(&c->fw, c->fw + t->fw, __ATOMIC_RELAXED);
    for (uint32_t i = 0; i < t->n; i++)
        __atomic_store_n(&c->named[t->r[i].name], c->named[t->r[i].name] + t->r[i].count, __ATOMIC_RELAXED);
}

/* Marks: snapshots of every vCPU's counters (each read may be one block stale). */
#define MAX_MARKS 8
static uint64_t mark_addr;
static int have_mark;
static struct vcpu marks[MAX_MARKS][MAX_VCPUS];
static int nmarks;

static void snap(struct vcpu *d, const struct vcpu *c)
{
    d->user = __atomic_load_n(&c->user, __ATOMIC_RELAXED);
    d->kernel = __atomic_load_n(&c->kernel, __ATOMIC_RELAXED);
    d->fw = __atomic_load_n(&c->fw, __ATOMIC_RELAXED);
    d->sleeps = __atomic_load_n(&c->sleeps, __ATOMIC_RELAXED);
    for (int i = 0; i < MAX_NAMES; i++)
        d->named[i] = __atomic_load_n(&c->named[i], __ATOMIC_RELAXED);
}

static void on_mark(unsigned int vcpu, void *udata)
{
    (void)vcpu; (void)udata;
    int k = __atomic_fetch_add(&nmarks, 1, __ATOMIC_RELAXED);
    if (k >= MAX_MARKS)
        return;
    for (int v = 0; v < MAX_VCPUS; v++)
        snap(&marks[k][v], &vcpus[v]);
}

static void on_idle(qemu_plugin_id_t id, unsigned int vcpu)
{
    (void)id;
    if (vcpu < MAX_VCPUS)
        __atomic_store_n(&vcpus[vcpu].sleeps, vcpus[vcpu].sleeps + 1, __ATOMIC_RELAXED);
}

/* The range holding pc (binary search: `ranges` is sorted by start at load), or -1. */
static int range_of(uint64_t pc)
{
    int lo = 0, hi = nranges;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (pc < ranges[mid].start)
            hi = mid;
        else if (pc >= ranges[mid].end)
            lo = mid + 1;
        else
            return ranges[mid].name;
    }
    return -1;
}

static int by_start(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static void on_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    uint32_t per[MAX_NAMES] = {0}, user = 0, kernel = 0, fw = 0, used = 0;
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        if (have_mark && pc == mark_addr)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
        if (pc >= KERNEL_BASE)
            kernel++;
        else if (pc >= FW_START && pc < FW_END)
            fw++;
        else
            user++;
        int r = range_of(pc);
        if (r >= 0 && per[r]++ == 0)
            used++;
    }
    /* Never freed: QEMU may run a translated block until it flushes its code cache, and the
     * blocks are few (tens of thousands) against the run. */
    struct tbinfo *t = malloc(sizeof *t + used * sizeof t->r[0]);
    if (!t)
        abort();
    t->user = user;
    t->kernel = kernel;
    t->fw = fw;
    t->n = 0;
    for (int i = 0; i < nnames; i++)
        if (per[i]) {
            t->r[t->n].name = i;
            t->r[t->n].count = per[i];
            t->n++;
        }
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, QEMU_PLUGIN_CB_NO_REGS, t);
}

static char *out_path = "smpcount.out";

static void print_line(FILE *f, const char *pre, const char *who, const struct vcpu *c)
{
    fprintf(f, "smpcount %svcpu=%s insns=%llu kernel=%llu firmware=%llu user=%llu sleeps=%llu", pre, who,
            (unsigned long long)(c->kernel + c->fw + c->user), (unsigned long long)c->kernel,
            (unsigned long long)c->fw, (unsigned long long)c->user, (unsigned long long)c->sleeps);
    for (int i = 0; i < nnames; i++)
        fprintf(f, " %s=%llu", names[i], (unsigned long long)c->named[i]);
    fputc('\n', f);
}

static void on_exit_cb(qemu_plugin_id_t id, void *p)
{
    (void)id; (void)p;
    FILE *f = fopen(out_path, "w");
    if (!f)
        return;
    int nm = nmarks < MAX_MARKS ? nmarks : MAX_MARKS;
    for (int k = 0; k <= nm; k++) {
        const struct vcpu *set = k < nm ? marks[k] : vcpus;
        char pre[32] = "";
        if (k < nm)
            snprintf(pre, sizeof pre, "mark=%d ", k + 1);
        struct vcpu all = {0};
        for (int v = 0; v < MAX_VCPUS; v++) {
            const struct vcpu *c = &set[v];
            if (!c->user && !c->kernel && !c->fw && !c->sleeps)
                continue;
            char who[16];
            snprintf(who, sizeof who, "%d", v);
            print_line(f, pre, who, c);
            all.user += c->user;
            all.kernel += c->kernel;
            all.fw += c->fw;
            all.sleeps += c->sleeps;
            for (int i = 0; i < nnames; i++)
                all.named[i] += c->named[i];
        }
        print_line(f, pre, "all", &all);
    }
    if (nmarks > MAX_MARKS)
        fprintf(f, "smpcount marks=%d (only the first %d kept)\n", nmarks, MAX_MARKS);
    if (dropped)
        fprintf(f, "smpcount dropped=%llu (vCPU index >= %d)\n", (unsigned long long)dropped, MAX_VCPUS);
    fclose(f);
}

static int name_index(const char *s)
{
    for (int i = 0; i < nnames; i++)
        if (!strcmp(names[i], s))
            return i;
    if (nnames == MAX_NAMES)
        return -1;
    names[nnames] = strdup(s);
    return nnames++;
}

static int load_ranges(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "smpcount: cannot open %s\n", path);
        return -1;
    }
    char name[128];
    unsigned long long a, b;
    while (fscanf(f, "%127s %llx %llx", name, &a, &b) == 3) {
        int k = name_index(name);
        if (k < 0) {
            fprintf(stderr, "smpcount: more than %d range names\n", MAX_NAMES);
            fclose(f);
            return -1;
        }
        struct range *nr = realloc(ranges, (nranges + 1) * sizeof *ranges);
        if (!nr)
            abort();
        ranges = nr;
        ranges[nranges++] = (struct range){a, b, k};
    }
    fclose(f);
    qsort(ranges, nranges, sizeof *ranges, by_start);
    return 0;
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                               int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "out=", 4))
            out_path = strdup(argv[i] + 4);
        else if (!strncmp(argv[i], "mark=", 5)) {
            mark_addr = strtoull(argv[i] + 5, NULL, 16);
            have_mark = 1;
        } else if (!strncmp(argv[i], "ranges=", 7)) {
            if (load_ranges(argv[i] + 7))
                return -1;
        } else {
            fprintf(stderr, "smpcount: unknown argument %s\n", argv[i]);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
    qemu_plugin_register_vcpu_idle_cb(id, on_idle);
    qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
    return 0;
}
