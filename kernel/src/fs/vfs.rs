//! The kernel's file tree: the root tmpfs filled from the RAM disk, /dev, /proc and /sys, the
//! mount table, and path walks on behalf of a process (its root, cwd and credentials).

use alloc::sync::Arc;
use alloc::vec::Vec;
use linux_raw_sys::errno;
use hal::println;
use velox_hal as hal;
use velox_vfs::tmpfs::{PAGE, PageStore, TmpFs, TmpInode};
use velox_vfs::{FileSystem, FileType, InodeRef, Loc, Mounts, NewNode, Time, VResult, Walker, Who};

/// tmpfs pages are frames from the frame allocator.
pub struct Pages;

/// One tmpfs page: a frame, freed when the page is dropped.
pub struct TmpPage(hal::mem::FrameBuf);

impl core::ops::Deref for TmpPage {
    type Target = [u8; PAGE];
    fn deref(&self) -> &[u8; PAGE] {
        &self.0
    }
}

impl core::ops::DerefMut for TmpPage {
    fn deref_mut(&mut self) -> &mut [u8; PAGE] {
        &mut self.0
    }
}

impl AsMut<hal::mem::FrameBuf> for TmpPage {
    fn as_mut(&mut self) -> &mut hal::mem::FrameBuf {
        &mut self.0
    }
}

impl Drop for TmpPage {
    fn drop(&mut self) {
        FILE_FRAMES.fetch_sub(1, core::sync::atomic::Ordering::Relaxed);
        crate::mm::free_frame(self.0.pa());
    }
}

/// Frames holding file data in tmpfs instances (memory in use by files, not leaked).
pub static FILE_FRAMES: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

impl PageStore for Pages {
    type Page = TmpPage;
    fn alloc_zeroed(&self) -> Option<TmpPage> {
        // Files never take the last frames: the kernel and running programs need them more
        // (a full tmpfs is ENOSPC, not an out-of-memory kill).
        if crate::mm::frame_stats().0 < crate::config::FRAME_RESERVE * 2 {
            return None;
        }
        let pa = crate::mm::alloc_frame_zeroed()?;
        FILE_FRAMES.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        Some(TmpPage(hal::mem::FrameBuf::new(pa)))
    }
    fn alloc_run(&self, n: usize) -> Option<alloc::vec::Vec<TmpPage>> {
        if crate::mm::frame_stats().0 < crate::config::FRAME_RESERVE * 2 + n {
            return None;
        }
        let mut v = alloc::vec::Vec::new();
        v.try_reserve_exact(n).ok()?;
        let pa = crate::mm::alloc_run(n)?;
        FILE_FRAMES.fetch_add(n, core::sync::atomic::Ordering::Relaxed);
        v.extend((0..n).map(|k| TmpPage(hal::mem::FrameBuf::new(pa + k * 4096))));
        Some(v)
    }
    fn run_bytes<'a>(&self, run: &'a mut [TmpPage]) -> Option<&'a mut [u8]> {
        hal::mem::frame_run_bytes(run)
    }
    fn alloc_uninit(&self) -> Option<TmpPage> {
        // As alloc_zeroed, without the zeroing: the caller overwrites the whole page.
        if crate::mm::frame_stats().0 < crate::config::FRAME_RESERVE * 2 {
            return None;
        }
        let pa = crate::mm::alloc_frame()?;
        FILE_FRAMES.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        Some(TmpPage(hal::mem::FrameBuf::new(pa)))
    }
    fn now(&self) -> Time {
        now()
    }
    fn may_grow(&self, bytes: usize) -> bool {
        crate::mm::heap_free() > crate::config::HEAP_RESERVE * 2 + bytes
    }
}

/// The wall-clock time for time stamps.
pub fn now() -> Time {
    let ns = crate::time::realtime_ns();
    Time { sec: (ns / 1_000_000_000) as i64, nsec: (ns % 1_000_000_000) as u32 }
}

/// The kernel's tmpfs type.
pub type Tmp = TmpFs<Pages>;

/// The mount table (one namespace).
pub static MOUNTS: Mounts = Mounts::new();
static ROOT: spin::Once<Loc> = spin::Once::new();
static NEXT_DEV: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

/// A fresh anonymous device number (minor numbers of major 0, as Linux gives tmpfs and proc).
pub fn new_dev() -> u64 {
    NEXT_DEV.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
}

/// The root of the tree.
pub fn root() -> Loc {
    ROOT.get().expect("vfs::init").clone()
}

/// A new tmpfs (half of memory at most, as Linux's default `size=50%`).
pub fn new_tmpfs(mode: u32) -> Arc<Tmp> {
    let total = crate::mm::frame_stats().1;
    TmpFs::new(new_dev(), Pages, total / 2, total / 2, mode)
}

