CREATE TEMPORARY TABLE IF NOT EXISTS `cat`.`db`.events (
  id BIGINT NOT NULL,
  payload ROW<a INT, b ARRAY<STRING>, c MAP<STRING, DOUBLE>>,
  ts TIMESTAMP(3),
  amount DECIMAL(10, 2),
  PRIMARY KEY (id) NOT ENFORCED,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) COMMENT 'events' WITH ('connector' = 'datagen', 'number-of-rows' = '10');
RESET 'parallelism.default';
RESET;
WITH t AS (SELECT id, amount FROM events) SELECT id, CAST(amount AS STRING) FROM t UNION ALL VALUES (1, 'x');
