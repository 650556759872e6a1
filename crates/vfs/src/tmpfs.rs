//! tmpfs: a file system whose files live in memory pages (from a [`PageStore`]), with files
//! that start out as read-only bytes (the initial RAM disk) and are copied on first write.

use crate::node::*;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use linux_raw_sys::errno as e;
use velox_exec::sync::Mutex;

/// Bytes per page of file data.
pub const PAGE: usize = 4096;

/// Where file pages come from: the kernel hands out physical frames, the host tests boxes.
pub trait PageStore: Send + Sync + 'static {
    /// One page; given back when dropped.
    type Page: Send + Sync + core::ops::DerefMut<Target = [u8; PAGE]>;
    /// A zeroed page, or `None` when memory is short (the write gets ENOSPC).
    fn alloc_zeroed(&self) -> Option<Self::Page>;
    /// A page with unspecified contents, for a caller that overwrites all of it before anyone
    /// sees it (a page read from disk); by default a zeroed one.
    fn alloc_uninit(&self) -> Option<Self::Page> {
        self.alloc_zeroed()
    }
    /// `n` pages consecutive in memory, not zeroed, for one device read straight into all
    /// of them ([`Self::run_bytes`]); `None` when there is no such run now (the caller takes
    /// pages one by one). By default never.
    fn alloc_run(&self, _n: usize) -> Option<alloc::vec::Vec<Self::Page>> {
        None
    }
    /// The bytes of `run` as one slice, if its pages are consecutive in memory in this order
    /// (those from `alloc_run` are). The memory is the pages' own: it stays where it is while
    /// they live, wherever their handles move (the ext4 page cache's read-ahead has a device
    /// read into it while the handles wait in a list).
    fn run_bytes<'a>(&self, _run: &'a mut [Self::Page]) -> Option<&'a mut [u8]> {
        None
    }
    /// The current time (for time stamps).
    fn now(&self) -> Time;
    /// May tmpfs take `bytes` more of the kernel heap (names, symbolic-link targets, inode
    /// records)? The kernel says no near its heap reserve: creating then gives ENOSPC, as a
    /// full tmpfs does, instead of exhausting the heap.
    fn may_grow(&self, _bytes: usize) -> bool {
        true
    }
}

/// Heap bytes an inode record and its entry take besides the name (an estimate for
/// `PageStore::may_grow`).
const INODE_COST: usize = 512;

/// One tmpfs instance.
pub struct TmpFs<S: PageStore> {
    dev: u64,
    next_ino: AtomicU64,
    store: S,
    /// Serializes renames that move directories (the ancestry check must see a still tree).
    rename_lock: Mutex<()>,
    /// Pages in use and the limit (`size=` of the mount, in pages).
    pages: AtomicUsize,
    max_pages: usize,
    /// Inodes alive and the limit.
    inodes: AtomicUsize,
    max_inodes: usize,
    /// The root directory, held until the file system is unmounted (`release`): every inode
    /// holds the file system, so a strong root here would keep an unmounted tmpfs, its
    /// files and their pages, alive forever.
    root: Mutex<Option<Arc<TmpInode<S>>>>,
}

struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    rdev: u64,
    atime: Time,
    mtime: Time,
    ctime: Time,
}

struct FileData<P> {
    size: u64,
    /// The file's pages by index; a missing index is a hole (reads as zeros).
    pages: BTreeMap<u64, P>,
    /// Contents still in the RAM disk (not copied yet): valid while `pages` is empty.
    base: Option<&'static [u8]>,
}

struct DirData<S: PageStore> {
    /// Entries by position (the readdir cookie: positions only grow, so a listing that
    /// runs while entries come and go neither repeats nor skips the ones that stay).
    by_pos: BTreeMap<u64, (Vec<u8>, Arc<TmpInode<S>>)>,
    /// Entries by name: position and inode (one look-up per path component). (A hash map
    /// measured slower here: hashing a name costs more than the few comparisons a small
    /// directory's B-tree needs; stat 2136 -> 2177 det ns.) Ordered by [`NameKey`]: length
    /// first, so most comparisons on the way down settle without looking at the bytes.
    by_name: BTreeMap<Name, (u64, Arc<TmpInode<S>>)>,
    next_pos: u64,
    /// Removed (rmdir): no entries may be added.
    dead: bool,
}

/// A name as the by-name index orders it: by length, then byte by byte. (Any total order
/// serves a look-up, and nothing lists the index in order: readdir goes by position.) Most
/// comparisons on the way down a B-tree settle on the length or the first byte, inline,
/// where the slice order called memcmp for each one.
#[repr(transparent)]
#[derive(PartialEq, Eq)]
pub(crate) struct NameKey([u8]);

impl NameKey {
    /// View `b` as a key.
    #[inline(always)]
    pub(crate) fn new(b: &[u8]) -> &NameKey {
        // SAFETY: NameKey is a repr(transparent) wrapper of [u8]: the same layout and slice
        // metadata, so the pointer cast keeps the length and the borrow's lifetime.
        unsafe { &*(b as *const [u8] as *const NameKey) }
    }
}

impl Ord for NameKey {
    #[inline(always)]
    fn cmp(&self, o: &Self) -> core::cmp::Ordering {
        let (a, b) = (&self.0, &o.0);
        if a.len() != b.len() {
            return a.len().cmp(&b.len());
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return a[i].cmp(&b[i]);
            }
            i += 1;
        }
        core::cmp::Ordering::Equal
    }
}

