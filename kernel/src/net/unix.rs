//! AF_UNIX sockets as Linux's `af_unix.c`: stream, datagram and seqpacket sockets, socketpair,
//! names in the file tree and in the abstract namespace, listen/accept/connect, shutdown, and
//! descriptors passed with SCM_RIGHTS.
//!
//! A socket's receive queue is a `velox_net::MsgQueue`; a sender copies into the *peer's* queue
//! and waits on the peer's wait queue when it is full, so each socket has one wait queue, woken
//! whenever its queue or its state changes. Locks: one socket's state at a time, except that
//! `connect` holds the connecting socket's while it takes the listener's (never the reverse:
//! a listener never connects). Nothing here blocks: the calls return `Block` with the socket
//! whose queue to wait on, and `syscall::socket` parks the thread there.

use crate::exec::WaitQueue;
use crate::fs::FileRef;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use linux_raw_sys::errno;
use linux_raw_sys::net as n;
use velox_exec::sync::Mutex;
use velox_net::MsgQueue;

/// A socket's type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Type {
    Stream,
    Dgram,
    SeqPacket,
}

impl Type {
    /// The type for socket(2)'s `type` (flags removed); EPROTONOSUPPORT-style errors are the caller's.
    pub fn from_raw(t: u32) -> Option<Type> {
        match t {
            n::SOCK_STREAM => Some(Type::Stream),
            n::SOCK_DGRAM => Some(Type::Dgram),
            n::SOCK_SEQPACKET => Some(Type::SeqPacket),
            _ => None,
        }
    }
    /// SO_TYPE.
    pub fn raw(self) -> u32 {
        match self {
            Type::Stream => n::SOCK_STREAM,
            Type::Dgram => n::SOCK_DGRAM,
            Type::SeqPacket => n::SOCK_SEQPACKET,
        }
    }
    /// Connection-based (stream, seqpacket).
    fn connected_kind(self) -> bool {
        self != Type::Dgram
    }
}

/// Linux's default socket buffer (net.core.wmem_default): what a receive queue holds.
pub const BUF_SIZE: usize = 212_992;
/// What a queued datagram costs beyond its bytes (Linux counts an skb's truesize).
const DGRAM_OVERHEAD: usize = 512;
/// Most descriptors one SCM_RIGHTS message passes (SCM_MAX_FD).
pub const SCM_MAX_FD: usize = 253;
/// Largest listen backlog (net.core.somaxconn).
const SOMAXCONN: u32 = 4096;

/// A socket's name: a path in the file tree (found by its inode) or an abstract name.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Key {
    Inode(u64, u64),
    Abstract(Vec<u8>),
}

/// A bound name: the key it is found by and the `sun_path` bytes getsockname reports.
#[derive(Clone)]
pub struct Name {
    /// None for an accepted socket (it reports the listener's name but is not found by it).
    key: Option<Key>,
    /// `sun_path` as reported: a path with its NUL, or an abstract name with its leading NUL.
    pub path: Vec<u8>,
}

/// Bound sockets by name.
static NAMES: Mutex<BTreeMap<Key, Weak<UnixSocket>>> = Mutex::new(BTreeMap::new());

/// Credentials as SO_PEERCRED reports them.
#[derive(Clone, Copy, Debug)]
pub struct Ucred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// The credentials of a socket nobody connected (Linux: pid 0, the overflow ids).
const NO_CRED: Ucred = Ucred { pid: 0, uid: 65534, gid: 65534 };

/// Descriptors in flight per user (Linux's `unix_inflight`, limited by RLIMIT_NOFILE).
static INFLIGHT: Mutex<BTreeMap<u32, usize>> = Mutex::new(BTreeMap::new());

/// Socket files in flight (held by some queue's passed descriptors), by the address of their
/// open file description: the file and how many queued references it has. The garbage
/// collector's view (`gc`).
static IN_QUEUES: Mutex<BTreeMap<usize, (Weak<crate::fs::OpenFile>, usize)>> = Mutex::new(BTreeMap::new());

/// Descriptors passed with SCM_RIGHTS, counted against their sender's user while queued.
pub struct Passed {
    pub files: Vec<FileRef>,
    uid: u32,
    /// How many are counted (0: a peek's copy, which counts nothing).
    counted: usize,
}

/// The socket behind an open file, if it is one.
fn socket_of(f: &FileRef) -> Option<&Arc<UnixSocket>> {
    match &f.kind {
        crate::fs::FileKind::Socket(s) => Some(s),
        _ => None,
    }
}

