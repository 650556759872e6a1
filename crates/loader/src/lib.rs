//! ELF executable planning and the Linux initial stack, as pure functions (tested on the host).
//!
//! [`plan`] reads an ELF image (with the `elf` crate) into the segments to map; [`build_stack`]
//! lays out argc, argv, envp and the auxiliary vector exactly as Linux does on riscv64.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use elf::ElfBytes;
use elf::abi;
use elf::endian::LittleEndian;

/// PROT_* bits of a segment.
pub const PROT_READ: u32 = 1;
pub const PROT_WRITE: u32 = 2;
pub const PROT_EXEC: u32 = 4;

/// One PT_LOAD segment: map `[vaddr, vaddr+memsz)`, copy `filesz` bytes from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: usize,
    pub memsz: usize,
    pub offset: usize,
    pub filesz: usize,
    pub prot: u32,
}

/// What the kernel must do to start an executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub entry: usize,
    pub segments: Vec<Segment>,
    /// Address of the program headers in the loaded image (AT_PHDR).
    pub phdr: usize,
    pub phent: usize,
    pub phnum: usize,
    /// Highest address used by a segment (the program break starts above it).
    pub end: usize,
    /// PT_INTERP path, if the program is dynamically linked.
    pub interp: Option<Vec<u8>>,
}

/// Why an image cannot be executed (maps to ENOEXEC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadError {
    /// Not an ELF file, wrong class/endianness/machine, or malformed headers.
    NotExecutable,
}

/// Plan the loading of `image`. `bias` is added to the addresses of a position-independent
/// (ET_DYN) executable; fixed-address (ET_EXEC) executables ignore it.
pub fn plan(image: &[u8], bias: usize) -> Result<Plan, LoadError> {
    let e = ElfBytes::<LittleEndian>::minimal_parse(image).map_err(|_| LoadError::NotExecutable)?;
    let h = e.ehdr;
    if h.e_machine != abi::EM_RISCV || h.class != elf::file::Class::ELF64 {
        return Err(LoadError::NotExecutable);
    }
    let bias = match h.e_type {
        abi::ET_EXEC => 0,
        abi::ET_DYN => bias,
        _ => return Err(LoadError::NotExecutable),
    };
    let phdrs = e.segments().ok_or(LoadError::NotExecutable)?;
    let mut segments = Vec::new();
    let mut phdr = None;
    let mut interp = None;
    let mut end = 0usize;
    let mut first_load: Option<(usize, usize)> = None;
    for p in phdrs.iter() {
        match p.p_type {
            abi::PT_LOAD => {
                if p.p_filesz > p.p_memsz || p.p_offset.checked_add(p.p_filesz).is_none_or(|x| x > image.len() as u64) {
                    return Err(LoadError::NotExecutable);
                }
                let mut prot = 0;
                if p.p_flags & abi::PF_R != 0 {
                    prot |= PROT_READ;
                }
                if p.p_flags & abi::PF_W != 0 {
                    prot |= PROT_WRITE;
                }
                if p.p_flags & abi::PF_X != 0 {
                    prot |= PROT_EXEC;
                }
                let vaddr = (p.p_vaddr as usize).checked_add(bias).ok_or(LoadError::NotExecutable)?;
                let seg_end = vaddr.checked_add(p.p_memsz as usize).ok_or(LoadError::NotExecutable)?;
                if seg_end > 0x40_0000_0000 {
                    return Err(LoadError::NotExecutable);
                }
                if first_load.is_none() {
                    first_load = Some((vaddr, p.p_offset as usize));
                }
                end = end.max(seg_end);
                segments.push(Segment {
                    vaddr,
                    memsz: p.p_memsz as usize,
                    offset: p.p_offset as usize,
                    filesz: p.p_filesz as usize,
                    prot,
                });
            }
            abi::PT_PHDR => phdr = Some(p.p_vaddr as usize + bias),
            abi::PT_INTERP => {
                let s = p.p_offset as usize;
                let n = p.p_filesz as usize;
                let bytes = image.get(s..s.saturating_add(n)).ok_or(LoadError::NotExecutable)?;
                let bytes = bytes.split(|&b| b == 0).next().unwrap_or(&[]);
                interp = Some(bytes.to_vec());
            }
            _ => {}
        }
    }
    let (load_va, load_off) = first_load.ok_or(LoadError::NotExecutable)?;
    let phdr = phdr.unwrap_or(load_va - load_off + h.e_phoff as usize);
    Ok(Plan {
        entry: h.e_entry as usize + bias,
        segments,
        phdr,
        phent: h.e_phentsize as usize,
        phnum: h.e_phnum as usize,
        end,
        interp,
    })
}

