CREATE TABLE t (a INT) WITH ('connector' = 'datagen');
SELECT * FROM t;
-- ---- expected ----
-- error: 1:14: Querying an unbounded table `t` in batch mode is not allowed. The table source is unbounded (set 'execution.runtime-mode' = 'streaming')
