//! virtio-blk disks: many requests in flight per device, completed by its interrupt or by whoever polls the used ring first.
//!
//! The driver speaks the block protocol itself over `virtio-drivers`' [`VirtQueue`] (the crate's
//! `VirtIOBlk` has a fixed 16-entry queue and a flush that spins assuming nothing else is in
//! flight). A request is three descriptors (header, data, status byte; a flush two), so a
//! [`QUEUE_SIZE`]-entry queue holds `QUEUE_SIZE / 3` of them. Each request in flight sits in the
//! device's table under its token (the head descriptor), owning its header and status memory,
//! its data buffer (a caller's borrowed slice for the synchronous calls, an owned `Vec` for the
//! asynchronous ones) and an `Arc<Completion>` its waiter holds too. Whoever holds the device
//! lock and finds a token in the used ring pops it with the same buffers, stores the result
//! (and the owned buffer) in the completion and wakes the waiter: the interrupt handler
//! ([`on_irq`], routed to the boot hart) or a synchronous caller polling for its own request.
//!
//! Kernel code runs with interrupts off, so the synchronous calls wait with interrupts off: on
//! the hart the disk interrupts, asleep in `wfi` with only the disks' interrupts let through
//! the PLIC, which they take themselves; elsewhere by polling ([`Disk::wait_until`]). The
//! futures sleep until the interrupt (or a poller) completes them. A dropped future leaves its buffer with the
//! request until the device hands it back. Buffers are given to the device by their direct-map
//! physical address (`VirtioHal::share`): kernel heap, kernel stacks and the image all lie in
//! the direct map, physically contiguous; user memory is not (copy through a kernel buffer).

use crate::boot::BootInfo;
use crate::dev;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::future::{Future, poll_fn};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::task::{Poll, Waker};
use hal::println;
use hal::virtio::drivers::Error as VirtioError;
use hal::virtio::drivers::queue::VirtQueue;
use hal::virtio::drivers::transport::{DeviceStatus, Transport};
use hal::virtio::{DeviceType, Mmio, VirtioHal};
use linux_raw_sys::errno::{EINVAL, EIO, EROFS};
use velox_exec::sync::{Mutex, relax};
use velox_hal as hal;

/// Bytes per sector (the unit of virtio-blk addresses, whatever the device's block size).
pub const SECTOR: usize = 512;
/// Descriptors in the request queue (a power of two the device must allow).
pub const QUEUE_SIZE: usize = 128;
/// Largest request the driver sends (bytes), unless the device asks for less (`size_max`).
pub const MAX_REQUEST: usize = 1 << 20;
/// Poll for completions instead of sleeping (boot: `velox.blk_poll`).
pub static POLL: AtomicBool = AtomicBool::new(false);
/// The disks' PLIC priority: above every other source's (1), so that a hart waiting for a
/// disk can take its interrupt alone (see `Disk::wait_until`).
const DISK_PRIORITY: u32 = 2;

/// Feature bits (virtio 1.2, 5.2.3).
const F_SIZE_MAX: u64 = 1 << 1;
const F_RO: u64 = 1 << 5;
const F_FLUSH: u64 = 1 << 9;
const F_VERSION_1: u64 = 1 << 32;
/// Config space: capacity (u64, as two u32), size_max (u32).
const CFG_CAPACITY: usize = 0;
const CFG_SIZE_MAX: usize = 8;
/// Request types.
const T_IN: u32 = 0;
const T_OUT: u32 = 1;
const T_FLUSH: u32 = 4;
/// Status byte the device writes; 0 is OK.
const S_OK: u8 = 0;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Read,
    Write,
    Flush,
}

/// The header the device reads and the status byte it writes: heap memory owned by the
/// request, at a fixed address while it is in flight.
struct ReqMem {
    hdr: [u8; 16],
    status: [u8; 1],
}

/// A request's data buffer.
enum Buf {
    /// A flush has none.
    None,
    /// A synchronous read: the caller's `&mut [u8]`, which it does not touch until the request
    /// is complete (it waits for it inside `read_sync`); or a started read's memory, which its
    /// owner does not touch until the [`ReadStarted`] is waited for or dropped (both wait).
    RawMut(NonNull<u8>, usize),
    /// A synchronous write: the caller's `&[u8]`, borrowed as above.
    RawConst(NonNull<u8>, usize),
    /// An asynchronous request: the whole buffer and the range (offset, length) it moves.
    Owned(Vec<u8>, usize, usize),
}

#[allow(unsafe_code)]
// SAFETY: the raw variants point into a buffer whose owner is blocked in `read_sync` or
// `write_sync` (on some hart) until the request completes, and only the holder of the device
// lock touches it meanwhile, so moving the pointer to another hart is as sound as handing over
// a `&mut [u8]` (`&[u8]`), which are `Send`.
unsafe impl Send for Buf {}

