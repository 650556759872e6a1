//! Readiness of every kind of open file (`poll_file`, epoll's too; sockets' own rules are in
//! `net::unix`), ppoll and pselect6. The waiting future registers on the wait queue of every
//! file it watches (and a timer for its timeout) and re-checks everything when woken.

use super::{Args, err, uaccess};
use crate::fs::{FileKind, FileRef, OpenFile};
use crate::task::{Thread, signal};
use crate::time;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::task::{Context, Poll, Waker};
use linux_raw_sys::errno;
use linux_raw_sys::general as g;

const POLLIN: u16 = g::POLLIN as u16;
const POLLOUT: u16 = g::POLLOUT as u16;
const POLLERR: u16 = g::POLLERR as u16;
const POLLHUP: u16 = g::POLLHUP as u16;
const POLLNVAL: u16 = g::POLLNVAL as u16;
const POLLRDNORM: u16 = g::POLLRDNORM as u16;
const POLLWRNORM: u16 = g::POLLWRNORM as u16;

/// Readiness of files without a poll of their own (regular files, directories, /dev/null
/// and the other devices that never block): always readable and writable, as Linux's
/// DEFAULT_POLLMASK.
const DEFAULT_MASK: u16 = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
/// The bits that wait on a file's reading side, and on its writing side.
const IN_SIDE: u16 = POLLIN | POLLRDNORM | g::POLLRDBAND as u16 | g::POLLPRI as u16 | g::POLLRDHUP as u16;
const OUT_SIDE: u16 = POLLOUT | POLLWRNORM | g::POLLWRBAND as u16;

/// Current readiness of `f`; with `cx`, also arrange to be woken when it may change.
pub(crate) fn readiness(f: &FileRef, cx: Option<&Context<'_>>, console_tick: &mut bool) -> u16 {
    let _ = console_tick;
    poll_file(f, cx, u16::MAX, 0)
}

/// Current readiness of `f` (POLL* bits, the same values as EPOLL*); with `cx`, also arrange
/// to be woken when it may change: on the queues of the sides `want` asks for (both if it
/// names neither), so that an epoll item waiting for input is not woken by output. `depth`:
/// how deep in epolls watching epolls this look is.
pub(crate) fn poll_file(f: &OpenFile, cx: Option<&Context<'_>>, want: u16, depth: usize) -> u16 {
    let (rd, wr) = match (want & IN_SIDE != 0, want & OUT_SIDE != 0) {
        (false, false) => (true, true),
        sides => sides,
    };
    match &f.kind {
        FileKind::PipeRead(p) => {
            if let Some(cx) = cx {
                p.read_wait.register(cx);
            }
            let (r, _, hup, _) = p.poll_state();
            (if r { POLLIN | POLLRDNORM } else { 0 }) | if hup { POLLHUP } else { 0 }
        }
        FileKind::PipeWrite(p) => {
            if let Some(cx) = cx {
                p.write_wait.register(cx);
            }
            let (_, w, _, e) = p.poll_state();
            (if w { POLLOUT | POLLWRNORM } else { 0 }) | if e { POLLERR } else { 0 }
        }
        FileKind::PipeBoth(p) => {
            if let Some(cx) = cx {
                if rd {
                    p.read_wait.register(cx);
                }
                if wr {
                    p.write_wait.register(cx);
                }
            }
            let (r, w, _, _) = p.poll_state();
            (if r { POLLIN | POLLRDNORM } else { 0 }) | if w { POLLOUT | POLLWRNORM } else { 0 }
        }
        FileKind::Console => {
            let tty = crate::dev::tty::console();
            if let Some(cx) = cx {
                if rd {
                    tty.read_wait.register(cx);
                }
                if wr {
                    tty.write_wait.register(cx);
                }
            }
            (if tty.poll_readable() { POLLIN | POLLRDNORM } else { 0 }) | if tty.poll_writable() { POLLOUT | POLLWRNORM } else { 0 }
        }
        FileKind::Socket(s) => s.poll(cx),
        FileKind::EventFd(e) => {
            if let Some(cx) = cx {
                e.wait.register(cx);
            }
            let (r, w) = e.poll_state();
            (if r { POLLIN | POLLRDNORM } else { 0 }) | if w { POLLOUT | POLLWRNORM } else { 0 }
        }
        // Readable while a scan would report something; never writable (as Linux's).
        FileKind::Epoll(ep) => {
            if let Some(cx) = cx {
                ep.wait.register(cx);
            }
            if ep.peek(depth) { POLLIN | POLLRDNORM } else { 0 }
        }
        FileKind::Node(_) | FileKind::Null | FileKind::Zero | FileKind::Full | FileKind::Random => DEFAULT_MASK,
    }
}

