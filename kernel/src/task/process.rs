//! A process: a thread group with its descriptor table, signal dispositions, limits, children
//! and exit status. Threads hold the address space (see [`Thread::mm`]).

use super::Thread;
use crate::config;
use crate::exec::{Event, WaitQueue};
use crate::fs::vfs::FsCtx;
use crate::fs::{self, FdTable};
use crate::mm::aspace::{AddrSpace, Mm};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};
use linux_raw_sys::auxvec as at;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_exec::sync::Mutex;
use velox_hal::trap::UserContext;
use velox_loader::auxv::key;
use velox_mm::vma::{Backing, Prot};
use velox_mm::{PAGE_SIZE, page_ceil, page_floor};

static NEXT_PID: AtomicUsize = AtomicUsize::new(1);
/// Every live or zombie process, by pid.
static PROCS: Mutex<BTreeMap<usize, Arc<Process>>> = Mutex::new(BTreeMap::new());
static INIT: spin::Once<Arc<Process>> = spin::Once::new();
/// Threads alive in the whole system (the kernel-wide limit is `config::MAX_THREADS`).
pub static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Live tasks (threads) per real uid, for RLIMIT_NPROC. Lock order: a process's `threads`,
/// then its `cred`, then this.
static USER_TASKS: Mutex<BTreeMap<u32, usize>> = Mutex::new(BTreeMap::new());
/// Root's count, kept apart: nearly every task is root's, and thread creation should not
/// pay for a map look-up.
static ROOT_TASKS: AtomicUsize = AtomicUsize::new(0);

fn user_tasks_add(uid: u32, n: isize) {
    if uid == 0 {
        if n >= 0 {
            ROOT_TASKS.fetch_add(n as usize, Ordering::Relaxed);
        } else {
            ROOT_TASKS.fetch_sub(n.unsigned_abs(), Ordering::Relaxed);
        }
        return;
    }
    let mut m = USER_TASKS.lock();
    let c = m.entry(uid).or_insert(0);
    *c = c.saturating_add_signed(n);
    if *c == 0 {
        m.remove(&uid);
    }
}

/// Live tasks of user `uid`.
pub fn user_tasks(uid: u32) -> usize {
    if uid == 0 {
        return ROOT_TASKS.load(Ordering::Relaxed);
    }
    USER_TASKS.lock().get(&uid).copied().unwrap_or(0)
}

/// Allocate a process or thread id (one number space, as on Linux; never reused for now).
pub fn alloc_id() -> usize {
    NEXT_PID.fetch_add(1, Ordering::Relaxed)
}

/// How a process ended, as wait4 reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(u8),
    Signaled(u8),
}

impl ExitStatus {
    /// The wait4 status word.
    pub fn wait_status(self) -> u32 {
        match self {
            ExitStatus::Exited(c) => (c as u32) << 8,
            ExitStatus::Signaled(s) => s as u32,
        }
    }
}

/// CPU time of dead threads and reaped children (ticks).
#[derive(Debug, Default, Clone, Copy)]
pub struct Times {
    pub user: u64,
    pub cpu: u64,
    pub child_user: u64,
    pub child_cpu: u64,
}

/// Resource limits (soft, hard) by RLIMIT_* number.
pub type Limits = [(u64, u64); g::RLIM_NLIMITS as usize];

fn default_limits() -> Limits {
    const INF: u64 = u64::MAX;
    let mut l = [(INF, INF); g::RLIM_NLIMITS as usize];
    l[g::RLIMIT_STACK as usize] = (config::USER_STACK_SIZE as u64, INF);
    l[g::RLIMIT_NOFILE as usize] = (1024, 4096);
    l[g::RLIMIT_NPROC as usize] = (config::MAX_THREADS as u64, config::MAX_THREADS as u64);
    l[g::RLIMIT_CORE as usize] = (0, INF);
    l[g::RLIMIT_MEMLOCK as usize] = (8 << 20, 8 << 20);
    l[g::RLIMIT_SIGPENDING as usize] = (4096, 4096);
    l[g::RLIMIT_MSGQUEUE as usize] = (819200, 819200);
    l[g::RLIMIT_RTPRIO as usize] = (0, 0);
    l[g::RLIMIT_NICE as usize] = (0, 0);
    l
}