impl Buf {
    /// The data as the device reads it (writes).
    fn as_slice(&self) -> &[u8] {
        match self {
            Buf::None => &[],
            Buf::RawMut(p, n) | Buf::RawConst(p, n) => {
                #[allow(unsafe_code)]
                // SAFETY: see `Buf`: the pointer and length come from a live `&[u8]` or
                // `&mut [u8]` whose owner waits, not touching it, until the request completes.
                unsafe {
                    core::slice::from_raw_parts(p.as_ptr(), *n)
                }
            }
            Buf::Owned(v, off, n) => &v[*off..*off + *n],
        }
    }

    /// The data as the device writes it (reads). Only for read requests.
    fn as_mut_slice(&mut self) -> &mut [u8] {
        match self {
            Buf::RawMut(p, n) => {
                #[allow(unsafe_code)]
                // SAFETY: as in `as_slice`, from a `&mut [u8]` (so writing is allowed), and
                // the borrow of `self` keeps this the only reference made from it.
                unsafe {
                    core::slice::from_raw_parts_mut(p.as_ptr(), *n)
                }
            }
            Buf::Owned(v, off, n) => &mut v[*off..*off + *n],
            Buf::None | Buf::RawConst(..) => panic!("virtio-blk: read into a read-only buffer"),
        }
    }
}

/// What a waiter learns when its request completes.
#[derive(Default)]
struct Done {
    result: Option<Result<(), u32>>,
    /// An owned buffer, handed back.
    buf: Option<Vec<u8>>,
    waker: Option<Waker>,
}

/// Shared by a request in flight and its waiter.
#[derive(Default)]
struct Completion(Mutex<Done>);

/// A read started by [`Disk::read_start`], in requests the device holds.
pub struct ReadStarted {
    disk: Arc<Disk>,
    /// The requests not yet seen complete.
    parts: Vec<Arc<Completion>>,
    ok: bool,
}

impl ReadStarted {
    /// Wait (as the synchronous calls, [`Disk::wait_until`]) until the device is done with
    /// every request: whether all of them read without error.
    pub fn wait(mut self) -> bool {
        self.finish()
    }

    fn finish(&mut self) -> bool {
        let ok = finish(&self.disk, &mut self.parts);
        self.ok &= ok;
        self.ok
    }
}

/// Wait ([`Disk::wait_until`]) until every request of `parts` is complete, taking them out:
/// whether all of them succeeded.
fn finish(disk: &Disk, parts: &mut Vec<Arc<Completion>>) -> bool {
    let mut ok = true;
    // (Not locked while waiting: completing a request takes the lock.)
    disk.wait_until(|| {
        while let Some(done) = parts.last() {
            match done.0.lock().result {
                Some(r) => ok &= r.is_ok(),
                None => return false,
            }
            parts.pop();
        }
        true
    });
    ok
}

impl Drop for ReadStarted {
    /// The memory the device writes into is its owner's again only after this.
    fn drop(&mut self) {
        self.finish();
    }
}

/// A request the device holds.
struct InFlight {
    op: Op,
    mem: Box<ReqMem>,
    buf: Buf,
    done: Arc<Completion>,
}

/// The device state behind the lock.
struct Dev {
    transport: Mmio,
    queue: VirtQueue<VirtioHal, QUEUE_SIZE>,
    /// Requests in flight, by token.
    inflight: [Option<InFlight>; QUEUE_SIZE],
}

/// One virtio block device.
pub struct Disk {
    name: String,
    sectors: u64,
    ro: bool,
    has_flush: bool,
    /// Largest request (bytes, a multiple of [`SECTOR`]).
    max_bytes: usize,
    irq: Option<u32>,
    /// The hart its interrupt goes to.
    irq_hart: usize,
    dev: Mutex<Dev>,
    /// Tasks waiting for room in the queue.
    room: crate::exec::WaitQueue,
    /// Interrupts handled, requests completed by the handler, and by pollers.
    irqs: AtomicU64,
    irq_completions: AtomicU64,
    polled_completions: AtomicU64,
}

static DISKS: spin::Once<Vec<Arc<Disk>>> = spin::Once::new();

/// The driver's own device set-up (virtio 1.2, 3.1.1): features, config, the request queue.
fn open_device(mut t: Mmio) -> Result<(Dev, u64, u64, usize), VirtioError> {
    t.set_status(DeviceStatus::empty());
    t.set_status(DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER);
    let features = t.read_device_features() & (F_SIZE_MAX | F_RO | F_FLUSH | F_VERSION_1);
    t.write_driver_features(features);
    t.set_status(DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER | DeviceStatus::FEATURES_OK);
    if !t.get_status().contains(DeviceStatus::FEATURES_OK) {
        t.set_status(DeviceStatus::FAILED);
        return Err(VirtioError::Unsupported);
    }
    t.set_guest_page_size(hal::PAGE_SIZE as u32);
    let sectors = t.read_consistent(|| {
        let lo: u32 = t.read_config_space(CFG_CAPACITY)?;
        let hi: u32 = t.read_config_space(CFG_CAPACITY + 4)?;
        Ok(u64::from(lo) | u64::from(hi) << 32)
    })?;
    let mut max_bytes = MAX_REQUEST;
    if features & F_SIZE_MAX != 0 {
        let size_max: u32 = t.read_config_space(CFG_SIZE_MAX)?;
        max_bytes = max_bytes.min(size_max as usize & !(SECTOR - 1)).max(SECTOR);
    }
    let mut queue = match VirtQueue::new(&mut t, 0, false, false) {
        Ok(q) => q,
        Err(e) => {
            t.set_status(DeviceStatus::FAILED);
            return Err(e);
        }
    };
    queue.set_dev_notify(true);
    t.finish_init();
    Ok((Dev { transport: t, queue, inflight: [const { None }; QUEUE_SIZE] }, sectors, features, max_bytes))
}

