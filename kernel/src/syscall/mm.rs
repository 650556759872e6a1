//! Memory system calls: brk, mmap (anonymous or of a file, private or shared; see
//! `mm::filemap` for file mappings), munmap, mprotect, mremap, madvise, msync, mincore, and
//! membarrier (memory ordering across the harts running a process).

use super::{Fast, err, ret};
use crate::smp::BUSY;
use crate::task::Thread;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_hal::USER_END;
use velox_hal::trap::UserContext;
use velox_mm::vma::{Backing, Prot};
use velox_mm::{PAGE_SIZE, page_ceil};

fn with_aspace<R>(t: &Thread, f: impl FnOnce(&mut crate::mm::aspace::AddrSpace) -> Result<R, u32>) -> Result<R, u32> {
    // (Borrowed under the thread's mm lock: none of these calls copies user memory.)
    // On the trap fast path: never wait for the lock (another hart may hold it for long) nor
    // for other harts to flush their TLBs (when they run this address space too).
    let fast = crate::smp::in_fast_path();
    t.with_mm(|mm| match mm.space.try_lock() {
        Some(_) if fast && crate::smp::loaded_elsewhere(mm.root()) => Err(BUSY),
        Some(mut a) => f(&mut a),
        None => Err(BUSY),
    })
    .unwrap_or(Err(errno::ESRCH))
}

/// A handler that met a busy address space goes to the async path ([`mm_async`]).
fn slow_if_busy(r: Fast) -> Fast {
    match r {
        Fast::Done(v) if v == err(BUSY) => Fast::Slow,
        r => r,
    }
}

/// The async side of brk/mmap/munmap/mprotect/mremap/madvise/msync/mincore/membarrier: park until the address space's lock
/// is free (another hart holds it: a fork copying it, a long unmap), then try again.
pub async fn mm_async(t: alloc::sync::Arc<Thread>, _: super::Args) -> isize {
    loop {
        let r = {
            let mut c = t.ctx();
            let n = c.syscall_nr();
            match super::call_fast(n, &t, &mut c) {
                Some(r) => r,
                None => return err(errno::ENOSYS),
            }
        };
        match r {
            Fast::Done(v) => return v,
            Fast::Slow => match t.mm() {
                Some(mm) => mm.space.wait_unlocked().await,
                None => return err(errno::ESRCH),
            },
        }
    }
}

/// The soft limit `res` of the caller's process.
fn rlimit(t: &Thread, res: u32) -> u64 {
    t.process.limits.lock()[res as usize].0
}

pub fn brk(t: &Thread, c: &UserContext) -> Fast {
    slow_if_busy(brk_locked(t, c))
}

fn brk_locked(t: &Thread, c: &UserContext) -> Fast {
    let want = c.arg(0);
    let (as_lim, data_lim) = (rlimit(t, g::RLIMIT_AS), rlimit(t, g::RLIMIT_DATA));
    Fast::Done(ret(with_aspace(t, |a| {
        let old = a.brk;
        if want < a.brk_start || want >= crate::config::MMAP_BOTTOM.max(USER_END / 2) {
            return Ok(old as isize);
        }
        let (old_top, new_top) = (page_ceil(old).unwrap_or(old), page_ceil(want).unwrap_or(old));
        if new_top > old_top {
            // RLIMIT_DATA bounds the heap, RLIMIT_AS all mappings (brk then keeps the old break).
            let over = (new_top - a.brk_start) as u64 > data_lim || (a.vmas.bytes() + (new_top - old_top)) as u64 > as_lim;
            if over || !a.vmas.is_free(old_top, new_top) || a.add_area(old_top, new_top, Prot(Prot::READ | Prot::WRITE), Backing::Anon).is_err() {
                return Ok(old as isize);
            }
        } else if new_top < old_top {
            a.unmap(new_top, old_top);
        }
        a.brk = want;
        Ok(want as isize)
    })))
}

pub fn mmap(t: &Thread, c: &UserContext) -> Fast {
    slow_if_busy(mmap_locked(t, c))
}

