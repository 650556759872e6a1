//! Socket system calls: socket, socketpair, bind, listen, accept, accept4, connect,
//! getsockname, getpeername, sendto, recvfrom, sendmsg, recvmsg, shutdown, setsockopt,
//! getsockopt. AF_UNIX only (`net::unix`); other families are EAFNOSUPPORT until Velox has a
//! network stack. read/write/readv/writev/poll on a socket come here through `fs` and `poll`.

use super::fs::{file, nofile};
use super::{Args, Fast, ret, uaccess};
use crate::fs::pipe::Io;
use crate::fs::{FileKind, FileRef, OpenFile};
use crate::net::unix::{self, Passed, Recv, Send, Type, Ucred, UnixSocket, UserBufs};
use crate::task::{Thread, signal};
use alloc::sync::Arc;
use alloc::vec::Vec;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use linux_raw_sys::net as n;
use velox_hal::trap::UserContext;

/// A wait a signal interrupted (restarted by SA_RESTART, as Linux's sockets without timeouts).
const RESTART: u32 = (-signal::ERESTARTSYS) as u32;
/// Largest iovec count (UIO_MAXIOV).
const IOV_MAX: usize = 1024;
/// Largest msg_controllen accepted (Linux's net.core.optmem_max).
const OPTMEM_MAX: usize = 131_072;

/// The socket open at `fd` (EBADF, ENOTSOCK).
fn sock(t: &Thread, fd: usize) -> Result<(FileRef, Arc<UnixSocket>), u32> {
    let f = file(t, fd)?;
    match &f.kind {
        FileKind::Socket(s) => {
            let s = s.clone();
            Ok((f, s))
        }
        _ => Err(errno::ENOTSOCK),
    }
}

/// The caller's credentials as SO_PEERCRED shows them.
fn ucred(t: &Thread) -> Ucred {
    let c = *t.process.cred.lock();
    Ucred { pid: t.process.pid as i32, uid: c.uid.e, gid: c.gid.e }
}

/// Put `f` in the lowest free descriptor.
fn install(t: &Thread, f: FileRef, cloexec: bool) -> Result<usize, u32> {
    let lim = nofile(t);
    t.process.fds.lock().insert(f, cloexec, 0, lim)
}

/// The type and flags of socket(2)/socketpair(2): EAFNOSUPPORT for families other than
/// AF_UNIX, EINVAL for unknown flags, ESOCKTNOSUPPORT for unknown types (SOCK_RAW is a
/// datagram socket, as in Linux's unix_create), EPROTONOSUPPORT for a protocol other than 0.
fn socket_args(domain: u32, ty: u32, proto: u32) -> Result<(Type, u32), u32> {
    if domain != n::AF_UNIX {
        return Err(errno::EAFNOSUPPORT);
    }
    let flags = ty & !0xf;
    if flags & !(g::O_NONBLOCK | g::O_CLOEXEC) != 0 || ty & 0xf >= 11 {
        return Err(errno::EINVAL); // (11: SOCK_MAX)
    }
    let kind = match ty & 0xf {
        n::SOCK_RAW => Type::Dgram,
        t => Type::from_raw(t).ok_or(errno::ESOCKTNOSUPPORT)?,
    };
    if proto != 0 && proto != n::AF_UNIX {
        return Err(errno::EPROTONOSUPPORT);
    }
    Ok((kind, flags))
}

/// A new open file for socket `s`.
fn open(s: Arc<UnixSocket>, flags: u32) -> FileRef {
    OpenFile::new(FileKind::Socket(s), g::O_RDWR | (flags & g::O_NONBLOCK))
}

/// Admit a new socket only above the heap reserve.
fn heap_ok() -> Result<(), u32> {
    if crate::mm::heap_free() < crate::config::HEAP_RESERVE + 4096 { Err(errno::ENOBUFS) } else { Ok(()) }
}

/// socket(domain, type, protocol).
pub fn socket(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let (ty, flags) = socket_args(c.arg(0) as u32, c.arg(1) as u32, c.arg(2) as u32)?;
        heap_ok()?;
        let f = open(UnixSocket::new(ty, ucred(t)), flags);
        install(t, f, flags & g::O_CLOEXEC != 0).map(|fd| fd as isize)
    })()))
}