/// Probe: claim every virtio-blk slot in address order (vda, vdb, ...), route its interrupt to
/// hart `hartid` and enable it. Once, at boot, after `dev::init` and `tty::init` (the PLIC).
pub fn init(info: &BootInfo, hartid: usize) {
    let mut disks = Vec::new();
    while let Some((t, base)) = dev::take_slot(DeviceType::Block) {
        let name = format!("vd{}", (b'a' + disks.len().min(25) as u8) as char);
        let (dev, sectors, features, max_bytes) = match open_device(t) {
            Ok(d) => d,
            Err(e) => {
                println!("[velox] virtio-blk: {name} at {base:#x} failed to initialise: {e:?}");
                continue;
            }
        };
        // (A source the PLIC driver does not handle is no interrupt: the disk is polled.)
        let irq = info.virtio.iter().find(|v| v.0 == base).and_then(|v| v.2).filter(|&i| i > 0 && i < hal::plic::SOURCES);
        let ro = features & F_RO != 0;
        println!("[velox] virtio-blk: {name}, {sectors} sectors, {}", if ro { "ro" } else { "rw" });
        if let Some(i) = irq {
            hal::plic::set_priority(i, DISK_PRIORITY);
            hal::plic::set_threshold(hartid, 0);
            hal::plic::enable(hartid, i, true);
        }
        disks.push(Arc::new(Disk {
            name,
            sectors,
            ro,
            has_flush: features & F_FLUSH != 0,
            max_bytes,
            irq,
            irq_hart: hartid,
            dev: Mutex::new(dev),
            room: crate::exec::WaitQueue::new(),
            irqs: AtomicU64::new(0),
            irq_completions: AtomicU64::new(0),
            polled_completions: AtomicU64::new(0),
        }));
    }
    if disks.iter().any(|d| d.irq.is_some()) {
        hal::cpu::enable_external_interrupt();
    }
    DISKS.call_once(|| disks);
}

/// Disk number i (0 = /dev/vda).
pub fn disk(i: usize) -> Option<Arc<Disk>> {
    DISKS.get()?.get(i).cloned()
}

/// Called from `dev::on_external_irq` for a PLIC source that may be a disk's: acknowledge,
/// complete what the device finished, wake the waiters. True if it woke a task.
pub fn on_irq(irq: u32) -> bool {
    let mut woke = false;
    for d in DISKS.get().into_iter().flatten().filter(|d| d.irq == Some(irq)) {
        d.irqs.fetch_add(1, Ordering::Relaxed);
        woke |= d.poll(true);
    }
    woke
}

fn header(op: Op, sector: u64) -> [u8; 16] {
    let t = match op {
        Op::Read => T_IN,
        Op::Write => T_OUT,
        Op::Flush => T_FLUSH,
    };
    let mut h = [0u8; 16];
    h[..4].copy_from_slice(&t.to_le_bytes());
    h[8..].copy_from_slice(&sector.to_le_bytes());
    h
}

/// Wakers collected under the device lock, woken after it is released.
const WAKE_BATCH: usize = 8;

impl Disk {
    /// "vda", "vdb", ...
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Capacity in 512-byte sectors.
    pub fn sectors(&self) -> u64 {
        self.sectors
    }

    /// True if the device refuses writes (it offers VIRTIO_BLK_F_RO).
    pub fn read_only(&self) -> bool {
        self.ro
    }

    /// (interrupts handled, requests completed by the interrupt handler, by pollers).
    pub fn stats(&self) -> (u64, u64, u64) {
        (self.irqs.load(Ordering::Relaxed), self.irq_completions.load(Ordering::Relaxed), self.polled_completions.load(Ordering::Relaxed))
    }

    /// Check a transfer of `len` bytes at `sector`.
    fn check(&self, sector: u64, len: usize, write: bool) -> Result<(), u32> {
        if len == 0 || !len.is_multiple_of(SECTOR) {
            return Err(EINVAL);
        }
        if write && self.ro {
            return Err(EROFS);
        }
        match sector.checked_add((len / SECTOR) as u64) {
            Some(end) if end <= self.sectors => Ok(()),
            _ => Err(EIO),
        }
    }

