//! File-descriptor system calls: read, write, readv, writev, pread64, pwrite64, lseek, ioctl,
//! close, dup, dup3, fcntl, pipe2. (Path calls are in `path`, stat calls in `stat`.)
//!
//! Reads and writes try once without blocking (`try_read`/`try_write`); the fast handlers
//! finish when that attempt completes the call, and the async handlers loop, parking the
//! thread on the file's wait queue in between.

use super::{Args, Fast, err, ret, uaccess};
use crate::fs::pipe::{Io, Pipe};
use crate::fs::{FileKind, FileRef, Node, OpenFile};
use crate::task::Thread;
use crate::task::signal;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use linux_raw_sys::ioctl;
use velox_hal as hal;
use velox_hal::trap::UserContext;

/// Largest iovec count (UIO_MAXIOV).
const IOV_MAX: usize = 1024;

/// The open file at `fd`.
#[inline]
pub fn file(t: &Thread, fd: usize) -> Result<FileRef, u32> {
    t.process.fds.lock().get(fd).cloned().ok_or(errno::EBADF)
}

pub fn nofile(t: &Thread) -> usize {
    t.process.limits.lock()[g::RLIMIT_NOFILE as usize].0.min(1 << 20) as usize
}

/// Linux's cap on one read or write (INT_MAX rounded down to a page): longer requests
/// transfer at most this much, as `rw_verify_area` clamps them.
pub const MAX_RW_COUNT: usize = 0x7fff_f000;

fn check_range(buf: usize, len: usize) -> Result<(), u32> {
    if buf.checked_add(len).is_none_or(|e| e > hal::USER_END) { Err(errno::EFAULT) } else { Ok(()) }
}

/// One non-blocking read attempt.
fn try_read(f: &OpenFile, buf: usize, len: usize) -> Io {
    if !f.readable() {
        return Io::Err(errno::EBADF);
    }
    match &f.kind {
        FileKind::Console => {
            let mut tmp = [0u8; 128];
            let mut n = 0;
            while n < len.min(tmp.len()) {
                match crate::fs::console_read_byte() {
                    Some(b) => {
                        tmp[n] = if b == b'\r' { b'\n' } else { b };
                        n += 1;
                    }
                    None => break,
                }
            }
            if n == 0 {
                return Io::WouldBlock;
            }
            hal::console::write_bytes(&tmp[..n]); // echo, as a cooked tty would
            match uaccess::write_bytes(buf, &tmp[..n]) {
                Ok(()) => Io::Done(n),
                Err(e) => Io::Err(e),
            }
        }
        FileKind::Null => Io::Done(0),
        FileKind::Zero | FileKind::Full => zero_read(buf, len.min(STEP_BYTES)),
        FileKind::Random => random_read(buf, len.min(STEP_BYTES)),
        FileKind::Node(n) => {
            let pos = f.pos.load(Ordering::Relaxed);
            match node_read(n, pos as u64, buf, len) {
                Ok(k) => {
                    f.pos.store(pos + k, Ordering::Relaxed);
                    Io::Done(k)
                }
                Err(e) => Io::Err(e),
            }
        }
        FileKind::PipeRead(p) | FileKind::PipeBoth(p) => p.try_read(buf, len),
        FileKind::PipeWrite(_) => Io::Err(errno::EBADF),
    }
}

/// Read from a file of the tree at `off` into user memory.
pub fn node_read(n: &Node, off: u64, buf: usize, len: usize) -> Result<usize, u32> {
    if n.path_only {
        return Err(errno::EBADF);
    }
    let mut at = buf;
    n.loc.inode.read_at(off, len, &mut |b| {
        hal::user::copy_to_user(at, b).map_err(|_| errno::EFAULT)?;
        at += b.len();
        Ok(())
    })
}

/// Write user memory to a file of the tree at `off` (its end with `append`); returns the
/// bytes written and the offset after them.
pub fn node_write(n: &Node, off: u64, buf: usize, len: usize, append: bool) -> Result<(usize, u64), u32> {
    if n.path_only {
        return Err(errno::EBADF);
    }
    let mut at = buf;
    n.loc.inode.write_at(off, len, append, &mut |b| {
        hal::user::copy_from_user(b, at).map_err(|_| errno::EFAULT)?;
        at += b.len();
        Ok(())
    })
}

