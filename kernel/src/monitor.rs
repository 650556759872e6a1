//! A minimal interactive kernel monitor on the console (until busybox's shell runs).

use crate::task::init::{report, run_command, split_words};
use alloc::string::String;
use velox_hal::{print, println};

/// A line from the console terminal (its line discipline echoes and edits; ^D gives "").
async fn read_line() -> String {
    let line = crate::dev::tty::CONSOLE.kernel_read_line().await;
    String::from_utf8_lossy(&line).trim_end_matches('\n').into()
}

/// Read and run commands until `poweroff`.
pub async fn monitor() {
    println!("Velox monitor. Commands: help, ls, mem, counters, poweroff, or PROGRAM [ARGS] (from /bin).");
    loop {
        print!("velox> ");
        let line = read_line().await;
        let words = split_words(&line);
        let Some(cmd) = words.first() else { continue };
        match cmd.as_slice() {
            b"help" => println!("ls | mem | counters | poweroff | PROGRAM [ARGS]: run /bin/PROGRAM (or a path) and wait"),
            b"ls" => {
                for p in crate::fs::vfs::list(b"/bin").unwrap_or_default() {
                    println!("{}", String::from_utf8_lossy(&p));
                }
            }
            b"mem" => {
                let (free, total) = crate::mm::frame_stats();
                println!("frames: {free} free of {total}; heap in use: {} bytes", crate::mm::heap_used());
            }
            b"counters" => crate::trap::print_counters(),
            b"poweroff" | b"exit" => return,
            _ => {
                let st = run_command(&words).await;
                report(&st);
            }
        }
    }
}
