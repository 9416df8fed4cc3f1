CREATE TABLE t (a INT) WITH ('connector' = 'datagen', 'number-of-rows' = '1');
SELECT * FROM t
  MATCH_RECOGNIZE (ORDER BY a MEASURES A.a AS x PATTERN (A) DEFINE A AS a > 0);
