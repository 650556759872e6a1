//! Extended attributes: setxattr, getxattr, listxattr, removexattr and their l*/f* forms, as
//! Linux answers on a file system without extended-attribute support (none of Velox's has it
//! yet): every name is EOPNOTSUPP, and a listing is empty. Arguments are checked in Linux's
//! order first (flags, the name, the value, then the file), so bad input gets the same errno.

use super::fs::file;
use super::path::{Caller, user_path};
use super::{Fast, ret, uaccess};
use crate::task::Thread;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_hal::trap::UserContext;

/// Longest attribute name and value (Linux's XATTR_NAME_MAX, XATTR_SIZE_MAX).
const NAME_MAX: usize = 255;
const SIZE_MAX: usize = 65536;
const XATTR_CREATE: usize = 1;
const XATTR_REPLACE: usize = 2;

/// How a call names its file: a path (following a final symbolic link or not), or a descriptor.
#[derive(Clone, Copy)]
enum Target {
    Path { follow: bool },
    Fd,
}

/// Check the attribute name at `ptr`: EFAULT, ERANGE when empty or longer than 255 bytes.
fn check_name(ptr: usize) -> Result<(), u32> {
    let n = uaccess::read_cstr(ptr, NAME_MAX).map_err(|e| if e == errno::ENAMETOOLONG { errno::ERANGE } else { e })?;
    if n.is_empty() {
        return Err(errno::ERANGE);
    }
    Ok(())
}

/// Find the file the call is about (ENOENT, ENOTDIR, EACCES, ELOOP, EBADF...).
fn check_file(t: &Thread, how: Target, arg: usize) -> Result<(), u32> {
    match how {
        // (An O_PATH descriptor does not do I/O, xattrs included: EBADF.)
        Target::Fd => match &file(t, arg)?.kind {
            crate::fs::FileKind::Node(n) if n.path_only => Err(errno::EBADF),
            _ => Ok(()),
        },
        Target::Path { follow } => {
            let p = user_path(arg)?;
            Caller::of(t).lookup(t, g::AT_FDCWD, &p, follow, false).map(|_| ())
        }
    }
}

fn set(t: &Thread, c: &UserContext, how: Target) -> Fast {
    let (f, name, value, size, flags) = (c.arg(0), c.arg(1), c.arg(2), c.arg(3), c.arg(4));
    Fast::Done(ret((|| {
        if flags & !(XATTR_CREATE | XATTR_REPLACE) != 0 {
            return Err(errno::EINVAL);
        }
        check_name(name)?;
        if size > SIZE_MAX {
            return Err(errno::E2BIG);
        }
        if size > 0 {
            // (Linux copies the value before it looks at the file.)
            let mut b = alloc::vec::Vec::new();
            b.try_reserve_exact(size).map_err(|_| errno::ENOMEM)?;
            b.resize(size, 0);
            uaccess::read_bytes(value, &mut b)?;
        }
        check_file(t, how, f)?;
        Err(errno::EOPNOTSUPP)
    })()))
}

fn get(t: &Thread, c: &UserContext, how: Target) -> Fast {
    let (f, name) = (c.arg(0), c.arg(1));
    Fast::Done(ret((|| {
        check_name(name)?;
        check_file(t, how, f)?;
        Err(errno::EOPNOTSUPP)
    })()))
}

fn list(t: &Thread, c: &UserContext, how: Target) -> Fast {
    Fast::Done(ret(check_file(t, how, c.arg(0)).map(|_| 0)))
}

fn remove(t: &Thread, c: &UserContext, how: Target) -> Fast {
    let (f, name) = (c.arg(0), c.arg(1));
    Fast::Done(ret((|| {
        check_name(name)?;
        check_file(t, how, f)?;
        Err(errno::EOPNOTSUPP)
    })()))
}

pub fn setxattr(t: &Thread, c: &UserContext) -> Fast {
    set(t, c, Target::Path { follow: true })
}
pub fn lsetxattr(t: &Thread, c: &UserContext) -> Fast {
    set(t, c, Target::Path { follow: false })
}
pub fn fsetxattr(t: &Thread, c: &UserContext) -> Fast {
    set(t, c, Target::Fd)
}
pub fn getxattr(t: &Thread, c: &UserContext) -> Fast {
    get(t, c, Target::Path { follow: true })
}
pub fn lgetxattr(t: &Thread, c: &UserContext) -> Fast {
    get(t, c, Target::Path { follow: false })
}
pub fn fgetxattr(t: &Thread, c: &UserContext) -> Fast {
    get(t, c, Target::Fd)
}
pub fn listxattr(t: &Thread, c: &UserContext) -> Fast {
    list(t, c, Target::Path { follow: true })
}
pub fn llistxattr(t: &Thread, c: &UserContext) -> Fast {
    list(t, c, Target::Path { follow: false })
}
pub fn flistxattr(t: &Thread, c: &UserContext) -> Fast {
    list(t, c, Target::Fd)
}
pub fn removexattr(t: &Thread, c: &UserContext) -> Fast {
    remove(t, c, Target::Path { follow: true })
}
pub fn lremovexattr(t: &Thread, c: &UserContext) -> Fast {
    remove(t, c, Target::Path { follow: false })
}
pub fn fremovexattr(t: &Thread, c: &UserContext) -> Fast {
    remove(t, c, Target::Fd)
}
