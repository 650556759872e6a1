//! ext4 on virtio-blk disks: the block-device adapter the ext4 core reads and writes through,
//! mounting (the root at boot with `root=/dev/vdX`, others with mount(2)), and sync.

use super::vfs::{Pages, now};
use crate::dev::blk::Disk;
use alloc::sync::Arc;
use alloc::vec::Vec;
use hal::println;
use linux_raw_sys::errno;
use velox_exec::sync::Mutex;
use velox_ext4::{BlockCache, DeviceCapabilities, DeviceGeometry, Ext4Fs, Ext4Result, SectorId};
use velox_hal as hal;
use velox_vfs::{FileSystem, InodeRef, VResult, makedev};

/// Major device number of virtio disks (Linux's `virtblk` gets 254 on QEMU virt).
pub const VIRTBLK_MAJOR: u32 = 254;
/// Minor numbers per disk (partitions would use the ones between).
pub const MINORS_PER_DISK: u32 = 16;

/// CRC32C with Zbc's carry-less multiply (installed by [`use_clmul_crc`]).
fn crc32c_zbc(crc: u32, data: &[u8]) -> u32 {
    #[allow(unsafe_code)]
    // SAFETY: installed only when the device tree lists Zbc on every hart.
    unsafe {
        hal::crc::crc32c_clmul(crc, data)
    }
}

/// Make the ext4 core's metadata and journal checksums use Zbc when every hart has it
/// (`isa`: [`crate::boot::isa`] bits): a 4 KiB block bitmap costs ~3,000 instructions
/// instead of ~31,000, as Linux's crc32c uses Zbc too.
pub fn use_clmul_crc(isa: u64) {
    if isa & crate::boot::isa::ZBC != 0 {
        velox_ext4::set_crc32c_accelerator(crc32c_zbc);
    }
}

/// The page cache's asynchronous read-ahead on a disk ([`Disk::read_start`]).
struct Reader(Arc<Disk>);

impl velox_ext4::AsyncReader for Reader {
    #[allow(unsafe_code)]
    unsafe fn start(&self, pos: u64, buf: *mut u8, len: usize) -> Option<alloc::boxed::Box<dyn velox_ext4::ReadPending>> {
        let buf = core::ptr::NonNull::new(buf)?;
        if pos % 512 != 0 {
            return None;
        }
        // SAFETY: the caller's contract is `read_start`'s (its memory, untouched until the
        // read is waited for or dropped).
        let r = unsafe { self.0.read_start(pos / 512, buf, len) }.ok()?;
        Some(alloc::boxed::Box::new(Started(r)))
    }
}

/// A started read as the page cache sees it.
struct Started(crate::dev::blk::ReadStarted);

impl velox_ext4::ReadPending for Started {
    fn wait(self: alloc::boxed::Box<Self>) -> bool {
        self.0.wait()
    }
}

/// May the caller allocate the blocks ext4 reserves for root (CAP_SYS_RESOURCE: effective
/// uid 0)? Kernel work that runs for no thread (the periodic writeback) may.
fn may_use_root_reserve() -> bool {
    crate::task::current::with(|t| t.is_none_or(|t| t.process.cred.lock().privileged()))
}

/// A disk as the ext4 core sees it: synchronous sector reads and writes.
pub struct DiskIo(Arc<Disk>);

/// Every disk error is an I/O error to the ext4 core (EIO to the caller).
fn io_error(_e: u32) -> velox_ext4::Ext4Error {
    velox_ext4::Ext4Error::new(velox_ext4::Ext4ErrorKind::Io)
}

impl velox_ext4::BlockIo for DiskIo {
    fn write(&mut self, buf: &[u8], sector: SectorId, _count: u32) -> Ext4Result<()> {
        self.0.write_sync(sector.raw(), buf).map_err(io_error)
    }
    fn read(&mut self, buf: &mut [u8], sector: SectorId, _count: u32) -> Ext4Result<()> {
        self.0.read_sync(sector.raw(), buf).map_err(io_error)
    }
    fn geometry(&self) -> DeviceGeometry {
        DeviceGeometry::new(512, self.0.sectors())
    }
    fn capabilities(&self) -> DeviceCapabilities {
        DeviceCapabilities { read_only: self.0.read_only(), flush: true, ..DeviceCapabilities::default() }
    }
    fn flush(&mut self) -> Ext4Result<()> {
        self.0.flush_sync().map_err(io_error)
    }
}