/// /dev/urandom: bytes from the kernel's generator, in 256-byte pieces.
fn random_read(buf: usize, len: usize) -> Io {
    let mut tmp = [0u8; 256];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(tmp.len());
        crate::syscall::sys::fill_random(&mut tmp[..n]);
        if uaccess::write_bytes(buf + done, &tmp[..n]).is_err() {
            return if done > 0 { Io::Done(done) } else { Io::Err(errno::EFAULT) };
        }
        done += n;
    }
    Io::Done(done)
}

/// Most bytes one step of a read or write moves for devices that never block (/dev/zero,
/// the console): the kernel runs with interrupts off, so a 2 GiB request is done in steps
/// with a yield between them (the async handlers loop; see `read`/`write_all`), never as one
/// multi-second stretch that stalls every other thread.
pub const STEP_BYTES: usize = 64 << 10;

/// Zero `len` user bytes page by page: a fault part-way returns the bytes done (EFAULT if none).
fn zero_read(buf: usize, len: usize) -> Io {
    let mut done = 0;
    while done < len {
        let n = (len - done).min(4096 - ((buf + done) & 4095));
        if hal::user::zero_user(buf + done, n).is_err() {
            return if done > 0 { Io::Done(done) } else { Io::Err(errno::EFAULT) };
        }
        done += n;
    }
    Io::Done(done)
}

fn console_write(buf: usize, len: usize) -> Io {
    let len = len.min(STEP_BYTES);
    let mut chunk = [0u8; 256];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(chunk.len());
        if uaccess::read_bytes(buf + done, &mut chunk[..n]).is_err() {
            return if done > 0 { Io::Done(done) } else { Io::Err(errno::EFAULT) };
        }
        hal::console::write_bytes(&chunk[..n]);
        done += n;
    }
    Io::Done(done)
}

/// One non-blocking write attempt; with `all`, a pipe takes everything or nothing.
fn try_write(f: &OpenFile, buf: usize, len: usize, all: bool) -> Io {
    if !f.writable() {
        return Io::Err(errno::EBADF);
    }
    match &f.kind {
        FileKind::Console => console_write(buf, len),
        FileKind::Null | FileKind::Zero | FileKind::Random => Io::Done(len),
        FileKind::Full => Io::Err(errno::ENOSPC),
        FileKind::PipeWrite(p) | FileKind::PipeBoth(p) => p.try_write(buf, len, all),
        FileKind::Node(n) => {
            let append = f.flags.load(Ordering::Relaxed) & g::O_APPEND != 0;
            match node_write(n, f.pos.load(Ordering::Relaxed) as u64, buf, len, append) {
                Ok((k, end)) => {
                    f.pos.store(end as usize, Ordering::Relaxed);
                    Io::Done(k)
                }
                Err(e) => Io::Err(e),
            }
        }
        FileKind::PipeRead(_) => Io::Err(errno::EBADF),
    }
}

/// ERESTARTSYS as an errno-style value: a wait a signal interrupted (`err(RESTART)` gives
/// the restart code the dispatcher settles).
const RESTART: u32 = (-signal::ERESTARTSYS) as u32;

/// Park until `f` may be readable, or (with `write = Some(len)`) until a write of `len` bytes
/// can make progress. `Err(RESTART)` if a signal for `t` ends the wait first. (The signal
/// check sits in the queue's condition: no wrapper future around the wait.)
async fn wait_ready(t: &Thread, f: &OpenFile, write: Option<usize>) -> Result<(), u32> {
    let stop = || if t.signal_pending() || t.is_exiting() { Some(Err(RESTART)) } else { None };
    match &f.kind {
        FileKind::PipeRead(p) | FileKind::PipeWrite(p) | FileKind::PipeBoth(p) => {
            let p: &Pipe = p;
            match write {
                Some(len) => p.write_wait.wait_until(|| if p.can_write(len) { Some(Ok(())) } else { stop() }).await,
                None => {
                    p.read_wait
                        .wait_until(|| {
                            let (r, _, hup, _) = p.poll_state();
                            if r || hup { Some(Ok(())) } else { stop() }
                        })
                        .await
                }
            }
        }
        // The console has no interrupt yet: poll it every 10 ms.
        _ => {
            let tick = crate::time::sleep_until(crate::time::ticks() + crate::time::ns_to_ticks(10_000_000));
            signal::interruptible(t, tick).await.map_err(|_| RESTART)
        }
    }
}

