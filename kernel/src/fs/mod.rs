//! Files: open file descriptions, the descriptor table, pipes, epoll and eventfd, and the
//! file tree (the VFS over tmpfs, devtmpfs, procfs; see `vfs`).

pub mod devfs;
pub mod epoll;
pub mod eventfd;
pub mod ext4;
pub mod locks;
pub mod pipe;
pub mod proc;
pub mod vfs;
pub mod writecount;

use crate::boot::BootInfo;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use pipe::Pipe;
use velox_hal as hal;
use velox_vfs::Loc;

/// What an open file is. (`repr(u8)`: a tag byte of its own, so a match on the kind is a
/// jump on that byte; with the compiler's choice the tag hid in a niche of the inline
/// `EventFd` and every match decoded it.)
#[repr(u8)]
pub enum FileKind {
    /// The serial console (stdin/stdout/stderr, /dev/console, /dev/tty).
    Console,
    /// /dev/null.
    Null,
    /// /dev/zero.
    Zero,
    /// /dev/full.
    Full,
    /// /dev/random and /dev/urandom.
    Random,
    /// A file of the tree (regular file, directory, or an O_PATH location).
    Node(Node),
    PipeRead(Arc<Pipe>),
    /// A FIFO opened O_RDWR: both ends in one description.
    PipeBoth(Arc<Pipe>),
    PipeWrite(Arc<Pipe>),
    /// A socket (`net::unix`).
    Socket(Arc<crate::net::unix::UnixSocket>),
    /// An epoll instance (epoll_create1).
    Epoll(Arc<epoll::Epoll>),
    /// An eventfd counter (eventfd2).
    EventFd(eventfd::EventFd),
}

impl Node {
    /// Its path now, as /proc/<pid>/fd shows it: directories by their place in the tree,
    /// other files by the path they were opened by, followed to a new name in the same
    /// directory after a rename, with " (deleted)" once unlinked.
    pub fn describe(&self) -> Vec<u8> {
        use velox_vfs::FileType;
        if self.loc.inode.kind() == FileType::Dir {
            if let Ok(p) = vfs::path_of(&vfs::FsCtx::initial(), &self.loc) {
                return p;
            }
        }
        let mut path = self.opened_by();
        if self.loc.inode.kind() != FileType::Dir && self.loc.inode.stat().nlink == 0 {
            path.extend_from_slice(b" (deleted)");
            return path;
        }
        let (dir, name, _) = velox_vfs::path::split_last(&path);
        let id = self.loc.inode.id();
        if let Ok(d) = vfs::lookup_root(if dir.is_empty() { b"/" } else { dir }) {
            if d.inode.lookup(name).is_ok_and(|i| i.id() == id) {
                return path;
            }
            if let Ok(now) = velox_vfs::path::find_name(&d.inode, id.1) {
                let mut p = dir.to_vec();
                if p.last() != Some(&b'/') {
                    p.push(b'/');
                }
                p.extend_from_slice(&now);
                return p;
            }
        }
        path
    }

    /// The path it was opened by, cleaned up ("//", "." and ".." resolved by name): open
    /// keeps an absolute path as the caller gave it.
    fn opened_by(&self) -> Vec<u8> {
        if self.path.first() == Some(&b'/') { velox_vfs::normalize(b"/", &self.path) } else { self.path.clone() }
    }
}

/// An open file of the tree: where it is and the path it was opened by (/proc/self/fd).
pub struct Node {
    pub loc: Loc,
    /// As opened: an absolute path may still hold "//", "." or ".." ([`Node::describe`]
    /// resolves them); a relative one was made absolute.
    pub path: Vec<u8>,
    /// Opened with O_PATH: a location only (no reading, writing or listing).
    pub path_only: bool,
}

