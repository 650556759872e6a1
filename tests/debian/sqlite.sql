-- The sqlite3 CLI script of tests/debian/sqlite.sh (sqlite3 DB < sqlite.sql): dot commands
-- (.mode, .headers, .nullvalue, .print), tables, a committed and a rolled-back transaction,
-- joins, GROUP BY / HAVING, a view, a trigger, an upsert, CTEs, window functions, JSON and
-- date functions with fixed dates.
.bail off
.headers on
.mode list
.nullvalue NULL
PRAGMA foreign_keys = ON;
CREATE TABLE dept (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, floor INTEGER);
CREATE TABLE emp (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, dept_id INTEGER REFERENCES dept(id),
    salary INTEGER CHECK (salary > 0), hired TEXT, boss INTEGER
);
CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, what TEXT);
CREATE TRIGGER emp_raise AFTER UPDATE OF salary ON emp
    BEGIN INSERT INTO audit (what) VALUES (new.name || ': ' || old.salary || ' -> ' || new.salary); END;
CREATE INDEX emp_dept ON emp (dept_id);
INSERT INTO dept VALUES (1, 'eng', 3), (2, 'ops', 1), (3, 'sales', 2), (4, 'legal', 4);
BEGIN;
INSERT INTO emp VALUES (1, 'ada', 1, 9000, '2019-03-01', NULL);
INSERT INTO emp VALUES (2, 'bob', 1, 7000, '2020-06-15', 1);
INSERT INTO emp VALUES (3, 'cy', 2, 5000, '2021-01-10', 1);
INSERT INTO emp VALUES (4, 'di', 3, 6000, '2018-11-30', 1);
INSERT INTO emp VALUES (5, 'ed', 3, 4500, '2022-02-28', 4);
INSERT INTO emp VALUES (6, 'flo', 1, 8000, '2023-07-04', 2);
INSERT INTO emp VALUES (7, 'gus', NULL, 3000, '2024-01-01', NULL);
COMMIT;
.print -- after the committed transaction
SELECT count(*) AS n, sum(salary) AS total FROM emp;
BEGIN;
DELETE FROM emp WHERE dept_id = 1;
INSERT INTO emp VALUES (8, 'tmp', 2, 100, '2024-01-02', NULL);
SELECT count(*) AS inside_transaction FROM emp;
ROLLBACK;
SELECT count(*) AS after_rollback FROM emp;
.print -- constraint errors (statements fail, the script goes on)
INSERT INTO emp VALUES (9, 'bad', 99, 1000, '2024-01-01', NULL);
INSERT INTO emp VALUES (9, 'bad', 1, -5, '2024-01-01', NULL);
INSERT INTO dept VALUES (5, 'eng', 9);
SELECT count(*) AS still FROM emp;
.print -- inner join, column mode
.mode column
SELECT e.name, d.name AS dept, d.floor, e.salary FROM emp e JOIN dept d ON d.id = e.dept_id ORDER BY e.salary DESC;
.print -- left join, group by, having
SELECT d.name AS dept, count(e.id) AS n, coalesce(sum(e.salary), 0) AS total,
       round(avg(e.salary), 1) AS avg, max(e.name) AS last
  FROM dept d LEFT JOIN emp e ON e.dept_id = d.id GROUP BY d.id ORDER BY total DESC, dept;