/// socketpair(domain, type, protocol, sv).
pub fn socketpair(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let (ty, flags) = socket_args(c.arg(0) as u32, c.arg(1) as u32, c.arg(2) as u32)?;
        heap_ok()?;
        let (a, b) = UnixSocket::pair(ty, ucred(t));
        let cloexec = flags & g::O_CLOEXEC != 0;
        let lim = nofile(t);
        let (x, y) = {
            let mut fds = t.process.fds.lock();
            let x = fds.insert(open(a, flags), cloexec, 0, lim)?;
            match fds.insert(open(b, flags), cloexec, 0, lim) {
                Ok(y) => (x, y),
                Err(e) => {
                    drop(fds.take(x));
                    return Err(e);
                }
            }
        };
        if let Err(e) = uaccess::write(c.arg(3), &[x as i32, y as i32]) {
            let mut fds = t.process.fds.lock();
            let (fa, fb) = (fds.take(x), fds.take(y));
            drop(fds);
            drop((fa, fb));
            return Err(e);
        }
        Ok(0)
    })()))
}

/// Read a sockaddr of `len` bytes from user memory (EINVAL past `sockaddr_un`'s size).
fn read_addr(ptr: usize, len: usize) -> Result<Vec<u8>, u32> {
    if len as i32 as isize != len as isize || (len as i32) < 0 || len > size_of::<n::sockaddr_un>() {
        return Err(errno::EINVAL);
    }
    let mut b = alloc::vec![0u8; len];
    uaccess::read_bytes(ptr, &mut b)?;
    Ok(b)
}

/// The socket a `sockaddr_un` names: ENOENT/ENOTDIR... from the path walk, EACCES without
/// write permission on the socket file, ECONNREFUSED if nothing is bound there.
fn target(t: &Thread, raw: &[u8]) -> Result<Arc<UnixSocket>, u32> {
    match unix::parse_addr(raw)? {
        None => Err(errno::EINVAL),
        Some((true, name)) => UnixSocket::find(None, Some(&name)).ok_or(errno::ECONNREFUSED),
        Some((false, path)) => {
            let c = super::path::Caller::of(t);
            let l = c.lookup(t, g::AT_FDCWD, &path, true, false)?;
            if !velox_vfs::may_mode(l.inode.perm(), &c.who(), velox_vfs::MAY_WRITE) {
                return Err(errno::EACCES);
            }
            if l.inode.kind() != velox_vfs::FileType::Socket {
                return Err(errno::ECONNREFUSED);
            }
            UnixSocket::find(Some(l.inode.id()), None).ok_or(errno::ECONNREFUSED)
        }
    }
}

/// bind(fd, addr, addrlen): a path makes a socket node (EADDRINUSE if the name exists), an
/// abstract name must be free, an address of only the family picks an abstract name.
pub fn bind(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let (_, s) = sock(t, c.arg(0))?;
        let raw = read_addr(c.arg(1), c.arg(2))?;
        match unix::parse_addr(&raw)? {
            None => s.bind_abstract(None)?,
            Some((true, name)) => s.bind_abstract(Some(name))?,
            Some((false, path)) => {
                if s.is_bound() {
                    return Err(errno::EINVAL);
                }
                match super::path::make_path(t, g::AT_FDCWD, &path, velox_vfs::FileType::Socket, 0o777, 0, b"") {
                    Ok(_) => {}
                    Err(errno::EEXIST) => return Err(errno::EADDRINUSE),
                    Err(e) => return Err(e),
                }
                let l = super::path::Caller::of(t).lookup(t, g::AT_FDCWD, &path, false, false)?;
                s.bind_inode(l.inode.id(), &path)?;
            }
        }
        Ok(0)
    })()))
}

/// listen(fd, backlog).
pub fn listen(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret(sock(t, c.arg(0)).and_then(|(_, s)| s.listen(c.arg(1) as i32, ucred(t))).map(|_| 0)))
}

/// Write a socket address (`sun_path` bytes; `None`: only the family) to `ptr`, at most the
/// length `*lenp` says, and its real length to `*lenp`.
fn put_addr(ptr: usize, lenp: usize, path: Option<&[u8]>) -> Result<(), u32> {
    if ptr == 0 || lenp == 0 {
        return Ok(());
    }
    let room: i32 = uaccess::read(lenp)?;
    if room < 0 {
        return Err(errno::EINVAL);
    }
    let mut b = Vec::with_capacity(2 + path.map_or(0, |p| p.len()));
    b.extend_from_slice(&(n::AF_UNIX as u16).to_ne_bytes());
    if let Some(p) = path {
        b.extend_from_slice(p);
    }
    uaccess::write_bytes(ptr, &b[..b.len().min(room as usize)])?;
    uaccess::write(lenp, &(b.len() as i32))
}

/// getsockname(fd, addr, addrlen).
pub fn getsockname(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret(sock(t, c.arg(0)).and_then(|(_, s)| put_addr(c.arg(1), c.arg(2), s.name().as_deref())).map(|_| 0)))
}