/// A process.
pub struct Process {
    pub pid: usize,
    pub ppid: AtomicUsize,
    pub pgid: AtomicUsize,
    pub sid: AtomicUsize,
    pub exe: Mutex<Vec<u8>>,
    /// The name ps and /proc/<pid>/comm show (prctl PR_SET_NAME; the program's base name
    /// after execve), NUL-padded to 16 bytes.
    pub comm: Mutex<[u8; 16]>,
    /// Signal sent to this process when its parent ends (prctl PR_SET_PDEATHSIG; 0: none).
    pub pdeath_signal: core::sync::atomic::AtomicU8,
    /// prctl flags: PR_SET_DUMPABLE (bit 0 = not dumpable), PR_SET_NO_NEW_PRIVS (bit 1).
    pub prctl_flags: core::sync::atomic::AtomicU8,
    /// The descriptor table (shared with CLONE_FILES).
    pub fds: Arc<Mutex<FdTable>>,
    /// Supplementary group ids (setgroups), sorted.
    pub groups: Mutex<Arc<Vec<u32>>>,
    /// Root, working directory and umask (shared with CLONE_FS).
    /// Copied on write (`Arc::make_mut`): a path call takes a reference, not a copy.
    pub fs: Arc<Mutex<Arc<fs::vfs::FsCtx>>>,
    /// Dispositions, process-wide pending signals and the stopped state (`task::signal`).
    pub sig: Mutex<super::signal::ProcSig>,
    /// Woken when the process continues (SIGCONT) after a stop.
    pub stop_wait: WaitQueue,
    /// The signal the parent gets when this process ends (clone's exit signal; 0: none).
    pub exit_signal: core::sync::atomic::AtomicU8,
    /// Interval timers and POSIX timers (`task::timers`).
    pub timers: Mutex<super::timers::Timers>,
    /// Set while ITIMER_VIRTUAL or ITIMER_PROF is armed (checked when a time slice ends).
    pub cpu_timers: core::sync::atomic::AtomicBool,
    pub limits: Mutex<Limits>,
    /// User and group ids (per process: glibc changes them in every thread at once anyway).
    /// Change them only through [`Process::set_cred`], which keeps the per-user task counts.
    pub cred: Mutex<velox_cred::Cred>,
    /// Live threads by tid.
    pub threads: Mutex<BTreeMap<usize, Arc<Thread>>>,
    pub children: Mutex<Vec<Arc<Process>>>,
    /// Woken when a child becomes a zombie.
    pub child_event: WaitQueue,
    /// Woken when one of this process's threads finishes (execve waits for its siblings).
    pub thread_event: WaitQueue,
    /// The group exit status (exit_group, fatal signal), first one wins.
    group_status: Mutex<Option<ExitStatus>>,
    /// The final status, once every thread is gone (a zombie until reaped).
    status: Mutex<Option<ExitStatus>>,
    /// Set when the process became a zombie.
    pub exited: Event,
    /// Set while an execve removes the process's other threads.
    pub de_thread: core::sync::atomic::AtomicBool,
    /// CPU time (page faults and context switches are not counted yet: rusage has times only).
    pub times: Mutex<Times>,
    /// When the process was created (fork, spawn), in ticks: /proc/<pid>/stat's starttime.
    pub start_ticks: u64,
}

impl Process {
    /// A process with parent `parent` that inherits everything else (ids, group, session,
    /// limits, dispositions, mask) from `parent`, or from `like` when given: a CLONE_PARENT
    /// child belongs to the caller's parent but is a copy of the caller.
    fn new(pid: usize, parent: Option<&Process>, exe: Vec<u8>, fds: FdTable) -> Arc<Process> {
        Self::new_like(pid, parent, parent, exe, Arc::new(Mutex::new(fds)), None)
    }

    /// `fds` is the new process's descriptor table (a copy, or the caller's for CLONE_FILES);
    /// `fs` its root/cwd/umask to share (CLONE_FS), else a copy of `like`'s.
    fn new_like(pid: usize, parent: Option<&Process>, like: Option<&Process>, exe: Vec<u8>, fds: Arc<Mutex<FdTable>>, fs: Option<Arc<Mutex<Arc<fs::vfs::FsCtx>>>>) -> Arc<Process> {
        let ppid = parent.map_or(0, |p| p.pid);
        let parent = like;
        let p = Arc::new(Process {
            pid,
            ppid: AtomicUsize::new(ppid),
            pgid: AtomicUsize::new(parent.map_or(pid, |p| p.pgid.load(Ordering::Relaxed))),
            sid: AtomicUsize::new(parent.map_or(pid, |p| p.sid.load(Ordering::Relaxed))),
            comm: Mutex::new(comm_of(&exe)),
            exe: Mutex::new(exe),
            pdeath_signal: core::sync::atomic::AtomicU8::new(0),
            // (no_new_privs is inherited by children; dumpable comes back at exec.)
            prctl_flags: core::sync::atomic::AtomicU8::new(parent.map_or(0, |p| p.prctl_flags.load(Ordering::Relaxed) & 2)),
            fds,
            groups: Mutex::new(parent.map_or_else(|| Arc::new(Vec::new()), |p| p.groups.lock().clone())),
            fs: fs.unwrap_or_else(|| Arc::new(Mutex::new(parent.map_or_else(|| Arc::new(fs::vfs::FsCtx::initial()), |p| p.fs.lock().clone())))),
            sig: Mutex::new(parent.map_or_else(super::signal::ProcSig::new, |p| p.sig.lock().fork())),
            stop_wait: WaitQueue::new(),
            exit_signal: core::sync::atomic::AtomicU8::new(g::SIGCHLD as u8),
            timers: Mutex::new(super::timers::Timers::default()),
            cpu_timers: core::sync::atomic::AtomicBool::new(false),
            limits: Mutex::new(parent.map_or_else(default_limits, |p| *p.limits.lock())),
            cred: Mutex::new(parent.map_or(velox_cred::Cred::ROOT, |p| *p.cred.lock())),
            threads: Mutex::new(BTreeMap::new()),
            children: Mutex::new(Vec::new()),
            child_event: WaitQueue::new(),
            thread_event: WaitQueue::new(),
            group_status: Mutex::new(None),
            status: Mutex::new(None),
            exited: Event::default(),
            de_thread: core::sync::atomic::AtomicBool::new(false),
            times: Mutex::new(Times::default()),
            start_ticks: crate::time::ticks(),
        });
        PROCS.lock().insert(pid, p.clone());
        p
    }

