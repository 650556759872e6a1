//! Path-name system calls: openat, mkdirat, mknodat, unlinkat, renameat2, linkat, symlinkat,
//! readlinkat, faccessat(2), fchmod(at), fchown(at), utimensat, truncate, ftruncate,
//! fallocate, umask, and the sync family.

use super::fs::{file, nofile};
use super::{Fast, err, ret, uaccess};
use crate::fs::vfs::{self, FsCtx};
use crate::fs::{FileKind, Node, OpenFile};
use crate::task::Thread;
use alloc::vec::Vec;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_hal::trap::UserContext;
use velox_vfs::{FileType, Loc, MAY_EXEC, MAY_READ, MAY_WRITE, NewNode, SetAttr, Time, Who, may, may_delete, may_delete_mode, may_mode};

/// A path argument: EFAULT for a bad pointer, ENAMETOOLONG from PATH_MAX on.
pub fn user_path(ptr: usize) -> Result<Vec<u8>, u32> {
    uaccess::read_cstr(ptr, velox_vfs::PATH_MAX - 1)
}

/// The caller's file-system context and credentials.
pub struct Caller {
    /// (Shared with the process until it changes them: one reference count, not four.)
    pub ctx: alloc::sync::Arc<FsCtx>,
    pub cred: velox_cred::Cred,
    /// Supplementary groups; not looked up for root (permission checks never need them then,
    /// and every file-system call pays for the copy).
    pub groups: Option<alloc::sync::Arc<Vec<u32>>>,
}

impl Caller {
    /// Snapshot of `t`'s root, cwd, umask and credentials.
    pub fn of(t: &Thread) -> Caller {
        let cred = *t.process.cred.lock();
        let groups = (cred.uid.fs != 0 || cred.uid.r != 0).then(|| t.process.groups.lock().clone());
        Caller { ctx: t.process.fs.lock().clone(), cred, groups }
    }
    /// The view for permission checks.
    pub fn who(&self) -> Who<'_> {
        vfs::who_of(&self.cred, self.groups.as_deref().map_or(&[], |g| g.as_slice()))
    }
    /// Where a `*at` call starts: the cwd for AT_FDCWD or an absolute path, else the
    /// directory open at `dirfd` (EBADF, ENOTDIR).
    pub fn start(&self, t: &Thread, dirfd: i32, path: &[u8]) -> Result<Loc, u32> {
        if path.first() == Some(&b'/') || dirfd == g::AT_FDCWD {
            return Ok(self.ctx.cwd.clone());
        }
        if dirfd < 0 {
            return Err(errno::EBADF);
        }
        let f = file(t, dirfd as usize)?;
        let l = f.location().ok_or(errno::ENOTDIR)?;
        if l.inode.kind() != FileType::Dir {
            return Err(errno::ENOTDIR);
        }
        Ok(l)
    }
    /// [`Caller::start`] without copying the cwd in the common cases (AT_FDCWD or an
    /// absolute path); a directory descriptor's location is kept in `held`.
    pub fn start_in<'a>(&'a self, t: &Thread, dirfd: i32, path: &[u8], held: &'a mut Option<Loc>) -> Result<&'a Loc, u32> {
        if path.first() == Some(&b'/') || dirfd == g::AT_FDCWD {
            return Ok(&self.ctx.cwd);
        }
        Ok(held.insert(self.start(t, dirfd, path)?))
    }
    /// What (`dirfd`, `path`) names; with `empty_ok` (AT_EMPTY_PATH) an empty path is the
    /// descriptor's own location.
    pub fn lookup(&self, t: &Thread, dirfd: i32, path: &[u8], follow: bool, empty_ok: bool) -> Result<Loc, u32> {
        if path.is_empty() {
            if !empty_ok {
                return Err(errno::ENOENT);
            }
            if dirfd == g::AT_FDCWD {
                return Ok(self.ctx.cwd.clone());
            }
            if dirfd < 0 {
                return Err(errno::EBADF);
            }
            return file(t, dirfd as usize)?.location().ok_or(errno::EBADF);
        }
        // (The cwd borrowed, not cloned, in the common cases: one walk per stat and open.)
        if path[0] == b'/' || dirfd == g::AT_FDCWD {
            return vfs::walk(&self.ctx, &self.who(), &self.ctx.cwd, path, follow);
        }
        let start = self.start(t, dirfd, path)?;
        vfs::walk(&self.ctx, &self.who(), &start, path, follow)
    }
    /// The directory and last name for a call that creates or removes (`dirfd`, `path`).
    pub fn parent<'p>(&self, t: &Thread, dirfd: i32, path: &'p [u8]) -> Result<(Loc, &'p [u8], bool), u32> {
        let start = self.start(t, dirfd, path)?;
        vfs::walk_parent(&self.ctx, &self.who(), &start, path)
    }
    /// Write and search permission on directory `d` (to add or remove entries).
    fn may_modify(&self, d: &Loc) -> Result<(), u32> {
        if may_mode(d.inode.perm(), &self.who(), MAY_WRITE | MAY_EXEC) { Ok(()) } else { Err(errno::EACCES) }
    }
    /// A new node's owner: the caller, with the directory's group under a set-gid directory.
    fn owner(&self, dir: &Loc) -> (u32, u32) {
        let st = dir.inode.stat();
        let gid = if st.mode & velox_vfs::S_ISGID != 0 { st.gid } else { self.cred.gid.fs };
        (self.cred.uid.fs, gid)
    }
}

