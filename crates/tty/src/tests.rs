//! Host tests of the line discipline against Linux's n_tty behaviour.

use super::*;

const DS: u64 = 100; // time units per decisecond in these tests

/// Feed `input` at time `now`; (echo, signals).
fn feed_at(ld: &mut LineDisc, input: &[u8], now: u64) -> (Vec<u8>, Vec<u32>) {
    let mut out = Vec::new();
    let mut sigs = Vec::new();
    for &c in input {
        if let Some(s) = ld.receive(c, now, &mut out).signal {
            sigs.push(s);
        }
    }
    (out, sigs)
}

fn feed(ld: &mut LineDisc, input: &[u8]) -> Vec<u8> {
    feed_at(ld, input, 0).0
}

fn read(ld: &mut LineDisc, max: usize) -> Vec<u8> {
    let mut v = Vec::new();
    ld.read(max, |s| {
        v.extend_from_slice(s);
        true
    })
    .unwrap();
    v
}

fn set(ld: &mut LineDisc, f: impl FnOnce(&mut Termios)) {
    let mut t = ld.termios();
    f(&mut t);
    ld.set_termios(t, &mut Vec::new());
}

fn raw(ld: &mut LineDisc, min: u8, time: u8) {
    set(ld, |t| {
        t.c_lflag &= !(g::ICANON | g::ECHO | g::ISIG | g::IEXTEN);
        t.c_iflag &= !(g::ICRNL | g::IXON);
        t.c_cc[g::VMIN as usize] = min;
        t.c_cc[g::VTIME as usize] = time;
    });
}

#[test]
fn defaults_are_linux() {
    let t = default_termios();
    assert_eq!(t.c_iflag, 0o2400);
    assert_eq!(t.c_oflag, 0o5);
    assert_eq!(t.c_cflag, 0o2277);
    assert_eq!(t.c_lflag, 0o105073);
    assert_eq!(&t.c_cc[..17], &[3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0]);
    assert_eq!(t.c_cc[17..], [0, 0]);
}

#[test]
fn canonical_line_with_echo() {
    let mut ld = LineDisc::new();
    assert_eq!(ld.read_check(100, 0, 0, DS), ReadCheck::Wait);
    assert_eq!(feed(&mut ld, b"abc"), b"abc");
    assert_eq!(ld.read_check(100, 0, 0, DS), ReadCheck::Wait);
    assert!(!ld.poll_readable());
    assert_eq!(ld.inq(), 0);
    assert_eq!(feed(&mut ld, b"\r"), b"\r\n"); // ICRNL, then ONLCR on the echo
    assert_eq!(ld.read_check(100, 0, 0, DS), ReadCheck::Ready);
    assert!(ld.poll_readable());
    assert_eq!(ld.inq(), 4);
    assert_eq!(read(&mut ld, 100), b"abc\n");
    assert_eq!(ld.read_check(100, 0, 0, DS), ReadCheck::Wait);
}

#[test]
fn one_line_per_read_and_partial_reads() {
    let mut ld = LineDisc::new();
    feed(&mut ld, b"one\ntwo\n");
    assert_eq!(ld.inq(), 8);
    assert_eq!(read(&mut ld, 100), b"one\n");
    assert_eq!(read(&mut ld, 2), b"tw");
    assert_eq!(read(&mut ld, 100), b"o\n");
    assert_eq!(ld.read_check(1, 0, 0, DS), ReadCheck::Wait);
}

#[test]
fn erase_del_and_backspace() {
    let mut ld = LineDisc::new();
    assert_eq!(feed(&mut ld, b"ab\x7f"), b"ab\x08 \x08");
    assert_eq!(feed(&mut ld, b"\x08"), b"\x08 \x08");
    assert_eq!(feed(&mut ld, b"\x7f"), b""); // nothing left to erase
    feed(&mut ld, b"xy\n");
    assert_eq!(read(&mut ld, 100), b"xy\n");
}

#[test]
fn backspace_erases_too() {
    let mut ld = LineDisc::new();
    assert_eq!(feed(&mut ld, b"ab\x08"), b"ab\x08 \x08");
    set(&mut ld, |t| t.c_cc[g::VERASE as usize] = 0x08);
    assert_eq!(feed(&mut ld, b"\x08"), b"\x08 \x08");
    feed(&mut ld, b"\n");
    assert_eq!(read(&mut ld, 10), b"\n");
    // Not in non-canonical mode.
    raw(&mut ld, 1, 0);
    feed(&mut ld, b"\x08");
    assert_eq!(read(&mut ld, 10), b"\x08");
}

