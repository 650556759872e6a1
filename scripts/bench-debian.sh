#!/usr/bin/env bash
# Debian-root benchmarks (issue 20): real programs of the Debian root image (dynamically linked
# glibc programs, python3, bash, git, sqlite3) started and run to exit, on Linux (Debian's
# kernel, scripts/linux-debian.sh) and on Velox (scripts/run.sh -r), each kernel booted once on
# its own fresh copy of build/debian/rootfs.ext4 (scripts/debian-root.sh) on a virtio-blk disk,
# in the same QEMU with the same det-mode options (-icount shift=0,align=off,sleep=on: 1 ns = 1
# guest instruction while the guest runs). Writes build/bench-results/debian-*.log and
# docs/benchmarks-debian.md (the table: Linux, Velox, ratio per line; the commands).
#
#   scripts/bench-debian.sh            the whole bench (about 2.5 minutes: Velox ~40 s, Linux ~100 s)
#   scripts/bench-debian.sh --report   only rewrite docs/benchmarks-debian.md from the logs
#   scripts/bench-debian.sh --smoke    a smoke run for `make test`: Velox only, 4 lines, 1 timed
#                                      run each (no Linux kernel needed); ends with
#                                      `bench-debian: N ok, M failed` (exit 1 when M > 0)
#
# Each line is timed by user/bench/vtime.c (build/bench/vtime, static): it fork+execs the
# command once untimed (the warm-up: cold page cache, Python writing its __pycache__, ...),
# then N times, and prints `vtime label=L n=N mean_ns=X min_ns=.. max_ns=.. median_ns=..
# warmup_ns=..` from clock_gettime(CLOCK_MONOTONIC); the command's stdout goes to /dev/null.
# Before the timed lines, /bench/setup.sh makes the git repository (500 files in 10
# directories, git init + add + commit, then a pause and two `git status` so the index is not
# "racily clean", then `sync`) in /root/repo. The lines and their N are in LINES below. The files the guest
# needs (vtime, the two hello programs, setup.sh, the 10,000-row SQL script) go into the
# image with -e (at /bench). After each boot `e2fsck -fn` checks the image.
# Env: BENCH_TIMEOUT (QEMU seconds per boot, default 1200), BENCH_DEBIAN_N (multiplies every
# N; default 1).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
RES=$BUILD/bench-results; mkdir -p "$RES"
LNX=$BUILD/bench-linux
OUT=docs/benchmarks-debian.md
mode=full
case "${1:-}" in
    "") ;; --report) mode=report ;; --smoke) mode=smoke ;;
    *) echo "usage: scripts/bench-debian.sh [--report|--smoke]" >&2; exit 2 ;;
esac
TMO=${BENCH_TIMEOUT:-1200}
MUL=${BENCH_DEBIAN_N:-1}
pre=debian; [ $mode = smoke ] && pre=debian-smoke   # file names in build/bench-results
CMDS=$RES/$pre-commands.txt

# label|N|what (for the report)|command line (after `vtime -n N -l LABEL`)
LINES=(
"hello_static|500|static hello world (\`/bench/hello-static\`), start to exit|-- /bench/hello-static"
"hello_dynamic|300|dynamically linked hello world (\`/bench/hello-dyn\`: ld.so + libc.so.6 of the image), start to exit|-- /bench/hello-dyn"
"bash_true|200|\`bash -c true\`|-- bash -c true"
"python_pass|20|\`python3 -c pass\`|-- python3 -c pass"
"python_import|10|\`python3 -c \"import json, re, subprocess\"\`|-- python3 -c \"import json, re, subprocess\""
"bash_loop_1000|5|bash loop running an external command 1,000 times: \`bash -c 'for i in \$(seq 1000); do /bin/true; done'\`|-- bash -c 'for i in \$(seq 1000); do /bin/true; done'"
"git_status_500|50|\`git status\` in a repository of 500 committed files (/root/repo)|-C /root/repo -- git status"
"sqlite_insert_10k|10|\`sqlite3\` inserting 10,000 rows in one transaction into a new database file on the ext4 root (/root/bench.db; removed before each run, untimed)|-p 'rm -f /root/bench.db /root/bench.db-journal' -- sqlite3 /root/bench.db '.read /bench/insert-10k.sql'"
)
SMOKE_LABELS=" hello_static hello_dynamic bash_true python_pass "