/// getpeername(fd, addr, addrlen).
pub fn getpeername(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret(sock(t, c.arg(0)).and_then(|(_, s)| s.peer_name()).and_then(|p| put_addr(c.arg(1), c.arg(2), p.as_deref())).map(|_| 0)))
}

/// shutdown(fd, how).
pub fn shutdown(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret(sock(t, c.arg(0)).and_then(|(_, s)| s.shutdown(c.arg(1) as u32)).map(|_| 0)))
}

/// setsockopt(fd, level, name, value, len): SO_SNDBUF, SO_RCVBUF (and their privileged
/// FORCE forms); SO_REUSEADDR, SO_KEEPALIVE, SO_BROADCAST, SO_LINGER are kept and reported
/// (they change nothing for AF_UNIX, on Linux either); other options are ENOPROTOOPT (not
/// implemented: SO_PASSCRED, the timeouts...), other levels EOPNOTSUPP (AF_UNIX has none).
pub fn setsockopt(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let (_, s) = sock(t, c.arg(0))?;
        let (level, name, val, len) = (c.arg(1) as u32, c.arg(2) as u32, c.arg(3), c.arg(4) as u32);
        if level != n::SOL_SOCKET {
            return Err(errno::EOPNOTSUPP);
        }
        let int = || -> Result<u32, u32> {
            if (len as i32) < size_of::<i32>() as i32 {
                return Err(errno::EINVAL);
            }
            uaccess::read::<u32>(val)
        };
        match name {
            n::SO_SNDBUF | n::SO_RCVBUF => s.set_bufsize(name == n::SO_RCVBUF, int()?),
            n::SO_SNDBUFFORCE | n::SO_RCVBUFFORCE => {
                let v = int()?;
                if !t.process.cred.lock().privileged() {
                    return Err(errno::EPERM);
                }
                s.set_bufsize(name == n::SO_RCVBUFFORCE, v)
            }
            n::SO_REUSEADDR | n::SO_KEEPALIVE | n::SO_BROADCAST => {
                let v = int()? != 0;
                s.with_flags(|f| match name {
                    n::SO_REUSEADDR => f.reuseaddr = v,
                    n::SO_KEEPALIVE => f.keepalive = v,
                    _ => f.broadcast = v,
                })
            }
            n::SO_LINGER => {
                if (len as i32) < 8 {
                    return Err(errno::EINVAL);
                }
                let l: [i32; 2] = uaccess::read(val)?;
                s.with_flags(|f| f.linger = (l[0] != 0, l[1]))
            }
            _ => return Err(errno::ENOPROTOOPT),
        }
        Ok(0)
    })()))
}

/// getsockopt(fd, level, name, value, len).
pub fn getsockopt(t: &Thread, c: &UserContext) -> Fast {
    Fast::Done(ret((|| {
        let (_, s) = sock(t, c.arg(0))?;
        let (level, name, val, lenp) = (c.arg(1) as u32, c.arg(2) as u32, c.arg(3), c.arg(4));
        if level != n::SOL_SOCKET {
            return Err(errno::EOPNOTSUPP);
        }
        let room: i32 = uaccess::read(lenp)?;
        if room < 0 {
            return Err(errno::EINVAL);
        }
        let mut buf = [0u8; 12];
        let len = match name {
            n::SO_LINGER => {
                let (on, secs) = s.with_flags(|f| f.linger);
                buf[..4].copy_from_slice(&(on as i32).to_ne_bytes());
                buf[4..8].copy_from_slice(&secs.to_ne_bytes());
                8
            }
            n::SO_PEERCRED => {
                let u = s.peer_cred();
                buf[..4].copy_from_slice(&u.pid.to_ne_bytes());
                buf[4..8].copy_from_slice(&u.uid.to_ne_bytes());
                buf[8..].copy_from_slice(&u.gid.to_ne_bytes());
                12
            }
            _ => {
                let v: u32 = match name {
                    n::SO_TYPE => s.ty.raw(),
                    n::SO_PROTOCOL => 0,
                    n::SO_DOMAIN => n::AF_UNIX,
                    n::SO_ERROR => s.take_error(),
                    n::SO_ACCEPTCONN => s.listening() as u32,
                    n::SO_SNDBUF => s.bufsize(false),
                    n::SO_RCVBUF => s.bufsize(true),
                    n::SO_PASSCRED => 0,
                    n::SO_REUSEADDR => s.with_flags(|f| f.reuseaddr) as u32,
                    n::SO_KEEPALIVE => s.with_flags(|f| f.keepalive) as u32,
                    n::SO_BROADCAST => s.with_flags(|f| f.broadcast) as u32,
                    _ => return Err(errno::ENOPROTOOPT),
                };
                buf[..4].copy_from_slice(&v.to_ne_bytes());
                4
            }
        };
        let k = len.min(room as usize);
        uaccess::write_bytes(val, &buf[..k])?;
        uaccess::write(lenp, &(k as i32))?;
        Ok(0)
    })()))
}

