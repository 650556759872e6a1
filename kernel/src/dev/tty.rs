//! The console terminal: the UART's receive interrupt feeding Linux's line discipline (`velox-tty`), job control on it, and the tty ioctls.
//!
//! One terminal exists, [`CONSOLE`] (/dev/console, /dev/tty, /dev/ttyS0). The PLIC routes the
//! UART's interrupt to the boot hart; [`on_uart_irq`] drains the receive FIFO through the line
//! discipline, writes the echo, signals the foreground process group (^C, ^\, ^Z) and wakes
//! readers. The controlling-terminal state (session, foreground group) lives here: a process
//! has this terminal as its controlling terminal when its session is the terminal's session
//! (and it did not give it up with TIOCNOTTY).
//!
//! The read side for the file layer: a non-blocking [`Tty::try_read`] (the trap fast path),
//! then [`Tty::wait_readable`] and again `try_read` until done; that pair keeps the VMIN/VTIME
//! timing of each thread's read between the calls. [`Tty::read`] is the same loop in one call.
//! Lock order: `ld`, then `reads`; `ctrl` is never held with another of them, nor while
//! signals are sent.
// (The file layer's read/write/ioctl/poll calls are wired separately; until then parts of
// the API have no caller.)
#![allow(dead_code)]

use crate::exec::WaitQueue;
use crate::fs::pipe::Io;
use crate::syscall::uaccess;
use crate::task::Thread;
use crate::task::process::{self, Process};
use crate::task::signal;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::Poll;
use linux_raw_sys::errno;
use linux_raw_sys::general as g;
use linux_raw_sys::ioctl;
use velox_abi::{SigInfo, Termios, Termios2, Winsize};
use velox_exec::sync::Mutex;
use velox_hal as hal;
use velox_tty::{LineDisc, ReadCheck};

/// ERESTARTSYS as an errno-style value (`Io::Err(RESTART)`, `Err(RESTART)`): the call was
/// interrupted by a signal, or a background read/write stopped the caller's group (SIGTTIN,
/// SIGTTOU). The slow path's dispatcher settles it; the fast path must not return it to user
/// mode (take the slow path instead).
pub const RESTART: u32 = (-signal::ERESTARTSYS) as u32;

/// The UART's PLIC source (QEMU `virt`: 10; the device tree may say otherwise).
static UART_IRQ: AtomicU32 = AtomicU32::new(10);

/// Most bytes one write call moves (the caller loops, yielding between calls).
const WRITE_STEP: usize = 64 << 10;

/// Job-control state of the terminal.
struct Ctrl {
    /// The session this is the controlling terminal of (its leader's pid; 0: none).
    session: usize,
    /// The foreground process group (0: none).
    pgrp: usize,
    winsize: Winsize,
    /// Processes of the session that gave the terminal up (TIOCNOTTY by a non-leader).
    detached: Vec<usize>,
}

/// A thread's read in progress between `try_read` and `wait_readable`: how much it asked
/// for and when its wait began (for VMIN/VTIME).
#[derive(Clone, Copy)]
struct PendingRead {
    tid: usize,
    want: usize,
    start: Option<u64>,
}

/// Most pending-read records kept (a thread that never comes back leaves one behind).
const MAX_PENDING: usize = 64;

/// A terminal.
pub struct Tty {
    ld: Mutex<LineDisc>,
    ctrl: Mutex<Ctrl>,
    /// (A fixed table: no heap, so nothing for the leak checks to see.)
    reads: Mutex<[Option<PendingRead>; MAX_PENDING]>,
    /// Readers (and poll) wait here for input.
    pub read_wait: WaitQueue,
    /// Writers wait here while output is stopped (^S, TCOOFF).
    pub write_wait: WaitQueue,
}

/// The console terminal (the UART).
pub static CONSOLE: Tty = Tty::new();

/// The console terminal (the UART).
pub fn console() -> &'static Tty {
    &CONSOLE
}

/// One decisecond (VTIME's unit) in timer ticks.
fn ds_ticks() -> u64 {
    crate::time::ns_to_ticks(100_000_000)
}

