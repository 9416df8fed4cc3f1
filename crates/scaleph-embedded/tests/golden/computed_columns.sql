CREATE TABLE t (
  id BIGINT,
  price AS id * 10,
  label AS CONCAT('n', CAST(id AS STRING)) COMMENT 'a label',
  qty INT
) WITH ('connector' = 'datagen', 'number-of-rows' = '3', 'fields.id.kind' = 'sequence',
  'fields.id.start' = '1', 'fields.id.end' = '3', 'fields.qty.kind' = 'sequence',
  'fields.qty.start' = '5', 'fields.qty.end' = '7');
SELECT * FROM t ORDER BY id;
-- ---- expected ----
-- +I[1, 10, n1, 5]
-- +I[2, 20, n2, 6]
-- +I[3, 30, n3, 7]