/// The path to remember for an open file: an absolute path as given (taken over, not
/// copied: [`crate::fs::Node::describe`] cleans it up when it is shown, which is rare), a
/// relative one joined to the start directory's path.
fn remembered_path(c: &Caller, start: &Loc, path: Vec<u8>) -> Vec<u8> {
    if path.first() == Some(&b'/') {
        return path;
    }
    let base = vfs::path_of(&c.ctx, start).unwrap_or_else(|_| b"/".to_vec());
    velox_vfs::normalize(&base, &path)
}

/// openat(dirfd, path, flags, mode).
pub fn openat(t: &Thread, ctx: &UserContext) -> Fast {
    let (dirfd, path, flags, mode) = (ctx.arg(0) as i32, ctx.arg(1), ctx.arg(2) as u32, ctx.arg(3) as u32);
    match open(t, dirfd, path, flags, mode) {
        Ok(Opened::Fd(fd)) => Fast::Done(fd),
        Ok(Opened::Fifo(..)) => Fast::Slow, // waits for the other end: the async openat
        Err(e) => Fast::Done(err(e)),
    }
}

/// openat when it has to wait (a FIFO without its other end yet).
pub async fn openat_async(t: alloc::sync::Arc<Thread>, a: super::Args) -> isize {
    let (dirfd, path, flags, mode) = (a.0[0] as i32, a.0[1], a.0[2] as u32, a.0[3] as u32);
    match open(&t, dirfd, path, flags, mode) {
        Ok(Opened::Fd(fd)) => fd,
        Ok(Opened::Fifo(loc, flags)) => ret(async { install(&t, crate::fs::pipe::open_fifo_wait(&t, &loc, flags).await?, flags) }.await),
        Err(e) => err(e),
    }
}

/// What an open got to.
enum Opened {
    Fd(isize),
    /// A FIFO whose open must wait for the other side.
    Fifo(Loc, u32),
}

fn open(t: &Thread, dirfd: i32, path: usize, flags: u32, mode: u32) -> Result<Opened, u32> {
    open_inner(t, dirfd, path, flags, mode).map(|r| match r {
        Ok(fd) => Opened::Fd(fd),
        Err(l) => Opened::Fifo(l, flags),
    })
}

