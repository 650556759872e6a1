//! procfs: /proc's files, generated from kernel state when read.

use crate::task::process::{self, Process};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use linux_raw_sys::errno;
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

/// A generator of a file's text.
type Gen = fn() -> Vec<u8>;

/// Files directly in /proc.
const ROOT_FILES: [(&[u8], Gen); 2] = [(b"meminfo", super::meminfo), (b"cpuinfo", super::cpuinfo)];

/// What a procfs inode is.
#[derive(Clone)]
enum Node {
    Root,
    /// /proc/self: a link to the caller's pid directory.
    SelfLink,
    /// A file of /proc (index into ROOT_FILES).
    RootFile(usize),
    /// /proc/<pid>.
    Pid(usize),
    /// /proc/<pid>/exe, cwd, root.
    PidLink(usize, PidLink),
    /// /proc/<pid>/fd.
    FdDir(usize),
    /// /proc/<pid>/fd/<n>.
    Fd(usize, usize),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PidLink {
    Exe,
    Cwd,
    Root,
}

const PID_LINKS: [(&[u8], PidLink); 3] = [(b"exe", PidLink::Exe), (b"cwd", PidLink::Cwd), (b"root", PidLink::Root)];

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

fn find(pid: usize) -> VResult<Arc<Process>> {
    process::all().into_iter().find(|p| p.pid == pid && !p.is_zombie()).ok_or(errno::ENOENT)
}

fn current_pid() -> usize {
    crate::task::current::with(|t| t.map_or(1, |t| t.process.pid))
}

impl ProcInode {
    fn make(&self, node: Node) -> InodeRef {
        Arc::new(ProcInode { fs: self.fs.clone(), node })
    }
    fn text(&self) -> VResult<Vec<u8>> {
        match &self.node {
            Node::RootFile(i) => Ok((ROOT_FILES[*i].1)()),
            _ => Err(errno::EINVAL),
        }
    }
    fn link_target(&self) -> VResult<(Vec<u8>, Option<Loc>)> {
        match &self.node {
            Node::SelfLink => Ok((alloc::format!("{}", current_pid()).into_bytes(), None)),
            Node::PidLink(pid, which) => {
                let p = find(*pid)?;
                match which {
                    PidLink::Exe => Ok((p.exe.lock().clone(), None)),
                    PidLink::Cwd | PidLink::Root => {
                        let ctx = p.fs.lock().clone();
                        let l = if *which == PidLink::Cwd { ctx.cwd.clone() } else { ctx.root.clone() };
                        let caller = crate::task::current::with(|t| t.map(|t| t.process.fs.lock().clone())).unwrap_or(ctx);
                        Ok((super::vfs::path_of(&caller, &l)?, Some(l)))
                    }
                }
            }
            Node::Fd(pid, fd) => {
                let p = find(*pid)?;
                let f = p.fds.lock().get(*fd).cloned().ok_or(errno::ENOENT)?;
                Ok((f.describe(), f.location()))
            }
            _ => Err(errno::EINVAL),
        }
    }
    fn ino(&self) -> u64 {
        match &self.node {
            Node::Root => 1,
            Node::SelfLink => 2,
            Node::RootFile(i) => 16 + *i as u64,
            Node::Pid(p) => ((*p as u64) << 16) | 1,
            Node::PidLink(p, l) => ((*p as u64) << 16) | (2 + *l as u64),
            Node::FdDir(p) => ((*p as u64) << 16) | 8,
            Node::Fd(p, fd) => ((*p as u64) << 16) | 0x100 | *fd as u64,
        }
    }
}

impl Inode for ProcInode {
    fn id(&self) -> (u64, u64) {
        (self.fs.dev, self.ino())
    }
    fn kind(&self) -> FileType {
        match self.node {
            Node::Root | Node::Pid(_) | Node::FdDir(_) => FileType::Dir,
            Node::SelfLink | Node::PidLink(..) | Node::Fd(..) => FileType::Symlink,
            Node::RootFile(_) => FileType::Regular,
        }
    }
    fn stat(&self) -> Stat {
        let kind = self.kind();
        let perm = match kind {
            FileType::Dir => 0o555,
            FileType::Symlink => 0o777,
            _ => 0o444,
        };
        let (uid, gid) = match &self.node {
            Node::Pid(p) | Node::PidLink(p, _) | Node::FdDir(p) | Node::Fd(p, _) => find(*p).map(|p| {
                let c = p.cred.lock();
                (c.uid.e, c.gid.e)
            }),
            _ => Ok((0, 0)),
        }
        .unwrap_or((0, 0));
        let t = super::vfs::now();
        Stat {
            dev: self.fs.dev,
            ino: self.ino(),
            mode: kind.mode_bits() | perm,
            nlink: if kind == FileType::Dir { 2 } else { 1 },
            uid,
            gid,
            blksize: 1024,
            atime: t,
            mtime: t,
            ctime: t,
            ..Default::default()
        }
    }
    fn lookup(&self, name: &[u8]) -> VResult<InodeRef> {
        match &self.node {
            Node::Root => {
                if name == b".." {
                    return Ok(self.make(Node::Root));
                }
                if name == b"self" {
                    return Ok(self.make(Node::SelfLink));
                }
                if let Some(i) = ROOT_FILES.iter().position(|(n, _)| *n == name) {
                    return Ok(self.make(Node::RootFile(i)));
                }
                let pid = parse_num(name).ok_or(errno::ENOENT)?;
                find(pid)?;
                Ok(self.make(Node::Pid(pid)))
            }
            Node::Pid(pid) => {
                if name == b".." {
                    return Ok(self.make(Node::Root));
                }
                find(*pid)?;
                if let Some((_, l)) = PID_LINKS.iter().find(|(n, _)| *n == name) {
                    return Ok(self.make(Node::PidLink(*pid, *l)));
                }
                if name == b"fd" {
                    return Ok(self.make(Node::FdDir(*pid)));
                }
                Err(errno::ENOENT)
            }
            Node::FdDir(pid) => {
                if name == b".." {
                    return Ok(self.make(Node::Pid(*pid)));
                }
                let fd = parse_num(name).ok_or(errno::ENOENT)?;
                find(*pid)?.fds.lock().get(fd).ok_or(errno::ENOENT)?;
                Ok(self.make(Node::Fd(*pid, fd)))
            }
            _ => Err(errno::ENOTDIR),
        }
    }
    fn readdir(&self, pos: u64, sink: &mut dyn FnMut(&DirEntry) -> bool) -> VResult<()> {
        // Build the listing (small), then hand out from `pos`.
        let mut list: Vec<(Vec<u8>, u64, FileType)> = Vec::new();
        let me = self.ino();
        match &self.node {
            Node::Root => {
                list.push((b".".to_vec(), me, FileType::Dir));
                list.push((b"..".to_vec(), me, FileType::Dir));
                for (i, (n, _)) in ROOT_FILES.iter().enumerate() {
                    list.push((n.to_vec(), 16 + i as u64, FileType::Regular));
                }
                list.push((b"self".to_vec(), 2, FileType::Symlink));
                for p in process::all() {
                    if !p.is_zombie() {
                        list.push((alloc::format!("{}", p.pid).into_bytes(), ((p.pid as u64) << 16) | 1, FileType::Dir));
                    }
                }
            }
            Node::Pid(pid) => {
                find(*pid)?;
                list.push((b".".to_vec(), me, FileType::Dir));
                list.push((b"..".to_vec(), 1, FileType::Dir));
                for (n, l) in PID_LINKS {
                    list.push((n.to_vec(), ((*pid as u64) << 16) | (2 + l as u64), FileType::Symlink));
                }
                list.push((b"fd".to_vec(), ((*pid as u64) << 16) | 8, FileType::Dir));
            }
            Node::FdDir(pid) => {
                let p = find(*pid)?;
                list.push((b".".to_vec(), me, FileType::Dir));
                list.push((b"..".to_vec(), ((*pid as u64) << 16) | 1, FileType::Dir));
                let fds = p.fds.lock();
                for fd in 0..fds.len() {
                    if fds.get(fd).is_some() {
                        list.push((alloc::format!("{fd}").into_bytes(), ((*pid as u64) << 16) | 0x100 | fd as u64, FileType::Symlink));
                    }
                }
            }
            _ => return Err(errno::ENOTDIR),
        }
        for (i, (name, ino, kind)) in list.iter().enumerate().skip(pos as usize) {
            if !sink(&DirEntry { name, ino: *ino, kind: *kind, next: i as u64 + 1 }) {
                break;
            }
        }
        Ok(())
    }
    fn read_at(&self, off: u64, len: usize, sink: &mut dyn FnMut(&[u8]) -> VResult<()>) -> VResult<usize> {
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
        match &self.node {
            Node::PidLink(..) | Node::Fd(..) => self.link_target().ok().and_then(|t| t.1),
            _ => None,
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn parse_num(s: &[u8]) -> Option<usize> {
    if s.is_empty() || s.len() > 9 || s[0] == b'0' && s.len() > 1 {
        return None;
    }
    s.iter().try_fold(0usize, |a, &c| c.is_ascii_digit().then(|| a * 10 + (c - b'0') as usize))
}
