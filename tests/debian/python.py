# python3: the standard library on Velox. Run by tests/debian/run (python3 -u, TZ=UTC LC_ALL=C,
# cwd /root). Files under /var/tmp/dt-python (the ext4 root; removed at the end). Nothing
# printed depends on pids, timing or thread scheduling: results of threads and processes are
# sorted or summed before they are printed.
import os, sys, io, re, json, hashlib, hmac, struct, shutil, signal, time, zlib, gzip, base64
import datetime, subprocess, threading, queue, sqlite3, unittest, collections, itertools
import random, decimal, fractions, math, uuid, csv, tarfile, mmap, select, tempfile, textwrap
import multiprocessing, concurrent.futures, pathlib, asyncio

# (All the work is in main(): multiprocessing's default start method, forkserver since Python
# 3.14, imports this file again in its server process.)


def sec(name):
    print("==", name)


def square(x):
    return x * x


def ident(x):
    return (x, os.getpid() != PARENT)


PARENT = os.getpid()


class Sample(unittest.TestCase):
    def setUp(self):
        self.data = [3, 1, 2]

    def test_sort(self):
        self.assertEqual(sorted(self.data), [1, 2, 3])

    def test_raises(self):
        with self.assertRaises(ZeroDivisionError):
            1 / 0

    def test_fails(self):
        self.assertEqual(sum(self.data), 7, "sum is wrong")

    @unittest.skip("not today")
    def test_skipped(self):
        pass

    @unittest.expectedFailure
    def test_expected_failure(self):
        self.assertTrue(False)

    def test_subtests(self):
        for i in range(3):
            with self.subTest(i=i):
                self.assertLess(i, 5)



