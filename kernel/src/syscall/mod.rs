//! System calls: two tables indexed by number (DESIGN.md §3) and the slow-path dispatcher.
//!
//! `FAST_ENTRY` holds synchronous handlers, `fn(&Thread, &UserContext) -> Fast` behind C-ABI entries, run on the trap
//! fast path (or called directly by the slow path in a `no-fastpath` build). `ASYNC` holds
//! handlers that may block or need the full register file; each places its future in the
//! thread's arena (inline if it is small, else in a block lent from a per-hart pool, see
//! [`Lent`]). A call may have both: the fast handler finishes the common case and
//! returns `Fast::Slow` when it would block, and the async one does the whole call (it alone
//! runs in a `no-fastpath` build). One file per family: process, cred, futex, time, fs, poll,
//! epoll, mm, signal, socket, timer, sys.

pub mod cred;
pub mod dir;
pub mod epoll;
pub mod fs;
pub mod futex;
pub mod lock;
pub mod mm;
pub mod mount;
pub mod path;
pub mod poll;
pub mod process;
pub mod signal;
pub mod socket;
pub mod stat;
pub mod sys;
pub mod time;
pub mod timer;
pub mod uaccess;
pub mod xattr;

use crate::task::Thread;
use alloc::sync::Arc;
use core::pin::Pin;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use linux_raw_sys::errno;
use linux_raw_sys::general as nr;
use velox_exec::arena::{ARENA_ALIGN, Arena, BIG_SIZE, Lender, NoBlock};
use velox_hal::trap::UserContext;

/// Size of the dispatch tables (riscv64 numbers are below 512).
pub const NR_MAX: usize = 512;

/// Result of a fast handler.
pub enum Fast {
    /// Finished: this value goes to a0.
    Done(isize),
    /// Cannot finish synchronously (it would block): take the async path.
    Slow,
}


/// What the trap fast path hands back to the trampoline, in a0 and a1 (`trap.S`): `code` is
/// [`RET_DONE`] (a system call finished, `val` is its result), [`RET_SLOW`] (take the slow
/// path; the context's `scause`/`stval` say why) or [`RET_OTHER`] (another trap finished).
#[repr(C)]
pub struct FastRet {
    pub code: usize,
    pub val: isize,
}
pub const RET_DONE: usize = 0;
pub const RET_SLOW: usize = 1;
pub const RET_OTHER: usize = 2;

/// A fast handler as the trap path calls it: the C ABI with the trampoline's return
/// convention, so that the fast path ends in a tail call to it (`trap::velox_fast_path`).
/// Declining, it records the system call as the slow path's cause.
/// The slow path calls the same entries (`count` false: not counted as fast), so each handler
/// is compiled once, into its entry; the fast path counts when `velox.counters` asked for it.
pub type FastEntry = extern "C" fn(&Thread, &mut UserContext, bool) -> FastRet;

/// A fast handler's answer in the trampoline's terms (`FAST_ENTRY`'s wrappers).
#[inline(always)]
fn fast_entry_ret(r: Fast, c: &mut UserContext, nr: usize, count: bool) -> FastRet {
    match r {
        Fast::Done(v) => {
            if count {
                crate::trap::count_fast(nr);
            }
            FastRet { code: RET_DONE, val: v }
        }
        Fast::Slow => slow_syscall(c),
    }
}

/// Run system call `nr`'s fast handler from the slow path (no-fastpath builds, a handler that
/// declined and has no async twin, the memory calls' async retry): `None` if it has none.
pub fn call_fast(nr: usize, t: &Thread, c: &mut UserContext) -> Option<Fast> {
    if !HAS_FAST.get(nr).copied().unwrap_or(false) {
        return None;
    }
    let r = FAST_ENTRY[nr](t, c, false);
    Some(if r.code == RET_DONE { Fast::Done(r.val) } else { Fast::Slow })
}

/// The slow path's cause for a system call the fast path did not finish.
#[inline(always)]
fn slow_syscall(c: &mut UserContext) -> FastRet {
    c.scause = 8;
    c.stval = 0;
    FastRet { code: RET_SLOW, val: 0 }
}
/// The arena a thread's async handler futures live in (inline in the thread's own future).
pub type HandlerArena = Arena<isize, Lent>;