/// A socket call's future moved to the heap: the blocking calls' state (message header,
/// buffers, received descriptors, the wait) is larger than the arena block a handler's
/// future may use. ENOBUFS when the heap is down to its reserve.
fn boxed<F: core::future::Future>(f: F) -> Result<core::pin::Pin<alloc::boxed::Box<F>>, u32> {
    if crate::mm::heap_free() < crate::config::HEAP_RESERVE + size_of::<F>() {
        return Err(errno::ENOBUFS);
    }
    Ok(alloc::boxed::Box::pin(f))
}

/// Park until `check` holds on `q`'s wait queue, or a signal ends the wait (RESTART).
async fn wait_on(t: &Thread, q: &UnixSocket, check: impl Fn() -> bool) -> Result<(), u32> {
    q.wait.wait_until(|| if check() { Some(Ok(())) } else if t.signal_pending() || t.is_exiting() { Some(Err(RESTART)) } else { None }).await
}

/// Park until `s` has something to read (or an error or end-of-file).
async fn wait_readable(t: &Thread, s: &UnixSocket) -> Result<(), u32> {
    let want = (g::POLLIN | g::POLLERR | g::POLLHUP) as u16;
    wait_on(t, s, || s.poll(None) & want != 0).await
}

/// Park until `target` has `need` bytes of room (`UnixSocket::send_need`).
async fn wait_room(t: &Thread, target: &UnixSocket, need: usize) -> Result<(), u32> {
    wait_on(t, target, || target.can_take(need)).await
}

/// connect(fd, addr, addrlen).
pub async fn connect(t: Arc<Thread>, a: Args) -> isize {
    let r = async move {
        let (f, s) = sock(&t, a.0[0])?;
        let raw = read_addr(a.0[1], a.0[2])?;
        if s.ty == Type::Dgram {
            // AF_UNSPEC dissolves the association.
            if raw.len() >= 2 && u16::from_ne_bytes([raw[0], raw[1]]) as u32 == n::AF_UNSPEC {
                return s.connect_dgram(None);
            }
            let to = target(&t, &raw)?;
            return s.connect_dgram(Some(to));
        }
        let l = target(&t, &raw)?;
        loop {
            match s.connect(&l, ucred(&t)) {
                Send::Done(_) => return Ok(()),
                Send::Err(e) => return Err(e),
                Send::Block(_) if f.nonblocking() => return Err(errno::EAGAIN),
                Send::Block(l) => wait_on(&t, &l, || l.can_connect()).await?,
                Send::Retry => crate::exec::yield_now().await,
            }
            if t.is_exiting() || t.signal_pending() {
                return Err(RESTART);
            }
        }
    };
    match boxed(r) {
        Ok(r) => ret(r.await.map(|_| 0)),
        Err(e) => ret(Err(e)),
    }
}

/// accept4(fd, addr, addrlen, flags): SOCK_NONBLOCK, SOCK_CLOEXEC.
pub async fn accept4(t: Arc<Thread>, a: Args) -> isize {
    let r = async move {
        let (f, s) = sock(&t, a.0[0])?;
        let flags = a.0[3] as u32;
        if flags & !(g::O_NONBLOCK | g::O_CLOEXEC) != 0 {
            return Err(errno::EINVAL);
        }
        if s.ty == Type::Dgram {
            return Err(errno::EOPNOTSUPP);
        }
        let c = loop {
            match s.accept()? {
                Some(c) => break c,
                None if f.nonblocking() => return Err(errno::EAGAIN),
                // (`accept_ready` holds exactly when accept will not answer None.)
                None => wait_on(&t, &s, || s.accept_ready()).await?,
            }
        };
        let peer = c.peer_name_raw();
        let lim = nofile(&t);
        let r = t.process.fds.lock().insert_with(|| open(c.clone(), flags), flags & g::O_CLOEXEC != 0, 0, lim);
        let fd = match r {
            Ok(fd) => fd,
            Err(e) => {
                // No descriptor (EMFILE): the connection stays queued, as on Linux (the open
                // file is made only once a slot is sure).
                s.unaccept(c);
                return Err(e);
            }
        };
        // As Linux: a bad address buffer fails the call after the connection was taken.
        if let Err(e) = put_addr(a.0[1], a.0[2], peer.as_deref()) {
            drop(t.process.fds.lock().take(fd));
            return Err(e);
        }
        Ok(fd as isize)
    };
    match boxed(r) {
        Ok(r) => ret(r.await),
        Err(e) => ret(Err(e)),
    }
}