    /// The parent pid.
    #[inline(always)]
    pub fn ppid(&self) -> usize {
        self.ppid.load(Ordering::Relaxed)
    }

    /// End every thread of the process with `st` (exit_group, fatal signal). First one wins.
    pub fn exit_group(&self, st: ExitStatus) {
        {
            let mut s = self.group_status.lock();
            if s.is_none() {
                *s = Some(st);
            }
        }
        let threads: Vec<Arc<Thread>> = self.threads.lock().values().cloned().collect();
        for t in threads {
            t.request_exit();
        }
    }

    /// True once exit_group (or a fatal signal) ended the process, even if threads remain.
    pub fn is_exiting(&self) -> bool {
        self.group_status.lock().is_some()
    }

    /// True once the process is a zombie.
    pub fn is_zombie(&self) -> bool {
        self.status.lock().is_some()
    }

    /// How the process ended, once it is a zombie.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        *self.status.lock()
    }

    /// A thread joins the process. If the process is ending (exit_group, a fatal signal) or
    /// an execve is removing its other threads, the newcomer is told to exit at once: the
    /// sibling that created it may run on another hart and have missed that moment.
    pub fn add_thread(&self, t: Arc<Thread>) {
        THREADS.fetch_add(1, Ordering::Relaxed);
        let mut ts = self.threads.lock();
        user_tasks_add(self.cred.lock().uid.r, 1);
        // (Under the threads lock: exit_group and execve collect the threads under it after
        // raising their flag, so either they see this thread or this sees their flag.)
        if self.group_status.lock().is_some() || self.de_thread.load(Ordering::SeqCst) {
            t.request_exit();
        }
        ts.insert(t.tid(), t.clone());
        drop(ts);
        // A newcomer during a group stop stops too (a stop that began after the insert
        // notified it with the others).
        if self.sig.lock().stopped {
            super::signal::notify(&t);
        }
    }

    /// Apply `f` to the credentials; a change of real uid moves this process's threads to
    /// the new user's count (RLIMIT_NPROC counts tasks per real uid, as on Linux).
    pub fn set_cred<R>(&self, f: impl FnOnce(&mut velox_cred::Cred) -> R) -> R {
        let ts = self.threads.lock();
        let mut c = self.cred.lock();
        let old = c.uid.r;
        let r = f(&mut c);
        if c.uid.r != old {
            user_tasks_add(old, -(ts.len() as isize));
            user_tasks_add(c.uid.r, ts.len() as isize);
        }
        r
    }

    /// Number of live threads.
    pub fn thread_count(&self) -> usize {
        self.threads.lock().len()
    }

    /// A thread finished (its future is about to complete). The last one turns the process
    /// into a zombie: descriptors closed, children re-parented, parent notified.
    pub fn remove_thread(self: &Arc<Self>, t: &Thread) {
        let last = {
            let mut ts = self.threads.lock();
            if ts.remove(&t.tid()).is_some() {
                user_tasks_add(self.cred.lock().uid.r, -1);
            }
            ts.is_empty()
        };
        THREADS.fetch_sub(1, Ordering::Relaxed);
        t.vfork_done.set();
        if !last {
            // Process-wide signals this thread may have been told about go to another; a
            // stop that waited for this thread may be complete now.
            super::signal::retarget(self, u64::MAX, None);
            super::signal::stop_check(self);
        }
        {
            let mut tm = self.times.lock();
            tm.user += t.user_ticks.load(Ordering::Relaxed);
            tm.cpu += t.cpu_ticks.load(Ordering::Relaxed);
        }
        self.thread_event.wake_all();
        if !last {
            return;
        }
        let st = self.group_status.lock().unwrap_or(ExitStatus::Exited(t.exit_code.load(Ordering::Relaxed) as u8));
        self.timers.lock().cancel_all();
        self.cpu_timers.store(false, Ordering::Relaxed);
        // Drop the descriptors outside the lock (closing a pipe end wakes its peers).
        // A table shared with another live process (CLONE_FILES) stays with it.
        if Arc::strong_count(&self.fds) == 1 {
            let fds = core::mem::take(&mut *self.fds.lock());
            drop(fds);
        }
        fs::locks::release_process(self.pid);
        if self.sid.load(Ordering::Relaxed) == self.pid {
            crate::dev::tty::console().session_leader_exit(self.pid);
        }
        self.reparent_children();
        let parent = PROCS.lock().get(&self.ppid()).cloned().filter(|par| par.pid != 1 || USER_INIT.load(Ordering::Relaxed));
        // A parent that ignores SIGCHLD (or set SA_NOCLDWAIT) has the child reaped before its
        // status is published: a wait4 running on another hart must never see it (ECHILD).
        if let Some(par) = &parent {
            if self.autoreaped_by(par) {
                self.reap_into(par);
            }
        }
        *self.status.lock() = Some(st);
        self.exited.set();
        match parent {
            Some(par) => {
                self.notify_exit(&par, st);
                par.child_event.wake_all();
            }
            // The kernel's init reaps at once (run_command keeps its own reference).
            None => self.reap_into(&init_process()),
        }
    }

    /// Does `par` not wait for this child (SIGCHLD as the exit signal, ignored or
    /// SA_NOCLDWAIT)?
    fn autoreaped_by(&self, par: &Process) -> bool {
        let a = par.sig.lock().actions[g::SIGCHLD as usize - 1];
        self.exit_signal.load(Ordering::Relaxed) as usize == g::SIGCHLD as usize
            && (a.handler == super::signal::SIG_IGN || a.flags & g::SA_NOCLDWAIT as u64 != 0)
    }

    /// Send the parent this process's exit signal (SIGCHLD with CLD_EXITED or CLD_KILLED;
    /// none if SIGCHLD is ignored).
    fn notify_exit(&self, par: &Process, st: ExitStatus) {
        use super::signal::SIG_IGN;
        let es = self.exit_signal.load(Ordering::Relaxed) as usize;
        let ign = par.sig.lock().actions[g::SIGCHLD as usize - 1].handler == SIG_IGN;
        let sigchld = es == g::SIGCHLD as usize;
        if es != 0 && !(sigchld && ign) {
            let (code, status) = match st {
                ExitStatus::Exited(c) => (g::CLD_EXITED, c as i32),
                ExitStatus::Signaled(s) => (g::CLD_KILLED, s as i32),
            };
            let tm = *self.times.lock();
            let clk = |t: u64| crate::time::ticks_to_ns(t) / 10_000_000;
            let info = velox_abi::SigInfo::new(es as i32, code as i32)
                .with_sender(self.pid as u32, self.cred.lock().uid.r)
                .with_child(status, clk(tm.user), clk(tm.cpu.saturating_sub(tm.user)));
            let _ = super::signal::send_process(par, &info);
        }
    }

    fn reparent_children(&self) {
        let kids = core::mem::take(&mut *self.children.lock());
        let init = init_process();
        for k in kids {
            let sig = k.pdeath_signal.load(Ordering::Relaxed);
            if sig != 0 && k.exit_status().is_none() {
                let info = velox_abi::SigInfo::new(sig as i32, g::SI_USER as i32).with_sender(self.pid as u32, 0);
                let _ = super::signal::send_process(&k, &info);
            }
            k.ppid.store(1, Ordering::Relaxed);
            if k.exit_status().is_some() {
                k.reap_into(&init);
            } else {
                init.children.lock().push(k);
            }
        }
    }

    /// Remove a zombie from its parent's children and the process table; add its CPU time to
    /// the parent's children totals.
    pub fn reap_into(&self, parent: &Process) {
        parent.children.lock().retain(|c| c.pid != self.pid);
        PROCS.lock().remove(&self.pid);
        let t = *self.times.lock();
        let mut pt = parent.times.lock();
        pt.child_user += t.user + t.child_user;
        pt.child_cpu += t.cpu + t.child_cpu;
    }
}

