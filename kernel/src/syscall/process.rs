//! Process and thread identity, exit, limits, yielding.

use super::{Args, Fast, err, uaccess};
use crate::task::Thread;
use crate::task::process::ExitStatus;
use alloc::sync::Arc;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_hal::trap::UserContext;

pub fn getpid(t: &Thread, _: &UserContext) -> Fast {
    Fast::Done(t.process.pid as isize)
}

pub fn gettid(t: &Thread, _: &UserContext) -> Fast {
    Fast::Done(t.tid as isize)
}

pub fn getppid(t: &Thread, _: &UserContext) -> Fast {
    Fast::Done(t.process.ppid as isize)
}

/// getuid, geteuid, getgid, getegid: everything runs as root for now.
pub fn getuid(_: &Thread, _: &UserContext) -> Fast {
    Fast::Done(0)
}

pub fn set_tid_address(t: &Thread, c: &UserContext) -> Fast {
    t.clear_child_tid.store(c.arg(0), core::sync::atomic::Ordering::Relaxed);
    Fast::Done(t.tid as isize)
}

/// Recorded with the robust-futex work (threads issue); accepted when the size is right.
pub fn set_robust_list(_: &Thread, c: &UserContext) -> Fast {
    Fast::Done(if c.arg(1) == 24 { 0 } else { err(errno::EINVAL) })
}

/// prlimit64(pid, resource, new, old): reports Linux's defaults; setting is accepted but not
/// enforced yet.
pub fn prlimit64(t: &Thread, c: &UserContext) -> Fast {
    let (pid, res, new, old) = (c.arg(0), c.arg(1) as u32, c.arg(2), c.arg(3));
    if pid != 0 && pid != t.process.pid {
        return Fast::Done(err(errno::ESRCH));
    }
    const INF: u64 = u64::MAX;
    let lim = match res {
        g::RLIMIT_STACK => (crate::config::USER_STACK_SIZE as u64, INF),
        g::RLIMIT_NOFILE => (1024, 4096),
        g::RLIMIT_NPROC => (4096, 4096),
        g::RLIMIT_CORE => (0, INF),
        r if r < g::RLIM_NLIMITS => (INF, INF),
        _ => return Fast::Done(err(errno::EINVAL)),
    };
    if new != 0 {
        if let Err(e) = uaccess::read::<g::rlimit64>(new) {
            return Fast::Done(err(e));
        }
    }
    if old != 0 {
        if let Err(e) = uaccess::write(old, &g::rlimit64 { rlim_cur: lim.0, rlim_max: lim.1 }) {
            return Fast::Done(err(e));
        }
    }
    Fast::Done(0)
}

/// exit: ends the calling thread (the whole process while processes have one thread).
pub async fn exit(t: Arc<Thread>, a: Args) -> isize {
    t.process.exit(ExitStatus::Exited(a.0[0] as u8));
    t.request_exit();
    0
}

/// exit_group: ends every thread of the process.
pub async fn exit_group(t: Arc<Thread>, a: Args) -> isize {
    t.process.exit(ExitStatus::Exited(a.0[0] as u8));
    t.request_exit();
    0
}

/// sched_yield: let every other ready task run once.
pub async fn sched_yield(_t: Arc<Thread>, _a: Args) -> isize {
    crate::exec::yield_now().await;
    0
}