/// An open file description: shared by dup'ed and inherited descriptors.
pub struct OpenFile {
    pub kind: FileKind,
    /// Status flags (O_ACCMODE | O_NONBLOCK | O_APPEND ...), as F_GETFL reports them.
    pub flags: AtomicU32,
    /// File position (regular files).
    pub pos: AtomicUsize,
    /// Inode number reported by fstat (pipes get one each).
    pub ino: usize,
    /// A regular file opened for writing: its count of writers (ETXTBSY, `writecount`).
    _write: Option<writecount::WriteAccess>,
}

/// A reference to an open file description.
pub type FileRef = Arc<OpenFile>;

static NEXT_INO: AtomicUsize = AtomicUsize::new(1000);

impl OpenFile {
    /// A new open file description with status `flags`.
    pub fn new(kind: FileKind, flags: u32) -> FileRef {
        Self::new_writer(kind, flags, None)
    }
    /// As [`new`](Self::new), holding `write` (the file's count of writers) while it lives.
    pub fn new_writer(kind: FileKind, flags: u32, write: Option<writecount::WriteAccess>) -> FileRef {
        Arc::new(OpenFile { kind, flags: AtomicU32::new(flags), pos: AtomicUsize::new(0), ino: NEXT_INO.fetch_add(1, Ordering::Relaxed), _write: write })
    }
    /// True if reads and writes must not block.
    #[inline(always)]
    pub fn nonblocking(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & g::O_NONBLOCK != 0
    }
    /// True if opened for reading.
    pub fn readable(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & g::O_ACCMODE != g::O_WRONLY
    }
    /// True if opened for writing.
    pub fn writable(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & g::O_ACCMODE != g::O_RDONLY
    }
    /// What /proc/<pid>/fd/N shows for it.
    pub fn describe(&self) -> Vec<u8> {
        match &self.kind {
            FileKind::Node(n) => n.describe(),
            FileKind::PipeRead(_) | FileKind::PipeWrite(_) | FileKind::PipeBoth(_) => alloc::format!("pipe:[{}]", self.ino).into_bytes(),
            FileKind::Console => b"/dev/console".to_vec(),
            FileKind::Null => b"/dev/null".to_vec(),
            FileKind::Zero => b"/dev/zero".to_vec(),
            FileKind::Full => b"/dev/full".to_vec(),
            FileKind::Random => b"/dev/urandom".to_vec(),
            FileKind::Socket(_) => alloc::format!("socket:[{}]", self.ino).into_bytes(),
            FileKind::Epoll(_) => b"anon_inode:[eventpoll]".to_vec(),
            FileKind::EventFd(_) => b"anon_inode:[eventfd]".to_vec(),
        }
    }
    /// Its place in the tree, if it has one.
    pub fn location(&self) -> Option<Loc> {
        match &self.kind {
            FileKind::Node(n) => Some(n.loc.clone()),
            _ => None,
        }
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        match &self.kind {
            // flock and OFD locks belong to the description: they go with it.
            FileKind::Node(n) if locks::in_use() => locks::release(n.loc.inode.id(), self as *const OpenFile as usize as u64),
            FileKind::PipeRead(p) => p.close_read(),
            FileKind::PipeBoth(p) => {
                p.close_read();
                p.close_write();
            }
            FileKind::PipeWrite(p) => p.close_write(),
            FileKind::Socket(s) => s.release(),
            _ => {}
        }
    }
}

/// One descriptor: the open file and its close-on-exec flag.
#[derive(Clone)]
pub struct Fd {
    pub file: FileRef,
    pub cloexec: bool,
}

/// A process's descriptor table.
#[derive(Default, Clone)]
pub struct FdTable {
    fds: Vec<Option<Fd>>,
}

