//! The `strace` kernel variant (`scripts/build-kernel.sh strace`, booted with `run.sh -k
//! strace`): a console line for every system call that fails, and for every one Velox does
//! not know, for debugging real programs. Compiled only with the `strace` feature: the
//! default kernel's trap path and dispatch are untouched.
//!
//! A line reads `[strace] pid 12 tid 12 openat(0xffffff9c, 0x2aaaab0c30, 0x80000) = -ENOENT`
//! (the first three arguments in hex); an unknown call adds `(unknown)`. The fast path logs
//! the calls it finishes, the slow path the rest, each once. Restart codes a blocked call
//! returns when a signal comes (ERESTARTSYS and friends, which user mode never sees as such)
//! are logged too, by name.

use crate::task::Thread;
use linux_raw_sys::errno::*;
use linux_raw_sys::general::*;

macro_rules! names {
    ($f:ident, $t:ty, [$($c:ident),* $(,)?], $strip:expr) => {
        /// The name of `n`, if Linux has one.
        fn $f(n: $t) -> Option<&'static str> {
            $( if n == $c as $t { return Some(&stringify!($c)[$strip..]); } )*
            None
        }
    };
}

names!(syscall_name, usize, [
    __NR_io_setup, __NR_io_destroy, __NR_io_submit, __NR_io_cancel, __NR_io_getevents, __NR_setxattr,
    __NR_lsetxattr, __NR_fsetxattr, __NR_getxattr, __NR_lgetxattr, __NR_fgetxattr, __NR_listxattr,
    __NR_llistxattr, __NR_flistxattr, __NR_removexattr, __NR_lremovexattr, __NR_fremovexattr, __NR_getcwd,
    __NR_lookup_dcookie, __NR_eventfd2, __NR_epoll_create1, __NR_epoll_ctl, __NR_epoll_pwait, __NR_dup,
    __NR_dup3, __NR_fcntl, __NR_inotify_init1, __NR_inotify_add_watch, __NR_inotify_rm_watch, __NR_ioctl,
    __NR_ioprio_set, __NR_ioprio_get, __NR_flock, __NR_mknodat, __NR_mkdirat, __NR_unlinkat, __NR_symlinkat,
    __NR_linkat, __NR_umount2, __NR_mount, __NR_pivot_root, __NR_nfsservctl, __NR_statfs, __NR_fstatfs,
    __NR_truncate, __NR_ftruncate, __NR_fallocate, __NR_faccessat, __NR_chdir, __NR_fchdir, __NR_chroot,
    __NR_fchmod, __NR_fchmodat, __NR_fchownat, __NR_fchown, __NR_openat, __NR_close, __NR_vhangup, __NR_pipe2,
    __NR_quotactl, __NR_getdents64, __NR_lseek, __NR_read, __NR_write, __NR_readv, __NR_writev, __NR_pread64,
    __NR_pwrite64, __NR_preadv, __NR_pwritev, __NR_sendfile, __NR_pselect6, __NR_ppoll, __NR_signalfd4,
    __NR_vmsplice, __NR_splice, __NR_tee, __NR_readlinkat, __NR_newfstatat, __NR_fstat, __NR_sync, __NR_fsync,
    __NR_fdatasync, __NR_sync_file_range, __NR_timerfd_create, __NR_timerfd_settime, __NR_timerfd_gettime,
    __NR_utimensat, __NR_acct, __NR_capget, __NR_capset, __NR_personality, __NR_exit, __NR_exit_group,
    __NR_waitid, __NR_set_tid_address, __NR_unshare, __NR_futex, __NR_set_robust_list, __NR_get_robust_list,
    __NR_nanosleep, __NR_getitimer, __NR_setitimer, __NR_kexec_load, __NR_init_module, __NR_delete_module,
    __NR_timer_create, __NR_timer_gettime, __NR_timer_getoverrun, __NR_timer_settime, __NR_timer_delete,
    __NR_clock_settime, __NR_clock_gettime, __NR_clock_getres, __NR_clock_nanosleep, __NR_syslog, __NR_ptrace,
    __NR_sched_setparam, __NR_sched_setscheduler, __NR_sched_getscheduler, __NR_sched_getparam,
    __NR_sched_setaffinity, __NR_sched_getaffinity, __NR_sched_yield, __NR_sched_get_priority_max,
    __NR_sched_get_priority_min, __NR_sched_rr_get_interval, __NR_restart_syscall, __NR_kill, __NR_tkill,
    __NR_tgkill, __NR_sigaltstack, __NR_rt_sigsuspend, __NR_rt_sigaction, __NR_rt_sigprocmask,
    __NR_rt_sigpending, __NR_rt_sigtimedwait, __NR_rt_sigqueueinfo, __NR_rt_sigreturn, __NR_setpriority,
    __NR_getpriority, __NR_reboot, __NR_setregid, __NR_setgid, __NR_setreuid, __NR_setuid, __NR_setresuid,
    __NR_getresuid, __NR_setresgid, __NR_getresgid, __NR_setfsuid, __NR_setfsgid, __NR_times, __NR_setpgid,
    __NR_getpgid, __NR_getsid, __NR_setsid, __NR_getgroups, __NR_setgroups, __NR_uname, __NR_sethostname,
    __NR_setdomainname, __NR_getrlimit, __NR_setrlimit, __NR_getrusage, __NR_umask, __NR_prctl, __NR_getcpu,
    __NR_gettimeofday, __NR_settimeofday, __NR_adjtimex, __NR_getpid, __NR_getppid, __NR_getuid, __NR_geteuid,
    __NR_getgid, __NR_getegid, __NR_gettid, __NR_sysinfo, __NR_mq_open, __NR_mq_unlink, __NR_mq_timedsend,
    __NR_mq_timedreceive, __NR_mq_notify, __NR_mq_getsetattr, __NR_msgget, __NR_msgctl, __NR_msgrcv, __NR_msgsnd,
    __NR_semget, __NR_semctl, __NR_semtimedop, __NR_semop, __NR_shmget, __NR_shmctl, __NR_shmat, __NR_shmdt,
    __NR_socket, __NR_socketpair, __NR_bind, __NR_listen, __NR_accept, __NR_connect, __NR_getsockname,
    __NR_getpeername, __NR_sendto, __NR_recvfrom, __NR_setsockopt, __NR_getsockopt, __NR_shutdown, __NR_sendmsg,
    __NR_recvmsg, __NR_readahead, __NR_brk, __NR_munmap, __NR_mremap, __NR_add_key, __NR_request_key,
    __NR_keyctl, __NR_clone, __NR_execve, __NR_mmap, __NR_fadvise64, __NR_swapon, __NR_swapoff, __NR_mprotect,
    __NR_msync, __NR_mlock, __NR_munlock, __NR_mlockall, __NR_munlockall, __NR_mincore, __NR_madvise,
    __NR_remap_file_pages, __NR_mbind, __NR_get_mempolicy, __NR_set_mempolicy, __NR_migrate_pages,
    __NR_move_pages, __NR_rt_tgsigqueueinfo, __NR_perf_event_open, __NR_accept4, __NR_recvmmsg,
    __NR_riscv_hwprobe, __NR_riscv_flush_icache, __NR_wait4, __NR_prlimit64, __NR_fanotify_init,
    __NR_fanotify_mark, __NR_name_to_handle_at, __NR_open_by_handle_at, __NR_clock_adjtime, __NR_syncfs,
    __NR_setns, __NR_sendmmsg, __NR_process_vm_readv, __NR_process_vm_writev, __NR_kcmp, __NR_finit_module,
    __NR_sched_setattr, __NR_sched_getattr, __NR_renameat2, __NR_seccomp, __NR_getrandom, __NR_memfd_create,
    __NR_bpf, __NR_execveat, __NR_userfaultfd, __NR_membarrier, __NR_mlock2, __NR_copy_file_range, __NR_preadv2,
    __NR_pwritev2, __NR_pkey_mprotect, __NR_pkey_alloc, __NR_pkey_free, __NR_statx, __NR_io_pgetevents,
    __NR_rseq, __NR_kexec_file_load, __NR_pidfd_send_signal, __NR_io_uring_setup, __NR_io_uring_enter,
    __NR_io_uring_register, __NR_open_tree, __NR_move_mount, __NR_fsopen, __NR_fsconfig, __NR_fsmount,
    __NR_fspick, __NR_pidfd_open, __NR_clone3, __NR_close_range, __NR_openat2, __NR_pidfd_getfd, __NR_faccessat2,
    __NR_process_madvise, __NR_epoll_pwait2, __NR_mount_setattr, __NR_quotactl_fd, __NR_landlock_create_ruleset,
    __NR_landlock_add_rule, __NR_landlock_restrict_self, __NR_memfd_secret, __NR_process_mrelease,
    __NR_futex_waitv, __NR_set_mempolicy_home_node, __NR_cachestat, __NR_fchmodat2, __NR_map_shadow_stack,
    __NR_futex_wake, __NR_futex_wait, __NR_futex_requeue, __NR_statmount, __NR_listmount, __NR_lsm_get_self_attr,
    __NR_lsm_set_self_attr, __NR_lsm_list_modules, __NR_mseal, __NR_setxattrat, __NR_getxattrat,
    __NR_listxattrat, __NR_removexattrat, __NR_open_tree_attr, __NR_file_getattr, __NR_file_setattr,
], 5);

