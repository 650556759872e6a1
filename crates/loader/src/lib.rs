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
    /// ET_DYN (position-independent: `bias` was added), not ET_EXEC.
    pub dynamic: bool,
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
    plan_head(image, image.len(), bias)
}

/// How many bytes from the start of an ELF file [`plan_head`] needs: the ELF header, the
/// program headers and (once those are in `head`) PT_INTERP's path (`None` if `head`, the
/// file's first bytes, is not a 64-bit ELF header).
pub fn head_len(head: &[u8]) -> Option<usize> {
    let u16_at = |o: usize| Some(u16::from_le_bytes(head.get(o..o + 2)?.try_into().ok()?) as usize);
    if head.get(..4)? != b"\x7fELF" || *head.get(4)? != 2 {
        return None;
    }
    let phoff = u64::from_le_bytes(head.get(32..40)?.try_into().ok()?);
    let phoff = usize::try_from(phoff).ok()?;
    let (phent, phnum) = (u16_at(54)?, u16_at(56)?);
    let mut need = phoff.checked_add(phent.checked_mul(phnum)?)?.max(64);
    // With the program headers at hand, PT_INTERP's path too (wherever it lies).
    if need <= head.len() && phent >= 56 {
        for i in 0..phnum {
            let h = phoff + i * phent;
            if u32::from_le_bytes(head.get(h..h + 4)?.try_into().ok()?) == abi::PT_INTERP {
                let off = u64::from_le_bytes(head.get(h + 8..h + 16)?.try_into().ok()?);
                let len = u64::from_le_bytes(head.get(h + 32..h + 40)?.try_into().ok()?);
                if let Some(end) = off.checked_add(len).and_then(|e| usize::try_from(e).ok()) {
                    need = need.max(end);
                }
                break;
            }
        }
    }
    Some(need)
}

/// [`plan`] from the first bytes of a file of `file_len` bytes (the headers and PT_INTERP's
/// path must lie in `head`; segments may reach past it, up to `file_len`).
pub fn plan_head(image: &[u8], file_len: usize, bias: usize) -> Result<Plan, LoadError> {
    // The section headers (at the file's end, outside a head) are not needed: parse a copy
    // of the head without them (e_shoff, e_shnum, e_shstrndx zeroed).
    let copy;
    let image = if file_len > image.len() && image.len() >= 64 {
        let mut c = image.to_vec();
        c[40..48].fill(0);
        c[60..64].fill(0);
        copy = c;
        &copy[..]
    } else {
        image
    };
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
                if p.p_filesz > p.p_memsz || p.p_offset.checked_add(p.p_filesz).is_none_or(|x| x > file_len as u64) {
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
            // The first PT_INTERP counts; as Linux, its path must be 2 to 4096 bytes with the
            // NUL last.
            abi::PT_INTERP if interp.is_none() => {
                let s = p.p_offset as usize;
                let n = p.p_filesz as usize;
                if !(2..=4096).contains(&n) {
                    return Err(LoadError::NotExecutable);
                }
                let bytes = image.get(s..s.saturating_add(n)).ok_or(LoadError::NotExecutable)?;
                if bytes[n - 1] != 0 {
                    return Err(LoadError::NotExecutable);
                }
                interp = Some(bytes[..n - 1].split(|&b| b == 0).next().unwrap_or(&[]).to_vec());
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
        dynamic: h.e_type == abi::ET_DYN,
    })
}