/// EPIPE: the writing thread also gets SIGPIPE (its default action ends the process; a
/// handler runs before the write returns EPIPE), as on Linux.
fn sigpipe(t: &Thread) {
    let info = velox_abi::SigInfo::new(g::SIGPIPE as i32, g::SI_USER as i32).with_sender(t.process.pid as u32, t.process.cred.lock().uid.r);
    let _ = signal::send_thread(t, &info);
}

pub fn read_fast(t: &Thread, c: &UserContext) -> Fast {
    let (fd, buf, len) = (c.arg(0), c.arg(1), c.arg(2));
    let f = match file(t, fd).and_then(|f| check_range(buf, len).map(|_| f)) {
        Ok(f) => f,
        Err(e) => return Fast::Done(err(e)),
    };
    let len = len.min(MAX_RW_COUNT);
    if len == 0 {
        return Fast::Done(if f.readable() { 0 } else { err(errno::EBADF) });
    }
    if len > STEP_BYTES && matches!(f.kind, FileKind::Zero | FileKind::Full | FileKind::Random | FileKind::Node(_)) {
        return Fast::Slow; // in steps, with yields (`read`)
    }
    match try_read(&f, buf, len) {
        Io::Done(n) => Fast::Done(n as isize),
        Io::Err(e) => Fast::Done(err(e)),
        Io::WouldBlock if f.nonblocking() => Fast::Done(err(errno::EAGAIN)),
        Io::WouldBlock => Fast::Slow,
    }
}

/// read: returns what is available, waiting for the first byte unless O_NONBLOCK.
pub async fn read(t: Arc<Thread>, a: Args) -> isize {
    let (fd, buf, len) = (a.0[0], a.0[1], a.0[2]);
    let f = match file(&t, fd).and_then(|f| check_range(buf, len).map(|_| f)) {
        Ok(f) => f,
        Err(e) => return err(e),
    };
    let len = len.min(MAX_RW_COUNT);
    if len == 0 {
        return if f.readable() { 0 } else { err(errno::EBADF) };
    }
    if matches!(f.kind, FileKind::Zero | FileKind::Full | FileKind::Random | FileKind::Node(_)) && f.readable() {
        // Devices and files fill any length: step by step, yielding between steps.
        let mut done = 0;
        while done < len {
            match try_read(&f, buf + done, (len - done).min(STEP_BYTES)) {
                Io::Done(0) => break, // end of file
                Io::Done(n) => done += n,
                Io::Err(e) => return if done > 0 { done as isize } else { err(e) },
                Io::WouldBlock => break,
            }
            if done < len {
                crate::exec::yield_now().await;
            }
        }
        return done as isize;
    }
    loop {
        match try_read(&f, buf, len) {
            Io::Done(n) => return n as isize,
            Io::Err(e) => return err(e),
            Io::WouldBlock if f.nonblocking() => return err(errno::EAGAIN),
            Io::WouldBlock => {
                if let Err(e) = wait_ready(&t, &f, None).await {
                    return err(e);
                }
            }
        }
    }
}

pub fn write_fast(t: &Thread, c: &UserContext) -> Fast {
    let (fd, buf, len) = (c.arg(0), c.arg(1), c.arg(2));
    let f = match file(t, fd).and_then(|f| check_range(buf, len).map(|_| f)) {
        Ok(f) => f,
        Err(e) => return Fast::Done(err(e)),
    };
    let len = len.min(MAX_RW_COUNT);
    if len > STEP_BYTES && matches!(f.kind, FileKind::Console | FileKind::Node(_)) {
        return Fast::Slow; // in steps, with yields (`write_all`)
    }
    match try_write(&f, buf, len, true) {
        Io::Done(n) => Fast::Done(n as isize),
        Io::Err(errno::EPIPE) => Fast::Slow, // may end the process: the slow path does that
        Io::Err(e) => Fast::Done(err(e)),
        Io::WouldBlock if f.nonblocking() => match try_write(&f, buf, len, false) {
            Io::Done(n) => Fast::Done(n as isize),
            _ => Fast::Done(err(errno::EAGAIN)),
        },
        Io::WouldBlock => Fast::Slow,
    }
}