/// Look a process up by pid.
pub fn find(pid: usize) -> Option<Arc<Process>> {
    PROCS.lock().get(&pid).cloned()
}

/// Look a thread up by tid (any process).
pub fn find_thread(tid: usize) -> Option<Arc<Thread>> {
    if let Some(t) = find(tid).and_then(|p| p.threads.lock().get(&tid).cloned()) {
        return Some(t);
    }
    all().into_iter().find_map(|p| p.threads.lock().get(&tid).cloned())
}

/// Every process (for process-group operations).
pub fn all() -> Vec<Arc<Process>> {
    PROCS.lock().values().cloned().collect()
}

/// The 16-byte comm of a program path: its base name, cut to 15 bytes.
pub fn comm_of(path: &[u8]) -> [u8; 16] {
    let base = path.rsplit(|&c| c == b'/').next().unwrap_or(path);
    let mut c = [0u8; 16];
    let n = base.len().min(15);
    c[..n].copy_from_slice(&base[..n]);
    c
}

/// Set when pid 1 is a user program (/sbin/init): orphans then become its children, which it
/// waits for itself, instead of being reaped by the kernel at once.
pub static USER_INIT: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Start the program at `path` as pid 1 (interactive boot): the parent of orphans, whose end
/// powers the machine off. Must come before any other process exists.
pub fn spawn_init(path: &[u8], argv: &[&[u8]], envp: &[&[u8]]) -> Result<Arc<Thread>, u32> {
    let img = load_program(&FsCtx::initial(), &velox_vfs::Who::ROOT, path, argv, envp, config::USER_STACK_SIZE as u64, [0; 4])?;
    if INIT.get().is_some() {
        return Err(errno::EBUSY);
    }
    let p = INIT.call_once(|| Process::new(alloc_id(), None, img.exe.clone(), FdTable::with_console())).clone();
    *p.comm.lock() = comm_of(path);
    debug_assert_eq!(p.pid, 1);
    USER_INIT.store(true, Ordering::Relaxed);
    let t = Thread::new(p.pid, p.clone(), Arc::new(Mm::new(img.space)), UserContext::new(img.entry, img.sp));
    p.add_thread(t.clone());
    Ok(t)
}

