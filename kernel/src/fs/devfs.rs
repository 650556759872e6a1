//! Device nodes: what devtmpfs at /dev holds, and what opening a character device gives.

use super::FileKind;
use linux_raw_sys::errno;
use velox_vfs::{FileType, InodeRef, NewNode, makedev};

/// (name, major, minor, permissions) of the character devices in /dev.
const NODES: [(&[u8], u32, u32, u32); 8] = [
    (b"null", 1, 3, 0o666),
    (b"zero", 1, 5, 0o666),
    (b"full", 1, 7, 0o666),
    (b"random", 1, 8, 0o666),
    (b"urandom", 1, 9, 0o666),
    (b"tty", 5, 0, 0o666),
    (b"console", 5, 1, 0o600),
    (b"ttyS0", 4, 64, 0o620),
];

/// Fill a fresh /dev: the device nodes, the fd links and the shm and pts directories.
pub fn populate(root: &InodeRef) {
    let base = NewNode { kind: FileType::Char, perm: 0, uid: 0, gid: 0, rdev: 0, target: b"" };
    for (name, ma, mi, perm) in NODES {
        let _ = root.create(name, &NewNode { perm, rdev: makedev(ma, mi), ..base });
    }
    for (name, target) in [(&b"fd"[..], &b"/proc/self/fd"[..]), (b"stdin", b"/proc/self/fd/0"), (b"stdout", b"/proc/self/fd/1"), (b"stderr", b"/proc/self/fd/2")] {
        let _ = root.create(name, &NewNode { kind: FileType::Symlink, perm: 0o777, target, ..base });
    }
    let _ = root.create(b"shm", &NewNode { kind: FileType::Dir, perm: 0o1777, ..base });
    let _ = root.create(b"pts", &NewNode { kind: FileType::Dir, perm: 0o755, ..base });
}

/// What opening character device `rdev` gives; ENXIO for a device Velox does not have.
pub fn open_char(rdev: u64) -> Result<FileKind, u32> {
    Ok(match velox_vfs::dev_split(rdev) {
        (1, 3) => FileKind::Null,
        (1, 5) => FileKind::Zero,
        (1, 7) => FileKind::Full,
        (1, 8) | (1, 9) => FileKind::Random,
        (5, 0) | (5, 1) | (4, 64) => FileKind::Console,
        _ => return Err(errno::ENXIO),
    })
}
