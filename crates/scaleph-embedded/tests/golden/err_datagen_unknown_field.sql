CREATE TABLE t (a INT) WITH ('connector' = 'datagen', 'number-of-rows' = '1', 'fields.b.min' = '1');
-- ---- expected ----
-- error: 1:79: option 'fields.b.min' names no column of `t`
