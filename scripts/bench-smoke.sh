#!/usr/bin/env bash
# Smoke run of the benchmark program (for `make test`): the whole vbench suite on Velox (normal
# kernel only) at a small scale, in one QEMU boot, checking only that every bench prints a
# number. The storage benches (`vbench storage`, not in `all`) run there too, in the tmpfs /tmp
# (vbench makes their data set itself; scripts/bench-storage.sh runs them on ext4). A bench may
# print `error=` only if it is listed in KNOWN_UNSUPPORTED below with its reason. Ends with
# `bench-smoke: N ok, M failed` and exits non-zero when M > 0.
#
#   scripts/bench-smoke.sh
#
# Env: BENCH_SMOKE_SCALE (default 0.01), BENCH_SMOKE_TIMEOUT (QEMU seconds, default 120),
# BENCH_SMOKE_KERNEL (kernel variant, build/velox-VARIANT.elf; default "default").
# Needs build/velox-$KV.elf (built here only when missing) and builds build/bench/vbench
# (scripts/bench-build.sh --progs: no Linux download). Log: build/bench-results/smoke-velox.log.
set -uo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
SCALE=${BENCH_SMOKE_SCALE:-0.01}
TMO=${BENCH_SMOKE_TIMEOUT:-120}
KV=${BENCH_SMOKE_KERNEL:-default}

# bench -> why Velox cannot run it yet. Remove an entry when the kernel gains the feature
# (a listed bench that prints a number counts as ok and is reported as "now runs").
declare -A KNOWN_UNSUPPORTED=(
)

RES=$BUILD/bench-results; mkdir -p "$RES"
LOG=$RES/smoke-velox.log
ok=0; failed=0
bad() { failed=$((failed + 1)); echo "bench-smoke: FAILED $*"; }
finish() { echo "bench-smoke: $ok ok, $failed failed"; [ "$failed" = 0 ]; exit $?; }

if ! scripts/bench-build.sh --progs > "$RES/smoke-build.log" 2>&1; then
    tail -20 "$RES/smoke-build.log"; bad "scripts/bench-build.sh --progs"; finish
fi
if [ ! -f "$BUILD/velox-$KV.elf" ]; then
    scripts/build-kernel.sh "$KV" || { bad "scripts/build-kernel.sh $KV"; finish; }
fi
stage=$(mktemp -d "$BUILD/smoke.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bench"
cp build/bench/vbench build/bench/vtrue "$stage/bench/"

start=$(date +%s.%N)
scripts/run.sh -k "$KV" -e "$stage" -d -t "$TMO" -l "$LOG" \
    -c "/bench/vbench list" \
    -c "/bench/vbench -s $SCALE -t /bench/vtrue -d /tmp all" \
    -c "/bench/vbench -s $SCALE -t /bench/vtrue -d /tmp storage" > /dev/null 2>&1
rc=$?
out=$(tr -d '\r' < "$LOG" 2>/dev/null)
wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "bench-smoke: Velox ($KV), scale $SCALE, QEMU exit $rc, wall ${wall}s, log ${LOG#$ROOT/}"

# The bench names come from `vbench list` (first command of the same boot).
mapfile -t names < <(sed -n '/^\[velox\] run: \/bench\/vbench list$/,/^\[velox\] exit/p' <<< "$out" |
                     awk '$2 ~ /^iters=/ { print $1 }')
[ ${#names[@]} -gt 0 ] || bad "no bench names from 'vbench list'"
grep -q "KERNEL PANIC" <<< "$out" && bad "kernel panic (see ${LOG#$ROOT/})"
[ "$(grep -c '^vbench_end ' <<< "$out")" = 2 ] ||
    bad "not two vbench_end lines (all, storage): a suite did not finish (QEMU exit $rc)"
for st in $(sed -n 's/^\[velox\] exit \(.*\)$/\1/p' <<< "$out" | tail -2); do
    [ "$st" = "status=0" ] || bad "vbench all or storage ended with '$st'"
done

for n in "${names[@]}"; do
    line=$(grep -m1 "^bench=$n " <<< "$out")
    reason=${KNOWN_UNSUPPORTED[$n]:-}
    if [[ $line =~ \ ns_per_op=[0-9]+(\.[0-9]+)?\  ]]; then
        ok=$((ok + 1))
        [ -n "$reason" ] && echo "bench-smoke: $n now runs; drop it from KNOWN_UNSUPPORTED"
    elif [[ $line == *" error="* ]] && [ -n "$reason" ]; then
        ok=$((ok + 1))
        echo "bench-smoke: $n known unsupported (${line#* error=}): $reason"
    elif [ -z "$line" ]; then
        bad "$n printed nothing"
    else
        bad "$n: ${line#bench=$n }"
    fi
done
finish
