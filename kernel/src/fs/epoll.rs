//! epoll instances: an interest list of (open file, descriptor) items and their readiness.
//!
//! Each item holds its open file description weakly: closing the file's last descriptor
//! takes it out of the set (as Linux's eventpoll_release), and an epoll never keeps a pipe
//! end open. An item is its own waker (Linux's ep_poll_callback): looking at its file's
//! readiness with the item's waker registers the item on the file's wait queues, and a wake
//! marks it "fired" and wakes the epoll's own queue (its waiters, and the items of epolls
//! watching this one). A scan looks only at the items that fired since the last look or were
//! ready then (level-triggered): a file's readiness only rises with a wake of its queues, so
//! the others cannot have become ready (the ready list of Linux's design, kept as two flags).
//!
//! - Level-triggered (the default): reported at every scan while ready.
//! - EPOLLET: reported once per wake that finds it ready (a pipe wakes its readers on every
//!   write, as Linux's does when epoll watches it), so new data reports it again.
//! - EPOLLONESHOT: after one report its events are cleared until EPOLL_CTL_MOD re-arms it.
//! - EPOLLEXCLUSIVE: accepted (and checked as Linux does); every waiter is woken all the same.
//! - An item added or modified while ready is reported once even with EPOLLET, as Linux's
//!   ep_insert/ep_modify put it on the ready list.
//!
//! Reported items rotate: a scan starts after the last item the previous one reported, so a
//! small `maxevents` still reaches every ready item in turn (Linux moves reported
//! level-triggered items to the back of its ready list).

use super::{FileKind, OpenFile};
use crate::exec::WaitQueue;
use alloc::sync::{Arc, Weak};
use alloc::task::Wake;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use core::task::{Context, Waker};
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use velox_exec::sync::Mutex;

/// Longest chain of epolls watching epolls (Linux's EP_MAX_NESTS): a chain of at most this
/// many links (five epolls) can be built; EPOLL_CTL_ADD refuses a longer one, or a loop, ELOOP.
pub const EP_MAX_NESTS: usize = 4;

/// Flags of an item's events that are not readiness bits (never reported).
const PRIVATE: u32 = g::EPOLLWAKEUP | g::EPOLLONESHOT | g::EPOLLET | g::EPOLLEXCLUSIVE;

/// One watched (file, descriptor) pair of an epoll.
pub struct Item {
    file: Weak<OpenFile>,
    fd: i32,
    /// The events asked for (EPOLLERR and EPOLLHUP always among them) and the flags.
    events: AtomicU32,
    /// The user's data, reported with the events.
    data: AtomicU64,
    /// Woken since its last look (Linux: on the ready list).
    fired: AtomicBool,
    /// Level-triggered and ready at its last look: looked at again at the next scan.
    ready: AtomicBool,
    /// Out of the set (EPOLL_CTL_DEL, its file gone, the epoll closed): wakes do nothing.
    removed: AtomicBool,
    ep: Weak<Epoll>,
    /// Its file is the console, whose wait queues outlive the file: leaving the set takes the
    /// item off them even after the file is gone.
    console: bool,
}

