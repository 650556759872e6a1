//! Signal system calls. Dispositions and the mask are recorded; delivery comes with the signals issue.

use super::{Args, Fast, err, ret, uaccess};
use alloc::sync::Arc;
use crate::task::Thread;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_hal::trap::UserContext;

const SIGSET_SIZE: usize = 8;

/// rt_sigaction(sig, act, oact, sigsetsize): records the disposition (struct sigaction on
/// riscv64: handler, flags, restorer-less mask, 4 words as the kernel sees it).
pub fn rt_sigaction(t: &Thread, c: &UserContext) -> Fast {
    let (sig, act, oact, size) = (c.arg(0), c.arg(1), c.arg(2), c.arg(3));
    Fast::Done(ret((|| {
        if size != SIGSET_SIZE || !(1..=64).contains(&sig) {
            return Err(errno::EINVAL);
        }
        let new = if act != 0 { Some(uaccess::read::<[usize; 4]>(act)?) } else { None };
        if new.is_some() && (sig == g::SIGKILL as usize || sig == g::SIGSTOP as usize) {
            return Err(errno::EINVAL);
        }
        let old = t.process.sigactions.lock()[sig - 1];
        if oact != 0 {
            uaccess::write(oact, &old)?;
        }
        if let Some(n) = new {
            t.process.sigactions.lock()[sig - 1] = n;
        }
        Ok(0)
    })()))
}

/// rt_sigprocmask(how, set, oset, sigsetsize).
pub fn rt_sigprocmask(t: &Thread, c: &UserContext) -> Fast {
    let (how, set, oset, size) = (c.arg(0) as u32, c.arg(1), c.arg(2), c.arg(3));
    if size != SIGSET_SIZE {
        return Fast::Done(err(errno::EINVAL));
    }
    Fast::Done(ret((|| {
        let new = if set != 0 { Some(uaccess::read::<u64>(set)?) } else { None };
        let old = *t.process.sigmask.lock();
        if let Some(n) = new {
            let unblockable = (1u64 << (g::SIGKILL - 1)) | (1u64 << (g::SIGSTOP - 1));
            let m = match how {
                g::SIG_BLOCK => old | n,
                g::SIG_UNBLOCK => old & !n,
                g::SIG_SETMASK => n,
                _ => return Err(errno::EINVAL),
            };
            *t.process.sigmask.lock() = m & !unblockable;
        }
        if oset != 0 {
            uaccess::write(oset, &old)?;
        }
        Ok(0)
    })()))
}

/// rt_sigsuspend (what glibc's pause() calls on riscv64): sleeps until a signal arrives;
/// without signal delivery, until the thread is told to exit (exit_group, a fatal signal).
pub async fn rt_sigsuspend(_t: Arc<Thread>, _a: Args) -> isize {
    core::future::pending::<()>().await;
    err(errno::EINTR)
}