/// An async handler: places its future (which yields the return value) in the arena; fails
/// only if the future needs a lent block and the heap has none.
pub type AsyncFn = fn(Pin<&mut HandlerArena>, Arc<Thread>, Args) -> Result<(), NoBlock>;

/// The per-hart pool of blocks lent to handler futures too big for a thread's inline arena
/// (writes, reads, polls, clone, execve: see the ktest's list). A block is held only while
/// such a handler runs, so a thread blocked in a small call (a futex wait) carries none. Each
/// hart keeps one free block: the common take and give back are a load and a store (kernel
/// code runs with interrupts off, and only the hart itself touches its slot); the heap is
/// asked only when the slot is empty (a block went to sleep with its thread) or full.
pub struct Lent;

static LENT: [AtomicUsize; velox_hal::boot::MAX_HARTS] = [const { AtomicUsize::new(0) }; velox_hal::boot::MAX_HARTS];

const LENT_LAYOUT: core::alloc::Layout = match core::alloc::Layout::from_size_align(BIG_SIZE, ARENA_ALIGN) {
    Ok(l) => l,
    Err(_) => panic!("lent block layout"),
};

impl Lender for Lent {
    #[inline]
    fn lend() -> Option<core::ptr::NonNull<u8>> {
        let slot = &LENT[velox_hal::cpu::hart_index()];
        let p = slot.load(Ordering::Relaxed);
        if p != 0 {
            slot.store(0, Ordering::Relaxed);
            return core::ptr::NonNull::new(p as *mut u8);
        }
        lend_new()
    }

    #[inline]
    #[allow(unsafe_code)]
    unsafe fn give_back(p: core::ptr::NonNull<u8>) {
        let slot = &LENT[velox_hal::cpu::hart_index()];
        if slot.load(Ordering::Relaxed) == 0 {
            slot.store(p.as_ptr() as usize, Ordering::Relaxed);
        } else {
            free_lent(p);
        }
    }
}

/// A new block from the heap (this hart's spare one is out); `None` if the heap is exhausted.
#[cold]
#[inline(never)]
fn lend_new() -> Option<core::ptr::NonNull<u8>> {
    // The heap's reserve is for allocations that cannot fail: a block is not taken from it.
    if crate::mm::heap_low() {
        return None;
    }
    // SAFETY: a layout of non-zero size; a null answer (heap exhausted) becomes None.
    #[allow(unsafe_code)]
    let p = unsafe { alloc::alloc::alloc(LENT_LAYOUT) };
    core::ptr::NonNull::new(p)
}

/// Return a block to the heap (this hart already keeps a spare one).
#[cold]
#[inline(never)]
fn free_lent(p: core::ptr::NonNull<u8>) {
    // SAFETY: `p` came from `Lent::lend`, which allocated it (here or on another hart) with
    // this layout; its user no longer uses it (`give_back`'s contract).
    #[allow(unsafe_code)]
    unsafe {
        alloc::alloc::dealloc(p.as_ptr(), LENT_LAYOUT)
    };
}

/// Heap bytes the harts keep as free lent blocks (a bounded cache: the leak check skips it).
pub fn lent_pool_bytes() -> usize {
    LENT.iter().filter(|s| s.load(Ordering::Relaxed) != 0).count() * crate::mm::heap::block_bytes(BIG_SIZE)
}

/// The six syscall arguments, copied out of the context for async handlers.
#[derive(Debug, Clone, Copy)]
pub struct Args(pub [usize; 6]);

/// Negative errno as a return value.
#[inline(always)]
pub const fn err(e: u32) -> isize {
    -(e as isize)
}

/// `Result` to return value.
#[inline(always)]
pub fn ret(r: Result<isize, u32>) -> isize {
    match r {
        Ok(v) => v,
        Err(e) => err(e),
    }
}

