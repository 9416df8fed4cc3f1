CREATE TABLE people (id BIGINT, name STRING, age INT, score DOUBLE) WITH (
  'connector' = 'filesystem', 'path' = '${DATA}/people_na.csv', 'format' = 'csv',
  'csv.field-delimiter' = ';', 'csv.null-literal' = 'N/A'
);
SELECT id, name, age, score, name IS NULL AS no_name FROM people WHERE age IS NOT NULL OR id = 2 ORDER BY id;
-- ---- expected ----
-- +I[1, alice, 30, 3.5, false]
-- +I[2, NULL, NULL, NULL, true]
