//! Checked access to user memory: range checks plus fault fix-up (bad pointers give `Err`).

use super::USER_END;

unsafe extern "C" {
    fn __copy_user(dst: *mut u8, src: *const u8, len: usize) -> usize;
    fn __fill_user(dst: *mut u8, len: usize) -> usize;
    fn __strncpy_user(dst: *mut u8, src: *const u8, len: usize, copied: *mut usize) -> usize;
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

/// Copy the NUL-terminated user string at `src` into `dst`, at most `dst.len()` bytes
/// (the NUL included); returns how many bytes came before the NUL: `dst.len()` if none was
/// among them. Never reads user memory past the NUL's page (a string ending right before an
/// unmapped page is fine). Only the bytes returned (plus the NUL) are written.
pub fn strncpy_from_user(dst: &mut [core::mem::MaybeUninit<u8>], src: usize) -> Result<usize, Fault> {
    // The range check covers the first byte; the copy stops at USER_END at the latest.
    let len = dst.len().min(USER_END.saturating_sub(src));
    if src >= USER_END {
        return Err(Fault);
    }
    let mut copied = 0usize;
    // SAFETY: reads user memory from `src` (below USER_END, and at most up to it: `len` is
    // clamped) and writes at most `len` bytes to `dst`, an exclusive kernel buffer of at
    // least that size (writing plain bytes into MaybeUninit storage needs no initialised
    // contents); a fault is fixed up as in `copy_to_user`; `copied` is a kernel local.
    match unsafe { __strncpy_user(dst.as_mut_ptr() as *mut u8, src as *const u8, len, &mut copied) } {
        0 if len < dst.len() && copied == len => Err(Fault), // ran into the end of user space
        0 => Ok(copied),
        _ => Err(Fault),
    }
}

/// Why [`read_user_cstr`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CstrError {
    /// A bad pointer (EFAULT).
    Fault,
    /// No NUL within `max` bytes (ENAMETOOLONG).
    TooLong,
    /// The heap could not hold it (ENOMEM).
    NoMemory,
}

/// The NUL-terminated user string at `src` (without the NUL), at most `max` bytes long. One
/// allocation of 64 bytes and one copy for most strings (a path): the bytes go straight from
/// user memory into the vector, a word at a time; longer strings double the buffer.
pub fn read_user_cstr(src: usize, max: usize) -> Result<alloc::vec::Vec<u8>, CstrError> {
    const FIRST: usize = 64;
    let layout = core::alloc::Layout::new::<[u8; FIRST]>();
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { alloc::alloc::alloc(layout) };
    if p.is_null() {
        return Err(CstrError::NoMemory);
    }
    // SAFETY: `p` comes from the global allocator with the layout of FIRST bytes at alignment
    // 1, exactly what a Vec<u8> of that capacity holds; its length 0 needs no initialised bytes.
    let mut out = unsafe { alloc::vec::Vec::from_raw_parts(p, 0, FIRST) };
    let mut cap = FIRST;
    loop {
        let len = out.len();
        let want = cap.min(max + 1);
        out.try_reserve_exact(want - len).map_err(|_| CstrError::NoMemory)?;
        let spare = &mut out.spare_capacity_mut()[..want - len];
        let room = spare.len();
        let n = strncpy_from_user(spare, src.wrapping_add(len)).map_err(|_| CstrError::Fault)?;
        // SAFETY: strncpy_from_user wrote (initialised) the first `n` bytes of the spare
        // capacity, so the first `len + n` bytes of `out` are initialised; `n <= room` fits.
        unsafe { out.set_len(len + n) };
        if n < room {
            return Ok(out);
        }
        if out.len() > max {
            return Err(CstrError::TooLong);
        }
        cap *= 2;
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
