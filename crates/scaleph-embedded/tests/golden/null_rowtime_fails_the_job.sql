-- A NULL event time fails a streaming job, as Flink's WatermarkAssignerOperator fails it.
SET 'execution.runtime-mode' = 'streaming';
CREATE TABLE t (id INT, v INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '${DATA}/null_rowtime.csv', 'format' = 'csv');
CREATE TABLE res (id INT, v INT, ts TIMESTAMP(3)) WITH ('connector' = 'print');
INSERT INTO res SELECT id, v, ts FROM t;
-- ---- expected ----
-- error: RowTime field should not be null, please convert it to a non-null long value.
