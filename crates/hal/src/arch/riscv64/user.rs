//! Checked access to user memory: range checks plus fault fix-up (bad pointers give `Err`).

use super::USER_END;

unsafe extern "C" {
    fn __copy_user(dst: *mut u8, src: *const u8, len: usize) -> usize;
    fn __fill_user(dst: *mut u8, len: usize) -> usize;
    fn __amo_user(op: usize, uaddr: *mut u32, val: u32, old: *mut u32) -> usize;
    fn __cmpxchg_user(uaddr: *mut u32, expected: u32, new: u32, old: *mut u32) -> usize;
}

/// An atomic read-modify-write on a user word ([`atomic_user`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtomicOp {
    Swap = 0,
    Add = 1,
    Or = 2,
    And = 3,
    Xor = 4,
}

/// A user access touched memory that is not (or may not be) mapped for it: EFAULT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault;

#[inline(always)]
fn check(va: usize, len: usize) -> Result<(), Fault> {
    match va.checked_add(len) {
        Some(end) if end <= USER_END => Ok(()),
        _ => Err(Fault),
    }
}

/// Copy `src` into user memory at `dst`.
pub fn copy_to_user(dst: usize, src: &[u8]) -> Result<(), Fault> {
    check(dst, src.len())?;
    // SAFETY: `dst..dst+len` is in the user half (checked), so it cannot alias kernel data;
    // __copy_user only touches that range and `src`, and a fault inside it is fixed up by the
    // kernel trap handler into a return value of 1 instead of a crash.
    match unsafe { __copy_user(dst as *mut u8, src.as_ptr(), src.len()) } {
        0 => Ok(()),
        _ => Err(Fault),
    }
}

/// Copy user memory at `src` into `dst`.
pub fn copy_from_user(dst: &mut [u8], src: usize) -> Result<(), Fault> {
    check(src, dst.len())?;
    // SAFETY: as in `copy_to_user`, with the roles swapped; `dst` is an exclusive kernel buffer.
    match unsafe { __copy_user(dst.as_mut_ptr(), src as *const u8, dst.len()) } {
        0 => Ok(()),
        _ => Err(Fault),
    }
}

/// True if the `N` words of user memory at `src` differ from `cur` (the last word compared
/// under `last_mask`). Reads into a buffer that is neither zeroed nor moved: a hot path's
/// check (has a signal handler changed the FP state in its frame?).
pub fn user_words_differ<const N: usize>(src: usize, cur: &[u64; N], last_mask: u64) -> Result<bool, Fault> {
    check(src, N * 8)?;
    let mut buf = core::mem::MaybeUninit::<[u64; N]>::uninit();
    // SAFETY: as in `copy_from_user`; `buf` is an exclusive kernel buffer of N * 8 bytes.
    // `__copy_user` returns 0 only after writing every one of them, so the array is
    // initialised when it is read; on a fault it is never read (it is plain data).
    let b = unsafe {
        if __copy_user(buf.as_mut_ptr() as *mut u8, src as *const u8, N * 8) != 0 {
            return Err(Fault);
        }
        buf.assume_init_ref()
    };
    let n = N.saturating_sub(1);
    Ok(b[..n].iter().zip(&cur[..n]).any(|(x, y)| x != y) || N > 0 && b[n] & last_mask != cur[n] & last_mask)
}

/// Zero `len` bytes of user memory at `dst`.
pub fn zero_user(dst: usize, len: usize) -> Result<(), Fault> {
    check(dst, len)?;
    // SAFETY: user-half range (checked); faults are fixed up as in `copy_to_user`.
    match unsafe { __fill_user(dst as *mut u8, len) } {
        0 => Ok(()),
        _ => Err(Fault),
    }
}

fn check_word(va: usize) -> Result<(), Fault> {
    if va % 4 != 0 {
        return Err(Fault);
    }
    check(va, 4)
}

/// Atomically apply `op` with `val` to the user word at `va` (4-byte aligned); returns the
/// old value. Other harts' user code sees it as one atomic instruction (futex WAKE_OP).
pub fn atomic_user(va: usize, op: AtomicOp, val: u32) -> Result<u32, Fault> {
    check_word(va)?;
    let mut old = 0u32;
    // SAFETY: aligned word in the user half (checked); faults are fixed up as in `copy_to_user`;
    // `old` is a kernel local.
    match unsafe { __amo_user(op as usize, va as *mut u32, val, &mut old) } {
        0 => Ok(old),
        _ => Err(Fault),
    }
}

/// Atomically replace the user word at `va` by `new` if it holds `expected`; returns the
/// value found (equal to `expected` on success).
pub fn cmpxchg_user(va: usize, expected: u32, new: u32) -> Result<u32, Fault> {
    check_word(va)?;
    let mut old = 0u32;
    // SAFETY: as in `atomic_user`.
    match unsafe { __cmpxchg_user(va as *mut u32, expected, new, &mut old) } {
        0 => Ok(old),
        _ => Err(Fault),
    }
}
