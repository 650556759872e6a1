//! Linux's n_tty line discipline as pure logic: termios, input processing, canonical line editing, echo, VMIN/VTIME readiness and output processing.
//!
//! The kernel owns one [`LineDisc`] per terminal behind a lock. Each received byte goes
//! through [`LineDisc::receive`], which returns the echo bytes to send to the device and the
//! signal (if any) for the foreground process group. Readers ask [`LineDisc::read_check`]
//! whether a read may complete now (or until when to wait: VMIN/VTIME), then take the bytes
//! with [`LineDisc::read`]. Writers pass their bytes through [`LineDisc::process_output`]
//! (OPOST). Semantics follow Linux's `drivers/tty/n_tty.c`; times are in the caller's unit.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use linux_raw_sys::general as g;
pub use velox_abi::Termios;

/// Size of the input buffer (Linux's N_TTY_BUF_SIZE): at most 4095 bytes of a canonical line
/// plus its terminator.
pub const BUF_SIZE: usize = 4096;
const MASK: usize = BUF_SIZE - 1;
/// A c_cc value that disables its function, and the byte an end-of-file marker is stored as.
const DISABLED: u8 = 0;
/// Most echo bytes held while output is stopped (^S); later ones are dropped.
const HELD_MAX: usize = 4096;

const fn cc(i: u32) -> usize {
    i as usize
}

/// Linux's `tty_std_termios`: 38400 baud, 8 bits, canonical mode with echo and signals.
pub const fn default_termios() -> Termios {
    let mut c = [0u8; 19];
    c[cc(g::VINTR)] = 0x03; // ^C
    c[cc(g::VQUIT)] = 0x1c; // ^\
    c[cc(g::VERASE)] = 0x7f; // DEL
    c[cc(g::VKILL)] = 0x15; // ^U
    c[cc(g::VEOF)] = 0x04; // ^D
    c[cc(g::VTIME)] = 0;
    c[cc(g::VMIN)] = 1;
    c[cc(g::VSWTC)] = 0;
    c[cc(g::VSTART)] = 0x11; // ^Q
    c[cc(g::VSTOP)] = 0x13; // ^S
    c[cc(g::VSUSP)] = 0x1a; // ^Z
    c[cc(g::VEOL)] = 0;
    c[cc(g::VREPRINT)] = 0x12; // ^R
    c[cc(g::VDISCARD)] = 0x0f; // ^O
    c[cc(g::VWERASE)] = 0x17; // ^W
    c[cc(g::VLNEXT)] = 0x16; // ^V
    c[cc(g::VEOL2)] = 0;
    Termios {
        c_iflag: g::ICRNL | g::IXON,
        c_oflag: g::OPOST | g::ONLCR,
        c_cflag: g::B38400 | g::CS8 | g::CREAD | g::HUPCL,
        c_lflag: g::ISIG | g::ICANON | g::ECHO | g::ECHOE | g::ECHOK | g::ECHOCTL | g::ECHOKE | g::IEXTEN,
        c_line: 0,
        c_cc: c,
    }
}

/// What a received byte caused besides buffering and echo.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// A signal for the foreground process group (SIGINT, SIGQUIT, SIGTSTP: ISIG).
    pub signal: Option<u32>,
    /// Output was started again (^Q, IXANY): writers waiting for it may go on.
    pub started: bool,
}

/// Whether a read may complete now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadCheck {
    /// Call [`LineDisc::read`] now (it may return 0: end of file, or a VMIN=0 read).
    Ready,
    /// Wait for input, without a time limit.
    Wait,
    /// Wait for input, but no later than this time (same unit as the `now` arguments): then
    /// the read is [`ReadCheck::Ready`] with what has arrived (VTIME).
    Until(u64),
}

/// Backspace (^H), which erases in canonical mode as VERASE does.
const BS: u8 = 0x08;

/// What an erase character removes.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Erase,
    Werase,
    Kill,
}

/// ASCII control characters (what ECHOCTL shows as ^X).
fn is_cntrl(c: u8) -> bool {
    c < 0x20 || c == 0x7f
}