run_bench() {
start=$(date +%s)
: > "$CMDS"
rec() { echo "${*//$ROOT\//}" >> "$CMDS"; }   # (paths relative to the repository)
# What it needs: the Linux kernel with its storage modules (not for --smoke), vtime and the
# hello programs, a Velox kernel, the Debian image.
if [ $mode = full ] && ! { [ -s "$LNX/Image" ] && [ -s "$LNX/modules/load-order" ]; }; then
    scripts/bench-build.sh >&2
fi
scripts/bench-build.sh --progs >&2
[ -f "$BUILD/velox-default.elf" ] || scripts/build-kernel.sh default >&2
img=$(scripts/debian-root.sh)
rec "scripts/debian-root.sh   # -> ${img#$ROOT/}"

# The guest's files: /bench
stage=$BUILD/bench-debian-root; rm -rf "$stage"; mkdir -p "$stage/bench"
cp build/bench/vtime build/bench/hello-static build/bench/hello-dyn "$stage/bench/"
cat > "$stage/bench/setup.sh" <<'EOF'
#!/bin/sh
# scripts/bench-debian.sh's set-up in the guest (untimed): a git repository of 500 files.
set -e
rm -rf /root/repo
mkdir -p /root/repo
cd /root/repo
git init -q
d=0
while [ $d -lt 10 ]; do
    mkdir dir$d
    f=0
    while [ $f -lt 50 ]; do
        printf 'file %d of directory %d\nline two\nline three\n' $f $d > dir$d/file$f.txt
        f=$((f + 1))
    done
    d=$((d + 1))
done
git add -A
git -c user.name=bench -c user.email=bench@velox.invalid commit -q -m 'bench: 500 files'
# (files written in the same second as the index are "racily clean": git would re-read them
# on every status until the index is written again later)
sleep 1
git status > /dev/null
git status > /dev/null
# (The setup's files go to the disk now, on both kernels: a kernel whose page cache writes back
# later would otherwise charge that write-back to whichever timed run it falls in.)
sync
echo "bench-debian setup: $(git ls-files | wc -l) files in /root/repo, $(git rev-list --count HEAD) commit"
EOF
chmod 755 "$stage/bench/setup.sh"
python3 - "$stage/bench/insert-10k.sql" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, value REAL);\nBEGIN;\n")
    for i in range(1, 10001):
        f.write("INSERT INTO t VALUES(%d, 'row %d', %d.25);\n" % (i, i, i * 7 % 1000))
    f.write("COMMIT;\n")
PY
find "$stage" -exec touch -h -d @0 {} +

cmds=("uname -a" "sh /bench/setup.sh")
for l in "${LINES[@]}"; do
    IFS='|' read -r label n _what args <<< "$l"
    if [ $mode = smoke ]; then
        [[ $SMOKE_LABELS == *" $label "* ]] || continue
        n=1
    else
        n=$(( n * MUL )); [ $n -ge 1 ] || n=1
    fi
    cmds+=("/bench/vtime -n $n -l $label $args")
done
cmds+=("sync")
cargs=(); for c in "${cmds[@]}"; do cargs+=(-c "$c"); done
rec "# The command lines LINE... (each one -c LINE below; the guest runs it as /bin/sh -c LINE):"
for c in "${cmds[@]}"; do rec "#   $c"; done
fsck_line() { # $1 image -> "clean" or the first lines of e2fsck's complaint
    local o rc=0
    o=$(e2fsck -fn "$1" 2>&1) || rc=$?
    if [ $rc = 0 ]; then echo "clean"; else echo "e2fsck exit $rc: $(grep -v '^e2fsck\|^Pass\|^debian-root' <<< "$o" | head -3 | tr '\n' ' ')"; fi
}