/// accept(fd, addr, addrlen).
pub async fn accept(t: Arc<Thread>, a: Args) -> isize {
    accept4(t, Args([a.0[0], a.0[1], a.0[2], 0, 0, 0])).await
}

/// Read a user iovec array (EINVAL past IOV_MAX or a total past isize::MAX).
fn read_iov(iov: usize, cnt: usize) -> Result<Vec<(usize, usize)>, u32> {
    if cnt > IOV_MAX {
        return Err(errno::EMSGSIZE);
    }
    let mut v = Vec::new();
    v.try_reserve_exact(cnt).map_err(|_| errno::ENOMEM)?;
    let mut total = 0usize;
    for i in 0..cnt {
        let e: velox_abi::Iovec = uaccess::read(iov + i * size_of::<velox_abi::Iovec>())?;
        total = total.checked_add(e.iov_len).filter(|&x| x <= isize::MAX as usize).ok_or(errno::EINVAL)?;
        if e.iov_base.checked_add(e.iov_len).is_none_or(|end| end > velox_hal::USER_END) {
            return Err(errno::EFAULT);
        }
        v.push((e.iov_base, e.iov_len));
    }
    Ok(v)
}

/// SCM_RIGHTS descriptors of a sendmsg's control buffer (other SOL_SOCKET messages EINVAL,
/// other levels ignored, as Linux's __scm_send for AF_UNIX).
fn read_control(t: &Thread, ptr: usize, len: usize) -> Result<Option<Passed>, u32> {
    if len == 0 {
        return Ok(None);
    }
    if len > OPTMEM_MAX {
        return Err(errno::ENOBUFS);
    }
    let mut buf = Vec::new();
    buf.try_reserve_exact(len).map_err(|_| errno::ENOMEM)?;
    buf.resize(len, 0);
    uaccess::read_bytes(ptr, &mut buf)?;
    let hdr = size_of::<velox_abi::Cmsghdr>();
    let mut files: Vec<FileRef> = Vec::new();
    let mut off = 0;
    while off + hdr <= len {
        let cl = u64::from_ne_bytes(buf[off..off + 8].try_into().expect("8 bytes")) as usize;
        let level = u32::from_ne_bytes(buf[off + 8..off + 12].try_into().expect("4 bytes"));
        let ty = u32::from_ne_bytes(buf[off + 12..off + 16].try_into().expect("4 bytes"));
        if cl < hdr || cl > len - off {
            return Err(errno::EINVAL);
        }
        if level == n::SOL_SOCKET {
            match ty {
                n::SCM_RIGHTS => {
                    // (Several SCM_RIGHTS messages join; an empty one adds nothing.)
                    let k = (cl - hdr) / 4;
                    if files.len() + k > unix::SCM_MAX_FD {
                        return Err(errno::EINVAL);
                    }
                    if files.try_reserve(k).is_err() {
                        return Err(errno::ENOMEM);
                    }
                    let fds = t.process.fds.lock();
                    for i in 0..k {
                        let at = off + hdr + i * 4;
                        let fd = i32::from_ne_bytes(buf[at..at + 4].try_into().expect("4 bytes"));
                        let f = if fd < 0 { None } else { fds.get(fd as usize).cloned() };
                        files.push(f.ok_or(errno::EBADF)?);
                    }
                }
                n::SCM_CREDENTIALS => {
                    // Checked as Linux checks them (the sender's own ids); delivered only to a
                    // receiver with SO_PASSCRED, which Velox does not offer.
                    if cl - hdr != size_of::<velox_abi::Ucred>() {
                        return Err(errno::EINVAL);
                    }
                    let pid = i32::from_ne_bytes(buf[off + 16..off + 20].try_into().expect("4 bytes"));
                    let uid = u32::from_ne_bytes(buf[off + 20..off + 24].try_into().expect("4 bytes"));
                    let gid = u32::from_ne_bytes(buf[off + 24..off + 28].try_into().expect("4 bytes"));
                    let c = *t.process.cred.lock();
                    let ok_uid = [c.uid.r, c.uid.e, c.uid.s].contains(&uid);
                    let ok_gid = [c.gid.r, c.gid.e, c.gid.s].contains(&gid);
                    if !c.privileged() && (pid != t.process.pid as i32 || !ok_uid || !ok_gid) {
                        return Err(errno::EPERM);
                    }
                }
                _ => return Err(errno::EINVAL),
            }
        }
        off += (cl + 7) & !7;
    }
    if files.is_empty() {
        return Ok(None);
    }
    let c = *t.process.cred.lock();
    Passed::new(files, c.uid.r, nofile(t) as u64, c.privileged()).map(Some)
}