/// Take waker `w` off every queue [`poll_file`] may have put it on for `f` (an epoll item
/// leaving its set).
pub(crate) fn forget(f: &OpenFile, w: &Waker) {
    match &f.kind {
        FileKind::PipeRead(p) | FileKind::PipeWrite(p) | FileKind::PipeBoth(p) => {
            p.read_wait.unregister(w);
            p.write_wait.unregister(w);
        }
        FileKind::Console => {
            let tty = crate::dev::tty::console();
            tty.read_wait.unregister(w);
            tty.write_wait.unregister(w);
        }
        FileKind::Socket(s) => s.forget(w),
        FileKind::EventFd(e) => e.wait.unregister(w),
        FileKind::Epoll(ep) => ep.wait.unregister(w),
        FileKind::Node(_) | FileKind::Null | FileKind::Zero | FileKind::Full | FileKind::Random => {}
    }
}

/// Read a timeout (NULL: forever) as a deadline in ticks.
pub(super) fn deadline(ptr: usize) -> Result<Option<u64>, u32> {
    if ptr == 0 {
        return Ok(None);
    }
    let ts: velox_abi::Timespec = uaccess::read(ptr)?;
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(errno::EINVAL);
    }
    let ns = (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64);
    Ok(Some(time::ticks().saturating_add(time::ns_to_ticks(ns))))
}

/// Write back the time left of a timeout, as Linux does for ppoll and pselect6.
fn write_remaining(ptr: usize, d: Option<u64>) {
    if let (true, Some(d)) = (ptr != 0, d) {
        let left = time::ticks_to_ns(d.saturating_sub(time::ticks()));
        let ts = velox_abi::Timespec { tv_sec: (left / 1_000_000_000) as i64, tv_nsec: (left % 1_000_000_000) as i64 };
        let _ = uaccess::write(ptr, &ts);
    }
}

/// The temporary signal mask of ppoll/pselect6 (`ptr` 0: none): installed for the wait,
/// remembered for after a handler.
pub(super) fn install_mask(t: &Thread, ptr: usize, size: usize) -> Result<bool, u32> {
    if ptr == 0 {
        return Ok(false);
    }
    if size != 8 {
        return Err(errno::EINVAL);
    }
    let m: u64 = uaccess::read(ptr)?;
    super::signal::suspend_with(t, m);
    Ok(true)
}

/// After the wait: unless a signal interrupted it (then the mask comes back after the
/// handler, from its frame), put the caller's mask back now.
pub(super) fn restore_mask(t: &Thread, installed: bool, interrupted: bool) {
    if installed && !interrupted {
        if let Some(m) = t.sig_state(|s| s.saved_mask.take()) {
            signal::set_mask(t, m);
        }
    }
}