impl Passed {
    /// Count `files` against `uid` (ETOOMANYREFS past `limit` in flight, unless `privileged`),
    /// and the sockets among them as in flight. Collects unreachable socket cycles first.
    pub fn new(files: Vec<FileRef>, uid: u32, limit: u64, privileged: bool) -> Result<Passed, u32> {
        if !IN_QUEUES.lock().is_empty() {
            gc();
        }
        {
            let mut m = INFLIGHT.lock();
            let c = m.entry(uid).or_insert(0);
            if !privileged && (*c + files.len()) as u64 > limit {
                return Err(errno::ETOOMANYREFS);
            }
            *c += files.len();
        }
        let mut q = IN_QUEUES.lock();
        for f in files.iter().filter(|f| socket_of(f).is_some()) {
            q.entry(Arc::as_ptr(f) as usize).or_insert_with(|| (Arc::downgrade(f), 0)).1 += 1;
        }
        drop(q);
        let counted = files.len();
        Ok(Passed { files, uid, counted })
    }
}

/// Drop passed descriptors without recursion: closing a socket that holds passed sockets
/// closes those (and theirs, a chain as long as a program makes it). The first caller on the
/// way down drains the list; nested calls only add to it.
fn drop_later(v: Vec<Passed>) {
    static LATER: Mutex<Vec<Vec<Passed>>> = Mutex::new(Vec::new());
    static DRAINING: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    if v.is_empty() {
        return;
    }
    {
        let mut l = LATER.lock();
        if l.try_reserve(1).is_err() {
            drop(l);
            drop(v); // (no heap for the list: drop it here, recursing)
            return;
        }
        l.push(v);
    }
    loop {
        if DRAINING.swap(true, Ordering::Acquire) {
            return; // an outer call (this hart's, or another's) drains it
        }
        loop {
            let batch = core::mem::take(&mut *LATER.lock());
            if batch.is_empty() {
                break;
            }
            drop(batch);
        }
        DRAINING.store(false, Ordering::Release);
        // (Something added between the last look and the store: drain it too.)
        if LATER.lock().is_empty() {
            return;
        }
    }
}

/// Collect unreachable cycles of passed sockets, as Linux's unix_gc: a socket file whose every
/// reference is in some queue (no descriptor, no call in progress holds it) is a candidate;
/// candidates referred to from queues of non-candidates are alive, and so is everything in
/// their queues; the other candidates' queues are emptied, which frees the cycle.
fn gc() {
    static RUNNING: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    // (Releases while it runs, its own included, do not start another.)
    if RUNNING.swap(true, Ordering::Acquire) {
        return;
    }
    gc_pass();
    RUNNING.store(false, Ordering::Release);
}

fn gc_pass() {
    let garbage: Vec<Passed> = {
        let q = IN_QUEUES.lock();
        // (file address, the file, its socket, references from queues)
        let mut cands: Vec<(usize, FileRef, usize)> = Vec::new();
        for (&k, (w, n)) in q.iter() {
            if let Some(f) = w.upgrade() {
                // (One reference is ours, just taken.)
                if Arc::strong_count(&f) - 1 == *n && cands.try_reserve(1).is_ok() {
                    cands.push((k, f, *n));
                }
            }
        }
        drop(q);
        if cands.is_empty() {
            return;
        }
        cands.sort_unstable_by_key(|c| c.0);
        let find = |k: usize| cands.binary_search_by_key(&k, |c| c.0).ok();
        // Each candidate's queued candidates (by index), and the references from candidates.
        let mut kids: Vec<Vec<usize>> = Vec::new();
        let mut internal = alloc::vec![0usize; cands.len()];
        for (_, f, _) in &cands {
            let mut v = Vec::new();
            if let Some(s) = socket_of(f) {
                let st = s.st.lock();
                for p in st.rx.ancillary() {
                    for g in &p.files {
                        if let Some(j) = find(Arc::as_ptr(g) as usize) {
                            v.push(j);
                        }
                    }
                }
            }
            for &j in &v {
                internal[j] += 1;
            }
            kids.push(v);
        }
        let mut live: Vec<bool> = cands.iter().zip(&internal).map(|(c, &i)| c.2 > i).collect();
        let mut work: Vec<usize> = (0..cands.len()).filter(|&i| live[i]).collect();
        while let Some(i) = work.pop() {
            for &j in &kids[i] {
                if !live[j] {
                    live[j] = true;
                    work.push(j);
                }
            }
        }
        let mut out = Vec::new();
        for (i, (_, f, _)) in cands.iter().enumerate() {
            if !live[i] {
                if let Some(s) = socket_of(f) {
                    out.extend(s.st.lock().rx.drain());
                }
            }
        }
        // (The candidates' own references go with `cands` here, outside every lock.)
        out
    };
    drop_later(garbage);
}

impl Clone for Passed {
    /// A peek's copy: the same files, not counted again.
    fn clone(&self) -> Passed {
        Passed { files: self.files.clone(), uid: self.uid, counted: 0 }
    }
}

impl Drop for Passed {
    fn drop(&mut self) {
        if self.counted > 0 {
            let mut m = INFLIGHT.lock();
            if let Some(c) = m.get_mut(&self.uid) {
                *c = c.saturating_sub(self.counted);
                if *c == 0 {
                    m.remove(&self.uid);
                }
            }
            drop(m);
            let mut q = IN_QUEUES.lock();
            for f in self.files.iter().filter(|f| socket_of(f).is_some()) {
                let k = Arc::as_ptr(f) as usize;
                if let Some(e) = q.get_mut(&k) {
                    e.1 -= 1;
                    if e.1 == 0 {
                        q.remove(&k);
                    }
                }
            }
        }
    }
}

