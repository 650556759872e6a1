//! Linux riscv64 ABI structs that cross the user/kernel boundary, as plain-old-data.
//!
//! Each struct mirrors the `linux-raw-sys` one of the same name field for field (host tests
//! check sizes and offsets), but derives zerocopy's `FromBytes`/`IntoBytes`, so the kernel
//! copies them to and from user memory without any `unsafe`. (linux-raw-sys's own structs
//! cannot derive those traits: they are foreign types, and some hold raw pointers.)
#![no_std]
#![forbid(unsafe_code)]

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Marker for ABI values the kernel copies byte for byte (any bit pattern valid, no padding).
pub trait Pod: FromBytes + IntoBytes + Immutable + KnownLayout + Copy + 'static {}
impl<T: FromBytes + IntoBytes + Immutable + KnownLayout + Copy + 'static> Pod for T {}

macro_rules! abi {
    ($( $(#[$m:meta])* pub struct $name:ident { $( pub $f:ident : $t:ty ),* $(,)? } )*) => { $(
        $(#[$m])*
        #[repr(C)]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
        pub struct $name { $( pub $f: $t ),* }
    )* };
}

abi! {
    /// `struct __kernel_timespec` (clock_gettime, nanosleep, futex, ppoll).
    pub struct Timespec { pub tv_sec: i64, pub tv_nsec: i64 }
    /// `struct timeval` (gettimeofday, rusage).
    pub struct Timeval { pub tv_sec: i64, pub tv_usec: i64 }
    /// `struct rlimit64` (prlimit64).
    pub struct Rlimit64 { pub rlim_cur: u64, pub rlim_max: u64 }
    /// `struct iovec` (readv/writev); the base is a user address.
    pub struct Iovec { pub iov_base: usize, pub iov_len: usize }
    /// `struct pollfd` (ppoll).
    pub struct Pollfd { pub fd: i32, pub events: i16, pub revents: i16 }
    /// `struct epoll_event` (epoll_ctl, epoll_pwait): 16 bytes on riscv64, the data aligned
    /// after 4 bytes of padding (packed only on x86-64).
    pub struct EpollEvent { pub events: u32, pub _pad: u32, pub data: u64 }
    /// `struct statx_timestamp`.
    pub struct StatxTimestamp { pub tv_sec: i64, pub tv_nsec: u32, pub __reserved: i32 }
    /// `struct statx` (statx), 256 bytes.
    pub struct Statx {
        pub stx_mask: u32, pub stx_blksize: u32, pub stx_attributes: u64, pub stx_nlink: u32,
        pub stx_uid: u32, pub stx_gid: u32, pub stx_mode: u16, pub __spare0: u16, pub stx_ino: u64,
        pub stx_size: u64, pub stx_blocks: u64, pub stx_attributes_mask: u64,
        pub stx_atime: StatxTimestamp, pub stx_btime: StatxTimestamp, pub stx_ctime: StatxTimestamp,
        pub stx_mtime: StatxTimestamp, pub stx_rdev_major: u32, pub stx_rdev_minor: u32,
        pub stx_dev_major: u32, pub stx_dev_minor: u32, pub stx_mnt_id: u64,
        pub stx_dio_mem_align: u32, pub stx_dio_offset_align: u32, pub __spare3: [u64; 12],
    }
    /// `struct statfs` (statfs, fstatfs) on 64-bit Linux.
    pub struct Statfs {
        pub f_type: i64, pub f_bsize: i64, pub f_blocks: u64, pub f_bfree: u64, pub f_bavail: u64,
        pub f_files: u64, pub f_ffree: u64, pub f_fsid: [i32; 2], pub f_namelen: i64,
        pub f_frsize: i64, pub f_flags: i64, pub f_spare: [i64; 4],
    }
    /// `struct termios2` (TCGETS2/TCSETS2: termios with the line speeds, which glibc 2.42
    /// and later use for tcgetattr/tcsetattr).
    pub struct Termios2 { pub c_iflag: u32, pub c_oflag: u32, pub c_cflag: u32, pub c_lflag: u32, pub c_line: u8, pub c_cc: [u8; 19], pub c_ispeed: u32, pub c_ospeed: u32 }
    /// `struct flock` (fcntl F_GETLK/F_SETLK) on 64-bit Linux.
    pub struct Flock { pub l_type: i16, pub l_whence: i16, pub __pad: i32, pub l_start: i64, pub l_len: i64, pub l_pid: i32, pub __pad2: i32 }
    /// `struct winsize` (TIOCGWINSZ).
    pub struct Winsize { pub ws_row: u16, pub ws_col: u16, pub ws_xpixel: u16, pub ws_ypixel: u16 }
    /// `struct termios` (TCGETS/TCSETS; the kernel's, without the speed fields).
    pub struct Termios { pub c_iflag: u32, pub c_oflag: u32, pub c_cflag: u32, pub c_lflag: u32, pub c_line: u8, pub c_cc: [u8; 19] }
    /// `struct stat` (fstat, newfstatat) as the riscv64 generic ABI lays it out.
    pub struct Stat {
        pub st_dev: u64, pub st_ino: u64, pub st_mode: u32, pub st_nlink: u32, pub st_uid: u32,
        pub st_gid: u32, pub st_rdev: u64, pub __pad1: u64, pub st_size: i64, pub st_blksize: i32,
        pub __pad2: i32, pub st_blocks: i64, pub st_atime: i64, pub st_atime_nsec: u64,
        pub st_mtime: i64, pub st_mtime_nsec: u64, pub st_ctime: i64, pub st_ctime_nsec: u64,
        pub __unused4: u32, pub __unused5: u32,
    }
    /// `struct rusage` (getrusage, wait4).
    pub struct Rusage {
        pub ru_utime: Timeval, pub ru_stime: Timeval, pub ru_maxrss: i64, pub ru_ixrss: i64,
        pub ru_idrss: i64, pub ru_isrss: i64, pub ru_minflt: i64, pub ru_majflt: i64,
        pub ru_nswap: i64, pub ru_inblock: i64, pub ru_oublock: i64, pub ru_msgsnd: i64,
        pub ru_msgrcv: i64, pub ru_nsignals: i64, pub ru_nvcsw: i64, pub ru_nivcsw: i64,
    }
}

abi! {
    /// The kernel's `struct sigaction` on riscv64 (no `sa_restorer`: handlers return through
    /// the vDSO): handler, flags, mask.
    pub struct KSigaction { pub handler: u64, pub flags: u64, pub mask: u64 }
    /// `stack_t` (sigaltstack, `uc_stack`).
    pub struct StackT { pub ss_sp: u64, pub ss_flags: i32, pub _pad: i32, pub ss_size: u64 }
    /// The kernel's `siginfo` (Linux's `kernel_siginfo`): the first 48 bytes of the user's
    /// 128-byte `siginfo_t`, which is this followed by zeros. The union after `code` starts
    /// at byte 16; `f` holds it as words (see the accessors for the fields each kind of
    /// signal uses). Small enough that queueing and moving one costs a few register moves.
    pub struct SigInfo { pub signo: i32, pub errno: i32, pub code: i32, pub _pad: i32, pub f: [u64; 4] }
    /// `struct itimerval` (setitimer, getitimer).
    pub struct Itimerval { pub interval: Timeval, pub value: Timeval }
    /// `struct itimerspec` (timer_settime, timer_gettime).
    pub struct Itimerspec { pub interval: Timespec, pub value: Timespec }
    /// `struct sigevent` as timer_create reads it (64 bytes): value, signo, notify, then the
    /// union whose first int is the target thread id for SIGEV_THREAD_ID.
    pub struct Sigevent { pub value: u64, pub signo: i32, pub notify: i32, pub tid: i32, pub _pad: i32, pub _rest: [u64; 5] }
    /// `struct msghdr` (sendmsg, recvmsg), 56 bytes; addresses are user addresses.
    pub struct Msghdr { pub name: u64, pub namelen: u32, pub _pad: u32, pub iov: u64, pub iovlen: u64, pub control: u64, pub controllen: u64, pub flags: u32, pub _pad2: u32 }
    /// `struct cmsghdr`: a control message's header; its data follows, 8-byte aligned.
    pub struct Cmsghdr { pub len: u64, pub level: i32, pub ty: i32 }
    /// `struct ucred` (SO_PEERCRED).
    pub struct Ucred { pub pid: i32, pub uid: u32, pub gid: u32 }
}

/// Size of the user's `siginfo_t`; bytes past `size_of::<SigInfo>()` are zero.
pub const SIGINFO_USER_SIZE: usize = 128;

impl SigInfo {
    /// A siginfo with signal number and code, every field zero.
    pub fn new(signo: i32, code: i32) -> SigInfo {
        SigInfo { signo, code, ..Default::default() }
    }
    /// Sender's pid and uid (`si_pid`, `si_uid`: kill, tkill, sigqueue, SIGCHLD).
    pub fn with_sender(mut self, pid: u32, uid: u32) -> SigInfo {
        self.f[0] = pid as u64 | (uid as u64) << 32;
        self
    }
    /// `si_value` (sigqueue, timers) at byte 24.
    pub fn with_value(mut self, v: u64) -> SigInfo {
        self.f[1] = v;
        self
    }
    /// `si_addr` (faults) at byte 16.
    pub fn with_addr(mut self, a: u64) -> SigInfo {
        self.f[0] = a;
        self
    }
    /// SIGCHLD's `si_status`, `si_utime`, `si_stime` (bytes 24, 32, 40).
    pub fn with_child(mut self, status: i32, utime: u64, stime: u64) -> SigInfo {
        self.f[1] = status as u32 as u64;
        self.f[2] = utime;
        self.f[3] = stime;
        self
    }
    /// POSIX timer fields: `si_timerid`, `si_overrun` (bytes 16, 20) and `si_value`.
    pub fn with_timer(mut self, id: i32, overrun: i32, v: u64) -> SigInfo {
        self.f[0] = id as u32 as u64 | (overrun as u32 as u64) << 32;
        self.f[1] = v;
        self
    }
    /// `si_pid` (first int of the union).
    pub fn pid(&self) -> u32 {
        self.f[0] as u32
    }
}

/// `struct ucontext` as the riscv64 kernel writes it in a signal frame: 176 bytes of header
/// (flags, link, stack, an 8-byte mask and 120 unused bytes, padding to 16), then
/// `struct sigcontext`: pc and x1..x31, then the 528-byte FP union (f0..f31, fcsr; the
/// extension header at its end stays zero: no vector state).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct UContext {
    pub flags: u64,
    pub link: u64,
    pub stack: StackT,
    pub sigmask: u64,
    pub _unused: [u64; 15],
    pub _align: u64,
    /// pc, then x1..x31.
    pub regs: [u64; 32],
    pub fpregs: [u64; 32],
    pub fcsr: u32,
    pub _fpad: u32,
    pub _frest: [u64; 33],
}

/// The riscv64 `struct rt_sigframe` (siginfo then ucontext): what a handler finds on its
/// stack, 1088 bytes, 16-byte aligned.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SigFrame {
    pub info: SigInfo,
    /// The rest of the user's 128-byte siginfo_t (zero).
    pub _info_rest: [u64; 10],
    pub uc: UContext,
}