/// The kernel's ext4 type: the core over a block cache over the disk.
pub type Ext4 = Ext4Fs<BlockCache<DiskIo>, Pages>;

/// Blocks of metadata the block cache keeps per mounted disk (16 MiB of kernel heap at most).
pub const BLOCK_CACHE_BLOCKS: usize = 4096;

/// Seconds between periodic writebacks (as Linux's ext4 commits its journal every 5 s).
pub const WRITEBACK_SECS: u64 = 5;
static WRITEBACK_STARTED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Start the periodic writeback (once, at the first ext4 mount): every [`WRITEBACK_SECS`] the
/// mounted file systems commit what they hold (journal, metadata caches, shared-mapping pages),
/// so a power cut loses at most the last few seconds of metadata changes.
fn start_writeback() {
    if WRITEBACK_STARTED.swap(true, core::sync::atomic::Ordering::Relaxed) {
        return;
    }
    crate::exec::spawn(async {
        loop {
            let at = crate::time::ticks() + crate::time::ns_to_ticks(WRITEBACK_SECS * 1_000_000_000);
            crate::time::sleep_until(at).await;
            if let Err(e) = sync_all() {
                log::warn!("ext4: periodic writeback: errno {e}");
            }
        }
    });
}

/// Held while a disk is mounted.
static MOUNTING: Mutex<()> = Mutex::new(());

/// Mounted ext4 file systems (for sync, the periodic writeback and the shrinker), by disk.
static MOUNTED: Mutex<Vec<(usize, Arc<Ext4>)>> = Mutex::new(Vec::new());

/// The device number of disk `i` (vda = 254:0, vdb = 254:16, ...).
pub fn disk_dev(i: usize) -> u64 {
    makedev(VIRTBLK_MAJOR, i as u32 * MINORS_PER_DISK)
}

/// Which disk a device number names (whole disks only).
pub fn disk_of(rdev: u64) -> Option<usize> {
    let (ma, mi) = velox_vfs::dev_split(rdev);
    (ma == VIRTBLK_MAJOR && mi % MINORS_PER_DISK == 0).then_some((mi / MINORS_PER_DISK) as usize)
}

/// Disk number of a name "vda", "/dev/vdb", ...
pub fn disk_named(name: &[u8]) -> Option<usize> {
    let n = name.strip_prefix(b"/dev/").unwrap_or(name);
    match n {
        [b'v', b'd', c] if c.is_ascii_lowercase() => Some((c - b'a') as usize),
        _ => None,
    }
}

/// Mount the ext4 file system on disk `i` (read-only with `ro`, or when the disk refuses
/// writes: the third value says which it is). Errors are printed with the reason (a disk that
/// is not ext4, or corrupted, fails here and the system stays up).
pub fn mount_disk(i: usize, ro: bool) -> VResult<(Arc<dyn FileSystem>, InodeRef, bool)> {
    let disk = crate::dev::blk::disk(i).ok_or(errno::ENXIO)?;
    // One mount at a time: two of the same disk would be two cores writing it.
    let _one = MOUNTING.lock();
    if MOUNTED.lock().iter().any(|(d, _)| *d == i) {
        return Err(errno::EBUSY);
    }
    let ro = ro || disk.read_only();
    let fs = Ext4::mount(BlockCache::new(DiskIo(disk.clone()), BLOCK_CACHE_BLOCKS), disk_dev(i), Pages, ro, now, crate::dev::rng::fill).map_err(|m| {
        println!("[velox] ext4: cannot mount {}: {:?} (errno {})", disk.name(), m.reason, m.errno);
        m.errno
    })?;
    fs.set_reader(Arc::new(Reader(disk.clone())));
    fs.set_privileged(may_use_root_reserve);
    let root = match fs.root() {
        Ok(r) if r.kind() == velox_vfs::FileType::Dir => r,
        r => {
            println!("[velox] ext4: cannot mount {}: its root is not a directory", disk.name());
            drop(r);
            fs.release();
            return Err(errno::EUCLEAN);
        }
    };
    MOUNTED.lock().push((i, fs.clone()));
    start_writeback();
    println!("[velox] ext4: {} mounted {}", disk.name(), if ro { "read-only" } else { "read-write" });
    Ok((fs, root, ro))
}