fn open_inner(t: &Thread, dirfd: i32, path: usize, flags: u32, mode: u32) -> Result<Result<isize, Loc>, u32> {
    let p = user_path(path)?;
    let c = Caller::of(t);
    let acc = flags & g::O_ACCMODE;
    if acc == 3 && flags & g::O_PATH == 0 {
        return Err(errno::EINVAL);
    }
    // O_TMPFILE (which includes O_DIRECTORY) is not supported.
    if flags & g::O_TMPFILE == g::O_TMPFILE {
        return Err(errno::EOPNOTSUPP);
    }
    // Linux 6.4 and later: O_CREAT with O_DIRECTORY is EINVAL (it never made a directory).
    if flags & g::O_CREAT != 0 && flags & g::O_DIRECTORY != 0 {
        return Err(errno::EINVAL);
    }
    let mut held = None;
    let start = c.start_in(t, dirfd, &p, &mut held)?;
    let follow = flags & g::O_NOFOLLOW == 0 && !(flags & g::O_CREAT != 0 && flags & g::O_EXCL != 0);
    let mut created = false;
    let walked = vfs::walk(&c.ctx, &c.who(), start, &p, follow);
    if walked.as_ref().err() == Some(&errno::ENOENT) && follow && flags & g::O_PATH == 0 {
        // /proc/<pid>/fd/<n> (/dev/fd/<n>, /dev/stdin) of a pipe: its link text ("pipe:[N]")
        // leads nowhere, but opening it opens the pipe again, as on Linux.
        // (Symbolic links before it, as /dev/stdin -> /proc/self/fd/0, are followed here.)
        let (mut dir, mut path) = (start.clone(), p.clone());
        for _ in 0..velox_vfs::path::MAX_LINKS {
            let Ok(l) = vfs::walk(&c.ctx, &c.who(), &dir, &path, false) else { break };
            if let Some(f) = crate::fs::proc::fd_file(&l.inode) {
                if let crate::fs::FileKind::PipeRead(pipe) | crate::fs::FileKind::PipeWrite(pipe) | crate::fs::FileKind::PipeBoth(pipe) = &f.kind {
                    return install(t, crate::fs::pipe::reopen(pipe, flags), flags).map(Ok);
                }
                break;
            }
            if l.inode.kind() != FileType::Symlink {
                break;
            }
            let Ok(target) = l.inode.readlink() else { break };
            let Ok((d, _, _)) = vfs::walk_parent(&c.ctx, &c.who(), &dir, &path) else { break };
            (dir, path) = (d, target);
        }
    }
    let loc = match walked {
        Ok(l) => {
            if flags & g::O_CREAT != 0 && flags & g::O_EXCL != 0 && flags & g::O_PATH == 0 {
                return Err(errno::EEXIST);
            }
            l
        }
        Err(errno::ENOENT) if flags & g::O_CREAT != 0 && flags & g::O_PATH == 0 => {
            let (mut dir, name, trailing) = c.parent(t, dirfd, &p)?;
            if trailing || name.is_empty() || name == b"." || name == b".." {
                return Err(errno::EISDIR);
            }
            // A dangling symbolic link as the last name: create its target (when following).
            let mut name = name.to_vec();
            let mut hops = 0;
            while follow {
                match dir.inode.lookup(&name) {
                    Ok(i) if i.kind() == FileType::Symlink => {
                        hops += 1;
                        if hops > velox_vfs::path::MAX_LINKS {
                            return Err(errno::ELOOP);
                        }
                        let target = i.readlink()?;
                        let (d2, n2, tr) = vfs::walk_parent(&c.ctx, &c.who(), &dir, &target)?;
                        if tr || n2.is_empty() || n2 == b"." || n2 == b".." {
                            return Err(errno::EISDIR);
                        }
                        name = n2.to_vec();
                        dir = d2;
                    }
                    _ => break,
                }
            }
            let name = &name[..];
            c.may_modify(&dir)?;
            let (uid, gid) = c.owner(&dir);
            let perm = mode & 0o7777 & !c.ctx.umask;
            let n = NewNode { kind: FileType::Regular, perm, uid, gid, rdev: 0, target: b"" };
            let inode = match dir.inode.create(name, &n) {
                // A racing creator won: open theirs (unless O_EXCL).
                Err(errno::EEXIST) if flags & g::O_EXCL == 0 => dir.inode.lookup(name)?,
                r => {
                    created = true;
                    r?
                }
            };
            Loc { mnt: dir.mnt.clone(), inode }
        }
        Err(e) => return Err(e),
    };
    let kind = loc.inode.kind();
    let path_rec = remembered_path(&c, start, p);
    if flags & g::O_PATH != 0 {
        if flags & g::O_DIRECTORY != 0 && kind != FileType::Dir {
            return Err(errno::ENOTDIR);
        }
        let f = OpenFile::new(FileKind::Node(Node { loc, path: path_rec, path_only: true }), g::O_PATH | (flags & g::O_NOFOLLOW));
        return install(t, f, flags).map(Ok);
    }
    if kind == FileType::Symlink {
        return Err(errno::ELOOP); // O_NOFOLLOW on a link
    }
    if flags & g::O_DIRECTORY != 0 && kind != FileType::Dir {
        return Err(errno::ENOTDIR);
    }
    if kind == FileType::Dir && (acc != g::O_RDONLY || flags & (g::O_CREAT | g::O_TRUNC) != 0) {
        return Err(errno::EISDIR);
    }
    if !created {
        let mut want = 0;
        if acc != g::O_WRONLY {
            want |= MAY_READ;
        }
        if acc != g::O_RDONLY || flags & g::O_TRUNC != 0 {
            want |= MAY_WRITE;
        }
        // (Root may read and write anything: no need to read the mode. `want` has no MAY_EXEC.)
        if c.cred.uid.fs != 0 && !may_mode(loc.inode.perm(), &c.who(), want) {
            return Err(errno::EACCES);
        }
        // A regular file or directory of a read-only mount is not opened for writing (devices
        // and FIFOs on it may be).
        if want & MAY_WRITE != 0 && loc.mnt.flags() & g::MS_RDONLY != 0 && matches!(kind, FileType::Regular | FileType::Dir) {
            return Err(errno::EROFS);
        }
    }
    let keep = g::O_ACCMODE | g::O_NONBLOCK | g::O_APPEND | g::O_DIRECT | g::O_NOATIME | g::O_LARGEFILE | g::O_SYNC | g::O_DSYNC;
    // A regular file opened for writing counts as a writer while the open file lives; one
    // that is running as a program refuses it, and O_TRUNC too (ETXTBSY).
    let mut write = None;
    let fk = match kind {
        FileType::Regular | FileType::Dir => {
            if kind == FileType::Regular && (acc != g::O_RDONLY || flags & g::O_TRUNC != 0) {
                let w = crate::fs::writecount::WriteAccess::get(&loc.inode)?;
                if acc != g::O_RDONLY {
                    write = w;
                }
            }
            if kind == FileType::Regular && flags & g::O_TRUNC != 0 && !created {
                loc.inode.truncate(0)?;
            }
            FileKind::Node(Node { loc, path: path_rec, path_only: false })
        }
        FileType::Char => crate::fs::devfs::open_char(t, loc.inode.stat().rdev, flags)?,
        FileType::Fifo => {
            return match crate::fs::pipe::open_fifo(t, &loc, flags) {
                Ok(f) => install(t, f, flags).map(Ok),
                Err(errno::EAGAIN) => Ok(Err(loc)),
                Err(e) => Err(e),
            };
        }
        FileType::Block | FileType::Socket | FileType::Symlink => return Err(errno::ENXIO),
    };
    install(t, OpenFile::new_writer(fk, flags & keep, write), flags).map(Ok)
}