/// A process's place in the tree: root, working directory, umask (shared by CLONE_FS).
#[derive(Clone)]
pub struct FsCtx {
    pub root: Loc,
    pub cwd: Loc,
    pub umask: u32,
}

impl FsCtx {
    /// Root and cwd at the tree's root, umask 022.
    pub fn initial() -> FsCtx {
        let r = root();
        FsCtx { cwd: r.clone(), root: r, umask: 0o022 }
    }
}

fn node(kind: FileType, perm: u32) -> NewNode<'static> {
    NewNode { kind, perm, uid: 0, gid: 0, rdev: 0, target: b"" }
}

/// Create (or find) directory `name` in `dir`.
fn mkdir_in(dir: &InodeRef, name: &[u8], perm: u32) -> VResult<InodeRef> {
    match dir.create(name, &node(FileType::Dir, perm)) {
        Err(e) if e == errno::EEXIST => {
            let d = dir.lookup(name)?;
            if d.kind() != FileType::Dir {
                return Err(errno::ENOTDIR);
            }
            Ok(d)
        }
        r => r,
    }
}

/// Set up the tree: the root file system (ext4 on disk `root_disk` if given and it mounts,
/// else a tmpfs), the RAM disk's contents unpacked into it, devtmpfs at /dev, proc at /proc, a
/// small sysfs at /sys, and /tmp (a tmpfs when the root is on a disk).
pub fn init(initrd: Option<&'static [u8]>, root_disk: Option<(usize, bool)>) {
    let on_disk = root_disk.and_then(|(i, ro)| match super::ext4::mount_disk(i, ro) {
        Ok((fs, root_inode, ro)) => {
            let name = alloc::format!("/dev/vd{}", (b'a' + i as u8) as char);
            match MOUNTS.add(fs.clone(), root_inode, None, name.as_bytes(), if ro { linux_raw_sys::general::MS_RDONLY } else { 0 }) {
                Ok(m) => Some(m),
                Err(e) => {
                    println!("[velox] root on disk {i} failed (errno {e}): the root stays in memory (RAM disk)");
                    fs.release();
                    super::ext4::unmounted(&fs);
                    None
                }
            }
        }
        Err(e) => {
            println!("[velox] root on disk {i} failed (errno {e}): the root stays in memory (RAM disk)");
            None
        }
    });
    let disk_root = on_disk.is_some();
    let mnt = on_disk.unwrap_or_else(|| {
        let fs = new_tmpfs(0o755);
        MOUNTS.add(fs.clone(), fs.root(), None, b"rootfs", 0).expect("root mount")
    });
    let root = Loc { inode: mnt.root.clone(), mnt };
    if let Some(data) = initrd {
        match velox_vfs::parse_cpio(data) {
            Ok(entries) => {
                for en in entries {
                    if let Err(e) = unpack(&root.inode, &en) {
                        log::warn!("initrd: {}: errno {e}", core::str::from_utf8(en.name).unwrap_or("?"));
                    }
                }
            }
            Err(_) => log::error!("initrd is not a cpio newc archive; ignoring it"),
        }
    }
    ROOT.call_once(|| root.clone());
    for (d, perm) in [(&b"dev"[..], 0o755), (b"proc", 0o555), (b"sys", 0o555), (b"tmp", 0o1777), (b"root", 0o700)] {
        if let Err(e) = mkdir_in(&root.inode, d, perm) {
            log::warn!("cannot create /{}: errno {e}", core::str::from_utf8(d).unwrap_or("?"));
        }
    }
    // (A RAM disk that puts a file where one of these directories goes gets a warning and
    // goes without that file system, not a panic.)
    // /dev/shm is a tmpfs of its own, as Debian mounts it (glibc's shm_open and sem_open make
    // their files there; /etc/fstab lists it too, for `mount -a`).
    let tmp: &[(&[u8], &[u8])] = if disk_root { &[(b"/tmp", b"tmpfs")] } else { &[] };
    let mounts = [(&b"/dev"[..], &b"devtmpfs"[..]), (b"/dev/shm", b"tmpfs"), (b"/proc", b"proc"), (b"/sys", b"sysfs")];
    for &(dir, fstype) in mounts.iter().chain(tmp) {
        let r = walker_root().walk(&root, dir, true).and_then(|at| {
            let (fs, root_inode) = make_fs(fstype, if dir == b"/dev/shm" { b"mode=1777" } else { b"" })?;
            MOUNTS.add(fs, root_inode, Some(&at), fstype, 0)
        });
        if let Err(e) = r {
            log::warn!("cannot mount {} on {}: errno {e}", core::str::from_utf8(fstype).unwrap_or("?"), core::str::from_utf8(dir).unwrap_or("?"));
        }
    }
}

