//! Mounts and the path walk: `.`, `..`, symbolic links (ELOOP after 40), mount points, a
//! per-process root, and search permission on every directory passed.

use crate::node::*;
use alloc::sync::Arc;
use alloc::vec::Vec;
use linux_raw_sys::errno as e;
use velox_exec::sync::Mutex;

/// Most symbolic links one walk follows (Linux's MAXSYMLINKS).
pub const MAX_LINKS: u32 = 40;

/// What statfs reports about a file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatFs {
    pub magic: u64,
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub namelen: u64,
}

/// A mounted file system instance.
pub trait FileSystem: Send + Sync {
    /// Its type name ("tmpfs", "proc", ...), as /proc/mounts shows it.
    fn name(&self) -> &'static str;
    /// Usage figures for statfs.
    fn statfs(&self) -> StatFs;
    /// The file system was unmounted: drop what it holds for itself (its files then go with
    /// their last user).
    fn release(&self) {}
}

/// A mount: a file system's root attached at a directory of another mount.
pub struct Mount {
    pub fs: Arc<dyn FileSystem>,
    pub root: InodeRef,
    /// The mount and directory it covers (`None` for the root mount).
    pub parent: Option<(Arc<Mount>, InodeRef)>,
    /// The source named to mount(2) (shown in /proc/mounts).
    pub source: Vec<u8>,
    /// MS_RDONLY and friends (a remount changes them: [`Mount::flags`]).
    pub flags_now: core::sync::atomic::AtomicU32,
}

impl Mount {
    /// MS_RDONLY and friends.
    pub fn flags(&self) -> u32 {
        self.flags_now.load(core::sync::atomic::Ordering::Acquire)
    }
    /// Set them (a remount).
    pub fn set_flags(&self, f: u32) {
        self.flags_now.store(f, core::sync::atomic::Ordering::Release);
    }
}

/// A place in the tree: a mount and an inode in it.
#[derive(Clone)]
pub struct Loc {
    pub mnt: Arc<Mount>,
    pub inode: InodeRef,
}

impl Loc {
    /// The same directory entry point (mount and inode)?
    pub fn same(&self, o: &Loc) -> bool {
        Arc::ptr_eq(&self.mnt, &o.mnt) && self.inode.id() == o.inode.id()
    }
    /// The root of its mount?
    pub fn is_mount_root(&self) -> bool {
        self.mnt.root.id() == self.inode.id()
    }
}

/// The mount table.
pub struct Mounts {
    list: Mutex<Vec<Arc<Mount>>>,
    /// A 64-bit Bloom filter of the covered directories' ids: the walk asks the table only
    /// for a directory whose bit is set (almost never), so path walks take no lock for it.
    points: core::sync::atomic::AtomicU64,
}

/// The Bloom bit of a directory id.
fn point_bit((dev, ino): (u64, u64)) -> u64 {
    1 << ((dev.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ ino).wrapping_mul(0xbf58_476d_1ce4_e5b9) >> 58)
}

impl Default for Mounts {
    fn default() -> Self {
        Self::new()
    }
}

impl Mounts {
    /// An empty table.
    pub const fn new() -> Self {
        Mounts { list: Mutex::new(Vec::new()), points: core::sync::atomic::AtomicU64::new(0) }
    }
    /// Mount `fs` (root directory `root`) at `at` (`None`: as the root mount).
    pub fn add(&self, fs: Arc<dyn FileSystem>, root: InodeRef, at: Option<&Loc>, source: &[u8], flags: u32) -> VResult<Arc<Mount>> {
        if root.kind() != FileType::Dir || at.is_some_and(|l| l.inode.kind() != FileType::Dir) {
            return Err(e::ENOTDIR);
        }
        let m = Arc::new(Mount { fs, root, parent: at.map(|l| (l.mnt.clone(), l.inode.clone())), source: source.to_vec(), flags_now: core::sync::atomic::AtomicU32::new(flags) });
        let mut list = self.list.lock();
        list.try_reserve(1).map_err(|_| e::ENOMEM)?;
        list.push(m.clone());
        if let Some(l) = at {
            self.points.fetch_or(point_bit(l.inode.id()), core::sync::atomic::Ordering::Release);
        }
        Ok(m)
    }
    /// The mount covering `at` (the last one mounted there), if any.
    #[inline]
    pub fn mounted_on(&self, at: &Loc) -> Option<Arc<Mount>> {
        let id = at.inode.id();
        if self.points.load(core::sync::atomic::Ordering::Acquire) & point_bit(id) == 0 {
            return None;
        }
        self.mounted_on_slow(at, id)
    }