/// Write all of `[buf, buf+len)` (blocking) or what fits (O_NONBLOCK); bytes written.
async fn write_all(t: &Thread, f: &OpenFile, buf: usize, len: usize) -> Result<usize, u32> {
    let mut done = 0;
    let step = if matches!(f.kind, FileKind::Node(_)) { STEP_BYTES } else { usize::MAX };
    loop {
        match try_write(f, buf + done, (len - done).min(step), false) {
            Io::Done(n) => {
                done += n;
                if done == len {
                    return Ok(done);
                }
                if matches!(f.kind, FileKind::Console | FileKind::Node(_)) {
                    crate::exec::yield_now().await; // a long console write goes in steps
                }
            }
            Io::WouldBlock if f.nonblocking() => {
                return if done > 0 { Ok(done) } else { Err(errno::EAGAIN) };
            }
            Io::WouldBlock => {
                // Interrupted: what was written so far, or a restart if nothing was.
                if let Err(e) = wait_ready(t, f, Some(len - done)).await {
                    return if done > 0 { Ok(done) } else { Err(e) };
                }
            }
            Io::Err(e) => {
                if e == errno::EPIPE {
                    sigpipe(t);
                }
                return if done > 0 { Ok(done) } else { Err(e) };
            }
        }
        if t.is_exiting() {
            return Ok(done);
        }
    }
}

/// write: blocking writes to a pipe complete in full; writes of at most PIPE_BUF are atomic.
pub async fn write(t: Arc<Thread>, a: Args) -> isize {
    let (fd, buf, len) = (a.0[0], a.0[1], a.0[2]);
    let f = match file(&t, fd).and_then(|f| check_range(buf, len).map(|_| f)) {
        Ok(f) => f,
        Err(e) => return err(e),
    };
    let len = len.min(MAX_RW_COUNT);
    ret(write_all(&t, &f, buf, len).await.map(|n| n as isize))
}

fn read_iov(iov: usize, cnt: usize) -> Result<Vec<(usize, usize)>, u32> {
    if cnt > IOV_MAX {
        return Err(errno::EINVAL);
    }
    let mut v = Vec::with_capacity(cnt);
    let mut total = 0usize;
    for i in 0..cnt {
        let e: velox_abi::Iovec = uaccess::read(iov + i * size_of::<velox_abi::Iovec>())?;
        let (base, len) = (e.iov_base as usize, e.iov_len as usize);
        total = total.checked_add(len).filter(|&x| x <= isize::MAX as usize).ok_or(errno::EINVAL)?;
        v.push((base, len));
    }
    Ok(v)
}

/// writev on the fast path: the console and /dev/null (pipes take the async path).
pub fn writev_fast(t: &Thread, c: &UserContext) -> Fast {
    let (fd, iov, cnt) = (c.arg(0), c.arg(1), c.arg(2));
    let f = match file(t, fd) {
        Ok(f) => f,
        Err(e) => return Fast::Done(err(e)),
    };
    if matches!(f.kind, FileKind::PipeWrite(_)) {
        return Fast::Slow;
    }
    let v = match read_iov(iov, cnt) {
        Ok(v) => v,
        Err(e) => return Fast::Done(err(e)),
    };
    let mut total = 0usize;
    for (base, len) in v {
        if len == 0 {
            continue;
        }
        let r = check_range(base, len).map_err(|e| e).map(|_| try_write(&f, base, len, false));
        match r {
            Ok(Io::Done(n)) => total += n,
            Ok(Io::Err(e)) | Err(e) if total == 0 => return Fast::Done(err(e)),
            _ => break,
        }
    }
    Fast::Done(total as isize)
}