/// The line discipline's state: the termios, the input buffer (complete lines and the line
/// being edited), echo and column state, and output flow control.
pub struct LineDisc {
    termios: Termios,
    buf: [u8; BUF_SIZE],
    /// Bit per buffer slot: a line terminator (newline, EOL, EOL2, or an EOF marker).
    flags: [u64; BUF_SIZE / 64],
    /// Free-running indices: read_tail <= canon_head <= read_head (canonical mode; in
    /// non-canonical mode canon_head is not used for reading).
    read_tail: usize,
    canon_head: usize,
    read_head: usize,
    /// The next byte is taken literally (VLNEXT).
    lnext: bool,
    /// Inside an ECHOPRT erase sequence ("\...").
    erasing: bool,
    column: usize,
    canon_column: usize,
    /// Output stopped by VSTOP (IXON) or TCOOFF.
    stopped: bool,
    /// Echo held while output is stopped.
    held: Vec<u8>,
    /// When the last byte arrived (for the VTIME inter-byte timer).
    last_rx: u64,
}

impl Default for LineDisc {
    fn default() -> Self {
        Self::new()
    }
}

impl LineDisc {
    /// Empty, with Linux's default termios.
    pub const fn new() -> LineDisc {
        LineDisc {
            termios: default_termios(),
            buf: [0; BUF_SIZE],
            flags: [0; BUF_SIZE / 64],
            read_tail: 0,
            canon_head: 0,
            read_head: 0,
            lnext: false,
            erasing: false,
            column: 0,
            canon_column: 0,
            stopped: false,
            held: Vec::new(),
            last_rx: 0,
        }
    }

    fn i(&self, f: u32) -> bool {
        self.termios.c_iflag & f != 0
    }
    fn o(&self, f: u32) -> bool {
        self.termios.c_oflag & f != 0
    }
    fn l(&self, f: u32) -> bool {
        self.termios.c_lflag & f != 0
    }
    fn c(&self, i: u32) -> u8 {
        self.termios.c_cc[i as usize]
    }
    fn canon(&self) -> bool {
        self.l(g::ICANON)
    }

    /// The current termios.
    pub fn termios(&self) -> Termios {
        self.termios
    }

    /// Install a new termios (TCSETS). Switching ICANON re-frames the buffered input as Linux
    /// does: into canonical mode, what is buffered becomes one readable line. Echo bytes that
    /// become due (IXON turned off while stopped) are appended to `out`.
    pub fn set_termios(&mut self, t: Termios, out: &mut Vec<u8>) -> Event {
        let old = self.termios;
        self.termios = t;
        if (old.c_lflag ^ t.c_lflag) & (g::ICANON | g::EXTPROC) != 0 {
            self.flags = [0; BUF_SIZE / 64];
            if !self.canon() || self.read_head == self.read_tail {
                self.canon_head = self.read_tail;
            } else {
                self.set_flag(self.read_head.wrapping_sub(1));
                self.canon_head = self.read_head;
            }
            self.erasing = false;
            self.lnext = false;
        }
        let mut ev = Event::default();
        if !self.i(g::IXON) && old.c_iflag & g::IXON != 0 && self.stopped {
            self.start(out);
            ev.started = true;
        }
        ev
    }

    fn flag(&self, idx: usize) -> bool {
        let i = idx & MASK;
        self.flags[i / 64] >> (i % 64) & 1 != 0
    }
    fn set_flag(&mut self, idx: usize) {
        let i = idx & MASK;
        self.flags[i / 64] |= 1 << (i % 64);
    }
    fn clear_flag(&mut self, idx: usize) {
        let i = idx & MASK;
        self.flags[i / 64] &= !(1 << (i % 64));
    }
    fn at(&self, idx: usize) -> u8 {
        self.buf[idx & MASK]
    }

    /// Bytes buffered (complete lines and the line being edited).
    fn used(&self) -> usize {
        self.read_head.wrapping_sub(self.read_tail)
    }

    /// True if a byte that adds data would be kept: there is room, or (canonical mode with
    /// no complete line) the line is at its limit, where the last byte is replaced so that a
    /// newline can always end it (Linux's overflow rule).
    fn room(&self) -> bool {
        self.used() < BUF_SIZE - 1 || (self.canon() && self.canon_head == self.read_tail)
    }

    fn put(&mut self, c: u8) {
        if self.used() >= BUF_SIZE {
            self.read_head = self.read_head.wrapping_sub(1);
        }
        let h = self.read_head;
        self.buf[h & MASK] = c;
        self.clear_flag(h);
        self.read_head = h.wrapping_add(1);
    }