def main():
    W = "/var/tmp/dt-python"
    shutil.rmtree(W, ignore_errors=True)
    os.makedirs(W)
    os.chdir(W)


    sec("json")
    doc = {"name": "velox", "harts": [1, 2, 4], "ok": True, "none": None, "pi": 3.14159,
           "nested": {"b": "\u00e9t\u00e9", "a": [{"x": 1}, {"y": [2, 3]}]}}
    s = json.dumps(doc, sort_keys=True)
    print(s)
    print(json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False))
    back = json.loads(s)
    print("round trip equal:", back == doc, type(back["pi"]).__name__, back["nested"]["b"])
    print(json.dumps([1e100, 0.1, -0.0, 2**64, "tab\t\"q\""]))
    try:
        json.loads('{"a": 1,}')
    except json.JSONDecodeError as e:
        print("JSONDecodeError:", e.msg, "at", e.pos)
    with open("doc.json", "w") as f:
        json.dump(doc, f)
    with open("doc.json") as f:
        print("from file:", json.load(f)["harts"])

    sec("re")
    text = "2024-01-15 error disk full; 2024-02-01 warn cpu hot; 2024-03-10 error net down"
    print(re.findall(r"(\d{4})-(\d\d)-(\d\d) (\w+)", text))
    for m in re.finditer(r"(?P<date>[\d-]+) (?P<level>error) (?P<msg>[^;]+)", text):
        print(m.group("date"), m.group("level"), repr(m.group("msg")), m.span())
    print(re.sub(r"\d+", lambda m: str(int(m.group()) * 2), "a1 b22 c333"))
    print(re.split(r"[;,]\s*", "a, b;c ,d"), re.split(r"(-)", "x-y-z", maxsplit=1))
    print(bool(re.fullmatch(r"[a-z]+\d*", "abc123")), bool(re.match(r"\d", "x1")), re.search(r"\d", "x1").start())
    pat = re.compile(r"^(\w+)\s*=\s*(.*?)\s*$", re.M)
    print(pat.findall("key = value \n other=  x y \nbad line\n"))
    print(re.sub(r"(?i)HELLO", "bye", "Hello hello HELLO"), re.escape("a.b*c"))
    print(re.sub(r"(\w+) (\w+)", r"\2 \1", "hello world"), re.subn("o", "0", "foo boo"))

    sec("hashlib and hmac")
    data = b"The quick brown fox jumps over the lazy dog"
    for name in ("md5", "sha1", "sha256", "sha512", "sha3_256", "blake2b", "blake2s"):
        print(name, hashlib.new(name, data).hexdigest()[:32])
    h = hashlib.sha256()
    for i in range(1000):
        h.update(b"chunk %d\n" % i)
    print("incremental sha256", h.hexdigest())
    print("pbkdf2", hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 1000).hex())
    print("hmac", hmac.new(b"key", data, "sha256").hexdigest())
    print("shake_128", hashlib.shake_128(data).hexdigest(16))
    print("file digest", hashlib.file_digest(open("doc.json", "rb"), "sha256").hexdigest() ==
          hashlib.sha256(open("doc.json", "rb").read()).hexdigest())

    sec("struct")
    p = struct.pack("<hIq3sd?", -2, 0xdeadbeef, -(2**40), b"abc", 1.5, True)
    print(p.hex(), len(p))
    print(struct.unpack("<hIq3sd?", p))
    print(struct.pack(">I", 1).hex(), struct.pack("<I", 1).hex(), struct.pack("=H", 0x1234).hex())
    print("native sizes", struct.calcsize("P"), struct.calcsize("l"), struct.calcsize("@ci"), struct.calcsize("=ci"),
          struct.calcsize("@bq"), sys.byteorder)
    print(list(struct.iter_unpack("<H", b"\x01\x00\x02\x00\x03\x00")))
    print(struct.unpack(">f", struct.pack(">f", 0.1))[0], struct.pack("!e", 1.0).hex())

    sec("datetime")
    d = datetime.datetime(2024, 2, 28, 23, 30, tzinfo=datetime.timezone.utc)
    print(d.isoformat(), (d + datetime.timedelta(hours=1)).isoformat(), d.strftime("%A %j %U %b"))
    print(datetime.date(2024, 12, 31).isocalendar(), datetime.date(2023, 1, 1).weekday())
    print(datetime.datetime.fromtimestamp(1700000000, datetime.timezone.utc))
    print(datetime.datetime.fromisoformat("2011-11-04T00:05:23+04:00").astimezone(datetime.timezone.utc))
    print(datetime.datetime.strptime("15/03/2021 14:05", "%d/%m/%Y %H:%M"), datetime.date(2000, 3, 1) - datetime.date(2000, 2, 1))
    delta = datetime.datetime(2025, 1, 1) - datetime.datetime(2024, 1, 1, 12)
    print(delta, delta.total_seconds(), datetime.timedelta(days=1, seconds=-1))
    from zoneinfo import ZoneInfo
    ny = ZoneInfo("America/New_York")
    for ts in (1710054000 - 1, 1710054000, 1730613600):
        t = datetime.datetime.fromtimestamp(ts, ny)
        print(t.isoformat(), t.tzname())
    print(datetime.datetime(2024, 7, 1, 12, tzinfo=ZoneInfo("Europe/Berlin")).utcoffset())
    print("now is after 2023:", datetime.datetime.now(datetime.timezone.utc).year >= 2023,
          "time.time() > 1.7e9:", time.time() > 1.7e9)
    t0 = time.monotonic(); time.sleep(0.05); print("monotonic advanced:", time.monotonic() - t0 >= 0.05)

    sec("subprocess")
    r = subprocess.run(["sort"], input="pear\napple\nfig\n", capture_output=True, text=True)
    print(repr(r.stdout), r.returncode)
    p = subprocess.Popen(["tr", "a-z", "A-Z"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out, err = p.communicate(b"hello through a pipe\n" * 3)
    print(out.decode().splitlines(), err, p.returncode)
    big = b"".join(b"line %05d\n" % i for i in range(20000))
    p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out, _ = p.communicate(big)
    print("communicate 220000 bytes both ways:", out == big, len(out))
    p1 = subprocess.Popen(["seq", "1", "1000"], stdout=subprocess.PIPE)
    p2 = subprocess.Popen(["wc", "-l"], stdin=p1.stdout, stdout=subprocess.PIPE)
    p1.stdout.close()
    print("seq | wc -l:", p2.communicate()[0].decode().strip(), p1.wait(), p2.returncode)
    r = subprocess.run("echo out; echo err >&2; exit 3", shell=True, capture_output=True, text=True)
    print(repr(r.stdout), repr(r.stderr), r.returncode)
    r = subprocess.run(["sh", "-c", "kill -TERM $$"])
    print("killed child returncode:", r.returncode)
    try:
        subprocess.run(["sleep", "10"], timeout=0.5)
    except subprocess.TimeoutExpired as e:
        print("TimeoutExpired:", e.cmd)
    try:
        subprocess.run(["/nonexistent/prog"])
    except FileNotFoundError as e:
        print("FileNotFoundError", e.errno)
    print(subprocess.check_output(["printf", "%s-", "a", "b"]), subprocess.getoutput("echo $((6*7))"))
    r = subprocess.run(["cat"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env={"X": "1"})
    print("devnull stdin:", r.stdout, r.returncode)
    print("env passed:", subprocess.run(["sh", "-c", "echo $X"], env={"X": "42", "PATH": "/usr/bin:/bin"},
                                        capture_output=True, text=True).stdout.strip())
    print("cwd:", subprocess.run(["pwd"], cwd="/usr/share", capture_output=True, text=True).stdout.strip())

    sec("threading")
    q_in, q_out = queue.Queue(), queue.Queue()


    def worker(wid):
        while True:
            item = q_in.get()
            if item is None:
                q_in.task_done()
                break
            q_out.put((item, item * item, hashlib.sha256(str(item).encode()).hexdigest()[:8]))
            q_in.task_done()


    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for i in range(100):
        q_in.put(i)
    for _ in threads:
        q_in.put(None)
    q_in.join()
    for t in threads:
        t.join()
    res = sorted(q_out.get() for _ in range(q_out.qsize()))
    print("results:", len(res), "sum of squares:", sum(r[1] for r in res), res[:3], res[-1])
    lock = threading.Lock()
    counter = [0]


    def bump(n):
        for _ in range(n):
            with lock:
                counter[0] += 1


    ts = [threading.Thread(target=bump, args=(2000,)) for _ in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    print("locked counter:", counter[0])
    ev = threading.Event()
    got = []
    th = threading.Thread(target=lambda: (ev.wait(10), got.append("event seen")))
    th.start(); ev.set(); th.join()
    print(got, threading.active_count())
    cond = threading.Condition()
    items = []


    def consumer():
        with cond:
            cond.wait_for(lambda: len(items) == 3, timeout=10)
            got.append(sorted(items))


    c = threading.Thread(target=consumer); c.start()
    for x in "cab":
        with cond:
            items.append(x); cond.notify_all()
    c.join(); print(got[-1])
    sem = threading.BoundedSemaphore(2); peak = [0, 0]


    def limited():
        with sem:
            with lock:
                peak[0] += 1; peak[1] = max(peak[1], peak[0])
            time.sleep(0.02)
            with lock:
                peak[0] -= 1


    ts = [threading.Thread(target=limited) for _ in range(6)]
    [t.start() for t in ts]; [t.join() for t in ts]
    print("semaphore peak <= 2:", peak[1] <= 2)
    local = threading.local()


    def setlocal(v, out):
        local.v = v; time.sleep(0.01); out.append(local.v == v)


    out = []; ts = [threading.Thread(target=setlocal, args=(i, out)) for i in range(4)]
    [t.start() for t in ts]; [t.join() for t in ts]
    print("thread-local values kept:", all(out), len(out))
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
        print("ThreadPoolExecutor:", list(ex.map(lambda x: x * 3, range(10))))
    b = threading.Barrier(3); order = []
    def at_barrier(i):
        b.wait(); order.append(i)
    ts = [threading.Thread(target=at_barrier, args=(i,)) for i in range(3)]
    [t.start() for t in ts]; [t.join() for t in ts]
    print("barrier passed by", sorted(order))

    sec("multiprocessing")
    with multiprocessing.get_context("fork").Pool(4) as pool:
        print("fork Pool(4).map:", pool.map(square, range(20)))
        print("all in children:", all(c for _, c in pool.map(ident, range(8))))
        print("apply_async:", pool.apply_async(square, (12,)).get(timeout=60))
        print("imap_unordered sorted:", sorted(pool.imap_unordered(square, range(10))))
    try:
        with multiprocessing.Pool(4) as pool:
            print("default (%s) Pool(4).map:" % multiprocessing.get_start_method(), pool.map(square, range(12)))
    except OSError as e:
        print("default Pool(4) failed:", type(e).__name__, e)
    ctx = multiprocessing.get_context("fork")
    mq = ctx.Queue()
    procs = [ctx.Process(target=lambda i=i: mq.put((i, i ** 3))) for i in range(4)]
    [p.start() for p in procs]
    got = sorted(mq.get(timeout=60) for _ in procs)
    [p.join() for p in procs]
    print("Process + Queue:", got, [p.exitcode for p in procs])
    val = ctx.Value("i", 0)
    def add(v):
        for _ in range(100):
            with v.get_lock():
                v.value += 1
    procs = [ctx.Process(target=add, args=(val,)) for _ in range(4)]
    [p.start() for p in procs]; [p.join() for p in procs]
    print("shared Value:", val.value)
    p = ctx.Process(target=lambda: sys.exit(7)); p.start(); p.join(); print("exitcode:", p.exitcode)

    sec("asyncio")

    async def job(i):
        await asyncio.sleep(0.05 * (3 - i))
        done_order.append(i)
        return i * i

    async def amain():
        res = await asyncio.gather(*(job(i) for i in range(3)))
        p = await asyncio.create_subprocess_exec("tr", "a-z", "A-Z", stdin=asyncio.subprocess.PIPE,
                                                 stdout=asyncio.subprocess.PIPE)
        out, _ = await p.communicate(b"through asyncio\n")
        aq = asyncio.Queue()
        await asyncio.gather(*(aq.put(i) for i in range(5)))
        got = [await aq.get() for _ in range(5)]
        try:
            await asyncio.wait_for(asyncio.sleep(10), timeout=0.1)
        except TimeoutError:
            got.append("timeout")
        return res, out, p.returncode, got

    done_order = []
    try:
        print(asyncio.run(amain()), "finished in order", done_order)
    except OSError as e:
        print("asyncio failed:", type(e).__name__, e)

    sec("sqlite3")
    dbpath = os.path.join(W, "test.db")
    con = sqlite3.connect(dbpath)
    con.execute("CREATE TABLE emp (id INTEGER PRIMARY KEY, name TEXT, dept TEXT, salary REAL)")
    con.execute("CREATE TABLE dept (name TEXT PRIMARY KEY, floor INTEGER)")
    rows = [(i, "emp%03d" % i, ("eng", "ops", "sales")[i % 3], 1000 + (i * 37) % 500) for i in range(1, 301)]
    with con:
        con.executemany("INSERT INTO emp VALUES (?, ?, ?, ?)", rows)
        con.executemany("INSERT INTO dept VALUES (?, ?)", [("eng", 3), ("ops", 1), ("sales", 2)])
    try:
        with con:
            con.execute("INSERT INTO emp VALUES (1000, 'x', 'eng', 1)")
            con.execute("INSERT INTO emp VALUES (1, 'dup', 'eng', 1)")
    except sqlite3.IntegrityError as e:
        print("rolled back:", e)
    con.close()
    print("file written:", os.path.getsize(dbpath) > 0, os.path.getsize(dbpath) % 4096 == 0)
    con = sqlite3.connect(dbpath)
    print(con.execute("SELECT count(*), sum(salary), min(name), max(name) FROM emp").fetchone())
    for row in con.execute("SELECT e.dept, d.floor, count(*), round(avg(e.salary), 2) FROM emp e "
                           "JOIN dept d ON d.name = e.dept GROUP BY e.dept ORDER BY e.dept"):
        print(row)
    print(con.execute("SELECT id FROM emp WHERE id = 1000").fetchall(), con.execute("PRAGMA integrity_check").fetchone())
    print(con.execute("PRAGMA journal_mode=WAL").fetchone())
    with con:
        con.execute("UPDATE emp SET salary = salary * 2 WHERE dept = 'ops'")
        con.execute("CREATE INDEX emp_dept ON emp(dept)")
    con2 = sqlite3.connect(dbpath)
    print("second connection sees WAL data:", con2.execute("SELECT sum(salary) FROM emp WHERE dept='ops'").fetchone())
    con2.close(); con.close()
    con = sqlite3.connect(dbpath); con.row_factory = sqlite3.Row
    r = con.execute("SELECT * FROM emp WHERE id = 42").fetchone()
    print(dict(r), con.execute("PRAGMA journal_mode").fetchone()[0])
    print(con.execute("SELECT name FROM sqlite_master ORDER BY name").fetchall() and
          [x[0] for x in con.execute("SELECT name FROM sqlite_master ORDER BY name")])
    con.close()
    mem = sqlite3.connect(":memory:")
    mem.create_function("rev", 1, lambda s: s[::-1])
    print(mem.execute("SELECT rev('velox'), json_extract('{\"a\":[1,2]}', '$.a[1]'), 7 / 2, 7 / 2.0").fetchone())

    sec("unittest")


    suite = unittest.TestLoader().loadTestsFromTestCase(Sample)
    stream = io.StringIO()
    result = unittest.TextTestRunner(stream=stream, verbosity=2).run(suite)
    print("ran", result.testsRun, "failures", len(result.failures), "errors", len(result.errors),
          "skipped", len(result.skipped), "expected failures", len(result.expectedFailures),
          "successful", result.wasSuccessful())
    for t, tb in result.failures:
        print("FAILED", t.id(), tb.strip().splitlines()[-1])
    for t, why in result.skipped:
        print("SKIPPED", t.id(), why)
    lines = [l for l in stream.getvalue().splitlines() if " ... " in l]
    print("\n".join(sorted(lines)))

    sec("files and os")
    os.makedirs("tree/a/b", exist_ok=True)
    for i, pth in enumerate(["tree/x.txt", "tree/a/y.txt", "tree/a/b/z.txt"]):
        with open(pth, "w") as f:
            f.write("file %d\n" % i * (i + 1))
    for root, dirs, files in sorted(os.walk("tree")):
        dirs.sort()
        print(root, sorted(dirs), sorted(files), [os.path.getsize(os.path.join(root, f)) for f in sorted(files)])
    os.utime("tree/x.txt", (1600000000, 1600000000))
    st = os.stat("tree/x.txt")
    print(oct(st.st_mode), st.st_size, st.st_mtime, st.st_nlink)
    os.chmod("tree/x.txt", 0o600); print(oct(os.stat("tree/x.txt").st_mode & 0o777))
    os.symlink("x.txt", "tree/link"); print(os.readlink("tree/link"), os.path.islink("tree/link"), os.path.realpath("tree/link") == os.path.join(W, "tree/x.txt"))
    os.link("tree/x.txt", "tree/hard"); print("nlink", os.stat("tree/x.txt").st_nlink)
    os.rename("tree/hard", "tree/hard2"); print(sorted(os.listdir("tree")))
    with open("bin", "wb") as f:
        f.write(bytes(range(256)) * 64)
    with open("bin", "r+b") as f:
        f.seek(1000); f.write(b"XYZ"); f.seek(-3, 2); print(f.read(), f.tell())
    with open("bin", "r+b") as f:
        m = mmap.mmap(f.fileno(), 0)
        print("mmap", len(m), m[1000:1003], m.find(b"\xff\x00"))
        m[0:4] = b"MMAP"; m.flush(); m.close()
    print(open("bin", "rb").read(4), os.path.getsize("bin"))
    os.truncate("bin", 100); print(os.path.getsize("bin"))
    pth = pathlib.Path(W) / "tree"
    print(sorted(str(x.relative_to(pth)) for x in pth.rglob("*.txt")), (pth / "a" / "y.txt").read_text().count("file"))
    try:
        shutil.copytree("tree", "tree2", symlinks=True)
        print(sorted(os.listdir("tree2")), os.stat("tree2/x.txt").st_mtime)
    except shutil.Error as e:
        print("copytree failed:", sorted(set(err[2] for err in e.args[0])))
    with tarfile.open("t.tar.gz", "w:gz") as tf:
        tf.add("tree", arcname="tree")
    with tarfile.open("t.tar.gz") as tf:
        print(sorted(tf.getnames()))
    blob = b"velox " * 1000
    print(len(zlib.compress(blob)) < 100, zlib.decompress(zlib.compress(blob)) == blob, zlib.crc32(blob), zlib.adler32(blob))
    with gzip.open("g.gz", "wt") as f:
        f.write("gzip text\n" * 10)
    with gzip.open("g.gz", "rt") as f:
        print(f.read().count("gzip"))
    with open("c.csv", "w", newline="") as f:
        csv.writer(f).writerows([["a", "b,c"], [1, 'q"uote']])
    print(open("c.csv").read().splitlines(), list(csv.reader(open("c.csv"))))
    fd, tmp = tempfile.mkstemp(dir=W); os.write(fd, b"temp"); os.close(fd); print(open(tmp).read()); os.unlink(tmp)
    r, w = os.pipe(); os.write(w, b"ping"); print(select.select([r], [], [], 5)[0] == [r], os.read(r, 10))
    pl = select.poll(); pl.register(r, select.POLLIN); print("poll before data:", pl.poll(0))
    os.close(w); print("poll after close:", bool(pl.poll(1000)), os.read(r, 10)); os.close(r)
    pid = os.fork()
    if pid == 0:
        os._exit(42)
    _, status = os.waitpid(pid, 0); print("fork/waitpid exit:", os.waitstatus_to_exitcode(status))
    caught = []
    signal.signal(signal.SIGUSR1, lambda s, f: caught.append(s))
    os.kill(os.getpid(), signal.SIGUSR1); print("signal caught:", caught == [signal.SIGUSR1])
    signal.signal(signal.SIGALRM, lambda s, f: caught.append("alarm"))
    signal.setitimer(signal.ITIMER_REAL, 0.1); time.sleep(1); print("itimer:", caught[-1])
    print(os.getuid(), os.getgid(), os.getcwd() == W, os.environ["TZ"], os.cpu_count() >= 1, os.uname().sysname, os.uname().machine)

    sec("text and numbers")
    random.seed(12345)
    print([random.randint(1, 100) for _ in range(8)], round(random.random(), 6), random.choice("abcdef"))
    lst = list(range(10)); random.shuffle(lst); print(lst, random.sample(range(100), 4))
    print(collections.Counter("mississippi").most_common(3), collections.OrderedDict.fromkeys("abc"))
    dq = collections.deque(range(5), maxlen=4); dq.rotate(1); print(dq)
    print(list(itertools.permutations("abc", 2))[:4], list(itertools.accumulate([1, 2, 3, 4])),
          list(itertools.groupby("aabbbc")) and [(k, len(list(g))) for k, g in itertools.groupby("aabbbc")])
    decimal.getcontext().prec = 30
    print(decimal.Decimal(1) / decimal.Decimal(7), decimal.Decimal("0.1") + decimal.Decimal("0.2"),
          fractions.Fraction(3, 4) + fractions.Fraction(1, 6))
    print(math.factorial(30), math.gcd(1071, 462), math.isqrt(10**20), math.comb(50, 25), 2**200 % 1000007)
    print(math.pi, math.e, math.sqrt(2), math.sin(1), math.log(10), 1e308 * 10, float("nan") != float("nan"))
    print(0.1 + 0.2, 1 / 3, 2 ** 0.5, round(2.675, 2), format(1234567.891, ",.2f"), f"{255:#x} {255:08b} {3.14159:.3e}")
    print(uuid.uuid5(uuid.NAMESPACE_DNS, "velox.example"), uuid.uuid4().version)
    print(textwrap.fill("the quick brown fox jumps over the lazy dog " * 2, 30))
    print(base64.b64encode(b"\x00\xffvelox"), base64.b32decode("ON2WQ==="), "caf\u00e9".encode("utf-8"), b"caf\xc3\xa9".decode())
    print(sorted(["b", "A", "c", "B"]), sorted(["b", "A", "c", "B"], key=str.lower), sorted([3, 1, 2], reverse=True))
    print(sys.version_info[:2] >= (3, 11), sys.platform, sys.maxsize == 2**63 - 1, sys.getrecursionlimit() > 100)

    os.chdir("/")
    shutil.rmtree(W)
    print("done")


if __name__ == "__main__":
    main()