/// Wait until `check` reports something ready (`Some(Some)`), `d` passes (`Some(None)`) or a
/// signal interrupts (`None`).
async fn wait_ready<T>(t: &Thread, d: Option<u64>, mut check: impl FnMut(Option<&Context<'_>>, &mut bool) -> Option<T>) -> Option<Option<T>> {
    let mut timer = time::Timer::new();
    core::future::poll_fn(|cx| {
        let mut console = false;
        if let Some(v) = check(Some(cx), &mut console) {
            return Poll::Ready(Some(Some(v)));
        }
        let now = time::ticks();
        if d.is_some_and(|d| now >= d) {
            return Poll::Ready(Some(None));
        }
        if t.is_exiting() || t.signal_pending() {
            return Poll::Ready(None);
        }
        // One entry: the deadline, or the console's 10 ms re-check if that comes first.
        let tick = console.then(|| now + time::ns_to_ticks(10_000_000));
        if let Some(when) = d.into_iter().chain(tick).min() {
            timer.arm(when, cx.waker());
        }
        Poll::Pending
    })
    .await
}

/// ppoll(fds, nfds, timeout, sigmask, sigsetsize): EINTR when a signal's handler runs
/// (never restarted, as Linux's ERESTARTNOHAND), with the time left written back.
pub async fn ppoll(t: Arc<Thread>, a: Args) -> isize {
    // nfds is an `unsigned int` in Linux: the upper half of the register is ignored.
    let (ptr, nfds, tmo) = (a.0[0], a.0[1] as u32 as usize, a.0[2]);
    let lim = t.process.limits.lock()[g::RLIMIT_NOFILE as usize].0;
    if nfds as u64 > lim {
        return err(errno::EINVAL);
    }
    // The buffers live as long as the call blocks: admit them only above the heap reserve,
    // so blocked pollers cannot drain the kernel heap.
    if crate::mm::heap_free() < crate::config::HEAP_RESERVE + nfds * (size_of::<velox_abi::Pollfd>() + 2 + size_of::<Option<FileRef>>()) {
        return err(errno::ENOMEM);
    }
    let mut pfds: Vec<velox_abi::Pollfd> = Vec::new();
    let mut rev: Vec<u16> = Vec::new();
    if pfds.try_reserve_exact(nfds).is_err() || rev.try_reserve_exact(nfds).is_err() {
        return err(errno::ENOMEM);
    }
    rev.resize(nfds, 0);
    for i in 0..nfds {
        match uaccess::read::<velox_abi::Pollfd>(ptr + i * size_of::<velox_abi::Pollfd>()) {
            Ok(p) => pfds.push(p),
            Err(e) => return err(e),
        }
    }
    let d = match deadline(tmo) {
        Ok(d) => d,
        Err(e) => return err(e),
    };
    let installed = match install_mask(&t, a.0[3], a.0[4]) {
        Ok(i) => i,
        Err(e) => return err(e),
    };
    let files: Vec<Option<FileRef>> = {
        let fds = t.process.fds.lock();
        let mut v = Vec::new();
        if v.try_reserve_exact(nfds).is_err() {
            return err(errno::ENOMEM);
        }
        v.extend(pfds.iter().map(|p| if p.fd < 0 { None } else { fds.get(p.fd as usize).cloned() }));
        v
    };
    let n = wait_ready(&t, d, |cx, console| {
        let mut n = 0;
        for (i, p) in pfds.iter().enumerate() {
            rev[i] = if p.fd < 0 {
                0
            } else {
                match &files[i] {
                    None => POLLNVAL,
                    // (An O_PATH descriptor is no file to poll, as Linux's fdget sees it.)
                    Some(f) if matches!(&f.kind, FileKind::Node(n) if n.path_only) => POLLNVAL,
                    Some(f) => readiness(f, cx, console) & (p.events as u16 | POLLERR | POLLHUP),
                }
            };
            if rev[i] != 0 {
                n += 1;
            }
        }
        (n > 0).then_some(n)
    })
    .await;
    restore_mask(&t, installed, n.is_none());
    let Some(n) = n else {
        write_remaining(tmo, d);
        return signal::ERESTARTNOHAND;
    };
    let n = n.unwrap_or(0);
    for (i, p) in pfds.iter_mut().enumerate() {
        p.revents = rev[i] as i16;
        if let Err(e) = uaccess::write(ptr + i * size_of::<velox_abi::Pollfd>(), p) {
            return err(e);
        }
    }
    write_remaining(tmo, d);
    n as isize
}

/// A zeroed vector of `n` words, or ENOMEM.
fn zeroed(n: usize) -> Result<Vec<u64>, u32> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| errno::ENOMEM)?;
    v.resize(n, 0);
    Ok(v)
}

