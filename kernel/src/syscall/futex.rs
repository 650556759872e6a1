//! futex(uaddr, op, val, timeout/val2, uaddr2, val3).
//!
//! Wakes, requeues and WAKE_OP complete synchronously (on the trap fast path, waking parked
//! threads by making their tasks runnable). A WAIT whose value differs also finishes there
//! (EAGAIN); only a WAIT that really sleeps goes to the async handler.

use super::{Args, Fast, err, uaccess};
use crate::task::{Thread, signal};
use crate::task::futex::{self, Key};
use crate::time;
use alloc::sync::Arc;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_hal::trap::UserContext;
use velox_hal::user::AtomicOp;

const CMD_MASK: u32 = !(g::FUTEX_PRIVATE_FLAG | g::FUTEX_CLOCK_REALTIME);

/// The decoded arguments.
#[derive(Clone, Copy)]
struct Req {
    uaddr: usize,
    cmd: u32,
    private: bool,
    realtime: bool,
    val: u32,
    /// The timeout pointer, or val2 for the requeue and WAKE_OP commands.
    arg4: usize,
    uaddr2: usize,
    val3: u32,
}

fn decode(a: [usize; 6]) -> Req {
    let op = a[1] as u32;
    Req {
        uaddr: a[0],
        cmd: op & CMD_MASK,
        private: op & g::FUTEX_PRIVATE_FLAG != 0,
        realtime: op & g::FUTEX_CLOCK_REALTIME != 0,
        val: a[2] as u32,
        arg4: a[3],
        uaddr2: a[4],
        val3: a[5] as u32,
    }
}

fn key(t: &Thread, uaddr: usize, r: &Req) -> Result<Key, u32> {
    futex::key_for(t, uaddr, r.private)
}

/// Check a WAIT's arguments; returns the bitset.
fn wait_args(r: &Req) -> Result<u32, u32> {
    if r.realtime && !matches!(r.cmd, g::FUTEX_WAIT | g::FUTEX_WAIT_BITSET) {
        return Err(errno::ENOSYS);
    }
    let bitset = if r.cmd == g::FUTEX_WAIT_BITSET { r.val3 } else { u32::MAX };
    if bitset == 0 || r.uaddr % 4 != 0 {
        return Err(errno::EINVAL);
    }
    Ok(bitset)
}

/// WAKE_OP's encoded operation: the atomic operation and operand for the second word, and
/// the comparison of its old value that decides whether the second queue is woken.
struct WakeOp {
    op: AtomicOp,
    arg: u32,
    cmp: u32,
    cmparg: i32,
}

/// Decode WAKE_OP's `val3` (ENOSYS for an unknown operation or comparison, as Linux).
fn wake_op(val3: u32) -> Result<WakeOp, u32> {
    let op = (val3 >> 28) & 0xf;
    let cmp = (val3 >> 24) & 0xf;
    let sext = |v: u32| ((v << 20) as i32 >> 20) as u32;
    let mut oparg = sext((val3 >> 12) & 0xfff);
    let cmparg = sext(val3 & 0xfff) as i32;
    if op & g::FUTEX_OP_OPARG_SHIFT != 0 {
        if oparg > 31 {
            oparg &= 31; // Linux warns and masks
        }
        oparg = 1 << oparg;
    }
    let (op, arg) = match op & 7 {
        g::FUTEX_OP_SET => (AtomicOp::Swap, oparg),
        g::FUTEX_OP_ADD => (AtomicOp::Add, oparg),
        g::FUTEX_OP_OR => (AtomicOp::Or, oparg),
        g::FUTEX_OP_ANDN => (AtomicOp::And, !oparg),
        g::FUTEX_OP_XOR => (AtomicOp::Xor, oparg),
        _ => return Err(errno::ENOSYS),
    };
    if cmp > g::FUTEX_OP_CMP_GE {
        return Err(errno::ENOSYS);
    }
    Ok(WakeOp { op, arg, cmp, cmparg })
}

