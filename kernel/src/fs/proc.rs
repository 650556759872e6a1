//! procfs: /proc's files, generated from kernel state each time they are read, in Linux's
//! formats (`man 5 proc`): the system-wide files (meminfo, stat, uptime, loadavg, mounts...),
//! /proc/sys/kernel, /proc/velox/traps, and a directory per process (stat, status, cmdline,
//! maps, fd/, task/<tid>/...). Nothing is cached: a read builds the text from snapshots
//! (`process::all()`, one lock at a time, never two processes' locks together).

use crate::config;
use crate::mm::aspace::AddrSpace;
use crate::task::Thread;
use crate::task::process::{self, Process};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::fmt::Write;
use core::sync::atomic::Ordering;
use linux_raw_sys::auxvec as at;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_hal as hal;
use velox_mm::vma::{Backing, Vma};
use velox_mm::{PAGE_SIZE, page_ceil};
use velox_vfs::{DirEntry, FileSystem, FileType, Inode, InodeRef, Loc, Stat, StatFs, VResult};

/// The proc file system.
pub struct ProcFs {
    dev: u64,
}

impl FileSystem for ProcFs {
    fn name(&self) -> &'static str {
        "proc"
    }
    fn statfs(&self) -> StatFs {
        StatFs { magic: 0x9fa0, bsize: 4096, namelen: 255, ..Default::default() }
    }
}

/// uname's release and version (kept equal to `syscall::sys::uname`).
const RELEASE: &str = "6.6.0-velox";
const VERSION: &str = concat!("#1 Velox ", env!("CARGO_PKG_VERSION"));
/// Linux's PID_MAX_LIMIT (Velox never reuses ids; this is what /proc/sys/kernel/pid_max says).
const PID_MAX: usize = 4 << 20;
/// USER_HZ: the clock ticks /proc counts times in.
const USER_HZ: u64 = 100;

/// What an entry of the fixed part of the tree is.
#[derive(Clone, Copy)]
enum What {
    /// A file and its generator.
    File(fn() -> Vec<u8>),
    /// A directory (its id: the `dir` of its entries).
    Dir(u8),
    /// A symbolic link and its target.
    Link(&'static [u8]),
}

/// One entry of the fixed tree: the directory it is in, its name, what it is.
struct Entry {
    dir: u8,
    name: &'static [u8],
    what: What,
}

const D_ROOT: u8 = 0;
const D_SYS: u8 = 1;
const D_KERNEL: u8 = 2;
const D_VELOX: u8 = 3;

/// The fixed entries of /proc and its subdirectories (the process directories come on top).
static TREE: [Entry; 21] = [
    Entry { dir: D_ROOT, name: b"cpuinfo", what: What::File(super::cpuinfo) },
    Entry { dir: D_ROOT, name: b"filesystems", what: What::File(filesystems) },
    Entry { dir: D_ROOT, name: b"loadavg", what: What::File(loadavg) },
    Entry { dir: D_ROOT, name: b"meminfo", what: What::File(meminfo) },
    Entry { dir: D_ROOT, name: b"mounts", what: What::Link(b"self/mounts") },
    Entry { dir: D_ROOT, name: b"stat", what: What::File(stat) },
    Entry { dir: D_ROOT, name: b"swaps", what: What::File(swaps) },
    Entry { dir: D_ROOT, name: b"sys", what: What::Dir(D_SYS) },
    Entry { dir: D_ROOT, name: b"uptime", what: What::File(uptime) },
    Entry { dir: D_ROOT, name: b"velox", what: What::Dir(D_VELOX) },
    Entry { dir: D_ROOT, name: b"version", what: What::File(version) },
    Entry { dir: D_SYS, name: b"kernel", what: What::Dir(D_KERNEL) },
    Entry { dir: D_KERNEL, name: b"domainname", what: What::File(|| line("(none)")) },
    Entry { dir: D_KERNEL, name: b"hostname", what: What::File(hostname) },
    Entry { dir: D_KERNEL, name: b"osrelease", what: What::File(|| line(RELEASE)) },
    Entry { dir: D_KERNEL, name: b"ostype", what: What::File(|| line("Linux")) },
    Entry { dir: D_KERNEL, name: b"pid_max", what: What::File(|| alloc::format!("{PID_MAX}\n").into_bytes()) },
    Entry { dir: D_KERNEL, name: b"threads-max", what: What::File(|| alloc::format!("{}\n", config::MAX_THREADS).into_bytes()) },
    Entry { dir: D_KERNEL, name: b"version", what: What::File(|| line(VERSION)) },
    Entry { dir: D_VELOX, name: b"meminfo", what: What::File(super::meminfo) },
    Entry { dir: D_VELOX, name: b"traps", what: What::File(traps) },
];

/// Readdir positions of the root's process directories start here (position = this + pid).
const PID_POS: u64 = 0x100;

/// What a process (or task) directory holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ent {
    Cmdline,
    Comm,
    Cwd,
    Environ,
    Exe,
    Fd,
    Limits,
    Maps,
    Mounts,
    Mountinfo,
    Root,
    Stat,
    Statm,
    Status,
    Task,
}

const ENTS: [(&[u8], Ent); 15] = [
    (b"cmdline", Ent::Cmdline),
    (b"comm", Ent::Comm),
    (b"cwd", Ent::Cwd),
    (b"environ", Ent::Environ),
    (b"exe", Ent::Exe),
    (b"fd", Ent::Fd),
    (b"limits", Ent::Limits),
    (b"maps", Ent::Maps),
    (b"mountinfo", Ent::Mountinfo),
    (b"mounts", Ent::Mounts),
    (b"root", Ent::Root),
    (b"stat", Ent::Stat),
    (b"statm", Ent::Statm),
    (b"status", Ent::Status),
    (b"task", Ent::Task),
];

impl Ent {
    fn kind(self) -> FileType {
        match self {
            Ent::Cwd | Ent::Exe | Ent::Root => FileType::Symlink,
            Ent::Fd | Ent::Task => FileType::Dir,
            _ => FileType::Regular,
        }
    }
    fn index(self) -> u64 {
        ENTS.iter().position(|e| e.1 == self).unwrap_or(0) as u64
    }
}

/// What a procfs inode is. `tid` 0 means the process directory itself, else the
/// /proc/<pid>/task/<tid> directory of one thread.
#[derive(Clone, Copy)]
enum Node {
    Root,
    /// /proc/self: a link to the caller's process directory.
    SelfLink,
    /// /proc/thread-self: a link to the caller's task directory.
    ThreadSelf,
    /// An entry of [`TREE`].
    Fixed(usize),
    /// /proc/<pid> or /proc/<pid>/task/<tid>.
    Pid(usize, usize),
    /// An entry of a process or task directory.
    Ent(usize, usize, Ent),
    /// /proc/<pid>/fd/<n> (or under task/<tid>).
    Fd(usize, usize, usize),
}

/// A procfs inode.
pub struct ProcInode {
    fs: Arc<ProcFs>,
    node: Node,
}

/// A new procfs and its root.
pub fn new() -> (Arc<dyn FileSystem>, InodeRef) {
    let fs = Arc::new(ProcFs { dev: super::vfs::new_dev() });
    let root = Arc::new(ProcInode { fs: fs.clone(), node: Node::Root });
    (fs, root)
}

/// The process `pid` (zombies included: Linux keeps their directory until they are reaped).
fn find(pid: usize) -> VResult<Arc<Process>> {
    process::find(pid).ok_or(errno::ENOENT)
}

/// Thread `tid` of `p`.
fn thread_of(p: &Process, tid: usize) -> VResult<Arc<Thread>> {
    p.threads.lock().get(&tid).cloned().ok_or(errno::ENOENT)
}

/// Check that `pid` (and its thread `tid`, unless 0) exist.
fn check(pid: usize, tid: usize) -> VResult<Arc<Process>> {
    let p = find(pid)?;
    if tid != 0 {
        thread_of(&p, tid)?;
    }
    Ok(p)
}

