CREATE TABLE t (a INT) WITH ('connector' = 'datagen');
-- ---- expected ----
-- error: 1:14: unsupported: unbounded datagen table `t` in batch execution (set 'number-of-rows' or a sequence field) — run it on a Flink cluster
