//! The inode interface every file system implements, and the plain types it speaks in.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use linux_raw_sys::errno as e;

/// A Linux errno value (positive).
pub type Errno = u32;
/// Result of a file-system operation.
pub type VResult<T> = Result<T, Errno>;

/// Longest name of one directory entry (NAME_MAX).
pub const NAME_MAX: usize = linux_raw_sys::general::NAME_MAX as usize;
/// Longest path a call accepts, NUL included (PATH_MAX).
pub const PATH_MAX: usize = linux_raw_sys::general::PATH_MAX as usize;

/// File type and mode bits of `st_mode` (Linux's).
pub use linux_raw_sys::general::{S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, S_ISGID, S_ISUID, S_ISVTX};

/// What an inode is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Regular,
    Dir,
    Symlink,
    Char,
    Block,
    Fifo,
    Socket,
}

impl FileType {
    /// The type encoded in `mode`'s S_IFMT bits.
    pub fn from_mode(mode: u32) -> Option<FileType> {
        Some(match mode & S_IFMT {
            S_IFREG => FileType::Regular,
            S_IFDIR => FileType::Dir,
            S_IFLNK => FileType::Symlink,
            S_IFCHR => FileType::Char,
            S_IFBLK => FileType::Block,
            S_IFIFO => FileType::Fifo,
            S_IFSOCK => FileType::Socket,
            _ => return None,
        })
    }
    /// The S_IFMT bits.
    pub fn mode_bits(self) -> u32 {
        match self {
            FileType::Regular => S_IFREG,
            FileType::Dir => S_IFDIR,
            FileType::Symlink => S_IFLNK,
            FileType::Char => S_IFCHR,
            FileType::Block => S_IFBLK,
            FileType::Fifo => S_IFIFO,
            FileType::Socket => S_IFSOCK,
        }
    }
    /// The `d_type` getdents64 reports (DT_REG ...).
    pub fn dirent_type(self) -> u8 {
        match self {
            FileType::Fifo => 1,
            FileType::Char => 2,
            FileType::Dir => 4,
            FileType::Block => 6,
            FileType::Regular => 8,
            FileType::Symlink => 10,
            FileType::Socket => 12,
        }
    }
}

/// A time stamp.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Time {
    pub sec: i64,
    pub nsec: u32,
}

/// An inode's attributes (what stat reports, in the file system's terms).
#[derive(Debug, Clone, Copy, Default)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    /// Type and permission bits.
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    /// 512-byte blocks allocated.
    pub blocks: u64,
    pub blksize: u32,
    pub atime: Time,
    pub mtime: Time,
    pub ctime: Time,
}

/// Attribute changes (chmod, chown, utimensat); `None` leaves a field alone. The change time
/// is set by the file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetAttr {
    /// Permission bits (the type bits are ignored).
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub atime: Option<Time>,
    pub mtime: Option<Time>,
}

/// What `create` makes.
#[derive(Debug, Clone, Copy)]
pub struct NewNode<'a> {
    pub kind: FileType,
    /// Permission bits (umask already applied).
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    /// Device number of a character or block device node.
    pub rdev: u64,
    /// A symbolic link's target.
    pub target: &'a [u8],
}

/// One entry a directory listing hands out.
#[derive(Debug, Clone, Copy)]
pub struct DirEntry<'a> {
    pub name: &'a [u8],
    pub ino: u64,
    pub kind: FileType,
    /// The position to continue from after this entry (getdents64's `d_off`).
    pub next: u64,
}

/// rename flags.
pub use linux_raw_sys::general::{RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT};

/// How [`Inode::map_pages`] may change the file on the way (memory mappings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapMode {
    /// Change nothing: holes stay holes, RAM-disk bytes stay where they are.
    Look,
    /// Copy RAM-disk contents into pages first (a shared mapping must map the file's own pages).
    Materialize,
    /// As `Materialize`, and give holes inside the file a zeroed page (a shared mapping's fault).
    Create,
}