macro_rules! tables {
    (fast: { $($fnr:ident => $ff:path),* $(,)? } async: { $($anr:ident => $af:path),* $(,)? }) => {
        /// Which system calls have a synchronous handler.
        static HAS_FAST: [bool; NR_MAX] = {
            let mut t = [false; NR_MAX];
            $( t[nr::$fnr as usize] = true; )*
            t
        };
        /// The fast handlers as the trap path calls them (every number has one: those without
        /// a fast handler decline).
        pub static FAST_ENTRY: [FastEntry; NR_MAX] = {
            extern "C" fn none(_: &Thread, c: &mut UserContext, _: bool) -> FastRet {
                slow_syscall(c)
            }
            let mut t: [FastEntry; NR_MAX] = [none as FastEntry; NR_MAX];
            $( t[nr::$fnr as usize] = {
                extern "C" fn entry(t: &Thread, c: &mut UserContext, count: bool) -> FastRet {
                    let r = $ff(t, c);
                    // (The slow path logs what it finishes, fast handlers it calls included.)
                    #[cfg(feature = "strace")]
                    if let Fast::Done(v) = r && crate::smp::in_fast_path() {
                        crate::strace::log(t, nr::$fnr as usize, [c.arg(0), c.arg(1), c.arg(2)], v, true);
                    }
                    fast_entry_ret(r, c, nr::$fnr as usize, count)
                }
                entry as FastEntry
            }; )*
            t
        };
        /// Async handlers by syscall number.
        pub static ASYNC: [Option<AsyncFn>; NR_MAX] = {
            let mut t: [Option<AsyncFn>; NR_MAX] = [None; NR_MAX];
            $( t[nr::$anr as usize] = Some(|a: Pin<&mut HandlerArena>, th: Arc<Thread>, args: Args| a.place(|| $af(th, args))); )*
            t
        };
        /// (name, size in bytes) of every async handler's future, as placed in the arena (inline
        /// up to `ARENA_SIZE` bytes, else in a lent block).
        #[cfg_attr(not(feature = "ktest"), allow(dead_code))]
        pub fn async_future_sizes() -> alloc::vec::Vec<(&'static str, usize)> {
            fn sz<Fut>(_: fn(Arc<Thread>, Args) -> Fut) -> usize {
                size_of::<Fut>()
            }
            alloc::vec![$( (&stringify!($anr)[5..], sz($af)) ),*]
        }
        /// Name of a syscall (for logs and counters).
        pub fn name(n: usize) -> &'static str {
            $( if n == nr::$fnr as usize { return &stringify!($fnr)[5..]; } )*
            $( if n == nr::$anr as usize { return &stringify!($anr)[5..]; } )*
            "?"
        }
    };
}