impl FdTable {
    /// stdin, stdout and stderr on the console (one open file description, as a tty gives).
    pub fn with_console() -> Self {
        let c = OpenFile::new(FileKind::Console, g::O_RDWR);
        let fd = Some(Fd { file: c, cloexec: false });
        FdTable { fds: alloc::vec![fd.clone(), fd.clone(), fd] }
    }
    /// The file at `fd`.
    #[inline]
    pub fn get(&self, fd: usize) -> Option<&FileRef> {
        self.fds.get(fd)?.as_ref().map(|f| &f.file)
    }
    /// The descriptor entry at `fd`.
    pub fn entry_mut(&mut self, fd: usize) -> Option<&mut Fd> {
        self.fds.get_mut(fd)?.as_mut()
    }
    /// Install `file` at the lowest free descriptor `>= min` below `limit`; EMFILE if none.
    pub fn insert(&mut self, file: FileRef, cloexec: bool, min: usize, limit: usize) -> Result<usize, u32> {
        self.insert_with(|| file, cloexec, min, limit)
    }
    /// As [`insert`](Self::insert), making the file only once a slot is sure (accept: a
    /// connection must not be consumed by a call that fails for want of a descriptor).
    pub fn insert_with(&mut self, file: impl FnOnce() -> FileRef, cloexec: bool, min: usize, limit: usize) -> Result<usize, u32> {
        let mut i = min;
        while i < self.fds.len() && self.fds[i].is_some() {
            i += 1;
        }
        if i >= limit {
            return Err(errno::EMFILE);
        }
        // (The slot after the last, with room left by a close: no allocation, nothing to check.)
        if i == self.fds.len() && i < self.fds.capacity() {
            self.fds.push(Some(Fd { file: file(), cloexec }));
            return Ok(i);
        }
        self.grow(i + 1)?;
        self.fds[i] = Some(Fd { file: file(), cloexec });
        Ok(i)
    }
    /// Make room for `n` slots; ENOMEM if the kernel heap cannot (it stays above its reserve).
    fn grow(&mut self, n: usize) -> Result<(), u32> {
        if n > self.fds.len() {
            let more = n - self.fds.len();
            // (Room left by a close: no allocation, nothing to check. Open-close loops.)
            if n > self.fds.capacity() {
                if crate::mm::heap_free() < crate::config::HEAP_RESERVE + more * size_of::<Option<Fd>>() {
                    return Err(errno::ENOMEM);
                }
                self.fds.try_reserve(more).map_err(|_| errno::ENOMEM)?;
            }
            self.fds.resize(n, None);
        }
        Ok(())
    }
    /// Put `file` at exactly `fd` (dup2/dup3), returning what was there (to be dropped by the
    /// caller outside the table lock); ENOMEM if the table cannot grow.
    pub fn put(&mut self, fd: usize, file: FileRef, cloexec: bool) -> Result<Option<Fd>, u32> {
        self.grow(fd + 1)?;
        Ok(self.fds[fd].replace(Fd { file, cloexec }))
    }
    /// A copy of the table (fork); ENOMEM if the kernel heap cannot hold it.
    pub fn try_clone(&self) -> Result<FdTable, u32> {
        if crate::mm::heap_free() < crate::config::HEAP_RESERVE + self.fds.len() * size_of::<Option<Fd>>() {
            return Err(errno::ENOMEM);
        }
        let mut fds = Vec::new();
        fds.try_reserve_exact(self.fds.len()).map_err(|_| errno::ENOMEM)?;
        fds.extend(self.fds.iter().cloned());
        Ok(FdTable { fds })
    }
    /// Take `fd` out of the table (close); `None` if it was not open.
    pub fn take(&mut self, fd: usize) -> Option<Fd> {
        let f = self.fds.get_mut(fd)?.take();
        while matches!(self.fds.last(), Some(None)) {
            self.fds.pop();
        }
        f
    }
    /// Remove the close-on-exec descriptors (execve); returns them for dropping.
    pub fn take_cloexec(&mut self) -> Vec<Fd> {
        let mut out = Vec::new();
        for slot in self.fds.iter_mut() {
            if slot.as_ref().is_some_and(|f| f.cloexec) {
                out.extend(slot.take());
            }
        }
        out
    }
    /// Take the open descriptors `first..=last` out of the table (close_range); returns them
    /// for dropping outside the table's lock.
    pub fn take_range(&mut self, first: usize, last: usize) -> Vec<Fd> {
        let mut out = Vec::new();
        let end = last.saturating_add(1).min(self.fds.len());
        for slot in self.fds.get_mut(first..end).into_iter().flatten() {
            if let Some(f) = slot.take() {
                // (Out of heap for the list: dropped here, under the lock, rather than leaked.)
                if out.try_reserve(1).is_ok() {
                    out.push(f);
                }
            }
        }
        while matches!(self.fds.last(), Some(None)) {
            self.fds.pop();
        }
        out
    }
    /// Set close-on-exec on the open descriptors `first..=last` (CLOSE_RANGE_CLOEXEC).
    pub fn set_cloexec_range(&mut self, first: usize, last: usize) {
        let end = last.saturating_add(1).min(self.fds.len());
        for f in self.fds.get_mut(first..end).into_iter().flatten().flatten() {
            f.cloexec = true;
        }
    }
    /// Number of slots (one past the highest open descriptor).
    pub fn len(&self) -> usize {
        self.fds.len()
    }
}