/// Put a new open file in the lowest free descriptor.
fn install(t: &Thread, f: crate::fs::FileRef, flags: u32) -> Result<isize, u32> {
    let lim = nofile(t);
    t.process.fds.lock().insert(f, flags & g::O_CLOEXEC != 0, 0, lim).map(|fd| fd as isize)
}

/// mkdirat(dirfd, path, mode).
pub fn mkdirat(t: &Thread, ctx: &UserContext) -> Fast {
    let (dirfd, path, mode) = (ctx.arg(0) as i32, ctx.arg(1), ctx.arg(2) as u32);
    Fast::Done(ret(make(t, dirfd, path, FileType::Dir, mode & 0o7777, 0, b"")))
}

/// mknodat(dirfd, path, mode, dev): regular files, FIFOs, and (for root) device nodes.
pub fn mknodat(t: &Thread, ctx: &UserContext) -> Fast {
    let (dirfd, path, mode, dev) = (ctx.arg(0) as i32, ctx.arg(1), ctx.arg(2) as u32, ctx.arg(3) as u32);
    Fast::Done(ret((|| {
        let kind = match mode & velox_vfs::S_IFMT {
            0 => FileType::Regular,
            m => FileType::from_mode(m).ok_or(errno::EINVAL)?,
        };
        if kind == FileType::Dir || kind == FileType::Symlink {
            return Err(errno::EPERM);
        }
        if matches!(kind, FileType::Char | FileType::Block) && !t.process.cred.lock().privileged() {
            return Err(errno::EPERM);
        }
        // The user's dev_t is the 32-bit "new" encoding; keep it in Linux's 64-bit form.
        let rdev = velox_vfs::makedev((dev >> 8) & 0xfff, (dev & 0xff) | ((dev >> 12) & 0xfff00));
        make(t, dirfd, path, kind, mode & 0o7777, rdev, b"")
    })()))
}

/// symlinkat(target, newdirfd, linkpath).
pub fn symlinkat(t: &Thread, ctx: &UserContext) -> Fast {
    let (target, dirfd, path) = (ctx.arg(0), ctx.arg(1) as i32, ctx.arg(2));
    Fast::Done(ret((|| {
        let target = user_path(target)?;
        if target.is_empty() {
            return Err(errno::ENOENT);
        }
        make(t, dirfd, path, FileType::Symlink, 0o777, 0, &target)
    })()))
}

/// Create a node of `kind` at (`dirfd`, `path`).
fn make(t: &Thread, dirfd: i32, path: usize, kind: FileType, perm: u32, rdev: u64, target: &[u8]) -> Result<isize, u32> {
    let p = user_path(path)?;
    make_path(t, dirfd, &p, kind, perm, rdev, target)
}

/// Create a node of `kind` at (`dirfd`, `p`) (mknod's rules: EEXIST, permissions, umask);
/// also how bind(2) makes a socket's node.
pub fn make_path(t: &Thread, dirfd: i32, p: &[u8], kind: FileType, perm: u32, rdev: u64, target: &[u8]) -> Result<isize, u32> {
    let c = Caller::of(t);
    let (dir, name, trailing) = c.parent(t, dirfd, p)?;
    if name.is_empty() || name == b"." || name == b".." {
        return Err(errno::EEXIST);
    }
    if trailing && kind != FileType::Dir {
        // "mknod x/" names a directory that does not exist: ENOENT, or EEXIST if it does.
        return Err(if dir.inode.lookup(name).is_ok() { errno::EEXIST } else { errno::ENOENT });
    }
    if dir.inode.lookup(name).is_ok() {
        return Err(errno::EEXIST);
    }
    c.may_modify(&dir)?;
    let (uid, gid) = c.owner(&dir);
    let mut perm = if kind == FileType::Symlink { 0o777 } else { perm & !c.ctx.umask };
    // A directory created in a set-gid directory is set-gid too.
    if kind == FileType::Dir && dir.inode.stat().mode & velox_vfs::S_ISGID != 0 {
        perm |= velox_vfs::S_ISGID;
    }
    dir.inode.create(name, &NewNode { kind, perm, uid, gid, rdev, target })?;
    Ok(0)
}

/// unlinkat(dirfd, path, flags): AT_REMOVEDIR removes an empty directory.
pub fn unlinkat(t: &Thread, ctx: &UserContext) -> Fast {
    let (dirfd, path, flags) = (ctx.arg(0) as i32, ctx.arg(1), ctx.arg(2) as u32);
    Fast::Done(ret((|| {
        if flags & !g::AT_REMOVEDIR != 0 {
            return Err(errno::EINVAL);
        }
        let p = user_path(path)?;
        let c = Caller::of(t);
        let rmdir = flags & g::AT_REMOVEDIR != 0;
        let (dir, name, trailing) = c.parent(t, dirfd, &p)?;
        match name {
            b"" => return Err(if rmdir { errno::EBUSY } else { errno::EISDIR }),
            b"." => return Err(if rmdir { errno::EINVAL } else { errno::EISDIR }),
            b".." => return Err(if rmdir { errno::ENOTEMPTY } else { errno::EISDIR }),
            _ => {}
        }
        let child = dir.inode.lookup(name)?;
        if !rmdir && trailing {
            return Err(if child.kind() == FileType::Dir { errno::EISDIR } else { errno::ENOTDIR });
        }
        may_delete(&dir.inode.stat(), &child.stat(), &c.who())?;
        if rmdir && child.kind() == FileType::Dir {
            let l = Loc { mnt: dir.mnt.clone(), inode: child.clone() };
            if vfs::MOUNTS.mounted_on(&l).is_some() || l.same(&c.ctx.root) {
                return Err(errno::EBUSY);
            }
        }
        // (Let go of it first: a file nobody else holds is freed by the unlink itself.)
        drop(child);
        // The permission check again on the entry actually removed, under the directory's
        // lock (a file created under the same name since the look-up above must not slip
        // past the sticky bit).
        let (dp, who) = (dir.inode.perm(), c.who());
        dir.inode.unlink_checked(name, rmdir, &mut |victim| may_delete_mode(dp, victim.perm(), &who))?;
        Ok(0)
    })()))
}

