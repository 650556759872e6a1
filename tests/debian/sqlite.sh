# The sqlite3 command-line shell: tests/debian/sqlite.sql through `sqlite3 DB < sqlite.sql`
# (a database file on the ext4 root), then the file reopened by new sqlite3 processes: read back,
# changed in WAL mode, dumped and restored. Run by tests/debian/run (bash, TZ=UTC LC_ALL=C).
# Files under /var/tmp/dt-sqlite (removed at the end).
W=/var/tmp/dt-sqlite
rm -rf $W; mkdir -p $W; cd $W || exit 1
db=$W/test.db
sqlite3 $db < /tests/debian/sqlite.sql
echo "script status=$?"
echo "== reopened"
sqlite3 $db 'SELECT count(*), sum(salary) FROM emp;'
sqlite3 -header -column $db 'SELECT name, salary FROM emp ORDER BY salary DESC LIMIT 3;'
sqlite3 -csv $db "SELECT * FROM dept ORDER BY id;"
sqlite3 -json $db "SELECT name FROM dept WHERE floor > 3;"
sqlite3 $db 'PRAGMA journal_mode = WAL;'
sqlite3 $db "INSERT INTO emp VALUES (20, 'wal', 2, 1234, '2024-05-05', NULL);" "SELECT count(*) FROM emp;"
ls $db-wal $db-shm 2>/dev/null | wc -l
sqlite3 $db 'SELECT name FROM emp WHERE id = 20;' 'PRAGMA journal_mode;'
sqlite3 $db 'SELECT 1 FROM nosuchtable;'; echo "error status=$?"
echo "== dump and restore"
sqlite3 $db .dump > dump.sql
grep -c '^INSERT INTO' dump.sql; head -3 dump.sql
sqlite3 copy.db < dump.sql
sqlite3 $db 'SELECT * FROM emp ORDER BY id;' > rows1; sqlite3 copy.db 'SELECT * FROM emp ORDER BY id;' > rows2
cmp rows1 rows2 && echo "restored copy has the same rows"
echo "== import"
printf 'id,word\n1,alpha\n2,"beta, gamma"\n3,delta\n' > words.csv
sqlite3 imp.db '.import --csv words.csv words' 'SELECT count(*), max(word) FROM words;' "SELECT word FROM words WHERE id = '2';"
echo "== many rows in one transaction"
{ echo 'BEGIN;'; echo 'CREATE TABLE big (k INTEGER PRIMARY KEY, v TEXT);'
  for i in $(seq 1 2000); do echo "INSERT INTO big VALUES ($i, 'value $i');"; done; echo 'COMMIT;'; } | sqlite3 big.db
sqlite3 big.db 'SELECT count(*), sum(k), min(v), max(v) FROM big;' 'PRAGMA integrity_check;' 'VACUUM;' 'SELECT page_count > 1 FROM pragma_page_count;'
cd /; rm -rf $W
echo done
