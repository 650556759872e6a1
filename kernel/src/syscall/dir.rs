//! Directory system calls: getdents64, getcwd, chdir, fchdir, chroot.

use super::fs::file;
use super::path::{Caller, user_path};
use super::{Fast, ret, uaccess};
use crate::fs::FileKind;
use crate::task::Thread;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_hal::trap::UserContext;
use velox_vfs::{FileType, Loc, MAY_EXEC, may_mode};

/// getdents64(fd, dirp, count): `struct linux_dirent64` records from the descriptor's
/// position; EINVAL if not even one fits.
pub fn getdents64(t: &Thread, c: &UserContext) -> Fast {
    let (fd, buf, count) = (c.arg(0), c.arg(1), c.arg(2));
    Fast::Done(ret((|| {
        let f = file(t, fd)?;
        let n = match &f.kind {
            FileKind::Node(n) if !n.path_only => n,
            _ => return Err(errno::EBADF),
        };
        if n.loc.inode.kind() != FileType::Dir {
            return Err(errno::ENOTDIR);
        }
        let count = count.min(1 << 16).min(i32::MAX as usize);
        if buf.checked_add(count).is_none_or(|e| e > velox_hal::USER_END) {
            return Err(errno::EFAULT);
        }
        // Records are built in a kernel buffer, then copied out at once.
        let mut out: Vec<u8> = Vec::new();
        out.try_reserve(count.min(4096)).map_err(|_| errno::ENOMEM)?;
        let pos = f.pos.load(Ordering::Relaxed) as u64;
        let mut next_pos = pos;
        let mut too_small = false;
        n.loc.inode.readdir(pos, &mut |d| {
            let reclen = (19 + d.name.len() + 1).next_multiple_of(8);
            if out.len() + reclen > count {
                too_small = out.is_empty();
                return false;
            }
            if out.try_reserve(reclen).is_err() {
                return false;
            }
            out.extend_from_slice(&d.ino.to_ne_bytes());
            out.extend_from_slice(&(d.next as i64).to_ne_bytes());
            out.extend_from_slice(&(reclen as u16).to_ne_bytes());
            out.push(d.kind.dirent_type());
            out.extend_from_slice(d.name);
            out.resize(out.len() + reclen - 19 - d.name.len(), 0);
            next_pos = d.next;
            true
        })?;
        if too_small {
            return Err(errno::EINVAL);
        }
        uaccess::write_bytes(buf, &out)?;
        f.pos.store(next_pos as usize, Ordering::Relaxed);
        Ok(out.len() as isize)
    })()))
}

/// getcwd(buf, size): the length including the NUL; ERANGE if it does not fit.
pub fn getcwd(t: &Thread, c: &UserContext) -> Fast {
    let (buf, size) = (c.arg(0), c.arg(1));
    Fast::Done(ret((|| {
        let ctx = t.process.fs.lock().clone();
        let mut p = crate::fs::vfs::path_of(&ctx, &ctx.cwd)?;
        p.push(0);
        if p.len() > size {
            return Err(errno::ERANGE);
        }
        uaccess::write_bytes(buf, &p)?;
        Ok(p.len() as isize)
    })()))
}

/// A directory the caller may enter.
fn enterable(c: &Caller, l: &Loc) -> Result<(), u32> {
    if l.inode.kind() != FileType::Dir {
        return Err(errno::ENOTDIR);
    }
    if !may_mode(l.inode.perm(), &c.who(), MAY_EXEC) {
        return Err(errno::EACCES);
    }
    Ok(())
}

/// chdir(path).
pub fn chdir(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let p = user_path(c.arg(0))?;
        let caller = Caller::of(t);
        let l = caller.lookup(t, g::AT_FDCWD, &p, true, false)?;
        enterable(&caller, &l)?;
        let old = core::mem::replace(&mut alloc::sync::Arc::make_mut(&mut t.process.fs.lock()).cwd, l);
        drop(old);
        Ok(0)
    })()))
}

/// fchdir(fd).
pub fn fchdir(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let f = file(t, c.arg(0))?;
        let l = f.location().ok_or(errno::ENOTDIR)?;
        enterable(&Caller::of(t), &l)?;
        let old = core::mem::replace(&mut alloc::sync::Arc::make_mut(&mut t.process.fs.lock()).cwd, l);
        drop(old);
        Ok(0)
    })()))
}

/// chroot(path): root only.
pub fn chroot(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let p = user_path(c.arg(0))?;
        let caller = Caller::of(t);
        let l = caller.lookup(t, g::AT_FDCWD, &p, true, false)?;
        enterable(&caller, &l)?;
        if !caller.cred.privileged() {
            return Err(errno::EPERM);
        }
        let old = core::mem::replace(&mut alloc::sync::Arc::make_mut(&mut t.process.fs.lock()).root, l);
        drop(old);
        Ok(0)
    })()))
}
