//! Typed copies between the kernel and user memory; faults become EFAULT.
//!
//! Values cross as bytes through zerocopy (`velox_abi::Pod`: derived `FromBytes`/`IntoBytes`),
//! so no `unsafe` is needed here; the ABI structs live in `crates/abi`.

use alloc::vec::Vec;
use linux_raw_sys::errno::{EFAULT, ENAMETOOLONG, ENOMEM};
use velox_abi::Pod;
use velox_hal::user;

// The ABI mirrors must match linux-raw-sys's riscv64 layouts exactly (checked here, where
// linux-raw-sys describes riscv64; crates/abi's host tests cannot).
macro_rules! same_layout {
    ($($ours:ty = $theirs:ty),* $(,)?) => { $(
        const _: () = assert!(size_of::<$ours>() == size_of::<$theirs>() && align_of::<$ours>() == align_of::<$theirs>());
    )* };
}
use linux_raw_sys::general as g;
same_layout!(
    velox_abi::Timespec = g::__kernel_timespec,
    velox_abi::Timeval = g::timeval,
    velox_abi::Rlimit64 = g::rlimit64,
    velox_abi::Iovec = g::iovec,
    velox_abi::Pollfd = g::pollfd,
    velox_abi::EpollEvent = g::epoll_event,
    velox_abi::Winsize = g::winsize,
    velox_abi::Termios = g::termios,
    velox_abi::Termios2 = g::termios2,
    velox_abi::Flock = g::flock,
    velox_abi::Stat = g::stat,
    velox_abi::Rusage = g::rusage,
    velox_abi::Utsname = linux_raw_sys::system::new_utsname,
    velox_abi::Statx = g::statx,
    velox_abi::Statfs = g::statfs,
    velox_abi::Msghdr = linux_raw_sys::net::msghdr,
    velox_abi::Cmsghdr = linux_raw_sys::net::cmsghdr,
    velox_abi::Ucred = linux_raw_sys::net::ucred,
);
const _: () = {
    use core::mem::offset_of;
    assert!(offset_of!(velox_abi::Stat, st_size) == offset_of!(g::stat, st_size));
    assert!(offset_of!(velox_abi::Stat, st_blocks) == offset_of!(g::stat, st_blocks));
    assert!(offset_of!(velox_abi::Stat, st_ctime_nsec) == offset_of!(g::stat, st_ctime_nsec));
    assert!(offset_of!(velox_abi::Rusage, ru_nivcsw) == offset_of!(g::rusage, ru_nivcsw));
    assert!(offset_of!(velox_abi::Termios, c_cc) == offset_of!(g::termios, c_cc));
    assert!(offset_of!(velox_abi::Statx, stx_mnt_id) == offset_of!(g::statx, stx_mnt_id));
    assert!(offset_of!(velox_abi::Statfs, f_namelen) == offset_of!(g::statfs, f_namelen));
    assert!(offset_of!(velox_abi::Msghdr, flags) == offset_of!(linux_raw_sys::net::msghdr, msg_flags));
    assert!(offset_of!(velox_abi::Msghdr, controllen) == offset_of!(linux_raw_sys::net::msghdr, msg_controllen));
    assert!(offset_of!(velox_abi::EpollEvent, data) == offset_of!(g::epoll_event, data));
};

/// Copy `v` to user address `va`.
#[inline]
pub fn write<T: Pod>(va: usize, v: &T) -> Result<(), u32> {
    user::copy_to_user(va, v.as_bytes()).map_err(|_| EFAULT)
}

/// Read a `T` from user address `va`.
#[inline]
pub fn read<T: Pod>(va: usize) -> Result<T, u32> {
    let mut v = T::new_zeroed();
    user::copy_from_user(v.as_mut_bytes(), va).map_err(|_| EFAULT)?;
    Ok(v)
}

/// Copy bytes to user memory.
pub fn write_bytes(va: usize, b: &[u8]) -> Result<(), u32> {
    user::copy_to_user(va, b).map_err(|_| EFAULT)
}

/// Copy bytes from user memory.
pub fn read_bytes(va: usize, b: &mut [u8]) -> Result<(), u32> {
    user::copy_from_user(b, va).map_err(|_| EFAULT)
}

/// Read a NUL-terminated string of at most `max` bytes (ENAMETOOLONG beyond; ENOMEM if the
/// kernel heap cannot hold it). One allocation and one copy for most paths: the bytes go
/// straight from user memory into the vector (a word at a time), never past the NUL's page.
pub fn read_cstr(va: usize, max: usize) -> Result<Vec<u8>, u32> {
    user::read_user_cstr(va, max).map_err(|e| match e {
        user::CstrError::Fault => EFAULT,
        user::CstrError::TooLong => ENAMETOOLONG,
        user::CstrError::NoMemory => ENOMEM,
    })
}

/// Write a siginfo as the user's 128-byte `siginfo_t`: the kernel's 48 bytes, then zeros
/// (Linux's copy_siginfo_to_user).
pub fn write_siginfo(va: usize, i: &velox_abi::SigInfo) -> Result<(), u32> {
    const REST: usize = velox_abi::SIGINFO_USER_SIZE - size_of::<velox_abi::SigInfo>();
    static ZERO: [u8; REST] = [0; REST];
    write(va, i)?;
    write_bytes(va.wrapping_add(size_of::<velox_abi::SigInfo>()), &ZERO)
}
