//! Advisory locks: flock and fcntl's record locks (F_GETLK, F_SETLK, F_SETLKW and the OFD
//! variants). Deadlock detection (EDEADLK) is not done: a cycle of F_SETLKW waiters waits
//! until a signal ends one of them.

use super::fs::file;
use super::{Args, err, ret, uaccess};
use crate::fs::{FileKind, FileRef, locks};
use crate::task::Thread;
use crate::task::signal;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_vfs::lock::Owner;

const RESTART: u32 = (-signal::ERESTARTSYS) as u32;
use linux_raw_sys::general::{F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW};

/// Is `cmd` one of fcntl's lock commands?
pub fn is_lock_cmd(cmd: u32) -> bool {
    matches!(cmd, g::F_GETLK | g::F_SETLK | g::F_SETLKW | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW)
}

/// The description's owner id (OFD and flock locks).
fn ofd_owner(f: &FileRef) -> u64 {
    Arc::as_ptr(f) as usize as u64
}

/// What a lock request asks for.
enum Want {
    Range(Owner, u64, u64, Option<bool>),
}

/// Decode `struct flock` for `f`: owner, [start, end) and the type.
fn decode(t: &Thread, f: &FileRef, cmd: u32, fl: &velox_abi::Flock) -> Result<Want, u32> {
    let ofd = matches!(cmd, F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW);
    if ofd && fl.l_pid != 0 {
        return Err(errno::EINVAL);
    }
    let node = match &f.kind {
        FileKind::Node(n) if !n.path_only => n,
        FileKind::Node(_) => return Err(errno::EBADF),
        _ => return Err(errno::EINVAL),
    };
    let base: i64 = match fl.l_whence as u32 {
        g::SEEK_SET => 0,
        g::SEEK_CUR => f.pos.load(Ordering::Relaxed) as i64,
        g::SEEK_END => node.loc.inode.stat().size as i64,
        _ => return Err(errno::EINVAL),
    };
    let start = base.checked_add(fl.l_start).ok_or(errno::EOVERFLOW)?;
    let (s, e) = if fl.l_len > 0 {
        (start, start.checked_add(fl.l_len).map(|x| x as u64).unwrap_or(u64::MAX))
    } else if fl.l_len == 0 {
        (start, u64::MAX)
    } else {
        (start.checked_add(fl.l_len).ok_or(errno::EINVAL)?, start as u64)
    };
    if s < 0 {
        return Err(errno::EINVAL);
    }
    let kind = match fl.l_type as u32 {
        g::F_RDLCK => Some(false),
        g::F_WRLCK => Some(true),
        g::F_UNLCK => None,
        _ => return Err(errno::EINVAL),
    };
    let owner = if ofd { Owner { id: ofd_owner(f), pid: -1 } } else { Owner { id: locks::posix_owner(t.process.pid), pid: t.process.pid as i32 } };
    Ok(Want::Range(owner, s as u64, e, kind))
}

/// One attempt of a lock command: Ok(0) done, Err(EAGAIN) conflict (the waiting variants
/// wait and retry).
fn attempt(t: &Thread, fd: usize, cmd: u32, arg: usize) -> Result<isize, u32> {
    let f = file(t, fd)?;
    let mut fl: velox_abi::Flock = uaccess::read(arg)?;
    let Want::Range(owner, s, e, kind) = decode(t, &f, cmd, &fl)?;
    let id = f.location().ok_or(errno::EINVAL)?.inode.id();
    match cmd {
        g::F_GETLK | F_OFD_GETLK => {
            if kind.is_none() {
                return Err(errno::EINVAL);
            }
            let c = locks::with(id, |l| l.conflict(owner.id, s, e, kind == Some(true)));
            match c {
                Some(c) => {
                    fl.l_type = if c.write { g::F_WRLCK as i16 } else { g::F_RDLCK as i16 };
                    fl.l_whence = g::SEEK_SET as i16;
                    fl.l_start = c.start as i64;
                    fl.l_len = if c.end == u64::MAX { 0 } else { (c.end - c.start) as i64 };
                    fl.l_pid = c.owner.pid;
                }
                None => fl.l_type = g::F_UNLCK as i16,
            }
            uaccess::write(arg, &fl).map(|_| 0)
        }
        _ => {
            match kind {
                Some(false) if !f.readable() => return Err(errno::EBADF),
                Some(true) if !f.writable() => return Err(errno::EBADF),
                _ => {}
            }
            let done = locks::with(id, |l| {
                if let Some(w) = kind {
                    if l.conflict(owner.id, s, e, w).is_some() {
                        return false;
                    }
                }
                l.set(owner, s, e, kind);
                true
            });
            if !done {
                return Err(errno::EAGAIN);
            }
            if kind.is_none() || kind == Some(false) {
                locks::RELEASED.wake_all(); // an unlock or a downgrade may unblock someone
            }
            Ok(0)
        }
    }
}

