SET 'table.dml-sync' = 'true';
CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '9');
CREATE TABLE t (id BIGINT, bucket STRING, label STRING) PARTITIONED BY (bucket)
  WITH ('connector' = 'filesystem', 'path' = '${TMP}/t', 'format' = 'csv');
INSERT INTO t SELECT id, CAST(MOD(id, 3) AS STRING), CONCAT('n', CAST(id AS STRING)) FROM g;
-- a static partition, overwritten
INSERT OVERWRITE t PARTITION (bucket = '1') SELECT id * 100, 'x' FROM g WHERE id = 1;
SELECT bucket, COUNT(*), MIN(id), MAX(label) FROM t GROUP BY bucket ORDER BY bucket;
SELECT id, bucket, label FROM t WHERE bucket = '2' ORDER BY id;