/// Send `s` to every process of group `pgrp` as the kernel (kill_pgrp with SI_KERNEL).
/// pid 1 only takes signals it has a handler for, as Linux's init.
fn signal_group(pgrp: usize, s: u32) {
    if pgrp == 0 {
        return;
    }
    let info = SigInfo::new(s as i32, g::SI_KERNEL as i32);
    for p in process::all() {
        if p.pgid.load(Ordering::Relaxed) != pgrp {
            continue;
        }
        if p.pid == 1 && p.sig.lock().actions[s as usize - 1].handler <= signal::SIG_IGN {
            continue;
        }
        let _ = signal::send_process(&p, &info);
    }
}

/// True if process `pid` exists and has not exited.
fn alive(pid: usize) -> bool {
    process::find(pid).is_some_and(|p| p.exit_status().is_none() && !p.is_exiting())
}

/// A process group is orphaned when no member has a parent in another group of the same
/// session (POSIX): its members get EIO instead of stopping on SIGTTIN/SIGTTOU.
fn orphaned(pgrp: usize) -> bool {
    !process::all().iter().any(|p| {
        p.pgid.load(Ordering::Relaxed) == pgrp && p.exit_status().is_none() && {
            let sid = p.sid.load(Ordering::Relaxed);
            process::find(p.ppid()).is_some_and(|q| q.pgid.load(Ordering::Relaxed) != pgrp && q.sid.load(Ordering::Relaxed) == sid)
        }
    })
}

/// `s` is blocked by `t` or ignored by its process.
fn ignored(t: &Thread, s: u32) -> bool {
    t.sigmask.load(Ordering::Relaxed) & velox_signal::bit(s as usize) != 0 || t.process.sig.lock().actions[s as usize - 1].handler == signal::SIG_IGN
}

/// Linux's TIOCINQ etc. take an `int`.
fn put_int(arg: usize, v: i32) -> Result<isize, u32> {
    uaccess::write(arg, &v).map(|_| 0)
}

fn stop_or_signal(t: &Thread) -> Option<Result<(), u32>> {
    if t.signal_pending() || t.is_exiting() { Some(Err(RESTART)) } else { None }
}

impl Tty {
    /// A terminal with Linux's default termios, no session, 24x80.
    pub const fn new() -> Tty {
        Tty {
            ld: Mutex::new(LineDisc::new()),
            ctrl: Mutex::new(Ctrl {
                session: 0,
                pgrp: 0,
                winsize: Winsize { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 },
                detached: Vec::new(),
            }),
            reads: Mutex::new([None; MAX_PENDING]),
            read_wait: WaitQueue::new(),
            write_wait: WaitQueue::new(),
        }
    }

    // ---- the device side ----

    /// Feed bytes received from the device through the line discipline: echo, signals to the
    /// foreground group, wake-ups. True if anything arrived.
    pub fn receive(&self, bytes: &mut dyn FnMut(&mut dyn FnMut(u8)) -> usize) -> bool {
        let mut echo = Vec::new();
        let mut sigs: Vec<u32> = Vec::new();
        let mut started = false;
        let now = crate::time::ticks();
        let n = {
            let mut ld = self.ld.lock();
            bytes(&mut |b| {
                let ev = ld.receive(b, now, &mut echo);
                if let Some(s) = ev.signal {
                    if sigs.try_reserve(1).is_ok() {
                        sigs.push(s);
                    }
                }
                started |= ev.started;
            })
        };
        if n == 0 {
            return false;
        }
        if !echo.is_empty() {
            hal::console::write_raw(&echo);
        }
        if !sigs.is_empty() {
            let fg = self.ctrl.lock().pgrp;
            for s in sigs {
                signal_group(fg, s);
            }
        }
        self.read_wait.wake_all();
        if started {
            self.write_wait.wake_all();
        }
        true
    }

    // ---- controlling terminal ----

    /// Forget a session whose leader is gone (Linux hangs the terminal up when the leader
    /// exits; here the next look notices).
    fn refresh(c: &mut Ctrl) {
        if c.session != 0 && !alive(c.session) {
            c.session = 0;
            c.pgrp = 0;
            c.detached.clear();
        }
    }

    fn is_ctty_locked(c: &mut Ctrl, p: &Process) -> bool {
        Self::refresh(c);
        c.session != 0 && p.sid.load(Ordering::Relaxed) == c.session && !c.detached.contains(&p.pid)
    }

