//! eventfd: a 64-bit counter that writes add to and reads take (eventfd(2)).
//!
//! `try_read`/`try_write` never block, as the pipe's: they report `WouldBlock` when the
//! counter is 0 (a read) or the addition would pass 0xffff_ffff_ffff_fffe (a write); the
//! async handlers wait on `wait`, the one queue readers, writers and pollers share (as
//! Linux's `wqh`).

use super::pipe::Io;
use crate::exec::WaitQueue;
use linux_raw_sys::errno;
use velox_exec::sync::Mutex;

/// The largest value the counter holds (a write that would pass it blocks).
const MAX: u64 = u64::MAX - 1;

/// An eventfd's counter.
pub struct EventFd {
    count: Mutex<u64>,
    /// EFD_SEMAPHORE: a read takes 1, not the whole count.
    semaphore: bool,
    /// Readers, writers and pollers wait here; woken on every change of the counter.
    pub wait: WaitQueue,
}

impl EventFd {
    /// A counter starting at `init`.
    pub fn new(init: u64, semaphore: bool) -> EventFd {
        EventFd { count: Mutex::new(init), semaphore, wait: WaitQueue::new() }
    }

    /// Read: the counter (1 in semaphore mode) into the 8 bytes at `buf`, taking it away;
    /// EINVAL below 8 bytes, `WouldBlock` while the counter is 0. The value is taken even if
    /// the copy then faults (EFAULT), as on Linux.
    pub fn try_read(&self, buf: usize, len: usize) -> Io {
        if len < 8 {
            return Io::Err(errno::EINVAL);
        }
        let v = {
            let mut c = self.count.lock();
            if *c == 0 {
                return Io::WouldBlock;
            }
            let v = if self.semaphore { 1 } else { *c };
            *c -= v;
            v
        };
        self.changed();
        match velox_hal::user::copy_to_user(buf, &v.to_le_bytes()) {
            Ok(()) => Io::Done(8),
            Err(_) => Io::Err(errno::EFAULT),
        }
    }

    /// The value a write of `len` bytes at `buf` adds: EINVAL unless exactly 8 bytes (Linux
    /// 7.2 refuses longer writes too, though it takes longer reads) or for
    /// 0xffff_ffff_ffff_ffff, EFAULT if unreadable.
    pub fn write_value(buf: usize, len: usize) -> Result<u64, u32> {
        if len != 8 {
            return Err(errno::EINVAL);
        }
        let mut b = [0u8; 8];
        velox_hal::user::copy_from_user(&mut b, buf).map_err(|_| errno::EFAULT)?;
        match u64::from_le_bytes(b) {
            u64::MAX => Err(errno::EINVAL),
            v => Ok(v),
        }
    }

    /// Add `v` if the counter stays at most 0xffff_ffff_ffff_fffe; false (nothing added) if not.
    pub fn try_add(&self, v: u64) -> bool {
        {
            let mut c = self.count.lock();
            if MAX - *c < v {
                return false;
            }
            *c += v;
        }
        // (Also for a 0: Linux wakes the waiters whatever was added.)
        self.changed();
        true
    }

    /// Write: add the 8-byte value at `buf`; `WouldBlock` if it does not fit now.
    pub fn try_write(&self, buf: usize, len: usize) -> Io {
        match Self::write_value(buf, len) {
            Ok(v) if self.try_add(v) => Io::Done(8),
            Ok(_) => Io::WouldBlock,
            Err(e) => Io::Err(e),
        }
    }

    /// The counter changed: wake everyone waiting (readers, writers, pollers, epoll items).
    fn changed(&self) {
        self.wait.wake_all();
    }

    /// (readable, writable) as poll sees it: a count above 0; room for a write of 1.
    /// (POLLERR, for a count of 0xffff_ffff_ffff_ffff, cannot happen: writes stop below it.)
    pub fn poll_state(&self) -> (bool, bool) {
        let c = *self.count.lock();
        (c > 0, c < MAX)
    }
}