    /// Queue a request (under the device lock). Gives `buf` back if the queue is full.
    fn submit(&self, d: &mut Dev, op: Op, sector: u64, mut buf: Buf, done: &Arc<Completion>) -> Result<(), Buf> {
        let mut mem = Box::new(ReqMem { hdr: header(op, sector), status: [0xff] });
        let m: &mut ReqMem = &mut mem;
        #[allow(unsafe_code)]
        // SAFETY: the header, status and data memory stay valid and untouched until `pop_used`
        // returns this token: `mem` (a heap box) and `buf` (a heap `Vec`, or a caller's slice
        // whose owner waits for this request, see `Buf`) move into the in-flight table below,
        // which keeps them until `complete_one` pops the request with the same buffers. A
        // failed `add` keeps nothing.
        let r = unsafe {
            match op {
                Op::Read => d.queue.add(&[&m.hdr], &mut [buf.as_mut_slice(), &mut m.status]),
                Op::Write => d.queue.add(&[&m.hdr, buf.as_slice()], &mut [&mut m.status]),
                Op::Flush => d.queue.add(&[&m.hdr], &mut [&mut m.status]),
            }
        };
        let token = match r {
            Ok(t) => t,
            Err(VirtioError::QueueFull) => return Err(buf),
            Err(e) => panic!("virtio-blk: {}: queueing a request failed: {e:?}", self.name),
        };
        // The avail index store must be visible before the device's "no notify" flag is read
        // (a store-load pair: the crate orders neither), or both sides can miss the request.
        core::sync::atomic::fence(Ordering::SeqCst);
        if d.queue.should_notify() {
            d.transport.notify(0);
        }
        let slot = &mut d.inflight[token as usize];
        assert!(slot.is_none(), "virtio-blk: token {token} handed out twice");
        *slot = Some(InFlight { op, mem, buf, done: done.clone() });
        Ok(())
    }

    /// Pop the next used request, if any (under the device lock); its waiter's waker.
    fn complete_one(&self, d: &mut Dev) -> Option<Option<Waker>> {
        let token = d.queue.peek_used()?;
        let Some(mut f) = d.inflight.get_mut(token as usize).and_then(Option::take) else {
            panic!("virtio-blk: {}: the device returned unknown token {token}", self.name);
        };
        let m: &mut ReqMem = &mut f.mem;
        #[allow(unsafe_code)]
        // SAFETY: these are the buffers `submit` queued under this token, in the same shape.
        let r = unsafe {
            match f.op {
                Op::Read => d.queue.pop_used(token, &[&m.hdr], &mut [f.buf.as_mut_slice(), &mut m.status]),
                Op::Write => d.queue.pop_used(token, &[&m.hdr, f.buf.as_slice()], &mut [&mut m.status]),
                Op::Flush => d.queue.pop_used(token, &[&m.hdr], &mut [&mut m.status]),
            }
        };
        // (`pop_used` fails only for a token that is not next in the used ring: not after
        // `peek_used` under the lock.)
        if let Err(e) = r {
            panic!("virtio-blk: {}: popping token {token} failed: {e:?}", self.name);
        }
        let result = if m.status[0] == S_OK { Ok(()) } else { Err(EIO) };
        let mut s = f.done.0.lock();
        s.result = Some(result);
        if let Buf::Owned(v, ..) = core::mem::replace(&mut f.buf, Buf::None) {
            s.buf = Some(v);
        }
        Some(s.waker.take())
    }

    /// Complete whatever the device finished; from the interrupt handler (`irq`: acknowledge
    /// the interrupt first) or a poller. True if it woke a waiter.
    fn poll(&self, irq: bool) -> bool {
        let mut woke = false;
        let mut ack = irq;
        loop {
            let mut wakers: [Option<Waker>; WAKE_BATCH] = Default::default();
            let (mut n, mut completed) = (0, 0);
            {
                let mut d = if irq {
                    self.dev.lock()
                } else {
                    // A poller waits anyway: if another hart is at the device, it completes.
                    match self.dev.try_lock() {
                        Some(d) => d,
                        None => return false,
                    }
                };
                if ack {
                    // Acknowledge before looking, so a completion after the look interrupts again.
                    d.transport.ack_interrupt();
                    ack = false;
                }
                while n < WAKE_BATCH {
                    let Some(w) = self.complete_one(&mut d) else { break };
                    completed += 1;
                    if let Some(w) = w {
                        wakers[n] = Some(w);
                        n += 1;
                    }
                }
            }
            if completed == 0 {
                return woke;
            }
            let counter = if irq { &self.irq_completions } else { &self.polled_completions };
            counter.fetch_add(completed, Ordering::Relaxed);
            for w in wakers.into_iter().flatten() {
                w.wake();
                woke = true;
            }
            self.room.wake_all();
            if n < WAKE_BATCH {
                return woke;
            }
        }
    }

    /// One request, waited for as the synchronous calls are ([`Disk::wait_until`]).
    fn request_sync(&self, op: Op, sector: u64, mut buf: Buf) -> Result<(), u32> {
        let done = Arc::new(Completion::default());
        loop {
            let r = self.submit(&mut self.dev.lock(), op, sector, buf, &done);
            match r {
                Ok(()) => break,
                Err(b) => buf = b, // queue full: complete something first
            }
            self.poll(false);
            relax();
        }
        let mut result = None;
        self.wait_until(|| {
            result = done.0.lock().result;
            result.is_some()
        });
        result.unwrap_or(Err(EIO))
    }