# Velox
cp --sparse=always "$img" "$RES/$pre-velox.img"
echo "bench-debian: Velox (det, root on the Debian image)" >&2
c=(scripts/run.sh -k default -r "$RES/$pre-velox.img" -e "$stage" -s -d -t "$TMO" -l "$RES/$pre-velox.log")
rec "cp --sparse=always ${img#$ROOT/} build/bench-results/$pre-velox.img"
rec "${c[*]} -c LINE..."
t0=$(date +%s); "${c[@]}" "${cargs[@]}" > /dev/null 2>&1 || echo "bench-debian: Velox run exit status $?" >&2
echo "velox_wall_s=$(( $(date +%s) - t0 ))" > "$RES/$pre-velox.meta"
echo "velox_fsck=$(fsck_line "$RES/$pre-velox.img")" >> "$RES/$pre-velox.meta"
rec "e2fsck -fn build/bench-results/$pre-velox.img"
rm -f "$RES/$pre-velox.img"

# Linux
if [ $mode = full ]; then
    cp --sparse=always "$img" "$RES/$pre-linux.img"
    echo "bench-debian: Linux (det, root on the Debian image)" >&2
    c=(scripts/linux-debian.sh -d -i "$RES/$pre-linux.img" -e "$stage" -t "$TMO" -l "$RES/$pre-linux.log")
    rec "cp --sparse=always ${img#$ROOT/} build/bench-results/$pre-linux.img"
    rec "${c[*]} -c LINE..."
    t0=$(date +%s); "${c[@]}" "${cargs[@]}" > /dev/null 2>&1 || echo "bench-debian: Linux run exit status $?" >&2
    echo "linux_wall_s=$(( $(date +%s) - t0 ))" > "$RES/$pre-linux.meta"
    echo "linux_fsck=$(fsck_line "$RES/$pre-linux.img")" >> "$RES/$pre-linux.meta"
    rec "e2fsck -fn build/bench-results/$pre-linux.img"
    rm -f "$RES/$pre-linux.img"
fi
echo "total_wall_s=$(( $(date +%s) - start ))" > "$RES/$pre.meta"
echo "multiplier=$MUL" >> "$RES/$pre.meta"
}

[ $mode = report ] || run_bench

if [ $mode = smoke ]; then
    log=$RES/debian-smoke-velox.log
    ok=0; failed=0
    for l in "${LINES[@]}"; do
        IFS='|' read -r label _ <<< "$l"
        [[ $SMOKE_LABELS == *" $label "* ]] || continue
        x=$(tr -d '\r' < "$log" 2>/dev/null | grep -m1 "^vtime label=$label " || true)
        if [[ $x == *" mean_ns="* ]]; then ok=$((ok + 1)); echo "bench-debian: ok $x"
        else failed=$((failed + 1)); echo "bench-debian: FAILED $label: ${x:-no vtime line} (log: ${log#$ROOT/})"; fi
    done
    grep -q "^bench-debian setup: 500 files" <(tr -d '\r' < "$log") || {
        failed=$((failed + 1)); echo "bench-debian: FAILED the set-up (git repository; log: ${log#$ROOT/})"; }
    echo "bench-debian: $ok ok, $failed failed"
    [ $failed = 0 ]; exit
fi

# The report -----------------------------------------------------------------------------------
printf '%s\n' "${LINES[@]}" > "$RES/debian-lines.txt"
python3 - "$RES" "$OUT" "$(qemu-system-riscv64 --version | head -1)" "$(cat "$LNX/kernel.version" 2>/dev/null)" \
    "$(git rev-parse --short HEAD 2>/dev/null)$(git status --porcelain -- kernel crates 2>/dev/null | grep -q . && echo ' + uncommitted changes in kernel/ or crates/')" \
    "$(grep -E '^(linux-image|libc6|bash|python3|git|sqlite3)=' build/debian/packages.lock 2>/dev/null | tr '\n' ' ')" <<'PY'