impl PartialOrd for NameKey {
    #[inline(always)]
    fn partial_cmp(&self, o: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// An owned [`NameKey`] (the by-name index's key).
#[derive(PartialEq, Eq)]
pub(crate) struct Name(Box<[u8]>);

impl core::borrow::Borrow<NameKey> for Name {
    #[inline(always)]
    fn borrow(&self) -> &NameKey {
        NameKey::new(&self.0)
    }
}

impl Ord for Name {
    #[inline(always)]
    fn cmp(&self, o: &Self) -> core::cmp::Ordering {
        NameKey::new(&self.0).cmp(NameKey::new(&o.0))
    }
}

impl PartialOrd for Name {
    #[inline(always)]
    fn partial_cmp(&self, o: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// Where a directory hangs in the tree (a leaf lock: nothing else is locked after it).
struct Link<S: PageStore> {
    parent: Weak<TmpInode<S>>,
    /// This directory's name in its parent (getcwd).
    name: Vec<u8>,
}

enum Body<S: PageStore> {
    File(Mutex<FileData<S::Page>>),
    Dir(Mutex<DirData<S>>),
    Symlink(Vec<u8>),
    Special,
}

/// A tmpfs inode.
pub struct TmpInode<S: PageStore> {
    /// This inode's own `Arc` (for handing itself out as a parent or entry).
    me: Weak<TmpInode<S>>,
    fs: Arc<TmpFs<S>>,
    /// Directories: the parent and the name there (changed only by rename, under the file
    /// system's rename lock).
    link: Mutex<Link<S>>,
    ino: u64,
    kind: FileType,
    meta: Mutex<Meta>,
    body: Body<S>,
    /// Writers (> 0) or running executable images (< 0): `node::get_write_access`.
    writers: core::sync::atomic::AtomicIsize,
}

/// First position of a real entry ("." is 0 and ".." is 1).
const FIRST_POS: u64 = 2;

impl<S: PageStore> TmpFs<S> {
    /// A new tmpfs with device number `dev`, at most `max_pages` pages of data and
    /// `max_inodes` inodes; its root directory has mode `root_mode`.
    pub fn new(dev: u64, store: S, max_pages: usize, max_inodes: usize, root_mode: u32) -> Arc<TmpFs<S>> {
        let fs = Arc::new(TmpFs {
            dev,
            next_ino: AtomicU64::new(1),
            store,
            rename_lock: Mutex::new(()),
            pages: AtomicUsize::new(0),
            max_pages,
            inodes: AtomicUsize::new(0),
            max_inodes,
            root: Mutex::new(None),
        });
        let n = NewNode { kind: FileType::Dir, perm: root_mode & 0o7777, uid: 0, gid: 0, rdev: 0, target: b"" };
        let root = TmpInode::new(&fs, &n, Weak::new(), b"").expect("tmpfs root");
        *fs.root.lock() = Some(root);
        fs
    }
    /// The root directory.
    pub fn root(&self) -> InodeRef {
        self.root.lock().clone().expect("tmpfs root (used after unmount)")
    }
    /// Pages of file data in use.
    pub fn pages_used(&self) -> usize {
        self.pages.load(Ordering::Relaxed)
    }
    /// (pages used, page limit, inodes used, inode limit) for statfs.
    pub fn usage(&self) -> (usize, usize, usize, usize) {
        (self.pages.load(Ordering::Relaxed), self.max_pages, self.inodes.load(Ordering::Relaxed), self.max_inodes)
    }
    fn alloc_page(&self) -> VResult<S::Page> {
        if self.pages.fetch_add(1, Ordering::Relaxed) >= self.max_pages {
            self.pages.fetch_sub(1, Ordering::Relaxed);
            return Err(e::ENOSPC);
        }
        self.store.alloc_zeroed().ok_or_else(|| {
            self.pages.fetch_sub(1, Ordering::Relaxed);
            e::ENOSPC
        })
    }
    fn free_pages(&self, n: usize) {
        self.pages.fetch_sub(n, Ordering::Relaxed);
    }
}

impl<S: PageStore> TmpInode<S> {
    fn new(fs: &Arc<TmpFs<S>>, n: &NewNode, parent: Weak<TmpInode<S>>, name: &[u8]) -> VResult<Arc<TmpInode<S>>> {
        if !fs.store.may_grow(INODE_COST + 3 * name.len() + n.target.len()) {
            return Err(e::ENOSPC);
        }
        if fs.inodes.fetch_add(1, Ordering::Relaxed) >= fs.max_inodes {
            fs.inodes.fetch_sub(1, Ordering::Relaxed);
            return Err(e::ENOSPC);
        }
        let now = fs.store.now();
        let body = match n.kind {
            FileType::Regular => Body::File(Mutex::new(FileData { size: 0, pages: BTreeMap::new(), base: None })),
            FileType::Dir => Body::Dir(Mutex::new(DirData { by_pos: BTreeMap::new(), by_name: BTreeMap::new(), next_pos: FIRST_POS, dead: false })),
            FileType::Symlink => Body::Symlink(n.target.to_vec()),
            _ => Body::Special,
        };
        let perm = if n.kind == FileType::Symlink { 0o777 } else { n.perm & 0o7777 };
        let link = Mutex::new(Link { parent, name: if n.kind == FileType::Dir { name.to_vec() } else { Vec::new() } });
        Ok(Arc::new_cyclic(|me| TmpInode {
            me: me.clone(),
            link,
            fs: fs.clone(),
            ino: fs.next_ino.fetch_add(1, Ordering::Relaxed),
            kind: n.kind,
            meta: Mutex::new(Meta {
                mode: n.kind.mode_bits() | perm,
                uid: n.uid,
                gid: n.gid,
                nlink: if n.kind == FileType::Dir { 2 } else { 1 },
                rdev: n.rdev,
                atime: now,
                mtime: now,
                ctime: now,
            }),
            body,
            writers: core::sync::atomic::AtomicIsize::new(0),
        }))
    }

    fn dir(&self) -> VResult<&Mutex<DirData<S>>> {
        match &self.body {
            Body::Dir(d) => Ok(d),
            _ => Err(e::ENOTDIR),
        }
    }

    fn file(&self) -> VResult<&Mutex<FileData<S::Page>>> {
        match &self.body {
            Body::File(f) => Ok(f),
            Body::Dir(_) => Err(e::EISDIR),
            _ => Err(e::EINVAL),
        }
    }

    /// Set a regular file's contents to bytes that live forever (the RAM disk's), without a
    /// copy: they are copied into pages on the first write.
    pub fn set_static(&self, data: &'static [u8]) -> VResult<()> {
        let mut f = self.file()?.lock();
        let n = f.pages.len();
        f.pages.clear();
        self.fs.free_pages(n);
        f.base = Some(data);
        f.size = data.len() as u64;
        Ok(())
    }

    fn touch(&self, m: bool, c: bool) {
        let now = self.fs.store.now();
        let mut meta = self.meta.lock();
        if m {
            meta.mtime = now;
        }
        if c {
            meta.ctime = now;
        }
    }

    /// Downcast another inode to this file system's type (EXDEV if it is not one of ours).
    fn same_fs<'a>(&self, other: &'a InodeRef) -> VResult<&'a TmpInode<S>> {
        match other.as_any().downcast_ref::<TmpInode<S>>() {
            Some(t) if Arc::ptr_eq(&t.fs, &self.fs) => Ok(t),
            _ => Err(e::EXDEV),
        }
    }

    fn add_entry(d: &mut DirData<S>, name: &[u8], node: Arc<TmpInode<S>>) {
        let pos = d.next_pos;
        d.next_pos += 1;
        d.by_name.insert(Name(name.into()), (pos, node.clone()));
        d.by_pos.insert(pos, (name.to_vec(), node));
    }

    fn remove_entry(d: &mut DirData<S>, name: &[u8]) -> Option<Arc<TmpInode<S>>> {
        let (pos, _) = d.by_name.remove(NameKey::new(name))?;
        d.by_pos.remove(&pos).map(|(_, n)| n)
    }

    fn get_entry(d: &DirData<S>, name: &[u8]) -> Option<Arc<TmpInode<S>>> {
        d.by_name.get(NameKey::new(name)).map(|(_, n)| n.clone())
    }

    fn is_empty_dir(&self) -> bool {
        match &self.body {
            Body::Dir(d) => d.lock().by_pos.is_empty(),
            _ => false,
        }
    }

    /// Bring the RAM-disk contents into pages (before the first change).
    fn materialize(&self, f: &mut FileData<S::Page>) -> VResult<()> {
        let Some(base) = f.base else { return Ok(()) };
        let n = base.len().div_ceil(PAGE);
        let mut pages = BTreeMap::new();
        for i in 0..n {
            let mut p = match self.fs.alloc_page() {
                Ok(p) => p,
                Err(err) => {
                    self.fs.free_pages(pages.len());
                    return Err(err);
                }
            };
            let chunk = &base[i * PAGE..((i + 1) * PAGE).min(base.len())];
            p[..chunk.len()].copy_from_slice(chunk);
            pages.insert(i as u64, p);
        }
        f.pages = pages;
        f.base = None;
        Ok(())
    }

    fn set_size(&self, f: &mut FileData<S::Page>, size: u64) -> VResult<()> {
        if f.base.is_some() {
            if size == 0 {
                f.base = None;
                f.size = 0;
                return Ok(());
            }
            self.materialize(f)?;
        }
        let keep = size.div_ceil(PAGE as u64);
        let gone = f.pages.split_off(&keep);
        self.fs.free_pages(gone.len());
        drop(gone);
        // Zero the tail of the last kept page past the new size, so growing later reads zeros.
        if size < f.size && size % PAGE as u64 != 0 {
            if let Some(p) = f.pages.get_mut(&(size / PAGE as u64)) {
                p[size as usize % PAGE..].fill(0);
            }
        }
        f.size = size;
        Ok(())
    }
}

/// Largest file size tmpfs accepts (MAX_LFS_FILESIZE).
const MAX_SIZE: u64 = i64::MAX as u64;
/// Pages a read copies per hold of the file's lock (few: a kernel copy on another hart that
/// finds the lock busy while resolving a fault in a shared mapping of the file spins only so
/// long before it fails with EFAULT).
const READ_BATCH: u64 = 4;

impl<S: PageStore> Inode for TmpInode<S> {
    fn id(&self) -> (u64, u64) {
        (self.fs.dev, self.ino)
    }
    fn kind(&self) -> FileType {
        self.kind
    }
    fn stat(&self) -> Stat {
        let (size, blocks) = match &self.body {
            Body::File(f) => {
                let f = f.lock();
                let pages = if f.base.is_some() { f.size.div_ceil(PAGE as u64) } else { f.pages.len() as u64 };
                (f.size, pages * (PAGE as u64 / 512))
            }
            Body::Dir(d) => (((d.lock().by_pos.len() + 2) * 20) as u64, 0),
            Body::Symlink(t) => (t.len() as u64, 0),
            Body::Special => (0, 0),
        };
        let m = self.meta.lock();
        Stat {
            dev: self.fs.dev,
            ino: self.ino,
            mode: m.mode,
            nlink: m.nlink,
            uid: m.uid,
            gid: m.gid,
            rdev: m.rdev,
            size,
            blocks,
            blksize: PAGE as u32,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
        }
    }
    fn perm(&self) -> (u32, u32, u32) {
        let m = self.meta.lock();
        (m.mode, m.uid, m.gid)
    }
    fn setattr(&self, a: &SetAttr) -> VResult<()> {
        let now = self.fs.store.now();
        let mut m = self.meta.lock();
        if let Some(mode) = a.mode {
            m.mode = (m.mode & S_IFMT) | (mode & 0o7777);
        }
        if let Some(u) = a.uid {
            m.uid = u;
        }
        if let Some(g) = a.gid {
            m.gid = g;
        }
        if let Some(t) = a.atime {
            m.atime = t;
        }
        if let Some(t) = a.mtime {
            m.mtime = t;
        }
        m.ctime = now;
        Ok(())
    }
    fn lookup(&self, name: &[u8]) -> VResult<InodeRef> {
        if name == b".." {
            self.dir()?;
            return Ok(self.parent());
        }
        let d = self.dir()?.lock();
        Self::get_entry(&d, name).map(|n| n as InodeRef).ok_or(e::ENOENT)
    }
    fn create(&self, name: &[u8], n: &NewNode) -> VResult<InodeRef> {
        check_name(name)?;
        let mut d = self.dir()?.lock();
        if d.dead {
            return Err(e::ENOENT);
        }
        if d.by_name.contains_key(NameKey::new(name)) {
            return Err(e::EEXIST);
        }
        let node = TmpInode::new(&self.fs, n, self.me.clone(), name)?;
        Self::add_entry(&mut d, name, node.clone());
        drop(d);
        if n.kind == FileType::Dir {
            self.meta.lock().nlink += 1;
        }
        self.touch(true, true);
        Ok(node)
    }
    fn link(&self, name: &[u8], target: &InodeRef) -> VResult<()> {
        check_name(name)?;
        if !self.fs.store.may_grow(INODE_COST / 4 + 2 * name.len()) {
            return Err(e::ENOSPC);
        }
        let t = self.same_fs(target)?;
        if t.kind == FileType::Dir {
            return Err(e::EPERM);
        }
        let node = t.arc();
        let mut d = self.dir()?.lock();
        if d.dead {
            return Err(e::ENOENT);
        }
        if d.by_name.contains_key(NameKey::new(name)) {
            return Err(e::EEXIST);
        }
        {
            let mut m = t.meta.lock();
            if m.nlink == 0 {
                return Err(e::ENOENT); // linkat of an unlinked open file (without O_TMPFILE)
            }
            m.nlink += 1;
            m.ctime = self.fs.store.now();
        }
        Self::add_entry(&mut d, name, node);
        drop(d);
        self.touch(true, true);
        Ok(())
    }
    fn unlink(&self, name: &[u8], dir: bool) -> VResult<()> {
        self.unlink_checked(name, dir, &mut |_| Ok(()))
    }
    fn unlink_checked(&self, name: &[u8], dir: bool, check: &mut dyn FnMut(&dyn Inode) -> VResult<()>) -> VResult<()> {
        let mut d = self.dir()?.lock();
        let node = Self::get_entry(&d, name).ok_or(e::ENOENT)?;
        check(&*node)?;
        match (dir, node.kind == FileType::Dir) {
            (true, false) => return Err(e::ENOTDIR),
            (false, true) => return Err(e::EISDIR),
            (true, true) => {
                // The child's lock after the parent's (lock order).
                let mut cd = node.dir()?.lock();
                if !cd.by_pos.is_empty() {
                    return Err(e::ENOTEMPTY);
                }
                cd.dead = true;
            }
            (false, false) => {}
        }
        Self::remove_entry(&mut d, name);
        drop(d);
        let now = self.fs.store.now();
        {
            let mut m = node.meta.lock();
            m.nlink = if dir { 0 } else { m.nlink.saturating_sub(1) };
            m.ctime = now;
        }
        if dir {
            let mut m = self.meta.lock();
            m.nlink = m.nlink.saturating_sub(1);
        }
        self.touch(true, true);
        Ok(())
    }
    fn rename(&self, old: &[u8], to: &InodeRef, new: &[u8], flags: u32) -> VResult<()> {
        self.rename_checked(old, to, new, flags, &mut |_, _| Ok(()))
    }
    fn rename_checked(&self, old: &[u8], to: &InodeRef, new: &[u8], flags: u32, check: &mut dyn FnMut(&dyn Inode, Option<&dyn Inode>) -> VResult<()>) -> VResult<()> {
        check_name(new)?;
        if !self.fs.store.may_grow(INODE_COST / 4 + 2 * new.len()) {
            return Err(e::ENOSPC);
        }
        let to = self.same_fs(to)?;
        self.dir()?;
        to.dir()?;
        // Parent links change only under this lock, so the ancestry checks below see a
        // still tree; they run before the directories are locked (they lock leaf `link`s only).
        let _g = self.fs.rename_lock.lock();
        let same = core::ptr::eq(self, to);
        let (node, target) = {
            let (node, target) = if same {
                let d = self.dir()?.lock();
                (Self::get_entry(&d, old), Self::get_entry(&d, new))
            } else {
                (Self::get_entry(&self.dir()?.lock(), old), Self::get_entry(&to.dir()?.lock(), new))
            };
            (node.ok_or(e::ENOENT)?, target)
        };
        if flags & RENAME_EXCHANGE != 0 && target.is_none() {
            return Err(e::ENOENT);
        }
        if !same {
            // A directory may not move into itself or below itself.
            if node.kind == FileType::Dir && to.is_below(&node) {
                return Err(e::EINVAL);
            }
            if flags & RENAME_EXCHANGE != 0 {
                let t = target.as_ref().expect("target");
                if t.kind == FileType::Dir && self.is_below(t) {
                    return Err(e::EINVAL);
                }
            }
        }
        if let Some(t) = &target {
            if Arc::ptr_eq(t, &node) {
                return Ok(()); // two names of one inode: nothing to do (as Linux)
            }
            if flags & RENAME_NOREPLACE != 0 {
                return Err(e::EEXIST);
            }
            if flags & RENAME_EXCHANGE == 0 {
                Self::check_replace(&node, t)?;
                // A directory that holds the source (or is it) is not empty; and it must not
                // be locked below (it is an ancestor of a directory locked already).
                if t.kind == FileType::Dir && (core::ptr::eq(&**t, self) || self.is_below(t)) {
                    return Err(e::ENOTEMPTY);
                }
            }
        }
        // Lock both directories, an ancestor before its descendant (rmdir locks a parent, then
        // the child), one if they are the same; then check that nothing changed in between (a
        // racing unlink or create).
        let (mut ga, mut gb);
        let (src, dst): (&mut DirData<S>, Option<&mut DirData<S>>) = if same {
            ga = self.dir()?.lock();
            (&mut ga, None)
        } else if to.is_below(self) {
            ga = self.dir()?.lock();
            gb = to.dir()?.lock();
            (&mut ga, Some(&mut gb))
        } else {
            gb = to.dir()?.lock();
            ga = self.dir()?.lock();
            (&mut ga, Some(&mut gb))
        };
        let unchanged = |d: &DirData<S>, name: &[u8], want: Option<&Arc<TmpInode<S>>>| match (Self::get_entry(d, name), want) {
            (Some(x), Some(w)) => Arc::ptr_eq(&x, w),
            (None, None) => true,
            _ => false,
        };
        let dst_ok = match &dst {
            Some(d) => !d.dead && unchanged(d, new, target.as_ref()),
            None => unchanged(src, new, target.as_ref()),
        };
        if src.dead || !unchanged(src, old, Some(&node)) || !dst_ok {
            return Err(e::ENOENT);
        }
        // The caller's permission checks, on exactly the entries moved and replaced.
        check(&*node, target.as_deref().map(|t| t as &dyn Inode))?;
        if flags & RENAME_EXCHANGE != 0 {
            let t = target.expect("target");
            let sp = src.by_name.get(NameKey::new(old)).expect("entry").0;
            let dst = match dst {
                Some(d) => d,
                None => &mut *src,
            };
            let dp = dst.by_name.get(NameKey::new(new)).expect("entry").0;
            dst.by_pos.get_mut(&dp).expect("entry").1 = node.clone();
            dst.by_name.get_mut(NameKey::new(new)).expect("entry").1 = node.clone();
            src.by_pos.get_mut(&sp).expect("entry").1 = t.clone();
            src.by_name.get_mut(NameKey::new(old)).expect("entry").1 = t.clone();
            node.set_link(to, new);
            t.set_link(self, old);
            if !same {
                let dirs = (node.kind == FileType::Dir) as i32 - (t.kind == FileType::Dir) as i32;
                self.adjust_nlink(-dirs);
                to.adjust_nlink(dirs);
            }
            t.touch(false, true);
        } else {
            // The directory being replaced must still be empty now that the parents are
            // locked (a create in it may have raced the check above); it dies with the
            // check, under its own lock (parent before child), so nothing is added after.
            if let Some(t) = &target {
                if let Body::Dir(td) = &t.body {
                    let mut td = td.lock();
                    if !td.by_pos.is_empty() {
                        return Err(e::ENOTEMPTY);
                    }
                    td.dead = true;
                }
            }
            Self::remove_entry(src, old);
            let dst = match dst {
                Some(d) => d,
                None => &mut *src,
            };
            if let Some(t) = Self::remove_entry(dst, new) {
                Self::drop_replaced(&t, to);
            }
            Self::add_entry(dst, new, node.clone());
            node.set_link(to, new);
            if node.kind == FileType::Dir && !same {
                self.adjust_nlink(-1);
                to.adjust_nlink(1);
            }
        }
        drop(ga);
        node.touch(false, true);
        self.touch(true, true);
        if !same {
            to.touch(true, true);
        }
        Ok(())
    }
    fn readdir(&self, pos: u64, sink: &mut dyn FnMut(&DirEntry) -> bool) -> VResult<()> {
        let d = self.dir()?.lock();
        let mut pos = pos;
        if pos == 0 {
            if !sink(&DirEntry { name: b".", ino: self.ino, kind: FileType::Dir, next: 1 }) {
                return Ok(());
            }
            pos = 1;
        }
        if pos == 1 {
            let pino = self.parent().ino;
            if !sink(&DirEntry { name: b"..", ino: pino, kind: FileType::Dir, next: FIRST_POS }) {
                return Ok(());
            }
            pos = FIRST_POS;
        }
        for (&p, (name, node)) in d.by_pos.range(pos..) {
            if !sink(&DirEntry { name, ino: node.ino, kind: node.kind, next: p + 1 }) {
                break;
            }
        }
        Ok(())
    }
    fn read_at(&self, off: u64, len: usize, sink: &mut dyn FnMut(&[u8]) -> VResult<()>) -> VResult<usize> {
        let fl = self.file()?;
        let mut done = 0usize;
        static ZERO: [u8; PAGE] = [0; PAGE];
        loop {
            // At most READ_BATCH pages per lock hold: a long read does not keep writers (and
            // other harts) waiting for its whole length.
            let f = fl.lock();
            let mut pos = off + done as u64;
            if done >= len || pos >= f.size {
                break;
            }
            let bend = (pos + (len - done) as u64)
                .min(f.size)
                .min((pos / PAGE as u64 + READ_BATCH) * PAGE as u64);
            let mut failed = None;
            // The pages of the batch in one walk of the map (holes read as zeros).
            let mut pages = f.pages.range(pos / PAGE as u64..).peekable();
            while pos < bend {
                let pi = pos / PAGE as u64;
                let po = (pos % PAGE as u64) as usize;
                let n = (PAGE - po).min((bend - pos) as usize);
                let r = if let Some(base) = f.base {
                    sink(&base[pos as usize..pos as usize + n])
                } else {
                    while pages.next_if(|&(&k, _)| k < pi).is_some() {}
                    match pages.peek() {
                        Some(&(&k, p)) if k == pi => sink(&p[po..po + n]),
                        _ => sink(&ZERO[..n]),
                    }
                };
                if let Err(err) = r {
                    failed = Some(err);
                    break;
                }
                pos += n as u64;
                done += n;
            }
            drop(pages);
            drop(f);
            if let Some(err) = failed {
                if done == 0 {
                    return Err(err);
                }
                break;
            }
        }
        self.meta.lock().atime = self.fs.store.now();
        Ok(done)
    }
    fn write_at(&self, off: u64, len: usize, append: bool, src: &mut dyn FnMut(&mut [u8]) -> VResult<()>) -> VResult<(usize, u64)> {
        let fl = self.file()?;
        let mut f = fl.lock();
        let start = if append { f.size } else { off };
        if start.checked_add(len as u64).is_none_or(|end| end > MAX_SIZE) {
            return Err(e::EFBIG);
        }
        self.materialize(&mut f)?;
        let mut done = 0usize;
        let mut result = Ok(());
        while done < len {
            let pos = start + done as u64;
            let pi = (pos / PAGE as u64) as usize;
            let po = (pos % PAGE as u64) as usize;
            let n = (len - done).min(PAGE - po);
            let pi = pi as u64;
            if !f.pages.contains_key(&pi) {
                match self.fs.alloc_page() {
                    Ok(p) => {
                        f.pages.insert(pi, p);
                    }
                    Err(err) => {
                        result = Err(err);
                        break;
                    }
                }
            }
            let page = f.pages.get_mut(&pi).expect("page");
            if let Err(err) = src(&mut page[po..po + n]) {
                result = Err(err);
                break;
            }
            done += n;
            if pos + n as u64 > f.size {
                f.size = pos + n as u64;
            }
        }
        drop(f);
        if done == 0 {
            result?;
        }
        if done > 0 {
            self.touch(true, true);
        }
        Ok((done, start + done as u64))
    }
    fn truncate(&self, size: u64) -> VResult<()> {
        if size > MAX_SIZE {
            return Err(e::EFBIG);
        }
        let mut f = self.file()?.lock();
        self.set_size(&mut f, size)?;
        drop(f);
        self.touch(true, true);
        Ok(())
    }
    fn allocate(&self, off: u64, len: u64, keep_size: bool) -> VResult<()> {
        let end = off.checked_add(len).filter(|&e| e <= MAX_SIZE).ok_or(e::EFBIG)?;
        let mut f = self.file()?.lock();
        self.materialize(&mut f)?;
        let first = off / PAGE as u64;
        let last = end.div_ceil(PAGE as u64);
        let mut added = Vec::new();
        for i in first..last {
            if f.pages.contains_key(&i) {
                continue;
            }
            match self.fs.alloc_page() {
                Ok(p) => {
                    f.pages.insert(i, p);
                    added.push(i);
                }
                Err(err) => {
                    // All or nothing: give back what this call took.
                    for i in &added {
                        f.pages.remove(i);
                    }
                    self.fs.free_pages(added.len());
                    return Err(err);
                }
            }
        }
        if !keep_size && end > f.size {
            f.size = end;
        }
        Ok(())
    }
    fn seek_data(&self, off: u64, hole: bool) -> VResult<u64> {
        let f = self.file()?.lock();
        if off >= f.size {
            return Err(e::ENXIO);
        }
        if f.base.is_some() {
            return Ok(if hole { f.size } else { off });
        }
        let pg = PAGE as u64;
        let mut pi = off / pg;
        if hole {
            // The first page index at or after `off`'s page that has no page.
            for (&i, _) in f.pages.range(pi..) {
                if i != pi {
                    break;
                }
                pi += 1;
            }
            Ok((pi * pg).max(off).min(f.size))
        } else {
            match f.pages.range(pi..).next() {
                Some((&i, _)) if i * pg < f.size => Ok((i * pg).max(off)),
                _ => Err(e::ENXIO),
            }
        }
    }
    fn readlink(&self) -> VResult<Vec<u8>> {
        match &self.body {
            Body::Symlink(t) => Ok(t.clone()),
            _ => Err(e::EINVAL),
        }
    }
    fn name_hint(&self) -> Option<Vec<u8>> {
        (self.kind == FileType::Dir).then(|| self.link.lock().name.clone())
    }
    fn write_count(&self) -> Option<&core::sync::atomic::AtomicIsize> {
        (self.kind == FileType::Regular).then_some(&self.writers)
    }
    fn static_bytes(&self) -> Option<&'static [u8]> {
        match &self.body {
            Body::File(f) => f.lock().base,
            _ => None,
        }
    }
    fn map_pages(&self, first: u64, count: u64, mode: MapMode, nowait: bool, sink: &mut dyn FnMut(u64, PageView) -> bool) -> VResult<()> {
        let fl = self.file()?;
        let mut f = if nowait { fl.try_lock().ok_or(e::EAGAIN)? } else { fl.lock() };
        if mode != MapMode::Look {
            self.materialize(&mut f)?;
        }
        for i in first..first.saturating_add(count) {
            let pos = i.saturating_mul(PAGE as u64);
            if pos >= f.size {
                if !sink(i, PageView::Eof) {
                    break;
                }
                continue;
            }
            if let Some(base) = f.base {
                let (s, end) = (pos as usize, (pos as usize + PAGE).min(base.len()));
                if !sink(i, PageView::Static(&base[s..end])) {
                    break;
                }
                continue;
            }
            if mode == MapMode::Create && !f.pages.contains_key(&i) {
                let p = self.fs.alloc_page()?;
                f.pages.insert(i, p);
            }
            let view = match f.pages.get(&i) {
                Some(p) => PageView::Page(&**p),
                None => PageView::Hole,
            };
            if !sink(i, view) {
                break;
            }
        }
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl<S: PageStore> TmpInode<S> {
    /// This inode's `Arc`.
    fn arc(&self) -> Arc<TmpInode<S>> {
        self.me.upgrade().expect("a live inode has an Arc")
    }
    /// The parent directory (the root is its own parent).
    fn parent(&self) -> Arc<TmpInode<S>> {
        // (The root is its own parent; after an unmount, a directory whose parent is gone too.)
        self.link.lock().parent.upgrade().or_else(|| self.fs.root.lock().clone()).unwrap_or_else(|| self.arc())
    }
    /// Is this directory `anc` or below it? (Under the rename lock.)
    fn is_below(&self, anc: &TmpInode<S>) -> bool {
        let mut cur = self.arc();
        loop {
            if core::ptr::eq(&*cur, anc) {
                return true;
            }
            let up = match cur.link.lock().parent.upgrade() {
                Some(p) => p,
                None => return false,
            };
            cur = up;
        }
    }
    /// A directory moved: record its new parent and name.
    fn set_link(&self, parent: &TmpInode<S>, name: &[u8]) {
        if self.kind == FileType::Dir {
            let mut l = self.link.lock();
            l.parent = parent.me.clone();
            l.name = name.to_vec();
        }
    }
    /// May `node` replace `target`? (A directory only an empty directory, a file only a
    /// non-directory.)
    fn check_replace(node: &TmpInode<S>, target: &TmpInode<S>) -> VResult<()> {
        match (node.kind == FileType::Dir, target.kind == FileType::Dir) {
            (true, false) => Err(e::ENOTDIR),
            (false, true) => Err(e::EISDIR),
            (true, true) if !target.is_empty_dir() => Err(e::ENOTEMPTY),
            _ => Ok(()),
        }
    }
    /// A rename replaced `t` in `dir`: one link fewer (a directory dies).
    fn drop_replaced(t: &TmpInode<S>, dir: &TmpInode<S>) {
        if t.kind == FileType::Dir {
            if let Body::Dir(d) = &t.body {
                d.lock().dead = true;
            }
            t.meta.lock().nlink = 0;
            dir.adjust_nlink(-1);
        } else {
            let mut m = t.meta.lock();
            m.nlink = m.nlink.saturating_sub(1);
        }
    }
    fn adjust_nlink(&self, d: i32) {
        let mut m = self.meta.lock();
        m.nlink = m.nlink.saturating_add_signed(d);
    }
}

impl<S: PageStore> Drop for TmpInode<S> {
    fn drop(&mut self) {
        self.fs.inodes.fetch_sub(1, Ordering::Relaxed);
        if let Body::File(f) = &mut self.body {
            let n = f.get_mut().pages.len();
            self.fs.free_pages(n);
        }
    }
}

impl<S: PageStore> crate::path::FileSystem for TmpFs<S> {
    fn name(&self) -> &'static str {
        "tmpfs"
    }
    fn release(&self) {
        let root = self.root.lock().take();
        drop(root);
    }
    fn statfs(&self) -> crate::path::StatFs {
        let (used, max, inodes, max_inodes) = self.usage();
        crate::path::StatFs {
            magic: 0x0102_1994,
            bsize: PAGE as u64,
            blocks: max as u64,
            bfree: max.saturating_sub(used) as u64,
            bavail: max.saturating_sub(used) as u64,
            files: max_inodes as u64,
            ffree: max_inodes.saturating_sub(inodes) as u64,
            namelen: NAME_MAX as u64,
        }
    }
}

#[cfg(test)]
mod map_tests {
    //! Host tests of `map_pages` (the memory-mapping view of a file).
    use super::*;
    use crate::tests_fs::Heap;

    fn file() -> (Arc<TmpFs<Heap>>, InodeRef) {
        let fs = TmpFs::new(1, Heap, 100, 100, 0o755);
        let n = NewNode { kind: FileType::Regular, perm: 0o644, uid: 0, gid: 0, rdev: 0, target: b"" };
        let f = fs.root().create(b"f", &n).unwrap();
        (fs, f)
    }

    #[derive(Debug, PartialEq)]
    enum V {
        Page(u8),
        Static(usize, u8),
        Hole,
        Eof,
    }

    fn views(f: &InodeRef, first: u64, count: u64, mode: MapMode) -> Vec<V> {
        let mut out = Vec::new();
        f.map_pages(first, count, mode, false, &mut |_, v| {
            out.push(match v {
                PageView::Page(p) => V::Page(p[0]),
                PageView::Static(b) => V::Static(b.len(), b[0]),
                PageView::Hole => V::Hole,
                PageView::Eof => V::Eof,
            });
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn name_key_order_and_directory_lookups() {
        use core::cmp::Ordering::*;
        let k = NameKey::new;
        // Length first, then bytes: a total order that agrees with equality.
        assert_eq!(k(b"tmp").cmp(k(b"bench")), Less);
        assert_eq!(k(b"zz").cmp(k(b"aaa")), Less);
        assert_eq!(k(b"bin").cmp(k(b"dev")), Less);
        assert_eq!(k(b"dex").cmp(k(b"dev")), Greater);
        assert_eq!(k(b"vbench.file").cmp(k(b"vbench.file")), Equal);
        assert_eq!(k(b"").cmp(k(b"a")), Less);
        assert_eq!(Name(b"ab"[..].into()).cmp(&Name(b"ac"[..].into())), Less);
        // A directory with names of many lengths and shared prefixes: every one found,
        // removed and re-added by name; near misses are not found.
        let fs = TmpFs::new(1, Heap, 100, 1000, 0o755);
        let root = fs.root();
        let n = NewNode { kind: FileType::Regular, perm: 0o644, uid: 0, gid: 0, rdev: 0, target: b"" };
        let names: Vec<Vec<u8>> = (0..200u32).map(|i| alloc::format!("{}{}", "x".repeat((i % 7) as usize), i * 37 % 101).into_bytes()).collect();
        let mut ids = Vec::new();
        for nm in &names {
            match root.create(nm, &n) {
                Ok(i) => ids.push(Some(i.id())),
                Err(e::EEXIST) => ids.push(None),
                Err(x) => panic!("create: {x}"),
            }
        }
        for (nm, id) in names.iter().zip(&ids) {
            let got = root.lookup(nm).unwrap().id();
            if let Some(id) = id {
                assert_eq!(got, *id);
            }
            let mut miss = nm.clone();
            miss.push(b'!');
            assert_eq!(root.lookup(&miss).err(), Some(e::ENOENT));
            assert_eq!(root.lookup(&nm[..nm.len() - 1]).map(|i| i.id()).ok(), names.iter().zip(&ids).find(|(m, i)| m[..] == nm[..nm.len() - 1] && i.is_some()).map(|(_, i)| i.unwrap()));
        }
        let mut seen = 0;
        root.readdir(2, &mut |_| {
            seen += 1;
            true
        })
        .unwrap();
        assert_eq!(seen, ids.iter().filter(|i| i.is_some()).count());
        for nm in names.iter().step_by(3) {
            let _ = root.unlink(nm, false);
            assert_eq!(root.lookup(nm).err(), Some(e::ENOENT));
        }
    }

    #[test]
    fn pages_holes_eof_create() {
        let (fs, f) = file();
        f.write_at(0, 1, false, &mut |b| {
            b.fill(7);
            Ok(())
        })
        .unwrap();
        f.truncate(2 * PAGE as u64 + 10).unwrap();
        assert_eq!(views(&f, 0, 4, MapMode::Look), [V::Page(7), V::Hole, V::Hole, V::Eof]);
        assert_eq!(fs.pages_used(), 1);
        assert_eq!(views(&f, 1, 3, MapMode::Create), [V::Page(0), V::Page(0), V::Eof]);
        assert_eq!(fs.pages_used(), 3);
        // The callback can stop early.
        let mut n = 0;
        f.map_pages(0, 10, MapMode::Look, false, &mut |_, _| {
            n += 1;
            n < 2
        })
        .unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn read_across_holes_batches_and_eof() {
        let (_fs, f) = file();
        // Pages 1, 5 and 20 written (byte = page index + 1); the rest are holes; the size
        // ends 100 bytes into page 40 (past READ_BATCH pages, so the read takes several holds).
        for pi in [1u64, 5, 20] {
            f.write_at(pi * PAGE as u64, PAGE, false, &mut |b| {
                b.fill(pi as u8 + 1);
                Ok(())
            })
            .unwrap();
        }
        let size = 40 * PAGE as u64 + 100;
        f.truncate(size).unwrap();
        let expect = |at: u64| -> u8 {
            match at / PAGE as u64 {
                p @ (1 | 5 | 20) => p as u8 + 1,
                _ => 0,
            }
        };
        for (off, len) in [(0u64, 41 * PAGE), (PAGE as u64 - 3, 5 * PAGE + 7), (19 * PAGE as u64 + 1, 3 * PAGE), (size - 50, 4096)] {
            let mut got = Vec::new();
            let n = f
                .read_at(off, len, &mut |b| {
                    got.extend_from_slice(b);
                    Ok(())
                })
                .unwrap();
            assert_eq!(n as u64, (len as u64).min(size - off));
            assert_eq!(got.len(), n);
            for (k, &b) in got.iter().enumerate() {
                assert_eq!(b, expect(off + k as u64), "byte {} of the read at {off}", k);
            }
        }
        // A sink that fails after some pages: the bytes before it count.
        let mut calls = 0;
        let n = f
            .read_at(0, 41 * PAGE, &mut |_| {
                calls += 1;
                if calls > 18 { Err(e::EFAULT) } else { Ok(()) }
            })
            .unwrap();
        assert_eq!(n, 18 * PAGE);
        assert_eq!(f.read_at(0, PAGE, &mut |_| Err(e::EFAULT)), Err(e::EFAULT));
    }

    #[test]
    fn write_access_versus_exec() {
        use crate::node::{allow_write_access, deny_write_access, get_write_access, put_write_access};
        let (fs, f) = file();
        // Writers keep images out, images keep writers out; each ends with its count.
        get_write_access(&*f).unwrap();
        get_write_access(&*f).unwrap();
        assert_eq!(deny_write_access(&*f), Err(e::ETXTBSY));
        put_write_access(&*f);
        assert_eq!(deny_write_access(&*f), Err(e::ETXTBSY));
        put_write_access(&*f);
        deny_write_access(&*f).unwrap();
        deny_write_access(&*f).unwrap();
        assert_eq!(get_write_access(&*f), Err(e::ETXTBSY));
        allow_write_access(&*f);
        assert_eq!(get_write_access(&*f), Err(e::ETXTBSY));
        allow_write_access(&*f);
        get_write_access(&*f).unwrap();
        put_write_access(&*f);
        // Directories keep no count: nothing is refused.
        let d = fs.root();
        deny_write_access(&*d).unwrap();
        get_write_access(&*d).unwrap();
    }

    #[test]
    fn static_bytes_and_materialize() {
        static DATA: [u8; PAGE + 5] = [9; PAGE + 5];
        let (fs, f) = file();
        f.as_any().downcast_ref::<TmpInode<Heap>>().unwrap().set_static(&DATA).unwrap();
        assert_eq!(views(&f, 0, 3, MapMode::Look), [V::Static(PAGE, 9), V::Static(5, 9), V::Eof]);
        assert_eq!(fs.pages_used(), 0);
        assert_eq!(views(&f, 0, 3, MapMode::Materialize), [V::Page(9), V::Page(9), V::Eof]);
        assert_eq!(fs.pages_used(), 2);
        assert!(f.static_bytes().is_none());
    }

    #[test]
    fn nowait_fails_while_locked_and_not_regular() {
        let (fs, f) = file();
        let t = f.as_any().downcast_ref::<TmpInode<Heap>>().unwrap();
        let g = t.file().unwrap().lock();
        assert_eq!(f.map_pages(0, 1, MapMode::Look, true, &mut |_, _| true), Err(e::EAGAIN));
        drop(g);
        assert_eq!(f.map_pages(0, 1, MapMode::Look, true, &mut |_, _| true), Ok(()));
        assert_eq!(fs.root().map_pages(0, 1, MapMode::Look, false, &mut |_, _| true), Err(e::EISDIR));
    }
}
