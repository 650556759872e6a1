//! File mappings (mmap of a file descriptor): the record an address space keeps for each
//! mapping, and how a page fault finds the page of the file.
//!
//! Pages come lazily, at fault time (a dynamic loader maps whole libraries and touches
//! little of them):
//! - MAP_PRIVATE: a page of the file's own memory is mapped read-only copy-on-write (a store
//!   copies it; until then the mapping sees write()s to the file, as on Linux); a RAM-disk
//!   page (still in the initrd, see tmpfs `static_bytes`) is copied into a private frame; a
//!   hole is a private zeroed frame.
//! - MAP_SHARED: the file is materialized at mmap time (RAM-disk bytes copied into tmpfs
//!   pages); a fault maps the file's own frame (a hole inside the file gets its page then),
//!   so stores through the mapping are what read() sees and the other way round.
//! - A page at or past the end of the file is SIGBUS; the part of the last page past the end
//!   reads as zeros (tmpfs keeps it zero).
//!
//! Every mapped page holds a reference to its frame (the frame allocator counts them), so
//! munmap, exit and fork treat file pages like any other page, and a frame the file lets go
//! of (truncate, unlink) stays alive as long as a mapping maps it.
//!
//! # Lock order
//!
//! tmpfs calls the user-copy callbacks of read()/write() with the inode's data lock held, and
//! a user copy may fault, which takes the address-space lock: inode lock, then address-space
//! lock. A fault on a file mapping holds the address-space lock and needs the file's pages,
//! so it only *tries* the inode lock (`map_pages(.., nowait)`), never waits for it:
//! - when the lock is held, the fault uses the mapping's *snapshot*: the references to the
//!   file's frames (or the RAM-disk bytes) taken at mmap time, under the inode lock but
//!   before the address-space lock. This is what lets read(fd, buf) complete when `buf` is a
//!   not yet touched mapping of the same file (the copy faults while read() itself holds the
//!   file's lock);
//! - a page the snapshot does not have (a hole, or past the end at mmap time) answers
//!   `Fault::Busy`: a user fault returns to user mode and faults again (the holder, on another
//!   hart, lets go soon); a fault in a kernel copy retries a few times with the address-space
//!   lock released and then fails the copy (EFAULT). Waiting longer could deadlock: the
//!   copying thread may itself hold the lock (read() of a file into a hole of its own shared
//!   mapping), or hold another file's lock that the holder waits for.
//!
//! mmap itself takes the inode lock (snapshot, materialize) before the address-space lock and
//! with no user copy in progress.
//!
//! # Truncation
//!
//! Pages mapped before a truncate stay mapped (their frames alive through the mapping's
//! references): a store there no longer reaches the file. Linux unmaps them and raises
//! SIGBUS on the next access; here only faults after the truncate see the new size (SIGBUS
//! past it), as long as the inode lock can be taken (else the snapshot answers).

use super::{alloc_frame_zeroed, free_frame, share_frame};
use crate::fs::FileRef;
use alloc::sync::Arc;
use alloc::vec::Vec;
use linux_raw_sys::errno;
use velox_hal as hal;
use velox_mm::PAGE_SIZE;
use velox_vfs::{InodeRef, MapMode, PageView};

/// What a mapping saw of its file at mmap time (see the module's lock order).
enum Snapshot {
    /// The RAM-disk bytes of the whole file (a private mapping of a file not yet written).
    Static(&'static [u8]),
    /// A reference to the frame of each page from the mapping's first, up to the end of the
    /// file; 0 for a hole.
    Frames(Vec<usize>),
}

/// One file mapping: the open file, where it sits, and its snapshot.
pub struct FileMap {
    /// The open file (/proc/<pid>/maps shows its path; it keeps the file alive).
    #[allow(dead_code)] // (read by fs/proc.rs, through `AddrSpace::file_of`)
    pub file: FileRef,
    inode: InodeRef,
    /// Address of the mapping's first page (set when the area is added).
    pub(super) start: usize,
    /// The file page at `start`.
    first: u64,
    /// MAP_SHARED.
    pub shared: bool,
    /// A shared mapping may become writable (the file is open for writing): mprotect's EACCES.
    pub may_write: bool,
    /// The snapshot, shared with the records of pieces mremap moved elsewhere.
    snap: Arc<Snapshot>,
    /// The file page the snapshot's first frame is (the `first` of the mmap that took it).
    snap_first: u64,
}

/// The page a fault gets from the file.
pub enum Got {
    /// A new reference to one of the file's frames.
    Frame(usize),
    /// A private frame of the mapping's own, filled.
    Own(usize),
    /// Past the end of the file (or a shared page that cannot be had): SIGBUS.
    Bus,
    /// The inode is locked and the snapshot does not have the page: try again.
    Busy,
    /// No frame.
    NoMemory,
}

/// A reference to the frame behind a tmpfs page (`None` if it is not a pool data frame, or
/// its count is full).
fn frame_ref(p: &[u8; PAGE_SIZE]) -> Option<usize> {
    let pa = hal::mem::virt_to_phys(p.as_ptr() as usize);
    (pa % PAGE_SIZE == 0 && hal::mem::is_data_frame(pa, PAGE_SIZE) && share_frame(pa)).then_some(pa)
}

/// A private frame holding `b` (the rest zero).
fn copy_of(b: &[u8]) -> Got {
    match alloc_frame_zeroed() {
        Some(pa) => {
            hal::mem::write_phys(pa, &b[..b.len().min(PAGE_SIZE)]);
            Got::Own(pa)
        }
        None => Got::NoMemory,
    }
}

impl FileMap {
    /// The record of a new mapping of `len` bytes of `file` (a regular file of the tree) from
    /// byte `off` (page aligned), with its snapshot. Called without the address-space lock;
    /// `nowait` only tries the inode lock (the trap fast path): EAGAIN if it is held.
    pub fn new(file: FileRef, inode: InodeRef, off: u64, len: usize, shared: bool, may_write: bool, nowait: bool) -> Result<FileMap, u32> {
        let first = off / PAGE_SIZE as u64;
        let pages = (len / PAGE_SIZE) as u64;
        if !shared {
            if let Some(base) = inode.static_bytes() {
                let snap = Arc::new(Snapshot::Static(base));
                return Ok(FileMap { file, inode, start: 0, first, shared, may_write, snap, snap_first: first });
            }
        }
        let mut frames = Vec::new();
        let mut err = None;
        let mode = if shared { MapMode::Materialize } else { MapMode::Look };
        let r = inode.map_pages(first, pages, mode, nowait, &mut |_, v| {
            let pa = match v {
                PageView::Page(p) => match frame_ref(p) {
                    Some(pa) => pa,
                    None => {
                        err = Some(errno::ENOMEM);
                        return false;
                    }
                },
                // (A RAM-disk file written since `static_bytes` looked: its pages come at fault time.)
                PageView::Hole | PageView::Static(_) => 0,
                PageView::Eof => return false,
            };
            // (The length check first: the common case costs no call, however the compiler
            // inlines `try_reserve`.)
            if frames.len() == frames.capacity() && frames.try_reserve(1).is_err() {
                if pa != 0 {
                    free_frame(pa);
                }
                err = Some(errno::ENOMEM);
                return false;
            }
            frames.push(pa);
            true
        });
        // (Dropped on failure: the references taken so far go back.)
        let snap = Snapshot::Frames(frames);
        match (r, err) {
            (Err(e), _) | (Ok(()), Some(e)) => Err(if e == errno::ENOSPC { errno::ENOMEM } else { e }),
            _ => {
                let snap = Arc::new(snap);
                Ok(FileMap { file, inode, start: 0, first, shared, may_write, snap, snap_first: first })
            }
        }
    }