/// writev: each buffer in turn, with write's blocking rules.
pub async fn writev(t: Arc<Thread>, a: Args) -> isize {
    let (fd, iov, cnt) = (a.0[0], a.0[1], a.0[2]);
    let f = match file(&t, fd) {
        Ok(f) => f,
        Err(e) => return err(e),
    };
    let v = match read_iov(iov, cnt) {
        Ok(v) => v,
        Err(e) => return err(e),
    };
    let mut total = 0usize;
    for (base, len) in v {
        if len == 0 {
            continue;
        }
        let r = match check_range(base, len) {
            Ok(()) => write_all(&t, &f, base, len).await,
            Err(e) => Err(e),
        };
        match r {
            Ok(n) => {
                total += n;
                if n < len {
                    break;
                }
            }
            Err(e) if total == 0 => return err(e),
            Err(_) => break,
        }
    }
    total as isize
}

/// readv: fills the buffers in turn from what one read would return.
pub async fn readv(t: Arc<Thread>, a: Args) -> isize {
    let (fd, iov, cnt) = (a.0[0], a.0[1], a.0[2]);
    let f = match file(&t, fd) {
        Ok(f) => f,
        Err(e) => return err(e),
    };
    let v = match read_iov(iov, cnt) {
        Ok(v) => v,
        Err(e) => return err(e),
    };
    let mut total = 0usize;
    for (base, len) in v {
        if len == 0 {
            continue;
        }
        if let Err(e) = check_range(base, len) {
            return if total > 0 { total as isize } else { err(e) };
        }
        let r = loop {
            match try_read(&f, base, len) {
                Io::WouldBlock if total == 0 && !f.nonblocking() => {
                    if let Err(e) = wait_ready(&t, &f, None).await {
                        break Err(e);
                    }
                }
                Io::WouldBlock if total == 0 => break Err(errno::EAGAIN),
                Io::WouldBlock => break Ok(0),
                Io::Done(n) => break Ok(n),
                Io::Err(e) => break Err(e),
            }
        };
        match r {
            Ok(n) => {
                total += n;
                if n < len {
                    break;
                }
            }
            Err(e) if total == 0 => return err(e),
            Err(_) => break,
        }
    }
    total as isize
}

/// pread64(fd, buf, count, offset): files with a position only (ESPIPE for pipes and ttys).
pub fn pread64(t: &Thread, c: &UserContext) -> Fast {
    let (fd, buf, len, off) = (c.arg(0), c.arg(1), c.arg(2), c.arg(3) as i64);
    Fast::Done(ret((|| {
        let f = file(t, fd)?;
        if !f.readable() {
            return Err(errno::EBADF);
        }
        // As Linux's vfs_read: the buffer range first, then the position, then the clamp.
        check_range(buf, len)?;
        if off < 0 {
            return Err(errno::EINVAL);
        }
        let len = len.min(MAX_RW_COUNT);
        match &f.kind {
            FileKind::Node(n) => node_read(n, off as u64, buf, len).map(|k| k as isize),
            FileKind::Null => Ok(0),
            // (At most one step: pread has no async twin, so a longer one returns a short count.)
            FileKind::Zero => match zero_read(buf, len.min(STEP_BYTES)) {
                Io::Done(n) => Ok(n as isize),
                _ => Err(errno::EFAULT),
            },
            _ => Err(errno::ESPIPE),
        }
    })()))
}

/// pwrite64(fd, buf, count, offset).
pub fn pwrite64(t: &Thread, c: &UserContext) -> Fast {
    let (fd, buf, len, off) = (c.arg(0), c.arg(1), c.arg(2), c.arg(3) as i64);
    Fast::Done(ret((|| {
        let f = file(t, fd)?;
        if !f.writable() {
            return Err(errno::EBADF);
        }
        check_range(buf, len)?;
        if off < 0 {
            return Err(errno::EINVAL);
        }
        let len = len.min(MAX_RW_COUNT);
        match &f.kind {
            FileKind::Null | FileKind::Zero | FileKind::Random => Ok(len as isize),
            FileKind::Full => Err(errno::ENOSPC),
            // (pwrite ignores O_APPEND on Linux only without it: with O_APPEND it appends.)
            FileKind::Node(n) => {
                let append = f.flags.load(Ordering::Relaxed) & g::O_APPEND != 0;
                node_write(n, off as u64, buf, len, append).map(|r| r.0 as isize)
            }
            _ => Err(errno::ESPIPE),
        }
    })()))
}