fn mmap_locked(t: &Thread, c: &UserContext) -> Fast {
    let (addr, len, prot, flags, fd, off) = (c.arg(0), c.arg(1), c.arg(2) as u32, c.arg(3) as u32, c.arg(4) as i32, c.arg(5));
    Fast::Done(ret((|| {
        let kind = flags & g::MAP_TYPE;
        if len == 0 || off % PAGE_SIZE != 0 || !(kind == g::MAP_PRIVATE || kind == g::MAP_SHARED || kind == g::MAP_SHARED_VALIDATE) {
            return Err(errno::EINVAL);
        }
        if prot & !(g::PROT_READ | g::PROT_WRITE | g::PROT_EXEC) != 0 {
            return Err(errno::EINVAL);
        }
        let len = page_ceil(len).ok_or(errno::ENOMEM)?;
        // (Taken by the closure below through a reference: moving the record into it would
        // copy its bytes on every mmap, anonymous ones included.)
        let mut file = if flags & g::MAP_ANONYMOUS == 0 { map_file(t, fd, off, len, prot, kind != g::MAP_PRIVATE)? } else { None };
        let as_lim = rlimit(t, g::RLIMIT_AS);
        let fixed = flags & g::MAP_FIXED != 0;
        let noreplace = flags & g::MAP_FIXED_NOREPLACE != 0;
        let data_lim = rlimit(t, g::RLIMIT_DATA);
        // Linux's data_vm: private writable memory (here: private writable anonymous areas).
        let is_data = |v: &velox_mm::vma::Vma| matches!(v.backing, Backing::Anon | Backing::File { shared: false, .. }) && v.prot.write();
        let new_data = kind == g::MAP_PRIVATE && prot & g::PROT_WRITE != 0;
        with_aspace(t, |a| {
            // RLIMIT_AS and RLIMIT_DATA, counting what a MAP_FIXED replacement takes away, and
            // checked before anything is unmapped (as Linux's may_expand_vm).
            let limits_ok = |a: &crate::mm::aspace::AddrSpace, start: usize| {
                let (old_all, old_data) = (a.vmas.bytes_in(start, start + len, |_| true), a.vmas.bytes_in(start, start + len, is_data));
                let all = a.vmas.bytes() - old_all + len;
                let data = a.vmas.bytes_in(0, USER_END, is_data) - old_data + if new_data { len } else { 0 };
                all as u64 <= as_lim && (!new_data || data as u64 <= data_lim)
            };
            let start = if fixed || noreplace {
                if addr % PAGE_SIZE != 0 {
                    return Err(errno::EINVAL);
                }
                let end = addr.checked_add(len).filter(|&e| e <= USER_END).ok_or(errno::ENOMEM)?;
                if !a.vmas.is_free(addr, end) {
                    if noreplace {
                        return Err(errno::EEXIST);
                    }
                    if (as_lim != u64::MAX || data_lim != u64::MAX) && !limits_ok(a, addr) {
                        return Err(errno::ENOMEM);
                    }
                    a.unmap(addr, end);
                }
                addr
            } else {
                let hint = addr & !(PAGE_SIZE - 1);
                let ok = hint != 0 && hint.checked_add(len).is_some_and(|e| e <= USER_END && a.vmas.is_free(hint, e));
                if ok { hint } else { a.find_free(len).ok_or(errno::ENOMEM)? }
            };
            if (as_lim != u64::MAX || (new_data && data_lim != u64::MAX)) && !limits_ok(a, start) {
                return Err(errno::ENOMEM);
            }
            if let Some(fm) = file.take() {
                a.add_file_area(start, start + len, Prot(prot), fm)?;
            } else if kind == g::MAP_PRIVATE {
                a.add_area(start, start + len, Prot(prot), Backing::Anon)?;
            } else {
                // Shared anonymous memory is populated now, so that fork shares every page
                // (Linux allocates it lazily; here a request larger than free memory fails
                // at once with ENOMEM instead of after filling all of RAM).
                if len / PAGE_SIZE > crate::mm::frame_stats().0.saturating_sub(crate::config::FRAME_RESERVE) {
                    return Err(errno::ENOMEM);
                }
                a.add_area(start, start + len, Prot(prot), Backing::Shared)?;
                if let Err(e) = a.populate(start, start + len) {
                    a.unmap(start, start + len);
                    return Err(e);
                }
            }
            Ok(start as isize)
        })
    })()))
}