    /// The leader of session `sid` exited: if this is that session's controlling terminal,
    /// it is hung up: the foreground group gets SIGHUP and SIGCONT and the terminal is free
    /// (Linux's disassociate_ctty on exit).
    pub fn session_leader_exit(&self, sid: usize) {
        let fg = {
            let mut c = self.ctrl.lock();
            if c.session != sid {
                return;
            }
            let fg = c.pgrp;
            c.session = 0;
            c.pgrp = 0;
            c.detached.clear();
            fg
        };
        signal_group(fg, g::SIGHUP);
        signal_group(fg, g::SIGCONT);
    }

    /// True if this is `t`'s process's controlling terminal (for /dev/tty: ENXIO if not).
    pub fn is_ctty_of(&self, t: &Thread) -> bool {
        Self::is_ctty_locked(&mut self.ctrl.lock(), &t.process)
    }

    /// The terminal was opened by `t`: a session leader without a controlling terminal that
    /// opens it without O_NOCTTY (and for reading) acquires it, if no session has it. The
    /// caller passes `noctty` for O_NOCTTY, for a write-only open, and for /dev/console
    /// (Linux never makes the console a controlling terminal on open).
    pub fn on_open(&self, t: &Thread, noctty: bool) {
        let p = &t.process;
        if noctty || p.sid.load(Ordering::Relaxed) != p.pid {
            return;
        }
        let mut c = self.ctrl.lock();
        Self::refresh(&mut c);
        if c.session == 0 {
            c.session = p.pid;
            c.pgrp = p.pgid.load(Ordering::Relaxed);
            c.detached.clear();
        }
    }

    /// Linux's `__tty_check_change`: may `t` act as the foreground on this terminal? A
    /// process of a background group gets EIO (signal ignored or blocked for SIGTTIN, or an
    /// orphaned group) or has its group sent `sig` and gets RESTART; a blocked or ignored
    /// SIGTTOU lets it go on.
    fn check_change(&self, t: &Thread, sig: u32) -> Result<(), u32> {
        let p = &t.process;
        let fg = {
            let mut c = self.ctrl.lock();
            if !Self::is_ctty_locked(&mut c, p) {
                return Ok(());
            }
            c.pgrp
        };
        let mine = p.pgid.load(Ordering::Relaxed);
        if fg == 0 || fg == mine {
            return Ok(());
        }
        if ignored(t, sig) {
            return if sig == g::SIGTTIN { Err(errno::EIO) } else { Ok(()) };
        }
        if orphaned(mine) {
            return Err(errno::EIO);
        }
        signal_group(mine, sig);
        Err(RESTART)
    }

    // ---- reading ----

    fn take_pending(&self, tid: usize) -> Option<PendingRead> {
        self.reads.lock().iter_mut().find(|p| p.is_some_and(|p| p.tid == tid))?.take()
    }

    fn note_pending(&self, tid: usize, want: usize, start: Option<u64>) {
        let mut r = self.reads.lock();
        if let Some(Some(p)) = r.iter_mut().find(|p| p.is_some_and(|p| p.tid == tid)) {
            p.want = want;
            if p.start.is_none() {
                p.start = start;
            }
            return;
        }
        // A free slot, else one chosen by the tid (a full table only means a thread whose
        // read was forgotten waits its VTIME again).
        let i = r.iter().position(|p| p.is_none()).unwrap_or(tid % MAX_PENDING);
        r[i] = Some(PendingRead { tid, want, start });
    }

    fn copy_out(ld: &mut LineDisc, buf: usize, len: usize) -> Io {
        let mut at = buf;
        match ld.read(len, |s| {
            let ok = uaccess::write_bytes(at, s).is_ok();
            at += s.len();
            ok
        }) {
            Ok(n) => Io::Done(n),
            Err(()) => Io::Err(errno::EFAULT),
        }
    }

