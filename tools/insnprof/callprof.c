/* callprof: a QEMU TCG plugin that counts the guest instructions spent inside each kernel call
 * (inclusive: the callee and everything it calls), per call edge.
 *
 * It keeps a shadow stack of calls in kernel code (addresses at or above 0xffffffc000000000):
 * a block that ends in a call (jal/jalr/c.jalr writing ra) pushes a frame when the next block
 * runs (the callee's entry, the return address, the instruction total at entry); a block that
 * ends in a return (jalr x0, 0(ra) or c.jr ra) pops frames down to the one whose return address
 * is where execution went, adding the instructions since its entry to the edge (callee entry,
 * return address). Tail calls count in their caller; frames left by a switch of stacks are
 * popped by the next return that matches an older frame. User and firmware blocks count in the
 * kernel frames that are open (a syscall's time includes nothing of the user's, since user code
 * runs only after the trap returns). One vCPU only (-smp 1).
 *
 * At exit it writes "callee_entry ret_addr calls inclusive" lines to `out=`;
 * tools/insnprof/callgraph.py folds them per function and per caller. Build:
 *   gcc -shared -fPIC -O2 -o build/callprof.so tools/insnprof/callprof.c */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct qemu_info_t qemu_info_t;
typedef void (*tb_trans_cb)(qemu_plugin_id_t, struct qemu_plugin_tb *);
typedef void (*udata_cb)(qemu_plugin_id_t, void *);
typedef void (*vcpu_udata_cb)(unsigned int, void *);
extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, tb_trans_cb);
extern void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *, vcpu_udata_cb, int, void *);
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
extern struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *, size_t);
extern uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *);
extern const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *);
extern size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, udata_cb, void *);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define KBASE 0xffffffc000000000ull
enum { END_OTHER, END_CALL, END_RET };

struct block {
    uint64_t pc;
    uint64_t ret; /* for END_CALL: the address after the call */
    uint32_t n;
    uint32_t end;
};

struct frame { uint64_t callee, ret, start; };
#define DEPTH 256
static struct frame stack[DEPTH];
static int sp;
static uint64_t total;
static int pending; /* END_CALL or END_RET of the previous kernel block */
static uint64_t pending_ret;

struct edge { uint64_t callee, ret, calls, incl; };
#define HBITS 20
static struct edge table[1u << HBITS];
static char *out_path;

static void add_edge(uint64_t callee, uint64_t ret, uint64_t incl)
{
    uint64_t h = (callee * 0x9e3779b97f4a7c15ull) ^ (ret * 0xc2b2ae3d27d4eb4full);
    for (uint32_t i = (uint32_t)(h >> (64 - HBITS));; i = (i + 1) & ((1u << HBITS) - 1)) {
        struct edge *e = &table[i];
        if (e->callee == callee && e->ret == ret) {
            e->calls++;
            e->incl += incl;
            return;
        }
        if (!e->callee) {
            e->callee = callee;
            e->ret = ret;
            e->calls = 1;
            e->incl = incl;
            return;
        }
    }
}

static void on_exec(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    struct block *b = udata;
    if (b->pc >= KBASE) {
        if (pending == END_CALL) {
            if (sp == DEPTH) { /* drop the oldest frame */
                memmove(stack, stack + 1, (DEPTH - 1) * sizeof stack[0]);
                sp--;
            }
            stack[sp++] = (struct frame){ b->pc, pending_ret, total };
        } else if (pending == END_RET) {
            int i = sp - 1;
            while (i >= 0 && stack[i].ret != b->pc)
                i--;
            if (i >= 0) {
                for (int j = sp - 1; j >= i; j--)
                    add_edge(stack[j].callee, stack[j].ret, total - stack[j].start);
                sp = i;
            }
        }
        pending = b->end;
        pending_ret = b->ret;
    }
    total += b->n;
}

static int is_call_or_ret(const uint8_t *d, size_t len)
{
    if (len == 4) {
        uint32_t w = d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24;
        uint32_t op = w & 0x7f, rd = (w >> 7) & 31, rs1 = (w >> 15) & 31;
        if ((op == 0x6f || op == 0x67) && rd == 1)
            return END_CALL; /* jal ra / jalr ra */
        if (op == 0x67 && rd == 0 && rs1 == 1 && (w >> 20) == 0)
            return END_RET; /* jalr x0, 0(ra) */
        return END_OTHER;
    }
    if (len == 2) {
        uint16_t h = d[0] | d[1] << 8;
        /* c.jr / c.jalr: funct4 100x, rs2 = 0, quadrant 2 */
        if ((h & 3) == 2 && (h >> 13) == 4 && ((h >> 2) & 31) == 0) {
            uint32_t rs1 = (h >> 7) & 31;
            if ((h >> 12) & 1)
                return END_CALL; /* c.jalr rs1 writes ra */
            if (rs1 == 1)
                return END_RET;
        }
    }
    return END_OTHER;
}

static void on_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    struct block *b = calloc(1, sizeof *b);
    if (!b || !n)
        abort();
    struct qemu_plugin_insn *first = qemu_plugin_tb_get_insn(tb, 0);
    struct qemu_plugin_insn *last = qemu_plugin_tb_get_insn(tb, n - 1);
    b->pc = qemu_plugin_insn_vaddr(first);
    b->n = (uint32_t)n;
    size_t len = qemu_plugin_insn_size(last);
    b->end = is_call_or_ret(qemu_plugin_insn_data(last), len);
    b->ret = qemu_plugin_insn_vaddr(last) + len;
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, 0, b);
}

static void on_exit_cb(qemu_plugin_id_t id, void *p)
{
    (void)id; (void)p;
    FILE *f = fopen(out_path, "w");
    if (!f)
        return;
    fprintf(f, "total %lu\n", (unsigned long)total);
    for (size_t i = 0; i < (1u << HBITS); i++)
        if (table[i].callee)
            fprintf(f, "%lx %lx %lu %lu\n", (unsigned long)table[i].callee, (unsigned long)table[i].ret,
                    (unsigned long)table[i].calls, (unsigned long)table[i].incl);
    fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                               int argc, char **argv)
{
    (void)info;
    out_path = "callprof.out";
    for (int i = 0; i < argc; i++)
        if (!strncmp(argv[i], "out=", 4))
            out_path = strdup(argv[i] + 4);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
    qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
    return 0;
}