/// The checks of mmap on descriptor `fd`, in Linux's order, and the mapping's record (`None`:
/// /dev/zero, which maps anonymous memory). Runs before the address-space lock is taken: the
/// record's snapshot takes the file's lock (see `mm::filemap`'s lock order).
fn map_file(t: &Thread, fd: i32, off: usize, len: usize, prot: u32, shared: bool) -> Result<Option<crate::mm::filemap::FileMap>, u32> {
    use crate::fs::FileKind;
    let file = t.process.fds.lock().get(fd as usize).cloned().ok_or(errno::EBADF)?;
    if (off / PAGE_SIZE).checked_add(len / PAGE_SIZE).is_none_or(|e| e > (u64::MAX / PAGE_SIZE as u64) as usize) {
        return Err(errno::EOVERFLOW);
    }
    if let FileKind::Node(n) = &file.kind {
        if n.path_only {
            return Err(errno::EBADF);
        }
    }
    // MAP_SHARED with PROT_WRITE needs a writable descriptor; every mapping a readable one.
    if shared && prot & g::PROT_WRITE != 0 && !file.writable() {
        return Err(errno::EACCES);
    }
    if !file.readable() {
        return Err(errno::EACCES);
    }
    let inode = match &file.kind {
        FileKind::Zero => return Ok(None),
        FileKind::Node(n) if n.loc.inode.kind() == velox_vfs::FileType::Regular => n.loc.inode.clone(),
        // Directories, pipes, the console, other devices: no mmap.
        _ => return Err(errno::ENODEV),
    };
    let may_write = file.writable();
    // On the trap fast path the file's lock is only tried (BUSY: the async path waits).
    let fast = crate::smp::in_fast_path();
    match crate::mm::filemap::FileMap::new(file, inode, off as u64, len, shared, may_write, fast) {
        Err(e) if e == errno::EAGAIN => Err(BUSY),
        r => r.map(Some),
    }
}

/// msync(addr, len, flags): file pages are the file's own memory, so there is nothing to
/// write back; the arguments are checked as Linux does (EINVAL, ENOMEM for unmapped parts).
pub fn msync(t: &Thread, c: &UserContext) -> Fast {
    slow_if_busy(msync_locked(t, c))
}

fn msync_locked(t: &Thread, c: &UserContext) -> Fast {
    let (addr, len, flags) = (c.arg(0), c.arg(1), c.arg(2) as u32);
    let known = g::MS_ASYNC | g::MS_SYNC | g::MS_INVALIDATE;
    if addr % PAGE_SIZE != 0 || flags & !known != 0 || flags & (g::MS_ASYNC | g::MS_SYNC) == (g::MS_ASYNC | g::MS_SYNC) {
        return Fast::Done(err(errno::EINVAL));
    }
    let Some(end) = page_ceil(len).and_then(|l| addr.checked_add(l)) else {
        return Fast::Done(err(errno::ENOMEM));
    };
    // MS_SYNC writes the shared file mappings' files back (ext4: the pages stores changed),
    // after the address-space lock is let go (a file's lock comes before it). MS_ASYNC: the
    // periodic writeback takes them, as Linux.
    let mut files = alloc::vec::Vec::new();
    let r = with_aspace(t, |a| {
        let mut va = addr;
        while va < end {
            match a.vmas.find(va) {
                Some(v) => {
                    if flags & g::MS_SYNC != 0
                        && let Some((f, _)) = a.file_of(v)
                    {
                        files.try_reserve(1).map_err(|_| errno::ENOMEM)?;
                        files.push(f);
                    }
                    va = v.end;
                }
                None => return Err(errno::ENOMEM),
            }
        }
        Ok(0)
    });
    if r.is_ok() {
        for f in &files {
            if let crate::fs::FileKind::Node(n) = &f.kind
                && let Err(e) = n.loc.inode.sync()
            {
                return Fast::Done(err(e));
            }
        }
    }
    Fast::Done(ret(r))
}

pub fn munmap(t: &Thread, c: &UserContext) -> Fast {
    slow_if_busy(munmap_locked(t, c))
}