#[test]
fn erase_without_echoe_echoes_the_erase_char() {
    let mut ld = LineDisc::new();
    set(&mut ld, |t| t.c_lflag &= !g::ECHOE);
    assert_eq!(feed(&mut ld, b"a\x7f"), b"a^?");
}

#[test]
fn erase_control_char_takes_two_columns() {
    let mut ld = LineDisc::new();
    // ^A is echoed as "^A" and erased with two backspaces.
    assert_eq!(feed(&mut ld, b"\x01"), b"^A");
    assert_eq!(feed(&mut ld, b"\x7f"), b"\x08 \x08\x08 \x08");
}

#[test]
fn werase_erases_a_word() {
    let mut ld = LineDisc::new();
    feed(&mut ld, b"foo bar_1  ");
    let e = feed(&mut ld, b"\x17");
    assert_eq!(e, b"\x08 \x08".repeat(7));
    feed(&mut ld, b"\n");
    assert_eq!(read(&mut ld, 100), b"foo \n");
}

#[test]
fn kill_erases_the_line() {
    let mut ld = LineDisc::new();
    feed(&mut ld, b"hello");
    assert_eq!(feed(&mut ld, b"\x15"), b"\x08 \x08".repeat(5));
    feed(&mut ld, b"x\n");
    assert_eq!(read(&mut ld, 100), b"x\n");
    // Without ECHOKE: echo the kill char, then a newline (ECHOK).
    set(&mut ld, |t| t.c_lflag &= !g::ECHOKE);
    feed(&mut ld, b"abc");
    assert_eq!(feed(&mut ld, b"\x15"), b"^U\r\n");
    feed(&mut ld, b"d\n");
    assert_eq!(read(&mut ld, 100), b"d\n");
}

#[test]
fn kill_only_touches_the_line_being_edited() {
    let mut ld = LineDisc::new();
    feed(&mut ld, b"done\nabc\x15\x15");
    assert_eq!(read(&mut ld, 100), b"done\n");
    assert_eq!(ld.read_check(1, 0, 0, DS), ReadCheck::Wait);
}

#[test]
fn eof_at_line_start_reads_zero() {
    let mut ld = LineDisc::new();
    assert_eq!(feed(&mut ld, b"\x04"), b""); // ^D is not echoed
    assert_eq!(ld.read_check(10, 0, 0, DS), ReadCheck::Ready);
    assert_eq!(ld.inq(), 0);
    assert_eq!(read(&mut ld, 10), b"");
    assert_eq!(ld.read_check(10, 0, 0, DS), ReadCheck::Wait);
}

#[test]
fn eof_mid_line_pushes_without_newline() {
    let mut ld = LineDisc::new();
    feed(&mut ld, b"ab\x04");
    assert_eq!(ld.inq(), 2);
    assert_eq!(read(&mut ld, 10), b"ab");
    assert_eq!(ld.read_check(10, 0, 0, DS), ReadCheck::Wait);
    // Partial read of a pushed line: the EOF marker goes with the last part.
    feed(&mut ld, b"xyz\x04");
    assert_eq!(read(&mut ld, 2), b"xy");
    assert_eq!(read(&mut ld, 10), b"z");
    assert_eq!(ld.read_check(10, 0, 0, DS), ReadCheck::Wait);
}

#[test]
fn lnext_quotes_the_next_byte() {
    let mut ld = LineDisc::new();
    assert_eq!(feed(&mut ld, b"\x16"), b"^\x08");
    let (e, sigs) = feed_at(&mut ld, b"\x03", 0);
    assert!(sigs.is_empty());
    assert_eq!(e, b"^C");
    feed(&mut ld, b"\x16\x7f\n");
    assert_eq!(read(&mut ld, 10), b"\x03\x7f\n");
}