    fn attempt(&self, t: &Thread, buf: usize, len: usize, nonblock: bool) -> Io {
        if let Err(e) = self.check_change(t, g::SIGTTIN) {
            return Io::Err(e);
        }
        let tid = t.tid();
        let pending = self.take_pending(tid);
        if len == 0 {
            return Io::Done(0);
        }
        let now = crate::time::ticks();
        let start = pending.and_then(|p| p.start).unwrap_or(now);
        let mut ld = self.ld.lock();
        match ld.read_check(len, start, now, ds_ticks()) {
            ReadCheck::Ready => Self::copy_out(&mut ld, buf, len),
            // O_NONBLOCK takes what there is (non-canonical), as Linux's loop does.
            _ if nonblock && ld.termios().c_lflag & g::ICANON == 0 && ld.inq() > 0 => Self::copy_out(&mut ld, buf, len),
            _ => {
                drop(ld);
                if !nonblock {
                    self.note_pending(tid, len, pending.and_then(|p| p.start));
                }
                Io::WouldBlock
            }
        }
    }

    /// One non-blocking read attempt of up to `len` bytes into user memory at `buf`:
    /// `Io::WouldBlock` if the read must wait (then [`Tty::wait_readable`] and try again);
    /// `Io::Err(EIO)` or `Io::Err(RESTART)` for a background process (SIGTTIN sent); EFAULT.
    /// Canonical mode returns at most one line; `Done(0)` is end of file (^D), or a VMIN=0
    /// read that found nothing.
    pub fn try_read(&self, t: &Thread, buf: usize, len: usize) -> Io {
        self.attempt(t, buf, len, false)
    }

    /// As [`Tty::try_read`] for an O_NONBLOCK file: `WouldBlock` means EAGAIN; in
    /// non-canonical mode whatever is buffered is returned even below VMIN.
    pub fn try_read_nonblock(&self, t: &Thread, buf: usize, len: usize) -> Io {
        self.attempt(t, buf, len, true)
    }

    /// Park until the read `t` last tried ([`Tty::try_read`] returned WouldBlock) may
    /// complete: input (a line in canonical mode, VMIN bytes), or its VTIME timer ran out.
    /// `Err(RESTART)` if a signal for `t` (or its exit) ends the wait first.
    pub async fn wait_readable(&self, t: &Thread) -> Result<(), u32> {
        let tid = t.tid();
        let now = crate::time::ticks();
        let want = self.take_pending(tid).map(|p| (p.want, p.start.unwrap_or(now))).unwrap_or((1, now));
        // Until the wait ends, the record is kept out of the list; it is put back (with the
        // start time) for the next `try_read` only when the wait succeeds, so an abandoned
        // wait leaves nothing behind.
        let mut timer = crate::time::Timer::new();
        enum State {
            Done(Result<(), u32>),
            Wait,
            Until(u64),
        }
        let check = || {
            if let Some(e) = stop_or_signal(t) {
                return State::Done(e);
            }
            match self.ld.lock().read_check(want.0, want.1, crate::time::ticks(), ds_ticks()) {
                ReadCheck::Ready => State::Done(Ok(())),
                ReadCheck::Wait => State::Wait,
                ReadCheck::Until(d) => State::Until(d),
            }
        };
        let r = core::future::poll_fn(|cx| {
            match check() {
                State::Done(r) => return Poll::Ready(r),
                State::Until(d) => timer.arm(d, cx.waker()),
                State::Wait => {}
            }
            self.read_wait.register(cx);
            match check() {
                State::Done(r) => Poll::Ready(r),
                _ => Poll::Pending,
            }
        })
        .await;
        if r.is_ok() {
            self.note_pending(tid, want.0, Some(want.1));
        }
        r
    }

    /// A whole read(2) on the terminal: waits as needed (unless `nonblock`: EAGAIN), with
    /// Linux's canonical and VMIN/VTIME rules. `Err(RESTART)` when a signal interrupts it.
    pub async fn read(&self, t: &Thread, buf: usize, len: usize, nonblock: bool) -> Result<usize, u32> {
        loop {
            match self.attempt(t, buf, len, nonblock) {
                Io::Done(n) => return Ok(n),
                Io::Err(e) => return Err(e),
                Io::WouldBlock if nonblock => return Err(errno::EAGAIN),
                Io::WouldBlock => self.wait_readable(t).await?,
            }
        }
    }

    /// True if a read would not block now (poll's POLLIN: a line in canonical mode, else
    /// VMIN bytes when VTIME is 0, else a byte).
    pub fn poll_readable(&self) -> bool {
        self.ld.lock().poll_readable()
    }

    /// True unless output is stopped (poll's POLLOUT).
    pub fn poll_writable(&self) -> bool {
        !self.ld.lock().output_stopped()
    }