    /// The record of the piece of this mapping that starts at address `va`, moved elsewhere
    /// by mremap: same file, the file offset `va` had, the same snapshot (its `start` is set
    /// when its area is added).
    pub fn moved(&self, va: usize) -> FileMap {
        let first = self.offset_of(va) / PAGE_SIZE as u64;
        FileMap {
            file: self.file.clone(),
            inode: self.inode.clone(),
            start: 0,
            first,
            shared: self.shared,
            may_write: self.may_write,
            snap: self.snap.clone(),
            snap_first: self.snap_first,
        }
    }

    /// The file offset of address `va` of the mapping.
    #[allow(dead_code)] // (for fs/proc.rs, through `AddrSpace::file_of`)
    pub fn offset_of(&self, va: usize) -> u64 {
        (self.first + ((va - self.start) / PAGE_SIZE) as u64) * PAGE_SIZE as u64
    }

    /// The page for a fault at `va` (page aligned). Runs under the address-space lock: the
    /// inode lock is only tried (see the module's lock order).
    #[inline]
    pub fn page(&self, va: usize) -> Got {
        let i = (va - self.start) / PAGE_SIZE;
        let idx = self.first + i as u64;
        let mode = if self.shared { MapMode::Create } else { MapMode::Look };
        let mut got = Got::Bus;
        let mut bytes: Option<&'static [u8]> = None;
        let r = self.inode.map_pages(idx, 1, mode, true, &mut |_, v| {
            got = match v {
                PageView::Page(p) => frame_ref(p).map_or(Got::NoMemory, Got::Frame),
                // Copied after the lock is let go (the bytes live forever).
                PageView::Static(b) => {
                    bytes = Some(b);
                    Got::Busy
                }
                PageView::Hole if !self.shared => match alloc_frame_zeroed() {
                    Some(pa) => Got::Own(pa),
                    None => Got::NoMemory,
                },
                PageView::Hole | PageView::Eof => Got::Bus,
            };
            false
        });
        match r {
            Ok(()) => match bytes {
                Some(b) => copy_of(b),
                None => got,
            },
            Err(e) if e == errno::EAGAIN => self.from_snapshot(i),
            // No memory for the page cache (a disk file's page): the out-of-memory path, not
            // SIGBUS.
            Err(e) if e == errno::ENOMEM => Got::NoMemory,
            // A shared page that cannot be had (the file system is full): SIGBUS, as Linux.
            Err(_) => Got::Bus,
        }
    }

    /// Page `i` of the mapping as the snapshot has it.
    fn from_snapshot(&self, i: usize) -> Got {
        match &*self.snap {
            Snapshot::Static(base) => match (self.first as usize).checked_add(i).and_then(|p| p.checked_mul(PAGE_SIZE)).and_then(|at| base.get(at..)) {
                Some(b) if !b.is_empty() => copy_of(b),
                _ => Got::Bus,
            },
            Snapshot::Frames(f) => match (self.first + i as u64).checked_sub(self.snap_first).and_then(|k| f.get(k as usize)) {
                Some(&pa) if pa != 0 => {
                    if share_frame(pa) {
                        Got::Frame(pa)
                    } else {
                        Got::NoMemory
                    }
                }
                _ => Got::Busy,
            },
        }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Snapshot::Frames(f) = self {
            for &pa in f.iter().filter(|&&pa| pa != 0) {
                free_frame(pa);
            }
        }
    }
}
