#!/usr/bin/env bash
# Entropy across boots: `entropy print` must show different AT_RANDOM and getrandom bytes on two
# boots with virtio-rng, and on two boots with timer jitter only (VELOX_RNG=0), and the same
# bytes on two deterministic boots (-d: velox.fixedseed, what the benchmarks rely on).
# Prints one "PASS/FAIL entropy_<case>" line per case; exit status 0 iff all pass.
# Needs build/velox-default.elf and build/user/entropy (scripts/build-kernel.sh, build-user.sh).
set -uo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
failed=0

# Boot once, print "AT_RANDOM-hex GETRANDOM-hex" (empty on failure).
boot() {
    "$@" -c "entropy print" -t 60 2>/dev/null | tr -d '\r' |
        awk '/^AT_RANDOM /{a=$2} /^GETRANDOM /{g=$2} END{if (a != "" && g != "") print a, g}'
}

# check NAME same|differ RUN...: two boots, compare.
check() {
    local name=$1 want=$2; shift 2
    local x y
    x=$(boot "$@"); y=$(boot "$@")
    if [ -z "$x" ] || [ -z "$y" ]; then
        echo "FAIL entropy_$name: no output (boots gave '${x}' / '${y}')"; failed=1; return
    fi
    local a1=${x% *} g1=${x#* } a2=${y% *} g2=${y#* }
    if [ "$want" = differ ] && [ "$a1" != "$a2" ] && [ "$g1" != "$g2" ]; then
        echo "PASS entropy_$name (AT_RANDOM $a1 vs $a2)"
    elif [ "$want" = same ] && [ "$x" = "$y" ]; then
        echo "PASS entropy_$name (AT_RANDOM $a1 on both boots)"
    else
        echo "FAIL entropy_$name: want $want, got '$x' / '$y'"; failed=1
    fi
}

check virtio_rng_boots_differ differ scripts/run.sh
check jitter_only_boots_differ differ env VELOX_RNG=0 scripts/run.sh
check det_boots_same same scripts/run.sh -d
exit $failed
