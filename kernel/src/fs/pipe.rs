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
    /// Open read and write ends (open file descriptions).
    readers: u32,
    writers: u32,
    /// Ends ever opened (a FIFO opener waits for the other side to have opened).
    r_total: u32,
    w_total: u32,
}

/// A pipe shared by its read end and its write end.
pub struct Pipe {
    ring: crate::smp::SleepLock<Ring>,
    /// Readers wait here for data (or EOF).
    pub read_wait: WaitQueue,
    /// Writers wait here for space (or the readers going away).
    pub write_wait: WaitQueue,
}

impl Pipe {
    /// A new empty pipe with both ends open (the caller checked the heap has room).
    pub fn new() -> Pipe {
        Self::with_ends(1, 1)
    }

    fn with_ends(r: u32, w: u32) -> Pipe {
        Pipe {
            ring: crate::smp::SleepLock::new(Ring { buf: vec![0u8; PIPE_CAPACITY].into_boxed_slice(), head: 0, len: 0, readers: r, writers: w, r_total: r, w_total: w }),
            read_wait: WaitQueue::new(),
            write_wait: WaitQueue::new(),
        }
    }

    /// Another end was opened (a FIFO open); wakes openers waiting for it.
    pub fn open_end(&self, read: bool) {
        let mut r = self.ring.lock();
        if read {
            r.readers += 1;
            r.r_total = r.r_total.wrapping_add(1);
        } else {
            r.writers += 1;
            r.w_total = r.w_total.wrapping_add(1);
        }
        drop(r);
        self.read_wait.wake_all();
        self.write_wait.wake_all();
    }

    /// (readers, writers, readers ever, writers ever).
    pub fn ends(&self) -> (u32, u32, u32, u32) {
        let r = self.ring.lock();
        (r.readers, r.writers, r.r_total, r.w_total)
    }

