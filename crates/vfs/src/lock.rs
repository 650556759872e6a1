//! Advisory file locks: byte-range record locks (fcntl F_SETLK, POSIX and OFD owners) and
//! whole-file flock locks, per file, as pure logic (the kernel keeps one `FileLocks` per
//! locked inode and does the waiting).

use alloc::vec::Vec;

/// Who holds a lock: a process (POSIX locks) or an open file description (OFD and flock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// Process id or description address.
    pub id: u64,
    /// The pid F_GETLK reports (-1 for OFD locks, as Linux).
    pub pid: i32,
}

/// One held byte-range lock: [start, end) (end u64::MAX: to the end of the file and beyond).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeLock {
    pub owner: Owner,
    pub start: u64,
    pub end: u64,
    pub write: bool,
}

/// flock state of a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flock {
    /// Holders of LOCK_SH.
    pub shared: Vec<u64>,
    /// Holder of LOCK_EX.
    pub exclusive: Option<u64>,
}

/// All locks of one file.
#[derive(Debug, Clone, Default)]
pub struct FileLocks {
    pub ranges: Vec<RangeLock>,
    pub flock: Flock,
}

impl FileLocks {
    /// True when nothing is held (the kernel drops the entry).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty() && self.flock.shared.is_empty() && self.flock.exclusive.is_none()
    }

    /// A lock of another owner that conflicts with `write` over [start, end).
    pub fn conflict(&self, owner: u64, start: u64, end: u64, write: bool) -> Option<RangeLock> {
        self.ranges.iter().find(|l| l.owner.id != owner && l.start < end && start < l.end && (write || l.write)).copied()
    }

    /// Set (`Some(write)`) or remove (`None`) `owner`'s lock over [start, end): the owner's
    /// existing locks there are replaced, split at the edges, and merged with adjacent ones of
    /// the same type. The caller checked for conflicts.
    pub fn set(&mut self, owner: Owner, start: u64, end: u64, kind: Option<bool>) {
        let mut out = Vec::with_capacity(self.ranges.len() + 2);
        for l in self.ranges.drain(..) {
            if l.owner.id != owner.id || l.end <= start || end <= l.start {
                out.push(l);
                continue;
            }
            // The parts of this lock outside [start, end) survive.
            if l.start < start {
                out.push(RangeLock { end: start, ..l });
            }
            if end < l.end {
                out.push(RangeLock { start: end, ..l });
            }
        }
        if let Some(write) = kind {
            let mut new = RangeLock { owner, start, end, write };
            // Merge with the owner's touching locks of the same type.
            out.retain(|l| {
                if l.owner.id == owner.id && l.write == write && l.start <= new.end && new.start <= l.end {
                    new.start = new.start.min(l.start);
                    new.end = new.end.max(l.end);
                    false
                } else {
                    true
                }
            });
            out.push(new);
        }
        out.sort_by_key(|l| (l.start, l.owner.id));
        self.ranges = out;
    }

    /// Drop every range lock of `owner` (close, exit); true if it held any.
    pub fn release(&mut self, owner: u64) -> bool {
        let n = self.ranges.len();
        self.ranges.retain(|l| l.owner.id != owner);
        let f = &mut self.flock;
        let had_flock = f.exclusive == Some(owner) || f.shared.contains(&owner);
        if f.exclusive == Some(owner) {
            f.exclusive = None;
        }
        f.shared.retain(|&o| o != owner);
        n != self.ranges.len() || had_flock
    }

    /// flock: take LOCK_SH (`write` false) or LOCK_EX for `owner`, converting its current
    /// lock; Err(()) if another owner's lock is in the way (EWOULDBLOCK, or wait).
    pub fn flock(&mut self, owner: u64, write: bool) -> Result<(), ()> {
        let f = &mut self.flock;
        let others_shared = f.shared.iter().any(|&o| o != owner);
        let other_ex = f.exclusive.is_some_and(|o| o != owner);
        if other_ex || (write && others_shared) {
            return Err(());
        }
        f.shared.retain(|&o| o != owner);
        if f.exclusive == Some(owner) {
            f.exclusive = None;
        }
        if write {
            f.exclusive = Some(owner);
        } else {
            f.shared.push(owner);
        }
        Ok(())
    }

    /// flock LOCK_UN.
    pub fn funlock(&mut self, owner: u64) {
        let f = &mut self.flock;
        if f.exclusive == Some(owner) {
            f.exclusive = None;
        }
        f.shared.retain(|&o| o != owner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(id: u64) -> Owner {
        Owner { id, pid: id as i32 }
    }

    #[test]
    fn ranges_split_merge_and_conflict() {
        let mut f = FileLocks::default();
        f.set(o(1), 0, 100, Some(true));
        assert!(f.conflict(2, 50, 51, false).is_some());
        assert!(f.conflict(1, 50, 51, true).is_none());
        assert!(f.conflict(2, 100, 200, true).is_none());
        // Unlock the middle: two pieces remain.
        f.set(o(1), 40, 60, None);
        assert_eq!(f.ranges.len(), 2);
        assert!(f.conflict(2, 45, 55, true).is_none());
        assert!(f.conflict(2, 30, 45, true).is_some());
        // A read lock in the gap by the same owner does not merge with the write locks.
        f.set(o(1), 40, 60, Some(false));
        assert_eq!(f.ranges.len(), 3);
        assert!(f.conflict(2, 45, 55, false).is_none());
        assert!(f.conflict(2, 45, 55, true).is_some());
        // Writing over all of it merges into one.
        f.set(o(1), 0, 100, Some(true));
        assert_eq!(f.ranges, [RangeLock { owner: o(1), start: 0, end: 100, write: true }]);
        // Shared read locks of two owners coexist.
        let mut g = FileLocks::default();
        g.set(o(1), 0, u64::MAX, Some(false));
        assert!(g.conflict(2, 5, 6, false).is_none());
        g.set(o(2), 5, 6, Some(false));
        assert!(g.release(1));
        assert_eq!(g.ranges.len(), 1);
        assert!(!g.release(1));
    }

    #[test]
    fn flock_rules() {
        let mut f = FileLocks::default();
        assert_eq!(f.flock(1, false), Ok(()));
        assert_eq!(f.flock(2, false), Ok(()));
        assert_eq!(f.flock(3, true), Err(()));
        // Upgrade fails while another shares, works once alone.
        assert_eq!(f.flock(1, true), Err(()));
        f.funlock(2);
        assert_eq!(f.flock(1, true), Ok(()));
        assert_eq!(f.flock(2, false), Err(()));
        assert!(f.release(1));
        assert!(f.is_empty());
    }
}