/// Send `iov`'s bytes (and `fds`) on `s` (to `to` for a datagram socket), with write's
/// blocking rules: a blocking stream send goes on until everything is sent; SIGPIPE with
/// EPIPE on a stream unless MSG_NOSIGNAL.
async fn send_on(t: &Thread, f: &OpenFile, s: &Arc<UnixSocket>, iov: &[(usize, usize)], flags: u32, mut fds: Option<Passed>, to: Option<Arc<UnixSocket>>) -> Result<usize, u32> {
    if flags & n::MSG_OOB != 0 {
        return Err(errno::EOPNOTSUPP);
    }
    let mut bufs = UserBufs::new(iov);
    let len = bufs.total().min(super::fs::MAX_RW_COUNT);
    let nonblock = f.nonblocking() || flags & n::MSG_DONTWAIT != 0;
    let mut done = 0;
    loop {
        match s.send(&mut bufs, len - done, &mut fds, to.as_ref()) {
            Send::Done(k) => {
                done += k;
                if done == len || s.ty != Type::Stream {
                    return Ok(done);
                }
            }
            Send::Block(_) if nonblock => return if done > 0 { Ok(done) } else { Err(errno::EAGAIN) },
            Send::Block(target) => {
                let need = s.send_need(len - done, fds.is_some());
                if let Err(e) = wait_room(t, &target, need).await {
                    return if done > 0 { Ok(done) } else { Err(e) };
                }
            }
            Send::Retry => crate::exec::yield_now().await,
            Send::Err(e) => {
                // (SIGPIPE only when nothing went: Linux's unix_stream_sendmsg.)
                if e == errno::EPIPE && done == 0 && s.ty == Type::Stream && flags & n::MSG_NOSIGNAL == 0 {
                    super::fs::sigpipe(t);
                }
                return if done > 0 { Ok(done) } else { Err(e) };
            }
        }
        if t.is_exiting() {
            return Ok(done);
        }
    }
}

/// Receive into `iov` from `s`, with read's blocking rules (MSG_WAITALL: a stream read
/// waits for all of it).
async fn recv_on(t: &Thread, f: &OpenFile, s: &UnixSocket, iov: &[(usize, usize)], flags: u32) -> Result<Recv, u32> {
    if flags & n::MSG_OOB != 0 {
        return Err(errno::EOPNOTSUPP);
    }
    let mut bufs = UserBufs::new(iov);
    let len = bufs.total().min(super::fs::MAX_RW_COUNT);
    let nonblock = f.nonblocking() || flags & n::MSG_DONTWAIT != 0;
    let peek = flags & n::MSG_PEEK != 0;
    let waitall = flags & n::MSG_WAITALL != 0 && s.ty == Type::Stream && !peek;
    let mut got: Option<Recv> = None;
    loop {
        let done = got.as_ref().map_or(0, |r| r.n);
        match s.recv(&mut bufs, len - done, peek) {
            Ok(Some(r)) => {
                let Some(g) = &mut got else {
                    // (Passed descriptors end a read, MSG_WAITALL or not, as Linux.)
                    if !waitall || r.n == 0 || r.n == len || r.fds.is_some() {
                        return Ok(r);
                    }
                    got = Some(r);
                    continue;
                };
                g.n += r.n;
                g.full += r.full;
                let fds = r.fds.is_some();
                if g.fds.is_none() {
                    g.fds = r.fds;
                }
                if r.n == 0 || g.n == len || fds {
                    return Ok(got.take().expect("a receive"));
                }
            }
            Ok(None) if nonblock => return got.ok_or(errno::EAGAIN),
            Ok(None) => {
                if let Err(e) = wait_readable(t, s).await {
                    return got.ok_or(e);
                }
            }
            Err(e) => return got.ok_or(e),
        }
    }
}

