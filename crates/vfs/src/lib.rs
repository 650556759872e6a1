//! File-system logic without hardware: the inode interface ([`node`]), tmpfs ([`tmpfs`]), the
//! mount table and path walk ([`path`]), and the initial RAM disk reader (cpio "newc", as made
//! by `cpio -H newc`). Tested on the host.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod lock;
pub mod node;
pub mod path;
pub mod tmpfs;
#[cfg(test)]
mod tests_fs;

pub use node::*;
pub use path::{FileSystem, Loc, Mount, Mounts, StatFs, Walker};

use alloc::vec::Vec;

/// One archive member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpioEntry<'a> {
    /// Path without leading "./" or "/".
    pub name: &'a [u8],
    /// st_mode (file type and permissions).
    pub mode: u32,
    /// Modification time (seconds since the epoch).
    pub mtime: u64,
    /// Device number of a device node (Linux's encoding, see [`makedev`]).
    pub rdev: u64,
    pub data: &'a [u8],
}


/// The archive is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadArchive;

fn hex(b: &[u8]) -> Result<usize, BadArchive> {
    let s = core::str::from_utf8(b).map_err(|_| BadArchive)?;
    usize::from_str_radix(s, 16).map_err(|_| BadArchive)
}

const fn align4(x: usize) -> usize {
    (x + 3) & !3
}

/// Parse a newc archive up to its TRAILER!!! entry.
pub fn parse_cpio(data: &[u8]) -> Result<Vec<CpioEntry<'_>>, BadArchive> {
    let mut out = Vec::new();
    let mut off = 0;
    loop {
        let h = data.get(off..off + 110).ok_or(BadArchive)?;
        if &h[..6] != b"070701" && &h[..6] != b"070702" {
            return Err(BadArchive);
        }
        let mode = hex(&h[14..22])? as u32;
        let mtime = hex(&h[46..54])? as u64;
        let rdev = makedev(hex(&h[78..86])? as u32, hex(&h[86..94])? as u32);
        let filesize = hex(&h[54..62])?;
        let namesize = hex(&h[94..102])?;
        let name_start = off + 110;
        let name = data.get(name_start..name_start + namesize).ok_or(BadArchive)?;
        let name = &name[..namesize.saturating_sub(1)];
        let data_start = align4(name_start + namesize);
        let body = data.get(data_start..data_start + filesize).ok_or(BadArchive)?;
        off = align4(data_start + filesize);
        if name == b"TRAILER!!!" {
            return Ok(out);
        }
        let mut n = name;
        while let Some(rest) = n.strip_prefix(b"./").or_else(|| n.strip_prefix(b"/")) {
            n = rest;
        }
        if n.is_empty() || n == b"." {
            continue;
        }
        out.push(CpioEntry { name: n, mode, mtime, rdev, data: body });
    }
}

/// Normalise `path` relative to `cwd` (both absolute results): resolves ".", ".." and "//".
pub fn normalize(cwd: &[u8], path: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    let full: Vec<&[u8]> = if path.first() == Some(&b'/') {
        path.split(|&c| c == b'/').collect()
    } else {
        cwd.split(|&c| c == b'/').chain(path.split(|&c| c == b'/')).collect()
    };
    for p in full {
        match p {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            _ => parts.push(p),
        }
    }
    let mut out = Vec::new();
    for p in parts {
        out.push(b'/');
        out.extend_from_slice(p);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, mode: u32, body: &[u8]) -> Vec<u8> {
        let mut v = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            1,
            mode,
            0,
            0,
            1,
            0,
            body.len(),
            0,
            0,
            0,
            0,
            name.len() + 1,
            0
        )
        .into_bytes();
        v.extend_from_slice(name.as_bytes());
        v.push(0);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v.extend_from_slice(body);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn parses_newc() {
        let mut a = entry(".", S_IFDIR | 0o755, b"");
        a.extend(entry("./bin", S_IFDIR | 0o755, b""));
        a.extend(entry("bin/hello", S_IFREG | 0o755, b"\x7fELFxyz"));
        a.extend(entry("TRAILER!!!", 0, b""));
        let e = parse_cpio(&a).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].name, b"bin");
        assert_eq!(e[1].name, b"bin/hello");
        assert_eq!(e[1].data, b"\x7fELFxyz");
        assert_eq!(e[1].mode & S_IFMT, S_IFREG);
    }

    #[test]
    fn truncated_archive_is_an_error() {
        let a = entry("bin/hello", S_IFREG, b"abcdef");
        assert_eq!(parse_cpio(&a[..a.len() - 3]), Err(BadArchive));
        assert_eq!(parse_cpio(b"junk"), Err(BadArchive));
    }

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize(b"/", b"bin//ls"), b"/bin/ls");
        assert_eq!(normalize(b"/usr/lib", b"../bin/./x"), b"/usr/bin/x");
        assert_eq!(normalize(b"/", b"/../.."), b"/");
    }
}