import os, re, sys
res, out, qemu, kver, commit, pkgs = sys.argv[1:7]
KV = re.compile(r"(\S+?)=(\S*)")
warns = {}
def log(name):
    p = os.path.join(res, name)
    d, uname, done, setup = {}, None, False, None
    if not os.path.exists(p):
        return d, uname, done, setup
    warns.setdefault(name, [])
    in_uname = False
    for ln in open(p, "rb").read().decode("utf-8", "replace").replace("\r", "").split("\n"):
        if ln.startswith("vtime label="):
            x = dict(KV.findall(ln[6:]))
            d.setdefault(x.get("label"), x)
        elif ln == "[velox] run: uname -a":
            in_uname = True
        elif in_uname and not ln.startswith("[") and ln.strip() and uname is None:
            uname = ln.strip()
        elif ln.startswith("bench-debian setup:"):
            setup = ln.strip()
        elif ln.startswith("[velox] poweroff status="):
            done = True
        if ln.startswith("[velox] exit "):
            in_uname = False
        w = re.search(r"unimplemented syscall (\d+)", ln)
        if w and w.group(1) not in warns[name]:
            warns[name].append(w.group(1))
    return d, uname, done, setup
def meta(name):
    p, d = os.path.join(res, name), {}
    if os.path.exists(p):
        for ln in open(p):
            k, _, v = ln.rstrip("\n").partition("=")
            d[k] = v
    return d
L, luname, ldone, lsetup = log("debian-linux.log")
V, vuname, vdone, vsetup = log("debian-velox.log")
m = {**meta("debian.meta"), **meta("debian-linux.meta"), **meta("debian-velox.meta")}
lines = [l.split("|", 3) for l in open(os.path.join(res, "debian-lines.txt")).read().split("\n") if l.strip()]
D = "\u2014"
def val(d, lab, k="mean_ns"):
    x = d.get(lab) or {}
    try:
        return float(x[k])
    except (KeyError, ValueError):
        return None
def cell(d, lab, k="mean_ns"):
    v = val(d, lab, k)
    if v is not None:
        return "{:,.2f}".format(v / 1e6)
    x = d.get(lab)
    return ("error: `%s`" % x["error"]) if x and "error" in x else D
md = ["# Debian-root benchmarks: Velox vs Linux running Debian's programs", "",
      "Written by `scripts/bench-debian.sh`; rerun with `scripts/bench-debian.sh` (about 2.5 minutes "
      "on this 2-CPU host: Velox's boot about 40 s, Linux's about 100 s), or `scripts/bench-debian.sh --report` to rewrite this page from "
      "the logs in build/bench-results/debian-*.log.", "",
      "Each kernel boots once, in det mode, on its own fresh copy of the Debian root image "
      "(`scripts/debian-root.sh`: Debian forky riscv64 packages, ext4, `build/debian/rootfs.ext4`) "
      "on a virtio-blk disk: Velox with `scripts/run.sh -r IMAGE -s -d`, Linux with "
      "`scripts/linux-debian.sh -d -i IMAGE` (Debian's kernel; its initramfs loads the virtio and "
      "ext4 modules, mounts the image and chroots into it; the lines run with the same "
      "environment and conventions as on Velox). `user/bench/vtime.c` times each line: one untimed "
      "warm-up run, then N runs, each from fork to waitpid, by `clock_gettime(CLOCK_MONOTONIC)`; the "
      "program's stdout goes to /dev/null.", "",
      "- QEMU: %s, `-machine %s -m 512M -smp 1`, det mode `-icount shift=0,align=off,sleep=on "
      "-rtc base=2024-01-01T00:00:00,clock=vm -seed 1` (Linux also `nokaslr norandmaps "
      "randomize_kstack_offset=off`)" % (qemu, os.environ.get("MACHINE", "virt")),
      "- Linux: %s (Debian's build)" % (luname or kver or "?"),
      "- Velox: %s, commit %s" % (vuname or "?", commit or "?"),
      "- the image's packages: %s" % (pkgs.strip() or "?"),
      "- set-up in the guest: Linux `%s`; Velox `%s`" % (lsetup or "none", vsetup or "none"),
      "- wall time: %s s in all (Velox boot %s s, Linux boot %s s) on %d host CPUs" % (
          m.get("total_wall_s", "?"), m.get("velox_wall_s", "?"), m.get("linux_wall_s", "?"), os.cpu_count() or 0),
      "- `e2fsck -fn` of each kernel's image after its run: Velox %s; Linux %s" % (
          m.get("velox_fsck", "?"), m.get("linux_fsck", "?")),
      ""]
