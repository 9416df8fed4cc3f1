SET 'execution.runtime-mode' = 'streaming';
SET 'pipeline.auto-watermark-interval' = '0';
CREATE TABLE ev (id INT, k STRING, v INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '{dir}/events.csv', 'format' = 'csv');
CREATE TABLE evc (id INT, k STRING, v INT, ms AS CAST(v AS BIGINT) * 1000, ts TIMESTAMP(3), ts2 AS ts + INTERVAL '1' SECOND, WATERMARK FOR ts2 AS ts2 - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '{dir}/events.csv', 'format' = 'csv');
CREATE TABLE ord (oid INT, k STRING, amt INT, ots TIMESTAMP(3), WATERMARK FOR ots AS ots - INTERVAL '2' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '{dir}/orders.csv', 'format' = 'csv');
CREATE TABLE dim (k STRING, name STRING, w INT)
  WITH ('connector' = 'filesystem', 'path' = '{dir}/dims.csv', 'format' = 'csv');
CREATE VIEW evord AS SELECT e.id, e.ts, o.oid, o.amt FROM ev e JOIN ord o ON e.k = o.k AND o.ots BETWEEN e.ts - INTERVAL '2' SECOND AND e.ts + INTERVAL '1' SECOND;
