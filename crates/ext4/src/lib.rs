//! ext4 under the VFS: the `rsext4` core (extents, htree, journal, checksums, allocation) behind
//! the [`velox_vfs::Inode`] interface, with an inode cache and a page cache of file data.
//!
//! Layers and locks (see docs/ext4.md):
//! - [`Ext4Fs`] owns the mounted `rsext4` instance behind one lock (`core`): every on-disk
//!   operation is serialized there. Nothing holding `core` touches user memory, so a page
//!   fault (which holds an address-space lock) may take it.
//! - [`Node`] is one live inode: its attributes (`attr`, a leaf lock: `stat` and permission
//!   checks never wait for the disk) and its cached pages (`data`). Lock order:
//!   `data` → `bounce` → `core` → (`nodes`, `recent`, `orphans`, `attr`: leaves).
//! - Writes are delayed (write-back): a `write` fills cached pages and marks them dirty; they
//!   go to `rsext4` (block allocation, data blocks, journalled metadata) in runs of up to
//!   [`WRITE_BATCH`] bytes on fsync, sync, syncfs, umount, the periodic writeback, when more
//!   than [`DIRTY_MAX`] pages are dirty, before a truncate, fallocate, SEEK_DATA or attribute
//!   change, and before memory pressure evicts them; so a file grown 4 KiB at a time gets its
//!   blocks in one allocation, as Linux's delayed allocation does. Writes that could not be
//!   sure of disk space (free blocks short of the dirty pages plus [`DIRTY_MARGIN`]), to
//!   set-user/group-id files, or to files not in the inode cache go through at once. Pages
//!   of a file that has a shared writable mapping are written back on fsync, sync, umount and
//!   before they are evicted.
//! - Reads: a miss at the file's head, where the last read ended or after a cached page
//!   reads [`READ_AHEAD`] pages at once, any other miss just the pages asked for; a reader
//!   that goes on sequentially has the next window read by the device meanwhile
//!   ([`AsyncReader`], `Ahead`), taken in when it gets there. Any other change to the file's
//!   pages drops that read first.
//! - An inode whose last name is removed while open lives on until its last user lets go,
//!   then it is reaped (`orphans`, at the next operation that takes `core`).
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod bcache;
pub mod pagemap;
#[cfg(test)]
mod tests;

pub use bcache::BlockCache;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use linux_raw_sys::errno as e;
use rsext4::{
    DeviceNumber, FileExtentState, FileExtentTarget, DirectoryCursor, DirectoryEntryType, DirectoryReader, Ext4, Ext4Timestamp, FileName, FilePermissions,
    InodeInfo, InodeMetadataUpdate, InodeNumber, MountOptions, MountServices, MountedServices, MutationContext, NoopObserver,
    PreallocationOptions, RenameOptions, SpecialInodeKind,
};
use velox_exec::sync::{Mutex, MutexGuard};
use pagemap::PageMap;
use velox_vfs::tmpfs::{PAGE, PageStore};
use velox_vfs::{
    DirEntry, Errno, FileSystem, FileType, Inode, InodeRef, MapMode, NewNode, PageView, RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT,
    SetAttr, Stat, StatFs, Time, VResult,
};

pub use rsext4::{BlockIo, DeviceCapabilities, DeviceGeometry, Ext4Result, SectorId, WriteFlags};
pub use rsext4::{Ext4Error, Ext4ErrorKind};
/// The ext4 core's CRC32C: install a faster one (`set_crc32c_accelerator`), or check one
/// against the table-driven code (`crc32c_append_soft`).
pub use rsext4::crc32c::{crc32c_append_soft, set_crc32c_accelerator};

/// ext4's magic number (statfs `f_type`).
pub const EXT4_SUPER_MAGIC: u64 = 0xef53;
/// Inodes kept alive after their last user lets go (with their cached pages).
#[cfg(not(test))]
pub const RECENT_NODES: usize = 16384;
/// (Few in the host tests, so that their thousands of files go through the clock hand.)
#[cfg(test)]
pub const RECENT_NODES: usize = 64;
/// Pages read from the disk at once past a missing page (read-ahead), at most.
pub const READ_AHEAD: u64 = 128;
/// Names one directory's look-up cache keeps (when full, a new name pushes out the first
/// name in byte order). An entry is its name (up to 255 bytes) and ~60 bytes more; none is
/// added when the kernel heap runs low (`PageStore::may_grow`).
pub const DCACHE_MAX: usize = 2048;
/// Bytes one write hands to the core at once (through the file system's bounce buffer).
pub const WRITE_BATCH: usize = 512 << 10;
/// Dirty (delayed-write) pages over a file system above which a write writes its file back
/// at once (32 MiB).
pub const DIRTY_MAX: usize = 8192;
/// Free blocks a delayed write leaves beyond the dirty pages (for extent-tree and other
/// metadata blocks their write-back may need); short of that, writes go through at once and
/// meet ENOSPC there.
pub const DIRTY_MARGIN: u64 = 1024;
/// Largest file offset: ext4 extents address 2^32 blocks of 4 KiB (16 TiB).
pub const MAX_FILE: u64 = (1 << 32) * PAGE as u64;
/// The root directory's inode number.
const ROOT_INO: u32 = 2;

/// The kernel's clock for time stamps, given to the core.
struct ClockFn(fn() -> Time);
impl rsext4::Clock for ClockFn {
    fn now(&self) -> Ext4Result<Ext4Timestamp> {
        let t = (self.0)();
        Ok(Ext4Timestamp::new(t.sec, t.nsec))
    }
}

/// The kernel's random bytes (directory hash seeds and the like).
struct EntropyFn(fn(&mut [u8]));
impl rsext4::EntropySource for EntropyFn {
    fn fill_bytes(&mut self, out: &mut [u8]) -> Ext4Result<()> {
        (self.0)(out);
        Ok(())
    }
}

type Core<D> = Ext4<D, MountedServices<EntropyFn, NoopObserver, ()>>;

/// Linux's errno for a core error (EUCLEAN for corruption and EBADMSG for a bad checksum,
/// as Linux's EFSCORRUPTED and EFSBADCRC; EROFS once the journal has aborted).
pub fn errno(err: Ext4Error) -> Errno {
    use Ext4ErrorKind as K;
    match err.kind() {
        K::Io => e::EIO,
        K::Corrupted => e::EUCLEAN,
        K::ChecksumMismatch => e::EBADMSG,
        K::UnsupportedFeature | K::UnsupportedCapability | K::Unsupported => e::EOPNOTSUPP,
        K::ReadOnly | K::JournalAborted => e::EROFS,
        K::NoSpace => e::ENOSPC,
        K::NoMemory => e::ENOMEM,
        K::QuotaExceeded => e::EDQUOT,
        K::TooManyLinks => e::EMLINK,
        K::PermissionDenied => e::EPERM,
        K::NotFound => e::ENOENT,
        K::AlreadyExists => e::EEXIST,
        K::NotDirectory => e::ENOTDIR,
        K::IsDirectory => e::EISDIR,
        K::NotEmpty => e::ENOTEMPTY,
        K::Busy => e::EBUSY,
        K::BadFileDescriptor => e::EBADF,
        K::InvalidInput | K::BadSuperblock | K::InvalidMagic => e::EINVAL,
        K::Overflow => e::EOVERFLOW,
        K::FileTooLarge => e::EFBIG,
        K::Timeout => e::ETIMEDOUT,
    }
}

fn name(n: &[u8]) -> VResult<FileName<'_>> {
    velox_vfs::check_name(n)?;
    FileName::new(n).map_err(|_| e::EINVAL)
}

fn ino(n: u32) -> VResult<InodeNumber> {
    InodeNumber::new(n).map_err(|_| e::EINVAL)
}

fn kind_of(mode: u16) -> FileType {
    FileType::from_mode(mode as u32).unwrap_or(FileType::Regular)
}

fn entry_kind(t: DirectoryEntryType) -> FileType {
    match t {
        DirectoryEntryType::Directory => FileType::Dir,
        DirectoryEntryType::Symlink => FileType::Symlink,
        DirectoryEntryType::CharacterDevice => FileType::Char,
        DirectoryEntryType::BlockDevice => FileType::Block,
        DirectoryEntryType::Fifo => FileType::Fifo,
        DirectoryEntryType::Socket => FileType::Socket,
        DirectoryEntryType::RegularFile | DirectoryEntryType::Unknown => FileType::Regular,
    }
}

/// A disk that can start a read now and finish it later: the page cache's asynchronous
/// read-ahead (the kernel's virtio-blk driver; none in most host tests).
pub trait AsyncReader: Send + Sync {
    /// Start reading `len` bytes from byte `pos` of the disk into `buf`; `None` if it cannot.
    ///
    /// # Safety
    /// `buf..buf + len` stays valid, and nothing else reads or writes it, until the returned
    /// read is waited for or dropped (dropping it waits for the device).
    unsafe fn start(&self, pos: u64, buf: *mut u8, len: usize) -> Option<Box<dyn ReadPending>>;
}

/// A read started by [`AsyncReader::start`].
pub trait ReadPending: Send {
    /// Wait until the device is done with it: whether it read everything.
    fn wait(self: Box<Self>) -> bool;
}

/// Pages being read from the disk ahead of a sequential reader; in the page map only once
/// the read is done (`Node::settle_ahead`).
struct Ahead<P> {
    /// (Declared before `pages`, so dropped first: its drop waits for the device, which
    /// writes into the pages' memory until then.)
    pending: Box<dyn ReadPending>,
    /// The file's page index of `pages[0]`.
    first: u64,
    pages: Vec<P>,
}

/// Why a mount failed, for the kernel's message.
#[derive(Debug, Clone, Copy)]
pub struct MountError {
    pub errno: Errno,
    pub reason: Ext4ErrorKind,
}

/// A mounted ext4 file system.
pub struct Ext4Fs<D: BlockIo + Send + 'static, S: PageStore> {
    dev: u64,
    store: S,
    readonly: AtomicBool,
    core: Mutex<Core<D>>,
    /// Live inodes by number.
    nodes: Mutex<BTreeMap<u32, Weak<Node<D, S>>>>,
    /// Recently used inodes, kept alive with their pages.
    recent: Mutex<Recent<Node<D, S>>>,
    /// Inodes with no name left whose last user let go: freed at the next core operation.
    orphans: Mutex<Vec<u32>>,
    /// The inodes a sync must visit: dirty pages, a write-back error not yet reported by
    /// fsync, or a shared mapping (`Data::watched`). A sync walked every live inode (11,000
    /// after a `find`: ~0.6 M instructions per syncfs). Changed under the inode's data lock,
    /// or under `nodes` when the inode has no live node; locked last.
    watch: Mutex<BTreeSet<u32>>,
    has_orphans: AtomicBool,
    /// Pages cached over all inodes.
    cached: AtomicUsize,
    /// Dirty (delayed-write) pages over all inodes.
    dirty: AtomicUsize,
    /// The clock (the times a delayed write shows).
    now: fn() -> Time,
    /// A write's bytes on their way to the core (locked before the core).
    bounce: Mutex<Vec<u8>>,
    /// Who may use the blocks reserved for root (see [`Ext4Fs::set_privileged`]).
    privileged: Mutex<Option<fn() -> bool>>,
    /// The blocks a caller that may not use the root reserve must leave free: the
    /// superblock's `s_r_blocks_count` and the file system's own reserve (Linux's
    /// `s_resv_clusters`), as statfs leaves both out of `f_bavail`. Read at mount.
    root_reserve: u64,
    /// Starts the device reads of the asynchronous read-ahead (see [`Ext4Fs::set_reader`]).
    reader: Mutex<Option<Arc<dyn AsyncReader>>>,
    me: Weak<Self>,
}