names!(errno_name, u32, [
    EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, ENOEXEC, EBADF, ECHILD, EAGAIN, ENOMEM, EACCES, EFAULT,
    ENOTBLK, EBUSY, EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR, EINVAL, ENFILE, EMFILE, ENOTTY, ETXTBSY, EFBIG,
    ENOSPC, ESPIPE, EROFS, EMLINK, EPIPE, EDOM, ERANGE, EDEADLK, ENAMETOOLONG, ENOLCK, ENOSYS, ENOTEMPTY, ELOOP,
    EWOULDBLOCK, ENOMSG, EIDRM, ECHRNG, EL2NSYNC, EL3HLT, EL3RST, ELNRNG, EUNATCH, ENOCSI, EL2HLT, EBADE, EBADR,
    EXFULL, ENOANO, EBADRQC, EBADSLT, EDEADLOCK, EBFONT, ENOSTR, ENODATA, ETIME, ENOSR, ENONET, ENOPKG, EREMOTE,
    ENOLINK, EADV, ESRMNT, ECOMM, EPROTO, EMULTIHOP, EDOTDOT, EBADMSG, EOVERFLOW, ENOTUNIQ, EBADFD, EREMCHG,
    ELIBACC, ELIBBAD, ELIBSCN, ELIBMAX, ELIBEXEC, EILSEQ, ERESTART, ESTRPIPE, EUSERS, ENOTSOCK, EDESTADDRREQ,
    EMSGSIZE, EPROTOTYPE, ENOPROTOOPT, EPROTONOSUPPORT, ESOCKTNOSUPPORT, EOPNOTSUPP, EPFNOSUPPORT, EAFNOSUPPORT,
    EADDRINUSE, EADDRNOTAVAIL, ENETDOWN, ENETUNREACH, ENETRESET, ECONNABORTED, ECONNRESET, ENOBUFS, EISCONN,
    ENOTCONN, ESHUTDOWN, ETOOMANYREFS, ETIMEDOUT, ECONNREFUSED, EHOSTDOWN, EHOSTUNREACH, EALREADY, EINPROGRESS,
    ESTALE, EUCLEAN, ENOTNAM, ENAVAIL, EISNAM, EREMOTEIO, EDQUOT, ENOMEDIUM, EMEDIUMTYPE, ECANCELED, ENOKEY,
    EKEYEXPIRED, EKEYREVOKED, EKEYREJECTED, EOWNERDEAD, ENOTRECOVERABLE, ERFKILL, EHWPOISON,
], 0);

