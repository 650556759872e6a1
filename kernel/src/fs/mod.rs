//! Files: open file descriptions, the descriptor table, pipes, and the initial RAM disk (a
//! cpio archive from the boot loader).

pub mod pipe;

use crate::boot::BootInfo;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use pipe::Pipe;
use velox_hal as hal;

/// What an open file is.
pub enum FileKind {
    /// The serial console (stdin/stdout/stderr, /dev/console, /dev/tty).
    Console,
    /// /dev/null.
    Null,
    /// /dev/zero.
    Zero,
    /// A read-only file whose bytes the kernel holds (a RAM-disk file, a /proc file).
    Bytes(Bytes),
    /// A directory (its absolute path); listing it arrives with the VFS.
    Dir(Vec<u8>),
    PipeRead(Arc<Pipe>),
    PipeWrite(Arc<Pipe>),
}

/// Contents of a read-only file.
pub enum Bytes {
    Static(&'static [u8]),
    Owned(Vec<u8>),
}

impl Bytes {
    /// The file's bytes.
    pub fn get(&self) -> &[u8] {
        match self {
            Bytes::Static(b) => b,
            Bytes::Owned(v) => v,
        }
    }
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
}

/// A reference to an open file description.
pub type FileRef = Arc<OpenFile>;

static NEXT_INO: AtomicUsize = AtomicUsize::new(1000);

impl OpenFile {
    /// A new open file description with status `flags`.
    pub fn new(kind: FileKind, flags: u32) -> FileRef {
        Arc::new(OpenFile { kind, flags: AtomicU32::new(flags), pos: AtomicUsize::new(0), ino: NEXT_INO.fetch_add(1, Ordering::Relaxed) })
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
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        match &self.kind {
            FileKind::PipeRead(p) => p.close_read(),
            FileKind::PipeWrite(p) => p.close_write(),
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
        let mut i = min;
        while i < self.fds.len() && self.fds[i].is_some() {
            i += 1;
        }
        if i >= limit {
            return Err(errno::EMFILE);
        }
        self.grow(i + 1)?;
        self.fds[i] = Some(Fd { file, cloexec });
        Ok(i)
    }
    /// Make room for `n` slots; ENOMEM if the kernel heap cannot (it stays above its reserve).
    fn grow(&mut self, n: usize) -> Result<(), u32> {
        if n > self.fds.len() {
            let more = n - self.fds.len();
            if crate::mm::heap_free() < crate::config::HEAP_RESERVE + more * size_of::<Option<Fd>>() {
                return Err(errno::ENOMEM);
            }
            self.fds.try_reserve(more).map_err(|_| errno::ENOMEM)?;
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
    /// Number of slots (one past the highest open descriptor).
    pub fn len(&self) -> usize {
        self.fds.len()
    }
}

/// A console byte read ahead by poll (readiness) and not consumed yet.
static CONSOLE_AHEAD: velox_exec::sync::Mutex<Option<u8>> = velox_exec::sync::Mutex::new(None);

/// Next byte typed on the console, if any.
pub fn console_read_byte() -> Option<u8> {
    CONSOLE_AHEAD.lock().take().or_else(hal::console::try_read_byte)
}

/// True if a console read would return at once.
pub fn console_readable() -> bool {
    let mut a = CONSOLE_AHEAD.lock();
    if a.is_none() {
        *a = hal::console::try_read_byte();
    }
    a.is_some()
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

struct Initrd {
    files: BTreeMap<Vec<u8>, (u32, &'static [u8])>,
}

static INITRD: spin::Once<Initrd> = spin::Once::new();

/// Index the initial RAM disk, if the boot loader gave one.
pub fn init(info: &BootInfo) {
    let mut files = BTreeMap::new();
    if let Some((s, e)) = info.initrd {
        let data = hal::mem::phys_slice(s, e - s);
        match velox_vfs::parse_cpio(data) {
            Ok(entries) => {
                for en in entries {
                    let mut p = Vec::from(&b"/"[..]);
                    p.extend_from_slice(en.name);
                    files.insert(p, (en.mode, en.data));
                }
            }
            Err(_) => log::error!("initrd is not a cpio newc archive; ignoring it"),
        }
    }
    INITRD.call_once(|| Initrd { files });
}

/// Contents of a regular file in the RAM disk (symbolic links followed).
pub fn initrd_file(path: &[u8]) -> Option<&'static [u8]> {
    let fs = INITRD.get()?;
    let mut p = velox_vfs::normalize(b"/", path);
    for _ in 0..8 {
        let (mode, data) = *fs.files.get(&p)?;
        match mode & velox_vfs::S_IFMT {
            velox_vfs::S_IFREG => return Some(data),
            velox_vfs::S_IFLNK => {
                let dir = &p[..p.iter().rposition(|&c| c == b'/').unwrap_or(0).max(1)];
                p = velox_vfs::normalize(dir, data);
            }
            _ => return None,
        }
    }
    None
}

/// True if `path` names a directory of the RAM disk.
pub fn initrd_is_dir(path: &[u8]) -> bool {
    let p = velox_vfs::normalize(b"/", path);
    initrd_stat(&p).is_some_and(|(m, _)| m & velox_vfs::S_IFMT == velox_vfs::S_IFDIR)
}

/// Resolve `raw` (relative paths from `cwd`) to a normalized absolute path the way a lookup
/// walks it: every component that something follows (another name, `.`, `..` or a trailing
/// slash) must be a directory: ENOTDIR if it is a file, ENOENT if it is missing. So
/// `/bin/sh/` and `/bin/sh/..` fail as on Linux instead of naming `/bin/sh` and `/bin`.
pub fn resolve(cwd: &[u8], raw: &[u8]) -> Result<Vec<u8>, u32> {
    let mut cur: Vec<u8> = if raw.first() == Some(&b'/') { b"/".to_vec() } else { velox_vfs::normalize(b"/", cwd) };
    for (i, part) in raw.split(|&c| c == b'/').enumerate() {
        if i == 0 && raw.first() == Some(&b'/') {
            continue; // the empty name before the leading slash
        }
        if !is_dir(&cur) {
            return Err(if exists(&cur) { linux_raw_sys::errno::ENOTDIR } else { linux_raw_sys::errno::ENOENT });
        }
        match part {
            b"" | b"." => {}
            b".." => {
                let cut = cur.iter().rposition(|&c| c == b'/').unwrap_or(0);
                cur.truncate(cut.max(1));
            }
            name => {
                if cur.len() > 1 {
                    cur.push(b'/');
                }
                cur.try_reserve(name.len()).map_err(|_| linux_raw_sys::errno::ENOMEM)?;
                cur.extend_from_slice(name);
            }
        }
    }
    Ok(cur)
}

/// Directories outside the RAM disk.
const DEVICE_DIRS: [&[u8]; 6] = [b"/dev", b"/proc", b"/sys", b"/sys/devices", b"/sys/devices/system", b"/sys/devices/system/cpu"];
/// Files outside the RAM disk.
const DEVICE_FILES: [&[u8]; 8] = [
    b"/dev/null",
    b"/dev/zero",
    b"/dev/console",
    b"/dev/tty",
    b"/proc/meminfo",
    b"/proc/cpuinfo",
    b"/sys/devices/system/cpu/online",
    b"/sys/devices/system/cpu/possible",
];

/// A directory, or a symbolic link (not followed in the middle of a path yet: the later
/// look-up decides, so this check never turns a missing file into ENOTDIR).
fn is_dir(p: &[u8]) -> bool {
    DEVICE_DIRS.contains(&p)
        || initrd_stat(p).is_some_and(|(m, _)| matches!(m & velox_vfs::S_IFMT, velox_vfs::S_IFDIR | velox_vfs::S_IFLNK))
}

fn exists(p: &[u8]) -> bool {
    DEVICE_FILES.contains(&p) || initrd_stat(p).is_some()
}

/// (mode, size) of a RAM-disk path.
pub fn initrd_stat(path: &[u8]) -> Option<(u32, usize)> {
    if path == b"/" {
        return Some((velox_vfs::S_IFDIR | 0o755, 0));
    }
    INITRD.get()?.files.get(path).map(|(m, d)| (*m, d.len()))
}

/// Every path in the RAM disk (for the monitor's `ls`).
pub fn initrd_paths() -> Vec<Vec<u8>> {
    INITRD.get().map(|f| f.files.keys().cloned().collect()).unwrap_or_default()
}