/// Read a user fd set (NULL: empty) into `v`.
fn read_set(ptr: usize, v: &mut [u64]) -> Result<(), u32> {
    if ptr != 0 {
        for (i, w) in v.iter_mut().enumerate() {
            *w = uaccess::read(ptr + i * 8)?;
        }
    }
    Ok(())
}

/// pselect6(nfds, readfds, writefds, exceptfds, timeout, sigmask).
pub async fn pselect6(t: Arc<Thread>, a: Args) -> isize {
    let (nfds, rp, wp, ep, tmo) = (a.0[0] as i32, a.0[1], a.0[2], a.0[3], a.0[4]);
    if nfds < 0 {
        return err(errno::EINVAL);
    }
    let nfds = (nfds as usize).min(t.process.fds.lock().len());
    let words = nfds.div_ceil(64);
    if crate::mm::heap_free() < crate::config::HEAP_RESERVE + 6 * words * 8 + nfds * size_of::<Option<FileRef>>() {
        return err(errno::ENOMEM);
    }
    // The three input sets and the three results, each `words` long, in one buffer apiece
    // (this future lives in the thread's arena: six vectors would not fit).
    let mut inp = match zeroed(3 * words) {
        Ok(v) => v,
        Err(e) => return err(e),
    };
    for (k, ptr) in [rp, wp, ep].into_iter().enumerate() {
        if let Err(e) = read_set(ptr, &mut inp[k * words..(k + 1) * words]) {
            return err(e);
        }
    }
    let d = match deadline(tmo) {
        Ok(d) => d,
        Err(e) => return err(e),
    };
    let mut files: Vec<Option<FileRef>> = Vec::new();
    if files.try_reserve_exact(nfds).is_err() {
        return err(errno::ENOMEM);
    }
    {
        let fds = t.process.fds.lock();
        for fd in 0..nfds {
            let wanted = (0..3).any(|k| inp[k * words + fd / 64] & (1 << (fd % 64)) != 0);
            let f = fds.get(fd).cloned();
            if wanted && f.is_none() {
                return err(errno::EBADF);
            }
            files.push(if wanted { f } else { None });
        }
    }
    let mut out = match zeroed(3 * words) {
        Ok(v) => v,
        Err(e) => return err(e),
    };
    // The sixth argument points at { const sigset_t *ss; size_t ss_len }.
    let installed = match (if a.0[5] != 0 { uaccess::read::<[usize; 2]>(a.0[5]) } else { Ok([0, 0]) }).and_then(|[ss, len]| install_mask(&t, ss, len)) {
        Ok(i) => i,
        Err(e) => return err(e),
    };
    let n = wait_ready(&t, d, |cx, console| {
        let mut n = 0;
        for (fd, f) in files.iter().enumerate() {
            let Some(f) = f else { continue };
            let (w, b) = (fd / 64, 1u64 << (fd % 64));
            let r = readiness(f, cx, console);
            for (k, mask) in [POLLIN | POLLHUP | POLLERR, POLLOUT | POLLERR, 0].into_iter().enumerate() {
                let i = k * words + w;
                out[i] &= !b;
                if inp[i] & b != 0 && r & mask != 0 {
                    out[i] |= b;
                    n += 1;
                }
            }
        }
        (n > 0).then_some(n)
    })
    .await;
    restore_mask(&t, installed, n.is_none());
    let Some(n) = n else {
        write_remaining(tmo, d);
        return signal::ERESTARTNOHAND;
    };
    let n = n.unwrap_or(0);
    for (k, ptr) in [rp, wp, ep].into_iter().enumerate() {
        if ptr != 0 {
            for (i, w) in out[k * words..(k + 1) * words].iter().enumerate() {
                if let Err(e) = uaccess::write(ptr + i * 8, w) {
                    return err(e);
                }
            }
        }
    }
    write_remaining(tmo, d);
    n as isize
}