md += ["| line | N | Linux ms | Velox ms | Velox / Linux | goal (Velox <= Linux) |",
       "|---|---:|---:|---:|---:|---|"]
mach = []
for label, n, what, _args in lines:
    l, v = val(L, label), val(V, label)
    r = v / l if (l and v) else None
    met = D if r is None else ("**met**" if r <= 1.0 else "not met")
    nn = (V.get(label) or L.get(label) or {}).get("n", n)
    md.append("| %s | %s | %s | %s | %s | %s |" % (what, nn, cell(L, label), cell(V, label),
                                                    D if r is None else "%.2fx" % r, met))
    mach.append("debian=%s linux_ns=%s velox_ns=%s ratio=%s" % (
        label, "%.1f" % l if l is not None else "na", "%.1f" % v if v is not None else "na",
        "%.3f" % r if r is not None else "na"))
md += ["", "Times are mean guest time per run in ms (1 ms = 10^6 guest instructions while the guest "
       "runs). \"Velox / Linux\" is Velox's time over Linux's: at or below 1.00x Velox is as fast "
       "as Linux or faster.", "",
       "What the figures are: in det mode with a disk QEMU runs with `sleep=on`, so time a kernel "
       "spends idle (waiting for the disk) is host time, not instructions; lines that write and "
       "sync (sqlite3, and any line whose warm-up filled the page cache from the disk) move a "
       "little from run to run. The other lines are instruction counts and repeat closely (but see "
       "the max column: a mean includes the occasional slower run).", ""]
md += ["Per-run detail (ms): min / median / max of the N timed runs, and the untimed warm-up run "
       "(cold: the first run after boot).", "",
       "| line | Linux min / median / max | Linux warm-up | Velox min / median / max | Velox warm-up |",
       "|---|---|---:|---|---:|"]
for label, n, what, _args in lines:
    def mmm(d):
        a = [val(d, label, k) for k in ("min_ns", "median_ns", "max_ns")]
        return D if None in a else " / ".join("{:,.2f}".format(x / 1e6) for x in a)
    md.append("| %s | %s | %s | %s | %s |" % (label, mmm(L), cell(L, label, "warmup_ns"), mmm(V), cell(V, label, "warmup_ns")))
notes = []
for who, d, done in (("Linux", L, ldone), ("Velox", V, vdone)):
    if not done:
        notes.append("%s's log has no poweroff line: the run did not finish (timeout or crash)." % who)
    for label, *_ in lines:
        x = d.get(label)
        if x is None:
            notes.append("%s printed no result for %s." % (who, label))
        elif "error" in x:
            notes.append("%s: %s failed: `%s`." % (who, label, x["error"]))
if warns.get("debian-velox.log"):
    notes.append("Velox logged `unimplemented syscall` (ENOSYS; once per number, on the console) for "
                 "syscall numbers %s during the run." % ", ".join(warns["debian-velox.log"]))
if notes:
    md += ["", "Notes:", ""] + ["- " + s for s in notes]
cmds = os.path.join(res, "debian-commands.txt")
if os.path.exists(cmds):
    md += ["", "Commands run:", "", "```"] + [c for c in open(cmds).read().split("\n") if c.strip()] + ["```"]
md += ["", "### Machine-readable lines", "", "```"] + mach + ["```"]
open(out, "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "bench-debian: wrote $OUT" >&2