/// Items in all sets, against [`max_watches`] (Linux's max_user_watches; here for all users).
static WATCHES: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Most items all epolls may hold: a quarter of the kernel heap at 256 bytes each (an item,
/// its place in the set and its wakers on the file's queues). ADD past it is ENOSPC, as
/// Linux past max_user_watches; before, one process could fill the heap.
fn max_watches() -> usize {
    crate::mm::heap_size() / 4 / 256
}

impl Drop for Item {
    fn drop(&mut self) {
        WATCHES.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Item {
    /// The item's identity in its epoll: the open file description's address (stable while
    /// the weak reference holds the allocation) and the descriptor number.
    fn key(&self) -> (usize, i32) {
        (self.file.as_ptr() as usize, self.fd)
    }

    /// Readiness of its file among `events`, registering the item on the file's queues.
    fn look(self: &Arc<Self>, f: &OpenFile, events: u32, depth: usize) -> u32 {
        let w = Waker::from(self.clone());
        let cx = Context::from_waker(&w);
        let want = events & !PRIVATE;
        crate::syscall::poll::poll_file(f, Some(&cx), want as u16, depth + 1) as u32 & want
    }

    /// Take the item off its file's wait queues (it is leaving the set).
    fn unregister(self: &Arc<Self>) {
        self.removed.store(true, Ordering::Relaxed);
        if let Some(f) = self.file.upgrade() {
            crate::syscall::poll::forget(&f, &Waker::from(self.clone()));
        } else if self.console {
            let tty = crate::dev::tty::console();
            let w = Waker::from(self.clone());
            tty.read_wait.unregister(&w);
            tty.write_wait.unregister(&w);
        }
    }
}

impl Wake for Item {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.removed.load(Ordering::Relaxed) {
            return;
        }
        self.fired.store(true, Ordering::Release);
        // (No lock of the epoll is taken here: wakes come from anywhere, scans among them.)
        if let Some(ep) = self.ep.upgrade() {
            ep.wait.wake_all();
        }
    }
}

/// The interest list, in key order.
struct Inner {
    items: Vec<Arc<Item>>,
    /// The key of the item reported last (the next scan starts after it).
    cursor: (usize, i32),
    /// Purge items whose file is gone when the list grows to this many.
    purge_at: usize,
    /// The epolls watching this one (the depth check of EPOLL_CTL_ADD looks upwards).
    parents: Vec<Weak<Epoll>>,
}

/// An epoll instance (the object behind an epoll descriptor).
pub struct Epoll {
    inner: Mutex<Inner>,
    /// epoll_pwait's waiters and whoever polls the epoll descriptor itself.
    pub wait: WaitQueue,
}

/// One reported event, as user memory holds `struct epoll_event` on riscv64.
pub type Event = velox_abi::EpollEvent;

/// Held while EPOLL_CTL_ADD checks and links an epoll into another (Linux's epnested_mutex):
/// two such additions at once could each miss the loop the other closes.
static NEST: Mutex<()> = Mutex::new(());

impl Epoll {
    /// A new, empty epoll (the caller checked the heap has room).
    pub fn new() -> Epoll {
        Epoll { inner: Mutex::new(Inner { items: Vec::new(), cursor: (0, 0), purge_at: 64, parents: Vec::new() }), wait: WaitQueue::new() }
    }

    /// The epolls this one watches, each once; ENOMEM if the heap cannot list them.
    fn children(&self) -> Result<Vec<Arc<Epoll>>, u32> {
        let inner = self.inner.lock();
        let mut v: Vec<Arc<Epoll>> = Vec::new();
        for it in &inner.items {
            if let Some(f) = it.file.upgrade() {
                if let FileKind::Epoll(e) = &f.kind {
                    // (The same epoll under several descriptors is one child.)
                    if !v.iter().any(|c| Arc::ptr_eq(c, e)) {
                        v.try_reserve(1).map_err(|_| errno::ENOMEM)?;
                        v.push(e.clone());
                    }
                }
            }
        }
        Ok(v)
    }

    /// How many links of epolls lie below `self` (0: it watches none); ELOOP if `into` is
    /// among them (a loop) or they go deeper than EP_MAX_NESTS. `memo`: the epolls already
    /// measured (by address), so a graph with many paths is walked once, as Linux's
    /// loop_check_gen marks do.
    fn depth_below(&self, into: &Epoll, level: usize, memo: &mut Vec<(usize, usize)>) -> Result<usize, u32> {
        if level > EP_MAX_NESTS {
            return Err(errno::ELOOP);
        }
        let me = self as *const Epoll as usize;
        if let Some(&(_, d)) = memo.iter().find(|m| m.0 == me) {
            return Ok(d);
        }
        let mut d = 0;
        for c in self.children()? {
            if core::ptr::eq(&*c, into) {
                return Err(errno::ELOOP);
            }
            d = d.max(1 + c.depth_below(into, level + 1, memo)?);
        }
        memo.try_reserve(1).map_err(|_| errno::ENOMEM)?;
        memo.push((me, d));
        Ok(d)
    }

    /// How many links of epolls lie above `self` (0: none watches it); ELOOP past
    /// EP_MAX_NESTS. `memo` as in `depth_below`.
    fn depth_above(&self, level: usize, memo: &mut Vec<(usize, usize)>) -> Result<usize, u32> {
        if level > EP_MAX_NESTS {
            return Err(errno::ELOOP);
        }
        let me = self as *const Epoll as usize;
        if let Some(&(_, d)) = memo.iter().find(|m| m.0 == me) {
            return Ok(d);
        }
        let parents: Vec<Arc<Epoll>> = {
            let inner = self.inner.lock();
            let mut v = Vec::new();
            // (Room first: no reference taken here is dropped under the lock.)
            v.try_reserve(inner.parents.len()).map_err(|_| errno::ENOMEM)?;
            v.extend(inner.parents.iter().filter_map(|p| p.upgrade()));
            v
        };
        let mut d = 0;
        for p in parents {
            d = d.max(1 + p.depth_above(level + 1, memo)?);
        }
        memo.try_reserve(1).map_err(|_| errno::ENOMEM)?;
        memo.push((me, d));
        Ok(d)
    }

    /// EPOLL_CTL_ADD of `f` (at descriptor `fd`) with `events` (EPOLLERR|EPOLLHUP added
    /// here) and `data`. EEXIST if the pair is in the set; ELOOP if `f` is an epoll that would
    /// close a loop or nest too deep; ENOMEM if the heap cannot hold the item.
    pub fn add(self: &Arc<Self>, f: &Arc<OpenFile>, fd: i32, events: u32, data: u64) -> Result<(), u32> {
        let child = match &f.kind {
            FileKind::Epoll(e) => Some(e),
            _ => None,
        };
        let _nest = child.map(|_| NEST.lock());
        if let Some(c) = child {
            // As Linux's ep_loop_check: the chain below the new child, the link, and the
            // chain above this epoll together at most EP_MAX_NESTS links.
            let below = c.depth_below(self, 0, &mut Vec::new())?;
            let above = self.depth_above(0, &mut Vec::new())?;
            if below + 1 + above > EP_MAX_NESTS {
                return Err(errno::ELOOP);
            }
        }
        let events = events | g::EPOLLERR | g::EPOLLHUP;
        let item = {
            let mut inner = self.inner.lock();
            let key = (Arc::as_ptr(f) as usize, fd);
            let at = match inner.items.binary_search_by(|i| i.key().cmp(&key)) {
                Ok(_) => return Err(errno::EEXIST),
                Err(at) => at,
            };
            // (A margin well above one item: free heap of other sizes may not serve it.)
            if crate::mm::heap_free() < crate::config::HEAP_RESERVE + 64 * 1024 {
                return Err(errno::ENOMEM);
            }
            if inner.items.try_reserve(1).is_err() {
                return Err(errno::ENOMEM);
            }
            // (Counted back down by the item's Drop.)
            if WATCHES.fetch_add(1, Ordering::Relaxed) >= max_watches() {
                WATCHES.fetch_sub(1, Ordering::Relaxed);
                return Err(errno::ENOSPC);
            }
            let item = Arc::new(Item {
                file: Arc::downgrade(f),
                fd,
                events: AtomicU32::new(events),
                data: AtomicU64::new(data),
                // Looked at by the next scan: reported there if ready (once, with EPOLLET).
                fired: AtomicBool::new(true),
                ready: AtomicBool::new(false),
                removed: AtomicBool::new(false),
                ep: Arc::downgrade(self),
                console: matches!(f.kind, FileKind::Console),
            });
            inner.items.insert(at, item.clone());
            if inner.items.len() >= inner.purge_at {
                inner.items.retain(|i| {
                    let keep = i.file.strong_count() > 0;
                    if !keep {
                        i.unregister();
                    }
                    keep
                });
                inner.purge_at = (2 * inner.items.len()).max(64);
            }
            item
        };
        if let Some(c) = child {
            let mut ci = c.inner.lock();
            ci.parents.retain(|p| p.strong_count() > 0);
            // (Once per parent, however many descriptors of the child it watches.)
            if !ci.parents.iter().any(|p| core::ptr::eq(p.as_ptr(), Arc::as_ptr(self))) && ci.parents.try_reserve(1).is_ok() {
                ci.parents.push(Arc::downgrade(self));
            }
        }
        // Registered on the file's queues from now on; a waiter learns of a ready item.
        if item.look(f, events, 0) != 0 {
            self.wait.wake_all();
        }
        Ok(())
    }

    /// The item of (`f`, `fd`), if in the set.
    fn find(&self, f: &Arc<OpenFile>, fd: i32) -> Option<Arc<Item>> {
        let inner = self.inner.lock();
        let key = (Arc::as_ptr(f) as usize, fd);
        inner.items.binary_search_by(|i| i.key().cmp(&key)).ok().map(|at| inner.items[at].clone())
    }

    /// EPOLL_CTL_MOD: new `events` (EPOLLERR|EPOLLHUP added) and `data`, re-arming a
    /// one-shot item. ENOENT if the pair is not in the set; EINVAL if it was added with
    /// EPOLLEXCLUSIVE.
    pub fn modify(&self, f: &Arc<OpenFile>, fd: i32, events: u32, data: u64) -> Result<(), u32> {
        let item = self.find(f, fd).ok_or(errno::ENOENT)?;
        if item.events.load(Ordering::Relaxed) & g::EPOLLEXCLUSIVE != 0 {
            return Err(errno::EINVAL);
        }
        let events = events | g::EPOLLERR | g::EPOLLHUP;
        {
            // (Under the lock: a scan sees the old or the new events and data, not a mix.)
            let _inner = self.inner.lock();
            item.events.store(events, Ordering::Relaxed);
            item.data.store(data, Ordering::Relaxed);
            item.ready.store(false, Ordering::Relaxed);
            item.fired.store(true, Ordering::Release);
        }
        if item.look(f, events, 0) != 0 {
            self.wait.wake_all();
        }
        Ok(())
    }

    /// EPOLL_CTL_DEL. ENOENT if the pair is not in the set.
    pub fn delete(&self, f: &Arc<OpenFile>, fd: i32) -> Result<(), u32> {
        let (item, still) = {
            let mut inner = self.inner.lock();
            let key = (Arc::as_ptr(f) as usize, fd);
            let at = inner.items.binary_search_by(|i| i.key().cmp(&key)).map_err(|_| errno::ENOENT)?;
            let item = inner.items.remove(at);
            // (Another descriptor of the same file still in the set keeps the link.)
            let still = inner.items.iter().any(|i| i.file.as_ptr() == Arc::as_ptr(f));
            (item, still)
        };
        item.unregister();
        if let (FileKind::Epoll(c), false) = (&f.kind, still) {
            let mut ci = c.inner.lock();
            let me: *const Epoll = self;
            if let Some(i) = ci.parents.iter().position(|p| p.as_ptr() == me) {
                ci.parents.swap_remove(i);
            }
        }
        Ok(())
    }

    /// Collect up to `max` ready items' events into `out` (empty), starting after the item
    /// reported last: an edge-triggered item leaves the ready state with its report, a
    /// one-shot item is disarmed. ENOMEM if the heap cannot hold the events.
    pub fn harvest(&self, out: &mut Vec<Event>, max: usize) -> Result<(), u32> {
        let mut inner = self.inner.lock();
        let n = inner.items.len();
        let room = max.min(n);
        if out.capacity() < room {
            if crate::mm::heap_free() < crate::config::HEAP_RESERVE + room * size_of::<Event>() {
                return Err(errno::ENOMEM);
            }
            out.try_reserve_exact(room).map_err(|_| errno::ENOMEM)?;
        }
        let start = inner.items.partition_point(|i| i.key() <= inner.cursor);
        let mut dead = false;
        let mut last = None;
        for k in 0..n {
            if out.len() >= max {
                break;
            }
            let item = &inner.items[(start + k) % n];
            let ready = item.ready.load(Ordering::Relaxed);
            // (Cleared before the look: a wake during it sets it again for the next scan.)
            let fired = item.fired.swap(false, Ordering::Acquire);
            if !fired && !ready {
                continue;
            }
            let Some(f) = item.file.upgrade() else {
                item.unregister(); // (a console item leaves the console's queues)
                dead = true;
                continue;
            };
            let events = item.events.load(Ordering::Relaxed);
            if events & !PRIVATE == 0 {
                item.ready.store(false, Ordering::Relaxed); // a disarmed one-shot item
                continue;
            }
            let r = item.look(&f, events, 0);
            let et = events & g::EPOLLET != 0;
            // Edge-triggered: only after a wake (`ready` is never set for such an item).
            if r == 0 || (et && !fired) {
                item.ready.store(false, Ordering::Relaxed);
                continue;
            }
            out.push(Event { events: r, _pad: 0, data: item.data.load(Ordering::Relaxed) });
            if events & g::EPOLLONESHOT != 0 {
                item.events.store(events & PRIVATE, Ordering::Relaxed);
            }
            item.ready.store(!et && events & g::EPOLLONESHOT == 0, Ordering::Relaxed);
            last = Some(item.key());
        }
        if let Some(k) = last {
            inner.cursor = k;
        }
        if dead {
            inner.items.retain(|i| !i.removed.load(Ordering::Relaxed));
        }
        Ok(())
    }

    /// True if a scan would report something (poll of the epoll descriptor, or an epoll
    /// watching this one), reporting nothing: an item that fired but is not ready leaves the
    /// ready state, as Linux's __ep_eventpoll_poll drops it. `depth`: nesting of the look.
    pub fn peek(&self, depth: usize) -> bool {
        if depth > EP_MAX_NESTS + 1 {
            return false; // (EPOLL_CTL_ADD keeps chains shorter; a guard for the recursion)
        }
        let inner = self.inner.lock();
        for item in &inner.items {
            let ready = item.ready.load(Ordering::Relaxed);
            let fired = item.fired.swap(false, Ordering::Acquire);
            if !fired && !ready {
                continue;
            }
            let Some(f) = item.file.upgrade() else { continue };
            let events = item.events.load(Ordering::Relaxed);
            if events & !PRIVATE == 0 {
                continue;
            }
            let r = item.look(&f, events, depth);
            let et = events & g::EPOLLET != 0;
            if r == 0 {
                item.ready.store(false, Ordering::Relaxed);
                continue;
            }
            if fired {
                item.fired.store(true, Ordering::Release); // still to be reported
                return true;
            }
            if !et {
                return true;
            }
        }
        false
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        let items = core::mem::take(&mut self.inner.get_mut().items);
        for item in &items {
            item.unregister();
            if let Some(f) = item.file.upgrade() {
                if let FileKind::Epoll(c) = &f.kind {
                    c.inner.lock().parents.retain(|p| p.strong_count() > 0);
                }
            }
        }
    }
}