impl WakeOp {
    /// Does the old value pass the comparison?
    fn hit(&self, old: u32) -> bool {
        let (o, c) = (old as i32, self.cmparg);
        match self.cmp {
            g::FUTEX_OP_CMP_EQ => o == c,
            g::FUTEX_OP_CMP_NE => o != c,
            g::FUTEX_OP_CMP_LT => o < c,
            g::FUTEX_OP_CMP_LE => o <= c,
            g::FUTEX_OP_CMP_GT => o > c,
            _ => o >= c, // FUTEX_OP_CMP_GE (checked when decoded)
        }
    }
}

/// Every command that never sleeps.
fn sync_op(t: &Thread, r: &Req) -> Result<usize, u32> {
    if r.realtime {
        return Err(errno::ENOSYS); // FUTEX_CLOCK_REALTIME only goes with the WAIT commands
    }
    match r.cmd {
        g::FUTEX_WAKE | g::FUTEX_WAKE_BITSET => {
            let bitset = if r.cmd == g::FUTEX_WAKE_BITSET { r.val3 } else { u32::MAX };
            if bitset == 0 {
                return Err(errno::EINVAL);
            }
            Ok(futex::wake(key(t, r.uaddr, r)?, r.val as i32, bitset))
        }
        g::FUTEX_REQUEUE | g::FUTEX_CMP_REQUEUE => {
            let (n_wake, n_move) = (r.val as i32, r.arg4 as i32);
            if n_wake < 0 || n_move < 0 {
                return Err(errno::EINVAL);
            }
            let (k1, k2) = (key(t, r.uaddr, r)?, key(t, r.uaddr2, r)?);
            let cmp = (r.cmd == g::FUTEX_CMP_REQUEUE).then_some((r.uaddr, r.val3));
            futex::requeue(k1, k2, n_wake, n_move, cmp)
        }
        g::FUTEX_WAKE_OP => {
            let (k1, k2) = (key(t, r.uaddr, r)?, key(t, r.uaddr2, r)?);
            if r.uaddr2 % 4 != 0 {
                return Err(errno::EINVAL);
            }
            // One atomic instruction on the user word: threads on other harts may be using it.
            let w = wake_op(r.val3)?;
            let old = velox_hal::user::atomic_user(r.uaddr2, w.op, w.arg).map_err(|_| errno::EFAULT)?;
            let mut n = futex::wake(k1, r.val as i32, u32::MAX);
            if w.hit(old) {
                n += futex::wake(k2, r.arg4 as i32, u32::MAX);
            }
            Ok(n)
        }
        // FUTEX_FD is gone from Linux; the PI commands are not implemented yet.
        _ => Err(errno::ENOSYS),
    }
}

fn to_ret(r: Result<usize, u32>) -> isize {
    match r {
        Ok(n) => n as isize,
        Err(e) => err(e),
    }
}

/// The synchronous half, run on the trap fast path.
pub fn futex_fast(t: &Thread, c: &UserContext) -> Fast {
    let r = decode([c.arg(0), c.arg(1), c.arg(2), c.arg(3), c.arg(4), c.arg(5)]);
    match r.cmd {
        g::FUTEX_WAIT | g::FUTEX_WAIT_BITSET => {
            if let Err(e) = wait_args(&r) {
                return Fast::Done(err(e));
            }
            match futex::read_word(r.uaddr) {
                Err(e) => Fast::Done(err(e)),
                Ok(v) if v != r.val => Fast::Done(err(errno::EAGAIN)),
                Ok(_) => Fast::Slow,
            }
        }
        _ => match sync_op(t, &r) {
            Err(crate::smp::BUSY) => Fast::Slow, // the address space is locked: the async half waits
            r => Fast::Done(to_ret(r)),
        },
    }
}