/// A system call `nr` with arguments `args` finished with `r`: log it if it failed.
/// `known`: Velox has a handler for it.
pub fn log(t: &Thread, nr: usize, args: [usize; 3], r: isize, known: bool) {
    let failed = r < 0 && r > -4096;
    if failed || !known {
        let e = r.unsigned_abs() as u32;
        let ename = match e {
            512 => Some("ERESTARTSYS"),
            513 => Some("ERESTARTNOINTR"),
            514 => Some("ERESTARTNOHAND"),
            516 => Some("ERESTART_RESTARTBLOCK"),
            _ => errno_name(e),
        };
        let tid = t.tid();
        let pid = t.process.pid;
        let unknown = if known { "" } else { " (unknown)" };
        let (a, b, c) = (args[0], args[1], args[2]);
        match (syscall_name(nr), ename.filter(|_| failed)) {
            (Some(n), Some(en)) => velox_hal::println!("[strace] pid {pid} tid {tid} {n}({a:#x}, {b:#x}, {c:#x}) = -{en}{unknown}"),
            (Some(n), None) => velox_hal::println!("[strace] pid {pid} tid {tid} {n}({a:#x}, {b:#x}, {c:#x}) = {r}{unknown}"),
            (None, Some(en)) => velox_hal::println!("[strace] pid {pid} tid {tid} syscall_{nr}({a:#x}, {b:#x}, {c:#x}) = -{en}{unknown}"),
            (None, None) => velox_hal::println!("[strace] pid {pid} tid {tid} syscall_{nr}({a:#x}, {b:#x}, {c:#x}) = {r}{unknown}"),
        }
    }
}