    /// Bytes a read could take (FIONREAD).
    pub fn available(&self) -> usize {
        self.ld.lock().inq()
    }

    /// A line for the kernel's own monitor (no job control): waits for a complete line in
    /// canonical mode, which it restores if a program left the terminal in another mode.
    pub async fn kernel_read_line(&self) -> Vec<u8> {
        {
            let mut ld = self.ld.lock();
            let need = g::ICANON | g::ECHO | g::ISIG;
            if ld.termios().c_lflag & need != need {
                let mut out = Vec::new();
                ld.set_termios(velox_tty::default_termios(), &mut out);
            }
        }
        self.read_wait
            .wait_until(|| {
                let mut ld = self.ld.lock();
                if ld.read_check(4096, 0, 0, 1) != ReadCheck::Ready {
                    return None;
                }
                let mut v = Vec::new();
                let _ = ld.read(4096, |s| {
                    v.extend_from_slice(s);
                    true
                });
                Some(v)
            })
            .await
    }

    // ---- writing ----

    /// Write up to `len` bytes from user memory at `buf` with output processing (OPOST);
    /// the bytes written (at most 64 KiB per call: the caller loops and may yield).
    /// `WouldBlock` while output is stopped (^S: wait with [`Tty::wait_writable`]);
    /// `Err(EIO)`/`Err(RESTART)` for a background process when TOSTOP is set (SIGTTOU).
    pub fn write(&self, t: &Thread, buf: usize, len: usize) -> Io {
        let (tostop, stopped) = {
            let ld = self.ld.lock();
            (ld.termios().c_lflag & g::TOSTOP != 0, ld.output_stopped())
        };
        if tostop {
            if let Err(e) = self.check_change(t, g::SIGTTOU) {
                return Io::Err(e);
            }
        }
        if len == 0 {
            return Io::Done(0);
        }
        if stopped {
            return Io::WouldBlock;
        }
        let len = len.min(WRITE_STEP);
        let mut chunk = [0u8; 256];
        let mut out = Vec::new();
        let _ = out.try_reserve(2 * chunk.len());
        let mut done = 0;
        while done < len {
            let n = (len - done).min(chunk.len());
            if uaccess::read_bytes(buf + done, &mut chunk[..n]).is_err() {
                return if done > 0 { Io::Done(done) } else { Io::Err(errno::EFAULT) };
            }
            out.clear();
            {
                let mut ld = self.ld.lock();
                if ld.output_stopped() {
                    break;
                }
                ld.process_output(&chunk[..n], &mut out);
            }
            hal::console::write_raw(&out);
            done += n;
        }
        if done == 0 { Io::WouldBlock } else { Io::Done(done) }
    }

    /// Park until output may go on (not stopped), or `Err(RESTART)` on a signal.
    pub async fn wait_writable(&self, t: &Thread) -> Result<(), u32> {
        self.write_wait.wait_until(|| if self.poll_writable() { Some(Ok(())) } else { stop_or_signal(t) }).await
    }

    // ---- ioctl ----

    fn set_termios(&self, tio: Termios, flush: bool) {
        let mut out = Vec::new();
        let ev = {
            let mut ld = self.ld.lock();
            if flush {
                ld.flush_input();
            }
            ld.set_termios(tio, &mut out)
        };
        if !out.is_empty() {
            hal::console::write_raw(&out);
        }
        self.read_wait.wake_all();
        if ev.started {
            self.write_wait.wake_all();
        }
    }

    /// The terminal ioctls; returns the value or a negative errno (`-RESTART` for a
    /// background process that was sent SIGTTOU: see [`RESTART`]). FIONBIO and FIOCLEX are
    /// the caller's (they concern the open file).
    pub fn ioctl(&self, t: &Thread, cmd: u32, arg: usize) -> isize {
        match self.ioctl_inner(t, cmd, arg) {
            Ok(v) => v,
            Err(e) => -(e as isize),
        }
    }