/// The deadline of a WAIT in ticks: relative for FUTEX_WAIT, absolute (on CLOCK_MONOTONIC or,
/// with FUTEX_CLOCK_REALTIME, CLOCK_REALTIME) for FUTEX_WAIT_BITSET.
fn deadline(r: &Req) -> Result<Option<u64>, u32> {
    if r.arg4 == 0 {
        return Ok(None);
    }
    let ts: velox_abi::Timespec = uaccess::read(r.arg4)?;
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(errno::EINVAL);
    }
    let ns = (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64);
    let now_mono = time::monotonic_ns();
    let abs_mono = if r.cmd == g::FUTEX_WAIT {
        now_mono.saturating_add(ns)
    } else if r.realtime {
        // (The offset itself: realtime_ns() - now_mono read the time twice, and the deadline
        // came early by the time between the reads.)
        ns.saturating_sub(time::realtime_offset_ns())
    } else {
        ns
    };
    Ok(Some(time::ns_to_ticks(abs_mono)))
}

/// The whole futex call (the slow path, and every call in a no-fastpath build). Nothing runs
/// before the first poll, as with an `async fn`.
pub fn futex(t: Arc<Thread>, a: Args) -> FutexCall {
    FutexCall { t, a, queued: None, deadline: None, restart: 0, timer: time::Timer::new() }
}

/// The future of a futex call, written by hand rather than as an `async fn`: a thread blocked
/// in a futex wait holds only this (128 bytes: its arguments, the key it is queued on, the
/// deadline, a timer and the restart code), so it fits the thread's inline arena and the most
/// common blocking call needs no lent block. Its state is updated in place (no moves).
pub struct FutexCall {
    t: Arc<Thread>,
    a: Args,
    /// The key the thread is queued on (None before the first poll and once finished).
    queued: Option<Key>,
    deadline: Option<u64>,
    /// What a signal ending the wait returns (a restart code).
    restart: isize,
    timer: time::Timer,
}

impl core::future::Future for FutexCall {
    type Output = isize;

    fn poll(self: core::pin::Pin<&mut Self>, cx: &mut core::task::Context<'_>) -> core::task::Poll<isize> {
        use core::task::Poll;
        // (Every field is Unpin.)
        let this = self.get_mut();
        if this.queued.is_none() {
            let r = decode(this.a.0);
            if !matches!(r.cmd, g::FUTEX_WAIT | g::FUTEX_WAIT_BITSET) {
                return Poll::Ready(to_ret(sync_op(&this.t, &r)));
            }
            let t = &this.t;
            let start = || {
                let bitset = wait_args(&r)?;
                let k = key(t, r.uaddr, &r)?;
                let d = deadline(&r)?;
                futex::enqueue(t, k, r.uaddr, r.val, bitset)?;
                Ok((k, d))
            };
            match start() {
                Ok((k, d)) => {
                    this.queued = Some(k);
                    this.deadline = d;
                    // A signal ends the wait: restarted per SA_RESTART without a timeout, EINTR
                    // after a handler with one (Linux restarts those through a restart block;
                    // here a restart re-reads the original timeout).
                    this.restart = if d.is_some() { signal::ERESTARTNOHAND } else { signal::ERESTARTSYS };
                }
                Err(e) => return Poll::Ready(err(e)),
            }
        }
        this.wait(cx)
    }
}

impl FutexCall {
    /// Poll the queued wait; when it ends, leave the queue (if not woken) and give the result.
    #[inline]
    fn wait(&mut self, cx: &mut core::task::Context<'_>) -> core::task::Poll<isize> {
        use core::task::Poll;
        let mut v = match futex::poll_wait(&self.t, self.deadline, &mut self.timer, cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(futex::INTERRUPTED)) => self.restart,
            Poll::Ready(r) => r.map_or_else(err, |_| 0),
        };
        if let Some(k) = self.queued.take() {
            // A wake that took the waiter off while it was timing out or being interrupted
            // was counted by the waker: the wait succeeded (else that wake-up is lost, and a
            // pthread_mutex_timedlock unlocker's only wake goes to a waiter that gives up).
            if !futex::cancel(&self.t, k) {
                v = 0;
            }
        }
        Poll::Ready(v)
    }
}

/// A wait abandoned while queued (its thread exits, the call is dropped) leaves the queue.
impl Drop for FutexCall {
    fn drop(&mut self) {
        if let Some(k) = self.queued.take() {
            let _ = futex::cancel(&self.t, k);
        }
    }
}