    /// Wait (interrupts off) until `done()`. On the hart the disk interrupts, asleep in `wfi`
    /// between looks, taking the disk's interrupt itself: the PLIC threshold is raised above
    /// every other source meanwhile, so no other device's handler runs inside the wait (its
    /// caller may hold any lock, the tty's included). Elsewhere, or with `velox.blk_poll`,
    /// by polling the used ring. Sleeping lets QEMU's I/O threads have the host CPU that a
    /// polling vCPU would keep busy.
    fn wait_until(&self, mut done: impl FnMut() -> bool) {
        let me = crate::smp::this().hartid.load(Ordering::Relaxed);
        if self.irq.is_none() || me != self.irq_hart || POLL.load(Ordering::Relaxed) {
            while !done() {
                self.poll(false);
                relax();
            }
            return;
        }
        if done() {
            return;
        }
        hal::plic::set_threshold(me, DISK_PRIORITY - 1);
        let mut slept = false;
        loop {
            self.poll(false);
            if done() {
                break;
            }
            // (A completion after the look above leaves the interrupt pending: wfi returns.
            // The timer stays masked: a deadline already passed would end every wfi at once.)
            hal::cpu::wait_for_interrupt_not_timer();
            slept = true;
            // Other harts' requests (shootdowns, membarrier) are answered meanwhile.
            hal::cpu::clear_soft_interrupt();
            crate::smp::service();
            while let Some(irq) = hal::plic::claim(me) {
                on_irq(irq);
                hal::plic::complete(me, irq);
            }
        }
        // (0: what `init` set; no disk wait runs inside another.)
        hal::plic::set_threshold(me, 0);
        if slept {
            // An IPI cleared above may have carried more than requests (a task queued here, a
            // signal or exit for the thread running here): let the trap path see it too.
            hal::cpu::raise_soft_interrupt();
        }
    }

    /// Queue a request from a task, waiting (asleep) for room in the queue.
    async fn submit_async(&self, op: Op, sector: u64, buf: Buf) -> Arc<Completion> {
        let done = Arc::new(Completion::default());
        let mut pending = Some(buf);
        // (Dropped while waiting for room: the buffer was never queued and goes with `pending`.)
        self.room
            .wait_until(|| {
                let b = pending.take()?;
                match self.submit(&mut self.dev.lock(), op, sector, b, &done) {
                    Ok(()) => Some(()),
                    Err(b) => {
                        pending = Some(b);
                        None
                    }
                }
            })
            .await;
        done
    }

