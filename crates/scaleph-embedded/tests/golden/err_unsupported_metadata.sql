CREATE TABLE t (
  id BIGINT,
  f STRING METADATA FROM 'file.path' VIRTUAL
) WITH ('connector' = 'datagen', 'number-of-rows' = '1');
SELECT * FROM t;
-- ---- expected ----
-- error: 3:12: unsupported: METADATA column — run it on a Flink cluster