fn munmap_locked(t: &Thread, c: &UserContext) -> Fast {
    let (addr, len) = (c.arg(0), c.arg(1));
    Fast::Done(ret((|| {
        if addr % PAGE_SIZE != 0 || len == 0 {
            return Err(errno::EINVAL);
        }
        let end = page_ceil(len).and_then(|l| addr.checked_add(l)).filter(|&e| e <= USER_END).ok_or(errno::EINVAL)?;
        with_aspace(t, |a| {
            // Cutting a hole in one area makes two: refused at the area limit, as on Linux.
            let at_limit = a.vmas.len() >= crate::mm::aspace::MAX_MAP_COUNT || crate::mm::heap_low();
            let splits = || a.vmas.find(addr).is_some_and(|v| v.start < addr) && a.vmas.find(end - 1).is_some_and(|v| v.end > end);
            if at_limit && splits() {
                return Err(errno::ENOMEM);
            }
            a.unmap(addr, end);
            Ok(0)
        })
    })()))
}

pub fn mprotect(t: &Thread, c: &UserContext) -> Fast {
    slow_if_busy(mprotect_locked(t, c))
}

fn mprotect_locked(t: &Thread, c: &UserContext) -> Fast {
    let (addr, len, prot) = (c.arg(0), c.arg(1), c.arg(2) as u32);
    if addr % PAGE_SIZE != 0 || prot & !(g::PROT_READ | g::PROT_WRITE | g::PROT_EXEC | g::PROT_GROWSDOWN | g::PROT_GROWSUP) != 0 {
        return Fast::Done(err(errno::EINVAL));
    }
    if len == 0 {
        return Fast::Done(0);
    }
    Fast::Done(ret((|| {
        let end = page_ceil(len).and_then(|l| addr.checked_add(l)).filter(|&e| e <= USER_END).ok_or(errno::ENOMEM)?;
        with_aspace(t, |a| a.protect(addr, end, Prot(prot & 7)).map(|_| 0))
    })()))
}

/// riscv_flush_icache(start, end, flags): make this process's instruction fetches see its
/// earlier stores (what `__builtin___clear_cache` calls): `fence.i` here, and on every other
/// hart too unless SYS_RISCV_FLUSH_ICACHE_LOCAL (threads may run the code there).
pub fn riscv_flush_icache(_t: &Thread, c: &UserContext) -> Fast {
    const SYS_RISCV_FLUSH_ICACHE_LOCAL: usize = 1;
    if c.arg(2) & !SYS_RISCV_FLUSH_ICACHE_LOCAL != 0 {
        return Fast::Done(err(errno::EINVAL));
    }
    velox_hal::cpu::fence_i();
    if c.arg(2) & SYS_RISCV_FLUSH_ICACHE_LOCAL == 0 {
        crate::smp::remote_fence_i();
    }
    Fast::Done(0)
}

/// madvise(addr, len, advice): MADV_DONTNEED/MADV_FREE drop private anonymous pages; the
/// other advice Linux accepts is accepted and changes nothing.
pub fn madvise(t: &Thread, c: &UserContext) -> Fast {
    slow_if_busy(madvise_locked(t, c))
}

fn madvise_locked(t: &Thread, c: &UserContext) -> Fast {
    let (addr, len, advice) = (c.arg(0), c.arg(1), c.arg(2) as u32);
    if addr % PAGE_SIZE != 0 {
        return Fast::Done(err(errno::EINVAL));
    }
    let Some(end) = page_ceil(len).and_then(|l| addr.checked_add(l)).filter(|&e| e <= USER_END) else {
        return Fast::Done(err(errno::EINVAL));
    };
    Fast::Done(ret(match advice {
        g::MADV_DONTNEED | g::MADV_FREE => with_aspace(t, |a| a.discard(addr, end).map(|_| 0)),
        g::MADV_NORMAL
        | g::MADV_RANDOM
        | g::MADV_SEQUENTIAL
        | g::MADV_WILLNEED
        | g::MADV_DONTFORK
        | g::MADV_DOFORK
        | g::MADV_MERGEABLE
        | g::MADV_UNMERGEABLE
        | g::MADV_HUGEPAGE
        | g::MADV_NOHUGEPAGE
        | g::MADV_DONTDUMP
        | g::MADV_DODUMP => with_aspace(t, |a| if a.vmas.is_free(addr, end.max(addr + 1)) && len > 0 { Err(errno::ENOMEM) } else { Ok(0) }),
        _ => Err(errno::EINVAL),
    }))
}

