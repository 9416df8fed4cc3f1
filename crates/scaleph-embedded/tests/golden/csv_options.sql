CREATE TABLE people (id BIGINT, name STRING, age INT) WITH (
  'connector' = 'filesystem', 'path' = '${DATA}/people.csv', 'format' = 'csv',
  'csv.field-delimiter' = ';', 'csv.allow-comments' = 'true', 'csv.null-literal' = 'N/A',
  'csv.ignore-parse-errors' = 'true'
);
SELECT id, name, age FROM people ORDER BY id;
-- ---- expected ----
-- +I[1, alice, 30]
-- +I[2, bob, NULL]
-- +I[3, carol, NULL]
-- +I[4, dan; jr, 17]
