//! Timer system calls: setitimer/getitimer (alarm is setitimer in the C library) and the
//! POSIX timers timer_create, timer_settime, timer_gettime, timer_getoverrun, timer_delete.

use super::time::ts_ns;
use super::{Args, err, uaccess};
use crate::task::Thread;
use crate::task::timers::{self, CpuTimer, Notify, Posix};
use crate::time;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_abi::{Itimerspec, Itimerval, Sigevent, Timespec, Timeval};

fn tv_ticks(v: &Timeval) -> Result<u64, u32> {
    if v.tv_sec < 0 || !(0..1_000_000).contains(&v.tv_usec) {
        return Err(errno::EINVAL);
    }
    Ok(time::ns_to_ticks((v.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(v.tv_usec as u64 * 1000)))
}

fn ticks_tv(t: u64) -> Timeval {
    // Rounded up to the microsecond, so an armed timer never reads as 0.
    let us = time::ticks_to_ns(t).div_ceil(1000);
    Timeval { tv_sec: (us / 1_000_000) as i64, tv_usec: (us % 1_000_000) as i64 }
}

fn ticks_ts(t: u64) -> Timespec {
    let ns = time::ticks_to_ns(t);
    Timespec { tv_sec: (ns / 1_000_000_000) as i64, tv_nsec: (ns % 1_000_000_000) as i64 }
}

/// The process's CPU time a CPU timer counts (user for VIRTUAL, all for PROF).
fn cpu_now(t: &Thread, which: u32) -> u64 {
    let (user, total) = super::process::process_times(&t.process);
    if which == g::ITIMER_VIRTUAL { user } else { total }
}

/// The current value of itimer `which`: (remaining, interval) ticks.
fn get(t: &Thread, which: u32) -> (u64, u64) {
    let ts = t.process.timers.lock();
    let cpu = |c: &CpuTimer, now: u64| (c.expires.map_or(0, |e| e.saturating_sub(now).max(1)), c.interval);
    match which {
        g::ITIMER_REAL => timers::remaining(&ts.real),
        g::ITIMER_VIRTUAL => {
            let c = ts.virt;
            drop(ts);
            cpu(&c, cpu_now(t, which))
        }
        _ => {
            let c = ts.prof;
            drop(ts);
            cpu(&c, cpu_now(t, which))
        }
    }
}

fn itimerval(v: (u64, u64)) -> Itimerval {
    Itimerval { interval: ticks_tv(v.1), value: ticks_tv(v.0) }
}

/// getitimer(which, value).
pub async fn getitimer(t: Arc<Thread>, a: Args) -> isize {
    let which = a.0[0] as u32;
    if which > g::ITIMER_PROF {
        return err(errno::EINVAL);
    }
    match uaccess::write(a.0[1], &itimerval(get(&t, which))) {
        Ok(()) => 0,
        Err(e) => err(e),
    }
}

/// setitimer(which, new, old). A NULL `new` disarms, as Linux accepts.
pub async fn setitimer(t: Arc<Thread>, a: Args) -> isize {
    let (which, new, old) = (a.0[0] as u32, a.0[1], a.0[2]);
    if which > g::ITIMER_PROF {
        return err(errno::EINVAL);
    }
    let nv = if new != 0 {
        match uaccess::read::<Itimerval>(new) {
            Ok(v) => v,
            Err(e) => return err(e),
        }
    } else {
        Itimerval::default()
    };
    let (value, interval) = match (tv_ticks(&nv.value), tv_ticks(&nv.interval)) {
        (Ok(v), Ok(i)) => (v, i),
        (Err(e), _) | (_, Err(e)) => return err(e),
    };
    let prev = if which == g::ITIMER_REAL {
        timers::set_real(&t.process, value, if value != 0 { interval } else { 0 })
    } else {
        let prev = get(&t, which);
        let now = cpu_now(&t, which);
        let mut ts = t.process.timers.lock();
        let c = if which == g::ITIMER_VIRTUAL { &mut ts.virt } else { &mut ts.prof };
        // (Disarming clears the interval too.)
        *c = CpuTimer { expires: (value != 0).then(|| now + value), interval: if value != 0 { interval } else { 0 } };
        let armed = ts.virt.expires.is_some() || ts.prof.expires.is_some();
        t.process.cpu_timers.store(armed, Ordering::Relaxed);
        prev
    };
    if old != 0 {
        if let Err(e) = uaccess::write(old, &itimerval(prev)) {
            return err(e);
        }
    }
    0
}

/// Clocks a POSIX timer may run on here (Linux: the coarse and raw clocks have no timers).
fn timer_clock_ok(id: u32) -> Result<(), u32> {
    match id {
        g::CLOCK_REALTIME | g::CLOCK_MONOTONIC | g::CLOCK_BOOTTIME | g::CLOCK_TAI => Ok(()),
        g::CLOCK_MONOTONIC_RAW | g::CLOCK_REALTIME_COARSE | g::CLOCK_MONOTONIC_COARSE => Err(errno::EOPNOTSUPP),
        // (CPU-time POSIX timers are not implemented: refuse rather than never fire.)
        g::CLOCK_PROCESS_CPUTIME_ID | g::CLOCK_THREAD_CPUTIME_ID => Err(errno::EOPNOTSUPP),
        _ => Err(errno::EINVAL),
    }
}

/// Most POSIX timers per process (Linux bounds them by RLIMIT_SIGPENDING).
const MAX_TIMERS: usize = 4096;

/// timer_create(clockid, sevp, timerid).
pub async fn timer_create(t: Arc<Thread>, a: Args) -> isize {
    let (clock, sevp, idp) = (a.0[0] as u32, a.0[1], a.0[2]);
    if let Err(e) = timer_clock_ok(clock) {
        return err(e);
    }
    let ev = if sevp != 0 {
        match uaccess::read::<Sigevent>(sevp) {
            Ok(e) => Some(e),
            Err(e) => return err(e),
        }
    } else {
        None
    };
    // (Each timer costs heap, and an armed one a task: refused near the heap's reserve.)
    if crate::mm::heap_free() < crate::config::HEAP_RESERVE {
        return err(errno::EAGAIN);
    }
    let mut ts = t.process.timers.lock();
    if ts.posix.len() >= MAX_TIMERS || timers::POSIX_TIMERS.load(Ordering::Relaxed) >= timers::MAX_POSIX_TIMERS {
        return err(errno::EAGAIN);
    }
    let Some(id) = ts.free_id() else { return err(errno::EAGAIN) };
    let notify = match ev {
        None => Notify { kind: g::SIGEV_SIGNAL as i32, signo: g::SIGALRM as i32, value: id as u64, tid: 0 },
        Some(e) => {
            let kind = e.notify;
            let sig_ok = (1..=64).contains(&e.signo);
            match kind as u32 {
                g::SIGEV_NONE => Notify { kind, signo: 0, value: e.value, tid: 0 },
                // (SIGEV_THREAD is the C library's business: to the kernel it is a signal.)
                g::SIGEV_SIGNAL | g::SIGEV_THREAD if sig_ok => Notify { kind: g::SIGEV_SIGNAL as i32, signo: e.signo, value: e.value, tid: 0 },
                x if x == g::SIGEV_THREAD_ID && sig_ok => {
                    // The thread must belong to the caller's process.
                    if !t.process.threads.lock().contains_key(&(e.tid as usize)) || e.tid <= 0 {
                        return err(errno::EINVAL);
                    }
                    Notify { kind, signo: e.signo, value: e.value, tid: e.tid as usize }
                }
                _ => return err(errno::EINVAL),
            }
        }
    };
    ts.posix.insert(id, Posix::new(clock, notify));
    timers::POSIX_TIMERS.fetch_add(1, Ordering::Relaxed);
    drop(ts);
    if let Err(e) = uaccess::write(idp, &id) {
        timers::delete(&mut t.process.timers.lock(), id);
        return err(e);
    }
    0
}

/// timer_settime(id, flags, new, old).
pub async fn timer_settime(t: Arc<Thread>, a: Args) -> isize {
    let (id, flags, new, old) = (a.0[0] as i32, a.0[1] as u32, a.0[2], a.0[3]);
    if new == 0 {
        return err(errno::EINVAL);
    }
    let nv = match uaccess::read::<Itimerspec>(new) {
        Ok(v) => v,
        Err(e) => return err(e),
    };
    let (value, interval) = match (ts_ns(&nv.value), ts_ns(&nv.interval)) {
        (Ok(v), Ok(i)) => (v, i),
        (Err(e), _) | (_, Err(e)) => return err(e),
    };
    let Some(clock) = t.process.timers.lock().posix.get(&id).map(|p| p.clock) else { return err(errno::EINVAL) };
    if value != 0 && crate::mm::heap_free() < crate::config::HEAP_RESERVE {
        return err(errno::EAGAIN); // (arming spawns a task)
    }
    let now = time::ticks();
    let deadline = if value == 0 {
        None
    } else if flags & g::TIMER_ABSTIME != 0 {
        // (The clock's reading at `now` itself: a second read of the time, later, made the
        // deadline early by the time between the two reads, 72 µs once in `sigtimer posix`.)
        let mono_now = time::ticks_to_ns(now);
        let clock_now = if matches!(clock, g::CLOCK_REALTIME | g::CLOCK_TAI) { time::realtime_offset_ns() + mono_now } else { mono_now };
        Some(now.saturating_add(time::ns_to_ticks(value.saturating_sub(clock_now))))
    } else {
        Some(now.saturating_add(time::ns_to_ticks(value)))
    };
    let Some(prev) = timers::set_posix(&t.process, id, deadline, time::ns_to_ticks(interval)) else { return err(errno::EINVAL) };
    if old != 0 {
        if let Err(e) = uaccess::write(old, &Itimerspec { interval: ticks_ts(prev.1), value: ticks_ts(prev.0) }) {
            return err(e);
        }
    }
    0
}

/// timer_gettime(id, curr).
pub async fn timer_gettime(t: Arc<Thread>, a: Args) -> isize {
    let Some(v) = t.process.timers.lock().posix.get(&(a.0[0] as i32)).map(|p| p.remaining()) else {
        return err(errno::EINVAL);
    };
    match uaccess::write(a.0[1], &Itimerspec { interval: ticks_ts(v.1), value: ticks_ts(v.0) }) {
        Ok(()) => 0,
        Err(e) => err(e),
    }
}

/// timer_getoverrun(id).
pub async fn timer_getoverrun(t: Arc<Thread>, a: Args) -> isize {
    match t.process.timers.lock().posix.get(&(a.0[0] as i32)) {
        Some(p) => p.last_overrun.min(i32::MAX as u32) as isize,
        None => err(errno::EINVAL),
    }
}

/// timer_delete(id).
pub async fn timer_delete(t: Arc<Thread>, a: Args) -> isize {
    if timers::delete(&mut t.process.timers.lock(), a.0[0] as i32) { 0 } else { err(errno::EINVAL) }
}
