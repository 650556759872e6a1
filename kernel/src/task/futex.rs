//! Futex wait queues: a waiting thread is a parked future in a hashed bucket, keyed by the
//! futex's address; a wake marks it woken and makes its task runnable (no stack involved).

use super::Thread;
use crate::syscall::uaccess;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use core::task::Poll;
use linux_raw_sys::errno;
use crate::smp::SleepLock;

/// What identifies a futex: the address space and address for private memory, the physical
/// address for shared memory (so processes mapping the same page meet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Private { mm: usize, va: usize },
    Shared { pa: usize },
}

/// A queued waiter: 32 bytes (the key packed into two words), so that a bucket of N waiters
/// is one block of N * 32 bytes.
struct Waiter {
    key: Packed,
    bitset: u32,
    thread: Arc<Thread>,
}

/// A key in two words: (address-space id, address) for a private futex, (0, physical address)
/// for a shared one (address-space ids are never 0).
type Packed = [usize; 2];

impl Key {
    #[inline(always)]
    fn packed(self) -> Packed {
        match self {
            Key::Private { mm, va } => [mm, va],
            Key::Shared { pa } => [0, pa],
        }
    }
}

const _: () = assert!(size_of::<Waiter>() == 32);

const BUCKETS: usize = 64;
static TABLE: [SleepLock<Vec<Waiter>>; BUCKETS] = [const { SleepLock::new(Vec::new()) }; BUCKETS];

fn bucket(k: &Key) -> &'static SleepLock<Vec<Waiter>> {
    let (a, b) = match *k {
        Key::Private { mm, va } => (mm, va),
        Key::Shared { pa } => (0, pa),
    };
    let h = (a.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (b >> 2)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    &TABLE[(h >> 58) % BUCKETS]
}

/// The key of the futex word at `uaddr` for thread `t`. `private` is FUTEX_PRIVATE_FLAG; a
/// shared futex in a MAP_SHARED area is keyed by its physical page.
pub fn key_for(t: &Thread, uaddr: usize, private: bool) -> Result<Key, u32> {
    if uaddr % 4 != 0 {
        return Err(errno::EINVAL);
    }
    if private {
        return match t.mm_id() {
            0 => Err(errno::EFAULT),
            id => Ok(Key::Private { mm: id, va: uaddr }),
        };
    }
    let mm = t.mm().ok_or(errno::EFAULT)?;
    // The trap fast path does not wait for the address space (a fork may hold it): EAGAIN,
    // which the fast futex handler turns into "take the slow path".
    let mut sp = if crate::smp::in_fast_path() { mm.space.try_lock().ok_or(crate::smp::BUSY)? } else { mm.space.lock() };
    let v = sp.vmas.find(uaddr).copied().ok_or(errno::EFAULT)?;
    if v.backing.is_shared() {
        return sp.resolve(uaddr).map(|pa| Key::Shared { pa }).ok_or(errno::EFAULT);
    }
    Ok(Key::Private { mm: mm.id, va: uaddr })
}

/// Give back a bucket's spare capacity once most of its waiters are gone: thousands of
/// threads woken at once would otherwise leave their slots allocated for good (and the key
/// of a new process's futex lands in another bucket, so that would add up).
fn trim(q: &mut Vec<Waiter>) {
    if q.capacity() > 16 && q.len() < q.capacity() / 4 {
        q.shrink_to(q.len() * 2);
    }
}

/// Heap bytes the buckets hold as spare capacity beyond what was trimmed (for the leak check).
pub fn table_bytes() -> usize {
    TABLE.iter().map(|b| crate::mm::heap::block_bytes(b.lock().capacity() * size_of::<Waiter>())).sum()
}

/// Read the futex word.
pub fn read_word(uaddr: usize) -> Result<u32, u32> {
    uaccess::read::<u32>(uaddr)
}

/// Wake up to `n` waiters of `key` whose bitset intersects `bitset` (at least one, as Linux
/// counts). Returns how many were woken.
pub fn wake(key: Key, n: i32, bitset: u32) -> usize {
    let max = n.max(1) as usize;
    let mut q = bucket(&key).lock();
    if q.is_empty() {
        return 0;
    }
    let mut woken = 0;
    let key = key.packed();
    q.retain(|w| {
        if woken < max && w.key == key && w.bitset & bitset != 0 {
            woken += 1;
            w.thread.futex_woken.store(true, Ordering::Release);
            w.thread.wake();
            false
        } else {
            true
        }
    });
    trim(&mut q);
    woken
}