/// renameat2(olddirfd, oldpath, newdirfd, newpath, flags).
pub fn renameat2(t: &Thread, ctx: &UserContext) -> Fast {
    let (od, op, nd, np, flags) = (ctx.arg(0) as i32, ctx.arg(1), ctx.arg(2) as i32, ctx.arg(3), ctx.arg(4) as u32);
    Fast::Done(ret((|| {
        use velox_vfs::{RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT};
        if flags & !(RENAME_EXCHANGE | RENAME_NOREPLACE | RENAME_WHITEOUT) != 0 || flags & RENAME_EXCHANGE != 0 && flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) != 0 {
            return Err(errno::EINVAL);
        }
        if flags & RENAME_WHITEOUT != 0 {
            return Err(errno::EINVAL); // tmpfs whiteouts (overlayfs) are not supported
        }
        let (op, np) = (user_path(op)?, user_path(np)?);
        let c = Caller::of(t);
        let (odir, oname, otrail) = c.parent(t, od, &op)?;
        let (ndir, nname, ntrail) = c.parent(t, nd, &np)?;
        for n in [oname, nname] {
            if n.is_empty() || n == b"." || n == b".." {
                return Err(errno::EBUSY);
            }
        }
        if !core::ptr::eq(odir.mnt.as_ref(), ndir.mnt.as_ref()) {
            return Err(errno::EXDEV);
        }
        let child = odir.inode.lookup(oname)?;
        if (otrail || ntrail) && child.kind() != FileType::Dir {
            return Err(errno::ENOTDIR);
        }
        let who = c.who();
        may_delete(&odir.inode.stat(), &child.stat(), &who)?;
        match ndir.inode.lookup(nname) {
            Ok(victim) => may_delete(&ndir.inode.stat(), &victim.stat(), &who)?,
            Err(_) => c.may_modify(&ndir)?,
        }
        // A directory moving to another parent rewrites its "..": write access to it too.
        if child.kind() == FileType::Dir && odir.inode.id() != ndir.inode.id() && !may_mode(child.perm(), &who, MAY_WRITE) {
            return Err(errno::EACCES);
        }
        for (d, n) in [(&odir, oname), (&ndir, nname)] {
            if let Ok(i) = d.inode.lookup(n) {
                if vfs::MOUNTS.mounted_on(&Loc { mnt: d.mnt.clone(), inode: i }).is_some() {
                    return Err(errno::EBUSY);
                }
            }
        }
        // The same checks again on the entries the file system actually moves and replaces,
        // where they cannot change (see unlinkat).
        let (odp, ndp, cross) = (odir.inode.perm(), ndir.inode.perm(), odir.inode.id() != ndir.inode.id());
        odir.inode.rename_checked(oname, &ndir.inode, nname, flags, &mut |moved, victim| {
            may_delete_mode(odp, moved.perm(), &who)?;
            match victim {
                Some(v) => may_delete_mode(ndp, v.perm(), &who)?,
                None if !may_mode(ndp, &who, MAY_WRITE | MAY_EXEC) => return Err(errno::EACCES),
                None => {}
            }
            if cross && moved.kind() == FileType::Dir && !may_mode(moved.perm(), &who, MAY_WRITE) {
                return Err(errno::EACCES);
            }
            Ok(())
        })?;
        Ok(0)
    })()))
}