/// mremap(old_address, old_size, new_size, flags, new_address): see `AddrSpace::remap`. The
/// checks that need no area come first, in Linux's order (flags, alignment, sizes: EINVAL).
pub fn mremap(t: &Thread, c: &UserContext) -> Fast {
    slow_if_busy(mremap_locked(t, c))
}

fn mremap_locked(t: &Thread, c: &UserContext) -> Fast {
    let (old, old_len, new_len, flags, new_addr) = (c.arg(0), c.arg(1), c.arg(2), c.arg(3) as u32, c.arg(4));
    Fast::Done(ret((|| {
        let (may_move, fixed, dontunmap) = (flags & g::MREMAP_MAYMOVE != 0, flags & g::MREMAP_FIXED != 0, flags & g::MREMAP_DONTUNMAP != 0);
        if flags & !(g::MREMAP_MAYMOVE | g::MREMAP_FIXED | g::MREMAP_DONTUNMAP) != 0 || (fixed && !may_move) {
            return Err(errno::EINVAL);
        }
        // MREMAP_DONTUNMAP always moves, and never resizes.
        if dontunmap && (!may_move || old_len != new_len) {
            return Err(errno::EINVAL);
        }
        if old % PAGE_SIZE != 0 {
            return Err(errno::EINVAL);
        }
        let (Some(old_len), Some(new_len)) = (page_ceil(old_len), page_ceil(new_len)) else {
            return Err(errno::EINVAL);
        };
        if new_len == 0 {
            return Err(errno::EINVAL);
        }
        let lim = (rlimit(t, g::RLIMIT_AS), rlimit(t, g::RLIMIT_DATA));
        let r = crate::mm::aspace::Remap { may_move, fixed, dontunmap, new_addr };
        with_aspace(t, |a| a.remap(old, old_len, new_len, r, lim).map(|v| v as isize))
    })()))
}

/// mincore(addr, length, vec): a byte per page, 1 if the page is in memory for this process
/// (`AddrSpace::mincore`). EINVAL for an unaligned address, ENOMEM if the range leaves user
/// space or meets an unmapped page, EFAULT for a bad `vec`. The pages are looked at in
/// steps under the address-space lock and copied out after each (a copy may fault).
pub fn mincore(t: &Thread, c: &UserContext) -> Fast {
    slow_if_busy(mincore_locked(t, c))
}

fn mincore_locked(t: &Thread, c: &UserContext) -> Fast {
    let (addr, len, vec) = (c.arg(0), c.arg(1), c.arg(2));
    if addr % PAGE_SIZE != 0 {
        return Fast::Done(err(errno::EINVAL));
    }
    if addr.checked_add(len).is_none_or(|e| e > USER_END) {
        return Fast::Done(err(errno::ENOMEM));
    }
    let pages = len.div_ceil(PAGE_SIZE);
    if vec.checked_add(pages).is_none_or(|e| e > USER_END) {
        return Fast::Done(err(errno::EFAULT));
    }
    let mut buf = [0u8; 256];
    let mut done = 0;
    while done < pages {
        let n = (pages - done).min(buf.len());
        let r = with_aspace(t, |a| a.mincore(addr + done * PAGE_SIZE, &mut buf[..n]));
        match r {
            Ok(_) => {}
            // (A busy space after some steps: the retry starts over, which does no harm.)
            Err(e) => return Fast::Done(err(e)),
        }
        if let Err(e) = super::uaccess::write_bytes(vec + done, &buf[..n]) {
            return Fast::Done(err(e));
        }
        done += n;
    }
    Fast::Done(0)
}

