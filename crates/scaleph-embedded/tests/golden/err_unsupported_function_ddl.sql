CREATE TEMPORARY FUNCTION my_upper AS 'com.example.MyUpper' LANGUAGE JAVA;
SELECT my_upper('a');
-- ---- expected ----
-- error: 1:1: unsupported: CREATE FUNCTION my_upper (JAVA user-defined functions) — run it on a Flink cluster