/// linkat(olddirfd, oldpath, newdirfd, newpath, flags).
pub fn linkat(t: &Thread, ctx: &UserContext) -> Fast {
    let (od, op, nd, np, flags) = (ctx.arg(0) as i32, ctx.arg(1), ctx.arg(2) as i32, ctx.arg(3), ctx.arg(4) as u32);
    Fast::Done(ret((|| {
        if flags & !(g::AT_SYMLINK_FOLLOW | g::AT_EMPTY_PATH) != 0 {
            return Err(errno::EINVAL);
        }
        let (op, np) = (user_path(op)?, user_path(np)?);
        let c = Caller::of(t);
        if op.is_empty() && flags & g::AT_EMPTY_PATH != 0 && !c.cred.privileged() {
            return Err(errno::ENOENT);
        }
        let src = c.lookup(t, od, &op, flags & g::AT_SYMLINK_FOLLOW != 0, flags & g::AT_EMPTY_PATH != 0)?;
        if src.inode.kind() == FileType::Dir {
            return Err(errno::EPERM);
        }
        let (dir, name, trailing) = c.parent(t, nd, &np)?;
        if name.is_empty() || name == b"." || name == b".." {
            return Err(errno::EEXIST);
        }
        if dir.inode.lookup(name).is_ok() {
            return Err(errno::EEXIST);
        }
        if trailing {
            return Err(errno::ENOENT);
        }
        // proc refuses new names at lookup, before the cross-mount check (Linux's order).
        if dir.mnt.fs.name() == "proc" {
            return Err(errno::ENOENT);
        }
        if !core::ptr::eq(src.mnt.as_ref(), dir.mnt.as_ref()) {
            return Err(errno::EXDEV);
        }
        c.may_modify(&dir)?;
        dir.inode.link(name, &src.inode)?;
        Ok(0)
    })()))
}

/// readlinkat(dirfd, path, buf, size).
pub fn readlinkat(t: &Thread, ctx: &UserContext) -> Fast {
    let (dirfd, path, buf, size) = (ctx.arg(0) as i32, ctx.arg(1), ctx.arg(2), ctx.arg(3) as i32);
    Fast::Done(ret((|| {
        if size <= 0 {
            return Err(errno::EINVAL);
        }
        let p = user_path(path)?;
        let c = Caller::of(t);
        let l = c.lookup(t, dirfd, &p, false, true)?;
        let target = l.inode.readlink()?;
        let n = target.len().min(size as usize);
        uaccess::write_bytes(buf, &target[..n]).map(|_| n as isize)
    })()))
}

/// faccessat(dirfd, path, mode) (flags 0).
pub fn faccessat(t: &Thread, ctx: &UserContext) -> Fast {
    Fast::Done(ret(access(t, ctx.arg(0) as i32, ctx.arg(1), ctx.arg(2) as u32, 0)))
}

/// faccessat2(dirfd, path, mode, flags): AT_EACCESS, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH.
pub fn faccessat2(t: &Thread, ctx: &UserContext) -> Fast {
    Fast::Done(ret(access(t, ctx.arg(0) as i32, ctx.arg(1), ctx.arg(2) as u32, ctx.arg(3) as u32)))
}

fn access(t: &Thread, dirfd: i32, path: usize, mode: u32, flags: u32) -> Result<isize, u32> {
    if mode & !7 != 0 || flags & !(g::AT_EACCESS | g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH) != 0 {
        return Err(errno::EINVAL);
    }
    let p = user_path(path)?;
    let mut c = Caller::of(t);
    // Without AT_EACCESS the real ids are checked (the point of access(2)).
    if flags & g::AT_EACCESS == 0 {
        c.cred.uid.fs = c.cred.uid.r;
        c.cred.gid.fs = c.cred.gid.r;
    }
    let l = c.lookup(t, dirfd, &p, flags & g::AT_SYMLINK_NOFOLLOW == 0, flags & g::AT_EMPTY_PATH != 0)?;
    if mode != 0 && !may_mode(l.inode.perm(), &c.who(), mode) {
        return Err(errno::EACCES);
    }
    Ok(0)
}

/// Change attributes of `l` as the caller: chmod needs ownership; chown needs root (or the
/// owner giving the file to one of its own groups). Set-id bits drop as Linux drops them.
fn chattr(c: &Caller, l: &Loc, mode: Option<u32>, uid: Option<u32>, gid: Option<u32>) -> Result<isize, u32> {
    let st = l.inode.stat();
    let me = c.cred.uid.fs;
    let root = c.cred.privileged();
    let mut a = SetAttr::default();
    if let Some(mut m) = mode {
        if !root && me != st.uid {
            return Err(errno::EPERM);
        }
        if !root && st.mode & velox_vfs::S_IFMT != velox_vfs::S_IFDIR && !c.who().in_group(st.gid) {
            m &= !velox_vfs::S_ISGID;
        }
        a.mode = Some(m & 0o7777);
    }
    let uid = uid.filter(|&u| u != u32::MAX);
    let gid = gid.filter(|&g| g != u32::MAX);
    if uid.is_some() || gid.is_some() {
        if !root {
            if uid.is_some_and(|u| u != st.uid) || me != st.uid {
                return Err(errno::EPERM);
            }
            if gid.is_some_and(|g| g != st.gid && !c.who().in_group(g)) {
                return Err(errno::EPERM);
            }
        }
        a.uid = uid;
        a.gid = gid;
        // chown clears set-uid and (group-executable) set-gid on non-directories.
        if st.mode & velox_vfs::S_IFMT != velox_vfs::S_IFDIR && (uid.is_some() || gid.is_some()) {
            let mut m = st.mode & 0o7777 & !velox_vfs::S_ISUID;
            if m & 0o010 != 0 {
                m &= !velox_vfs::S_ISGID;
            }
            if m != st.mode & 0o7777 {
                a.mode = Some(m);
            }
        }
    }
    l.inode.setattr(&a)?;
    Ok(0)
}

