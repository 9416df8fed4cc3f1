CREATE TABLE t (a INT) WITH ('connector' = 'datagen', 'number-of-rows' = '5', 'fields.a.null-rate' = '1.0');
CREATE TABLE s (x INT NOT NULL) WITH ('connector' = 'blackhole');
INSERT INTO s SELECT a FROM t;
-- ---- expected ----
-- error: column `x` of table `s` is NOT NULL, but the query produced a NULL