struct Listen {
    backlog: u32,
    pending: VecDeque<Arc<UnixSocket>>,
}

struct State {
    rx: MsgQueue<Passed>,
    name: Option<Name>,
    /// Connected peer (stream, seqpacket), or a datagram socket's default destination.
    peer: Option<Arc<UnixSocket>>,
    /// The peer's name when it connected (getpeername).
    peer_name: Option<Vec<u8>>,
    listen: Option<Listen>,
    /// Ever connected (a stream socket: reads and writes are allowed).
    connected: bool,
    /// No more data will come (own SHUT_RD, the peer's SHUT_WR or its release).
    rcv_shut: bool,
    /// No more sending (own SHUT_WR, the peer's SHUT_RD or its release).
    send_shut: bool,
    /// Released (its last descriptor closed).
    dead: bool,
    /// A pending error (ECONNRESET), reported once.
    err: u32,
    cred: Ucred,
    peer_cred: Ucred,
    /// SO_SNDBUF and SO_RCVBUF as set (reported; the queue limit is BUF_SIZE).
    sndbuf: u32,
    rcvbuf: u32,
    /// Options an AF_UNIX socket keeps and reports but that change nothing for it (on Linux
    /// too): SO_REUSEADDR, SO_KEEPALIVE, SO_BROADCAST, SO_LINGER (on, seconds).
    pub flags: Flags,
}

/// The options `State::flags` keeps.
#[derive(Clone, Copy, Default)]
pub struct Flags {
    pub reuseaddr: bool,
    pub keepalive: bool,
    pub broadcast: bool,
    pub linger: (bool, i32),
}

/// An AF_UNIX socket.
pub struct UnixSocket {
    pub ty: Type,
    st: Mutex<State>,
    /// Woken when data arrives, space frees up, a connection comes, or the state changes.
    pub wait: WaitQueue,
}

/// The outcome of a send attempt.
pub enum Send {
    Done(usize),
    /// Full: wait on this socket's queue.
    Block(Arc<UnixSocket>),
    /// Another thread holds the socket for a moment (connect): yield and try again.
    Retry,
    Err(u32),
}

/// What a receive got.
pub struct Recv {
    /// Bytes copied out.
    pub n: usize,
    /// The datagram's whole length (MSG_TRUNC when larger than `n`).
    pub full: usize,
    pub fds: Option<Passed>,
    /// The sender's `sun_path` (datagrams from a bound sender).
    pub from: Option<Vec<u8>>,
}

/// User memory as (address, length) pieces: a send gathers from it, a receive scatters into it.
pub struct UserBufs<'a> {
    iov: &'a [(usize, usize)],
    idx: usize,
    off: usize,
}

impl<'a> UserBufs<'a> {
    pub fn new(iov: &'a [(usize, usize)]) -> Self {
        UserBufs { iov, idx: 0, off: 0 }
    }
    /// Where the next byte is (to go back to it).
    fn mark(&self) -> (usize, usize) {
        (self.idx, self.off)
    }
    fn reset(&mut self, m: (usize, usize)) {
        (self.idx, self.off) = m;
    }
    /// Total length.
    pub fn total(&self) -> usize {
        self.iov.iter().fold(0usize, |a, &(_, l)| a.saturating_add(l))
    }
    /// Copy `b` out to the next bytes.
    fn put(&mut self, mut b: &[u8]) -> Result<(), u32> {
        while !b.is_empty() {
            let (base, len) = *self.iov.get(self.idx).ok_or(errno::EFAULT)?;
            let k = (len - self.off).min(b.len());
            if k > 0 {
                crate::syscall::uaccess::write_bytes(base + self.off, &b[..k])?;
            }
            self.off += k;
            b = &b[k..];
            if self.off == len {
                self.idx += 1;
                self.off = 0;
            }
        }
        Ok(())
    }
    /// Fill `b` from the next bytes.
    fn get(&mut self, mut b: &mut [u8]) -> Result<(), u32> {
        while !b.is_empty() {
            let (base, len) = *self.iov.get(self.idx).ok_or(errno::EFAULT)?;
            let k = (len - self.off).min(b.len());
            if k > 0 {
                crate::syscall::uaccess::read_bytes(base + self.off, &mut b[..k])?;
            }
            self.off += k;
            b = &mut b[k..];
            if self.off == len {
                self.idx += 1;
                self.off = 0;
            }
        }
        Ok(())
    }
}