pub fn lseek(t: &Thread, c: &UserContext) -> Fast {
    let (fd, off, whence) = (c.arg(0), c.arg(1) as i64, c.arg(2) as u32);
    Fast::Done(ret((|| {
        let f = file(t, fd)?;
        let size = match &f.kind {
            FileKind::Node(n) if n.path_only => return Err(errno::EBADF),
            FileKind::Node(n) if n.loc.inode.kind() == velox_vfs::FileType::Regular => n.loc.inode.stat().size as i64,
            FileKind::Null | FileKind::Zero | FileKind::Full | FileKind::Random | FileKind::Node(_) => 0,
            _ => return Err(errno::ESPIPE),
        };
        let cur = f.pos.load(Ordering::Relaxed) as i64;
        let base = match whence {
            g::SEEK_SET => 0,
            g::SEEK_CUR => cur,
            g::SEEK_END => size,
            // tmpfs has holes, but reports data everywhere before the end (as Linux's simple
            // implementation for file systems without SEEK_HOLE support does).
            g::SEEK_DATA | g::SEEK_HOLE => {
                if off < 0 || off >= size {
                    return Err(errno::ENXIO);
                }
                let new = if whence == g::SEEK_DATA { off } else { size };
                f.pos.store(new as usize, Ordering::Relaxed);
                return Ok(new as isize);
            }
            _ => return Err(errno::EINVAL),
        };
        let new = base.checked_add(off).filter(|&p| p >= 0).ok_or(errno::EINVAL)?;
        f.pos.store(new as usize, Ordering::Relaxed);
        Ok(new as isize)
    })()))
}

/// Linux's default termios for a serial console (stty sane, 38400 baud, 8 bits).
fn console_termios() -> velox_abi::Termios {
    let mut cc = [0u8; 19];
    cc[..17].copy_from_slice(&[3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0]);
    velox_abi::Termios { c_iflag: 0o2400, c_oflag: 0o5, c_cflag: 0o277, c_lflag: 0o105073, c_line: 0, c_cc: cc }
}

pub fn ioctl(t: &Thread, c: &UserContext) -> Fast {
    let (fd, req, arg) = (c.arg(0), c.arg(1) as u32, c.arg(2));
    Fast::Done(ret((|| match &file(t, fd)?.kind {
        FileKind::Console => match req {
            ioctl::TCGETS => uaccess::write(arg, &console_termios()).map(|_| 0),
            ioctl::TCSETS | ioctl::TCSETSW | ioctl::TCSETSF => uaccess::read::<velox_abi::Termios>(arg).map(|_| 0),
            ioctl::TIOCGWINSZ => {
                uaccess::write(arg, &velox_abi::Winsize { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 }).map(|_| 0)
            }
            _ => Err(errno::ENOTTY),
        },
        FileKind::PipeRead(p) | FileKind::PipeWrite(p) | FileKind::PipeBoth(p) if req == ioctl::FIONREAD => {
            uaccess::write(arg, &(p.available() as u32)).map(|_| 0)
        }
        _ => Err(errno::ENOTTY),
    })()))
}

pub fn close(t: &Thread, c: &UserContext) -> Fast {
    let f = t.process.fds.lock().take(c.arg(0));
    // Dropped outside the table lock: closing a pipe end wakes its peer.
    Fast::Done(if f.is_some() { 0 } else { err(errno::EBADF) })
}

pub fn dup(t: &Thread, c: &UserContext) -> Fast {
    let lim = nofile(t);
    let mut fds = t.process.fds.lock();
    Fast::Done(ret(match fds.get(c.arg(0)).cloned() {
        Some(f) => fds.insert(f, false, 0, lim).map(|fd| fd as isize),
        None => Err(errno::EBADF),
    }))
}

