//! epoll and eventfd calls: epoll_create1, epoll_ctl, epoll_pwait, epoll_pwait2, eventfd2.
//! (The objects are `fs::epoll` and `fs::eventfd`; riscv64 has no epoll_create, epoll_wait
//! or eventfd: glibc calls these.)

use super::fs::{file, nofile};
use super::poll::{deadline, install_mask, restore_mask};
use super::{Args, Fast, err, ret, uaccess};
use crate::fs::epoll::{Epoll, Event};
use crate::fs::eventfd::EventFd;
use crate::fs::{FileKind, FileRef, OpenFile};
use crate::task::Thread;
use crate::time;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::task::Poll;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_hal::trap::UserContext;

/// Most events one wait may ask for (Linux's EP_MAX_EVENTS: INT_MAX / sizeof(struct
/// epoll_event)).
const EP_MAX_EVENTS: i32 = i32::MAX / size_of::<Event>() as i32;

/// The events EPOLLEXCLUSIVE may come with (Linux's EPOLLEXCLUSIVE_OK_BITS).
const EXCLUSIVE_OK: u32 = g::EPOLLIN | g::EPOLLOUT | g::EPOLLERR | g::EPOLLHUP | g::EPOLLWAKEUP | g::EPOLLET | g::EPOLLEXCLUSIVE;

/// The file at `fd` as Linux's fdget hands it to epoll: EBADF if there is none or it is an
/// O_PATH descriptor.
fn fdget(t: &Thread, fd: i32) -> Result<FileRef, u32> {
    if fd < 0 {
        return Err(errno::EBADF);
    }
    let f = file(t, fd as usize)?;
    if matches!(&f.kind, FileKind::Node(n) if n.path_only) {
        return Err(errno::EBADF);
    }
    Ok(f)
}

/// Install a new open file of `kind` with status `flags` at the lowest free descriptor.
fn install(t: &Thread, kind: FileKind, flags: u32, cloexec: bool) -> Result<isize, u32> {
    let f = OpenFile::new(kind, flags);
    let lim = nofile(t);
    let r = t.process.fds.lock().insert(f, cloexec, 0, lim);
    r.map(|fd| fd as isize)
}

/// epoll_create1(flags): EPOLL_CLOEXEC only (anything else EINVAL).
pub fn epoll_create1(t: &Thread, c: &UserContext) -> Fast {
    let flags = c.arg(0) as u32;
    Fast::Done(ret((|| {
        if flags & !g::EPOLL_CLOEXEC != 0 {
            return Err(errno::EINVAL);
        }
        if crate::mm::heap_free() < crate::config::HEAP_RESERVE + size_of::<Epoll>() + size_of::<OpenFile>() {
            return Err(errno::ENOMEM);
        }
        install(t, FileKind::Epoll(Arc::new(Epoll::new())), g::O_RDWR, flags & g::EPOLL_CLOEXEC != 0)
    })()))
}

/// epoll_ctl(epfd, op, fd, event), with Linux's checks in Linux's order: EFAULT (the event
/// of ADD and MOD), EBADF (either descriptor), EPERM (a file without poll: regular files,
/// directories, /dev/null, /dev/zero, /dev/full), EINVAL (`epfd` not an epoll or `fd` the
/// same file; EPOLLEXCLUSIVE with MOD, with an epoll, or with other events), ELOOP (see
/// `Epoll::add`), then EEXIST / ENOENT, and EINVAL for an unknown `op`.
pub fn epoll_ctl(t: &Thread, c: &UserContext) -> Fast {
    let (epfd, op, fd, ev) = (c.arg(0) as i32, c.arg(1) as u32, c.arg(2) as i32, c.arg(3));
    Fast::Done(ret(ctl(t, epfd, op, fd, ev).map(|_| 0)))
}

fn ctl(t: &Thread, epfd: i32, op: u32, fd: i32, ev: usize) -> Result<(), u32> {
    let has_event = op != g::EPOLL_CTL_DEL;
    let e: Event = if has_event { uaccess::read(ev)? } else { Event::default() };
    let epf = fdget(t, epfd)?;
    let tf = fdget(t, fd)?;
    if matches!(tf.kind, FileKind::Node(_) | FileKind::Null | FileKind::Zero | FileKind::Full) {
        return Err(errno::EPERM);
    }
    let FileKind::Epoll(ep) = &epf.kind else { return Err(errno::EINVAL) };
    if Arc::ptr_eq(&epf, &tf) {
        return Err(errno::EINVAL);
    }
    if has_event && e.events & g::EPOLLEXCLUSIVE != 0 {
        if op == g::EPOLL_CTL_MOD || (op == g::EPOLL_CTL_ADD && (matches!(tf.kind, FileKind::Epoll(_)) || e.events & !EXCLUSIVE_OK != 0)) {
            return Err(errno::EINVAL);
        }
    }
    match op {
        g::EPOLL_CTL_ADD => ep.add(&tf, fd, e.events, e.data),
        g::EPOLL_CTL_MOD => ep.modify(&tf, fd, e.events, e.data),
        g::EPOLL_CTL_DEL => ep.delete(&tf, fd),
        _ => Err(errno::EINVAL),
    }
}

