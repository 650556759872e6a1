//! A process: address space, file descriptors, signal dispositions, exit status.

use super::Thread;
use crate::config;
use crate::exec::Event;
use crate::fs::{self, FdTable};
use crate::mm::aspace::AddrSpace;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};
use linux_raw_sys::auxvec as at;
use linux_raw_sys::errno;
use spin::Mutex;
use velox_hal::trap::UserContext;
use velox_loader::auxv::key;
use velox_mm::vma::{Backing, Prot};
use velox_mm::{PAGE_SIZE, page_ceil, page_floor};

static NEXT_PID: AtomicUsize = AtomicUsize::new(1);

/// How a process ended, encoded as wait4 reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(u8),
    Signaled(u8),
}

/// A process (one thread for now; thread groups come with clone).
pub struct Process {
    pub pid: usize,
    pub ppid: usize,
    /// None once the process exited (memory is freed at exit, not at reaping).
    pub aspace: Mutex<Option<AddrSpace>>,
    pub exe: Vec<u8>,
    pub fds: Mutex<FdTable>,
    /// Recorded rt_sigaction dispositions (64 signals x 4 words: handler, flags, restorer, mask).
    pub sigactions: Mutex<[[usize; 4]; 64]>,
    pub sigmask: Mutex<u64>,
    status: Mutex<Option<ExitStatus>>,
    pub exited: Event,
}

impl Process {
    /// Record the exit and free the address space. The first status wins.
    pub fn exit(&self, st: ExitStatus) {
        {
            let mut s = self.status.lock();
            if s.is_some() {
                return;
            }
            *s = Some(st);
        }
        self.aspace.lock().take();
        self.fds.lock().close_all();
        self.exited.set();
    }

    /// How the process ended, once it has.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        *self.status.lock()
    }
}

/// Create a process running the executable at `path` (absolute) with `argv`/`envp`; returns
/// its first thread, ready to be spawned. Errors are Linux errno values (ENOENT, ENOEXEC,
/// E2BIG, ENOMEM).
pub fn spawn_process(path: &[u8], argv: &[&[u8]], envp: &[&[u8]], ppid: usize) -> Result<Arc<Thread>, u32> {
    let image = fs::initrd_file(path).ok_or(errno::ENOENT)?;
    let plan = velox_loader::plan(image, config::PIE_BASE).map_err(|_| errno::ENOEXEC)?;
    if plan.interp.is_some() {
        return Err(errno::ENOEXEC); // dynamic linking arrives with its own issue
    }
    let mut a = AddrSpace::new().ok_or(errno::ENOMEM)?;
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
        a.write_bytes(s.vaddr, &image[s.offset..s.offset + s.filesz])?;
        // bss within the last file page must read as zero: fresh frames are zeroed already.
    }
    let brk = page_ceil(plan.end).ok_or(errno::ENOEXEC)?;
    a.brk_start = brk;
    a.brk = brk;
    let stack_top = config::USER_STACK_TOP;
    a.add_area(stack_top - config::USER_STACK_SIZE, stack_top, Prot(Prot::READ | Prot::WRITE), Backing::Anon)?;
    let aux = [
        (key(at::AT_PHDR), plan.phdr as u64),
        (key(at::AT_PHENT), plan.phent as u64),
        (key(at::AT_PHNUM), plan.phnum as u64),
        (key(at::AT_PAGESZ), PAGE_SIZE as u64),
        (key(at::AT_BASE), 0),
        (key(at::AT_FLAGS), 0),
        (key(at::AT_ENTRY), plan.entry as u64),
        (key(at::AT_UID), 0),
        (key(at::AT_EUID), 0),
        (key(at::AT_GID), 0),
        (key(at::AT_EGID), 0),
        (key(at::AT_SECURE), 0),
        (key(at::AT_HWCAP), crate::syscall::sys::HWCAP),
        (key(at::AT_CLKTCK), 100),
    ];
    let mut random = [0u8; 16];
    crate::syscall::sys::fill_random(&mut random);
    let img = velox_loader::build_stack(stack_top, argv, envp, &aux, random, path, config::ARG_MAX).ok_or(errno::E2BIG)?;
    a.write_bytes(img.sp, &img.bytes)?;
    let pid = NEXT_PID.fetch_add(1, Ordering::Relaxed);
    let p = Arc::new(Process {
        pid,
        ppid,
        aspace: Mutex::new(Some(a)),
        exe: path.to_vec(),
        fds: Mutex::new(FdTable::with_console()),
        sigactions: Mutex::new([[0; 4]; 64]),
        sigmask: Mutex::new(0),
        status: Mutex::new(None),
        exited: Event::default(),
    });
    Ok(Thread::new(pid, p, UserContext::new(plan.entry, img.sp)))
}