/// The recently used inodes: a CLOCK (second chance) over slots, each node in at most one
/// (`Node::slot`), so forgetting one is a single step (it was a queue searched from end to
/// end: 14 % of an unlink's instructions with 16,384 inodes cached).
struct Recent<N> {
    slots: Vec<Option<Arc<N>>>,
    /// Empty slots.
    free: Vec<usize>,
    /// Where the clock hand looks next.
    hand: usize,
}

/// What [`Node::delay`] decided for a write.
enum Delay {
    /// Delayed, with this many pages reserved.
    Yes(usize),
    /// Through at once (not in the inode cache, set-id bits, too much dirty, a write-back
    /// error, or the disk may not have room for it and the dirty pages).
    No,
}

/// `Node::slot` of a node not in [`Recent`].
const NO_SLOT: usize = usize::MAX;

impl<N> Recent<N> {
    fn nodes(&self) -> impl Iterator<Item = &Arc<N>> {
        self.slots.iter().flatten()
    }
}

/// What a node caches of its file.
struct Data<P> {
    pages: PageMap<P>,
    /// A directory listing's place: (position, the cursor of the entry there), and the core's
    /// reader state for it (an indexed directory's leaves, read and sorted by hash once per
    /// listing rather than once per getdents call). Kept only while a listing is under way.
    /// At the end of a listing: (its position, `End`, no reader, the directory's `dir_gen`
    /// then), so that the reader's next call (getdents until it returns 0) is answered at
    /// once unless an entry changed since.
    dir_pos: Option<(u64, DirectoryCursor, Option<DirectoryReader>, u64)>,
    /// The file has had a shared mapping, which may write to the pages at any time: they are
    /// written back on every sync and never evicted (nor is the node) while it is mounted.
    shared: bool,
    /// Pages written but not yet handed to the core (delayed writes): never evicted, and the
    /// node stays cached while there are any.
    dirty: BTreeSet<u64>,
    /// The first error of a write-back since the last fsync (reported by the next one).
    wb_err: Option<Errno>,
    /// The next window being read from the disk for a sequential reader, if any.
    ahead: Option<Ahead<P>>,
    /// The page after the last window read: a miss there continues a sequential read (none
    /// at first: a file's first window is not read ahead of, so one read of a big file's
    /// head costs no more than it did).
    seq_next: u64,
    /// The end of the last read-ahead window the disk failed to read: misses below it read
    /// a page at a time (a bad block is not read again with every window around it).
    bad_until: u64,
    /// In `Ext4Fs::watch` (a sync visits the file).
    watched: bool,
}

impl<P> Data<P> {
    /// Drop the read-ahead (after the device is done with it): every change to the file's
    /// pages, size or blocks other than a read calls this first, so no page read before the
    /// change is taken in after it.
    /// The pages it dropped (counted in `Ext4Fs::cached` while they were read).
    fn cancel_ahead(&mut self) -> usize {
        let Some(Ahead { pending, pages, .. }) = self.ahead.take() else { return 0 };
        let _ = pending.wait();
        pages.len()
    }
}

/// A directory found under `name` in directory `parent` remembers both ([`Node::hint`],
/// [`Node::parent`]); the node as an `InodeRef`.
fn named<D: BlockIo + Send + 'static, S: PageStore>(node: Arc<Node<D, S>>, name: &[u8], parent: u32) -> InodeRef {
    if node.kind == FileType::Dir && name != b".." && name != b"." {
        node.parent.store(parent, Ordering::Relaxed);
        let mut h = node.hint.lock();
        if h.as_deref() != Some(name) {
            let mut v = Vec::new();
            if v.try_reserve_exact(name.len()).is_ok() {
                v.extend_from_slice(name);
                *h = Some(v);
            }
        }
    }
    node
}

/// One live ext4 inode.
pub struct Node<D: BlockIo + Send + 'static, S: PageStore> {
    fs: Arc<Ext4Fs<D, S>>,
    ino: u32,
    kind: FileType,
    attr: Mutex<Stat>,
    data: Mutex<Data<S::Page>>,
    /// A directory's look-up cache: name → inode number, 0 for "no such entry" (the dentry
    /// cache). Filled and changed only under the core, by the look-ups and the changes of
    /// this directory; ".." is not kept (a directory's parent changes when it moves).
    names: Mutex<BTreeMap<Vec<u8>, u32>>,
    /// A directory's name in its parent as last looked up (getcwd and /proc paths check it
    /// with a look-up before using it, so a rename since only costs a scan).
    hint: Mutex<Option<Vec<u8>>>,
    /// The directory this one was last found in under `hint` (0: none yet): ".." is that
    /// directory while it still holds this one under that name (one directory holds a
    /// directory), with no search of this directory's blocks.
    parent: AtomicU32,
    /// Bumped (under the core) whenever an entry of this directory is made, removed or
    /// renamed: a listing that reached the end is only remembered while it stays the same.
    dir_gen: AtomicU64,
    /// Writers (> 0) or running executable images (< 0): `velox_vfs::get_write_access`.
    writers: core::sync::atomic::AtomicIsize,
    /// Its slot in `Ext4Fs::recent`, [`NO_SLOT`] if none (changed under that lock).
    slot: AtomicUsize,
    /// Used since the recent list's clock hand last passed it.
    referenced: AtomicBool,
    /// Has dirty pages: `attr`'s size, times and block count are ahead of the core's.
    delayed: AtomicBool,
    /// Freed on the disk with its last name (it had no other user): nothing to reap.
    freed: AtomicBool,
}

