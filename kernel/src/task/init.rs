//! The first kernel task: runs the command list from the RAM disk, or starts /sbin/init.
//!
//! With `velox.cmd` on the command line it runs each line of `/etc/velox/cmd` (argv split on
//! spaces, single and double quotes group; with `velox.sh` the whole line goes to
//! `/bin/sh -c` instead) as a process, waits for it, prints `[velox] exit status=N` or
//! `[velox] exit signal=N`, and powers off with the status of the last command (failure if
//! non-zero). Without it, /sbin/init runs as pid 1 (busybox init reading /etc/inittab), and
//! the machine powers off when it ends; without /sbin/init (or with `velox.monitor`), the
//! kernel's monitor reads commands from the console.

use super::process::{ExitStatus, spawn_process};
use alloc::string::String;
use alloc::vec::Vec;
use velox_hal as hal;
use velox_hal::println;

/// Split a command line into words (quotes group words, no escapes).
pub fn split_words(line: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    let mut quote = None;
    for b in line.bytes() {
        match (quote, b) {
            (None, b'\'' | b'"') => {
                quote = Some(b);
                cur.get_or_insert_with(Vec::new);
            }
            (Some(q), _) if b == q => quote = None,
            (None, b' ' | b'\t') => {
                if let Some(w) = cur.take() {
                    out.push(w);
                }
            }
            _ => cur.get_or_insert_with(Vec::new).push(b),
        }
    }
    if let Some(w) = cur {
        out.push(w);
    }
    out
}

/// Resolve a program name: absolute paths as they are, else `/bin/NAME`.
pub fn resolve(name: &[u8]) -> Vec<u8> {
    if name.contains(&b'/') {
        name.to_vec()
    } else {
        let mut p = b"/bin/".to_vec();
        p.extend_from_slice(name);
        p
    }
}

/// Run one command to completion; returns its exit status.
pub async fn run_command(words: &[Vec<u8>]) -> Result<ExitStatus, u32> {
    let path = resolve(&words[0]);
    let argv: Vec<&[u8]> = words.iter().map(|w| w.as_slice()).collect();
    let envp: [&[u8]; 3] = [b"PATH=/bin:/usr/bin", b"HOME=/", b"TERM=vt100"];
    let t = spawn_process(&path, &argv, &envp)?;
    let p = t.process.clone();
    super::run::start(t);
    p.exited.wait().await;
    Ok(p.exit_status().unwrap_or(ExitStatus::Exited(255)))
}

/// Print the status line the test scripts read.
pub fn report(st: &Result<ExitStatus, u32>) -> i32 {
    match st {
        Ok(ExitStatus::Exited(c)) => {
            println!("[velox] exit status={c}");
            *c as i32
        }
        Ok(ExitStatus::Signaled(s)) => {
            println!("[velox] exit signal={s}");
            128 + *s as i32
        }
        Err(e) => {
            println!("[velox] exec failed errno={e}");
            127
        }
    }
}

/// Kernel memory the leak check compares: (free frames, heap bytes in use, pending timers).
/// The buffers of two tables that keep their high-water size (the ready queue and the futex
/// buckets) and the harts' spare lent arena blocks are not counted: they are bounded caches,
/// not objects a workload left behind.
fn memory_state() -> (usize, usize, usize) {
    let tables = crate::exec::queue_bytes() + super::futex::table_bytes() + crate::syscall::lent_pool_bytes();
    // Frames holding files a command left in tmpfs are in use, not leaked.
    let files = crate::fs::vfs::FILE_FRAMES.load(core::sync::atomic::Ordering::Relaxed);
    (crate::mm::frame_stats().0 + files, crate::mm::heap_used() - tables, crate::time::pending_timers())
}

/// Heap growth a command may leave behind: one-time lazy set-up (the first process's
/// structures, a B-tree growing a level). Leaked objects of a workload (a thread record, a
/// pipe ring, an area map) are larger than this or repeat, and repeats add up past it.
const HEAP_SLACK: usize = 8 << 10;