/// Auxiliary vector keys (Linux's `linux/auxvec.h`, through `linux-raw-sys`).
pub mod auxv {
    pub use linux_raw_sys::auxvec::{
        AT_BASE, AT_CLKTCK, AT_EGID, AT_ENTRY, AT_EUID, AT_EXECFN, AT_FLAGS, AT_GID, AT_HWCAP, AT_NULL, AT_PAGESZ,
        AT_PHDR, AT_PHENT, AT_PHNUM, AT_RANDOM, AT_SECURE, AT_UID,
    };
    /// The auxv keys are `u32` in linux-raw-sys; the stack holds them as 64-bit words.
    pub const fn key(k: u32) -> u64 {
        k as u64
    }
}

/// The initial stack: `bytes` go at user address `sp` (which is 16-byte aligned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackImage {
    pub sp: usize,
    pub bytes: Vec<u8>,
}

/// Lay out the initial stack below `top`: strings and AT_RANDOM bytes at the top, then auxv,
/// envp, argv and argc at `sp`, as Linux's `create_elf_tables`. `aux` must not contain
/// AT_RANDOM, AT_EXECFN or AT_NULL; they are added here. `None` if it needs more than `max` bytes
/// (E2BIG).
pub fn build_stack(
    top: usize,
    argv: &[&[u8]],
    envp: &[&[u8]],
    aux: &[(u64, u64)],
    random: [u8; 16],
    execfn: &[u8],
    max: usize,
) -> Option<StackImage> {
    // Strings area, filled from the top down.
    let mut strings: Vec<u8> = Vec::new();
    let push_str = |s: &[u8], strings: &mut Vec<u8>| -> usize {
        // Returns the offset from `top` (distance below top) of the string's start.
        let mut v = s.to_vec();
        v.push(0);
        v.extend_from_slice(strings);
        *strings = v;
        strings.len()
    };
    let execfn_off = push_str(execfn, &mut strings);
    let env_offs: Vec<usize> = envp.iter().map(|s| push_str(s, &mut strings)).collect();
    let arg_offs: Vec<usize> = argv.iter().map(|s| push_str(s, &mut strings)).collect();
    // 16 random bytes below the strings.
    let mut r = random.to_vec();
    r.extend_from_slice(&strings);
    strings = r;
    let random_off = strings.len();
    // Pointer area size: argc + argv + NULL + envp + NULL + auxv pairs (+ AT_RANDOM, AT_EXECFN, AT_NULL).
    let words = 1 + argv.len() + 1 + envp.len() + 1 + 2 * (aux.len() + 3);
    let strings_start = top.checked_sub(strings.len())?;
    let sp = (strings_start.checked_sub(words * 8)?) & !15;
    let total = top - sp;
    if total > max {
        return None;
    }
    let mut out = Vec::with_capacity(total);
    let mut push = |v: u64| out.extend_from_slice(&v.to_le_bytes());
    push(argv.len() as u64);
    for o in &arg_offs {
        push((top - o) as u64);
    }
    push(0);
    for o in &env_offs {
        push((top - o) as u64);
    }
    push(0);
    for &(k, v) in aux {
        push(k);
        push(v);
    }
    push(auxv::key(auxv::AT_RANDOM));
    push((top - random_off) as u64);
    push(auxv::key(auxv::AT_EXECFN));
    push((top - execfn_off) as u64);
    push(auxv::key(auxv::AT_NULL));
    push(0);
    out.resize(total - strings.len(), 0);
    out.extend_from_slice(&strings);
    Some(StackImage { sp, bytes: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(img: &StackImage, addr: usize) -> u64 {
        let o = addr - img.sp;
        u64::from_le_bytes(img.bytes[o..o + 8].try_into().unwrap())
    }
    fn cstr(img: &StackImage, addr: usize) -> Vec<u8> {
        let o = addr - img.sp;
        img.bytes[o..].split(|&b| b == 0).next().unwrap().to_vec()
    }

    #[test]
    fn stack_layout_matches_linux() {
        let top = 0x3f_ffff_f000;
        let img = build_stack(
            top,
            &[b"/bin/prog", b"a b"],
            &[b"HOME=/"],
            &[(auxv::key(auxv::AT_PAGESZ), 4096)],
            [7; 16],
            b"/bin/prog",
            1 << 20,
        )
        .unwrap();
        assert_eq!(img.sp % 16, 0);
        assert_eq!(img.sp + img.bytes.len(), top);
        assert_eq!(word(&img, img.sp), 2);
        assert_eq!(cstr(&img, word(&img, img.sp + 8) as usize), b"/bin/prog");
        assert_eq!(cstr(&img, word(&img, img.sp + 16) as usize), b"a b");
        assert_eq!(word(&img, img.sp + 24), 0);
        assert_eq!(cstr(&img, word(&img, img.sp + 32) as usize), b"HOME=/");
        assert_eq!(word(&img, img.sp + 40), 0);
        let a = img.sp + 48;
        assert_eq!((word(&img, a), word(&img, a + 8)), (auxv::key(auxv::AT_PAGESZ), 4096));
        assert_eq!(word(&img, a + 16), auxv::key(auxv::AT_RANDOM));
        let r = word(&img, a + 24) as usize;
        assert_eq!(&img.bytes[r - img.sp..r - img.sp + 16], &[7; 16]);
        assert_eq!(word(&img, a + 32), auxv::key(auxv::AT_EXECFN));
        assert_eq!(cstr(&img, word(&img, a + 40) as usize), b"/bin/prog");
        assert_eq!(word(&img, a + 48), auxv::key(auxv::AT_NULL));
    }

    #[test]
    fn stack_too_big_is_e2big() {
        let big = vec![b'x'; 5000];
        assert!(build_stack(0x10000, &[&big], &[], &[], [0; 16], b"p", 4096).is_none());
    }

    #[test]
    fn rejects_non_elf() {
        assert_eq!(plan(b"#!/bin/sh\n", 0), Err(LoadError::NotExecutable));
        assert_eq!(plan(&[0x7f, b'E', b'L', b'F', 2, 1, 1], 0), Err(LoadError::NotExecutable));
    }

    #[test]
    fn plans_a_minimal_riscv_executable() {
        // Hand-assembled ELF64 header + one PT_LOAD (R+X) covering the file.
        let mut f = vec![0u8; 0x100];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2; // 64-bit
        f[5] = 1; // little endian
        f[6] = 1;
        f[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        f[18..20].copy_from_slice(&243u16.to_le_bytes()); // EM_RISCV
        f[20..24].copy_from_slice(&1u32.to_le_bytes());
        f[24..32].copy_from_slice(&0x10078u64.to_le_bytes()); // entry
        f[32..40].copy_from_slice(&64u64.to_le_bytes()); // phoff
        f[52..54].copy_from_slice(&64u16.to_le_bytes()); // ehsize
        f[54..56].copy_from_slice(&56u16.to_le_bytes()); // phentsize
        f[56..58].copy_from_slice(&1u16.to_le_bytes()); // phnum
        let p = 64;
        f[p..p + 4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        f[p + 4..p + 8].copy_from_slice(&5u32.to_le_bytes()); // R+X
        f[p + 16..p + 24].copy_from_slice(&0x10000u64.to_le_bytes()); // vaddr
        f[p + 24..p + 32].copy_from_slice(&0x10000u64.to_le_bytes()); // paddr
        f[p + 32..p + 40].copy_from_slice(&0x100u64.to_le_bytes()); // filesz
        f[p + 40..p + 48].copy_from_slice(&0x2000u64.to_le_bytes()); // memsz
        let pl = plan(&f, 0).unwrap();
        assert_eq!(pl.entry, 0x10078);
        assert_eq!(pl.segments, vec![Segment { vaddr: 0x10000, memsz: 0x2000, offset: 0, filesz: 0x100, prot: 5 }]);
        assert_eq!(pl.phdr, 0x10040);
        assert_eq!((pl.phent, pl.phnum, pl.end), (56, 1, 0x12000));
        assert_eq!(pl.interp, None);
    }
}