impl<D: BlockIo + Send + 'static, S: PageStore> Ext4Fs<D, S> {
    /// Mount the ext4 file system on `device` (replaying its journal if it needs recovery;
    /// read-only with `readonly`). `dev` is the device number stat reports.
    pub fn mount(device: D, dev: u64, store: S, readonly: bool, now: fn() -> Time, random: fn(&mut [u8])) -> Result<Arc<Self>, MountError> {
        let services = MountServices::new(ClockFn(now), EntropyFn(random), NoopObserver);
        let opts = MountOptions { readonly, replay_journal: true, block_validity: true };
        let core = Ext4::mount(device, services, opts).map_err(|err| MountError { errno: errno(err), reason: err.kind() })?;
        let st = core.statfs();
        let root_reserve = st.reserved_blocks.saturating_add(st.resv_blocks);
        Ok(Arc::new_cyclic(|me| Ext4Fs {
            dev,
            store,
            readonly: AtomicBool::new(readonly),
            core: Mutex::new(core),
            nodes: Mutex::new(BTreeMap::new()),
            recent: Mutex::new(Recent { slots: Vec::new(), free: Vec::new(), hand: 0 }),
            orphans: Mutex::new(Vec::new()),
            watch: Mutex::new(BTreeSet::new()),
            has_orphans: AtomicBool::new(false),
            cached: AtomicUsize::new(0),
            dirty: AtomicUsize::new(0),
            now,
            bounce: Mutex::new(alloc::vec![0; WRITE_BATCH]),
            privileged: Mutex::new(None),
            root_reserve,
            reader: Mutex::new(None),
            me: me.clone(),
        }))
    }

    /// Read ahead of sequential readers asynchronously with `reader` (reading from the same
    /// disk the core reads).
    pub fn set_reader(&self, reader: Arc<dyn AsyncReader>) {
        *self.reader.lock() = Some(reader);
    }

    fn this(&self) -> Arc<Self> {
        self.me.upgrade().expect("ext4: file system used after its last reference")
    }

    /// Free blocks the caller's allocations must leave: the reserved blocks unless it may
    /// use them ([`Ext4Fs::set_privileged`]), as Linux's `ext4_has_free_clusters`. (Linux
    /// keeps `s_resv_clusters` from root too, for metadata; here root may use it.)
    /// The delayed writes' pages count too: they were promised blocks (Linux's
    /// `s_dirtyclusters_counter`); their own write-back sets the floor to 0.
    fn floor(&self) -> u64 {
        let reserve = match *self.privileged.lock() {
            Some(may) if !may() => self.root_reserve,
            _ => 0,
        };
        reserve + self.dirty.load(Ordering::Relaxed) as u64
    }

    /// Tell who may use the blocks reserved for root: `may` answers for the caller (the
    /// kernel: CAP_SYS_RESOURCE). Until this is called, every caller may.
    pub fn set_privileged(&self, may: fn() -> bool) {
        *self.privileged.lock() = Some(may);
    }

    /// The core, after freeing the inodes whose last user has gone, its allocations held
    /// to the caller's floor ([`Self::floor`]).
    fn core(&self) -> MutexGuard<'_, Core<D>> {
        let floor = self.floor();
        let mut c = self.core.lock();
        c.set_alloc_floor(floor);
        if self.has_orphans.swap(false, Ordering::Acquire) {
            let list = core::mem::take(&mut *self.orphans.lock());
            for n in list {
                if let Ok(i) = ino(n)
                    && let Err(err) = c.reap_unlinked_inode(i)
                {
                    log_error("reap", err);
                }
            }
        }
        c
    }

    /// Mounted read-only (now)?
    pub fn ro(&self) -> bool {
        self.readonly.load(Ordering::Acquire)
    }

    /// Remount read-only (`ro`: everything written back first, as `mount -o remount,ro`) or
    /// read-write again.
    pub fn remount(&self, ro: bool) -> VResult<()> {
        if ro == self.ro() {
            return Ok(());
        }
        if ro {
            self.sync_all()?;
        }
        let mut c = self.core();
        c.remount(MountOptions { readonly: ro, replay_journal: true, block_validity: true }).map_err(errno)?;
        self.readonly.store(ro, Ordering::Release);
        Ok(())
    }

    /// The root directory.
    pub fn root(&self) -> VResult<InodeRef> {
        let info = self.core().inode(ino(ROOT_INO)?).map_err(errno)?;
        Ok(self.node(&info))
    }

    /// Pages in the page cache.
    pub fn cached_pages(&self) -> usize {
        self.cached.load(Ordering::Relaxed)
    }

    fn stat_of(&self, info: &InodeInfo) -> Stat {
        let t = |t: Ext4Timestamp| Time { sec: t.sec, nsec: t.nsec };
        Stat {
            dev: self.dev,
            ino: info.number.as_u64(),
            mode: info.mode as u32,
            nlink: info.links as u32,
            uid: info.uid,
            gid: info.gid,
            rdev: info.device_number.map_or(0, |d| velox_vfs::makedev(d.major(), d.minor())),
            size: info.size,
            blocks: info.blocks,
            blksize: PAGE as u32,
            atime: t(info.atime_ts),
            mtime: t(info.mtime_ts),
            ctime: t(info.ctime_ts),
        }
    }

    /// The live node of an inode the core just described (made if there is none).
    fn node(&self, info: &InodeInfo) -> InodeRef {
        self.node_of(info)
    }

    fn node_of(&self, info: &InodeInfo) -> Arc<Node<D, S>> {
        let n = info.number.raw();
        let mut nodes = self.nodes.lock();
        if let Some(node) = nodes.get(&n).and_then(Weak::upgrade) {
            return node;
        }
        let node = Arc::new(Node {
            fs: self.this(),
            ino: n,
            kind: kind_of(info.mode),
            attr: Mutex::new(self.stat_of(info)),
            data: Mutex::new(Data { pages: PageMap::new(), dir_pos: None, shared: false, dirty: BTreeSet::new(), wb_err: None, ahead: None, seq_next: u64::MAX, bad_until: 0, watched: false }),
            names: Mutex::new(BTreeMap::new()),
            hint: Mutex::new(None),
            parent: AtomicU32::new(0),
            dir_gen: AtomicU64::new(0),
            writers: core::sync::atomic::AtomicIsize::new(0),
            slot: AtomicUsize::new(NO_SLOT),
            referenced: AtomicBool::new(false),
            delayed: AtomicBool::new(false),
            freed: AtomicBool::new(false),
        });
        nodes.insert(n, Arc::downgrade(&node));
        drop(nodes);
        if info.links != 0 {
            self.keep(&node);
        }
        node
    }

    /// Keep `node` among the recently used (so its pages outlive a close).
    /// A node already on the list is only marked (no lock): every look-up hit calls this.
    fn keep(&self, node: &Arc<Node<D, S>>) {
        node.referenced.store(true, Ordering::Relaxed);
        if node.slot.load(Ordering::Relaxed) != NO_SLOT {
            return;
        }
        let mut r = self.recent.lock();
        if node.slot.load(Ordering::Relaxed) != NO_SLOT {
            return;
        }
        let mut old = None;
        let i = if let Some(i) = r.free.pop() {
            i
        } else if r.slots.len() < RECENT_NODES {
            r.slots.push(None);
            r.slots.len() - 1
        } else {
            // The clock hand: the first node not used since the hand last passed it and not
            // pinned by a shared mapping (those stay until unmount) or dirty pages; the hand
            // clears the used mark of those it passes. All pinned: one more slot.
            let n = r.slots.len();
            let mut found = None;
            for _ in 0..2 * n {
                let i = r.hand;
                r.hand = (i + 1) % n;
                let Some(x) = &r.slots[i] else {
                    found = Some(i);
                    break;
                };
                // (Busy: pinned for now. The slot is cleared with the data lock held, which a
                // write holds while it decides to delay: no dirty page is left on a node
                // that is off the list.)
                let Some(d) = x.data.try_lock() else { continue };
                if d.shared || !d.dirty.is_empty() || x.referenced.swap(false, Ordering::Relaxed) {
                    continue;
                }
                x.slot.store(NO_SLOT, Ordering::Relaxed);
                drop(d);
                old = r.slots[i].take();
                found = Some(i);
                break;
            }
            found.unwrap_or_else(|| {
                r.slots.push(None);
                r.slots.len() - 1
            })
        };
        r.slots[i] = Some(node.clone());
        node.slot.store(i, Ordering::Relaxed);
        drop(r);
        drop(old);
    }

    /// Forget `ino` among the recently used (it has no name left: reap it when its users go).
    fn forget(&self, n: u32) {
        let Some(node) = self.nodes.lock().get(&n).and_then(Weak::upgrade) else { return };
        let mut r = self.recent.lock();
        let i = node.slot.swap(NO_SLOT, Ordering::Relaxed);
        let gone = if i != NO_SLOT && r.slots.get(i).is_some_and(|x| x.as_ref().is_some_and(|x| Arc::ptr_eq(x, &node))) {
            r.free.push(i);
            r.slots[i].take()
        } else {
            None
        };
        drop(r);
        drop(gone);
        drop(node);
    }

    /// Is `node` held by nobody but the caller (no open file, mapping, working directory or
    /// recent-list slot)? If so it is taken out of the live-node table, so nobody can find
    /// it again: the caller may free its inode with its last name.
    fn sole_user(&self, node: &Arc<Node<D, S>>) -> bool {
        self.forget(node.ino);
        let mut nodes = self.nodes.lock();
        // (Only the table's weak references can make new strong ones, under this lock.)
        if Arc::strong_count(node) != 1 {
            drop(nodes);
            self.keep(node);
            return false;
        }
        if nodes.get(&node.ino).is_some_and(|w| w.as_ptr() == Arc::as_ptr(node)) {
            nodes.remove(&node.ino);
        }
        true
    }

    /// Undo `sole_user` (the name was not removed after all).
    fn relive(&self, node: &Arc<Node<D, S>>) {
        let mut nodes = self.nodes.lock();
        if !nodes.get(&node.ino).is_some_and(|w| w.strong_count() > 0) {
            nodes.insert(node.ino, Arc::downgrade(node));
        }
        drop(nodes);
        // (Out of the table, the inode may have been taken off the watch list by a sync that
        // found no node for it: a file with dirty pages must be back on it.)
        if node.kind == FileType::Regular {
            let d = node.data.lock();
            if d.watched {
                self.watch.lock().insert(node.ino);
            }
        }
        self.keep(node);
    }

    /// Re-read the attributes of a live inode after a change (dropping the node afterwards is
    /// the caller's business: not while holding the core).
    fn refresh(&self, c: &mut Core<D>, n: u32) -> Option<Arc<Node<D, S>>> {
        let node = self.nodes.lock().get(&n).and_then(Weak::upgrade)?;
        if let Ok(i) = ino(n)
            && let Ok(info) = c.inode(i)
        {
            node.set_attr(self.stat_of(&info));
        }
        Some(node)
    }

    /// Write back what shared mappings may have changed, then commit everything to the disk
    /// (sync, syncfs, umount, the periodic writeback).
    pub fn sync_all(&self) -> VResult<()> {
        let inos: Vec<u32> = self.watch.lock().iter().copied().collect();
        let mut first = Ok(());
        for n in inos {
            let Some(node) = self.nodes.lock().get(&n).and_then(Weak::upgrade) else {
                // (Its node went: nothing of it is left to write.)
                let nodes = self.nodes.lock();
                if !nodes.get(&n).is_some_and(|w| w.strong_count() > 0) {
                    self.watch.lock().remove(&n);
                }
                continue;
            };
            let mut d = node.data.lock();
            // (An error stays for the file's own fsync too.)
            node.write_back(&mut d);
            if let Some(err) = d.wb_err {
                first = first.and(Err(err));
            }
            if d.shared
                && let Err(err) = node.writeback(&mut d)
            {
                first = first.and(Err(err));
            }
            if !d.shared && d.wb_err.is_none() && d.dirty.is_empty() {
                d.watched = false;
                self.watch.lock().remove(&n);
            }
            drop(d);
            drop(node);
        }
        if self.ro() {
            return first;
        }
        let r = self.core().sync().map_err(errno);
        first.and(r)
    }

    /// Write back the dirty pages of every file whose pages are not in use right now.
    fn write_back_idle(&self) {
        let nodes: Vec<Arc<Node<D, S>>> = self.recent.lock().nodes().filter(|n| n.delayed.load(Ordering::Relaxed)).cloned().collect();
        for n in &nodes {
            if let Some(mut d) = n.data.try_lock() {
                n.write_back(&mut d);
            }
        }
    }

    /// Give back up to `want` clean cached pages (memory is short); the pages freed.
    pub fn shrink(&self, want: usize) -> usize {
        let nodes: Vec<Arc<Node<D, S>>> = self.recent.lock().nodes().cloned().collect();
        let mut freed = 0;
        for n in &nodes {
            if freed >= want {
                break;
            }
            let Some(mut d) = n.data.try_lock() else { continue };
            let ahead = d.cancel_ahead();
            freed += ahead;
            self.cached.fetch_sub(ahead, Ordering::Relaxed);
            if d.shared {
                continue; // (mapped frames: dropping them from the cache would split the file)
            }
            if !d.dirty.is_empty() {
                // Written back first if the core is free (never waited for here: the caller
                // may hold it).
                let (Some(mut b), Some(mut c)) = (self.bounce.try_lock(), self.core.try_lock()) else { continue };
                n.flush_locked(&mut d, &mut b, &mut c);
                if !d.dirty.is_empty() {
                    continue;
                }
            }
            let k = d.pages.len();
            d.pages.clear();
            freed += k;
            self.cached.fetch_sub(k, Ordering::Relaxed);
        }
        freed
    }

    /// A page for the cache, zeroed unless `uninit` (the caller overwrites all of it).
    fn alloc_page_with(&self, uninit: bool) -> VResult<S::Page> {
        let get = || if uninit { self.store.alloc_uninit() } else { self.store.alloc_zeroed() };
        match get() {
            Some(p) => {
                self.cached.fetch_add(1, Ordering::Relaxed);
                Ok(p)
            }
            None => {
                // Memory is short: clean pages of other files go first.
                if self.shrink(64) == 0 {
                    return Err(e::ENOMEM);
                }
                let p = get().ok_or(e::ENOMEM)?;
                self.cached.fetch_add(1, Ordering::Relaxed);
                Ok(p)
            }
        }
    }

    fn check_writable(&self) -> VResult<()> {
        if self.ro() { Err(e::EROFS) } else { Ok(()) }
    }
}

fn log_error(what: &str, err: Ext4Error) {
    #[cfg(test)]
    std::eprintln!("ext4: {what}: {err:?}");
    #[cfg(not(test))]
    let _ = (what, err);
}

impl<D: BlockIo + Send + 'static, S: PageStore> FileSystem for Ext4Fs<D, S> {
    fn name(&self) -> &'static str {
        "ext4"
    }
    fn statfs(&self) -> StatFs {
        let s = self.core.lock().statfs();
        StatFs {
            magic: EXT4_SUPER_MAGIC,
            bsize: s.block_size,
            blocks: s.total_blocks,
            // (Less the delayed writes' pages, as Linux counts its delayed allocations.)
            bfree: s.free_blocks.saturating_sub(self.dirty.load(Ordering::Relaxed) as u64),
            // (Less the blocks reserved for root and the file system's own reserve too, as
            // Linux's ext4_statfs: df's "Avail". Neither reserve is enforced yet.)
            bavail: s.free_blocks.saturating_sub(self.dirty.load(Ordering::Relaxed) as u64).saturating_sub(s.reserved_blocks.saturating_add(s.resv_blocks)),
            files: s.total_inodes as u64,
            ffree: s.free_inodes as u64,
            namelen: 255,
        }
    }
    fn release(&self) {
        let _ = self.sync_all();
        let mut r = self.recent.lock();
        let recent = core::mem::take(&mut r.slots);
        r.free.clear();
        r.hand = 0;
        for x in recent.iter().flatten() {
            x.slot.store(NO_SLOT, Ordering::Relaxed);
        }
        drop(r);
        drop(recent);
        if !self.ro()
            && let Err(err) = self.core().unmount()
        {
            log_error("unmount", err);
        }
    }
}