// membarrier(2) commands (linux/membarrier.h).
const MB_QUERY: u32 = 0;
const MB_GLOBAL: u32 = 1;
const MB_GLOBAL_EXPEDITED: u32 = 2;
const MB_REGISTER_GLOBAL_EXPEDITED: u32 = 4;
const MB_PRIVATE_EXPEDITED: u32 = 8;
const MB_REGISTER_PRIVATE_EXPEDITED: u32 = 16;
const MB_PRIVATE_EXPEDITED_SYNC_CORE: u32 = 32;
const MB_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: u32 = 64;
const MB_GET_REGISTRATIONS: u32 = 512;
/// What MEMBARRIER_CMD_QUERY answers: everything but the rseq commands (rseq is not
/// implemented, so they are EINVAL, as on a Linux built without CONFIG_RSEQ).
const MB_SUPPORTED: u32 = MB_GLOBAL
    | MB_GLOBAL_EXPEDITED
    | MB_REGISTER_GLOBAL_EXPEDITED
    | MB_PRIVATE_EXPEDITED
    | MB_REGISTER_PRIVATE_EXPEDITED
    | MB_PRIVATE_EXPEDITED_SYNC_CORE
    | MB_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE
    | MB_GET_REGISTRATIONS;

/// membarrier(cmd, flags, cpu_id). The barrier commands make every other hart that may be
/// running the caller's threads (PRIVATE: the harts with its address space loaded) or any
/// user thread (GLOBAL) execute a full fence (`fence rw,rw`, and `fence.i`: SYNC_CORE) before
/// the call returns, through an IPI each (`smp::membarrier`); a thread not on a hart then
/// passes the fence of `smp::load_mm` before it runs again. GLOBAL (Linux: an RCU grace
/// period) is served the same way, and GLOBAL_EXPEDITED reaches every hart, registered or not
/// (a superset of what Linux interrupts). PRIVATE_EXPEDITED(_SYNC_CORE) without its
/// registration → EPERM; registrations belong to the address space (a fork keeps them, as
/// Linux copies the mm; an execve starts without). flags other than 0, the rseq commands and unknown ones → EINVAL. On the trap
/// fast path the calls that interrupt other harts take the slow path (it waits for them), as
/// does a registration that finds the address space locked.
pub fn membarrier(t: &Thread, c: &UserContext) -> Fast {
    let (cmd, flags) = (c.arg(0) as u32, c.arg(1) as u32);
    if flags != 0 {
        return Fast::Done(err(errno::EINVAL));
    }
    let state = |f: &dyn Fn(&core::sync::atomic::AtomicU32) -> u32| t.with_mm(|mm| f(&mm.membarrier)).unwrap_or(0);
    let barrier = |root: Option<usize>| {
        if crate::smp::online() > 1 && crate::smp::in_fast_path() {
            return Fast::Slow;
        }
        crate::smp::membarrier(root);
        Fast::Done(0)
    };
    use core::sync::atomic::Ordering::Relaxed;
    match cmd {
        MB_QUERY => Fast::Done(MB_SUPPORTED as isize),
        MB_GLOBAL | MB_GLOBAL_EXPEDITED => barrier(None),
        MB_REGISTER_GLOBAL_EXPEDITED | MB_REGISTER_PRIVATE_EXPEDITED | MB_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE => {
            // (Recorded in the address space too, where fork copies it from.)
            let Some(mm) = t.mm() else { return Fast::Done(err(errno::ESRCH)) };
            let Some(mut a) = mm.space.try_lock() else { return Fast::Slow };
            a.membarrier = mm.membarrier.fetch_or(cmd, Relaxed) | cmd;
            Fast::Done(0)
        }
        MB_PRIVATE_EXPEDITED | MB_PRIVATE_EXPEDITED_SYNC_CORE => {
            // (Each command's registration is the next bit up.)
            if state(&|s| s.load(Relaxed)) & (cmd << 1) == 0 {
                return Fast::Done(err(errno::EPERM));
            }
            if cmd == MB_PRIVATE_EXPEDITED_SYNC_CORE {
                // Harts not running the process now (idle, asleep in a wait, running another)
                // are not interrupted: every hart runs `fence.i` before it next enters user
                // mode (the code generation).
                velox_hal::cpu::note_code_written();
            }
            barrier(t.with_mm(|mm| mm.root()))
        }
        MB_GET_REGISTRATIONS => Fast::Done(state(&|s| s.load(Relaxed)) as isize),
        _ => Fast::Done(err(errno::EINVAL)),
    }
}
