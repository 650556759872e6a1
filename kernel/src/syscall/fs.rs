//! File-descriptor system calls: read, write, writev, ioctl, stat, close, readlinkat.

use super::{Args, Fast, err, ret, uaccess};
use crate::fs::File;
use crate::task::Thread;
use alloc::sync::Arc;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use linux_raw_sys::ioctl;
use velox_hal as hal;
use velox_hal::trap::UserContext;

/// Largest iovec count (UIO_MAXIOV).
const IOV_MAX: usize = 1024;

fn file(t: &Thread, fd: usize) -> Result<File, u32> {
    t.process.fds.lock().get(fd).ok_or(errno::EBADF)
}

/// Write `len` bytes from user `buf` to `f`; returns bytes written.
fn write_file(f: &File, buf: usize, len: usize) -> Result<usize, u32> {
    match f {
        File::Console => {
            let mut chunk = [0u8; 256];
            let mut done = 0;
            while done < len {
                let n = (len - done).min(chunk.len());
                if let Err(e) = uaccess::read_bytes(buf + done, &mut chunk[..n]) {
                    return if done > 0 { Ok(done) } else { Err(e) };
                }
                hal::console::write_bytes(&chunk[..n]);
                done += n;
            }
            Ok(done)
        }
    }
}

pub fn write(t: &Thread, c: &UserContext) -> Fast {
    let (fd, buf, len) = (c.arg(0), c.arg(1), c.arg(2));
    Fast::Done(ret(file(t, fd).and_then(|f| {
        if buf.checked_add(len).is_none_or(|e| e > hal::USER_END) {
            return Err(errno::EFAULT);
        }
        write_file(&f, buf, len).map(|n| n as isize)
    })))
}

