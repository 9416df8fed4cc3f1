CREATE TABLE t (
  id BIGINT,
  tags ARRAY<STRING>
) WITH ('connector' = 'datagen', 'number-of-rows' = '1');
-- ---- expected ----
-- error: 3:3: unsupported: datagen for column `tags` of type ARRAY<STRING> — run it on a Flink cluster