/// A new instance of file system `fstype` (tmpfs, proc, devtmpfs, sysfs) with mount options
/// `data` (tmpfs: `mode=`, `size=` in bytes with k/m/g or `%` of memory, `nr_inodes=`).
pub fn make_fs(fstype: &[u8], data: &[u8]) -> VResult<(Arc<dyn FileSystem>, InodeRef)> {
    match fstype {
        b"tmpfs" | b"ramfs" => {
            let total = crate::mm::frame_stats().1;
            let (mut mode, mut pages, mut inodes) = (0o1777, total / 2, total / 2);
            for opt in data.split(|&c| c == b',').filter(|o| !o.is_empty()) {
                let (k, v) = match opt.iter().position(|&c| c == b'=') {
                    Some(i) => (&opt[..i], &opt[i + 1..]),
                    None => (opt, &b""[..]),
                };
                let num = |v: &[u8], radix: u32| -> VResult<u64> {
                    core::str::from_utf8(v).ok().and_then(|s| u64::from_str_radix(s, radix).ok()).ok_or(errno::EINVAL)
                };
                match k {
                    b"mode" => mode = num(v, 8)? as u32 & 0o7777,
                    b"size" => {
                        let (digits, unit) = match v.last() {
                            Some(b'k' | b'K') => (&v[..v.len() - 1], 1u64 << 10),
                            Some(b'm' | b'M') => (&v[..v.len() - 1], 1 << 20),
                            Some(b'g' | b'G') => (&v[..v.len() - 1], 1 << 30),
                            Some(b'%') => (&v[..v.len() - 1], 0),
                            _ => (v, 1),
                        };
                        let n = num(digits, 10)?;
                        pages = if unit == 0 { (total as u64 * n.min(100) / 100) as usize } else { (n.saturating_mul(unit)).div_ceil(PAGE as u64) as usize };
                    }
                    b"nr_inodes" => inodes = num(v, 10)? as usize,
                    b"uid" | b"gid" | b"huge" | b"mpol" | b"noswap" => {}
                    _ => return Err(errno::EINVAL),
                }
            }
            let fs = TmpFs::new(new_dev(), Pages, pages, inodes.max(1), mode);
            let root = fs.root();
            Ok((fs, root))
        }
        b"devtmpfs" => {
            let dev = new_tmpfs(0o755);
            super::devfs::populate(&dev.root());
            let root = dev.root();
            Ok((DevTmpFs::wrap(dev), root))
        }
        b"proc" => Ok(super::proc::new()),
        b"ext4" => {
            // (mount(2) resolves the source to a disk: `mount_dev`.)
            Err(errno::ENOTBLK)
        }
        b"sysfs" => {
            let sys = new_tmpfs(0o555);
            populate_sys(&sys.root());
            let root = sys.root();
            Ok((SysFs::wrap(sys), root))
        }
        _ => Err(errno::ENODEV),
    }
}

fn walker_root() -> Walker<'static> {
    Walker { root: ROOT.get().expect("root"), mounts: &MOUNTS, who: Who::ROOT }
}

/// Put one RAM-disk entry into the tree (missing parent directories are created).
fn unpack(root: &InodeRef, en: &velox_vfs::CpioEntry<'static>) -> VResult<()> {
    let (dir_path, name, _) = velox_vfs::path::split_last(en.name);
    let mut dir = root.clone();
    for part in dir_path.split(|&c| c == b'/').filter(|p| !p.is_empty()) {
        dir = mkdir_in(&dir, part, 0o755)?;
    }
    let perm = en.mode & 0o7777;
    let t = Time { sec: en.mtime as i64, nsec: 0 };
    let times = velox_vfs::SetAttr { atime: Some(t), mtime: Some(t), ..Default::default() };
    let kind = FileType::from_mode(en.mode).ok_or(errno::EINVAL)?;
    let n = match kind {
        FileType::Dir => {
            // (A directory that is there already, on a disk root, keeps its mode and times.)
            if dir.lookup(name).is_ok_and(|d| d.kind() == FileType::Dir) {
                return Ok(());
            }
            let d = mkdir_in(&dir, name, perm)?;
            d.setattr(&velox_vfs::SetAttr { mode: Some(perm), ..times })?;
            return Ok(());
        }
        FileType::Regular => {
            let f = match dir.create(name, &node(kind, perm)) {
                // (Over a disk root, the RAM disk's files replace what is there.)
                Err(e) if e == errno::EEXIST => {
                    let f = dir.lookup(name)?;
                    f.truncate(0)?;
                    f.setattr(&velox_vfs::SetAttr { mode: Some(perm), ..Default::default() })?;
                    f
                }
                r => r?,
            };
            match f.as_any().downcast_ref::<TmpInode<Pages>>() {
                Some(t) => t.set_static(en.data)?,
                None => {
                    velox_vfs::write_bytes(&*f, 0, en.data)?;
                }
            }
            f
        }
        FileType::Symlink => dir.create(name, &NewNode { target: en.data, ..node(kind, 0o777) })?,
        _ => dir.create(name, &NewNode { rdev: en.rdev, ..node(kind, perm) })?,
    };
    n.setattr(&times)
}