    /// Output (OPOST) processing of one byte; updates the column.
    fn out_char(&mut self, mut c: u8, out: &mut Vec<u8>) {
        if !self.o(g::OPOST) {
            out.push(c);
            return;
        }
        match c {
            b'\n' => {
                if self.o(g::ONLRET) {
                    self.column = 0;
                }
                if self.o(g::ONLCR) {
                    self.column = 0;
                    self.canon_column = 0;
                    out.extend_from_slice(b"\r\n");
                    return;
                }
                self.canon_column = self.column;
            }
            b'\r' => {
                if self.o(g::ONOCR) && self.column == 0 {
                    return;
                }
                if self.o(g::OCRNL) {
                    c = b'\n';
                    if self.o(g::ONLRET) {
                        self.column = 0;
                        self.canon_column = 0;
                    }
                } else {
                    self.column = 0;
                    self.canon_column = 0;
                }
            }
            b'\t' => {
                let spaces = 8 - (self.column & 7);
                self.column += spaces;
                if self.termios.c_oflag & g::TABDLY == g::XTABS {
                    out.extend(core::iter::repeat_n(b' ', spaces));
                    return;
                }
            }
            0x08 => self.column = self.column.saturating_sub(1),
            _ => {
                if !is_cntrl(c) {
                    if self.o(g::OLCUC) {
                        c = c.to_ascii_uppercase();
                    }
                    if !self.is_continuation(c) {
                        self.column += 1;
                    }
                }
            }
        }
        out.push(c);
    }

    fn is_continuation(&self, c: u8) -> bool {
        self.i(g::IUTF8) && c & 0xc0 == 0x80
    }

    /// Echo a byte as is (through OPOST).
    fn echo_raw(&mut self, c: u8, out: &mut Vec<u8>) {
        self.out_char(c, out);
    }

    /// Echo a byte, control characters as ^X with ECHOCTL (not tab).
    fn echo_char(&mut self, c: u8, out: &mut Vec<u8>) {
        if self.l(g::ECHOCTL) && is_cntrl(c) && c != b'\t' {
            out.push(b'^');
            out.push(c ^ 0o100);
            self.column += 2;
        } else {
            self.out_char(c, out);
        }
    }

    fn finish_erasing(&mut self, out: &mut Vec<u8>) {
        if self.erasing {
            self.echo_raw(b'/', out);
            self.erasing = false;
        }
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        self.stopped = false;
        out.append(&mut self.held);
    }

    /// Process one received byte at time `now`: buffer it, edit the line, append echo bytes
    /// to `out`, and report a signal for the foreground group.
    pub fn receive(&mut self, c: u8, now: u64, out: &mut Vec<u8>) -> Event {
        let mark = out.len();
        let mut ev = Event::default();
        self.last_rx = now;
        let mut c = c;
        if self.i(g::ISTRIP) {
            c &= 0x7f;
        }
        if self.i(g::IUCLC) && self.l(g::IEXTEN) {
            c = c.to_ascii_lowercase();
        }
        if self.lnext {
            self.lnext = false;
            self.ordinary(c, out, &mut ev);
        } else if self.is_special(c) {
            self.special(c, out, &mut ev);
        } else {
            self.ordinary(c, out, &mut ev);
        }
        if self.stopped && out.len() > mark {
            let n = (HELD_MAX - self.held.len().min(HELD_MAX)).min(out.len() - mark);
            self.held.extend_from_slice(&out[mark..mark + n]);
            out.truncate(mark);
        }
        ev
    }

    /// Linux's `char_map`: bytes that need more than buffering and echo.
    fn is_special(&self, c: u8) -> bool {
        if c == DISABLED {
            return false;
        }
        let cc = |i| self.c(i) == c;
        (c == b'\r' && (self.i(g::IGNCR) || self.i(g::ICRNL)))
            || (c == b'\n' && self.i(g::INLCR))
            || (self.canon()
                && (cc(g::VERASE)
                    || c == BS
                    || cc(g::VKILL)
                    || cc(g::VEOF)
                    || c == b'\n'
                    || cc(g::VEOL)
                    || (self.l(g::IEXTEN) && (cc(g::VWERASE) || cc(g::VLNEXT) || cc(g::VEOL2) || (self.l(g::ECHO) && cc(g::VREPRINT))))))
            || (self.i(g::IXON) && (cc(g::VSTART) || cc(g::VSTOP)))
            || (self.l(g::ISIG) && (cc(g::VINTR) || cc(g::VQUIT) || cc(g::VSUSP)))
    }

    fn restart_any(&mut self, out: &mut Vec<u8>, ev: &mut Event) {
        if self.stopped && self.i(g::IXON) && self.i(g::IXANY) {
            self.start(out);
            ev.started = true;
        }
    }

