-- Inner joins written largest-first are reordered (smallest intermediate result first);
-- SELECT * keeps the written column order, a predicate over two tables is applied once both
-- are joined, and the result equals the written order's
-- ('table.optimizer.join-reorder-enabled' = 'false').
SET 'table.dml-sync' = 'true';
CREATE TABLE big (id INT, k INT, v STRING) WITH ('connector' = 'filesystem', 'path' = '${TMP}/big', 'format' = 'parquet');
CREATE TABLE mid (k INT, g INT, name STRING) WITH ('connector' = 'filesystem', 'path' = '${TMP}/mid', 'format' = 'parquet');
CREATE TABLE dim (g INT, label STRING) WITH ('connector' = 'filesystem', 'path' = '${TMP}/dim', 'format' = 'parquet');
INSERT INTO big VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 10, 'c'), (4, 30, 'd'), (5, 40, 'e');
INSERT INTO mid VALUES (10, 1, 'ten'), (20, 2, 'twenty'), (30, 1, 'thirty');
INSERT INTO dim VALUES (1, 'one'), (2, 'two');
SELECT * FROM big, mid, dim
WHERE big.k = mid.k AND mid.g = dim.g AND ((dim.label = 'one' AND big.v <> 'c') OR big.v = 'b')
ORDER BY id;
SET 'table.optimizer.join-reorder-enabled' = 'false';
SELECT * FROM big, mid, dim
WHERE big.k = mid.k AND mid.g = dim.g AND ((dim.label = 'one' AND big.v <> 'c') OR big.v = 'b')
ORDER BY id;
-- ---- expected ----
-- +I[1, 10, a, 10, 1, ten, 1, one]
-- +I[2, 20, b, 20, 2, twenty, 2, two]
-- +I[4, 30, d, 30, 1, thirty, 1, one]
-- +I[1, 10, a, 10, 1, ten, 1, one]
-- +I[2, 20, b, 20, 2, twenty, 2, two]
-- +I[4, 30, d, 30, 1, thirty, 1, one]
