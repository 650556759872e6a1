#!/usr/bin/env python3
"""Interactive console test: boots Velox to busybox sh (as `make run` does) and types at it
through QEMU's serial console, checking what comes back.

    scripts/test-console.py [-k VARIANT] [-s SMP] [-l LOG]

Checks (one PASS/FAIL line each, then "N passed, M failed"): the prompt appears; Backspace
edits the line; Ctrl-C kills `sleep 100` and the prompt returns (status 130); Ctrl-Z stops it,
`jobs` shows it stopped, `fg` resumes it; Ctrl-D ends `cat`; vi edits and saves a file in raw
mode; `ps` and `top -n 1` show the processes; `poweroff` ends QEMU. Needs the kernel built
(build/velox-VARIANT.elf) and makes its own root image with scripts/mkroot.sh.
"""
import argparse
import os
import re
import select
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROMPT = re.compile(rb"velox:[^#\n]*# ")


class Console:
    def __init__(self, cmd, log):
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.buf = b""
        self.seen = 0  # bytes of buf already matched
        self.log = log

    def read_some(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            return False
        data = os.read(self.p.stdout.fileno(), 65536)
        if not data:
            return False
        self.buf += data
        if self.log:
            self.log.write(data)
            self.log.flush()
        return True

    def expect(self, pattern, timeout=20):
        """Wait for `pattern` (bytes regex) after what was matched so far; True if it came."""
        rx = re.compile(pattern) if isinstance(pattern, bytes) else pattern
        end = time.time() + timeout
        while True:
            m = rx.search(self.buf, self.seen)
            if m:
                self.seen = m.end()
                return True
            left = end - time.time()
            if left <= 0 or self.p.poll() is not None and not self.read_some(0):
                return False
            self.read_some(min(left, 0.5))

    def send(self, data, pause=0.05):
        # One byte at a time, as a person types (the line discipline and ash's editor see
        # separate keystrokes).
        for b in data:
            self.p.stdin.write(bytes([b]))
            self.p.stdin.flush()
            time.sleep(0.005)
        time.sleep(pause)

    def prompt(self, timeout=20):
        return self.expect(self.prompt_rx, timeout)

    prompt_rx = PROMPT


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="default")
    ap.add_argument("-s", default="1")
    ap.add_argument("-l", default=None)
    ap.add_argument("--debian", default=None, metavar="IMAGE",
                    help="boot a copy of this Debian root image (make debian-root) and type at bash")
    a = ap.parse_args()
    kernel = os.path.join(ROOT, "build", f"velox-{a.k}.elf")
    if not os.path.exists(kernel):
        print(f"test-console: {kernel} not built", file=sys.stderr)
        return 2
    if a.debian:
        return debian(a, kernel)
    work = tempfile.mkdtemp(prefix="console.", dir=os.path.join(ROOT, "build"))
    cpio = os.path.join(work, "root.cpio")
    subprocess.run([os.path.join(ROOT, "scripts", "mkroot.sh"), cpio, "-"], check=True, stdout=subprocess.DEVNULL)
    cmd = ["qemu-system-riscv64", "-machine", "virt", "-nographic", "-bios", "default", "-m", "512M", "-smp", a.s,
           "-no-reboot", "-kernel", kernel, "-initrd", cpio, "-append", ""]
    log = open(a.l, "wb") if a.l else None
    c = Console(cmd, log)
    results = []

    def check(name, ok, detail=""):
        results.append(ok)
        print(f"{'PASS' if ok else 'FAIL'} console_{name}{'' if ok else ': ' + detail}", flush=True)

    try:
        check("prompt", c.prompt(60), "no shell prompt within 60 s")
        # Backspace (DEL, as terminals send it) edits the line before it is run.
        c.send(b"echo helo\x7flo there\r")
        check("backspace", c.expect(rb"\r\nhello there\r\n") and c.prompt(), "edited line not run as 'echo hello there'")
        # Ctrl-C ends the foreground job; the prompt returns; status 130.
        c.send(b"sleep 100\r", pause=1.0)
        c.send(b"\x03")
        ok = c.prompt(10)
        c.send(b"echo rc=$?\r")
        check("ctrl_c", ok and c.expect(rb"rc=130") and c.prompt(), "Ctrl-C did not end sleep 100 with status 130")
        # Ctrl-Z stops the job, jobs lists it, fg resumes it (then Ctrl-C ends it).
        c.send(b"sleep 100\r", pause=1.0)
        c.send(b"\x1a")
        check("ctrl_z", c.expect(rb"Stopped") and c.prompt(10), "Ctrl-Z did not stop sleep 100")
        c.send(b"jobs\r")
        check("jobs", c.expect(rb"\[1\]\+ +Stopped +sleep 100") and c.prompt(), "jobs did not show the stopped job")
        c.send(b"fg\r", pause=1.0)
        ok = c.expect(rb"sleep 100")
        c.send(b"\x03")
        ok = ok and c.prompt(10)
        c.send(b"echo fg=$?\r")
        check("fg", ok and c.expect(rb"fg=130") and c.prompt(), "fg did not resume the job in the foreground")
        # Ctrl-D at the start of a line ends cat's input.
        c.send(b"cat\r", pause=0.5)
        c.send(b"typed line\r")
        ok = c.expect(rb"typed line\r\n(.*\r\n)?typed line")
        c.send(b"\x04")
        check("ctrl_d", ok and c.prompt(10), "cat did not echo the line and end on Ctrl-D")
        # vi in raw mode: insert text, escape, save and quit.
        c.send(b"rm -f /tmp/vi.txt; vi /tmp/vi.txt\r", pause=1.5)
        c.send(b"ihello from vi\x1b", pause=0.5)
        c.send(b":wq\r", pause=0.5)
        ok = c.prompt(10)
        c.send(b"cat /tmp/vi.txt\r")
        check("vi", ok and c.expect(rb"\r\nhello from vi\r\n") and c.prompt(), "vi did not save the text")
        # ps and top show the processes.
        c.send(b"ps\r")
        check("ps", c.expect(rb"PID +USER.*\r\n(.*\r\n)*.* ps\r\n") and c.prompt(), "ps did not list itself")
        c.send(b"top -n 1\r")
        check("top", c.expect(rb"Mem:.*\r\n(.*\r\n)*.*PID") and c.prompt(15), "top -n 1 did not show its table")
        # poweroff ends QEMU.
        c.send(b"poweroff\r")
        end = time.time() + 30
        while c.p.poll() is None and time.time() < end:
            c.read_some(0.5)
        check("poweroff", c.p.poll() is not None, "QEMU still running 30 s after poweroff")
    finally:
        if c.p.poll() is None:
            c.p.kill()
        c.p.wait()
        subprocess.run(["rm", "-rf", work])
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


