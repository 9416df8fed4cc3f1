-- Every type and every writing option of Flink's csv and json formats; each sink's files are
-- compared byte for byte with what Flink 2.3 wrote for this script (expected.json, recorded
-- by record_flink.py). ${OUT} is a fresh directory.
SET 'execution.runtime-mode' = 'batch';
SET 'table.local-time-zone' = 'UTC';
SET 'parallelism.default' = '1';
CREATE TABLE all_csv (d DOUBLE, f FLOAT, dc DECIMAL(10, 3), ts TIMESTAMP(3), ts6 TIMESTAMP(6), ltz TIMESTAMP_LTZ(3), dt DATE, tm TIME, b BOOLEAN, bt BYTES, s STRING, i INT, bi BIGINT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/all_csv', 'format' = 'csv');
INSERT INTO all_csv SELECT * FROM (VALUES
 (1.5e0, CAST(0.1 AS FLOAT), CAST(1.5 AS DECIMAL(10,3)), TIMESTAMP '2024-01-02 03:04:05.120', TIMESTAMP '2024-01-02 03:04:05.123456', TO_TIMESTAMP_LTZ(1704164645120, 3), DATE '2024-01-02', TIME '03:04:05', TRUE, X'0aff', 'a,b"c', 1, 10000000000),
 (1e20, CAST(1e-5 AS FLOAT), CAST(-0.001 AS DECIMAL(10,3)), TIMESTAMP '2024-01-02 00:00:00', TIMESTAMP '2024-01-02 00:00:00', TO_TIMESTAMP_LTZ(0, 3), DATE '1970-01-01', TIME '00:00:00', FALSE, X'', '', -1, 0),
 (CAST(NULL AS DOUBLE), CAST(NULL AS FLOAT), CAST(NULL AS DECIMAL(10,3)), CAST(NULL AS TIMESTAMP(3)), CAST(NULL AS TIMESTAMP(6)), CAST(NULL AS TIMESTAMP_LTZ(3)), CAST(NULL AS DATE), CAST(NULL AS TIME), CAST(NULL AS BOOLEAN), CAST(NULL AS BYTES), CAST(NULL AS STRING), CAST(NULL AS INT), CAST(NULL AS BIGINT))
) AS v(d, f, dc, ts, ts6, ltz, dt, tm, b, bt, s, i, bi);
CREATE TABLE all_json (d DOUBLE, f FLOAT, dc DECIMAL(10, 3), ts TIMESTAMP(3), ts6 TIMESTAMP(6), ltz TIMESTAMP_LTZ(3), dt DATE, tm TIME, b BOOLEAN, bt BYTES, s STRING, i INT, bi BIGINT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/all_json', 'format' = 'json');
INSERT INTO all_json SELECT * FROM (VALUES
 (1.5e0, CAST(0.1 AS FLOAT), CAST(1.5 AS DECIMAL(10,3)), TIMESTAMP '2024-01-02 03:04:05.120', TIMESTAMP '2024-01-02 03:04:05.123456', TO_TIMESTAMP_LTZ(1704164645120, 3), DATE '2024-01-02', TIME '03:04:05', TRUE, X'0aff', 'a,b"c', 1, 10000000000),
 (1e20, CAST(1e-5 AS FLOAT), CAST(-0.001 AS DECIMAL(10,3)), TIMESTAMP '2024-01-02 00:00:00', TIMESTAMP '2024-01-02 00:00:00', TO_TIMESTAMP_LTZ(0, 3), DATE '1970-01-01', TIME '00:00:00', FALSE, X'', '', -1, 0),
 (CAST(NULL AS DOUBLE), CAST(NULL AS FLOAT), CAST(NULL AS DECIMAL(10,3)), CAST(NULL AS TIMESTAMP(3)), CAST(NULL AS TIMESTAMP(6)), CAST(NULL AS TIMESTAMP_LTZ(3)), CAST(NULL AS DATE), CAST(NULL AS TIME), CAST(NULL AS BOOLEAN), CAST(NULL AS BYTES), CAST(NULL AS STRING), CAST(NULL AS INT), CAST(NULL AS BIGINT))
) AS v(d, f, dc, ts, ts6, ltz, dt, tm, b, bt, s, i, bi);
CREATE TABLE nested_json (a ARRAY<INT>, m MAP<STRING, INT>, r ROW<x INT, y STRING>) WITH ('connector' = 'filesystem', 'path' = '${OUT}/nested_json', 'format' = 'json');
INSERT INTO nested_json SELECT ARRAY[1, 2], MAP['k', 1], ROW(1, 'y');
CREATE TABLE nested_csv (a ARRAY<INT>, r ROW<x INT, y STRING>) WITH ('connector' = 'filesystem', 'path' = '${OUT}/nested_csv', 'format' = 'csv');
INSERT INTO nested_csv SELECT ARRAY[1, 2], ROW(1, 'y');
CREATE TABLE csv_pipe (a DECIMAL(10,3), b DECIMAL(10,3), c DECIMAL(12,10), s1 STRING, s2 STRING, s3 STRING, dt DATE, ts TIMESTAMP(3), tm TIME, n STRING, ltz TIMESTAMP_LTZ(3), p STRING) WITH ('connector' = 'filesystem', 'path' = '${OUT}/csv_pipe', 'format'='csv','csv.field-delimiter'='|');
INSERT INTO csv_pipe SELECT * FROM (VALUES (CAST(100 AS DECIMAL(10,3)), CAST(0 AS DECIMAL(10,3)), CAST(0.00000012 AS DECIMAL(12,10)), 'abc', 'a b', 'x\y"z', DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05.5', TIME '01:02:03', CAST(NULL AS STRING), TO_TIMESTAMP_LTZ(1704164645500, 3), CAST('+' AS STRING))) AS v(a, b, c, s1, s2, s3, dt, ts, tm, n, ltz, p);
CREATE TABLE csv_null_literal (a DECIMAL(10,3), b DECIMAL(10,3), c DECIMAL(12,10), s1 STRING, s2 STRING, s3 STRING, dt DATE, ts TIMESTAMP(3), tm TIME, n STRING, ltz TIMESTAMP_LTZ(3), p STRING) WITH ('connector' = 'filesystem', 'path' = '${OUT}/csv_null_literal', 'format'='csv','csv.null-literal'='NA');
INSERT INTO csv_null_literal SELECT * FROM (VALUES (CAST(100 AS DECIMAL(10,3)), CAST(0 AS DECIMAL(10,3)), CAST(0.00000012 AS DECIMAL(12,10)), 'abc', 'a b', 'x\y"z', DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05.5', TIME '01:02:03', CAST(NULL AS STRING), TO_TIMESTAMP_LTZ(1704164645500, 3), CAST('+' AS STRING))) AS v(a, b, c, s1, s2, s3, dt, ts, tm, n, ltz, p);
CREATE TABLE csv_no_quote (a DECIMAL(10,3), b DECIMAL(10,3), c DECIMAL(12,10), s1 STRING, s2 STRING, s3 STRING, dt DATE, ts TIMESTAMP(3), tm TIME, n STRING, ltz TIMESTAMP_LTZ(3), p STRING) WITH ('connector' = 'filesystem', 'path' = '${OUT}/csv_no_quote', 'format'='csv','csv.disable-quote-character'='true');
INSERT INTO csv_no_quote SELECT * FROM (VALUES (CAST(100 AS DECIMAL(10,3)), CAST(0 AS DECIMAL(10,3)), CAST(0.00000012 AS DECIMAL(12,10)), 'abc', 'a b', 'x\y"z', DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05.5', TIME '01:02:03', CAST(NULL AS STRING), TO_TIMESTAMP_LTZ(1704164645500, 3), CAST('+' AS STRING))) AS v(a, b, c, s1, s2, s3, dt, ts, tm, n, ltz, p);
CREATE TABLE csv_quote_char (a DECIMAL(10,3), b DECIMAL(10,3), c DECIMAL(12,10), s1 STRING, s2 STRING, s3 STRING, dt DATE, ts TIMESTAMP(3), tm TIME, n STRING, ltz TIMESTAMP_LTZ(3), p STRING) WITH ('connector' = 'filesystem', 'path' = '${OUT}/csv_quote_char', 'format'='csv','csv.quote-character'='''');
INSERT INTO csv_quote_char SELECT * FROM (VALUES (CAST(100 AS DECIMAL(10,3)), CAST(0 AS DECIMAL(10,3)), CAST(0.00000012 AS DECIMAL(12,10)), 'abc', 'a b', 'x\y"z', DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05.5', TIME '01:02:03', CAST(NULL AS STRING), TO_TIMESTAMP_LTZ(1704164645500, 3), CAST('+' AS STRING))) AS v(a, b, c, s1, s2, s3, dt, ts, tm, n, ltz, p);
CREATE TABLE csv_default2 (a DECIMAL(10,3), b DECIMAL(10,3), c DECIMAL(12,10), s1 STRING, s2 STRING, s3 STRING, dt DATE, ts TIMESTAMP(3), tm TIME, n STRING, ltz TIMESTAMP_LTZ(3), p STRING) WITH ('connector' = 'filesystem', 'path' = '${OUT}/csv_default2', 'format'='csv');
INSERT INTO csv_default2 SELECT * FROM (VALUES (CAST(100 AS DECIMAL(10,3)), CAST(0 AS DECIMAL(10,3)), CAST(0.00000012 AS DECIMAL(12,10)), 'abc', 'a b', 'x\y"z', DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05.5', TIME '01:02:03', CAST(NULL AS STRING), TO_TIMESTAMP_LTZ(1704164645500, 3), CAST('+' AS STRING))) AS v(a, b, c, s1, s2, s3, dt, ts, tm, n, ltz, p);
CREATE TABLE json_default2 (a DECIMAL(10,3), b DECIMAL(10,3), c DECIMAL(12,10), s1 STRING, s2 STRING, s3 STRING, dt DATE, ts TIMESTAMP(3), tm TIME, n STRING, ltz TIMESTAMP_LTZ(3), p STRING) WITH ('connector' = 'filesystem', 'path' = '${OUT}/json_default2', 'format'='json');
INSERT INTO json_default2 SELECT * FROM (VALUES (CAST(100 AS DECIMAL(10,3)), CAST(0 AS DECIMAL(10,3)), CAST(0.00000012 AS DECIMAL(12,10)), 'abc', 'a b', 'x\y"z', DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05.5', TIME '01:02:03', CAST(NULL AS STRING), TO_TIMESTAMP_LTZ(1704164645500, 3), CAST('+' AS STRING))) AS v(a, b, c, s1, s2, s3, dt, ts, tm, n, ltz, p);
CREATE TABLE json_iso_plain_ignore_nulls (a DECIMAL(10,3), b DECIMAL(10,3), c DECIMAL(12,10), s1 STRING, s2 STRING, s3 STRING, dt DATE, ts TIMESTAMP(3), tm TIME, n STRING, ltz TIMESTAMP_LTZ(3), p STRING) WITH ('connector' = 'filesystem', 'path' = '${OUT}/json_iso_plain_ignore_nulls', 'format'='json','json.timestamp-format.standard'='ISO-8601','json.encode.decimal-as-plain-number'='true','json.encode.ignore-null-fields'='true');
INSERT INTO json_iso_plain_ignore_nulls SELECT * FROM (VALUES (CAST(100 AS DECIMAL(10,3)), CAST(0 AS DECIMAL(10,3)), CAST(0.00000012 AS DECIMAL(12,10)), 'abc', 'a b', 'x\y"z', DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05.5', TIME '01:02:03', CAST(NULL AS STRING), TO_TIMESTAMP_LTZ(1704164645500, 3), CAST('+' AS STRING))) AS v(a, b, c, s1, s2, s3, dt, ts, tm, n, ltz, p);
-- csv.escape-character: with quoting, and with quoting disabled.
CREATE TABLE csv_escape (s1 STRING, s2 STRING, s3 STRING, s4 STRING, s5 STRING, s6 STRING) WITH ('connector' = 'filesystem', 'path' = '${OUT}/csv_escape', 'format'='csv','csv.escape-character'='\');
INSERT INTO csv_escape SELECT * FROM (VALUES ('x\y"z', 'a,b', 'plain', 'q"', 'line
break', 'a\b')) AS v(s1, s2, s3, s4, s5, s6);
CREATE TABLE csv_escape_no_quote (s1 STRING, s2 STRING, s3 STRING, s4 STRING, s5 STRING, s6 STRING) WITH ('connector' = 'filesystem', 'path' = '${OUT}/csv_escape_no_quote', 'format'='csv','csv.escape-character'='\','csv.disable-quote-character'='true');
INSERT INTO csv_escape_no_quote SELECT * FROM (VALUES ('x\y"z', 'a,b', 'plain', 'q"', 'line
break', 'a\b')) AS v(s1, s2, s3, s4, s5, s6);
-- Reading: escapes outside quotes, quoting off, partitions, lenient parsing (${IN} holds the
-- input files); each table is written as JSON to compare what was read.
CREATE TABLE in_esc (s1 STRING, s2 STRING, n INT) WITH ('connector' = 'filesystem', 'path' = '${IN}/esc', 'format' = 'csv', 'csv.escape-character' = '\');
CREATE TABLE read_esc (s1 STRING, s2 STRING, n INT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/read_esc', 'format' = 'json');
INSERT INTO read_esc SELECT * FROM in_esc;
CREATE TABLE in_noq (s1 STRING, s2 STRING, n INT) WITH ('connector' = 'filesystem', 'path' = '${IN}/noq', 'format' = 'csv', 'csv.disable-quote-character' = 'true');
CREATE TABLE read_noq (s1 STRING, s2 STRING, n INT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/read_noq', 'format' = 'json');
INSERT INTO read_noq SELECT * FROM in_noq;
CREATE TABLE in_part (s STRING, n BIGINT, t STRING, k INT) PARTITIONED BY (k) WITH ('connector' = 'filesystem', 'path' = '${IN}/part', 'format' = 'csv', 'csv.escape-character' = '\');
CREATE TABLE read_part (s STRING, n BIGINT, t STRING, k INT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/read_part', 'format' = 'json');
INSERT INTO read_part SELECT * FROM in_part ORDER BY k;
CREATE TABLE in_lenient (s1 STRING, s2 STRING, n INT) WITH ('connector' = 'filesystem', 'path' = '${IN}/lenient', 'format' = 'csv', 'csv.escape-character' = '\', 'csv.ignore-parse-errors' = 'true');
CREATE TABLE read_lenient (s1 STRING, s2 STRING, n INT) WITH ('connector' = 'filesystem', 'path' = '${OUT}/read_lenient', 'format' = 'json');
INSERT INTO read_lenient SELECT * FROM in_lenient;
