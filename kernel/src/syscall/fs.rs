//! File-descriptor system calls: read, write, readv, writev, pread64, pwrite64, lseek, ioctl,
//! close, dup, dup3, fcntl, pipe2. (Path calls are in `path`, stat calls in `stat`.)
//!
//! Reads and writes try once without blocking (`try_read`/`try_write`); the fast handlers
//! finish when that attempt completes the call, and the async handlers loop, parking the
//! thread on the file's wait queue in between.

use super::{Args, Fast, err, ret, uaccess};
use crate::fs::pipe::{Io, Pipe};
use crate::dev::tty;
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
fn try_read(t: &Thread, f: &OpenFile, buf: usize, len: usize) -> Io {
    if !f.readable() {
        return Io::Err(errno::EBADF);
    }
    match &f.kind {
        FileKind::Console if f.nonblocking() => tty::console().try_read_nonblock(t, buf, len),
        FileKind::Console => tty::console().try_read(t, buf, len),
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
        FileKind::Socket(s) => super::socket::try_read(s, buf, len),
        FileKind::EventFd(e) => e.try_read(buf, len),
        FileKind::Epoll(_) => Io::Err(errno::EINVAL),
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
/// `sync`: O_SYNC/O_DSYNC (or RWF_SYNC/RWF_DSYNC): the data and what finds it are on the disk
/// before the write returns (file systems with a page cache write back later otherwise).
pub fn node_write(n: &Node, off: u64, buf: usize, len: usize, append: bool, sync: bool) -> Result<(usize, u64), u32> {
    if n.path_only {
        return Err(errno::EBADF);
    }
    let mut at = buf;
    let r = n.loc.inode.write_at(off, len, append, &mut |b| {
        hal::user::copy_from_user(b, at).map_err(|_| errno::EFAULT)?;
        at += b.len();
        Ok(())
    })?;
    if sync {
        n.loc.inode.sync()?;
    }
    Ok(r)
}

/// Does a write through `f` go to the disk at once (O_SYNC or O_DSYNC)?
fn sync_writes(f: &OpenFile) -> bool {
    f.flags.load(Ordering::Relaxed) & g::O_DSYNC != 0
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

/// One non-blocking write attempt; with `all`, a pipe takes everything or nothing.
/// (The device files that take nothing are answered here, inlined into the trap fast path;
/// the rest in [`try_write_other`], whose register saves they would otherwise pay.)
#[inline(always)]
fn try_write(t: &Thread, f: &OpenFile, buf: usize, len: usize, all: bool) -> Io {
    if !f.writable() {
        return Io::Err(errno::EBADF);
    }
    match &f.kind {
        FileKind::Null | FileKind::Zero | FileKind::Random => Io::Done(len),
        FileKind::Full => Io::Err(errno::ENOSPC),
        _ => try_write_other(t, f, buf, len, all),
    }
}

/// [`try_write`] of the other kinds of file (`f` is writable).
#[inline(never)]
fn try_write_other(t: &Thread, f: &OpenFile, buf: usize, len: usize, all: bool) -> Io {
    match &f.kind {
        FileKind::Console => tty::console().write(t, buf, len),
        FileKind::Null | FileKind::Zero | FileKind::Random => Io::Done(len),
        FileKind::Full => Io::Err(errno::ENOSPC),
        FileKind::PipeWrite(p) | FileKind::PipeBoth(p) => p.try_write(buf, len, all),
        FileKind::Node(n) => {
            let append = f.flags.load(Ordering::Relaxed) & g::O_APPEND != 0;
            match node_write(n, f.pos.load(Ordering::Relaxed) as u64, buf, len, append, sync_writes(f)) {
                Ok((k, end)) => {
                    f.pos.store(end as usize, Ordering::Relaxed);
                    Io::Done(k)
                }
                Err(e) => Io::Err(e),
            }
        }
        FileKind::PipeRead(_) => Io::Err(errno::EBADF),
        FileKind::Socket(s) => super::socket::try_write(s, buf, len),
        FileKind::EventFd(e) => e.try_write(buf, len),
        FileKind::Epoll(_) => Io::Err(errno::EINVAL),
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
        FileKind::Console => match write {
            Some(_) => tty::console().wait_writable(t).await,
            None => tty::console().wait_readable(t).await,
        },
        FileKind::Socket(s) => super::socket::wait_ready(t, s, write).await,
        // (Writes wait in `eventfd_write`, for room for their value.)
        FileKind::EventFd(e) if write.is_none() => e.wait.wait_until(|| if e.poll_state().0 { Some(Ok(())) } else { stop() }).await,
        _ => {
            let tick = crate::time::sleep_until(crate::time::ticks() + crate::time::ns_to_ticks(10_000_000));
            signal::interruptible(t, tick).await.map_err(|_| RESTART)
        }
    }
}

/// EPIPE: the writing thread also gets SIGPIPE (its default action ends the process; a
/// handler runs before the write returns EPIPE), as on Linux.
pub(crate) fn sigpipe(t: &Thread) {
    let info = velox_abi::SigInfo::new(g::SIGPIPE as i32, g::SI_USER as i32).with_sender(t.process.pid as u32, t.process.cred.lock().uid.r);
    let _ = signal::send_thread(t, &info);
}

/// The file of a read or write at `fd` and its buffer checked: EBADF, EINVAL for an epoll
/// (no read or write: Linux's check comes before the buffer's), EFAULT.
#[inline]
fn rw_file(t: &Thread, fd: usize, buf: usize, len: usize) -> Result<FileRef, u32> {
    let f = file(t, fd)?;
    if matches!(f.kind, FileKind::Epoll(_)) {
        return Err(errno::EINVAL);
    }
    check_range(buf, len)?;
    Ok(f)
}

/// True for files whose reads of 0 bytes are not simply 0 (an eventfd's are EINVAL).
#[inline]
fn sized_io(f: &OpenFile) -> bool {
    matches!(f.kind, FileKind::EventFd(_))
}

#[inline(always)]
pub fn read_fast(t: &Thread, c: &UserContext) -> Fast {
    let (fd, buf, len) = (c.arg(0), c.arg(1), c.arg(2));
    let f = match rw_file(t, fd, buf, len) {
        Ok(f) => f,
        Err(e) => return Fast::Done(err(e)),
    };
    let len = len.min(MAX_RW_COUNT);
    if len == 0 && !sized_io(&f) {
        return Fast::Done(if f.readable() { 0 } else { err(errno::EBADF) });
    }
    if len > STEP_BYTES && matches!(f.kind, FileKind::Zero | FileKind::Full | FileKind::Random | FileKind::Node(_)) {
        return Fast::Slow; // in steps, with yields (`read`)
    }
    match try_read(&t, &f, buf, len) {
        Io::Done(n) => Fast::Done(n as isize),
        // A background read from the terminal (SIGTTIN sent): the slow path settles it.
        Io::Err(tty::RESTART) => Fast::Slow,
        Io::Err(e) => Fast::Done(err(e)),
        Io::WouldBlock if f.nonblocking() => Fast::Done(err(errno::EAGAIN)),
        Io::WouldBlock => Fast::Slow,
    }
}

/// read: returns what is available, waiting for the first byte unless O_NONBLOCK.
pub async fn read(t: Arc<Thread>, a: Args) -> isize {
    let (fd, buf, len) = (a.0[0], a.0[1], a.0[2]);
    let f = match rw_file(&t, fd, buf, len) {
        Ok(f) => f,
        Err(e) => return err(e),
    };
    let len = len.min(MAX_RW_COUNT);
    if len == 0 && !sized_io(&f) {
        return if f.readable() { 0 } else { err(errno::EBADF) };
    }
    if matches!(f.kind, FileKind::Zero | FileKind::Full | FileKind::Random | FileKind::Node(_)) && f.readable() {
        // Devices and files fill any length: step by step, yielding between steps.
        let mut done = 0;
        while done < len {
            match try_read(&t, &f, buf + done, (len - done).min(STEP_BYTES)) {
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
    // A blocking read of a pipe comes here, most often, because the fast path found it empty
    // a moment ago: wait first (the wait looks at the pipe before and after registering, so
    // a write in between is not missed, and returns at once if there is data or no writer
    // left), then read; nothing is read twice in vain.
    let mut wait_first = !f.nonblocking() && matches!(f.kind, FileKind::PipeRead(_) | FileKind::PipeBoth(_));
    loop {
        if wait_first {
            wait_first = false;
            if let Err(e) = wait_ready(&t, &f, None).await {
                return err(e);
            }
        }
        match try_read(&t, &f, buf, len) {
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

#[inline(always)]
pub fn write_fast(t: &Thread, c: &UserContext) -> Fast {
    let (fd, buf, len) = (c.arg(0), c.arg(1), c.arg(2));
    let f = match rw_file(t, fd, buf, len) {
        Ok(f) => f,
        Err(e) => return Fast::Done(err(e)),
    };
    let len = len.min(MAX_RW_COUNT);
    if len > STEP_BYTES && matches!(f.kind, FileKind::Console | FileKind::Node(_)) {
        return Fast::Slow; // in steps, with yields (`write_all`)
    }
    if matches!(f.kind, FileKind::Socket(_)) {
        return Fast::Slow; // a stream may take part now and the rest later (`write_all`)
    }
    match try_write(t, &f, buf, len, true) {
        Io::Done(n) => Fast::Done(n as isize),
        Io::Err(errno::EPIPE) => Fast::Slow, // may end the process: the slow path does that
        Io::Err(tty::RESTART) => Fast::Slow, // a background write (SIGTTOU sent)
        Io::Err(e) => Fast::Done(err(e)),
        Io::WouldBlock if f.nonblocking() => match try_write(t, &f, buf, len, false) {
            Io::Done(n) => Fast::Done(n as isize),
            _ => Fast::Done(err(errno::EAGAIN)),
        },
        Io::WouldBlock => Fast::Slow,
    }
}

/// Write all of `[buf, buf+len)` (blocking) or what fits (O_NONBLOCK); bytes written.
async fn write_all(t: &Thread, f: &OpenFile, buf: usize, len: usize) -> Result<usize, u32> {
    if let FileKind::EventFd(e) = &f.kind {
        return eventfd_write(t, f, e, buf, len).await;
    }
    let mut done = 0;
    let step = if matches!(f.kind, FileKind::Node(_)) { STEP_BYTES } else { usize::MAX };
    loop {
        match try_write(t, f, buf + done, (len - done).min(step), false) {
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
                // (A datagram or seqpacket socket's EPIPE comes without the signal, as Linux.)
                if e == errno::EPIPE && !matches!(&f.kind, FileKind::Socket(s) if s.ty != crate::net::unix::Type::Stream) {
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

/// A write to an eventfd: its 8-byte value added to the counter, waiting (unless
/// O_NONBLOCK: EAGAIN) while the sum would pass 0xffff_ffff_ffff_fffe.
async fn eventfd_write(t: &Thread, f: &OpenFile, e: &crate::fs::eventfd::EventFd, buf: usize, len: usize) -> Result<usize, u32> {
    let v = crate::fs::eventfd::EventFd::write_value(buf, len)?;
    if e.try_add(v) {
        return Ok(8);
    }
    if f.nonblocking() {
        return Err(errno::EAGAIN);
    }
    e.wait
        .wait_until(|| {
            if e.try_add(v) {
                Some(Ok(8))
            } else if t.signal_pending() || t.is_exiting() {
                Some(Err(RESTART))
            } else {
                None
            }
        })
        .await
}

/// write: blocking writes to a pipe complete in full; writes of at most PIPE_BUF are atomic.
pub async fn write(t: Arc<Thread>, a: Args) -> isize {
    let (fd, buf, len) = (a.0[0], a.0[1], a.0[2]);
    let f = match rw_file(&t, fd, buf, len) {
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

/// writev on the fast path: files and devices (pipes and the terminal take the async path).
pub fn writev_fast(t: &Thread, c: &UserContext) -> Fast {
    let (fd, iov, cnt) = (c.arg(0), c.arg(1), c.arg(2));
    let f = match file(t, fd) {
        Ok(f) => f,
        Err(e) => return Fast::Done(err(e)),
    };
    if matches!(f.kind, FileKind::PipeWrite(_) | FileKind::PipeBoth(_) | FileKind::Console | FileKind::EventFd(_) | FileKind::Socket(_)) {
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
        let r = check_range(base, len).map_err(|e| e).map(|_| try_write(t, &f, base, len, false));
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
    if let FileKind::Socket(s) = &f.kind {
        return match super::socket::rw_vectored(&t, &f, s, &v, true) {
            Ok(fut) => ret(fut.await.map(|n| n as isize)),
            Err(e) => err(e),
        };
    }
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
    if let FileKind::Socket(s) = &f.kind {
        if !f.readable() {
            return err(errno::EBADF);
        }
        return match super::socket::rw_vectored(&t, &f, s, &v, false) {
            Ok(fut) => ret(fut.await.map(|n| n as isize)),
            Err(e) => err(e),
        };
    }
    let mut total = 0usize;
    for (base, len) in v {
        if len == 0 {
            continue;
        }
        if let Err(e) = check_range(base, len) {
            return if total > 0 { total as isize } else { err(e) };
        }
        let r = loop {
            match try_read(&t, &f, base, len) {
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
                node_write(n, off as u64, buf, len, append, sync_writes(&f)).map(|r| r.0 as isize)
            }
            _ => Err(errno::ESPIPE),
        }
    })()))
}

/// fadvise64(fd, offset, len, advice): checked as Linux does (EBADF, ESPIPE for a pipe or
/// FIFO, EINVAL for an unknown advice or a negative length), then taken as the hint it is and
/// not acted on: the page cache reads ahead on its own, and keeps or drops pages by its own
/// rules (Linux does the same on file systems without a backing device).
pub fn fadvise64(t: &Thread, c: &UserContext) -> Fast {
    let (fd, len, advice) = (c.arg(0), c.arg(2) as i64, c.arg(3) as u32);
    Fast::Done(ret((|| {
        let f = file(t, fd)?;
        match &f.kind {
            FileKind::PipeRead(_) | FileKind::PipeWrite(_) | FileKind::PipeBoth(_) => return Err(errno::ESPIPE),
            FileKind::Node(n) if n.path_only => return Err(errno::EBADF),
            FileKind::Node(n) if n.loc.inode.kind() == velox_vfs::FileType::Fifo => return Err(errno::ESPIPE),
            _ => {}
        }
        if len < 0 || advice > g::POSIX_FADV_NOREUSE {
            return Err(errno::EINVAL);
        }
        Ok(0)
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
            // (Linux's noop_llseek: the position stays 0.)
            FileKind::EventFd(_) | FileKind::Epoll(_) => return Ok(0),
            _ => return Err(errno::ESPIPE),
        };
        let cur = f.pos.load(Ordering::Relaxed) as i64;
        let is_dir = matches!(&f.kind, FileKind::Node(n) if n.loc.inode.kind() == velox_vfs::FileType::Dir);
        let base = match whence {
            g::SEEK_SET => 0,
            g::SEEK_CUR => cur,
            // (tmpfs directories: only SEEK_SET and SEEK_CUR, as Linux's dcache_dir_lseek.)
            g::SEEK_END if is_dir => return Err(errno::EINVAL),
            g::SEEK_END => size,
            g::SEEK_DATA | g::SEEK_HOLE => {
                let FileKind::Node(n) = &f.kind else { return Err(errno::ENXIO) };
                if off < 0 {
                    return Err(errno::ENXIO);
                }
                let new = n.loc.inode.seek_data(off as u64, whence == g::SEEK_HOLE)? as i64;
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

/// ioctl(fd, request, arg): the terminal's requests (termios, window size, job control),
/// FIONREAD on pipes, and FIONBIO/FIOCLEX/FIONCLEX on any descriptor.
pub fn ioctl(t: &Thread, c: &UserContext) -> Fast {
    match ioctl_common(t, c.arg(0), c.arg(1) as u32, c.arg(2)) {
        // A background process changing the terminal (SIGTTOU sent): the slow path settles it.
        r if r == err(tty::RESTART) => Fast::Slow,
        r => Fast::Done(r),
    }
}

/// ioctl when it has to stop for job control.
pub async fn ioctl_async(t: Arc<Thread>, a: Args) -> isize {
    ioctl_common(&t, a.0[0], a.0[1] as u32, a.0[2])
}

fn ioctl_common(t: &Thread, fd: usize, req: u32, arg: usize) -> isize {
    let f = match file(t, fd) {
        Ok(f) => f,
        Err(e) => return err(e),
    };
    if matches!(&f.kind, FileKind::Node(n) if n.path_only) {
        return err(errno::EBADF); // O_PATH descriptors take no ioctls
    }
    match req {
        ioctl::FIONBIO => {
            return ret(uaccess::read::<i32>(arg).map(|on| {
                if on != 0 {
                    f.flags.fetch_or(g::O_NONBLOCK, Ordering::Relaxed);
                } else {
                    f.flags.fetch_and(!g::O_NONBLOCK, Ordering::Relaxed);
                }
                0
            }));
        }
        ioctl::FIOCLEX | ioctl::FIONCLEX => {
            let mut fds = t.process.fds.lock();
            return match fds.entry_mut(fd) {
                Some(e) => {
                    e.cloexec = req == ioctl::FIOCLEX;
                    0
                }
                None => err(errno::EBADF),
            };
        }
        _ => {}
    }
    match &f.kind {
        FileKind::Console => tty::console().ioctl(t, req, arg),
        FileKind::PipeRead(p) | FileKind::PipeWrite(p) | FileKind::PipeBoth(p) if req == ioctl::FIONREAD => {
            ret(uaccess::write(arg, &(p.available() as u32)).map(|_| 0))
        }
        // SIOCINQ is FIONREAD.
        FileKind::Socket(s) if req == ioctl::FIONREAD => ret(s.available().and_then(|n| uaccess::write(arg, &(n.min(i32::MAX as usize) as i32))).map(|_| 0)),
        FileKind::Node(n) if req == ioctl::FIONREAD && n.loc.inode.kind() == velox_vfs::FileType::Regular => {
            let size = n.loc.inode.stat().size as usize;
            let left = size.saturating_sub(f.pos.load(Ordering::Relaxed)).min(i32::MAX as usize);
            ret(uaccess::write(arg, &(left as i32)).map(|_| 0))
        }
        _ => err(errno::ENOTTY),
    }
}

pub fn close(t: &Thread, c: &UserContext) -> Fast {
    let f = t.process.fds.lock().take(c.arg(0));
    if let Some(f) = &f {
        crate::fs::locks::on_close(t.process.pid, &f.file);
    }
    // Dropped outside the table lock: closing a pipe end wakes its peer.
    Fast::Done(if f.is_some() { 0 } else { err(errno::EBADF) })
}

/// close_range(first, last, flags): close the open descriptors `first..=last` (`last` may be
/// ~0), or with CLOSE_RANGE_CLOEXEC mark them close-on-exec. CLOSE_RANGE_UNSHARE: the table
/// is the caller's own unless clone(CLONE_FILES) shares it with another process; Velox cannot
/// give a process a new table then (nor does execve), so that case is EINVAL rather than
/// closing descriptors the other process uses. Unknown flags, `first > last` → EINVAL.
pub fn close_range(t: &Thread, c: &UserContext) -> Fast {
    const CLOSE_RANGE_UNSHARE: u32 = 1 << 1;
    const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;
    let (first, last, flags) = (c.arg(0) as u32 as usize, c.arg(1) as u32 as usize, c.arg(2) as u32);
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Fast::Done(err(errno::EINVAL));
    }
    if flags & CLOSE_RANGE_UNSHARE != 0 && alloc::sync::Arc::strong_count(&t.process.fds) > 1 {
        return Fast::Done(err(errno::EINVAL));
    }
    if flags & CLOSE_RANGE_CLOEXEC != 0 {
        t.process.fds.lock().set_cloexec_range(first, last);
        return Fast::Done(0);
    }
    let closed = t.process.fds.lock().take_range(first, last);
    for f in &closed {
        crate::fs::locks::on_close(t.process.pid, &f.file);
    }
    // Dropped outside the table lock: closing a pipe end wakes its peer.
    drop(closed);
    Fast::Done(0)
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
            if let Some(o) = &old {
                crate::fs::locks::on_close(t.process.pid, &o.file);
            }
            drop(old);
            Fast::Done(new as isize)
        }
        Err(e) => Fast::Done(err(e)),
    }
}

pub fn fcntl(t: &Thread, c: &UserContext) -> Fast {
    let (fd, cmd, arg) = (c.arg(0), c.arg(1) as u32, c.arg(2));
    if super::lock::is_lock_cmd(cmd) {
        return match super::lock::fcntl_lock(t, fd, cmd, arg) {
            Some(v) => Fast::Done(v),
            None => Fast::Slow, // F_SETLKW must wait
        };
    }
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

/// preadv(fd, iov, cnt, pos): positional vectored read of a file (ESPIPE for pipes and
/// terminals).
pub fn preadv(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret(rw_vec_at(t, c.arg(0), c.arg(1), c.arg(2), c.arg(3) as i64, 0, false, false)))
}

/// pwritev(fd, iov, cnt, pos).
pub fn pwritev(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret(rw_vec_at(t, c.arg(0), c.arg(1), c.arg(2), c.arg(3) as i64, 0, true, false)))
}

/// preadv2(fd, iov, cnt, pos_l, pos_h, flags): pos -1 reads at the file position (as readv).
pub fn preadv2(t: &Thread, c: &UserContext) -> Fast {
    if c.arg(3) as i64 == -1 {
        return Fast::Slow; // readv's path (it may block)
    }
    Fast::Done(ret(rw_vec_at(t, c.arg(0), c.arg(1), c.arg(2), c.arg(3) as i64, c.arg(5) as u32, false, true)))
}

/// pwritev2(fd, iov, cnt, pos_l, pos_h, flags).
pub fn pwritev2(t: &Thread, c: &UserContext) -> Fast {
    if c.arg(3) as i64 == -1 {
        return Fast::Slow;
    }
    Fast::Done(ret(rw_vec_at(t, c.arg(0), c.arg(1), c.arg(2), c.arg(3) as i64, c.arg(5) as u32, true, true)))
}

/// preadv2/pwritev2 at the file position: readv/writev after checking the flags.
pub async fn rwv2_async(t: Arc<Thread>, a: Args) -> isize {
    let flags = a.0[5] as u32;
    if flags & !(g::RWF_HIPRI | g::RWF_DSYNC | g::RWF_SYNC | g::RWF_NOWAIT | g::RWF_APPEND) != 0 {
        return err(errno::EOPNOTSUPP);
    }
    let nr = t.ctx().syscall_nr();
    // (readv's or writev's future, boxed: inline it would not fit in the arena block with
    // this one's state; this path, offset -1, is rare.)
    if crate::mm::heap_free() < crate::config::HEAP_RESERVE + 1024 {
        return err(errno::ENOMEM);
    }
    if nr == g::__NR_pwritev2 as usize { alloc::boxed::Box::pin(writev(t, a)).await } else { alloc::boxed::Box::pin(readv(t, a)).await }
}

fn rw_vec_at(t: &Thread, fd: usize, iov: usize, cnt: usize, off: i64, flags: u32, write: bool, v2: bool) -> Result<isize, u32> {
    if v2 && flags & !(g::RWF_HIPRI | g::RWF_DSYNC | g::RWF_SYNC | g::RWF_NOWAIT | g::RWF_APPEND) != 0 {
        return Err(errno::EOPNOTSUPP);
    }
    let f = file(t, fd)?;
    if if write { !f.writable() } else { !f.readable() } {
        return Err(errno::EBADF);
    }
    let v = read_iov(iov, cnt)?;
    if off < 0 {
        return Err(errno::EINVAL);
    }
    let n = match &f.kind {
        FileKind::Node(n) => n,
        FileKind::Null if !write => return Ok(0),
        FileKind::Null | FileKind::Zero | FileKind::Random if write => return Ok(v.iter().map(|e| e.1).sum::<usize>() as isize),
        _ => return Err(errno::ESPIPE),
    };
    let append = write && (f.flags.load(Ordering::Relaxed) & g::O_APPEND != 0 || flags & g::RWF_APPEND != 0);
    let mut total = 0usize;
    for (base, len) in v {
        if len == 0 {
            continue;
        }
        let pos = off as u64 + total as u64;
        let sync = sync_writes(&f) || flags & (g::RWF_DSYNC | g::RWF_SYNC) != 0;
        let r = check_range(base, len).and_then(|_| if write { node_write(n, pos, base, len, append, sync).map(|r| r.0) } else { node_read(n, pos, base, len) });
        match r {
            Ok(k) => {
                total += k;
                if k < len {
                    break;
                }
            }
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(total as isize)
}

/// sendfile(out_fd, in_fd, offset, count): from a file of the tree (at `*offset`, updated,
/// or at its position) to a file or a pipe, through a kernel buffer in 64 KiB steps. Other
/// destinations (the terminal) are EINVAL, which programs answer by falling back to
/// read/write (Linux can send to any descriptor).
pub async fn sendfile(t: Arc<Thread>, a: Args) -> isize {
    let (out_fd, in_fd, offp, count) = (a.0[0], a.0[1], a.0[2], a.0[3]);
    ret(send_file(&t, out_fd, in_fd, offp, count).await)
}

async fn send_file(t: &Thread, out_fd: usize, in_fd: usize, offp: usize, count: usize) -> Result<isize, u32> {
    let (inf, outf) = (file(t, in_fd)?, file(t, out_fd)?);
    if !inf.readable() || !outf.writable() {
        return Err(errno::EBADF);
    }
    let src = match &inf.kind {
        FileKind::Node(n) if !n.path_only && n.loc.inode.kind() == velox_vfs::FileType::Regular => n.loc.inode.clone(),
        _ => return Err(errno::EINVAL),
    };
    if outf.flags.load(Ordering::Relaxed) & g::O_APPEND != 0 && matches!(outf.kind, FileKind::Node(_)) {
        return Err(errno::EINVAL);
    }
    let mut pos: u64 = if offp != 0 {
        let o: i64 = uaccess::read(offp)?;
        if o < 0 {
            return Err(errno::EINVAL);
        }
        o as u64
    } else {
        inf.pos.load(Ordering::Relaxed) as u64
    };
    let count = count.min(MAX_RW_COUNT);
    if matches!(outf.kind, FileKind::Null) {
        // Into /dev/null: the file is read (its pages come into the cache, its access time
        // changes) but its bytes go nowhere, so nothing is copied.
        let mut done = 0usize;
        while done < count {
            let want = (count - done).min(STEP_BYTES);
            let got = match src.read_at(pos, want, &mut |_| Ok(())) {
                Ok(got) => got,
                Err(_) if done > 0 => break, // (what was sent counts, as on Linux)
                Err(e) => return Err(e),
            };
            if got == 0 {
                break;
            }
            done += got;
            pos += got as u64;
            crate::exec::yield_now().await;
        }
        if offp != 0 {
            uaccess::write(offp, &(pos as i64))?;
        } else {
            inf.pos.store(pos as usize, Ordering::Relaxed);
        }
        return Ok(done as isize);
    }
    let mut buf: Vec<u8> = Vec::new();
    buf.try_reserve_exact(count.min(STEP_BYTES)).map_err(|_| errno::ENOMEM)?;
    let mut done = 0usize;
    let mut result = Ok(());
    while done < count {
        buf.clear();
        let want = (count - done).min(STEP_BYTES);
        if let Err(e) = src.read_at(pos, want, &mut |b| {
            buf.extend_from_slice(b);
            Ok(())
        }) {
            if done > 0 {
                break; // (what was sent counts, as on Linux)
            }
            return Err(e);
        }
        if buf.is_empty() {
            break; // end of file
        }
        let wrote = match &outf.kind {
            FileKind::Node(n) if !n.path_only && n.loc.inode.kind() == velox_vfs::FileType::Regular => {
                let mut at = 0;
                let start = outf.pos.load(Ordering::Relaxed) as u64;
                match n.loc.inode.write_at(start, buf.len(), false, &mut |d| {
                    d.copy_from_slice(&buf[at..at + d.len()]);
                    at += d.len();
                    Ok(())
                }) {
                    Ok((k, end)) => {
                        outf.pos.store(end as usize, Ordering::Relaxed);
                        // (O_SYNC/O_DSYNC: on the disk before sendfile returns, as write.)
                        if sync_writes(&outf) { n.loc.inode.sync().map(|_| k) } else { Ok(k) }
                    }
                    Err(e) => Err(e),
                }
            }
            FileKind::Null => Ok(buf.len()),
            FileKind::PipeWrite(p) | FileKind::PipeBoth(p) => {
                let p = p.clone();
                let mut sent = 0;
                loop {
                    match p.try_write_kernel(&buf[sent..]) {
                        Io::Done(k) => {
                            sent += k;
                            if sent == buf.len() {
                                break Ok(sent);
                            }
                        }
                        Io::Err(e) => break if sent > 0 { Ok(sent) } else { Err(e) },
                        Io::WouldBlock if outf.nonblocking() => break if sent > 0 { Ok(sent) } else { Err(errno::EAGAIN) },
                        Io::WouldBlock => {
                            if let Err(e) = wait_ready(t, &outf, Some(1)).await {
                                break if sent > 0 { Ok(sent) } else { Err(e) };
                            }
                        }
                    }
                }
            }
            _ => Err(errno::EINVAL),
        };
        match wrote {
            Ok(k) => {
                done += k;
                pos += k as u64;
                if k < buf.len() {
                    break;
                }
            }
            Err(e) => {
                if e == errno::EPIPE {
                    sigpipe(t);
                }
                result = Err(e);
                break;
            }
        }
        crate::exec::yield_now().await;
    }
    if offp != 0 {
        uaccess::write(offp, &(pos as i64))?;
    } else {
        inf.pos.store(pos as usize, Ordering::Relaxed);
    }
    if done == 0 {
        result?;
    }
    Ok(done as isize)
}