pub fn writev(t: &Thread, c: &UserContext) -> Fast {
    let (fd, iov, cnt) = (c.arg(0), c.arg(1), c.arg(2) as isize);
    Fast::Done(ret((|| {
        let f = file(t, fd)?;
        if !(0..=IOV_MAX as isize).contains(&cnt) {
            return Err(errno::EINVAL);
        }
        let mut total = 0usize;
        for i in 0..cnt as usize {
            let v: g::iovec = uaccess::read(iov + i * size_of::<g::iovec>())?;
            let (base, len) = (v.iov_base as usize, v.iov_len as usize);
            if len == 0 {
                continue;
            }
            if base.checked_add(len).is_none_or(|e| e > hal::USER_END) {
                if total > 0 {
                    break;
                }
                return Err(errno::EFAULT);
            }
            match write_file(&f, base, len) {
                Ok(n) => total += n,
                Err(e) if total == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(total as isize)
    })()))
}

/// read: the console delivers what has arrived, waiting (polling every 10 ms) until a byte does.
pub async fn read(t: Arc<Thread>, a: Args) -> isize {
    let (fd, buf, len) = (a.0[0], a.0[1], a.0[2]);
    let f = match file(&t, fd) {
        Ok(f) => f,
        Err(e) => return err(e),
    };
    if buf.checked_add(len).is_none_or(|e| e > hal::USER_END) {
        return err(errno::EFAULT);
    }
    if len == 0 {
        return 0;
    }
    match f {
        File::Console => loop {
            let mut tmp = [0u8; 128];
            let mut n = 0;
            while n < len.min(tmp.len()) {
                match hal::console::try_read_byte() {
                    Some(b) => {
                        tmp[n] = if b == b'\r' { b'\n' } else { b };
                        n += 1;
                    }
                    None => break,
                }
            }
            if n > 0 {
                hal::console::write_bytes(&tmp[..n]); // echo, as a cooked tty would
                return ret(uaccess::write_bytes(buf, &tmp[..n]).map(|_| n as isize));
            }
            crate::time::sleep_until(crate::time::ticks() + crate::time::ns_to_ticks(10_000_000)).await;
        },
    }
}

/// Linux's default termios for a serial console (stty sane, 38400 baud, 8 bits).
fn console_termios() -> g::termios {
    let mut cc = [0u8; 19];
    cc[..17].copy_from_slice(&[3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0]);
    g::termios { c_iflag: 0o2400, c_oflag: 0o5, c_cflag: 0o277, c_lflag: 0o105073, c_line: 0, c_cc: cc }
}

pub fn ioctl(t: &Thread, c: &UserContext) -> Fast {
    let (fd, req, arg) = (c.arg(0), c.arg(1) as u32, c.arg(2));
    Fast::Done(ret((|| match file(t, fd)? {
        File::Console => match req {
            ioctl::TCGETS => uaccess::write(arg, &console_termios()).map(|_| 0),
            ioctl::TCSETS | ioctl::TCSETSW | ioctl::TCSETSF => uaccess::read::<g::termios>(arg).map(|_| 0),
            ioctl::TIOCGWINSZ => {
                uaccess::write(arg, &g::winsize { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 }).map(|_| 0)
            }
            _ => Err(errno::ENOTTY),
        },
    })()))
}

fn stat_of(f: &File) -> g::stat {
    let mut s = g::stat {
        st_dev: 0,
        st_ino: 0,
        st_mode: 0,
        st_nlink: 1,
        st_uid: 0,
        st_gid: 0,
        st_rdev: 0,
        __pad1: 0,
        st_size: 0,
        st_blksize: 4096,
        __pad2: 0,
        st_blocks: 0,
        st_atime: 0,
        st_atime_nsec: 0,
        st_mtime: 0,
        st_mtime_nsec: 0,
        st_ctime: 0,
        st_ctime_nsec: 0,
        __unused4: 0,
        __unused5: 0,
    };
    match f {
        File::Console => {
            s.st_mode = g::S_IFCHR | 0o620;
            s.st_rdev = (5 << 8) | 1; // /dev/console
            s.st_blksize = 1024;
        }
    }
    s
}

pub fn fstat(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret(file(t, c.arg(0)).and_then(|f| uaccess::write(c.arg(1), &stat_of(&f)).map(|_| 0))))
}

/// newfstatat: `AT_EMPTY_PATH` on a descriptor, or a path in the initial RAM disk.
pub fn newfstatat(t: &Thread, c: &UserContext) -> Fast {
    let (dirfd, path, buf, flags) = (c.arg(0) as i32, c.arg(1), c.arg(2), c.arg(3) as u32);
    Fast::Done(ret((|| {
        let p = uaccess::read_cstr(path, 4096)?;
        if p.is_empty() {
            if flags & g::AT_EMPTY_PATH == 0 {
                return Err(errno::ENOENT);
            }
            let f = file(t, dirfd as usize)?;
            return uaccess::write(buf, &stat_of(&f)).map(|_| 0);
        }
        let full = velox_vfs::normalize(b"/", &p);
        let (mode, size) = crate::fs::initrd_stat(&full).ok_or(errno::ENOENT)?;
        let mut s = stat_of(&File::Console);
        s.st_mode = mode;
        s.st_rdev = 0;
        s.st_size = size as i64;
        s.st_blocks = size.div_ceil(512) as i64;
        s.st_blksize = 4096;
        uaccess::write(buf, &s).map(|_| 0)
    })()))
}

pub fn close(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(if t.process.fds.lock().close(c.arg(0)) { 0 } else { err(errno::EBADF) })
}

/// readlinkat: only `/proc/self/exe` exists until procfs does.
pub fn readlinkat(t: &Thread, c: &UserContext) -> Fast {
    let (path, buf, size) = (c.arg(1), c.arg(2), c.arg(3) as isize);
    Fast::Done(ret((|| {
        if size <= 0 {
            return Err(errno::EINVAL);
        }
        let p = uaccess::read_cstr(path, 4096)?;
        if p != b"/proc/self/exe" {
            return Err(errno::ENOENT);
        }
        let exe = &t.process.exe;
        let n = exe.len().min(size as usize);
        uaccess::write_bytes(buf, &exe[..n]).map(|_| n as isize)
    })()))
}