/// fchmod(fd, mode).
pub fn fchmod(t: &Thread, ctx: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let f = file(t, ctx.arg(0))?;
        let l = node_loc(&f)?;
        chattr(&Caller::of(t), &l, Some(ctx.arg(1) as u32), None, None)
    })()))
}

/// fchmodat(dirfd, path, mode).
pub fn fchmodat(t: &Thread, ctx: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let p = user_path(ctx.arg(1))?;
        let c = Caller::of(t);
        let l = c.lookup(t, ctx.arg(0) as i32, &p, true, false)?;
        chattr(&c, &l, Some(ctx.arg(2) as u32), None, None)
    })()))
}

/// fchmodat2(dirfd, path, mode, flags): fchmodat with flags (Linux 6.6): AT_EMPTY_PATH
/// changes `dirfd` itself; AT_SYMLINK_NOFOLLOW on a symbolic link is EOPNOTSUPP (links have
/// no mode of their own), as Linux; other flags EINVAL.
pub fn fchmodat2(t: &Thread, ctx: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let flags = ctx.arg(3) as u32;
        if flags & !(g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH) != 0 {
            return Err(errno::EINVAL);
        }
        let p = user_path(ctx.arg(1))?;
        let c = Caller::of(t);
        let l = c.lookup(t, ctx.arg(0) as i32, &p, flags & g::AT_SYMLINK_NOFOLLOW == 0, flags & g::AT_EMPTY_PATH != 0)?;
        if l.inode.kind() == FileType::Symlink {
            return Err(errno::EOPNOTSUPP);
        }
        chattr(&c, &l, Some(ctx.arg(2) as u32), None, None)
    })()))
}

/// fchown(fd, uid, gid).
pub fn fchown(t: &Thread, ctx: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let f = file(t, ctx.arg(0))?;
        let l = node_loc(&f)?;
        chattr(&Caller::of(t), &l, None, Some(ctx.arg(1) as u32), Some(ctx.arg(2) as u32))
    })()))
}

/// fchownat(dirfd, path, uid, gid, flags).
pub fn fchownat(t: &Thread, ctx: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let flags = ctx.arg(4) as u32;
        if flags & !(g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH) != 0 {
            return Err(errno::EINVAL);
        }
        let p = user_path(ctx.arg(1))?;
        let c = Caller::of(t);
        let l = c.lookup(t, ctx.arg(0) as i32, &p, flags & g::AT_SYMLINK_NOFOLLOW == 0, flags & g::AT_EMPTY_PATH != 0)?;
        chattr(&c, &l, None, Some(ctx.arg(2) as u32), Some(ctx.arg(3) as u32))
    })()))
}

/// The location of an open file of the tree (EBADF for pipes and devices without one; O_PATH
/// descriptors count, as Linux's fchmod refuses them: EBADF).
fn node_loc(f: &crate::fs::FileRef) -> Result<Loc, u32> {
    match &f.kind {
        FileKind::Node(n) if !n.path_only => Ok(n.loc.clone()),
        _ => Err(errno::EBADF),
    }
}

/// utimensat(dirfd, path, times, flags): a NULL path with a descriptor changes that file.
pub fn utimensat(t: &Thread, ctx: &UserContext) -> Fast {
    let (dirfd, path, times, flags) = (ctx.arg(0) as i32, ctx.arg(1), ctx.arg(2), ctx.arg(3) as u32);
    Fast::Done(ret((|| {
        if flags & !(g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH) != 0 {
            return Err(errno::EINVAL);
        }
        let ts: Option<[velox_abi::Timespec; 2]> = if times == 0 { None } else { Some(uaccess::read(times)?) };
        let now = vfs::now();
        let pick = |t: &velox_abi::Timespec| -> Result<Option<Time>, u32> {
            match t.tv_nsec {
                n if n == g::UTIME_OMIT as i64 => Ok(None),
                n if n == g::UTIME_NOW as i64 => Ok(Some(now)),
                n if (0..1_000_000_000).contains(&n) => Ok(Some(Time { sec: t.tv_sec, nsec: n as u32 })),
                _ => Err(errno::EINVAL),
            }
        };
        let (atime, mtime) = match &ts {
            None => (Some(now), Some(now)),
            Some([a, m]) => (pick(a)?, pick(m)?),
        };
        let c = Caller::of(t);
        let l = if path == 0 {
            // (A NULL path names the descriptor itself: no flags; not an O_PATH one.)
            if flags != 0 {
                return Err(errno::EINVAL);
            }
            if dirfd == g::AT_FDCWD {
                return Err(errno::EFAULT);
            }
            let f = file(t, dirfd as usize)?;
            if matches!(&f.kind, FileKind::Node(n) if n.path_only) {
                return Err(errno::EBADF);
            }
            f.location().ok_or(errno::EBADF)?
        } else {
            let p = user_path(path)?;
            c.lookup(t, dirfd, &p, flags & g::AT_SYMLINK_NOFOLLOW == 0, flags & g::AT_EMPTY_PATH != 0)?
        };
        if atime.is_none() && mtime.is_none() {
            return Ok(0);
        }
        let st = l.inode.stat();
        let owner = c.cred.privileged() || c.cred.uid.fs == st.uid;
        // Setting explicit times needs ownership; "now" also write permission.
        let explicit = ts.as_ref().is_some_and(|[a, m]| [a, m].iter().any(|x| x.tv_nsec != g::UTIME_NOW as i64 && x.tv_nsec != g::UTIME_OMIT as i64));
        if !owner && (explicit || !may(&st, &c.who(), MAY_WRITE)) {
            return Err(if explicit { errno::EPERM } else { errno::EACCES });
        }
        l.inode.setattr(&SetAttr { atime, mtime, ..Default::default() })?;
        Ok(0)
    })()))
}