    fn ioctl_inner(&self, t: &Thread, cmd: u32, arg: usize) -> Result<isize, u32> {
        let p = &t.process;
        match cmd {
            ioctl::TCGETS => {
                let tio = self.ld.lock().termios();
                uaccess::write(arg, &tio).map(|_| 0)
            }
            ioctl::TCSETS | ioctl::TCSETSW | ioctl::TCSETSF => {
                self.check_change(t, g::SIGTTOU)?;
                let tio: Termios = uaccess::read(arg)?;
                // (Output is written synchronously: nothing to drain for TCSETSW.)
                self.set_termios(tio, cmd == ioctl::TCSETSF);
                Ok(0)
            }
            // termios2: the same with explicit speeds (the line has one speed, 38400 baud as
            // B38400 in c_cflag says; other speeds are accepted and ignored, as a UART
            // emulated by QEMU has no real rate).
            ioctl::TCGETS2 => {
                let t1 = self.ld.lock().termios();
                let t2 = Termios2 {
                    c_iflag: t1.c_iflag,
                    c_oflag: t1.c_oflag,
                    c_cflag: t1.c_cflag,
                    c_lflag: t1.c_lflag,
                    c_line: t1.c_line,
                    c_cc: t1.c_cc,
                    c_ispeed: 38400,
                    c_ospeed: 38400,
                };
                uaccess::write(arg, &t2).map(|_| 0)
            }
            ioctl::TCSETS2 | ioctl::TCSETSW2 | ioctl::TCSETSF2 => {
                self.check_change(t, g::SIGTTOU)?;
                let t2: Termios2 = uaccess::read(arg)?;
                let tio = Termios { c_iflag: t2.c_iflag, c_oflag: t2.c_oflag, c_cflag: t2.c_cflag, c_lflag: t2.c_lflag, c_line: t2.c_line, c_cc: t2.c_cc };
                self.set_termios(tio, cmd == ioctl::TCSETSF2);
                Ok(0)
            }
            ioctl::TIOCGWINSZ => {
                let ws = self.ctrl.lock().winsize;
                uaccess::write(arg, &ws).map(|_| 0)
            }
            ioctl::TIOCSWINSZ => {
                let ws: Winsize = uaccess::read(arg)?;
                let fg = {
                    let mut c = self.ctrl.lock();
                    let old = c.winsize;
                    if (old.ws_row, old.ws_col, old.ws_xpixel, old.ws_ypixel) == (ws.ws_row, ws.ws_col, ws.ws_xpixel, ws.ws_ypixel) {
                        return Ok(0);
                    }
                    c.winsize = ws;
                    c.pgrp
                };
                signal_group(fg, g::SIGWINCH);
                Ok(0)
            }
            ioctl::TIOCGPGRP => {
                let pgrp = {
                    let mut c = self.ctrl.lock();
                    if !Self::is_ctty_locked(&mut c, p) {
                        return Err(errno::ENOTTY);
                    }
                    c.pgrp
                };
                put_int(arg, pgrp as i32)
            }
            ioctl::TIOCSPGRP => {
                match self.check_change(t, g::SIGTTOU) {
                    Err(errno::EIO) => return Err(errno::ENOTTY),
                    r => r?,
                }
                let pgrp: i32 = uaccess::read(arg)?;
                if pgrp < 0 {
                    return Err(errno::EINVAL);
                }
                if !self.is_ctty_of(t) {
                    return Err(errno::ENOTTY);
                }
                let pgrp = pgrp as usize;
                let procs = process::all();
                // The group's session: of a member, else of the process with that pid.
                let member = procs
                    .iter()
                    .find(|q| q.pgid.load(Ordering::Relaxed) == pgrp && q.exit_status().is_none())
                    .or_else(|| procs.iter().find(|q| q.pid == pgrp))
                    .ok_or(errno::ESRCH)?;
                if member.sid.load(Ordering::Relaxed) != p.sid.load(Ordering::Relaxed) {
                    return Err(errno::EPERM);
                }
                self.ctrl.lock().pgrp = pgrp;
                Ok(0)
            }
            ioctl::TIOCSCTTY => {
                let sid = p.sid.load(Ordering::Relaxed);
                let leader = sid == p.pid;
                let mut c = self.ctrl.lock();
                Self::refresh(&mut c);
                if leader && c.session == sid {
                    return Ok(0); // already ours
                }
                if !leader {
                    return Err(errno::EPERM);
                }
                if c.session != 0 {
                    // Another session's: only root may steal it, with arg 1.
                    if !(arg == 1 && p.cred.lock().uid.e == 0) {
                        return Err(errno::EPERM);
                    }
                }
                c.session = sid;
                c.pgrp = p.pgid.load(Ordering::Relaxed);
                c.detached.clear();
                Ok(0)
            }
            ioctl::TIOCNOTTY => {
                {
                    let mut c = self.ctrl.lock();
                    if !Self::is_ctty_locked(&mut c, p) {
                        return Err(errno::ENOTTY);
                    }
                    if p.sid.load(Ordering::Relaxed) != p.pid {
                        // Only this process gives it up.
                        if c.detached.try_reserve(1).is_ok() {
                            c.detached.push(p.pid);
                        }
                        return Ok(0);
                    }
                }
                // The session leader: the session loses its terminal and the foreground group
                // hears of it, as when the leader exits (disassociate_ctty).
                self.session_leader_exit(p.pid);
                Ok(0)
            }
            ioctl::TIOCGSID => {
                let sid = {
                    let mut c = self.ctrl.lock();
                    if !Self::is_ctty_locked(&mut c, p) {
                        return Err(errno::ENOTTY);
                    }
                    c.session
                };
                put_int(arg, sid as i32)
            }
            ioctl::FIONREAD => put_int(arg, self.available().min(i32::MAX as usize) as i32),
            ioctl::TIOCOUTQ => put_int(arg, 0),
            ioctl::TCFLSH => {
                self.check_change(t, g::SIGTTOU)?;
                let mut ld = self.ld.lock();
                match arg as u32 {
                    g::TCIFLUSH => ld.flush_input(),
                    g::TCOFLUSH => ld.flush_output(),
                    g::TCIOFLUSH => {
                        ld.flush_input();
                        ld.flush_output();
                    }
                    _ => return Err(errno::EINVAL),
                }
                Ok(0)
            }
            ioctl::TCXONC => {
                self.check_change(t, g::SIGTTOU)?;
                let mut out = Vec::new();
                {
                    let mut ld = self.ld.lock();
                    let cc = ld.termios().c_cc;
                    match arg as u32 {
                        g::TCOOFF => ld.stop_output(),
                        g::TCOON => ld.start_output(&mut out),
                        g::TCIOFF if cc[g::VSTOP as usize] != 0 => out.push(cc[g::VSTOP as usize]),
                        g::TCION if cc[g::VSTART as usize] != 0 => out.push(cc[g::VSTART as usize]),
                        g::TCIOFF | g::TCION => {}
                        _ => return Err(errno::EINVAL),
                    }
                }
                if !out.is_empty() {
                    hal::console::write_raw(&out);
                }
                self.write_wait.wake_all();
                Ok(0)
            }
            // tcdrain / tcsendbreak: output is synchronous, there is nothing to wait for.
            ioctl::TCSBRK | ioctl::TCSBRKP => {
                self.check_change(t, g::SIGTTOU)?;
                Ok(0)
            }
            _ => Err(errno::ENOTTY),
        }
    }
}

