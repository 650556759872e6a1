#!/usr/bin/env bash
# Boot Velox and run the vfuzz system-call fuzzer (user/tests/vfuzz.c), then summarise.
#   fuzz.sh [-s SEED] [-t SECONDS] [-n CALLS] [-k VARIANT] [-l LOG] [-a 'VFUZZ ARGS']
# Defaults: a random seed (printed), SECONDS from $FUZZ_SECONDS (300), no call limit, the
# default kernel, log in build/fuzz-SEED.log. SEED, FUZZ_CALLS and VFUZZ_ARGS are also read
# from the environment. Exits non-zero on a kernel panic, a QEMU timeout, a missing summary or a
# FAIL line from vfuzz. Replay a failing child with the command vfuzz prints, e.g.
#   scripts/run.sh -c "vfuzz -s SEED -k CHILD -v"
set -uo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
seed=${SEED:-}; secs=${FUZZ_SECONDS:-300}; calls=${FUZZ_CALLS:-0}; variant=default; log=""; vargs=${VFUZZ_ARGS:-}
while getopts "s:t:n:k:l:a:" o; do
    case $o in
        s) seed=$OPTARG ;; t) secs=$OPTARG ;; n) calls=$OPTARG ;; k) variant=$OPTARG ;;
        l) log=$OPTARG ;; a) vargs=$OPTARG ;; *) exit 2 ;;
    esac
done
if [ -z "$seed" ]; then seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' '); fi
[ -n "$log" ] || log=$BUILD/fuzz-$seed.log
cmd="vfuzz -s $seed"
[ "$secs" != 0 ] && cmd+=" -t $secs"
[ "$calls" != 0 ] && cmd+=" -n $calls"
[ -n "$vargs" ] && cmd+=" $vargs"
echo "fuzz: seed=$seed seconds=$secs calls=$calls kernel=$variant log=$log"
echo "fuzz: command: $cmd"

scripts/build-user.sh || { echo "fuzz: user build failed"; exit 1; }
if ! scripts/build-kernel.sh "$variant"; then
    [ -f "$BUILD/velox-$variant.elf" ] || { echo "fuzz: kernel build failed"; exit 1; }
    echo "fuzz: WARNING: kernel build failed; fuzzing the previous build/velox-$variant.elf"
fi

# QEMU timeout: the run itself, plus the last child's deadline, boot and shutdown; a call limit
# without a time limit gets 20 minutes.
if [ "$secs" != 0 ]; then tmo=$((secs + secs / 4 + 60)); else tmo=1200; fi
scripts/run.sh -k "$variant" -c "$cmd" -t "$tmo" -l "$log" \
    | tr -d '\r' | grep -a --line-buffered -E '^(vfuzz|PASS|FAIL|\[velox\] (exit|poweroff))|KERNEL PANIC|panicked'
rc=${PIPESTATUS[0]}

out=$(tr -d '\r' < "$log")
panics=$(grep -ac "KERNEL PANIC" <<< "$out")
fails=$(grep -ac '^FAIL ' <<< "$out")
summary=$(grep -a '^vfuzz: calls=' <<< "$out" | tail -1)
mem=$(grep -a '^vfuzz: memfree_before=' <<< "$out" | tail -1)
val() { sed -n "s/.*[ :]$1=\([-0-9]*\).*/\1/p" <<< "$2"; }
echo "== fuzz summary (seed $seed)"
echo "calls made:          $(val calls "$summary")"
echo "distinct syscalls:   $(val distinct "$summary")"
echo "children / killed:   $(val children "$summary") / $(val killed "$summary")"
echo "kernel panics:       $panics"
echo "FAIL lines:          $fails"
echo "memfree before/after (kB): $(val memfree_before "$mem") / $(val memfree_after "$mem")"
status=0
if [ "$panics" != 0 ]; then
    echo "fuzz: KERNEL PANIC (see $log):"; grep -a -A20 "KERNEL PANIC" <<< "$out" | head -40; status=1
fi
if [ "$rc" = 124 ]; then echo "fuzz: QEMU timed out after ${tmo}s (kernel hang?)"; status=1; fi
if [ -z "$summary" ]; then echo "fuzz: no summary line from vfuzz (rc=$rc)"; status=1; fi
if [ "$fails" != 0 ]; then echo "fuzz: vfuzz reported $fails FAIL lines (replay commands above)"; status=1; fi
if [ $status = 0 ] && [ "$rc" != 0 ]; then echo "fuzz: run ended with status $rc"; status=1; fi
[ $status = 0 ] && echo "fuzz: OK"
exit $status