    /// Wait (asleep) until a request is complete; its result.
    fn wait(done: &Completion) -> impl Future<Output = Result<(), u32>> + '_ {
        poll_fn(move |cx| {
            let mut s = done.0.lock();
            match s.result {
                Some(r) => Poll::Ready(r),
                None => {
                    if !s.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        s.waker = Some(cx.waker().clone());
                    }
                    Poll::Pending
                }
            }
        })
    }

    /// One request with an owned buffer, waited for asynchronously; the buffer comes back.
    async fn request_async(&self, op: Op, sector: u64, buf: Vec<u8>, off: usize, n: usize) -> (Result<(), u32>, Vec<u8>) {
        let done = self.submit_async(op, sector, Buf::Owned(buf, off, n)).await;
        // (Dropped from here on: the request keeps the buffer, and frees it once completed.)
        let result = Self::wait(&done).await;
        let buf = done.0.lock().buf.take().expect("virtio-blk: completed request without its buffer");
        (result, buf)
    }

    /// Synchronous read of `buf.len() / 512` sectors from `sector` (a non-zero multiple of 512
    /// bytes: EINVAL otherwise; EIO past the end or on a device error), in requests of at most
    /// the device's limit, all queued at once. Waits with interrupts off ([`Disk::wait_until`]),
    /// so any kernel context on any hart may call it, concurrently with other requests.
    pub fn read_sync(&self, sector: u64, buf: &mut [u8]) -> Result<(), u32> {
        self.check(sector, buf.len(), false)?;
        let p = NonNull::new(buf.as_mut_ptr()).expect("slice pointers are not null");
        #[allow(unsafe_code)]
        // SAFETY: `buf` is borrowed until this returns, and `finish` waits for every request.
        let mut parts = unsafe { self.start_reads(sector, p, buf.len()) };
        if finish(self, &mut parts) { Ok(()) } else { Err(EIO) }
    }

    /// Queue reads of `len` bytes from `sector` into `buf` in requests of at most the device's
    /// limit, all in flight at once.
    ///
    /// # Safety
    /// As [`Disk::read_start`].
    #[allow(unsafe_code)]
    unsafe fn start_reads(&self, sector: u64, buf: NonNull<u8>, len: usize) -> Vec<Arc<Completion>> {
        let chunk = self.max_bytes;
        let mut parts = Vec::with_capacity(len.div_ceil(chunk));
        let mut off = 0;
        while off < len {
            let n = (len - off).min(chunk);
            #[allow(unsafe_code)]
            // SAFETY: `off < len`: inside the caller's buffer.
            let p = unsafe { buf.add(off) };
            let done = Arc::new(Completion::default());
            let mut b = Buf::RawMut(p, n);
            loop {
                match self.submit(&mut self.dev.lock(), Op::Read, sector + (off / SECTOR) as u64, b, &done) {
                    Ok(()) => break,
                    Err(back) => b = back, // queue full: complete something first
                }
                self.poll(false);
                relax();
            }
            parts.push(done);
            off += n;
        }
        parts
    }

    /// Start reading `len` bytes (a non-zero multiple of 512) from `sector` into `buf`, in
    /// requests of at most the device's limit, without waiting for them (the page cache's
    /// asynchronous read-ahead); EINVAL or EIO as [`Disk::read_sync`].
    ///
    /// # Safety
    /// `buf..buf + len` stays valid, and nothing else reads or writes it, until the returned
    /// [`ReadStarted`] is waited for or dropped (a drop waits for the device).
    #[allow(unsafe_code)]
    pub unsafe fn read_start(self: &Arc<Self>, sector: u64, buf: NonNull<u8>, len: usize) -> Result<ReadStarted, u32> {
        self.check(sector, len, false)?;
        // SAFETY: the caller's contract.
        let parts = unsafe { self.start_reads(sector, buf, len) };
        Ok(ReadStarted { disk: self.clone(), parts, ok: true })
    }

    /// Synchronous write (as [`Disk::read_sync`]; EROFS on a read-only disk).
    pub fn write_sync(&self, sector: u64, buf: &[u8]) -> Result<(), u32> {
        self.check(sector, buf.len(), true)?;
        let mut s = sector;
        for chunk in buf.chunks(self.max_bytes) {
            let n = chunk.len();
            let p = NonNull::new(chunk.as_ptr().cast_mut()).expect("slice pointers are not null");
            self.request_sync(Op::Write, s, Buf::RawConst(p, n))?;
            s += (n / SECTOR) as u64;
        }
        Ok(())
    }

    /// Synchronous cache flush (nothing to do if the device has no write cache to flush).
    pub fn flush_sync(&self) -> Result<(), u32> {
        if !self.has_flush {
            return Ok(());
        }
        self.request_sync(Op::Flush, 0, Buf::None)
    }

    /// Asynchronous cache flush.
    pub async fn flush(&self) -> Result<(), u32> {
        if !self.has_flush {
            return Ok(());
        }
        let done = self.submit_async(Op::Flush, 0, Buf::None).await;
        Self::wait(&done).await
    }

    /// An asynchronous transfer: requests of at most `max_bytes`, one after the other.
    async fn transfer(&self, op: Op, sector: u64, mut buf: Vec<u8>) -> (Result<(), u32>, Vec<u8>) {
        if let Err(e) = self.check(sector, buf.len(), op == Op::Write) {
            return (Err(e), buf);
        }
        let (len, mut off) = (buf.len(), 0);
        while off < len {
            let n = (len - off).min(self.max_bytes);
            let (r, b) = self.request_async(op, sector + (off / SECTOR) as u64, buf, off, n).await;
            buf = b;
            if r.is_err() {
                return (r, buf);
            }
            off += n;
        }
        (Ok(()), buf)
    }

    /// Asynchronous read into a buffer the request owns until it completes (woken by the
    /// completion interrupt, or by a poller that completes it first). Dropping the future
    /// early is safe: the driver keeps the buffer until the device hands it back.
    pub async fn read(&self, sector: u64, buf: Vec<u8>) -> (Result<(), u32>, Vec<u8>) {
        self.transfer(Op::Read, sector, buf).await
    }

    /// Asynchronous write (as [`Disk::read`]; EROFS on a read-only disk).
    pub async fn write(&self, sector: u64, buf: Vec<u8>) -> (Result<(), u32>, Vec<u8>) {
        self.transfer(Op::Write, sector, buf).await
    }
}

/// Poll all of `futs` until each is done (the self-test's concurrent requests).
async fn join_all<F: Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut futs: Vec<_> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut all = true;
        for (f, o) in futs.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *o = Some(v),
                    Poll::Pending => all = false,
                }
            }
        }
        if all { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    out.into_iter().map(|o| o.expect("every future finished")).collect()
}

/// Tasks the self-test runs next to its own requests.
const STRESS_TASKS: usize = 3;