/// `struct new_utsname` (uname): six NUL-padded 65-byte fields.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Utsname {
    pub sysname: [u8; 65],
    pub nodename: [u8; 65],
    pub release: [u8; 65],
    pub version: [u8; 65],
    pub machine: [u8; 65],
    pub domainname: [u8; 65],
}

impl Utsname {
    /// A field filled with `s` (truncated to 64 bytes) and NUL padding.
    pub fn field(s: &[u8]) -> [u8; 65] {
        let mut f = [0u8; 65];
        let n = s.len().min(64);
        f[..n].copy_from_slice(&s[..n]);
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    // The riscv64 layouts (the kernel crate also asserts, at build time for riscv64, that
    // every struct matches linux-raw-sys's field for field; on the host that crate describes
    // the host's ABI, so these tests use the riscv64 numbers directly).
    #[test]
    fn riscv64_layouts() {
        assert_eq!(size_of::<Stat>(), 128);
        assert_eq!(offset_of!(Stat, st_size), 48);
        assert_eq!(offset_of!(Stat, st_blocks), 64);
        assert_eq!(offset_of!(Stat, st_mtime), 88);
        assert_eq!(size_of::<Rusage>(), 144);
        assert_eq!(size_of::<Termios>(), 36);
        assert_eq!(size_of::<Termios2>(), 44);
        assert_eq!(size_of::<Flock>(), 32);
        assert_eq!(offset_of!(Flock, l_pid), 24);
        assert_eq!(size_of::<Statx>(), 256);
        assert_eq!(offset_of!(Statx, stx_mtime), 112);
        assert_eq!(offset_of!(Statx, stx_mnt_id), 144);
        assert_eq!(size_of::<Statfs>(), 120);
        assert_eq!(size_of::<Utsname>(), 390);
        assert_eq!(size_of::<Pollfd>(), 8);
        assert_eq!(size_of::<EpollEvent>(), 16);
        assert_eq!(offset_of!(EpollEvent, data), 8);
        assert_eq!(size_of::<Iovec>(), 16);
        assert_eq!(size_of::<Timespec>(), 16);
        assert_eq!(size_of::<SigInfo>(), 48);
        assert_eq!(size_of::<StackT>(), 24);
        assert_eq!(size_of::<KSigaction>(), 24);
        assert_eq!(size_of::<Sigevent>(), 64);
        assert_eq!(offset_of!(UContext, sigmask), 40);
        assert_eq!(offset_of!(UContext, regs), 176);
        assert_eq!(offset_of!(UContext, fpregs), 176 + 256);
        assert_eq!(offset_of!(UContext, fcsr), 176 + 512);
        assert_eq!(size_of::<UContext>(), 176 + 256 + 528);
        assert_eq!(size_of::<SigFrame>(), 1088);
        assert_eq!(offset_of!(SigFrame, uc), 128);
        let i = SigInfo::new(10, -6).with_sender(7, 1000).with_value(0x55);
        let b = i.as_bytes();
        assert_eq!(&b[16..20], &7u32.to_le_bytes());
        assert_eq!(&b[20..24], &1000u32.to_le_bytes());
        assert_eq!(&b[24..32], &0x55u64.to_le_bytes());
    }

    #[test]
    fn round_trip_bytes() {
        let p = Pollfd { fd: -1, events: 0x41, revents: 7 };
        let b = p.as_bytes();
        assert_eq!(b.len(), 8);
        assert_eq!(Pollfd::read_from_bytes(b).unwrap(), p);
        assert_eq!(Utsname::field(b"Linux")[..6], *b"Linux\0");
    }
}
