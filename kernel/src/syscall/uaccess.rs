//! Typed copies between the kernel and user memory; faults become EFAULT.

use alloc::vec::Vec;
use linux_raw_sys::errno::{EFAULT, ENAMETOOLONG};
use velox_hal::user;

/// Plain-old-data ABI structs that may be copied to and from user memory byte for byte.
///
/// # Safety
/// Implementors must be `repr(C)` with no padding-sensitive invariants and valid for every
/// bit pattern (integers and arrays of integers only; raw pointers are read as addresses).
#[allow(unsafe_code)]
pub unsafe trait Pod: Copy + 'static {}

macro_rules! pod {
    ($($t:ty),*) => { $(
        // SAFETY: a linux-raw-sys `repr(C)` struct made of integers (and raw pointers used only
        // as addresses), valid for all bit patterns.
        #[allow(unsafe_code)]
        unsafe impl Pod for $t {}
    )* };
}
use linux_raw_sys::general as g;
pod!(g::__kernel_timespec, g::timeval, g::timespec, g::rlimit64, g::iovec, g::stat, g::termios, g::winsize, linux_raw_sys::system::new_utsname, u64, u32, usize, [u32; 2], [u64; 2], [u64; 4], [u64; 14], [usize; 3], [usize; 4], g::rusage, g::pollfd);

#[allow(unsafe_code)]
fn as_bytes<T: Pod>(v: &T) -> &[u8] {
    // SAFETY: `T: Pod` is plain data; viewing its bytes is sound for its size.
    unsafe { core::slice::from_raw_parts(v as *const T as *const u8, size_of::<T>()) }
}

/// Copy `v` to user address `va`.
#[inline]
pub fn write<T: Pod>(va: usize, v: &T) -> Result<(), u32> {
    user::copy_to_user(va, as_bytes(v)).map_err(|_| EFAULT)
}

/// Read a `T` from user address `va`.
#[allow(unsafe_code)]
pub fn read<T: Pod>(va: usize) -> Result<T, u32> {
    let mut v = core::mem::MaybeUninit::<T>::zeroed();
    // SAFETY: the buffer is `size_of::<T>()` bytes of a zeroed `T`, which `Pod` allows.
    let buf = unsafe { core::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, size_of::<T>()) };
    user::copy_from_user(buf, va).map_err(|_| EFAULT)?;
    // SAFETY: every bit pattern is a valid `T` (Pod).
    Ok(unsafe { v.assume_init() })
}

/// Copy bytes to user memory.
pub fn write_bytes(va: usize, b: &[u8]) -> Result<(), u32> {
    user::copy_to_user(va, b).map_err(|_| EFAULT)
}

/// Copy bytes from user memory.
pub fn read_bytes(va: usize, b: &mut [u8]) -> Result<(), u32> {
    user::copy_from_user(b, va).map_err(|_| EFAULT)
}

/// Read a NUL-terminated string of at most `max` bytes (ENAMETOOLONG beyond).
pub fn read_cstr(va: usize, max: usize) -> Result<Vec<u8>, u32> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 64];
    let mut at = va;
    loop {
        // Read up to the end of the page so a string that ends right before an unmapped page works.
        let n = (4096 - (at & 4095)).min(chunk.len());
        read_bytes(at, &mut chunk[..n])?;
        if let Some(z) = chunk[..n].iter().position(|&c| c == 0) {
            out.extend_from_slice(&chunk[..z]);
            return Ok(out);
        }
        out.extend_from_slice(&chunk[..n]);
        if out.len() > max {
            return Err(ENAMETOOLONG);
        }
        at += n;
    }
}