/// Is `fs` an ext4 file system?
pub fn is_ext4(fs: &Arc<dyn FileSystem>) -> bool {
    fs.name() == "ext4"
}

/// Mount options ext4 accepts (the policies Velox keeps anyway or has no use for); others are
/// EINVAL, as Linux answers an unknown one.
pub fn check_options(data: &[u8]) -> VResult<()> {
    for opt in data.split(|&c| c == b',').filter(|o| !o.is_empty()) {
        let key = opt.split(|&c| c == b'=').next().unwrap_or(opt);
        match key {
            b"rw" | b"ro" | b"errors" | b"barrier" | b"nobarrier" | b"data" | b"commit" | b"user_xattr" | b"nouser_xattr" | b"acl" | b"noacl"
            | b"relatime" | b"noatime" | b"strictatime" | b"nodiratime" | b"lazytime" | b"nolazytime" | b"discard" | b"nodiscard"
            | b"delalloc" | b"nodelalloc" | b"journal_checksum" | b"auto_da_alloc" | b"noauto_da_alloc" => {}
            _ => return Err(errno::EINVAL),
        }
    }
    Ok(())
}

/// The file system was unmounted: forget it (its `release` has written everything back).
pub fn unmounted(fs: &Arc<dyn FileSystem>) {
    let p = Arc::as_ptr(fs) as *const u8;
    MOUNTED.lock().retain(|(_, m)| Arc::as_ptr(m) as *const u8 != p);
}

/// sync(2): write back every mounted ext4 file system. The first error, if any.
pub fn sync_all() -> VResult<()> {
    let list: Vec<Arc<Ext4>> = MOUNTED.lock().iter().map(|(_, f)| f.clone()).collect();
    let mut r = Ok(());
    for f in list {
        r = r.and(f.sync_all());
    }
    r
}

/// Memory is short: give back up to `want` clean page-cache pages; the pages freed.
pub fn shrink(want: usize) -> usize {
    let list: Vec<Arc<Ext4>> = MOUNTED.lock().iter().map(|(_, f)| f.clone()).collect();
    let mut freed = 0;
    for f in list {
        if freed >= want {
            break;
        }
        freed += f.shrink(want - freed);
    }
    freed
}

/// syncfs(2) on a file of `fs`: write it back if it is an ext4 file system.
pub fn sync_fs(fs: &Arc<dyn FileSystem>) -> VResult<()> {
    let p = Arc::as_ptr(fs) as *const u8;
    let f = MOUNTED.lock().iter().find(|(_, m)| Arc::as_ptr(m) as *const u8 == p).map(|(_, f)| f.clone());
    f.map_or(Ok(()), |f| f.sync_all())
}

/// mount(2) with MS_REMOUNT on an ext4 mount: read-only (`ro`) or read-write again (EROFS for
/// a disk that refuses writes).
pub fn remount(fs: &Arc<dyn FileSystem>, ro: bool) -> VResult<()> {
    let p = Arc::as_ptr(fs) as *const u8;
    let f = MOUNTED.lock().iter().find(|(_, m)| Arc::as_ptr(m) as *const u8 == p).map(|(i, f)| (*i, f.clone()));
    let (i, f) = f.ok_or(errno::EINVAL)?;
    if !ro && crate::dev::blk::disk(i).is_some_and(|d| d.read_only()) {
        return Err(errno::EROFS);
    }
    f.remount(ro)
}

/// The machine powers off or restarts: write every ext4 file system back and mark it clean
/// (as the unmount Linux's shutdown scripts do), so the next boot finds no journal to replay.
pub fn shutdown() {
    let list: Vec<(usize, Arc<Ext4>)> = core::mem::take(&mut *MOUNTED.lock());
    for (_, f) in list {
        f.release();
    }
}