/// Find the dynamic symbol `name` of the ELF shared object `image` (a vDSO) as glibc finds
/// vDSO symbols: through the program headers (PT_DYNAMIC, then DT_SYMTAB, DT_STRTAB, and DT_HASH
/// for the number of symbols), never the section headers. With `version`, the symbol's version
/// (DT_VERSYM, DT_VERDEF) must have that name. Returns the symbol's value, the address relative
/// to where the image's first byte is mapped when it is linked at 0, as vDSOs are. Only defined
/// functions and untyped symbols of global or weak binding count. `None` for a malformed image.
pub fn dynamic_symbol(image: &[u8], name: &[u8], version: Option<&[u8]>) -> Option<usize> {
    let u16_at = |o: usize| Some(u16::from_le_bytes(image.get(o..o.checked_add(2)?)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(image.get(o..o.checked_add(4)?)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(image.get(o..o.checked_add(8)?)?.try_into().ok()?));
    if image.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let (phoff, phent, phnum) = (u64_at(32)? as usize, u16_at(54)? as usize, u16_at(56)? as usize);
    // (Offsets computed below start inside the image, so adding small constants cannot overflow.)
    if phoff > image.len() {
        return None;
    }
    let ph = |i: usize| phoff.checked_add(i.checked_mul(phent)?);
    // File offset of `len` bytes at address `va`, inside a PT_LOAD's file bytes.
    let off = |va: u64, len: u64| -> Option<usize> {
        (0..phnum).find_map(|i| {
            let p = ph(i)?;
            let (vaddr, offset, filesz) = (u64_at(p + 16)?, u64_at(p + 8)?, u64_at(p + 32)?);
            let inside = u32_at(p)? == abi::PT_LOAD && va >= vaddr && va.checked_add(len)? <= vaddr.checked_add(filesz)?;
            let o = va.checked_sub(vaddr)?.checked_add(offset)? as usize;
            (inside && o.checked_add(len as usize)? <= image.len()).then_some(o)
        })
    };
    let dynamic = (0..phnum).find_map(|i| (u32_at(ph(i)?)? == abi::PT_DYNAMIC).then(|| u64_at(ph(i)? + 8)).flatten())? as usize;
    if dynamic > image.len() {
        return None;
    }
    let (mut symtab, mut strtab, mut strsz, mut hash, mut versym, mut verdef) = (None, None, 0u64, None, None, None);
    for d in (dynamic..).step_by(16).take(1024) {
        let (tag, val) = (u64_at(d)? as i64, u64_at(d + 8)?);
        match tag {
            abi::DT_NULL => break,
            abi::DT_SYMTAB => symtab = Some(val),
            abi::DT_STRTAB => strtab = Some(val),
            abi::DT_STRSZ => strsz = val,
            abi::DT_HASH => hash = Some(val),
            abi::DT_VERSYM => versym = Some(val),
            abi::DT_VERDEF => verdef = Some(val),
            _ => {}
        }
    }
    let strtab = off(strtab?, strsz)?;
    let str_at = |o: u32| -> Option<&[u8]> {
        let s = image.get(strtab.checked_add(o as usize)?..strtab.checked_add(strsz as usize)?)?;
        Some(&s[..s.iter().position(|&b| b == 0)?])
    };
    let nsyms = u32_at(off(hash?, 8)? + 4)? as u64; // nchain: one chain entry per symbol
    let symtab = off(symtab?, nsyms.checked_mul(24)?)?;
    let versym = match versym {
        Some(v) => Some(off(v, nsyms * 2)?),
        None => None,
    };
    for i in 1..nsyms as usize {
        let s = symtab + i * 24;
        let (info, shndx, value) = (*image.get(s + 4)?, u16_at(s + 6)?, u64_at(s + 8)?);
        let (bind, kind) = (info >> 4, info & 0xf);
        let wanted = shndx != abi::SHN_UNDEF
            && matches!(bind, abi::STB_GLOBAL | abi::STB_WEAK)
            && matches!(kind, abi::STT_FUNC | abi::STT_NOTYPE);
        if !wanted || str_at(u32_at(s)?)? != name {
            continue;
        }
        let Some(want) = version else { return Some(value as usize) };
        // The version index of the symbol, then the definition with that index.
        let ndx = u16_at(versym? + i * 2)? & 0x7fff;
        let mut vd = off(verdef?, 20)?;
        for _ in 0..1024 {
            if u16_at(vd + 4)? == ndx {
                let aux = vd.checked_add(u32_at(vd + 12)? as usize)?;
                if str_at(u32_at(aux)?)? == want {
                    return Some(value as usize);
                }
                break;
            }
            match u32_at(vd + 16)? {
                0 => break,
                next => vd = vd.checked_add(next as usize).filter(|&v| v < image.len())?,
            }
        }
    }
    None
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

    /// A minimal shared object linked at 0: one PT_LOAD over the file, PT_DYNAMIC, symbols
    /// `foo` (defined, version V_1) and `bar` (undefined), DT_HASH, DT_VERSYM, DT_VERDEF.
    fn tiny_dso() -> Vec<u8> {
        let mut f = vec![0u8; 0x400];
        let put = |f: &mut Vec<u8>, o: usize, b: &[u8]| f[o..o + b.len()].copy_from_slice(b);
        let p16 = |f: &mut Vec<u8>, o: usize, v: u16| put(f, o, &v.to_le_bytes());
        let p32 = |f: &mut Vec<u8>, o: usize, v: u32| put(f, o, &v.to_le_bytes());
        let p64 = |f: &mut Vec<u8>, o: usize, v: u64| put(f, o, &v.to_le_bytes());
        put(&mut f, 0, b"\x7fELF\x02\x01\x01");
        p16(&mut f, 16, 3); // ET_DYN
        p16(&mut f, 18, 243);
        p64(&mut f, 32, 64); // phoff
        p16(&mut f, 54, 56);
        p16(&mut f, 56, 2);
        // PT_LOAD over the whole file, then PT_DYNAMIC at 0x100.
        p32(&mut f, 64, 1);
        p32(&mut f, 68, 5);
        p64(&mut f, 64 + 32, 0x400);
        p64(&mut f, 64 + 40, 0x400);
        p32(&mut f, 120, 2);
        p64(&mut f, 120 + 8, 0x100);
        p64(&mut f, 120 + 16, 0x100);
        p64(&mut f, 120 + 32, 0x70);
        let dynamic: [(i64, u64); 7] = [
            (abi::DT_SYMTAB, 0x280),
            (abi::DT_STRTAB, 0x200),
            (abi::DT_STRSZ, 0x20),
            (abi::DT_HASH, 0x240),
            (abi::DT_VERSYM, 0x300),
            (abi::DT_VERDEF, 0x320),
            (abi::DT_NULL, 0),
        ];
        for (i, (t, v)) in dynamic.iter().enumerate() {
            p64(&mut f, 0x100 + i * 16, *t as u64);
            p64(&mut f, 0x108 + i * 16, *v);
        }
        put(&mut f, 0x200, b"\0foo\0bar\0V_1\0base\0");
        p32(&mut f, 0x240, 1); // nbucket
        p32(&mut f, 0x244, 3); // nchain = symbols
        // Symbols 1 (foo: FUNC GLOBAL, section 5, 0x1234) and 2 (bar: undefined).
        p32(&mut f, 0x298, 1);
        f[0x298 + 4] = (abi::STB_GLOBAL << 4) | abi::STT_FUNC;
        p16(&mut f, 0x298 + 6, 5);
        p64(&mut f, 0x298 + 8, 0x1234);
        p32(&mut f, 0x2b0, 5);
        f[0x2b0 + 4] = (abi::STB_GLOBAL << 4) | abi::STT_FUNC;
        p16(&mut f, 0x302, 2); // versym: foo has version index 2
        p16(&mut f, 0x304, 1);
        // Verdef 1 (the file, "base"), then verdef 2 ("V_1"), each with one aux right after.
        for (at, ndx, name, next) in [(0x320, 1u16, 13u32, 28u32), (0x33c, 2, 9, 0)] {
            p16(&mut f, at, 1);
            p16(&mut f, at + 4, ndx);
            p16(&mut f, at + 6, 1);
            p32(&mut f, at + 12, 20);
            p32(&mut f, at + 16, next);
            p32(&mut f, at + 20, name);
        }
        f
    }

    #[test]
    fn finds_versioned_dynamic_symbols() {
        let f = tiny_dso();
        assert_eq!(dynamic_symbol(&f, b"foo", Some(b"V_1")), Some(0x1234));
        assert_eq!(dynamic_symbol(&f, b"foo", None), Some(0x1234));
        assert_eq!(dynamic_symbol(&f, b"foo", Some(b"V_2")), None);
        assert_eq!(dynamic_symbol(&f, b"foo", Some(b"base")), None);
        assert_eq!(dynamic_symbol(&f, b"bar", None), None, "undefined symbols do not count");
        assert_eq!(dynamic_symbol(&f, b"fo", None), None);
        // Truncated or corrupted images give None, never a panic.
        for n in 0..f.len() {
            let _ = dynamic_symbol(&f[..n], b"foo", Some(b"V_1"));
        }
        for i in 0..f.len() {
            let mut g = f.clone();
            g[i] ^= 0xff;
            let _ = dynamic_symbol(&g, b"foo", Some(b"V_1"));
        }
    }

    /// The real vDSO (build/vdso.so, built by scripts/build-vdso.sh before the host tests in
    /// `make test`): its five symbols under LINUX_4.15, inside its text.
    #[test]
    fn finds_the_vdso_symbols() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../build/vdso.so");
        let Ok(f) = std::fs::read(path) else {
            eprintln!("{path} not built: skipped");
            return;
        };
        let syms = ["__vdso_rt_sigreturn", "__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_clock_getres", "__vdso_getcpu"];
        for s in syms {
            let v = dynamic_symbol(&f, s.as_bytes(), Some(b"LINUX_4.15")).unwrap_or_else(|| panic!("{s} missing"));
            assert!(v > 0 && v < f.len(), "{s} at {v:#x}");
        }
        let sr = dynamic_symbol(&f, b"__vdso_rt_sigreturn", None).unwrap();
        // li a7, 139; ecall
        assert_eq!(&f[sr..sr + 8], &[0x93, 0x08, 0xb0, 0x08, 0x73, 0x00, 0x00, 0x00]);
        assert_eq!(dynamic_symbol(&f, b"__vdso_clock_gettime", Some(b"LINUX_2.6")), None);
        assert_eq!(dynamic_symbol(&f, b"_vdso_data", None), None, "internal symbols stay local");
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
        // From its first 120 bytes (headers) with the file's real length: the same plan,
        // section headers past the head notwithstanding.
        f[40..48].copy_from_slice(&0xc0u64.to_le_bytes()); // shoff
        f[58..60].copy_from_slice(&64u16.to_le_bytes()); // shentsize
        f[60..62].copy_from_slice(&1u16.to_le_bytes()); // shnum
        assert_eq!(head_len(&f), Some(120));
        assert_eq!(plan_head(&f[..120], f.len(), 0).unwrap(), pl);
        // A segment past the end of the file is refused.
        assert_eq!(plan_head(&f[..120], 0xff, 0), Err(LoadError::NotExecutable));
        assert_eq!(head_len(b"#!/bin/sh\n"), None);
        assert_eq!(head_len(&f[..40]), None);
    }

    #[test]
    fn plans_a_dynamic_executable_with_its_interpreter() {
        // ET_DYN with PT_INTERP then one PT_LOAD: the path is read, the bias is applied.
        let mut f = vec![0u8; 0x200];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[6] = 1;
        f[16..18].copy_from_slice(&3u16.to_le_bytes()); // ET_DYN
        f[18..20].copy_from_slice(&243u16.to_le_bytes());
        f[24..32].copy_from_slice(&0x120u64.to_le_bytes());
        f[32..40].copy_from_slice(&64u64.to_le_bytes());
        f[54..56].copy_from_slice(&56u16.to_le_bytes());
        f[56..58].copy_from_slice(&2u16.to_le_bytes());
        let interp = b"/lib/ld-linux-riscv64-lp64d.so.1\0";
        f[0x180..0x180 + interp.len()].copy_from_slice(interp);
        let p = 64;
        f[p..p + 4].copy_from_slice(&3u32.to_le_bytes()); // PT_INTERP
        f[p + 8..p + 16].copy_from_slice(&0x180u64.to_le_bytes());
        f[p + 32..p + 40].copy_from_slice(&(interp.len() as u64).to_le_bytes());
        let p = 64 + 56;
        f[p..p + 4].copy_from_slice(&1u32.to_le_bytes());
        f[p + 4..p + 8].copy_from_slice(&5u32.to_le_bytes());
        f[p + 32..p + 40].copy_from_slice(&0x200u64.to_le_bytes());
        f[p + 40..p + 48].copy_from_slice(&0x200u64.to_le_bytes());
        let pl = plan(&f, 0x4000_0000).unwrap();
        assert_eq!(pl.interp.as_deref(), Some(&b"/lib/ld-linux-riscv64-lp64d.so.1"[..]));
        assert_eq!(pl.entry, 0x4000_0120);
        assert_eq!(pl.segments[0].vaddr, 0x4000_0000);
        assert_eq!(pl.phdr, 0x4000_0040);
    }
}
