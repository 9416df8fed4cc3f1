CREATE TABLE t (a INT) WITH ('connector' = 'datagen', 'number-of-rows' = '1');
SELECT * FROM t
  MATCH_RECOGNIZE (ORDER BY a MEASURES A.a AS x PATTERN (A) DEFINE A AS a > 0);
-- ---- expected ----
-- error: 3:3: unsupported: MATCH_RECOGNIZE — run it on a Flink cluster