/// (pid, tid) of the caller (1, 0 outside any thread: the kernel's init).
fn current_ids() -> (usize, usize) {
    crate::task::current::with(|t| t.map_or((1, 0), |t| (t.process.pid, t.tid())))
}

/// Inode number of an entry under a process directory: the pid, the tid (0 for the process
/// level) and the entry (1: the directory itself; 2 + index: an entry; 0x1000 + n: fd n).
fn pid_ino(pid: usize, tid: usize, sub: u64) -> u64 {
    ((pid as u64) << 40) | (((tid as u64) & 0xff_ffff) << 16) | (sub & 0xffff)
}

fn fd_sub(fd: usize) -> u64 {
    0x1000 + fd as u64
}

/// A line of text.
fn line(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(b'\n');
    v
}

/// Magic links being resolved on each hart (see `link_target`).
static LINK_DEPTH: [core::sync::atomic::AtomicUsize; crate::smp::MAX_HARTS] = [const { core::sync::atomic::AtomicUsize::new(0) }; crate::smp::MAX_HARTS];
/// Most magic links resolved inside one another.
const MAX_LINK_DEPTH: usize = 8;

impl ProcInode {
    fn make(&self, node: Node) -> InodeRef {
        Arc::new(ProcInode { fs: self.fs.clone(), node })
    }

    /// The node of fixed directory `d`.
    fn fixed_dir(&self, d: u8) -> InodeRef {
        match TREE.iter().position(|e| matches!(e.what, What::Dir(x) if x == d)) {
            Some(i) if d != D_ROOT => self.make(Node::Fixed(i)),
            _ => self.make(Node::Root),
        }
    }

    fn text(&self) -> VResult<Vec<u8>> {
        match self.node {
            Node::Fixed(i) => match TREE[i].what {
                What::File(f) => Ok(f()),
                _ => Err(errno::EINVAL),
            },
            Node::Ent(pid, tid, e) => pid_text(pid, tid, e),
            _ => Err(errno::EINVAL),
        }
    }

    fn link_target(&self) -> VResult<(Vec<u8>, Option<Loc>)> {
        // A magic link's text can lead through another magic link (an fd opened through
        // /proc/self/fd/N, then dup2'ed over N): bound the nesting, or the walks recurse
        // until the kernel stack runs out.
        let h = crate::smp::me();
        if LINK_DEPTH[h].fetch_add(1, core::sync::atomic::Ordering::Relaxed) >= MAX_LINK_DEPTH {
            LINK_DEPTH[h].fetch_sub(1, core::sync::atomic::Ordering::Relaxed);
            return Err(errno::ELOOP);
        }
        let r = self.link_target_inner();
        LINK_DEPTH[h].fetch_sub(1, core::sync::atomic::Ordering::Relaxed);
        r
    }

    /// May the caller look through process `p`'s magic links (cwd, root, exe, fd/)? Linux's
    /// PTRACE_MODE_READ: root, or the same user (real, effective and saved ids all match
    /// the caller's).
    fn may_peek(p: &Process) -> VResult<()> {
        let me = crate::task::current::with(|t| t.map(|t| *t.process.cred.lock()));
        let Some(me) = me else { return Ok(()) };
        if me.privileged() {
            return Ok(());
        }
        let them = *p.cred.lock();
        let same = [them.uid.r, them.uid.e, them.uid.s].iter().all(|&u| u == me.uid.r || u == me.uid.e) && [them.gid.r, them.gid.e, them.gid.s].iter().all(|&g| g == me.gid.r || g == me.gid.e);
        if same { Ok(()) } else { Err(errno::EACCES) }
    }

    fn link_target_inner(&self) -> VResult<(Vec<u8>, Option<Loc>)> {
        match self.node {
            Node::SelfLink => Ok((alloc::format!("{}", current_ids().0).into_bytes(), None)),
            Node::ThreadSelf => {
                let (pid, tid) = current_ids();
                Ok((alloc::format!("{pid}/task/{}", if tid == 0 { pid } else { tid }).into_bytes(), None))
            }
            Node::Fixed(i) => match TREE[i].what {
                What::Link(t) => Ok((t.to_vec(), None)),
                _ => Err(errno::EINVAL),
            },
            Node::Ent(pid, tid, which @ (Ent::Exe | Ent::Cwd | Ent::Root)) => {
                let p = check(pid, tid)?;
                Self::may_peek(&p)?;
                if p.is_zombie() || p.thread_count() == 0 {
                    return Err(errno::ENOENT);
                }
                match which {
                    Ent::Exe => Ok((p.exe.lock().clone(), None)),
                    _ => {
                        let ctx = p.fs.lock().clone();
                        let l = if which == Ent::Cwd { ctx.cwd.clone() } else { ctx.root.clone() };
                        let caller = crate::task::current::with(|t| t.map(|t| t.process.fs.clone()));
                        let caller = caller.map(|c| c.lock().clone()).unwrap_or(ctx);
                        Ok((super::vfs::path_of(&caller, &l)?, Some(l)))
                    }
                }
            }
            Node::Fd(pid, tid, fd) => {
                let p = check(pid, tid)?;
                Self::may_peek(&p)?;
                let f = p.fds.lock().get(fd).cloned().ok_or(errno::ENOENT)?;
                Ok((f.describe(), f.location()))
            }
            _ => Err(errno::EINVAL),
        }
    }

    fn ino(&self) -> u64 {
        match self.node {
            Node::Root => 1,
            Node::SelfLink => 2,
            Node::ThreadSelf => 3,
            Node::Fixed(i) => 16 + i as u64,
            Node::Pid(p, t) => pid_ino(p, t, 1),
            Node::Ent(p, t, e) => pid_ino(p, t, 2 + e.index()),
            Node::Fd(p, t, fd) => pid_ino(p, t, fd_sub(fd)),
        }
    }

    /// The process whose directory this is in, if any.
    fn owner(&self) -> Option<usize> {
        match self.node {
            Node::Pid(p, _) | Node::Ent(p, _, _) | Node::Fd(p, _, _) => Some(p),
            _ => None,
        }
    }
}

