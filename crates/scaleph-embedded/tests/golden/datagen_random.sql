CREATE TABLE r (i INT, s STRING, d DOUBLE, m DECIMAL(6, 2), b BOOLEAN, ts TIMESTAMP(3), n BIGINT) WITH (
  'connector' = 'datagen', 'number-of-rows' = '2000',
  'fields.i.min' = '5', 'fields.i.max' = '10', 'fields.s.length' = '7',
  'fields.d.min' = '1.5', 'fields.d.max' = '2.5', 'fields.m.min' = '1', 'fields.m.max' = '2',
  'fields.ts.max-past' = '1h', 'fields.n.null-rate' = '1.0'
);
SELECT COUNT(*), MIN(i) >= 5 AND MAX(i) <= 10, MIN(CHAR_LENGTH(s)) = 7 AND MAX(CHAR_LENGTH(s)) = 7,
  MIN(d) >= 1.5 AND MAX(d) < 2.5, MIN(m) >= 1 AND MAX(m) <= 2, COUNT(DISTINCT b), COUNT(n),
  MAX(ts) <= CAST(NOW() AS TIMESTAMP(3)) + INTERVAL '1' MINUTE
    AND MIN(ts) >= CAST(NOW() AS TIMESTAMP(3)) - INTERVAL '61' MINUTE FROM r;
-- ---- expected ----
-- +I[2000, true, true, true, true, 2, 0, true]
