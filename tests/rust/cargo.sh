#!/bin/bash
# Debian's rustc and cargo inside Velox (issue 20's stretch goal): compile and run a program
# with rustc, then make a crate with cargo, build it (debug), run it and its unit tests.
# Run by scripts/test-rust.sh on build/debian-rust/rootfs.ext4; its output must equal
# tests/rust/cargo.expected (nothing printed depends on versions, times or the machine).
export HOME=/root CARGO_HOME=/root/.cargo PATH=/usr/bin:/bin LC_ALL=C TZ=UTC CARGO_TERM_COLOR=never
d=/var/tmp/rust-test
rm -rf "$d"; mkdir -p "$d"; cd "$d" || exit 1
rustc --version | grep -q '^rustc 1\.' && echo "rustc --version: rustc 1.x"
cargo --version | grep -q '^cargo 1\.' && echo "cargo --version: cargo 1.x"

cat > hello.rs <<'RS'
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::thread;

fn main() {
    let words = "the quick brown fox jumps over the lazy dog the end";
    let mut count = BTreeMap::new();
    for w in words.split_whitespace() {
        *count.entry(w).or_insert(0) += 1;
    }
    println!("words: {:?}", count);
    let (tx, rx) = mpsc::channel();
    let workers: Vec<_> = (0..4u64)
        .map(|k| {
            let tx = tx.clone();
            thread::spawn(move || tx.send((k, (1..=10_000u64).map(|i| i * k).sum::<u64>())).unwrap())
        })
        .collect();
    drop(tx);
    for w in workers {
        w.join().unwrap();
    }
    let mut sums: Vec<(u64, u64)> = rx.iter().collect();
    sums.sort();
    println!("thread sums: {:?}", sums);
    let r = std::panic::catch_unwind(|| {
        let v: Vec<u32> = Vec::new();
        v[3]
    });
    println!("caught a panic: {}", r.is_err());
}
RS
rustc -O hello.rs 2> rustc.err; echo "rustc -O hello.rs: status $?"
grep -v "^thread 'main' panicked\|^note: run with" rustc.err
./hello 2> hello.err; echo "./hello: status $?"
grep -c "index out of bounds" hello.err

cargo new --vcs none demo 2>&1 | grep -o 'Creating.*package'
cd demo || exit 1
mkdir -p src
cat > src/lib.rs <<'RS'
/// The n-th Fibonacci number.
pub fn fib(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

#[cfg(test)]
mod tests {
    #[test]
    fn small() {
        assert_eq!(super::fib(10), 55);
    }
    #[test]
    fn big() {
        assert_eq!(super::fib(90), 2_880_067_194_370_816_120);
    }
}
RS
cat > src/main.rs <<'RS'
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: u32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(20);
    println!("fib({n}) = {}", demo::fib(n));
    std::process::exit(if n > 50 { 3 } else { 0 });
}
RS
cargo build --offline -q 2>&1; echo "cargo build: status $?"
./target/debug/demo 30; echo "demo 30: status $?"
./target/debug/demo 60; echo "demo 60: status $?"
cargo test --offline -q > test.out 2>&1; st=$?; echo "cargo test: status $st"
grep -E '^test result' test.out | sed 's/; finished in .*//'
[ $st = 0 ] || head -30 test.out
cargo run --offline -q -- 12; echo "cargo run: status $?"
cd /; rm -rf "$d"
echo "END cargo status=0"
