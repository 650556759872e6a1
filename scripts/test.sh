#!/usr/bin/env bash
# `make test`: host unit tests, in-kernel tests (QEMU), user programs on the normal kernel and on
# the no-fastpath kernel (QEMU). Prints one line per test group and ends with `N passed, M failed`.
set -uo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
pass=0; fail=0
# Harts for the second run of the user programs (make test SMP=N); everything else boots 1.
smp=${SMP:-4}; unset SMP
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAILED: $*"; }
logs=$BUILD/test-logs; mkdir -p "$logs"

echo "== build"
scripts/build-user.sh || { echo "user build failed"; echo "0 passed, 1 failed"; exit 1; }
for v in default ${KTEST_VARIANT:-ktest} nofast; do
    scripts/build-kernel.sh $v || { echo "kernel build ($v) failed"; echo "0 passed, 1 failed"; exit 1; }
done

echo "== host unit tests (cargo test)"
# (Then the vendored ext4 core's own unit tests: they check Velox's patches against upstream's
# expectations, vendor/rsext4/VELOX-PATCHES.md.)
{ $CARGO test -q 2>&1; $CARGO test -q -p rsext4 --lib 2>&1; } | tee "$logs/host.log" | grep -E "^test result|FAILED|panicked" || true
hp=$(awk '/^test result/{for(i=1;i<=NF;i++) if($(i+1)~/^passed/) s+=$i} END{print s+0}' "$logs/host.log")
hf=$(awk '/^test result/{for(i=1;i<=NF;i++) if($(i+1)~/^failed/) s+=$i} END{print s+0}' "$logs/host.log")
if ! grep -q "^test result" "$logs/host.log"; then hf=$((hf + 1)); echo "FAILED: host tests did not run"; fi
pass=$((pass + hp)); fail=$((fail + hf))
echo "host: $hp passed, $hf failed"

echo "== in-kernel tests (QEMU)"
scripts/run.sh -k ${KTEST_VARIANT:-ktest} -a ktest -t 120 -l "$logs/ktest.log" > /dev/null; krc=$?
tr -d '\r' < "$logs/ktest.log" | grep -E "^ktest" || true
kp=$(tr -d '\r' < "$logs/ktest.log" | grep -cE '^ktest .* \.\.\. ok$')
kf=$(tr -d '\r' < "$logs/ktest.log" | grep -cE '^ktest .* \.\.\. FAILED')
pass=$((pass + kp)); fail=$((fail + kf))
if ! tr -d '\r' < "$logs/ktest.log" | grep -q "^ktest: "; then bad "in-kernel test run did not finish (rc=$krc)"; fi
if [ "$kf" = 0 ] && [ "$krc" != 0 ] && [ "$krc" != 125 ]; then :; fi

run_user_suite() { # $1 = kernel variant, $2 = harts
    local v=$1 n=$2 args=() line cmd exp
    local tag=$v; [ "$n" != 1 ] && tag=$v-smp$n
    while IFS= read -r line; do
        case $line in ''|'#'*) continue ;; esac
        args+=(-c "${line%% | *}")
    done < tests/user-tests.txt
    SMP=$n scripts/run.sh -k "$v" "${args[@]}" -t 900 -a "velox.counters velox.leakcheck" -l "$logs/user-$tag.log" > /dev/null
    local log; log=$(tr -d '\r' < "$logs/user-$tag.log")
    local v=$tag
    local p f
    p=$(grep -c '^PASS ' <<< "$log"); f=$(grep -c '^FAIL ' <<< "$log")
    grep '^FAIL ' <<< "$log" | sed "s/^/[$v] /"
    pass=$((pass + p)); fail=$((fail + f))
    # Each command's exit result, in order.
    mapfile -t got < <(grep -E '^\[velox\] (exit|exec failed)' <<< "$log" | sed 's/^\[velox\] exit //; s/^\[velox\] //')
    local i=0
    while IFS= read -r line; do
        case $line in ''|'#'*) continue ;; esac
        cmd=${line%% | *}; exp=${line##* | }
        if [ "${got[$i]:-none}" = "$exp" ]; then ok; else bad "[$v] '$cmd' ended with ${got[$i]:-nothing}, expected $exp"; fi
        i=$((i + 1))
    done < tests/user-tests.txt
    grep -q "KERNEL PANIC" <<< "$log" && bad "[$v] kernel panic"
    # The kernel compares free frames, heap and timers before and after every command.
    local leaks; leaks=$(grep -c '^\[velox\] leak' <<< "$log")
    local clean; clean=$(grep -c '^\[velox\] no leak' <<< "$log")
    grep '^\[velox\] leak' <<< "$log" | sed "s/^/[$v] /"
    if [ "$leaks" = 0 ] && [ "$clean" -gt 0 ]; then ok; echo "leak check: $clean commands, memory back every time"
    else bad "[$v] leak check: $leaks commands leaked, $clean clean"; fi
    echo "user programs on $v kernel: $p PASS lines, $f FAIL lines"
}