#[test]
fn isig_sends_and_flushes() {
    let mut ld = LineDisc::new();
    feed(&mut ld, b"line\npartial");
    let (e, s) = feed_at(&mut ld, b"\x03", 0);
    assert_eq!(s, vec![g::SIGINT]);
    assert_eq!(e, b"^C");
    assert_eq!(ld.read_check(10, 0, 0, DS), ReadCheck::Wait);
    assert_eq!(feed_at(&mut ld, b"\x1c", 0).1, vec![g::SIGQUIT]);
    assert_eq!(feed_at(&mut ld, b"\x1a", 0).1, vec![g::SIGTSTP]);
    // NOFLSH keeps the input.
    set(&mut ld, |t| t.c_lflag |= g::NOFLSH);
    feed(&mut ld, b"keep\n");
    assert_eq!(feed_at(&mut ld, b"\x03", 0).1, vec![g::SIGINT]);
    assert_eq!(read(&mut ld, 10), b"keep\n");
    // Without ISIG, ^C is data.
    set(&mut ld, |t| t.c_lflag &= !g::ISIG);
    let (_, s) = feed_at(&mut ld, b"\x03\n", 0);
    assert!(s.is_empty());
    assert_eq!(read(&mut ld, 10), b"\x03\n");
}

#[test]
fn echoctl_and_plain_echo() {
    let mut ld = LineDisc::new();
    assert_eq!(feed(&mut ld, b"\x1b[A\t"), b"^[[A\t");
    set(&mut ld, |t| t.c_lflag &= !g::ECHOCTL);
    assert_eq!(feed(&mut ld, b"\x1b"), b"\x1b");
    set(&mut ld, |t| t.c_lflag &= !g::ECHO);
    assert_eq!(feed(&mut ld, b"secret\n"), b"");
    set(&mut ld, |t| t.c_lflag |= g::ECHONL);
    assert_eq!(feed(&mut ld, b"pw\n"), b"\r\n");
}

#[test]
fn input_translations() {
    let mut ld = LineDisc::new();
    set(&mut ld, |t| t.c_iflag &= !g::ICRNL);
    feed(&mut ld, b"a\r\n");
    assert_eq!(read(&mut ld, 10), b"a\r\n");
    set(&mut ld, |t| t.c_iflag |= g::IGNCR);
    feed(&mut ld, b"b\r\n");
    assert_eq!(read(&mut ld, 10), b"b\n");
    set(&mut ld, |t| t.c_iflag = g::INLCR | g::ISTRIP);
    raw_keep_iflag(&mut ld);
    feed(&mut ld, b"\n\xe1");
    assert_eq!(read(&mut ld, 10), b"\ra");
}

fn raw_keep_iflag(ld: &mut LineDisc) {
    set(ld, |t| {
        t.c_lflag &= !(g::ICANON | g::ECHO);
        t.c_cc[g::VMIN as usize] = 1;
    });
}

#[test]
fn vmin_vtime_rules() {
    let mut ld = LineDisc::new();
    // VMIN=0, VTIME=0: never waits.
    raw(&mut ld, 0, 0);
    assert_eq!(ld.read_check(10, 0, 0, DS), ReadCheck::Ready);
    assert_eq!(read(&mut ld, 10), b"");
    // VMIN=0, VTIME=5: first byte or 0.5 s after the start.
    raw(&mut ld, 0, 5);
    assert_eq!(ld.read_check(10, 1000, 1000, DS), ReadCheck::Until(1500));
    assert_eq!(ld.read_check(10, 1000, 1500, DS), ReadCheck::Ready);
    feed_at(&mut ld, b"x", 1200);
    assert_eq!(ld.read_check(10, 1000, 1200, DS), ReadCheck::Ready);
    assert_eq!(read(&mut ld, 10), b"x");
    // VMIN=3, VTIME=0: three bytes (or fewer if fewer are asked for).
    raw(&mut ld, 3, 0);
    feed(&mut ld, b"ab");
    assert_eq!(ld.read_check(10, 0, 9999, DS), ReadCheck::Wait);
    assert_eq!(ld.read_check(2, 0, 0, DS), ReadCheck::Ready);
    feed(&mut ld, b"c");
    assert_eq!(ld.read_check(10, 0, 0, DS), ReadCheck::Ready);
    assert_eq!(read(&mut ld, 10), b"abc");
    // VMIN=3, VTIME=2: no limit for the first byte, then 0.2 s after the last one.
    raw(&mut ld, 3, 2);
    assert_eq!(ld.read_check(10, 100, 100_000, DS), ReadCheck::Wait);
    feed_at(&mut ld, b"a", 500);
    assert_eq!(ld.read_check(10, 100, 600, DS), ReadCheck::Until(700));
    feed_at(&mut ld, b"b", 650);
    assert_eq!(ld.read_check(10, 100, 700, DS), ReadCheck::Until(850));
    assert_eq!(ld.read_check(10, 100, 850, DS), ReadCheck::Ready);
    // Bytes that were there before the read started: the timer runs from the start.
    assert_eq!(ld.read_check(10, 2000, 2000, DS), ReadCheck::Until(2200));
    assert_eq!(read(&mut ld, 10), b"ab");
    // poll: VMIN bytes when VTIME is 0, else one.
    raw(&mut ld, 2, 0);
    feed(&mut ld, b"a");
    assert!(!ld.poll_readable());
    feed(&mut ld, b"b");
    assert!(ld.poll_readable());
    raw(&mut ld, 2, 1);
    assert!(ld.poll_readable());
}

