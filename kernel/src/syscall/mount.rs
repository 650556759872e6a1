//! Mount system calls: mount (ext4 from a virtio disk, tmpfs, proc, devtmpfs, sysfs) and umount2.

use super::path::{Caller, user_path};
use super::{Fast, ret, uaccess};
use crate::fs::vfs;
use crate::task::Thread;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_hal::trap::UserContext;
use velox_vfs::FileType;

/// Flags a new mount accepts: nosuid (Velox has no set-user-id execution, so it holds
/// anyway), the access-time policies (time stamps are kept as with strictatime: a policy, not
/// a permission) and MS_SILENT. Read-only, nodev, noexec and synchronous mounts are not
/// enforced yet, so they are refused (EINVAL) rather than reported as done.
const KEEP_FLAGS: u32 = g::MS_NOSUID | g::MS_NOATIME | g::MS_NODIRATIME | g::MS_RELATIME | g::MS_SILENT | g::MS_STRICTATIME | g::MS_LAZYTIME;

/// mount(source, target, fstype, flags, data).
pub fn mount(t: &Thread, c: &UserContext) -> Fast {
    let (src, target, fstype, flags, data) = (c.arg(0), c.arg(1), c.arg(2), c.arg(3) as u32, c.arg(4));
    Fast::Done(ret((|| {
        let mut flags = flags;
        let caller = Caller::of(t);
        if !caller.cred.privileged() {
            return Err(errno::EPERM);
        }
        let target = user_path(target)?;
        let at = caller.lookup(t, g::AT_FDCWD, &target, true, false)?;
        if flags & g::MS_REMOUNT != 0 {
            // Only ext4 changes a mount's flags, between read-write and read-only (what
            // busybox's `umount -a -r` asks at shutdown); elsewhere EINVAL, never a remount
            // that reports success and changes nothing.
            if !at.is_mount_root() {
                return Err(errno::EINVAL);
            }
            if !crate::fs::ext4::is_ext4(&at.mnt.fs) || flags & !(KEEP_FLAGS | g::MS_RDONLY | g::MS_REMOUNT | g::MS_MGC_VAL) != 0 && flags & 0xffff_0000 != g::MS_MGC_VAL {
                return Err(errno::EINVAL);
            }
            let ro = flags & g::MS_RDONLY != 0;
            crate::fs::ext4::remount(&at.mnt.fs, ro)?;
            let old = at.mnt.flags();
            at.mnt.set_flags(if ro { old | g::MS_RDONLY } else { old & !g::MS_RDONLY });
            return Ok(0);
        }
        if flags & (g::MS_BIND | g::MS_MOVE | g::MS_SHARED | g::MS_PRIVATE | g::MS_SLAVE | g::MS_UNBINDABLE) != 0 {
            return Err(errno::EINVAL); // bind mounts and propagation are not supported
        }
        let fstype = if fstype == 0 { return Err(errno::EFAULT) } else { uaccess::read_cstr(fstype, 255)? };
        // ext4 enforces read-only mounts (EROFS); the in-memory file systems do not.
        let keep = if fstype == b"ext4" { KEEP_FLAGS | g::MS_RDONLY } else { KEEP_FLAGS };
        if flags & !(keep | g::MS_MGC_VAL) != 0 && flags & 0xffff_0000 != g::MS_MGC_VAL {
            return Err(errno::EINVAL);
        }
        let source = if src == 0 { b"none".to_vec() } else { user_path(src)? };
        let data = if data == 0 { alloc::vec::Vec::new() } else { uaccess::read_cstr(data, 4095)? };
        if at.inode.kind() != FileType::Dir {
            return Err(errno::ENOTDIR);
        }
        let (fs, root) = if fstype == b"ext4" {
            // The source is a block device node of a virtio disk.
            if src == 0 {
                return Err(errno::EFAULT);
            }
            let dev = caller.lookup(t, g::AT_FDCWD, &source, true, false)?;
            if dev.inode.kind() != FileType::Block {
                return Err(errno::ENOTBLK);
            }
            crate::fs::ext4::check_options(&data)?;
            let disk = crate::fs::ext4::disk_of(dev.inode.stat().rdev).ok_or(errno::ENXIO)?;
            let (fs, root, ro) = crate::fs::ext4::mount_disk(disk, flags & g::MS_RDONLY != 0)?;
            // (A disk that refuses writes is mounted read-only, and the mount says so.)
            if ro {
                flags |= g::MS_RDONLY;
            }
            (fs, root)
        } else {
            vfs::make_fs(&fstype, &data)?
        };
        if let Err(e) = vfs::MOUNTS.add(fs.clone(), root, Some(&at), &source, flags & keep) {
            fs.release();
            crate::fs::ext4::unmounted(&fs);
            return Err(e);
        }
        Ok(0)
    })()))
}

/// umount2(target, flags): MNT_DETACH unmounts even if in use; a busy mount is EBUSY.
pub fn umount2(t: &Thread, c: &UserContext) -> Fast {
    let (target, flags) = (c.arg(0), c.arg(1) as u32);
    Fast::Done(ret((|| {
        use g::{MNT_DETACH, MNT_EXPIRE, MNT_FORCE, UMOUNT_NOFOLLOW};
        if flags & !(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) != 0 || flags & MNT_EXPIRE != 0 && flags & (MNT_FORCE | MNT_DETACH) != 0 {
            return Err(errno::EINVAL);
        }
        let caller = Caller::of(t);
        if !caller.cred.privileged() {
            return Err(errno::EPERM);
        }
        let target = user_path(target)?;
        let at = caller.lookup(t, g::AT_FDCWD, &target, flags & UMOUNT_NOFOLLOW == 0, false)?;
        if !at.is_mount_root() {
            return Err(errno::EINVAL);
        }
        let m = at.mnt.clone();
        // References the caller holds right now: `at`, `m`, and the process's root and cwd
        // if they are on this mount (a shell in /mnt cannot unmount it: EBUSY, as on Linux).
        let held = 2;
        drop(caller);
        // A lazy unmount of a busy ext4 is refused (EBUSY): its core would be unmounted under
        // the open files (Linux keeps it alive until the last one closes).
        let detach = flags & MNT_DETACH != 0 && !crate::fs::ext4::is_ext4(&m.fs);
        vfs::MOUNTS.remove(&m, detach, held)?;
        crate::fs::ext4::unmounted(&m.fs);
        Ok(0)
    })()))
}
