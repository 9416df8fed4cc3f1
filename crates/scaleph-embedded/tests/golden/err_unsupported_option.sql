CREATE TABLE t (a INT) WITH (
  'connector' = 'datagen',
  'number-of-rows' = '1',
  'fields.a.kindd' = 'sequence'
);
SELECT a FROM t;
-- ---- expected ----
-- error: 4:3: unsupported option 'fields.a.kindd' for connector 'datagen' of table `t`