/// One of the self-test's concurrent tasks: synchronous reads (polling) between batches of
/// asynchronous ones, all checked against the pattern in the last sectors.
async fn stress(d: &Disk, t: usize, last: u64, want: &[u8]) -> Result<(), String> {
    for round in 0..4 {
        let mut b = [0u8; SECTOR];
        for k in 0..TEST_SECTORS as usize {
            d.read_sync(last + k as u64, &mut b).map_err(|e| format!("task {t}: read_sync: errno {e}"))?;
            if b[..] != want[k * SECTOR..(k + 1) * SECTOR] {
                return Err(format!("task {t}: read_sync returned other data"));
            }
        }
        let reads: Vec<_> = (0..24u64).map(|k| d.read(last + k % TEST_SECTORS, alloc::vec![0u8; SECTOR])).collect();
        for (k, (r, got)) in join_all(reads).await.into_iter().enumerate() {
            r.map_err(|e| format!("task {t} round {round}: async read {k}: errno {e}"))?;
            let s = k % TEST_SECTORS as usize;
            if got[..] != want[s * SECTOR..(s + 1) * SECTOR] {
                return Err(format!("task {t} round {round}: async read {k} returned other data"));
            }
        }
    }
    Ok(())
}

/// The self-test's pattern byte `i` of sector `s`.
fn pattern(s: u64, i: usize) -> u8 {
    (s as usize * 31 + i) as u8 ^ 0xa5
}

/// Sectors at the end of the disk the self-test writes.
const TEST_SECTORS: u64 = 8;

/// The synchronous part of the self-test, with its buffers on the kernel stack.
fn self_test_sync(d: &Disk) -> Result<String, String> {
    let mut head = [0u8; 8 * SECTOR];
    d.read_sync(0, &mut head).map_err(|e| format!("read_sync sectors 0..8: errno {e}"))?;
    let first = head[..16].iter().map(|&b| if b.is_ascii_graphic() { b as char } else { '.' }).collect::<String>();
    let last = d.sectors() - TEST_SECTORS;
    let mut pat = [0u8; TEST_SECTORS as usize * SECTOR];
    for (i, b) in pat.iter_mut().enumerate() {
        *b = pattern(last + (i / SECTOR) as u64, i % SECTOR);
    }
    d.write_sync(last, &pat).map_err(|e| format!("write_sync: errno {e}"))?;
    d.flush_sync().map_err(|e| format!("flush_sync: errno {e}"))?;
    let mut back = [0u8; TEST_SECTORS as usize * SECTOR];
    d.read_sync(last, &mut back).map_err(|e| format!("read_sync back: errno {e}"))?;
    if back != pat {
        return Err("read_sync returned other data than written".into());
    }
    // Errors.
    let mut odd = [0u8; 100];
    for (what, got, want) in [
        ("odd length", d.read_sync(0, &mut odd), EINVAL),
        ("empty", d.read_sync(0, &mut []), EINVAL),
        ("past the end", d.read_sync(last + 1, &mut back), EIO),
        ("huge sector", d.read_sync(u64::MAX, &mut head), EIO),
    ] {
        if got != Err(want) {
            return Err(format!("{what}: got {got:?}, want errno {want}"));
        }
    }
    Ok(first)
}

/// `velox.blktest`: exercise vda (reads, a pattern written to its last 8 sectors, flush,
/// read-backs synchronous and asynchronous, 16 concurrent reads that only the interrupt may
/// complete, 64 concurrent reads next to tasks reading synchronously, a 3 MiB transfer split
/// into requests, a dropped request, the error cases) and the other disks, and print
/// `[velox] blktest: ok (...)` or `[velox] blktest: FAIL reason`.
pub async fn self_test() {
    let r = match self_test_inner().await {
        Ok(msg) => self_test_others().await.map(|o| msg + &o),
        Err(e) => Err(e),
    };
    match r {
        Ok(msg) => println!("[velox] blktest: ok ({msg})"),
        Err(e) => println!("[velox] blktest: FAIL {e}"),
    }
}

/// The other disks (vdb, ...): read their first sector both ways; a read-only one must refuse
/// writes with EROFS. Their first 16 bytes, for the log.
async fn self_test_others() -> Result<String, String> {
    let mut out = String::new();
    for d in (1..).map_while(disk) {
        let mut s0 = [0u8; SECTOR];
        d.read_sync(0, &mut s0).map_err(|e| format!("{}: read_sync: errno {e}", d.name()))?;
        let (r, a0) = d.read(0, alloc::vec![0u8; SECTOR]).await;
        r.map_err(|e| format!("{}: async read: errno {e}", d.name()))?;
        if a0[..] != s0[..] {
            return Err(format!("{}: sync and async reads of sector 0 differ", d.name()));
        }
        if d.read_only() {
            let w = d.write_sync(0, &s0);
            let (a, _) = d.write(0, a0).await;
            if w != Err(EROFS) || a != Err(EROFS) {
                return Err(format!("{}: write to a read-only disk: {w:?} / {a:?}", d.name()));
            }
        }
        let first = s0[..16].iter().map(|&b| if b.is_ascii_graphic() { b as char } else { '.' }).collect::<String>();
        out += &format!("; {}{} starts {first:?}", d.name(), if d.read_only() { " (ro)" } else { "" });
    }
    Ok(out)
}