/// The kernel's init process (pid 1): parent of the commands it runs and of orphans, which
/// it reaps as soon as they exit. It has no user threads (unless [`spawn_init`] made pid 1 a
/// user program).
pub fn init_process() -> Arc<Process> {
    INIT.call_once(|| Process::new(alloc_id(), None, b"/velox-init".to_vec(), FdTable::default())).clone()
}

/// A loaded program: its address space, entry point and initial stack pointer.
pub struct Image {
    /// The program's absolute path (/proc/self/exe).
    pub exe: Vec<u8>,
    pub space: AddrSpace,
    pub entry: usize,
    pub sp: usize,
}

/// Most `#!` interpreters one execve goes through (Linux allows 4 levels past the script).
const MAX_INTERP_DEPTH: usize = 4;

/// Load the program at `path` (walked from `ctx` with `cred`'s rights) with `argv`/`envp`
/// into a new address space; `#!` scripts run their interpreter. Errors are Linux errno values
/// (ENOENT, EACCES, ENOEXEC, E2BIG, ENOMEM, ELOOP).
pub fn load_program(ctx: &FsCtx, who: &velox_vfs::Who, path: &[u8], argv: &[&[u8]], envp: &[&[u8]], stack_limit: u64, ids: [u32; 4]) -> Result<Image, u32> {
    load_at_depth(ctx, who, path, argv, envp, (stack_limit, ids), 0)
}

/// The start of an executable file: the RAM disk's bytes in place (the whole file), or a
/// copy of its first bytes (the ELF and program headers, or a `#!` line); `len` is the file's
/// size. Segments are mapped from the file itself (`map_elf`).
struct Head {
    bytes: HeadBytes,
    len: usize,
}

enum HeadBytes {
    Static(&'static [u8]),
    Owned(Vec<u8>),
}

impl Head {
    fn bytes(&self) -> &[u8] {
        match &self.bytes {
            HeadBytes::Static(b) => b,
            HeadBytes::Owned(v) => v,
        }
    }

    /// Bytes `[off, off+n)` of the file (the eager path: segments that share a page).
    fn range(&self, l: &velox_vfs::Loc, off: usize, n: usize) -> Result<alloc::borrow::Cow<'_, [u8]>, u32> {
        let end = off.checked_add(n).filter(|&e| e <= self.len).ok_or(errno::ENOEXEC)?;
        if let HeadBytes::Static(b) = self.bytes {
            return Ok(alloc::borrow::Cow::Borrowed(&b[off..end]));
        }
        if n > crate::mm::heap_free().saturating_sub(config::HEAP_RESERVE) / 2 {
            return Err(errno::ENOMEM);
        }
        let v = velox_vfs::read_bytes(&*l.inode, off as u64, n)?;
        if v.len() != n {
            return Err(errno::ENOEXEC); // the file shrank under us
        }
        Ok(alloc::borrow::Cow::Owned(v))
    }
}

/// Read the head of the executable at `l`: its first page, more if its program headers or
/// PT_INTERP's path reach further (up to 64 KiB).
fn read_head(l: &velox_vfs::Loc) -> Result<Head, u32> {
    if let Some(b) = l.inode.static_bytes() {
        return Ok(Head { bytes: HeadBytes::Static(b), len: b.len() });
    }
    let len = l.inode.stat().size as usize;
    let mut v = velox_vfs::read_bytes(&*l.inode, 0, len.min(PAGE_SIZE))?;
    // (Twice at most: the program headers, then PT_INTERP's path once they are known.)
    for _ in 0..2 {
        match velox_loader::head_len(&v) {
            Some(need) if need > v.len() && need <= len.min(64 << 10) => v = velox_vfs::read_bytes(&*l.inode, 0, need)?,
            _ => break,
        }
    }
    Ok(Head { bytes: HeadBytes::Owned(v), len })
}