echo "== user programs (QEMU, normal kernel, 1 hart)"
run_user_suite default 1
if [ "$smp" != 1 ]; then
    echo "== user programs (QEMU, normal kernel, $smp harts)"
    run_user_suite default "$smp"
fi
echo "== user programs (QEMU, no-fastpath kernel, 1 hart)"
run_user_suite nofast 1

if [ "$smp" != 1 ]; then
    echo "== IPIs and timers: the ACLINT SSWI and Sstc, then the SMP stress programs through the SBI ($smp harts)"
    log=$(tr -d '\r' < "$logs/user-default-smp$smp.log")
    if [[ $MACHINE != *aclint=on* ]]; then echo "(QEMU_MACHINE=$MACHINE: no SSWI to check)"
    elif grep -q '^  ipi      ACLINT SSWI' <<< "$log" && grep -q '^  timer    Sstc' <<< "$log"; then ok; echo "the $smp-hart run sent IPIs through the SSWI and set timers through stimecmp"
    else bad "the $smp-hart run did not use the SSWI and Sstc: $(grep -E '^  (ipi|timer) ' <<< "$log" | tr -s ' ' | tr '\n' ';')"; fi
    args=(); while IFS= read -r c; do args+=(-c "$c"); done < <(printf '%s\n' "smp counter" "smp pingpong" "smp tlb" "smp cow" "smp faultrace" "smp forkstorm" "smp exitgroup")
    SMP=$smp scripts/run.sh -k default "${args[@]}" -t 600 -a "velox.sbi_ipi velox.sbi_timer velox.leakcheck" -l "$logs/user-sbi.log" > /dev/null
    log=$(tr -d '\r' < "$logs/user-sbi.log")
    p=$(grep -c '^PASS ' <<< "$log"); f=$(grep -c '^FAIL ' <<< "$log")
    grep '^FAIL ' <<< "$log" | sed "s/^/[sbi] /"
    pass=$((pass + p)); fail=$((fail + f))
    nst=$(grep -c '^\[velox\] exit status=0$' <<< "$log")
    if grep -q '^  ipi      SBI' <<< "$log" && grep -q '^  timer    SBI' <<< "$log" && [ "$nst" = $((${#args[@]} / 2)) ] && ! grep -q 'KERNEL PANIC\|^\[velox\] leak' <<< "$log"
    then ok; echo "through the SBI: $p PASS lines, $f FAIL lines, all $nst programs exited 0, no leaks"
    else bad "[sbi] $nst of $((${#args[@]} / 2)) programs exited 0, or the banner/leak check disagrees"; fi
fi

echo "== fast path and slow path give the same answers"
a=$(tr -d '\r' < "$logs/user-default.log" | grep '^VALUES' | head -1)
b=$(tr -d '\r' < "$logs/user-nofast.log" | grep '^VALUES' | head -1)
if [ -n "$a" ] && [ "$a" = "$b" ]; then ok; echo "same: $a"; else bad "fast '$a' vs slow '$b'"; fi
fastn=$(tr -d '\r' < "$logs/user-default.log" | awk '/syscall 172 getpid/{print $(NF-2)}')
slown=$(tr -d '\r' < "$logs/user-nofast.log" | awk '/syscall 172 getpid/{print $NF}')
if [ "${fastn:-0}" -gt 1000000 ] && [ "${slown:-0}" -gt 1000000 ]; then ok; echo "getpid: $fastn fast-path completions (normal), $slown slow-path (no-fastpath)"
else bad "getpid counters: fast=${fastn:-?} slow=${slown:-?}"; fi

echo "== busybox shell scripts, output compared with Linux's (1 hart and $smp harts)"
for n in 1 $smp; do
    bb=$(scripts/test-busybox.sh -k default -s "$n" -l "$logs/busybox-smp$n" 2>&1)
    grep -E '^(PASS|FAIL) busybox' <<< "$bb" | sed "s/^/[smp$n] /"
    bbn=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' <<< "$bb" | tail -1)
    if [ -n "$bbn" ]; then
        pass=$((pass + ${bbn% *})); fail=$((fail + ${bbn#* }))
        [ "${bbn#* }" = 0 ] || grep -v '^PASS' <<< "$bb" | head -60
    else
        bad "busybox tests on $n harts did not finish"; tail -20 <<< "$bb"
    fi
done

echo "== interactive console (typing at busybox sh through the serial line)"
con=$(scripts/test-console.py -k default -s 1 -l "$logs/console.log" 2>&1); echo "$con"
pass=$((pass + $(grep -c '^PASS ' <<< "$con"))); fail=$((fail + $(grep -c '^FAIL ' <<< "$con")))
grep -q '^[0-9]* passed' <<< "$con" || bad "console test did not finish"

echo "== entropy differs across boots (virtio-rng, jitter only) and repeats in det mode"
ent=$(scripts/entropy-check.sh 2>&1); echo "$ent"
pass=$((pass + $(grep -c '^PASS ' <<< "$ent"))); fail=$((fail + $(grep -c '^FAIL ' <<< "$ent")))

echo "== ext4 on virtio-blk (root on disk, reboots, power cut, bad disks, e2fsck on the host)"
e4=$(scripts/test-ext4.sh -k default -l "$logs/ext4" 2>&1)
grep -E '^(PASS|FAIL) ' <<< "$e4"
e4n=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' <<< "$e4" | tail -1)
if [ -n "$e4n" ]; then pass=$((pass + ${e4n% *})); fail=$((fail + ${e4n#* })); else bad "ext4 tests did not finish"; tail -5 <<< "$e4"; fi

echo "== Debian's userland (dynamically linked bash, python3, vim... on a root made of Debian packages)"
if deb=$(scripts/debian-root.sh 2>"$logs/debian-root.log"); then
    ok; echo "debian root: $(tail -1 "$logs/debian-root.log")"
    con=$(scripts/test-console.py -k default -s 1 --debian "$deb" -l "$logs/console-debian.log" 2>&1); echo "$con"
    pass=$((pass + $(grep -c '^PASS ' <<< "$con"))); fail=$((fail + $(grep -c '^FAIL ' <<< "$con")))
    grep -q '^[0-9]* passed' <<< "$con" || bad "bash console test did not finish"
    # Scripts whose output must equal Linux's (tests/debian/*.expected): all of them.
    db=$(scripts/test-debian.sh -k default -s 1 -l "$logs/debian" 2>&1)
    grep -E '^(PASS|FAIL) debian' <<< "$db"
    dbn=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' <<< "$db" | tail -1)
    if [ -n "$dbn" ]; then
        pass=$((pass + ${dbn% *})); fail=$((fail + ${dbn#* }))
        [ "${dbn#* }" = 0 ] || grep -v '^PASS' <<< "$db" | head -80
    else
        bad "Debian tests did not finish"; tail -20 <<< "$db"
    fi
else
    bad "scripts/debian-root.sh failed"; tail -5 "$logs/debian-root.log"
fi

echo "== Debian's rustc and cargo inside Velox (a root with the Rust toolchain; output compared with Linux's)"
rs=$(scripts/test-rust.sh -k default -l "$logs/rust" 2>&1)
grep -E '^(PASS|FAIL) rust' <<< "$rs"
rsn=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' <<< "$rs" | tail -1)
if [ -n "$rsn" ]; then
    pass=$((pass + ${rsn% *})); fail=$((fail + ${rsn#* }))
    [ "${rsn#* }" = 0 ] || tail -40 <<< "$rs"
else
    bad "rust test did not finish"; tail -20 <<< "$rs"
fi

echo "== benchmark smoke run (every bench Velox supports prints a number)"
sm=$(scripts/bench-smoke.sh 2>&1 | tee "$logs/bench-smoke.log" | tail -1)
echo "$sm"
smok=$(sed -n 's/^bench-smoke: \([0-9]*\) ok, \([0-9]*\) failed$/\1 \2/p' <<< "$sm")
if [ -n "$smok" ]; then
    pass=$((pass + ${smok% *})); fail=$((fail + ${smok#* }))
    [ "${smok#* }" = 0 ] || grep FAILED "$logs/bench-smoke.log"
else
    bad "benchmark smoke run did not finish (see $logs/bench-smoke.log)"
fi

echo "== Debian root bench smoke (hello static/dynamic, bash, python3 on the Debian image, Velox)"
dsm=$(scripts/bench-debian.sh --smoke 2>&1 | tee "$logs/bench-debian-smoke.log" | tail -1)
echo "$dsm"
dsn=$(sed -n 's/^bench-debian: \([0-9]*\) ok, \([0-9]*\) failed$/\1 \2/p' <<< "$dsm")
if [ -n "$dsn" ]; then
    pass=$((pass + ${dsn% *})); fail=$((fail + ${dsn#* }))
    [ "${dsn#* }" = 0 ] || grep FAILED "$logs/bench-debian-smoke.log"
else
    bad "Debian bench smoke run did not finish (see $logs/bench-debian-smoke.log)"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
