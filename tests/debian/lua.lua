-- lua 5.4: tables, closures, string patterns, string.format, sorting, coroutines, file I/O,
-- io.popen and os. Run by tests/debian/run (lua, TZ=UTC LC_ALL=C, cwd /root). Files under
-- /var/tmp/dt-lua (removed at the end). pairs() order is never printed unsorted.
local W = "/var/tmp/dt-lua"
os.execute("rm -rf " .. W .. " && mkdir -p " .. W)
local function sec(s) print("== " .. s) end
local function sortedkeys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
  return ks
end

sec("tables")
local t = {10, 20, 30, x = "ex", [5] = 50}
print(#t, t[1], t.x, t[5], t[4])
table.insert(t, 40); table.insert(t, 1, 5); print(#t, table.concat(t, ",", 1, 5))
print(table.remove(t), table.remove(t, 1), table.concat(t, ","))
print(table.unpack({1, 2, 3})); print(select("#", table.unpack({1, nil, 3}, 1, 3)), select(2, "a", "b", "c"))
local packed = table.pack(1, nil, 3); print(packed.n, packed[3])
local moved = table.move({1, 2, 3}, 1, 3, 2, {9}); print(table.concat(moved, ","))
local counts = {}
for w in ("the cat and the hat and the bat"):gmatch("%a+") do counts[w] = (counts[w] or 0) + 1 end
for _, k in ipairs(sortedkeys(counts)) do io.write(k, "=", counts[k], " ") end print()
local nested = {a = {b = {c = "deep"}}, list = {{n = 1}, {n = 2}}}
print(nested.a.b.c, #nested.list, nested.list[2].n, rawlen({1, 2}), rawequal(t, t), next({}))
local mt = {__index = function(_, k) return k .. "!" end, __call = function(self, a) return "called " .. a end,
  __tostring = function() return "<obj>" end, __len = function() return 99 end,
  __add = function(a, b) return "added" end, __eq = function() return true end, __lt = function() return true end,
  __concat = function(a, b) return "cat" end}
local obj = setmetatable({}, mt)
print(obj.foo, obj(5), tostring(obj), #obj, obj + 1, obj .. "x", getmetatable(obj) == mt)
local Vec = {}; Vec.__index = Vec
function Vec.new(x, y) return setmetatable({x = x, y = y}, Vec) end
function Vec.__add(a, b) return Vec.new(a.x + b.x, a.y + b.y) end
function Vec:len() return math.sqrt(self.x ^ 2 + self.y ^ 2) end
Vec.__tostring = function(v) return string.format("(%g,%g)", v.x, v.y) end
local v = Vec.new(3, 4) + Vec.new(0, 0); print(tostring(v), v:len())
local weak = setmetatable({}, {__mode = "k"}); weak[{}] = 1; collectgarbage(); collectgarbage()
local n = 0; for _ in pairs(weak) do n = n + 1 end; print("weak keys after gc:", n)

sec("closures")
local function counter(start)
  local c = start
  return function(d) c = c + (d or 1); return c end
end
local c1, c2 = counter(0), counter(100)
c1(); c1(5); c2()
print(c1(0), c2(0))
local fns = {}
for i = 1, 3 do fns[i] = function() return i * 10 end end
print(fns[1](), fns[2](), fns[3]())
local function memo(f)
  local cache = {}
  return function(x) local r = cache[x]; if r == nil then r = f(x); cache[x] = r end; return r end
end
local fib; fib = memo(function(k) if k < 2 then return k end return fib(k - 1) + fib(k - 2) end)
print("fib(80) =", fib(80))
local function vararg(...) local a = {...}; return select("#", ...), #a, ... end
print(vararg(1, nil, 3))
print(pcall(function() error({code = 7}) end), select(2, pcall(function() error({code = 7}) end)).code)
print(pcall(error, "msg", 0), select(2, pcall(function() error("where") end)))
print(xpcall(function() return nil + 1 end, function(m) return "handled: " .. m:gsub("^.-:%d+: ", "") end))
local ok, e = pcall(function() local x = nil; return x.y end); print(ok, (e:gsub("^.-:%d+: ", "")))

sec("coroutines")
local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i * i) end return "end" end)
print(gen(), gen(), gen(), gen())
local co = coroutine.create(function(a, b)
  local c = coroutine.yield(a + b)
  local d, e2 = coroutine.yield(c * 2)
  return d + e2
end)
print(coroutine.resume(co, 1, 2)); print(coroutine.resume(co, 10)); print(coroutine.resume(co, 3, 4))
print(coroutine.status(co), coroutine.resume(co))
local function producer() return coroutine.wrap(function() for w in ("a b c"):gmatch("%S+") do coroutine.yield(w) end end) end
local acc = {}; for w in producer() do acc[#acc + 1] = w:upper() end; print(table.concat(acc, "-"))
print(coroutine.isyieldable(), select(2, coroutine.running()), type(coroutine.running()))

sec("strings and patterns")
local s = "Hello, World! 123 abc 45.6"
print(s:len(), s:upper(), s:lower(), s:rep(2, "|"), s:sub(-6), s:sub(1, 5), s:reverse():sub(1, 4))
print(s:find("World"), s:find("o", 6), s:find(".", 1, true), s:match("(%d+)"), s:match("(%a+), (%a+)"))
for num in s:gmatch("%d+%.?%d*") do io.write("[", num, "]") end print()
print(s:gsub("%w+", string.upper, 2), ("abc"):gsub("", "-"), ("hello world"):gsub("o", {o = "0"}))
print(("key=val; k2=v2"):gsub("(%w+)=(%w+)", "%2=%1"), ("  trim me  "):match("^%s*(.-)%s*$"))
print(("x"):byte(), string.char(72, 105), ("%d%%"):format(50), ("a,b,,c"):find(",,"), ("f(a(b)c)"):match("%b()"))
print(("THE (quick) fox"):find("%((%a+)%)"), ("2024-01-15"):match("(%d+)-(%d+)-(%d+)"), ("hello"):find("l+"))
print(("camelCaseString"):gsub("%u", function(c) return "_" .. c:lower() end), ("%f[%a]%a+"):len(), ("THE end"):gsub("%f[%a]%a+", "W"))
print(string.format("%5d|%-5s|%05.1f|%x|%X|%o|%e|%g|%q|%s|%c", 42, "ab", 3.14159, 255, 255, 8, 12345.678, 0.0001, "a\n\"b", nil, 65))
print(string.format("%10.3s|%-10s|%+d|% d|%#x|%.0f|%5.2f%%", "abcdef", "left", 5, 5, 255, 2.5, 99.5))
print(string.format("%q", 1 / 3), string.format("%q", math.mininteger), string.format("%a", 1.0))
print(utf8.char(72, 228, 8364, 128512), utf8.len("h\u{e4}\u{20ac}"), #"\u{20ac}")
for p, cp in utf8.codes("a\u{e9}\u{20ac}") do io.write(p, ":", cp, " ") end print()
print(tostring(12), tonumber("0x1F"), tonumber("z", 36), tonumber("10", 2), tonumber("  3.5  "), tonumber("abc"), tostring(1e100))
print(("%s"):rep(3, ","), table.concat({}, ","), ("a b  c"):gsub("%s+", " "))
local packed_s = string.pack("<i4 >I2 z s1 d", -2, 0x1234, "zs", "len", 1.5)
print(#packed_s, (packed_s:gsub(".", function(c) return string.format("%02x", c:byte()) end)), string.unpack("<i4 >I2 z s1 d", packed_s))
print(string.packsize("i4 i8 d"), string.pack(">I3", 0x010203):byte(1, -1))

sec("numbers")
print(7 // 2, -7 // 2, 7 % 3, -7 % 3, 7.0 // 2, 2 ^ 10, 7 / 2, 3 | 5, 3 & 5, 3 ~ 5, ~0, 1 << 62, 1 << 63, 1 << 64, 256 >> 4)
print(math.maxinteger, math.mininteger, math.maxinteger + 1 == math.mininteger, math.type(1), math.type(1.0), math.type("1"))
print(math.floor(-2.5), math.ceil(2.1), math.abs(-3), math.max(1, 9, 3), math.min(4, 2), math.fmod(-7, 3), math.tointeger(3.0), math.ult(1, -1))
print(math.pi, math.sqrt(2), math.sin(1), math.log(100, 10), math.exp(1), math.huge, -math.huge, 0 / 0 ~= 0 / 0)
print(10 // 0.0, pcall(function() return 1 // 0 end), 1e15, 1e16, 2 ^ 53, 123456789012, 0.1 + 0.2, 100 / 3)
print(string.format("%.17g", 0.1), 3 == 3.0, "10" + 5, "3" * "4", 10 .. 20, math.floor(3.7), -0.0)
math.randomseed(42); local r1 = {math.random(100), math.random(100), math.random()}
math.randomseed(42); local r2 = {math.random(100), math.random(100), math.random()}
print("randomseed repeatable:", r1[1] == r2[1] and r1[2] == r2[2] and r1[3] == r2[3], math.random(5, 5))

sec("sorting")
local words = {"pear", "Apple", "fig", "banana", "kiwi", "apple"}
table.sort(words); print(table.concat(words, " "))
table.sort(words, function(a, b) return a:lower() < b:lower() or (a:lower() == b:lower() and a < b) end); print(table.concat(words, " "))
table.sort(words, function(a, b) if #a ~= #b then return #a < #b end return a < b end); print(table.concat(words, " "))
local recs = {{name = "x", age = 30}, {name = "y", age = 25}, {name = "z", age = 30}, {name = "w", age = 20}}
table.sort(recs, function(a, b) if a.age ~= b.age then return a.age > b.age end return a.name < b.name end)
for _, r in ipairs(recs) do io.write(r.name, r.age, " ") end print()
local nums = {}; for i = 1, 1000 do nums[i] = (i * 7919) % 1009 end
table.sort(nums); local okk = true; for i = 2, #nums do if nums[i - 1] > nums[i] then okk = false end end
print("1000 sorted:", okk, nums[1], nums[500], nums[1000])
table.sort(nums, function(a, b) return a > b end); print("desc:", nums[1], nums[1000])

sec("file I/O")
local path = W .. "/data.txt"
local f = assert(io.open(path, "w"))
for i = 1, 100 do f:write("line ", i, "\n") end
f:write(string.format("%s %d %.2f\n", "end", 7, 1.005)); f:close()
f = assert(io.open(path, "a")); f:write("appended\n"); f:close()
local cnt, last = 0, nil
for line in io.lines(path) do cnt = cnt + 1; last = line end
print("lines:", cnt, "last:", last)
f = assert(io.open(path)); local all = f:read("a"); print("size:", #all, f:seek("end"), f:seek("set", 5), f:read(4)); f:close()
f = assert(io.open(path)); print(f:read("l"), f:read("n"), f:read("L"), f:read(3)); f:close()
f = assert(io.open(path, "r+")); f:seek("set", 0); f:write("LINE"); f:seek("set", 0); print(f:read("l")); f:close()
f = assert(io.open(W .. "/bin", "wb")); for i = 0, 255 do f:write(string.char(i)) end; f:close()
f = assert(io.open(W .. "/bin", "rb")); local b = f:read(300); print(#b, b:byte(1), b:byte(256)); f:close()
print(io.open("/nonexistent/x"))
print(io.type(f), io.type(io.stdout), io.type(42))
for l in io.lines(path, 8) do io.write("[", l, "]") break end print()
print(os.rename(path, W .. "/renamed.txt"), io.open(path) == nil, os.remove(W .. "/renamed.txt"), os.remove(W .. "/renamed.txt"))
local tmp = os.tmpname(); print("tmpname:", tmp:match("^/tmp/lua_") ~= nil); os.remove(tmp)

sec("processes and os")
local p = assert(io.popen("printf 'c\\nb\\na\\n' | sort")); local out = p:read("a"); print(out:gsub("\n", " "), p:close())
p = assert(io.popen("tr a-z A-Z > " .. W .. "/upper.txt", "w")); p:write("written through popen\n"); p:close()
print(io.open(W .. "/upper.txt"):read("l"))
print(os.execute("exit 3")); print(os.execute("kill -TERM $$")); print(os.execute())
print(io.popen("exit 5"):close())
print(os.getenv("TZ"), os.getenv("HOME"), os.getenv("NO_SUCH_VAR"))
print(os.date("!%Y-%m-%d %H:%M:%S %A %j", 1700000000), os.time({year = 2000, month = 1, day = 1, hour = 0}))
local d = os.date("!*t", 86400 * 366); print(d.year, d.month, d.day, d.yday, d.wday, d.isdst)
print(os.difftime(os.time({year = 2024, month = 3, day = 1, hour = 0}), os.time({year = 2024, month = 2, day = 1, hour = 0})) / 86400)
print("time after 2023:", os.time() > 1700000000, "clock:", type(os.clock()), _VERSION, math.type(os.time()))
local load_f = load("return 6 * 7"); print(load_f(), load("syntax error here"))
local env = {x = 5}; print(load("return x * 2", "chunk", "t", env)(), string.dump(load_f) ~= nil)

os.execute("rm -rf " .. W)
print("done")
