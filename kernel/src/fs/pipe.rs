//! Pipes: a 64 KiB ring buffer with wait queues for readers and writers.
//!
//! `try_read`/`try_write` never block: they move what they can (copying straight between the
//! ring and user memory) or report `WouldBlock`. The trap fast path calls them directly; the
//! async handlers loop on them, parking the thread's future on a wait queue in between.

use crate::exec::WaitQueue;
use alloc::boxed::Box;
use alloc::vec;
use linux_raw_sys::errno;
use velox_exec::sync::Mutex;
use velox_hal::user;

/// Capacity of a pipe (Linux's default: 16 pages).
pub const PIPE_CAPACITY: usize = 65536;
/// Writes of at most this many bytes are atomic.
pub const PIPE_BUF: usize = 4096;

/// Outcome of a non-blocking attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Io {
    Done(usize),
    WouldBlock,
    Err(u32),
}

struct Ring {
    buf: Box<[u8]>,
    head: usize,
    len: usize,
    readers_open: bool,
    writers_open: bool,
}

/// A pipe shared by its read end and its write end.
pub struct Pipe {
    ring: Mutex<Ring>,
    /// Readers wait here for data (or EOF).
    pub read_wait: WaitQueue,
    /// Writers wait here for space (or the readers going away).
    pub write_wait: WaitQueue,
}

impl Pipe {
    /// A new empty pipe with both ends open (the caller checked the heap has room).
    pub fn new() -> Pipe {
        Pipe {
            ring: Mutex::new(Ring { buf: vec![0u8; PIPE_CAPACITY].into_boxed_slice(), head: 0, len: 0, readers_open: true, writers_open: true }),
            read_wait: WaitQueue::new(),
            write_wait: WaitQueue::new(),
        }
    }

    /// Read up to `len` bytes into user memory at `buf`.
    pub fn try_read(&self, buf: usize, len: usize) -> Io {
        let mut r = self.ring.lock();
        if r.len == 0 {
            return if r.writers_open { Io::WouldBlock } else { Io::Done(0) };
        }
        let n = len.min(r.len);
        let first = n.min(PIPE_CAPACITY - r.head);
        let head = r.head;
        if user::copy_to_user(buf, &r.buf[head..head + first]).is_err()
            || (n > first && user::copy_to_user(buf + first, &r.buf[..n - first]).is_err())
        {
            return Io::Err(errno::EFAULT);
        }
        r.head = (r.head + n) % PIPE_CAPACITY;
        r.len -= n;
        drop(r);
        self.write_wait.wake_all();
        Io::Done(n)
    }

    /// Write from user memory at `buf`: all `len` bytes if `len <= PIPE_BUF` (atomic) or only
    /// if `all` is set, else as many as fit.
    pub fn try_write(&self, buf: usize, len: usize, all: bool) -> Io {
        let mut r = self.ring.lock();
        if !r.readers_open {
            return Io::Err(errno::EPIPE);
        }
        let space = PIPE_CAPACITY - r.len;
        if space == 0 || ((len <= PIPE_BUF || all) && space < len) {
            return Io::WouldBlock;
        }
        let n = len.min(space);
        let tail = (r.head + r.len) % PIPE_CAPACITY;
        let first = n.min(PIPE_CAPACITY - tail);
        if user::copy_from_user(&mut r.buf[tail..tail + first], buf).is_err()
            || (n > first && user::copy_from_user(&mut r.buf[..n - first], buf + first).is_err())
        {
            return Io::Err(errno::EFAULT);
        }
        r.len += n;
        drop(r);
        self.read_wait.wake_all();
        Io::Done(n)
    }

    /// (readable, writable, hung up for readers, error for writers) as poll sees the pipe.
    /// Writable means room for an atomic write (PIPE_BUF), as Linux's page slots behave.
    pub fn poll_state(&self) -> (bool, bool, bool, bool) {
        let r = self.ring.lock();
        (r.len > 0, PIPE_CAPACITY - r.len >= PIPE_BUF && r.readers_open, !r.writers_open, !r.readers_open)
    }

    /// True once a write of `len` bytes can make progress (or fail: no readers).
    pub fn can_write(&self, len: usize) -> bool {
        let r = self.ring.lock();
        let need = if len <= PIPE_BUF { len } else { 1 };
        !r.readers_open || PIPE_CAPACITY - r.len >= need
    }

    /// The read end was closed (its last descriptor).
    pub fn close_read(&self) {
        self.ring.lock().readers_open = false;
        self.write_wait.wake_all();
    }

    /// The write end was closed.
    pub fn close_write(&self) {
        self.ring.lock().writers_open = false;
        self.read_wait.wake_all();
    }

    /// Bytes buffered (FIONREAD).
    pub fn available(&self) -> usize {
        self.ring.lock().len
    }
}
