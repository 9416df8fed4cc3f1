-- Join ordering over chains of equal keys (cust.nk = supp.nk = nat.nk): the rows equal the
-- written order's, NULL keys join nothing, and two columns of one table equal to the same key
-- must both match it.
SET 'execution.runtime-mode' = 'batch';
SET 'table.dml-sync' = 'true';
CREATE TABLE fact (id INT, ck INT, sk INT, v STRING) WITH ('connector' = 'filesystem', 'path' = '${TMP}/fact', 'format' = 'parquet');
CREATE TABLE cust (ck INT, nk INT) WITH ('connector' = 'filesystem', 'path' = '${TMP}/cust', 'format' = 'parquet');
CREATE TABLE supp (sk INT, nk INT) WITH ('connector' = 'filesystem', 'path' = '${TMP}/supp', 'format' = 'parquet');
CREATE TABLE nat (nk INT, name STRING) WITH ('connector' = 'filesystem', 'path' = '${TMP}/nat', 'format' = 'parquet');
CREATE TABLE p (x INT, y INT, z INT) WITH ('connector' = 'filesystem', 'path' = '${TMP}/p', 'format' = 'parquet');
INSERT INTO fact VALUES (1, 1, 100, 'a'), (2, 1, 200, 'b'), (3, 2, 200, 'c'), (4, 3, 300, 'd'), (5, 4, 100, 'e'), (6, 5, 100, 'f');
INSERT INTO cust VALUES (1, 10), (2, 20), (3, CAST(NULL AS INT)), (4, 10);
INSERT INTO supp VALUES (100, 10), (200, 20), (300, CAST(NULL AS INT));
INSERT INTO nat VALUES (10, 'A'), (20, 'B');
INSERT INTO p VALUES (10, 1, 1), (20, 2, 3), (10, 5, 5);
SELECT fact.id, nat.name FROM cust, fact, supp, nat
WHERE cust.ck = fact.ck AND fact.sk = supp.sk AND cust.nk = supp.nk AND supp.nk = nat.nk ORDER BY fact.id;
SELECT fact.id, nat.name FROM fact, p, nat WHERE fact.id = p.y AND fact.id = p.z AND p.x = nat.nk ORDER BY fact.id;
SET 'table.optimizer.join-reorder-enabled' = 'false';
SELECT fact.id, nat.name FROM cust, fact, supp, nat
WHERE cust.ck = fact.ck AND fact.sk = supp.sk AND cust.nk = supp.nk AND supp.nk = nat.nk ORDER BY fact.id;
SELECT fact.id, nat.name FROM fact, p, nat WHERE fact.id = p.y AND fact.id = p.z AND p.x = nat.nk ORDER BY fact.id;
-- ---- expected ----
-- +I[1, A]
-- +I[3, B]
-- +I[5, A]
-- +I[1, A]
-- +I[5, A]
-- +I[1, A]
-- +I[3, B]
-- +I[5, A]
-- +I[1, A]
-- +I[5, A]
