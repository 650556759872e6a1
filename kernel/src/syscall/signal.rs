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
/// The mask is checked as Linux does (size 8, readable) before sleeping.
pub async fn rt_sigsuspend(_t: Arc<Thread>, a: Args) -> isize {
    if a.0[1] != SIGSET_SIZE {
        return err(errno::EINVAL);
    }
    if let Err(e) = uaccess::read::<u64>(a.0[0]) {
        return err(e);
    }
    core::future::pending::<()>().await;
    err(errno::EINTR)
}

/// What a signal does to a process that has not caught it.
#[derive(PartialEq, Eq)]
enum Action {
    Terminate,
    Ignore,
    /// A handler or a stop: needs delivery, which comes with the signals issue.
    Unsupported,
}

fn action(p: &crate::task::process::Process, sig: usize) -> Action {
    const SIG_DFL: usize = 0;
    const SIG_IGN: usize = 1;
    if sig == g::SIGKILL as usize {
        return Action::Terminate;
    }
    let handler = p.sigactions.lock()[sig - 1][0];
    let blocked = *p.sigmask.lock() & (1 << (sig - 1)) != 0;
    let default_ignore = [g::SIGCHLD, g::SIGURG, g::SIGWINCH, g::SIGCONT].iter().any(|&s| s as usize == sig);
    let default_stop = [g::SIGSTOP, g::SIGTSTP, g::SIGTTIN, g::SIGTTOU].iter().any(|&s| s as usize == sig);
    match handler {
        SIG_IGN => Action::Ignore,
        SIG_DFL if default_ignore => Action::Ignore,
        SIG_DFL if !default_stop && !blocked => Action::Terminate,
        _ => Action::Unsupported,
    }
}

/// Send `sig` (1..=64; 0 only checks) to process `p`. Until signal delivery exists, only
/// actions that need no delivery are carried out: terminate (SIGKILL, or a default action of
/// terminate/core on an unblocked signal) and ignore; anything else is ENOSYS, not a fake 0.
fn send(p: &crate::task::process::Process, sig: usize) -> Result<(), u32> {
    if sig == 0 || p.exit_status().is_some() {
        return Ok(());
    }
    match action(p, sig) {
        Action::Terminate => p.exit_group(crate::task::process::ExitStatus::Signaled(sig as u8)),
        Action::Ignore => {}
        Action::Unsupported => {
            static WARNED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
            if !WARNED.swap(true, core::sync::atomic::Ordering::Relaxed) {
                log::warn!("signal {sig} to pid {}: delivery to a handler (or a stop) is not implemented yet: ENOSYS (said once)", p.pid);
            }
            return Err(errno::ENOSYS);
        }
    }
    Ok(())
}

/// kill(pid, sig): a process (pid > 0), the caller's group (0), every process but init and
/// the caller (-1), or group -pid.
pub async fn kill(t: Arc<Thread>, a: Args) -> isize {
    let (pid, sig) = (a.0[0] as i32, a.0[1]);
    if sig > 64 {
        return err(errno::EINVAL);
    }
    use crate::task::process;
    let targets: alloc::vec::Vec<_> = match pid {
        p if p > 0 => process::find(p as usize).filter(|p| p.pid != 1 || sig == 0).into_iter().collect(),
        -1 => process::all().into_iter().filter(|p| p.pid > 1 && p.pid != t.process.pid).collect(),
        _ => {
            let g = if pid == 0 { t.process.pgid.load(core::sync::atomic::Ordering::Relaxed) } else { pid.unsigned_abs() as usize };
            process::all().into_iter().filter(|p| p.pgid.load(core::sync::atomic::Ordering::Relaxed) == g).collect()
        }
    };
    // Zombies still exist (a signal to one succeeds and does nothing), as on Linux.
    if targets.is_empty() {
        return err(errno::ESRCH);
    }
    let me = *t.process.cred.lock();
    let allowed: alloc::vec::Vec<_> = targets.into_iter().filter(|p| me.may_signal(&p.cred.lock())).collect();
    if allowed.is_empty() {
        return err(errno::EPERM);
    }
    let mut r = Ok(());
    for p in allowed {
        if let Err(e) = send(&p, sig) {
            r = Err(e);
        }
    }
    ret(r.map(|_| 0))
}

/// The process whose thread has id `tid`.
fn thread_process(tid: usize) -> Option<Arc<crate::task::process::Process>> {
    crate::task::process::all().into_iter().find(|p| p.threads.lock().contains_key(&tid))
}

/// tkill(tid, sig). The action is process-wide (a fatal signal ends the whole process).
pub async fn tkill(t: Arc<Thread>, a: Args) -> isize {
    let (tid, sig) = (a.0[0] as i32, a.0[1]);
    if tid <= 0 || sig > 64 {
        return err(errno::EINVAL);
    }
    match thread_process(tid as usize) {
        Some(p) => ret(permitted(&t, &p).and_then(|_| send(&p, sig)).map(|_| 0)),
        None => err(errno::ESRCH),
    }
}

/// EPERM unless the caller may signal `p` (its credentials, as Linux's kill_ok_by_cred).
fn permitted(t: &Thread, p: &crate::task::process::Process) -> Result<(), u32> {
    let me = *t.process.cred.lock();
    if me.may_signal(&p.cred.lock()) { Ok(()) } else { Err(errno::EPERM) }
}

/// tgkill(tgid, tid, sig).
pub async fn tgkill(t: Arc<Thread>, a: Args) -> isize {
    let (tgid, tid, sig) = (a.0[0] as i32, a.0[1] as i32, a.0[2]);
    if tgid <= 0 || tid <= 0 || sig > 64 {
        return err(errno::EINVAL);
    }
    match thread_process(tid as usize).filter(|p| p.pid == tgid as usize) {
        Some(p) => ret(permitted(&t, &p).and_then(|_| send(&p, sig)).map(|_| 0)),
        None => err(errno::ESRCH),
    }
}