/// The epoll of a wait and its `maxevents`, checked as Linux's do_epoll_wait: EINVAL for
/// `maxevents` <= 0 or above EP_MAX_EVENTS, EFAULT for a buffer past user space, EBADF,
/// EINVAL if `epfd` is no epoll.
fn target(t: &Thread, epfd: i32, events: usize, max: i32) -> Result<(Arc<Epoll>, usize), u32> {
    if max <= 0 || max > EP_MAX_EVENTS {
        return Err(errno::EINVAL);
    }
    let max = max as usize;
    if events.checked_add(max * size_of::<Event>()).is_none_or(|e| e > velox_hal::USER_END) {
        return Err(errno::EFAULT);
    }
    match &fdget(t, epfd)?.kind {
        FileKind::Epoll(ep) => Ok((ep.clone(), max)),
        _ => Err(errno::EINVAL),
    }
}

/// Copy the collected events out: their count, or EFAULT if not even the first could be
/// written (the events are consumed all the same, as Linux's).
fn copy_out(events: usize, out: &[Event]) -> Result<isize, u32> {
    for (i, e) in out.iter().enumerate() {
        if let Err(er) = uaccess::write(events + i * size_of::<Event>(), e) {
            return if i == 0 { Err(er) } else { Ok(i as isize) };
        }
    }
    Ok(out.len() as isize)
}

/// epoll_pwait without a signal mask, on the fast path: what is ready now, or (timeout 0)
/// nothing; a wait takes the async path.
pub fn epoll_pwait_fast(t: &Thread, c: &UserContext) -> Fast {
    if c.arg(4) != 0 {
        return Fast::Slow; // a temporary signal mask: the async path installs it
    }
    let tmo = c.arg(3) as i32;
    let r = (|| {
        let (ep, max) = target(t, c.arg(0) as i32, c.arg(1), c.arg(2) as i32)?;
        let mut out = Vec::new();
        ep.harvest(&mut out, max)?;
        if out.is_empty() && tmo != 0 {
            return Ok(None);
        }
        copy_out(c.arg(1), &out).map(Some)
    })();
    match r {
        Ok(Some(n)) => Fast::Done(n),
        Ok(None) => Fast::Slow,
        Err(e) => Fast::Done(err(e)),
    }
}

/// epoll_pwait(epfd, events, maxevents, timeout_ms, sigmask, sigsetsize): a negative
/// timeout waits forever, 0 not at all.
pub async fn epoll_pwait(t: Arc<Thread>, a: Args) -> isize {
    let ms = a.0[3] as i32;
    let d = (ms >= 0).then(|| time::ticks().saturating_add(time::ns_to_ticks(ms as u64 * 1_000_000)));
    pwait(&t, a, d).await
}

/// epoll_pwait2(epfd, events, maxevents, timeout, sigmask, sigsetsize): the timeout a
/// timespec (NULL: forever; EFAULT, or EINVAL if out of range, before anything else).
pub async fn epoll_pwait2(t: Arc<Thread>, a: Args) -> isize {
    match deadline(a.0[3]) {
        Ok(d) => pwait(&t, a, d).await,
        Err(e) => err(e),
    }
}

/// The wait of both calls until deadline `d` (ticks; `None`: forever), with the temporary
/// signal mask installed first (as Linux's set_user_sigmask). A signal whose handler runs
/// ends it with EINTR, never restarted (Linux's ep_poll returns EINTR, not a restart code);
/// the mask then comes back after the handler.
async fn pwait(t: &Thread, a: Args, d: Option<u64>) -> isize {
    let installed = match install_mask(t, a.0[4], a.0[5]) {
        Ok(i) => i,
        Err(e) => return err(e),
    };
    let r = collect(t, a.0[0] as i32, a.0[1], a.0[2] as i32, d).await;
    restore_mask(t, installed, r == Err(errno::EINTR));
    ret(r)
}

async fn collect(t: &Thread, epfd: i32, events: usize, max: i32, d: Option<u64>) -> Result<isize, u32> {
    let (ep, max) = target(t, epfd, events, max)?;
    // (On the heap: this future lives in the thread's arena.)
    let mut out: Vec<Event> = Vec::new();
    let mut timer = time::Timer::new();
    core::future::poll_fn(|cx| {
        // Registered before the scan: an item that fires after its look wakes this wait.
        ep.wait.register(cx);
        out.clear();
        if let Err(e) = ep.harvest(&mut out, max) {
            return Poll::Ready(Err(e));
        }
        if !out.is_empty() || d.is_some_and(|d| time::ticks() >= d) {
            return Poll::Ready(Ok(()));
        }
        if t.is_exiting() || t.signal_pending() {
            return Poll::Ready(Err(errno::EINTR));
        }
        if let Some(d) = d {
            timer.arm(d, cx.waker());
        }
        Poll::Pending
    })
    .await?;
    copy_out(events, &out)
}

/// eventfd2(initval, flags): EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE (anything else
/// EINVAL); the file is O_RDWR.
pub fn eventfd2(t: &Thread, c: &UserContext) -> Fast {
    let (init, flags) = (c.arg(0) as u32, c.arg(1) as u32);
    Fast::Done(ret((|| {
        if flags & !(g::EFD_CLOEXEC | g::EFD_NONBLOCK | g::EFD_SEMAPHORE) != 0 {
            return Err(errno::EINVAL);
        }
        if crate::mm::heap_free() < crate::config::HEAP_RESERVE + size_of::<OpenFile>() {
            return Err(errno::ENOMEM);
        }
        let e = EventFd::new(init as u64, flags & g::EFD_SEMAPHORE != 0);
        install(t, FileKind::EventFd(e), g::O_RDWR | (flags & g::EFD_NONBLOCK), flags & g::EFD_CLOEXEC != 0)
    })()))
}
