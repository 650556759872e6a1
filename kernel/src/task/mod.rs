//! Processes and threads: a user thread is one future ([`run::thread_main`]).

pub mod current;
pub mod futex;
pub mod init;
pub mod process;
pub mod run;
pub mod signal;
pub mod thread;
pub mod timers;

pub use process::Process;
pub use thread::Thread;