tables! {
    fast: {
        __NR_getpid => process::getpid,
        __NR_gettid => process::gettid,
        __NR_getppid => process::getppid,
        __NR_getuid => cred::getuid,
        __NR_geteuid => cred::geteuid,
        __NR_getgid => cred::getgid,
        __NR_getegid => cred::getegid,
        __NR_getresuid => cred::getresuid,
        __NR_getresgid => cred::getresgid,
        __NR_setuid => cred::setuid,
        __NR_setgid => cred::setgid,
        __NR_setreuid => cred::setreuid,
        __NR_setregid => cred::setregid,
        __NR_setresuid => cred::setresuid,
        __NR_setresgid => cred::setresgid,
        __NR_setfsuid => cred::setfsuid,
        __NR_setfsgid => cred::setfsgid,
        __NR_getgroups => cred::getgroups,
        __NR_setgroups => cred::setgroups,
        __NR_set_tid_address => process::set_tid_address,
        __NR_set_robust_list => process::set_robust_list,
        __NR_get_robust_list => process::get_robust_list,
        __NR_prlimit64 => process::prlimit64,
        __NR_getpgid => process::getpgid,
        __NR_setpgid => process::setpgid,
        __NR_getsid => process::getsid,
        __NR_setsid => process::setsid,
        __NR_getrusage => process::getrusage,
        __NR_times => process::times,
        __NR_sched_getaffinity => process::sched_getaffinity,
        __NR_sched_setaffinity => process::sched_setaffinity,
        __NR_getcpu => process::getcpu,
        __NR_getpriority => process::getpriority,
        __NR_sched_getscheduler => process::sched_getscheduler,
        __NR_sched_getparam => process::sched_getparam,
        __NR_sched_get_priority_max => process::sched_get_priority_max,
        __NR_sched_get_priority_min => process::sched_get_priority_min,
        __NR_setpriority => process::setpriority,
        __NR_rseq => process::rseq,
        __NR_prctl => process::prctl,
        __NR_futex => futex::futex_fast,
        __NR_clock_gettime => time::clock_gettime,
        __NR_clock_getres => time::clock_getres,
        __NR_gettimeofday => time::gettimeofday,
        __NR_read => fs::read_fast,
        __NR_write => fs::write_fast,
        __NR_writev => fs::writev_fast,
        __NR_openat => path::openat,
        __NR_mkdirat => path::mkdirat,
        __NR_mknodat => path::mknodat,
        __NR_symlinkat => path::symlinkat,
        __NR_unlinkat => path::unlinkat,
        __NR_renameat2 => path::renameat2,
        __NR_linkat => path::linkat,
        __NR_faccessat => path::faccessat,
        __NR_faccessat2 => path::faccessat2,
        __NR_fchmod => path::fchmod,
        __NR_fchmodat => path::fchmodat,
        __NR_fchmodat2 => path::fchmodat2,
        __NR_fchown => path::fchown,
        __NR_fchownat => path::fchownat,
        __NR_utimensat => path::utimensat,
        __NR_truncate => path::truncate,
        __NR_ftruncate => path::ftruncate,
        __NR_fallocate => path::fallocate,
        __NR_umask => path::umask,
        __NR_sync => path::sync,
        __NR_fsync => path::fsync,
        __NR_fdatasync => path::fsync,
        __NR_syncfs => path::syncfs,
        __NR_getdents64 => dir::getdents64,
        __NR_getcwd => dir::getcwd,
        __NR_chdir => dir::chdir,
        __NR_fchdir => dir::fchdir,
        __NR_chroot => dir::chroot,
        __NR_statx => stat::statx,
        __NR_statfs => stat::statfs,
        __NR_fstatfs => stat::fstatfs,
        __NR_lseek => fs::lseek,
        __NR_pread64 => fs::pread64,
        __NR_pwrite64 => fs::pwrite64,
        __NR_preadv => fs::preadv,
        __NR_pwritev => fs::pwritev,
        __NR_preadv2 => fs::preadv2,
        __NR_pwritev2 => fs::pwritev2,
        __NR_ioctl => fs::ioctl,
        __NR_readlinkat => path::readlinkat,
        __NR_newfstatat => stat::newfstatat,
        __NR_fstat => stat::fstat,
        __NR_close => fs::close,
        __NR_close_range => fs::close_range,
        __NR_dup => fs::dup,
        __NR_dup3 => fs::dup3,
        __NR_fcntl => fs::fcntl,
        __NR_flock => lock::flock,
        __NR_pipe2 => fs::pipe2,
        __NR_socket => socket::socket,
        __NR_socketpair => socket::socketpair,
        __NR_bind => socket::bind,
        __NR_listen => socket::listen,
        __NR_getsockname => socket::getsockname,
        __NR_getpeername => socket::getpeername,
        __NR_shutdown => socket::shutdown,
        __NR_setsockopt => socket::setsockopt,
        __NR_getsockopt => socket::getsockopt,
        __NR_epoll_create1 => epoll::epoll_create1,
        __NR_epoll_ctl => epoll::epoll_ctl,
        __NR_epoll_pwait => epoll::epoll_pwait_fast,
        __NR_eventfd2 => epoll::eventfd2,
        __NR_brk => mm::brk,
        __NR_mmap => mm::mmap,
        __NR_munmap => mm::munmap,
        __NR_mprotect => mm::mprotect,
        __NR_madvise => mm::madvise,
        __NR_msync => mm::msync,
        __NR_mremap => mm::mremap,
        __NR_mincore => mm::mincore,
        __NR_membarrier => mm::membarrier,
        __NR_riscv_flush_icache => mm::riscv_flush_icache,
        __NR_rt_sigaction => signal::rt_sigaction,
        __NR_rt_sigprocmask => signal::rt_sigprocmask,
        __NR_rt_sigpending => signal::rt_sigpending,
        __NR_sigaltstack => signal::sigaltstack,
        __NR_kill => signal::kill,
        __NR_tkill => signal::tkill,
        __NR_tgkill => signal::tgkill,
        __NR_uname => sys::uname,
        __NR_sethostname => sys::sethostname,
        __NR_mount => mount::mount,
        __NR_umount2 => mount::umount2,
        __NR_reboot => sys::reboot,
        __NR_getrandom => sys::getrandom,
        __NR_sysinfo => sys::sysinfo,
        __NR_riscv_hwprobe => sys::riscv_hwprobe,
        __NR_setxattr => xattr::setxattr,
        __NR_lsetxattr => xattr::lsetxattr,
        __NR_fsetxattr => xattr::fsetxattr,
        __NR_getxattr => xattr::getxattr,
        __NR_lgetxattr => xattr::lgetxattr,
        __NR_fgetxattr => xattr::fgetxattr,
        __NR_listxattr => xattr::listxattr,
        __NR_llistxattr => xattr::llistxattr,
        __NR_flistxattr => xattr::flistxattr,
        __NR_removexattr => xattr::removexattr,
        __NR_lremovexattr => xattr::lremovexattr,
        __NR_fremovexattr => xattr::fremovexattr,
        __NR_fadvise64 => fs::fadvise64,
    }
    async: {
        __NR_exit => process::exit,
        __NR_exit_group => process::exit_group,
        __NR_clone => process::clone,
        __NR_clone3 => process::clone3,
        __NR_execve => process::execve,
        __NR_wait4 => process::wait4,
        __NR_waitid => process::waitid,
        __NR_sched_yield => process::sched_yield,
        __NR_sched_setaffinity => process::sched_setaffinity_async,
        __NR_brk => mm::mm_async,
        __NR_mmap => mm::mm_async,
        __NR_munmap => mm::mm_async,
        __NR_mprotect => mm::mm_async,
        __NR_madvise => mm::mm_async,
        __NR_msync => mm::mm_async,
        __NR_mremap => mm::mm_async,
        __NR_mincore => mm::mm_async,
        __NR_membarrier => mm::mm_async,
        __NR_futex => futex::futex,
        __NR_nanosleep => time::nanosleep,
        __NR_clock_nanosleep => time::clock_nanosleep,
        __NR_read => fs::read,
        __NR_write => fs::write,
        __NR_connect => socket::connect,
        __NR_accept => socket::accept,
        __NR_accept4 => socket::accept4,
        __NR_sendto => socket::sendto,
        __NR_recvfrom => socket::recvfrom,
        __NR_sendmsg => socket::sendmsg,
        __NR_recvmsg => socket::recvmsg,
        __NR_writev => fs::writev,
        __NR_readv => fs::readv,
        __NR_openat => path::openat_async,
        __NR_ioctl => fs::ioctl_async,
        __NR_preadv2 => fs::rwv2_async,
        __NR_pwritev2 => fs::rwv2_async,
        __NR_sendfile => fs::sendfile,
        __NR_fcntl => lock::fcntl_async,
        __NR_flock => lock::flock_async,
        __NR_ppoll => poll::ppoll,
        __NR_pselect6 => poll::pselect6,
        __NR_epoll_pwait => epoll::epoll_pwait,
        __NR_epoll_pwait2 => epoll::epoll_pwait2,
        __NR_rt_sigsuspend => signal::rt_sigsuspend,
        __NR_rt_sigtimedwait => signal::rt_sigtimedwait,
        __NR_rt_sigqueueinfo => signal::rt_sigqueueinfo,
        __NR_rt_tgsigqueueinfo => signal::rt_tgsigqueueinfo,
        __NR_rt_sigreturn => signal::rt_sigreturn,
        __NR_restart_syscall => signal::restart_syscall,
        __NR_getitimer => timer::getitimer,
        __NR_setitimer => timer::setitimer,
        __NR_timer_create => timer::timer_create,
        __NR_timer_settime => timer::timer_settime,
        __NR_timer_gettime => timer::timer_gettime,
        __NR_timer_getoverrun => timer::timer_getoverrun,
        __NR_timer_delete => timer::timer_delete,
        __NR_getrandom => sys::getrandom_async,
    }
}