/// truncate(path, length).
pub fn truncate(t: &Thread, ctx: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let len = ctx.arg(1) as i64;
        if len < 0 {
            return Err(errno::EINVAL);
        }
        let p = user_path(ctx.arg(0))?;
        let c = Caller::of(t);
        let l = c.lookup(t, g::AT_FDCWD, &p, true, false)?;
        match l.inode.kind() {
            FileType::Dir => return Err(errno::EISDIR),
            FileType::Regular => {}
            _ => return Err(errno::EINVAL),
        }
        if !may_mode(l.inode.perm(), &c.who(), MAY_WRITE) {
            return Err(errno::EACCES);
        }
        // (A running program is not truncated: ETXTBSY.)
        let _writer = crate::fs::writecount::WriteAccess::get(&l.inode)?;
        l.inode.truncate(len as u64)?;
        Ok(0)
    })()))
}

/// ftruncate(fd, length): the file must be open for writing.
pub fn ftruncate(t: &Thread, ctx: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let len = ctx.arg(1) as i64;
        let f = file(t, ctx.arg(0))?;
        if len < 0 {
            return Err(errno::EINVAL);
        }
        let l = match &f.kind {
            FileKind::Node(n) if !n.path_only => n.loc.clone(),
            FileKind::Node(_) => return Err(errno::EBADF),
            _ => return Err(errno::EINVAL),
        };
        // Not open for writing, or not a regular file: EINVAL (as Linux's do_sys_ftruncate).
        if !f.writable() || l.inode.kind() != FileType::Regular {
            return Err(errno::EINVAL);
        }
        l.inode.truncate(len as u64)?;
        Ok(0)
    })()))
}

/// fallocate(fd, mode, offset, len): mode 0 and FALLOC_FL_KEEP_SIZE.
pub fn fallocate(t: &Thread, ctx: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let (mode, off, len) = (ctx.arg(1) as u32, ctx.arg(2) as i64, ctx.arg(3) as i64);
        let f = file(t, ctx.arg(0))?;
        if off < 0 || len <= 0 {
            return Err(errno::EINVAL);
        }
        if !f.writable() {
            return Err(errno::EBADF);
        }
        let l = match &f.kind {
            FileKind::Node(n) if !n.path_only => n.loc.clone(),
            FileKind::PipeRead(_) | FileKind::PipeWrite(_) | FileKind::PipeBoth(_) => return Err(errno::ESPIPE),
            _ => return Err(errno::ENODEV),
        };
        match l.inode.kind() {
            FileType::Dir => return Err(errno::EISDIR),
            FileType::Regular => {}
            _ => return Err(errno::ENODEV),
        }
        if mode & !g::FALLOC_FL_KEEP_SIZE != 0 {
            return Err(errno::EOPNOTSUPP);
        }
        l.inode.allocate(off as u64, len as u64, mode & g::FALLOC_FL_KEEP_SIZE != 0)?;
        Ok(0)
    })()))
}

/// umask(mask): the old mask.
pub fn umask(t: &Thread, ctx: &UserContext) -> Fast {
    let mut fs = t.process.fs.lock();
    let old = fs.umask;
    let new = ctx.arg(0) as u32 & 0o777;
    if new != old {
        alloc::sync::Arc::make_mut(&mut fs).umask = new;
    }
    Fast::Done(old as isize)
}

/// sync(): write back every ext4 file system (tmpfs lives in memory: nothing to do).
pub fn sync(_t: &Thread, _c: &UserContext) -> Fast {
    let _ = crate::fs::ext4::sync_all();
    Fast::Done(0)
}

/// fsync, fdatasync, syncfs(fd): EBADF for a bad descriptor; EINVAL for fsync of a pipe or
/// device without sync support, as Linux; files of the tree are in memory.
pub fn fsync(t: &Thread, ctx: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let f = file(t, ctx.arg(0))?;
        match &f.kind {
            FileKind::Node(n) if n.path_only => Err(errno::EBADF),
            FileKind::Node(n) => n.loc.inode.sync().map(|_| 0),
            // Pipes, the terminal and the memory devices have no fsync (Linux: EINVAL).
            _ => Err(errno::EINVAL),
        }
    })()))
}

/// syncfs(fd): write back the file system the file is on.
pub fn syncfs(t: &Thread, ctx: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let f = file(t, ctx.arg(0))?;
        match &f.kind {
            FileKind::Node(n) if n.path_only => Err(errno::EBADF),
            FileKind::Node(n) => crate::fs::ext4::sync_fs(&n.loc.mnt.fs).map(|_| 0),
            _ => Ok(0),
        }
    })()))
}
