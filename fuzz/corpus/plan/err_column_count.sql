CREATE TABLE t (a INT, b INT) WITH ('connector' = 'datagen', 'number-of-rows' = '1');
CREATE TABLE s (x INT) WITH ('connector' = 'blackhole');
INSERT INTO s SELECT a, b FROM t;
