-- Batch reads of parquet STRING columns (decoded as Utf8View) through functions, grouping, joins, unions, views and a sink.
SET 'execution.runtime-mode' = 'batch';
SET 'table.dml-sync' = 'true';
CREATE TABLE p (k INT, s STRING, tag STRING) WITH ('connector' = 'filesystem', 'path' = '${TMP}/p', 'format' = 'parquet');
CREATE TABLE c (tag STRING, label STRING) WITH ('connector' = 'filesystem', 'path' = '${TMP}/c', 'format' = 'csv');
CREATE TABLE o (tag STRING, n BIGINT, firsts STRING) WITH ('connector' = 'filesystem', 'path' = '${TMP}/o', 'format' = 'csv');
INSERT INTO p VALUES (1, 'Hello World', 'a'), (2, '', 'b'), (3, CAST(NULL AS STRING), 'a'), (4, 'Ärger mit Straßen über zwölf Bytes', 'c'), (5, 'a,b;c', CAST(NULL AS STRING)), (6, 'Hello World', 'b');
INSERT INTO c VALUES ('a', 'alpha'), ('b', 'beta'), ('d', 'delta');
SELECT k, UPPER(s), CHAR_LENGTH(s), SUBSTR(s, 2, 4), REGEXP_EXTRACT(s, '(\w+) (\w+)', 2), SPLIT_INDEX(s, ',', 1), MD5(s) FROM p ORDER BY k;
SELECT s, COUNT(*), MIN(k) FROM p GROUP BY s ORDER BY s;
SELECT p.k, c.label FROM p JOIN c ON p.tag = c.tag WHERE p.s LIKE 'H%' OR p.s = '' ORDER BY p.k;
SELECT k, COALESCE(s, 'none'), CASE WHEN k > 3 THEN s ELSE tag END FROM p WHERE tag IS NULL OR tag <> 'a' ORDER BY k;
SELECT * FROM (SELECT tag FROM p UNION SELECT tag FROM c) ORDER BY tag;
SELECT DISTINCT tag FROM p WHERE tag IN (SELECT tag FROM c) ORDER BY tag DESC LIMIT 1;
CREATE VIEW v AS SELECT tag, s FROM p WHERE s IS NOT NULL;
INSERT INTO o SELECT tag, COUNT(*), MAX(s) FROM v GROUP BY tag;
SELECT * FROM o ORDER BY tag;
-- ---- expected ----
-- +I[1, HELLO WORLD, 11, ello, World, NULL, b10a8db164e0754105b7a99be72e3fe5]
-- +I[2, , 0, , NULL, NULL, d41d8cd98f00b204e9800998ecf8427e]
-- +I[3, NULL, NULL, NULL, NULL, NULL, NULL]
-- +I[4, ÄRGER MIT STRASSEN ÜBER ZWÖLF BYTES, 34, rger, mit, NULL, 0f926a4d4a1f091fe2e3b8b426276847]
-- +I[5, A,B;C, 5, ,b;c, NULL, b;c, db409a4705b0297a774d62d08d3bd687]
-- +I[6, HELLO WORLD, 11, ello, World, NULL, b10a8db164e0754105b7a99be72e3fe5]
-- +I[NULL, 1, 3]
-- +I[, 1, 2]
-- +I[Hello World, 2, 1]
-- +I[a,b;c, 1, 5]
-- +I[Ärger mit Straßen über zwölf Bytes, 1, 4]
-- +I[1, alpha]
-- +I[2, beta]
-- +I[6, beta]
-- +I[2, , b]
-- +I[4, Ärger mit Straßen über zwölf Bytes, Ärger mit Straßen über zwölf Bytes]
-- +I[5, a,b;c, a,b;c]
-- +I[6, Hello World, Hello World]
-- +I[NULL]
-- +I[a]
-- +I[b]
-- +I[c]
-- +I[d]
-- +I[b]
-- +I[, 1, a,b;c]
-- +I[a, 1, Hello World]
-- +I[b, 2, Hello World]
-- +I[c, 1, Ärger mit Straßen über zwölf Bytes]