static ENOSYS_LOGGED: [AtomicU64; NR_MAX / 64] = [const { AtomicU64::new(0) }; NR_MAX / 64];

fn enosys(t: &Thread, n: usize) -> isize {
    // Numbers past the table share the last bit, so they are logged once in all.
    let i = n.min(NR_MAX - 1);
    let first = ENOSYS_LOGGED[i / 64].fetch_or(1 << (i % 64), Ordering::Relaxed) & (1 << (i % 64)) == 0;
    if first {
        log::warn!("pid {}: unimplemented syscall {n} ({}): ENOSYS", t.process.pid, name(n));
    }
    err(errno::ENOSYS)
}

/// Handle the syscall that left the fast path: async handler in the arena, or a fast handler
/// called directly (no-fastpath builds, or a fast handler that declined and has no async twin).
/// A handler interrupted by a signal returns one of the restart codes: it goes back to the
/// thread's loop, which restarts the call or makes it fail with EINTR when it delivers the
/// signal (`task::signal::handle`).
pub async fn dispatch_slow(t: &Arc<Thread>, mut arena: Pin<&mut HandlerArena>) -> crate::task::signal::Restart {
    let (n, args) = {
        let mut c = t.ctx();
        c.sepc += 4;
        (c.syscall_nr(), Args([c.arg(0), c.arg(1), c.arg(2), c.arg(3), c.arg(4), c.arg(5)]))
    };
    crate::trap::count_slow(8, n);
    let r = if n == nr::__NR_sched_yield as usize {
        // (What `process::sched_yield` does, without building its future in the arena: give
        // the hart to the other ready tasks once. A thread told to exit meanwhile leaves
        // below, as from any call.)
        crate::exec::yield_now().await;
        0
    } else if let Some(Some(h)) = ASYNC.get(n) {
        if h(arena.as_mut(), t.clone(), args).is_err() {
            // Its future needs a lent block and the heap is down to its reserve. (Waiting here
            // for blocks to come back would make every thread's future bigger: this call fails
            // at once, with ENOMEM, an errno some of these calls, wait4 or nanosleep, never
            // return on Linux; docs/threads-processes.md.)
            err(errno::ENOMEM)
        } else {
            // A thread told to exit while blocked abandons the call (dropping its future takes
            // it off whatever queue it waited on).
            let r = RunHandler { t, arena: arena.as_mut() }.await;
            match r {
                Some(v) => v,
                None => {
                    arena.as_mut().clear();
                    err(errno::EINTR)
                }
            }
        }
    } else if let Some(r) = {
        // (Fast handlers use the context they are given and never lock it themselves.)
        let mut c = t.ctx();
        call_fast(n, t, &mut c)
    } {
        match r {
            Fast::Done(v) => v,
            Fast::Slow => err(errno::EAGAIN),
        }
    } else {
        enosys(t, n)
    };
    #[cfg(feature = "strace")]
    if n != nr::__NR_rt_sigreturn as usize {
        let known = ASYNC.get(n).is_some_and(|h| h.is_some()) || HAS_FAST.get(n).copied().unwrap_or(false);
        crate::strace::log(t, n, [args.0[0], args.0[1], args.0[2]], r, known);
    }
    if t.is_exiting() {
        return crate::task::signal::Restart::NONE;
    }
    // A restart code leaves a0 as it was (the call's first argument): the restart needs it,
    // and EINTR is written there only if the call is not restarted.
    if crate::task::signal::is_restart(r) && n != nr::__NR_rt_sigreturn as usize {
        return crate::task::signal::Restart(r as i32);
    }
    t.ctx().set_ret(r as usize);
    crate::task::signal::Restart::NONE
}

/// Polls the handler in the arena until it finishes (`Some(result)`) or the thread is told to
/// exit (`None`). A named future with an always-inlined `poll` (not a `poll_fn` closure), so
/// the compiler keeps a thread's whole poll in one function.
struct RunHandler<'a> {
    t: &'a Thread,
    arena: Pin<&'a mut HandlerArena>,
}

impl core::future::Future for RunHandler<'_> {
    type Output = Option<isize>;

    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, cx: &mut core::task::Context<'_>) -> core::task::Poll<Option<isize>> {
        if self.t.is_exiting() { core::task::Poll::Ready(None) } else { self.arena.as_mut().poll(cx).map(Some) }
    }
}

/// `Done(v)` for a fast handler that may have signalled its own thread (kill of itself,
/// sigprocmask unblocking a pending signal): when it did, a software interrupt taken right
/// after the return to user mode brings the thread back to have the signal delivered (the
/// fast path checks the flag before handlers run, so that getpid and friends pay nothing).
#[inline]
pub fn done_checking_signals(t: &Thread, v: isize) -> Fast {
    if t.signal_pending() || t.is_exiting() {
        velox_hal::cpu::raise_soft_interrupt();
    }
    Fast::Done(v)
}