impl<D: BlockIo + Send + 'static, S: PageStore> Node<D, S> {
    fn number(&self) -> VResult<InodeNumber> {
        ino(self.ino)
    }

    fn size(&self) -> u64 {
        self.attr.lock().size
    }

    /// Drop the read-ahead, if any, before a change (see `Data::cancel_ahead`).
    fn drop_ahead(&self, d: &mut Data<S::Page>) {
        let n = d.cancel_ahead();
        self.fs.cached.fetch_sub(n, Ordering::Relaxed);
    }

    /// Take in the read-ahead if it holds page `i`: wait for the device, then put its pages
    /// that the map lacks and the file still covers into the map (zeros past the end of the
    /// file). The window's end if it held `i`, whether or not the read succeeded (a failed
    /// one leaves the pages to the synchronous fill, which reports the error).
    fn settle_ahead(&self, d: &mut Data<S::Page>, i: u64) -> Option<u64> {
        let a = d.ahead.as_ref()?;
        if i < a.first || i - a.first >= a.pages.len() as u64 {
            return None;
        }
        let Ahead { pending, first, pages } = d.ahead.take()?;
        let end = first + pages.len() as u64;
        if !pending.wait() {
            self.fs.cached.fetch_sub(pages.len(), Ordering::Relaxed);
            return Some(end);
        }
        let size = self.size();
        let mut dropped = 0;
        for (k, mut p) in pages.into_iter().enumerate() {
            let at = first + k as u64;
            let start = at * PAGE as u64;
            if start >= size || d.pages.contains_key(&at) {
                dropped += 1;
                continue;
            }
            let valid = (size - start).min(PAGE as u64) as usize;
            p[valid..].fill(0);
            d.pages.insert(at, p);
        }
        self.fs.cached.fetch_sub(dropped, Ordering::Relaxed);
        Some(end)
    }

    /// Start reading the window of [`READ_AHEAD`] pages from `first` from the disk (those that
    /// one run of the file's blocks holds), for a sequential reader that will want them next:
    /// only if none of them is cached, and into consecutive pages that one device request
    /// fills. Nothing happens when any of that is not so.
    fn start_ahead(&self, d: &mut Data<S::Page>, first: u64) {
        if d.ahead.is_some() {
            return;
        }
        let Some(reader) = self.fs.reader.lock().clone() else { return };
        let end = self.size().div_ceil(PAGE as u64).min(first.saturating_add(READ_AHEAD));
        if first >= end || d.pages.range(first..end).next().is_some() {
            return;
        }
        let Ok(number) = self.number() else { return };
        let want = (end - first) * PAGE as u64;
        let Ok(Some((pos, bytes))) = self.fs.core().plain_data_run(number, first * PAGE as u64, want) else { return };
        let n = (bytes / PAGE as u64) as usize;
        // (Short runs, the ends of fragments: the synchronous fill reads them.)
        if n < 32 {
            return;
        }
        let Some(mut pages) = self.fs.store.alloc_run(n) else { return };
        if pages.len() != n {
            return;
        }
        let Some(buf) = self.fs.store.run_bytes(&mut pages) else { return };
        let (ptr, len) = (buf.as_mut_ptr(), buf.len());
        #[allow(unsafe_code)]
        // SAFETY: the memory is the pages' (`run_bytes`: it stays put wherever their handles
        // move), and the pages go into `Ahead` beside the read, untouched until the read is
        // waited for (`settle_ahead`, `cancel_ahead`) or dropped (which waits, and `Ahead`
        // drops it before the pages).
        let Some(pending) = (unsafe { reader.start(pos, ptr, len) }) else { return };
        self.fs.cached.fetch_add(n, Ordering::Relaxed);
        d.ahead = Some(Ahead { pending, first, pages });
    }

    /// Fill the missing pages of `first..end` from the disk, a run of missing pages with one
    /// read of the core (through the bounce buffer). Past `first`, the read-ahead stops where
    /// memory does.
    fn fill(&self, d: &mut Data<S::Page>, first: u64, end: u64) -> VResult<()> {
        const RUN: u64 = (WRITE_BATCH / PAGE) as u64;
        let size = self.size();
        let last = size.div_ceil(PAGE as u64);
        let end = end.min(last);
        let number = self.number()?;
        let mut i = first;
        while i < end {
            // The missing pages from `i` up to the next cached one (one search of the map,
            // not one per page).
            let next = d.pages.range(i..end.min(i + RUN)).next().map(|(k, _)| k);
            if next == Some(i) {
                i += 1;
                continue;
            }
            let j = next.unwrap_or(end.min(i + RUN));
            // Pages consecutive in memory when the store has a run of them: the core reads
            // straight into them (no bounce buffer, no copy; the part past the end of the
            // file is zeroed). Else one by one, below.
            // (Long runs only: a run takes whole 64-frame words of the allocator's bitmap, and
            // small files each breaking a word would soon leave none for the big ones.)
            if j - i >= 32
                && let Some(mut run) = self.fs.store.alloc_run((j - i) as usize)
                && run.len() == (j - i) as usize
            {
                let n = run.len();
                self.fs.cached.fetch_add(n, Ordering::Relaxed);
                let r = match self.fs.store.run_bytes(&mut run) {
                    Some(buf) => {
                        let r = self.fs.core().read_inode(number, i * PAGE as u64, buf).map_err(errno);
                        if let Ok(got) = r {
                            buf[got.min(n * PAGE)..].fill(0);
                        }
                        r
                    }
                    None => Err(e::EIO), // (a store whose runs are not consecutive)
                };
                if let Err(err) = r {
                    self.fs.cached.fetch_sub(n, Ordering::Relaxed);
                    drop(run);
                    return Err(err);
                }
                for (k, p) in run.into_iter().enumerate() {
                    d.pages.insert(i + k as u64, p);
                }
                i = j;
                continue;
            }
            // Pages first, with nothing locked but this file (finding memory may write other
            // files back through the core).
            let mut pages = Vec::new();
            pages.try_reserve_exact((j - i) as usize).map_err(|_| e::ENOMEM)?;
            for k in i..j {
                // Not zeroed: each is overwritten below, with the disk's bytes and then zeros
                // past the file's end, before the map holds it.
                match self.new_page_with(d, first, k + 1, true) {
                    Ok(p) => pages.push(p),
                    Err(x) if k == first => return Err(x),
                    Err(_) => break,
                }
            }
            if pages.is_empty() {
                return Ok(());
            }
            let n = pages.len();
            let r = if n == 1 {
                // One page (a small file): straight into it.
                let p = &mut pages[0];
                let r = self.fs.core().read_inode(number, i * PAGE as u64, &mut p[..]);
                if let Ok(got) = r {
                    p[got.min(PAGE)..].fill(0);
                }
                r
            } else {
                let mut b = self.fs.bounce.lock();
                let r = self.fs.core().read_inode(number, i * PAGE as u64, &mut b[..n * PAGE]);
                if let Ok(got) = r {
                    for (k, p) in pages.iter_mut().enumerate() {
                        let from = (k * PAGE).min(got);
                        let to = ((k + 1) * PAGE).min(got);
                        p[..to - from].copy_from_slice(&b[from..to]);
                        p[to - from..].fill(0);
                    }
                }
                r
            };
            if let Err(err) = r {
                self.fs.cached.fetch_sub(n, Ordering::Relaxed);
                drop(pages);
                return Err(errno(err));
            }
            for (k, p) in pages.into_iter().enumerate() {
                d.pages.insert(i + k as u64, p);
            }
            if (n as u64) < j - i {
                return Ok(()); // memory ran out
            }
            i = j;
        }
        Ok(())
    }

    /// A page for the cache; when memory is short, other files' clean pages go first, then
    /// this file's own outside `keep` (a long read streams through a small cache).
    fn new_page(&self, d: &mut Data<S::Page>, keep_from: u64, keep_to: u64) -> VResult<S::Page> {
        self.new_page_with(d, keep_from, keep_to, false)
    }

    /// [`Self::new_page`], not zeroed if `uninit` (the caller overwrites all of it).
    fn new_page_with(&self, d: &mut Data<S::Page>, keep_from: u64, keep_to: u64, uninit: bool) -> VResult<S::Page> {
        if let Ok(p) = self.fs.alloc_page_with(uninit) {
            return Ok(p);
        }
        if d.shared {
            return Err(e::ENOMEM);
        }
        // (This file's dirty pages are written back first: only clean ones can go.)
        self.write_back(d);
        let before = d.pages.len();
        let dirty = &d.dirty;
        d.pages.retain(|i, _| (i >= keep_from && i < keep_to) || dirty.contains(&i));
        self.fs.cached.fetch_sub(before - d.pages.len(), Ordering::Relaxed);
        let p = self.fs.store.alloc_zeroed().ok_or(e::ENOMEM)?;
        self.fs.cached.fetch_add(1, Ordering::Relaxed);
        Ok(p)
    }

    /// Hand the cached pages a shared mapping may have written to the core.
    fn writeback(&self, d: &mut Data<S::Page>) -> VResult<()> {
        if self.fs.ro() {
            return Ok(());
        }
        let size = self.size();
        let mut c = self.fs.core();
        for (i, p) in d.pages.iter() {
            let off = i * PAGE as u64;
            if off >= size {
                break;
            }
            let n = ((size - off) as usize).min(PAGE);
            c.write_inode(self.number()?, off, &p[..n]).map_err(errno)?;
        }
        Ok(())
    }

    /// Set the attributes from the core's (`st`); while writes are delayed, the size, times
    /// and block count the writes gave stay (the core's are behind).
    fn set_attr(&self, st: Stat) {
        let mut a = self.attr.lock();
        if self.delayed.load(Ordering::Acquire) {
            let (size, blocks, mtime, ctime) = (a.size, a.blocks, a.mtime, a.ctime);
            *a = st;
            a.size = a.size.max(size);
            a.blocks = a.blocks.max(blocks);
            a.mtime = mtime;
            if (ctime.sec, ctime.nsec) > (a.ctime.sec, a.ctime.nsec) {
                a.ctime = ctime;
            }
        } else {
            *a = st;
        }
    }

    /// Hand the dirty pages to the core (a write-back). Errors are also kept for the next
    /// fsync; returned: the first error since the last fsync, taken.
    fn flush(&self, d: &mut Data<S::Page>) -> VResult<()> {
        self.write_back(d);
        d.wb_err.take().map_or(Ok(()), Err)
    }

    /// A sync must visit this file (`d`: its data, locked).
    fn watch(&self, d: &mut Data<S::Page>) {
        if !d.watched {
            d.watched = true;
            self.fs.watch.lock().insert(self.ino);
        }
    }

    /// Hand the dirty pages to the core; an error waits for the next fsync.
    fn write_back(&self, d: &mut Data<S::Page>) {
        if !d.dirty.is_empty() {
            let mut b = self.fs.bounce.lock();
            let mut c = self.fs.core();
            self.flush_locked(d, &mut b, &mut c);
        }
    }

    /// [`Self::flush`] with the bounce buffer and the core held: runs of consecutive dirty
    /// pages, up to [`WRITE_BATCH`] bytes per call of the core, then the times the writes
    /// showed put back (the core stamps its writes with the time of the write-back). A run
    /// the core refused is dropped from the cache (its error waits for fsync, as on Linux).
    fn flush_locked(&self, d: &mut Data<S::Page>, b: &mut [u8], c: &mut Core<D>) {
        let dirty = core::mem::take(&mut d.dirty);
        if dirty.is_empty() {
            return;
        }
        self.fs.dirty.fetch_sub(dirty.len(), Ordering::Relaxed);
        let Ok(number) = self.number() else { return };
        let (size, mtime, ctime) = {
            let a = self.attr.lock();
            (a.size, a.mtime, a.ctime)
        };
        // (The delayed pages' room was checked when they were written, against the writer's
        // reserve: their write-back may take any free block, whoever runs it.)
        let floor = c.set_alloc_floor(0);
        const RUN: u64 = (WRITE_BATCH / PAGE) as u64;
        let mut failed = BTreeSet::new();
        let mut it = dirty.iter().copied().peekable();
        while let Some(first) = it.next() {
            if !d.pages.contains_key(&first) {
                continue; // (cannot happen: a dirty page is never dropped; nothing to write)
            }
            let mut last = first;
            while last - first + 1 < RUN && it.peek() == Some(&(last + 1)) && d.pages.contains_key(&(last + 1)) {
                last = it.next().unwrap_or(last);
            }
            let off = first * PAGE as u64;
            let end = ((last + 1) * PAGE as u64).min(size);
            if off >= end {
                continue; // (past the end: cut off by a truncate)
            }
            for i in first..=last {
                let o = ((i - first) as usize) * PAGE;
                let n = end.saturating_sub(i * PAGE as u64).min(PAGE as u64) as usize;
                if let Some(p) = d.pages.get(&i) {
                    b[o..o + n].copy_from_slice(&p[..n]);
                }
            }
            if let Err(x) = c.write_inode(number, off, &b[..(end - off) as usize]) {
                // The run stays dirty (tried again at the next write-back: room may have been
                // made); the error waits for fsync.
                d.wb_err.get_or_insert(errno(x));
                self.watch(d);
                failed.extend(first..=last);
            }
        }
        let ts = |t: Time| Ext4Timestamp::new(t.sec, t.nsec);
        let up = InodeMetadataUpdate { mtime: Some(ts(mtime)), ctime: Some(ts(ctime)), ..Default::default() };
        let info = match c.update_inode_metadata(number, up) {
            Ok(info) => Ok(info),
            Err(x) => {
                d.wb_err.get_or_insert(errno(x));
                self.watch(d);
                c.inode(number)
            }
        };
        c.set_alloc_floor(floor);
        self.fs.dirty.fetch_add(failed.len(), Ordering::Relaxed);
        d.dirty = failed;
        if d.dirty.is_empty() {
            self.delayed.store(false, Ordering::Release);
        }
        // (With pages still dirty the size and times stay those of the writes.)
        if let Ok(info) = info {
            self.set_attr(self.fs.stat_of(&info));
        }
    }

    /// May a write of `start..end` be delayed? The node must stay cached (it is on the recent
    /// list; checked with `data` held, which the clock hand holds to take a node off), the
    /// file must not be set-user/group-id (a write clears those bits at once), the write must
    /// be at most [`DIRTY_MAX`] pages, and the disk must have room for every dirty page with a
    /// margin. A yes reserves the write's pages in `Ext4Fs::dirty` (the check and the
    /// reservation under the core's lock, so two writers cannot both count the same blocks).
    fn delay(&self, d: &Data<S::Page>, start: u64, end: u64) -> Delay {
        if self.slot.load(Ordering::Relaxed) == NO_SLOT || self.attr.lock().mode & 0o6000 != 0 {
            return Delay::No;
        }
        // (A file whose write-back failed writes through, so that the error reaches `write`;
        // and dirty memory stays bounded when write-backs keep failing.)
        let pages = (end.div_ceil(PAGE as u64) - start / PAGE as u64) as usize;
        if d.wb_err.is_some() || self.fs.dirty.load(Ordering::Relaxed) + pages > DIRTY_MAX {
            return Delay::No;
        }
        let floor = self.fs.floor();
        let c = self.fs.core.lock();
        // (The floor counts the dirty pages already.)
        let want = floor + pages as u64 + DIRTY_MARGIN;
        if c.statfs().free_blocks < want {
            return Delay::No;
        }
        self.fs.dirty.fetch_add(pages, Ordering::Relaxed);
        Delay::Yes(pages)
    }

    /// A delayed write (`reserved`: the pages [`Self::delay`] counted): the bytes go into
    /// cached pages, which are marked dirty (see [`Self::flush`]); the size (page by page, so
    /// that a write-back on the way writes what is there), times and block count change now.
    fn write_delayed(&self, d: &mut Data<S::Page>, start: u64, end: u64, reserved: usize, src: &mut dyn FnMut(&mut [u8]) -> VResult<()>) -> VResult<(usize, u64)> {
        let size0 = self.size();
        let eof_page = size0.div_ceil(PAGE as u64);
        let mut at = start;
        let mut err = None;
        let mut newly = 0usize;
        self.delayed.store(true, Ordering::Release);
        self.watch(d);
        while at < end {
            let i = at / PAGE as u64;
            let po = (at % PAGE as u64) as usize;
            let n = (PAGE - po).min((end - at) as usize);
            if !d.pages.contains_key(&i) {
                // A partial page of the file is read first; one past the end starts as
                // zeros; a whole one is not even zeroed (the write covers it all, and if the
                // source fails midway the page, not dirty, goes again below).
                let whole = po == 0 && n == PAGE;
                let r = if !whole && i * (PAGE as u64) < size0 {
                    self.fill(d, i, i + 1)
                } else {
                    self.new_page_with(d, start / PAGE as u64, i + 1, whole).map(|p| {
                        d.pages.insert(i, p);
                    })
                };
                if let Err(x) = r {
                    err = Some(x);
                    break;
                }
            }
            let was_dirty = d.dirty.contains(&i);
            let Some(page) = d.pages.get_mut(&i) else {
                err = Some(e::ENOMEM);
                break;
            };
            if let Err(x) = src(&mut page[po..po + n]) {
                // The source may have filled part of the slice: a clean page must not differ
                // from the disk, so it goes (read again when needed); a dirty one keeps it.
                if !was_dirty {
                    d.pages.remove(&i);
                    self.fs.cached.fetch_sub(1, Ordering::Relaxed);
                }
                err = Some(x);
                break;
            }
            let t = (self.fs.now)();
            let mut a = self.attr.lock();
            if !was_dirty {
                d.dirty.insert(i);
                newly += 1;
                if i >= eof_page {
                    // (Counted as allocated now, as Linux counts delayed allocations.)
                    a.blocks += PAGE as u64 / 512;
                }
            }
            at += n as u64;
            a.size = a.size.max(at);
            a.mtime = t;
            a.ctime = t;
        }
        // (The reservation's pages that did not become dirty here.)
        self.fs.dirty.fetch_sub(reserved - newly.min(reserved), Ordering::Relaxed);
        if d.dirty.is_empty() {
            self.delayed.store(false, Ordering::Release);
        }
        if self.fs.dirty.load(Ordering::Relaxed) > DIRTY_MAX {
            // (Too much is dirty: this file goes now; an error waits for fsync.)
            self.write_back(d);
        }
        if at == start {
            return Err(err.unwrap_or(e::EIO));
        }
        Ok(((at - start) as usize, at))
    }

    fn drop_pages_from(&self, d: &mut Data<S::Page>, size: u64) {
        let first = size.div_ceil(PAGE as u64);
        let gone = d.pages.split_off(&first);
        self.fs.cached.fetch_sub(gone.len(), Ordering::Relaxed);
        drop(gone);
        let tail = (size % PAGE as u64) as usize;
        if tail != 0
            && let Some(p) = d.pages.get_mut(&(size / PAGE as u64))
        {
            p[tail..].fill(0);
        }
    }

    /// Remember that `name` is inode `n` (0: absent) in this directory (under the core).
    fn dcache_put(&self, name: &[u8], n: u32) {
        if name == b".." {
            return;
        }
        let mut m = self.names.lock();
        if let Some(v) = m.get_mut(name) {
            *v = n;
            return;
        }
        if !self.fs.store.may_grow(name.len() + 64) {
            m.clear();
            return;
        }
        if m.len() >= DCACHE_MAX {
            // (Starting over lost the whole cache of a directory that kept growing: every
            // name of a 1,000-file directory was searched for again by its unlink.)
            m.pop_first();
        }
        let mut k = Vec::new();
        if k.try_reserve_exact(name.len()).is_ok() {
            k.extend_from_slice(name);
            m.insert(k, n);
        }
    }

    /// A directory that was removed (a process's cwd, say) takes no new entries: ENOENT.
    fn check_alive(&self) -> VResult<()> {
        if self.attr.lock().nlink == 0 { Err(e::ENOENT) } else { Ok(()) }
    }

    fn dir_node(to: &InodeRef) -> VResult<&Node<D, S>> {
        to.as_any().downcast_ref::<Node<D, S>>().ok_or(e::EXDEV)
    }
}