fn load_at_depth(ctx: &FsCtx, who: &velox_vfs::Who, path: &[u8], argv: &[&[u8]], envp: &[&[u8]], lim: (u64, [u32; 4]), depth: usize) -> Result<Image, u32> {
    let loc = fs::vfs::walk(ctx, who, &ctx.cwd, path, true)?;
    let st = loc.inode.stat();
    if loc.inode.kind() != velox_vfs::FileType::Regular || !velox_vfs::may(&st, who, velox_vfs::MAY_EXEC) {
        return Err(errno::EACCES);
    }
    let deny = fs::writecount::DenyWrite::get(&loc.inode)?; // ETXTBSY if open for writing
    let head = read_head(&loc)?;
    let image = head.bytes();
    if image.starts_with(b"#!") {
        if depth >= MAX_INTERP_DEPTH {
            return Err(errno::ELOOP);
        }
        // The first line (Linux reads 256 bytes): interpreter, then one optional argument
        // (the rest of the line, trimmed).
        let head = &image[2..image.len().min(256)];
        let line = match head.iter().position(|&c| c == b'\n') {
            Some(i) => &head[..i],
            None => head,
        };
        let trim = |s: &[u8]| -> Vec<u8> {
            let s: &[u8] = &s[s.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(s.len())..];
            s[..s.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(0, |i| i + 1)].to_vec()
        };
        let line = trim(line);
        if line.is_empty() {
            return Err(errno::ENOEXEC);
        }
        let split = line.iter().position(|c| c.is_ascii_whitespace()).unwrap_or(line.len());
        let interp = line[..split].to_vec();
        let arg = trim(&line[split..]);
        let mut av: Vec<&[u8]> = Vec::new();
        av.try_reserve(argv.len() + 2).map_err(|_| errno::ENOMEM)?;
        av.push(&interp);
        if !arg.is_empty() {
            av.push(&arg);
        }
        av.push(path);
        av.extend(argv.iter().skip(1).copied());
        return load_at_depth(ctx, who, &interp, &av, envp, lim, depth + 1);
    }
    let exe = resolved_path(ctx, who, path).unwrap_or_else(|_| velox_vfs::normalize(b"/", path));
    let mut img = load_elf(&head, &loc, (ctx, who), argv, envp, &exe, lim)?;
    img.space.exe = Some(deny); // not writable while the image runs
    img.exe = exe;
    Ok(img)
}

/// The absolute path of the file `path` names, symbolic links followed (/proc/self/exe names
/// the real binary, as on Linux).
fn resolved_path(ctx: &FsCtx, who: &velox_vfs::Who, path: &[u8]) -> Result<Vec<u8>, u32> {
    let (mut dir, name, _) = fs::vfs::walk_parent(ctx, who, &ctx.cwd, path)?;
    let mut name = name.to_vec();
    for _ in 0..velox_vfs::path::MAX_LINKS {
        let i = dir.inode.lookup(&name)?;
        if i.kind() != velox_vfs::FileType::Symlink {
            let mut p = fs::vfs::path_of(ctx, &dir)?;
            if p.last() != Some(&b'/') {
                p.push(b'/');
            }
            p.extend_from_slice(&name);
            return Ok(p);
        }
        let target = i.readlink()?;
        let (d2, n2, _) = fs::vfs::walk_parent(ctx, who, &dir, &target)?;
        name = n2.to_vec();
        dir = d2;
    }
    Err(errno::ELOOP)
}