impl Inode for ProcInode {
    fn id(&self) -> (u64, u64) {
        (self.fs.dev, self.ino())
    }
    fn kind(&self) -> FileType {
        match self.node {
            Node::Root | Node::Pid(..) => FileType::Dir,
            Node::SelfLink | Node::ThreadSelf | Node::Fd(..) => FileType::Symlink,
            Node::Fixed(i) => match TREE[i].what {
                What::File(_) => FileType::Regular,
                What::Dir(_) => FileType::Dir,
                What::Link(_) => FileType::Symlink,
            },
            Node::Ent(_, _, e) => e.kind(),
        }
    }
    fn stat(&self) -> Stat {
        let kind = self.kind();
        let perm = match (kind, self.node) {
            (_, Node::Ent(_, _, Ent::Environ)) => 0o400,
            (_, Node::Ent(_, _, Ent::Fd)) => 0o500,
            (FileType::Dir, _) => 0o555,
            // As Linux: the descriptor's access mode in the owner bits ("lr-x------").
            (FileType::Symlink, Node::Fd(p, _, fd)) => find(p).ok().and_then(|p| p.fds.lock().get(fd).cloned()).map_or(0o700, |f| {
                0o100 | if f.readable() { 0o400 } else { 0 } | if f.writable() { 0o200 } else { 0 }
            }),
            (FileType::Symlink, _) => 0o777,
            _ => 0o444,
        };
        // A process's entries belong to its effective ids (Linux: unless it is not dumpable).
        let (uid, gid) = self
            .owner()
            .and_then(|p| find(p).ok())
            .map(|p| {
                let c = p.cred.lock();
                (c.uid.e, c.gid.e)
            })
            .unwrap_or((0, 0));
        let t = match self.owner().and_then(|p| find(p).ok()) {
            Some(p) => {
                let ns = crate::time::ticks_to_ns(p.start_ticks) + crate::time::realtime_offset_ns();
                velox_vfs::Time { sec: (ns / 1_000_000_000) as i64, nsec: (ns % 1_000_000_000) as u32 }
            }
            None => super::vfs::now(),
        };
        Stat {
            dev: self.fs.dev,
            ino: self.ino(),
            mode: kind.mode_bits() | perm,
            nlink: if kind == FileType::Dir { 2 } else { 1 },
            uid,
            gid,
            size: if kind == FileType::Symlink { 64 } else { 0 },
            blksize: 1024,
            atime: t,
            mtime: t,
            ctime: t,
            ..Default::default()
        }
    }
    fn lookup(&self, name: &[u8]) -> VResult<InodeRef> {
        match self.node {
            Node::Root => {
                if name == b".." {
                    return Ok(self.make(Node::Root));
                }
                if name == b"self" {
                    return Ok(self.make(Node::SelfLink));
                }
                if name == b"thread-self" {
                    return Ok(self.make(Node::ThreadSelf));
                }
                if let Some(i) = TREE.iter().position(|e| e.dir == D_ROOT && e.name == name) {
                    return Ok(self.make(Node::Fixed(i)));
                }
                let pid = parse_num(name).ok_or(errno::ENOENT)?;
                find(pid)?;
                Ok(self.make(Node::Pid(pid, 0)))
            }
            Node::Fixed(i) => {
                let What::Dir(d) = TREE[i].what else {
                    return Err(errno::ENOTDIR);
                };
                if name == b".." {
                    return Ok(self.fixed_dir(TREE[i].dir));
                }
                let j = TREE.iter().position(|e| e.dir == d && e.name == name).ok_or(errno::ENOENT)?;
                Ok(self.make(Node::Fixed(j)))
            }
            Node::Pid(pid, tid) => {
                if name == b".." {
                    return Ok(if tid == 0 { self.make(Node::Root) } else { self.make(Node::Ent(pid, 0, Ent::Task)) });
                }
                check(pid, tid)?;
                match ENTS.iter().find(|(n, _)| *n == name) {
                    Some(&(_, e)) if !(tid != 0 && e == Ent::Task) => Ok(self.make(Node::Ent(pid, tid, e))),
                    _ => Err(errno::ENOENT),
                }
            }
            Node::Ent(pid, tid, Ent::Fd) => {
                if name == b".." {
                    return Ok(self.make(Node::Pid(pid, tid)));
                }
                let fd = parse_num(name).ok_or(errno::ENOENT)?;
                check(pid, tid)?.fds.lock().get(fd).ok_or(errno::ENOENT)?;
                Ok(self.make(Node::Fd(pid, tid, fd)))
            }
            Node::Ent(pid, _, Ent::Task) => {
                if name == b".." {
                    return Ok(self.make(Node::Pid(pid, 0)));
                }
                let tid = parse_num(name).ok_or(errno::ENOENT)?;
                check(pid, tid)?;
                Ok(self.make(Node::Pid(pid, tid)))
            }
            _ => Err(errno::ENOTDIR),
        }
    }
    fn readdir(&self, pos: u64, sink: &mut dyn FnMut(&DirEntry) -> bool) -> VResult<()> {
        // Build the listing (small): (position, name, ino, type). Positions only grow, and
        // process and descriptor entries are positioned by their number, so a listing read in
        // several calls neither repeats nor skips an entry when processes come and go.
        let mut list: Vec<(u64, Vec<u8>, u64, FileType)> = Vec::new();
        let me = self.ino();
        let num = |n: usize| alloc::format!("{n}").into_bytes();
        match self.node {
            Node::Root => {
                list.push((0, b".".to_vec(), me, FileType::Dir));
                list.push((1, b"..".to_vec(), me, FileType::Dir));
                for (i, e) in TREE.iter().enumerate().filter(|(_, e)| e.dir == D_ROOT) {
                    list.push((2 + i as u64, e.name.to_vec(), 16 + i as u64, self.make(Node::Fixed(i)).kind()));
                }
                list.push((2 + TREE.len() as u64, b"self".to_vec(), 2, FileType::Symlink));
                list.push((3 + TREE.len() as u64, b"thread-self".to_vec(), 3, FileType::Symlink));
                for p in process::all() {
                    list.push((PID_POS + p.pid as u64, num(p.pid), pid_ino(p.pid, 0, 1), FileType::Dir));
                }
            }
            Node::Fixed(i) => {
                let What::Dir(d) = TREE[i].what else {
                    return Err(errno::ENOTDIR);
                };
                list.push((0, b".".to_vec(), me, FileType::Dir));
                list.push((1, b"..".to_vec(), self.fixed_dir(TREE[i].dir).id().1, FileType::Dir));
                for (j, e) in TREE.iter().enumerate().filter(|(_, e)| e.dir == d) {
                    list.push((2 + j as u64, e.name.to_vec(), 16 + j as u64, self.make(Node::Fixed(j)).kind()));
                }
            }
            Node::Pid(pid, tid) => {
                check(pid, tid)?;
                list.push((0, b".".to_vec(), me, FileType::Dir));
                let up = if tid == 0 { 1 } else { pid_ino(pid, 0, 2 + Ent::Task.index()) };
                list.push((1, b"..".to_vec(), up, FileType::Dir));
                for (i, &(n, e)) in ENTS.iter().enumerate() {
                    if !(tid != 0 && e == Ent::Task) {
                        list.push((2 + i as u64, n.to_vec(), pid_ino(pid, tid, 2 + i as u64), e.kind()));
                    }
                }
            }
            Node::Ent(pid, tid, Ent::Fd) => {
                let p = check(pid, tid)?;
                list.push((0, b".".to_vec(), me, FileType::Dir));
                list.push((1, b"..".to_vec(), pid_ino(pid, tid, 1), FileType::Dir));
                let fds = p.fds.lock();
                for fd in (0..fds.len()).filter(|&fd| fds.get(fd).is_some()) {
                    list.push((2 + fd as u64, num(fd), pid_ino(pid, tid, fd_sub(fd)), FileType::Symlink));
                }
            }
            Node::Ent(pid, _, Ent::Task) => {
                let p = find(pid)?;
                list.push((0, b".".to_vec(), me, FileType::Dir));
                list.push((1, b"..".to_vec(), pid_ino(pid, 0, 1), FileType::Dir));
                let tids: Vec<usize> = p.threads.lock().keys().copied().collect();
                for tid in tids {
                    list.push((2 + tid as u64, num(tid), pid_ino(pid, tid, 1), FileType::Dir));
                }
            }
            _ => return Err(errno::ENOTDIR),
        }
        for (at, name, ino, kind) in list.iter().filter(|e| e.0 >= pos) {
            if !sink(&DirEntry { name, ino: *ino, kind: *kind, next: at + 1 }) {
                break;
            }
        }
        Ok(())
    }
    fn read_at(&self, off: u64, len: usize, sink: &mut dyn FnMut(&[u8]) -> VResult<()>) -> VResult<usize> {
        // (Generated with no lock held; the sink copies to user memory afterwards.)
        let text = self.text()?;
        let start = (off as usize).min(text.len());
        let n = len.min(text.len() - start);
        if n > 0 {
            sink(&text[start..start + n])?;
        }
        Ok(n)
    }
    fn readlink(&self) -> VResult<Vec<u8>> {
        self.link_target().map(|t| t.0)
    }
    fn magic_link(&self) -> Option<Loc> {
        match self.node {
            Node::Ent(_, _, Ent::Exe | Ent::Cwd | Ent::Root) | Node::Fd(..) => self.link_target().ok().and_then(|t| t.1),
            _ => None,
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The open file behind `inode` when it is a /proc/<pid>/fd/<n> link the caller may look
/// through (for opening a pipe again by that name: `syscall::path`).
pub fn fd_file(inode: &velox_vfs::InodeRef) -> Option<crate::fs::FileRef> {
    let me = inode.as_any().downcast_ref::<ProcInode>()?;
    let Node::Fd(pid, tid, fd) = me.node else { return None };
    let p = check(pid, tid).ok()?;
    ProcInode::may_peek(&p).ok()?;
    p.fds.lock().get(fd).cloned()
}

fn parse_num(s: &[u8]) -> Option<usize> {
    if s.is_empty() || s.len() > 9 || s[0] == b'0' && s.len() > 1 {
        return None;
    }
    s.iter().try_fold(0usize, |a, &c| c.is_ascii_digit().then(|| a * 10 + (c - b'0') as usize))
}

// ---------------------------------------------------------------------------------------
// System-wide files.

/// Ticks (of the `time` CSR) in USER_HZ clock ticks.
fn clk(t: u64) -> u64 {
    crate::time::ticks_to_ns(t) / (1_000_000_000 / USER_HZ)
}

/// Is `t` on a hart now (in user mode, or its future being polled)?
fn on_cpu(t: &Thread) -> bool {
    if t.running_on.load(Ordering::Relaxed) != 0 {
        return true;
    }
    let me: *const Thread = t;
    crate::smp::HARTS[..crate::smp::online()].iter().any(|h| core::ptr::eq(h.current.load(Ordering::Relaxed), me))
}

/// A process's threads (a snapshot).
fn threads(p: &Process) -> Vec<Arc<Thread>> {
    p.threads.lock().values().cloned().collect()
}

/// (user, total) CPU ticks of a process: its live threads and its dead ones.
fn proc_times(p: &Process, ts: &[Arc<Thread>]) -> (u64, u64) {
    let tm = *p.times.lock();
    ts.iter().fold((tm.user, tm.cpu), |(u, c), t| {
        let (tu, tc) = t.cpu_times();
        (u + tu, c + tc)
    })
}

/// Whole-system counts, from one pass over the processes.
struct Totals {
    /// CPU ticks consumed by every thread that ever ran (user, total).
    user: u64,
    cpu: u64,
    threads: usize,
    running: usize,
    /// The highest process or thread id alive (the last one handed out, nearly always).
    last_id: usize,
}

fn totals() -> Totals {
    let mut s = Totals { user: 0, cpu: 0, threads: 0, running: 0, last_id: 0 };
    for p in process::all() {
        let ts = threads(&p);
        let (u, c) = proc_times(&p, &ts);
        // Reaped children's times sit in their reaper's totals, each counted once.
        let tm = *p.times.lock();
        s.user += u + tm.child_user;
        s.cpu += c + tm.child_cpu;
        s.threads += ts.len();
        s.running += ts.iter().filter(|t| on_cpu(t)).count();
        s.last_id = s.last_id.max(p.pid).max(ts.iter().map(|t| t.tid()).max().unwrap_or(0));
    }
    s
}

/// Seconds and hundredths ("12.34").
fn centi(ns: u64) -> String {
    let c = ns / 10_000_000;
    alloc::format!("{}.{:02}", c / 100, c % 100)
}

/// /proc/uptime: time since boot and the harts' summed idle time.
fn uptime() -> Vec<u8> {
    let up = crate::time::monotonic_ns();
    let busy = crate::time::ticks_to_ns(totals().cpu);
    let idle = (up * crate::smp::online() as u64).saturating_sub(busy);
    alloc::format!("{} {}\n", centi(up), centi(idle)).into_bytes()
}

/// /proc/loadavg: no load tracking yet, so the averages are zero; runnable/total threads and
/// the last id.
fn loadavg() -> Vec<u8> {
    let t = totals();
    alloc::format!("0.00 0.00 0.00 {}/{} {}\n", t.running.max(1), t.threads, t.last_id).into_bytes()
}

/// Interrupts taken (all harts, fast and slow paths).
fn interrupts() -> u64 {
    crate::smp::HARTS
        .iter()
        .map(|h| (16..32).map(|i| h.counters.fast_other[i].load(Ordering::Relaxed) + h.counters.slow_other[i].load(Ordering::Relaxed)).sum::<u64>())
        .sum()
}

/// /proc/stat. Velox keeps CPU time per thread, not per hart: the per-hart lines share the
/// totals out evenly. Context switches are not counted (ctxt 0).
fn stat() -> Vec<u8> {
    let t = totals();
    let n = crate::smp::online() as u64;
    let up = clk(crate::time::ticks());
    let (user, sys) = (clk(t.user), clk(t.cpu.saturating_sub(t.user)));
    let idle = (up * n).saturating_sub(user + sys);
    let mut s = String::new();
    let _ = writeln!(s, "cpu  {user} 0 {sys} {idle} 0 0 0 0 0 0");
    for i in 0..n {
        let _ = writeln!(s, "cpu{i} {} 0 {} {} 0 0 0 0 0 0", user / n, sys / n, idle / n);
    }
    let btime = (crate::time::realtime_ns() - crate::time::monotonic_ns()) / 1_000_000_000;
    let _ = write!(
        s,
        "intr {}\nctxt 0\nbtime {btime}\nprocesses {}\nprocs_running {}\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
        interrupts(),
        t.last_id,
        t.running.max(1)
    );
    s.into_bytes()
}

/// /proc/meminfo, in Linux's fields. MemTotal includes the kernel heap; MemFree is free page
/// frames only (the tests watch it for leaks), MemAvailable adds the heap's free bytes (as
/// sysinfo's freeram), Slab is the heap in use. File data in tmpfs is shared memory and page
/// cache, as Linux counts tmpfs.
fn meminfo() -> Vec<u8> {
    let (free, total) = crate::mm::frame_stats();
    let kb = |frames: usize| frames * (PAGE_SIZE / 1024);
    let heap_free = crate::mm::heap_free() / 1024;
    let heap = crate::mm::heap_size() / 1024;
    let total_kb = kb(total) + heap;
    let free_kb = kb(free);
    let shmem = kb(super::vfs::FILE_FRAMES.load(Ordering::Relaxed));
    let slab = crate::mm::heap_used() / 1024;
    let kstack = config::KERNEL_STACKS_BYTES * crate::smp::online() / 1024;
    let pt = kb(crate::mm::PT_FRAMES.load(Ordering::Relaxed));
    let anon = total_kb.saturating_sub(free_kb + shmem + heap + kstack + pt);
    let rows: [(&str, usize); 30] = [
        ("MemTotal", total_kb),
        ("MemFree", free_kb),
        ("MemAvailable", free_kb + heap_free),
        ("Buffers", 0),
        ("Cached", shmem),
        ("SwapCached", 0),
        ("Active", anon + shmem),
        ("Inactive", 0),
        ("Active(anon)", anon + shmem),
        ("Inactive(anon)", 0),
        ("Active(file)", 0),
        ("Inactive(file)", 0),
        ("Unevictable", 0),
        ("Mlocked", 0),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Dirty", 0),
        ("Writeback", 0),
        ("AnonPages", anon),
        ("Mapped", 0),
        ("Shmem", shmem),
        ("KReclaimable", 0),
        ("Slab", slab),
        ("SReclaimable", 0),
        ("SUnreclaim", slab),
        ("KernelStack", kstack),
        ("PageTables", pt),
        ("CommitLimit", total_kb / 2),
        ("Committed_AS", anon + shmem),
        ("VeloxHeapFree", heap_free),
    ];
    let mut s = String::new();
    for (k, v) in rows {
        let _ = writeln!(s, "{:<16}{v:>8} kB", alloc::format!("{k}:"));
    }
    s.into_bytes()
}

/// /proc/swaps: there is no swap.
fn swaps() -> Vec<u8> {
    b"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n".to_vec()
}

/// /proc/filesystems: the types mount(2) knows.
fn filesystems() -> Vec<u8> {
    b"nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\n".to_vec()
}

/// /proc/version.
fn version() -> Vec<u8> {
    alloc::format!("Linux version {RELEASE} (velox@velox) (rustc) {VERSION}\n").into_bytes()
}

fn hostname() -> Vec<u8> {
    let mut h = crate::syscall::sys::hostname();
    h.push(b'\n');
    h
}

/// /proc/velox/traps: the trap counters of all harts, fast path and slow path, by syscall and
/// by cause (what `trap::print_counters` prints at shutdown).
fn traps() -> Vec<u8> {
    let harts = &crate::smp::HARTS;
    let sum = |f: &dyn Fn(&crate::trap::Counters) -> u64| -> u64 { harts.iter().map(|h| f(&h.counters)).sum() };
    let mut s = String::new();
    let _ = writeln!(s, "{:>12} {:>12}  what", "fast", "slow");
    for nr in 0..crate::syscall::NR_MAX {
        let f = sum(&|c| c.fast_syscall[nr].load(Ordering::Relaxed));
        let sl = sum(&|c| c.slow_syscall[nr].load(Ordering::Relaxed));
        if f + sl > 0 {
            let _ = writeln!(s, "{f:>12} {sl:>12}  syscall {nr} {}", crate::syscall::name(nr));
        }
    }
    for i in 0..32 {
        let f = sum(&|c| c.fast_other[i].load(Ordering::Relaxed));
        let sl = sum(&|c| c.slow_other[i].load(Ordering::Relaxed));
        if f + sl > 0 {
            let (kind, code) = if i >= 16 { ("interrupt", i - 16) } else { ("exception", i) };
            let sc = if i >= 16 { (1 << 63) | code } else { code };
            let _ = writeln!(s, "{f:>12} {sl:>12}  {kind} {code} {}", hal::trap::cause_name(sc));
        }
    }
    s.into_bytes()
}

/// The mount table as seen from `ctx`'s root (/proc/<pid>/mounts): device, mount point, type,
/// options, "0 0". Mounts outside the root are left out.
fn mounts(ctx: &super::vfs::FsCtx) -> Vec<u8> {
    let mut s = Vec::new();
    for m in super::vfs::MOUNTS.all() {
        let at = match &m.parent {
            None => Loc { mnt: m.clone(), inode: m.root.clone() },
            Some((pm, pi)) => Loc { mnt: pm.clone(), inode: pi.clone() },
        };
        let Ok(path) = super::vfs::path_of(ctx, &at) else { continue };
        escape(&mut s, &m.source);
        s.push(b' ');
        escape(&mut s, &path);
        s.push(b' ');
        s.extend_from_slice(m.fs.name().as_bytes());
        s.extend_from_slice(if m.flags() & g::MS_RDONLY != 0 { b" ro" } else { b" rw" });
        for (bit, name) in [(g::MS_NOSUID, ",nosuid"), (g::MS_NODEV, ",nodev"), (g::MS_NOEXEC, ",noexec"), (g::MS_NOATIME, ",noatime")] {
            if m.flags() & bit != 0 {
                s.extend_from_slice(name.as_bytes());
            }
        }
        s.extend_from_slice(b" 0 0\n");
    }
    s
}

/// /proc/<pid>/mountinfo (`man 5 proc_pid_mountinfo`): mount id, parent id, major:minor,
/// root of the mount ("/": no bind mounts), mount point, per-mount options, no optional
/// fields, "-", type, source, super-block options. Ids are the mounts' places in the table
/// plus 20 (the root's parent is itself, as in a chroot-less Linux the root's is outside).
fn mountinfo(ctx: &super::vfs::FsCtx) -> Vec<u8> {
    let all = super::vfs::MOUNTS.all();
    let id = |m: &Arc<velox_vfs::path::Mount>| all.iter().position(|x| Arc::ptr_eq(x, m)).map_or(0, |i| i + 20);
    let mut s = Vec::new();
    for m in all.iter() {
        let (at, parent) = match &m.parent {
            None => (Loc { mnt: m.clone(), inode: m.root.clone() }, id(m)),
            Some((pm, pi)) => (Loc { mnt: pm.clone(), inode: pi.clone() }, id(pm)),
        };
        let Ok(path) = super::vfs::path_of(ctx, &at) else { continue };
        let (ma, mi) = velox_vfs::dev_split(m.root.stat().dev);
        let ro = m.flags() & g::MS_RDONLY != 0;
        let _ = write!(StrOut(&mut s), "{} {} {}:{} / ", id(m), parent, ma, mi);
        escape(&mut s, &path);
        s.extend_from_slice(if ro { b" ro" } else { b" rw" });
        for (bit, name) in [(g::MS_NOSUID, ",nosuid"), (g::MS_NODEV, ",nodev"), (g::MS_NOEXEC, ",noexec"), (g::MS_NOATIME, ",noatime")] {
            if m.flags() & bit != 0 {
                s.extend_from_slice(name.as_bytes());
            }
        }
        s.extend_from_slice(b" - ");
        s.extend_from_slice(m.fs.name().as_bytes());
        s.push(b' ');
        escape(&mut s, &m.source);
        s.extend_from_slice(if ro { b" ro\n" } else { b" rw\n" });
    }
    s
}

/// `core::fmt::Write` into a byte vector.
struct StrOut<'a>(&'a mut Vec<u8>);

impl core::fmt::Write for StrOut<'_> {
    fn write_str(&mut self, t: &str) -> core::fmt::Result {
        self.0.extend_from_slice(t.as_bytes());
        Ok(())
    }
}

/// Append `b` with space, tab, newline and backslash as octal escapes (as /proc/mounts).
fn escape(out: &mut Vec<u8>, b: &[u8]) {
    for &c in b {
        if matches!(c, b' ' | b'\t' | b'\n' | b'\\') {
            out.extend_from_slice(alloc::format!("\\{c:03o}").as_bytes());
        } else {
            out.push(c);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Process files.

/// Read user memory of a (possibly inactive) address space; false if a page is not there.
fn read_user(a: &mut AddrSpace, mut va: usize, out: &mut [u8]) -> bool {
    let mut done = 0;
    while done < out.len() {
        let Some(pa) = a.resolve(va) else { return false };
        let n = (PAGE_SIZE - va % PAGE_SIZE).min(out.len() - done);
        hal::mem::read_phys(pa, &mut out[done..done + n]);
        done += n;
        va += n;
    }
    true
}

/// Where the program's arguments and environment are: the initial stack the loader built
/// (argc, argv[], NULL, envp[], NULL, auxv, ..., strings, the exec path at the very top).
struct Args {
    /// Address of argc (mm->start_stack).
    sp: usize,
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    /// [start, end) of the argument and environment strings.
    arg: (usize, usize),
    env: (usize, usize),
}

/// Largest stack top read to find the arguments (longer argument lists are not shown).
const ARGS_WINDOW_MAX: usize = 128 << 10;

/// Find the arguments in the top of the stack. The exec path (AT_EXECFN) is the last string
/// below the stack top; its auxv entry is found by value, and from there the vectors are
/// walked back: auxv pairs, envp, argv, argc.
fn find_args(a: &mut AddrSpace) -> Option<Args> {
    let top = config::USER_STACK_TOP;
    let mut size = PAGE_SIZE;
    loop {
        let lo = top - size;
        let mut buf = alloc::vec![0u8; size];
        if read_user(a, lo, &mut buf)
            && let Some(r) = parse_args(&buf, lo)
        {
            return Some(r);
        }
        if size >= ARGS_WINDOW_MAX {
            return None;
        }
        size *= 2;
    }
}

fn parse_args(buf: &[u8], lo: usize) -> Option<Args> {
    let top = lo + buf.len();
    let word = |va: usize| -> Option<u64> {
        let o = va.checked_sub(lo)?;
        Some(u64::from_le_bytes(buf.get(o..o + 8)?.try_into().ok()?))
    };
    let cstr = |va: u64| -> Vec<u8> {
        let o = (va as usize).wrapping_sub(lo);
        let rest = buf.get(o..).unwrap_or(&[]);
        rest[..rest.iter().position(|&c| c == 0).unwrap_or(rest.len())].to_vec()
    };
    if *buf.last()? != 0 {
        return None;
    }
    let execfn = lo + buf[..buf.len() - 1].iter().rposition(|&c| c == 0)? + 1;
    let (k_execfn, k_null) = (at::AT_EXECFN as u64, at::AT_NULL as u64);
    let mut a = (execfn.checked_sub(32)?) & !7;
    while !(word(a)? == k_execfn && word(a + 8)? == execfn as u64 && word(a + 16)? == k_null && word(a + 24)? == 0) {
        a = a.checked_sub(8)?;
    }
    // Earlier auxv pairs have small non-zero keys; the word before the vector ends envp.
    while (1..64).contains(&word(a.checked_sub(16)?)?) {
        a -= 16;
    }
    let mut p = a - 8;
    if word(p)? != 0 {
        return None;
    }
    let mut envp = Vec::new();
    while word(p - 8)? != 0 {
        p -= 8;
        envp.push(word(p)?);
    }
    p -= 8; // argv's NULL
    let mut argv = Vec::new();
    while word(p - 8)? >= PAGE_SIZE as u64 {
        p -= 8;
        argv.push(word(p)?);
    }
    let sp = p - 8;
    if word(sp)? != argv.len() as u64 {
        return None;
    }
    argv.reverse();
    envp.reverse();
    let span = |v: &[u64]| -> (usize, usize) {
        let s = v.iter().map(|&x| x as usize).min().unwrap_or(0);
        let e = v.iter().map(|&x| x as usize + cstr(x).len() + 1).max().unwrap_or(0);
        (s, e.min(top))
    };
    let (arg, env) = (span(&argv), span(&envp));
    Some(Args { sp, argv: argv.iter().map(|&x| cstr(x)).collect(), envp: envp.iter().map(|&x| cstr(x)).collect(), arg, env })
}

/// What a VM area is, for maps and the memory counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Area {
    /// A segment of the program's image.
    Image,
    Heap,
    Stack,
    Vvar,
    Vdso,
    Anon,
}

fn area_of(v: &Vma, a: &AddrSpace) -> Area {
    let vdso_end = config::VDSO_ADDR + crate::vdso::frames().1.len() * PAGE_SIZE;
    if v.start >= config::VVAR_ADDR && v.end <= config::VDSO_ADDR {
        Area::Vvar
    } else if v.start >= config::VDSO_ADDR && v.end <= vdso_end {
        Area::Vdso
    } else if v.end == config::USER_STACK_TOP {
        Area::Stack
    } else if (v.backing == Backing::Eager || v.backing.file_id().is_some() && !v.backing.is_shared()) && v.end <= a.brk_start {
        Area::Image
    } else if a.brk > a.brk_start && v.start >= a.brk_start && v.end <= page_ceil(a.brk).unwrap_or(usize::MAX) {
        Area::Heap
    } else {
        Area::Anon
    }
}

/// A process's memory, summed up from its address space.
#[derive(Default)]
struct Mem {
    /// Bytes mapped; pages resident (page tables included).
    vsize: usize,
    rss: usize,
    /// Bytes: image code, private writable data (heap included), stack, other executable.
    exe: usize,
    data: usize,
    stack: usize,
    lib: usize,
    shared: usize,
    code: (usize, usize),
    data_seg: (usize, usize),
    brk: (usize, usize),
    args: Option<Args>,
    /// (start, end, rwx/shared flags, area) of each VM area, when asked for.
    areas: Vec<(Vma, Area)>,
    /// The file and file offset of each area that maps one (same order as `areas`).
    files: Vec<Option<(crate::fs::FileRef, u64)>>,
}

/// The address space of `p` (its first thread's), if it has one.
fn mm_of(p: &Process, tid: usize) -> Option<Arc<crate::mm::aspace::Mm>> {
    let t = if tid != 0 { thread_of(p, tid).ok()? } else { p.threads.lock().values().next()?.clone() };
    t.mm()
}

fn mem_of(p: &Process, tid: usize, want_args: bool, want_areas: bool) -> Mem {
    let mut m = Mem::default();
    let Some(mm) = mm_of(p, tid) else { return m };
    if mm.is_dead() {
        return m; // (its last thread is gone: nothing to fault in there)
    }
    let mut a = mm.space.lock();
    let mut code = (usize::MAX, 0);
    let mut data = (usize::MAX, 0);
    let areas: Vec<(Vma, Area)> = a.vmas.iter().map(|v| (*v, area_of(v, &a))).collect();
    for &(v, kind) in &areas {
        let len = v.end - v.start;
        m.vsize += len;
        match kind {
            Area::Image if v.prot.exec() => code = (code.0.min(v.start), code.1.max(v.end)),
            Area::Image => data = (data.0.min(v.start), data.1.max(v.end)),
            _ => {}
        }
        if kind == Area::Stack {
            m.stack += len;
        } else if v.prot.exec() {
            if kind == Area::Image { m.exe += len } else { m.lib += len }
        } else if v.prot.write() && !v.backing.is_shared() {
            m.data += len;
        }
        if v.backing.is_shared() {
            m.shared += len;
        }
    }
    let fix = |r: (usize, usize)| if r.0 == usize::MAX { (0, 0) } else { r };
    m.code = fix(code);
    m.data_seg = fix(data);
    m.brk = (a.brk_start, a.brk);
    m.rss = a.resident_pages();
    if want_args {
        m.args = find_args(&mut a);
    }
    if want_areas {
        // (File references only here: describing a file takes its locks, which must not be
        // taken under the address space's lock; see mm::filemap.)
        m.files = areas.iter().map(|(v, _)| a.file_of(v)).collect();
        m.areas = areas;
    }
    m
}

/// A thread's state letter and name.
fn state(p: &Process, t: Option<&Thread>) -> (char, &'static str) {
    if p.is_zombie() {
        ('Z', "zombie")
    } else if p.sig.lock().stopped {
        ('T', "stopped")
    } else if t.is_some_and(on_cpu) {
        ('R', "running")
    } else {
        ('S', "sleeping")
    }
}

/// The thread a process-level file describes: the leader, or any if it is gone.
fn main_thread(p: &Process, ts: &[Arc<Thread>]) -> Option<Arc<Thread>> {
    ts.iter().find(|t| t.tid() == p.pid).or(ts.first()).cloned()
}

/// The command name (prctl PR_SET_NAME, or the base name of the path given to execve), 15
/// bytes at most (TASK_COMM_LEN - 1).
fn comm(p: &Process) -> Vec<u8> {
    let c = *p.comm.lock();
    c[..c.iter().position(|&b| b == 0).unwrap_or(15).min(15)].to_vec()
}

/// Blocked, pending (thread, process), ignored and caught signal sets.
struct Sigs {
    blocked: u64,
    pending: u64,
    shared: u64,
    ignored: u64,
    caught: u64,
    queued: usize,
}

fn sigs(p: &Process, t: Option<&Thread>) -> Sigs {
    let (shared, ignored, caught, pq) = {
        let s = p.sig.lock();
        let (mut ign, mut cgt) = (0u64, 0u64);
        for (i, a) in s.actions.iter().enumerate() {
            match a.handler {
                crate::task::signal::SIG_DFL => {}
                crate::task::signal::SIG_IGN => ign |= 1 << i,
                _ => cgt |= 1 << i,
            }
        }
        (s.pending.set(), ign, cgt, s.pending.queued())
    };
    let (pending, tq) = t
        .and_then(|t| t.sig.lock().as_ref().map(|s| (s.pending.set(), s.pending.queued())))
        .unwrap_or((0, 0));
    let blocked = t.map_or(0, |t| t.sigmask.load(Ordering::Relaxed));
    Sigs { blocked, pending, shared, ignored, caught, queued: pq + tq }
}

/// The text of /proc/<pid>/<e> (tid 0) or /proc/<pid>/task/<tid>/<e>.
fn pid_text(pid: usize, tid: usize, e: Ent) -> VResult<Vec<u8>> {
    let p = check(pid, tid)?;
    match e {
        Ent::Stat => Ok(stat_text(&p, tid)),
        Ent::Status => Ok(status_text(&p, tid)),
        Ent::Statm => {
            let m = mem_of(&p, tid, false, false);
            let pg = |b: usize| b / PAGE_SIZE;
            Ok(alloc::format!("{} {} {} {} 0 {} 0\n", pg(m.vsize), m.rss, pg(m.shared), pg(m.code.1 - m.code.0), pg(m.data + m.stack)).into_bytes())
        }
        Ent::Comm => {
            let mut c = comm(&p);
            c.push(b'\n');
            Ok(c)
        }
        Ent::Cmdline | Ent::Environ => {
            let Some(args) = mem_of(&p, tid, true, false).args else { return Ok(Vec::new()) };
            let mut out = Vec::new();
            for s in if e == Ent::Cmdline { &args.argv } else { &args.envp } {
                out.extend_from_slice(s);
                out.push(0);
            }
            Ok(out)
        }
        Ent::Maps => Ok(maps_text(&p, tid)),
        Ent::Limits => Ok(limits_text(&p)),
        Ent::Mounts => {
            let ctx = p.fs.lock().clone();
            Ok(mounts(&ctx))
        }
        Ent::Mountinfo => {
            let ctx = p.fs.lock().clone();
            Ok(mountinfo(&ctx))
        }
        _ => Err(errno::EINVAL),
    }
}

/// /proc/<pid>/stat: the 52 fields of Linux's do_task_stat.
fn stat_text(p: &Process, tid: usize) -> Vec<u8> {
    let ts = threads(p);
    let t = if tid != 0 { ts.iter().find(|t| t.tid() == tid).cloned() } else { main_thread(p, &ts) };
    let (st, _) = state(p, t.as_deref());
    let (user, cpu) = match (&t, tid) {
        (Some(t), 1..) => t.cpu_times(),
        _ => proc_times(p, &ts),
    };
    let tm = *p.times.lock();
    let m = mem_of(p, tid, true, false);
    let sg = sigs(p, t.as_deref());
    let rsslim = p.limits.lock()[g::RLIMIT_RSS as usize].0;
    let (pgid, sid) = (p.pgid.load(Ordering::Relaxed), p.sid.load(Ordering::Relaxed));
    // PF_RANDOMIZE for user processes (as Linux shows them); PF_KTHREAD for the kernel's init.
    let flags: u32 = if ts.is_empty() && !p.is_zombie() { 0x0020_0040 } else { 0x0040_0000 };
    let running = t.as_ref().is_some_and(|t| on_cpu(t));
    let cpu_nr = t.as_ref().map_or(0, |t| t.running_on.load(Ordering::Relaxed).saturating_sub(1));
    let exit_signal: i64 = if tid != 0 && tid != p.pid { -1 } else { p.exit_signal.load(Ordering::Relaxed) as i64 };
    let exit_code = p.exit_status().map_or(0, |s| s.wait_status());
    let (sp, arg, env) = m.args.as_ref().map_or((0, (0, 0), (0, 0)), |a| (a.sp, a.arg, a.env));
    let mut s = String::new();
    let _ = write!(
        s,
        "{} ({}) {st} {} {pgid} {sid} 0 -1 {flags} 0 0 0 0 {} {} {} {} 20 0 {} 0 {} {} {} {rsslim} {} {} {sp} 0 0 ",
        if tid != 0 { tid } else { p.pid },
        String::from_utf8_lossy(&comm(p)),
        p.ppid(),
        clk(user),
        clk(cpu.saturating_sub(user)),
        clk(tm.child_user),
        clk(tm.child_cpu.saturating_sub(tm.child_user)),
        ts.len(),
        clk(p.start_ticks),
        m.vsize,
        m.rss,
        m.code.0,
        m.code.1,
    );
    let low = |x: u64| x & 0x7fff_ffff;
    let _ = writeln!(
        s,
        "{} {} {} {} {} 0 0 {exit_signal} {cpu_nr} 0 0 0 0 0 {} {} {} {} {} {} {} {exit_code}",
        low(sg.pending | sg.shared),
        low(sg.blocked),
        low(sg.ignored),
        low(sg.caught),
        if running || p.is_zombie() { 0 } else { 1 },
        m.data_seg.0,
        m.data_seg.1,
        m.brk.0,
        arg.0,
        arg.1,
        env.0,
        env.1,
    );
    s.into_bytes()
}

/// A CPU list as ranges ("0-3", "0,2").
fn cpu_list(mask: u64) -> String {
    let mut s = String::new();
    let mut i = 0;
    while i < 64 {
        if mask & (1 << i) != 0 {
            let start = i;
            while i + 1 < 64 && mask & (1 << (i + 1)) != 0 {
                i += 1;
            }
            if !s.is_empty() {
                s.push(',');
            }
            let _ = if start == i { write!(s, "{i}") } else { write!(s, "{start}-{i}") };
        }
        i += 1;
    }
    s
}

/// /proc/<pid>/status.
fn status_text(p: &Process, tid: usize) -> Vec<u8> {
    let ts = threads(p);
    let t = if tid != 0 { ts.iter().find(|t| t.tid() == tid).cloned() } else { main_thread(p, &ts) };
    let (st, st_name) = state(p, t.as_deref());
    let cred = *p.cred.lock();
    let umask = p.fs.lock().umask;
    let fdsize = p.fds.lock().len().div_ceil(64).max(1) * 64;
    let m = mem_of(p, tid, false, false);
    let sg = sigs(p, t.as_deref());
    let sigq_max = p.limits.lock()[g::RLIMIT_SIGPENDING as usize].0;
    let online = (1u64 << crate::smp::online()) - 1;
    let allowed = t.as_ref().map_or(online, |t| t.affinity.load(Ordering::Relaxed) as u64 & online);
    let caps: u64 = if cred.uid.e == 0 { 0x1ff_ffff_ffff } else { 0 };
    let (pgid, sid) = (p.pgid.load(Ordering::Relaxed), p.sid.load(Ordering::Relaxed));
    let id = if tid != 0 { tid } else { p.pid };
    let kb = |b: usize| b / 1024;
    let rss_kb = m.rss * PAGE_SIZE / 1024;
    let mut s = String::new();
    let _ = write!(s, "Name:\t{}\nUmask:\t{:04o}\nState:\t{st} ({st_name})\n", String::from_utf8_lossy(&comm(p)), umask);
    let _ = write!(s, "Tgid:\t{}\nNgid:\t0\nPid:\t{id}\nPPid:\t{}\nTracerPid:\t0\n", p.pid, p.ppid());
    let _ = write!(s, "Uid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\n", cred.uid.r, cred.uid.e, cred.uid.s, cred.uid.fs, cred.gid.r, cred.gid.e, cred.gid.s, cred.gid.fs);
    let _ = write!(s, "FDSize:\t{fdsize}\nGroups:\t \nNStgid:\t{}\nNSpid:\t{id}\nNSpgid:\t{pgid}\nNSsid:\t{sid}\n", p.pid);
    let _ = writeln!(s, "Kthread:\t{}", if ts.is_empty() && !p.is_zombie() { 1 } else { 0 });
    if !ts.is_empty() {
        for (k, v) in [
            ("VmPeak", kb(m.vsize)),
            ("VmSize", kb(m.vsize)),
            ("VmLck", 0),
            ("VmPin", 0),
            ("VmHWM", rss_kb),
            ("VmRSS", rss_kb),
            ("RssAnon", rss_kb - kb(m.shared).min(rss_kb)),
            ("RssFile", 0),
            ("RssShmem", kb(m.shared).min(rss_kb)),
            ("VmData", kb(m.data)),
            ("VmStk", kb(m.stack)),
            ("VmExe", kb(m.exe)),
            ("VmLib", kb(m.lib)),
            ("VmPTE", 0),
            ("VmSwap", 0),
        ] {
            let _ = writeln!(s, "{}\t{v:>8} kB", alloc::format!("{k}:"));
        }
    }
    let _ = write!(s, "CoreDumping:\t0\nThreads:\t{}\nSigQ:\t{}/{}\n", ts.len(), sg.queued, sigq_max);
    let _ = write!(
        s,
        "SigPnd:\t{:016x}\nShdPnd:\t{:016x}\nSigBlk:\t{:016x}\nSigIgn:\t{:016x}\nSigCgt:\t{:016x}\n",
        sg.pending, sg.shared, sg.blocked, sg.ignored, sg.caught
    );
    let _ = write!(s, "CapInh:\t0000000000000000\nCapPrm:\t{caps:016x}\nCapEff:\t{caps:016x}\nCapBnd:\t{:016x}\nCapAmb:\t0000000000000000\n", 0x1ff_ffff_ffffu64);
    let _ = write!(s, "NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n");
    let _ = write!(s, "Cpus_allowed:\t{allowed:x}\nCpus_allowed_list:\t{}\nMems_allowed:\t1\nMems_allowed_list:\t0\n", cpu_list(allowed));
    let _ = write!(s, "voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n");
    s.into_bytes()
}

/// /proc/<pid>/maps: `start-end perms offset dev inode path`, the path at column 73.
fn maps_text(p: &Process, tid: usize) -> Vec<u8> {
    let m = mem_of(p, tid, false, true);
    if m.areas.is_empty() {
        return Vec::new();
    }
    let exe = p.exe.lock().clone();
    // The image's device, inode and load segments (Velox copies the segments in, but they
    // come from it).
    let ctx = p.fs.lock().clone();
    let file = super::vfs::walk(&ctx, &velox_vfs::Who::ROOT, &ctx.root, &exe, true).ok();
    let (dev, ino) = file.as_ref().map_or((0, 0), |l| {
        let st = l.inode.stat();
        (st.dev, st.ino)
    });
    let loads = file.map_or(Vec::new(), |l| elf_loads(&l.inode));
    let (maj, min) = velox_vfs::dev_split(dev);
    let first = m.areas.iter().find(|(_, k)| *k == Area::Image).map_or(0, |(v, _)| v.start);
    // Load bias: where the first segment's page went.
    let bias = loads.first().map_or(0, |&(_, va)| first.wrapping_sub(va & !(PAGE_SIZE - 1)));
    // File offset of an image page: from the segment holding it (else from the first page).
    let offset_of = |start: usize| -> usize {
        loads
            .iter()
            .rev()
            .find(|&&(_, va)| (va & !(PAGE_SIZE - 1)).wrapping_add(bias) <= start)
            .map_or(start - first, |&(off, va)| (off & !(PAGE_SIZE - 1)) + start - (va & !(PAGE_SIZE - 1)).wrapping_add(bias))
    };
    let mut out = Vec::new();
    for (i, (v, kind)) in m.areas.iter().enumerate() {
        let perms = [
            if v.prot.read() { 'r' } else { '-' },
            if v.prot.write() { 'w' } else { '-' },
            if v.prot.exec() { 'x' } else { '-' },
            if v.backing.is_shared() { 's' } else { 'p' },
        ];
        let mut l = String::new();
        let file = m.files.get(i).and_then(|f| f.as_ref());
        let mut fname = Vec::new();
        let (off, dv, ino) = if let Some((f, off)) = file {
            fname = f.describe();
            let (d, i) = f.location().map_or((0, 0), |l| l.inode.id());
            (*off as usize, velox_vfs::dev_split(d), i)
        } else if *kind == Area::Image {
            (offset_of(v.start), (maj, min), ino)
        } else {
            (0, (0, 0), 0)
        };
        let _ = write!(l, "{:08x}-{:08x} {}{}{}{} {off:08x} {:02x}:{:02x} {ino} ", v.start, v.end, perms[0], perms[1], perms[2], perms[3], dv.0, dv.1);
        let name: &[u8] = match kind {
            Area::Image if file.is_some() => &fname,
            Area::Image => &exe,
            Area::Heap => b"[heap]",
            Area::Stack => b"[stack]",
            Area::Vvar => b"[vvar]",
            Area::Vdso => b"[vdso]",
            Area::Anon => &fname,
        };
        let mut l = l.into_bytes();
        if !name.is_empty() {
            while l.len() < 72 {
                l.push(b' ');
            }
            l.push(b' ');
            l.extend_from_slice(name);
        }
        l.push(b'\n');
        out.extend_from_slice(&l);
    }
    out
}

/// (file offset, virtual address) of each PT_LOAD segment of the ELF file `f`,
/// by address (empty if it is not a 64-bit little-endian ELF file).
fn elf_loads(f: &InodeRef) -> Vec<(usize, usize)> {
    let mut head = [0u8; 64];
    let mut got = 0;
    let _ = f.read_at(0, 64, &mut |b| {
        head[got..got + b.len()].copy_from_slice(b);
        got += b.len();
        Ok(())
    });
    if got < 64 || &head[..4] != b"\x7fELF" || head[4] != 2 || head[5] != 1 {
        return Vec::new();
    }
    let u = |b: &[u8], o: usize, n: usize| b[o..o + n].iter().rev().fold(0usize, |a, &c| (a << 8) | c as usize);
    let (phoff, phentsize, phnum) = (u(&head, 0x20, 8), u(&head, 0x36, 2), u(&head, 0x38, 2));
    if phentsize < 56 || phnum > 64 {
        return Vec::new();
    }
    let mut ph = Vec::new();
    let _ = f.read_at(phoff as u64, phentsize * phnum, &mut |b| {
        ph.extend_from_slice(b);
        Ok(())
    });
    let mut out: Vec<(usize, usize)> = ph
        .chunks_exact(phentsize)
        .filter(|e| u(e, 0, 4) == 1)
        .map(|e| (u(e, 0x8, 8), u(e, 0x10, 8)))
        .collect();
    out.sort_by_key(|e| e.1);
    out
}

/// /proc/<pid>/limits.
fn limits_text(p: &Process) -> Vec<u8> {
    const NAMES: [(&str, &str); 16] = [
        ("Max cpu time", "seconds"),
        ("Max file size", "bytes"),
        ("Max data size", "bytes"),
        ("Max stack size", "bytes"),
        ("Max core file size", "bytes"),
        ("Max resident set", "bytes"),
        ("Max processes", "processes"),
        ("Max open files", "files"),
        ("Max locked memory", "bytes"),
        ("Max address space", "bytes"),
        ("Max file locks", "locks"),
        ("Max pending signals", "signals"),
        ("Max msgqueue size", "bytes"),
        ("Max nice priority", ""),
        ("Max realtime priority", ""),
        ("Max realtime timeout", "us"),
    ];
    let l = *p.limits.lock();
    let mut s = String::new();
    let _ = writeln!(s, "{:<25} {:<20} {:<20} {:<10}", "Limit", "Soft Limit", "Hard Limit", "Units");
    let v = |x: u64| if x == u64::MAX { String::from("unlimited") } else { alloc::format!("{x}") };
    for (i, (name, unit)) in NAMES.iter().enumerate() {
        let (soft, hard) = l.get(i).copied().unwrap_or((u64::MAX, u64::MAX));
        let _ = write!(s, "{name:<25} {:<20} {:<20} ", v(soft), v(hard));
        if !unit.is_empty() {
            let _ = write!(s, "{unit:<10}");
        }
        s.push('\n');
    }
    s.into_bytes()
}