impl<D: BlockIo + Send + 'static, S: PageStore> Drop for Node<D, S> {
    fn drop(&mut self) {
        let mut nodes = self.fs.nodes.lock();
        if nodes.get(&self.ino).is_some_and(|w| w.strong_count() == 0) {
            nodes.remove(&self.ino);
        }
        if self.data.get_mut().watched && !nodes.contains_key(&self.ino) {
            // (A new node of the inode would have been made under `nodes`.)
            self.fs.watch.lock().remove(&self.ino);
        }
        drop(nodes);
        let d = self.data.get_mut();
        let pages = d.pages.len() + d.ahead.as_ref().map_or(0, |a| a.pages.len());
        self.fs.cached.fetch_sub(pages, Ordering::Relaxed);
        // (Dirty pages of a node that goes belong to a removed file, or to an unmounted
        // file system that was written back first.)
        let dirty = self.data.get_mut().dirty.len();
        self.fs.dirty.fetch_sub(dirty, Ordering::Relaxed);
        if self.attr.get_mut().nlink == 0 && !self.fs.ro() && !*self.freed.get_mut() {
            self.fs.orphans.lock().push(self.ino);
            self.fs.has_orphans.store(true, Ordering::Release);
        }
    }
}

impl<D: BlockIo + Send + 'static, S: PageStore> Inode for Node<D, S> {
    fn id(&self) -> (u64, u64) {
        (self.fs.dev, self.ino as u64)
    }
    fn kind(&self) -> FileType {
        self.kind
    }
    fn stat(&self) -> Stat {
        *self.attr.lock()
    }
    fn perm(&self) -> (u32, u32, u32) {
        let a = self.attr.lock();
        (a.mode, a.uid, a.gid)
    }
    fn setattr(&self, a: &SetAttr) -> VResult<()> {
        self.fs.check_writable()?;
        // Delayed writes first (their write-back would stamp the times again); their error
        // stays for fsync.
        let mut d = self.data.lock();
        self.drop_ahead(&mut d);
        self.write_back(&mut d);
        let mut c = self.fs.core();
        let cur = self.stat();
        let ts = |t: Time| Ext4Timestamp::new(t.sec, t.nsec);
        let up = InodeMetadataUpdate {
            permissions: match a.mode {
                Some(m) => Some(FilePermissions::new((m & 0o7777) as u16).map_err(|_| e::EINVAL)?),
                None => None,
            },
            owner: if a.uid.is_some() || a.gid.is_some() { Some((a.uid.unwrap_or(cur.uid), a.gid.unwrap_or(cur.gid))) } else { None },
            atime: a.atime.map(ts),
            mtime: a.mtime.map(ts),
            ..Default::default()
        };
        let info = c.update_inode_metadata(self.number()?, up).map_err(errno)?;
        *self.attr.lock() = self.fs.stat_of(&info);
        drop(c);
        drop(d);
        Ok(())
    }
    fn lookup(&self, n: &[u8]) -> VResult<InodeRef> {
        if self.kind != FileType::Dir {
            return Err(e::ENOTDIR);
        }
        self.check_alive()?;
        if n == b".." {
            // The directory it was last found in, if that one still holds it under the same
            // name (in its look-up cache, kept under the core as every entry change).
            let p = self.parent.load(Ordering::Relaxed);
            let h = self.hint.lock().clone();
            let dir = if p != 0 { self.fs.nodes.lock().get(&p).and_then(Weak::upgrade) } else { None };
            if let (Some(h), Some(dir)) = (h, dir)
                && dir.names.lock().get(&h[..]).copied() == Some(self.ino)
            {
                self.fs.keep(&dir);
                return Ok(dir);
            }
        }
        // (The dentry cache holds only names that passed `name`: a hit needs no check.)
        let hit = self.names.lock().get(n).copied();
        if let Some(i) = hit {
            if i == 0 {
                return Err(e::ENOENT);
            }
            let live = self.fs.nodes.lock().get(&i).and_then(Weak::upgrade);
            if let Some(node) = live {
                self.fs.keep(&node);
                return Ok(named(node, n, self.ino));
            }
            // Not in memory: its record by number, no search of the directory's blocks (the
            // name still maps to it if the cache says so under the core: entries change only
            // under the core).
            let mut c = self.fs.core();
            if self.names.lock().get(n).copied() == Some(i)
                && let Ok(info) = c.inode(ino(i)?)
            {
                // (The node under the core, as the answer: an unlink in between would free
                // the inode with no node of it in the table, leaving this one stale.)
                let node = self.fs.node_of(&info);
                drop(c);
                return Ok(named(node, n, self.ino));
            }
        }
        let fname = name(n)?;
        let mut c = self.fs.core();
        let info = c.lookup_child(self.number()?, fname).map_err(errno)?;
        self.dcache_put(n, info.map_or(0, |i| i.number.raw()));
        let node = info.map(|info| self.fs.node_of(&info));
        drop(c);
        Ok(named(node.ok_or(e::ENOENT)?, n, self.ino))
    }
    fn name_hint(&self) -> Option<Vec<u8>> {
        self.hint.lock().clone()
    }
    fn create(&self, n: &[u8], nn: &NewNode) -> VResult<InodeRef> {
        if self.kind != FileType::Dir {
            return Err(e::ENOTDIR);
        }
        let fname = name(n)?;
        self.fs.check_writable()?;
        let ctx = MutationContext::new(nn.uid, nn.gid, 0, 0);
        let perm = FilePermissions::new((nn.perm & 0o7777) as u16).map_err(|_| e::EINVAL)?;
        let parent = self.number()?;
        let mut c = self.fs.core();
        // (Under the core: an rmdir of this directory sets its count to 0 under it too.)
        self.check_alive()?;
        let dn = || {
            let (ma, mi) = velox_vfs::dev_split(nn.rdev);
            DeviceNumber::new(ma, mi).map_err(|_| e::EINVAL)
        };
        let info = match nn.kind {
            FileType::Regular => c.create_regular_file(ctx, parent, fname, perm),
            FileType::Dir => c.create_directory(ctx, parent, fname, perm),
            FileType::Symlink => {
                if nn.target.is_empty() {
                    return Err(e::ENOENT);
                }
                if nn.target.len() >= PAGE {
                    return Err(e::ENAMETOOLONG);
                }
                c.create_symlink(ctx, parent, fname, nn.target)
            }
            FileType::Char => c.create_special_inode(ctx, parent, fname, perm, SpecialInodeKind::CharacterDevice(dn()?)),
            FileType::Block => c.create_special_inode(ctx, parent, fname, perm, SpecialInodeKind::BlockDevice(dn()?)),
            FileType::Fifo => c.create_special_inode(ctx, parent, fname, perm, SpecialInodeKind::Fifo),
            FileType::Socket => c.create_special_inode(ctx, parent, fname, perm, SpecialInodeKind::Socket),
        }
        .map_err(errno)?;
        self.dcache_put(n, info.number.raw());
        self.dir_gen.fetch_add(1, Ordering::Relaxed);
        let me = self.fs.refresh(&mut c, self.ino);
        drop(c);
        drop(me);
        Ok(self.fs.node(&info))
    }
    fn link(&self, n: &[u8], target: &InodeRef) -> VResult<()> {
        if self.kind != FileType::Dir {
            return Err(e::ENOTDIR);
        }
        let fname = name(n)?;
        let t = Self::dir_node(target)?;
        if !Arc::ptr_eq(&t.fs, &self.fs) {
            return Err(e::EXDEV);
        }
        if t.kind == FileType::Dir {
            return Err(e::EPERM);
        }
        self.fs.check_writable()?;
        let mut c = self.fs.core();
        self.check_alive()?;
        c.hard_link(t.number()?, self.number()?, fname).map_err(errno)?;
        self.dcache_put(n, t.ino);
        self.dir_gen.fetch_add(1, Ordering::Relaxed);
        let a = self.fs.refresh(&mut c, self.ino);
        let b = self.fs.refresh(&mut c, t.ino);
        drop(c);
        drop((a, b));
        Ok(())
    }
    fn unlink(&self, n: &[u8], dir: bool) -> VResult<()> {
        self.unlink_checked(n, dir, &mut |_| Ok(()))
    }
    fn unlink_checked(&self, n: &[u8], dir: bool, check: &mut dyn FnMut(&dyn Inode) -> VResult<()>) -> VResult<()> {
        if self.kind != FileType::Dir {
            return Err(e::ENOTDIR);
        }
        let fname = name(n)?;
        self.fs.check_writable()?;
        let mut c = self.fs.core();
        // (A name the look-up cache maps to a node in memory, as after a create or a look-up,
        // needs no search of the directory here: the core's unlink searches for the entry
        // anyway. The cache changes only under the core, with the entries, so its answer
        // holds. A node's link count only picks the faster path below; the core checks it.)
        let hit = self.names.lock().get(n).copied();
        let cached = match hit {
            Some(0) => return Err(e::ENOENT),
            Some(i) => self.fs.nodes.lock().get(&i).and_then(Weak::upgrade),
            None => None,
        };
        let (child, number, links) = match cached {
            Some(node) => {
                let links = node.attr.lock().nlink;
                let number = ino(node.ino)?;
                (node, number, links)
            }
            None => {
                let info = c.lookup_child(self.number()?, fname).map_err(errno)?.ok_or(e::ENOENT)?;
                (self.fs.node_of(&info), info.number, info.links.into())
            }
        };
        match (dir, child.kind == FileType::Dir) {
            (false, true) => return Err(e::EISDIR),
            (true, false) => return Err(e::ENOTDIR),
            _ => {}
        }
        let r = (|| {
            check(&*child)?;
            let out = if dir {
                c.remove_empty_directory(self.number()?, fname)
            } else if links == 1 && self.fs.sole_user(&child) {
                // (The usual case: nobody has the file open. Its inode is freed in the same
                // transaction, not put on the orphan chain to be reaped later.)
                match c.unlink_unreferenced(self.number()?, fname) {
                    Ok((out, freed)) => {
                        child.freed.store(freed, Ordering::Relaxed);
                        Ok(out)
                    }
                    Err(err) => {
                        self.fs.relive(&child);
                        Err(err)
                    }
                }
            } else {
                c.unlink(self.number()?, fname)
            }
            .map_err(errno)?;
            self.dcache_put(n, 0);
            self.dir_gen.fetch_add(1, Ordering::Relaxed);
            if out.requires_reap() || dir {
                child.attr.lock().nlink = 0;
            } else if let Ok(i) = c.inode(number) {
                child.set_attr(self.fs.stat_of(&i));
            }
            Ok(())
        })();
        if r.is_err() {
            self.names.lock().remove(n);
            self.dir_gen.fetch_add(1, Ordering::Relaxed);
        }
        let me = self.fs.refresh(&mut c, self.ino);
        drop(c);
        if child.attr.lock().nlink == 0 {
            self.fs.forget(child.ino);
        }
        drop((me, child));
        r
    }
    fn rename(&self, old: &[u8], to: &InodeRef, new: &[u8], flags: u32) -> VResult<()> {
        self.rename_checked(old, to, new, flags, &mut |_, _| Ok(()))
    }
    fn rename_checked(
        &self,
        old: &[u8],
        to: &InodeRef,
        new: &[u8],
        flags: u32,
        check: &mut dyn FnMut(&dyn Inode, Option<&dyn Inode>) -> VResult<()>,
    ) -> VResult<()> {
        if self.kind != FileType::Dir {
            return Err(e::ENOTDIR);
        }
        let (oname, nname) = (name(old)?, name(new)?);
        let to = Self::dir_node(to)?;
        if !Arc::ptr_eq(&to.fs, &self.fs) {
            return Err(e::EXDEV);
        }
        if to.kind != FileType::Dir {
            return Err(e::ENOTDIR);
        }
        if flags & !(RENAME_EXCHANGE | RENAME_NOREPLACE | RENAME_WHITEOUT) != 0 || flags & RENAME_EXCHANGE != 0 && flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) != 0 {
            return Err(e::EINVAL);
        }
        if flags & RENAME_WHITEOUT != 0 {
            return Err(e::EINVAL); // overlay whiteouts: not supported
        }
        self.fs.check_writable()?;
        // A file renamed over another is written back first, as Linux's auto_da_alloc does: a
        // crash after the rename is committed must not leave the name on a file whose data
        // was still waiting (write a new version, rename it over the old one).
        if let Ok(src) = self.lookup(old)
            && let Some(n) = src.as_any().downcast_ref::<Node<D, S>>()
            && n.delayed.load(Ordering::Acquire)
            && to.lookup(new).is_ok()
        {
            let mut d = n.data.lock();
            n.write_back(&mut d);
        }
        let mut c = self.fs.core();
        to.check_alive()?;
        let moved = c.lookup_child(self.number()?, oname).map_err(errno)?.ok_or(e::ENOENT)?;
        let victim = c.lookup_child(to.number()?, nname).map_err(errno)?;
        let exchange = flags & RENAME_EXCHANGE != 0;
        if exchange && victim.is_none() {
            return Err(e::ENOENT);
        }
        if flags & RENAME_NOREPLACE != 0 && victim.is_some() {
            return Err(e::EEXIST);
        }
        if let Some(v) = &victim {
            if v.number == moved.number {
                return Ok(()); // two names of one inode: nothing to do (POSIX)
            }
            if !exchange {
                match (moved.is_directory(), v.is_directory()) {
                    (false, true) => return Err(e::EISDIR),
                    (true, false) => return Err(e::ENOTDIR),
                    _ => {}
                }
            }
        }
        // A directory may not move into its own subtree (either one, for an exchange).
        if self.ino != to.ino {
            for (d, into) in [(Some(&moved), to.ino), (victim.as_ref().filter(|_| exchange), self.ino)] {
                let Some(d) = d.filter(|d| d.is_directory()) else { continue };
                let mut x = into;
                for _ in 0..4096 {
                    if x == d.number.raw() {
                        return Err(e::EINVAL);
                    }
                    if x == ROOT_INO {
                        break;
                    }
                    match c.lookup_child(ino(x)?, FileName::new(b"..").map_err(|_| e::EINVAL)?).map_err(errno)? {
                        Some(p) if p.number.raw() != x => x = p.number.raw(),
                        _ => break,
                    }
                }
            }
        }
        let mnode = self.fs.node_of(&moved);
        let vnode = victim.as_ref().map(|v| self.fs.node_of(v));
        let r = (|| {
            check(&*mnode, vnode.as_deref().map(|v| v as &dyn Inode))?;
            let opts = if exchange {
                RenameOptions::EXCHANGE
            } else if flags & RENAME_NOREPLACE != 0 {
                RenameOptions::NO_REPLACE
            } else {
                RenameOptions::REPLACE
            };
            let r = c.rename(self.number()?, oname, to.number()?, nname, opts);
            if r.is_err() {
                // (What the core did before failing is unknown: forget both names.)
                self.names.lock().remove(old);
                to.names.lock().remove(new);
                self.dir_gen.fetch_add(1, Ordering::Relaxed);
                to.dir_gen.fetch_add(1, Ordering::Relaxed);
            }
            let out = r.map_err(errno)?;
            let v = if exchange { victim.as_ref().map_or(0, |v| v.number.raw()) } else { 0 };
            self.dcache_put(old, v);
            to.dcache_put(new, moved.number.raw());
            self.dir_gen.fetch_add(1, Ordering::Relaxed);
            to.dir_gen.fetch_add(1, Ordering::Relaxed);
            if let (Some(rep), Some(v)) = (out.replaced, &vnode) {
                if rep.requires_reap() || v.kind == FileType::Dir {
                    v.attr.lock().nlink = 0;
                }
            }
            Ok(())
        })();
        let mut keep = Vec::new();
        for n in [self.ino, to.ino, moved.number.raw()] {
            keep.push(self.fs.refresh(&mut c, n));
        }
        if let Some(v) = &vnode
            && v.attr.lock().nlink != 0
        {
            keep.push(self.fs.refresh(&mut c, v.ino));
        }
        drop(c);
        if let Some(v) = &vnode
            && v.attr.lock().nlink == 0
        {
            self.fs.forget(v.ino);
        }
        drop((keep, mnode, vnode));
        r
    }
    fn readdir(&self, pos: u64, sink: &mut dyn FnMut(&DirEntry) -> bool) -> VResult<()> {
        if self.kind != FileType::Dir {
            return Err(e::ENOTDIR);
        }
        let mut d = self.data.lock();
        let stamp = self.dir_gen.load(Ordering::Relaxed);
        let mut p = pos;
        // Resume where the last listing stopped if it stopped exactly at `p` (the same reader
        // going on: the core's cursor stays right whatever changed meanwhile), or answer at
        // once if it ended there and no entry changed since; otherwise start over and count.
        let (mut at, mut cur, mut reader) = match d.dir_pos.take() {
            Some((q, DirectoryCursor::End, _, g)) if q == p && p > 2 && g == stamp => {
                d.dir_pos = Some((q, DirectoryCursor::End, None, g));
                return Ok(());
            }
            Some((q, c, r, _)) if q == p && p > 2 && c != DirectoryCursor::End => (q, c, r),
            _ => (2, DirectoryCursor::Start, None),
        };
        let num = self.number()?;
        let read = |reader: &mut Option<DirectoryReader>, cur: DirectoryCursor| -> VResult<Vec<_>> {
            let mut c = self.fs.core();
            let r = match reader {
                Some(r) => r,
                None => reader.insert(c.open_directory_reader(num).map_err(errno)?),
            };
            c.read_directory_with_reader(r, cur, 128).map_err(errno)
        };
        // "." and "..": the parent's number from the directory's own ".." entry (in the first
        // batch, which the listing then goes on with), not a separate lookup.
        let mut first = None;
        if p <= 1 {
            let batch = read(&mut reader, DirectoryCursor::Start)?;
            let up = match batch.iter().find(|e| e.name == b"..") {
                Some(e) => e.inode.as_u64(),
                None => self.fs.core().lookup_child(num, FileName::new(b"..").map_err(|_| e::EINVAL)?).map_err(errno)?.map_or(self.ino as u64, |i| i.number.as_u64()),
            };
            if p == 0 {
                if !sink(&DirEntry { name: b".", ino: self.ino as u64, kind: FileType::Dir, next: 1 }) {
                    return Ok(());
                }
            }
            if !sink(&DirEntry { name: b"..", ino: up, kind: FileType::Dir, next: 2 }) {
                return Ok(());
            }
            p = 2;
            first = Some(batch);
        }
        loop {
            if cur == DirectoryCursor::End {
                d.dir_pos = Some((at, DirectoryCursor::End, None, stamp));
                return Ok(());
            }
            let batch = match first.take() {
                Some(b) => b,
                None => read(&mut reader, cur)?,
            };
            if batch.is_empty() {
                d.dir_pos = Some((at, DirectoryCursor::End, None, stamp));
                return Ok(());
            }
            // (The sink copies to user memory: never with the core held.)
            for en in &batch {
                let before = cur;
                cur = en.next_cursor;
                if en.name == b"." || en.name == b".." {
                    continue;
                }
                if at >= p {
                    let de = DirEntry { name: &en.name, ino: en.inode.as_u64(), kind: entry_kind(en.file_type), next: at + 1 };
                    if !sink(&de) {
                        d.dir_pos = Some((at, before, reader, stamp));
                        return Ok(());
                    }
                }
                at += 1;
            }
        }
    }
    fn read_at(&self, off: u64, len: usize, sink: &mut dyn FnMut(&[u8]) -> VResult<()>) -> VResult<usize> {
        match self.kind {
            FileType::Regular => {}
            FileType::Dir => return Err(e::EISDIR),
            _ => return Err(e::EINVAL),
        }
        let mut d = self.data.lock();
        let size = self.size();
        if off >= size || len == 0 {
            return Ok(0);
        }
        let end = off.saturating_add(len as u64).min(size);
        let mut pos = off;
        while pos < end {
            let i = pos / PAGE as u64;
            if !d.pages.contains_key(&i) {
                // The read-ahead window if it holds `i` (a sequential reader got there), else
                // a window read now at the file's head, where the last read ended or after a
                // cached page (another reader's, going on sequentially: `seq_next` is the
                // file's, not the reader's); a reader that goes on from where the last window
                // ended, or from a cached page, has the next one read meanwhile. A miss
                // anywhere else (a random reader) reads just the pages it asks for, as Linux
                // does: a window there would read pages nobody wants.
                let after_cached = i > 0 && d.pages.contains_key(&(i - 1));
                let (mut window, mut sequential) = match self.settle_ahead(&mut d, i) {
                    Some(end) => (end, true),
                    // (Below the end of a window the disk failed: a page at a time.)
                    None if i < d.bad_until => (i + 1, false),
                    None if i == d.seq_next || after_cached => (i + READ_AHEAD, true),
                    None if i == 0 => (i + READ_AHEAD, false),
                    None => (end.div_ceil(PAGE as u64).min(i + READ_AHEAD), false),
                };
                if !d.pages.contains_key(&i) {
                    let mut r = self.fill(&mut d, i, window);
                    // (A disk error somewhere in a window fails only its bad pages: the page
                    // asked for is read alone, and so are the others up to the window's end
                    // when they are wanted, as Linux's read falls back from a failed
                    // read-ahead to single pages. A read that meets the bad page itself
                    // returns what it has read before it, or EIO.)
                    if r.is_err() && window > i + 1 {
                        d.bad_until = d.bad_until.max(window);
                        (window, sequential) = (i + 1, false);
                        r = self.fill(&mut d, i, window);
                    }
                    if let Err(err) = r {
                        if pos == off {
                            return Err(err);
                        }
                        break;
                    }
                }
                d.seq_next = window;
                if sequential {
                    self.start_ahead(&mut d, window);
                }
            }
            // The run of cached pages from `i` on, in one walk of the map (a look-up per
            // page cost more than the copy's loop control).
            let mut next = i;
            let mut failed = None;
            for (k, page) in d.pages.range(i..) {
                if k != next || pos >= end {
                    break;
                }
                let po = (pos % PAGE as u64) as usize;
                let n = (PAGE - po).min((end - pos) as usize);
                if let Err(err) = sink(&page[po..po + n]) {
                    failed = Some(err);
                    break;
                }
                pos += n as u64;
                next += 1;
            }
            if next == i && failed.is_none() {
                failed = Some(e::EIO); // filled, yet not cached: never loop on it
            }
            if let Some(err) = failed {
                if pos == off {
                    return Err(err);
                }
                break;
            }
        }
        Ok((pos - off) as usize)
    }
    fn write_at(&self, off: u64, len: usize, append: bool, src: &mut dyn FnMut(&mut [u8]) -> VResult<()>) -> VResult<(usize, u64)> {
        match self.kind {
            FileType::Regular => {}
            FileType::Dir => return Err(e::EISDIR),
            _ => return Err(e::EINVAL),
        }
        self.fs.check_writable()?;
        let mut d = self.data.lock();
        self.drop_ahead(&mut d);
        let start = if append { self.size() } else { off };
        if len == 0 {
            return Ok((0, start));
        }
        let end = start.checked_add(len as u64).ok_or(e::EFBIG)?;
        if start >= MAX_FILE {
            return Err(e::EFBIG);
        }
        let end = end.min(MAX_FILE);
        if let Delay::Yes(reserved) = self.delay(&d, start, end) {
            return self.write_delayed(&mut d, start, end, reserved, src);
        }
        // Through at once: the dirty pages go first, this file's (the cache below treats its
        // pages as clean) and the others' that are not busy (they counted on the free blocks
        // this write may take).
        if self.fs.dirty.load(Ordering::Relaxed) != 0 {
            self.write_back(&mut d);
            self.fs.write_back_idle();
        }
        let number = self.number()?;
        let mut pos = start;
        let mut err = None;
        // In batches: the bytes go into the cached pages first, then to the core in one call
        // per batch (its per-call work, block allocation and journalling, is the cost).
        while pos < end && err.is_none() {
            let bend = end.min(pos + WRITE_BATCH as u64);
            let mut at = pos;
            while at < bend {
                let i = at / PAGE as u64;
                let po = (at % PAGE as u64) as usize;
                let n = (PAGE - po).min((bend - at) as usize);
                if !d.pages.contains_key(&i) {
                    // A partial page of the file is read first; a whole one, or one past the
                    // end, starts as zeros.
                    let r = if (po != 0 || n != PAGE) && i * (PAGE as u64) < self.size() {
                        self.fill(&mut d, i, i + 1)
                    } else {
                        self.new_page(&mut d, pos / PAGE as u64, i + 1).map(|p| {
                            d.pages.insert(i, p);
                        })
                    };
                    if let Err(x) = r {
                        err = Some(x);
                        break;
                    }
                }
                let page = d.pages.get_mut(&i).ok_or(e::EIO)?;
                if let Err(x) = src(&mut page[po..po + n]) {
                    // The source may have filled part of the slice: the cache must not differ
                    // from the disk, so the page goes (it is read again when needed), unless
                    // it is dirty (a write-back that failed: the page is the only copy).
                    if !d.dirty.contains(&i) {
                        d.pages.remove(&i);
                        self.fs.cached.fetch_sub(1, Ordering::Relaxed);
                    }
                    err = Some(x);
                    break;
                }
                at += n as u64;
            }
            if at == pos {
                break;
            }
            // pos..at is in the cache: hand it to the core.
            let w = {
                let mut b = self.fs.bounce.lock();
                let mut k = pos;
                while k < at {
                    let i = k / PAGE as u64;
                    let po = (k % PAGE as u64) as usize;
                    let n = (PAGE - po).min((at - k) as usize);
                    let o = (k - pos) as usize;
                    b[o..o + n].copy_from_slice(&d.pages[&i][po..po + n]);
                    k += n as u64;
                }
                self.fs.core().write_inode(number, pos, &b[..(at - pos) as usize])
            };
            if let Err(x) = w {
                // What the core took of the batch is unknown: its pages go (read again from
                // the disk when needed).
                // (Dirty ones stay: the only copy of data a write-back failed to write.)
                let gone: Vec<u64> = d.pages.range(pos / PAGE as u64..at.div_ceil(PAGE as u64)).map(|(i, _)| i).filter(|i| !d.dirty.contains(i)).collect();
                for i in gone {
                    d.pages.remove(&i);
                    self.fs.cached.fetch_sub(1, Ordering::Relaxed);
                }
                err = Some(errno(x));
                break;
            }
            pos = at;
            let mut a = self.attr.lock();
            a.size = a.size.max(pos);
        }
        let _ = self.fs.refresh(&mut self.fs.core(), self.ino);
        if pos == start {
            return Err(err.unwrap_or(e::EIO));
        }
        Ok(((pos - start) as usize, pos))
    }
    fn truncate(&self, size: u64) -> VResult<()> {
        match self.kind {
            FileType::Regular => {}
            FileType::Dir => return Err(e::EISDIR),
            _ => return Err(e::EINVAL),
        }
        if size > MAX_FILE {
            return Err(e::EFBIG);
        }
        self.fs.check_writable()?;
        let mut d = self.data.lock();
        self.drop_ahead(&mut d);
        // Delayed writes first (their error stays for fsync), so that the core's size and
        // the cache agree when it cuts; to size 0 (O_TRUNC) they are only dropped.
        if size == 0 {
            let cut = core::mem::take(&mut d.dirty);
            self.fs.dirty.fetch_sub(cut.len(), Ordering::Relaxed);
            self.delayed.store(false, Ordering::Release);
        }
        self.write_back(&mut d);
        if d.shared {
            self.writeback(&mut d)?;
        }
        let mut c = self.fs.core();
        c.truncate_inode(self.number()?, size).map_err(errno)?;
        if let Ok(info) = c.inode(self.number()?) {
            *self.attr.lock() = self.fs.stat_of(&info);
        }
        drop(c);
        self.drop_pages_from(&mut d, size);
        Ok(())
    }
    fn allocate(&self, off: u64, len: u64, keep_size: bool) -> VResult<()> {
        if self.kind != FileType::Regular {
            return Err(if self.kind == FileType::Dir { e::EISDIR } else { e::ENODEV });
        }
        if off.checked_add(len).is_none_or(|end| end > MAX_FILE) {
            return Err(e::EFBIG);
        }
        self.fs.check_writable()?;
        let mut d = self.data.lock();
        self.drop_ahead(&mut d);
        self.write_back(&mut d);
        // (The other files' delayed writes counted on the free blocks this may take.)
        if self.fs.dirty.load(Ordering::Relaxed) != 0 {
            self.fs.write_back_idle();
        }
        let mut c = self.fs.core();
        let opts = if keep_size { PreallocationOptions::KEEP_SIZE } else { PreallocationOptions::EXTEND_SIZE };
        c.preallocate_inode(self.number()?, off, len, opts).map_err(errno)?;
        if let Ok(info) = c.inode(self.number()?) {
            *self.attr.lock() = self.fs.stat_of(&info);
        }
        Ok(())
    }
    fn seek_data(&self, off: u64, hole: bool) -> VResult<u64> {
        if self.kind != FileType::Regular {
            return Err(e::ENXIO);
        }
        {
            // (The extent map knows only what was written back.)
            let mut d = self.data.lock();
            self.write_back(&mut d);
        }
        let size = self.size();
        if off >= size {
            return Err(e::ENXIO);
        }
        // Written extents are data; holes and unwritten (preallocated) extents read as zeros
        // and count as holes, as on Linux.
        let mut pos = off;
        let mut at = off;
        loop {
            let map = self.fs.core().inode_extents(self.number()?, at, size - at, FileExtentTarget::Data, 128).map_err(errno)?;
            for x in map.extents.iter().filter(|x| x.state != FileExtentState::Unwritten) {
                let (start, end) = (x.logical_start, x.logical_start.saturating_add(x.length));
                if end <= pos {
                    continue;
                }
                if !hole {
                    return if start.max(pos) < size { Ok(start.max(pos)) } else { Err(e::ENXIO) };
                }
                if start > pos {
                    return Ok(pos); // a hole before this extent
                }
                pos = end;
                if pos >= size {
                    return Ok(size);
                }
            }
            match map.extents.last() {
                Some(l) if !map.complete && l.logical_start.saturating_add(l.length) > at => at = l.logical_start + l.length,
                _ => break,
            }
        }
        if hole { Ok(pos.min(size)) } else { Err(e::ENXIO) }
    }
    fn readlink(&self) -> VResult<Vec<u8>> {
        if self.kind != FileType::Symlink {
            return Err(e::EINVAL);
        }
        let size = self.size() as usize;
        if size >= PAGE {
            return Err(e::EUCLEAN); // (a symbolic link is shorter than a page: the disk is damaged)
        }
        let mut buf = Vec::new();
        buf.try_reserve_exact(size).map_err(|_| e::ENOMEM)?;
        buf.resize(size, 0);
        let n = self.fs.core().read_inode(self.number()?, 0, &mut buf).map_err(errno)?;
        buf.truncate(n);
        Ok(buf)
    }
    fn write_count(&self) -> Option<&core::sync::atomic::AtomicIsize> {
        (self.kind == FileType::Regular).then_some(&self.writers)
    }
    fn sync(&self) -> VResult<()> {
        let mut first = Ok(());
        if self.kind == FileType::Regular {
            let mut d = self.data.lock();
            // (A write-back error since the last fsync is this fsync's answer, as on Linux.)
            first = self.flush(&mut d);
            if d.shared {
                // (Later stores through the mapping go at the next sync.)
                self.writeback(&mut d)?;
            }
        }
        if self.fs.ro() {
            return first;
        }
        let r = self.fs.core().sync().map_err(errno);
        first.and(r)
    }
    fn map_pages(&self, first: u64, count: u64, mode: MapMode, nowait: bool, f: &mut dyn FnMut(u64, PageView) -> bool) -> VResult<()> {
        if self.kind != FileType::Regular {
            return Err(e::ENODEV);
        }
        let mut d = if nowait { self.data.try_lock().ok_or(e::EAGAIN)? } else { self.data.lock() };
        self.drop_ahead(&mut d);
        if mode != MapMode::Look && !self.fs.ro() {
            d.shared = true;
            self.watch(&mut d);
        }
        let size = self.size();
        let last = size.div_ceil(PAGE as u64);
        let end = first.saturating_add(count);
        let mut i = first;
        while i < end {
            if i >= last {
                f(i, PageView::Eof);
                return Ok(());
            }
            if !d.pages.contains_key(&i) {
                // (Read-ahead for faults too: a program's text is read in runs.)
                self.fill(&mut d, i, end.min(i + READ_AHEAD))?;
            }
            if end - i == 1 {
                // One page (a fault): one lookup.
                let page = d.pages.get(&i).ok_or(e::EIO)?;
                f(i, PageView::Page(page));
                return Ok(());
            }
            // The run of cached pages from `i`, in one walk of the page map (an mmap of a
            // cached library looks at every page: one lookup each cost ~400 instructions).
            let mut next = i;
            for (k, page) in d.pages.range(i..end.min(last)) {
                if k != next {
                    break; // a gap: filled on the next round
                }
                if !f(k, PageView::Page(page)) {
                    return Ok(());
                }
                next += 1;
            }
            if next == i {
                return Err(e::EIO); // (`fill` left the page out)
            }
            i = next;
        }
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
