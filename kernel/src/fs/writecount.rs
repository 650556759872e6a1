//! ETXTBSY: who writes a file versus who executes it (Linux's `i_writecount`, kept per inode
//! by the file systems; the rules are `velox_vfs::get_write_access` and friends).
//!
//! An open file that may write a regular file holds a [`WriteAccess`] (taken by openat for
//! O_WRONLY/O_RDWR, released when the open file description goes); truncate(2) and O_TRUNC
//! take one for the call. An address space made by execve holds a [`DenyWrite`] of its
//! executable (`AddrSpace::exe`, copied by fork, dropped when the space's last thread lets go
//! of it). Either fails with ETXTBSY while the other kind is held.

use linux_raw_sys::errno;
use velox_vfs::{FileType, InodeRef};

/// A counted writer of a regular file (see the module comment); released when dropped.
pub struct WriteAccess(InodeRef);

impl WriteAccess {
    /// Count a writer of `inode` (regular files only: other kinds are not counted); ETXTBSY
    /// while it is being executed.
    pub fn get(inode: &InodeRef) -> Result<Option<WriteAccess>, u32> {
        if inode.kind() != FileType::Regular {
            return Ok(None);
        }
        velox_vfs::get_write_access(&**inode)?;
        Ok(Some(WriteAccess(inode.clone())))
    }
}

impl Drop for WriteAccess {
    fn drop(&mut self) {
        velox_vfs::put_write_access(&*self.0);
    }
}

/// A running executable image of a file: writing it is refused while one exists.
pub struct DenyWrite(InodeRef);

impl DenyWrite {
    /// Deny writes to `inode` for as long as the result lives (execve of it); ETXTBSY if it
    /// is open for writing. Not a regular file: EACCES (execve refuses it anyway).
    pub fn get(inode: &InodeRef) -> Result<DenyWrite, u32> {
        if inode.kind() != FileType::Regular {
            return Err(errno::EACCES);
        }
        velox_vfs::deny_write_access(&**inode)?;
        Ok(DenyWrite(inode.clone()))
    }
}

impl Clone for DenyWrite {
    /// Another image of the same file (fork): cannot fail, writes are denied already.
    fn clone(&self) -> Self {
        let r = velox_vfs::deny_write_access(&*self.0);
        debug_assert!(r.is_ok(), "a denied file had writers");
        DenyWrite(self.0.clone())
    }
}

impl Drop for DenyWrite {
    fn drop(&mut self) {
        velox_vfs::allow_write_access(&*self.0);
    }
}
