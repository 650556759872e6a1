//! User and group ids: get*id, set*id, setres*id, setfs*id, getgroups/setgroups. The rules
//! live in `crates/cred`; the kernel applies them to the process under its lock.

use super::{Fast, err, uaccess};
use crate::task::Thread;
use linux_raw_sys::errno;
use velox_cred::{Cred, KEEP};
use velox_hal::trap::UserContext;

fn cred(t: &Thread) -> Cred {
    *t.process.cred.lock()
}

fn id(c: &UserContext, i: usize) -> u32 {
    c.arg(i) as u32
}

/// Apply a change; EPERM if the rules refuse it.
fn change(t: &Thread, f: impl FnOnce(&mut Cred) -> Result<(), velox_cred::NotPermitted>) -> Fast {
    Fast::Done(match t.process.set_cred(f) {
        Ok(()) => 0,
        Err(_) => err(errno::EPERM),
    })
}

pub fn getuid(t: &Thread, _: &UserContext) -> Fast {
    Fast::Done(cred(t).uid.r as isize)
}
pub fn geteuid(t: &Thread, _: &UserContext) -> Fast {
    Fast::Done(cred(t).uid.e as isize)
}
pub fn getgid(t: &Thread, _: &UserContext) -> Fast {
    Fast::Done(cred(t).gid.r as isize)
}
pub fn getegid(t: &Thread, _: &UserContext) -> Fast {
    Fast::Done(cred(t).gid.e as isize)
}

/// getresuid(ruid*, euid*, suid*).
pub fn getresuid(t: &Thread, c: &UserContext) -> Fast {
    let i = cred(t).uid;
    Fast::Done(super::ret([(0, i.r), (1, i.e), (2, i.s)].iter().try_for_each(|&(a, v)| uaccess::write(c.arg(a), &v)).map(|_| 0)))
}

/// getresgid(rgid*, egid*, sgid*).
pub fn getresgid(t: &Thread, c: &UserContext) -> Fast {
    let i = cred(t).gid;
    Fast::Done(super::ret([(0, i.r), (1, i.e), (2, i.s)].iter().try_for_each(|&(a, v)| uaccess::write(c.arg(a), &v)).map(|_| 0)))
}

/// setuid(uid): -1 is not a valid id (EINVAL), as on Linux.
pub fn setuid(t: &Thread, c: &UserContext) -> Fast {
    if id(c, 0) == KEEP {
        return Fast::Done(err(errno::EINVAL));
    }
    change(t, |cr| cr.setuid(id(c, 0)))
}
pub fn setgid(t: &Thread, c: &UserContext) -> Fast {
    if id(c, 0) == KEEP {
        return Fast::Done(err(errno::EINVAL));
    }
    change(t, |cr| cr.setgid(id(c, 0)))
}
pub fn setreuid(t: &Thread, c: &UserContext) -> Fast {
    change(t, |cr| cr.setreuid(id(c, 0), id(c, 1)))
}
pub fn setregid(t: &Thread, c: &UserContext) -> Fast {
    change(t, |cr| cr.setregid(id(c, 0), id(c, 1)))
}
pub fn setresuid(t: &Thread, c: &UserContext) -> Fast {
    change(t, |cr| cr.setresuid(id(c, 0), id(c, 1), id(c, 2)))
}
pub fn setresgid(t: &Thread, c: &UserContext) -> Fast {
    change(t, |cr| cr.setresgid(id(c, 0), id(c, 1), id(c, 2)))
}

/// setfsuid(uid): returns the old fsuid, never fails.
pub fn setfsuid(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(t.process.set_cred(|cr| cr.setfsuid(id(c, 0))) as isize)
}
pub fn setfsgid(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(t.process.set_cred(|cr| cr.setfsgid(id(c, 0))) as isize)
}

/// getgroups(size, list): the supplementary groups; size 0 asks for the count, a smaller
/// size than the count is EINVAL.
pub fn getgroups(t: &Thread, c: &UserContext) -> Fast {
    let (size, list) = (c.arg(0) as i32, c.arg(1));
    if size < 0 {
        return Fast::Done(err(errno::EINVAL));
    }
    let g = t.process.groups.lock().clone();
    if size == 0 {
        return Fast::Done(g.len() as isize);
    }
    if (size as usize) < g.len() {
        return Fast::Done(err(errno::EINVAL));
    }
    let bytes: alloc::vec::Vec<u8> = g.iter().flat_map(|x| x.to_ne_bytes()).collect();
    Fast::Done(match crate::syscall::uaccess::write_bytes(list, &bytes) {
        Ok(()) => g.len() as isize,
        Err(e) => err(e),
    })
}

/// setgroups(size, list): privileged only (EPERM); EINVAL past NGROUPS_MAX (65536).
pub fn setgroups(t: &Thread, c: &UserContext) -> Fast {
    const NGROUPS_MAX: usize = 65536;
    let (n, list) = (c.arg(0), c.arg(1));
    if !cred(t).privileged() {
        return Fast::Done(err(errno::EPERM));
    }
    if n > NGROUPS_MAX {
        return Fast::Done(err(errno::EINVAL));
    }
    if crate::mm::heap_free() < crate::config::HEAP_RESERVE + n * 8 {
        return Fast::Done(err(errno::ENOMEM));
    }
    let mut bytes = alloc::vec![0u8; n * 4];
    if let Err(e) = crate::syscall::uaccess::read_bytes(list, &mut bytes) {
        return Fast::Done(err(e));
    }
    let mut g: alloc::vec::Vec<u32> = bytes.chunks_exact(4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect();
    g.sort_unstable();
    *t.process.groups.lock() = alloc::sync::Arc::new(g);
    Fast::Done(0)
}