#[test]
fn noncanonical_echo_and_newline() {
    let mut ld = LineDisc::new();
    set(&mut ld, |t| t.c_lflag &= !g::ICANON);
    assert_eq!(feed(&mut ld, b"a\r"), b"a\r\n"); // \r -> \n (ICRNL), echoed as a newline
    assert_eq!(feed(&mut ld, b"\n"), b"^J"); // a raw LF is an ordinary control char
    assert_eq!(feed(&mut ld, b"\x7f"), b"^?"); // no editing
    assert_eq!(read(&mut ld, 10), b"a\n\n\x7f");
}

#[test]
fn canonical_line_limit_4095() {
    let mut ld = LineDisc::new();
    set(&mut ld, |t| t.c_lflag &= !g::ECHO);
    let long = vec![b'a'; 5000];
    feed(&mut ld, &long);
    feed(&mut ld, b"\n");
    let got = read(&mut ld, 10000);
    assert_eq!(got.len(), 4096);
    assert!(got[..4095].iter().all(|&c| c == b'a'));
    assert_eq!(got[4095], b'\n');
    // Erasing still works at the limit.
    feed(&mut ld, &long);
    feed(&mut ld, b"\x7f\x7fz\n");
    let got = read(&mut ld, 10000);
    assert_eq!(got.len(), 4096);
    assert_eq!(&got[4093..], b"az\n");
}

#[test]
fn noncanonical_buffer_is_bounded() {
    let mut ld = LineDisc::new();
    raw(&mut ld, 1, 0);
    let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8 + 1).collect();
    feed(&mut ld, &data);
    assert_eq!(ld.inq(), 4095);
    let got = read(&mut ld, 10000);
    assert_eq!(got, &data[..4095]);
    // Room again after reading: the ring wraps correctly.
    feed(&mut ld, &data[..3000]);
    assert_eq!(read(&mut ld, 10000), &data[..3000]);
}

#[test]
fn canonical_full_buffer_with_complete_line_drops() {
    let mut ld = LineDisc::new();
    set(&mut ld, |t| t.c_lflag &= !g::ECHO);
    feed(&mut ld, b"first\n");
    feed(&mut ld, &vec![b'b'; 5000]);
    feed(&mut ld, b"\n"); // no room: dropped
    assert_eq!(read(&mut ld, 100), b"first\n");
    assert_eq!(ld.read_check(1, 0, 0, DS), ReadCheck::Wait);
    feed(&mut ld, b"\n"); // room now
    let got = read(&mut ld, 10000);
    assert_eq!(got.len(), 4090);
}

#[test]
fn output_processing() {
    let mut ld = LineDisc::new();
    let mut out = Vec::new();
    ld.process_output(b"a\nb", &mut out);
    assert_eq!(out, b"a\r\nb");
    set(&mut ld, |t| t.c_oflag = g::OPOST | g::OCRNL);
    out.clear();
    ld.process_output(b"x\ry\n", &mut out);
    assert_eq!(out, b"x\ny\n");
    let mut ld = LineDisc::new();
    set(&mut ld, |t| t.c_oflag = g::OPOST | g::ONOCR);
    out.clear();
    ld.process_output(b"\rab\r", &mut out);
    assert_eq!(out, b"ab\r");
    set(&mut ld, |t| t.c_oflag = g::OPOST | g::ONLCR | g::XTABS);
    out.clear();
    ld.process_output(b"ab\tc", &mut out);
    assert_eq!(out, b"ab      c");
    set(&mut ld, |t| t.c_oflag = 0);
    out.clear();
    ld.process_output(b"a\n", &mut out);
    assert_eq!(out, b"a\n");
}

#[test]
fn tab_erase_goes_back_to_the_tab_stop() {
    let mut ld = LineDisc::new();
    let mut out = Vec::new();
    ld.process_output(b"$ ", &mut out); // a prompt: the line starts at column 2
    assert_eq!(feed(&mut ld, b"\t"), b"\t");
    assert_eq!(feed(&mut ld, b"\x7f"), b"\x08".repeat(6));
    feed(&mut ld, b"ab\t");
    assert_eq!(feed(&mut ld, b"\x7f"), b"\x08".repeat(4));
}

