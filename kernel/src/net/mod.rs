//! Sockets: the AF_UNIX family (`unix`). The system calls are in `syscall::socket`.

pub mod unix;