/// fcntl's lock commands on the fast path: F_SETLKW that would wait goes to the slow path.
pub fn fcntl_lock(t: &Thread, fd: usize, cmd: u32, arg: usize) -> Option<isize> {
    match attempt(t, fd, cmd, arg) {
        Err(errno::EAGAIN) if matches!(cmd, g::F_SETLKW | F_OFD_SETLKW) => None,
        r => Some(ret(r)),
    }
}

/// fcntl when F_SETLKW has to wait (the other commands land here only through the same
/// fast handler's table entry and are done at once).
pub async fn fcntl_async(t: Arc<Thread>, a: Args) -> isize {
    let (fd, cmd, arg) = (a.0[0], a.0[1] as u32, a.0[2]);
    if !is_lock_cmd(cmd) {
        let c = t.ctx();
        return match super::fs::fcntl(&t, &c) {
            super::Fast::Done(v) => v,
            super::Fast::Slow => err(errno::EINVAL),
        };
    }
    loop {
        match attempt(&t, fd, cmd, arg) {
            Err(errno::EAGAIN) if matches!(cmd, g::F_SETLKW | F_OFD_SETLKW) => {}
            r => return ret(r),
        }
        if let Err(e) = wait_release(&t, || attempt_would_block(&t, fd, cmd, arg)).await {
            return err(e);
        }
    }
}

/// Does the lock still conflict (for the wait condition)?
fn attempt_would_block(t: &Thread, fd: usize, cmd: u32, arg: usize) -> bool {
    let Ok(f) = file(t, fd) else { return false };
    let Ok(fl) = uaccess::read::<velox_abi::Flock>(arg) else { return false };
    let Ok(Want::Range(owner, s, e, kind)) = decode(t, &f, cmd, &fl) else { return false };
    let Some(l) = f.location() else { return false };
    let Some(w) = kind else { return false };
    locks::TABLE.lock().get(&l.inode.id()).is_some_and(|x| x.conflict(owner.id, s, e, w).is_some())
}

/// Park until a lock is released and `blocked` no longer holds, or a signal comes.
async fn wait_release(t: &Thread, blocked: impl Fn() -> bool) -> Result<(), u32> {
    locks::RELEASED
        .wait_until(|| {
            if !blocked() {
                Some(Ok(()))
            } else if t.signal_pending() || t.is_exiting() {
                Some(Err(RESTART))
            } else {
                None
            }
        })
        .await
}

fn flock_try(t: &Thread, fd: usize, op: u32) -> Result<isize, u32> {
    let f = file(t, fd)?;
    let id = match &f.kind {
        FileKind::Node(n) if !n.path_only => n.loc.inode.id(),
        FileKind::Node(_) => return Err(errno::EBADF),
        _ => return Err(errno::EINVAL),
    };
    let owner = ofd_owner(&f);
    match op & !g::LOCK_NB {
        g::LOCK_UN => {
            locks::with(id, |l| l.funlock(owner));
            locks::RELEASED.wake_all();
            Ok(0)
        }
        g::LOCK_SH | g::LOCK_EX => {
            let ok = locks::with(id, |l| l.flock(owner, op & !g::LOCK_NB == g::LOCK_EX).is_ok());
            if ok { Ok(0) } else { Err(errno::EWOULDBLOCK) }
        }
        _ => Err(errno::EINVAL),
    }
}

/// flock(fd, op) on the fast path: a lock that has to wait goes to the slow path.
pub fn flock(t: &Thread, c: &velox_hal::trap::UserContext) -> super::Fast {
    let (fd, op) = (c.arg(0), c.arg(1) as u32);
    match flock_try(t, fd, op) {
        Err(errno::EWOULDBLOCK) if op & g::LOCK_NB == 0 => super::Fast::Slow,
        r => super::Fast::Done(ret(r)),
    }
}

/// flock when it has to wait.
pub async fn flock_async(t: Arc<Thread>, a: Args) -> isize {
    let (fd, op) = (a.0[0], a.0[1] as u32);
    loop {
        match flock_try(&t, fd, op) {
            Err(errno::EWOULDBLOCK) if op & g::LOCK_NB == 0 => {}
            r => return ret(r),
        }
        let Ok(f) = file(&t, fd) else { return err(errno::EBADF) };
        let Some(l) = f.location() else { return err(errno::EINVAL) };
        let (id, owner, ex) = (l.inode.id(), ofd_owner(&f), op & !g::LOCK_NB == g::LOCK_EX);
        let blocked = || {
            locks::TABLE.lock().get(&id).is_some_and(|x| {
                let fl = &x.flock;
                fl.exclusive.is_some_and(|o| o != owner) || (ex && fl.shared.iter().any(|&o| o != owner))
            })
        };
        if let Err(e) = wait_release(&t, blocked).await {
            return err(e);
        }
    }
}