    /// [`Mounts::mounted_on`] past the Bloom filter: search the table.
    #[inline(never)]
    fn mounted_on_slow(&self, at: &Loc, id: (u64, u64)) -> Option<Arc<Mount>> {
        let list = self.list.lock();
        list.iter().rev().find(|m| m.parent.as_ref().is_some_and(|(pm, pi)| Arc::ptr_eq(pm, &at.mnt) && pi.id() == id)).cloned()
    }
    /// Unmount `m` (its root's location): EINVAL if it is not a mount's root or is the root
    /// mount, EBUSY if something is mounted below it or (without `detach`) it is in use:
    /// `users` is how many references the caller itself holds.
    pub fn remove(&self, m: &Arc<Mount>, detach: bool, users: usize) -> VResult<()> {
        let mut list = self.list.lock();
        let i = list.iter().position(|x| Arc::ptr_eq(x, m)).ok_or(e::EINVAL)?;
        if m.parent.is_none() {
            return Err(e::EBUSY);
        }
        if list.iter().any(|x| x.parent.as_ref().is_some_and(|(pm, _)| Arc::ptr_eq(pm, m))) {
            return Err(e::EBUSY);
        }
        // The table's own reference plus the caller's.
        if !detach && Arc::strong_count(m) > 1 + users {
            return Err(e::EBUSY);
        }
        list.remove(i);
        let bits = list.iter().filter_map(|x| x.parent.as_ref()).fold(0, |b, (_, pi)| b | point_bit(pi.id()));
        self.points.store(bits, core::sync::atomic::Ordering::Release);
        drop(list);
        // (Not under the table's lock: a disk file system writes everything back here.)
        m.fs.release();
        Ok(())
    }
    /// Every mount, in mount order.
    pub fn all(&self) -> Vec<Arc<Mount>> {
        self.list.lock().clone()
    }
}

/// Who walks, from which root, with which mount table.
pub struct Walker<'a> {
    pub root: &'a Loc,
    pub mounts: &'a Mounts,
    pub who: Who<'a>,
}

/// Split a path into its directory part and last component ("a/b/" gives "a", "b", trailing
/// slash). The last component is empty only for "/" (or a path of slashes).
pub fn split_last(path: &[u8]) -> (&[u8], &[u8], bool) {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    let trailing = end < path.len();
    let p = &path[..end];
    match p.iter().rposition(|&c| c == b'/') {
        Some(i) => {
            let dir = if i == 0 { &p[..1] } else { &p[..i] };
            let last = &p[i + 1..];
            (dir, last, trailing)
        }
        None => (b"", p, trailing),
    }
}