/// /sys: the files glibc and busybox read (the online CPUs).
fn populate_sys(root: &InodeRef) {
    let cpus: &'static [u8] = alloc::boxed::Box::leak(super::cpus_online().into_boxed_slice());
    let r = (|| -> VResult<()> {
        let mut d = root.clone();
        for p in [&b"devices"[..], b"system", b"cpu"] {
            d = mkdir_in(&d, p, 0o755)?;
        }
        for f in [&b"online"[..], b"possible"] {
            let i = d.create(f, &node(FileType::Regular, 0o444))?;
            i.as_any().downcast_ref::<TmpInode<Pages>>().ok_or(errno::EINVAL)?.set_static(cpus)?;
        }
        Ok(())
    })();
    if let Err(e) = r {
        log::warn!("/sys: errno {e}");
    }
}

/// A tmpfs that reports another file-system name (devtmpfs, sysfs).
macro_rules! renamed_tmpfs {
    ($name:ident, $text:literal, $magic:expr) => {
        /// A tmpfs shown under another name.
        pub struct $name(Arc<Tmp>);
        impl $name {
            /// Wrap a tmpfs.
            pub fn wrap(fs: Arc<Tmp>) -> Arc<dyn FileSystem> {
                Arc::new($name(fs))
            }
        }
        impl FileSystem for $name {
            fn name(&self) -> &'static str {
                $text
            }
            fn release(&self) {
                self.0.release();
            }
            fn statfs(&self) -> velox_vfs::StatFs {
                let s = velox_vfs::StatFs { magic: $magic, ..self.0.statfs() };
                if $text == "sysfs" { SysFs::no_blocks(s) } else { s }
            }
        }
    };
}
renamed_tmpfs!(DevTmpFs, "devtmpfs", 0x0102_1994);
renamed_tmpfs!(SysFs, "sysfs", 0x6265_6572);

impl SysFs {
    /// sysfs reports no blocks (df leaves it out), as Linux's.
    fn no_blocks(s: velox_vfs::StatFs) -> velox_vfs::StatFs {
        velox_vfs::StatFs { blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, ..s }
    }
}

/// The caller's view for permission checks: file-system ids and supplementary groups.
pub fn who_of<'a>(c: &velox_cred::Cred, groups: &'a [u32]) -> Who<'a> {
    Who { uid: c.uid.fs, gid: c.gid.fs, groups }
}

/// Walk `path` for a thread: from its root, relative to `start` (its cwd or a directory
/// descriptor's location).
pub fn walk(ctx: &FsCtx, who: &Who, start: &Loc, path: &[u8], follow: bool) -> VResult<Loc> {
    Walker { root: &ctx.root, mounts: &MOUNTS, who: *who }.walk(start, path, follow)
}

/// Every path component's parent walk (create, remove, rename).
pub fn walk_parent<'p>(ctx: &FsCtx, who: &Who, start: &Loc, path: &'p [u8]) -> VResult<(Loc, &'p [u8], bool)> {
    Walker { root: &ctx.root, mounts: &MOUNTS, who: *who }.walk_parent(start, path)
}

/// The path of directory `l` seen from `ctx`'s root.
pub fn path_of(ctx: &FsCtx, l: &Loc) -> VResult<Vec<u8>> {
    Walker { root: &ctx.root, mounts: &MOUNTS, who: Who::ROOT }.path_of(l)
}

/// The whole contents of the file at absolute `path` (for the kernel's own use: init's
/// command list).
pub fn read_file(path: &[u8]) -> VResult<Vec<u8>> {
    let l = walker_root().walk(&root(), path, true)?;
    velox_vfs::read_bytes(&*l.inode, 0, usize::MAX)
}

/// Every path under `dir` (for the monitor's `ls`).
pub fn list(dir: &[u8]) -> VResult<Vec<Vec<u8>>> {
    let l = walker_root().walk(&root(), dir, true)?;
    let mut out = Vec::new();
    l.inode.readdir(2, &mut |d| {
        out.push(d.name.to_vec());
        true
    })?;
    Ok(out)
}

/// The location of absolute `path`, walked as root from the tree's root.
pub fn lookup_root(path: &[u8]) -> VResult<Loc> {
    walker_root().walk(&root(), path, true)
}