BASH_PROMPT = re.compile(rb"root@velox:[^#\n]*# ")


def debian(a, kernel):
    """`make run` on the Debian root: bash --login on the console. Checks (console_bash_*): the
    prompt; line editing (Home, End, arrows, Backspace, history with the Up arrow); Ctrl-C; Ctrl-Z,
    jobs, fg; vim.tiny in raw mode inserts, saves and quits, and the file holds the text;
    python3's interactive prompt; exit powers off."""
    work = tempfile.mkdtemp(prefix="console.", dir=os.path.join(ROOT, "build"))
    img = os.path.join(work, "root.ext4")
    subprocess.run(["cp", "--sparse=always", a.debian, img], check=True)
    cmd = ["qemu-system-riscv64", "-machine", "virt", "-nographic", "-bios", "default", "-m", "512M", "-smp", a.s,
           "-no-reboot", "-kernel", kernel, "-append", "root=/dev/vda",
           "-drive", f"file={img},format=raw,if=none,id=hd0", "-device", "virtio-blk-device,drive=hd0"]
    log = open(a.l, "wb") if a.l else None
    c = Console(cmd, log)
    c.prompt_rx = BASH_PROMPT
    results = []

    def check(name, ok, detail=""):
        results.append(ok)
        print(f"{'PASS' if ok else 'FAIL'} console_bash_{name}{'' if ok else ': ' + detail}", flush=True)

    try:
        check("prompt", c.prompt(120), "no bash prompt (root@velox:~# ) within 120 s")
        c.send(b"shopt -q login_shell && echo \"login $BASH_VERSION\"; pwd\r")
        check("login_shell", c.expect(rb"[\r\n]login 5\.[0-9.]+\(1\)-release\r\n/root\r\n") and c.prompt(),
              "not a bash login shell in /root")
        # Readline: Home, the Right arrow, End (Ctrl-A would go to QEMU's console), the Up
        # arrow (history), Backspace.
        c.send(b"ech hi\x1b[H\x1b[C\x1b[C\x1b[Co\x1b[F there\r")
        check("readline_edit", c.expect(rb"[\r\n]hi there\r\n") and c.prompt(), "edited line not run as 'echo hi there'")
        c.send(b"\x1b[A\x7f\x7f\x7f\x7f\x7fyou\r")
        check("readline_history", c.expect(rb"[\r\n]hi you\r\n") and c.prompt(), "Up arrow did not recall the last line")
        c.send(b"sleep 100\r", pause=1.0)
        c.send(b"\x03")
        ok = c.prompt(10)
        c.send(b"echo rc=$?\r")
        check("ctrl_c", ok and c.expect(rb"rc=130") and c.prompt(), "Ctrl-C did not end sleep 100 with status 130")
        c.send(b"sleep 100\r", pause=1.0)
        c.send(b"\x1a")
        check("ctrl_z", c.expect(rb"Stopped") and c.prompt(10), "Ctrl-Z did not stop sleep 100")
        c.send(b"jobs\r")
        check("jobs", c.expect(rb"\[1\]\+ +Stopped +sleep 100") and c.prompt(), "jobs did not show the stopped job")
        c.send(b"fg\r", pause=1.0)
        ok = c.expect(rb"sleep 100")
        c.send(b"\x03")
        ok = ok and c.prompt(10)
        c.send(b"echo fg=$?\r")
        check("fg", ok and c.expect(rb"fg=130") and c.prompt(), "fg did not resume the job in the foreground")
        # vim.tiny in raw mode: insert two lines, escape, save and quit.
        c.send(b"rm -f /tmp/vim.txt; vim.tiny /tmp/vim.txt\r", pause=3.0)
        c.send(b"ihello from vim\rsecond line\x1b", pause=1.0)
        c.send(b":wq\r", pause=1.0)
        ok = c.prompt(60)
        c.send(b"cat -A /tmp/vim.txt\r")
        check("vim", ok and c.expect(rb"[\r\n]hello from vim\$\r\nsecond line\$\r\n", 60) and c.prompt(60), "vim did not save the text")
        # python3's interactive prompt (its own line editing, on the terminal).
        c.send(b"python3 -q\r", pause=2.0)
        ok = c.expect(rb">>> ", 60)
        c.send(b"print(6 * 7)\r")
        ok = ok and c.expect(rb"42\r\n") and c.expect(rb">>> ")
        c.send(b"\x04")
        check("python_repl", ok and c.prompt(20), "python3's prompt did not evaluate print(6 * 7)")
        c.send(b"exit\r")
        end = time.time() + 60
        while c.p.poll() is None and time.time() < end:
            c.read_some(0.5)
        check("exit_powers_off", c.p.poll() is not None, "QEMU still running 60 s after exit")
    finally:
        if c.p.poll() is None:
            c.p.kill()
        c.p.wait()
        subprocess.run(["rm", "-rf", work])
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