impl Walker<'_> {
    /// The location `path` names, relative paths from `start`; a symbolic link as the last
    /// component is followed with `follow` (always with a trailing slash).
    pub fn walk(&self, start: &Loc, path: &[u8], follow: bool) -> VResult<Loc> {
        if path.is_empty() {
            return Err(e::ENOENT);
        }
        let mut links = 0;
        self.walk_inner(start, path, follow, &mut links)
    }

    /// The directory that would hold `path`'s last component, and that component (for the
    /// calls that create, remove or rename). The last component may be "." or ".." (callers
    /// give their own errors) and is empty for "/". `trailing` is true if `path` ended in '/'.
    pub fn walk_parent<'p>(&self, start: &Loc, path: &'p [u8]) -> VResult<(Loc, &'p [u8], bool)> {
        if path.is_empty() {
            return Err(e::ENOENT);
        }
        let (dir, last, trailing) = split_last(path);
        let d = if dir.is_empty() {
            start.clone()
        } else {
            let mut links = 0;
            self.walk_inner(start, dir, true, &mut links)?
        };
        if d.inode.kind() != FileType::Dir {
            return Err(e::ENOTDIR);
        }
        if last.is_empty() && path.first() == Some(&b'/') {
            return Ok((self.root.clone(), b"", trailing));
        }
        check_name(last)?;
        if self.who.uid != 0 && !may_mode(d.inode.perm(), &self.who, MAY_EXEC) {
            return Err(e::EACCES);
        }
        Ok((d, last, trailing))
    }

    fn walk_inner(&self, start: &Loc, path: &[u8], follow: bool, links: &mut u32) -> VResult<Loc> {
        let mut cur = if path.first() == Some(&b'/') { self.root.clone() } else { start.clone() };
        // `cur`'s type, carried from the step that found it (one dynamic call per component).
        let mut kind = cur.inode.kind();
        let trailing = path.last() == Some(&b'/');
        // The components, in one pass over the bytes: `at` is past the slashes that follow
        // the previous one.
        let n = path.len();
        let mut at = 0;
        while at < n && path[at] == b'/' {
            at += 1;
        }
        while at < n {
            let begin = at;
            while at < n && path[at] != b'/' {
                at += 1;
            }
            let name = &path[begin..at];
            while at < n && path[at] == b'/' {
                at += 1;
            }
            let last = at == n;
            if kind != FileType::Dir {
                return Err(e::ENOTDIR);
            }
            check_name(name)?;
            // (Root may always search a directory: no need to read its mode.)
            if self.who.uid != 0 && !may_mode(cur.inode.perm(), &self.who, MAY_EXEC) {
                return Err(e::EACCES);
            }
            match name {
                b"." => {}
                b".." => {
                    cur = self.dotdot(&cur)?;
                    kind = cur.inode.kind();
                }
                _ => {
                    let child = cur.inode.lookup(name)?;
                    let ck = child.kind();
                    if ck == FileType::Symlink && (!last || follow || trailing) {
                        *links += 1;
                        if *links > MAX_LINKS {
                            return Err(e::ELOOP);
                        }
                        let next = match child.magic_link() {
                            Some(l) => l,
                            None => {
                                let target = child.readlink()?;
                                if target.is_empty() {
                                    return Err(e::ENOENT);
                                }
                                self.walk_inner(&cur, &target, true, links)?
                            }
                        };
                        cur = next;
                        kind = cur.inode.kind();
                    } else {
                        // The same mount (the parent's reference moves over), unless a
                        // directory has something mounted on it.
                        cur.inode = child;
                        kind = ck;
                        if ck == FileType::Dir {
                            cur = self.cross_dir(cur);
                        }
                    }
                }
            }
        }
        if trailing && kind != FileType::Dir {
            return Err(e::ENOTDIR);
        }
        Ok(cur)
    }

    /// [`Walker::cross`] for a location known to be a directory.
    #[inline]
    fn cross_dir(&self, mut l: Loc) -> Loc {
        while let Some(m) = self.mounts.mounted_on(&l) {
            l = Loc { inode: m.root.clone(), mnt: m };
        }
        l
    }

    /// Follow mounts stacked on `l`.
    pub fn cross(&self, l: Loc) -> Loc {
        if l.inode.kind() != FileType::Dir {
            return l;
        }
        self.cross_dir(l)
    }

    /// The parent of directory `cur`: itself at the walker's root, the covered directory's
    /// parent at a mount's root.
    pub fn dotdot(&self, cur: &Loc) -> VResult<Loc> {
        let mut cur = cur.clone();
        loop {
            if cur.same(self.root) {
                return Ok(cur);
            }
            if !cur.is_mount_root() {
                break;
            }
            match &cur.mnt.parent {
                Some((pm, pi)) => cur = Loc { mnt: pm.clone(), inode: pi.clone() },
                None => return Ok(cur),
            }
        }
        let p = cur.inode.lookup(b"..")?;
        Ok(Loc { mnt: cur.mnt.clone(), inode: p })
    }

    /// The absolute path of directory `l` as seen from the walker's root (getcwd,
    /// /proc/self/cwd, /proc/mounts); ENOTDIR for other objects (they do not know their
    /// parent: open files keep the path they were opened by). ENOENT if `l` was removed; a place outside the root gets the prefix
    /// "(unreachable)" as on Linux.
    pub fn path_of(&self, l: &Loc) -> VResult<Vec<u8>> {
        if l.inode.kind() != FileType::Dir {
            return Err(e::ENOTDIR);
        }
        if l.inode.stat().nlink == 0 {
            return Err(e::ENOENT);
        }
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut cur = l.clone();
        let mut reachable = true;
        loop {
            if cur.same(self.root) {
                break;
            }
            if cur.is_mount_root() {
                match &cur.mnt.parent {
                    Some((pm, pi)) => {
                        cur = Loc { mnt: pm.clone(), inode: pi.clone() };
                        continue;
                    }
                    None => {
                        reachable = false;
                        break;
                    }
                }
            }
            let parent = cur.inode.lookup(b"..")?;
            // The hint if the parent still has this directory under it (a look-up, cached:
            // a scan of the parent for the inode number costs a whole listing).
            let name = match cur.inode.name_hint() {
                Some(n) if parent.lookup(&n).is_ok_and(|i| i.id() == cur.inode.id()) => n,
                _ => find_name(&parent, cur.inode.id().1)?,
            };
            parts.push(name);
            cur = Loc { mnt: cur.mnt.clone(), inode: parent };
        }
        let mut out = Vec::new();
        if !reachable {
            out.extend_from_slice(b"(unreachable)");
        }
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        if out.is_empty() || !reachable && parts.is_empty() {
            out.push(b'/');
        }
        Ok(out)
    }
}

/// The name under which directory `dir` holds inode number `ino` (a scan).
pub fn find_name(dir: &InodeRef, ino: u64) -> VResult<Vec<u8>> {
    let mut found = None;
    dir.readdir(2, &mut |d| {
        if d.ino == ino && d.name != b"." && d.name != b".." {
            found = Some(d.name.to_vec());
            false
        } else {
            true
        }
    })?;
    found.ok_or(e::ENOENT)
}