/// Parse a `sockaddr_un` of `len` bytes as Linux's unix_validate_addr/unix_mkname_bsd:
/// `Ok(None)` for an address of only the family (autobind), `Ok(Some((abstract, bytes)))`
/// else, `bytes` being the path up to its NUL or the abstract name with its leading NUL.
pub fn parse_addr(raw: &[u8]) -> Result<Option<(bool, Vec<u8>)>, u32> {
    if raw.len() < 2 || raw.len() > size_of::<n::sockaddr_un>() || u16::from_ne_bytes([raw[0], raw[1]]) as u32 != n::AF_UNIX {
        return Err(errno::EINVAL);
    }
    let p = &raw[2..];
    if p.is_empty() {
        return Ok(None);
    }
    if p[0] == 0 {
        return Ok(Some((true, p.to_vec())));
    }
    let end = p.iter().position(|&c| c == 0).unwrap_or(p.len());
    Ok(Some((false, p[..end].to_vec())))
}

static AUTOBIND: AtomicU32 = AtomicU32::new(1);

impl UnixSocket {
    /// A new unconnected socket created by `cred`.
    pub fn new(ty: Type, cred: Ucred) -> Arc<UnixSocket> {
        Arc::new(UnixSocket {
            ty,
            st: Mutex::new(State {
                rx: MsgQueue::new(),
                name: None,
                peer: None,
                peer_name: None,
                listen: None,
                connected: false,
                rcv_shut: false,
                send_shut: false,
                dead: false,
                err: 0,
                cred,
                peer_cred: NO_CRED,
                sndbuf: BUF_SIZE as u32,
                rcvbuf: BUF_SIZE as u32,
                flags: Flags::default(),
            }),
            wait: WaitQueue::new(),
        })
    }

    /// Two sockets connected to each other (socketpair).
    pub fn pair(ty: Type, cred: Ucred) -> (Arc<UnixSocket>, Arc<UnixSocket>) {
        let (a, b) = (Self::new(ty, cred), Self::new(ty, cred));
        for (x, y) in [(&a, &b), (&b, &a)] {
            let mut s = x.st.lock();
            s.peer = Some(y.clone());
            s.connected = true;
            s.peer_cred = cred;
        }
        (a, b)
    }

    /// The socket's last descriptor was closed: drop its queue and pending connections, tell
    /// the peer (it reads end-of-file and gets EPIPE on writes; ECONNRESET if data was left
    /// unread here), free its name.
    pub fn release(self: &Arc<Self>) {
        self.release_as(false)
    }

    /// [`release`](Self::release); `embryo`: a connection never accepted (its client gets
    /// ECONNRESET, as Linux's unix_release_sock).
    fn release_as(self: &Arc<Self>, embryo: bool) {
        let (peer, passed, pending, name, unread) = {
            let mut s = self.st.lock();
            s.dead = true;
            let unread = !s.rx.is_empty();
            let pending = s.listen.take().map(|l| l.pending).unwrap_or_default();
            (s.peer.take(), s.rx.drain(), pending, s.name.take(), unread)
        };
        if let Some(name) = name {
            let mut m = NAMES.lock();
            if let Some(key) = name.key {
                if m.get(&key).is_some_and(|w| core::ptr::eq(w.as_ptr(), Arc::as_ptr(self))) {
                    m.remove(&key);
                }
            }
        }
        if let Some(p) = &peer {
            let mut s = p.st.lock();
            // (A datagram peer keeps its state: its next send finds this one gone.)
            if self.ty.connected_kind() {
                s.rcv_shut = true;
                s.send_shut = true;
                if unread || embryo {
                    s.err = errno::ECONNRESET;
                }
            }
            drop(s);
            p.wait.wake_all();
        }
        // Connections nobody accepted go too (their clients see end-of-file).
        for c in pending {
            c.release_as(true);
        }
        drop_later(passed);
        self.wait.wake_all();
        // A socket holding the last outside reference to passed sockets may have gone: collect
        // what only queues hold now (Linux's unix_release_sock calls unix_gc too).
        if !IN_QUEUES.lock().is_empty() {
            gc();
        }
    }

    /// Its name's `sun_path` bytes, if bound.
    pub fn name(&self) -> Option<Vec<u8>> {
        self.st.lock().name.as_ref().map(|n| n.path.clone())
    }

    /// The connected peer's name: `Ok(None)` for an unnamed peer, ENOTCONN if not connected.
    pub fn peer_name(&self) -> Result<Option<Vec<u8>>, u32> {
        let s = self.st.lock();
        if s.peer.is_none() && !(s.connected && self.ty.connected_kind()) {
            return Err(errno::ENOTCONN);
        }
        Ok(s.peer_name.clone())
    }

    /// Bind to an abstract name (`Some`) or an automatic one (`None`).
    pub fn bind_abstract(self: &Arc<Self>, name: Option<Vec<u8>>) -> Result<(), u32> {
        let mut s = self.st.lock();
        if s.name.is_some() {
            return Err(errno::EINVAL);
        }
        let mut m = NAMES.lock();
        let path = match name {
            Some(p) => {
                if m.get(&Key::Abstract(p.clone())).is_some_and(|w| w.strong_count() > 0) {
                    return Err(errno::EADDRINUSE);
                }
                p
            }
            None => {
                let mut tries = 0;
                loop {
                // Linux's autobind: a NUL and five hex digits (ENOSPC when all are taken).
                tries += 1;
                if tries > 0x100000 {
                    return Err(errno::ENOSPC);
                }
                let k = AUTOBIND.fetch_add(1, Ordering::Relaxed) & 0xfffff;
                let mut p = alloc::format!("\0{k:05x}").into_bytes();
                p.truncate(6);
                if !m.get(&Key::Abstract(p.clone())).is_some_and(|w| w.strong_count() > 0) {
                    break p;
                }
                }
            }
        };
        let key = Key::Abstract(path.clone());
        m.insert(key.clone(), Arc::downgrade(self));
        s.name = Some(Name { key: Some(key), path });
        Ok(())
    }