    fn ordinary(&mut self, c: u8, out: &mut Vec<u8>, ev: &mut Event) {
        self.restart_any(out, ev);
        if !self.room() {
            return; // dropped, as a full Linux buffer does not take it
        }
        if self.l(g::ECHO) {
            self.finish_erasing(out);
            if self.canon_head == self.read_head {
                self.canon_column = self.column;
            }
            self.echo_char(c, out);
        }
        self.put(c);
    }

    fn special(&mut self, mut c: u8, out: &mut Vec<u8>, ev: &mut Event) {
        if self.i(g::IXON) {
            if c == self.c(g::VSTART) {
                self.start(out);
                ev.started = true;
                return;
            }
            if c == self.c(g::VSTOP) {
                self.stopped = true;
                return;
            }
        }
        if self.l(g::ISIG) {
            let sig = if c == self.c(g::VINTR) {
                Some(g::SIGINT)
            } else if c == self.c(g::VQUIT) {
                Some(g::SIGQUIT)
            } else if c == self.c(g::VSUSP) {
                Some(g::SIGTSTP)
            } else {
                None
            };
            if let Some(s) = sig {
                ev.signal = Some(s);
                if !self.l(g::NOFLSH) {
                    self.flush_input();
                    self.held.clear();
                }
                if self.i(g::IXON) && self.stopped {
                    self.start(out);
                    ev.started = true;
                }
                if self.l(g::ECHO) {
                    self.echo_char(c, out);
                }
                return;
            }
        }
        self.restart_any(out, ev);
        if c == b'\r' {
            if self.i(g::IGNCR) {
                return;
            }
            if self.i(g::ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && self.i(g::INLCR) {
            c = b'\r';
        }
        if self.canon() && self.canon_char(c, out) {
            return;
        }
        if !self.room() {
            return;
        }
        if self.l(g::ECHO) {
            self.finish_erasing(out);
            if c == b'\n' {
                self.echo_raw(b'\n', out);
            } else {
                if self.canon_head == self.read_head {
                    self.canon_column = self.column;
                }
                self.echo_char(c, out);
            }
        }
        self.put(c);
    }

    /// Canonical-mode editing and line ends; true if `c` was consumed.
    fn canon_char(&mut self, c: u8, out: &mut Vec<u8>) -> bool {
        let iexten = self.l(g::IEXTEN);
        if c == self.c(g::VERASE) {
            self.eraser(Kind::Erase, out);
            return true;
        }
        if c == self.c(g::VKILL) {
            self.eraser(Kind::Kill, out);
            return true;
        }
        if c == self.c(g::VWERASE) && iexten {
            self.eraser(Kind::Werase, out);
            return true;
        }
        if c == self.c(g::VLNEXT) && iexten {
            self.lnext = true;
            if self.l(g::ECHO) {
                self.finish_erasing(out);
                if self.l(g::ECHOCTL) {
                    self.echo_raw(b'^', out);
                    self.echo_raw(0x08, out);
                }
            }
            return true;
        }
        if c == self.c(g::VREPRINT) && self.l(g::ECHO) && iexten {
            self.finish_erasing(out);
            self.echo_char(c, out);
            self.echo_raw(b'\n', out);
            let mut i = self.canon_head;
            while i != self.read_head {
                self.echo_char(self.at(i), out);
                i = i.wrapping_add(1);
            }
            return true;
        }
        if c == b'\n' {
            if self.room() {
                if self.l(g::ECHO) || self.l(g::ECHONL) {
                    self.echo_raw(b'\n', out);
                }
                self.newline(c);
            }
            return true;
        }
        if c == self.c(g::VEOF) {
            if self.room() {
                self.newline(DISABLED);
            }
            return true;
        }
        if c == BS {
            // (Not Linux: Backspace erases too when VERASE is another byte, usually DEL.)
            self.eraser(Kind::Erase, out);
            return true;
        }
        if c == self.c(g::VEOL) || (c == self.c(g::VEOL2) && iexten) {
            if self.room() {
                if self.l(g::ECHO) {
                    if self.canon_head == self.read_head {
                        self.canon_column = self.column;
                    }
                    self.echo_char(c, out);
                }
                self.newline(c);
            }
            return true;
        }
        false
    }

    /// End the line being edited with terminator `c` (DISABLED: an end-of-file marker).
    fn newline(&mut self, c: u8) {
        self.put(c);
        let at = self.read_head.wrapping_sub(1);
        self.set_flag(at);
        self.canon_head = self.read_head;
    }

    /// VERASE, VWERASE and VKILL on the line being edited.
    fn eraser(&mut self, kind: Kind, out: &mut Vec<u8>) {
        if self.read_head == self.canon_head {
            return;
        }
        if kind == Kind::Kill {
            if !self.l(g::ECHO) {
                self.read_head = self.canon_head;
                return;
            }
            if !self.l(g::ECHOK) || !self.l(g::ECHOKE) || !self.l(g::ECHOE) {
                self.read_head = self.canon_head;
                self.finish_erasing(out);
                self.echo_char(self.c(g::VKILL), out);
                if self.l(g::ECHOK) {
                    self.echo_raw(b'\n', out);
                }
                return;
            }
        }
        let mut seen_alnums = 0;
        while self.read_head != self.canon_head {
            let mut head = self.read_head;
            let mut ch;
            // One character, which may be several bytes (IUTF8).
            loop {
                head = head.wrapping_sub(1);
                ch = self.at(head);
                if !(self.is_continuation(ch) && head != self.canon_head) {
                    break;
                }
            }
            if self.is_continuation(ch) {
                break; // do not erase part of a character
            }
            if kind == Kind::Werase {
                if ch.is_ascii_alphanumeric() || ch == b'_' {
                    seen_alnums += 1;
                } else if seen_alnums > 0 {
                    break;
                }
            }
            let cnt = self.read_head.wrapping_sub(head);
            self.read_head = head;
            if self.l(g::ECHO) {
                if self.l(g::ECHOPRT) {
                    if !self.erasing {
                        self.echo_raw(b'\\', out);
                        self.erasing = true;
                    }
                    self.echo_char(ch, out);
                    for k in 1..cnt {
                        self.echo_raw(self.at(head.wrapping_add(k)), out);
                        self.column = self.column.saturating_sub(1);
                    }
                } else if kind == Kind::Erase && !self.l(g::ECHOE) {
                    self.echo_char(self.c(g::VERASE), out);
                } else if ch == b'\t' {
                    self.erase_tab(out);
                } else {
                    // A ^X took two columns; a control character echoed raw, none.
                    let times = match (is_cntrl(ch), self.l(g::ECHOCTL)) {
                        (false, _) => 1,
                        (true, true) => 2,
                        (true, false) => 0,
                    };
                    for _ in 0..times {
                        self.echo_raw(0x08, out);
                        self.echo_raw(b' ', out);
                        self.echo_raw(0x08, out);
                    }
                }
            }
            if kind == Kind::Erase {
                break;
            }
        }
        if self.read_head == self.canon_head && self.l(g::ECHO) {
            self.finish_erasing(out);
        }
    }

    /// Back up over an erased tab: to the previous tab stop, counted from the previous tab
    /// in the line or from the column where the line started.
    fn erase_tab(&mut self, out: &mut Vec<u8>) {
        let mut num = 0usize;
        let mut after_tab = false;
        let mut tail = self.read_head;
        while tail != self.canon_head {
            tail = tail.wrapping_sub(1);
            let c = self.at(tail);
            if c == b'\t' {
                after_tab = true;
                break;
            } else if is_cntrl(c) {
                if self.l(g::ECHOCTL) {
                    num += 2;
                }
            } else if !self.is_continuation(c) {
                num += 1;
            }
        }
        let mut num = num & 7;
        if !after_tab {
            num += self.canon_column;
        }
        let bs = 8 - (num & 7);
        for _ in 0..bs {
            out.push(0x08);
            self.column = self.column.saturating_sub(1);
        }
    }

    /// Pass bytes a program writes through output processing (OPOST) into `out`.
    pub fn process_output(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if !self.o(g::OPOST) {
            out.extend_from_slice(data);
            return;
        }
        for &c in data {
            self.out_char(c, out);
        }
    }

    /// Bytes a read could take now, as FIONREAD reports them (canonical mode: complete
    /// lines, end-of-file markers not counted).
    pub fn inq(&self) -> usize {
        if !self.canon() {
            return self.used();
        }
        let mut n = self.canon_head.wrapping_sub(self.read_tail);
        let mut i = self.read_tail;
        while i != self.canon_head {
            if self.flag(i) && self.at(i) == DISABLED {
                n -= 1;
            }
            i = i.wrapping_add(1);
        }
        n
    }

    /// Readable for poll: a complete line (canonical), else VMIN bytes when VTIME is 0 and
    /// VMIN is set, else one byte.
    pub fn poll_readable(&self) -> bool {
        if self.canon() {
            return self.canon_head != self.read_tail;
        }
        let (min, time) = (self.c(g::VMIN) as usize, self.c(g::VTIME));
        let amt = if time == 0 && min > 0 { min } else { 1 };
        self.used() >= amt
    }

    /// May a read of `want` bytes that started at `start` complete at `now`? `ds` is one
    /// decisecond in the time unit (VTIME counts deciseconds). Non-canonical rules (Linux):
    /// VMIN=0,VTIME=0 never waits; VMIN=0,VTIME>0 waits at most VTIME from the start for a
    /// first byte; VMIN>0,VTIME=0 waits for min(VMIN, want) bytes; VMIN>0,VTIME>0 waits for
    /// a first byte without limit, then at most VTIME after the last byte (or the start).
    pub fn read_check(&self, want: usize, start: u64, now: u64, ds: u64) -> ReadCheck {
        if self.canon() {
            return if self.canon_head != self.read_tail { ReadCheck::Ready } else { ReadCheck::Wait };
        }
        let avail = self.used();
        let (min, time) = (self.c(g::VMIN) as usize, self.c(g::VTIME) as u64);
        let timed = |from: u64| {
            let deadline = from.saturating_add(time.saturating_mul(ds));
            if now >= deadline { ReadCheck::Ready } else { ReadCheck::Until(deadline) }
        };
        match (min, time) {
            (0, 0) => ReadCheck::Ready,
            (0, _) => {
                if avail > 0 {
                    ReadCheck::Ready
                } else {
                    timed(start)
                }
            }
            (m, t) => {
                if avail >= m.min(want.max(1)) {
                    ReadCheck::Ready
                } else if avail == 0 || t == 0 {
                    ReadCheck::Wait
                } else {
                    timed(self.last_rx.max(start))
                }
            }
        }
    }

    /// Take up to `max` bytes for a read: canonical mode, at most one line (its newline
    /// included, an end-of-file marker not); otherwise what is buffered. The bytes are given
    /// to `sink` in at most two slices; if it fails, the bytes are consumed anyway (as Linux
    /// loses them on EFAULT) and `Err(())` is returned. `Ok(0)` in canonical mode means end
    /// of file (or nothing buffered: check [`LineDisc::read_check`] first).
    pub fn read(&mut self, max: usize, mut sink: impl FnMut(&[u8]) -> bool) -> Result<usize, ()> {
        let avail = if self.canon() { self.canon_head.wrapping_sub(self.read_tail) } else { self.used() };
        let n = max.min(avail);
        let (consume, copy, eol) = if self.canon() {
            match (0..n).map(|k| self.read_tail.wrapping_add(k)).find(|&i| self.flag(i)) {
                Some(e) => {
                    let cnt = e.wrapping_sub(self.read_tail) + 1;
                    let copy = if self.at(e) == DISABLED { cnt - 1 } else { cnt };
                    (cnt, copy, Some(e))
                }
                None => (n, n, None),
            }
        } else {
            (n, n, None)
        };
        let start = self.read_tail & MASK;
        let first = copy.min(BUF_SIZE - start);
        let mut ok = sink(&self.buf[start..start + first]);
        if ok && copy > first {
            ok = sink(&self.buf[..copy - first]);
        }
        if let Some(e) = eol {
            self.clear_flag(e);
        }
        self.read_tail = self.read_tail.wrapping_add(consume);
        if ok { Ok(copy) } else { Err(()) }
    }

    /// Discard buffered input (TCIFLUSH; ISIG without NOFLSH).
    pub fn flush_input(&mut self) {
        self.read_tail = self.read_head;
        self.canon_head = self.read_head;
        self.flags = [0; BUF_SIZE / 64];
        self.lnext = false;
        self.erasing = false;
    }

    /// Discard output not sent yet (TCOFLUSH): the echo held while stopped.
    pub fn flush_output(&mut self) {
        self.held.clear();
    }

    /// True while output is stopped (^S with IXON, or TCOOFF).
    pub fn output_stopped(&self) -> bool {
        self.stopped
    }

    /// Stop output (TCOOFF).
    pub fn stop_output(&mut self) {
        self.stopped = true;
    }

    /// Restart output (TCOON); held echo bytes are appended to `out`.
    pub fn start_output(&mut self, out: &mut Vec<u8>) {
        self.start(out);
    }
}

#[cfg(test)]
mod tests;