async fn self_test_inner() -> Result<String, String> {
    let d = disk(0).ok_or("no virtio-blk disk")?;
    if d.read_only() || d.sectors() < 6 * 2048 + TEST_SECTORS {
        return Err(format!("{}: needs a writable disk of at least 6 MiB", d.name()));
    }
    let first = self_test_sync(&d)?;
    let last = d.sectors() - TEST_SECTORS;
    let n = TEST_SECTORS as usize * SECTOR;
    let want: Vec<u8> = (0..n).map(|i| pattern(last + (i / SECTOR) as u64, i % SECTOR)).collect();
    // Asynchronous read-back. Until the stress below, nothing polls: every completion must come
    // from the interrupt handler.
    let (irqs0, by_irq0, polled0) = d.stats();
    let (r, got) = d.read(last, alloc::vec![0u8; n]).await;
    r.map_err(|e| format!("async read back: errno {e}"))?;
    if got != want {
        return Err("async read returned other data than written".into());
    }
    // 16 concurrent reads: each of the 8 pattern sectors twice.
    let reads: Vec<_> = (0..16u64).map(|k| d.read(last + k % TEST_SECTORS, alloc::vec![0u8; SECTOR])).collect();
    for (k, (r, got)) in join_all(reads).await.into_iter().enumerate() {
        r.map_err(|e| format!("concurrent read {k}: errno {e}"))?;
        let s = k % TEST_SECTORS as usize;
        if got[..] != want[s * SECTOR..(s + 1) * SECTOR] {
            return Err(format!("concurrent read {k} returned other data"));
        }
    }
    let (irqs1, by_irq1, polled1) = d.stats();
    if by_irq1 - by_irq0 != 17 || polled1 != polled0 {
        return Err(format!("17 asynchronous requests: {} completed by irq, {} by polling", by_irq1 - by_irq0, polled1 - polled0));
    }
    let phase = format!("async-only phase: 17 requests, {} irqs, 17 completed by irq, 0 by polling", irqs1 - irqs0);
    // 64 concurrent reads: more than the queue holds (the rest wait for room), while spawned
    // tasks (on other harts, if any) read the same sectors synchronously and asynchronously.
    let results: Arc<Mutex<Vec<Result<(), String>>>> = Arc::default();
    let finished: Vec<Arc<crate::exec::Event>> = (0..STRESS_TASKS).map(|_| Arc::default()).collect();
    for (t, ev) in finished.iter().enumerate() {
        let (d, want, results, ev) = (d.clone(), want.clone(), results.clone(), ev.clone());
        crate::exec::spawn(async move {
            let r = stress(&d, t, last, &want).await;
            results.lock().push(r);
            ev.set();
        });
    }
    let reads: Vec<_> = (0..64u64).map(|k| d.read(last + k % TEST_SECTORS, alloc::vec![0u8; SECTOR])).collect();
    for (k, (r, got)) in join_all(reads).await.into_iter().enumerate() {
        r.map_err(|e| format!("concurrent read {k} of 64: errno {e}"))?;
        let s = k % TEST_SECTORS as usize;
        if got[..] != want[s * SECTOR..(s + 1) * SECTOR] {
            return Err(format!("concurrent read {k} of 64 returned other data"));
        }
    }
    for ev in &finished {
        ev.wait().await;
    }
    for r in results.lock().drain(..) {
        r?;
    }
    // A 3 MiB asynchronous write and read back, synchronously and asynchronously (split into
    // 1 MiB requests), from sector 2048 (1 MiB in).
    let big = 3 << 20;
    let data: Vec<u8> = (0..big).map(|i| (i * 7 + i / 4096) as u8).collect();
    let (r, data) = d.write(2048, data).await;
    r.map_err(|e| format!("3 MiB async write: errno {e}"))?;
    let mut back = alloc::vec![0u8; big];
    d.read_sync(2048, &mut back).map_err(|e| format!("3 MiB read_sync: errno {e}"))?;
    if back != data {
        return Err("3 MiB read_sync returned other data".into());
    }
    back.fill(0);
    let (r, back) = d.read(2048, back).await;
    r.map_err(|e| format!("3 MiB async read: errno {e}"))?;
    if back != data {
        return Err("3 MiB async read returned other data".into());
    }
    let (r, _) = d.read(2048, alloc::vec![0u8; 100]).await;
    if r != Err(EINVAL) {
        return Err(format!("async odd length: got {r:?}"));
    }
    d.flush().await.map_err(|e| format!("async flush: errno {e}"))?;
    // A request dropped while in flight: the driver keeps its buffer until the device is done.
    {
        let mut f = Box::pin(d.read(2048, alloc::vec![0u8; 1 << 20]));
        poll_fn(|cx| {
            let _ = f.as_mut().poll(cx);
            Poll::Ready(())
        })
        .await;
    }
    let mut one = alloc::vec![0u8; SECTOR];
    d.read_sync(last, &mut one).map_err(|e| format!("read after a dropped request: errno {e}"))?;
    if one[..] != want[..SECTOR] {
        return Err("read after a dropped request returned other data".into());
    }
    let (irqs, by_irq, polled) = d.stats();
    Ok(format!("{}: sector 0 starts {first:?}; {phase}; in all: irqs {irqs}, completed by irq {by_irq}, by polling {polled}", d.name()))
}