/// One page of a file as [`Inode::map_pages`] shows it, valid while the callback runs (the
/// inode's data lock is held).
#[derive(Debug, Clone, Copy)]
pub enum PageView<'a> {
    /// A page of the file's own memory (the kernel maps its frame).
    Page(&'a [u8; 4096]),
    /// The page's bytes in read-only memory that lives forever (the RAM disk): short at the
    /// end of the file (the rest of the page reads as zeros).
    Static(&'static [u8]),
    /// A hole inside the file (reads as zeros).
    Hole,
    /// At or past the end of the file: no page (SIGBUS for a mapping).
    Eof,
}

/// A file-system object. Every operation has a default that says "not supported here" with
/// the errno Linux gives, so a file system implements what its objects are.
///
/// Lock order: a directory's lock before its children's; two directories of a rename in
/// inode-number order under the file system's rename lock. Data callbacks (`read_at`'s sink,
/// `write_at`'s source) run with the inode's data lock held: they copy to or from user
/// memory and may fault, so no fault handler may wait for an inode lock (a fault on a file
/// mapping only tries it: `map_pages` with `nowait`).
pub trait Inode: Send + Sync + Any {
    /// (device, inode number), without locking: identity for mount points and hard links.
    fn id(&self) -> (u64, u64);
    /// The object's type (fixed for its life).
    fn kind(&self) -> FileType;
    /// Its attributes.
    fn stat(&self) -> Stat;
    /// (mode, uid, gid): what permission checks need, cheaper than `stat` (no size).
    fn perm(&self) -> (u32, u32, u32) {
        let s = self.stat();
        (s.mode, s.uid, s.gid)
    }
    /// Change attributes.
    fn setattr(&self, _a: &SetAttr) -> VResult<()> {
        Err(e::EPERM)
    }
    /// The entry `name` of this directory (never "." or "..": the path walk handles those,
    /// except that ".." is asked of directories that are not a mount's root).
    fn lookup(&self, _name: &[u8]) -> VResult<Arc<dyn Inode>> {
        Err(e::ENOTDIR)
    }
    /// Create `name` in this directory; EEXIST if it exists.
    fn create(&self, _name: &[u8], _n: &NewNode) -> VResult<Arc<dyn Inode>> {
        Err(if self.kind() == FileType::Dir { e::EPERM } else { e::ENOTDIR })
    }
    /// A hard link `name` to `target` (not a directory) in this directory.
    fn link(&self, _name: &[u8], _target: &Arc<dyn Inode>) -> VResult<()> {
        Err(if self.kind() == FileType::Dir { e::EPERM } else { e::ENOTDIR })
    }
    /// Remove `name`: with `dir`, an empty directory (rmdir), else a non-directory (unlink).
    fn unlink(&self, _name: &[u8], _dir: bool) -> VResult<()> {
        Err(if self.kind() == FileType::Dir { e::EPERM } else { e::ENOTDIR })
    }
    /// Move `old` in this directory to `new` in `to` (a directory of the same file system).
    fn rename(&self, _old: &[u8], _to: &Arc<dyn Inode>, _new: &[u8], _flags: u32) -> VResult<()> {
        Err(if self.kind() == FileType::Dir { e::EPERM } else { e::ENOTDIR })
    }
    /// `unlink`, with `check` run on the entry to be removed where no other call can swap it
    /// (the permission checks that must see that very inode: the sticky bit). `check` may
    /// only take leaf locks (`perm`), never this directory's. The default is a plain look-up
    /// first; file systems with concurrent writers run it under their directory lock.
    fn unlink_checked(&self, name: &[u8], dir: bool, check: &mut dyn FnMut(&dyn Inode) -> VResult<()>) -> VResult<()> {
        let c = self.lookup(name)?;
        check(&*c)?;
        self.unlink(name, dir)
    }
    /// `rename`, with `check(moved, replaced)` run where the two entries cannot change (as for
    /// `unlink_checked`).
    fn rename_checked(
        &self,
        old: &[u8],
        to: &Arc<dyn Inode>,
        new: &[u8],
        flags: u32,
        check: &mut dyn FnMut(&dyn Inode, Option<&dyn Inode>) -> VResult<()>,
    ) -> VResult<()> {
        let moved = self.lookup(old)?;
        let victim = to.lookup(new).ok();
        check(&*moved, victim.as_deref())?;
        self.rename(old, to, new, flags)
    }
    /// List entries from position `pos` ("." and ".." included, at 0 and 1), handing each to
    /// `sink` until it returns false.
    fn readdir(&self, _pos: u64, _sink: &mut dyn FnMut(&DirEntry) -> bool) -> VResult<()> {
        Err(e::ENOTDIR)
    }
    /// Read up to `len` bytes at `off`, handing them to `sink` in pieces; the bytes read (a
    /// `sink` error after some bytes ends the read there; before any, it is the result).
    fn read_at(&self, _off: u64, _len: usize, _sink: &mut dyn FnMut(&[u8]) -> VResult<()>) -> VResult<usize> {
        Err(if self.kind() == FileType::Dir { e::EISDIR } else { e::EINVAL })
    }
    /// Write `len` bytes at `off` (at the end with `append`), which `src` fills piece by
    /// piece; returns (bytes written, offset after them).
    fn write_at(&self, _off: u64, _len: usize, _append: bool, _src: &mut dyn FnMut(&mut [u8]) -> VResult<()>) -> VResult<(usize, u64)> {
        Err(if self.kind() == FileType::Dir { e::EISDIR } else { e::EINVAL })
    }
    /// Set the size (truncate, ftruncate, O_TRUNC).
    fn truncate(&self, _size: u64) -> VResult<()> {
        Err(if self.kind() == FileType::Dir { e::EISDIR } else { e::EINVAL })
    }
    /// Reserve space (fallocate mode 0 / FALLOC_FL_KEEP_SIZE).
    fn allocate(&self, _off: u64, _len: u64, _keep_size: bool) -> VResult<()> {
        Err(e::EOPNOTSUPP)
    }
    /// SEEK_DATA (`hole` false) or SEEK_HOLE from `off`: ENXIO at or past the end. The
    /// default sees the whole file as data (Linux's generic rule).
    fn seek_data(&self, off: u64, hole: bool) -> VResult<u64> {
        let size = self.stat().size;
        if off >= size {
            return Err(e::ENXIO);
        }
        Ok(if hole { size } else { off })
    }
    /// A symbolic link's target.
    fn readlink(&self) -> VResult<Vec<u8>> {
        Err(e::EINVAL)
    }
    /// For the path walk of /proc/<pid>/{cwd,exe,fd/N}: a "magic link" that resolves to a
    /// location by itself instead of through its text.
    fn magic_link(&self) -> Option<crate::path::Loc> {
        None
    }
    /// This directory's name in its parent, if the file system keeps one (getcwd's fast path;
    /// a hint: checked by a look-up in the parent before it is used).
    fn name_hint(&self) -> Option<Vec<u8>> {
        None
    }
    /// The whole contents, if they sit in memory that lives forever (exec maps them without
    /// a copy).
    fn static_bytes(&self) -> Option<&'static [u8]> {
        None
    }
    /// Linux's `i_writecount` of a regular file, for [`get_write_access`] and friends: `None`
    /// where the file system keeps none (nothing is then refused).
    fn write_count(&self) -> Option<&core::sync::atomic::AtomicIsize> {
        None
    }
    /// Flush to storage (fsync).
    fn sync(&self) -> VResult<()> {
        Ok(())
    }
    /// For memory mappings: show pages `first..first + count` of a regular file to `f`, in
    /// order, under the file's data lock, until `f` returns false; `mode` says what may
    /// change first. With `nowait` the lock is only tried (EAGAIN if it is held: a page
    /// fault holds the address-space lock and must not wait for a lock that a user copy
    /// holds while it faults). ENODEV where files cannot be mapped.
    fn map_pages(&self, _first: u64, _count: u64, _mode: MapMode, _nowait: bool, _f: &mut dyn FnMut(u64, PageView) -> bool) -> VResult<()> {
        Err(e::ENODEV)
    }
    /// For downcasting to the file system's own type.
    fn as_any(&self) -> &dyn Any;
}

