//! stat system calls: fstat, newfstatat, statx, statfs, fstatfs.

use super::fs::file;
use super::path::{Caller, user_path};
use super::{Fast, ret, uaccess};
use crate::fs::{FileKind, OpenFile};
use crate::task::Thread;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_hal::trap::UserContext;
use velox_vfs::{Loc, Stat, Time, makedev};

/// What stat reports for an open file: its inode's attributes, or a device's or pipe's.
fn stat_file(f: &OpenFile) -> Stat {
    if let FileKind::Node(n) = &f.kind {
        return n.loc.inode.stat();
    }
    // The terminal is /dev/console's node (ttyname compares the two).
    if matches!(f.kind, FileKind::Console) {
        if let Ok(l) = crate::fs::vfs::lookup_root(b"/dev/console") {
            return l.inode.stat();
        }
    }
    let now = crate::fs::vfs::now();
    let (mode, rdev) = match &f.kind {
        FileKind::Console => (g::S_IFCHR | 0o620, makedev(5, 1)),
        FileKind::Null => (g::S_IFCHR | 0o666, makedev(1, 3)),
        FileKind::Zero => (g::S_IFCHR | 0o666, makedev(1, 5)),
        FileKind::Full => (g::S_IFCHR | 0o666, makedev(1, 7)),
        FileKind::Random => (g::S_IFCHR | 0o666, makedev(1, 9)),
        FileKind::Socket(_) => (g::S_IFSOCK | 0o777, 0),
        // Linux's anonymous inode: mode 0600 without a file type.
        FileKind::Epoll(_) | FileKind::EventFd(_) => (0o600, 0),
        _ => (g::S_IFIFO | 0o600, 0),
    };
    // Devices opened through /dev live on devtmpfs; pipes on the (unnamed) pipefs, epolls
    // and eventfds on the anonymous-inode file system.
    Stat { dev: 0, ino: f.ino as u64, mode, nlink: 1, rdev, blksize: 4096, atime: now, mtime: now, ctime: now, ..Default::default() }
}

/// The riscv64 `struct stat`.
fn to_abi(s: &Stat) -> velox_abi::Stat {
    velox_abi::Stat {
        st_dev: s.dev,
        st_ino: s.ino,
        st_mode: s.mode,
        st_nlink: s.nlink,
        st_uid: s.uid,
        st_gid: s.gid,
        st_rdev: s.rdev,
        __pad1: 0,
        st_size: s.size as i64,
        st_blksize: s.blksize as i32,
        __pad2: 0,
        st_blocks: s.blocks as i64,
        st_atime: s.atime.sec,
        st_atime_nsec: s.atime.nsec as u64,
        st_mtime: s.mtime.sec,
        st_mtime_nsec: s.mtime.nsec as u64,
        st_ctime: s.ctime.sec,
        st_ctime_nsec: s.ctime.nsec as u64,
        __unused4: 0,
        __unused5: 0,
    }
}

/// fstat(fd, buf).
pub fn fstat(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret(file(t, c.arg(0)).and_then(|f| uaccess::write(c.arg(1), &to_abi(&stat_file(&f))).map(|_| 0))))
}

/// Attributes of (`dirfd`, `path`) with `flags` (AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH); an
/// empty path with AT_EMPTY_PATH is the descriptor itself (pipes and devices too).
fn stat_at(t: &Thread, dirfd: i32, path: usize, flags: u32, extra: u32) -> Result<Stat, u32> {
    if flags & !(g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH | g::AT_NO_AUTOMOUNT | extra) != 0 {
        return Err(errno::EINVAL);
    }
    let p = user_path(path)?;
    if p.is_empty() && flags & g::AT_EMPTY_PATH != 0 && dirfd != g::AT_FDCWD {
        if dirfd < 0 {
            return Err(errno::EBADF);
        }
        return Ok(stat_file(&*file(t, dirfd as usize)?));
    }
    let c = Caller::of(t);
    let l: Loc = c.lookup(t, dirfd, &p, flags & g::AT_SYMLINK_NOFOLLOW == 0, flags & g::AT_EMPTY_PATH != 0)?;
    Ok(l.inode.stat())
}

