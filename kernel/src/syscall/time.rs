//! Clocks and sleeping.

use super::{Args, Fast, err, uaccess};
use crate::task::{Thread, signal};
use crate::time as clock;
use alloc::sync::Arc;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_hal::trap::UserContext;

fn now_ns(t: &Thread, id: u32) -> Option<u64> {
    Some(match id {
        g::CLOCK_REALTIME | g::CLOCK_REALTIME_COARSE | g::CLOCK_TAI => clock::realtime_ns(),
        g::CLOCK_MONOTONIC | g::CLOCK_MONOTONIC_RAW | g::CLOCK_MONOTONIC_COARSE | g::CLOCK_BOOTTIME => clock::monotonic_ns(),
        g::CLOCK_PROCESS_CPUTIME_ID => clock::ticks_to_ns(super::process::process_times(&t.process).1),
        g::CLOCK_THREAD_CPUTIME_ID => clock::ticks_to_ns(t.cpu_times().1),
        _ => return None,
    })
}

fn ts(ns: u64) -> velox_abi::Timespec {
    velox_abi::Timespec { tv_sec: (ns / 1_000_000_000) as i64, tv_nsec: (ns % 1_000_000_000) as i64 }
}

pub fn clock_gettime(t: &Thread, c: &UserContext) -> Fast {
    let Some(ns) = now_ns(t, c.arg(0) as u32) else { return Fast::Done(err(errno::EINVAL)) };
    Fast::Done(match uaccess::write(c.arg(1), &ts(ns)) {
        Ok(()) => 0,
        Err(e) => err(e),
    })
}

pub fn clock_getres(t: &Thread, c: &UserContext) -> Fast {
    if now_ns(t, c.arg(0) as u32).is_none() {
        return Fast::Done(err(errno::EINVAL));
    }
    if c.arg(1) == 0 {
        return Fast::Done(0);
    }
    Fast::Done(match uaccess::write(c.arg(1), &ts(1)) {
        Ok(()) => 0,
        Err(e) => err(e),
    })
}

pub fn gettimeofday(_: &Thread, c: &UserContext) -> Fast {
    if c.arg(0) != 0 {
        let ns = clock::realtime_ns();
        let tv = velox_abi::Timeval { tv_sec: (ns / 1_000_000_000) as _, tv_usec: ((ns % 1_000_000_000) / 1000) as _ };
        if let Err(e) = uaccess::write(c.arg(0), &tv) {
            return Fast::Done(err(e));
        }
    }
    if c.arg(1) != 0 {
        if let Err(e) = uaccess::write(c.arg(1), &0u64) {
            return Fast::Done(err(e));
        }
    }
    Fast::Done(0)
}

pub(crate) fn read_ts(va: usize) -> Result<u64, u32> {
    ts_ns(&uaccess::read(va)?)
}

/// A timespec as nanoseconds; EINVAL for a negative or out-of-range one.
pub(crate) fn ts_ns(t: &velox_abi::Timespec) -> Result<u64, u32> {
    if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
        return Err(errno::EINVAL);
    }
    Ok((t.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(t.tv_nsec as u64))
}

/// Sleep until `deadline` (ticks). A signal interrupts: the time left goes to `rem` (if not
/// 0) and the call returns ERESTART_RESTARTBLOCK, so that it fails with EINTR if a handler
/// runs, or continues to the same deadline through restart_syscall if none does.
pub(crate) async fn sleep_or_restart(t: &Thread, deadline: u64, rem: usize) -> isize {
    if signal::interruptible(t, clock::sleep_until(deadline)).await.is_ok() {
        return 0;
    }
    if rem != 0 {
        let left = clock::ticks_to_ns(deadline.saturating_sub(clock::ticks()));
        if let Err(e) = uaccess::write(rem, &ts(left)) {
            return err(e);
        }
    }
    t.sig_state(|s| s.restart_deadline = Some((deadline, rem)));
    signal::ERESTART_RESTARTBLOCK
}

/// nanosleep(req, rem).
pub async fn nanosleep(t: Arc<Thread>, a: Args) -> isize {
    match read_ts(a.0[0]) {
        Ok(ns) => sleep_or_restart(&t, clock::ticks().saturating_add(clock::ns_to_ticks(ns)), a.0[1]).await,
        Err(e) => err(e),
    }
}

/// clock_nanosleep(clock, flags, req, rem), relative or TIMER_ABSTIME. (The C library turns
/// the negative errno into the positive return value POSIX specifies.) An absolute sleep a
/// signal interrupts is restarted unless a handler ran (ERESTARTNOHAND), as Linux.
pub async fn clock_nanosleep(t: Arc<Thread>, a: Args) -> isize {
    let (id, flags) = (a.0[0] as u32, a.0[1] as u32);
    let Some(now) = now_ns(&t, id) else { return err(errno::EINVAL) };
    if matches!(id, g::CLOCK_THREAD_CPUTIME_ID) {
        return err(errno::EINVAL);
    }
    if id == g::CLOCK_PROCESS_CPUTIME_ID {
        return err(errno::EOPNOTSUPP); // sleeping on CPU time is not supported
    }
    let req = match read_ts(a.0[2]) {
        Ok(v) => v,
        Err(e) => return err(e),
    };
    if flags & g::TIMER_ABSTIME != 0 {
        let d = clock::ticks().saturating_add(clock::ns_to_ticks(req.saturating_sub(now)));
        return match signal::interruptible(&t, clock::sleep_until(d)).await {
            Ok(()) => 0,
            Err(()) => signal::ERESTARTNOHAND,
        };
    }
    sleep_or_restart(&t, clock::ticks().saturating_add(clock::ns_to_ticks(req)), a.0[3]).await
}