/// Map the segments `plan` lists of the ELF file at `loc` (whose start is `head`; `path` names
/// it in /proc/PID/maps) into `a`: private mappings of the file, read page by page at fault
/// time as Linux does (exec of a 1.6 MB busybox or a 30 MB cc1 copies nothing up front); if two
/// segments share a page (or a segment's offset is not congruent to its address), copied
/// eagerly instead.
fn map_elf(a: &mut AddrSpace, plan: &velox_loader::Plan, head: &Head, loc: &velox_vfs::Loc, path: &[u8]) -> Result<(), u32> {
    // Lazy only when every segment starts on a page of its own (no page shared by two
    // segments) and its file offset is congruent to its address (as ELF requires).
    let lazy = plan.segments.iter().all(|s| s.vaddr % PAGE_SIZE == s.offset % PAGE_SIZE)
        && plan.segments.windows(2).all(|w| page_ceil(w[0].vaddr + w[0].memsz).is_some_and(|e| e <= page_floor(w[1].vaddr)));
    if lazy {
        let fr = fs::OpenFile::new(fs::FileKind::Node(fs::Node { loc: loc.clone(), path: path.to_vec(), path_only: false }), g::O_RDONLY);
        for s in &plan.segments {
            let start = page_floor(s.vaddr);
            let fend = page_ceil(s.vaddr + s.filesz).ok_or(errno::ENOEXEC)?;
            let mend = page_ceil(s.vaddr + s.memsz).ok_or(errno::ENOEXEC)?;
            if s.filesz > 0 {
                let fm = crate::mm::filemap::FileMap::new(fr.clone(), loc.inode.clone(), page_floor(s.offset) as u64, fend - start, false, false, false)?;
                a.add_file_area(start, fend, Prot(s.prot), fm)?;
                // bss that starts inside the last file page reads as zero (the file's bytes
                // there belong to whatever follows the segment): zero that tail in a private
                // copy of the page, as Linux's padzero.
                let z = s.vaddr + s.filesz;
                if s.memsz > s.filesz && z % PAGE_SIZE != 0 {
                    if a.handle_fault(page_floor(z), crate::mm::aspace::Access::Write) != crate::mm::aspace::Fault::Mapped {
                        return Err(errno::ENOMEM);
                    }
                    static ZEROS: [u8; PAGE_SIZE] = [0; PAGE_SIZE];
                    a.write_bytes(z, &ZEROS[..fend - z])?;
                }
            }
            if mend > fend.max(start) {
                a.add_area(fend.max(start), mend, Prot(s.prot), Backing::Anon)?;
            }
        }
        return Ok(());
    }
    for s in &plan.segments {
        let start = page_floor(s.vaddr);
        let end = page_ceil(s.vaddr + s.memsz).ok_or(errno::ENOEXEC)?;
        // Adjacent segments may share a page; merge rights into the existing area there.
        let mut lo = start;
        if let Some(prev) = a.vmas.find(start).copied() {
            a.protect(start, prev.end, Prot(prev.prot.0 | s.prot))?;
            lo = prev.end;
        }
        if lo < end {
            a.add_area(lo, end, Prot(s.prot), Backing::Eager)?;
        }
        a.write_bytes(s.vaddr, &head.range(loc, s.offset, s.filesz)?)?;
        // bss within the last file page must read as zero: fresh frames are zeroed already.
    }
    Ok(())
}

/// Open the program interpreter `path` (PT_INTERP) as execve opens the program: a regular
/// file the caller may execute (walked from the caller's root and cwd).
/// While the interpreter is loaded it may not be open for writing (ETXTBSY), as on Linux
/// (the returned guard; afterwards it may be written, as Linux allows too).
fn open_interp(ctx: &FsCtx, who: &velox_vfs::Who, path: &[u8]) -> Result<(velox_vfs::Loc, Head, fs::writecount::DenyWrite), u32> {
    let loc = fs::vfs::walk(ctx, who, &ctx.cwd, path, true)?;
    if loc.inode.kind() != velox_vfs::FileType::Regular || !velox_vfs::may(&loc.inode.stat(), who, velox_vfs::MAY_EXEC) {
        return Err(errno::EACCES);
    }
    let deny = fs::writecount::DenyWrite::get(&loc.inode)?;
    let head = read_head(&loc)?;
    Ok((loc, head, deny))
}