    /// True if the socket has a name already (bind: EINVAL).
    pub fn is_bound(&self) -> bool {
        self.st.lock().name.is_some()
    }

    /// Bind to the file-tree socket node `id` just made at `path`.
    pub fn bind_inode(self: &Arc<Self>, id: (u64, u64), path: &[u8]) -> Result<(), u32> {
        let mut s = self.st.lock();
        if s.name.is_some() {
            return Err(errno::EINVAL);
        }
        let key = Key::Inode(id.0, id.1);
        let mut p = path.to_vec();
        p.push(0);
        NAMES.lock().insert(key.clone(), Arc::downgrade(self));
        s.name = Some(Name { key: Some(key), path: p });
        Ok(())
    }

    /// The live socket bound to a file-tree node or an abstract name.
    pub fn find(inode: Option<(u64, u64)>, abstract_name: Option<&[u8]>) -> Option<Arc<UnixSocket>> {
        let key = match (inode, abstract_name) {
            (Some(id), _) => Key::Inode(id.0, id.1),
            (None, Some(a)) => Key::Abstract(a.to_vec()),
            (None, None) => return None,
        };
        NAMES.lock().get(&key).and_then(|w| w.upgrade())
    }

    /// listen(backlog): stream and seqpacket sockets that are bound and not connected.
    pub fn listen(&self, backlog: i32, cred: Ucred) -> Result<(), u32> {
        if !self.ty.connected_kind() {
            return Err(errno::EOPNOTSUPP);
        }
        let mut s = self.st.lock();
        if s.name.is_none() || s.connected {
            return Err(errno::EINVAL);
        }
        let backlog = if backlog as u32 > SOMAXCONN { SOMAXCONN } else { backlog as u32 };
        match &mut s.listen {
            Some(l) => l.backlog = backlog,
            None => {
                s.listen = Some(Listen { backlog, pending: VecDeque::new() });
                s.cred = cred;
            }
        }
        drop(s);
        self.wait.wake_all();
        Ok(())
    }

    /// True if listening (SO_ACCEPTCONN).
    pub fn listening(&self) -> bool {
        self.st.lock().listen.is_some()
    }

    /// Connect a stream or seqpacket socket to listener `l`: `Send::Block(l)` while its
    /// backlog is full.
    pub fn connect(self: &Arc<Self>, l: &Arc<UnixSocket>, cred: Ucred) -> Send {
        if l.ty != self.ty {
            return Send::Err(errno::EPROTOTYPE);
        }
        {
            let me = self.st.lock();
            if me.listen.is_some() {
                return Send::Err(errno::EINVAL);
            }
            if me.connected {
                return Send::Err(errno::EISCONN);
            }
        }
        if Arc::ptr_eq(l, self) {
            return Send::Err(errno::ECONNREFUSED); // (not listening: checked just above)
        }
        // The server's end of the connection, made before the listener's lock is taken and
        // complete before an accept can see it.
        let srv = UnixSocket::new(self.ty, NO_CRED);
        // Lock order: the listener, then (tried only) this socket, as Linux's
        // unix_stream_connect; a busy socket (another thread connecting it) means try again.
        let mut ls = l.st.lock();
        if ls.dead || ls.listen.is_none() || ls.rcv_shut {
            return Send::Err(errno::ECONNREFUSED);
        }
        let Some(mut me) = self.st.try_lock() else {
            drop(ls);
            return Send::Retry;
        };
        if me.listen.is_some() {
            return Send::Err(errno::EINVAL);
        }
        if me.connected {
            return Send::Err(errno::EISCONN);
        }
        let (lname, lcred) = (ls.name.as_ref().map(|n| n.path.clone()), ls.cred);
        let Some(lis) = &mut ls.listen else { return Send::Err(errno::ECONNREFUSED) };
        if lis.pending.len() as u32 > lis.backlog {
            drop(me);
            drop(ls);
            // (srv is dropped unreleased: nothing else refers to it.)
            return Send::Block(l.clone());
        }
        if lis.pending.try_reserve(1).is_err() {
            return Send::Err(errno::ENOBUFS);
        }
        {
            let mut s = srv.st.lock();
            s.peer = Some(self.clone());
            s.connected = true;
            s.name = lname.clone().map(|path| Name { key: None, path });
            s.peer_name = me.name.as_ref().map(|n| n.path.clone());
            s.cred = lcred;
            s.peer_cred = cred;
        }
        lis.pending.push_back(srv.clone());
        me.peer = Some(srv);
        me.connected = true;
        me.peer_name = lname;
        me.peer_cred = lcred;
        me.cred = cred;
        drop(me);
        drop(ls);
        l.wait.wake_all();
        Send::Done(0)
    }

