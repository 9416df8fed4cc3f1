CREATE TABLE people (id BIGINT, name STRING, age INT) WITH (
  'connector' = 'filesystem', 'path' = '${DATA}/people.csv', 'format' = 'csv',
  'csv.field-delimiter' = ';', 'csv.allow-comments' = 'true', 'csv.null-literal' = 'N/A',
  'csv.ignore-parse-errors' = 'true'
);
SELECT id, name, age FROM people ORDER BY id;
