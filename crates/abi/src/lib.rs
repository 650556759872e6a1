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
        assert_eq!(size_of::<Utsname>(), 390);
        assert_eq!(size_of::<Pollfd>(), 8);
        assert_eq!(size_of::<Iovec>(), 16);
        assert_eq!(size_of::<Timespec>(), 16);
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