pub fn dup3(t: &Thread, c: &UserContext) -> Fast {
    let (old, new, flags) = (c.arg(0), c.arg(1), c.arg(2) as u32);
    if flags & !g::O_CLOEXEC != 0 || old == new {
        return Fast::Done(err(errno::EINVAL));
    }
    let lim = nofile(t);
    let replaced = {
        let mut fds = t.process.fds.lock();
        let Some(f) = fds.get(old).cloned() else {
            return Fast::Done(err(errno::EBADF));
        };
        if new >= lim {
            return Fast::Done(err(errno::EBADF));
        }
        fds.put(new, f, flags & g::O_CLOEXEC != 0)
    };
    match replaced {
        Ok(old) => {
            drop(old);
            Fast::Done(new as isize)
        }
        Err(e) => Fast::Done(err(e)),
    }
}

pub fn fcntl(t: &Thread, c: &UserContext) -> Fast {
    let (fd, cmd, arg) = (c.arg(0), c.arg(1) as u32, c.arg(2));
    let lim = nofile(t);
    let mut fds = t.process.fds.lock();
    let Some(entry) = fds.entry_mut(fd) else {
        return Fast::Done(err(errno::EBADF));
    };
    Fast::Done(ret(match cmd {
        g::F_DUPFD | g::F_DUPFD_CLOEXEC => {
            let f = entry.file.clone();
            if arg >= lim {
                Err(errno::EINVAL)
            } else {
                fds.insert(f, cmd == g::F_DUPFD_CLOEXEC, arg, lim).map(|fd| fd as isize)
            }
        }
        g::F_GETFD => Ok(entry.cloexec as isize),
        g::F_SETFD => {
            entry.cloexec = arg & g::FD_CLOEXEC as usize != 0;
            Ok(0)
        }
        g::F_GETFL => Ok(entry.file.flags.load(Ordering::Relaxed) as isize),
        g::F_SETFL => {
            let changeable = g::O_APPEND | g::O_NONBLOCK | g::FASYNC | g::O_DIRECT | g::O_NOATIME;
            let fl = &entry.file.flags;
            let old = fl.load(Ordering::Relaxed);
            fl.store((old & !changeable) | (arg as u32 & changeable), Ordering::Relaxed);
            Ok(0)
        }
        g::F_GETPIPE_SZ => match entry.file.kind {
            FileKind::PipeRead(_) | FileKind::PipeWrite(_) | FileKind::PipeBoth(_) => Ok(crate::fs::pipe::PIPE_CAPACITY as isize),
            _ => Err(errno::EBADF),
        },
        _ => Err(errno::EINVAL),
    }))
}

/// pipe2(fds, flags): O_CLOEXEC and O_NONBLOCK (O_DIRECT packet mode is not supported).
pub fn pipe2(t: &Thread, c: &UserContext) -> Fast {
    let (ptr, flags) = (c.arg(0), c.arg(1) as u32);
    Fast::Done(ret((|| {
        if flags & !(g::O_CLOEXEC | g::O_NONBLOCK) != 0 {
            return Err(errno::EINVAL);
        }
        if crate::mm::heap_free() < crate::config::HEAP_RESERVE + crate::fs::pipe::PIPE_CAPACITY {
            return Err(errno::ENFILE);
        }
        let p = Arc::new(Pipe::new());
        let nb = flags & g::O_NONBLOCK;
        let r = OpenFile::new(FileKind::PipeRead(p.clone()), g::O_RDONLY | nb);
        let w = OpenFile::new(FileKind::PipeWrite(p), g::O_WRONLY | nb);
        let cloexec = flags & g::O_CLOEXEC != 0;
        let lim = nofile(t);
        let (a, b) = {
            let mut fds = t.process.fds.lock();
            let a = fds.insert(r, cloexec, 0, lim)?;
            match fds.insert(w, cloexec, 0, lim) {
                Ok(b) => (a, b),
                Err(e) => {
                    let _ = fds.take(a);
                    return Err(e);
                }
            }
        };
        if let Err(e) = uaccess::write(ptr, &[a as u32, b as u32]) {
            let mut fds = t.process.fds.lock();
            let _ = (fds.take(a), fds.take(b));
            return Err(e);
        }
        Ok(0)
    })()))
}