    /// Connect a datagram socket (its default destination and the only sender it accepts).
    pub fn connect_dgram(&self, to: Option<Arc<UnixSocket>>) -> Result<(), u32> {
        let name = match &to {
            Some(t) if t.ty != self.ty => return Err(errno::EPROTOTYPE),
            Some(t) => {
                let ts = t.st.lock();
                // (Linux: a target connected to a third socket takes nothing from us.)
                if !core::ptr::eq(Arc::as_ptr(t), self) && ts.peer.as_ref().is_some_and(|p| !core::ptr::eq(Arc::as_ptr(p), self)) {
                    return Err(errno::EPERM);
                }
                ts.name.as_ref().map(|n| n.path.clone())
            }
            None => None,
        };
        let mut s = self.st.lock();
        s.connected = to.is_some();
        s.peer = to;
        s.peer_name = name;
        Ok(())
    }

    /// Take a pending connection: `Ok(None)` if none waits, EINVAL if not listening.
    pub fn accept(&self) -> Result<Option<Arc<UnixSocket>>, u32> {
        let mut s = self.st.lock();
        let shut = s.rcv_shut;
        let Some(l) = &mut s.listen else { return Err(errno::EINVAL) };
        let c = l.pending.pop_front();
        if c.is_none() && shut {
            return Err(errno::EINVAL); // (a listener shut down for reading: Linux's unix_accept)
        }
        drop(s);
        if c.is_some() {
            self.wait.wake_all(); // a blocked connect may find room now
        }
        Ok(c)
    }

    /// Put back a connection accept could not hand out (no descriptor free): it is first
    /// again, as Linux leaves it queued.
    pub fn unaccept(&self, c: Arc<UnixSocket>) {
        let mut s = self.st.lock();
        match &mut s.listen {
            Some(l) => l.pending.push_front(c),
            None => {
                drop(s);
                c.release_as(true);
            }
        }
    }

    /// True when accept would not wait: a connection waits, or it fails.
    pub fn accept_ready(&self) -> bool {
        let s = self.st.lock();
        s.dead || s.rcv_shut || s.listen.as_ref().is_none_or(|l| !l.pending.is_empty())
    }

    /// The peer's name (accept's address).
    pub fn peer_name_raw(&self) -> Option<Vec<u8>> {
        self.st.lock().peer_name.clone()
    }

    /// Send `len` bytes gathered from `data` with `fds` (taken only if something is sent), to
    /// the peer or (a datagram socket) to `to`. A stream send moves what fits (at least one
    /// byte); a datagram is all or nothing.
    pub fn send(self: &Arc<Self>, data: &mut UserBufs, len: usize, fds: &mut Option<Passed>, to: Option<&Arc<UnixSocket>>) -> Send {
        let (target, from) = {
            let s = self.st.lock();
            // (A pending error is for the reader: Linux's send checks only the shutdown.)
            if s.send_shut {
                return Send::Err(errno::EPIPE);
            }
            let target = match (to, &s.peer) {
                (Some(t), _) if self.ty == Type::Dgram => t.clone(),
                (Some(_), _) => return Send::Err(if s.connected { errno::EISCONN } else { errno::EOPNOTSUPP }),
                (None, Some(p)) => p.clone(),
                (None, None) if self.ty.connected_kind() && !s.connected => return Send::Err(errno::ENOTCONN),
                (None, None) if self.ty.connected_kind() => return Send::Err(errno::EPIPE),
                (None, None) => return Send::Err(errno::ENOTCONN),
            };
            (target, s.name.as_ref().map(|n| n.path.clone()))
        };
        let dgram = self.ty != Type::Stream;
        if !dgram && len == 0 {
            // Nothing to send (passed descriptors need a byte to ride on), as Linux.
            return Send::Done(0);
        }
        if dgram && len + DGRAM_OVERHEAD > BUF_SIZE {
            return Send::Err(errno::EMSGSIZE);
        }
        // A message carrying descriptors costs as much as a datagram's bookkeeping.
        let overhead = if dgram || fds.is_some() { DGRAM_OVERHEAD } else { 0 };
        // Room in the receiver's queue. (Every Block here is the opposite of `can_take`.)
        let room = {
            let t = target.st.lock();
            if let Err(e) = self.refused_by(&target, &t) {
                drop(t);
                return self.gone(&target, e);
            }
            BUF_SIZE.saturating_sub(t.rx.charged())
        };
        let k = if dgram {
            if len + overhead > room {
                return Send::Block(target);
            }
            len
        } else {
            if room <= overhead {
                return Send::Block(target);
            }
            len.min(room - overhead)
        };
        if crate::mm::heap_free() < crate::config::HEAP_RESERVE + k + 256 {
            return Send::Err(errno::ENOBUFS);
        }
        let mut buf = Vec::new();
        if buf.try_reserve_exact(k).is_err() {
            return Send::Err(errno::ENOBUFS);
        }
        buf.resize(k, 0);
        let mark = data.mark();
        if let Err(e) = data.get(&mut buf) {
            return Send::Err(e);
        }
        let pushed = {
            let mut t = target.st.lock();
            if let Err(e) = self.refused_by(&target, &t) {
                drop(t);
                return self.gone(&target, e);
            }
            if t.rx.charged() + k + overhead > BUF_SIZE {
                // Another sender took the room meanwhile: this copy was for nothing.
                data.reset(mark);
                drop(t);
                return Send::Block(target);
            }
            let anc = fds.take();
            let r = if dgram {
                t.rx.push(buf, anc, if self.ty == Type::Dgram { from } else { None }, k + overhead)
            } else if anc.is_none() && t.rx.append(&buf, 4096) {
                Ok(())
            } else {
                t.rx.push(buf, anc, None, k + overhead)
            };
            r.map_err(|anc| (anc, mark))
        };
        if let Err((anc, mark)) = pushed {
            // No heap for the queue's growth: nothing sent.
            *fds = anc;
            data.reset(mark);
            return Send::Err(errno::ENOBUFS);
        }
        target.wait.wake_all();
        Send::Done(k)
    }