SELECT d.name AS dept, count(*) AS n FROM emp e JOIN dept d ON d.id = e.dept_id GROUP BY d.name HAVING count(*) > 1 ORDER BY n DESC;
.print -- self join and subqueries
SELECT e.name, b.name AS boss FROM emp e LEFT JOIN emp b ON b.id = e.boss ORDER BY e.id;
SELECT name FROM emp WHERE salary > (SELECT avg(salary) FROM emp) ORDER BY name;
SELECT name FROM dept WHERE NOT EXISTS (SELECT 1 FROM emp WHERE dept_id = dept.id);
.print -- csv mode
.mode csv
SELECT id, name, hired, boss FROM emp WHERE id <= 3 ORDER BY id;
SELECT 'a,b' AS q1, 'say "hi"' AS q2, NULL AS n;
.print -- view, trigger and upsert in a transaction
.mode list
.separator " | "
CREATE VIEW payroll AS SELECT d.name AS dept, sum(e.salary) AS total FROM emp e JOIN dept d ON d.id = e.dept_id GROUP BY d.name;
BEGIN TRANSACTION;
UPDATE emp SET salary = salary + 500 WHERE dept_id = 3;
INSERT INTO dept VALUES (2, 'ops', 1) ON CONFLICT (id) DO UPDATE SET floor = excluded.floor + 10;
INSERT OR REPLACE INTO dept VALUES (4, 'legal', 5);
COMMIT;
SELECT * FROM payroll ORDER BY dept;
SELECT * FROM audit ORDER BY id;
SELECT id, name, floor FROM dept ORDER BY id;
SELECT changes() AS changes, total_changes() > 0 AS some;
.print -- recursive CTE and window functions
WITH RECURSIVE fib(n, a, b) AS (SELECT 1, 0, 1 UNION ALL SELECT n + 1, b, a + b FROM fib WHERE n < 15)
SELECT group_concat(a, ',') AS fib FROM fib;
WITH RECURSIVE chain(id, name, depth) AS (
    SELECT id, name, 0 FROM emp WHERE boss IS NULL AND dept_id IS NOT NULL
    UNION ALL SELECT e.id, e.name, c.depth + 1 FROM emp e JOIN chain c ON e.boss = c.id)
SELECT printf('%.*c%s', depth * 2, ' ', name) AS tree, depth FROM chain ORDER BY depth, name;
SELECT name, dept_id, salary,
       rank() OVER (PARTITION BY dept_id ORDER BY salary DESC) AS rnk,
       sum(salary) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running,
       lag(name) OVER (ORDER BY id) AS prev
  FROM emp ORDER BY id;
.print -- functions
SELECT date('2024-02-28', '+1 day') AS d1, date('2023-02-28', '+1 day') AS d2,
       strftime('%Y-%j %w', '2024-12-31') AS s, julianday('2024-03-01') - julianday('2024-02-01') AS days,
       datetime(1700000000, 'unixepoch') AS dt, unixepoch('2000-01-01') AS ue;
SELECT upper('abc'), length('h€llo'), substr('sqlite', 2, 3), replace('a-b-c', '-', '+'), instr('hello', 'll'),
       printf('%05.1f|%-4s|%x', 3.14159, 'ab', 255), trim('  x  '), hex('AB'), quote('it''s'), abs(-7), 7 / 2, 7 % 3, 7 / 2.0;
SELECT json_object('a', 1, 'b', json_array(1, 2, 'x')) AS j, json_extract('{"k": {"v": [10, 20]}}', '$.k.v[1]') AS v,
       (SELECT group_concat(value, '+') FROM json_each('[3, 1, 2]')) AS each;
SELECT typeof(1), typeof(1.5), typeof('x'), typeof(NULL), typeof(x'00'), CAST('12abc' AS INTEGER), 1 = 1.0, 'a' < 'b', NULL IS NULL;
.print -- other output modes
.mode line
SELECT id, name FROM emp WHERE id = 1;
.mode json
SELECT id, name, boss FROM emp WHERE id IN (1, 2) ORDER BY id;
.mode markdown
SELECT id, name, salary FROM emp WHERE id <= 2 ORDER BY id;
.mode insert emp
SELECT * FROM emp WHERE id = 3;
.mode tabs
.headers off
SELECT name, salary FROM emp WHERE dept_id = 1 ORDER BY name;
.print -- schema
.tables
.schema dept
.indexes emp
PRAGMA integrity_check;
PRAGMA foreign_key_check;