/// Hand received descriptors to the caller as an SCM_RIGHTS message in (`ptr`, `room`):
/// the bytes of control data used, and MSG_CTRUNC if not all of them fit (the rest are
/// closed, as Linux's scm_detach_fds).
fn put_fds(t: &Thread, ptr: usize, room: usize, p: Passed, cloexec: bool) -> (usize, u32) {
    let hdr = size_of::<velox_abi::Cmsghdr>();
    let fit = if room > hdr { (room - hdr) / 4 } else { 0 };
    let mut fds: Vec<i32> = Vec::new();
    let mut trunc = fit < p.files.len();
    for f in p.files.iter().take(fit) {
        match install(t, f.clone(), cloexec) {
            Ok(fd) => fds.push(fd as i32),
            Err(_) => {
                trunc = true;
                break;
            }
        }
    }
    if fds.is_empty() {
        return (0, if trunc { n::MSG_CTRUNC } else { 0 });
    }
    let cl = hdr + 4 * fds.len();
    let h = velox_abi::Cmsghdr { len: cl as u64, level: n::SOL_SOCKET as i32, ty: n::SCM_RIGHTS as i32 };
    let mut b = Vec::with_capacity(cl);
    b.extend_from_slice(zerocopy::IntoBytes::as_bytes(&h));
    for fd in &fds {
        b.extend_from_slice(&fd.to_ne_bytes());
    }
    if uaccess::write_bytes(ptr, &b).is_err() {
        // Linux leaves the installed descriptors to the caller; they are lost to it here, so close them.
        let mut table = t.process.fds.lock();
        let gone: Vec<_> = fds.iter().map(|&fd| table.take(fd as usize)).collect();
        drop(table);
        drop(gone);
        return (0, n::MSG_CTRUNC);
    }
    (((cl + 7) & !7).min(room), if trunc { n::MSG_CTRUNC } else { 0 })
}

/// A send's explicit destination: a datagram socket's target; a seqpacket socket ignores it
/// and a stream socket refuses it (EISCONN connected, else EOPNOTSUPP), as Linux.
fn dest(t: &Thread, s: &UnixSocket, ptr: usize, len: usize) -> Result<Option<Arc<UnixSocket>>, u32> {
    match s.ty {
        Type::Dgram => Ok(Some(target(t, &read_addr(ptr, len)?)?)),
        Type::SeqPacket => Ok(None),
        Type::Stream => Err(if s.send_target().is_some() || s.peer_name().is_ok() { errno::EISCONN } else { errno::EOPNOTSUPP }),
    }
}

/// sendto(fd, buf, len, flags, addr, addrlen).
pub async fn sendto(t: Arc<Thread>, a: Args) -> isize {
    let r = async move {
        let (f, s) = sock(&t, a.0[0])?;
        let iov = [(a.0[1], a.0[2])];
        if a.0[1].checked_add(a.0[2]).is_none_or(|e| e > velox_hal::USER_END) {
            return Err(errno::EFAULT);
        }
        let to = if a.0[4] != 0 && a.0[5] != 0 { dest(&t, &s, a.0[4], a.0[5])? } else { None };
        send_on(&t, &f, &s, &iov, a.0[3] as u32, None, to).await
    };
    match boxed(r) {
        Ok(r) => ret(r.await.map(|n| n as isize)),
        Err(e) => ret(Err(e)),
    }
}

/// recvfrom(fd, buf, len, flags, addr, addrlen).
pub async fn recvfrom(t: Arc<Thread>, a: Args) -> isize {
    let r = async move {
        let (f, s) = sock(&t, a.0[0])?;
        if a.0[1].checked_add(a.0[2]).is_none_or(|e| e > velox_hal::USER_END) {
            return Err(errno::EFAULT);
        }
        let flags = a.0[3] as u32;
        let r = recv_on(&t, &f, &s, &[(a.0[1], a.0[2])], flags).await?;
        if a.0[4] != 0 && a.0[5] != 0 {
            // A sender without a name: length 0 (Linux's unix_copy_addr).
            match &r.from {
                Some(p) => put_addr(a.0[4], a.0[5], Some(p))?,
                None => uaccess::write(a.0[5], &0i32)?,
            }
        }
        Ok(if flags & n::MSG_TRUNC != 0 && s.ty != Type::Stream { r.full } else { r.n })
    };
    match boxed(r) {
        Ok(r) => ret(r.await.map(|n| n as isize)),
        Err(e) => ret(Err(e)),
    }
}

/// sendmsg(fd, msg, flags).
pub async fn sendmsg(t: Arc<Thread>, a: Args) -> isize {
    let r = async move {
        let (f, s) = sock(&t, a.0[0])?;
        let m: velox_abi::Msghdr = uaccess::read(a.0[1])?;
        let iov = read_iov(m.iov as usize, m.iovlen as usize)?;
        let to = if m.name != 0 && m.namelen != 0 { dest(&t, &s, m.name as usize, m.namelen as usize)? } else { None };
        let fds = read_control(&t, m.control as usize, m.controllen as usize)?;
        send_on(&t, &f, &s, &iov, a.0[2] as u32, fds, to).await
    };
    match boxed(r) {
        Ok(r) => ret(r.await.map(|n| n as isize)),
        Err(e) => ret(Err(e)),
    }
}