/// Wake up to `n_wake` waiters of `from` and move up to `n_requeue` more to `to`. With
/// `cmp = Some((uaddr, val))`, fail with EAGAIN unless the word at `uaddr` still holds `val`.
pub fn requeue(from: Key, to: Key, n_wake: i32, n_requeue: i32, cmp: Option<(usize, u32)>) -> Result<usize, u32> {
    let (b1, b2) = (bucket(&from), bucket(&to));
    let same = core::ptr::eq(b1, b2);
    // Lock in address order so two requeues in opposite directions cannot deadlock.
    let (mut g1, mut g2) = if same {
        (b1.lock(), None)
    } else if (b1 as *const _ as usize) < (b2 as *const _ as usize) {
        let a = b1.lock();
        (a, Some(b2.lock()))
    } else {
        let b = b2.lock();
        (b1.lock(), Some(b))
    };
    if let Some((uaddr, val)) = cmp {
        if read_word(uaddr)? != val {
            return Err(errno::EAGAIN);
        }
    }
    let (max_wake, max_move) = (n_wake.max(0) as usize, n_requeue.max(0) as usize);
    let (mut woken, mut moved) = (0, 0);
    let mut moving = Vec::new();
    let mut i = 0;
    while i < g1.len() {
        if g1[i].key != from.packed() {
            i += 1;
            continue;
        }
        if woken < max_wake {
            let w = g1.remove(i);
            w.thread.futex_woken.store(true, Ordering::Release);
            w.thread.wake();
            woken += 1;
        } else if moved < max_move {
            let mut w = g1.remove(i);
            w.key = to.packed();
            moving.push(w);
            moved += 1;
        } else {
            break;
        }
    }
    match g2.as_mut() {
        Some(q2) => q2.extend(moving),
        None => g1.extend(moving),
    }
    trim(&mut g1);
    Ok(woken + moved)
}

/// The error of a wait a signal interrupted (the caller turns it into a restart code).
pub const INTERRUPTED: u32 = 512;

/// Queue `t` on `key` if the word at `uaddr` still holds `val` (EAGAIN otherwise). The
/// caller then waits with [`poll_wait`] and, if it gives up before being woken (timeout,
/// signal, exit), takes the waiter off its queue with [`cancel`].
pub fn enqueue(t: &Arc<Thread>, key: Key, uaddr: usize, val: u32, bitset: u32) -> Result<(), u32> {
    let mut q = bucket(&key).lock();
    if read_word(uaddr)? != val {
        return Err(errno::EAGAIN);
    }
    t.futex_woken.store(false, Ordering::Relaxed);
    // The queue grows with the number of waiters: never let that growth panic the kernel.
    q.try_reserve(1).map_err(|_| errno::ENOMEM)?;
    q.push(Waiter { key: key.packed(), bitset, thread: t.clone() });
    Ok(())
}

/// One poll of a queued wait: done when woken, when `deadline` (ticks) passed (ETIMEDOUT)
/// or when a signal is pending (INTERRUPTED); else `timer` is armed for the deadline.
#[inline]
pub fn poll_wait(t: &Thread, deadline: Option<u64>, timer: &mut crate::time::Timer, cx: &mut core::task::Context<'_>) -> Poll<Result<(), u32>> {
    if t.futex_woken.load(Ordering::Acquire) {
        return Poll::Ready(Ok(()));
    }
    if t.signal_pending() {
        return Poll::Ready(Err(INTERRUPTED));
    }
    if let Some(d) = deadline {
        if crate::time::ticks() >= d {
            return Poll::Ready(Err(errno::ETIMEDOUT));
        }
        if !timer.is_armed() {
            timer.arm(d, cx.waker());
        }
    }
    Poll::Pending
}

/// Take a waiter that gave up (timeout, signal, exit) off its queue. False if a waker took it
/// off first (it was counted as woken: the wait must then report success, as Linux's
/// futex_wait does when its unqueue finds the waiter gone, or the wake-up is lost).
pub fn cancel(t: &Thread, key: Key) -> bool {
    if t.futex_woken.load(Ordering::Acquire) {
        return false;
    }
    let me = t as *const Thread;
    let remove = |q: &mut Vec<Waiter>| {
        let before = q.len();
        q.retain(|w| !core::ptr::eq(&*w.thread, me));
        trim(q);
        before != q.len()
    };
    if remove(&mut bucket(&key).lock()) {
        return true;
    }
    // Requeued to another key: look everywhere (rare).
    for b in TABLE.iter() {
        if remove(&mut b.lock()) {
            return true;
        }
    }
    false
}
