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
    // The virtio disks: vda, vdb, ... (block devices 254:0, 254:16, ...).
    let mut i = 0;
    while crate::dev::blk::disk(i).is_some() && i < 26 {
        let name = [b'v', b'd', b'a' + i as u8];
        let _ = root.create(&name, &NewNode { kind: FileType::Block, perm: 0o660, rdev: super::ext4::disk_dev(i), ..base });
        i += 1;
    }
    let _ = root.create(b"shm", &NewNode { kind: FileType::Dir, perm: 0o1777, ..base });
    let _ = root.create(b"pts", &NewNode { kind: FileType::Dir, perm: 0o755, ..base });
}

/// What opening character device `rdev` with `flags` gives; ENXIO for a device Velox does
/// not have, and for /dev/tty without a controlling terminal. Opening the serial line (not
/// /dev/console, never a controlling terminal on Linux) may make it the session's
/// controlling terminal.
pub fn open_char(t: &crate::task::Thread, rdev: u64, flags: u32) -> Result<FileKind, u32> {
    use linux_raw_sys::general as g;
    let tty = crate::dev::tty::console();
    Ok(match velox_vfs::dev_split(rdev) {
        (5, 0) => {
            if !tty.is_ctty_of(t) {
                return Err(errno::ENXIO);
            }
            FileKind::Console
        }
        (5, 1) => FileKind::Console,
        (4, 64) => {
            tty.on_open(t, flags & g::O_NOCTTY != 0 || flags & g::O_ACCMODE == g::O_WRONLY);
            FileKind::Console
        }
        (1, 3) => FileKind::Null,
        (1, 5) => FileKind::Zero,
        (1, 7) => FileKind::Full,
        (1, 8) | (1, 9) => FileKind::Random,
        _ => return Err(errno::ENXIO),
    })
}