/// Map an ELF executable (`head`, the start of the file at `loc`), and for a dynamically
/// linked one its interpreter (PT_INTERP: ld.so, placed as an mmap would place it, below the
/// stack; the program starts there with AT_BASE its load address and AT_ENTRY the program's
/// own entry), plus the stack, the vDSO and the auxiliary vector.
fn load_elf(head: &Head, loc: &velox_vfs::Loc, (ctx, who): (&FsCtx, &velox_vfs::Who), argv: &[&[u8]], envp: &[&[u8]], path: &[u8], lim: (u64, [u32; 4])) -> Result<Image, u32> {
    let (stack_limit, ids) = lim;
    // The stack area is RLIMIT_STACK's soft value (at most the 8 MiB the address-space layout
    // leaves below the top; at least 128 KiB), so a smaller limit makes deep recursion fault.
    let stack_size = page_ceil((stack_limit.min(config::USER_STACK_SIZE as u64) as usize).max(128 << 10)).unwrap_or(config::USER_STACK_SIZE);
    let plan = velox_loader::plan_head(head.bytes(), head.len, config::PIE_BASE).map_err(|_| errno::ENOEXEC)?;
    let interp = match &plan.interp {
        Some(p) => Some(open_interp(ctx, who, p)?),
        None => None,
    };
    let mut a = AddrSpace::new().ok_or(errno::ENOMEM)?;
    map_elf(&mut a, &plan, head, loc, path)?;
    let brk = page_ceil(plan.end).ok_or(errno::ENOEXEC)?;
    a.brk_start = brk;
    a.brk = brk;
    let stack_top = config::USER_STACK_TOP;
    a.add_area(stack_top - stack_size, stack_top, Prot(Prot::READ | Prot::WRITE), Backing::Anon)?;
    crate::vdso::map(&mut a)?;
    // The interpreter: planned at 0 to learn its span, then placed where mmap would put it.
    let (mut entry, mut base) = (plan.entry, 0);
    if let Some((iloc, ihead, _deny)) = &interp {
        let p0 = velox_loader::plan_head(ihead.bytes(), ihead.len, 0).map_err(|_| errno::ELIBBAD)?;
        let bias = if p0.dynamic {
            let lo = page_floor(p0.segments.first().map_or(0, |s| s.vaddr));
            let span = page_ceil(p0.end).ok_or(errno::ELIBBAD)? - lo;
            a.find_free(span).ok_or(errno::ENOMEM)? - lo
        } else {
            0
        };
        let ip = velox_loader::plan_head(ihead.bytes(), ihead.len, bias).map_err(|_| errno::ELIBBAD)?;
        map_elf(&mut a, &ip, ihead, iloc, plan.interp.as_deref().unwrap_or_default())?;
        (entry, base) = (ip.entry, bias);
    }
    let aux = [
        (key(at::AT_SYSINFO_EHDR), crate::vdso::base() as u64),
        (key(at::AT_PHDR), plan.phdr as u64),
        (key(at::AT_PHENT), plan.phent as u64),
        (key(at::AT_PHNUM), plan.phnum as u64),
        (key(at::AT_PAGESZ), PAGE_SIZE as u64),
        (key(at::AT_BASE), base as u64),
        (key(at::AT_FLAGS), 0),
        (key(at::AT_ENTRY), plan.entry as u64),
        (key(at::AT_UID), ids[0] as u64),
        (key(at::AT_EUID), ids[1] as u64),
        (key(at::AT_GID), ids[2] as u64),
        (key(at::AT_EGID), ids[3] as u64),
        (key(at::AT_SECURE), (ids[0] != ids[1] || ids[2] != ids[3]) as u64),
        (key(at::AT_HWCAP), crate::syscall::sys::HWCAP),
        (key(at::AT_CLKTCK), 100),
    ];
    let mut random = [0u8; 16];
    crate::syscall::sys::fill_random(&mut random);
    let img = velox_loader::build_stack(stack_top, argv, envp, &aux, random, path, config::ARG_MAX.min(stack_size / 4 * 3)).ok_or(errno::E2BIG)?;
    a.write_bytes(img.sp, &img.bytes)?;
    Ok(Image { exe: Vec::new(), space: a, entry, sp: img.sp })
}

/// Create a process (child of the kernel's init) running the executable at `path` with
/// `argv`/`envp`; returns its first thread, ready to be spawned.
pub fn spawn_process(path: &[u8], argv: &[&[u8]], envp: &[&[u8]]) -> Result<Arc<Thread>, u32> {
    let img = load_program(&FsCtx::initial(), &velox_vfs::Who::ROOT, path, argv, envp, config::USER_STACK_SIZE as u64, [0; 4])?;
    let init = init_process();
    let pid = alloc_id();
    let p = Process::new(pid, Some(&init), img.exe.clone(), FdTable::with_console());
    *p.comm.lock() = comm_of(path);
    p.pgid.store(pid, Ordering::Relaxed);
    p.sid.store(pid, Ordering::Relaxed);
    init.children.lock().push(p.clone());
    let t = Thread::new(pid, p.clone(), Arc::new(Mm::new(img.space)), UserContext::new(img.entry, img.sp));
    p.add_thread(t.clone());
    Ok(t)
}

/// A new process for fork/clone without CLONE_THREAD: a child of `parent` whose first
/// thread runs in `mm` with `ctx`. Descriptors and dispositions are copied, or with `share`
/// = (CLONE_FILES, CLONE_FS) the descriptor table and the root/cwd/umask are shared.
/// `caller` is the process that forked: the child is its copy (descriptors, credentials,
/// limits, dispositions), whoever `parent` is (the caller, or its parent for CLONE_PARENT).
/// `exit_signal` is what the parent gets when it ends; `inherit` sets up the first thread
/// (mask, affinity...) before anyone can see it.
pub fn fork_process(
    caller: &Arc<Process>,
    parent: &Arc<Process>,
    mm: Arc<Mm>,
    ctx: UserContext,
    exit_signal: u8,
    share: (bool, bool),
    inherit: impl FnOnce(&Thread),
) -> Result<Arc<Thread>, u32> {
    let (share_files, share_fs) = share;
    let fds = if share_files { caller.fds.clone() } else { Arc::new(Mutex::new(caller.fds.lock().try_clone()?)) };
    let fs = share_fs.then(|| caller.fs.clone());
    let pid = alloc_id();
    let p = Process::new_like(pid, Some(parent), Some(caller), caller.exe.lock().clone(), fds, fs);
    p.exit_signal.store(exit_signal, Ordering::Relaxed);
    let t = Thread::new(pid, p.clone(), mm, ctx);
    inherit(&t);
    p.add_thread(t.clone());
    parent.children.lock().push(p.clone());
    Ok(t)
}