#[test]
fn flushes() {
    let mut ld = LineDisc::new();
    feed(&mut ld, b"abc\ndef");
    ld.flush_input();
    assert_eq!(ld.inq(), 0);
    assert_eq!(ld.read_check(1, 0, 0, DS), ReadCheck::Wait);
    feed(&mut ld, b"g\n");
    assert_eq!(read(&mut ld, 10), b"g\n");
}

#[test]
fn ixon_stops_and_starts_output() {
    let mut ld = LineDisc::new();
    assert_eq!(feed(&mut ld, b"\x13"), b"");
    assert!(ld.output_stopped());
    assert_eq!(feed(&mut ld, b"ab"), b""); // echo held
    let mut out = Vec::new();
    let ev = ld.receive(0x11, 0, &mut out);
    assert!(ev.started);
    assert_eq!(out, b"ab");
    assert!(!ld.output_stopped());
    // ^S/^Q are not data.
    feed(&mut ld, b"\n");
    assert_eq!(read(&mut ld, 10), b"ab\n");
    // IXANY: any byte restarts.
    set(&mut ld, |t| t.c_iflag |= g::IXANY);
    feed(&mut ld, b"\x13");
    assert_eq!(feed(&mut ld, b"z"), b"z");
    assert!(!ld.output_stopped());
    // Turning IXON off restarts.
    feed(&mut ld, b"\x13");
    let mut t = ld.termios();
    t.c_iflag &= !g::IXON;
    assert!(ld.set_termios(t, &mut Vec::new()).started);
    assert!(!ld.output_stopped());
}

#[test]
fn mode_switches_reframe_input() {
    let mut ld = LineDisc::new();
    feed(&mut ld, b"partial");
    raw(&mut ld, 1, 0);
    assert_eq!(ld.inq(), 7);
    assert_eq!(read(&mut ld, 3), b"par");
    // Back to canonical with bytes buffered: they form one readable line.
    set(&mut ld, |t| {
        t.c_lflag |= g::ICANON;
    });
    assert_eq!(ld.read_check(10, 0, 0, DS), ReadCheck::Ready);
    assert_eq!(read(&mut ld, 10), b"tial");
    assert_eq!(ld.read_check(10, 0, 0, DS), ReadCheck::Wait);
}

#[test]
fn reprint_line() {
    let mut ld = LineDisc::new();
    feed(&mut ld, b"ls -l");
    assert_eq!(feed(&mut ld, b"\x12"), b"^R\r\nls -l");
}

#[test]
fn echoprt_erase() {
    let mut ld = LineDisc::new();
    set(&mut ld, |t| t.c_lflag = (t.c_lflag & !g::ECHOE) | g::ECHOPRT);
    feed(&mut ld, b"abc");
    assert_eq!(feed(&mut ld, b"\x7f\x7f"), b"\\cb");
    assert_eq!(feed(&mut ld, b"d"), b"/d");
}

#[test]
fn utf8_erase_removes_whole_character() {
    let mut ld = LineDisc::new();
    set(&mut ld, |t| t.c_iflag |= g::IUTF8);
    feed(&mut ld, "aé".as_bytes());
    assert_eq!(feed(&mut ld, b"\x7f"), b"\x08 \x08");
    feed(&mut ld, b"\n");
    assert_eq!(read(&mut ld, 10), b"a\n");
}

#[test]
fn read_sink_failure_consumes() {
    let mut ld = LineDisc::new();
    feed(&mut ld, b"abc\n");
    assert_eq!(ld.read(10, |_| false), Err(()));
    assert_eq!(ld.read_check(10, 0, 0, DS), ReadCheck::Wait);
}

#[test]
fn wrapped_line_reads_in_two_slices() {
    let mut ld = LineDisc::new();
    raw(&mut ld, 1, 0);
    feed(&mut ld, &[b'x'; 4000]);
    read(&mut ld, 4000);
    set(&mut ld, |t| t.c_lflag |= g::ICANON);
    feed(&mut ld, b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\n");
    let mut parts = 0;
    let mut v = Vec::new();
    ld.read(1000, |s| {
        parts += 1;
        v.extend_from_slice(s);
        true
    })
    .unwrap();
    assert_eq!(parts, 2);
    assert_eq!(v.len(), 109);
    assert_eq!(v.last(), Some(&b'\n'));
}