/// newfstatat(dirfd, path, buf, flags).
pub fn newfstatat(t: &Thread, c: &UserContext) -> Fast {
    let (dirfd, path, buf, flags) = (c.arg(0) as i32, c.arg(1), c.arg(2), c.arg(3) as u32);
    Fast::Done(ret(stat_at(t, dirfd, path, flags, 0).and_then(|s| uaccess::write(buf, &to_abi(&s)).map(|_| 0))))
}

/// statx(dirfd, path, flags, mask, buf): the basic fields (STATX_BASIC_STATS).
pub fn statx(t: &Thread, c: &UserContext) -> Fast {
    let (dirfd, path, flags, _mask, buf) = (c.arg(0) as i32, c.arg(1), c.arg(2) as u32, c.arg(3) as u32, c.arg(4));
    Fast::Done(ret((|| {
        const SYNC_TYPE: u32 = g::AT_STATX_SYNC_TYPE;
        if flags & SYNC_TYPE == SYNC_TYPE {
            return Err(errno::EINVAL);
        }
        if _mask & g::STATX__RESERVED != 0 {
            return Err(errno::EINVAL);
        }
        let s = stat_at(t, dirfd, path, flags, SYNC_TYPE)?;
        let ts = |t: Time| velox_abi::StatxTimestamp { tv_sec: t.sec, tv_nsec: t.nsec, __reserved: 0 };
        let (rma, rmi) = velox_vfs::dev_split(s.rdev);
        let (dma, dmi) = velox_vfs::dev_split(s.dev);
        let x = velox_abi::Statx {
            stx_mask: g::STATX_BASIC_STATS,
            stx_blksize: s.blksize,
            stx_nlink: s.nlink,
            stx_uid: s.uid,
            stx_gid: s.gid,
            stx_mode: s.mode as u16,
            stx_ino: s.ino,
            stx_size: s.size,
            stx_blocks: s.blocks,
            stx_atime: ts(s.atime),
            stx_ctime: ts(s.ctime),
            stx_mtime: ts(s.mtime),
            stx_rdev_major: rma,
            stx_rdev_minor: rmi,
            stx_dev_major: dma,
            stx_dev_minor: dmi,
            ..Default::default()
        };
        uaccess::write(buf, &x).map(|_| 0)
    })()))
}

fn to_statfs(l: &Loc) -> velox_abi::Statfs {
    let s = l.mnt.fs.statfs();
    let dev = l.inode.id().0;
    velox_abi::Statfs {
        f_type: s.magic as i64,
        f_bsize: s.bsize as i64,
        f_blocks: s.blocks,
        f_bfree: s.bfree,
        f_bavail: s.bavail,
        f_files: s.files,
        f_ffree: s.ffree,
        f_fsid: [dev as i32, (dev >> 32) as i32],
        f_namelen: s.namelen as i64,
        f_frsize: s.bsize as i64,
        f_flags: (l.mnt.flags() | 0x20) as i64, // ST_VALID
        f_spare: [0; 4],
    }
}

/// statfs(path, buf).
pub fn statfs(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let p = user_path(c.arg(0))?;
        let caller = Caller::of(t);
        let l = caller.lookup(t, g::AT_FDCWD, &p, true, false)?;
        uaccess::write(c.arg(1), &to_statfs(&l)).map(|_| 0)
    })()))
}

/// fstatfs(fd, buf).
pub fn fstatfs(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let f = file(t, c.arg(0))?;
        match f.location() {
            Some(l) => uaccess::write(c.arg(1), &to_statfs(&l)).map(|_| 0),
            // Pipes, epolls, eventfds and the console: pipefs / anon_inodefs / devpts-like
            // figures (magic only).
            None => {
                let magic = match f.kind {
                    FileKind::PipeRead(_) | FileKind::PipeWrite(_) | FileKind::PipeBoth(_) => 0x5049_5045,
                    FileKind::Socket(_) => 0x534f_434b, // SOCKFS_MAGIC
                    FileKind::Epoll(_) | FileKind::EventFd(_) => 0x0904_1934,
                    _ => 0x0102_1994,
                };
                let s = velox_abi::Statfs { f_type: magic, f_bsize: 4096, f_namelen: 255, f_frsize: 4096, ..Default::default() };
                uaccess::write(c.arg(1), &s).map(|_| 0)
            }
        }
    })()))
}
