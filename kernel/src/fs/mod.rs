//! Files: the descriptor table and the initial RAM disk (a cpio archive from the boot loader).

use crate::boot::BootInfo;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use velox_hal as hal;

/// An open file. Only the console exists until the VFS issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum File {
    Console,
}

/// A process's descriptor table.
#[derive(Debug, Default)]
pub struct FdTable {
    fds: Vec<Option<File>>,
}

impl FdTable {
    /// stdin, stdout and stderr on the console.
    pub fn with_console() -> Self {
        FdTable { fds: alloc::vec![Some(File::Console), Some(File::Console), Some(File::Console)] }
    }
    /// The file at `fd`.
    pub fn get(&self, fd: usize) -> Option<File> {
        self.fds.get(fd).cloned().flatten()
    }
    /// Close `fd`; false if it was not open.
    pub fn close(&mut self, fd: usize) -> bool {
        self.fds.get_mut(fd).and_then(|f| f.take()).is_some()
    }
    /// Close everything (process exit).
    pub fn close_all(&mut self) {
        self.fds.clear();
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
