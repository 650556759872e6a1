//! The first kernel task: runs the command list from the RAM disk, or the interactive monitor.
//!
//! With `velox.cmd` on the command line it runs each line of `/etc/velox/cmd` (argv split on
//! spaces, single and double quotes group) as a process, waits for it, prints
//! `[velox] exit status=N` or `[velox] exit signal=N`, and powers off with the status of the
//! last command (failure if non-zero). Without it, the monitor reads commands from the console.

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

/// The init task.
pub async fn init_main(bootargs: String) {
    let counters = bootargs.split_whitespace().any(|a| a == "velox.counters");
    if bootargs.split_whitespace().any(|a| a == "velox.cmd") {
        let script = crate::fs::initrd_file(b"/etc/velox/cmd").unwrap_or(b"");
        let text = core::str::from_utf8(script).unwrap_or("");
        let mut last = 0;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            println!("[velox] run: {line}");
            let words = split_words(line);
            let st = run_command(&words).await;
            last = report(&st);
        }
        if counters {
            crate::trap::print_counters();
        }
        println!("[velox] poweroff status={last}");
        hal::sbi::shutdown(last != 0);
    }
    crate::monitor::monitor().await;
    hal::sbi::shutdown(false);
}