    /// Whether `t` (the target's locked state) takes a message from this socket: EPIPE for a
    /// gone or read-shut connection peer, ECONNREFUSED for a gone datagram target, EPERM for a
    /// datagram target connected to another socket.
    fn refused_by(self: &Arc<Self>, target: &Arc<UnixSocket>, t: &State) -> Result<(), u32> {
        if t.dead {
            return Err(if self.ty.connected_kind() { errno::EPIPE } else { errno::ECONNREFUSED });
        }
        if self.ty == Type::Dgram && !Arc::ptr_eq(target, self) && t.peer.as_ref().is_some_and(|p| !Arc::ptr_eq(p, self)) {
            return Err(errno::EPERM);
        }
        if t.rcv_shut {
            return Err(errno::EPIPE);
        }
        Ok(())
    }

    /// A send refused with `e`: a datagram socket whose connected peer is gone forgets it (the
    /// next send is ENOTCONN, as Linux's unix_dgram_disconnected).
    fn gone(&self, target: &Arc<UnixSocket>, e: u32) -> Send {
        if e == errno::ECONNREFUSED {
            let mut s = self.st.lock();
            if s.peer.as_ref().is_some_and(|p| Arc::ptr_eq(p, target)) {
                s.peer = None;
                s.connected = false;
            }
        }
        Send::Err(e)
    }

    /// Receive up to `len` bytes into `out` (a stream: across messages; else one message):
    /// `Ok(None)` if nothing waits (and more may come).
    pub fn recv(&self, out: &mut UserBufs, len: usize, peek: bool) -> Result<Option<Recv>, u32> {
        let mut s = self.st.lock();
        if self.ty.connected_kind() && (s.listen.is_some() || !s.connected) {
            // (Linux: EINVAL for a stream socket, ENOTCONN for seqpacket.)
            return Err(if self.ty == Type::SeqPacket && s.listen.is_none() { errno::ENOTCONN } else { errno::EINVAL });
        }
        // (A zero-length read waits for data like any other, as Linux's: its target is 1.)
        if s.rx.is_empty() {
            if s.err != 0 {
                return Err(core::mem::take(&mut s.err));
            }
            return if s.rcv_shut { Ok(Some(Recv { n: 0, full: 0, fds: None, from: None })) } else { Ok(None) };
        }
        let r = if self.ty == Type::Stream {
            let (n, fds) = s.rx.read_stream(len, peek, &mut |b| out.put(b))?;
            Recv { n, full: n, fds, from: None }
        } else {
            let d = s.rx.read_dgram(len, peek, &mut |b| out.put(b))?.expect("a message");
            Recv { n: d.copied, full: d.len, fds: d.anc, from: d.from }
        };
        drop(s);
        if !peek {
            self.wait.wake_all(); // room for writers
        }
        Ok(Some(r))
    }

    /// shutdown(how): SHUT_RD, SHUT_WR or both; the peer sees the other side.
    pub fn shutdown(&self, how: u32) -> Result<(), u32> {
        let (rd, wr) = match how {
            n::SHUT_RD => (true, false),
            n::SHUT_WR => (false, true),
            n::SHUT_RDWR => (true, true),
            _ => return Err(errno::EINVAL),
        };
        // (Linux allows it on an unconnected socket too: only the flags change.)
        let peer = {
            let mut s = self.st.lock();
            s.rcv_shut |= rd;
            s.send_shut |= wr;
            s.peer.clone()
        };
        if let Some(p) = peer.filter(|_| self.ty.connected_kind()) {
            let mut s = p.st.lock();
            s.rcv_shut |= wr;
            s.send_shut |= rd;
            drop(s);
            p.wait.wake_all();
        }
        self.wait.wake_all();
        Ok(())
    }

