SET 'table.dml-sync' = 'true';
CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '3');
CREATE TABLE j (id BIGINT, price DECIMAL(10, 2), d DATE, ts TIMESTAMP(3), ok BOOLEAN) WITH ('connector' = 'filesystem', 'path' = '${TMP}/j', 'format' = 'json');
CREATE TABLE p (id BIGINT, tags ARRAY<STRING>, attrs ROW<a INT, b STRING>) WITH ('connector' = 'filesystem', 'path' = '${TMP}/p', 'format' = 'parquet');
INSERT INTO j SELECT id, CAST(id AS DECIMAL(10, 2)) / 4, DATE '2024-01-01' + CAST(id AS INT), TIMESTAMP '2024-01-01 10:00:00.123', id > 1 FROM g;
INSERT INTO p SELECT id, ARRAY['x', CAST(id AS STRING)], named_struct('a', CAST(id AS INT), 'b', 'y') FROM g;
INSERT OVERWRITE p SELECT id + 10, ARRAY['z'], named_struct('a', 0, 'b', 'w') FROM g WHERE id = 3;
SELECT * FROM j ORDER BY id;
SELECT id, tags, attrs FROM p;
-- ---- expected ----
-- +I[1, 0.25, 2024-01-02, 2024-01-01T10:00:00.123, false]
-- +I[2, 0.50, 2024-01-03, 2024-01-01T10:00:00.123, true]
-- +I[3, 0.75, 2024-01-04, 2024-01-01T10:00:00.123, true]
-- +I[13, [z], (0, w)]