/// The text of /proc/meminfo (the fields Linux has that Velox can fill).
pub fn meminfo() -> Vec<u8> {
    use core::fmt::Write;
    let (free, total) = crate::mm::frame_stats();
    let heap_free = crate::mm::heap_free() / 1024;
    // Each hart's one kernel stack and its emergency stack: the same however many threads run.
    let kstack = crate::config::KERNEL_STACKS_BYTES * crate::smp::online() / 1024;
    let mut s = alloc::string::String::new();
    let kb = |f: usize| f * 4;
    let _ = write!(
        s,
        "MemTotal:       {:>8} kB\nMemFree:        {:>8} kB\nMemAvailable:   {:>8} kB\nBuffers:               0 kB\nCached:                0 kB\n\
         Slab:           {:>8} kB\nKernelStack:    {:>8} kB\nPageTables:     {:>8} kB\nVeloxHeapFree:  {:>8} kB\n",
        kb(total) + crate::mm::heap_size() / 1024,
        kb(free),
        kb(free) + heap_free,
        crate::mm::heap_used() / 1024,
        kstack,
        kb(crate::mm::PT_FRAMES.load(Ordering::Relaxed)),
        heap_free,
    );
    s.into_bytes()
}

/// The text of /proc/cpuinfo: one paragraph per online hart, in the fields Linux prints
/// on RISC-V.
pub fn cpuinfo() -> Vec<u8> {
    use core::fmt::Write;
    let mut s = alloc::string::String::new();
    for i in 0..crate::smp::online() {
        let id = crate::smp::HARTS[i].hartid.load(Ordering::Relaxed);
        let _ = write!(s, "processor\t: {i}\nhart\t\t: {id}\nisa\t\t: rv64imafdc\nmmu\t\t: sv39\nuarch\t\t: qemu,virt\n\n");
    }
    s.into_bytes()
}

/// /sys/devices/system/cpu/online: the online hart indices as a range list ("0-3").
pub fn cpus_online() -> Vec<u8> {
    match crate::smp::online() {
        1 => b"0\n".to_vec(),
        n => alloc::format!("0-{}\n", n - 1).into_bytes(),
    }
}

/// Set up the file tree from the boot loader's RAM disk.
pub fn init(info: &BootInfo) {
    let data = info.initrd.map(|(s, e)| hal::mem::phys_slice(s, e - s));
    // root=/dev/vdX puts the root on that disk's ext4 (`ro` read-only), as Linux's command line.
    let args = || info.bootargs.split_whitespace();
    let root_disk = args().find_map(|a| a.strip_prefix("root=")).and_then(|r| ext4::disk_named(r.as_bytes())).map(|i| (i, args().any(|a| a == "ro")));
    vfs::init(data, root_disk);
}
