CREATE TABLE t (ok BOOLEAN) WITH ('connector' = 'datagen', 'fields.ok.kind' = 'sequence', 'fields.ok.start' = '1', 'fields.ok.end' = '2');
-- ---- expected ----
-- error: 1:17: unsupported: datagen for column `ok` of type BOOLEAN — run it on a Flink cluster