impl Default for Tty {
    fn default() -> Self {
        Self::new()
    }
}

/// The UART's receive interrupt: drain the FIFO into the console terminal. True if input
/// arrived (readers were woken).
pub fn on_uart_irq() -> bool {
    CONSOLE.receive(&mut |f| hal::console::drain_rx(f))
}

/// The PLIC source of the UART.
pub fn uart_irq() -> u32 {
    UART_IRQ.load(Ordering::Relaxed)
}

/// Route the UART's receive interrupt to hart `hartid` (the boot hart) through the PLIC at
/// `plic` (physical; QEMU's default if the device tree has none) and enable it.
pub fn init(plic: Option<usize>, irq: Option<u32>, hartid: usize) {
    if let Some(pa) = plic {
        hal::plic::set_base(pa);
    }
    if let Some(i) = irq.filter(|&i| i > 0) {
        UART_IRQ.store(i, Ordering::Relaxed);
    }
    let irq = uart_irq();
    hal::plic::set_priority(irq, 1);
    hal::plic::set_threshold(hartid, 0);
    hal::plic::enable(hartid, irq, true);
    hal::console::enable_rx_interrupt();
    hal::cpu::enable_external_interrupt();
    // Bytes typed before the interrupt was on.
    let _ = on_uart_irq();
}