/// After a command: did frames, heap or timers not come back to where they were before it?
/// Prints the `[velox] leak` line the test scripts count as a failure.
async fn leak_check(before: (usize, usize, usize), line: &str) {
    let leaked = |after: (usize, usize, usize)| after.0 != before.0 || after.1 > before.1 + HEAP_SLACK || after.2 > before.2;
    // Other harts may still be finishing what the command's last tasks dropped (a task's
    // memory goes a moment after its thread record): give them up to 200 ms to settle.
    let t0 = crate::time::ticks();
    let mut after = memory_state();
    while leaked(after) && crate::time::ticks() - t0 < crate::time::ns_to_ticks(200_000_000) {
        crate::time::sleep_until(crate::time::ticks() + crate::time::ns_to_ticks(5_000_000)).await;
        crate::smp::reclaim_dead_mms().await;
        after = memory_state();
    }
    if leaked(after) {
        println!(
            "[velox] leak after '{line}': free frames {} -> {}, heap used {} -> {} bytes, timers {} -> {}",
            before.0, after.0, before.1, after.1, before.2, after.2
        );
    } else {
        println!("[velox] no leak after '{line}' (free frames {}, heap used {} bytes)", after.0, after.1);
    }
    let live = super::thread::LIVE_THREADS.load(core::sync::atomic::Ordering::Relaxed);
    if live != 0 {
        println!("[velox] leak after '{line}': {live} thread records still alive");
    }
}

/// The init task.
pub async fn init_main(bootargs: String) {
    let counters = bootargs.split_whitespace().any(|a| a == "velox.counters");
    crate::trap::COUNT_FAST_SYSCALLS.store(counters, core::sync::atomic::Ordering::Relaxed);
    let leakcheck = bootargs.split_whitespace().any(|a| a == "velox.leakcheck");
    if bootargs.split_whitespace().any(|a| a == "velox.cmd") {
        let script = crate::fs::vfs::read_file(b"/etc/velox/cmd").unwrap_or_default();
        let text = core::str::from_utf8(&script).unwrap_or("");
        let mut last = 0;
        let shell = bootargs.split_whitespace().any(|a| a == "velox.sh");
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            println!("[velox] run: {line}");
            let words = if shell { alloc::vec![b"/bin/sh".to_vec(), b"-c".to_vec(), line.as_bytes().to_vec()] } else { split_words(line) };
            let before = memory_state();
            let st = run_command(&words).await;
            last = report(&st);
            if leakcheck {
                // Let exiting tasks finish (their futures drop what they hold, maybe on other
                // harts) and harts drop the address spaces they still have loaded first.
                let t0 = crate::time::ticks();
                while super::thread::LIVE_THREADS.load(core::sync::atomic::Ordering::Relaxed) != 0
                    && crate::time::ticks() - t0 < crate::time::ns_to_ticks(2_000_000_000)
                {
                    crate::exec::yield_now().await;
                }
                crate::smp::reclaim_dead_mms().await;
                for _ in 0..4 {
                    crate::exec::yield_now().await;
                }
                leak_check(before, line).await;
            }
        }
        if counters {
            crate::trap::print_counters();
        }
        crate::fs::ext4::shutdown();
        println!("[velox] poweroff status={last}");
        hal::sbi::shutdown(last != 0);
    }
    if !bootargs.split_whitespace().any(|a| a == "velox.monitor") {
        let envp: [&[u8]; 3] = [b"PATH=/sbin:/usr/sbin:/bin:/usr/bin", b"HOME=/", b"TERM=vt100"];
        match super::process::spawn_init(b"/sbin/init", &[b"/sbin/init"], &envp) {
            Ok(t) => {
                let p = t.process.clone();
                super::run::start(t);
                p.exited.wait().await;
                let st = p.exit_status().unwrap_or(ExitStatus::Exited(255));
                println!("[velox] init ended: {st:?}");
                crate::fs::ext4::shutdown();
                hal::sbi::shutdown(st != ExitStatus::Exited(0));
            }
            Err(e) => println!("[velox] cannot start /sbin/init (errno {e}): kernel monitor"),
        }
    }
    crate::monitor::monitor().await;
    crate::fs::ext4::shutdown();
    hal::sbi::shutdown(false);
}