/// recvmsg(fd, msg, flags): the sender's address, SCM_RIGHTS descriptors (MSG_CMSG_CLOEXEC),
/// MSG_TRUNC and MSG_CTRUNC in msg_flags.
pub async fn recvmsg(t: Arc<Thread>, a: Args) -> isize {
    let r = async move {
        let (f, s) = sock(&t, a.0[0])?;
        let mp = a.0[1];
        let mut m: velox_abi::Msghdr = uaccess::read(mp)?;
        let flags = a.0[2] as u32;
        let iov = read_iov(m.iov as usize, m.iovlen as usize)?;
        let r = recv_on(&t, &f, &s, &iov, flags).await?;
        let mut out_flags = 0;
        if r.full > r.n && s.ty != Type::Stream {
            out_flags |= n::MSG_TRUNC;
        }
        m.controllen = match r.fds {
            Some(p) if m.control != 0 => {
                let (used, fl) = put_fds(&t, m.control as usize, m.controllen as usize, p, flags & n::MSG_CMSG_CLOEXEC != 0);
                out_flags |= fl;
                used as u64
            }
            Some(_) => {
                out_flags |= n::MSG_CTRUNC;
                0
            }
            None => 0,
        };
        if m.name != 0 {
            // The sender's name (a datagram's; length 0 for an unnamed sender, and for stream
            // data, whose sender Velox does not record).
            m.namelen = match &r.from {
                Some(p) => {
                    let mut b = Vec::with_capacity(2 + p.len());
                    b.extend_from_slice(&(n::AF_UNIX as u16).to_ne_bytes());
                    b.extend_from_slice(p);
                    uaccess::write_bytes(m.name as usize, &b[..b.len().min(m.namelen as usize)])?;
                    b.len() as u32
                }
                None => 0,
            };
        }
        m.flags = out_flags;
        uaccess::write(mp, &m)?;
        Ok(if flags & n::MSG_TRUNC != 0 && s.ty != Type::Stream { r.full } else { r.n })
    };
    match boxed(r) {
        Ok(r) => ret(r.await.map(|n| n as isize)),
        Err(e) => ret(Err(e)),
    }
}

/// One non-blocking read(2) attempt on a socket (descriptors that came along are closed).
pub fn try_read(s: &UnixSocket, buf: usize, len: usize) -> Io {
    let iov = [(buf, len)];
    match s.recv(&mut UserBufs::new(&iov), len, false) {
        Ok(Some(r)) => Io::Done(r.n),
        Ok(None) => Io::WouldBlock,
        Err(e) => Io::Err(e),
    }
}

/// One non-blocking write(2) attempt on a socket.
pub fn try_write(s: &Arc<UnixSocket>, buf: usize, len: usize) -> Io {
    let iov = [(buf, len)];
    match s.send(&mut UserBufs::new(&iov), len, &mut None, None) {
        Send::Done(k) => Io::Done(k),
        Send::Block(_) | Send::Retry => Io::WouldBlock,
        Send::Err(e) => Io::Err(e),
    }
}

/// Park until a read (`write` false) or a write of `len` bytes may progress on `s`.
pub async fn wait_ready(t: &Thread, s: &UnixSocket, write: Option<usize>) -> Result<(), u32> {
    match write {
        None => wait_readable(t, s).await,
        Some(len) => match s.send_target() {
            Some(p) => wait_room(t, &p, s.send_need(len, false)).await,
            None => Ok(()),
        },
    }
}

/// readv/writev on a socket: one message over all the buffers. The future comes boxed (see
/// `boxed`): readv's and writev's own stay small.
#[allow(clippy::type_complexity)]
pub fn rw_vectored<'a>(
    t: &'a Thread,
    f: &'a OpenFile,
    s: &'a Arc<UnixSocket>,
    iov: &'a [(usize, usize)],
    write: bool,
) -> Result<core::pin::Pin<alloc::boxed::Box<impl core::future::Future<Output = Result<usize, u32>> + 'a>>, u32> {
    if write && !f.writable() {
        return Err(errno::EBADF);
    }
    boxed(async move { if write { send_on(t, f, s, iov, 0, None, None).await } else { recv_on(t, f, s, iov, 0).await.map(|r| r.n) } })
}
