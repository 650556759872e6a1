# perl: text processing, hashes, closures, regexes, sprintf, sorting, file I/O, processes.
# Run by tests/debian/run (perl, TZ=UTC LC_ALL=C, cwd /root). Files under /var/tmp/dt-perl
# (removed at the end). Hash order is never printed unsorted (it is randomised per run).
use strict;
use warnings;
use POSIX qw(strftime floor ceil fmod);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempfile);
use File::Find;
use File::Copy;
use List::Util qw(sum max min first reduce shuffle);
use Digest::MD5 qw(md5_hex);
use Digest::SHA qw(sha256_hex sha1_hex);
use Data::Dumper;
use Storable qw(freeze thaw dclone);
use JSON::PP;
use Time::Local qw(timegm);
$| = 1;
$Data::Dumper::Sortkeys = 1;
$Data::Dumper::Indent = 1;

my $W = "/var/tmp/dt-perl";
remove_tree($W);
make_path($W) or die "mkdir: $!";
chdir $W or die;
sub sec { print "== @_\n" }

sec "text processing";
my $text = <<'END';
The quick brown fox jumps over the lazy dog.
The dog sleeps; the fox runs away!
A third line, with numbers 42 and 3.14 and -7.
END
my @lines = split /\n/, $text;
printf "%d lines, %d words, %d chars\n", scalar @lines, scalar(split /\s+/, $text), length $text;
my %freq;
$freq{lc $_}++ for $text =~ /\b([a-z]+)\b/gi;
for my $w (sort { $freq{$b} <=> $freq{$a} || $a cmp $b } keys %freq) {
    next if $freq{$w} < 2;
    print "$w=$freq{$w} ";
}
print "\n";
my @nums = $text =~ /(-?\d+(?:\.\d+)?)/g;
print "numbers: @nums sum=", sum(@nums), "\n";
(my $t2 = $lines[0]) =~ s/(\w+)/\u$1/g; print "$t2\n";
(my $t3 = $lines[1]) =~ tr/a-z/A-Z/; print "$t3\n";
my $count = ($text =~ tr/o//); print "o count: $count\n";
print join("|", map { sprintf "%-6s", $_ } qw(a bb ccc)), "|\n";
print join(",", reverse split //, "stressed"), "\n";
print ucfirst(lc("hELLO")), " ", lcfirst("ABC"), " ", uc "mixed", " ", "x" x 5, " ", join("-", ("ab") x 3), "\n";
print "index: ", index("hello world", "o"), " ", rindex("hello world", "o"), " substr: ", substr("hello world", 6, 3), "\n";
my $str = "hello world"; substr($str, 0, 5) = "HOWDY"; print "$str\n";
print "sprintf: ", sprintf("%05.2f|%-5s|%5s|%x|%o|%b|%e|%+d", 3.14159, "ab", "cd", 255, 8, 5, 12345.678, 7), " ", sprintf('%2$s %1$s', "a", "b"), "\n";
print sprintf("%s %s %s", "%d", 1e21, 0.1 + 0.2), " ", sprintf("%.15g", 0.1 + 0.2), " ", 10 / 3, "\n";
print sprintf("%vd", v1.22.333), " ", sprintf("%*d|%-*d|", 6, 42, 4, 7), " ", sprintf("%#x %#o %#b", 255, 8, 5), "\n";

sec "regexes";
my $log = "2024-01-15 ERROR disk full\n2024-02-01 WARN cpu hot\n2024-03-10 ERROR net down\n";
while ($log =~ /^(?<date>\S+) (?<lvl>ERROR) (?<msg>.+)$/mg) {
    print "$+{date} [$+{lvl}] $+{msg} at ", pos($log), "\n";
}
my @errs = grep { /ERROR/ } split /\n/, $log; print scalar(@errs), " errors\n";
(my $s = "aaa bbb ccc") =~ s/(\w+)/<$1>/g; print "$s\n";
(my $e = "1 2 3") =~ s/(\d)/$1 * 10/ge; print "$e\n";
my $re = qr/(\w)\1/; print join(",", grep { $_ =~ $re } qw(book cat moon tree sky)), "\n";
print "non-greedy: ", ("<b>x</b><b>y</b>" =~ /<b>(.*?)<\/b>/)[0], " greedy: ", ("<b>x</b><b>y</b>" =~ /<b>(.*)<\/b>/)[0], "\n";
print "case-insensitive: ", ("HeLLo" =~ /^hello$/i ? "yes" : "no"), " x-flag: ", ("ab12" =~ / ^ [a-z]+ \d+ $ /x ? "yes" : "no"), "\n";
print "lookahead: ", join(",", "price: 100 dollars 200 euros" =~ /(\d+)(?= dollars)/g), " lookbehind: ", join(",", "a1 b2 c3" =~ /(?<=b)(\d)/g), "\n";
print "tr count: ", ($log =~ tr/\n//), " split limit: ", join("|", split(/,/, "a,b,c,d", 2)), "\n";
my %h = ("2024-01-15 x" =~ /(\d+)-(\d+)/) ? (ok => 1) : (); print "match in list: ", join(",", %h), "\n";
print "subst return: ", ($s =~ s/<//g), " r-flag: ", ("hello" =~ s/l/L/gr), "\n";
print "unicode: ", length("caf\x{e9}"), " ", (("\x{3b1}\x{3b2}" =~ /^\w+$/) ? "word" : "nonword"), "\n";

sec "hashes and data structures";
my %ages = (alice => 31, bob => 25, carol => 35, dave => 25);
for my $n (sort { $ages{$a} <=> $ages{$b} or $a cmp $b } keys %ages) { print "$n:$ages{$n} " }
print "\n";
print "exists: ", (exists $ages{bob} ? 1 : 0), (exists $ages{zed} ? 1 : 0), " count: ", scalar(keys %ages), "\n";
delete $ages{bob}; print "after delete: ", join(",", sort keys %ages), "\n";
my %inv; push @{ $inv{$ages{$_}} }, $_ for sort keys %ages;
print "inverted: ", join("; ", map { "$_ => [@{$inv{$_}}]" } sort keys %inv), "\n";
my $data = { list => [1, [2, 3], { k => "v" }], hash => { x => 1, y => [4, 5] }, str => "s" };
print "deep: $data->{list}[1][1] $data->{hash}{y}->[-1] ", scalar @{ $data->{list} }, "\n";
local $Data::Dumper::Terse = 1;
print Dumper($data);
my $copy = dclone($data); $copy->{hash}{x} = 99; print "dclone independent: $data->{hash}{x} $copy->{hash}{x}\n";
my $thawed = thaw(freeze($data)); print "storable round trip: $thawed->{list}[2]{k}\n";
my $json = JSON::PP->new->canonical->pretty(0);
my $enc = $json->encode($data); print "$enc\n";
print "json decode: ", $json->decode('{"a":[1,2,{"b":null}],"t":true}')->{a}[2]{b} // "undef", "\n";
my @aoh = ({ n => "x", v => 3 }, { n => "y", v => 1 }, { n => "z", v => 2 });
print join(" ", map { $_->{n} } sort { $a->{v} <=> $b->{v} } @aoh), "\n";
my @stack = (1 .. 5); push @stack, 6; unshift @stack, 0; my $p = pop @stack; my $sh = shift @stack;
print "stack: @stack popped=$p shifted=$sh splice=", join(",", splice(@stack, 1, 2)), " left=@stack\n";
my @arr = (5, 3, 9, 1); print "wantarray/scalar: ", scalar(@arr), " last idx: $#arr slice: @arr[1,2] ", "@{[ reverse @arr ]}\n";
my %slice; @slice{qw(a b c)} = (1, 2, 3); print "hash slice: ", join(",", @slice{qw(c a)}), " each sorted: ",
    join(",", map { "$_=$slice{$_}" } sort keys %slice), "\n";

sec "closures";
sub make_counter { my $n = shift; return { inc => sub { $n += shift // 1 }, get => sub { $n } } }
my $c1 = make_counter(10); my $c2 = make_counter(100);
$c1->{inc}->(); $c1->{inc}->(5); $c2->{inc}->();
print "counters: ", $c1->{get}->(), " ", $c2->{get}->(), "\n";
my @subs; for my $i (1 .. 3) { push @subs, sub { $i * 10 } } print "captured: ", join(",", map { $_->() } @subs), "\n";
sub compose { my @f = reverse @_; return sub { my @a = @_; @a = $_->(@a) for @f; wantarray ? @a : $a[0] } }
my $inc_then_double = compose(sub { $_[0] * 2 }, sub { $_[0] + 1 }); print "compose: ", $inc_then_double->(5), "\n";
my $fact; $fact = sub { my $n = shift; $n <= 1 ? 1 : $n * $fact->($n - 1) }; print "recursive closure: ", $fact->(20), "\n";
my $adder = do { my $total = 0; sub { $total += $_ for @_; $total } }; $adder->(1, 2); print "accumulator: ", $adder->(3), "\n";
print "reduce: ", reduce(sub { $a * $b }, 1 .. 10), " first: ", first(sub { $_ > 3 }, 1 .. 10), " max/min: ", max(3, 9, 2), "/", min(3, 9, 2), "\n";
my @sorted = map { $_->[1] } sort { $a->[0] <=> $b->[0] or $a->[1] cmp $b->[1] } map { [length, $_] } qw(pear fig apple kiwi banana);
print "schwartzian: @sorted\n";
print "sort numeric desc: @{[ sort { $b <=> $a } 10, 2, 33, 4 ]} string: @{[ sort 10, 2, 33, 4 ]}\n";
local $_ = "topic"; print "local \$_: $_\n";
{ package Counter; sub new { my ($c, %a) = @_; bless { n => $a{start} // 0 }, $c } sub inc { $_[0]{n}++; $_[0] } sub n { $_[0]{n} } }
print "object: ", Counter->new(start => 5)->inc->inc->n, " ", ref(Counter->new), " ", (Counter->can("inc") ? "can inc" : ""), "\n";
my $r = eval { die { code => 42 } }; print "die with ref: $@->{code}\n";
eval { my $x = 1 / 0 }; print "eval error: ", ($@ =~ /^(Illegal division by zero)/)[0], "\n";

sec "file I/O";
open(my $fh, ">", "data.txt") or die; print $fh "line $_\n" for 1 .. 100; close $fh;
open($fh, ">>", "data.txt") or die; printf $fh "%s\n", "appended"; close $fh;
open($fh, "<", "data.txt") or die; my @all = <$fh>; close $fh;
print "read ", scalar(@all), " lines, last: $all[-1]";
open($fh, "<", "data.txt") or die; my $n = 0; while (<$fh>) { $n++ if /7/ } print "lines with 7: $n, \$.: $.\n"; close $fh;
print "size: ", -s "data.txt", " exists: ", (-e "data.txt" ? 1 : 0), " file: ", (-f _ ? 1 : 0), " dir: ", (-d "." ? 1 : 0), "\n";
utime 1600000000, 1600000000, "data.txt"; my @st = stat "data.txt"; print "mtime: $st[9] mode: ", sprintf("%o", $st[2] & 07777), " nlink: $st[3]\n";
chmod 0640, "data.txt"; printf "chmod: %o\n", (stat "data.txt")[2] & 07777;
open($fh, "+<", "data.txt") or die; seek($fh, 5, 0); print $fh "X"; seek($fh, 0, 0); my $first = <$fh>; print "rw: $first"; close $fh;
open($fh, "<:raw", "data.txt") or die; binmode $fh; read($fh, my $buf, 10); print "read 10: ", unpack("H*", $buf), "\n"; close $fh;
{ local $/; open($fh, "<", "data.txt") or die; my $slurp = <$fh>; close $fh; print "slurp md5: ", md5_hex($slurp), " sha256: ", substr(sha256_hex($slurp), 0, 16), "\n"; }
{ local $/ = ""; open($fh, "<", \"p1 a\np1 b\n\np2\n") or die; my @paras = <$fh>; print "paragraphs: ", scalar(@paras), "\n"; }
copy("data.txt", "copy.txt") or die; move("copy.txt", "moved.txt") or die; print "copy+move: ", (-e "copy.txt" ? "copy left" : "ok"), " ", -s "moved.txt", "\n";
mkdir "d"; mkdir "d/e"; for my $f (qw(d/1.txt d/e/2.txt d/e/3.log)) { open my $o, ">", $f or die; print $o $f; close $o }
my @found; find(sub { push @found, $File::Find::name if -f }, "d"); print "find: @{[ sort @found ]}\n";
opendir(my $dh, "d") or die; print "readdir: @{[ sort grep { !/^\.\.?$/ } readdir $dh ]}\n"; closedir $dh;
print "glob: @{[ sort glob('d/*/*.txt d/*.txt') ]}\n";
symlink("data.txt", "lnk") or die; print "readlink: ", readlink("lnk"), " -l: ", (-l "lnk" ? 1 : 0), "\n";
link("data.txt", "hard") or die; print "nlink now: ", (stat "data.txt")[3], "\n";
rename("hard", "hard2") or die; unlink("hard2", "lnk") == 2 or die; print "unlink ok\n";
my ($tfh, $tname) = tempfile(DIR => $W); print $tfh "tmp"; close $tfh; print "tempfile: ", -s $tname, "\n";
open($fh, "<", "/nonexistent") or print "open error: $!\n";
open(my $out, ">", \my $mem) or die; print $out "in-memory ", 42; close $out; print "$mem\n";
print "pack: ", unpack("H*", pack("NnCa3", 1, 2, 3, "ab")), " ", join(",", unpack("N n C", pack("N n C", 305419896, 4660, 255))), "\n";
print "pack le/be: ", unpack("H*", pack("V v q<", 1, 2, -1)), "\n";

sec "processes and system";
my $out2 = `printf 'b\\na\\n' | sort`; print "backticks: ", join(",", split /\n/, $out2), " status: $?\n";
system("sh", "-c", "exit 3"); print "system exit: ", $? >> 8, "\n";
system("sh", "-c", 'kill -TERM $$'); print "system signal: ", $? & 127, "\n";
open(my $pipe, "-|", "seq", "1", "5") or die; my @seq = <$pipe>; close $pipe; chomp @seq; print "pipe from: @seq\n";
open($pipe, "|-", "tr a-z A-Z") or die; print $pipe "pipe to tr\n"; close $pipe;
pipe(my $rd, my $wr) or die;
my $pid = fork(); die unless defined $pid;
if ($pid == 0) { close $rd; print $wr "from child\n"; close $wr; exit 7 }
close $wr; my $msg = <$rd>; close $rd; waitpid($pid, 0); print "fork: $msg", "child status: ", $? >> 8, "\n";
my $got = 0; local $SIG{USR1} = sub { $got++ }; kill 'USR1', $$; print "signal handler ran: $got\n";
local $SIG{ALRM} = sub { die "alarm\n" }; eval { alarm 1; select(undef, undef, undef, 5); alarm 0 }; print "alarm: $@";
print "time: ", strftime("%Y-%m-%d %H:%M:%S %a %j", gmtime(1700000000)), " ", timegm(0, 0, 0, 1, 0, 2000), "\n";
my @lt = localtime(86400 * 365); print "localtime (TZ=UTC): ", strftime("%F %T", @lt), "\n";
print "time() after 2023: ", (time > 1700000000 ? "yes" : "no"), " \$0: ", ($0 =~ m{/perl\.pl$} ? "ok" : $0), "\n";
print "env TZ: $ENV{TZ} HOME: $ENV{HOME}\n";
print "math: ", floor(-2.5), " ", ceil(2.1), " ", fmod(10, 3), " ", int(-7 / 2), " ", -7 % 3, " ", 2**0.5, " ", abs(-3), " ", sqrt(16), " ", 10 ** 20, " ", 0xff + 0b101 + 0o17, "\n";
print "big: ", 9007199254740993, " ", 18446744073709551615, " ", 2**64, " ", 1e15 + 0.3, "\n";
srand(42); my $r1 = join(",", map { int rand 100 } 1 .. 5); srand(42); my $r2 = join(",", map { int rand 100 } 1 .. 5);
print "srand repeatable: ", ($r1 eq $r2 ? "yes" : "no"), "\n";
printf "version: %s\n", ($^V ge v5.36 ? "5.36+" : "old");

chdir "/"; remove_tree($W);
print "done\n";