/// A shared inode.
pub type InodeRef = Arc<dyn Inode>;

/// Who is asking, for permission checks.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    /// File-system uid and gid.
    pub uid: u32,
    pub gid: u32,
    pub groups: &'a [u32],
}

impl Who<'_> {
    /// Root.
    pub const ROOT: Who<'static> = Who { uid: 0, gid: 0, groups: &[] };

    /// Is `gid` one of this caller's groups?
    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// Access bits for [`may`].
pub const MAY_EXEC: u32 = 1;
pub const MAY_WRITE: u32 = 2;
pub const MAY_READ: u32 = 4;

/// Linux's `generic_permission`: owner, group, then other bits; root passes read and write
/// always and execute if anyone may execute (or the object is a directory).
pub fn may(st: &Stat, who: &Who, mask: u32) -> bool {
    may_mode((st.mode, st.uid, st.gid), who, mask)
}

/// [`may`] on an inode's (mode, uid, gid).
#[inline]
pub fn may_mode((mode, uid, gid): (u32, u32, u32), who: &Who, mask: u32) -> bool {
    if who.uid == 0 {
        if mask & MAY_EXEC == 0 || mode & S_IFMT == S_IFDIR {
            return true;
        }
        return mode & 0o111 != 0;
    }
    let bits = if who.uid == uid {
        (mode >> 6) & 7
    } else if who.in_group(gid) {
        (mode >> 3) & 7
    } else {
        mode & 7
    };
    bits & mask == mask
}