    /// poll's bits (as Linux's unix_poll and unix_dgram_poll), registering `cx` on the
    /// queues that will change them.
    pub fn poll(&self, cx: Option<&core::task::Context<'_>>) -> u16 {
        use linux_raw_sys::general as g;
        if let Some(cx) = cx {
            self.wait.register(cx);
        }
        let s = self.st.lock();
        let mut m = 0u32;
        if s.err != 0 {
            m |= g::POLLERR;
        }
        if s.rcv_shut && s.send_shut {
            m |= g::POLLHUP;
        }
        if s.rcv_shut {
            m |= g::POLLRDHUP | g::POLLIN | g::POLLRDNORM;
        }
        if !s.rx.is_empty() || s.listen.as_ref().is_some_and(|l| !l.pending.is_empty()) {
            m |= g::POLLIN | g::POLLRDNORM;
        }
        if self.ty.connected_kind() && !s.connected && s.listen.is_none() {
            m |= g::POLLHUP;
        }
        let peer = s.peer.clone();
        let listening = s.listen.is_some();
        drop(s);
        if listening {
            return m as u16;
        }
        // Writable when the receiver's queue has room (Linux's unix_writable: shutdown does
        // not matter; a write then fails at once with EPIPE).
        let writable = match &peer {
            Some(p) => {
                if let Some(cx) = cx {
                    p.wait.register(cx);
                }
                let t = p.st.lock();
                t.dead || t.rx.charged() * 4 <= BUF_SIZE
            }
            None => true,
        };
        if writable {
            m |= g::POLLOUT | g::POLLWRNORM | g::POLLWRBAND;
        }
        m as u16
    }

    /// True once `need` more bytes (see `send_need`) fit in the queue, or sending will fail
    /// instead (released, shut down).
    pub fn can_take(&self, need: usize) -> bool {
        let s = self.st.lock();
        s.dead || s.rcv_shut || s.rx.charged() + need <= BUF_SIZE
    }

    /// The room (`can_take`'s `need`) a send of `len` bytes from a socket of this type waits
    /// for: exactly what makes `send` stop answering Block.
    pub fn send_need(&self, len: usize, with_fds: bool) -> usize {
        match self.ty {
            Type::Stream => 1 + if with_fds { DGRAM_OVERHEAD } else { 0 },
            _ => len + DGRAM_OVERHEAD,
        }
    }

    /// True once a connect to this listener can go on (room in its backlog) or fails.
    pub fn can_connect(&self) -> bool {
        let s = self.st.lock();
        s.dead || s.listen.as_ref().is_none_or(|l| l.pending.len() as u32 <= l.backlog)
    }

    /// Where a send without an address goes: the peer.
    pub fn send_target(&self) -> Option<Arc<UnixSocket>> {
        self.st.lock().peer.clone()
    }

    /// Take waker `w` off the queues `poll` registers on (an epoll item leaving its set).
    pub fn forget(&self, w: &core::task::Waker) {
        self.wait.unregister(w);
        if let Some(p) = self.send_target() {
            p.wait.unregister(w);
        }
    }

    /// Unread bytes (FIONREAD / SIOCINQ): a stream's or seqpacket's total, a datagram
    /// socket's next message.
    pub fn available(&self) -> Result<usize, u32> {
        let s = self.st.lock();
        if s.listen.is_some() {
            return Err(errno::EINVAL);
        }
        Ok(if self.ty == Type::Dgram { s.rx.first_len() } else { s.rx.bytes() })
    }

    /// SO_ERROR: the pending error, cleared.
    pub fn take_error(&self) -> u32 {
        core::mem::take(&mut self.st.lock().err)
    }

    /// The kept options (`Flags`), to read or change.
    pub fn with_flags<R>(&self, f: impl FnOnce(&mut Flags) -> R) -> R {
        f(&mut self.st.lock().flags)
    }

    /// SO_PEERCRED.
    pub fn peer_cred(&self) -> Ucred {
        self.st.lock().peer_cred
    }

    /// SO_SNDBUF / SO_RCVBUF as Linux reports them (twice what was set, within its bounds).
    pub fn bufsize(&self, rcv: bool) -> u32 {
        let s = self.st.lock();
        if rcv { s.rcvbuf } else { s.sndbuf }
    }

    /// Set SO_SNDBUF / SO_RCVBUF as Linux: twice the value (at most net.core.wmem_max), at least
    /// SOCK_MIN_SNDBUF / SOCK_MIN_RCVBUF. (The queue limit itself stays BUF_SIZE.)
    pub fn set_bufsize(&self, rcv: bool, v: u32) {
        let v = v.min(BUF_SIZE as u32).saturating_mul(2).max(if rcv { 2304 } else { 4608 });
        let mut s = self.st.lock();
        if rcv {
            s.rcvbuf = v;
        } else {
            s.sndbuf = v;
        }
    }
}
