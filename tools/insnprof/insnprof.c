/* insnprof: a QEMU TCG plugin that counts the guest instructions executed at every address.
 *
 * Each translated block gets a counter bumped by an inline add each time it runs; at exit the
 * plugin writes, for every block that ran, its instructions' addresses and the block's count
 * to the file named by `out=` (scripts/profile.py folds them per symbol). Under -icount
 * shift=0 (the benchmarks' deterministic mode) the counts are exact instructions, so a profile
 * tells where a benchmark's nanoseconds go. Written against QEMU 7.2's plugin API (version 1);
 * the few declarations it needs are below, so no QEMU headers are required to build it:
 *   gcc -shared -fPIC -O2 -o build/insnprof.so tools/insnprof/insnprof.c
 * A block left early (a trap in its middle) still counts all its instructions: the error is
 * one block per trap. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct qemu_info_t qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*tb_trans_cb)(qemu_plugin_id_t, struct qemu_plugin_tb *);
typedef void (*udata_cb)(qemu_plugin_id_t, void *);
extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, tb_trans_cb);
extern void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *, enum qemu_plugin_op,
                                                     void *, uint64_t);
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
extern struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *, size_t);
extern uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, udata_cb, void *);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

struct block {
    struct block *next;
    uint64_t count;
    size_t n;
    uint64_t addr[];
};

static struct block *blocks;
static char *out_path;

static void on_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    struct block *b = calloc(1, sizeof *b + n * sizeof(uint64_t));
    if (!b)
        abort();
    b->n = n;
    for (size_t i = 0; i < n; i++)
        b->addr[i] = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, i));
    /* Translation runs under QEMU's TB lock: a plain list push is safe. */
    b->next = blocks;
    blocks = b;
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->count, 1);
}

static void on_exit_cb(qemu_plugin_id_t id, void *p)
{
    (void)id; (void)p;
    FILE *f = fopen(out_path, "w");
    if (!f)
        return;
    for (struct block *b = blocks; b; b = b->next) {
        if (!b->count)
            continue;
        fprintf(f, "%lu", (unsigned long)b->count);
        for (size_t i = 0; i < b->n; i++)
            fprintf(f, " %lx", (unsigned long)b->addr[i]);
        fputc('\n', f);
    }
    fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                               int argc, char **argv)
{
    (void)info;
    out_path = "insnprof.out";
    for (int i = 0; i < argc; i++)
        if (!strncmp(argv[i], "out=", 4))
            out_path = strdup(argv[i] + 4);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
    qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
    return 0;
}
