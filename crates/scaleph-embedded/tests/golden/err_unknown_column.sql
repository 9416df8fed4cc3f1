CREATE TABLE t (amount INT) WITH ('connector' = 'datagen', 'number-of-rows' = '1');
CREATE TABLE s (x INT) WITH ('connector' = 'blackhole');
INSERT INTO s
SELECT amout + 1 FROM t;
-- ---- expected ----
-- error: 4:8: No field named amout. Did you mean 't.amount'?.