/// May `who` remove or rename entry `child` of directory `dir`? (Write and search on the
/// directory; with the sticky bit, only the owner of the entry or of the directory, or root.)
pub fn may_delete(dir: &Stat, child: &Stat, who: &Who) -> Result<(), Errno> {
    may_delete_mode((dir.mode, dir.uid, dir.gid), (child.mode, child.uid, child.gid), who)
}

/// [`may_delete`] on (mode, uid, gid) of the directory and the entry.
pub fn may_delete_mode(dir: (u32, u32, u32), child: (u32, u32, u32), who: &Who) -> Result<(), Errno> {
    if !may_mode(dir, who, MAY_WRITE | MAY_EXEC) {
        return Err(e::EACCES);
    }
    if dir.0 & S_ISVTX != 0 && who.uid != 0 && who.uid != child.1 && who.uid != dir.1 {
        return Err(e::EPERM);
    }
    Ok(())
}

/// Write all of `data` at `off` through [`Inode::write_at`]; the bytes written (fewer on a
/// short write).
pub fn write_bytes(i: &dyn Inode, off: u64, data: &[u8]) -> VResult<usize> {
    let mut at = 0;
    i.write_at(off, data.len(), false, &mut |buf| {
        buf.copy_from_slice(&data[at..at + buf.len()]);
        at += buf.len();
        Ok(())
    })
    .map(|r| r.0)
}

/// Read up to `len` bytes at `off` through [`Inode::read_at`] into a new vector (ENOMEM when it
/// cannot grow).
pub fn read_bytes(i: &dyn Inode, off: u64, len: usize) -> VResult<Vec<u8>> {
    let mut v = Vec::new();
    i.read_at(off, len, &mut |b| {
        v.try_reserve(b.len()).map_err(|_| e::ENOMEM)?;
        v.extend_from_slice(b);
        Ok(())
    })?;
    Ok(v)
}

/// Check one name component: ENAMETOOLONG past NAME_MAX.
pub fn check_name(name: &[u8]) -> VResult<()> {
    if name.len() > NAME_MAX { Err(e::ENAMETOOLONG) } else { Ok(()) }
}

/// Linux's device number encoding of (major, minor).
pub const fn makedev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (major as u64, minor as u64);
    ((ma & 0xfff) << 8) | (mi & 0xff) | ((mi & !0xff) << 12) | ((ma & !0xfff) << 32)
}

/// (major, minor) of a device number.
pub const fn dev_split(dev: u64) -> (u32, u32) {
    ((((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as u32, ((dev & 0xff) | ((dev >> 12) & !0xff)) as u32)
}

// ---- Writing a file versus executing it (ETXTBSY) ----
//
// As Linux's `i_writecount`: positive, the number of open files (and so mappings) that may
// write the file; negative, the number of executable images running from it (each address
// space made by execve holds one, fork copies it). A file cannot be both: opening for writing
// (or truncating) a running executable fails with ETXTBSY, and so does execve of a file open
// for writing.

/// Count one writer of `i` (an open for writing, a truncate); ETXTBSY if it is being executed.
pub fn get_write_access(i: &dyn Inode) -> VResult<()> {
    let Some(c) = i.write_count() else { return Ok(()) };
    use core::sync::atomic::Ordering::AcqRel;
    c.fetch_update(AcqRel, core::sync::atomic::Ordering::Acquire, |n| (n >= 0).then_some(n + 1)).map(|_| ()).map_err(|_| e::ETXTBSY)
}

/// A writer counted by [`get_write_access`] is done.
pub fn put_write_access(i: &dyn Inode) {
    if let Some(c) = i.write_count() {
        c.fetch_sub(1, core::sync::atomic::Ordering::AcqRel);
    }
}

/// Count one executable image of `i` (execve); ETXTBSY if it is open for writing.
pub fn deny_write_access(i: &dyn Inode) -> VResult<()> {
    let Some(c) = i.write_count() else { return Ok(()) };
    use core::sync::atomic::Ordering::AcqRel;
    c.fetch_update(AcqRel, core::sync::atomic::Ordering::Acquire, |n| (n <= 0).then_some(n - 1)).map(|_| ()).map_err(|_| e::ETXTBSY)
}

/// An image counted by [`deny_write_access`] is gone.
pub fn allow_write_access(i: &dyn Inode) {
    if let Some(c) = i.write_count() {
        c.fetch_add(1, core::sync::atomic::Ordering::AcqRel);
    }
}