    /// Read up to `len` bytes into user memory at `buf`.
    #[inline]
    pub fn try_read(&self, buf: usize, len: usize) -> Io {
        let mut r = self.ring.lock();
        if r.len == 0 {
            return if r.writers > 0 { Io::WouldBlock } else { Io::Done(0) };
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
    #[inline]
    pub fn try_write(&self, buf: usize, len: usize, all: bool) -> Io {
        let mut r = self.ring.lock();
        if r.readers == 0 {
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

    /// Write kernel bytes (sendfile): as many as fit, at least all of a PIPE_BUF-sized piece.
    pub fn try_write_kernel(&self, data: &[u8]) -> Io {
        let mut r = self.ring.lock();
        if r.readers == 0 {
            return Io::Err(errno::EPIPE);
        }
        let space = PIPE_CAPACITY - r.len;
        if space == 0 || (data.len() <= PIPE_BUF && space < data.len()) {
            return Io::WouldBlock;
        }
        let n = data.len().min(space);
        let tail = (r.head + r.len) % PIPE_CAPACITY;
        let first = n.min(PIPE_CAPACITY - tail);
        r.buf[tail..tail + first].copy_from_slice(&data[..first]);
        r.buf[..n - first].copy_from_slice(&data[first..n]);
        r.len += n;
        drop(r);
        self.read_wait.wake_all();
        Io::Done(n)
    }

    /// (readable, writable, hung up for readers, error for writers) as poll sees the pipe.
    /// Writable means room for an atomic write (PIPE_BUF), as Linux's page slots behave,
    /// readers or not (without readers Linux's pipe_poll gives POLLOUT and POLLERR).
    pub fn poll_state(&self) -> (bool, bool, bool, bool) {
        let r = self.ring.lock();
        (r.len > 0, PIPE_CAPACITY - r.len >= PIPE_BUF, r.writers == 0, r.readers == 0)
    }

    /// True once a write of `len` bytes can make progress (or fail: no readers).
    pub fn can_write(&self, len: usize) -> bool {
        let r = self.ring.lock();
        let need = if len <= PIPE_BUF { len } else { 1 };
        r.readers == 0 || PIPE_CAPACITY - r.len >= need
    }

    /// The read end was closed (its last descriptor).
    pub fn close_read(&self) {
        let mut r = self.ring.lock();
        r.readers = r.readers.saturating_sub(1);
        drop(r);
        self.write_wait.wake_all();
    }

    /// The write end was closed.
    pub fn close_write(&self) {
        let mut r = self.ring.lock();
        r.writers = r.writers.saturating_sub(1);
        drop(r);
        self.read_wait.wake_all();
    }

    /// Bytes buffered (FIONREAD).
    pub fn available(&self) -> usize {
        self.ring.lock().len
    }
}

/// FIFOs by inode: the pipe their openers share while any end is open.
static FIFOS: Mutex<alloc::collections::BTreeMap<(u64, u64), alloc::sync::Weak<Pipe>>> = Mutex::new(alloc::collections::BTreeMap::new());

/// The pipe of FIFO `loc` (made on its first open).
fn fifo_pipe(loc: &velox_vfs::Loc) -> Result<alloc::sync::Arc<Pipe>, u32> {
    let mut m = FIFOS.lock();
    m.retain(|_, w| w.strong_count() > 0);
    let id = loc.inode.id();
    if let Some(p) = m.get(&id).and_then(|w| w.upgrade()) {
        return Ok(p);
    }
    if crate::mm::heap_free() < crate::config::HEAP_RESERVE + PIPE_CAPACITY {
        return Err(errno::ENFILE);
    }
    let p = alloc::sync::Arc::new(Pipe::with_ends(0, 0));
    m.insert(id, alloc::sync::Arc::downgrade(&p));
    Ok(p)
}

/// Open pipe `p` again, as /proc/<pid>/fd/<n> of one of its ends (bash's `<(...)`, /dev/stdin
/// on a pipe): a new description of the end(s) `flags` asks for, as Linux's fifo_open on the
/// pipe's inode, except that it does not wait for the other side (such a pipe has had both).
pub fn reopen(p: &alloc::sync::Arc<Pipe>, flags: u32) -> crate::fs::FileRef {
    use linux_raw_sys::general as g;
    let keep = flags & (g::O_NONBLOCK | g::O_ACCMODE);
    let kind = match flags & g::O_ACCMODE {
        g::O_RDONLY => {
            p.open_end(true);
            super::FileKind::PipeRead(p.clone())
        }
        g::O_WRONLY => {
            p.open_end(false);
            super::FileKind::PipeWrite(p.clone())
        }
        _ => {
            p.open_end(true);
            p.open_end(false);
            super::FileKind::PipeBoth(p.clone())
        }
    };
    super::OpenFile::new(kind, keep)
}

/// Open FIFO `loc` without waiting: `Err(EAGAIN)` if the open has to wait for the other
/// side (the async openat does that wait), ENXIO for a non-blocking writer without readers.
pub fn open_fifo(_t: &crate::task::Thread, loc: &velox_vfs::Loc, flags: u32) -> Result<crate::fs::FileRef, u32> {
    use linux_raw_sys::general as g;
    let p = fifo_pipe(loc)?;
    let (readers, writers, _, _) = p.ends();
    let nb = flags & g::O_NONBLOCK != 0;
    let keep = flags & (g::O_NONBLOCK | g::O_ACCMODE);
    match flags & g::O_ACCMODE {
        g::O_RDONLY if nb || writers > 0 => {
            p.open_end(true);
            Ok(super::OpenFile::new(super::FileKind::PipeRead(p), keep))
        }
        g::O_WRONLY if readers > 0 => {
            p.open_end(false);
            Ok(super::OpenFile::new(super::FileKind::PipeWrite(p), keep))
        }
        g::O_WRONLY if nb => Err(errno::ENXIO),
        g::O_RDWR => {
            // Both ends in one description (Linux allows it; it never blocks).
            p.open_end(true);
            p.open_end(false);
            Ok(super::OpenFile::new(super::FileKind::PipeBoth(p), keep))
        }
        _ => Err(errno::EAGAIN),
    }
}

/// Open FIFO `loc`, waiting for the other side (the async openat). `Err(RESTART)`-style
/// errors come from `interrupted` when a signal ends the wait.
pub async fn open_fifo_wait(t: &crate::task::Thread, loc: &velox_vfs::Loc, flags: u32) -> Result<crate::fs::FileRef, u32> {
    use linux_raw_sys::general as g;
    let p = fifo_pipe(loc)?;
    let read = flags & g::O_ACCMODE == g::O_RDONLY;
    let (_, _, r0, w0) = p.ends();
    p.open_end(read);
    let keep = flags & (g::O_NONBLOCK | g::O_ACCMODE);
    // The end is counted from here on: the description owns it (dropping it closes it).
    let f = super::OpenFile::new(if read { super::FileKind::PipeRead(p.clone()) } else { super::FileKind::PipeWrite(p.clone()) }, keep);
    let q = if read { &p.read_wait } else { &p.write_wait };
    q.wait_until(|| {
        let (r, w, rt, wt) = p.ends();
        // The other side is open, or opened (and maybe closed again) since we came.
        let ready = if read { w > 0 || wt != w0 } else { r > 0 || rt != r0 };
        if ready {
            Some(Ok(()))
        } else if t.signal_pending() || t.is_exiting() {
            Some(Err((-crate::task::signal::ERESTARTSYS) as u32))
        } else {
            None
        }
    })
    .await?;
    Ok(f)
}
